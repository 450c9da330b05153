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
        scoped: &[],
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
        fix: |ctx| Box::pin(on_trail(ctx, enable_trail)),
    },
    // Remove the public ACL grants of the trail's bucket and block its public access, in the
    // bucket's own region (GetBucketLocation first: the Rust SDK does not follow S3's
    // redirect to another region).
    RuleSpec {
        id: "CT-003",
        title: "CloudTrail S3 Bucket Publicly Accessible",
        service: "CloudTrail",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "cloudtrail:DescribeTrails",
            "cloudtrail:ListTags",
            "s3:GetBucketLocation",
            "s3:GetBucketAcl",
            "s3:PutBucketAcl",
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
            "s3:GetBucketTagging",
        ],
        fix: |ctx| {
            Box::pin(on_trail(ctx, async |ctx, _, trail, arn| {
                make_bucket_private(ctx, trail, arn).await
            }))
        },
    },
    // Turn log file validation on.
    RuleSpec {
        id: "CT-007",
        title: "CloudTrail Log File Integrity Validation",
        service: "CloudTrail",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "cloudtrail:DescribeTrails",
            "cloudtrail:UpdateTrail",
            "cloudtrail:ListTags",
        ],
        fix: |ctx| Box::pin(on_trail(ctx, enable_log_file_validation)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The trail is the finding's `resource` (a name or an ARN); CT-001 takes
// it from its `trail_name` setting first. Changes are made in the trail's home region.

use crate::rule::{Context, Report, RuleError};
use crate::rules::s3;
use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::types::Trail;
use aws_sdk_cloudtrail::Client;
use aws_sdk_s3::types::Grant;

/// Runs `fix`, one CloudTrail rule's own check and fix, on the trail (with a client in its
/// home region, the trail and its ARN), unless the trail is another account's (an
/// organization trail: an error) or remedy's own.
async fn on_trail(
    ctx: &Context,
    fix: impl AsyncFnOnce(&Context, &Client, &Trail, &str) -> Result<Report, RuleError>,
) -> Result<Report, RuleError> {
    let name = trail_name(ctx)?;
    let trail = find_trail(&Client::new(&ctx.aws), name).await?;
    let arn = trail.trail_arn().unwrap_or(name);
    if let Some(owner) = arn
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty() && *a != ctx.account_id)
    {
        return Err(RuleError::new(format!(
            "trail {arn} belongs to account {owner} (an organization trail): it is changed there, not in {}",
            ctx.account_id
        )));
    }
    let home = trail
        .home_region()
        .unwrap_or(ctx.region.as_str())
        .to_owned();
    let cloudtrail = home_client(ctx, &home);
    if is_managed(ctx, &cloudtrail, arn).await? {
        return Ok(Report::managed(&format!("trail {arn}")));
    }
    fix(ctx, &cloudtrail, &trail, arn).await
}

/// CT-001's `trail_name` setting, else the finding's resource.
fn trail_name(ctx: &Context) -> Result<&str, RuleError> {
    let setting = ctx
        .settings
        .get("trail_name")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty());
    match setting {
        Some(name) if ctx.rule.id == "CT-001" => Ok(name),
        _ => ctx.resource().map_err(|e| {
            if ctx.rule.id == "CT-001" {
                RuleError::new(format!("setting `trail_name` is required for CT-001 ({e})"))
            } else {
                e
            }
        }),
    }
}

/// The trail named `name` (a name or an ARN) as seen from the finding's region.
async fn find_trail(cloudtrail: &Client, name: &str) -> Result<Trail, RuleError> {
    let out = cloudtrail
        .describe_trails()
        .trail_name_list(name)
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeTrails", &e))?;
    out.trail_list()
        .iter()
        .find(|t| t.name() == Some(name) || t.trail_arn() == Some(name))
        .cloned()
        .ok_or_else(|| {
            RuleError::new(format!(
                "there is no trail {name} in this account and region"
            ))
        })
}

