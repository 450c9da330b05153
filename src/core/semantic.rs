//! What a stack does, in remedy's terms, read back from its template: each rule's mode, its
//! settings and the IAM actions its role allows, and the notification routes. The diff of two
//! such models is what `plan` and the deploy prompt say besides CloudFormation's resource
//! changes (`EC2-002: dry-run → remediate`, `CT-001.trail_name: GlobalTrail → OrgTrail`).
//!
//! Read from the template (not from a manifest beside it), so that a stack any earlier
//! version of remedy deployed is understood as long as its template has the same shape: the
//! orchestrator's `REMEDY_RULES` table, each rule function's `REMEDY_MODE`/`REMEDY_SETTINGS`
//! and its role's policy. A template that is not remedy's gives no model, never a wrong one.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One rule as a stack deploys it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleModel {
    pub mode: String,
    pub settings: BTreeMap<String, String>,
    /// The actions its role allows, its own log writes left out.
    pub actions: BTreeSet<String>,
    /// Its rate limit and breaker (`max_per_hour`, `max_failures_per_hour`) when it
    /// remediates; `None` when it does not (only fixes are counted), and in a stack without
    /// the counters table (before rate limits, nothing was limited).
    pub limit: Option<(u32, u32)>,
}

/// What one remedy stack does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Model {
    pub rules: BTreeMap<String, RuleModel>,
    /// The orchestrator's `REMEDY_NOTIFICATIONS`, as written.
    pub notifications: String,
}

/// One change in remedy's terms.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    RuleAdded {
        rule: String,
        mode: String,
    },
    RuleRemoved {
        rule: String,
        mode: String,
    },
    Mode {
        rule: String,
        from: String,
        to: String,
    },
    Setting {
        rule: String,
        key: String,
        from: Option<String>,
        to: Option<String>,
    },
    ActionsAdded {
        rule: String,
        actions: Vec<String>,
    },
    ActionsRemoved {
        rule: String,
        actions: Vec<String>,
    },
    /// `max_per_hour` or `max_failures_per_hour` (`key`); `None`: not limited.
    Limit {
        rule: String,
        key: &'static str,
        from: Option<String>,
        to: Option<String>,
    },
    Notifications,
}

impl Change {
    /// The rule it is about (none for the notification routes).
    pub fn rule(&self) -> Option<&str> {
        match self {
            Change::RuleAdded { rule, .. }
            | Change::RuleRemoved { rule, .. }
            | Change::Mode { rule, .. }
            | Change::Setting { rule, .. }
            | Change::ActionsAdded { rule, .. }
            | Change::ActionsRemoved { rule, .. }
            | Change::Limit { rule, .. } => Some(rule),
            Change::Notifications => None,
        }
    }

    /// `kind` in the JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::RuleAdded { .. } => "rule_added",
            Change::RuleRemoved { .. } => "rule_removed",
            Change::Mode { .. } => "mode",
            Change::Setting { .. } => "setting",
            Change::ActionsAdded { .. } => "actions_added",
            Change::ActionsRemoved { .. } => "actions_removed",
            Change::Limit { .. } => "limit",
            Change::Notifications => "notifications",
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or_unset = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
        match self {
            Change::RuleAdded { rule, mode } => write!(f, "{rule}: added ({mode})"),
            Change::RuleRemoved { rule, mode } => write!(f, "{rule}: removed (was {mode})"),
            Change::Mode { rule, from, to } => write!(f, "{rule}: {from} → {to}"),
            Change::Setting {
                rule,
                key,
                from,
                to,
            } => write!(f, "{rule}.{key}: {} → {}", or_unset(from), or_unset(to)),
            Change::ActionsAdded { rule, actions } => {
                write!(f, "{rule}: role gains {}", actions.join(", "))
            }
            Change::ActionsRemoved { rule, actions } => {
                write!(f, "{rule}: role loses {}", actions.join(", "))
            }
            Change::Limit {
                rule,
                key,
                from,
                to,
            } => {
                let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
                write!(f, "{rule}.{key}: {} → {}", or_none(from), or_none(to))
            }
            Change::Notifications => f.write_str("notification routes change"),
        }
    }
}

