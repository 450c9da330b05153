//! The runtime's benchmark (`make bench-runtime`): a measurement, never a test.
//!
//! ```text
//! bench_runtime PATH/TO/release/remedy
//! ```
//! 1. The orchestrator's in-process decision per finding (parse + checks + decide), over the
//!    sample findings, as a median of runs.
//! 2. The Lambda package: the release binary and `remedy package`'s zip.
//! 3. Cold start: process start to the first `GET …/invocation/next` on a stub Runtime API,
//!    for the orchestrator, as median and worst of 20 starts.

use remedy_functions::catalog::catalog;
use remedy_functions::dispatch::{decide, Place, Route, RuntimeConfig};
use remedy_functions::finding::parse_text;
use std::hint::black_box;
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let binary = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/release/remedy".into()),
    );
    println!("| measure | value |");
    println!("| --- | --- |");
    decision_time();
    package_size(&binary);
    cold_start(&binary);
}

fn decision_time() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/functions/fixtures/conformity-events"
    );
    let samples: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).expect("fixture"))
        .map(|text| text.replace("\"region\": \"us-west-2\"", "\"region\": \"us-east-1\""))
        .collect();
    let config = RuntimeConfig {
        rules: catalog()
            .map(|r| (r.id.to_owned(), r.default_mode))
            .collect(),
        routes: vec![
            Route {
                topic: "urgent".into(),
                risk_levels: vec!["VERY_HIGH".into(), "EXTREME".into()],
                categories: vec![],
            },
            Route {
                topic: "security".into(),
                risk_levels: vec![],
                categories: vec!["security".into()],
            },
        ],
        regions: Vec::new(),
    };
    let place = Place {
        account_id: "111111111111".into(),
        region: "us-east-1".into(),
    };
    let per_run = 50_000;
    let mut runs: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for i in 0..per_run {
                let message = parse_text(black_box(&samples[i % samples.len()]));
                if let Ok(message) = message {
                    black_box(decide(&message, &config, &place));
                }
            }
            start.elapsed().as_nanos() as f64 / per_run as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    println!(
        "| decision per finding (parse + checks + decide), median of 7 × {per_run} | {:.1} µs |",
        runs[3] / 1000.0
    );
}

fn package_size(binary: &PathBuf) {
    let out = std::env::temp_dir().join(format!("bench-remedy-{}.zip", std::process::id()));
    let status = Command::new(binary)
        .args(["package", "--out"])
        .arg(&out)
        .stderr(Stdio::null())
        .status();
    let zip = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let bin = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&out);
    if status.is_ok_and(|s| s.success()) {
        println!("| release binary | {:.1} MB |", bin as f64 / 1e6);
        println!("| Lambda package (zip) | {:.1} MB |", zip as f64 / 1e6);
    } else {
        println!("| Lambda package | `{} package` failed |", binary.display());
    }
}

fn cold_start(binary: &PathBuf) {
    let mut times = Vec::new();
    for _ in 0..20 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let address = listener.local_addr().expect("address").to_string();
        let start = Instant::now();
        let mut child = Command::new(binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "AutoRemediateOrchestrator")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/AutoRemediateOrchestrator",
            )
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("REMEDY_RULES", "{\"S3-001\":\"remediate\"}")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start remedy");
        // Never wait without a deadline: a process that dies before connecting fails the run.
        listener.set_nonblocking(true).expect("non-blocking");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => {
                    let _ = child.kill();
                    panic!("the function did not reach the Runtime API within 10 s: {e}");
                }
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        let mut first = [0u8; 64];
        let n = stream.read(&mut first).unwrap_or(0);
        let elapsed = start.elapsed();
        assert!(String::from_utf8_lossy(&first[..n])
            .starts_with("GET /2018-06-01/runtime/invocation/next"));
        times.push(elapsed);
        let _ = child.kill();
        let _ = child.wait();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| cold start to first `next` (orchestrator), median / worst of 20 | {:.1} ms / {:.1} ms |",
        ms(times[10]),
        ms(times[19])
    );
}
