//! Delivery against the emulator: `remedy publish` (once, then skipped), the codebuild engine
//! (one build per target, success and a stopped build), `deploy --in-account` (its own
//! account only), and the account bootstrap stack (deployed as far as moto goes, the rest
//! checked in the template).

use crate::support;

use aws_sdk_codebuild::types::{
    ComputeType, EnvironmentType, ProjectArtifacts, ProjectEnvironment, ProjectSource, SourceType,
};
use remedy::aws::identity::Identity;
use remedy::core::outcome::Outcome;
use remedy::core::targets::Target;
use remedy::core::targets::TargetAccount;
use remedy::engine::codebuild::{BuildProject, CodeBuildEngine};
use remedy::engine::{Deployment, EngineOptions};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use support::replay::Replay;
use support::{remedy, stack_state, Emulator, Org, Workdir, MANAGEMENT_ACCOUNT, REGION};

fn config(engine: &str) -> String {
    format!(
        "regions: [us-east-1, eu-west-1]\npackage: package.zip\nengine: {engine}\ncodebuild: {{project: remedy-deploy}}\nstages:\n  - name: dev\n    targets: {{ous: [/Workloads/Dev]}}\n  - name: prod\n    home_region: eu-west-1\n    targets: {{ous: [/Workloads/Dev]}}\nrules:\n  S3-001: remediate\n"
    )
}

/// The project `stacks/account-bootstrap.yaml` installs, made directly (moto's
/// CloudFormation does not create CodeBuild projects).
async fn create_project(emulator: &Emulator, account: &str) {
    let codebuild = aws_sdk_codebuild::Client::new(&emulator.account_config(account, REGION).await);
    codebuild
        .create_project()
        .name("remedy-deploy")
        .source(
            ProjectSource::builder()
                .r#type(SourceType::NoSource)
                .location("none")
                .buildspec("version: 0.2")
                .build()
                .unwrap(),
        )
        .artifacts(
            ProjectArtifacts::builder()
                .r#type(aws_sdk_codebuild::types::ArtifactsType::NoArtifacts)
                .build()
                .unwrap(),
        )
        .environment(
            ProjectEnvironment::builder()
                .r#type(EnvironmentType::LinuxContainer)
                .image("aws/codebuild/amazonlinux-x86_64-standard:5.0")
                .compute_type(ComputeType::BuildGeneral1Small)
                .build()
                .unwrap(),
        )
        .service_role(format!("arn:aws:iam::{account}:role/remedy-deploy"))
        .send()
        .await
        .expect("create project");
}

