//! Reporting: the only module that knows about terminals, colours, progress bars and the
//! JSON shapes of DESIGN.md. Engines hand it plain results.
//!
//! - While a stage runs: an indicatif bar on stderr when stderr is a terminal (done/total,
//!   created/updated/unchanged/failed counts, elapsed, ETA), else one plain log line per
//!   finished target on stderr.
//! - When it ends: `--output json` prints exactly one JSON document on stdout; text output
//!   prints a table of the targets that need attention and a summary line.

use crate::core::decide::{plan_summary, Freshness, PlanAction};
use crate::core::outcome::{InspectedTarget, PlannedTarget};
use crate::core::outcome::{Outcome, Progress, Seen};
use crate::core::outcome::{StageReport, StageStatus, TargetReport};
use crate::core::stack::ResourceChange;
use crate::core::stop::Stop;
use crate::core::targets::{Resolution, TargetAccount};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Prints a stage's report on stdout.
pub fn print_stage(report: &StageReport, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(report),
        OutputFormat::Text => print_stage_text(report),
    }
}

/// `remedy rollout`: each stage's text as it ends; the JSON document (`{"stages": […]}`)
/// once, at the end.
pub fn print_rollout_stage(report: &StageReport, format: OutputFormat) {
    if format == OutputFormat::Text {
        print_stage_text(report);
    }
}

pub fn print_rollout(reports: &[StageReport], format: OutputFormat) {
    #[derive(Serialize)]
    struct Doc<'a> {
        stages: &'a [StageReport],
    }
    if format == OutputFormat::Json {
        print_json(&Doc { stages: reports });
    }
}

fn print_stage_text(report: &StageReport) {
    let mut out = std::io::stdout().lock();
    let status = match report.status {
        StageStatus::Completed => "completed",
        StageStatus::Failed => "FAILED",
        StageStatus::AwaitingApproval => "awaiting approval",
        StageStatus::NotStarted => "not started",
    };
    if let Some(note) = &report.note {
        let _ = writeln!(out, "stage {}: {status} — {note}", report.stage);
        return;
    }
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
    let _ = writeln!(
        out,
        "stage {}: {status} — {} ({:.1}s)",
        report.stage,
        summary_line(report),
        report.elapsed.as_secs_f64()
    );
    if !report.retries.is_empty() {
        let _ = writeln!(out, "  retries: {}", retries_line(&report.retries));
    }
}

/// "CloudFormation.DescribeStacks 12, STS.AssumeRole 3"
fn retries_line(retries: &BTreeMap<String, u64>) -> String {
    retries
        .iter()
        .map(|(api, n)| format!("{api} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "3 targets: 2 created, 0 updated, 1 unchanged, 0 failed, 0 skipped".
fn summary_line(report: &StageReport) -> String {
    let s = &report.summary;
    format!(
        "{} targets: {} created, {} updated, {} unchanged, {} failed, {} skipped",
        report.targets.len(),
        s.created,
        s.updated,
        s.unchanged,
        s.failed,
        s.skipped
    )
}

/// The Markdown summary `--report FILE` writes: per stage its status, counts, duration and
/// the targets that failed or were skipped, with their reasons. For a CodePipeline artefact
/// or a chat message.
pub fn markdown(title: &str, reports: &[StageReport]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let mut md = format!("# {title}\n\n");
    md.push_str("| stage | status | targets | created | updated | unchanged | failed | skipped | duration |\n");
    md.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for r in reports {
        let s = &r.summary;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1}s |\n",
            cell(&r.stage),
            status_word(r.status),
            r.targets.len(),
            s.created,
            s.updated,
            s.unchanged,
            s.failed,
            s.skipped,
            r.elapsed.as_secs_f64()
        ));
    }
    for r in reports {
        md.push_str(&format!(
            "\n## {} — {}\n\n",
            cell(&r.stage),
            status_word(r.status)
        ));
        if let Some(note) = &r.note {
            md.push_str(&format!("{}\n", cell(note)));
            continue;
        }
        md.push_str(&format!(
            "{} in {:.1}s.\n",
            summary_line(r),
            r.elapsed.as_secs_f64()
        ));
        if !r.retries.is_empty() {
            md.push_str(&format!(
                "\nRetries (AWS pushing back): {}.\n",
                retries_line(&r.retries)
            ));
        }
        let attention: Vec<&TargetReport> = r
            .targets
            .iter()
            .filter(|t| matches!(t.outcome, "failed" | "skipped"))
            .collect();
        if !attention.is_empty() {
            md.push_str("\n| account | region | outcome | stack status | reason |\n| --- | --- | --- | --- | --- |\n");
            for t in attention {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    t.account_id,
                    t.region,
                    t.outcome,
                    t.stack_status.as_deref().unwrap_or("-"),
                    cell(t.reason.as_deref().unwrap_or(""))
                ));
            }
        }
    }
    md
}

