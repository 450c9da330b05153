//! IAM rules: access keys that are old or exposed (the key is deactivated, never deleted)
//! and the account password policy. Trusted Advisor's exposed-key check lives here too,
//! since its fix is an IAM one.

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec, OWN_STACK_RESOURCES};

pub static RULES: &[RuleSpec] = &[
    // Deactivate the access key named by the finding (`GetAccessKeyLastUsed` resolves the
    // key's user when the finding names only the key).
    RuleSpec {
        id: "IAM-001",
        title: "Access Keys Rotated 30 Days",
        service: "IAM",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[OWN_STACK_RESOURCES],
        settings: &[],
        iam_actions: &[
            "iam:GetAccessKeyLastUsed",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey",
            "cloudformation:ListStackResources",
        ],
        fix: |ctx| Box::pin(with_client(ctx, Client::new, deactivate_key)),
    },
    // Raise the account password policy to at least the configured strength.
    RuleSpec {
        id: "IAM-005",
        title: "Account Password Policy",
        service: "IAM",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[
            SettingSpec {
                name: "minimum_length",
                default: Some("14"),
                description: "Minimum password length, in characters.",
            },
            SettingSpec {
                name: "max_age_days",
                default: Some("90"),
                description: "Number of days a password stays valid before it must be changed.",
            },
            SettingSpec {
                name: "reuse_prevention",
                default: Some("24"),
                description: "Number of previous passwords a user may not reuse.",
            },
        ],
        iam_actions: &[
            "iam:GetAccountPasswordPolicy",
            "iam:UpdateAccountPasswordPolicy",
        ],
        fix: |ctx| Box::pin(with_client(ctx, Client::new, password_policy)),
    },
    // Deactivate the access key named by the finding.
    RuleSpec {
        id: "IAM-038",
        title: "Access Keys Rotated 90 Days",
        service: "IAM",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[OWN_STACK_RESOURCES],
        settings: &[],
        iam_actions: &[
            "iam:GetAccessKeyLastUsed",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey",
            "cloudformation:ListStackResources",
        ],
        fix: |ctx| Box::pin(with_client(ctx, Client::new, deactivate_key)),
    },
    // Deactivate the exposed access key named by the finding.
    RuleSpec {
        id: "TrustedAdvisor-003",
        title: "Exposed IAM Access Keys",
        service: "TrustedAdvisor",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[OWN_STACK_RESOURCES],
        settings: &[],
        iam_actions: &[
            "iam:GetAccessKeyLastUsed",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey",
            "cloudformation:ListStackResources",
        ],
        fix: |ctx| Box::pin(with_client(ctx, Client::new, deactivate_key)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The access-key rules' `resource` is the access key id; the password
// policy is the account's.

use crate::rule::{error_code, with_client, Context, Report, RuleError};
use aws_sdk_iam::types::{PasswordPolicy, StatusType};
use aws_sdk_iam::Client;

/// IAM-001, IAM-038, TrustedAdvisor-003: the key is deactivated (never deleted).
///
/// `UpdateAccessKey` without a user name acts on the *caller's* keys, so the user is always
/// resolved first (the finding's `UserName`, else `GetAccessKeyLastUsed`) and the key is
/// checked to belong to that user before anything changes.
async fn deactivate_key(ctx: &Context, iam: &Client) -> Result<Report, RuleError> {
    let key_id = ctx.resource()?;
    let user = match ctx
        .finding
        .extra("UserName")
        .filter(|u| !u.trim().is_empty())
    {
        Some(user) => user.trim().to_owned(),
        None => key_owner(iam, key_id).await?,
    };
    if user_is_managed(ctx, &user).await? {
        return Ok(Report::managed(&format!("user {user}")));
    }
    let keys = iam
        .list_access_keys()
        .user_name(&user)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| RuleError::aws("ListAccessKeys", &e))?;
    let Some(key) = keys.iter().find(|k| k.access_key_id() == Some(key_id)) else {
        return Err(RuleError::new(format!(
            "access key {key_id} is not one of user {user}'s keys"
        )));
    };
    if key.status() == Some(&StatusType::Inactive) {
        return Ok(Report::compliant(format!(
            "access key {key_id} of user {user} is already inactive"
        )));
    }
    let action = format!("deactivated access key {key_id} of user {user}");
    ctx.fix(vec![action], async {
        iam.update_access_key()
            .user_name(&user)
            .access_key_id(key_id)
            .status(StatusType::Inactive)
            .send()
            .await
            .map_err(|e| RuleError::aws("UpdateAccessKey", &e))?;
        crate::rule::changed("iam:UpdateAccessKey", key_id);
        Ok(())
    })
    .await
}

/// The user an access key belongs to, or an error: never an empty name.
async fn key_owner(iam: &Client, key_id: &str) -> Result<String, RuleError> {
    let out = iam
        .get_access_key_last_used()
        .access_key_id(key_id)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetAccessKeyLastUsed", &e))?;
    out.user_name()
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            RuleError::new(format!(
                "cannot tell whose access key {key_id} is (the finding names no UserName and \
                 GetAccessKeyLastUsed returned none): nothing was changed"
            ))
        })
}

