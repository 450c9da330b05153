//! The stacksets engine: hands a stage's fan-out to CloudFormation StackSets. This file is
//! its AWS part; the decisions it acts on (the operation's shape and preferences, whether
//! the StackSet needs an update, each target's outcome from its instance) are plain
//! functions in [`decide`], tested without AWS.
//!
//! Past the point where one process is the limit (thousands of accounts), StackSets runs
//! the fan-out inside AWS. A stage is one service-managed StackSet, `<stack_name>-<stage>`,
//! in the stage's home region of the security account (a
//! StackSets delegated administrator, `stacksets.call_as`), deployed over the stage's OUs:
//!
//! 1. DescribeStackSet and ListStackInstances: what is there (a no-op re-run stops here,
//!    one call plus one per 100 instances for the whole stage);
//! 2. CreateStackSet when it is missing, or UpdateStackSet when its `remedy:hash` differs;
//! 3. CreateStackInstances (in the home region only) when a target account has no instance yet;
//! 4. each operation polled (DescribeStackSetOperation) to its end, then
//!    ListStackInstances once more: every target's result from its own instance.
//!
//! The operations carry the stage's limits as [`preferences`]: `MaxConcurrentCount` from
//! `concurrency`, `FailureToleranceCount` from `failure_tolerance` (one instance per
//! account: the counts are the stage's own). A first Ctrl-C stops the running operation (StopStackSetOperation:
//! StackSets starts no new account, those in flight finish) and the report follows.
//!
//! Must not: decide which targets a stage has ([`crate::core::targets`]); the instances StackSets
//! reports are matched against them.

use crate::aws::cfn::{self, token_for, Backoff};
use crate::aws::reason;
use crate::core::config::CallAs;
use crate::core::outcome::{Outcome, StageRun, TargetResult};
use crate::core::stack::TemplateSource;
use crate::core::stop::Stop;
use crate::core::targets::Target;
use aws_sdk_cloudformation::types::{
    self as cfn_types, AccountFilterType, AutoDeployment, Capability, ConcurrencyMode,
    DeploymentTargets, ManagedExecution, PermissionModels, StackSetOperationPreferences,
    StackSetOperationStatus,
};
use aws_sdk_cloudformation::Client;
use std::time::{Duration, Instant};

mod decide;
pub use decide::*;

/// Everything the stacksets engine needs for one stage.
pub struct StackSetsEngine {
    /// CloudFormation in the security account, in the StackSet's region.
    pub client: Client,
    pub stack_set_name: String,
    pub call_as: CallAs,
    pub template: TemplateSource,
    pub parameters: Vec<(String, String)>,
    /// StackSet tags, `remedy:hash` among them (instances' stacks inherit them).
    pub tags: Vec<(String, String)>,
    pub hash: String,
    pub run_id: String,
    /// How long one wave of accounts may take; an operation gets one per wave.
    pub target_timeout: Duration,
    /// StackSets never deploys here: its targets are reported `skipped`.
    pub management_account: String,
    /// Ctrl-C: the first stops the operation (no new account starts), the second abandons it.
    pub stop: Stop,
}
impl StackSetsEngine {
    fn call_as(&self) -> cfn_types::CallAs {
        match self.call_as {
            CallAs::DelegatedAdmin => cfn_types::CallAs::DelegatedAdmin,
            CallAs::Own => cfn_types::CallAs::SelfValue,
        }
    }

    /// Deploys the stage: see the module docs. Failures of the StackSet itself (it cannot
    /// be read, created or updated) fail every target with that reason.
    pub async fn deploy_stage(
        &self,
        targets: Vec<Target>,
        shape: &StageShape,
        reach: &Reach,
    ) -> StageRun {
        // Service-managed StackSets never deploy to the management account.
        let (targets, management): (Vec<Target>, Vec<Target>) = targets
            .into_iter()
            .partition(|t| t.account.id != self.management_account);
        let skipped = management.iter().map(|t| {
            let reason =
                "StackSets does not deploy to the management account (use engine: direct for it)";
            TargetResult::new(t, Outcome::Skipped, None, Some(reason.into()))
        });
        let mut run = self.deploy_targets(targets, shape, reach).await;
        run.results.extend(skipped);
        run
    }

