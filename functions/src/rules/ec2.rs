//! EC2 rules: security groups open to the internet on well-known ports (the ingress rules
//! from `0.0.0.0/0` and `::/0` over TCP or all protocols that cover the port are revoked by
//! rule id; other sources, ports and group references stay), the VPC default security group
//! (emptied) and publicly shared AMIs (made private). Also home of [`is_managed`], the
//! `remedy:managed` test on EC2 tags that the EBS and VPC rules share.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Revoke ingress on TCP 22 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-002",
        title: "Unrestricted SSH Access",
        service: "EC2",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke ingress on TCP 3389 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-003",
        title: "Unrestricted RDP Access",
        service: "EC2",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke ingress on TCP 1521 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-004",
        title: "Unrestricted Oracle Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke ingress on TCP 3306 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-005",
        title: "Unrestricted MySQL Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke ingress on TCP 5432 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-006",
        title: "Unrestricted PostgreSQL Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke ingress on TCP 1433 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-008",
        title: "Unrestricted MsSQL Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke every ingress and egress rule of a VPC's default security group.
    RuleSpec {
        id: "EC2-016",
        title: "Default Security Group Unrestricted",
        service: "EC2",
        risk: RiskLevel::Low,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
        ],
    },
    // Remove the `all` group from the AMI's launch permission (`DescribeImages` says whether
    // the AMI is public and carries its tags).
    RuleSpec {
        id: "EC2-019",
        title: "Publicly Shared AMI",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["ec2:DescribeImages", "ec2:ModifyImageAttribute"],
    },
    // Revoke ingress on TCP 23 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-038",
        title: "Unrestricted Telnet Access",
        service: "EC2",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke ingress on TCP 25 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-039",
        title: "Unrestricted SMTP Access",
        service: "EC2",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke ingress on TCP 135 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-040",
        title: "Unrestricted RPC Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke ingress on TCP 445 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-043",
        title: "Unrestricted CIFS Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
    // Revoke ingress on TCP 27017 from 0.0.0.0/0 and ::/0.
    RuleSpec {
        id: "EC2-045",
        title: "Unrestricted MongoDB Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
        ],
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the security group id (`sg-…`; for EC2-016
// a VPC id names its default group) or the AMI id.

use crate::rule::{Context, Report, RuleError, MANAGED_TAG};
use aws_sdk_ec2::types::{
    Filter, LaunchPermission, LaunchPermissionModifications, PermissionGroup, SecurityGroup,
    SecurityGroupRule, Tag,
};
use aws_sdk_ec2::Client;
use futures::future::BoxFuture;

/// The port each "unrestricted access" rule closes to the world.
const WORLD_PORT_RULES: &[(&str, i32)] = &[
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

const WORLD_IPV4: &str = "0.0.0.0/0";
const WORLD_IPV6: &str = "::/0";

/// Runs the EC2 rule `ctx.rule`.
pub fn remediate(ctx: &Context) -> BoxFuture<'_, Result<Report, RuleError>> {
    Box::pin(async move {
        let resource = ctx.resource()?;
        let ec2 = Client::new(&ctx.aws);
        match ctx.rule.id {
            "EC2-016" => empty_default_group(ctx, &ec2, resource).await,
            "EC2-019" => make_image_private(ctx, &ec2, resource).await,
            id => match WORLD_PORT_RULES.iter().find(|(rule, _)| *rule == id) {
                Some(&(_, port)) => close_world_ingress(ctx, &ec2, resource, port).await,
                None => Err(RuleError::new(format!("{id} is not an EC2 rule"))),
            },
        }
    })
}

/// Whether EC2 `tags` include the `remedy:managed` tag.
pub fn is_managed(tags: &[Tag]) -> bool {
    tags.iter().any(|t| t.key() == Some(MANAGED_TAG))
}

/// The security group with id `id`, or an error when there is none.
async fn security_group(ec2: &Client, id: &str) -> Result<SecurityGroup, RuleError> {
    let out = ec2
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeSecurityGroups", &e))?;
    out.security_groups()
        .first()
        .cloned()
        .ok_or_else(|| RuleError::new(format!("security group {id} not found")))
}

/// The default security group of the VPC `vpc_id`, or an error when there is none.
async fn default_group_of(ec2: &Client, vpc_id: &str) -> Result<SecurityGroup, RuleError> {
    let out = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeSecurityGroups", &e))?;
    out.security_groups()
        .first()
        .cloned()
        .ok_or_else(|| RuleError::new(format!("VPC {vpc_id} has no default security group")))
}

/// Every rule, ingress and egress, of the security group `group_id`.
async fn group_rules(ec2: &Client, group_id: &str) -> Result<Vec<SecurityGroupRule>, RuleError> {
    ec2.describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group_id).build())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| RuleError::aws("DescribeSecurityGroupRules", &e))
}