/// Whether the user is one of remedy's own stack's resources. CloudFormation does not tag IAM
/// users, so the stack's resources are asked.
async fn user_is_managed(ctx: &Context, user: &str) -> Result<bool, RuleError> {
    ctx.owns_listed("AWS::IAM::User", &[user]).await
}

/// The strength the settings ask of the account password policy. `None` for `max_age_days`
/// or `reuse_prevention` means the setting is `0`: not required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyTarget {
    pub minimum_length: i32,
    pub max_age_days: Option<i32>,
    pub reuse_prevention: Option<i32>,
}

impl PolicyTarget {
    fn from_settings(ctx: &Context) -> Result<PolicyTarget, RuleError> {
        let number = |name: &str,
                      min: i32,
                      max: i32,
                      zero_allowed: bool|
         -> Result<Option<i32>, RuleError> {
            let text = ctx.setting(name)?;
            let value: i32 = text.trim().parse().map_err(|_| {
                RuleError::new(format!(
                    "setting `{name}` of {} is not a number: {text:?}",
                    ctx.rule.id
                ))
            })?;
            if value == 0 && zero_allowed {
                return Ok(None);
            }
            if !(min..=max).contains(&value) {
                return Err(RuleError::new(format!(
                    "setting `{name}` of {} must be between {min} and {max}{}: {value}",
                    ctx.rule.id,
                    if zero_allowed {
                        " (or 0: not required)"
                    } else {
                        ""
                    }
                )));
            }
            Ok(Some(value))
        };
        Ok(PolicyTarget {
            minimum_length: number("minimum_length", 6, 128, false)?.unwrap_or(14),
            max_age_days: number("max_age_days", 1, 1095, true)?,
            reuse_prevention: number("reuse_prevention", 1, 24, true)?,
        })
    }
}

/// The policy to set: every value of the current one that is already stricter is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesiredPolicy {
    pub minimum_length: i32,
    pub max_age_days: Option<i32>,
    pub reuse_prevention: Option<i32>,
    pub allow_users_to_change_password: bool,
    pub hard_expiry: Option<bool>,
}

/// What must change in `current` (`None`: the account has no password policy) to reach
/// `target`, and the whole policy to set (UpdateAccountPasswordPolicy replaces every value,
/// so the ones already strict enough are carried over). No changes: compliant.
pub fn password_policy_changes(
    current: Option<&PasswordPolicy>,
    target: PolicyTarget,
) -> (Vec<String>, DesiredPolicy) {
    let mut changes = Vec::new();
    if current.is_none() {
        changes.push("created the account password policy (there was none)".to_owned());
    }
    let current_length = current
        .and_then(|p| p.minimum_password_length())
        .unwrap_or(0);
    if current_length < target.minimum_length {
        changes.push(format!(
            "raised the minimum password length from {current_length} to {}",
            target.minimum_length
        ));
    }
    let requirements = [
        (
            "uppercase letter",
            current.is_some_and(|p| p.require_uppercase_characters()),
        ),
        (
            "lowercase letter",
            current.is_some_and(|p| p.require_lowercase_characters()),
        ),
        ("number", current.is_some_and(|p| p.require_numbers())),
        ("symbol", current.is_some_and(|p| p.require_symbols())),
    ];
    for (what, required) in requirements {
        if !required {
            changes.push(format!("required at least one {what} in passwords"));
        }
    }
    let current_age = current
        .and_then(|p| p.max_password_age())
        .filter(|age| *age > 0);
    let max_age_days = match (current_age, target.max_age_days) {
        (Some(age), Some(wanted)) if age <= wanted => Some(age),
        (current_age, Some(wanted)) => {
            changes.push(match current_age {
                Some(age) => {
                    format!("shortened the maximum password age from {age} to {wanted} days")
                }
                None => format!("made passwords expire after {wanted} days"),
            });
            Some(wanted)
        }
        (current_age, None) => current_age,
    };
    let current_reuse = current
        .and_then(|p| p.password_reuse_prevention())
        .filter(|n| *n > 0);
    let reuse_prevention = match (current_reuse, target.reuse_prevention) {
        (Some(n), Some(wanted)) if n >= wanted => Some(n),
        (current_reuse, Some(wanted)) => {
            changes.push(format!(
                "prevented the reuse of the last {wanted} passwords (was {})",
                current_reuse.map_or_else(|| "none".to_owned(), |n| n.to_string())
            ));
            Some(wanted)
        }
        (current_reuse, None) => current_reuse,
    };
    let desired = DesiredPolicy {
        minimum_length: current_length.max(target.minimum_length),
        max_age_days,
        reuse_prevention,
        // With no policy yet, users may change their own passwords (needed once they expire).
        allow_users_to_change_password: current.is_none_or(|p| p.allow_users_to_change_password()),
        hard_expiry: current.and_then(|p| p.hard_expiry()),
    };
    (changes, desired)
}

