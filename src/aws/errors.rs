//! AWS's error answers for people (AWS edge): one short line that says what happened and
//! what to do, for reports, status lines and the error a command ends with.
//!
//! [`reason`] reads an SDK error into an [`Answer`] (code, message, HTTP status, the raw
//! body when it was not AWS's, the endpoint, the cause of a failure to reach it or to load
//! credentials); [`humanize`], a pure function, turns that into the line. The line keeps
//! AWS's error code in parentheses at its end, so that a person can search for it and
//! `aws::identity::is_role_not_ready` still reads it. Every line is one line: no
//! newline, no HTML, at most [`MAX_REASON`] characters.
//!
//! Must not: decide anything (what to do with a target is the engines' and `core`'s).

use crate::aws::retries::{find_source as find, Unreachable, ENDPOINT_HEADER};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use remedy_functions::rule::{chain, one_line};

/// The longest reason a report or status line carries.
pub(crate) const MAX_REASON: usize = 300;

/// What AWS (or the way to it) answered, as plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Answer {
    /// AWS's error code (`AccessDenied`, `ValidationError`, …).
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    /// The HTTP status, when there was a response.
    pub(crate) status: Option<u16>,
    /// The response body, when it was not an error AWS's SDK could read (a proxy's page).
    pub(crate) body: Option<String>,
    /// `https://host[:port]` the request went to, when known.
    pub(crate) endpoint: Option<String>,
    /// No answer: why (a connection that could not be made, credentials that could not be
    /// loaded), already one line.
    pub(crate) cause: Option<String>,
}

/// `err` as one line for people (without the operation: callers put it in front).
pub(crate) fn reason<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    humanize(operation, &answer(err))
}

/// What an SDK error says, read into an [`Answer`].
pub(crate) fn answer<E>(err: &SdkError<E, HttpResponse>) -> Answer
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let raw = err.raw_response();
    let mut answer = Answer {
        status: raw.map(|r| r.status().as_u16()),
        endpoint: raw
            .and_then(|r| r.headers().get(ENDPOINT_HEADER))
            .map(str::to_owned),
        ..Answer::default()
    };
    if let Some(service) = err.as_service_error() {
        answer.code = service.code().map(str::to_owned);
        answer.message = service.message().map(str::to_owned);
    }
    if answer.code.is_none() {
        if let Some(raw) = raw {
            answer.body = raw
                .body()
                .bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned());
        }
        if raw.is_none() {
            answer.cause = Some(cause_of(err));
        }
    }
    answer
}

