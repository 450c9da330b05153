//! `remedy accounts --stage S`: the stage's resolved targets (account id, name, OU path).

use super::AwsSelection;
use super::Global;
use crate::aws::{identity, org};
use crate::core::config::Config;
use crate::core::error::{exit, Error};
use crate::core::targets;
use crate::report::{self, OutputFormat};

// The flags of `remedy accounts`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage whose accounts to list (a `name` of `stages` in the configuration).
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config_to_read(&global.config)?;
    accounts(&config, &args.stage, global.output, &global.aws).await
}

pub async fn accounts(
    config: &Config,
    stage: &str,
    output: OutputFormat,
    aws: &AwsSelection,
) -> Result<i32, Error> {
    let stage = config.stage(stage)?.clone();
    let base = identity::load_base_config(aws, config.any_region()).await?;
    let counts = crate::aws::retries::RetryCounts::default();
    let snapshot = org::discover(&identity::organizations_client(&base, &counts)).await?;
    let resolution = targets::resolve(config, &stage, &snapshot)?;
    report::print_accounts(stage.name.as_str(), &resolution, output);
    Ok(exit::OK)
}
