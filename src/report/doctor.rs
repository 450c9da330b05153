//! `remedy doctor`: per account, each check that did not pass with its fix; then a summary.

use super::output::{print_json, OutputFormat};
use super::table::{width_for, Table};
use crate::core::doctor::{AccountDoctor, Status};
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct DoctorDoc<'a> {
    summary: SummaryDoc,
    accounts: Vec<AccountDoc<'a>>,
}

#[derive(Serialize)]
struct SummaryDoc {
    accounts: usize,
    ready: usize,
    failing: usize,
}

#[derive(Serialize)]
struct AccountDoc<'a> {
    stage: &'a str,
    account_id: &'a str,
    account_name: &'a str,
    region: &'a str,
    /// `ready` or `fails`.
    result: &'static str,
    checks: Vec<CheckDoc<'a>>,
}

#[derive(Serialize)]
struct CheckDoc<'a> {
    check: &'a str,
    /// `ok`, `warn` or `fail`.
    status: &'static str,
    detail: &'a str,
    fix: Option<&'a str>,
}

pub fn print_doctor(rows: &[AccountDoctor], wide: bool, format: OutputFormat) {
    let failing = rows.iter().filter(|r| r.fails()).count();
    match format {
        OutputFormat::Json => print_json(&DoctorDoc {
            summary: SummaryDoc {
                accounts: rows.len(),
                ready: rows.len() - failing,
                failing,
            },
            accounts: rows
                .iter()
                .map(|r| AccountDoc {
                    stage: &r.stage,
                    account_id: &r.account_id,
                    account_name: &r.account_name,
                    region: &r.region,
                    result: if r.fails() { "fails" } else { "ready" },
                    checks: r
                        .checks
                        .iter()
                        .map(|c| CheckDoc {
                            check: c.name,
                            status: c.status.as_str(),
                            detail: &c.detail,
                            fix: c.fix.as_deref(),
                        })
                        .collect(),
                })
                .collect(),
        }),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let mut table = Table::new(["STAGE", "ACCOUNT", "NAME", "REGION", "RESULT", "CHECKS"])
                .keep_whole(&[1, 4]);
            for r in rows {
                let checks: Vec<String> = r
                    .checks
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.status.as_str()))
                    .collect();
                table.row([
                    r.stage.clone(),
                    r.account_id.clone(),
                    r.account_name.clone(),
                    r.region.clone(),
                    if r.fails() { "fails" } else { "ready" }.to_owned(),
                    checks.join(", "),
                ]);
            }
            let _ = write!(out, "{}", table.render(width_for(wide)));
            for r in rows {
                for c in r.checks.iter().filter(|c| c.status != Status::Ok) {
                    let _ = writeln!(
                        out,
                        "{} {} {}: {}{}",
                        r.account_id,
                        c.status.as_str().to_uppercase(),
                        c.name,
                        c.detail,
                        c.fix
                            .as_deref()
                            .map(|f| format!(" — fix: {f}"))
                            .unwrap_or_default()
                    );
                }
            }
            let _ = writeln!(
                out,
                "{} account(s): {} ready, {failing} would fail",
                rows.len(),
                rows.len() - failing
            );
        }
    }
}
