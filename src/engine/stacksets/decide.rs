//! The stacksets engine's decisions, without AWS: the shape of a stage's operation and its
//! preferences, the deployment targets, when the StackSet needs an update, and each
//! target's outcome, plan action or status read from its own stack instance. Pure: it
//! reads the SDK's status enums as plain data and calls nothing.

use crate::core::config::{too_many_ous, MAX_OUS_PER_OPERATION};
use crate::core::decide::{Freshness, PlanAction};
use crate::core::outcome::{InspectedTarget, PlannedTarget, Stray};
use crate::core::outcome::{Outcome, TargetResult};
use crate::core::stack::findings_topic_arn;
use crate::core::targets::Target;
use aws_sdk_cloudformation::types::{StackInstanceDetailedStatus as Detailed, StackInstanceStatus};
use std::collections::BTreeMap;
use std::time::Duration;

/// Where a stage's operation deploys and how fast: the inputs of [`preferences`] and
/// [`deployment_targets`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageShape {
    pub ou_ids: Vec<String>,
    /// The stage's home region: the only region of its instances.
    pub home: String,
    /// Accounts the stage lists by id (outside its OUs or not).
    pub accounts: Vec<String>,
    /// Accounts the stage excludes.
    pub exclude: Vec<String>,
    /// The accounts this run deploys, when narrowed (`deploy --account`).
    pub narrowed_to: Option<Vec<String>>,
    /// The run deploys fewer accounts than the stage has.
    pub narrowed: bool,
    pub concurrency: usize,
    pub failure_tolerance: usize,
    /// How many accounts the stage has (for the operation's timeout).
    pub account_count: usize,
}

/// The operation preferences, as StackSets takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub max_concurrent_count: i32,
    pub failure_tolerance_count: i32,
    /// The instances' one region: the home region.
    pub regions: Vec<String>,
}

/// The stage's limits as StackSets counts them: one instance per account, in the home region,
/// so `concurrency` accounts in flight and `failure_tolerance` failures are the counts
/// themselves (at least one account at a time). Counts, not percentages: a percentage cannot
/// go below 1 % of the accounts, which would run 10 of a 1,000-account stage at once where
/// the stage says 8.
pub fn preferences(shape: &StageShape) -> Preferences {
    Preferences {
        max_concurrent_count: i32::try_from(shape.concurrency.max(1)).unwrap_or(i32::MAX),
        failure_tolerance_count: i32::try_from(shape.failure_tolerance).unwrap_or(i32::MAX),
        regions: vec![shape.home.clone()],
    }
}

/// Which accounts an operation targets, as StackSets takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub ou_ids: Vec<String>,
    pub accounts: Vec<String>,
    pub filter: Option<AccountFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountFilter {
    /// Only these accounts of the OUs (a narrowed run).
    Intersection,
    /// The OUs without these accounts (`exclude`).
    Difference,
    /// The OUs and these accounts (`accounts`).
    Union,
}

/// The stage's OUs, with the one account filter StackSets allows per operation. A stage
/// that both lists and excludes accounts, or a narrowed run of a stage that lists accounts,
/// needs two filters at once: that is refused (exit 2) with what to change.
pub fn deployment_targets(shape: &StageShape) -> Result<Reach, String> {
    let reach = |accounts: &[String], filter| Reach {
        ou_ids: shape.ou_ids.clone(),
        accounts: accounts.to_vec(),
        filter,
    };
    if shape.ou_ids.is_empty() {
        return Err("engine `stacksets` deploys to OUs: the stage names none".into());
    }
    if shape.ou_ids.len() > MAX_OUS_PER_OPERATION {
        return Err(too_many_ous(shape.ou_ids.len()));
    }
    match (
        &shape.narrowed_to,
        shape.accounts.is_empty(),
        shape.exclude.is_empty(),
    ) {
        (Some(_), false, _) => Err(
            "engine `stacksets`: a narrowed run (--account) of a stage that lists `accounts` \
             needs two account filters; move those accounts into an OU of the stage"
                .into(),
        ),
        (Some(only), true, _) => Ok(reach(only, Some(AccountFilter::Intersection))),
        (None, false, false) => Err(
            "engine `stacksets` takes `accounts` or `exclude` in a stage, not both (one \
             account filter per operation)"
                .into(),
        ),
        (None, false, true) => Ok(reach(&shape.accounts, Some(AccountFilter::Union))),
        (None, true, false) => Ok(reach(&shape.exclude, Some(AccountFilter::Difference))),
        (None, true, true) => Ok(reach(&[], None)),
    }
}

