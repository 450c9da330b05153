//! AWS Config rules: a configuration recorder and a delivery channel exist in the region,
//! and the recorder is recording.

use crate::catalog::{Mode, RiskLevel, RuleSpec, Scope, SettingSpec};

pub static RULES: &[RuleSpec] = &[
    // Create AWS Config's service-linked role when the recorder is to use it and the account
    // lacks it; create or update the recorder (all supported resources, global ones in
    // `global_resources_region` only) and the delivery channel, then start the recorder.
    RuleSpec {
        id: "Config-001",
        title: "AWS Config Enabled",
        service: "Config",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[
            Scope {
                actions: &["iam:PassRole"],
                resource: "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*",
                condition: &[(
                    "StringEquals",
                    "iam:PassedToService",
                    "config.amazonaws.com",
                )],
            },
            Scope {
                actions: &["iam:CreateServiceLinkedRole"],
                resource: "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig*",
                condition: &[("StringEquals", "iam:AWSServiceName", "config.amazonaws.com")],
            },
        ],
        settings: &[
            SettingSpec {
                name: "bucket",
                default: None,
                description: "S3 bucket the delivery channel writes configuration snapshots \
                              and history to; its policy must let AWS Config write.",
            },
            SettingSpec {
                name: "role_arn",
                default: None,
                description: "ARN of the IAM role the configuration recorder assumes (trusting \
                              config.amazonaws.com, with the AWS_ConfigRole managed policy); \
                              passed to AWS Config with iam:PassRole. Default: AWS Config's \
                              service-linked role, AWSServiceRoleForConfig, created when the \
                              account lacks it.",
            },
            SettingSpec {
                name: "global_resources_region",
                default: Some("us-east-1"),
                description: "The one region whose recorder records global resource types (IAM \
                              users, groups, roles, policies): recording them in every region \
                              would record each change once per region. Elsewhere a recorder \
                              remedy creates or rewrites leaves them out. A region of another \
                              partition than the finding's (the default us-east-1, for accounts \
                              in aws-cn or aws-us-gov) stands for that partition's global \
                              region (cn-north-1, us-gov-west-1).",
            },
        ],
        iam_actions: &[
            "config:DescribeConfigurationRecorders",
            "config:DescribeConfigurationRecorderStatus",
            "config:DescribeDeliveryChannels",
            "config:PutConfigurationRecorder",
            "config:PutDeliveryChannel",
            "config:StartConfigurationRecorder",
            "iam:GetRole",
            "iam:CreateServiceLinkedRole",
            "iam:PassRole",
        ],
        fix: |ctx| Box::pin(enable_config(ctx)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding is about the region; there is no resource to read.

use crate::rule::{error_code, Context, Report, RuleError};
use aws_sdk_config::types::{
    ConfigurationRecorder, ConfigurationRecorderStatus, DeliveryChannel, RecordingGroup,
};
use aws_sdk_config::Client;

/// The name given to a recorder or a delivery channel remedy creates (the console's).
const DEFAULT_NAME: &str = "default";

/// AWS Config's service-linked role: its name, and the service that creates it.
const SERVICE_LINKED_ROLE: &str = "AWSServiceRoleForConfig";
const CONFIG_SERVICE: &str = "config.amazonaws.com";

/// AWS Config's service-linked role in `account`, used when `role_arn` is not set.
pub fn service_linked_role(account: &str, region: &str) -> String {
    let partition = crate::partition::partition(region);
    format!("arn:{partition}:iam::{account}:role/aws-service-role/{CONFIG_SERVICE}/{SERVICE_LINKED_ROLE}")
}

/// Whether the recorder of `region` records global resource types: only in the
/// `global_resources_region` setting's region, so that each global resource is recorded
/// once. Blank, or a region of another partition than `region`'s (the default `us-east-1`
/// seen from `cn-north-1`): the global region of `region`'s partition.
pub fn records_global_types(region: &str, global_resources_region: Option<&str>) -> bool {
    use crate::partition::{global_region, partition};
    let global = global_resources_region
        .map(str::trim)
        .filter(|r| !r.is_empty() && partition(r) == partition(region))
        .unwrap_or(global_region(region));
    region == global
}

/// What Config-001 does in a region, in order: put the recorder, put the delivery
/// channel, start the recorder.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigPlan {
    pub recorder: Option<ConfigurationRecorder>,
    pub channel: Option<DeliveryChannel>,
    /// The recorder to start.
    pub start: Option<String>,
    pub actions: Vec<String>,
}

/// Whether a recording group records what Config-001 wants: every supported resource, and
/// the global ones where `global` (elsewhere recording them too is left alone).
fn records_everything(group: Option<&RecordingGroup>, global: bool) -> bool {
    group.is_some_and(|g| g.all_supported() && (g.include_global_resource_types() || !global))
}

fn all_resources(global: bool) -> RecordingGroup {
    RecordingGroup::builder()
        .all_supported(true)
        .include_global_resource_types(global)
        .build()
}

fn what_is_recorded(global: bool) -> &'static str {
    if global {
        "all supported resources, global ones included"
    } else {
        "all supported resources but the global ones (recorded in the global resources region)"
    }
}

/// Decides Config-001 from what the region has. Service-linked recorders (those another AWS
/// service owns) are not the account's recorder and are ignored. `bucket` is the setting;
/// without it and without a delivery channel nothing can be done, and nothing is changed.
/// `global`: whether this region's recorder records global resource types
/// ([`records_global_types`]).
pub fn config_plan(
    recorders: &[ConfigurationRecorder],
    statuses: &[ConfigurationRecorderStatus],
    channels: &[DeliveryChannel],
    bucket: Option<&str>,
    role_arn: &str,
    global: bool,
) -> Result<ConfigPlan, RuleError> {
    let mut plan = ConfigPlan {
        recorder: None,
        channel: None,
        start: None,
        actions: Vec::new(),
    };
    let channel_missing = channels.is_empty();
    let bucket = bucket.map(str::trim).filter(|b| !b.is_empty());
    if channel_missing && bucket.is_none() {
        return Err(RuleError::new(
            "setting `bucket` is required for Config-001: the region has no delivery channel, and \
             AWS Config needs one (an S3 bucket) before it can record; nothing was changed",
        ));
    }
    let existing = recorders.iter().find(|r| r.service_principal().is_none());
    let name = existing
        .and_then(|r| r.name())
        .unwrap_or(DEFAULT_NAME)
        .to_owned();
    match existing {
        None => {
            plan.recorder = Some(
                ConfigurationRecorder::builder()
                    .name(&name)
                    .role_arn(role_arn)
                    .recording_group(all_resources(global))
                    .build(),
            );
            plan.actions.push(format!(
                "created configuration recorder {name} recording {}, with role {role_arn}",
                what_is_recorded(global)
            ));
        }
        Some(recorder)
            if !records_everything(recorder.recording_group(), global)
                || recorder.role_arn().is_none_or(str::is_empty) =>
        {
            let role = recorder
                .role_arn()
                .filter(|r| !r.is_empty())
                .unwrap_or(role_arn);
            plan.recorder = Some(
                ConfigurationRecorder::builder()
                    .name(&name)
                    .role_arn(role)
                    .recording_group(all_resources(global))
                    .set_recording_mode(recorder.recording_mode().cloned())
                    .build(),
            );
            plan.actions.push(format!(
                "made configuration recorder {name} record {}, with role {role}",
                what_is_recorded(global)
            ));
        }
        Some(_) => {}
    }
    if let (true, Some(bucket)) = (channel_missing, bucket) {
        plan.channel = Some(
            DeliveryChannel::builder()
                .name(DEFAULT_NAME)
                .s3_bucket_name(bucket)
                .build(),
        );
        plan.actions.push(format!(
            "created delivery channel {DEFAULT_NAME} to bucket {bucket}"
        ));
    }
    let recording = existing.is_some()
        && statuses.iter().any(|s| {
            s.service_principal().is_none() && s.name() == Some(name.as_str()) && s.recording()
        });
    if !recording {
        plan.actions
            .push(format!("started configuration recorder {name}"));
        plan.start = Some(name);
    }
    Ok(plan)
}

/// Config-001.
async fn enable_config(ctx: &Context) -> Result<Report, RuleError> {
    let config = Client::new(&ctx.aws);
    let recorders = config
        .describe_configuration_recorders()
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeConfigurationRecorders", &e))?;
    let statuses = config
        .describe_configuration_recorder_status()
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeConfigurationRecorderStatus", &e))?;
    let channels = config
        .describe_delivery_channels()
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeDeliveryChannels", &e))?;
    let configured_role = ctx
        .settings
        .get("role_arn")
        .map(|r| r.trim())
        .filter(|r| !r.is_empty());
    let role_arn = match configured_role {
        Some(role) => role.to_owned(),
        None => service_linked_role(&ctx.account_id, &ctx.region),
    };
    let global = records_global_types(
        &ctx.region,
        ctx.settings
            .get("global_resources_region")
            .map(String::as_str),
    );
    let plan = config_plan(
        recorders.configuration_recorders(),
        statuses.configuration_recorders_status(),
        channels.delivery_channels(),
        ctx.settings.get("bucket").map(String::as_str),
        &role_arn,
        global,
    )?;
    if plan.actions.is_empty() {
        return Ok(Report::compliant(format!(
            "AWS Config records {} in {} and delivers them",
            what_is_recorded(global),
            ctx.region
        )));
    }
    let ConfigPlan {
        recorder,
        channel,
        start,
        mut actions,
    } = plan;
    // A recorder put with the service-linked role needs the role to exist: only
    // PutServiceLinkedConfigurationRecorder creates it on its own.
    let iam = aws_sdk_iam::Client::new(&ctx.aws);
    let create_role = recorder
        .as_ref()
        .is_some_and(|r| configured_role.is_none() && r.role_arn() == Some(role_arn.as_str()))
        && !service_linked_role_exists(&iam).await?;
    if create_role {
        actions.insert(
            0,
            format!("created AWS Config's service-linked role {SERVICE_LINKED_ROLE}"),
        );
    }
    ctx.fix(actions, async {
        if create_role {
            let created = iam
                .create_service_linked_role()
                .aws_service_name(CONFIG_SERVICE)
                .send()
                .await;
            match created {
                Ok(_) => crate::rule::changed("iam:CreateServiceLinkedRole", SERVICE_LINKED_ROLE),
                // Another region's Config-001 created it in the meantime.
                Err(e)
                    if error_code(&e) == Some("InvalidInput")
                        && e.as_service_error()
                            .and_then(|s| s.meta().message())
                            .is_some_and(|m| m.contains("has been taken")) => {}
                Err(e) => return Err(RuleError::aws("CreateServiceLinkedRole", &e)),
            }
        }
        if let Some(recorder) = recorder {
            let name = recorder.name().unwrap_or_default().to_owned();
            config
                .put_configuration_recorder()
                .configuration_recorder(recorder)
                .send()
                .await
                .map_err(|e| RuleError::aws("PutConfigurationRecorder", &e))?;
            crate::rule::changed("config:PutConfigurationRecorder", name);
        }
        if let Some(channel) = channel {
            let name = channel.name().unwrap_or_default().to_owned();
            config
                .put_delivery_channel()
                .delivery_channel(channel)
                .send()
                .await
                .map_err(|e| RuleError::aws("PutDeliveryChannel", &e))?;
            crate::rule::changed("config:PutDeliveryChannel", name);
        }
        if let Some(name) = start {
            config
                .start_configuration_recorder()
                .configuration_recorder_name(&name)
                .send()
                .await
                .map_err(|e| RuleError::aws("StartConfigurationRecorder", &e))?;
            crate::rule::changed("config:StartConfigurationRecorder", name);
        }
        Ok(())
    })
    .await
}

/// Whether the account has AWS Config's service-linked role (GetRole; NoSuchEntity: no).
async fn service_linked_role_exists(iam: &aws_sdk_iam::Client) -> Result<bool, RuleError> {
    match iam.get_role().role_name(SERVICE_LINKED_ROLE).send().await {
        Ok(_) => Ok(true),
        Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(false),
        Err(e) => Err(RuleError::aws("GetRole", &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111111111111:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig";

    fn recorder(all: bool) -> ConfigurationRecorder {
        ConfigurationRecorder::builder()
            .name("main")
            .role_arn("arn:aws:iam::111111111111:role/ConfigRole")
            .recording_group(
                RecordingGroup::builder()
                    .all_supported(all)
                    .include_global_resource_types(all)
                    .build(),
            )
            .build()
    }

    fn status(recording: bool) -> ConfigurationRecorderStatus {
        ConfigurationRecorderStatus::builder()
            .name("main")
            .recording(recording)
            .build()
    }

    fn channel() -> DeliveryChannel {
        DeliveryChannel::builder()
            .name("main")
            .s3_bucket_name("config-logs")
            .build()
    }

    #[test]
    fn the_service_linked_role_follows_account_and_partition() {
        assert_eq!(service_linked_role("111111111111", "eu-west-1"), ROLE);
        assert!(service_linked_role("111111111111", "cn-north-1")
            .starts_with("arn:aws-cn:iam::111111111111:"));
    }

    #[test]
    fn a_recording_recorder_with_a_channel_is_compliant() {
        let plan = config_plan(
            &[recorder(true)],
            &[status(true)],
            &[channel()],
            None,
            ROLE,
            true,
        )
        .unwrap();
        assert!(plan.actions.is_empty(), "{plan:?}");
        assert_eq!(
            (plan.recorder, plan.channel, plan.start),
            (None, None, None)
        );
    }

    #[test]
    fn nothing_at_all_creates_recorder_and_channel_and_starts() {
        let plan = config_plan(&[], &[], &[], Some("config-logs"), ROLE, true).unwrap();
        let recorder = plan.recorder.unwrap();
        assert_eq!(
            (recorder.name(), recorder.role_arn()),
            (Some("default"), Some(ROLE))
        );
        assert!(records_everything(recorder.recording_group(), true));
        assert_eq!(plan.channel.unwrap().s3_bucket_name(), Some("config-logs"));
        assert_eq!(plan.start.as_deref(), Some("default"));
        assert_eq!(plan.actions.len(), 3, "{:?}", plan.actions);
    }

    #[test]
    fn without_bucket_and_channel_it_fails_naming_the_setting() {
        let err =
            config_plan(&[recorder(true)], &[status(false)], &[], None, ROLE, true).unwrap_err();
        assert!(err.0.contains("setting `bucket`"), "{err}");
        let err = config_plan(&[], &[], &[], Some("  "), ROLE, true).unwrap_err();
        assert!(err.0.contains("setting `bucket`"), "{err}");
    }

    #[test]
    fn a_stopped_or_partial_recorder_is_widened_and_started_keeping_its_role() {
        let plan = config_plan(
            &[recorder(false)],
            &[status(false)],
            &[channel()],
            None,
            ROLE,
            true,
        )
        .unwrap();
        let widened = plan.recorder.unwrap();
        assert_eq!(widened.name(), Some("main"));
        assert_eq!(
            widened.role_arn(),
            Some("arn:aws:iam::111111111111:role/ConfigRole")
        );
        assert!(records_everything(widened.recording_group(), true));
        assert_eq!(plan.channel, None, "the existing channel is kept");
        assert_eq!(plan.start.as_deref(), Some("main"));
    }

    #[test]
    fn global_types_are_recorded_in_the_global_region_only() {
        assert!(records_global_types("us-east-1", None));
        assert!(records_global_types("us-east-1", Some(" ")));
        assert!(!records_global_types("eu-west-1", None));
        assert!(records_global_types("eu-west-1", Some("eu-west-1")));
        assert!(!records_global_types("us-east-1", Some("eu-west-1")));
        // Another partition's region (the default, us-east-1, in aws-cn): that partition's
        // global region records them.
        assert!(records_global_types("cn-north-1", Some("us-east-1")));
        assert!(!records_global_types("cn-northwest-1", Some("us-east-1")));
        assert!(records_global_types(
            "cn-northwest-1",
            Some("cn-northwest-1")
        ));
        assert!(records_global_types("us-gov-west-1", None));
        assert!(!records_global_types("us-gov-east-1", Some("us-east-1")));

        // Elsewhere: a new recorder leaves them out; an existing one recording them is kept.
        let plan = config_plan(&[], &[], &[], Some("config-logs"), ROLE, false).unwrap();
        let group = plan.recorder.unwrap().recording_group().cloned().unwrap();
        assert!(group.all_supported() && !group.include_global_resource_types());
        let plan = config_plan(
            &[recorder(true)],
            &[status(true)],
            &[channel()],
            None,
            ROLE,
            false,
        )
        .unwrap();
        assert!(plan.actions.is_empty(), "{plan:?}");
        // In the global region, a recorder without them is widened.
        let without_global = ConfigurationRecorder::builder()
            .name("main")
            .role_arn(ROLE)
            .recording_group(all_resources(false))
            .build();
        let plan = config_plan(
            &[without_global],
            &[status(true)],
            &[channel()],
            None,
            ROLE,
            true,
        )
        .unwrap();
        let widened = plan.recorder.unwrap();
        assert!(records_everything(widened.recording_group(), true));
        assert_eq!(plan.start, None, "it is recording already");
    }

    #[test]
    fn service_linked_recorders_are_not_the_accounts() {
        let linked = ConfigurationRecorder::builder()
            .name("AWSConfigurationRecorderForSecurityHub")
            .service_principal("securityhub.amazonaws.com")
            .recording_group(all_resources(true))
            .build();
        let linked_status = ConfigurationRecorderStatus::builder()
            .name("AWSConfigurationRecorderForSecurityHub")
            .service_principal("securityhub.amazonaws.com")
            .recording(true)
            .build();
        let plan =
            config_plan(&[linked], &[linked_status], &[channel()], None, ROLE, true).unwrap();
        assert_eq!(
            plan.recorder
                .and_then(|r| r.name().map(str::to_owned))
                .as_deref(),
            Some("default")
        );
        assert_eq!(plan.start.as_deref(), Some("default"));
    }
}
