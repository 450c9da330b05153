//! The orchestrator's decisions: what to do with one message. Pure: the orchestrator
//! ([`crate::orchestrator`]) does the I/O around it.
//!
//! In order: refuse what is malformed or hostile (see [`crate::finding`]) or aimed at a
//! region this stack does not cover or at another account; ignore Conformity's test message
//! and every `status` but `FAILURE`; then apply the rule's mode — `remediate` and `dry-run`
//! invoke `AutoRemediate<ruleId>` (which reads its own mode), `notify` only notifies — and
//! pick the notification topics whose route matches the finding's risk level and categories.
//! A rule the deployment does not list is still invoked in `remediate` mode: a user's own
//! `AutoRemediate<ruleId>` function is found the same way (and when none exists, the
//! orchestrator reports the rule unsupported).
//!
//! Regions: one stack per account, in its home region, receives the findings of every
//! region. The stack covers the regions of `REMEDY_REGIONS` ([`RuntimeConfig::regions`]; none
//! listed: the orchestrator's own region only). A finding for a covered region or for
//! Conformity's `global` is acted on; one for any other region is rejected
//! ([`ReasonCode::OutsideRegions`]), never dropped silently. A finding that names no region
//! is taken to be about the orchestrator's own region.

use crate::catalog::Mode;
use crate::finding::{Finding, Message};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the orchestrator knows about its deployment (from its environment).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// Deployed rules and their modes (`REMEDY_RULES`).
    pub rules: BTreeMap<String, Mode>,
    /// Notification routes (`REMEDY_NOTIFICATIONS`).
    #[serde(default)]
    pub routes: Vec<Route>,
    /// The regions whose findings this stack acts on (`REMEDY_REGIONS`, see
    /// [`parse_regions`]); empty: the orchestrator's own region only.
    #[serde(default)]
    pub regions: Vec<String>,
}

/// Conformity's region for findings about global services (IAM, Organizations, …): always
/// covered.
pub const GLOBAL: &str = "global";

/// The covered regions from `REMEDY_REGIONS`: comma-separated region names (`us-east-1,eu-west-1`),
/// blanks around them ignored, each kept once in order. Absent or empty: none, which means
/// the orchestrator's own region only. A name that is not shaped like a region is an error:
/// a mangled list must stop the function at its start, not reject every finding.
pub fn parse_regions(text: Option<&str>) -> Result<Vec<String>, String> {
    let mut regions: Vec<String> = Vec::new();
    for name in text.unwrap_or_default().split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        if !crate::partition::is_region_name(name) {
            return Err(format!(
                "REMEDY_REGIONS: {name:?} is not a region name (expected e.g. us-east-1,eu-west-1)"
            ));
        }
        if !regions.iter().any(|r| r == name) {
            regions.push(name.to_owned());
        }
    }
    Ok(regions)
}

/// A notification topic and the findings it wants. An empty list matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The topic's name in this account and region.
    pub topic: String,
    #[serde(default)]
    pub risk_levels: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
}

impl Route {
    pub fn matches(&self, finding: &Finding) -> bool {
        let risk_ok = self.risk_levels.is_empty()
            || finding
                .risk_level
                .as_deref()
                .is_some_and(|r| self.risk_levels.iter().any(|l| l.eq_ignore_ascii_case(r)));
        let category_ok = self.categories.is_empty()
            || finding
                .categories
                .iter()
                .any(|c| self.categories.iter().any(|w| w.eq_ignore_ascii_case(c)));
        risk_ok && category_ok
    }
}

/// Where the orchestrator runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub account_id: String,
    pub region: String,
}

