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
    let events = std::sync::Arc::new(std::sync::Mutex::new(events.into_iter().enumerate()));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (tx, events, function_arn) = (tx.clone(), events.clone(), function_arn.clone());
            // Each connection on its own thread: the client may open a new one while an
            // idle keep-alive connection is still open, and one carries many requests.
            std::thread::spawn(move || {
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
                        let next = events.lock().unwrap().next();
                        let Some((i, event)) = next else {
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
            });
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

/// The rule function `name`, in remediate mode with the security account's credentials, as
/// Lambda starts it, served `events` by an in-test Runtime API: the process (killed on
/// drop) and the calls it makes to the API.
fn rule_function(
    emulator: &Emulator,
    name: &str,
    events: Vec<String>,
) -> (Killed, mpsc::Receiver<Call>) {
    let (address, calls) = runtime_api(
        events,
        format!("arn:aws:lambda:{REGION}:{MANAGEMENT_ACCOUNT}:function:{name}"),
    );
    let (key, secret) = emulator.keys();
    let function = Killed(
        lambda_process(&emulator.endpoint, name, &address)
            .env("REMEDY_MODE", "remediate")
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (function, calls)
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
    let (_function, calls) = rule_function(&emulator, "AutoRemediateS3-026", events);

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
    assert_eq!(
        report["changes"],
        serde_json::json!([{"api": "s3:PutPublicAccessBlock", "target": "exposed"}]),
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

/// `remedy undo`'s request, as the rule's own function gets it: S3-001's function removes a
/// grant (its report says which), then puts back exactly that grant when asked, and refuses
/// what its rule never removes.
#[tokio::test(flavor = "multi_thread")]
async fn a_rule_function_puts_back_what_its_rule_removed() {
    let emulator = Emulator::start();
    let s3 = remedy::aws::identity::s3_client(&emulator.sdk_config(), REGION, &Default::default());
    s3.create_bucket().bucket("exposed").send().await.unwrap();
    let read = aws_sdk_s3::types::Permission::Read;
    support::add_group_grant(&s3, "exposed", support::ALL_USERS, read).await;
    let removed = serde_json::json!({"kind": "acl_grant", "bucket": "exposed",
        "grantee": support::ALL_USERS, "permission": "READ"});
    let events = vec![
        finding("S3-001", "exposed").to_string(),
        serde_json::json!({"remedy_undo": {"record_id": "00000000000000b1", "rule_id": "S3-001",
            "region": REGION, "removed": [removed]}})
        .to_string(),
        serde_json::json!({"remedy_undo": {"record_id": "00000000000000b2", "rule_id": "S3-001",
            "region": REGION, "removed": [{"kind": "public_access_block", "bucket": "exposed", "previous": null}]}})
        .to_string(),
    ];
    let (_function, calls) = rule_function(&emulator, "AutoRemediateS3-001", events);
    let public = || async {
        let acl = s3.get_bucket_acl().bucket("exposed").send().await.unwrap();
        acl.grants()
            .iter()
            .any(|g| g.grantee().and_then(|g| g.uri()) == Some(support::ALL_USERS))
    };
    let answer = |i: usize| {
        assert!(next_call(&calls).path.ends_with("/invocation/next"));
        let call = next_call(&calls);
        assert_eq!(
            call.path,
            format!("/2018-06-01/runtime/invocation/request-{i}/response"),
            "{call:?}"
        );
        serde_json::from_str::<serde_json::Value>(&call.body).unwrap()
    };
    let fixed = answer(0);
    assert_eq!(fixed["outcome"], "remediated", "{fixed}");
    assert_eq!(fixed["removed"], serde_json::json!([removed]), "{fixed}");
    assert!(!public().await);
    let undone = answer(1);
    assert_eq!(undone["outcome"], "restored", "{undone}");
    assert!(public().await, "the grant is back");
    let foreign = answer(2);
    assert_eq!(foreign["outcome"], "refused", "{foreign}");
    assert!(
        foreign["reason"]
            .as_str()
            .unwrap()
            .contains("S3-001 never removes"),
        "{foreign}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deployed_orchestrator_acts_for_every_covered_region_and_counts_the_rest() {
    let emulator = Emulator::start();
    let account = deployed_account(
        &emulator,
        "regions: [us-east-1, eu-west-1]\nrules:\n  S3-026: remediate\n",
    )
    .await;

    let variables = orchestrator_environment(&emulator, &account).await;
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
    let creds = member_credentials(&emulator, &account).await;
    emulator.start_recording();
    let mut orchestrator = start_orchestrator(&emulator, &variables, &creds, &address);

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

    // Every line is a ledger record (docs/ledger.md, version 1), and holds no credential.
    for line in &lines {
        check_ledger_record(line);
        assert_eq!(line["account_id"], account.as_str(), "{line}");
    }
    let regions: Vec<&str> = lines.iter().filter_map(|l| l["region"].as_str()).collect();
    assert_eq!(regions.len(), 3, "each finding's region: {stdout}");
    for secret in [creds.secret_access_key(), creds.session_token()] {
        assert!(!stdout.contains(secret), "a credential in the log");
    }
}

/// Whether a field's value has its documented type.
type Check = fn(&serde_json::Value) -> bool;

/// The ledger record's documented shape (docs/ledger.md): every field present with its JSON
/// type, nothing else; the EMF block as CloudWatch reads it.
fn check_ledger_record(line: &serde_json::Value) {
    use serde_json::Value;
    let fields = line.as_object().unwrap_or_else(|| panic!("{line}"));
    let checks: [(&str, Check); 22] = [
        ("ledger", |v| v == 1),
        ("at", |v| {
            v.as_str().is_some_and(|t| {
                t.len() == 24 && t.ends_with('Z') && &t[10..11] == "T" && &t[19..20] == "."
            })
        }),
        ("remedy_version", |v| {
            v.as_str() == Some(env!("CARGO_PKG_VERSION"))
        }),
        ("account_id", |v| {
            v.as_str()
                .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        }),
        ("region", |v| v.is_string() || v.is_null()),
        ("finding_id", |v| v.is_string() || v.is_null()),
        ("rule_id", |v| v.is_string() || v.is_null()),
        ("rule", Value::is_string),
        ("resource", |v| v.is_string() || v.is_null()),
        ("mode", |v| {
            v.is_null() || ["remediate", "dry-run", "notify"].contains(&v.as_str().unwrap_or(""))
        }),
        ("outcome", |v| {
            [
                "remediated",
                "compliant",
                "dry_run",
                "skipped",
                "unsupported",
                "rejected",
                "failed",
            ]
            .contains(&v.as_str().unwrap_or(""))
        }),
        ("reason", |v| v.is_string() || v.is_null()),
        ("reason_code", |v| v.is_string() || v.is_null()),
        ("exception", |v| v.is_string() || v.is_null()),
        ("actions", |v| {
            v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        }),
        ("notified", |v| {
            v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        }),
        ("duration_ms", Value::is_u64),
        ("record_id", |v| {
            v.as_str()
                .is_some_and(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        }),
        // What a reversible rule removed: each one of remedy's kinds (docs/ledger.md).
        ("removed", |v| {
            v.as_array().is_some_and(|a| {
                a.iter().all(|r| {
                    serde_json::from_value::<remedy_functions::undo::Removed>(r.clone()).is_ok()
                })
            })
        }),
        // Each AWS call that changed something: exactly `api` and `target`, both strings.
        ("changes", |v| {
            v.as_array().is_some_and(|a| {
                a.iter().all(|c| {
                    c.as_object().is_some_and(|o| {
                        o.len() == 2 && o["api"].is_string() && o["target"].is_string()
                    })
                })
            })
        }),
        ("findings", |v| v == 1),
        ("_aws", |v| {
            v["Timestamp"].is_u64()
                && v["CloudWatchMetrics"][0]["Namespace"] == "remedy"
                && v["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == "findings"
        }),
    ];
    for (name, valid) in checks {
        let value = fields
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing in {line}"));
        assert!(valid(value), "{name}: {value} in {line}");
    }
    // Nothing beyond the documented fields (a new one is documented first).
    for name in fields.keys() {
        assert!(
            checks.iter().any(|(n, _)| n == name),
            "{name} is not in docs/ledger.md: {line}"
        );
    }
}

/// The `remedy` binary started as Lambda starts the function `name`'s `bootstrap`: the
/// Runtime API at `address`, the function's name and the region; no other environment
/// (credentials and configuration are the caller's to add). Its stderr is discarded.
fn lambda_process(endpoint: &str, name: &str, address: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_remedy"));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_REGION", REGION)
        .env("AWS_ENDPOINT_URL", endpoint)
        .stderr(Stdio::null());
    command
}

/// One member account (OU /Workloads/Dev) with remedy deployed by `remedy deploy --stage dev`
/// from a configuration of `rest` (its rules, regions, …) and a one-stage layout.
async fn deployed_account(emulator: &Emulator, rest: &str) -> String {
    let mut org = Org::create(emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let work = Workdir::new(&format!(
        "package: package.zip\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\n{rest}"
    ));
    let deployed = remedy(
        emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes"],
    );
    assert_eq!(deployed.code, 0, "{}", deployed.stderr);
    account
}

/// The orchestrator's environment, as CloudFormation set it in the account's home region.
async fn orchestrator_environment(
    emulator: &Emulator,
    account: &str,
) -> std::collections::HashMap<String, String> {
    let config = emulator.account_config(account, REGION).await;
    aws_sdk_lambda::Client::new(&config)
        .get_function_configuration()
        .function_name("AutoRemediateOrchestrator")
        .send()
        .await
        .unwrap()
        .environment()
        .and_then(|e| e.variables())
        .unwrap()
        .clone()
}

/// The member account's own credentials, as the function's role would give them.
async fn member_credentials(emulator: &Emulator, account: &str) -> aws_sdk_sts::types::Credentials {
    let assumed = aws_sdk_sts::Client::new(&emulator.sdk_config())
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/CloudConformity"))
        .role_session_name("orchestrator")
        .send()
        .await
        .unwrap();
    assumed.credentials().unwrap().clone()
}

/// Starts the deployed orchestrator as Lambda starts it: `variables` (its environment as
/// CloudFormation set it), the member account's `creds`, the Runtime API at `address`.
fn start_orchestrator(
    emulator: &Emulator,
    variables: &std::collections::HashMap<String, String>,
    creds: &aws_sdk_sts::types::Credentials,
    address: &str,
) -> Killed {
    let mut command = lambda_process(&emulator.endpoint, "AutoRemediateOrchestrator", address);
    command
        .envs(variables)
        .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .env("AWS_SESSION_TOKEN", creds.session_token())
        .stdout(Stdio::piped());
    Killed(command.spawn().unwrap())
}

/// Hands `event` to a freshly started orchestrator; its answer and its log lines.
fn orchestrate_once(
    emulator: &Emulator,
    variables: &std::collections::HashMap<String, String>,
    creds: &aws_sdk_sts::types::Credentials,
    account: &str,
    event: serde_json::Value,
) -> (serde_json::Value, Vec<serde_json::Value>) {
    let (address, calls) = runtime_api(
        vec![event.to_string()],
        format!("arn:aws:lambda:{REGION}:{account}:function:AutoRemediateOrchestrator"),
    );
    let mut orchestrator = start_orchestrator(emulator, variables, creds, &address);
    assert!(next_call(&calls).path.ends_with("/invocation/next"));
    let answer = next_call(&calls);
    assert!(answer.path.ends_with("/response"), "{answer:?}");
    let _ = orchestrator.0.kill();
    let mut stdout = String::new();
    orchestrator
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let lines = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| l.get("_aws").is_some())
        .collect();
    (serde_json::from_str(&answer.body).unwrap(), lines)
}

/// Issue 16, point 3: a rule with `grace` is not acted on at once. The deployed orchestrator
/// re-queues the finding to its own findings queue with that delay (read back: invisible
/// until the delay is over, then there with the `remedy-graced` attribute); on its second
/// arrival it invokes the rule, whose own check finds the resource fixed in between:
/// `compliant`, nothing changed. Both steps are logged.
#[tokio::test(flavor = "multi_thread")]
async fn a_graced_finding_is_requeued_and_a_resource_fixed_meanwhile_is_left_alone() {
    let emulator = Emulator::start();
    let account = deployed_account(
        &emulator,
        "rules:\n  S3-026: {mode: remediate, grace: 3s}\n  S3-001: remediate\n",
    )
    .await;

    let config = emulator.account_config(&account, REGION).await;
    let variables = orchestrator_environment(&emulator, &account).await;
    // Only the rule with a grace period is in the table.
    assert_eq!(variables["REMEDY_GRACE"], r#"{"S3-026":3}"#);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs
        .get_queue_url()
        .queue_name("remedy-findings")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    // The queue's URL as CloudFormation gives it (the emulator names AWS's host, not its own).
    let url = variables["REMEDY_FINDINGS_QUEUE"].clone();
    assert!(
        url.ends_with(&format!("/{account}/remedy-findings")),
        "{url}"
    );

    let s3 = remedy::aws::identity::s3_client(&config, REGION, &Default::default());
    s3.create_bucket().bucket("exposed").send().await.unwrap();
    let text = finding("S3-026", "exposed").to_string();
    // As SNS delivers it to the queue without raw delivery: an envelope.
    let envelope = serde_json::json!({"Type": "Notification", "Message": text});
    let creds = member_credentials(&emulator, &account).await;

    // First arrival: re-queued, not acted on.
    emulator.start_recording();
    let (answer, lines) = orchestrate_once(
        &emulator,
        &variables,
        &creds,
        &account,
        serde_json::json!({"Records": [{"messageId": "first", "eventSource": "aws:sqs",
                                        "awsRegion": REGION, "body": envelope.to_string()}]}),
    );
    let sent_at = std::time::Instant::now();
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    let recorded = emulator.recording();
    assert!(
        !recorded.iter().any(|r| r.action.contains("invocations")),
        "nothing invoked before the grace period is over: {recorded:?}"
    );
    let sends: Vec<serde_json::Value> = recorded
        .iter()
        .filter(|r| r.action.contains("SendMessage"))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(sends.len(), 1, "{recorded:?}");
    assert_eq!(sends[0]["QueueUrl"], url.as_str());
    assert_eq!(sends[0]["DelaySeconds"], 3);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["reason_code"], "grace", "{lines:?}");
    assert_eq!(lines[0]["outcome"], "skipped");
    assert_eq!(lines[0]["rule_id"], "S3-026");

    // Read back: not visible during the delay; then the finding itself, marked graced.
    let receive = || {
        sqs.receive_message()
            .queue_url(&queue)
            .message_attribute_names("All")
            .max_number_of_messages(10)
            .send()
    };
    let early = receive().await.unwrap();
    assert!(early.messages().is_empty(), "delayed: {early:?}");
    let mut message = None;
    while message.is_none() && sent_at.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        message = receive().await.unwrap().messages().first().cloned();
    }
    let message = message.expect("the re-queued finding arrives after its delay");
    assert!(
        sent_at.elapsed() >= Duration::from_secs(2),
        "arrived after {:?}",
        sent_at.elapsed()
    );
    assert_eq!(message.body(), Some(text.as_str()));
    let graced = message
        .message_attributes()
        .and_then(|a| a.get("remedy-graced"))
        .and_then(|a| a.string_value())
        .map(str::to_owned);
    assert_eq!(graced.as_deref(), Some("3"));

    // Meanwhile someone fixed the bucket.
    s3.put_public_access_block()
        .bucket("exposed")
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // Second arrival, as Lambda hands an SQS message with attributes: acted on now.
    emulator.start_recording();
    let (answer, lines) = orchestrate_once(
        &emulator,
        &variables,
        &creds,
        &account,
        serde_json::json!({"Records": [{"messageId": "second", "eventSource": "aws:sqs",
            "awsRegion": REGION, "body": message.body().unwrap(),
            "messageAttributes": {"remedy-graced": {"stringValue": "3", "dataType": "String",
                                                    "stringListValues": [], "binaryListValues": []}}}]}),
    );
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    let recorded = emulator.recording();
    assert!(
        !recorded.iter().any(|r| r.action.contains("SendMessage")),
        "not re-queued twice: {recorded:?}"
    );
    let invoked: Vec<&str> = recorded
        .iter()
        .filter(|r| r.action.contains("AutoRemediateS3-026/invocations"))
        .map(|r| r.body.as_str())
        .collect();
    assert_eq!(invoked.len(), 1, "{recorded:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_ne!(lines[0]["reason_code"], "grace", "{lines:?}");

    // The rule function, given what the orchestrator sent it: its own check runs first.
    let (address, calls) = runtime_api(
        vec![invoked[0].to_owned()],
        format!("arn:aws:lambda:{REGION}:{account}:function:AutoRemediateS3-026"),
    );
    let _rule = Killed(
        lambda_process(&emulator.endpoint, "AutoRemediateS3-026", &address)
            .env("REMEDY_MODE", "remediate")
            .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
            .env("AWS_SESSION_TOKEN", creds.session_token())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(next_call(&calls).path.ends_with("/invocation/next"));
    let answer = next_call(&calls);
    assert!(answer.path.ends_with("/response"), "{answer:?}");
    let report: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(report["outcome"], "compliant", "{report}");
    assert_eq!(report["actions"], serde_json::json!([]), "{report}");
}

/// Issue 16, point 5: the deployed orchestrator counts in its stack's table
/// (`REMEDY_COUNTERS_TABLE`, as CloudFormation set it) with the rule's own limit
/// (`REMEDY_LIMITS`): of three findings in one batch, two are fixed and the third is
/// notified, not remediated, with reason code `rate_limited` in its log line.
#[tokio::test(flavor = "multi_thread")]
async fn the_deployed_orchestrator_holds_a_rule_to_its_rate_limit() {
    let emulator = Emulator::start();
    let account = deployed_account(
        &emulator,
        "rules:\n  S3-026: {mode: remediate, max_per_hour: 2}\n",
    )
    .await;
    let variables = orchestrator_environment(&emulator, &account).await;
    assert_eq!(variables["REMEDY_COUNTERS_TABLE"], "remedy-counters");
    assert_eq!(variables["REMEDY_LIMITS"], r#"{"S3-026":[2,5]}"#);
    // Not at the turn of an hour: the three findings share one hour's counter.
    let into_hour = remedy_functions::limits::now() % 3600;
    if into_hour > 3540 {
        tokio::time::sleep(std::time::Duration::from_secs(3601 - into_hour)).await;
    }

    let record = |id: &str, bucket: &str| serde_json::json!({"messageId": id, "eventSource": "aws:sqs", "awsRegion": REGION, "body": finding("S3-026", bucket).to_string()});
    let creds = member_credentials(&emulator, &account).await;
    emulator.start_recording();
    let (answer, lines) = orchestrate_once(
        &emulator,
        &variables,
        &creds,
        &account,
        serde_json::json!({"Records": [record("a", "first"), record("b", "second"), record("c", "third")]}),
    );
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    let invoked = emulator
        .recording()
        .iter()
        .filter(|r| r.action.contains("AutoRemediateS3-026/invocations"))
        .count();
    assert_eq!(invoked, 2, "{lines:?}");
    let codes: Vec<&serde_json::Value> = lines.iter().map(|l| &l["reason_code"]).collect();
    assert_eq!(
        codes,
        [
            &serde_json::Value::Null,
            &serde_json::Value::Null,
            &serde_json::json!("rate_limited")
        ],
        "{lines:?}"
    );
    assert_eq!(lines[2]["resource"], "third");
    assert_eq!(lines[2]["mode"], "notify");
}
