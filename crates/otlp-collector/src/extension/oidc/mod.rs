//! The `oidc` extension (otelcol-contrib's `oidcauthextension`): receivers that name it take requests whose
//! `Authorization: Bearer <token>` holds an OpenID Connect ID token (a JWT) from a configured identity provider
//! (Keycloak, Dex, Auth0, Okta, Entra ID, Google, a Kubernetes service account issuer), and refuse the others
//! (401, gRPC `UNAUTHENTICATED`) before reading their bodies.
//!
//! ```yaml
//! extensions:
//!   oidc:
//!     issuer_url: https://keycloak.example.com/realms/telemetry
//!     audience: otel-collector
//! receivers:
//!   otlp:
//!     protocols:
//!       grpc:
//!         auth: { authenticator: oidc }
//! ```
//!
//! When the collector starts, each provider's discovery document and key set are read (`provider.rs`); a provider
//! that cannot be read keeps the collector from starting, as in otelcol. A token is checked as go-oidc checks an
//! ID token: signed by a key of the set with one of the provider's algorithms (`keys.rs`), `iss` the issuer, `aud`
//! naming the `audience`, not expired, and with the `username_claim` and `groups_claim` when they are set. A
//! token signed with a key the set lacks (the provider rotated its keys) is refused, and the set is read again,
//! at most once a minute. With several `providers`, a token goes to the one its `iss` names.

mod config;
mod keys;
mod provider;
mod token;

pub use config::{OidcConfig, ProviderConfig};

use crate::Error;
use crate::auth::{AuthAttributes, Authenticator};
use crate::component::{Component, ExtensionContext, ExtensionFactory, Invalid, RunningExtension};
use provider::Provider;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use token::Token;

/// The `oidc` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = OidcConfig;
    const TYPE: &'static str = "oidc";

    fn validate(&self, config: &OidcConfig) -> Result<(), Invalid> {
        Invalid::all(config.problems())
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        _config: &OidcConfig,
        _context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        // Nothing runs: the receivers that name it hold its authenticator, which read the keys at the start.
        Ok(Box::new(super::Idle))
    }

    fn authenticator(&self, config: &OidcConfig) -> Option<Result<Arc<dyn Authenticator>, String>> {
        Some(oidc(config))
    }
}

fn oidc(config: &OidcConfig) -> Result<Arc<dyn Authenticator>, String> {
    let header = http::HeaderName::try_from(config.attribute.as_str())
        .map_err(|e| format!("attribute: {e}"))?;
    let providers = config
        .all_providers()
        .into_iter()
        .map(|(_, provider)| Provider::new(provider).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(Oidc { header, providers }))
}

/// A started `oidc` authenticator.
struct Oidc {
    header: http::HeaderName,
    providers: Vec<Arc<Provider>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<&str> = self
            .providers
            .iter()
            .map(|p| p.config.issuer_url.as_str())
            .collect();
        f.debug_struct("Oidc").field("issuers", &issuers).finish()
    }
}

fn now_seconds() -> f64 {
    crate::clock::now_nanos() as f64 / 1e9
}

impl Authenticator for Oidc {
    fn authenticate(&self, headers: &http::HeaderMap) -> Result<AuthAttributes, String> {
        let value = headers
            .get(&self.header)
            .ok_or_else(|| format!("no {} header", self.header))?
            .to_str()
            .map_err(|_| format!("the {} header is not text", self.header))?;
        let (scheme, raw) = value
            .split_once(' ')
            .ok_or_else(|| format!("the {} header is not `Bearer <token>`", self.header))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(format!(
                "the {} header is not `Bearer <token>`",
                self.header
            ));
        }
        let token = Token::parse(raw.trim())?;
        let provider = match self.providers.as_slice() {
            [only] => only,
            many => {
                let issuer = token.string_claim("iss").unwrap_or_default();
                many.iter()
                    .find(|p| p.config.issuer_url == issuer)
                    .ok_or_else(|| format!("no provider is configured for the issuer `{issuer}`"))?
            }
        };
        provider.check(&token, now_seconds())
    }

    fn client_header(&self) -> Option<crate::auth::ClientHeader> {
        None
    }

    fn prepare(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            for provider in &self.providers {
                provider.read_keys().await.map_err(|e| {
                    format!("identity provider `{}`: {e}", provider.config.issuer_url)
                })?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
