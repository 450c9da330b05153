//! What happened, as plain data: one target's outcome ([`TargetResult`], and the plan's and
//! status's rows), a run's results in target order ([`Run`]), the stage report the README's
//! JSON prints ([`StageReport`]), what a publish uploaded, and what a progress display sees
//! ([`Seen`], through the [`Progress`] observer).
//!
//! Must not: run, print or call anything. Engines produce these; `report` shows them.

use crate::core::decide::{Freshness, PlanAction};
use crate::core::stack::ResourceChange;
use crate::core::targets::Target;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Failed,
    Skipped,
    /// `remedy remove`, `--prune`: the stack was deleted.
    Removed,
    /// `remedy remove`: there was no stack to delete.
    Absent,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Removed => "removed",
            Outcome::Absent => "absent",
        }
    }
}

/// What happened to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetResult {
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub outcome: Outcome,
    pub stack_status: Option<String>,
    pub reason: Option<String>,
    /// Skipped before anything was done to it (the run was interrupted, or the stage
    /// stopped): the text report folds these into one line.
    pub not_started: bool,
    /// How long the stack operation this run started took, when one ran and settled
    /// (created or updated); the report's median and p95 per stage, the progress ETA.
    pub stack_time: Option<Duration>,
}

impl TargetResult {
    pub(crate) fn new(
        target: &Target,
        outcome: Outcome,
        stack_status: Option<String>,
        reason: Option<String>,
    ) -> Self {
        TargetResult {
            account_id: target.account.id.clone(),
            account_name: target.account.name.clone(),
            region: target.region.clone(),
            outcome,
            stack_status,
            reason,
            not_started: false,
            stack_time: None,
        }
    }

    /// A target never started (the run was interrupted, or the stage stopped), and why.
    pub(crate) fn not_started(target: &Target, reason: String) -> Self {
        TargetResult {
            not_started: true,
            ..TargetResult::new(target, Outcome::Skipped, None, Some(reason))
        }
    }
}

/// What a progress display sees of one finished target, whatever the command.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen<'a> {
    pub(crate) account_id: &'a str,
    pub(crate) region: &'a str,
    /// How it counts: created / updated / unchanged / failed / skipped.
    pub(crate) outcome: Outcome,
    /// The word shown for it (`created`, or `replace` for a plan, `outdated` for status).
    pub(crate) word: &'a str,
    pub(crate) stack_status: Option<&'a str>,
    pub(crate) reason: Option<&'a str>,
    /// How long its stack operation took, if one ran (deploys only).
    pub(crate) stack_time: Option<Duration>,
}

