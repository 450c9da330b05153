//! The command line (README.md, "Run it"): parsing, the process's logging and
//! exit code, and dispatch to each subcommand's file in [`crate::commands`] (the tour is
//! in `lib.rs`).

use crate::commands;
use crate::core::error::{exit, Error};
use crate::report::OutputFormat;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

/// The heading of the options every command takes.
pub const GLOBAL: &str = "Global options";

#[derive(Debug, Parser)]
#[command(
    name = "remedy",
    version = crate::VERSION_LONG,
    about = "Roll Cloud Conformity auto-remediation out across an AWS Organization",
    after_help = "Each command's --help ends with examples. Credentials: the AWS standard chain (environment, profile, SSO, instance or task role), or --profile."
)]
pub(crate) struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "remedy.yaml",
        value_name = "PATH",
        help_heading = GLOBAL
    )]
    pub config: PathBuf,
    /// `json` prints exactly one JSON document on stdout; progress and logs go to stderr.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text, help_heading = GLOBAL)]
    pub output: OutputFormat,
    /// The AWS profile (~/.aws/config, ~/.aws/credentials) whose credentials to use, even
    /// over keys in the environment, as `aws --profile` does [default: the standard chain].
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub profile: Option<String>,
    /// The region of remedy's own calls, and the home region of a stage whose file names
    /// none (over AWS_REGION and the profile's). `deploy` refuses one that is not the
    /// stage's home region.
    #[arg(long, global = true, value_name = "REGION", help_heading = GLOBAL)]
    pub region: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// One variant per subcommand; each holds the flags its file in [`crate::commands`] defines.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The resolved targets of a stage: account id, name, OU path.
    #[command(after_help = examples::ACCOUNTS)]
    Accounts(commands::accounts::Args),
    /// The rendered member-account template, on stdout.
    #[command(after_help = examples::TEMPLATE)]
    Template(commands::template::Args),
    /// Per target: create / update (with the change set's resource changes) / unchanged.
    #[command(after_help = examples::PLAN)]
    Plan(commands::plan::Args),
    /// Deploy one stage, or the named accounts of it.
    #[command(after_help = examples::DEPLOY)]
    Deploy(commands::deploy::Args),
    /// Upload the package, the template and remedy.yaml to each stage's home-region artifact bucket.
    #[command(after_help = examples::PUBLISH)]
    Publish(commands::publish::Args),
    /// Every stage in order, stopping at each unapproved gate.
    #[command(after_help = examples::ROLLOUT)]
    Rollout(commands::rollout::Args),
    /// The fleet: per account (home region), stack status, deployed version and hash, findings topic, strays.
    #[command(after_help = examples::STATUS)]
    Status(commands::status::Args),
    /// Kill switch: switch rules to `notify` in the named accounts within a minute, without a stack update.
    #[command(after_help = examples::PAUSE)]
    Pause(commands::pause::PauseArgs),
    /// Undo `pause`: the rules remediate again in the named accounts (asks first, or --yes).
    #[command(after_help = examples::RESUME)]
    Resume(commands::pause::ResumeArgs),
    /// The remediation ledger: each account's orchestrator log, per rule and outcome, per account, the latest records.
    #[command(after_help = examples::HISTORY)]
    History(commands::history::Args),
    /// Each account's findings topic as its Conformity SNS channel: connect (create or update), status.
    #[command(after_help = examples::CONFORMITY)]
    Conformity(commands::conformity::Args),
    /// Preflight per account: role, permissions, home region, role quota, artifacts, topic.
    #[command(after_help = examples::DOCTOR)]
    Doctor(commands::doctor::Args),
    /// Every offline check of remedy.yaml (no AWS call): exit 0, or 2 with the file, line and key.
    #[command(after_help = examples::VALIDATE)]
    Validate(commands::validate::Args),
    /// Write a commented starter remedy.yaml from the organization's OU tree (every rule dry-run).
    #[command(after_help = examples::INIT)]
    Init(commands::init::Args),
    /// Print the JSON Schema of remedy.yaml (for an editor's completion and checks).
    #[command(after_help = examples::SCHEMA)]
    Schema(commands::schema::Args),
    /// Delete remedy's stack from a stage's accounts (asks first; --yes without a terminal).
    #[command(after_help = examples::REMOVE)]
    Remove(commands::remove::Args),
    /// Put back what a reversible rule removed, as its ledger record says (dry run unless --yes).
    #[command(after_help = examples::UNDO)]
    Undo(commands::undo::Args),
    /// Account Vending Machine hook: deploy one account at the stage its OU belongs to.
    #[command(after_help = examples::ONBOARD)]
    Onboard(commands::onboard::Args),
    /// The exceptions in the file, with their state: active, expiring, expired (offline).
    #[command(after_help = examples::EXCEPTIONS)]
    Exceptions(commands::exceptions::Args),
    /// Run the embedded runtime on one Conformity event, in that account.
    #[command(after_help = examples::REMEDIATE)]
    Remediate(commands::remediate::Args),
    /// The rule catalog: id, service, risk, the configured mode and where it comes from, IAM actions, settings.
    #[command(after_help = examples::RULES)]
    Rules(commands::rules::Args),
    /// Write the Lambda artifact: a zip whose `bootstrap` is this binary.
    #[command(after_help = examples::PACKAGE)]
    Package(commands::package::Args),
    /// Print the shell completion script for bash, zsh, fish or PowerShell on stdout.
    #[command(after_help = examples::COMPLETIONS)]
    Completions(commands::completions::Args),
    /// Print remedy's man page (roff) on stdout; `make release` ships it as remedy.1.
    #[command(hide = true, after_help = examples::MANPAGE)]
    Manpage(commands::manpage::Args),
}

