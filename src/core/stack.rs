//! The vocabulary of a remedy stack, shared by the decisions and the CloudFormation edge:
//! its state as described, where its template comes from, one resource change of a change
//! set, and the tags remedy reads back.
//!
//! Must not: call CloudFormation (that is `aws::cfn`) or decide (that is `core::decide`).

use std::collections::BTreeMap;

/// The stack tag holding the deployment hash.
pub(crate) const HASH_TAG: &str = "remedy:hash";

/// The stack tag holding the tool version that deployed it.
pub(crate) const VERSION_TAG: &str = "remedy:version";

/// The tag every resource remedy creates carries; rules never touch what carries it.
pub(crate) const MANAGED_TAG: &str = "remedy:managed";

/// The stack tag naming the stage that deployed it.
pub(crate) const STAGE_TAG: &str = "remedy:stage";

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceChange {
    /// `Add`, `Modify`, `Remove`, …
    pub(crate) action: String,
    pub(crate) logical_id: String,
    pub(crate) resource_type: String,
    /// `True`, `False` or `Conditional` (for `Modify`), when CloudFormation says.
    pub(crate) replacement: Option<String>,
}

/// What DescribeStacks says of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackState {
    /// The stack's ARN: names this stack and no later one of the same name.
    pub(crate) stack_id: Option<String>,
    pub(crate) status: StackStatus,
    pub(crate) status_reason: Option<String>,
    pub(crate) tags: BTreeMap<String, String>,
}

/// The findings topic of the stack `stack_id` (its ARN): the template names it
/// `<stack name>-findings`, in the stack's partition, region and account.
pub(crate) fn findings_topic_arn(stack_id: &str) -> Option<String> {
    let mut parts = stack_id.strip_prefix("arn:")?.splitn(5, ':');
    let (partition, service, region, account) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let name = parts.next()?.strip_prefix("stack/")?.split('/').next()?;
    (service == "cloudformation" && !name.is_empty())
        .then(|| format!("arn:{partition}:sns:{region}:{account}:{name}-findings"))
}

impl StackState {
    pub(crate) fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }
}

/// Where the template comes from.
#[derive(Debug, Clone)]
pub enum TemplateSource {
    Body(String),
    Url(String),
}

macro_rules! stack_statuses {
    ($($variant:ident => $text:literal,)*) => {
        /// A stack's status, as CloudFormation's `StackStatus` enumerates it. A status this
        /// build does not know (AWS adds some now and then) is kept as [`StackStatus::Other`]
        /// and treated by its suffix, so a new one never stops a run.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub(crate) enum StackStatus {
            $($variant,)*
            Other(String),
        }

        impl StackStatus {
            /// CloudFormation's word for it.
            pub(crate) fn as_str(&self) -> &str {
                match self {
                    $(StackStatus::$variant => $text,)*
                    StackStatus::Other(text) => text,
                }
            }

            /// The status CloudFormation names `text`.
            pub(crate) fn parse(text: &str) -> StackStatus {
                match text {
                    $($text => StackStatus::$variant,)*
                    other => StackStatus::Other(other.to_owned()),
                }
            }
        }
    };
}

stack_statuses! {
    CreateInProgress => "CREATE_IN_PROGRESS",
    CreateFailed => "CREATE_FAILED",
    CreateComplete => "CREATE_COMPLETE",
    RollbackInProgress => "ROLLBACK_IN_PROGRESS",
    RollbackFailed => "ROLLBACK_FAILED",
    RollbackComplete => "ROLLBACK_COMPLETE",
    DeleteInProgress => "DELETE_IN_PROGRESS",
    DeleteFailed => "DELETE_FAILED",
    DeleteComplete => "DELETE_COMPLETE",
    UpdateInProgress => "UPDATE_IN_PROGRESS",
    UpdateCompleteCleanupInProgress => "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    UpdateComplete => "UPDATE_COMPLETE",
    UpdateFailed => "UPDATE_FAILED",
    UpdateRollbackInProgress => "UPDATE_ROLLBACK_IN_PROGRESS",
    UpdateRollbackFailed => "UPDATE_ROLLBACK_FAILED",
    UpdateRollbackCompleteCleanupInProgress => "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
    ReviewInProgress => "REVIEW_IN_PROGRESS",
    ImportInProgress => "IMPORT_IN_PROGRESS",
    ImportComplete => "IMPORT_COMPLETE",
    ImportRollbackInProgress => "IMPORT_ROLLBACK_IN_PROGRESS",
    ImportRollbackFailed => "IMPORT_ROLLBACK_FAILED",
    ImportRollbackComplete => "IMPORT_ROLLBACK_COMPLETE",
}

