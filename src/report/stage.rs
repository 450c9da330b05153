//! A stage's report: `remedy deploy`, `onboard`, and each stage of `rollout` — a table of
//! the targets that need attention and a summary line, or the JSON stage document.

use super::json::{RolloutDoc, RunDoc, StageDoc};
use super::output::{print_json, OutputFormat};
use crate::core::outcome::{Audit, StageReport, StageStatus, TargetReport};
use std::collections::BTreeMap;
use std::io::Write;

/// Prints a stage's report on stdout.
pub fn print_stage(report: &StageReport, audit: Option<&Audit>, format: OutputFormat) {
    match format {
        OutputFormat::Json => {
            let mut doc = StageDoc::new(report);
            doc.run = audit.map(RunDoc::new);
            print_json(&doc)
        }
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

pub fn print_rollout(reports: &[StageReport], audit: Option<&Audit>, format: OutputFormat) {
    if format == OutputFormat::Json {
        let mut doc = RolloutDoc::new(reports);
        doc.run = audit.map(RunDoc::new);
        print_json(&doc);
    }
}

pub(super) fn print_stage_text(report: &StageReport) {
    let _ = std::io::stdout()
        .lock()
        .write_all(stage_text(report).as_bytes());
}

/// The stage's word in the text and Markdown reports.
pub(super) fn status_word(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Completed => "completed",
        StageStatus::Failed => "FAILED",
        StageStatus::Interrupted => "interrupted",
        StageStatus::AwaitingApproval => "awaiting approval",
        StageStatus::NotStarted => "not started",
    }
}

/// The targets that need attention, failed first, then skipped for a reason of their own;
/// and the untouched ones (never started), counted per reason: "41 targets not started:
/// the run was interrupted (Ctrl-C)".
pub(super) fn attention(report: &StageReport) -> (Vec<&TargetReport>, Vec<(usize, &str)>) {
    let listed = |outcome: &'static str| {
        report
            .targets
            .iter()
            .filter(move |t| t.outcome == outcome && !t.not_started)
    };
    let rows = listed("failed").chain(listed("skipped")).collect();
    let mut folded: Vec<(usize, &str)> = Vec::new();
    for t in report.targets.iter().filter(|t| t.not_started) {
        let reason = t.reason.as_deref().unwrap_or("not started");
        match folded.iter_mut().find(|(_, r)| *r == reason) {
            Some((n, _)) => *n += 1,
            None => folded.push((1, reason)),
        }
    }
    (rows, folded)
}

/// "41 targets not started: the run was interrupted (Ctrl-C)"
pub(super) fn folded_line(n: usize, reason: &str) -> String {
    let targets = if n == 1 { "target" } else { "targets" };
    format!("{n} {targets} {reason}")
}

