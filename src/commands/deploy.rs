//! `remedy deploy --stage S [--account ID]…`: one stage, or the named accounts of it, each
//! in the stage's home region.
//!
//! With `--in-account` (what the codebuild engine's build runs inside a member account):
//! the account the credentials belong to, no Organizations call, no role, and the package
//! and template `remedy publish` put in `--artifact-account`'s buckets. `--expect-hash`
//! refuses (exit 2) when this configuration and package would deploy something other than
//! what the security account asked for.

use super::AwsSelection;
use super::Global;
use super::{confirm, finish_stage, run_stage, DeployOptions};
use crate::core::config::{is_account_id, Config};
use crate::core::error::{exit, Error};
use crate::core::stop::Stop;
use crate::core::targets::Resolution;
use crate::report::OutputFormat;
use crate::session::{check_home_region, Prepared, Session};

// The flags of `remedy deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage to deploy (a `name` of `stages` in the configuration).
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    #[command(flatten)]
    pub scope: Scope,
    #[command(flatten)]
    pub options: DeployOptions,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config(&global.config)?;
    if args.scope.prune.prune && (!args.scope.accounts.is_empty() || args.scope.in_account) {
        return Err(Error::Input(
            "--prune looks at the whole organization: not with --account or --in-account".into(),
        ));
    }
    deploy(
        config,
        &args.stage,
        &args.scope,
        &args.options,
        global.output,
        &global.aws,
        global.stop.clone(),
    )
    .await
}

/// Where and how `deploy` runs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Scope {
    /// Deploy only these accounts of the stage (repeatable).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// The global `--region` (`remedy --region R deploy …`; account bootstraps pass it),
    /// checked against the stage's home region: any other region is refused. Each account
    /// has one stack, in the home region. Set from the global option, not a flag of its own.
    #[arg(skip)]
    pub region: Option<String>,
    /// Deploy to the account these credentials belong to (inside it, e.g. its CodeBuild
    /// project): no Organizations call, no role to assume.
    #[arg(long, requires = "artifact_account", conflicts_with = "accounts")]
    pub in_account: bool,
    /// With --in-account: the security account whose artifact buckets hold the package.
    #[arg(long, value_name = "ID", requires = "in_account")]
    pub artifact_account: Option<String>,
    /// Refuse to deploy unless the deployment's remedy:hash is this one.
    #[arg(long, value_name = "HASH")]
    pub expect_hash: Option<String>,
    #[command(flatten)]
    pub prune: super::prune::PruneOptions,
}

pub async fn deploy(
    config: Config,
    stage_name: &str,
    scope: &Scope,
    options: &DeployOptions,
    output: OutputFormat,
    aws: &AwsSelection,
    stop: Stop,
) -> Result<i32, Error> {
    let only_accounts = &scope.accounts;
    // -- Input checks: no AWS call before these pass.
    let stage = config.stage(stage_name)?.clone();
    for id in only_accounts {
        if !is_account_id(id) {
            return Err(Error::Input(format!(
                "--account {id}: not a 12-digit AWS account id"
            )));
        }
    }
    if let Some(id) = scope
        .artifact_account
        .as_deref()
        .filter(|id| !is_account_id(id))
    {
        return Err(Error::Input(format!(
            "--artifact-account {id}: not a 12-digit AWS account id"
        )));
    }
    // A --region other than the home region is known now when the file names the regions.
    if let Some(placement) = config.placement(&stage, None) {
        check_home_region(&placement, scope.region.as_deref(), &stage)?;
    }
    let prepared = Prepared::new(config, options.package.as_deref())?;

    // -- Who we are, and which accounts the stage means.
    let mut session = match (scope.in_account, scope.artifact_account.as_deref()) {
        (true, Some(artifact_account)) => {
            Session::in_account(prepared, artifact_account, aws, stop).await?
        }
        _ => Session::connect(prepared, aws, stop).await?,
    };
    check_home_region(&session.placement(&stage)?, scope.region.as_deref(), &stage)?;
    if session.is_in_account() {
        // The account's exceptions as the security account resolved them (a codebuild
        // engine's build passes them; the build cannot list the organization's OUs).
        if let Ok(given) = std::env::var(remedy_functions::exceptions::ENV) {
            remedy_functions::exceptions::parse_table(Some(&given)).map_err(Error::Input)?;
            session.set_own_exceptions(given);
        }
    }
    let targets = if session.is_in_account() {
        session.own_targets(&stage)?
    } else {
        let mut resolution = session.resolve(&stage)?;
        narrow_to(&mut resolution, only_accounts, stage_name)?;
        session.targets(&stage, &resolution)?
    };
    if let Some(expected) = &scope.expect_hash {
        // Each account's stack has its own hash (its exceptions): every target's must be it.
        for target in &targets {
            let hash = session.account_hash(&stage, &target.account)?;
            if *expected != hash {
                return Err(Error::Input(format!(
                    "--expect-hash {expected}: this configuration and package deploy {hash} to account {} in stage `{stage_name}` (they differ from what was published)",
                    target.account.id
                )));
            }
        }
    }

    // A pipeline has no one to answer, and must never block on stdin: without a terminal a
    // deploy that would change stacks needs --yes. On a terminal the question shows what
    // would change.
    if !options.yes {
        let question = format!(
            "Deploy stage `{}` to {} targets?",
            stage.name,
            targets.len()
        );
        if !confirm(&mut session, &stage, &targets, &question).await? {
            crate::report::note("declined: nothing deployed");
            return Ok(exit::DECLINED);
        }
    }

    let mut report = run_stage(&mut session, &stage, targets, options.engine(), Vec::new()).await?;
    let prune = &scope.prune;
    let over_cap = prune.prune
        && !report.interrupted
        && matches!(
            super::prune::after_stage(
                &session,
                &stage,
                prune.max_deletions,
                &mut report,
                &mut None
            )
            .await?,
            super::prune::Pruned::OverCap
        );
    let code = finish_stage(
        &session,
        &report,
        output,
        options.report.as_deref(),
        &format!("remedy deploy --stage {stage_name}"),
    )?;
    Ok(if over_cap && code == exit::OK {
        exit::FAILED
    } else {
        code
    })
}

/// Keeps only the accounts named with `--account`; each must be a target of the stage.
pub fn narrow_to(resolution: &mut Resolution, only: &[String], stage: &str) -> Result<(), Error> {
    if only.is_empty() {
        return Ok(());
    }
    for id in only {
        if !resolution.accounts.iter().any(|a| &a.id == id) {
            let why = resolution
                .passed_over
                .iter()
                .find(|(passed, _)| passed == id)
                .map(|(_, why)| format!(" ({why})"))
                .unwrap_or_default();
            return Err(Error::Input(format!(
                "--account {id}: not a target of stage `{stage}`{why}"
            )));
        }
    }
    resolution.accounts.retain(|a| only.contains(&a.id));
    Ok(())
}
