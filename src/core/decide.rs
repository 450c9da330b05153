//! What to do with one target's stack, and what a plan or a status amounts to: pure
//! decisions over what DescribeStacks (or a change set) said and the hash of what we would
//! deploy. No AWS call.
//!
//! | stack state | [`decide`] |
//! | --- | --- |
//! | none, `DELETE_COMPLETE`, `REVIEW_IN_PROGRESS` | create |
//! | settled (`*_COMPLETE` but `ROLLBACK_COMPLETE`), same hash | unchanged |
//! | settled, another hash | update |
//! | `ROLLBACK_COMPLETE` (a first create failed; it cannot be updated) | delete, then create |
//! | `*_IN_PROGRESS` | wait (up to the target timeout), then decide again |
//! | `UPDATE_ROLLBACK_FAILED` | `--fix-rollback`: continue the rollback, then decide again; else refuse |
//! | any other `*_FAILED` | refuse, with the status and reason |

use crate::core::stack::{ResourceChange, HASH_TAG};
use crate::core::stack::{StackState, StackStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No stack yet (or only a deleted one, or one that never left review): create it.
    Create,
    /// A settled stack with another hash: update it.
    Update,
    /// A settled stack with the same hash: nothing to do.
    Unchanged,
    /// An operation is running on the stack (ours or another run's): wait, then decide again.
    Wait,
    /// `ROLLBACK_COMPLETE`: the first create failed and left a stack that cannot be updated;
    /// delete it, then create.
    Recreate,
    /// `UPDATE_ROLLBACK_FAILED` with `--fix-rollback`: continue the rollback, then decide again.
    ContinueRollback,
    /// The stack is in a state we do not touch without an operator; the reason says which.
    Refuse(String),
}

pub fn decide(existing: Option<&StackState>, desired_hash: &str, fix_rollback: bool) -> Action {
    let Some(stack) = existing else {
        return Action::Create;
    };
    match &stack.status {
        StackStatus::DeleteComplete | StackStatus::ReviewInProgress => Action::Create,
        status if status.is_settled() => {
            if stack.tag(HASH_TAG) == Some(desired_hash) {
                Action::Unchanged
            } else {
                Action::Update
            }
        }
        StackStatus::RollbackComplete => Action::Recreate,
        StackStatus::UpdateRollbackFailed if fix_rollback => Action::ContinueRollback,
        StackStatus::UpdateRollbackFailed => Action::Refuse(format!(
            "stack is UPDATE_ROLLBACK_FAILED{}; run again with --fix-rollback to continue the rollback (skip the resources that cannot roll back by hand first)",
            stack
                .status_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )),
        status if status.is_busy() => Action::Wait,
        status => Action::Refuse(match &stack.status_reason {
            Some(reason) => format!("stack is {status}: {reason}"),
            None => format!("stack is {status}"),
        }),
    }
}

/// How a target's deployed stack compares with what this run would deploy (`remedy status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Settled, with this run's hash.
    Current,
    /// There is a stack, but not this deployment in a settled state.
    Outdated,
    /// No stack (or only a deleted one, or one still in review).
    Missing,
}

pub fn freshness(existing: Option<&StackState>, desired_hash: &str) -> Freshness {
    match decide(existing, desired_hash, false) {
        Action::Create => Freshness::Missing,
        Action::Unchanged => Freshness::Current,
        _ => Freshness::Outdated,
    }
}

/// What `remedy plan` found for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanAction {
    Create,
    Update,
    /// An update in which at least one resource is replaced.
    Replace,
    /// A `ROLLBACK_COMPLETE` stack: deleted, then created.
    Recreate,
    Unchanged,
    /// The stack cannot be planned now (busy, failed, or AWS refused); the reason says why.
    Blocked,
    /// Not planned: the run was interrupted before this target started.
    Skipped,
}

impl PlanAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanAction::Create => "create",
            PlanAction::Update => "update",
            PlanAction::Replace => "replace",
            PlanAction::Recreate => "recreate",
            PlanAction::Unchanged => "unchanged",
            PlanAction::Blocked => "blocked",
            PlanAction::Skipped => "skipped",
        }
    }
}

/// An update replaces something when any change says `Replacement: True` (or `Conditional`:
/// CloudFormation cannot tell before running it, so we count the worst case).
pub fn update_kind(changes: &[ResourceChange]) -> PlanAction {
    if changes
        .iter()
        .any(|c| matches!(c.replacement.as_deref(), Some("True" | "Conditional")))
    {
        PlanAction::Replace
    } else {
        PlanAction::Update
    }
}

