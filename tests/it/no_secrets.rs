//! No secrets in logs: `deploy` and `remediate` at trace level (REMEDY_LOG and RUST_LOG)
//! print no access key id, secret key or session token — neither the security account's
//! nor an assumed role's — and no environment dump; `conformity connect` prints no
//! Conformity API key.

use crate::support;

use support::{remedy_command, Emulator, Org, Workdir};

/// What must never appear in any output.
fn leaks(text: &str, secrets: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = secrets
        .iter()
        .filter(|s| text.contains(**s))
        .map(|s| format!("the secret {s}"))
        .collect();
    // Assumed-role keys (ASIA…), moto's and AWS's session tokens, environment variables.
    for needle in [
        "ASIA",
        "FQoGZXIvYXdz",
        "IQoJb3JpZ2lu",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "SecretAccessKey",
        "SessionToken>",
    ] {
        if text.contains(needle) {
            let at = text.find(needle).unwrap_or_default();
            let start = text[..at]
                .char_indices()
                .rev()
                .nth(80)
                .map(|(i, _)| i)
                .unwrap_or(0);
            found.push(format!(
                "{needle} in …{}…",
                &text[start..(at + 40).min(text.len())]
            ));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_carry_no_keys_tokens_or_environment() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let work = Workdir::new(
        "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n",
    );
    // The operator's keys, made to look like real ones so that a leak is recognisable.
    let (key, secret) = (
        "AKIAREMEDYNOSECRETS1",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYNOSECRETS1",
    );
    let finding = serde_json::json!({
        "ruleId": "S3-001", "service": "S3", "region": "us-east-1", "riskLevel": "HIGH",
        "categories": ["security"], "status": "FAILURE", "message": "public bucket",
        "resource": "remedy-no-secrets-bucket", "resolutionPageURL": "https://example.com"
    });
    work.write("finding.json", &finding.to_string());

    for level_var in ["REMEDY_LOG", "RUST_LOG"] {
        for args in [
            vec!["deploy", "--stage", "dev", "--yes", "--output", "json"],
            vec![
                "remediate",
                "--event",
                "finding.json",
                "--account",
                &account,
                "--dry-run",
                "--output",
                "json",
            ],
        ] {
            emulator.start_recording();
            let out = remedy_command(&emulator, work.path())
                .env("AWS_ACCESS_KEY_ID", key)
                .env("AWS_SECRET_ACCESS_KEY", secret)
                .env(level_var, "trace")
                .args(&args)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            // The command really ran (assumed the role, deployed or remediated).
            let doc: serde_json::Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("{level_var} {args:?}: {e}: {stdout}\n{stderr}"));
            if args[0] == "deploy" {
                assert_eq!(out.status.code(), Some(0), "{stderr}");
                let s = &doc["summary"];
                let deployed = s["created"].as_u64().unwrap() + s["unchanged"].as_u64().unwrap();
                assert_eq!(deployed, 1, "{doc}");
            } else {
                assert!(doc["outcome"].is_string(), "{doc}");
            }
            // An assumed role's keys existed in this run, so their absence below means something.
            let role = format!("arn:aws:iam::{account}:role/CloudConformity");
            assert!(
                emulator
                    .recording()
                    .iter()
                    .any(|r| r.action == "AssumeRole" && r.params.get("RoleArn") == Some(&role)),
                "{level_var} {args:?}: no AssumeRole into {account}"
            );
            assert!(
                stderr.len() > 10_000,
                "{level_var} {args:?}: trace logging is on: {stderr}"
            );
            let found = leaks(&format!("{stdout}\n{stderr}"), &[key, secret]);
            assert!(
                found.is_empty(),
                "{level_var} {args:?} leaks:\n{}",
                found.join("\n")
            );
        }
    }
}

/// The Conformity API key (`remedy conformity connect`, the key read from a Secrets Manager
/// secret): in no output, even at trace level, and no Authorization header either.
const KEY: &str = "cc-no-secrets-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM";

fn conformity_config(url: &str) -> String {
    format!(
        "regions: [us-east-1]\nconformity:\n  api:\n    url: {url}\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\nrules:\n  S3-001: remediate\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_can_come_from_a_secret_and_is_never_logged_even_at_trace() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    let server = support::conformity::Server::start(KEY, &[&account]);
    let arn = support::conformity::key_secret(&emulator, "conformity-api-key", KEY).await;
    let work = Workdir::new(
        &conformity_config(&server.url)
            .replace("    url:", &format!("    api_key_secret: {arn}\n    url:")),
    );
    for level in ["REMEDY_LOG", "RUST_LOG"] {
        let out = remedy_command(&emulator, work.path())
            .env(level, "trace")
            .args(["conformity", "connect", "--output", "json"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(stderr.len() > 10_000, "trace logging is on: {stderr}");
        assert!(
            !stdout.contains(KEY) && !stderr.contains(KEY),
            "the key is in the {level} output"
        );
        assert!(
            !stderr.contains("ApiKey "),
            "an Authorization header in the {level} output"
        );
    }
    assert_eq!(server.settings().len(), 1);
    assert!(server.requests().iter().all(|r| r.authorized));
}
