//! `remedy-functions`: the remediation runtime that runs inside every member account.
//!
//! This crate owns what a Cloud Conformity finding *means* and what is done about it: the
//! finding ([`finding`]), the orchestrator's decision ([`dispatch`]) and I/O
//! ([`orchestrator`]), the rule catalog (one module per AWS service under [`rules`]: each
//! rule's metadata, check and fix), and the Lambda entry point ([`lambda`]).
//!
//! It must not know about deployment: no Organizations, no CloudFormation, no stages, no
//! CLI. The `remedy` CLI crate depends on this crate, never the other way round; the CLI
//! reads the catalog to validate `remedy.yaml` and to render each rule function's IAM role
//! from exactly the actions the rule declares.

pub mod catalog;
pub mod dispatch;
pub mod exceptions;
pub mod finding;
pub mod lambda;
pub mod limits;
pub mod orchestrator;
pub mod partition;
pub mod pause;
pub mod rule;
pub mod rules;
pub mod runtime;
pub mod undo;

pub use catalog::{catalog, find_rule, Mode, RiskLevel, RuleSpec, Scope, SettingSpec};
