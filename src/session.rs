//! One run's shared preparation, for every command that reaches member stacks (`deploy`,
//! `rollout`, `onboard`, `plan`, `status`).
//!
//! [`Prepared`] is everything that can be checked without AWS (the template renders, the
//! package exists): bad input stops the command there, with exit 2 and nothing done.
//! [`Session`] then adds who we are (the security account), one snapshot of the OU tree,
//! the stack parameters and the `remedy:hash` (per stage: its covered regions are a
//! parameter), and publishes artifacts in each stage's home region as stages need them. [`StageEngine::for_stage`] (here) is the one place a stage's engine is chosen.
//!
//! Must not: decide targets (that is `core::targets`) or stage order (`core::rollout`).

use crate::aws::artifacts;
use crate::aws::identity::{self, AwsSelection, Identity};
use crate::aws::org;
use crate::aws::package::Package;
use crate::core::config::{Config, Engine, Placement, Stage};
use crate::core::error::Error;
use crate::core::org::OrgSnapshot;
use crate::core::stack::TemplateSource;
use crate::core::stack::{HASH_TAG, VERSION_TAG};
use crate::core::stack::{MANAGED_TAG, STAGE_TAG};
use crate::core::stop::Stop;
use crate::core::targets::{self, Resolution};
use crate::core::targets::{at_home, Target, TargetAccount};
use crate::core::template::{self, RenderedTemplate};
use crate::engine::codebuild::{BuildProject, CodeBuildEngine};
use crate::engine::direct::DirectEngine;
use crate::engine::stacksets::{deployment_targets, Reach, StackSetsEngine, StageShape};
use crate::engine::{Deployment, StageEngine, Variant};
use aws_config::SdkConfig;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// What a run deploys, checked without AWS.
pub struct Prepared {
    pub config: Config,
    /// The release's template: the top-level `rules` alone.
    pub rendered: RenderedTemplate,
    /// Each stage's template, by stage name (its `rules` overlay applied).
    pub stage_templates: BTreeMap<String, RenderedTemplate>,
    pub package: Package,
}

impl Prepared {
    /// Renders the template and finds the package (`--package`, else `package:` in the
    /// config, else this binary zipped).
    pub fn new(config: Config, package_override: Option<&Path>) -> Result<Prepared, Error> {
        let (rendered, stage_templates) = Prepared::render(&config)?;
        let package = match package_override.or(config.package.as_deref()) {
            Some(path) => Package::prebuilt(path)?,
            None => Package::from_current_exe()?,
        };
        Ok(Prepared {
            config,
            rendered,
            stage_templates,
            package,
        })
    }
}

impl Prepared {
    /// The template, and each stage's (its `rules` overlay applied), with the checks that
    /// need them: every function's environment within Lambda's 4 KB. No AWS (`validate`).
    pub fn render(
        config: &Config,
    ) -> Result<(RenderedTemplate, BTreeMap<String, RenderedTemplate>), Error> {
        let rendered = template::render(config).map_err(Error::Failed)?;
        let too_big = |e: String| Error::Input(format!("{}: {e}", config.path.display()));
        template::check_environment(config, &rendered).map_err(too_big)?;
        let mut stage_templates = BTreeMap::new();
        for stage in &config.stages {
            let own = match stage.rules {
                Some(_) => template::render_for(config, Some(stage)).map_err(Error::Failed)?,
                None => rendered.clone(),
            };
            template::check_environment(config, &own)
                .map_err(|e| too_big(format!("stage `{}`: {e}", stage.name)))?;
            stage_templates.insert(stage.name.to_string(), own);
        }
        Ok((rendered, stage_templates))
    }
}

