//! One run's shared preparation, for every command that reaches member stacks (`deploy`,
//! `rollout`, `onboard`, `plan`, `status`).
//!
//! [`Prepared`] is everything that can be checked without AWS (the template renders, the
//! package exists): bad input stops the command there, with exit 2 and nothing done.
//! [`Session`] then adds who we are (the security account), one snapshot of the OU tree,
//! the stack parameters and the `remedy:hash`, and publishes artifacts per region as stages
//! need them. [`StageEngine::for_stage`] (here) is the one place a stage's engine is chosen.
//!
//! Must not: decide targets (that is `core::targets`) or stage order (`core::rollout`).

use crate::aws::artifacts;
use crate::aws::identity::{self, Identity};
use crate::aws::org;
use crate::aws::package::Package;
use crate::core::config::{Config, Engine, Stage};
use crate::core::error::Error;
use crate::core::org::OrgSnapshot;
use crate::core::stack::TemplateSource;
use crate::core::stack::{HASH_TAG, VERSION_TAG};
use crate::core::stack::{MANAGED_TAG, STAGE_TAG};
use crate::core::stop::Stop;
use crate::core::targets::{self, Resolution};
use crate::core::targets::{fan_out, Target};
use crate::core::template::{self, RenderedTemplate};
use crate::engine::codebuild::{BuildProject, CodeBuildEngine};
use crate::engine::direct::DirectEngine;
use crate::engine::stacksets::{deployment_targets, Reach, StackSetsEngine, StageShape};
use crate::engine::{Deployment, StageEngine};
use aws_config::SdkConfig;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

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

/// What a stage's engine is for: it decides what is published first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Deploy (and onboard): the targets' regions, with what the engine needs besides.
    Deploy,
    /// Plan: every region's template, for the change sets.
    Plan,
    /// Status: reads only, nothing published.
    Status,
}

pub use crate::engine::EngineOptions;

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
    /// `deploy --in-account`: the account these credentials belong to (no role, no
    /// Organizations, nothing published from here).
    own_account: Option<String>,
    /// Retries already in a stage report (the next stage reports those after).
    /// The retry counts at the last stage report.
    retries_reported: BTreeMap<String, u64>,
    /// Ctrl-C as this run follows it: handed to the scheduler and the engines.
    pub stop: Stop,
}

