//! Reporting: the only module that knows about terminals, colours, progress bars and the
//! JSON shapes of DESIGN.md. Engines hand it plain results.
//!
//! - While a stage runs: an indicatif bar on stderr when stderr is a terminal (done/total,
//!   created/updated/unchanged/failed counts, elapsed, ETA), else one plain log line per
//!   finished target on stderr.
//! - When it ends: `--output json` prints exactly one JSON document on stdout; text output
//!   prints a table of the targets that need attention and a summary line.

use crate::runner::{Outcome, Progress, StageRun, TargetResult};
use crate::targets::{Resolution, TargetAccount};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// DESIGN.md's stage document.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    pub stage: String,
    pub status: StageStatus,
    pub summary: Summary,
    pub targets: Vec<TargetReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    Completed,
    Failed,
    AwaitingApproval,
    NotStarted,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub skipped: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub account_id: String,
    pub region: String,
    pub outcome: &'static str,
    pub stack_status: Option<String>,
    pub reason: Option<String>,
}

impl StageReport {
    pub fn from_run(stage: &str, run: &StageRun) -> StageReport {
        let summary = Summary {
            created: run.count(Outcome::Created),
            updated: run.count(Outcome::Updated),
            unchanged: run.count(Outcome::Unchanged),
            failed: run.count(Outcome::Failed),
            skipped: run.count(Outcome::Skipped),
        };
        StageReport {
            stage: stage.to_owned(),
            status: if run.tolerance_exceeded {
                StageStatus::Failed
            } else {
                StageStatus::Completed
            },
            summary,
            targets: run
                .results
                .iter()
                .map(|r| TargetReport {
                    account_id: r.account_id.clone(),
                    region: r.region.clone(),
                    outcome: r.outcome.as_str(),
                    stack_status: r.stack_status.clone(),
                    reason: r.reason.clone(),
                })
                .collect(),
        }
    }
}

/// Prints a stage's report on stdout.
pub fn print_stage(report: &StageReport, format: OutputFormat, elapsed: std::time::Duration) {
    match format {
        OutputFormat::Json => print_json(report),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let attention: Vec<&TargetReport> = report
                .targets
                .iter()
                .filter(|t| matches!(t.outcome, "failed" | "skipped"))
                .collect();
            if !attention.is_empty() {
                let _ = writeln!(
                    out,
                    "{:<14} {:<16} {:<10} {:<22} REASON",
                    "ACCOUNT", "REGION", "OUTCOME", "STACK STATUS"
                );
                for t in attention {
                    let _ = writeln!(
                        out,
                        "{:<14} {:<16} {:<10} {:<22} {}",
                        t.account_id,
                        t.region,
                        t.outcome,
                        t.stack_status.as_deref().unwrap_or("-"),
                        t.reason.as_deref().unwrap_or("")
                    );
                }
            }
            let s = &report.summary;
            let _ = writeln!(
                out,
                "stage {}: {} — {} targets: {} created, {} updated, {} unchanged, {} failed, {} skipped ({:.1}s)",
                report.stage,
                match report.status {
                    StageStatus::Completed => "completed",
                    StageStatus::Failed => "FAILED",
                    StageStatus::AwaitingApproval => "awaiting approval",
                    StageStatus::NotStarted => "not started",
                },
                report.targets.len(),
                s.created,
                s.updated,
                s.unchanged,
                s.failed,
                s.skipped,
                elapsed.as_secs_f64()
            );
        }
    }
}

/// `remedy accounts`: the resolved targets of a stage.
pub fn print_accounts(stage: &str, resolution: &Resolution, format: OutputFormat) {
    #[derive(Serialize)]
    struct Account<'a> {
        account_id: &'a str,
        name: &'a str,
        ou_path: &'a str,
    }
    #[derive(Serialize)]
    struct PassedOver<'a> {
        account_id: &'a str,
        reason: &'a str,
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        stage: &'a str,
        accounts: Vec<Account<'a>>,
        passed_over: Vec<PassedOver<'a>>,
    }
    fn account(a: &TargetAccount) -> Account<'_> {
        Account {
            account_id: &a.id,
            name: &a.name,
            ou_path: &a.ou_path,
        }
    }
    match format {
        OutputFormat::Json => print_json(&Doc {
            stage,
            accounts: resolution.accounts.iter().map(account).collect(),
            passed_over: resolution
                .passed_over
                .iter()
                .map(|(id, why)| PassedOver {
                    account_id: id,
                    reason: why,
                })
                .collect(),
        }),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{:<14} {:<32} OU PATH", "ACCOUNT", "NAME");
            for a in &resolution.accounts {
                let _ = writeln!(out, "{:<14} {:<32} {}", a.id, a.name, a.ou_path);
            }
            for (id, why) in &resolution.passed_over {
                let _ = writeln!(out, "# {id} passed over: {why}");
            }
            let _ = writeln!(out, "stage {stage}: {} accounts", resolution.accounts.len());
        }
    }
}

pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        }
        Err(e) => tracing::error!("cannot write the JSON report: {e}"),
    }
}

/// The progress display for a stage of `total` targets: a bar on a terminal, log lines
/// otherwise.
pub fn stage_progress(stage: &str, total: usize) -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(BarProgress::new(stage, total))
    } else {
        Arc::new(LineProgress {
            stage: stage.to_owned(),
            total,
            done: AtomicUsize::new(0),
        })
    }
}

#[derive(Default)]
struct Counts {
    created: AtomicUsize,
    updated: AtomicUsize,
    unchanged: AtomicUsize,
    failed: AtomicUsize,
}

impl Counts {
    fn add(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Created => &self.created,
            Outcome::Updated => &self.updated,
            Outcome::Unchanged => &self.unchanged,
            Outcome::Failed | Outcome::Skipped => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn message(&self) -> String {
        format!(
            "created {} · updated {} · unchanged {} · failed {}",
            self.created.load(Ordering::Relaxed),
            self.updated.load(Ordering::Relaxed),
            self.unchanged.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed)
        )
    }
}

struct BarProgress {
    bar: ProgressBar,
    counts: Counts,
}

impl BarProgress {
    fn new(stage: &str, total: usize) -> BarProgress {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>10.bold} [{bar:32.cyan/blue}] {pos}/{len} {msg}  {elapsed_precise} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(stage.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        let counts = Counts::default();
        bar.set_message(counts.message());
        BarProgress { bar, counts }
    }
}

impl Progress for BarProgress {
    fn finished(&self, result: &TargetResult) {
        self.counts.add(result.outcome);
        self.bar.set_message(self.counts.message());
        self.bar.inc(1);
        if result.outcome == Outcome::Failed {
            self.bar.println(format!(
                "  failed {} {}: {}",
                result.account_id,
                result.region,
                result.reason.as_deref().unwrap_or("")
            ));
        }
        if self.bar.position() >= self.bar.length().unwrap_or(0) {
            self.bar.finish();
        }
    }
}

struct LineProgress {
    stage: String,
    total: usize,
    done: AtomicUsize,
}

impl Progress for LineProgress {
    fn finished(&self, r: &TargetResult) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "[{}] {done}/{} {} {} {}{}{}",
            self.stage,
            self.total,
            r.account_id,
            r.region,
            r.outcome.as_str(),
            r.stack_status
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default(),
            r.reason
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        );
    }
}

/// A run's start time, for the summary line.
pub fn started() -> Instant {
    Instant::now()
}

/// `remedy remediate`: DESIGN.md's `{"rule_id", "outcome", "actions", "reason"}`, or lines.
pub fn print_remediation(
    rule_id: Option<&str>,
    report: &remedy_functions::rule::Report,
    format: OutputFormat,
) {
    #[derive(Serialize)]
    struct Document<'a> {
        rule_id: Option<&'a str>,
        outcome: remedy_functions::rule::Outcome,
        actions: &'a [String],
        reason: Option<&'a str>,
    }
    match format {
        OutputFormat::Json => print_json(&Document {
            rule_id,
            outcome: report.outcome,
            actions: &report.actions,
            reason: report.reason.as_deref(),
        }),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{}: {}",
                rule_id.unwrap_or("?"),
                report.outcome.as_str()
            );
            for action in &report.actions {
                let _ = writeln!(out, "  - {action}");
            }
            if let Some(reason) = &report.reason {
                let _ = writeln!(out, "  ({reason})");
            }
        }
    }
}
