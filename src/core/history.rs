//! The remediation ledger as `remedy history` reads it back: the orchestrator's one JSON
//! line per finding (`functions/src/orchestrator.rs`, `log_line`), parsed tolerantly,
//! filtered, counted per rule and outcome and per account, with the latest records kept.
//! Pure: the lines come in as text with their CloudWatch timestamp (`aws::logs` reads them).
//!
//! Tolerance: every field is optional but `outcome`; a line that is not a JSON object with
//! a string `outcome` (Lambda's START/END/REPORT lines, anything else logged) is no record.
//! The account is the one whose log group was read (never the line's word for it), and the
//! time is the line's `at` when it has one, else the CloudWatch event's timestamp.

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The orchestrator's log group, in each account's home region.
pub fn log_group() -> String {
    format!("/aws/lambda/{}", remedy_functions::lambda::ORCHESTRATOR)
}

/// The outcomes a record can have, in the order tables show them (an outcome a later
/// orchestrator adds is still read, and shown after these).
pub const OUTCOMES: [&str; 7] = [
    "remediated",
    "dry_run",
    "skipped",
    "compliant",
    "unsupported",
    "rejected",
    "failed",
];

/// The most records a run keeps (the latest; aggregates count every record).
pub const KEPT: usize = 10_000;

/// `--since`'s default.
pub const SINCE_DEFAULT: &str = "7d";

/// The furthest back `--since` reaches: the orchestrator's log group keeps 90 days by
/// default (the stack's `LogRetentionDays`), so nothing older can be read.
pub const SINCE_MAX_DAYS: u64 = 90;

/// `90m`, `24h`, `7d`, `1d12h`: how far back to read; more than nothing, at most 90 days.
pub fn parse_since(text: &str) -> Result<Duration, String> {
    let since = crate::core::util::parse_duration_unbounded(text)?;
    if since.is_zero() {
        return Err(format!(
            "`{text}`: read back at least a minute (e.g. 90m, 24h, 7d)"
        ));
    }
    if since > Duration::from_secs(SINCE_MAX_DAYS * 86_400) {
        return Err(format!(
            "`{text}` reaches past the orchestrator's log retention: at most {SINCE_MAX_DAYS}d"
        ));
    }
    Ok(since)
}

/// One ledger record: one finding the orchestrator handled.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    /// The account whose log group held it.
    pub account_id: String,
    /// The CloudWatch event's timestamp (ms since the epoch): the order of records.
    pub timestamp_ms: i64,
    /// RFC 3339 UTC: the line's `at`, else the event's timestamp.
    pub at: String,
    pub rule_id: Option<String>,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub resource: Option<String>,
    pub mode: Option<String>,
    /// The finding's region (ledger v1), not the region the log was read in.
    pub region: Option<String>,
    pub finding_id: Option<String>,
    /// The exception that applied: the line's `exception` (an id, or an object with
    /// one), else the id in an `exception:<id>` reason code.
    pub exception: Option<String>,
    pub actions: Vec<String>,
    pub notified: Vec<String>,
    pub duration_ms: Option<u64>,
    pub remedy_version: Option<String>,
    /// The record's id (`remedy undo --record`); none before remedy logged one.
    pub record_id: Option<String>,
    /// What a reversible rule removed (`remedy undo`); an entry this remedy cannot read (a
    /// later version's kind) is left out and counted in `removed_unread`.
    pub removed: Vec<remedy_functions::undo::Removed>,
    pub removed_unread: usize,
    /// Each AWS call the rule made that changed something (`api`, `target`), in order; an
    /// entry without both is left out.
    pub changes: Vec<remedy_functions::rule::Change>,
}

