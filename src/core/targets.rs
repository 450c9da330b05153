//! Target resolution: which accounts a stage deploys to. Pure: a function of the stage's
//! `targets` and an [`OrgSnapshot`], no AWS call.
//!
//! Rules (docs/configuration.md): OUs by path from the root or by id, nested OUs included; explicit
//! accounts; `exclude` always wins; only ACTIVE accounts; the management account only when
//! listed explicitly. An OU path or id that does not exist, or an explicit account that is
//! not in the organization, is invalid input (exit 2).

use crate::core::config::{Config, Stage};
use crate::core::error::Error;
use crate::core::org::{Account, OrgSnapshot};
use crate::core::util::closest;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One account a stage deploys to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetAccount {
    pub id: String,
    pub name: String,
    pub ou_path: String,
}

/// The accounts of a stage, sorted by id, and the notes about what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Resolution {
    pub(crate) accounts: Vec<TargetAccount>,
    /// Accounts matched but not deployed, with why (suspended, excluded, management).
    pub(crate) passed_over: Vec<(String, String)>,
}

/// One account, in the region of its stack (the stage's home region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub account: TargetAccount,
    pub region: String,
}

/// The targets of a stage: one per account, in the home region, in account order.
pub(crate) fn at_home(accounts: &[TargetAccount], home: &str) -> Vec<Target> {
    accounts
        .iter()
        .map(|account| Target {
            account: account.clone(),
            region: home.to_owned(),
        })
        .collect()
}

pub(crate) fn resolve(
    config: &Config,
    stage: &Stage,
    org: &OrgSnapshot,
) -> Result<Resolution, Error> {
    // Children of each unit, to walk nested OUs.
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for unit in org.units.values() {
        if let Some(parent) = &unit.parent_id {
            children.entry(parent.as_str()).or_default().push(&unit.id);
        }
    }

    let mut selected_units: Vec<&str> = Vec::new();
    for ou in &stage.targets.ous {
        let unit = find_unit(org, ou.as_str(), &children).ok_or_else(|| {
            let paths = org.units.keys().map(|id| {
                let path = org.path_of(id);
                (id.as_str(), path)
            });
            // By path when a path was written, by id otherwise.
            let near: Vec<String> = if ou.as_str().starts_with('/') {
                let paths: Vec<String> = paths.map(|(_, p)| p).collect();
                closest(
                    ou.as_str(),
                    paths.iter().map(|p| (p.as_str(), p.clone())),
                    3,
                )
            } else {
                closest(
                    ou.as_str(),
                    paths.map(|(id, p)| (id, format!("{id} ({p})"))),
                    3,
                )
            };
            let message = format!(
                "stage `{}`: OU `{ou}` does not exist in the organization{}",
                stage.name,
                did_you_mean(&near)
            );
            Error::from(config.error_in_stage(stage.name.as_str(), ou.as_str(), message))
        })?;
        // The unit and everything below it.
        let mut stack = vec![unit];
        while let Some(id) = stack.pop() {
            selected_units.push(id);
            if let Some(kids) = children.get(id) {
                stack.extend(kids.iter().copied());
            }
        }
    }

    let by_id: HashMap<&str, &Account> = org.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
    let excluded = |id: &str| stage.targets.exclude.iter().any(|e| e.as_str() == id);

    // Why an account of the organization is not deployed, or None when it is.
    let pass_over = |account: &Account, explicit: bool| -> Option<String> {
        if excluded(&account.id) {
            Some("excluded".into())
        } else if account.status != "ACTIVE" {
            Some(format!("not ACTIVE ({})", account.status))
        } else if account.id == org.management_account_id && !explicit {
            Some("the management account (list it under `accounts` to include it)".into())
        } else {
            None
        }
    };

    let mut chosen: BTreeMap<String, TargetAccount> = BTreeMap::new();
    let mut passed_over: BTreeMap<String, String> = BTreeMap::new();
    let mut consider = |account: &Account, explicit: bool| match pass_over(account, explicit) {
        Some(why) => {
            if !chosen.contains_key(&account.id) {
                passed_over.insert(account.id.clone(), why);
            }
        }
        None => {
            passed_over.remove(&account.id);
            chosen.insert(
                account.id.clone(),
                TargetAccount {
                    id: account.id.clone(),
                    name: account.name.clone(),
                    ou_path: org.path_of(&account.parent_id),
                },
            );
        }
    };

    let selected: HashSet<&str> = selected_units.into_iter().collect();
    for account in &org.accounts {
        if selected.contains(account.parent_id.as_str()) {
            consider(account, false);
        }
    }
    let labelled = |a: &Account| format!("{} ({}, {})", a.id, a.name, org.path_of(&a.parent_id));
    for id in &stage.targets.accounts {
        let account = by_id.get(id.as_str()).ok_or_else(|| {
            let near = closest(
                id.as_str(),
                org.accounts.iter().map(|a| (a.id.as_str(), labelled(a))),
                2,
            );
            let message = format!(
                "stage `{}`: account {id} is not in the organization{}",
                stage.name,
                did_you_mean(&near)
            );
            Error::from(config.error_in_stage(stage.name.as_str(), id.as_str(), message))
        })?;
        consider(account, true);
    }
    // An exclude must exclude something: an account the stage's OUs or accounts name. A
    // typo there would otherwise deploy to the very account it meant to spare.
    for (nth, id) in stage.targets.exclude.iter().enumerate() {
        let of_stage = |a: &str| {
            selected.contains(by_id.get(a).map_or("", |x| x.parent_id.as_str()))
                || stage.targets.accounts.iter().any(|x| x.as_str() == a)
        };
        if of_stage(id.as_str()) {
            continue;
        }
        let why = match by_id.get(id.as_str()) {
            Some(account) => format!(
                "is {}, which is not among the stage's OUs or accounts: it would exclude nothing",
                labelled(account)
            ),
            None => "is not an account of the organization: it would exclude nothing".into(),
        };
        let candidates = org
            .accounts
            .iter()
            .filter(|a| of_stage(&a.id))
            .map(|a| (a.id.as_str(), labelled(a)));
        let near = closest(id.as_str(), candidates, 2);
        let message = format!(
            "stage `{}`: exclude[{nth}]: {id} {why}{}",
            stage.name,
            did_you_mean(&near)
        );
        return Err(Error::from(config.error_in_stage(
            stage.name.as_str(),
            id.as_str(),
            message,
        )));
    }

    Ok(Resolution {
        accounts: chosen.into_values().collect(),
        passed_over: passed_over.into_iter().collect(),
    })
}

