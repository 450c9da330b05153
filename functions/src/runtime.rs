//! Running a rule: where it acts ([`acting_region`], [`context`]), then its fix
//! (`RuleSpec::fix`), any error turned into a `failed` report so that a failure is never
//! reported as success. Used by the rule functions' Lambda handler and by `remedy remediate`.
//!
//! One stack per account runs every covered region's rules from its home region: a rule's
//! clients are built for the *finding's* region, never the function's own, and its ARNs
//! name that region's partition. Remedy's own stack is still read in the stack's region
//! (from its ARN: `crate::rule::OwnStack`).

use crate::catalog::RuleSpec;
use crate::finding::Finding;
use crate::partition::{global_region, is_region_name, partition};
use crate::rule::{recording_changes, with_own_stack, Context, OwnStack, Report};
use aws_config::SdkConfig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Runs `ctx.rule` and reports what happened, with every change it made
/// (`crate::rule::changed`), a failure's included. Never panics on AWS answers; never reports
/// an error as anything but `failed`.
pub async fn run_rule(ctx: &Context) -> Report {
    let (result, changes) = recording_changes((ctx.rule.fix)(ctx)).await;
    let mut report = match result {
        Ok(report) => report,
        Err(e) => Report::failed(e.0),
    };
    report.changes = changes;
    report
}

/// Runs `ctx.rule` as [`run_rule`] does, knowing remedy's own stack: its resources are left
/// alone (`skipped`). `None`: no stack, nothing is remedy's own.
pub async fn run_rule_for(ctx: &Context, stack: Option<Arc<OwnStack>>) -> Report {
    with_own_stack(stack, run_rule(ctx)).await
}

/// The region a rule acts in for a finding about `finding_region`, run from `own_region`
/// (the function's, or the CLI's home region):
/// - a region: that region, if it is shaped like one and is in `own_region`'s partition;
/// - Conformity's `global`: the global-service region of `own_region`'s partition
///   ([`global_region`]: `us-east-1`, `cn-north-1`, `us-gov-west-1`);
/// - none (or empty): `own_region`.
///
/// Otherwise the reason the finding is refused: its region is not a region name, or lies in
/// another partition, whose accounts and credentials are not this function's.
pub fn acting_region(finding_region: Option<&str>, own_region: &str) -> Result<String, String> {
    let region = match finding_region.map(str::trim).filter(|r| !r.is_empty()) {
        None if own_region.is_empty() => {
            return Err(
                "the finding names no region and this function's own region is unknown".into(),
            )
        }
        None => return Ok(own_region.to_owned()),
        Some(crate::dispatch::GLOBAL) => return Ok(global_region(own_region).to_owned()),
        Some(region) => region,
    };
    if !is_region_name(region) {
        return Err(format!(
            "the finding's region {region:?} is not a region name"
        ));
    }
    let (theirs, ours) = (partition(region), partition(own_region));
    if theirs != ours {
        return Err(format!(
            "finding is for region {region} in partition {theirs}; this function runs in \
             {own_region}, partition {ours}, and cannot act there"
        ));
    }
    Ok(region.to_owned())
}

/// The context in which `rule` acts on `finding`: `own` is the configuration the function
/// (or the CLI) runs with, whose credentials are used; its clients are built for the
/// finding's region ([`acting_region`]). The error is the reason to reject the finding.
pub fn context(
    rule: &'static RuleSpec,
    finding: Finding,
    settings: BTreeMap<String, String>,
    dry_run: bool,
    own: &SdkConfig,
    account_id: String,
) -> Result<Context, String> {
    let own_region = own.region().map(|r| r.as_ref()).unwrap_or_default();
    let region = acting_region(finding.region.as_deref(), own_region)?;
    let aws = if own.region().is_some_and(|r| r.as_ref() == region) {
        own.clone()
    } else {
        own.to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build()
    };
    Ok(Context {
        rule,
        finding,
        settings,
        dry_run,
        aws,
        account_id,
        region,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_act_in_the_findings_region() {
        assert_eq!(
            acting_region(Some("eu-west-1"), "us-east-1"),
            Ok("eu-west-1".into())
        );
        assert_eq!(
            acting_region(Some("us-east-1"), "us-east-1"),
            Ok("us-east-1".into())
        );
        assert_eq!(
            acting_region(Some("cn-northwest-1"), "cn-north-1"),
            Ok("cn-northwest-1".into())
        );
        // No region: the function's own.
        assert_eq!(acting_region(None, "eu-west-1"), Ok("eu-west-1".into()));
        assert_eq!(
            acting_region(Some(" "), "eu-west-1"),
            Ok("eu-west-1".into())
        );
        assert!(acting_region(None, "").is_err());
    }

    #[test]
    fn global_is_the_partitions_global_region() {
        for (own, global) in [
            ("eu-west-1", "us-east-1"),
            ("us-east-1", "us-east-1"),
            ("cn-northwest-1", "cn-north-1"),
            ("us-gov-east-1", "us-gov-west-1"),
        ] {
            assert_eq!(
                acting_region(Some("global"), own),
                Ok(global.into()),
                "{own}"
            );
        }
    }

    #[test]
    fn another_partition_or_a_non_region_is_refused() {
        let err = acting_region(Some("cn-north-1"), "us-east-1").unwrap_err();
        assert!(
            err.contains("cn-north-1") && err.contains("aws-cn") && err.contains("us-east-1"),
            "{err}"
        );
        assert!(acting_region(Some("us-gov-west-1"), "eu-west-1").is_err());
        assert!(acting_region(Some("us-east-1"), "cn-north-1").is_err());
        for bad in ["us-east-1.evil.example", "../x", "Global", "US-EAST-1"] {
            let err = acting_region(Some(bad), "us-east-1").unwrap_err();
            assert!(err.contains("not a region name"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_context_carries_clients_for_the_findings_region() {
        let own = SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let rule = crate::catalog::find_rule("KMS-002").unwrap();
        let finding = |region: &str| -> Finding {
            serde_json::from_value(serde_json::json!({
                "ruleId": "KMS-002", "status": "FAILURE", "region": region
            }))
            .unwrap()
        };
        for (region, acting) in [
            ("eu-west-1", "eu-west-1"),
            ("global", "us-east-1"),
            ("us-east-1", "us-east-1"),
        ] {
            let ctx = context(
                rule,
                finding(region),
                BTreeMap::new(),
                true,
                &own,
                "111111111111".into(),
            )
            .unwrap_or_else(|e| panic!("{region}: {e}"));
            assert_eq!(ctx.region, acting);
            assert_eq!(
                ctx.aws.region().map(|r| r.as_ref()),
                Some(acting),
                "{region}"
            );
        }
        assert!(context(
            rule,
            finding("cn-north-1"),
            BTreeMap::new(),
            true,
            &own,
            "111111111111".into()
        )
        .is_err());
    }
}