/// The record in one log event of `account`'s log group, or `None` when the event is not
/// one (not a JSON object, or no string `outcome`).
pub fn parse_line(message: &str, account_id: &str, timestamp_ms: i64) -> Option<Record> {
    let message = message.trim();
    if !message.starts_with('{') {
        return None;
    }
    let Value::Object(line) = serde_json::from_str::<Value>(message).ok()? else {
        return None;
    };
    let text = |key: &str| line.get(key).and_then(Value::as_str).map(str::to_owned);
    let list = |key: &str| crate::core::util::json_strings(line.get(key));
    let outcome = text("outcome")?;
    let removed: &[Value] = line
        .get("removed")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let read: Vec<remedy_functions::undo::Removed> = removed
        .iter()
        .filter_map(|r| serde_json::from_value(r.clone()).ok())
        .collect();
    let reason_code = text("reason_code");
    let exception = match line.get("exception") {
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Object(e)) => e.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
    .or_else(|| {
        reason_code
            .as_deref()
            .and_then(|code| code.strip_prefix("exception:"))
            .map(str::to_owned)
    });
    let at = text("at").unwrap_or_else(|| {
        crate::core::util::rfc3339(u64::try_from(timestamp_ms.max(0) / 1000).unwrap_or(0))
    });
    Some(Record {
        account_id: account_id.to_owned(),
        timestamp_ms,
        at,
        rule_id: text("rule_id"),
        outcome,
        reason_code,
        reason: text("reason"),
        resource: text("resource"),
        mode: text("mode"),
        region: text("region"),
        finding_id: text("finding_id"),
        exception,
        actions: list("actions"),
        notified: list("notified"),
        duration_ms: line.get("duration_ms").and_then(Value::as_u64),
        remedy_version: text("remedy_version"),
        record_id: text("record_id"),
        removed_unread: removed.len() - read.len(),
        removed: read,
        changes: line
            .get("changes")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|c| serde_json::from_value(c.clone()).ok())
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// What to read: rules and outcomes (none named: all), and the earliest time.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub rules: Vec<String>,
    pub outcomes: Vec<String>,
    /// Milliseconds since the epoch.
    pub since_ms: i64,
    /// Only the record with this id (`remedy undo --record`; a checked word: [`is_id`]).
    pub record_id: Option<String>,
    /// Only the records of this finding (`remedy undo --finding`; checked: [`is_id`]).
    pub finding_id: Option<String>,
}

/// Whether `id` may be looked for as a record's or a finding's id: 1 to 256 characters,
/// none a quote, a backslash, a space or a control character (it goes into a filter
/// pattern's quoted string).
pub fn is_id(id: &str) -> bool {
    (1..=256).contains(&id.len())
        && !id
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_whitespace() || c.is_control())
}

/// CloudWatch Logs' filter patterns are at most 1,024 characters.
const PATTERN_MAX: usize = 1024;

impl Filter {
    pub fn matches(&self, record: &Record) -> bool {
        record.timestamp_ms >= self.since_ms
            && (self.rules.is_empty()
                || record
                    .rule_id
                    .as_ref()
                    .is_some_and(|r| self.rules.contains(r)))
            && (self.outcomes.is_empty() || self.outcomes.contains(&record.outcome))
            && self
                .record_id
                .as_ref()
                .is_none_or(|id| record.record_id.as_ref() == Some(id))
            && self
                .finding_id
                .as_ref()
                .is_none_or(|id| record.finding_id.as_ref() == Some(id))
    }

    /// The FilterLogEvents `filterPattern` that narrows the read server-side: lines with an
    /// `outcome`, of the rules and outcomes named. Rule ids and outcomes are checked words
    /// (no quote can reach the pattern). Too long a pattern falls back to every record;
    /// [`Filter::matches`] is applied to what comes back either way.
    pub fn pattern(&self) -> String {
        let any = |key: &str, values: &[String]| {
            let alternatives: Vec<String> = values
                .iter()
                .map(|v| format!("$.{key} = \"{v}\""))
                .collect();
            format!("({})", alternatives.join(" || "))
        };
        let mut parts = vec!["($.outcome = \"*\")".to_owned()];
        if !self.rules.is_empty() {
            parts.push(any("rule_id", &self.rules));
        }
        if !self.outcomes.is_empty() {
            parts.push(any("outcome", &self.outcomes));
        }
        if let Some(id) = &self.record_id {
            parts.push(any("record_id", std::slice::from_ref(id)));
        }
        if let Some(id) = &self.finding_id {
            parts.push(any("finding_id", std::slice::from_ref(id)));
        }
        let pattern = format!("{{ {} }}", parts.join(" && "));
        if pattern.len() > PATTERN_MAX {
            "{ ($.outcome = \"*\") }".to_owned()
        } else {
            pattern
        }
    }
}