/// Why there was no answer: a connection that could not be made (named by `Reach`), the
/// credentials (their explanation, else the provider's own words), else the chain.
fn cause_of(err: &(dyn std::error::Error + 'static)) -> String {
    if let Some(unreachable) = find::<Unreachable>(err) {
        return unreachable.to_string();
    }
    if let Some(hint) = find::<CredentialHint>(err) {
        return hint.0.clone();
    }
    if let Some(credentials) = find::<CredentialsError>(err) {
        // The provider's own words, without the generic wrappers above them.
        return match std::error::Error::source(credentials) {
            Some(source) => format!("cannot load credentials: {}", chain(source)),
            None => format!("cannot load credentials: {credentials}"),
        };
    }
    chain(err)
}

/// The line for people: what happened and what to do, ending with AWS's code.
pub(crate) fn humanize(operation: &str, answer: &Answer) -> String {
    let message = answer.message.as_deref().map(|m| one_line(m, MAX_REASON));
    let message = message.as_deref().unwrap_or_default();
    match answer.code.as_deref() {
        // The code always survives the cut: it is what a reader searches AWS's docs for.
        Some(code) => {
            let text = by_code(operation, code, message);
            if text.contains(code) {
                bounded(&text)
            } else {
                let room = MAX_REASON.saturating_sub(code.chars().count() + 3);
                with_code(&line_of(&text, room), code)
            }
        }
        None => bounded(&without_code(answer)),
    }
}

/// One line, at most [`MAX_REASON`] characters (an ellipsis says it was cut).
fn bounded(text: &str) -> String {
    line_of(text, MAX_REASON)
}

/// `text` as one line of at most `max` characters: tags dropped, whitespace (newlines
/// included) folded, an ellipsis where it was cut. What every reason a report or status
/// line carries goes through.
pub(crate) fn line_of(text: &str, max: usize) -> String {
    let line = one_line(text, usize::MAX);
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn with_code(text: &str, code: &str) -> String {
    if text.contains(code) {
        text.to_owned()
    } else {
        format!("{text} ({code})")
    }
}

/// An answer AWS gave with an error code.
fn by_code(operation: &str, code: &str, message: &str) -> String {
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "AuthorizationErrorException"
        | "Forbidden" => access_denied(operation, message),
        "ValidationError" | "ValidationException" => validation(message),
        "AlreadyExistsException"
        | "ResourceAlreadyExistsException"
        | "EntityAlreadyExists"
        | "EntityAlreadyExistsException"
        | "NameAlreadyExistsException"
        | "ResourceExistsException"
        | "BucketAlreadyOwnedByYou" => format!(
            "{} already exists (another run, or someone else, made it meanwhile): run again, remedy takes over what it finds; `remedy status` shows it",
            what_exists(message)
        ),
        "BucketAlreadyExists" => format!(
            "{}: the bucket name is taken by another AWS account",
            or_code(message, code)
        ),
        "LimitExceededException"
        | "LimitExceeded"
        | "ServiceQuotaExceededException"
        | "TooManyBuckets"
        | "QuotaExceededException" => format!(
            "an AWS quota is reached: {}; raise it in Service Quotas or remove what is unused",
            or_code(message, code)
        ),
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "SlowDown"
        | "PriorRequestNotComplete"
        | "ProvisionedThroughputExceededException"
        | "BandwidthLimitExceeded" => {
            "throttled by AWS, still after every retry: lower the stage's `concurrency`, or run again later".into()
        }
        "InsufficientCapabilitiesException" => format!(
            "CloudFormation wants capabilities the call did not acknowledge ({}): a bug of remedy's, please report it",
            or_code(message, code)
        ),
        "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" => {
            "the credentials have expired: renew them (`aws sso login --profile …`, or fresh keys) and run again".into()
        }
        "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId" => {
            "AWS does not take the credentials here: the access key is unknown (deleted, mistyped, another partition's), or the region is one the account has not enabled (opt-in regions answer this way); check `aws sts get-caller-identity` and the account's enabled regions".into()
        }
        "SignatureDoesNotMatch" | "InvalidSignatureException" => {
            "the request's signature does not match: the secret key is not the access key's, or this machine's clock is off".into()
        }
        "RequestExpired" | "RequestTimeTooSkewed" => {
            "this machine's clock is off from AWS's: synchronise it (NTP) and run again".into()
        }
        "RegionDisabledException" => {
            "STS is not activated in this region for the account: activate it (IAM → Account settings → STS endpoints) or use another home region".into()
        }
        "OptInRequired" => {
            "the account has not enabled this region (or subscribed to the service): enable the region (Account → AWS Regions), or remove it from `regions`".into()
        }
        "AWSOrganizationsNotInUseException" => {
            "the caller's account is not in an organization: run remedy from the management account or a delegated administrator".into()
        }
        "OperationInProgressException" => format!(
            "another StackSet operation is running: wait for it to end, then run again ({})",
            or_code(message, code)
        ),
        "NoSuchEntity" | "NoSuchEntityException" => format!("{}: it does not exist", or_code(message, code)),
        _ if message.is_empty() => format!("AWS refused {operation}"),
        _ => message.to_owned(),
    }
}

fn or_code<'a>(message: &'a str, code: &'a str) -> &'a str {
    if message.is_empty() {
        code
    } else {
        message
    }
}

/// "User: arn:… is not authorized to perform: cloudformation:CreateStack on resource: arn:…
/// (because no identity-based policy allows …)": which action on what, and what denies it.
fn access_denied(operation: &str, message: &str) -> String {
    let action = after(message, "to perform: ");
    let resource = after(message, "on resource: ");
    let why = if message.contains("service control policy") {
        "a service control policy (SCP) of the organization denies it"
    } else if message.contains("permissions boundary") {
        "the caller's permissions boundary denies it"
    } else if message.contains("explicit deny") {
        "an explicit Deny denies it"
    } else if message.contains("resource-based policy") {
        "the resource's policy does not allow it"
    } else {
        "no policy of the caller allows it"
    };
    let assume = operation.starts_with("AssumeRole") || action.as_deref() == Some("sts:AssumeRole");
    if assume {
        // The operation names the role already ("AssumeRole arn:…: cannot assume it: …").
        let role = match resource {
            Some(role) if !operation.contains(&role) => role,
            _ => "it".into(),
        };
        return format!(
            "cannot assume {role}: check `role.name` (the role must exist in the account), `role.external_id`, and that the role's trust policy trusts the security account"
        );
    }
    // A Deny (an SCP, a boundary, an explicit Deny statement) is not mended by granting.
    let denied = !why.starts_with("no policy") && !why.starts_with("the resource's");
    let fix = |action: &str| {
        if denied {
            format!("lift that Deny for {action} (granting it to the role does not help)")
        } else {
            format!("grant {action} to the role remedy runs with")
        }
    };
    match (action, resource) {
        (Some(action), Some(resource)) => format!(
            "access denied: the caller may not {action} on {resource} ({why}); {}",
            fix(&action)
        ),
        (Some(action), None) => format!(
            "access denied: the caller may not {action} ({why}); {}",
            fix(&action)
        ),
        _ if message.is_empty() => format!(
            "access denied to {operation}: the caller's policies (or an SCP) do not allow it"
        ),
        _ => format!("access denied to {operation}: {message}"),
    }
}

/// The word after `marker` in `text` (an ARN, an action), without trailing punctuation.
fn after(text: &str, marker: &str) -> Option<String> {
    let (_, rest) = text.split_once(marker)?;
    let word = rest.split_whitespace().next()?;
    let word = word.trim_end_matches([',', '.', ';', ')']);
    (!word.is_empty()).then(|| word.to_owned())
}

/// CloudFormation's `ValidationError`: a missing stack, a busy one, a role it cannot use.
fn validation(message: &str) -> String {
    if let Some(state) = message
        .split_whitespace()
        .find(|w| w.ends_with("_IN_PROGRESS") || w.ends_with("_FAILED"))
        .filter(|_| message.contains("state and can not") || message.contains("state and cannot"))
    {
        return format!(
            "the stack is busy ({state}): another operation is running on it; wait for it to end and run again"
        );
    }
    if message.contains("does not exist") {
        if let Some(name) = stack_named(message) {
            return format!("the stack {name} does not exist");
        }
    }
    if message.contains("cannot be assumed") || message.contains("is invalid or cannot be") {
        return format!(
            "CloudFormation cannot use the service role: {message}; check that it exists and trusts cloudformation.amazonaws.com"
        );
    }
    message.to_owned()
}

/// `Stack with id remedy does not exist`, `Stack [remedy] does not exist`.
fn stack_named(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("Stack with id ")
        .or_else(|| message.strip_prefix("Stack "))?;
    let name = rest.split_whitespace().next()?;
    Some(name.trim_matches(['[', ']']).to_owned())
}

/// `Stack [remedy] already exists` → "stack remedy"; otherwise AWS's words.
fn what_exists(message: &str) -> String {
    if message.is_empty() {
        return "it".into();
    }
    let subject = message
        .split(" already exists")
        .next()
        .unwrap_or(message)
        .trim();
    let subject = subject.replace(['[', ']'], "");
    match subject.split_once(' ') {
        Some((kind, name)) if kind.chars().next().is_some_and(char::is_uppercase) => {
            format!("{} {name}", kind.to_lowercase())
        }
        _ => subject,
    }
}

/// No error code: an HTTP answer AWS's SDK could not read (a proxy's page, an outage), or
/// no answer at all.
fn without_code(answer: &Answer) -> String {
    let from = answer
        .endpoint
        .as_deref()
        .map(|e| format!(" from {e}"))
        .unwrap_or_default();
    match (answer.status, &answer.cause) {
        (Some(status), _) if status >= 500 => format!(
            "HTTP {status}{from}{}: AWS, or a proxy on the way, failed; run again later",
            page_title(answer.body.as_deref()),
        ),
        (Some(status), _) => format!(
            "HTTP {status}{from}{}: not an answer AWS's SDK could read (a proxy in the way?)",
            page_title(answer.body.as_deref()),
        ),
        (None, Some(cause)) => cause.clone(),
        (None, None) => "no answer from AWS".into(),
    }
}

/// ` (502 Bad Gateway)`: an HTML page's title, else the start of the body, as one line.
fn page_title(body: Option<&str>) -> String {
    let Some(body) = body.map(str::trim).filter(|b| !b.is_empty()) else {
        return String::new();
    };
    let lower = body.to_ascii_lowercase();
    let title = match (lower.find("<title>"), lower.find("</title>")) {
        (Some(start), Some(end)) if start + 7 <= end => one_line(&body[start + 7..end], 80),
        _ => one_line(body, 80),
    };
    if title.is_empty() {
        String::new()
    } else {
        format!(" ({title})")
    }
}

// ---------------------------------------------------------------------------------------
// Credentials that cannot be loaded.

/// One line saying why the security account's credentials could not be loaded and what to
/// do: carried inside the SDK's `CredentialsError`, read back by [`reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CredentialHint(pub(crate) String);

impl std::fmt::Display for CredentialHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CredentialHint {}

/// What went wrong loading the base credentials, as [`credential_hint`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CredentialFailure {
    /// No provider of the chain had any.
    NotFound,
    /// A provider failed: its words.
    Failed(String),
}

