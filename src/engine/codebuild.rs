//! The codebuild engine (AWS edge): each member account deploys itself. Per target it
//! assumes the account's role, looks at the stack once (a stack with this deployment's
//! `remedy:hash` is `unchanged`, no build), then starts the account's own CodeBuild project
//! (`stacks/account-bootstrap.yaml` installs it), in the stage's home region (the target's),
//! with the stage, the region, the published
//! package and configuration and the expected hash as environment overrides, and polls the
//! build with backoff. Inside, the build runs `remedy deploy --in-account`.
//!
//! A build that does not succeed is a failed target, with its status, the phase that
//! failed (and CodeBuild's message for it) and the link to its logs.
//!
//! Must not: decide which targets exist or in what order they run ([`crate::engine::scheduler`]).

use crate::aws::cfn::{self, Backoff};
use crate::aws::identity::{cloudformation_client, Identity};
use crate::aws::reason;
use crate::core::decide::{decide, Action};
use crate::core::outcome::{Outcome, TargetResult};
use crate::core::targets::Target;
use crate::core::util::humanize;
use crate::engine::deployment::{Deployment, EngineOptions};
use aws_sdk_codebuild::types::{Build, EnvironmentVariable, EnvironmentVariableType, StatusType};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The CodeBuild project each member account runs, and what it reads from the security account.
#[derive(Debug, Clone)]
pub struct BuildProject {
    /// The project in each member account.
    pub project: String,
    pub stage: String,
    /// The security account holding the artifact buckets.
    pub artifact_account: String,
    pub package_key: String,
    pub config_key: String,
}

/// Everything the codebuild engine needs for a stage; shared by every target. Built by
/// [`CodeBuildEngine::new`].
pub struct CodeBuildEngine {
    identity: Arc<Identity>,
    stack_name: String,
    project: String,
    stage: String,
    artifact_account: String,
    package_key: String,
    config_key: String,
    /// The stack name, and each account's hash and exceptions.
    deployment: Deployment,
    target_timeout: Duration,
    /// Passed on to the build: continue an `UPDATE_ROLLBACK_FAILED` stack's rollback.
    fix_rollback: bool,
}

type Failure = (Option<String>, String);

impl CodeBuildEngine {
    /// The engine that has each account's `build` deploy `deployment` (its stack name and
    /// hash; the build renders the rest from the published configuration).
    pub fn new(
        identity: Arc<Identity>,
        deployment: Deployment,
        build: BuildProject,
        options: EngineOptions,
    ) -> CodeBuildEngine {
        CodeBuildEngine {
            identity,
            stack_name: deployment.stack_name.clone(),
            project: build.project,
            stage: build.stage,
            artifact_account: build.artifact_account,
            package_key: build.package_key,
            config_key: build.config_key,
            deployment,
            target_timeout: options.target_timeout,
            fix_rollback: options.fix_rollback,
        }
    }

    pub async fn deploy(self: Arc<Self>, target: Target) -> TargetResult {
        match self.try_deploy(&target).await {
            Ok((outcome, status)) => TargetResult::new(&target, outcome, status, None),
            Err((status, reason)) => {
                TargetResult::new(&target, Outcome::Failed, status, Some(reason))
            }
        }
    }

    /// The environment overrides a build gets: what `remedy deploy --in-account` reads.
    pub(crate) fn environment(&self, target: &Target) -> Vec<(&'static str, String)> {
        let region = target.region.as_str();
        let part = self.deployment.part(&target.account.id);
        let mut environment = vec![
            ("REMEDY_STAGE", self.stage.clone()),
            ("REMEDY_REGION", region.to_owned()),
            ("REMEDY_ARTIFACT_ACCOUNT", self.artifact_account.clone()),
            ("REMEDY_PACKAGE_KEY", self.package_key.clone()),
            ("REMEDY_CONFIG_KEY", self.config_key.clone()),
            ("REMEDY_EXPECTED_HASH", part.hash.to_owned()),
            ("REMEDY_FIX_ROLLBACK", self.fix_rollback.to_string()),
            // The build's own waits end before ours does.
            (
                "REMEDY_TARGET_TIMEOUT",
                format!("{}s", (self.target_timeout.as_secs() * 9 / 10).max(60)),
            ),
        ];
        // The account's exceptions, resolved here where the organization is known (the
        // build cannot list it): `deploy --in-account` deploys them as given.
        if let Some(exceptions) = part.exceptions {
            environment.push((remedy_functions::exceptions::ENV, exceptions.to_owned()));
        }
        environment
    }

