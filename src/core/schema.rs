//! `remedy schema`: the JSON Schema (draft 2020-12) of `remedy.yaml`, for an editor
//! (yaml-language-server) to complete and check the file as it is typed.
//!
//! The value sets come from the code they describe — the rule ids from the catalog, the
//! modes from `Mode::ALL`, the risk levels from `RiskLevel`, the engines and encryptions from
//! the config's own words — and `tests/it/schema.rs` holds the keys to the parser's: at
//! every depth, the schema names exactly the keys `core::config` accepts (the same probe the
//! configuration reference is checked with), every example configuration validates, and
//! each class of config error the schema can express is rejected. What only the parser can
//! check (an OU that exists, an exception's expiry against today, name lengths across keys)
//! stays `remedy validate`'s.

use remedy_functions::catalog::{Mode, RiskLevel};
use serde_json::{json, Map, Value};

/// A region name, or one of `extra_regions`' (AWS opens regions after a release).
const REGION: &str = "^[a-z]{2}(-[a-z]+)+-[0-9]+$";
const ACCOUNT_ID: &str = "^[0-9]{12}$";
/// An OU path from the root (`/Workloads/Prod`) or an OU id.
const OU: &str = "^(/.*|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$";
const NAME: &str = "^[A-Za-z0-9_-]+$";

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn pattern(regex: &str, description: &str) -> Value {
    json!({"type": "string", "pattern": regex, "description": description})
}

fn list(items: Value, description: &str) -> Value {
    json!({"type": "array", "items": items, "description": description})
}

/// A table that takes exactly `properties` (the parser denies unknown keys).
fn table(description: &str, properties: Vec<(&str, Value)>, required: &[&str]) -> Value {
    let properties: Map<String, Value> = properties
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let mut t = json!({
        "type": "object",
        "description": description,
        "additionalProperties": false,
        "properties": properties,
    });
    if !required.is_empty() {
        t["required"] = json!(required);
    }
    t
}

fn modes() -> Value {
    let names: Vec<&str> = Mode::ALL.iter().map(|m| m.as_str()).collect();
    json!({"type": "string", "enum": names, "description": "remediate (fix), dry-run (decide and report), notify (send the finding on)"})
}

fn duration(description: &str) -> Value {
    json!({"description": description, "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": "^[0-9]+(s|m|h)?$"}
    ]})
}

/// A rule's configuration: a mode, or a table.
fn rule_config() -> Value {
    json!({"anyOf": [
        modes(),
        table("a rule's mode and settings", vec![
            ("mode", modes()),
            ("settings", json!({"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]},
                "description": "the rule's settings (`remedy rules` lists them)"})),
            ("grace", duration("how long to wait before acting (`90s`, `10m`, or seconds; at most 15m)")),
            ("max_per_hour", json!({"type": "integer", "minimum": 1, "maximum": 10000,
                "description": "fixes per account and UTC hour (default 50)"})),
            ("max_failures_per_hour", json!({"type": "integer", "minimum": 1, "maximum": 10000,
                "description": "failed fixes per account and UTC hour before the rule pauses itself (default 5)"})),
        ], &["mode"]),
    ]})
}

/// `rules`: catalog rule ids (or `"*"`) to their configuration.
fn rules(description: &str) -> Value {
    let mut ids: Vec<&str> = remedy_functions::catalog().map(|r| r.id).collect();
    ids.push("*");
    json!({
        "type": "object",
        "description": description,
        "propertyNames": {"enum": ids},
        "additionalProperties": rule_config(),
    })
}

fn engine() -> Value {
    json!({"type": "string", "enum": ["direct", "codebuild", "stacksets"],
        "description": "how stacks reach the accounts"})
}

fn stage() -> Value {
    table(
        "one stage of the rollout",
        vec![
            ("name", pattern(NAME, "letters, digits, `-`, `_`; unique")),
            (
                "targets",
                table(
                    "the stage's accounts",
                    vec![
                        (
                            "ous",
                            list(
                                pattern(OU, "an OU path from the root, or an OU id"),
                                "OUs (nested OUs included)",
                            ),
                        ),
                        (
                            "accounts",
                            list(pattern(ACCOUNT_ID, "an account id"), "accounts by id"),
                        ),
                        (
                            "exclude",
                            list(
                                pattern(ACCOUNT_ID, "an account id"),
                                "accounts never touched",
                            ),
                        ),
                    ],
                    &[],
                ),
            ),
            (
                "home_region",
                pattern(REGION, "where this stage's stacks live"),
            ),
            (
                "regions",
                list(
                    pattern(REGION, "a region"),
                    "the regions whose findings this stage's stacks act on",
                ),
            ),
            (
                "concurrency",
                json!({"type": "integer", "minimum": 1, "description": "accounts in flight (default 16)"}),
            ),
            (
                "failure_tolerance",
                json!({"type": "integer", "minimum": 0, "description": "failed targets before the stage stops starting new ones (default 0)"}),
            ),
            (
                "approval",
                json!({"type": "boolean", "description": "`rollout` stops here until `--approve <stage>`"}),
            ),
            ("engine", engine()),
            (
                "rules",
                rules("overlays the top-level `rules` for this stage"),
            ),
        ],
        &["name", "targets"],
    )
}

