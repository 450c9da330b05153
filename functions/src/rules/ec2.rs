//! EC2 rules: security groups open to the internet on well-known ports (the ingress rule
//! from `0.0.0.0/0` or `::/0` is revoked), the VPC default security group (emptied) and
//! publicly shared AMIs (made private).

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
    // Remove the `all` group from the AMI's launch permission.
    RuleSpec {
        id: "EC2-019",
        title: "Publicly Shared AMI",
        service: "EC2",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "ec2:DescribeImages",
            "ec2:DescribeImageAttribute",
            "ec2:ModifyImageAttribute",
        ],
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
