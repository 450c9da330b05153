//! Identity: the base credentials of the security account and the assumed-role
//! configurations of member accounts (AWS edge).
//!
//! The base [`SdkConfig`] comes from the standard chain (environment, profile, SSO,
//! instance or task role) and honours `AWS_ENDPOINT_URL`. A member account's config is the
//! base config with remedy's own AssumeRole credentials provider for
//! `arn:<partition>:iam::<account>:role/<name>` (ExternalId when configured, a session name
//! that carries the run id, a governor of [`crate::aws::retries::ASSUME_ROLE_CONCURRENCY`]), so it
//! inherits the endpoint, the HTTP client (connection reuse) and the identity cache:
//! credentials are fetched once per account for the run, shared by every region's clients,
//! and refreshed before they expire during long waits.
//!
//! Must not: decide anything beyond which role to assume.

use crate::aws::retries::{self, RetryCounts};
use aws_config::identity::IdentityCache;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_sdk_sts::config::SharedCredentialsProvider;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// The region used for global calls (STS, Organizations) when the environment names none.
pub(crate) const FALLBACK_REGION: &str = "us-east-1";

/// How many accounts' credentials one run keeps (one identity cache partition each, a few
/// hundred bytes): far more than an organization holds, so none is evicted while its
/// targets run.
const MAX_CACHED_ACCOUNTS: usize = 1 << 20;

/// A run id: unique per invocation, carried in role session names and change set names.
/// The time orders them; the random part keeps two runs started in the same second (two
/// containers often have the same pid) apart.
pub(crate) fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("{secs}-{:08x}", hasher.finish() as u32)
}

/// `--profile` and `--region`, as the AWS CLI takes them: on top of the standard chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSelection {
    /// A profile of `~/.aws/config` or `~/.aws/credentials`: its credentials are used even
    /// when the environment has keys (as `aws --profile` does), and its region when the
    /// environment names none.
    pub profile: Option<String>,
    /// The region of remedy's own calls, over `AWS_REGION` and the profile's.
    pub region: Option<String>,
}

/// Loads the base config from the standard chain, with `selection`'s profile and region
/// over it. When neither they nor the environment name a region, the `fallback` (the first
/// configured region) is used for global calls. A profile the files do not define is an
/// input error (exit 2), before any call.
pub(crate) async fn load_base_config(
    selection: &AwsSelection,
    fallback: Option<&str>,
) -> Result<SdkConfig, crate::core::error::Error> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &selection.profile {
        check_profile(profile).await?;
        loader = loader.profile_name(profile).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        );
    }
    if let Some(region) = &selection.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let config = loader
        .retry_config(crate::aws::retries::retry_config())
        .timeout_config(crate::aws::retries::timeout_config())
        .identity_cache(
            // One partition per member account's credentials provider: the SDK's default
            // of 64 evicts arbitrary partitions past that, in-flight accounts' among them,
            // and each eviction costs another AssumeRole (2.8 per account at 1,000).
            IdentityCache::lazy()
                .max_partitions(MAX_CACHED_ACCOUNTS)
                .build(),
        )
        .load()
        .await;
    // Credentials that cannot be loaded: one line with the cause and the fix.
    let config = crate::aws::errors::explained(config, selection.profile.as_deref());
    if config.region().is_some() {
        return Ok(config);
    }
    let region = fallback.unwrap_or(FALLBACK_REGION).to_owned();
    Ok(config.to_builder().region(Region::new(region)).build())
}

/// `--profile NAME` must name a profile of the files the SDK reads (`AWS_CONFIG_FILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`): one line
/// naming it and the closest defined one, instead of a provider-chain error at the first call.
async fn check_profile(name: &str) -> Result<(), crate::core::error::Error> {
    use aws_types::os_shim_internal::{Env, Fs};
    // The default files (the type is named only by a deprecated alias).
    let profiles = aws_config::profile::load(&Fs::real(), &Env::real(), &Default::default(), None)
        .await
        .map_err(|e| {
            crate::core::error::Error::Input(format!(
                "--profile {name}: cannot read the AWS profile files: {e}"
            ))
        })?;
    if profiles.get_profile(name).is_some() {
        return Ok(());
    }
    let near =
        crate::core::util::closest(name, profiles.profiles().map(|p| (p, format!("`{p}`"))), 3);
    let hint = match near.as_slice() {
        [] => String::new(),
        near => format!(" (did you mean {}?)", near.join(" or ")),
    };
    Err(crate::core::error::Error::Input(format!(
        "--profile {name}: no such profile in ~/.aws/config or ~/.aws/credentials (or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE){hint}"
    )))
}

