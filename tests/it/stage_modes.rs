//! Modes per stage (issue 16, point 1): a stage's `rules` overlays the top-level ones, so
//! dev remediates what prod only reports. Read back from what was deployed — each account's
//! orchestrator table and rule function — and decided by the orchestrator for the same
//! finding in each account; `remedy rules --stage` and `plan` say where each mode comes from.

use crate::support;

use remedy_functions::catalog::Mode;
use remedy_functions::dispatch::{Place, RuntimeConfig};
use remedy_functions::orchestrator::Orchestrator;
use serde_json::json;
use std::collections::BTreeMap;
use support::{finding, remedy, Emulator, Org, Workdir, REGION};

const CONFIG: &str = "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\n  - name: prod\n    targets: {ous: [/Workloads/Prod]}\n    rules: {\"*\": dry-run}\nrules:\n  S3-001: remediate\n";

/// The deployed environment of `function` in `account`.
async fn environment(
    emulator: &Emulator,
    account: &str,
    function: &str,
) -> BTreeMap<String, String> {
    let lambda = aws_sdk_lambda::Client::new(&emulator.account_config(account, REGION).await);
    let config = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{account} {function}: {e:?}"));
    config
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_remediates_what_prod_reports_for_the_same_finding() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 1).await;
    let prod = org.accounts_in("prod", "/Workloads/Prod", 1).await;
    let work = Workdir::new(CONFIG);

    // Where each stage's mode comes from, before anything is deployed.
    let rules = remedy(
        &emulator,
        work.path(),
        &["rules", "--stage", "prod", "--output", "json"],
    );
    assert_eq!(rules.code, 0, "{}", rules.stderr);
    let doc = rules.json();
    let s3 = doc
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == "S3-001"))
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(s3["mode"], "dry-run", "{s3}");
    assert_eq!(s3["mode_from"], "stages.prod.rules.\"*\"", "{s3}");

    for stage in ["dev", "prod"] {
        let run = remedy(
            &emulator,
            work.path(),
            &["deploy", "--stage", stage, "--yes"],
        );
        assert_eq!(run.code, 0, "{stage}: {}", run.stderr);
    }

    // What each account runs: the orchestrator's table and the rule function's mode.
    let mut modes = Vec::new();
    for (account, expected) in [(&dev[0], "remediate"), (&prod[0], "dry-run")] {
        let orchestrator = environment(&emulator, account, "AutoRemediateOrchestrator").await;
        let table: BTreeMap<String, Mode> =
            serde_json::from_str(&orchestrator["REMEDY_RULES"]).expect("REMEDY_RULES is JSON");
        let function = environment(&emulator, account, "AutoRemediateS3-001").await;
        assert_eq!(function["REMEDY_MODE"], expected, "{account}");
        // The same finding, decided as the deployed orchestrator decides it.
        let aws = emulator.account_config(account, REGION).await;
        let o = Orchestrator {
            lambda: aws_sdk_lambda::Client::new(&aws),
            sns: aws_sdk_sns::Client::new(&aws),
            config: RuntimeConfig {
                rules: table,
                routes: Vec::new(),
                regions: vec![REGION.to_owned()],
            },
            place: Place {
                account_id: account.clone(),
                region: REGION.into(),
            },
            pause: None,
            grace: Default::default(),
            exceptions: Default::default(),
            limits: Default::default(),
        };
        let handled = o
            .handle_message(&finding("S3-001", "some-bucket").to_string())
            .await;
        modes.push(handled.mode);
    }
    assert_eq!(modes, [Some(Mode::Remediate), Some(Mode::DryRun)]);

    // A promotion is a normal staged rollout: prod's own stacks change, dev's do not.
    work.write(
        "remedy.yaml",
        &CONFIG.replace(
            "rules: {\"*\": dry-run}",
            "rules: {\"*\": dry-run, S3-001: remediate}",
        ),
    );
    let plan = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "prod", "--output", "json"],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let doc = plan.json();
    assert_eq!(doc["summary"]["update"], 1, "{doc}");
    assert_eq!(
        doc["targets"][0]["semantic"][0]["text"], "S3-001: dry-run → remediate",
        "{doc}"
    );
    // Each rule's effective mode in prod and the key it comes from.
    let from = |id: &str| {
        doc["rules"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["id"] == id))
            .map(|r| (r["mode"].clone(), r["from"].clone()))
    };
    assert_eq!(
        from("S3-001"),
        Some((json!("remediate"), json!("stages.prod.rules.S3-001"))),
        "{doc}"
    );
    assert_eq!(
        from("KMS-002"),
        Some((json!("dry-run"), json!("stages.prod.rules.\"*\""))),
        "{doc}"
    );
    let dev_plan = remedy(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(
        dev_plan.json()["summary"]["unchanged"],
        1,
        "{}",
        dev_plan.stdout
    );
}