/// The model of a remedy template (YAML or JSON); `None` when it is not one.
pub fn model(template: &str) -> Option<Model> {
    let doc: Value = serde_yaml::from_str(template).ok()?;
    let resources = doc.get("Resources")?.as_object()?;
    let variables = |resource: &Value| {
        resource
            .get("Properties")?
            .get("Environment")?
            .get("Variables")
            .cloned()
    };
    let orchestrator = variables(resources.get("Orchestrator")?)?;
    let table: BTreeMap<String, String> =
        serde_json::from_str(orchestrator.get("REMEDY_RULES")?.as_str()?).ok()?;
    // Rate limits: every remediating rule of a stack with the counters table has one (the
    // defaults unless `REMEDY_LIMITS` names it).
    let limits = orchestrator
        .get(remedy_functions::limits::TABLE_ENV)
        .map(|_| {
            remedy_functions::limits::parse_table(
                orchestrator
                    .get(remedy_functions::limits::LIMITS_ENV)
                    .and_then(Value::as_str),
            )
            .unwrap_or_default()
        });
    let notifications = orchestrator
        .get("REMEDY_NOTIFICATIONS")
        .and_then(Value::as_str)
        .unwrap_or("[]")
        .to_owned();
    let mut rules: BTreeMap<String, RuleModel> = table
        .into_iter()
        .map(|(rule, mode)| {
            let limit = limits
                .as_ref()
                .filter(|_| mode == "remediate")
                .map(|table| {
                    let l = table.get(&rule).copied().unwrap_or_default();
                    (l.max_per_hour, l.max_failures_per_hour)
                });
            (
                rule,
                RuleModel {
                    mode,
                    limit,
                    ..RuleModel::default()
                },
            )
        })
        .collect();
    for resource in resources.values() {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::Lambda::Function") {
            continue;
        }
        let properties = resource.get("Properties");
        let Some(rule) = properties
            .and_then(|p| p.get("FunctionName"))
            .and_then(Value::as_str)
            .and_then(|name| name.strip_prefix("AutoRemediate"))
        else {
            continue;
        };
        let Some(entry) = rules.get_mut(rule) else {
            continue;
        };
        if let Some(settings) = variables(resource)
            .and_then(|v| v.get("REMEDY_SETTINGS").cloned())
            .and_then(|s| s.as_str().map(str::to_owned))
            .and_then(|s| serde_json::from_str::<BTreeMap<String, Value>>(&s).ok())
        {
            entry.settings = settings
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect();
        }
        let role = properties
            .and_then(|p| p.get("Role"))
            .and_then(|r| r.get("Fn::GetAtt"))
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .and_then(|id| resources.get(id));
        if let Some(role) = role {
            entry.actions = role_actions(role);
        }
    }
    Some(Model {
        rules,
        notifications,
    })
}

/// The actions a rule role's inline policies allow, but the writes to its own log group.
fn role_actions(role: &Value) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    let policies = role
        .get("Properties")
        .and_then(|p| p.get("Policies"))
        .and_then(Value::as_array);
    for policy in policies.into_iter().flatten() {
        let statements = policy
            .get("PolicyDocument")
            .and_then(|d| d.get("Statement"))
            .and_then(Value::as_array);
        for statement in statements.into_iter().flatten() {
            if statement.get("Sid").and_then(Value::as_str) == Some("OwnLogs") {
                continue;
            }
            match statement.get("Action") {
                Some(Value::String(a)) => {
                    actions.insert(a.clone());
                }
                Some(Value::Array(list)) => {
                    actions.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                _ => {}
            }
        }
    }
    actions
}

