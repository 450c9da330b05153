//! CloudFormation calls (AWS edge): describe a stack, apply a change set, wait, and find
//! why a stack failed. Used by the direct engine and for the artifact stack.
//!
//! Must not: decide what to do with a stack — that is [`crate::core::decide::decide`]. Beyond
//! polling and the SDK's own retries, these functions only translate AWS answers into
//! plain values and one-line reasons.

use crate::core::pace;
use crate::core::stack::{ResourceChange, StackState, StackStatus, TemplateSource};
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, ExecutionStatus, Parameter,
    StackDriftDetectionStatus, Tag,
};
use aws_sdk_cloudformation::Client;
use std::time::{Duration, Instant};

/// What went wrong at the CloudFormation edge, as a value: the engines match on the variant,
/// never on the words of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CfnError {
    /// The stack (or change set) the call named does not exist.
    NotFound { call: &'static str },
    /// CloudFormation has nothing to update.
    NoChanges,
    /// A wait ran out of its deadline; `still` says what was still running.
    TimedOut { still: String },
    /// The operation ended in failure; the reason says how.
    Failed(String),
    /// The account's role cannot be used yet (a vended account's role still being made,
    /// its credentials still propagating, or a server error): worth waiting for.
    RoleNotReady { call: &'static str, reason: String },
    /// Any other refusal or lost answer: the call, and what AWS said.
    Call { call: &'static str, reason: String },
}

impl CfnError {
    /// The error of one call, classified.
    pub fn of<E>(call: &'static str, err: &SdkError<E>) -> CfnError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        let service = err.as_service_error();
        match kind_of(
            service.and_then(|s| s.code()),
            service.and_then(|s| s.message()),
        ) {
            Kind::NotFound => CfnError::NotFound { call },
            Kind::NoChanges => CfnError::NoChanges,
            Kind::Other => {
                let reason = crate::aws::reason(call, err);
                if crate::aws::identity::is_role_not_ready(&reason) {
                    CfnError::RoleNotReady { call, reason }
                } else {
                    CfnError::Call { call, reason }
                }
            }
        }
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, CfnError::TimedOut { .. })
    }
}

/// The longest line a `CfnError` reads as: the call, and its reason.
const MAX_LINE: usize = crate::aws::errors::MAX_REASON + 100;

/// One line, whatever CloudFormation's words (a stack event's reason may hold newlines).
impl std::fmt::Display for CfnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            CfnError::NotFound { call } => format!("{call}: the stack does not exist"),
            CfnError::NoChanges => "no updates are to be performed".to_owned(),
            CfnError::TimedOut { still } => format!("{still} when the wait timed out"),
            CfnError::Failed(reason) => reason.clone(),
            CfnError::RoleNotReady { call, reason } | CfnError::Call { call, reason } => {
                format!("{call}: {reason}")
            }
        };
        f.write_str(&crate::aws::errors::line_of(&text, MAX_LINE))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NotFound,
    NoChanges,
    Other,
}

/// What an error answer means. CloudFormation answers a missing stack and an update with
/// nothing to do with the same `ValidationError` code: only the message tells them apart,
/// so this is the one place that reads a message.
fn kind_of(code: Option<&str>, message: Option<&str>) -> Kind {
    let message = message.unwrap_or_default();
    match code {
        Some("ChangeSetNotFound" | "ChangeSetNotFoundException" | "StackNotFoundException") => {
            Kind::NotFound
        }
        Some("ValidationError") if message.contains("does not exist") => Kind::NotFound,
        Some("ValidationError") if says_no_changes(message) => Kind::NoChanges,
        _ => Kind::Other,
    }
}

/// CloudFormation's words for a change set (or an update) with nothing in it.
fn says_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// One stack deployment's inputs.
#[derive(Debug, Clone)]
pub struct StackRequest<'a> {
    pub stack_name: &'a str,
    pub template: &'a TemplateSource,
    pub parameters: &'a [(String, String)],
    pub tags: &'a [(String, String)],
    pub change_set_name: &'a str,
    /// The CloudFormation service role the stack's resources are made with, if any.
    pub role_arn: Option<&'a str>,
}

