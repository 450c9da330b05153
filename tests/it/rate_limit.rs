//! Rate limits and the circuit breaker (issue 16, point 5): past `max_per_hour` fixes in an
//! hour a rule's findings are notified, not remediated (`rate_limited`); concurrent
//! invocations never admit more than the limit between them (the counter item read back);
//! a rule whose fixes fail `max_failures_per_hour` times notifies only (`circuit_open`); a
//! table that cannot be used changes nothing. The stack carries the table, and the
//! orchestrator may only read and update its items.

use crate::support;

use crate::orchestrator::{function, received, subscribed_queue};
use remedy_functions::catalog::Mode;
use remedy_functions::dispatch::{Place, ReasonCode, Route, RuntimeConfig};
use remedy_functions::limits::{self, Counter, Limit, Limits, Verdict};
use remedy_functions::orchestrator::{log_line, Orchestrator};
use remedy_functions::rule::Outcome;
use serde_json::Value;
use std::sync::Arc;
use support::{finding, remedy, Emulator, Org, Workdir, MANAGEMENT_ACCOUNT, REGION};

const TABLE: &str = "remedy-counters";
const RULE: &str = "S3-012";
const INBOX_TOPIC: &str = "remedy-notify-all";

/// The counters table as `stacks/remediation.yaml` declares it (moto's CloudFormation makes
/// it too: `the_stack_carries_the_counters_table`).
async fn counters_table(aws: &aws_config::SdkConfig) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    dynamodb
        .create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(limits::KEY_ATTRIBUTE)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(limits::KEY_ATTRIBUTE)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    dynamodb
        .update_time_to_live()
        .table_name(TABLE)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(limits::TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// A counter item's count and TTL (`None`: no item).
async fn counter(
    aws: &aws_config::SdkConfig,
    kind: Counter,
    rule: &str,
    now: u64,
) -> Option<(u64, u64)> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let out = aws_sdk_dynamodb::Client::new(aws)
        .get_item()
        .table_name(TABLE)
        .key(
            limits::KEY_ATTRIBUTE,
            AttributeValue::S(limits::key(kind, rule, limits::hour_of(now))),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = out.item()?;
    let number = |name: &str| -> u64 { item[name].as_n().unwrap().parse().unwrap() };
    Some((number("n"), number(limits::TTL_ATTRIBUTE)))
}

/// Not within `margin` seconds of the end of a UTC hour: a test that counts within one hour
/// waits for the next one rather than straddle two buckets.
async fn clear_of_the_hour_boundary(margin: u64) {
    let into_hour = limits::now() % 3600;
    if into_hour + margin >= 3600 {
        tokio::time::sleep(std::time::Duration::from_secs(3600 - into_hour + 1)).await;
    }
}

/// The orchestrator of the emulator's default account: S3-012 remediates, `limits` counts
/// in the table, and with `notify`, every finding is routed to [`INBOX_TOPIC`].
fn orchestrator(emulator: &Emulator, limit: Option<Limit>, notify: bool) -> Orchestrator {
    let aws = emulator.sdk_config();
    let per_rule = limit
        .map(|l| [(RULE.to_owned(), l)].into_iter().collect())
        .unwrap_or_default();
    Orchestrator {
        limits: Limits::new(&aws, TABLE.into(), per_rule),
        ..Orchestrator::new(
            &aws,
            RuntimeConfig {
                rules: [(RULE.to_owned(), Mode::Remediate)].into_iter().collect(),
                routes: routes(notify),
                regions: Vec::new(),
            },
            Place {
                account_id: MANAGEMENT_ACCOUNT.into(),
                region: REGION.into(),
            },
        )
    }
}

fn routes(notify: bool) -> Vec<Route> {
    if !notify {
        return Vec::new();
    }
    vec![Route {
        topic: INBOX_TOPIC.into(),
        risk_levels: vec![],
        categories: vec![],
    }]
}

/// `aws` pointed at a port nothing listens on (9), without retries: every call fails at once.
fn unreachable(aws: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    aws.to_builder()
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build()
}

fn invokes(calls: &[support::Recorded]) -> usize {
    calls
        .iter()
        .filter(|c| c.action == "Invoke" || c.action.contains("/invocations"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_51st_finding_in_an_hour_is_notified_not_fixed() {
    let emulator = Emulator::start();
    let aws = emulator.sdk_config();
    counters_table(&aws).await;
    function(&emulator, &format!("AutoRemediate{RULE}")).await;
    let url = subscribed_queue(&emulator, INBOX_TOPIC).await;
    clear_of_the_hour_boundary(60).await;

    // The default limit: 50 fixes an hour.
    let mut o = orchestrator(&emulator, None, false);
    assert_eq!(o.limits.of(RULE).max_per_hour, 50);
    emulator.start_recording();
    for i in 0..50 {
        let handled = o
            .handle_message(&finding(RULE, &format!("bucket-{i}")).to_string())
            .await;
        assert_eq!(handled.outcome, Outcome::Remediated, "{i}: {handled:?}");
        assert_eq!(handled.reason_code, None, "{i}");
    }
    o.config.routes = routes(true);
    let handled = o
        .handle_message(&finding(RULE, "bucket-50").to_string())
        .await;
    assert_eq!(handled.outcome, Outcome::Skipped, "{handled:?}");
    assert_eq!(handled.reason_code, Some(ReasonCode::RateLimited));
    assert_eq!(handled.mode, Some(Mode::Notify));
    assert!(!handled.retry);
    assert!(
        handled
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("made its 50 fixes this hour")),
        "{handled:?}"
    );
    assert_eq!(handled.notified, vec![INBOX_TOPIC.to_owned()]);
    assert_eq!(
        log_line(&handled, 1).unwrap()["reason_code"],
        "rate_limited"
    );
    let calls = emulator.recording();
    assert_eq!(invokes(&calls), 50, "the 51st was invoked");
    let messages = received(&emulator, &url).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["resource"], "bucket-50");
    assert_eq!(messages[0]["outcome"], "skipped");

    // The counter: 50, kept an hour past its own hour (the TTL).
    let now = limits::now();
    let (count, ttl) = counter(&aws, Counter::Fixes, RULE, now).await.unwrap();
    assert_eq!(count, 50);
    assert_eq!(ttl, limits::expires_at(limits::hour_of(now)));
    // Another rule has its own count; the next hour starts from nothing.
    assert_eq!(o.limits.admit("S3-001", now).await, Ok(Verdict::Go));
    assert_eq!(o.limits.admit(RULE, now + 3600).await, Ok(Verdict::Go));
    // A dry run changes nothing, so it is not held back.
    o.config.rules.insert(RULE.into(), Mode::DryRun);
    let dry = o
        .handle_message(&finding(RULE, "bucket-51").to_string())
        .await;
    assert_ne!(dry.reason_code, Some(ReasonCode::RateLimited), "{dry:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_invocations_never_exceed_the_limit() {
    let emulator = Emulator::start();
    let aws = emulator.sdk_config();
    counters_table(&aws).await;
    function(&emulator, &format!("AutoRemediate{RULE}")).await;
    clear_of_the_hour_boundary(120).await;

    let limit = Limit {
        max_per_hour: 5,
        max_failures_per_hour: 5,
    };
    // Twenty invocations at once, each its own orchestrator (as Lambda runs them).
    emulator.start_recording();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let o = Arc::new(orchestrator(&emulator, Some(limit), false));
            tokio::spawn(async move {
                o.handle_message(&finding(RULE, &format!("bucket-{i}")).to_string())
                    .await
            })
        })
        .collect();
    let mut handled = Vec::new();
    for task in tasks {
        handled.push(task.await.unwrap());
    }
    let fixed = handled
        .iter()
        .filter(|h| h.outcome == Outcome::Remediated)
        .count();
    let limited = handled
        .iter()
        .filter(|h| h.reason_code == Some(ReasonCode::RateLimited))
        .count();
    assert_eq!((fixed, limited), (5, 15), "{handled:?}");
    assert_eq!(invokes(&emulator.recording()), 5);
    let (count, _) = counter(&aws, Counter::Fixes, RULE, limits::now())
        .await
        .unwrap();
    assert_eq!(count, 5, "the counter never passes the limit");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_whose_fixes_keep_failing_opens_its_circuit() {
    let emulator = Emulator::start();
    let aws = emulator.sdk_config();
    counters_table(&aws).await;
    let url = subscribed_queue(&emulator, INBOX_TOPIC).await;
    clear_of_the_hour_boundary(60).await;

    let limit = Limit {
        max_per_hour: 50,
        max_failures_per_hour: 3,
    };
    // Lambda unreachable: every fix fails (GetFunction cannot be called).
    let mut o = orchestrator(&emulator, Some(limit), false);
    o.lambda = aws_sdk_lambda::Client::new(&unreachable(&aws));
    for i in 0..3 {
        let handled = o
            .handle_message(&finding(RULE, &format!("bucket-{i}")).to_string())
            .await;
        assert_eq!(handled.outcome, Outcome::Failed, "{i}: {handled:?}");
        assert!(handled.retry);
        let opened = handled
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("the circuit is open"));
        assert_eq!(opened, i == 2, "{i}: {handled:?}");
    }
    o.config.routes = routes(true);
    let handled = o
        .handle_message(&finding(RULE, "bucket-3").to_string())
        .await;
    assert_eq!(handled.outcome, Outcome::Skipped, "{handled:?}");
    assert_eq!(handled.reason_code, Some(ReasonCode::CircuitOpen));
    assert_eq!(handled.mode, Some(Mode::Notify));
    assert!(!handled.retry, "an open circuit is not retried");
    assert_eq!(
        log_line(&handled, 1).unwrap()["reason_code"],
        "circuit_open"
    );
    assert_eq!(received(&emulator, &url).await.len(), 1);

    let now = limits::now();
    assert_eq!(
        counter(&aws, Counter::Failures, RULE, now)
            .await
            .map(|(n, _)| n),
        Some(3)
    );
    // Three fixes were admitted (and failed); the fourth finding was not counted as a fix.
    assert_eq!(
        counter(&aws, Counter::Fixes, RULE, now)
            .await
            .map(|(n, _)| n),
        Some(3)
    );
    // The hour turns: the breaker closes.
    assert_eq!(o.limits.admit(RULE, now + 3600).await, Ok(Verdict::Go));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_counter_that_cannot_be_used_changes_nothing() {
    let emulator = Emulator::start();
    function(&emulator, &format!("AutoRemediate{RULE}")).await;
    let mut o = orchestrator(&emulator, None, false);
    o.limits = Limits::new(
        &unreachable(&emulator.sdk_config()),
        TABLE.into(),
        Default::default(),
    );
    emulator.start_recording();
    let handled = o
        .handle_message(&finding(RULE, "bucket-0").to_string())
        .await;
    assert_eq!(handled.outcome, Outcome::Failed, "{handled:?}");
    assert!(handled.retry, "retried once the table answers");
    assert!(
        handled
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("nothing was changed")),
        "{handled:?}"
    );
    assert_eq!(invokes(&emulator.recording()), 0);
}

fn config(extra_rules: &str) -> String {
    format!(
        "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\n  - name: prod\n    targets: {{ous: [/Workloads/Prod]}}\n    rules: {{S3-012: {{mode: remediate, max_per_hour: 200}}}}\nrules:\n  S3-012: {{mode: remediate, max_per_hour: 3, max_failures_per_hour: 2}}\n  S3-001: remediate\n{extra_rules}"
    )
}

fn template(work: &Workdir, stage: &str) -> Value {
    let run: support::Run = std::process::Command::new(env!("CARGO_BIN_EXE_remedy"))
        .current_dir(work.path())
        .args(["template", "--stage", stage, "--output", "json"])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

#[test]
fn the_orchestrator_may_only_read_and_update_its_counters() {
    let work = Workdir::new(&config("  EC2-002: {mode: dry-run, max_per_hour: 7}\n"));
    let doc = template(&work, "dev");
    let resources = &doc["Resources"];
    let table = &resources["CountersTable"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    let p = &table["Properties"];
    assert_eq!(p["TableName"]["Fn::Sub"], "${AWS::StackName}-counters");
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["TimeToLiveSpecification"],
        serde_json::json!({"AttributeName": limits::TTL_ATTRIBUTE, "Enabled": true})
    );
    assert_eq!(
        p["KeySchema"],
        serde_json::json!([{"AttributeName": limits::KEY_ATTRIBUTE, "KeyType": "HASH"}])
    );

    let variables = &resources["Orchestrator"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        variables[limits::TABLE_ENV],
        serde_json::json!({"Ref": "CountersTable"})
    );
    // Only what differs from the defaults, and only for remediating rules.
    assert_eq!(variables[limits::LIMITS_ENV], r#"{"S3-012":[3,2]}"#);
    // The stage's own value wins; the top level's other key stays.
    let prod = template(&work, "prod");
    assert_eq!(
        prod["Resources"]["Orchestrator"]["Properties"]["Environment"]["Variables"]
            [limits::LIMITS_ENV],
        r#"{"S3-012":[200,2]}"#
    );
    // Defaults everywhere: no table of limits at all.
    let plain = Workdir::new(
        "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\nrules:\n  S3-012: remediate\n",
    );
    let plain = template(&plain, "dev");
    assert!(
        plain["Resources"]["Orchestrator"]["Properties"]["Environment"]["Variables"]
            .get(limits::LIMITS_ENV)
            .is_none()
    );

    // Least privilege: one statement in one role names DynamoDB: item reads and updates
    // on the stack's own table.
    let dynamodb: Vec<(&String, &Value)> = resources
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role" && r.to_string().contains("dynamodb:"))
        .collect();
    assert_eq!(dynamodb.len(), 1, "{dynamodb:?}");
    assert_eq!(dynamodb[0].0, "OrchestratorRole");
    let statements = dynamodb[0].1["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    let counting: Vec<&Value> = statements
        .iter()
        .filter(|s| s.to_string().contains("dynamodb:"))
        .collect();
    assert_eq!(counting.len(), 1, "{counting:?}");
    assert_eq!(
        counting[0]["Action"],
        serde_json::json!(["dynamodb:GetItem", "dynamodb:UpdateItem"])
    );
    assert_eq!(
        counting[0]["Resource"],
        serde_json::json!({"Fn::GetAtt": ["CountersTable", "Arn"]})
    );
}

/// A deploy makes the table (moto's CloudFormation creates it), and every call the
/// orchestrator makes to it is allowed by the orchestrator's role as rendered, on the
/// table's ARN (tests/it/support/iam.rs: on AWS's terms, which moto does not apply).
#[tokio::test(flavor = "multi_thread")]
async fn the_stack_carries_the_counters_table_and_the_orchestrator_may_use_it() {
    use support::iam::{allows, requests_of, Template};
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 1).await;
    let work = Workdir::new(&config(""));
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    let account = &dev[0];
    let member = emulator.account_config(account, REGION).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&member);
    let table = dynamodb
        .describe_table()
        .table_name(TABLE)
        .send()
        .await
        .expect("the stack's counters table");
    assert_eq!(
        table.table().and_then(|t| t.table_name()),
        Some(TABLE),
        "{table:?}"
    );

    // The orchestrator's calls, made in the member account.
    let orchestrator = Orchestrator {
        limits: Limits::new(
            &member,
            TABLE.into(),
            [(RULE.to_owned(), Limit::default())].into_iter().collect(),
        ),
        ..Orchestrator::new(
            &member,
            RuntimeConfig::default(),
            Place {
                account_id: account.clone(),
                region: REGION.into(),
            },
        )
    };
    emulator.start_recording();
    assert_eq!(
        orchestrator.limits.admit(RULE, limits::now()).await,
        Ok(Verdict::Go)
    );
    assert_eq!(
        orchestrator
            .limits
            .record_failure(RULE, limits::now())
            .await,
        Ok(1)
    );
    let calls: Vec<support::Recorded> = emulator
        .recording()
        .into_iter()
        .filter(|c| c.service == "dynamodb")
        .collect();
    let actions: Vec<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["GetItem", "UpdateItem", "UpdateItem"]);

    let rendered = work.path().join("rendered.yaml");
    let body = std::process::Command::new(env!("CARGO_BIN_EXE_remedy"))
        .current_dir(work.path())
        .args(["template", "--stage", "dev"])
        .output()
        .unwrap()
        .stdout;
    std::fs::write(&rendered, body).unwrap();
    let role = Template::load(
        &rendered,
        &[
            ("AWS::AccountId", account.as_str()),
            ("AWS::Region", REGION),
            ("AWS::StackName", "remedy"),
            ("ArtifactAccountId", MANAGEMENT_ACCOUNT),
            ("ArtifactKey", "packages/0.zip"),
        ],
    )
    .role_statements("OrchestratorRole");
    for call in &calls {
        for request in requests_of(call, account, "remedy") {
            assert!(
                request.resource.ends_with(":table/remedy-counters"),
                "{request:?}"
            );
            allows(&role, &request).unwrap_or_else(|e| panic!("{request:?}: {e}"));
        }
    }
}
