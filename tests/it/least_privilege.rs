//! Caller closure: every call remedy really makes, recorded by the emulator, is allowed by
//! the policies our own templates give the role that makes it — on real AWS's terms, which
//! moto does not apply (it evaluates policies against resource `*` only).
//!
//! - Calls signed with a member account's assumed credentials: the bootstrap's
//!   `CrossAccountRole` (stacks/account-bootstrap.yaml), resources and conditions included.
//! - Calls signed with the security account's credentials: the role that runs that command
//!   there — `remedy publish` the pipeline's `BuildRole`, `remedy deploy` its `DeployRole`
//!   (pipeline/pipeline.yaml), `remedy onboard` the hook's `OnboardRole`
//!   (pipeline/onboarding.yaml).
//!
//! (`deploy --in-account` against the bootstrap's `DeployProjectRole`: tests/it/delivery.rs.)
//! A new API call without its permission in those templates fails here.

use crate::support;

use support::iam::{allows, requests_of, wildcard, Request, Template};
use support::{remedy, Emulator, Org, Recorded, Workdir, MANAGEMENT_ACCOUNT, REGION};

const EXTERNAL_ID: &str = "remedy-external-id";

fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The bootstrap stack as an Account Vending Machine installs it in `account`.
fn bootstrap(account: &str) -> Template {
    Template::load(
        &root().join("stacks/account-bootstrap.yaml"),
        &[
            ("AWS::AccountId", account),
            ("AWS::Region", REGION),
            ("AWS::StackName", "remedy-bootstrap"),
            ("SecurityAccountId", MANAGEMENT_ACCOUNT),
            ("ExternalId", EXTERNAL_ID),
        ],
    )
}

fn pipeline() -> Template {
    Template::load(
        &root().join("pipeline/pipeline.yaml"),
        &[
            ("AWS::AccountId", MANAGEMENT_ACCOUNT),
            ("AWS::Region", REGION),
            ("AWS::StackName", "remedy-pipeline"),
            ("Repository", "example/remedy-config"),
        ],
    )
}

fn onboarding() -> Template {
    Template::load(
        &root().join("pipeline/onboarding.yaml"),
        &[
            ("AWS::AccountId", MANAGEMENT_ACCOUNT),
            ("AWS::Region", REGION),
            ("AWS::StackName", "remedy-onboarding"),
            ("ManagementAccountId", MANAGEMENT_ACCOUNT),
        ],
    )
}

fn config(mode: &str) -> String {
    format!(
        "regions: [us-east-1]\npackage: package.zip\nrole: {{external_id: {EXTERNAL_ID}, execution_role: remedy-cloudformation}}\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\nrules:\n  S3-001: {mode}\n  EC2-002: remediate\n"
    )
}

