//! A stage's report: `remedy deploy`, `onboard`, and each stage of `rollout` — a table of
//! the targets that need attention and a summary line, or the JSON stage document.

use super::json::{RolloutDoc, StageDoc};
use super::output::{print_json, OutputFormat};
use crate::core::outcome::{StageReport, StageStatus, TargetReport};
use std::collections::BTreeMap;
use std::io::Write;

/// Prints a stage's report on stdout.
pub fn print_stage(report: &StageReport, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&StageDoc::new(report)),
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
    if format == OutputFormat::Json {
        print_json(&RolloutDoc::new(reports));
    }
}

pub(super) fn print_stage_text(report: &StageReport) {
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
pub(super) fn retries_line(retries: &BTreeMap<String, u64>) -> String {
    retries
        .iter()
        .map(|(api, n)| format!("{api} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "3 targets: 2 created, 0 updated, 1 unchanged, 0 failed, 0 skipped".
pub(super) fn summary_line(report: &StageReport) -> String {
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
