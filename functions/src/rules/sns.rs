//! SNS rules: topic policy statements open to everyone (those statements are removed).

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Remove the topic policy statements with `Principal: *` and no condition.
    RuleSpec {
        id: "SNS-001",
        title: "SNS Topic Open to Everyone",
        service: "SNS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "sns:GetTopicAttributes",
            "sns:SetTopicAttributes",
            "sns:ListTagsForResource",
        ],
    },
];