/// What changes from `deployed` to `desired`, rule by rule in id order.
pub fn diff(deployed: &Model, desired: &Model) -> Vec<Change> {
    let mut changes = Vec::new();
    let ids: BTreeSet<&String> = deployed.rules.keys().chain(desired.rules.keys()).collect();
    for id in ids {
        let rule = id.clone();
        match (deployed.rules.get(id), desired.rules.get(id)) {
            (None, Some(new)) => changes.push(Change::RuleAdded {
                rule,
                mode: new.mode.clone(),
            }),
            (Some(old), None) => changes.push(Change::RuleRemoved {
                rule,
                mode: old.mode.clone(),
            }),
            (Some(old), Some(new)) => {
                if old.mode != new.mode {
                    changes.push(Change::Mode {
                        rule: rule.clone(),
                        from: old.mode.clone(),
                        to: new.mode.clone(),
                    });
                }
                let keys: BTreeSet<&String> =
                    old.settings.keys().chain(new.settings.keys()).collect();
                for key in keys {
                    let (from, to) = (old.settings.get(key), new.settings.get(key));
                    if from != to {
                        changes.push(Change::Setting {
                            rule: rule.clone(),
                            key: key.clone(),
                            from: from.cloned(),
                            to: to.cloned(),
                        });
                    }
                }
                // A rule that starts or stops remediating says so in its mode change.
                let same_mode = old.mode == new.mode;
                let keys = ["max_per_hour", "max_failures_per_hour"];
                let values = |l: Option<(u32, u32)>| {
                    let (max, failures) = l.unzip();
                    [max.map(|v| v.to_string()), failures.map(|v| v.to_string())]
                };
                for ((key, from), to) in keys
                    .into_iter()
                    .zip(values(old.limit))
                    .zip(values(new.limit))
                {
                    if same_mode && from != to {
                        changes.push(Change::Limit {
                            rule: rule.clone(),
                            key,
                            from,
                            to,
                        });
                    }
                }
                let added: Vec<String> = new.actions.difference(&old.actions).cloned().collect();
                if !added.is_empty() {
                    changes.push(Change::ActionsAdded {
                        rule: rule.clone(),
                        actions: added,
                    });
                }
                let removed: Vec<String> = old.actions.difference(&new.actions).cloned().collect();
                if !removed.is_empty() {
                    changes.push(Change::ActionsRemoved {
                        rule,
                        actions: removed,
                    });
                }
            }
            (None, None) => {}
        }
    }
    if deployed.notifications != desired.notifications {
        changes.push(Change::Notifications);
    }
    changes
}

impl Model {
    /// The rule ids deployed in `mode` (`remediate`, `dry-run`, `notify`), in id order.
    pub fn ids_in(&self, mode: &str) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|(_, r)| r.mode == mode)
            .map(|(id, _)| id.as_str())
            .collect()
    }
}

/// The rules `model` remediates with (mode `remediate`), in id order.
pub fn remediating(model: &Model) -> Vec<&str> {
    model.ids_in("remediate")
}

/// Each deployed template (by `remedy:hash`) against `desired`: its changes in remedy's
/// terms, or why there are none to tell (unreadable, or not a template remedy made). The one
/// diff per deployment that `plan` and the deploy question share.
pub fn diffs_by_hash(
    templates: &BTreeMap<String, Result<String, String>>,
    desired: &Model,
) -> BTreeMap<String, Result<Vec<Change>, String>> {
    templates
        .iter()
        .map(|(hash, template)| {
            let changes = match template {
                Ok(body) => model(body)
                    .map(|deployed| diff(&deployed, desired))
                    .ok_or_else(|| "the deployed template is not one remedy can read".to_owned()),
                Err(reason) => Err(format!("the deployed template could not be read: {reason}")),
            };
            (hash.clone(), changes)
        })
        .collect()
}

/// The plan actions that update a stack in place (and so have a deployed template).
pub(crate) fn is_update(action: crate::core::decide::PlanAction) -> bool {
    use crate::core::decide::PlanAction;
    matches!(action, PlanAction::Update | PlanAction::Replace)
}

/// What a stage's deploy would do, for the question before it: counts per action, the
/// rule changes (added, removed, mode) with how many accounts each touches, how many other
/// changes there are, and which rules the stacks will remediate with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    pub accounts: usize,
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    /// Unread, busy or blocked targets.
    pub other: usize,
    pub rule_changes: Vec<(Change, usize)>,
    /// Settings, role actions, notification routes: counted, listed by `plan`.
    pub other_changes: usize,
    /// Updates whose deployed template could not be read.
    pub unexplained: usize,
    pub remediating: Vec<String>,
}

