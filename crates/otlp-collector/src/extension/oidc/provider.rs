//! One identity provider: where its keys come from (its discovery document's `jwks_uri`, or a local key set),
//! the keys last read, and a token's check against them, as go-oidc (otelcol's verifier) checks an ID token: the
//! signature by one of the provider's algorithms, `iss` the issuer exactly, `aud` naming the audience, `exp` not
//! passed and `nbf` reached (with five minutes' leeway for clocks), and the configured username and groups claims
//! there.

use super::config::ProviderConfig;
use super::keys::{self, Key};
use super::token::Token;
use crate::ClientTlsSettings;
use crate::auth::AuthAttributes;
use crate::exporter::otlphttp::client::HttpClient;
use parking_lot::{Mutex, RwLock};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a token may be used before its `nbf`: clocks differ.
const CLOCK_SKEW_SECONDS: f64 = 300.0;
/// The least time between two readings of the keys a token's unknown key id asks for.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);
/// How long fetching a document from the provider may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) struct Provider {
    pub(super) config: ProviderConfig,
    client: HttpClient,
    /// The discovery document's `jwks_uri`, once read.
    jwks_uri: Mutex<Option<http::Uri>>,
    /// The algorithms the provider signs with (its `id_token_signing_alg_values_supported`, else `RS256`).
    algorithms: RwLock<Vec<String>>,
    keys: RwLock<Arc<Vec<Key>>>,
    last_read: Mutex<Option<Instant>>,
}

#[derive(serde::Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
}

impl Provider {
    pub(super) fn new(config: ProviderConfig) -> Result<Self, String> {
        let tls = ClientTlsSettings {
            ca_file: config.issuer_ca_path.clone(),
            ..Default::default()
        };
        Ok(Provider {
            client: HttpClient::new(&tls, &Default::default(), FETCH_TIMEOUT)?,
            config,
            jwks_uri: Mutex::new(None),
            algorithms: RwLock::new(vec!["RS256".to_owned()]),
            keys: RwLock::new(Arc::new(Vec::new())),
            last_read: Mutex::new(None),
        })
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
        let answer = self
            .client
            .get(&uri, &http::HeaderMap::new())
            .await
            .map_err(|e| format!("fetching {url}: {e}"))?;
        if answer.status != http::StatusCode::OK {
            return Err(format!("fetching {url}: answered {}", answer.status));
        }
        Ok(answer.body.to_vec())
    }

    /// Reads the keys: from the local key set, or from the provider (its discovery document the first time).
    pub(super) async fn read_keys(&self) -> Result<(), String> {
        *self.last_read.lock() = Some(Instant::now());
        let keys = match &self.config.public_keys_file {
            Some(path) => {
                let document = std::fs::read(path)
                    .map_err(|e| format!("public_keys_file {}: {e}", path.display()))?;
                *self.algorithms.write() = Vec::new();
                keys::parse(&document)
                    .map_err(|e| format!("public_keys_file {}: {e}", path.display()))?
            }
            None => {
                let known = self.jwks_uri.lock().clone();
                let jwks_uri = match known {
                    Some(uri) => uri,
                    None => self.discover().await?,
                };
                let document = self.fetch(&jwks_uri.to_string()).await?;
                keys::parse(&document).map_err(|e| format!("{jwks_uri}: {e}"))?
            }
        };
        *self.keys.write() = Arc::new(keys);
        Ok(())
    }

    /// The discovery document's `jwks_uri`, checking that it names this issuer (as go-oidc does: a document
    /// served for another issuer would let that issuer's tokens in).
    async fn discover(&self) -> Result<http::Uri, String> {
        let issuer = &self.config.issuer_url;
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let document: Discovery = serde_json::from_slice(&self.fetch(&url).await?)
            .map_err(|e| format!("{url} is not an OpenID provider configuration: {e}"))?;
        if document.issuer != *issuer {
            return Err(format!(
                "{url} names the issuer `{}`, not `{issuer}`",
                document.issuer
            ));
        }
        let uri: http::Uri = document
            .jwks_uri
            .parse()
            .map_err(|e| format!("{url}: jwks_uri `{}` is not a URL: {e}", document.jwks_uri))?;
        if !document.id_token_signing_alg_values_supported.is_empty() {
            *self.algorithms.write() = document.id_token_signing_alg_values_supported;
        }
        *self.jwks_uri.lock() = Some(uri.clone());
        Ok(uri)
    }