/// What a stage's engine is for: it decides what is published first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Deploy (and onboard): the home region, with what the engine needs besides.
    Deploy,
    /// Plan: the home region's template, for the change sets.
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
    /// Who runs remedy (GetCallerIdentity's ARN): the reports' audit trail.
    pub caller_arn: String,
    /// When this run began (seconds since the Unix epoch).
    started: u64,
    pub identity: Arc<Identity>,
    /// The release's hash: template, package and the parameters every stage shares (what
    /// `publish` names a release by). A stage's stacks carry [`Session::stage_hash`].
    pub hash: String,
    /// Each stage's template, by stage name.
    stage_templates: BTreeMap<String, RenderedTemplate>,
    /// The template source per region and template digest published so far.
    templates: BTreeMap<(String, String), TemplateSource>,
    /// The regions whose artifact bucket has the package (a plan publishes only the
    /// template: its change sets never read the package).
    packages: std::collections::BTreeSet<String>,
    /// Every object this run put in (or found already in) an artifact bucket, in order.
    pub written: Vec<crate::core::outcome::Upload>,
    /// `deploy --in-account`: the account these credentials belong to (no role, no
    /// Organizations, nothing published from here).
    own_account: Option<String>,
    /// `deploy --in-account` in a CodeBuild project: this account's exceptions as the
    /// security account resolved them (`REMEDY_EXCEPTIONS`; the build cannot list the
    /// organization's OUs).
    own_exceptions: Option<String>,
    /// Retries already in a stage report (the next stage reports those after).
    /// The retry counts at the last stage report.
    retries_reported: BTreeMap<String, u64>,
    /// Ctrl-C as this run follows it: handed to the scheduler and the engines.
    pub stop: Stop,
}

