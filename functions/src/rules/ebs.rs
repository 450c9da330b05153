//! EBS rules: publicly shared snapshots (made private) and the region's EBS encryption by
//! default.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Remove the `all` group from the snapshot's create-volume permission (tags come with
    // `DescribeSnapshots`).
    RuleSpec {
        id: "EBS-009",
        title: "EBS Public Snapshots",
        service: "EBS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSnapshots",
            "ec2:DescribeSnapshotAttribute",
            "ec2:ModifySnapshotAttribute",
        ],
    },
    // Turn EBS encryption by default on for the region (an account setting, no tags).
    RuleSpec {
        id: "EBS-014",
        title: "EBS Encryption By Default",
        service: "EBS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:GetEbsEncryptionByDefault",
            "ec2:EnableEbsEncryptionByDefault",
        ],
    },
];
