//! One stack per account, in its home region, remediates every covered region: a rule
//! function running in the home region (us-east-1 here) acts in the region of the finding it
//! is given. For each regional service the emulator has among the rules, the violation is
//! made in a second region (eu-west-1), beside the same violation in the home region; the
//! rule runs through the Lambda handler (`lambda::handle_rule`, with the function's own
//! us-east-1 configuration, exactly as deployed) on a finding whose `region` is eu-west-1;
//! the fixed state is read back in eu-west-1, and the home region's twin must be untouched.
//!
//! Every call is recorded: it must be one of the rule's declared IAM actions, and signed for
//! the finding's region (IAM is global; remedy's own stack is read in the home region).
//! Were a rule's clients built for the function's region, these tests would fail: the
//! resource would not be found, or the twin in us-east-1 would be the one changed.
//!
//! Covered: EC2 security groups, EBS encryption by default, KMS, SQS, SNS, CloudTrail,
//! GuardDuty, AWS Config, VPC flow logs, S3, RDS, Redshift, Kinesis, Lambda and API Gateway.
//! S3's bucket names are one namespace and the emulator serves a bucket whatever region a
//! request is signed for, so its test rests on the signature's region (as AWS does: a request
//! signed for another region than the bucket's is refused). Not covered: CloudFormation
//! (CFM-005) is regional, but the emulator has no UpdateTerminationProtection, so the rule
//! cannot remediate in any region here (its decision is unit-tested in its module); IAM and
//! Organizations are global.

use crate::support;

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use remedy_functions::catalog::Mode;
use remedy_functions::dispatch::{Place, ReasonCode, RuntimeConfig};
use remedy_functions::orchestrator::Orchestrator;
use remedy_functions::rule::{Outcome, Report};
use serde_json::{json, Value};
use support::{
    blocks_all_public_access, finding, iam_action, rule_context, Emulator, Recorded, Workdir,
    MANAGEMENT_ACCOUNT, REGION,
};

/// Where the stack and its functions run.
const HOME: &str = REGION;
/// The other covered region, where the findings are.
const OTHER: &str = "eu-west-1";

/// The emulator's configuration in `region`.
fn config_in(emulator: &Emulator, region: &str) -> SdkConfig {
    emulator
        .sdk_config()
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build()
}

/// A FAILURE finding for `rule_id` about `resource` in `region`.
fn finding_in(rule_id: &str, resource: &str, region: &str) -> Value {
    let mut f = finding(rule_id, resource);
    f["region"] = json!(region);
    f
}

/// Runs the finding's rule as its function in `home` would (remediate mode, `settings` over
/// the rule's defaults, as a function of the stack `stack_id` when given), while the emulator
/// records; every call must be one of the rule's declared IAM actions.
async fn run_from(
    emulator: &Emulator,
    home: &str,
    finding: Value,
    settings: &[(&str, &str)],
    stack_id: Option<&str>,
) -> (Report, Vec<Recorded>) {
    let rule_id = finding["ruleId"].as_str().unwrap().to_owned();
    let rule = remedy_functions::find_rule(&rule_id).unwrap();
    // The settings as the stack renders them: the rule's defaults, `settings` over them.
    let all = rule_context(emulator, finding.clone(), settings, false).settings;
    let stack = stack_id
        .map(|id| std::sync::Arc::new(remedy_functions::rule::OwnStack::from_id(id).unwrap()));
    emulator.start_recording();
    let report = remedy_functions::lambda::handle_rule(
        rule,
        Mode::Remediate,
        &all,
        &config_in(emulator, home),
        MANAGEMENT_ACCOUNT.to_owned(),
        stack,
        &finding,
    )
    .await;
    let calls = emulator.recording();
    for call in &calls {
        let action = iam_action(call);
        assert!(
            rule.iam_actions.contains(&action.as_str()),
            "{rule_id} called {action} without declaring it"
        );
    }
    (report, calls)
}

/// The rule run from the home region on a finding in `region`.
async fn run_for(
    emulator: &Emulator,
    rule_id: &str,
    resource: &str,
    region: &str,
    settings: &[(&str, &str)],
) -> (Report, Vec<Recorded>) {
    run_from(
        emulator,
        HOME,
        finding_in(rule_id, resource, region),
        settings,
        None,
    )
    .await
}

