//! Cloud Conformity's side of an account (pure): where its API answers, the one SNS
//! communication setting remedy keeps per account (the account's findings topic, the
//! `FAILURE` findings of the rules the stage deploys), and what to do about the settings an
//! account has. The HTTP calls are `aws::conformity`'s; the command is
//! `commands::conformity`.
//!
//! The shapes follow Conformity's public API reference (the `documentation-api`
//! repository: README.md for authentication, pagination and errors, Accounts.md for
//! `GET /accounts`, Settings.md for the communication settings), read leniently where its
//! pages and Trend Micro's own clients disagree (a created setting comes back as
//! `{"data": [...]}`, `{"data": {...}}` or `[{"data": {...}}]`; an account id as a string
//! or a number).
//!
//! Must not: make a call, read a key.

use serde_json::{json, Value};

/// The region of a secret's ARN (where it must be read).
pub(crate) fn secret_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3)
}

/// The setting remedy wants for one account: its findings topic, the rules the stage
/// deploys and the regions the stack acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub(crate) topic_arn: String,
    /// The label Conformity shows, and how remedy knows its own setting again.
    pub(crate) channel_name: String,
    /// Sorted.
    pub(crate) rule_ids: Vec<String>,
}

/// What remedy wants Conformity to do for every account of one stage: the rules the stage
/// deploys (every enabled rule: a `notify` one is notified by the orchestrator too), worked
/// out once per stage; each account's [`Wanted`] adds its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StageWanted {
    stage: String,
    /// A StackSet names each account's stack itself (`StackSet-<name>-<uuid>`): its topic
    /// is known only from the stack.
    stacksets: bool,
    stack_name: String,
    /// Sorted, never empty.
    rule_ids: Vec<String>,
}

/// [`StageWanted`] for `stage`, or why there is nothing to want: a stage that deploys no
/// rule would send Conformity an empty rule filter.
pub(crate) fn stage_wanted(
    config: &crate::core::config::Config,
    stage: &crate::core::config::Stage,
) -> Result<StageWanted, String> {
    let mut rule_ids: Vec<String> = config
        .stage_rules(Some(stage))
        .into_iter()
        .map(|r| r.spec.id.to_owned())
        .collect();
    rule_ids.sort();
    rule_ids.dedup();
    if rule_ids.is_empty() {
        return Err(format!(
            "stage {} deploys no rule: nothing for Conformity to send",
            stage.name
        ));
    }
    Ok(StageWanted {
        stage: stage.name.to_string(),
        stacksets: config.stage_engine(stage) == crate::core::config::Engine::Stacksets,
        stack_name: config.stack_name.clone(),
        rule_ids,
    })
}

impl StageWanted {
    /// For `account`, whose stack is in `home`: the `<stack_name>-findings` topic the
    /// configuration names; a StackSets stage cannot say.
    pub(crate) fn for_account(&self, account: &str, home: &str) -> Result<Wanted, String> {
        if self.stacksets {
            return Err(format!(
                "stage {} deploys with StackSets, which names each account's stack (and so its topic) itself: connect by hand, with `remedy status --output json`'s findings_topic_arn",
                self.stage
            ));
        }
        let partition = crate::core::region::partition_of(home);
        Ok(self.for_topic(format!(
            "arn:{partition}:sns:{home}:{account}:{}-findings",
            self.stack_name
        )))
    }

    /// For the topic a deployed stack names (`remedy status` has read each stack: a
    /// StackSet's too).
    pub(crate) fn for_topic(&self, topic_arn: String) -> Wanted {
        Wanted {
            topic_arn,
            channel_name: channel_name(&self.stack_name),
            rule_ids: self.rule_ids.clone(),
        }
    }
}

