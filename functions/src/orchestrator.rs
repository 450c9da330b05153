//! The orchestrator's I/O around [`crate::dispatch::decide`]: read the message, invoke
//! `AutoRemediate<ruleId>` in this account and region (the rule acts in the finding's
//! region), check the invoke's `FunctionError`, notify the routed topics, and log one JSON
//! line per finding.
//!
//! The log line is also a CloudWatch Embedded Metric Format record: CloudWatch Logs turns
//! every line into one `findings` count in the `remedy` namespace, by `rule` and `outcome`
//! (rejections such as `outside_regions` included), so no finding goes uncounted.
//!
//! Batches: an SQS batch answers with `batchItemFailures` naming only the messages that may
//! succeed on a retry (a failed invoke, a failed rule, a failed notification), so one bad
//! message never blocks or loses the others: malformed and hostile messages are logged and
//! dropped, never retried. A direct SNS event and a finding invoked directly are handled too.
//!
//! Never logged: credentials, the environment, or anything but the finding's own fields.

use crate::catalog::Mode;
use crate::dispatch::{decide, Decision, Place, ReasonCode, RuntimeConfig};
use crate::finding::{parse_text, Finding, Message};
use crate::rule::{describe_sdk_error, Outcome, Report};
use aws_sdk_lambda::primitives::Blob;
use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::time::{Duration, Instant};

/// The orchestrator of one account and region.
pub struct Orchestrator {
    pub lambda: aws_sdk_lambda::Client,
    pub sns: aws_sdk_sns::Client,
    pub config: RuntimeConfig,
    pub place: Place,
    /// Grace periods, and where to re-queue a finding to wait them out.
    pub grace: Grace,
    /// The kill switch (`REMEDY_PAUSE_PARAMETER`), shared by the process's invocations so
    /// that it is read at most once a minute; `None`: nothing is ever paused.
    pub pause: Option<std::sync::Arc<crate::pause::PauseSwitch>>,
    /// The exceptions this stack carries (`REMEDY_EXCEPTIONS`), and how to read a
    /// resource's tags for those that name tags.
    pub exceptions: Exceptions,
    /// Rate limits and the circuit breaker (`REMEDY_COUNTERS_TABLE`, `REMEDY_LIMITS`;
    /// [`crate::limits`]); without a table nothing is limited.
    pub limits: crate::limits::Limits,
}

/// A stack's exceptions ([`crate::exceptions`]) and the configuration tag lookups are made
/// with (the Resource Groups Tagging API, in the finding's region); without one, an
/// exception that names tags is never matched.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    pub list: Vec<crate::exceptions::Exception>,
    pub aws: Option<aws_config::SdkConfig>,
}

/// The message attribute a re-queued finding carries: its grace period is over.
pub const GRACED_ATTRIBUTE: &str = "remedy-graced";

/// Rules with a grace period (`REMEDY_GRACE`: `{"EC2-002": 600}`, seconds, at most
/// [`MAX_GRACE_SECONDS`]) and the findings queue to re-queue their findings to
/// (`REMEDY_FINDINGS_QUEUE`, its URL). A finding for such a rule in `remediate` mode is sent
/// back to the queue with `DelaySeconds` = its grace and the [`GRACED_ATTRIBUTE`] attribute,
/// instead of being acted on; when it comes back with the attribute, it is acted on (the
/// rule's own check first: a resource fixed meanwhile is `compliant`). `dry-run` and
/// `notify` change nothing, so they are never delayed.
#[derive(Debug, Clone, Default)]
pub struct Grace {
    pub seconds: std::collections::BTreeMap<String, u32>,
    pub queue_url: Option<String>,
    pub sqs: Option<aws_sdk_sqs::Client>,
}

/// SQS's longest `DelaySeconds`: 15 minutes.
pub const MAX_GRACE_SECONDS: u32 = 900;

impl Grace {
    /// The grace of `rule_id` in seconds, when it has one.
    pub fn of(&self, rule_id: &str) -> Option<u32> {
        self.seconds.get(rule_id).copied().filter(|s| *s > 0)
    }

    /// `REMEDY_GRACE` read and checked: a value above 900 s (SQS's limit) is an error, so a
    /// mangled table stops the function at its start rather than fail every finding.
    pub fn parse_table(
        text: Option<&str>,
    ) -> Result<std::collections::BTreeMap<String, u32>, String> {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return Ok(Default::default());
        };
        let table: std::collections::BTreeMap<String, u32> =
            serde_json::from_str(text).map_err(|e| format!("REMEDY_GRACE: {e}"))?;
        if let Some((rule, secs)) = table.iter().find(|(_, s)| **s > MAX_GRACE_SECONDS) {
            return Err(format!(
                "REMEDY_GRACE: {rule}: {secs} s is longer than SQS's {MAX_GRACE_SECONDS} s delay"
            ));
        }
        Ok(table)
    }
}

