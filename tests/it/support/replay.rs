//! Answers from files for what the emulator cannot produce, everything else from the
//! emulator: see [`Replay`].

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::sync::{Arc, Mutex};

/// An HTTP client for the SDK that answers chosen actions once each from a file, and sends
/// every other request on to the emulator; it remembers every request's action. For states
/// the emulator cannot produce (a ROLLBACK_COMPLETE stack, a stopped build).
#[derive(Debug, Clone)]
pub struct Replay {
    inner: SharedHttpClient,
    state: Arc<Mutex<ReplayState>>,
}

#[derive(Debug, Default)]
struct ReplayState {
    answers: Vec<(&'static str, String)>,
    /// (action, answered from a recording)
    seen: Vec<(String, bool)>,
}

impl Replay {
    pub fn new() -> Replay {
        Replay {
            inner: aws_smithy_http_client::Builder::new().build_http(),
            state: Arc::default(),
        }
    }

    /// Answers the next request for `action` with the file `tests/fixtures/<fixture>`.
    pub fn answer(&self, action: &'static str, fixture: &str) {
        let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let body = std::fs::read_to_string(&path).expect("a recorded response");
        self.state.lock().unwrap().answers.push((action, body));
    }

    /// The security account's config as remedy loads it, with every request going through
    /// this client.
    pub async fn sdk_config(&self, emulator: &super::Emulator) -> aws_config::SdkConfig {
        let (key, secret) = emulator.keys();
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(super::REGION))
            .endpoint_url(&emulator.endpoint)
            .credentials_provider(aws_credential_types::Credentials::new(
                key, secret, None, None, "test",
            ))
            .http_client(self.clone())
            .load()
            .await
    }

    /// The CloudFormation actions requested so far (AssumeRole and the like left out).
    pub fn take_seen(&self) -> Vec<(String, bool)> {
        let mut state = self.state.lock().unwrap();
        std::mem::take(&mut state.seen)
            .into_iter()
            .filter(|(a, _)| a != "AssumeRole" && !a.is_empty())
            .collect()
    }
}

#[derive(Debug)]
struct ReplayConnector {
    inner: SharedHttpConnector,
    state: Arc<Mutex<ReplayState>>,
}

impl HttpConnector for ReplayConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        // Query protocol: `Action=` in the form body; JSON protocol: the X-Amz-Target header.
        let action = match request.headers().get("x-amz-target") {
            Some(target) => target.rsplit('.').next().unwrap_or_default().to_owned(),
            None => body
                .split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .unwrap_or_default()
                .to_owned(),
        };
        let mut state = self.state.lock().unwrap();
        if let Some(i) = state.answers.iter().position(|(a, _)| *a == action) {
            let (_, recorded) = state.answers.remove(i);
            state.seen.push((action, true));
            let response = HttpResponse::new(200u16.try_into().unwrap(), SdkBody::from(recorded));
            return HttpConnectorFuture::ready(Ok(response));
        }
        state.seen.push((action, false));
        drop(state);
        self.inner.call(request)
    }
}

impl HttpClient for Replay {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(ReplayConnector {
            inner: self.inner.http_connector(settings, components),
            state: self.state.clone(),
        })
    }
}
