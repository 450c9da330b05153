//! SNS rules: topic policy statements open to everyone (`*` is taken out of them: a
//! statement naming no other principal is removed).

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Take `*` out of the topic policy statements that allow everyone with no condition
    // narrowing it to an account, organization or source (see `is_open_to_everyone`
    // below): a statement whose only principal is `*` is removed, one that also names other
    // principals is kept for them.
    RuleSpec {
        id: "SNS-001",
        title: "SNS Topic Open to Everyone",
        service: "SNS",
        risk: RiskLevel::High,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "sns:GetTopicAttributes",
            "sns:SetTopicAttributes",
            "sns:ListTagsForResource",
        ],
        fix: |ctx| Box::pin(on_topic(ctx, remove_open_statements_from_topic)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The finding's `resource` is the topic's name (the ARN is built from the
// account and region the rule runs in) or its ARN.

use crate::rule::{Context, Report, RuleError};
use aws_sdk_sns::Client;
use serde_json::{json, Value};

/// Runs `fix`, one SNS rule's own check and fix, on the finding's topic (a client and the
/// topic's ARN), unless the topic is remedy's own.
async fn on_topic(
    ctx: &Context,
    fix: impl AsyncFnOnce(&Context, &Client, &str) -> Result<Report, RuleError>,
) -> Result<Report, RuleError> {
    let topic_arn = topic_arn(ctx, ctx.resource()?);
    let sns = Client::new(&ctx.aws);
    if is_managed(ctx, &sns, &topic_arn).await? {
        return Ok(Report::managed(&topic_arn));
    }
    fix(ctx, &sns, &topic_arn).await
}

/// The topic ARN for a name, or the ARN itself.
fn topic_arn(ctx: &Context, resource: &str) -> String {
    if resource.starts_with("arn:") {
        resource.to_owned()
    } else {
        arn(ctx, "sns", resource)
    }
}

/// Whether the topic's tags say remedy's own stack made it (CloudFormation's reserved tags).
async fn is_managed(ctx: &Context, sns: &Client, topic_arn: &str) -> Result<bool, RuleError> {
    let tags = sns
        .list_tags_for_resource()
        .resource_arn(topic_arn)
        .send()
        .await
        .map_err(|e| RuleError::aws("ListTagsForResource", &e))?;
    Ok(ctx.owns_tagged(tags.tags().iter().map(|t| (t.key(), t.value()))))
}

/// SNS-001: everyone is taken out of the statements open to everyone (a statement naming no
/// other principal is removed); when no statement is left, the topic gets back
/// the default policy AWS gives a new topic (its own account only), since a topic policy
/// cannot be emptied.
async fn remove_open_statements_from_topic(
    ctx: &Context,
    sns: &Client,
    topic_arn: &str,
) -> Result<Report, RuleError> {
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(topic_arn)
        .send()
        .await
        .map_err(|e| RuleError::aws("GetTopicAttributes", &e))?;
    let Some(text) = attributes.attributes().and_then(|a| a.get("Policy")) else {
        return Ok(Report::compliant(format!(
            "{topic_arn} has no topic policy"
        )));
    };
    let mut policy = parse_policy(text, &format!("the policy of topic {topic_arn}"))?;
    let removed = remove_open_statements(&mut policy)?;
    if removed.is_empty() {
        return Ok(Report::compliant(format!(
            "{topic_arn}'s policy has no statement open to everyone"
        )));
    }
    let owner = format!("topic {topic_arn}");
    let mut actions: Vec<String> = removed.iter().map(|s| s.action(&owner)).collect();
    if statements(&mut policy)?.is_empty() {
        policy = default_topic_policy(topic_arn, &ctx.account_id);
        actions.push(format!(
            "no statement was left: gave topic {topic_arn} the default policy (account {} only)",
            ctx.account_id
        ));
    }
    ctx.fix(actions, async {
        sns.set_topic_attributes()
            .topic_arn(topic_arn)
            .attribute_name("Policy")
            .attribute_value(policy.to_string())
            .send()
            .await
            .map_err(|e| RuleError::aws("SetTopicAttributes", &e))?;
        crate::rule::changed("sns:SetTopicAttributes", topic_arn);
        Ok(())
    })
    .await
}

/// The policy AWS gives a new topic: the owning account may use it, no one else.
fn default_topic_policy(topic_arn: &str, account_id: &str) -> Value {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}}
        }]
    })
}

