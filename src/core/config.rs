//! `remedy.yaml`: parsing and validation, with no AWS call.
//!
//! Owns the configuration's shape (docs/configuration.md) and every check that can
//! be made without AWS: unknown keys, unknown rule ids, bad modes, malformed account ids and
//! regions, duplicate stage names, stages without targets. Each error names the file, line,
//! column and key path, and maps to exit code 2.
//!
//! How line numbers are kept: checks that belong to one YAML node run *inside* serde
//! deserialization (custom `Deserialize` impls and `try_from`), so serde_norway attaches
//! that node's path and position. The few checks that span nodes (duplicate stage names)
//! or need AWS (an OU path that does not exist) use [`Config::locate`], which finds the
//! line of a scalar in the source text.
//!
//! Must not: call AWS or print. Of the engines it knows only what the file alone can be
//! checked against (a `stacksets` stage's OUs and account filters, at load).

use crate::core::error::Error;
use remedy_functions::{find_rule, Mode, RuleSpec};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The publisher account of Cloud Conformity (the documented default).
pub(crate) const CONFORMITY_ACCOUNT_ID: &str = "717210094962";
pub(crate) const DEFAULT_STACK_NAME: &str = "remedy";
pub(crate) const DEFAULT_ROLE_NAME: &str = "CloudConformity";
pub(crate) const DEFAULT_CONCURRENCY: usize = 16;

/// A validated `remedy.yaml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for error messages).
    pub(crate) path: PathBuf,
    source: String,
    pub(crate) stack_name: String,
    /// A prebuilt Lambda zip, resolved against the config file's folder.
    pub(crate) package: Option<PathBuf>,
    /// Where each account's stack lives, unless a stage says otherwise; `None`: the first
    /// of `regions`, else the region of the AWS environment.
    pub(crate) home_region: Option<String>,
    /// The regions whose findings the stacks remediate, unless a stage says otherwise;
    /// empty: `[home_region]`.
    pub(crate) regions: Vec<String>,
    /// Regions AWS opened after this release, accepted as known (in the partition their
    /// name says).
    pub(crate) extra_regions: Vec<String>,
    /// How the stack encrypts the findings topic and queues.
    pub(crate) encryption: Encryption,
    pub(crate) role: RoleConfig,
    pub(crate) conformity: ConformityConfig,
    pub(crate) stages: Vec<Stage>,
    /// Rule id (or `*`) → its mode and settings, as written.
    pub(crate) rules: BTreeMap<String, RuleConfig>,
    /// Where the orchestrator sends findings, by risk level and category.
    pub(crate) notifications: Notifications,
    /// Findings not to remediate, each with its reason, owner and expiry (`exceptions:`).
    pub(crate) exceptions: Vec<ExceptionEntry>,
    /// How stages deploy unless they say otherwise.
    pub(crate) engine: Engine,
    /// The `codebuild` engine's project in each member account.
    pub(crate) codebuild: CodeBuildConfig,
    /// How the `stacksets` engine calls StackSets.
    pub(crate) stacksets: StackSetsConfig,
}

/// `encryption:` — how the findings topic and queues are encrypted at rest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Encryption {
    /// One customer-managed KMS key per account (rotated yearly): the topic, the queues and
    /// the notification topics. A fixed monthly charge per key.
    #[default]
    CustomerKey,
    /// No customer key: the queues use SQS-managed encryption (SSE-SQS) and the topics are
    /// not encrypted at rest by SNS (an AWS-managed SNS key cannot be used by Conformity's
    /// account to publish). The README weighs the trade-off.
    AwsManaged,
}

/// `engine:` — how a stage reaches its accounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Engine {
    /// From here: assume the role, deploy the stack with CloudFormation.
    #[default]
    Direct,
    /// Assume the role, start the account's own CodeBuild project, which deploys from inside.
    Codebuild,
    /// Hand the fan-out to CloudFormation: one service-managed StackSet per stage over the
    /// stage's OUs, its operation bounded by the stage's concurrency and failure tolerance.
    Stacksets,
}

impl Engine {
    /// Whether the engine deploys through change sets `plan --keep` can leave for `deploy`
    /// (StackSets has none).
    pub(crate) fn has_change_sets(self) -> bool {
        // Exhaustive, so that a new engine is asked.
        match self {
            Engine::Direct | Engine::Codebuild => true,
            Engine::Stacksets => false,
        }
    }

    /// Whether each account's stack is remedy's own to delete (`remedy remove`, `--prune`):
    /// a StackSet's instances are its own, deleted through the StackSet.
    pub(crate) fn owns_account_stacks(self) -> bool {
        match self {
            Engine::Direct | Engine::Codebuild => true,
            Engine::Stacksets => false,
        }
    }
}

/// `stacksets:` — how the `stacksets` engine calls StackSets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StackSetsConfig {
    /// `delegated_admin` (default: the security account is a StackSets delegated
    /// administrator of the organization) or `self` (run from the management account).
    #[serde(default)]
    pub(crate) call_as: CallAs,
}

/// StackSets' `CallAs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CallAs {
    #[default]
    DelegatedAdmin,
    #[serde(rename = "self")]
    Own,
}

/// `codebuild:` — the project the `codebuild` engine starts in each member account
/// (`stacks/account-bootstrap.yaml` installs it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeBuildConfig {
    #[serde(default = "default_project")]
    pub(crate) project: String,
    /// Gone: the project runs in each stage's home region.
    #[serde(
        default,
        rename = "region",
        deserialize_with = "CodeBuildRegionGone::refuse"
    )]
    _region: Option<CodeBuildRegionGone>,
}

impl Default for CodeBuildConfig {
    fn default() -> Self {
        CodeBuildConfig {
            project: default_project(),
            _region: None,
        }
    }
}

fn default_project() -> String {
    "remedy-deploy".into()
}

/// One `exceptions:` entry: which findings (rules, and any of accounts, OUs, regions,
/// resource globs, tags) are not remediated, why, whose decision it is, and until when.
/// Each field checks itself while read (file:line); a duplicate id, a region AWS does not
/// have, and dates against today are checked over the whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExceptionEntry {
    pub(crate) id: ExceptionId,
    /// Rule ids, or `"*"`.
    pub(crate) rules: ExceptionRules,
    #[serde(default)]
    pub(crate) accounts: Vec<AccountId>,
    #[serde(default)]
    pub(crate) ous: Vec<OuRef>,
    #[serde(default)]
    pub(crate) regions: Vec<Region>,
    /// Globs (`*`, `?`) over the finding's resource id or ARN.
    #[serde(default)]
    pub(crate) resources: Vec<ResourceGlob>,
    /// Tag key → value the resource must carry (all of them).
    #[serde(default)]
    pub(crate) tags: BTreeMap<TagKey, TagValue>,
    pub(crate) reason: Sentence,
    pub(crate) owner: Sentence,
    /// The last day it applies (`YYYY-MM-DD`, UTC): at most a year ahead, and not passed
    /// when the file is loaded ([`Config::check_exception_dates`]).
    pub(crate) expires: ExpiryDate,
}

impl ExceptionEntry {
    /// The exception as a stack carries it, for `accounts` (resolved from the file's
    /// `accounts` and `ous`; empty: every account that carries it).
    pub(crate) fn carried(&self, accounts: Vec<String>) -> remedy_functions::exceptions::Exception {
        remedy_functions::exceptions::Exception {
            id: self.id.0.clone(),
            rules: self.rules.0.clone(),
            accounts,
            regions: self.regions.iter().map(|r| r.0.clone()).collect(),
            resources: self.resources.iter().map(|r| r.0.clone()).collect(),
            tags: self
                .tags
                .iter()
                .map(|(k, v)| (k.0.clone(), v.0.clone()))
                .collect(),
            expires: self.expires.0.clone(),
        }
    }

    /// Why its `tags` could never work, if they could not: more than the tagging API's 50
    /// tag filters, or only rules on IAM resources, which that API does not list.
    fn tags_problem(&self) -> Option<String> {
        if self.tags.len() > MAX_EXCEPTION_TAGS {
            return Some(format!(
                "{} tags, more than the {MAX_EXCEPTION_TAGS} the Resource Groups Tagging API filters on",
                self.tags.len()
            ));
        }
        let iam_only = !self.tags.is_empty()
            && self.rules.0.iter().all(|r| {
                remedy_functions::catalog::find_rule(r).is_some_and(|spec| spec.service == "IAM")
            });
        iam_only.then(|| {
            "a tag exception for IAM rules would never match: the Resource Groups Tagging API, which the orchestrator reads tags with, does not list IAM users and roles (name the resources instead)".to_owned()
        })
    }

    /// Whether it is scoped to some accounts or OUs (resolved when deploying).
    pub(crate) fn is_scoped(&self) -> bool {
        !self.accounts.is_empty() || !self.ous.is_empty()
    }
}

/// An exception's `rules`: at least one, each a catalog rule id or `"*"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExceptionRules(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for ExceptionRules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let keys: Vec<RuleKey> = Vec::deserialize(d)?;
        if keys.is_empty() {
            return Err(de::Error::custom(
                "`rules` is empty: name the rule ids the exception covers, or \"*\"",
            ));
        }
        Ok(ExceptionRules(keys.into_iter().map(|k| k.0).collect()))
    }
}

/// The most bytes of exceptions one stack carries (compact JSON, in the orchestrator's
/// environment): Lambda allows 4 KB of environment in all, and the rule table, routes and
/// regions need the rest.
pub(crate) const MAX_EXCEPTIONS_BYTES: usize = 2048;

/// The most tags one exception names: GetResources takes at most 50 tag filters.
pub(crate) const MAX_EXCEPTION_TAGS: usize = 50;

/// The longest an exception may be set for.
pub(crate) const MAX_EXCEPTION_DAYS: i64 = 366;

