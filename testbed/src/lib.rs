//! The test bed: a real AWS emulator (moto's server) per test, an organization seeded in it,
//! the `remedy` binary run against it, and the emulator's request recorder to count and
//! inspect what remedy sent. tests/TESTBED-NOTES.md says where the launcher mends moto.
//!
//! Each test starts its own server on a free loopback port (one server is one Python
//! process and one core; isolated state keeps tests independent) and kills it on drop.
//! A dev-only workspace crate: the integration tests (`tests/it/`) and `examples/testbed.rs`
//! (which seeds the organization of `make demo`) use it; running `remedy` itself is in the
//! tests' `support` module.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_organizations::types::OrganizationFeatureSet;
use aws_sdk_sts::config::Credentials;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The emulator's management (security) account.
pub const MANAGEMENT_ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// A running moto server, killed on drop.
pub struct Emulator {
    child: Option<Child>,
    pub port: u16,
    pub endpoint: String,
    /// The security account's keys: dummies, until `enforce_iam` makes them real.
    keys: (String, String),
}

impl Emulator {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> Emulator {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let (python, launcher) = moto_launcher();
        let child = Command::new(&python)
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Each server records into its own file (the default is ./moto_recording, which
            // servers started side by side would share).
            .env("MOTO_RECORDER_FILEPATH", recording_file(port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} {} ({e}): run `make venv` first",
                    python.display(),
                    launcher.display()
                )
            });
        let emulator = Emulator {
            child: Some(child),
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            keys: ("testing".into(), "testing".into()),
        };
        emulator.wait_ready();
        emulator
    }

    /// Attaches to a server someone else started (the demo's).
    pub fn attach(endpoint: &str) -> Emulator {
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .expect("an endpoint like http://127.0.0.1:PORT");
        let emulator = Emulator {
            child: None,
            port,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            keys: ("testing".into(), "testing".into()),
        };
        emulator.wait_ready();
        emulator
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = self.http("GET", "/moto-api/data.json", "") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the emulator did not answer on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // No docker here: Lambda functions are stored, not run.
        self.post("/moto-api/config", r#"{"lambda": {"use_docker": false}}"#);
    }

    /// The security account's SDK config (any dummy keys; the emulator's default account).
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                Credentials::new(&self.keys.0, &self.keys.1, None, None, "test"),
            ))
            .build()
    }

    /// The config of a member account, assumed through `CloudConformity` as remedy would.
    pub async fn account_config(&self, account: &str, region: &str) -> SdkConfig {
        self.account_config_as(account, region, "CloudConformity")
            .await
    }

    /// The config of a member account, assumed through the role `role`.
    pub async fn account_config_as(&self, account: &str, region: &str, role: &str) -> SdkConfig {
        let sts = aws_sdk_sts::Client::new(&self.sdk_config());
        let assumed = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/{role}"))
            .role_session_name("remedy-test-readback")
            .send()
            .await
            .expect("assume role for read-back");
        let c = assumed.credentials().expect("credentials");
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_owned()),
                    None,
                    "assumed",
                ),
            ))
            .build()
    }

    /// The security account's access key id and secret.
    pub fn keys(&self) -> (&str, &str) {
        (&self.keys.0, &self.keys.1)
    }

    /// Creates the `CloudConformity` role in `account`, trusted by the security account and
    /// allowed everything: what an Account Vending Machine installs.
    pub async fn create_role(&self, account: &str) {
        self.create_role_as(account, "CloudConformity", "CloudConformity")
            .await
    }

    /// Creates the role `name` (trusted by the security account, allowed everything) in
    /// `account`, working through the role `via` there (under IAM enforcement `via` must
    /// already exist, as an Account Vending Machine's admin role does).
    pub async fn create_role_as(&self, account: &str, name: &str, via: &str) {
        let iam = aws_sdk_iam::Client::new(&self.account_config_as(account, REGION, via).await);
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .expect("create role");
        iam.put_role_policy()
            .role_name(name)
            .policy_name("all")
            .policy_document(ALLOW_ALL)
            .send()
            .await
            .expect("role policy");
    }

    /// Turns IAM enforcement on: from now on requests must come from real IAM identities
    /// with policies, and assuming a role that does not exist fails. The security account
    /// gets an operator user allowed everything, whose keys the test bed then uses.
    pub async fn enforce_iam(&mut self) {
        let iam = aws_sdk_iam::Client::new(&self.sdk_config());
        iam.create_user()
            .user_name("remedy-operator")
            .send()
            .await
            .expect("create user");
        iam.put_user_policy()
            .user_name("remedy-operator")
            .policy_name("all")
            .policy_document(ALLOW_ALL)
            .send()
            .await
            .expect("user policy");
        let key = iam
            .create_access_key()
            .user_name("remedy-operator")
            .send()
            .await
            .expect("access key");
        let key = key.access_key().expect("key");
        self.keys = (
            key.access_key_id().to_owned(),
            key.secret_access_key().to_owned(),
        );
        self.post("/moto-api/reset-auth", "0");
    }

    pub fn post(&self, path: &str, body: &str) -> String {
        match self.http("POST", path, body) {
            Ok((_, body)) => body,
            Err(e) => panic!("POST {path}: {e}"),
        }
    }

    pub fn get(&self, path: &str) -> String {
        match self.http("GET", path, "") {
            Ok((_, body)) => body,
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    /// A minimal HTTP/1.1 client for moto's control API on loopback.
    fn http(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(response.len());
        let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response.get(split + 4..).unwrap_or_default();
        let body = if head.contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_vec()
        };
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    pub fn start_recording(&self) {
        self.post("/moto-api/recorder/reset-recording", "");
        self.post("/moto-api/recorder/start-recording", "");
    }

    /// What was recorded since `start_recording`.
    pub fn recording(&self) -> Vec<Recorded> {
        self.post("/moto-api/recorder/stop-recording", "");
        let text = self.get("/moto-api/recorder/download-recording");
        serde_json::Deserializer::from_str(&text)
            .into_iter::<serde_json::Value>()
            .map(|v| Recorded::parse(&v.expect("a recorded request")))
            .collect()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(recording_file(self.port));
        }
    }
}

