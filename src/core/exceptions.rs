//! Exceptions at deploy time: which of the file's `exceptions:` a stack carries, and the
//! state of each for `remedy exceptions` and `plan`. Pure: the organization and today are
//! arguments.
//!
//! An account's stack carries the exceptions that apply to it (its id listed, or its OU or
//! an OU above it; an exception that names neither applies everywhere) and that can match
//! one of the rules the stage deploys. Resource, region and tag matches are left to the
//! orchestrator, at run time ([`remedy_functions::exceptions`]).

use crate::core::config::{Config, ConfigError, ExceptionEntry, Stage};
use crate::core::org::OrgSnapshot;
use crate::core::targets::TargetAccount;
use remedy_functions::exceptions::{parse_date, Exception};
use serde::Serialize;

/// An exception ends within this many days: `plan` warns, `exceptions` says `expiring`.
pub const EXPIRING_DAYS: i64 = 14;

/// Where an exception stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// In force, for more than `EXPIRING_DAYS` days.
    Active,
    /// In force, and ends within `EXPIRING_DAYS` days (or the given window).
    Expiring,
    /// Its last day has passed: it no longer applies (and the file no longer loads for a
    /// deploy until it is removed or renewed).
    Expired,
}

/// The state of an exception whose last day is `expires`, on `today`, with `window` days
/// counted as expiring.
pub fn state(expires: &str, today: i64, window: i64) -> State {
    match parse_date(expires) {
        Some(last) if last < today => State::Expired,
        Some(last) if last - today <= window => State::Expiring,
        Some(_) => State::Active,
        None => State::Expired,
    }
}

/// Days from `today` to the exception's last day, inclusive of neither (0: ends today).
pub fn days_left(expires: &str, today: i64) -> Option<i64> {
    parse_date(expires).map(|last| last - today)
}

/// Whether `path` (an account's OU path) is `ou` or below it.
fn within(path: &str, ou: &str) -> bool {
    let ou = ou.trim_end_matches('/');
    ou.is_empty() || path == ou || path.strip_prefix(ou).is_some_and(|r| r.starts_with('/'))
}

/// Whether `entry` applies to `account`: it names no account or OU, or names this account,
/// or an OU (path or id; nested OUs included) the account is in.
pub(crate) fn applies_to(
    entry: &ExceptionEntry,
    account: &TargetAccount,
    org: &OrgSnapshot,
) -> bool {
    if !entry.is_scoped() {
        return true;
    }
    entry.accounts.iter().any(|a| a.as_str() == account.id)
        || entry.ous.iter().any(|ou| {
            let reference = ou.as_str();
            if reference.starts_with('/') {
                within(&account.ou_path, reference)
            } else {
                org.units
                    .contains_key(reference)
                    .then(|| org.path_of(reference))
                    .is_some_and(|path| within(&account.ou_path, &path))
            }
        })
}

/// Whether `entry` can match one of the rules `stage` deploys.
fn concerns(entry: &ExceptionEntry, deployed: &[&str]) -> bool {
    entry
        .rules
        .0
        .iter()
        .any(|r| r == "*" || deployed.iter().any(|d| d.eq_ignore_ascii_case(r)))
}

/// The file's exceptions in force on `today` that can match a rule `stage` deploys.
fn in_force_for<'c>(
    config: &'c Config,
    stage: &Stage,
    today: i64,
) -> impl Iterator<Item = &'c ExceptionEntry> {
    let deployed: Vec<&'static str> = config
        .stage_rules(Some(stage))
        .iter()
        .map(|r| r.spec.id)
        .collect();
    config
        .exceptions
        .iter()
        .filter(move |e| state(e.expires.as_str(), today, 0) != State::Expired)
        .filter(move |e| concerns(e, &deployed))
}

/// The exceptions `account`'s stack in `stage` carries, as the stack writes them (no
/// account list: the stack is the account's own), in the file's order; expired ones left
/// out.
pub(crate) fn for_account(
    config: &Config,
    stage: &Stage,
    account: &TargetAccount,
    org: &OrgSnapshot,
    today: i64,
) -> Vec<Exception> {
    in_force_for(config, stage, today)
        .filter(|e| applies_to(e, account, org))
        .map(|e| e.carried(Vec::new()))
        .collect()
}