/// What `connect` did (or, in a dry run, would do) for one account, and what `status`
/// found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// connect: remedy's setting was created; status: Conformity publishes to the topic
    /// as wanted.
    Connected,
    /// connect: remedy's setting was updated.
    Updated,
    /// connect: already as wanted.
    Unchanged,
    /// dry run: would be created / updated.
    WouldConnect,
    WouldUpdate,
    /// status: remedy's setting differs (`reason` says how).
    Outdated,
    /// status: no setting of remedy's.
    NotConnected,
    /// The AWS account is not one of Conformity's.
    NotInConformity,
    Failed,
    /// Not reached (Ctrl-C).
    Skipped,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Connected => "connected",
            State::Updated => "updated",
            State::Unchanged => "unchanged",
            State::WouldConnect => "would_connect",
            State::WouldUpdate => "would_update",
            State::Outdated => "outdated",
            State::NotConnected => "not_connected",
            State::NotInConformity => "not_in_conformity",
            State::Failed => "failed",
            State::Skipped => "skipped",
        }
    }

    /// Whether the account is left unremediated: the command's exit is 1.
    pub(crate) fn is_problem(self) -> bool {
        matches!(
            self,
            State::Outdated
                | State::NotConnected
                | State::NotInConformity
                | State::Failed
                | State::Skipped
        )
    }
}

/// One account's row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) stage: String,
    pub(crate) account_id: String,
    pub(crate) account_name: String,
    pub(crate) topic_arn: String,
    /// Conformity's id of the account.
    pub(crate) conformity_account: Option<String>,
    /// remedy's setting's id.
    pub(crate) setting_id: Option<String>,
    pub(crate) state: State,
    pub(crate) reason: Option<String>,
}

/// The label of remedy's setting for the stack `stack_name`.
pub(crate) fn channel_name(stack_name: &str) -> String {
    format!("remedy {stack_name}")
}

/// The only status remedy acts on: a rule's check that failed.
pub(crate) const STATUSES: [&str; 1] = ["FAILURE"];

impl Wanted {
    /// The JSON:API `attributes` of the setting (Settings.md, "Create Communication
    /// Settings"): the SNS channel, enabled, not manual, remedy's filter.
    pub(crate) fn attributes(&self) -> Value {
        json!({
            "type": "communication",
            "channel": "sns",
            "enabled": true,
            "manual": false,
            "filter": {
                "statuses": STATUSES,
                "ruleIds": self.rule_ids,
            },
            "configuration": {
                "arn": self.topic_arn,
                "channelName": self.channel_name,
            },
        })
    }

    /// `POST /settings/communication`'s body: one setting of `account` (Conformity's id).
    pub(crate) fn create_body(&self, account: &str) -> Value {
        json!({"data": [{
            "type": "settings",
            "attributes": self.attributes(),
            "relationships": {"account": {"data": {"type": "accounts", "id": account}}},
        }]})
    }

    /// `PATCH /settings/communication/{id}`'s body.
    pub(crate) fn update_body(&self) -> Value {
        json!({"data": {"type": "settings", "attributes": self.attributes()}})
    }
}

/// One SNS communication setting, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Setting {
    pub(crate) id: String,
    /// Conformity's id of the account it belongs to; `None` for an organisation's.
    pub(crate) account: Option<String>,
    pub(crate) channel: String,
    pub(crate) enabled: bool,
    pub(crate) arn: Option<String>,
    pub(crate) channel_name: Option<String>,
    pub(crate) statuses: Vec<String>,
    pub(crate) rule_ids: Vec<String>,
    /// Filter keys besides `statuses`, `ruleIds` and `suppressed` (regions, services…):
    /// a setting that has them sends less than remedy wants.
    pub(crate) narrowed: bool,
    /// Whether its `configuration` was answered: a READONLY user's key gets settings
    /// without it (Settings.md), and then which topic a setting points at is unknown.
    pub(crate) readable: bool,
}

