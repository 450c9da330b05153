//! KMS rules: automatic rotation of customer managed keys, and keys scheduled for
//! deletion (the deletion is cancelled).

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Turn automatic key rotation on.
    RuleSpec {
        id: "KMS-002",
        title: "Key Rotation Enabled",
        service: "KMS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "kms:GetKeyRotationStatus",
            "kms:EnableKeyRotation",
            "kms:DescribeKey",
            "kms:ListResourceTags",
        ],
    },
    // Cancel the scheduled deletion, then enable the key (cancelling leaves it disabled).
    RuleSpec {
        id: "KMS-004",
        title: "KMS Key Pending Deletion",
        service: "KMS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "kms:DescribeKey",
            "kms:CancelKeyDeletion",
            "kms:EnableKey",
            "kms:ListResourceTags",
        ],
    },
];
