//! The direct engine: deploys the member stack into one account and region from here,
//! with the account's assumed role (AWS edge).
//!
//! Per target: DescribeStacks; a settled stack with the same `remedy:hash` is `unchanged`
//! after that one call (plus the AssumeRole, once per account). Otherwise a change set
//! creates or updates the stack, and we wait for it to settle. A stack another run is
//! deploying is waited for, then decided again. Failures carry the API error or the first
//! failed resource's reason.
//!
//! Must not: decide which targets exist or in what order they run ([`crate::runner`]).

use crate::cfn::{self, StackRequest, TemplateSource};
use crate::identity::{cloudformation_client, Identity};
use crate::plan::{decide, Action};
use crate::runner::{Outcome, Target, TargetResult};
use aws_sdk_cloudformation::types::ChangeSetType;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one target may take, waits included.
pub const TARGET_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Everything the direct engine needs for a stage; shared by every target.
pub struct DirectEngine {
    pub identity: Arc<Identity>,
    pub stack_name: String,
    /// The template per region (inline body, or the URL of the uploaded one).
    pub templates: BTreeMap<String, TemplateSource>,
    pub parameters: Vec<(String, String)>,
    /// Stack tags, `remedy:hash` among them.
    pub tags: Vec<(String, String)>,
    pub hash: String,
    pub change_set_name: String,
}

impl DirectEngine {
    pub async fn deploy(self: Arc<Self>, target: Target) -> TargetResult {
        match self.try_deploy(&target).await {
            Ok((outcome, status)) => TargetResult::new(&target, outcome, Some(status), None),
            Err((status, reason)) => {
                TargetResult::new(&target, Outcome::Failed, status, Some(reason))
            }
        }
    }

    async fn try_deploy(
        &self,
        target: &Target,
    ) -> Result<(Outcome, String), (Option<String>, String)> {
        let deadline = Instant::now() + TARGET_TIMEOUT;
        let config = self
            .identity
            .account_config(&target.account.id, &target.region)
            .await;
        let client = cloudformation_client(&config, &target.region);
        let template = self.templates.get(&target.region).ok_or((
            None,
            format!("no template was published for {}", target.region),
        ))?;

        let mut existing = cfn::describe(&client, &self.stack_name)
            .await
            .map_err(|r| (None, r))?;
        let mut action = decide(existing.as_ref(), &self.hash);
        if action == Action::Wait {
            // Another run (or a CloudFormation operation) holds the stack: wait, then decide again.
            let settled = cfn::wait_until_settled(&client, &self.stack_name, deadline)
                .await
                .map_err(|r| (existing.as_ref().map(|s| s.status.clone()), r))?;
            action = decide(Some(&settled), &self.hash);
            existing = Some(settled);
        }
        let current_status = existing.as_ref().map(|s| s.status.clone());
        let (kind, outcome) = match action {
            Action::Unchanged => {
                return Ok((Outcome::Unchanged, current_status.unwrap_or_default()))
            }
            Action::Create => (ChangeSetType::Create, Outcome::Created),
            Action::Update => (ChangeSetType::Update, Outcome::Updated),
            Action::Wait => return Err((current_status, "the stack is still busy".into())),
            Action::Refuse(reason) => return Err((current_status, reason)),
        };

        let request = StackRequest {
            stack_name: &self.stack_name,
            template,
            parameters: &self.parameters,
            tags: &self.tags,
            change_set_name: &self.change_set_name,
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let state = match cfn::apply_change_set(&client, &request, kind, remaining).await {
            Ok(state) => state,
            Err(reason) => {
                // The stack may exist now (e.g. REVIEW_IN_PROGRESS); report its status if we can.
                let status = cfn::describe(&client, &self.stack_name)
                    .await
                    .ok()
                    .flatten()
                    .map(|s| s.status);
                return Err((status, reason));
            }
        };
        match state.status.as_str() {
            "CREATE_COMPLETE" | "UPDATE_COMPLETE" => Ok((outcome, state.status)),
            status => {
                let cause = cfn::first_failure(&client, &self.stack_name)
                    .await
                    .or(state.status_reason.clone())
                    .unwrap_or_else(|| "no reason given".into());
                Err((
                    Some(status.to_owned()),
                    format!("stack ended {status}: {cause}"),
                ))
            }
        }
    }
}
