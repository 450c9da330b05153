//! The JSON documents of `--output json` (README.md, "Run it"), as wire types: each
//! field here is a key users' scripts read, so a rename here is a breaking change. The
//! printers build them from core data; nothing else in remedy is serialised for output.
//! The long scenario tests compare whole documents against snapshots (`tests/it/snapshots`).

use crate::core::decide::Freshness;
use crate::core::outcome::{
    Audit, Explained, InspectedTarget, Layout, PlannedTarget, StageReport, StageStatus, Stray,
    Upload,
};
use crate::core::semantic::{Change, Model};
use crate::core::stack::ResourceChange;
use crate::core::targets::{Resolution, TargetAccount};
use crate::core::template::Footprint;
use serde::Serialize;
use std::collections::BTreeMap;

/// One stage: `remedy deploy`, `remedy onboard`, and each stage of `remedy rollout`.
#[derive(Debug, Serialize)]
pub struct StageDoc<'a> {
    pub stage: &'a str,
    /// `completed`, `failed`, `awaiting_approval` or `not_started`.
    pub status: &'static str,
    pub summary: SummaryDoc,
    pub targets: Vec<TargetDoc<'a>>,
    /// Retries per `Service.Operation` while the stage ran; absent when there were none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub retries: BTreeMap<&'a str, u64>,
    /// `true` when Ctrl-C stopped the stage (its `status` is then `failed`, as the contract
    /// has it; the text and Markdown reports say `interrupted` when no target failed);
    /// absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// How long the stage's stack operations took (created and updated stacks, from the
    /// call that started each to the look that saw it settle); absent when none ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_time: Option<StackTimeDoc>,
    /// The audit trail (deploy and onboard; in a rollout, once for the whole run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunDoc<'a>>,
}

/// `{"operations": 950, "median_s": 92.4, "p95_s": 117.9}`
#[derive(Debug, Serialize)]
pub struct StackTimeDoc {
    pub operations: usize,
    pub median_s: f64,
    pub p95_s: f64,
}

#[derive(Debug, Serialize)]
pub struct SummaryDoc {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Stacks deleted (`remedy remove`, `--prune`); absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub removed: usize,
    /// `remedy remove`: targets without a stack; absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub absent: usize,
}

/// Seconds to a tenth.
fn tenths(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Serialize)]
pub struct TargetDoc<'a> {
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub region: &'a str,
    /// `created`, `updated`, `unchanged`, `failed` or `skipped`.
    pub outcome: &'a str,
    pub stack_status: Option<&'a str>,
    pub reason: Option<&'a str>,
}

impl<'a> StageDoc<'a> {
    pub fn new(report: &'a StageReport) -> StageDoc<'a> {
        let s = &report.summary;
        StageDoc {
            stage: &report.stage,
            status: stage_status(report.status),
            summary: SummaryDoc {
                created: s.created,
                updated: s.updated,
                unchanged: s.unchanged,
                failed: s.failed,
                skipped: s.skipped,
                removed: s.removed,
                absent: s.absent,
            },
            targets: report
                .targets
                .iter()
                .map(|t| TargetDoc {
                    account_id: &t.account_id,
                    account_name: &t.account_name,
                    region: &t.region,
                    outcome: t.outcome,
                    stack_status: t.stack_status.as_deref(),
                    reason: t.reason.as_deref(),
                })
                .collect(),
            retries: report
                .retries
                .iter()
                .map(|(api, n)| (api.as_str(), *n))
                .collect(),
            interrupted: report.interrupted,
            stack_time: report.stack_time.map(|f| StackTimeDoc {
                operations: f.operations,
                median_s: tenths(f.median),
                p95_s: tenths(f.p95),
            }),
            run: None,
        }
    }
}

/// The audit trail of a run (`run` in deploy, rollout and onboard documents): when, who,
/// which build, which template and configuration.
#[derive(Debug, Serialize)]
pub struct RunDoc<'a> {
    pub started_at: &'a str,
    pub finished_at: &'a str,
    pub caller_arn: &'a str,
    pub remedy_version: &'a str,
    pub commit: &'a str,
    pub release_hash: &'a str,
    /// The `remedy:hash` each stage's stacks carry.
    pub stage_hashes: &'a BTreeMap<String, String>,
    pub template_sha256: &'a str,
    pub config_sha256: &'a str,
}

