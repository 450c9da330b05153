//! The EC2, EBS and VPC rules against the emulator: create the violation through the SDK,
//! remediate, read the fixed state back, run again and get `compliant`. Each remediating
//! run is recorded (`support::run_checked`), and every call it made must be among the rule's
//! declared IAM actions.

use crate::support;

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, LaunchPermission, LaunchPermissionModifications,
    PermissionGroup, ResourceType, SecurityGroupRule, Tag, TagSpecification, UserIdGroupPair,
};
use remedy_functions::rule::{Outcome, Report};
use support::{finding, run_rule, Emulator};

fn ec2(emulator: &Emulator) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&emulator.sdk_config())
}

/// Runs the rule through `support::run_checked` (every call it made must be declared), and
/// checks that it made some.
async fn run_checked(
    emulator: &Emulator,
    rule_id: &str,
    resource: &str,
    settings: &[(&str, &str)],
) -> Report {
    let f = finding(rule_id, resource);
    let (report, calls) = support::run_checked(emulator, f, settings, false).await;
    assert!(!calls.is_empty(), "{rule_id}: nothing recorded");
    report
}

fn tcp(port: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
}

fn v4(cidr: &str) -> IpRange {
    IpRange::builder().cidr_ip(cidr).build()
}

fn v6(cidr: &str) -> Ipv6Range {
    Ipv6Range::builder().cidr_ipv6(cidr).build()
}

async fn group(ec2: &aws_sdk_ec2::Client, name: &str, tags: &[(&str, &str)]) -> String {
    let mut create = ec2
        .create_security_group()
        .group_name(name)
        .description(name);
    if !tags.is_empty() {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::SecurityGroup);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(*k).value(*v).build());
        }
        create = create.tag_specifications(spec.build());
    }
    create.send().await.unwrap().group_id().unwrap().to_owned()
}

async fn authorize(ec2: &aws_sdk_ec2::Client, group_id: &str, permissions: Vec<IpPermission>) {
    ec2.authorize_security_group_ingress()
        .group_id(group_id)
        .set_ip_permissions(Some(permissions))
        .send()
        .await
        .unwrap();
}

async fn rules(ec2: &aws_sdk_ec2::Client, group_id: &str) -> Vec<SecurityGroupRule> {
    ec2.describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group_id).build())
        .send()
        .await
        .unwrap()
        .security_group_rules()
        .to_vec()
}