/// "; did you mean …?" when there is something near, else nothing.
fn did_you_mean(near: &[String]) -> String {
    if near.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", near.join(" or "))
    }
}

/// `remedy onboard`: the first stage (in configuration order) whose targets include
/// `account`, with that stage's resolution. An account outside the organization, or one
/// no stage deploys (with why, where a stage passed it over), is invalid input.
pub(crate) fn first_stage_of<'c>(
    config: &'c Config,
    org: &OrgSnapshot,
    account: &str,
) -> Result<(&'c Stage, Resolution), Error> {
    let Some(found) = org.accounts.iter().find(|a| a.id == account) else {
        return Err(Error::Input(format!(
            "account {account} is not in the organization ({} accounts listed)",
            org.accounts.len()
        )));
    };
    let mut passed_over = Vec::new();
    for stage in &config.stages {
        let resolution = resolve(config, stage, org)?;
        if resolution.accounts.iter().any(|a| a.id == account) {
            return Ok((stage, resolution));
        }
        if let Some((_, why)) = resolution.passed_over.iter().find(|(id, _)| id == account) {
            passed_over.push(format!("stage `{}` passes it over: {why}", stage.name));
        }
    }
    let path = org.path_of(&found.parent_id);
    let mut message = format!(
        "account {account} ({}, OU {path}) is a target of no stage in {}",
        found.name,
        config.path.display()
    );
    if !passed_over.is_empty() {
        message.push_str(&format!(" ({})", passed_over.join("; ")));
    } else {
        message.push_str(": add its OU or the account to a stage's targets");
    }
    Err(Error::Input(message))
}

/// A root or OU by id, or by path of names from the (first) root.
/// The ids of the OUs a stage names (`/Workloads/Dev` or `ou-…`), in configuration order:
/// what the `stacksets` engine hands StackSets as deployment targets.
pub(crate) fn stage_unit_ids(stage: &Stage, org: &OrgSnapshot) -> Result<Vec<String>, String> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for unit in org.units.values() {
        if let Some(parent) = &unit.parent_id {
            children.entry(parent.as_str()).or_default().push(&unit.id);
        }
    }
    stage
        .targets
        .ous
        .iter()
        .map(|ou| {
            find_unit(org, ou.as_str(), &children)
                .map(str::to_owned)
                .ok_or_else(|| format!("stage `{}`: OU `{ou}` does not exist", stage.name))
        })
        .collect()
}

