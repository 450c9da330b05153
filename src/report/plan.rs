//! `remedy plan`.

use super::json::PlanDoc;
use super::output::{print_json, OutputFormat};
use super::table::Table;
use crate::core::decide::{plan_summary, PlanAction};
use crate::core::outcome::{Explained, Layout, PlannedTarget, Stray};
use crate::core::semantic::{group, is_update};
use std::io::Write;

/// `remedy plan`: per target its action and resource changes, the updates in remedy's terms
/// grouped by identical changes, what the stacks will run, the aggregate line, what the
/// stacks hold (per account and for the fleet), the strays, and what the plan wrote.
pub fn print_plan(
    stage: &str,
    planned: &[PlannedTarget],
    kept: bool,
    layout: &Layout,
    explained: &Explained,
    format: OutputFormat,
) {
    let actions: Vec<PlanAction> = planned.iter().map(|p| p.action).collect();
    let summary = plan_summary(&actions);
    match format {
        OutputFormat::Json => print_json(&PlanDoc::new(stage, kept, planned, layout, explained)),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let mut table =
                Table::new(["ACCOUNT", "NAME", "REGION", "ACTION", "CHANGES", "DETAIL"])
                    .keep_whole(&[0, 2, 3, 4]);
            for p in planned {
                table.row([
                    p.account_id.clone(),
                    p.account_name.clone(),
                    p.region.clone(),
                    p.action.as_str().to_owned(),
                    p.changes.len().to_string(),
                    p.reason.clone().unwrap_or_default(),
                ]);
            }
            let _ = write!(out, "{}", table.render(None));
            print_resource_changes(&mut out, planned);
            print_semantic(&mut out, planned, explained);
            let _ = writeln!(out, "stage {stage}: {summary}");
            let f = &layout.footprint;
            let n = layout.accounts;
            let _ = writeln!(
                out,
                "one stack per account in {}, remediating {} (and global findings)",
                layout.home,
                layout.covered.join(", ")
            );
            let _ = writeln!(
                out,
                "each stack: {} functions, {} IAM roles, {} queues, {} KMS keys, {} notification topics",
                f.functions, f.roles, f.queues, f.kms_keys, f.notification_topics
            );
            let _ = writeln!(
                out,
                "{n} accounts: {} functions, {} IAM roles, {} queues, {} KMS keys (${:.2} a month at $1 per key in its first year)",
                f.functions * n,
                f.roles * n,
                f.queues * n,
                f.kms_keys * n,
                f.kms_monthly_usd() * n as f64
            );
            print_strays(&mut out, &layout.strays);
            if let Some(prune) = &layout.prune {
                print_prune(&mut out, prune);
            }
            print_writes(&mut out, explained, kept);
            if kept {
                let _ = writeln!(
                    out,
                    "the change sets were kept: `remedy deploy --stage {stage}` executes them"
                );
            }
        }
    }
}

/// The updates' resource changes (a create lists everything: left out), identical lists
/// once with the accounts that share them.
fn print_resource_changes(out: &mut impl Write, planned: &[PlannedTarget]) {
    let items: Vec<(&PlannedTarget, Vec<String>)> = planned
        .iter()
        .filter(|p| is_update(p.action) && !p.changes.is_empty())
        .map(|p| {
            let lines = p
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "{:<8} {} ({}){}",
                        c.action,
                        c.logical_id,
                        c.resource_type,
                        match c.replacement.as_deref() {
                            Some("True") => " — replaced",
                            Some("Conditional") => " — may be replaced",
                            _ => "",
                        }
                    )
                })
                .collect();
            (p, lines)
        })
        .collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "resource changes:");
    for (members, lines) in group(&items) {
        let _ = writeln!(out, "  {}:", accounts(&members));
        for line in lines {
            let _ = writeln!(out, "    {line}");
        }
    }
}

/// The updates in remedy's terms, grouped, and what the stacks will run.
fn print_semantic(out: &mut impl Write, planned: &[PlannedTarget], explained: &Explained) {
    if !explained.groups.is_empty() {
        let _ = writeln!(out, "in remedy's terms:");
        for (members, changes) in &explained.groups {
            let who = accounts_of(members);
            let _ = match changes.len() {
                0 => writeln!(
                    out,
                    "  {who}: no rule changes (the package, parameters or tags change)"
                ),
                1 => writeln!(out, "  {who}: 1 change"),
                n => writeln!(out, "  {who}: the same {n} changes"),
            };
            for change in changes {
                let _ = writeln!(out, "    {change}");
            }
        }
    }
    let unread: Vec<&PlannedTarget> = planned
        .iter()
        .filter(|p| p.semantic_note.is_some())
        .collect();
    if let Some(first) = unread.first() {
        let _ = writeln!(
            out,
            "{} update(s) not explained in remedy's terms: {}",
            unread.len(),
            first.semantic_note.as_deref().unwrap_or_default()
        );
    }
    if let Some(desired) = &explained.desired {
        let _ = writeln!(out, "{}", modes_line(desired));
    }
}

