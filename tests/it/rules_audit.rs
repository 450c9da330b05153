//! The audit rules against the emulator (CloudTrail, AWS Config, GuardDuty, CloudFormation,
//! Organizations): create the violation through the SDK, remediate, read the fixed state
//! back, run again and get `compliant`. Remediating runs are recorded (`support::run_checked`):
//! every call must be among the rule's declared IAM actions.
//!
//! The emulator has no UpdateTerminationProtection (CFM-005) and no EnableAllFeatures
//! (Organizations-002): those rules are run here up to their decision (dry run, compliant,
//! skipped, failed); the decisions themselves are unit-tested in their modules.

use crate::support;

use aws_sdk_cloudtrail::types::Tag as TrailTag;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use aws_sdk_s3::types::{AccessControlPolicy, Owner, Permission};
use remedy_functions::rule::{Outcome, Report};
use support::{
    blocks_all_public_access, finding, group_grant, iam_action, rule_context, run_rule, Emulator,
    ALL_USERS, AUTHENTICATED, REGION,
};

/// Runs the rule through `support::run_checked` (every call it made must be declared), and
/// returns the IAM actions of its calls.
async fn run_checked(
    emulator: &Emulator,
    f: serde_json::Value,
    settings: &[(&str, &str)],
    dry_run: bool,
) -> (Report, Vec<String>) {
    let (report, calls) = support::run_checked(emulator, f, settings, dry_run).await;
    (report, calls.iter().map(iam_action).collect())
}

fn s3(emulator: &Emulator) -> aws_sdk_s3::Client {
    remedy::aws::identity::s3_client(&emulator.sdk_config(), REGION, &Default::default())
}

fn cloudtrail(emulator: &Emulator, region: &str) -> aws_sdk_cloudtrail::Client {
    let config = emulator
        .sdk_config()
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    aws_sdk_cloudtrail::Client::new(&config)
}

/// A bucket and a trail writing to it in `region`: single-region, not logging, no log file
/// validation.
async fn trail(emulator: &Emulator, name: &str, region: &str, tags: &[(&str, &str)]) -> String {
    let bucket = format!("{name}-logs");
    s3(emulator)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let mut create = cloudtrail(emulator, region)
        .create_trail()
        .name(name)
        .s3_bucket_name(&bucket);
    for (k, v) in tags {
        create = create.tags_list(TrailTag::builder().key(*k).value(*v).build().unwrap());
    }
    create.send().await.unwrap().trail_arn().unwrap().to_owned()
}

async fn describe(emulator: &Emulator, name: &str) -> aws_sdk_cloudtrail::types::Trail {
    let out = cloudtrail(emulator, REGION)
        .describe_trails()
        .trail_name_list(name)
        .send()
        .await
        .unwrap();
    out.trail_list()
        .iter()
        .find(|t| t.name() == Some(name))
        .cloned()
        .unwrap()
}

async fn is_logging(emulator: &Emulator, name: &str) -> bool {
    let status = cloudtrail(emulator, REGION)
        .get_trail_status()
        .name(name)
        .send()
        .await
        .unwrap();
    status.is_logging() == Some(true)
}

