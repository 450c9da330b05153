//! How remedy talks to AWS when AWS pushes back (AWS edge): the retry policy every client
//! shares, a governor on AssumeRole, and a count of retries per API for the report.
//!
//! - Standard retries with 10 attempts, 200 ms to 20 s of jittered backoff: enough to ride
//!   out sustained throttling (a 1,000-account run meets it in Organizations, STS and
//!   CloudFormation) and dropped connections.
//! - No retry quota: the SDK's default token bucket stops retrying after ~100 retries in a
//!   burst, which a large run under throttling reaches at once. The stage's concurrency bounds
//!   the load instead, and the governor bounds AssumeRole.
//! - Every client remedy builds (the STS client of its AssumeRole provider included) counts
//!   its retries per `Service.Operation` into the run's [`RetryCounts`] (a value the
//!   `Identity` (in `aws::identity`) owns and hands to each client it builds; no global);
//!   the session reads them for each stage's report.
//! - A connection the endpoint refuses is not retried: nothing listens at that address, the
//!   next attempt is refused too, and ten attempts of backoff hid it for ~30 s. [`Reach`]
//!   names the endpoint in that error (and in any error answer, for `aws::errors`). A name
//!   that does not resolve, a TLS handshake that fails, no connection within
//!   [`CONNECT_TIMEOUT`], and a connection lost mid-request are retried like throttling and
//!   HTTP 5xx: on a large run against AWS these are the network's hiccups, and failing a
//!   target on the first one would be worse than the wait.
//!
//! Must not: decide anything beyond retrying.

use aws_config::retry::RetryConfig;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// AssumeRole calls in flight at once, whatever the stage's concurrency.
pub(crate) const ASSUME_ROLE_CONCURRENCY: usize = 8;

/// How long a connection may take to be made: a few seconds, then the endpoint is named
/// as unreachable (not retried, see the module doc).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The timeouts of every client: a connect timeout only (a CloudFormation wait is polled,
/// never one long request).
pub(crate) fn timeout_config() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}

/// The retry policy of every client.
pub(crate) fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20))
}

/// A retry partition without a retry quota (see the module doc).
pub(crate) fn partition(service: &'static str) -> RetryPartition {
    RetryPartition::custom(service)
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// One run's retries per `Service.Operation`, shared by every client built with it.
#[derive(Debug, Clone, Default)]
pub struct RetryCounts(Arc<Mutex<BTreeMap<String, u64>>>);

impl RetryCounts {
    /// Retries so far, per `Service.Operation`.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// What happened since `before` (an earlier snapshot).
    pub(crate) fn since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.snapshot()
            .into_iter()
            .filter_map(|(api, n)| {
                let delta = n - before.get(&api).copied().unwrap_or(0);
                (delta > 0).then_some((api, delta))
            })
            .collect()
    }

    /// The interceptor a client counts its retries with.
    pub(crate) fn counter(&self) -> RetryCounter {
        RetryCounter(self.clone())
    }

    fn add(&self, api: String) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(api)
            .or_default() += 1;
    }
}

/// Counts every attempt after the first, per operation, into its [`RetryCounts`].
#[derive(Debug, Clone)]
pub(crate) struct RetryCounter(RetryCounts);

impl Intercept for RetryCounter {
    fn name(&self) -> &'static str {
        "RemedyRetryCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempts = cfg
            .load::<RequestAttempts>()
            .map(|a| a.attempts())
            .unwrap_or(1);
        if attempts > 1 {
            let api = cfg
                .load::<Metadata>()
                .map(|m| format!("{}.{}", m.service(), m.name()))
                .unwrap_or_else(|| "unknown".into());
            self.0.add(api);
        }
        Ok(())
    }
}

/// The response header [`Reach`] names a failed request's endpoint in (read by
/// `aws::errors`).
pub(crate) const ENDPOINT_HEADER: &str = "x-remedy-endpoint";

/// The first error of type `T` in `err`'s chain.
pub(crate) fn find_source<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// A connection to `endpoint` that could not be made, and why: the error a request ends
/// with instead of the SDK's "dispatch failure: io error: client error (Connect): …".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreachable {
    pub(crate) endpoint: String,
    pub(crate) cause: String,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot connect to {}: {} (check the network, a proxy, AWS_ENDPOINT_URL and the region)",
            self.endpoint, self.cause
        )
    }
}

impl std::error::Error for Unreachable {}

