//! GuardDuty rules: a detector enabled in the region, and GuardDuty findings sent to the
//! notification topics.

use crate::catalog::{Mode, RiskLevel, RuleSpec, Scope};

pub static RULES: &[RuleSpec] = &[
    // Create the region's detector, or re-enable it. The first detector of an account
    // creates GuardDuty's service-linked role.
    RuleSpec {
        id: "GD-001",
        title: "GuardDuty Enabled",
        service: "GuardDuty",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[Scope {
            actions: &["iam:CreateServiceLinkedRole"],
            resource: "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/guardduty.amazonaws.com/*",
            condition: &[("StringEquals", "iam:AWSServiceName", "guardduty.amazonaws.com")],
        }],
        settings: &[],
        iam_actions: &[
            "guardduty:ListDetectors",
            "guardduty:GetDetector",
            "guardduty:CreateDetector",
            "guardduty:UpdateDetector",
            "iam:CreateServiceLinkedRole",
        ],
        fix: |ctx| Box::pin(enable_detector(ctx)),
    },
    // Read the finding's details; the orchestrator publishes them to the notification
    // topics. Nothing is changed.
    RuleSpec {
        id: "GD-002",
        title: "GuardDuty Findings",
        service: "GuardDuty",
        risk: RiskLevel::Medium,
        default_mode: Mode::Notify,
        scoped: &[],
        settings: &[],
        iam_actions: &["guardduty:ListDetectors", "guardduty:GetFindings"],
        fix: |_| Box::pin(notify_only()),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. GD-001 is about the region (a region has at most one detector);
// GD-002's findings are routed by the orchestrator, not fixed.

use crate::rule::{Context, Report, RuleError};
use aws_sdk_guardduty::types::DetectorStatus;
use aws_sdk_guardduty::Client;

/// GD-002: nothing to change; the orchestrator sends the findings to the topics.
async fn notify_only() -> Result<Report, RuleError> {
    Ok(Report::skipped(
        "GD-002 is a notify rule: the orchestrator sends GuardDuty findings to the notification \
         topics; there is nothing for this function to change",
    ))
}

/// GD-001.
async fn enable_detector(ctx: &Context) -> Result<Report, RuleError> {
    let guardduty = Client::new(&ctx.aws);
    let region = &ctx.region;
    let detectors = guardduty
        .list_detectors()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| RuleError::aws("ListDetectors", &e))?;
    let Some(detector_id) = detectors.first() else {
        return ctx
            .fix(
                vec![format!(
                    "created and enabled a GuardDuty detector in {region}"
                )],
                async {
                    let out = guardduty
                        .create_detector()
                        .enable(true)
                        .send()
                        .await
                        .map_err(|e| RuleError::aws("CreateDetector", &e))?;
                    crate::rule::changed(
                        "guardduty:CreateDetector",
                        out.detector_id()
                            .map(str::to_owned)
                            .unwrap_or_else(|| format!("{}/{region}", ctx.account_id)),
                    );
                    Ok(())
                },
            )
            .await;
    };
    let detector = guardduty
        .get_detector()
        .detector_id(detector_id)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetDetector", &e))?;
    if detector.status() == Some(&DetectorStatus::Enabled) {
        return Ok(Report::compliant(format!(
            "GuardDuty detector {detector_id} is enabled in {region}"
        )));
    }
    ctx.fix(
        vec![format!(
            "enabled GuardDuty detector {detector_id} in {region}"
        )],
        async {
            guardduty
                .update_detector()
                .detector_id(detector_id)
                .enable(true)
                .send()
                .await
                .map_err(|e| RuleError::aws("UpdateDetector", &e))?;
            crate::rule::changed("guardduty:UpdateDetector", detector_id.as_str());
            Ok(())
        },
    )
    .await
}
