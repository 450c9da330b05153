//! A stand-in for Cloud Conformity's REST API, on 127.0.0.1, for `remedy conformity`'s
//! tests: the endpoints remedy calls, with the request and response shapes of Conformity's
//! public API reference (the archived `cloudconformity/documentation-api` repository):
//!
//! - authentication, `Authorization: ApiKey <key>`, JSON:API bodies and the status codes:
//!   https://github.com/cloudconformity/documentation-api/blob/master/README.md
//!   (an invalid key is 403, as Cloud One's Settings reference says; the body is the API
//!   gateway's `{"Message": …}`, as in Trend Micro's own Terraform provider's fixtures);
//! - pagination, `page[size]` (at most 1000, default 100) and `page[number]` (from 0), with
//!   `meta.total`: README.md, "Pagination";
//! - `GET /accounts`, each account's AWS id in `attributes["awsaccount-id"]`:
//!   https://github.com/cloudconformity/documentation-api/blob/master/Accounts.md
//! - `GET /settings/communication?accountId=…&channel=sns`, `POST /settings/communication`
//!   (a `data` array; answered, as the page shows, with a top-level array of `{"data": …}`),
//!   `PATCH /settings/communication/{id}` (one `data` object), setting ids
//!   `<accountId>:communication:<channel>-<id>`, validation errors as JSON:API `errors` with
//!   `detail` and `source.pointer`:
//!   https://github.com/cloudconformity/documentation-api/blob/master/Settings.md
//!
//! - profiles: `GET /profiles`, `GET /profiles/{id}?includes=ruleSettings`, `POST /profiles`
//!   (rule settings in `included`, listed in `data.relationships.ruleSettings`) and `PATCH
//!   /profiles/{id}` ("only the settings passed in the request will be added/updated"):
//!   https://github.com/cloudconformity/documentation-api/blob/master/Profiles.md
//!
//! 429 (with `Retry-After`) is not documented; it is answered on demand ([`Server::throttle`])
//! to prove remedy retries it. One thread per connection; every request is kept
//! ([`Server::requests`]).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Whether it carried the right key.
    pub authorized: bool,
    pub content_type: String,
}

#[derive(Default)]
struct State {
    key: String,
    /// (Conformity id, AWS account id; empty for another cloud's account).
    accounts: Vec<(String, String)>,
    /// Conformity ids whose settings always answer 500.
    failing: Vec<String>,
    /// The settings, as the API holds them (JSON:API resources).
    settings: Vec<Value>,
    /// The profiles: (resource without rules, its rule settings).
    profiles: Vec<(Value, Vec<Value>)>,
    /// Requests still to answer with 429.
    throttle: usize,
    requests: Vec<Request>,
    next_id: u64,
}