fn find_unit<'a>(
    org: &'a OrgSnapshot,
    reference: &str,
    children: &HashMap<&str, Vec<&'a str>>,
) -> Option<&'a str> {
    if !reference.starts_with('/') {
        return org.units.get(reference).map(|u| u.id.as_str());
    }
    let mut roots: Vec<&str> = org
        .units
        .values()
        .filter(|u| u.parent_id.is_none())
        .map(|u| u.id.as_str())
        .collect();
    roots.sort_unstable();
    let mut current = *roots.first()?;
    for name in reference.split('/').filter(|s| !s.is_empty()) {
        current = children
            .get(current)?
            .iter()
            .copied()
            .find(|id| org.units.get(*id).is_some_and(|u| u.name == name))?;
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::org::OrgUnit;
    use std::path::Path;

    fn unit(id: &str, name: &str, parent: Option<&str>) -> (String, OrgUnit) {
        (
            id.into(),
            OrgUnit {
                id: id.into(),
                name: name.into(),
                parent_id: parent.map(Into::into),
            },
        )
    }

    fn account(id: &str, parent: &str, status: &str) -> Account {
        Account {
            id: id.into(),
            name: format!("acct-{id}"),
            status: status.into(),
            parent_id: parent.into(),
        }
    }

    fn org() -> OrgSnapshot {
        OrgSnapshot {
            organization_id: "o-exampleorg1".into(),
            management_account_id: "123456789012".into(),
            units: [
                unit("r-root", "Root", None),
                unit("ou-root-work0001", "Workloads", Some("r-root")),
                unit("ou-root-dev00001", "Dev", Some("ou-root-work0001")),
                unit("ou-root-team0001", "TeamA", Some("ou-root-dev00001")),
                unit("ou-root-prod0001", "Prod", Some("ou-root-work0001")),
            ]
            .into_iter()
            .collect(),
            accounts: vec![
                account("123456789012", "r-root", "ACTIVE"),
                account("111111111111", "ou-root-dev00001", "ACTIVE"),
                account("111111111112", "ou-root-team0001", "ACTIVE"),
                account("111111111113", "ou-root-team0001", "SUSPENDED"),
                account("111111111114", "ou-root-dev00001", "ACTIVE"),
                account("222222222221", "ou-root-prod0001", "ACTIVE"),
            ],
        }
    }

    fn resolve_yaml(targets: &str) -> Result<Resolution, Error> {
        let yaml = format!("stages:\n  - name: dev\n    targets: {targets}\n");
        let config = Config::parse(Path::new("remedy.yaml"), yaml).map_err(Error::from)?;
        resolve(&config, &config.stages[0], &org())
    }

    fn ids(r: &Resolution) -> Vec<&str> {
        r.accounts.iter().map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn nested_ous_active_only_excludes_win() {
        let r = resolve_yaml("{ous: [/Workloads/Dev], exclude: [\"111111111114\"]}").unwrap();
        assert_eq!(ids(&r), ["111111111111", "111111111112"]);
        assert_eq!(r.accounts[1].ou_path, "/Workloads/Dev/TeamA");
        assert!(r
            .passed_over
            .iter()
            .any(|(id, why)| id == "111111111113" && why.contains("SUSPENDED")));
        assert!(r
            .passed_over
            .iter()
            .any(|(id, why)| id == "111111111114" && why == "excluded"));
    }

    #[test]
    fn ou_ids_and_explicit_accounts() {
        let r = resolve_yaml("{ous: [ou-root-prod0001], accounts: [\"111111111111\"]}").unwrap();
        assert_eq!(ids(&r), ["111111111111", "222222222221"]);
    }

    #[test]
    fn management_account_only_when_explicit() {
        let r = resolve_yaml("{ous: [\"/\"]}").unwrap();
        assert!(!ids(&r).contains(&"123456789012"));
        assert_eq!(ids(&r).len(), 4);
        let r = resolve_yaml("{ous: [\"/\"], accounts: [\"123456789012\"]}").unwrap();
        assert!(ids(&r).contains(&"123456789012"));
    }

    #[test]
    fn unknown_ou_and_account_are_input_errors() {
        let e = resolve_yaml("{ous: [/Workloads/Nope]}").unwrap_err();
        assert!(matches!(e, Error::Input(_)));
        assert!(
            e.to_string()
                .contains("remedy.yaml:3: stage `dev`: OU `/Workloads/Nope` does not exist"),
            "{e}"
        );
        let e = resolve_yaml("{accounts: [\"999999999999\"]}").unwrap_err();
        assert!(
            e.to_string()
                .contains("account 999999999999 is not in the organization"),
            "{e}"
        );
        // Near misses are named.
        let e = resolve_yaml("{ous: [/Workloads/Deev]}").unwrap_err();
        assert!(
            e.to_string().contains("(did you mean /Workloads/Dev?)"),
            "{e}"
        );
        let e = resolve_yaml("{accounts: [\"111111111119\"]}").unwrap_err();
        assert!(e.to_string().contains("did you mean 111111111111 ("), "{e}");
    }

    #[test]
    fn an_exclude_that_excludes_nothing_is_an_input_error_with_the_closest_accounts() {
        // Not in the organization: one digit off an account of the stage.
        let e = resolve_yaml("{ous: [/Workloads/Dev], exclude: [\"111111111119\"]}").unwrap_err();
        assert!(matches!(e, Error::Input(_)));
        let text = e.to_string();
        assert!(
            text.contains("remedy.yaml:3: stage `dev`: exclude[0]: 111111111119 is not an account of the organization: it would exclude nothing (did you mean 111111111111 ("),
            "{text}"
        );
        // In the organization, but not among the stage's OUs or accounts.
        let e = resolve_yaml("{ous: [/Workloads/Dev], exclude: [\"222222222221\"]}").unwrap_err();
        assert!(
            e.to_string()
                .contains("is not among the stage's OUs or accounts"),
            "{e}"
        );
        // Excluding an explicit account, or one of the OUs, is fine.
        assert!(resolve_yaml(
            "{ous: [/Workloads/Dev], accounts: [\"222222222221\"], exclude: [\"222222222221\"]}"
        )
        .is_ok());
    }

    #[test]
    fn an_error_points_at_its_own_stage_when_two_name_the_same_id() {
        let yaml = "stages:\n  - name: dev\n    targets: {accounts: [\"111111111119\"]}\n  - name: prod\n    targets:\n      ous: [/Workloads/Prod]\n      exclude: [\"111111111119\"]\n";
        let config = Config::parse(Path::new("remedy.yaml"), yaml.into()).unwrap();
        let text = resolve(&config, &config.stages[1], &org())
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("remedy.yaml:7: stage `prod`: exclude[0]"),
            "{text}"
        );
        let text = resolve(&config, &config.stages[0], &org())
            .unwrap_err()
            .to_string();
        assert!(text.contains("remedy.yaml:3: stage `dev`"), "{text}");
    }

    #[test]
    fn onboarding_finds_the_first_stage_of_an_account() {
        let yaml = "stages:\n  - {name: dev, targets: {ous: [/Workloads/Dev], exclude: [\"111111111114\"]}}\n  - {name: all, targets: {ous: [/Workloads]}}\n";
        let config = Config::parse(Path::new("remedy.yaml"), yaml.into()).unwrap();
        let o = org();
        let (stage, r) = first_stage_of(&config, &o, "111111111112").unwrap();
        assert_eq!(stage.name.as_str(), "dev");
        assert!(ids(&r).contains(&"111111111112"));
        // Excluded from dev, so the next stage that includes it.
        let (stage, _) = first_stage_of(&config, &o, "111111111114").unwrap();
        assert_eq!(stage.name.as_str(), "all");
        // The management account is in no stage; a suspended one is passed over everywhere.
        let e = first_stage_of(&config, &o, "123456789012").unwrap_err();
        assert!(matches!(e, Error::Input(_)));
        assert!(
            e.to_string().contains("OU /) is a target of no stage"),
            "{e}"
        );
        let e = first_stage_of(&config, &o, "111111111113").unwrap_err();
        assert!(e.to_string().contains("SUSPENDED"), "{e}");
        let e = first_stage_of(&config, &o, "999999999999").unwrap_err();
        assert!(e.to_string().contains("not in the organization"), "{e}");
    }

    #[test]
    fn paths() {
        let o = org();
        assert_eq!(o.path_of("r-root"), "/");
        assert_eq!(o.path_of("ou-root-team0001"), "/Workloads/Dev/TeamA");
    }
}
