//! `remedy history [--stage S] [--account ID]… [--rule R]… [--outcome O]… [--since 7d]`:
//! the remediation ledger read back across the fleet. Each account's orchestrator log group
//! (`/aws/lambda/AutoRemediateOrchestrator`, in the stage's home region) is read through the
//! account's role with FilterLogEvents, every page, at the stage's concurrency; its lines
//! become records (`core::history`), counted per rule and outcome and per account.
//!
//! One account that cannot be read is reported (`failed`, exit 1) and never hides the
//! others; an account without the log group is `no_log_group` (nothing was ever deployed
//! or logged there), which is information, not a failure.

use super::Global;
use crate::aws::identity::logs_client;
use crate::core::error::{exit, Error};
use crate::core::history::{
    log_group, parse_line, parse_since, AccountHistory, Filter, Ledger, ReadStatus, OUTCOMES,
    SINCE_DEFAULT,
};
use crate::core::outcome::{Outcome, Seen};
use crate::core::targets::Target;
use crate::engine::scheduler::{run_each, Limits, Scheduled};
use crate::report::{self, ProgressKind};
use crate::session::{Prepared, Session};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// The flags of `remedy history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scope: super::targets::Accounts,
    /// Only this rule's records (repeatable), e.g. S3-001.
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// Only records with this outcome (repeatable).
    #[arg(long = "outcome", value_name = "OUTCOME", value_parser = OUTCOMES)]
    pub outcomes: Vec<String>,
    /// How far back: minutes, hours or days (`90m`, `24h`, `7d`), at most 90d (the log
    /// group's default retention).
    #[arg(long, value_name = "DURATION", default_value = SINCE_DEFAULT, value_parser = parse_since)]
    pub since: Duration,
    /// Also write a Markdown summary to FILE (for an audit or a chat message).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Also write the records to FILE as CSV (RFC 4180), for a spreadsheet.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Every column at full width (the tables otherwise fit 100 columns, or $COLUMNS).
    #[arg(long)]
    pub wide: bool,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    // -- Input checks: no AWS call before these pass.
    let config = super::load_config_to_read(&global.config)?;
    let stages = args.scope.stages(&config)?;
    for rule in &args.rules {
        if !remedy_functions::finding::is_valid_rule_id(rule) {
            return Err(Error::Input(format!(
                "--rule {rule}: not a rule id (e.g. S3-001; `remedy rules` lists them)"
            )));
        }
    }
    let since_ms = since_ms(args.since);
    let filter = Arc::new(Filter {
        rules: args.rules.clone(),
        outcomes: args.outcomes.clone(),
        since_ms,
        ..Filter::default()
    });

    // -- The accounts.
    let prepared = Prepared::new(config, None)?;
    let session = Session::connect(prepared, &global.aws, global.stop.clone()).await?;
    let chosen = args.scope.chosen(&session, &stages)?;

    // -- Each account's log group, at the stage's concurrency.
    let (rows, all) = read_ledgers(&session, chosen, filter).await;

    let since_at = crate::core::util::rfc3339(u64::try_from(since_ms / 1000).unwrap_or(0));
    let view = report::HistoryView {
        since: &since_at,
        wide: args.wide,
        all: &all,
    };
    report::print_history(&rows, &view, global.output);
    if let Some(path) = &args.report {
        super::write_file(path, "--report", &report::history_markdown(&rows, &view))?;
    }
    if let Some(path) = &args.csv {
        super::write_file(path, "--csv", &report::history_csv(&all))?;
    }
    Ok(if session.stop.interrupted() {
        exit::INTERRUPTED
    } else if rows
        .iter()
        .any(|r| matches!(r.status, ReadStatus::Failed | ReadStatus::Skipped))
    {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// Now minus `since`, in milliseconds since the epoch (`--since`).
pub(crate) fn since_ms(since: Duration) -> i64 {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    now_ms.saturating_sub(i64::try_from(since.as_millis()).unwrap_or(0))
}

/// Reads the ledger of every target of `chosen` (the orchestrator's log group in its home
/// region, through the account's role), at each stage's concurrency, with a progress bar:
/// one row per account, and the fleet's records that `filter` lets through. Used by
/// `remedy history` and `remedy undo` (which looks for one record).
pub(crate) async fn read_ledgers(
    session: &Session,
    chosen: Vec<(crate::core::config::Stage, Vec<Target>)>,
    filter: Arc<Filter>,
) -> (Vec<AccountHistory>, Ledger) {
    // Each account's records are folded into the fleet's ledger as its read ends, its row
    // keeping the counts: memory holds the latest records once, not per account.
    let all = Arc::new(std::sync::Mutex::new(Ledger::default()));
    let mut rows: Vec<AccountHistory> = Vec::new();
    for (stage, targets) in chosen {
        let progress = report::progress(stage.name.as_str(), targets.len(), ProgressKind::History);
        let identity = session.identity.clone();
        let stage_name = stage.name.to_string();
        let (filter, stop, all) = (filter.clone(), session.stop.clone(), all.clone());
        let mut run = run_each(
            targets,
            Limits::reads_of(&stage),
            progress,
            &session.stop,
            {
                let stage_name = stage_name.clone();
                move |target| {
                    let (identity, filter, stop, stage_name, all) = (
                        identity.clone(),
                        filter.clone(),
                        stop.clone(),
                        stage_name.clone(),
                        all.clone(),
                    );
                    async move {
                        let mut row = AccountHistory::of(&stage_name, &target, ReadStatus::Read);
                        let config = identity
                            .account_config(&target.account.id, &target.region)
                            .await;
                        let logs = logs_client(&config, identity.retries());
                        let mut ledger = Ledger::default();
                        let read = crate::aws::logs::filter_events(
                            &logs,
                            &log_group(),
                            &filter.pattern(),
                            filter.since_ms,
                            &stop,
                            |message, timestamp| {
                                if let Some(record) =
                                    parse_line(message, &target.account.id, timestamp)
                                {
                                    if filter.matches(&record) {
                                        ledger.add(record);
                                    }
                                }
                            },
                        )
                        .await;
                        match read {
                            Ok(true) => {
                                ledger.compact();
                                row.ledger = ledger.counts_only();
                                all.lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                                    .merge(ledger);
                            }
                            Ok(false) => {
                                row.status = ReadStatus::NoLogGroup;
                                row.reason = Some(format!(
                                    "no log group {}: no remedy stack here, or one that never ran",
                                    log_group()
                                ));
                            }
                            Err(why) => {
                                row.status = ReadStatus::Failed;
                                row.reason = Some(why);
                            }
                        }
                        row
                    }
                }
            },
        )
        .await;
        for row in run.results.iter_mut().filter(|r| r.stage.is_empty()) {
            row.stage = stage_name.clone();
        }
        rows.extend(run.results);
        if run.interrupted {
            break;
        }
    }

    let all = all
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    (rows, all)
}

impl AccountHistory {
    fn of(stage: &str, target: &Target, status: ReadStatus) -> AccountHistory {
        AccountHistory {
            stage: stage.to_owned(),
            account_id: target.account.id.clone(),
            account_name: target.account.name.clone(),
            region: target.region.clone(),
            status,
            reason: None,
            ledger: Ledger::default(),
        }
    }
}

impl Scheduled for AccountHistory {
    fn counts_as_failure(&self) -> bool {
        self.status == ReadStatus::Failed
    }

    fn seen(&self) -> Seen<'_> {
        Seen {
            account_id: &self.account_id,
            region: &self.region,
            // The progress words of `ProgressKind::History`, by bucket.
            outcome: match self.status {
                ReadStatus::Read => Outcome::Created,
                ReadStatus::NoLogGroup => Outcome::Unchanged,
                ReadStatus::Failed => Outcome::Failed,
                ReadStatus::Skipped => Outcome::Skipped,
            },
            word: self.status.as_str(),
            stack_status: None,
            reason: self.reason.as_deref(),
            stack_time: None,
        }
    }

    fn unfinished(target: &Target, outcome: Outcome, reason: String) -> Self {
        let mut row = AccountHistory::of(
            "",
            target,
            match outcome {
                Outcome::Skipped => ReadStatus::Skipped,
                _ => ReadStatus::Failed,
            },
        );
        row.reason = Some(reason);
        row
    }
}
