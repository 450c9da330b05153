//! What every engine is built from: the stage's [`Deployment`] and the run's
//! [`EngineOptions`]. Its own file so that the engines import it without importing
//! `engine/mod.rs`, which imports them.

use crate::core::stack::TemplateSource;
use std::collections::BTreeMap;
use std::time::Duration;

/// How the engine treats stacks in this run.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Continue the rollback of `UPDATE_ROLLBACK_FAILED` stacks, then update them.
    pub fix_rollback: bool,
    /// How long one target may take, waits included.
    pub target_timeout: Duration,
}

/// What a stage deploys, whichever engine deploys it: the stack's name, its template per
/// region, its parameters and tags, and the hash that names this deployment.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub stack_name: String,
    /// The template per region (inline body, or the URL of the uploaded one).
    pub templates: BTreeMap<String, TemplateSource>,
    pub parameters: Vec<(String, String)>,
    /// Stack tags, `remedy:hash` among them.
    pub tags: Vec<(String, String)>,
    pub hash: String,
    /// The IAM roles one stack holds (checked against each account's role quota).
    pub roles: usize,
}
