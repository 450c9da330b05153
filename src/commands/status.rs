//! `remedy status [--stage S] [--drift]`: for every target account and region, the stack
//! status, the deployed `remedy:version` and `remedy:hash`, and whether it is current (this
//! build and configuration), outdated or missing. Reads only: one DescribeStacks per
//! target (and drift detection with `--drift`).

use crate::config::Config;
use crate::direct::TARGET_TIMEOUT;
use crate::error::{exit, Error};
use crate::report::{self, OutputFormat, ProgressKind};
use crate::runner::{self, Limits};
use crate::session::{EngineOptions, Prepared, Session};
use std::path::Path;

pub async fn status(
    config: Config,
    stage_name: Option<&str>,
    drift: bool,
    package: Option<&Path>,
    output: OutputFormat,
) -> Result<i32, Error> {
    let stages = match stage_name {
        Some(name) => vec![config.stage(name)?.clone()],
        None => config.stages.clone(),
    };
    let prepared = Prepared::new(config, package)?;
    let session = Session::connect(prepared).await?;
    let mut rows = Vec::new();
    for stage in &stages {
        let resolution = session.resolve(stage)?;
        let targets = session.targets(stage, &resolution);
        if let Some(engine) = session.stacksets_view(stage, TARGET_TIMEOUT) {
            let (set, instances) = engine.look().await.map_err(Error::Failed)?;
            let set = set.as_ref().map(|h| h.as_deref());
            let inspected = crate::stacksets::inspect(&targets, set, &session.hash, &instances);
            rows.extend(inspected.into_iter().map(|r| (stage.name.to_string(), r)));
            continue;
        }
        let engine = session.engine(
            stage,
            EngineOptions {
                fix_rollback: false,
                target_timeout: TARGET_TIMEOUT,
            },
        );
        let progress = report::progress(stage.name.as_str(), targets.len(), ProgressKind::Status);
        let run = runner::run_each(
            targets,
            Limits::reads_of(stage),
            progress,
            &session.stop,
            |t| engine.clone().inspect(t, drift),
        )
        .await;
        rows.extend(run.results.into_iter().map(|r| (stage.name.to_string(), r)));
        if run.interrupted {
            break;
        }
    }
    report::print_status(&rows, output);
    Ok(if session.stop.interrupted() {
        exit::INTERRUPTED
    } else if rows.iter().any(|(_, r)| r.freshness.is_none()) {
        exit::FAILED
    } else {
        exit::OK
    })
}
