//! The direct engine: deploys, previews and inspects the member stack of one account and
//! region from here, with the account's assumed role (AWS edge).
//!
//! Deploy, per target: DescribeStacks; a settled stack with the same `remedy:hash` is
//! `unchanged` after that one call (plus the AssumeRole, once per account). Otherwise
//! [`decide`] says what to do, and the engine does it, deciding again after every wait:
//! a missing stack is made with CreateStack (one call; nothing to review); a change set
//! updates the stack (the one `remedy plan --keep` left for this hash, when there is one)
//! or creates it over a plan's `REVIEW_IN_PROGRESS` stack; a stack another run is
//! deploying is waited for (until the first Ctrl-C, when this run has not touched it yet:
//! then the target is skipped at once); a
//! `ROLLBACK_COMPLETE` stack is deleted first; `UPDATE_ROLLBACK_FAILED` is continued with
//! `--fix-rollback`. Everything is bounded by the target timeout. Failures carry the API
//! error or the failed resources' reasons.
//!
//! Must not: decide which targets exist or in what order they run ([`crate::engine::scheduler`]), or
//! what a stack state means ([`crate::core::decide`]).

use crate::aws::cfn::{self, CfnError, StackRequest};
use crate::aws::iam;
use crate::aws::identity::{cloudformation_client, iam_client, Identity};
use crate::core::decide::{decide, freshness, role_quota_refusal, roles_added, update_kind};
use crate::core::decide::{Action, Freshness, PlanAction};
use crate::core::outcome::{InspectedTarget, PlannedTarget, Stray};
use crate::core::outcome::{Outcome, Seen, TargetResult};
use crate::core::stack::{findings_topic_arn, StackState, StackStatus, TemplateSource};
use crate::core::stack::{HASH_TAG, STAGE_TAG, VERSION_TAG};
use crate::core::stop::Stop;
use crate::core::targets::Target;
use crate::core::util::humanize;
use crate::engine::deployment::{Deployment, EngineOptions};
use crate::engine::scheduler::Scheduled;
use aws_sdk_cloudformation::types::ChangeSetType;
use aws_sdk_cloudformation::Client;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything the direct engine needs for a stage; shared by every target. Built by
/// [`DirectEngine::new`].
pub struct DirectEngine {
    identity: Arc<Identity>,
    stack_name: String,
    /// The template per region (inline body, or the URL of the uploaded one).
    templates: BTreeMap<String, TemplateSource>,
    /// Parameters, tags (`remedy:hash` among them) and hash, per account.
    deployment: Deployment,
    /// This run's change set name (`remedy-<run id>`).
    change_set_name: String,
    /// Continue the rollback of `UPDATE_ROLLBACK_FAILED` stacks.
    fix_rollback: bool,
    /// How long one target may take, waits included.
    target_timeout: Duration,
    /// `role.execution_role`: the CloudFormation service role's name in each account.
    execution_role: Option<String>,
    /// The IAM roles one stack holds (the role quota check).
    roles: usize,
    /// Ctrl-C: a role that is not ready yet, or a stack another operation holds, is not
    /// waited for after it.
    stop: Stop,
}

/// Why a target failed: the stack status if known, and the reason.
type Failure = (Option<StackStatus>, String);

/// How a deploy that did not fail ended.
enum Deployed {
    /// With this outcome and the stack's status, and how long the stack operation took
    /// (from the call that started it to the look that saw it settle), if one ran.
    Done(Outcome, Option<StackStatus>, Option<Duration>),
    /// Stopped at the first Ctrl-C while only waiting for another operation's stack, before
    /// remedy did anything to it: skipped, with the status it was waiting on and why.
    StoodDown(Option<StackStatus>, String),
}

/// What applying a change did.
enum Applied {
    /// The stack settled in this state (complete, or failed and rolled back).
    Settled(StackState),
    /// CloudFormation found nothing to change.
    NothingToDo,
    /// Not run: the roles its change set adds would pass the account's role quota.
    Refused(String),
}

impl Scheduled for PlannedTarget {
    fn counts_as_failure(&self) -> bool {
        self.action == PlanAction::Blocked
    }