    async fn deploy_targets(
        &self,
        targets: Vec<Target>,
        shape: &StageShape,
        reach: &Reach,
    ) -> StageRun {
        let ops = self.run(&targets, shape, reach).await;
        let (before, after, ops) = match ops {
            Ok(done) => done,
            Err(reason) => {
                let results = targets
                    .iter()
                    .map(|t| TargetResult::new(t, Outcome::Failed, None, Some(reason.clone())))
                    .collect::<Vec<_>>();
                return StageRun {
                    tolerance_exceeded: results.len() > shape.failure_tolerance,
                    interrupted: self.stop.interrupted(),
                    results,
                };
            }
        };
        let results = outcomes(&targets, &before, &after, &ops);
        let failed = results
            .iter()
            .filter(|r| r.outcome == Outcome::Failed)
            .count();
        StageRun {
            tolerance_exceeded: failed > shape.failure_tolerance,
            interrupted: ops.stopped,
            results,
        }
    }

    /// The StackSet's hash (outer `None`: no StackSet) and its instances: what `plan` and
    /// `status` read, one call plus one per 100 instances for the whole stage.
    pub async fn look(&self) -> Result<(Option<Option<String>>, Instances), String> {
        let set = self.describe().await?;
        let instances = match set {
            Some(_) => self.instances().await?,
            None => Instances::new(),
        };
        Ok((set, instances))
    }

    async fn run(
        &self,
        targets: &[Target],
        shape: &StageShape,
        reach: &Reach,
    ) -> Result<(Instances, Instances, Operations), String> {
        let prefs = preferences(shape);
        let timeout = operation_timeout(shape, self.target_timeout);
        let mut ops = Operations::default();
        let existing = self.describe().await?;
        let before = match &existing {
            Some(_) => self.instances().await?,
            None => Instances::new(),
        };
        let set_hash = existing.as_ref().map(|h| h.as_deref());
        let narrowed = shape.narrowed;
        let mut operated = false;
        match set_action(set_hash, &self.hash, narrowed, targets, &before) {
            SetAction::Create => {
                self.create().await?;
                ops.updated = true;
            }
            SetAction::Update { new_hash } => {
                let scope = update_home_only(&shape.home, &before).then_some(reach);
                let id = self.update(&prefs, scope).await?;
                ops.updated = new_hash;
                operated = true;
                self.wait(&id, timeout, &mut ops).await?;
            }
            SetAction::Keep => {}
            SetAction::Refuse(reason) => return Err(reason),
        }
        if !ops.stopped && ops.failure.is_none() && needs_instances(targets, &before) {
            let id = self.create_instances(reach, &prefs).await?;
            operated = true;
            self.wait(&id, timeout, &mut ops).await?;
        }
        let after = if operated {
            self.instances().await?
        } else {
            before.clone()
        };
        Ok((before, after, ops))
    }

