//! Ctrl-C during a deploy, against the emulator: the first SIGINT stops new targets, lets
//! the one in flight finish, prints and writes the partial report (every target in it, the
//! untouched ones skipped as not started) and exits 130; the next run converges. A second
//! SIGINT abandons the targets in flight at once, and the report still lists every target.

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
    let mut child = remedy_command(emulator, dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start remedy");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("[dev] 1/") {
            for _ in 0..times {
                sigint(&child);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            break;
        }
    }
    for line in lines {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        seen,
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
    assert_eq!(doc["status"], "failed");
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
    assert!(md.contains("| dev | failed | 6 |"), "{md}");

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