    fn seen(&self) -> Seen<'_> {
        Seen {
            account_id: &self.account_id,
            region: &self.region,
            outcome: match self.action {
                PlanAction::Create => Outcome::Created,
                PlanAction::Update | PlanAction::Replace | PlanAction::Recreate => Outcome::Updated,
                PlanAction::Unchanged => Outcome::Unchanged,
                PlanAction::Blocked => Outcome::Failed,
                PlanAction::Skipped => Outcome::Skipped,
            },
            word: self.action.as_str(),
            stack_status: self.stack_status.as_deref(),
            reason: self.reason.as_deref(),
            stack_time: None,
        }
    }

    fn unfinished(target: &Target, outcome: Outcome, reason: String) -> Self {
        let action = match outcome {
            Outcome::Skipped => PlanAction::Skipped,
            _ => PlanAction::Blocked,
        };
        PlannedTarget::without_changes(target, action, Some(reason))
    }
}

impl Scheduled for InspectedTarget {
    fn counts_as_failure(&self) -> bool {
        self.freshness.is_none()
    }

    fn seen(&self) -> Seen<'_> {
        let (outcome, word) = match self.freshness {
            Some(Freshness::Missing) => (Outcome::Created, "missing"),
            Some(Freshness::Outdated) => (Outcome::Updated, "outdated"),
            Some(Freshness::Current) => (Outcome::Unchanged, "current"),
            None => (Outcome::Failed, "unreadable"),
        };
        Seen {
            account_id: &self.account_id,
            region: &self.region,
            outcome,
            word,
            stack_status: self.stack_status.as_deref(),
            reason: self.reason.as_deref(),
            stack_time: None,
        }
    }

    fn unfinished(target: &Target, _outcome: Outcome, reason: String) -> Self {
        InspectedTarget::unread(target, Some(reason))
    }
}

/// How many times one target may go round "act, then decide again" (wait, delete,
/// continue a rollback) before the engine gives up on it.
const MAX_ROUNDS: usize = 4;

impl DirectEngine {
    /// The engine that deploys `deployment` with the accounts' roles of `identity`; its
    /// change sets are named after `run_id`. `execution_role` is the CloudFormation service
    /// role's name in each account, if any.
    pub fn new(
        identity: Arc<Identity>,
        deployment: Deployment,
        run_id: &str,
        options: EngineOptions,
        execution_role: Option<String>,
        stop: Stop,
    ) -> DirectEngine {
        DirectEngine {
            identity,
            stack_name: deployment.stack_name.clone(),
            templates: deployment.templates.clone(),
            roles: deployment.roles,
            deployment,
            change_set_name: format!("remedy-{run_id}"),
            fix_rollback: options.fix_rollback,
            target_timeout: options.target_timeout,
            execution_role,
            stop,
        }
    }

    /// Why the account's IAM role quota cannot take `added` more roles, if it cannot (no
    /// call when nothing is added). IAM roles are account-wide: the stack's roles count
    /// against the quota once per account, whatever the region. A quota that cannot be read
    /// (an account bootstrap from before the check lacks `iam:GetAccountSummary`) is said in
    /// the log and not held against the deploy: CloudFormation still enforces the quota.
    async fn role_quota_refusal(&self, target: &Target, added: usize) -> Option<String> {
        if added == 0 {
            return None;
        }
        let config = self
            .identity
            .account_config(&target.account.id, &target.region)
            .await;
        match iam::role_room(&iam_client(&config, self.identity.retries())).await {
            Ok(room) => role_quota_refusal(room, added),
            Err(reason) => {
                tracing::warn!(
                    "{} {}: the IAM role quota could not be read ({reason}); going on without remedy's check (CloudFormation still enforces the quota; an account bootstrap from an earlier remedy lacks iam:GetAccountSummary: update it)",
                    target.account.id,
                    target.region
                );
                None
            }
        }
    }

    /// The change set `remedy plan --keep` leaves for this deployment, for `deploy` to run.
    pub(crate) fn kept_change_set_name(&self, target: &Target) -> String {
        format!("remedy-plan-{}", self.hash(target))
    }

    /// The hash `target`'s stack is deployed with.
    fn hash(&self, target: &Target) -> &str {
        self.deployment.part(&target.account.id).hash
    }

    fn client(&self, config: &aws_config::SdkConfig, region: &str) -> Client {
        cloudformation_client(config, region, self.identity.retries())
    }

