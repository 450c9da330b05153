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

#[derive(Serialize)]
struct ProfileDoc<'a> {
    name: &'a str,
    /// With `--apply`: `created`, `updated` or `unchanged`, and the profile's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    rules: Vec<ExemptDoc<'a>>,
    /// The body of `POST /profiles` (Conformity's API reference, Profiles.md).
    body: &'a serde_json::Value,
}

#[derive(Serialize)]
struct ExemptDoc<'a> {
    rule_id: &'a str,
    why: &'a str,
    /// `key::value`, as Conformity's exceptions write a tag.
    exception_tags: Vec<String>,
}

/// `remedy conformity profile`: the rules remedy's stack trips by design, why, and their
/// exceptions; with `--apply`, what became of the profile.
pub fn print_profile(
    name: &str,
    exempt: &[crate::core::conformity::Exempt],
    stack_name: &str,
    body: &serde_json::Value,
    applied: Option<(&str, &str)>,
    format: OutputFormat,
) {
    let tags_of = |rule: &str| -> Vec<String> {
        body["included"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["id"] == rule))
            .and_then(|i| i["attributes"]["exceptions"]["tags"].as_array())
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    match format {
        OutputFormat::Json => print_json(&ProfileDoc {
            name,
            state: applied.map(|(state, _)| state),
            id: applied.map(|(_, id)| id),
            rules: exempt
                .iter()
                .map(|e| ExemptDoc {
                    rule_id: e.rule_id,
                    why: e.why,
                    exception_tags: tags_of(e.rule_id),
                })
                .collect(),
            body,
        }),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let mut table = Table::new(["RULE", "EXCEPTED BY TAG", "WHY"]).keep_whole(&[0]);
            for e in exempt {
                table.row([
                    e.rule_id.to_owned(),
                    tags_of(e.rule_id).join(", "),
                    e.why.to_owned(),
                ]);
            }
            let _ = write!(out, "{}", table.render(width_for(false)));
            match applied {
                Some((state, id)) => {
                    let _ = writeln!(
                        out,
                        "profile `{name}` {state} (id {id}); apply it to the accounts in Conformity (Profiles, Apply)"
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "profile `{name}`: {} rule(s) whose exceptions cover stack {stack_name}'s resources; --apply creates or updates it in Conformity, --output json prints its body",
                        exempt.len()
                    );
                }
            }
        }
    }
}