// ---------------------------------------------------------------------------------------
// Resource policies, shared with `sqs` and `lambda`: which statements open a resource to
// everyone, and ARNs built from the context.

/// `arn:<partition>:<service>:<region>:<account>:<resource>` for the rule's account and region.
pub(crate) fn arn(ctx: &Context, service: &str, resource: &str) -> String {
    format!(
        "arn:{}:{service}:{}:{}:{resource}",
        crate::partition::partition(&ctx.region),
        ctx.region,
        ctx.account_id
    )
}

/// A policy document read from an attribute: `what` names it in the error.
pub(crate) fn parse_policy(text: &str, what: &str) -> Result<Value, RuleError> {
    serde_json::from_str(text).map_err(|e| RuleError::new(format!("{what} is not JSON: {e}")))
}

/// The policy's statements as a list (a single statement may be written as an object).
pub(crate) fn statements(policy: &mut Value) -> Result<&mut Vec<Value>, RuleError> {
    let object = policy
        .as_object_mut()
        .ok_or_else(|| RuleError::new("the policy is not a JSON object"))?;
    let statement = object.entry("Statement").or_insert_with(|| json!([]));
    if !statement.is_array() {
        *statement = Value::Array(vec![statement.take()]);
    }
    statement
        .as_array_mut()
        .ok_or_else(|| RuleError::new("the policy's Statement is not a list"))
}

/// A statement open to everyone, as [`remove_open_statements`] dealt with it.
#[derive(Debug)]
pub(crate) struct Removed {
    /// Its `Sid`, if it has one.
    pub sid: Option<String>,
    /// How actions name it: the `Sid`, or `#n` (its position, from 0) without one.
    pub label: String,
    /// Whether it named principals besides everyone: then only `*` was taken out of its
    /// principals and the statement kept for the others; otherwise it was removed whole.
    pub kept_for_others: bool,
}

impl Removed {
    /// What was done, for a report's actions: `resource` names the policy's owner.
    pub(crate) fn action(&self, resource: &str) -> String {
        if self.kept_for_others {
            format!(
                "removed everyone (`*`) from the principals of statement {} of {resource}'s \
                 policy, keeping the principals it names",
                self.label
            )
        } else {
            format!(
                "removed statement {} (open to everyone) from {resource}'s policy",
                self.label
            )
        }
    }
}

/// Deals with the statements open to everyone (see [`is_open_to_everyone`]) in `policy`: one
/// whose only principal is everyone is taken out; one that also names other principals loses
/// `*` only and is kept for them. Every other statement is kept as it was.
pub(crate) fn remove_open_statements(policy: &mut Value) -> Result<Vec<Removed>, RuleError> {
    let list = statements(policy)?;
    let mut removed = Vec::new();
    let mut index = 0;
    list.retain_mut(|statement| {
        let label_index = index;
        index += 1;
        if !is_open_to_everyone(statement) {
            return true;
        }
        let sid = statement
            .get("Sid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let label = sid.clone().unwrap_or_else(|| format!("#{label_index}"));
        let kept_for_others = statement.get_mut("Principal").is_some_and(remove_everyone);
        removed.push(Removed {
            sid,
            label,
            kept_for_others,
        });
        kept_for_others
    });
    Ok(removed)
}

/// An `Allow` statement whose principal is everyone (`"*"`, `{"AWS": "*"}`, or a list of
/// principals with `"*"` among them) and whose condition does not narrow who that is.
pub(crate) fn is_open_to_everyone(statement: &Value) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
        && statement.get("Principal").is_some_and(is_everyone)
        && !statement.get("Condition").is_some_and(narrows_principal)
}

