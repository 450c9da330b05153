//! `remedy remediate`.

use super::json::RemediationDoc;
use super::output::{print_json, OutputFormat};
use std::io::Write;

/// `remedy remediate`: the README's `{"rule_id", "outcome", "actions", "reason"}`, or lines.
pub fn print_remediation(
    rule_id: Option<&str>,
    report: &remedy_functions::rule::Report,
    format: OutputFormat,
) {
    match format {
        OutputFormat::Json => print_json(&RemediationDoc::new(rule_id, report)),
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
