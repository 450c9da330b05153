//! `remedy plan`.

use super::json::PlanDoc;
use super::output::{print_json, OutputFormat};
use crate::core::decide::{plan_summary, PlanAction};
use crate::core::outcome::{Layout, PlannedTarget, Stray};
use std::io::Write;

/// `remedy plan`: per target its action and resource changes, the aggregate line, what the
/// stacks hold (per account and for the fleet) and the strays.
pub fn print_plan(
    stage: &str,
    planned: &[PlannedTarget],
    kept: bool,
    layout: &Layout,
    format: OutputFormat,
) {
    let actions: Vec<PlanAction> = planned.iter().map(|p| p.action).collect();
    let summary = plan_summary(&actions);
    match format {
        OutputFormat::Json => print_json(&PlanDoc::new(stage, summary, kept, planned, layout)),
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
            let f = &layout.footprint;
            let n = layout.accounts;
            let _ = writeln!(
                out,
                "one stack per account in {}, remediating {} (and global findings)",
                layout.home,
                layout.covered.join(", ")
            );
            let _ = writeln!(
                out,
                "each stack: {} functions, {} IAM roles, {} queues, {} KMS keys, {} notification topics",
                f.functions, f.roles, f.queues, f.kms_keys, f.notification_topics
            );
            let _ = writeln!(
                out,
                "{n} accounts: {} functions, {} IAM roles, {} queues, {} KMS keys (${:.2} a month at $1 per key in its first year)",
                f.functions * n,
                f.roles * n,
                f.queues * n,
                f.kms_keys * n,
                f.kms_monthly_usd() * n as f64
            );
            print_strays(&mut out, &layout.strays);
            if kept {
                let _ = writeln!(
                    out,
                    "the change sets were kept: `remedy deploy --stage {stage}` executes them"
                );
            }
        }
    }
}

/// The strays, one line each, and what to do about them.
pub(crate) fn print_strays(out: &mut impl Write, strays: &[Stray]) {
    if strays.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{} stray stack(s) outside the home region (an earlier layout; they still hold roles and a key):",
        strays.len()
    );
    for s in strays {
        let _ = writeln!(
            out,
            "  stray {:<14} {:<16} {}{}",
            s.account_id,
            s.region,
            s.stack_status.as_deref().unwrap_or("-"),
            s.stage
                .as_deref()
                .map(|stage| format!(" (stage {stage})"))
                .unwrap_or_default()
        );
    }
}
