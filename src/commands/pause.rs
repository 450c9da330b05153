//! `remedy pause` and `remedy resume [--rule R]… [--stage S] [--account ID]…`: the kill
//! switch. One SSM parameter per account, `/<stack_name>/paused`, in the stage's home
//! region, written through the account's role: the orchestrator reads it at most once a
//! minute and handles a paused rule as `notify`. No stack update.
//!
//! A pause never asks (it is the emergency brake); a resume turns remediation back on, so it
//! asks on a terminal and, without one, needs --yes (exit 2 before any AWS call).
//! Every account is tried (no failure tolerance): one that cannot be reached must not keep
//! the brake from the others.

use super::Global;
use crate::aws::identity::ssm_client;
use crate::core::error::{exit, Error};
use crate::core::outcome::{Outcome, Seen};
use crate::core::pause::{next, Switch, SwitchOutcome, SwitchedTarget};
use crate::core::targets::Target;
use crate::engine::scheduler::{run_each, Limits, Scheduled};
use crate::report;
use crate::session::{Prepared, Session};
use std::sync::Arc;

/// Which accounts and rules.
#[derive(Debug, Clone, clap::Args)]
pub struct Scope {
    /// Only this rule (repeatable) [default: every rule, written `*`].
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// Only this stage's accounts [default: every stage's].
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Only these accounts (repeatable); each must be a target of the stage(s).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
}

// The flags of `remedy pause`.
#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    #[command(flatten)]
    pub scope: Scope,
}

// The flags of `remedy resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub scope: Scope,
    /// Resume without a question (required without a terminal).
    #[arg(long)]
    pub yes: bool,
}

pub async fn pause(args: PauseArgs, global: &Global) -> Result<i32, Error> {
    switch(Switch::Pause, &args.scope, true, global).await
}

pub async fn resume(args: ResumeArgs, global: &Global) -> Result<i32, Error> {
    switch(Switch::Resume, &args.scope, args.yes, global).await
}

async fn switch(kind: Switch, scope: &Scope, yes: bool, global: &Global) -> Result<i32, Error> {
    // -- Input checks: no AWS call before these pass.
    let config = super::load_config_to_read(&global.config)?;
    let stages = match scope.stage.as_deref() {
        Some(name) => vec![config.stage(name)?.clone()],
        None => config.stages.clone(),
    };
    for rule in &scope.rules {
        if remedy_functions::find_rule(rule).is_none() {
            return Err(Error::Input(format!(
                "--rule {rule}: not a rule of the catalog (`remedy rules` lists them)"
            )));
        }
    }
    super::targets::check_account_ids(&scope.accounts)?;
    let interactive = report::interactive();
    if kind == Switch::Resume && !yes && !interactive {
        return Err(Error::Input(
            "resume turns remediation back on, and there is no terminal to ask: add --yes".into(),
        ));
    }
    let rules: Option<Vec<String>> = (!scope.rules.is_empty()).then(|| scope.rules.clone());
    let parameter = remedy_functions::pause::parameter_name(&config.stack_name);

    // -- The accounts.
    let prepared = Prepared::new(config, None)?;
    let session = Session::connect(prepared, &global.aws, global.stop.clone()).await?;
    let chosen =
        super::targets::chosen_targets(&session, &stages, &scope.accounts, scope.stage.is_some())?;
    let total: usize = chosen.iter().map(|(_, t)| t.len()).sum();
    if kind == Switch::Resume && !yes {
        let what = rules
            .as_ref()
            .map_or_else(|| "every rule".to_owned(), |r| r.join(", "));
        let question = format!("Resume {what} (remediate again) in {total} accounts?");
        if !report::ask(&question, &session.stop).await? {
            report::note("declined: nothing resumed");
            return Ok(exit::DECLINED);
        }
    }

    // -- Each account, at the stage's concurrency.
    let mut rows = Vec::new();
    for (stage, targets) in chosen {
        let identity = session.identity.clone();
        let (parameter, rules, stage_name) = (
            Arc::new(parameter.clone()),
            Arc::new(rules.clone()),
            stage.name.to_string(),
        );
        let this_stage = stage_name.clone();
        let mut run = run_each(
            targets,
            Limits::reads_of(&stage),
            Arc::new(crate::core::outcome::Silent),
            &session.stop,
            move |target| {
                let (identity, parameter, rules, stage_name) = (
                    identity.clone(),
                    parameter.clone(),
                    rules.clone(),
                    stage_name.clone(),
                );
                async move {
                    let config = identity
                        .account_config(&target.account.id, &target.region)
                        .await;
                    let ssm = ssm_client(&config, identity.retries());
                    let mut row = SwitchedTarget::of(&stage_name, &target, SwitchOutcome::Failed);
                    let current = match crate::aws::ssm::read(&ssm, &parameter).await {
                        Ok(current) => current,
                        Err(why) => {
                            row.reason = Some(why);
                            return row;
                        }
                    };
                    let (before, after) = match next(current.as_deref(), kind, rules.as_deref()) {
                        Ok(sets) => sets,
                        Err(why) => {
                            row.reason = Some(why);
                            return row;
                        }
                    };
                    row.before = Some(before);
                    if current == after.to_value() {
                        row.outcome = SwitchOutcome::Unchanged;
                    } else if let Err(why) =
                        crate::aws::ssm::write(&ssm, &parameter, after.to_value().as_deref()).await
                    {
                        row.reason = Some(why);
                        return row;
                    } else {
                        row.outcome = SwitchOutcome::Changed;
                    }
                    row.after = Some(after);
                    row
                }
            },
        )
        .await;
        for row in run.results.iter_mut().filter(|r| r.stage.is_empty()) {
            row.stage = this_stage.clone();
        }
        rows.extend(run.results);
        if run.interrupted {
            break;
        }
    }
    report::print_switch(kind, &parameter, &rows, global.output);
    Ok(if session.stop.interrupted() {
        exit::INTERRUPTED
    } else if rows
        .iter()
        .any(|r| matches!(r.outcome, SwitchOutcome::Failed | SwitchOutcome::Skipped))
    {
        exit::FAILED
    } else {
        exit::OK
    })
}