impl<'a> RunDoc<'a> {
    pub fn new(a: &'a Audit) -> RunDoc<'a> {
        RunDoc {
            started_at: &a.started_at,
            finished_at: &a.finished_at,
            caller_arn: &a.caller_arn,
            remedy_version: a.version,
            commit: a.commit,
            release_hash: &a.release_hash,
            stage_hashes: &a.stage_hashes,
            template_sha256: &a.template_hash,
            config_sha256: &a.config_hash,
        }
    }
}

pub fn stage_status(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Completed => "completed",
        // The contract's statuses stay four; `interrupted: true` says why.
        StageStatus::Failed | StageStatus::Interrupted => "failed",
        StageStatus::AwaitingApproval => "awaiting_approval",
        StageStatus::NotStarted => "not_started",
    }
}

/// `remedy rollout`: every stage run (or not run), in order.
#[derive(Debug, Serialize)]
pub struct RolloutDoc<'a> {
    pub stages: Vec<StageDoc<'a>>,
    /// The audit trail of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunDoc<'a>>,
}

impl<'a> RolloutDoc<'a> {
    pub fn new(reports: &'a [StageReport]) -> RolloutDoc<'a> {
        RolloutDoc {
            stages: reports.iter().map(StageDoc::new).collect(),
            run: None,
        }
    }
}

/// `remedy pause` and `remedy resume`: per account, what is paused after the run.
#[derive(Debug, Serialize)]
pub struct SwitchDoc<'a> {
    /// `pause` or `resume`.
    pub action: &'static str,
    /// The SSM parameter written in each account's home region (`/<stack_name>/paused`).
    pub parameter: &'a str,
    pub summary: SwitchCountsDoc,
    pub targets: Vec<SwitchRowDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct SwitchCountsDoc {
    pub changed: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub skipped: usize,
}

#[derive(Debug, Serialize)]
pub struct SwitchRowDoc<'a> {
    pub stage: &'a str,
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub region: &'a str,
    /// `changed`, `unchanged`, `failed` or `skipped`.
    pub outcome: &'static str,
    /// The paused rules before the run (`["*"]`: every rule); null when not read.
    pub paused_before: Option<Vec<String>>,
    /// The paused rules after it; null when the parameter was not written.
    pub paused: Option<Vec<String>>,
    pub reason: Option<&'a str>,
}

impl<'a> SwitchDoc<'a> {
    pub fn new(
        switch: crate::core::pause::Switch,
        parameter: &'a str,
        rows: &'a [crate::core::pause::SwitchedTarget],
    ) -> SwitchDoc<'a> {
        use crate::core::pause::SwitchOutcome;
        let count = |o: SwitchOutcome| rows.iter().filter(|r| r.outcome == o).count();
        let list = |p: &Option<remedy_functions::pause::Paused>| {
            p.as_ref().map(|p| p.0.iter().cloned().collect::<Vec<_>>())
        };
        SwitchDoc {
            action: switch.as_str(),
            parameter,
            summary: SwitchCountsDoc {
                changed: count(SwitchOutcome::Changed),
                unchanged: count(SwitchOutcome::Unchanged),
                failed: count(SwitchOutcome::Failed),
                skipped: count(SwitchOutcome::Skipped),
            },
            targets: rows
                .iter()
                .map(|r| SwitchRowDoc {
                    stage: &r.stage,
                    account_id: &r.account_id,
                    account_name: &r.account_name,
                    region: &r.region,
                    outcome: r.outcome.as_str(),
                    paused_before: list(&r.before),
                    paused: list(&r.after),
                    reason: r.reason.as_deref(),
                })
                .collect(),
        }
    }
}