/// The line for credentials that could not be loaded. `profile`: the profile chosen
/// (`--profile`, `AWS_PROFILE`), and whether the profile files define it.
pub(crate) fn credential_hint(
    failure: &CredentialFailure,
    profile: Option<(&str, bool)>,
) -> String {
    let words = match failure {
        CredentialFailure::NotFound => String::new(),
        CredentialFailure::Failed(words) => one_line(words, 200),
    };
    let sso = words.contains("SSO") || words.contains("sso/cache");
    let text = match (profile, failure) {
        (Some((name, false)), _) => format!(
            "AWS profile `{name}` is not in ~/.aws/config or ~/.aws/credentials (nor AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE): check the name (`aws configure list-profiles`) or create it (`aws configure --profile {name}`)"
        ),
        (Some((name, true)), _) if sso => format!(
            "the SSO session of AWS profile `{name}` has expired or was never started: run `aws sso login --profile {name}`, then run remedy again"
        ),
        (None, _) if sso => {
            "the SSO session has expired or was never started: run `aws sso login --profile …`, then run remedy again".into()
        }
        (Some((name, true)), CredentialFailure::NotFound) => format!(
            "AWS profile `{name}` has no credentials: set them with `aws configure --profile {name}` (or its SSO settings with `aws configure sso`)"
        ),
        (Some((name, true)), CredentialFailure::Failed(_)) => format!(
            "cannot load the credentials of AWS profile `{name}`: {words}"
        ),
        (None, CredentialFailure::NotFound) => {
            "no AWS credentials: none in the environment, ~/.aws or an instance role; run `aws configure` (or `aws sso login --profile …` and pass --profile or AWS_PROFILE)".into()
        }
        (None, CredentialFailure::Failed(_)) => format!("cannot load AWS credentials: {words}"),
    };
    bounded(&text)
}