/// `notifications:` — topics the stack creates, and which findings each receives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Notifications {
    #[serde(default)]
    pub(crate) topics: Vec<NotificationTopic>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotificationTopic {
    /// The topic is `<stack_name>-notify-<name>`.
    pub(crate) name: TopicName,
    /// `LOW`, `MEDIUM`, `HIGH`, `VERY_HIGH`, `EXTREME`; none means every level.
    #[serde(default)]
    pub(crate) risk_levels: Vec<RiskLevelName>,
    /// Conformity categories (`security`, `cost-optimisation`, …); none means every category.
    #[serde(default)]
    pub(crate) categories: Vec<String>,
    /// Email subscriptions the stack creates (each address confirms once).
    #[serde(default)]
    pub(crate) emails: Vec<EmailAddress>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleConfig {
    #[serde(default = "default_role_name")]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) external_id: Option<String>,
    /// A CloudFormation service role in each member account (the account bootstrap's
    /// `remedy-cloudformation`): the stack's resources are made with its permissions, so
    /// the assumed role needs only CloudFormation on the stack and `iam:PassRole` of it.
    #[serde(default)]
    pub(crate) execution_role: Option<String>,
}

impl Default for RoleConfig {
    fn default() -> Self {
        RoleConfig {
            name: default_role_name(),
            external_id: None,
            execution_role: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConformityConfig {
    #[serde(default = "default_conformity_account")]
    pub(crate) account_id: AccountId,
    /// Conformity's API, for `remedy conformity` and `onboard --connect`.
    #[serde(default)]
    pub(crate) api: Option<ConformityApi>,
}

impl Default for ConformityConfig {
    fn default() -> Self {
        ConformityConfig {
            account_id: default_conformity_account(),
            api: None,
        }
    }
}

/// `conformity.api`: where Conformity's API answers (its `region`, or a `url`) and where its
/// key comes from (an environment variable, by default `CONFORMITY_API_KEY`, or a Secrets
/// Manager secret of the security account). The key itself is never in the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawConformityApi")]
pub(crate) struct ConformityApi {
    /// The API's base URL, without a trailing `/` (`https://us-west-2-api.cloudconformity.com/v1`).
    pub(crate) base_url: String,
    pub(crate) key: ApiKeySource,
}

/// Where the Conformity API key is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiKeySource {
    /// An environment variable's name.
    Env(String),
    /// A Secrets Manager secret's ARN (the secret string is the key).
    Secret(String),
}

/// The environment variable the key is read from when the file names none.
pub(crate) const DEFAULT_API_KEY_ENV: &str = "CONFORMITY_API_KEY";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConformityApi {
    region: Option<String>,
    url: Option<String>,
    api_key_env: Option<String>,
    api_key_secret: Option<String>,
}

impl TryFrom<RawConformityApi> for ConformityApi {
    type Error = String;

    fn try_from(raw: RawConformityApi) -> Result<ConformityApi, String> {
        let base_url = match (raw.region, raw.url) {
            (Some(_), Some(_)) => return Err("api: give `region` or `url`, not both".into()),
            (None, None) => {
                return Err(format!(
                    "api: give the API's `region` ({}) or its `url`",
                    CONFORMITY_REGIONS.join(", ")
                ))
            }
            (Some(region), None) => base_url_of_region(&region).ok_or_else(|| {
                format!(
                    "api.region: `{region}` is not a Conformity region ({})",
                    CONFORMITY_REGIONS.join(", ")
                )
            })?,
            (None, Some(url)) => check_base_url(&url).map_err(|why| format!("api.url: {why}"))?,
        };
        let key = match (raw.api_key_env, raw.api_key_secret) {
            (Some(_), Some(_)) => {
                return Err("api: give `api_key_env` or `api_key_secret`, not both".into())
            }
            (Some(name), None) => {
                let valid = name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if !valid {
                    return Err(format!(
                        "api.api_key_env: `{name}` is not an environment variable name (A-Z, 0-9, _)"
                    ));
                }
                ApiKeySource::Env(name)
            }
            (None, Some(arn)) => {
                if !is_secret_arn(&arn) {
                    return Err(format!(
                        "api.api_key_secret: `{arn}` is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
                    ));
                }
                ApiKeySource::Secret(arn)
            }
            (None, None) => ApiKeySource::Env(DEFAULT_API_KEY_ENV.to_owned()),
        };
        Ok(ConformityApi { base_url, key })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Stage {
    pub(crate) name: StageName,
    pub(crate) targets: Targets,
    /// Where this stage's stacks live (default: the top-level `home_region`).
    #[serde(default)]
    pub(crate) home_region: Option<Region>,
    /// The regions this stage's stacks remediate (default: the top-level `regions`).
    #[serde(default)]
    pub(crate) regions: Option<Vec<Region>>,
    #[serde(default = "default_concurrency")]
    pub(crate) concurrency: Concurrency,
    #[serde(default)]
    pub(crate) failure_tolerance: usize,
    #[serde(default)]
    pub(crate) approval: bool,
    /// Gone: one stack per account, in its home region (refused at load with what replaced it).
    #[serde(
        default,
        rename = "region_order",
        deserialize_with = "RegionOrderGone::refuse"
    )]
    _region_order: Option<RegionOrderGone>,
    /// This stage's engine (default: the top-level `engine`).
    #[serde(default)]
    pub(crate) engine: Option<Engine>,
    /// Overlays the top-level `rules` for this stage (same syntax, `"*"` included): a rule's
    /// mode is the stage's entry for it, else the stage's `"*"`, else the top level's.
    #[serde(default)]
    pub(crate) rules: Option<Rules>,
}

/// A key that an earlier version took: whatever its value, loading fails at its line with
/// what replaced it.
macro_rules! gone_key {
    ($name:ident, $message:expr) => {
        // Never built: deserializing one is the error.
        #[allow(dead_code)]
        #[derive(Debug, Clone)]
        struct $name;

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // Refused while the value is read, so that the error carries its line.
                d.deserialize_any(GoneVisitor($message)).map(|()| $name)
            }
        }

        impl $name {
            /// For `deserialize_with`: an empty value (`region_order:`) is refused too,
            /// where `Option` alone would take it for an absent key.
            fn refuse<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
                $name::deserialize(d).map(Some)
            }
        }
    };
}

/// Refuses whatever value a gone key has, with what replaced it.
struct GoneVisitor(&'static str);

impl<'de> Visitor<'de> for GoneVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(self.0))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(self.0))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(self.0))
    }
}

gone_key!(
    RegionOrderGone,
    "`region_order` is gone: remedy deploys one stack per account, in its `home_region`, and that stack remediates the findings of every region listed in `regions`. Remove `region_order`; set `home_region` (default: the first of `regions`)"
);
gone_key!(
    CodeBuildRegionGone,
    "`codebuild.region` is gone: the project runs in each stage's `home_region` (install the account bootstrap there). Remove `codebuild.region`"
);
gone_key!(
    TopRegionOrderGone,
    "`region_order` is gone: remedy deploys one stack per account, in its `home_region`, and that stack remediates the findings of every region listed in `regions`. Remove `region_order`"
);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawTargets")]
pub(crate) struct Targets {
    pub(crate) ous: Vec<OuRef>,
    pub(crate) accounts: Vec<AccountId>,
    pub(crate) exclude: Vec<AccountId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    #[serde(default)]
    ous: Vec<OuRef>,
    #[serde(default)]
    accounts: Vec<AccountId>,
    #[serde(default)]
    exclude: Vec<AccountId>,
}

impl TryFrom<RawTargets> for Targets {
    type Error = String;
    fn try_from(raw: RawTargets) -> Result<Self, String> {
        if raw.ous.is_empty() && raw.accounts.is_empty() {
            return Err("the stage has no targets: list `ous` or `accounts`".into());
        }
        Ok(Targets {
            ous: raw.ous,
            accounts: raw.accounts,
            exclude: raw.exclude,
        })
    }
}

/// Where a stage's stacks live and whose findings they remediate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placement {
    /// The one region of each account's stack.
    pub(crate) home: String,
    /// The orchestrator's allow-list (Conformity's `global` is always accepted besides).
    pub(crate) covered: Vec<String>,
}

impl Placement {
    /// The covered regions that are not the home region (where a stack of remedy's is a
    /// stray).
    pub(crate) fn elsewhere(&self) -> impl Iterator<Item = &String> {
        self.covered.iter().filter(move |r| **r != self.home)
    }
}

/// A rule's configured mode and settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleConfig {
    pub(crate) mode: Mode,
    pub(crate) settings: BTreeMap<String, String>,
    /// `grace`: seconds the orchestrator waits before acting (0 ..= 900); `None`: not given.
    pub(crate) grace: Option<u32>,
    /// `max_per_hour`: fixes per account and UTC hour (1 ..= 10000); `None`: not given.
    pub(crate) max_per_hour: Option<u32>,
    /// `max_failures_per_hour`: failed fixes per account and UTC hour before the rule
    /// pauses itself there (1 ..= 10000); `None`: not given.
    pub(crate) max_failures_per_hour: Option<u32>,
}

/// A rule that the stack deploys: its catalog entry, mode and settings (defaults filled in).
#[derive(Debug, Clone)]
pub(crate) struct EnabledRule {
    pub(crate) spec: &'static RuleSpec,
    pub(crate) mode: Mode,
    pub(crate) settings: BTreeMap<String, String>,
    /// The grace period in seconds (0: none): the stage's entry's, else the top level's.
    pub(crate) grace: u32,
    /// The rate limit and the circuit breaker's threshold, each the stage's entry's, else
    /// the top level's, else the default (50 and 5).
    pub(crate) limit: remedy_functions::limits::Limit,
}

// ---------------------------------------------------------------------------------------
// Validated scalars. Each checks itself while being deserialized, so its error carries the
// node's line and key path.

macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) struct $name(pub String);

        impl $name {
            // Not every validated string is read back as a `&str`.
            #[allow(dead_code)]
            pub(crate) fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let check: fn(&str) -> Result<(), String> = $check;
                checked_scalar(d, check).map($name)
            }
        }
    };
}

validated_string!(
    /// A 12-digit AWS account id.
    AccountId,
    |s| {
        if is_account_id(s) {
            Ok(())
        } else {
            Err(format!("`{s}` is not a 12-digit AWS account id (quote it in YAML: \"012345678901\")"))
        }
    }
);

validated_string!(
    /// An AWS region name such as `us-east-1`. Whether AWS has it, and in the partition of
    /// the rest, is checked once the whole file is read (`extra_regions` may list it):
    /// [`Config::check_regions`].
    Region,
    |s| {
        if s == crate::core::region::GLOBAL {
            Err("`global` is not a region to list: findings for global services are always remediated, in the partition's global region".into())
        } else if !is_region(s) {
            Err(format!("`{s}` is not an AWS region name (e.g. us-east-1)"))
        } else {
            Ok(())
        }
    }
);

validated_string!(
    /// An OU path from the root (`/Workloads/Prod`), an OU id (`ou-…`) or a root id (`r-…`).
    OuRef,
    |s| {
        if s.starts_with('/') {
            if s.len() > 1 && s.split('/').skip(1).any(str::is_empty) {
                Err(format!("`{s}` has an empty OU name (write /Parent/Child)"))
            } else {
                Ok(())
            }
        } else if is_ou_id(s) || is_root_id(s) {
            Ok(())
        } else {
            Err(format!("`{s}` is neither an OU path (/Workloads/Prod) nor an OU id (ou-…) or root id (r-…)"))
        }
    }
);

validated_string!(
    /// A notification topic's short name: letters, digits, `-` and `_`, at most 64.
    TopicName,
    |s| {
        if (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            Ok(())
        } else {
            Err(format!("topic name `{s}` must be 1-64 letters, digits, `-` or `_`"))
        }
    }
);

validated_string!(
    /// A Conformity risk level.
    RiskLevelName,
    |s| {
        if ["LOW", "MEDIUM", "HIGH", "VERY_HIGH", "EXTREME"].contains(&s) {
            Ok(())
        } else {
            Err(format!("unknown risk level `{s}` (LOW, MEDIUM, HIGH, VERY_HIGH or EXTREME)"))
        }
    }
);

validated_string!(
    /// An email address for a subscription.
    EmailAddress,
    |s| {
        match s.split_once('@') {
            Some((user, domain)) if !user.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace) => Ok(()),
            _ => Err(format!("`{s}` is not an email address")),
        }
    }
);

