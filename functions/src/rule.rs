//! What every rule's check-and-fix works with: the [`Context`] it runs in, the [`Report`]
//! it returns, and the conventions they share.
//!
//! A rule checks the current state first and returns `compliant` when nothing needs doing.
//! Otherwise it lists the actions it takes (or, in dry-run, would take) and takes them.
//! Resources of remedy's own stack are `skipped` ([`Context::owns_tagged`],
//! [`Context::owns_listed`]): recognised by what no user can forge, CloudFormation's reserved
//! `aws:cloudformation:*` tags or the stack's own list of resources, never by a tag anyone
//! could set. Any error is a [`RuleError`]: the rule reports `failed` with that reason, never
//! success.

use crate::catalog::RuleSpec;
use crate::finding::Finding;
use aws_config::SdkConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The label on everything remedy creates. A label only: anyone who can tag can set it, so
/// no rule decides anything from it (see [`OwnStack`]).
pub const MANAGED_TAG: &str = "remedy:managed";

/// CloudFormation's reserved tags on a stack's resources, for the resource types whose
/// schema has `tagging.cloudFormationSystemTags` (not KMS keys, IAM roles or users). The
/// `aws:` prefix is reserved: no user can set, change or remove these tags.
pub const STACK_ID_TAG: &str = "aws:cloudformation:stack-id";
pub const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";

/// remedy's own stack (the one whose functions run the rules): its id, and its resources,
/// listed at most once per process (one Lambda cold start) with ListStackResources.
#[derive(Debug)]
pub struct OwnStack {
    /// The stack's ARN (`Ref: AWS::StackId`).
    pub id: String,
    pub name: String,
    resources: tokio::sync::OnceCell<Vec<StackResource>>,
}

/// One resource of the stack: its CloudFormation type and physical id (a queue's URL, a
/// key's id, a role's or user's name, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    pub resource_type: String,
    pub physical_id: String,
}

impl OwnStack {
    /// The stack with this id (`arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>`);
    /// `None` when it is not a stack ARN.
    pub fn from_id(id: &str) -> Option<OwnStack> {
        let id = id.trim();
        let mut parts = id.splitn(6, ':');
        let (arn, service) = (parts.next(), parts.nth(1));
        let resource = parts.nth(2)?;
        if arn != Some("arn") || service != Some("cloudformation") {
            return None;
        }
        let mut path = resource.split('/');
        let (kind, name) = (path.next(), path.next()?);
        if kind != Some("stack") || name.is_empty() {
            return None;
        }
        Some(OwnStack {
            id: id.to_owned(),
            name: name.to_owned(),
            resources: tokio::sync::OnceCell::new(),
        })
    }

    /// The stack with its resources already known (listed by the caller), so that
    /// [`Context::owns_listed`] makes no call.
    pub fn with_resources(self, resources: Vec<StackResource>) -> OwnStack {
        OwnStack {
            resources: tokio::sync::OnceCell::new_with(Some(resources)),
            ..self
        }
    }

    /// The stack's region (the ARN's fourth field).
    fn region(&self) -> Option<&str> {
        self.id.split(':').nth(3).filter(|r| !r.is_empty())
    }
}

/// Whether a resource's tags say `stack` created it: its `aws:cloudformation:stack-id` is the
/// stack's id, or, without that tag, its `aws:cloudformation:stack-name` is the stack's name.
/// Any other tag (`remedy:managed` included) says nothing.
pub fn tags_name_stack<'t>(
    stack: &OwnStack,
    tags: impl IntoIterator<Item = (&'t str, &'t str)>,
) -> bool {
    let (mut id, mut name) = (None, None);
    for (key, value) in tags {
        match key {
            STACK_ID_TAG => id = Some(value),
            STACK_NAME_TAG => name = Some(value),
            _ => {}
        }
    }
    match id {
        Some(id) => id == stack.id,
        None => name == Some(stack.name.as_str()),
    }
}

/// Whether one of `ids` is the physical id of a `resource_type` resource of the stack.
pub fn listed(resources: &[StackResource], resource_type: &str, ids: &[&str]) -> bool {
    resources.iter().any(|r| {
        r.resource_type == resource_type
            && ids.iter().any(|id| !id.is_empty() && *id == r.physical_id)
    })
}

