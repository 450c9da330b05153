//! RDS rules: DB instance settings (auto minor version upgrade, public accessibility,
//! deletion protection) and publicly shared DB snapshots.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Turn auto minor version upgrade on.
    RuleSpec {
        id: "RDS-006",
        title: "RDS Auto Minor Version Upgrade",
        service: "RDS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "rds:DescribeDBInstances",
            "rds:ModifyDBInstance",
            "rds:ListTagsForResource",
        ],
    },
    // Make the instance not publicly accessible.
    RuleSpec {
        id: "RDS-008",
        title: "RDS Publicly Accessible",
        service: "RDS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "rds:DescribeDBInstances",
            "rds:ModifyDBInstance",
            "rds:ListTagsForResource",
        ],
    },
    // Remove `all` from the snapshot's `restore` attribute.
    RuleSpec {
        id: "RDS-023",
        title: "RDS Public Snapshots",
        service: "RDS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "rds:DescribeDBSnapshotAttributes",
            "rds:ModifyDBSnapshotAttribute",
            "rds:ListTagsForResource",
        ],
    },
    // Turn deletion protection on.
    RuleSpec {
        id: "RDS-031",
        title: "RDS Instance Deletion Protection",
        service: "RDS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "rds:DescribeDBInstances",
            "rds:ModifyDBInstance",
            "rds:ListTagsForResource",
        ],
    },
];
