//! The Lambda entry point: the same `remedy` binary is every function's `bootstrap`.
//!
//! When `AWS_LAMBDA_RUNTIME_API` is set, `remedy` runs the `lambda_runtime` loop here and
//! picks the handler by `AWS_LAMBDA_FUNCTION_NAME`: `AutoRemediateOrchestrator` runs the
//! orchestrator, `AutoRemediate<ruleId>` runs that catalog rule. A rule that fails returns
//! an error, so the invoke carries a `FunctionError` that the orchestrator checks.
//!
//! Configuration comes from the environment the stack sets: `REMEDY_RULES`,
//! `REMEDY_NOTIFICATIONS` and `REMEDY_REGIONS` (orchestrator: the regions the stack covers,
//! comma-separated; `REMEDY_GRACE` and `REMEDY_FINDINGS_QUEUE`: grace periods in seconds by
//! rule, and the queue to re-queue their findings to; `REMEDY_EXCEPTIONS`: the exceptions
//! this stack carries, see [`crate::exceptions`]; `REMEDY_COUNTERS_TABLE` and
//! `REMEDY_LIMITS`: the rate limits' table and the rules' limits, see [`crate::limits`]),
//! `REMEDY_MODE`, `REMEDY_SETTINGS` and
//! `REMEDY_STACK_ID` (rules: the stack's ARN, whose resources the rules leave alone).
//!
//! Every function runs in the stack's home region; a rule function acts in the region of the
//! finding it is given ([`crate::runtime::context`]).

use crate::catalog::Mode;
use crate::dispatch::{parse_regions, Place, RuntimeConfig};
use crate::finding::{parse_text, Message};
use crate::orchestrator::Orchestrator;
use crate::rule::{Outcome, OwnStack, Report};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const ORCHESTRATOR: &str = "AutoRemediateOrchestrator";
/// The name of every rule function is this prefix and the rule id.
pub const RULE_PREFIX: &str = "AutoRemediate";
const PREFIX: &str = RULE_PREFIX;

