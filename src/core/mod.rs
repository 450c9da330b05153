//! The pure core: plain data and the decisions over it, unit-tested without any network.
//!
//! Must not: name an AWS SDK crate, do tokio I/O, or touch a terminal (`tests/it/house.rs`
//! checks it). Everything here is reachable from `engine/`, `commands/` and `report/`;
//! nothing here reaches back.

pub mod config;
pub(crate) mod conformity;
pub(crate) mod decide;
pub mod doctor;
pub mod error;
pub(crate) mod exceptions;
pub(crate) mod history;
pub(crate) mod init;
pub(crate) mod org;
pub mod outcome;
pub mod pace;
pub(crate) mod pause;
pub(crate) mod policy;
pub(crate) mod prune;
pub(crate) mod region;
pub(crate) mod rollout;
pub mod schema;
pub(crate) mod semantic;
pub mod stack;
pub mod stop;
pub mod targets;
pub(crate) mod template;
pub(crate) mod undo;
pub(crate) mod util;