/// The JSON:API resources of a response body: `{"data": [...]}`, `{"data": {...}}` or
/// `[{"data": {...}}]` (the shapes the reference and Trend Micro's clients show).
fn resources(body: &Value) -> Vec<&Value> {
    match body {
        Value::Array(items) => items
            .iter()
            .flat_map(|item| match item.get("data") {
                Some(Value::Array(data)) => data.iter().collect(),
                Some(data @ Value::Object(_)) => vec![data],
                _ => Vec::new(),
            })
            .collect(),
        Value::Object(_) => match body.get("data") {
            Some(Value::Array(data)) => data.iter().collect(),
            Some(data @ Value::Object(_)) => vec![data],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The strings of a JSON array, sorted, once each.
fn strings(value: Option<&Value>) -> Vec<String> {
    let mut list = crate::core::util::json_strings(value);
    list.sort();
    list.dedup();
    list
}

/// The settings in a `GET /settings/communication` (or create) answer.
pub(crate) fn parse_settings(body: &Value) -> Vec<Setting> {
    resources(body)
        .into_iter()
        .filter_map(|r| {
            let attributes = r.get("attributes")?;
            let filter = attributes.get("filter");
            let configuration = attributes.get("configuration");
            let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
            let narrowed = filter.and_then(Value::as_object).is_some_and(|f| {
                f.iter().any(|(key, value)| {
                    !matches!(key.as_str(), "statuses" | "ruleIds" | "suppressed")
                        && !value.is_null()
                        && value.as_array().is_none_or(|a| !a.is_empty())
                })
            });
            Some(Setting {
                id: r.get("id")?.as_str()?.to_owned(),
                account: r
                    .pointer("/relationships/account/data/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                channel: text(attributes.get("channel")).unwrap_or_default(),
                enabled: attributes.get("enabled").and_then(Value::as_bool) == Some(true),
                arn: text(configuration.and_then(|c| c.get("arn"))),
                channel_name: text(configuration.and_then(|c| c.get("channelName"))),
                statuses: strings(filter.and_then(|f| f.get("statuses"))),
                rule_ids: strings(filter.and_then(|f| f.get("ruleIds"))),
                narrowed,
                readable: configuration.is_some_and(Value::is_object),
            })
        })
        .collect()
}

/// One Conformity account: its own id and the AWS account it checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConformityAccount {
    pub(crate) id: String,
    pub(crate) aws_account_id: String,
    pub(crate) name: Option<String>,
}

/// The AWS accounts of a `GET /accounts` page (Accounts.md: `attributes["awsaccount-id"]`,
/// a string, or a number in some answers; other clouds' accounts have none and are left
/// out).
pub(crate) fn parse_accounts(body: &Value) -> Vec<ConformityAccount> {
    resources(body)
        .into_iter()
        .filter_map(|r| {
            let attributes = r.get("attributes")?;
            let aws = match attributes.get("awsaccount-id")? {
                Value::String(s) => s.clone(),
                Value::Number(n) => format!("{:012}", n.as_u64()?),
                _ => return None,
            };
            let id = r.get("id")?.as_str()?.to_owned();
            crate::core::config::is_account_id(&aws).then(|| ConformityAccount {
                id,
                aws_account_id: aws,
                name: attributes
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        })
        .collect()
}

/// What `connect` does about one account's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// No setting of remedy's: create one.
    Create,
    /// remedy's setting (known by its label or its topic) differs: update it.
    Update { id: String, was: String },
    /// remedy's setting is as wanted.
    Unchanged { id: String },
}

/// remedy's setting among `settings` for the Conformity account `account`: the SNS one
/// labelled as remedy's, else the SNS one that points at the wanted topic (made by hand).
/// An organisation's settings are never remedy's.
fn ours<'s>(settings: &'s [Setting], account: &str, wanted: &Wanted) -> Option<&'s Setting> {
    let candidates = || {
        settings
            .iter()
            .filter(|s| s.channel == "sns" && s.account.as_deref() == Some(account))
    };
    candidates()
        .find(|s| s.channel_name.as_deref() == Some(wanted.channel_name.as_str()))
        .or_else(|| candidates().find(|s| s.arn.as_deref() == Some(wanted.topic_arn.as_str())))
}

/// How `setting` differs from `wanted`, in words; `None` when it does not.
fn difference(setting: &Setting, wanted: &Wanted) -> Option<String> {
    let mut what = Vec::new();
    if setting.arn.as_deref() != Some(wanted.topic_arn.as_str()) {
        what.push(format!(
            "topic {}",
            setting.arn.as_deref().unwrap_or("(none)")
        ));
    }
    if !setting.enabled {
        what.push("disabled".to_owned());
    }
    if setting.statuses != STATUSES {
        what.push(format!("statuses {:?}", setting.statuses));
    }
    if setting.rule_ids != wanted.rule_ids {
        what.push(format!("{} rule ids", setting.rule_ids.len()));
    }
    if setting.narrowed {
        what.push("a narrower filter".to_owned());
    }
    if setting.channel_name.as_deref() != Some(wanted.channel_name.as_str()) {
        what.push("another label".to_owned());
    }
    (!what.is_empty()).then(|| what.join(", "))
}

/// Why the account's settings cannot be judged: an SNS setting of it whose configuration
/// the key may not read (a READONLY user's key), so a create could duplicate it.
pub(crate) fn unreadable(settings: &[Setting], account: &str) -> Option<String> {
    settings
        .iter()
        .any(|s| s.channel == "sns" && s.account.as_deref() == Some(account) && !s.readable)
        .then(|| {
            "Conformity answered the account's SNS settings without their configuration (a READONLY user's key?): which topic they point at is unknown, so nothing was changed".to_owned()
        })
}

/// How many more SNS settings of `account` carry remedy's label than the one remedy keeps
/// (made by a run whose answer was lost, or by hand): named, never deleted.
pub(crate) fn extra_labelled(settings: &[Setting], account: &str, wanted: &Wanted) -> usize {
    settings
        .iter()
        .filter(|s| {
            s.channel == "sns"
                && s.account.as_deref() == Some(account)
                && s.channel_name.as_deref() == Some(wanted.channel_name.as_str())
        })
        .count()
        .saturating_sub(1)
}

/// What to do so that `account` (Conformity's id) has exactly remedy's setting.
pub(crate) fn plan(settings: &[Setting], account: &str, wanted: &Wanted) -> Plan {
    match ours(settings, account, wanted) {
        None => Plan::Create,
        Some(setting) => match difference(setting, wanted) {
            None => Plan::Unchanged {
                id: setting.id.clone(),
            },
            Some(was) => Plan::Update {
                id: setting.id.clone(),
                was,
            },
        },
    }
}

/// Whether Conformity publishes an account's findings to its topic (`conformity status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Link {
    /// remedy's setting, as wanted.
    Connected,
    /// remedy's setting, but not as wanted (why).
    Outdated(String),
    /// No setting of remedy's.
    NotConnected,
}

pub(crate) fn link(settings: &[Setting], account: &str, wanted: &Wanted) -> Link {
    match plan(settings, account, wanted) {
        Plan::Create => Link::NotConnected,
        Plan::Update { was, .. } => Link::Outdated(was),
        Plan::Unchanged { .. } => Link::Connected,
    }
}

/// A Conformity rule remedy's own stack trips by design, and why that is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exempt {
    pub(crate) rule_id: &'static str,
    pub(crate) why: &'static str,
    /// Excepted by the `remedy:managed` tag rather than by CloudFormation's
    /// `aws:cloudformation:stack-name`: the stack itself, and the resource types whose
    /// CloudFormation schema says `tagging.cloudFormationSystemTags: false` (SQS queues,
    /// DynamoDB tables) carry no `aws:cloudformation:*` tag.
    pub(crate) by_managed_tag: bool,
}

