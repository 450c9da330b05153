//! Redshift rules: cluster public accessibility, automated snapshot retention and user
//! activity logging (a cluster parameter group setting).

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Make the cluster not publicly accessible (tags come with `DescribeClusters`).
    RuleSpec {
        id: "RS-001",
        title: "Redshift Cluster Publicly Accessible",
        service: "Redshift",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["redshift:DescribeClusters", "redshift:ModifyCluster"],
    },
    // Raise the automated snapshot retention period to the configured number of days.
    RuleSpec {
        id: "RS-019",
        title: "Redshift Automated Snapshot Retention Period",
        service: "Redshift",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[SettingSpec {
            name: "retention_days",
            default: Some("7"),
            description: "Automated snapshot retention period, in days (1 to 35), set on \
                          clusters that keep their snapshots for less.",
        }],
        iam_actions: &["redshift:DescribeClusters", "redshift:ModifyCluster"],
    },
    // Set `enable_user_activity_logging` to true in the cluster's parameter group (tags
    // come with `DescribeClusters` and `DescribeClusterParameterGroups`).
    RuleSpec {
        id: "RS-023",
        title: "Redshift User Activity Logging",
        service: "Redshift",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "redshift:DescribeClusters",
            "redshift:DescribeClusterParameterGroups",
            "redshift:DescribeClusterParameters",
            "redshift:ModifyClusterParameterGroup",
        ],
    },
];
