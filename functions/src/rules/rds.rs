//! RDS rules: DB instance settings (auto minor version upgrade, public accessibility,
//! deletion protection) and publicly shared DB snapshots.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Turn auto minor version upgrade on (the instance's tags come with
    // `DescribeDBInstances`).
    RuleSpec {
        id: "RDS-006",
        title: "RDS Auto Minor Version Upgrade",
        service: "RDS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
        fix: |ctx| Box::pin(fix_setting(ctx, &AUTO_MINOR_VERSION_UPGRADE)),
    },
    // Make the instance not publicly accessible.
    RuleSpec {
        id: "RDS-008",
        title: "RDS Publicly Accessible",
        service: "RDS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
        fix: |ctx| Box::pin(fix_setting(ctx, &NOT_PUBLIC)),
    },
    // Remove `all` from the snapshot's `restore` attribute (the snapshot's tags come with
    // `DescribeDBSnapshots`).
    RuleSpec {
        id: "RDS-023",
        title: "RDS Public Snapshots",
        service: "RDS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "rds:DescribeDBSnapshots",
            "rds:DescribeDBSnapshotAttributes",
            "rds:ModifyDBSnapshotAttribute",
        ],
        fix: |ctx| Box::pin(on_resource(ctx, Client::new, unshare_snapshot)),
    },
    // Turn deletion protection on.
    RuleSpec {
        id: "RDS-031",
        title: "RDS Instance Deletion Protection",
        service: "RDS",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
        fix: |ctx| Box::pin(fix_setting(ctx, &DELETION_PROTECTION)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the DB instance id (RDS-006, -008, -031) or
// the DB snapshot id (RDS-023). Instances are modified without `ApplyImmediately`: these
// three settings take effect without it, and setting it would also apply whatever other
// changes are pending for the maintenance window.

use crate::rule::{on_resource, Context, Report, RuleError};
use aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder;
use aws_sdk_rds::types::{DbInstance, Tag};
use aws_sdk_rds::Client;

/// RDS-006, RDS-008, RDS-031: the finding's instance with `setting` as wanted
/// ([`fix_instance`]).
async fn fix_setting(ctx: &Context, setting: &InstanceSetting) -> Result<Report, RuleError> {
    on_resource(ctx, Client::new, async |ctx, rds, id| {
        fix_instance(ctx, rds, id, setting).await
    })
    .await
}

/// Whether the tags say remedy's own stack made the resource (CloudFormation's reserved tags).
fn is_managed(ctx: &Context, tags: &[Tag]) -> bool {
    ctx.owns_tagged(
        tags.iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    )
}

/// One boolean instance setting a rule wants.
struct InstanceSetting {
    /// What the setting is called in reports.
    name: &'static str,
    /// The value the rule wants.
    wanted: bool,
    current: fn(&DbInstance) -> Option<bool>,
    set: fn(ModifyDBInstanceFluentBuilder, bool) -> ModifyDBInstanceFluentBuilder,
    /// Why an Aurora cluster member cannot take it, if it cannot.
    not_for_cluster_members: Option<&'static str>,
}

static AUTO_MINOR_VERSION_UPGRADE: InstanceSetting = InstanceSetting {
    name: "auto minor version upgrade",
    wanted: true,
    current: DbInstance::auto_minor_version_upgrade,
    set: ModifyDBInstanceFluentBuilder::auto_minor_version_upgrade,
    not_for_cluster_members: None,
};

static NOT_PUBLIC: InstanceSetting = InstanceSetting {
    name: "public accessibility",
    wanted: false,
    current: DbInstance::publicly_accessible,
    set: ModifyDBInstanceFluentBuilder::publicly_accessible,
    not_for_cluster_members: None,
};

static DELETION_PROTECTION: InstanceSetting = InstanceSetting {
    name: "deletion protection",
    wanted: true,
    current: DbInstance::deletion_protection,
    set: ModifyDBInstanceFluentBuilder::deletion_protection,
    not_for_cluster_members: Some(
        "deletion protection of an Aurora instance is its cluster's setting",
    ),
};

fn on_off(value: bool) -> &'static str {
    if value {
        "on"
    } else {
        "off"
    }
}

/// RDS-006, RDS-008, RDS-031: one ModifyDBInstance when the setting is not as wanted.
async fn fix_instance(
    ctx: &Context,
    rds: &Client,
    id: &str,
    setting: &InstanceSetting,
) -> Result<Report, RuleError> {
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeDBInstances", &e))?;
    let instance = out
        .db_instances()
        .first()
        .ok_or_else(|| RuleError::new(format!("DescribeDBInstances returned no instance {id}")))?;
    if is_managed(ctx, instance.tag_list()) {
        return Ok(Report::managed(id));
    }
    if (setting.current)(instance) == Some(setting.wanted) {
        return Ok(Report::compliant(format!(
            "{id} has {} {}",
            setting.name,
            on_off(setting.wanted)
        )));
    }
    if let (Some(cluster), Some(why)) = (
        instance.db_cluster_identifier(),
        setting.not_for_cluster_members,
    ) {
        return Err(RuleError::new(format!(
            "{id} is a member of Aurora cluster {cluster}: {why}, which this rule does not change"
        )));
    }
    let action = format!(
        "turned {} {} for DB instance {id}",
        on_off(setting.wanted),
        setting.name
    );
    ctx.fix(vec![action], async {
        (setting.set)(
            rds.modify_db_instance().db_instance_identifier(id),
            setting.wanted,
        )
        .send()
        .await
        .map_err(|e| RuleError::aws("ModifyDBInstance", &e))?;
        crate::rule::changed("rds:ModifyDBInstance", id);
        Ok(())
    })
    .await
}

/// RDS-023: `all` is taken out of the snapshot's `restore` attribute; accounts it is shared
/// with by id keep their access.
async fn unshare_snapshot(ctx: &Context, rds: &Client, id: &str) -> Result<Report, RuleError> {
    let snapshots = rds
        .describe_db_snapshots()
        .db_snapshot_identifier(id)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeDBSnapshots", &e))?;
    let snapshot = snapshots
        .db_snapshots()
        .first()
        .ok_or_else(|| RuleError::new(format!("DescribeDBSnapshots returned no snapshot {id}")))?;
    if is_managed(ctx, snapshot.tag_list()) {
        return Ok(Report::managed(id));
    }
    let attributes = rds
        .describe_db_snapshot_attributes()
        .db_snapshot_identifier(id)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeDBSnapshotAttributes", &e))?;
    let public = attributes
        .db_snapshot_attributes_result()
        .map(|r| r.db_snapshot_attributes())
        .unwrap_or_default()
        .iter()
        .any(|a| {
            a.attribute_name() == Some("restore") && a.attribute_values().iter().any(|v| v == "all")
        });
    if !public {
        return Ok(Report::compliant(format!("{id} is not shared publicly")));
    }
    let action = format!(
        "stopped sharing DB snapshot {id} publicly (removed `all` from its restore attribute)"
    );
    ctx.fix(vec![action], async {
        rds.modify_db_snapshot_attribute()
            .db_snapshot_identifier(id)
            .attribute_name("restore")
            .values_to_remove("all")
            .send()
            .await
            .map_err(|e| RuleError::aws("ModifyDBSnapshotAttribute", &e))?;
        crate::rule::changed("rds:ModifyDBSnapshotAttribute", id);
        Ok(())
    })
    .await
}
