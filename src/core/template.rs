//! Template rendering and hashing: the member-account stack for a config. Pure.
//!
//! Starts from `stacks/remediation.yaml` (compiled in), fills the orchestrator's rule
//! table, and adds per enabled rule an `AutoRemediate<ruleId>` function, its log group and
//! its own IAM role whose policy holds exactly the actions the rule declares (plus writing
//! its own log group). The stack's `remedy:hash` tag is a SHA-256 over the rendered body,
//! the parameters and the package digest, so "nothing changed" is one DescribeStacks.
//!
//! Must not: call AWS or read files other than what is compiled in.

use crate::core::config::{Config, EnabledRule, Encryption, Stage};
use crate::core::stack::MANAGED_TAG;
use crate::core::util::{sha256_hex, short_hash};
use serde_yaml::{Mapping, Value};

/// The base template, as shipped in `stacks/`.
pub const BASE_TEMPLATE: &str = include_str!("../../stacks/remediation.yaml");

/// The largest template CloudFormation takes inline (`TemplateBody`); above it, the body
/// is uploaded to the artifact bucket and passed as `TemplateURL`.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// What `remedy template` prints and `deploy` sends.
#[derive(Debug, Clone)]
pub struct RenderedTemplate {
    pub body: String,
    /// What one stack holds (the plan's footprint).
    pub footprint: Footprint,
}

/// What one account's stack holds: what counts against the account's quotas and its bill.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    pub functions: usize,
    /// IAM roles: account-wide, counted against the account's role quota (1,000 by default).
    pub roles: usize,
    pub queues: usize,
    /// Customer-managed KMS keys: each a fixed monthly charge.
    pub kms_keys: usize,
    /// SNS topics besides the findings topic.
    pub notification_topics: usize,
}

/// What a customer-managed KMS key costs a month in its first year (AWS's list price in
/// every commercial region; each of the first two yearly rotations adds $1 more).
pub const KMS_KEY_MONTHLY_USD: f64 = 1.0;

impl Footprint {
    /// Counts the resources of a rendered template by type.
    fn of(resources: &Mapping) -> Footprint {
        let mut footprint = Footprint::default();
        let mut topics: usize = 0;
        for resource in resources.values() {
            match resource.get("Type").and_then(Value::as_str) {
                Some("AWS::Lambda::Function") => footprint.functions += 1,
                Some("AWS::IAM::Role") => footprint.roles += 1,
                Some("AWS::SQS::Queue") => footprint.queues += 1,
                Some("AWS::KMS::Key") => footprint.kms_keys += 1,
                Some("AWS::SNS::Topic") => topics += 1,
                _ => {}
            }
        }
        footprint.notification_topics = topics.saturating_sub(1);
        footprint
    }

    /// The fixed monthly charge of the KMS keys (first year), in USD.
    pub fn kms_monthly_usd(&self) -> f64 {
        self.kms_keys as f64 * KMS_KEY_MONTHLY_USD
    }
}

impl RenderedTemplate {
    pub fn fits_inline(&self) -> bool {
        self.body.len() <= MAX_TEMPLATE_BODY
    }

    /// SHA-256 of the body alone (the key it is uploaded under).
    pub fn body_digest(&self) -> String {
        sha256_hex(&[self.body.as_bytes()])
    }
}

/// Renders the member-account template for the config's enabled rules.
pub fn render(config: &Config) -> Result<RenderedTemplate, String> {
    render_for(config, None)
}