/// An account's IAM roles and its quota (GetAccountSummary's `Roles` and `RolesQuota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleRoom {
    pub used: usize,
    pub quota: usize,
}

/// The IAM roles a change adds to the account: roles the change set adds, and roles it
/// replaces (CloudFormation makes the new one before it deletes the old). Counted, not
/// compared as totals: a stack that swaps one rule for another keeps its role count but
/// needs a free role while it updates.
pub fn roles_added(changes: &[ResourceChange]) -> usize {
    changes
        .iter()
        .filter(|c| c.resource_type == "AWS::IAM::Role")
        .filter(|c| {
            c.action == "Add"
                || (c.action == "Modify"
                    && matches!(c.replacement.as_deref(), Some("True") | Some("Conditional")))
        })
        .count()
}

/// Why an account cannot take `added` more roles, if it cannot: IAM roles are account-wide,
/// and the account's `used` roles plus those must stay within its `quota`.
pub fn role_quota_refusal(room: RoleRoom, added: usize) -> Option<String> {
    (room.used.saturating_add(added) > room.quota).then(|| {
        format!(
            "IAM role quota: the account has {} of its {} roles and the stack needs {added} more: raise the account's \"Roles per account\" quota (Service Quotas, IAM) or deploy fewer rules",
            room.used, room.quota
        )
    })
}

/// What an unattended run without `--yes` would change, from each target's freshness
/// (`None`: unread): `None` when nothing, else "2 would be created, 1 updated, 1 unread".
pub fn unattended_changes(freshness: impl Iterator<Item = Option<Freshness>>) -> Option<String> {
    let (mut missing, mut outdated, mut unread) = (0, 0, 0);
    for f in freshness {
        match f {
            Some(Freshness::Current) => {}
            Some(Freshness::Missing) => missing += 1,
            Some(Freshness::Outdated) => outdated += 1,
            None => unread += 1,
        }
    }
    if missing + outdated + unread == 0 {
        return None;
    }
    let mut parts = Vec::new();
    if missing > 0 {
        parts.push(format!("{missing} would be created"));
    }
    if outdated > 0 {
        parts.push(format!("{outdated} updated"));
    }
    if unread > 0 {
        parts.push(format!("{unread} could not be read"));
    }
    Some(parts.join(", "))
}

/// A plan's counts per action (`plan --output json`'s `summary`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanCounts {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub recreate: usize,
    pub unchanged: usize,
    pub blocked: usize,
    pub skipped: usize,
}

impl PlanCounts {
    pub fn of(actions: &[PlanAction]) -> PlanCounts {
        let mut c = PlanCounts::default();
        for a in actions {
            *match a {
                PlanAction::Create => &mut c.create,
                PlanAction::Update => &mut c.update,
                PlanAction::Replace => &mut c.replace,
                PlanAction::Recreate => &mut c.recreate,
                PlanAction::Unchanged => &mut c.unchanged,
                PlanAction::Blocked => &mut c.blocked,
                PlanAction::Skipped => &mut c.skipped,
            } += 1;
        }
        c
    }
}

