//! The orchestrator's log group (`remedy history`): FilterLogEvents over it, every page,
//! through the member account's role in its home region. What a line means is
//! `core::history`'s.

use crate::aws::reason;
use crate::core::stop::Stop;
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;

/// Hands `each` every event (message, timestamp in ms) of `group` since `start_ms` that
/// `pattern` lets through, page after page. `Ok(false)`: the account has no such log group.
/// A Ctrl-C stops between pages, as an error that says so.
pub(crate) async fn filter_events(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    pattern: &str,
    start_ms: i64,
    stop: &Stop,
    mut each: impl FnMut(&str, i64),
) -> Result<bool, String> {
    let mut pages = logs
        .filter_log_events()
        .log_group_name(group)
        .filter_pattern(pattern)
        .start_time(start_ms)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                for event in page.events() {
                    if let (Some(message), Some(timestamp)) = (event.message(), event.timestamp()) {
                        each(message, timestamp);
                    }
                }
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => {
                let why = reason(&format!("FilterLogEvents {group}"), &e);
                let denied = e
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    .is_some_and(|code| code == "AccessDeniedException");
                return Err(if denied {
                    format!("{why}; a bootstrap stack from before `remedy history` lacks logs:FilterLogEvents: update it")
                } else {
                    why
                });
            }
        }
        if stop.interrupted() {
            return Err("interrupted (Ctrl-C) before the log group was read to its end".into());
        }
    }
    Ok(true)
}