validated_string!(
    /// A stage name: letters, digits, `-` and `_`.
    StageName,
    |s| {
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            Ok(())
        } else {
            Err(format!("stage name `{s}` must be letters, digits, `-` or `_`"))
        }
    }
);

validated_string!(
    /// An exception's id: letters, digits, `-`, `_` and `.`, at most 64 (it is the reason
    /// code `exception:<id>`).
    ExceptionId,
    |s| {
        if (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            Ok(())
        } else {
            Err(format!("exception id `{s}` must be 1-64 letters, digits, `-`, `_` or `.`"))
        }
    }
);

validated_string!(
    /// A glob over a resource id or ARN: no spaces, at most 1024 characters.
    ResourceGlob,
    |s| {
        if s.is_empty() || s.len() > 1024 || s.chars().any(char::is_whitespace) {
            Err(format!("`{s}` is not a resource glob (a resource id or ARN, `*` and `?` as wildcards, no spaces)"))
        } else if s.chars().all(|c| c == '*') {
            Err("a resource glob of `*` alone matches every resource: leave `resources` out instead".into())
        } else {
            Ok(())
        }
    }
);

validated_string!(
    /// A tag key: 1-128 characters.
    TagKey,
    |s| {
        if s.is_empty() || s.chars().count() > 128 {
            Err(format!("tag key `{s}` must be 1-128 characters"))
        } else {
            Ok(())
        }
    }
);

validated_string!(
    /// A tag value: at most 256 characters.
    TagValue,
    |s| {
        if s.chars().count() > 256 {
            Err("a tag value is at most 256 characters".into())
        } else {
            Ok(())
        }
    }
);

validated_string!(
    /// Words a person wrote (an exception's reason or owner): not blank.
    Sentence,
    |s| {
        if s.trim().is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(())
        }
    }
);

validated_string!(
    /// A date, `YYYY-MM-DD`.
    ExpiryDate,
    |s| {
        if remedy_functions::exceptions::parse_date(s).is_some() {
            Ok(())
        } else {
            Err(format!("`{s}` is not a date (write YYYY-MM-DD, e.g. 2027-03-31)"))
        }
    }
);

/// How many accounts a stage deploys at once (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Concurrency(pub usize);

impl<'de> Deserialize<'de> for Concurrency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = usize::deserialize(d)?;
        if n == 0 {
            return Err(de::Error::custom("concurrency must be at least 1"));
        }
        Ok(Concurrency(n))
    }
}

/// Conformity's API regions: the standalone service's (`<region>-api.cloudconformity.com/v1`)
/// and Cloud One's (`conformity.<region>.cloudone.trendmicro.com/api`).
pub(crate) const CONFORMITY_REGIONS: [&str; 17] = [
    "us-west-2",
    "eu-west-1",
    "ap-southeast-2",
    "ca-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "eu-central-1",
    "eu-west-2",
    "ap-south-1",
    "us-1",
    "in-1",
    "gb-1",
    "jp-1",
    "de-1",
    "au-1",
    "ca-1",
    "sg-1",
];

/// The base URL of the API in `region`, if it is one of [`CONFORMITY_REGIONS`].
pub(crate) fn base_url_of_region(region: &str) -> Option<String> {
    if !CONFORMITY_REGIONS.contains(&region) {
        return None;
    }
    Some(if region.matches('-').count() == 2 {
        format!("https://{region}-api.cloudconformity.com/v1")
    } else {
        format!("https://conformity.{region}.cloudone.trendmicro.com/api")
    })
}

/// A `url` as the base URL: `https://…` (plain `http://` only on this machine, for a local
/// stand-in of the API), without a query, a fragment or a trailing `/`.
pub(crate) fn check_base_url(url: &str) -> Result<String, String> {
    let plain = || {
        format!("`{url}` must be a plain base URL (https://host[:port]/path: no user, query, fragment or spaces)")
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(plain)?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty()
        || authority.contains('@')
        || url.contains(['?', '#', ' ', '\\'])
        || url.len() > 256
    {
        return Err(plain());
    }
    // The host, without a numeric port.
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    match scheme {
        "https" => {}
        "http" if host == "127.0.0.1" || host == "localhost" => {}
        _ => {
            return Err(format!(
                "`{url}` is not an https:// URL (the API key travels with every request; plain http only to 127.0.0.1 or localhost)"
            ))
        }
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Whether `arn` is a Secrets Manager secret's ARN.
pub(crate) fn is_secret_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    matches!(parts.as_slice(),
        ["arn", partition, "secretsmanager", region, account, "secret", name]
            if partition.starts_with("aws")
                && is_region(region)
                && is_account_id(account)
                && !name.is_empty())
}

pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_region(s: &str) -> bool {
    // partition-prefix-direction-number: us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

fn is_ou_id(s: &str) -> bool {
    // ou-<4-32 root chars>-<8-32 chars>
    s.strip_prefix("ou-").is_some_and(|rest| {
        let mut it = rest.splitn(2, '-');
        matches!((it.next(), it.next()), (Some(a), Some(b))
            if (4..=32).contains(&a.len()) && (8..=32).contains(&b.len())
            && rest.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'))
    })
}

fn is_root_id(s: &str) -> bool {
    s.strip_prefix("r-").is_some_and(|rest| {
        (4..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

/// A YAML scalar as text: strings as they are, numbers and booleans as written.
/// (An unquoted account id such as 012345678901 would otherwise be read as a number.)
fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked_scalar(d, |_| Ok(()))
}

/// A scalar as text, checked *inside* the deserializer so that serde_norway pins an error
/// to this node's own line and column (an error raised after it returns would be pinned to
/// the enclosing node).
fn checked_scalar<'de, D, F>(d: D, check: F) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
    F: Fn(&str) -> Result<(), String>,
{
    struct ScalarVisitor<F>(F);
    impl<F: Fn(&str) -> Result<(), String>> ScalarVisitor<F> {
        fn accept<E: de::Error>(&self, text: String) -> Result<String, E> {
            (self.0)(&text).map_err(E::custom)?;
            Ok(text)
        }
    }
    impl<F: Fn(&str) -> Result<(), String>> Visitor<'_> for ScalarVisitor<F> {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            self.accept(v.to_owned())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            self.accept(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            self.accept(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            self.accept(v.to_string())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            self.accept(v.to_string())
        }
    }
    d.deserialize_any(ScalarVisitor(check))
}

fn default_stack_name() -> String {
    DEFAULT_STACK_NAME.to_owned()
}
fn default_role_name() -> String {
    DEFAULT_ROLE_NAME.to_owned()
}
fn default_conformity_account() -> AccountId {
    AccountId(CONFORMITY_ACCOUNT_ID.to_owned())
}
fn default_concurrency() -> Concurrency {
    Concurrency(DEFAULT_CONCURRENCY)
}

// ---------------------------------------------------------------------------------------
// The `rules` section: `<id>: <mode>` or `<id>: {mode: …, settings: {…}}`, with `*` for
// every other catalog rule. Settings are checked against the rule's declared settings while
// the node is read, so an unknown setting names its own line.

#[derive(Debug, Clone, Default)]
pub(crate) struct Rules(pub(crate) BTreeMap<String, RuleConfig>);

impl<'de> Deserialize<'de> for Rules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RulesVisitor;
        impl<'de> Visitor<'de> for RulesVisitor {
            type Value = Rules;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of rule ids (or \"*\") to a mode or {mode, settings}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Rules, A::Error> {
                let mut rules = BTreeMap::new();
                while let Some(RuleKey(key, spec)) = map.next_key::<RuleKey>()? {
                    let value = map.next_value_seed(RuleConfigSeed { spec })?;
                    if rules.insert(key.clone(), value).is_some() {
                        return Err(de::Error::custom(format!("rule `{key}` is listed twice")));
                    }
                }
                Ok(Rules(rules))
            }
        }
        d.deserialize_map(RulesVisitor)
    }
}

/// A key of `rules`: `*` (spec `None`) or a catalog rule id.
struct RuleKey(String, Option<&'static RuleSpec>);

impl<'de> Deserialize<'de> for RuleKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = checked_scalar(d, |id| {
            if id == "*" || find_rule(id).is_some() {
                Ok(())
            } else {
                let near = crate::core::util::closest(
                    id,
                    remedy_functions::catalog().map(|r| (r.id, format!("`{}`", r.id))),
                    2,
                );
                let hint = match near.as_slice() {
                    [] => String::new(),
                    near => format!("did you mean {}? ", near.join(" or ")),
                };
                Err(format!(
                    "unknown rule id `{id}` ({hint}run `remedy rules` for the catalog)"
                ))
            }
        })?;
        let spec = find_rule(&id);
        Ok(RuleKey(id, spec))
    }
}

struct RuleConfigSeed {
    spec: Option<&'static RuleSpec>,
}

impl<'de> DeserializeSeed<'de> for RuleConfigSeed {
    type Value = RuleConfig;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RuleConfig, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RuleConfigSeed {
    type Value = RuleConfig;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a mode (remediate, dry-run, notify) or {mode: …, settings: {…}, grace: …, max_per_hour: …, max_failures_per_hour: …}",
        )
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RuleConfig, E> {
        Ok(RuleConfig {
            mode: v.parse().map_err(E::custom)?,
            settings: BTreeMap::new(),
            grace: None,
            max_per_hour: None,
            max_failures_per_hour: None,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RuleConfig, A::Error> {
        let mut mode = None;
        let mut settings = None;
        let mut grace = None;
        let (mut max_per_hour, mut max_failures_per_hour) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "mode" => mode = Some(map.next_value::<ModeValue>()?.0),
                "settings" => {
                    settings = Some(map.next_value_seed(SettingsSeed { spec: self.spec })?);
                }
                "grace" => grace = Some(map.next_value::<GraceValue>()?.0),
                "max_per_hour" => {
                    max_per_hour = Some(map.next_value_seed(LimitSeed("max_per_hour"))?);
                }
                "max_failures_per_hour" => {
                    max_failures_per_hour =
                        Some(map.next_value_seed(LimitSeed("max_failures_per_hour"))?);
                }
                other => {
                    return Err(de::Error::unknown_field(
                        other,
                        &[
                            "mode",
                            "settings",
                            "grace",
                            "max_per_hour",
                            "max_failures_per_hour",
                        ],
                    ));
                }
            }
        }
        Ok(RuleConfig {
            mode: mode.ok_or_else(|| de::Error::missing_field("mode"))?,
            settings: settings.unwrap_or_default(),
            grace,
            max_per_hour,
            max_failures_per_hour,
        })
    }
}

/// A rule's `max_per_hour` or `max_failures_per_hour` (the key it is read under): a whole
/// number within 1 ..= [`remedy_functions::limits::MAX_LIMIT`], checked while its own node
/// is read. `0` is refused rather than read as "never" or "no limit": a rule that must not
/// fix is `notify`, and an unlimited rule is what the limit exists to prevent.
struct LimitSeed(&'static str);

fn limit_value(key: &str, text: &str) -> Result<u32, String> {
    use remedy_functions::limits::MAX_LIMIT;
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            format!(
                "{key}: `{text}` is not a whole number from 1 to {MAX_LIMIT} (a rule that must not fix is `notify`)"
            )
        })
}

impl<'de> DeserializeSeed<'de> for LimitSeed {
    type Value = u32;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        let key = self.0;
        let text = checked_scalar(d, |s| limit_value(key, s).map(drop))?;
        limit_value(key, &text).map_err(de::Error::custom)
    }
}

/// The longest `grace`: SQS delays a message by at most 15 minutes.
pub(crate) const MAX_GRACE_SECONDS: u32 = 900;

/// A rule's `grace` (`10m`, `90s`, `600`; `0`: none), checked while its own node is read.
struct GraceValue(u32);

fn grace_seconds(text: &str) -> Result<u32, String> {
    let duration = crate::core::util::parse_duration(text).map_err(|e| format!("grace: {e}"))?;
    u32::try_from(duration.as_secs())
        .ok()
        .filter(|s| *s <= MAX_GRACE_SECONDS)
        .ok_or_else(|| {
            format!("grace: `{text}` is longer than 15m (SQS delays a message by at most 900 s)")
        })
}

impl<'de> Deserialize<'de> for GraceValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = checked_scalar(d, |s| grace_seconds(s).map(drop))?;
        grace_seconds(&text)
            .map(GraceValue)
            .map_err(de::Error::custom)
    }
}

