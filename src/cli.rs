//! The command line (DESIGN.md, "The command line"): parsing, and each command's flow from
//! config to report. This is where the pure core and the AWS edges are wired together:
//!
//! ```text
//! remedy.yaml ─ config::Config::load ─┐ (exit 2 on any error, before AWS)
//!                template::render ─────┤
//!                package::Package ─────┤
//! org::discover (AWS) ─ targets::resolve (pure) ─ targets × regions
//! artifacts::publish (AWS, security account)
//! runner::run_stage ─ direct::DirectEngine::deploy (AWS, per target) ─ report::*
//! ```

use crate::artifacts;
use crate::config::{is_account_id, Config, Stage};
use crate::direct::DirectEngine;
use crate::error::{exit, Error};
use crate::identity::{self, Identity};
use crate::org;
use crate::package::{self, Package};
use crate::plan::{HASH_TAG, VERSION_TAG};
use crate::report::{self, OutputFormat, StageReport};
use crate::runner::{self, Target};
use crate::targets::{self, Resolution};
use crate::template::{self, MANAGED_TAG};
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "remedy",
    version,
    about = "Roll Cloud Conformity auto-remediation out across an AWS Organization"
)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "remedy.yaml",
        value_name = "PATH"
    )]
    pub config: PathBuf,
    /// `json` prints exactly one JSON document on stdout; progress and logs go to stderr.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The resolved targets of a stage: account id, name, OU path.
    Accounts {
        #[arg(long)]
        stage: String,
    },
    /// The rendered member-account template, on stdout.
    Template {
        #[arg(long)]
        stage: Option<String>,
    },
    /// Per target: create / update (with the change set's resource changes) / unchanged.
    Plan {
        #[arg(long)]
        stage: String,
    },
    /// Deploy one stage, or the named accounts of it.
    Deploy {
        #[arg(long)]
        stage: String,
        /// Deploy only these accounts of the stage (repeatable).
        #[arg(long = "account", value_name = "ID")]
        accounts: Vec<String>,
        /// Answer confirmations with yes.
        #[arg(long)]
        yes: bool,
        /// A prebuilt Lambda zip (overrides `package` in the config).
        #[arg(long, value_name = "PATH")]
        package: Option<PathBuf>,
    },
    /// Every stage in order, stopping at each unapproved gate.
    Rollout {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long = "approve", value_name = "STAGE")]
        approve: Vec<String>,
        #[arg(long)]
        yes: bool,
    },
    /// The fleet: per account and region, stack status, deployed version and hash.
    Status {
        #[arg(long)]
        stage: Option<String>,
    },
    /// Account Vending Machine hook: deploy one account at the stage its OU belongs to.
    Onboard {
        #[arg(long)]
        account: String,
    },
    /// Run the embedded runtime on one Conformity event, in that account.
    Remediate {
        #[arg(long)]
        event: PathBuf,
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// The rule catalog: id, title, service, risk, IAM actions, default mode.
    Rules,
    /// Write the Lambda artifact: a zip whose `bootstrap` is this binary.
    Package {
        #[arg(long, default_value = "dist/remedy-lambda.zip", value_name = "PATH")]
        out: PathBuf,
    },
}

