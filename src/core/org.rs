//! The organization as one snapshot: OUs by path, accounts by parent. `aws::org` lists it
//! once per run; `core::targets` resolves stages over it.
//!
//! Must not: call Organizations.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnit {
    pub id: String,
    pub name: String,
    /// `None` for a root.
    pub parent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, …
    pub status: String,
    pub parent_id: String,
}

/// The organization as listed at one moment.
#[derive(Debug, Clone, Default)]
pub struct OrgSnapshot {
    pub organization_id: String,
    pub management_account_id: String,
    /// Roots and OUs by id.
    pub units: HashMap<String, OrgUnit>,
    pub accounts: Vec<Account>,
}

impl OrgSnapshot {
    /// `/Parent/Child` for an OU, `/` for a root.
    pub fn path_of(&self, unit_id: &str) -> String {
        let mut names = Vec::new();
        let mut current = self.units.get(unit_id);
        while let Some(unit) = current {
            let Some(parent) = &unit.parent_id else { break };
            names.push(unit.name.as_str());
            current = self.units.get(parent);
        }
        names.reverse();
        format!("/{}", names.join("/"))
    }
}