/// Every call was signed for `region`: IAM's are global, and remedy's own stack is read in
/// the home region. There was at least one.
fn acted_in(calls: &[Recorded], region: &str) {
    assert!(!calls.is_empty(), "the rule called nothing");
    for call in calls {
        let expected = match call.service.as_str() {
            "iam" => continue,
            "cloudformation" => HOME,
            _ => region,
        };
        assert_eq!(
            call.region, expected,
            "{} was signed for {}, not {expected}",
            call.action, call.region
        );
    }
}

fn done(report: &Report, outcome: Outcome) {
    assert_eq!(report.outcome, outcome, "{report:?}");
}

/// The rule, run from the home region on a finding in `region`, remediated there: every call
/// signed for `region` ([`acted_in`]).
async fn fixed_in(
    emulator: &Emulator,
    rule_id: &str,
    resource: &str,
    region: &str,
    settings: &[(&str, &str)],
) -> Report {
    let (report, calls) = run_for(emulator, rule_id, resource, region, settings).await;
    done(&report, Outcome::Remediated);
    acted_in(&calls, region);
    report
}

// ---------------------------------------------------------------------------------------
// EC2: security groups.

async fn world_open_group(ec2: &aws_sdk_ec2::Client, name: &str) -> String {
    let id = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    id
}