/// Runs the CLI and returns the process exit code. Started by Lambda (the same binary is
/// every function's `bootstrap`), it runs the remediation runtime instead.
pub fn main() -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    if remedy_functions::lambda::is_lambda() {
        init_lambda_logging();
        return match runtime.block_on(remedy_functions::lambda::run()) {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: {e}");
                exit::FAILED
            }
        };
    }
    let cli = Cli::parse();
    init_logging();
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn init_logging() {
    // Logs go to stderr; RUST_LOG (or REMEDY_LOG) sets the level, warnings by default.
    let filter = std::env::var("REMEDY_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// In Lambda: one line per event on stdout (CloudWatch), info by default, no colours.
fn init_lambda_logging() {
    let filter = std::env::var("REMEDY_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(false)
        .without_time()
        .try_init();
}

async fn run(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Rules => {
            print_rules(cli.output);
            Ok(exit::OK)
        }
        Command::Package { out } => {
            let exe = std::env::current_exe()
                .map_err(|e| Error::Failed(format!("cannot find the running binary: {e}")))?;
            package::write_bootstrap_zip(&exe, &out)?;
            let (sha, size) = package::digest(&out)?;
            eprintln!("wrote {} ({size} bytes, sha256 {sha})", out.display());
            Ok(exit::OK)
        }
        Command::Template { stage } => {
            let config = Config::load(&cli.config)?;
            if let Some(stage) = stage {
                config.stage(&stage)?;
            }
            let rendered = template::render(&config).map_err(Error::Failed)?;
            print!("{}", rendered.body);
            Ok(exit::OK)
        }
        Command::Accounts { stage } => {
            let config = Config::load(&cli.config)?;
            let stage = config.stage(&stage)?.clone();
            let base = identity::load_base_config(config.regions.first().map(String::as_str)).await;
            let snapshot = org::discover(&aws_sdk_organizations::Client::new(&base)).await?;
            let resolution = targets::resolve(&config, &stage, &snapshot)?;
            report::print_accounts(stage.name.as_str(), &resolution, cli.output);
            Ok(exit::OK)
        }
        Command::Deploy {
            stage,
            accounts,
            yes,
            package,
        } => {
            let config = Config::load(&cli.config)?;
            deploy(&config, &stage, &accounts, yes, package, cli.output).await
        }
        Command::Remediate {
            event,
            account,
            dry_run,
        } => {
            let config = Config::load(&cli.config)?;
            crate::remediate::remediate(&config, &event, account.as_deref(), dry_run, cli.output)
                .await
        }
        Command::Plan { .. }
        | Command::Rollout { .. }
        | Command::Status { .. }
        | Command::Onboard { .. } => Err(Error::Input(
            "this command is not available yet in this build (see the README's roadmap)".into(),
        )),
    }
}

/// `remedy deploy --stage S`: everything checkable without AWS first, then discovery,
/// artifacts, and the stage's targets through the direct engine.
async fn deploy(
    config: &Config,
    stage_name: &str,
    only_accounts: &[String],
    yes: bool,
    package_override: Option<PathBuf>,
    output: OutputFormat,
) -> Result<i32, Error> {
    // -- Input checks: no AWS call before these pass.
    let stage = config.stage(stage_name)?.clone();
    for id in only_accounts {
        if !is_account_id(id) {
            return Err(Error::Input(format!(
                "--account {id}: not a 12-digit AWS account id"
            )));
        }
    }
    let rendered = template::render(config).map_err(Error::Failed)?;
    let package = match package_override.as_deref().or(config.package.as_deref()) {
        Some(path) => Package::prebuilt(path)?,
        None => Package::from_current_exe()?,
    };

    // -- Who we are, and which accounts the stage means.
    let run_id = identity::new_run_id();
    let regions_configured = config.stage_regions(&stage);
    let base = identity::load_base_config(regions_configured.first().map(String::as_str)).await;
    let regions = if regions_configured.is_empty() {
        base.region()
            .map(|r| vec![r.to_string()])
            .unwrap_or_default()
    } else {
        regions_configured
    };
    let snapshot = org::discover(&aws_sdk_organizations::Client::new(&base)).await?;
    let mut resolution = targets::resolve(config, &stage, &snapshot)?;
    narrow_to(&mut resolution, only_accounts, stage_name)?;
    let targets: Vec<Target> = resolution
        .accounts
        .iter()
        .flat_map(|account| {
            regions.iter().map(|region| Target {
                account: account.clone(),
                region: region.clone(),
            })
        })
        .collect();

    if !confirm(&stage, targets.len(), yes)? {
        eprintln!("nothing deployed");
        return Ok(exit::FAILED);
    }

    // -- Artifacts in the security account, then the targets.
    let started = report::started();
    let security_account = artifacts::caller_account(&base).await?;
    let published = artifacts::publish(
        &base,
        &security_account,
        &snapshot.organization_id,
        &regions,
        &package,
        &rendered,
    )
    .await?;
    let parameters = template::parameters(config, &published.account_id, &published.package_key);
    let hash = template::deployment_hash(&rendered, &parameters, &package.sha256);
    let identity = Arc::new(Identity::new(
        base,
        &config.role.name,
        config.role.external_id.as_deref(),
        &run_id,
    ));
    let engine = Arc::new(DirectEngine {
        identity,
        stack_name: config.stack_name.clone(),
        templates: published.templates,
        parameters,
        tags: vec![
            (HASH_TAG.into(), hash.clone()),
            (VERSION_TAG.into(), env!("CARGO_PKG_VERSION").into()),
            (MANAGED_TAG.into(), "true".into()),
            ("remedy:stage".into(), stage_name.into()),
        ],
        hash,
        change_set_name: format!("remedy-{run_id}"),
    });

    let progress = report::stage_progress(stage_name, targets.len());
    let run = runner::run_stage(
        targets,
        stage.concurrency.0,
        stage.failure_tolerance,
        progress,
        |target| engine.clone().deploy(target),
    )
    .await;
    let report = StageReport::from_run(stage_name, &run);
    report::print_stage(&report, output, started.elapsed());
    Ok(if report.summary.failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// Keeps only the accounts named with `--account`; each must be a target of the stage.
fn narrow_to(resolution: &mut Resolution, only: &[String], stage: &str) -> Result<(), Error> {
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

/// Asks on a terminal; `--yes` or a non-interactive run proceeds without asking (a
/// pipeline has no one to answer, and must never block on stdin).
fn confirm(stage: &Stage, targets: usize, yes: bool) -> Result<bool, Error> {
    if yes || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(true);
    }
    eprint!("Deploy stage `{}` to {targets} targets? [y/N] ", stage.name);
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Failed(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}

fn print_rules(output: OutputFormat) {
    let rules: Vec<_> = remedy_functions::catalog().collect();
    match output {
        OutputFormat::Json => report::print_json(&rules),
        OutputFormat::Text => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{:<18} {:<10} {:<9} {:<10} TITLE / IAM ACTIONS",
                "RULE", "SERVICE", "RISK", "MODE"
            );
            for r in rules {
                let _ = writeln!(
                    out,
                    "{:<18} {:<10} {:<9} {:<10} {}\n{:<50} {}",
                    r.id,
                    r.service,
                    r.risk.as_str(),
                    r.default_mode.as_str(),
                    r.title,
                    "",
                    r.iam_actions.join(", ")
                );
            }
        }
    }
}
