//! The `oauth2client` extension (otelcol-contrib's `oauth2clientauthextension`): exporters that name it send
//! `Authorization: Bearer <token>` with an access token from an OAuth 2.0 token endpoint, got with the client
//! credentials grant (RFC 6749 §4.4) and got again before it expires.
//!
//! ```yaml
//! extensions:
//!   oauth2client:
//!     client_id: agent
//!     client_secret: ${env:OAUTH_CLIENT_SECRET}
//!     token_url: https://keycloak.example.com/realms/telemetry/protocol/openid-connect/token
//!     scopes: [telemetry.write]
//! exporters:
//!   otlp:
//!     auth: { authenticator: oauth2client }
//! ```
//!
//! The token is asked for when the first request goes out and kept until `expiry_buffer` (5 minutes) before it
//! expires, or half its lifetime for a shorter-lived token (otelcol asks again for every request then); requests
//! going out meanwhile wait for the one answer. The client authenticates with HTTP Basic (the client id and secret
//! form-encoded, as RFC 6749 §2.3.1 says), and, if the endpoint refuses that, in the form body, as Go's `oauth2`
//! package does. A token endpoint that cannot be reached or refuses fails the request as retryable: the exporter
//! retries it on its schedule.

use crate::auth::{AuthAttributes, Authenticator, ClientHeader};
use crate::component::{Component, ExtensionContext, ExtensionFactory, Invalid, RunningExtension};
use crate::exporter::otlphttp::client::HttpClient;
use crate::percent::encode;
use crate::{ClientTlsSettings, Error, de};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `oauth2client` extension's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuth2ClientConfig {
    /// The client's id at the authorization server.
    pub client_id: String,
    /// A file holding the client id (read when the collector starts).
    pub client_id_file: Option<PathBuf>,
    /// The client's secret (write it as `${env:VAR}`).
    pub client_secret: String,
    /// A file holding the client secret (read when the collector starts).
    pub client_secret_file: Option<PathBuf>,
    /// The token endpoint.
    pub token_url: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// More form parameters of the token request (`audience`, `resource`).
    pub endpoint_params: BTreeMap<String, Param>,
    /// TLS towards the token endpoint.
    pub tls: ClientTlsSettings,
    /// How long a token request may take.
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// How long before a token expires another is asked for.
    #[serde(deserialize_with = "de::duration")]
    pub expiry_buffer: Duration,
}

/// A form parameter's value, or values.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Param {
    /// One value.
    One(String),
    /// The parameter repeated with each value.
    Many(Vec<String>),
}

impl Default for OAuth2ClientConfig {
    fn default() -> Self {
        OAuth2ClientConfig {
            client_id: String::new(),
            client_id_file: None,
            client_secret: String::new(),
            client_secret_file: None,
            token_url: String::new(),
            scopes: Vec::new(),
            endpoint_params: BTreeMap::new(),
            tls: ClientTlsSettings::default(),
            timeout: Duration::from_secs(10),
            expiry_buffer: Duration::from_secs(300),
        }
    }
}

impl OAuth2ClientConfig {
    fn problems(&self) -> Vec<Invalid> {
        let mut problems = Vec::new();
        if self.client_id.is_empty() && self.client_id_file.is_none() {
            problems.push(Invalid::at(
                "client_id",
                "is required (or `client_id_file`)",
            ));
        }
        if self.client_secret.is_empty() && self.client_secret_file.is_none() {
            problems.push(Invalid::at(
                "client_secret",
                "is required (or `client_secret_file`)",
            ));
        }
        if self.token_url.is_empty() {
            problems.push(Invalid::at("token_url", "is required"));
        } else if self.token_url.parse::<http::Uri>().is_err() {
            problems.push(Invalid::at("token_url", "is not a URL"));
        }
        problems
    }

    /// `value`, or the trimmed content of `file` when it is set.
    fn read(value: &str, file: &Option<PathBuf>, key: &str) -> Result<String, String> {
        match file {
            None => Ok(value.to_owned()),
            Some(path) => std::fs::read_to_string(path)
                .map(|text| text.trim().to_owned())
                .map_err(|e| format!("{key} {}: {e}", path.display())),
        }
    }
}

/// The `oauth2client` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = OAuth2ClientConfig;
    const TYPE: &'static str = "oauth2client";

    fn validate(&self, config: &OAuth2ClientConfig) -> Result<(), Invalid> {
        Invalid::all(config.problems())
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        _config: &OAuth2ClientConfig,
        _context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        // Nothing runs: the exporters that name it hold its authenticator, which asks for tokens as they send.
        Ok(Box::new(super::Idle))
    }

    fn authenticator(
        &self,
        config: &OAuth2ClientConfig,
    ) -> Option<Result<Arc<dyn Authenticator>, String>> {
        Some(client(config))
    }
}