#[tokio::test(flavor = "multi_thread")]
async fn ct_001_makes_the_configured_trail_multi_region_and_logging() {
    let emulator = Emulator::start();
    let arn = trail(&emulator, "main-trail", REGION, &[]).await;
    let settings = [("trail_name", "main-trail")];
    let f = || finding("CT-001", "us-east-1");

    let (report, _) = run_checked(&emulator, f(), &settings, true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(
        report.actions,
        [
            format!("would have made trail {arn} multi-region"),
            format!("would have started logging on trail {arn}")
        ]
    );
    assert_eq!(
        describe(&emulator, "main-trail")
            .await
            .is_multi_region_trail(),
        Some(false),
        "a dry run changes nothing"
    );
    assert!(!is_logging(&emulator, "main-trail").await);

    let (report, calls) = run_checked(&emulator, f(), &settings, false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        calls.contains(&"cloudtrail:UpdateTrail".to_owned())
            && calls.contains(&"cloudtrail:StartLogging".to_owned()),
        "{calls:?}"
    );
    let after = describe(&emulator, "main-trail").await;
    assert_eq!(after.is_multi_region_trail(), Some(true));
    assert_eq!(after.include_global_service_events(), Some(true));
    assert!(is_logging(&emulator, "main-trail").await);
    assert_eq!(
        run_rule(&emulator, f(), &settings, false).await.outcome,
        Outcome::Compliant
    );

    // Without the setting, the finding's resource names the trail.
    cloudtrail(&emulator, REGION)
        .stop_logging()
        .name("main-trail")
        .send()
        .await
        .unwrap();
    let (report, calls) = run_checked(&emulator, finding("CT-001", "main-trail"), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        !calls.contains(&"cloudtrail:UpdateTrail".to_owned()),
        "only logging was off: {calls:?}"
    );
    assert!(is_logging(&emulator, "main-trail").await);

    // Neither: a failure naming the setting.
    let mut nameless = finding("CT-001", "x");
    nameless["resource"] = serde_json::Value::Null;
    let report = run_rule(&emulator, nameless, &[], false).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("trail_name"),
        "{report:?}"
    );

    let report = run_rule(&emulator, f(), &[("trail_name", "no-such-trail")], false).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("no trail no-such-trail"),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ct_007_turns_on_log_file_validation_in_the_trails_home_region() {
    let emulator = Emulator::start();
    trail(&emulator, "local-trail", REGION, &[]).await;

    let (report, _) = run_checked(&emulator, finding("CT-007", "local-trail"), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_ne!(
        describe(&emulator, "local-trail")
            .await
            .log_file_validation_enabled(),
        Some(true)
    );

    let (report, _) = run_checked(&emulator, finding("CT-007", "local-trail"), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        describe(&emulator, "local-trail")
            .await
            .log_file_validation_enabled(),
        Some(true)
    );
    assert_eq!(
        run_rule(&emulator, finding("CT-007", "local-trail"), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // A multi-region trail created in us-west-2, reported in us-east-1 by its ARN.
    let arn = trail(&emulator, "west-trail", "us-west-2", &[]).await;
    cloudtrail(&emulator, "us-west-2")
        .update_trail()
        .name("west-trail")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    let (report, _) = run_checked(&emulator, finding("CT-007", &arn), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let west = cloudtrail(&emulator, "us-west-2")
        .describe_trails()
        .send()
        .await
        .unwrap();
    let west = west
        .trail_list()
        .iter()
        .find(|t| t.name() == Some("west-trail"))
        .unwrap();
    assert_eq!(west.log_file_validation_enabled(), Some(true));
    assert_eq!(
        run_rule(&emulator, finding("CT-007", &arn), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // A trail a user labelled remedy:managed is not remedy's: it is fixed.
    trail(
        &emulator,
        "remedy-trail",
        REGION,
        &[("remedy:managed", "true")],
    )
    .await;
    assert_eq!(
        run_rule(&emulator, finding("CT-007", "remedy-trail"), &[], false)
            .await
            .outcome,
        Outcome::Remediated
    );
    assert_eq!(
        describe(&emulator, "remedy-trail")
            .await
            .log_file_validation_enabled(),
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ct_003_makes_the_trail_bucket_private() {
    let emulator = Emulator::start();
    trail(&emulator, "audit", REGION, &[]).await;
    let s3 = s3(&emulator);
    let acl = s3
        .get_bucket_acl()
        .bucket("audit-logs")
        .send()
        .await
        .unwrap();
    let owner = acl
        .owner()
        .cloned()
        .unwrap_or_else(|| Owner::builder().build());
    let mut grants = acl.grants().to_vec();
    grants.push(group_grant(ALL_USERS, Permission::Read));
    grants.push(group_grant(AUTHENTICATED, Permission::Write));
    s3.put_bucket_acl()
        .bucket("audit-logs")
        .access_control_policy(
            AccessControlPolicy::builder()
                .set_grants(Some(grants))
                .owner(owner)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let public_grants = |acl: &aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput| {
        acl.grants()
            .iter()
            .filter(|g| g.grantee().and_then(|g| g.uri()).is_some())
            .count()
    };

    let (report, _) = run_checked(&emulator, finding("CT-003", "audit"), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(
        report.actions.len(),
        3,
        "two grants and the public access block: {report:?}"
    );
    assert_eq!(
        public_grants(
            &s3.get_bucket_acl()
                .bucket("audit-logs")
                .send()
                .await
                .unwrap()
        ),
        2
    );

    let (report, _) = run_checked(&emulator, finding("CT-003", "audit"), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let acl = s3
        .get_bucket_acl()
        .bucket("audit-logs")
        .send()
        .await
        .unwrap();
    assert_eq!(public_grants(&acl), 0);
    assert!(
        acl.grants()
            .iter()
            .any(|g| g.grantee().and_then(|g| g.id()).is_some()
                && g.permission() == Some(&Permission::FullControl)),
        "the owner keeps FULL_CONTROL"
    );
    assert!(
        blocks_all_public_access(&s3, "audit-logs").await,
        "all four settings on"
    );
    assert_eq!(
        run_rule(&emulator, finding("CT-003", "audit"), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

/// CT-003 on a trail whose bucket lives in another region: the bucket's region is read first
/// (GetBucketLocation) and every S3 call is made there; the Rust SDK does not follow S3's
/// region redirect, so a client of the function's region fails on real S3.
#[tokio::test(flavor = "multi_thread")]
async fn ct_003_fixes_a_trail_bucket_in_another_region() {
    let emulator = Emulator::start();
    let eu =
        remedy::aws::identity::s3_client(&emulator.sdk_config(), "eu-west-1", &Default::default());
    eu.create_bucket()
        .bucket("audit-eu-logs")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    cloudtrail(&emulator, REGION)
        .create_trail()
        .name("audit-eu")
        .s3_bucket_name("audit-eu-logs")
        .send()
        .await
        .unwrap();
    let acl = eu
        .get_bucket_acl()
        .bucket("audit-eu-logs")
        .send()
        .await
        .unwrap();
    let mut grants = acl.grants().to_vec();
    grants.push(group_grant(ALL_USERS, Permission::Read));
    eu.put_bucket_acl()
        .bucket("audit-eu-logs")
        .access_control_policy(
            AccessControlPolicy::builder()
                .set_grants(Some(grants))
                .set_owner(acl.owner().cloned())
                .build(),
        )
        .send()
        .await
        .unwrap();

    let (report, calls) =
        support::run_checked(&emulator, finding("CT-003", "audit-eu"), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let s3_calls: Vec<(String, String)> = calls
        .iter()
        .filter(|c| c.service == "s3")
        .map(|c| (iam_action(c), c.region.clone()))
        .collect();
    assert_eq!(
        s3_calls.first().map(|(action, _)| action.as_str()),
        Some("s3:GetBucketLocation"),
        "{s3_calls:?}"
    );
    for (action, region) in &s3_calls[1..] {
        assert_eq!(region, "eu-west-1", "{action} in {region}: {s3_calls:?}");
    }
    let acl = eu
        .get_bucket_acl()
        .bucket("audit-eu-logs")
        .send()
        .await
        .unwrap();
    assert!(
        !acl.grants()
            .iter()
            .any(|g| g.grantee().and_then(|g| g.uri()).is_some()),
        "{acl:?}"
    );
    assert!(blocks_all_public_access(&eu, "audit-eu-logs").await);
    assert_eq!(
        run_rule(&emulator, finding("CT-003", "audit-eu"), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_001_creates_the_recorder_and_channel_and_starts_recording() {
    let emulator = Emulator::start();
    let config = aws_sdk_config::Client::new(&emulator.sdk_config());
    s3(&emulator)
        .create_bucket()
        .bucket("config-history")
        .send()
        .await
        .unwrap();
    let f = || finding("Config-001", "us-east-1");

    // No channel and no bucket setting: a failure naming the setting, and nothing created.
    let report = run_rule(&emulator, f(), &[], false).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("setting `bucket`"),
        "{report:?}"
    );
    let recorders = config
        .describe_configuration_recorders()
        .send()
        .await
        .unwrap();
    assert!(recorders.configuration_recorders().is_empty());

    let settings = [("bucket", "config-history")];
    let (report, _) = run_checked(&emulator, f(), &settings, true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(
        report.actions.len(),
        4,
        "service-linked role, recorder, channel, start: {report:?}"
    );
    let recorders = config
        .describe_configuration_recorders()
        .send()
        .await
        .unwrap();
    assert!(
        recorders.configuration_recorders().is_empty(),
        "a dry run changes nothing"
    );

    let (report, _) = run_checked(&emulator, f(), &settings, false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let recorders = config
        .describe_configuration_recorders()
        .send()
        .await
        .unwrap();
    let recorder = &recorders.configuration_recorders()[0];
    assert_eq!(
        recorder.role_arn(),
        Some("arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")
    );
    let group = recorder.recording_group().unwrap();
    assert!(group.all_supported() && group.include_global_resource_types());
    let channels = config.describe_delivery_channels().send().await.unwrap();
    assert_eq!(
        channels.delivery_channels()[0].s3_bucket_name(),
        Some("config-history")
    );
    let status = config
        .describe_configuration_recorder_status()
        .send()
        .await
        .unwrap();
    assert!(status.configuration_recorders_status()[0].recording());
    // Compliant now, with or without the setting.
    assert_eq!(
        run_rule(&emulator, f(), &settings, false).await.outcome,
        Outcome::Compliant
    );
    assert_eq!(
        run_rule(&emulator, f(), &[], false).await.outcome,
        Outcome::Compliant
    );

    // Stopped: started again, with the recorder's existing role kept.
    config
        .stop_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();
    let (report, calls) = run_checked(
        &emulator,
        f(),
        &[("role_arn", "arn:aws:iam::123456789012:role/Other")],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(report.actions, ["started configuration recorder default"]);
    assert!(
        !calls.contains(&"config:PutConfigurationRecorder".to_owned()),
        "{calls:?}"
    );
    let status = config
        .describe_configuration_recorder_status()
        .send()
        .await
        .unwrap();
    assert!(status.configuration_recorders_status()[0].recording());
}

/// Config-001 with its default role: AWS Config's service-linked role is created when the
/// account lacks it (only PutServiceLinkedConfigurationRecorder would create it otherwise),
/// and global resource types are recorded in `global_resources_region` only.
#[tokio::test(flavor = "multi_thread")]
async fn config_001_creates_the_service_linked_role_and_records_global_types_in_one_region() {
    let emulator = Emulator::start();
    let iam = aws_sdk_iam::Client::new(&emulator.sdk_config());
    s3(&emulator)
        .create_bucket()
        .bucket("config-history")
        .send()
        .await
        .unwrap();
    let settings = [("bucket", "config-history")];
    let in_region = |region: &str| {
        let mut f = finding("Config-001", region);
        f["region"] = region.into();
        f
    };
    let recorder_in = |region: &str| {
        let config = emulator
            .sdk_config()
            .to_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        async move {
            let out = aws_sdk_config::Client::new(&config)
                .describe_configuration_recorders()
                .send()
                .await
                .unwrap();
            out.configuration_recorders()[0].clone()
        }
    };
    assert!(
        iam.get_role()
            .role_name("AWSServiceRoleForConfig")
            .send()
            .await
            .is_err(),
        "the account starts without AWS Config's service-linked role"
    );

    // The global region (the default, us-east-1): the role is created, global types recorded.
    let (report, calls) =
        support::run_checked(&emulator, in_region("us-east-1"), &settings, false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let create = calls
        .iter()
        .find(|c| iam_action(c) == "iam:CreateServiceLinkedRole")
        .expect("CreateServiceLinkedRole");
    assert_eq!(
        create.params.get("AWSServiceName").map(String::as_str),
        Some("config.amazonaws.com")
    );
    let roles = iam
        .list_roles()
        .path_prefix("/aws-service-role/config.amazonaws.com/")
        .send()
        .await
        .unwrap();
    // (moto names it AWSServiceRoleForconfig; AWS names it AWSServiceRoleForConfig.)
    assert_eq!(
        roles.roles().len(),
        1,
        "the service-linked role exists: {roles:?}"
    );
    let recorder = recorder_in("us-east-1").await;
    assert_eq!(
        recorder.role_arn(),
        Some("arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")
    );
    let group = recorder.recording_group().unwrap();
    assert!(group.all_supported() && group.include_global_resource_types());

    // The role as AWS names it, for the emulator's sake: found, it is not created again.
    iam.create_role()
        .role_name("AWSServiceRoleForConfig")
        .path("/aws-service-role/config.amazonaws.com/")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"config.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();

    // Another region: global types are not recorded twice.
    let (report, calls) = run_checked(&emulator, in_region("eu-west-1"), &settings, false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        !calls.contains(&"iam:CreateServiceLinkedRole".to_owned()),
        "{calls:?}"
    );
    let group = recorder_in("eu-west-1")
        .await
        .recording_group()
        .cloned()
        .unwrap();
    assert!(group.all_supported() && !group.include_global_resource_types());
    assert_eq!(
        run_rule(&emulator, in_region("eu-west-1"), &settings, false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // The setting moves the global region.
    let moved = [
        ("bucket", "config-history"),
        ("global_resources_region", "eu-west-1"),
    ];
    let (report, _) = run_checked(&emulator, in_region("eu-west-1"), &moved, false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let group = recorder_in("eu-west-1")
        .await
        .recording_group()
        .cloned()
        .unwrap();
    assert!(group.include_global_resource_types());
}

#[tokio::test(flavor = "multi_thread")]
async fn gd_001_creates_or_enables_the_detector_and_gd_002_only_notifies() {
    let emulator = Emulator::start();
    let guardduty = aws_sdk_guardduty::Client::new(&emulator.sdk_config());
    let f = || finding("GD-001", "us-east-1");

    let (report, _) = run_checked(&emulator, f(), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert!(
        guardduty
            .list_detectors()
            .send()
            .await
            .unwrap()
            .detector_ids()
            .is_empty(),
        "a dry run changes nothing"
    );

    let (report, calls) = run_checked(&emulator, f(), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        calls.contains(&"guardduty:CreateDetector".to_owned()),
        "{calls:?}"
    );
    let ids = guardduty
        .list_detectors()
        .send()
        .await
        .unwrap()
        .detector_ids()
        .to_vec();
    assert_eq!(ids.len(), 1);
    let detector = guardduty
        .get_detector()
        .detector_id(&ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(detector.status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(
        run_rule(&emulator, f(), &[], false).await.outcome,
        Outcome::Compliant
    );

    // A disabled detector is enabled again, not duplicated.
    guardduty
        .update_detector()
        .detector_id(&ids[0])
        .enable(false)
        .send()
        .await
        .unwrap();
    let (report, calls) = run_checked(&emulator, f(), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        calls.contains(&"guardduty:UpdateDetector".to_owned()),
        "{calls:?}"
    );
    assert_eq!(
        guardduty
            .list_detectors()
            .send()
            .await
            .unwrap()
            .detector_ids(),
        ids
    );
    let detector = guardduty
        .get_detector()
        .detector_id(&ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(detector.status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(
        run_rule(&emulator, f(), &[], false).await.outcome,
        Outcome::Compliant
    );

    // GD-002 is routed by the orchestrator: its function makes no call and says so.
    let (report, calls) = run_checked(
        &emulator,
        finding("GD-002", "guardduty-finding-7f3e"),
        &[],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Skipped, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("orchestrator"),
        "{report:?}"
    );
    assert!(calls.is_empty(), "{calls:?}");
}

const STACK: &str = r#"{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}"#;

#[tokio::test(flavor = "multi_thread")]
async fn cfm_005_decides_on_the_stacks_protection() {
    let emulator = Emulator::start();
    let cloudformation = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());
    let create = |name: &str| {
        cloudformation
            .create_stack()
            .stack_name(name)
            .template_body(STACK)
    };
    create("unprotected").send().await.unwrap();
    create("protected")
        .enable_termination_protection(true)
        .send()
        .await
        .unwrap();
    let remedy_stack = create("remedy")
        .send()
        .await
        .unwrap()
        .stack_id()
        .unwrap()
        .to_owned();
    create("labelled")
        .tags(
            aws_sdk_cloudformation::types::Tag::builder()
                .key("remedy:managed")
                .value("true")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let (report, _) = run_checked(&emulator, finding("CFM-005", "unprotected"), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(
        report.actions,
        ["would have turned on termination protection for stack unprotected"]
    );
    let (report, _) = run_checked(&emulator, finding("CFM-005", "protected"), &[], false).await;
    assert_eq!(report.outcome, Outcome::Compliant, "{report:?}");
    // remedy's own stack (its functions know its id) is left alone; a remedy:managed label
    // opts nothing out.
    let (report, _) = support::run_checked_in_stack(
        &emulator,
        finding("CFM-005", "remedy"),
        &[],
        false,
        Some(&remedy_stack),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Skipped, "{report:?}");
    let (report, _) = support::run_checked_in_stack(
        &emulator,
        finding("CFM-005", "labelled"),
        &[],
        true,
        Some(&remedy_stack),
    )
    .await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    let report = run_rule(&emulator, finding("CFM-005", "no-such-stack"), &[], false).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .starts_with("DescribeStacks"),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn organizations_002_decides_from_the_feature_set_and_the_account() {
    let emulator = Emulator::start();
    let f = || finding("Organizations-002", "o-example");

    let report = run_rule(&emulator, f(), &[], false).await;
    assert_eq!(
        report.outcome,
        Outcome::Skipped,
        "not in an organization: {report:?}"
    );

    let organizations = aws_sdk_organizations::Client::new(&emulator.sdk_config());
    organizations
        .create_organization()
        .feature_set(OrganizationFeatureSet::ConsolidatedBilling)
        .send()
        .await
        .unwrap();
    let (report, _) = run_checked(&emulator, f(), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert!(
        report.actions[0].contains("started enabling all features"),
        "{report:?}"
    );

    // From a member account: only the management account can.
    let mut ctx = rule_context(&emulator, f(), &[], false);
    ctx.account_id = "210987654321".into();
    let report = remedy_functions::runtime::run_rule(&ctx).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("only its management account (123456789012)"),
        "{report:?}"
    );

    organizations.delete_organization().send().await.unwrap();
    organizations
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let (report, _) = run_checked(&emulator, f(), &[], false).await;
    assert_eq!(report.outcome, Outcome::Compliant, "{report:?}");
}
