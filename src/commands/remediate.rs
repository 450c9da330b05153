//! `remedy remediate --event FILE [--account ID] [--dry-run]`: one Conformity finding through
//! the embedded runtime, in this process, against the account it names.
//!
//! The same code as in Lambda: the finding is read and checked (rejected → exit 2), the
//! orchestrator's decision is taken with the configured modes, and the rule's fix runs with
//! the account's assumed role (`role.name`, ExternalId) when `--account` is given, else with
//! the caller's own credentials. The rule acts in the finding's region, as the deployed
//! rule functions do (`remedy_functions::runtime::context`): `global` → the global region of
//! the home region's partition; no region → the home region; another partition's region →
//! rejected. The home region is where the account's stack lives: `home_region`, else the first
//! of `regions` (the file's, else a stage's), else the environment's. Remedy's own stack there (`stack_name`) is read first, so that its
//! resources are left alone exactly as the deployed functions leave them.
//! Exit 0 for remediated/compliant/dry_run/skipped/unsupported, 1 failed, 2 rejected or
//! unreadable. Output: the README's `{"rule_id", "outcome", "actions", "reason"}`, and
//! `reason_code` when the finding was not remediated (`dry_run`, `notify`, `unsupported`,
//! `outside_regions`, `rejected:malformed`, …, as the orchestrator logs them). A rule's
//! `grace` does not apply here: asked for by hand, the finding is acted on at once; nor do
//! its rate limit and circuit breaker (`max_per_hour`, `max_failures_per_hour`): a fix by
//! hand is neither held back nor counted.

use super::AwsSelection;
use super::Global;
use crate::aws::identity::{self, Identity};
use crate::core::config::{is_account_id, Config};
use crate::core::error::{exit, Error};
use crate::report::{print_remediation as show, OutputFormat};
use remedy_functions::catalog::Mode;
use remedy_functions::dispatch::{decide, Decision, Place, ReasonCode, RuntimeConfig};
use remedy_functions::finding::{self, Message};
use remedy_functions::rule::{Outcome, Report};
use std::path::Path;

// The flags of `remedy remediate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A file holding one Conformity finding (the SNS message's JSON).
    #[arg(long, value_name = "FILE")]
    pub event: std::path::PathBuf,
    /// Act in this member account, through `role.name` there [default: the credentials' own
    /// account].
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Decide and report, change nothing, whatever the rule's configured mode.
    #[arg(long)]
    pub dry_run: bool,
    /// Use this stage's modes (the top-level `rules` overlaid by its own) and look for the
    /// stack in its home region first [default: the top-level `rules`].
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = super::load_config(&global.config)?;
    let stage = args.stage.as_deref().map(|s| config.stage(s)).transpose()?;
    remediate(
        &config,
        stage,
        &args.event,
        args.account.as_deref(),
        args.dry_run,
        global.output,
        &global.aws,
    )
    .await
}

