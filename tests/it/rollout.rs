//! `remedy rollout` against the emulator: gates stop a non-interactive run with exit 3 and
//! nothing behind them touched; approved gates deploy every stage; unassumable accounts
//! fail a stage at its tolerance and are named; each account gets one stack, in its stage's
//! home region, covering every region of the stage.

use crate::support;
use crate::support::snapshot::{assert_snapshot, labels};

use std::collections::BTreeSet;
use support::{remedy, stack_state, Emulator, Org, Workdir, REGION};

fn three_stages(rules: &str) -> String {
    format!(
        r#"regions: [us-east-1]
package: package.zip
stages:
  - name: dev
    targets: {{ous: [/Workloads/Dev]}}
  - name: staging
    approval: true
    targets: {{ous: [/Workloads/Staging]}}
  - name: prod
    approval: true
    targets: {{ous: [/Workloads/Prod]}}
rules:
{rules}"#
    )
}

fn statuses(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn gates_stop_an_unapproved_rollout_and_approvals_deploy_every_stage() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let staging = org.accounts_in("staging", "/Workloads/Staging", 1).await;
    let prod = org.accounts_in("prod", "/Workloads/Prod", 2).await;
    let work = Workdir::new(&three_stages("  S3-001: remediate\n"));

    // Not approved, not interactive (stdin is not a terminal): the run stops at the first
    // gate, `--yes` notwithstanding.
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "rollout",
            "--yes",
            "--output",
            "json",
            "--report",
            "out/report.md",
        ],
    );
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    // dev completed with two created; staging awaiting approval, prod not started, both
    // with no targets.
    let names: Vec<(String, String)> = [
        labels("dev", &dev),
        labels("staging", &staging),
        labels("prod", &prod),
    ]
    .concat();
    assert_snapshot("rollout-stops-at-the-first-gate", &run.json(), &names);
    // Nothing behind the gate was touched: no role assumed there, no stack.
    let assumed: BTreeSet<String> = emulator
        .recording()
        .iter()
        .filter(|r| r.action == "AssumeRole")
        .map(|r| r.params["RoleArn"].clone())
        .collect();
    let dev_roles: BTreeSet<String> = dev
        .iter()
        .map(|a| format!("arn:aws:iam::{a}:role/CloudConformity"))
        .collect();
    assert_eq!(assumed, dev_roles);
    for account in staging.iter().chain(&prod) {
        assert_eq!(
            stack_state(&emulator, account, REGION).await,
            None,
            "{account}"
        );
    }
    let md = std::fs::read_to_string(work.path().join("out/report.md")).unwrap();
    assert!(md.contains("| staging | awaiting approval |"), "{md}");
    assert!(md.contains("--approve staging"), "{md}");

    // Approving one gate moves the stop to the next.
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "rollout",
            "--yes",
            "--approve",
            "staging",
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_snapshot("rollout-moves-to-the-next-gate", &run.json(), &names);
    assert!(stack_state(&emulator, &staging[0], REGION).await.is_some());
    assert_eq!(stack_state(&emulator, &prod[0], REGION).await, None);

    // Approved: every stage, dev and staging unchanged, prod created.
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "rollout",
            "--yes",
            "--approve",
            "staging",
            "--approve",
            "prod",
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // Every stage completed: dev and staging unchanged, prod created.
    assert_snapshot("rollout-approved", &run.json(), &names);
    let hashes: BTreeSet<String> = {
        let mut hashes = BTreeSet::new();
        for account in dev.iter().chain(&staging).chain(&prod) {
            let (status, hash) = stack_state(&emulator, account, REGION)
                .await
                .expect("a stack");
            assert_eq!(status, "CREATE_COMPLETE", "{account}");
            hashes.insert(hash);
        }
        hashes
    };
    assert_eq!(hashes.len(), 1, "one deployment everywhere: {hashes:?}");

    // --from/--to select a range; an unknown stage is invalid input before any AWS call.
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "rollout",
            "--yes",
            "--from",
            "prod",
            "--approve",
            "prod",
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(statuses(&run.json()), pairs(&[("prod", "completed")]));
    let run = remedy(
        &emulator,
        work.path(),
        &["rollout", "--yes", "--approve", "qa"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--approve qa"), "{}", run.stderr);
}

/// Two rules: member change sets carry the template inline, a query body with spaces, whose
/// signature the test bed checks over the bytes as sent under IAM enforcement.
fn prod_config(tolerance: usize) -> String {
    format!(
        "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\n  - name: prod\n    approval: true\n    concurrency: 2\n    failure_tolerance: {tolerance}\n    targets: {{ous: [/Workloads/Prod]}}\nrules:\n  S3-001: dry-run\n  EC2-002: dry-run\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn unassumable_accounts_fail_prod_at_tolerance_0_and_the_rest_deploys_at_2() {
    let mut emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.account("dev-00", "/Workloads/Dev").await;
    let mut prod = org.accounts_in("prod", "/Workloads/Prod", 5).await;
    // Targets start in account-id order, two at a time: the two without a role go first.
    prod.sort();
    let (missing, healthy) = (prod[..2].to_vec(), prod[2..].to_vec());
    for account in std::iter::once(&dev).chain(&healthy) {
        emulator.create_role(account).await;
    }
    let work = Workdir::new(&prod_config(0));
    // The artifact stack is made before enforcement (its template goes inline).
    let first = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    emulator.enforce_iam().await;

    let run = remedy(
        &emulator,
        work.path(),
        &[
            "rollout",
            "--yes",
            "--approve",
            "prod",
            "--output",
            "json",
            "--report",
            "report.md",
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(
        statuses(&doc),
        pairs(&[("dev", "completed"), ("prod", "failed")])
    );
    let targets = doc["stages"][1]["targets"].as_array().unwrap();
    let failed: Vec<&serde_json::Value> = targets
        .iter()
        .filter(|t| t["outcome"] == "failed")
        .collect();
    let named: BTreeSet<&str> = failed
        .iter()
        .map(|t| t["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(named, missing.iter().map(String::as_str).collect());
    for t in &failed {
        // AWS: AccessDenied on AssumeRole; moto 5.2.5: HTTP 500 on the first use.
        let reason = t["reason"].as_str().unwrap();
        assert!(
            reason.contains("AccessDenied") || reason.contains("HTTP 500"),
            "{reason}"
        );
    }
    // Past the tolerance nothing new started: the healthy accounts are skipped, untouched.
    for t in targets.iter().filter(|t| t["outcome"] != "failed") {
        assert_eq!(t["outcome"], "skipped", "{t}");
        assert!(t["reason"]
            .as_str()
            .unwrap()
            .contains("failure_tolerance 0"));
    }
    for account in &healthy {
        assert_eq!(
            stack_state(&emulator, account, REGION).await,
            None,
            "{account}"
        );
    }
    let md = std::fs::read_to_string(work.path().join("report.md")).unwrap();
    for account in &missing {
        // Each failed account in its row, with its name.
        assert!(
            md.lines()
                .any(|l| l.starts_with(&format!("| {account} | prod-"))
                    && l.contains("| us-east-1 | failed |")),
            "{md}"
        );
    }
    // The audit trail: who ran it, with which build and configuration.
    assert!(md.contains("- by `arn:aws:"), "{md}");
    assert!(
        md.contains(&format!("- remedy {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{md}"
    );
    assert!(md.contains("configuration sha256 `"), "{md}");

    // At tolerance 2 the same two fail and the rest of prod deploys; still exit 1.
    work.write("remedy.yaml", &prod_config(2));
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "rollout",
            "--yes",
            "--from",
            "prod",
            "--approve",
            "prod",
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(statuses(&doc), pairs(&[("prod", "completed")]));
    assert_eq!(
        doc["stages"][0]["summary"],
        serde_json::json!({"created": 3, "updated": 0, "unchanged": 0, "failed": 2, "skipped": 0})
    );
    for account in &healthy {
        let (status, _) = stack_state(&emulator, account, REGION)
            .await
            .expect("deployed");
        assert_eq!(status, "CREATE_COMPLETE");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_stack_per_account_in_the_home_region_remediates_every_covered_region() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let prod = org.accounts_in("prod", "/Workloads/Prod", 1).await;
    let work = Workdir::new(
        "regions: [us-east-1, eu-west-1]\npackage: package.zip\nstages:\n  - name: dev\n    concurrency: 4\n    targets: {ous: [/Workloads/Dev]}\n  - name: prod\n    home_region: eu-west-1\n    targets: {ous: [/Workloads/Prod]}\nrules:\n  S3-001: remediate\n",
    );
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["rollout", "--yes", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    let targets = |stage: usize| -> Vec<(String, String)> {
        doc["stages"][stage]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(t["outcome"], "created", "{t}");
                (
                    t["account_id"].as_str().unwrap().to_owned(),
                    t["region"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let mut sorted_dev = dev.clone();
    sorted_dev.sort();
    let expected: Vec<(String, String)> = sorted_dev
        .iter()
        .map(|a| (a.clone(), "us-east-1".to_owned()))
        .collect();
    assert_eq!(
        targets(0),
        expected,
        "one target per account, in the home region"
    );
    assert_eq!(
        targets(1),
        [(prod[0].clone(), "eu-west-1".to_owned())],
        "the stage's own home"
    );

    // The stacks are where the targets say, and nowhere else; each covers both regions.
    for (account, home, elsewhere) in [
        (&dev[0], "us-east-1", "eu-west-1"),
        (&dev[1], "us-east-1", "eu-west-1"),
        (&prod[0], "eu-west-1", "us-east-1"),
    ] {
        let (status, _) = stack_state(&emulator, account, home)
            .await
            .expect("a stack");
        assert_eq!(status, "CREATE_COMPLETE", "{account} {home}");
        assert_eq!(
            stack_state(&emulator, account, elsewhere).await,
            None,
            "{account} {elsewhere}"
        );
        let config = emulator.account_config(account, home).await;
        let stack = aws_sdk_cloudformation::Client::new(&config)
            .describe_stacks()
            .stack_name("remedy")
            .send()
            .await
            .unwrap();
        let stack = &stack.stacks()[0];
        let covered = stack
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some("CoveredRegions"))
            .and_then(|p| p.parameter_value());
        assert_eq!(covered, Some("us-east-1,eu-west-1"), "{account}");
        // The orchestrator's allow-list, as Lambda will hand it to the function.
        let function = aws_sdk_lambda::Client::new(&config)
            .get_function_configuration()
            .function_name("AutoRemediateOrchestrator")
            .send()
            .await
            .unwrap();
        let variables = function.environment().and_then(|e| e.variables()).unwrap();
        assert_eq!(
            variables["REMEDY_REGIONS"], "us-east-1,eu-west-1",
            "{account}"
        );
    }
    // Member accounts were reached in their home region only (the security account's
    // artifact buckets aside): one CreateStack per account.
    let creates: Vec<String> = emulator
        .recording()
        .iter()
        .filter(|r| r.action == "CreateStack" && r.access_key != "testing")
        .map(|r| r.region.clone())
        .collect();
    assert_eq!(
        creates,
        ["us-east-1", "us-east-1", "eu-west-1"],
        "{creates:?}"
    );
}

/// Runs `remedy ARGS` on a pseudo-terminal (util-linux `script`), typing `input`: what an
/// operator at a terminal sees and answers. Output is stdout and stderr together.
pub(crate) fn remedy_on_a_terminal(
    emulator: &Emulator,
    dir: &std::path::Path,
    args: &str,
    input: &str,
) -> (i32, String) {
    use std::io::Write;
    let mut script = support::with_remedy_env(emulator, dir, "script");
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_remedy"));
    let mut child = script
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs remedy on a pseudo-terminal");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_at_a_terminal_is_shown_the_gate_and_asked() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.accounts_in("dev", "/Workloads/Dev", 1).await;
    let staging = org.accounts_in("staging", "/Workloads/Staging", 2).await;
    let work = Workdir::new(&three_stages("  S3-001: remediate\n"));

    // Declined: the gate stays closed (exit 3) and nothing is deployed behind it.
    let (code, out) = remedy_on_a_terminal(
        &emulator,
        work.path(),
        "rollout --from staging --to staging",
        "n\n",
    );
    assert_eq!(code, 3, "{out}");
    // The gate shows the stage's plan before its question: counts, and what will remediate.
    assert!(
        out.contains("stage `staging`: 2 accounts — 2 create, 0 update, 0 unchanged"),
        "{out}"
    );
    assert!(out.contains("will REMEDIATE (1 rule): S3-001"), "{out}");
    assert!(out.contains("Approve stage `staging`?"), "{out}");
    assert!(out.contains("not approved at the prompt"), "{out}");
    for account in &staging {
        assert_eq!(stack_state(&emulator, account, REGION).await, None);
    }

    // Approved at the prompt: deployed.
    let (code, out) = remedy_on_a_terminal(
        &emulator,
        work.path(),
        "rollout --from staging --to staging",
        "y\n",
    );
    assert_eq!(code, 0, "{out}");
    for account in &staging {
        let (status, _) = stack_state(&emulator, account, REGION)
            .await
            .expect("deployed");
        assert_eq!(status, "CREATE_COMPLETE");
    }
}

/// Without a terminal, a run that would change stacks needs `--yes` (exit 2, nothing made);
/// one that changes nothing goes through; at a terminal, declining the deploy's question is
/// its own exit (4), not a failure.
#[tokio::test(flavor = "multi_thread")]
async fn unattended_deploys_must_be_asked_for_and_declining_is_not_a_failure() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let work = Workdir::new(&three_stages("  S3-001: remediate\n"));

    for args in [
        &["deploy", "--stage", "dev"][..],
        &["rollout", "--to", "dev"][..],
    ] {
        let run = remedy(&emulator, work.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("stage `dev`: 2 would be created of 2 targets, and there is no terminal to ask: add --yes"),
            "{}",
            run.stderr
        );
        for account in &dev {
            assert_eq!(
                stack_state(&emulator, account, REGION).await,
                None,
                "{args:?}"
            );
        }
    }

    // At a terminal, declined: exit 4, nothing deployed. The question comes after what
    // the deploy would do.
    let (code, out) = remedy_on_a_terminal(&emulator, work.path(), "deploy --stage dev", "n\n");
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("declined: nothing deployed"), "{out}");
    let summary = out
        .find("stage `dev`: 2 accounts — 2 create, 0 update, 0 unchanged")
        .unwrap_or_else(|| panic!("{out}"));
    let question = out
        .find("Deploy stage `dev` to 2 targets? [y/N]")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(summary < question, "{out}");
    assert!(out.contains("will REMEDIATE (1 rule): S3-001"), "{out}");
    for account in &dev {
        assert_eq!(stack_state(&emulator, account, REGION).await, None);
    }

    // Deployed with --yes; then the same unattended run without it changes nothing and goes on.
    let yes = remedy(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes"],
    );
    assert_eq!(yes.code, 0, "{}", yes.stderr);
    let again = remedy(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["summary"]["unchanged"], 2);

    // A promotion: the question names the mode change and the accounts it touches.
    work.write(
        "remedy.yaml",
        &three_stages("  S3-001: dry-run\n  EC2-002: remediate\n"),
    );
    let (code, out) = remedy_on_a_terminal(&emulator, work.path(), "deploy --stage dev", "n\n");
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("stage `dev`: 2 accounts — 0 create, 2 update, 0 unchanged"),
        "{out}"
    );
    assert!(
        out.contains("S3-001: remediate → dry-run (2 accounts)"),
        "{out}"
    );
    assert!(
        out.contains("EC2-002: added (remediate) (2 accounts)"),
        "{out}"
    );
    assert!(out.contains("will REMEDIATE (1 rule): EC2-002"), "{out}");
}