fn is_everyone(principal: &Value) -> bool {
    let star = |v: &Value| match v {
        Value::String(s) => s == "*",
        Value::Array(items) => items.iter().any(|i| i == "*"),
        _ => false,
    };
    match principal {
        Value::Object(map) => map.get("AWS").is_some_and(star),
        other => star(other),
    }
}

/// Takes everyone (`"*"`) out of a principal, keeping every principal it names besides.
/// Returns whether any principal is left; when none is (everyone was the only one), the
/// principal is left as it was, for the caller to remove or replace.
pub(crate) fn remove_everyone(principal: &mut Value) -> bool {
    let Value::Object(map) = principal else {
        // `"*"` (or `["*", …]`, which IAM does not accept): no named principal.
        return false;
    };
    let mut kept = map.clone();
    match kept.get_mut("AWS") {
        Some(Value::String(s)) if s == "*" => {
            kept.remove("AWS");
        }
        Some(Value::Array(items)) => {
            items.retain(|i| i != "*");
            if items.is_empty() {
                kept.remove("AWS");
            }
        }
        _ => {}
    }
    if kept.is_empty() {
        return false;
    }
    *map = kept;
    true
}

/// What a narrowing condition key names, and so which part of its value must be pinned
/// (free of the wildcards `*` and `?`) for the statement to be narrowed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pins {
    /// `aws:SourceAccount`, `aws:PrincipalAccount`, `aws:SourceOwner` (an account id),
    /// `aws:PrincipalOrgID`, `aws:SourceOrgID` (an organization id), `aws:SourceVpc`,
    /// `aws:SourceVpce` (a VPC or VPC endpoint id): the whole value.
    Whole,
    /// `aws:PrincipalOrgPaths`, `aws:SourceOrgPaths` (`o-…/r-…/ou-…/`): the organization id,
    /// the path's first segment; what follows may be a wildcard (`o-abc123/*`).
    OrgPath,
    /// `aws:SourceArn`, `aws:PrincipalArn`: the ARN's account segment, present and pinned.
    /// An S3 bucket ARN has none (`arn:aws:s3:::bucket`): it narrows only when the bucket
    /// name is pinned (a name with a wildcard may be someone else's bucket).
    Arn,
}

/// The narrowing keys (see [`Pins`]); `None` for any other key.
fn pins(key: &str) -> Option<Pins> {
    match key.to_ascii_lowercase().as_str() {
        "aws:sourceaccount"
        | "aws:principalaccount"
        | "aws:sourceowner"
        | "aws:sourceorgid"
        | "aws:principalorgid"
        | "aws:sourcevpc"
        | "aws:sourcevpce" => Some(Pins::Whole),
        "aws:sourceorgpaths" | "aws:principalorgpaths" => Some(Pins::OrgPath),
        "aws:sourcearn" | "aws:principalarn" => Some(Pins::Arn),
        _ => None,
    }
}

/// Operators that require a narrowing key to match, alone or with `ForAnyValue:` (negated
/// operators let every other value through; `…IfExists`, `Null` and `ForAllValues:` ones let
/// requests without the key through).
const MATCHING_OPERATORS: &[&str] = &[
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
    "arnequals",
    "arnlike",
];