/// The stack, or `None` when it does not exist.
pub async fn describe(client: &Client, stack_name: &str) -> Result<Option<StackState>, CfnError> {
    match client.describe_stacks().stack_name(stack_name).send().await {
        Ok(out) => Ok(out.stacks().first().map(|s| StackState {
            stack_id: s.stack_id().map(str::to_owned),
            status: StackStatus::parse(s.stack_status().map(|st| st.as_str()).unwrap_or_default()),
            status_reason: s.stack_status_reason().map(str::to_owned),
            tags: s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect(),
        })),
        Err(e) => match CfnError::of("DescribeStacks", &e) {
            CfnError::NotFound { .. } => Ok(None),
            other => Err(other),
        },
    }
}

/// The template the stack was deployed with, as it was given (`TemplateStage=Original`):
/// what `plan` and the deploy prompt read remedy's rules back from.
pub async fn original_template(client: &Client, stack_name: &str) -> Result<String, CfnError> {
    let out = client
        .get_template()
        .stack_name(stack_name)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
        .send()
        .await
        .map_err(|e| CfnError::of("GetTemplate", &e))?;
    out.template_body
        .ok_or_else(|| CfnError::Failed("GetTemplate returned no template body".into()))
}

/// Brings the stack's tags (and so `remedy:hash`) up to date when its resources already
/// match: UpdateStack with the previous template and parameters. `Ok(None)` when
/// CloudFormation has nothing to update.
pub async fn update_tags(
    client: &Client,
    request: &StackRequest<'_>,
    deadline: Instant,
) -> Result<Option<StackState>, CfnError> {
    let updated = client
        .update_stack()
        .stack_name(request.stack_name)
        .use_previous_template(true)
        .set_role_arn(request.role_arn.map(str::to_owned))
        .capabilities(Capability::CapabilityIam)
        .set_parameters(Some(
            request
                .parameters
                .iter()
                .map(|(k, _)| {
                    Parameter::builder()
                        .parameter_key(k)
                        .use_previous_value(true)
                        .build()
                })
                .collect(),
        ))
        .set_tags(Some(tags(request.tags)))
        .send()
        .await;
    match updated {
        Ok(_) => wait_until_settled(client, request.stack_name, deadline)
            .await
            .map(Some),
        Err(e) => match CfnError::of("UpdateStack", &e) {
            CfnError::NoChanges => Ok(None),
            other => Err(other),
        },
    }
}

/// Creates a stack that does not exist yet with CreateStack and waits for it to settle:
/// one call where a change set takes three (create, describe, execute), and nothing to
/// review on a stack that has no resources. The token makes the SDK's retries of a
/// CreateStack whose answer was lost the same request.
pub async fn create_stack(
    client: &Client,
    request: &StackRequest<'_>,
    deadline: Instant,
) -> Result<StackState, CfnError> {
    let mut create = client
        .create_stack()
        .stack_name(request.stack_name)
        .client_request_token(token_for("create", request.change_set_name))
        .set_role_arn(request.role_arn.map(str::to_owned))
        .capabilities(Capability::CapabilityIam)
        .set_parameters(Some(parameters(request.parameters)))
        .set_tags(Some(tags(request.tags)));
    create = match request.template {
        TemplateSource::Body(body) => create.template_body(body),
        TemplateSource::Url(url) => create.template_url(url),
    };
    create
        .send()
        .await
        .map_err(|e| CfnError::of("CreateStack", &e))?;
    wait_until_settled(client, request.stack_name, deadline).await
}

/// Stack parameters as CloudFormation takes them.
pub fn parameters(parameters: &[(String, String)]) -> Vec<Parameter> {
    parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

/// Stack tags as CloudFormation takes them.
pub fn tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// A ClientRequestToken for one operation on one change set: the same on the SDK's
/// retries of that call, different for anything else. `[a-zA-Z0-9-]`, at most 128.
pub fn token_for(operation: &str, change_set: &str) -> String {
    let hash = crate::core::util::short_hash(&[operation.as_bytes(), b"\0", change_set.as_bytes()]);
    format!("remedy-{operation}-{hash}")
}

/// A change set CloudFormation has finished computing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedChangeSet {
    pub id: String,
    /// The stack it belongs to (for a CREATE change set: the stack it made).
    pub stack_id: Option<String>,
    pub changes: Vec<ResourceChange>,
    /// CloudFormation found nothing to change (the change set is FAILED for that reason).
    pub empty: bool,
    pub status_reason: Option<String>,
}