fn recording_file(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("remedy-moto-{port}.recording"))
}

/// Decodes an HTTP/1.1 chunked body, byte-exact.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&rest[..eol]);
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else {
            break;
        };
        let data = &rest[eol + 2..];
        if n == 0 || data.len() < n {
            break;
        }
        out.extend_from_slice(&data[..n]);
        rest = data[n..].strip_prefix(b"\r\n").unwrap_or(&data[n..]);
    }
    out
}

/// The emulator's Python and its launcher, `tests/support/moto_launcher.py`: moto's server
/// with the mends that make it judge requests as AWS does (tests/TESTBED-NOTES.md).
/// `REMEDY_MOTO_PYTHON` names another Python with moto installed.
fn moto_launcher() -> (PathBuf, PathBuf) {
    // The launcher and the venv are at the workspace's root: the directory `cargo test` runs
    // the tests in, else (run some other way) the root this crate was built in. (The working
    // directory first: a build shared between two checkouts bakes the other one's path in.)
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let here = std::env::current_dir().unwrap_or_default();
    let root = if here.join("tests/support/moto_launcher.py").exists() {
        here.as_path()
    } else {
        built.as_path()
    };
    let launcher = root.join("tests/support/moto_launcher.py");
    if let Ok(path) = std::env::var("REMEDY_MOTO_PYTHON") {
        return (PathBuf::from(path), launcher);
    }
    let venv = root.join(".venv/bin/python");
    if venv.exists() {
        (venv, launcher)
    } else {
        (PathBuf::from("python3"), launcher)
    }
}

/// One request the emulator saw.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `AssumeRole`, `DescribeStacks`, `HEAD /bucket/key`, …
    pub action: String,
    /// The access key id that signed it.
    pub access_key: String,
    /// The service it was signed for: the SigV4 credential scope's service name (`s3`,
    /// `lambda`, `sts`, …), empty when unsigned.
    pub service: String,
    /// The region of the SigV4 credential scope.
    pub region: String,
    /// The request body as text (JSON-protocol calls: the request document).
    pub body: String,
    /// Form parameters of query-protocol calls (STS, CloudFormation).
    pub params: BTreeMap<String, String>,
}

