//! `remedy status [--stage S] [--drift]`: for every target account and region, the stack
//! status, the deployed `remedy:version` and `remedy:hash`, and whether it is current (this
//! build and configuration), outdated or missing. Reads only: one DescribeStacks per
//! target (and drift detection with `--drift`).

use super::Global;
use crate::core::config::Config;
use crate::core::error::{exit, Error};
use crate::core::util::TARGET_TIMEOUT;
use crate::engine::scheduler::Limits;
use crate::engine::StageEngine;
use crate::report::{self, ProgressKind};
use crate::session::{EngineOptions, Prepared, Session, Work};
use std::path::Path;

// The flags of `remedy status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this stage [default: every stage].
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Also run CloudFormation drift detection on every stack.
    #[arg(long)]
    pub drift: bool,
    /// The Lambda zip this build would deploy (for the current/outdated comparison).
    #[arg(long, value_name = "PATH")]
    pub package: Option<std::path::PathBuf>,
    /// Only the targets in this state (repeatable); the summary still counts every target.
    #[arg(long = "state", value_enum, value_name = "STATE")]
    pub states: Vec<crate::report::State>,
    /// Every column at full width (the table otherwise fits 100 columns, or $COLUMNS).
    #[arg(long)]
    pub wide: bool,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config_to_read(&global.config)?;
    let view = report::StatusView {
        states: args.states,
        wide: args.wide,
    };
    status(
        config,
        args.stage.as_deref(),
        args.drift,
        args.package.as_deref(),
        &view,
        global,
    )
    .await
}

pub async fn status(
    config: Config,
    stage_name: Option<&str>,
    drift: bool,
    package: Option<&Path>,
    view: &report::StatusView,
    global: &Global,
) -> Result<i32, Error> {
    // `--output`, `--profile`/`--region` and Ctrl-C.
    let (output, aws, stop) = (global.output, &global.aws, global.stop.clone());
    let stages = match stage_name {
        Some(name) => vec![config.stage(name)?.clone()],
        None => config.stages.clone(),
    };
    let prepared = Prepared::new(config, package)?;
    let mut session = Session::connect(prepared, aws, stop).await?;
    let mut rows = Vec::new();
    let mut strays = Vec::new();
    for stage in &stages {
        let resolution = session.resolve(stage)?;
        let targets = session.targets(stage, &resolution)?;
        let options = EngineOptions {
            fix_rollback: false,
            target_timeout: TARGET_TIMEOUT,
        };
        let engine =
            StageEngine::for_stage(&mut session, stage, &targets, options, Work::Status).await?;
        let progress = report::progress(stage.name.as_str(), targets.len(), ProgressKind::Status);
        let targets_for_strays = targets.clone();
        let stop = session.stop.clone();
        let mut run = engine
            .status(targets, drift, Limits::reads_of(stage), progress, &stop)
            .await
            .map_err(Error::Failed)?;
        if !run.interrupted {
            super::pause::read_into(&session, stage, &mut run.results).await;
        }
        rows.extend(run.results.into_iter().map(|r| (stage.name.to_string(), r)));
        if run.interrupted {
            break;
        }
        let elsewhere: Vec<String> = session.placement(stage)?.elsewhere().cloned().collect();
        let found = engine
            .strays(
                &targets_for_strays,
                &elsewhere,
                Limits::reads_of(stage),
                &stop,
            )
            .await
            .map_err(Error::Failed)?;
        strays.extend(found);
    }
    if !session.stop.interrupted() {
        super::conformity::read_into(&session, &mut rows).await;
    }
    report::print_status(&rows, &strays, view, output);
    Ok(if session.stop.interrupted() {
        exit::INTERRUPTED
    } else if rows.iter().any(|(_, r)| r.freshness.is_none()) {
        exit::FAILED
    } else {
        exit::OK
    })
}
