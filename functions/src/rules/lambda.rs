//! Lambda rules: active tracing, and function policies that let anyone invoke the
//! function (those statements are removed; one that also names other principals is
//! reported, not removed).

use crate::catalog::{Mode, RiskLevel, RuleSpec, Scope, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Set the function's tracing mode to Active: one update, never waiting for it to
    // finish (a function in the middle of an update is reported, not waited for). Lambda
    // refuses it (InvalidParameterValueException: "does not have permissions to call
    // PutTraceSegments") when the function's execution role cannot write to X-Ray: that is
    // reported `skipped`, naming the missing permission, since no retry can succeed (a
    // `failed` report is retried by the orchestrator until the message reaches the DLQ).
    // With `attach_xray_policy` "true", the AWS-managed policy AWSXRayDaemonWriteAccess is
    // then attached to the role and the update tried again. The rule's role is always
    // rendered with that AttachRolePolicy grant (roles are rendered from the metadata, not
    // the settings), limited to that one policy by `iam:PolicyARN`.
    RuleSpec {
        id: "Lambda-003",
        title: "Lambda Active Tracing Enabled",
        service: "Lambda",
        risk: RiskLevel::Low,
        default_mode: Mode::Remediate,
        scoped: &[Scope {
            actions: &["iam:AttachRolePolicy"],
            resource: "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*",
            // The condition's value is not substituted when the role is rendered: the
            // partition is a wildcard; the `aws` account pins AWS's own managed policy.
            condition: &[(
                "ArnLike",
                "iam:PolicyARN",
                "arn:*:iam::aws:policy/AWSXRayDaemonWriteAccess",
            )],
        }],
        settings: &[SettingSpec {
            name: "attach_xray_policy",
            default: Some("false"),
            description: "\"true\": when the function's execution role cannot write to X-Ray, \
                          attach the AWS-managed policy AWSXRayDaemonWriteAccess to it; \
                          \"false\": report the finding skipped, naming the missing \
                          permission.",
        }],
        iam_actions: &[
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionConfiguration",
            "lambda:ListTags",
            "iam:AttachRolePolicy",
        ],
        fix: |ctx| Box::pin(on_resource(ctx, Client::new, enable_active_tracing)),
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
        fix: |ctx| Box::pin(on_resource(ctx, Client::new, remove_public_permissions)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the function's name or ARN.

use crate::rule::{error_code, on_resource, Context, Report, RuleError};
use crate::rules::sns::{arn, parse_policy, remove_open_statements};
use aws_sdk_lambda::config::AsyncSleep;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::{LastUpdateStatus, State, TracingConfig, TracingMode};
use aws_sdk_lambda::Client;
use serde_json::Value;
use std::time::Duration;

/// Whether the function's tags say remedy's own stack made it (CloudFormation's reserved tags).
async fn is_managed(ctx: &Context, lambda: &Client, function_arn: &str) -> Result<bool, RuleError> {
    let tags = lambda
        .list_tags()
        .resource(function_arn)
        .send()
        .await
        .map_err(|e| RuleError::aws("ListTags", &e))?;
    Ok(ctx.owns_tagged(
        tags.tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    ))
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

/// The AWS-managed policy that lets a function's role write traces to X-Ray.
const XRAY_POLICY: &str = "AWSXRayDaemonWriteAccess";
/// Updates tried after attaching [`XRAY_POLICY`], while IAM propagates it …
const XRAY_ATTEMPTS: u32 = 4;
/// … and the pause between them.
const XRAY_DELAY: Duration = Duration::from_secs(5);

/// The ARN of [`XRAY_POLICY`] in `region`'s partition.
fn xray_policy_arn(region: &str) -> String {
    format!(
        "arn:{}:iam::aws:policy/{XRAY_POLICY}",
        crate::partition::partition(region)
    )
}

/// Whether Lambda refused active tracing because the function's execution role cannot
/// write to X-Ray: `InvalidParameterValueException: The provided execution role does not
/// have permissions to call PutTraceSegments on XRAY`.
fn lacks_xray_permission(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("InvalidParameterValueException")
        && message.is_some_and(|m| m.contains("PutTraceSegments"))
}

/// The role name in a role ARN (`arn:aws:iam::1:role/path/name` → `name`).
fn role_name(role_arn: &str) -> Option<&str> {
    let (_, path) = role_arn.split_once(":role/")?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The `attach_xray_policy` setting.
fn attach_xray_policy(ctx: &Context) -> Result<bool, RuleError> {
    match ctx.settings.get("attach_xray_policy").map(|v| v.trim()) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) => Err(RuleError::new(format!(
            "setting `attach_xray_policy` is {v:?}; expected \"true\" or \"false\""
        ))),
    }
}

/// Lambda-003: one UpdateFunctionConfiguration, not waited for. Refused for lack of X-Ray
/// permissions: `skipped` (not retried) naming the permission, or, with
/// `attach_xray_policy`, [`XRAY_POLICY`] attached to the execution role and the update
/// tried again while IAM propagates it (still refused in the end: `failed`, retried).
async fn enable_active_tracing(
    ctx: &Context,
    lambda: &Client,
    function: &str,
) -> Result<Report, RuleError> {
    let attach = attach_xray_policy(ctx)?;
    let config = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetFunctionConfiguration", &e))?;
    let function_arn = config.function_arn().unwrap_or(function);
    if is_managed(ctx, lambda, function_arn).await? {
        return Ok(Report::managed(function));
    }
    match tracing_decision(function, &config) {
        Tracing::Active => Ok(Report::compliant(format!("{function} has active tracing"))),
        Tracing::Busy(why) => Err(RuleError::new(format!(
            "{why}: not waiting for it; run the rule again once the update has finished"
        ))),
        Tracing::Update => {
            let role_arn = config.role().unwrap_or_default();
            let mut actions = vec![format!(
                "set the tracing mode of function {function} to Active (X-Ray)"
            )];
            if ctx.dry_run {
                if attach {
                    actions.push(format!(
                        "if its execution role {role_arn} cannot write to X-Ray: attach \
                         {XRAY_POLICY} to it"
                    ));
                }
                return ctx.fix(actions, async { Ok(()) }).await;
            }
            let refused = match update_tracing(lambda, function).await? {
                None => return ctx.fix(actions, async { Ok(()) }).await,
                Some(refused) => refused,
            };
            if !attach {
                return Ok(Report::skipped(format!(
                    "Lambda refused active tracing for {function}: its execution role \
                     {role_arn} lacks xray:PutTraceSegments and xray:PutTelemetryRecords \
                     ({refused}); grant them (e.g. the AWS-managed policy {XRAY_POLICY}), or \
                     set `attach_xray_policy` to \"true\"; not retried"
                )));
            }
            let name = role_name(role_arn).ok_or_else(|| {
                RuleError::new(format!(
                    "function {function}'s execution role {role_arn:?} is not a role ARN"
                ))
            })?;
            aws_sdk_iam::Client::new(&ctx.aws)
                .attach_role_policy()
                .role_name(name)
                .policy_arn(xray_policy_arn(&ctx.region))
                .send()
                .await
                .map_err(|e| RuleError::aws("AttachRolePolicy", &e))?;
            crate::rule::changed("iam:AttachRolePolicy", name);
            actions.insert(
                0,
                format!(
                    "attached {XRAY_POLICY} to role {name}, the execution role of function \
                     {function}, which could not write to X-Ray"
                ),
            );
            let sleep = ctx.aws.sleep_impl();
            for attempt in 1..=XRAY_ATTEMPTS {
                if let Some(sleep) = &sleep {
                    sleep.sleep(XRAY_DELAY).await;
                }
                match update_tracing(lambda, function).await? {
                    None => return ctx.fix(actions, async { Ok(()) }).await,
                    Some(refused) if attempt == XRAY_ATTEMPTS || sleep.is_none() => {
                        return Err(RuleError::new(format!(
                            "attached {XRAY_POLICY} to role {name}, but Lambda still refuses \
                             active tracing for {function} ({refused}): IAM may not have \
                             propagated it yet; the next run will try again"
                        )));
                    }
                    Some(_) => {}
                }
            }
            Err(RuleError::new(format!(
                "active tracing for {function} was not set"
            )))
        }
    }
}

/// Sets the function's tracing mode to Active: `None` when done, the error's description
/// when Lambda refused for lack of X-Ray permissions; any other error is an error.
async fn update_tracing(lambda: &Client, function: &str) -> Result<Option<String>, RuleError> {
    match lambda
        .update_function_configuration()
        .function_name(function)
        .tracing_config(TracingConfig::builder().mode(TracingMode::Active).build())
        .send()
        .await
    {
        Ok(_) => {
            crate::rule::changed("lambda:UpdateFunctionConfiguration", function);
            Ok(None)
        }
        Err(e) => {
            let service = e.as_service_error();
            if lacks_xray_permission(
                service.and_then(|s| s.code()),
                service.and_then(|s| s.message()),
            ) {
                Ok(Some(crate::rule::describe_sdk_error(&e)))
            } else {
                Err(RuleError::aws("UpdateFunctionConfiguration", &e))
            }
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
    if is_managed(ctx, lambda, &function_arn).await? {
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
            crate::rule::changed("lambda:RemovePermission", function);
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
    fn attaching_the_xray_policy_is_a_setting_off_by_default_and_scoped_to_that_policy() {
        let rule = RULES
            .iter()
            .find(|r| r.id == "Lambda-003")
            .expect("Lambda-003");
        let setting = rule.setting("attach_xray_policy").expect("the setting");
        assert_eq!(setting.default, Some("false"));
        assert!(rule.iam_actions.contains(&"iam:AttachRolePolicy"));
        let scope = rule
            .scoped
            .iter()
            .find(|s| s.actions == ["iam:AttachRolePolicy"])
            .expect("AttachRolePolicy is scoped on its own");
        assert_eq!(
            scope.resource,
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"
        );
        assert_eq!(
            scope.condition,
            [(
                "ArnLike",
                "iam:PolicyARN",
                "arn:*:iam::aws:policy/AWSXRayDaemonWriteAccess"
            )]
        );
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
    fn a_role_that_cannot_write_to_xray_is_recognised_from_lambdas_refusal() {
        let refusal = "The provided execution role does not have permissions to call \
                       PutTraceSegments on XRAY";
        assert!(lacks_xray_permission(
            Some("InvalidParameterValueException"),
            Some(refusal)
        ));
        assert!(!lacks_xray_permission(
            Some("InvalidParameterValueException"),
            Some("The role defined for the function cannot be assumed by Lambda.")
        ));
        assert!(!lacks_xray_permission(
            Some("ResourceConflictException"),
            Some(refusal)
        ));
        assert!(!lacks_xray_permission(None, None));
        assert_eq!(
            role_name("arn:aws:iam::1:role/service-role/fn-role-abc"),
            Some("fn-role-abc")
        );
        assert_eq!(role_name("arn:aws:iam::1:role/plain"), Some("plain"));
        assert_eq!(role_name("not-an-arn"), None);
        assert_eq!(
            xray_policy_arn("cn-north-1"),
            "arn:aws-cn:iam::aws:policy/AWSXRayDaemonWriteAccess"
        );
        assert_eq!(
            xray_policy_arn("us-gov-west-1"),
            "arn:aws-us-gov:iam::aws:policy/AWSXRayDaemonWriteAccess"
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
