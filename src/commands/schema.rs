//! `remedy schema`: the JSON Schema of `remedy.yaml` on stdout (`core::schema`), for an
//! editor: `remedy schema > remedy.schema.json` and the README's modeline. Offline.

use super::Global;
use crate::core::error::{exit, Error};

// The flags of `remedy schema`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, _global: &Global) -> Result<i32, Error> {
    crate::report::print_json(&crate::core::schema::schema());
    Ok(exit::OK)
}