impl Session {
    /// Loads the security account's credentials, asks who they are, and lists the OU tree.
    pub async fn connect(prepared: Prepared, stop: Stop) -> Result<Session, Error> {
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
        let run_id = identity::new_run_id();
        let identity = Arc::new(Identity::new(
            base.clone(),
            &config.role.name,
            config.role.external_id.as_deref(),
            &run_id,
        ));
        let counts = identity.retries();
        let snapshot = org::discover(&identity::organizations_client(&base, counts)).await?;
        let security_account = artifacts::caller_account(&base, counts).await?;
        let parameters = template::parameters(&config, &security_account, &package.key());
        let hash = template::deployment_hash(&rendered, &parameters, &package.sha256);
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
            own_account: None,
            retries_reported: BTreeMap::new(),
            stop,
        })
    }

    /// `deploy --in-account`: deploys to the account the credentials belong to, with no
    /// Organizations call and no role to assume; the package and template are the ones
    /// `remedy publish` put in `artifact_account`'s buckets.
    pub async fn in_account(
        prepared: Prepared,
        artifact_account: &str,
        stop: Stop,
    ) -> Result<Session, Error> {
        let Prepared {
            config,
            rendered,
            package,
        } = prepared;
        let fallback = config.regions.first().cloned();
        let base = identity::load_base_config(fallback.as_deref()).await;
        let run_id = identity::new_run_id();
        let identity = Arc::new(Identity::own(base.clone(), &run_id));
        let own = artifacts::caller_account(&base, identity.retries()).await?;
        let parameters = template::parameters(&config, artifact_account, &package.key());
        let hash = template::deployment_hash(&rendered, &parameters, &package.sha256);
        Ok(Session {
            config,
            rendered,
            package,
            run_id,
            base,
            snapshot: OrgSnapshot::default(),
            security_account: artifact_account.to_owned(),
            identity,
            parameters,
            hash,
            templates: BTreeMap::new(),
            own_account: Some(own),
            retries_reported: BTreeMap::new(),
            stop,
        })
    }

    /// The retries AWS asked for since the previous call (for the first: since the run
    /// began, discovery and publishing included), per `Service.Operation`.
    pub fn retries_since_last_report(&mut self) -> BTreeMap<String, u64> {
        let counts = self.identity.retries();
        let since = counts.since(&self.retries_reported);
        self.retries_reported = counts.snapshot();
        since
    }

    /// Whether this run deploys its own account (`deploy --in-account`).
    pub fn is_in_account(&self) -> bool {
        self.own_account.is_some()
    }

    /// `--in-account`: this account × the stage's regions (narrowed to `only_regions`).
    pub fn own_targets(
        &self,
        stage: &Stage,
        only_regions: &[String],
    ) -> Result<Vec<Target>, Error> {
        let Some(own) = &self.own_account else {
            return Ok(Vec::new());
        };
        let regions = narrow_regions(self.regions(stage), only_regions, stage)?;
        let account = crate::core::targets::TargetAccount {
            id: own.clone(),
            name: own.clone(),
            ou_path: "(this account)".into(),
        };
        Ok(fan_out(&[account], &regions, stage.region_order))
    }

    /// `configs/<sha256>.yaml`: where `remedy.yaml` is published for the codebuild engine.
    pub fn config_key(&self) -> String {
        let digest = crate::core::util::sha256_hex(&[self.config.source().as_bytes()]);
        format!("configs/{digest}.yaml")
    }

    /// Publishes `remedy.yaml` (content-addressed) in each of `regions`, for the builds
    /// that deploy from inside the accounts.
    pub async fn publish_config(
        &self,
        regions: &[String],
    ) -> Result<Vec<crate::core::outcome::Upload>, Error> {
        artifacts::put_text(
            &self.base,
            self.identity.retries(),
            &self.security_account,
            regions,
            &self.config_key(),
            self.config.source(),
            true,
        )
        .await
    }

    /// Everything that was uploaded to make `regions` deployable (publish and config).
    pub async fn publish_all(
        &mut self,
        regions: &[String],
    ) -> Result<Vec<crate::core::outcome::Upload>, Error> {
        let mut uploads = self.publish_recorded(regions).await?;
        uploads.extend(self.publish_config(regions).await?);
        Ok(uploads)
    }

    /// Lists the OU tree again (`onboard`, while a new account is moved to its OU).
    pub async fn rediscover(&mut self) -> Result<(), Error> {
        let client = identity::organizations_client(&self.base, self.identity.retries());
        self.snapshot = org::discover(&client).await?;
        Ok(())
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
        self.publish_recorded(regions).await.map(|_| ())
    }

    async fn publish_recorded(
        &mut self,
        regions: &[String],
    ) -> Result<Vec<crate::core::outcome::Upload>, Error> {
        let missing: Vec<String> = regions
            .iter()
            .filter(|r| !self.templates.contains_key(*r))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        if self.own_account.is_some() {
            // Inside a member account: `remedy publish` put everything there already.
            for region in missing {
                let source =
                    artifacts::template_source(&self.security_account, &region, &self.rendered);
                self.templates.insert(region, source);
            }
            return Ok(Vec::new());
        }
        let published = artifacts::publish(
            &self.base,
            self.identity.retries(),
            &self.security_account,
            &self.snapshot.organization_id,
            &missing,
            &self.package,
            &self.rendered,
        )
        .await?;
        self.templates.extend(published.templates);
        Ok(published.uploads)
    }

    /// The region of the accounts' CodeBuild projects: configured, else the first of
    /// `regions`, else the environment's.
    pub fn codebuild_project_region(&self) -> Option<String> {
        self.config
            .codebuild
            .region
            .as_ref()
            .map(|r| r.0.clone())
            .or_else(|| self.config.regions.first().cloned())
            .or_else(|| self.base.region().map(|r| r.to_string()))
    }

    /// The codebuild engine for `stage` (artifacts and config must be published).
    fn codebuild_engine(&self, stage: &Stage, options: EngineOptions) -> Arc<CodeBuildEngine> {
        let build = BuildProject {
            project: self.config.codebuild.project.clone(),
            project_region: self.codebuild_project_region(),
            stage: stage.name.to_string(),
            artifact_account: self.security_account.clone(),
            package_key: self.package.key(),
            config_key: self.config_key(),
        };
        Arc::new(CodeBuildEngine::new(
            self.identity.clone(),
            self.deployment(stage),
            build,
            options,
        ))
    }

    /// The stacksets engine for `stage`: its StackSet lives in the first region the stage
    /// deploys (published already), in the security account.
    fn stacksets_engine(
        &self,
        stage: &Stage,
        home_region: &str,
        options: EngineOptions,
    ) -> StackSetsEngine {
        // As published for the home region (a URL when too big to pass inline); `status`
        // publishes nothing and only reads.
        let template = self
            .templates
            .get(home_region)
            .cloned()
            .unwrap_or_else(|| TemplateSource::Body(self.rendered.body.clone()));
        StackSetsEngine {
            client: identity::cloudformation_client(
                &self.base,
                home_region,
                self.identity.retries(),
            ),
            stack_set_name: format!("{}-{}", self.config.stack_name, stage.name),
            call_as: self.config.stacksets.call_as,
            template,
            parameters: self.parameters.clone(),
            tags: self.stack_tags(stage),
            hash: self.hash.clone(),
            run_id: self.run_id.clone(),
            target_timeout: options.target_timeout,
            management_account: self.snapshot.management_account_id.clone(),
            stop: self.stop.clone(),
        }
    }

    /// The tags of a stage's stacks (and StackSet): `remedy:hash` among them.
    fn stack_tags(&self, stage: &Stage) -> Vec<(String, String)> {
        vec![
            (HASH_TAG.into(), self.hash.clone()),
            (VERSION_TAG.into(), env!("CARGO_PKG_VERSION").into()),
            (MANAGED_TAG.into(), "true".into()),
            (STAGE_TAG.into(), stage.name.to_string()),
        ]
    }

    /// What `stage` deploys, with the templates published so far.
    fn deployment(&self, stage: &Stage) -> Deployment {
        Deployment {
            stack_name: self.config.stack_name.clone(),
            templates: self.templates.clone(),
            parameters: self.parameters.clone(),
            tags: self.stack_tags(stage),
            hash: self.hash.clone(),
        }
    }

    /// The direct engine for `stage`.
    fn engine(&self, stage: &Stage, options: EngineOptions) -> Arc<DirectEngine> {
        Arc::new(DirectEngine::new(
            self.identity.clone(),
            self.deployment(stage),
            &self.run_id,
            options,
            self.config.role.execution_role.clone(),
            self.stop.clone(),
        ))
    }
}