/// The stack's resources (ListStackResources, every page), from the stack's own region.
async fn list_stack_resources(
    aws: &SdkConfig,
    stack: &OwnStack,
) -> Result<Vec<StackResource>, RuleError> {
    let mut config = aws_sdk_cloudformation::config::Builder::from(aws);
    if let Some(region) = stack.region() {
        config = config.region(aws_sdk_cloudformation::config::Region::new(
            region.to_owned(),
        ));
    }
    let cfn = aws_sdk_cloudformation::Client::from_conf(config.build());
    let pages: Vec<_> = cfn
        .list_stack_resources()
        .stack_name(&stack.id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| RuleError::aws("ListStackResources", &e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.stack_resource_summaries())
        .filter_map(|r| {
            Some(StackResource {
                resource_type: r.resource_type()?.to_owned(),
                physical_id: r.physical_resource_id()?.to_owned(),
            })
        })
        .collect())
}

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

tokio::task_local! {
    /// remedy's own stack for the rule running in this task ([`with_own_stack`]).
    static OWN_STACK: Option<Arc<OwnStack>>;
    /// The changes the rule running in this task has made so far ([`changed`]).
    static CHANGES: Arc<std::sync::Mutex<Vec<Change>>>;
}

/// One AWS call that changed something: its operation as `service:Operation`, CloudTrail's
/// `eventName` (`s3:PutBucketAcl`), and its target
/// (the bucket, group id, key or ARN it changed). The ledger's `changes` (docs/ledger.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Change {
    pub api: String,
    pub target: String,
}

/// Records that the rule running in this task has just changed `target` with `api` (its
/// `service:Operation`): called right after each mutating call succeeds, so that a report — a failed one
/// too — lists exactly what was changed, in order. Outside [`recording_changes`], nothing.
pub fn changed(api: &str, target: impl Into<String>) {
    let change = Change {
        api: api.to_owned(),
        target: target.into(),
    };
    let _ = CHANGES.try_with(|changes| {
        changes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(change)
    });
}

/// Runs `fut` (a rule) collecting what it [`changed`]; returns its output and the changes.
pub async fn recording_changes<F: std::future::Future>(fut: F) -> (F::Output, Vec<Change>) {
    let changes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let output = CHANGES.scope(Arc::clone(&changes), fut).await;
    let changes = std::mem::take(&mut *changes.lock().unwrap_or_else(|p| p.into_inner()));
    (output, changes)
}

/// Runs `fut` (a rule) knowing remedy's own stack, whose resources the rules leave alone;
/// `None`, or not running under this, means no stack: nothing is remedy's own. The Lambda
/// handler passes the one stack of its process (from `REMEDY_STACK_ID`), so the stack's
/// resources are listed once per cold start.
///
/// (A task-local rather than a field of [`Context`], so that code building a `Context`
/// literally keeps compiling; see `crate::runtime::run_rule_for`.)
pub async fn with_own_stack<F: std::future::Future>(
    stack: Option<Arc<OwnStack>>,
    fut: F,
) -> F::Output {
    OWN_STACK.scope(stack, fut).await
}

