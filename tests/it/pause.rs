//! The kill switch (issue 16, point 4): `remedy pause` / `remedy resume` write
//! `/<stack_name>/paused` in each account's home region (read back here through the
//! account), `--rule`, `--stage` and `--account` narrow it, `status` shows it, and the
//! orchestrator handles a paused rule as `notify` (a queue subscribed to the notification
//! topic receives it), reading the parameter at most once a minute.

use crate::support;

use crate::orchestrator::{received, subscribed_queue};
use remedy_functions::catalog::Mode;
use remedy_functions::dispatch::{Place, ReasonCode, Route, RuntimeConfig};
use remedy_functions::orchestrator::Orchestrator;
use remedy_functions::pause::PauseSwitch;
use remedy_functions::rule::Outcome;
use serde_json::Value;
use std::sync::Arc;
use support::{finding, remedy, Emulator, Org, Workdir, MANAGEMENT_ACCOUNT, REGION};

const PARAMETER: &str = "/remedy/paused";
/// prod's stacks live here; dev's in REGION (us-east-1).
const PROD_HOME: &str = "eu-west-1";

fn config() -> String {
    "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\n  - name: prod\n    home_region: eu-west-1\n    regions: [eu-west-1]\n    targets: {ous: [/Workloads/Prod]}\nrules:\n  S3-001: remediate\n  EC2-002: remediate\n".into()
}

/// The parameter's value in `account`'s `region`, read through the account; `None`: none.
async fn paused_in(emulator: &Emulator, account: &str, region: &str) -> Option<String> {
    let ssm = aws_sdk_ssm::Client::new(&emulator.account_config(account, region).await);
    match ssm.get_parameter().name(PARAMETER).send().await {
        Ok(out) => Some(out.parameter().unwrap().value().unwrap().to_owned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            None
        }
        Err(e) => panic!("GetParameter in {account} {region}: {e:?}"),
    }
}

