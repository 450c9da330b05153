//! `remedy status`.

use super::json::{state, StatusDoc};
use super::output::{print_json, OutputFormat};
use crate::core::outcome::{InspectedTarget, Stray};
use std::io::Write;

/// `remedy status`: per target the deployed stack and how it compares with this build, and
/// the strays (`--output json` adds each account's findings topic).
pub fn print_status(rows: &[(String, InspectedTarget)], strays: &[Stray], format: OutputFormat) {
    let count = |word: &str| rows.iter().filter(|(_, r)| state(r) == word).count();
    match format {
        OutputFormat::Json => print_json(&StatusDoc::new(rows, strays)),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let drift = rows.iter().any(|(_, r)| r.drift.is_some());
            let _ = writeln!(
                out,
                "{:<10} {:<14} {:<24} {:<16} {:<26} {:<9} {:<14} {:<9}{}",
                "STAGE",
                "ACCOUNT",
                "NAME",
                "REGION",
                "STACK STATUS",
                "VERSION",
                "HASH",
                "STATE",
                if drift { " DRIFT" } else { "" }
            );
            for (stage, r) in rows {
                let _ = writeln!(
                    out,
                    "{:<10} {:<14} {:<24} {:<16} {:<26} {:<9} {:<14} {:<9}{}{}",
                    stage,
                    r.account_id,
                    r.account_name.chars().take(24).collect::<String>(),
                    r.region,
                    r.stack_status.as_deref().unwrap_or("-"),
                    r.version.as_deref().unwrap_or("-"),
                    r.hash
                        .as_deref()
                        .map(|h| h.chars().take(12).collect::<String>())
                        .unwrap_or_else(|| "-".into()),
                    state(r),
                    r.drift
                        .as_deref()
                        .map(|d| format!(" {d}"))
                        .unwrap_or_default(),
                    r.reason
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default(),
                );
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