/// Hands out per-account configs, assuming the role once per account for the run.
pub struct Identity {
    base: SdkConfig,
    /// `false` for `deploy --in-account`: every account config is the base one.
    assume: bool,
    role_name: String,
    external_id: Option<String>,
    session_name: String,
    accounts: Mutex<HashMap<String, SdkConfig>>,
    /// The one STS client every account's AssumeRole provider shares (a client holds its
    /// config and runtime plugins: one per account grew memory with the organization).
    sts: aws_sdk_sts::Client,
    /// The AssumeRole governor: at most this many in flight, whatever the concurrency.
    assume_permits: Arc<Semaphore>,
    /// The run's retries, counted by every client built with them.
    retries: RetryCounts,
}

impl Identity {
    pub fn new(
        base: SdkConfig,
        role_name: &str,
        external_id: Option<&str>,
        run_id: &str,
    ) -> Identity {
        let counts = RetryCounts::default();
        Identity {
            sts: sts_client(&base, &counts),
            retries: counts,
            base,
            assume: true,
            role_name: role_name.to_owned(),
            external_id: external_id.map(str::to_owned),
            // [\w+=,.@-]{2,64}
            session_name: truncate(&format!("remedy-{run_id}"), 64),
            accounts: Mutex::new(HashMap::new()),
            assume_permits: Arc::new(Semaphore::new(retries::ASSUME_ROLE_CONCURRENCY)),
        }
    }

    /// The run's retry counts: hand them to every client (`cloudformation_client(…, retries)`).
    pub(crate) fn retries(&self) -> &RetryCounts {
        &self.retries
    }

    /// No role to assume: the base credentials act in their own account
    /// (`deploy --in-account`, inside the account's CodeBuild project).
    pub(crate) fn own(base: SdkConfig, run_id: &str) -> Identity {
        Identity {
            assume: false,
            ..Identity::new(base, "-", None, run_id)
        }
    }

    /// The cross-account role of `account_id`, in the partition of the security account's
    /// region (roles are assumed within one partition).
    pub(crate) fn role_arn(&self, account_id: &str) -> String {
        let region = self.base.region().map_or("us-east-1", |r| r.as_ref());
        let partition = remedy_functions::partition::partition(region);
        format!("arn:{partition}:iam::{account_id}:role/{}", self.role_name)
    }

    /// The config for `account_id` in `region`: assumed-role credentials, cached.
    /// Nothing is called here: the role is assumed on the first request made with it.
    pub(crate) async fn account_config(&self, account_id: &str, region: &str) -> SdkConfig {
        if !self.assume {
            return self
                .base
                .to_builder()
                .region(Region::new(region.to_owned()))
                .build();
        }
        let cached = self.lock().get(account_id).cloned();
        let config = match cached {
            Some(config) => config,
            None => {
                let provider = AssumeRole {
                    sts: self.sts.clone(),
                    role_arn: self.role_arn(account_id),
                    session_name: self.session_name.clone(),
                    external_id: self.external_id.clone(),
                    permits: self.assume_permits.clone(),
                };
                let config = self
                    .base
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(provider))
                    .build();
                // Another task may have raced us here; keep the first so the cache is shared.
                self.lock()
                    .entry(account_id.to_owned())
                    .or_insert(config)
                    .clone()
            }
        };
        if config.region().map(|r| r.as_ref()) == Some(region) {
            config
        } else {
            config
                .to_builder()
                .region(Region::new(region.to_owned()))
                .build()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SdkConfig>> {
        // A poisoned lock only means another task panicked mid-insert; the map is still valid.
        self.accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether an error using a freshly vended account's role means "not there yet": the role
/// or its trust is still being created (AccessDenied on AssumeRole, InvalidClientTokenId
/// while the new credentials propagate), or the service answered with a server error.
/// (moto, under IAM enforcement, answers the first use of a missing role with HTTP 500.)
pub(crate) fn is_role_not_ready(reason: &str) -> bool {
    [
        "AccessDenied",
        "InvalidClientTokenId",
        "HTTP 500",
        "HTTP 503",
        "NoSuchEntity",
    ]
    .iter()
    .any(|needle| reason.contains(needle))
}

/// AssumeRole into a member account, behind the governor. The config's identity cache calls
/// it only when the account's credentials are missing or about to expire (they carry their
/// expiry), and it waits for one of the governor's permits. Its STS client is one of ours:
/// no retry quota, retries counted (the SDK's AssumeRoleProvider builds its own client,
/// with neither).
#[derive(Debug)]
struct AssumeRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    session_name: String,
    external_id: Option<String>,
    permits: Arc<Semaphore>,
}

impl ProvideCredentials for AssumeRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let _permit = self
                .permits
                .acquire()
                .await
                .map_err(CredentialsError::provider_error)?;
            let assumed = self
                .sts
                .assume_role()
                .role_arn(&self.role_arn)
                .role_session_name(&self.session_name)
                .set_external_id(self.external_id.clone())
                .send()
                .await
                .map_err(|e| {
                    let call = format!("AssumeRole {}", self.role_arn);
                    let reason = crate::aws::errors::reason(&call, &e);
                    CredentialsError::provider_error(format!("{call}: {reason}"))
                })?;
            let c = assumed.credentials().ok_or_else(|| {
                CredentialsError::provider_error("AssumeRole returned no credentials")
            })?;
            let expiry = std::time::SystemTime::try_from(*c.expiration()).ok();
            Ok(aws_credential_types::Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                expiry,
                "remedy-assume-role",
            ))
        })
    }
}

