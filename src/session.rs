//! One run's shared preparation, for every command that reaches member stacks (`deploy`,
//! `rollout`, `onboard`, `plan`, `status`).
//!
//! [`Prepared`] is everything that can be checked without AWS (the template renders, the
//! package exists): bad input stops the command there, with exit 2 and nothing done.
//! [`Session`] then adds who we are (the security account), one snapshot of the OU tree,
//! the stack parameters and the `remedy:hash`, and publishes artifacts per region as stages
//! need them. [`Session::engine`] hands out the direct engine for a stage.
//!
//! Must not: decide targets (that is [`crate::targets`]) or stage order ([`crate::rollout`]).

use crate::artifacts;
use crate::cfn::TemplateSource;
use crate::config::{Config, Stage};
use crate::direct::DirectEngine;
use crate::error::Error;
use crate::identity::{self, Identity};
use crate::org::{self, OrgSnapshot};
use crate::package::Package;
use crate::plan::{HASH_TAG, VERSION_TAG};
use crate::runner::{fan_out, Target};
use crate::targets::{self, Resolution};
use crate::template::{self, RenderedTemplate, MANAGED_TAG};
use aws_config::SdkConfig;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What a run deploys, checked without AWS.
pub struct Prepared {
    pub config: Config,
    pub rendered: RenderedTemplate,
    pub package: Package,
}

impl Prepared {
    /// Renders the template and finds the package (`--package`, else `package:` in the
    /// config, else this binary zipped).
    pub fn new(config: Config, package_override: Option<&Path>) -> Result<Prepared, Error> {
        let rendered = template::render(&config).map_err(Error::Failed)?;
        let package = match package_override.or(config.package.as_deref()) {
            Some(path) => Package::prebuilt(path)?,
            None => Package::from_current_exe()?,
        };
        Ok(Prepared {
            config,
            rendered,
            package,
        })
    }
}

/// How the engine treats stacks in this run.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    pub fix_rollback: bool,
    pub target_timeout: Duration,
}

/// A run connected to AWS: identity, the organization, the deployment's hash.
pub struct Session {
    pub config: Config,
    pub rendered: RenderedTemplate,
    pub package: Package,
    pub run_id: String,
    pub base: SdkConfig,
    pub snapshot: OrgSnapshot,
    pub security_account: String,
    pub identity: Arc<Identity>,
    pub parameters: Vec<(String, String)>,
    pub hash: String,
    /// The template source per region published so far.
    templates: BTreeMap<String, TemplateSource>,
}

impl Session {
    /// Loads the security account's credentials, asks who they are, and lists the OU tree.
    pub async fn connect(prepared: Prepared) -> Result<Session, Error> {
        let Prepared {
            config,
            rendered,
            package,
        } = prepared;
        let fallback = config
            .regions
            .first()
            .or_else(|| {
                config
                    .stages
                    .iter()
                    .find_map(|s| s.regions.as_ref().and_then(|r| r.first()).map(|r| &r.0))
            })
            .cloned();
        let base = identity::load_base_config(fallback.as_deref()).await;
        let snapshot = org::discover(&aws_sdk_organizations::Client::new(&base)).await?;
        let security_account = artifacts::caller_account(&base).await?;
        let parameters = template::parameters(&config, &security_account, &package.key());
        let hash = template::deployment_hash(&rendered, &parameters, &package.sha256);
        let run_id = identity::new_run_id();
        let identity = Arc::new(Identity::new(
            base.clone(),
            &config.role.name,
            config.role.external_id.as_deref(),
            &run_id,
        ));
        Ok(Session {
            config,
            rendered,
            package,
            run_id,
            base,
            snapshot,
            security_account,
            identity,
            parameters,
            hash,
            templates: BTreeMap::new(),
        })
    }

    /// The stage's regions: its own, else the top-level list, else the environment's.
    pub fn regions(&self, stage: &Stage) -> Vec<String> {
        let configured = self.config.stage_regions(stage);
        if configured.is_empty() {
            self.base
                .region()
                .map(|r| vec![r.to_string()])
                .unwrap_or_default()
        } else {
            configured
        }
    }

    pub fn resolve(&self, stage: &Stage) -> Result<Resolution, Error> {
        targets::resolve(&self.config, stage, &self.snapshot)
    }

    /// The stage's targets: its accounts × its regions, in `region_order`.
    pub fn targets(&self, stage: &Stage, resolution: &Resolution) -> Vec<Target> {
        fan_out(
            &resolution.accounts,
            &self.regions(stage),
            stage.region_order,
        )
    }

    /// Makes sure the artifact bucket, package and template exist in each of `regions`
    /// (those not published yet in this run).
    pub async fn publish(&mut self, regions: &[String]) -> Result<(), Error> {
        let missing: Vec<String> = regions
            .iter()
            .filter(|r| !self.templates.contains_key(*r))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let published = artifacts::publish(
            &self.base,
            &self.security_account,
            &self.snapshot.organization_id,
            &missing,
            &self.package,
            &self.rendered,
        )
        .await?;
        self.templates.extend(published.templates);
        Ok(())
    }

    /// The direct engine for `stage`, with the templates published so far.
    pub fn engine(&self, stage: &Stage, options: EngineOptions) -> Arc<DirectEngine> {
        Arc::new(DirectEngine {
            identity: self.identity.clone(),
            stack_name: self.config.stack_name.clone(),
            templates: self.templates.clone(),
            parameters: self.parameters.clone(),
            tags: vec![
                (HASH_TAG.into(), self.hash.clone()),
                (VERSION_TAG.into(), env!("CARGO_PKG_VERSION").into()),
                (MANAGED_TAG.into(), "true".into()),
                ("remedy:stage".into(), stage.name.to_string()),
            ],
            hash: self.hash.clone(),
            change_set_name: format!("remedy-{}", self.run_id),
            fix_rollback: options.fix_rollback,
            target_timeout: options.target_timeout,
        })
    }
}