/// `remedy accounts`.
#[derive(Debug, Serialize)]
pub struct AccountsDoc<'a> {
    pub stage: &'a str,
    pub accounts: Vec<AccountDoc<'a>>,
    pub passed_over: Vec<PassedOverDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct AccountDoc<'a> {
    pub account_id: &'a str,
    pub name: &'a str,
    pub ou_path: &'a str,
}

#[derive(Debug, Serialize)]
pub struct PassedOverDoc<'a> {
    pub account_id: &'a str,
    pub reason: &'a str,
}

impl<'a> AccountsDoc<'a> {
    pub fn new(stage: &'a str, resolution: &'a Resolution) -> AccountsDoc<'a> {
        let account = |a: &'a TargetAccount| AccountDoc {
            account_id: &a.id,
            name: &a.name,
            ou_path: &a.ou_path,
        };
        AccountsDoc {
            stage,
            accounts: resolution.accounts.iter().map(account).collect(),
            passed_over: resolution
                .passed_over
                .iter()
                .map(|(id, why)| PassedOverDoc {
                    account_id: id,
                    reason: why,
                })
                .collect(),
        }
    }
}

/// `remedy plan`.
#[derive(Debug, Serialize)]
pub struct PlanDoc<'a> {
    pub stage: &'a str,
    /// Targets per action: create, update, replace, recreate, unchanged, blocked, skipped.
    pub summary: PlanCountsDoc,
    pub kept: bool,
    /// What the stage's stacks will run: each rule id by mode.
    pub deploys: ModesDoc<'a>,
    /// Each deployed rule's effective mode in this stage and where it comes from
    /// (`rules.S3-001`, `stages.prod.rules."*"`).
    pub rules: Vec<RuleModeDoc<'a>>,
    /// The updates grouped by identical changes in remedy's terms, the largest group first.
    pub groups: Vec<GroupDoc<'a>>,
    /// What the plan itself wrote: artifacts its change sets read (never the package).
    pub writes: Vec<UploadDoc<'a>>,
    /// Where each account's one stack lives.
    pub home_region: &'a str,
    /// The regions whose findings the stacks remediate (besides `global`).
    pub regions: &'a [String],
    pub footprint: FootprintDoc,
    pub targets: Vec<PlannedDoc<'a>>,
    /// remedy stacks in covered regions other than the home region.
    pub stray: Vec<StrayDoc<'a>>,
    /// With `--prune`: the stacks a deploy with `--prune` would remove (action `remove`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneDoc<'a>>,
}

/// `plan --prune`.
#[derive(Debug, Serialize)]
pub struct PruneDoc<'a> {
    /// Each stack: `action` is `remove`.
    pub stacks: Vec<PruneStackDoc<'a>>,
    /// Account/region places that could not be looked at.
    pub unreadable: usize,
    pub max_deletions: usize,
    /// More stacks than `max_deletions`: a deploy with `--prune` removes none.
    pub over_cap: bool,
}

#[derive(Debug, Serialize)]
pub struct PruneStackDoc<'a> {
    pub action: &'static str,
    #[serde(flatten)]
    pub stack: StrayDoc<'a>,
}

/// What the stage's stacks hold: one account's, the fleet's, and the KMS keys' monthly charge.
#[derive(Debug, Serialize)]
pub struct FootprintDoc {
    pub per_account: CountsDoc,
    pub accounts: usize,
    pub fleet: CountsDoc,
    /// The fleet's customer-managed keys at their first-year list price (USD a month).
    pub kms_keys_monthly_usd: f64,
}

#[derive(Debug, Serialize)]
pub struct CountsDoc {
    pub functions: usize,
    pub roles: usize,
    pub queues: usize,
    pub kms_keys: usize,
    pub notification_topics: usize,
}

