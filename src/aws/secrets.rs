//! The Conformity API key kept in a Secrets Manager secret of the security account
//! (`conformity.api.api_key_secret`): one GetSecretValue, in the secret's region, with the
//! operator's (or the pipeline's) own credentials.
//!
//! Must not: print or log the secret.

use crate::aws::identity::secrets_client;
use crate::aws::retries::RetryCounts;
use aws_config::SdkConfig;

/// The secret string of `arn`; the error names the secret, never its value.
pub(crate) async fn read_secret(
    base: &SdkConfig,
    arn: &str,
    counts: &RetryCounts,
) -> Result<String, String> {
    let region = crate::core::conformity::secret_region(arn).unwrap_or_default();
    let client = secrets_client(base, region, counts);
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read secret {arn}: {}",
                crate::aws::reason("GetSecretValue", &e)
            )
        })?;
    out.secret_string().map(str::to_owned).ok_or_else(|| {
        format!("secret {arn} holds no string (the API key must be its SecretString)")
    })
}
