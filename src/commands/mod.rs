//! Each command's flow, from the configuration to the report: the glue between the pure
//! core (config, targets, plan, rollout, template) and the AWS edges (session, direct
//! engine, runner). One file per command; what they share is here.
//!
//! Must not: hold decisions a test would want to call without AWS (those live in the pure
//! modules), or format output (that is [`crate::report`]).

pub mod deploy;
pub mod onboard;
pub mod plan;
pub mod publish;
pub mod rollout;
pub mod status;

use crate::config::{Engine, Stage};
use crate::error::Error;
use crate::report::{self, StageReport};
pub use crate::report::{ask, interactive};
use crate::runner::{self, Limits, Scheduled, Target};
use crate::session::{EngineOptions, Session};
use crate::stacksets::{deployment_targets, Reach, StageShape};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The options of the commands that deploy (`deploy`, `rollout`, `onboard`).
#[derive(Debug, Clone, clap::Args)]
pub struct DeployOptions {
    /// Answer confirmations with yes (never an approval gate).
    #[arg(long)]
    pub yes: bool,
    /// A prebuilt Lambda zip (overrides `package` in the config).
    #[arg(long, value_name = "PATH")]
    pub package: Option<PathBuf>,
    /// Also write a Markdown summary of the run to FILE (per stage: counts, failed targets
    /// with reasons, duration).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// How long one target may take, waits for a busy stack included (e.g. 90s, 30m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub target_timeout: Duration,
    /// Continue the rollback of UPDATE_ROLLBACK_FAILED stacks, then update them.
    #[arg(long)]
    pub fix_rollback: bool,
}

impl DeployOptions {
    pub fn engine(&self) -> EngineOptions {
        EngineOptions {
            fix_rollback: self.fix_rollback,
            target_timeout: self.target_timeout,
        }
    }
}

/// The longest wait any option accepts.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// `90s`, `30m`, `1h30m`, or plain seconds; at most a week.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let parsed = parse_duration_unbounded(text)?;
    if parsed > MAX_DURATION {
        return Err(format!("`{text}` is longer than a week"));
    }
    Ok(parsed)
}

