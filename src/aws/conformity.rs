//! Cloud Conformity's REST API (the one edge that is not AWS): the calls `remedy
//! conformity` makes, over HTTPS with rustls (the SDK's own HTTP connector, so no second TLS
//! stack), with the API key in the `Authorization: ApiKey …` header (README.md of the
//! reference, "Authorization Header") and JSON:API bodies (`application/vnd.api+json`).
//!
//! - Each request may take 30 s (the API's documented hard limit), then it is an error.
//! - 429 and 5xx answers and lost connections are retried, 5 attempts in all, with a
//!   growing, jittered backoff (0.5 s, 1 s, 2 s, 4 s), or as long as `Retry-After` asks (at
//!   most 30 s). A POST (it creates: not idempotent) is retried on 429 only, which says the
//!   request was not taken; after a 5xx or a lost answer it may have been.
//! - No message carries the key, even an error page that echoes the request.
//! - 401 and 403 are [`ApiError::Unauthorized`]: the key is wrong or lacks the access,
//!   which no other account's call would change.
//! - The key is held in an [`ApiKey`], which never prints itself; no request or answer is
//!   logged with its headers.
//!
//! Must not: decide what to create or update (`core::conformity`).

use crate::core::conformity::{error_message, parse_accounts, parse_settings};
use crate::core::conformity::{ConformityAccount, Setting, Wanted};
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The API key. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// A key as read (surrounding whitespace and a trailing newline dropped); `None` when
    /// empty or not something a header can carry.
    pub fn new(text: &str) -> Option<ApiKey> {
        let key = text.trim();
        (!key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic())).then(|| ApiKey(key.into()))
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 401 or 403: the key is not valid, or may not do this.
    Unauthorized(String),
    /// Any other error answer, after the retries: its status and message.
    Status(u16, String),
    /// No answer (the connection, a timeout), after the retries.
    Transport(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Unauthorized(why) => write!(f, "Conformity refused the API key: {why}"),
            ApiError::Status(status, why) => write!(f, "Conformity answered {status}: {why}"),
            ApiError::Transport(why) => write!(f, "Conformity's API did not answer: {why}"),
        }
    }
}

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per request, the first included.
const ATTEMPTS: u32 = 5;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// `GET /accounts` page size (the documented maximum is 1000, the default 100).
const PAGE_SIZE: usize = 100;
/// Pages read at most (100,000 accounts): a server that never stops is an error.
const MAX_PAGES: usize = 1000;

/// A client of one Conformity API.
pub struct Client {
    base_url: String,
    key: ApiKey,
    connector: aws_smithy_http_client::Connector,
    retries: AtomicU64,
}

impl Client {
    pub fn new(base_url: &str, key: ApiKey) -> Client {
        use aws_smithy_http_client::tls;
        let connector = aws_smithy_http_client::Connector::builder()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build();
        Client {
            base_url: base_url.trim_end_matches('/').to_owned(),
            key,
            connector,
            retries: AtomicU64::new(0),
        }
    }