/// The whole command line as clap sees it: for completions, the man page and the tests
/// that every option has help and every command examples.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// The examples each subcommand's `--help` ends with. Every line that runs remedy parses
/// (tests/it/cli.rs tries each).
mod examples {
    pub const ACCOUNTS: &str = "\
Examples:
  # The accounts stage `dev` deploys to: id, name, OU path
  remedy accounts --stage dev
  # As JSON, with the credentials of an AWS CLI profile
  remedy --profile security accounts --stage prod --output json";

    pub const EXCEPTIONS: &str = "\
Examples:
  # Every exception, its state and the days it has left
  remedy exceptions
  # Those that have expired or end within two weeks, as JSON (a scheduled reminder)
  remedy exceptions --expiring 14d --output json";

    pub const TEMPLATE: &str = "\
Examples:
  # The member-account stack stage `dev` would deploy, in YAML
  remedy template --stage dev > remedy-member.yaml
  # The same document as JSON, from another configuration file
  remedy template --config fleet/remedy.yaml --output json";

    pub const PLAN: &str = "\
Examples:
  # What a deploy of `prod` would change, per account
  remedy plan --stage prod
  # Keep the change sets: the next `deploy --stage prod` executes exactly those
  remedy plan --stage prod --keep
  # For a pipeline to read
  remedy plan --stage staging --output json";

    pub const DEPLOY: &str = "\
Examples:
  # Deploy `dev`, shown the plan and asked before anything changes
  remedy deploy --stage dev
  # Two accounts of `prod`, unattended, with a Markdown summary
  remedy deploy --stage prod --account 111111111111 --account 222222222222 --yes --report report.md
  # With an AWS CLI profile, in the stage's home region
  remedy --profile security --region eu-west-1 deploy --stage dev --yes --output json";

    pub const PUBLISH: &str = "\
Examples:
  # Package, template and remedy.yaml into each stage's home-region artifact bucket
  remedy publish
  # ... and make this release the one new accounts get
  remedy publish --promote --package dist/remedy-lambda.zip";

    pub const ROLLOUT: &str = "\
Examples:
  # Every stage in order, through the gates of staging and prod
  remedy rollout --approve staging --approve prod
  # In a pipeline: from staging on, stopping at an unapproved gate (exit 3)
  remedy rollout --from staging --yes --output json --report rollout.md";

