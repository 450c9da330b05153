//! The Cloud Conformity finding: what arrives on the topic, read defensively.
//!
//! Conformity publishes a JSON finding per rule violation (samples in
//! `functions/fixtures/conformity-events/`), and a plain-text test message when a channel is set up.
//! Unknown fields are ignored and optional ones may be missing; what the runtime relies on is
//! checked here, before anything acts on it: the size, UTF-8, that it is a JSON object, the
//! `ruleId` shape (`^[A-Za-z][A-Za-z0-9]*-[0-9]{3}$`, so no path or ARN characters ever reach a
//! function name) and the `status`.
//!
//! Pure: no AWS, no I/O.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest message accepted (SNS's own limit is 256 KB).
pub const MAX_FINDING_BYTES: usize = 256 * 1024;

/// The body of Conformity's channel test.
pub const TEST_MESSAGE: &str = "Test Message from Cloud Conformity";

/// One Conformity finding. Only `ruleId` and `status` are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    pub rule_id: String,
    #[serde(default)]
    pub rule_title: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub risk_level: Option<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub compliances: Vec<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub descriptor_type: Option<String>,
    pub status: String,
    #[serde(default, rename = "resolutionPageURL")]
    pub resolution_page_url: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    /// Rule-specific extra data, e.g. `{"name": "UserName", "value": "deploy-bot"}`.
    #[serde(default)]
    pub extradata: Vec<ExtraData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraData {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub value: serde_json::Value,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl Finding {
    /// The value of the `extradata` entry called `name`, as text.
    pub fn extra(&self, name: &str) -> Option<String> {
        self.extradata
            .iter()
            .find(|e| e.name == name)
            .and_then(|e| match &e.value {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            })
    }

    pub fn is_failure(&self) -> bool {
        self.status == "FAILURE"
    }

    /// The AWS function that remediates this finding.
    pub fn function_name(&self) -> String {
        format!("AutoRemediate{}", self.rule_id)
    }
}

/// What a message on the topic turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Finding(Box<Finding>),
    /// Conformity's channel test: acknowledged and ignored.
    Test,
}

/// Why a message was refused without acting on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(pub String);

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads a message from its raw bytes.
pub fn parse(bytes: &[u8]) -> Result<Message, Rejection> {
    if bytes.len() > MAX_FINDING_BYTES {
        return Err(Rejection(format!(
            "message of {} bytes exceeds the {MAX_FINDING_BYTES}-byte limit",
            bytes.len()
        )));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|e| Rejection(format!("message is not UTF-8: {e}")))?;
    parse_text(text)
}

