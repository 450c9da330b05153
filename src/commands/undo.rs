//! `remedy undo (--record ID | --finding ID) [--stage S] [--account ID]… [--since 30d]
//! [--yes [--local]]`: put back what a reversible rule removed, as its ledger record says.
//!
//! The record is looked for in the ledgers `remedy history` reads (the orchestrator's log
//! group in each target's home region; `--stage`/`--account` narrow the search). Without
//! `--yes` nothing is changed: the record and what would be put back are shown. With `--yes`
//! the rule's own function in the account (`AutoRemediate<ruleId>`, in the home region) is
//! invoked with the record's removals: it acts with the role that made the fix, whose
//! actions are the ones putting it back, and restores only what its rule removes. `--local`
//! runs that same code in this process with the account's role (`role.name`) instead, for
//! an operator whose role may make the calls. A rule that is not reversible is refused with
//! the reason (exit 1), as is a record that changed nothing.

use super::Global;
use crate::aws::identity::lambda_client;
use crate::core::error::{exit, Error};
use crate::core::history::{is_id, parse_since, Filter};
use crate::core::undo::{choose, verdict, UndoState, Undone, Wanted};
use crate::report;
use crate::session::{Prepared, Session};
use std::sync::Arc;
use std::time::Duration;

/// What an undo does not do: keep the access from being removed again.
const KEEP: &str = "Conformity reports it again at its next check and the rule would remove it again: to keep it, add an exception for the resource (`exceptions:` in remedy.yaml, then deploy) or pause the rule (`remedy pause --rule`)";

/// `--since`'s default: a month of the ledger.
const SINCE_DEFAULT: &str = "30d";

// The flags of `remedy undo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger record to undo (its `record_id`: `remedy history` shows it).
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "finding",
        conflicts_with = "finding"
    )]
    pub record: Option<String>,
    /// Undo the latest fix of this finding (Conformity's finding id, the record's `finding_id`).
    #[arg(long, value_name = "ID")]
    pub finding: Option<String>,
    /// Only look in this stage's accounts [default: every stage's].
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Only look in these accounts (repeatable).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// How far back to look: minutes, hours or days (`90m`, `24h`, `7d`), at most 90d.
    #[arg(long, value_name = "DURATION", default_value = SINCE_DEFAULT, value_parser = parse_since)]
    pub since: Duration,
    /// Put it back [default: show what would be put back, change nothing].
    #[arg(long)]
    pub yes: bool,
    /// With --yes: run the undo here with the account's role (`role.name`) instead of the
    /// rule's own function in the account.
    #[arg(long, requires = "yes")]
    pub local: bool,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    // -- Input checks: no AWS call before these pass.
    let config = super::load_config_to_read(&global.config)?;
    let stages = super::targets::stages_named(&config, args.stage.as_deref())?;
    let wanted = match (&args.record, &args.finding) {
        (Some(id), _) => Wanted::Record(id.clone()),
        (None, Some(id)) => Wanted::Finding(id.clone()),
        (None, None) => return Err(Error::Input("name --record ID or --finding ID".into())),
    };
    let (flag, id) = match &wanted {
        Wanted::Record(id) => ("--record", id),
        Wanted::Finding(id) => ("--finding", id),
    };
    if !is_id(id) {
        return Err(Error::Input(format!(
            "{flag} {id:?}: not an id (1 to 256 characters, no quote, backslash or space)"
        )));
    }
    super::targets::check_account_ids(&args.accounts)?;
    let since_ms = super::history::since_ms(args.since);
    let filter = Arc::new(Filter {
        since_ms,
        record_id: matches!(wanted, Wanted::Record(_)).then(|| id.clone()),
        finding_id: matches!(wanted, Wanted::Finding(_)).then(|| id.clone()),
        ..Filter::default()
    });

    // -- The record, from the ledgers of the accounts named.
    let prepared = Prepared::new(config, None)?;
    let session = Session::connect(prepared, &global.aws, global.stop.clone()).await?;
    let chosen =
        super::targets::chosen_targets(&session, &stages, &args.accounts, args.stage.is_some())?;
    let (rows, all) = super::history::read_ledgers(&session, chosen, filter).await;
    if session.stop.interrupted() {
        return Ok(exit::INTERRUPTED);
    }
    let (found, _) = all.latest();
    let record = choose(&wanted, found).map_err(Error::Input)?;
    let mut undone = Undone {
        state: UndoState::NotFound,
        wanted: wanted.clone(),
        record: None,
        actions: Vec::new(),
        reason: None,
        via: "dry_run",
    };
    let Some(record) = record else {
        let unread: Vec<String> = rows
            .iter()
            .filter(|r| {
                r.reason.is_some() && r.status != crate::core::history::ReadStatus::NoLogGroup
            })
            .map(|r| format!("{}: {}", r.account_id, r.reason.as_deref().unwrap_or("")))
            .collect();
        let mut reason = format!(
            "no {} in the ledgers of the {} account(s) searched since {}",
            wanted.describe(),
            rows.len(),
            crate::core::util::rfc3339(u64::try_from(since_ms / 1000).unwrap_or(0))
        );
        if !unread.is_empty() {
            reason.push_str(&format!("; not read: {}", unread.join("; ")));
        }
        undone.reason = Some(reason);
        report::print_undo(&undone, global.output);
        return Ok(exit::FAILED);
    };
    let request = match verdict(&record) {
        Ok(request) => request,
        Err(why) => {
            undone.state = UndoState::Refused;
            undone.reason = Some(why);
            undone.record = Some(record);
            report::print_undo(&undone, global.output);
            return Ok(exit::FAILED);
        }
    };

    // -- Dry run: what the record says would be put back.
    if !args.yes {
        undone.state = UndoState::WouldRestore;
        undone.actions = request
            .removed
            .iter()
            .map(|r| format!("would put back {}", r.describe()))
            .collect();
        undone.reason = Some(KEEP.to_owned());
        undone.record = Some(record);
        report::print_undo(&undone, global.output);
        return Ok(exit::OK);
    }

    // -- Put back: through the rule's own function in the account's home region, or here.
    let home = rows
        .iter()
        .find(|r| r.account_id == record.account_id)
        .map(|r| r.region.clone())
        .unwrap_or_default();
    let identity = &session.identity;
    let result = if args.local {
        undone.via = "local";
        match remedy_functions::runtime::acting_region(request.region.as_deref(), &home) {
            Err(reason) => Err(reason),
            Ok(region) => {
                let aws = identity.account_config(&record.account_id, &region).await;
                Ok(remedy_functions::undo::undo(&request.rule_id, &request, &aws).await)
            }
        }
    } else {
        undone.via = "function";
        let aws = identity.account_config(&record.account_id, &home).await;
        let lambda = lambda_client(&aws, identity.retries());
        let function = format!(
            "{}{}",
            remedy_functions::lambda::RULE_PREFIX,
            request.rule_id
        );
        crate::aws::lambda::invoke_undo(&lambda, &function, &request).await
    };
    match result {
        Ok(report) => {
            undone.state = report.outcome.into();
            undone.actions = report.actions;
            undone.reason = match undone.state {
                UndoState::Restored | UndoState::Unchanged => Some(match report.reason {
                    Some(reason) => format!("{reason}; {KEEP}"),
                    None => KEEP.to_owned(),
                }),
                _ => report.reason,
            };
        }
        Err(reason) => {
            undone.state = UndoState::Failed;
            undone.reason = Some(reason);
        }
    }
    undone.record = Some(record);
    report::print_undo(&undone, global.output);
    Ok(if undone.state.succeeded() {
        exit::OK
    } else {
        exit::FAILED
    })
}
