//! The orchestrator's decisions: what to do with one message. Pure: the orchestrator
//! ([`crate::orchestrator`]) does the I/O around it.
//!
//! In order: refuse what is malformed or hostile (see [`crate::finding`]) or aimed at another
//! region or account; ignore Conformity's test message and every `status` but `FAILURE`; then
//! apply the rule's mode — `remediate` and `dry-run` invoke `AutoRemediate<ruleId>` (which
//! reads its own mode), `notify` only notifies — and pick the notification topics whose route
//! matches the finding's risk level and categories. A rule the deployment does not list is
//! still invoked in `remediate` mode: a user's own `AutoRemediate<ruleId>` function is found
//! the same way (and when none exists, the orchestrator reports the rule unsupported).

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Refused: logged, nothing invoked, never retried.
    Reject(String),
    /// Nothing to do (test message, a status other than FAILURE): logged.
    Skip(String),
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
        Message::Test => return Decision::Skip("Conformity test message".into()),
        Message::Finding(f) => f,
    };
    if let Some(region) = finding.region.as_deref() {
        if region != "global" && region != place.region {
            return Decision::Reject(format!(
                "finding is for region {region}, this orchestrator serves {}",
                place.region
            ));
        }
    }
    if let Some(other) = foreign_account(finding, &place.account_id) {
        return Decision::Reject(format!(
            "resource belongs to account {other}, this orchestrator serves {}",
            place.account_id
        ));
    }
    if !finding.is_failure() {
        return Decision::Skip(format!("status {}", finding.status));
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
        }
    }

    fn decide_text(text: &str) -> Decision {
        decide(&parse_text(text).unwrap(), &config(), &place())
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
            Decision::Skip(_)
        ));
        assert_eq!(
            decide_text(r#"{"ruleId":"S3-001","status":"SUCCESS"}"#),
            Decision::Skip("status SUCCESS".into())
        );
        assert!(
            matches!(decide_text(r#"{"ruleId":"S3-001","status":"FAILURE","region":"eu-west-1"}"#), Decision::Reject(r) if r.contains("eu-west-1"))
        );
        assert!(matches!(
            decide_text(r#"{"ruleId":"SNS-001","status":"FAILURE","resource":"arn:aws:sns:us-east-1:222222222222:topic"}"#),
            Decision::Reject(r) if r.contains("222222222222")
        ));
        assert!(matches!(
            decide_text(
                r#"{"ruleId":"SNS-001","status":"FAILURE","resource":"arn:aws:sns:us-east-1:111111111111:topic"}"#
            ),
            Decision::Act { .. }
        ));
    }
}