// Every client remedy makes: the config's region, no retry quota, retries counted
// (crate::retries).

/// S3 needs path-style addressing against an emulator or any custom endpoint.
pub fn s3_client(config: &SdkConfig, region: &str, counts: &RetryCounts) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config)
        .region(Region::new(region.to_owned()))
        .force_path_style(config.endpoint_url().is_some())
        .retry_partition(retries::partition("s3"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_s3::Client::from_conf(builder.build())
}

pub(crate) fn cloudformation_client(
    config: &SdkConfig,
    region: &str,
    counts: &RetryCounts,
) -> aws_sdk_cloudformation::Client {
    let builder = aws_sdk_cloudformation::config::Builder::from(config)
        .region(Region::new(region.to_owned()))
        .retry_partition(retries::partition("cloudformation"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_cloudformation::Client::from_conf(builder.build())
}

pub(crate) fn organizations_client(
    config: &SdkConfig,
    counts: &RetryCounts,
) -> aws_sdk_organizations::Client {
    let builder = aws_sdk_organizations::config::Builder::from(config)
        .retry_partition(retries::partition("organizations"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_organizations::Client::from_conf(builder.build())
}

/// The kill switch's parameter (`remedy pause`), in the config's region.
pub(crate) fn ssm_client(config: &SdkConfig, counts: &RetryCounts) -> aws_sdk_ssm::Client {
    let builder = aws_sdk_ssm::config::Builder::from(config)
        .retry_partition(retries::partition("ssm"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_ssm::Client::from_conf(builder.build())
}

/// The orchestrator's log group (`remedy history`), in the config's region.
pub(crate) fn logs_client(
    config: &SdkConfig,
    counts: &RetryCounts,
) -> aws_sdk_cloudwatchlogs::Client {
    let builder = aws_sdk_cloudwatchlogs::config::Builder::from(config)
        .retry_partition(retries::partition("logs"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_cloudwatchlogs::Client::from_conf(builder.build())
}

pub(crate) fn lambda_client(config: &SdkConfig, counts: &RetryCounts) -> aws_sdk_lambda::Client {
    let builder = aws_sdk_lambda::config::Builder::from(config)
        .retry_partition(retries::partition("lambda"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_lambda::Client::from_conf(builder.build())
}

/// The Conformity API key's secret, in the secret's region.
pub(crate) fn secrets_client(
    config: &SdkConfig,
    region: &str,
    counts: &RetryCounts,
) -> aws_sdk_secretsmanager::Client {
    let builder = aws_sdk_secretsmanager::config::Builder::from(config)
        .region(aws_config::Region::new(region.to_owned()))
        .retry_partition(retries::partition("secretsmanager"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_secretsmanager::Client::from_conf(builder.build())
}

/// IAM is global: the region only picks the partition's endpoint.
pub(crate) fn iam_client(config: &SdkConfig, counts: &RetryCounts) -> aws_sdk_iam::Client {
    let builder = aws_sdk_iam::config::Builder::from(config)
        .retry_partition(retries::partition("iam"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_iam::Client::from_conf(builder.build())
}

pub(crate) fn sts_client(config: &SdkConfig, counts: &RetryCounts) -> aws_sdk_sts::Client {
    let builder = aws_sdk_sts::config::Builder::from(config)
        .retry_partition(retries::partition("sts"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_sts::Client::from_conf(builder.build())
}

pub(crate) fn codebuild_client(
    config: &SdkConfig,
    counts: &RetryCounts,
) -> aws_sdk_codebuild::Client {
    let builder = aws_sdk_codebuild::config::Builder::from(config)
        .retry_partition(retries::partition("codebuild"))
        .interceptor(counts.counter())
        .interceptor(retries::Reach);
    aws_sdk_codebuild::Client::from_conf(builder.build())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::errors::{humanize, Answer};

    #[test]
    fn a_role_not_ready_is_read_from_the_line_for_people() {
        let answer = |code: Option<&str>, status: u16| {
            Answer {
            code: code.map(str::to_owned),
            message: Some("User: arn:aws:iam::111111111111:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/R".into()),
            status: Some(status),
            ..Answer::default()
        }
        };
        for (code, status) in [
            (Some("AccessDenied"), 403),
            (Some("InvalidClientTokenId"), 403),
            (None, 500),
            (None, 503),
        ] {
            let line = humanize("AssumeRole", &answer(code, status));
            assert!(is_role_not_ready(&line), "{line}");
        }
        let line = humanize("DescribeStacks", &answer(Some("Throttling"), 400));
        assert!(!is_role_not_ready(&line), "{line}");
    }
}