/// The ingress rules a world-open-port rule revokes: from `0.0.0.0/0` or `::/0`, over TCP or
/// all protocols, with a port range covering `port`.
pub fn world_open_on(rules: &[SecurityGroupRule], port: i32) -> Vec<&SecurityGroupRule> {
    rules
        .iter()
        .filter(|r| r.is_egress() != Some(true) && is_world(r) && covers(r, port))
        .collect()
}

/// Whether the rule's peer is the whole IPv4 or IPv6 internet.
fn is_world(rule: &SecurityGroupRule) -> bool {
    rule.cidr_ipv4() == Some(WORLD_IPV4) || rule.cidr_ipv6() == Some(WORLD_IPV6)
}

/// Whether the rule lets TCP traffic to `port` through (all protocols count).
fn covers(rule: &SecurityGroupRule, port: i32) -> bool {
    let protocol = rule.ip_protocol().unwrap_or_default().to_ascii_lowercase();
    match protocol.as_str() {
        "-1" | "all" => true,
        "tcp" | "6" => match (rule.from_port(), rule.to_port()) {
            (Some(from), Some(to)) => from <= port && port <= to,
            _ => false,
        },
        _ => false,
    }
}

/// A rule in words: `sgr-… (TCP port 22 from 0.0.0.0/0)`.
fn describe_rule(rule: &SecurityGroupRule) -> String {
    let id = rule.security_group_rule_id().unwrap_or("(no id)");
    let protocol = rule.ip_protocol().unwrap_or_default().to_ascii_lowercase();
    let ports = match (rule.from_port(), rule.to_port()) {
        (Some(from), Some(to)) if from == to && from >= 0 => format!(" port {from}"),
        (Some(from), Some(to)) if from >= 0 => format!(" ports {from}-{to}"),
        _ => String::new(),
    };
    let what = match protocol.as_str() {
        "-1" | "all" => "all traffic".to_owned(),
        other => format!("{}{ports}", other.to_ascii_uppercase()),
    };
    let peer = rule
        .cidr_ipv4()
        .or(rule.cidr_ipv6())
        .or(rule.prefix_list_id())
        .or(rule.referenced_group_info().and_then(|g| g.group_id()))
        .unwrap_or("(unknown peer)");
    let direction = if rule.is_egress() == Some(true) {
        "to"
    } else {
        "from"
    };
    format!("{id} ({what} {direction} {peer})")
}

/// The ids of `rules`, or an error if AWS left one out.
fn rule_ids(rules: &[&SecurityGroupRule]) -> Result<Vec<String>, RuleError> {
    rules
        .iter()
        .map(|r| {
            r.security_group_rule_id()
                .map(str::to_owned)
                .ok_or_else(|| {
                    RuleError::new("DescribeSecurityGroupRules returned a rule without an id")
                })
        })
        .collect()
}