    /// The StackSet's `remedy:hash` (`Some(None)` when it has none), or `None` when it does
    /// not exist.
    async fn describe(&self) -> Result<Option<Option<String>>, String> {
        match self
            .client
            .describe_stack_set()
            .stack_set_name(&self.stack_set_name)
            .call_as(self.call_as())
            .send()
            .await
        {
            Ok(out) => Ok(out.stack_set().and_then(|set| {
                (set.status() != Some(&cfn_types::StackSetStatus::Deleted)).then(|| {
                    set.tags()
                        .iter()
                        .find(|t| t.key() == Some(crate::core::stack::HASH_TAG))
                        .and_then(|t| t.value().map(str::to_owned))
                })
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_stack_set_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!(
                "DescribeStackSet {}: {}",
                self.stack_set_name,
                reason("DescribeStackSet", &e)
            )),
        }
    }

    async fn instances(&self) -> Result<Instances, String> {
        let mut out = Instances::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_stack_instances()
                .stack_set_name(&self.stack_set_name)
                .call_as(self.call_as())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| format!("ListStackInstances: {}", reason("ListStackInstances", &e)))?;
            for s in page.summaries() {
                let (Some(account), Some(region)) = (s.account(), s.region()) else {
                    continue;
                };
                out.insert(
                    (account.to_owned(), region.to_owned()),
                    Instance {
                        status: s
                            .status()
                            .cloned()
                            .unwrap_or_else(|| cfn_types::StackInstanceStatus::from("")),
                        detailed: s
                            .stack_instance_status()
                            .and_then(|x| x.detailed_status())
                            .cloned()
                            .unwrap_or_else(|| cfn_types::StackInstanceDetailedStatus::from("")),
                        reason: s.status_reason().map(str::to_owned),
                        stack_id: s.stack_id().map(str::to_owned),
                    },
                );
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn create(&self) -> Result<(), String> {
        let mut create = self
            .client
            .create_stack_set()
            .stack_set_name(&self.stack_set_name)
            .description("remedy: Cloud Conformity auto-remediation")
            .permission_model(PermissionModels::ServiceManaged)
            // New accounts of the OUs get the stack without waiting for the next run.
            .auto_deployment(
                AutoDeployment::builder()
                    .enabled(true)
                    .retain_stacks_on_account_removal(false)
                    .build(),
            )
            // Operations queue instead of failing with OperationInProgressException (an
            // auto-deployment for a joining account, another run).
            .managed_execution(ManagedExecution::builder().active(true).build())
            .capabilities(Capability::CapabilityIam)
            .set_parameters(Some(cfn::parameters(&self.parameters)))
            .set_tags(Some(cfn::tags(&self.tags)))
            .call_as(self.call_as())
            .client_request_token(token_for("create-set", &self.run_id));
        create = match &self.template {
            TemplateSource::Body(body) => create.template_body(body),
            TemplateSource::Url(url) => create.template_url(url),
        };
        create.send().await.map(|_| ()).map_err(|e| {
            format!(
                "CreateStackSet {}: {}",
                self.stack_set_name,
                reason("CreateStackSet", &e)
            )
        })
    }

    /// UpdateStackSet. Without `home_only`, with neither DeploymentTargets nor Regions:
    /// every instance the StackSet has (naming an OU or region without instances would be
    /// refused). With it (instances of an earlier layout outside the home region exist
    /// beside those in it): the home region and the stage's reach only, so that strays are
    /// neither updated nor counted against the failure tolerance (StackSets marks them
    /// OUTDATED).
    async fn update(
        &self,
        prefs: &Preferences,
        home_only: Option<&Reach>,
    ) -> Result<String, String> {
        let mut update = self
            .client
            .update_stack_set()
            .stack_set_name(&self.stack_set_name)
            .managed_execution(ManagedExecution::builder().active(true).build())
            .capabilities(Capability::CapabilityIam)
            .set_parameters(Some(cfn::parameters(&self.parameters)))
            .set_tags(Some(cfn::tags(&self.tags)))
            .operation_preferences(preferences_of(prefs))
            .operation_id(token_for("update-set", &self.run_id))
            .call_as(self.call_as());
        if let Some(reach) = home_only {
            update = update
                .set_regions(Some(prefs.regions.clone()))
                .deployment_targets(deployment_targets_of(reach));
        }
        update = match &self.template {
            TemplateSource::Body(body) => update.template_body(body),
            TemplateSource::Url(url) => update.template_url(url),
        };
        let out = update.send().await.map_err(|e| {
            format!(
                "UpdateStackSet {}: {}",
                self.stack_set_name,
                reason("UpdateStackSet", &e)
            )
        })?;
        Ok(out
            .operation_id()
            .map(str::to_owned)
            .unwrap_or_else(|| token_for("update-set", &self.run_id)))
    }

    async fn create_instances(&self, reach: &Reach, prefs: &Preferences) -> Result<String, String> {
        let out = self
            .client
            .create_stack_instances()
            .stack_set_name(&self.stack_set_name)
            .deployment_targets(deployment_targets_of(reach))
            .set_regions(Some(prefs.regions.clone()))
            .operation_preferences(preferences_of(prefs))
            .operation_id(token_for("create-instances", &self.run_id))
            .call_as(self.call_as())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "CreateStackInstances: {}",
                    reason("CreateStackInstances", &e)
                )
            })?;
        Ok(out
            .operation_id()
            .map(str::to_owned)
            .unwrap_or_else(|| token_for("create-instances", &self.run_id)))
    }

