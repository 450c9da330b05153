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
        scoped: &[],
        settings: &[],
        iam_actions: &["apigateway:GET", "apigateway:PATCH"],
        fix: |ctx| Box::pin(on_resource(ctx, Client::new, make_private)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the REST API's id.

use crate::rule::{on_resource, Context, Report, RuleError};
use aws_sdk_apigateway::types::{EndpointType, Op, PatchOperation};
use aws_sdk_apigateway::Client;

/// AG-005: the public endpoint type (EDGE or REGIONAL) is replaced by PRIVATE.
async fn make_private(
    ctx: &Context,
    apigateway: &Client,
    api_id: &str,
) -> Result<Report, RuleError> {
    let api = apigateway
        .get_rest_api()
        .rest_api_id(api_id)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetRestApi", &e))?;
    if ctx.owns_tagged(
        api.tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    ) {
        return Ok(Report::managed(api_id));
    }
    let types = api
        .endpoint_configuration()
        .map(|c| c.types())
        .unwrap_or_default();
    let Some(public) = types
        .iter()
        .find(|t| matches!(t, EndpointType::Edge | EndpointType::Regional))
    else {
        return Ok(Report::compliant(format!(
            "REST API {api_id} has a private endpoint"
        )));
    };
    let name = api.name().unwrap_or(api_id);
    let action = format!(
        "changed the endpoint of REST API {api_id} ({name}) from {} to PRIVATE: it is now reachable only \
         through interface VPC endpoints its resource policy allows",
        public.as_str()
    );
    let patch = PatchOperation::builder()
        .op(Op::Replace)
        .path(format!("/endpointConfiguration/types/{}", public.as_str()))
        .value(EndpointType::Private.as_str())
        .build();
    ctx.fix(vec![action], async {
        apigateway
            .update_rest_api()
            .rest_api_id(api_id)
            .patch_operations(patch)
            .send()
            .await
            .map_err(|e| RuleError::aws("UpdateRestApi", &e))?;
        crate::rule::changed("apigateway:UpdateRestApi", api_id);
        Ok(())
    })
    .await
}
