//! IAM rules: access keys that are old or exposed (the key is deactivated, never deleted)
//! and the account password policy. Trusted Advisor's exposed-key check lives here too,
//! since its fix is an IAM one.

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Deactivate the access key named by the finding (`GetAccessKeyLastUsed` resolves the
    // key's user when the finding names only the key).
    RuleSpec {
        id: "IAM-001",
        title: "Access Keys Rotated 30 Days",
        service: "IAM",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "iam:GetAccessKeyLastUsed",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey",
            "iam:ListUserTags",
        ],
    },
    // Raise the account password policy to at least the configured strength.
    RuleSpec {
        id: "IAM-005",
        title: "Account Password Policy",
        service: "IAM",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
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
    },
    // Deactivate the access key named by the finding.
    RuleSpec {
        id: "IAM-038",
        title: "Access Keys Rotated 90 Days",
        service: "IAM",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "iam:GetAccessKeyLastUsed",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey",
            "iam:ListUserTags",
        ],
    },
    // Deactivate the exposed access key named by the finding.
    RuleSpec {
        id: "TrustedAdvisor-003",
        title: "Exposed IAM Access Keys",
        service: "TrustedAdvisor",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "iam:GetAccessKeyLastUsed",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey",
            "iam:ListUserTags",
        ],
    },
];