async fn ssh_open_to_world(ec2: &aws_sdk_ec2::Client, group_id: &str) -> bool {
    let out = ec2
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await
        .unwrap();
    out.security_groups()[0].ip_permissions().iter().any(|p| {
        p.from_port() == Some(22)
            && p.ip_ranges()
                .iter()
                .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_security_group_is_closed_in_the_findings_region() {
    let emulator = Emulator::start();
    let here = aws_sdk_ec2::Client::new(&config_in(&emulator, HOME));
    let there = aws_sdk_ec2::Client::new(&config_in(&emulator, OTHER));
    let home_group = world_open_group(&here, "web").await;
    let group = world_open_group(&there, "web").await;

    // The same group reported in the home region is not found there: nothing changes.
    let (report, _) = run_for(&emulator, "EC2-002", &group, HOME, &[]).await;
    done(&report, Outcome::Failed);
    assert!(ssh_open_to_world(&there, &group).await);

    fixed_in(&emulator, "EC2-002", &group, OTHER, &[]).await;
    assert!(
        !ssh_open_to_world(&there, &group).await,
        "closed in eu-west-1"
    );
    assert!(
        ssh_open_to_world(&here, &home_group).await,
        "the home region's group is untouched"
    );
    let (report, _) = run_for(&emulator, "EC2-002", &group, OTHER, &[]).await;
    done(&report, Outcome::Compliant);
}

// ---------------------------------------------------------------------------------------
// EBS: encryption by default (a setting of each region), and Conformity's `global`.

async fn encrypts_by_default(emulator: &Emulator, region: &str) -> Option<bool> {
    aws_sdk_ec2::Client::new(&config_in(emulator, region))
        .get_ebs_encryption_by_default()
        .send()
        .await
        .unwrap()
        .ebs_encryption_by_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn ebs_encryption_by_default_is_the_findings_region_and_global_the_partitions() {
    let emulator = Emulator::start();
    let report = fixed_in(&emulator, "EBS-014", OTHER, OTHER, &[]).await;
    assert!(report.actions[0].contains(OTHER), "{report:?}");
    assert_eq!(encrypts_by_default(&emulator, OTHER).await, Some(true));
    assert_eq!(encrypts_by_default(&emulator, HOME).await, Some(false));

    // `global`, from a function whose home is eu-west-1: the aws partition's global region,
    // us-east-1 (neither the home region nor left undecided).
    let f = finding_in("EBS-014", "global", "global");
    let (report, calls) = run_from(&emulator, OTHER, f, &[], None).await;
    done(&report, Outcome::Remediated);
    acted_in(&calls, "us-east-1");
    assert_eq!(
        encrypts_by_default(&emulator, "us-east-1").await,
        Some(true)
    );
    assert_eq!(
        encrypts_by_default(&emulator, "us-west-2").await,
        Some(false)
    );
}

// ---------------------------------------------------------------------------------------
// KMS: key rotation, with remedy's own stack read in the home region.

async fn key(kms: &aws_sdk_kms::Client) -> String {
    kms.create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned()
}

async fn rotates(kms: &aws_sdk_kms::Client, key_id: &str) -> bool {
    kms.get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .unwrap()
        .key_rotation_enabled()
}

/// remedy's own stack in the home region, with a key of its own.
const STACK: &str = r#"{"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::123456789012:root\"}, \"Action\": \"kms:*\", \"Resource\": \"*\"}]}"}}}}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_key_is_rotated_in_the_findings_region_and_the_stack_read_at_home() {
    let emulator = Emulator::start();
    let stack_id = aws_sdk_cloudformation::Client::new(&config_in(&emulator, HOME))
        .create_stack()
        .stack_name("remedy")
        .template_body(STACK)
        .send()
        .await
        .unwrap()
        .stack_id()
        .unwrap()
        .to_owned();
    assert!(stack_id.contains(":us-east-1:"), "{stack_id}");
    let here = aws_sdk_kms::Client::new(&config_in(&emulator, HOME));
    let there = aws_sdk_kms::Client::new(&config_in(&emulator, OTHER));
    let home_key = key(&here).await;
    let key_id = key(&there).await;

    let f = finding_in("KMS-002", &key_id, OTHER);
    let (report, calls) = run_from(&emulator, HOME, f.clone(), &[], Some(&stack_id)).await;
    done(&report, Outcome::Remediated);
    acted_in(&calls, OTHER);
    assert!(
        calls
            .iter()
            .any(|c| c.action == "ListStackResources" && c.region == HOME),
        "remedy's stack is listed in its own region: {:?}",
        calls
            .iter()
            .map(|c| (&c.action, &c.region))
            .collect::<Vec<_>>()
    );
    assert!(rotates(&there, &key_id).await);
    assert!(
        !rotates(&here, &home_key).await,
        "the home key is untouched"
    );
    let (report, _) = run_from(&emulator, HOME, f, &[], Some(&stack_id)).await;
    done(&report, Outcome::Compliant);
}

// ---------------------------------------------------------------------------------------
// SQS and SNS: resources named by name, found (or their ARN built) in the finding's region.

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::SqsManagedSseEnabled, "false")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

async fn sse_sqs(sqs: &aws_sdk_sqs::Client, url: &str) -> Option<String> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::SqsManagedSseEnabled)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::SqsManagedSseEnabled).cloned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_named_by_the_finding_is_encrypted_in_its_region() {
    let emulator = Emulator::start();
    let here = aws_sdk_sqs::Client::new(&config_in(&emulator, HOME));
    let there = aws_sdk_sqs::Client::new(&config_in(&emulator, OTHER));
    let home_queue = queue(&here, "jobs").await;
    let other_queue = queue(&there, "jobs").await;
    // Behind one endpoint the two URLs are the same text: the emulator tells the queues
    // apart by the region a request is signed for, as each client below signs.

    fixed_in(&emulator, "SQS-004", "jobs", OTHER, &[]).await;
    assert_eq!(sse_sqs(&there, &other_queue).await.as_deref(), Some("true"));
    assert_eq!(sse_sqs(&here, &home_queue).await.as_deref(), Some("false"));
}

async fn open_topic(sns: &aws_sdk_sns::Client, region: &str) -> String {
    let arn = sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    assert!(arn.contains(region), "{arn}");
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "open", "Effect": "Allow", "Principal": "*", "Action": "SNS:Publish", "Resource": arn
    }]});
    sns.set_topic_attributes()
        .topic_arn(&arn)
        .attribute_name("Policy")
        .attribute_value(policy.to_string())
        .send()
        .await
        .unwrap();
    arn
}

async fn is_open(sns: &aws_sdk_sns::Client, arn: &str) -> bool {
    let out = sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .unwrap();
    let policy: Value =
        serde_json::from_str(out.attributes().unwrap().get("Policy").unwrap()).unwrap();
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["Sid"] == "open")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_named_by_the_finding_gets_an_arn_in_the_findings_region() {
    let emulator = Emulator::start();
    let here = aws_sdk_sns::Client::new(&config_in(&emulator, HOME));
    let there = aws_sdk_sns::Client::new(&config_in(&emulator, OTHER));
    let home_topic = open_topic(&here, HOME).await;
    let topic = open_topic(&there, OTHER).await;

    let report = fixed_in(&emulator, "SNS-001", "alerts", OTHER, &[]).await;
    assert!(
        report.actions.iter().any(|a| a.contains(&topic)),
        "{report:?}"
    );
    assert!(!is_open(&there, &topic).await);
    assert!(
        is_open(&here, &home_topic).await,
        "the home topic is untouched"
    );
}

