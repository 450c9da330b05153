//! EC2 rules: security groups open to the internet on well-known ports, the VPC default
//! security group (emptied) and publicly shared AMIs (made private). Also home of
//! [`is_managed`], the test on EC2 tags for remedy's own stack that the EBS and VPC rules share.
//!
//! A world-open-port rule (EC2-002…045) closes one TCP port to `0.0.0.0/0` and `::/0` and
//! leaves every other port open as it was. Of the group's ingress rules from the world:
//! - TCP on exactly the port: revoked by rule id.
//! - TCP over a range wider than the port (`0-65535`, `20-25`): the rest of the range is
//!   authorised again for the same CIDR with the same description (`0-21` and `23-65535`;
//!   empty or already-allowed ranges skipped), then the rule is revoked by id.
//! - All traffic (protocol `-1`): left alone, since "all protocols but TCP 22" cannot be
//!   written as rules; the report is `failed`, saying it must be narrowed by hand, even when
//!   the group's TCP rules were fixed.
//!
//! Other sources, UDP and group references are never touched.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Close TCP 22 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-002",
        title: "Unrestricted SSH Access",
        service: "EC2",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Close TCP 3389 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-003",
        title: "Unrestricted RDP Access",
        service: "EC2",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Close TCP 1521 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-004",
        title: "Unrestricted Oracle Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Close TCP 3306 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-005",
        title: "Unrestricted MySQL Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Close TCP 5432 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-006",
        title: "Unrestricted PostgreSQL Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Close TCP 1433 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-008",
        title: "Unrestricted MsSQL Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Revoke every ingress and egress rule of a VPC's default security group.
    RuleSpec {
        id: "EC2-016",
        title: "Default Security Group Unrestricted",
        service: "EC2",
        risk: RiskLevel::Low,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
        ],
        fix: |ctx| Box::pin(on_resource(ctx, Client::new, empty_default_group)),
    },
    // Remove the `all` group from the AMI's launch permission (`DescribeImages` says whether
    // the AMI is public and carries its tags).
    RuleSpec {
        id: "EC2-019",
        title: "Publicly Shared AMI",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["ec2:DescribeImages", "ec2:ModifyImageAttribute"],
        fix: |ctx| Box::pin(on_resource(ctx, Client::new, make_image_private)),
    },
    // Close TCP 23 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-038",
        title: "Unrestricted Telnet Access",
        service: "EC2",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Close TCP 25 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-039",
        title: "Unrestricted SMTP Access",
        service: "EC2",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Close TCP 135 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-040",
        title: "Unrestricted RPC Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Close TCP 445 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-043",
        title: "Unrestricted CIFS Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
    // Close TCP 27017 to 0.0.0.0/0 and ::/0 (see `close_world_ingress`).
    RuleSpec {
        id: "EC2-045",
        title: "Unrestricted MongoDB Access",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        ],
        fix: |ctx| Box::pin(close_world_port(ctx)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the security group id (`sg-…`; for EC2-016
// a VPC id names its default group) or the AMI id.

use crate::rule::Outcome;
use crate::rule::{on_resource, Context, Report, RuleError};
use crate::undo::{PortRange, Removed};
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, LaunchPermission, LaunchPermissionModifications,
    PermissionGroup, SecurityGroup, SecurityGroupRule, Tag,
};
use aws_sdk_ec2::Client;

const WORLD_IPV4: &str = "0.0.0.0/0";
const WORLD_IPV6: &str = "::/0";

/// The TCP port each world-open-port rule (EC2-002…045) closes; `None` for every other rule.
pub fn world_port(rule_id: &str) -> Option<i32> {
    Some(match rule_id {
        "EC2-002" => 22,
        "EC2-003" => 3389,
        "EC2-004" => 1521,
        "EC2-005" => 3306,
        "EC2-006" => 5432,
        "EC2-008" => 1433,
        "EC2-038" => 23,
        "EC2-039" => 25,
        "EC2-040" => 135,
        "EC2-043" => 445,
        "EC2-045" => 27017,
        _ => return None,
    })
}

/// Whether `cidr` is the whole IPv4 or IPv6 internet.
pub fn is_world(cidr: &str) -> bool {
    cidr == WORLD_IPV4 || cidr == WORLD_IPV6
}

/// The world-open-port rules (EC2-002…045): the rule's TCP port ([`world_port`]) closed to
/// the world on the finding's security group ([`close_world_ingress`]).
async fn close_world_port(ctx: &Context) -> Result<Report, RuleError> {
    let Some(port) = world_port(ctx.rule.id) else {
        return Err(RuleError::new(format!(
            "{} is not a world-open-port rule",
            ctx.rule.id
        )));
    };
    on_resource(ctx, Client::new, async |ctx, ec2, group_id| {
        close_world_ingress(ctx, ec2, group_id, port).await
    })
    .await
}

/// Whether EC2 `tags` say the resource is remedy's own stack's (CloudFormation's reserved
/// `aws:cloudformation:*` tags; `remedy:managed` is a label only).
pub fn is_managed(ctx: &Context, tags: &[Tag]) -> bool {
    ctx.owns_tagged(
        tags.iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    )
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

/// What a world-open-port rule does to one group's ingress rules from the world.
#[derive(Debug, Default)]
pub struct WorldPortPlan<'a> {
    /// TCP rules on exactly the port: revoked.
    pub exact: Vec<&'a SecurityGroupRule>,
    /// TCP rules over a wider range: the rest authorised again, then revoked.
    pub narrowed: Vec<Narrowing<'a>>,
    /// All-traffic rules: left for a human.
    pub all_traffic: Vec<&'a SecurityGroupRule>,
}

/// A world-open TCP rule whose range is cut around the port.
#[derive(Debug)]
pub struct Narrowing<'a> {
    pub rule: &'a SecurityGroupRule,
    /// `0.0.0.0/0` or `::/0`.
    pub cidr: &'static str,
    /// The ranges that stay open to `cidr`: the rule's range without the port.
    pub remaining: Vec<(i32, i32)>,
    /// Those of `remaining` neither the group nor an earlier narrowing already allows: the
    /// ones authorised (AWS refuses a duplicate).
    pub authorize: Vec<(i32, i32)>,
}

