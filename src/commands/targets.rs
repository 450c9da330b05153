//! Which accounts a command that reads or switches (`pause`, `resume`, `history`) works
//! on: `--stage` and `--account` over the stages' resolved targets.

use crate::core::config::Stage;
use crate::core::error::Error;
use crate::core::targets::Target;
use crate::session::Session;

/// `--stage S` and `--account ID…` of the commands that read the fleet (`history`, `doctor`,
/// `conformity`): which accounts.
#[derive(Debug, Clone, clap::Args)]
pub struct Accounts {
    /// Only this stage's accounts [default: every stage's].
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Only these accounts (repeatable); each must be a target of the stage(s).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
}

impl Accounts {
    /// The stages meant, once the names and ids are checked (exit 2, before any AWS call).
    pub(crate) fn stages(&self, config: &crate::core::config::Config) -> Result<Vec<Stage>, Error> {
        let stages = stages_named(config, self.stage.as_deref())?;
        check_account_ids(&self.accounts)?;
        Ok(stages)
    }

    /// The targets of `stages` these flags mean ([`chosen_targets`]).
    pub(crate) fn chosen(
        &self,
        session: &Session,
        stages: &[Stage],
    ) -> Result<Vec<(Stage, Vec<Target>)>, Error> {
        chosen_targets(session, stages, &self.accounts, self.stage.is_some())
    }
}

/// `--stage`'s stage, else every stage.
pub(crate) fn stages_named(
    config: &crate::core::config::Config,
    stage: Option<&str>,
) -> Result<Vec<crate::core::config::Stage>, Error> {
    Ok(match stage {
        Some(name) => vec![config.stage(name)?.clone()],
        None => config.stages.clone(),
    })
}

/// `--account` values: 12-digit account ids (exit 2 otherwise, before any AWS call).
pub(crate) fn check_account_ids(accounts: &[String]) -> Result<(), Error> {
    for id in accounts {
        if !crate::core::config::is_account_id(id) {
            return Err(Error::Input(format!(
                "--account {id}: not a 12-digit AWS account id"
            )));
        }
    }
    Ok(())
}

/// The targets of `stages` (`pause`, `resume`, `history`), narrowed to `accounts` when
/// some are named: with `--stage` (`stage_named`) each must be that stage's target;
/// without, each must be a target of some stage, and a stage none of them is in drops out.
pub(crate) fn chosen_targets(
    session: &Session,
    stages: &[Stage],
    accounts: &[String],
    stage_named: bool,
) -> Result<Vec<(Stage, Vec<Target>)>, Error> {
    let mut chosen: Vec<(Stage, Vec<Target>)> = Vec::new();
    for stage in stages {
        let mut resolution = session.resolve(stage)?;
        if !accounts.is_empty() {
            let mine: Vec<String> = accounts
                .iter()
                .filter(|id| resolution.accounts.iter().any(|a| &a.id == *id))
                .cloned()
                .collect();
            let only = if stage_named {
                accounts.to_vec()
            } else if mine.is_empty() {
                continue;
            } else {
                mine
            };
            super::deploy::narrow_to(&mut resolution, &only, stage.name.as_str())?;
        }
        chosen.push((stage.clone(), session.targets(stage, &resolution)?));
    }
    if !stage_named {
        for id in accounts {
            if !chosen
                .iter()
                .any(|(_, targets)| targets.iter().any(|t| &t.account.id == id))
            {
                return Err(Error::Input(format!(
                    "--account {id}: not a target of any stage"
                )));
            }
        }
    }
    Ok(chosen)
}
