//! Stage sequencing and approval gates (`remedy rollout`): pure decisions over the
//! configuration, the command line and the stage reports so far. No AWS call, no terminal.
//!
//! - The stages run in configuration order, from `--from` to `--to` (both included).
//! - A stage with `approval: true` is a gate: `--approve S` opens it; otherwise an operator
//!   at a terminal is asked; a non-interactive run stops there (`awaiting_approval`, exit 3).
//!   `--yes` answers confirmations, never a gate.
//! - A stage that exceeds its failure tolerance stops the rollout (`failed`; later stages
//!   `not_started`). A stage with failures within tolerance is `completed` and the next one
//!   runs; the exit code is still 1.

use crate::core::config::{Config, Stage};
use crate::core::error::{exit, Error};
use crate::core::outcome::{StageReport, StageStatus};

/// The stages from `from` to `to`, in configuration order.
pub fn select_stages<'a>(
    config: &'a Config,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<&'a [Stage], Error> {
    let index = |name: &str| -> Result<usize, Error> {
        config.stage(name)?;
        Ok(config
            .stages
            .iter()
            .position(|s| s.name.as_str() == name)
            .unwrap_or_default())
    };
    let start = from.map(index).transpose()?.unwrap_or(0);
    let end = match to {
        Some(name) => index(name)?,
        None => config.stages.len().saturating_sub(1),
    };
    if start > end {
        return Err(Error::Input(format!(
            "--from {} comes after --to {} in {}",
            from.unwrap_or_default(),
            to.unwrap_or_default(),
            config.path.display()
        )));
    }
    Ok(&config.stages[start..=end])
}

/// Every `--approve` names a stage of the configuration.
pub fn check_approvals(config: &Config, approvals: &[String]) -> Result<(), Error> {
    for name in approvals {
        config
            .stage(name)
            .map_err(|e| Error::Input(format!("--approve {name}: {e}")))?;
    }
    Ok(())
}

/// What stands between the rollout and a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Not a gate.
    Open,
    /// A gate, approved on the command line.
    Approved,
    /// A gate, and an operator at a terminal can be asked.
    Ask,
    /// A gate nobody approved, in a run no one can answer: stop here.
    Closed,
}

pub fn gate(stage: &Stage, approvals: &[String], interactive: bool) -> Gate {
    if !stage.approval {
        Gate::Open
    } else if approvals.iter().any(|a| a == stage.name.as_str()) {
        Gate::Approved
    } else if interactive {
        Gate::Ask
    } else {
        Gate::Closed
    }
}

/// Whether the rollout goes on after a stage that ran.
pub fn proceeds_after(report: &StageReport) -> bool {
    report.status == StageStatus::Completed
}

/// The exit code of a rollout: a failed target or stage (1) outranks a stop at a gate (3):
/// a pipeline that reads 3 as "waiting for approval" must not miss a failure.
pub fn exit_code(reports: &[StageReport]) -> i32 {
    if reports.iter().any(|r| r.interrupted) {
        // The operator stopped it; the report still lists every failure.
        exit::INTERRUPTED
    } else if reports
        .iter()
        .any(|r| r.status == StageStatus::Failed || r.summary.failed > 0)
    {
        exit::FAILED
    } else if reports
        .iter()
        .any(|r| r.status == StageStatus::AwaitingApproval)
    {
        exit::AWAITING_APPROVAL
    } else if reports.iter().any(|r| r.status == StageStatus::NotStarted) {
        // Declined at a confirmation: nothing failed, but the rollout did not finish.
        exit::DECLINED
    } else {
        exit::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::outcome::Summary;
    use std::path::Path;

    fn config() -> Config {
        Config::parse(
            Path::new("remedy.yaml"),
            "stages:\n  - {name: dev, targets: {accounts: [\"111111111111\"]}}\n  - {name: staging, approval: true, targets: {accounts: [\"222222222222\"]}}\n  - {name: prod, approval: true, targets: {accounts: [\"333333333333\"]}}\nrules: {\"*\": dry-run}\n"
                .into(),
        )
        .unwrap()
    }

    fn names(stages: &[Stage]) -> Vec<&str> {
        stages.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn stages_from_and_to() {
        let c = config();
        assert_eq!(
            names(select_stages(&c, None, None).unwrap()),
            ["dev", "staging", "prod"]
        );
        assert_eq!(
            names(select_stages(&c, Some("staging"), None).unwrap()),
            ["staging", "prod"]
        );
        assert_eq!(
            names(select_stages(&c, None, Some("staging")).unwrap()),
            ["dev", "staging"]
        );
        assert_eq!(
            names(select_stages(&c, Some("prod"), Some("prod")).unwrap()),
            ["prod"]
        );
        assert!(matches!(
            select_stages(&c, Some("prod"), Some("dev")),
            Err(Error::Input(_))
        ));
        assert!(matches!(
            select_stages(&c, Some("qa"), None),
            Err(Error::Input(_))
        ));
        assert!(check_approvals(&c, &["prod".into()]).is_ok());
        assert!(matches!(
            check_approvals(&c, &["qa".into()]),
            Err(Error::Input(_))
        ));
    }

    #[test]
    fn gates() {
        let c = config();
        let (dev, prod) = (&c.stages[0], &c.stages[2]);
        assert_eq!(gate(dev, &[], false), Gate::Open);
        assert_eq!(gate(prod, &[], false), Gate::Closed);
        assert_eq!(gate(prod, &[], true), Gate::Ask);
        assert_eq!(gate(prod, &["staging".into()], false), Gate::Closed);
        assert_eq!(gate(prod, &["prod".into()], false), Gate::Approved);
    }

    fn report(status: StageStatus, failed: usize) -> StageReport {
        StageReport {
            stage: "s".into(),
            status,
            summary: Summary {
                failed,
                ..Summary::default()
            },
            targets: Vec::new(),
            retries: Default::default(),
            elapsed: std::time::Duration::ZERO,
            note: None,
            interrupted: false,
            stack_time: None,
        }
    }

    #[test]
    fn exit_codes() {
        use StageStatus::*;
        assert_eq!(exit_code(&[report(Completed, 0)]), exit::OK);
        assert_eq!(exit_code(&[report(Completed, 1)]), exit::FAILED);
        assert_eq!(
            exit_code(&[
                report(Completed, 0),
                report(AwaitingApproval, 0),
                report(NotStarted, 0)
            ]),
            exit::AWAITING_APPROVAL
        );
        assert_eq!(
            exit_code(&[report(Completed, 2), report(AwaitingApproval, 0)]),
            exit::FAILED,
            "a failure is not hidden behind the gate"
        );
        assert_eq!(
            exit_code(&[report(Failed, 3), report(NotStarted, 0)]),
            exit::FAILED
        );
        assert_eq!(
            exit_code(&[report(Completed, 0), report(NotStarted, 0)]),
            exit::DECLINED,
            "declined at the prompt: not a failure"
        );
        assert!(proceeds_after(&report(Completed, 1)));
        assert!(!proceeds_after(&report(Failed, 1)));
    }
}