/// Creates a change set of `kind` and waits until it is computed, with its resource changes.
pub async fn create_change_set(
    client: &Client,
    request: &StackRequest<'_>,
    kind: ChangeSetType,
    deadline: Instant,
) -> Result<ComputedChangeSet, CfnError> {
    let mut create = client
        .create_change_set()
        .stack_name(request.stack_name)
        .change_set_name(request.change_set_name)
        .change_set_type(kind)
        // Idempotent retries: a create the SDK sends again after a lost answer is the same.
        .client_token(request.change_set_name)
        .set_role_arn(request.role_arn.map(str::to_owned))
        .capabilities(Capability::CapabilityIam)
        .set_parameters(Some(parameters(request.parameters)))
        .set_tags(Some(tags(request.tags)));
    create = match request.template {
        TemplateSource::Body(body) => create.template_body(body),
        TemplateSource::Url(url) => create.template_url(url),
    };
    let created = create
        .send()
        .await
        .map_err(|e| CfnError::of("CreateChangeSet", &e))?;
    let id = created.id().unwrap_or(request.change_set_name).to_owned();
    let stack_id = created.stack_id().map(str::to_owned);

    let mut delay = Backoff::new();
    loop {
        let described = client
            .describe_change_set()
            .stack_name(request.stack_name)
            .change_set_name(&id)
            .send()
            .await
            .map_err(|e| CfnError::of("DescribeChangeSet", &e))?;
        let status = described.status().cloned();
        let word = status.as_ref().map(|s| s.as_str()).unwrap_or("UNKNOWN");
        match status {
            Some(ChangeSetStatus::CreateComplete) => {
                let mut changes = resource_changes(described.changes());
                let mut token = described.next_token().map(str::to_owned);
                while let Some(next) = token {
                    let page = client
                        .describe_change_set()
                        .stack_name(request.stack_name)
                        .change_set_name(&id)
                        .next_token(next)
                        .send()
                        .await
                        .map_err(|e| CfnError::of("DescribeChangeSet", &e))?;
                    changes.extend(resource_changes(page.changes()));
                    token = page.next_token().map(str::to_owned);
                }
                return Ok(ComputedChangeSet {
                    id,
                    stack_id,
                    changes,
                    empty: false,
                    status_reason: None,
                });
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = described.status_reason().map(str::to_owned);
                if reason.as_deref().is_some_and(says_no_changes) {
                    return Ok(ComputedChangeSet {
                        id,
                        stack_id,
                        changes: Vec::new(),
                        empty: true,
                        status_reason: reason,
                    });
                }
                // A failed change set keeps its name taken: remove it (best effort).
                let _ = delete_change_set(client, request.stack_name, &id).await;
                return Err(CfnError::Failed(format!(
                    "change set failed: {}",
                    reason.as_deref().unwrap_or("no reason given")
                )));
            }
            // Executing another change set of the stack deletes this one (another run).
            Some(
                ChangeSetStatus::DeletePending
                | ChangeSetStatus::DeleteInProgress
                | ChangeSetStatus::DeleteComplete
                | ChangeSetStatus::DeleteFailed,
            ) => {
                return Err(CfnError::Failed(format!(
                    "change set {word}: another change set of the stack was executed meanwhile"
                )));
            }
            _ if Instant::now() >= deadline => {
                return Err(CfnError::TimedOut {
                    still: format!("change set still {word}"),
                });
            }
            _ => delay.sleep().await,
        }
    }
}

fn resource_changes(changes: &[aws_sdk_cloudformation::types::Change]) -> Vec<ResourceChange> {
    changes
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|rc| ResourceChange {
            action: rc
                .action()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: rc.resource_type().unwrap_or_default().to_owned(),
            replacement: rc.replacement().map(|r| r.as_str().to_owned()),
        })
        .collect()
}

/// Executes a computed change set and waits for the stack to settle.
pub async fn execute_change_set(
    client: &Client,
    stack_name: &str,
    change_set_id: &str,
    deadline: Instant,
) -> Result<StackState, CfnError> {
    client
        .execute_change_set()
        .stack_name(stack_name)
        .change_set_name(change_set_id)
        .client_request_token(token_for("execute", change_set_id))
        .send()
        .await
        .map_err(|e| CfnError::of("ExecuteChangeSet", &e))?;
    wait_until_settled(client, stack_name, deadline).await
}