/// The Conformity rules remedy's stack would trip with this configuration (ids and titles
/// from Conformity's rule list: its `services` API), each with why it is accepted.
pub(crate) fn exemptions(config: &crate::core::config::Config) -> Vec<Exempt> {
    use crate::core::config::Encryption;
    // Lambda functions, SNS topics and log groups carry CloudFormation's system tags.
    let resource = |rule_id, why| Exempt {
        rule_id,
        why,
        by_managed_tag: false,
    };
    let stack = |rule_id, why| Exempt {
        rule_id,
        why,
        by_managed_tag: true,
    };
    let mut list = vec![
        resource("Lambda-003", "Tracing Enabled: the functions trace PassThrough; X-Ray costs per trace and remediations are in the ledger"),
        resource("Lambda-007", "VPC Access: the functions call only AWS APIs; a VPC would need endpoints for every service a rule acts on"),
        resource("Lambda-009", "Environment variables encrypted with a customer key: they hold the rule's mode and settings, never a secret"),
        stack("DynamoDB-003", "Continuous Backups: the counters table holds rate-limit counters that expire within hours"),
        stack("DynamoDB-004", "Table encrypted with a customer key: the counters are neither secret nor personal"),
        stack("DynamoDB-005", "Backup and Restore: nothing in the counters table is worth restoring"),
        stack("SQS-006", "Dead Letter Queue: the dead-letter queues are themselves the end of the line"),
        stack("CFM-001", "Stack Notification: remedy reports every stack operation itself"),
        stack("CFM-002", "Stack Policy: only remedy updates its stack, through the deploy role"),
        stack("CFM-005", "Termination Protection: `remedy remove` must be able to delete the stack"),
    ];
    if config.role.execution_role.is_none() {
        list.push(stack(
            "CFM-006",
            "Stack With IAM Role: set role.execution_role to give the stack a service role instead",
        ));
    }
    if config.encryption == Encryption::AwsManaged {
        list.push(resource("SNS-006", "SNS Topic Encrypted: `encryption: aws-managed` leaves the topics unencrypted at rest (an AWS-managed key cannot be used by Conformity's publisher)"));
        list.push(resource(
            "SNS-007",
            "SNS Topic Encrypted With a customer key: `encryption: aws-managed`",
        ));
        list.push(stack(
            "SQS-005",
            "SQS Encrypted With a customer key: `encryption: aws-managed` uses SSE-SQS",
        ));
    }
    list.sort_by_key(|e| e.rule_id);
    list
}