/// The exceptions every stack of a stage carries when one template and one set of
/// parameters serve them all (a StackSet): each scoped exception with the stage's accounts
/// it applies to (none: left out).
pub(crate) fn for_stage(
    config: &Config,
    stage: &Stage,
    accounts: &[TargetAccount],
    org: &OrgSnapshot,
    today: i64,
) -> Vec<Exception> {
    in_force_for(config, stage, today)
        .filter_map(|e| {
            if !e.is_scoped() {
                return Some(e.carried(Vec::new()));
            }
            let ids: Vec<String> = accounts
                .iter()
                .filter(|a| applies_to(e, a, org))
                .map(|a| a.id.clone())
                .collect();
            (!ids.is_empty()).then(|| e.carried(ids))
        })
        .collect()
}

/// The exceptions `remedy remediate` can decide on its own, which makes no Organizations
/// call: those that name no OU, with their accounts as written; and those an OU scopes, for
/// any account (whether the account is under the OUs is not known there: one that matches
/// otherwise holds the fix back).
pub(crate) fn for_local(config: &Config, today: i64) -> (Vec<Exception>, Vec<Exception>) {
    let mut known = Vec::new();
    let mut by_ou = Vec::new();
    for e in &config.exceptions {
        if state(e.expires.as_str(), today, 0) == State::Expired {
            continue;
        }
        if e.ous.is_empty() {
            known.push(e.carried(e.accounts.iter().map(|a| a.to_string()).collect()));
        } else {
            // In any account: whether this one is under the OUs is not known there.
            by_ou.push(e.carried(Vec::new()));
        }
    }
    (known, by_ou)
}

/// One line per exception that ends within [`EXPIRING_DAYS`] days: `plan` prints them, so
/// that an exception is renewed (or let go) before the findings it spares are remediated.
pub(crate) fn expiring_warnings(config: &Config, today: i64) -> Vec<String> {
    config
        .exceptions
        .iter()
        .filter(|e| state(e.expires.as_str(), today, EXPIRING_DAYS) == State::Expiring)
        .map(|e| {
            let days = days_left(e.expires.as_str(), today).unwrap_or_default();
            let when = match days {
                0 => "today is its last day".to_owned(),
                1 => "1 day left".to_owned(),
                n => format!("{n} days left"),
            };
            format!(
                "warning: exception `{}` (owner: {}) ends on {} ({when}): renew it with a new `expires`, or the findings it spares will be remediated again",
                e.id, e.owner, e.expires
            )
        })
        .collect()
}

/// The `Exceptions` parameter's value: compact JSON.
pub fn to_json(list: &[Exception]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// The first exception OU (path or id) that is not in the organization. Checked before
/// anything is deployed: a mistyped one would leave the findings it meant to spare
/// remediated.
pub(crate) fn unknown_ou(config: &Config, org: &OrgSnapshot) -> Option<ConfigError> {
    let paths: std::collections::HashSet<String> =
        org.units.keys().map(|id| org.path_of(id)).collect();
    config.exceptions.iter().enumerate().find_map(|(i, e)| {
        e.ous.iter().enumerate().find_map(|(j, ou)| {
            let reference = ou.as_str();
            let known = if reference.starts_with('/') {
                let path = reference.trim_end_matches('/');
                path.is_empty() || paths.contains(path)
            } else {
                org.units.contains_key(reference)
            };
            (!known).then(|| {
                config.error_at(
                    reference,
                    1,
                    format!(
                        "exceptions[{i}].ous[{j}]: OU `{reference}` does not exist in the organization (exception `{}`)",
                        e.id
                    ),
                )
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ou_covers_itself_and_what_is_below_it_only() {
        assert!(within("/Workloads/Prod", "/Workloads"));
        assert!(within("/Workloads", "/Workloads"));
        assert!(within("/Workloads/Prod", "/Workloads/"));
        assert!(!within("/WorkloadsOld", "/Workloads"));
        assert!(within("/Anything", "/"));
    }

    #[test]
    fn states_by_date() {
        let today = parse_date("2026-12-06").unwrap_or_default();
        assert_eq!(state("2026-12-05", today, EXPIRING_DAYS), State::Expired);
        assert_eq!(state("2026-12-06", today, EXPIRING_DAYS), State::Expiring);
        assert_eq!(state("2026-12-20", today, EXPIRING_DAYS), State::Expiring);
        assert_eq!(state("2026-12-21", today, EXPIRING_DAYS), State::Active);
        assert_eq!(state("2026-12-06", today, 0), State::Expiring);
        assert_eq!(state("not a date", today, EXPIRING_DAYS), State::Expired);
        assert_eq!(days_left("2026-12-20", today), Some(14));
    }
}
