//! Kinesis rules: server-side encryption of data streams.

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Start server-side encryption of the stream with the configured KMS key.
    RuleSpec {
        id: "Kinesis-001",
        title: "Kinesis Server Side Encryption",
        service: "Kinesis",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[SettingSpec {
            name: "kms_key_id",
            default: Some("alias/aws/kinesis"),
            description: "KMS key (id, ARN, alias name or alias ARN) the stream is encrypted \
                          with; the default is the AWS managed key for Kinesis.",
        }],
        iam_actions: &[
            "kinesis:DescribeStream",
            "kinesis:StartStreamEncryption",
            "kinesis:ListTagsForStream",
        ],
    },
];