/// The member template `stage`'s stacks run: the top-level `rules` overlaid by the stage's
/// (none: the top level alone). A stage without an overlay renders the same body.
pub fn render_for(config: &Config, stage: Option<&Stage>) -> Result<RenderedTemplate, String> {
    let rules = config.stage_rules(stage);
    let mut doc: Value = serde_yaml::from_str(BASE_TEMPLATE)
        .map_err(|e| format!("stacks/remediation.yaml does not parse: {e}"))?;
    let resources = doc
        .get_mut("Resources")
        .and_then(Value::as_mapping_mut)
        .ok_or("stacks/remediation.yaml has no Resources")?;

    // The orchestrator's rule table: {"S3-001": "remediate", ...}.
    let table: serde_json::Map<String, serde_json::Value> = rules
        .iter()
        .map(|r| (r.spec.id.to_owned(), r.mode.as_str().into()))
        .collect();
    let variables = orchestrator_variables(resources)?;
    variables.insert(
        "REMEDY_RULES".into(),
        serde_json::Value::Object(table).to_string().into(),
    );

    // Grace periods (issue 16): {"EC2-002": 600}, and the queue their findings wait in.
    let grace: serde_json::Map<String, serde_json::Value> = rules
        .iter()
        .filter(|r| r.grace > 0)
        .map(|r| (r.spec.id.to_owned(), r.grace.into()))
        .collect();
    let graces = !grace.is_empty();
    if graces {
        variables.insert(
            "REMEDY_GRACE".into(),
            serde_json::Value::Object(grace).to_string().into(),
        );
        variables.insert(
            "REMEDY_FINDINGS_QUEUE".into(),
            yaml(serde_json::json!({"Ref": "FindingsQueue"})),
        );
    }
    // Rate limits (issue 16): {"EC2-002": [10, 2]} for the remediating rules whose limits
    // are not the defaults (the runtime has the same defaults; the environment's 4 KB stay
    // for what differs).
    let limits: serde_json::Map<String, serde_json::Value> = rules
        .iter()
        .filter(|r| r.mode == remedy_functions::Mode::Remediate)
        .filter(|r| r.limit != remedy_functions::limits::Limit::default())
        .map(|r| (r.spec.id.to_owned(), serde_json::json!(r.limit)))
        .collect();
    if !limits.is_empty() {
        variables.insert(
            remedy_functions::limits::LIMITS_ENV.into(),
            serde_json::Value::Object(limits).to_string().into(),
        );
    }
    variables.insert(
        "REMEDY_NOTIFICATIONS".into(),
        serde_json::Value::Array(notification_routes(config))
            .to_string()
            .into(),
    );
    let topic_resources = notification_resources(config);
    let publishes = !topic_resources.is_empty();

    for rule in &rules {
        for (logical_id, resource) in rule_resources(rule) {
            resources.insert(logical_id.into(), resource);
        }
    }
    for (logical_id, resource) in topic_resources {
        resources.insert(logical_id.into(), resource);
    }
    if publishes {
        let statements = orchestrator_statements(resources)?;
        statements.push(yaml(serde_json::json!({
            "Sid": "PublishToNotificationTopics",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": {"Fn::Sub": format!("arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{}-notify-*", config.stack_name)}
        })));
        if config.encryption == Encryption::CustomerKey {
            statements.push(yaml(serde_json::json!({
                "Sid": "EncryptNotifications",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": {"Fn::GetAtt": ["FindingsKey", "Arn"]}
            })));
        }
    }
    if graces {
        // Re-queueing a finding for its grace period: SendMessage on the findings queue only,
        // and (the queue being encrypted with the stack's key) the data key to encrypt it.
        let statements = orchestrator_statements(resources)?;
        statements.push(yaml(serde_json::json!({
            "Sid": "RequeueForGrace",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["FindingsQueue", "Arn"]}
        })));
        if config.encryption == Encryption::CustomerKey {
            statements.push(yaml(serde_json::json!({
                "Sid": "EncryptRequeued",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": {"Fn::GetAtt": ["FindingsKey", "Arn"]}
            })));
        }
    }
    kill_switch(resources, &config.stack_name)?;
    alarms(resources, config)?;
    if !config.exceptions.is_empty() {
        exceptions(
            &mut doc,
            config.exceptions.iter().any(|e| !e.tags.is_empty()),
        )?;
    }
    let resources = doc
        .get_mut("Resources")
        .and_then(Value::as_mapping_mut)
        .ok_or("stacks/remediation.yaml has no Resources")?;
    if config.encryption == Encryption::AwsManaged {
        without_customer_key(resources)?;
    }
    let footprint = Footprint::of(resources);

    let body = serde_yaml::to_string(&doc).map_err(|e| format!("cannot write template: {e}"))?;
    Ok(RenderedTemplate { body, footprint })
}

/// The kill switch (issue 16, `remedy pause`): the orchestrator reads
/// `/<stack_name>/paused` in its own account and region (`REMEDY_PAUSE_PARAMETER`), and may
/// read that one parameter and no other (a name that begins with `/` follows `parameter`
/// in the ARN with no second slash).
fn kill_switch(resources: &mut Mapping, stack_name: &str) -> Result<(), String> {
    let name = remedy_functions::pause::parameter_name(stack_name);
    orchestrator_variables(resources)?.insert(
        remedy_functions::pause::PARAMETER_ENV.into(),
        name.clone().into(),
    );
    orchestrator_statements(resources)?.push(yaml(serde_json::json!({
        "Sid": "ReadKillSwitch",
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": {"Fn::Sub": format!("arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{name}")}
    })));
    Ok(())
}

/// Lambda's limit on one function's environment: 4 KB for all its variables together.
pub const LAMBDA_ENVIRONMENT_BYTES: usize = 4096;

/// What a `Ref` in the orchestrator's environment (a queue URL, a table name) is counted as:
/// more than any of them can be.
const REF_BYTES: usize = 256;

