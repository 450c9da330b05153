//! What the integration tests share: the test bed (the `testbed` crate: the emulator, a seeded
//! organization, the request recorder), running the `remedy` binary against it, and running
//! one catalog rule in process (`run_rule`; `run_checked` also checks its calls against the
//! rule's declared IAM actions).

#![allow(dead_code)] // helpers some subjects use and others do not

pub mod conformity;
pub mod iam;
pub mod proxy;
pub mod replay;
pub mod snapshot;

pub use testbed::*;

use remedy_functions::rule::{Context, Report};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `remedy` with the environment pointed at the emulator, run in `dir`.
pub fn remedy_command(emulator: &Emulator, dir: &Path) -> Command {
    let (key, secret) = emulator.keys();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_remedy"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", &emulator.endpoint)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    cmd
}

/// The item of a JSON report's list (`accounts`, `targets`) whose `account_id` is `id`.
pub fn by_account<'d>(list: &'d serde_json::Value, id: &str) -> &'d serde_json::Value {
    list.as_array()
        .and_then(|items| items.iter().find(|a| a["account_id"] == id))
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

/// Runs `remedy` with no emulator and no credentials: for the offline commands (an AWS call
/// would fail: the endpoint is a closed port).
pub fn remedy_offline(dir: &Path, args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_remedy"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .expect("run remedy")
        .into()
}

/// The `remedy` stack of `account` in `region`, read back through the account's role: its
/// status and `remedy:hash` tag; `None` when there is none (or only a deleted one).
pub async fn stack_state(
    emulator: &Emulator,
    account: &str,
    region: &str,
) -> Option<(String, String)> {
    let config = emulator.account_config(account, region).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let out = cfn
        .describe_stacks()
        .stack_name("remedy")
        .send()
        .await
        .ok()?;
    let stack = out.stacks().first()?;
    let status = stack.stack_status()?.as_str().to_owned();
    if status == "DELETE_COMPLETE" {
        return None;
    }
    let hash = stack
        .tags()
        .iter()
        .find(|t| t.key() == Some("remedy:hash"))
        .and_then(|t| t.value())
        .unwrap_or_default()
        .to_owned();
    Some((status, hash))
}

/// `bash -e -c SCRIPT` in `dir` with the environment `remedy_command` gives remedy: for
/// running a buildspec's command lines as CodeBuild would.
pub fn shell_command(emulator: &Emulator, dir: &Path, script: &str) -> Command {
    let mut cmd = with_remedy_env(emulator, dir, "bash");
    cmd.args(["-e", "-c", script]);
    cmd
}

/// `program` in `dir` with exactly the environment `remedy_command` gives remedy.
pub fn with_remedy_env(emulator: &Emulator, dir: &Path, program: &str) -> Command {
    let template = remedy_command(emulator, dir);
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).env_clear().stdin(Stdio::null());
    for (key, value) in template.get_envs() {
        if let Some(value) = value {
            cmd.env(key, value);
        }
    }
    cmd
}

/// A scratch folder holding a `remedy.yaml` and a small package zip.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    /// Writes `config` as remedy.yaml; a tiny `package.zip` is there for `package:`.
    pub fn new(config: &str) -> Workdir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("remedy.yaml"), config).expect("write config");
        // A real zip with a `bootstrap`: the emulator stores Lambda code, never runs it.
        let script = dir.path().join("bootstrap");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write bootstrap");
        let zip = dir.path().join("package.zip");
        remedy::aws::package::write_bootstrap_zip(&script, &zip).expect("zip");
        Workdir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).expect("write file");
    }
}

/// The output of a remedy run, with helpers for assertions.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `remedy ARGS` in `dir` against the emulator.
pub fn remedy(emulator: &Emulator, dir: &Path, args: &[&str]) -> Run {
    remedy_command(emulator, dir)
        .args(args)
        .output()
        .expect("run remedy")
        .into()
}

/// Runs the catalog rule named by `finding`'s `ruleId` in the emulator's security account, in
/// this process, as the rule's Lambda would: `settings` over the rule's defaults.
pub async fn run_rule(
    emulator: &Emulator,
    finding: serde_json::Value,
    settings: &[(&str, &str)],
    dry_run: bool,
) -> Report {
    let ctx = rule_context(emulator, finding, settings, dry_run);
    remedy_functions::runtime::run_rule(&ctx).await
}

