//! `remedy init [--out FILE] [--force]`: reads the organization's OU tree (Organizations,
//! from the security account) and writes a commented starter `remedy.yaml`: dev, staging
//! and prod stages guessed from OU names (`core::init`), every rule `dry-run`. An existing
//! file is never overwritten without `--force`. What it writes passes `remedy validate`.

use super::Global;
use crate::aws::identity;
use crate::core::error::{exit, Error};
use std::path::PathBuf;

// The flags of `remedy init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write [default: the global --config, remedy.yaml].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let out = args.out.clone().unwrap_or_else(|| global.config.clone());
    if out.exists() && !args.force {
        return Err(Error::Input(format!(
            "{} exists: remedy init does not overwrite it without --force",
            out.display()
        )));
    }
    let base = identity::load_base_config(&global.aws, None).await?;
    let region = base
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| identity::FALLBACK_REGION.to_owned());
    let counts = crate::aws::retries::RetryCounts::default();
    let snapshot =
        crate::aws::org::discover(&identity::organizations_client(&base, &counts)).await?;
    let yaml = crate::core::init::starter(&snapshot, &region);
    super::write_file(&out, "--out", &yaml)?;
    let stages = crate::core::init::guess_stages(&snapshot);
    let names: Vec<&str> = stages.iter().map(|(s, _)| *s).collect();
    crate::report::note(&format!(
        "wrote {} with {} stage(s) ({}) and every rule in dry-run: check it with `remedy validate`",
        out.display(),
        names.len().max(1),
        if names.is_empty() {
            "dev, to be completed".to_owned()
        } else {
            names.join(", ")
        }
    ));
    Ok(exit::OK)
}
