//! `remedy doctor` (issue 18, point 3) against the emulator under IAM enforcement: an account
//! without remedy's role, one whose role lacks a permission (the emulator's policy
//! simulation is the launcher's mend 6: moto's own policy evaluator over the role's
//! policies), and a healthy one; each failure named with its fix, exit 1, no account hiding
//! another. The checks it makes are allowed by the bootstrap's role: `least_privilege`.

use crate::support;

use serde_json::Value;
use support::{remedy, Emulator, Org, Workdir, REGION};

const CONFIG: &str = "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n";

/// Everything remedy's role needs but reading the ledger (`logs:FilterLogEvents`).
const NO_LOGS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudformation:*","iam:*","ssm:*","s3:*","sts:*","lambda:*"],"Resource":"*"}]}"#;

/// The same, where IAM will not simulate (an explicit deny): evaluated offline instead.
const NO_LOGS_NO_SIMULATION: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudformation:*","iam:*","ssm:*","s3:*","sts:*","lambda:*"],"Resource":"*"},{"Effect":"Deny","Action":"iam:SimulatePrincipalPolicy","Resource":"*"}]}"#;

fn account<'d>(doc: &'d Value, id: &str) -> &'d Value {
    support::by_account(&doc["accounts"], id)
}

fn check<'d>(account: &'d Value, name: &str) -> &'d Value {
    account["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("{name} in {account}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_names_each_account_that_would_fail_and_its_fix() {
    let mut emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let healthy = org.account("dev-00", "/Workloads/Dev").await;
    let missing = org.account("dev-01", "/Workloads/Dev").await;
    let narrow = org.account("dev-02", "/Workloads/Dev").await;
    let offline = org.account("dev-03", "/Workloads/Dev").await;
    emulator.create_role(&healthy).await;
    for (account, policy) in [(&narrow, NO_LOGS), (&offline, NO_LOGS_NO_SIMULATION)] {
        emulator.create_role(account).await;
        let iam = aws_sdk_iam::Client::new(&emulator.account_config(account, REGION).await);
        iam.put_role_policy()
            .role_name("CloudConformity")
            .policy_name("all")
            .policy_document(policy)
            .send()
            .await
            .unwrap();
    }
    emulator.enforce_iam().await;
    let work = Workdir::new(CONFIG);

    let run = remedy(&emulator, work.path(), &["doctor", "--output", "json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(doc["summary"]["accounts"], 4, "{doc}");
    assert_eq!(doc["summary"]["failing"], 3, "{doc}");

    let ok = account(&doc, &healthy);
    assert_eq!(ok["result"], "ready", "{ok}");
    for name in ["role", "home_region", "permissions", "role_quota"] {
        assert_eq!(check(ok, name)["status"], "ok", "{name}: {ok}");
    }
    assert_eq!(
        check(ok, "artifacts")["status"],
        "warn",
        "nothing published yet: {ok}"
    );
    assert_eq!(
        check(ok, "topic")["status"],
        "warn",
        "nothing deployed yet: {ok}"
    );

    let no_role = account(&doc, &missing);
    assert_eq!(no_role["result"], "fails");
    let role = check(no_role, "role");
    assert_eq!(role["status"], "fail", "{no_role}");
    assert!(
        role["fix"]
            .as_str()
            .unwrap()
            .contains("account-bootstrap.yaml"),
        "{role}"
    );

    let lacking = account(&doc, &narrow);
    assert_eq!(lacking["result"], "fails");
    let permissions = check(lacking, "permissions");
    assert_eq!(permissions["status"], "fail", "{lacking}");
    let detail = permissions["detail"].as_str().unwrap();
    assert!(detail.contains("logs:FilterLogEvents"), "{detail}");
    assert!(
        !detail.contains("cloudformation:"),
        "only what is missing: {detail}"
    );

    // Where IAM will not simulate, the role's policies are read and evaluated offline.
    let evaluated = check(account(&doc, &offline), "permissions").clone();
    assert_eq!(evaluated["status"], "fail", "{evaluated}");
    let detail = evaluated["detail"].as_str().unwrap();
    assert!(
        detail.contains("logs:FilterLogEvents") && detail.contains("evaluated offline"),
        "{detail}"
    );

    // The text names each failure with its fix, one line each.
    let text = remedy(&emulator, work.path(), &["doctor"]);
    assert_eq!(text.code, 1);
    assert!(
        text.stdout
            .lines()
            .any(|l| l.starts_with(&format!("{missing} FAIL role:")) && l.contains("— fix:")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("4 account(s): 1 ready, 3 would fail"),
        "{}",
        text.stdout
    );
}
