//! `remedy exceptions`.

use super::output::{print_json, OutputFormat};
use super::table::Table;
use crate::core::exceptions::State;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// One exception as `remedy exceptions` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ExceptionRow {
    pub id: String,
    pub state: State,
    pub expires: String,
    /// Days from today to its last day (negative: expired that many days ago).
    pub days_left: Option<i64>,
    pub rules: Vec<String>,
    pub accounts: Vec<String>,
    pub ous: Vec<String>,
    pub regions: Vec<String>,
    pub resources: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub reason: String,
    pub owner: String,
}

#[derive(Debug, Serialize)]
struct ExceptionsDoc<'a> {
    today: &'a str,
    /// An exception ending within this many days is `expiring`.
    expiring_within_days: i64,
    exceptions: &'a [ExceptionRow],
}

fn state_word(state: State) -> &'static str {
    match state {
        State::Active => "active",
        State::Expiring => "expiring",
        State::Expired => "expired",
    }
}

/// What an exception matches besides its rules, in one cell.
fn scope(row: &ExceptionRow) -> String {
    let mut parts = Vec::new();
    for (what, list) in [
        ("accounts", &row.accounts),
        ("ous", &row.ous),
        ("regions", &row.regions),
        ("resources", &row.resources),
    ] {
        if !list.is_empty() {
            parts.push(format!("{what}: {}", list.join(",")));
        }
    }
    if !row.tags.is_empty() {
        let tags: Vec<String> = row.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.push(format!("tags: {}", tags.join(",")));
    }
    if parts.is_empty() {
        "everywhere".into()
    } else {
        parts.join("; ")
    }
}

/// `remedy exceptions`: a table, or one JSON document.
pub fn print_exceptions(rows: &[ExceptionRow], today: &str, window: i64, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&ExceptionsDoc {
            today,
            expiring_within_days: window,
            exceptions: rows,
        }),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let mut table = Table::new([
                "ID", "STATE", "EXPIRES", "DAYS", "RULES", "SCOPE", "OWNER", "REASON",
            ]);
            for row in rows {
                table.row([
                    row.id.clone(),
                    state_word(row.state).into(),
                    row.expires.clone(),
                    row.days_left.map(|d| d.to_string()).unwrap_or_default(),
                    row.rules.join(","),
                    scope(row),
                    row.owner.clone(),
                    row.reason.clone(),
                ]);
            }
            let _ = write!(out, "{}", table.render(super::table::width_for(false)));
            let count = |s: State| rows.iter().filter(|r| r.state == s).count();
            let _ = writeln!(
                out,
                "{} exceptions: {} active, {} expiring within {window} days, {} expired (today is {today}, UTC)",
                rows.len(),
                count(State::Active),
                count(State::Expiring),
                count(State::Expired)
            );
        }
    }
}
