//! Stacks that take CloudFormation's time. The latency model (`tests/faults/latency.py`, a
//! mitmproxy addon) between remedy and the emulator answers `CREATE_IN_PROGRESS` for a
//! drawn 1.5–3 s after each CreateStack, as AWS does for minutes; remedy's polling constants
//! are compressed tenfold (`REMEDY_TIME_SCALE=0.1`: 0.2 s … 2 s), as `make bench-latency`
//! does. A stage must wait every stack out, never call one done before it is, stay within
//! 8 looks per stack, and report the stack times it saw; a rollout's bar must show the
//! rollout's ETA.

use crate::progress::{frames, on_a_terminal_with, screen_lines};
use crate::support;

use support::proxy::Proxy;
use support::{remedy_command, Emulator, Org, Workdir, REGION};

/// The latency model's options: stacks of 1.5–3 s, 5 ms per request.
fn model() -> Vec<String> {
    ["latency=default=5", "create_s=1.5-3", "time_scale=1"]
        .map(String::from)
        .to_vec()
}

/// The security account's artifact stack, straight to the emulator: the model times member
/// stacks only (the artifact stack is made once per organization, not per rollout).
fn publish(emulator: &Emulator, work: &Workdir) {
    let published = remedy_command(emulator, work.path())
        .args(["publish"])
        .output()
        .unwrap();
    assert!(published.status.success(), "{published:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stage_waits_out_stacks_that_take_time_and_reports_how_long_they_took() {
    const N: usize = 12;
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let accounts = org.accounts_in("dev", "/Workloads/Dev", N).await;
    let work = Workdir::new(
        "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    concurrency: 4\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n",
    );
    publish(&emulator, &work);
    let proxy = Proxy::start(&emulator, work.path(), "latency.py", "stats", &model());
    let run: support::Run = remedy_command(&emulator, work.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("REMEDY_TIME_SCALE", "0.1")
        .args(["deploy", "--stage", "dev", "--yes", "--output", "json"])
        .output()
        .unwrap()
        .into();
    let stats = proxy.stop();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(doc["summary"]["created"], N, "{doc}");
    for account in &accounts {
        let (status, _) = support::stack_state(&emulator, account, REGION)
            .await
            .unwrap_or_else(|| panic!("{account}: no stack"));
        assert_eq!(status, "CREATE_COMPLETE", "{account}");
    }

    // Every stack was seen done only once it was, with at most 8 looks, and none of them
    // much later than it finished (the backoff's cap is 2 s here).
    let operations: Vec<&serde_json::Value> = stats["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["account"] != "caller")
        .collect();
    assert_eq!(operations.len(), N, "{stats}");
    let f = |o: &serde_json::Value, key: &str| o[key].as_f64().unwrap_or(f64::NAN);
    for o in &operations {
        let done = f(o, "started_at") + f(o, "duration");
        let seen = f(o, "seen_done_at");
        assert!(seen >= done, "seen done before it was: {o}");
        assert!(seen - done < 3.0, "seen {:.1} s late: {o}", seen - done);
        assert!(o["polls"].as_u64().unwrap() <= 8, "{o}");
        assert!(o["polls_running"].as_u64().unwrap() >= 1, "{o}");
    }

    // The report's stack time: every create, between the shortest drawn time and the
    // longest plus the lateness allowed above.
    let stack_time = &doc["stack_time"];
    assert_eq!(stack_time["operations"], N, "{doc}");
    let median = stack_time["median_s"].as_f64().unwrap();
    let p95 = stack_time["p95_s"].as_f64().unwrap();
    assert!((1.5..6.0).contains(&median), "{stack_time}");
    assert!(median <= p95 && p95 < 6.0, "{stack_time}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollouts_bar_shows_the_rollout_eta_and_its_report_the_stack_time() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.accounts_in("dev", "/Workloads/Dev", 4).await;
    org.accounts_in("prod", "/Workloads/Prod", 6).await;
    let work = Workdir::new(
        "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    concurrency: 2\n    targets: {ous: [/Workloads/Dev]}\n  - name: prod\n    concurrency: 3\n    targets: {ous: [/Workloads/Prod]}\nrules:\n  S3-001: remediate\n",
    );
    publish(&emulator, &work);
    let proxy = Proxy::start(&emulator, work.path(), "latency.py", "stats", &model());
    let (code, shown) = on_a_terminal_with(
        &emulator,
        work.path(),
        "rollout --yes",
        &[
            ("AWS_ENDPOINT_URL", proxy.url.as_str()),
            ("REMEDY_TIME_SCALE", "0.1"),
        ],
    );
    proxy.stop();
    assert_eq!(code, 0, "{shown}");
    // While dev ran, once a target had finished: its ETA and the rollout's (prod's two
    // waves after it); prod's bar has no stage after it.
    let drawn = frames(&shown);
    assert!(
        drawn
            .iter()
            .any(|l| l.starts_with("dev [") && l.contains(" · ETA ") && l.contains("rollout ETA ")),
        "{drawn:#?}"
    );
    assert!(
        !drawn
            .iter()
            .any(|l| l.starts_with("prod [") && l.contains("rollout ETA")),
        "{drawn:#?}"
    );
    let lines = screen_lines(&shown);
    for (stage, n) in [("dev", 4), ("prod", 6)] {
        let at = lines
            .iter()
            .position(|l| l.starts_with(&format!("stage {stage}: completed")))
            .unwrap_or_else(|| panic!("no {stage} summary in:\n{shown}"));
        // Right below the summary (a retries line may come first).
        let line = lines[at + 1..]
            .iter()
            .take(2)
            .find(|l| l.trim_start().starts_with("stack time: median "))
            .unwrap_or_else(|| panic!("no stack time under the {stage} summary:\n{shown}"));
        assert!(line.ends_with(&format!("({n} operations)")), "{line}");
    }
}
