//! `remedy plan` and `remedy status` against the emulator: a plan creates and deletes its
//! change sets (leaving every stack as it was), reports create / update with the resource
//! changes, and with `--keep` hands its change sets to `deploy`; `status` lists every target
//! with its stack, version, hash and whether it is current.

use crate::support;
use crate::support::snapshot::{assert_snapshot, labels};

use support::{remedy, stack_state, Emulator, Org, Workdir, REGION};

fn config(rules: &str) -> String {
    format!(
        "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\n  - name: prod\n    regions: [us-east-1, eu-west-1]\n    targets: {{ous: [/Workloads/Prod]}}\nrules:\n{rules}"
    )
}

fn actions(doc: &serde_json::Value) -> Vec<String> {
    doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_reports_creates_and_updates_and_keep_hands_them_to_deploy() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let work = Workdir::new(&config("  S3-001: remediate\n"));

    // Nothing deployed yet: every target is a create, and the plan leaves nothing behind.
    let run = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // Both targets a create, every resource of the template an `Add`.
    assert_snapshot("plan-creates", &run.json(), &labels("dev", &dev));
    for account in &dev {
        assert_eq!(
            stack_state(&emulator, account, REGION).await,
            None,
            "{account}"
        );
    }

    let deployed = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    let before = stack_state(&emulator, &dev[0], REGION)
        .await
        .expect("deployed");

    // A changed rule set: an update that adds the new rule's function, and nothing applied.
    work.write(
        "remedy.yaml",
        &config("  S3-001: remediate\n  EC2-002: dry-run\n"),
    );
    let run = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(actions(&doc), ["update", "update"]);
    assert_eq!(doc["summary"]["update"], 2, "{doc}");
    assert_eq!(doc["summary"]["create"], 0, "{doc}");
    assert_eq!(doc["summary"]["unchanged"], 0, "{doc}");
    // In remedy's terms: the rule added, read back from the deployed template; both
    // targets run the same deployment, so one group of two with their names.
    let semantic: Vec<&str> = doc["targets"][0]["semantic"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(semantic, ["EC2-002: added (dry-run)"], "{doc}");
    assert_eq!(doc["groups"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(doc["groups"][0]["targets"], 2, "{doc}");
    assert_eq!(doc["groups"][0]["changes"][0]["kind"], "rule_added");
    assert!(
        doc["groups"][0]["accounts"][0]["account_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{doc}"
    );
    assert_eq!(doc["deploys"]["remediate"], serde_json::json!(["S3-001"]));
    assert_eq!(doc["deploys"]["dry_run"], serde_json::json!(["EC2-002"]));
    // The plan uploaded no package: only the template its change sets read, if any.
    assert!(
        doc["writes"].as_array().unwrap().iter().all(|w| w["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("templates/"))),
        "{doc}"
    );
    // A mode change and a setting, in the words the operator reads.
    work.write(
        "remedy.yaml",
        &config("  S3-001: dry-run\n  EC2-002: dry-run\n"),
    );
    let text = remedy(&emulator, work.path(), &["plan", "--stage", "dev"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains("2 targets (")
            && text.stdout.contains("S3-001: remediate → dry-run")
            && text.stdout.contains("EC2-002: added (dry-run)"),
        "{}",
        text.stdout
    );
    work.write(
        "remedy.yaml",
        &config("  S3-001: remediate\n  EC2-002: dry-run\n"),
    );
    let changes = doc["targets"][1]["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["action"] == "Add" && c["resource_type"] == "AWS::Lambda::Function"),
        "{changes:?}"
    );
    assert_eq!(
        stack_state(&emulator, &dev[0], REGION).await,
        Some(before.clone())
    );
    // … and its change sets are gone again (deploy's executed one stays in moto's list).
    for account in &dev {
        let cfn =
            aws_sdk_cloudformation::Client::new(&emulator.account_config(account, REGION).await);
        let sets = cfn
            .list_change_sets()
            .stack_name("remedy")
            .send()
            .await
            .unwrap();
        let plans: Vec<&str> = sets
            .summaries()
            .iter()
            .filter_map(|c| c.change_set_name())
            .filter(|name| name.contains("plan"))
            .collect();
        assert_eq!(
            plans,
            Vec::<&str>::new(),
            "{account}: the plan's change set is gone"
        );
    }
    let text = remedy(&emulator, work.path(), &["plan", "--stage", "dev"]);
    assert_eq!(text.code, 0);
    assert!(
        text.stdout.contains("stage dev: 2 targets: 2 update"),
        "{}",
        text.stdout
    );

    // --keep: deploy executes the kept change sets instead of making its own.
    let run = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--keep", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["kept"], true);
    emulator.start_recording();
    let deployed = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    assert_eq!(deployed.json()["summary"]["updated"], 2);
    let recorded = emulator.recording();
    let created = recorded
        .iter()
        .filter(|r| r.action == "CreateChangeSet")
        .count();
    let executed: Vec<&String> = recorded
        .iter()
        .filter(|r| r.action == "ExecuteChangeSet")
        .map(|r| &r.params["ChangeSetName"])
        .collect();
    assert_eq!(created, 0, "deploy made no change set of its own");
    assert_eq!(executed.len(), 2);
    assert!(
        executed
            .iter()
            .all(|id| id.contains(":changeSet/remedy-plan-")),
        "{executed:?}"
    );
    for account in &dev {
        let (status, _) = stack_state(&emulator, account, REGION)
            .await
            .expect("deployed");
        assert_eq!(status, "UPDATE_COMPLETE", "{account}");
        let lambda = aws_sdk_lambda::Client::new(&emulator.account_config(account, REGION).await);
        lambda
            .get_function()
            .function_name("AutoRemediateEC2-002")
            .send()
            .await
            .expect("the planned function was deployed");
    }

    // moto keeps a stack's old tags when it executes an UPDATE change set (AWS applies the
    // change set's tags), so here the hash tag is still the old one. Deploying again finds an
    // empty change set and brings the tags up to date with UpdateStack; then the stacks
    // carry the new hash and a plan has nothing left to do.
    let again = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let run = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(
        actions(&run.json()),
        ["unchanged", "unchanged"],
        "{}",
        run.stdout
    );
    let after = stack_state(&emulator, &dev[0], REGION)
        .await
        .expect("deployed");
    assert_ne!(after.1, before.1, "the new hash is deployed");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_every_target_with_its_version_hash_and_freshness() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let prod = org.accounts_in("prod", "/Workloads/Prod", 1).await;
    let work = Workdir::new(&config("  S3-001: remediate\n"));
    let deployed = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    let (_, hash) = stack_state(&emulator, &dev[0], REGION)
        .await
        .expect("deployed");

    let run = remedy(&emulator, work.path(), &["status", "--output", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    let mut names = labels("dev", &dev);
    names.extend(labels("prod", &prod));
    assert_snapshot("status-after-deploy", &doc, &names);
    let rows: Vec<(String, String, String, String)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["stage"].as_str().unwrap().to_owned(),
                t["account_id"].as_str().unwrap().to_owned(),
                t["region"].as_str().unwrap().to_owned(),
                t["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted_dev = dev.clone();
    sorted_dev.sort();
    let mut expected: Vec<(String, String, String, String)> = sorted_dev
        .iter()
        .map(|a| ("dev".into(), a.clone(), REGION.into(), "current".into()))
        .collect();
    // prod covers two regions with one stack, in its home region (the first of them).
    expected.push((
        "prod".into(),
        prod[0].clone(),
        "us-east-1".into(),
        "missing".into(),
    ));
    assert_eq!(rows, expected);
    let first = &doc["targets"][0];
    assert_eq!(first["stack_status"], "CREATE_COMPLETE");
    assert_eq!(first["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(first["hash"], hash.as_str());
    assert_eq!(
        doc["summary"],
        serde_json::json!({"current": 2, "outdated": 0, "missing": 1, "unknown": 0})
    );

    // A changed configuration makes the deployed stacks outdated; the table says so.
    work.write("remedy.yaml", &config("  S3-001: dry-run\n"));
    let run = remedy(&emulator, work.path(), &["status", "--stage", "dev"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("STAGE"), "{}", run.stdout);
    for account in &dev {
        let line = lines
            .iter()
            .find(|l| l.contains(account.as_str()))
            .expect("a row per account");
        assert!(
            line.contains("CREATE_COMPLETE") && line.contains("outdated"),
            "{line}"
        );
        assert!(line.contains(&hash[..12]), "{line}");
    }
    assert!(
        run.stdout.contains("2 targets: 0 current, 2 outdated"),
        "{}",
        run.stdout
    );
    // The table fits 100 columns, without trailing spaces.
    assert!(
        run.stdout
            .lines()
            .all(|l| l == l.trim_end() && l.chars().count() <= 100),
        "{}",
        run.stdout
    );
    // --state keeps the rows in that state; the summary still counts every target.
    let only = remedy(
        &emulator,
        work.path(),
        &["status", "--state", "missing", "--output", "json"],
    );
    assert_eq!(only.code, 0, "{}", only.stderr);
    let doc = only.json();
    let states: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["missing"], "{doc}");
    assert_eq!(doc["summary"]["outdated"], 2, "{doc}");
    let text = remedy(&emulator, work.path(), &["status", "--state", "missing"]);
    assert!(
        text.stdout.contains("(1 of 3 targets shown)") && !text.stdout.contains(&dev[0]),
        "{}",
        text.stdout
    );
    let bad = remedy(&emulator, work.path(), &["status", "--state", "stale"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    // --drift asks CloudFormation per stack; moto has no drift detection, and that answer
    // is reported per target without failing the others or the command.
    let drift = remedy(
        &emulator,
        work.path(),
        &["status", "--stage", "dev", "--drift", "--output", "json"],
    );
    assert_eq!(drift.code, 0, "{}", drift.stderr);
    for t in drift.json()["targets"].as_array().unwrap() {
        assert_eq!(t["state"], "outdated", "{t}");
        assert!(
            t["drift"]
                .as_str()
                .unwrap()
                .starts_with("unknown (DetectStackDrift: "),
            "{t}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stacks_outside_the_home_region_are_strays_and_status_gives_the_topic_to_connect() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let layout = |home: &str| {
        format!("home_region: {home}\nregions: [us-east-1, eu-west-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\nrules:\n  S3-001: remediate\n")
    };
    // An earlier layout: the account's stack in eu-west-1.
    let work = Workdir::new(&layout("eu-west-1"));
    let first = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);

    // The home region moves to us-east-1: the plan creates the stack there and names the
    // one in eu-west-1 a stray (it is not touched).
    work.write("remedy.yaml", &layout("us-east-1"));
    let plan = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let doc = plan.json();
    assert_eq!(doc["targets"][0]["region"], "us-east-1");
    assert_eq!(doc["targets"][0]["action"], "create");
    assert_eq!(
        doc["stray"],
        serde_json::json!([{"account_id": account, "region": "eu-west-1", "stack_status": "CREATE_COMPLETE", "stage": "dev"}])
    );
    assert_eq!(doc["home_region"], "us-east-1");
    assert_eq!(
        doc["regions"],
        serde_json::json!(["us-east-1", "eu-west-1"])
    );
    // One account's stack, and the fleet's (one account here).
    assert_eq!(
        doc["footprint"]["per_account"],
        serde_json::json!({"functions": 2, "roles": 2, "queues": 3, "kms_keys": 1, "notification_topics": 0})
    );
    assert_eq!(doc["footprint"]["kms_keys_monthly_usd"], 1.0);
    let text = remedy(&emulator, work.path(), &["plan", "--stage", "dev"]);
    assert!(
        text.stdout.contains("1 stray stack(s)") && text.stdout.contains("eu-west-1"),
        "{}",
        text.stdout
    );

    let deployed = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    let status = remedy(&emulator, work.path(), &["status", "--output", "json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let doc = status.json();
    assert_eq!(doc["stray"][0]["region"], "eu-west-1", "{doc}");
    assert_eq!(doc["targets"][0]["state"], "current");
    // The topic to give Conformity: the home stack's, and it exists.
    let topic = doc["targets"][0]["findings_topic_arn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        topic,
        format!("arn:aws:sns:us-east-1:{account}:remedy-findings")
    );
    let sns = aws_sdk_sns::Client::new(&emulator.account_config(&account, "us-east-1").await);
    sns.get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .expect("the topic exists");
}

/// A plan writes only what its change sets read: nothing when the template goes inline (no
/// bucket, no object), the template alone when it is too large to (never the package, which
/// change sets do not read) — and says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_uploads_no_package_and_says_what_it_wrote() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.accounts_in("dev", "/Workloads/Dev", 1).await;
    let s3 = remedy::aws::identity::s3_client(&emulator.sdk_config(), REGION, &Default::default());
    let bucket = format!("remedy-artifacts-{}-{REGION}", support::MANAGEMENT_ACCOUNT);

    // One rule: the template goes inline; the plan makes no bucket.
    let work = Workdir::new(&config("  S3-001: remediate\n"));
    let run = remedy(&emulator, work.path(), &["plan", "--stage", "dev"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("plan wrote nothing but its change sets (deleted again)"),
        "{}",
        run.stdout
    );
    assert!(s3.list_objects_v2().bucket(&bucket).send().await.is_err());

    // Every rule: too large to go inline; the template is uploaded, the package is not.
    work.write("remedy.yaml", &config("  \"*\": dry-run\n"));
    let run = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    let objects = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("the artifact bucket exists");
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("templates/"), "{keys:?}");
    assert_eq!(doc["writes"][0]["key"], keys[0], "{doc}");
    assert_eq!(doc["writes"][0]["uploaded"], true, "{doc}");

    // The deploy after it uploads the package.
    let deployed = remedy(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes"],
    );
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    let objects = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert!(
        objects
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .any(|k| k.starts_with("packages/")),
        "{objects:?}"
    );
}
