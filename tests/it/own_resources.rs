//! Which resources are remedy's own (issue 12, defect 10): the rules leave alone only what
//! remedy's stack created, recognised by what no user can forge: CloudFormation's reserved
//! `aws:cloudformation:stack-id` tag where the resource type carries it, and the stack's own
//! list of resources for the types CloudFormation does not tag (KMS keys, SQS queues, IAM
//! roles). A `remedy:managed` tag anyone can set opts nothing out.
//!
//! A real stack is created in the emulator and the rules run as that stack's functions would
//! (`support::run_checked_in_stack`). The emulator puts CloudFormation's tags on EC2
//! resources only, as AWS does on the types whose schema says `cloudFormationSystemTags`.

use crate::support;

use remedy_functions::rule::Outcome;
use support::{
    finding, group_grant, remedy, run_checked_in_stack, Emulator, Workdir, ALL_USERS, REGION,
};

const TEMPLATE: &str = r#"{
  "Resources": {
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "remedy-own-findings"}},
    "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::123456789012:root\"}, \"Action\": \"kms:*\", \"Resource\": \"*\"}]}"}},
    "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
      "GroupDescription": "remedy's own",
      "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]}}
  }
}"#;

/// Creates a stack from TEMPLATE; returns its id and its resources' physical ids by logical id.
async fn stack(
    emulator: &Emulator,
    name: &str,
) -> (String, std::collections::BTreeMap<String, String>) {
    stack_in(emulator, name, REGION).await
}

