//! Invalid input: every error class of the configuration names the file, line and key, and
//! exits 2 before any AWS call. AWS_ENDPOINT_URL points at a closed port, so a command that
//! reached AWS would fail differently (exit 1, a connection error).

use crate::support::in_days;
use std::path::Path;
use std::process::Command;

fn run_in(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_remedy"))
        .current_dir(dir)
        .args(args)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run remedy");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `yaml` as remedy.yaml, deploys stage dev, and expects exit 2 with `expected` in
/// stderr.
fn rejects(yaml: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("remedy.yaml"), yaml).unwrap();
    let (code, stderr) = run_in(dir.path(), &["deploy", "--stage", "dev", "--yes"]);
    assert_eq!(code, 2, "expected exit 2 for:\n{yaml}\nstderr: {stderr}");
    assert!(
        stderr.contains(expected),
        "expected `{expected}` in:\n{stderr}"
    );
    assert!(
        !stderr.contains("dispatch failure") && !stderr.contains("connection"),
        "reached AWS: {stderr}"
    );
}

const STAGE: &str = "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n";

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run_in(
        dir.path(),
        &["--config", "nope.yaml", "deploy", "--stage", "dev"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("nope.yaml: no such file"), "{stderr}");
}

#[test]
fn yaml_syntax() {
    rejects(
        "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]\n",
        "remedy.yaml:4:",
    );
}

#[test]
fn unknown_key() {
    rejects(
        &format!("{STAGE}colour: blue\n"),
        "remedy.yaml:4:1: unknown field `colour`",
    );
    rejects(
        "stages:\n  - name: dev\n    target: {accounts: [\"111111111111\"]}\n",
        "remedy.yaml:3:5: stages[0]: unknown field `target`",
    );
}

#[test]
fn unknown_rule_id() {
    rejects(
        &format!("{STAGE}rules:\n  S3-999: remediate\n"),
        "remedy.yaml:5:3: rules: unknown rule id `S3-999`",
    );
}

#[test]
fn bad_mode() {
    rejects(
        &format!("{STAGE}rules:\n  S3-001: fix\n"),
        "remedy.yaml:5:11: rules.S3-001: unknown mode `fix`",
    );
    rejects(
        &format!("{STAGE}rules:\n  S3-001: {{mode: maybe}}\n"),
        "remedy.yaml:5:18: rules.S3-001.mode: unknown mode `maybe`",
    );
}

#[test]
fn malformed_account_id() {
    rejects(
        "stages:\n  - name: dev\n    targets: {accounts: [\"11111111111\"]}\n",
        "remedy.yaml:3:26: stages[0].targets.accounts[0]: `11111111111` is not a 12-digit AWS account id",
    );
    rejects(
        "stages:\n  - name: dev\n    targets:\n      ous: [/A]\n      exclude:\n        - \"12345678901x\"\n",
        "remedy.yaml:6:11: stages[0].targets.exclude[0]: `12345678901x` is not a 12-digit",
    );
}

#[test]
fn duplicate_stage() {
    rejects(
        &format!("{STAGE}  - name: dev\n    targets: {{ous: [/B]}}\n"),
        "remedy.yaml:4: stages[1].name: duplicate stage name `dev`",
    );
}

#[test]
fn stage_without_targets() {
    rejects(
        "stages:\n  - name: dev\n    targets: {exclude: [\"111111111111\"]}\n",
        "remedy.yaml:2:5: stages[0]: the stage has no targets",
    );
    rejects(
        "stages:\n  - name: dev\n",
        "remedy.yaml:2:5: stages[0]: missing field `targets`",
    );
}

#[test]
fn no_stages() {
    rejects("stages: []\n", "remedy.yaml:1:1: `stages` is empty");
    rejects("regions: [us-east-1]\n", "missing field `stages`");
}

