//! Each command's flow, from the configuration to the report: the glue between the pure
//! core (config, targets, decide, rollout, template), the session and the engines. One file per command; what they share is here.
//!
//! Must not: hold decisions a test would want to call without AWS (those live in the pure
//! modules), or format output (that is [`crate::report`]).

pub mod accounts;
pub mod completions;
pub mod conformity;
pub mod deploy;
pub mod doctor;
pub mod exceptions;
pub mod history;
pub mod init;
pub mod manpage;
pub mod onboard;
pub mod package;
pub mod pause;
pub mod plan;
pub mod prune;
pub mod publish;
pub mod remediate;
pub mod remove;
pub mod rollout;
pub mod rules;
pub mod schema;
pub mod status;
mod targets;
pub mod template;
pub mod undo;
pub mod validate;

pub use crate::aws::identity::AwsSelection;
use crate::core::config::Stage;
use crate::core::decide::Freshness;
use crate::core::error::Error;
use crate::core::outcome::StageReport;
use crate::core::semantic;
use crate::core::targets::Target;
use crate::engine::scheduler::Limits;
use crate::engine::StageEngine;
use crate::report;
pub use crate::report::{ask, interactive};
use crate::session::{EngineOptions, Session, Work};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Today, in days since 1970-01-01 (UTC), as the exceptions' dates are compared.
pub fn today() -> i64 {
    remedy_functions::exceptions::day_of(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    )
}

/// The configuration as every command that deploys or runs remediations reads it: parsed
/// and checked ([`Config::load`]), and no exception expired or set more than a year ahead
/// (`remedy exceptions` reads it without that check, to list the expired ones).
pub fn load_config(path: &Path) -> Result<crate::core::config::Config, Error> {
    let config = crate::core::config::Config::load(path)?;
    config.check_exception_dates(today())?;
    Ok(config)
}

/// The configuration for the commands that only read or switch (`status`, `pause`,
/// `resume`, `accounts`, `rules`, `template`): an expired exception is a warning there, not
/// an error, so that the kill switch never waits on an exception's renewal.
pub fn load_config_to_read(path: &Path) -> Result<crate::core::config::Config, Error> {
    let config = crate::core::config::Config::load(path)?;
    if let Err(e) = config.check_exception_dates(today()) {
        report::note(&format!("warning: {e}"));
    }
    Ok(config)
}

/// `plan` and `rollout`: a warning on stderr for each exception that ends within 14 days.
pub fn warn_expiring_exceptions(config: &crate::core::config::Config) {
    for warning in crate::core::exceptions::expiring_warnings(config, today()) {
        report::note(&warning);
    }
}

/// The flags every command takes (`--config`, `--output`, `--profile`, `--region`).
#[derive(Debug, Clone)]
pub struct Global {
    pub config: PathBuf,
    pub output: crate::report::OutputFormat,
    /// `--profile` and `--region`, for every command that loads AWS credentials.
    pub aws: AwsSelection,
    /// Ctrl-C, for the commands that run stages (never, for the others).
    pub stop: crate::core::stop::Stop,
}

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
    #[arg(long, value_name = "DURATION", default_value = crate::core::util::TARGET_TIMEOUT_ARG, value_parser = parse_duration)]
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

/// `90s`, `30m`, `1h30m`, or plain seconds; at most a week (the parser every duration
/// option and the configuration's `grace` share).
pub use crate::core::util::parse_duration;

/// Runs one stage's targets through the stage's engine: publishes what it needs, then
/// deploys under the stage's limits. `later`: the stages the same run deploys after this
/// one, as (targets, concurrency), for the progress bar's rollout ETA.
pub async fn run_stage(
    session: &mut Session,
    stage: &Stage,
    targets: Vec<Target>,
    options: EngineOptions,
    later: Vec<(usize, usize)>,
) -> Result<StageReport, Error> {
    let started = Instant::now();
    let engine = StageEngine::for_stage(session, stage, &targets, options, Work::Deploy).await?;
    Ok(deploy_stage(session, stage, &engine, targets, started, later).await)
}

/// Deploys `targets` with the stage's `engine` under the stage's limits: the stage's report,
/// with the retries since the previous stage.
pub async fn deploy_stage(
    session: &mut Session,
    stage: &Stage,
    engine: &StageEngine,
    targets: Vec<Target>,
    started: Instant,
    later: Vec<(usize, usize)>,
) -> StageReport {
    let progress = report::progress_of_rollout(
        stage.name.as_str(),
        targets.len(),
        report::ProgressKind::Deploy,
        later,
    );
    let stop = session.stop.clone();
    let run = engine
        .deploy(targets, Limits::of_stage(stage), progress, &stop)
        .await;
    let mut report = StageReport::from_run(stage.name.as_str(), &run, started.elapsed());
    // Retries since the previous stage (for the first: since the start, discovery and
    // publishing included).
    report.retries = session.retries_since_last_report();
    report
}