/// What happened to one message; logged as one JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct Handled {
    pub rule_id: Option<String>,
    pub resource: Option<String>,
    pub mode: Option<Mode>,
    pub outcome: Outcome,
    pub actions: Vec<String>,
    pub reason: Option<String>,
    /// Why the finding was not remediated, as a stable code: the orchestrator's own
    /// (`outside_regions`, `rejected:malformed`, `notify`, `grace`, …) or the rule
    /// function's outcome (`dry_run`, `unsupported`, `rejected:rule`, see
    /// [`reason_code_of`]); `None` when it was remediated, compliant or failed.
    pub reason_code: Option<ReasonCode>,
    /// Notification topics the finding was sent to.
    pub notified: Vec<String>,
    /// Conformity's id of the finding, when it has one.
    pub finding_id: Option<String>,
    /// The account of the stack, whose finding this is.
    pub account_id: Option<String>,
    /// The finding's region: where its rule acts.
    pub region: Option<String>,
    /// The exception that spared it (the id of `exception:<id>`).
    pub exception: Option<String>,
    /// How long the orchestrator took over it, the rule's invoke included.
    pub duration_ms: u64,
    /// This record's id (`remedy undo --record`): 16 hex digits, random.
    pub record_id: String,
    /// What the rule removed, for `remedy undo` (reversible rules only; `crate::undo`).
    pub removed: Vec<crate::undo::Removed>,
    /// What the rule changed, one AWS call each (`crate::rule::Change`), in order.
    pub changes: Vec<crate::rule::Change>,
    /// Whether a retry could succeed (SQS redelivers it; in the end, the dead-letter queue).
    #[serde(skip)]
    pub retry: bool,
}

impl Handled {
    fn without_finding(outcome: Outcome, code: Option<ReasonCode>, reason: String) -> Handled {
        Handled {
            rule_id: None,
            resource: None,
            mode: None,
            outcome,
            actions: Vec::new(),
            reason: Some(reason),
            reason_code: code,
            notified: Vec::new(),
            finding_id: None,
            account_id: None,
            region: None,
            exception: None,
            duration_ms: 0,
            record_id: String::new(),
            removed: Vec::new(),
            changes: Vec::new(),
            retry: false,
        }
    }
}

/// What one rule invoke may take at most (the rule functions' timeout) plus a margin: an
/// SQS batch hands back the messages it has no time left for, rather than time out and have
/// the whole batch — handled messages included — delivered again.
pub const RULE_BUDGET: Duration = Duration::from_secs(65);

impl Orchestrator {
    /// The orchestrator of `place`, with clients built from `aws` (its own region's).
    pub fn new(aws: &aws_config::SdkConfig, config: RuntimeConfig, place: Place) -> Orchestrator {
        Orchestrator {
            lambda: aws_sdk_lambda::Client::new(aws),
            sns: aws_sdk_sns::Client::new(aws),
            config,
            place,
            grace: Grace::default(),
            pause: None,
            exceptions: Exceptions::default(),
            limits: crate::limits::Limits::default(),
        }
    }

    /// The first exception in force that matches `finding` ([`matching_exception`]).
    async fn exception_for(
        &self,
        finding: &Finding,
    ) -> Result<Option<&crate::exceptions::Exception>, String> {
        let today = crate::exceptions::day_of(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        );
        matching_exception(
            &self.exceptions.list,
            self.exceptions.aws.as_ref(),
            finding,
            &self.place,
            today,
        )
        .await
    }

    /// Whether the kill switch pauses `rule_id`. Read only for a finding that would run its
    /// rule (a `notify` rule changes nothing either way).
    async fn is_paused(&self, rule_id: &str, mode: Mode) -> bool {
        match (&self.pause, mode) {
            (Some(switch), Mode::Remediate | Mode::DryRun) => {
                // Boxed: keeps the handler's future shallow enough for the compiler's layout.
                Box::pin(switch.paused()).await.covers(rule_id)
            }
            _ => false,
        }
    }