/// Checks every call of `calls`: a member account's against its cross-account role (in
/// `account`), the security account's against `security_role` of `security_template`.
/// Returns the actions checked on each side, so that a test can say the check was not
/// vacuous.
fn check_closure(
    emulator: &Emulator,
    calls: &[Recorded],
    account: &str,
    (security_template, security_role): (&Template, &str),
) -> (Vec<String>, Vec<String>) {
    let member_role = "CrossAccountRole";
    let member = bootstrap(account).role_statements(member_role);
    let security = security_template.role_statements(security_role);
    let (mut member_actions, mut security_actions) = (Vec::new(), Vec::new());
    let mut refused = Vec::new();
    for call in calls {
        let ours = call.access_key == emulator.keys().0;
        let requests = if ours {
            requests_of(call, MANAGEMENT_ACCOUNT, "remedy-artifacts")
        } else {
            requests_of(call, account, "remedy")
        };
        for request in requests {
            let (statements, side) = if ours {
                security_actions.push(request.action.clone());
                (&security, security_role)
            } else {
                member_actions.push(request.action.clone());
                (&member, member_role)
            };
            if let Err(why) = allows(statements, &request) {
                refused.push(format!(
                    "{side} may not {} on {} ({:?}): {why}",
                    request.action, request.resource, request.context
                ));
            }
        }
    }
    refused.sort();
    refused.dedup();
    assert!(
        refused.is_empty(),
        "calls remedy makes that its templates do not allow:\n{}",
        refused.join("\n")
    );
    (member_actions, security_actions)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_of_a_deploy_is_allowed_by_the_roles_our_templates_install() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.account("dev-00", "/Workloads/Dev").await;
    emulator.create_role(&dev).await;
    let work = Workdir::new(&config("remediate"));

    // The pipeline's Build stage publishes the package, with its BuildRole.
    emulator.start_recording();
    let publish = remedy(
        &emulator,
        work.path(),
        &["publish", "--package", "package.zip"],
    );
    assert_eq!(publish.code, 0, "{}", publish.stderr);
    let calls = emulator.recording();
    let (_, built) = check_closure(&emulator, &calls, &dev, (&pipeline(), "BuildRole"));
    for needed in ["cloudformation:CreateStack", "s3:PutObject"] {
        assert!(
            built.iter().any(|a| a == needed),
            "publishing made no {needed}: {built:?}"
        );
    }

    // Then its Deploy stage, with the DeployRole.
    emulator.start_recording();
    // First deploy (CreateStack), a no-op, an update, a plan of a change, the fleet's status.
    let first = remedy(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let again = remedy(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    work.write("remedy.yaml", &config("dry-run"));
    let update = remedy(
        &emulator,
        work.path(),
        &["deploy", "--stage", "dev", "--yes"],
    );
    assert_eq!(update.code, 0, "{}", update.stderr);
    work.write("remedy.yaml", &config("notify"));
    let plan = remedy(&emulator, work.path(), &["plan", "--stage", "dev"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let status = remedy(&emulator, work.path(), &["status", "--stage", "dev"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    // The kill switch: pause writes the parameter, status reads it, resume deletes it.
    let pause = remedy(&emulator, work.path(), &["pause", "--rule", "S3-001"]);
    assert_eq!(pause.code, 0, "{}", pause.stderr);
    let status = remedy(&emulator, work.path(), &["status", "--stage", "dev"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let resume = remedy(&emulator, work.path(), &["resume", "--yes"]);
    assert_eq!(resume.code, 0, "{}", resume.stderr);
    let mut calls = emulator.recording();
    // The ledger: `history` reads the orchestrator's log group. The emulator runs no code,
    // so the group a handled finding leaves is made here (if the stack has not), unrecorded.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&emulator.account_config(&dev, REGION).await);
    let _already_there = logs
        .create_log_group()
        .log_group_name("/aws/lambda/AutoRemediateOrchestrator")
        .send()
        .await;
    // The ledger holds one record of an S3-001 fix, so that `undo` has something to put
    // back (the emulator runs no function: the record is written here, unrecorded).
    let removed = serde_json::json!([{"kind": "acl_grant", "bucket": "leaky",
        "grantee": "http://acs.amazonaws.com/groups/global/AllUsers", "permission": "READ"}]);
    let record = serde_json::json!({"ledger": 1, "record_id": "00000000000000c1",
        "outcome": "remediated", "rule_id": "S3-001", "region": REGION, "resource": "leaky",
        "removed": removed});
    let _stream = logs
        .create_log_stream()
        .log_group_name("/aws/lambda/AutoRemediateOrchestrator")
        .log_stream_name("undo")
        .send()
        .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    logs.put_log_events()
        .log_group_name("/aws/lambda/AutoRemediateOrchestrator")
        .log_stream_name("undo")
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now)
                .message(record.to_string())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    emulator.start_recording();
    let history = remedy(&emulator, work.path(), &["history", "--stage", "dev"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(history.stdout.contains("1 read"), "{}", history.stdout);
    // Undo through the rule's own function. The emulator's Invoke echoes the request (it
    // runs no code), so the answer is not a report: what is checked here is the call.
    let undo = remedy(
        &emulator,
        work.path(),
        &["undo", "--record", "00000000000000c1", "--yes"],
    );
    assert!(
        undo.stdout.contains("AutoRemediateS3-001"),
        "{}{}",
        undo.stdout,
        undo.stderr
    );
    // The preflight: the role simulates its own and the execution role's policies.
    // The package is published by now: the account reads it.
    let doctor = remedy(
        &emulator,
        work.path(),
        &["doctor", "--stage", "dev", "--output", "json"],
    );
    let checks = doctor.json()["accounts"][0]["checks"].clone();
    let artifacts = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "artifacts")
        .cloned();
    assert_eq!(
        artifacts.as_ref().map(|c| c["status"].clone()),
        Some(serde_json::json!("ok")),
        "{checks}"
    );
    // And the stack removed, by id, through the execution role.
    let removed = remedy(
        &emulator,
        work.path(),
        &["remove", "--stage", "dev", "--yes"],
    );
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    calls.extend(emulator.recording());

    let (member, security) = check_closure(&emulator, &calls, &dev, (&pipeline(), "DeployRole"));
    for needed in [
        "cloudformation:CreateStack",
        "cloudformation:DescribeStacks",
        "cloudformation:CreateChangeSet",
        // The plan reads the deployed rules back for its diff in remedy's terms.
        "cloudformation:GetTemplate",
        "iam:PassRole",
        "ssm:GetParameter",
        "ssm:PutParameter",
        "ssm:DeleteParameter",
        "logs:FilterLogEvents",
        "lambda:InvokeFunction",
        "cloudformation:DeleteStack",
        "iam:SimulatePrincipalPolicy",
    ] {
        assert!(
            member.iter().any(|a| a == needed),
            "the scenario made no {needed} in the member account: {member:?}"
        );
    }
    for needed in [
        "sts:AssumeRole",
        "organizations:ListAccountsForParent",
        "cloudformation:DescribeStacks",
    ] {
        assert!(
            security.iter().any(|a| a == needed),
            "the scenario made no {needed} in the security account: {security:?}"
        );
    }
}

/// With `--connect` (the hook's `ConnectToConformity`): the API key read from the secret of
/// the conventional name, then the account connected in a stand-in of Conformity's API.
#[tokio::test(flavor = "multi_thread")]
async fn every_call_of_onboarding_a_vended_account_is_allowed() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.account("dev-00", "/Workloads/Dev").await;
    let vended = org.account("vended", "/Workloads/Dev").await;
    emulator.create_role(&vended).await;
    let key = "least-privilege-conformity-key";
    let server = support::conformity::Server::start(key, &[&vended]);
    let secret = support::conformity::key_secret(&emulator, "remedy/conformity-api-key", key).await;
    let work = Workdir::new(&config("remediate").replace(
        "stages:",
        &format!(
            "conformity:\n  api:\n    url: {}\n    api_key_secret: {secret}\nstages:",
            server.url
        ),
    ));
    // The release the hook runs is published (and promoted) by the pipeline beforehand.
    let publish = remedy(
        &emulator,
        work.path(),
        &["publish", "--package", "package.zip"],
    );
    assert_eq!(publish.code, 0, "{}", publish.stderr);

    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "onboard",
            "--account",
            &vended,
            "--package",
            "package.zip",
            "--connect",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.settings().len(), 1, "{}", run.stderr);
    let calls = emulator.recording();
    let (member, security) =
        check_closure(&emulator, &calls, &vended, (&onboarding(), "OnboardRole"));
    for needed in ["sts:AssumeRole", "secretsmanager:GetSecretValue"] {
        assert!(security.iter().any(|a| a == needed), "{security:?}");
    }
    assert!(
        member.iter().any(|a| a == "cloudformation:CreateStack"),
        "{member:?}"
    );
}

/// The evaluator itself: a check that cannot refuse proves nothing.
#[test]
fn the_evaluator_refuses_what_the_bootstrap_does_not_grant() {
    let role = bootstrap("111111111111").role_statements("CrossAccountRole");
    let stack = "arn:aws:cloudformation:us-east-1:111111111111:stack/remedy/1";
    assert!(allows(&role, &Request::new("cloudformation:DescribeStacks", stack)).is_ok());
    // Another stack, another account, another action: refused.
    let other = "arn:aws:cloudformation:us-east-1:111111111111:stack/prod-app/1";
    assert!(allows(&role, &Request::new("cloudformation:DescribeStacks", other)).is_err());
    let elsewhere = "arn:aws:cloudformation:us-east-1:222222222222:stack/remedy/1";
    assert!(allows(
        &role,
        &Request::new("cloudformation:DescribeStacks", elsewhere)
    )
    .is_err());
    assert!(allows(&role, &Request::new("iam:CreateRole", "*")).is_err());
    // PassRole: only the execution role, only to CloudFormation.
    let execution = "arn:aws:iam::111111111111:role/remedy-cloudformation";
    let pass = Request::new("iam:PassRole", execution);
    assert!(allows(&role, &pass).is_err(), "no iam:PassedToService");
    let to_cfn = pass.with("iam:PassedToService", "cloudformation.amazonaws.com");
    assert!(allows(&role, &to_cfn).is_ok());
    let to_lambda =
        Request::new("iam:PassRole", execution).with("iam:PassedToService", "lambda.amazonaws.com");
    assert!(allows(&role, &to_lambda).is_err());

    // The kill switch: that one parameter, not another.
    let switch = "arn:aws:ssm:eu-west-1:111111111111:parameter/remedy/paused";
    assert!(allows(&role, &Request::new("ssm:PutParameter", switch)).is_ok());
    let other = "arn:aws:ssm:eu-west-1:111111111111:parameter/remedy/other";
    assert!(allows(&role, &Request::new("ssm:PutParameter", other)).is_err());
    assert!(allows(&role, &Request::new("ssm:GetParametersByPath", switch)).is_err());

    // The ledger: the orchestrator's log group, read only.
    let ledger =
        "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/AutoRemediateOrchestrator";
    assert!(allows(&role, &Request::new("logs:FilterLogEvents", ledger)).is_ok());
    let other = "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/payments";
    assert!(allows(&role, &Request::new("logs:FilterLogEvents", other)).is_err());
    assert!(allows(&role, &Request::new("logs:PutLogEvents", ledger)).is_err());

    // Undo: a rule function may be invoked, the orchestrator never (findings reach it
    // through the topic only), nor another function.
    let rule = "arn:aws:lambda:eu-west-1:111111111111:function:AutoRemediateS3-001";
    assert!(allows(&role, &Request::new("lambda:InvokeFunction", rule)).is_ok());
    let orchestrator = "arn:aws:lambda:eu-west-1:111111111111:function:AutoRemediateOrchestrator";
    assert!(allows(&role, &Request::new("lambda:InvokeFunction", orchestrator)).is_err());
    let qualified = format!("{orchestrator}:$LATEST");
    assert!(allows(&role, &Request::new("lambda:InvokeFunction", qualified)).is_err());
    let other = "arn:aws:lambda:eu-west-1:111111111111:function:payments";
    assert!(allows(&role, &Request::new("lambda:InvokeFunction", other)).is_err());

    assert!(wildcard("arn:aws:s3:::b-*/*", "arn:aws:s3:::b-1/k"));
    assert!(!wildcard("arn:aws:s3:::b-*/*", "arn:aws:s3:::b-1"));
    assert!(wildcard("AutoRemediate*-???", "AutoRemediateS3-001"));
    assert!(!wildcard("stack/remedy/*", "stack/remedy-x/1"));
}