/// Whether this process was started by Lambda.
pub fn is_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// What a function named `name` runs.
#[derive(Debug, Clone)]
pub enum Role {
    Orchestrator,
    Rule(&'static crate::catalog::RuleSpec),
}

pub fn role_of(name: &str) -> Result<Role, String> {
    if name == ORCHESTRATOR {
        return Ok(Role::Orchestrator);
    }
    let id = name
        .strip_prefix(PREFIX)
        .ok_or_else(|| format!("function {name}: not an {PREFIX}<ruleId> function"))?;
    crate::catalog::find_rule(id)
        .map(Role::Rule)
        .ok_or_else(|| format!("function {name}: rule {id} is not in this build's catalog"))
}

/// Runs the Lambda loop until the runtime ends the process.
pub async fn run() -> Result<(), Error> {
    let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let role = role_of(&name)?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let region = aws.region().map(|r| r.to_string()).unwrap_or_default();
    match role {
        Role::Orchestrator => {
            let config = RuntimeConfig {
                rules: env_json("REMEDY_RULES")?.unwrap_or_default(),
                routes: env_json("REMEDY_NOTIFICATIONS")?.unwrap_or_default(),
                regions: parse_regions(std::env::var("REMEDY_REGIONS").ok().as_deref())?,
            };
            let lambda = aws_sdk_lambda::Client::new(&aws);
            let sns = aws_sdk_sns::Client::new(&aws);
            let grace = crate::orchestrator::Grace {
                seconds: crate::orchestrator::Grace::parse_table(
                    std::env::var("REMEDY_GRACE").ok().as_deref(),
                )?,
                queue_url: std::env::var("REMEDY_FINDINGS_QUEUE")
                    .ok()
                    .filter(|u| !u.trim().is_empty()),
                sqs: Some(aws_sdk_sqs::Client::new(&aws)),
            };
            // The kill switch: one per process, so its one-minute cache spans invocations.
            let pause = std::env::var(crate::pause::PARAMETER_ENV)
                .ok()
                .filter(|p| !p.trim().is_empty())
                .map(|p| Arc::new(crate::pause::PauseSwitch::new(&aws, p)));
            let exceptions = crate::orchestrator::Exceptions {
                list: crate::exceptions::parse_table(
                    std::env::var(crate::exceptions::ENV).ok().as_deref(),
                )?,
                aws: Some(aws.clone()),
            };
            // Rate limits: the stack's counters table, and the rules' limits.
            let limits = match std::env::var(crate::limits::TABLE_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty())
            {
                Some(table) => crate::limits::Limits::new(
                    &aws,
                    table,
                    crate::limits::parse_table(
                        std::env::var(crate::limits::LIMITS_ENV).ok().as_deref(),
                    )?,
                ),
                None => crate::limits::Limits::default(),
            };
            let (exceptions, limits) = (&exceptions, &limits);
            let (lambda, sns, grace) = (&lambda, &sns, &grace);
            let pause = &pause;
            let (config, region) = (&config, &region);
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                let orchestrator = Orchestrator {
                    lambda: lambda.clone(),
                    sns: sns.clone(),
                    config: config.clone(),
                    place: Place {
                        account_id: account_of(&event.context.invoked_function_arn),
                        region: region.clone(),
                    },
                    grace: grace.clone(),
                    pause: pause.clone(),
                    exceptions: exceptions.clone(),
                    limits: limits.clone(),
                };
                let deadline = deadline_of(event.context.deadline);
                Ok::<Value, Error>(
                    orchestrator
                        .handle_event(event.payload, Some(deadline))
                        .await,
                )
            }))
            .await
        }
        Role::Rule(rule) => {
            let mode: Mode = match std::env::var("REMEDY_MODE") {
                Ok(m) => m.parse()?,
                Err(_) => rule.default_mode,
            };
            let settings: BTreeMap<String, String> =
                env_json("REMEDY_SETTINGS")?.unwrap_or_default();
            // One per process: the stack's resources are listed at most once per cold start.
            let stack = own_stack_from_env()?;
            let (aws, settings, stack) = (&aws, &settings, &stack);
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                if let Some(request) = event.payload.get(crate::undo::PAYLOAD_KEY) {
                    // `remedy undo`: an answer either way, never a FunctionError.
                    let report = handle_undo(rule, aws, request).await;
                    return Ok::<Value, Error>(serde_json::to_value(&report)?);
                }
                let account_id = account_of(&event.context.invoked_function_arn);
                let report = handle_rule(
                    rule,
                    mode,
                    settings,
                    aws,
                    account_id,
                    stack.clone(),
                    &event.payload,
                )
                .await;
                // A failure that changed something (a partial fix: some rules revoked, one
                // left for a human) answers with its report, so that what it removed reaches
                // the ledger; the orchestrator reads its `failed` outcome as a failure.
                if report.outcome == Outcome::Failed && report.removed.is_empty() {
                    // An error sets the invoke's FunctionError; the orchestrator checks it.
                    return Err(Error::from(
                        report.reason.unwrap_or_else(|| "failed".into()),
                    ));
                }
                Ok::<Value, Error>(serde_json::to_value(&report)?)
            }))
            .await
        }
    }
}