/// The records of one account (or of the fleet, merged): every one counted per rule and
/// outcome, the latest [`KEPT`] kept.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Records counted.
    pub matched: usize,
    /// Per (rule id, outcome): how many. A record without a rule counts under `none`.
    pub counts: BTreeMap<(String, String), usize>,
    latest: Vec<Record>,
}

impl Ledger {
    pub fn add(&mut self, record: Record) {
        self.matched += 1;
        let rule = record
            .rule_id
            .clone()
            .unwrap_or_else(|| remedy_functions::orchestrator::NO_RULE.to_owned());
        *self
            .counts
            .entry((rule, record.outcome.clone()))
            .or_default() += 1;
        self.latest.push(record);
        if self.latest.len() >= 2 * KEPT {
            self.compact();
        }
    }

    /// Another account's ledger added to this one.
    pub fn merge(&mut self, other: Ledger) {
        self.matched += other.matched;
        for (key, n) in other.counts {
            *self.counts.entry(key).or_default() += n;
        }
        self.latest.extend(other.latest);
        if self.latest.len() >= 2 * KEPT {
            self.compact();
        }
    }

    /// Per outcome: how many, in [`OUTCOMES`]' order, then any other.
    pub fn by_outcome(&self) -> Vec<(String, usize)> {
        let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
        for ((_, outcome), n) in &self.counts {
            *totals.entry(outcome).or_default() += n;
        }
        ordered(totals.into_iter().map(|(o, n)| (o.to_owned(), n)).collect())
    }

    /// The latest records, newest first, at most [`KEPT`]; `true` when some were left out.
    pub fn latest(&self) -> (Vec<Record>, bool) {
        let mut latest = self.latest.clone();
        newest_first(&mut latest);
        let truncated = latest.len() > KEPT || self.matched > latest.len();
        latest.truncate(KEPT);
        (latest, truncated)
    }

    /// Its counts without its records: what an account's row keeps once its records are
    /// folded into the fleet's ledger (so the fleet holds at most [`KEPT`] × 2 records, not
    /// that many per account).
    pub fn counts_only(&self) -> Ledger {
        Ledger {
            matched: self.matched,
            counts: self.counts.clone(),
            latest: Vec::new(),
        }
    }

    /// Keeps only the latest [`KEPT`]: once an account's read ends, so that a fleet holds at
    /// most that many per account while the others are read.
    pub fn compact(&mut self) {
        newest_first(&mut self.latest);
        self.latest.truncate(KEPT);
    }
}

fn newest_first(records: &mut [Record]) {
    records.sort_by(|a, b| {
        b.timestamp_ms
            .cmp(&a.timestamp_ms)
            .then_with(|| a.account_id.cmp(&b.account_id))
    });
}

/// `(outcome, n)` pairs in [`OUTCOMES`]' order, unknown outcomes after them by name.
fn ordered(mut pairs: Vec<(String, usize)>) -> Vec<(String, usize)> {
    let rank = |o: &str| {
        OUTCOMES
            .iter()
            .position(|k| *k == o)
            .unwrap_or(OUTCOMES.len())
    };
    pairs.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    pairs
}

/// The outcomes that occur in `ledger`, in table order: the columns of the rule × outcome
/// table.
pub fn columns(ledger: &Ledger) -> Vec<String> {
    ledger.by_outcome().into_iter().map(|(o, _)| o).collect()
}

/// Per rule (by id), the count of each of `columns`, and the rule's total.
pub fn rule_rows(ledger: &Ledger, columns: &[String]) -> Vec<(String, Vec<usize>, usize)> {
    let mut rules: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for ((rule, outcome), n) in &ledger.counts {
        let row = rules.entry(rule).or_insert_with(|| vec![0; columns.len()]);
        if let Some(i) = columns.iter().position(|c| c == outcome) {
            row[i] += n;
        }
    }
    rules
        .into_iter()
        .map(|(rule, counts)| {
            let total = counts.iter().sum();
            (rule.to_owned(), counts, total)
        })
        .collect()
}