/// Runs the rule like `run_rule` while the emulator records (each emulator records into a
/// file of its own, so tests running side by side do not mix), and checks that every call the
/// rule made is one of its declared `iam_actions` (see `iam_action`). Returns the report and
/// the recorded calls, for a test's own assertions about them.
pub async fn run_checked(
    emulator: &Emulator,
    finding: serde_json::Value,
    settings: &[(&str, &str)],
    dry_run: bool,
) -> (Report, Vec<Recorded>) {
    run_checked_in_stack(emulator, finding, settings, dry_run, None).await
}

/// Runs the rule like `run_rule`, as a function of the remedy stack `stack_id` (its ARN)
/// would: that stack's resources are remedy's own.
pub async fn run_rule_in_stack(
    emulator: &Emulator,
    finding: serde_json::Value,
    settings: &[(&str, &str)],
    dry_run: bool,
    stack_id: Option<&str>,
) -> Report {
    let ctx = rule_context(emulator, finding, settings, dry_run);
    let stack = stack_id.map(|id| {
        std::sync::Arc::new(remedy_functions::rule::OwnStack::from_id(id).expect("a stack ARN"))
    });
    remedy_functions::runtime::run_rule_for(&ctx, stack).await
}

/// `run_checked` for a rule run as a function of the remedy stack `stack_id`.
pub async fn run_checked_in_stack(
    emulator: &Emulator,
    finding: serde_json::Value,
    settings: &[(&str, &str)],
    dry_run: bool,
    stack_id: Option<&str>,
) -> (Report, Vec<Recorded>) {
    let rule_id = finding["ruleId"]
        .as_str()
        .expect("a finding with a ruleId")
        .to_owned();
    let rule = remedy_functions::find_rule(&rule_id).expect("a catalog rule");
    emulator.start_recording();
    let report = run_rule_in_stack(emulator, finding, settings, dry_run, stack_id).await;
    let calls = emulator.recording();
    for call in &calls {
        let action = iam_action(call);
        assert!(
            rule.iam_actions.contains(&action.as_str()),
            "{rule_id} called {action} without declaring it; it declares {:?}",
            rule.iam_actions
        );
    }
    // The report's `changes` (the ledger's) are exactly the calls that changed something,
    // in order, each naming a target.
    let made: Vec<String> = calls.iter().filter_map(change_api).collect();
    let reported: Vec<&str> = report.changes.iter().map(|c| c.api.as_str()).collect();
    assert_eq!(
        reported, made,
        "{rule_id}: the report's changes are not the mutating calls it made"
    );
    for change in &report.changes {
        assert!(
            !change.target.trim().is_empty(),
            "{rule_id}: {} names no target",
            change.api
        );
    }
    (report, calls)
}