/// A mode checked while its own node is read, so the error points at it.
struct ModeValue(Mode);

impl<'de> Deserialize<'de> for ModeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = checked_scalar(d, |s| s.parse::<Mode>().map(drop))?;
        text.parse().map(ModeValue).map_err(de::Error::custom)
    }
}

struct SettingsSeed {
    spec: Option<&'static RuleSpec>,
}

impl<'de> DeserializeSeed<'de> for SettingsSeed {
    type Value = BTreeMap<String, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SettingsSeed {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of setting names to values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(spec) = self.spec else {
            return Err(de::Error::custom(
                "`*` takes a mode only; give settings under the rule's own id",
            ));
        };
        let mut out = BTreeMap::new();
        while let Some(SettingKey(name)) = map.next_key_seed(SettingKeySeed { spec })? {
            let value = map.next_value_seed(ScalarSeed)?;
            out.insert(name, value);
        }
        Ok(out)
    }
}

struct SettingKey(String);
struct SettingKeySeed {
    spec: &'static RuleSpec,
}

impl<'de> DeserializeSeed<'de> for SettingKeySeed {
    type Value = SettingKey;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<SettingKey, D::Error> {
        let spec = self.spec;
        let name = checked_scalar(d, |name| {
            if spec.setting(name).is_some() {
                return Ok(());
            }
            let known: Vec<&str> = spec.settings.iter().map(|s| s.name).collect();
            let known = if known.is_empty() {
                "it takes none".to_owned()
            } else {
                format!("it takes {}", known.join(", "))
            };
            Err(format!(
                "rule {} has no setting `{name}` ({known})",
                spec.id
            ))
        })?;
        Ok(SettingKey(name))
    }
}

struct ScalarSeed;
impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        scalar_string(d)
    }
}

// ---------------------------------------------------------------------------------------
// The file as a whole.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_stack_name")]
    stack_name: String,
    #[serde(default)]
    package: Option<PathBuf>,
    #[serde(default)]
    home_region: Option<Region>,
    #[serde(default)]
    regions: Vec<Region>,
    #[serde(default)]
    extra_regions: Vec<Region>,
    #[serde(
        default,
        rename = "region_order",
        deserialize_with = "TopRegionOrderGone::refuse"
    )]
    _region_order: Option<TopRegionOrderGone>,
    #[serde(default)]
    encryption: Encryption,
    #[serde(default)]
    role: RoleConfig,
    #[serde(default)]
    conformity: ConformityConfig,
    stages: Stages,
    #[serde(default)]
    rules: Option<Rules>,
    #[serde(default)]
    notifications: Notifications,
    #[serde(default)]
    exceptions: Vec<ExceptionEntry>,
    #[serde(default)]
    engine: Engine,
    #[serde(default)]
    codebuild: CodeBuildConfig,
    #[serde(default)]
    stacksets: StackSetsConfig,
}

#[derive(Deserialize)]
#[serde(try_from = "Vec<Stage>")]
struct Stages(Vec<Stage>);

impl TryFrom<Vec<Stage>> for Stages {
    type Error = String;
    fn try_from(stages: Vec<Stage>) -> Result<Self, String> {
        if stages.is_empty() {
            return Err("`stages` is empty: list at least one stage with its targets".into());
        }
        Ok(Stages(stages))
    }
}

/// serde's "unknown field `concurency`, expected one of `name`, …", with the closest
/// expected key named: "(did you mean `concurrency`?)".
fn with_key_hint(message: String) -> String {
    let Some((before, expected)) = message.split_once(", expected one of ") else {
        return message;
    };
    let Some(unknown) = before
        .rsplit_once("unknown field `")
        .and_then(|(_, rest)| rest.strip_suffix('`'))
    else {
        return message;
    };
    let keys: Vec<&str> = expected.split(", ").map(|k| k.trim_matches('`')).collect();
    let near = crate::core::util::closest(unknown, keys.iter().map(|k| (*k, format!("`{k}`"))), 3);
    match near.first() {
        Some(key) => format!("{message} (did you mean {key}?)"),
        None => message,
    }
}

// ---------------------------------------------------------------------------------------
// Indentation. YAML reads a key indented one space too few or too many as something else (a
// sibling, a continuation of the value above, a syntax error lines later), so the parser's
// error names a missing field of the stage or a later line. Before reporting it, the file's
// indentation is read on its own: a key between two levels, or under a key that already has
// a value, or level with an empty key whose value it was meant to be.

/// A key at the wrong indentation, and what its neighbours say it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Misindented {
    /// 1-based line of the key.
    line: usize,
    key: String,
    indent: usize,
    /// Why: the neighbour it should line up with, or be under.
    neighbour: Neighbour,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Neighbour {
    /// Its siblings (the keys of the mapping it belongs to) are at `indent`.
    Siblings {
        key: String,
        line: usize,
        indent: usize,
    },
    /// It is level with `key:`, which has no value: meant to be under it.
    Under {
        key: String,
        line: usize,
        indent: usize,
    },
}

impl Misindented {
    /// `entry`, which should line up with `sibling`.
    fn among(entry: &Entry, sibling: &Entry) -> Misindented {
        Misindented {
            line: entry.line,
            key: entry.key.clone(),
            indent: entry.indent,
            neighbour: Neighbour::Siblings {
                key: sibling.key.clone(),
                line: sibling.line,
                indent: sibling.indent,
            },
        }
    }

    fn explain(&self) -> String {
        let (key, indent) = (&self.key, self.indent);
        match &self.neighbour {
            Neighbour::Siblings { key: other, line, indent: theirs } => format!(
                "`{key}` is indented {indent} spaces, its siblings at {theirs} (`{other}`, line {line}): align it with them"
            ),
            Neighbour::Under { key: parent, line, indent: theirs } => format!(
                "`{key}` is indented {indent} spaces, level with `{parent}` (line {line}, at {theirs}), which is left empty: to be one of `{parent}`'s keys it is indented more than {theirs}"
            ),
        }
    }
}

/// One line of the file as indentation sees it.
struct Entry {
    line: usize,
    /// Column (0-based) of the key, or of the `-` of a sequence item.
    indent: usize,
    key: String,
    /// `key:` with nothing after it: a block follows (or nothing: an empty value).
    opens: bool,
}

/// The mis-indented key that explains a parse error, if the file has one: the first key
/// between two levels or under a key with a value; else, when the error names keys
/// (`missing field `targets``, "list `ous` or `accounts`"), one of them level with an
/// empty key just above it.
fn misindented(source: &str, message: &str) -> Option<Misindented> {
    let entries = entries(source);
    let mut levels: Vec<&Entry> = Vec::new();
    for entry in &entries {
        let mut popped: Option<&Entry> = None;
        while levels.last().is_some_and(|top| top.indent > entry.indent) {
            popped = levels.pop();
        }
        let is_item = entry.key == "-";
        match levels.last() {
            // A key at the column of a sequence's dashes: the sibling of the key the
            // sequence belongs to (`stages:` then `- name:` at its column), else misplaced.
            Some(top) if top.indent == entry.indent && top.key == "-" && !is_item => {
                let below = levels.len().checked_sub(2).and_then(|i| levels.get(i));
                match (below, popped) {
                    (Some(key), _) if key.indent == entry.indent => {
                        levels.truncate(levels.len() - 2);
                    }
                    (_, Some(sibling)) => {
                        return Some(Misindented::among(entry, sibling));
                    }
                    _ => {
                        levels.pop();
                    }
                }
            }
            // The first item of a sequence at its key's column: the key stays open.
            Some(top) if top.indent == entry.indent && is_item && top.key != "-" && top.opens => {}
            Some(top) if top.indent == entry.indent => {
                levels.pop();
            }
            Some(top) if !top.opens || popped.is_some() => {
                // Deeper than a key with a value, or between two levels.
                let sibling = popped.unwrap_or(top);
                return Some(Misindented::among(entry, sibling));
            }
            _ => {}
        }
        levels.push(entry);
    }
    // Keys the error names, level with an empty key right above them.
    let named: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    entries.windows(2).find_map(|pair| {
        let (empty, key) = (&pair[0], &pair[1]);
        (empty.opens
            && key.indent == empty.indent
            && key.key != "-"
            && named.contains(&key.key.as_str()))
        .then(|| Misindented {
            line: key.line,
            key: key.key.clone(),
            indent: key.indent,
            neighbour: Neighbour::Under {
                key: empty.key.clone(),
                line: empty.line,
                indent: empty.indent,
            },
        })
    })
}

/// The file's keys and sequence items with their indentation, skipping comments, blank
/// lines, the inside of flow collections (`{…}`, `[…]` over several lines) and block
/// scalars (`|`, `>`).
fn entries(source: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut block_scalar: Option<usize> = None;
    for (i, raw) in source.lines().enumerate() {
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let text = strip_comment(raw[indent..].trim_end());
        if text.is_empty() || text == "---" || text == "..." {
            continue;
        }
        if let Some(parent) = block_scalar {
            if indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let inside_flow = depth > 0;
        depth = flow_depth(text, depth);
        if inside_flow {
            continue;
        }
        let (indent, text) = match text.strip_prefix('-') {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
                // An item holds what follows it, on its line or below.
                out.push(Entry {
                    line: i + 1,
                    indent,
                    key: "-".into(),
                    opens: true,
                });
                let item = rest.trim_start();
                (indent + 1 + (rest.len() - item.len()), item)
            }
            _ => (indent, text),
        };
        if let Some((key, value)) = split_key(text) {
            let value = value.trim();
            if value.starts_with('|') || value.starts_with('>') {
                block_scalar = Some(indent);
            }
            out.push(Entry {
                line: i + 1,
                indent,
                key: key.trim_matches(['"', '\'']).to_owned(),
                opens: value.is_empty(),
            });
        }
    }
    out
}

