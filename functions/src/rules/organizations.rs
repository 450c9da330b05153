//! Organizations rules: the organization has all features enabled (run from the
//! management account).

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Start enabling all features (a handshake every member account must accept).
    RuleSpec {
        id: "Organizations-002",
        title: "Enable All Features",
        service: "Organizations",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "organizations:DescribeOrganization",
            "organizations:EnableAllFeatures",
        ],
    },
];
