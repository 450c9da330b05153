//! The rule catalog: the metadata every rule declares, and lookup over all of them.
//!
//! A rule is one self-contained unit in its service's module under [`crate::rules`]: a
//! [`RuleSpec`] whose [`fix`](RuleSpec::fix) is the rule's own code. This module only defines
//! the shape of that metadata and gathers the per-service lists. Adding a rule touches its
//! service module (and, for a new service, the list in [`crate::rules::ALL`]), nothing else.

use crate::rule::{Context, Report, RuleError};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What the orchestrator does with a finding for a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Fix the resource.
    Remediate,
    /// Decide and report what would be done; change nothing.
    DryRun,
    /// Send the finding to the notification topics; change nothing.
    Notify,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Remediate, Mode::DryRun, Mode::Notify];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Remediate => "remediate",
            Mode::DryRun => "dry-run",
            Mode::Notify => "notify",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown mode `{s}` (expected remediate, dry-run or notify)"))
    }
}

/// Conformity's risk levels, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
    VeryHigh,
    Extreme,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "LOW",
            RiskLevel::Medium => "MEDIUM",
            RiskLevel::High => "HIGH",
            RiskLevel::VeryHigh => "VERY_HIGH",
            RiskLevel::Extreme => "EXTREME",
        }
    }
}

/// A setting a rule accepts under `rules.<id>.settings` in `remedy.yaml`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SettingSpec {
    pub name: &'static str,
    /// The value used when the setting is absent; `None` means there is no default: the
    /// rule then works from the finding alone, or reports `failed` naming the setting.
    pub default: Option<&'static str>,
    pub description: &'static str,
}

/// A rule's check and fix: runs the rule on a finding (`ctx.rule` is the rule's own
/// [`RuleSpec`]). Any error is reported `failed` by `crate::runtime::run_rule`.
pub type Fix = for<'a> fn(&'a Context) -> BoxFuture<'a, Result<Report, RuleError>>;

/// Everything a rule declares about itself, and its code.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RuleSpec {
    /// Conformity's rule id, e.g. `S3-001`; the function is `AutoRemediate<id>`.
    pub id: &'static str,
    pub title: &'static str,
    /// The AWS service the rule acts on, as Conformity names it (`S3`, `EC2`, `IAM`, …).
    pub service: &'static str,
    pub risk: RiskLevel,
    pub default_mode: Mode,
    pub settings: &'static [SettingSpec],
    /// Exactly the IAM actions the rule's function needs (besides writing its own logs).
    /// The deployer renders the function's role from this list and nothing else.
    pub iam_actions: &'static [&'static str],
    /// Actions of `iam_actions` that must not be granted on every resource: each is rendered
    /// in its own statement, on the given resource and under the given condition (IAM role
    /// writes and `iam:PassRole`, which on `*` could take over the account).
    pub scoped: &'static [Scope],
    /// The rule's check and fix, beside its metadata, so that an id cannot lose its code.
    #[serde(skip)]
    pub fix: Fix,
}

/// Actions that write IAM roles or hand them to services: on `*` they could take over the
/// account, so a rule that declares one must give it a [`Scope`].
pub const ROLE_WRITE_ACTIONS: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:CreateServiceLinkedRole",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UpdateAssumeRolePolicy",
];

/// Reading remedy's own stack's resources, on that stack only: the grant of the rules whose
/// resource types CloudFormation does not tag (KMS keys, IAM users, SQS queues), which find
/// remedy's own resources in the stack's list (`crate::rule::Context::owns_listed`).
pub const OWN_STACK_RESOURCES: Scope = Scope {
    actions: &["cloudformation:ListStackResources"],
    resource: "${AWS::StackId}",
    condition: &[],
};

/// A narrower grant for some of a rule's actions.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Scope {
    pub actions: &'static [&'static str],
    /// A CloudFormation `Fn::Sub` string, e.g.
    /// `arn:${AWS::Partition}:iam::${AWS::AccountId}:role/remedy-vpc-flow-logs`.
    pub resource: &'static str,
    /// `(operator, key, value)`, e.g. `("StringEquals", "iam:PassedToService",
    /// "config.amazonaws.com")`; empty for none.
    pub condition: &'static [(&'static str, &'static str, &'static str)],
}

impl RuleSpec {
    /// The Lambda function that remediates this rule.
    pub fn function_name(&self) -> String {
        format!("AutoRemediate{}", self.id)
    }

    pub fn setting(&self, name: &str) -> Option<&SettingSpec> {
        self.settings.iter().find(|s| s.name == name)
    }
}

/// Every rule of the catalog, in catalog order (by service module, then id).
pub fn catalog() -> impl Iterator<Item = &'static RuleSpec> {
    crate::rules::ALL.iter().flat_map(|rules| rules.iter())
}

/// The rule with this id, if the catalog carries it.
pub fn find_rule(id: &str) -> Option<&'static RuleSpec> {
    catalog().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rule_ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for rule in catalog() {
            assert!(seen.insert(rule.id), "duplicate rule id {}", rule.id);
            let (prefix, number) = rule.id.split_once('-').expect("id has a dash");
            assert!(prefix
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic()));
            assert!(
                prefix.chars().all(|c| c.is_ascii_alphanumeric()),
                "{}",
                rule.id
            );
            assert!(number.len() == 3 && number.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn every_rule_declares_scoped_actions() {
        for rule in catalog() {
            assert!(
                !rule.iam_actions.is_empty(),
                "{} declares no IAM action",
                rule.id
            );
            for action in rule.iam_actions {
                let (service, name) = action.split_once(':').expect("service:Action");
                assert!(!service.is_empty() && !name.is_empty(), "{action}");
                assert!(
                    !action.contains('*'),
                    "{}: wildcard action {action}",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn role_writes_are_always_scoped() {
        for rule in catalog() {
            let scoped: Vec<&str> = rule
                .scoped
                .iter()
                .flat_map(|s| s.actions.iter().copied())
                .collect();
            for action in rule.iam_actions {
                if ROLE_WRITE_ACTIONS.contains(action) {
                    assert!(
                        scoped.contains(action),
                        "{}: {action} is not scoped",
                        rule.id
                    );
                }
            }
            for action in &scoped {
                assert!(
                    rule.iam_actions.contains(action),
                    "{}: scoped {action} is not declared",
                    rule.id
                );
            }
            for scope in rule.scoped {
                assert_ne!(scope.resource, "*", "{}: a scope on *", rule.id);
            }
        }
    }

    /// One stack per account runs every rule in every covered region with account-wide
    /// roles: a scope on the home region's resources would refuse the others. (The stack
    /// itself, `${AWS::StackId}`, does live in the home region, where it is read.)
    #[test]
    fn no_scope_is_limited_to_the_home_region() {
        for rule in catalog() {
            for scope in rule.scoped {
                assert!(
                    !scope.resource.contains("${AWS::Region}"),
                    "{}: {} names the stack's region",
                    rule.id,
                    scope.resource
                );
            }
        }
    }

    #[test]
    fn modes_round_trip() {
        for mode in Mode::ALL {
            assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
        }
        assert!("fix".parse::<Mode>().is_err());
    }

    #[test]
    fn foundation_rules_are_present() {
        for id in ["S3-001", "S3-012", "EC2-002", "EC2-003", "KMS-002"] {
            assert!(find_rule(id).is_some(), "{id} missing");
        }
    }
}
