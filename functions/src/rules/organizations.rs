//! Organizations rules: the organization has all features enabled (run from the
//! management account).

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Start enabling all features (a handshake every member account must accept).
    RuleSpec {
        id: "Organizations-002",
        title: "Enable All Features",
        service: "Organizations",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "organizations:DescribeOrganization",
            "organizations:EnableAllFeatures",
        ],
        fix: |ctx| Box::pin(enable_all_features(ctx)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding is about the organization; only its management account
// can change the feature set.

use crate::rule::{error_code, Context, Report, RuleError};
use aws_sdk_organizations::types::{Organization, OrganizationFeatureSet};
use aws_sdk_organizations::Client;

/// What Organizations-002 does about `org`, seen from `account_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSetDecision {
    /// Nothing to do: the report says why.
    Done(Report),
    /// Start the enable-all-features handshake, described by this action.
    Enable(String),
}

pub fn feature_set_decision(org: &Organization, account_id: &str) -> FeatureSetDecision {
    let id = org.id().unwrap_or("the organization");
    if org.feature_set() == Some(&OrganizationFeatureSet::All) {
        return FeatureSetDecision::Done(Report::compliant(format!(
            "organization {id} has all features enabled"
        )));
    }
    match org.master_account_id() {
        Some(management) if management == account_id => FeatureSetDecision::Enable(format!(
            "started enabling all features in organization {id}: every member account that joined by \
             invitation must accept the handshake before the feature set changes"
        )),
        management => FeatureSetDecision::Done(Report::failed(format!(
            "organization {id} has only consolidated billing, and only its management account ({}) can \
             enable all features; this is account {account_id}",
            management.unwrap_or("unknown")
        ))),
    }
}

/// Organizations-002.
async fn enable_all_features(ctx: &Context) -> Result<Report, RuleError> {
    let organizations = Client::new(&ctx.aws);
    let described = match organizations.describe_organization().send().await {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("AWSOrganizationsNotInUseException") => {
            return Ok(Report::skipped(format!(
                "account {} is not in an organization",
                ctx.account_id
            )));
        }
        Err(e) => return Err(RuleError::aws("DescribeOrganization", &e)),
    };
    let org = described
        .organization()
        .ok_or_else(|| RuleError::new("DescribeOrganization returned no organization"))?;
    let action = match feature_set_decision(org, &ctx.account_id) {
        FeatureSetDecision::Done(report) => return Ok(report),
        FeatureSetDecision::Enable(action) => action,
    };
    let mut already_started = false;
    let report = ctx
        .fix(vec![action], async {
            match organizations.enable_all_features().send().await {
                Ok(_) => {
                    crate::rule::changed(
                        "organizations:EnableAllFeatures",
                        ctx.account_id.as_str(),
                    );
                    Ok(())
                }
                Err(e) if error_code(&e) == Some("DuplicateHandshakeException") => {
                    already_started = true;
                    Ok(())
                }
                Err(e) => Err(RuleError::aws("EnableAllFeatures", &e)),
            }
        })
        .await?;
    if already_started {
        return Ok(Report::skipped(
            "enabling all features was already started: the organization waits for its member accounts \
             to accept the handshake",
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Outcome;

    fn org(features: OrganizationFeatureSet) -> Organization {
        Organization::builder()
            .id("o-example")
            .master_account_id("111111111111")
            .feature_set(features)
            .build()
    }

    #[test]
    fn all_features_is_compliant_from_anywhere() {
        for account in ["111111111111", "222222222222"] {
            match feature_set_decision(&org(OrganizationFeatureSet::All), account) {
                FeatureSetDecision::Done(report) => assert_eq!(report.outcome, Outcome::Compliant),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn consolidated_billing_is_enabled_from_the_management_account_only() {
        let billing = org(OrganizationFeatureSet::ConsolidatedBilling);
        assert!(
            matches!(feature_set_decision(&billing, "111111111111"), FeatureSetDecision::Enable(a) if a.contains("o-example"))
        );
        match feature_set_decision(&billing, "222222222222") {
            FeatureSetDecision::Done(report) => {
                assert_eq!(report.outcome, Outcome::Failed);
                assert!(report
                    .reason
                    .unwrap_or_default()
                    .contains("only its management account (111111111111)"));
            }
            other => panic!("{other:?}"),
        }
    }
}
