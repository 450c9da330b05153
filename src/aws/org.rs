//! Organization discovery: one snapshot of the OU tree per run (AWS edge).
//!
//! Walks the tree from the root with ListRoots, ListOrganizationalUnitsForParent and
//! ListAccountsForParent (paginated), one tree level at a time with the children of a level
//! fetched concurrently. No per-account ListParents: every account's OU is known from the
//! parent it was listed under. Plus one DescribeOrganization for the management account.
//!
//! Must not: decide what is a target — that is [`crate::core::targets`], a pure function over the
//! [`OrgSnapshot`] this module returns.

use crate::aws::reason;
use crate::core::error::Error;
use crate::core::org::{Account, OrgSnapshot, OrgUnit};
use aws_sdk_organizations::Client;
use futures::{stream, StreamExt, TryStreamExt};

/// How many parents are listed at once while walking the tree.
const DISCOVERY_CONCURRENCY: usize = 8;

/// Lists the whole organization. Counts: 1 DescribeOrganization, 1 ListRoots, and per OU or
/// root one ListOrganizationalUnitsForParent and one ListAccountsForParent per 20 accounts.
pub async fn discover(client: &Client) -> Result<OrgSnapshot, Error> {
    let org = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| fail("DescribeOrganization", reason("DescribeOrganization", &e)))?;
    let organization = org.organization();
    let organization_id = organization
        .and_then(|o| o.id())
        .unwrap_or_default()
        .to_owned();
    let management_account_id = organization
        .and_then(|o| o.master_account_id())
        .unwrap_or_default()
        .to_owned();

    let mut roots = Vec::new();
    let mut pages = client.list_roots().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| fail("ListRoots", reason("ListRoots", &e)))?;
        roots.extend(page.roots().iter().cloned());
    }

    let mut snapshot = OrgSnapshot {
        organization_id,
        management_account_id,
        ..OrgSnapshot::default()
    };
    let mut level: Vec<String> = Vec::new();
    for root in roots {
        let id = root.id().unwrap_or_default().to_owned();
        snapshot.units.insert(
            id.clone(),
            OrgUnit {
                id: id.clone(),
                name: root.name().unwrap_or("Root").to_owned(),
                parent_id: None,
            },
        );
        level.push(id);
    }

    while !level.is_empty() {
        let children: Vec<(Vec<OrgUnit>, Vec<Account>)> = stream::iter(level)
            .map(|parent| list_children(client, parent))
            .buffer_unordered(DISCOVERY_CONCURRENCY)
            .try_collect()
            .await?;
        level = Vec::new();
        for (units, accounts) in children {
            for unit in units {
                level.push(unit.id.clone());
                snapshot.units.insert(unit.id.clone(), unit);
            }
            snapshot.accounts.extend(accounts);
        }
    }
    snapshot.accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(snapshot)
}

async fn list_children(
    client: &Client,
    parent: String,
) -> Result<(Vec<OrgUnit>, Vec<Account>), Error> {
    let units = async {
        let mut pages = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        let mut units = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                fail(
                    "ListOrganizationalUnitsForParent",
                    reason("ListOrganizationalUnitsForParent", &e),
                )
            })?;
            for ou in page.organizational_units() {
                units.push(OrgUnit {
                    id: ou.id().unwrap_or_default().to_owned(),
                    name: ou.name().unwrap_or_default().to_owned(),
                    parent_id: Some(parent.clone()),
                });
            }
        }
        Ok::<_, Error>(units)
    };
    let accounts = async {
        // This paginator has no `.items()`: walk the pages.
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        let mut accounts = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| fail("ListAccountsForParent", reason("ListAccountsForParent", &e)))?;
            for account in page.accounts() {
                accounts.push(Account {
                    id: account.id().unwrap_or_default().to_owned(),
                    name: account.name().unwrap_or_default().to_owned(),
                    status: account_status(account),
                    parent_id: parent.clone(),
                });
            }
        }
        Ok::<_, Error>(accounts)
    };
    futures::try_join!(units, accounts)
}

/// The account's state: the newer `State` field where AWS sends it, else `Status`.
#[allow(deprecated)]
fn account_status(account: &aws_sdk_organizations::types::Account) -> String {
    if let Some(state) = account.state() {
        return state.as_str().to_owned();
    }
    account
        .status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "UNKNOWN".to_owned())
}

fn fail(api: &str, reason: String) -> Error {
    Error::Failed(format!("listing the organization ({api}): {reason}"))
}
