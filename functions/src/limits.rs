//! Rate limits and the circuit breaker (issue 16): how many fixes a rule may make in one
//! account per hour (`max_per_hour`, default 50), and how many of them may fail before the
//! rule pauses itself there (`max_failures_per_hour`, default 5). Past either, the finding
//! is handled as `notify` (reason codes `rate_limited`, `circuit_open`) until the hour turns.
//!
//! The counts live in the stack's DynamoDB table (`REMEDY_COUNTERS_TABLE`), one item per
//! rule, kind and UTC hour (`fixes#S3-001#<hour>`, `failures#S3-001#<hour>`, the hour as
//! hours since the epoch), so that every concurrent invocation of the orchestrator shares
//! them: a fix is admitted by one conditional `UpdateItem` (`ADD n :one` only if `n < max`),
//! which DynamoDB applies atomically — concurrent invocations can never admit more than
//! `max_per_hour` between them. A failure is one unconditional `ADD`; the breaker is read
//! with one consistent `GetItem` before the fix is admitted. Each item carries a TTL
//! attribute (`expires_at`, an hour after its hour ends), so the table never grows.
//!
//! A counter that cannot be read or written fails closed: nothing is changed and the
//! finding is retried (docs/decisions.md, "Rate limits and the circuit breaker").
//!
//! The decisions are plain functions ([`key`], [`expires_at`], [`circuit_open`],
//! [`parse_table`]); [`Limits`] holds the table's client and does the I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The environment variable naming the counters table (set by the template).
pub const TABLE_ENV: &str = "REMEDY_COUNTERS_TABLE";
/// The environment variable with the rules whose limits are not the defaults:
/// `{"S3-001": [max_per_hour, max_failures_per_hour]}`.
pub const LIMITS_ENV: &str = "REMEDY_LIMITS";
/// `max_per_hour` when the configuration gives none.
pub const DEFAULT_MAX_PER_HOUR: u32 = 50;
/// `max_failures_per_hour` when the configuration gives none.
pub const DEFAULT_MAX_FAILURES_PER_HOUR: u32 = 5;
/// The largest value either key takes (and the smallest is 1: a rule that may never fix
/// is a rule in `notify` mode, which says so).
pub const MAX_LIMIT: u32 = 10_000;
/// The table's partition key (a string).
pub const KEY_ATTRIBUTE: &str = "pk";
/// The table's TTL attribute: epoch seconds after which DynamoDB may delete the item.
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// The count of an item (a number).
const COUNT_ATTRIBUTE: &str = "n";

/// One rule's limits in one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(u32, u32)", into = "(u32, u32)")]
pub struct Limit {
    /// Fixes admitted per UTC hour.
    pub max_per_hour: u32,
    /// Failed fixes per UTC hour after which the rule notifies only (the circuit opens).
    pub max_failures_per_hour: u32,
}

impl Default for Limit {
    fn default() -> Self {
        Limit {
            max_per_hour: DEFAULT_MAX_PER_HOUR,
            max_failures_per_hour: DEFAULT_MAX_FAILURES_PER_HOUR,
        }
    }
}

impl From<(u32, u32)> for Limit {
    fn from((max_per_hour, max_failures_per_hour): (u32, u32)) -> Self {
        Limit {
            max_per_hour,
            max_failures_per_hour,
        }
    }
}

impl From<Limit> for (u32, u32) {
    fn from(l: Limit) -> Self {
        (l.max_per_hour, l.max_failures_per_hour)
    }
}

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Fixes admitted (the invokes of the rule's function in `remediate` mode).
    Fixes,
    /// Fixes that failed.
    Failures,
}

impl Counter {
    fn as_str(self) -> &'static str {
        match self {
            Counter::Fixes => "fixes",
            Counter::Failures => "failures",
        }
    }
}

/// The UTC hour of `epoch_secs`, as hours since the epoch.
pub fn hour_of(epoch_secs: u64) -> u64 {
    epoch_secs / 3600
}

/// The item key of `counter` for `rule_id` in `hour`.
pub fn key(counter: Counter, rule_id: &str, hour: u64) -> String {
    format!("{}#{rule_id}#{hour}", counter.as_str())
}

