//! `remedy remediate`.

use super::json::RemediationDoc;
use super::output::{print_json, OutputFormat};
use std::io::Write;

/// `remedy remediate`: the README's `{"rule_id", "outcome", "actions", "reason"}`, or lines.
pub fn print_remediation(
    rule_id: Option<&str>,
    report: &remedy_functions::rule::Report,
    reason_code: Option<remedy_functions::dispatch::ReasonCode>,
    format: OutputFormat,
) {
    match format {
        OutputFormat::Json => print_json(&RemediationDoc::new(rule_id, report, reason_code)),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            // No rule: a Conformity test message or an unreadable event, named by its reason.
            let subject = rule_id.or(report.reason.as_deref()).unwrap_or("the event");
            let _ = writeln!(out, "{subject}: {}", report.outcome.as_str());
            for action in &report.actions {
                let _ = writeln!(out, "  - {action}");
            }
            if let Some(reason) = report.reason.as_ref().filter(|_| rule_id.is_some()) {
                let _ = writeln!(out, "  ({reason})");
            }
        }
    }
}
