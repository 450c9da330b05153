//! SQS rules: queue policy statements open to everyone (those statements are removed) and
//! server-side encryption of queues.

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Remove the queue policy statements with `Principal: *` and no condition.
    RuleSpec {
        id: "SQS-001",
        title: "SQS Queue Exposed",
        service: "SQS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "sqs:GetQueueAttributes",
            "sqs:SetQueueAttributes",
            "sqs:ListQueueTags",
        ],
    },
    // Encrypt the queue with the configured KMS key.
    RuleSpec {
        id: "SQS-004",
        title: "SQS Queue Server Side Encryption",
        service: "SQS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[SettingSpec {
            name: "kms_key_id",
            default: Some("alias/aws/sqs"),
            description: "KMS key (id, ARN, alias name or alias ARN) the queue is encrypted \
                          with; the default is the AWS managed key for SQS.",
        }],
        iam_actions: &[
            "sqs:GetQueueAttributes",
            "sqs:SetQueueAttributes",
            "sqs:ListQueueTags",
        ],
    },
];