/// The name of remedy's Conformity profile for the stack `stack_name`.
pub(crate) fn profile_name(stack_name: &str) -> String {
    format!("remedy {stack_name}")
}

/// The exceptions of one rule: remedy's resources by CloudFormation's own stack-name tag,
/// which nobody can set by hand (the `aws:` prefix is AWS's); the stack itself and the types
/// without system tags by `remedy:managed` (a stack tag, which CloudFormation propagates).
/// StackSets name each stack themselves: their stacks' resources by `remedy:managed` too.
fn exception_tags(exempt: &Exempt, stack_name: &str, stacksets: bool) -> Vec<String> {
    if exempt.by_managed_tag || stacksets {
        vec![format!("{}::true", remedy_functions::rule::MANAGED_TAG)]
    } else {
        vec![format!("aws:cloudformation:stack-name::{stack_name}")]
    }
}

/// The profile as `POST /profiles` (or, with `id`, `PATCH /profiles/{id}`) takes it
/// (Profiles.md): one rule setting per exemption, enabled, with its exceptions; no risk
/// level (Conformity's own stays).
pub(crate) fn profile_body(config: &crate::core::config::Config, id: Option<&str>) -> Value {
    let exempt = exemptions(config);
    let stacksets = config
        .stages
        .iter()
        .any(|s| config.stage_engine(s) == crate::core::config::Engine::Stacksets);
    let included: Vec<Value> = exempt
        .iter()
        .map(|e| {
            json!({"type": "rules", "id": e.rule_id, "attributes": {
                "enabled": true,
                "provider": "aws",
                "exceptions": {"tags": exception_tags(e, &config.stack_name, stacksets), "resources": []},
                "extraSettings": [],
            }})
        })
        .collect();
    let mut data = json!({
        "type": "profiles",
        "attributes": {
            "name": profile_name(&config.stack_name),
            "description": format!(
                "remedy's own resources (stack {}), excepted from the rules they trip by design: {}",
                config.stack_name,
                exempt.iter().map(|e| format!("{} ({})", e.rule_id, e.why)).collect::<Vec<_>>().join("; ")
            ),
        },
        "relationships": {"ruleSettings": {"data":
            exempt.iter().map(|e| json!({"type": "rules", "id": e.rule_id})).collect::<Vec<_>>()}},
    });
    if let Some(id) = id {
        data["id"] = json!(id);
    }
    json!({"included": included, "data": data})
}