    /// Handles whatever Lambda delivered: an SQS batch, an SNS event, or a finding. With a
    /// `deadline` (the invocation's), an SQS batch stops starting messages it may not finish.
    pub async fn handle_event(&self, event: Value, deadline: Option<Instant>) -> Value {
        let records = event.get("Records").and_then(Value::as_array);
        let source = records
            .and_then(|r| r.first())
            .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
            .and_then(Value::as_str);
        match (records, source) {
            (Some(records), Some("aws:sqs")) => {
                let mut failures = Vec::new();
                for record in records {
                    let id = record
                        .get("messageId")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let out_of_time = deadline
                        .is_some_and(|d| d.saturating_duration_since(Instant::now()) < RULE_BUDGET);
                    if out_of_time {
                        // Not started: SQS delivers it again, to this or another invocation.
                        if !id.is_empty() {
                            failures.push(json!({ "itemIdentifier": id }));
                        }
                        continue;
                    }
                    let body = record
                        .get("body")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    // Lambda's SQS record: `messageAttributes.<name>.stringValue`.
                    let graced = record
                        .pointer(&format!(
                            "/messageAttributes/{GRACED_ATTRIBUTE}/stringValue"
                        ))
                        .and_then(Value::as_str)
                        .is_some_and(|v| !v.is_empty());
                    let handled = self
                        .handle_message_graced(&unwrap_sns_envelope(body), graced)
                        .await;
                    if handled.retry && !id.is_empty() {
                        failures.push(json!({ "itemIdentifier": id }));
                    }
                }
                json!({ "batchItemFailures": failures })
            }
            (Some(records), Some("aws:sns")) => {
                let mut results = Vec::new();
                for record in records {
                    let text = record
                        .pointer("/Sns/Message")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    results.push(self.handle_message(text).await);
                }
                json!({ "results": results })
            }
            _ => {
                let text = match &event {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                json!(self.handle_message(&text).await)
            }
        }
    }

    /// Handles one message from the topic.
    pub async fn handle_message(&self, text: &str) -> Handled {
        self.handle_message_graced(text, false).await
    }

    /// Handles one message; `graced`: it was re-queued after its rule's grace period, so it
    /// is acted on now.
    pub async fn handle_message_graced(&self, text: &str, graced: bool) -> Handled {
        let started = Instant::now();
        let mut handled = match parse_text(text) {
            Err(rejection) => Handled::without_finding(
                Outcome::Rejected,
                Some(ReasonCode::Malformed),
                rejection.0,
            ),
            Ok(message) => self.act(&message, text, graced).await,
        };
        handled.account_id = Some(self.place.account_id.clone());
        handled.record_id = new_record_id();
        handled.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        log(&handled);
        handled
    }

    async fn act(&self, message: &Message, text: &str, graced: bool) -> Handled {
        let decision = decide(message, &self.config, &self.place);
        let Message::Finding(finding) = message else {
            return Handled::without_finding(
                Outcome::Skipped,
                Some(ReasonCode::TestMessage),
                "Conformity test message".into(),
            );
        };
        let mut handled = Handled {
            rule_id: Some(finding.rule_id.clone()),
            resource: finding.resource.clone(),
            finding_id: finding.id.clone(),
            region: finding.region.clone(),
            ..Handled::without_finding(Outcome::Skipped, None, String::new())
        };
        let (mode, function, topics) = match decision {
            Decision::Reject { code, reason } => {
                handled.outcome = Outcome::Rejected;
                handled.reason = Some(reason);
                handled.reason_code = Some(code);
                return handled;
            }
            Decision::Skip { code, reason } => {
                handled.reason = Some(reason);
                handled.reason_code = Some(code);
                return handled;
            }
            Decision::Act {
                mode,
                function,
                notify,
            } => (mode, function, notify),
        };
        // An exception in force: skipped, nothing invoked, nobody notified.
        match self.exception_for(finding).await {
            Ok(Some(exception)) => {
                handled.mode = Some(mode);
                handled.reason = Some(format!(
                    "exception {} (until {}): not remediated",
                    exception.id, exception.expires
                ));
                handled.reason_code = Some(ReasonCode::Exception(exception.id.clone()));
                handled.exception = Some(exception.id.clone());
                return handled;
            }
            Ok(None) => {}
            Err(reason) => {
                handled.outcome = Outcome::Failed;
                handled.retry = true;
                handled.reason = Some(format!(
                    "whether an exception applies is unknown, so nothing was changed: {reason}"
                ));
                return handled;
            }
        }
        // The kill switch (`remedy pause`): a paused rule is handled as `notify`.
        let paused = self.is_paused(&finding.rule_id, mode).await;
        let mode = if paused { Mode::Notify } else { mode };
        handled.mode = Some(mode);
        let grace = self
            .grace
            .of(&finding.rule_id)
            .filter(|_| mode == Mode::Remediate);
        if let (Some(seconds), false) = (grace, graced) {
            // Notified when it comes back and is acted on, not twice.
            match self.requeue(text, seconds).await {
                Ok(()) => {
                    handled.reason = Some(format!(
                        "grace period: re-queued for {seconds} s; acted on when it comes back"
                    ));
                    handled.reason_code = Some(ReasonCode::Grace);
                }
                Err(reason) => {
                    handled.outcome = Outcome::Failed;
                    handled.retry = true;
                    handled.reason =
                        Some(format!("re-queueing for the grace period failed: {reason}"));
                }
            }
            return handled;
        }
        if mode == Mode::Notify {
            handled.reason =
                Some("notify mode: the finding goes to the notification topics".into());
            handled.reason_code = Some(ReasonCode::NotifyMode);
            if paused {
                handled.reason = Some(
                    "paused (remedy pause): the finding goes to the notification topics, nothing is changed".into(),
                );
                handled.reason_code = Some(ReasonCode::Paused);
            }
        } else {
            // Rate limit and circuit breaker: only a fix is counted (a dry run changes
            // nothing); past either, the finding is notified, not remediated.
            let held = match mode {
                Mode::Remediate => Box::pin(self.held_back(&finding.rule_id)).await,
                _ => Ok(None),
            };
            match held {
                Err(reason) => {
                    // Fail closed: nothing changed, retried (and notified) later.
                    handled.outcome = Outcome::Failed;
                    handled.retry = true;
                    handled.reason = Some(format!(
                        "the rate-limit counters cannot be used, so nothing was changed: {reason}"
                    ));
                    return handled;
                }
                Ok(Some((code, reason))) => {
                    handled.mode = Some(Mode::Notify);
                    handled.reason = Some(reason);
                    handled.reason_code = Some(code);
                }
                Ok(None) => {
                    let report = self.invoke(&function, finding).await;
                    handled.retry = report.outcome == Outcome::Failed;
                    handled.outcome = report.outcome;
                    handled.actions = report.actions;
                    handled.removed = report.removed;
                    handled.changes = report.changes;
                    handled.reason = report.reason;
                    handled.reason_code = reason_code_of(report.outcome);
                    if report.outcome == Outcome::Failed && mode == Mode::Remediate {
                        let note = Box::pin(self.count_failure(&finding.rule_id)).await;
                        if let (Some(note), Some(reason)) = (note, handled.reason.as_mut()) {
                            *reason = format!("{reason}; {note}");
                        }
                    }
                    if let (Some(seconds), Some(reason)) = (grace, handled.reason.as_mut()) {
                        *reason = format!("after a {seconds} s grace period: {reason}");
                    }
                }
            }
        }
        for topic in topics {
            match self.notify(&topic, finding, &handled).await {
                Ok(()) => handled.notified.push(topic),
                Err(reason) => {
                    handled.retry = true;
                    let previous = handled
                        .reason
                        .take()
                        .map(|r| format!("{r}; "))
                        .unwrap_or_default();
                    handled.reason = Some(format!("{previous}notifying {topic} failed: {reason}"));
                }
            }
        }
        handled
    }

    /// Whether the counters hold a fix of `rule_id` back: its reason code and why, or
    /// `None` when it may go ahead (and was counted). `Err`: a counter could not be used.
    async fn held_back(&self, rule_id: &str) -> Result<Option<(ReasonCode, String)>, String> {
        let now = crate::limits::now();
        let until = until_the_hour_turns(now);
        Ok(match self.limits.admit(rule_id, now).await? {
            crate::limits::Verdict::Go => None,
            crate::limits::Verdict::RateLimited { max_per_hour } => Some((
                ReasonCode::RateLimited,
                format!(
                    "rate limited: {rule_id} made its {max_per_hour} fixes this hour in this account; notified, not remediated, until {until}"
                ),
            )),
            crate::limits::Verdict::CircuitOpen { failures } => Some((
                ReasonCode::CircuitOpen,
                format!(
                    "circuit open: {rule_id}'s fixes failed {failures} times this hour in this account; notified, not remediated, until {until}"
                ),
            )),
        })
    }

    /// Counts a failed fix of `rule_id`; what to add to the finding's reason: that the
    /// breaker opened with it, or that the failure could not be counted.
    async fn count_failure(&self, rule_id: &str) -> Option<String> {
        let now = crate::limits::now();
        match self.limits.record_failure(rule_id, now).await {
            Ok(failures) if crate::limits::circuit_open(failures, self.limits.of(rule_id)) => {
                Some(format!(
                    "{failures} failed fixes this hour: the circuit is open, {rule_id} notifies until {}",
                    until_the_hour_turns(now)
                ))
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(rule = rule_id, "cannot count a failed fix: {e}");
                Some(format!("the failure could not be counted ({e})"))
            }
        }
    }

    /// Sends the finding's text back to the findings queue, to arrive again after
    /// `seconds`, marked with [`GRACED_ATTRIBUTE`]. The body is the finding itself, which
    /// reads back as a raw-delivery SQS body does.
    async fn requeue(&self, text: &str, seconds: u32) -> Result<(), String> {
        let (Some(sqs), Some(url)) = (&self.grace.sqs, &self.grace.queue_url) else {
            return Err("REMEDY_FINDINGS_QUEUE is not set".into());
        };
        let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(seconds.to_string())
            .build()
            .map_err(|e| e.to_string())?;
        sqs.send_message()
            .queue_url(url)
            .message_body(text)
            .delay_seconds(i32::try_from(seconds.min(MAX_GRACE_SECONDS)).unwrap_or(900))
            .message_attributes(GRACED_ATTRIBUTE, attribute)
            .send()
            .await
            .map_err(|e| describe_sdk_error(&e))?;
        Ok(())
    }

    /// Invokes the rule function by name — never an ARN, so only this account and region —
    /// if it exists (GetFunction first: a missing function is `unsupported`, not an error).
    async fn invoke(&self, function: &str, finding: &Finding) -> Report {
        let unsupported = || Report {
            outcome: Outcome::Unsupported,
            actions: Vec::new(),
            reason: Some(format!("no function {function} in this account and region")),
            removed: Vec::new(),
            changes: Vec::new(),
        };
        match self
            .lambda
            .get_function()
            .function_name(function)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return unsupported();
            }
            Err(e) => {
                return Report::failed(format!(
                    "GetFunction {function}: {}",
                    describe_sdk_error(&e)
                ))
            }
        }
        let payload = match serde_json::to_vec(finding) {
            Ok(bytes) => bytes,
            Err(e) => return Report::failed(format!("cannot serialise the finding: {e}")),
        };
        let out = self
            .lambda
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // Deleted between the two calls.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return unsupported();
            }
            Err(e) => {
                return Report::failed(format!("Invoke {function}: {}", describe_sdk_error(&e)))
            }
        };
        let body: Value = out
            .payload()
            .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
            .unwrap_or(Value::Null);
        if let Some(kind) = out.function_error() {
            let message = body
                .get("errorMessage")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Report::failed(format!("{function} failed ({kind}): {message}"));
        }
        report_from_payload(function, &body)
    }

    async fn notify(
        &self,
        topic: &str,
        finding: &Finding,
        handled: &Handled,
    ) -> Result<(), String> {
        let arn = topic_arn(&self.place, topic);
        let subject = format!(
            "[{}] {} {}",
            finding.risk_level.as_deref().unwrap_or("UNKNOWN"),
            finding.rule_id,
            finding.rule_title.as_deref().unwrap_or("")
        );
        let subject: String = subject
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        self.sns
            .publish()
            .topic_arn(&arn)
            .subject(subject.trim())
            .message(notification(finding, handled).to_string())
            .send()
            .await
            .map_err(|e| describe_sdk_error(&e))?;
        Ok(())
    }
}