impl CountsDoc {
    fn of(f: &Footprint, times: usize) -> CountsDoc {
        CountsDoc {
            functions: f.functions * times,
            roles: f.roles * times,
            queues: f.queues * times,
            kms_keys: f.kms_keys * times,
            notification_topics: f.notification_topics * times,
        }
    }
}

impl FootprintDoc {
    pub fn new(layout: &Layout) -> FootprintDoc {
        FootprintDoc {
            per_account: CountsDoc::of(&layout.footprint, 1),
            accounts: layout.accounts,
            fleet: CountsDoc::of(&layout.footprint, layout.accounts),
            kms_keys_monthly_usd: layout.footprint.kms_monthly_usd() * layout.accounts as f64,
        }
    }
}

/// A remedy stack outside its account's home region.
#[derive(Debug, Serialize)]
pub struct StrayDoc<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub stack_status: Option<&'a str>,
    pub stage: Option<&'a str>,
}

impl<'a> StrayDoc<'a> {
    pub fn new(s: &'a Stray) -> StrayDoc<'a> {
        StrayDoc {
            account_id: &s.account_id,
            region: &s.region,
            stack_status: s.stack_status.as_deref(),
            stage: s.stage.as_deref(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PlannedDoc<'a> {
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub region: &'a str,
    /// `create`, `update`, `replace`, `recreate`, `unchanged`, `blocked` or `skipped`.
    pub action: &'static str,
    pub stack_status: Option<&'a str>,
    pub changes: Vec<ChangeDoc<'a>>,
    pub reason: Option<&'a str>,
    /// The `remedy:hash` the stack carries now.
    pub deployed_hash: Option<&'a str>,
    /// An update's changes in remedy's terms; null when not an update or not readable
    /// (`semantic_note` says why).
    pub semantic: Option<Vec<SemanticDoc<'a>>>,
    pub semantic_note: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct PlanCountsDoc {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub recreate: usize,
    pub unchanged: usize,
    pub blocked: usize,
    pub skipped: usize,
}

impl PlanCountsDoc {
    pub fn new(c: crate::core::decide::PlanCounts) -> PlanCountsDoc {
        PlanCountsDoc {
            create: c.create,
            update: c.update,
            replace: c.replace,
            recreate: c.recreate,
            unchanged: c.unchanged,
            blocked: c.blocked,
            skipped: c.skipped,
        }
    }
}

/// One change in remedy's terms: `kind` is `rule_added`, `rule_removed`, `mode`, `setting`,
/// `actions_added`, `actions_removed`, `limit` (`key`: `max_per_hour` or
/// `max_failures_per_hour`) or `notifications`; `text` says it in one line.
#[derive(Debug, Serialize)]
pub struct SemanticDoc<'a> {
    pub kind: &'static str,
    pub rule: Option<&'a str>,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<&'a [String]>,
}

impl<'a> SemanticDoc<'a> {
    pub fn new(c: &'a Change) -> SemanticDoc<'a> {
        let mut doc = SemanticDoc {
            kind: c.kind(),
            rule: c.rule(),
            text: c.to_string(),
            key: None,
            from: None,
            to: None,
            actions: None,
        };
        match c {
            Change::RuleAdded { mode, .. } => doc.to = Some(mode.as_str()),
            Change::RuleRemoved { mode, .. } => doc.from = Some(mode.as_str()),
            Change::Mode { from, to, .. } => {
                (doc.from, doc.to) = (Some(from.as_str()), Some(to.as_str()))
            }
            Change::Setting { key, from, to, .. } => {
                doc.key = Some(key);
                (doc.from, doc.to) = (from.as_deref(), to.as_deref());
            }
            Change::ActionsAdded { actions, .. } | Change::ActionsRemoved { actions, .. } => {
                doc.actions = Some(actions);
            }
            Change::Limit { key, from, to, .. } => {
                doc.key = Some(key);
                (doc.from, doc.to) = (from.as_deref(), to.as_deref());
            }
            Change::Notifications => {}
        }
        doc
    }
}

/// A rule's effective mode in a stage, and the key it comes from.
#[derive(Debug, Serialize)]
pub struct RuleModeDoc<'a> {
    pub id: &'a str,
    pub mode: &'a str,
    pub from: &'a str,
}

/// Targets with the same changes in remedy's terms.
#[derive(Debug, Serialize)]
pub struct GroupDoc<'a> {
    pub targets: usize,
    pub accounts: Vec<AccountRefDoc<'a>>,
    pub changes: Vec<SemanticDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct AccountRefDoc<'a> {
    pub account_id: &'a str,
    pub account_name: &'a str,
}

/// The rule ids a stack runs, by mode.
#[derive(Debug, Serialize)]
pub struct ModesDoc<'a> {
    pub remediate: Vec<&'a str>,
    pub dry_run: Vec<&'a str>,
    pub notify: Vec<&'a str>,
}

impl<'a> ModesDoc<'a> {
    pub fn new(model: Option<&'a Model>) -> ModesDoc<'a> {
        let of = |mode: &str| model.map(|m| m.ids_in(mode)).unwrap_or_default();
        ModesDoc {
            remediate: of("remediate"),
            dry_run: of("dry-run"),
            notify: of("notify"),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ChangeDoc<'a> {
    pub action: &'a str,
    pub logical_id: &'a str,
    pub resource_type: &'a str,
    pub replacement: Option<&'a str>,
}

impl<'a> PlanDoc<'a> {
    pub fn new(
        stage: &'a str,
        kept: bool,
        planned: &'a [PlannedTarget],
        layout: &'a Layout,
        explained: &'a Explained,
    ) -> PlanDoc<'a> {
        let change = |c: &'a ResourceChange| ChangeDoc {
            action: &c.action,
            logical_id: &c.logical_id,
            resource_type: &c.resource_type,
            replacement: c.replacement.as_deref(),
        };
        let actions: Vec<_> = planned.iter().map(|p| p.action).collect();
        PlanDoc {
            stage,
            summary: PlanCountsDoc::new(crate::core::decide::PlanCounts::of(&actions)),
            kept,
            deploys: ModesDoc::new(explained.desired.as_ref()),
            rules: explained
                .sources
                .iter()
                .map(|(id, mode, from)| RuleModeDoc { id, mode, from })
                .collect(),
            groups: explained
                .groups
                .iter()
                .map(|(members, changes)| GroupDoc {
                    targets: members.len(),
                    accounts: members
                        .iter()
                        .map(|(id, name)| AccountRefDoc {
                            account_id: id,
                            account_name: name,
                        })
                        .collect(),
                    changes: changes.iter().map(SemanticDoc::new).collect(),
                })
                .collect(),
            writes: explained
                .writes
                .iter()
                .map(|u| UploadDoc {
                    region: &u.region,
                    bucket: &u.bucket,
                    key: &u.key,
                    uploaded: u.uploaded,
                })
                .collect(),
            home_region: &layout.home,
            regions: &layout.covered,
            footprint: FootprintDoc::new(layout),
            stray: layout.strays.iter().map(StrayDoc::new).collect(),
            prune: layout.prune.as_ref().map(|p| PruneDoc {
                stacks: p
                    .stacks
                    .iter()
                    .map(|s| PruneStackDoc {
                        action: "remove",
                        stack: StrayDoc::new(s),
                    })
                    .collect(),
                unreadable: p.unreadable,
                max_deletions: p.max_deletions,
                over_cap: p.stacks.len() > p.max_deletions,
            }),
            targets: planned
                .iter()
                .map(|p| PlannedDoc {
                    account_id: &p.account_id,
                    account_name: &p.account_name,
                    region: &p.region,
                    action: p.action.as_str(),
                    stack_status: p.stack_status.as_deref(),
                    changes: p.changes.iter().map(change).collect(),
                    reason: p.reason.as_deref(),
                    deployed_hash: p.deployed_hash.as_deref(),
                    semantic: p
                        .semantic
                        .as_ref()
                        .map(|c| c.iter().map(SemanticDoc::new).collect()),
                    semantic_note: p.semantic_note.as_deref(),
                })
                .collect(),
        }
    }
}

/// `remedy status`.
#[derive(Debug, Serialize)]
pub struct StatusDoc<'a> {
    pub summary: StatusCountsDoc,
    pub targets: Vec<StatusRowDoc<'a>>,
    /// remedy stacks in covered regions other than the home region.
    pub stray: Vec<StrayDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct StatusCountsDoc {
    pub current: usize,
    pub outdated: usize,
    pub missing: usize,
    pub unknown: usize,
}

#[derive(Debug, Serialize)]
pub struct StatusRowDoc<'a> {
    pub stage: &'a str,
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub region: &'a str,
    pub stack_status: Option<&'a str>,
    pub version: Option<&'a str>,
    pub hash: Option<&'a str>,
    /// `current`, `outdated`, `missing` or `unknown`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// The topic to give Conformity's SNS channel for this account.
    pub findings_topic_arn: Option<&'a str>,
    /// The rules `remedy pause` paused in this account (`["*"]`: every rule); absent when
    /// none are.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub paused: &'a [String],
    /// Why the kill switch's parameter could not be read (the orchestrator then treats
    /// every rule as paused); absent when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_error: Option<&'a str>,
    /// Whether Conformity publishes to the topic as remedy wants (`connected`, `outdated`,
    /// `not_connected`, `not_in_conformity`, `failed`, `unknown`); absent without
    /// `conformity.api`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conformity: Option<&'static str>,
}

/// A status row's state word.
pub fn state(row: &InspectedTarget) -> &'static str {
    match row.freshness {
        Some(Freshness::Current) => "current",
        Some(Freshness::Outdated) => "outdated",
        Some(Freshness::Missing) => "missing",
        None => "unknown",
    }
}

impl<'a> StatusDoc<'a> {
    /// `shown`: the rows in the asked states (`status --state`); `all`: every row, which the
    /// summary counts.
    pub fn new(
        shown: &'a [(String, InspectedTarget)],
        strays: &'a [Stray],
        all: &[(String, InspectedTarget)],
    ) -> StatusDoc<'a> {
        let count = |word: &str| all.iter().filter(|(_, r)| state(r) == word).count();
        StatusDoc {
            summary: StatusCountsDoc {
                current: count("current"),
                outdated: count("outdated"),
                missing: count("missing"),
                unknown: count("unknown"),
            },
            targets: shown
                .iter()
                .map(|(stage, r)| StatusRowDoc {
                    stage,
                    account_id: &r.account_id,
                    account_name: &r.account_name,
                    region: &r.region,
                    stack_status: r.stack_status.as_deref(),
                    version: r.version.as_deref(),
                    hash: r.hash.as_deref(),
                    state: state(r),
                    drift: r.drift.as_deref(),
                    reason: r.reason.as_deref(),
                    findings_topic_arn: r.findings_topic.as_deref(),
                    paused: &r.paused,
                    paused_error: r.pause_error.as_deref(),
                    conformity: r.conformity,
                })
                .collect(),
            stray: strays.iter().map(StrayDoc::new).collect(),
        }
    }
}

