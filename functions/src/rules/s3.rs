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
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    RuleSpec {
        id: "S3-002",
        title: "S3 Bucket Public 'READ_ACP' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    RuleSpec {
        id: "S3-003",
        title: "S3 Bucket Public 'WRITE' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    RuleSpec {
        id: "S3-004",
        title: "S3 Bucket Public 'WRITE_ACP' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    RuleSpec {
        id: "S3-005",
        title: "S3 Bucket Public 'FULL_CONTROL' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    RuleSpec {
        id: "S3-006",
        title: "S3 Bucket Authenticated Users 'READ' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    RuleSpec {
        id: "S3-007",
        title: "S3 Bucket Authenticated Users 'READ_ACP' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    RuleSpec {
        id: "S3-008",
        title: "S3 Bucket Authenticated Users 'WRITE' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    RuleSpec {
        id: "S3-009",
        title: "S3 Bucket Authenticated Users 'WRITE_ACP' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    RuleSpec {
        id: "S3-010",
        title: "S3 Bucket Authenticated Users 'FULL_CONTROL' Access",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketTagging"],
        fix: |ctx| Box::pin(remove_public_grant(ctx)),
    },
    // Turn versioning on.
    RuleSpec {
        id: "S3-012",
        title: "S3 Bucket Versioning Enabled",
        service: "S3",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "s3:GetBucketVersioning",
            "s3:PutBucketVersioning",
            "s3:GetBucketTagging",
        ],
        fix: |ctx| Box::pin(on_bucket(ctx, enable_versioning)),
    },
    // Bucket policy statements open to everyone (`Principal: *` with no condition narrowing
    // it to an account, organization, VPC or source: see `sns::is_open_to_everyone`) are
    // narrowed: `*` is taken out of a principal list that names others, and a statement whose
    // only principal is `*` is scoped to the bucket's account.
    RuleSpec {
        id: "S3-014",
        title: "S3 Bucket Public Access Via Policy",
        service: "S3",
        risk: RiskLevel::VeryHigh,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:GetBucketTagging",
        ],
        fix: |ctx| Box::pin(on_bucket(ctx, scope_public_statements)),
    },
    // Default encryption (SSE-S3) is turned on when the bucket has none, and a bucket policy
    // statement denies `s3:PutObject` with a wrong `x-amz-server-side-encryption` header
    // (anything but AES256, aws:kms, aws:kms:dsse). An upload without the header is allowed:
    // since January 2023 S3 encrypts every new object by default and clients (AWS log
    // delivery among them) no longer send it. remedy's earlier statement, which denied every
    // upload without the header, is replaced. `dry-run` by default: a Deny statement can
    // still break a writer that sends an unexpected value.
    RuleSpec {
        id: "S3-016",
        title: "Server Side Encryption",
        service: "S3",
        risk: RiskLevel::High,
        default_mode: Mode::DryRun,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:GetBucketTagging",
            "s3:GetEncryptionConfiguration",
            "s3:PutEncryptionConfiguration",
        ],
        fix: |ctx| Box::pin(on_bucket(ctx, deny_incorrect_encryption_headers)),
    },
    // A bucket policy statement denies every request made without TLS
    // (`aws:SecureTransport` false).
    RuleSpec {
        id: "S3-017",
        title: "Secure Transport",
        service: "S3",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:GetBucketTagging",
        ],
        fix: |ctx| Box::pin(on_bucket(ctx, require_secure_transport)),
    },
    // Default bucket encryption (SSE-S3) when the bucket has none.
    RuleSpec {
        id: "S3-021",
        title: "S3 Bucket Default Encryption",
        service: "S3",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "s3:GetEncryptionConfiguration",
            "s3:PutEncryptionConfiguration",
            "s3:GetBucketTagging",
        ],
        fix: |ctx| Box::pin(on_bucket(ctx, enable_default_encryption)),
    },
    // All four settings of the bucket's public access block turned on.
    RuleSpec {
        id: "S3-026",
        title: "S3 Bucket Block Public Access",
        service: "S3",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
            "s3:GetBucketTagging",
        ],
        fix: |ctx| Box::pin(on_bucket(ctx, block_public_access)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The bucket is the finding's `resource`.

use crate::partition::partition;
use crate::rule::{describe_sdk_error, error_code, Context, Report, RuleError};
use crate::rules::sns::{is_open_to_everyone, remove_everyone, statements};
use crate::undo::{BlockSettings, Removed};
use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketVersioningStatus, Grant, Grantee, Permission,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Type, VersioningConfiguration,
};
use aws_sdk_s3::Client;
use serde_json::{json, Value};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// Runs `fix`, one S3 rule's own check and fix, on the finding's bucket with a client for
/// it, unless the bucket is remedy's own.
async fn on_bucket(
    ctx: &Context,
    fix: impl AsyncFnOnce(&Context, &Client, &str) -> Result<Report, RuleError>,
) -> Result<Report, RuleError> {
    let bucket = ctx.resource()?;
    let s3 = client(ctx);
    if is_managed(ctx, &s3, bucket).await? {
        return Ok(Report::managed(bucket));
    }
    fix(ctx, &s3, bucket).await
}