/// Why a finding was refused or skipped, as a stable code for the log line (`reason_code`)
/// and queries over it; the `reason` beside it says it in words.
///
/// The codes are the DESIGN's (`dry_run`, `notify`, `grace`, `outside_regions`,
/// `unsupported`, `rejected:<why>`, …); two that name no finding to remediate keep their own
/// (`test_message`, `not_failure`). Serialized as [`ReasonCode::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    /// Refused: not a finding remedy can read (size, UTF-8, JSON, `ruleId` shape).
    Malformed,
    /// Refused: the finding's region is not one this stack covers.
    OutsideRegions,
    /// Refused: the resource's ARN names another account.
    ForeignAccount,
    /// Skipped: Conformity's channel test message.
    TestMessage,
    /// Skipped: a `status` other than `FAILURE`.
    NotFailure,
    /// Skipped: the rule's mode is `notify` (the finding goes to the topics only).
    NotifyMode,
    /// Not changed: the rule ran in `dry-run` and reported what it would do.
    DryRun,
    /// Deferred: the rule has a grace period; the finding was re-queued with that delay and
    /// is acted on when it comes back.
    Grace,
    /// Not acted on: no `AutoRemediate<ruleId>` function (or no catalog rule) for it.
    Unsupported,
    /// Refused by the rule function itself (another rule's finding, a region it cannot act
    /// in).
    RejectedByRule,
    /// Not acted on by `remedy remediate`: the configuration does not enable the rule.
    NotEnabled,
    /// Notified, not remediated: the rule is paused in this account (`remedy pause`, the
    /// kill switch; [`crate::pause`]).
    Paused,
    /// Notified, not remediated: the rule made its `max_per_hour` fixes in this account
    /// this UTC hour ([`crate::limits`]).
    RateLimited,
    /// Notified, not remediated: the rule's fixes failed `max_failures_per_hour` times in
    /// this account this UTC hour, so it paused itself until the hour turns
    /// ([`crate::limits`]).
    CircuitOpen,
    /// Skipped: an exception in force matches the finding (`exception:<id>`;
    /// [`crate::exceptions`]).
    Exception(String),
}