/// How long an operation may run: one target timeout per wave of concurrent accounts.
pub fn operation_timeout(shape: &StageShape, target_timeout: Duration) -> Duration {
    let waves = shape
        .account_count
        .max(1)
        .div_ceil(shape.concurrency.max(1));
    target_timeout.saturating_mul(u32::try_from(waves).unwrap_or(u32::MAX))
}

/// One stack instance, as ListStackInstances reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `CURRENT`, `OUTDATED` or `INOPERABLE`.
    pub status: StackInstanceStatus,
    /// `SUCCEEDED`, `FAILED`, `RUNNING`, `SKIPPED_SUSPENDED_ACCOUNT`, …
    pub detailed: Detailed,
    pub reason: Option<String>,
    /// The instance's stack (its ARN), once it has one.
    pub stack_id: Option<String>,
}

impl Instance {
    fn is_current(&self) -> bool {
        self.status == StackInstanceStatus::Current
    }

    fn is_suspended(&self) -> bool {
        self.detailed == Detailed::SkippedSuspendedAccount
    }
}

/// (account, region) → instance.
pub type Instances = BTreeMap<(String, String), Instance>;

/// What happened to the stage's StackSet in this run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operations {
    /// The StackSet was created or its template, parameters or tags updated.
    pub updated: bool,
    /// Set when an operation did not succeed: its status and reason.
    pub failure: Option<String>,
    /// The run was interrupted and the operation stopped.
    pub stopped: bool,
}

/// Whether an update should name the home region and the stage's reach: only when the
/// StackSet has instances both there and elsewhere (an earlier layout's). Without any in
/// the home region, naming it would be refused, and the update reaches every instance.
pub fn update_home_only(home: &str, instances: &Instances) -> bool {
    let (here, elsewhere): (Vec<_>, Vec<_>) = instances.keys().partition(|(_, r)| r == home);
    !here.is_empty() && !elsewhere.is_empty()
}

/// The StackSet's instances of the targets' accounts outside the home region: strays of an
/// earlier layout (StackSet instances exist only where a run created them).
pub fn strays(targets: &[Target], home: &str, instances: &Instances) -> Vec<Stray> {
    let accounts: std::collections::BTreeSet<&str> =
        targets.iter().map(|t| t.account.id.as_str()).collect();
    instances
        .iter()
        .filter(|((account, region), _)| region != home && accounts.contains(account.as_str()))
        .map(|((account, region), instance)| Stray {
            account_id: account.clone(),
            region: region.clone(),
            stack_status: Some(format!(
                "stack instance {} ({})",
                instance.status.as_str(),
                instance.detailed.as_str()
            )),
            stage: None,
        })
        .collect()
}

/// Every target's result from its instance before and after the run.
pub fn outcomes(
    targets: &[Target],
    before: &Instances,
    after: &Instances,
    ops: &Operations,
) -> Vec<TargetResult> {
    targets
        .iter()
        .map(|target| {
            let key = (target.account.id.clone(), target.region.clone());
            let Some(instance) = after.get(&key) else {
                if ops.stopped {
                    // Never started: skipped, as the scheduler reports its untouched targets.
                    let reason = "not started: the run was interrupted (Ctrl-C); the StackSet operation was stopped";
                    return TargetResult::not_started(target, reason.to_owned());
                }
                let reason = format!(
                    "StackSets made no stack instance here{}",
                    ops.failure
                        .as_ref()
                        .map(|f| format!(" (operation {f})"))
                        .unwrap_or_default()
                );
                return TargetResult::new(target, Outcome::Failed, None, Some(reason));
            };
            // `stack_status` is a stack's status (the README's JSON); StackSets reports the
            // instance's, which goes into the reason where it matters.
            let status = None;
            let reason = || {
                instance
                    .reason
                    .clone()
                    .or_else(|| ops.failure.clone())
                    .unwrap_or_else(|| "no reason given".into())
            };
            match (&instance.status, &instance.detailed) {
                (_, Detailed::SkippedSuspendedAccount) => TargetResult::new(
                    target,
                    Outcome::Skipped,
                    status,
                    Some("StackSets skipped the account: it is suspended".into()),
                ),
                (StackInstanceStatus::Current, Detailed::Succeeded) => {
                    let outcome = match before.get(&key) {
                        None => Outcome::Created,
                        Some(_) if ops.updated => Outcome::Updated,
                        // Was failed or outdated, and is current now.
                        Some(was) if !was.is_current() => Outcome::Updated,
                        Some(_) => Outcome::Unchanged,
                    };
                    TargetResult::new(target, outcome, status, None)
                }
                (_, Detailed::Pending | Detailed::Running) => TargetResult::new(
                    target,
                    Outcome::Failed,
                    status,
                    Some(format!(
                        "still {} when the run ended{}",
                        instance.detailed.as_str(),
                        if ops.stopped { " (interrupted)" } else { "" }
                    )),
                ),
                (state, detailed) => TargetResult::new(
                    target,
                    Outcome::Failed,
                    status,
                    Some(format!(
                        "stack instance {} ({}): {}",
                        state.as_str(),
                        detailed.as_str(),
                        reason()
                    )),
                ),
            }
        })
        .collect()
}