/// The orchestrator's environment in `rendered`, at its largest (each `Ref` counted at
/// [`REF_BYTES`], the exceptions as everything the file's exceptions make for one account),
/// measured as Lambda measures it (the compact JSON of the variables, quotes escaped)
/// against its 4 KB: the rule table grows with the catalog, `grace` and the routes with
/// the file, and CloudFormation would only find out in the middle of an update.
pub fn check_environment(config: &Config, rendered: &RenderedTemplate) -> Result<(), String> {
    let doc: Value = serde_yaml::from_str(&rendered.body)
        .map_err(|e| format!("the rendered template does not parse: {e}"))?;
    let exceptions: Vec<remedy_functions::exceptions::Exception> = config
        .exceptions
        .iter()
        .map(|e| e.carried(Vec::new()))
        .collect();
    // The list itself: as a variable's value its quotes are escaped, as Lambda counts them.
    let exceptions_json = serde_json::to_string(&exceptions).unwrap_or_default();
    let variables: serde_json::Map<String, serde_json::Value> = doc
        .get("Resources")
        .and_then(|r| r.get("Orchestrator"))
        .and_then(|o| o.get("Properties"))
        .and_then(|p| p.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let key = k.as_str().unwrap_or_default().to_owned();
            let value = match v.as_str() {
                Some(text) => text.to_owned(),
                None if key == remedy_functions::exceptions::ENV => exceptions_json.clone(),
                None => "x".repeat(REF_BYTES),
            };
            (key, serde_json::Value::String(value))
        })
        .collect();
    let bytes = serde_json::Value::Object(variables).to_string().len();
    if bytes > LAMBDA_ENVIRONMENT_BYTES {
        return Err(format!(
            "the orchestrator's environment would take up to {bytes} bytes (the rule table, grace periods, notification routes and exceptions), more than the {LAMBDA_ENVIRONMENT_BYTES} Lambda allows: enable fewer rules with `grace`, or fewer or shorter exceptions"
        ));
    }
    Ok(())
}

/// The most characters the `Exceptions` parameter takes: what one stack carries is checked
/// against a tighter budget when the file is loaded (`MAX_EXCEPTIONS_BYTES`).
pub const EXCEPTIONS_MAX_LENGTH: usize = 4096;

/// Exceptions (issue 16): the stack's own list comes in the `Exceptions` parameter (one per
/// account, so that an account's stack carries only its exceptions while every stack of a
/// stage shares one template) and reaches the orchestrator as `REMEDY_EXCEPTIONS`. When an
/// exception names tags, the orchestrator may list resources by tag (`tag:GetResources`,
/// which has no resource-level permissions: `*`).
fn exceptions(doc: &mut Value, tags: bool) -> Result<(), String> {
    doc.get_mut("Parameters")
        .and_then(Value::as_mapping_mut)
        .ok_or("stacks/remediation.yaml has no Parameters")?
        .insert(
            "Exceptions".into(),
            yaml(serde_json::json!({
                "Type": "String",
                "Default": "[]",
                "MaxLength": EXCEPTIONS_MAX_LENGTH,
                "Description": "The exceptions this account's stack carries (JSON, written by remedy from remedy.yaml's exceptions: list)."
            })),
        );
    let resources = doc
        .get_mut("Resources")
        .and_then(Value::as_mapping_mut)
        .ok_or("stacks/remediation.yaml has no Resources")?;
    orchestrator_variables(resources)?.insert(
        remedy_functions::exceptions::ENV.into(),
        yaml(serde_json::json!({"Ref": "Exceptions"})),
    );
    if tags {
        orchestrator_statements(resources)?.push(yaml(serde_json::json!({
            "Sid": "ReadTagsForExceptions",
            "Effect": "Allow",
            "Action": "tag:GetResources",
            "Resource": "*"
        })));
    }
    Ok(())
}

