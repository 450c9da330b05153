//! `remedy publish [--package PATH] [--promote]`: puts what the stages deploy into the
//! security account's artifact bucket of every stage's home region, keyed by content and
//! skipped when already there: the Lambda package, the member template (when too large to
//! send inline), `remedy.yaml` (the codebuild engine's builds read it), and a release
//! manifest `releases/<hash>.json` naming them. `--promote` also points
//! `releases/promoted.json` at this release: what the onboarding hook deploys.

use super::AwsSelection;
use super::Global;
use crate::core::config::Config;
use crate::core::error::{exit, Error};
use crate::core::stop::Stop;
use crate::report::{self, OutputFormat};
use crate::session::{Prepared, Session};
use std::path::Path;

// The flags of `remedy publish`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A prebuilt Lambda zip (overrides `package` in the config).
    #[arg(long, value_name = "PATH")]
    pub package: Option<std::path::PathBuf>,
    /// Also mark this release as the one new accounts get (releases/promoted.json).
    #[arg(long)]
    pub promote: bool,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config(&global.config)?;
    publish(
        config,
        args.package.as_deref(),
        args.promote,
        global.output,
        &global.aws,
        global.stop.clone(),
    )
    .await
}

pub async fn publish(
    config: Config,
    package: Option<&Path>,
    promote: bool,
    output: OutputFormat,
    aws: &AwsSelection,
    stop: Stop,
) -> Result<i32, Error> {
    let prepared = Prepared::new(config, package)?;
    let mut session = Session::connect(prepared, aws, stop).await?;
    // Every stage's home region: where its stacks, StackSet or CodeBuild projects read them.
    let mut regions = Vec::new();
    let mut stage_hashes = std::collections::BTreeMap::new();
    for stage in &session.config.stages {
        regions.push(session.placement(stage)?.home);
        stage_hashes.insert(stage.name.to_string(), session.stage_hash(stage)?);
    }
    regions.sort();
    regions.dedup();

    let stages = session.config.stages.clone();
    let mut uploads = session.publish_all(&stages).await?;
    let manifest = serde_json::json!({
        "hash": session.hash,
        "version": env!("CARGO_PKG_VERSION"),
        "package_key": session.package.key(),
        "config_key": session.config_key(),
        "stack_name": session.config.stack_name,
        "stages": stage_hashes,
    });
    let manifest_text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::Failed(format!("the release manifest: {e}")))?;
    let release_key = format!("releases/{}.json", session.hash);
    uploads.extend(
        crate::aws::artifacts::put_text(
            &session.base,
            session.identity.retries(),
            &session.security_account,
            &regions,
            &release_key,
            &manifest_text,
            true,
        )
        .await?,
    );
    if promote {
        uploads.extend(
            crate::aws::artifacts::put_text(
                &session.base,
                session.identity.retries(),
                &session.security_account,
                &regions,
                "releases/promoted.json",
                &manifest_text,
                false,
            )
            .await?,
        );
    }
    report::print_publish(&session.hash, &release_key, &uploads, &stage_hashes, output);
    Ok(exit::OK)
}
