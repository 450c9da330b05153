//! API Gateway rules: public REST APIs (the endpoint is made private). Shipped in dry-run
//! by default, since most public APIs are public on purpose.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Switch the REST API's endpoint type to PRIVATE (tags come with `GET /restapis/{id}`).
    RuleSpec {
        id: "AG-005",
        title: "API Gateway Private Endpoints",
        service: "APIGateway",
        risk: RiskLevel::Medium,
        default_mode: Mode::DryRun,
        settings: &[],
        iam_actions: &["apigateway:GET", "apigateway:PATCH"],
    },
];