fn exception() -> Value {
    let mut rule_ids: Vec<&str> = remedy_functions::catalog().map(|r| r.id).collect();
    rule_ids.push("*");
    table(
        "a finding the team has decided to live with, until it expires",
        vec![
            (
                "id",
                pattern(
                    "^[A-Za-z0-9_.-]{1,64}$",
                    "unique; reason code `exception:<id>`",
                ),
            ),
            (
                "rules",
                list(json!({"enum": rule_ids}), "catalog rule ids, or `*`"),
            ),
            (
                "accounts",
                list(pattern(ACCOUNT_ID, "an account id"), "only these accounts"),
            ),
            (
                "ous",
                list(
                    pattern(OU, "an OU path or id"),
                    "only these OUs (nested included)",
                ),
            ),
            (
                "regions",
                list(pattern(REGION, "a region"), "only these regions"),
            ),
            (
                "resources",
                list(
                    string("a glob over the resource id or ARN (`*`, `?`)"),
                    "only these resources",
                ),
            ),
            (
                "tags",
                json!({"type": "object", "additionalProperties": {"type": "string"},
                "description": "the resource carries all of these tags"}),
            ),
            ("reason", string("why")),
            ("owner", string("who answers for it")),
            (
                "expires",
                pattern(
                    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                    "the last day it applies (UTC), at most a year ahead",
                ),
            ),
        ],
        &["id", "rules", "reason", "owner", "expires"],
    )
}

/// The JSON Schema of `remedy.yaml`.
pub fn schema() -> Value {
    let risk_levels: Vec<&str> = [
        RiskLevel::Low,
        RiskLevel::Medium,
        RiskLevel::High,
        RiskLevel::VeryHigh,
        RiskLevel::Extreme,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    let mut root = table(
        "remedy's configuration (docs/configuration.md)",
        vec![
            ("stack_name", pattern("^[A-Za-z][A-Za-z0-9-]*$", "the member stack's name (default `remedy`; about 30 characters at most)")),
            ("package", string("a prebuilt Lambda zip, relative to this file")),
            ("home_region", pattern(REGION, "where each account's stack lives")),
            ("regions", list(pattern(REGION, "a region"), "whose findings the stacks act on")),
            ("extra_regions", list(pattern(REGION, "a region"), "regions AWS opened after this release")),
            ("encryption", json!({"type": "string", "enum": ["customer-key", "aws-managed"],
                "description": "one KMS key per account (default), or AWS-managed encryption"})),
            ("role", table("the role remedy assumes in each account", vec![
                ("name", pattern("^[\\w+=,.@-]{1,64}$", "the role's name")),
                ("external_id", string("sent on every AssumeRole")),
                ("execution_role", pattern("^[\\w+=,.@-]{1,64}$", "the CloudFormation service role's name")),
            ], &[])),
            ("conformity", table("Cloud Conformity", vec![
                ("account_id", pattern(ACCOUNT_ID, "the only account that may publish to the findings topic")),
                ("api", {
                    let mut api = table("Conformity's API, for `remedy conformity` (the key is never in the file)", vec![
                        ("region", json!({"type": "string", "enum": crate::core::config::CONFORMITY_REGIONS,
                            "description": "the API's region (`us-west-2`: the standalone service; `us-1`: Cloud One)"})),
                        ("url", pattern("^(https://|http://(127\\.0\\.0\\.1|localhost)([:/]|$))", "the API's base URL instead of `region`")),
                        ("api_key_env", pattern("^[A-Z_][A-Z0-9_]*$", "the environment variable holding the key (default CONFORMITY_API_KEY)")),
                        ("api_key_secret", pattern("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", "a Secrets Manager secret of the security account holding the key")),
                    ], &[]);
                    api["oneOf"] = json!([{"required": ["region"]}, {"required": ["url"]}]);
                    api["not"] = json!({"required": ["api_key_env", "api_key_secret"]});
                    api
                }),
            ], &[])),
            ("engine", engine()),
            ("codebuild", table("the codebuild engine", vec![
                ("project", string("each account's CodeBuild project (default `remedy-deploy`)")),
            ], &[])),
            ("stacksets", table("the stacksets engine", vec![
                ("call_as", json!({"type": "string", "enum": ["delegated_admin", "self"],
                    "description": "`self` when run from the management account"})),
            ], &[])),
            ("stages", json!({"type": "array", "minItems": 1, "items": stage(),
                "description": "the rollout's stages, in order"})),
            ("rules", rules("the modes and settings of the rules to deploy (`\"*\"`: every other catalog rule)")),
            ("notifications", table("where findings are sent", vec![
                ("topics", list(table("a notification topic", vec![
                    ("name", pattern("^[A-Za-z0-9_-]{1,64}$", "the topic `<stack_name>-notify-<name>`")),
                    ("risk_levels", list(json!({"enum": risk_levels}), "only findings of these risk levels")),
                    ("categories", list(string("a Conformity category"), "only findings of these categories")),
                    ("emails", list(string("an address (it confirms once)"), "email subscriptions")),
                ], &["name"]), "the topics")),
            ], &[])),
            ("exceptions", list(exception(), "findings not remediated until they expire")),
        ],
        &["stages"],
    );
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["title"] = json!("remedy.yaml");
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_catalog_rule_and_mode() {
        let s = schema();
        let ids = &s["properties"]["rules"]["propertyNames"]["enum"];
        assert!(ids.as_array().unwrap().iter().any(|i| i == "S3-001"));
        assert!(ids.as_array().unwrap().iter().any(|i| i == "*"));
        let text = s.to_string();
        assert!(text.contains("\"dry-run\""));
        assert_eq!(s["required"], json!(["stages"]));
        assert_eq!(s["additionalProperties"], json!(false));
    }
}
