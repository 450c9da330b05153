//! The orchestrator against the emulator: rejections, skips, modes, a missing function,
//! notification routing (a queue subscribed to the topic receives the message) and an SQS
//! batch in which one bad message neither blocks nor loses the others.

use crate::support;

use remedy_functions::catalog::Mode;
use remedy_functions::dispatch::{Place, Route, RuntimeConfig};
use remedy_functions::orchestrator::Orchestrator;
use remedy_functions::rule::Outcome;
use serde_json::{json, Value};
use support::{finding, Emulator, MANAGEMENT_ACCOUNT, REGION};

fn orchestrator(emulator: &Emulator, routes: Vec<Route>) -> Orchestrator {
    let aws = emulator.sdk_config();
    Orchestrator {
        lambda: aws_sdk_lambda::Client::new(&aws),
        sns: aws_sdk_sns::Client::new(&aws),
        config: RuntimeConfig {
            rules: [
                ("S3-012".to_owned(), Mode::Remediate),
                ("GD-002".to_owned(), Mode::Notify),
                ("AG-005".to_owned(), Mode::DryRun),
            ]
            .into_iter()
            .collect(),
            routes,
            regions: Vec::new(),
        },
        place: Place {
            account_id: MANAGEMENT_ACCOUNT.into(),
            region: REGION.into(),
        },
        pause: None,
        grace: Default::default(),
        exceptions: Default::default(),
        limits: Default::default(),
    }
}

