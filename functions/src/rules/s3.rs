//! S3 rules: public ACL grants (`AllUsers` and `AuthenticatedUsers`), versioning, bucket
//! policies (public statements, unencrypted uploads, non-TLS access), default encryption
//! and the bucket's public access block.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    RuleSpec {
        id: "S3-001",
        title: "S3 Bucket Public 'READ' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    RuleSpec {
        id: "S3-002",
        title: "S3 Bucket Public 'READ_ACP' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    RuleSpec {
        id: "S3-003",
        title: "S3 Bucket Public 'WRITE' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    RuleSpec {
        id: "S3-004",
        title: "S3 Bucket Public 'WRITE_ACP' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    RuleSpec {
        id: "S3-005",
        title: "S3 Bucket Public 'FULL_CONTROL' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    RuleSpec {
        id: "S3-006",
        title: "S3 Bucket Authenticated Users 'READ' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    RuleSpec {
        id: "S3-007",
        title: "S3 Bucket Authenticated Users 'READ_ACP' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    RuleSpec {
        id: "S3-008",
        title: "S3 Bucket Authenticated Users 'WRITE' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    RuleSpec {
        id: "S3-009",
        title: "S3 Bucket Authenticated Users 'WRITE_ACP' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    RuleSpec {
        id: "S3-010",
        title: "S3 Bucket Authenticated Users 'FULL_CONTROL' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
    },
    // Turn versioning on.
    RuleSpec {
        id: "S3-012",
        title: "S3 Bucket Versioning Enabled",
        service: "S3",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "s3:GetBucketVersioning",
            "s3:PutBucketVersioning",
            "s3:GetBucketTagging",
        ],
    },
    // Bucket policy statements allowing `Principal: *` are scoped to the bucket's account.
    RuleSpec {
        id: "S3-014",
        title: "S3 Bucket Public Access Via Policy",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:GetBucketTagging",
        ],
    },
    // A bucket policy statement denies `s3:PutObject` without server-side encryption.
    RuleSpec {
        id: "S3-016",
        title: "Server Side Encryption",
        service: "S3",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:GetBucketTagging",
        ],
    },
    // A bucket policy statement denies every request made without TLS
    // (`aws:SecureTransport` false).
    RuleSpec {
        id: "S3-017",
        title: "Secure Transport",
        service: "S3",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:GetBucketTagging",
        ],
    },
    // Default bucket encryption (SSE-S3) when the bucket has none.
    RuleSpec {
        id: "S3-021",
        title: "S3 Bucket Default Encryption",
        service: "S3",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "s3:GetEncryptionConfiguration",
            "s3:PutEncryptionConfiguration",
            "s3:GetBucketTagging",
        ],
    },
    // All four settings of the bucket's public access block turned on.
    RuleSpec {
        id: "S3-026",
        title: "S3 Bucket Block Public Access",
        service: "S3",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        settings: &[],
        iam_actions: &[
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
            "s3:GetBucketTagging",
        ],
    },
];