/// Two alarms per stack (issue 17): a fix that failed (the ledger's EMF metric
/// `remedy`/`findings` with `outcome=failed`, summed over 5 minutes) and a finding in the
/// dead-letter queue (one that failed every retry). Both notify every notification topic;
/// with the stack's own key, CloudWatch may use it for those topics, for the stack's alarms
/// only (`aws:SourceArn`).
fn alarms(resources: &mut Mapping, config: &Config) -> Result<(), String> {
    let topics: Vec<serde_json::Value> = config
        .notifications
        .topics
        .iter()
        .map(|t| serde_json::json!({"Ref": format!("Notify{}Topic", logical_id(t.name.as_str()))}))
        .collect();
    let alarm = |name: &str, description: &str, metric: serde_json::Value| {
        let mut properties = serde_json::json!({
            "AlarmName": {"Fn::Sub": format!("${{AWS::StackName}}-{name}")},
            "AlarmDescription": description,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1,
            "EvaluationPeriods": 1,
            "Period": 300,
            "TreatMissingData": "notBreaching",
            "AlarmActions": topics,
        });
        if let (Some(p), Some(m)) = (properties.as_object_mut(), metric.as_object()) {
            p.extend(m.clone());
        }
        yaml(serde_json::json!({"Type": "AWS::CloudWatch::Alarm", "Properties": properties}))
    };
    resources.insert(
        "FailuresAlarm".into(),
        alarm(
            "failures",
            "remedy: a remediation failed in this account (remedy history --outcome failed says which)",
            serde_json::json!({
                "Namespace": remedy_functions::orchestrator::METRIC_NAMESPACE,
                "MetricName": remedy_functions::orchestrator::METRIC_NAME,
                "Dimensions": [{"Name": "outcome", "Value": "failed"}],
                "Statistic": "Sum",
            }),
        ),
    );
    resources.insert(
        "DeadLetterAlarm".into(),
        alarm(
            "findings-dlq",
            "remedy: a finding failed every retry and waits in the dead-letter queue",
            serde_json::json!({
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FindingsDeadLetterQueue", "QueueName"]}}],
                "Statistic": "Maximum",
            }),
        ),
    );
    if !topics.is_empty() && config.encryption == Encryption::CustomerKey {
        resources
            .get_mut("FindingsKey")
            .and_then(|k| k.get_mut("Properties"))
            .and_then(|p| p.get_mut("KeyPolicy"))
            .and_then(|d| d.get_mut("Statement"))
            .and_then(Value::as_sequence_mut)
            .ok_or("stacks/remediation.yaml: FindingsKey has no key policy statements")?
            .push(yaml(serde_json::json!({
                "Sid": "AlarmsNotifyEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                    "ArnLike": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"}}
                }
            })));
    }
    Ok(())
}

/// The orchestrator's environment variables, to add to.
fn orchestrator_variables(resources: &mut Mapping) -> Result<&mut Mapping, String> {
    resources
        .get_mut("Orchestrator")
        .and_then(|o| o.get_mut("Properties"))
        .and_then(|p| p.get_mut("Environment"))
        .and_then(|e| e.get_mut("Variables"))
        .and_then(Value::as_mapping_mut)
        .ok_or_else(|| "stacks/remediation.yaml: Orchestrator has no Environment.Variables".into())
}

/// The orchestrator role's policy statements, to add to or remove from.
fn orchestrator_statements(resources: &mut Mapping) -> Result<&mut Vec<Value>, String> {
    resources
        .get_mut("OrchestratorRole")
        .and_then(|r| r.get_mut("Properties"))
        .and_then(|p| p.get_mut("Policies"))
        .and_then(|p| p.get_mut(0))
        .and_then(|p| p.get_mut("PolicyDocument"))
        .and_then(|d| d.get_mut("Statement"))
        .and_then(Value::as_sequence_mut)
        .ok_or_else(|| "stacks/remediation.yaml: OrchestratorRole has no policy statements".into())
}

/// `encryption: aws-managed`: no customer-managed key. The queues use SQS-managed keys
/// (SSE-SQS); the topics carry no KMS key (an AWS-managed SNS key's policy cannot let
/// Conformity's account publish), and the orchestrator no longer decrypts.
fn without_customer_key(resources: &mut Mapping) -> Result<(), String> {
    resources.remove("FindingsKey");
    resources.remove("FindingsKeyAlias");
    for (_, resource) in resources.iter_mut() {
        let kind = resource
            .get("Type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let Some(properties) = resource
            .get_mut("Properties")
            .and_then(Value::as_mapping_mut)
        else {
            continue;
        };
        match kind.as_deref() {
            Some("AWS::SQS::Queue") => {
                properties.remove("KmsMasterKeyId");
                properties.insert("SqsManagedSseEnabled".into(), true.into());
            }
            Some("AWS::SNS::Topic") => {
                properties.remove("KmsMasterKeyId");
            }
            _ => {}
        }
    }
    let statements = orchestrator_statements(resources)?;
    statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some("DecryptFindings"));
    Ok(())
}

/// The orchestrator's routing table (`REMEDY_NOTIFICATIONS`): topic names and what they want.
fn notification_routes(config: &Config) -> Vec<serde_json::Value> {
    config
        .notifications
        .topics
        .iter()
        .map(|t| {
            serde_json::json!({
                "topic": format!("{}-notify-{}", config.stack_name, t.name),
                "risk_levels": t.risk_levels.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "categories": t.categories,
            })
        })
        .collect()
}