/// The grant each of S3-001…010 removes: the group (all users, or all authenticated users)
/// and the permission; `None` for every other rule.
pub fn acl_rule(rule_id: &str) -> Option<(&'static str, Permission)> {
    let (group, permission) = match rule_id {
        "S3-001" => (ALL_USERS, Permission::Read),
        "S3-002" => (ALL_USERS, Permission::ReadAcp),
        "S3-003" => (ALL_USERS, Permission::Write),
        "S3-004" => (ALL_USERS, Permission::WriteAcp),
        "S3-005" => (ALL_USERS, Permission::FullControl),
        "S3-006" => (AUTHENTICATED_USERS, Permission::Read),
        "S3-007" => (AUTHENTICATED_USERS, Permission::ReadAcp),
        "S3-008" => (AUTHENTICATED_USERS, Permission::Write),
        "S3-009" => (AUTHENTICATED_USERS, Permission::WriteAcp),
        "S3-010" => (AUTHENTICATED_USERS, Permission::FullControl),
        _ => return None,
    };
    Some((group, permission))
}

/// S3-001…010: the bucket ACL's grant of the rule's permission to its group ([`acl_rule`])
/// is removed, and recorded for `remedy undo`.
async fn remove_public_grant(ctx: &Context) -> Result<Report, RuleError> {
    let Some((group, permission)) = acl_rule(ctx.rule.id) else {
        return Err(RuleError::new(format!(
            "{} is not an ACL grant rule",
            ctx.rule.id
        )));
    };
    on_bucket(ctx, async |ctx, s3, bucket| {
        remove_grant(ctx, s3, bucket, group, permission).await
    })
    .await
}

/// S3-017: a statement denying every request made without TLS.
async fn require_secure_transport(
    ctx: &Context,
    s3: &Client,
    bucket: &str,
) -> Result<Report, RuleError> {
    let statement = deny_insecure_transport(partition(&ctx.region), bucket);
    add_policy_statement(ctx, s3, bucket, statement).await
}

/// Path-style addressing against a custom endpoint (an emulator, a VPC endpoint URL).
pub fn client(ctx: &Context) -> Client {
    client_for(&ctx.aws)
}

/// [`client`] for a configuration.
fn client_for(aws: &aws_config::SdkConfig) -> Client {
    let config = aws_sdk_s3::config::Builder::from(aws)
        .force_path_style(aws.endpoint_url().is_some())
        .build();
    Client::from_conf(config)
}

/// Whether the bucket's tags say remedy's own stack made it (CloudFormation's reserved tags).
pub(crate) async fn is_managed(
    ctx: &Context,
    s3: &Client,
    bucket: &str,
) -> Result<bool, RuleError> {
    match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(ctx.owns_tagged(out.tag_set().iter().map(|t| (t.key(), t.value())))),
        Err(e) if error_code(&e) == Some("NoSuchTagSet") => Ok(false),
        Err(e) => Err(RuleError::aws("GetBucketTagging", &e)),
    }
}

