//! The command line (DESIGN.md, "The command line"): parsing, the process's logging and
//! exit code, and dispatch to each subcommand's file in [`crate::commands`] (the tour is
//! in `lib.rs`).

use crate::commands::{self, DeployOptions};
use crate::core::config::Config;
use crate::core::error::{exit, Error};
use crate::report::OutputFormat;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

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
        /// Keep the change sets: `deploy` then executes them.
        #[arg(long)]
        keep: bool,
        /// A prebuilt Lambda zip (overrides `package` in the config).
        #[arg(long, value_name = "PATH")]
        package: Option<PathBuf>,
        /// How long one target's change set may take to compute.
        #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = commands::parse_duration)]
        target_timeout: Duration,
    },
    /// Deploy one stage, or the named accounts of it.
    Deploy {
        #[arg(long)]
        stage: String,
        #[command(flatten)]
        scope: commands::deploy::Scope,
        #[command(flatten)]
        options: DeployOptions,
    },
    /// Upload the package, the template and remedy.yaml to every region's artifact bucket.
    Publish {
        /// A prebuilt Lambda zip (overrides `package` in the config).
        #[arg(long, value_name = "PATH")]
        package: Option<PathBuf>,
        /// Also mark this release as the one new accounts get (releases/promoted.json).
        #[arg(long)]
        promote: bool,
    },
    /// Every stage in order, stopping at each unapproved gate.
    Rollout {
        /// The first stage to run (default: the first).
        #[arg(long, value_name = "STAGE")]
        from: Option<String>,
        /// The last stage to run (default: the last).
        #[arg(long, value_name = "STAGE")]
        to: Option<String>,
        /// Approve the gate of this stage (repeatable).
        #[arg(long = "approve", value_name = "STAGE")]
        approve: Vec<String>,
        #[command(flatten)]
        options: DeployOptions,
    },
    /// The fleet: per account and region, stack status, deployed version and hash.
    Status {
        #[arg(long)]
        stage: Option<String>,
        /// Also run CloudFormation drift detection on every stack.
        #[arg(long)]
        drift: bool,
        /// The Lambda zip this build would deploy (for the current/outdated comparison).
        #[arg(long, value_name = "PATH")]
        package: Option<PathBuf>,
    },
    /// Account Vending Machine hook: deploy one account at the stage its OU belongs to.
    Onboard {
        #[arg(long, value_name = "ID")]
        account: String,
        /// How long to wait for the account's role to become usable.
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = commands::parse_duration)]
        wait: Duration,
        #[command(flatten)]
        options: DeployOptions,
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
    if matches!(
        cli.command,
        Command::Deploy { .. }
            | Command::Rollout { .. }
            | Command::Onboard { .. }
            | Command::Plan { .. }
            | Command::Status { .. }
    ) {
        // Needs the runtime: the listener is a task.
        let _guard = runtime.enter();
        crate::interrupt::install();
    }
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Log targets that print credentials at debug and trace level (the resolved identity with
/// its access key id, signed requests, canonical requests): capped at info whatever level
/// is asked for, so that no log carries a key. (Secrets and session tokens the SDK redacts.)
/// (aws_config logs profile credentials at info, with their access key id: warn.)
const CREDENTIAL_BEARING_TARGETS: &[(&str, &str)] = &[
    ("aws_sigv4", "info"),
    ("aws_smithy_runtime::client::orchestrator", "info"),
    ("aws_config", "warn"),
];

/// The level asked for, with the credential-bearing targets capped. A directive asking for
/// more of one of them (or of a target inside it) is dropped, so the cap always holds.
fn log_filter(asked: &str) -> tracing_subscriber::EnvFilter {
    let kept: Vec<&str> = asked
        .split(',')
        .filter(|directive| {
            let target = directive
                .split(['=', '['])
                .next()
                .unwrap_or_default()
                .trim();
            !CREDENTIAL_BEARING_TARGETS
                .iter()
                .any(|(capped, _)| target.starts_with(capped))
        })
        .collect();
    let caps: Vec<String> = CREDENTIAL_BEARING_TARGETS
        .iter()
        .map(|(target, level)| format!("{target}={level}"))
        .collect();
    tracing_subscriber::EnvFilter::new(format!("{},{}", kept.join(","), caps.join(",")))
}

fn init_logging() {
    // Logs go to stderr; RUST_LOG (or REMEDY_LOG) sets the level, warnings by default.
    let filter = std::env::var("REMEDY_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter(&filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// In Lambda: one line per event on stdout (CloudWatch), info by default, no colours.
fn init_lambda_logging() {
    let filter = std::env::var("REMEDY_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter(&filter))
        .with_ansi(false)
        .without_time()
        .try_init();
}

async fn run(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Rules => commands::rules::rules(cli.output),
        Command::Package { out } => commands::package::package(&out),
        Command::Template { stage } => {
            let config = Config::load(&cli.config)?;
            commands::template::template(&config, stage.as_deref())
        }
        Command::Accounts { stage } => {
            let config = Config::load(&cli.config)?;
            commands::accounts::accounts(&config, &stage, cli.output).await
        }
        Command::Deploy {
            stage,
            scope,
            options,
        } => {
            let config = Config::load(&cli.config)?;
            commands::deploy::deploy(config, &stage, &scope, &options, cli.output).await
        }
        Command::Publish { package, promote } => {
            let config = Config::load(&cli.config)?;
            commands::publish::publish(config, package.as_deref(), promote, cli.output).await
        }
        Command::Rollout {
            from,
            to,
            approve,
            options,
        } => {
            let config = Config::load(&cli.config)?;
            commands::rollout::rollout(
                config,
                from.as_deref(),
                to.as_deref(),
                &approve,
                &options,
                cli.output,
            )
            .await
        }
        Command::Plan {
            stage,
            keep,
            package,
            target_timeout,
        } => {
            let config = Config::load(&cli.config)?;
            commands::plan::plan(
                config,
                &stage,
                keep,
                package.as_deref(),
                target_timeout,
                cli.output,
            )
            .await
        }
        Command::Status {
            stage,
            drift,
            package,
        } => {
            let config = Config::load(&cli.config)?;
            commands::status::status(
                config,
                stage.as_deref(),
                drift,
                package.as_deref(),
                cli.output,
            )
            .await
        }
        Command::Onboard {
            account,
            wait,
            options,
        } => {
            let config = Config::load(&cli.config)?;
            commands::onboard::onboard(config, &account, wait, &options, cli.output).await
        }
        Command::Remediate {
            event,
            account,
            dry_run,
        } => {
            let config = Config::load(&cli.config)?;
            crate::commands::remediate::remediate(
                &config,
                &event,
                account.as_deref(),
                dry_run,
                cli.output,
            )
            .await
        }
    }
}