#[test]
fn unknown_stage_and_bad_account_flag() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("remedy.yaml"), STAGE).unwrap();
    let (code, stderr) = run_in(dir.path(), &["deploy", "--yes", "--stage", "qa"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no stage `qa` (stages: dev)"), "{stderr}");
    let (code, stderr) = run_in(
        dir.path(),
        &["deploy", "--yes", "--stage", "dev", "--account", "12"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--account 12: not a 12-digit AWS account id"),
        "{stderr}"
    );
    let (code, _) = run_in(dir.path(), &["deploy", "--yes"]);
    assert_eq!(code, 2, "clap's usage errors are exit 2 too");
}

#[test]
fn a_missing_package_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("remedy.yaml"),
        format!("package: dist/none.zip\n{STAGE}"),
    )
    .unwrap();
    let (code, stderr) = run_in(dir.path(), &["deploy", "--yes", "--stage", "dev"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("dist/none.zip"), "{stderr}");
}

#[test]
fn bad_notifications() {
    rejects(
        &format!(
            "{STAGE}notifications:\n  topics:\n    - name: urgent\n      risk_levels: [SEVERE]\n"
        ),
        "remedy.yaml:7:21: notifications.topics[0].risk_levels[0]: unknown risk level `SEVERE`",
    );
    rejects(
        &format!("{STAGE}notifications:\n  topics:\n    - name: urgent\n      emails: [secops]\n"),
        "notifications.topics[0].emails[0]: `secops` is not an email address",
    );
    rejects(
        &format!("{STAGE}notifications:\n  topics:\n    - name: urgent\n    - name: urgent\n"),
        "remedy.yaml:7: notifications.topics[1].name: duplicate topic `urgent`",
    );
    rejects(
        &format!("{STAGE}notifications:\n  topics:\n    - name: sec-ops\n    - name: sec_ops\n"),
        "remedy.yaml:7: notifications.topics[1].name: `sec_ops` and `sec-ops` differ only in `-` or `_`",
    );
}

#[test]
fn a_stack_name_whose_derived_names_break_aws_limits() {
    // 32 characters: `<stack_name>-RuleRedshift001Role-<12>` would pass IAM's 64, so
    // CloudFormation would cut the stack name out of the role names the bootstrap scopes to.
    let name = "a".repeat(32);
    rejects(
        &format!("rules: {{S3-001: remediate}}\nstack_name: {name}\n{STAGE}"),
        "remedy.yaml:2: stack_name:",
    );
    rejects(
        &format!("rules: {{S3-001: remediate}}\nstack_name: {name}\n{STAGE}"),
        "AWS allows 64",
    );
    // 68 characters: `<stack_name>-findings-dlq` is 81, past SQS's 80.
    let name = "b".repeat(68);
    rejects(
        &format!("stack_name: {name}\n{STAGE}"),
        &format!("`{name}-findings-dlq` 81 characters long; AWS allows 80"),
    );
}

#[test]
fn a_stacksets_stage_whose_instances_queue_names_break_sqs_limit() {
    // StackSets names each account's stack `StackSet-<set>-<uuid>`: with `<stack_name>-<stage>`
    // at 22 characters, its `-findings-dlq` queue is 81.
    let yaml = "stack_name: remedy-security\nengine: stacksets\nstages:\n  - name: stage1\n    targets: {ous: [ou-abcd-12345678]}\n";
    assert_eq!("remedy-security-stage1".len(), 22);
    rejects(
        yaml,
        "remedy.yaml:4: stages[0] (`stage1`): engine `stacksets`",
    );
    rejects(yaml, "characters long; AWS allows 80");
    // One character less fits (`template` renders offline).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("remedy.yaml"),
        yaml.replace("stage1", "stage"),
    )
    .unwrap();
    let (code, stderr) = run_in(dir.path(), &["template", "--stage", "stage"]);
    assert_eq!(code, 0, "`remedy-security-stage` fits: {stderr}");
}

#[test]
fn the_region_layout_of_earlier_versions_and_unknown_regions() {
    // `region_order` is gone: what replaced it is named, at its line.
    rejects(
        &format!("{STAGE}    region_order: sequential\n"),
        "remedy.yaml:4:19: stages[0].region_order: `region_order` is gone: remedy deploys one stack per account, in its `home_region`",
    );
    rejects(
        &format!("{STAGE}codebuild: {{region: eu-west-1}}\n"),
        "codebuild.region: `codebuild.region` is gone: the project runs in each stage's `home_region`",
    );
    rejects(
        &format!("home_region: eu-wset-1\n{STAGE}"),
        "remedy.yaml:1:14: home_region: unknown region `eu-wset-1` (did you mean eu-west-1?)",
    );
    // `--region` other than the stage's home region: one stack per account, there.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("remedy.yaml"),
        format!("regions: [us-east-1, eu-west-1]\n{STAGE}"),
    )
    .unwrap();
    let (code, stderr) = run_in(
        dir.path(),
        &["deploy", "--yes", "--stage", "dev", "--region", "eu-west-1"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--region eu-west-1: stage `dev` deploys one stack per account, in its home region us-east-1 (it remediates us-east-1, eu-west-1)"),
        "{stderr}"
    );
}

