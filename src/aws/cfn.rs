//! CloudFormation calls (AWS edge): describe a stack, apply a change set, wait, and find
//! why a stack failed. Used by the direct engine and for the artifact stack.
//!
//! Must not: decide what to do with a stack — that is [`crate::core::decide::decide`]. Beyond
//! polling and the SDK's own retries, these functions only translate AWS answers into
//! plain values and one-line reasons.

use crate::aws::describe_sdk_error;
use crate::core::stack::ResourceChange;
use crate::core::stack::{StackState, TemplateSource};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, Tag};
use aws_sdk_cloudformation::Client;
use std::time::{Duration, Instant};

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
pub async fn describe(client: &Client, stack_name: &str) -> Result<Option<StackState>, String> {
    match client.describe_stacks().stack_name(stack_name).send().await {
        Ok(out) => Ok(out.stacks().first().map(|s| StackState {
            stack_id: s.stack_id().map(str::to_owned),
            status: s
                .stack_status()
                .map(|st| st.as_str().to_owned())
                .unwrap_or_default(),
            status_reason: s.stack_status_reason().map(str::to_owned),
            tags: s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect(),
        })),
        Err(e) => {
            let reason = describe_sdk_error(&e);
            if reason.contains("does not exist") {
                Ok(None)
            } else {
                Err(format!("DescribeStacks: {reason}"))
            }
        }
    }
}

/// Brings the stack's tags (and so `remedy:hash`) up to date when its resources already
/// match: UpdateStack with the previous template and parameters. `Ok(None)` when
/// CloudFormation has nothing to update.
pub async fn update_tags(
    client: &Client,
    request: &StackRequest<'_>,
    deadline: Instant,
) -> Result<Option<StackState>, String> {
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
        Err(e) => {
            let reason = describe_sdk_error(&e);
            if is_no_change_reason(&reason) {
                Ok(None)
            } else {
                Err(format!("UpdateStack: {reason}"))
            }
        }
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
) -> Result<StackState, String> {
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
        .map_err(|e| format!("CreateStack: {}", describe_sdk_error(&e)))?;
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
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{operation}\0{change_set}").as_bytes());
    format!(
        "remedy-{operation}-{}",
        crate::core::template::hex(&digest[..16])
    )
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
) -> Result<ComputedChangeSet, String> {
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
        .map_err(|e| format!("CreateChangeSet: {}", describe_sdk_error(&e)))?;
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
            .map_err(|e| format!("DescribeChangeSet: {}", describe_sdk_error(&e)))?;
        let status = described.status().map(|s| s.as_str()).unwrap_or_default();
        match status {
            "CREATE_COMPLETE" => {
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
                        .map_err(|e| format!("DescribeChangeSet: {}", describe_sdk_error(&e)))?;
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
            "FAILED" => {
                let reason = described.status_reason().map(str::to_owned);
                if reason.as_deref().is_some_and(is_no_change_reason) {
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
                return Err(format!(
                    "change set failed: {}",
                    reason.as_deref().unwrap_or("no reason given")
                ));
            }
            // Executing another change set of the stack deletes this one (another run).
            "DELETE_PENDING" | "DELETE_IN_PROGRESS" | "DELETE_COMPLETE" | "DELETE_FAILED" => {
                return Err(format!(
                    "change set {status}: another change set of the stack was executed meanwhile"
                ));
            }
            _ if Instant::now() >= deadline => {
                return Err(format!("change set still {status} when the wait timed out"));
            }
            _ => delay.sleep().await,
        }
    }
}

/// CloudFormation's words for a change set with nothing in it.
fn is_no_change_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
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
) -> Result<StackState, String> {
    client
        .execute_change_set()
        .stack_name(stack_name)
        .change_set_name(change_set_id)
        .client_request_token(token_for("execute", change_set_id))
        .send()
        .await
        .map_err(|e| format!("ExecuteChangeSet: {}", describe_sdk_error(&e)))?;
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
    let ready = described.status().map(|s| s.as_str()) == Some("CREATE_COMPLETE")
        && described
            .execution_status()
            .is_none_or(|e| e.as_str() == "AVAILABLE");
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
) -> Result<(), String> {
    client
        .delete_change_set()
        .stack_name(stack_name)
        .change_set_name(change_set_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("DeleteChangeSet: {}", describe_sdk_error(&e)))
}

/// Deletes the stack with this id (an ARN, so never a later stack of the same name) and
/// waits until it is gone.
pub async fn delete_stack(
    client: &Client,
    stack_id: &str,
    role_arn: Option<&str>,
    deadline: Instant,
) -> Result<(), String> {
    client
        .delete_stack()
        .stack_name(stack_id)
        .set_role_arn(role_arn.map(str::to_owned))
        .send()
        .await
        .map_err(|e| format!("DeleteStack: {}", describe_sdk_error(&e)))?;
    let mut delay = Backoff::new();
    loop {
        match describe(client, stack_id).await? {
            None => return Ok(()),
            Some(state) if state.status == "DELETE_COMPLETE" => return Ok(()),
            Some(state) if state.status == "DELETE_FAILED" => {
                return Err(format!(
                    "stack ended DELETE_FAILED: {}",
                    state.status_reason.as_deref().unwrap_or("no reason given")
                ))
            }
            Some(state) if Instant::now() >= deadline => {
                return Err(format!(
                    "stack still {} when the wait timed out",
                    state.status
                ))
            }
            Some(_) => delay.sleep().await,
        }
    }
}