/// `remedy publish`. (Keys in alphabetical order, as the first release printed them.)
#[derive(Debug, Serialize)]
pub struct PublishDoc<'a> {
    pub hash: &'a str,
    pub objects: Vec<UploadDoc<'a>>,
    pub release: &'a str,
    pub skipped: usize,
    /// Each stage's `remedy:hash` (its covered regions are one of its stack parameters).
    pub stages: &'a BTreeMap<String, String>,
    pub uploaded: usize,
}

#[derive(Debug, Serialize)]
pub struct UploadDoc<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub region: &'a str,
    pub uploaded: bool,
}

impl<'a> PublishDoc<'a> {
    pub fn new(
        hash: &'a str,
        release: &'a str,
        uploads: &'a [Upload],
        stages: &'a BTreeMap<String, String>,
    ) -> PublishDoc<'a> {
        PublishDoc {
            hash,
            stages,
            objects: uploads
                .iter()
                .map(|u| UploadDoc {
                    bucket: &u.bucket,
                    key: &u.key,
                    region: &u.region,
                    uploaded: u.uploaded,
                })
                .collect(),
            release,
            skipped: uploads.iter().filter(|u| !u.uploaded).count(),
            uploaded: uploads.iter().filter(|u| u.uploaded).count(),
        }
    }
}