/// Revokes the ingress rules `ids` of `group_id`.
async fn revoke_ingress(ec2: &Client, group_id: &str, ids: Vec<String>) -> Result<(), RuleError> {
    let out = ec2
        .revoke_security_group_ingress()
        .group_id(group_id)
        .set_security_group_rule_ids(Some(ids))
        .send()
        .await
        .map_err(|e| RuleError::aws("RevokeSecurityGroupIngress", &e))?;
    if out.r#return() == Some(false) {
        return Err(RuleError::new(format!(
            "RevokeSecurityGroupIngress on {group_id} returned false"
        )));
    }
    Ok(())
}

/// Revokes the egress rules `ids` of `group_id`.
async fn revoke_egress(ec2: &Client, group_id: &str, ids: Vec<String>) -> Result<(), RuleError> {
    let out = ec2
        .revoke_security_group_egress()
        .group_id(group_id)
        .set_security_group_rule_ids(Some(ids))
        .send()
        .await
        .map_err(|e| RuleError::aws("RevokeSecurityGroupEgress", &e))?;
    if out.r#return() == Some(false) {
        return Err(RuleError::new(format!(
            "RevokeSecurityGroupEgress on {group_id} returned false"
        )));
    }
    Ok(())
}

/// EC2-002…045: revoke world-open ingress (IPv4 and IPv6) covering `port`, nothing else.
async fn close_world_ingress(
    ctx: &Context,
    ec2: &Client,
    group_id: &str,
    port: i32,
) -> Result<Report, RuleError> {
    let group = security_group(ec2, group_id).await?;
    if is_managed(group.tags()) {
        return Ok(Report::managed(group_id));
    }
    let rules = group_rules(ec2, group_id).await?;
    let open = world_open_on(&rules, port);
    if open.is_empty() {
        return Ok(Report::compliant(format!(
            "{group_id} allows no ingress on TCP port {port} from {WORLD_IPV4} or {WORLD_IPV6}"
        )));
    }
    let ids = rule_ids(&open)?;
    let actions = open
        .iter()
        .map(|r| {
            format!(
                "revoked ingress rule {} of security group {group_id}",
                describe_rule(r)
            )
        })
        .collect();
    ctx.fix(actions, revoke_ingress(ec2, group_id, ids)).await
}

/// EC2-016: revoke every ingress and egress rule of a default security group.
async fn empty_default_group(
    ctx: &Context,
    ec2: &Client,
    resource: &str,
) -> Result<Report, RuleError> {
    let group = if resource.starts_with("vpc-") {
        default_group_of(ec2, resource).await?
    } else {
        security_group(ec2, resource).await?
    };
    let group_id = group.group_id().unwrap_or(resource);
    if group.group_name() != Some("default") {
        return Err(RuleError::new(format!(
            "{group_id} is not a VPC's default security group: EC2-016 empties only default groups"
        )));
    }
    if is_managed(group.tags()) {
        return Ok(Report::managed(group_id));
    }
    let rules = group_rules(ec2, group_id).await?;
    if rules.is_empty() {
        return Ok(Report::compliant(format!(
            "default security group {group_id} has no rules"
        )));
    }
    let (egress, ingress): (Vec<&SecurityGroupRule>, Vec<&SecurityGroupRule>) =
        rules.iter().partition(|r| r.is_egress() == Some(true));
    let ingress_ids = rule_ids(&ingress)?;
    let egress_ids = rule_ids(&egress)?;
    let actions = ingress
        .iter()
        .map(|r| {
            format!(
                "revoked ingress rule {} of default security group {group_id}",
                describe_rule(r)
            )
        })
        .chain(egress.iter().map(|r| {
            format!(
                "revoked egress rule {} of default security group {group_id}",
                describe_rule(r)
            )
        }))
        .collect();
    ctx.fix(actions, async {
        if !ingress_ids.is_empty() {
            revoke_ingress(ec2, group_id, ingress_ids).await?;
        }
        if !egress_ids.is_empty() {
            revoke_egress(ec2, group_id, egress_ids).await?;
        }
        Ok(())
    })
    .await
}