/// Reads a message from text (an SQS body or an SNS `Message` is already a string).
pub fn parse_text(text: &str) -> Result<Message, Rejection> {
    if text.len() > MAX_FINDING_BYTES {
        return Err(Rejection(format!(
            "message of {} bytes exceeds the {MAX_FINDING_BYTES}-byte limit",
            text.len()
        )));
    }
    let trimmed = text.trim();
    if trimmed == TEST_MESSAGE {
        return Ok(Message::Test);
    }
    let value: serde_json::Value = serde_json::from_str(trimmed)
        .map_err(|e| Rejection(format!("message is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Rejection("message is not a JSON object".into()));
    }
    // Check the rule id before anything else reads the finding: it becomes a function name.
    match value.get("ruleId") {
        Some(serde_json::Value::String(id)) if is_valid_rule_id(id) => {}
        Some(serde_json::Value::String(id)) => {
            return Err(Rejection(format!(
                "ruleId {:?} does not match ^[A-Za-z][A-Za-z0-9]*-[0-9]{{3}}$",
                truncate(id, 80)
            )))
        }
        Some(_) => return Err(Rejection("field `ruleId` is not a string".into())),
        None => return Err(Rejection("field `ruleId` is missing".into())),
    }
    let finding: Finding =
        serde_json::from_value(value).map_err(|e| Rejection(format!("malformed finding: {e}")))?;
    Ok(Message::Finding(Box::new(finding)))
}

/// `^[A-Za-z][A-Za-z0-9]*-[0-9]{3}$`, without a regex engine.
pub fn is_valid_rule_id(id: &str) -> bool {
    let Some((prefix, number)) = id.split_once('-') else {
        return false;
    };
    prefix.starts_with(|c: char| c.is_ascii_alphabetic())
        && prefix.chars().all(|c| c.is_ascii_alphanumeric())
        && number.len() == 3
        && number.chars().all(|c| c.is_ascii_digit())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample Conformity findings, kept in the repository so this always runs.
    const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/conformity-events");

    #[test]
    fn the_sample_findings_parse() {
        let mut parsed = 0;
        for entry in std::fs::read_dir(SAMPLES).unwrap().flatten() {
            let bytes = std::fs::read(entry.path()).unwrap();
            match parse(&bytes).unwrap() {
                Message::Finding(f) => {
                    assert!(f.is_failure());
                    assert!(is_valid_rule_id(&f.rule_id));
                    parsed += 1;
                }
                Message::Test => assert!(entry.path().to_string_lossy().contains("test-message")),
            }
        }
        assert!(parsed >= 4);
    }

    #[test]
    fn fields_are_read_and_unknown_ones_ignored() {
        let text = r#"{"ruleId":"IAM-038","status":"FAILURE","region":"global","riskLevel":"MEDIUM",
            "categories":["security"],"resource":"AKIAEXAMPLE","resolutionPageURL":"https://x",
            "extradata":[{"name":"UserName","label":"User Name","value":"deploy-bot","type":"META"}],
            "somethingNew":{"nested":true}}"#;
        let Message::Finding(f) = parse_text(text).unwrap() else {
            panic!()
        };
        assert_eq!(f.extra("UserName").as_deref(), Some("deploy-bot"));
        assert_eq!(f.resolution_page_url.as_deref(), Some("https://x"));
        assert_eq!(f.function_name(), "AutoRemediateIAM-038");
        assert_eq!(f.categories, ["security"]);
    }

    #[test]
    fn the_test_message_is_acknowledged() {
        assert_eq!(
            parse_text("Test Message from Cloud Conformity\n"),
            Ok(Message::Test)
        );
    }

    #[test]
    fn hostile_and_malformed_messages_are_rejected() {
        for (text, why) in [
            (
                r#"{"ruleId":"S3-001/../../x","status":"FAILURE"}"#,
                "does not match",
            ),
            (
                r#"{"ruleId":"arn:aws:lambda:us-east-1:1:function:X-001","status":"FAILURE"}"#,
                "does not match",
            ),
            (
                r#"{"ruleId":"S3-0001","status":"FAILURE"}"#,
                "does not match",
            ),
            (
                r#"{"ruleId":"1S3-001","status":"FAILURE"}"#,
                "does not match",
            ),
            (
                r#"{"ruleId":"S3-001 ","status":"FAILURE"}"#,
                "does not match",
            ),
            (r#"{"ruleId":7,"status":"FAILURE"}"#, "not a string"),
            (r#"{"status":"FAILURE"}"#, "missing"),
            (r#"{"ruleId":"S3-001"}"#, "malformed finding"),
            (r#"["S3-001"]"#, "not a JSON object"),
            ("hello", "not JSON"),
        ] {
            let err = parse_text(text).unwrap_err();
            assert!(err.0.contains(why), "{text}: {err}");
        }
        assert!(parse(&[0xff, 0xfe]).unwrap_err().0.contains("UTF-8"));
        let big = format!(
            r#"{{"ruleId":"S3-001","status":"FAILURE","message":"{}"}}"#,
            "x".repeat(MAX_FINDING_BYTES)
        );
        assert!(parse(big.as_bytes()).unwrap_err().0.contains("limit"));
    }
}