/// `config` with its credentials provider wrapped so that a failure to load the base
/// credentials reads as one [`credential_hint`] line. `profile`: `--profile`, else
/// `AWS_PROFILE`.
pub(crate) fn explained(
    config: aws_config::SdkConfig,
    profile: Option<&str>,
) -> aws_config::SdkConfig {
    let Some(inner) = config.credentials_provider() else {
        return config;
    };
    let profile = profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    config
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Explained { inner, profile }))
        .build()
}

/// The base credentials provider, with its failures explained.
#[derive(Debug)]
struct Explained {
    inner: SharedCredentialsProvider,
    profile: Option<String>,
}

impl ProvideCredentials for Explained {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.inner.provide_credentials().await.map_err(|e| {
                let failure = match &e {
                    CredentialsError::CredentialsNotLoaded(_) => CredentialFailure::NotFound,
                    other => CredentialFailure::Failed(match std::error::Error::source(other) {
                        Some(source) => chain(source),
                        None => other.to_string(),
                    }),
                };
                let profile = self
                    .profile
                    .as_deref()
                    .map(|name| (name, profile_files_define(name)));
                let hint = CredentialHint(credential_hint(&failure, profile));
                match failure {
                    CredentialFailure::NotFound => CredentialsError::not_loaded(hint),
                    CredentialFailure::Failed(_) => CredentialsError::provider_error(hint),
                }
            })
        })
    }
}

