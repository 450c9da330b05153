//! SQS rules: queue policy statements open to everyone (`*` is taken out of them: a
//! statement naming no other principal is removed) and server-side encryption of queues.

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec, OWN_STACK_RESOURCES};

pub static RULES: &[RuleSpec] = &[
    // Take `*` out of the queue policy statements that allow everyone with no condition
    // narrowing it to an account, organization or source (see `sns::is_open_to_everyone`):
    // a statement whose only principal is `*` is removed, one that also names other
    // principals is kept for them.
    RuleSpec {
        id: "SQS-001",
        title: "SQS Queue Exposed",
        service: "SQS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[OWN_STACK_RESOURCES],
        settings: &[],
        iam_actions: &[
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes",
            "sqs:SetQueueAttributes",
            "sqs:ListQueueTags",
            "cloudformation:ListStackResources",
        ],
        fix: |ctx| Box::pin(on_queue(ctx, remove_open_statements_from_queue)),
    },
    // Encrypt the queue with SQS-managed keys (SSE-SQS), or with the KMS key the
    // `kms_key_id` setting names, unless it is encrypted already (either way).
    RuleSpec {
        id: "SQS-004",
        title: "SQS Queue Server Side Encryption",
        service: "SQS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[OWN_STACK_RESOURCES],
        settings: &[SettingSpec {
            name: "kms_key_id",
            default: None,
            description: "KMS key (id, ARN, alias name or alias ARN) to encrypt the queue \
                          with (SSE-KMS); its key policy must let the queue's senders (SNS, \
                          S3, EventBridge…) use it. Unset (the default): SQS-managed \
                          encryption (SSE-SQS), which every sender can deliver to. The AWS \
                          managed key alias/aws/sqs is not suitable: its policy cannot be \
                          changed, so AWS services cannot deliver to the queue.",
        }],
        iam_actions: &[
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes",
            "sqs:SetQueueAttributes",
            "sqs:ListQueueTags",
            "cloudformation:ListStackResources",
        ],
        fix: |ctx| Box::pin(on_queue(ctx, encrypt_queue)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the queue's URL or its name (turned into the
// URL with `GetQueueUrl`).

use crate::rule::{Context, Report, RuleError};
use crate::rules::sns::{parse_policy, remove_open_statements, statements};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use std::collections::HashMap;

/// Runs `fix`, one SQS rule's own check and fix, on the finding's queue (a client and the
/// queue's URL), unless the queue is remedy's own.
async fn on_queue(
    ctx: &Context,
    fix: impl AsyncFnOnce(&Context, &Client, &str) -> Result<Report, RuleError>,
) -> Result<Report, RuleError> {
    let sqs = Client::new(&ctx.aws);
    let url = queue_url(&sqs, ctx.resource()?).await?;
    if is_managed(ctx, &sqs, &url).await? {
        return Ok(Report::managed(&url));
    }
    fix(ctx, &sqs, &url).await
}

async fn queue_url(sqs: &Client, resource: &str) -> Result<String, RuleError> {
    if resource.starts_with("https://") || resource.starts_with("http://") {
        return Ok(resource.to_owned());
    }
    let out = sqs
        .get_queue_url()
        .queue_name(resource)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetQueueUrl", &e))?;
    out.queue_url()
        .map(str::to_owned)
        .ok_or_else(|| RuleError::new(format!("GetQueueUrl returned no URL for queue {resource}")))
}

/// Whether the queue is one of remedy's own stack's resources: by CloudFormation's reserved
/// tags, or, where the queue carries none, by the stack's own list of resources (the queue's
/// physical id is its URL).
async fn is_managed(ctx: &Context, sqs: &Client, url: &str) -> Result<bool, RuleError> {
    let tags = sqs
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .map_err(|e| RuleError::aws("ListQueueTags", &e))?;
    if ctx.owns_tagged(
        tags.tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    ) {
        return Ok(true);
    }
    ctx.owns_listed("AWS::SQS::Queue", &[url]).await
}

async fn attributes(
    sqs: &Client,
    url: &str,
    names: &[QueueAttributeName],
) -> Result<HashMap<QueueAttributeName, String>, RuleError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
        .map_err(|e| RuleError::aws("GetQueueAttributes", &e))?;
    Ok(out.attributes().cloned().unwrap_or_default())
}

async fn set_attribute(
    sqs: &Client,
    url: &str,
    name: QueueAttributeName,
    value: String,
) -> Result<(), RuleError> {
    sqs.set_queue_attributes()
        .queue_url(url)
        .attributes(name, value)
        .send()
        .await
        .map_err(|e| RuleError::aws("SetQueueAttributes", &e))?;
    crate::rule::changed("sqs:SetQueueAttributes", url);
    Ok(())
}

/// SQS-001: everyone is taken out of the statements open to everyone (a statement naming no
/// other principal is removed); when no statement is left the policy is deleted (set to the
/// empty string).
async fn remove_open_statements_from_queue(
    ctx: &Context,
    sqs: &Client,
    url: &str,
) -> Result<Report, RuleError> {
    let current = attributes(sqs, url, &[QueueAttributeName::Policy]).await?;
    let Some(text) = current
        .get(&QueueAttributeName::Policy)
        .filter(|p| !p.is_empty())
    else {
        return Ok(Report::compliant(format!("{url} has no queue policy")));
    };
    let mut policy = parse_policy(text, &format!("the policy of queue {url}"))?;
    let removed = remove_open_statements(&mut policy)?;
    if removed.is_empty() {
        return Ok(Report::compliant(format!(
            "{url}'s policy has no statement open to everyone"
        )));
    }
    let owner = format!("queue {url}");
    let mut actions: Vec<String> = removed.iter().map(|s| s.action(&owner)).collect();
    let value = if statements(&mut policy)?.is_empty() {
        actions.push(format!(
            "no statement was left: deleted queue {url}'s policy"
        ));
        String::new()
    } else {
        policy.to_string()
    };
    ctx.fix(
        actions,
        set_attribute(sqs, url, QueueAttributeName::Policy, value),
    )
    .await
}

/// How a queue is encrypted, from its `KmsMasterKeyId` and `SqsManagedSseEnabled`
/// attributes: `None` when it is not.
fn encryption(attributes: &HashMap<QueueAttributeName, String>) -> Option<String> {
    if let Some(key) = attributes
        .get(&QueueAttributeName::KmsMasterKeyId)
        .filter(|k| !k.is_empty())
    {
        return Some(format!("with KMS key {key}"));
    }
    if attributes
        .get(&QueueAttributeName::SqsManagedSseEnabled)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Some("with SQS-managed keys (SSE-SQS)".to_owned());
    }
    None
}

/// SQS-004: an unencrypted queue is encrypted with SQS-managed keys (SSE-SQS), or with the
/// `kms_key_id` setting's key when that is set. A queue already encrypted either way is left
/// as it is.
async fn encrypt_queue(ctx: &Context, sqs: &Client, url: &str) -> Result<Report, RuleError> {
    let key = configured_key(ctx);
    let current = attributes(
        sqs,
        url,
        &[
            QueueAttributeName::KmsMasterKeyId,
            QueueAttributeName::SqsManagedSseEnabled,
        ],
    )
    .await?;
    if let Some(how) = encryption(&current) {
        return Ok(Report::compliant(format!("{url} is encrypted {how}")));
    }
    let (action, attribute, value) = match key {
        Some(key) => (
            format!("turned on server-side encryption of queue {url} with KMS key {key}"),
            QueueAttributeName::KmsMasterKeyId,
            key.to_owned(),
        ),
        None => (
            format!(
                "turned on server-side encryption of queue {url} with SQS-managed keys (SSE-SQS)"
            ),
            QueueAttributeName::SqsManagedSseEnabled,
            "true".to_owned(),
        ),
    };
    ctx.fix(vec![action], set_attribute(sqs, url, attribute, value))
        .await
}

/// The `kms_key_id` setting, when it is set (an empty value counts as unset).
fn configured_key(ctx: &Context) -> Option<&str> {
    ctx.settings
        .get("kms_key_id")
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(QueueAttributeName, &str)]) -> HashMap<QueueAttributeName, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_queue_is_encrypted_with_a_kms_key_or_sse_sqs() {
        use QueueAttributeName::{KmsMasterKeyId, SqsManagedSseEnabled};
        assert_eq!(encryption(&attrs(&[])), None);
        assert_eq!(
            encryption(&attrs(&[
                (SqsManagedSseEnabled, "false"),
                (KmsMasterKeyId, "")
            ])),
            None
        );
        assert_eq!(
            encryption(&attrs(&[(KmsMasterKeyId, "alias/aws/sqs")])).as_deref(),
            Some("with KMS key alias/aws/sqs")
        );
        assert!(encryption(&attrs(&[(SqsManagedSseEnabled, "true")]))
            .is_some_and(|h| h.contains("SSE-SQS")));
    }
}
