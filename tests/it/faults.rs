//! A rollout through faults: a fault-injection proxy (mitmproxy, `tests/faults/faults.py`)
//! between remedy and the emulator answers 20% of requests with throttling (in each
//! protocol's error shape), 5% with HTTP 500/503, and drops 2% of connections. A stage of 200
//! accounts must still end with every target deployed and correctly reported, with no
//! duplicate stack, the retries counted per API in the report; a re-run through the same
//! faults reports every target unchanged.

use crate::support;

use support::proxy::Proxy;
use support::{remedy_command, Emulator, Org, Workdir, REGION};

const ACCOUNTS: usize = 200;

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_accounts_through_throttling_errors_and_dropped_connections() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let accounts = org.accounts_in("dev", "/Workloads/Dev", ACCOUNTS).await;
    let work = Workdir::new(
        "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    concurrency: 16\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n",
    );
    let proxy = Proxy::start(
        &emulator,
        work.path(),
        "faults.py",
        "counts",
        &[
            "throttle=0.20",
            "server_error=0.05",
            "drop=0.02",
            "drop_response=0.02",
        ]
        .map(String::from),
    );
    let deploy = || -> support::Run {
        remedy_command(&emulator, work.path())
            .env("AWS_ENDPOINT_URL", &proxy.url)
            .args(["deploy", "--stage", "dev", "--yes", "--output", "json"])
            .output()
            .unwrap()
            .into()
    };

    let run = deploy();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(
        doc["summary"],
        serde_json::json!({"created": ACCOUNTS, "updated": 0, "unchanged": 0, "failed": 0, "skipped": 0})
    );
    let retries = doc["retries"]
        .as_object()
        .expect("retries per API in the report");
    let total: u64 = retries.values().map(|n| n.as_u64().unwrap()).sum();
    assert!(
        total > 100,
        "AWS pushed back and remedy retried: {retries:?}"
    );
    for service in ["CloudFormation.", "Organizations.", "STS."] {
        assert!(
            retries.keys().any(|api| api.starts_with(service)),
            "{service} retries counted: {retries:?}"
        );
    }

    // Correctly reported, and no duplicates: each account has exactly one live stack.
    let mut sorted = accounts.clone();
    sorted.sort();
    let reported: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        reported,
        sorted.iter().map(String::as_str).collect::<Vec<_>>()
    );
    for account in &accounts {
        let cfn =
            aws_sdk_cloudformation::Client::new(&emulator.account_config(account, REGION).await);
        let stacks = cfn.list_stacks().send().await.unwrap();
        let live: Vec<_> = stacks
            .stack_summaries()
            .iter()
            .filter(|s| {
                s.stack_name() == Some("remedy")
                    && s.stack_status().map(|st| st.as_str()) != Some("DELETE_COMPLETE")
            })
            .collect();
        assert_eq!(live.len(), 1, "{account}: {live:?}");
        assert_eq!(
            live[0].stack_status().map(|s| s.as_str()),
            Some("CREATE_COMPLETE"),
            "{account}"
        );
    }

    // Through the same faults, a re-run finds everything in place.
    let again = deploy();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["summary"]["unchanged"], ACCOUNTS);

    let injected = proxy.stop();
    let kinds = ["throttle", "server_error", "drop", "drop_response"];
    for fault in kinds {
        assert!(
            injected[fault].as_u64().unwrap() > 0,
            "{fault} injected: {injected}"
        );
    }
    // Every injected fault is answered by a retry (the reports of both runs together).
    let faults: u64 = kinds.iter().map(|f| injected[*f].as_u64().unwrap()).sum();
    let again_retries: u64 = again.json()["retries"]
        .as_object()
        .map(|r| r.values().map(|n| n.as_u64().unwrap()).sum())
        .unwrap_or(0);
    assert!(
        total + again_retries >= faults * 9 / 10,
        "retries counted {} for {faults} faults injected",
        total + again_retries
    );
}