/// How one account's read went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// The log group was read (records may be none).
    Read,
    /// The account has no orchestrator log group: no remedy stack there (or one from
    /// before the stack made it). Information, not a failure.
    NoLogGroup,
    /// The account could not be reached or read: the reason says why.
    Failed,
    /// Not read (Ctrl-C).
    Skipped,
}

impl ReadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadStatus::Read => "read",
            ReadStatus::NoLogGroup => "no_log_group",
            ReadStatus::Failed => "failed",
            ReadStatus::Skipped => "skipped",
        }
    }
}

/// One account's history.
#[derive(Debug, Clone)]
pub struct AccountHistory {
    pub stage: String,
    pub account_id: String,
    pub account_name: String,
    /// The home region, whose log group was read.
    pub region: String,
    pub status: ReadStatus,
    pub reason: Option<String>,
    pub ledger: Ledger,
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"_aws":{"Timestamp":1},"actions":[],"findings":1,"mode":"notify","notified":["urgent"],"outcome":"skipped","reason":"by glob","reason_code":"exception:by-glob","resource":"legacy-app-logs","rule":"S3-001","rule_id":"S3-001"}"#;

    #[test]
    fn an_orchestrator_line_is_a_record_and_other_lines_are_not() {
        let r = parse_line(LINE, "111111111111", 1_700_000_000_123).unwrap();
        assert_eq!(r.account_id, "111111111111");
        assert_eq!(r.outcome, "skipped");
        assert_eq!(r.rule_id.as_deref(), Some("S3-001"));
        assert_eq!(r.exception.as_deref(), Some("by-glob"));
        assert_eq!(r.notified, vec!["urgent".to_owned()]);
        assert_eq!(r.at, "2023-11-14T22:13:20Z");
        for noise in [
            "START RequestId: 1 Version: $LATEST",
            "REPORT RequestId: 1\tDuration: 2 ms",
            "{\"level\":\"info\",\"msg\":\"hello\"}",
            "{\"outcome\": 3}",
            "[1, 2]",
            "{not json",
            "",
        ] {
            assert_eq!(parse_line(noise, "111111111111", 0), None, "{noise}");
        }
    }

    #[test]
    fn a_ledger_v1_line_gives_its_own_time_and_fields() {
        let line = r#"{"ledger":1,"at":"2026-12-01T10:00:00Z","finding_id":"f-1","account_id":"999999999999","region":"eu-west-1","exception":{"id":"legacy"},"duration_ms":42,"remedy_version":"0.2.0","outcome":"remediated","rule_id":"EC2-002","actions":["ec2:RevokeSecurityGroupIngress"]}"#;
        let r = parse_line(line, "111111111111", 5).unwrap();
        // The account is the log group's, whatever the line says.
        assert_eq!(r.account_id, "111111111111");
        assert_eq!(r.at, "2026-12-01T10:00:00Z");
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.exception.as_deref(), Some("legacy"));
        assert_eq!(r.duration_ms, Some(42));
        assert_eq!(r.finding_id.as_deref(), Some("f-1"));
        assert_eq!(r.remedy_version.as_deref(), Some("0.2.0"));
        assert_eq!(r.actions.len(), 1);
    }

    #[test]
    fn since_takes_minutes_hours_and_days_up_to_the_retention() {
        assert_eq!(parse_since("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_since("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_since("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_since("1d12h"), Ok(Duration::from_secs(129_600)));
        assert!(parse_since("90d").is_ok());
        assert!(parse_since(SINCE_DEFAULT).is_ok());
        for bad in ["91d", "0d", "", "7 days", "d", "-1d"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_filter_and_its_pattern_say_the_same() {
        let filter = Filter {
            rules: vec!["S3-001".into(), "EC2-002".into()],
            outcomes: vec!["failed".into()],
            since_ms: 10,
            ..Filter::default()
        };
        assert_eq!(
            filter.pattern(),
            r#"{ ($.outcome = "*") && ($.rule_id = "S3-001" || $.rule_id = "EC2-002") && ($.outcome = "failed") }"#
        );
        assert_eq!(Filter::default().pattern(), r#"{ ($.outcome = "*") }"#);
        let record = |rule: &str, outcome: &str, at: i64| Record {
            rule_id: Some(rule.into()),
            outcome: outcome.into(),
            timestamp_ms: at,
            ..Record::default()
        };
        assert!(filter.matches(&record("S3-001", "failed", 10)));
        assert!(!filter.matches(&record("S3-001", "failed", 9)));
        assert!(!filter.matches(&record("S3-002", "failed", 10)));
        assert!(!filter.matches(&record("EC2-002", "remediated", 10)));
        let many = Filter {
            rules: (0..200).map(|i| format!("R-{i:03}")).collect(),
            ..Filter::default()
        };
        assert_eq!(many.pattern(), Filter::default().pattern());
        let one = Filter {
            record_id: Some("0123456789abcdef".into()),
            finding_id: Some("ccc:o:a:S3-001:us-east-1:b".into()),
            ..Filter::default()
        };
        assert_eq!(
            one.pattern(),
            r#"{ ($.outcome = "*") && ($.record_id = "0123456789abcdef") && ($.finding_id = "ccc:o:a:S3-001:us-east-1:b") }"#
        );
        let mut it = Record {
            record_id: Some("0123456789abcdef".into()),
            finding_id: Some("ccc:o:a:S3-001:us-east-1:b".into()),
            ..Record::default()
        };
        assert!(one.matches(&it));
        it.record_id = Some("fedcba9876543210".into());
        assert!(!one.matches(&it));
        assert!(is_id("ccc:o:a:S3-001:us-east-1:b"));
        for bad in ["", "a\"b", "a b", "a\\b", "a\nb"] {
            assert!(!is_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_record_reads_what_its_rule_removed_and_counts_what_it_cannot() {
        let line = r#"{"ledger":1,"outcome":"remediated","rule_id":"S3-001","record_id":"00000000000000ab","removed":[{"kind":"acl_grant","bucket":"b","grantee":"http://acs.amazonaws.com/groups/global/AllUsers","permission":"READ"},{"kind":"from_the_future"}],"changes":[{"api":"s3:PutBucketAcl","target":"b"},{"api":"s3:PutBucketAcl"}]}"#;
        let r = parse_line(line, "111111111111", 5).unwrap();
        assert_eq!(r.record_id.as_deref(), Some("00000000000000ab"));
        assert_eq!(r.removed.len(), 1);
        assert_eq!(r.removed_unread, 1);
        // A change without its target is not one.
        assert_eq!(
            r.changes,
            vec![remedy_functions::rule::Change {
                api: "s3:PutBucketAcl".into(),
                target: "b".into()
            }]
        );
    }

    #[test]
    fn a_ledger_counts_everything_and_keeps_the_latest() {
        let mut a = Ledger::default();
        for i in 0..(2 * KEPT + 5) {
            a.add(Record {
                account_id: "1".into(),
                timestamp_ms: i as i64,
                rule_id: Some("S3-001".into()),
                outcome: if i % 2 == 0 { "remediated" } else { "failed" }.into(),
                ..Record::default()
            });
        }
        let mut b = Ledger::default();
        b.add(Record {
            account_id: "2".into(),
            timestamp_ms: 1_000_000,
            outcome: "brand_new".into(),
            ..Record::default()
        });
        a.merge(b);
        assert_eq!(a.matched, 2 * KEPT + 6);
        let (latest, truncated) = a.latest();
        assert!(truncated);
        assert_eq!(latest.len(), KEPT);
        assert_eq!(latest[0].account_id, "2");
        assert_eq!(latest[1].timestamp_ms, (2 * KEPT + 4) as i64);
        assert_eq!(
            a.by_outcome(),
            vec![
                ("remediated".to_owned(), KEPT + 3),
                ("failed".to_owned(), KEPT + 2),
                ("brand_new".to_owned(), 1)
            ]
        );
        let columns = columns(&a);
        let rows = rule_rows(&a, &columns);
        assert_eq!(
            rows[0],
            (
                "S3-001".to_owned(),
                vec![KEPT + 3, KEPT + 2, 0],
                2 * KEPT + 5
            )
        );
        assert_eq!(rows[1], ("none".to_owned(), vec![0, 0, 1], 1));
    }
}