/// The group's ingress rules as `protocol from-to peer`, sorted.
async fn ingress(ec2: &aws_sdk_ec2::Client, group_id: &str) -> Vec<String> {
    let mut out: Vec<String> = rules(ec2, group_id)
        .await
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .map(|r| {
            let peer = r
                .cidr_ipv4()
                .or(r.cidr_ipv6())
                .or(r
                    .referenced_group_info()
                    .and_then(|g| g.group_id())
                    .map(|_| "group"))
                .unwrap_or("?");
            format!(
                "{} {}-{} {peer}",
                r.ip_protocol().unwrap_or_default(),
                r.from_port().unwrap_or_default(),
                r.to_port().unwrap_or_default()
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn world_open_ports_are_closed_for_ipv4_and_ipv6_and_nothing_else() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    let sg = group(&ec2, "web", &[]).await;
    authorize(
        &ec2,
        &sg,
        vec![
            tcp(22)
                .ip_ranges(v4("0.0.0.0/0"))
                .ip_ranges(v4("10.0.0.0/8"))
                .ipv6_ranges(v6("::/0"))
                .build(),
            tcp(443)
                .ip_ranges(v4("0.0.0.0/0"))
                .ipv6_ranges(v6("::/0"))
                .build(),
            tcp(3389).ipv6_ranges(v6("::/0")).build(),
            tcp(22)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&sg).build())
                .build(),
        ],
    )
    .await;
    let before = ingress(&ec2, &sg).await;
    assert_eq!(before.len(), 7, "{before:?}");

    // Dry-run decides and changes nothing.
    let report = run_rule(&emulator, finding("EC2-002", &sg), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(report.actions.len(), 2, "{report:?}");
    assert_eq!(ingress(&ec2, &sg).await, before);

    let report = run_checked(&emulator, "EC2-002", &sg, &[]).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(report.actions.len(), 2, "{report:?}");
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.contains("TCP port 22 from 0.0.0.0/0")),
        "{report:?}"
    );
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.contains("TCP port 22 from ::/0")),
        "{report:?}"
    );
    assert_eq!(
        ingress(&ec2, &sg).await,
        [
            "tcp 22-22 10.0.0.0/8",
            "tcp 22-22 group",
            "tcp 3389-3389 ::/0",
            "tcp 443-443 0.0.0.0/0",
            "tcp 443-443 ::/0",
        ],
        "another CIDR, another port and the group reference stay"
    );
    assert_eq!(
        run_rule(&emulator, finding("EC2-002", &sg), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // IPv6 alone is world-open too.
    let report = run_checked(&emulator, "EC2-003", &sg, &[]).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        ingress(&ec2, &sg).await,
        [
            "tcp 22-22 10.0.0.0/8",
            "tcp 22-22 group",
            "tcp 443-443 0.0.0.0/0",
            "tcp 443-443 ::/0"
        ]
    );
    assert_eq!(
        run_rule(&emulator, finding("EC2-003", &sg), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    for rule in [
        "EC2-004", "EC2-005", "EC2-006", "EC2-008", "EC2-038", "EC2-039", "EC2-040", "EC2-043",
        "EC2-045",
    ] {
        let report = run_rule(&emulator, finding(rule, &sg), &[], false).await;
        assert_eq!(report.outcome, Outcome::Compliant, "{rule}: {report:?}");
    }
    assert_eq!(ingress(&ec2, &sg).await.len(), 4);
}

fn tcp_range(from: i32, to: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to)
}

fn all_traffic() -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder().ip_protocol("-1")
}