/// `remedy remediate`.
#[derive(Debug, Serialize)]
pub struct RemediationDoc<'a> {
    pub rule_id: Option<&'a str>,
    pub outcome: remedy_functions::rule::Outcome,
    pub actions: &'a [String],
    pub reason: Option<&'a str>,
    /// Why the finding was not remediated (`dry_run`, `notify`, `unsupported`,
    /// `rejected:<why>`, …), as the orchestrator's log line says it; null when it was.
    pub reason_code: Option<remedy_functions::dispatch::ReasonCode>,
    /// What a reversible rule removed (as the ledger records it, docs/ledger.md); empty
    /// when nothing was, and for the other rules.
    pub removed: &'a [remedy_functions::undo::Removed],
    /// Each AWS call that changed something (`api`, `target`), in order, as the ledger's
    /// `changes`; empty when nothing was changed (a dry run included).
    pub changes: &'a [remedy_functions::rule::Change],
}

impl<'a> RemediationDoc<'a> {
    pub fn new(
        rule_id: Option<&'a str>,
        report: &'a remedy_functions::rule::Report,
        reason_code: Option<remedy_functions::dispatch::ReasonCode>,
    ) -> RemediationDoc<'a> {
        RemediationDoc {
            rule_id,
            outcome: report.outcome,
            actions: &report.actions,
            reason: report.reason.as_deref(),
            reason_code,
            removed: &report.removed,
            changes: &report.changes,
        }
    }
}

