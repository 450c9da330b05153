//! The Lambda, SQS, SNS, Kinesis and API Gateway rules against the emulator: create the
//! violation through the SDK, remediate, read the fixed state back, run again and get
//! `compliant`. Every run is recorded (`support::run_checked`), and each call it made must be
//! among the rule's declared IAM actions.
//!
//! The emulator stores no Lambda tracing mode (UpdateFunctionConfiguration ignores
//! TracingConfig), so Lambda-003 is checked here by what it sent, and its decision by the
//! unit tests in `functions/src/rules/lambda.rs`.

use crate::support;

use aws_sdk_sqs::types::QueueAttributeName;
use remedy_functions::rule::{Outcome, Report};
use serde_json::{json, Value};
use support::{finding, iam_action, run_rule, Emulator, Workdir, MANAGEMENT_ACCOUNT, REGION};

/// Runs the rule through `support::run_checked`: every call it made must be declared.
async fn run_checked(
    emulator: &Emulator,
    rule_id: &str,
    resource: &str,
    settings: &[(&str, &str)],
    dry_run: bool,
) -> Report {
    let f = finding(rule_id, resource);
    support::run_checked(emulator, f, settings, dry_run).await.0
}

/// An account named next to everyone in a policy: it keeps its access.
const PARTNER: &str = "arn:aws:iam::222222222222:root";

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn sids(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or("").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Lambda

async fn function(
    emulator: &Emulator,
    name: &str,
    tags: &[(&str, &str)],
) -> aws_sdk_lambda::Client {
    let config = emulator.sdk_config();
    let iam = aws_sdk_iam::Client::new(&config);
    let role = match iam.get_role().role_name("fn-role").send().await {
        Ok(out) => out.role().unwrap().arn().to_owned(),
        Err(_) => {
            let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
            iam.create_role()
                .role_name("fn-role")
                .assume_role_policy_document(trust)
                .send()
                .await
                .unwrap()
                .role()
                .unwrap()
                .arn()
                .to_owned()
        }
    };
    let work = Workdir::new("");
    let zip = std::fs::read(work.path().join("package.zip")).unwrap();
    let lambda = aws_sdk_lambda::Client::new(&config);
    let mut create = lambda
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(zip.into())
                .build(),
        );
    for (k, v) in tags {
        create = create.tags(*k, *v);
    }
    create.send().await.unwrap();
    lambda
}

