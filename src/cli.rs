//! The command line (README.md, "Run it"): parsing, the process's logging and
//! exit code, and dispatch to each subcommand's file in [`crate::commands`] (the tour is
//! in `lib.rs`).

use crate::commands;
use crate::core::error::{exit, Error};
use crate::report::OutputFormat;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "remedy",
    version,
    about = "Roll Cloud Conformity auto-remediation out across an AWS Organization"
)]
pub(crate) struct Cli {
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

/// One variant per subcommand; each holds the flags its file in [`crate::commands`] defines.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The resolved targets of a stage: account id, name, OU path.
    Accounts(commands::accounts::Args),
    /// The rendered member-account template, on stdout.
    Template(commands::template::Args),
    /// Per target: create / update (with the change set's resource changes) / unchanged.
    Plan(commands::plan::Args),
    /// Deploy one stage, or the named accounts of it.
    Deploy(commands::deploy::Args),
    /// Upload the package, the template and remedy.yaml to each stage's home-region artifact bucket.
    Publish(commands::publish::Args),
    /// Every stage in order, stopping at each unapproved gate.
    Rollout(commands::rollout::Args),
    /// The fleet: per account (home region), stack status, deployed version and hash, findings topic, strays.
    Status(commands::status::Args),
    /// Account Vending Machine hook: deploy one account at the stage its OU belongs to.
    Onboard(commands::onboard::Args),
    /// Run the embedded runtime on one Conformity event, in that account.
    Remediate(commands::remediate::Args),
    /// The rule catalog: id, service, risk, the configured mode and where it comes from, IAM actions, settings.
    Rules(commands::rules::Args),
    /// Write the Lambda artifact: a zip whose `bootstrap` is this binary.
    Package(commands::package::Args),
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
    let stop = if matches!(
        cli.command,
        Command::Deploy(_)
            | Command::Rollout(_)
            | Command::Onboard(_)
            | Command::Plan(_)
            | Command::Status(_)
    ) {
        // Needs the runtime: the listener is a task.
        let _guard = runtime.enter();
        crate::interrupt::install()
    } else {
        crate::core::stop::Stop::never()
    };
    match runtime.block_on(run(cli, stop)) {
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

async fn run(cli: Cli, stop: crate::core::stop::Stop) -> Result<i32, Error> {
    let global = commands::Global {
        config: cli.config,
        output: cli.output,
        stop,
    };
    match cli.command {
        Command::Accounts(args) => commands::accounts::run(args, &global).await,
        Command::Template(args) => commands::template::run(args, &global),
        Command::Plan(args) => commands::plan::run(args, &global).await,
        Command::Deploy(args) => commands::deploy::run(args, &global).await,
        Command::Publish(args) => commands::publish::run(args, &global).await,
        Command::Rollout(args) => commands::rollout::run(args, &global).await,
        Command::Status(args) => commands::status::run(args, &global).await,
        Command::Onboard(args) => commands::onboard::run(args, &global).await,
        Command::Remediate(args) => commands::remediate::run(args, &global).await,
        Command::Rules(args) => commands::rules::run(args, &global),
        Command::Package(args) => commands::package::run(args, &global),
    }
}
