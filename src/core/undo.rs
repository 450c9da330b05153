//! `remedy undo` as decisions: which ledger record is meant ([`choose`]), and whether what
//! it says was removed can be put back ([`verdict`]). Pure: the records come from
//! `core::history`; putting back is the rule's own code (`remedy_functions::undo`).

use crate::core::history::Record;
use remedy_functions::undo::{irreversible, UndoRequest};

/// What the operator named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// `--record ID`: one record.
    Record(String),
    /// `--finding ID`: the finding's latest record that removed something (else its latest).
    Finding(String),
}

impl Wanted {
    /// `record 0123…` / `finding ccc:…`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Wanted::Record(id) => format!("record {id}"),
            Wanted::Finding(id) => format!("finding {id}"),
        }
    }
}

/// How an undo ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoState {
    /// A dry run: what would be put back.
    WouldRestore,
    Restored,
    /// Everything was already there.
    Unchanged,
    /// Not reversible, or nothing to put back.
    Refused,
    /// No such record in the ledgers read.
    NotFound,
    Failed,
}

impl UndoState {
    pub fn as_str(self) -> &'static str {
        match self {
            UndoState::WouldRestore => "would_restore",
            UndoState::Restored => "restored",
            UndoState::Unchanged => "unchanged",
            UndoState::Refused => "refused",
            UndoState::NotFound => "not_found",
            UndoState::Failed => "failed",
        }
    }

    /// Exit 0 when the undo did (or would do) what was asked, else 1.
    pub fn succeeded(self) -> bool {
        matches!(
            self,
            UndoState::WouldRestore | UndoState::Restored | UndoState::Unchanged
        )
    }
}

impl From<remedy_functions::undo::UndoOutcome> for UndoState {
    fn from(outcome: remedy_functions::undo::UndoOutcome) -> UndoState {
        use remedy_functions::undo::UndoOutcome;
        match outcome {
            UndoOutcome::Restored => UndoState::Restored,
            UndoOutcome::Unchanged => UndoState::Unchanged,
            UndoOutcome::Refused => UndoState::Refused,
            UndoOutcome::Failed => UndoState::Failed,
        }
    }
}

/// What `remedy undo` did, for the report.
#[derive(Debug, Clone)]
pub struct Undone {
    pub state: UndoState,
    pub wanted: Wanted,
    /// The record acted on (none when not found).
    pub record: Option<Record>,
    /// What was done, or in a dry run what would be.
    pub actions: Vec<String>,
    pub reason: Option<String>,
    /// `dry_run`, `function` (the rule's own function in the account), `local`.
    pub via: &'static str,
}

