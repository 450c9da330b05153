//! `remedy rollout [--from S] [--to S] [--approve S]… [--yes]`: every stage in order,
//! stopping at each unapproved gate. The decisions (which stages, which gate, whether to go
//! on, the exit code) are [`crate::core::rollout`]'s; this is their I/O. At a gate on a terminal
//! the operator sees the stage's plan (change sets computed and deleted again) and answers.

use super::plan::plan_targets;
use super::Global;
use super::{ask, confirm, interactive, run_stage, write_markdown, DeployOptions};
use crate::core::config::Config;
use crate::core::config::Stage;
use crate::core::decide::PlanAction;
use crate::core::error::Error;
use crate::core::outcome::{StageReport, StageStatus};
use crate::core::rollout::{check_approvals, exit_code, gate, proceeds_after, select_stages, Gate};
use crate::core::semantic::{self, Change, Preview, Step};
use crate::core::targets::Target;
use crate::report;
use crate::session::{Prepared, Session};

// The flags of `remedy rollout`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first stage to run (default: the first).
    #[arg(long, value_name = "STAGE")]
    pub from: Option<String>,
    /// The last stage to run (default: the last).
    #[arg(long, value_name = "STAGE")]
    pub to: Option<String>,
    /// Approve the gate of this stage (repeatable).
    #[arg(long = "approve", value_name = "STAGE")]
    pub approve: Vec<String>,
    #[command(flatten)]
    pub options: DeployOptions,
    #[command(flatten)]
    pub prune: super::prune::PruneOptions,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config(&global.config)?;
    super::warn_expiring_exceptions(&config);
    rollout(
        config,
        args.from.as_deref(),
        args.to.as_deref(),
        &args.approve,
        &args.options,
        &args.prune,
        global,
    )
    .await
}