/// The profiles of a `GET /profiles` answer: (id, name).
pub(crate) fn parse_profiles(body: &Value) -> Vec<(String, String)> {
    resources(body)
        .into_iter()
        .filter_map(|r| {
            Some((
                r.get("id")?.as_str()?.to_owned(),
                r.pointer("/attributes/name")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// A profile's rule settings, as (rule id, its exception tags sorted), sorted: what
/// `profile --apply` compares.
pub(crate) fn profile_rules(body: &Value) -> Vec<(String, Vec<String>)> {
    let mut rules: Vec<(String, Vec<String>)> = body
        .get("included")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|i| i["type"] == "rules")
                .filter_map(|i| {
                    Some((
                        i.get("id")?.as_str()?.to_owned(),
                        strings(i.pointer("/attributes/exceptions/tags")),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    rules.sort();
    rules
}

/// The message of an error answer: JSON:API `errors[].detail` (or `details`, `title`), an
/// API gateway's `Message`, else the start of the body. Never more than one line.
pub(crate) fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            let texts: Vec<String> = errors
                .iter()
                .filter_map(|e| {
                    ["detail", "details", "title"]
                        .iter()
                        .find_map(|k| e.get(*k).and_then(Value::as_str))
                        .map(
                            |t| match e.pointer("/source/pointer").and_then(Value::as_str) {
                                Some(at) => format!("{t} ({at})"),
                                None => t.to_owned(),
                            },
                        )
                })
                .collect();
            (!texts.is_empty()).then(|| texts.join("; "))
        } else {
            ["Message", "message"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str))
                .map(str::to_owned)
        }
    });
    let text = from_json.unwrap_or_else(|| body.to_owned());
    remedy_functions::rule::one_line(&text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{base_url_of_region, check_base_url, is_secret_arn};

    fn wanted() -> Wanted {
        Wanted {
            topic_arn: "arn:aws:sns:us-east-1:111111111111:remedy-findings".into(),
            channel_name: channel_name("remedy"),
            rule_ids: vec!["EC2-002".into(), "S3-001".into()],
        }
    }

    #[test]
    fn regions_name_the_documented_hosts() {
        assert_eq!(
            base_url_of_region("us-west-2").as_deref(),
            Some("https://us-west-2-api.cloudconformity.com/v1")
        );
        assert_eq!(
            base_url_of_region("us-1").as_deref(),
            Some("https://conformity.us-1.cloudone.trendmicro.com/api")
        );
        assert_eq!(base_url_of_region("us-east-1"), None);
        assert_eq!(
            check_base_url("https://conformity.example/api/").as_deref(),
            Ok("https://conformity.example/api")
        );
        assert!(check_base_url("http://127.0.0.1:8080/v1").is_ok());
        assert!(check_base_url("http://localhost/v1").is_ok());
        for bad in [
            "http://conformity.example",
            "http://localhost.evil.example",
            "http://127.0.0.1:80@evil.example/v1",
            "http://localhost:x@evil.example",
            "https://user@conformity.example/v1",
            "https://x/?a=b",
            "ftp://x",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
        assert!(is_secret_arn(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:conformity-AbCdEf"
        ));
        assert!(!is_secret_arn(
            "arn:aws:ssm:us-east-1:123456789012:parameter/x"
        ));
        assert!(!is_secret_arn(
            "arn:aws:secretsmanager:us-east-1:123:secret:x"
        ));
    }

    #[test]
    fn the_documented_shapes_are_read() {
        // Accounts.md, "List All Accounts" (abridged), one id as a number.
        let accounts = json!({"data": [
            {"type": "accounts", "id": "AgA12vIwb", "attributes": {"name": "Test", "awsaccount-id": "123456789013"}},
            {"type": "accounts", "id": "55Yfrq_IT", "attributes": {"name": "n", "awsaccount-id": 23456789012u64}},
            {"type": "accounts", "id": "az", "attributes": {"name": "azure", "cloud-type": "azure"}},
        ]});
        let read = parse_accounts(&accounts);
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].aws_account_id, "123456789013");
        assert_eq!(read[1].aws_account_id, "023456789012");
        // Settings.md, a create answer: a top-level array.
        let created = json!([{"data": {"type": "settings", "id": "A:communication:sns-1",
            "attributes": {"type": "communication", "manual": "", "enabled": true, "channel": "sns",
                "filter": {"statuses": ["FAILURE"], "ruleIds": ["S3-001", "EC2-002"]},
                "configuration": {"arn": wanted().topic_arn, "channelName": "remedy remedy"}},
            "relationships": {"account": {"data": {"type": "accounts", "id": "A"}}}}}]);
        let settings = parse_settings(&created);
        assert_eq!(settings.len(), 1);
        assert_eq!(settings[0].rule_ids, ["EC2-002", "S3-001"]);
        assert_eq!(
            plan(&settings, "A", &wanted()),
            Plan::Unchanged {
                id: "A:communication:sns-1".into()
            }
        );
    }

    #[test]
    fn remedys_setting_is_found_by_label_then_topic_and_never_an_organisations() {
        let ours = Setting {
            id: "A:communication:sns-1".into(),
            account: Some("A".into()),
            channel: "sns".into(),
            enabled: true,
            arn: Some(wanted().topic_arn),
            channel_name: Some(channel_name("remedy")),
            statuses: vec!["FAILURE".into()],
            rule_ids: wanted().rule_ids,
            narrowed: false,
            readable: true,
        };
        let organisation = Setting {
            id: "communication:sns-9".into(),
            account: None,
            ..ours.clone()
        };
        assert_eq!(
            plan(std::slice::from_ref(&organisation), "A", &wanted()),
            Plan::Create
        );
        assert_eq!(link(&[organisation], "A", &wanted()), Link::NotConnected);
        let moved = Setting {
            arn: Some("arn:aws:sns:eu-west-1:111111111111:remedy-findings".into()),
            ..ours.clone()
        };
        assert!(matches!(
            plan(&[moved], "A", &wanted()),
            Plan::Update { was, .. } if was.contains("topic arn:aws:sns:eu-west-1")
        ));
        // Made by hand for the same topic: taken over, relabelled.
        let by_hand = Setting {
            channel_name: None,
            ..ours.clone()
        };
        assert!(matches!(
            plan(&[by_hand], "A", &wanted()),
            Plan::Update { was, .. } if was == "another label"
        ));
        let narrowed = Setting {
            narrowed: true,
            enabled: false,
            ..ours.clone()
        };
        assert_eq!(
            link(&[narrowed], "A", &wanted()),
            Link::Outdated("disabled, a narrower filter".into())
        );
        assert_eq!(
            link(std::slice::from_ref(&ours), "A", &wanted()),
            Link::Connected
        );
        // Two settings with remedy's label: one is kept, the other named.
        let twice = [
            ours.clone(),
            Setting {
                id: "A:communication:sns-2".into(),
                ..ours.clone()
            },
        ];
        assert_eq!(extra_labelled(&twice, "A", &wanted()), 1);
        assert_eq!(extra_labelled(&twice, "B", &wanted()), 0);
        // A READONLY key's answer has no configuration: nothing can be judged.
        let hidden = Setting {
            readable: false,
            arn: None,
            channel_name: None,
            ..ours
        };
        assert!(unreadable(&[hidden], "A").is_some());
    }

    #[test]
    fn error_answers_say_why_in_one_line() {
        assert_eq!(
            error_message(
                r#"{"errors":[{"status":422,"detail":"Name is required","source":{"pointer":"/data/attributes/name"}}]}"#
            ),
            "Name is required (/data/attributes/name)"
        );
        assert_eq!(
            error_message(
                r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#
            ),
            "User is not authorized to access this resource with an explicit deny"
        );
        assert_eq!(error_message("bad\ngateway"), "bad gateway");
    }
}
