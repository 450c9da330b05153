//! `remedy deploy --stage S [--account ID]…`: one stage, or the named accounts of it.

use super::{ask, finish_stage, interactive, run_stage, DeployOptions};
use crate::config::{is_account_id, Config};
use crate::error::{exit, Error};
use crate::report::OutputFormat;
use crate::session::{Prepared, Session};
use crate::targets::Resolution;

pub async fn deploy(
    config: Config,
    stage_name: &str,
    only_accounts: &[String],
    options: &DeployOptions,
    output: OutputFormat,
) -> Result<i32, Error> {
    // -- Input checks: no AWS call before these pass.
    let stage = config.stage(stage_name)?.clone();
    for id in only_accounts {
        if !is_account_id(id) {
            return Err(Error::Input(format!(
                "--account {id}: not a 12-digit AWS account id"
            )));
        }
    }
    let prepared = Prepared::new(config, options.package.as_deref())?;

    // -- Who we are, and which accounts the stage means.
    let mut session = Session::connect(prepared).await?;
    let mut resolution = session.resolve(&stage)?;
    narrow_to(&mut resolution, only_accounts, stage_name)?;
    let targets = session.targets(&stage, &resolution);

    // A pipeline has no one to answer, and must never block on stdin.
    if !options.yes
        && interactive()
        && !ask(&format!(
            "Deploy stage `{}` to {} targets?",
            stage.name,
            targets.len()
        ))?
    {
        eprintln!("nothing deployed");
        return Ok(exit::FAILED);
    }

    let report = run_stage(&mut session, &stage, targets, options.engine()).await?;
    finish_stage(
        &report,
        output,
        options.report.as_deref(),
        &format!("remedy deploy --stage {stage_name}"),
    )
}

/// Keeps only the accounts named with `--account`; each must be a target of the stage.
pub fn narrow_to(resolution: &mut Resolution, only: &[String], stage: &str) -> Result<(), Error> {
    if only.is_empty() {
        return Ok(());
    }
    for id in only {
        if !resolution.accounts.iter().any(|a| &a.id == id) {
            let why = resolution
                .passed_over
                .iter()
                .find(|(passed, _)| passed == id)
                .map(|(_, why)| format!(" ({why})"))
                .unwrap_or_default();
            return Err(Error::Input(format!(
                "--account {id}: not a target of stage `{stage}`{why}"
            )));
        }
    }
    resolution.accounts.retain(|a| only.contains(&a.id));
    Ok(())
}
