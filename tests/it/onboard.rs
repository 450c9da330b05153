//! `remedy onboard` against the emulator: the Account Vending Machine hook deploys the new
//! account alone, at the first stage whose OUs hold it, after waiting for its role; an
//! account no stage targets is invalid input.

use crate::support;

use std::process::Stdio;
use std::time::Duration;
use support::{remedy, remedy_command, stack_state, Emulator, Org, Workdir, REGION};

/// Two rules: member change sets carry the template inline, a query body with spaces, whose
/// signature the test bed checks over the bytes as sent under IAM enforcement.
const CONFIG: &str = "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\n  - name: prod\n    approval: true\n    targets: {ous: [/Workloads/Prod]}\nrules:\n  S3-001: dry-run\n  EC2-002: dry-run\n";

#[tokio::test(flavor = "multi_thread")]
async fn onboard_deploys_only_the_vended_account_at_its_stage_once_its_role_appears() {
    let mut emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.account("dev-00", "/Workloads/Dev").await;
    let prod = org.account("prod-00", "/Workloads/Prod").await;
    let sandbox = org.account("sandbox-00", "/Sandbox").await;
    let vended = org.account("vended-00", "/Workloads/Prod").await;
    let rooted = org.account("rooted-00", "/").await;
    for account in [&dev, &prod] {
        emulator.create_role(account).await;
    }
    // The vending machine's own admin role exists from the start; ours comes later.
    emulator
        .create_role_as(&vended, "VendingMachine", "OrganizationAccountAccessRole")
        .await;
    let work = Workdir::new(CONFIG);
    let first = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    emulator.enforce_iam().await;

    // An account that no stage targets: exit 2, saying so, before anything is deployed.
    let run = remedy(&emulator, work.path(), &["onboard", "--account", &sandbox]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("account {sandbox}"))
            && run.stderr.contains("OU /Sandbox) is a target of no stage"),
        "{}",
        run.stderr
    );

    // An account still in the root (where CreateAccount puts it) is looked for again until
    // --wait runs out: the vending machine may yet move it to a stage's OU.
    let run = remedy(
        &emulator,
        work.path(),
        &["onboard", "--account", &rooted, "--wait", "3s"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("is still in the organization's root")
            && run.stderr.contains("OU /) is a target of no stage"),
        "{}",
        run.stderr
    );

    // The hook fires before the role exists; onboard waits for it.
    emulator.start_recording();
    let child = remedy_command(&emulator, work.path())
        .args([
            "onboard",
            "--account",
            &vended,
            "--wait",
            "2m",
            "--output",
            "json",
            "--report",
            "onboard.md",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start remedy onboard");
    tokio::time::sleep(Duration::from_secs(4)).await;
    emulator
        .create_role_as(&vended, "CloudConformity", "VendingMachine")
        .await;
    let run: support::Run = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .expect("remedy onboard ran")
        .into();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    // The role was waited for: by onboard's own probe loop (AWS answers AccessDenied, which
    // the SDK does not retry), or, here, by the SDK's retries of moto's HTTP 500 for a role
    // that does not exist yet, which the report counts.
    let sdk_retries = doc["retries"]["CloudFormation.DescribeStacks"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        run.stderr.contains(&format!(
            "waiting for arn:aws:iam::{vended}:role/CloudConformity"
        )) || sdk_retries > 0,
        "the late role was waited for:\n{}\n{doc}",
        run.stderr
    );
    assert_eq!(doc["stage"], "prod", "the stage of its OU, gate or not");
    assert_eq!(doc["status"], "completed");
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{doc}");
    assert_eq!(targets[0]["account_id"], vended.as_str());
    assert_eq!(targets[0]["outcome"], "created");

    // Only the vended account was touched: remedy assumed no other role (the test's own
    // read-backs below come after this look at the recording).
    let roles: Vec<String> = emulator
        .recording()
        .iter()
        .filter(|r| {
            r.action == "AssumeRole" && r.params["RoleSessionName"] != "remedy-test-readback"
        })
        .map(|r| r.params["RoleArn"].clone())
        .collect();
    assert!(!roles.is_empty());
    assert!(
        roles
            .iter()
            .all(|arn| arn == &format!("arn:aws:iam::{vended}:role/CloudConformity")),
        "only the vended account's role: {roles:?}"
    );
    assert_eq!(
        stack_state(&emulator, &vended, REGION)
            .await
            .map(|(status, _)| status)
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(stack_state(&emulator, &prod, REGION).await, None);
    let md = std::fs::read_to_string(work.path().join("onboard.md")).unwrap();
    assert!(md.contains("| prod | completed | 1 | 1 |"), "{md}");
}

/// `onboard --connect`: once the account's stack is deployed, its topic becomes its
/// Conformity SNS setting (the stand-in of `support::conformity`); stdout stays the deploy
/// report, the connection is a line on stderr.
#[tokio::test(flavor = "multi_thread")]
async fn onboard_connect_registers_the_new_accounts_topic_once_deployed() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let vended = org.account("vended-00", "/Workloads/Dev").await;
    emulator.create_role(&vended).await;
    let key = "onboard-connect-key-0123456789";
    let server = support::conformity::Server::start(key, &[&vended]);
    let work = Workdir::new(&CONFIG.replace(
        "package: package.zip\n",
        &format!(
            "package: package.zip\nconformity:\n  api:\n    url: {}\n",
            server.url
        ),
    ));
    let out = remedy_command(&emulator, work.path())
        .env("CONFORMITY_API_KEY", key)
        .args([
            "onboard",
            "--account",
            &vended,
            "--connect",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["summary"]["created"], 1, "{report}");
    let topic = format!("arn:aws:sns:{REGION}:{vended}:remedy-findings");
    assert!(
        stderr.contains(&format!("Conformity: {vended} connected ({topic})")),
        "{stderr}"
    );
    let settings = server.settings();
    assert_eq!(settings.len(), 1, "{settings:?}");
    assert_eq!(
        settings[0]["attributes"]["configuration"]["arn"],
        topic.as_str()
    );
    assert!(!stdout.contains(key) && !stderr.contains(key));
    // `status` judges by the deployed stack's own topic: connected.
    let out = remedy_command(&emulator, work.path())
        .env("CONFORMITY_API_KEY", key)
        .args(["status", "--stage", "dev", "--output", "json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let row = support::by_account(&status["targets"], &vended);
    assert_eq!(row["findings_topic_arn"], topic.as_str(), "{status}");
    assert_eq!(row["conformity"], "connected", "{status}");
}