/// The next full UTC hour after `now` (epoch seconds), as `HH:00 UTC`.
fn until_the_hour_turns(now: u64) -> String {
    format!("{:02}:00 UTC", (crate::limits::hour_of(now) + 1) % 24)
}

/// The ARN of a notification topic of this account and region, in the region's partition.
fn topic_arn(place: &Place, topic: &str) -> String {
    format!(
        "arn:{}:sns:{}:{}:{topic}",
        crate::partition::partition(&place.region),
        place.region,
        place.account_id
    )
}

/// The notification's body: what a responder needs, and what was done.
pub fn notification(finding: &Finding, handled: &Handled) -> Value {
    json!({
        "ruleId": finding.rule_id,
        "ruleTitle": finding.rule_title,
        "resource": finding.resource,
        "region": finding.region,
        "riskLevel": finding.risk_level,
        "categories": finding.categories,
        "message": finding.message,
        "resolutionPageURL": finding.resolution_page_url,
        "outcome": handled.outcome,
        "actions": handled.actions,
        "reason": handled.reason,
    })
}

/// The reason code of a rule function's outcome, when it did not remediate: `dry_run`,
/// `unsupported`, `rejected:rule`. `remediated`, `compliant` (nothing to fix), `failed` (an
/// error, with its reason) and a rule's own `skipped` carry none.
pub fn reason_code_of(outcome: Outcome) -> Option<ReasonCode> {
    match outcome {
        Outcome::DryRun => Some(ReasonCode::DryRun),
        Outcome::Unsupported => Some(ReasonCode::Unsupported),
        Outcome::Rejected => Some(ReasonCode::RejectedByRule),
        Outcome::Remediated | Outcome::Compliant | Outcome::Skipped | Outcome::Failed => None,
    }
}

