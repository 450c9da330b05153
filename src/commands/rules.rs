//! `remedy rules`: the catalog (id, title, service, risk, IAM actions, default mode).

use super::Global;
use crate::core::error::{exit, Error};
use crate::report::{self, OutputFormat};

// `remedy rules` has no flags of its own.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, global: &Global) -> Result<i32, Error> {
    rules(global.output)
}

pub fn rules(output: OutputFormat) -> Result<i32, Error> {
    let rules: Vec<_> = remedy_functions::catalog().collect();
    report::print_rules(&rules, output);
    Ok(exit::OK)
}