fn outcomes(doc: &Value) -> Vec<(String, String)> {
    doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["account_id"].as_str().unwrap().to_owned(),
                t["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_and_resume_across_accounts_of_two_stages() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let prod = org.accounts_in("prod", "/Workloads/Prod", 2).await;
    for account in dev.iter().chain(&prod) {
        emulator.create_role(account).await;
    }
    let work = Workdir::new(&config());
    let homes: Vec<(&String, &str)> = dev
        .iter()
        .map(|a| (a, REGION))
        .chain(prod.iter().map(|a| (a, PROD_HOME)))
        .collect();

    // Bad input: exit 2, before any AWS call.
    emulator.start_recording();
    for (args, words) in [
        (vec!["pause", "--rule", "NOPE-999"], "--rule NOPE-999"),
        (vec!["pause", "--account", "12"], "--account 12"),
        (vec!["pause", "--stage", "qa"], "qa"),
        (vec!["resume"], "--yes"),
    ] {
        let run = remedy(&emulator, work.path(), &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
    }
    assert!(
        emulator.recording().is_empty(),
        "bad input reached AWS before it was refused"
    );
    // An account that is no target: exit 2 (known once the organization is read).
    let stranger = remedy(
        &emulator,
        work.path(),
        &["pause", "--stage", "dev", "--account", &prod[0]],
    );
    assert_eq!(stranger.code, 2, "{}", stranger.stderr);
    assert!(stranger.stderr.contains("not a target of stage `dev`"));
    for (account, home) in &homes {
        assert_eq!(paused_in(&emulator, account, home).await, None);
    }

    // One rule everywhere: every account of both stages, in its stage's home region.
    let run = remedy(
        &emulator,
        work.path(),
        &["pause", "--rule", "S3-001", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["action"], "pause");
    assert_eq!(doc["parameter"], PARAMETER);
    assert_eq!(doc["summary"]["changed"], 4, "{doc}");
    for (account, home) in &homes {
        assert_eq!(
            paused_in(&emulator, account, home).await.as_deref(),
            Some("S3-001"),
            "{account}"
        );
        // And nowhere else.
        let elsewhere = if *home == REGION { PROD_HOME } else { REGION };
        assert_eq!(paused_in(&emulator, account, elsewhere).await, None);
    }
    let target = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["account_id"] == prod[0].as_str())
        .unwrap();
    assert_eq!(target["region"], PROD_HOME);
    assert_eq!(target["paused"], serde_json::json!(["S3-001"]));
    assert_eq!(target["paused_before"], serde_json::json!([]));

    // A second rule in one prod account: the others are untouched.
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "pause",
            "--rule",
            "EC2-002",
            "--stage",
            "prod",
            "--account",
            &prod[0],
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("PAUSED"), "{}", run.stdout);
    assert!(run.stdout.contains("EC2-002,S3-001"), "{}", run.stdout);
    assert_eq!(
        paused_in(&emulator, &prod[0], PROD_HOME).await.as_deref(),
        Some("EC2-002,S3-001")
    );
    assert_eq!(
        paused_in(&emulator, &prod[1], PROD_HOME).await.as_deref(),
        Some("S3-001")
    );
    // Again: nothing to write.
    let again = remedy(
        &emulator,
        work.path(),
        &[
            "pause",
            "--rule",
            "EC2-002",
            "--stage",
            "prod",
            "--account",
            &prod[0],
            "--output",
            "json",
        ],
    );
    assert_eq!(
        outcomes(&again.json()),
        vec![(prod[0].clone(), "unchanged".into())]
    );

    // Resume S3-001 in dev: the set is empty there, so the parameter goes.
    let run = remedy(
        &emulator,
        work.path(),
        &["resume", "--rule", "S3-001", "--stage", "dev", "--yes"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for account in &dev {
        assert_eq!(paused_in(&emulator, account, REGION).await, None);
    }
    assert_eq!(
        paused_in(&emulator, &prod[1], PROD_HOME).await.as_deref(),
        Some("S3-001"),
        "prod was not named"
    );

    // status shows what is paused where.
    let status = remedy(&emulator, work.path(), &["status", "--output", "json"]);
    let doc = status.json();
    let paused: Vec<(String, Value)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["account_id"].as_str().unwrap().to_owned(),
                t.get("paused").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    for account in &dev {
        assert!(
            paused.contains(&(account.clone(), Value::Null)),
            "{paused:?}"
        );
    }
    assert!(paused.contains(&(prod[0].clone(), serde_json::json!(["EC2-002", "S3-001"]))));
    assert!(paused.contains(&(prod[1].clone(), serde_json::json!(["S3-001"]))));
    let text = remedy(&emulator, work.path(), &["status", "--stage", "prod"]);
    assert!(text.stdout.contains("PAUSED"), "{}", text.stdout);
    assert!(text.stdout.contains("EC2-002,S3-001"), "{}", text.stdout);

    // Every rule: `*`; a resume of one rule cannot carve it out.
    let run = remedy(&emulator, work.path(), &["pause", "--stage", "prod"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        paused_in(&emulator, &prod[1], PROD_HOME).await.as_deref(),
        Some("*")
    );
    let partial = remedy(
        &emulator,
        work.path(),
        &["resume", "--rule", "S3-001", "--stage", "prod", "--yes"],
    );
    assert_eq!(partial.code, 1, "{}", partial.stdout);
    assert!(
        partial.stdout.contains("every rule is paused here"),
        "{}",
        partial.stdout
    );
    assert_eq!(
        paused_in(&emulator, &prod[1], PROD_HOME).await.as_deref(),
        Some("*")
    );
    let all = remedy(&emulator, work.path(), &["resume", "--yes"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    for (account, home) in &homes {
        assert_eq!(paused_in(&emulator, account, home).await, None, "{account}");
    }
}

/// The orchestrator of the security account (as the emulator's default account), its
/// switch reading `parameter`; S3-012 remediates, every finding routed to `remedy-notify-all`.
fn orchestrator(emulator: &Emulator, switch: Option<Arc<PauseSwitch>>) -> Orchestrator {
    let aws = emulator.sdk_config();
    Orchestrator {
        pause: switch,
        ..Orchestrator::new(
            &aws,
            RuntimeConfig {
                rules: [("S3-012".to_owned(), Mode::Remediate)]
                    .into_iter()
                    .collect(),
                routes: vec![Route {
                    topic: "remedy-notify-all".into(),
                    risk_levels: vec![],
                    categories: vec![],
                }],
                regions: Vec::new(),
            },
            Place {
                account_id: MANAGEMENT_ACCOUNT.into(),
                region: REGION.into(),
            },
        )
    }
}

/// A queue subscribed to the notification topic every finding is routed to.
async fn inbox(emulator: &Emulator) -> String {
    subscribed_queue(emulator, "remedy-notify-all").await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_orchestrator_notifies_a_paused_rule_and_reads_the_switch_once_a_minute() {
    let emulator = Emulator::start();
    let aws = emulator.sdk_config();
    let url = inbox(&emulator).await;
    aws_sdk_ssm::Client::new(&aws)
        .put_parameter()
        .name(PARAMETER)
        .value("S3-012")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();

    let switch = Arc::new(PauseSwitch::new(&aws, PARAMETER.into()));
    let o = orchestrator(&emulator, Some(switch.clone()));
    emulator.start_recording();
    for bucket in ["first-bucket", "second-bucket"] {
        let handled = o
            .handle_message(&finding("S3-012", bucket).to_string())
            .await;
        assert_eq!(handled.reason_code, Some(ReasonCode::Paused), "{handled:?}");
        assert_eq!(handled.mode, Some(Mode::Notify));
        assert_eq!(handled.outcome, Outcome::Skipped);
        assert_eq!(handled.notified, vec!["remedy-notify-all".to_owned()]);
        let line = remedy_functions::orchestrator::log_line(&handled, 1).unwrap();
        assert_eq!(line["reason_code"], "paused");
    }
    let calls = emulator.recording();
    let actions: Vec<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "GetParameter").count(),
        1,
        "two findings in a row read the switch once: {actions:?}"
    );
    assert!(
        !actions
            .iter()
            .any(|a| *a == "Invoke" || a.contains("/invocations")),
        "a paused rule's function was invoked: {actions:?}"
    );
    let messages = received(&emulator, &url).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages.iter().all(|m| m["ruleId"] == "S3-012"));

    // Another rule is not paused: it goes on to its function (none here: unsupported).
    let other = o
        .handle_message(&finding("S3-001", "third-bucket").to_string())
        .await;
    assert_ne!(other.reason_code, Some(ReasonCode::Paused), "{other:?}");

    // No parameter: nothing paused (the rule goes on to its function: none here).
    let missing = Arc::new(PauseSwitch::new(&aws, "/nothing/paused".into()));
    let handled = orchestrator(&emulator, Some(missing))
        .handle_message(&finding("S3-012", "first-bucket").to_string())
        .await;
    assert_eq!(handled.outcome, Outcome::Unsupported, "{handled:?}");
    assert_ne!(handled.reason_code, Some(ReasonCode::Paused));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_switch_that_cannot_be_read_fails_safe() {
    let emulator = Emulator::start();
    let url = inbox(&emulator).await;
    // Nothing listens on port 9: every read fails.
    let unreachable = emulator
        .sdk_config()
        .to_builder()
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let switch = Arc::new(PauseSwitch::new(&unreachable, PARAMETER.into()));
    let handled = orchestrator(&emulator, Some(switch))
        .handle_message(&finding("S3-012", "first-bucket").to_string())
        .await;
    assert_eq!(handled.reason_code, Some(ReasonCode::Paused), "{handled:?}");
    assert_eq!(received(&emulator, &url).await.len(), 1);
}

#[test]
fn the_orchestrator_may_read_only_its_own_switch() {
    // Rendering needs no AWS.
    let work = Workdir::new(&config());
    let run: support::Run = std::process::Command::new(env!("CARGO_BIN_EXE_remedy"))
        .current_dir(work.path())
        .args(["template", "--stage", "prod", "--output", "json"])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    let resources = &doc["Resources"];
    assert_eq!(
        resources["Orchestrator"]["Properties"]["Environment"]["Variables"]
            ["REMEDY_PAUSE_PARAMETER"],
        PARAMETER
    );
    let statements = resources["OrchestratorRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_array()
        .unwrap();
    let ssm: Vec<&Value> = statements
        .iter()
        .filter(|s| s.to_string().contains("ssm:"))
        .collect();
    assert_eq!(ssm.len(), 1, "{ssm:?}");
    assert_eq!(ssm[0]["Action"], "ssm:GetParameter");
    assert_eq!(
        ssm[0]["Resource"]["Fn::Sub"],
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/remedy/paused"
    );
    // Every function's role: no other SSM permission.
    let ssm_roles = resources
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role" && r.to_string().contains("ssm:"))
        .count();
    assert_eq!(ssm_roles, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_a_pause_does_not_ask_and_a_resume_does() {
    use crate::rollout::remedy_on_a_terminal;
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 1).await;
    emulator.create_role(&dev[0]).await;
    let work = Workdir::new(&config());

    // Nothing typed: a pause that asked would read end-of-file as "no".
    let (code, out) = remedy_on_a_terminal(&emulator, work.path(), "pause --stage dev", "");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("[y/N]"), "{out}");
    assert_eq!(
        paused_in(&emulator, &dev[0], REGION).await.as_deref(),
        Some("*")
    );

    let (code, out) = remedy_on_a_terminal(&emulator, work.path(), "resume --stage dev", "n\n");
    assert_eq!(code, 4, "declined: {out}");
    assert!(
        out.contains("Resume every rule (remediate again) in 1 accounts? [y/N]"),
        "{out}"
    );
    assert_eq!(
        paused_in(&emulator, &dev[0], REGION).await.as_deref(),
        Some("*")
    );

    let (code, out) = remedy_on_a_terminal(&emulator, work.path(), "resume --stage dev", "y\n");
    assert_eq!(code, 0, "{out}");
    assert_eq!(paused_in(&emulator, &dev[0], REGION).await, None);
}
