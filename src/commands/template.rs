//! `remedy template [--stage S]`: the rendered member-account template (a stage's: its
//! `rules` overlay applied), on stdout (YAML, or the same document as JSON with `--output
//! json`).

use super::Global;
use crate::core::config::Config;
use crate::core::error::{exit, Error};
use crate::core::template;
use crate::report::OutputFormat;

// The flags of `remedy template`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The template this stage's stacks run (its `rules` overlay applied); default: the
    /// top-level `rules` alone.
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
}

pub fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config_to_read(&global.config)?;
    template(&config, args.stage.as_deref(), global.output)
}

pub fn template(config: &Config, stage: Option<&str>, output: OutputFormat) -> Result<i32, Error> {
    let stage = stage.map(|name| config.stage(name)).transpose()?;
    let rendered = template::render_for(config, stage).map_err(Error::Failed)?;
    template::check_environment(config, &rendered)
        .map_err(|e| Error::Input(format!("{}: {e}", config.path.display())))?;
    crate::report::print_template(&rendered.body, output).map_err(Error::Failed)?;
    Ok(exit::OK)
}