/// The API of a recorded call that changes something, as the ledger names it
/// (`service:Operation`, the operation as in the API reference and CloudTrail's
/// `eventName`); `None` for a read (`Get`, `List`, `Describe`, `Head`, HTTP GET/HEAD). REST
/// calls are named by method and path; one not mapped here panics.
pub fn change_api(call: &Recorded) -> Option<String> {
    let prefix = iam_prefix(&call.service);
    let Some((method, target)) = call.action.split_once(" /") else {
        let op = &call.action;
        let read = ["Get", "List", "Describe", "Head", "Lookup"]
            .iter()
            .any(|p| op.starts_with(p));
        return (!read).then(|| format!("{prefix}:{op}"));
    };
    if method == "GET" || method == "HEAD" {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let subresource = query.split(['&', '=']).next().unwrap_or_default();
    let operation = match (prefix, method, segments.as_slice(), subresource) {
        ("apigateway", "PATCH", ["restapis", _], _) => "UpdateRestApi",
        ("s3", "PUT", [_], "acl") => "PutBucketAcl",
        ("s3", "PUT", [_], "policy") => "PutBucketPolicy",
        ("s3", "PUT", [_], "versioning") => "PutBucketVersioning",
        ("s3", "PUT", [_], "encryption") => "PutBucketEncryption",
        ("s3", "PUT", [_], "publicAccessBlock") => "PutPublicAccessBlock",
        ("s3", "DELETE", [_], "publicAccessBlock") => "DeletePublicAccessBlock",
        ("lambda", "PUT", [_, "functions", _, "configuration"], _) => "UpdateFunctionConfiguration",
        ("lambda", "DELETE", [_, "functions", _, "policy", _], _) => "RemovePermission",
        ("guardduty", "POST", ["detector"], _) => "CreateDetector",
        ("guardduty", "POST", ["detector", _], _) => "UpdateDetector",
        _ => panic!(
            "unmapped REST call {} to {}: name its operation in support::change_api",
            call.action, call.service
        ),
    };
    Some(format!("{prefix}:{operation}"))
}

/// The IAM action a recorded call needs, as `prefix:Action`. Query and JSON protocols name
/// the operation, under the IAM prefix of the service the call was signed for; REST calls
/// (S3, Lambda, GuardDuty, API Gateway) are recognised by method and path. A REST call not
/// mapped here panics, so that a rule's new call cannot slip past the check unnamed.
pub fn iam_action(call: &Recorded) -> String {
    let prefix = iam_prefix(&call.service);
    // REST calls are recorded as `METHOD /path?query`; operation names have no space.
    let Some((method, target)) = call.action.split_once(" /") else {
        return format!("{prefix}:{}", call.action);
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // The first query key names an S3 subresource (`?acl`, `?tagging=`, …).
    let subresource = query.split(['&', '=']).next().unwrap_or_default();
    let get_or_put = if method == "GET" { "Get" } else { "Put" };
    let operation = match (prefix, method, segments.as_slice(), subresource) {
        // API Gateway's IAM actions are the HTTP methods themselves.
        ("apigateway", _, _, _) => method.to_owned(),
        ("s3", "GET", [_bucket], "policy") => "GetBucketPolicy".into(),
        ("s3", "PUT", [_bucket], "policy") => "PutBucketPolicy".into(),
        ("s3", "DELETE", [_bucket], "policy") => "DeleteBucketPolicy".into(),
        ("s3", "GET", [_bucket], "encryption") => "GetEncryptionConfiguration".into(),
        ("s3", "PUT", [_bucket], "encryption") => "PutEncryptionConfiguration".into(),
        ("s3", "GET", [_bucket], "versioning") => "GetBucketVersioning".into(),
        ("s3", "PUT", [_bucket], "versioning") => "PutBucketVersioning".into(),
        ("s3", _, [_bucket], "acl") => format!("{get_or_put}BucketAcl"),
        ("s3", _, [_bucket], "tagging") => format!("{get_or_put}BucketTagging"),
        ("s3", _, [_bucket], "publicAccessBlock") => {
            format!("{get_or_put}BucketPublicAccessBlock")
        }
        // Object and bucket-level calls of the artifact buckets (remedy's own, not rules').
        ("s3", "GET" | "HEAD", [_bucket, _key, ..], _) => "GetObject".into(),
        ("s3", "PUT", [_bucket, _key, ..], _) => "PutObject".into(),
        ("s3", "GET" | "HEAD", [_bucket], "" | "list-type" | "prefix") => "ListBucket".into(),
        ("s3", "GET", [_bucket], "location") => "GetBucketLocation".into(),
        ("lambda", "GET", [_, "functions", _, "configuration"], _) => {
            "GetFunctionConfiguration".into()
        }
        ("lambda", "PUT", [_, "functions", _, "configuration"], _) => {
            "UpdateFunctionConfiguration".into()
        }
        ("lambda", "GET", [_, "functions", _, "policy"], _) => "GetPolicy".into(),
        ("lambda", "DELETE", [_, "functions", _, "policy", _], _) => "RemovePermission".into(),
        ("lambda", "GET", [_, "tags", ..], _) => "ListTags".into(),
        ("lambda", "POST", [_, "functions", _, "invocations"], _) => "InvokeFunction".into(),
        ("guardduty", "GET", ["detector"], _) => "ListDetectors".into(),
        ("guardduty", "POST", ["detector"], _) => "CreateDetector".into(),
        ("guardduty", "GET", ["detector", _], _) => "GetDetector".into(),
        ("guardduty", "POST", ["detector", _], _) => "UpdateDetector".into(),
        _ => panic!(
            "unmapped REST call {} to {}: name its IAM action in support::iam_action",
            call.action, call.service
        ),
    };
    format!("{prefix}:{operation}")
}

/// The IAM prefix of a SigV4 service name. For every service these rules call, the two are
/// the same (checked against the SDKs' signing names); a service missing here panics, so
/// that one whose two names differ gets an explicit mapping here.
fn iam_prefix(service: &str) -> &str {
    match service {
        "apigateway" | "cloudformation" | "cloudtrail" | "codebuild" | "config" | "ec2"
        | "guardduty" | "iam" | "kinesis" | "kms" | "lambda" | "organizations" | "rds"
        | "redshift" | "s3" | "sns" | "sqs" | "ssm" | "sts" | "dynamodb" | "logs"
        | "secretsmanager" => service,
        "" => panic!("a recorded call was not signed: its service is unknown"),
        other => panic!("SigV4 service {other}: add its IAM prefix to support::iam_prefix"),
    }
}

/// The context `run_rule` uses, for tests that need to adjust it.
pub fn rule_context(
    emulator: &Emulator,
    finding: serde_json::Value,
    settings: &[(&str, &str)],
    dry_run: bool,
) -> Context {
    let finding: remedy_functions::finding::Finding =
        serde_json::from_value(finding).expect("a finding");
    let rule = remedy_functions::find_rule(&finding.rule_id).expect("a catalog rule");
    let mut all_settings: std::collections::BTreeMap<String, String> = rule
        .settings
        .iter()
        .filter_map(|s| Some((s.name.to_owned(), s.default?.to_owned())))
        .collect();
    all_settings.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let region = finding
        .region
        .clone()
        .filter(|r| r != "global")
        .unwrap_or_else(|| REGION.to_owned());
    Context {
        rule,
        aws: emulator
            .sdk_config()
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build(),
        finding,
        settings: all_settings,
        dry_run,
        account_id: MANAGEMENT_ACCOUNT.to_owned(),
        region,
    }
}

/// A FAILURE finding for `rule_id` about `resource`, as Conformity would send it.
pub fn finding(rule_id: &str, resource: &str) -> serde_json::Value {
    serde_json::json!({
        "ruleId": rule_id,
        "status": "FAILURE",
        "region": REGION,
        "riskLevel": "HIGH",
        "categories": ["security"],
        "resource": resource,
        "message": format!("{rule_id} on {resource}"),
        "resolutionPageURL": "https://www.cloudconformity.com/knowledge-base/"
    })
}

/// The S3 ACL groups the public-grant rules look for.
pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
pub const AUTHENTICATED: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// A bucket ACL grant to one of the S3 groups.
/// Adds a grant of `permission` to `group` to `bucket`'s ACL, keeping its other grants.
pub async fn add_group_grant(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    group: &str,
    permission: aws_sdk_s3::types::Permission,
) {
    let acl = s3.get_bucket_acl().bucket(bucket).send().await.unwrap();
    let mut grants = acl.grants().to_vec();
    grants.push(group_grant(group, permission));
    s3.put_bucket_acl()
        .bucket(bucket)
        .access_control_policy(
            aws_sdk_s3::types::AccessControlPolicy::builder()
                .set_grants(Some(grants))
                .set_owner(acl.owner().cloned())
                .build(),
        )
        .send()
        .await
        .unwrap();
}

pub fn group_grant(
    uri: &str,
    permission: aws_sdk_s3::types::Permission,
) -> aws_sdk_s3::types::Grant {
    use aws_sdk_s3::types::{Grant, Grantee, Type};
    Grant::builder()
        .grantee(
            Grantee::builder()
                .r#type(Type::Group)
                .uri(uri)
                .build()
                .expect("a grantee"),
        )
        .permission(permission)
        .build()
}

/// Whether all four public access block settings of `bucket` are on (read back from S3).
pub async fn blocks_all_public_access(s3: &aws_sdk_s3::Client, bucket: &str) -> bool {
    let out = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("a public access block");
    let Some(c) = out.public_access_block_configuration() else {
        return false;
    };
    [
        c.block_public_acls(),
        c.ignore_public_acls(),
        c.block_public_policy(),
        c.restrict_public_buckets(),
    ]
    .iter()
    .all(|v| *v == Some(true))
}

/// A date `days` from today (UTC), as an exception's `expires` takes it.
pub fn in_days(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    remedy_functions::exceptions::date_of(remedy_functions::exceptions::day_of(now) + days)
}
