//! The kill switch as the CLI sees it (`remedy pause`, `remedy resume`, `status`): what one
//! account's parameter becomes, and what happened to each account. Pure; the value's
//! syntax and what the orchestrator makes of it are `remedy_functions::pause`'s.

use remedy_functions::pause::Paused;

/// `pause` or `resume`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    Pause,
    Resume,
}

impl Switch {
    pub fn as_str(self) -> &'static str {
        match self {
            Switch::Pause => "pause",
            Switch::Resume => "resume",
        }
    }
}

/// What happened in one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchOutcome {
    /// The parameter was written (or deleted).
    Changed,
    /// It already said so: nothing written.
    Unchanged,
    Failed,
    /// Not started (Ctrl-C).
    Skipped,
}

impl SwitchOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SwitchOutcome::Changed => "changed",
            SwitchOutcome::Unchanged => "unchanged",
            SwitchOutcome::Failed => "failed",
            SwitchOutcome::Skipped => "skipped",
        }
    }
}

/// One account's row of `pause`/`resume`.
#[derive(Debug, Clone)]
pub struct SwitchedTarget {
    pub stage: String,
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub outcome: SwitchOutcome,
    /// What was paused before (`None`: not read).
    pub before: Option<Paused>,
    /// What is paused now (`None`: unknown, the write failed or never happened).
    pub after: Option<Paused>,
    pub reason: Option<String>,
}

/// The new set from the parameter's current value (`None`: no parameter) and the rules
/// named (`None`: every rule). A value that is not a list of rule ids is replaced by a
/// pause and cleared by a resume of every rule; a resume of named rules refuses it.
pub fn next(
    current: Option<&str>,
    switch: Switch,
    rules: Option<&[String]>,
) -> Result<(Paused, Paused), String> {
    let before = match current.map(Paused::parse).transpose() {
        Ok(before) => before.unwrap_or_default(),
        Err(why) => match (switch, rules) {
            (Switch::Pause, _) | (Switch::Resume, None) => Paused::all(),
            (Switch::Resume, Some(_)) => {
                return Err(format!(
                    "the parameter holds what is not a list of rule ids ({why}); the orchestrator treats every rule as paused: `remedy resume` without --rule clears it"
                ))
            }
        },
    };
    let after = match switch {
        Switch::Pause => before.with(rules),
        Switch::Resume => before.without(rules)?,
    };
    Ok((before, after))
}

/// How a set reads in a table: `*`, `EC2-002,S3-001`, or `-`.
pub fn shown(paused: &Paused) -> String {
    paused.to_value().unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pause_adds_and_resume_removes() {
        let (before, after) = next(None, Switch::Pause, Some(&ids(&["S3-001"]))).unwrap();
        assert!(before.is_empty());
        assert_eq!(after.to_value().as_deref(), Some("S3-001"));
        let (_, after) = next(Some("S3-001"), Switch::Pause, None).unwrap();
        assert_eq!(after.to_value().as_deref(), Some("*"));
        let (_, after) = next(
            Some("EC2-002,S3-001"),
            Switch::Resume,
            Some(&ids(&["S3-001"])),
        )
        .unwrap();
        assert_eq!(after.to_value().as_deref(), Some("EC2-002"));
        let (_, after) = next(Some("EC2-002"), Switch::Resume, None).unwrap();
        assert_eq!(after.to_value(), None, "an empty set is no parameter");
    }

    #[test]
    fn a_mangled_value_is_replaced_or_refused() {
        let (_, after) = next(Some("oops!"), Switch::Pause, Some(&ids(&["S3-001"]))).unwrap();
        assert_eq!(
            after.to_value().as_deref(),
            Some("*"),
            "mangled reads as all"
        );
        assert_eq!(
            next(Some("oops!"), Switch::Resume, None)
                .unwrap()
                .1
                .to_value(),
            None
        );
        assert!(next(Some("oops!"), Switch::Resume, Some(&ids(&["S3-001"]))).is_err());
        assert!(next(Some("*"), Switch::Resume, Some(&ids(&["S3-001"]))).is_err());
    }
}
