//! `remedy plan --stage S [--keep]`: creates the change set each target would run, in
//! parallel (at the stage's concurrency), and reports per target create / update (with the
//! resource changes and replacements) / unchanged, and the aggregate. The change sets are
//! deleted again unless `--keep`, in which case `deploy` executes them. Ctrl-C as in a
//! deploy: the first plans nothing new and lets those in flight clean up (exit 130).
//!
//! It also says what one account's stack holds and what the fleet adds up to (functions,
//! roles, queues, KMS keys and their monthly charge), and lists remedy stacks found in the
//! covered regions other than the home region (`stray`: an earlier layout's, for `remove`).

use super::Global;
use crate::core::config::{Config, Stage};
use crate::core::decide::PlanAction;
use crate::core::error::{exit, Error};
use crate::core::outcome::{Explained, Layout, PlannedTarget, Run, Stray};
use crate::core::semantic;
use crate::core::targets::Target;
use crate::engine::scheduler::Limits;
use crate::engine::StageEngine;
use crate::report::{self, ProgressKind};
use crate::session::{EngineOptions, Prepared, Session, Work};
use std::path::Path;
use std::time::Duration;

// The flags of `remedy plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage to plan (a `name` of `stages` in the configuration).
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    /// Keep the change sets: `deploy` then executes them.
    #[arg(long)]
    pub keep: bool,
    /// A prebuilt Lambda zip (overrides `package` in the config).
    #[arg(long, value_name = "PATH")]
    pub package: Option<std::path::PathBuf>,
    /// How long one target's change set may take to compute.
    #[arg(long, value_name = "DURATION", default_value = crate::core::util::TARGET_TIMEOUT_ARG, value_parser = super::parse_duration)]
    pub target_timeout: Duration,
    #[command(flatten)]
    pub prune: super::prune::PruneOptions,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config(&global.config)?;
    super::warn_expiring_exceptions(&config);
    plan(
        config,
        &args.stage,
        args.keep,
        args.package.as_deref(),
        args.target_timeout,
        &args.prune,
        global,
    )
    .await
}

/// The plan of `targets` through the scheduler, at the stage's concurrency (the change
/// sets kept with `keep`): for `remedy plan`, and for the question at a rollout's gate.
/// After a Ctrl-C no new target is planned; those in flight finish and delete what they
/// made, and the rest are `skipped`. With `strays`, also the remedy stacks of the targets'
/// accounts in the covered regions other than the home region.
pub async fn plan_targets(
    session: &mut Session,
    stage: &Stage,
    targets: Vec<Target>,
    keep: bool,
    target_timeout: Duration,
    strays: bool,
) -> Result<(Run<PlannedTarget>, Vec<Stray>), Error> {
    let options = EngineOptions {
        fix_rollback: false,
        target_timeout,
    };
    report::note(&format!(
        "planning stage `{}`: {} targets (a change set each, deleted again{})",
        stage.name,
        targets.len(),
        if keep { " unless kept" } else { "" }
    ));
    let engine = StageEngine::for_stage(session, stage, &targets, options, Work::Plan).await?;
    let progress = report::progress(stage.name.as_str(), targets.len(), ProgressKind::Plan);
    let found = if strays && !session.stop.interrupted() {
        let elsewhere: Vec<String> = session.placement(stage)?.elsewhere().cloned().collect();
        if !elsewhere.is_empty() {
            report::note(&format!(
                "looking for stray stacks in {} (covered regions other than the home region)",
                elsewhere.join(", ")
            ));
        }
        engine
            .strays(&targets, &elsewhere, Limits::reads_of(stage), &session.stop)
            .await
            .map_err(Error::Failed)?
    } else {
        Vec::new()
    };
    let all = targets.clone();
    let mut run = engine
        .plan(
            targets,
            keep,
            Limits::reads_of(stage),
            progress,
            &session.stop,
        )
        .await
        .map_err(Error::Failed)?;
    explain_updates(session, stage, &engine, &all, &mut run.results).await;
    Ok((run, found))
}