/// The stage's regions, narrowed to `only` (each must be one of them).
pub fn narrow_regions(
    regions: Vec<String>,
    only: &[String],
    stage: &Stage,
) -> Result<Vec<String>, Error> {
    if only.is_empty() {
        return Ok(regions);
    }
    for region in only {
        if !regions.contains(region) {
            return Err(Error::Input(format!(
                "--region {region}: not a region of stage `{}` ({})",
                stage.name,
                regions.join(", ")
            )));
        }
    }
    Ok(regions.into_iter().filter(|r| only.contains(r)).collect())
}

/// The stacksets engine's view of a stage: its OU ids, regions in order, account filters
/// and limits. Input errors (exit 2) name what to change.
fn stack_set_shape(
    session: &Session,
    stage: &Stage,
    targets: &[Target],
) -> Result<(StageShape, Reach), Error> {
    let ou_ids =
        crate::core::targets::stage_unit_ids(stage, &session.snapshot).map_err(Error::Input)?;
    let resolution = session.resolve(stage)?;
    let mut accounts: Vec<String> = targets.iter().map(|t| t.account.id.clone()).collect();
    accounts.sort();
    accounts.dedup();
    let all: Vec<&str> = resolution.accounts.iter().map(|a| a.id.as_str()).collect();
    let narrowed = accounts.len() < all.len();
    let stage_regions = session.regions(stage);
    let regions: Vec<String> = stage_regions
        .iter()
        .filter(|r| targets.iter().any(|t| &t.region == *r))
        .cloned()
        .collect();
    let regions_narrowed = regions.len() < stage_regions.len();
    let shape = StageShape {
        ou_ids,
        regions,
        // StackSets never deploys to the management account (it is reported skipped).
        accounts: stage
            .targets
            .accounts
            .iter()
            .map(|a| a.to_string())
            .filter(|a| *a != session.snapshot.management_account_id)
            .collect(),
        exclude: stage
            .targets
            .exclude
            .iter()
            .map(|a| a.to_string())
            .collect(),
        narrowed: narrowed || regions_narrowed,
        narrowed_to: narrowed.then_some(accounts),
        concurrency: stage.concurrency.0,
        failure_tolerance: stage.failure_tolerance,
        region_order: stage.region_order,
        account_count: all.len(),
    };
    let reach = deployment_targets(&shape).map_err(Error::Input)?;
    Ok((shape, reach))
}