#[test]
fn regions_are_checked_per_partition_and_a_new_one_is_listed_in_extra_regions() {
    // A region of another partition than the stage's home region.
    rejects(
        &format!("home_region: us-east-1\nregions: [eu-west-1, cn-north-1]\n{STAGE}"),
        "remedy.yaml:2:22: stages[0]: region `cn-north-1` is in partition aws-cn, the stage's home region us-east-1 in aws",
    );
    // A region this release does not ship: refused, saying how to accept it …
    rejects(
        &format!("regions: [us-east-1, xx-new-1]\n{STAGE}"),
        "remedy.yaml:1:22: regions[1]: unknown region `xx-new-1`; a region AWS opened after this release of remedy: list it in `extra_regions`",
    );
    // … and accepted once listed: the template covers it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("remedy.yaml"),
        format!("extra_regions: [xx-new-1]\nregions: [us-east-1, xx-new-1]\n{STAGE}"),
    )
    .unwrap();
    let (code, stderr) = run_in(dir.path(), &["template", "--stage", "dev"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_misindented_key_is_reported_at_its_own_line_not_as_a_missing_field() {
    // `ous` one level too shallow: YAML reads `targets:` as empty and `ous` as the stage's.
    // Before: "remedy.yaml:2:5: stages[0]: the stage has no targets".
    rejects(
        "stages:\n  - name: dev\n    targets:\n    ous: [/Workloads/Dev]\n",
        "remedy.yaml:4:5: `ous` is indented 4 spaces, level with `targets` (line 3, at 4), which is left empty",
    );
    // One space short of its sibling: before, a YAML error about line 5's column only.
    rejects(
        "stages:\n  - name: dev\n    targets:\n      accounts: [\"111111111111\"]\n     ous: [/Workloads/Dev]\n",
        "remedy.yaml:5:6: `ous` is indented 5 spaces, its siblings at 6 (`accounts`, line 4)",
    );
    // A stage key at the dashes' column. Before: "remedy.yaml:2:5: stages[0]: missing field `targets`".
    rejects(
        "stages:\n  - name: dev\n  targets:\n    accounts: [\"111111111111\"]\n",
        "remedy.yaml:3:3: `targets` is indented 2 spaces, its siblings at 4 (`name`, line 2)",
    );
}

// ---------------------------------------------------------------------------------------
// Errors a person can act on: what stands between remedy and AWS (an endpoint that cannot
// be reached, credentials that cannot be loaded, an answer that is not AWS's) is one line
// naming the cause and the fix, at once.

/// `remedy accounts --stage dev` with only `env` (no credentials, no endpoint unless
/// given), HOME an empty folder: exit code, stderr, and how long it took.
fn accounts_with(env: &[(&str, &str)]) -> (i32, String, std::time::Duration) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("remedy.yaml"), STAGE).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_remedy"));
    command
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["accounts", "--stage", "dev"]);
    for (key, value) in env {
        let value = value.replace("{dir}", &dir.path().display().to_string());
        if let Some(file) = key.strip_prefix("file:") {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, value).unwrap();
        } else {
            command.env(key, value);
        }
    }
    let started = std::time::Instant::now();
    let out = command.output().expect("run remedy");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// [`accounts_with`] keys, against `endpoint`.
fn accounts_at(endpoint: &str) -> (i32, String, std::time::Duration) {
    accounts_with(&[
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ])
}

/// The one line remedy ended with: the whole of stderr, nothing else (no SDK dump, no WARN).
fn the_one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0]
}

