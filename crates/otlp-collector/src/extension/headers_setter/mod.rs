//! The `headers_setter` extension, otelcol-contrib's: exporters whose `auth.authenticator` names it set headers on
//! each request, from a fixed `value` or from the request metadata of the client whose data the request carries
//! (`from_context`) or from what the receiver's authenticator learnt of that client (`from_attribute`), for
//! multi-tenant backends (Loki, Mimir, Tempo read the tenant from `X-Scope-OrgID`).
//!
//! `from_context` finds a value only where the receiver kept its clients' metadata (`include_metadata: true`) and
//! every processor between kept it too (a `batch` processor keeps the keys in its `metadata_keys`). The actions
//! apply to the exporter's request headers, its configured `headers` among them, over gRPC as over HTTP.

use crate::Error;
use crate::auth::{AuthAttributes, Authenticator, CredentialsError};
use crate::client::ClientInfo;
use crate::component::{Component, ExtensionContext, ExtensionFactory, Invalid, RunningExtension};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The `headers_setter` extension's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersSetterConfig {
    /// The headers to set, in order.
    pub headers: Vec<HeaderConfig>,
}

/// One header: its name, what to do, and where its value comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderConfig {
    /// The header's name.
    pub key: String,
    /// What to do with it (default `upsert`).
    #[serde(default)]
    pub action: HeaderAction,
    /// A fixed value.
    #[serde(default)]
    pub value: Option<String>,
    /// The request metadata key whose value the header takes (case-insensitive, as header names).
    #[serde(default)]
    pub from_context: Option<String>,
    /// An attribute the receiver's authenticator learnt of the client (`subject` and `membership` of `oidc`,
    /// `username` of `basicauth`).
    #[serde(default)]
    pub from_attribute: Option<String>,
    /// The value when the client has none for `from_context` or `from_attribute`; without it, the header is not
    /// set.
    #[serde(default)]
    pub default_value: Option<String>,
}

/// What a header's setting does to a request's headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderAction {
    /// Sets it only when the request has no such header.
    Insert,
    /// Replaces it only when the request has one.
    Update,
    /// Sets it, replacing any.
    #[default]
    Upsert,
    /// Removes it.
    Delete,
}

impl HeadersSetterConfig {
    /// The first problem, at its key (`headers[1].from_context`).
    fn problem(&self) -> Option<(String, String)> {
        if self.headers.is_empty() {
            return Some(("headers".into(), "list at least one header".into()));
        }
        self.headers.iter().enumerate().find_map(|(i, header)| {
            header
                .problem()
                .map(|(key, message)| (format!("headers[{i}].{key}"), message))
        })
    }

    fn compile(&self) -> Result<Vec<Setting>, (String, String)> {
        if let Some(problem) = self.problem() {
            return Err(problem);
        }
        self.headers
            .iter()
            .enumerate()
            .map(|(i, header)| {
                header
                    .compile()
                    .map_err(|(key, message)| (format!("headers[{i}].{key}"), message))
            })
            .collect()
    }
}

impl HeaderConfig {
    fn problem(&self) -> Option<(&'static str, String)> {
        self.compile().err()
    }

    fn compile(&self) -> Result<Setting, (&'static str, String)> {
        if self.key.is_empty() {
            return Err(("key", "is required: the header's name".into()));
        }
        let name = http::HeaderName::try_from(self.key.as_str())
            .map_err(|_| ("key", format!("`{}` is not a valid header name", self.key)))?;
        let value_of = |key: &'static str, text: &str| {
            http::HeaderValue::try_from(text)
                .map_err(|_| (key, "holds characters a header value cannot".to_string()))
        };
        let default = || {
            self.default_value
                .as_deref()
                .map(|value| value_of("default_value", value))
                .transpose()
        };
        let source = match (&self.value, &self.from_context, &self.from_attribute) {
            _ if self.action == HeaderAction::Delete => Source::None,
            (Some(value), None, None) => Source::Value(value_of("value", value)?),
            (None, Some(key), None) if key.is_empty() => {
                return Err(("from_context", "names no metadata key".into()));
            }
            (None, Some(key), None) => Source::Context {
                key: key.clone(),
                default: default()?,
            },
            (None, None, Some(name)) if name.is_empty() => {
                return Err(("from_attribute", "names no attribute".into()));
            }
            (None, None, Some(name)) => Source::Attribute {
                name: name.clone(),
                default: default()?,
            },
            (None, None, None) => {
                return Err((
                    "from_context",
                    "give `value`, `from_context` or `from_attribute` (`delete` alone needs none)"
                        .into(),
                ));
            }
            _ => {
                return Err((
                    "value",
                    "give one of `value`, `from_context` and `from_attribute`".into(),
                ));
            }
        };
        if self.default_value.is_some() && matches!(source, Source::Value(_)) {
            return Err((
                "default_value",
                "is the value when `from_context` or `from_attribute` finds none; `value` always has one".into(),
            ));
        }
        Ok(Setting {
            name,
            action: self.action,
            source,
        })
    }
}

