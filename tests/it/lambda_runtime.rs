//! The Lambda entry point: the built `remedy` binary, started the way Lambda starts a
//! `bootstrap`, against a small in-test server speaking the documented Runtime API
//! (`/2018-06-01/runtime/invocation/next`, `…/{id}/response`, `…/{id}/error`): a rule
//! function, and the orchestrator of a deployed stack with the environment CloudFormation
//! gave it, handed one SQS batch of findings for the regions it covers and one it does not.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{finding, remedy, Emulator, Org, Workdir, MANAGEMENT_ACCOUNT, REGION};

/// One request the function sent to the Runtime API.
#[derive(Debug)]
struct Call {
    method: String,
    path: String,
    body: String,
}

/// Serves `events` in order on `next`, reports every call on the channel, and leaves the
/// last `next` unanswered (the function then waits, as it would in Lambda).
fn runtime_api(events: Vec<String>, function_arn: String) -> (String, mpsc::Receiver<Call>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut events = events.into_iter().enumerate();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            // One connection may carry many requests (keep-alive).
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream: TcpStream = stream;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut parts = line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or("").to_owned(),
                    parts.next().unwrap_or("").to_owned(),
                );
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let body = String::from_utf8_lossy(&body).into_owned();
                let _ = tx.send(Call {
                    method: method.clone(),
                    path: path.clone(),
                    body,
                });
                if path.ends_with("/invocation/next") {
                    let Some((i, event)) = events.next() else {
                        std::thread::sleep(Duration::from_secs(600));
                        return;
                    };
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis()
                        + 300_000; // the orchestrator's timeout: room for a rule (60 s)
                    write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: request-{i}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: {function_arn}\r\nLambda-Runtime-Trace-Id: Root=1-0-0\r\nContent-Length: {}\r\n\r\n{event}",
                        event.len()
                    )
                    .unwrap();
                } else {
                    let accepted = r#"{"status":"OK"}"#;
                    write!(stream, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{accepted}", accepted.len()).unwrap();
                }
            }
        }
    });
    (address, rx)
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn next_call(rx: &mpsc::Receiver<Call>) -> Call {
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the function called the Runtime API")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_function_answers_through_the_runtime_api() {
    let emulator = Emulator::start();
    let s3 = remedy::aws::identity::s3_client(&emulator.sdk_config(), REGION, &Default::default());
    s3.create_bucket().bucket("exposed").send().await.unwrap();

    let events = vec![
        finding("S3-026", "exposed").to_string(),
        finding("S3-026", "no-such-bucket").to_string(),
    ];
    let (address, calls) = runtime_api(
        events,
        format!("arn:aws:lambda:{REGION}:{MANAGEMENT_ACCOUNT}:function:AutoRemediateS3-026"),
    );
    let (key, secret) = emulator.keys();
    let _function = Killed(
        Command::new(env!("CARGO_BIN_EXE_remedy"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "AutoRemediateS3-026")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/AutoRemediateS3-026",
            )
            .env("REMEDY_MODE", "remediate")
            .env("AWS_REGION", REGION)
            .env("AWS_ENDPOINT_URL", &emulator.endpoint)
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let first = next_call(&calls);
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("GET", "/2018-06-01/runtime/invocation/next")
    );
    let answer = next_call(&calls);
    assert_eq!(
        answer.path, "/2018-06-01/runtime/invocation/request-0/response",
        "{answer:?}"
    );
    let report: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(report["outcome"], "remediated", "{report}");
    assert!(
        report["actions"][0]
            .as_str()
            .unwrap()
            .contains("public access block"),
        "{report}"
    );
    let block = s3
        .get_public_access_block()
        .bucket("exposed")
        .send()
        .await
        .unwrap();
    assert_eq!(
        block
            .public_access_block_configuration()
            .and_then(|c| c.block_public_policy()),
        Some(true)
    );

    // A rule that fails answers on /error, so the invoke carries a FunctionError.
    assert!(next_call(&calls).path.ends_with("/invocation/next"));
    let failure = next_call(&calls);
    assert_eq!(
        failure.path, "/2018-06-01/runtime/invocation/request-1/error",
        "{failure:?}"
    );
    assert!(failure.body.contains("NoSuchBucket"), "{}", failure.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deployed_orchestrator_acts_for_every_covered_region_and_counts_the_rest() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let work = Workdir::new(
        "regions: [us-east-1, eu-west-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-026: remediate\n",
    );
    let deployed = remedy(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes"],
    );
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);

    // The orchestrator's environment, as CloudFormation set it in the home region.
    let config = emulator.account_config(&account, REGION).await;
    let function = aws_sdk_lambda::Client::new(&config)
        .get_function_configuration()
        .function_name("AutoRemediateOrchestrator")
        .send()
        .await
        .unwrap();
    let variables = function
        .environment()
        .and_then(|e| e.variables())
        .unwrap()
        .clone();
    assert_eq!(variables["REMEDY_REGIONS"], "us-east-1,eu-west-1");

    // One SQS batch: a finding in each covered region, and one in a region not covered.
    let in_region = |bucket: &str, region: &str| {
        let mut f = finding("S3-026", bucket);
        f["region"] = region.into();
        f.to_string()
    };
    let record = |id: &str, body: String| serde_json::json!({"messageId": id, "eventSource": "aws:sqs", "awsRegion": REGION, "body": body});
    let batch = serde_json::json!({"Records": [
        record("home", in_region("in-home", "us-east-1")),
        record("second", in_region("in-second", "eu-west-1")),
        record("uncovered", in_region("in-mumbai", "ap-south-1")),
    ]});
    let (address, calls) = runtime_api(
        vec![batch.to_string()],
        format!("arn:aws:lambda:{REGION}:{account}:function:AutoRemediateOrchestrator"),
    );
    // The member account's own credentials, as the function's role would give them.
    let assumed = aws_sdk_sts::Client::new(&emulator.sdk_config())
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/CloudConformity"))
        .role_session_name("orchestrator")
        .send()
        .await
        .unwrap();
    let creds = assumed.credentials().unwrap().clone();
    emulator.start_recording();
    let mut command = Command::new(env!("CARGO_BIN_EXE_remedy"));
    command
        .env_clear()
        .envs(&variables)
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "AutoRemediateOrchestrator")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/AutoRemediateOrchestrator",
        )
        .env("AWS_REGION", REGION)
        .env("AWS_ENDPOINT_URL", &emulator.endpoint)
        .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .env("AWS_SESSION_TOKEN", creds.session_token())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut orchestrator = Killed(command.spawn().unwrap());

    assert!(next_call(&calls).path.ends_with("/invocation/next"));
    let answer = next_call(&calls);
    assert_eq!(
        answer.path, "/2018-06-01/runtime/invocation/request-0/response",
        "{answer:?}"
    );
    let response: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(
        response,
        serde_json::json!({"batchItemFailures": []}),
        "no batch failure: the uncovered finding is rejected, not retried"
    );

    // AutoRemediateS3-026 invoked for both covered regions, in the home region's Lambda.
    let invokes: Vec<String> = emulator
        .recording()
        .iter()
        .filter(|r| r.action.contains("AutoRemediateS3-026/invocations"))
        .map(|r| r.region.clone())
        .collect();
    assert_eq!(invokes, ["us-east-1", "us-east-1"], "{invokes:?}");
    let invoked: Vec<String> = emulator
        .recording()
        .iter()
        .filter(|r| r.action.contains("AutoRemediateS3-026/invocations"))
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["region"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        invoked,
        ["us-east-1", "eu-west-1"],
        "each finding handed on as it came"
    );

    // The log: one line per finding; the rejection names the region and the covered list,
    // and is counted as a metric (CloudWatch Embedded Metric Format).
    let _ = orchestrator.0.kill();
    let mut stdout = String::new();
    orchestrator
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| l.get("_aws").is_some())
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let rejected = lines
        .iter()
        .find(|l| l["reason_code"] == "outside_regions")
        .unwrap_or_else(|| panic!("a rejection: {stdout}"));
    assert_eq!(rejected["outcome"], "rejected");
    let reason = rejected["reason"].as_str().unwrap();
    assert!(
        reason.contains("ap-south-1") && reason.contains("us-east-1, eu-west-1"),
        "{reason}"
    );
    assert_eq!(rejected["findings"], 1);
    let metrics = &rejected["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(metrics["Namespace"], "remedy");
    assert_eq!(metrics["Metrics"][0]["Name"], "findings");
    assert_eq!(
        metrics["Dimensions"][0],
        serde_json::json!(["rule", "outcome"])
    );
}