pub async fn remediate(
    config: &Config,
    stage: Option<&crate::core::config::Stage>,
    event: &Path,
    account: Option<&str>,
    force_dry_run: bool,
    output: OutputFormat,
    aws: &AwsSelection,
) -> Result<i32, Error> {
    if let Some(id) = account.filter(|id| !is_account_id(id)) {
        return Err(Error::Input(format!(
            "--account {id}: not a 12-digit AWS account id"
        )));
    }
    let bytes =
        std::fs::read(event).map_err(|e| Error::Input(format!("{}: {e}", event.display())))?;
    let message = match finding::parse(&bytes) {
        Ok(message) => message,
        Err(rejection) => {
            let report = Report::rejected(rejection.0);
            show(None, &report, Some(ReasonCode::Malformed), output);
            return Ok(exit::INVALID_INPUT);
        }
    };
    let Message::Finding(finding) = &message else {
        show(
            None,
            &Report::skipped("Conformity test message: nothing to remediate"),
            Some(ReasonCode::TestMessage),
            output,
        );
        return Ok(exit::OK);
    };
    let rule_id = finding.rule_id.clone();

    let Some(spec) = remedy_functions::catalog::find_rule(&rule_id) else {
        let report = Report {
            outcome: Outcome::Unsupported,
            actions: Vec::new(),
            reason: Some(format!("{rule_id} is not in remedy's catalog")),
            removed: Vec::new(),
            changes: Vec::new(),
        };
        show(
            Some(&rule_id),
            &report,
            Some(ReasonCode::Unsupported),
            output,
        );
        return Ok(exit::OK);
    };
    let Some(enabled) = config
        .stage_rules(stage)
        .into_iter()
        .find(|r| r.spec.id == rule_id)
    else {
        let report = Report::skipped(format!(
            "{rule_id} is not enabled in {}",
            config.path.display()
        ));
        show(
            Some(&rule_id),
            &report,
            Some(ReasonCode::NotEnabled),
            output,
        );
        return Ok(exit::OK);
    };

    // Where the stack lives (its home region), and where to act: the finding's region, in
    // the named account (or our own).
    let base = identity::load_base_config(aws, config.any_region()).await?;
    let home = config
        .any_region()
        .map(str::to_owned)
        .or_else(|| base.region().map(|r| r.to_string()))
        .unwrap_or_else(|| identity::FALLBACK_REGION.to_owned());
    // The account's stack is in its stage's home region, which this command does not know
    // (it makes no Organizations call): every stage's home region is looked in, in order.
    let mut homes: Vec<String> = stage
        .and_then(|s| config.placement(s, base.region().map(|r| r.as_ref())))
        .map(|p| p.home)
        .into_iter()
        .collect();
    if !homes.contains(&home) {
        homes.push(home.clone());
    }
    for stage in &config.stages {
        if let Some(placement) = config.placement(stage, base.region().map(|r| r.as_ref())) {
            if !homes.contains(&placement.home) {
                homes.push(placement.home);
            }
        }
    }
    let region = match remedy_functions::runtime::acting_region(finding.region.as_deref(), &home) {
        Ok(region) => region,
        Err(reason) => {
            let report = Report::rejected(reason);
            show(
                Some(&rule_id),
                &report,
                Some(ReasonCode::OutsideRegions),
                output,
            );
            return Ok(exit::INVALID_INPUT);
        }
    };
    let (aws, account_id) = match account {
        Some(id) => {
            let identity = Identity::new(
                base,
                &config.role.name,
                config.role.external_id.as_deref(),
                &identity::new_run_id(),
            );
            (identity.account_config(id, &home).await, id.to_owned())
        }
        None => {
            let counts = crate::aws::retries::RetryCounts::default();
            let me = crate::aws::artifacts::caller_account(&base, &counts).await?;
            (
                base.to_builder()
                    .region(aws_config::Region::new(home.clone()))
                    .build(),
                me,
            )
        }
    };

    // Asked for by hand: the finding's region is covered whatever the deployment covers.
    let runtime = RuntimeConfig {
        rules: [(rule_id.clone(), enabled.mode)].into_iter().collect(),
        routes: Vec::new(),
        regions: vec![home.clone(), region],
    };
    let place = Place {
        account_id: account_id.clone(),
        region: home,
    };
    let decision = decide(&message, &runtime, &place);
    if matches!(decision, Decision::Act { .. }) {
        // The file's exceptions, as the orchestrator applies them (tags read in the
        // account). Those an OU scopes cannot be resolved here (no Organizations call): one
        // that matches otherwise holds the fix back, as it may apply to this account.
        let (exceptions, by_ou) = crate::core::exceptions::for_local(config, super::today());
        let today = super::today();
        let matched = match remedy_functions::orchestrator::matching_exception(
            &exceptions,
            Some(&aws),
            finding,
            &place,
            today,
        )
        .await
        {
            Ok(Some(exception)) => Ok(Some((exception, false))),
            Ok(None) => remedy_functions::orchestrator::matching_exception(
                &by_ou,
                Some(&aws),
                finding,
                &place,
                today,
            )
            .await
            .map(|e| e.map(|e| (e, true))),
            Err(reason) => Err(reason),
        };
        match matched {
            Ok(Some((exception, by_ou))) => {
                let report = Report::skipped(if by_ou {
                    format!(
                        "exception {} (until {}) is scoped by OU, which remedy remediate does not resolve: it may apply to this account, so nothing was changed",
                        exception.id, exception.expires
                    )
                } else {
                    format!(
                        "exception {} (until {}): not remediated",
                        exception.id, exception.expires
                    )
                });
                show(
                    Some(&rule_id),
                    &report,
                    Some(ReasonCode::Exception(exception.id.clone())),
                    output,
                );
                return Ok(exit::OK);
            }
            Ok(None) => {}
            Err(reason) => {
                let report = Report::failed(format!(
                    "whether an exception applies is unknown, so nothing was changed: {reason}"
                ));
                show(Some(&rule_id), &report, None, output);
                return Ok(exit::FAILED);
            }
        }
    }
    let (report, code) = match decision {
        Decision::Reject { code, reason } => {
            let report = Report::rejected(reason);
            show(Some(&rule_id), &report, Some(code), output);
            return Ok(exit::INVALID_INPUT);
        }
        Decision::Skip { code, reason } => (Report::skipped(reason), Some(code)),
        Decision::Act {
            mode: Mode::Notify, ..
        } => (
            Report::skipped(
                "notify mode: the orchestrator sends it to the notification topics; nothing to fix",
            ),
            Some(ReasonCode::NotifyMode),
        ),
        Decision::Act { mode, .. } => {
            // Remedy's own stack in that account's home region: its resources are left
            // alone, as the deployed functions leave them (they get REMEDY_STACK_ID).
            let mut stack = None;
            for region in &homes {
                let cfn = aws_sdk_cloudformation::Client::new(
                    &aws.to_builder()
                        .region(aws_config::Region::new(region.clone()))
                        .build(),
                );
                match crate::aws::cfn::describe(&cfn, &config.stack_name).await {
                    Ok(state) => {
                        stack = state
                            .and_then(|s| s.stack_id)
                            .as_deref()
                            .and_then(remedy_functions::rule::OwnStack::from_id)
                            .map(std::sync::Arc::new);
                    }
                    Err(e) => {
                        // Without it remedy's own resources could not be told apart: act on none.
                        let report = Report::failed(format!(
                            "cannot read remedy's stack {} in {region} to leave its resources alone: {e}",
                            config.stack_name
                        ));
                        show(Some(&rule_id), &report, None, output);
                        return Ok(exit::FAILED);
                    }
                }
                if stack.is_some() {
                    break;
                }
            }
            match remedy_functions::runtime::context(
                spec,
                (**finding).clone(),
                enabled.settings.clone(),
                force_dry_run || mode == Mode::DryRun,
                &aws,
                account_id,
            ) {
                Ok(ctx) => {
                    let report = remedy_functions::runtime::run_rule_for(&ctx, stack).await;
                    let code = remedy_functions::orchestrator::reason_code_of(report.outcome);
                    (report, code)
                }
                // Checked above already (acting_region): the same answer.
                Err(reason) => {
                    let report = Report::rejected(reason);
                    show(
                        Some(&rule_id),
                        &report,
                        Some(ReasonCode::OutsideRegions),
                        output,
                    );
                    return Ok(exit::INVALID_INPUT);
                }
            }
        }
    };
    show(Some(&rule_id), &report, code, output);
    Ok(if report.outcome == Outcome::Failed {
        exit::FAILED
    } else {
        exit::OK
    })
}