/// One compiled header setting.
#[derive(Debug)]
struct Setting {
    name: http::HeaderName,
    action: HeaderAction,
    source: Source,
}

#[derive(Debug)]
enum Source {
    Value(http::HeaderValue),
    Context {
        key: String,
        default: Option<http::HeaderValue>,
    },
    Attribute {
        name: String,
        default: Option<http::HeaderValue>,
    },
    /// `delete` takes no value.
    None,
}

impl Setting {
    /// The value for a request with the data of `client`; `None` when there is none to set.
    fn value(&self, client: Option<&ClientInfo>) -> Result<Option<http::HeaderValue>, String> {
        match &self.source {
            Source::Value(value) => Ok(Some(value.clone())),
            Source::None => Ok(None),
            Source::Context { key, default } => {
                let values = client.map_or(&[][..], |client| client.metadata_values(key));
                one_value(values, default, || format!("`{key}` metadata"))
            }
            Source::Attribute { name, default } => {
                let values = client
                    .and_then(|client| client.auth.get(name))
                    .map_or(&[][..], Vec::as_slice);
                one_value(values, default, || format!("`{name}` attribute"))
            }
        }
    }

    fn apply(
        &self,
        headers: &mut http::HeaderMap,
        client: Option<&ClientInfo>,
    ) -> Result<(), String> {
        if self.action == HeaderAction::Delete {
            headers.remove(&self.name);
            return Ok(());
        }
        let Some(value) = self.value(client)? else {
            return Ok(());
        };
        let present = headers.contains_key(&self.name);
        let set = match self.action {
            HeaderAction::Insert => !present,
            HeaderAction::Update => present,
            HeaderAction::Upsert => true,
            HeaderAction::Delete => false,
        };
        if set {
            headers.insert(self.name.clone(), value);
        }
        Ok(())
    }
}

/// The header value of a client's `values` for a key: the default without any, an error with several (which one
/// to send is not known).
fn one_value(
    values: &[String],
    default: &Option<http::HeaderValue>,
    what: impl Fn() -> String,
) -> Result<Option<http::HeaderValue>, String> {
    match values {
        [] => Ok(default.clone()),
        [one] => {
            let mut value = http::HeaderValue::try_from(one.as_str())
                .map_err(|_| format!("the client's {} holds characters a header cannot", what()))?;
            // Metadata may be a client's own credentials (`from_context: authorization`).
            value.set_sensitive(true);
            Ok(Some(value))
        }
        many => Err(format!(
            "the client has {} values of its {}; which one to send is not known",
            many.len(),
            what()
        )),
    }
}

/// A started `headers_setter`: its settings, applied to every request of the exporters that name it.
#[derive(Debug)]
struct HeadersSetter {
    settings: Vec<Setting>,
}

impl Authenticator for HeadersSetter {
    fn authenticate(&self, _headers: &http::HeaderMap) -> Result<AuthAttributes, String> {
        Err("headers_setter checks no one's requests".into())
    }

    fn client_header(&self) -> Option<crate::auth::ClientHeader> {
        None
    }

    fn has_client_credentials(&self) -> bool {
        true
    }

    fn checks_requests(&self) -> bool {
        false
    }

    fn set_request_headers<'a>(
        &'a self,
        headers: &'a mut http::HeaderMap,
        client: Option<&'a ClientInfo>,
    ) -> Pin<Box<dyn Future<Output = Result<(), CredentialsError>> + Send + 'a>> {
        // Settings are fixed and the client's metadata too: what fails now fails on every attempt.
        let set = self
            .settings
            .iter()
            .try_for_each(|setting| setting.apply(headers, client))
            .map_err(CredentialsError::Unusable);
        Box::pin(std::future::ready(set))
    }
}

/// The `headers_setter` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = HeadersSetterConfig;
    const TYPE: &'static str = "headers_setter";

    fn validate(&self, config: &HeadersSetterConfig) -> Result<(), Invalid> {
        config
            .problem()
            .map_or(Ok(()), |(key, message)| Err(Invalid::at(key, message)))
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        _config: &HeadersSetterConfig,
        _context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        // Nothing runs: the exporters that name it hold its authenticator.
        Ok(Box::new(super::Idle))
    }

    fn authenticator(
        &self,
        config: &HeadersSetterConfig,
    ) -> Option<Result<Arc<dyn Authenticator>, String>> {
        Some(
            config
                .compile()
                .map(|settings| Arc::new(HeadersSetter { settings }) as Arc<dyn Authenticator>)
                .map_err(|(key, message)| format!("{key}: {message}")),
        )
    }
}

#[cfg(test)]
mod tests;
