//! `remedy history` (issue 17, point 3) against the emulator's CloudWatch Logs: each
//! account's orchestrator log group, in its stage's home region, seeded with lines shaped
//! like the orchestrator's (and Lambda's START/REPORT noise), read back through the
//! account's role; the filters, every page of a large log group, an account without the
//! log group, one that cannot be read, and the JSON, Markdown and CSV read back.
//!
//! The emulator ignores JSON filter patterns (moto 5.2.5 treats a pattern that starts with
//! `{` as matching everything), so these tests prove the client-side filter; the
//! server-side pattern is checked in the recorded request and in `core::history`'s tests.

use crate::support;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use serde_json::{json, Value};
use support::{remedy, Emulator, Org, Workdir, REGION};

const GROUP: &str = "/aws/lambda/AutoRemediateOrchestrator";
const PROD_HOME: &str = "eu-west-1";
const DAY_MS: i64 = 86_400_000;

fn config() -> String {
    "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\n  - name: prod\n    home_region: eu-west-1\n    regions: [eu-west-1]\n    targets: {ous: [/Workloads/Prod]}\nrules:\n  S3-001: remediate\n  EC2-002: remediate\n".into()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One orchestrator line, as `log_line` writes it (before the ledger's v1 fields).
fn line(rule: &str, outcome: &str, resource: &str, code: Option<&str>) -> String {
    json!({
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "remedy", "Dimensions": [["rule", "outcome"]], "Metrics": [{"Name": "findings", "Unit": "Count"}]}]},
        "actions": [],
        "findings": 1,
        "mode": "remediate",
        "notified": [],
        "outcome": outcome,
        "reason": code.map(|c| format!("because {c}")),
        "reason_code": code,
        "resource": resource,
        "rule": rule,
        "rule_id": rule,
    })
    .to_string()
}

/// Creates the orchestrator's log group in `account`'s `region` (through the account) and
/// puts `events` (timestamp in ms, message) into one stream, in order.
pub(crate) async fn seed(
    emulator: &Emulator,
    account: &str,
    region: &str,
    events: &[(i64, String)],
) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&emulator.account_config(account, region).await);
    logs.create_log_group()
        .log_group_name(GROUP)
        .send()
        .await
        .unwrap();
    let stream = "2026/12/06/[$LATEST]0123456789abcdef";
    logs.create_log_stream()
        .log_group_name(GROUP)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let mut events = events.to_vec();
    events.sort_by_key(|(t, _)| *t);
    for chunk in events.chunks(5_000) {
        let batch: Vec<InputLogEvent> = chunk
            .iter()
            .map(|(t, m)| {
                InputLogEvent::builder()
                    .timestamp(*t)
                    .message(m)
                    .build()
                    .unwrap()
            })
            .collect();
        logs.put_log_events()
            .log_group_name(GROUP)
            .log_stream_name(stream)
            .set_log_events(Some(batch))
            .send()
            .await
            .unwrap();
    }
}

fn account<'d>(doc: &'d Value, id: &str) -> &'d Value {
    support::by_account(&doc["accounts"], id)
}

