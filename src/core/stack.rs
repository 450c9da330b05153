//! The vocabulary of a remedy stack, shared by the decisions and the CloudFormation edge:
//! its state as described, where its template comes from, one resource change of a change
//! set, and the tags remedy reads back.
//!
//! Must not: call CloudFormation (that is `aws::cfn`) or decide (that is `core::decide`).

use std::collections::BTreeMap;
/// The stack tag holding the deployment hash.
pub const HASH_TAG: &str = "remedy:hash";

/// The stack tag holding the tool version that deployed it.
pub const VERSION_TAG: &str = "remedy:version";

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceChange {
    /// `Add`, `Modify`, `Remove`, …
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional` (for `Modify`), when CloudFormation says.
    pub replacement: Option<String>,
}

/// What DescribeStacks says of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackState {
    /// The stack's ARN: names this stack and no later one of the same name.
    pub stack_id: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl StackState {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }
}

/// Where the template comes from.
#[derive(Debug, Clone)]
pub enum TemplateSource {
    Body(String),
    Url(String),
}