    /// Reads the keys again in the background, at most once a minute: a token signed with a key not seen yet
    /// (the provider rotated its keys) is refused now and taken once the new keys are in.
    fn refresh_soon(self: &Arc<Self>) {
        let due = self
            .last_read
            .lock()
            .is_none_or(|last| last.elapsed() >= REFRESH_AT_MOST_EVERY);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if due {
            *self.last_read.lock() = Some(Instant::now());
            let provider = Arc::clone(self);
            runtime.spawn(async move {
                if let Err(error) = provider.read_keys().await {
                    tracing::warn!(issuer = %provider.config.issuer_url, %error, "reading the provider's keys failed");
                }
            });
        }
    }

    /// Whether `token` is one of this provider's, valid at `now` (seconds since the epoch); what it says of its
    /// holder when it is, as otelcol's `oidc` hands it on: `subject` (the `username_claim`, else `sub`) and
    /// `membership` (the `groups_claim`'s text or list of texts).
    pub(super) fn check(
        self: &Arc<Self>,
        token: &Token,
        now: f64,
    ) -> Result<AuthAttributes, String> {
        let algorithms = self.algorithms.read();
        if token.alg == "none" || (!algorithms.is_empty() && !algorithms.contains(&token.alg)) {
            return Err(format!(
                "the token is signed with `{}`, not an algorithm of the provider",
                token.alg
            ));
        }
        drop(algorithms);
        let keys = Arc::clone(&self.keys.read());
        let kid = token.kid.as_deref();
        if let Some(kid) = kid
            && !keys.iter().any(|key| key.has_id(kid))
        {
            self.refresh_soon();
            return Err(format!(
                "the token's key `{kid}` is not among the provider's keys"
            ));
        }
        if !keys
            .iter()
            .filter(|key| key.named(kid))
            .any(|key| key.verifies(&token.alg, &token.signed, &token.signature))
        {
            return Err("the token's signature is not the provider's".to_owned());
        }
        let issuer = token.string_claim("iss").unwrap_or_default();
        if issuer != self.config.issuer_url {
            return Err(format!(
                "the token was issued by `{issuer}`, not `{}`",
                self.config.issuer_url
            ));
        }
        if !self.config.ignore_audience && !token.for_audience(&self.config.audience) {
            return Err(format!(
                "the token is not for the audience `{}`",
                self.config.audience
            ));
        }
        match token.time_claim("exp") {
            Some(expiry) if expiry > now => {}
            Some(_) => return Err("the token has expired".to_owned()),
            None => return Err("the token has no `exp`".to_owned()),
        }
        if token
            .time_claim("nbf")
            .is_some_and(|not_before| not_before > now + CLOCK_SKEW_SECONDS)
        {
            return Err("the token is not valid yet (`nbf`)".to_owned());
        }
        if let Some(claim) = &self.config.username_claim
            && token.string_claim(claim).is_none()
        {
            return Err(format!(
                "the token has no string claim `{claim}` (username_claim)"
            ));
        }
        if let Some(claim) = &self.config.groups_claim
            && !token.claims.contains_key(claim)
        {
            return Err(format!("the token has no claim `{claim}` (groups_claim)"));
        }
        let mut attributes = AuthAttributes::new();
        let subject = token.string_claim(self.config.username_claim.as_deref().unwrap_or("sub"));
        if let Some(subject) = subject {
            attributes.insert("subject".to_owned(), vec![subject.to_owned()]);
        }
        if let Some(groups) = self
            .config
            .groups_claim
            .as_ref()
            .and_then(|claim| token.claims.get(claim))
        {
            let membership = match groups {
                serde_json::Value::String(group) => vec![group.clone()],
                serde_json::Value::Array(groups) => groups
                    .iter()
                    .filter_map(|group| group.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            attributes.insert("membership".to_owned(), membership);
        }
        Ok(attributes)
    }
}
