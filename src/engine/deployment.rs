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
    /// The `Exceptions` parameter of the stacks without a variant (`None`: the template has
    /// no such parameter: the file has no exceptions).
    pub exceptions: Option<String>,
    /// The accounts whose stacks differ from the rest (their own exceptions), by account id.
    pub variants: BTreeMap<String, Variant>,
}

/// What one account's stack deploys beside the stage's shared template: its parameters
/// (its exceptions among them), its tags and the hash they make.
#[derive(Debug, Clone)]
pub struct Variant {
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub hash: String,
    /// Its `Exceptions` parameter.
    pub exceptions: String,
}

/// One account's parameters, tags, hash and exceptions: its variant's, or the stage's.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub parameters: &'a [(String, String)],
    pub tags: &'a [(String, String)],
    pub hash: &'a str,
    pub exceptions: Option<&'a str>,
}

impl Deployment {
    /// What `account`'s stack deploys.
    pub fn part(&self, account: &str) -> Part<'_> {
        match self.variants.get(account) {
            Some(v) => Part {
                parameters: &v.parameters,
                tags: &v.tags,
                hash: &v.hash,
                exceptions: Some(&v.exceptions),
            },
            None => Part {
                parameters: &self.parameters,
                tags: &self.tags,
                hash: &self.hash,
                exceptions: self.exceptions.as_deref(),
            },
        }
    }
}