async fn object_exists(emulator: &Emulator, region: &str, key: &str) -> bool {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&emulator.sdk_config())
            .region(aws_sdk_s3::config::Region::new(region.to_owned()))
            .force_path_style(true)
            .build(),
    );
    s3.head_object()
        .bucket(format!("remedy-artifacts-{MANAGEMENT_ACCOUNT}-{region}"))
        .key(key)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_uploads_once_and_skips_what_is_there() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.accounts_in("dev", "/Workloads/Dev", 1).await;
    let work = Workdir::new(&config("direct"));

    let first = remedy(&emulator, work.path(), &["publish", "--output", "json"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let doc = first.json();
    let objects = doc["objects"].as_array().unwrap();
    let keys: BTreeSet<(String, String)> = objects
        .iter()
        .map(|o| {
            (
                o["region"].as_str().unwrap().to_owned(),
                o["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys.len(),
        6,
        "package, config, release manifest in each stage's home region: {keys:?}"
    );
    assert_eq!(doc["uploaded"], 6, "{doc}");
    assert_eq!(doc["skipped"], 0);
    for (region, key) in &keys {
        assert!(
            object_exists(&emulator, region, key).await,
            "{region} {key}"
        );
    }
    assert!(keys.iter().any(|(_, k)| k.starts_with("configs/")));
    let release = doc["release"].as_str().unwrap().to_owned();
    assert_eq!(
        release,
        format!("releases/{}.json", doc["hash"].as_str().unwrap())
    );

    // Again: everything is there, nothing is uploaded.
    emulator.start_recording();
    let second = remedy(&emulator, work.path(), &["publish", "--output", "json"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.json()["uploaded"], 0);
    assert_eq!(second.json()["skipped"], 6);
    let puts = emulator
        .recording()
        .iter()
        .filter(|r| r.action.starts_with("PUT /remedy-artifacts"))
        .count();
    assert_eq!(puts, 0, "no PutObject the second time");

    // --promote points releases/promoted.json at this release, in every region.
    let promoted = remedy(
        &emulator,
        work.path(),
        &["publish", "--promote", "--output", "json"],
    );
    assert_eq!(promoted.code, 0, "{}", promoted.stderr);
    for region in ["us-east-1", "eu-west-1"] {
        assert!(object_exists(&emulator, region, "releases/promoted.json").await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_codebuild_engine_starts_one_build_per_target_and_reports_success() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    for account in &dev {
        create_project(&emulator, account).await;
    }
    // An exception for dev[0] alone: its build is handed its own list (the build cannot
    // list OUs), and its own hash.
    let expires = support::in_days(30);
    let work = Workdir::new(&format!(
        "{}exceptions:\n  - {{id: site, rules: [S3-001], accounts: [\"{}\"], resources: [\"site-*\"], reason: r, owner: o, expires: {expires}}}\n",
        config("codebuild"),
        dev[0]
    ));
    emulator.start_recording();
    let run = remedy(
        &emulator,
        work.path(),
        &["deploy", "--yes", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(
        doc["summary"]["created"], 2,
        "one stack per account, in the home region: {doc}"
    );

    let recorded = emulator.recording();
    let builds: Vec<&support::Recorded> = recorded
        .iter()
        .filter(|r| r.action == "StartBuild")
        .collect();
    assert_eq!(builds.len(), 2, "one build per account, in its home region");
    let mut seen_regions = BTreeSet::new();
    let mut handed = BTreeSet::new();
    for build in &builds {
        // The project runs in the stage's home region, which the override names.
        assert_eq!(build.region, "us-east-1");
        let body: serde_json::Value = serde_json::from_str(&build.body).unwrap();
        assert_eq!(body["projectName"], "remedy-deploy");
        let vars: std::collections::BTreeMap<String, String> = body["environmentVariablesOverride"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_owned(),
                    v["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(vars["REMEDY_STAGE"], "dev");
        assert_eq!(vars["REMEDY_ARTIFACT_ACCOUNT"], MANAGEMENT_ACCOUNT);
        assert_eq!(vars["REMEDY_EXPECTED_HASH"].len(), 32);
        assert!(vars["REMEDY_PACKAGE_KEY"].starts_with("packages/"));
        seen_regions.insert(vars["REMEDY_REGION"].clone());
        handed.insert((
            vars["REMEDY_EXCEPTIONS"].contains("\"site\""),
            vars["REMEDY_EXPECTED_HASH"].clone(),
        ));
        // The build reads the configuration from the project region's bucket.
        assert!(object_exists(&emulator, "us-east-1", &vars["REMEDY_CONFIG_KEY"]).await);
    }
    assert_eq!(seen_regions, ["us-east-1".to_owned()].into());
    let lists: Vec<bool> = handed.iter().map(|(listed, _)| *listed).collect();
    let hashes: BTreeSet<&String> = handed.iter().map(|(_, hash)| hash).collect();
    assert_eq!(lists.len(), 2, "{handed:?}");
    assert!(
        lists.contains(&true) && lists.contains(&false),
        "{handed:?}"
    );
    assert_eq!(hashes.len(), 2, "each account its own hash: {handed:?}");
    // Nothing in the other covered region: the accounts were not reached there at all.
    let elsewhere: Vec<&str> = recorded
        .iter()
        .filter(|r| r.region == "eu-west-1" && r.access_key != "testing")
        .map(|r| r.action.as_str())
        .collect();
    assert!(
        elsewhere.is_empty(),
        "member calls in eu-west-1: {elsewhere:?}"
    );
    // Polled until done.
    assert!(recorded.iter().any(|r| r.action == "BatchGetBuilds"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_build_is_a_failure_named_with_its_phase_and_logs() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("dev-00", "/Workloads/Dev").await;
    create_project(&emulator, &account).await;
    // moto's BatchGetBuilds says SUCCEEDED for every build: the stopped one is a file.
    let replay = Replay::new();
    replay.answer("BatchGetBuilds", "codebuild/batch-get-builds-stopped.json");
    let base = replay.sdk_config(&emulator).await;
    let deployment = Deployment {
        stack_name: "remedy".into(),
        templates: Default::default(),
        parameters: Vec::new(),
        tags: Vec::new(),
        hash: "h".into(),
        roles: 0,
        exceptions: None,
        variants: Default::default(),
    };
    let build = BuildProject {
        project: "remedy-deploy".into(),
        stage: "dev".into(),
        artifact_account: MANAGEMENT_ACCOUNT.into(),
        package_key: "packages/0.zip".into(),
        config_key: "configs/0.yaml".into(),
    };
    let options = EngineOptions {
        fix_rollback: false,
        target_timeout: Duration::from_secs(60),
    };
    let engine = Arc::new(CodeBuildEngine::new(
        Arc::new(Identity::new(base, "CloudConformity", None, "stopped")),
        deployment,
        build,
        options,
    ));
    let target = Target {
        account: TargetAccount {
            id: account.clone(),
            name: "dev-00".into(),
            ou_path: "/Workloads/Dev".into(),
        },
        region: REGION.into(),
    };
    let result = engine.deploy(target).await;
    assert_eq!(result.outcome, Outcome::Failed, "{result:?}");
    let reason = result.reason.unwrap_or_default();
    assert!(
        reason.starts_with("build remedy-deploy:7c1d9e52-1c2a-4f7e-9d55-2a0f1e6b8c31 STOPPED in phase BUILD (BUILD_STOPPED: Build was stopped); logs: https://console.aws.amazon.com/cloudwatch/"),
        "{reason}"
    );
    let actions: Vec<String> = replay.take_seen().into_iter().map(|(a, _)| a).collect();
    assert_eq!(actions, ["DescribeStacks", "StartBuild", "BatchGetBuilds"]);
}

/// The build commands of the bootstrap project's buildspec, as CodeBuild would run them.
fn buildspec_build_commands() -> Vec<String> {
    let template: serde_json::Value = serde_yaml::from_str(BOOTSTRAP).expect("YAML");
    let buildspec = template["Resources"]["DeployProject"]["Properties"]["Source"]["BuildSpec"]
        .as_str()
        .expect("an inline buildspec");
    let buildspec: serde_json::Value = serde_yaml::from_str(buildspec).expect("buildspec YAML");
    buildspec["phases"]["build"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

async fn download(emulator: &Emulator, key: &str, to: &std::path::Path) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&emulator.sdk_config())
            .force_path_style(true)
            .build(),
    );
    let object = s3
        .get_object()
        .bucket(format!("remedy-artifacts-{MANAGEMENT_ACCOUNT}-{REGION}"))
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:?}"));
    let bytes = object.body.collect().await.unwrap().into_bytes();
    std::fs::write(to, bytes).unwrap();
}

/// What the codebuild engine's build does inside a member account, with the buildspec's own
/// command lines: it downloads what `publish` uploaded and deploys its own account only,
/// through the execution role; a configuration other than the published one is refused.
#[tokio::test(flavor = "multi_thread")]
async fn in_account_deploys_its_own_account_only() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 2).await;
    let work = Workdir::new(
        "regions: [us-east-1]\npackage: package.zip\nrole: {execution_role: remedy-cloudformation}\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n",
    );
    let published = remedy(&emulator, work.path(), &["publish", "--output", "json"]);
    assert_eq!(published.code, 0, "{}", published.stderr);
    let doc = published.json();
    // The stage's hash, as the codebuild engine passes it (REMEDY_EXPECTED_HASH).
    let hash = doc["stages"]["dev"].as_str().unwrap().to_owned();
    let key = |prefix: &str| -> String {
        doc["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["key"].as_str().unwrap().to_owned())
            .find(|k| k.starts_with(prefix))
            .unwrap()
    };
    let (package_key, config_key) = (key("packages/"), key("configs/"));

    // The build's folder: the buildspec's install phase, done here (no aws CLI): the binary,
    // the package and the configuration from the artifact bucket.
    let build = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_remedy"), build.path().join("remedy")).unwrap();
    download(
        &emulator,
        &package_key,
        &build.path().join("remedy-lambda.zip"),
    )
    .await;
    download(&emulator, &config_key, &build.path().join("remedy.yaml")).await;

    // Inside dev[0], with its own credentials (as its CodeBuild project has them).
    let sts = aws_sdk_sts::Client::new(&emulator.sdk_config());
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{}:role/remedy-deploy", dev[0]))
        .role_session_name("codebuild")
        .send()
        .await
        .unwrap();
    let creds = assumed.credentials().unwrap().clone();
    let run_build = |expected_hash: &str| -> support::Run {
        let script = buildspec_build_commands().join("\n");
        support::shell_command(&emulator, build.path(), &script)
            .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
            .env("AWS_SESSION_TOKEN", creds.session_token())
            .env("REMEDY_STAGE", "dev")
            .env("REMEDY_REGION", REGION)
            .env("REMEDY_ARTIFACT_ACCOUNT", MANAGEMENT_ACCOUNT)
            .env("REMEDY_PACKAGE_KEY", &package_key)
            .env("REMEDY_CONFIG_KEY", &config_key)
            .env("REMEDY_EXPECTED_HASH", expected_hash)
            .env("REMEDY_FIX_ROLLBACK", "false")
            .env("REMEDY_TARGET_TIMEOUT", "5m")
            .output()
            .unwrap()
            .into()
    };

    // A configuration or package other than the published one is refused, before any change.
    let wrong = run_build("00000000000000000000000000000000");
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("--expect-hash"), "{}", wrong.stderr);
    assert_eq!(stack_state(&emulator, &dev[0], REGION).await, None);

    emulator.start_recording();
    let run = run_build(&hash);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{doc}");
    assert_eq!(targets[0]["account_id"], dev[0].as_str());
    assert_eq!(targets[0]["outcome"], "created");
    assert!(
        build.path().join("report.md").exists(),
        "the build's report"
    );
    let recorded = emulator.recording();
    // Caller closure: every call made with the project's credentials is one the bootstrap's
    // DeployProjectRole allows, resources and conditions as real AWS evaluates them.
    let project = support::iam::Template::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/account-bootstrap.yaml"),
        &[
            ("AWS::AccountId", dev[0].as_str()),
            ("AWS::Region", REGION),
            ("AWS::StackName", "remedy-bootstrap"),
            ("SecurityAccountId", MANAGEMENT_ACCOUNT),
            ("ExternalId", "remedy-external-id"),
        ],
    )
    .role_statements("DeployProjectRole");
    let mut checked = Vec::new();
    let mut refused = Vec::new();
    for call in recorded
        .iter()
        .filter(|c| c.access_key == creds.access_key_id())
    {
        for request in support::iam::requests_of(call, &dev[0], "remedy") {
            if let Err(why) = support::iam::allows(&project, &request) {
                refused.push(format!("{} on {}: {why}", request.action, request.resource));
            }
            checked.push(request.action);
        }
    }
    assert!(
        checked.iter().any(|a| a == "cloudformation:CreateStack"),
        "the project's calls were checked: {checked:?}"
    );
    assert!(
        refused.is_empty(),
        "DeployProjectRole does not allow:\n{}",
        refused.join("\n")
    );
    assert!(
        recorded
            .iter()
            .all(|r| r.service != "organizations" && r.action != "AssumeRole"),
        "no Organizations call, no role: {:?}",
        recorded.iter().map(|r| &r.action).collect::<Vec<_>>()
    );
    assert!(
        recorded.iter().all(|r| !r.action.starts_with("PUT ")),
        "nothing published from inside the account"
    );
    let created = recorded
        .iter()
        .find(|r| r.action == "CreateStack")
        .expect("the stack created");
    assert_eq!(
        created.params.get("RoleARN").map(String::as_str),
        Some(format!("arn:aws:iam::{}:role/remedy-cloudformation", dev[0]).as_str()),
        "deployed through the execution role"
    );
    let (status, deployed_hash) = stack_state(&emulator, &dev[0], REGION)
        .await
        .expect("deployed");
    assert_eq!(
        (status.as_str(), deployed_hash.as_str()),
        ("CREATE_COMPLETE", hash.as_str())
    );
    assert_eq!(
        stack_state(&emulator, &dev[1], REGION).await,
        None,
        "the other account is untouched"
    );
}

const BOOTSTRAP: &str = include_str!("../../stacks/account-bootstrap.yaml");

/// The bootstrap stack deploys in the emulator as far as it goes: the cross-account role is
/// there, trusted by the security account with the ExternalId condition. (moto skips the
/// CodeBuild project and managed-policy attachments; those are checked in the template.)
#[tokio::test(flavor = "multi_thread")]
async fn the_account_bootstrap_stack_installs_a_role_trusted_by_the_security_account_only() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let account = org.account("vended-00", "/Workloads/Dev").await;
    let config = emulator
        .account_config_as(&account, REGION, "OrganizationAccountAccessRole")
        .await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let parameter = |k: &str, v: &str| {
        aws_sdk_cloudformation::types::Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    };
    cfn.create_stack()
        .stack_name("remedy-bootstrap")
        .template_body(BOOTSTRAP)
        .parameters(parameter("SecurityAccountId", MANAGEMENT_ACCOUNT))
        .parameters(parameter("ExternalId", "ext-4242"))
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .expect("the bootstrap stack");
    let iam = aws_sdk_iam::Client::new(&config);
    let role = iam
        .get_role()
        .role_name("CloudConformity")
        .send()
        .await
        .expect("the role");
    let trust = role
        .role()
        .unwrap()
        .assume_role_policy_document()
        .unwrap_or_default();
    // IAM returns policy documents URL-encoded; moto returns them as written.
    let trust = support::url_decode(trust);
    let trust: serde_json::Value = serde_json::from_str(&trust).expect("a JSON trust policy");
    let statement = &trust["Statement"][0];
    assert_eq!(
        statement["Principal"]["AWS"],
        format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:root")
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["sts:ExternalId"],
        "ext-4242"
    );
}

/// What the emulator cannot show, read from the template: no wildcard actions, every
/// statement on `*` has a reason (an API without resource-level permissions, or a condition
/// that pins it), no `IfExists` condition (it lets untagged resources through), the assumed
/// role can neither make roles nor functions itself (only pass the execution role to
/// CloudFormation), and it may start only its own project.
#[test]
fn the_bootstrap_roles_are_scoped() {
    let template: serde_json::Value = serde_yaml::from_str(BOOTSTRAP).expect("YAML");
    let resources = &template["Resources"];
    let statements = |policy: &str| -> Vec<serde_json::Value> {
        resources[policy]["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .clone()
    };
    let actions = |s: &serde_json::Value| -> Vec<String> {
        match &s["Action"] {
            serde_json::Value::String(a) => vec![a.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            other => panic!("{other}"),
        }
    };
    for policy in ["DeployPolicy", "StackCallerPolicy"] {
        for s in statements(policy) {
            let sid = s["Sid"].as_str().unwrap().to_owned();
            for action in actions(&s) {
                assert!(
                    !action.contains('*'),
                    "{policy}/{sid}: wildcard action {action}"
                );
            }
            // `Resource: "*"` or a list holding "*".
            let on_everything = s["Resource"] == "*"
                || s["Resource"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x == "*"));
            if on_everything {
                assert!(
                    [
                        "DriftStatusHasNoResource",
                        "KeyListsHaveNoResource",
                        "SubscriptionsHaveNoResource",
                        "LogReadsHaveNoResource",
                        // iam:GetAccountSummary authorizes on no resource type.
                        "RoleQuotaHasNoResource",
                    ]
                    .contains(&sid.as_str())
                        || s.get("Condition").is_some(),
                    "{policy}/{sid} is on * without a condition"
                );
            }
            assert!(!s.to_string().contains("IfExists"), "{policy}/{sid}");
        }
    }
    // The assumed role and the project carry the caller policy only.
    for role in ["CrossAccountRole", "DeployProjectRole"] {
        assert_eq!(
            resources[role]["Properties"]["ManagedPolicyArns"],
            serde_json::json!([{"Ref": "StackCallerPolicy"}]),
            "{role}"
        );
    }
    let caller: Vec<String> = statements("StackCallerPolicy")
        .iter()
        .flat_map(actions)
        .collect();
    for forbidden in [
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "lambda:CreateFunction",
        "lambda:UpdateFunctionCode",
        "lambda:AddPermission",
    ] {
        assert!(
            !caller.contains(&forbidden.to_owned()),
            "the caller may not {forbidden}"
        );
    }
    let pass_execution = statements("StackCallerPolicy")
        .into_iter()
        .find(|s| s["Action"] == "iam:PassRole")
        .unwrap();
    assert_eq!(
        pass_execution["Resource"]["Fn::GetAtt"],
        serde_json::json!(["StackExecutionRole", "Arn"])
    );
    assert_eq!(
        pass_execution["Condition"]["StringEquals"]["iam:PassedToService"],
        "cloudformation.amazonaws.com"
    );
    let pass_functions = statements("DeployPolicy")
        .into_iter()
        .find(|s| s["Action"] == "iam:PassRole")
        .unwrap();
    assert_eq!(
        pass_functions["Condition"]["StringEquals"]["iam:PassedToService"],
        "lambda.amazonaws.com"
    );
    let execution_trust =
        &resources["StackExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        execution_trust["Principal"],
        serde_json::json!({"Service": "cloudformation.amazonaws.com"})
    );

    let trust =
        &resources["CrossAccountRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Condition"]["StringEquals"]["sts:ExternalId"]["Ref"],
        "ExternalId"
    );
    assert_eq!(
        trust["Principal"]["AWS"]["Fn::Sub"],
        "arn:${AWS::Partition}:iam::${SecurityAccountId}:root"
    );
    let start = &resources["CrossAccountRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"][0];
    assert_eq!(
        start["Resource"]["Fn::Sub"],
        "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${ProjectName}",
        "the role starts its one project only"
    );
}
