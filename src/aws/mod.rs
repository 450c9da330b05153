//! The AWS edge: credentials and clients, retries, the organization's listing, the
//! artifacts, CloudFormation calls, the orchestrator's log group, the Conformity API key's
//! secret — and the one edge that is not AWS, Conformity's REST API (`conformity`). Thin:
//! beyond retrying, decisions are `core`'s.
//!
//! Must not: decide what to do with a stack or a target, or print.

pub(crate) mod artifacts;
pub(crate) mod cfn;
pub(crate) mod conformity;
pub(crate) mod errors;
pub(crate) mod iam;
pub mod identity;
pub(crate) mod lambda;
pub(crate) mod logs;
pub(crate) mod org;
pub mod package;
pub mod retries;
pub(crate) mod secrets;
pub(crate) mod ssm;

/// One-line descriptions of SDK errors for people: `errors::reason(operation, &error)`.
pub(crate) use errors::reason;