/// The bucket's ACL.
async fn bucket_acl(s3: &Client, bucket: &str) -> Result<GetBucketAclOutput, RuleError> {
    s3.get_bucket_acl()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetBucketAcl", &e))
}

/// Whether `grant` gives `permission` to the group `group` (its URI).
fn grants(grant: &Grant, group: &str, permission: &Permission) -> bool {
    grant.permission() == Some(permission) && grant.grantee().and_then(|g| g.uri()) == Some(group)
}

/// S3-001…010: drop the one grant to `group` with `permission`, keep every other grant.
async fn remove_grant(
    ctx: &Context,
    s3: &Client,
    bucket: &str,
    group: &str,
    permission: Permission,
) -> Result<Report, RuleError> {
    let acl = bucket_acl(s3, bucket).await?;
    let is_target = |g: &Grant| grants(g, group, &permission);
    if !acl.grants().iter().any(is_target) {
        return Ok(Report::compliant(format!(
            "{bucket} grants no {} to {}",
            permission.as_str(),
            group_name(group)
        )));
    }
    let kept: Vec<Grant> = acl
        .grants()
        .iter()
        .filter(|g| !is_target(g))
        .cloned()
        .collect();
    let action = format!(
        "removed the {} grant to {} from bucket {bucket}",
        permission.as_str(),
        group_name(group)
    );
    let removed = Removed::AclGrant {
        bucket: bucket.to_owned(),
        grantee: group.to_owned(),
        permission: permission.as_str().to_owned(),
    };
    ctx.fix_removing(vec![action], vec![removed], put_acl(s3, bucket, &acl, kept))
        .await
}

/// `remedy undo` of S3-001…010: the grant of `permission` to `grantee` put back into the
/// bucket's ACL, every other grant kept; `None` when the ACL already has it.
pub(crate) async fn restore_grant(
    aws: &aws_config::SdkConfig,
    bucket: &str,
    grantee: &str,
    permission: &str,
) -> Result<Option<String>, RuleError> {
    let s3 = client_for(aws);
    let acl = bucket_acl(&s3, bucket).await?;
    let permission = Permission::from(permission);
    if acl.grants().iter().any(|g| grants(g, grantee, &permission)) {
        return Ok(None);
    }
    let group = Grantee::builder()
        .r#type(Type::Group)
        .uri(grantee)
        .build()
        .map_err(|e| RuleError::new(format!("the grantee {grantee}: {e}")))?;
    let mut grants = acl.grants().to_vec();
    grants.push(
        Grant::builder()
            .grantee(group)
            .permission(permission.clone())
            .build(),
    );
    put_acl_with(&s3, bucket, &acl, grants, |e| match error_code(e) {
        // A public grant is refused while Block Public Access blocks public ACLs.
        Some("AccessDenied") => format!(
            "{}; if the bucket's or the account's Block Public Access blocks public ACLs (S3-026 turns it on), undo that first",
            describe_sdk_error(e)
        ),
        Some("AccessControlListNotSupported") => format!(
            "ACLs are disabled on bucket {bucket} (Object Ownership: bucket owner enforced): there is no grant to put back"
        ),
        _ => describe_sdk_error(e),
    })
    .await?;
    Ok(Some(format!(
        "put the {} grant to {} back on bucket {bucket}",
        permission.as_str(),
        group_name(grantee)
    )))
}

/// Writes the bucket's ACL back with only the `kept` grants, under its current owner.
pub(crate) async fn put_acl(
    s3: &Client,
    bucket: &str,
    acl: &GetBucketAclOutput,
    kept: Vec<Grant>,
) -> Result<(), RuleError> {
    put_acl_with(s3, bucket, acl, kept, describe_sdk_error).await
}

type PutAclError = aws_sdk_s3::error::SdkError<
    aws_sdk_s3::operation::put_bucket_acl::PutBucketAclError,
    aws_sdk_s3::config::http::HttpResponse,
>;

