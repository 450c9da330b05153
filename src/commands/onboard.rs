//! `remedy onboard --account ID [--wait 10m]`: the Account Vending Machine hook. Finds the
//! account's OU path and the first stage whose targets include it, waits for its role to
//! become usable, and deploys that account alone: one stack, in that stage's home region.
//!
//! It does not stop at approval gates: it runs unattended, for an account with nothing
//! deployed yet. It deploys the configuration and build at hand, so run it from the
//! revision the pipeline last promoted.

use super::AwsSelection;
use super::Global;
use super::{deploy_stage, finish_stage, DeployOptions};
use crate::core::config::{is_account_id, Config};
use crate::core::error::Error;
use crate::core::outcome::StageReport;
use crate::core::outcome::{Outcome, StageRun, TargetResult};
use crate::core::stop::Stop;
use crate::core::targets::first_stage_of;
use crate::engine::StageEngine;
use crate::report::{self, OutputFormat};
use crate::session::{Prepared, Session, Work};
use std::time::{Duration, Instant};

// The flags of `remedy onboard`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The vended account (12 digits): deployed at the first stage whose targets hold it.
    #[arg(long, value_name = "ID")]
    pub account: String,
    /// How long to wait for the account's role to become usable.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = super::parse_duration)]
    pub wait: Duration,
    /// Once deployed, register the account's findings topic as its Conformity SNS channel
    /// (as `remedy conformity connect` does; needs `conformity.api` in remedy.yaml).
    #[arg(long)]
    pub connect: bool,
    #[command(flatten)]
    pub options: DeployOptions,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config(&global.config)?;
    if args.connect {
        super::conformity::check_connect(&config)?;
    }
    onboard(
        config,
        &args,
        global.output,
        &global.aws,
        global.stop.clone(),
    )
    .await
}

pub async fn onboard(
    config: Config,
    args: &Args,
    output: OutputFormat,
    aws: &AwsSelection,
    stop: Stop,
) -> Result<i32, Error> {
    let (account, connect, wait, options) = (
        args.account.as_str(),
        args.connect,
        args.wait,
        &args.options,
    );
    if !is_account_id(account) {
        return Err(Error::Input(format!(
            "--account {account}: not a 12-digit AWS account id"
        )));
    }
    let prepared = Prepared::new(config, options.package.as_deref())?;
    let mut session = Session::connect(prepared, aws, stop).await?;
    // Organizations' CreateAccount puts a new account in the root; the vending machine moves
    // it to its OU moments later. An account still in the root that no stage targets is
    // looked for again until --wait runs out; anywhere else, no stage is an answer at once.
    let deadline = Instant::now() + wait;
    let mut delay = crate::aws::cfn::Backoff::new();
    let (stage, mut resolution) = loop {
        match first_stage_of(&session.config, &session.snapshot, account) {
            Ok((stage, resolution)) => break (stage.clone(), resolution),
            Err(e)
                if in_root(&session.snapshot, account)
                    && Instant::now() < deadline
                    && !session.stop.interrupted() =>
            {
                report::note(&format!(
                    "{account} is still in the organization's root, where no stage looks; waiting for it to be moved to its OU"
                ));
                delay.sleep().await;
                session.rediscover().await?;
                tracing::debug!("{e}");
            }
            Err(e) => return Err(e),
        }
    };
    resolution.accounts.retain(|a| a.id == account);
    let targets = session.targets(&stage, &resolution)?;
    let targets_for_connect = targets.first().cloned();
    if let Some(found) = resolution.accounts.first() {
        let placement = session.placement(&stage)?;
        report::note(&format!(
            "onboarding {account} ({}, {}) at stage `{}`: one stack in {}, remediating {}",
            found.name,
            found.ou_path,
            stage.name,
            placement.home,
            placement.covered.join(", ")
        ));
    }

    // A new account's role can take minutes to appear. (StackSets reaches the account
    // through its own service roles: a stacksets stage needs no member role.)
    let started = Instant::now();
    let engine = StageEngine::for_stage(
        &mut session,
        &stage,
        &targets,
        options.engine(),
        Work::Deploy,
    )
    .await?;
    let ready = match targets.first() {
        Some(first) => engine.ready(first, wait).await,
        None => Ok(()),
    };
    let report = match ready {
        Ok(()) => deploy_stage(&mut session, &stage, &engine, targets, started, Vec::new()).await,
        Err(reason) => {
            let results = targets
                .iter()
                .map(|t| TargetResult::new(t, Outcome::Failed, None, Some(reason.clone())))
                .collect();
            let run = StageRun {
                results,
                tolerance_exceeded: targets.len() > stage.failure_tolerance,
                interrupted: session.stop.interrupted(),
            };
            StageReport::from_run(stage.name.as_str(), &run, started.elapsed())
        }
    };
    let code = finish_stage(
        &session,
        &report,
        output,
        options.report.as_deref(),
        &format!("remedy onboard --account {account}"),
    )?;
    // Connected only once the stack (and so its topic) is there.
    let deployed = code == crate::core::error::exit::OK;
    match (connect, deployed, targets_for_connect) {
        (true, true, Some(target)) => {
            let (connected, line) =
                super::conformity::connect_one(&session, &stage, target).await?;
            report::note(&line);
            Ok(if connected {
                code
            } else {
                crate::core::error::exit::FAILED
            })
        }
        (true, false, _) => {
            report::note("Conformity: not connected, as the account was not deployed");
            Ok(code)
        }
        _ => Ok(code),
    }
}

/// Whether the account sits directly in a root of the organization.
fn in_root(org: &crate::core::org::OrgSnapshot, account: &str) -> bool {
    org.accounts
        .iter()
        .find(|a| a.id == account)
        .and_then(|a| org.units.get(&a.parent_id))
        .is_some_and(|unit| unit.parent_id.is_none())
}
