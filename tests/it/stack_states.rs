//! Stack states a target can be found in, end to end.
//!
//! - `*_IN_PROGRESS` (moto leaves a create whose resource fails in CREATE_IN_PROGRESS): the
//!   deploy waits for it up to the target timeout and then fails with that reason; if the
//!   stack settles meanwhile (here: is deleted) it decides again and deploys.
//! - An account near its IAM role quota (GetAccountSummary from a recorded response): a
//!   deploy whose new or replaced roles would pass it is refused before anything is made;
//!   one that adds no role is never held back.
//! - `ROLLBACK_COMPLETE` and `UPDATE_ROLLBACK_FAILED`, which moto cannot produce: the direct
//!   engine runs in this process with an HTTP client that answers the one request showing
//!   that state from a recorded response (`tests/fixtures/cloudformation/`) and passes every
//!   other request to the emulator, so what the engine then does really happens there.

use crate::progress::stuck_stack;
use crate::support;

use remedy::aws::identity::Identity;
use remedy::core::outcome::{Outcome, TargetResult};
use remedy::core::stack::TemplateSource;
use remedy::core::targets::Target;
use remedy::core::targets::TargetAccount;
use remedy::engine::direct::DirectEngine;
use remedy::engine::{Deployment, EngineOptions};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use support::replay::Replay;
use support::{remedy, remedy_command, stack_state, Emulator, Org, Workdir, REGION};