    async fn target_client(&self, target: &Target) -> Client {
        let config = self
            .identity
            .account_config(&target.account.id, &target.region)
            .await;
        self.client(&config, &target.region)
    }

    fn template(&self, region: &str) -> Result<&TemplateSource, String> {
        self.templates
            .get(region)
            .ok_or_else(|| format!("no template was published for {region}"))
    }

    fn request<'a>(
        &'a self,
        target: &Target,
        template: &'a TemplateSource,
        name: &'a str,
        role_arn: Option<&'a str>,
    ) -> StackRequest<'a> {
        StackRequest {
            stack_name: &self.stack_name,
            template,
            parameters: self.deployment.part(&target.account.id).parameters,
            tags: self.deployment.part(&target.account.id).tags,
            change_set_name: name,
            role_arn,
        }
    }

    /// The CloudFormation service role of the target's account, when one is configured, in
    /// the partition of the target's region.
    /// Whether the stack carries this stage's `remedy:stage` tag (a stack without one, from
    /// before the tag, counts as this stage's).
    fn is_this_stages(&self, stack: Option<&StackState>) -> bool {
        let ours = self
            .deployment
            .tags
            .iter()
            .find(|(k, _)| k == STAGE_TAG)
            .map(|(_, v)| v.as_str());
        match (stack.and_then(|s| s.tag(STAGE_TAG)), ours) {
            (Some(theirs), Some(ours)) => theirs == ours,
            _ => true,
        }
    }

    fn execution_role_arn(&self, target: &Target) -> Option<String> {
        let partition = remedy_functions::partition::partition(&target.region);
        let account = &target.account.id;
        self.execution_role
            .as_ref()
            .map(|name| format!("arn:{partition}:iam::{account}:role/{name}"))
    }

    // -- deploy ---------------------------------------------------------------------

    pub async fn deploy(self: Arc<Self>, target: Target) -> TargetResult {
        match self.try_deploy(&target).await {
            Ok(Deployed::Done(outcome, status, took)) => {
                let status = status.map(|s| s.to_string());
                TargetResult {
                    stack_time: took,
                    ..TargetResult::new(&target, outcome, status, None)
                }
            }
            Ok(Deployed::StoodDown(status, reason)) => {
                let status = status.map(|s| s.to_string());
                TargetResult::new(&target, Outcome::Skipped, status, Some(reason))
            }
            Err((status, reason)) => {
                let status = status.map(|s| s.to_string());
                TargetResult::new(&target, Outcome::Failed, status, Some(reason))
            }
        }
    }

    async fn try_deploy(&self, target: &Target) -> Result<Deployed, Failure> {
        let deadline = Instant::now() + self.target_timeout;
        let client = self.target_client(target).await;
        let template = self.template(&target.region).map_err(|r| (None, r))?;
        let role_arn = self.execution_role_arn(target);

        let mut continued = false;
        // Whether this run has asked anything of the stack yet (a wait after that is no
        // longer only someone else's operation).
        let mut acted = false;
        let mut last_error: Option<String> = None;
        let mut existing = cfn::describe(&client, &self.stack_name)
            .await
            .map_err(|e| (None, e.to_string()))?;
        for _ in 0..MAX_ROUNDS {
            let status = existing.as_ref().map(|s| s.status.clone());
            let kind = match decide(existing.as_ref(), self.hash(target), self.fix_rollback) {
                // An account moved here from another stage with the same deployment: its
                // stack is this stage's now (tags only, in place).
                Action::Unchanged if !self.is_this_stages(existing.as_ref()) => {
                    ChangeSetType::Update
                }
                Action::Unchanged => return Ok(Deployed::Done(Outcome::Unchanged, status, None)),
                Action::Create => ChangeSetType::Create,
                Action::Update => ChangeSetType::Update,
                Action::Wait => {
                    // Another run (or an operator) holds the stack: wait, then decide again.
                    tracing::warn!(
                        "{} {}: the stack is {}, held by another operation; waiting for it",
                        target.account.id,
                        target.region,
                        status.as_ref().map(StackStatus::as_str).unwrap_or_default()
                    );
                    let wait = cfn::wait_while_busy(&client, &self.stack_name, deadline);
                    existing = if acted {
                        wait.await
                    } else {
                        // Nothing of ours runs on it: the first Ctrl-C ends the wait at once
                        // (the grace is for operations this run started).
                        tokio::select! {
                            waited = wait => waited,
                            () = self.stop.first() => {
                                let held = status.as_ref().map(StackStatus::as_str).unwrap_or("busy");
                                let reason = format!(
                                    "stopped waiting at Ctrl-C: the stack is {held}, held by another operation; nothing was deployed (the next run waits for it)"
                                );
                                return Ok(Deployed::StoodDown(status, reason));
                            }
                        }
                    }
                    .map_err(|e| (status, self.timed_out(e)))?;
                    continue;
                }
                Action::Recreate => {
                    // By id: never a stack another run has created since under the same name.
                    let id = existing
                        .as_ref()
                        .and_then(|s| s.stack_id.clone())
                        .unwrap_or_else(|| self.stack_name.clone());
                    acted = true;
                    cfn::delete_stack(&client, &id, role_arn.as_deref(), false, deadline)
                        .await
                        .map_err(|r| {
                            (
                                status.clone(),
                                format!("deleting the ROLLBACK_COMPLETE stack: {r}"),
                            )
                        })?;
                    // Decide on what is there now (nothing, or another run's new stack).
                    existing = cfn::describe(&client, &self.stack_name)
                        .await
                        .map_err(|e| (None, e.to_string()))?;
                    continue;
                }
                Action::ContinueRollback if !continued => {
                    continued = true;
                    acted = true;
                    let settled = cfn::continue_update_rollback(
                        &client,
                        &self.stack_name,
                        role_arn.as_deref(),
                        deadline,
                    )
                    .await
                    .map_err(|e| (status, self.timed_out(e)))?;
                    existing = Some(settled);
                    continue;
                }
                Action::ContinueRollback => {
                    let failed = cfn::failed_resources(&client, &self.stack_name).await;
                    let reason = "the rollback failed again after ContinueUpdateRollback".into();
                    return Err((status, with_failed_resources(reason, &failed)));
                }
                Action::Refuse(reason) => {
                    let failed = match &status {
                        Some(s) if s.is_failed() => {
                            cfn::failed_resources(&client, &self.stack_name).await
                        }
                        _ => Vec::new(),
                    };
                    return Err((status, with_failed_resources(reason, &failed)));
                }
            };
            let outcome = match kind {
                ChangeSetType::Update => Outcome::Updated,
                _ => Outcome::Created,
            };
            acted = true;
            // Nothing there: no kept plan can exist (a plan's change set would have made the
            // stack, REVIEW_IN_PROGRESS), and nothing to review. Every role is new.
            if existing.is_none() {
                if let Some(refusal) = self.role_quota_refusal(target, self.roles).await {
                    return Err((status, refusal));
                }
            }
            // The stack time: from the operation's first CloudFormation call (an update's
            // change set, and the role quota check of what it adds, included) to the look
            // that saw it settle.
            let began = Instant::now();
            let applied = if existing.is_none() {
                let request =
                    self.request(target, template, &self.change_set_name, role_arn.as_deref());
                cfn::create_stack(&client, &request, deadline)
                    .await
                    .map(Applied::Settled)
            } else {
                self.apply(
                    &client,
                    target,
                    template,
                    kind,
                    role_arn.as_deref(),
                    deadline,
                )
                .await
            };
            let state = match applied {
                Ok(Applied::Settled(state)) => state,
                Ok(Applied::NothingToDo) => {
                    return Ok(Deployed::Done(Outcome::Unchanged, status, None))
                }
                Ok(Applied::Refused(refusal)) => return Err((status, refusal)),
                Err(error) => {
                    // Another run may have started on the stack between our look and our
                    // change set (CloudFormation then refuses ours): wait for it and decide
                    // again. Otherwise report the stack's status if we can.
                    let now = cfn::describe(&client, &self.stack_name)
                        .await
                        .ok()
                        .flatten();
                    let busy = now.as_ref().is_some_and(|s| s.status.is_busy());
                    if (busy || now != existing) && Instant::now() < deadline {
                        tracing::warn!(
                            "{} {}: {error}; the stack changed meanwhile, deciding again",
                            target.account.id,
                            target.region
                        );
                        last_error = Some(error.to_string());
                        existing = now;
                        continue;
                    }
                    return Err((now.map(|s| s.status), self.timed_out(error)));
                }
            };
            return match state.status {
                status if status.is_success() => {
                    Ok(Deployed::Done(outcome, Some(status), Some(began.elapsed())))
                }
                status => {
                    let cause = cfn::first_failure(&client, &self.stack_name)
                        .await
                        .or(state.status_reason.clone())
                        .unwrap_or_else(|| "no reason given".into());
                    let reason = format!("stack ended {status}: {cause}");
                    Err((Some(status), reason))
                }
            };
        }
        Err((
            existing.map(|s| s.status),
            format!(
                "the stack kept changing state while being deployed{}",
                last_error
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            ),
        ))
    }

    /// Runs the change set `plan --keep` computed for exactly this deployment (its role
    /// quota was checked when it was made), else one of our own, unless the roles it adds
    /// would pass the account's quota; an empty one (only the tags differ) becomes a
    /// tags-only UpdateStack.
    async fn apply(
        &self,
        client: &Client,
        target: &Target,
        template: &TemplateSource,
        kind: ChangeSetType,
        role_arn: Option<&str>,
        deadline: Instant,
    ) -> Result<Applied, CfnError> {
        let kept =
            cfn::available_change_set(client, &self.stack_name, &self.kept_change_set_name(target))
                .await;
        if let Some(id) = kept {
            return cfn::execute_change_set(client, &self.stack_name, &id, deadline)
                .await
                .map(Applied::Settled);
        }
        let request = self.request(target, template, &self.change_set_name, role_arn);
        let computed = cfn::create_change_set(client, &request, kind, deadline).await?;
        if !computed.empty {
            let added = roles_added(&computed.changes);
            if let Some(refusal) = self.role_quota_refusal(target, added).await {
                let _ = cfn::delete_change_set(client, &self.stack_name, &computed.id).await;
                return Ok(Applied::Refused(refusal));
            }
            return cfn::execute_change_set(client, &self.stack_name, &computed.id, deadline)
                .await
                .map(Applied::Settled);
        }
        let _ = cfn::delete_change_set(client, &self.stack_name, &computed.id).await;
        match cfn::update_tags(client, &request, deadline).await? {
            Some(state) => Ok(Applied::Settled(state)),
            None => Ok(Applied::NothingToDo),
        }
    }

    /// Names the target timeout in a wait that ran out of it.
    fn timed_out(&self, error: CfnError) -> String {
        if error.is_timeout() {
            format!("{error} (target timeout {})", humanize(self.target_timeout))
        } else {
            error.to_string()
        }
    }

    // -- plan -----------------------------------------------------------------------

    /// Computes the change set this deployment would run on the target, and deletes it
    /// again unless `keep` (then `deploy` executes it). A stack the plan had to create (in
    /// `REVIEW_IN_PROGRESS`) is deleted with it.
    pub(crate) async fn preview(self: Arc<Self>, target: Target, keep: bool) -> PlannedTarget {
        let client = self.target_client(&target).await;
        let mut planned = PlannedTarget::without_changes(&target, PlanAction::Blocked, None);
        let existing = match cfn::describe(&client, &self.stack_name).await {
            Ok(existing) => existing,
            Err(error) => {
                planned.reason = Some(error.to_string());
                return planned;
            }
        };
        planned.stack_status = existing.as_ref().map(|s| s.status.to_string());
        planned.deployed_hash = existing
            .as_ref()
            .and_then(|s| s.tag(HASH_TAG))
            .map(str::to_owned);
        let kind = match decide(existing.as_ref(), self.hash(&target), false) {
            Action::Unchanged => {
                planned.action = PlanAction::Unchanged;
                return planned;
            }
            Action::Recreate => {
                planned.action = PlanAction::Recreate;
                planned.reason = Some(
                    "the stack's first create failed (ROLLBACK_COMPLETE): deploy deletes it and creates it again".into(),
                );
                return planned;
            }
            Action::Wait => {
                planned.reason = Some(format!(
                    "an operation is running on the stack ({}); plan again when it settles",
                    planned.stack_status.as_deref().unwrap_or("?")
                ));
                return planned;
            }
            Action::Refuse(reason) => {
                planned.reason = Some(reason);
                return planned;
            }
            Action::ContinueRollback => {
                planned.reason = Some("the stack is UPDATE_ROLLBACK_FAILED".into());
                return planned;
            }
            Action::Create => ChangeSetType::Create,
            Action::Update => ChangeSetType::Update,
        };
        let template = match self.template(&target.region) {
            Ok(t) => t,
            Err(reason) => {
                planned.reason = Some(reason);
                return planned;
            }
        };
        let name = if keep {
            // A change set an earlier plan kept for this same hash is replaced, whatever its
            // state (a failed one would keep the name taken).
            let name = self.kept_change_set_name(&target);
            let _ = cfn::delete_change_set(&client, &self.stack_name, &name).await;
            name
        } else {
            format!("{}-plan", self.change_set_name)
        };
        let role_arn = self.execution_role_arn(&target);
        let request = self.request(&target, template, &name, role_arn.as_deref());
        let deadline = Instant::now() + self.target_timeout;
        let computed = cfn::create_change_set(&client, &request, kind.clone(), deadline).await;
        // The roles the change set adds (new ones, and replacements: made before the old
        // ones go) against the account's quota; a plan that would be refused is not kept.
        let refusal = match &computed {
            Ok(c) => {
                self.role_quota_refusal(&target, roles_added(&c.changes))
                    .await
            }
            Err(_) => None,
        };
        let keep_it = keep && refusal.is_none() && computed.as_ref().is_ok_and(|c| !c.empty);
        let created_stack = match &computed {
            Ok(c) => c.stack_id.clone(),
            Err(_) => None,
        };
        match computed {
            Ok(computed) => {
                planned.action = match kind {
                    ChangeSetType::Create => PlanAction::Create,
                    _ => update_kind(&computed.changes),
                };
                if computed.empty {
                    planned.reason = Some(
                        "CloudFormation reports no resource changes: only the stack's tags change"
                            .into(),
                    );
                }
                if let Some(refusal) = refusal {
                    planned.action = PlanAction::Blocked;
                    planned.reason = Some(refusal);
                }
                planned.changes = computed.changes;
                if !keep_it {
                    if let Err(reason) =
                        cfn::delete_change_set(&client, &self.stack_name, &computed.id).await
                    {
                        tracing::warn!("{} {}: {reason}", target.account.id, target.region);
                    }
                }
            }
            Err(error) => planned.reason = Some(error.to_string()),
        }
        let stack_was_missing = existing
            .as_ref()
            .is_none_or(|s| s.status == StackStatus::DeleteComplete);
        if !keep_it && stack_was_missing && kind == ChangeSetType::Create {
            // The CREATE change set made a REVIEW_IN_PROGRESS stack: leave nothing behind.
            if let Some(stack_id) = created_stack {
                self.delete_review_stack(&client, &stack_id, &target).await;
            } else if let Ok(Some(state)) = cfn::describe(&client, &self.stack_name).await {
                // The change set failed; the stack it made may still be there, in review.
                if let Some(stack_id) = state
                    .stack_id
                    .filter(|_| state.status == StackStatus::ReviewInProgress)
                {
                    self.delete_review_stack(&client, &stack_id, &target).await;
                }
            }
        }
        planned
    }

    /// Deletes a stack the plan's CREATE change set made, by id, if it is still only that:
    /// in review, with no change set left. Another run may have taken it over meanwhile
    /// (its own change set, or executed), and then it is theirs.
    async fn delete_review_stack(&self, client: &Client, stack_id: &str, target: &Target) {
        let still_ours = match cfn::describe(client, stack_id).await {
            Ok(Some(state)) if state.status == StackStatus::ReviewInProgress => {
                matches!(cfn::change_set_names(client, stack_id).await, Ok(names) if names.is_empty())
            }
            _ => false,
        };
        if !still_ours {
            return;
        }
        if let Err(reason) = client.delete_stack().stack_name(stack_id).send().await {
            tracing::warn!(
                "{} {}: DeleteStack after plan: {}",
                target.account.id,
                target.region,
                crate::aws::reason("DeleteStack", &reason)
            );
        }
    }

    // -- status ---------------------------------------------------------------------

    /// The target's stack as deployed, compared with this deployment; with `drift`, also
    /// CloudFormation's drift detection.
    pub(crate) async fn inspect(self: Arc<Self>, target: Target, drift: bool) -> InspectedTarget {
        let client = self.target_client(&target).await;
        let mut row = InspectedTarget::unread(&target, None);
        match cfn::describe(&client, &self.stack_name).await {
            Ok(existing) => {
                row.freshness = Some(freshness(existing.as_ref(), self.hash(&target)));
                if let Some(StackState {
                    status,
                    tags,
                    stack_id,
                    ..
                }) = &existing
                {
                    row.stack_status = Some(status.to_string());
                    row.version = tags.get(VERSION_TAG).cloned();
                    row.hash = tags.get(HASH_TAG).cloned();
                    row.findings_topic = stack_id.as_deref().and_then(findings_topic_arn);
                }
                if drift && row.freshness != Some(Freshness::Missing) {
                    let deadline = Instant::now() + self.target_timeout;
                    row.drift = Some(
                        match cfn::detect_drift(&client, &self.stack_name, deadline).await {
                            Ok(status) => status,
                            Err(reason) => format!("unknown ({reason})"),
                        },
                    );
                }
            }
            Err(error) => row.reason = Some(error.to_string()),
        }
        row
    }

    /// The template the target's stack runs now (for the diff in remedy's terms).
    pub(crate) async fn deployed_template(
        self: Arc<Self>,
        target: Target,
    ) -> Result<String, String> {
        let client = self.target_client(&target).await;
        cfn::original_template(&client, &self.stack_name)
            .await
            .map_err(|e| e.to_string())
    }

    /// remedy stacks of the target's account in `regions` (the covered regions that are
    /// not its home): each a stray. One DescribeStacks per region; a region that cannot be
    /// read is a stray with the reason as its status (it must not hide one).
    pub(crate) async fn strays(
        self: Arc<Self>,
        target: Target,
        regions: Vec<String>,
    ) -> Vec<Stray> {
        let mut found = Vec::new();
        for region in regions {
            let config = self
                .identity
                .account_config(&target.account.id, &region)
                .await;
            let client = self.client(&config, &region);
            let stray = |stack_status: Option<String>, stage: Option<String>| Stray {
                account_id: target.account.id.clone(),
                region: region.clone(),
                stack_status,
                stage,
            };
            match cfn::describe(&client, &self.stack_name).await {
                Ok(None) => {}
                Ok(Some(stack)) if stack.status == StackStatus::DeleteComplete => {}
                Ok(Some(stack)) => found.push(stray(
                    Some(stack.status.to_string()),
                    stack.tag(STAGE_TAG).map(str::to_owned),
                )),
                Err(error) => found.push(stray(Some(format!("unreadable: {error}")), None)),
            }
        }
        found
    }

    // -- onboarding -----------------------------------------------------------------

    /// Waits up to `wait` for the target's role to become usable: a vended account's role
    /// can take minutes to appear. AccessDenied and InvalidClientTokenId (and server errors)
    /// are retried with backoff; any other answer ends the wait.
    pub(crate) async fn wait_for_role(
        &self,
        target: &Target,
        wait: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + wait;
        let mut delay = cfn::Backoff::new();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let client = self.target_client(target).await;
            match cfn::describe(&client, &self.stack_name).await {
                Ok(_) => return Ok(()),
                Err(reason @ CfnError::RoleNotReady { .. })
                    if Instant::now() < deadline && !self.stop.interrupted() =>
                {
                    tracing::warn!(
                        attempts,
                        "waiting for {} in {}: {reason}",
                        self.identity.role_arn(&target.account.id),
                        target.region
                    );
                    delay.sleep().await;
                }
                Err(reason @ CfnError::RoleNotReady { .. }) => {
                    return Err(format!(
                        "the role {} was still not usable after {} ({attempts} attempts): {reason}",
                        self.identity.role_arn(&target.account.id),
                        humanize(wait)
                    ))
                }
                Err(error) => return Err(error.to_string()),
            }
        }
    }
}

fn with_failed_resources(reason: String, failed: &[String]) -> String {
    if failed.is_empty() {
        reason
    } else {
        format!("{reason}; failed resources: {}", failed.join("; "))
    }
}