    pub const STATUS: &str = "\
Examples:
  # Every stage's accounts: stack status, version, current/outdated/missing, strays
  remedy status
  # What a deploy of `prod` would still change, with CloudFormation drift detection
  remedy status --stage prod --state outdated --state missing --drift
  # Each account's findings topic, for Conformity's SNS channel
  remedy status --output json";

    pub const PAUSE: &str = "\
Examples:
  # Stop remediating everywhere: every rule, every stage's accounts, notify only
  remedy pause
  # One rule in one stage
  remedy pause --rule EC2-002 --stage prod
  # Two rules in one account, as JSON
  remedy pause --rule S3-001 --rule EC2-002 --stage prod --account 111111111111 --output json";

    pub const RESUME: &str = "\
Examples:
  # Remediate again everywhere, after a question
  remedy resume
  # One rule in one stage, unattended
  remedy resume --rule EC2-002 --stage prod --yes";

    pub const HISTORY: &str = "\
Examples:
  # The last week across every stage: per rule and outcome, per account, the latest records
  remedy history
  # What failed in prod over the last day, as JSON
  remedy history --stage prod --outcome failed --since 24h --output json
  # One rule in two accounts, for an audit and a spreadsheet
  remedy history --rule S3-001 --account 111111111111 --account 222222222222 --since 30d --report history.md --csv history.csv";

    pub const CONFORMITY: &str = "\
Examples:
  # What would be created or updated in Conformity (the key from $CONFORMITY_API_KEY)
  remedy conformity connect --dry-run
  # Connect every account of a stage; a second run is all `unchanged`
  remedy conformity connect --stage prod
  # Does Conformity publish each account's findings to its topic?
  remedy conformity status --output json";

    pub const DOCTOR: &str = "\
Examples:
  # Would a deploy work in every account of every stage?
  remedy doctor
  # One stage, as JSON for a pipeline (exit 1 when an account would fail)
  remedy doctor --stage prod --output json";

    pub const VALIDATE: &str = "\
Examples:
  # Check remedy.yaml before a pipeline deploys it
  remedy validate
  # Another file, as JSON
  remedy validate --config fleet/remedy.yaml --output json";

    pub const INIT: &str = "\
Examples:
  # A starter remedy.yaml from the organization's OUs
  remedy init
  # Somewhere else, replacing what is there
  remedy --profile security init --out fleet/remedy.yaml --force";

    pub const SCHEMA: &str = "\
Examples:
  # The schema next to the file, for the editor's yaml-language-server
  remedy schema > remedy.schema.json
  # Checked into the repository the pipeline deploys from
  remedy schema > fleet/remedy.schema.json";

    pub const REMOVE: &str = "\
Examples:
  # Delete remedy's stack from every account of `dev`, after a question
  remedy remove --stage dev
  # Two accounts of `prod`, unattended, with a Markdown summary
  remedy remove --stage prod --account 111111111111 --account 222222222222 --yes --report removed.md
  # In a pipeline, refusing to delete more than 20 stacks
  remedy remove --stage staging --yes --max-deletions 20 --output json";

    pub const UNDO: &str = "\
Examples:
  # What undoing a ledger record would put back (its id: `remedy history`)
  remedy undo --record 3f9c2a71d04be815
  # Put it back, through the rule's own function in the account
  remedy undo --record 3f9c2a71d04be815 --yes
  # The latest fix of a finding, in one account, as JSON
  remedy undo --finding ccc:OrganisationId:111111111111:EC2-002:us-east-1:sg-0123 --account 111111111111 --yes --output json";

    pub const ONBOARD: &str = "\
Examples:
  # A vended account: the first stage whose OUs hold it, that account alone
  remedy onboard --account 333333333333
  # Give the vending machine longer to create the account's role
  remedy onboard --account 333333333333 --wait 30m --report onboard.md";