/// EC2-019: remove the `all` group from the AMI's launch permission.
async fn make_image_private(
    ctx: &Context,
    ec2: &Client,
    image_id: &str,
) -> Result<Report, RuleError> {
    let out = ec2
        .describe_images()
        .image_ids(image_id)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeImages", &e))?;
    let image = out
        .images()
        .first()
        .ok_or_else(|| RuleError::new(format!("AMI {image_id} not found")))?;
    if is_managed(image.tags()) {
        return Ok(Report::managed(image_id));
    }
    if image.public() != Some(true) {
        return Ok(Report::compliant(format!("AMI {image_id} is not public")));
    }
    let action = format!("removed the public (`all`) launch permission from AMI {image_id}");
    ctx.fix(vec![action], async {
        let remove_all = LaunchPermissionModifications::builder()
            .remove(
                LaunchPermission::builder()
                    .group(PermissionGroup::All)
                    .build(),
            )
            .build();
        ec2.modify_image_attribute()
            .image_id(image_id)
            .launch_permission(remove_all)
            .send()
            .await
            .map_err(|e| RuleError::aws("ModifyImageAttribute", &e))?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        id: &str,
        protocol: &str,
        ports: (i32, i32),
        ipv4: Option<&str>,
        ipv6: Option<&str>,
    ) -> SecurityGroupRule {
        SecurityGroupRule::builder()
            .security_group_rule_id(id)
            .is_egress(false)
            .ip_protocol(protocol)
            .from_port(ports.0)
            .to_port(ports.1)
            .set_cidr_ipv4(ipv4.map(str::to_owned))
            .set_cidr_ipv6(ipv6.map(str::to_owned))
            .build()
    }

    fn ids<'a>(rules: &[&'a SecurityGroupRule]) -> Vec<&'a str> {
        rules
            .iter()
            .filter_map(|r| r.security_group_rule_id())
            .collect()
    }

    #[test]
    fn only_world_ranges_covering_the_port_are_selected() {
        let rules = [
            rule("ssh-v4", "tcp", (22, 22), Some(WORLD_IPV4), None),
            rule("ssh-v6", "tcp", (22, 22), None, Some(WORLD_IPV6)),
            rule("range", "tcp", (20, 30), Some(WORLD_IPV4), None),
            rule("all", "-1", (-1, -1), None, Some(WORLD_IPV6)),
            rule("office", "tcp", (22, 22), Some("10.0.0.0/8"), None),
            rule("https", "tcp", (443, 443), Some(WORLD_IPV4), None),
            rule("udp", "udp", (22, 22), Some(WORLD_IPV4), None),
            SecurityGroupRule::builder()
                .security_group_rule_id("egress")
                .is_egress(true)
                .ip_protocol("-1")
                .cidr_ipv4(WORLD_IPV4)
                .build(),
        ];
        assert_eq!(
            ids(&world_open_on(&rules, 22)),
            ["ssh-v4", "ssh-v6", "range", "all"]
        );
        assert_eq!(ids(&world_open_on(&rules, 443)), ["all", "https"]);
        assert_eq!(ids(&world_open_on(&rules, 3389)), ["all"]);
    }

    #[test]
    fn every_port_rule_is_in_the_catalog() {
        for (id, _) in WORLD_PORT_RULES {
            assert!(RULES.iter().any(|r| r.id == *id), "{id}");
        }
    }

    #[test]
    fn rules_read_as_words() {
        assert_eq!(
            describe_rule(&rule("sgr-1", "tcp", (22, 22), Some(WORLD_IPV4), None)),
            "sgr-1 (TCP port 22 from 0.0.0.0/0)"
        );
        assert_eq!(
            describe_rule(&rule("sgr-2", "-1", (-1, -1), None, Some(WORLD_IPV6))),
            "sgr-2 (all traffic from ::/0)"
        );
    }

    #[test]
    fn the_managed_tag_is_recognised() {
        assert!(is_managed(&[Tag::builder()
            .key(MANAGED_TAG)
            .value("true")
            .build()]));
        assert!(!is_managed(&[Tag::builder()
            .key("Name")
            .value("x")
            .build()]));
    }
}
