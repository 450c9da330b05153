//! VPC rules: flow logs, delivered to a CloudWatch Logs group through a role that is
//! created when it is missing.

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Create the log group and the delivery role if missing, then the VPC's flow log
    // (tags come with `DescribeVpcs`).
    RuleSpec {
        id: "VPC-001",
        title: "VPC Flow Logs Enabled",
        service: "VPC",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[
            SettingSpec {
                name: "log_group",
                default: Some("remedy-vpc-flow-logs"),
                description: "CloudWatch Logs group the flow logs are delivered to; created \
                              when missing.",
            },
            SettingSpec {
                name: "traffic_type",
                default: Some("REJECT"),
                description: "Traffic the flow logs capture: ACCEPT, REJECT or ALL.",
            },
        ],
        iam_actions: &[
            "ec2:DescribeVpcs",
            "ec2:DescribeFlowLogs",
            "ec2:CreateFlowLogs",
            "logs:DescribeLogGroups",
            "logs:CreateLogGroup",
            "iam:GetRole",
            "iam:CreateRole",
            "iam:PutRolePolicy",
            "iam:PassRole",
        ],
    },
];
