//! `remedy undo`: the record, what it says was removed, and what was (or would be) put back.

use super::json::UndoDoc;
use super::output::{print_json, OutputFormat};
use crate::core::undo::{UndoState, Undone};
use std::io::Write;

pub fn print_undo(undone: &Undone, format: OutputFormat) {
    let record = undone.record.as_ref();
    match format {
        OutputFormat::Json => print_json(&UndoDoc {
            outcome: undone.state.as_str(),
            record_id: record.and_then(|r| r.record_id.as_deref()),
            finding_id: record.and_then(|r| r.finding_id.as_deref()),
            account_id: record.map(|r| r.account_id.as_str()),
            rule_id: record.and_then(|r| r.rule_id.as_deref()),
            region: record.and_then(|r| r.region.as_deref()),
            resource: record.and_then(|r| r.resource.as_deref()),
            at: record.map(|r| r.at.as_str()),
            removed: record.map_or(&[], |r| r.removed.as_slice()),
            actions: &undone.actions,
            reason: undone.reason.as_deref(),
            via: undone.via,
        }),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let subject = match record {
                Some(r) => format!(
                    "record {} ({} `{}` in account {}, region {}, at {}{})",
                    r.record_id.as_deref().unwrap_or("(no id)"),
                    r.rule_id.as_deref().unwrap_or("no rule"),
                    r.outcome,
                    r.account_id,
                    r.region.as_deref().unwrap_or("-"),
                    r.at,
                    r.resource
                        .as_deref()
                        .map(|res| format!(", resource {res}"))
                        .unwrap_or_default()
                ),
                None => undone.wanted.describe(),
            };
            let _ = writeln!(out, "{subject}: {}", undone.state.as_str());
            for action in &undone.actions {
                let _ = writeln!(out, "  - {action}");
            }
            if let Some(reason) = &undone.reason {
                let _ = writeln!(out, "  ({reason})");
            }
            if undone.state == UndoState::WouldRestore {
                let _ = writeln!(
                    out,
                    "  (dry run: nothing was changed; --yes puts it back through the rule's own function in the account)"
                );
            }
        }
    }
}