// ---------------------------------------------------------------------------------------
// CloudTrail, GuardDuty, AWS Config, VPC flow logs: what the rules create or change is
// created or changed in the finding's region.

async fn trail(emulator: &Emulator, region: &str) {
    let bucket = format!("audit-logs-{region}");
    remedy::aws::identity::s3_client(&emulator.sdk_config(), HOME, &Default::default())
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    aws_sdk_cloudtrail::Client::new(&config_in(emulator, region))
        .create_trail()
        .name("audit")
        .s3_bucket_name(bucket)
        .send()
        .await
        .unwrap();
}

async fn validates(emulator: &Emulator, region: &str) -> Option<bool> {
    let out = aws_sdk_cloudtrail::Client::new(&config_in(emulator, region))
        .describe_trails()
        .trail_name_list("audit")
        .send()
        .await
        .unwrap();
    out.trail_list()[0].log_file_validation_enabled()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trail_is_changed_in_the_findings_region() {
    let emulator = Emulator::start();
    trail(&emulator, HOME).await;
    trail(&emulator, OTHER).await;

    let report = fixed_in(&emulator, "CT-007", "audit", OTHER, &[]).await;
    assert!(
        report.actions[0].contains(":eu-west-1:"),
        "the trail's ARN: {report:?}"
    );
    assert_eq!(validates(&emulator, OTHER).await, Some(true));
    assert_ne!(validates(&emulator, HOME).await, Some(true));
}

async fn detectors(emulator: &Emulator, region: &str) -> usize {
    aws_sdk_guardduty::Client::new(&config_in(emulator, region))
        .list_detectors()
        .send()
        .await
        .unwrap()
        .detector_ids()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_detector_is_created_in_the_findings_region() {
    let emulator = Emulator::start();
    fixed_in(&emulator, "GD-001", OTHER, OTHER, &[]).await;
    assert_eq!(detectors(&emulator, OTHER).await, 1);
    assert_eq!(detectors(&emulator, HOME).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_recorder_and_channel_are_created_in_the_findings_region() {
    let emulator = Emulator::start();
    remedy::aws::identity::s3_client(&emulator.sdk_config(), HOME, &Default::default())
        .create_bucket()
        .bucket("config-history")
        .send()
        .await
        .unwrap();
    let settings = [("bucket", "config-history")];
    fixed_in(&emulator, "Config-001", OTHER, OTHER, &settings).await;

    let config_of = |region: &str| aws_sdk_config::Client::new(&config_in(&emulator, region));
    let there = config_of(OTHER)
        .describe_configuration_recorders()
        .send()
        .await
        .unwrap();
    let recorder = &there.configuration_recorders()[0];
    let group = recorder.recording_group().unwrap();
    assert!(group.all_supported());
    assert!(
        !group.include_global_resource_types(),
        "eu-west-1 is not the global resources region"
    );
    let channels = config_of(OTHER)
        .describe_delivery_channels()
        .send()
        .await
        .unwrap();
    assert_eq!(channels.delivery_channels().len(), 1);

    let home = config_of(HOME)
        .describe_configuration_recorders()
        .send()
        .await
        .unwrap();
    assert!(home.configuration_recorders().is_empty(), "nothing at home");
    let home = config_of(HOME)
        .describe_delivery_channels()
        .send()
        .await
        .unwrap();
    assert!(home.delivery_channels().is_empty(), "nothing at home");
}

async fn flow_logs(emulator: &Emulator, region: &str) -> Vec<String> {
    aws_sdk_ec2::Client::new(&config_in(emulator, region))
        .describe_flow_logs()
        .send()
        .await
        .unwrap()
        .flow_logs()
        .iter()
        .filter_map(|f| f.resource_id().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flow_log_is_created_in_the_findings_region() {
    let emulator = Emulator::start();
    let vpc = aws_sdk_ec2::Client::new(&config_in(&emulator, OTHER))
        .create_vpc()
        .cidr_block("10.8.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();

    fixed_in(&emulator, "VPC-001", &vpc, OTHER, &[]).await;
    assert_eq!(flow_logs(&emulator, OTHER).await, [vpc.as_str()]);
    assert!(flow_logs(&emulator, HOME).await.is_empty());
    let (report, _) = run_for(&emulator, "VPC-001", &vpc, OTHER, &[]).await;
    done(&report, Outcome::Compliant);
}

// ---------------------------------------------------------------------------------------
// S3: a bucket made in eu-west-1 (its LocationConstraint). Bucket names are one namespace,
// so its home-region twin has a name of its own; the emulator serves a bucket whatever
// region a request is signed for (AWS answers a request signed for the wrong region with
// AuthorizationHeaderMalformed), so what tells a wrong client here is the signature's
// region ([`acted_in`]).

async fn bucket_in(emulator: &Emulator, region: &str, name: &str) -> aws_sdk_s3::Client {
    let s3 = remedy::aws::identity::s3_client(&emulator.sdk_config(), region, &Default::default());
    let mut create = s3.create_bucket().bucket(name);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.unwrap();
    s3
}

async fn has_public_access_block(s3: &aws_sdk_s3::Client, bucket: &str) -> bool {
    s3.get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_buckets_public_access_is_blocked_with_calls_signed_for_its_region() {
    let emulator = Emulator::start();
    let here = bucket_in(&emulator, HOME, "site-home").await;
    let there = bucket_in(&emulator, OTHER, "site-eu").await;
    let location = there
        .get_bucket_location()
        .bucket("site-eu")
        .send()
        .await
        .unwrap();
    assert_eq!(
        location.location_constraint().map(|l| l.as_str()),
        Some(OTHER)
    );

    fixed_in(&emulator, "S3-026", "site-eu", OTHER, &[]).await;
    assert!(blocks_all_public_access(&there, "site-eu").await);
    assert!(
        !has_public_access_block(&here, "site-home").await,
        "the home region's bucket is untouched"
    );
    let (report, _) = run_for(&emulator, "S3-026", "site-eu", OTHER, &[]).await;
    done(&report, Outcome::Compliant);
}

// ---------------------------------------------------------------------------------------
// RDS, Redshift, Kinesis, Lambda: the same name in both regions; only eu-west-1's is fixed.

/// A client of `new`'s service in the home region and one in eu-west-1.
fn twins<C>(emulator: &Emulator, new: impl Fn(&SdkConfig) -> C) -> (C, C) {
    (
        new(&config_in(emulator, HOME)),
        new(&config_in(emulator, OTHER)),
    )
}

/// `make` makes the same violation, under the same name, in the home region and in
/// eu-west-1 (with clients of `new`'s service); the rule, run from the home region on a
/// finding in eu-west-1, fixes eu-west-1's (`state` reads `fixed` there) and leaves the home
/// region's as it was (`unfixed`); run again, it is compliant. Returns the fixing run's calls.
async fn fixed_there_only<C, S: PartialEq + std::fmt::Debug>(
    emulator: &Emulator,
    (rule_id, resource): (&str, &str),
    new: impl Fn(&SdkConfig) -> C,
    make: impl AsyncFn(&C),
    state: impl AsyncFn(&C) -> S,
    (fixed, unfixed): (S, S),
) -> Vec<Recorded> {
    let (here, there) = twins(emulator, new);
    make(&here).await;
    make(&there).await;
    let (report, calls) = run_for(emulator, rule_id, resource, OTHER, &[]).await;
    done(&report, Outcome::Remediated);
    acted_in(&calls, OTHER);
    assert_eq!(state(&there).await, fixed, "{rule_id}: fixed in {OTHER}");
    assert_eq!(
        state(&here).await,
        unfixed,
        "{rule_id}: the home region's untouched"
    );
    let (report, _) = run_for(emulator, rule_id, resource, OTHER, &[]).await;
    done(&report, Outcome::Compliant);
    calls
}

async fn public_instance(rds: &aws_sdk_rds::Client) {
    rds.create_db_instance()
        .db_instance_identifier("orders-db")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("admin_user")
        .master_user_password("a-long-enough-password")
        .allocated_storage(20)
        .publicly_accessible(true)
        .send()
        .await
        .unwrap();
}

async fn instance_is_public(rds: &aws_sdk_rds::Client) -> Option<bool> {
    let out = rds
        .describe_db_instances()
        .db_instance_identifier("orders-db")
        .send()
        .await
        .unwrap();
    out.db_instances()[0].publicly_accessible()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_db_instance_is_made_private_in_the_findings_region() {
    let emulator = Emulator::start();
    let (new, public) = (aws_sdk_rds::Client::new, (Some(false), Some(true)));
    let rule = ("RDS-008", "orders-db");
    fixed_there_only(
        &emulator,
        rule,
        new,
        public_instance,
        instance_is_public,
        public,
    )
    .await;
}

async fn public_cluster(redshift: &aws_sdk_redshift::Client) {
    redshift
        .create_cluster()
        .cluster_identifier("warehouse")
        .node_type("dc2.large")
        .cluster_type("single-node")
        .master_username("admin")
        .master_user_password("Password1")
        .publicly_accessible(true)
        .send()
        .await
        .unwrap();
}

async fn cluster_is_public(redshift: &aws_sdk_redshift::Client) -> Option<bool> {
    let out = redshift
        .describe_clusters()
        .cluster_identifier("warehouse")
        .send()
        .await
        .unwrap();
    out.clusters()[0].publicly_accessible()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redshift_cluster_is_made_private_in_the_findings_region() {
    let emulator = Emulator::start();
    let (new, public) = (aws_sdk_redshift::Client::new, (Some(false), Some(true)));
    let rule = ("RS-001", "warehouse");
    fixed_there_only(
        &emulator,
        rule,
        new,
        public_cluster,
        cluster_is_public,
        public,
    )
    .await;
}

async fn stream(kinesis: &aws_sdk_kinesis::Client) {
    kinesis
        .create_stream()
        .stream_name("clicks")
        .shard_count(1)
        .send()
        .await
        .unwrap();
}

async fn stream_encryption(kinesis: &aws_sdk_kinesis::Client) -> Option<String> {
    let out = kinesis
        .describe_stream_summary()
        .stream_name("clicks")
        .send()
        .await
        .unwrap();
    let summary = out.stream_description_summary().unwrap();
    summary.encryption_type().map(|e| e.as_str().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_is_encrypted_in_the_findings_region() {
    let emulator = Emulator::start();
    let (new, encryption) = (
        aws_sdk_kinesis::Client::new,
        (Some("KMS".to_owned()), Some("NONE".to_owned())),
    );
    let rule = ("Kinesis-001", "clicks");
    fixed_there_only(&emulator, rule, new, stream, stream_encryption, encryption).await;
}

/// A function `exposed` whose policy lets everyone invoke it.
async fn exposed_function(lambda: &aws_sdk_lambda::Client, role: &str) {
    let work = Workdir::new("");
    let zip = std::fs::read(work.path().join("package.zip")).unwrap();
    lambda
        .create_function()
        .function_name("exposed")
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(zip.into())
                .build(),
        )
        .send()
        .await
        .unwrap();
    lambda
        .add_permission()
        .function_name("exposed")
        .statement_id("Everyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
}

async fn invocable_by_everyone(lambda: &aws_sdk_lambda::Client) -> bool {
    let policy = lambda.get_policy().function_name("exposed").send().await;
    policy.is_ok_and(|p| p.policy().unwrap_or_default().contains("Everyone"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_functions_open_permission_is_removed_in_the_findings_region() {
    let emulator = Emulator::start();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = aws_sdk_iam::Client::new(&emulator.sdk_config())
        .create_role()
        .role_name("fn-role")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap().arn();
    let make = async |lambda: &aws_sdk_lambda::Client| exposed_function(lambda, role).await;
    let (new, open) = (aws_sdk_lambda::Client::new, (false, true));
    let rule = ("Lambda-004", "exposed");
    let calls = fixed_there_only(&emulator, rule, new, make, invocable_by_everyone, open).await;
    // Its tags are read by an ARN the rule builds for the finding's region; the emulator
    // finds a function by the name in an ARN whatever region it names, so the ARN is
    // checked as it was sent.
    let arn = format!("arn:aws:lambda:{OTHER}:{MANAGEMENT_ACCOUNT}:function:exposed");
    assert!(
        calls.iter().any(|c| c
            .action
            .ends_with(&format!("/tags/{}", arn.replace(':', "%3A")))),
        "{calls:?}"
    );
}

// ---------------------------------------------------------------------------------------
// API Gateway: a REST API is known by its id, which only its own region has.

async fn edge_api(apigateway: &aws_sdk_apigateway::Client) -> String {
    let api = apigateway.create_rest_api().name("edge").send().await;
    api.unwrap().id().unwrap().to_owned()
}

async fn endpoint_types(apigateway: &aws_sdk_apigateway::Client, id: &str) -> Vec<String> {
    let api = apigateway.get_rest_api().rest_api_id(id).send().await;
    let api = api.unwrap();
    let types = api.endpoint_configuration().unwrap().types();
    types.iter().map(|t| t.as_str().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rest_api_is_made_private_in_the_findings_region() {
    let emulator = Emulator::start();
    let (here, there) = twins(&emulator, aws_sdk_apigateway::Client::new);
    let home_api = edge_api(&here).await;
    let api = edge_api(&there).await;

    // The API reported in the home region is not found there: nothing changes.
    let (report, _) = run_for(&emulator, "AG-005", &api, HOME, &[]).await;
    done(&report, Outcome::Failed);

    fixed_in(&emulator, "AG-005", &api, OTHER, &[]).await;
    assert_eq!(endpoint_types(&there, &api).await, ["PRIVATE"]);
    assert_eq!(endpoint_types(&here, &home_api).await, ["EDGE"]);
    let (report, _) = run_for(&emulator, "AG-005", &api, OTHER, &[]).await;
    done(&report, Outcome::Compliant);
}

// ---------------------------------------------------------------------------------------
// What a rule function refuses, and the orchestrator's side.

#[tokio::test(flavor = "multi_thread")]
async fn a_finding_in_another_partition_is_rejected_without_a_call() {
    let emulator = Emulator::start();
    for region in ["cn-north-1", "us-gov-west-1"] {
        let (report, calls) = run_for(&emulator, "EBS-014", region, region, &[]).await;
        done(&report, Outcome::Rejected);
        assert!(
            report
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains(region),
            "{report:?}"
        );
        assert!(calls.is_empty(), "{region}: {calls:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_orchestrator_covers_its_regions_and_invokes_at_home() {
    let emulator = Emulator::start();
    let orchestrator = Orchestrator::new(
        &config_in(&emulator, HOME),
        RuntimeConfig {
            rules: [("S3-012".to_owned(), Mode::Remediate)]
                .into_iter()
                .collect(),
            routes: Vec::new(),
            regions: vec![HOME.to_owned(), OTHER.to_owned()],
        },
        Place {
            account_id: MANAGEMENT_ACCOUNT.to_owned(),
            region: HOME.to_owned(),
        },
    );

    // Outside the covered regions: rejected (its reason and log line: the unit tests of
    // `orchestrator`), and nothing called.
    emulator.start_recording();
    let handled = orchestrator
        .handle_message(&finding_in("S3-012", "b", "ap-south-1").to_string())
        .await;
    assert_eq!(
        (handled.outcome, handled.reason_code.clone()),
        (Outcome::Rejected, Some(ReasonCode::OutsideRegions)),
        "{handled:?}"
    );
    assert!(emulator.recording().is_empty());

    // Covered (eu-west-1) and global: the rule function is looked for in the home region
    // (none is deployed here: unsupported, not rejected).
    for region in [OTHER, "global"] {
        emulator.start_recording();
        let handled = orchestrator
            .handle_message(&finding_in("S3-012", "b", region).to_string())
            .await;
        assert_eq!(
            handled.outcome,
            Outcome::Unsupported,
            "{region}: {handled:?}"
        );
        assert_eq!(handled.reason_code, Some(ReasonCode::Unsupported));
        let calls = emulator.recording();
        assert!(!calls.is_empty());
        assert!(
            calls
                .iter()
                .all(|c| c.service == "lambda" && c.region == HOME),
            "{region}: {calls:?}"
        );
    }
}
