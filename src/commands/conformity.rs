//! `remedy conformity connect [--stage S] [--account ID]… [--dry-run]` and `remedy
//! conformity status`: each target account's findings topic registered as the account's
//! Conformity SNS communication setting — created, or updated in place, never duplicated
//! (`core::conformity::plan`) — and read back.
//!
//! Order: the input (stage, accounts, `conformity.api`), the API key (its environment
//! variable, or its secret in the security account), the targets (Organizations), then one
//! `GET /accounts` that proves the key before any account is touched (a refused key is one
//! error, exit 1), then each account at a small concurrency: its settings, then a create or
//! an update. One account that fails is reported and never stops the others.

use super::targets::Accounts;
use super::Global;
use crate::aws::conformity::{ApiError, ApiKey, Client};
use crate::core::config::{ApiKeySource, Config, ConformityApi, Stage};
use crate::core::conformity::{
    extra_labelled, link, plan, stage_wanted, unreadable, Link, Plan, Row, State,
};
use crate::core::error::{exit, Error};
use crate::core::outcome::{Outcome, Seen};
use crate::core::targets::Target;
use crate::engine::scheduler::{run_each, Limits, Scheduled};
use crate::report::{self, ProgressKind};
use crate::session::{Prepared, Session};
use std::collections::HashMap;
use std::sync::Arc;

/// Conformity accounts handled at once: its API's rate is not documented, so a few.
const CONCURRENCY: usize = 4;

// The flags of `remedy conformity`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Register each account's findings topic as its Conformity SNS channel (create or update, never duplicate).
    #[command(after_help = CONNECT_EXAMPLES)]
    Connect(ConnectArgs),
    /// Whether Conformity publishes each account's findings to its topic, as remedy wants.
    #[command(after_help = STATUS_EXAMPLES)]
    Status(Accounts),
    /// The Conformity profile that excepts remedy's own resources from the rules they trip by design (--apply: create or update it).
    #[command(after_help = PROFILE_EXAMPLES)]
    Profile(ProfileArgs),
}

#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// Create the profile in Conformity, or update its rule settings (then apply it to the
    /// accounts in Conformity).
    #[arg(long)]
    pub apply: bool,
}

const PROFILE_EXAMPLES: &str = "\
Examples:
  # The rules remedy's stack trips by design, why, and the exceptions (offline)
  remedy conformity profile
  # The profile as Conformity's API takes it
  remedy conformity profile --output json
  # Create or update it in Conformity
  remedy conformity profile --apply";

const CONNECT_EXAMPLES: &str = "\
Examples:
  # What would be created or updated (the key from $CONFORMITY_API_KEY)
  remedy conformity connect --dry-run
  # One stage; a second run is all `unchanged`
  remedy conformity connect --stage prod
  # Two accounts, as JSON for a pipeline
  remedy conformity connect --account 111111111111 --account 222222222222 --output json";

const STATUS_EXAMPLES: &str = "\
Examples:
  # Does Conformity publish each account's findings to its topic? (exit 1 when not)
  remedy conformity status
  # One stage, as JSON
  remedy conformity status --stage prod --output json";

#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub scope: Accounts,
    /// Say what would be created or updated; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config_to_read(&global.config)?;
    let (scope, mode) = match &args.command {
        Sub::Connect(a) if a.dry_run => (&a.scope, Mode::DryRun),
        Sub::Connect(a) => (&a.scope, Mode::Connect),
        Sub::Status(scope) => (scope, Mode::Status),
        Sub::Profile(a) => return profile(config, a.apply, global).await,
    };
    let stages = scope.stages(&config)?;
    let api = api_of(&config)?.clone();
    let prepared = Prepared::new(config, None)?;
    let session = Session::connect(prepared, &global.aws, global.stop.clone()).await?;
    let client = Arc::new(client(&session, &api).await?);
    let chosen = scope.chosen(&session, &stages)?;
    let rows = each_account(&session, &client, chosen, mode).await?;
    report::print_conformity(&rows, mode.word(), client.retries(), global.output);
    Ok(outcome_code(&session, &rows))
}

