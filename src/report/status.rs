//! `remedy status`.

use super::json::{state, StatusDoc};
use super::output::{print_json, OutputFormat};
use super::table::{width_for, Table};
use crate::core::outcome::{InspectedTarget, Stray};
use std::io::Write;

/// A target's state, as `status --state` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum State {
    Current,
    Outdated,
    Missing,
    Unknown,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Current => "current",
            State::Outdated => "outdated",
            State::Missing => "missing",
            State::Unknown => "unknown",
        }
    }
}

/// How `status` shows its rows: which states (all when empty), and at full width or not.
#[derive(Debug, Clone, Default)]
pub struct StatusView {
    pub states: Vec<State>,
    pub wide: bool,
}

/// `remedy status`: per target the deployed stack and how it compares with this build, and
/// the strays (`--output json` adds each account's findings topic). The summary counts every
/// target; the rows are those in the asked states.
pub fn print_status(
    rows: &[(String, InspectedTarget)],
    strays: &[Stray],
    view: &StatusView,
    format: OutputFormat,
) {
    let count = |word: &str| rows.iter().filter(|(_, r)| state(r) == word).count();
    let shown: Vec<(String, InspectedTarget)> = rows
        .iter()
        .filter(|(_, r)| {
            view.states.is_empty() || view.states.iter().any(|s| s.as_str() == state(r))
        })
        .cloned()
        .collect();
    match format {
        OutputFormat::Json => print_json(&StatusDoc::new(&shown, strays, rows)),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let drift = rows.iter().any(|(_, r)| r.drift.is_some());
            let mut headers = vec![
                "STAGE",
                "ACCOUNT",
                "NAME",
                "REGION",
                "STACK STATUS",
                "VERSION",
                "HASH",
                "STATE",
            ];
            if drift {
                headers.push("DRIFT");
            }
            let paused = rows
                .iter()
                .any(|(_, r)| !r.paused.is_empty() || r.pause_error.is_some());
            if paused {
                headers.push("PAUSED");
            }
            let conformity = rows.iter().any(|(_, r)| r.conformity.is_some());
            if conformity {
                headers.push("CONFORMITY");
            }
            headers.push("DETAIL");
            let mut table = Table::of(&headers).keep_whole(&[1, 7]);
            for (stage, r) in &shown {
                let mut cells = vec![
                    stage.clone(),
                    r.account_id.clone(),
                    r.account_name.clone(),
                    r.region.clone(),
                    r.stack_status.clone().unwrap_or_else(|| "-".into()),
                    r.version.clone().unwrap_or_else(|| "-".into()),
                    r.hash
                        .as_deref()
                        .map(|h| h.chars().take(12).collect::<String>())
                        .unwrap_or_else(|| "-".into()),
                    state(r).to_owned(),
                ];
                if drift {
                    cells.push(r.drift.clone().unwrap_or_else(|| "-".into()));
                }
                if paused {
                    cells.push(match (&r.pause_error, r.paused.is_empty()) {
                        (Some(_), _) => "?".into(),
                        (None, true) => "-".into(),
                        (None, false) => r.paused.join(","),
                    });
                }
                if conformity {
                    cells.push(r.conformity.unwrap_or("-").to_owned());
                }
                cells.push(r.reason.as_deref().map(one_line).unwrap_or_default());
                table.row(cells);
            }
            let _ = write!(out, "{}", table.render(width_for(view.wide)));
            if shown.len() < rows.len() {
                let _ = writeln!(out, "({} of {} targets shown)", shown.len(), rows.len());
            }
            let _ = writeln!(
                out,
                "{} targets: {} current, {} outdated, {} missing, {} unknown",
                rows.len(),
                count("current"),
                count("outdated"),
                count("missing"),
                count("unknown")
            );
            super::plan::print_strays(&mut out, strays);
        }
    }
}

/// A reason on one line: its first line, whitespace runs folded.
fn one_line(reason: &str) -> String {
    reason.split_whitespace().collect::<Vec<_>>().join(" ")
}