async fn function_policy(lambda: &aws_sdk_lambda::Client, name: &str) -> Value {
    parse(
        lambda
            .get_policy()
            .function_name(name)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_permissions_open_to_everyone_are_removed_by_statement_id() {
    let emulator = Emulator::start();
    let lambda = function(&emulator, "exposed", &[]).await;
    let permission = |sid: &str, principal: &str| {
        lambda
            .add_permission()
            .function_name("exposed")
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal(principal)
    };
    permission("Everyone", "*").send().await.unwrap();
    permission("FromBucket", "*")
        .source_arn("arn:aws:s3:::my-bucket")
        .send()
        .await
        .unwrap();
    permission("S3", "s3.amazonaws.com")
        .source_account(MANAGEMENT_ACCOUNT)
        .send()
        .await
        .unwrap();
    permission("EveryoneAgain", "*").send().await.unwrap();
    let all = ["Everyone", "FromBucket", "S3", "EveryoneAgain"];

    let report = run_checked(&emulator, "Lambda-004", "exposed", &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(
        sids(&function_policy(&lambda, "exposed").await),
        all,
        "dry-run changes nothing"
    );

    let report = run_checked(&emulator, "Lambda-004", "exposed", &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(report.actions.len(), 2, "{report:?}");
    assert!(report.actions[0].contains("Everyone"), "{report:?}");
    assert_eq!(
        sids(&function_policy(&lambda, "exposed").await),
        ["FromBucket", "S3"],
        "scoped statements are kept"
    );
    let report = run_checked(&emulator, "Lambda-004", "exposed", &[], false).await;
    assert_eq!(report.outcome, Outcome::Compliant, "{report:?}");

    // No policy at all: compliant.
    function(&emulator, "private", &[]).await;
    assert_eq!(
        run_checked(&emulator, "Lambda-004", "private", &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_tracing_is_turned_on_with_one_update_and_no_waiting() {
    let emulator = Emulator::start();
    let lambda = function(&emulator, "untraced", &[]).await;

    let report = run_checked(&emulator, "Lambda-003", "untraced", &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");

    emulator.start_recording();
    let started = std::time::Instant::now();
    let report = run_rule(&emulator, finding("Lambda-003", "untraced"), &[], false).await;
    let elapsed = started.elapsed();
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(report.actions[0].contains("Active"), "{report:?}");
    let calls: Vec<String> = emulator.recording().iter().map(iam_action).collect();
    assert_eq!(
        calls,
        [
            "lambda:GetFunctionConfiguration",
            "lambda:ListTags",
            "lambda:UpdateFunctionConfiguration"
        ],
        "one read, one update, no polling"
    );
    assert!(
        elapsed < std::time::Duration::from_secs(10),
        "no waiting: {elapsed:?}"
    );
    // What was sent (the emulator does not store the tracing mode).
    let recorded = emulator.get("/moto-api/recorder/download-recording");
    let update = serde_json::Deserializer::from_str(&recorded)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .find(|r| r["method"] == "PUT")
        .unwrap();
    let body = update["body"].as_str().unwrap();
    let body = if update["body_encoded"] == true {
        use base64::Engine;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
        )
        .unwrap()
    } else {
        body.to_owned()
    };
    assert_eq!(parse(&body), json!({"TracingConfig": {"Mode": "Active"}}));
    let config = lambda
        .get_function_configuration()
        .function_name("untraced")
        .send()
        .await
        .unwrap();
    assert_eq!(
        config.function_name(),
        Some("untraced"),
        "the function is still there"
    );
}

/// A function a user labelled `remedy:managed` is not remedy's (only its stack's functions
/// are, by CloudFormation's tags: `tests/it/own_resources.rs`): it is fixed.
#[tokio::test(flavor = "multi_thread")]
async fn functions_labelled_remedy_managed_are_not_left_alone() {
    let emulator = Emulator::start();
    let lambda = function(
        &emulator,
        "AutoRemediateS3-001",
        &[("remedy:managed", "true")],
    )
    .await;
    lambda
        .add_permission()
        .function_name("AutoRemediateS3-001")
        .statement_id("Everyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    for rule in ["Lambda-003", "Lambda-004"] {
        let report = run_checked(&emulator, rule, "AutoRemediateS3-001", &[], false).await;
        assert_eq!(report.outcome, Outcome::Remediated, "{rule}: {report:?}");
    }
    // Its only statement removed, the function has no policy left.
    let policy = lambda
        .get_policy()
        .function_name("AutoRemediateS3-001")
        .send()
        .await;
    let policy = policy.map(|p| p.policy().unwrap_or_default().to_owned());
    assert!(
        !policy.unwrap_or_default().contains("Everyone"),
        "the open statement is gone"
    );
}

// ---------------------------------------------------------------------------------------
// SQS

async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, &str)],
) -> String {
    let mut create = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        create = create.attributes(k.clone(), *v);
    }
    create.send().await.unwrap().queue_url().unwrap().to_owned()
}

async fn queue_attribute(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    name: QueueAttributeName,
) -> Option<String> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .unwrap();
    out.attributes().and_then(|a| a.get(&name)).cloned()
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_policy_statements_open_to_everyone_are_removed() {
    let emulator = Emulator::start();
    let sqs = aws_sdk_sqs::Client::new(&emulator.sdk_config());
    let arn = format!("arn:aws:sqs:{REGION}:{MANAGEMENT_ACCOUNT}:exposed-queue");
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn},
        {"Sid": "FromTopic", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
         "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": format!("arn:aws:sns:{REGION}:{MANAGEMENT_ACCOUNT}:t")}}},
        {"Sid": "AnyoneFromTopic", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
         "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": format!("arn:aws:sns:{REGION}:{MANAGEMENT_ACCOUNT}:t")}}},
        {"Sid": "PartnerAndEveryone", "Effect": "Allow", "Principal": {"AWS": [PARTNER, "*"]},
         "Action": "sqs:SendMessage", "Resource": arn}
    ]});
    let url = queue(
        &sqs,
        "exposed-queue",
        &[(QueueAttributeName::Policy, &policy.to_string())],
    )
    .await;

    // By name (GetQueueUrl), dry-run first.
    let report = run_checked(&emulator, "SQS-001", "exposed-queue", &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    let current = parse(
        &queue_attribute(&sqs, &url, QueueAttributeName::Policy)
            .await
            .unwrap(),
    );
    assert_eq!(
        sids(&current),
        [
            "Everyone",
            "FromTopic",
            "AnyoneFromTopic",
            "PartnerAndEveryone"
        ]
    );

    let report = run_checked(&emulator, "SQS-001", "exposed-queue", &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let after = parse(
        &queue_attribute(&sqs, &url, QueueAttributeName::Policy)
            .await
            .unwrap(),
    );
    assert_eq!(report.actions.len(), 2, "{report:?}");
    assert_eq!(
        sids(&after),
        ["FromTopic", "AnyoneFromTopic", "PartnerAndEveryone"]
    );
    assert_eq!(
        after["Statement"][1], policy["Statement"][2],
        "kept as it was"
    );
    assert_eq!(
        after["Statement"][2]["Principal"],
        json!({"AWS": [PARTNER]}),
        "only everyone is taken out: the named account keeps its access"
    );
    assert_eq!(
        run_checked(&emulator, "SQS-001", "exposed-queue", &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // By URL; nothing left: the policy is deleted.
    let only_open = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:*"}});
    let url = queue(
        &sqs,
        "wide-open",
        &[(QueueAttributeName::Policy, &only_open.to_string())],
    )
    .await;
    let report = run_checked(&emulator, "SQS-001", &url, &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        report.actions.iter().any(|a| a.contains("deleted")),
        "{report:?}"
    );
    assert_eq!(
        queue_attribute(&sqs, &url, QueueAttributeName::Policy)
            .await
            .filter(|p| !p.is_empty()),
        None
    );
    assert_eq!(
        run_checked(&emulator, "SQS-001", &url, &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_queues_are_encrypted_unless_they_are_already() {
    let emulator = Emulator::start();
    let sqs = aws_sdk_sqs::Client::new(&emulator.sdk_config());
    let plain = queue(
        &sqs,
        "plain",
        &[(QueueAttributeName::SqsManagedSseEnabled, "false")],
    )
    .await;

    assert_eq!(
        run_checked(&emulator, "SQS-004", "plain", &[], true)
            .await
            .outcome,
        Outcome::DryRun
    );
    assert_eq!(
        queue_attribute(&sqs, &plain, QueueAttributeName::KmsMasterKeyId).await,
        None
    );

    // By default: SQS-managed encryption (SSE-SQS), which SNS, S3 and EventBridge can
    // deliver to; no KMS key.
    let report = run_checked(&emulator, "SQS-004", "plain", &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(report.actions[0].contains("SSE-SQS"), "{report:?}");
    assert_eq!(
        queue_attribute(&sqs, &plain, QueueAttributeName::SqsManagedSseEnabled)
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        queue_attribute(&sqs, &plain, QueueAttributeName::KmsMasterKeyId)
            .await
            .filter(|k| !k.is_empty()),
        None
    );
    assert_eq!(
        run_checked(&emulator, "SQS-004", "plain", &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // The configured key.
    let other = queue(
        &sqs,
        "other",
        &[(QueueAttributeName::SqsManagedSseEnabled, "false")],
    )
    .await;
    let settings = [("kms_key_id", "alias/queues")];
    assert_eq!(
        run_checked(&emulator, "SQS-004", &other, &settings, false)
            .await
            .outcome,
        Outcome::Remediated
    );
    assert_eq!(
        queue_attribute(&sqs, &other, QueueAttributeName::KmsMasterKeyId)
            .await
            .as_deref(),
        Some("alias/queues")
    );

    // SQS-managed encryption (SSE-SQS) is encryption: left as it is.
    let managed = queue(
        &sqs,
        "sse-sqs",
        &[(QueueAttributeName::SqsManagedSseEnabled, "true")],
    )
    .await;
    let report = run_checked(&emulator, "SQS-004", "sse-sqs", &[], false).await;
    assert_eq!(report.outcome, Outcome::Compliant, "{report:?}");
    assert_eq!(
        queue_attribute(&sqs, &managed, QueueAttributeName::KmsMasterKeyId).await,
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn remedys_own_queues_and_missing_queues() {
    let emulator = Emulator::start();
    let sqs = aws_sdk_sqs::Client::new(&emulator.sdk_config());
    let url = queue(
        &sqs,
        "remedy-dlq",
        &[(QueueAttributeName::SqsManagedSseEnabled, "false")],
    )
    .await;
    sqs.tag_queue()
        .queue_url(&url)
        .tags("remedy:managed", "true")
        .send()
        .await
        .unwrap();
    // A label anyone can set: the queue is not remedy's (tests/it/own_resources.rs has those).
    assert_eq!(
        run_checked(&emulator, "SQS-004", "remedy-dlq", &[], false)
            .await
            .outcome,
        Outcome::Remediated
    );

    let report = run_checked(&emulator, "SQS-001", "no-such-queue", &[], false).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .starts_with("GetQueueUrl:"),
        "{report:?}"
    );
}

// ---------------------------------------------------------------------------------------
// SNS

async fn topic_policy(sns: &aws_sdk_sns::Client, arn: &str) -> Value {
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .unwrap();
    parse(attributes.attributes().unwrap().get("Policy").unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn sns_policy_statements_open_to_everyone_are_removed() {
    let emulator = Emulator::start();
    let sns = aws_sdk_sns::Client::new(&emulator.sdk_config());
    let arn = sns
        .create_topic()
        .name("exampleTopic")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let mut policy = topic_policy(&sns, &arn).await;
    let default_statement = policy["Statement"][0].clone();
    assert_eq!(
        default_statement["Condition"]["StringEquals"]["AWS:SourceOwner"],
        MANAGEMENT_ACCOUNT
    );
    policy["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["SNS:Publish", "SNS:Subscribe", "SNS:Receive"], "Resource": arn
    }));
    policy["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "FromBucket", "Effect": "Allow", "Principal": "*", "Action": "SNS:Publish", "Resource": arn,
        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::my-bucket"}}
    }));
    policy["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "PartnerAndEveryone", "Effect": "Allow", "Principal": {"AWS": [PARTNER, "*"]},
        "Action": "SNS:Subscribe", "Resource": arn
    }));
    sns.set_topic_attributes()
        .topic_arn(&arn)
        .attribute_name("Policy")
        .attribute_value(policy.to_string())
        .send()
        .await
        .unwrap();

    // The sample finding's shape: the topic's name.
    let report = run_checked(&emulator, "SNS-001", "exampleTopic", &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(
        topic_policy(&sns, &arn).await,
        policy,
        "dry-run changes nothing"
    );

    let report = run_checked(&emulator, "SNS-001", "exampleTopic", &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(report.actions.len(), 2, "{report:?}");
    let after = topic_policy(&sns, &arn).await;
    assert_eq!(
        sids(&after),
        ["__default_statement_ID", "FromBucket", "PartnerAndEveryone"]
    );
    assert_eq!(
        after["Statement"][2]["Principal"],
        json!({"AWS": [PARTNER]}),
        "only everyone is taken out: the named account keeps its access"
    );
    assert_eq!(
        after["Statement"][0], default_statement,
        "the owner-only statement is kept as it was"
    );
    assert_eq!(
        run_checked(&emulator, "SNS-001", "exampleTopic", &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sns_topic_left_without_statements_gets_the_default_policy() {
    let emulator = Emulator::start();
    let sns = aws_sdk_sns::Client::new(&emulator.sdk_config());
    let arn = sns
        .create_topic()
        .name("open-topic")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let open = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "SNS:Publish", "Resource": arn}
    ]});
    sns.set_topic_attributes()
        .topic_arn(&arn)
        .attribute_name("Policy")
        .attribute_value(open.to_string())
        .send()
        .await
        .unwrap();

    // By ARN.
    let report = run_checked(&emulator, "SNS-001", &arn, &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(report.actions[0].contains("#0"), "{report:?}");
    let after = topic_policy(&sns, &arn).await;
    assert_eq!(sids(&after), ["__default_statement_ID"]);
    assert_eq!(
        after["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceOwner"],
        MANAGEMENT_ACCOUNT
    );
    assert_eq!(
        run_checked(&emulator, "SNS-001", &arn, &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // Labelled remedy:managed by anyone: fixed all the same.
    let own = sns
        .create_topic()
        .name("remedy-findings")
        .tags(
            aws_sdk_sns::types::Tag::builder()
                .key("remedy:managed")
                .value("true")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let own = own.topic_arn().unwrap();
    sns.set_topic_attributes()
        .topic_arn(own)
        .attribute_name("Policy")
        .attribute_value(open.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        run_checked(&emulator, "SNS-001", "remedy-findings", &[], false)
            .await
            .outcome,
        Outcome::Remediated
    );
    assert_ne!(topic_policy(&sns, own).await, open);
}

// ---------------------------------------------------------------------------------------
// Kinesis

#[tokio::test(flavor = "multi_thread")]
async fn kinesis_streams_are_encrypted() {
    let emulator = Emulator::start();
    let kinesis = aws_sdk_kinesis::Client::new(&emulator.sdk_config());
    kinesis
        .create_stream()
        .stream_name("clicks")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let encryption = |kinesis: aws_sdk_kinesis::Client, name: &'static str| async move {
        let out = kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        let summary = out.stream_description_summary().unwrap();
        (
            summary.encryption_type().map(|e| e.as_str().to_owned()),
            summary.key_id().map(str::to_owned),
        )
    };

    assert_eq!(
        run_checked(&emulator, "Kinesis-001", "clicks", &[], true)
            .await
            .outcome,
        Outcome::DryRun
    );
    assert_eq!(
        encryption(kinesis.clone(), "clicks").await,
        (Some("NONE".to_owned()), None)
    );

    let report = run_checked(&emulator, "Kinesis-001", "clicks", &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        encryption(kinesis.clone(), "clicks").await,
        (Some("KMS".to_owned()), Some("alias/aws/kinesis".to_owned()))
    );
    assert_eq!(
        run_checked(&emulator, "Kinesis-001", "clicks", &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // By ARN, with the configured key.
    let arn = format!("arn:aws:kinesis:{REGION}:{MANAGEMENT_ACCOUNT}:stream/views");
    kinesis
        .create_stream()
        .stream_name("views")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let settings = [("kms_key_id", "alias/streams")];
    assert_eq!(
        run_checked(&emulator, "Kinesis-001", &arn, &settings, false)
            .await
            .outcome,
        Outcome::Remediated
    );
    assert_eq!(
        encryption(kinesis.clone(), "views").await.1.as_deref(),
        Some("alias/streams")
    );

    // Labelled remedy:managed (beyond the first page of tags): fixed all the same.
    kinesis
        .create_stream()
        .stream_name("own")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let mut tag = kinesis
        .add_tags_to_stream()
        .stream_name("own")
        .tags("remedy:managed", "true");
    for i in 0..12 {
        tag = tag.tags(format!("a{i:02}"), "x");
    }
    tag.send().await.unwrap();
    assert_eq!(
        run_checked(&emulator, "Kinesis-001", "own", &[], false)
            .await
            .outcome,
        Outcome::Remediated
    );
    assert_eq!(encryption(kinesis, "own").await.0.as_deref(), Some("KMS"));
}

// ---------------------------------------------------------------------------------------
// API Gateway

#[tokio::test(flavor = "multi_thread")]
async fn public_rest_apis_are_made_private() {
    let emulator = Emulator::start();
    let apigateway = aws_sdk_apigateway::Client::new(&emulator.sdk_config());
    let types = |apigateway: aws_sdk_apigateway::Client, id: String| async move {
        let api = apigateway
            .get_rest_api()
            .rest_api_id(id)
            .send()
            .await
            .unwrap();
        api.endpoint_configuration()
            .unwrap()
            .types()
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    // EDGE is the default endpoint type.
    let edge = apigateway
        .create_rest_api()
        .name("edge")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    let regional = apigateway
        .create_rest_api()
        .name("regional")
        .endpoint_configuration(
            aws_sdk_apigateway::types::EndpointConfiguration::builder()
                .types(aws_sdk_apigateway::types::EndpointType::Regional)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_owned();

    // AG-005's default mode is dry-run.
    let spec = remedy_functions::find_rule("AG-005").unwrap();
    assert_eq!(spec.default_mode, remedy_functions::Mode::DryRun);
    let report = run_checked(&emulator, "AG-005", &edge, &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert!(
        report.actions[0].contains("from EDGE to PRIVATE"),
        "{report:?}"
    );
    assert_eq!(types(apigateway.clone(), edge.clone()).await, ["EDGE"]);

    for (id, from) in [(&edge, "EDGE"), (&regional, "REGIONAL")] {
        let report = run_checked(&emulator, "AG-005", id, &[], false).await;
        assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
        assert!(report.actions[0].contains(from), "{report:?}");
        assert_eq!(types(apigateway.clone(), id.clone()).await, ["PRIVATE"]);
        assert_eq!(
            run_checked(&emulator, "AG-005", id, &[], false)
                .await
                .outcome,
            Outcome::Compliant
        );
    }

    let own = apigateway
        .create_rest_api()
        .name("remedy")
        .tags("remedy:managed", "true")
        .send()
        .await
        .unwrap();
    let own = own.id().unwrap().to_owned();
    // A label anyone can set: fixed all the same.
    assert_eq!(
        run_checked(&emulator, "AG-005", &own, &[], false)
            .await
            .outcome,
        Outcome::Remediated
    );
    assert_ne!(types(apigateway, own).await, ["EDGE"]);
}
