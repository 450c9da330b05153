//! AWS Config rules: a configuration recorder and a delivery channel exist in the region,
//! and the recorder is recording.

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Create or update the recorder (all supported resources, global ones included) and
    // the delivery channel, then start the recorder.
    RuleSpec {
        id: "Config-001",
        title: "AWS Config Enabled",
        service: "Config",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[
            SettingSpec {
                name: "bucket",
                default: None,
                description: "S3 bucket the delivery channel writes configuration snapshots \
                              and history to; its policy must let AWS Config write.",
            },
            SettingSpec {
                name: "role_arn",
                default: None,
                description: "ARN of the IAM role the configuration recorder assumes (trusting \
                              config.amazonaws.com, with the AWS_ConfigRole managed policy); \
                              passed to AWS Config with iam:PassRole.",
            },
        ],
        iam_actions: &[
            "config:DescribeConfigurationRecorders",
            "config:DescribeConfigurationRecorderStatus",
            "config:DescribeDeliveryChannels",
            "config:PutConfigurationRecorder",
            "config:PutDeliveryChannel",
            "config:StartConfigurationRecorder",
            "iam:PassRole",
        ],
    },
];