/// When an item of `hour` may go: an hour after its hour ends (DynamoDB deletes expired
/// items within days, not at once; an expired item is never read again, its hour being
/// over).
pub fn expires_at(hour: u64) -> u64 {
    (hour + 2) * 3600
}

/// Whether `failures` in this hour open the breaker: at most `max_failures_per_hour` fixes
/// may fail in an hour; once that many have, the rule notifies until the hour turns.
pub fn circuit_open(failures: u64, limit: Limit) -> bool {
    failures >= u64::from(limit.max_failures_per_hour)
}

/// `REMEDY_LIMITS` read and checked: each value within 1 ..= [`MAX_LIMIT`], so a mangled
/// table stops the function at its start rather than limit nothing.
pub fn parse_table(text: Option<&str>) -> Result<BTreeMap<String, Limit>, String> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let table: BTreeMap<String, Limit> =
        serde_json::from_str(text).map_err(|e| format!("{LIMITS_ENV}: {e}"))?;
    let out_of_bounds = |v: u32| !(1..=MAX_LIMIT).contains(&v);
    if let Some((rule, limit)) = table
        .iter()
        .find(|(_, l)| out_of_bounds(l.max_per_hour) || out_of_bounds(l.max_failures_per_hour))
    {
        return Err(format!(
            "{LIMITS_ENV}: {rule}: {limit:?} is outside 1 ..= {MAX_LIMIT}"
        ));
    }
    Ok(table)
}

/// What the counters say about one finding of a `remediate` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Admitted: one fix counted.
    Go,
    /// `max_per_hour` fixes were admitted this hour already.
    RateLimited { max_per_hour: u32 },
    /// `failures` fixes failed this hour: the breaker is open.
    CircuitOpen { failures: u64 },
}

/// The counters of one stack: its table, and the rules' limits (a rule absent from
/// `per_rule` has the defaults). Without a table nothing is limited.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub table: Option<String>,
    pub dynamodb: Option<aws_sdk_dynamodb::Client>,
    pub per_rule: BTreeMap<String, Limit>,
}

impl Limits {
    /// The counters in `table`, with a client built from `aws` (the stack's home region).
    pub fn new(
        aws: &aws_config::SdkConfig,
        table: String,
        per_rule: BTreeMap<String, Limit>,
    ) -> Limits {
        Limits {
            table: Some(table),
            dynamodb: Some(aws_sdk_dynamodb::Client::new(aws)),
            per_rule,
        }
    }

    /// `rule_id`'s limits.
    pub fn of(&self, rule_id: &str) -> Limit {
        self.per_rule.get(rule_id).copied().unwrap_or_default()
    }

    /// Whether a fix of `rule_id` may go ahead at `now` (epoch seconds): the breaker first
    /// (a consistent read of this hour's failures), then one fix counted if the hour has
    /// room. `Err`: a counter could not be read or written.
    pub async fn admit(&self, rule_id: &str, now: u64) -> Result<Verdict, String> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let (Some(table), Some(dynamodb)) = (&self.table, &self.dynamodb) else {
            return Ok(Verdict::Go);
        };
        let limit = self.of(rule_id);
        let hour = hour_of(now);
        let read = dynamodb
            .get_item()
            .table_name(table)
            .key(
                KEY_ATTRIBUTE,
                AttributeValue::S(key(Counter::Failures, rule_id, hour)),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("GetItem: {}", crate::rule::describe_sdk_error(&e)))?;
        let failures = read
            .item()
            .and_then(|item| item.get(COUNT_ATTRIBUTE))
            .map(count_of)
            .unwrap_or(0);
        if circuit_open(failures, limit) {
            return Ok(Verdict::CircuitOpen { failures });
        }
        let counted = increment(dynamodb, table, key(Counter::Fixes, rule_id, hour), hour)
            .condition_expression("attribute_not_exists(#n) OR #n < :max")
            .expression_attribute_values(":max", AttributeValue::N(limit.max_per_hour.to_string()))
            .send()
            .await;
        match counted {
            Ok(_) => Ok(Verdict::Go),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Verdict::RateLimited {
                    max_per_hour: limit.max_per_hour,
                })
            }
            Err(e) => Err(format!(
                "UpdateItem: {}",
                crate::rule::describe_sdk_error(&e)
            )),
        }
    }

    /// Counts a failed fix of `rule_id` at `now`; the hour's failures so far. Without a
    /// table: `Ok(0)`.
    pub async fn record_failure(&self, rule_id: &str, now: u64) -> Result<u64, String> {
        use aws_sdk_dynamodb::types::ReturnValue;
        let (Some(table), Some(dynamodb)) = (&self.table, &self.dynamodb) else {
            return Ok(0);
        };
        let hour = hour_of(now);
        let out = increment(dynamodb, table, key(Counter::Failures, rule_id, hour), hour)
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| format!("UpdateItem: {}", crate::rule::describe_sdk_error(&e)))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get(COUNT_ATTRIBUTE))
            .map(count_of)
            .unwrap_or(0))
    }
}

