//! Authentication (otelcol's `auth.authenticator`): a receiver's transport or an exporter names an authenticator
//! extension (`bearertokenauth`, `basicauth`); receivers refuse requests whose credentials it does not accept
//! (`UNAUTHENTICATED` over gRPC, 401 over HTTP) before reading their bodies, exporters send its credentials with
//! every request. A client-only authenticator (`headers_setter`) sets headers from the client whose data a request
//! carries instead.

mod layer;

pub(crate) use layer::{AuthenticateLayer, Authenticated, check_http};

use crate::client::ClientInfo;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The `auth` block of a receiver's transport or of an exporter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// The authenticator extension's id (`bearertokenauth`, `basicauth/clients`).
    pub authenticator: String,
}

/// What an authenticator learnt of a client it accepted, for the components that read it (`from_context:
/// auth.<name>`, `headers_setter`'s `from_attribute`): `subject` and `membership` for `oidc`, `username` for
/// `basicauth`; none for a shared secret (`bearertokenauth`).
pub type AuthAttributes = BTreeMap<String, Vec<String>>;

/// What an authenticator extension does for the components that name it.
pub trait Authenticator: Send + Sync + Debug {
    /// Checks the credentials in a request's headers: what it learnt of the client when they are accepted, the
    /// reason (for the log) when they are refused.
    fn authenticate(&self, headers: &http::HeaderMap) -> Result<AuthAttributes, String>;

    /// The header an exporter sends with every request; `None` when this authenticator has no client
    /// credentials (a server-only `basicauth`), or when they change and [`Self::current_client_header`] gives them.
    fn client_header(&self) -> Option<ClientHeader>;

    /// The header to send with a request about to go out: for credentials that change (a token fetched and
    /// refreshed before it expires); the fixed [`Self::client_header`] otherwise.
    fn current_client_header(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<Option<ClientHeader>, String>> + Send + '_>> {
        Box::pin(async { Ok(self.client_header()) })
    }

    /// Whether an exporter can send with this authenticator.
    fn has_client_credentials(&self) -> bool {
        self.client_header().is_some()
    }

    /// Whether a receiver can check requests with this authenticator; `headers_setter` only sets headers.
    fn checks_requests(&self) -> bool {
        true
    }

    /// Sets what a request about to go out needs on `headers` (which hold the exporter's own `headers`): these
    /// credentials ([`Self::current_client_header`]) by default; `headers_setter`'s headers, from the request
    /// metadata of `client`, the client whose data the request carries.
    fn set_request_headers<'a>(
        &'a self,
        headers: &'a mut http::HeaderMap,
        client: Option<&'a ClientInfo>,
    ) -> Pin<Box<dyn Future<Output = Result<(), CredentialsError>> + Send + 'a>> {
        let _ = client;
        Box::pin(async move {
            let (name, value) = self
                .current_client_header()
                .await
                .map_err(CredentialsError::Unavailable)?
                .ok_or_else(|| {
                    CredentialsError::Unavailable(
                        "the authenticator has no client credentials".to_owned(),
                    )
                })?;
            headers.insert(name, value);
            Ok(())
        })
    }

    /// What must be done before the first request is checked (fetching an identity provider's keys); an error
    /// keeps the collector from starting, as a receiver that could authenticate no one would refuse every client.
    fn prepare(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }
}

/// Why a request could not be given its credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// Not now (a token endpoint that does not answer): sending the request again may succeed.
    #[error("client credentials: {0}")]
    Unavailable(String),
    /// Never for this request's data (its client has two tenants for one header): sending it again cannot.
    #[error("client credentials: {0}")]
    Unusable(String),
}

/// A header an exporter sends with a request: its authenticator's credentials.
pub type ClientHeader = (http::HeaderName, http::HeaderValue);

/// An exporter's authenticator, asked for the header of each request it sends.
#[derive(Debug, Clone)]
pub struct ClientAuth(Arc<dyn Authenticator>);

impl ClientAuth {
    /// Sets the headers of a request about to go out with the data of `client`; why not, as the exporter retries
    /// it or gives it up.
    pub(crate) async fn apply(
        &self,
        headers: &mut http::HeaderMap,
        client: Option<&ClientInfo>,
    ) -> Result<(), crate::exporter::ExportError> {
        use crate::exporter::ExportError;
        self.0
            .set_request_headers(headers, client)
            .await
            .map_err(|error| match error {
                CredentialsError::Unavailable(_) => ExportError::retryable(error.to_string()),
                CredentialsError::Unusable(_) => ExportError::permanent(error.to_string()),
            })
    }
}

/// The started collector's authenticators, by extension id.
#[derive(Debug, Clone, Default)]
pub struct Authenticators(BTreeMap<String, Arc<dyn Authenticator>>);

impl Authenticators {
    pub(crate) fn insert(&mut self, id: String, authenticator: Arc<dyn Authenticator>) {
        self.0.insert(id, authenticator);
    }

    /// The authenticator `settings` names, for a server.
    pub fn server(&self, settings: &AuthSettings) -> Result<Arc<dyn Authenticator>, String> {
        let authenticator = self.named(settings)?;
        if !authenticator.checks_requests() {
            return Err(format!(
                "auth.authenticator: `{}` sets headers on exporters' requests and checks no one's; name it in an \
                 exporter's `auth`",
                settings.authenticator
            ));
        }
        Ok(authenticator)
    }

    fn named(&self, settings: &AuthSettings) -> Result<Arc<dyn Authenticator>, String> {
        self.0.get(&settings.authenticator).cloned().ok_or_else(|| {
            format!(
                "auth.authenticator: `{}` is not an enabled authenticator extension",
                settings.authenticator
            )
        })
    }

    /// Prepares every authenticator ([`Authenticator::prepare`]); the first that fails, by id, with why.
    pub(crate) async fn prepare(&self) -> Result<(), (String, String)> {
        for (id, authenticator) in &self.0 {
            authenticator
                .prepare()
                .await
                .map_err(|message| (id.clone(), message))?;
        }
        Ok(())
    }

    /// The authenticator `settings` names, for a client.
    pub fn client(&self, settings: &AuthSettings) -> Result<ClientAuth, String> {
        let authenticator = self.named(settings)?;
        if !authenticator.has_client_credentials() {
            return Err(format!(
                "auth.authenticator: `{}` has no client credentials",
                settings.authenticator
            ));
        }
        Ok(ClientAuth(authenticator))
    }
}

/// Compares secrets in time independent of where they first differ.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The authenticator of an exporter's optional `auth`.
pub(crate) fn client_auth(
    settings: Option<&AuthSettings>,
    authenticators: &Authenticators,
) -> Result<Option<ClientAuth>, String> {
    settings
        .map(|settings| authenticators.client(settings))
        .transpose()
}