pub async fn rollout(
    config: Config,
    from: Option<&str>,
    to: Option<&str>,
    approvals: &[String],
    options: &DeployOptions,
    prune: &super::prune::PruneOptions,
    global: &Global,
) -> Result<i32, Error> {
    // `--output`, `--profile`/`--region` and Ctrl-C.
    let (output, aws, stop) = (global.output, &global.aws, global.stop.clone());
    // -- Input checks: no AWS call before these pass.
    let stages = select_stages(&config, from, to)?.to_vec();
    check_approvals(&config, approvals)?;
    let prepared = Prepared::new(config, options.package.as_deref())?;
    let mut session = Session::connect(prepared, aws, stop).await?;
    // Every stage's targets are resolved before the first deploys: an OU that does not
    // exist is exit 2 with nothing done.
    let mut planned: Vec<Vec<Target>> = Vec::new();
    for stage in &stages {
        let resolution = session.resolve(stage)?;
        planned.push(session.targets(stage, &resolution)?);
    }

    let interactive = interactive();
    // What each stage deploys, for the bar's rollout ETA: up to the first gate that will
    // stop this run.
    let sizes: Vec<(usize, usize)> = stages
        .iter()
        .zip(&planned)
        .map_while(|(stage, targets)| {
            (!matches!(gate(stage, approvals, interactive), Gate::Closed))
                .then_some((targets.len(), stage.concurrency.0))
        })
        .collect();
    let mut reports: Vec<StageReport> = Vec::new();
    let mut stop: Option<String> = None;
    // A prune past --max-deletions removed nothing: the run exits 1.
    let mut over_cap = false;
    // The organization is looked at for orphans once, by the first stage that prunes.
    let mut scan = None;
    for (index, (stage, targets)) in stages.iter().zip(planned).enumerate() {
        let later = sizes.get(index + 1..).unwrap_or_default().to_vec();
        let name = stage.name.as_str();
        if stop.is_none() && session.stop.interrupted() {
            stop = Some("not started: the rollout was interrupted (Ctrl-C)".to_owned());
        }
        if let Some(why) = &stop {
            let report = StageReport::not_run(name, StageStatus::NotStarted, why.clone());
            report::print_rollout_stage(&report, output);
            reports.push(report);
            continue;
        }
        let pass = match gate(stage, approvals, interactive) {
            Gate::Closed => Err((
                StageStatus::AwaitingApproval,
                format!("approval required: run again with --approve {name}"),
            )),
            Gate::Ask => {
                let preview =
                    preview(&mut session, stage, &targets, options.target_timeout).await?;
                report::note(&report::preview_text(name, &preview));
                if ask(&format!("Approve stage `{name}`?"), &session.stop).await? {
                    Ok(())
                } else {
                    Err((
                        StageStatus::AwaitingApproval,
                        "not approved at the prompt".to_owned(),
                    ))
                }
            }
            Gate::Approved => Ok(()),
            Gate::Open if options.yes => Ok(()),
            Gate::Open => {
                let question = format!("Deploy stage `{name}` to {} targets?", targets.len());
                if confirm(&mut session, stage, &targets, &question).await? {
                    Ok(())
                } else {
                    Err((StageStatus::NotStarted, "declined at the prompt".to_owned()))
                }
            }
        };
        if let Err((status, note)) = pass {
            let report = StageReport::not_run(name, status, note);
            report::print_rollout_stage(&report, output);
            reports.push(report);
            stop = Some(format!(
                "not started: the rollout stopped at stage `{name}`"
            ));
            continue;
        }

        let mut report =
            match run_stage(&mut session, stage, targets, options.engine(), later).await {
                Ok(report) => report,
                // The stage could not run at all (e.g. its artifacts could not be published):
                // it failed, and the stages before it are still reported.
                Err(e) => StageReport::not_run(name, StageStatus::Failed, e.to_string()),
            };
        if prune.prune && report.status == StageStatus::Completed {
            match super::prune::after_stage(
                &session,
                stage,
                prune.max_deletions,
                &mut report,
                &mut scan,
            )
            .await
            {
                Ok(super::prune::Pruned::Done) => {}
                Ok(super::prune::Pruned::OverCap) => over_cap = true,
                Err(e) => {
                    report.status = StageStatus::Failed;
                    report.note = Some(format!("prune: {e}"));
                }
            }
        }
        report::print_rollout_stage(&report, output);
        if report.interrupted {
            stop = Some("not started: the rollout was interrupted (Ctrl-C)".to_owned());
        } else if !proceeds_after(&report) {
            stop = Some(format!("not started: stage `{name}` failed"));
        }
        reports.push(report);
    }

    let audit = session.audit(None);
    report::print_rollout(&reports, Some(&audit), output);
    write_markdown(
        options.report.as_deref(),
        "remedy rollout",
        &reports,
        Some(&audit),
    )?;
    Ok(if session.stop.interrupted() {
        crate::core::error::exit::INTERRUPTED
    } else {
        match exit_code(&reports) {
            crate::core::error::exit::OK if over_cap => crate::core::error::exit::FAILED,
            code => code,
        }
    })
}

/// A gate's question: the stage's plan (change sets computed and deleted again, each
/// target bounded by the run's `--target-timeout`), with the updates in remedy's terms.
async fn preview(
    session: &mut Session,
    stage: &Stage,
    targets: &[Target],
    target_timeout: std::time::Duration,
) -> Result<Preview, Error> {
    let (run, _) = plan_targets(
        session,
        stage,
        targets.to_vec(),
        false,
        target_timeout,
        false,
    )
    .await?;
    let rows: Vec<(Step, Option<&[Change]>)> = run
        .results
        .iter()
        .map(|p| {
            let step = match p.action {
                PlanAction::Create | PlanAction::Recreate => Step::Create,
                PlanAction::Update | PlanAction::Replace => Step::Update,
                PlanAction::Unchanged => Step::Unchanged,
                PlanAction::Blocked | PlanAction::Skipped => Step::Other,
            };
            (step, p.semantic.as_deref())
        })
        .collect();
    Ok(Preview::new(
        &rows,
        semantic::model(&session.rendered_for(stage).body).as_ref(),
    ))
}