/// The same, in `region`.
async fn stack_in(
    emulator: &Emulator,
    name: &str,
    region: &str,
) -> (String, std::collections::BTreeMap<String, String>) {
    let config = emulator
        .sdk_config()
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let id = cfn
        .create_stack()
        .stack_name(name)
        .template_body(TEMPLATE)
        .send()
        .await
        .unwrap()
        .stack_id()
        .unwrap()
        .to_owned();
    let resources = cfn
        .describe_stack_resources()
        .stack_name(&id)
        .send()
        .await
        .unwrap();
    let physical = resources
        .stack_resources()
        .iter()
        .map(|r| {
            (
                r.logical_resource_id().unwrap().to_owned(),
                r.physical_resource_id().unwrap().to_owned(),
            )
        })
        .collect();
    (id, physical)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_a_user_tagged_remedy_managed_is_remediated() {
    use aws_sdk_s3::types::{AccessControlPolicy, Permission, Tag, Tagging};
    let emulator = Emulator::start();
    let (stack_id, _) = stack(&emulator, "remedy").await;
    let s3 = remedy::aws::identity::s3_client(&emulator.sdk_config(), REGION, &Default::default());
    s3.create_bucket().bucket("opted-out").send().await.unwrap();
    s3.put_bucket_tagging()
        .bucket("opted-out")
        .tagging(
            Tagging::builder()
                .tag_set(
                    Tag::builder()
                        .key("remedy:managed")
                        .value("true")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let acl = s3
        .get_bucket_acl()
        .bucket("opted-out")
        .send()
        .await
        .unwrap();
    let mut grants = acl.grants().to_vec();
    grants.push(group_grant(ALL_USERS, Permission::Read));
    s3.put_bucket_acl()
        .bucket("opted-out")
        .access_control_policy(
            AccessControlPolicy::builder()
                .set_grants(Some(grants))
                .set_owner(acl.owner().cloned())
                .build(),
        )
        .send()
        .await
        .unwrap();

    let (report, _) = run_checked_in_stack(
        &emulator,
        finding("S3-001", "opted-out"),
        &[],
        false,
        Some(&stack_id),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let acl = s3
        .get_bucket_acl()
        .bucket("opted-out")
        .send()
        .await
        .unwrap();
    assert!(
        !acl.grants()
            .iter()
            .any(|g| g.grantee().and_then(|g| g.uri()) == Some(ALL_USERS)),
        "the public grant is gone: {acl:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_remedy_stacks_own_resources_are_skipped() {
    let emulator = Emulator::start();
    let (stack_id, resources) = stack(&emulator, "remedy").await;
    let (other_id, _) = stack(&emulator, "someone-else").await;
    let ec2 = aws_sdk_ec2::Client::new(&emulator.sdk_config());

    // A tagged type: the group carries aws:cloudformation:stack-id of remedy's stack.
    let group = &resources["Group"];
    let tags = ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .unwrap();
    assert!(
        tags.security_groups()[0]
            .tags()
            .iter()
            .any(|t| t.key() == Some("aws:cloudformation:stack-id")
                && t.value() == Some(stack_id.as_str())),
        "{tags:?}"
    );
    let (report, _) = run_checked_in_stack(
        &emulator,
        finding("EC2-002", group),
        &[],
        false,
        Some(&stack_id),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Skipped, "{report:?}");

    // Untagged types, found in the stack's resources (one ListStackResources, on the stack).
    let queue = &resources["Queue"];
    let key = &resources["Key"];
    for f in [finding("SQS-004", queue), finding("KMS-002", key)] {
        let (report, calls) =
            run_checked_in_stack(&emulator, f.clone(), &[], false, Some(&stack_id)).await;
        assert_eq!(report.outcome, Outcome::Skipped, "{f}: {report:?}");
        let list = calls
            .iter()
            .find(|c| c.action == "ListStackResources")
            .expect("the stack's resources are listed");
        assert_eq!(
            list.params.get("StackName").map(String::as_str),
            Some(stack_id.as_str())
        );
    }

    // Another stack's functions (or none) see them as anyone's: the group is fixed.
    let (report, _) = run_checked_in_stack(
        &emulator,
        finding("EC2-002", group),
        &[],
        true,
        Some(&other_id),
    )
    .await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    let (report, _) = run_checked_in_stack(
        &emulator,
        finding("KMS-002", key),
        &[],
        true,
        Some(&other_id),
    )
    .await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
}

/// `remedy remediate` reads remedy's stack (`stack_name`) in the finding's account and region
/// and leaves its resources alone as the deployed functions do; another stack's are fixed.
#[tokio::test(flavor = "multi_thread")]
async fn remediate_on_the_command_line_leaves_the_remedy_stacks_resources_alone() {
    let emulator = Emulator::start();
    let (_, ours) = stack(&emulator, "remedy").await;
    let (_, theirs) = stack(&emulator, "someone-else").await;
    let work = Workdir::new(
        "stages:\n  - name: dev\n    targets: {ous: [/Dev]}\nrules:\n  EC2-002: remediate\n",
    );
    let run_on = |group: &str| {
        work.write("event.json", &finding("EC2-002", group).to_string());
        let run = remedy(
            &emulator,
            work.path(),
            &["remediate", "--event", "event.json", "--output", "json"],
        );
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        run.json()["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(run_on(&ours["Group"]), "skipped");
    assert_eq!(run_on(&theirs["Group"]), "remediated");
    // Read back: the other stack's group lost its open SSH rule; remedy's kept it.
    let ec2 = aws_sdk_ec2::Client::new(&emulator.sdk_config());
    let open_ssh = |group: String| {
        let ec2 = ec2.clone();
        async move {
            let out = ec2
                .describe_security_groups()
                .group_ids(group)
                .send()
                .await
                .unwrap();
            out.security_groups()[0].ip_permissions().iter().any(|p| {
                p.ip_ranges()
                    .iter()
                    .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
            })
        }
    };
    assert!(
        open_ssh(ours["Group"].clone()).await,
        "remedy's own group untouched"
    );
    assert!(
        !open_ssh(theirs["Group"].clone()).await,
        "the other group fixed"
    );
}

/// The stack lives in its stage's home region, which `remedy remediate` does not know (no
/// Organizations call): it looks in every stage's, and so still leaves remedy's own alone
/// when a stage's `home_region` is not the file's.
#[tokio::test(flavor = "multi_thread")]
async fn remediate_finds_the_remedy_stack_in_a_stage_s_own_home_region() {
    let emulator = Emulator::start();
    let (_, ours) = stack_in(&emulator, "remedy", "eu-west-1").await;
    let work = Workdir::new(
        "home_region: us-east-1\nstages:\n  - name: dev\n    targets: {ous: [/Dev]}\n  - name: eu\n    home_region: eu-west-1\n    targets: {ous: [/Eu]}\nrules:\n  EC2-002: remediate\n",
    );
    let mut event = finding("EC2-002", &ours["Group"]);
    event["region"] = "eu-west-1".into();
    work.write("event.json", &event.to_string());
    let run = remedy(
        &emulator,
        work.path(),
        &["remediate", "--event", "event.json", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["outcome"], "skipped", "{}", run.stdout);
}