    async fn try_deploy(&self, target: &Target) -> Result<(Outcome, Option<String>), Failure> {
        let deadline = Instant::now() + self.target_timeout;
        let account = &target.account.id;
        let cfn_client = cloudformation_client(
            &self.identity.account_config(account, &target.region).await,
            &target.region,
            self.identity.retries(),
        );
        let before = cfn::describe(&cfn_client, &self.stack_name)
            .await
            .map_err(|e| (None, e.to_string()))?;
        let status = before.as_ref().map(|s| s.status.to_string());
        if decide(before.as_ref(), self.deployment.part(account).hash, false) == Action::Unchanged {
            return Ok((Outcome::Unchanged, status));
        }

        // The project lives where the stack does: the stage's home region.
        let config = self.identity.account_config(account, &target.region).await;
        let client = crate::aws::identity::codebuild_client(&config, self.identity.retries());
        let overrides = self
            .environment(target)
            .into_iter()
            .map(|(name, value)| {
                EnvironmentVariable::builder()
                    .name(name)
                    .value(value)
                    .r#type(EnvironmentVariableType::Plaintext)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| (status.clone(), format!("StartBuild: {e}")))?;
        let started = client
            .start_build()
            .project_name(&self.project)
            .set_environment_variables_override(Some(overrides))
            .send()
            .await
            .map_err(|e| {
                (
                    status.clone(),
                    format!("StartBuild {}: {}", self.project, reason("StartBuild", &e)),
                )
            })?;
        let id = started
            .build_value()
            .and_then(|b| b.id())
            .ok_or_else(|| (status.clone(), "StartBuild returned no build id".to_owned()))?
            .to_owned();

        let mut delay = Backoff::new();
        loop {
            let out = client
                .batch_get_builds()
                .ids(&id)
                .send()
                .await
                .map_err(|e| {
                    (
                        status.clone(),
                        format!("BatchGetBuilds: {}", reason("BatchGetBuilds", &e)),
                    )
                })?;
            let Some(build) = out.builds().first() else {
                return Err((status, format!("build {id} is not known to CodeBuild")));
            };
            match build.build_status() {
                Some(StatusType::Succeeded) => break,
                Some(StatusType::InProgress) | None => {
                    if Instant::now() >= deadline {
                        // Stopped, so that it cannot deploy after we reported it, nor run
                        // beside the next attempt.
                        let stopped = client.stop_build().id(&id).send().await;
                        let what = match stopped {
                            Ok(_) => "stopped".to_owned(),
                            Err(e) => format!("StopBuild failed: {}", reason("StopBuild", &e)),
                        };
                        return Err((
                            status,
                            format!(
                                "build {id} still IN_PROGRESS after the target timeout ({}), {what}{}",
                                humanize(self.target_timeout),
                                logs(build)
                            ),
                        ));
                    }
                    delay.sleep().await;
                }
                Some(_) => return Err((status, build_failure(build))),
            }
        }

        let after = cfn::describe(&cfn_client, &self.stack_name)
            .await
            .ok()
            .flatten();
        let outcome = if before.is_none() {
            Outcome::Created
        } else {
            Outcome::Updated
        };
        Ok((outcome, after.map(|s| s.status.to_string()).or(status)))
    }
}

/// "build remedy-deploy:1f… STOPPED in phase BUILD (COMMAND_EXECUTION_ERROR: …); logs: <link>"
pub(crate) fn build_failure(build: &Build) -> String {
    let id = build.id().unwrap_or("?");
    let status = build.build_status().map(|s| s.as_str()).unwrap_or("?");
    let failed = build.phases().iter().find(|p| {
        p.phase_status()
            .is_some_and(|s| !matches!(s, StatusType::Succeeded | StatusType::InProgress))
    });
    let phase = match failed {
        Some(p) => {
            let name = p.phase_type().map(|t| t.as_str()).unwrap_or("?");
            let context: Vec<String> = p
                .contexts()
                .iter()
                .filter_map(|c| match (c.status_code(), c.message()) {
                    (Some(code), Some(msg)) if !msg.is_empty() => Some(format!("{code}: {msg}")),
                    (Some(code), _) => Some(code.to_owned()),
                    (None, Some(msg)) => Some(msg.to_owned()),
                    (None, None) => None,
                })
                .collect();
            if context.is_empty() {
                format!(" in phase {name}")
            } else {
                format!(" in phase {name} ({})", context.join("; "))
            }
        }
        None => build
            .current_phase()
            .map(|p| format!(" in phase {p}"))
            .unwrap_or_default(),
    };
    format!("build {id} {status}{phase}{}", logs(build))
}

fn logs(build: &Build) -> String {
    build
        .logs()
        .and_then(|l| l.deep_link())
        .map(|link| format!("; logs: {link}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codebuild::types::{
        BuildPhase, BuildPhaseType, LogsLocation, PhaseContext, StatusType,
    };

    #[test]
    fn a_failed_build_names_its_phase_message_and_logs() {
        let build = Build::builder()
            .id("remedy-deploy:1234")
            .build_status(StatusType::Stopped)
            .current_phase("COMPLETED")
            .phases(
                BuildPhase::builder()
                    .phase_type(BuildPhaseType::Install)
                    .phase_status(StatusType::Succeeded)
                    .build(),
            )
            .phases(
                BuildPhase::builder()
                    .phase_type(BuildPhaseType::Build)
                    .phase_status(StatusType::Stopped)
                    .contexts(
                        PhaseContext::builder()
                            .status_code("BUILD_STOPPED")
                            .message("Build was stopped by a user")
                            .build(),
                    )
                    .build(),
            )
            .logs(
                LogsLocation::builder()
                    .deep_link("https://console/logs/1234")
                    .build(),
            )
            .build();
        assert_eq!(
            build_failure(&build),
            "build remedy-deploy:1234 STOPPED in phase BUILD (BUILD_STOPPED: Build was stopped by a user); logs: https://console/logs/1234"
        );
    }
}