/// What one target of a preview does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Update,
    Unchanged,
    Other,
}

impl Preview {
    /// From each target's step and (for an update) its changes in remedy's terms.
    pub fn new(rows: &[(Step, Option<&[Change]>)], desired: Option<&Model>) -> Preview {
        let mut p = Preview {
            accounts: rows.len(),
            remediating: desired
                .map(|m| remediating(m).into_iter().map(str::to_owned).collect())
                .unwrap_or_default(),
            ..Preview::default()
        };
        let mut other_changes = BTreeSet::new();
        for (step, changes) in rows {
            match step {
                Step::Create => p.create += 1,
                Step::Update => p.update += 1,
                Step::Unchanged => p.unchanged += 1,
                Step::Other => p.other += 1,
            }
            if *step != Step::Update {
                continue;
            }
            let Some(changes) = changes else {
                p.unexplained += 1;
                continue;
            };
            for change in changes.iter() {
                match change {
                    Change::RuleAdded { .. } | Change::RuleRemoved { .. } | Change::Mode { .. } => {
                        match p.rule_changes.iter_mut().find(|(c, _)| c == change) {
                            Some((_, n)) => *n += 1,
                            None => p.rule_changes.push((change.clone(), 1)),
                        }
                    }
                    other => {
                        other_changes.insert(other.clone());
                    }
                }
            }
        }
        p.rule_changes.sort();
        p.other_changes = other_changes.len();
        p
    }

    /// Whether a deploy would change nothing.
    pub fn nothing_changes(&self) -> bool {
        self.create + self.update + self.other == 0
    }
}