/// A rule function's answer. remedy's rules return a [`Report`]; a user's own function may
/// return anything, which counts as done without a report of what it did.
fn report_from_payload(function: &str, body: &Value) -> Report {
    match serde_json::from_value::<ReportPayload>(body.clone()) {
        Ok(p) => Report {
            outcome: p.outcome,
            actions: p.actions,
            reason: p.reason,
            // Only what reads as a removal remedy knows how to put back: a user's own
            // function cannot put anything else into the ledger's `removed`.
            removed: p
                .removed
                .into_iter()
                .filter_map(|r| serde_json::from_value(r).ok())
                .collect(),
            // Only well-formed entries, each field a short single line.
            changes: p
                .changes
                .into_iter()
                .filter_map(|c| serde_json::from_value::<crate::rule::Change>(c).ok())
                .filter(|c| plain(&c.api, 128) && plain(&c.target, 2048))
                .collect(),
        },
        Err(_) => Report {
            outcome: Outcome::Remediated,
            actions: Vec::new(),
            reason: Some(format!("{function} succeeded without a remedy report")),
            removed: Vec::new(),
            changes: Vec::new(),
        },
    }
}

#[derive(serde::Deserialize)]
struct ReportPayload {
    outcome: Outcome,
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    removed: Vec<Value>,
    #[serde(default)]
    changes: Vec<Value>,
}

