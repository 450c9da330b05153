//! Lambda rules: active tracing, and function policies that let anyone invoke the
//! function (those statements are removed; one that also names other principals is
//! reported, not removed).

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Set the function's tracing mode to Active: one update, never waiting for it to
    // finish (a function in the middle of an update is reported, not waited for).
    RuleSpec {
        id: "Lambda-003",
        title: "Lambda Active Tracing Enabled",
        service: "Lambda",
        risk: RiskLevel::Low,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionConfiguration",
            "lambda:ListTags",
        ],
    },
    // Remove the function policy statements with `Principal: *` and no condition narrowing
    // it to an account, organization or source (see `sns::is_open_to_everyone`). A statement
    // that names other principals besides `*` cannot be edited in place (RemovePermission
    // removes whole statements): the rule fails naming it and changes nothing, so those
    // principals never lose access.
    RuleSpec {
        id: "Lambda-004",
        title: "Lambda Function Exposed",
        service: "Lambda",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "lambda:GetPolicy",
            "lambda:RemovePermission",
            "lambda:ListTags",
        ],
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the function's name or ARN.

use crate::rule::{error_code, Context, Report, RuleError, MANAGED_TAG};
use crate::rules::sns::{arn, parse_policy, remove_open_statements};
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::{LastUpdateStatus, State, TracingConfig, TracingMode};
use aws_sdk_lambda::Client;
use futures::future::BoxFuture;
use serde_json::Value;

/// Runs the Lambda rule `ctx.rule`.
pub fn remediate(ctx: &Context) -> BoxFuture<'_, Result<Report, RuleError>> {
    Box::pin(async move {
        let function = ctx.resource()?;
        let lambda = Client::new(&ctx.aws);
        match ctx.rule.id {
            "Lambda-003" => enable_active_tracing(ctx, &lambda, function).await,
            "Lambda-004" => remove_public_permissions(ctx, &lambda, function).await,
            other => Err(RuleError::new(format!("{other} is not a Lambda rule"))),
        }
    })
}

async fn is_managed(lambda: &Client, function_arn: &str) -> Result<bool, RuleError> {
    let tags = lambda
        .list_tags()
        .resource(function_arn)
        .send()
        .await
        .map_err(|e| RuleError::aws("ListTags", &e))?;
    Ok(tags.tags().is_some_and(|t| t.contains_key(MANAGED_TAG)))
}

/// What Lambda-003 does with a function.
#[derive(Debug, PartialEq, Eq)]
enum Tracing {
    /// Tracing is Active already.
    Active,
    /// The function cannot take an update now; why.
    Busy(String),
    /// Set the mode to Active.
    Update,
}

/// Lambda-003's decision from the function's configuration. A function still being created
/// or updated would refuse the update (ResourceConflictException): that is reported at once,
/// never waited for — the rule's own function would time out waiting.
fn tracing_decision(function: &str, config: &GetFunctionConfigurationOutput) -> Tracing {
    if config.tracing_config().and_then(|t| t.mode()) == Some(&TracingMode::Active) {
        return Tracing::Active;
    }
    if config.state() == Some(&State::Pending) {
        return Tracing::Busy(format!(
            "function {function} is still being created (state Pending)"
        ));
    }
    if config.last_update_status() == Some(&LastUpdateStatus::InProgress) {
        return Tracing::Busy(format!(
            "function {function} is being updated (last update InProgress)"
        ));
    }
    Tracing::Update
}

/// Lambda-003: one UpdateFunctionConfiguration, not waited for.
async fn enable_active_tracing(
    ctx: &Context,
    lambda: &Client,
    function: &str,
) -> Result<Report, RuleError> {
    let config = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetFunctionConfiguration", &e))?;
    let function_arn = config.function_arn().unwrap_or(function);
    if is_managed(lambda, function_arn).await? {
        return Ok(Report::managed(function));
    }
    match tracing_decision(function, &config) {
        Tracing::Active => Ok(Report::compliant(format!("{function} has active tracing"))),
        Tracing::Busy(why) => Err(RuleError::new(format!(
            "{why}: not waiting for it; run the rule again once the update has finished"
        ))),
        Tracing::Update => {
            let action = format!("set the tracing mode of function {function} to Active (X-Ray)");
            ctx.fix(vec![action], async {
                lambda
                    .update_function_configuration()
                    .function_name(function)
                    .tracing_config(TracingConfig::builder().mode(TracingMode::Active).build())
                    .send()
                    .await
                    .map_err(|e| RuleError::aws("UpdateFunctionConfiguration", &e))?;
                Ok(())
            })
            .await
        }
    }
}

