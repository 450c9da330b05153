//! CloudTrail rules: the account's trail (multi-region, global service events, logging),
//! the privacy of the trail's S3 bucket and log file integrity validation.

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Make the configured trail multi-region with global service events, and start logging.
    RuleSpec {
        id: "CT-001",
        title: "CloudTrail Enabled",
        service: "CloudTrail",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[SettingSpec {
            name: "trail_name",
            default: None,
            description: "Name or ARN of the existing trail to make multi-region, with global \
                          service events, and logging; the trail is not created.",
        }],
        iam_actions: &[
            "cloudtrail:DescribeTrails",
            "cloudtrail:GetTrailStatus",
            "cloudtrail:UpdateTrail",
            "cloudtrail:StartLogging",
            "cloudtrail:ListTags",
        ],
    },
    // Remove the public ACL grants of the trail's bucket and block its public access.
    RuleSpec {
        id: "CT-003",
        title: "CloudTrail S3 Bucket Publicly Accessible",
        service: "CloudTrail",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "cloudtrail:DescribeTrails",
            "cloudtrail:ListTags",
            "s3:GetBucketAcl",
            "s3:PutBucketAcl",
            "s3:GetBucketPolicyStatus",
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
            "s3:GetBucketTagging",
        ],
    },
    // Turn log file validation on.
    RuleSpec {
        id: "CT-007",
        title: "CloudTrail Log File Integrity Validation",
        service: "CloudTrail",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "cloudtrail:DescribeTrails",
            "cloudtrail:UpdateTrail",
            "cloudtrail:ListTags",
        ],
    },
];