/// A non-empty single line of at most `max` bytes: what a ledger field from a rule
/// function's answer may be.
fn plain(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && !text.chars().any(char::is_control)
}

/// A ledger record's id: 16 hex digits from the process's random hash keys, the clock and
/// a counter, so that two records of one process or of two never share one in practice.
fn new_record_id() -> String {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let id = std::collections::hash_map::RandomState::new().hash_one((nanos, n));
    format!("{id:016x}")
}

/// An SQS body is the finding itself with raw delivery, or an SNS envelope without it.
fn unwrap_sns_envelope(body: &str) -> Cow<'_, str> {
    if let Ok(Value::Object(envelope)) = serde_json::from_str::<Value>(body) {
        if envelope.get("Type").and_then(Value::as_str) == Some("Notification") {
            if let Some(Value::String(message)) = envelope.get("Message") {
                return Cow::Owned(message.clone());
            }
        }
    }
    Cow::Borrowed(body)
}

/// One JSON line per finding on stdout, which Lambda sends to CloudWatch Logs as it is:
/// queryable with Logs Insights (`fields rule_id, outcome, reason_code | filter outcome =
/// "rejected"`), and counted as a metric ([`log_line`]).
fn log(handled: &Handled) {
    use std::io::Write;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    match log_line(handled, now_ms) {
        Ok(line) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
        Err(e) => tracing::error!("cannot log a finding: {e}"),
    }
}

/// The version of the ledger record (docs/ledger.md) every log line is: a field is only
/// ever added within a version; one renamed, removed or changed in meaning makes the next.
pub const LEDGER_VERSION: u32 = 1;

/// `ms` since the Unix epoch as RFC 3339 in UTC with milliseconds: `2026-12-06T17:00:00.123Z`.
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let day = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rest = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        crate::exceptions::date_of(day),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        ms % 1000
    )
}

/// The metric namespace, name and dimensions of every log line.
pub const METRIC_NAMESPACE: &str = "remedy";
pub const METRIC_NAME: &str = "findings";
/// The `rule` dimension of a message that named no (readable) rule.
pub const NO_RULE: &str = "none";

/// The log line of one handled message: its fields, and a CloudWatch Embedded Metric Format
/// block (`_aws`) with the top-level `rule`, `outcome` and `findings: 1` it refers to, so
/// that CloudWatch counts every outcome by rule (`remedy` / `findings`, dimensions `rule`
/// and `outcome`) and by outcome alone (what the stack's failures alarm watches).
/// `timestamp_ms`: milliseconds since the epoch.
pub fn log_line(handled: &Handled, timestamp_ms: u64) -> Result<Value, serde_json::Error> {
    let mut line = serde_json::to_value(handled)?;
    if let Value::Object(fields) = &mut line {
        fields.insert(
            "rule".into(),
            json!(handled.rule_id.as_deref().unwrap_or(NO_RULE)),
        );
        fields.insert(METRIC_NAME.into(), json!(1));
        fields.insert("ledger".into(), json!(LEDGER_VERSION));
        fields.insert("at".into(), json!(rfc3339_ms(timestamp_ms)));
        fields.insert("remedy_version".into(), json!(env!("CARGO_PKG_VERSION")));
        fields.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [["rule", "outcome"], ["outcome"]],
                    "Metrics": [{"Name": METRIC_NAME, "Unit": "Count"}],
                }],
            }),
        );
    }
    Ok(line)
}