/// `key: value` → (`key`, `value`) when `text` starts with a plain or quoted key.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let end = match text.chars().next()? {
        quote @ ('"' | '\'') => text[1..].find(quote)? + 2,
        '{' | '[' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`' => return None,
        _ => text
            .find(": ")
            .or_else(|| text.ends_with(':').then(|| text.len() - 1))?,
    };
    let rest = text[end..].strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with(' ')).then(|| (&text[..end], rest))
}

/// `text` without a trailing ` # comment` (a `#` in quotes is kept).
fn strip_comment(text: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if previous.is_whitespace() => return text[..i].trim_end(),
            _ => {}
        }
        previous = c;
    }
    text
}

/// The flow-collection depth after `text`, from `depth` before it.
fn flow_depth(text: &str, mut depth: usize) -> usize {
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// The parser's message without its " at line L column C" positions (the error has its own).
fn without_positions(message: &str) -> String {
    let mut out = message.to_owned();
    while let Some(start) = out.find(" at line ") {
        let rest = &out[start + " at line ".len()..];
        let end = rest
            .find(" column ")
            .map(|c| {
                let after = &rest[c + " column ".len()..];
                c + " column ".len()
                    + after
                        .find(|ch: char| !ch.is_ascii_digit())
                        .unwrap_or(after.len())
            })
            .unwrap_or(0);
        out.replace_range(start..start + " at line ".len() + end, "");
    }
    out
}

/// A configuration error: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub(crate) file: PathBuf,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
    pub(crate) message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Input(e.to_string())
    }
}

