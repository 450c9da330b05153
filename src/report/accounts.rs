//! `remedy accounts`.

use super::json::AccountsDoc;
use super::output::{print_json, OutputFormat};
use super::table::Table;
use crate::core::targets::Resolution;
use std::io::Write;

/// `remedy accounts`: the resolved targets of a stage.
pub fn print_accounts(stage: &str, resolution: &Resolution, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&AccountsDoc::new(stage, resolution)),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let mut table = Table::new(["ACCOUNT", "NAME", "OU PATH"]);
            for a in &resolution.accounts {
                table.row([a.id.clone(), a.name.clone(), a.ou_path.clone()]);
            }
            let _ = write!(out, "{}", table.render(None));
            for (id, why) in &resolution.passed_over {
                let _ = writeln!(out, "# {id} passed over: {why}");
            }
            let _ = writeln!(out, "stage {stage}: {} accounts", resolution.accounts.len());
        }
    }
}