const CONFIG: &str = "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_in_progress_is_waited_for_until_the_target_timeout_or_until_it_settles() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let work = Workdir::new(CONFIG);
    stuck_stack(&emulator, &account).await;

    let run = remedy(
        &emulator,
        work.path(),
        &[
            "deploy",
            "--yes",
            "--stage",
            "dev",
            "--target-timeout",
            "3s",
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let target = &run.json()["targets"][0];
    assert_eq!(target["outcome"], "failed");
    assert_eq!(target["stack_status"], "CREATE_IN_PROGRESS");
    let reason = target["reason"].as_str().unwrap();
    assert!(
        reason.contains("still CREATE_IN_PROGRESS") && reason.contains("target timeout 3s"),
        "{reason}"
    );

    // Another run holds the stack; it settles (here: is deleted) while this one waits,
    // which then decides again and creates it.
    let child = remedy_command(&emulator, work.path())
        .args([
            "deploy",
            "--yes",
            "--stage",
            "dev",
            "--target-timeout",
            "2m",
            "--output",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start remedy deploy");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.account_config(&account, REGION).await);
    cfn.delete_stack()
        .stack_name("remedy")
        .send()
        .await
        .unwrap();
    let run: support::Run = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .expect("remedy deploy ran")
        .into();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("the stack is CREATE_IN_PROGRESS, held by another operation; waiting"),
        "the deploy found the stack busy and waited:\n{}",
        run.stderr
    );
    assert_eq!(run.json()["targets"][0]["outcome"], "created");
    let out = cfn
        .describe_stacks()
        .stack_name("remedy")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.stacks()[0].stack_status().map(|s| s.as_str()),
        Some("CREATE_COMPLETE")
    );
}

// -- Recorded responses for the states moto cannot produce ---------------------------

const ONE_TOPIC: &str = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n";
const TWO_TOPICS: &str =
    "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n  Second:\n    Type: AWS::SNS::Topic\n";

async fn engine(
    emulator: &Emulator,
    replay: &Replay,
    template: &str,
    hash: &str,
    fix_rollback: bool,
) -> Arc<DirectEngine> {
    let role_count = template.matches("AWS::IAM::Role").count();
    let base = replay.sdk_config(emulator).await;
    let deployment = Deployment {
        stack_name: "remedy".into(),
        templates: [(REGION.to_owned(), TemplateSource::Body(template.into()))].into(),
        parameters: Vec::new(),
        tags: vec![("remedy:hash".into(), hash.into())],
        hash: hash.into(),
        roles: role_count,
        exceptions: None,
        variants: Default::default(),
    };
    let options = EngineOptions {
        fix_rollback,
        target_timeout: Duration::from_secs(60),
    };
    Arc::new(DirectEngine::new(
        Arc::new(Identity::new(base, "CloudConformity", None, "replay")),
        deployment,
        &format!("replay-{hash}"),
        options,
        None,
        remedy::core::stop::Stop::never(),
    ))
}

async fn deploy(engine: &Arc<DirectEngine>, account: &str) -> TargetResult {
    let target = Target {
        account: TargetAccount {
            id: account.into(),
            name: "dev-00".into(),
            ou_path: "/Workloads/Dev".into(),
        },
        region: REGION.into(),
    };
    engine.clone().deploy(target).await
}

fn actions(seen: &[(String, bool)]) -> Vec<&str> {
    seen.iter().map(|(a, _)| a.as_str()).collect()
}

/// The stack's status, `remedy:hash` and logical resource ids, from the emulator.
async fn read_back(emulator: &Emulator, account: &str) -> (String, String, Vec<String>) {
    let (status, hash) = stack_state(emulator, account, REGION)
        .await
        .expect("a stack");
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.account_config(account, REGION).await);
    let resources = cfn
        .list_stack_resources()
        .stack_name("remedy")
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = resources
        .stack_resource_summaries()
        .iter()
        .filter_map(|r| r.logical_resource_id().map(str::to_owned))
        .collect();
    ids.sort();
    (status, hash, ids)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_complete_stack_is_deleted_and_created_again() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let replay = Replay::new();
    replay.answer(
        "DescribeStacks",
        "cloudformation/describe-stacks-rollback-complete.xml",
    );

    let result = deploy(
        &engine(&emulator, &replay, ONE_TOPIC, "h1", false).await,
        &account,
    )
    .await;
    assert_eq!(result.outcome, Outcome::Created, "{result:?}");
    assert_eq!(result.stack_status.as_deref(), Some("CREATE_COMPLETE"));
    let seen = replay.take_seen();
    assert_eq!(seen[0], ("DescribeStacks".to_owned(), true), "{seen:?}");
    assert_eq!(
        actions(&seen),
        [
            "DescribeStacks",
            "DeleteStack",
            "DescribeStacks", // the deleted stack, by id: gone
            "DescribeStacks", // by name: what is there now (nothing), to decide again
            "CreateStack",
            "DescribeStacks"
        ],
        "deleted, then created again"
    );
    let (status, hash, resources) = read_back(&emulator, &account).await;
    assert_eq!((status.as_str(), hash.as_str()), ("CREATE_COMPLETE", "h1"));
    assert_eq!(resources, ["Topic"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_rollback_failed_is_reported_with_its_resources_and_continued_with_fix_rollback() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let replay = Replay::new();
    let first = deploy(
        &engine(&emulator, &replay, ONE_TOPIC, "h1", false).await,
        &account,
    )
    .await;
    assert_eq!(first.outcome, Outcome::Created, "{first:?}");
    replay.take_seen();

    // Without --fix-rollback: failed, naming the resources, and nothing attempted.
    replay.answer(
        "DescribeStacks",
        "cloudformation/describe-stacks-update-rollback-failed.xml",
    );
    replay.answer(
        "DescribeStackEvents",
        "cloudformation/describe-stack-events-update-rollback-failed.xml",
    );
    let result = deploy(
        &engine(&emulator, &replay, TWO_TOPICS, "h2", false).await,
        &account,
    )
    .await;
    assert_eq!(result.outcome, Outcome::Failed);
    assert_eq!(
        result.stack_status.as_deref(),
        Some("UPDATE_ROLLBACK_FAILED")
    );
    let reason = result.reason.unwrap_or_default();
    for needle in [
        "stack is UPDATE_ROLLBACK_FAILED",
        "--fix-rollback",
        "failed resources: Queue (AWS::SQS::Queue): Resource handler returned message: \"Value 1800",
        "; RuleS3001Function (AWS::Lambda::Function): Resource handler returned message: \"Error occurred while GetObject",
    ] {
        assert!(reason.contains(needle), "{needle:?} in {reason}");
    }
    assert!(!reason.contains("older operation"), "{reason}");
    assert_eq!(
        actions(&replay.take_seen()),
        ["DescribeStacks", "DescribeStackEvents"]
    );
    assert_eq!(read_back(&emulator, &account).await.1, "h1", "untouched");

    // With --fix-rollback: the rollback is continued, then the stack is updated.
    replay.answer(
        "DescribeStacks",
        "cloudformation/describe-stacks-update-rollback-failed.xml",
    );
    replay.answer(
        "ContinueUpdateRollback",
        "cloudformation/continue-update-rollback.xml",
    );
    let result = deploy(
        &engine(&emulator, &replay, TWO_TOPICS, "h2", true).await,
        &account,
    )
    .await;
    assert_eq!(result.outcome, Outcome::Updated, "{result:?}");
    let seen = replay.take_seen();
    let order = actions(&seen);
    let continued = order.iter().position(|a| *a == "ContinueUpdateRollback");
    let created = order.iter().position(|a| *a == "CreateChangeSet");
    assert!(
        matches!((continued, created), (Some(c), Some(u)) if c < u),
        "{seen:?}"
    );
    let (status, _, resources) = read_back(&emulator, &account).await;
    assert_eq!(status, "UPDATE_COMPLETE");
    assert_eq!(resources, ["Second", "Topic"], "the update was applied");
}

// -- The IAM role quota ---------------------------------------------------------------

/// A template of lambda-trusted roles with these logical ids.
fn roles(ids: &[&str]) -> String {
    let mut t = String::from("Resources:\n");
    for id in ids {
        t.push_str(&format!("  {id}:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {{Version: '2012-10-17', Statement: [{{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: 'sts:AssumeRole'}}]}}\n"));
    }
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_that_would_pass_the_account_s_role_quota_is_refused_before_anything_is_made() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let replay = Replay::new();
    let near_quota = || {
        replay.answer(
            "GetAccountSummary",
            "iam/get-account-summary-near-the-role-quota.xml",
        )
    };
    let two = roles(&["First", "Second"]);

    // 999 of 1,000 roles (a recorded answer): two more do not fit. Nothing is created.
    near_quota();
    let refused = deploy(
        &engine(&emulator, &replay, &two, "h1", false).await,
        &account,
    )
    .await;
    assert_eq!(refused.outcome, Outcome::Failed, "{refused:?}");
    let reason = refused.reason.as_deref().unwrap();
    assert!(
        reason.contains(
            "IAM role quota: the account has 999 of its 1000 roles and the stack needs 2 more"
        ),
        "{reason}"
    );
    assert_eq!(
        actions(&replay.take_seen()),
        ["DescribeStacks", "GetAccountSummary"],
        "refused before CreateStack"
    );
    assert_eq!(stack_state(&emulator, &account, REGION).await, None);

    // The emulator's own answer (a handful of roles): created, after the same check.
    let created = deploy(
        &engine(&emulator, &replay, &two, "h1", false).await,
        &account,
    )
    .await;
    assert_eq!(created.outcome, Outcome::Created, "{created:?}");
    assert_eq!(
        actions(&replay.take_seen()),
        [
            "DescribeStacks",
            "GetAccountSummary",
            "CreateStack",
            "DescribeStacks"
        ]
    );

    // Two rules swapped for two others: the count stays at two, but CloudFormation makes
    // the new roles before it deletes the old ones. Refused, the change set deleted, and
    // the stack as it was.
    near_quota();
    let swapped = roles(&["Third", "Fourth"]);
    let refused = deploy(
        &engine(&emulator, &replay, &swapped, "h2", false).await,
        &account,
    )
    .await;
    assert_eq!(refused.outcome, Outcome::Failed, "{refused:?}");
    assert!(
        refused.reason.as_deref().unwrap().contains("needs 2 more"),
        "{refused:?}"
    );
    let seen = replay.take_seen();
    assert!(
        seen.iter().all(|(a, _)| a != "ExecuteChangeSet"),
        "{seen:?}"
    );
    assert!(seen.iter().any(|(a, _)| a == "DeleteChangeSet"), "{seen:?}");
    let (_, hash, resources) = read_back(&emulator, &account).await;
    assert_eq!(
        (hash.as_str(), resources),
        ("h1", vec!["First".to_owned(), "Second".to_owned()])
    );

    // An update that adds no role (here: only the tags) never asks, however full the
    // account (the recorded answer stays unused).
    let updated = deploy(
        &engine(&emulator, &replay, &two, "h3", false).await,
        &account,
    )
    .await;
    assert_ne!(updated.outcome, Outcome::Failed, "{updated:?}");
    let seen = replay.take_seen();
    assert!(
        seen.iter().all(|(a, _)| a != "GetAccountSummary"),
        "{seen:?}"
    );
    let (_, hash) = stack_state(&emulator, &account, REGION).await.unwrap();
    assert_eq!(hash, "h3");
}