fn closed_port() -> u16 {
    // Bound, then released: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn an_unreachable_endpoint_fails_at_once_naming_its_address() {
    let port = closed_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let (code, stderr, took) = accounts_at(&endpoint);
    assert_eq!(code, 1, "{stderr}");
    let line = the_one_line(&stderr);
    assert!(
        line.contains(&format!("cannot connect to {endpoint}: Connection refused")),
        "{line}"
    );
    // Not retried: ten attempts with backoff took ~20-30 s before.
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

#[test]
fn an_error_page_instead_of_an_answer_is_its_status_endpoint_and_title() {
    // A proxy's HTML page where AWS's answer should be (403: not retried).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 65536];
            let _ = stream.read(&mut request);
            let page = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body><h1>Forbidden</h1>\r\n<p>by the corporate proxy</p></body></html>\r\n";
            let _ = write!(
                stream,
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    let (code, stderr, _) = accounts_at(&endpoint);
    assert_eq!(code, 1, "{stderr}");
    let line = the_one_line(&stderr);
    assert!(
        line.contains(&format!("HTTP 403 from {endpoint} (403 Forbidden)")),
        "{line}"
    );
    assert!(!line.contains('<'), "{line}");
}

#[test]
fn no_credentials_an_unknown_profile_or_an_expired_sso_session_is_one_line_with_the_fix() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    // Nothing anywhere: the standard chain's dump, before.
    let (code, stderr, _) = accounts_with(&[("AWS_ENDPOINT_URL", &endpoint)]);
    assert_eq!(code, 1, "{stderr}");
    let line = the_one_line(&stderr);
    assert!(line.contains("no AWS credentials"), "{line}");
    assert!(line.contains("`aws configure`"), "{line}");

    // AWS_PROFILE naming a profile no file defines (another one does exist).
    let (code, stderr, _) = accounts_with(&[
        ("AWS_ENDPOINT_URL", &endpoint),
        ("AWS_PROFILE", "nope"),
        (
            "file:.aws/config",
            "[profile security]\nregion = us-east-1\n",
        ),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let line = the_one_line(&stderr);
    assert!(
        line.contains("AWS profile `nope` is not in ~/.aws/config"),
        "{line}"
    );
    assert!(line.contains("aws configure --profile nope"), "{line}");

    // An SSO profile whose cached token has expired.
    let cache = "{\"accessToken\":\"x\",\"expiresAt\":\"2020-01-01T00:00:00Z\",\"region\":\"us-east-1\",\"startUrl\":\"https://example.awsapps.com/start\"}";
    let (code, stderr, _) = accounts_with(&[
        ("AWS_ENDPOINT_URL", &endpoint),
        ("AWS_PROFILE", "security"),
        (
            "file:.aws/config",
            "[profile security]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Admin\nregion = us-east-1\n[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n",
        ),
        // The SDK's cache file of session `corp`: SHA-1 of its name.
        (
            "file:.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
            cache,
        ),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let line = the_one_line(&stderr);
    assert!(
        line.contains("the SSO session of AWS profile `security` has expired or was never started: run `aws sso login --profile security`"),
        "{line}"
    );
}

/// Issue 16, point 5: `max_per_hour` and `max_failures_per_hour` are whole numbers from 1
/// to 10000, each checked at its own node (file:line:column and key path).
#[test]
fn bad_rate_limits() {
    rejects(
        &format!("{STAGE}rules:\n  S3-001: {{mode: remediate, max_per_hour: 0}}\n"),
        "remedy.yaml:5:43: rules.S3-001.max_per_hour: max_per_hour: `0` is not a whole number from 1 to 10000",
    );
    rejects(
        &format!("{STAGE}rules:\n  S3-001:\n    mode: remediate\n    max_per_hour: 10001\n"),
        "remedy.yaml:7:19: rules.S3-001.max_per_hour: max_per_hour: `10001` is not a whole number from 1 to 10000",
    );
    rejects(
        &format!("{STAGE}rules:\n  S3-001:\n    mode: remediate\n    max_failures_per_hour: many\n"),
        "remedy.yaml:7:28: rules.S3-001.max_failures_per_hour: max_failures_per_hour: `many` is not a whole number",
    );
    rejects(
        "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n    rules:\n      S3-001: {mode: remediate, max_failures_per_hour: -1}\n",
        "remedy.yaml:5:56: stages[0].rules.S3-001.max_failures_per_hour: max_failures_per_hour: `-1` is not a whole number",
    );
    rejects(
        &format!("{STAGE}rules:\n  S3-001: {{mode: remediate, max_per_hour: 2.5}}\n"),
        "remedy.yaml:5:43: rules.S3-001.max_per_hour: max_per_hour: `2.5`",
    );
    rejects(
        &format!("{STAGE}rules:\n  S3-001: {{mode: remediate, max_per_hours: 5}}\n"),
        "unknown field `max_per_hours`, expected one of `mode`, `settings`, `grace`, `max_per_hour`, `max_failures_per_hour`",
    );
}

/// Issue 16, point 3: `grace` is a duration of at most 15 minutes (SQS's longest delay),
/// pinned to its own node, at the top level and in a stage's overlay.
#[test]
fn bad_grace() {
    rejects(
        &format!("{STAGE}rules:\n  S3-001: {{mode: remediate, grace: 20m}}\n"),
        "remedy.yaml:5:36: rules.S3-001.grace: grace: `20m` is longer than 15m",
    );
    rejects(
        &format!("{STAGE}rules:\n  S3-001: {{mode: remediate, grace: 901}}\n"),
        "remedy.yaml:5:36: rules.S3-001.grace: grace: `901` is longer than 15m",
    );
    rejects(
        &format!("{STAGE}rules:\n  S3-001:\n    mode: remediate\n    grace: soon\n"),
        "remedy.yaml:7:12: rules.S3-001.grace: grace: `soon` is not a duration",
    );
    rejects(
        "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n    rules:\n      S3-001: {mode: remediate, grace: -5m}\n",
        "remedy.yaml:5:40: stages[0].rules.S3-001.grace: grace: `-5m` is not a duration",
    );
    // A mode string has no grace: the table form is the only place for it.
    rejects(
        &format!("{STAGE}rules:\n  S3-001: {{mode: remediate, grace: 5m, graces: 1}}\n"),
        "unknown field `graces`, expected one of `mode`, `settings`, `grace`",
    );
}

/// `exceptions:` with one entry whose `key: value` line replaces the default's (or is
/// added): the entry's lines start at line 6 (`- id:`), each key on its own line.
fn exception_with(key: &str, value: &str) -> String {
    let expires = in_days(30);
    let mut fields = vec![
        ("id", "legacy-site".to_owned()),
        ("rules", "[S3-001]".to_owned()),
        ("reason", "CDN migration".to_owned()),
        ("owner", "web@example.com".to_owned()),
        ("expires", expires),
    ];
    match fields.iter_mut().find(|(k, _)| *k == key) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.insert(
            2,
            (Box::leak(key.to_owned().into_boxed_str()), value.to_owned()),
        ),
    }
    let mut yaml = format!("{STAGE}rules: {{S3-001: remediate}}\nexceptions:\n");
    for (i, (k, v)) in fields.iter().enumerate() {
        let lead = if i == 0 { "  - " } else { "    " };
        yaml.push_str(&format!("{lead}{k}: {v}\n"));
    }
    yaml
}

/// Issue 16, point 2: each key of an exception is checked at its own line; an expired one,
/// one more than a year ahead and a duplicate id are errors too.
#[test]
fn bad_exceptions() {
    // Lines: 6 id, 7 rules, 8 an added key (else reason), 10 expires.
    rejects(&exception_with("id", "\"has space\""), "remedy.yaml:6:");
    rejects(
        &exception_with("id", "\"has space\""),
        "exceptions[0].id: exception id `has space` must be 1-64",
    );
    rejects(
        &exception_with("rules", "[]"),
        "remedy.yaml:6:5: exceptions[0]: `rules` is empty",
    );
    rejects(&exception_with("rules", "[S3-999]"), "exceptions[0].rules");
    rejects(&exception_with("accounts", "[\"1234\"]"), "remedy.yaml:8:");
    rejects(
        &exception_with("accounts", "[\"1234\"]"),
        "exceptions[0].accounts[0]: `1234` is not a 12-digit AWS account id",
    );
    rejects(
        &exception_with("ous", "[Workloads]"),
        "exceptions[0].ous[0]: `Workloads` is neither an OU path",
    );
    rejects(
        &exception_with("regions", "[us-east-9]"),
        "exceptions[0].regions[0]",
    );
    rejects(
        &exception_with("resources", "[\"*\"]"),
        "exceptions[0].resources[0]: a resource glob of `*` alone",
    );
    rejects(&exception_with("resources", "[\"a b\"]"), "remedy.yaml:8:");
    rejects(&exception_with("tags", "{\"\": x}"), "exceptions[0].tags");
    rejects(
        &exception_with("reason", "\"  \""),
        "exceptions[0].reason: must not be empty",
    );
    rejects(
        &exception_with("owner", "\"\""),
        "exceptions[0].owner: must not be empty",
    );
    rejects(
        &exception_with("expires", "next-week"),
        "exceptions[0].expires: `next-week` is not a date",
    );
    rejects(&exception_with("color", "blue"), "remedy.yaml:8:");
    // Required keys.
    rejects(
        &exception_with("id", "x").replace("    owner: web@example.com\n", ""),
        "missing field `owner`",
    );
    // Dates against today: expired, or more than a year ahead, at the date's line.
    let expired = in_days(-1);
    rejects(
        &exception_with("expires", &expired),
        &format!("remedy.yaml:10:14: exceptions[0].expires: exception `legacy-site` expired on {expired}"),
    );
    rejects(
        &exception_with("expires", &in_days(400)),
        "remedy.yaml:10:14: exceptions[0].expires: ",
    );
    // Two entries with one id.
    let one = exception_with("id", "legacy-site");
    let twice = format!("{one}{}", one.split("exceptions:\n").nth(1).unwrap());
    rejects(
        &twice,
        "exceptions[1].id: duplicate exception id `legacy-site`",
    );
}

/// Lambda allows 4 KB of environment per function: a file whose rule table, grace periods
/// and exceptions would not fit in the orchestrator's is refused before any AWS call, not
/// in the middle of a CloudFormation update.
#[test]
fn an_orchestrator_environment_over_lambdas_limit() {
    let expires = in_days(30);
    let mut yaml =
        format!("{STAGE}rules:\n  \"*\": {{mode: remediate, grace: 10m}}\nexceptions:\n");
    for i in 0..8 {
        yaml.push_str(&format!(
            "  - {{id: e{i}, rules: [S3-001], resources: [\"arn:aws:s3:::{}-{i}\"], reason: r, owner: o, expires: {expires}}}\n",
            "a".repeat(150)
        ));
    }
    rejects(
        &yaml,
        "remedy.yaml: the orchestrator's environment would take up to",
    );
    // The same exceptions with fewer graced rules fit.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("remedy.yaml"),
        yaml.replace("\"*\": {mode: remediate, grace: 10m}", "S3-001: remediate"),
    )
    .unwrap();
    let (code, stderr) = run_in(dir.path(), &["template", "--stage", "dev"]);
    assert_eq!(code, 0, "{stderr}");
}

/// A tag exception the tagging API could never match (IAM users and roles are not listed
/// by it) is refused at its entry.
#[test]
fn a_tag_exception_for_iam_rules() {
    rejects(
        &exception_with("tags", "{team: web}").replace("rules: [S3-001]", "rules: [IAM-001]"),
        "exceptions[0].tags: a tag exception for IAM rules would never match",
    );
}

#[test]
fn conformity_api_is_checked_before_any_call() {
    for (api, expected) in [
        (
            "    region: us-west-2\n    url: https://conformity.example/v1\n",
            "remedy.yaml:2:3: conformity: api: give `region` or `url`, not both",
        ),
        ("    region: us-east-9\n", "api.region: `us-east-9` is not a Conformity region"),
        (
            "    url: http://conformity.example/v1\n",
            "api.url: `http://conformity.example/v1` is not an https:// URL",
        ),
        (
            "    region: us-1\n    api_key_env: lower-case\n",
            "api.api_key_env: `lower-case` is not an environment variable name",
        ),
        (
            "    region: us-1\n    api_key_secret: arn:aws:ssm:us-east-1:123456789012:parameter/key\n",
            "api.api_key_secret: `arn:aws:ssm:us-east-1:123456789012:parameter/key` is not a Secrets Manager secret ARN",
        ),
        ("    region: us-1\n    api_key: k\n", "remedy.yaml:4:5: conformity.api: unknown field `api_key`"),
    ] {
        rejects(&format!("conformity:\n  api:\n{api}{STAGE}"), expected);
    }
    // Without `conformity.api`, the commands that need it say so, before any call.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("remedy.yaml"), STAGE).unwrap();
    for args in [
        &["conformity", "connect"][..],
        &["onboard", "--account", "111111111111", "--connect"][..],
    ] {
        let (code, stderr) = run_in(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("conformity.api is not set"),
            "{args:?}: {stderr}"
        );
    }
}