/// Says each update's changes in remedy's terms: one GetTemplate per distinct deployed
/// `remedy:hash` among the updates (a fleet on one release reads one template).
async fn explain_updates(
    session: &Session,
    stage: &Stage,
    engine: &StageEngine,
    targets: &[Target],
    planned: &mut [PlannedTarget],
) {
    let Some(desired) = semantic::model(&session.rendered_for(stage).body) else {
        return;
    };
    let mut by_hash: std::collections::BTreeMap<String, Target> = Default::default();
    for p in planned.iter().filter(|p| semantic::is_update(p.action)) {
        let (Some(hash), Some(target)) = (
            p.deployed_hash.as_ref(),
            targets.iter().find(|t| t.account.id == p.account_id),
        ) else {
            continue;
        };
        by_hash
            .entry(hash.clone())
            .or_insert_with(|| target.clone());
    }
    if by_hash.is_empty() || session.stop.interrupted() {
        return;
    }
    let templates = engine
        .deployed_templates(by_hash.into_iter().collect(), Limits::reads_of(stage))
        .await;
    crate::core::outcome::explain(planned, &templates, &desired);
}

pub async fn plan(
    config: Config,
    stage_name: &str,
    keep: bool,
    package: Option<&Path>,
    target_timeout: Duration,
    prune: &super::prune::PruneOptions,
    global: &Global,
) -> Result<i32, Error> {
    // `--output`, `--profile`/`--region` and Ctrl-C.
    let (output, aws, stop) = (global.output, &global.aws, global.stop.clone());
    let stage = config.stage(stage_name)?.clone();
    if keep && !config.stage_engine(&stage).has_change_sets() {
        return Err(Error::Input(format!(
            "plan --keep: stage `{stage_name}` deploys with StackSets, which has no change sets to keep"
        )));
    }
    let prepared = Prepared::new(config, package)?;
    let mut session = Session::connect(prepared, aws, stop).await?;
    let resolution = session.resolve(&stage)?;
    let targets = session.targets(&stage, &resolution)?;
    let accounts = targets.len();
    let (run, strays) =
        plan_targets(&mut session, &stage, targets, keep, target_timeout, true).await?;
    let placement = session.placement(&stage)?;
    let layout = Layout {
        home: placement.home,
        covered: placement.covered,
        footprint: session.rendered_for(&stage).footprint,
        accounts,
        strays,
        prune: None,
    };
    let mut layout = layout;
    if prune.prune && !run.interrupted {
        if session.config.stage_engine(&stage).owns_account_stacks() {
            let orphans = super::prune::scan(&session, &stage)
                .await?
                .owned_by(&session, &stage);
            layout.prune = Some(crate::core::outcome::Prune {
                stacks: orphans.strays(),
                unreadable: orphans.unreadable,
                max_deletions: prune.max_deletions,
            });
        } else {
            report::note(&format!(
                "prune: stage `{stage_name}` deploys with StackSets, whose instances are the StackSet's: nothing to prune"
            ));
        }
    }
    let mut explained = Explained::new(
        &run.results,
        semantic::model(&session.rendered_for(&stage).body),
        session.written.clone(),
    );
    explained.sources = session
        .config
        .stage_rules(Some(&stage))
        .iter()
        .map(|r| {
            (
                r.spec.id.to_owned(),
                r.mode.as_str().to_owned(),
                session.config.mode_source(Some(&stage), r.spec.id),
            )
        })
        .collect();
    report::print_plan(stage_name, &run.results, keep, &layout, &explained, output);
    Ok(if run.interrupted {
        exit::INTERRUPTED
    } else if run.results.iter().any(|p| p.action == PlanAction::Blocked) {
        exit::FAILED
    } else {
        exit::OK
    })
}
