//! VPC rules: flow logs, delivered to a CloudWatch Logs group through an IAM role
//! (`remedy-vpc-flow-logs`) that is created when it is missing. The log group itself is
//! created by flow-log delivery on first use (the role allows `logs:CreateLogGroup`); a VPC
//! that already has any flow log is left as it is.

use crate::catalog::{Mode, RiskLevel, RuleSpec, Scope, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Create the delivery role if missing (tagged `remedy:managed`, as is the flow log), then
    // the VPC's flow log (tags come with `DescribeVpcs`).
    RuleSpec {
        id: "VPC-001",
        title: "VPC Flow Logs Enabled",
        service: "VPC",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[Scope {
            actions: &[
                "iam:CreateRole",
                "iam:TagRole",
                "iam:PutRolePolicy",
                "iam:PassRole",
            ],
            resource: "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/remedy-vpc-flow-logs",
            condition: &[],
        }],
        settings: &[
            SettingSpec {
                name: "log_group",
                default: Some("remedy-vpc-flow-logs"),
                description: "CloudWatch Logs group the flow logs are delivered to; flow-log \
                              delivery creates it when missing.",
            },
            SettingSpec {
                name: "traffic_type",
                default: Some("REJECT"),
                description: "Traffic the flow logs capture: ACCEPT, REJECT or ALL.",
            },
        ],
        iam_actions: &[
            "ec2:DescribeVpcs",
            "ec2:DescribeFlowLogs",
            "ec2:CreateFlowLogs",
            "ec2:CreateTags",
            "iam:GetRole",
            "iam:CreateRole",
            "iam:TagRole",
            "iam:PutRolePolicy",
            "iam:PassRole",
        ],
        fix: |ctx| Box::pin(async move { enable_flow_logs(ctx, ctx.resource()?).await }),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the VPC id.

use crate::rule::{error_code, Context, Report, RuleError, MANAGED_TAG};
use crate::rules::ec2::is_managed;
use aws_sdk_ec2::config::AsyncSleep;
use aws_sdk_ec2::types::{
    Filter, FlowLogsResourceType, LogDestinationType, ResourceType, TagSpecification, TrafficType,
};
use serde_json::json;
use std::time::Duration;

/// The IAM role flow logs are delivered through, in every account and region.
pub const FLOW_LOGS_ROLE: &str = "remedy-vpc-flow-logs";
/// The role's inline policy: write flow logs to CloudWatch Logs.
const DELIVERY_POLICY: &str = "deliver-flow-logs-to-cloudwatch-logs";
/// Attempts at creating the flow log while a new role propagates through IAM (the rule's
/// Lambda has 60 s) …
const CREATE_ATTEMPTS: u32 = 4;
/// … and the pause between them.
const RETRY_DELAY: Duration = Duration::from_secs(5);

/// The `traffic_type` setting as the API's value: ACCEPT, REJECT or ALL.
pub fn traffic_type(setting: &str) -> Result<TrafficType, RuleError> {
    match setting.to_ascii_uppercase().as_str() {
        "ACCEPT" => Ok(TrafficType::Accept),
        "REJECT" => Ok(TrafficType::Reject),
        "ALL" => Ok(TrafficType::All),
        _ => Err(RuleError::new(format!(
            "setting `traffic_type` is {setting:?}; expected ACCEPT, REJECT or ALL"
        ))),
    }
}

/// The delivery role's trust policy: the flow-logs service, on behalf of `account` only.
fn trust_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}
        }]
    })
    .to_string()
}

/// The delivery role's permissions: create and write log groups of `account`, in the
/// `partition` of the rule's region.
fn delivery_policy(partition: &str, account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams"
            ],
            "Resource": format!("arn:{partition}:logs:*:{account}:log-group:*")
        }]
    })
    .to_string()
}

/// The delivery role as it stands: `None` when missing, else its ARN and whether remedy owns it.
async fn existing_role(iam: &aws_sdk_iam::Client) -> Result<Option<(String, bool)>, RuleError> {
    match iam.get_role().role_name(FLOW_LOGS_ROLE).send().await {
        Ok(out) => {
            let role = out.role().ok_or_else(|| {
                RuleError::new(format!("GetRole returned no role for {FLOW_LOGS_ROLE}"))
            })?;
            let ours = role.tags().iter().any(|t| t.key() == MANAGED_TAG);
            Ok(Some((role.arn().to_owned(), ours)))
        }
        Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(RuleError::aws("GetRole", &e)),
    }
}

