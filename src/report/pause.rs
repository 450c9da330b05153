//! `remedy pause` and `remedy resume`.

use super::json::SwitchDoc;
use super::output::{print_json, OutputFormat};
use super::table::{width_for, Table};
use crate::core::pause::{shown, Switch, SwitchOutcome, SwitchedTarget};
use std::io::Write;

/// Per account: the outcome and what is paused now; then a summary line.
pub fn print_switch(
    switch: Switch,
    parameter: &str,
    rows: &[SwitchedTarget],
    format: OutputFormat,
) {
    match format {
        OutputFormat::Json => print_json(&SwitchDoc::new(switch, parameter, rows)),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let mut table = Table::new([
                "STAGE", "ACCOUNT", "NAME", "REGION", "OUTCOME", "PAUSED", "DETAIL",
            ])
            .keep_whole(&[1, 5]);
            for r in rows {
                table.row([
                    r.stage.clone(),
                    r.account_id.clone(),
                    r.account_name.clone(),
                    r.region.clone(),
                    r.outcome.as_str().to_owned(),
                    r.after.as_ref().map_or_else(|| "?".into(), shown),
                    r.reason.clone().unwrap_or_default(),
                ]);
            }
            let _ = write!(out, "{}", table.render(width_for(false)));
            let count = |o: SwitchOutcome| rows.iter().filter(|r| r.outcome == o).count();
            let _ = writeln!(
                out,
                "{} {parameter} in {} accounts: {} changed, {} unchanged, {} failed, {} skipped",
                switch.as_str(),
                rows.len(),
                count(SwitchOutcome::Changed),
                count(SwitchOutcome::Unchanged),
                count(SwitchOutcome::Failed),
                count(SwitchOutcome::Skipped),
            );
        }
    }
}