/// The engine `for_stage` chose, with what it checked before publishing.
enum Chosen {
    Direct,
    CodeBuild,
    StackSets {
        home: String,
        shape: Box<(StageShape, Reach)>,
    },
}

/// The engine is chosen here, where the session's pieces are (the engines themselves live
/// in `engine/`, which knows nothing of sessions).
impl StageEngine {
    /// The stage's engine, for `work` over `targets`: the one place the config's `engine:`
    /// is matched (`deploy --in-account` is always direct). What a deploy or a plan needs is
    /// published first (a codebuild stage's project region and configuration too; a
    /// StackSet's home region, after its shape is checked: bad input is exit 2 with nothing
    /// published); after a Ctrl-C nothing is.
    pub async fn for_stage(
        session: &mut Session,
        stage: &Stage,
        targets: &[Target],
        options: EngineOptions,
        work: Work,
    ) -> Result<StageEngine, Error> {
        let kind = if session.is_in_account() {
            Engine::Direct
        } else {
            session.config.stage_engine(stage)
        };
        let mut regions: Vec<String> = match work {
            // A plan computes the stage's change sets: every region's template.
            Work::Plan => session.regions(stage),
            _ => targets.iter().map(|t| t.region.clone()).collect(),
        };
        // What the engine needs, checked before anything is published: a StackSet's home
        // (its stage's first region whatever `--region` narrows to: its template is published
        // there too) and shape, for every kind of work (only a narrowed deploy can fail here:
        // config load checked the rest).
        let chosen = match kind {
            Engine::Direct => Chosen::Direct,
            Engine::Codebuild => Chosen::CodeBuild,
            Engine::Stacksets => Chosen::StackSets {
                home: session.regions(stage).first().cloned().unwrap_or_default(),
                shape: Box::new(stack_set_shape(session, stage, targets)?),
            },
        };
        match &chosen {
            Chosen::StackSets { home, .. } => regions.push(home.clone()),
            // The builds read the package and configuration in their project's region.
            Chosen::CodeBuild if work == Work::Deploy => {
                regions.extend(session.codebuild_project_region())
            }
            Chosen::CodeBuild | Chosen::Direct => {}
        }
        regions.sort();
        regions.dedup();
        if work != Work::Status && !session.stop.interrupted() {
            session.publish(&regions).await?;
            if kind == Engine::Codebuild && work == Work::Deploy {
                session.publish_config(&regions).await?;
            }
        }
        Ok(match chosen {
            Chosen::Direct => StageEngine::Direct(session.engine(stage, options)),
            Chosen::CodeBuild => StageEngine::CodeBuild {
                builds: session.codebuild_engine(stage, options),
                reads: session.engine(stage, options),
            },
            Chosen::StackSets { home, shape } => StageEngine::StackSets {
                engine: Box::new(session.stacksets_engine(stage, &home, options)),
                shape: *shape,
            },
        })
    }
}
