//! `remedy`: rolls Cloud Conformity auto-remediation out across an AWS Organization.
//!
//! A guided tour, in the order a `remedy deploy --stage dev` runs through it. The folders
//! are layers; imports only go downwards (`cli → commands → {session, engine, report, core,
//! aws}`, `engine → {aws, core}`, `aws → core`, `report → core`), and `tests/it/house.rs`
//! checks it.
//!
//! 1. [`cli`] parses the command line (`enum Command`, one variant per subcommand) and
//!    hands it to its file in [`commands`] (`commands::deploy`, `commands::plan`, …), which
//!    holds that subcommand's flags (`Args`) and its thin flow from options to report.
//! 2. [`core::config`] reads and validates `remedy.yaml` — every error names file, line and
//!    key, exit 2, before any AWS call.
//! 3. [`core::template`] renders the member-account stack from `stacks/remediation.yaml`
//!    and the enabled rules of the catalog (crate `remedy-functions`), and hashes it;
//!    [`aws::package`] finds or builds the Lambda zip.
//! 4. [`session`] connects: [`aws::identity`] loads the security account's credentials,
//!    [`aws::org`] lists the OU tree once into a [`core::org`] snapshot, and
//!    [`core::targets`] (pure) picks the stage's accounts from it; the stage's placement
//!    (its home region and the regions it covers) comes from the config.
//! 5. [`aws::artifacts`] makes sure the home region has the artifact bucket, package and
//!    template.
//! 6. [`engine::scheduler::run_each`] runs the targets (one per account, in the home region)
//!    with bounded concurrency, failure tolerance and Ctrl-C (a [`core::stop::Stop`]
//!    handed in); [`engine::direct`] deploys one target: assume, describe,
//!    [`core::decide::decide`] (pure, over a [`core::stack::StackStatus`]), the IAM role
//!    quota when the stack adds roles, act through
//!    [`aws::cfn`] (change set, delete, continue a rollback, wait; failures come back as a
//!    typed `CfnError`), decide again. Its result is a [`core::outcome::TargetResult`]. The
//!    stage's engine is an [`engine::StageEngine`], chosen once by `for_stage`.
//! 7. [`report`] shows progress and prints the [`core::outcome::StageReport`] (text, the
//!    JSON documents of [`report::json`], Markdown).
//!
//! `rollout` walks the stages through the gates [`core::rollout`] (pure) decides; `plan`
//! and `status` call [`engine::StageEngine`]'s `plan` and `status` (the same scheduler);
//! `onboard` finds a vended account's stage ([`core::targets::first_stage_of`]) and waits
//! for its role. With `engine: codebuild` a stage's targets go through
//! [`engine::codebuild`] (each account's own CodeBuild project runs `remedy deploy
//! --in-account`); with `engine: stacksets`, through [`engine::stacksets`] (one StackSet
//! operation per stage).
//!
//! `remedy remediate` ([`commands::remediate`]) runs one finding through the embedded
//! runtime (crate `remedy-functions`) in this process; started by Lambda, the binary runs
//! that runtime's loop instead of the CLI ([`cli::main`]).
//!
//! The rule: decisions are plain functions over plain data in [`core`]; AWS calls live in
//! thin modules under [`aws`] and [`engine`] that decide nothing beyond retrying; only
//! [`report`] knows terminals, colours, progress and JSON shapes.

/// remedy's version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit remedy was built from (`git rev-parse --short HEAD` at build time, see
/// `build.rs`), or `unknown` when it was built outside a git clone.
pub const COMMIT: &str = env!("REMEDY_COMMIT");
/// `0.1.0 (abc1234)`: what `remedy --version` prints after the name, and what reports carry.
pub const VERSION_LONG: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("REMEDY_COMMIT"), ")");

pub mod aws;
pub mod cli;
pub(crate) mod commands;
pub mod core;
pub mod engine;
pub(crate) mod interrupt;
pub(crate) mod report;
pub(crate) mod session;