/// The id of the change set called `name` on the stack if it is ready to execute
/// (computed and not yet executed), else `None` (missing, failed, executed, or unreadable).
pub async fn available_change_set(client: &Client, stack_name: &str, name: &str) -> Option<String> {
    let described = client
        .describe_change_set()
        .stack_name(stack_name)
        .change_set_name(name)
        .send()
        .await
        .ok()?;
    let ready = described.status() == Some(&ChangeSetStatus::CreateComplete)
        && described
            .execution_status()
            .is_none_or(|e| *e == ExecutionStatus::Available);
    if ready {
        described.change_set_id().map(str::to_owned)
    } else {
        None
    }
}

pub async fn delete_change_set(
    client: &Client,
    stack_name: &str,
    change_set_id: &str,
) -> Result<(), CfnError> {
    client
        .delete_change_set()
        .stack_name(stack_name)
        .change_set_name(change_set_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CfnError::of("DeleteChangeSet", &e))
}

/// Deletes the stack with this id (an ARN, so never a later stack of the same name) and
/// waits until it is gone. `retrying`: the stack was DELETE_FAILED before this call.
pub async fn delete_stack(
    client: &Client,
    stack_id: &str,
    role_arn: Option<&str>,
    retrying: bool,
    deadline: Instant,
) -> Result<(), CfnError> {
    client
        .delete_stack()
        .stack_name(stack_id)
        .set_role_arn(role_arn.map(str::to_owned))
        .send()
        .await
        .map_err(|e| CfnError::of("DeleteStack", &e))?;
    let mut delay = Backoff::new();
    // A stack that was DELETE_FAILED may still read so just after DeleteStack is asked
    // again: then its failure counts once this deletion was seen running, or after a minute.
    let asked = Instant::now();
    let mut running = false;
    loop {
        match describe(client, stack_id).await? {
            None => return Ok(()),
            Some(state) if state.status == StackStatus::DeleteComplete => return Ok(()),
            Some(state) if state.status == StackStatus::DeleteInProgress => {
                running = true;
                delay.sleep().await;
            }
            Some(state)
                if state.status == StackStatus::DeleteFailed
                    && retrying
                    && !running
                    && asked.elapsed() < Duration::from_secs(60)
                    && Instant::now() < deadline =>
            {
                delay.sleep().await;
            }
            Some(state) if state.status == StackStatus::DeleteFailed => {
                return Err(CfnError::Failed(format!(
                    "stack ended DELETE_FAILED: {}",
                    state.status_reason.as_deref().unwrap_or("no reason given")
                )))
            }
            Some(state) if Instant::now() >= deadline => {
                return Err(CfnError::TimedOut {
                    still: format!("stack still {}", state.status),
                })
            }
            Some(_) => delay.sleep().await,
        }
    }
}

/// The names of the change sets a stack (by id) has.
pub async fn change_set_names(client: &Client, stack_id: &str) -> Result<Vec<String>, CfnError> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_change_sets()
            .stack_name(stack_id)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| CfnError::of("ListChangeSets", &e))?;
        names.extend(
            page.summaries()
                .iter()
                .filter_map(|c| c.change_set_name().map(str::to_owned)),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(names);
        }
    }
}

/// ContinueUpdateRollback on an `UPDATE_ROLLBACK_FAILED` stack, then waits for it to settle.
/// A first look that still shows `UPDATE_ROLLBACK_FAILED` may predate the request, so that
/// status is only believed after a minute of looking.
pub async fn continue_update_rollback(
    client: &Client,
    stack_name: &str,
    role_arn: Option<&str>,
    deadline: Instant,
) -> Result<StackState, CfnError> {
    client
        .continue_update_rollback()
        .stack_name(stack_name)
        .set_role_arn(role_arn.map(str::to_owned))
        .send()
        .await
        .map_err(|e| CfnError::of("ContinueUpdateRollback", &e))?;
    let started = Instant::now();
    let mut delay = Backoff::new();
    loop {
        let state = wait_until_settled(client, stack_name, deadline).await?;
        let unmoved = state.status == StackStatus::UpdateRollbackFailed;
        if !unmoved || started.elapsed() >= Duration::from_secs(60) || Instant::now() >= deadline {
            return Ok(state);
        }
        delay.sleep().await;
    }
}