/// Observes a stage while it runs (progress bars, log lines): every target is `finished`
/// exactly once; those that ran were `started` before (a target never started, e.g. skipped
/// after an interrupt, is only `finished`).
pub(crate) trait Progress: Send + Sync {
    /// A target begins (it is in flight until it is `finished`).
    fn started(&self, _target: &Target) {}
    fn finished(&self, seen: &Seen<'_>);
}

/// Shows nothing: for a pass whose results are reported afterwards (strays).
pub(crate) struct Silent;

impl Progress for Silent {
    fn finished(&self, _seen: &Seen<'_>) {}
}

/// The results of a run, in target order.
#[derive(Debug, Clone)]
pub(crate) struct Run<R> {
    pub(crate) results: Vec<R>,
    /// More targets failed than the stage tolerates.
    pub(crate) tolerance_exceeded: bool,
    /// Stopped by Ctrl-C: no new target started after it.
    pub(crate) interrupted: bool,
}

/// A deploy's results.
pub(crate) type StageRun = Run<TargetResult>;

impl StageRun {
    pub(crate) fn count(&self, outcome: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }
}

/// What `remedy plan` found for one target.
#[derive(Debug, Clone)]
pub(crate) struct PlannedTarget {
    pub(crate) account_id: String,
    pub(crate) account_name: String,
    pub(crate) region: String,
    pub(crate) action: PlanAction,
    pub(crate) stack_status: Option<String>,
    pub(crate) changes: Vec<ResourceChange>,
    pub(crate) reason: Option<String>,
    /// The `remedy:hash` the stack carries now (none when it has no stack).
    pub(crate) deployed_hash: Option<String>,
    /// An update's changes in remedy's terms (rules, modes, settings, role actions), when
    /// the deployed template could be read; else why not in `semantic_note`.
    pub(crate) semantic: Option<Vec<crate::core::semantic::Change>>,
    pub(crate) semantic_note: Option<String>,
}

/// What `remedy status` found for one target.
#[derive(Debug, Clone)]
pub(crate) struct InspectedTarget {
    pub(crate) account_id: String,
    pub(crate) account_name: String,
    pub(crate) region: String,
    pub(crate) stack_status: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) hash: Option<String>,
    /// `None` when the stack could not be read (the reason says why).
    pub(crate) freshness: Option<Freshness>,
    pub(crate) drift: Option<String>,
    pub(crate) reason: Option<String>,
    /// The topic to give Conformity for this account (the stack's findings topic).
    pub(crate) findings_topic: Option<String>,
    /// The kill switch: the rules paused in this account (`*`: every rule), empty when
    /// none; `pause_error` when the parameter could not be read.
    pub(crate) paused: Vec<String>,
    pub(crate) pause_error: Option<String>,
    /// Whether Conformity publishes to the account's topic as remedy wants (a
    /// `core::conformity::State` word: `connected`, `outdated`, `not_connected`,
    /// `not_in_conformity`, `failed`; `unknown` when the API could not be asked); `None` when
    /// `conformity.api` is not configured.
    pub(crate) conformity: Option<&'static str>,
}

/// Where a stage's stacks live and what they add up to: the plan's footprint and strays.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) home: String,
    pub(crate) covered: Vec<String>,
    /// One account's stack.
    pub(crate) footprint: crate::core::template::Footprint,
    /// How many accounts the stage deploys.
    pub(crate) accounts: usize,
    pub(crate) strays: Vec<Stray>,
    /// With `--prune`: the stacks a deploy of the stage would remove.
    pub(crate) prune: Option<Prune>,
}

/// What `plan --prune` found: the stacks no stage wants that this stage owns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Prune {
    pub(crate) stacks: Vec<Stray>,
    /// Account/region places that could not be read (no remedy role there, typically).
    pub(crate) unreadable: usize,
    /// `--max-deletions`: a deploy with more would remove none.
    pub(crate) max_deletions: usize,
}

/// A remedy stack outside its account's home region (an earlier layout, or a changed
/// `home_region`): reported by `plan` and `status`, never deployed to.
/// An account as a report names it: id and name.
pub(crate) type AccountRef = (String, String);

/// What a plan adds to its targets' rows: what the stacks will run, the updates grouped by
/// identical changes in remedy's terms (account id and name of each member), and what the
/// plan wrote to S3.
#[derive(Debug, Clone, Default)]
pub(crate) struct Explained {
    pub(crate) desired: Option<crate::core::semantic::Model>,
    pub(crate) groups: Vec<(Vec<AccountRef>, Vec<crate::core::semantic::Change>)>,
    pub(crate) writes: Vec<Upload>,
    /// Each deployed rule's effective mode and where it comes from (`stages.prod.rules."*"`).
    pub(crate) sources: Vec<(String, String, String)>,
}