/// [`put_acl`], S3's refusal said by `why`.
async fn put_acl_with(
    s3: &Client,
    bucket: &str,
    acl: &GetBucketAclOutput,
    grants: Vec<Grant>,
    why: impl FnOnce(&PutAclError) -> String,
) -> Result<(), RuleError> {
    let policy = AccessControlPolicy::builder()
        .set_grants(Some(grants))
        .set_owner(acl.owner().cloned())
        .build();
    s3.put_bucket_acl()
        .bucket(bucket)
        .access_control_policy(policy)
        .send()
        .await
        .map_err(|e| RuleError::new(format!("PutBucketAcl: {}", why(&e))))?;
    crate::rule::changed("s3:PutBucketAcl", bucket);
    Ok(())
}

/// A grant to everyone (`AllUsers`) or to any AWS account (`AuthenticatedUsers`).
pub(crate) fn is_public_grant(grant: &Grant) -> bool {
    grant
        .grantee()
        .and_then(|g| g.uri())
        .is_some_and(|uri| uri == ALL_USERS || uri == AUTHENTICATED_USERS)
}

/// The group a grantee URI names (`AllUsers`, `AuthenticatedUsers`).
pub(crate) fn group_name(uri: &str) -> &str {
    uri.rsplit('/').next().unwrap_or(uri)
}

/// S3-012.
async fn enable_versioning(ctx: &Context, s3: &Client, bucket: &str) -> Result<Report, RuleError> {
    let current = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetBucketVersioning", &e))?;
    if !versioning_needs_enabling(current.status()) {
        return Ok(Report::compliant(format!(
            "{bucket} has versioning enabled"
        )));
    }
    ctx.fix(
        vec![format!("enabled versioning on bucket {bucket}")],
        async {
            s3.put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| RuleError::aws("PutBucketVersioning", &e))?;
            crate::rule::changed("s3:PutBucketVersioning", bucket);
            Ok(())
        },
    )
    .await
}

/// Never configured (`None`) and `Suspended` both need enabling.
fn versioning_needs_enabling(status: Option<&BucketVersioningStatus>) -> bool {
    status != Some(&BucketVersioningStatus::Enabled)
}

/// The bucket policy as JSON, or `None` when the bucket has none.
async fn bucket_policy(s3: &Client, bucket: &str) -> Result<Option<Value>, RuleError> {
    match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => {
            let text = out.policy().unwrap_or("{}");
            serde_json::from_str(text).map(Some).map_err(|e| {
                RuleError::new(format!("the bucket policy of {bucket} is not JSON: {e}"))
            })
        }
        Err(e) if error_code(&e) == Some("NoSuchBucketPolicy") => Ok(None),
        Err(e) => Err(RuleError::aws("GetBucketPolicy", &e)),
    }
}

async fn put_policy(s3: &Client, bucket: &str, policy: &Value) -> Result<(), RuleError> {
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| RuleError::aws("PutBucketPolicy", &e))?;
    crate::rule::changed("s3:PutBucketPolicy", bucket);
    Ok(())
}

/// S3-014: statements open to everyone (see `sns::is_open_to_everyone`: a condition narrowing
/// who that is, such as `aws:PrincipalOrgID` or `aws:SourceVpce`, keeps a statement as it is)
/// are narrowed: `*` is taken out of a list that names other principals, and a statement
/// whose only principal is `*` is scoped to this account.
async fn scope_public_statements(
    ctx: &Context,
    s3: &Client,
    bucket: &str,
) -> Result<Report, RuleError> {
    let Some(mut policy) = bucket_policy(s3, bucket).await? else {
        return Ok(Report::compliant(format!("{bucket} has no bucket policy")));
    };
    let actions = scope_open_statements(&mut policy, &ctx.account_id, &ctx.region, bucket)?;
    if actions.is_empty() {
        return Ok(Report::compliant(format!(
            "{bucket}'s policy allows no one outside the account"
        )));
    }
    ctx.fix(actions, put_policy(s3, bucket, &policy)).await
}