/// Polls DescribeStacks until the stack leaves every `*_IN_PROGRESS` state or `deadline`
/// passes. The first poll is immediate. A stack that disappears is an error: this waits
/// for our own operation, just started (its duration is learned from).
pub async fn wait_until_settled(
    client: &Client,
    stack_name: &str,
    deadline: Instant,
) -> Result<StackState, CfnError> {
    wait_busy(client, stack_name, deadline, true)
        .await?
        .ok_or_else(|| {
            CfnError::Failed(format!(
                "stack {stack_name} disappeared while being deployed"
            ))
        })
}

/// Polls DescribeStacks until no operation runs on the stack: its settled state, or `None`
/// when it is gone (another run deleted it). For waiting on someone else's operation: its
/// start is unknown, so the looks follow the backoff and nothing is learned from it.
pub async fn wait_while_busy(
    client: &Client,
    stack_name: &str,
    deadline: Instant,
) -> Result<Option<StackState>, CfnError> {
    wait_busy(client, stack_name, deadline, false).await
}

/// The looks follow [`pace::Schedule`]: immediate, then a backoff from 2 s, or, for an
/// operation this run has just started (`ours`), once this process has seen enough
/// operations of the same kind on a stack of the same name succeed (before this wait or
/// during it, until the stack's status changes), at the quantiles of their durations; each
/// of ours that succeeds adds its duration to what later waits learn from. No sleep runs
/// past `deadline`.
async fn wait_busy(
    client: &Client,
    stack_name: &str,
    deadline: Instant,
    ours: bool,
) -> Result<Option<StackState>, CfnError> {
    let began = Instant::now();
    // The kind of operation (its first busy status), the last status seen and when.
    let mut kind: Option<String> = None;
    let mut last: Option<(StackStatus, Instant)> = None;
    let mut schedule: Option<pace::Schedule> = None;
    let mut learning = ours;
    // Looks so far.
    let mut looks = 0;
    loop {
        let found = describe(client, stack_name).await?;
        looks += 1;
        let now = Instant::now();
        let Some(state) = found else {
            return Ok(None);
        };
        if !state.status.is_busy() {
            if let (true, Some(kind), Some((_, busy_at))) =
                (ours && state.status.is_success(), &kind, &last)
            {
                // Done between the last look that saw it running and this one.
                let (from, to) = (*busy_at - began, now - began);
                paces().observe(kind, from + (to - from) / 2);
            }
            return Ok(Some(state));
        }
        if Instant::now() >= deadline {
            return Err(CfnError::TimedOut {
                still: format!("stack still {}", state.status),
            });
        }
        let changed = last.as_ref().is_some_and(|(s, _)| *s != state.status);
        // The stack's name with its first busy status: the artifact stack's operations are
        // not the member stacks'.
        let kind = kind.get_or_insert_with(|| format!("{stack_name} {}", state.status));
        // Until the first status change, a wait that began on the backoff takes the learned
        // looks as soon as there are some (a rollout's first wave learns from its first
        // stacks to settle).
        learning &= !changed;
        let schedule = schedule.get_or_insert_with(|| pace::Schedule::new(None, time_scale()));
        if learning {
            if let Some(learned) = paces().learned(kind, time_scale()) {
                schedule.adopt(learned, now - began, looks);
                learning = false;
            }
        }
        let wait = schedule.next(now - began, changed);
        last = Some((state.status, now));
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep((wait + jitter()).min(left)).await;
    }
}

/// What this process has seen its own stack operations take, per kind (`remedy
/// CREATE_IN_PROGRESS` …): the latest [`pace::KEEP`] durations of each.
pub struct Paces {
    seen: std::sync::Mutex<std::collections::HashMap<String, std::collections::VecDeque<Duration>>>,
}

impl Paces {
    fn observe(&self, kind: &str, took: Duration) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let durations = seen.entry(kind.to_owned()).or_default();
        if durations.len() >= pace::KEEP {
            durations.pop_front();
        }
        durations.push_back(took);
    }

    fn learned(&self, kind: &str, scale: f64) -> Option<pace::Learned> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let durations: Vec<Duration> = seen.get(kind)?.iter().copied().collect();
        pace::learned_looks(&durations, scale)
    }
}

/// The process's [`Paces`].
pub fn paces() -> &'static Paces {
    static PACES: std::sync::OnceLock<Paces> = std::sync::OnceLock::new();
    PACES.get_or_init(|| Paces {
        seen: Default::default(),
    })
}

