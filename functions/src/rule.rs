//! What every rule's check-and-fix works with: the [`Context`] it runs in, the [`Report`]
//! it returns, and the conventions they share.
//!
//! A rule checks the current state first and returns `compliant` when nothing needs doing.
//! Otherwise it lists the actions it takes (or, in dry-run, would take) and takes them.
//! Resources tagged `remedy:managed` belong to remedy itself and are `skipped`. Any error is
//! a [`RuleError`]: the rule reports `failed` with that reason, never success.

use crate::catalog::RuleSpec;
use crate::finding::Finding;
use aws_config::SdkConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The tag on everything remedy creates; rules leave such resources alone.
pub const MANAGED_TAG: &str = "remedy:managed";

/// Everything a rule needs to act on one finding.
pub struct Context {
    pub rule: &'static RuleSpec,
    pub finding: Finding,
    /// The rule's settings, defaults filled in.
    pub settings: BTreeMap<String, String>,
    /// Decide and report, change nothing.
    pub dry_run: bool,
    /// AWS configuration for the account and region the finding is about.
    pub aws: SdkConfig,
    pub account_id: String,
    pub region: String,
}

impl Context {
    /// The finding's `resource` (a bucket name, a group id, a key id…), or an error.
    pub fn resource(&self) -> Result<&str, RuleError> {
        self.finding
            .resource
            .as_deref()
            .filter(|r| !r.is_empty())
            .ok_or_else(|| RuleError::new("the finding names no resource"))
    }

    /// A setting, or an error naming it.
    pub fn setting(&self, name: &str) -> Result<&str, RuleError> {
        self.settings.get(name).map(String::as_str).ok_or_else(|| {
            RuleError::new(format!("setting `{name}` is required for {}", self.rule.id))
        })
    }

    /// The report for a resource that needs `actions`: `dry_run` when deciding only,
    /// otherwise `remediated` once `apply` has taken them.
    pub async fn fix<F>(&self, actions: Vec<String>, apply: F) -> Result<Report, RuleError>
    where
        F: std::future::Future<Output = Result<(), RuleError>>,
    {
        if self.dry_run {
            return Ok(Report {
                outcome: Outcome::DryRun,
                actions,
                reason: None,
            });
        }
        apply.await?;
        Ok(Report {
            outcome: Outcome::Remediated,
            actions,
            reason: None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Remediated,
    Compliant,
    DryRun,
    Skipped,
    Unsupported,
    Rejected,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Remediated => "remediated",
            Outcome::Compliant => "compliant",
            Outcome::DryRun => "dry_run",
            Outcome::Skipped => "skipped",
            Outcome::Unsupported => "unsupported",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }
}

/// What a rule did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub outcome: Outcome,
    pub actions: Vec<String>,
    pub reason: Option<String>,
}

impl Report {
    pub fn compliant(reason: impl Into<String>) -> Report {
        Report {
            outcome: Outcome::Compliant,
            actions: Vec::new(),
            reason: Some(reason.into()),
        }
    }

    pub fn skipped(reason: impl Into<String>) -> Report {
        Report {
            outcome: Outcome::Skipped,
            actions: Vec::new(),
            reason: Some(reason.into()),
        }
    }

    pub fn managed(resource: &str) -> Report {
        Report::skipped(format!(
            "{resource} is tagged {MANAGED_TAG}: remedy's own resource"
        ))
    }

    pub fn failed(reason: impl Into<String>) -> Report {
        Report {
            outcome: Outcome::Failed,
            actions: Vec::new(),
            reason: Some(reason.into()),
        }
    }
}

/// Why a rule could not do its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

impl RuleError {
    pub fn new(reason: impl Into<String>) -> RuleError {
        RuleError(reason.into())
    }

    /// An AWS call that failed: `Api: code: message`.
    pub fn aws<E, R>(api: &str, err: &aws_sdk_s3::error::SdkError<E, R>) -> RuleError
    where
        E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
        R: RawResponse + fmt::Debug + 'static,
    {
        RuleError(format!("{api}: {}", describe_sdk_error(err)))
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The error code AWS answered with, if it answered.
pub fn error_code<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> Option<&str>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code())
}

/// A short, single-line description of an AWS SDK error (any service's): the service's code
/// and message when AWS answered with one; the HTTP status and the start of the body when the
/// answer could not be parsed (a proxy's or an emulator's error page); otherwise the chain of
/// causes (connection refused, credentials…).
pub fn describe_sdk_error<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
    R: RawResponse + fmt::Debug + 'static,
{
    if let Some(service) = err.as_service_error() {
        match (service.code(), service.message()) {
            (Some(code), Some(message)) => return format!("{code}: {message}"),
            (Some(code), None) => return code.to_owned(),
            _ => {}
        }
    }
    if let Some((status, body)) = err.raw_response().and_then(RawResponse::status_and_body) {
        return format!("HTTP {status} {}", one_line(&body, 300));
    }
    chain(err)
}

/// The parts of a raw HTTP response an error description uses.
pub trait RawResponse {
    fn status_and_body(&self) -> Option<(u16, String)>;
}

impl RawResponse for aws_sdk_s3::config::http::HttpResponse {
    fn status_and_body(&self) -> Option<(u16, String)> {
        let body = self
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        Some((self.status().as_u16(), body))
    }
}

/// Text squeezed onto one line: tags dropped, whitespace folded, at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if in_tag => {}
            c if c.is_whitespace() => out.push(' '),
            c => out.push(c),
        }
    }
    let folded = out.split_whitespace().collect::<Vec<_>>().join(" ");
    folded.chars().take(max).collect()
}

/// An error and its sources joined with ": ", without repeating a cause already said.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_fold_to_one_line() {
        let page = "<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal  Server Error</h1>";
        assert_eq!(
            one_line(page, 300),
            "500 Internal Server Error Internal Server Error"
        );
        assert_eq!(one_line("abcdef", 3), "abc");
    }
}