/// What `plan` says of each target of a StackSets stage. StackSets has no change-set
/// preview: a target is `create` without an instance, `update` when the StackSet's hash
/// differs (or its instance is not current), else `unchanged`.
pub fn plan(
    targets: &[Target],
    set_hash: Option<Option<&str>>,
    desired_hash: &str,
    instances: &Instances,
) -> Vec<PlannedTarget> {
    targets
        .iter()
        .map(|t| {
            let instance = instances.get(&(t.account.id.clone(), t.region.clone()));
            let action = match (set_hash, instance) {
                (_, None) => PlanAction::Create,
                (Some(Some(h)), Some(i)) if h == desired_hash && i.is_current() => {
                    PlanAction::Unchanged
                }
                _ => PlanAction::Update,
            };
            let mut planned = PlannedTarget::without_changes(
                t,
                action,
                (action == PlanAction::Update)
                    .then(|| "the StackSet's template, parameters or tags change (StackSets has no change-set preview)".to_owned()),
            );
            planned.deployed_hash = set_hash.flatten().map(str::to_owned);
            planned
        })
        .collect()
}

/// What `status` says of each target of a StackSets stage: `current` when its instance is
/// `CURRENT` under a StackSet with this run's hash, `missing` without an instance.
pub fn inspect(
    targets: &[Target],
    set_hash: Option<Option<&str>>,
    desired_hash: &str,
    instances: &Instances,
) -> Vec<InspectedTarget> {
    targets
        .iter()
        .map(|t| {
            let instance = instances.get(&(t.account.id.clone(), t.region.clone()));
            let hash = set_hash.flatten().map(str::to_owned);
            let freshness = match instance {
                None => Freshness::Missing,
                Some(i) if i.is_current() && hash.as_deref() == Some(desired_hash) => {
                    Freshness::Current
                }
                Some(_) => Freshness::Outdated,
            };
            InspectedTarget {
                account_id: t.account.id.clone(),
                account_name: t.account.name.clone(),
                region: t.region.clone(),
                stack_status: None,
                version: None,
                // Only a current instance carries the StackSet's hash.
                hash: hash.filter(|_| instance.is_some_and(|i| i.is_current())),
                freshness: Some(freshness),
                drift: None,
                paused: Vec::new(),
                pause_error: None,
                conformity: None,
                findings_topic: instance
                    .and_then(|i| i.stack_id.as_deref())
                    .and_then(findings_topic_arn),
                reason: instance.filter(|i| !i.is_current()).map(|i| {
                    format!(
                        "stack instance {} ({}){}",
                        i.status.as_str(),
                        i.detailed.as_str(),
                        i.reason
                            .as_ref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    )
                }),
            }
        })
        .collect()
}

/// What a run does to the StackSet itself before it creates missing instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetAction {
    /// There is none: CreateStackSet.
    Create,
    /// UpdateStackSet over every instance: the hash differs, or instances of this stage's
    /// targets are not current (a failed, stopped or timed-out operation left them so).
    Update { new_hash: bool },
    /// Nothing to change on the StackSet.
    Keep,
    /// A narrowed run (`--account`, `--region`, `onboard`) cannot change the template of a
    /// StackSet: StackSets marks every instance outdated when it does.
    Refuse(String),
}