fn status_word(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Completed => "completed",
        StageStatus::Failed => "failed",
        StageStatus::AwaitingApproval => "awaiting approval",
        StageStatus::NotStarted => "not started",
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
    progress(stage, total, ProgressKind::Deploy)
}

/// What a progress display counts: the words of its five buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressKind {
    /// created · updated · unchanged · failed · skipped
    Deploy,
    /// create · update · unchanged · blocked · skipped
    Plan,
    /// missing · outdated · current · unreadable · skipped
    Status,
}

impl ProgressKind {
    fn words(self) -> [&'static str; 5] {
        match self {
            ProgressKind::Deploy => ["created", "updated", "unchanged", "failed", "skipped"],
            ProgressKind::Plan => ["create", "update", "unchanged", "blocked", "skipped"],
            ProgressKind::Status => ["missing", "outdated", "current", "unreadable", "skipped"],
        }
    }
}

/// A progress bar on a terminal, else one line per finished target on stderr.
pub fn progress(stage: &str, total: usize, kind: ProgressKind) -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(BarProgress::new(stage, total, kind))
    } else {
        Arc::new(LineProgress {
            stage: stage.to_owned(),
            total,
            done: AtomicUsize::new(0),
        })
    }
}

struct Counts {
    words: [&'static str; 5],
    created: AtomicUsize,
    updated: AtomicUsize,
    unchanged: AtomicUsize,
    failed: AtomicUsize,
    skipped: AtomicUsize,
}

impl Counts {
    fn new(kind: ProgressKind) -> Counts {
        Counts {
            words: kind.words(),
            created: AtomicUsize::new(0),
            updated: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
        }
    }