impl Session {
    /// Loads the security account's credentials (the standard chain, with `--profile` and
    /// `--region` over it), asks who they are, and lists the OU tree.
    pub async fn connect(
        prepared: Prepared,
        aws: &AwsSelection,
        stop: Stop,
    ) -> Result<Session, Error> {
        let Prepared {
            config,
            rendered,
            stage_templates,
            package,
        } = prepared;
        let started = now_seconds();
        let base = identity::load_base_config(aws, config.any_region()).await?;
        let run_id = identity::new_run_id();
        let identity = Arc::new(Identity::new(
            base.clone(),
            &config.role.name,
            config.role.external_id.as_deref(),
            &run_id,
        ));
        let counts = identity.retries();
        let snapshot = org::discover(&identity::organizations_client(&base, counts)).await?;
        if let Some(error) = crate::core::exceptions::unknown_ou(&config, &snapshot) {
            return Err(error.into());
        }
        let (security_account, caller_arn) = artifacts::caller_identity(&base, counts).await?;
        let parameters = template::parameters(&config, &security_account, &package.key(), &[]);
        let hash = template::deployment_hash(&rendered, &parameters, &package.sha256);
        Ok(Session {
            config,
            rendered,
            package,
            run_id,
            base,
            snapshot,
            security_account,
            caller_arn,
            started,
            identity,
            hash,
            stage_templates,
            templates: BTreeMap::new(),
            packages: Default::default(),
            written: Vec::new(),
            own_account: None,
            own_exceptions: None,
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
        aws: &AwsSelection,
        stop: Stop,
    ) -> Result<Session, Error> {
        let Prepared {
            config,
            rendered,
            stage_templates,
            package,
        } = prepared;
        let started = now_seconds();
        let base = identity::load_base_config(aws, config.any_region()).await?;
        let run_id = identity::new_run_id();
        let identity = Arc::new(Identity::own(base.clone(), &run_id));
        let (own, caller_arn) = artifacts::caller_identity(&base, identity.retries()).await?;
        let parameters = template::parameters(&config, artifact_account, &package.key(), &[]);
        let hash = template::deployment_hash(&rendered, &parameters, &package.sha256);
        Ok(Session {
            config,
            rendered,
            package,
            run_id,
            base,
            snapshot: OrgSnapshot::default(),
            security_account: artifact_account.to_owned(),
            caller_arn,
            started,
            identity,
            hash,
            stage_templates,
            templates: BTreeMap::new(),
            packages: Default::default(),
            written: Vec::new(),
            own_account: Some(own),
            own_exceptions: None,
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

    /// `--in-account`: this account, in the stage's home region.
    pub fn own_targets(&self, stage: &Stage) -> Result<Vec<Target>, Error> {
        let Some(own) = &self.own_account else {
            return Ok(Vec::new());
        };
        let account = crate::core::targets::TargetAccount {
            id: own.clone(),
            name: own.clone(),
            ou_path: "(this account)".into(),
        };
        Ok(at_home(&[account], &self.placement(stage)?.home))
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

    /// Everything that was uploaded to make `stages` deployable (each stage's template and
    /// the package in its home region, and the configuration), for `remedy publish`.
    pub async fn publish_all(
        &mut self,
        stages: &[Stage],
    ) -> Result<Vec<crate::core::outcome::Upload>, Error> {
        let mut uploads = Vec::new();
        let mut regions = Vec::new();
        for stage in stages {
            let home = self.placement(stage)?.home;
            uploads.extend(
                self.publish_recorded(stage, std::slice::from_ref(&home), true)
                    .await?,
            );
            regions.push(home);
        }
        regions.sort();
        regions.dedup();
        uploads.extend(self.publish_config(&regions).await?);
        Ok(uploads)
    }

    /// Lists the OU tree again (`onboard`, while a new account is moved to its OU).
    pub async fn rediscover(&mut self) -> Result<(), Error> {
        let client = identity::organizations_client(&self.base, self.identity.retries());
        self.snapshot = org::discover(&client).await?;
        Ok(())
    }

    /// The stage's home region and covered regions (the environment's region when the file
    /// names none).
    pub fn placement(&self, stage: &Stage) -> Result<Placement, Error> {
        self.config
            .placement(stage, self.base.region().map(|r| r.as_ref()))
            .ok_or_else(|| {
                Error::Input(format!(
                    "{}: stage `{}` has no region: set `home_region` (or `regions`) in the file, or AWS_REGION",
                    self.config.path.display(),
                    stage.name
                ))
            })
    }

    /// The audit trail of this run so far: who, which build, which template and
    /// configuration, from the start of the run until now.
    /// `stage`: whose template the run deployed (none: a rollout's, the release's).
    pub fn audit(&self, stage: Option<&Stage>) -> crate::core::outcome::Audit {
        use crate::core::util::{rfc3339, sha256_hex};
        crate::core::outcome::Audit {
            started_at: rfc3339(self.started),
            finished_at: rfc3339(now_seconds()),
            caller_arn: self.caller_arn.clone(),
            version: crate::VERSION,
            commit: crate::COMMIT,
            release_hash: self.hash.clone(),
            stage_hashes: self
                .config
                .stages
                .iter()
                .filter(|s| stage.is_none_or(|only| only.name == s.name))
                .filter_map(|s| Some((s.name.to_string(), self.stage_hash(s).ok()?)))
                .collect(),
            template_hash: stage
                .map(|s| self.rendered_for(s))
                .unwrap_or(&self.rendered)
                .body_digest(),
            config_hash: sha256_hex(&[self.config.source().as_bytes()]),
        }
    }

    /// The stack parameters of `stage`'s stacks: the release's, and its covered regions.
    pub fn stage_parameters(&self, stage: &Stage) -> Result<Vec<(String, String)>, Error> {
        Ok(template::parameters(
            &self.config,
            &self.security_account,
            &self.package.key(),
            &self.placement(stage)?.covered,
        ))
    }

    /// `deploy --in-account`: deploy these exceptions (`REMEDY_EXCEPTIONS`, as the
    /// security account resolved them) rather than resolve them here.
    pub fn set_own_exceptions(&mut self, exceptions: String) {
        self.own_exceptions = Some(exceptions);
    }

    /// The `Exceptions` parameter of `account`'s stack in `stage` ([`crate::core::exceptions`]);
    /// `None` when the file has no exceptions (the template has no such parameter).
    pub fn account_exceptions(&self, stage: &Stage, account: &TargetAccount) -> Option<String> {
        if self.config.exceptions.is_empty() {
            return None;
        }
        if let Some(own) = &self.own_exceptions {
            return Some(own.clone());
        }
        let today = remedy_functions::exceptions::day_of(now_seconds());
        Some(crate::core::exceptions::to_json(
            &crate::core::exceptions::for_account(
                &self.config,
                stage,
                account,
                &self.snapshot,
                today,
            ),
        ))
    }

    /// `account`'s stack in `stage`, where it differs from the stage's other stacks (its
    /// own exceptions): its parameters, tags and hash.
    pub fn account_variant(
        &self,
        stage: &Stage,
        account: &TargetAccount,
    ) -> Result<Option<Variant>, Error> {
        let Some(exceptions) = self.account_exceptions(stage, account) else {
            return Ok(None);
        };
        let mut parameters = self.stage_parameters(stage)?;
        let Some(slot) = parameters.iter_mut().find(|(k, _)| k == "Exceptions") else {
            return Ok(None);
        };
        if slot.1 == exceptions {
            return Ok(None);
        }
        slot.1 = exceptions.clone();
        let hash =
            template::deployment_hash(self.rendered_for(stage), &parameters, &self.package.sha256);
        let tags = self.tags_with(stage, &hash);
        Ok(Some(Variant {
            parameters,
            tags,
            hash,
            exceptions,
        }))
    }

    /// The `remedy:hash` `account`'s stack in `stage` is deployed with.
    pub fn account_hash(&self, stage: &Stage, account: &TargetAccount) -> Result<String, Error> {
        match self.account_variant(stage, account)? {
            Some(variant) => Ok(variant.hash),
            None => self.stage_hash(stage),
        }
    }

    /// The `remedy:hash` of `stage`'s stacks: template, parameters (covered regions included)
    /// and package.
    pub fn stage_hash(&self, stage: &Stage) -> Result<String, Error> {
        let parameters = self.stage_parameters(stage)?;
        Ok(template::deployment_hash(
            self.rendered_for(stage),
            &parameters,
            &self.package.sha256,
        ))
    }

    /// The template `stage`'s stacks run (its `rules` overlay applied).
    pub fn rendered_for(&self, stage: &Stage) -> &RenderedTemplate {
        self.stage_templates
            .get(stage.name.as_str())
            .unwrap_or(&self.rendered)
    }

    pub fn resolve(&self, stage: &Stage) -> Result<Resolution, Error> {
        targets::resolve(&self.config, stage, &self.snapshot)
    }

    /// The stage's targets: one per account, in the stage's home region.
    pub fn targets(&self, stage: &Stage, resolution: &Resolution) -> Result<Vec<Target>, Error> {
        Ok(at_home(&resolution.accounts, &self.placement(stage)?.home))
    }

    /// Makes sure the artifact bucket, package and template exist in each of `regions`
    /// (those not published yet in this run).
    /// With `package` false (a plan), only what change sets read: the template.
    pub async fn publish(
        &mut self,
        stage: &Stage,
        regions: &[String],
        package: bool,
    ) -> Result<(), Error> {
        self.publish_recorded(stage, regions, package)
            .await
            .map(|_| ())
    }

    async fn publish_recorded(
        &mut self,
        stage: &Stage,
        regions: &[String],
        package: bool,
    ) -> Result<Vec<crate::core::outcome::Upload>, Error> {
        let rendered = self.rendered_for(stage).clone();
        let digest = rendered.body_digest();
        let missing: Vec<String> = regions
            .iter()
            .filter(|r| {
                !self.templates.contains_key(&((*r).clone(), digest.clone()))
                    || (package && !self.packages.contains(*r))
            })
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        if self.own_account.is_some() {
            // Inside a member account: `remedy publish` put everything there already.
            for region in missing {
                let source = artifacts::template_source(&self.security_account, &region, &rendered);
                self.templates.insert((region, digest.clone()), source);
            }
            return Ok(Vec::new());
        }
        let published = artifacts::publish(
            &self.base,
            self.identity.retries(),
            &self.security_account,
            &self.snapshot.organization_id,
            &missing,
            package.then_some(&self.package),
            &rendered,
        )
        .await?;
        self.templates.extend(
            published
                .templates
                .into_iter()
                .map(|(region, source)| ((region, digest.clone()), source)),
        );
        if package {
            self.packages.extend(missing);
        }
        self.written.extend(published.uploads.iter().cloned());
        Ok(published.uploads)
    }

    /// The codebuild engine for `stage` (artifacts and config must be published): each
    /// account's project runs in the stage's home region.
    fn codebuild_engine(
        &self,
        stage: &Stage,
        targets: &[Target],
        options: EngineOptions,
    ) -> Result<Arc<CodeBuildEngine>, Error> {
        let build = BuildProject {
            project: self.config.codebuild.project.clone(),
            stage: stage.name.to_string(),
            artifact_account: self.security_account.clone(),
            package_key: self.package.key(),
            config_key: self.config_key(),
        };
        Ok(Arc::new(CodeBuildEngine::new(
            self.identity.clone(),
            self.deployment(stage, targets)?,
            build,
            options,
        )))
    }

    /// The stacksets engine for `stage`: its StackSet lives in the stage's home region
    /// (published already), in the security account.
    fn stacksets_engine(
        &self,
        stage: &Stage,
        home_region: &str,
        options: EngineOptions,
    ) -> Result<StackSetsEngine, Error> {
        // One set of parameters for every instance: the stage's exceptions, each scoped one
        // with the accounts it applies to (the orchestrator matches its own account).
        let mut parameters = self.stage_parameters(stage)?;
        if let Some(slot) = parameters.iter_mut().find(|(k, _)| k == "Exceptions") {
            // Over the whole stage, not this run's targets: a narrowed run (`--account`,
            // `onboard`) must find the StackSet's parameters as a full run left them.
            let accounts = self.resolve(stage)?.accounts;
            slot.1 = crate::core::exceptions::to_json(&crate::core::exceptions::for_stage(
                &self.config,
                stage,
                &accounts,
                &self.snapshot,
                remedy_functions::exceptions::day_of(now_seconds()),
            ));
            // The accounts make it grow with the OUs: within the same budget as one account's.
            let budget = crate::core::config::MAX_EXCEPTIONS_BYTES;
            if slot.1.len() > budget {
                return Err(Error::Input(format!(
                    "{}: stage `{}`: its StackSet would carry {} bytes of exceptions with the accounts each applies to, more than the {budget} its orchestrators keep for them: scope those exceptions by resource or tag rather than by OU, or deploy the stage with `engine: direct` (each account's stack carries only its own)",
                    self.config.path.display(),
                    stage.name,
                    slot.1.len()
                )));
            }
        }
        let hash =
            template::deployment_hash(self.rendered_for(stage), &parameters, &self.package.sha256);
        // As published for the home region (a URL when too big to pass inline); `status`
        // publishes nothing and only reads.
        let rendered = self.rendered_for(stage);
        let template = self
            .templates
            .get(&(home_region.to_owned(), rendered.body_digest()))
            .cloned()
            .unwrap_or_else(|| TemplateSource::Body(rendered.body.clone()));
        Ok(StackSetsEngine {
            client: identity::cloudformation_client(
                &self.base,
                home_region,
                self.identity.retries(),
            ),
            stack_set_name: format!("{}-{}", self.config.stack_name, stage.name),
            call_as: self.config.stacksets.call_as,
            template,
            tags: self.tags_with(stage, &hash),
            parameters,
            hash,
            run_id: self.run_id.clone(),
            target_timeout: options.target_timeout,
            management_account: self.snapshot.management_account_id.clone(),
            stop: self.stop.clone(),
        })
    }

    /// The tags of a stage's stacks (and StackSet): `remedy:hash` among them.
    fn stack_tags(&self, stage: &Stage) -> Result<Vec<(String, String)>, Error> {
        Ok(self.tags_with(stage, &self.stage_hash(stage)?))
    }

    fn tags_with(&self, stage: &Stage, hash: &str) -> Vec<(String, String)> {
        vec![
            (HASH_TAG.into(), hash.to_owned()),
            (VERSION_TAG.into(), env!("CARGO_PKG_VERSION").into()),
            (MANAGED_TAG.into(), "true".into()),
            (STAGE_TAG.into(), stage.name.to_string()),
        ]
    }

    /// What `stage` deploys to `targets`, with the templates published so far.
    fn deployment(&self, stage: &Stage, targets: &[Target]) -> Result<Deployment, Error> {
        let digest = self.rendered_for(stage).body_digest();
        let mut variants = BTreeMap::new();
        for target in targets {
            if let Some(variant) = self.account_variant(stage, &target.account)? {
                variants.insert(target.account.id.clone(), variant);
            }
        }
        Ok(Deployment {
            exceptions: self
                .stage_parameters(stage)?
                .into_iter()
                .find(|(k, _)| k == "Exceptions")
                .map(|(_, v)| v),
            variants,
            stack_name: self.config.stack_name.clone(),
            templates: self
                .templates
                .iter()
                .filter(|((_, published), _)| *published == digest)
                .map(|((region, _), source)| (region.clone(), source.clone()))
                .collect(),
            parameters: self.stage_parameters(stage)?,
            tags: self.stack_tags(stage)?,
            hash: self.stage_hash(stage)?,
            roles: self.rendered_for(stage).footprint.roles,
        })
    }

    /// The direct engine for `stage`.
    fn engine(
        &self,
        stage: &Stage,
        targets: &[Target],
        options: EngineOptions,
    ) -> Result<Arc<DirectEngine>, Error> {
        Ok(Arc::new(DirectEngine::new(
            self.identity.clone(),
            self.deployment(stage, targets)?,
            &self.run_id,
            options,
            self.config.role.execution_role.clone(),
            self.stop.clone(),
        )))
    }
}

/// `deploy` with the global `--region R` (account bootstraps pass it): R must be the stage's
/// home region, the only region it deploys. (R is also the region of remedy's own calls, so
/// a stage whose file names no region has R as its home region.)
pub fn check_home_region(
    placement: &Placement,
    region: Option<&str>,
    stage: &Stage,
) -> Result<(), Error> {
    match region {
        Some(region) if region != placement.home => Err(Error::Input(format!(
            "--region {region}: stage `{}` deploys one stack per account, in its home region {} (it remediates {})",
            stage.name,
            placement.home,
            placement.covered.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// The stacksets engine's view of a stage: its OU ids, home region, account filters
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
    let shape = StageShape {
        ou_ids,
        home: session.placement(stage)?.home,
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
        narrowed,
        narrowed_to: narrowed.then_some(accounts),
        concurrency: stage.concurrency.0,
        failure_tolerance: stage.failure_tolerance,
        account_count: all.len(),
    };
    let reach = deployment_targets(&shape).map_err(Error::Input)?;
    Ok((shape, reach))
}

/// The engine `for_stage` chose, with what it checked before publishing.
enum Chosen {
    Direct,
    CodeBuild,
    StackSets { shape: Box<(StageShape, Reach)> },
}

/// The engine is chosen here, where the session's pieces are (the engines themselves live
/// in `engine/`, which knows nothing of sessions).
impl StageEngine {
    /// The stage's engine, for `work` over `targets`: the one place the config's `engine:`
    /// is matched (`deploy --in-account` is always direct). What a deploy or a plan needs is
    /// published first, in the stage's home region (a codebuild stage's configuration too;
    /// a StackSet's template after its shape is checked: bad input is exit 2 with nothing
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
        // Everything a stage deploys lives in its home region: the stacks, a StackSet, the
        // accounts' CodeBuild projects, and so the artifacts they read. What the engine needs
        // is checked before anything is published (a StackSet's shape: only a narrowed deploy
        // can fail here, config load checked the rest).
        let home = session.placement(stage)?.home;
        let chosen = match kind {
            Engine::Direct => Chosen::Direct,
            Engine::Codebuild => Chosen::CodeBuild,
            Engine::Stacksets => Chosen::StackSets {
                shape: Box::new(stack_set_shape(session, stage, targets)?),
            },
        };
        let regions = [home.clone()];
        if work != Work::Status && !session.stop.interrupted() {
            session
                .publish(stage, &regions, work == Work::Deploy)
                .await?;
            if kind == Engine::Codebuild && work == Work::Deploy {
                session.publish_config(&regions).await?;
            }
        }
        Ok(match chosen {
            Chosen::Direct => StageEngine::Direct(session.engine(stage, targets, options)?),
            Chosen::CodeBuild => StageEngine::CodeBuild {
                builds: session.codebuild_engine(stage, targets, options)?,
                reads: session.engine(stage, targets, options)?,
            },
            Chosen::StackSets { shape } => StageEngine::StackSets {
                engine: Box::new(session.stacksets_engine(stage, &home, options)?),
                shape: *shape,
            },
        })
    }
}

/// Seconds since the Unix epoch (0 on a clock before it).
fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