/// A Secrets Manager secret `name` holding `key` in the emulator's security account: its ARN
/// (`conformity.api.api_key_secret`).
pub async fn key_secret(emulator: &super::Emulator, name: &str, key: &str) -> String {
    aws_sdk_secretsmanager::Client::new(&emulator.sdk_config())
        .create_secret()
        .name(name)
        .secret_string(key)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

pub struct Server {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    /// A server that accepts `key` and knows `accounts` (AWS account ids), each given a
    /// Conformity id of its own.
    pub fn start(key: &str, accounts: &[&str]) -> Server {
        Server::with_others(key, accounts, 0)
    }

    /// [`Server::start`], the organisation's first `azure` accounts being Azure ones (no
    /// `awsaccount-id`): with more than a page (100), `GET /accounts` must be paged.
    pub fn with_others(key: &str, accounts: &[&str], azure: usize) -> Server {
        let others = (0..azure).map(|i| (format!("cc-azure-{i:03}"), String::new()));
        let state = Arc::new(Mutex::new(State {
            key: key.to_owned(),
            accounts: others
                .chain(
                    accounts
                        .iter()
                        .enumerate()
                        .map(|(i, aws)| (format!("cc-acct-{i:03}"), (*aws).to_owned())),
                )
                .collect(),
            ..State::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Server { url, state }
    }

    /// The settings it holds now.
    pub fn settings(&self) -> Vec<Value> {
        self.state.lock().unwrap().settings.clone()
    }

    /// The profiles it holds: (name, rule settings).
    pub fn profiles(&self) -> Vec<(String, Vec<Value>)> {
        self.state
            .lock()
            .unwrap()
            .profiles
            .iter()
            .map(|(p, rules)| {
                (
                    p["attributes"]["name"].as_str().unwrap_or("").to_owned(),
                    rules.clone(),
                )
            })
            .collect()
    }

    /// Answers every request for the settings of the AWS account `aws` with 500.
    pub fn fail_settings_of(&self, aws: &str) {
        let mut state = self.state.lock().unwrap();
        let id = state
            .accounts
            .iter()
            .find(|(_, a)| a == aws)
            .map(|(id, _)| id.clone())
            .expect("a known account");
        state.failing.push(id);
    }

    /// Answers the next `n` requests with 429.
    pub fn throttle(&self, n: usize) {
        self.state.lock().unwrap().throttle = n;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Sets a setting's attribute at `pointer` (as someone in Conformity's console would).
    pub fn edit(&self, id: &str, pointer: &str, value: Value) {
        let mut state = self.state.lock().unwrap();
        let setting = state
            .settings
            .iter_mut()
            .find(|s| s["id"] == id)
            .expect("a setting with that id");
        *setting.pointer_mut(pointer).expect("an existing attribute") = value;
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let (mut length, mut auth, mut content_type) = (0, String::new(), String::new());
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    "authorization" => auth = v.trim().to_owned(),
                    "content-type" => content_type = v.trim().to_owned(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, extra, answer) = answer(state, &method, &target, &auth, &content_type, &body);
        let text = answer.to_string();
        let reason = match status {
            200 => "OK",
            201 => "Created",
            403 => "Forbidden",
            404 => "Not Found",
            422 => "Unprocessable Entity",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            _ => "Other",
        };
        if write!(
            stream,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/vnd.api+json\r\n{extra}Content-Length: {}\r\n\r\n{text}",
            text.len()
        )
        .is_err()
        {
            return;
        }
    }
}

/// Percent-decoding of a query value or path segment.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            if let Ok(b) = u8::from_str_radix(text.get(i + 1..i + 3).unwrap_or(""), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn errors(detail: &str, pointer: &str) -> Value {
    json!({"errors": [{"status": 422, "detail": detail, "source": {"pointer": pointer}}]})
}

/// The answer to one request: status, extra header lines, body.
fn answer(
    state: &Mutex<State>,
    method: &str,
    target: &str,
    auth: &str,
    content_type: &str,
    body: &Value,
) -> (u16, String, Value) {
    let mut state = state.lock().unwrap();
    let authorized = auth == format!("ApiKey {}", state.key);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    state.requests.push(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        authorized,
        content_type: content_type.to_owned(),
    });
    if state.throttle > 0 {
        state.throttle -= 1;
        return (
            429,
            "Retry-After: 1\r\n".into(),
            json!({"Message": "Too Many Requests"}),
        );
    }
    if !authorized {
        return (
            403,
            String::new(),
            json!({"Message": "User is not authorized to access this resource with an explicit deny"}),
        );
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match (method, path) {
        ("GET", "/v1/accounts") => {
            let size: usize = param("page[size]")
                .and_then(|s| s.parse().ok())
                .unwrap_or(100)
                .min(1000);
            let number: usize = param("page[number]")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let data: Vec<Value> = state
                .accounts
                .iter()
                .skip(number * size)
                .take(size)
                .map(|(id, aws)| {
                    let attributes = if aws.is_empty() {
                        json!({"name": id, "cloud-type": "azure",
                            "cloud-data": {"azure": {"subscriptionId": "00000000-0000-0000-0000-000000000000"}}})
                    } else {
                        json!({"name": format!("account {aws}"), "environment": "test",
                            "awsaccount-id": aws, "subscription-type": "advanced"})
                    };
                    json!({"type": "accounts", "id": id, "attributes": attributes,
                        "relationships": {"organisation": {"data": {"type": "organisations", "id": "org-1"}}}})
                })
                .collect();
            (
                200,
                String::new(),
                json!({"data": data, "meta": {"total": state.accounts.len()}}),
            )
        }
        ("GET", "/v1/settings/communication")
            if param("accountId").is_some_and(|a| state.failing.contains(&a)) =>
        {
            (
                500,
                String::new(),
                json!({"Message": "Internal server error"}),
            )
        }
        ("GET", "/v1/settings/communication") => {
            let account = param("accountId");
            let channel = param("channel");
            let data: Vec<Value> = state
                .settings
                .iter()
                .filter(|s| {
                    account.as_deref().is_none_or(|a| {
                        s.pointer("/relationships/account/data/id")
                            .and_then(Value::as_str)
                            == Some(a)
                    }) && channel
                        .as_deref()
                        .is_none_or(|c| s["attributes"]["channel"] == c)
                })
                .cloned()
                .collect();
            (200, String::new(), json!({"data": data}))
        }
        ("POST", "/v1/settings/communication") => {
            let Some(items) = body["data"].as_array() else {
                return (422, String::new(), errors("data must be an array", "/data"));
            };
            let mut created = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let attributes = &item["attributes"];
                if item["type"] != "settings" || attributes["type"] != "communication" {
                    return (
                        422,
                        String::new(),
                        errors(
                            "type must be settings/communication",
                            &format!("/data/{i}/type"),
                        ),
                    );
                }
                if attributes["channel"] != "sns"
                    || !attributes["configuration"]["arn"]
                        .as_str()
                        .is_some_and(|a| a.starts_with("arn:aws:sns:"))
                {
                    return (
                        422,
                        String::new(),
                        errors(
                            "configuration.arn must be an SNS topic ARN",
                            &format!("/data/{i}/attributes/configuration/arn"),
                        ),
                    );
                }
                let account = item
                    .pointer("/relationships/account/data/id")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !state.accounts.iter().any(|(id, _)| id == account) {
                    return (
                        422,
                        String::new(),
                        errors(
                            "Account not found",
                            &format!("/data/{i}/relationships/account"),
                        ),
                    );
                }
                state.next_id += 1;
                let setting = json!({
                    "type": "settings",
                    "id": format!("{account}:communication:sns-{}", state.next_id),
                    "attributes": attributes,
                    "relationships": {
                        "organisation": {"data": {"type": "organisations", "id": "org-1"}},
                        "account": {"data": {"type": "accounts", "id": account}},
                    },
                });
                state.settings.push(setting.clone());
                created.push(json!({"data": setting}));
            }
            (200, String::new(), Value::Array(created))
        }
        ("GET", "/v1/profiles") => {
            let data: Vec<Value> = state.profiles.iter().map(|(p, _)| p.clone()).collect();
            (200, String::new(), json!({"data": data}))
        }
        ("GET", p) if p.starts_with("/v1/profiles/") => {
            let id = decode(&p["/v1/profiles/".len()..]);
            match state.profiles.iter().find(|(p, _)| p["id"] == id.as_str()) {
                // The rule settings only when asked for (`?includes=ruleSettings`).
                Some((profile, _)) if param("includes").as_deref() != Some("ruleSettings") => {
                    (200, String::new(), json!({"data": profile}))
                }
                Some((profile, rules)) => (
                    200,
                    String::new(),
                    json!({"data": profile, "included": rules}),
                ),
                None => (
                    404,
                    String::new(),
                    json!({"errors": [{"status": 404, "detail": "Profile not found"}]}),
                ),
            }
        }
        ("POST", "/v1/profiles") | ("PATCH", _) if path.starts_with("/v1/profiles") => {
            let rules = match body["included"].as_array() {
                Some(rules) => rules.clone(),
                None => Vec::new(),
            };
            for (i, rule) in rules.iter().enumerate() {
                let tags_ok = rule["attributes"]["exceptions"]["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().all(Value::is_string));
                if rule["type"] != "rules" || !rule["id"].is_string() || !tags_ok {
                    return (
                        422,
                        String::new(),
                        errors(
                            "a rule setting needs type rules, an id and exceptions.tags",
                            &format!("/included/{i}"),
                        ),
                    );
                }
            }
            let listed: Vec<&Value> = body["data"]["relationships"]["ruleSettings"]["data"]
                .as_array()
                .map(|d| d.iter().collect())
                .unwrap_or_default();
            if listed.len() != rules.len()
                || rules
                    .iter()
                    .any(|r| !listed.iter().any(|l| l["id"] == r["id"]))
            {
                return (
                    422,
                    String::new(),
                    errors(
                        "relationships.ruleSettings must list the included rules",
                        "/data/relationships/ruleSettings",
                    ),
                );
            }
            let id = if method == "PATCH" {
                decode(&path["/v1/profiles/".len()..])
            } else {
                body["data"]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        state.next_id += 1;
                        format!("profile-{}", state.next_id)
                    })
            };
            let attributes = body["data"]["attributes"].clone();
            let position = state
                .profiles
                .iter()
                .position(|(p, _)| p["id"] == id.as_str());
            let (profile, all) = match (method, position) {
                ("PATCH", None) => {
                    return (
                        404,
                        String::new(),
                        json!({"errors": [{"status": 404, "detail": "Profile not found"}]}),
                    )
                }
                // PATCH adds or updates the rules it names, keeps the others.
                ("PATCH", Some(at)) => {
                    let (profile, existing) = &mut state.profiles[at];
                    for rule in rules {
                        existing.retain(|r| r["id"] != rule["id"]);
                        existing.push(rule);
                    }
                    if attributes.is_object() {
                        profile["attributes"] = attributes;
                    }
                    (profile.clone(), existing.clone())
                }
                // POST creates, or (with data.id) overwrites every setting.
                (_, at) => {
                    let profile = json!({"type": "profiles", "id": id, "attributes": attributes});
                    match at {
                        Some(at) => state.profiles[at] = (profile.clone(), rules.clone()),
                        None => state.profiles.push((profile.clone(), rules.clone())),
                    }
                    (profile, rules)
                }
            };
            (
                200,
                String::new(),
                json!({"meta": {}, "data": profile, "included": all}),
            )
        }
        ("PATCH", p) if p.starts_with("/v1/settings/communication/") => {
            let id = decode(&p["/v1/settings/communication/".len()..]);
            let Some(setting) = state.settings.iter_mut().find(|s| s["id"] == id.as_str()) else {
                return (
                    404,
                    String::new(),
                    json!({"errors": [{"status": 404, "detail": "Setting not found"}]}),
                );
            };
            let Some(attributes) = body["data"]["attributes"].as_object() else {
                return (
                    422,
                    String::new(),
                    errors("data must be one object with attributes", "/data"),
                );
            };
            for (k, v) in attributes {
                setting["attributes"][k] = v.clone();
            }
            (200, String::new(), json!([{"data": setting.clone()}]))
        }
        _ => (
            404,
            String::new(),
            json!({"errors": [{"status": 404, "detail": format!("no route {method} {path}")}]}),
        ),
    }
}