/// Whether a statement's `Condition` requires one of the narrowing keys (see [`Pins`]) to
/// match values that are all pinned: an account, organization, bucket or endpoint no one
/// else can have. A wildcard (`*` or `?`) in the pinned part never narrows, whatever the
/// operator (`StringLike` `1234*`, `o-*`; `ArnLike` — and `ArnEquals`, which takes wildcards
/// too — `arn:aws:s3:::*`, `arn:aws:sns:*:*:*`). Under `StringEquals` a `*` is literal and
/// matches no one: still counted as not narrowing, which costs nothing (the fix then takes
/// away an access that allowed no one).
fn narrows_principal(condition: &Value) -> bool {
    let Some(operators) = condition.as_object() else {
        return false;
    };
    operators.iter().any(|(operator, keys)| {
        let operator = operator.to_ascii_lowercase();
        let operator = operator.strip_prefix("foranyvalue:").unwrap_or(&operator);
        if !MATCHING_OPERATORS.contains(&operator) {
            return false;
        }
        // A string operator matches the whole ARN as one string: a `*` before the account
        // segment can take in colons, so the account is pinned only with none there.
        let whole_string = operator.starts_with("string");
        keys.as_object().is_some_and(|keys| {
            keys.iter().any(|(key, value)| {
                let Some(pins) = pins(key) else {
                    return false;
                };
                let pinned = |v: &Value| match v {
                    Value::String(s) => is_pinned(pins, s, whole_string),
                    Value::Number(n) => is_pinned(pins, &n.to_string(), whole_string),
                    _ => false,
                };
                match value {
                    Value::Array(items) => !items.is_empty() && items.iter().all(pinned),
                    other => pinned(other),
                }
            })
        })
    })
}