/// What a rule function does with one invocation's `payload` (the finding the orchestrator
/// sent): read it, check it is for this rule, and run the rule in the finding's region with
/// the function's own credentials (`own`: the function's configuration, in its home region;
/// `account_id`: the function's account). A finding this function cannot act on (another
/// rule's, another partition's region) is `rejected`.
pub async fn handle_rule(
    rule: &'static crate::catalog::RuleSpec,
    mode: Mode,
    settings: &BTreeMap<String, String>,
    own: &aws_config::SdkConfig,
    account_id: String,
    stack: Option<Arc<OwnStack>>,
    payload: &Value,
) -> Report {
    let text = match payload {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let finding = match parse_text(&text) {
        Ok(Message::Finding(f)) => *f,
        Ok(Message::Test) => return Report::skipped("Conformity test message"),
        Err(rejection) => return Report::rejected(rejection.0),
    };
    if finding.rule_id != rule.id {
        return Report::rejected(format!(
            "{} received a finding for {}",
            rule.function_name(),
            finding.rule_id
        ));
    }
    if mode == Mode::Notify {
        return Report::skipped("notify mode: nothing to fix");
    }
    let ctx = match crate::runtime::context(
        rule,
        finding,
        settings.clone(),
        mode == Mode::DryRun,
        own,
        account_id,
    ) {
        Ok(ctx) => ctx,
        Err(reason) => return Report::rejected(reason),
    };
    crate::runtime::run_rule_for(&ctx, stack).await
}

/// What a rule function does with `remedy undo`'s request (the payload's `remedy_undo`):
/// put back what its rule removed, in the region the rule acted in, with the function's own
/// credentials; one JSON line in its log says what was undone.
pub async fn handle_undo(
    rule: &'static crate::catalog::RuleSpec,
    own: &aws_config::SdkConfig,
    request: &Value,
) -> crate::undo::UndoReport {
    use crate::undo::{undo, UndoReport, UndoRequest};
    match serde_json::from_value::<UndoRequest>(request.clone()) {
        Err(e) => UndoReport::refused(format!("not an undo request: {e}")),
        Ok(request) => {
            let own_region = own.region().map(|r| r.to_string()).unwrap_or_default();
            match crate::runtime::acting_region(request.region.as_deref(), &own_region) {
                Err(reason) => UndoReport::refused(reason),
                Ok(region) => {
                    let aws = own
                        .to_builder()
                        .region(aws_config::Region::new(region))
                        .build();
                    let report = undo(rule.id, &request, &aws).await;
                    log_undo(&request.record_id, rule.id, &report);
                    report
                }
            }
        }
    }
}

/// The undo's line in the function's log: the record undone, the outcome, what was done.
fn log_undo(record_id: &str, rule_id: &str, report: &crate::undo::UndoReport) {
    use std::io::Write;
    let line = serde_json::json!({
        "undo": record_id,
        "rule_id": rule_id,
        "outcome": report.outcome,
        "actions": report.actions,
        "reason": report.reason,
    });
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// remedy's own stack from `REMEDY_STACK_ID` (rendered as `Ref: AWS::StackId`). Absent: no
/// stack (nothing is remedy's own); present but not a stack ARN: an error, so that a broken
/// environment cannot make remedy act on its own resources.
fn own_stack_from_env() -> Result<Option<Arc<OwnStack>>, Error> {
    match std::env::var("REMEDY_STACK_ID") {
        Ok(id) if !id.trim().is_empty() => OwnStack::from_id(&id)
            .map(|s| Some(Arc::new(s)))
            .ok_or_else(|| Error::from(format!("REMEDY_STACK_ID: not a stack ARN: {id}"))),
        _ => Ok(None),
    }
}

/// The invocation's deadline (milliseconds since the epoch, from the Runtime API) as an
/// `Instant`.
fn deadline_of(deadline_ms: u64) -> std::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    std::time::Instant::now() + std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// The account in a function ARN (`arn:aws:lambda:<region>:<account>:function:<name>`).
pub fn account_of(function_arn: &str) -> String {
    function_arn
        .split(':')
        .nth(4)
        .unwrap_or_default()
        .to_owned()
}

fn env_json<T: serde::de::DeserializeOwned>(name: &str) -> Result<Option<T>, Error> {
    match std::env::var(name) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::from(format!("{name}: {e}"))),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_function_name() {
        assert!(matches!(
            role_of("AutoRemediateOrchestrator"),
            Ok(Role::Orchestrator)
        ));
        assert!(matches!(role_of("AutoRemediateS3-001"), Ok(Role::Rule(r)) if r.id == "S3-001"));
        assert!(role_of("AutoRemediateS3-999").is_err());
        assert!(role_of("SomethingElse").is_err());
        assert_eq!(
            account_of("arn:aws:lambda:us-east-1:111111111111:function:AutoRemediateS3-001"),
            "111111111111"
        );
    }
}