fn count(doc: &Value, rule: &str, outcome: &str) -> u64 {
    doc["by_rule"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule_id"] == rule && r["outcome"] == outcome)
        .map_or(0, |r| r["count"].as_u64().unwrap())
}

fn history(emulator: &Emulator, work: &Workdir, args: &[&str]) -> Value {
    let mut all = vec!["history"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", "json"]);
    let run = remedy(emulator, work.path(), &all);
    assert_eq!(run.code, 0, "{args:?}: {}\n{}", run.stdout, run.stderr);
    run.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn history_reads_every_accounts_ledger_with_its_filters() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 3).await;
    let prod = org.accounts_in("prod", "/Workloads/Prod", 1).await;
    for a in dev.iter().chain(&prod) {
        emulator.create_role(a).await;
    }
    let work = Workdir::new(&config());
    let now = now_ms();
    let (a, b, empty) = (&dev[0], &dev[1], &dev[2]);
    let ledger_v1 = json!({
        "ledger": 1, "at": "2026-12-06T09:00:00Z", "finding_id": "ccc:S3-001:bucket-9",
        "account_id": a, "region": "eu-west-1", "duration_ms": 120, "remedy_version": "0.2.0",
        "outcome": "failed", "rule_id": "S3-001", "rule": "S3-001", "resource": "bucket-9",
        "actions": ["s3:PutBucketAcl"], "notified": ["urgent"], "reason": "AccessDenied"
    })
    .to_string();
    seed(
        &emulator,
        a,
        REGION,
        &[
            (now - 60_000, "START RequestId: 1 Version: $LATEST".into()),
            (now - 59_000, line("S3-001", "remediated", "bucket-1", None)),
            (now - 58_000, line("S3-001", "remediated", "bucket-2", None)),
            (now - 57_000, ledger_v1),
            (
                now - 56_000,
                line("EC2-002", "dry_run", "sg-1", Some("dry_run")),
            ),
            (
                now - 55_000,
                "REPORT RequestId: 1\tDuration: 12.3 ms\tBilled Duration: 13 ms".into(),
            ),
            (
                now - 54_000,
                "{\"level\":\"warn\",\"message\":\"not a record\"}".into(),
            ),
            // Ten days ago: outside the default week.
            (
                now - 10 * DAY_MS,
                line("S3-001", "remediated", "bucket-old", None),
            ),
        ],
    )
    .await;
    seed(
        &emulator,
        b,
        REGION,
        &[
            (
                now - 30_000,
                line(
                    "EC2-002",
                    "skipped",
                    "sg-legacy",
                    Some("exception:legacy-sftp"),
                ),
            ),
            // The latest record of the fleet.
            (now - 1_000, line("S3-001", "remediated", "bucket-b", None)),
        ],
    )
    .await;
    // prod's stacks live in eu-west-1: that group is read, a decoy in us-east-1 is not.
    seed(
        &emulator,
        &prod[0],
        PROD_HOME,
        &[(now - 5_000, line("S3-001", "failed", "bucket-p", None))],
    )
    .await;
    seed(
        &emulator,
        &prod[0],
        REGION,
        &[(now - 5_000, line("S3-001", "compliant", "decoy", None))],
    )
    .await;

    // Bad input: exit 2, before any AWS call.
    emulator.start_recording();
    for (args, words) in [
        (vec!["history", "--rule", "S3_001"], "--rule S3_001"),
        (vec!["history", "--since", "91d"], "at most 90d"),
        (vec!["history", "--since", "soon"], "not a duration"),
        (vec!["history", "--outcome", "fixed"], "fixed"),
        (vec!["history", "--account", "12"], "--account 12"),
        (vec!["history", "--stage", "qa"], "qa"),
    ] {
        let run = remedy(&emulator, work.path(), &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
    }
    assert!(
        emulator.recording().is_empty(),
        "bad input reached AWS before it was refused"
    );

    // The dev stage, the default week.
    emulator.start_recording();
    let doc = history(&emulator, &work, &["--stage", "dev"]);
    assert_eq!(
        doc["summary"],
        json!({"accounts": 3, "read": 2, "no_log_group": 1, "failed": 0, "skipped": 0, "records": 6}),
        "{doc}"
    );
    assert_eq!(account(&doc, a)["status"], "read");
    assert_eq!(account(&doc, a)["region"], REGION);
    assert_eq!(account(&doc, a)["records"], 4);
    assert_eq!(
        account(&doc, a)["outcomes"],
        json!({"remediated": 2, "failed": 1, "dry_run": 1})
    );
    assert_eq!(account(&doc, b)["records"], 2);
    let missing = account(&doc, empty);
    assert_eq!(missing["status"], "no_log_group");
    assert_eq!(missing["records"], 0);
    assert!(
        missing["reason"].as_str().unwrap().contains(GROUP),
        "{missing}"
    );
    assert_eq!(count(&doc, "S3-001", "remediated"), 3);
    assert_eq!(count(&doc, "S3-001", "failed"), 1);
    assert_eq!(count(&doc, "EC2-002", "dry_run"), 1);
    assert_eq!(count(&doc, "EC2-002", "skipped"), 1);
    let records = doc["records"].as_array().unwrap();
    assert_eq!(records.len(), 6);
    assert_eq!(doc["truncated"], false);
    // Latest first; the account is the log group's.
    assert_eq!(records[0]["resource"], "bucket-b");
    assert_eq!(records[0]["account_id"], b.as_str());
    let stamps: Vec<&str> = records.iter().map(|r| r["at"].as_str().unwrap()).collect();
    assert!(stamps.iter().all(|s| s.ends_with('Z')), "{stamps:?}");
    let skipped = records.iter().find(|r| r["outcome"] == "skipped").unwrap();
    assert_eq!(skipped["exception"], "legacy-sftp");
    assert_eq!(skipped["reason_code"], "exception:legacy-sftp");
    // The ledger's v1 fields, read as they come.
    let v1 = records
        .iter()
        .find(|r| r["resource"] == "bucket-9")
        .unwrap();
    assert_eq!(v1["at"], "2026-12-06T09:00:00Z");
    assert_eq!(v1["region"], "eu-west-1");
    assert_eq!(v1["finding_id"], "ccc:S3-001:bucket-9");
    assert_eq!(v1["duration_ms"], 120);
    assert_eq!(v1["notified"], json!(["urgent"]));
    assert_eq!(v1["account_id"], a.as_str());
    // One FilterLogEvents per account, in the home region, narrowed server-side too.
    let calls: Vec<_> = emulator
        .recording()
        .into_iter()
        .filter(|c| c.action == "FilterLogEvents")
        .collect();
    assert_eq!(calls.len(), 3, "{calls:?}");
    for call in &calls {
        assert_eq!(call.region, REGION);
        let body: Value = serde_json::from_str(&call.body).unwrap();
        assert_eq!(body["logGroupName"], GROUP);
        assert_eq!(body["filterPattern"], "{ ($.outcome = \"*\") }");
        assert!(body["startTime"].as_i64().unwrap() <= now - 7 * DAY_MS + 120_000);
    }

    // Further back: the old record counts.
    let doc = history(&emulator, &work, &["--stage", "dev", "--since", "30d"]);
    assert_eq!(doc["summary"]["records"], 7, "{doc}");
    assert_eq!(count(&doc, "S3-001", "remediated"), 4);
    // Less far: none of them is older than two minutes but the old one.
    let doc = history(&emulator, &work, &["--stage", "dev", "--since", "90m"]);
    assert_eq!(doc["summary"]["records"], 6);

    // Filters: a rule, an outcome, an account.
    emulator.start_recording();
    let doc = history(&emulator, &work, &["--stage", "dev", "--rule", "EC2-002"]);
    assert_eq!(doc["summary"]["records"], 2, "{doc}");
    assert!(doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["rule_id"] == "EC2-002"));
    let call = emulator
        .recording()
        .into_iter()
        .find(|c| c.action == "FilterLogEvents")
        .unwrap();
    let body: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(
        body["filterPattern"],
        "{ ($.outcome = \"*\") && ($.rule_id = \"EC2-002\") }"
    );
    let doc = history(
        &emulator,
        &work,
        &["--outcome", "failed", "--outcome", "skipped"],
    );
    // Every stage: prod's failure in eu-west-1 (not the decoy), dev's failure and skip.
    assert_eq!(doc["summary"]["accounts"], 4);
    assert_eq!(doc["summary"]["records"], 3, "{doc}");
    assert_eq!(account(&doc, &prod[0])["region"], PROD_HOME);
    assert_eq!(account(&doc, &prod[0])["outcomes"], json!({"failed": 1}));
    assert_eq!(count(&doc, "S3-001", "compliant"), 0);
    let doc = history(&emulator, &work, &["--account", b]);
    assert_eq!(doc["summary"]["accounts"], 1);
    assert_eq!(doc["accounts"][0]["stage"], "dev");
    assert_eq!(doc["summary"]["records"], 2);
    let stranger = remedy(
        &emulator,
        work.path(),
        &["history", "--stage", "prod", "--account", a],
    );
    assert_eq!(stranger.code, 2, "{}", stranger.stderr);
    assert!(stranger.stderr.contains("not a target of stage `prod`"));

    // The text report, the Markdown summary and the CSV export.
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "history",
            "--stage",
            "dev",
            "--report",
            "out/history.md",
            "--csv",
            "out/history.csv",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for words in [
        "RULE",
        "REMEDIATED",
        "DRY_RUN",
        "TOTAL",
        "no_log_group",
        "bucket-b",
        "6 records in 3 accounts (2 read, 1 without a log group, 0 failed)",
    ] {
        assert!(run.stdout.contains(words), "{words}:\n{}", run.stdout);
    }
    assert!(
        !run.stdout.lines().any(|l| l.ends_with(' ')),
        "{}",
        run.stdout
    );
    let md = std::fs::read_to_string(work.path().join("out/history.md")).unwrap();
    assert!(md.starts_with("# remedy history\n"), "{md}");
    assert!(
        md.contains("| rule | remediated | dry_run | skipped | failed | total |"),
        "{md}"
    );
    assert!(md.contains("| S3-001 | 3 | 0 | 0 | 1 | 4 |"), "{md}");
    assert!(md.contains(&format!("| {empty} |")), "{md}");
    let csv = std::fs::read_to_string(work.path().join("out/history.csv")).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(lines[0].starts_with("at,account_id,rule_id,outcome,reason_code,resource,"));
    assert!(lines[1].contains(",S3-001,remediated,,bucket-b,"), "{csv}");
}

#[tokio::test(flavor = "multi_thread")]
async fn history_follows_every_page_of_a_large_log_group() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 1).await;
    emulator.create_role(&dev[0]).await;
    let work = Workdir::new(&config());
    // More than one FilterLogEvents page (10,000 events) and more than a run keeps.
    let now = now_ms();
    let total = 10_050i64;
    let events: Vec<(i64, String)> = (0..total)
        .map(|i| {
            let outcome = if i % 10 == 0 { "failed" } else { "remediated" };
            (
                now - 600_000 + i,
                format!(
                    "{{\"outcome\":\"{outcome}\",\"rule_id\":\"S3-001\",\"resource\":\"b-{i}\"}}"
                ),
            )
        })
        .collect();
    seed(&emulator, &dev[0], REGION, &events).await;

    emulator.start_recording();
    let doc = history(&emulator, &work, &["--stage", "dev"]);
    let pages: Vec<Value> = emulator
        .recording()
        .into_iter()
        .filter(|c| c.action == "FilterLogEvents")
        .map(|c| serde_json::from_str(&c.body).unwrap())
        .collect();
    assert!(pages.len() >= 2, "{pages:?}");
    assert!(pages[0].get("nextToken").is_none());
    assert!(pages[1]["nextToken"].is_string(), "{:?}", pages[1]);
    assert_eq!(doc["summary"]["records"], total, "{}", doc["summary"]);
    assert_eq!(count(&doc, "S3-001", "failed"), 1_005);
    assert_eq!(count(&doc, "S3-001", "remediated"), 9_045);
    assert_eq!(doc["records"].as_array().unwrap().len(), 10_000);
    assert_eq!(doc["truncated"], true);
    assert_eq!(
        doc["records"][0]["resource"],
        format!("b-{}", total - 1),
        "the latest first"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_that_cannot_be_read_is_reported_and_hides_no_other() {
    let mut emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    // The first has remedy's role; the second was never bootstrapped.
    emulator.create_role(&dev[0]).await;
    let work = Workdir::new(&config());
    seed(
        &emulator,
        &dev[0],
        REGION,
        &[(now_ms() - 1_000, line("S3-001", "remediated", "b", None))],
    )
    .await;
    emulator.enforce_iam().await;

    let run = remedy(
        &emulator,
        work.path(),
        &[
            "history",
            "--stage",
            "dev",
            "--output",
            "json",
            "--report",
            "history.md",
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(doc["summary"]["read"], 1, "{doc}");
    assert_eq!(doc["summary"]["failed"], 1, "{doc}");
    assert_eq!(doc["summary"]["records"], 1);
    let failed = account(&doc, &dev[1]);
    assert_eq!(failed["status"], "failed");
    let reason = failed["reason"].as_str().unwrap();
    assert!(!reason.contains('\n'), "{reason}");
    // AWS refuses the AssumeRole (AccessDenied). moto 5.2.5 hands out credentials for the
    // missing role and fails their first use with HTTP 500 instead (as in deploy.rs).
    assert!(
        reason.contains("AccessDenied") || reason.contains("HTTP 500"),
        "{reason}"
    );
    assert_eq!(account(&doc, &dev[0])["records"], 1);
    // The Markdown summary lists it first, with why.
    let md = std::fs::read_to_string(work.path().join("history.md")).unwrap();
    let unread = md.split("## Per rule").next().unwrap();
    assert!(unread.contains("## Not read"), "{md}");
    assert!(unread.contains(&format!("| {} |", dev[1])), "{md}");
    assert!(!unread.contains(&format!("| {} |", dev[0])), "{md}");
}