impl WorldPortPlan<'_> {
    /// Whether the group is closed to the world on the port.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.narrowed.is_empty() && self.all_traffic.is_empty()
    }
}

/// How to close TCP `port` to the world among a group's `rules` (ingress and egress).
pub fn plan_world_port(rules: &[SecurityGroupRule], port: i32) -> WorldPortPlan<'_> {
    let mut plan = WorldPortPlan::default();
    let mut planned: Vec<(&str, i32, i32)> = Vec::new();
    for rule in rules.iter().filter(|r| r.is_egress() != Some(true)) {
        let Some(cidr) = world_cidr(rule) else {
            continue;
        };
        if is_all_traffic(rule) {
            plan.all_traffic.push(rule);
            continue;
        }
        let (Some(from), Some(to)) = (rule.from_port(), rule.to_port()) else {
            continue;
        };
        if !is_tcp(rule) || port < from || to < port {
            continue;
        }
        if from == port && to == port {
            plan.exact.push(rule);
            continue;
        }
        let remaining: Vec<(i32, i32)> = [(from, port - 1), (port + 1, to)]
            .into_iter()
            .filter(|(low, high)| low <= high)
            .collect();
        let authorize: Vec<(i32, i32)> = remaining
            .iter()
            .copied()
            .filter(|&(low, high)| {
                !planned.contains(&(cidr, low, high)) && !allows_tcp(rules, cidr, low, high)
            })
            .collect();
        planned.extend(authorize.iter().map(|&(low, high)| (cidr, low, high)));
        plan.narrowed.push(Narrowing {
            rule,
            cidr,
            remaining,
            authorize,
        });
    }
    plan
}

/// `0.0.0.0/0` or `::/0` when the rule's peer is the whole IPv4 or IPv6 internet.
fn world_cidr(rule: &SecurityGroupRule) -> Option<&'static str> {
    if rule.cidr_ipv4() == Some(WORLD_IPV4) {
        Some(WORLD_IPV4)
    } else if rule.cidr_ipv6() == Some(WORLD_IPV6) {
        Some(WORLD_IPV6)
    } else {
        None
    }
}

