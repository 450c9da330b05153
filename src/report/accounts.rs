//! `remedy accounts`.

use super::json::AccountsDoc;
use super::output::{print_json, OutputFormat};
use crate::core::targets::Resolution;
use std::io::Write;

/// `remedy accounts`: the resolved targets of a stage.
pub fn print_accounts(stage: &str, resolution: &Resolution, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&AccountsDoc::new(stage, resolution)),
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