fn parse_duration_unbounded(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (write e.g. 90s, 30m, 1h30m)");
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// Runs one stage's targets through the stage's engine (direct, or codebuild): publishes the
/// artifacts its regions need, then the runner under the stage's limits.
pub async fn run_stage(
    session: &mut Session,
    stage: &Stage,
    targets: Vec<Target>,
    options: EngineOptions,
) -> Result<StageReport, Error> {
    let started = Instant::now();
    let mut regions: Vec<String> = targets.iter().map(|t| t.region.clone()).collect();
    regions.sort();
    regions.dedup();
    let engine = session.config.stage_engine(stage);
    // A StackSet's shape is checked before anything is published. It lives in the stage's
    // first region whatever `--region` narrows to: its template is published there too.
    let stack_set = match engine {
        Engine::Stacksets if !session.is_in_account() => {
            let stack_set = stack_set_shape(session, stage, &targets)?;
            if !regions.contains(&stack_set.home) {
                regions.push(stack_set.home.clone());
            }
            Some(stack_set)
        }
        _ => None,
    };
    // A codebuild stage's builds also read the package and configuration from their
    // project's region: published together, once.
    if engine == Engine::Codebuild && !session.is_in_account() {
        regions.extend(session.codebuild_project_region());
        regions.sort();
        regions.dedup();
    }
    // After a Ctrl-C nothing new is published; the runner reports every target not started.
    if !session.stop.interrupted() {
        session.publish(&regions).await?;
        if engine == Engine::Codebuild && !session.is_in_account() {
            session.publish_config(&regions).await?;
        }
    }
    let progress = report::stage_progress(stage.name.as_str(), targets.len());
    let limits = Limits::of_stage(stage);
    let interrupted = session.stop.interrupted();
    let stop = session.stop.clone();
    let run = match (engine, stack_set) {
        (Engine::Stacksets, Some(stack_set)) if !interrupted => {
            let engine = session.stacksets_engine(stage, &stack_set.home, options);
            let run = engine
                .deploy_stage(targets, &stack_set.shape, &stack_set.reach)
                .await;
            for result in &run.results {
                progress.finished(&result.seen());
            }
            run
        }
        (Engine::Codebuild, _) if !session.is_in_account() && !interrupted => {
            let engine = session.codebuild_engine(stage, options);
            runner::run_each(targets, limits, progress, &stop, |target| {
                engine.clone().deploy(target)
            })
            .await
        }
        _ => {
            let engine = session.engine(stage, options);
            runner::run_each(targets, limits, progress, &stop, |target| {
                engine.clone().deploy(target)
            })
            .await
        }
    };
    let mut report = StageReport::from_run(stage.name.as_str(), &run, started.elapsed());
    // Retries since the previous stage (for the first: since the start, discovery and
    // publishing included).
    report.retries = crate::retries::since(&session.retries_reported);
    session.retries_reported = crate::retries::snapshot();
    Ok(report)
}

/// What the stacksets engine deploys a stage's targets with.
struct StackSetRun {
    /// The StackSet's region: the stage's first.
    home: String,
    shape: StageShape,
    reach: Reach,
}

/// The stacksets engine's view of a stage: its OU ids, regions in order, account filters
/// and limits. Input errors (exit 2) name what to change.
fn stack_set_shape(
    session: &Session,
    stage: &Stage,
    targets: &[Target],
) -> Result<StackSetRun, Error> {
    let ou_ids = crate::targets::stage_unit_ids(stage, &session.snapshot).map_err(Error::Input)?;
    let resolution = session.resolve(stage)?;
    let mut accounts: Vec<String> = targets.iter().map(|t| t.account.id.clone()).collect();
    accounts.sort();
    accounts.dedup();
    let all: Vec<&str> = resolution.accounts.iter().map(|a| a.id.as_str()).collect();
    let narrowed = accounts.len() < all.len();
    let stage_regions = session.regions(stage);
    let regions: Vec<String> = stage_regions
        .iter()
        .filter(|r| targets.iter().any(|t| &t.region == *r))
        .cloned()
        .collect();
    let regions_narrowed = regions.len() < stage_regions.len();
    let shape = StageShape {
        ou_ids,
        regions,
        // StackSets never deploys to the management account (it is reported skipped).
        accounts: stage
            .targets
            .accounts
            .iter()
            .map(|a| a.to_string())
            .filter(|a| *a != session.snapshot.management_account_id)
            .collect(),
        exclude: stage
            .targets
            .exclude
            .iter()
            .map(|a| a.to_string())
            .collect(),
        narrowed: narrowed || regions_narrowed,
        narrowed_to: narrowed.then_some(accounts),
        concurrency: stage.concurrency.0,
        failure_tolerance: stage.failure_tolerance,
        region_order: stage.region_order,
        account_count: all.len(),
    };
    let reach = deployment_targets(&shape).map_err(Error::Input)?;
    let home = stage_regions.first().cloned().unwrap_or_default();
    Ok(StackSetRun { home, shape, reach })
}

/// Prints a one-stage command's report, writes `--report FILE`, and gives its exit code.
pub fn finish_stage(
    report: &StageReport,
    output: report::OutputFormat,
    markdown: Option<&Path>,
    title: &str,
) -> Result<i32, Error> {
    report::print_stage(report, output);
    write_markdown(markdown, title, std::slice::from_ref(report))?;
    Ok(if report.interrupted || crate::interrupt::interrupted() {
        crate::error::exit::INTERRUPTED
    } else if report.summary.failed > 0 {
        crate::error::exit::FAILED
    } else {
        crate::error::exit::OK
    })
}

/// Writes `--report FILE`, if asked. A report that cannot be written is an error of the
/// command (exit 1), after the stage reports have been printed.
pub fn write_markdown(
    path: Option<&Path>,
    title: &str,
    reports: &[StageReport],
) -> Result<(), Error> {
    let Some(path) = path else {
        return Ok(());
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Failed(format!("--report {}: {e}", path.display())))?;
    }
    std::fs::write(path, report::markdown(title, reports))
        .map_err(|e| Error::Failed(format!("--report {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("168h").is_ok());
        for bad in [
            "",
            "m",
            "10x",
            "1.5h",
            "10m5",
            "169h",
            "10000000000000000000",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