/// Targets whose plans are identical, grouped/// Targets whose plans are identical, grouped: each distinct list of changes with the
/// targets (in the order given) that have it, the largest group first.
pub fn group<K: Clone, C: Clone + PartialEq>(items: &[(K, C)]) -> Vec<(Vec<K>, C)> {
    let mut groups: Vec<(Vec<K>, C)> = Vec::new();
    for (key, changes) in items {
        match groups.iter_mut().find(|(_, c)| c == changes) {
            Some((keys, _)) => keys.push(key.clone()),
            None => groups.push((vec![key.clone()], changes.clone())),
        }
    }
    groups.sort_by_key(|(keys, _)| std::cmp::Reverse(keys.len()));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::Config;

    fn config(rules: &str) -> Config {
        let text = format!(
            "home_region: us-east-1\nstages:\n  - name: dev\n    targets: {{accounts: [\"111111111111\"]}}\nrules:\n{rules}"
        );
        Config::parse(std::path::Path::new("remedy.yaml"), text).unwrap()
    }

    fn model_of(rules: &str) -> Model {
        let rendered = crate::core::template::render(&config(rules)).unwrap();
        model(&rendered.body).unwrap()
    }

    #[test]
    fn a_rendered_template_reads_back_as_what_the_config_says() {
        let m = model_of(
            "  S3-001: remediate\n  CT-001: {mode: dry-run, settings: {trail_name: OrgTrail}}\n",
        );
        assert_eq!(m.rules["S3-001"].mode, "remediate");
        assert_eq!(m.rules["CT-001"].mode, "dry-run");
        assert_eq!(m.rules["CT-001"].settings["trail_name"], "OrgTrail");
        assert!(
            m.rules["S3-001"].actions.contains("s3:PutBucketAcl"),
            "{:?}",
            m.rules["S3-001"].actions
        );
        assert!(!m.rules["S3-001"]
            .actions
            .iter()
            .any(|a| a.starts_with("logs:")));
        assert_eq!(remediating(&m), vec!["S3-001"]);
    }

    #[test]
    fn the_diff_speaks_in_modes_settings_rules_and_actions() {
        let old = model_of("  S3-001: dry-run\n  EC2-002: dry-run\n  CT-001: {mode: remediate, settings: {trail_name: GlobalTrail}}\n");
        let new = model_of("  S3-001: remediate\n  CT-001: {mode: remediate, settings: {trail_name: OrgTrail}}\n  KMS-002: notify\n");
        let shown: Vec<String> = diff(&old, &new).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            shown,
            vec![
                "CT-001.trail_name: GlobalTrail → OrgTrail",
                "EC2-002: removed (was dry-run)",
                "KMS-002: added (notify)",
                "S3-001: dry-run → remediate",
            ]
        );
        assert!(diff(&new, &new).is_empty());
    }

    /// Issue 16, point 5: a rate limit or breaker that changes is said in remedy's terms; a
    /// stack from before the counters table had none.
    #[test]
    fn a_changed_rate_limit_is_named() {
        let old = model_of("  S3-001: remediate\n  EC2-002: remediate\n  CT-001: dry-run\n");
        assert_eq!(old.rules["S3-001"].limit, Some((50, 5)));
        assert_eq!(old.rules["CT-001"].limit, None, "a dry run is not counted");
        let new = model_of(
            "  S3-001: {mode: remediate, max_per_hour: 10}\n  EC2-002: {mode: remediate, max_failures_per_hour: 1}\n  CT-001: dry-run\n",
        );
        let shown: Vec<String> = diff(&old, &new).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            shown,
            vec![
                "EC2-002.max_failures_per_hour: 5 → 1",
                "S3-001.max_per_hour: 50 → 10",
            ]
        );
        let mut before = old.clone();
        for rule in before.rules.values_mut() {
            rule.limit = None;
        }
        let shown: Vec<String> = diff(&before, &old).iter().map(|c| c.to_string()).collect();
        assert!(
            shown.contains(&"S3-001.max_per_hour: none → 50".to_owned()),
            "{shown:?}"
        );
    }

    #[test]
    fn actions_added_to_a_role_are_named() {
        let old = model_of("  S3-001: remediate\n");
        let mut new = old.clone();
        if let Some(r) = new.rules.get_mut("S3-001") {
            r.actions.insert("s3:DeleteBucket".into());
        }
        assert_eq!(
            diff(&old, &new),
            vec![Change::ActionsAdded {
                rule: "S3-001".into(),
                actions: vec!["s3:DeleteBucket".into()]
            }]
        );
    }

    #[test]
    fn a_template_that_is_not_remedys_gives_no_model() {
        assert_eq!(model("Resources: {Bucket: {Type: AWS::S3::Bucket}}"), None);
        assert_eq!(model("not: [yaml"), None);
        assert_eq!(model(""), None);
    }

    #[test]
    fn a_preview_counts_accounts_per_rule_change() {
        let old = model_of("  S3-001: dry-run\n  EC2-002: dry-run\n");
        let new = model_of(
            "  S3-001: remediate\n  EC2-002: {mode: dry-run, settings: {}}\n  KMS-002: remediate\n",
        );
        let changes = diff(&old, &new);
        let rows = vec![
            (Step::Update, Some(changes.as_slice())),
            (Step::Update, Some(changes.as_slice())),
            (Step::Update, None),
            (Step::Create, None),
            (Step::Unchanged, None),
        ];
        let p = Preview::new(&rows, Some(&new));
        assert_eq!(
            (p.accounts, p.create, p.update, p.unchanged, p.other),
            (5, 1, 3, 1, 0)
        );
        assert_eq!(p.unexplained, 1);
        let shown: Vec<String> = p
            .rule_changes
            .iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect();
        assert_eq!(
            shown,
            vec![
                "KMS-002: added (remediate) ×2",
                "S3-001: dry-run → remediate ×2"
            ]
        );
        assert_eq!(p.remediating, vec!["KMS-002", "S3-001"]);
        assert!(!p.nothing_changes());
        assert!(Preview::new(&[(Step::Unchanged, None)], None).nothing_changes());
    }

    #[test]
    fn identical_plans_are_grouped_largest_first() {
        let items = vec![("a", 1), ("b", 2), ("c", 2), ("d", 1), ("e", 2)];
        assert_eq!(
            group(&items),
            vec![(vec!["b", "c", "e"], 2), (vec!["a", "d"], 1)]
        );
    }
}
