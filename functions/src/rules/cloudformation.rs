//! CloudFormation rules: stack termination protection.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Turn termination protection on (tags come with `DescribeStacks`).
    RuleSpec {
        id: "CFM-005",
        title: "CloudFormation Stack Termination Protection",
        service: "CloudFormation",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "cloudformation:DescribeStacks",
            "cloudformation:UpdateTerminationProtection",
        ],
    },
];