/// Creates the delivery role, tagged `remedy:managed`, and returns its ARN.
async fn create_role(iam: &aws_sdk_iam::Client, account: &str) -> Result<String, RuleError> {
    let tag = aws_sdk_iam::types::Tag::builder()
        .key(MANAGED_TAG)
        .value("true")
        .build()
        .map_err(|e| RuleError::new(format!("role tag: {e}")))?;
    let out = iam
        .create_role()
        .role_name(FLOW_LOGS_ROLE)
        .description("Delivers VPC flow logs to CloudWatch Logs (created by remedy, rule VPC-001)")
        .assume_role_policy_document(trust_policy(account))
        .tags(tag)
        .send()
        .await
        .map_err(|e| RuleError::aws("CreateRole", &e))?;
    crate::rule::changed("iam:CreateRole", FLOW_LOGS_ROLE);
    out.role()
        .map(|r| r.arn().to_owned())
        .ok_or_else(|| RuleError::new(format!("CreateRole returned no role for {FLOW_LOGS_ROLE}")))
}

/// Sets the delivery role's inline policy (idempotent).
async fn put_delivery_policy(
    iam: &aws_sdk_iam::Client,
    partition: &str,
    account: &str,
) -> Result<(), RuleError> {
    iam.put_role_policy()
        .role_name(FLOW_LOGS_ROLE)
        .policy_name(DELIVERY_POLICY)
        .policy_document(delivery_policy(partition, account))
        .send()
        .await
        .map_err(|e| RuleError::aws("PutRolePolicy", &e))?;
    crate::rule::changed("iam:PutRolePolicy", FLOW_LOGS_ROLE);
    Ok(())
}

/// VPC-001: a flow log for the VPC to CloudWatch Logs, unless it has one already.
async fn enable_flow_logs(ctx: &Context, vpc_id: &str) -> Result<Report, RuleError> {
    let traffic = traffic_type(ctx.setting("traffic_type")?)?;
    let log_group = ctx.setting("log_group")?.trim();
    if log_group.is_empty() {
        return Err(RuleError::new("setting `log_group` is empty"));
    }
    let ec2 = aws_sdk_ec2::Client::new(&ctx.aws);
    let iam = aws_sdk_iam::Client::new(&ctx.aws);

    let vpcs = ec2
        .describe_vpcs()
        .vpc_ids(vpc_id)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeVpcs", &e))?;
    let vpc = vpcs
        .vpcs()
        .first()
        .ok_or_else(|| RuleError::new(format!("VPC {vpc_id} not found")))?;
    if is_managed(ctx, vpc.tags()) {
        return Ok(Report::managed(vpc_id));
    }
    let flow_logs = ec2
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(vpc_id).build())
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeFlowLogs", &e))?;
    let existing: Vec<&str> = flow_logs
        .flow_logs()
        .iter()
        .filter_map(|f| f.flow_log_id())
        .collect();
    if !flow_logs.flow_logs().is_empty() {
        return Ok(Report::compliant(format!(
            "VPC {vpc_id} has flow logs ({})",
            existing.join(", ")
        )));
    }

    let account = ctx.account_id.as_str();
    let role = existing_role(&iam).await?;
    let mut actions = Vec::new();
    if role.is_none() {
        actions.push(format!(
            "created IAM role {FLOW_LOGS_ROLE} (assumable by vpc-flow-logs.amazonaws.com for account {account}, \
             tagged {MANAGED_TAG})"
        ));
    }
    // Someone else's role of that name is used as it is; remedy's own gets its policy (again).
    if !matches!(role, Some((_, false))) {
        actions.push(format!(
            "set inline policy {DELIVERY_POLICY} of role {FLOW_LOGS_ROLE}: create and write log groups of account {account}"
        ));
    }
    actions.push(format!(
        "created a flow log for VPC {vpc_id} capturing {} traffic into CloudWatch Logs group {log_group}, \
         delivered through role {FLOW_LOGS_ROLE}",
        traffic.as_str()
    ));

    ctx.fix(actions, async {
        let (role_arn, ours, fresh) = match role {
            None => (create_role(&iam, account).await?, true, true),
            Some((arn, ours)) => (arn, ours, false),
        };
        if ours {
            put_delivery_policy(&iam, crate::partition::partition(&ctx.region), account).await?;
        }
        create_flow_log(ctx, &ec2, vpc_id, &role_arn, log_group, traffic, fresh).await
    })
    .await
}

