//! Lambda rules: active tracing, and function policies that let anyone invoke the
//! function (those statements are removed).

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Set the function's tracing mode to Active.
    RuleSpec {
        id: "Lambda-003",
        title: "Lambda Active Tracing Enabled",
        service: "Lambda",
        risk: RiskLevel::Low,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionConfiguration",
            "lambda:ListTags",
        ],
    },
    // Remove the function policy statements with `Principal: *` and no condition.
    RuleSpec {
        id: "Lambda-004",
        title: "Lambda Function Exposed",
        service: "Lambda",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "lambda:GetPolicy",
            "lambda:RemovePermission",
            "lambda:ListTags",
        ],
    },
];