/// "the stacks run 12 rules: 3 remediate (S3-001, EC2-002, KMS-001), 9 dry-run".
pub(crate) fn modes_line(desired: &crate::core::semantic::Model) -> String {
    let of = |mode: &str| desired.ids_in(mode);
    let remediate = of("remediate");
    let mut parts = Vec::new();
    if !remediate.is_empty() {
        parts.push(format!(
            "{} remediate ({})",
            remediate.len(),
            remediate.join(", ")
        ));
    }
    for mode in ["dry-run", "notify"] {
        let n = of(mode).len();
        if n > 0 {
            parts.push(format!("{n} {mode}"));
        }
    }
    format!(
        "the stacks run {} rules: {}",
        desired.rules.len(),
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    )
}

/// "3 targets (111111111111 dev-a, 222222222222 dev-b, 333333333333 dev-c)", the names of
/// at most five and a count of the rest.
fn accounts(members: &[&PlannedTarget]) -> String {
    let pairs: Vec<(String, String)> = members
        .iter()
        .map(|p| (p.account_id.clone(), p.account_name.clone()))
        .collect();
    accounts_of(&pairs)
}

pub(crate) fn accounts_of(members: &[(String, String)]) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<String> = members
        .iter()
        .take(SHOWN)
        .map(|(id, name)| {
            if name.is_empty() {
                id.clone()
            } else {
                format!("{id} {name}")
            }
        })
        .collect();
    if members.len() > SHOWN {
        names.push(format!("+{} more", members.len() - SHOWN));
    }
    let noun = if members.len() == 1 {
        "target"
    } else {
        "targets"
    };
    format!("{} {noun} ({})", members.len(), names.join(", "))
}

/// What the plan wrote (only what its change sets read, never the package).
fn print_writes(out: &mut impl Write, explained: &Explained, kept: bool) {
    let sets = if kept { "kept" } else { "deleted again" };
    if explained.writes.is_empty() {
        let _ = writeln!(
            out,
            "plan wrote nothing but its change sets ({sets}): the template is passed inline and the package is not uploaded for a plan"
        );
    }
    for w in &explained.writes {
        let _ = writeln!(
            out,
            "plan {} s3://{}/{} in {} (the template its change sets read{}); change sets {sets}; the package is uploaded at deploy",
            if w.uploaded { "wrote" } else { "used" },
            w.bucket,
            w.key,
            w.region,
            if w.uploaded { "" } else { ", there already: nothing written" }
        );
    }
}

/// `--prune`: the stacks a deploy with `--prune` would remove, one line each.
fn print_prune(out: &mut impl Write, prune: &crate::core::outcome::Prune) {
    let over = if prune.stacks.len() > prune.max_deletions {
        format!(
            " — more than --max-deletions {}: a deploy would remove none",
            prune.max_deletions
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "prune: {} stack(s) no stage targets would be removed by `deploy --prune`{over}:",
        prune.stacks.len()
    );
    for s in &prune.stacks {
        let _ = writeln!(out, "{}", stack_line("remove", s));
    }
    if prune.unreadable > 0 {
        let _ = writeln!(
            out,
            "  ({} account/region place(s) could not be looked at: no remedy role there?)",
            prune.unreadable
        );
    }
}

/// The strays, one line each, and what to do about them.
pub(crate) fn print_strays(out: &mut impl Write, strays: &[Stray]) {
    if strays.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{} stray stack(s) outside the home region (an earlier layout; they still hold roles and a key):",
        strays.len()
    );
    for s in strays {
        let _ = writeln!(out, "{}", stack_line("stray", s));
    }
}

/// `  stray 111111111111   eu-west-1        CREATE_COMPLETE (stage dev)`.
fn stack_line(word: &str, s: &Stray) -> String {
    format!(
        "  {word} {:<14} {:<16} {}{}",
        s.account_id,
        s.region,
        s.stack_status.as_deref().unwrap_or("-"),
        s.stage
            .as_deref()
            .map(|stage| format!(" (stage {stage})"))
            .unwrap_or_default()
    )
}