fn own_stack() -> Option<Arc<OwnStack>> {
    OWN_STACK.try_with(Clone::clone).ok().flatten()
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

    /// Whether a resource with these tags (key, value) belongs to remedy's own stack
    /// ([`tags_name_stack`]). For resource types CloudFormation tags (`tagging.cloudFormationSystemTags`).
    pub fn owns_tagged<'t>(&self, tags: impl IntoIterator<Item = (&'t str, &'t str)>) -> bool {
        own_stack().is_some_and(|stack| tags_name_stack(&stack, tags))
    }

    /// Whether a `resource_type` resource known by any of `ids` is one of remedy's own stack's
    /// resources: for the types CloudFormation does not tag (KMS keys, IAM roles and users).
    /// The first call of a process lists the stack (`cloudformation:ListStackResources` on the
    /// stack itself, which the rule declares).
    pub async fn owns_listed(&self, resource_type: &str, ids: &[&str]) -> Result<bool, RuleError> {
        let Some(stack) = own_stack() else {
            return Ok(false);
        };
        let resources = stack
            .resources
            .get_or_try_init(|| list_stack_resources(&self.aws, &stack))
            .await?;
        Ok(listed(resources, resource_type, ids))
    }

    /// Whether the stack with this id is remedy's own.
    pub fn is_own_stack(&self, stack_id: &str) -> bool {
        own_stack().is_some_and(|s| s.id == stack_id)
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
        self.fix_removing(actions, Vec::new(), apply).await
    }

    /// [`Context::fix`] for a reversible rule: once `apply` has taken the actions, the report
    /// records what they `removed` (for the ledger and `remedy undo`). In dry-run nothing is
    /// removed, so nothing is recorded.
    pub async fn fix_removing<F>(
        &self,
        actions: Vec<String>,
        removed: Vec<crate::undo::Removed>,
        apply: F,
    ) -> Result<Report, RuleError>
    where
        F: std::future::Future<Output = Result<(), RuleError>>,
    {
        if self.dry_run {
            // Nothing was done: the actions, written as done, are said as what would have been.
            return Ok(Report {
                outcome: Outcome::DryRun,
                actions: actions
                    .into_iter()
                    .map(|a| format!("would have {a}"))
                    .collect(),
                reason: None,
                removed: Vec::new(),
                changes: Vec::new(),
            });
        }
        apply.await?;
        Ok(Report {
            outcome: Outcome::Remediated,
            actions,
            reason: None,
            removed,
            changes: Vec::new(),
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
    /// What a reversible rule took away, as it was (`crate::undo`); empty for the others,
    /// and whenever nothing was changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<crate::undo::Removed>,
    /// Each AWS call that changed something, in order ([`changed`]); filled in by
    /// `crate::runtime::run_rule` for every outcome, so a failure lists what it changed first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

impl Report {
    pub fn compliant(reason: impl Into<String>) -> Report {
        Report {
            outcome: Outcome::Compliant,
            actions: Vec::new(),
            reason: Some(reason.into()),
            removed: Vec::new(),
            changes: Vec::new(),
        }
    }

    pub fn skipped(reason: impl Into<String>) -> Report {
        Report {
            outcome: Outcome::Skipped,
            actions: Vec::new(),
            reason: Some(reason.into()),
            removed: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// The report for a resource of remedy's own stack: left alone.
    pub fn managed(resource: &str) -> Report {
        Report::skipped(format!(
            "{resource} belongs to remedy's own stack: left alone"
        ))
    }

    /// A finding refused without acting on it (unreadable, another rule's, a region this
    /// function cannot act in): never retried.
    pub fn rejected(reason: impl Into<String>) -> Report {
        Report {
            outcome: Outcome::Rejected,
            actions: Vec::new(),
            reason: Some(reason.into()),
            removed: Vec::new(),
            changes: Vec::new(),
        }
    }

    pub fn failed(reason: impl Into<String>) -> Report {
        Report {
            outcome: Outcome::Failed,
            actions: Vec::new(),
            reason: Some(reason.into()),
            removed: Vec::new(),
            changes: Vec::new(),
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

/// Runs `fix`, one rule's own check and fix, on the finding's resource id with a client
/// `client` builds (`Client::new`) from the rule's AWS configuration: the setup most rules
/// share.
pub async fn on_resource<C>(
    ctx: &Context,
    client: impl FnOnce(&SdkConfig) -> C,
    fix: impl AsyncFnOnce(&Context, &C, &str) -> Result<Report, RuleError>,
) -> Result<Report, RuleError> {
    let resource = ctx.resource()?;
    fix(ctx, &client(&ctx.aws), resource).await
}

/// Runs `fix` with a client `client` builds from the rule's AWS configuration (for rules that
/// read the finding themselves).
pub async fn with_client<C>(
    ctx: &Context,
    client: impl FnOnce(&SdkConfig) -> C,
    fix: impl AsyncFnOnce(&Context, &C) -> Result<Report, RuleError>,
) -> Result<Report, RuleError> {
    fix(ctx, &client(&ctx.aws)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str =
        "arn:aws:cloudformation:us-east-1:111111111111:stack/remedy/0f1e2d3c-aaaa-bbbb-cccc-000000000000";

    fn stack() -> OwnStack {
        OwnStack::from_id(STACK).unwrap()
    }

    #[test]
    fn the_stack_is_known_by_its_arn() {
        let stack = stack();
        assert_eq!(
            (stack.name.as_str(), stack.region()),
            ("remedy", Some("us-east-1"))
        );
        assert!(OwnStack::from_id("remedy").is_none());
        assert!(OwnStack::from_id("arn:aws:sqs:us-east-1:111111111111:remedy").is_none());
        assert!(
            OwnStack::from_id("arn:aws:cloudformation:us-east-1:111111111111:stack//x").is_none()
        );
    }

    #[test]
    fn only_cloudformations_reserved_tags_make_a_resource_remedys() {
        let stack = stack();
        // Anyone who can tag can write remedy:managed: it opts nothing out.
        assert!(!tags_name_stack(&stack, [(MANAGED_TAG, "true")]));
        assert!(!tags_name_stack(&stack, []));
        assert!(tags_name_stack(
            &stack,
            [(STACK_ID_TAG, STACK), (STACK_NAME_TAG, "remedy")]
        ));
        assert!(tags_name_stack(&stack, [(STACK_NAME_TAG, "remedy")]));
        // Another stack, or an earlier stack of the same name: not remedy's.
        let other = STACK.replace("0f1e2d3c", "99999999");
        assert!(!tags_name_stack(
            &stack,
            [(STACK_ID_TAG, other.as_str()), (STACK_NAME_TAG, "remedy")]
        ));
        assert!(!tags_name_stack(&stack, [(STACK_NAME_TAG, "remedy-other")]));
    }

    #[test]
    fn untagged_types_are_found_in_the_stack_resources() {
        let resources = [
            ("AWS::KMS::Key", "1234abcd-12ab-34cd-56ef-1234567890ab"),
            (
                "AWS::SQS::Queue",
                "https://sqs.us-east-1.amazonaws.com/111111111111/remedy-findings",
            ),
            ("AWS::IAM::Role", "remedy-RuleS3001Role-ABC"),
        ]
        .map(|(t, id)| StackResource {
            resource_type: t.into(),
            physical_id: id.into(),
        });
        assert!(listed(
            &resources,
            "AWS::KMS::Key",
            &["1234abcd-12ab-34cd-56ef-1234567890ab"]
        ));
        assert!(listed(
            &resources,
            "AWS::SQS::Queue",
            &["https://sqs.us-east-1.amazonaws.com/111111111111/remedy-findings"]
        ));
        assert!(listed(
            &resources,
            "AWS::IAM::Role",
            &["", "remedy-RuleS3001Role-ABC"]
        ));
        assert!(!listed(
            &resources,
            "AWS::IAM::User",
            &["remedy-RuleS3001Role-ABC"]
        ));
        assert!(!listed(&resources, "AWS::KMS::Key", &["another-key", ""]));
    }

    #[tokio::test]
    async fn without_a_stack_nothing_is_remedys() {
        let listed_stack = stack().with_resources(vec![StackResource {
            resource_type: "AWS::KMS::Key".into(),
            physical_id: "k".into(),
        }]);
        let ctx = Context {
            rule: crate::catalog::find_rule("KMS-002").unwrap(),
            finding: serde_json::from_value(
                serde_json::json!({"ruleId": "KMS-002", "status": "FAILURE"}),
            )
            .unwrap(),
            settings: BTreeMap::new(),
            dry_run: true,
            aws: SdkConfig::builder().build(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
        };
        assert!(!ctx.owns_tagged([(STACK_ID_TAG, STACK)]));
        assert!(!ctx.owns_listed("AWS::KMS::Key", &["k"]).await.unwrap());
        assert!(!ctx.is_own_stack(STACK));
        with_own_stack(None, async {
            assert!(!ctx.owns_tagged([(STACK_ID_TAG, STACK)]));
        })
        .await;
        with_own_stack(Some(Arc::new(listed_stack)), async {
            assert!(ctx.owns_tagged([(STACK_ID_TAG, STACK)]));
            assert!(
                ctx.owns_listed("AWS::KMS::Key", &["k"]).await.unwrap(),
                "no call: listed already"
            );
            assert!(ctx.is_own_stack(STACK));
        })
        .await;
    }

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
