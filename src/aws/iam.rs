//! IAM, read only: how many roles an account has and may have (GetAccountSummary), for the
//! role quota check before a stack that adds roles is deployed.
//!
//! Must not: decide whether the stack fits (that is `core::decide::role_quota_refusal`).

use crate::aws::reason;
use crate::core::decide::RoleRoom;
use aws_sdk_iam::types::SummaryKeyType;

/// The account's roles and role quota.
pub(crate) async fn role_room(client: &aws_sdk_iam::Client) -> Result<RoleRoom, String> {
    let summary = client
        .get_account_summary()
        .send()
        .await
        .map_err(|e| format!("GetAccountSummary: {}", reason("GetAccountSummary", &e)))?;
    let map = summary.summary_map();
    let value = |key: SummaryKeyType| {
        map.and_then(|m| m.get(&key))
            .and_then(|v| usize::try_from(*v).ok())
    };
    match (
        value(SummaryKeyType::Roles),
        value(SummaryKeyType::RolesQuota),
    ) {
        (Some(used), Some(quota)) => Ok(RoleRoom { used, quota }),
        _ => Err("GetAccountSummary: no Roles or RolesQuota in the summary".into()),
    }
}

/// IAM's policy simulation of the role `source` (its ARN) for `actions` on `resource`, with
/// `context` (key, value) strings: each (action, resource, decision) — `allowed`,
/// `implicitDeny`, `explicitDeny` — every page (`remedy doctor`).
pub(crate) async fn simulate(
    client: &aws_sdk_iam::Client,
    source: &str,
    actions: &[&str],
    resource: &str,
    context: &[(&str, &str)],
) -> Result<Vec<(String, String, String)>, String> {
    use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};
    let entries: Vec<ContextEntry> = context
        .iter()
        .map(|(key, value)| {
            ContextEntry::builder()
                .context_key_name(*key)
                .context_key_values(*value)
                .context_key_type(ContextKeyTypeEnum::String)
                .build()
        })
        .collect();
    let mut pages = client
        .simulate_principal_policy()
        .policy_source_arn(source)
        .set_action_names(Some(actions.iter().map(|a| (*a).to_owned()).collect()))
        .resource_arns(resource)
        .set_context_entries((!entries.is_empty()).then_some(entries))
        .into_paginator()
        .send();
    let mut results = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| reason("SimulatePrincipalPolicy", &e))?;
        for r in page.evaluation_results() {
            results.push((
                r.eval_action_name().to_owned(),
                r.eval_resource_name().unwrap_or(resource).to_owned(),
                r.eval_decision().as_str().to_owned(),
            ));
        }
    }
    Ok(results)
}

/// The identity policies of the role `name` (inline and attached, each attached one's
/// default version), as JSON: what `remedy doctor` evaluates offline when IAM will not
/// simulate. IAM returns documents URL-encoded.
pub(crate) async fn role_policies(
    client: &aws_sdk_iam::Client,
    name: &str,
) -> Result<Vec<serde_json::Value>, String> {
    let parse = |text: &str| {
        let decoded = crate::core::util::percent_decode(text);
        serde_json::from_str::<serde_json::Value>(&decoded)
            .map_err(|e| format!("a policy of role {name} is not JSON: {e}"))
    };
    let mut documents = Vec::new();
    let mut names = client
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send();
    while let Some(policy) = names.next().await {
        let policy = policy.map_err(|e| reason("ListRolePolicies", &e))?;
        let got = client
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await
            .map_err(|e| reason("GetRolePolicy", &e))?;
        documents.push(parse(got.policy_document())?);
    }
    let mut attached = client
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send();
    while let Some(policy) = attached.next().await {
        let policy = policy.map_err(|e| reason("ListAttachedRolePolicies", &e))?;
        let Some(arn) = policy.policy_arn() else {
            continue;
        };
        let got = client
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| reason("GetPolicy", &e))?;
        let Some(version) = got.policy().and_then(|p| p.default_version_id()) else {
            continue;
        };
        let version = client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| reason("GetPolicyVersion", &e))?;
        if let Some(document) = version.policy_version().and_then(|v| v.document()) {
            documents.push(parse(document)?);
        }
    }
    Ok(documents)
}