/// The record `wanted` means among `found` (every match of every account read): for a
/// record id, the one record (an id in two accounts is ambiguous: the error says so); for a
/// finding, its latest record that removed something, else its latest. `None`: none found.
pub fn choose(wanted: &Wanted, mut found: Vec<Record>) -> Result<Option<Record>, String> {
    found.sort_by_key(|r| std::cmp::Reverse(r.timestamp_ms));
    if let Wanted::Record(id) = wanted {
        let mut accounts: Vec<&str> = found.iter().map(|r| r.account_id.as_str()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        if accounts.len() > 1 {
            return Err(format!(
                "record {id} is in the ledgers of {} accounts ({}): name one with --account",
                accounts.len(),
                accounts.join(", ")
            ));
        }
    }
    let latest_removal = found.iter().position(|r| !r.removed.is_empty());
    Ok(match latest_removal {
        Some(i) => Some(found.swap_remove(i)),
        None => found.into_iter().next(),
    })
}

/// What to ask the rule's function to put back for `record`, or why nothing can be.
pub fn verdict(record: &Record) -> Result<UndoRequest, String> {
    let id = record.record_id.as_deref().unwrap_or("(no id)");
    let Some(rule_id) = record.rule_id.clone() else {
        return Err(format!("record {id} names no rule: nothing to undo"));
    };
    if record.removed_unread > 0 {
        return Err(format!(
            "record {id} lists {} removal(s) this remedy cannot read (written by a later \
             version): undo it with that version",
            record.removed_unread
        ));
    }
    if record.removed.is_empty() {
        if record.outcome != "remediated" {
            return Err(format!(
                "record {id} is `{}`: {rule_id} changed nothing, so there is nothing to undo",
                record.outcome
            ));
        }
        if let Some(why) = irreversible(&rule_id) {
            return Err(why);
        }
        return Err(format!(
            "record {id} lists nothing {rule_id} removed (logged by remedy {} before undo \
             records were written, or by a function that is not remedy's)",
            record
                .remedy_version
                .as_deref()
                .unwrap_or("of unknown version")
        ));
    }
    Ok(UndoRequest {
        record_id: id.to_owned(),
        rule_id,
        region: record.region.clone(),
        removed: record.removed.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_functions::undo::Removed;

    fn grant() -> Removed {
        Removed::AclGrant {
            bucket: "b".into(),
            grantee: "http://acs.amazonaws.com/groups/global/AllUsers".into(),
            permission: "READ".into(),
        }
    }

    fn record(account: &str, at: i64, rule: &str, outcome: &str, removed: bool) -> Record {
        Record {
            account_id: account.into(),
            timestamp_ms: at,
            record_id: Some(format!("{at:016x}")),
            rule_id: Some(rule.into()),
            outcome: outcome.into(),
            removed: if removed { vec![grant()] } else { Vec::new() },
            ..Record::default()
        }
    }

    #[test]
    fn a_finding_means_its_latest_removal() {
        let found = vec![
            record("1", 1, "S3-001", "dry_run", false),
            record("1", 2, "S3-001", "remediated", true),
            record("1", 3, "S3-001", "compliant", false),
        ];
        let chosen = choose(&Wanted::Finding("f".into()), found)
            .unwrap()
            .unwrap();
        assert_eq!(chosen.timestamp_ms, 2);
        let found = vec![
            record("1", 1, "S3-001", "dry_run", false),
            record("1", 3, "S3-001", "compliant", false),
        ];
        let chosen = choose(&Wanted::Finding("f".into()), found)
            .unwrap()
            .unwrap();
        assert_eq!(chosen.timestamp_ms, 3);
        assert_eq!(choose(&Wanted::Finding("f".into()), Vec::new()), Ok(None));
    }

    #[test]
    fn a_record_id_in_two_accounts_is_ambiguous() {
        let found = vec![
            record("111111111111", 1, "S3-001", "remediated", true),
            record("222222222222", 1, "S3-001", "remediated", true),
        ];
        let why = choose(&Wanted::Record("x".into()), found).unwrap_err();
        assert!(why.contains("111111111111, 222222222222"), "{why}");
    }

    #[test]
    fn only_recorded_removals_are_undone_and_every_refusal_says_why() {
        let ok = verdict(&record("1", 1, "S3-001", "remediated", true)).unwrap();
        assert_eq!(ok.rule_id, "S3-001");
        assert_eq!(ok.removed, vec![grant()]);
        let dry = verdict(&record("1", 1, "S3-001", "dry_run", false)).unwrap_err();
        assert!(dry.contains("`dry_run`"), "{dry}");
        let versioning = verdict(&record("1", 1, "S3-012", "remediated", false)).unwrap_err();
        assert!(
            versioning.starts_with("S3-012 is not reversible"),
            "{versioning}"
        );
        let old = verdict(&record("1", 1, "S3-001", "remediated", false)).unwrap_err();
        assert!(old.contains("before undo records"), "{old}");
        let mut later = record("1", 1, "S3-001", "remediated", false);
        later.removed_unread = 1;
        assert!(verdict(&later).unwrap_err().contains("later version"));
    }
}
