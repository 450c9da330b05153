//! `remedy history`: the rule × outcome table, the per-account summary and the latest
//! records as text; the JSON document; the Markdown summary (`--report`); the CSV export
//! (`--csv`).

use super::json::HistoryDoc;
use super::output::{print_json, OutputFormat};
use super::table::{width_for, Table};
use crate::core::history::{columns, rule_rows, AccountHistory, Ledger, ReadStatus, Record};
use std::io::Write;

/// Records the text and Markdown reports list (the JSON and the CSV have up to
/// `core::history::KEPT`).
const SHOWN: usize = 20;

/// What the reports say besides the accounts.
pub struct HistoryView<'a> {
    /// The earliest time read, RFC 3339.
    pub since: &'a str,
    pub wide: bool,
    /// The fleet's ledger: every account's counts and the latest records, folded in as each
    /// account's read ended.
    pub all: &'a Ledger,
}

pub fn print_history(rows: &[AccountHistory], view: &HistoryView<'_>, format: OutputFormat) {
    let all = view.all;
    match format {
        OutputFormat::Json => print_json(&HistoryDoc::new(view.since, rows, all)),
        OutputFormat::Text => {
            let width = width_for(view.wide);
            let mut out = std::io::stdout().lock();
            let columns = columns(all);
            if !columns.is_empty() {
                let mut headers = vec!["RULE".to_owned()];
                headers.extend(columns.iter().map(|c| c.to_uppercase()));
                headers.push("TOTAL".into());
                let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
                let mut table = Table::of(&headers);
                for (rule, counts, total) in rule_rows(all, &columns) {
                    let mut cells = vec![rule];
                    cells.extend(counts.iter().map(usize::to_string));
                    cells.push(total.to_string());
                    table.row(cells);
                }
                let _ = writeln!(out, "{}", table.render(width));
            }
            let mut table = Table::new([
                "STAGE", "ACCOUNT", "NAME", "REGION", "STATUS", "RECORDS", "OUTCOMES", "DETAIL",
            ])
            .keep_whole(&[1, 4, 6]);
            for r in rows {
                table.row([
                    r.stage.clone(),
                    r.account_id.clone(),
                    r.account_name.clone(),
                    r.region.clone(),
                    r.status.as_str().to_owned(),
                    r.ledger.matched.to_string(),
                    outcomes_line(&r.ledger),
                    // `no_log_group` says it all here; the JSON keeps the sentence.
                    match r.status {
                        ReadStatus::NoLogGroup => String::new(),
                        _ => r.reason.clone().unwrap_or_default(),
                    },
                ]);
            }
            let _ = writeln!(out, "{}", table.render(width));
            let (latest, _) = all.latest();
            if !latest.is_empty() {
                let mut table = Table::new([
                    "AT",
                    "ACCOUNT",
                    "RULE",
                    "OUTCOME",
                    "REASON CODE",
                    "RESOURCE",
                    "RECORD",
                ])
                .keep_whole(&[0, 1, 6]);
                for r in latest.iter().take(SHOWN) {
                    table.row([
                        r.at.clone(),
                        r.account_id.clone(),
                        r.rule_id.clone().unwrap_or_else(|| "-".into()),
                        r.outcome.clone(),
                        r.reason_code.clone().unwrap_or_else(|| "-".into()),
                        r.resource.clone().unwrap_or_else(|| "-".into()),
                        r.record_id.clone().unwrap_or_else(|| "-".into()),
                    ]);
                }
                let _ = write!(out, "{}", table.render(width));
                if latest.len() > SHOWN {
                    let _ = writeln!(
                        out,
                        "(the latest {SHOWN} of {}: --output json or --csv for them all)",
                        all.matched
                    );
                }
                let _ = writeln!(out);
            }
            let _ = writeln!(out, "{}", summary_line(rows, all, view.since));
        }
    }
}

/// "history since …: 12 records in 3 accounts (2 read, 1 without a log group, 0 failed)"
fn summary_line(rows: &[AccountHistory], all: &Ledger, since: &str) -> String {
    let count = |s: ReadStatus| rows.iter().filter(|r| r.status == s).count();
    let mut line = format!(
        "history since {since}: {} records in {} accounts ({} read, {} without a log group, {} failed",
        all.matched,
        rows.len(),
        count(ReadStatus::Read),
        count(ReadStatus::NoLogGroup),
        count(ReadStatus::Failed),
    );
    if count(ReadStatus::Skipped) > 0 {
        line.push_str(&format!(", {} skipped", count(ReadStatus::Skipped)));
    }
    line.push(')');
    line
}

