//! `remedy`: rolls Cloud Conformity auto-remediation out across an AWS Organization.
//!
//! A guided tour, in the order a `remedy deploy --stage dev` runs through it:
//!
//! 1. [`cli`] parses the command line and wires the pieces together.
//! 2. [`config`] reads and validates `remedy.yaml` — every error names file, line and key,
//!    exit 2, before any AWS call.
//! 3. [`template`] renders the member-account stack from `stacks/remediation.yaml` and the
//!    enabled rules of the catalog (crate `remedy-functions`), and hashes it; [`package`]
//!    finds or builds the Lambda zip.
//! 4. [`identity`] loads the security account's credentials; [`org`] lists the OU tree once;
//!    [`targets`] (pure) picks the stage's accounts from it.
//! 5. [`artifacts`] makes sure each region has the artifact bucket, package and template.
//! 6. [`runner`] runs the targets (account × region) with bounded concurrency and failure
//!    tolerance; [`direct`] deploys one target: assume, describe, [`plan::decide`] (pure),
//!    act through [`cfn`] (change set, delete, continue a rollback, wait), decide again.
//! 7. [`report`] shows progress and prints the result (text, DESIGN.md's JSON, Markdown).
//!
//! [`session`] bundles steps 2–5 for every command that reaches member stacks, and
//! [`commands`] holds each such command's flow: `rollout` walks the stages through the gates
//! [`rollout`] (pure) decides; `plan` and `status` run the engine's `preview` and `inspect`;
//! `onboard` finds a vended account's stage ([`targets::first_stage_of`]) and waits for its
//! role.
//!
//! With `engine: codebuild` a stage's targets go through [`codebuild`] instead of
//! [`direct`]: each account's own CodeBuild project runs `remedy deploy --in-account` (a
//! [`session::Session::in_account`]) with what `remedy publish` uploaded.
//!
//! `remedy remediate` ([`remediate`]) runs one finding through the embedded runtime (crate
//! `remedy-functions`) in this process; started by Lambda, the binary runs that runtime's
//! loop instead of the CLI ([`cli::main`]).
//!
//! The rule: decisions are plain functions over plain data (`config`, `targets`, `plan`,
//! `rollout`, `template`, `runner`'s scheduling); AWS calls live in thin edge modules (`org`,
//! `identity`, `artifacts`, `cfn`, `direct`, `session`) that decide nothing beyond retrying.

pub mod artifacts;
pub mod cfn;
pub mod cli;
pub mod codebuild;
pub mod commands;
pub mod config;
pub mod direct;
pub mod error;
pub mod identity;
pub mod interrupt;
pub mod org;
pub mod package;
pub mod plan;
pub mod remediate;
pub mod report;
pub mod retries;
pub mod rollout;
pub mod runner;
pub mod session;
pub mod stacksets;
pub mod targets;
pub mod template;