    /// Polls the operation to its end. A failed or stopped operation is recorded in `ops`
    /// (its instances say which accounts it reached); a timeout or an unreadable operation
    /// is an error of the whole stage.
    async fn wait(
        &self,
        operation_id: &str,
        timeout: Duration,
        ops: &mut Operations,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut delay = Backoff::new();
        let mut stop_sent = false;
        loop {
            if self.stop.interrupted() && !stop_sent {
                stop_sent = true;
                ops.stopped = true;
                self.stop(operation_id).await;
            }
            let described = self
                .client
                .describe_stack_set_operation()
                .stack_set_name(&self.stack_set_name)
                .operation_id(operation_id)
                .call_as(self.call_as())
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "DescribeStackSetOperation: {}",
                        reason("DescribeStackSetOperation", &e)
                    )
                })?;
            let operation = described.stack_set_operation();
            let status = operation
                .and_then(|o| o.status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            match operation.and_then(|o| o.status()) {
                Some(StackSetOperationStatus::Succeeded) => return Ok(()),
                Some(StackSetOperationStatus::Failed | StackSetOperationStatus::Stopped) => {
                    let reason = operation
                        .and_then(|o| o.status_reason())
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    ops.stopped |= operation.and_then(|o| o.status())
                        == Some(&StackSetOperationStatus::Stopped);
                    ops.failure = Some(format!("{operation_id} {status}{reason}"));
                    return Ok(());
                }
                // Stopped (no new account starts) and reported from each target's instance.
                _ if Instant::now() >= deadline => {
                    if !stop_sent {
                        self.stop(operation_id).await;
                    }
                    ops.failure = Some(format!(
                        "{operation_id} still {status} when the wait timed out ({} s); stopped",
                        timeout.as_secs()
                    ));
                    return Ok(());
                }
                _ if self.stop.abandoned() => {
                    ops.failure = Some(format!("{operation_id} abandoned while {status}"));
                    return Ok(());
                }
                _ => delay.sleep().await,
            }
        }
    }
}

impl StackSetsEngine {
    /// StopStackSetOperation: StackSets starts no new account; those in flight finish.
    async fn stop(&self, operation_id: &str) {
        tracing::warn!("stopping StackSet operation {operation_id}: no new account starts");
        if let Err(e) = self
            .client
            .stop_stack_set_operation()
            .stack_set_name(&self.stack_set_name)
            .operation_id(operation_id)
            .call_as(self.call_as())
            .send()
            .await
        {
            tracing::warn!(
                "StopStackSetOperation: {}",
                reason("StopStackSetOperation", &e)
            );
        }
    }
}

fn deployment_targets_of(reach: &Reach) -> DeploymentTargets {
    DeploymentTargets::builder()
        .set_organizational_unit_ids(Some(reach.ou_ids.clone()))
        .set_accounts((!reach.accounts.is_empty()).then(|| reach.accounts.clone()))
        .set_account_filter_type(reach.filter.map(|f| match f {
            AccountFilter::Intersection => AccountFilterType::Intersection,
            AccountFilter::Difference => AccountFilterType::Difference,
            AccountFilter::Union => AccountFilterType::Union,
        }))
        .build()
}

/// The operation preferences (one region: no region order to give).
fn preferences_of(prefs: &Preferences) -> StackSetOperationPreferences {
    StackSetOperationPreferences::builder()
        .max_concurrent_count(prefs.max_concurrent_count)
        .failure_tolerance_count(prefs.failure_tolerance_count)
        // remedy's concurrency does not shrink with failures (the runner's semantics):
        // StackSets' default (strict) would run failure_tolerance + 1 accounts at a time.
        .concurrency_mode(ConcurrencyMode::SoftFailureTolerance)
        .build()
}