fn protocol(rule: &SecurityGroupRule) -> String {
    rule.ip_protocol().unwrap_or_default().to_ascii_lowercase()
}

fn is_all_traffic(rule: &SecurityGroupRule) -> bool {
    matches!(protocol(rule).as_str(), "-1" | "all")
}

fn is_tcp(rule: &SecurityGroupRule) -> bool {
    matches!(protocol(rule).as_str(), "tcp" | "6")
}

/// Whether an ingress rule of `rules` allows exactly TCP `from`-`to` from `cidr`.
fn allows_tcp(rules: &[SecurityGroupRule], cidr: &str, from: i32, to: i32) -> bool {
    rules.iter().any(|r| {
        r.is_egress() != Some(true)
            && is_tcp(r)
            && (r.cidr_ipv4() == Some(cidr) || r.cidr_ipv6() == Some(cidr))
            && r.from_port() == Some(from)
            && r.to_port() == Some(to)
    })
}

/// `TCP port 21`, `TCP ports 0-21 and 23-65535`.
fn tcp_ranges(ranges: &[(i32, i32)]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(from, to)| {
            if from == to {
                from.to_string()
            } else {
                format!("{from}-{to}")
            }
        })
        .collect();
    let noun = match ranges {
        [(from, to)] if from == to => "port",
        _ => "ports",
    };
    format!("TCP {noun} {}", parts.join(" and "))
}

/// The permission that authorises TCP `from`-`to` from the narrowed rule's CIDR, with the
/// rule's description.
fn remaining_permission(narrowing: &Narrowing<'_>, from: i32, to: i32) -> IpPermission {
    let description = narrowing.rule.description().map(str::to_owned);
    let permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to);
    if narrowing.cidr == WORLD_IPV6 {
        permission
            .ipv6_ranges(
                Ipv6Range::builder()
                    .cidr_ipv6(narrowing.cidr)
                    .set_description(description)
                    .build(),
            )
            .build()
    } else {
        permission
            .ip_ranges(
                IpRange::builder()
                    .cidr_ip(narrowing.cidr)
                    .set_description(description)
                    .build(),
            )
            .build()
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

/// Authorises the ingress `permissions` on `group_id`.
async fn authorize_ingress(
    ec2: &Client,
    group_id: &str,
    permissions: Vec<IpPermission>,
) -> Result<(), RuleError> {
    let out = ec2
        .authorize_security_group_ingress()
        .group_id(group_id)
        .set_ip_permissions(Some(permissions))
        .send()
        .await
        .map_err(|e| RuleError::aws("AuthorizeSecurityGroupIngress", &e))?;
    if out.r#return() == Some(false) {
        return Err(RuleError::new(format!(
            "AuthorizeSecurityGroupIngress on {group_id} returned false"
        )));
    }
    crate::rule::changed("ec2:AuthorizeSecurityGroupIngress", group_id);
    Ok(())
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
    crate::rule::changed("ec2:RevokeSecurityGroupIngress", group_id);
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
    crate::rule::changed("ec2:RevokeSecurityGroupEgress", group_id);
    Ok(())
}