/// `remedy undo`.
#[derive(Debug, Serialize)]
pub struct UndoDoc<'a> {
    /// `would_restore` (a dry run), `restored`, `unchanged`, `refused`, `not_found`, `failed`.
    pub outcome: &'a str,
    pub record_id: Option<&'a str>,
    pub finding_id: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub rule_id: Option<&'a str>,
    /// The finding's region, where the rule acted.
    pub region: Option<&'a str>,
    pub resource: Option<&'a str>,
    /// When the record was written.
    pub at: Option<&'a str>,
    /// What the record says was removed, and would be or was put back.
    pub removed: &'a [remedy_functions::undo::Removed],
    /// What was done (or, in a dry run, would be).
    pub actions: &'a [String],
    pub reason: Option<&'a str>,
    /// How the undo ran: `dry_run`, `function` (the rule's own function), `local`.
    pub via: &'a str,
}

/// `remedy history`.
#[derive(Debug, Serialize)]
pub struct HistoryDoc<'a> {
    /// The earliest time read (RFC 3339 UTC): now minus `--since`.
    pub since: &'a str,
    pub summary: HistorySummaryDoc,
    pub accounts: Vec<HistoryAccountDoc<'a>>,
    /// Per rule and outcome, over every account read (a record without a rule: `none`).
    pub by_rule: Vec<RuleOutcomeDoc>,
    /// The latest records, newest first, at most 10,000.
    pub records: Vec<RecordDoc>,
    /// `true` when more records matched than `records` holds.
    pub truncated: bool,
}

