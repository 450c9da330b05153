//! `remedy validate`: every check that needs no AWS — the file (shape, keys, values, names
//! against AWS's limits, regions, exceptions against today), each stage's rendered template
//! (every function's environment within Lambda's 4 KB) and the package named by `package:`
//! — then exit 0, or exit 2 with the file, line and key of the first error. It makes no AWS
//! call: a pipeline runs it on every change, before anything can be deployed.

use super::Global;
use crate::core::error::{exit, Error};
use crate::report::OutputFormat;

// The flags of `remedy validate` (the file is the global `--config`).
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config(&global.config)?;
    crate::session::Prepared::render(&config)?;
    if let Some(path) = config.package.as_deref() {
        crate::aws::package::Package::prebuilt(path)?;
    }
    let stages: Vec<&str> = config.stages.iter().map(|s| s.name.as_str()).collect();
    let rules = config.stage_rules(None);
    let remediating = rules
        .iter()
        .filter(|r| r.mode == remedy_functions::catalog::Mode::Remediate)
        .count();
    let file = config.path.display().to_string();
    match global.output {
        OutputFormat::Json => crate::report::print_json(&serde_json::json!({
            "valid": true,
            "file": file,
            "stages": stages,
            "rules": rules.len(),
            "remediate": remediating,
            "exceptions": config.exceptions.len(),
        })),
        OutputFormat::Text => println!(
            "{file}: valid — {} stage(s) ({}), {} rule(s) deployed ({remediating} remediate), {} exception(s)",
            stages.len(),
            stages.join(", "),
            rules.len(),
            config.exceptions.len()
        ),
    }
    Ok(exit::OK)
}
