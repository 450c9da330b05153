//! Removing remedy's stack from an account (`remedy remove`): per target, the stack is
//! looked for in the account's home region (DescribeStacks by name: [`Remover::find`]), then
//! deleted by its id — never a later stack of the same name — with the execution role when
//! there is one, waiting until it is gone ([`Remover::remove`]). A stack another operation
//! holds is waited for first. A stack that will not delete is `failed`, naming the resources
//! that failed and why.
//!
//! Must not: choose the targets, ask the operator, or cap the deletions (the command's).

use crate::aws::cfn;
use crate::aws::identity::{cloudformation_client, Identity};
use crate::core::outcome::{Outcome, Seen, TargetResult};
use crate::core::stack::{StackStatus, HASH_TAG, STAGE_TAG};
use crate::core::targets::Target;
use crate::engine::scheduler::Scheduled;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What removing needs; shared by every target.
pub struct Remover {
    pub identity: Arc<Identity>,
    pub stack_name: String,
    /// `role.execution_role`: the CloudFormation service role deletes with it.
    pub execution_role: Option<String>,
    /// How long one target may take, waits included.
    pub target_timeout: Duration,
}

/// What [`Remover::find`] saw in one target.
#[derive(Debug, Clone)]
pub struct Found {
    pub account_id: String,
    pub region: String,
    /// The stack's id (ARN), when there is a stack.
    pub stack_id: Option<String>,
    pub status: Option<String>,
    /// The stack's `remedy:stage` tag.
    pub stage: Option<String>,
    /// Whether the stack carries remedy's tags (`remedy:hash` or `remedy:stage`): only such
    /// a stack is ever pruned.
    pub remedys: bool,
    /// Why it could not be looked at.
    pub error: Option<String>,
}

impl Found {
    /// No stack seen (yet) in `target`, and why not when it could not be looked at.
    fn nothing(target: &Target, error: Option<String>) -> Found {
        Found {
            account_id: target.account.id.clone(),
            region: target.region.clone(),
            stack_id: None,
            status: None,
            stage: None,
            remedys: false,
            error,
        }
    }
}

impl Remover {
    async fn client(&self, target: &Target) -> aws_sdk_cloudformation::Client {
        let config = self
            .identity
            .account_config(&target.account.id, &target.region)
            .await;
        cloudformation_client(&config, &target.region, self.identity.retries())
    }

    /// The stack in the target's home region, if any (a deleted one is none).
    pub async fn find(self: Arc<Self>, target: Target) -> Found {
        let client = self.client(&target).await;
        let mut found = Found::nothing(&target, None);
        match cfn::describe(&client, &self.stack_name).await {
            Ok(Some(stack)) if stack.status != StackStatus::DeleteComplete => {
                found.stack_id = stack.stack_id.clone();
                found.status = Some(stack.status.to_string());
                found.stage = stack.tag(STAGE_TAG).map(str::to_owned);
                found.remedys = found.stage.is_some() || stack.tag(HASH_TAG).is_some();
            }
            Ok(_) => {}
            Err(e) => found.error = Some(e.to_string()),
        }
        found
    }

    /// Deletes the stack `found` saw, by its id: `removed`, `absent` (nothing was found), or
    /// `failed` with the resources that would not delete.
    pub async fn remove(self: Arc<Self>, target: Target, found: Option<Found>) -> TargetResult {
        let Some(found) = found else {
            let why = "not looked for: nothing was deleted".to_owned();
            return TargetResult::new(&target, Outcome::Skipped, None, Some(why));
        };
        if let Some(error) = found.error {
            return TargetResult::new(&target, Outcome::Failed, None, Some(error));
        }
        let Some(id) = found.stack_id else {
            return TargetResult::new(&target, Outcome::Absent, None, None);
        };
        let deadline = Instant::now() + self.target_timeout;
        let client = self.client(&target).await;
        // Another operation's stack is waited for: DeleteStack refuses a stack in progress.
        if found
            .status
            .as_deref()
            .is_some_and(|s| s.ends_with("_IN_PROGRESS"))
        {
            match cfn::wait_while_busy(&client, &id, deadline).await {
                Ok(None) => return TargetResult::new(&target, Outcome::Removed, None, None),
                Ok(Some(state)) if state.status == StackStatus::DeleteComplete => {
                    return TargetResult::new(
                        &target,
                        Outcome::Removed,
                        Some(state.status.to_string()),
                        None,
                    )
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    return TargetResult::new(
                        &target,
                        Outcome::Failed,
                        found.status,
                        Some(e.to_string()),
                    )
                }
            }
        }
        let role_arn = self.execution_role.as_ref().map(|name| {
            let partition = remedy_functions::partition::partition(&target.region);
            format!("arn:{partition}:iam::{}:role/{name}", target.account.id)
        });
        let retrying = found.status.as_deref() == Some("DELETE_FAILED");
        match cfn::delete_stack(&client, &id, role_arn.as_deref(), retrying, deadline).await {
            Ok(()) => TargetResult::new(
                &target,
                Outcome::Removed,
                Some(StackStatus::DeleteComplete.to_string()),
                None,
            ),
            Err(e) => {
                let status = match cfn::describe(&client, &id).await {
                    Ok(Some(state)) => Some(state.status),
                    _ => None,
                };
                // The resources that would not delete, from this deletion's events (by the
                // stack's name: its events name it so), when the deletion itself failed.
                let failed = if status == Some(StackStatus::DeleteFailed) {
                    cfn::failed_resources(&client, &self.stack_name).await
                } else {
                    Vec::new()
                };
                let reason = if failed.is_empty() {
                    e.to_string()
                } else {
                    format!("{e}; would not delete: {}", failed.join("; "))
                };
                let status = status.map(|s| s.to_string());
                TargetResult::new(&target, Outcome::Failed, status, Some(reason))
            }
        }
    }
}

impl Scheduled for Found {
    fn counts_as_failure(&self) -> bool {
        self.error.is_some()
    }

    fn seen(&self) -> Seen<'_> {
        let (outcome, word) = match (&self.error, &self.stack_id) {
            (Some(_), _) => (Outcome::Failed, "unreadable"),
            (None, Some(_)) => (Outcome::Created, "found"),
            (None, None) => (Outcome::Unchanged, "absent"),
        };
        Seen {
            account_id: &self.account_id,
            region: &self.region,
            outcome,
            word,
            stack_status: self.status.as_deref(),
            reason: self.error.as_deref(),
            stack_time: None,
        }
    }

    fn unfinished(target: &Target, _outcome: Outcome, reason: String) -> Self {
        Found::nothing(target, Some(reason))
    }
}
