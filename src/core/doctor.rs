//! `remedy doctor` as decisions: what each check concludes from what AWS answered, and the
//! one-line fix of each failure. Pure: the answers come from `commands::doctor`.
//!
//! Per account, in order: `role` (the role is assumable, with the ExternalId), `home_region`
//! (CloudFormation answers there: the region is enabled and readable), `permissions` (IAM's
//! policy simulation of the role, and of the execution role, for what remedy will call),
//! `role_quota` (room for the stack's roles), `artifacts` (the published package is readable
//! from the account), `topic` (the findings topic, once the stack is deployed).

use crate::core::decide::RoleRoom;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Not a failure, but worth knowing (not published yet, not deployed yet, not simulated).
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    /// What to do, in one line (failures and warnings).
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// One account's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDoctor {
    pub stage: String,
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub checks: Vec<Check>,
}

impl AccountDoctor {
    /// Whether a deploy to it would fail: one check failed.
    pub fn fails(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

/// The fix when the role cannot be assumed.
pub fn role_fix(role: &str, security_account: &str) -> String {
    format!(
        "deploy stacks/account-bootstrap.yaml in the account (RoleName={role}, SecurityAccountId={security_account}, and the ExternalId of role.external_id), or set role.name / role.external_id to the role that is there"
    )
}

/// Whether an error in the home region says the region is not enabled for the account (an
/// opt-in region: AWS answers as if the credentials were unknown there).
pub fn region_disabled(reason: &str) -> bool {
    [
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "not enabled",
        "OptInRequired",
    ]
    .iter()
    .any(|m| reason.contains(m))
}

/// The `home_region` check from DescribeStacks' answer there.
pub fn home_region(region: &str, answer: Result<Option<String>, String>) -> Check {
    match answer {
        Ok(status) => Check::ok(
            "home_region",
            format!(
                "CloudFormation answers in {region} (remedy's stack: {})",
                status.as_deref().unwrap_or("none yet")
            ),
        ),
        Err(reason) if region_disabled(&reason) => Check::fail(
            "home_region",
            format!("{region} answers as if the account did not exist there: {reason}"),
            format!("enable {region} for the account (Account settings → AWS Regions), or choose another home_region"),
        ),
        Err(reason) => Check::fail(
            "home_region",
            reason,
            "update the account's bootstrap stack (stacks/account-bootstrap.yaml): the role must read remedy's stack",
        ),
    }
}

/// The `permissions` check of `role` from IAM's simulation: every (action, resource,
/// decision) not `allowed` is a failure.
pub fn permissions(role: &str, simulated: Result<Vec<(String, String, String)>, String>) -> Check {
    match simulated {
        Err(reason) => Check::warn(
            "permissions",
            format!("{role}: not simulated: {reason}"),
            "update the bootstrap stack (it lets the role simulate its own policies), or check the role's policies against stacks/account-bootstrap.yaml",
        ),
        Ok(results) => {
            let denied: Vec<String> = results
                .iter()
                .filter(|(_, _, decision)| decision != "allowed")
                .map(|(action, resource, decision)| format!("{action} on {resource} ({decision})"))
                .collect();
            if denied.is_empty() {
                Check::ok(
                    "permissions",
                    format!("{role}: all {} simulated calls allowed", results.len()),
                )
            } else {
                Check::fail(
                    "permissions",
                    format!("{role} may not: {}", denied.join("; ")),
                    "update the account's bootstrap stack (stacks/account-bootstrap.yaml) to this release's",
                )
            }
        }
    }
}

/// The `permissions` check from `role`'s policies evaluated offline (IAM would not simulate:
/// `why`): every (action, resource, decision) not allowed is a failure; an allow under a
/// condition is counted as allowed, and said.
pub fn permissions_offline(
    role: &str,
    why: &str,
    results: &[(String, String, crate::core::policy::Decision)],
) -> Check {
    use crate::core::policy::Decision;
    let denied: Vec<String> = results
        .iter()
        .filter(|(_, _, d)| matches!(d, Decision::ImplicitDeny | Decision::ExplicitDeny))
        .map(|(action, resource, d)| format!("{action} on {resource} ({})", d.as_str()))
        .collect();
    let conditional = results
        .iter()
        .filter(|(_, _, d)| *d == Decision::AllowedIf)
        .count();
    let caveat = format!(
        "evaluated offline, conditions ({conditional} allow(s) under one), SCPs and boundaries not seen; IAM would not simulate: {why}"
    );
    if denied.is_empty() {
        Check::ok(
            "permissions",
            format!("{role}: all {} calls allowed ({caveat})", results.len()),
        )
    } else {
        Check::fail(
            "permissions",
            format!("{role} may not: {} ({caveat})", denied.join("; ")),
            "update the account's bootstrap stack (stacks/account-bootstrap.yaml) to this release's",
        )
    }
}

/// The `role_quota` check: the account's roles and quota, and the roles the stack adds
/// (none when it is deployed already).
pub fn role_quota(room: Result<RoleRoom, String>, adds: usize) -> Check {
    match room {
        Err(reason) => Check::warn(
            "role_quota",
            format!("not read: {reason}"),
            "update the bootstrap stack (it allows iam:GetAccountSummary); CloudFormation still enforces the quota",
        ),
        Ok(room) if room.used + adds > room.quota => Check::fail(
            "role_quota",
            format!(
                "{} of {} IAM roles used; the stack adds {adds}",
                room.used, room.quota
            ),
            "delete unused roles, or raise the account's IAM roles quota (Service Quotas)",
        ),
        Ok(room) => Check::ok(
            "role_quota",
            format!(
                "{} of {} IAM roles used; the stack adds {adds}",
                room.used, room.quota
            ),
        ),
    }
}

/// The `artifacts` check from HeadObject of the package, from the account: `Ok(true)` read,
/// `Ok(false)` not published yet.
pub fn artifacts(bucket: &str, key: &str, answer: Result<bool, String>) -> Check {
    match answer {
        Ok(true) => Check::ok("artifacts", format!("s3://{bucket}/{key} is readable")),
        Ok(false) => Check::warn(
            "artifacts",
            format!("s3://{bucket}/{key} is not published yet"),
            "`remedy publish` (or the first deploy) uploads it",
        ),
        Err(reason) => Check::fail(
            "artifacts",
            format!("s3://{bucket}/{key}: {reason}"),
            "the artifact bucket's policy must let the organization read it (stacks/artifacts.yaml), and the role s3:GetObject on it",
        ),
    }
}

/// The `topic` check from the stack's state: the findings topic once deployed.
pub fn topic(stack: Option<(&str, Option<String>)>) -> Check {
    match stack {
        Some((status, Some(topic)))
            if !status.ends_with("_FAILED") && status != "ROLLBACK_COMPLETE" =>
        {
            Check::ok("topic", format!("findings topic {topic} ({status})"))
        }
        Some((status, _)) => Check::fail(
            "topic",
            format!("remedy's stack is {status}"),
            "`remedy deploy` (with --fix-rollback for UPDATE_ROLLBACK_FAILED) brings it back",
        ),
        None => Check::warn(
            "topic",
            "not deployed yet: no findings topic",
            "`remedy deploy`, then connect the topic to Conformity",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_check_concludes_with_a_fix_when_it_fails() {
        let denied = permissions(
            "arn:aws:iam::1:role/R",
            Ok(vec![
                (
                    "cloudformation:CreateStack".into(),
                    "arn:s".into(),
                    "allowed".into(),
                ),
                (
                    "logs:FilterLogEvents".into(),
                    "arn:l".into(),
                    "implicitDeny".into(),
                ),
            ]),
        );
        assert_eq!(denied.status, Status::Fail);
        assert!(denied
            .detail
            .contains("logs:FilterLogEvents on arn:l (implicitDeny)"));
        assert!(denied.fix.is_some());
        let full = role_quota(
            Ok(RoleRoom {
                used: 998,
                quota: 1000,
            }),
            5,
        );
        assert_eq!(full.status, Status::Fail);
        assert_eq!(
            role_quota(
                Ok(RoleRoom {
                    used: 10,
                    quota: 1000
                }),
                5
            )
            .status,
            Status::Ok
        );
        let off = home_region(
            "af-south-1",
            Err(
                "InvalidClientTokenId: The security token included in the request is invalid"
                    .into(),
            ),
        );
        assert!(off.fix.unwrap().contains("enable af-south-1"));
        assert_eq!(artifacts("b", "k", Ok(false)).status, Status::Warn);
        assert_eq!(topic(None).status, Status::Warn);
        assert_eq!(
            topic(Some(("ROLLBACK_COMPLETE", None))).status,
            Status::Fail
        );
    }
}
