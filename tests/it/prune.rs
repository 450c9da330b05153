//! `--prune` (issue 18, point 2) against the emulator: an account moved out of every
//! stage's OUs is listed by `plan --prune` and removed by `deploy --prune` (read back gone);
//! an account moved from one stage's OUs to another's (same home region) is not removed, and
//! the other stage's deploy updates its stack in place (read back: same stack id, its
//! `remedy:stage` tag now that stage's); a prune past `--max-deletions` removes nothing and
//! exits 1; a stack named like remedy's without remedy's tags is never touched.

use crate::support;

use support::{remedy, stack_state, Emulator, Org, Workdir, REGION};

const CONFIG: &str = "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\n  - name: prod\n    targets: {ous: [/Workloads/Prod]}\nrules:\n  S3-001: remediate\n";

/// The stack's id and `remedy:stage` tag.
async fn stack_of(emulator: &Emulator, account: &str) -> Option<(String, String)> {
    let config = emulator.account_config(account, REGION).await;
    let out = aws_sdk_cloudformation::Client::new(&config)
        .describe_stacks()
        .stack_name("remedy")
        .send()
        .await
        .ok()?;
    let stack = out.stacks().first()?;
    let stage = stack
        .tags()
        .iter()
        .find(|t| t.key() == Some("remedy:stage"))
        .and_then(|t| t.value())
        .unwrap_or_default()
        .to_owned();
    Some((stack.stack_id().unwrap_or_default().to_owned(), stage))
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_removes_what_no_stage_targets_and_updates_a_moved_account_in_place() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let kept = org.account("dev-00", "/Workloads/Dev").await;
    let orphan = org.account("dev-01", "/Workloads/Dev").await;
    let moved = org.account("dev-02", "/Workloads/Dev").await;
    let prod = org.account("prod-00", "/Workloads/Prod").await;
    let foreign = org.account("sandbox-00", "/Sandbox").await;
    let work = Workdir::new(CONFIG);
    for stage in ["dev", "prod"] {
        let run = remedy(
            &emulator,
            work.path(),
            &["deploy", "--stage", stage, "--yes"],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    // A stack of the same name that is not remedy's, in an account no stage targets.
    let config = emulator.account_config(&foreign, REGION).await;
    aws_sdk_cloudformation::Client::new(&config)
        .create_stack()
        .stack_name("remedy")
        .template_body(r#"{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}"#)
        .send()
        .await
        .unwrap();
    let moved_before = stack_of(&emulator, &moved).await.unwrap();
    assert_eq!(moved_before.1, "dev");

    // dev-01 leaves every stage's OUs; dev-02 moves to prod's.
    org.move_to(&orphan, "/Workloads/Dev", "/Sandbox").await;
    org.move_to(&moved, "/Workloads/Dev", "/Workloads/Prod")
        .await;

    let plan = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--prune", "--output", "json"],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let listed = plan.json()["prune"].clone();
    let accounts: Vec<&str> = listed["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, [orphan.as_str()], "{listed}");
    assert_eq!(listed["stacks"][0]["action"], "remove");
    assert_eq!(listed["stacks"][0]["stage"], "dev");
    // prod owns none of them.
    let prod_plan = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "prod", "--prune", "--output", "json"],
    );
    assert_eq!(prod_plan.code, 0, "{}", prod_plan.stderr);
    assert_eq!(prod_plan.json()["prune"]["stacks"], serde_json::json!([]));

    // Past the cap: nothing is removed, exit 1.
    let capped = remedy(
        &emulator,
        work.path(),
        &[
            "deploy",
            "--stage",
            "dev",
            "--yes",
            "--prune",
            "--max-deletions",
            "0",
        ],
    );
    assert_eq!(capped.code, 1, "{}", capped.stderr);
    assert!(
        capped.stderr.contains("more than --max-deletions 0"),
        "{}",
        capped.stderr
    );
    assert!(stack_state(&emulator, &orphan, REGION).await.is_some());

    // The prune: the orphan removed, nothing else touched.
    let pruned = remedy(
        &emulator,
        work.path(),
        &[
            "deploy", "--stage", "dev", "--yes", "--prune", "--output", "json",
        ],
    );
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    let doc = pruned.json();
    assert_eq!(doc["summary"]["removed"], 1, "{doc}");
    let removed: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "removed")
        .map(|t| t["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(removed, [orphan.as_str()], "{doc}");
    assert_eq!(
        stack_state(&emulator, &orphan, REGION).await,
        None,
        "the orphan is gone"
    );
    assert!(stack_state(&emulator, &kept, REGION).await.is_some());
    assert!(stack_state(&emulator, &prod, REGION).await.is_some());
    assert!(
        stack_state(&emulator, &foreign, REGION).await.is_some(),
        "not remedy's: kept"
    );
    assert_eq!(
        stack_of(&emulator, &moved).await,
        Some(moved_before.clone()),
        "not removed"
    );

    // prod's deploy takes the moved account over: the same stack, updated in place.
    let taken = remedy(
        &emulator,
        work.path(),
        &[
            "deploy", "--stage", "prod", "--yes", "--prune", "--output", "json",
        ],
    );
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    let row = taken.json()["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["account_id"] == moved.as_str())
        .cloned()
        .unwrap();
    assert_eq!(row["outcome"], "updated", "{row}");
    let after = stack_of(&emulator, &moved).await.unwrap();
    assert_eq!(
        after.0, moved_before.0,
        "the same stack, never deleted and re-created"
    );
    assert_eq!(after.1, "prod");

    // --prune with --account is refused before any AWS call.
    let narrowed = remedy(
        &emulator,
        work.path(),
        &[
            "deploy",
            "--stage",
            "dev",
            "--account",
            &kept,
            "--prune",
            "--yes",
        ],
    );
    assert_eq!(narrowed.code, 2, "{}", narrowed.stderr);

    // A rollout looks at the organization once, not once per stage: one DescribeStacks per
    // target deployed (3, all unchanged) and one per place where no stage wants a stack
    // (the two accounts outside every stage's OUs), signed in the member accounts.
    emulator.start_recording();
    let rollout = remedy(
        &emulator,
        work.path(),
        &["rollout", "--prune", "--yes", "--output", "json"],
    );
    assert_eq!(rollout.code, 0, "{}", rollout.stderr);
    let described = emulator
        .recording()
        .iter()
        .filter(|c| c.action == "DescribeStacks" && c.access_key != emulator.keys().0)
        .count();
    assert_eq!(described, 5, "{}", rollout.stderr);
}