/// Whether the files the SDK reads profiles from (`AWS_CONFIG_FILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`) define
/// `name`. Read only when credentials failed to load.
fn profile_files_define(name: &str) -> bool {
    let home = std::env::var("HOME").unwrap_or_default();
    let read = |variable: &str, default: &str| {
        let path = std::env::var(variable).unwrap_or_else(|_| format!("{home}/.aws/{default}"));
        std::fs::read_to_string(path).unwrap_or_default()
    };
    profile_defined(
        name,
        &read("AWS_CONFIG_FILE", "config"),
        &read("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
    )
}

/// Whether the profile files define profile `name`: `[profile name]` (or `[default]`) in
/// the config file, `[name]` in the credentials file.
pub(crate) fn profile_defined(name: &str, config: &str, credentials: &str) -> bool {
    let sections = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|line| {
                let line = line.trim();
                let inner = line.strip_prefix('[')?.split(']').next()?;
                Some(inner.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .collect()
    };
    let in_config = sections(config)
        .iter()
        .any(|s| *s == format!("profile {name}") || (name == "default" && s == "default"));
    in_config || sections(credentials).iter().any(|s| s == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(code: &str, message: &str) -> Answer {
        Answer {
            code: Some(code.into()),
            message: Some(message.into()),
            status: Some(400),
            ..Answer::default()
        }
    }

    /// Every reason is one bounded line: no newline, no HTML.
    fn one_short_line(text: &str) {
        assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.chars().count() <= MAX_REASON, "{}: {text}", text.len());
    }

    #[test]
    fn access_denied_names_the_action_the_resource_and_what_denies_it() {
        let text = humanize(
            "CreateStack",
            &coded(
                "AccessDenied",
                "User: arn:aws:sts::111111111111:assumed-role/remedy/s is not authorized to perform: cloudformation:CreateStack on resource: arn:aws:cloudformation:us-east-1:222222222222:stack/remedy/* because no identity-based policy allows the cloudformation:CreateStack action",
            ),
        );
        one_short_line(&text);
        assert!(text.starts_with("access denied: the caller may not cloudformation:CreateStack on arn:aws:cloudformation:us-east-1:222222222222:stack/remedy/*"), "{text}");
        assert!(text.contains("grant cloudformation:CreateStack"), "{text}");
        assert!(text.ends_with("(AccessDenied)"), "{text}");

        let text = humanize(
            "ListRoots",
            &coded(
                "AccessDeniedException",
                "User: arn:aws:iam::111111111111:user/ci is not authorized to perform: organizations:ListRoots with an explicit deny in a service control policy",
            ),
        );
        assert!(
            text.contains("may not organizations:ListRoots (a service control policy")
                && text.contains("granting it to the role does not help"),
            "{text}"
        );
        // No action in the message: the operation is named.
        let text = humanize(
            "ListRoots",
            &coded(
                "AccessDeniedException",
                "You don't have permissions to access this resource.",
            ),
        );
        assert!(
            text.starts_with("access denied to ListRoots: You don't"),
            "{text}"
        );
    }

    #[test]
    fn a_role_that_cannot_be_assumed_points_at_its_name_external_id_and_trust() {
        let text = humanize(
            "AssumeRole arn:aws:iam::222222222222:role/RemedyDeployer",
            &coded(
                "AccessDenied",
                "User: arn:aws:iam::111111111111:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/RemedyDeployer",
            ),
        );
        one_short_line(&text);
        assert!(
            text.starts_with("cannot assume it: check `role.name`"),
            "{text}"
        );
        let text = humanize(
            "AssumeRole",
            &coded(
                "AccessDenied",
                "User: arn:aws:iam::111111111111:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/RemedyDeployer",
            ),
        );
        assert!(
            text.starts_with("cannot assume arn:aws:iam::222222222222:role/RemedyDeployer: check"),
            "{text}"
        );
        assert!(
            text.contains("`role.external_id`") && text.contains("trust policy"),
            "{text}"
        );
        // is_role_not_ready still reads the code.
        assert!(text.ends_with("(AccessDenied)"), "{text}");
    }

    #[test]
    fn cloudformation_validation_errors_say_missing_busy_or_role() {
        let text = humanize(
            "DescribeStacks",
            &coded("ValidationError", "Stack with id remedy does not exist"),
        );
        assert_eq!(text, "the stack remedy does not exist (ValidationError)");
        let text = humanize(
            "UpdateStack",
            &coded("ValidationError", "Stack:arn:aws:cloudformation:us-east-1:222222222222:stack/remedy/abc is in UPDATE_IN_PROGRESS state and can not be updated."),
        );
        assert!(
            text.starts_with("the stack is busy (UPDATE_IN_PROGRESS): another operation"),
            "{text}"
        );
        let text = humanize(
            "CreateStack",
            &coded(
                "ValidationError",
                "Role arn:aws:iam::222222222222:role/cfn is invalid or cannot be assumed",
            ),
        );
        assert!(
            text.contains("trusts cloudformation.amazonaws.com"),
            "{text}"
        );
    }

    #[test]
    fn what_exists_quotas_throttling_and_capabilities() {
        let text = humanize(
            "CreateStack",
            &coded("AlreadyExistsException", "Stack [remedy] already exists"),
        );
        one_short_line(&text);
        assert!(
            text.starts_with("stack remedy already exists (another run"),
            "{text}"
        );
        assert!(text.ends_with("(AlreadyExistsException)"), "{text}");
        let text = humanize(
            "CreateStackSet",
            &coded(
                "NameAlreadyExistsException",
                "StackSet remedy-dev already exists",
            ),
        );
        assert!(
            text.starts_with("stackset remedy-dev already exists"),
            "{text}"
        );
        let text = humanize(
            "CreateStack",
            &coded(
                "LimitExceededException",
                "Cannot exceed quota for StacksPerAccount: 2000",
            ),
        );
        assert!(
            text.starts_with(
                "an AWS quota is reached: Cannot exceed quota for StacksPerAccount: 2000; raise it"
            ),
            "{text}"
        );
        let text = humanize("ListAccountsForParent", &coded("TooManyRequestsException", "AWS Organizations can't complete your request because another request is already in progress."));
        assert!(
            text.starts_with(
                "throttled by AWS, still after every retry: lower the stage's `concurrency`"
            ),
            "{text}"
        );
        let text = humanize("DescribeStacks", &coded("Throttling", "Rate exceeded"));
        assert!(text.ends_with("(Throttling)"), "{text}");
        let text = humanize(
            "CreateStack",
            &coded(
                "InsufficientCapabilitiesException",
                "Requires capabilities : [CAPABILITY_NAMED_IAM]",
            ),
        );
        assert!(
            text.contains("[CAPABILITY_NAMED_IAM]") && text.contains("bug"),
            "{text}"
        );
    }

    #[test]
    fn credentials_regions_and_clock() {
        for code in [
            "ExpiredToken",
            "ExpiredTokenException",
            "TokenRefreshRequired",
        ] {
            let text = humanize(
                "GetCallerIdentity",
                &coded(
                    code,
                    "The security token included in the request is expired",
                ),
            );
            assert!(
                text.starts_with("the credentials have expired: renew them (`aws sso login"),
                "{text}"
            );
        }
        let text = humanize(
            "AssumeRole",
            &coded(
                "RegionDisabledException",
                "STS is not activated in this region for account:222222222222.",
            ),
        );
        assert!(text.contains("STS is not activated"), "{text}");
        let text = humanize(
            "DescribeStacks",
            &coded("OptInRequired", "You are not subscribed to this service."),
        );
        assert!(
            text.contains("enable the region") && text.ends_with("(OptInRequired)"),
            "{text}"
        );
        let text = humanize(
            "DescribeStacks",
            &coded(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
        );
        assert!(text.ends_with("(InvalidClientTokenId)"), "{text}");
        assert!(
            text.contains("region is one the account has not enabled"),
            "{text}"
        );
    }

    #[test]
    fn an_html_error_page_becomes_its_status_endpoint_and_title() {
        let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
        let answer = Answer {
            status: Some(502),
            body: Some(page.into()),
            endpoint: Some("https://cloudformation.us-east-1.amazonaws.com".into()),
            ..Answer::default()
        };
        let text = humanize("DescribeStacks", &answer);
        one_short_line(&text);
        assert_eq!(
            text,
            "HTTP 502 from https://cloudformation.us-east-1.amazonaws.com (502 Bad Gateway): AWS, or a proxy on the way, failed; run again later"
        );
        // is_role_not_ready reads "HTTP 503".
        let text = humanize(
            "DescribeStacks",
            &Answer {
                status: Some(503),
                ..answer.clone()
            },
        );
        assert!(text.starts_with("HTTP 503 from"), "{text}");
        // A long body without a title is cut, and still one line.
        let body = format!("<p>{}</p>", "gateway error\n".repeat(200));
        let text = humanize(
            "X",
            &Answer {
                status: Some(400),
                body: Some(body),
                endpoint: None,
                ..Answer::default()
            },
        );
        one_short_line(&text);
        assert!(
            text.starts_with("HTTP 400 (gateway error gateway"),
            "{text}"
        );
    }

    #[test]
    fn long_or_multi_line_messages_are_cut_to_one_line() {
        let text = humanize(
            "X",
            &coded(
                "SomethingNew",
                &format!("first\nsecond {}", "x".repeat(1000)),
            ),
        );
        one_short_line(&text);
        assert!(text.starts_with("first second x"), "{text}");
        // Cut before AWS's code, which always ends the line.
        assert!(text.ends_with("… (SomethingNew)"), "{text}");
        let text = humanize(
            "X",
            &Answer {
                cause: Some(
                    "cannot connect to http://127.0.0.1:9: Connection refused (os error 111)"
                        .into(),
                ),
                ..Answer::default()
            },
        );
        assert_eq!(
            text,
            "cannot connect to http://127.0.0.1:9: Connection refused (os error 111)"
        );
    }

    #[test]
    fn a_line_is_one_line_bounded_and_free_of_markup() {
        assert_eq!(line_of("a\n  b\r\n<b>c</b>", 100), "a b c");
        assert_eq!(line_of("abcdef", 4), "abc…");
        assert_eq!(line_of("abc", 3), "abc");
    }

    #[test]
    fn credential_hints_name_the_profile_and_the_fix() {
        let text = credential_hint(&CredentialFailure::NotFound, Some(("nope", false)));
        assert!(
            text.starts_with("AWS profile `nope` is not in ~/.aws/config"),
            "{text}"
        );
        assert!(text.contains("aws configure --profile nope"), "{text}");
        let text = credential_hint(
            &CredentialFailure::Failed("an error occurred while loading an access token: the SSO token has expired and cannot be refreshed".into()),
            Some(("sec", true)),
        );
        assert!(text.contains("run `aws sso login --profile sec`"), "{text}");
        let text = credential_hint(
            &CredentialFailure::Failed(
                "failed to read `/h/.aws/sso/cache/e8.json`: No such file".into(),
            ),
            Some(("sec", true)),
        );
        assert!(text.contains("aws sso login --profile sec"), "{text}");
        let text = credential_hint(&CredentialFailure::NotFound, None);
        assert!(
            text.starts_with("no AWS credentials") && text.contains("`aws configure`"),
            "{text}"
        );
        let text = credential_hint(&CredentialFailure::Failed("a\nb".into()), None);
        one_short_line(&text);
    }

    #[test]
    fn profiles_are_found_in_either_file() {
        let config =
            "[default]\nregion = us-east-1\n[profile sec]\nsso_session = x\n[sso-session x]\n";
        let credentials = "[ci]\naws_access_key_id = A\n";
        assert!(profile_defined("sec", config, credentials));
        assert!(profile_defined("default", config, ""));
        assert!(profile_defined("ci", "", credentials));
        assert!(!profile_defined("nope", config, credentials));
        assert!(
            !profile_defined("x", config, credentials),
            "an sso-session is not a profile"
        );
    }
}
