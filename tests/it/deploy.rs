//! `remedy deploy` against the emulator: what lands in each account (read back through the
//! account's role), what stays untouched, what remedy sent (the emulator's recorder), and
//! a re-run that is all `unchanged` in two calls per target.

use crate::support;
use crate::support::snapshot::{assert_snapshot, labels};

use std::collections::{BTreeMap, BTreeSet};
use support::{remedy, stack_state, Emulator, Org, Workdir, MANAGEMENT_ACCOUNT, REGION};

async fn function_names(emulator: &Emulator, account: &str, region: &str) -> BTreeSet<String> {
    let lambda = aws_sdk_lambda::Client::new(&emulator.account_config(account, region).await);
    let mut names = BTreeSet::new();
    let mut pages = lambda.list_functions().into_paginator().items().send();
    while let Some(f) = pages.next().await {
        names.insert(
            f.expect("list functions")
                .function_name()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    names
}

/// A function's configuration and its environment variables.
async fn function_environment(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> (
    aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
    std::collections::HashMap<String, String>,
) {
    let config = lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap();
    let vars = config
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    (config, vars)
}

async fn stack_exists(emulator: &Emulator, account: &str, region: &str) -> bool {
    let config = emulator.account_config(account, region).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    cfn.describe_stacks()
        .stack_name("remedy")
        .send()
        .await
        .is_ok()
}

fn config(dev_ou: &str, extra: &str) -> String {
    format!(
        r#"regions: [us-east-1]
package: package.zip
role: {{name: CloudConformity, external_id: "ext-4242"}}
stages:
  - name: dev
    targets: {{ous: [{dev_ou}]}}
  - name: prod
    approval: true
    targets: {{ous: [/Workloads/Prod]}}
rules:
  S3-001: remediate
  EC2-002: dry-run
{extra}"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn deploys_the_stage_reads_back_and_reruns_unchanged() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 3).await;
    let prod = org.account("prod-00", "/Workloads/Prod").await;
    let work = Workdir::new(&config("/Workloads/Dev", ""));

    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // The whole document: three created, CREATE_COMPLETE, no reason.
    let names = labels("dev", &dev);
    assert_snapshot("deploy-first-run", &run.json(), &names);
    // The audit trail the snapshot redacts: who, which build, which template and config.
    let audit = run.json()["run"].clone();
    assert!(
        audit["caller_arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:")),
        "{audit}"
    );
    assert_eq!(audit["commit"], remedy::COMMIT, "{audit}");
    assert_eq!(
        audit["remedy_version"],
        env!("CARGO_PKG_VERSION"),
        "{audit}"
    );
    let config_sha = {
        use sha2::Digest;
        let text = std::fs::read(work.path().join("remedy.yaml")).unwrap();
        format!("{:x}", sha2::Sha256::digest(text))
    };
    assert_eq!(audit["config_sha256"], config_sha.as_str(), "{audit}");
    let (started, finished) = (
        audit["started_at"].as_str().unwrap_or_default(),
        audit["finished_at"].as_str().unwrap_or_default(),
    );
    assert!(
        started.ends_with('Z') && started.len() == 20 && started <= finished,
        "{audit}"
    );

    // Every AssumeRole carried the ExternalId and the run's session name, and only the
    // stage's accounts were assumed.
    let recorded = emulator.recording();
    let assumed: Vec<_> = recorded
        .iter()
        .filter(|r| r.action == "AssumeRole")
        .collect();
    let assumed_arns: BTreeSet<String> = assumed
        .iter()
        .map(|r| r.params["RoleArn"].clone())
        .collect();
    let expected_arns: BTreeSet<String> = dev
        .iter()
        .map(|a| format!("arn:aws:iam::{a}:role/CloudConformity"))
        .collect();
    assert_eq!(assumed_arns, expected_arns);
    assert_eq!(assumed.len(), 3, "one AssumeRole per account");
    for r in &assumed {
        assert_eq!(
            r.params.get("ExternalId").map(String::as_str),
            Some("ext-4242")
        );
        assert!(
            r.params["RoleSessionName"].starts_with("remedy-"),
            "{:?}",
            r.params
        );
    }
    // The hash an auditor matches against the stacks' remedy:hash tag.
    let (_, deployed) = stack_state(&emulator, &dev[0], REGION)
        .await
        .expect("deployed");
    assert_eq!(audit["stage_hashes"]["dev"], deployed.as_str(), "{audit}");

    // A first deploy costs four calls per target: AssumeRole, DescribeStacks (missing),
    // CreateStack, DescribeStacks (settled); no change set for a stack that did not exist.
    let mut per_account: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    // (The security account's own calls, signed with its key, publish the artifacts.)
    for r in recorded
        .iter()
        .filter(|r| r.service == "cloudformation" && r.access_key != "testing")
    {
        per_account
            .entry(r.access_key.as_str())
            .or_default()
            .push(r.action.as_str());
    }
    assert_eq!(per_account.len(), 3, "{per_account:?}");
    for actions in per_account.values() {
        assert_eq!(
            actions,
            &["DescribeStacks", "CreateStack", "DescribeStacks"],
            "{per_account:?}"
        );
    }
    for created in recorded
        .iter()
        .filter(|r| r.action == "CreateStack" && r.access_key != "testing")
    {
        assert!(
            created.params["ClientRequestToken"].starts_with("remedy-create-"),
            "{:?}",
            created.params
        );
    }

    // What landed in each dev account.
    for account in &dev {
        let functions = function_names(&emulator, account, REGION).await;
        let expected: BTreeSet<String> = [
            "AutoRemediateOrchestrator",
            "AutoRemediateS3-001",
            "AutoRemediateEC2-002",
        ]
        .map(String::from)
        .into();
        assert_eq!(functions, expected, "functions in {account}");

        let config = emulator.account_config(account, REGION).await;
        let topics = aws_sdk_sns::Client::new(&config)
            .list_topics()
            .send()
            .await
            .unwrap();
        let topic_arns: Vec<&str> = topics
            .topics()
            .iter()
            .filter_map(|t| t.topic_arn())
            .collect();
        assert_eq!(
            topic_arns,
            [format!("arn:aws:sns:{REGION}:{account}:remedy-findings").as_str()]
        );

        let queues = aws_sdk_sqs::Client::new(&config)
            .list_queues()
            .send()
            .await
            .unwrap();
        let mut queue_names: Vec<&str> = queues
            .queue_urls()
            .iter()
            .filter_map(|u| u.rsplit('/').next())
            .collect();
        queue_names.sort_unstable();
        assert_eq!(
            queue_names,
            [
                "remedy-delivery-dlq",
                "remedy-findings",
                "remedy-findings-dlq"
            ]
        );

        let lambda = aws_sdk_lambda::Client::new(&config);
        let (_, vars) = function_environment(&lambda, "AutoRemediateOrchestrator").await;
        let rules: serde_json::Value = serde_json::from_str(&vars["REMEDY_RULES"]).unwrap();
        assert_eq!(
            rules,
            serde_json::json!({"S3-001": "remediate", "EC2-002": "dry-run"})
        );
        let (rule, vars) = function_environment(&lambda, "AutoRemediateEC2-002").await;
        assert_eq!(vars["REMEDY_MODE"], "dry-run");
        assert_eq!(rule.runtime().map(|r| r.as_str()), Some("provided.al2023"));

        let mappings = lambda
            .list_event_source_mappings()
            .function_name("AutoRemediateOrchestrator")
            .send()
            .await
            .unwrap();
        assert_eq!(
            mappings.event_source_mappings().len(),
            1,
            "the orchestrator reads the queue"
        );
    }

    // The account outside the stage, and the management account, are untouched.
    assert!(!stack_exists(&emulator, &prod, REGION).await);
    assert!(function_names(&emulator, &prod, REGION).await.is_empty());
    let security_cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());
    assert!(security_cfn
        .describe_stacks()
        .stack_name("remedy")
        .send()
        .await
        .is_err());
    // The security account got its artifact bucket with the package.
    let s3 = remedy::aws::identity::s3_client(&emulator.sdk_config(), REGION, &Default::default());
    let bucket = format!("remedy-artifacts-{MANAGEMENT_ACCOUNT}-{REGION}");
    let objects = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("the artifact bucket exists");
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("packages/") && keys[0].ends_with(".zip"),
        "{keys:?}"
    );

    // A re-run: all unchanged, at most two AWS calls per target (AssumeRole, DescribeStacks).
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_snapshot("deploy-rerun-unchanged", &run.json(), &names);
    let recorded = emulator.recording();
    let per_target: Vec<&str> = recorded
        .iter()
        .filter(|r| r.action == "AssumeRole" || r.access_key != "testing")
        .map(|r| r.action.as_str())
        .collect();
    assert!(per_target.len() <= 2 * dev.len(), "{per_target:?}");
    assert_eq!(
        per_target
            .iter()
            .filter(|a| **a == "DescribeStacks")
            .count(),
        3,
        "{per_target:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_rule_set_updates_and_only_named_accounts_are_deployed() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    org.account("prod-00", "/Workloads/Prod").await;
    let work = Workdir::new(&config("/Workloads/Dev", ""));

    // --account narrows the stage to that account.
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "deploy",
            "--yes",
            "--stage",
            "dev",
            "--account",
            &dev[1],
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["targets"].as_array().unwrap().len(), 1);
    assert_eq!(doc["targets"][0]["account_id"], dev[1].as_str());
    assert!(!stack_exists(&emulator, &dev[0], REGION).await);

    // A rule added: the deployed account is updated, the other one created.
    work.write(
        "remedy.yaml",
        &config("/Workloads/Dev", "  KMS-002: remediate\n"),
    );
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    let outcome = |id: &str| {
        doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["account_id"] == id)
            .map(|t| t["outcome"].clone())
    };
    assert_eq!(outcome(&dev[0]), Some("created".into()));
    assert_eq!(outcome(&dev[1]), Some("updated".into()));
    assert!(function_names(&emulator, &dev[1], REGION)
        .await
        .contains("AutoRemediateKMS-002"));

    // An account that is not in the stage is refused before any deploy.
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "deploy",
            "--yes",
            "--stage",
            "dev",
            "--account",
            "999999999999",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--account 999999999999: not a target of stage `dev`"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rule_deploys_through_a_template_url_once_per_account_in_the_home_region() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let work = Workdir::new(&format!(
        "regions: [us-east-1, eu-west-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {{accounts: [\"{account}\"]}}\nrules:\n  \"*\": dry-run\n"
    ));
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.json()["summary"]["created"],
        1,
        "one stack for both regions"
    );

    // Every rule in the home region: 61 functions and 61 roles, once for the account.
    let catalog = remedy_functions::catalog().count();
    let functions = function_names(&emulator, &account, "us-east-1").await;
    assert_eq!(functions.len(), catalog + 1, "{functions:?}");
    assert!(functions.contains("AutoRemediateTrustedAdvisor-003"));
    assert!(function_names(&emulator, &account, "eu-west-1")
        .await
        .is_empty());
    // The template was too large to send inline: it sits in the home region's bucket, and
    // nothing was published for the other covered region.
    let objects = |region: &'static str| {
        let s3 =
            remedy::aws::identity::s3_client(&emulator.sdk_config(), region, &Default::default());
        async move {
            s3.list_objects_v2()
                .bucket(format!("remedy-artifacts-{MANAGEMENT_ACCOUNT}-{region}"))
                .prefix("templates/")
                .send()
                .await
                .map(|o| o.contents().len())
        }
    };
    assert_eq!(objects("us-east-1").await.unwrap(), 1);
    assert!(
        objects("eu-west-1").await.is_err(),
        "no artifact bucket in eu-west-1"
    );
}