/// EC2-002…045: close TCP `port` to `0.0.0.0/0` and `::/0` and nothing else: exact rules
/// revoked, wider TCP ranges narrowed (the rest authorised first, so no other port is ever
/// closed), all-traffic rules reported `failed` for a human.
async fn close_world_ingress(
    ctx: &Context,
    ec2: &Client,
    group_id: &str,
    port: i32,
) -> Result<Report, RuleError> {
    let group = security_group(ec2, group_id).await?;
    if is_managed(ctx, group.tags()) {
        return Ok(Report::managed(group_id));
    }
    let rules = group_rules(ec2, group_id).await?;
    let plan = plan_world_port(&rules, port);
    if plan.is_empty() {
        return Ok(Report::compliant(format!(
            "{group_id} allows no ingress on TCP port {port} from {WORLD_IPV4} or {WORLD_IPV6}"
        )));
    }
    let stuck = all_traffic_reason(&plan.all_traffic, group_id, port);
    let revoked: Vec<&SecurityGroupRule> = plan
        .exact
        .iter()
        .copied()
        .chain(plan.narrowed.iter().map(|n| n.rule))
        .collect();
    if revoked.is_empty() {
        return Ok(Report::failed(stuck.unwrap_or_default()));
    }
    let ids = rule_ids(&revoked)?;
    let permissions: Vec<IpPermission> = plan
        .narrowed
        .iter()
        .flat_map(|n| {
            n.authorize
                .iter()
                .map(move |&(from, to)| remaining_permission(n, from, to))
        })
        .collect();
    let actions = plan
        .exact
        .iter()
        .map(|r| {
            format!(
                "revoked ingress rule {} of security group {group_id}",
                describe_rule(r)
            )
        })
        .chain(plan.narrowed.iter().map(|n| {
            format!(
                "narrowed ingress rule {} of security group {group_id} to {} from {}",
                describe_rule(n.rule),
                tcp_ranges(&n.remaining),
                n.cidr
            )
        }))
        .collect();
    let removed = plan
        .exact
        .iter()
        .map(|r| removed_rule(group_id, r, Vec::new()))
        .chain(plan.narrowed.iter().map(|n| {
            let added = n
                .authorize
                .iter()
                .map(|&(from_port, to_port)| PortRange { from_port, to_port })
                .collect();
            removed_rule(group_id, n.rule, added)
        }))
        .collect();
    let report = ctx
        .fix_removing(actions, removed, async {
            // The rest of each range first: no port but `port` is closed, even for a moment.
            if !permissions.is_empty() {
                authorize_ingress(ec2, group_id, permissions).await?;
            }
            revoke_ingress(ec2, group_id, ids).await
        })
        .await?;
    let Some(stuck) = stuck else {
        return Ok(report);
    };
    let done = if ctx.dry_run {
        "dry-run: nothing was changed; the actions listed would fix its other world-open rules on the port"
    } else {
        "its other world-open rules on the port were fixed as the actions list"
    };
    Ok(Report {
        outcome: Outcome::Failed,
        actions: report.actions,
        reason: Some(format!("{stuck}; {done}")),
        // What was fixed was fixed: it can be undone like any other.
        removed: report.removed,
        // `runtime::run_rule` fills in what was recorded.
        changes: Vec::new(),
    })
}

/// A revoked world-open rule as the ledger records it.
fn removed_rule(group_id: &str, rule: &SecurityGroupRule, added: Vec<PortRange>) -> Removed {
    Removed::IngressRule {
        group_id: group_id.to_owned(),
        rule_id: rule.security_group_rule_id().unwrap_or_default().to_owned(),
        protocol: protocol(rule),
        from_port: rule.from_port().unwrap_or_default(),
        to_port: rule.to_port().unwrap_or_default(),
        cidr: world_cidr(rule).unwrap_or_default().to_owned(),
        description: rule.description().map(str::to_owned),
        added,
    }
}