/// Whether `value` of a key that [`Pins`] the given part has that part present and free of
/// wildcards. `whole_string`: the operator is a string one, not an ARN one.
fn is_pinned(pins: Pins, value: &str, whole_string: bool) -> bool {
    let wild = |s: &str| s.contains(['*', '?']);
    let fixed = |s: &str| !s.is_empty() && !wild(s);
    match pins {
        Pins::Whole => fixed(value),
        Pins::OrgPath => fixed(value.split('/').next().unwrap_or_default()),
        Pins::Arn => {
            // arn:partition:service:region:account:resource
            let parts: Vec<&str> = value.splitn(6, ':').collect();
            let [_, _, service, region, account, resource] = parts.as_slice() else {
                return false;
            };
            if whole_string && parts[..5].iter().any(|p| wild(p)) {
                return false;
            }
            if !account.is_empty() {
                return fixed(account);
            }
            *service == "s3"
                && region.is_empty()
                && fixed(resource.split('/').next().unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(statement: Value) -> bool {
        is_open_to_everyone(&statement)
    }

    #[test]
    fn everyone_without_a_narrowing_condition_is_open() {
        assert!(open(
            json!({"Effect": "Allow", "Principal": "*", "Action": "sns:Publish"})
        ));
        assert!(open(
            json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish"})
        ));
        assert!(open(
            json!({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]}})
        ));
        // Conditions that do not say who: still open.
        assert!(open(json!({"Effect": "Allow", "Principal": "*",
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}})));
        assert!(open(json!({"Effect": "Allow", "Principal": "*",
            "Condition": {"StringNotEquals": {"aws:SourceAccount": "111111111111"}}})));
        assert!(open(json!({"Effect": "Allow", "Principal": "*",
            "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": "111111111111"}}})));
        assert!(open(json!({"Effect": "Allow", "Principal": "*",
            "Condition": {"ArnLike": {"aws:SourceArn": "*"}}})));
        assert!(open(json!({"Effect": "Allow", "Principal": "*",
            "Condition": {"ForAllValues:StringEquals": {"aws:SourceAccount": ["111111111111"]}}})));
    }

    #[test]
    fn narrowed_denied_or_named_principals_are_not_open() {
        assert!(!open(json!({"Effect": "Allow", "Principal": {"AWS": "*"},
            "Condition": {"StringEquals": {"AWS:SourceOwner": "123456789012"}}})));
        assert!(!open(json!({"Effect": "Allow", "Principal": "*",
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}}})));
        assert!(!open(json!({"Effect": "Allow", "Principal": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": ["o-abc"]}}})));
        assert!(!open(
            json!({"Effect": "Deny", "Principal": "*", "Action": "sns:Publish"})
        ));
        assert!(!open(
            json!({"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}})
        ));
        assert!(!open(
            json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}})
        ));
    }

    /// A statement allowing everyone under `operator` with `key` = `value`.
    fn open_under(operator: &str, key: &str, value: Value) -> bool {
        open(
            json!({"Effect": "Allow", "Principal": "*", "Action": "sns:Publish",
            "Condition": {operator: {key: value}}}),
        )
    }

    #[test]
    fn wildcards_in_the_account_or_organization_do_not_narrow() {
        for (operator, key, value) in [
            ("StringLike", "aws:SourceAccount", json!("1234*")),
            ("StringLike", "aws:SourceAccount", json!("*1")),
            ("StringLike", "aws:SourceAccount", json!("12345678901?")),
            (
                "StringLike",
                "aws:PrincipalAccount",
                json!(["111111111111", "2*"]),
            ),
            ("StringLike", "AWS:SourceOwner", json!("*")),
            ("StringLike", "aws:PrincipalOrgID", json!("o-*")),
            ("StringLike", "aws:SourceOrgID", json!("o-?bc123")),
            ("StringLike", "aws:PrincipalOrgPaths", json!("o-*/r-ab12/*")),
            ("StringLike", "aws:PrincipalOrgPaths", json!("*")),
            ("ArnLike", "aws:SourceArn", json!("arn:aws:s3:::*")),
            ("ArnLike", "aws:SourceArn", json!("arn:aws:s3:::my-bucket*")),
            ("ArnLike", "aws:SourceArn", json!("arn:aws:sns:*:*:*")),
            (
                "ArnEquals",
                "aws:SourceArn",
                json!("arn:aws:sns:us-east-1:*:topic"),
            ),
            (
                "ArnLike",
                "aws:SourceArn",
                json!("arn:aws:sqs:us-east-1:1234?6789012:q"),
            ),
            ("ArnLike", "aws:SourceArn", json!("arn:aws:lambda")),
            ("ArnLike", "aws:SourceArn", json!("*")),
            (
                "ArnLike",
                "aws:PrincipalArn",
                json!("arn:aws:iam::*:role/deployer"),
            ),
            // Without an account, only a pinned S3 bucket is known: not another service.
            ("ArnLike", "aws:SourceArn", json!("arn:aws:*:::name")),
            // StringLike over a whole ARN: a `*` before the account may swallow colons.
            (
                "StringLike",
                "aws:SourceArn",
                json!("arn:aws:lambda:*:123456789012:*"),
            ),
            ("StringLike", "aws:SourceVpce", json!("vpce-*")),
            ("StringLike", "aws:SourceVpc", json!("vpc-1?")),
            (
                "ForAnyValue:StringLike",
                "aws:PrincipalOrgID",
                json!(["o-abc123", "o-*"]),
            ),
        ] {
            assert!(
                open_under(operator, key, value.clone()),
                "{operator} {key} {value} must not narrow"
            );
        }
    }

    #[test]
    fn negated_operators_never_narrow_an_allow() {
        for operator in [
            "StringNotLike",
            "StringNotEquals",
            "ArnNotLike",
            "ArnNotEquals",
            "ForAnyValue:StringNotLike",
            "StringNotEqualsIgnoreCase",
        ] {
            assert!(
                open_under(operator, "aws:SourceAccount", json!("111111111111")),
                "{operator}"
            );
            assert!(
                open_under(
                    operator,
                    "aws:SourceArn",
                    json!("arn:aws:sns:us-east-1:1:t")
                ),
                "{operator}"
            );
        }
    }

    #[test]
    fn a_pinned_account_organization_bucket_or_endpoint_narrows() {
        for (operator, key, value) in [
            ("StringEquals", "aws:SourceAccount", json!("123456789012")),
            ("StringLike", "aws:SourceAccount", json!("123456789012")),
            ("StringEquals", "aws:SourceAccount", json!(123456789012_u64)),
            (
                "StringEquals",
                "aws:PrincipalAccount",
                json!(["111111111111", "222222222222"]),
            ),
            ("StringEquals", "AWS:SourceOwner", json!("123456789012")),
            ("StringEquals", "aws:PrincipalOrgID", json!("o-abc123")),
            (
                "StringEqualsIgnoreCase",
                "aws:SourceOrgID",
                json!("o-abc123"),
            ),
            ("StringLike", "aws:PrincipalOrgPaths", json!("o-abc123/*")),
            (
                "ForAnyValue:StringLike",
                "aws:PrincipalOrgPaths",
                json!(["o-abc123/r-ab12/*"]),
            ),
            (
                "ArnLike",
                "aws:SourceArn",
                json!("arn:aws:sns:*:123456789012:*"),
            ),
            (
                "ArnEquals",
                "aws:SourceArn",
                json!("arn:aws:sns:us-east-1:123456789012:topic"),
            ),
            (
                "StringLike",
                "aws:SourceArn",
                json!("arn:aws:sns:us-east-1:123456789012:*"),
            ),
            ("ArnLike", "aws:SourceArn", json!("arn:aws:s3:::my-bucket")),
            (
                "ArnLike",
                "aws:SourceArn",
                json!("arn:aws-cn:s3:::my-bucket/*"),
            ),
            (
                "ArnLike",
                "aws:PrincipalArn",
                json!("arn:aws:iam::123456789012:role/*"),
            ),
            ("StringEquals", "aws:SourceVpce", json!("vpce-1a2b3c4d")),
            ("StringEquals", "aws:SourceVpc", json!("vpc-111bbb22")),
        ] {
            assert!(
                !open_under(operator, key, value.clone()),
                "{operator} {key} {value} narrows"
            );
        }
    }

    #[test]
    fn open_statements_are_removed_and_named_and_the_rest_kept() {
        let mut policy = json!({"Statement": [
            {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage"},
            {"Sid": "Scoped", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
             "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:t"}}},
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:ReceiveMessage"},
            {"Sid": "Mixed", "Effect": "Allow", "Action": "sqs:SendMessage",
             "Principal": {"AWS": ["arn:aws:iam::222222222222:root", "*"]}},
            {"Sid": "OnlyStars", "Effect": "Allow", "Principal": {"AWS": ["*", "*"]}}
        ]});
        let removed = remove_open_statements(&mut policy).unwrap();
        let labels: Vec<&str> = removed.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["Open", "#2", "Mixed", "OnlyStars"]);
        assert_eq!(removed[1].sid, None);
        let kept: Vec<bool> = removed.iter().map(|r| r.kept_for_others).collect();
        assert_eq!(kept, [false, false, true, false]);
        assert!(removed[2]
            .action("queue q")
            .contains("keeping the principals"));
        assert!(removed[0]
            .action("queue q")
            .contains("removed statement Open"));
        assert_eq!(policy["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(policy["Statement"][0]["Sid"], "Scoped");
        // The named account keeps its access; only everyone is taken out.
        assert_eq!(policy["Statement"][1]["Sid"], "Mixed");
        assert_eq!(
            policy["Statement"][1]["Principal"],
            json!({"AWS": ["arn:aws:iam::222222222222:root"]})
        );
        assert_eq!(policy["Statement"][1]["Action"], "sqs:SendMessage");

        let mut single = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*"}});
        assert_eq!(remove_open_statements(&mut single).unwrap().len(), 1);
        assert_eq!(single["Statement"], json!([]));
        assert!(remove_open_statements(&mut json!("not a policy")).is_err());
    }

    #[test]
    fn everyone_is_taken_out_of_a_principal_keeping_the_named_ones() {
        let strip = |mut principal: Value| {
            let left = remove_everyone(&mut principal);
            (left, principal)
        };
        assert_eq!(strip(json!("*")), (false, json!("*")));
        assert_eq!(strip(json!({"AWS": "*"})), (false, json!({"AWS": "*"})));
        assert_eq!(strip(json!({"AWS": ["*"]})), (false, json!({"AWS": ["*"]})));
        assert_eq!(
            strip(json!({"AWS": ["arn:aws:iam::2:root", "*", "arn:aws:iam::3:root"]})),
            (
                true,
                json!({"AWS": ["arn:aws:iam::2:root", "arn:aws:iam::3:root"]})
            )
        );
        assert_eq!(
            strip(json!({"AWS": "*", "Service": "sns.amazonaws.com"})),
            (true, json!({"Service": "sns.amazonaws.com"}))
        );
    }
}