/// The names of the change sets a stack (by id) has.
pub async fn change_set_names(client: &Client, stack_id: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_change_sets()
            .stack_name(stack_id)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| format!("ListChangeSets: {}", describe_sdk_error(&e)))?;
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
) -> Result<StackState, String> {
    client
        .continue_update_rollback()
        .stack_name(stack_name)
        .set_role_arn(role_arn.map(str::to_owned))
        .send()
        .await
        .map_err(|e| format!("ContinueUpdateRollback: {}", describe_sdk_error(&e)))?;
    let started = Instant::now();
    let mut delay = Backoff::new();
    loop {
        let state = wait_until_settled(client, stack_name, deadline).await?;
        let unmoved = state.status == "UPDATE_ROLLBACK_FAILED";
        if !unmoved || started.elapsed() >= Duration::from_secs(60) || Instant::now() >= deadline {
            return Ok(state);
        }
        delay.sleep().await;
    }
}

/// Polls DescribeStacks until the stack leaves every `*_IN_PROGRESS` state or `deadline`
/// passes. The first poll is immediate. A stack that disappears is an error: this waits
/// for our own operation.
pub async fn wait_until_settled(
    client: &Client,
    stack_name: &str,
    deadline: Instant,
) -> Result<StackState, String> {
    wait_while_busy(client, stack_name, deadline)
        .await?
        .ok_or_else(|| format!("stack {stack_name} disappeared while being deployed"))
}

/// Polls DescribeStacks until no operation runs on the stack: its settled state, or `None`
/// when it is gone (another run deleted it). For waiting on someone else's operation.
pub async fn wait_while_busy(
    client: &Client,
    stack_name: &str,
    deadline: Instant,
) -> Result<Option<StackState>, String> {
    let mut delay = Backoff::new();
    loop {
        let Some(state) = describe(client, stack_name).await? else {
            return Ok(None);
        };
        if !crate::core::decide::is_busy(&state.status) {
            return Ok(Some(state));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "stack still {} when the wait timed out",
                state.status
            ));
        }
        delay.sleep().await;
    }
}

/// Runs drift detection on the stack and waits for it: `IN_SYNC`, or `DRIFTED (n resources)`.
pub async fn detect_drift(
    client: &Client,
    stack_name: &str,
    deadline: Instant,
) -> Result<String, String> {
    let started = client
        .detect_stack_drift()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(|e| format!("DetectStackDrift: {}", describe_sdk_error(&e)))?;
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
            .map_err(|e| {
                format!(
                    "DescribeStackDriftDetectionStatus: {}",
                    describe_sdk_error(&e)
                )
            })?;
        let detection = status
            .detection_status()
            .map(|s| s.as_str())
            .unwrap_or_default();
        match detection {
            "DETECTION_IN_PROGRESS" if Instant::now() >= deadline => {
                return Err("drift detection still running when the wait timed out".into())
            }
            "DETECTION_IN_PROGRESS" => delay.sleep().await,
            "DETECTION_FAILED" => {
                return Err(status
                    .detection_status_reason()
                    .unwrap_or("drift detection failed")
                    .to_owned())
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
    pub status: String,
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
        events.extend(page.stack_events().iter().map(|e| {
            Event {
                logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: e.resource_type().unwrap_or_default().to_owned(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_owned),
            }
        }));
        if events.iter().any(|e| is_operation_start(e, stack_name)) {
            break;
        }
    }
    Some(events)
}

fn is_operation_start(e: &Event, stack_name: &str) -> bool {
    e.logical_id == stack_name
        && matches!(
            e.status.as_str(),
            "CREATE_IN_PROGRESS"
                | "UPDATE_IN_PROGRESS"
                | "DELETE_IN_PROGRESS"
                | "IMPORT_IN_PROGRESS"
        )
}

/// Over events newest first (as DescribeStackEvents returns them): the oldest resource
/// failure since the latest operation on the stack itself began. Later failures are usually
/// "Resource creation cancelled" knock-ons of that one.
pub fn root_cause(events_newest_first: &[Event], stack_name: &str) -> Option<String> {
    events_newest_first
        .iter()
        .take_while(|e| !is_operation_start(e, stack_name))
        .filter(|e| e.logical_id != stack_name && e.status.ends_with("_FAILED"))
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
        .filter(|e| e.logical_id != stack_name && e.status.ends_with("_FAILED"))
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

/// Exponential backoff with jitter for polling: 1 s, 2 s, 4 s … capped at 15 s.
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub fn new() -> Backoff {
        Backoff {
            next: Duration::from_millis(1000),
        }
    }

    pub async fn sleep(&mut self) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let jitter = u64::from(nanos % 250);
        tokio::time::sleep(self.next + Duration::from_millis(jitter)).await;
        self.next = (self.next * 2).min(Duration::from_secs(15));
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

    fn event(logical_id: &str, status: &str, reason: &str) -> Event {
        Event {
            logical_id: logical_id.into(),
            resource_type: if logical_id == "remedy" {
                "AWS::CloudFormation::Stack"
            } else {
                "AWS::SNS::Topic"
            }
            .into(),
            status: status.into(),
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
