//! `remedy remediate --event FILE [--account ID] [--dry-run]`: the runtime in this process,
//! against a member account through its role, with DESIGN.md's output and exit codes.

use crate::support;

use aws_sdk_s3::types::Permission;
use support::{finding, remedy, Emulator, Org, Workdir, ALL_USERS, REGION};

const CONFIG: &str = "role: {name: CloudConformity, external_id: ext-7}\nstages:\n  - name: dev\n    targets: {ous: [/Dev]}\nrules:\n  S3-001: remediate\n  S3-026: dry-run\n";

pub(crate) async fn public_bucket(
    emulator: &Emulator,
    account: &str,
    name: &str,
) -> aws_sdk_s3::Client {
    let s3 = remedy::aws::identity::s3_client(
        &emulator.account_config(account, REGION).await,
        REGION,
        &Default::default(),
    );
    s3.create_bucket().bucket(name).send().await.unwrap();
    support::add_group_grant(&s3, name, ALL_USERS, Permission::Read).await;
    s3
}

pub(crate) async fn is_public(s3: &aws_sdk_s3::Client, name: &str) -> bool {
    let acl = s3.get_bucket_acl().bucket(name).send().await.unwrap();
    acl.grants().iter().any(|g| {
        g.grantee()
            .and_then(|g| g.uri())
            .is_some_and(|u| u.ends_with("AllUsers"))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn remediates_in_the_named_account_through_its_role() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Dev").await;
    let s3 = public_bucket(&emulator, &account, "leaky").await;
    let work = Workdir::new(CONFIG);
    work.write("s3-001.json", &finding("S3-001", "leaky").to_string());

    // --dry-run decides and changes nothing.
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "remediate",
            "--event",
            "s3-001.json",
            "--account",
            &account,
            "--dry-run",
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["outcome"], "dry_run");
    // Said as what would have been done, not as done.
    let actions = run.json()["actions"].clone();
    assert!(
        actions
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.as_str().unwrap().starts_with("would have ")),
        "{actions}"
    );
    assert!(is_public(&s3, "leaky").await);

    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "remediate",
            "--event",
            "s3-001.json",
            "--account",
            &account,
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["rule_id"], "S3-001");
    assert_eq!(doc["outcome"], "remediated", "{doc}");
    assert!(doc["actions"][0].as_str().unwrap().contains("AllUsers"));
    assert!(doc["reason"].is_null());
    assert!(
        !is_public(&s3, "leaky").await,
        "the grant is gone in {account}"
    );
    let assumed: Vec<_> = emulator
        .recording()
        .into_iter()
        .filter(|r| r.action == "AssumeRole")
        .collect();
    assert_eq!(assumed.len(), 1);
    assert_eq!(
        assumed[0].params["RoleArn"],
        format!("arn:aws:iam::{account}:role/CloudConformity")
    );
    assert_eq!(
        assumed[0].params.get("ExternalId").map(String::as_str),
        Some("ext-7")
    );

    let run = remedy(
        &emulator,
        work.path(),
        &[
            "remediate",
            "--event",
            "s3-001.json",
            "--account",
            &account,
            "--output",
            "json",
        ],
    );
    assert_eq!(run.json()["outcome"], "compliant");

    // The configured mode is honoured: S3-026 is dry-run.
    work.write("s3-026.json", &finding("S3-026", "leaky").to_string());
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "remediate",
            "--event",
            "s3-026.json",
            "--account",
            &account,
            "--output",
            "json",
        ],
    );
    assert_eq!(run.json()["outcome"], "dry_run", "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn outcomes_and_exit_codes() {
    let emulator = Emulator::start();
    let work = Workdir::new(CONFIG);
    let outcome = |file: &str, body: &str| {
        work.write(file, body);
        let run = remedy(
            &emulator,
            work.path(),
            &["remediate", "--event", file, "--output", "json"],
        );
        (
            run.code,
            run.json()["outcome"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            run.stdout,
        )
    };

    let (code, outcome_of, out) = outcome(
        "hostile.json",
        r#"{"ruleId":"S3-001;rm -rf","status":"FAILURE"}"#,
    );
    assert_eq!((code, outcome_of.as_str()), (2, "rejected"), "{out}");
    let (code, outcome_of, _) = outcome("test.txt", "Test Message from Cloud Conformity");
    assert_eq!((code, outcome_of.as_str()), (0, "skipped"));
    // In text: named as what it is, not `?: skipped`.
    let run = remedy(
        &emulator,
        work.path(),
        &["remediate", "--event", "test.txt"],
    );
    assert_eq!(
        run.stdout.trim(),
        "Conformity test message: nothing to remediate: skipped",
        "{}",
        run.stderr
    );
    let (code, outcome_of, _) = outcome(
        "success.json",
        r#"{"ruleId":"S3-001","status":"SUCCESS","region":"us-east-1"}"#,
    );
    assert_eq!((code, outcome_of.as_str()), (0, "skipped"));
    let (code, outcome_of, _) = outcome(
        "custom.json",
        r#"{"ruleId":"Custom-001","status":"FAILURE","region":"us-east-1"}"#,
    );
    assert_eq!((code, outcome_of.as_str()), (0, "unsupported"));
    let (code, outcome_of, out) =
        outcome("not-enabled.json", &finding("KMS-002", "key").to_string());
    assert_eq!((code, outcome_of.as_str()), (0, "skipped"), "{out}");
    assert!(out.contains("not enabled"), "{out}");
    let (code, outcome_of, out) = outcome(
        "missing.json",
        &finding("S3-001", "no-such-bucket").to_string(),
    );
    assert_eq!((code, outcome_of.as_str()), (1, "failed"), "{out}");
    assert!(out.contains("NoSuchBucket"), "{out}");

    let run = remedy(
        &emulator,
        work.path(),
        &["remediate", "--event", "nowhere.json"],
    );
    assert_eq!(run.code, 2, "an unreadable event is invalid input");
    assert!(run.stderr.contains("nowhere.json"), "{}", run.stderr);
}

/// Every finding that is not remediated says why, as the orchestrator's log line does
/// (issue 16, point 6): `reason_code` in the JSON, null when the finding was remediated.
#[tokio::test(flavor = "multi_thread")]
async fn the_json_says_why_a_finding_was_not_remediated() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Dev").await;
    let s3 = public_bucket(&emulator, &account, "leaky").await;
    let work = Workdir::new(
        "role: {name: CloudConformity, external_id: ext-7}\nstages:\n  - name: dev\n    targets: {ous: [/Dev]}\nrules:\n  S3-001: remediate\n  S3-026: notify\n",
    );
    let reason_of = |file: &str, body: &str, extra: &[&str]| {
        work.write(file, body);
        let mut args = vec!["remediate", "--event", file, "--output", "json"];
        args.extend_from_slice(extra);
        let run = remedy(&emulator, work.path(), &args);
        let doc = run.json();
        (
            run.code,
            doc["outcome"].as_str().unwrap_or_default().to_owned(),
            doc["reason_code"].clone(),
            run.stdout,
        )
    };
    let leaky = finding("S3-001", "leaky").to_string();
    for (file, body, extra, code, outcome, reason_code) in [
        (
            "hostile.json",
            r#"{"ruleId":"S3-001;rm -rf","status":"FAILURE"}"#.to_owned(),
            vec![],
            2,
            "rejected",
            serde_json::json!("rejected:malformed"),
        ),
        (
            "foreign.json",
            serde_json::json!({"ruleId": "S3-001", "status": "FAILURE", "region": REGION,
                               "resource": "arn:aws:sns:us-east-1:222222222222:t"})
            .to_string(),
            vec![],
            2,
            "rejected",
            serde_json::json!("rejected:foreign_account"),
        ),
        (
            "other-partition.json",
            serde_json::json!({"ruleId": "S3-001", "status": "FAILURE", "region": "cn-north-1",
                               "resource": "leaky"})
            .to_string(),
            vec![],
            2,
            "rejected",
            serde_json::json!("outside_regions"),
        ),
        (
            "custom.json",
            r#"{"ruleId":"Custom-001","status":"FAILURE","region":"us-east-1"}"#.to_owned(),
            vec![],
            0,
            "unsupported",
            serde_json::json!("unsupported"),
        ),
        (
            "notify.json",
            finding("S3-026", "leaky").to_string(),
            vec![],
            0,
            "skipped",
            serde_json::json!("notify"),
        ),
        (
            "dry-run.json",
            leaky.clone(),
            vec!["--account", account.as_str(), "--dry-run"],
            0,
            "dry_run",
            serde_json::json!("dry_run"),
        ),
        (
            "test.txt",
            "Test Message from Cloud Conformity".to_owned(),
            vec![],
            0,
            "skipped",
            serde_json::json!("test_message"),
        ),
        (
            "remediate.json",
            leaky.clone(),
            vec!["--account", account.as_str()],
            0,
            "remediated",
            serde_json::Value::Null,
        ),
    ] {
        let (got_code, got_outcome, got_reason, out) = reason_of(file, &body, &extra);
        assert_eq!(
            (got_code, got_outcome.as_str(), &got_reason),
            (code, outcome, &reason_code),
            "{file}: {out}"
        );
        // The key is always there, null or not: a consumer reads one shape.
        assert!(out.contains("\"reason_code\""), "{file}: {out}");
    }
    assert!(
        !is_public(&s3, "leaky").await,
        "the last one was remediated"
    );
}
