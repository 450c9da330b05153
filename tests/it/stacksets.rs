//! `engine: stacksets` against the emulator: a stage becomes one service-managed StackSet
//! over the stage's OUs, with the stage's limits as operation preferences; what landed is
//! read back (the StackSet, its instances, the functions in each member account), a re-run
//! is a no-op of two calls for the whole stage, and a new account gets its instance.

use crate::support;

use std::collections::BTreeSet;
use support::{remedy, Emulator, Org, Workdir, MANAGEMENT_ACCOUNT, REGION};

fn config(extra_stage: &str) -> String {
    format!(
        r#"regions: [us-east-1, eu-west-1]
package: package.zip
role: {{name: CloudConformity, external_id: "ext-4242"}}
engine: stacksets
stages:
  - name: dev
    concurrency: 2
    failure_tolerance: 1
    targets: {{ous: [/Workloads/Dev]}}
{extra_stage}
rules:
  S3-001: remediate
"#
    )
}

async fn function_names(emulator: &Emulator, account: &str) -> BTreeSet<String> {
    let lambda = aws_sdk_lambda::Client::new(&emulator.account_config(account, REGION).await);
    lambda
        .list_functions()
        .send()
        .await
        .expect("list functions")
        .functions()
        .iter()
        .filter_map(|f| f.function_name().map(str::to_owned))
        .collect()
}

