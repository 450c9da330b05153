//! `--prune` (`plan`, `deploy`, `rollout`): the remedy stacks no stage wants any more
//! (`core::prune`), found across the organization, listed by `plan` and removed by the
//! deploy of the stage that owns them — never more than `--max-deletions` in one run: past
//! it, nothing is deleted, the run lists them and exits 1.

use crate::core::config::Stage;
use crate::core::error::Error;
use crate::core::outcome::{StageReport, Stray};
use crate::core::prune::{owner, places, wanted, MAX_DELETIONS};
use crate::core::targets::{Target, TargetAccount};
use crate::engine::remove::{Found, Remover};
use crate::engine::scheduler::{run_each, Limits};
use crate::session::Session;
use std::collections::BTreeSet;
use std::sync::Arc;

// `--prune` and `--max-deletions`, for plan, deploy and rollout.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PruneOptions {
    /// Also remove the remedy stacks no stage targets any more (an account moved out of
    /// every stage's OUs, or excluded) and those outside an account's home region; `plan`
    /// lists them.
    #[arg(long)]
    pub prune: bool,
    /// With --prune: delete nothing when more than N stacks would be removed (they are
    /// listed, exit 1).
    #[arg(long, value_name = "N", default_value_t = MAX_DELETIONS, requires = "prune")]
    pub max_deletions: usize,
}

/// The orphans `stage` owns, and how many places could not be looked at (an account
/// without remedy's role, typically one never bootstrapped).
pub(crate) struct Orphans {
    pub stacks: Vec<Found>,
    pub unreadable: usize,
}

impl Orphans {
    /// As `plan` lists them.
    pub(crate) fn strays(&self) -> Vec<Stray> {
        self.stacks
            .iter()
            .map(|f| Stray {
                account_id: f.account_id.clone(),
                region: f.region.clone(),
                stack_status: f.status.clone(),
                stage: f.stage.clone(),
            })
            .collect()
    }
}

/// The remedy stacks no stage wants, across the organization: read once per run (a
/// rollout's stages share it: deploying a stage only touches places a stage wants), then
/// split by owner ([`Scan::owned_by`]).
pub(crate) struct Scan {
    stacks: Vec<Found>,
    unreadable: usize,
}

/// Looks for orphans: every stage's targets say where stacks are wanted; every ACTIVE
/// account is looked at in every region a stage uses, where none is (at `stage`'s read
/// concurrency).
pub(crate) async fn scan(session: &Session, stage: &Stage) -> Result<Scan, Error> {
    let mut all_targets = Vec::new();
    let mut regions = BTreeSet::new();
    for s in &session.config.stages {
        let resolution = session.resolve(s)?;
        all_targets.extend(session.targets(s, &resolution)?);
        let placement = session.placement(s)?;
        regions.insert(placement.home.clone());
        regions.extend(placement.covered.iter().cloned());
    }
    let places = places(&session.snapshot, &regions, &wanted(&all_targets));
    let remover = Arc::new(remover(session));
    let looked = run_each(
        places,
        Limits::reads_of(stage),
        Arc::new(crate::core::outcome::Silent),
        &session.stop,
        move |target| remover.clone().find(target),
    )
    .await;
    let unreadable = looked.results.iter().filter(|f| f.error.is_some()).count();
    let stacks = looked
        .results
        .into_iter()
        .filter(|f| f.stack_id.is_some() && f.remedys)
        .collect();
    Ok(Scan { stacks, unreadable })
}

impl Scan {
    /// The orphans `stage` owns (its `remedy:stage` tag, else the first stage's).
    pub(crate) fn owned_by(&self, session: &Session, stage: &Stage) -> Orphans {
        let stages: Vec<&str> = session
            .config
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        Orphans {
            stacks: self
                .stacks
                .iter()
                .filter(|f| owner(f.stage.as_deref(), &stages) == Some(stage.name.as_str()))
                .cloned()
                .collect(),
            unreadable: self.unreadable,
        }
    }
}