/// The question before a stage deploys, when `--yes` was not given. On a terminal: the
/// stage's stacks are read as `status` reads them (and, for the updates, the deployed rules
/// from one template per deployed hash), the operator sees what would change — counts, rule
/// changes, which rules will remediate — and answers `question`; a stage that would change
/// nothing goes on without a question. Without a terminal (a pipeline that did not say it
/// means to deploy) a stage goes on only if it would change nothing, else the run is
/// refused (exit 2) with the hint, as terraform refuses an unattended apply without
/// `-auto-approve`. `Ok(false)`: declined.
pub async fn confirm(
    session: &mut Session,
    stage: &Stage,
    targets: &[Target],
    question: &str,
) -> Result<bool, Error> {
    let interactive = interactive();
    let options = EngineOptions {
        fix_rollback: false,
        target_timeout: crate::core::util::TARGET_TIMEOUT,
    };
    let engine = StageEngine::for_stage(session, stage, targets, options, Work::Status).await?;
    let stop = session.stop.clone();
    let run = engine
        .status(
            targets.to_vec(),
            false,
            Limits::reads_of(stage),
            std::sync::Arc::new(crate::core::outcome::Silent),
            &stop,
        )
        .await
        .map_err(Error::Failed)?;
    if !interactive {
        let changes =
            crate::core::decide::unattended_changes(run.results.iter().map(|r| r.freshness));
        return match changes {
            None => Ok(true),
            Some(changes) => Err(Error::Input(format!(
                "stage `{}`: {changes} of {} targets, and there is no terminal to ask: add --yes to deploy without a question (`remedy plan --stage {}` shows what would change)",
                stage.name,
                targets.len(),
                stage.name
            ))),
        };
    }
    let desired = semantic::model(&session.rendered_for(stage).body);
    let mut by_hash: std::collections::BTreeMap<String, Target> = Default::default();
    for (row, target) in run.results.iter().zip(targets) {
        if let (Some(Freshness::Outdated), Some(hash)) = (row.freshness, row.hash.as_ref()) {
            by_hash
                .entry(hash.clone())
                .or_insert_with(|| target.clone());
        }
    }
    let templates = engine
        .deployed_templates(by_hash.into_iter().collect(), Limits::reads_of(stage))
        .await;
    let diffs = desired
        .as_ref()
        .map(|desired| semantic::diffs_by_hash(&templates, desired))
        .unwrap_or_default();
    let rows: Vec<(semantic::Step, Option<&[semantic::Change]>)> = run
        .results
        .iter()
        .map(|r| match r.freshness {
            Some(Freshness::Missing) => (semantic::Step::Create, None),
            Some(Freshness::Current) => (semantic::Step::Unchanged, None),
            Some(Freshness::Outdated) => (
                semantic::Step::Update,
                r.hash
                    .as_deref()
                    .and_then(|h| diffs.get(h))
                    .and_then(|d| d.as_ref().ok())
                    .map(Vec::as_slice),
            ),
            None => (semantic::Step::Other, None),
        })
        .collect();
    let preview = semantic::Preview::new(&rows, desired.as_ref());
    if preview.nothing_changes() {
        report::note(&format!(
            "stage `{}`: {} targets, nothing to change",
            stage.name,
            targets.len()
        ));
        return Ok(true);
    }
    report::note(&report::preview_text(stage.name.as_str(), &preview));
    ask(question, &session.stop).await
}

/// Prints a one-stage command's report, writes `--report FILE`, and gives its exit code.
pub fn finish_stage(
    session: &Session,
    report: &StageReport,
    output: report::OutputFormat,
    markdown: Option<&Path>,
    title: &str,
) -> Result<i32, Error> {
    let stop = &session.stop;
    let audit = session.audit(session.config.stage(&report.stage).ok());
    report::print_stage(report, Some(&audit), output);
    write_markdown(markdown, title, std::slice::from_ref(report), Some(&audit))?;
    Ok(if report.interrupted || stop.interrupted() {
        crate::core::error::exit::INTERRUPTED
    } else if report.summary.failed > 0 {
        crate::core::error::exit::FAILED
    } else {
        crate::core::error::exit::OK
    })
}

/// Writes `--report FILE`, if asked. A report that cannot be written is an error of the
/// command (exit 1), after the stage reports have been printed.
pub fn write_markdown(
    path: Option<&Path>,
    title: &str,
    reports: &[StageReport],
    audit: Option<&crate::core::outcome::Audit>,
) -> Result<(), Error> {
    let Some(path) = path else {
        return Ok(());
    };
    write_file(path, "--report", &report::markdown(title, reports, audit))
}

/// Writes a file a flag asked for (`--report`, `--csv`), making its folder. One that cannot
/// be written is an error of the command (exit 1), after the report has been printed.
pub(crate) fn write_file(path: &Path, flag: &str, text: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Failed(format!("{flag} {}: {e}", path.display())))?;
    }
    std::fs::write(path, text).map_err(|e| Error::Failed(format!("{flag} {}: {e}", path.display())))
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