#[derive(Debug, Serialize)]
pub struct HistorySummaryDoc {
    pub accounts: usize,
    pub read: usize,
    pub no_log_group: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Records matched, in every account.
    pub records: usize,
}

#[derive(Debug, Serialize)]
pub struct HistoryAccountDoc<'a> {
    pub stage: &'a str,
    pub account_id: &'a str,
    pub account_name: &'a str,
    /// The home region, whose log group was read.
    pub region: &'a str,
    /// `read`, `no_log_group`, `failed` or `skipped`.
    pub status: &'static str,
    /// Records matched in this account.
    pub records: usize,
    /// Per outcome: how many of them.
    pub outcomes: BTreeMap<String, usize>,
    pub reason: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct RuleOutcomeDoc {
    pub rule_id: String,
    pub outcome: String,
    pub count: usize,
}

/// One ledger record; fields an older orchestrator did not log are null.
#[derive(Debug, Serialize)]
pub struct RecordDoc {
    /// RFC 3339 UTC: the record's own `at`, else its CloudWatch timestamp.
    pub at: String,
    /// The account whose log group held it.
    pub account_id: String,
    pub rule_id: Option<String>,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub resource: Option<String>,
    pub mode: Option<String>,
    /// The finding's region.
    pub region: Option<String>,
    pub finding_id: Option<String>,
    pub exception: Option<String>,
    pub actions: Vec<String>,
    pub notified: Vec<String>,
    pub duration_ms: Option<u64>,
    pub remedy_version: Option<String>,
    /// The record's id, for `remedy undo --record`.
    pub record_id: Option<String>,
    /// What a reversible rule removed (docs/ledger.md), for `remedy undo`.
    pub removed: Vec<remedy_functions::undo::Removed>,
    /// Each AWS call that changed something (`api`, `target`), in order.
    pub changes: Vec<remedy_functions::rule::Change>,
}

impl<'a> HistoryDoc<'a> {
    pub fn new(
        since: &'a str,
        rows: &'a [crate::core::history::AccountHistory],
        all: &crate::core::history::Ledger,
    ) -> HistoryDoc<'a> {
        use crate::core::history::ReadStatus;
        let count = |s: ReadStatus| rows.iter().filter(|r| r.status == s).count();
        let (latest, truncated) = all.latest();
        HistoryDoc {
            since,
            summary: HistorySummaryDoc {
                accounts: rows.len(),
                read: count(ReadStatus::Read),
                no_log_group: count(ReadStatus::NoLogGroup),
                failed: count(ReadStatus::Failed),
                skipped: count(ReadStatus::Skipped),
                records: all.matched,
            },
            accounts: rows
                .iter()
                .map(|r| HistoryAccountDoc {
                    stage: &r.stage,
                    account_id: &r.account_id,
                    account_name: &r.account_name,
                    region: &r.region,
                    status: r.status.as_str(),
                    records: r.ledger.matched,
                    outcomes: r.ledger.by_outcome().into_iter().collect(),
                    reason: r.reason.as_deref(),
                })
                .collect(),
            by_rule: all
                .counts
                .iter()
                .map(|((rule_id, outcome), count)| RuleOutcomeDoc {
                    rule_id: rule_id.clone(),
                    outcome: outcome.clone(),
                    count: *count,
                })
                .collect(),
            records: latest
                .into_iter()
                .map(|r| RecordDoc {
                    at: r.at,
                    account_id: r.account_id,
                    rule_id: r.rule_id,
                    outcome: r.outcome,
                    reason_code: r.reason_code,
                    reason: r.reason,
                    resource: r.resource,
                    mode: r.mode,
                    region: r.region,
                    finding_id: r.finding_id,
                    exception: r.exception,
                    actions: r.actions,
                    notified: r.notified,
                    duration_ms: r.duration_ms,
                    remedy_version: r.remedy_version,
                    record_id: r.record_id,
                    removed: r.removed,
                    changes: r.changes,
                })
                .collect(),
            truncated,
        }
    }
}