/// Creates the VPC's flow log; retried a few times while a `fresh` role propagates in IAM.
async fn create_flow_log(
    ctx: &Context,
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
    role_arn: &str,
    log_group: &str,
    traffic: TrafficType,
    fresh: bool,
) -> Result<(), RuleError> {
    let sleep = if fresh { ctx.aws.sleep_impl() } else { None };
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::VpcFlowLog)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key(MANAGED_TAG)
                .value("true")
                .build(),
        )
        .build();
    let mut attempt = 1;
    loop {
        let result = ec2
            .create_flow_logs()
            .resource_type(FlowLogsResourceType::Vpc)
            .resource_ids(vpc_id)
            .traffic_type(traffic.clone())
            .log_destination_type(LogDestinationType::CloudWatchLogs)
            .log_group_name(log_group)
            .deliver_logs_permission_arn(role_arn)
            .tag_specifications(tags.clone())
            .send()
            .await;
        let failure = match result {
            Ok(out) => match out.unsuccessful().first() {
                None if !out.flow_log_ids().is_empty() => {
                    crate::rule::changed("ec2:CreateFlowLogs", vpc_id);
                    return Ok(());
                }
                None => RuleError::new(format!("CreateFlowLogs returned no flow log for {vpc_id}")),
                Some(item) => {
                    let error = item.error();
                    RuleError::new(format!(
                        "CreateFlowLogs did not create the flow log for {vpc_id}: {}: {}",
                        error.and_then(|e| e.code()).unwrap_or("error"),
                        error.and_then(|e| e.message()).unwrap_or("no reason given")
                    ))
                }
            },
            Err(e) => RuleError::aws("CreateFlowLogs", &e),
        };
        match &sleep {
            Some(sleep) if attempt < CREATE_ATTEMPTS => {
                sleep.sleep(RETRY_DELAY).await;
                attempt += 1;
            }
            _ => return Err(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_types_are_checked() {
        assert_eq!(traffic_type("REJECT").ok(), Some(TrafficType::Reject));
        assert_eq!(traffic_type("all").ok(), Some(TrafficType::All));
        assert_eq!(traffic_type("ACCEPT").ok(), Some(TrafficType::Accept));
        assert!(traffic_type("SOME").is_err());
    }

    #[test]
    fn the_role_is_scoped_to_the_account() {
        let trust: serde_json::Value =
            serde_json::from_str(&trust_policy("111111111111")).unwrap_or_default();
        assert_eq!(
            trust["Statement"][0]["Principal"]["Service"],
            "vpc-flow-logs.amazonaws.com"
        );
        assert_eq!(
            trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
            "111111111111"
        );
        let policy: serde_json::Value =
            serde_json::from_str(&delivery_policy("aws", "111111111111")).unwrap_or_default();
        assert_eq!(
            policy["Statement"][0]["Resource"],
            "arn:aws:logs:*:111111111111:log-group:*"
        );
    }

    #[test]
    fn the_delivery_policy_names_the_regions_partition() {
        // The trust policy's service principal is the same in every partition.
        for (region, resource) in [
            ("cn-northwest-1", "arn:aws-cn:logs:*:1:log-group:*"),
            ("us-gov-east-1", "arn:aws-us-gov:logs:*:1:log-group:*"),
        ] {
            let partition = crate::partition::partition(region);
            let policy: serde_json::Value =
                serde_json::from_str(&delivery_policy(partition, "1")).unwrap_or_default();
            assert_eq!(policy["Statement"][0]["Resource"], resource, "{region}");
        }
    }
}
