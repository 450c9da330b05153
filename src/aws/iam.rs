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