/// One `UpdateItem` that adds one to the count of the item `key` of `hour` and sets its TTL.
fn increment(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    key: String,
    hour: u64,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    use aws_sdk_dynamodb::types::AttributeValue;
    dynamodb
        .update_item()
        .table_name(table)
        .key(KEY_ATTRIBUTE, AttributeValue::S(key))
        .update_expression("ADD #n :one SET #t = :ttl")
        .expression_attribute_names("#n", COUNT_ATTRIBUTE)
        .expression_attribute_names("#t", TTL_ATTRIBUTE)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":ttl", AttributeValue::N(expires_at(hour).to_string()))
}

/// A count attribute's value (a number; anything else counts as 0).
fn count_of(value: &aws_sdk_dynamodb::types::AttributeValue) -> u64 {
    value.as_n().ok().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The time now, in seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_item_per_rule_kind_and_utc_hour() {
        // 2026-12-06T16:59:59Z and 17:00:00Z: two hours, two items.
        let before = 1_796_576_399;
        assert_eq!(hour_of(before) + 1, hour_of(before + 1));
        assert_eq!(
            key(Counter::Fixes, "S3-001", hour_of(before)),
            format!("fixes#S3-001#{}", hour_of(before))
        );
        assert_ne!(
            key(Counter::Fixes, "S3-001", 7),
            key(Counter::Failures, "S3-001", 7)
        );
        // Kept an hour past its own.
        assert_eq!(expires_at(10), 12 * 3600);
        assert!(expires_at(hour_of(before)) > before + 3600);
    }

    #[test]
    fn the_breaker_opens_at_the_maximum() {
        let limit = Limit {
            max_per_hour: 50,
            max_failures_per_hour: 3,
        };
        assert!(!circuit_open(0, limit));
        assert!(!circuit_open(2, limit));
        assert!(circuit_open(3, limit));
        assert!(circuit_open(9, limit));
    }

    #[test]
    fn the_limits_table_from_the_environment() {
        assert_eq!(parse_table(None), Ok(BTreeMap::new()));
        assert_eq!(parse_table(Some(" ")), Ok(BTreeMap::new()));
        let table = parse_table(Some(r#"{"S3-001":[3,1]}"#)).unwrap();
        let limits = Limits {
            per_rule: table,
            ..Limits::default()
        };
        assert_eq!(
            limits.of("S3-001"),
            Limit {
                max_per_hour: 3,
                max_failures_per_hour: 1
            }
        );
        assert_eq!(limits.of("EC2-002"), Limit::default());
        assert_eq!(
            serde_json::to_string(&Limit::default()).unwrap(),
            "[50,5]",
            "the template writes the same shape"
        );
        for bad in [
            r#"{"S3-001":[0,5]}"#,
            r#"{"S3-001":[5,10001]}"#,
            r#"{"S3-001":50}"#,
            "[1,2]",
        ] {
            let err = parse_table(Some(bad)).unwrap_err();
            assert!(err.starts_with(LIMITS_ENV), "{bad}: {err}");
        }
    }

    #[tokio::test]
    async fn without_a_table_nothing_is_limited() {
        let limits = Limits::default();
        assert_eq!(limits.admit("S3-001", 0).await, Ok(Verdict::Go));
        assert_eq!(limits.record_failure("S3-001", 0).await, Ok(0));
    }
}
