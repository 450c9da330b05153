//! Artifacts in the security account (AWS edge): the artifact stack per region, the Lambda
//! package, and the member template when it is too large to send inline.
//!
//! Lambda reads code from a bucket in its own region, so each deployed region gets
//! `remedy-artifacts-<security account>-<region>` (stack `remedy-artifacts`, template
//! `stacks/artifacts.yaml`), created or updated here on first use. Objects are keyed by
//! content hash and uploaded only when missing (one HeadObject when present).
//!
//! Must not: touch member accounts.

use crate::aws::cfn;
use crate::aws::identity::{cloudformation_client, s3_client};
use crate::aws::package::Package;
use crate::aws::reason;
use crate::aws::retries::RetryCounts;
use crate::core::decide::{decide, Action};
use crate::core::error::Error;
use crate::core::outcome::Upload;
use crate::core::stack::{StackState, TemplateSource};
use crate::core::stack::{HASH_TAG, VERSION_TAG};
use crate::core::template::RenderedTemplate;
use crate::core::util::short_hash;
use aws_config::SdkConfig;
use aws_sdk_cloudformation::types::{Capability, Parameter, Tag};
use aws_sdk_s3::primitives::ByteStream;
use futures::future::try_join_all;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

pub const ARTIFACT_STACK: &str = "remedy-artifacts";
pub const ARTIFACT_TEMPLATE: &str = include_str!("../../stacks/artifacts.yaml");
const STACK_TIMEOUT: Duration = Duration::from_secs(15 * 60);

pub fn bucket_name(account_id: &str, region: &str) -> String {
    format!("remedy-artifacts-{account_id}-{region}")
}

/// Where the member stacks find their code and template, per region.
#[derive(Debug, Clone)]
pub struct Published {
    pub templates: BTreeMap<String, TemplateSource>,
    /// Per region and key: whether this run uploaded it (`false`: it was there already).
    pub uploads: Vec<Upload>,
}

/// The template as a member stack in `region` gets it: inline when it fits, else the URL of
/// its content-addressed copy in that region's artifact bucket. Pure: `--in-account` uses it
/// to find what `publish` uploaded without writing anything.
pub fn template_source(
    account_id: &str,
    region: &str,
    template: &RenderedTemplate,
) -> TemplateSource {
    if template.fits_inline() {
        TemplateSource::Body(template.body.clone())
    } else {
        let bucket = bucket_name(account_id, region);
        let key = template_key(template);
        let suffix = remedy_functions::partition::dns_suffix(region);
        TemplateSource::Url(format!("https://{bucket}.s3.{region}.{suffix}/{key}"))
    }
}

fn template_key(template: &RenderedTemplate) -> String {
    format!("templates/{}.yaml", template.body_digest())
}

/// Makes sure every region has the artifact bucket, the package (unless `package` is
/// `None`: a plan's change sets never read it) and (when too large to send inline) the
/// template. A plan whose template fits inline needs nothing: no bucket, no object.
pub async fn publish(
    base: &SdkConfig,
    counts: &RetryCounts,
    account_id: &str,
    organization_id: &str,
    regions: &[String],
    package: Option<&Package>,
    template: &RenderedTemplate,
) -> Result<Published, Error> {
    let per_region = regions.iter().map(|region| async move {
        let mut uploads = Vec::new();
        if package.is_none() && template.fits_inline() {
            let source = template_source(account_id, region, template);
            return Ok::<_, Error>((region.clone(), source, uploads));
        }
        ensure_artifact_stack(base, counts, region, organization_id).await?;
        let s3 = s3_client(base, region, counts);
        let bucket = bucket_name(account_id, region);
        if let Some(package) = package {
            let key = package.key();
            let uploaded = upload_if_missing(&s3, &bucket, &key, Body::File(&package.path)).await?;
            uploads.push(Upload {
                region: region.clone(),
                bucket: bucket.clone(),
                key,
                uploaded,
            });
        }
        if !template.fits_inline() {
            let key = template_key(template);
            let uploaded =
                upload_if_missing(&s3, &bucket, &key, Body::Text(&template.body)).await?;
            uploads.push(Upload {
                region: region.clone(),
                bucket: bucket.clone(),
                key,
                uploaded,
            });
        }
        let source = template_source(account_id, region, template);
        Ok::<_, Error>((region.clone(), source, uploads))
    });
    let mut templates = BTreeMap::new();
    let mut uploads = Vec::new();
    for (region, source, done) in try_join_all(per_region).await? {
        templates.insert(region, source);
        uploads.extend(done);
    }
    Ok(Published { templates, uploads })
}