/// `remedy undo` of a world-open-port rule: the revoked ingress rule authorised again (its
/// protocol, ports, CIDR and description), then the narrower rules that replaced it revoked,
/// so that the group is as it was. `None` when the rule is there and none of the narrower
/// ones is.
pub(crate) async fn restore_ingress(
    aws: &aws_config::SdkConfig,
    removed: &Removed,
) -> Result<Option<String>, RuleError> {
    let Removed::IngressRule {
        group_id,
        rule_id,
        protocol: proto,
        from_port,
        to_port,
        cidr,
        description,
        added,
    } = removed
    else {
        return Err(RuleError::new("not a security-group rule"));
    };
    let ec2 = Client::new(aws);
    let rules = group_rules(&ec2, group_id).await?;
    let same_peer = |r: &SecurityGroupRule| {
        r.is_egress() != Some(true)
            && (r.cidr_ipv4() == Some(cidr.as_str()) || r.cidr_ipv6() == Some(cidr.as_str()))
    };
    let present = rules.iter().any(|r| {
        same_peer(r)
            && protocol(r) == proto.to_ascii_lowercase()
            && r.from_port() == Some(*from_port)
            && r.to_port() == Some(*to_port)
    });
    // The narrower rules remedy authorised in its place (same peer, ports and description),
    // still there.
    let narrower: Vec<&SecurityGroupRule> = rules
        .iter()
        .filter(|r| {
            same_peer(r)
                && is_tcp(r)
                && r.description() == description.as_deref()
                && added
                    .iter()
                    .any(|a| r.from_port() == Some(a.from_port) && r.to_port() == Some(a.to_port))
        })
        .collect();
    if present && narrower.is_empty() {
        return Ok(None);
    }
    let mut done = Vec::new();
    if !present {
        let permission = IpPermission::builder()
            .ip_protocol(proto.to_ascii_lowercase())
            .from_port(*from_port)
            .to_port(*to_port);
        let permission = if cidr == WORLD_IPV6 {
            permission.ipv6_ranges(
                Ipv6Range::builder()
                    .cidr_ipv6(cidr)
                    .set_description(description.clone())
                    .build(),
            )
        } else {
            permission.ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .set_description(description.clone())
                    .build(),
            )
        };
        match authorize_ingress(&ec2, group_id, vec![permission.build()]).await {
            Ok(()) => {}
            // Put back meanwhile (a retry, or by hand): it is there, as wanted.
            Err(e) if e.0.contains("InvalidPermission.Duplicate") => {}
            Err(e) => return Err(e),
        }
        done.push(format!(
            "authorised ingress {} from {cidr} on security group {group_id} again (was {rule_id})",
            tcp_or(proto, *from_port, *to_port)
        ));
    }
    if !narrower.is_empty() {
        let ids = rule_ids(&narrower)?;
        if let Err(e) = revoke_ingress(&ec2, group_id, ids).await {
            let put_back = if done.is_empty() {
                String::new()
            } else {
                format!(" (already done: {})", done.join("; "))
            };
            return Err(RuleError::new(format!("{e}{put_back}")));
        }
        let described: Vec<String> = narrower.iter().map(|r| describe_rule(r)).collect();
        done.push(format!(
            "revoked {} of security group {group_id}, added when the rule was narrowed",
            described.join(" and ")
        ));
    }
    Ok(Some(done.join("; ")))
}

/// `TCP ports 20-25`, `TCP port 22`.
fn tcp_or(protocol: &str, from: i32, to: i32) -> String {
    let protocol = protocol.to_ascii_uppercase();
    if from == to {
        format!("{protocol} port {from}")
    } else {
        format!("{protocol} ports {from}-{to}")
    }
}