impl StackStatus {
    /// An operation runs on the stack. `REVIEW_IN_PROGRESS` (a CREATE change set waiting to
    /// be executed, or a failed one) is not: nothing will ever move it on its own.
    pub(crate) fn is_busy(&self) -> bool {
        self.as_str().ends_with("_IN_PROGRESS") && *self != StackStatus::ReviewInProgress
    }

    /// An operation ended in failure and left the stack there (`*_FAILED`).
    pub(crate) fn is_failed(&self) -> bool {
        self.as_str().ends_with("_FAILED")
    }

    /// The stack stands, with its resources as an operation of ours left them: it can be
    /// updated (`ROLLBACK_COMPLETE` cannot, so it is not settled in this sense).
    pub(crate) fn is_settled(&self) -> bool {
        matches!(
            self,
            StackStatus::CreateComplete
                | StackStatus::UpdateComplete
                | StackStatus::UpdateRollbackComplete
                | StackStatus::ImportComplete
                | StackStatus::ImportRollbackComplete
        )
    }

    /// The operation we asked for succeeded (and did not roll back).
    pub(crate) fn is_success(&self) -> bool {
        matches!(
            self,
            StackStatus::CreateComplete | StackStatus::UpdateComplete
        )
    }
}

impl std::fmt::Display for StackStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_findings_topic_is_named_after_the_stack_in_its_partition_and_region() {
        assert_eq!(
            findings_topic_arn(
                "arn:aws-cn:cloudformation:cn-north-1:111111111111:stack/remedy/0f1e2d3c"
            )
            .as_deref(),
            Some("arn:aws-cn:sns:cn-north-1:111111111111:remedy-findings")
        );
        assert_eq!(
            findings_topic_arn(
                "arn:aws:cloudformation:eu-west-1:111111111111:stack/StackSet-remedy-dev-3f2a/ab"
            )
            .as_deref(),
            Some("arn:aws:sns:eu-west-1:111111111111:StackSet-remedy-dev-3f2a-findings")
        );
        assert_eq!(findings_topic_arn("remedy"), None);
    }

    use super::StackStatus;

    #[test]
    fn every_status_reads_back_as_its_own_word() {
        for text in [
            "CREATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            "REVIEW_IN_PROGRESS",
            "IMPORT_ROLLBACK_FAILED",
        ] {
            let status = StackStatus::parse(text);
            assert!(!matches!(status, StackStatus::Other(_)), "{text} is known");
            assert_eq!(status.as_str(), text);
        }
        let new = StackStatus::parse("SOMETHING_NEW_IN_PROGRESS");
        assert_eq!(new, StackStatus::Other("SOMETHING_NEW_IN_PROGRESS".into()));
        assert!(new.is_busy(), "an unknown status is judged by its suffix");
    }

    #[test]
    fn review_is_not_busy_and_rollback_complete_is_not_settled() {
        assert!(!StackStatus::ReviewInProgress.is_busy());
        assert!(StackStatus::UpdateCompleteCleanupInProgress.is_busy());
        assert!(!StackStatus::RollbackComplete.is_settled());
        assert!(StackStatus::UpdateRollbackComplete.is_settled());
        assert!(!StackStatus::UpdateRollbackComplete.is_success());
        assert!(StackStatus::UpdateRollbackFailed.is_failed());
    }
}