/// Puts `text` at `key` in each region's artifact bucket; with `only_if_missing`, skips
/// regions that have it (content-addressed keys), else overwrites (a pointer such as
/// `releases/promoted.json`).
pub async fn put_text(
    base: &SdkConfig,
    counts: &RetryCounts,
    account_id: &str,
    regions: &[String],
    key: &str,
    text: &str,
    only_if_missing: bool,
) -> Result<Vec<Upload>, Error> {
    let per_region = regions.iter().map(|region| async move {
        let s3 = s3_client(base, region, counts);
        let bucket = bucket_name(account_id, region);
        let uploaded = if only_if_missing {
            upload_if_missing(&s3, &bucket, key, Body::Text(text)).await?
        } else {
            put(&s3, &bucket, key, Body::Text(text)).await?;
            true
        };
        Ok::<_, Error>(Upload {
            region: region.clone(),
            bucket,
            key: key.to_owned(),
            uploaded,
        })
    });
    try_join_all(per_region).await
}

/// The caller's account (the security account), from STS.
pub async fn caller_account(base: &SdkConfig, counts: &RetryCounts) -> Result<String, Error> {
    caller_identity(base, counts)
        .await
        .map(|(account, _)| account)
}

/// Who the credentials are: the account and the caller's ARN (the audit trail's "who").
pub async fn caller_identity(
    base: &SdkConfig,
    counts: &RetryCounts,
) -> Result<(String, String), Error> {
    let sts = crate::aws::identity::sts_client(base, counts);
    let me = sts.get_caller_identity().send().await.map_err(|e| {
        Error::Failed(format!(
            "who am I (GetCallerIdentity): {}",
            reason("GetCallerIdentity", &e)
        ))
    })?;
    let account = me
        .account()
        .map(str::to_owned)
        .ok_or_else(|| Error::Failed("GetCallerIdentity returned no account".into()))?;
    Ok((account, me.arn().unwrap_or_default().to_owned()))
}