/// A function named `name` in the emulator (which stores it and echoes invocations).
pub(crate) async fn function(emulator: &Emulator, name: &str) {
    let aws = emulator.sdk_config();
    let iam = aws_sdk_iam::Client::new(&aws);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = match iam
        .create_role()
        .role_name("rule-role")
        .assume_role_policy_document(trust)
        .send()
        .await
    {
        Ok(out) => out.role().map(|r| r.arn().to_owned()).unwrap(),
        Err(_) => format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/rule-role"),
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("bootstrap");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let zip = dir.path().join("f.zip");
    remedy::aws::package::write_bootstrap_zip(&script, &zip).unwrap();
    aws_sdk_lambda::Client::new(&aws)
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(std::fs::read(&zip).unwrap().into())
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// A queue subscribed to `topic`, returning its URL.
pub(crate) async fn subscribed_queue(emulator: &Emulator, topic: &str) -> String {
    let aws = emulator.sdk_config();
    let sns = aws_sdk_sns::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let topic_arn = sns
        .create_topic()
        .name(topic)
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let url = sqs
        .create_queue()
        .queue_name(format!("{topic}-inbox"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue_arn = format!("arn:aws:sqs:{REGION}:{MANAGEMENT_ACCOUNT}:{topic}-inbox");
    sns.subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    url
}

pub(crate) async fn received(emulator: &Emulator, url: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(&emulator.sdk_config());
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn rejections_skips_and_a_missing_function() {
    let emulator = Emulator::start();
    let o = orchestrator(&emulator, Vec::new());
    emulator.start_recording();

    for (message, why) in [
        (r#"{"ruleId":"S3-012/../x","status":"FAILURE"}"#.to_owned(), "does not match"),
        (r#"{"ruleId":"arn:aws:lambda:us-east-1:1:function:Evil-001","status":"FAILURE"}"#.to_owned(), "does not match"),
        ("not json".to_owned(), "not JSON"),
        (json!({"ruleId": "S3-012", "status": "FAILURE", "region": "eu-west-1"}).to_string(), "region eu-west-1"),
        (
            json!({"ruleId": "SNS-001", "status": "FAILURE", "region": REGION, "resource": "arn:aws:sns:us-east-1:999999999999:t"}).to_string(),
            "999999999999",
        ),
    ] {
        let handled = o.handle_message(&message).await;
        assert_eq!(handled.outcome, Outcome::Rejected, "{message}");
        assert!(handled.reason.as_deref().unwrap().contains(why), "{message}: {handled:?}");
        assert!(!handled.retry);
    }
    let success = json!({"ruleId": "S3-012", "status": "SUCCESS", "region": REGION});
    let handled = o.handle_message(&success.to_string()).await;
    assert_eq!(
        (handled.outcome, handled.reason.as_deref()),
        (Outcome::Skipped, Some("status SUCCESS"))
    );
    let handled = o.handle_message("Test Message from Cloud Conformity").await;
    assert_eq!(handled.outcome, Outcome::Skipped);
    // Nothing so far may have reached Lambda.
    assert!(
        emulator
            .recording()
            .iter()
            .all(|r| !r.action.contains("functions")),
        "no invocation"
    );

    // A rule whose function does not exist: unsupported, not retried.
    let handled = o
        .handle_message(&finding("S3-012", "some-bucket").to_string())
        .await;
    assert_eq!(handled.outcome, Outcome::Unsupported, "{handled:?}");
    assert!(!handled.retry);
}

#[tokio::test(flavor = "multi_thread")]
async fn modes_decide_whether_the_function_is_invoked() {
    let emulator = Emulator::start();
    function(&emulator, "AutoRemediateS3-012").await;
    function(&emulator, "AutoRemediateGD-002").await;
    let o = orchestrator(&emulator, Vec::new());

    emulator.start_recording();
    let handled = o
        .handle_message(&finding("S3-012", "some-bucket").to_string())
        .await;
    let invokes = emulator
        .recording()
        .iter()
        .filter(|r| r.action.contains("/invocations"))
        .count();
    assert_eq!(invokes, 1, "remediate mode invokes AutoRemediateS3-012");
    // The emulator echoes the payload instead of running the code: no remedy report.
    assert_eq!(handled.outcome, Outcome::Remediated, "{handled:?}");
    assert_eq!(handled.mode, Some(Mode::Remediate));

    emulator.start_recording();
    let handled = o
        .handle_message(&finding("GD-002", "guardduty-finding-7f3e").to_string())
        .await;
    let invokes = emulator
        .recording()
        .iter()
        .filter(|r| r.action.contains("/invocations"))
        .count();
    assert_eq!(invokes, 0, "notify mode invokes nothing");
    assert_eq!(handled.mode, Some(Mode::Notify));
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_routed_by_risk_and_category() {
    let emulator = Emulator::start();
    let urgent = subscribed_queue(&emulator, "remedy-notify-urgent").await;
    let cost = subscribed_queue(&emulator, "remedy-notify-cost").await;
    let routes = vec![
        Route {
            topic: "remedy-notify-urgent".into(),
            risk_levels: vec!["VERY_HIGH".into()],
            categories: vec![],
        },
        Route {
            topic: "remedy-notify-cost".into(),
            risk_levels: vec![],
            categories: vec!["cost-optimisation".into()],
        },
    ];
    let o = orchestrator(&emulator, routes);

    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/functions/fixtures/conformity-events/GD-002-failure.json"
    ))
    .unwrap();
    let mut gd: Value = serde_json::from_str(&sample).unwrap();
    gd["region"] = json!(REGION);
    gd["riskLevel"] = json!("VERY_HIGH");
    let handled = o.handle_message(&gd.to_string()).await;
    assert_eq!(handled.notified, ["remedy-notify-urgent"], "{handled:?}");

    let messages = received(&emulator, &urgent).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m["ruleId"], "GD-002");
    assert_eq!(m["ruleTitle"], "GuardDuty Findings");
    assert_eq!(m["resource"], "guardduty-finding-7f3e");
    assert_eq!(m["region"], REGION);
    assert_eq!(m["riskLevel"], "VERY_HIGH");
    assert!(m["message"]
        .as_str()
        .unwrap()
        .contains("Unusual console login"));
    assert!(m["resolutionPageURL"]
        .as_str()
        .unwrap()
        .starts_with("https://www.cloudconformity.com/"));
    assert!(
        received(&emulator, &cost).await.is_empty(),
        "a security finding is not a cost one"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sqs_batch_reports_only_what_may_succeed_on_a_retry() {
    let emulator = Emulator::start();
    // A route to a topic that does not exist: that notification fails and must be retried.
    let routes = vec![Route {
        topic: "remedy-notify-missing".into(),
        risk_levels: vec!["LOW".into()],
        categories: vec![],
    }];
    let o = orchestrator(&emulator, routes);
    let mut low = finding("GD-002", "finding-1");
    low["riskLevel"] = json!("LOW");
    let envelope = json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:123456789012:remedy-findings",
                          "Message": finding("GD-002", "finding-2").to_string()});
    let record =
        |id: &str, body: String| json!({"messageId": id, "eventSource": "aws:sqs", "body": body});
    let event = json!({"Records": [
        record("hostile", r#"{"ruleId":"../../etc","status":"FAILURE"}"#.to_owned()),
        record("retry-me", low.to_string()),
        record("fine", finding("GD-002", "finding-3").to_string()),
        record("envelope", envelope.to_string()),
    ]});
    let answer = o.handle_event(event.clone(), None).await;
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "retry-me"}]})
    );

    // Without the time to finish a rule, no message is started: all go back to the queue.
    let almost_out = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let answer = o.handle_event(event, Some(almost_out)).await;
    let ids: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["hostile", "retry-me", "fine", "envelope"]);
}
