//! GuardDuty rules: a detector enabled in the region, and GuardDuty findings sent to the
//! notification topics.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Create the region's detector, or re-enable it. The first detector of an account
    // creates GuardDuty's service-linked role.
    RuleSpec {
        id: "GD-001",
        title: "GuardDuty Enabled",
        service: "GuardDuty",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "guardduty:ListDetectors",
            "guardduty:GetDetector",
            "guardduty:CreateDetector",
            "guardduty:UpdateDetector",
            "iam:CreateServiceLinkedRole",
        ],
    },
    // Read the finding's details; the orchestrator publishes them to the notification
    // topics. Nothing is changed.
    RuleSpec {
        id: "GD-002",
        title: "GuardDuty Findings",
        service: "GuardDuty",
        risk: RiskLevel::Medium,
        default_mode: Mode::Notify,
        settings: &[],
        iam_actions: &["guardduty:ListDetectors", "guardduty:GetFindings"],
    },
];
