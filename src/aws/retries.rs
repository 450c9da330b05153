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
//!
//! Must not: decide anything beyond retrying.

use aws_config::retry::RetryConfig;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// AssumeRole calls in flight at once, whatever the stage's concurrency.
pub(crate) const ASSUME_ROLE_CONCURRENCY: usize = 8;

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