/// The factor on the fixed polling intervals: `REMEDY_TIME_SCALE` (0.01 <= f <= 1), else 1.
/// Only for the latency benchmark, which compresses CloudFormation's time by that factor
/// (BENCHMARKS.md); learned looks follow observed durations and need no scaling.
pub fn time_scale() -> f64 {
    static SCALE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *SCALE.get_or_init(|| {
        std::env::var("REMEDY_TIME_SCALE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|f| (0.01..=1.0).contains(f))
            .unwrap_or(1.0)
    })
}

/// Up to 250 ms (scaled) more on a wait, so that targets started together do not look
/// together.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    Duration::from_millis(u64::from(nanos % 250)).mul_f64(time_scale())
}

/// Runs drift detection on the stack and waits for it: `IN_SYNC`, or `DRIFTED (n resources)`.
pub async fn detect_drift(
    client: &Client,
    stack_name: &str,
    deadline: Instant,
) -> Result<String, CfnError> {
    let started = client
        .detect_stack_drift()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(|e| CfnError::of("DetectStackDrift", &e))?;
    let id = started
        .stack_drift_detection_id()
        .unwrap_or_default()
        .to_owned();
    let mut delay = Backoff::new();
    loop {
        let status = client
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(|e| CfnError::of("DescribeStackDriftDetectionStatus", &e))?;
        match status.detection_status() {
            Some(StackDriftDetectionStatus::DetectionInProgress) if Instant::now() >= deadline => {
                return Err(CfnError::TimedOut {
                    still: "drift detection still running".into(),
                })
            }
            Some(StackDriftDetectionStatus::DetectionInProgress) => delay.sleep().await,
            Some(StackDriftDetectionStatus::DetectionFailed) => {
                return Err(CfnError::Failed(
                    status
                        .detection_status_reason()
                        .unwrap_or("drift detection failed")
                        .to_owned(),
                ))
            }
            _ => {
                let drift = status
                    .stack_drift_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "UNKNOWN".into());
                return Ok(match status.drifted_stack_resource_count() {
                    Some(n) if n > 0 => format!("{drift} ({n} resources)"),
                    _ => drift,
                });
            }
        }
    }
}

/// One stack event, as far as finding a failure needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub logical_id: String,
    pub resource_type: String,
    /// A resource's status; the words it shares with a stack's are what a failure needs.
    pub status: StackStatus,
    pub reason: Option<String>,
}

/// The first resource failure of the stack's latest operation: "Logical (Type): reason".
pub async fn first_failure(client: &Client, stack_name: &str) -> Option<String> {
    root_cause(
        &latest_operation_events(client, stack_name).await?,
        stack_name,
    )
}

/// Every resource that failed in the stack's latest operation (its rollback included), one
/// "Logical (Type): reason" each, oldest first.
pub async fn failed_resources(client: &Client, stack_name: &str) -> Vec<String> {
    latest_operation_events(client, stack_name)
        .await
        .map(|events| failures(&events, stack_name))
        .unwrap_or_default()
}

/// The stack's events, newest first, back to the start of its latest operation.
async fn latest_operation_events(client: &Client, stack_name: &str) -> Option<Vec<Event>> {
    // Pages until the start of the latest operation is in view: a failed create and its
    // rollback over ~190 resources run past the first page of 100 events.
    let mut events: Vec<Event> = Vec::new();
    let mut pages = client
        .describe_stack_events()
        .stack_name(stack_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.ok()?;
        events.extend(page.stack_events().iter().map(|e| Event {
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: StackStatus::parse(e.resource_status().map(|s| s.as_str()).unwrap_or_default()),
            reason: e.resource_status_reason().map(str::to_owned),
        }));
        if events.iter().any(|e| is_operation_start(e, stack_name)) {
            break;
        }
    }
    Some(events)
}

/// The stack's own event that starts an operation (the "User Initiated" one).
fn is_operation_start(e: &Event, stack_name: &str) -> bool {
    e.logical_id == stack_name
        && matches!(
            e.status,
            StackStatus::CreateInProgress
                | StackStatus::UpdateInProgress
                | StackStatus::DeleteInProgress
                | StackStatus::ImportInProgress
        )
}

