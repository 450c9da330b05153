//! `remedy package [--out PATH]`: the Lambda artifact, a zip whose `bootstrap` is this
//! binary.

use super::Global;
use crate::aws::package;
use crate::core::error::{exit, Error};
use std::path::Path;

// The flags of `remedy package`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the zip (its folder is created).
    #[arg(long, default_value = "dist/remedy-lambda.zip", value_name = "PATH")]
    pub out: std::path::PathBuf,
}

pub fn run(args: Args, _global: &Global) -> Result<i32, Error> {
    package(&args.out)
}

pub fn package(out: &Path) -> Result<i32, Error> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Failed(format!("cannot find the running binary: {e}")))?;
    package::write_bootstrap_zip(&exe, out)?;
    let (sha, size) = package::digest(out)?;
    crate::report::note(&format!(
        "wrote {} ({size} bytes, sha256 {sha})",
        out.display()
    ));
    Ok(exit::OK)
}
