//! The engines that deploy a stage's targets (direct, codebuild, stacksets) and the one
//! scheduler they run under.
//!
//! Must not: print, or know the command that called them.

pub mod codebuild;
mod deployment;
pub mod direct;
pub(crate) mod remove;
pub(crate) mod scheduler;
pub(crate) mod stacksets;

use crate::core::outcome::{InspectedTarget, PlannedTarget, Progress, Run, StageRun, Stray};
use crate::core::stop::Stop;
use crate::core::targets::Target;
pub use deployment::{Deployment, EngineOptions, Part, Variant};

use codebuild::CodeBuildEngine;
use direct::DirectEngine;
use scheduler::{run_each, Limits, Scheduled};
use stacksets::{Reach, StackSetsEngine, StageShape};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A stage's engine, chosen in one place (`StageEngine::for_stage`, the only code that
/// matches the config's `engine:`). Deploy, plan, status and onboard's readiness call these
/// methods and never match on the engine themselves; a new engine is a variant here, its
/// file in this folder, and the arms the compiler then asks for.
pub(crate) enum StageEngine {
    /// From this process, through each account's role.
    Direct(Arc<DirectEngine>),
    /// Each account's own CodeBuild project deploys (`remedy deploy --in-account`); plans
    /// and status read the stacks directly.
    CodeBuild {
        builds: Arc<CodeBuildEngine>,
        reads: Arc<DirectEngine>,
    },
    /// One StackSet operation per stage; plans and status read the StackSet's instances.
    StackSets {
        engine: Box<StackSetsEngine>,
        /// What a deploy asks of StackSets: the stage's OUs, regions, filters and limits.
        shape: (StageShape, Reach),
    },
}

impl StageEngine {
    /// Deploys `targets`: through the scheduler (one target at a time per slot), or as one
    /// StackSet operation whose instances give every target's result.
    pub(crate) async fn deploy(
        &self,
        targets: Vec<Target>,
        limits: Limits,
        progress: Arc<dyn Progress>,
        stop: &Stop,
    ) -> StageRun {
        match self {
            StageEngine::Direct(engine) => {
                run_each(targets, limits, progress, stop, |t| {
                    engine.clone().deploy(t)
                })
                .await
            }
            StageEngine::CodeBuild { builds, .. } => {
                run_each(targets, limits, progress, stop, |t| {
                    builds.clone().deploy(t)
                })
                .await
            }
            StageEngine::StackSets {
                engine,
                shape: (shape, reach),
            } => {
                let run = engine.deploy_stage(targets, shape, reach).await;
                for result in &run.results {
                    progress.finished(&result.seen());
                }
                run
            }
        }
    }

    /// What a deploy would do to each target (change sets computed, and deleted unless
    /// `keep`); for StackSets, from the StackSet's hash and instances.
    pub(crate) async fn plan(
        &self,
        targets: Vec<Target>,
        keep: bool,
        limits: Limits,
        progress: Arc<dyn Progress>,
        stop: &Stop,
    ) -> Result<Run<PlannedTarget>, String> {
        match self {
            StageEngine::Direct(reads) | StageEngine::CodeBuild { reads, .. } => {
                Ok(run_each(targets, limits, progress, stop, |t| {
                    reads.clone().preview(t, keep)
                })
                .await)
            }
            StageEngine::StackSets { engine, .. } => {
                let (set, instances) = engine.look().await?;
                let set = set.as_ref().map(|h| h.as_deref());
                Ok(Run {
                    results: stacksets::plan(&targets, set, &engine.hash, &instances),
                    tolerance_exceeded: false,
                    interrupted: stop.interrupted(),
                })
            }
        }
    }