/// Where an attempt's request went (`scheme://host[:port]`), kept for [`Reach`].
#[derive(Debug, Clone)]
struct Destination(String);

impl Storable for Destination {
    type Storer = StoreReplace<Self>;
}

/// Names the endpoint of a failed attempt: a connection that could not be made becomes
/// [`Unreachable`] (a connector error of no retryable kind, so the standard classifiers do
/// not retry it), and an error answer carries the endpoint in a response header
/// ([`ENDPOINT_HEADER`]) for its one-line description.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reach;

impl Intercept for Reach {
    fn name(&self) -> &'static str {
        "RemedyReach"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let endpoint = origin(context.request().uri());
        cfg.interceptor_state().store_put(Destination(endpoint));
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Destination(endpoint)) = cfg.load::<Destination>().cloned() else {
            return Ok(());
        };
        if let Some(response) = context.response_mut() {
            if response.status().as_u16() >= 400 {
                response
                    .headers_mut()
                    .insert(ENDPOINT_HEADER, endpoint.clone());
            }
        }
        if let Some(Err(error)) = context.output_or_error_mut() {
            if let Some(cause) = error.as_connector_error().and_then(not_connected) {
                *error = unreachable(endpoint, cause);
            }
        }
        Ok(())
    }
}

/// The error an attempt that could not connect ends with: not retried (no retryable kind).
fn unreachable<E>(endpoint: String, cause: String) -> OrchestratorError<E> {
    OrchestratorError::connector(ConnectorError::other(
        Box::new(Unreachable { endpoint, cause }),
        None,
    ))
}

/// Why no connection was made, when the endpoint refused it (hyper's "connect" error with a
/// refused connection at its root). `None` for anything else — a name that does not
/// resolve, a TLS handshake, the connect timeout, a connection lost after it was made —
/// which the standard retries handle.
fn not_connected(error: &ConnectorError) -> Option<String> {
    let connect = find_source::<hyper_util::client::legacy::Error>(error)
        .is_some_and(hyper_util::client::legacy::Error::is_connect);
    let refused = find_source::<std::io::Error>(error)
        .is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
    if !(connect && refused) {
        return None;
    }
    // The innermost cause says it best ("Connection refused (os error 111)", "failed to
    // lookup address information: …"); the connect timeout's says how long.
    let mut innermost = error.to_string();
    let mut current = std::error::Error::source(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() {
            innermost = text;
        }
        current = e.source();
    }
    Some(innermost)
}

/// `https://host:port/path?query` → `https://host:port`.
fn origin(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("https", uri));
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime::client::retries::classifiers::TransientErrorClassifier;
    use aws_smithy_runtime_api::client::interceptors::context::{Error, Input, InterceptorContext};
    use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

    fn classified(error: OrchestratorError<Error>) -> RetryAction {
        let mut ctx = InterceptorContext::new(Input::doesnt_matter());
        ctx.set_output_or_error(Err(error));
        TransientErrorClassifier::<Error>::new().classify_retry(&ctx)
    }

    #[test]
    fn an_unreachable_endpoint_is_not_retried_a_lost_connection_is() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        // What the SDK makes of a refused connection: retried (the ~30 s this replaces).
        assert_eq!(
            classified(OrchestratorError::connector(ConnectorError::io(Box::new(
                refused
            )))),
            RetryAction::transient_error()
        );
        // What Reach makes of it: not retried, and it names the endpoint.
        let error = unreachable::<Error>("http://127.0.0.1:9".into(), "Connection refused".into());
        let text =
            find_source::<Unreachable>(error.as_connector_error().expect("a connector error"))
                .expect("Unreachable in the chain")
                .to_string();
        assert!(
            text.starts_with("cannot connect to http://127.0.0.1:9: Connection refused"),
            "{text}"
        );
        assert_eq!(classified(error), RetryAction::NoActionIndicated);
        // A connection lost mid-request is not a connect error: left to the retries.
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(not_connected(&ConnectorError::io(Box::new(reset))), None);
        // Nor is a connect timeout or a name that does not resolve (no refusal at the root).
        let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(
            not_connected(&ConnectorError::timeout(Box::new(timeout))),
            None
        );
    }

    #[test]
    fn the_origin_of_a_request() {
        assert_eq!(
            origin("https://sts.us-east-1.amazonaws.com/?Action=X"),
            "https://sts.us-east-1.amazonaws.com"
        );
        assert_eq!(origin("http://127.0.0.1:9/"), "http://127.0.0.1:9");
        assert_eq!(origin("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }
}