/// IAM-005.
async fn password_policy(ctx: &Context, iam: &Client) -> Result<Report, RuleError> {
    let target = PolicyTarget::from_settings(ctx)?;
    let current = match iam.get_account_password_policy().send().await {
        Ok(out) => out.password_policy().cloned(),
        Err(e) if error_code(&e) == Some("NoSuchEntity") => None,
        Err(e) => return Err(RuleError::aws("GetAccountPasswordPolicy", &e)),
    };
    let (changes, desired) = password_policy_changes(current.as_ref(), target);
    if changes.is_empty() {
        return Ok(Report::compliant(
            "the account password policy is at least as strict as configured",
        ));
    }
    ctx.fix(changes, async {
        iam.update_account_password_policy()
            .minimum_password_length(desired.minimum_length)
            .require_uppercase_characters(true)
            .require_lowercase_characters(true)
            .require_numbers(true)
            .require_symbols(true)
            .allow_users_to_change_password(desired.allow_users_to_change_password)
            .set_max_password_age(desired.max_age_days)
            .set_password_reuse_prevention(desired.reuse_prevention)
            .set_hard_expiry(desired.hard_expiry)
            .send()
            .await
            .map_err(|e| RuleError::aws("UpdateAccountPasswordPolicy", &e))?;
        crate::rule::changed("iam:UpdateAccountPasswordPolicy", ctx.account_id.as_str());
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: PolicyTarget = PolicyTarget {
        minimum_length: 14,
        max_age_days: Some(90),
        reuse_prevention: Some(24),
    };

    fn strict() -> aws_sdk_iam::types::builders::PasswordPolicyBuilder {
        PasswordPolicy::builder()
            .minimum_password_length(16)
            .require_uppercase_characters(true)
            .require_lowercase_characters(true)
            .require_numbers(true)
            .require_symbols(true)
            .expire_passwords(true)
            .max_password_age(30)
            .password_reuse_prevention(24)
            .allow_users_to_change_password(false)
    }

    #[test]
    fn a_stricter_policy_is_compliant() {
        let (changes, _) = password_policy_changes(Some(&strict().build()), TARGET);
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn no_policy_gets_the_configured_one() {
        let (changes, desired) = password_policy_changes(None, TARGET);
        assert_eq!(changes.len(), 1 + 1 + 4 + 1 + 1, "{changes:?}");
        assert_eq!(
            desired,
            DesiredPolicy {
                minimum_length: 14,
                max_age_days: Some(90),
                reuse_prevention: Some(24),
                allow_users_to_change_password: true,
                hard_expiry: None
            }
        );
    }

    #[test]
    fn stricter_values_are_kept_while_weaker_ones_are_raised() {
        let current = strict()
            .minimum_password_length(8)
            .require_symbols(false)
            .hard_expiry(true)
            .build();
        let (changes, desired) = password_policy_changes(Some(&current), TARGET);
        assert_eq!(
            changes,
            [
                "raised the minimum password length from 8 to 14",
                "required at least one symbol in passwords"
            ]
        );
        assert_eq!(desired.max_age_days, Some(30), "a shorter age is kept");
        assert!(!desired.allow_users_to_change_password, "kept as it was");
        assert_eq!(desired.hard_expiry, Some(true));
    }

    #[test]
    fn zero_settings_require_nothing_and_keep_what_is_there() {
        let target = PolicyTarget {
            max_age_days: None,
            reuse_prevention: None,
            ..TARGET
        };
        let current = strict()
            .set_max_password_age(None)
            .set_password_reuse_prevention(None)
            .build();
        let (changes, desired) = password_policy_changes(Some(&current), target);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(
            (desired.max_age_days, desired.reuse_prevention),
            (None, None)
        );
    }
}