impl Recorded {
    fn parse(v: &serde_json::Value) -> Recorded {
        use base64::Engine;
        let headers = &v["headers"];
        let mut body = v["body"].as_str().unwrap_or_default().to_owned();
        if v["body_encoded"].as_bool() == Some(true) {
            body = base64::engine::general_purpose::STANDARD
                .decode(&body)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
        }
        let params: BTreeMap<String, String> = body
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (url_decode(k), url_decode(v)))
            .collect();
        let target = headers["X-Amz-Target"].as_str().unwrap_or_default();
        let action = if let Some((_, op)) = target.rsplit_once('.') {
            op.to_owned()
        } else if let Some(a) = params.get("Action") {
            a.clone()
        } else {
            let url = v["url"].as_str().unwrap_or_default();
            let path = url.splitn(4, '/').nth(3).unwrap_or_default();
            format!("{} /{path}", v["method"].as_str().unwrap_or_default())
        };
        // Credential=AKID/20261126/us-east-1/<service>/aws4_request
        let scope: Vec<&str> = headers["Authorization"]
            .as_str()
            .and_then(|a| a.split("Credential=").nth(1))
            .map(|c| c.split('/').collect())
            .unwrap_or_default();
        let part = |i: usize| scope.get(i).copied().unwrap_or_default().to_owned();
        Recorded {
            action,
            access_key: part(0),
            service: part(3),
            region: part(2),
            body: body.clone(),
            params,
        }
    }
}

/// Form and URL decoding (`+` and `%XX`): recorded query bodies, IAM policy documents.
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An organization seeded in the emulator: OU ids by path, account ids by name.
pub struct Org {
    client: aws_sdk_organizations::Client,
    pub root: String,
    pub ous: BTreeMap<String, String>,
    pub accounts: BTreeMap<String, String>,
}

impl Org {
    /// Creates the organization (all features) in the management account.
    pub async fn create(emulator: &Emulator) -> Org {
        let client = aws_sdk_organizations::Client::new(&emulator.sdk_config());
        let created = client
            .create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await;
        // On a loaded machine the SDK may retry a CreateOrganization whose first attempt the
        // emulator did carry out (its answer came too late): the organization is there.
        if let Err(e) = created {
            let already = e
                .as_service_error()
                .is_some_and(|e| e.is_already_in_organization_exception());
            assert!(already, "create organization: {e:?}");
        }
        let roots = client.list_roots().send().await.expect("list roots");
        let root = roots.roots()[0].id().expect("root id").to_owned();
        let mut ous = BTreeMap::new();
        ous.insert("/".to_owned(), root.clone());
        Org {
            client,
            root,
            ous,
            accounts: BTreeMap::new(),
        }
    }

    /// Creates the OU at `path` (and its parents), returning its id.
    pub async fn ou(&mut self, path: &str) -> String {
        let mut current = String::new();
        let mut parent = self.root.clone();
        for name in path.split('/').filter(|s| !s.is_empty()) {
            current = format!("{current}/{name}");
            parent = match self.ous.get(&current) {
                Some(id) => id.clone(),
                None => {
                    let created = self
                        .client
                        .create_organizational_unit()
                        .parent_id(&parent)
                        .name(name)
                        .send()
                        .await
                        .expect("create OU");
                    let id = created
                        .organizational_unit()
                        .and_then(|o| o.id())
                        .expect("OU id")
                        .to_owned();
                    self.ous.insert(current.clone(), id.clone());
                    id
                }
            };
        }
        parent
    }

    /// Creates an account named `name` under the OU at `path`.
    pub async fn account(&mut self, name: &str, path: &str) -> String {
        let ou = self.ou(path).await;
        let created = self
            .client
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(name)
            .send()
            .await
            .expect("create account");
        let id = created
            .create_account_status()
            .and_then(|s| s.account_id())
            .expect("account id")
            .to_owned();
        if ou != self.root {
            self.client
                .move_account()
                .account_id(&id)
                .source_parent_id(&self.root)
                .destination_parent_id(&ou)
                .send()
                .await
                .expect("move account");
        }
        self.accounts.insert(name.to_owned(), id.clone());
        id
    }

    /// `n` accounts `<prefix>-00`… under `path`.
    pub async fn accounts_in(&mut self, prefix: &str, path: &str, n: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            ids.push(self.account(&format!("{prefix}-{i:02}"), path).await);
        }
        ids
    }

    /// Moves the account `id` from the OU at `from` to the OU at `to` (created if missing).
    pub async fn move_to(&mut self, id: &str, from: &str, to: &str) {
        let source = self.ou(from).await;
        let destination = self.ou(to).await;
        self.client
            .move_account()
            .account_id(id)
            .source_parent_id(&source)
            .destination_parent_id(&destination)
            .send()
            .await
            .expect("move account");
    }

    /// Closes an account: it becomes SUSPENDED.
    pub async fn suspend(&self, id: &str) {
        self.client
            .close_account()
            .account_id(id)
            .send()
            .await
            .expect("close account");
    }

    pub fn id(&self, name: &str) -> &str {
        self.accounts
            .get(name)
            .map(String::as_str)
            .expect("a seeded account")
    }
}