impl Config {
    /// Reads and validates the file at `path`.
    pub(crate) fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: None,
            column: None,
            message: if e.kind() == std::io::ErrorKind::NotFound {
                "no such file (write a remedy.yaml, or point --config at one)".to_owned()
            } else {
                format!("cannot read: {e}")
            },
        })?;
        Config::parse(path, source)
    }

    /// Validates `source` as the contents of `path`.
    pub fn parse(path: &Path, source: String) -> Result<Config, ConfigError> {
        let at = |line: Option<usize>, column: Option<usize>, message: String| ConfigError {
            file: path.to_owned(),
            line,
            column,
            message,
        };
        let raw: RawConfig = serde_yaml::from_str(&source).map_err(|e| {
            let location = e.location();
            // serde_norway appends " at line L column C"; we put the position up front.
            let text = e.to_string();
            let message = match text.rfind(" at line ") {
                Some(i) if location.is_some() => text[..i].to_owned(),
                _ => text,
            };
            let message = with_key_hint(message);
            // A key at the wrong indentation shows up as a missing field, an empty stage or
            // a YAML syntax error elsewhere: name the key's own line instead.
            if let Some(wrong) = misindented(&source, &message) {
                return at(
                    Some(wrong.line),
                    Some(wrong.indent + 1),
                    format!(
                        "{} (read as: {})",
                        wrong.explain(),
                        without_positions(&message)
                    ),
                );
            }
            at(
                location.as_ref().map(|l| l.line()),
                location.as_ref().map(|l| l.column()),
                message,
            )
        })?;

        let mut config = Config {
            path: path.to_owned(),
            source,
            stack_name: raw.stack_name,
            package: raw.package.map(|p| match path.parent() {
                Some(dir) if p.is_relative() => dir.join(p),
                _ => p,
            }),
            home_region: raw.home_region.map(|r| r.0),
            regions: raw.regions.into_iter().map(|r| r.0).collect(),
            extra_regions: raw.extra_regions.into_iter().map(|r| r.0).collect(),
            encryption: raw.encryption,
            role: raw.role,
            conformity: raw.conformity,
            stages: raw.stages.0,
            rules: raw.rules.map(|r| r.0).unwrap_or_default(),
            notifications: raw.notifications,
            exceptions: raw.exceptions,
            engine: raw.engine,
            codebuild: raw.codebuild,
            stacksets: raw.stacksets,
        };
        config.check_cross_node()?;
        config.stages.shrink_to_fit();
        Ok(config)
    }

    /// Checks that span several nodes: they locate their line in the source.
    fn check_cross_node(&self) -> Result<(), ConfigError> {
        self.check_regions()?;
        self.check_exceptions()?;
        let mut seen = std::collections::HashSet::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if !seen.insert(stage.name.as_str()) {
                return Err(self.error_at(
                    stage.name.as_str(),
                    2,
                    format!("stages[{i}].name: duplicate stage name `{}`", stage.name),
                ));
            }
        }
        // Topic names become CloudFormation logical ids (letters and digits only): `sec-ops`
        // and `sec_ops` would be one resource.
        let mut topics: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
        for (i, topic) in self.notifications.topics.iter().enumerate() {
            let name = topic.name.as_str();
            let key: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
            if let Some(first) = topics.insert(key, name) {
                let (nth, message) = if first == name {
                    (
                        2,
                        format!("notifications.topics[{i}].name: duplicate topic `{name}`"),
                    )
                } else {
                    (
                        1,
                        format!(
                            "notifications.topics[{i}].name: `{name}` and `{first}` differ only in `-` or `_`; topic names must differ in their letters or digits"
                        ),
                    )
                };
                return Err(self.error_at(name, nth, message));
            }
        }
        if !is_stack_name(&self.stack_name) {
            return Err(self.error_at(
                &self.stack_name,
                1,
                format!(
                    "stack_name: `{}` is not a CloudFormation stack name (letters, digits, `-`; starts with a letter; at most 128)",
                    self.stack_name
                ),
            ));
        }
        let topics: Vec<&str> = self
            .notifications
            .topics
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        if let Some(problem) = name_too_long(&derived_names(&self.stack_name, &topics, true)) {
            return Err(self.error_at(
                &self.stack_name,
                1,
                format!("stack_name: `{}` {problem}", self.stack_name),
            ));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            if self.stage_engine(stage) != Engine::Stacksets {
                continue;
            }
            let instance = stack_set_instance_name(&self.stack_name, stage.name.as_str());
            if let Some(problem) = name_too_long(&derived_names(&instance, &topics, false)) {
                return Err(self.error_at(
                    stage.name.as_str(),
                    1,
                    format!(
                        "stages[{i}] (`{}`): engine `stacksets` names each account's stack `StackSet-<stack_name>-<stage>-<36-character id>`, and then {problem}: shorten stack_name or the stage name",
                        stage.name
                    ),
                ));
            }
            let targets = &stage.targets;
            let problem = if targets.ous.is_empty() {
                Some(
                    "engine `stacksets` deploys to OUs: list the stage's accounts by their OUs"
                        .into(),
                )
            } else if targets.ous.len() > MAX_OUS_PER_OPERATION {
                Some(too_many_ous(targets.ous.len()))
            } else if !targets.accounts.is_empty() && !targets.exclude.is_empty() {
                Some("engine `stacksets` takes `accounts` or `exclude` in a stage, not both (StackSets allows one account filter per operation)".into())
            } else if !is_stack_name(&format!("{}-{}", self.stack_name, stage.name)) {
                Some("engine `stacksets` names the StackSet `<stack_name>-<stage>`: the stage name must be letters, digits and `-`".into())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(self.error_at(
                    stage.name.as_str(),
                    1,
                    format!("stages[{i}] (`{}`): {problem}", stage.name),
                ));
            }
        }
        let is_role_name = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
        };
        if !is_role_name(&self.role.name) {
            return Err(self.error_at(
                &self.role.name,
                1,
                format!("role.name: `{}` is not an IAM role name", self.role.name),
            ));
        }
        if let Some(name) = self
            .role
            .execution_role
            .as_deref()
            .filter(|n| !is_role_name(n))
        {
            return Err(self.error_at(
                name,
                1,
                format!("role.execution_role: `{name}` is not an IAM role name"),
            ));
        }
        Ok(())
    }

    /// An error at the `nth` line (1-based) on which `needle` stands as a YAML scalar.
    pub(crate) fn error_at(&self, needle: &str, nth: usize, message: String) -> ConfigError {
        ConfigError {
            file: self.path.clone(),
            line: self.locate(needle, nth),
            column: None,
            message,
        }
    }

    /// An error about `needle` in stage `stage`: at its first occurrence from the stage's
    /// `name` on (the same account or OU may be named by several stages), else at its first
    /// occurrence in the file.
    pub(crate) fn error_in_stage(&self, stage: &str, needle: &str, message: String) -> ConfigError {
        let from = self
            .source
            .lines()
            .position(|l| {
                let l = l.trim_start().trim_start_matches("- ").trim_start();
                l.strip_prefix("name:")
                    .map(|v| v.trim().trim_matches(['"', '\'']) == stage)
                    .unwrap_or(false)
            })
            .map_or(1, |i| i + 1);
        let line = (1..)
            .map_while(|n| self.locate(needle, n))
            .find(|line| *line >= from)
            .or_else(|| self.locate(needle, 1));
        ConfigError {
            file: self.path.clone(),
            line,
            column: None,
            message,
        }
    }

    /// `exceptions:` over the whole file: ids are unique, and what one stack could carry
    /// (every exception, at worst) fits in the orchestrator's environment.
    fn check_exceptions(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for (i, exception) in self.exceptions.iter().enumerate() {
            let id = exception.id.as_str();
            if !seen.insert(id) {
                return Err(self.error_at(
                    id,
                    2,
                    format!("exceptions[{i}].id: duplicate exception id `{id}`"),
                ));
            }
            if let Some(problem) = exception.tags_problem() {
                return Err(self.error_at(id, 1, format!("exceptions[{i}].tags: {problem}")));
            }
        }
        let all: Vec<remedy_functions::exceptions::Exception> = self
            .exceptions
            .iter()
            .map(|e| e.carried(Vec::new()))
            .collect();
        let bytes = serde_json::to_string(&all).map(|t| t.len()).unwrap_or(0);
        if bytes > MAX_EXCEPTIONS_BYTES {
            return Err(ConfigError {
                file: self.path.clone(),
                line: self
                    .source
                    .lines()
                    .position(|l| l.starts_with("exceptions:"))
                    .map(|i| i + 1),
                column: None,
                message: format!(
                    "exceptions: {bytes} bytes once written for a stack, more than the {MAX_EXCEPTIONS_BYTES} remedy keeps for them in the orchestrator's environment (Lambda allows 4 KB in all): use resource globs to cover several resources in one exception, or fewer, broader exceptions"
                ),
            });
        }
        Ok(())
    }

    /// Each exception's `expires` against `today` (days since 1970-01-01, UTC): not passed
    /// (an expired exception is removed or renewed, never left to look in force) and at
    /// most [`MAX_EXCEPTION_DAYS`] ahead. Every command that deploys or runs checks it;
    /// `remedy exceptions` lists expired ones instead.
    pub(crate) fn check_exception_dates(&self, today: i64) -> Result<(), ConfigError> {
        use remedy_functions::exceptions::{date_of, parse_date};
        for (i, exception) in self.exceptions.iter().enumerate() {
            let text = exception.expires.as_str();
            let Some(last) = parse_date(text) else {
                continue;
            };
            let problem = if last < today {
                format!(
                    "exceptions[{i}].expires: exception `{}` expired on {text} (today is {}): remove it, or renew it with its owner ({}) and a new date",
                    exception.id,
                    date_of(today),
                    exception.owner
                )
            } else if last > today + MAX_EXCEPTION_DAYS {
                format!(
                    "exceptions[{i}].expires: {text} is more than a year ahead (at most {}): an exception is reviewed at least yearly",
                    date_of(today + MAX_EXCEPTION_DAYS)
                )
            } else {
                continue;
            };
            // The same date may be written by several exceptions: this one's occurrence.
            let nth = self.exceptions[..i]
                .iter()
                .filter(|e| e.expires == exception.expires)
                .count()
                + 1;
            let location = self.locate_at(text, nth);
            return Err(ConfigError {
                file: self.path.clone(),
                line: location.map(|(line, _)| line),
                column: location.map(|(_, column)| column),
                message: problem,
            });
        }
        Ok(())
    }

    /// The 1-based line of the `nth` occurrence of `needle` as a whole scalar (bare or
    /// quoted), if any.
    pub(crate) fn locate(&self, needle: &str, nth: usize) -> Option<usize> {
        self.locate_at(needle, nth).map(|(line, _)| line)
    }

    /// The 1-based line and column of the `nth` occurrence of `needle` as a whole scalar
    /// (bare or quoted; a comment's words are not one), if any.
    pub(crate) fn locate_at(&self, needle: &str, nth: usize) -> Option<(usize, usize)> {
        let is_boundary =
            |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || "\"'[],:{}#".contains(c));
        self.source
            .lines()
            .enumerate()
            .flat_map(|(i, line)| {
                let code = match line.find(" #") {
                    _ if line.trim_start().starts_with('#') => "",
                    Some(comment) => &line[..comment],
                    None => line,
                };
                code.match_indices(needle)
                    .filter(|(at, _)| {
                        is_boundary(code[..*at].chars().next_back())
                            && is_boundary(code[at + needle.len()..].chars().next())
                    })
                    .map(|(at, _)| (i + 1, code[..at].chars().count() + 1))
                    .collect::<Vec<_>>()
            })
            .nth(nth.saturating_sub(1))
    }

    /// Every region the file names is one AWS has (shipped, or in `extra_regions`), and a
    /// stage's home and covered regions are in one partition, every stage's in the same
    /// one: the security account's credentials reach one partition. At the region's line,
    /// with its key path.
    fn check_regions(&self) -> Result<(), ConfigError> {
        use crate::core::region;
        let at = |region: &str, key: String, message: String| {
            let location = self.locate_at(region, 1);
            ConfigError {
                file: self.path.clone(),
                line: location.map(|(line, _)| line),
                column: location.map(|(_, column)| column),
                message: format!("{key}: {message}"),
            }
        };
        // Every region named, with its key path.
        let mut named: Vec<(String, &str)> = Vec::new();
        if let Some(home) = &self.home_region {
            named.push(("home_region".into(), home));
        }
        named.extend(
            self.regions
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("regions[{i}]"), r.as_str())),
        );
        for (i, stage) in self.stages.iter().enumerate() {
            if let Some(home) = &stage.home_region {
                named.push((format!("stages[{i}].home_region"), home.as_str()));
            }
            for (j, r) in stage.regions.iter().flatten().enumerate() {
                named.push((format!("stages[{i}].regions[{j}]"), r.as_str()));
            }
        }
        for (i, exception) in self.exceptions.iter().enumerate() {
            for (j, r) in exception.regions.iter().enumerate() {
                named.push((format!("exceptions[{i}].regions[{j}]"), r.as_str()));
            }
        }
        for (key, name) in &named {
            if !region::is_known(name, &self.extra_regions) {
                let hint = match region::closest(name, &self.extra_regions) {
                    Some(near) => format!(" (did you mean {near}?)"),
                    None => String::new(),
                };
                return Err(at(
                    name,
                    key.clone(),
                    format!("unknown region `{name}`{hint}; a region AWS opened after this release of remedy: list it in `extra_regions`"),
                ));
            }
        }
        // One partition: each stage's home region's, and the first stage's for them all.
        let mut first: Option<(String, &str)> = None;
        for (i, stage) in self.stages.iter().enumerate() {
            let Some(placement) = self.placement(stage, None) else {
                continue;
            };
            let home = region::partition_of(&placement.home);
            let (first_stage, first_partition) = first
                .get_or_insert_with(|| (stage.name.to_string(), home))
                .clone();
            if home != first_partition {
                return Err(at(
                    &placement.home,
                    format!("stages[{i}]"),
                    format!(
                        "the home region {} is in partition {home}, stage `{first_stage}`'s in {first_partition}: one run's credentials reach one partition; run remedy once per partition, with a configuration each",
                        placement.home
                    ),
                ));
            }
            if let Some(other) = placement
                .covered
                .iter()
                .find(|r| region::partition_of(r) != home)
            {
                return Err(at(
                    other,
                    format!("stages[{i}]"),
                    format!(
                        "region `{other}` is in partition {}, the stage's home region {} in {home}: a stack remediates the regions of its own partition only",
                        region::partition_of(other),
                        placement.home
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The file's text, as read (published for the `codebuild` engine's builds).
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The stage called `name`, or an input error listing the stages there are.
    pub(crate) fn stage(&self, name: &str) -> Result<&Stage, Error> {
        self.stages
            .iter()
            .find(|s| s.name.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.stages.iter().map(|s| s.name.as_str()).collect();
                let near = crate::core::util::closest(
                    name,
                    names.iter().map(|n| (*n, format!("`{n}`"))),
                    2,
                );
                let hint = match near.as_slice() {
                    [] => String::new(),
                    near => format!("did you mean {}? ", near.join(" or ")),
                };
                Error::Input(format!(
                    "{}: no stage `{name}` ({hint}stages: {})",
                    self.path.display(),
                    names.join(", ")
                ))
            })
    }

    /// Where a stage's stacks live and what they cover: `home_region` (the stage's, else the
    /// top level's, else the first of the stage's regions, else `environment`, the AWS
    /// environment's region) and `regions` (the stage's, else the top level's, else the home
    /// region alone), each once in the order written. `None` when no region is named anywhere.
    pub(crate) fn placement(&self, stage: &Stage, environment: Option<&str>) -> Option<Placement> {
        let listed: Vec<String> = match &stage.regions {
            Some(regions) => regions.iter().map(|r| r.0.clone()).collect(),
            None => self.regions.clone(),
        };
        let home = stage
            .home_region
            .as_ref()
            .map(|r| r.0.clone())
            .or_else(|| self.home_region.clone())
            .or_else(|| listed.first().cloned())
            .or_else(|| environment.map(str::to_owned))?;
        let mut seen = std::collections::HashSet::new();
        let mut covered: Vec<String> = listed
            .into_iter()
            .filter(|r| seen.insert(r.clone()))
            .collect();
        if covered.is_empty() {
            covered.push(home.clone());
        }
        Some(Placement { home, covered })
    }

    /// A region the file names, for the AWS calls made before any stage is chosen
    /// (Organizations, the security account's identity).
    pub(crate) fn any_region(&self) -> Option<&str> {
        self.home_region
            .as_deref()
            .or(self.regions.first().map(String::as_str))
            .or_else(|| {
                self.stages.iter().find_map(|s| {
                    s.home_region
                        .as_ref()
                        .map(Region::as_str)
                        .or_else(|| s.regions.as_ref()?.first().map(Region::as_str))
                })
            })
    }

    /// The engine a stage deploys with.
    pub(crate) fn stage_engine(&self, stage: &Stage) -> Engine {
        stage.engine.unwrap_or(self.engine)
    }

    /// Where a deployed rule's mode comes from, in `stage` (none: the top level alone): the
    /// stage's own key, the stage's `"*"`, the top-level key or the top-level `"*"`.
    pub(crate) fn mode_source(&self, stage: Option<&Stage>, rule_id: &str) -> String {
        let overlay = stage.and_then(|s| s.rules.as_ref().map(|r| (s, r)));
        match overlay {
            Some((s, r)) if r.0.contains_key(rule_id) => {
                format!("stages.{}.rules.{rule_id}", s.name)
            }
            Some((s, r)) if r.0.contains_key("*") => format!("stages.{}.rules.\"*\"", s.name),
            _ if self.rules.contains_key(rule_id) => format!("rules.{rule_id}"),
            _ => "rules.\"*\"".into(),
        }
    }

    /// The catalog rules `stage`'s stacks deploy (none: the top level alone), in catalog
    /// order. A rule's mode: the stage's entry for it, else the stage's `"*"`, else the
    /// top-level entry, else the top-level `"*"`; a rule none of them names is not deployed.
    /// Its settings: the declared defaults, then the top level's, then the stage's. Its
    /// `grace`, `max_per_hour` and `max_failures_per_hour`: each from the first of those
    /// layers (stage first) that gives one.
    pub(crate) fn stage_rules(&self, stage: Option<&Stage>) -> Vec<EnabledRule> {
        let empty = BTreeMap::new();
        let overlay = stage
            .and_then(|s| s.rules.as_ref())
            .map(|r| &r.0)
            .unwrap_or(&empty);
        remedy_functions::catalog()
            .filter_map(|spec| {
                let top = self.rules.get(spec.id).or(self.rules.get("*"));
                let own = overlay.get(spec.id).or(overlay.get("*"));
                let mode = own.or(top)?.mode;
                let mut settings: BTreeMap<String, String> = spec
                    .settings
                    .iter()
                    .filter_map(|s| Some((s.name.to_owned(), s.default?.to_owned())))
                    .collect();
                for layer in [top, own].into_iter().flatten() {
                    settings.extend(layer.settings.clone());
                }
                let layers = || [own, top].into_iter().flatten();
                let grace = layers().find_map(|layer| layer.grace).unwrap_or(0);
                let defaults = remedy_functions::limits::Limit::default();
                let limit = remedy_functions::limits::Limit {
                    max_per_hour: layers()
                        .find_map(|layer| layer.max_per_hour)
                        .unwrap_or(defaults.max_per_hour),
                    max_failures_per_hour: layers()
                        .find_map(|layer| layer.max_failures_per_hour)
                        .unwrap_or(defaults.max_failures_per_hour),
                };
                Some(EnabledRule {
                    spec,
                    mode,
                    settings,
                    grace,
                    limit,
                })
            })
            .collect()
    }
}

/// One name the member stack derives from its CloudFormation stack name, and AWS's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DerivedName {
    pub(crate) what: &'static str,
    pub(crate) name: String,
    pub(crate) limit: usize,
}

/// Length of the random suffix CloudFormation appends to a name it generates
/// (`<stack>-<logical id>-<12 characters>`).
const GENERATED_SUFFIX: usize = 12;

/// Every name `stacks/remediation.yaml` (as rendered) derives from the stack's name `stack`,
/// with the limit AWS puts on it: the queues (SQS: 80), the topics (SNS: 256), the key's
/// alias (KMS: 256, `alias/` included), the rate limits' table (DynamoDB: 255, never the
/// tightest: a stack name is at most 128 characters of `[A-Za-z0-9-]`, all a table name
/// allows). With `generated_roles`, also the roles CloudFormation names
/// `<stack>-<logical id>-<12 characters>` (IAM: 64): the bootstrap's execution role may
/// manage `role/<stack_name>-*` only, so those names must not be shortened by CloudFormation.
/// (StackSets deploy with their own execution role: there the roles' names may be cut.)
pub(crate) fn derived_names(
    stack: &str,
    topics: &[&str],
    generated_roles: bool,
) -> Vec<DerivedName> {
    let name = |what, name: String, limit| DerivedName { what, name, limit };
    let mut names = vec![
        name("SQS queue", format!("{stack}-findings"), 80),
        name("SQS queue", format!("{stack}-findings-dlq"), 80),
        name("SQS queue", format!("{stack}-delivery-dlq"), 80),
        name("SNS topic", format!("{stack}-findings"), 256),
        name("KMS alias", format!("alias/{stack}-findings"), 256),
        name("DynamoDB table", format!("{stack}-counters"), 255),
    ];
    for topic in topics {
        names.push(name("SNS topic", format!("{stack}-notify-{topic}"), 256));
    }
    if generated_roles {
        // The longest role logical id: the orchestrator's, or `Rule<id without ->Role`.
        let longest_rule = remedy_functions::catalog()
            .map(|r| format!("Rule{}Role", r.id.replace('-', "")))
            .max_by_key(String::len)
            .unwrap_or_default();
        let role = ["OrchestratorRole".to_owned(), longest_rule]
            .into_iter()
            .max_by_key(String::len)
            .unwrap_or_default();
        let suffix = "X".repeat(GENERATED_SUFFIX);
        names.push(name("IAM role", format!("{stack}-{role}-{suffix}"), 64));
    }
    names
}

/// The first derived name over its limit, said as an error's tail.
fn name_too_long(names: &[DerivedName]) -> Option<String> {
    names.iter().find(|n| n.name.len() > n.limit).map(|n| {
        format!(
            "makes the {} name `{}` {} characters long; AWS allows {}",
            n.what,
            n.name,
            n.name.len(),
            n.limit
        )
    })
}

/// The name StackSets gives a stack instance of the StackSet `<stack_name>-<stage>`, with the
/// longest id it appends (a UUID: 36 characters).
fn stack_set_instance_name(stack_name: &str, stage: &str) -> String {
    format!(
        "StackSet-{stack_name}-{stage}-{}",
        "00000000-0000-0000-0000-000000000000"
    )
}

fn is_stack_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// CreateStackInstances takes at most 50 OUs per operation.
pub(crate) const MAX_OUS_PER_OPERATION: usize = 50;

pub(crate) fn too_many_ous(n: usize) -> String {
    format!(
        "engine `stacksets`: the stage names {n} OUs, StackSets takes at most \
         {MAX_OUS_PER_OPERATION} per operation; name their parent OU instead"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("remedy.yaml"), yaml.to_owned())
    }

    const MINIMAL: &str = "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n";

    #[test]
    fn defaults_apply() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.stack_name, "remedy");
        assert_eq!(c.role.name, "CloudConformity");
        assert_eq!(c.role.external_id, None);
        assert_eq!(c.conformity.account_id.as_str(), CONFORMITY_ACCOUNT_ID);
        assert_eq!(c.stages[0].concurrency, Concurrency(16));
        assert_eq!(c.stages[0].failure_tolerance, 0);
        assert!(!c.stages[0].approval);
        assert!(c.stage_rules(None).is_empty());
    }

    #[test]
    fn full_example_parses() {
        let yaml = r#"
stack_name: remedy
package: dist/remedy-lambda.zip
regions: [us-east-1, eu-west-1]
role:
  name: CloudConformity
  external_id: "abc"
conformity:
  account_id: "717210094962"
stages:
  - name: dev
    targets:
      ous: [/Workloads/Dev, ou-ab12-cdef5678]
      accounts: ["111111111111"]
      exclude: ["222222222222"]
    concurrency: 4
    failure_tolerance: 1
  - name: prod
    approval: true
    regions: [us-west-2]
    targets: {ous: [/Workloads/Prod]}
rules:
  S3-001: remediate
  KMS-002: {mode: dry-run}
  "*": notify
"#;
        let c = Config::parse(Path::new("/etc/remedy/remedy.yaml"), yaml.into()).unwrap();
        assert_eq!(
            c.package,
            Some(PathBuf::from("/etc/remedy/dist/remedy-lambda.zip"))
        );
        assert_eq!(c.role.external_id.as_deref(), Some("abc"));
        assert_eq!(c.stages.len(), 2);
        assert_eq!(c.stages[0].targets.ous.len(), 2);
        let placement = |i: usize| c.placement(&c.stages[i], None).unwrap();
        assert_eq!(placement(0).home, "us-east-1");
        assert_eq!(placement(0).covered, vec!["us-east-1", "eu-west-1"]);
        assert_eq!(placement(1).home, "us-west-2");
        assert_eq!(placement(1).covered, vec!["us-west-2"]);
        let rules = c.stage_rules(None);
        assert_eq!(rules.len(), remedy_functions::catalog().count());
        let mode_of = |id: &str| rules.iter().find(|r| r.spec.id == id).unwrap().mode;
        assert_eq!(mode_of("S3-001"), Mode::Remediate);
        assert_eq!(mode_of("KMS-002"), Mode::DryRun);
        assert_eq!(mode_of("S3-012"), Mode::Notify);
    }

    #[test]
    fn rules_absent_from_the_list_are_not_deployed() {
        let c = parse(&format!("{MINIMAL}rules:\n  S3-001: remediate\n")).unwrap();
        let ids: Vec<&str> = c.stage_rules(None).iter().map(|r| r.spec.id).collect();
        assert_eq!(ids, vec!["S3-001"]);
    }

    #[test]
    fn a_stage_overlays_the_top_level_rules() {
        let c = parse(concat!(
            "stages:\n",
            "  - name: dev\n",
            "    targets: {accounts: [\"111111111111\"]}\n",
            "    rules: {\"*\": remediate}\n",
            "  - name: prod\n",
            "    targets: {accounts: [\"222222222222\"]}\n",
            "    rules:\n",
            "      \"*\": dry-run\n",
            "      CT-001: {mode: notify, settings: {trail_name: ProdTrail}}\n",
            "  - name: qa\n",
            "    targets: {accounts: [\"333333333333\"]}\n",
            "rules:\n",
            "  S3-001: remediate\n",
            "  CT-001: {mode: remediate, settings: {trail_name: OrgTrail}}\n",
        ))
        .unwrap();
        let stage = |name: &str| c.stages.iter().find(|s| s.name.as_str() == name).unwrap();
        let rule = |stage: Option<&Stage>, id: &str| {
            c.stage_rules(stage)
                .into_iter()
                .find(|r| r.spec.id == id)
                .map(|r| (r.mode, r.settings.get("trail_name").cloned()))
        };
        // dev's "*" enables every rule, in remediate; the top level's settings stay.
        assert_eq!(
            c.stage_rules(Some(stage("dev"))).len(),
            remedy_functions::catalog().count()
        );
        assert_eq!(
            rule(Some(stage("dev")), "KMS-002").map(|r| r.0),
            Some(Mode::Remediate)
        );
        assert_eq!(
            rule(Some(stage("dev")), "CT-001"),
            Some((Mode::Remediate, Some("OrgTrail".into())))
        );
        // prod's "*" beats the top level's own entry; its own entry beats its "*".
        assert_eq!(
            rule(Some(stage("prod")), "S3-001").map(|r| r.0),
            Some(Mode::DryRun)
        );
        assert_eq!(
            rule(Some(stage("prod")), "CT-001"),
            Some((Mode::Notify, Some("ProdTrail".into())))
        );
        // A stage without an overlay deploys the top level's rules, and only those.
        let qa: Vec<&str> = c
            .stage_rules(Some(stage("qa")))
            .iter()
            .map(|r| r.spec.id)
            .collect();
        assert_eq!(
            qa,
            c.stage_rules(None)
                .iter()
                .map(|r| r.spec.id)
                .collect::<Vec<_>>()
        );
        assert_eq!(rule(Some(stage("qa")), "KMS-002"), None);
        // Where each mode comes from.
        assert_eq!(
            c.mode_source(Some(stage("prod")), "CT-001"),
            "stages.prod.rules.CT-001"
        );
        assert_eq!(
            c.mode_source(Some(stage("prod")), "S3-001"),
            "stages.prod.rules.\"*\""
        );
        assert_eq!(c.mode_source(Some(stage("qa")), "S3-001"), "rules.S3-001");
        assert_eq!(c.mode_source(None, "S3-001"), "rules.S3-001");
    }

    #[test]
    fn a_stage_overlay_is_checked_like_the_top_level_rules() {
        let e = error(
            "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n    rules:\n      S3-001: remedate\n",
        );
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("stages[0].rules.S3-001"), "{e}");
        let e = error("stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n    rules:\n      s3-001: remediate\n");
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("did you mean `S3-001`"), "{e}");
    }

    fn error(yaml: &str) -> ConfigError {
        parse(yaml).expect_err("should be rejected")
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = error(&format!("{MINIMAL}rules:\n  S3-999: remediate\n"));
        assert_eq!(e.line, Some(5));
        assert!(e.message.contains("rules: unknown rule id `S3-999`"), "{e}");
        assert!(e.to_string().starts_with("remedy.yaml:5:"), "{e}");

        let e = error(&format!("{MINIMAL}rules:\n  S3-001: fix\n"));
        assert_eq!(e.line, Some(5));
        assert!(e.message.contains("unknown mode `fix`"), "{e}");

        let e = error("stages:\n  - name: dev\n    targets: {accounts: [\"1234\"]}\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("stages[0].targets.accounts[0]"), "{e}");
        assert!(e.message.contains("12-digit"), "{e}");

        let e = error(&format!("colour: blue\n{MINIMAL}"));
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("unknown field `colour`"), "{e}");

        let e = error("stages:\n  - name: dev\n    targets: {}\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("stages[0]: the stage has no targets"),
            "{e}"
        );

        let e = error("stages: []\n");
        assert!(e.message.contains("`stages` is empty"), "{e}");

        let e = error(&format!(
            "{MINIMAL}  - name: dev\n    targets: {{accounts: [\"111111111111\"]}}\n"
        ));
        assert_eq!(e.line, Some(4));
        assert!(e.message.contains("duplicate stage name `dev`"), "{e}");

        let e = error("stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]\n");
        assert!(e.line.is_some(), "{e}");

        let e = error(&format!(
            "{MINIMAL}rules:\n  S3-001:\n    mode: remediate\n    settings: {{colour: red}}\n"
        ));
        assert_eq!(e.line, Some(7));
        assert!(
            e.message.contains("rule S3-001 has no setting `colour`"),
            "{e}"
        );

        let e = error(&format!("regions: [moon-1]\n{MINIMAL}"));
        assert!(e.message.contains("not an AWS region"), "{e}");

        let e = error("stages:\n  - name: dev\n    targets: {ous: [Workloads]}\n");
        assert!(e.message.contains("neither an OU path"), "{e}");
    }

    #[test]
    fn home_region_and_covered_regions_default_from_each_other_and_stages_override_them() {
        let stages = "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n  - name: prod\n    home_region: eu-west-1\n    targets: {accounts: [\"222222222222\"]}\n  - name: eu\n    regions: [eu-central-1, eu-west-1, eu-central-1]\n    targets: {accounts: [\"333333333333\"]}\n";
        let place = |top: &str, i: usize, env: Option<&str>| {
            let c = parse(&format!("{top}{stages}")).unwrap();
            c.placement(&c.stages[i], env)
                .map(|p| (p.home, p.covered.join(",")))
        };
        let p = |home: &str, covered: &str| Some((home.to_owned(), covered.to_owned()));
        // Only regions: the home is the first of them.
        let top = "regions: [us-east-1, eu-west-1]\n";
        assert_eq!(place(top, 0, None), p("us-east-1", "us-east-1,eu-west-1"));
        // A stage's home_region overrides, its covered regions stay the file's.
        assert_eq!(place(top, 1, None), p("eu-west-1", "us-east-1,eu-west-1"));
        // A stage's regions override (each once); its home is their first.
        assert_eq!(
            place(top, 2, None),
            p("eu-central-1", "eu-central-1,eu-west-1")
        );
        // Only home_region: it covers itself. A home outside the covered list is allowed.
        assert_eq!(
            place("home_region: ap-south-1\n", 0, None),
            p("ap-south-1", "ap-south-1")
        );
        let top = "home_region: eu-west-1\nregions: [us-east-1]\n";
        assert_eq!(place(top, 0, None), p("eu-west-1", "us-east-1"));
        // Nothing in the file: the environment's region, else nothing.
        assert_eq!(place("", 0, Some("us-west-2")), p("us-west-2", "us-west-2"));
        assert_eq!(place("", 0, None), None);
    }

    #[test]
    fn region_order_and_codebuild_region_are_refused_with_what_replaced_them() {
        let yaml = "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n    region_order: sequential\n";
        let e = error(yaml);
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("`region_order` is gone"), "{e}");
        assert!(e.message.contains("home_region"), "{e}");
        let e = error(&format!("region_order: parallel\n{MINIMAL}"));
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.message.contains("`region_order` is gone"), "{e}");
        let e = error(&format!("{MINIMAL}codebuild:\n  region: eu-west-1\n"));
        assert!(e.message.contains("`codebuild.region` is gone"), "{e}");
        // An empty value is the key all the same.
        let e = error(&format!("{MINIMAL}    region_order:\n"));
        assert!(e.message.contains("`region_order` is gone"), "{e}");
    }

    #[test]
    fn unknown_regions_are_refused_at_their_line_with_the_closest_known_one() {
        let e = error(&format!("regions: [us-east-1, us-esat-1]\n{MINIMAL}"));
        assert_eq!(e.line, Some(1), "{e}");
        assert!(
            e.message
                .contains("unknown region `us-esat-1` (did you mean us-east-1?)"),
            "{e}"
        );
        let e = error("stages:\n  - name: dev\n    home_region: eu-west-7\n    targets: {accounts: [\"111111111111\"]}\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("unknown region `eu-west-7`"), "{e}");
        let e = error(&format!("regions: [global]\n{MINIMAL}"));
        assert!(e.message.contains("always remediated"), "{e}");
    }

    #[test]
    fn a_region_opened_after_this_release_is_accepted_once_listed_in_extra_regions() {
        let e = error(&format!("regions: [us-east-1, xx-new-1]\n{MINIMAL}"));
        assert_eq!((e.line, e.column), (Some(1), Some(22)), "{e}");
        assert!(
            e.message
                .starts_with("regions[1]: unknown region `xx-new-1`"),
            "{e}"
        );
        assert!(e.message.contains("list it in `extra_regions`"), "{e}");
        let c = parse(&format!(
            "extra_regions: [xx-new-1]\nregions: [us-east-1, xx-new-1]\n{MINIMAL}"
        ))
        .unwrap();
        assert_eq!(c.extra_regions, ["xx-new-1"]);
        assert_eq!(c.regions, ["us-east-1", "xx-new-1"]);
        // A typo of it still names it; a malformed one is refused at its line.
        let e = error(&format!(
            "extra_regions: [xx-new-1]\nhome_region: xx-nwe-1\n{MINIMAL}"
        ));
        assert!(e.message.contains("(did you mean xx-new-1?)"), "{e}");
        let e = error(&format!("extra_regions: [NEW]\n{MINIMAL}"));
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.message.contains("not an AWS region name"), "{e}");
    }

    #[test]
    fn regions_of_another_partition_than_the_home_regions_are_refused() {
        // A stage covering a China region from a commercial home region.
        let e = error(&format!(
            "home_region: us-east-1\nregions: [us-east-1, cn-north-1]\n{MINIMAL}"
        ));
        assert_eq!(e.line, Some(2), "{e}");
        assert!(
            e.message.contains("stages[0]: region `cn-north-1` is in partition aws-cn, the stage's home region us-east-1 in aws"),
            "{e}"
        );
        // Two stages in two partitions: one run, one set of credentials.
        let e = error("stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n    home_region: us-east-1\n  - name: gov\n    targets: {accounts: [\"222222222222\"]}\n    home_region: us-gov-west-1\n");
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("stages[1]: the home region us-gov-west-1 is in partition aws-us-gov, stage `dev`'s in aws"), "{e}");
        // One partition throughout is fine, China's too; a new region keeps its partition.
        parse(&format!("regions: [cn-north-1, cn-northwest-1]\n{MINIMAL}")).unwrap();
        let e = error(&format!(
            "extra_regions: [cn-south-9]\nregions: [us-east-1, cn-south-9]\n{MINIMAL}"
        ));
        assert!(
            e.message.contains("`cn-south-9` is in partition aws-cn"),
            "{e}"
        );
    }

    #[test]
    fn a_misindented_key_is_reported_at_its_own_line() {
        // `ous` level with `targets:`: YAML reads an empty `targets` and a stage key `ous`.
        let e = error("stages:\n  - name: dev\n    targets:\n    ous: [/Workloads/Dev]\n");
        assert_eq!((e.line, e.column), (Some(4), Some(5)), "{e}");
        assert!(
            e.message.starts_with("`ous` is indented 4 spaces, level with `targets` (line 3, at 4), which is left empty"),
            "{e}"
        );
        assert!(
            e.message
                .contains("(read as: stages[0]: the stage has no targets"),
            "{e}"
        );
        // One space too few or too many among its siblings: a YAML error a line later, before.
        for (yaml, line, spaces) in [
            ("stages:\n  - name: dev\n    targets:\n      accounts: [\"111111111111\"]\n     ous: [/A]\n", 5, 5),
            ("stages:\n  - name: dev\n    targets:\n      accounts: [\"111111111111\"]\n       ous: [/A]\n", 5, 7),
        ] {
            let e = error(yaml);
            assert_eq!(e.line, Some(line), "{e}");
            assert!(
                e.message.starts_with(&format!("`ous` is indented {spaces} spaces, its siblings at 6 (`accounts`, line 4)")),
                "{e}"
            );
            assert!(!e.message.contains("at line"), "{e}");
        }
        // A stage key at the dashes' column, or between the dashes and the keys; one space
        // more than `name: dev` (YAML reads `dev targets` as the name); a stage key back at
        // the dashes' column after a nested block.
        for (yaml, line, start) in [
            (
                "stages:\n  - name: dev\n  targets:\n    ous: [/A]\n",
                3,
                "`targets` is indented 2 spaces, its siblings at 4 (`name`, line 2)",
            ),
            (
                "stages:\n  - name: dev\n   targets:\n      ous: [/A]\n",
                3,
                "`targets` is indented 3 spaces, its siblings at 4 (`name`, line 2)",
            ),
            (
                "stages:\n  - name: dev\n     targets:\n      ous: [/A]\n",
                3,
                "`targets` is indented 5 spaces, its siblings at 4 (`name`, line 2)",
            ),
            (
                "stages:\n  - name: dev\n    targets:\n      ous: [/A]\n  approval: true\n",
                5,
                "`approval` is indented 2 spaces, its siblings at 4 (`targets`, line 3)",
            ),
        ] {
            let e = error(yaml);
            assert_eq!(e.line, Some(line), "{e}");
            assert!(e.message.starts_with(start), "{e}");
        }
    }

    #[test]
    fn well_indented_files_are_never_blamed_on_indentation() {
        // Another error in a file whose indentation is right: reported as it is.
        let e = error("stages:\n- name: dev\n  targets:\n    ous: [/A]\n- name: prod\n  targets: {accounts: [\"111111111111\"],\n            ous: [/B]}\n  concurency: 2\nrules:\n  \"*\": notify\n  S3-001:\n    mode: remedate\n");
        assert_eq!(e.line, Some(8), "{e}");
        assert!(e.message.contains("unknown field `concurency`"), "{e}");
        for example in [
            include_str!("../../examples/remedy.yaml"),
            "notifications:\n  topics:\n    - name: ops # the team\n      email: [\"a@b.c\"]\nstages:\n  - name: dev\n    targets:\n      ous:\n        - /A\n        - /B\n",
        ] {
            assert_eq!(misindented(example, "missing field `targets`"), None, "{example}");
        }
        assert_eq!(
            without_positions("did not find expected key at line 5 column 6, while parsing a block mapping at line 3 column 5"),
            "did not find expected key, while parsing a block mapping"
        );
    }

    #[test]
    fn near_misses_of_keys_rule_ids_and_stages_are_named() {
        let e = error(&format!("{MINIMAL}    concurency: 3\n"));
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("unknown field `concurency`"), "{e}");
        assert!(e.message.ends_with("(did you mean `concurrency`?)"), "{e}");
        let e = error(&format!("{MINIMAL}rules:\n  s3-001: remediate\n"));
        assert!(
            e.message
                .contains("unknown rule id `s3-001` (did you mean `S3-001`? run `remedy rules`"),
            "{e}"
        );
        let c = parse(MINIMAL).unwrap();
        let e = c.stage("deev").unwrap_err().to_string();
        assert!(
            e.contains("no stage `deev` (did you mean `dev`? stages: dev)"),
            "{e}"
        );
        // Nothing near: nothing guessed.
        let e = c.stage("production").unwrap_err().to_string();
        assert!(e.contains("no stage `production` (stages: dev)"), "{e}");
    }

    #[test]
    fn unquoted_account_ids_keep_their_digits() {
        let c = parse("stages:\n  - name: dev\n    targets: {accounts: [111111111111]}\n").unwrap();
        assert_eq!(c.stages[0].targets.accounts[0].as_str(), "111111111111");
    }

    #[test]
    fn locate_finds_whole_scalars_only() {
        let c = parse("stages:\n  - name: dev\n    targets: {ous: [/A/B, \"/A\"]}\n").unwrap();
        assert_eq!(c.locate("/A", 1), Some(3));
        assert_eq!(c.locate("/A/B", 1), Some(3));
        assert_eq!(c.locate("/Z", 1), None);
        assert_eq!(c.locate("de", 1), None);
    }

    #[test]
    fn region_and_ou_formats() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["useast1", "us-east", "US-east-1", "moon-1"] {
            assert!(!is_region(bad), "{bad}");
        }
        assert!(is_ou_id("ou-ab12-cdef5678"));
        assert!(!is_ou_id("ou-ab"));
        assert!(is_root_id("r-ab12"));
    }
}
