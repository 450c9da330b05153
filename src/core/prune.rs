//! `--prune` as decisions: where a remedy stack may be that no stage wants any more
//! ([`places`]), and which stage's run removes one ([`owner`]). Pure: the stacks are read by
//! `engine::remove`, the organization by `aws::org`.
//!
//! A stage wants a stack in each of its targets' home regions. Any other remedy stack of an
//! ACTIVE account — one no stage targets now (moved out of every stage's OUs, excluded), or
//! one outside the home region that targets it (an earlier layout) — is an orphan. Each is
//! removed by the stage its `remedy:stage` tag names, or by the first stage when the tag
//! names none of the file's (a stage since renamed or dropped). An account moved between two
//! stages with the same home region is wanted by the second: its stack is updated in place
//! by that stage's deploy, never removed.

use crate::core::org::OrgSnapshot;
use crate::core::targets::{Target, TargetAccount};
use std::collections::BTreeSet;

/// `--max-deletions`' default: more orphans than this in one run deletes none.
pub(crate) const MAX_DELETIONS: usize = 10;

/// Where some stage wants a stack: (account id, home region) of every target.
pub(crate) fn wanted<'t>(
    targets: impl IntoIterator<Item = &'t Target>,
) -> BTreeSet<(String, String)> {
    targets
        .into_iter()
        .map(|t| (t.account.id.clone(), t.region.clone()))
        .collect()
}

/// Where to look for orphans: every ACTIVE account of the organization but the management
/// account, in each of `regions` (every stage's home and covered regions), unless a stage
/// wants its stack there. In account, then region order.
pub(crate) fn places(
    snapshot: &OrgSnapshot,
    regions: &BTreeSet<String>,
    wanted: &BTreeSet<(String, String)>,
) -> Vec<Target> {
    let mut accounts: Vec<_> = snapshot
        .accounts
        .iter()
        .filter(|a| a.status == "ACTIVE" && a.id != snapshot.management_account_id)
        .collect();
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    let mut places = Vec::new();
    for account in accounts {
        for region in regions {
            if wanted.contains(&(account.id.clone(), region.clone())) {
                continue;
            }
            places.push(Target {
                account: TargetAccount {
                    id: account.id.clone(),
                    name: account.name.clone(),
                    ou_path: snapshot.path_of(&account.parent_id),
                },
                region: region.clone(),
            });
        }
    }
    places
}

/// The stage that removes an orphan whose `remedy:stage` tag is `tag`: that stage when it
/// is one of `stages` (in the file's order), else the first.
pub(crate) fn owner<'s>(tag: Option<&str>, stages: &[&'s str]) -> Option<&'s str> {
    tag.and_then(|t| stages.iter().copied().find(|s| *s == t))
        .or_else(|| stages.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::org::Account;

    fn account(id: &str, status: &str) -> Account {
        Account {
            id: id.into(),
            name: format!("n{id}"),
            status: status.into(),
            parent_id: "r-1".into(),
        }
    }

    fn target(id: &str, region: &str) -> Target {
        Target {
            account: TargetAccount {
                id: id.into(),
                name: String::new(),
                ou_path: String::new(),
            },
            region: region.into(),
        }
    }

    #[test]
    fn every_active_account_is_looked_at_where_no_stage_wants_a_stack() {
        let snapshot = OrgSnapshot {
            management_account_id: "000000000000".into(),
            accounts: vec![
                account("000000000000", "ACTIVE"),
                account("222222222222", "ACTIVE"),
                account("111111111111", "ACTIVE"),
                account("333333333333", "SUSPENDED"),
            ],
            ..OrgSnapshot::default()
        };
        let regions: BTreeSet<String> = ["eu-west-1".to_owned(), "us-east-1".to_owned()].into();
        let wanted = wanted(&[target("111111111111", "us-east-1")]);
        let places: Vec<(String, String)> = places(&snapshot, &regions, &wanted)
            .into_iter()
            .map(|t| (t.account.id, t.region))
            .collect();
        assert_eq!(
            places,
            [
                ("111111111111".to_owned(), "eu-west-1".to_owned()),
                ("222222222222".to_owned(), "eu-west-1".to_owned()),
                ("222222222222".to_owned(), "us-east-1".to_owned()),
            ]
        );
    }

    #[test]
    fn an_orphan_is_its_stages_or_the_first_stages() {
        let stages = ["dev", "prod"];
        assert_eq!(owner(Some("prod"), &stages), Some("prod"));
        assert_eq!(owner(Some("gone"), &stages), Some("dev"));
        assert_eq!(owner(None, &stages), Some("dev"));
        assert_eq!(owner(Some("dev"), &[]), None);
    }
}