/// Two rules: under IAM enforcement member change sets then carry the template inline, a
/// query body with spaces, whose signature the test bed checks over the bytes as sent (its
/// launcher mends moto there; tests/TESTBED-NOTES.md).
fn small_config(extra_stage_lines: &str, mode: &str) -> String {
    format!(
        "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\n    concurrency: 1\n{extra_stage_lines}rules:\n  S3-001: {mode}\n  EC2-002: {mode}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_whose_role_is_missing_fails_alone_and_is_named() {
    let mut emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let mut dev = org.accounts_in("dev", "/Workloads/Dev", 3).await;
    // Targets run in account-id order: the vending machine missed the role in the first one.
    dev.sort();
    let (missing, healthy) = (dev[0].clone(), [dev[1].clone(), dev[2].clone()]);
    for account in &healthy {
        emulator.create_role(account).await;
    }
    let work = Workdir::new(&small_config("    failure_tolerance: 1\n", "dry-run"));
    let first = remedy(
        &emulator,
        work.path(),
        &[
            "deploy",
            "--yes",
            "--stage",
            "dev",
            "--account",
            &healthy[0],
        ],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    emulator.enforce_iam().await;

    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(
        run.code, 1,
        "a failed target is exit 1\n{}\n{}",
        run.stdout, run.stderr
    );
    let doc = run.json();
    assert_eq!(
        doc["status"], "completed",
        "within failure_tolerance: {doc}"
    );
    assert_eq!(
        doc["summary"],
        serde_json::json!({"created": 1, "updated": 0, "unchanged": 1, "failed": 1, "skipped": 0})
    );
    let failed = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["outcome"] == "failed")
        .unwrap();
    assert_eq!(failed["account_id"], missing.as_str());
    // AWS refuses the AssumeRole (AccessDenied). moto 5.2.5 hands out credentials for the
    // missing role and fails their first use with HTTP 500 (NoSuchEntity) instead.
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("AccessDenied") || reason.contains("DescribeStacks: HTTP 500"),
        "{reason}"
    );
    assert!(failed["stack_status"].is_null());

    // The others really have their stack, complete and tagged with this deployment, and its
    // functions.
    for account in &healthy {
        let config = emulator.account_config(account, REGION).await;
        let function = aws_sdk_lambda::Client::new(&config)
            .get_function()
            .function_name("AutoRemediateS3-001")
            .send()
            .await;
        assert!(function.is_ok(), "{account}: {function:?}");
        let cfn = aws_sdk_cloudformation::Client::new(&config);
        let stacks = cfn
            .describe_stacks()
            .stack_name("remedy")
            .send()
            .await
            .expect("the stack exists");
        let stack = &stacks.stacks()[0];
        assert_eq!(
            stack.stack_status().map(|s| s.as_str()),
            Some("CREATE_COMPLETE"),
            "{account}"
        );
        assert!(
            stack.tags().iter().any(|t| t.key() == Some("remedy:hash")),
            "{account}"
        );
    }

    // At tolerance 0 the same failure stops the stage: no new target starts after it.
    work.write("remedy.yaml", &small_config("", "notify"));
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 1);
    let doc = run.json();
    assert_eq!(doc["status"], "failed", "{doc}");
    let outcomes: Vec<(&str, &str)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["account_id"].as_str().unwrap(),
                t["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    // One at a time, in account-id order: the first target fails, the stage stops, and the
    // other two never start.
    assert_eq!(
        outcomes,
        [
            (missing.as_str(), "failed"),
            (healthy[0].as_str(), "skipped"),
            (healthy[1].as_str(), "skipped")
        ]
    );
    for skipped in doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "skipped")
    {
        assert!(
            skipped["reason"]
                .as_str()
                .unwrap()
                .contains("failure_tolerance 0"),
            "{skipped}"
        );
    }
}

