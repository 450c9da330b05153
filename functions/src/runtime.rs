//! Running a rule: run its fix (`RuleSpec::fix`) and turn any error into a `failed` report,
//! so that a failure is never reported as success. Used by the rule functions' Lambda
//! handler and by `remedy remediate`.

use crate::rule::{with_own_stack, Context, OwnStack, Report};
use std::sync::Arc;

/// Runs `ctx.rule` and reports what happened. Never panics on AWS answers; never reports an
/// error as anything but `failed`.
pub async fn run_rule(ctx: &Context) -> Report {
    match (ctx.rule.fix)(ctx).await {
        Ok(report) => report,
        Err(e) => Report::failed(e.0),
    }
}

/// Runs `ctx.rule` as [`run_rule`] does, knowing remedy's own stack: its resources are left
/// alone (`skipped`). `None`: no stack, nothing is remedy's own.
pub async fn run_rule_for(ctx: &Context, stack: Option<Arc<OwnStack>>) -> Report {
    with_own_stack(stack, run_rule(ctx)).await
}