/// One encrypted topic per notification route, and its email subscriptions.
fn notification_resources(config: &Config) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for topic in &config.notifications.topics {
        let id = format!("Notify{}Topic", logical_id(topic.name.as_str()));
        out.push((
            id.clone(),
            yaml(serde_json::json!({
                "Type": "AWS::SNS::Topic",
                "Properties": {
                    "TopicName": format!("{}-notify-{}", config.stack_name, topic.name),
                    "DisplayName": format!("remedy notifications: {}", topic.name),
                    "KmsMasterKeyId": {"Ref": "FindingsKey"},
                    "Tags": [{"Key": MANAGED_TAG, "Value": "true"}]
                }
            })),
        ));
        for (i, email) in topic.emails.iter().enumerate() {
            out.push((
                format!("Notify{}Email{i}", logical_id(topic.name.as_str())),
                yaml(serde_json::json!({
                    "Type": "AWS::SNS::Subscription",
                    "Properties": {"TopicArn": {"Ref": id}, "Protocol": "email", "Endpoint": email.as_str()}
                })),
            ));
        }
    }
    out
}

/// The stack's parameters, in a stable order: `covered` (the stage's covered regions) is
/// `CoveredRegions`, left out when empty (the template's default: the stack's own region).
pub fn parameters(
    config: &Config,
    artifact_account: &str,
    artifact_key: &str,
    covered: &[String],
) -> Vec<(String, String)> {
    let mut parameters = vec![
        ("ArtifactAccountId".into(), artifact_account.into()),
        ("ArtifactKey".into(), artifact_key.into()),
        (
            "ConformityAccountId".into(),
            config.conformity.account_id.to_string(),
        ),
    ];
    if !covered.is_empty() {
        parameters.push(("CoveredRegions".into(), covered.join(",")));
    }
    if !config.exceptions.is_empty() {
        // None by default: each account's own come from `core::exceptions`.
        parameters.push(("Exceptions".into(), "[]".into()));
    }
    parameters
}

/// The `remedy:hash` of a deployment: the template, its parameters and the package.
pub fn deployment_hash(
    template: &RenderedTemplate,
    parameters: &[(String, String)],
    package_sha256: &str,
) -> String {
    let mut parts: Vec<&[u8]> = vec![b"remedy-deployment-v1\0", template.body.as_bytes()];
    for (k, v) in parameters {
        parts.extend([b"\0" as &[u8], k.as_bytes(), b"=", v.as_bytes()]);
    }
    parts.extend([b"\0" as &[u8], package_sha256.as_bytes()]);
    short_hash(&parts)
}

/// A CloudFormation logical id for a rule: `S3-001` → `S3001`.
pub fn logical_id(rule_id: &str) -> String {
    rule_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// The role, log group and function of one rule.
fn rule_resources(rule: &EnabledRule) -> Vec<(String, Value)> {
    let id = logical_id(rule.spec.id);
    let function_name = rule.spec.function_name();
    let log_group = format!("/aws/lambda/{function_name}");
    let settings = serde_json::to_string(&rule.settings).unwrap_or_else(|_| "{}".into());
    let managed_tags = || yaml(serde_json::json!([{"Key": MANAGED_TAG, "Value": "true"}]));

    // The rule's actions on every resource, but those it scopes, which get their own statements.
    let scoped: Vec<&str> = rule
        .spec
        .scoped
        .iter()
        .flat_map(|s| s.actions.iter().copied())
        .collect();
    let open: Vec<&str> = rule
        .spec
        .iam_actions
        .iter()
        .copied()
        .filter(|a| !scoped.contains(a))
        .collect();
    let mut statements = Vec::new();
    if !open.is_empty() {
        statements.push(serde_json::json!({
            "Sid": "RuleActions",
            "Effect": "Allow",
            "Action": open,
            "Resource": "*"
        }));
    }
    for (i, scope) in rule.spec.scoped.iter().enumerate() {
        let mut statement = serde_json::json!({
            "Sid": format!("RuleActionsScoped{i}"),
            "Effect": "Allow",
            "Action": scope.actions,
            "Resource": {"Fn::Sub": scope.resource}
        });
        if !scope.condition.is_empty() {
            let mut condition = serde_json::Map::new();
            for (operator, key, value) in scope.condition {
                let entry = condition
                    .entry(operator.to_string())
                    .or_insert_with(|| serde_json::json!({}));
                entry[*key] = serde_json::Value::from(*value);
            }
            statement["Condition"] = serde_json::Value::Object(condition);
        }
        statements.push(statement);
    }
    statements.push(serde_json::json!({
        "Sid": "OwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {"Fn::GetAtt": [format!("Rule{id}Logs"), "Arn"]}
    }));
    let role = serde_json::json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": format!("remedy - {} ({}): only the actions this rule declares", rule.spec.id, truncate(rule.spec.title, 150)),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole"
                }]
            },
            "Policies": [{
                "PolicyName": "remediate",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}
            }]
        }
    });
    let logs = serde_json::json!({
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": log_group,
            "RetentionInDays": {"Ref": "LogRetentionDays"}
        }
    });
    let function = serde_json::json!({
        "Type": "AWS::Lambda::Function",
        "DependsOn": format!("Rule{id}Logs"),
        "Properties": {
            "FunctionName": function_name,
            "Description": format!("remedy - {}: {}", rule.spec.id, truncate(rule.spec.title, 200)),
            "Runtime": "provided.al2023",
            "Handler": "bootstrap",
            "Architectures": ["x86_64"],
            "MemorySize": 256,
            "Timeout": 60,
            "Code": {
                "S3Bucket": {"Fn::Sub": "remedy-artifacts-${ArtifactAccountId}-${AWS::Region}"},
                "S3Key": {"Ref": "ArtifactKey"}
            },
            "Role": {"Fn::GetAtt": [format!("Rule{id}Role"), "Arn"]},
            // REMEDY_STACK_ID: the rules leave this stack's own resources alone.
            "Environment": {"Variables": {
                "REMEDY_MODE": rule.mode.as_str(),
                "REMEDY_SETTINGS": settings,
                "REMEDY_STACK_ID": {"Ref": "AWS::StackId"}
            }}
        }
    });
    let mut role = yaml(role);
    let mut function = yaml(function);
    for resource in [&mut role, &mut function] {
        if let Some(props) = resource
            .get_mut("Properties")
            .and_then(Value::as_mapping_mut)
        {
            props.insert("Tags".into(), managed_tags());
        }
    }
    vec![
        (format!("Rule{id}Role"), role),
        (format!("Rule{id}Logs"), yaml(logs)),
        (format!("Rule{id}Function"), function),
    ]
}