async fn ensure_artifact_stack(
    base: &SdkConfig,
    counts: &RetryCounts,
    region: &str,
    organization_id: &str,
) -> Result<(), Error> {
    let fail = |reason: String| {
        Error::Failed(format!(
            "artifact stack {ARTIFACT_STACK} in {region}: {reason}"
        ))
    };
    let edge = |e: cfn::CfnError| fail(e.to_string());
    let client = cloudformation_client(base, region, counts);
    let hash = short_hash(&[ARTIFACT_TEMPLATE.as_bytes(), organization_id.as_bytes()]);
    let existing = cfn::describe(&client, ARTIFACT_STACK).await.map_err(edge)?;
    let mut action = decide(existing.as_ref(), &hash, false);
    if action == Action::Wait {
        cfn::wait_until_settled(&client, ARTIFACT_STACK, Instant::now() + STACK_TIMEOUT)
            .await
            .map_err(edge)?;
        let existing = cfn::describe(&client, ARTIFACT_STACK).await.map_err(edge)?;
        action = decide(existing.as_ref(), &hash, false);
    }
    if action == Action::Recreate {
        // Its first create failed: nothing was stored in it yet.
        cfn::delete_stack(
            &client,
            ARTIFACT_STACK,
            None,
            false,
            Instant::now() + STACK_TIMEOUT,
        )
        .await
        .map_err(edge)?;
        action = Action::Create;
    }
    let parameters = vec![Parameter::builder()
        .parameter_key("OrganizationId")
        .parameter_value(organization_id)
        .build()];
    let tags = vec![
        Tag::builder().key(HASH_TAG).value(&hash).build(),
        Tag::builder()
            .key(VERSION_TAG)
            .value(env!("CARGO_PKG_VERSION"))
            .build(),
        Tag::builder()
            .key(crate::core::stack::MANAGED_TAG)
            .value("true")
            .build(),
    ];
    let state: StackState = match action {
        Action::Unchanged => return Ok(()),
        Action::Create => {
            client
                .create_stack()
                .stack_name(ARTIFACT_STACK)
                .template_body(ARTIFACT_TEMPLATE)
                .set_parameters(Some(parameters))
                .set_tags(Some(tags))
                .capabilities(Capability::CapabilityIam)
                .send()
                .await
                .map_err(|e| edge(cfn::CfnError::of("CreateStack", &e)))?;
            cfn::wait_until_settled(&client, ARTIFACT_STACK, Instant::now() + STACK_TIMEOUT)
                .await
                .map_err(edge)?
        }
        Action::Update => {
            let updated = client
                .update_stack()
                .stack_name(ARTIFACT_STACK)
                .template_body(ARTIFACT_TEMPLATE)
                .set_parameters(Some(parameters))
                .set_tags(Some(tags))
                .capabilities(Capability::CapabilityIam)
                .send()
                .await;
            if let Err(e) = updated {
                return match cfn::CfnError::of("UpdateStack", &e) {
                    cfn::CfnError::NoChanges => Ok(()),
                    other => Err(edge(other)),
                };
            }
            cfn::wait_until_settled(&client, ARTIFACT_STACK, Instant::now() + STACK_TIMEOUT)
                .await
                .map_err(edge)?
        }
        Action::Wait | Action::Recreate | Action::ContinueRollback => {
            return Err(fail(
                "it is busy or failed; see its events in the CloudFormation console".into(),
            ))
        }
        Action::Refuse(reason) => return Err(fail(reason)),
    };
    if state.status.is_success() {
        Ok(())
    } else {
        let cause = cfn::first_failure(&client, ARTIFACT_STACK).await;
        Err(fail(format!(
            "ended {}{}",
            state.status,
            cause.map(|c| format!(": {c}")).unwrap_or_default()
        )))
    }
}

enum Body<'a> {
    File(&'a Path),
    Text(&'a str),
}

/// Uploads unless the key exists (one HeadObject when it does). `Ok(true)` when uploaded.
async fn upload_if_missing(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Body<'_>,
) -> Result<bool, Error> {
    if is_published(s3, bucket, key)
        .await
        .map_err(|why| Error::Failed(format!("s3://{bucket}/{key} (HeadObject): {why}")))?
    {
        return Ok(false);
    }
    put(s3, bucket, key, body).await?;
    Ok(true)
}

/// Whether the object is there (HeadObject), read with the security account's credentials,
/// which may list the bucket: a missing object is a 404 for them (for a reader without
/// `s3:ListBucket`, AWS answers 403 instead).
pub(crate) async fn is_published(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<bool, String> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) => Err(reason("HeadObject", &e)),
    }
}

async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Body<'_>,
) -> Result<(), Error> {
    let fail = |what: &str, reason: String| {
        Error::Failed(format!("s3://{bucket}/{key} ({what}): {reason}"))
    };
    let stream = match body {
        Body::File(path) => ByteStream::from_path(path)
            .await
            .map_err(|e| fail("reading the package", e.to_string()))?,
        Body::Text(text) => ByteStream::from(text.as_bytes().to_vec()),
    };
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(stream)
        .send()
        .await
        .map_err(|e| fail("PutObject", reason("PutObject", &e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_template_is_read_from_the_bucket_of_its_own_partition() {
        let large = RenderedTemplate {
            body: "x".repeat(60_000),
            footprint: Default::default(),
        };
        let url = |region: &str| match template_source("111111111111", region, &large) {
            TemplateSource::Url(url) => url,
            TemplateSource::Body(_) => panic!("{region}: 60 kB goes by URL"),
        };
        assert!(url("eu-west-1").contains(".s3.eu-west-1.amazonaws.com/templates/"));
        assert!(url("cn-north-1").contains(".s3.cn-north-1.amazonaws.com.cn/templates/"));
        assert!(url("us-gov-west-1").contains(".s3.us-gov-west-1.amazonaws.com/templates/"));
    }
}