/// The StackSet's `remedy:hash` tag and its instances' (account, status).
async fn stack_set(emulator: &Emulator) -> (String, Vec<(String, String)>) {
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());
    let set = cfn
        .describe_stack_set()
        .stack_set_name("remedy-dev")
        .send()
        .await
        .expect("the stage's StackSet");
    let set = set.stack_set().expect("a StackSet");
    assert_eq!(
        set.permission_model().map(|p| p.as_str()),
        Some("SERVICE_MANAGED")
    );
    let hash = set
        .tags()
        .iter()
        .find(|t| t.key() == Some("remedy:hash"))
        .and_then(|t| t.value())
        .unwrap_or_default()
        .to_owned();
    let instances = cfn
        .list_stack_instances()
        .stack_set_name("remedy-dev")
        .send()
        .await
        .expect("instances");
    let mut instances: Vec<(String, String)> = instances
        .summaries()
        .iter()
        .map(|s| {
            (
                s.account().unwrap_or_default().to_owned(),
                s.status()
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    instances.sort();
    (hash, instances)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stage_is_one_stack_set_over_its_ous_and_each_account_is_reported() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let mut dev = org.accounts_in("dev", "/Workloads/Dev", 3).await;
    let prod = org.account("prod-00", "/Workloads/Prod").await;
    let dev_ou = org.ou("/Workloads/Dev").await;
    let work = Workdir::new(&config(""));

    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(doc["summary"]["created"], 3, "{doc}");
    let reported: BTreeSet<String> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["outcome"], "created", "{t}");
            assert!(t["stack_status"].is_null(), "no stack status of ours: {t}");
            t["account_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(reported, dev.iter().cloned().collect());

    // What StackSets was asked: the stage's OU, its region, its limits as counts (2 at once,
    // 1 failure) with soft failure tolerance, as a delegated administrator.
    let recorded = emulator.recording();
    let create = recorded
        .iter()
        .find(|r| r.action == "CreateStackInstances")
        .expect("instances created");
    let p = &create.params;
    assert_eq!(
        p.get("DeploymentTargets.OrganizationalUnitIds.member.1"),
        Some(&dev_ou)
    );
    // The stage covers two regions; its instances live in the home region alone.
    assert_eq!(p.get("Regions.member.1").map(String::as_str), Some(REGION));
    assert_eq!(p.get("Regions.member.2"), None, "{p:?}");
    assert!(
        p.keys()
            .all(|k| !k.starts_with("OperationPreferences.RegionOrder")),
        "{p:?}"
    );
    assert_eq!(
        p.get("OperationPreferences.MaxConcurrentCount")
            .map(String::as_str),
        Some("2")
    );
    assert_eq!(
        p.get("OperationPreferences.FailureToleranceCount")
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        p.get("OperationPreferences.ConcurrencyMode")
            .map(String::as_str),
        Some("SOFT_FAILURE_TOLERANCE"),
        "concurrency does not shrink to failure_tolerance + 1"
    );
    assert_eq!(p.get("CallAs").map(String::as_str), Some("DELEGATED_ADMIN"));
    let set = recorded
        .iter()
        .find(|r| r.action == "CreateStackSet")
        .expect("the StackSet created");
    assert_eq!(
        set.params.get("PermissionModel").map(String::as_str),
        Some("SERVICE_MANAGED")
    );
    assert_eq!(
        set.params
            .get("ManagedExecution.Active")
            .map(String::as_str),
        Some("true"),
        "operations queue rather than collide"
    );
    assert!(
        recorded.iter().all(|r| r.action != "AssumeRole"),
        "StackSets reaches the accounts, remedy assumes no role"
    );

    // Read back: the StackSet carries this deployment's hash (the one `publish` names),
    // each dev account has its instance and the functions; prod has nothing.
    let (hash, instances) = stack_set(&emulator).await;
    assert_eq!(hash, deployment_hash(&emulator, &work));
    let mut expected: Vec<(String, String)> =
        dev.iter().map(|a| (a.clone(), "CURRENT".into())).collect();
    expected.sort();
    assert_eq!(instances, expected);
    for account in &dev {
        assert!(
            function_names(&emulator, account)
                .await
                .contains("AutoRemediateS3-001"),
            "{account}"
        );
    }
    assert!(function_names(&emulator, &prod).await.is_empty());

    // A re-run is a no-op: two calls for the whole stage, every account unchanged.
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["summary"]["unchanged"], 3, "{}", run.stdout);
    let stack_set_calls: Vec<String> = emulator
        .recording()
        .into_iter()
        .filter(|r| r.action.contains("StackSet") || r.action.contains("StackInstance"))
        .map(|r| r.action)
        .collect();
    assert_eq!(
        stack_set_calls,
        ["DescribeStackSet", "ListStackInstances"],
        "no operation on a no-op"
    );

    // `status` reads the StackSet and its instances: every account current.
    let status = remedy(
        &emulator,
        work.path(),
        &["status", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.json()["summary"]["current"], 3, "{}", status.stdout);

    // A new account in the OU: `plan` says create for it alone, deploy gives it its
    // instance, the others stay unchanged.
    let new = org.account("dev-new", "/Workloads/Dev").await;
    let plan = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let planned: Vec<(String, String)> = plan.json()["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["action"] != "unchanged")
        .map(|t| {
            (
                t["account_id"].as_str().unwrap().to_owned(),
                t["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(planned, [(new.clone(), "create".to_owned())]);
    dev.push(new.clone());
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["summary"]["created"], 1, "{doc}");
    assert_eq!(doc["summary"]["unchanged"], 3, "{doc}");
    let created: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "created")
        .map(|t| t["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(created, [new.as_str()]);
    assert_eq!(stack_set(&emulator).await.1.len(), 4);
    assert!(function_names(&emulator, &new)
        .await
        .contains("AutoRemediateS3-001"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_rule_set_updates_the_stack_set_for_every_account() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let work = Workdir::new(&config(""));
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (first_hash, _) = stack_set(&emulator).await;

    work.write(
        "remedy.yaml",
        &config("").replace("S3-001: remediate", "S3-001: remediate\n  EC2-002: dry-run"),
    );
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["summary"]["updated"], 2, "{}", run.stdout);
    let recorded = emulator.recording();
    let update = recorded
        .iter()
        .find(|r| r.action == "UpdateStackSet")
        .expect("the StackSet updated");
    assert!(
        update.params["TemplateBody"].contains("AutoRemediateEC2-002"),
        "the new template"
    );
    assert!(
        update
            .params
            .keys()
            .all(|k| !k.starts_with("DeploymentTargets") && !k.starts_with("Regions")),
        "every instance the StackSet has, never an OU or region without one: {:?}",
        update.params.keys().collect::<Vec<_>>()
    );
    assert!(recorded.iter().all(|r| r.action != "CreateStackInstances"));
    let (hash, instances) = stack_set(&emulator).await;
    assert_ne!(hash, first_hash);
    assert_eq!(
        hash,
        deployment_hash(&emulator, &work),
        "the new hash is on the StackSet"
    );
    assert_eq!(instances.len(), 2);
}

/// The dev stage's `remedy:hash` under this configuration, as `remedy publish` names it.
fn deployment_hash(emulator: &Emulator, work: &Workdir) -> String {
    let run = remedy(emulator, work.path(), &["publish", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()["stages"]["dev"].as_str().unwrap().to_owned()
}

#[test]
fn plan_keep_is_refused_for_a_stack_sets_stage_before_any_call() {
    let emulator = Emulator::start();
    let work = Workdir::new(&config(""));
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--keep"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no change sets to keep"),
        "{}",
        run.stderr
    );
    assert!(emulator.recording().is_empty(), "no AWS call");
}

#[test]
fn a_stacksets_stage_that_lists_and_excludes_accounts_is_refused_before_any_call() {
    let emulator = Emulator::start();
    let work = Workdir::new(&config("").replace(
        "targets: {ous: [/Workloads/Dev]}",
        "targets: {ous: [/Workloads/Dev], accounts: ['111111111111'], exclude: ['222222222222']}",
    ));
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("remedy.yaml:6"), "{}", run.stderr);
    assert!(run.stderr.contains("not both"), "{}", run.stderr);
    assert!(emulator.recording().is_empty(), "no AWS call");
}

/// A vended account in a stacksets stage's OU: `onboard` gives it its instance alone,
/// through StackSets (narrowed with an INTERSECTION filter), and never waits for or assumes
/// a member role, which such a stage does not need.
#[tokio::test(flavor = "multi_thread")]
async fn onboarding_into_a_stack_sets_stage_adds_that_account_alone() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let work = Workdir::new(&config(""));
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    let vended = org.account("dev-vended", "/Workloads/Dev").await;
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["onboard", "--account", &vended, "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["summary"]["created"], 1, "{doc}");
    assert_eq!(doc["targets"].as_array().unwrap().len(), 1, "{doc}");
    let recorded = emulator.recording();
    assert!(
        recorded.iter().all(|r| r.action != "AssumeRole"),
        "no member role: {:?}",
        recorded.iter().map(|r| &r.action).collect::<Vec<_>>()
    );
    let create = recorded
        .iter()
        .find(|r| r.action == "CreateStackInstances")
        .expect("an instance for the vended account");
    assert_eq!(
        create
            .params
            .get("DeploymentTargets.AccountFilterType")
            .map(String::as_str),
        Some("INTERSECTION")
    );
    assert_eq!(
        create.params.get("DeploymentTargets.Accounts.member.1"),
        Some(&vended)
    );
    assert_eq!(stack_set(&emulator).await.1.len(), 3);
    assert!(function_names(&emulator, &vended)
        .await
        .contains("AutoRemediateS3-001"));
}

/// The management account, listed by id in a stacksets stage: StackSets never deploys there,
/// so it is reported skipped, and the rest of the stage deploys.
#[tokio::test(flavor = "multi_thread")]
async fn the_management_account_is_skipped_by_a_stack_sets_stage() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let work = Workdir::new(&config("").replace(
        "targets: {ous: [/Workloads/Dev]}",
        &format!("targets: {{ous: [/Workloads/Dev], accounts: ['{MANAGEMENT_ACCOUNT}']}}"),
    ));
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(doc["summary"]["created"], 2, "{doc}");
    assert_eq!(doc["summary"]["skipped"], 1, "{doc}");
    let skipped = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["outcome"] == "skipped")
        .unwrap();
    assert_eq!(skipped["account_id"], MANAGEMENT_ACCOUNT);
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .contains("management account"),
        "{skipped}"
    );
}

/// One set of parameters serves every instance: the stage's exceptions, each scoped one
/// with the accounts it applies to (the orchestrator matches its own account).
#[tokio::test(flavor = "multi_thread")]
async fn a_stack_set_carries_the_stages_exceptions_with_their_accounts() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    org.accounts_in("prod", "/Workloads/Prod", 1).await;
    let expires = support::in_days(30);
    let work = Workdir::new(&format!(
        "{}exceptions:\n  - {{id: one, rules: [S3-001], accounts: [\"{}\"], reason: r, owner: o, expires: {expires}}}\n  - {{id: elsewhere, rules: [S3-001], ous: [/Workloads/Prod], reason: r, owner: o, expires: {expires}}}\n",
        config(""),
        dev[0]
    ));
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());
    let set = cfn
        .describe_stack_set()
        .stack_set_name("remedy-dev")
        .send()
        .await
        .unwrap();
    let parameter = set
        .stack_set()
        .unwrap()
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("Exceptions"))
        .and_then(|p| p.parameter_value())
        .unwrap_or_default()
        .to_owned();
    let carried: Vec<remedy_functions::exceptions::Exception> =
        serde_json::from_str(&parameter).unwrap_or_else(|e| panic!("{parameter}: {e}"));
    assert_eq!(
        carried.len(),
        1,
        "an OU with none of the stage's accounts: left out: {parameter}"
    );
    assert_eq!(carried[0].id, "one");
    assert_eq!(carried[0].accounts, [dev[0].clone()]);
}
