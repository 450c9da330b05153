//! `remedy remove` (issue 18, point 1) against the emulator: a stage's stacks deleted by id
//! and read back gone; an account without a stack `absent`; a stack that will not delete (a
//! non-empty bucket: the launcher's mend 5 makes the emulator refuse it as AWS does) named
//! with its resource; no terminal without `--yes` and a run past `--max-deletions` delete
//! nothing.

use crate::support;

use support::{remedy, stack_state, Emulator, Org, Workdir, REGION};

const CONFIG: &str = "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n";

/// A stack named like remedy's, holding a bucket with an object: it cannot be deleted.
async fn undeletable_stack(emulator: &Emulator, account: &str) {
    let config = emulator.account_config(account, REGION).await;
    let template = r#"{"Resources": {"Logs": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "kept-logs"}}}}"#;
    aws_sdk_cloudformation::Client::new(&config)
        .create_stack()
        .stack_name("remedy")
        .template_body(template)
        .send()
        .await
        .unwrap();
    let s3 = remedy::aws::identity::s3_client(&config, REGION, &Default::default());
    s3.put_object()
        .bucket("kept-logs")
        .key("2026/12/06/log")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn remove_deletes_the_stages_stacks_and_names_what_will_not_delete() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let a = org.account("dev-00", "/Workloads/Dev").await;
    let b = org.account("dev-01", "/Workloads/Dev").await;
    let stuck = org.account("dev-02", "/Workloads/Dev").await;
    let empty = org.account("dev-03", "/Workloads/Dev").await;
    let work = Workdir::new(CONFIG);
    let deployed = remedy(
        &emulator,
        work.path(),
        &[
            "deploy",
            "--stage",
            "dev",
            "--account",
            &a,
            "--account",
            &b,
            "--yes",
        ],
    );
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    undeletable_stack(&emulator, &stuck).await;

    // Without a terminal and without --yes: nothing is deleted.
    let unasked = remedy(&emulator, work.path(), &["remove", "--stage", "dev"]);
    assert_eq!(unasked.code, 2, "{}", unasked.stderr);
    assert!(unasked.stderr.contains("--yes"), "{}", unasked.stderr);
    // Past the cap: nothing is deleted, the stacks are listed.
    let capped = remedy(
        &emulator,
        work.path(),
        &["remove", "--stage", "dev", "--yes", "--max-deletions", "2"],
    );
    assert_eq!(capped.code, 1, "{}", capped.stderr);
    assert!(
        capped.stderr.contains("more than --max-deletions 2"),
        "{}",
        capped.stderr
    );
    for account in [&a, &b, &stuck] {
        assert!(
            stack_state(&emulator, account, REGION).await.is_some(),
            "{account} kept"
        );
    }

    let run = remedy(
        &emulator,
        work.path(),
        &[
            "remove",
            "--stage",
            "dev",
            "--yes",
            "--output",
            "json",
            "--report",
            "removed.md",
        ],
    );
    assert_eq!(run.code, 1, "one stack would not delete: {}", run.stderr);
    let doc = run.json();
    let outcome = |id: &str| support::by_account(&doc["targets"], id).clone();
    assert_eq!(outcome(&a)["outcome"], "removed", "{doc}");
    assert_eq!(outcome(&b)["outcome"], "removed", "{doc}");
    assert_eq!(outcome(&empty)["outcome"], "absent", "{doc}");
    let failed = outcome(&stuck);
    assert_eq!(failed["outcome"], "failed", "{doc}");
    assert_eq!(failed["stack_status"], "DELETE_FAILED", "{doc}");
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("Logs (AWS::S3::Bucket)") && reason.contains("not empty"),
        "the resource that would not delete is named: {reason}"
    );
    assert_eq!(doc["summary"]["removed"], 2, "{doc}");
    assert_eq!(doc["summary"]["absent"], 1, "{doc}");
    assert_eq!(doc["summary"]["failed"], 1, "{doc}");
    // Read back: gone where removed, kept (DELETE_FAILED) where it would not delete.
    assert_eq!(stack_state(&emulator, &a, REGION).await, None);
    assert_eq!(stack_state(&emulator, &b, REGION).await, None);
    let kept = stack_state(&emulator, &stuck, REGION).await;
    assert_eq!(
        kept.map(|(status, _)| status).as_deref(),
        Some("DELETE_FAILED")
    );
    let markdown = std::fs::read_to_string(work.path().join("removed.md")).unwrap();
    assert!(markdown.contains("| removed | absent |"), "{markdown}");

    // Again, for a removed account: nothing there any more.
    let again = remedy(
        &emulator,
        work.path(),
        &[
            "remove",
            "--stage",
            "dev",
            "--account",
            &a,
            "--yes",
            "--output",
            "json",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["targets"][0]["outcome"], "absent");
}