/// An exception of `list` in force on `today` that matches `finding` in `place`'s account:
/// the first that names no tags, else the first whose tags the resource carries (read with
/// `aws`; without, such an exception never matches). `Err`: the tags could not be read, so whether an exception applies is
/// unknown and nothing may be changed yet. `remedy remediate` asks the same.
pub async fn matching_exception<'e>(
    list: &'e [crate::exceptions::Exception],
    aws: Option<&aws_config::SdkConfig>,
    finding: &Finding,
    place: &Place,
    today: i64,
) -> Result<Option<&'e crate::exceptions::Exception>, String> {
    let candidates = crate::exceptions::candidates(list, finding, &place.account_id, today);
    // Those without tags first: they need no call, and a tag lookup that fails must not
    // hide one that applies anyway.
    if let Some(exception) = candidates.iter().find(|e| e.tags.is_empty()) {
        return Ok(Some(exception));
    }
    for exception in candidates {
        if let Some(aws) = aws {
            if Box::pin(has_tags(aws, finding, exception, &place.region)).await? {
                return Ok(Some(exception));
            }
        }
    }
    Ok(None)
}

/// Whether the finding's resource carries every tag `exception` names: the Resource
/// Groups Tagging API in the finding's region (`tag:GetResources`, its `TagFilters`
/// — resources satisfying all of them — built from those tags) lists an ARN that names
/// the resource ([`crate::exceptions::arn_names`]) with those tags. A resource the API
/// does not list (not tagged so, or of a type it does not cover) does not match.
async fn has_tags(
    aws: &aws_config::SdkConfig,
    finding: &Finding,
    exception: &crate::exceptions::Exception,
    home_region: &str,
) -> Result<bool, String> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let Some(resource) = finding.resource.as_deref() else {
        return Ok(false);
    };
    let services = crate::exceptions::services_of(&finding.rule_id);
    let region = crate::runtime::acting_region(finding.region.as_deref(), home_region)?;
    let client = aws_sdk_resourcegroupstagging::Client::from_conf(
        aws_sdk_resourcegroupstagging::config::Builder::from(aws)
            .region(aws_config::Region::new(region))
            .build(),
    );
    let mut request = client.get_resources().resources_per_page(100);
    for (key, value) in &exception.tags {
        request = request.tag_filters(TagFilter::builder().key(key).values(value).build());
    }
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("GetResources: {}", describe_sdk_error(&e)))?;
        for mapping in page.resource_tag_mapping_list() {
            let named = mapping
                .resource_arn()
                .is_some_and(|arn| crate::exceptions::arn_names(arn, resource, &services));
            if named {
                let tags = mapping
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                return Ok(crate::exceptions::tags_match(&exception.tags, &tags));
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_functions_changes_reach_the_ledger_only_well_formed() {
        let body = serde_json::json!({"outcome": "remediated", "changes": [
            {"api": "s3:PutBucketAcl", "target": "site-logs"},
            {"api": "s3:PutBucketAcl"},
            {"api": "s3:PutBucketAcl", "target": "two\nlines"},
            {"api": "", "target": "x"},
            {"api": "ec2:RevokeSecurityGroupIngress", "target": "x".repeat(4096)},
            "PutBucketAcl",
        ]});
        let report = super::report_from_payload("AutoRemediateS3-001", &body);
        assert_eq!(
            report.changes,
            vec![crate::rule::Change {
                api: "s3:PutBucketAcl".into(),
                target: "site-logs".into()
            }]
        );
    }

    #[test]
    fn ledger_times_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(super::rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::rfc3339_ms(1_796_576_217_628),
            "2026-12-06T16:56:57.628Z"
        );
    }

    use super::*;

    fn orchestrator(regions: &[&str]) -> Orchestrator {
        let aws = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        Orchestrator::new(
            &aws,
            RuntimeConfig {
                regions: regions.iter().map(|r| r.to_string()).collect(),
                ..RuntimeConfig::default()
            },
            Place {
                account_id: "111111111111".into(),
                region: "us-east-1".into(),
            },
        )
    }

    /// What the orchestrator decides before any call: these messages never reach AWS.
    #[tokio::test]
    async fn a_finding_outside_the_regions_is_rejected_and_logged_with_its_code() {
        let o = orchestrator(&["us-east-1", "eu-west-1"]);
        let handled = o
            .handle_message(r#"{"ruleId":"S3-001","status":"FAILURE","region":"ap-south-1"}"#)
            .await;
        assert_eq!(handled.outcome, Outcome::Rejected);
        assert_eq!(handled.reason_code, Some(ReasonCode::OutsideRegions));
        assert_eq!(
            handled.reason.as_deref(),
            Some(
                "finding is for region ap-south-1, outside this stack's regions \
                 (us-east-1, eu-west-1)"
            )
        );
        assert!(!handled.retry, "a rejection is not retried");

        let line = log_line(&handled, 1_700_000_000_000).unwrap();
        assert_eq!(line["outcome"], "rejected");
        assert_eq!(line["reason_code"], "outside_regions");
        assert_eq!(line["rule"], "S3-001");
        assert_eq!(line["rule_id"], "S3-001");
        assert_eq!(line["findings"], 1);
        assert_eq!(
            line["_aws"],
            json!({
                "Timestamp": 1_700_000_000_000_u64,
                "CloudWatchMetrics": [{
                    "Namespace": "remedy",
                    "Dimensions": [["rule", "outcome"], ["outcome"]],
                    "Metrics": [{"Name": "findings", "Unit": "Count"}]
                }]
            })
        );
    }

    #[tokio::test]
    async fn every_decision_line_is_counted() {
        let o = orchestrator(&[]);
        for (message, outcome, code) in [
            ("not json", "rejected", json!("rejected:malformed")),
            (
                "Test Message from Cloud Conformity",
                "skipped",
                json!("test_message"),
            ),
            (
                r#"{"ruleId":"S3-001","status":"SUCCESS","region":"us-east-1"}"#,
                "skipped",
                json!("not_failure"),
            ),
            (
                r#"{"ruleId":"S3-001","status":"FAILURE","region":"eu-west-1"}"#,
                "rejected",
                json!("outside_regions"),
            ),
            (
                r#"{"ruleId":"SNS-001","status":"FAILURE","resource":"arn:aws:sns:us-east-1:2:t"}"#,
                "rejected",
                json!("rejected:foreign_account"),
            ),
        ] {
            let handled = o.handle_message(message).await;
            let line = log_line(&handled, 1).unwrap();
            assert_eq!(line["outcome"], outcome, "{message}");
            assert_eq!(line["reason_code"], code, "{message}");
            assert_eq!(line["findings"], 1, "{message}");
            assert!(
                line["rule"].is_string(),
                "{message}: a dimension is never null"
            );
            assert_eq!(line["_aws"]["Timestamp"], 1, "{message}");
            assert_eq!(
                line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                json!([["rule", "outcome"], ["outcome"]])
            );
        }
        let unreadable = o.handle_message("not json").await;
        assert_eq!(log_line(&unreadable, 1).unwrap()["rule"], NO_RULE);
    }

    #[test]
    fn the_grace_table_from_the_environment() {
        assert_eq!(Grace::parse_table(None), Ok(Default::default()));
        assert_eq!(Grace::parse_table(Some(" ")), Ok(Default::default()));
        let table = Grace::parse_table(Some(r#"{"EC2-002":600,"S3-001":0}"#)).unwrap();
        let grace = Grace {
            seconds: table,
            ..Grace::default()
        };
        assert_eq!(grace.of("EC2-002"), Some(600));
        assert_eq!(grace.of("S3-001"), None, "0: none");
        assert_eq!(grace.of("S3-012"), None);
        for bad in [r#"{"EC2-002":901}"#, r#"{"EC2-002":"10m"}"#, "[600]"] {
            let err = Grace::parse_table(Some(bad)).unwrap_err();
            assert!(err.starts_with("REMEDY_GRACE"), "{bad}: {err}");
        }
    }

    /// A graced rule whose queue is unknown is not acted on early: the finding fails and is
    /// retried (SQS redelivers it), never remediated without its grace period.
    #[tokio::test]
    async fn a_grace_period_without_a_queue_is_a_retry_not_an_early_fix() {
        let mut o = orchestrator(&[]);
        o.config.rules.insert("S3-001".into(), Mode::Remediate);
        o.grace.seconds.insert("S3-001".into(), 60);
        let handled = o
            .handle_message(r#"{"ruleId":"S3-001","status":"FAILURE","region":"us-east-1"}"#)
            .await;
        assert_eq!(handled.outcome, Outcome::Failed, "{handled:?}");
        assert!(handled.retry);
        assert!(
            handled
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("REMEDY_FINDINGS_QUEUE")),
            "{handled:?}"
        );
    }

    #[test]
    fn a_held_back_finding_says_when_its_hour_turns() {
        // 2026-12-06T16:59:59Z, 17:00:00Z, and 23:30:00Z (the turn is midnight).
        assert_eq!(until_the_hour_turns(1_796_576_399), "17:00 UTC");
        assert_eq!(until_the_hour_turns(1_796_576_400), "18:00 UTC");
        assert_eq!(until_the_hour_turns(1_796_599_800), "00:00 UTC");
    }

    #[test]
    fn topic_arns_name_the_regions_partition() {
        for (region, arn) in [
            ("us-east-1", "arn:aws:sns:us-east-1:1:t"),
            ("cn-north-1", "arn:aws-cn:sns:cn-north-1:1:t"),
            ("us-gov-west-1", "arn:aws-us-gov:sns:us-gov-west-1:1:t"),
        ] {
            let place = Place {
                account_id: "1".into(),
                region: region.into(),
            };
            assert_eq!(topic_arn(&place, "t"), arn);
        }
    }
}