    pub const REMEDIATE: &str = "\
Examples:
  # What the rule would do with this finding, changing nothing
  remedy remediate --event finding.json --dry-run
  # Fix it in a member account, through role.name there
  remedy remediate --event finding.json --account 111111111111";

    pub const RULES: &str = "\
Examples:
  # The catalog, with the modes remedy.yaml gives
  remedy rules
  # As JSON, for the stage `prod`
  remedy rules --stage prod --output json";

    pub const PACKAGE: &str = "\
Examples:
  # The Lambda zip, at dist/remedy-lambda.zip
  remedy package
  # Elsewhere (then `package:` in remedy.yaml, or --package, points at it)
  remedy package --out build/remedy-lambda.zip";

    pub const COMPLETIONS: &str = "\
Examples:
  # bash, in this shell (or add the line to ~/.bashrc)
  source <(remedy completions bash)
  # zsh, in a folder of $fpath
  remedy completions zsh > ~/.zfunc/_remedy
  # fish
  remedy completions fish > ~/.config/fish/completions/remedy.fish";

    pub const MANPAGE: &str = "\
Examples:
  # Write the man page and read it
  remedy manpage > remedy.1
  remedy manpage | man -l -";
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
            | Command::Pause(_)
            | Command::Resume(_)
            | Command::History(_)
            | Command::Conformity(_)
            | Command::Undo(_)
            | Command::Remove(_)
            | Command::Init(_)
            | Command::Doctor(_)
    ) {
        // Needs the runtime: the listener is a task.
        let _guard = runtime.enter();
        crate::interrupt::install(crate::report::note)
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
    // A provider that fails warns with the chain's dump; remedy's error says it in one
    // line with the fix (aws::errors::credential_hint).
    ("aws_config::profile::credentials", "error"),
    ("aws_config::meta::credentials::chain", "error"),
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
    // Logs go to stderr, each line above the progress bar while one is live (never through
    // it); RUST_LOG (or REMEDY_LOG) sets the level, warnings by default.
    let filter = std::env::var("REMEDY_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter(&filter))
        .with_writer(crate::report::LogWriter)
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
        aws: commands::AwsSelection {
            profile: cli.profile,
            region: cli.region,
        },
        stop,
    };
    match cli.command {
        Command::Accounts(args) => commands::accounts::run(args, &global).await,
        Command::Exceptions(args) => commands::exceptions::run(args, &global).await,
        Command::Template(args) => commands::template::run(args, &global),
        Command::Plan(args) => commands::plan::run(args, &global).await,
        Command::Deploy(mut args) => {
            // The global --region is also deploy's home-region check (account bootstraps
            // pass it).
            args.scope.region = global.aws.region.clone();
            commands::deploy::run(args, &global).await
        }
        Command::Publish(args) => commands::publish::run(args, &global).await,
        Command::Rollout(args) => commands::rollout::run(args, &global).await,
        Command::Status(args) => commands::status::run(args, &global).await,
        Command::Onboard(args) => commands::onboard::run(args, &global).await,
        Command::Pause(args) => commands::pause::pause(args, &global).await,
        Command::History(args) => commands::history::run(args, &global).await,
        Command::Conformity(args) => commands::conformity::run(args, &global).await,
        Command::Undo(args) => commands::undo::run(args, &global).await,
        Command::Remove(args) => commands::remove::run(args, &global).await,
        Command::Validate(args) => commands::validate::run(args, &global),
        Command::Doctor(args) => commands::doctor::run(args, &global).await,
        Command::Init(args) => commands::init::run(args, &global).await,
        Command::Schema(args) => commands::schema::run(args, &global),
        Command::Resume(args) => commands::pause::resume(args, &global).await,
        Command::Remediate(args) => commands::remediate::run(args, &global).await,
        Command::Rules(args) => commands::rules::run(args, &global),
        Command::Package(args) => commands::package::run(args, &global),
        Command::Completions(args) => commands::completions::run(args, command()),
        Command::Manpage(args) => commands::manpage::run(args, command()),
    }
}