/// "remediated 3, failed 1"
fn outcomes_line(ledger: &Ledger) -> String {
    ledger
        .by_outcome()
        .iter()
        .map(|(o, n)| format!("{o} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Markdown summary `--report FILE` writes: the counts, the accounts that could not be
/// read, the rule × outcome table, each account's outcomes, the latest records.
pub fn history_markdown(rows: &[AccountHistory], view: &HistoryView<'_>) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let all = view.all;
    let mut md = format!(
        "# remedy history\n\n{}.\n",
        summary_line(rows, all, view.since)
    );
    let unread: Vec<&AccountHistory> = rows
        .iter()
        .filter(|r| matches!(r.status, ReadStatus::Failed | ReadStatus::Skipped))
        .collect();
    if !unread.is_empty() {
        md.push_str("\n## Not read\n\n| stage | account | name | region | status | reason |\n| --- | --- | --- | --- | --- | --- |\n");
        for r in unread {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                cell(&r.stage),
                r.account_id,
                cell(&r.account_name),
                r.region,
                r.status.as_str(),
                cell(r.reason.as_deref().unwrap_or(""))
            ));
        }
    }
    let columns = columns(all);
    if !columns.is_empty() {
        md.push_str(&format!(
            "\n## Per rule\n\n| rule | {} | total |\n| --- |{} ---: |\n",
            columns.join(" | "),
            " ---: |".repeat(columns.len())
        ));
        for (rule, counts, total) in rule_rows(all, &columns) {
            let counts: Vec<String> = counts.iter().map(usize::to_string).collect();
            md.push_str(&format!(
                "| {} | {} | {total} |\n",
                cell(&rule),
                counts.join(" | ")
            ));
        }
    }
    md.push_str("\n## Per account\n\n| stage | account | name | region | status | records | outcomes |\n| --- | --- | --- | --- | --- | ---: | --- |\n");
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&r.stage),
            r.account_id,
            cell(&r.account_name),
            r.region,
            r.status.as_str(),
            r.ledger.matched,
            cell(&outcomes_line(&r.ledger))
        ));
    }
    let (latest, _) = all.latest();
    if !latest.is_empty() {
        md.push_str(&format!(
            "\n## Latest records\n\n{} of {}.\n\n| at | account | rule | outcome | reason code | resource |\n| --- | --- | --- | --- | --- | --- |\n",
            latest.len().min(SHOWN),
            all.matched
        ));
        for r in latest.iter().take(SHOWN) {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                cell(&r.at),
                r.account_id,
                cell(r.rule_id.as_deref().unwrap_or("-")),
                cell(&r.outcome),
                cell(r.reason_code.as_deref().unwrap_or("-")),
                cell(r.resource.as_deref().unwrap_or("-"))
            ));
        }
    }
    md
}

/// The columns of `--csv`, in order.
pub const CSV_COLUMNS: [&str; 17] = [
    "at",
    "account_id",
    "rule_id",
    "outcome",
    "reason_code",
    "resource",
    "mode",
    "region",
    "finding_id",
    "exception",
    "actions",
    "notified",
    "duration_ms",
    "remedy_version",
    "reason",
    "record_id",
    "changes",
];

/// `--csv FILE`: a header and one line per record (the latest first, up to
/// `core::history::KEPT`), RFC 4180 (CRLF line ends, fields quoted when they must be).
pub fn history_csv(all: &Ledger) -> String {
    let (latest, _) = all.latest();
    let mut csv = csv_line(CSV_COLUMNS.iter().map(|c| (*c).to_owned()));
    for r in &latest {
        csv.push_str(&csv_line(csv_fields(r)));
    }
    csv
}

fn csv_fields(r: &Record) -> Vec<String> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        r.at.clone(),
        r.account_id.clone(),
        text(&r.rule_id),
        r.outcome.clone(),
        text(&r.reason_code),
        text(&r.resource),
        text(&r.mode),
        text(&r.region),
        text(&r.finding_id),
        text(&r.exception),
        r.actions.join(" "),
        r.notified.join(" "),
        r.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
        text(&r.remedy_version),
        text(&r.reason),
        text(&r.record_id),
        // `api target` per change, `; `-separated.
        r.changes
            .iter()
            .map(|c| format!("{} {}", c.api, c.target))
            .collect::<Vec<_>>()
            .join("; "),
    ]
}

fn csv_line(fields: impl IntoIterator<Item = String>) -> String {
    let mut line = fields
        .into_iter()
        .map(|f| csv_field(&f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// One CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break.
/// A field a spreadsheet would run as a formula (it begins with `=`, `+`, `-`, `@`, a tab
/// or a carriage return: a resource name comes from the finding) gets a leading `'`.
pub(crate) fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says_and_never_run_as_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@sum"), "'@sum");
        assert_eq!(
            csv_line(["a".to_owned(), "b,c".to_owned()]),
            "a,\"b,c\"\r\n"
        );
    }
}
