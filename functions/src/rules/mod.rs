//! The rule catalog, one module per AWS service. Each module exports `RULES`, the
//! metadata of its rules, and `remediate`, which runs any of them: a rule's check and fix
//! sit beside its metadata. [`ALL`] gathers the services. See `crate::catalog` for the
//! metadata's shape and `crate::rule` for what a fix works with.

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
use crate::rule::{Context, Report, RuleError};
use futures::future::BoxFuture;

/// Runs one of a service's rules on `ctx.rule`.
pub type Remediate = for<'a> fn(&'a Context) -> BoxFuture<'a, Result<Report, RuleError>>;

/// One service module: its rules' metadata and the function that runs them.
pub struct Service {
    pub rules: &'static [RuleSpec],
    pub remediate: Remediate,
}

/// Every service, in catalog order.
pub static ALL: &[Service] = &[
    Service {
        rules: apigateway::RULES,
        remediate: apigateway::remediate,
    },
    Service {
        rules: cloudformation::RULES,
        remediate: cloudformation::remediate,
    },
    Service {
        rules: cloudtrail::RULES,
        remediate: cloudtrail::remediate,
    },
    Service {
        rules: config_service::RULES,
        remediate: config_service::remediate,
    },
    Service {
        rules: ebs::RULES,
        remediate: ebs::remediate,
    },
    Service {
        rules: ec2::RULES,
        remediate: ec2::remediate,
    },
    Service {
        rules: guardduty::RULES,
        remediate: guardduty::remediate,
    },
    Service {
        rules: iam::RULES,
        remediate: iam::remediate,
    },
    Service {
        rules: kinesis::RULES,
        remediate: kinesis::remediate,
    },
    Service {
        rules: kms::RULES,
        remediate: kms::remediate,
    },
    Service {
        rules: lambda::RULES,
        remediate: lambda::remediate,
    },
    Service {
        rules: organizations::RULES,
        remediate: organizations::remediate,
    },
    Service {
        rules: rds::RULES,
        remediate: rds::remediate,
    },
    Service {
        rules: redshift::RULES,
        remediate: redshift::remediate,
    },
    Service {
        rules: s3::RULES,
        remediate: s3::remediate,
    },
    Service {
        rules: sns::RULES,
        remediate: sns::remediate,
    },
    Service {
        rules: sqs::RULES,
        remediate: sqs::remediate,
    },
    Service {
        rules: vpc::RULES,
        remediate: vpc::remediate,
    },
];

/// The function that runs the rule `id`, with its metadata.
pub fn find(id: &str) -> Option<(&'static RuleSpec, Remediate)> {
    ALL.iter().find_map(|service| {
        service
            .rules
            .iter()
            .find(|r| r.id == id)
            .map(|r| (r, service.remediate))
    })
}

#[cfg(test)]
mod tests {
    use super::ALL;
    fn all() -> impl Iterator<Item = &'static [crate::catalog::RuleSpec]> {
        ALL.iter().map(|s| s.rules)
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