impl Explained {
    /// The plan's updates grouped by their changes in remedy's terms (those whose deployed
    /// template could not be read are left out: their rows say why).
    pub(crate) fn new(
        planned: &[PlannedTarget],
        desired: Option<crate::core::semantic::Model>,
        writes: Vec<Upload>,
    ) -> Explained {
        let items: Vec<(AccountRef, Vec<crate::core::semantic::Change>)> = planned
            .iter()
            .filter_map(|p| {
                let changes = p.semantic.clone()?;
                Some(((p.account_id.clone(), p.account_name.clone()), changes))
            })
            .collect();
        Explained {
            desired,
            groups: crate::core::semantic::group(&items),
            writes,
            sources: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stray {
    pub(crate) account_id: String,
    pub(crate) region: String,
    pub(crate) stack_status: Option<String>,
    /// The stage tag it carries, if any.
    pub(crate) stage: Option<String>,
}

impl PlannedTarget {
    /// A target not planned (yet): `action` with no changes, and why.
    pub(crate) fn without_changes(
        target: &Target,
        action: PlanAction,
        reason: Option<String>,
    ) -> Self {
        PlannedTarget {
            account_id: target.account.id.clone(),
            account_name: target.account.name.clone(),
            region: target.region.clone(),
            action,
            stack_status: None,
            changes: Vec::new(),
            reason,
            deployed_hash: None,
            semantic: None,
            semantic_note: None,
        }
    }
}

impl InspectedTarget {
    /// A target whose stack was not read (yet), and why.
    pub(crate) fn unread(target: &Target, reason: Option<String>) -> Self {
        InspectedTarget {
            account_id: target.account.id.clone(),
            account_name: target.account.name.clone(),
            region: target.region.clone(),
            stack_status: None,
            version: None,
            hash: None,
            freshness: None,
            drift: None,
            reason,
            findings_topic: None,
            paused: Vec::new(),
            pause_error: None,
            conformity: None,
        }
    }
}

/// What a stage did, as data (its JSON form is `report::json::StageDoc`).
#[derive(Debug, Clone)]
pub(crate) struct StageReport {
    pub(crate) stage: String,
    pub(crate) status: StageStatus,
    pub(crate) summary: Summary,
    pub(crate) targets: Vec<TargetReport>,
    /// Retries per `Service.Operation` while the stage ran (AWS pushing back); absent when
    /// there were none.
    pub(crate) retries: BTreeMap<String, u64>,
    /// How long the stage ran (text and Markdown only; the JSON keeps the README's shape).
    pub(crate) elapsed: Duration,
    /// Why a stage did not run (text and Markdown only).
    pub(crate) note: Option<String>,
    /// Stopped by Ctrl-C (exit 130).
    pub(crate) interrupted: bool,
    /// How long the stack operations of the stage took (median, p95), if any ran.
    pub(crate) stack_time: Option<crate::core::pace::Figures>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StageStatus {
    Completed,
    Failed,
    /// Stopped by Ctrl-C with no target failed (the JSON keeps `failed` and says
    /// `"interrupted": true`).
    Interrupted,
    AwaitingApproval,
    NotStarted,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) created: usize,
    pub(crate) updated: usize,
    pub(crate) unchanged: usize,
    pub(crate) failed: usize,
    pub(crate) skipped: usize,
    /// Stacks deleted (`remedy remove`, `--prune`).
    pub(crate) removed: usize,
    /// `remedy remove`: targets that had no stack.
    pub(crate) absent: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct TargetReport {
    pub(crate) account_id: String,
    pub(crate) account_name: String,
    pub(crate) region: String,
    pub(crate) outcome: &'static str,
    pub(crate) stack_status: Option<String>,
    pub(crate) reason: Option<String>,
    /// Skipped before anything was done to it (interrupted, or the stage stopped).
    pub(crate) not_started: bool,
}

impl StageReport {
    /// A stage that did not run: awaiting approval, or not started; `note` says why.
    pub(crate) fn not_run(stage: &str, status: StageStatus, note: String) -> StageReport {
        StageReport {
            stage: stage.to_owned(),
            status,
            summary: Summary::default(),
            targets: Vec::new(),
            retries: BTreeMap::new(),
            elapsed: Duration::ZERO,
            note: Some(note),
            interrupted: false,
            stack_time: None,
        }
    }

    /// Adds `other`'s targets and counts (a prune after the stage's deploy): its failures
    /// count as the stage's (the exit is 1), and past its tolerance the stage fails.
    pub(crate) fn absorb(&mut self, other: StageReport) {
        let (s, o) = (&mut self.summary, other.summary);
        s.created += o.created;
        s.updated += o.updated;
        s.unchanged += o.unchanged;
        s.failed += o.failed;
        s.skipped += o.skipped;
        s.removed += o.removed;
        s.absent += o.absent;
        self.targets.extend(other.targets);
        self.elapsed += other.elapsed;
        self.interrupted |= other.interrupted;
        if other.status == StageStatus::Failed {
            self.status = StageStatus::Failed;
        }
    }

    pub(crate) fn from_run(stage: &str, run: &StageRun, elapsed: Duration) -> StageReport {
        let summary = Summary {
            created: run.count(Outcome::Created),
            updated: run.count(Outcome::Updated),
            unchanged: run.count(Outcome::Unchanged),
            failed: run.count(Outcome::Failed),
            skipped: run.count(Outcome::Skipped),
            removed: run.count(Outcome::Removed),
            absent: run.count(Outcome::Absent),
        };
        StageReport {
            stage: stage.to_owned(),
            status: stage_status(run.tolerance_exceeded, run.interrupted, summary.failed),
            summary,
            targets: run
                .results
                .iter()
                .map(|r| TargetReport {
                    account_id: r.account_id.clone(),
                    account_name: r.account_name.clone(),
                    region: r.region.clone(),
                    outcome: r.outcome.as_str(),
                    stack_status: r.stack_status.clone(),
                    reason: r.reason.clone(),
                    not_started: r.not_started,
                })
                .collect(),
            retries: BTreeMap::new(),
            elapsed,
            note: None,
            interrupted: run.interrupted,
            stack_time: crate::core::pace::figures(
                &run.results
                    .iter()
                    .filter_map(|r| r.stack_time)
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

/// A run's status: failed when more targets failed than tolerated, or when it was
/// interrupted and a target failed; `interrupted` when Ctrl-C stopped it and none failed.
fn stage_status(tolerance_exceeded: bool, interrupted: bool, failed: usize) -> StageStatus {
    if tolerance_exceeded || (interrupted && failed > 0) {
        StageStatus::Failed
    } else if interrupted {
        StageStatus::Interrupted
    } else {
        StageStatus::Completed
    }
}

/// One object `publish` made sure of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upload {
    pub(crate) region: String,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) uploaded: bool,
}

/// Fills in each update's changes in remedy's terms from the deployed templates, one per
/// `remedy:hash` (`templates`): the same hash is the same template, so the diff is computed
/// once per deployment and shared. A template that could not be read, or that is not
/// remedy's, leaves a note instead.
pub(crate) fn explain(
    planned: &mut [PlannedTarget],
    templates: &BTreeMap<String, Result<String, String>>,
    desired: &crate::core::semantic::Model,
) {
    let diffs = crate::core::semantic::diffs_by_hash(templates, desired);
    for p in planned
        .iter_mut()
        .filter(|p| crate::core::semantic::is_update(p.action))
    {
        match p.deployed_hash.as_deref().and_then(|h| diffs.get(h)) {
            Some(Ok(changes)) => p.semantic = Some(changes.clone()),
            Some(Err(note)) => p.semantic_note = Some(note.clone()),
            None => {}
        }
    }
}

/// Who ran what, and when: the audit trail the JSON reports (`run`) and the Markdown
/// summary carry, so that a report alone says which build and which configuration did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Audit {
    /// RFC 3339, UTC.
    pub(crate) started_at: String,
    pub(crate) finished_at: String,
    /// The security account's caller (GetCallerIdentity).
    pub(crate) caller_arn: String,
    pub(crate) version: &'static str,
    pub(crate) commit: &'static str,
    /// The release's `remedy:hash` (template, shared parameters, package).
    pub(crate) release_hash: String,
    /// The `remedy:hash` each stage's stacks carry (its template, covered regions and
    /// package): what an auditor matches against the stacks' tags.
    pub(crate) stage_hashes: BTreeMap<String, String>,
    /// SHA-256 of the rendered member template.
    pub(crate) template_hash: String,
    /// SHA-256 of `remedy.yaml` as read.
    pub(crate) config_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_run_without_a_failure_is_interrupted_not_failed() {
        assert_eq!(stage_status(false, true, 0), StageStatus::Interrupted);
        assert_eq!(stage_status(false, true, 1), StageStatus::Failed);
        assert_eq!(stage_status(true, false, 3), StageStatus::Failed);
        assert_eq!(
            stage_status(false, false, 1),
            StageStatus::Completed,
            "within tolerance"
        );
        assert_eq!(stage_status(false, false, 0), StageStatus::Completed);
    }
}
