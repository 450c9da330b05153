//! The rule catalog, one module per AWS service. Each module exports `RULES`: per rule, its
//! metadata and its check and fix (`RuleSpec::fix`), so a rule is one value and its id
//! cannot drift from its code. Checks shared by a service's rules (finding the resource,
//! leaving remedy's own alone) sit in a helper of the module that each rule's fix calls.
//! [`ALL`] gathers the services. See `crate::catalog` for the metadata's shape and
//! `crate::rule` for what a fix works with.

pub mod apigateway;
pub mod cloudformation;
pub mod cloudtrail;
pub mod config_service;
pub mod ebs;
pub mod ec2;
pub mod guardduty;
pub mod iam;
pub mod kinesis;
pub mod kms;
pub mod lambda;
pub mod organizations;
pub mod rds;
pub mod redshift;
pub mod s3;
pub mod sns;
pub mod sqs;
pub mod vpc;

use crate::catalog::RuleSpec;

/// Every service's rules, in catalog order.
pub static ALL: &[&[RuleSpec]] = &[
    apigateway::RULES,
    cloudformation::RULES,
    cloudtrail::RULES,
    config_service::RULES,
    ebs::RULES,
    ec2::RULES,
    guardduty::RULES,
    iam::RULES,
    kinesis::RULES,
    kms::RULES,
    lambda::RULES,
    organizations::RULES,
    rds::RULES,
    redshift::RULES,
    s3::RULES,
    sns::RULES,
    sqs::RULES,
    vpc::RULES,
];

#[cfg(test)]
mod tests {
    use super::ALL;
    fn all() -> impl Iterator<Item = &'static [crate::catalog::RuleSpec]> {
        ALL.iter().copied()
    }
    use crate::catalog::Mode;
    use std::collections::HashSet;

    #[test]
    fn rules_are_sorted_by_id_within_each_module() {
        for rules in all() {
            for pair in rules.windows(2) {
                assert!(
                    pair[0].id < pair[1].id,
                    "{} before {}",
                    pair[0].id,
                    pair[1].id
                );
            }
        }
    }

    #[test]
    fn rules_declare_titles_and_unique_actions() {
        for rule in all().flat_map(|rules| rules.iter()) {
            assert!(!rule.title.is_empty(), "{} has no title", rule.id);
            assert!(!rule.service.is_empty(), "{} has no service", rule.id);
            let mut seen = HashSet::new();
            for action in rule.iam_actions {
                assert!(seen.insert(action), "{}: {action} listed twice", rule.id);
            }
        }
    }

    #[test]
    fn settings_are_named_once_and_described() {
        for rule in all().flat_map(|rules| rules.iter()) {
            let mut seen = HashSet::new();
            for setting in rule.settings {
                assert!(seen.insert(setting.name), "{}: {}", rule.id, setting.name);
                assert!(
                    !setting.description.is_empty(),
                    "{}: {}",
                    rule.id,
                    setting.name
                );
            }
        }
    }

    #[test]
    fn only_ag_005_s3_016_and_gd_002_leave_remediate_mode() {
        for rule in all().flat_map(|rules| rules.iter()) {
            let expected = match rule.id {
                // S3-016's Deny statement can break writers it does not know of.
                "AG-005" | "S3-016" => Mode::DryRun,
                "GD-002" => Mode::Notify,
                _ => Mode::Remediate,
            };
            assert_eq!(rule.default_mode, expected, "{}", rule.id);
        }
    }
}
