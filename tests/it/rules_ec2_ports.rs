//! Every world-open-port rule, one by one, against the emulator: the port open to 0.0.0.0/0
//! and ::/0 (plus a private range and a neighbouring port that must stay), and a world-open
//! TCP range around the port (narrowed to the ports beside it); remediate through
//! `support::run_checked` (every call must be among the rule's declared IAM actions), read
//! the group back, run again and get `compliant`.

use crate::support;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
use remedy_functions::rule::Outcome;
use support::{finding, run_checked, run_rule, Emulator};

const PORT_RULES: [(&str, i32); 11] = [
    ("EC2-002", 22),
    ("EC2-003", 3389),
    ("EC2-004", 1521),
    ("EC2-005", 3306),
    ("EC2-006", 5432),
    ("EC2-008", 1433),
    ("EC2-038", 23),
    ("EC2-039", 25),
    ("EC2-040", 135),
    ("EC2-043", 445),
    ("EC2-045", 27017),
];

fn tcp(port: i32, v4: &[&str], v6: &[&str]) -> IpPermission {
    tcp_range((port, port), v4, v6)
}

fn tcp_range((from, to): (i32, i32), v4: &[&str], v6: &[&str]) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to)
        .set_ip_ranges(Some(
            v4.iter()
                .map(|c| IpRange::builder().cidr_ip(*c).build())
                .collect(),
        ))
        .set_ipv6_ranges(Some(
            v6.iter()
                .map(|c| Ipv6Range::builder().cidr_ipv6(*c).build())
                .collect(),
        ))
        .build()
}

/// (from port, to port, cidr) of every ingress rule of the group.
async fn ingress(ec2: &aws_sdk_ec2::Client, group: &str) -> Vec<(i32, i32, String)> {
    let out = ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .unwrap();
    let mut rules: Vec<(i32, i32, String)> = out.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(|p| {
            let ports = (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1));
            let v4 = p
                .ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip())
                .map(str::to_owned);
            let v6 = p
                .ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6())
                .map(str::to_owned);
            v4.chain(v6)
                .map(move |c| (ports.0, ports.1, c))
                .collect::<Vec<_>>()
        })
        .collect();
    rules.sort();
    rules
}

async fn security_group(ec2: &aws_sdk_ec2::Client, name: &str) -> String {
    ec2.create_security_group()
        .group_name(name)
        .description("world-open")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_port_rule_closes_its_port_to_the_world_and_nothing_else() {
    let emulator = Emulator::start();
    let ec2 = aws_sdk_ec2::Client::new(&emulator.sdk_config());
    for (rule, port) in PORT_RULES {
        let group = security_group(&ec2, &format!("open-{port}")).await;
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(tcp(port, &["0.0.0.0/0", "10.0.0.0/8"], &["::/0"]))
            .ip_permissions(tcp(port + 1, &["0.0.0.0/0"], &[]))
            .send()
            .await
            .unwrap();

        let (report, _) = run_checked(&emulator, finding(rule, &group), &[], false).await;
        assert_eq!(report.outcome, Outcome::Remediated, "{rule}: {report:?}");
        let mut expected = vec![
            (port, port, "10.0.0.0/8".to_owned()),
            (port + 1, port + 1, "0.0.0.0/0".to_owned()),
        ];
        expected.sort();
        assert_eq!(
            ingress(&ec2, &group).await,
            expected,
            "{rule}: only port {port}'s world-open ranges go"
        );

        let again = run_rule(&emulator, finding(rule, &group), &[], false).await;
        assert_eq!(again.outcome, Outcome::Compliant, "{rule}: {again:?}");

        // A world-open range around the port keeps the ports beside it open.
        let group = security_group(&ec2, &format!("range-{port}")).await;
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(tcp_range((port - 2, port + 2), &["0.0.0.0/0"], &["::/0"]))
            .send()
            .await
            .unwrap();

        let (report, calls) = run_checked(&emulator, finding(rule, &group), &[], false).await;
        assert_eq!(report.outcome, Outcome::Remediated, "{rule}: {report:?}");
        assert_eq!(report.actions.len(), 2, "{rule}: {report:?}");
        let called: Vec<String> = calls.iter().map(support::iam_action).collect();
        let authorize = called
            .iter()
            .position(|a| a == "ec2:AuthorizeSecurityGroupIngress");
        let revoke = called
            .iter()
            .position(|a| a == "ec2:RevokeSecurityGroupIngress");
        assert!(
            matches!((authorize, revoke), (Some(a), Some(r)) if a < r),
            "{rule}: the rest of the range is authorised before the rule is revoked: {called:?}"
        );
        assert!(
            report
                .actions
                .iter()
                .all(|a| a.starts_with("narrowed ingress rule")),
            "{rule}: {report:?}"
        );
        let mut expected = vec![
            (port - 2, port - 1, "0.0.0.0/0".to_owned()),
            (port + 1, port + 2, "0.0.0.0/0".to_owned()),
            (port - 2, port - 1, "::/0".to_owned()),
            (port + 1, port + 2, "::/0".to_owned()),
        ];
        expected.sort();
        assert_eq!(
            ingress(&ec2, &group).await,
            expected,
            "{rule}: the range is cut around port {port}"
        );

        let again = run_rule(&emulator, finding(rule, &group), &[], false).await;
        assert_eq!(again.outcome, Outcome::Compliant, "{rule}: {again:?}");
    }
}