    /// Each target's stack as deployed (with `drift`, CloudFormation's drift detection too);
    /// for StackSets, from its instances.
    pub(crate) async fn status(
        &self,
        targets: Vec<Target>,
        drift: bool,
        limits: Limits,
        progress: Arc<dyn Progress>,
        stop: &Stop,
    ) -> Result<Run<InspectedTarget>, String> {
        match self {
            StageEngine::Direct(reads) | StageEngine::CodeBuild { reads, .. } => {
                Ok(run_each(targets, limits, progress, stop, |t| {
                    reads.clone().inspect(t, drift)
                })
                .await)
            }
            StageEngine::StackSets { engine, .. } => {
                let (set, instances) = engine.look().await?;
                let set = set.as_ref().map(|h| h.as_deref());
                Ok(Run {
                    results: stacksets::inspect(&targets, set, &engine.hash, &instances),
                    tolerance_exceeded: false,
                    interrupted: stop.interrupted(),
                })
            }
        }
    }

    /// remedy stacks of the targets' accounts in `elsewhere` (covered regions other than the
    /// home region): strays of an earlier layout, for `plan` and `status` to report. The
    /// direct reads look in each region (at the stage's concurrency); StackSets lists them
    /// among its instances.
    pub(crate) async fn strays(
        &self,
        targets: &[Target],
        elsewhere: &[String],
        limits: Limits,
        stop: &Stop,
    ) -> Result<Vec<Stray>, String> {
        if elsewhere.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            StageEngine::Direct(reads) | StageEngine::CodeBuild { reads, .. } => {
                let run: Run<Found> = run_each(
                    targets.to_vec(),
                    limits,
                    Arc::new(crate::core::outcome::Silent),
                    stop,
                    |t| {
                        let reads = reads.clone();
                        let regions = elsewhere.to_vec();
                        async move { Found(reads.strays(t, regions).await) }
                    },
                )
                .await;
                Ok(run.results.into_iter().flat_map(|f| f.0).collect())
            }
            StageEngine::StackSets { engine, shape } => {
                let (_, instances) = engine.look().await?;
                Ok(stacksets::strays(targets, &shape.0.home, &instances))
            }
        }
    }

    /// The deployed template of each distinct deployment among `by_hash` (one target that
    /// runs it, per `remedy:hash`), read at most `limits`' concurrency at a time: what the
    /// diff in remedy's terms compares with. StackSets stages answer for none (their
    /// instances' templates are the StackSet's, not read here).
    pub(crate) async fn deployed_templates(
        &self,
        by_hash: Vec<(String, Target)>,
        limits: Limits,
    ) -> BTreeMap<String, Result<String, String>> {
        match self {
            StageEngine::Direct(reads) | StageEngine::CodeBuild { reads, .. } => {
                use futures::stream::StreamExt;
                futures::stream::iter(by_hash)
                    .map(|(hash, target)| {
                        let reads = reads.clone();
                        async move { (hash, reads.deployed_template(target).await) }
                    })
                    .buffer_unordered(limits.concurrency.max(1))
                    .collect()
                    .await
            }
            StageEngine::StackSets { .. } => by_hash
                .into_iter()
                .map(|(hash, _)| {
                    (
                        hash,
                        Err("a StackSets stage: compare the StackSet's template".to_owned()),
                    )
                })
                .collect(),
        }
    }

    /// Waits up to `wait` until `target` can be deployed (`onboard`: a vended account's
    /// role can take minutes to appear). StackSets reaches accounts through its own service
    /// roles: ready at once.
    pub(crate) async fn ready(&self, target: &Target, wait: Duration) -> Result<(), String> {
        match self {
            StageEngine::Direct(reads) | StageEngine::CodeBuild { reads, .. } => {
                reads.wait_for_role(target, wait).await
            }
            StageEngine::StackSets { .. } => Ok(()),
        }
    }
}

/// The strays found in one account (the scheduler's result type for [`StageEngine::strays`]).
struct Found(Vec<Stray>);

impl Scheduled for Found {
    fn counts_as_failure(&self) -> bool {
        false
    }

    fn seen(&self) -> crate::core::outcome::Seen<'_> {
        crate::core::outcome::Seen {
            account_id: "",
            region: "",
            outcome: crate::core::outcome::Outcome::Unchanged,
            word: "",
            stack_status: None,
            reason: None,
            stack_time: None,
        }
    }

    fn unfinished(
        _target: &Target,
        _outcome: crate::core::outcome::Outcome,
        _reason: String,
    ) -> Self {
        Found(Vec::new())
    }
}