/// What a deploy's prune did.
pub(crate) enum Pruned {
    /// Removed (or failed to remove) these; their results are in the stage's report.
    Done,
    /// More than the cap: nothing was deleted.
    OverCap,
}

/// After `stage`'s deploy: its orphans removed ([`prune`]), unless its engine's stacks are
/// a StackSet's (then nothing, with a note).
/// `scan`: the run's scan so far (made by the first stage that prunes).
pub(crate) async fn after_stage(
    session: &Session,
    stage: &Stage,
    max: usize,
    report: &mut StageReport,
    scan: &mut Option<Scan>,
) -> Result<Pruned, Error> {
    if !session.config.stage_engine(stage).owns_account_stacks() {
        crate::report::note(&format!(
            "prune: stage `{}` deploys with StackSets, whose instances are the StackSet's: nothing pruned",
            stage.name
        ));
        return Ok(Pruned::Done);
    }
    if scan.is_none() {
        *scan = Some(self::scan(session, stage).await?);
    }
    let orphans = match scan {
        Some(scan) => scan.owned_by(session, stage),
        None => return Ok(Pruned::Done),
    };
    prune(session, stage, orphans, max, report).await
}

/// Removes the orphans `stage` owns after its deploy, their results added to `report`; past
/// `max` deletes none, and says which.
async fn prune(
    session: &Session,
    stage: &Stage,
    orphans: Orphans,
    max: usize,
    report: &mut StageReport,
) -> Result<Pruned, Error> {
    if orphans.unreadable > 0 {
        crate::report::note(&format!(
            "prune: {} account/region place(s) could not be looked at (no remedy role there?); only those read were pruned",
            orphans.unreadable
        ));
    }
    if orphans.stacks.len() > max {
        let listed: Vec<String> = orphans
            .stacks
            .iter()
            .map(|f| format!("{} ({})", f.account_id, f.region))
            .collect();
        crate::report::note(&format!(
            "prune: stage `{}` would remove {} stacks, more than --max-deletions {max}: nothing was removed. They are: {}",
            stage.name,
            orphans.stacks.len(),
            listed.join(", ")
        ));
        return Ok(Pruned::OverCap);
    }
    if orphans.stacks.is_empty() {
        return Ok(Pruned::Done);
    }
    let targets: Vec<(Target, Found)> = orphans
        .stacks
        .into_iter()
        .map(|f| {
            let account = session
                .snapshot
                .accounts
                .iter()
                .find(|a| a.id == f.account_id);
            let target = Target {
                account: TargetAccount {
                    id: f.account_id.clone(),
                    name: account.map(|a| a.name.clone()).unwrap_or_default(),
                    ou_path: account
                        .map(|a| session.snapshot.path_of(&a.parent_id))
                        .unwrap_or_default(),
                },
                region: f.region.clone(),
            };
            (target, f)
        })
        .collect();
    let found: Arc<Vec<(Target, Found)>> = Arc::new(targets);
    let remover = Arc::new(remover(session));
    let started = std::time::Instant::now();
    let run = run_each(
        found.iter().map(|(t, _)| t.clone()).collect(),
        Limits::of_stage(stage),
        crate::report::progress(
            &format!("{} (prune)", stage.name),
            found.len(),
            crate::report::ProgressKind::Remove,
        ),
        &session.stop,
        {
            let found = found.clone();
            move |target| {
                let seen = found
                    .iter()
                    .find(|(t, _)| t.account.id == target.account.id && t.region == target.region)
                    .map(|(_, f)| f.clone());
                remover.clone().remove(target, seen)
            }
        },
    )
    .await;
    report.absorb(StageReport::from_run(
        stage.name.as_str(),
        &run,
        started.elapsed(),
    ));
    Ok(Pruned::Done)
}

fn remover(session: &Session) -> Remover {
    Remover {
        identity: session.identity.clone(),
        stack_name: session.config.stack_name.clone(),
        execution_role: session.config.role.execution_role.clone(),
        target_timeout: crate::core::util::TARGET_TIMEOUT,
    }
}