/// S3-014's change to the policy; returns what it did.
fn scope_open_statements(
    policy: &mut Value,
    account_id: &str,
    region: &str,
    bucket: &str,
) -> Result<Vec<String>, RuleError> {
    let account_root = format!("arn:{}:iam::{account_id}:root", partition(region));
    let mut actions = Vec::new();
    for (i, statement) in statements(policy)?.iter_mut().enumerate() {
        if !is_open_to_everyone(statement) {
            continue;
        }
        let sid = statement
            .get("Sid")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("#{i}"));
        let others_left = statement.get_mut("Principal").is_some_and(remove_everyone);
        if others_left {
            actions.push(format!(
                "removed everyone (`*`) from the principals of statement {sid} of bucket \
                 {bucket}'s policy, keeping the principals it names"
            ));
        } else {
            statement["Principal"] = json!({ "AWS": account_root });
            actions.push(format!(
                "scoped statement {sid} of bucket {bucket}'s policy from everyone to account \
                 {account_id}"
            ));
        }
    }
    Ok(actions)
}

/// The request header S3-016's statement checks, as a condition key.
const SSE_HEADER: &str = "s3:x-amz-server-side-encryption";
/// The values of that header S3 accepts: SSE-S3, SSE-KMS and DSSE-KMS.
const SSE_VALUES: [&str; 3] = ["AES256", "aws:kms", "aws:kms:dsse"];
/// The `Sid` of S3-016's statement.
const SSE_SID: &str = "DenyIncorrectEncryptionHeader";
/// The `Sid` of the statement an earlier remedy added for S3-016 (with the condition
/// [`earlier_sse_condition`]): it denied every upload without the header.
const EARLIER_SSE_SID: &str = "DenyUnencryptedObjectUploads";

fn earlier_sse_condition() -> Value {
    json!({"Null": {SSE_HEADER: "true"}})
}