/// Decides [`SetAction`] from the StackSet's hash (outer `None`: no StackSet) and the
/// targets' instances.
pub fn set_action(
    set_hash: Option<Option<&str>>,
    desired_hash: &str,
    narrowed: bool,
    targets: &[Target],
    before: &Instances,
) -> SetAction {
    let Some(hash) = set_hash else {
        return SetAction::Create;
    };
    let new_hash = hash != Some(desired_hash);
    let stale = targets.iter().any(|t| {
        before
            .get(&(t.account.id.clone(), t.region.clone()))
            .is_some_and(|i| !i.is_current() && !i.is_suspended())
    });
    match (narrowed, new_hash, stale) {
        (true, true, _) => SetAction::Refuse(format!(
            "the StackSet carries another deployment ({}); a narrowed run cannot change it \
             (StackSets would mark every instance outdated): deploy the whole stage first",
            hash.unwrap_or("no hash")
        )),
        (false, true, _) => SetAction::Update { new_hash: true },
        (false, false, true) => SetAction::Update { new_hash: false },
        _ => SetAction::Keep,
    }
}

/// Whether any target still needs an instance (a new account, a new region).
pub(super) fn needs_instances(targets: &[Target], instances: &Instances) -> bool {
    targets
        .iter()
        .any(|t| !instances.contains_key(&(t.account.id.clone(), t.region.clone())))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::targets::TargetAccount;

    fn shape() -> StageShape {
        StageShape {
            ou_ids: vec!["ou-ab12-cdefgh34".into()],
            home: "eu-west-1".into(),
            accounts: vec![],
            exclude: vec![],
            narrowed_to: None,
            narrowed: false,
            concurrency: 16,
            failure_tolerance: 3,
            account_count: 1000,
        }
    }

    #[test]
    fn the_stage_limits_are_the_operation_counts_in_the_home_region_only() {
        // One instance per account: the stage's limits are StackSets' counts as they are.
        let p = preferences(&shape());
        assert_eq!((p.max_concurrent_count, p.failure_tolerance_count), (16, 3));
        assert_eq!(p.regions, ["eu-west-1"]);
        // Never zero accounts at a time.
        let narrow = StageShape {
            concurrency: 1,
            failure_tolerance: 0,
            ..shape()
        };
        let p = preferences(&narrow);
        assert_eq!((p.max_concurrent_count, p.failure_tolerance_count), (1, 0));
    }

    #[test]
    fn the_stack_set_is_updated_for_a_new_hash_or_stale_instances_and_never_by_a_narrowed_run() {
        let targets = [target("1", "us-east-1"), target("2", "us-east-1")];
        let key = |a: &str| (a.to_owned(), "us-east-1".to_owned());
        let current: Instances = [
            (key("1"), instance("CURRENT", "SUCCEEDED", None)),
            (key("2"), instance("CURRENT", "SUCCEEDED", None)),
        ]
        .into();
        let stale: Instances = [
            (key("1"), instance("CURRENT", "SUCCEEDED", None)),
            (key("2"), instance("OUTDATED", "CANCELLED", None)),
        ]
        .into();
        let suspended: Instances = [(
            key("2"),
            instance("INOPERABLE", "SKIPPED_SUSPENDED_ACCOUNT", None),
        )]
        .into();
        assert_eq!(
            set_action(None, "h", false, &targets, &current),
            SetAction::Create
        );
        assert_eq!(
            set_action(Some(Some("h")), "h", false, &targets, &current),
            SetAction::Keep
        );
        assert_eq!(
            set_action(Some(Some("old")), "h", false, &targets, &current),
            SetAction::Update { new_hash: true }
        );
        assert_eq!(
            set_action(Some(None), "h", false, &targets, &current),
            SetAction::Update { new_hash: true }
        );
        assert_eq!(
            set_action(Some(Some("h")), "h", false, &targets, &stale),
            SetAction::Update { new_hash: false },
            "a failed or stopped operation's outdated instances are deployed again"
        );
        assert_eq!(
            set_action(Some(Some("h")), "h", false, &targets, &suspended),
            SetAction::Keep,
            "a suspended account is not stale"
        );
        assert!(matches!(
            set_action(Some(Some("old")), "h", true, &targets, &current),
            SetAction::Refuse(reason) if reason.contains("deploy the whole stage")
        ));
        assert_eq!(
            set_action(Some(Some("h")), "h", true, &targets, &stale),
            SetAction::Keep
        );
    }

    #[test]
    fn one_account_filter_per_operation() {
        assert_eq!(deployment_targets(&shape()).unwrap().filter, None);
        let excluding = StageShape {
            exclude: vec!["111111111111".into()],
            ..shape()
        };
        let reach = deployment_targets(&excluding).unwrap();
        assert_eq!(reach.filter, Some(AccountFilter::Difference));
        assert_eq!(reach.accounts, ["111111111111"]);
        let listing = StageShape {
            accounts: vec!["222222222222".into()],
            ..shape()
        };
        assert_eq!(
            deployment_targets(&listing).unwrap().filter,
            Some(AccountFilter::Union)
        );
        let narrowed = StageShape {
            narrowed_to: Some(vec!["333333333333".into()]),
            exclude: vec!["111111111111".into()],
            ..shape()
        };
        let reach = deployment_targets(&narrowed).unwrap();
        assert_eq!(
            (reach.filter, reach.accounts.as_slice()),
            (
                Some(AccountFilter::Intersection),
                &["333333333333".to_owned()][..]
            )
        );
        let both = StageShape {
            accounts: vec!["222222222222".into()],
            exclude: vec!["111111111111".into()],
            ..shape()
        };
        assert!(deployment_targets(&both).unwrap_err().contains("not both"));
        let no_ous = StageShape {
            ou_ids: vec![],
            ..shape()
        };
        assert!(deployment_targets(&no_ous).is_err());
        let many = StageShape {
            ou_ids: (0..51).map(|i| format!("ou-ab12-{i:08}")).collect(),
            ..shape()
        };
        assert!(deployment_targets(&many)
            .unwrap_err()
            .contains("at most 50"));
    }

    #[test]
    fn operations_get_a_target_timeout_per_wave() {
        let t = Duration::from_secs(60);
        // 1,000 accounts, 16 at a time: 63 waves.
        assert_eq!(operation_timeout(&shape(), t), Duration::from_secs(63 * 60));
    }

    fn target(account: &str, region: &str) -> Target {
        Target {
            account: TargetAccount {
                id: account.into(),
                name: format!("n{account}"),
                ou_path: "/W".into(),
            },
            region: region.into(),
        }
    }

    fn instance(status: &str, detailed: &str, reason: Option<&str>) -> Instance {
        Instance {
            status: StackInstanceStatus::from(status),
            detailed: Detailed::from(detailed),
            reason: reason.map(str::to_owned),
            stack_id: None,
        }
    }

    #[test]
    fn an_update_names_the_home_region_only_when_strays_are_beside_home_instances() {
        let of = |keys: &[(&str, &str)]| -> Instances {
            keys.iter()
                .map(|(a, r)| {
                    (
                        ((*a).to_owned(), (*r).to_owned()),
                        instance("CURRENT", "SUCCEEDED", None),
                    )
                })
                .collect()
        };
        assert!(!update_home_only("us-east-1", &of(&[("1", "us-east-1")])));
        assert!(update_home_only(
            "us-east-1",
            &of(&[("1", "us-east-1"), ("1", "eu-west-1")])
        ));
        assert!(!update_home_only("us-east-1", &of(&[("1", "eu-west-1")])));
        assert!(!update_home_only("us-east-1", &Instances::new()));
    }

    #[test]
    fn instances_outside_the_home_region_are_strays_of_the_targets_accounts() {
        let targets = [target("1", "us-east-1"), target("2", "us-east-1")];
        let instances: Instances = [
            (
                ("1".to_owned(), "us-east-1".to_owned()),
                instance("CURRENT", "SUCCEEDED", None),
            ),
            (
                ("1".to_owned(), "eu-west-1".to_owned()),
                instance("CURRENT", "SUCCEEDED", None),
            ),
            (
                ("3".to_owned(), "eu-west-1".to_owned()),
                instance("CURRENT", "SUCCEEDED", None),
            ),
        ]
        .into_iter()
        .collect();
        let strays = strays(&targets, "us-east-1", &instances);
        assert_eq!(strays.len(), 1, "{strays:?}");
        assert_eq!(
            (strays[0].account_id.as_str(), strays[0].region.as_str()),
            ("1", "eu-west-1")
        );
    }

    #[test]
    fn plan_and_status_read_the_stack_set_and_its_instances() {
        let targets = [target("1", "us-east-1"), target("2", "us-east-1")];
        let current: Instances = [(
            ("1".to_owned(), "us-east-1".to_owned()),
            instance("CURRENT", "SUCCEEDED", None),
        )]
        .into();
        let actions = |set: Option<Option<&str>>| -> Vec<PlanAction> {
            plan(&targets, set, "h1", &current)
                .iter()
                .map(|p| p.action)
                .collect()
        };
        assert_eq!(
            actions(Some(Some("h1"))),
            [PlanAction::Unchanged, PlanAction::Create]
        );
        assert_eq!(
            actions(Some(Some("h0"))),
            [PlanAction::Update, PlanAction::Create]
        );
        assert_eq!(actions(None), [PlanAction::Update, PlanAction::Create]);
        let seen: Vec<Option<Freshness>> = inspect(&targets, Some(Some("h1")), "h1", &current)
            .iter()
            .map(|i| i.freshness)
            .collect();
        assert_eq!(seen, [Some(Freshness::Current), Some(Freshness::Missing)]);
        let seen = inspect(&targets, Some(Some("h0")), "h1", &current);
        assert_eq!(seen[0].freshness, Some(Freshness::Outdated));
        assert_eq!(
            seen[0].hash.as_deref(),
            Some("h0"),
            "a current instance carries it"
        );
        let stale: Instances = [(
            ("1".to_owned(), "us-east-1".to_owned()),
            instance("OUTDATED", "FAILED", Some("Topic: already exists")),
        )]
        .into();
        let seen = inspect(&targets, Some(Some("h1")), "h1", &stale);
        assert_eq!(seen[0].freshness, Some(Freshness::Outdated));
        assert_eq!(seen[0].hash, None, "an outdated instance does not carry h1");
        assert_eq!(
            seen[0].reason.as_deref(),
            Some("stack instance OUTDATED (FAILED): Topic: already exists")
        );
    }

    #[test]
    fn each_target_is_reported_from_its_own_instance() {
        let targets = [
            target("1", "us-east-1"),
            target("2", "us-east-1"),
            target("3", "us-east-1"),
            target("4", "us-east-1"),
            target("5", "us-east-1"),
            target("6", "us-east-1"),
        ];
        let key = |a: &str| (a.to_owned(), "us-east-1".to_owned());
        let before: Instances = [
            (key("1"), instance("CURRENT", "SUCCEEDED", None)),
            (key("3"), instance("OUTDATED", "FAILED", Some("old"))),
        ]
        .into();
        let after: Instances = [
            (key("1"), instance("CURRENT", "SUCCEEDED", None)),
            (key("2"), instance("CURRENT", "SUCCEEDED", None)),
            (key("3"), instance("CURRENT", "SUCCEEDED", None)),
            (
                key("4"),
                instance("OUTDATED", "FAILED", Some("Topic: already exists")),
            ),
            (
                key("5"),
                instance("INOPERABLE", "SKIPPED_SUSPENDED_ACCOUNT", None),
            ),
        ]
        .into();
        let ops = Operations::default();
        let results = outcomes(&targets, &before, &after, &ops);
        let got: Vec<(Outcome, Option<&str>)> = results
            .iter()
            .map(|r| (r.outcome, r.reason.as_deref()))
            .collect();
        assert_eq!(got[0], (Outcome::Unchanged, None));
        assert_eq!(got[1], (Outcome::Created, None));
        assert_eq!(
            got[2],
            (Outcome::Updated, None),
            "failed before, current now"
        );
        assert_eq!(got[3].0, Outcome::Failed);
        assert_eq!(
            got[3].1,
            Some("stack instance OUTDATED (FAILED): Topic: already exists")
        );
        assert_eq!(got[4].0, Outcome::Skipped);
        assert_eq!(got[5].0, Outcome::Failed);
        assert!(got[5].1.unwrap().contains("no stack instance"), "{got:?}");
        assert_eq!(results[3].stack_status, None, "not a stack status");

        // After an update every current instance was updated; after a stop, the missing
        // ones were not started.
        let ops = Operations {
            updated: true,
            failure: Some("op-1 STOPPED".into()),
            stopped: true,
        };
        let results = outcomes(&targets, &before, &after, &ops);
        assert_eq!(results[0].outcome, Outcome::Updated);
        assert_eq!(
            results[5].outcome,
            Outcome::Skipped,
            "not started is skipped, not failed"
        );
        assert!(results[5].not_started);
        assert!(results[5]
            .reason
            .as_deref()
            .unwrap()
            .contains("interrupted"));
    }
}
