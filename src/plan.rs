//! What to do with one target's stack: a pure decision over what DescribeStacks said and
//! the hash of what we would deploy. No AWS call.

use crate::cfn::StackState;

/// The stack tag holding the deployment hash.
pub const HASH_TAG: &str = "remedy:hash";
/// The stack tag holding the tool version that deployed it.
pub const VERSION_TAG: &str = "remedy:version";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No stack yet (or only a deleted one, or one that never left review): create it.
    Create,
    /// A settled stack with another hash: update it.
    Update,
    /// A settled stack with the same hash: nothing to do.
    Unchanged,
    /// An operation is running on the stack (ours or another run's): wait, then decide again.
    Wait,
    /// The stack is in a state we do not touch without an operator; the reason says which.
    Refuse(String),
}

pub fn decide(existing: Option<&StackState>, desired_hash: &str) -> Action {
    let Some(stack) = existing else {
        return Action::Create;
    };
    match stack.status.as_str() {
        "DELETE_COMPLETE" | "REVIEW_IN_PROGRESS" => Action::Create,
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => {
            if stack.tag(HASH_TAG) == Some(desired_hash) {
                Action::Unchanged
            } else {
                Action::Update
            }
        }
        "ROLLBACK_COMPLETE" => Action::Refuse(
            "stack is ROLLBACK_COMPLETE (its first create failed); delete it and deploy again"
                .into(),
        ),
        status if status.ends_with("_IN_PROGRESS") => Action::Wait,
        status => Action::Refuse(match &stack.status_reason {
            Some(reason) => format!("stack is {status}: {reason}"),
            None => format!("stack is {status}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(status: &str, hash: Option<&str>) -> StackState {
        StackState {
            status: status.into(),
            status_reason: None,
            tags: hash
                .map(|h| (HASH_TAG.to_owned(), h.to_owned()))
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(None, "h"), Action::Create);
        assert_eq!(
            decide(Some(&stack("DELETE_COMPLETE", None)), "h"),
            Action::Create
        );
        assert_eq!(
            decide(Some(&stack("REVIEW_IN_PROGRESS", None)), "h"),
            Action::Create
        );
        assert_eq!(
            decide(Some(&stack("CREATE_COMPLETE", Some("h"))), "h"),
            Action::Unchanged
        );
        assert_eq!(
            decide(Some(&stack("UPDATE_COMPLETE", Some("old"))), "h"),
            Action::Update
        );
        assert_eq!(
            decide(Some(&stack("UPDATE_ROLLBACK_COMPLETE", Some("old"))), "h"),
            Action::Update
        );
        assert_eq!(
            decide(Some(&stack("CREATE_COMPLETE", None)), "h"),
            Action::Update
        );
        assert_eq!(
            decide(Some(&stack("UPDATE_IN_PROGRESS", Some("h"))), "h"),
            Action::Wait
        );
        assert!(matches!(
            decide(Some(&stack("ROLLBACK_COMPLETE", None)), "h"),
            Action::Refuse(_)
        ));
        assert!(
            matches!(decide(Some(&stack("UPDATE_ROLLBACK_FAILED", None)), "h"), Action::Refuse(r) if r.contains("UPDATE_ROLLBACK_FAILED"))
        );
    }
}