    /// The retries made so far (429, 5xx, lost connections).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Every AWS account Conformity checks (`GET /accounts`, page by page).
    pub async fn accounts(&self) -> Result<Vec<ConformityAccount>, ApiError> {
        let mut all: Vec<ConformityAccount> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for page in 0..MAX_PAGES {
            let body = self
                .call(
                    "GET",
                    &format!("/accounts?page%5Bsize%5D={PAGE_SIZE}&page%5Bnumber%5D={page}"),
                    None,
                )
                .await?;
            let ids: Vec<String> = body
                .get("data")
                .and_then(Value::as_array)
                .map(|data| {
                    data.iter()
                        .filter_map(|a| a.get("id").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let listed = ids.len();
            // Every account counts, other clouds' too: a page of Azure accounts is not the end.
            // The ids first seen on this page: each account is kept once.
            let mut fresh: std::collections::HashSet<String> = ids
                .into_iter()
                .filter(|id| seen.insert(id.clone()))
                .collect();
            let new = fresh.len();
            all.extend(
                parse_accounts(&body)
                    .into_iter()
                    .filter(|a| fresh.remove(&a.id)),
            );
            let total = body
                .pointer("/meta/total")
                .and_then(Value::as_u64)
                .and_then(|t| usize::try_from(t).ok());
            // The last page: a short one, everything counted, or (a server that does not
            // page) nothing new.
            let done = listed < PAGE_SIZE
                || total.is_some_and(|t| (page + 1) * PAGE_SIZE >= t)
                || new == 0;
            if done {
                return Ok(all);
            }
        }
        Err(ApiError::Transport(format!(
            "GET /accounts did not end after {MAX_PAGES} pages"
        )))
    }

    /// The SNS communication settings of `account` (Conformity's id).
    pub async fn sns_settings(&self, account: &str) -> Result<Vec<Setting>, ApiError> {
        let body = self
            .call(
                "GET",
                &format!(
                    "/settings/communication?accountId={}&channel=sns",
                    encode(account)
                ),
                None,
            )
            .await?;
        Ok(parse_settings(&body))
    }

    /// Creates remedy's setting for `account`; its id.
    pub async fn create_setting(&self, account: &str, wanted: &Wanted) -> Result<String, ApiError> {
        let body = self
            .call(
                "POST",
                "/settings/communication",
                Some(wanted.create_body(account)),
            )
            .await?;
        Ok(parse_settings(&body)
            .into_iter()
            .next()
            .map(|s| s.id)
            .unwrap_or_default())
    }

    /// Updates the setting `id` to `wanted`.
    pub async fn update_setting(&self, id: &str, wanted: &Wanted) -> Result<(), ApiError> {
        self.call(
            "PATCH",
            &format!("/settings/communication/{}", encode(id)),
            Some(wanted.update_body()),
        )
        .await
        .map(|_| ())
    }

    /// Every profile: (id, name).
    pub async fn profiles(&self) -> Result<Vec<(String, String)>, ApiError> {
        let body = self.call("GET", "/profiles", None).await?;
        Ok(crate::core::conformity::parse_profiles(&body))
    }

    /// One profile with its rule settings (`included`).
    pub async fn profile(&self, id: &str) -> Result<Value, ApiError> {
        self.call(
            "GET",
            &format!("/profiles/{}?includes=ruleSettings", encode(id)),
            None,
        )
        .await
    }

    /// Creates a profile; its id.
    pub async fn create_profile(&self, body: Value) -> Result<String, ApiError> {
        let answer = self.call("POST", "/profiles", Some(body)).await?;
        Ok(answer
            .pointer("/data/id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    /// Adds or updates the rule settings of `body` in the profile `id` (the others stay).
    pub async fn update_profile(&self, id: &str, body: Value) -> Result<(), ApiError> {
        self.call("PATCH", &format!("/profiles/{}", encode(id)), Some(body))
            .await
            .map(|_| ())
    }

    /// One call, retried as the module says; the answer's JSON (`null` when empty).
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, ApiError> {
        self.attempts(method, path, body).await.map_err(|e| {
            let mask = |text: String| text.replace(&self.key.0, "****");
            match e {
                ApiError::Unauthorized(why) => ApiError::Unauthorized(mask(why)),
                ApiError::Status(status, why) => ApiError::Status(status, mask(why)),
                ApiError::Transport(why) => ApiError::Transport(mask(why)),
            }
        })
    }

    async fn attempts(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.base_url);
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let mut attempt = 1;
        loop {
            let answer = tokio::time::timeout(REQUEST_TIMEOUT, self.send(method, &url, &body))
                .await
                .unwrap_or_else(|_| Err(format!("{what}: no answer in {REQUEST_TIMEOUT:?}")));
            let (retry_after, error) = match answer {
                Ok((status, _, text)) if (200..300).contains(&status) => {
                    return Ok(if text.trim().is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_str(&text).map_err(|e| {
                            ApiError::Status(status, format!("{what}: the answer is not JSON: {e}"))
                        })?
                    });
                }
                Ok((status @ (401 | 403), _, text)) => {
                    return Err(ApiError::Unauthorized(format!(
                        "{what}: {status} {}",
                        error_message(&text)
                    )))
                }
                Ok((status, retry_after, text))
                    if status == 429 || (status >= 500 && method != "POST") =>
                {
                    (
                        retry_after,
                        ApiError::Status(status, format!("{what}: {}", error_message(&text))),
                    )
                }
                Ok((status, _, text)) => {
                    return Err(ApiError::Status(
                        status,
                        format!("{what}: {}", error_message(&text)),
                    ))
                }
                Err(why) if method == "POST" => {
                    return Err(ApiError::Transport(format!(
                        "{why} (a POST is not repeated: it may have been taken; run again to see)"
                    )))
                }
                Err(why) => (None, ApiError::Transport(why)),
            };
            if attempt >= ATTEMPTS {
                return Err(error);
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(retry_after.unwrap_or_else(|| backoff(attempt))).await;
            attempt += 1;
        }
    }

    /// One HTTP exchange: the status, `Retry-After` (seconds) and the body as text.
    async fn send(
        &self,
        method: &str,
        url: &str,
        body: &Option<Value>,
    ) -> Result<(u16, Option<Duration>, String), String> {
        let bytes = body.as_ref().map(Value::to_string).unwrap_or_default();
        let mut request = HttpRequest::new(SdkBody::from(bytes.clone()));
        request.set_method(method).map_err(|e| e.to_string())?;
        request
            .set_uri(url)
            .map_err(|e| format!("the API's URL is not valid: {e}"))?;
        let headers = request.headers_mut();
        headers.insert("content-type", "application/vnd.api+json");
        headers.insert("accept", "application/vnd.api+json");
        headers.insert("user-agent", concat!("remedy/", env!("CARGO_PKG_VERSION")));
        headers.insert("content-length", bytes.len().to_string());
        headers
            .try_insert("authorization", format!("ApiKey {}", self.key.0))
            .map_err(|_| "the API key cannot be sent in a header".to_owned())?;
        let response = self
            .connector
            .call(request)
            .await
            .map_err(|e| remedy_functions::rule::chain(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let text = aws_smithy_types::byte_stream::ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| format!("the answer was cut: {e}"))?
            .into_bytes();
        Ok((
            status,
            retry_after,
            String::from_utf8_lossy(&text).into_owned(),
        ))
    }
}

/// The wait before attempt `attempt + 1`: 0.5 s doubled per attempt, with up to 25 % of
/// jitter.
fn backoff(attempt: u32) -> Duration {
    use std::hash::BuildHasher;
    let base = 500u64 << (attempt - 1).min(4);
    let jitter = std::collections::hash_map::RandomState::new().hash_one(attempt) % (base / 4 + 1);
    Duration::from_millis(base + jitter)
}

/// A path segment or query value, percent-encoded (ids such as `A1:communication:sns-x`).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_never_shows_itself() {
        let key = ApiKey::new("  s3cr3t-key\n").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(****)");
        assert!(ApiKey::new("  ").is_none());
        assert!(ApiKey::new("two words").is_none());
        assert_eq!(
            encode("A:communication:sns-1 x/y"),
            "A:communication:sns-1%20x%2Fy"
        );
        assert!(backoff(1) >= Duration::from_millis(500));
        assert!(backoff(9) <= Duration::from_millis(8000 + 2000));
    }
}
