//! Redshift rules: cluster public accessibility, automated snapshot retention and user
//! activity logging (a cluster parameter group setting).

use crate::catalog::{Mode, RiskLevel, RuleSpec, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Make the cluster not publicly accessible (tags come with `DescribeClusters`).
    RuleSpec {
        id: "RS-001",
        title: "Redshift Cluster Publicly Accessible",
        service: "Redshift",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &["redshift:DescribeClusters", "redshift:ModifyCluster"],
        fix: |ctx| Box::pin(on_cluster(ctx, make_private)),
    },
    // Raise the automated snapshot retention period to the configured number of days.
    RuleSpec {
        id: "RS-019",
        title: "Redshift Automated Snapshot Retention Period",
        service: "Redshift",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[SettingSpec {
            name: "retention_days",
            default: Some("7"),
            description: "Automated snapshot retention period, in days (1 to 35), set on \
                          clusters that keep their snapshots for less.",
        }],
        iam_actions: &["redshift:DescribeClusters", "redshift:ModifyCluster"],
        fix: |ctx| Box::pin(on_cluster(ctx, keep_snapshots)),
    },
    // Set `enable_user_activity_logging` to true in the cluster's parameter group (tags
    // come with `DescribeClusters` and `DescribeClusterParameterGroups`).
    RuleSpec {
        id: "RS-023",
        title: "Redshift User Activity Logging",
        service: "Redshift",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "redshift:DescribeClusters",
            "redshift:DescribeClusterParameterGroups",
            "redshift:DescribeClusterParameters",
            "redshift:ModifyClusterParameterGroup",
        ],
        fix: |ctx| Box::pin(on_cluster(ctx, log_user_activity)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the cluster id.

use crate::rule::{Context, Report, RuleError};
use aws_sdk_redshift::types::{Cluster, Parameter, Tag};
use aws_sdk_redshift::Client;

/// The parameter RS-023 turns on.
const USER_ACTIVITY_LOGGING: &str = "enable_user_activity_logging";

/// Runs `fix`, one Redshift rule's own check and fix, on the finding's cluster (a client,
/// its id and its description), unless the cluster is remedy's own.
async fn on_cluster(
    ctx: &Context,
    fix: impl AsyncFnOnce(&Context, &Client, &str, &Cluster) -> Result<Report, RuleError>,
) -> Result<Report, RuleError> {
    let id = ctx.resource()?;
    let redshift = Client::new(&ctx.aws);
    let out = redshift
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeClusters", &e))?;
    let cluster = out
        .clusters()
        .first()
        .ok_or_else(|| RuleError::new(format!("DescribeClusters returned no cluster {id}")))?;
    if is_managed(ctx, cluster.tags()) {
        return Ok(Report::managed(id));
    }
    fix(ctx, &redshift, id, cluster).await
}

/// Whether the tags say remedy's own stack made the resource (CloudFormation's reserved tags).
fn is_managed(ctx: &Context, tags: &[Tag]) -> bool {
    ctx.owns_tagged(
        tags.iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    )
}

/// RS-001.
async fn make_private(
    ctx: &Context,
    redshift: &Client,
    id: &str,
    cluster: &Cluster,
) -> Result<Report, RuleError> {
    if cluster.publicly_accessible() != Some(true) {
        return Ok(Report::compliant(format!(
            "{id} is not publicly accessible"
        )));
    }
    ctx.fix(
        vec![format!(
            "made Redshift cluster {id} not publicly accessible"
        )],
        async {
            redshift
                .modify_cluster()
                .cluster_identifier(id)
                .publicly_accessible(false)
                .send()
                .await
                .map_err(|e| RuleError::aws("ModifyCluster", &e))?;
            crate::rule::changed("redshift:ModifyCluster", id);
            Ok(())
        },
    )
    .await
}

/// The `retention_days` setting: a whole number of days from 1 to 35.
fn retention_days(text: &str) -> Result<i32, RuleError> {
    match text.trim().parse::<i32>() {
        Ok(days) if (1..=35).contains(&days) => Ok(days),
        _ => Err(RuleError::new(format!(
            "setting `retention_days` must be a number of days from 1 to 35, not `{text}`"
        ))),
    }
}

/// RS-019: a retention period under `retention_days` is raised to it; a longer one is kept.
async fn keep_snapshots(
    ctx: &Context,
    redshift: &Client,
    id: &str,
    cluster: &Cluster,
) -> Result<Report, RuleError> {
    let wanted = retention_days(ctx.setting("retention_days")?)?;
    let current = cluster.automated_snapshot_retention_period().unwrap_or(0);
    if current >= wanted {
        return Ok(Report::compliant(format!(
            "{id} keeps automated snapshots {current} days (at least {wanted})"
        )));
    }
    let action = format!("raised the automated snapshot retention of Redshift cluster {id} from {current} to {wanted} days");
    ctx.fix(vec![action], async {
        redshift
            .modify_cluster()
            .cluster_identifier(id)
            .automated_snapshot_retention_period(wanted)
            .send()
            .await
            .map_err(|e| RuleError::aws("ModifyCluster", &e))?;
        crate::rule::changed("redshift:ModifyCluster", id);
        Ok(())
    })
    .await
}

/// A default parameter group (`default.redshift-1.0`) cannot be modified.
fn is_default_group(name: &str) -> bool {
    name.starts_with("default.")
}

/// Whether the parameters turn user activity logging on.
fn user_activity_logging(parameters: &[Parameter]) -> bool {
    parameters.iter().any(|p| {
        p.parameter_name() == Some(USER_ACTIVITY_LOGGING)
            && p.parameter_value()
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    })
}

/// RS-023: `enable_user_activity_logging` set to true in the cluster's own parameter group.
/// Every cluster using that group gets it; it takes effect when each is rebooted.
async fn log_user_activity(
    ctx: &Context,
    redshift: &Client,
    id: &str,
    cluster: &Cluster,
) -> Result<Report, RuleError> {
    let group = cluster
        .cluster_parameter_groups()
        .first()
        .and_then(|g| g.parameter_group_name())
        .ok_or_else(|| RuleError::new(format!("cluster {id} has no parameter group")))?;
    if is_default_group(group) {
        return Ok(Report::failed(format!(
            "{id} uses the default parameter group {group}, which cannot be modified: give the cluster a \
             parameter group of its own with {USER_ACTIVITY_LOGGING}=true"
        )));
    }
    let groups = redshift
        .describe_cluster_parameter_groups()
        .parameter_group_name(group)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeClusterParameterGroups", &e))?;
    if groups
        .parameter_groups()
        .iter()
        .any(|g| is_managed(ctx, g.tags()))
    {
        return Ok(Report::managed(group));
    }
    let parameters = redshift
        .describe_cluster_parameters()
        .parameter_group_name(group)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| RuleError::aws("DescribeClusterParameters", &e))?;
    if user_activity_logging(&parameters) {
        return Ok(Report::compliant(format!(
            "{id}'s parameter group {group} has {USER_ACTIVITY_LOGGING}=true"
        )));
    }
    let action = format!(
        "set {USER_ACTIVITY_LOGGING}=true in parameter group {group} of Redshift cluster {id} (for every cluster \
         using the group, from its next reboot)"
    );
    ctx.fix(vec![action], async {
        let parameter = Parameter::builder()
            .parameter_name(USER_ACTIVITY_LOGGING)
            .parameter_value("true")
            .build();
        redshift
            .modify_cluster_parameter_group()
            .parameter_group_name(group)
            .parameters(parameter)
            .send()
            .await
            .map_err(|e| RuleError::aws("ModifyClusterParameterGroup", &e))?;
        crate::rule::changed("redshift:ModifyClusterParameterGroup", group);
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(name: &str, value: &str) -> Parameter {
        Parameter::builder()
            .parameter_name(name)
            .parameter_value(value)
            .build()
    }

    #[test]
    fn user_activity_logging_is_read_from_the_parameters() {
        assert!(!user_activity_logging(&[]));
        assert!(!user_activity_logging(&[
            parameter("auto_analyze", "true"),
            parameter(USER_ACTIVITY_LOGGING, "false")
        ]));
        assert!(user_activity_logging(&[
            parameter("auto_analyze", "false"),
            parameter(USER_ACTIVITY_LOGGING, "TRUE")
        ]));
    }

    #[test]
    fn default_parameter_groups_are_recognised() {
        assert!(is_default_group("default.redshift-1.0"));
        assert!(!is_default_group("audit-logging"));
    }

    #[test]
    fn retention_days_are_checked() {
        assert_eq!(retention_days("7"), Ok(7));
        assert_eq!(retention_days(" 35 "), Ok(35));
        for bad in ["0", "36", "-1", "seven", ""] {
            assert!(retention_days(bad).is_err(), "{bad}");
        }
    }
}