/// S3-016's statement: deny an upload whose encryption header is present and wrong. Both
/// conditions are needed: a negated operator (`StringNotEquals`, and `…IfExists` too) is
/// true when the key is absent, so alone it would deny every upload without the header;
/// `Null: false` requires the header to be there.
fn deny_incorrect_encryption_header(partition: &str, bucket: &str) -> Value {
    json!({
        "Sid": SSE_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": format!("arn:{partition}:s3:::{bucket}/*"),
        "Condition": {
            "StringNotEquals": {SSE_HEADER: SSE_VALUES},
            "Null": {SSE_HEADER: "false"}
        }
    })
}

fn deny_insecure_transport(partition: &str, bucket: &str) -> Value {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [
            format!("arn:{partition}:s3:::{bucket}"),
            format!("arn:{partition}:s3:::{bucket}/*")
        ],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })
}

/// S3-016's change to the policy: remedy's earlier statement is taken out, and `wanted` is
/// added unless a Deny statement with its condition is there (one with its `Sid` but
/// something else is replaced: Sids are unique). Returns what it did; nothing when the
/// policy is right as it is.
fn place_encryption_statement(
    policy: &mut Value,
    wanted: Value,
    bucket: &str,
) -> Result<Vec<String>, RuleError> {
    let list = statements(policy)?;
    let mut actions = Vec::new();
    let earlier = earlier_sse_condition();
    let before = list.len();
    list.retain(|s| {
        !(s["Sid"] == EARLIER_SSE_SID
            && s["Effect"] == "Deny"
            && s.get("Condition") == Some(&earlier))
    });
    if list.len() < before {
        actions.push(format!(
            "removed remedy's earlier statement {EARLIER_SSE_SID} from bucket {bucket}'s \
             policy (it denied every upload without the encryption header, which default \
             encryption makes unnecessary)"
        ));
    }
    let already = list
        .iter()
        .any(|s| s["Effect"] == "Deny" && s.get("Condition") == wanted.get("Condition"));
    if !already {
        list.retain(|s| s["Sid"] != SSE_SID);
        list.push(wanted);
        actions.push(format!(
            "added {SSE_SID} to bucket {bucket}'s policy: denies uploads whose \
             x-amz-server-side-encryption header is present but not one of {}",
            SSE_VALUES.join(", ")
        ));
    }
    Ok(actions)
}

/// S3-016: default encryption on, and a wrong encryption header denied (see
/// [`deny_incorrect_encryption_header`]).
async fn deny_incorrect_encryption_headers(
    ctx: &Context,
    s3: &Client,
    bucket: &str,
) -> Result<Report, RuleError> {
    let needs_default = !has_default_encryption(s3, bucket).await?;
    let mut policy = bucket_policy(s3, bucket)
        .await?
        .unwrap_or_else(|| json!({"Version": "2012-10-17", "Statement": []}));
    let wanted = deny_incorrect_encryption_header(partition(&ctx.region), bucket);
    let policy_actions = place_encryption_statement(&mut policy, wanted, bucket)?;
    if !needs_default && policy_actions.is_empty() {
        return Ok(Report::compliant(format!(
            "{bucket} encrypts by default and its policy already has {SSE_SID}"
        )));
    }
    let mut actions = Vec::new();
    if needs_default {
        actions.push(format!(
            "turned on default encryption (SSE-S3) for bucket {bucket}"
        ));
    }
    let change_policy = !policy_actions.is_empty();
    actions.extend(policy_actions);
    ctx.fix(actions, async {
        if needs_default {
            put_default_encryption(s3, bucket).await?;
        }
        if change_policy {
            put_policy(s3, bucket, &policy).await?;
        }
        Ok(())
    })
    .await
}

/// S3-017: add a Deny statement unless one with the same effect is there.
async fn add_policy_statement(
    ctx: &Context,
    s3: &Client,
    bucket: &str,
    wanted: Value,
) -> Result<Report, RuleError> {
    let mut policy = bucket_policy(s3, bucket)
        .await?
        .unwrap_or_else(|| json!({"Version": "2012-10-17", "Statement": []}));
    let list = statements(&mut policy)?;
    let already = list
        .iter()
        .any(|s| s["Effect"] == "Deny" && s.get("Condition") == wanted.get("Condition"));
    let sid = wanted["Sid"].as_str().unwrap_or_default().to_owned();
    if already {
        return Ok(Report::compliant(format!(
            "{bucket}'s policy already has {sid}"
        )));
    }
    list.push(wanted);
    ctx.fix(
        vec![format!("added {sid} to bucket {bucket}'s policy")],
        put_policy(s3, bucket, &policy),
    )
    .await
}

/// S3-021: SSE-S3 by default.
async fn enable_default_encryption(
    ctx: &Context,
    s3: &Client,
    bucket: &str,
) -> Result<Report, RuleError> {
    if has_default_encryption(s3, bucket).await? {
        return Ok(Report::compliant(format!("{bucket} encrypts by default")));
    }
    ctx.fix(
        vec![format!(
            "turned on default encryption (SSE-S3) for bucket {bucket}"
        )],
        put_default_encryption(s3, bucket),
    )
    .await
}

/// Whether the bucket has a default encryption rule.
async fn has_default_encryption(s3: &Client, bucket: &str) -> Result<bool, RuleError> {
    match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .server_side_encryption_configuration()
            .is_some_and(|c| !c.rules().is_empty())),
        Err(e) if error_code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => {
            Ok(false)
        }
        Err(e) => Err(RuleError::aws("GetBucketEncryption", &e)),
    }
}

/// Turns on default encryption with SSE-S3.
async fn put_default_encryption(s3: &Client, bucket: &str) -> Result<(), RuleError> {
    let build =
        |e: aws_sdk_s3::error::BuildError| RuleError::new(format!("encryption configuration: {e}"));
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(build)?;
    let configuration = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .build(),
        )
        .build()
        .map_err(build)?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(configuration)
        .send()
        .await
        .map_err(|e| RuleError::aws("PutBucketEncryption", &e))?;
    crate::rule::changed("s3:PutBucketEncryption", bucket);
    Ok(())
}

/// S3-026: all four public access block settings on.
async fn block_public_access(
    ctx: &Context,
    s3: &Client,
    bucket: &str,
) -> Result<Report, RuleError> {
    let current = public_access_block(s3, bucket).await?;
    if blocks_everything(current.as_ref()) {
        return Ok(Report::compliant(format!(
            "{bucket} blocks all public access"
        )));
    }
    let removed = Removed::PublicAccessBlock {
        bucket: bucket.to_owned(),
        previous: current.as_ref().map(settings_of),
    };
    ctx.fix_removing(
        vec![format!(
            "turned on all four public access block settings for bucket {bucket}"
        )],
        vec![removed],
        block_everything(s3, bucket),
    )
    .await
}

/// A public access block's four settings (an unset one is off, as S3 applies it).
fn settings_of(block: &PublicAccessBlockConfiguration) -> BlockSettings {
    BlockSettings {
        block_public_acls: block.block_public_acls() == Some(true),
        ignore_public_acls: block.ignore_public_acls() == Some(true),
        block_public_policy: block.block_public_policy() == Some(true),
        restrict_public_buckets: block.restrict_public_buckets() == Some(true),
    }
}

/// `remedy undo` of S3-026: the bucket's public access block as it was before — its
/// settings put back, or, when it had none, the block deleted (DeletePublicAccessBlock is
/// authorised by `s3:PutBucketPublicAccessBlock`, the rule's own action). `None` when it
/// is already so.
pub(crate) async fn restore_public_access_block(
    aws: &aws_config::SdkConfig,
    bucket: &str,
    previous: Option<&BlockSettings>,
) -> Result<Option<String>, RuleError> {
    let s3 = client_for(aws);
    let current = public_access_block(&s3, bucket).await?;
    if current.as_ref().map(settings_of).as_ref() == previous {
        return Ok(None);
    }
    match previous {
        None => {
            s3.delete_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| RuleError::aws("DeletePublicAccessBlock", &e))?;
            crate::rule::changed("s3:DeletePublicAccessBlock", bucket);
            Ok(Some(format!(
                "deleted the public access block of bucket {bucket}, which had none before"
            )))
        }
        Some(settings) => {
            let block = PublicAccessBlockConfiguration::builder()
                .block_public_acls(settings.block_public_acls)
                .ignore_public_acls(settings.ignore_public_acls)
                .block_public_policy(settings.block_public_policy)
                .restrict_public_buckets(settings.restrict_public_buckets)
                .build();
            s3.put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(block)
                .send()
                .await
                .map_err(|e| RuleError::aws("PutPublicAccessBlock", &e))?;
            crate::rule::changed("s3:PutPublicAccessBlock", bucket);
            Ok(Some(format!(
                "put the public access block of bucket {bucket} back as it was ({})",
                settings.describe()
            )))
        }
    }
}

/// The bucket's public access block, `None` when it has none.
pub(crate) async fn public_access_block(
    s3: &Client,
    bucket: &str,
) -> Result<Option<PublicAccessBlockConfiguration>, RuleError> {
    match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => Ok(out.public_access_block_configuration().cloned()),
        Err(e) if error_code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Ok(None),
        Err(e) => Err(RuleError::aws("GetPublicAccessBlock", &e)),
    }
}

/// Whether all four settings of the public access block are on.
pub(crate) fn blocks_everything(block: Option<&PublicAccessBlockConfiguration>) -> bool {
    let on = |v: Option<bool>| v == Some(true);
    block.is_some_and(|c| {
        on(c.block_public_acls())
            && on(c.ignore_public_acls())
            && on(c.block_public_policy())
            && on(c.restrict_public_buckets())
    })
}

/// Turns on all four settings of the bucket's public access block.
pub(crate) async fn block_everything(s3: &Client, bucket: &str) -> Result<(), RuleError> {
    let all = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(all)
        .send()
        .await
        .map_err(|e| RuleError::aws("PutPublicAccessBlock", &e))?;
    crate::rule::changed("s3:PutPublicAccessBlock", bucket);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioning_is_enabled_unless_it_already_is() {
        assert!(versioning_needs_enabling(None));
        assert!(versioning_needs_enabling(Some(
            &BucketVersioningStatus::Suspended
        )));
        assert!(!versioning_needs_enabling(Some(
            &BucketVersioningStatus::Enabled
        )));
    }

    #[test]
    fn open_statements_are_narrowed_keeping_named_principals_and_limited_ones() {
        let partner = "arn:aws:iam::222222222222:root";
        let mut policy = json!({"Statement": [
            {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
            {"Sid": "Mixed", "Effect": "Allow", "Principal": {"AWS": [partner, "*"]},
             "Action": "s3:GetObject"},
            {"Sid": "Org", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}},
            {"Sid": "Endpoint", "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": "s3:GetObject",
             "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}},
            {"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "s3:*"}
        ]});
        let before = policy.clone();
        let actions = scope_open_statements(&mut policy, "123456789012", "us-east-1", "b").unwrap();
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(actions[0].contains("Public") && actions[0].contains("123456789012"));
        assert!(actions[1].contains("Mixed") && actions[1].contains("keeping"));
        assert_eq!(
            policy["Statement"][0]["Principal"],
            json!({"AWS": "arn:aws:iam::123456789012:root"})
        );
        assert_eq!(
            policy["Statement"][1]["Principal"],
            json!({"AWS": [partner]})
        );
        for i in 2..5 {
            assert_eq!(policy["Statement"][i], before["Statement"][i], "#{i} kept");
        }
        let mut cn = json!({"Statement": {"Effect": "Allow", "Principal": "*"}});
        scope_open_statements(&mut cn, "1", "cn-north-1", "b").unwrap();
        assert_eq!(
            cn["Statement"][0]["Principal"]["AWS"],
            "arn:aws-cn:iam::1:root"
        );
    }

    #[test]
    fn s3_016_denies_only_a_wrong_header_and_replaces_remedys_earlier_statement() {
        let wanted = deny_incorrect_encryption_header("aws", "b");
        assert_eq!(
            wanted["Condition"],
            json!({
                "StringNotEquals": {SSE_HEADER: ["AES256", "aws:kms", "aws:kms:dsse"]},
                "Null": {SSE_HEADER: "false"}
            })
        );
        let other = json!({"Sid": "Other", "Effect": "Allow", "Principal": {"AWS": "x"}});
        let earlier = json!({"Sid": EARLIER_SSE_SID, "Effect": "Deny", "Principal": "*",
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
            "Condition": {"Null": {SSE_HEADER: "true"}}});
        let mut policy = json!({"Statement": [other, earlier]});
        let actions = place_encryption_statement(&mut policy, wanted.clone(), "b").unwrap();
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert_eq!(policy["Statement"], json!([other, wanted]));
        assert!(place_encryption_statement(&mut policy, wanted.clone(), "b")
            .unwrap()
            .is_empty());
        // A statement with our Sid but another content is replaced, never duplicated.
        let mut stale = json!({"Statement": [{"Sid": SSE_SID, "Effect": "Deny"}]});
        place_encryption_statement(&mut stale, wanted.clone(), "b").unwrap();
        assert_eq!(stale["Statement"], json!([wanted]));
    }

    #[test]
    fn bucket_policy_arns_name_the_regions_partition() {
        for (region, arn) in [
            ("us-east-1", "arn:aws:s3:::b"),
            ("cn-north-1", "arn:aws-cn:s3:::b"),
            ("us-gov-west-1", "arn:aws-us-gov:s3:::b"),
        ] {
            let p = partition(region);
            assert_eq!(
                deny_incorrect_encryption_header(p, "b")["Resource"],
                format!("{arn}/*")
            );
            assert_eq!(
                deny_insecure_transport(p, "b")["Resource"],
                json!([arn, format!("{arn}/*")])
            );
        }
        let mut gov = json!({"Statement": {"Effect": "Allow", "Principal": "*"}});
        scope_open_statements(&mut gov, "1", "us-gov-west-1", "b").unwrap();
        assert_eq!(
            gov["Statement"][0]["Principal"]["AWS"],
            "arn:aws-us-gov:iam::1:root"
        );
    }

    #[test]
    fn statements_accept_a_single_object_and_refuse_non_objects() {
        let mut single = json!({"Statement": {"Effect": "Allow"}});
        assert_eq!(statements(&mut single).map(|s| s.len()), Ok(1));
        assert!(statements(&mut json!([1, 2])).is_err());
    }
}
