//! `remedy undo`'s one call into a member account's stack: Invoke of the rule's own function
//! (`AutoRemediate<ruleId>`, by name: this account and region only) with the undo request.
//! What the answer means is `remedy_functions::undo`'s.

use crate::aws::reason;
use remedy_functions::undo::{UndoReport, UndoRequest, PAYLOAD_KEY};

/// Invokes `function` with `{"remedy_undo": request}` and reads its [`UndoReport`]. `Err`: the
/// call failed, or the function answered with an error or with something else than a report
/// (a function deployed by a remedy from before `undo`).
pub(crate) async fn invoke_undo(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    request: &UndoRequest,
) -> Result<UndoReport, String> {
    let payload = serde_json::to_vec(&serde_json::json!({ PAYLOAD_KEY: request }))
        .map_err(|e| format!("cannot write the undo request: {e}"))?;
    let out = lambda
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(payload))
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                format!("no function {function} here: the rule is not deployed in this account")
            } else {
                reason(&format!("Invoke {function}"), &e)
            }
        })?;
    let body = out.payload().map(|p| p.as_ref()).unwrap_or_default();
    if let Some(kind) = out.function_error() {
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "no message".into());
        return Err(format!("{function} failed ({kind}): {message}"));
    }
    serde_json::from_slice::<UndoReport>(body).map_err(|_| {
        format!(
            "{function} answered without an undo report: its code is older than `remedy undo` \
             (deploy this release first)"
        )
    })
}