/// A client for the trail's home region: a trail is changed only where it was created.
fn home_client(ctx: &Context, home: &str) -> Client {
    let config = aws_sdk_cloudtrail::config::Builder::from(&ctx.aws)
        .region(Region::new(home.to_owned()))
        .build();
    Client::from_conf(config)
}

/// Whether the trail's tags say remedy's own stack made it (CloudFormation's reserved tags).
async fn is_managed(ctx: &Context, cloudtrail: &Client, arn: &str) -> Result<bool, RuleError> {
    let out = cloudtrail
        .list_tags()
        .resource_id_list(arn)
        .send()
        .await
        .map_err(|e| RuleError::aws("ListTags", &e))?;
    Ok(ctx.owns_tagged(
        out.resource_tag_list()
            .iter()
            .flat_map(|r| r.tags_list())
            .map(|t| (t.key(), t.value().unwrap_or_default())),
    ))
}

/// What CT-001 changes on a trail: (UpdateTrail needed, StartLogging needed, actions).
pub fn trail_changes(trail: &Trail, is_logging: bool) -> (bool, bool, Vec<String>) {
    let arn = trail.trail_arn().or(trail.name()).unwrap_or("the trail");
    let mut actions = Vec::new();
    if trail.is_multi_region_trail() != Some(true) {
        actions.push(format!("made trail {arn} multi-region"));
    }
    if trail.include_global_service_events() != Some(true) {
        actions.push(format!("made trail {arn} include global service events"));
    }
    let update = !actions.is_empty();
    if !is_logging {
        actions.push(format!("started logging on trail {arn}"));
    }
    (update, !is_logging, actions)
}

/// CT-001.
async fn enable_trail(
    ctx: &Context,
    cloudtrail: &Client,
    trail: &Trail,
    arn: &str,
) -> Result<Report, RuleError> {
    let status = cloudtrail
        .get_trail_status()
        .name(arn)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetTrailStatus", &e))?;
    let (update, start, actions) = trail_changes(trail, status.is_logging() == Some(true));
    if actions.is_empty() {
        return Ok(Report::compliant(format!(
            "trail {arn} is multi-region, includes global service events and is logging"
        )));
    }
    ctx.fix(actions, async {
        if update {
            cloudtrail
                .update_trail()
                .name(arn)
                .is_multi_region_trail(true)
                .include_global_service_events(true)
                .send()
                .await
                .map_err(|e| RuleError::aws("UpdateTrail", &e))?;
            crate::rule::changed("cloudtrail:UpdateTrail", arn);
        }
        if start {
            cloudtrail
                .start_logging()
                .name(arn)
                .send()
                .await
                .map_err(|e| RuleError::aws("StartLogging", &e))?;
            crate::rule::changed("cloudtrail:StartLogging", arn);
        }
        Ok(())
    })
    .await
}

/// CT-007.
async fn enable_log_file_validation(
    ctx: &Context,
    cloudtrail: &Client,
    trail: &Trail,
    arn: &str,
) -> Result<Report, RuleError> {
    if trail.log_file_validation_enabled() == Some(true) {
        return Ok(Report::compliant(format!(
            "trail {arn} validates its log files"
        )));
    }
    ctx.fix(
        vec![format!("turned on log file validation for trail {arn}")],
        async {
            cloudtrail
                .update_trail()
                .name(arn)
                .enable_log_file_validation(true)
                .send()
                .await
                .map_err(|e| RuleError::aws("UpdateTrail", &e))?;
            crate::rule::changed("cloudtrail:UpdateTrail", arn);
            Ok(())
        },
    )
    .await
}

/// The region a bucket is in, from GetBucketLocation's `LocationConstraint` as answered in
/// `region`: absent or empty for the partition's first region (us-east-1 in `aws`), `EU`
/// for buckets made in eu-west-1 under its legacy name.
pub fn bucket_region<'a>(location: Option<&'a str>, region: &str) -> &'a str {
    match location.map(str::trim) {
        None | Some("") => crate::partition::global_region(region),
        Some("EU") => "eu-west-1",
        Some(located) => located,
    }
}

