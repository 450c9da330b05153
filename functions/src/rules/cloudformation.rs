//! CloudFormation rules: stack termination protection.

use crate::catalog::{Mode, RiskLevel, RuleSpec};

pub static RULES: &[RuleSpec] = &[
    // Turn termination protection on (tags come with `DescribeStacks`).
    RuleSpec {
        id: "CFM-005",
        title: "CloudFormation Stack Termination Protection",
        service: "CloudFormation",
        risk: RiskLevel::Medium,
        default_mode: Mode::Remediate,
        scoped: &[],
        settings: &[],
        iam_actions: &[
            "cloudformation:DescribeStacks",
            "cloudformation:UpdateTerminationProtection",
        ],
        fix: |ctx| Box::pin(protect_stack(ctx)),
    },
];

// ---------------------------------------------------------------------------------------
// Checks and fixes. The stack is the finding's `resource` (a name or a stack id).

use crate::rule::{Context, Report, RuleError};
use aws_sdk_cloudformation::types::{Stack, StackStatus};
use aws_sdk_cloudformation::Client;

/// What CFM-005 does about a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtectionDecision {
    /// Nothing to do: the report says why.
    Done(Report),
    /// Turn termination protection on, described by this action.
    Protect(String),
}

/// `own`: whether the stack is remedy's own (its id is remedy's stack's).
pub fn protection_decision(stack: &Stack, own: bool) -> ProtectionDecision {
    let name = stack.stack_name().unwrap_or("the stack");
    if own {
        return ProtectionDecision::Done(Report::managed(&format!("stack {name}")));
    }
    if stack.stack_status() == Some(&StackStatus::DeleteComplete) {
        return ProtectionDecision::Done(Report::skipped(format!("stack {name} is deleted")));
    }
    if let Some(parent) = stack.parent_id() {
        let root = stack.root_id().unwrap_or(parent);
        return ProtectionDecision::Done(Report::skipped(format!(
            "stack {name} is nested: its termination protection is its root stack's, {root}"
        )));
    }
    if stack.enable_termination_protection() == Some(true) {
        return ProtectionDecision::Done(Report::compliant(format!(
            "stack {name} has termination protection"
        )));
    }
    ProtectionDecision::Protect(format!("turned on termination protection for stack {name}"))
}

/// CFM-005.
async fn protect_stack(ctx: &Context) -> Result<Report, RuleError> {
    let name = ctx.resource()?;
    let cloudformation = Client::new(&ctx.aws);
    let described = cloudformation
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| RuleError::aws("DescribeStacks", &e))?;
    let stack = described
        .stacks()
        .first()
        .ok_or_else(|| RuleError::new(format!("there is no stack {name}")))?;
    let own = stack.stack_id().is_some_and(|id| ctx.is_own_stack(id));
    let action = match protection_decision(stack, own) {
        ProtectionDecision::Done(report) => return Ok(report),
        ProtectionDecision::Protect(action) => action,
    };
    let stack_id = stack.stack_id().unwrap_or(name);
    ctx.fix(vec![action], async {
        cloudformation
            .update_termination_protection()
            .stack_name(stack_id)
            .enable_termination_protection(true)
            .send()
            .await
            .map_err(|e| RuleError::aws("UpdateTerminationProtection", &e))?;
        crate::rule::changed("cloudformation:UpdateTerminationProtection", stack_id);
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Outcome;
    use crate::rule::MANAGED_TAG;
    use aws_sdk_cloudformation::types::Tag;

    fn stack() -> aws_sdk_cloudformation::types::builders::StackBuilder {
        Stack::builder()
            .stack_name("app")
            .stack_id("arn:aws:cloudformation:us-east-1:111111111111:stack/app/1")
            .stack_status(StackStatus::CreateComplete)
    }

    fn outcome(decision: ProtectionDecision) -> Outcome {
        match decision {
            ProtectionDecision::Done(report) => report.outcome,
            ProtectionDecision::Protect(_) => Outcome::Remediated,
        }
    }

    #[test]
    fn an_unprotected_stack_is_protected_and_a_protected_one_is_compliant() {
        assert_eq!(
            protection_decision(&stack().build(), false),
            ProtectionDecision::Protect("turned on termination protection for stack app".into())
        );
        assert_eq!(
            protection_decision(&stack().enable_termination_protection(false).build(), false),
            ProtectionDecision::Protect("turned on termination protection for stack app".into())
        );
        assert_eq!(
            outcome(protection_decision(
                &stack().enable_termination_protection(true).build(),
                false
            )),
            Outcome::Compliant
        );
    }

    #[test]
    fn remedys_own_nested_and_deleted_stacks_are_skipped() {
        let own = stack().build();
        assert_eq!(outcome(protection_decision(&own, true)), Outcome::Skipped);
        // A remedy:managed tag anyone can set opts nothing out.
        let labelled = stack()
            .tags(Tag::builder().key(MANAGED_TAG).value("true").build())
            .build();
        assert_ne!(
            outcome(protection_decision(&labelled, false)),
            Outcome::Skipped
        );
        let nested = stack().parent_id("arn:parent").root_id("arn:root").build();
        match protection_decision(&nested, false) {
            ProtectionDecision::Done(report) => {
                assert!(report.reason.unwrap_or_default().contains("arn:root"))
            }
            other => panic!("{other:?}"),
        }
        let deleted = stack().stack_status(StackStatus::DeleteComplete).build();
        assert_eq!(
            outcome(protection_decision(&deleted, false)),
            Outcome::Skipped
        );
    }
}