    fn add(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Created => &self.created,
            Outcome::Updated => &self.updated,
            Outcome::Unchanged => &self.unchanged,
            Outcome::Failed => &self.failed,
            Outcome::Skipped => &self.skipped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The bar's message; the skipped bucket only once a target was skipped.
    fn message(&self) -> String {
        let [created, updated, unchanged, failed, skipped] = self.words;
        let n = |c: &AtomicUsize| c.load(Ordering::Relaxed);
        let mut message = format!(
            "{created} {} · {updated} {} · {unchanged} {} · {failed} {}",
            n(&self.created),
            n(&self.updated),
            n(&self.unchanged),
            n(&self.failed)
        );
        if n(&self.skipped) > 0 {
            message.push_str(&format!(" · {skipped} {}", n(&self.skipped)));
        }
        message
    }
}

struct BarProgress {
    bar: ProgressBar,
    counts: Counts,
}

impl BarProgress {
    fn new(stage: &str, total: usize, kind: ProgressKind) -> BarProgress {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>10.bold} [{bar:32.cyan/blue}] {pos}/{len} {msg}  {elapsed_precise} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(stage.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        let counts = Counts::new(kind);
        bar.set_message(counts.message());
        BarProgress { bar, counts }
    }
}

impl Progress for BarProgress {
    fn finished(&self, result: &Seen<'_>) {
        self.counts.add(result.outcome);
        self.bar.set_message(self.counts.message());
        self.bar.inc(1);
        if result.outcome == Outcome::Failed {
            self.bar.println(format!(
                "  {} {} {}: {}",
                result.word,
                result.account_id,
                result.region,
                result.reason.unwrap_or("")
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
    fn finished(&self, r: &Seen<'_>) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "[{}] {done}/{} {} {} {}{}{}",
            self.stage,
            self.total,
            r.account_id,
            r.region,
            r.word,
            r.stack_status.map(|s| format!(" {s}")).unwrap_or_default(),
            r.reason.map(|s| format!(": {s}")).unwrap_or_default()
        );
    }
}

/// Whether someone can answer a question: stdin and stderr are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question on the terminal; only called when [`interactive`]. A Ctrl-C
/// while it waits ends the command (exit 130) with nothing done after it.
pub async fn ask(question: &str, stop: &Stop) -> Result<bool, crate::core::error::Error> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let read = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer)
    });
    tokio::select! {
        () = stop.first() => Err(crate::core::error::Error::Interrupted(
            "interrupted at the question; nothing was deployed after it".into(),
        )),
        answer = read => {
            let answer = answer
                .map_err(|e| crate::core::error::Error::Failed(format!("cannot read the answer: {e}")))?
                .map_err(|e| crate::core::error::Error::Failed(format!("cannot read the answer: {e}")))?;
            Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
        }
    }
}

/// A line for the operator on stderr (stdout stays the report's).
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
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

/// `remedy plan`: per target its action and resource changes, and the aggregate line.
pub fn print_plan(stage: &str, planned: &[PlannedTarget], kept: bool, format: OutputFormat) {
    let actions: Vec<PlanAction> = planned.iter().map(|p| p.action).collect();
    let summary = plan_summary(&actions);
    match format {
        OutputFormat::Json => {
            #[derive(Serialize)]
            struct Target<'a> {
                account_id: &'a str,
                region: &'a str,
                action: PlanAction,
                stack_status: Option<&'a str>,
                changes: &'a [ResourceChange],
                reason: Option<&'a str>,
            }
            #[derive(Serialize)]
            struct Doc<'a> {
                stage: &'a str,
                summary: String,
                kept: bool,
                targets: Vec<Target<'a>>,
            }
            print_json(&Doc {
                stage,
                summary,
                kept,
                targets: planned
                    .iter()
                    .map(|p| Target {
                        account_id: &p.account_id,
                        region: &p.region,
                        action: p.action,
                        stack_status: p.stack_status.as_deref(),
                        changes: &p.changes,
                        reason: p.reason.as_deref(),
                    })
                    .collect(),
            });
        }
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{:<14} {:<16} {:<10} {:<8} DETAIL",
                "ACCOUNT", "REGION", "ACTION", "CHANGES"
            );
            for p in planned {
                let _ = writeln!(
                    out,
                    "{:<14} {:<16} {:<10} {:<8} {}",
                    p.account_id,
                    p.region,
                    p.action.as_str(),
                    p.changes.len(),
                    p.reason.as_deref().unwrap_or("")
                );
                // Updates are usually small and worth reading; a create lists everything.
                if matches!(p.action, PlanAction::Update | PlanAction::Replace) {
                    for c in &p.changes {
                        let _ = writeln!(
                            out,
                            "    {:<8} {} ({}){}",
                            c.action,
                            c.logical_id,
                            c.resource_type,
                            match c.replacement.as_deref() {
                                Some("True") => " — replaced",
                                Some("Conditional") => " — may be replaced",
                                _ => "",
                            }
                        );
                    }
                }
            }
            let _ = writeln!(out, "stage {stage}: {summary}");
            if kept {
                let _ = writeln!(
                    out,
                    "the change sets were kept: `remedy deploy --stage {stage}` executes them"
                );
            }
        }
    }
}