/// Why world-open all-traffic rules cannot be fixed, or `None` when there are none.
fn all_traffic_reason(rules: &[&SecurityGroupRule], group_id: &str, port: i32) -> Option<String> {
    let (noun, verb, them) = match rules {
        [] => return None,
        [_] => ("rule", "opens", "it"),
        _ => ("rules", "each open", "them"),
    };
    let described: Vec<String> = rules.iter().map(|r| describe_rule(r)).collect();
    Some(format!(
        "ingress {noun} {} of security group {group_id} {verb} every port and protocol to the \
         world and must be narrowed by hand: closing only TCP port {port} cannot be done \
         exactly on an all-traffic rule, so remedy left {them} as is",
        described.join(" and ")
    ))
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
    if is_managed(ctx, group.tags()) {
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
    if is_managed(ctx, image.tags()) {
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
        crate::rule::changed("ec2:ModifyImageAttribute", image_id);
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
    fn world_rules_on_the_port_are_revoked_narrowed_or_left_for_a_human() {
        let rules = [
            rule("ssh-v4", "tcp", (22, 22), Some(WORLD_IPV4), None),
            rule("ssh-v6", "tcp", (22, 22), None, Some(WORLD_IPV6)),
            rule("range", "tcp", (20, 30), Some(WORLD_IPV4), None),
            rule("every-tcp-v6", "6", (0, 65535), None, Some(WORLD_IPV6)),
            rule("from-22", "tcp", (22, 30), Some(WORLD_IPV4), None),
            rule("all", "-1", (-1, -1), None, Some(WORLD_IPV6)),
            rule("office", "tcp", (0, 65535), Some("10.0.0.0/8"), None),
            rule("https", "tcp", (443, 443), Some(WORLD_IPV4), None),
            rule("udp", "udp", (0, 65535), Some(WORLD_IPV4), None),
            SecurityGroupRule::builder()
                .security_group_rule_id("egress")
                .is_egress(true)
                .ip_protocol("-1")
                .cidr_ipv4(WORLD_IPV4)
                .build(),
        ];
        let plan = plan_world_port(&rules, 22);
        assert_eq!(ids(&plan.exact), ["ssh-v4", "ssh-v6"]);
        assert_eq!(ids(&plan.all_traffic), ["all"]);
        let narrowed: Vec<_> = plan
            .narrowed
            .iter()
            .map(|n| {
                (
                    n.rule.security_group_rule_id().unwrap_or_default(),
                    n.cidr,
                    n.remaining.clone(),
                    n.authorize.clone(),
                )
            })
            .collect();
        assert_eq!(
            narrowed,
            [
                (
                    "range",
                    WORLD_IPV4,
                    vec![(20, 21), (23, 30)],
                    vec![(20, 21), (23, 30)]
                ),
                (
                    "every-tcp-v6",
                    WORLD_IPV6,
                    vec![(0, 21), (23, 65535)],
                    vec![(0, 21), (23, 65535)]
                ),
                // 23-30 is already planned for 0.0.0.0/0: not authorised twice.
                ("from-22", WORLD_IPV4, vec![(23, 30)], vec![]),
            ]
        );

        let plan = plan_world_port(&rules, 443);
        assert_eq!(ids(&plan.exact), ["https"]);
        assert_eq!(ids(&plan.all_traffic), ["all"]);
        assert_eq!(plan.narrowed.len(), 1);
        assert_eq!(plan.narrowed[0].authorize, [(0, 442), (444, 65535)]);

        let plan = plan_world_port(&rules[6..], 22);
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn ranges_the_group_already_allows_are_not_authorised_again() {
        let rules = [
            rule("wide", "tcp", (0, 65535), Some(WORLD_IPV4), None),
            rule("low", "tcp", (0, 21), Some(WORLD_IPV4), None),
            rule("low-v6", "tcp", (23, 65535), None, Some(WORLD_IPV6)),
        ];
        let plan = plan_world_port(&rules, 22);
        assert_eq!(plan.narrowed.len(), 1);
        assert_eq!(plan.narrowed[0].remaining, [(0, 21), (23, 65535)]);
        assert_eq!(plan.narrowed[0].authorize, [(23, 65535)]);
    }

    #[test]
    fn narrowings_and_all_traffic_read_as_words() {
        assert_eq!(
            tcp_ranges(&[(0, 21), (23, 65535)]),
            "TCP ports 0-21 and 23-65535"
        );
        assert_eq!(tcp_ranges(&[(21, 21)]), "TCP port 21");
        assert_eq!(tcp_ranges(&[(21, 21), (23, 23)]), "TCP ports 21 and 23");
        let all = rule("sgr-9", "-1", (-1, -1), Some(WORLD_IPV4), None);
        let reason = all_traffic_reason(&[&all], "sg-1", 22).unwrap_or_default();
        assert!(
            reason.contains("sgr-9 (all traffic from 0.0.0.0/0) of security group sg-1 opens every port and protocol to the world and must be narrowed by hand"),
            "{reason}"
        );
        assert_eq!(all_traffic_reason(&[], "sg-1", 22), None);
    }

    #[test]
    fn a_narrowed_range_keeps_its_cidr_and_description() {
        let wide = SecurityGroupRule::builder()
            .security_group_rule_id("sgr-1")
            .is_egress(false)
            .ip_protocol("tcp")
            .from_port(0)
            .to_port(65535)
            .cidr_ipv6(WORLD_IPV6)
            .description("public")
            .build();
        let rules = [wide];
        let plan = plan_world_port(&rules, 22);
        let permission = remaining_permission(&plan.narrowed[0], 23, 65535);
        assert_eq!(permission.ip_protocol(), Some("tcp"));
        assert_eq!(
            (permission.from_port(), permission.to_port()),
            (Some(23), Some(65535))
        );
        assert!(permission.ip_ranges().is_empty());
        assert_eq!(permission.ipv6_ranges()[0].cidr_ipv6(), Some(WORLD_IPV6));
        assert_eq!(permission.ipv6_ranges()[0].description(), Some("public"));
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
}