fn stage_text(report: &StageReport) -> String {
    let mut out = String::new();
    let status = status_word(report.status);
    if let Some(note) = &report.note {
        out.push_str(&format!("stage {}: {status} — {note}\n", report.stage));
        return out;
    }
    let (rows, folded) = attention(report);
    if !rows.is_empty() {
        let mut table = super::table::Table::new([
            "ACCOUNT",
            "NAME",
            "REGION",
            "OUTCOME",
            "STACK STATUS",
            "REASON",
        ]);
        for t in rows {
            table.row([
                t.account_id.clone(),
                t.account_name.clone(),
                t.region.clone(),
                t.outcome.to_owned(),
                t.stack_status.clone().unwrap_or_else(|| "-".into()),
                t.reason.clone().unwrap_or_default(),
            ]);
        }
        out.push_str(&table.render(None));
    }
    for (n, reason) in folded {
        out.push_str(&format!("{}\n", folded_line(n, reason)));
    }
    out.push_str(&format!(
        "stage {}: {status} — {} ({:.1}s)\n",
        report.stage,
        summary_line(report),
        report.elapsed.as_secs_f64()
    ));
    if !report.retries.is_empty() {
        out.push_str(&format!("  retries: {}\n", retries_line(&report.retries)));
    }
    if let Some(line) = stack_time_line(report) {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// "stack time: median 1m32s, p95 1m58s (950 operations)"
pub(super) fn stack_time_line(report: &StageReport) -> Option<String> {
    let f = report.stack_time?;
    let operations = match f.operations {
        1 => "1 operation".to_owned(),
        n => format!("{n} operations"),
    };
    Some(format!(
        "stack time: median {}, p95 {} ({operations})",
        humanize_tenths(f.median),
        humanize_tenths(f.p95)
    ))
}

/// `0.4s` under ten seconds, else whole seconds as `humanize` writes them.
fn humanize_tenths(d: std::time::Duration) -> String {
    if d < std::time::Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        crate::core::util::humanize(std::time::Duration::from_secs(d.as_secs()))
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
/// A removal (`remedy remove`): "3 targets: 2 removed, 1 absent, 0 failed, 0 skipped"; a
/// deploy that pruned adds ", 2 removed".
pub(super) fn summary_line(report: &StageReport) -> String {
    let s = &report.summary;
    if s.created + s.updated + s.unchanged == 0 && s.removed + s.absent > 0 {
        return format!(
            "{} targets: {} removed, {} absent, {} failed, {} skipped",
            report.targets.len(),
            s.removed,
            s.absent,
            s.failed,
            s.skipped
        );
    }
    let pruned = if s.removed > 0 {
        format!(", {} removed", s.removed)
    } else {
        String::new()
    };
    format!(
        "{} targets: {} created, {} updated, {} unchanged, {} failed, {} skipped{pruned}",
        report.targets.len(),
        s.created,
        s.updated,
        s.unchanged,
        s.failed,
        s.skipped
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::outcome::Summary;
    use std::time::Duration;

    fn target(
        id: &str,
        outcome: &'static str,
        reason: Option<&str>,
        not_started: bool,
    ) -> TargetReport {
        TargetReport {
            account_id: id.into(),
            account_name: format!("name-{id}"),
            region: "us-east-1".into(),
            outcome,
            stack_status: None,
            reason: reason.map(str::to_owned),
            not_started,
        }
    }

    #[test]
    fn an_interrupted_report_lists_failures_first_and_folds_the_untouched_targets() {
        let interrupted = "not started: the run was interrupted (Ctrl-C)";
        let mut targets = vec![
            target("000000000001", "created", None, false),
            target(
                "000000000002",
                "skipped",
                Some("stopped waiting at Ctrl-C"),
                false,
            ),
            target(
                "000000000003",
                "failed",
                Some("stack ended ROLLBACK_COMPLETE"),
                false,
            ),
        ];
        for i in 4..45 {
            targets.push(target(
                &format!("{i:012}"),
                "skipped",
                Some(interrupted),
                true,
            ));
        }
        let report = StageReport {
            stage: "fleet".into(),
            status: StageStatus::Failed,
            summary: Summary {
                created: 1,
                failed: 1,
                skipped: 42,
                ..Summary::default()
            },
            targets,
            retries: BTreeMap::new(),
            elapsed: Duration::from_secs(3),
            note: None,
            interrupted: true,
            stack_time: None,
        };
        let text = stage_text(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ACCOUNT"), "{text}");
        let cells = |line: &str| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            cells(lines[1])[..4],
            ["000000000003", "name-000000000003", "us-east-1", "failed"],
            "{text}"
        );
        assert_eq!(
            cells(lines[2])[..4],
            ["000000000002", "name-000000000002", "us-east-1", "skipped"],
            "{text}"
        );
        assert_eq!(
            lines[3],
            "41 targets not started: the run was interrupted (Ctrl-C)"
        );
        assert!(
            lines[4].starts_with("stage fleet: FAILED — 44 targets: 1 created"),
            "{text}"
        );
        assert_eq!(lines.len(), 5, "{text}");

        // No failure: interrupted, not FAILED.
        let calm = StageReport {
            status: StageStatus::Interrupted,
            targets: report.targets[3..].to_vec(),
            ..report
        };
        let text = stage_text(&calm);
        assert_eq!(
            text.lines().next(),
            Some("41 targets not started: the run was interrupted (Ctrl-C)")
        );
        assert!(
            text.contains("stage fleet: interrupted — 41 targets"),
            "{text}"
        );
        assert!(!text.contains("FAILED"), "{text}");
    }
}
