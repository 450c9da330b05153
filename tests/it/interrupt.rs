//! Ctrl-C during a deploy, against the emulator: the first SIGINT stops new targets, lets
//! the one in flight finish, prints and writes the partial report (every target in it, the
//! untouched ones skipped as not started) and exits 130; the next run converges. A second
//! SIGINT abandons the targets in flight at once, and the report still lists every target.
//! A target only waiting for a stack another operation holds is not given the grace: the
//! first SIGINT ends its wait at once, and the stage, with no failure, is `interrupted`.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use support::{remedy, remedy_command, Emulator, Org, Workdir, REGION};

const CONFIG: &str = "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    concurrency: 1\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n";

fn sigint(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Starts `remedy ARGS`, sends SIGINT `times` times once the first target has finished,
/// and returns (exit code, stdout, stderr).
fn interrupted_run(
    emulator: &Emulator,
    dir: &std::path::Path,
    args: &[&str],
    times: usize,
) -> (i32, String, String) {
    let (code, stdout, stderr, _) = interrupted_when(emulator, dir, args, times, "[dev] 1/");
    (code, stdout, stderr)
}

/// Starts `remedy ARGS`, sends SIGINT `times` times once a line of stderr starts with
/// `trigger` (or contains it, for a log line), and returns (exit code, stdout, stderr, the
/// time from the first SIGINT to the exit).
fn interrupted_when(
    emulator: &Emulator,
    dir: &std::path::Path,
    args: &[&str],
    times: usize,
    trigger: &str,
) -> (i32, String, String, std::time::Duration) {
    let mut child = remedy_command(emulator, dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start remedy");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    let mut interrupted = None;
    while let Some(line) = lines.next() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with(trigger) || line.contains(trigger) {
            if times > 1 {
                // The trigger is the first target's line: the next target starts right
                // after it is printed. Let it start, so that one is in flight to abandon
                // (under load the SIGINT could otherwise come before it did).
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            interrupted = Some(std::time::Instant::now());
            sigint(&child);
            if times > 1 {
                // The next Ctrl-C as soon as remedy has taken the first (its "interrupted:"
                // line), while the target that started after the trigger is still in flight:
                // a fixed pause could land after it finished (an update takes ~100 ms here).
                for line in lines.by_ref() {
                    let line = line.unwrap();
                    seen.push_str(&line);
                    seen.push('\n');
                    if line.starts_with("interrupted:") {
                        break;
                    }
                }
                for _ in 1..times {
                    sigint(&child);
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
            break;
        }
    }
    for line in lines {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    let out = child.wait_with_output().unwrap();
    let took = interrupted.expect("the trigger line came").elapsed();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        seen,
        took,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_new_targets_reports_everything_and_the_next_run_converges() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 6).await;
    let work = Workdir::new(CONFIG);

    let (code, stdout, stderr) = interrupted_run(
        &emulator,
        work.path(),
        &[
            "deploy",
            "--stage",
            "dev",
            "--yes",
            "--output",
            "json",
            "--report",
            "report.md",
        ],
        1,
    );
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("interrupted: no new target starts"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("the partial report");
    // The contract's status, and why: nothing failed, the operator stopped it.
    assert_eq!(doc["status"], "failed");
    assert_eq!(doc["interrupted"], true, "{doc}");
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 6, "every target is in the report");
    let created = targets.iter().filter(|t| t["outcome"] == "created").count();
    let skipped: Vec<&serde_json::Value> = targets
        .iter()
        .filter(|t| t["outcome"] == "skipped")
        .collect();
    assert!(created >= 1, "{doc}");
    assert!(!skipped.is_empty(), "the run stopped early: {doc}");
    assert_eq!(created + skipped.len(), 6, "none failed, none lost: {doc}");
    for t in &skipped {
        assert!(
            t["reason"]
                .as_str()
                .unwrap()
                .contains("interrupted (Ctrl-C)"),
            "{t}"
        );
    }
    let md = std::fs::read_to_string(work.path().join("report.md")).unwrap();
    assert!(md.contains("| dev | interrupted | 6 |"), "{md}");
    assert!(
        md.contains(&format!(
            "- {} target{} not started: the run was interrupted (Ctrl-C)",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" }
        )),
        "the untouched targets in one line: {md}"
    );

    // The next run converges: what was deployed is unchanged, the rest is created.
    let again = remedy(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes", "--output", "json"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let summary = &again.json()["summary"];
    assert_eq!(summary["unchanged"], created as u64);
    assert_eq!(summary["created"], (6 - created) as u64);
    for account in &dev {
        let (status, _) = support::stack_state(&emulator, account, REGION)
            .await
            .expect("deployed");
        assert_eq!(status, "CREATE_COMPLETE");
    }

    // A second Ctrl-C abandons the targets in flight at once; the report still lists all.
    work.write(
        "remedy.yaml",
        &CONFIG.replace("S3-001: remediate", "S3-001: dry-run"),
    );
    let (code, stdout, stderr) = interrupted_run(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes", "--output", "json"],
        2,
    );
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("abandoning the targets in flight"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("the report, still");
    assert_eq!(doc["targets"].as_array().unwrap().len(), 6, "{doc}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_plan_plans_nothing_new_and_leaves_no_review_stack_behind() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 6).await;
    let work = Workdir::new(CONFIG);

    let (code, stdout, stderr) = interrupted_run(
        &emulator,
        work.path(),
        &["plan", "--stage", "dev", "--output", "json"],
        1,
    );
    // Before plan listened for Ctrl-C, the signal killed it: no code, no report, and the
    // CREATE change set's review stack of the target in flight left behind.
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("interrupted: no new target starts"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("the partial plan");
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 6, "every target is in the plan: {doc}");
    let planned = targets.iter().filter(|t| t["action"] == "create").count();
    let skipped: Vec<&serde_json::Value> = targets
        .iter()
        .filter(|t| t["action"] == "skipped")
        .collect();
    assert!(planned >= 1, "{doc}");
    assert!(!skipped.is_empty(), "the plan stopped early: {doc}");
    assert_eq!(planned + skipped.len(), 6, "none blocked, none lost: {doc}");
    assert!(
        skipped.iter().all(|t| t["reason"]
            .as_str()
            .unwrap()
            .contains("interrupted (Ctrl-C)")),
        "{doc}"
    );

    // Read back: no account keeps a stack (the review stacks of the CREATE change sets were
    // deleted by the targets that made them, those in flight at the Ctrl-C included).
    for account in &dev {
        assert_eq!(
            support::stack_state(&emulator, account, REGION).await,
            None,
            "{account} keeps a stack after an interrupted plan"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_ctrl_c_ends_a_wait_for_another_operations_stack_at_once() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 3).await;
    let work = Workdir::new(CONFIG);
    // Another operation holds the first account's stack (and would for longer than the
    // 120 s grace): the deploy waits for it, up to its 10-minute target timeout.
    crate::progress::stuck_stack(&emulator, &dev[0]).await;

    let (code, stdout, stderr, took) = interrupted_when(
        &emulator,
        work.path(),
        &[
            "deploy",
            "--stage",
            "dev",
            "--yes",
            "--target-timeout",
            "10m",
        ],
        1,
        "held by another operation; waiting for it",
    );
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    assert!(
        took < std::time::Duration::from_secs(30),
        "the wait held the grace: {took:?}\n{stderr}"
    );
    // The text report: nothing failed, so `interrupted`; the target that stood down is
    // listed with its reason, the untouched ones are one line.
    assert!(
        stdout.contains("stage dev: interrupted — 3 targets: "),
        "{stdout}"
    );
    assert!(!stdout.contains("FAILED"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with(dev[0].as_str()))
        .unwrap_or_else(|| panic!("the waiting target is listed: {stdout}"));
    assert!(
        row.contains("skipped")
            && row.contains("CREATE_IN_PROGRESS")
            && row.contains("stopped waiting at Ctrl-C"),
        "{row}"
    );
    // Targets run in account order: those before it were created, those after it untouched.
    let created: usize = stdout
        .split("3 targets: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    let untouched = 2 - created;
    let folded = format!(
        "{untouched} target{} not started: the run was interrupted (Ctrl-C)",
        if untouched == 1 { "" } else { "s" }
    );
    assert_eq!(
        stdout.contains(&folded),
        untouched > 0,
        "{folded}: {stdout}"
    );
    // Nothing of ours touched the held stack.
    let (status, _) = support::stack_state(&emulator, &dev[0], REGION)
        .await
        .expect("still there");
    assert_eq!(status, "CREATE_IN_PROGRESS");
}