/// Over events newest first (as DescribeStackEvents returns them): the oldest resource
/// failure since the latest operation on the stack itself began. Later failures are usually
/// "Resource creation cancelled" knock-ons of that one.
pub fn root_cause(events_newest_first: &[Event], stack_name: &str) -> Option<String> {
    events_newest_first
        .iter()
        .take_while(|e| !is_operation_start(e, stack_name))
        .filter(|e| e.logical_id != stack_name && e.status.is_failed())
        .last()
        .map(|e| {
            format!(
                "{} ({}): {}",
                e.logical_id,
                e.resource_type,
                e.reason.as_deref().unwrap_or("no reason given")
            )
        })
}

/// Over events newest first: every resource that failed since the latest operation began,
/// once each (its latest reason), oldest first.
pub fn failures(events_newest_first: &[Event], stack_name: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = events_newest_first
        .iter()
        .take_while(|e| !is_operation_start(e, stack_name))
        .filter(|e| e.logical_id != stack_name && e.status.is_failed())
        .filter(|e| seen.insert(e.logical_id.clone()))
        .map(|e| {
            format!(
                "{} ({}): {}",
                e.logical_id,
                e.resource_type,
                e.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    out.reverse();
    out
}

/// Exponential backoff with jitter for polling what has no learned pace (change sets,
/// drift detection, a deletion's wait, builds): 2 s, 4 s, 8 s … capped at 20 s
/// ([`pace::FIRST`], [`pace::CAP`]).
pub struct Backoff {
    schedule: pace::Schedule,
}

impl Backoff {
    pub fn new() -> Backoff {
        Backoff {
            schedule: pace::Schedule::new(None, time_scale()),
        }
    }

    pub async fn sleep(&mut self) {
        let wait = self.schedule.next(Duration::ZERO, false);
        tokio::time::sleep(wait + jitter()).await;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_reads_as_one_bounded_line() {
        let failed = CfnError::Failed(format!(
            "Resource handler returned message: \"Invalid request\n(Service: Lambda)\" {}",
            "x".repeat(1000)
        ));
        let text = failed.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.chars().count() <= MAX_LINE, "{}", text.len());
        assert!(
            text.starts_with(
                "Resource handler returned message: \"Invalid request (Service: Lambda)\""
            ),
            "{text}"
        );
    }

    #[test]
    fn error_answers_are_classified_by_code_and_only_then_by_message() {
        let missing = "Stack with id remedy does not exist";
        assert_eq!(
            kind_of(Some("ValidationError"), Some(missing)),
            Kind::NotFound
        );
        assert_eq!(
            kind_of(
                Some("ValidationError"),
                Some("No updates are to be performed.")
            ),
            Kind::NoChanges
        );
        assert_eq!(kind_of(Some("ChangeSetNotFound"), None), Kind::NotFound);
        assert_eq!(
            kind_of(Some("AccessDenied"), Some(missing)),
            Kind::Other,
            "a refusal that quotes the words is still a refusal"
        );
        assert_eq!(kind_of(None, None), Kind::Other);
    }

    fn event(logical_id: &str, status: &str, reason: &str) -> Event {
        Event {
            logical_id: logical_id.into(),
            resource_type: if logical_id == "remedy" {
                "AWS::CloudFormation::Stack"
            } else {
                "AWS::SNS::Topic"
            }
            .into(),
            status: StackStatus::parse(status),
            reason: Some(reason.into()).filter(|r: &String| !r.is_empty()),
        }
    }

    #[test]
    fn the_root_cause_is_the_oldest_failure_of_the_latest_operation() {
        let events = vec![
            event("remedy", "UPDATE_ROLLBACK_COMPLETE", ""),
            event("Queue", "UPDATE_FAILED", "Resource update cancelled"),
            event("Topic", "UPDATE_FAILED", "Topic name already exists"),
            event("Topic", "UPDATE_IN_PROGRESS", ""),
            event("remedy", "UPDATE_IN_PROGRESS", "User Initiated"),
            // An older operation's failure must not be blamed.
            event("Key", "CREATE_FAILED", "old failure"),
            event("remedy", "CREATE_IN_PROGRESS", "User Initiated"),
        ];
        assert_eq!(
            root_cause(&events, "remedy").as_deref(),
            Some("Topic (AWS::SNS::Topic): Topic name already exists")
        );
        assert_eq!(root_cause(&events[..1], "remedy"), None);
        assert_eq!(
            failures(&events, "remedy"),
            [
                "Topic (AWS::SNS::Topic): Topic name already exists",
                "Queue (AWS::SNS::Topic): Resource update cancelled"
            ]
        );
    }
}