impl Serialize for ReasonCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl ReasonCode {
    pub fn as_str(&self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(match self {
            ReasonCode::Malformed => "rejected:malformed",
            ReasonCode::OutsideRegions => "outside_regions",
            ReasonCode::ForeignAccount => "rejected:foreign_account",
            ReasonCode::TestMessage => "test_message",
            ReasonCode::NotFailure => "not_failure",
            ReasonCode::NotifyMode => "notify",
            ReasonCode::DryRun => "dry_run",
            ReasonCode::Grace => "grace",
            ReasonCode::Unsupported => "unsupported",
            ReasonCode::RejectedByRule => "rejected:rule",
            ReasonCode::NotEnabled => "not_enabled",
            ReasonCode::Paused => "paused",
            ReasonCode::RateLimited => "rate_limited",
            ReasonCode::CircuitOpen => "circuit_open",
            ReasonCode::Exception(id) => return format!("exception:{id}").into(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Refused: logged, nothing invoked, never retried.
    Reject { code: ReasonCode, reason: String },
    /// Nothing to do (test message, a status other than FAILURE): logged.
    Skip { code: ReasonCode, reason: String },
    /// Act on the finding.
    Act {
        mode: Mode,
        /// `AutoRemediate<ruleId>`, invoked unless the mode is `notify`.
        function: String,
        /// Notification topic names whose route matches.
        notify: Vec<String>,
    },
}

pub fn decide(message: &Message, config: &RuntimeConfig, place: &Place) -> Decision {
    let finding = match message {
        Message::Test => {
            return Decision::Skip {
                code: ReasonCode::TestMessage,
                reason: "Conformity test message".into(),
            }
        }
        Message::Finding(f) => f,
    };
    if let Some(reason) = outside_regions(finding.region.as_deref(), config, place) {
        return Decision::Reject {
            code: ReasonCode::OutsideRegions,
            reason,
        };
    }
    if let Some(other) = foreign_account(finding, &place.account_id) {
        return Decision::Reject {
            code: ReasonCode::ForeignAccount,
            reason: format!(
                "resource belongs to account {other}, this orchestrator serves {}",
                place.account_id
            ),
        };
    }
    if !finding.is_failure() {
        return Decision::Skip {
            code: ReasonCode::NotFailure,
            reason: format!("status {}", finding.status),
        };
    }
    let mode = config
        .rules
        .get(&finding.rule_id)
        .copied()
        .unwrap_or(Mode::Remediate);
    Decision::Act {
        mode,
        function: finding.function_name(),
        notify: config
            .routes
            .iter()
            .filter(|r| r.matches(finding))
            .map(|r| r.topic.clone())
            .collect(),
    }
}

/// The regions this stack covers: `REMEDY_REGIONS`, or the orchestrator's own region alone.
pub fn covered_regions<'a>(config: &'a RuntimeConfig, place: &'a Place) -> &'a [String] {
    if config.regions.is_empty() {
        std::slice::from_ref(&place.region)
    } else {
        &config.regions
    }
}

/// Why a finding for `region` is outside the covered regions, or `None` when it is covered
/// (`global` always is; no region means the orchestrator's own).
fn outside_regions(region: Option<&str>, config: &RuntimeConfig, place: &Place) -> Option<String> {
    let covered = covered_regions(config, place);
    let named = region.filter(|r| !r.is_empty());
    let region = named.unwrap_or(&place.region);
    if region == GLOBAL || covered.iter().any(|c| c == region) {
        return None;
    }
    let list = covered.join(", ");
    Some(match named {
        Some(_) => {
            format!("finding is for region {region}, outside this stack's regions ({list})")
        }
        None => format!(
            "finding names no region, so it is taken to be about this orchestrator's own, \
             {region}, which is outside this stack's regions ({list})"
        ),
    })
}

/// The account of a resource given as an ARN, when it is not ours.
fn foreign_account(finding: &Finding, own: &str) -> Option<String> {
    let resource = finding.resource.as_deref()?;
    let mut parts = resource.strip_prefix("arn:")?.splitn(5, ':');
    let account = parts.nth(3)?;
    (!account.is_empty() && account != own).then(|| account.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::parse_text;

    fn place() -> Place {
        Place {
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
        }
    }

    fn config() -> RuntimeConfig {
        RuntimeConfig {
            rules: [
                ("S3-001".to_owned(), Mode::Remediate),
                ("GD-002".to_owned(), Mode::Notify),
                ("AG-005".to_owned(), Mode::DryRun),
            ]
            .into_iter()
            .collect(),
            routes: vec![
                Route {
                    topic: "urgent".into(),
                    risk_levels: vec!["VERY_HIGH".into(), "EXTREME".into()],
                    categories: vec![],
                },
                Route {
                    topic: "security".into(),
                    risk_levels: vec![],
                    categories: vec!["security".into()],
                },
                Route {
                    topic: "cost".into(),
                    risk_levels: vec![],
                    categories: vec!["cost-optimisation".into()],
                },
            ],
            regions: Vec::new(),
        }
    }

    fn decide_text(text: &str) -> Decision {
        decide(&parse_text(text).unwrap(), &config(), &place())
    }

    fn covering(regions: &[&str]) -> RuntimeConfig {
        RuntimeConfig {
            regions: regions.iter().map(|r| r.to_string()).collect(),
            ..config()
        }
    }

    fn decide_in(regions: &[&str], region: Option<&str>) -> Decision {
        let mut finding = serde_json::json!({"ruleId": "S3-001", "status": "FAILURE"});
        if let Some(region) = region {
            finding["region"] = region.into();
        }
        let message = parse_text(&finding.to_string()).unwrap();
        decide(&message, &covering(regions), &place())
    }

    #[test]
    fn covered_regions_and_global_are_acted_on() {
        let both = ["us-east-1", "eu-west-1"];
        for region in ["us-east-1", "eu-west-1", "global"] {
            assert!(
                matches!(decide_in(&both, Some(region)), Decision::Act { .. }),
                "{region}"
            );
        }
        // No region: the orchestrator's own (us-east-1), covered.
        assert!(matches!(decide_in(&both, None), Decision::Act { .. }));
        assert!(matches!(decide_in(&both, Some("")), Decision::Act { .. }));
        // Nothing listed (an older stack): the orchestrator's own region only.
        assert!(matches!(
            decide_in(&[], Some("us-east-1")),
            Decision::Act { .. }
        ));
        assert!(matches!(
            decide_in(&[], Some("global")),
            Decision::Act { .. }
        ));
    }

    #[test]
    fn other_regions_are_rejected_naming_the_region_and_the_covered_list() {
        assert_eq!(
            decide_in(&["us-east-1", "eu-west-1"], Some("ap-south-1")),
            Decision::Reject {
                code: ReasonCode::OutsideRegions,
                reason: "finding is for region ap-south-1, outside this stack's regions \
                         (us-east-1, eu-west-1)"
                    .into()
            }
        );
        assert_eq!(
            decide_in(&[], Some("eu-west-1")),
            Decision::Reject {
                code: ReasonCode::OutsideRegions,
                reason: "finding is for region eu-west-1, outside this stack's regions (us-east-1)"
                    .into()
            }
        );
        // Case and look-alikes are not the region.
        for region in ["US-EAST-1", "us-east-1 ", "Global", "us-east-10"] {
            assert!(
                matches!(
                    decide_in(&["us-east-1"], Some(region)),
                    Decision::Reject {
                        code: ReasonCode::OutsideRegions,
                        ..
                    }
                ),
                "{region:?}"
            );
        }
        // No region, where the list leaves out the orchestrator's own: refused, saying so.
        match decide_in(&["eu-west-1"], None) {
            Decision::Reject {
                code: ReasonCode::OutsideRegions,
                reason,
            } => assert!(
                reason.contains("names no region") && reason.contains("us-east-1"),
                "{reason}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn regions_from_the_environment() {
        assert_eq!(parse_regions(None), Ok(vec![]));
        assert_eq!(parse_regions(Some("")), Ok(vec![]));
        assert_eq!(parse_regions(Some(" , ")), Ok(vec![]));
        assert_eq!(
            parse_regions(Some("us-east-1,eu-west-1")),
            Ok(vec!["us-east-1".to_owned(), "eu-west-1".to_owned()])
        );
        assert_eq!(
            parse_regions(Some(" us-east-1 , eu-west-1,us-east-1,")),
            Ok(vec!["us-east-1".to_owned(), "eu-west-1".to_owned()])
        );
        for bad in ["us-east-1 eu-west-1", "us-east-1,global", "[\"us-east-1\"]"] {
            let err = parse_regions(Some(bad)).unwrap_err();
            assert!(err.contains("REMEDY_REGIONS"), "{bad}: {err}");
        }
    }

    #[test]
    fn reason_codes_are_snake_case() {
        for code in [
            ReasonCode::Malformed,
            ReasonCode::OutsideRegions,
            ReasonCode::ForeignAccount,
            ReasonCode::TestMessage,
            ReasonCode::NotFailure,
            ReasonCode::NotifyMode,
            ReasonCode::DryRun,
            ReasonCode::Grace,
            ReasonCode::Unsupported,
            ReasonCode::RejectedByRule,
            ReasonCode::NotEnabled,
            ReasonCode::RateLimited,
            ReasonCode::CircuitOpen,
        ] {
            assert_eq!(
                serde_json::to_value(&code).unwrap(),
                serde_json::json!(code.as_str())
            );
        }
        assert_eq!(ReasonCode::RateLimited.as_str(), "rate_limited");
        assert_eq!(ReasonCode::CircuitOpen.as_str(), "circuit_open");
        // The DESIGN's names, where the old ones differed.
        assert_eq!(ReasonCode::Malformed.as_str(), "rejected:malformed");
        assert_eq!(
            ReasonCode::ForeignAccount.as_str(),
            "rejected:foreign_account"
        );
        assert_eq!(ReasonCode::NotifyMode.as_str(), "notify");
    }

    #[test]
    fn modes_and_routes() {
        let d = decide_text(
            r#"{"ruleId":"S3-001","status":"FAILURE","region":"us-east-1","riskLevel":"VERY_HIGH","categories":["security"]}"#,
        );
        assert_eq!(
            d,
            Decision::Act {
                mode: Mode::Remediate,
                function: "AutoRemediateS3-001".into(),
                notify: vec!["urgent".into(), "security".into()]
            }
        );
        let d = decide_text(
            r#"{"ruleId":"GD-002","status":"FAILURE","region":"us-east-1","riskLevel":"MEDIUM","categories":["security"]}"#,
        );
        assert_eq!(
            d,
            Decision::Act {
                mode: Mode::Notify,
                function: "AutoRemediateGD-002".into(),
                notify: vec!["security".into()]
            }
        );
        let d = decide_text(r#"{"ruleId":"AG-005","status":"FAILURE","riskLevel":"LOW"}"#);
        assert_eq!(
            d,
            Decision::Act {
                mode: Mode::DryRun,
                function: "AutoRemediateAG-005".into(),
                notify: vec![]
            }
        );
    }

    #[test]
    fn a_rule_not_deployed_is_still_looked_for() {
        let d = decide_text(r#"{"ruleId":"Custom-001","status":"FAILURE","region":"global"}"#);
        assert!(
            matches!(d, Decision::Act { mode: Mode::Remediate, ref function, .. } if function == "AutoRemediateCustom-001")
        );
    }

    #[test]
    fn skips_and_rejections() {
        assert!(matches!(
            decide(&Message::Test, &config(), &place()),
            Decision::Skip {
                code: ReasonCode::TestMessage,
                ..
            }
        ));
        assert_eq!(
            decide_text(r#"{"ruleId":"S3-001","status":"SUCCESS"}"#),
            Decision::Skip {
                code: ReasonCode::NotFailure,
                reason: "status SUCCESS".into()
            }
        );
        assert!(
            matches!(decide_text(r#"{"ruleId":"S3-001","status":"FAILURE","region":"eu-west-1"}"#), Decision::Reject { code: ReasonCode::OutsideRegions, reason } if reason.contains("eu-west-1"))
        );
        assert!(matches!(
            decide_text(r#"{"ruleId":"SNS-001","status":"FAILURE","resource":"arn:aws:sns:us-east-1:222222222222:topic"}"#),
            Decision::Reject { code: ReasonCode::ForeignAccount, reason } if reason.contains("222222222222")
        ));
        assert!(matches!(
            decide_text(
                r#"{"ruleId":"SNS-001","status":"FAILURE","resource":"arn:aws:sns:us-east-1:111111111111:topic"}"#
            ),
            Decision::Act { .. }
        ));
    }
}