/// An S3 client for the bucket's own region: a trail (even a single-region one) may write to
/// a bucket in any region, and S3 answers a request in the wrong region with a redirect the
/// Rust SDK does not follow.
async fn bucket_client(ctx: &Context, bucket: &str) -> Result<aws_sdk_s3::Client, RuleError> {
    let s3 = s3::client(ctx);
    let location = s3
        .get_bucket_location()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetBucketLocation", &e))?;
    let region = bucket_region(
        location.location_constraint().map(|l| l.as_str()),
        &ctx.region,
    );
    if ctx.aws.region().is_some_and(|r| r.as_ref() == region) {
        return Ok(s3);
    }
    let config = s3
        .config()
        .to_builder()
        .region(aws_sdk_s3::config::Region::new(region.to_owned()))
        .build();
    Ok(aws_sdk_s3::Client::from_conf(config))
}

/// CT-003: the trail's bucket loses its public ACL grants and blocks public access, as the
/// S3 rules do it.
async fn make_bucket_private(ctx: &Context, trail: &Trail, arn: &str) -> Result<Report, RuleError> {
    let bucket = trail
        .s3_bucket_name()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| RuleError::new(format!("trail {arn} names no S3 bucket")))?;
    let s3 = bucket_client(ctx, bucket).await?;
    if s3::is_managed(ctx, &s3, bucket).await? {
        return Ok(Report::managed(&format!("bucket {bucket}")));
    }
    let acl = s3
        .get_bucket_acl()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetBucketAcl", &e))?;
    let block = s3::public_access_block(&s3, bucket).await?;
    let public: Vec<&Grant> = acl
        .grants()
        .iter()
        .filter(|g| s3::is_public_grant(g))
        .collect();
    let mut actions: Vec<String> = public
        .iter()
        .map(|g| {
            let group = g
                .grantee()
                .and_then(|g| g.uri())
                .map(s3::group_name)
                .unwrap_or("a public group");
            let permission = g.permission().map_or("any", |p| p.as_str());
            format!("removed the {permission} grant to {group} from bucket {bucket} of trail {arn}")
        })
        .collect();
    let block_needed = !s3::blocks_everything(block.as_ref());
    if block_needed {
        actions.push(format!(
            "turned on all four public access block settings for bucket {bucket} of trail {arn}"
        ));
    }
    if actions.is_empty() {
        return Ok(Report::compliant(format!(
            "bucket {bucket} of trail {arn} grants nothing to the public and blocks public access"
        )));
    }
    let kept: Vec<Grant> = acl
        .grants()
        .iter()
        .filter(|g| !s3::is_public_grant(g))
        .cloned()
        .collect();
    let remove_grants = !public.is_empty();
    ctx.fix(actions, async {
        if remove_grants {
            s3::put_acl(&s3, bucket, &acl, kept).await?;
        }
        if block_needed {
            s3::block_everything(&s3, bucket).await?;
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_regions_from_location_constraints() {
        assert_eq!(bucket_region(None, "eu-west-1"), "us-east-1");
        assert_eq!(bucket_region(Some(""), "us-east-1"), "us-east-1");
        assert_eq!(bucket_region(Some("EU"), "us-east-1"), "eu-west-1");
        assert_eq!(bucket_region(Some("eu-west-1"), "us-east-1"), "eu-west-1");
        assert_eq!(
            bucket_region(Some("ap-southeast-2"), "eu-west-1"),
            "ap-southeast-2"
        );
        // Not us-east-1 outside the aws partition.
        assert_eq!(bucket_region(None, "cn-northwest-1"), "cn-north-1");
        assert_eq!(bucket_region(None, "us-gov-east-1"), "us-gov-west-1");
    }
}
