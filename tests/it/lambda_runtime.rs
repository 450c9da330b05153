//! The Lambda entry point: the built `remedy` binary, started the way Lambda starts a
//! `bootstrap`, against a small in-test server speaking the documented Runtime API
//! (`/2018-06-01/runtime/invocation/next`, `…/{id}/response`, `…/{id}/error`).

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{finding, Emulator, MANAGEMENT_ACCOUNT, REGION};

/// One request the function sent to the Runtime API.
#[derive(Debug)]
struct Call {
    method: String,
    path: String,
    body: String,
}

/// Serves `events` in order on `next`, reports every call on the channel, and leaves the
/// last `next` unanswered (the function then waits, as it would in Lambda).
fn runtime_api(events: Vec<String>) -> (String, mpsc::Receiver<Call>) {
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
                        + 30_000;
                    write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: request-{i}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:{REGION}:{MANAGEMENT_ACCOUNT}:function:AutoRemediateS3-026\r\nLambda-Runtime-Trace-Id: Root=1-0-0\r\nContent-Length: {}\r\n\r\n{event}",
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
    let (address, calls) = runtime_api(events);
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