fn client(config: &OAuth2ClientConfig) -> Result<Arc<dyn Authenticator>, String> {
    let id = OAuth2ClientConfig::read(&config.client_id, &config.client_id_file, "client_id_file")?;
    let secret = OAuth2ClientConfig::read(
        &config.client_secret,
        &config.client_secret_file,
        "client_secret_file",
    )?;
    let token_url: http::Uri = config
        .token_url
        .parse()
        .map_err(|e| format!("token_url: {e}"))?;
    let mut form = vec![("grant_type".to_owned(), "client_credentials".to_owned())];
    if !config.scopes.is_empty() {
        form.push(("scope".to_owned(), config.scopes.join(" ")));
    }
    for (name, value) in &config.endpoint_params {
        match value {
            Param::One(value) => form.push((name.clone(), value.clone())),
            Param::Many(values) => form.extend(values.iter().map(|v| (name.clone(), v.clone()))),
        }
    }
    Ok(Arc::new(OAuth2Client {
        http: HttpClient::new(&config.tls, &Default::default(), config.timeout)?,
        token_url,
        basic: format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret)))
        ),
        id,
        secret,
        form,
        expiry_buffer: config.expiry_buffer,
        token: tokio::sync::Mutex::new(None),
    }))
}

/// A token and when to ask for the next one.
struct Token {
    header: http::HeaderValue,
    renew_at: Instant,
}

/// A started `oauth2client` authenticator.
struct OAuth2Client {
    http: HttpClient,
    token_url: http::Uri,
    id: String,
    secret: String,
    basic: String,
    form: Vec<(String, String)>,
    expiry_buffer: Duration,
    /// Held while a token is asked for, so that requests going out meanwhile wait for it instead of asking too.
    token: tokio::sync::Mutex<Option<Token>>,
}

impl std::fmt::Debug for OAuth2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Client")
            .field("token_url", &self.token_url)
            .field("client_id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl OAuth2Client {
    fn body(&self, with_credentials: bool) -> Bytes {
        let mut pairs = self.form.clone();
        if with_credentials {
            pairs.push(("client_id".to_owned(), self.id.clone()));
            pairs.push(("client_secret".to_owned(), self.secret.clone()));
        }
        let text: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        Bytes::from(text.join("&"))
    }

    async fn ask(
        &self,
        in_body: bool,
    ) -> Result<crate::exporter::otlphttp::client::Answer, String> {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        if !in_body {
            let basic = http::HeaderValue::try_from(self.basic.as_str())
                .map_err(|_| "the client id or secret cannot be sent in a header".to_owned())?;
            headers.insert(http::header::AUTHORIZATION, basic);
        }
        self.http
            .post(&self.token_url, &headers, self.body(in_body))
            .await
            .map_err(|e| format!("token request to {}: {e}", self.token_url))
    }

    async fn fetch(&self) -> Result<Token, String> {
        let mut answer = self.ask(false).await?;
        if matches!(answer.status.as_u16(), 400 | 401) {
            answer = self.ask(true).await?;
        }
        if !answer.status.is_success() {
            return Err(format!(
                "the token endpoint {} answered {}: {}",
                self.token_url,
                answer.status,
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(256)])
            ));
        }
        let token: TokenAnswer = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("the token endpoint's answer is not a token: {e}"))?;
        let scheme = match token.token_type.as_deref() {
            None => "Bearer".to_owned(),
            Some(t) if t.eq_ignore_ascii_case("bearer") => "Bearer".to_owned(),
            Some(other) => other.to_owned(),
        };
        let header = http::HeaderValue::try_from(format!("{scheme} {}", token.access_token))
            .map_err(|_| "the access token cannot be sent in a header".to_owned())?;
        let lifetime = match token.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|seconds| *seconds > 0.0)
        .map(Duration::from_secs_f64);
        let renew_at = match lifetime {
            // A token without an expiry is kept until the destination refuses it... which it cannot say here:
            // ask again after an hour.
            None => Instant::now() + Duration::from_secs(3600),
            Some(lifetime) => Instant::now() + lifetime - self.expiry_buffer.min(lifetime / 2),
        };
        Ok(Token { header, renew_at })
    }
}

impl Authenticator for OAuth2Client {
    fn authenticate(&self, _headers: &http::HeaderMap) -> Result<AuthAttributes, String> {
        Err("oauth2client gives exporters credentials; it authenticates no one".to_owned())
    }

    fn client_header(&self) -> Option<ClientHeader> {
        None
    }

    fn checks_requests(&self) -> bool {
        false
    }

    fn has_client_credentials(&self) -> bool {
        true
    }

    fn current_client_header(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<Option<ClientHeader>, String>> + Send + '_>> {
        Box::pin(async move {
            let mut token = self.token.lock().await;
            let fresh = token
                .as_ref()
                .is_some_and(|token| Instant::now() < token.renew_at);
            if !fresh {
                *token = Some(self.fetch().await?);
            }
            Ok(token
                .as_ref()
                .map(|token| (http::header::AUTHORIZATION, token.header.clone())))
        })
    }
}
