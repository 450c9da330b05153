//! `remedy conformity connect` / `status`: per account, the state of its Conformity SNS
//! setting; then a summary.

use super::output::{print_json, OutputFormat};
use super::table::{width_for, Table};
use crate::core::conformity::Row;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Serialize)]
struct ConformityDoc<'a> {
    /// `connect`, `connect --dry-run` or `status`.
    command: &'a str,
    /// Accounts per state.
    summary: BTreeMap<&'static str, usize>,
    /// Requests to Conformity's API retried (429, 5xx, lost connections).
    retries: u64,
    accounts: Vec<AccountDoc<'a>>,
}

#[derive(Serialize)]
struct AccountDoc<'a> {
    stage: &'a str,
    account_id: &'a str,
    account_name: &'a str,
    /// `connected`, `updated`, `unchanged`, `would_connect`, `would_update`, `outdated`,
    /// `not_connected`, `not_in_conformity`, `failed`, `skipped`.
    state: &'static str,
    topic_arn: &'a str,
    conformity_account: Option<&'a str>,
    setting_id: Option<&'a str>,
    reason: Option<&'a str>,
}

pub fn print_conformity(rows: &[Row], command: &str, retries: u64, format: OutputFormat) {
    let mut summary: BTreeMap<&'static str, usize> = BTreeMap::new();
    for r in rows {
        *summary.entry(r.state.as_str()).or_default() += 1;
    }
    match format {
        OutputFormat::Json => print_json(&ConformityDoc {
            command,
            summary,
            retries,
            accounts: rows
                .iter()
                .map(|r| AccountDoc {
                    stage: &r.stage,
                    account_id: &r.account_id,
                    account_name: &r.account_name,
                    state: r.state.as_str(),
                    topic_arn: &r.topic_arn,
                    conformity_account: r.conformity_account.as_deref(),
                    setting_id: r.setting_id.as_deref(),
                    reason: r.reason.as_deref(),
                })
                .collect(),
        }),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let mut table = Table::new(["STAGE", "ACCOUNT", "NAME", "STATE", "TOPIC / WHY"])
                .keep_whole(&[1, 3]);
            for r in rows {
                let detail = match (&r.reason, r.state.is_problem()) {
                    (Some(reason), true) => reason.clone(),
                    (Some(reason), false) => format!("{} ({reason})", r.topic_arn),
                    (None, _) => r.topic_arn.clone(),
                };
                table.row([
                    r.stage.clone(),
                    r.account_id.clone(),
                    r.account_name.clone(),
                    r.state.as_str().to_owned(),
                    detail,
                ]);
            }
            let _ = write!(out, "{}", table.render(width_for(false)));
            let counts: Vec<String> = summary
                .iter()
                .map(|(state, n)| format!("{n} {state}"))
                .collect();
            let _ = writeln!(
                out,
                "conformity {command}: {} account(s): {}{}",
                rows.len(),
                if counts.is_empty() {
                    "none".to_owned()
                } else {
                    counts.join(", ")
                },
                if retries > 0 {
                    format!("; {retries} request(s) retried")
                } else {
                    String::new()
                }
            );
        }
    }
}
