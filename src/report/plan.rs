//! `remedy plan`.

use super::json::PlanDoc;
use super::output::{print_json, OutputFormat};
use crate::core::decide::{plan_summary, PlanAction};
use crate::core::outcome::PlannedTarget;
use std::io::Write;

/// `remedy plan`: per target its action and resource changes, and the aggregate line.
pub fn print_plan(stage: &str, planned: &[PlannedTarget], kept: bool, format: OutputFormat) {
    let actions: Vec<PlanAction> = planned.iter().map(|p| p.action).collect();
    let summary = plan_summary(&actions);
    match format {
        OutputFormat::Json => print_json(&PlanDoc::new(stage, summary, kept, planned)),
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
