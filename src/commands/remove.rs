//! `remedy remove --stage S [--account ID]… [--yes] [--max-deletions N]`: deletes remedy's
//! stack from the stage's accounts (or the named ones), in each account's home region.
//!
//! First every target is looked at (DescribeStacks), so that the question, and the cap,
//! count the stacks that are really there; then each is deleted by its id and waited for
//! (`engine::remove`), at the stage's concurrency and failure tolerance. Each target is
//! `removed`, `absent` (no stack) or `failed` with the resources that would not delete; the
//! report has deploy's shapes (text, `--output json`, `--report FILE`). On a terminal the
//! operator is asked; anywhere else `--yes` is required (exit 2 without it). With
//! `--max-deletions N`, a run that would delete more than N stacks deletes none: it lists
//! them and exits 1.

use super::Global;
use crate::core::error::{exit, Error};
use crate::core::outcome::StageReport;
use crate::engine::remove::{Found, Remover};
use crate::engine::scheduler::{run_each, Limits};
use crate::report::{self, ProgressKind};
use crate::session::{Prepared, Session};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

// The flags of `remedy remove`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage whose accounts lose remedy's stack.
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    /// Only these accounts of the stage (repeatable).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Delete without asking (required without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Delete nothing when more than N stacks would be deleted (list them, exit 1).
    #[arg(long, value_name = "N")]
    pub max_deletions: Option<usize>,
    /// Also write a Markdown summary to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    // -- Input checks: no AWS call before these pass.
    let config = super::load_config_to_read(&global.config)?;
    let stage = config.stage(&args.stage)?.clone();
    if !config.stage_engine(&stage).owns_account_stacks() {
        return Err(Error::Input(format!(
            "stage `{}` deploys with `engine: stacksets`: its stacks are the StackSet `{}-{}`'s instances; delete them through the StackSet (DeleteStackInstances, then DeleteStackSet)",
            stage.name, config.stack_name, stage.name
        )));
    }
    super::targets::check_account_ids(&args.accounts)?;
    let started = Instant::now();

    // -- The stage's accounts, and their stacks.
    let prepared = Prepared::new(config, None)?;
    let session = Session::connect(prepared, &global.aws, global.stop.clone()).await?;
    let chosen = super::targets::chosen_targets(
        &session,
        std::slice::from_ref(&stage),
        &args.accounts,
        true,
    )?;
    let targets: Vec<_> = chosen.into_iter().flat_map(|(_, t)| t).collect();
    let remover = Arc::new(Remover {
        identity: session.identity.clone(),
        stack_name: session.config.stack_name.clone(),
        execution_role: session.config.role.execution_role.clone(),
        target_timeout: crate::core::util::TARGET_TIMEOUT,
    });
    let looked = run_each(
        targets.clone(),
        Limits::reads_of(&stage),
        report::progress(stage.name.as_str(), targets.len(), ProgressKind::Find),
        &session.stop,
        {
            let remover = remover.clone();
            move |target| remover.clone().find(target)
        },
    )
    .await;
    if looked.interrupted || session.stop.interrupted() {
        return Ok(exit::INTERRUPTED);
    }
    let found: BTreeMap<String, Found> = looked
        .results
        .into_iter()
        .map(|f| (f.account_id.clone(), f))
        .collect();
    let stacks: Vec<&Found> = found.values().filter(|f| f.stack_id.is_some()).collect();

    // -- The cap, then the question.
    if let Some(max) = args.max_deletions.filter(|max| stacks.len() > *max) {
        let listed: Vec<String> = stacks
            .iter()
            .map(|f| format!("{} ({})", f.account_id, f.region))
            .collect();
        report::note(&format!(
            "stage `{}`: {} stacks would be deleted, more than --max-deletions {max}: nothing was deleted. They are: {}",
            stage.name,
            stacks.len(),
            listed.join(", ")
        ));
        return Ok(exit::FAILED);
    }
    if !args.yes && !stacks.is_empty() {
        let what = format!(
            "delete remedy's stack `{}` from {} of the {} accounts of stage `{}`",
            session.config.stack_name,
            stacks.len(),
            targets.len(),
            stage.name
        );
        if !report::interactive() {
            return Err(Error::Input(format!(
                "{what}: there is no terminal to ask; add --yes to delete without a question"
            )));
        }
        if !report::ask(&format!("{}?", capitalized(&what)), &session.stop).await? {
            return Ok(exit::DECLINED);
        }
    }

    // -- Delete, each by its id.
    let found = Arc::new(found);
    let run = run_each(
        targets.clone(),
        Limits::of_stage(&stage),
        report::progress(stage.name.as_str(), targets.len(), ProgressKind::Remove),
        &session.stop,
        move |target| {
            let seen = found.get(&target.account.id).cloned();
            remover.clone().remove(target, seen)
        },
    )
    .await;
    let report = StageReport::from_run(stage.name.as_str(), &run, started.elapsed());
    super::finish_stage(
        &session,
        &report,
        global.output,
        args.report.as_deref(),
        "remedy remove",
    )
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