/// Lambda-004: every statement open to everyone is removed by its statement id. One that also
/// names other principals (AddPermission never writes one, but a policy might hold it) would
/// take them with it: the rule fails naming it, before changing anything.
async fn remove_public_permissions(
    ctx: &Context,
    lambda: &Client,
    function: &str,
) -> Result<Report, RuleError> {
    let function_arn = if function.starts_with("arn:") {
        function.to_owned()
    } else {
        arn(ctx, "lambda", &format!("function:{function}"))
    };
    if is_managed(lambda, &function_arn).await? {
        return Ok(Report::managed(function));
    }
    let text = match lambda.get_policy().function_name(function).send().await {
        Ok(out) => out.policy().unwrap_or_default().to_owned(),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => String::new(),
        Err(e) => return Err(RuleError::aws("GetPolicy", &e)),
    };
    if text.is_empty() {
        return Ok(Report::compliant(format!(
            "{function} has no resource-based policy"
        )));
    }
    let mut policy = parse_policy(&text, &format!("the policy of function {function}"))?;
    let ids = permissions_to_remove(function, &mut policy)?;
    if ids.is_empty() {
        return Ok(Report::compliant(format!(
            "{function}'s policy has no statement open to everyone"
        )));
    }
    let actions = ids
        .iter()
        .map(|sid| format!("removed permission {sid} (open to everyone) from function {function}"))
        .collect();
    ctx.fix(actions, async {
        for sid in &ids {
            lambda
                .remove_permission()
                .function_name(function)
                .statement_id(sid)
                .send()
                .await
                .map_err(|e| RuleError::aws("RemovePermission", &e))?;
        }
        Ok(())
    })
    .await
}

/// The statement ids of the function policy's statements open to everyone. A statement that
/// also names other principals, or has no `Sid` to remove it by, is an error: nothing is to
/// be changed then.
fn permissions_to_remove(function: &str, policy: &mut Value) -> Result<Vec<String>, RuleError> {
    let removed = remove_open_statements(policy)?;
    let mixed: Vec<&str> = removed
        .iter()
        .filter(|r| r.kept_for_others)
        .map(|r| r.label.as_str())
        .collect();
    if !mixed.is_empty() {
        return Err(RuleError::new(format!(
            "statement(s) {} of function {function}'s policy allow everyone and name other \
             principals too: RemovePermission would remove those principals with them; take \
             `*` out by hand (nothing was changed)",
            mixed.join(", ")
        )));
    }
    removed
        .iter()
        .map(|r| {
            r.sid.clone().ok_or_else(|| {
                RuleError::new(format!(
                    "statement {} of function {function}'s policy has no Sid to remove it by",
                    r.label
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(mode: TracingMode) -> aws_sdk_lambda::operation::get_function_configuration::builders::GetFunctionConfigurationOutputBuilder{
        GetFunctionConfigurationOutput::builder()
            .function_name("f")
            .tracing_config(
                aws_sdk_lambda::types::TracingConfigResponse::builder()
                    .mode(mode)
                    .build(),
            )
            .state(State::Active)
    }

    #[test]
    fn a_permission_that_also_names_an_account_is_never_removed() {
        let mut open = serde_json::json!({"Statement": [
            {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction"},
            {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::2:root"}}
        ]});
        assert_eq!(
            permissions_to_remove("f", &mut open),
            Ok(vec!["Everyone".to_owned()])
        );
        let mut mixed = serde_json::json!({"Statement": [
            {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction"},
            {"Sid": "Mixed", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Principal": {"AWS": ["arn:aws:iam::2:root", "*"]}}
        ]});
        let refused = permissions_to_remove("f", &mut mixed);
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.0.contains("Mixed") && !e.0.contains("Everyone")),
            "{refused:?}"
        );
    }

    #[test]
    fn active_tracing_is_compliant_even_mid_update() {
        let c = config(TracingMode::Active)
            .last_update_status(LastUpdateStatus::InProgress)
            .build();
        assert_eq!(tracing_decision("f", &c), Tracing::Active);
    }

    #[test]
    fn pass_through_is_updated_when_the_function_is_idle() {
        let c = config(TracingMode::PassThrough)
            .last_update_status(LastUpdateStatus::Successful)
            .build();
        assert_eq!(tracing_decision("f", &c), Tracing::Update);
        let never_updated = GetFunctionConfigurationOutput::builder()
            .function_name("f")
            .build();
        assert_eq!(tracing_decision("f", &never_updated), Tracing::Update);
    }

    #[test]
    fn a_function_mid_update_is_reported_not_waited_for() {
        let updating = config(TracingMode::PassThrough)
            .last_update_status(LastUpdateStatus::InProgress)
            .build();
        assert!(
            matches!(tracing_decision("f", &updating), Tracing::Busy(why) if why.contains("InProgress"))
        );
        let creating = config(TracingMode::PassThrough)
            .state(State::Pending)
            .build();
        assert!(
            matches!(tracing_decision("f", &creating), Tracing::Busy(why) if why.contains("Pending"))
        );
    }
}