#[test]
fn package_zips_this_binary_as_an_executable_bootstrap() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist/remedy-lambda.zip");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_remedy"))
        .args(["package", "--out", out.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_name("bootstrap").unwrap();
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut unpacked = Vec::new();
    entry.read_to_end(&mut unpacked).unwrap();
    assert_eq!(
        unpacked,
        std::fs::read(env!("CARGO_BIN_EXE_remedy")).unwrap(),
        "bootstrap is this binary"
    );
}

/// More accounts than the SDK's identity cache holds by default (64 credential providers):
/// each account's role is still assumed exactly once, however the targets interleave.
#[tokio::test(flavor = "multi_thread")]
async fn every_account_is_assumed_once_past_the_sdk_identity_cache() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 70).await;
    let work = Workdir::new(&config("/Workloads/Dev", "").replace(
        "    targets: {ous: [/Workloads/Dev]}",
        "    concurrency: 16\n    targets: {ous: [/Workloads/Dev]}",
    ));
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["summary"]["created"], 70);
    let mut assumed: BTreeMap<String, usize> = BTreeMap::new();
    for r in emulator
        .recording()
        .iter()
        .filter(|r| r.action == "AssumeRole")
    {
        *assumed.entry(r.params["RoleArn"].clone()).or_default() += 1;
    }
    assert_eq!(assumed.len(), dev.len());
    assert!(
        assumed.values().all(|n| *n == 1),
        "assumed more than once: {:?}",
        assumed.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
}