/// `remedy status`: per target the deployed stack and how it compares with this build.
pub fn print_status(rows: &[(String, InspectedTarget)], format: OutputFormat) {
    let state = |r: &InspectedTarget| match r.freshness {
        Some(Freshness::Current) => "current",
        Some(Freshness::Outdated) => "outdated",
        Some(Freshness::Missing) => "missing",
        None => "unknown",
    };
    let count = |word: &str| rows.iter().filter(|(_, r)| state(r) == word).count();
    match format {
        OutputFormat::Json => {
            #[derive(Serialize)]
            struct Row<'a> {
                stage: &'a str,
                account_id: &'a str,
                account_name: &'a str,
                region: &'a str,
                stack_status: Option<&'a str>,
                version: Option<&'a str>,
                hash: Option<&'a str>,
                state: &'a str,
                #[serde(skip_serializing_if = "Option::is_none")]
                drift: Option<&'a str>,
                reason: Option<&'a str>,
            }
            #[derive(Serialize)]
            struct Counts {
                current: usize,
                outdated: usize,
                missing: usize,
                unknown: usize,
            }
            #[derive(Serialize)]
            struct Doc<'a> {
                summary: Counts,
                targets: Vec<Row<'a>>,
            }
            print_json(&Doc {
                summary: Counts {
                    current: count("current"),
                    outdated: count("outdated"),
                    missing: count("missing"),
                    unknown: count("unknown"),
                },
                targets: rows
                    .iter()
                    .map(|(stage, r)| Row {
                        stage,
                        account_id: &r.account_id,
                        account_name: &r.account_name,
                        region: &r.region,
                        stack_status: r.stack_status.as_deref(),
                        version: r.version.as_deref(),
                        hash: r.hash.as_deref(),
                        state: state(r),
                        drift: r.drift.as_deref(),
                        reason: r.reason.as_deref(),
                    })
                    .collect(),
            });
        }
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let drift = rows.iter().any(|(_, r)| r.drift.is_some());
            let _ = writeln!(
                out,
                "{:<10} {:<14} {:<24} {:<16} {:<26} {:<9} {:<14} {:<9}{}",
                "STAGE",
                "ACCOUNT",
                "NAME",
                "REGION",
                "STACK STATUS",
                "VERSION",
                "HASH",
                "STATE",
                if drift { " DRIFT" } else { "" }
            );
            for (stage, r) in rows {
                let _ = writeln!(
                    out,
                    "{:<10} {:<14} {:<24} {:<16} {:<26} {:<9} {:<14} {:<9}{}{}",
                    stage,
                    r.account_id,
                    r.account_name.chars().take(24).collect::<String>(),
                    r.region,
                    r.stack_status.as_deref().unwrap_or("-"),
                    r.version.as_deref().unwrap_or("-"),
                    r.hash
                        .as_deref()
                        .map(|h| h.chars().take(12).collect::<String>())
                        .unwrap_or_else(|| "-".into()),
                    state(r),
                    r.drift
                        .as_deref()
                        .map(|d| format!(" {d}"))
                        .unwrap_or_default(),
                    r.reason
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default(),
                );
            }
            let _ = writeln!(
                out,
                "{} targets: {} current, {} outdated, {} missing, {} unknown",
                rows.len(),
                count("current"),
                count("outdated"),
                count("missing"),
                count("unknown")
            );
        }
    }
}