/// `remedy onboard --connect`: connects the account of `target` (of `stage`) once its stack
/// is deployed; what happened, in one line, and whether it is connected.
pub(crate) async fn connect_one(
    session: &Session,
    stage: &Stage,
    target: Target,
) -> Result<(bool, String), Error> {
    let api = api_of(&session.config)?.clone();
    let client = Arc::new(client(session, &api).await?);
    let rows = each_account(
        session,
        &client,
        vec![(stage.clone(), vec![target])],
        Mode::Connect,
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok((false, "Conformity: not connected (interrupted)".into()));
    };
    let line = format!(
        "Conformity: {} {} ({}){}",
        row.account_id,
        row.state.as_str(),
        row.topic_arn,
        row.reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    Ok((!row.state.is_problem(), line))
}

/// `remedy status`'s CONFORMITY column, when `conformity.api` is configured: for each row
/// (stage name, target), whether Conformity publishes to its topic as remedy wants. What
/// cannot be asked (no key, the API refusing or down) is `unknown`, with one note; it never
/// fails the status.
pub(crate) async fn read_into(
    session: &Session,
    rows: &mut [(String, crate::core::outcome::InspectedTarget)],
) {
    use futures::StreamExt;
    let Some(api) = session.config.conformity.api.clone() else {
        return;
    };
    let known = match client(session, &api).await {
        Ok(client) => match client.accounts().await {
            Ok(accounts) => Ok((client, accounts)),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    let (client, accounts) = match known {
        Ok(known) => known,
        Err(why) => {
            report::note(&format!(
                "Conformity: not asked ({why}); its column says unknown"
            ));
            for (_, row) in rows.iter_mut() {
                row.conformity = Some("unknown");
            }
            return;
        }
    };
    let known: HashMap<String, String> = accounts
        .into_iter()
        .map(|a| (a.aws_account_id, a.id))
        .collect();
    // Each stage's wants once, not once per account.
    let mut stages: HashMap<&str, Option<crate::core::conformity::StageWanted>> = HashMap::new();
    for (stage, _) in rows.iter() {
        stages.entry(stage.as_str()).or_insert_with(|| {
            let stage = session.config.stage(stage).ok()?;
            stage_wanted(&session.config, stage).ok()
        });
    }
    let asks: Vec<_> = rows
        .iter()
        .map(|(stage, row)| {
            // The deployed stack's own topic where it was read (a StackSet's stack is
            // named by StackSets), else the one the configuration names.
            let wanted = stages
                .get(stage.as_str())
                .and_then(Option::as_ref)
                .and_then(|s| match &row.findings_topic {
                    Some(topic) => Some(s.for_topic(topic.clone())),
                    None => s.for_account(&row.account_id, &row.region).ok(),
                });
            (known.get(&row.account_id).cloned(), wanted)
        })
        .collect();
    let client = &client;
    let states: Vec<&'static str> = futures::stream::iter(asks)
        .map(|(id, wanted)| async move {
            let Some(wanted) = wanted else {
                return "unknown";
            };
            let Some(id) = id else {
                return State::NotInConformity.as_str();
            };
            match client.sns_settings(&id).await {
                Ok(settings) if unreadable(&settings, &id).is_some() => "unknown",
                Ok(settings) => match link(&settings, &id, &wanted) {
                    Link::Connected => State::Connected.as_str(),
                    Link::Outdated(_) => State::Outdated.as_str(),
                    Link::NotConnected => State::NotConnected.as_str(),
                },
                Err(_) => State::Failed.as_str(),
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for ((_, row), state) in rows.iter_mut().zip(states) {
        row.conformity = Some(state);
    }
}

/// Before `onboard --connect` deploys anything: `conformity.api` is set and a key from the
/// environment is there (a secret is read when connecting).
pub(crate) fn check_connect(config: &Config) -> Result<(), Error> {
    match &api_of(config)?.key {
        ApiKeySource::Env(name) if std::env::var_os(name).is_none() => Err(Error::Input(format!(
            "--connect: the Conformity API key is read from ${name}, which is not set"
        ))),
        _ => Ok(()),
    }
}

/// `remedy conformity profile [--apply]`: the profile, offline; with `--apply`, created or
/// updated in Conformity (by its name, `remedy <stack_name>`), then said whether.
async fn profile(config: Config, apply: bool, global: &Global) -> Result<i32, Error> {
    use crate::core::conformity::{exemptions, profile_body, profile_name, profile_rules};
    let exempt = exemptions(&config);
    let name = profile_name(&config.stack_name);
    if !apply {
        report::print_profile(
            &name,
            &exempt,
            &config.stack_name,
            &profile_body(&config, None),
            None,
            global.output,
        );
        return Ok(exit::OK);
    }
    let api = api_of(&config)?.clone();
    // No organization to list: AWS only for a key kept in a secret.
    let base = crate::aws::identity::load_base_config(&global.aws, config.any_region()).await?;
    let client = client_with(&base, &Default::default(), &api).await?;
    let failed = |e: ApiError| Error::Failed(e.to_string());
    let existing = client
        .profiles()
        .await
        .map_err(failed)?
        .into_iter()
        .find(|(_, n)| *n == name);
    let config = &config;
    let (state, id, body) = match existing {
        None => {
            let id = client
                .create_profile(profile_body(config, None))
                .await
                .map_err(failed)?;
            let body = profile_body(config, Some(&id));
            ("created", id, body)
        }
        Some((id, _)) => {
            let current = profile_rules(&client.profile(&id).await.map_err(failed)?);
            let body = profile_body(config, Some(&id));
            if profile_rules(&body)
                .iter()
                .all(|rule| current.contains(rule))
            {
                ("unchanged", id, body)
            } else {
                client
                    .update_profile(&id, body.clone())
                    .await
                    .map_err(failed)?;
                ("updated", id, body)
            }
        }
    };
    report::print_profile(
        &name,
        &exempt,
        &config.stack_name,
        &body,
        Some((state, &id)),
        global.output,
    );
    Ok(exit::OK)
}

/// `conformity.api`, or the input error that says how to give it.
pub(crate) fn api_of(config: &Config) -> Result<&ConformityApi, Error> {
    config.conformity.api.as_ref().ok_or_else(|| {
        Error::Input(format!(
            "{}: conformity.api is not set: give the API's `region` (e.g. us-west-2) or `url`, and where its key comes from (`api_key_env`, default CONFORMITY_API_KEY, or `api_key_secret`); docs/configuration.md",
            config.path.display()
        ))
    })
}

fn outcome_code(session: &Session, rows: &[Row]) -> i32 {
    if session.stop.interrupted() {
        exit::INTERRUPTED
    } else if rows.iter().any(|r| r.state.is_problem()) {
        exit::FAILED
    } else {
        exit::OK
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Connect,
    DryRun,
    Status,
}

impl Mode {
    fn word(self) -> &'static str {
        match self {
            Mode::Connect => "connect",
            Mode::DryRun => "connect --dry-run",
            Mode::Status => "status",
        }
    }
}

/// The API client with its key: from the environment variable (missing: exit 2, nothing
/// called), or from the secret in the security account.
async fn client(session: &Session, api: &ConformityApi) -> Result<Client, Error> {
    client_with(&session.base, session.identity.retries(), api).await
}

/// [`client`] with the security account's configuration `base`.
async fn client_with(
    base: &aws_config::SdkConfig,
    retries: &crate::aws::retries::RetryCounts,
    api: &ConformityApi,
) -> Result<Client, Error> {
    let text = match &api.key {
        ApiKeySource::Env(name) => std::env::var(name).map_err(|_| {
            Error::Input(format!(
                "the Conformity API key is read from ${name}, which is not set (or conformity.api.api_key_secret names a secret instead)"
            ))
        })?,
        ApiKeySource::Secret(arn) => {
            crate::aws::secrets::read_secret(base, arn, retries)
                .await
                .map_err(Error::Failed)?
        }
    };
    let key = ApiKey::new(&text).ok_or_else(|| {
        Error::Input("the Conformity API key is empty or holds spaces or control characters".into())
    })?;
    Ok(Client::new(&api.base_url, key))
}

/// Conformity's accounts (proving the key), then each target account of `chosen`.
async fn each_account(
    session: &Session,
    client: &Arc<Client>,
    chosen: Vec<(Stage, Vec<Target>)>,
    mode: Mode,
) -> Result<Vec<Row>, Error> {
    let known: HashMap<String, String> = match client.accounts().await {
        Ok(accounts) => accounts
            .into_iter()
            .map(|a| (a.aws_account_id, a.id))
            .collect(),
        Err(e @ ApiError::Unauthorized(_)) => {
            return Err(Error::Failed(format!(
                "{e}: no account was touched (check the key, its region and that it may manage communication settings)"
            )))
        }
        Err(e) => return Err(Error::Failed(format!("{e}: no account was touched"))),
    };
    let known = Arc::new(known);
    let mut rows = Vec::new();
    for (stage, targets) in chosen {
        let progress =
            report::progress(stage.name.as_str(), targets.len(), ProgressKind::Conformity);
        let limits = Limits {
            concurrency: CONCURRENCY.min(stage.concurrency.0).max(1),
            failure_tolerance: usize::MAX,
        };
        // The stage's wants once; each account adds its topic.
        let wants = Arc::new(stage_wanted(&session.config, &stage));
        let stage_name = stage.name.to_string();
        let run = run_each(targets, limits, progress, &session.stop, |target| {
            let (client, known, wants, stage_name) = (
                client.clone(),
                known.clone(),
                wants.clone(),
                stage_name.clone(),
            );
            async move {
                let wanted = match wants.as_ref() {
                    Ok(wants) => wants.for_account(&target.account.id, &target.region),
                    Err(why) => Err(why.clone()),
                };
                let mut row = Row {
                    stage: stage_name,
                    account_id: target.account.id.clone(),
                    account_name: target.account.name.clone(),
                    topic_arn: wanted
                        .as_ref()
                        .map(|w| w.topic_arn.clone())
                        .unwrap_or_default(),
                    conformity_account: None,
                    setting_id: None,
                    state: State::Failed,
                    reason: None,
                };
                let wanted = match wanted {
                    Ok(wanted) => wanted,
                    Err(why) => {
                        row.reason = Some(why);
                        return row;
                    }
                };
                let Some(id) = known.get(&target.account.id) else {
                    row.state = State::NotInConformity;
                    row.reason = Some(
                        "this AWS account is not added to Conformity: add it there, then connect again"
                            .into(),
                    );
                    return row;
                };
                row.conformity_account = Some(id.clone());
                let settings = match client.sns_settings(id).await {
                    Ok(settings) => settings,
                    Err(e) => {
                        row.reason = Some(e.to_string());
                        return row;
                    }
                };
                if let Some(why) = unreadable(&settings, id) {
                    row.reason = Some(why);
                    return row;
                }
                if mode == Mode::Status {
                    let (state, reason) = match link(&settings, id, &wanted) {
                        Link::Connected => (State::Connected, None),
                        Link::Outdated(why) => (
                            State::Outdated,
                            Some(format!("remedy's setting differs ({why}): run `remedy conformity connect`")),
                        ),
                        Link::NotConnected => (
                            State::NotConnected,
                            Some("no SNS setting of remedy's: run `remedy conformity connect`".into()),
                        ),
                    };
                    row.state = state;
                    row.reason = reason;
                    return row;
                }
                let extra = extra_labelled(&settings, id, &wanted);
                match plan(&settings, id, &wanted) {
                    Plan::Unchanged { id } => {
                        row.setting_id = Some(id);
                        row.state = State::Unchanged;
                    }
                    Plan::Create if mode == Mode::DryRun => row.state = State::WouldConnect,
                    Plan::Update { id, was } if mode == Mode::DryRun => {
                        row.setting_id = Some(id);
                        row.state = State::WouldUpdate;
                        row.reason = Some(format!("it has {was}"));
                    }
                    Plan::Create => match client.create_setting(id, &wanted).await {
                        Ok(setting) => {
                            row.setting_id = Some(setting).filter(|s| !s.is_empty());
                            row.state = State::Connected;
                        }
                        Err(e) => row.reason = Some(e.to_string()),
                    },
                    Plan::Update { id, was } => match client.update_setting(&id, &wanted).await {
                        Ok(()) => {
                            row.setting_id = Some(id);
                            row.state = State::Updated;
                            row.reason = Some(format!("it had {was}"));
                        }
                        Err(e) => row.reason = Some(e.to_string()),
                    },
                }
                if extra > 0 {
                    let note = format!(
                        "{extra} more SNS setting(s) labelled `{}`: remedy keeps {}; delete the others in Conformity",
                        wanted.channel_name,
                        row.setting_id.as_deref().unwrap_or("the first")
                    );
                    row.reason = Some(match row.reason.take() {
                        Some(reason) => format!("{reason}; {note}"),
                        None => note,
                    });
                }
                row
            }
        })
        .await;
        let mut results = run.results;
        for row in results.iter_mut().filter(|r| r.stage.is_empty()) {
            row.stage = stage_name.clone();
        }
        rows.extend(results);
        if run.interrupted {
            break;
        }
    }
    Ok(rows)
}

impl Scheduled for Row {
    fn counts_as_failure(&self) -> bool {
        self.state == State::Failed
    }

    fn seen(&self) -> Seen<'_> {
        Seen {
            account_id: &self.account_id,
            region: "",
            // The progress words of `ProgressKind::Conformity`, by bucket.
            outcome: match self.state {
                State::Connected | State::WouldConnect => Outcome::Created,
                State::Updated | State::WouldUpdate | State::Outdated => Outcome::Updated,
                State::Unchanged => Outcome::Unchanged,
                State::Skipped => Outcome::Skipped,
                State::NotConnected | State::NotInConformity | State::Failed => Outcome::Failed,
            },
            word: self.state.as_str(),
            stack_status: None,
            reason: self.reason.as_deref(),
            stack_time: None,
        }
    }

    fn unfinished(target: &Target, outcome: Outcome, reason: String) -> Self {
        Row {
            stage: String::new(),
            account_id: target.account.id.clone(),
            account_name: target.account.name.clone(),
            topic_arn: String::new(),
            conformity_account: None,
            setting_id: None,
            state: match outcome {
                Outcome::Skipped => State::Skipped,
                _ => State::Failed,
            },
            reason: Some(reason),
        }
    }
}