/// Whether an ingress rule of the group lets TCP `port` in from `cidr` (all traffic counts).
async fn open_to(ec2: &aws_sdk_ec2::Client, group_id: &str, cidr: &str, port: i32) -> bool {
    rules(ec2, group_id).await.iter().any(|r| {
        r.is_egress() == Some(false)
            && (r.cidr_ipv4() == Some(cidr) || r.cidr_ipv6() == Some(cidr))
            && match r.ip_protocol() {
                Some("-1") => true,
                Some("tcp") => {
                    r.from_port().unwrap_or(i32::MAX) <= port
                        && port <= r.to_port().unwrap_or(i32::MIN)
                }
                _ => false,
            }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn world_open_tcp_ranges_are_narrowed_around_the_port() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    let sg = group(&ec2, "public-web", &[]).await;
    authorize(
        &ec2,
        &sg,
        vec![
            tcp_range(0, 65535)
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .description("public web")
                        .build(),
                )
                .ip_ranges(v4("10.0.0.0/8"))
                .build(),
            tcp_range(20, 25).ipv6_ranges(v6("::/0")).build(),
            IpPermission::builder()
                .ip_protocol("udp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(v4("0.0.0.0/0"))
                .build(),
        ],
    )
    .await;
    let before = ingress(&ec2, &sg).await;
    assert_eq!(before.len(), 4, "{before:?}");

    let report = run_rule(&emulator, finding("EC2-002", &sg), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(report.actions.len(), 2, "{report:?}");
    assert_eq!(ingress(&ec2, &sg).await, before);

    let report = run_checked(&emulator, "EC2-002", &sg, &[]).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(report.actions.len(), 2, "{report:?}");
    let narrowed = |what: &str, to: &str| {
        report.actions.iter().any(|a| {
            a.starts_with("narrowed ingress rule ")
                && a.contains(&format!("({what}) of security group {sg} to {to}"))
        })
    };
    assert!(
        narrowed(
            "TCP ports 0-65535 from 0.0.0.0/0",
            "TCP ports 0-21 and 23-65535 from 0.0.0.0/0"
        ),
        "{report:?}"
    );
    assert!(
        narrowed(
            "TCP ports 20-25 from ::/0",
            "TCP ports 20-21 and 23-25 from ::/0"
        ),
        "{report:?}"
    );
    assert_eq!(
        ingress(&ec2, &sg).await,
        [
            "tcp 0-21 0.0.0.0/0",
            "tcp 0-65535 10.0.0.0/8",
            "tcp 20-21 ::/0",
            "tcp 23-25 ::/0",
            "tcp 23-65535 0.0.0.0/0",
            "udp 22-22 0.0.0.0/0",
        ]
    );
    for port in [0, 21, 23, 80, 443, 65535] {
        assert!(open_to(&ec2, &sg, "0.0.0.0/0", port).await, "port {port}");
    }
    for port in [20, 21, 23, 25] {
        assert!(open_to(&ec2, &sg, "::/0", port).await, "port {port}");
    }
    assert!(!open_to(&ec2, &sg, "0.0.0.0/0", 22).await);
    assert!(!open_to(&ec2, &sg, "::/0", 22).await);
    assert!(
        open_to(&ec2, &sg, "10.0.0.0/8", 22).await,
        "another CIDR stays"
    );
    let kept = rules(&ec2, &sg).await;
    assert!(
        kept.iter().any(|r| r.cidr_ipv4() == Some("0.0.0.0/0")
            && r.from_port() == Some(0)
            && r.to_port() == Some(21)
            && r.description() == Some("public web")),
        "the description is kept: {kept:?}"
    );
    assert_eq!(
        run_rule(&emulator, finding("EC2-002", &sg), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // Telnet (23) is where both narrowed ranges start: they start one port later.
    let report = run_checked(&emulator, "EC2-038", &sg, &[]).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        ingress(&ec2, &sg).await,
        [
            "tcp 0-21 0.0.0.0/0",
            "tcp 0-65535 10.0.0.0/8",
            "tcp 20-21 ::/0",
            "tcp 24-25 ::/0",
            "tcp 24-65535 0.0.0.0/0",
            "udp 22-22 0.0.0.0/0",
        ]
    );
    assert_eq!(
        run_rule(&emulator, finding("EC2-038", &sg), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn world_all_traffic_is_left_for_a_human_and_the_report_fails() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    let sg = group(&ec2, "wide-open", &[]).await;
    authorize(
        &ec2,
        &sg,
        vec![
            all_traffic().ipv6_ranges(v6("::/0")).build(),
            tcp(1433).ip_ranges(v4("0.0.0.0/0")).build(),
            tcp_range(1000, 2000).ip_ranges(v4("0.0.0.0/0")).build(),
        ],
    )
    .await;
    let before = ingress(&ec2, &sg).await;
    assert_eq!(before.len(), 3, "{before:?}");
    let needs_a_human = |report: &Report| {
        let reason = report.reason.as_deref().unwrap_or_default();
        reason.contains("(all traffic from ::/0)")
            && reason.contains("opens every port and protocol to the world")
            && reason.contains("must be narrowed by hand")
    };

    // Dry-run: what would be done, and that the all-traffic rule needs a human.
    let report = run_rule(&emulator, finding("EC2-008", &sg), &[], true).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert_eq!(report.actions.len(), 2, "{report:?}");
    assert!(needs_a_human(&report), "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("dry-run"),
        "{report:?}"
    );
    assert_eq!(ingress(&ec2, &sg).await, before);

    // The TCP rules are fixed; the all-traffic rule stays; the report is failed.
    let report = run_checked(&emulator, "EC2-008", &sg, &[]).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(needs_a_human(&report), "{report:?}");
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.starts_with("revoked ingress rule")
                && a.contains("(TCP port 1433 from 0.0.0.0/0)")),
        "{report:?}"
    );
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.starts_with("narrowed ingress rule")
                && a.ends_with("to TCP ports 1000-1432 and 1434-2000 from 0.0.0.0/0")),
        "{report:?}"
    );
    assert!(open_to(&ec2, &sg, "::/0", 1433).await, "all traffic stays");
    assert!(!open_to(&ec2, &sg, "0.0.0.0/0", 1433).await);
    assert!(open_to(&ec2, &sg, "0.0.0.0/0", 1000).await);
    assert!(open_to(&ec2, &sg, "0.0.0.0/0", 2000).await);

    // Only the all-traffic rule is left: failed, nothing to do, nothing changed.
    let after = ingress(&ec2, &sg).await;
    let report = run_checked(&emulator, "EC2-008", &sg, &[]).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(report.actions.is_empty(), "{report:?}");
    assert!(needs_a_human(&report), "{report:?}");
    assert_eq!(ingress(&ec2, &sg).await, after);
}

#[tokio::test(flavor = "multi_thread")]
async fn labelled_groups_and_missing_groups() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    // A remedy:managed label anyone can set opts nothing out (remedy's own groups carry
    // CloudFormation's tags: tests/it/own_resources.rs).
    let sg = group(&ec2, "remedy-owned", &[("remedy:managed", "true")]).await;
    authorize(&ec2, &sg, vec![tcp(22).ip_ranges(v4("0.0.0.0/0")).build()]).await;
    let report = run_rule(&emulator, finding("EC2-002", &sg), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(ingress(&ec2, &sg).await.is_empty(), "revoked");

    let report = run_rule(
        &emulator,
        finding("EC2-002", "sg-0123456789abcdef0"),
        &[],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("DescribeSecurityGroups"),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_security_group_is_emptied() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    let default = ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let default = &default.security_groups()[0];
    let (sg, vpc) = (
        default.group_id().unwrap().to_owned(),
        default.vpc_id().unwrap().to_owned(),
    );
    authorize(&ec2, &sg, vec![tcp(22).ip_ranges(v4("0.0.0.0/0")).build()]).await;
    let before = rules(&ec2, &sg).await;
    assert!(
        before.iter().any(|r| r.is_egress() == Some(true)),
        "{before:?}"
    );

    let report = run_rule(&emulator, finding("EC2-016", &sg), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(rules(&ec2, &sg).await.len(), before.len());

    let report = run_checked(&emulator, "EC2-016", &sg, &[]).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(report.actions.len(), before.len(), "{report:?}");
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.starts_with("revoked egress rule")),
        "{report:?}"
    );
    assert!(rules(&ec2, &sg).await.is_empty());
    assert_eq!(
        run_rule(&emulator, finding("EC2-016", &sg), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
    // A VPC id names its default group.
    assert_eq!(
        run_rule(&emulator, finding("EC2-016", &vpc), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );

    // Any other group is refused, not emptied.
    let other = group(&ec2, "not-default", &[]).await;
    let report = run_rule(&emulator, finding("EC2-016", &other), &[], false).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(!rules(&ec2, &other).await.is_empty(), "untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn public_amis_are_made_private() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    let image = ec2
        .register_image()
        .name("shared-image")
        .send()
        .await
        .unwrap();
    let image = image.image_id().unwrap().to_owned();
    ec2.modify_image_attribute()
        .image_id(&image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .add(
                    LaunchPermission::builder()
                        .group(PermissionGroup::All)
                        .build(),
                )
                .add(LaunchPermission::builder().user_id("111111111111").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let permissions = |ec2: aws_sdk_ec2::Client, image: String| async move {
        let out = ec2
            .describe_image_attribute()
            .image_id(image)
            .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
            .send()
            .await
            .unwrap();
        out.launch_permissions().to_vec()
    };
    assert!(permissions(ec2.clone(), image.clone())
        .await
        .iter()
        .any(|p| p.group() == Some(&PermissionGroup::All)));

    let report = run_rule(&emulator, finding("EC2-019", &image), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(permissions(ec2.clone(), image.clone()).await.len(), 2);

    let report = run_checked(&emulator, "EC2-019", &image, &[]).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    let after = permissions(ec2.clone(), image.clone()).await;
    assert!(after.iter().all(|p| p.group().is_none()), "{after:?}");
    assert!(
        after.iter().any(|p| p.user_id() == Some("111111111111")),
        "the account share stays: {after:?}"
    );
    assert_eq!(
        run_rule(&emulator, finding("EC2-019", &image), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn public_snapshots_are_made_private() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    let volume = ec2
        .create_volume()
        .availability_zone("us-east-1a")
        .size(8)
        .send()
        .await
        .unwrap();
    let snapshot = ec2
        .create_snapshot()
        .volume_id(volume.volume_id().unwrap())
        .send()
        .await
        .unwrap();
    let snapshot = snapshot.snapshot_id().unwrap().to_owned();
    ec2.modify_snapshot_attribute()
        .snapshot_id(&snapshot)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .operation_type(aws_sdk_ec2::types::OperationType::Add)
        .group_names("all")
        .user_ids("111111111111")
        .send()
        .await
        .unwrap();
    // (public, shared with the other account)
    let shares = |ec2: aws_sdk_ec2::Client, snapshot: String| async move {
        let out = ec2
            .describe_snapshot_attribute()
            .snapshot_id(snapshot)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .unwrap();
        let permissions = out.create_volume_permissions();
        (
            permissions
                .iter()
                .any(|p| p.group() == Some(&PermissionGroup::All)),
            permissions
                .iter()
                .any(|p| p.user_id() == Some("111111111111")),
        )
    };
    assert_eq!(shares(ec2.clone(), snapshot.clone()).await, (true, true));

    let report = run_rule(&emulator, finding("EBS-009", &snapshot), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(shares(ec2.clone(), snapshot.clone()).await, (true, true));

    let report = run_checked(&emulator, "EBS-009", &snapshot, &[]).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(
        shares(ec2.clone(), snapshot.clone()).await,
        (false, true),
        "the account share stays"
    );
    assert_eq!(
        run_rule(&emulator, finding("EBS-009", &snapshot), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ebs_encryption_by_default_is_turned_on() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    let on = |ec2: aws_sdk_ec2::Client| async move {
        ec2.get_ebs_encryption_by_default()
            .send()
            .await
            .unwrap()
            .ebs_encryption_by_default()
    };
    assert_eq!(on(ec2.clone()).await, Some(false));

    let report = run_rule(&emulator, finding("EBS-014", "us-east-1"), &[], true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(on(ec2.clone()).await, Some(false));

    let report = run_checked(&emulator, "EBS-014", "us-east-1", &[]).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(on(ec2.clone()).await, Some(true));
    assert_eq!(
        run_rule(&emulator, finding("EBS-014", "us-east-1"), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

async fn vpc(ec2: &aws_sdk_ec2::Client, cidr: &str) -> String {
    ec2.create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned()
}

async fn flow_logs(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Vec<aws_sdk_ec2::types::FlowLog> {
    ec2.describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(vpc_id).build())
        .send()
        .await
        .unwrap()
        .flow_logs()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn vpc_flow_logs_are_created_once_with_their_role() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    let iam = aws_sdk_iam::Client::new(&emulator.sdk_config());
    let first = vpc(&ec2, "10.1.0.0/16").await;
    let settings = [("log_group", "vpc-logs"), ("traffic_type", "ALL")];

    let report = run_rule(&emulator, finding("VPC-001", &first), &settings, true).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{report:?}");
    assert_eq!(report.actions.len(), 3, "{report:?}");
    assert!(flow_logs(&ec2, &first).await.is_empty());
    assert!(
        iam.get_role()
            .role_name("remedy-vpc-flow-logs")
            .send()
            .await
            .is_err(),
        "no role in dry-run"
    );

    let report = run_checked(&emulator, "VPC-001", &first, &settings).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        report.actions[0].starts_with("created IAM role remedy-vpc-flow-logs"),
        "{report:?}"
    );
    let logs = flow_logs(&ec2, &first).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].log_group_name(), Some("vpc-logs"));
    assert_eq!(logs[0].traffic_type().map(|t| t.as_str()), Some("ALL"));
    assert_eq!(
        logs[0].log_destination_type().map(|t| t.as_str()),
        Some("cloud-watch-logs")
    );
    let role = iam
        .get_role()
        .role_name("remedy-vpc-flow-logs")
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    assert_eq!(logs[0].deliver_logs_permission_arn(), Some(role.arn()));
    assert!(role
        .assume_role_policy_document()
        .unwrap_or_default()
        .contains("vpc-flow-logs.amazonaws.com"));
    let policy = iam
        .get_role_policy()
        .role_name("remedy-vpc-flow-logs")
        .policy_name("deliver-flow-logs-to-cloudwatch-logs")
        .send()
        .await
        .unwrap();
    // IAM answers with the document URL-encoded.
    assert!(
        policy.policy_document().contains("PutLogEvents"),
        "{policy:?}"
    );
    assert!(
        logs[0]
            .tags()
            .iter()
            .any(|t| t.key() == Some("remedy:managed")),
        "{logs:?}"
    );

    // Never a duplicate.
    let report = run_rule(&emulator, finding("VPC-001", &first), &settings, false).await;
    assert_eq!(report.outcome, Outcome::Compliant, "{report:?}");
    assert_eq!(flow_logs(&ec2, &first).await.len(), 1);

    // A second VPC reuses the role; the default settings apply.
    let second = vpc(&ec2, "10.2.0.0/16").await;
    let report = run_checked(&emulator, "VPC-001", &second, &[]).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert!(
        report
            .actions
            .iter()
            .all(|a| !a.starts_with("created IAM role")),
        "{report:?}"
    );
    let logs = flow_logs(&ec2, &second).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].log_group_name(), Some("remedy-vpc-flow-logs"));
    assert_eq!(logs[0].traffic_type().map(|t| t.as_str()), Some("REJECT"));
    assert_eq!(
        run_rule(&emulator, finding("VPC-001", &second), &[], false)
            .await
            .outcome,
        Outcome::Compliant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vpc_with_any_flow_log_or_bad_settings_is_left_alone() {
    let emulator = Emulator::start();
    let ec2 = ec2(&emulator);
    let logged = vpc(&ec2, "10.3.0.0/16").await;
    ec2.create_flow_logs()
        .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::Vpc)
        .resource_ids(&logged)
        .traffic_type(aws_sdk_ec2::types::TrafficType::All)
        .log_group_name("someone-elses-logs")
        .deliver_logs_permission_arn("arn:aws:iam::123456789012:role/someone-elses-role")
        .send()
        .await
        .unwrap();
    let report = run_rule(&emulator, finding("VPC-001", &logged), &[], false).await;
    assert_eq!(report.outcome, Outcome::Compliant, "{report:?}");
    assert_eq!(flow_logs(&ec2, &logged).await.len(), 1);

    let plain = vpc(&ec2, "10.4.0.0/16").await;
    let report = run_rule(
        &emulator,
        finding("VPC-001", &plain),
        &[("traffic_type", "SOME")],
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(flow_logs(&ec2, &plain).await.is_empty());

    let managed = ec2
        .create_vpc()
        .cidr_block("10.5.0.0/16")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Vpc)
                .tags(Tag::builder().key("remedy:managed").value("true").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // A label anyone can set: the VPC gets its flow log all the same.
    let managed = managed.vpc().unwrap().vpc_id().unwrap().to_owned();
    let report = run_rule(&emulator, finding("VPC-001", &managed), &[], false).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{report:?}");
    assert_eq!(flow_logs(&ec2, &managed).await.len(), 1);
}