impl SwitchedTarget {
    fn of(stage: &str, target: &Target, outcome: SwitchOutcome) -> SwitchedTarget {
        SwitchedTarget {
            stage: stage.to_owned(),
            account_id: target.account.id.clone(),
            account_name: target.account.name.clone(),
            region: target.region.clone(),
            outcome,
            before: None,
            after: None,
            reason: None,
        }
    }
}

impl Scheduled for SwitchedTarget {
    fn counts_as_failure(&self) -> bool {
        self.outcome == SwitchOutcome::Failed
    }

    fn seen(&self) -> Seen<'_> {
        Seen {
            account_id: &self.account_id,
            region: &self.region,
            outcome: match self.outcome {
                SwitchOutcome::Changed => Outcome::Updated,
                SwitchOutcome::Unchanged => Outcome::Unchanged,
                SwitchOutcome::Failed => Outcome::Failed,
                SwitchOutcome::Skipped => Outcome::Skipped,
            },
            word: self.outcome.as_str(),
            stack_status: None,
            reason: self.reason.as_deref(),
            stack_time: None,
        }
    }

    fn unfinished(target: &Target, outcome: Outcome, reason: String) -> Self {
        let mut row = SwitchedTarget::of(
            "",
            target,
            match outcome {
                Outcome::Skipped => SwitchOutcome::Skipped,
                _ => SwitchOutcome::Failed,
            },
        );
        row.reason = Some(reason);
        row
    }
}

/// `status`: what the kill switch pauses in each row's account, read through its role in
/// the row's region, at the stage's concurrency. After a Ctrl-C nothing more is read.
pub(crate) async fn read_into(
    session: &Session,
    stage: &crate::core::config::Stage,
    rows: &mut [crate::core::outcome::InspectedTarget],
) {
    use futures::StreamExt;
    let parameter = remedy_functions::pause::parameter_name(&session.config.stack_name);
    let identity = session.identity.clone();
    let concurrency = Limits::reads_of(stage).concurrency.max(1);
    let reads: Vec<Option<Result<Option<String>, String>>> = futures::stream::iter(
        rows.iter()
            .map(|r| (r.account_id.clone(), r.region.clone())),
    )
    .map(|(account, region)| {
        let (identity, parameter, stop) =
            (identity.clone(), parameter.clone(), session.stop.clone());
        async move {
            if stop.interrupted() {
                return None;
            }
            let config = identity.account_config(&account, &region).await;
            let ssm = ssm_client(&config, identity.retries());
            Some(crate::aws::ssm::read(&ssm, &parameter).await)
        }
    })
    .buffered(concurrency)
    .collect()
    .await;
    for (row, read) in rows.iter_mut().zip(reads) {
        match read {
            None | Some(Ok(None)) => {}
            Some(Ok(Some(value))) => match remedy_functions::pause::Paused::parse(&value) {
                Ok(paused) => row.paused = paused.0.into_iter().collect(),
                Err(why) => row.pause_error = Some(why),
            },
            Some(Err(why)) => row.pause_error = Some(why),
        }
    }
}
