//! EBS rules: publicly shared snapshots (made private) and the region's EBS encryption by
//! default.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Remove the `all` group from the snapshot's create-volume permission (tags come with
    // `DescribeSnapshots`).
    RuleSpec {
        id: "EBS-009",
        title: "EBS Public Snapshots",
        service: "EBS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:DescribeSnapshots",
            "ec2:DescribeSnapshotAttribute",
            "ec2:ModifySnapshotAttribute",
        ],
        fix: |ctx| {
            Box::pin(with_client(ctx, Client::new, async |ctx, ec2| {
                make_snapshot_private(ctx, ec2, ctx.resource()?).await
            }))
        },
    },
    // Turn EBS encryption by default on for the region (an account setting, no tags).
    RuleSpec {
        id: "EBS-014",
        title: "EBS Encryption By Default",
        service: "EBS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "ec2:GetEbsEncryptionByDefault",
            "ec2:EnableEbsEncryptionByDefault",
        ],
        fix: |ctx| Box::pin(with_client(ctx, Client::new, enable_encryption_by_default)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. EBS-009's `resource` is the snapshot id; EBS-014 is about the finding's
// account and region and needs no resource.

use crate::rule::{with_client, Context, Report, RuleError};
use crate::rules::ec2::is_managed;
use aws_sdk_ec2::types::{
    CreateVolumePermission, OperationType, PermissionGroup, SnapshotAttributeName,
};
use aws_sdk_ec2::Client;

/// Whether a snapshot's create-volume permissions include the public `all` group.
pub fn is_public(permissions: &[CreateVolumePermission]) -> bool {
    permissions
        .iter()
        .any(|p| p.group() == Some(&PermissionGroup::All))
}

/// EBS-009: remove the `all` group from the snapshot's create-volume permission.
async fn make_snapshot_private(
    ctx: &Context,
    ec2: &Client,
    snapshot_id: &str,
) -> Result<Report, RuleError> {
    let out = ec2
        .describe_snapshots()
        .snapshot_ids(snapshot_id)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeSnapshots", &e))?;
    let snapshot = out
        .snapshots()
        .first()
        .ok_or_else(|| RuleError::new(format!("snapshot {snapshot_id} not found")))?;
    if is_managed(ctx, snapshot.tags()) {
        return Ok(Report::managed(snapshot_id));
    }
    let attribute = ec2
        .describe_snapshot_attribute()
        .snapshot_id(snapshot_id)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeSnapshotAttribute", &e))?;
    if !is_public(attribute.create_volume_permissions()) {
        return Ok(Report::compliant(format!(
            "snapshot {snapshot_id} is not public"
        )));
    }
    let action =
        format!("removed the public (`all`) create-volume permission from snapshot {snapshot_id}");
    ctx.fix(vec![action], async {
        // The operation-type form (AWS's own example for this call) is also the one the
        // emulator understands.
        ec2.modify_snapshot_attribute()
            .snapshot_id(snapshot_id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .operation_type(OperationType::Remove)
            .group_names("all")
            .send()
            .await
            .map_err(|e| RuleError::aws("ModifySnapshotAttribute", &e))?;
        crate::rule::changed("ec2:ModifySnapshotAttribute", snapshot_id);
        Ok(())
    })
    .await
}

/// EBS-014: turn EBS encryption by default on (with the default key) for the region.
async fn enable_encryption_by_default(ctx: &Context, ec2: &Client) -> Result<Report, RuleError> {
    let current = ec2
        .get_ebs_encryption_by_default()
        .send()
        .await
        .map_err(|e| RuleError::aws("GetEbsEncryptionByDefault", &e))?;
    let place = format!("account {} in {}", ctx.account_id, ctx.region);
    if current.ebs_encryption_by_default() == Some(true) {
        return Ok(Report::compliant(format!(
            "EBS encryption by default is on for {place}"
        )));
    }
    ctx.fix(
        vec![format!("turned on EBS encryption by default for {place}")],
        async {
            let out = ec2
                .enable_ebs_encryption_by_default()
                .send()
                .await
                .map_err(|e| RuleError::aws("EnableEbsEncryptionByDefault", &e))?;
            crate::rule::changed(
                "ec2:EnableEbsEncryptionByDefault",
                format!("{}/{}", ctx.account_id, ctx.region),
            );
            if out.ebs_encryption_by_default() == Some(false) {
                return Err(RuleError::new(format!(
                    "EBS encryption by default is still off for {place}"
                )));
            }
            Ok(())
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_all_group_makes_a_snapshot_public() {
        let all = CreateVolumePermission::builder()
            .group(PermissionGroup::All)
            .build();
        let account = CreateVolumePermission::builder()
            .user_id("111111111111")
            .build();
        assert!(is_public(&[account.clone(), all]));
        assert!(!is_public(&[account]));
        assert!(!is_public(&[]));
    }
}