/// "412 targets: 400 unchanged, 10 update, 2 replace" (zero counts left out).
pub fn plan_summary(actions: &[PlanAction]) -> String {
    let order = [
        PlanAction::Unchanged,
        PlanAction::Create,
        PlanAction::Update,
        PlanAction::Replace,
        PlanAction::Recreate,
        PlanAction::Blocked,
        PlanAction::Skipped,
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|kind| {
            let n = actions.iter().filter(|a| *a == kind).count();
            (n > 0).then(|| format!("{n} {}", kind.as_str()))
        })
        .collect();
    let noun = if actions.len() == 1 {
        "target"
    } else {
        "targets"
    };
    if parts.is_empty() {
        format!("{} {noun}", actions.len())
    } else {
        format!("{} {noun}: {}", actions.len(), parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unattended_run_goes_on_only_when_nothing_would_change() {
        use Freshness::*;
        assert_eq!(
            unattended_changes([Some(Current), Some(Current)].into_iter()),
            None
        );
        assert_eq!(
            unattended_changes([Some(Missing), Some(Current), Some(Outdated), None].into_iter())
                .as_deref(),
            Some("1 would be created, 1 updated, 1 could not be read")
        );
    }

    #[test]
    fn the_role_quota_counts_the_roles_a_deploy_adds() {
        let room = |used, quota| RoleRoom { used, quota };
        // A first deploy of 61 roles into an account with 950 of 1,000: refused, and why.
        let refusal = role_quota_refusal(room(950, 1000), 61).unwrap();
        assert!(refusal.contains("950 of its 1000 roles"), "{refusal}");
        assert!(refusal.contains("61 more"), "{refusal}");
        // Exactly at the quota is allowed.
        assert_eq!(role_quota_refusal(room(939, 1000), 61), None);
        assert_eq!(role_quota_refusal(room(1000, 1000), 0), None);
        // What a change set adds: new roles and replaced ones, not removed or modified in place.
        let change = |action: &str, kind: &str, replacement: Option<&str>| ResourceChange {
            action: action.into(),
            logical_id: "X".into(),
            resource_type: kind.into(),
            replacement: replacement.map(str::to_owned),
        };
        let swap = [
            change("Add", "AWS::IAM::Role", None),
            change("Remove", "AWS::IAM::Role", None),
            change("Modify", "AWS::IAM::Role", Some("True")),
            change("Modify", "AWS::IAM::Role", Some("False")),
            change("Add", "AWS::Lambda::Function", None),
        ];
        assert_eq!(roles_added(&swap), 2);
    }

    use super::*;

    fn stack(status: &str, hash: Option<&str>) -> StackState {
        StackState {
            stack_id: None,
            status: StackStatus::parse(status),
            status_reason: None,
            tags: hash
                .map(|h| (HASH_TAG.to_owned(), h.to_owned()))
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(None, "h", false), Action::Create);
        assert_eq!(
            decide(Some(&stack("DELETE_COMPLETE", None)), "h", false),
            Action::Create
        );
        assert_eq!(
            decide(Some(&stack("REVIEW_IN_PROGRESS", None)), "h", false),
            Action::Create
        );
        assert_eq!(
            decide(Some(&stack("CREATE_COMPLETE", Some("h"))), "h", false),
            Action::Unchanged
        );
        assert_eq!(
            decide(Some(&stack("UPDATE_COMPLETE", Some("old"))), "h", false),
            Action::Update
        );
        assert_eq!(
            decide(
                Some(&stack("UPDATE_ROLLBACK_COMPLETE", Some("old"))),
                "h",
                false
            ),
            Action::Update
        );
        assert_eq!(
            decide(Some(&stack("CREATE_COMPLETE", None)), "h", false),
            Action::Update
        );
        assert_eq!(
            decide(Some(&stack("UPDATE_IN_PROGRESS", Some("h"))), "h", false),
            Action::Wait
        );
        assert_eq!(
            decide(Some(&stack("ROLLBACK_COMPLETE", None)), "h", false),
            Action::Recreate
        );
        assert_eq!(
            decide(Some(&stack("UPDATE_ROLLBACK_FAILED", Some("h"))), "h", true),
            Action::ContinueRollback
        );
        assert!(
            matches!(decide(Some(&stack("DELETE_FAILED", None)), "h", true), Action::Refuse(r) if r.contains("DELETE_FAILED"))
        );
        assert!(
            matches!(decide(Some(&stack("UPDATE_ROLLBACK_FAILED", None)), "h", false), Action::Refuse(r) if r.contains("UPDATE_ROLLBACK_FAILED"))
        );
    }

    #[test]
    fn freshness_and_plan_summaries() {
        assert_eq!(freshness(None, "h"), Freshness::Missing);
        assert_eq!(
            freshness(Some(&stack("UPDATE_COMPLETE", Some("h"))), "h"),
            Freshness::Current
        );
        assert_eq!(
            freshness(Some(&stack("UPDATE_COMPLETE", Some("old"))), "h"),
            Freshness::Outdated
        );
        assert_eq!(
            freshness(Some(&stack("ROLLBACK_COMPLETE", Some("h"))), "h"),
            Freshness::Outdated
        );

        let change = |replacement: Option<&str>| ResourceChange {
            action: "Modify".into(),
            logical_id: "Topic".into(),
            resource_type: "AWS::SNS::Topic".into(),
            replacement: replacement.map(str::to_owned),
        };
        assert_eq!(update_kind(&[change(Some("False"))]), PlanAction::Update);
        assert_eq!(update_kind(&[change(None)]), PlanAction::Update);
        assert_eq!(
            update_kind(&[change(Some("False")), change(Some("True"))]),
            PlanAction::Replace
        );

        let mut actions = vec![PlanAction::Unchanged; 400];
        actions.extend([PlanAction::Update; 10]);
        actions.extend([PlanAction::Replace; 2]);
        assert_eq!(
            plan_summary(&actions),
            "412 targets: 400 unchanged, 10 update, 2 replace"
        );
        assert_eq!(plan_summary(&[PlanAction::Create]), "1 target: 1 create");
        assert_eq!(plan_summary(&[]), "0 targets");
    }
}