/// `remedy publish`: what is where, and what this run uploaded.
pub fn print_publish(
    hash: &str,
    release_key: &str,
    uploads: &[crate::core::outcome::Upload],
    format: OutputFormat,
) {
    match format {
        OutputFormat::Json => print_json(&serde_json::json!({
            "hash": hash,
            "release": release_key,
            "uploaded": uploads.iter().filter(|u| u.uploaded).count(),
            "skipped": uploads.iter().filter(|u| !u.uploaded).count(),
            "objects": uploads,
        })),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            for u in uploads {
                let _ = writeln!(
                    out,
                    "{:<9} s3://{}/{}",
                    if u.uploaded { "uploaded" } else { "present" },
                    u.bucket,
                    u.key
                );
            }
            let _ = writeln!(
                out,
                "release {release_key}: {} uploaded, {} already there",
                uploads.iter().filter(|u| u.uploaded).count(),
                uploads.iter().filter(|u| !u.uploaded).count()
            );
        }
    }
}

/// `remedy rules`: the catalog.
pub fn print_rules(rules: &[&remedy_functions::RuleSpec], output: OutputFormat) {
    match output {
        OutputFormat::Json => print_json(&rules),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{:<18} {:<10} {:<9} {:<10} TITLE / IAM ACTIONS",
                "RULE", "SERVICE", "RISK", "MODE"
            );
            for r in rules {
                let _ = writeln!(
                    out,
                    "{:<18} {:<10} {:<9} {:<10} {}\n{:<50} {}",
                    r.id,
                    r.service,
                    r.risk.as_str(),
                    r.default_mode.as_str(),
                    r.title,
                    "",
                    r.iam_actions.join(", ")
                );
            }
        }
    }
}

/// `remedy template`: the rendered template, as is, on stdout.
pub fn print_template(body: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(body.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::outcome::Summary;
    use std::time::Duration;

    #[test]
    fn the_progress_bar_counts_skipped_targets_as_skipped_not_failed() {
        let counts = Counts::new(ProgressKind::Deploy);
        counts.add(Outcome::Created);
        counts.add(Outcome::Failed);
        counts.add(Outcome::Skipped);
        counts.add(Outcome::Skipped);
        assert_eq!(
            counts.message(),
            "created 1 · updated 0 · unchanged 0 · failed 1 · skipped 2"
        );
        let plan = Counts::new(ProgressKind::Plan);
        plan.add(Outcome::Failed);
        assert_eq!(
            plan.message(),
            "create 0 · update 0 · unchanged 0 · blocked 1"
        );
    }

    #[test]
    fn markdown_lists_stages_counts_and_failed_targets() {
        let failed = TargetReport {
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            outcome: "failed",
            stack_status: Some("ROLLBACK_COMPLETE".into()),
            reason: Some("Topic | Queue\nfailed".into()),
        };
        let dev = StageReport {
            stage: "dev".into(),
            status: StageStatus::Completed,
            summary: Summary {
                created: 1,
                failed: 1,
                ..Summary::default()
            },
            targets: vec![
                failed.clone(),
                TargetReport {
                    outcome: "created",
                    reason: None,
                    ..failed
                },
            ],
            retries: BTreeMap::new(),
            elapsed: Duration::from_millis(12_340),
            note: None,
            interrupted: false,
        };
        let prod = StageReport::not_run(
            "prod",
            StageStatus::AwaitingApproval,
            "approval required: run again with --approve prod".into(),
        );
        let md = markdown("remedy rollout", &[dev, prod]);
        assert!(md.starts_with("# remedy rollout\n"), "{md}");
        assert!(
            md.contains("| dev | completed | 2 | 1 | 0 | 0 | 1 | 0 | 12.3s |"),
            "{md}"
        );
        assert!(md.contains("| prod | awaiting approval | 0 |"), "{md}");
        assert!(
            md.contains("| 111111111111 | us-east-1 | failed | ROLLBACK_COMPLETE | Topic \\| Queue failed |"),
            "{md}"
        );
        assert!(
            md.contains("## prod — awaiting approval\n\napproval required"),
            "{md}"
        );
        assert_eq!(
            md.matches("111111111111").count(),
            1,
            "only the failed target is listed"
        );
    }
}