fn yaml(v: serde_json::Value) -> Value {
    // JSON is a subset of YAML's data model: this conversion cannot fail for json! values.
    serde_yaml::to_value(v).unwrap_or(Value::Mapping(Mapping::new()))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_deployment_hash_of_a_known_input_never_changes() {
        // A changed algorithm would update every deployed stack once: pinned (the value is
        // sha256(b"remedy-deployment-v1\0" body "\0" key "=" value "\0" package)[..16]).
        let t = RenderedTemplate {
            body: "Resources: {}\n".into(),
            footprint: Footprint::default(),
        };
        let p = vec![("OrganizationId".to_owned(), "o-abc".to_owned())];
        assert_eq!(
            deployment_hash(&t, &p, "aaa"),
            "55cc4537753e8163e16e28136ef55e17"
        );
    }

    #[test]
    fn a_stage_with_its_own_rules_renders_its_own_template() {
        let c = Config::parse(
            Path::new("remedy.yaml"),
            "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n  - name: prod\n    targets: {accounts: [\"222222222222\"]}\n    rules: {S3-001: dry-run}\nrules:\n  S3-001: remediate\n".into(),
        )
        .unwrap();
        let release = render(&c).unwrap();
        let dev = render_for(&c, Some(&c.stages[0])).unwrap();
        let prod = render_for(&c, Some(&c.stages[1])).unwrap();
        assert_eq!(dev.body, release.body, "no overlay: the release's template");
        assert_ne!(prod.body, release.body);
        let mode = |t: &RenderedTemplate| {
            resources(t)["RuleS3001Function"]["Properties"]["Environment"]["Variables"]
                ["REMEDY_MODE"]
                .as_str()
                .map(str::to_owned)
        };
        assert_eq!(mode(&dev).as_deref(), Some("remediate"));
        assert_eq!(mode(&prod).as_deref(), Some("dry-run"));
        let p = parameters(&c, "999999999999", "k", &[]);
        assert_ne!(
            deployment_hash(&dev, &p, "a"),
            deployment_hash(&prod, &p, "a")
        );
    }

    /// Issue 16, point 3: the grace table reaches the orchestrator, with SendMessage on the
    /// findings queue (and the key's data key) only when some rule has a grace period; a
    /// stage's overlay may give its own or lift it (`grace: 0`).
    #[test]
    fn a_grace_period_reaches_the_orchestrator_with_send_on_its_queue_only() {
        let c = Config::parse(
            Path::new("remedy.yaml"),
            "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\n  - name: prod\n    targets: {accounts: [\"222222222222\"]}\n    rules: {S3-001: {mode: remediate, grace: 0}, S3-012: {mode: remediate, grace: 90s}}\nrules:\n  S3-001: {mode: remediate, grace: 10m}\n  S3-012: remediate\n".into(),
        )
        .unwrap();
        let orchestrator = |t: &RenderedTemplate| {
            let res = resources(t);
            let variables = res["Orchestrator"]["Properties"]["Environment"]["Variables"].clone();
            let statements = res["OrchestratorRole"]["Properties"]["Policies"][0]["PolicyDocument"]
                ["Statement"]
                .clone();
            (variables, statements)
        };
        let sid = |statements: &Value, sid: &str| {
            statements
                .as_sequence()
                .unwrap()
                .iter()
                .find(|s| s["Sid"].as_str() == Some(sid))
                .cloned()
        };
        let (variables, statements) = orchestrator(&render(&c).unwrap());
        assert_eq!(variables["REMEDY_GRACE"], Value::from(r#"{"S3-001":600}"#));
        let queue: Value = serde_yaml::from_str("{Ref: FindingsQueue}").unwrap();
        assert_eq!(variables["REMEDY_FINDINGS_QUEUE"], queue);
        let send = sid(&statements, "RequeueForGrace").expect("SendMessage");
        assert_eq!(send["Action"], Value::from("sqs:SendMessage"));
        let arn: Value = serde_yaml::from_str("{Fn::GetAtt: [FindingsQueue, Arn]}").unwrap();
        assert_eq!(send["Resource"], arn);
        let key = sid(&statements, "EncryptRequeued").expect("the data key");
        let key_arn: Value = serde_yaml::from_str("{Fn::GetAtt: [FindingsKey, Arn]}").unwrap();
        assert_eq!(key["Resource"], key_arn);

        // prod: S3-001's grace lifted, S3-012's own.
        let (variables, _) = orchestrator(&render_for(&c, Some(&c.stages[1])).unwrap());
        assert_eq!(variables["REMEDY_GRACE"], Value::from(r#"{"S3-012":90}"#));

        // No grace anywhere: no table, no SendMessage.
        let (variables, statements) =
            orchestrator(&render(&config("  S3-001: remediate\n")).unwrap());
        assert!(variables.get("REMEDY_GRACE").is_none());
        assert!(variables.get("REMEDY_FINDINGS_QUEUE").is_none());
        assert!(sid(&statements, "RequeueForGrace").is_none());
        assert!(sid(&statements, "EncryptRequeued").is_none());

        // SSE-SQS: no key of the stack's to ask for.
        let managed = Config::parse(
            Path::new("remedy.yaml"),
            "encryption: aws-managed\nstages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\nrules:\n  S3-001: {mode: remediate, grace: 1m}\n".into(),
        )
        .unwrap();
        let (_, statements) = orchestrator(&render(&managed).unwrap());
        assert!(sid(&statements, "RequeueForGrace").is_some());
        assert!(sid(&statements, "EncryptRequeued").is_none());
    }

    fn config(rules: &str) -> Config {
        let yaml = format!(
            "stages:\n  - name: dev\n    targets: {{accounts: [\"111111111111\"]}}\nconformity: {{account_id: \"999999999999\"}}\nrules:\n{rules}"
        );
        Config::parse(Path::new("remedy.yaml"), yaml).unwrap()
    }

    fn resources(t: &RenderedTemplate) -> Mapping {
        let doc: Value = serde_yaml::from_str(&t.body).unwrap();
        doc["Resources"].as_mapping().unwrap().clone()
    }

    #[test]
    fn one_rule_renders_its_function_and_role() {
        let t = render(&config("  S3-001: remediate\n")).unwrap();
        let res = resources(&t);
        let f = &res["RuleS3001Function"]["Properties"];
        assert_eq!(f["FunctionName"], Value::from("AutoRemediateS3-001"));
        assert_eq!(
            f["Environment"]["Variables"]["REMEDY_MODE"],
            Value::from("remediate")
        );
        let stack_id: Value = serde_yaml::from_str("{Ref: AWS::StackId}").unwrap();
        assert_eq!(f["Environment"]["Variables"]["REMEDY_STACK_ID"], stack_id);
        let actions = &res["RuleS3001Role"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"][0]["Action"];
        let spec = remedy_functions::find_rule("S3-001").unwrap();
        let actions: Vec<&str> = actions
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(actions, spec.iam_actions);
        assert!(!res.contains_key("RuleS3012Function"));
        // A rule of a type CloudFormation does not tag reads its own stack's resources, there only.
        let kms = resources(&render(&config("  KMS-002: remediate\n")).unwrap());
        let statements = kms["RuleKMS002Role"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"]
            .as_sequence()
            .unwrap()
            .clone();
        let list: Value = serde_yaml::from_str(
            "{Sid: RuleActionsScoped0, Effect: Allow, Action: [cloudformation:ListStackResources], \
             Resource: {Fn::Sub: '${AWS::StackId}'}}",
        )
        .unwrap();
        assert!(statements.contains(&list), "{statements:?}");
        assert_eq!(
            res["Orchestrator"]["Properties"]["Environment"]["Variables"]["REMEDY_RULES"],
            Value::from(r#"{"S3-001":"remediate"}"#)
        );
        assert!(t.fits_inline());
    }

    #[test]
    fn every_rule_renders_and_needs_a_template_url() {
        let t = render(&config("  \"*\": dry-run\n")).unwrap();
        let res = resources(&t);
        for rule in remedy_functions::catalog() {
            let id = logical_id(rule.id);
            assert!(
                res.contains_key(format!("Rule{id}Function").as_str()),
                "{}",
                rule.id
            );
        }
        assert!(!t.fits_inline(), "{} bytes", t.body.len());
    }

    #[test]
    fn notification_topics_are_rendered_and_routed() {
        let yaml = "stages:\n  - name: dev\n    targets: {accounts: [\"111111111111\"]}\nnotifications:\n  topics:\n    - name: urgent\n      risk_levels: [VERY_HIGH, EXTREME]\n      emails: [secops@example.com]\nrules:\n  S3-001: remediate\n";
        let c = Config::parse(Path::new("remedy.yaml"), yaml.into()).unwrap();
        let t = render(&c).unwrap();
        let res = resources(&t);
        assert_eq!(
            res["NotifyurgentTopic"]["Properties"]["TopicName"],
            Value::from("remedy-notify-urgent")
        );
        assert_eq!(
            res["NotifyurgentEmail0"]["Properties"]["Endpoint"],
            Value::from("secops@example.com")
        );
        let routes = res["Orchestrator"]["Properties"]["Environment"]["Variables"]
            ["REMEDY_NOTIFICATIONS"]
            .as_str()
            .unwrap();
        let routes: serde_json::Value = serde_json::from_str(routes).unwrap();
        assert_eq!(
            routes,
            serde_json::json!([{"topic": "remedy-notify-urgent", "risk_levels": ["VERY_HIGH", "EXTREME"], "categories": []}])
        );
        let statements = res["OrchestratorRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"]
            .as_sequence()
            .unwrap();
        assert!(statements
            .iter()
            .any(|s| s["Sid"] == "PublishToNotificationTopics"));
        // Without topics, the orchestrator may publish nowhere.
        let plain = render(&config("  S3-001: remediate\n")).unwrap();
        let statements = resources(&plain)["OrchestratorRole"]["Properties"]["Policies"][0]
            ["PolicyDocument"]["Statement"]
            .clone();
        assert!(!statements
            .as_sequence()
            .unwrap()
            .iter()
            .any(|s| s["Sid"] == "PublishToNotificationTopics"));
    }

    #[test]
    fn hash_changes_with_template_parameters_and_package() {
        let c = config("  S3-001: remediate\n");
        let t = render(&c).unwrap();
        let covered = ["us-east-1".to_owned()];
        let p = parameters(&c, "123456789012", "packages/a.zip", &covered);
        let h = deployment_hash(&t, &p, "aaa");
        assert_eq!(
            h,
            deployment_hash(&render(&c).unwrap(), &p, "aaa"),
            "stable"
        );
        assert_ne!(h, deployment_hash(&t, &p, "bbb"));
        assert_ne!(
            h,
            deployment_hash(
                &t,
                &parameters(&c, "123456789012", "packages/b.zip", &covered),
                "aaa"
            )
        );
        // A stage that covers one more region is another deployment.
        let wider = ["us-east-1".to_owned(), "eu-west-1".to_owned()];
        assert_ne!(
            h,
            deployment_hash(
                &t,
                &parameters(&c, "123456789012", "packages/a.zip", &wider),
                "aaa"
            )
        );
        let t2 = render(&config("  S3-001: dry-run\n")).unwrap();
        assert_ne!(h, deployment_hash(&t2, &p, "aaa"));
        assert_eq!(h.len(), 32);
    }

    #[test]
    fn the_footprint_counts_one_account_s_stack() {
        let t = render(&config("  S3-001: remediate\n  EC2-002: dry-run\n")).unwrap();
        // Two rule functions and the orchestrator, a role each; the findings queue and its
        // two dead-letter queues; one key.
        assert_eq!(
            t.footprint,
            Footprint {
                functions: 3,
                roles: 3,
                queues: 3,
                kms_keys: 1,
                notification_topics: 0
            }
        );
        assert_eq!(t.footprint.kms_monthly_usd(), 1.0);
    }

    #[test]
    fn aws_managed_encryption_leaves_no_customer_key_behind() {
        let mut c = config("  S3-001: remediate\n");
        c.encryption = Encryption::AwsManaged;
        let t = render(&c).unwrap();
        assert_eq!(t.footprint.kms_keys, 0);
        assert!(!t.body.contains("FindingsKey"), "{}", t.body);
        assert!(!t.body.contains("KmsMasterKeyId"));
        let r = resources(&t);
        for queue in [
            "FindingsQueue",
            "FindingsDeadLetterQueue",
            "FindingsDeliveryDeadLetterQueue",
        ] {
            assert_eq!(
                r[queue]["Properties"]["SqsManagedSseEnabled"],
                Value::Bool(true),
                "{queue}"
            );
        }
    }
}
