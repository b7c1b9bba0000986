//! The `basicauth` extension, otelcol-contrib's: HTTP Basic credentials. As a server authenticator it accepts
//! the users of an htpasswd list (`htpasswd.file` and/or `htpasswd.inline`, bcrypt hashes as `htpasswd -B` writes
//! them, or plaintext); as a client authenticator it sends `client_auth`'s username and password.

use crate::Error;
use crate::auth::{Authenticator, same_secret};
use crate::component::{Component, ExtensionContext, ExtensionFactory, Invalid, RunningExtension};
use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The `basicauth` extension's settings: `htpasswd` for receivers, `client_auth` for exporters, or both.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuthConfig {
    /// The users a receiver accepts.
    pub htpasswd: Option<HtpasswdConfig>,
    /// The credentials an exporter sends.
    pub client_auth: Option<ClientAuthConfig>,
}

/// `htpasswd`: `user:password-or-bcrypt-hash` lines from a file, inline, or both.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HtpasswdConfig {
    /// An htpasswd file, read when the collector starts.
    pub file: Option<PathBuf>,
    /// Lines written in the config (use `${env:VAR}` for the secrets).
    pub inline: Option<String>,
}

/// `client_auth`: what an exporter sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientAuthConfig {
    /// The user name (no `:` in it, as HTTP Basic requires).
    pub username: String,
    /// The password.
    pub password: String,
}

impl BasicAuthConfig {
    fn problems(&self) -> Option<(&'static str, String)> {
        if self.htpasswd.is_none() && self.client_auth.is_none() {
            return Some((
                "htpasswd",
                "set htpasswd (receivers), client_auth (exporters) or both".into(),
            ));
        }
        if let Some(htpasswd) = &self.htpasswd
            && htpasswd.file.is_none()
            && htpasswd.inline.is_none()
        {
            return Some(("htpasswd", "set file, inline or both".into()));
        }
        if let Some(client) = &self.client_auth {
            if client.username.contains(':') {
                return Some(("client_auth.username", "must not contain `:`".into()));
            }
            // Usually a `${env:VAR}` that is not set: every request would then be refused by the backend.
            for (key, value) in [
                ("client_auth.username", &client.username),
                ("client_auth.password", &client.password),
            ] {
                if value.is_empty() {
                    return Some((key, "is empty".into()));
                }
            }
        }
        None
    }
}

/// How a user's password is stored.
#[derive(Debug)]
enum Secret {
    Bcrypt(String),
    Plain(String),
}

impl Secret {
    fn parse(stored: &str) -> Result<Secret, String> {
        if ["$2a$", "$2b$", "$2x$", "$2y$"]
            .iter()
            .any(|prefix| stored.starts_with(prefix))
        {
            return Ok(Secret::Bcrypt(stored.to_string()));
        }
        if stored.starts_with("$apr1$")
            || stored.starts_with("{SHA}")
            || stored.starts_with("$5$")
            || stored.starts_with("$6$")
        {
            return Err(
                "only bcrypt hashes (htpasswd -B) and plaintext passwords are supported".into(),
            );
        }
        Ok(Secret::Plain(stored.to_string()))
    }

    fn matches(&self, password: &str) -> bool {
        match self {
            Secret::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            Secret::Plain(stored) => same_secret(stored.as_bytes(), password.as_bytes()),
        }
    }
}

/// A started `basicauth`.
#[derive(Debug)]
struct BasicAuth {
    users: BTreeMap<String, Secret>,
    client: Option<http::HeaderValue>,
}

impl Authenticator for BasicAuth {
    fn authenticate(&self, headers: &http::HeaderMap) -> Result<(), String> {
        let value = headers
            .get(http::header::AUTHORIZATION)
            .ok_or("no Authorization header")?
            .to_str()
            .map_err(|_| "the Authorization header is not text")?;
        let (scheme, encoded) = value.split_once(' ').ok_or("not Basic credentials")?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err("not Basic credentials".into());
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| "the Basic credentials are not base64")?;
        let decoded =
            String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or("no `:` in the Basic credentials")?;
        match self.users.get(user) {
            Some(secret) if secret.matches(password) => Ok(()),
            Some(_) => Err(format!("wrong password for user {user:?}")),
            None => Err(format!("unknown user {user:?}")),
        }
    }

    fn client_header(&self) -> Option<(http::HeaderName, http::HeaderValue)> {
        self.client
            .clone()
            .map(|value| (http::header::AUTHORIZATION, value))
    }
}

fn basic_auth(config: &BasicAuthConfig) -> Result<Arc<dyn Authenticator>, String> {
    let mut users = BTreeMap::new();
    if let Some(htpasswd) = &config.htpasswd {
        let mut lines = Vec::new();
        if let Some(path) = &htpasswd.file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("htpasswd.file {}: {e}", path.display()))?;
            lines.extend(text.lines().map(str::to_owned));
        }
        if let Some(inline) = &htpasswd.inline {
            lines.extend(inline.lines().map(str::to_owned));
        }
        for (number, line) in lines.iter().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, stored) = line
                .split_once(':')
                .ok_or_else(|| format!("htpasswd line {}: expected user:password", number + 1))?;
            let secret = Secret::parse(stored)
                .map_err(|e| format!("htpasswd line {} (user {user:?}): {e}", number + 1))?;
            users.insert(user.to_string(), secret);
        }
    }
    let client = config
        .client_auth
        .as_ref()
        .map(|client| {
            let credentials = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", client.username, client.password));
            let mut value = http::HeaderValue::try_from(format!("Basic {credentials}"))
                .map_err(|_| "client_auth: cannot be sent as a header".to_string())?;
            value.set_sensitive(true);
            Ok::<_, String>(value)
        })
        .transpose()?;
    Ok(Arc::new(BasicAuth { users, client }))
}

/// The `basicauth` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = BasicAuthConfig;
    const TYPE: &'static str = "basicauth";

    fn validate(&self, config: &BasicAuthConfig) -> Result<(), Invalid> {
        Invalid::check(config.problems())
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        _config: &BasicAuthConfig,
        _context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        // Nothing runs: the receivers and exporters that name it hold its authenticator.
        Ok(Box::new(super::Idle))
    }

    fn authenticator(
        &self,
        config: &BasicAuthConfig,
    ) -> Option<Result<Arc<dyn Authenticator>, String>> {
        Some(basic_auth(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Basic {credentials}").parse().unwrap(),
        );
        headers
    }

    #[test]
    fn accepts_bcrypt_and_plaintext_users_and_refuses_the_rest() {
        let hash = bcrypt::hash("hunter2", 4).unwrap();
        let config: BasicAuthConfig = serde_norway::from_str(&format!(
            "{{ htpasswd: {{ inline: \"# users\\nalice:{hash}\\nbob:plain\\n\" }} }}"
        ))
        .unwrap();
        let auth = basic_auth(&config).unwrap();
        assert!(auth.authenticate(&basic("alice", "hunter2")).is_ok());
        assert!(auth.authenticate(&basic("bob", "plain")).is_ok());
        assert!(auth.authenticate(&basic("alice", "hunter3")).is_err());
        assert!(auth.authenticate(&basic("carol", "plain")).is_err());
        assert!(auth.authenticate(&http::HeaderMap::new()).is_err());
        assert!(auth.client_header().is_none());
    }

    #[test]
    fn a_client_sends_what_a_server_with_the_same_user_accepts() {
        let config: BasicAuthConfig = serde_norway::from_str(
            "{ htpasswd: { inline: 'exporter:pw' }, client_auth: { username: exporter, password: pw } }",
        )
        .unwrap();
        let auth = basic_auth(&config).unwrap();
        let (name, value) = auth.client_header().unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert(name, value);
        assert!(auth.authenticate(&headers).is_ok());
    }

    #[test]
    fn an_empty_client_credential_is_named() {
        let config: BasicAuthConfig =
            serde_norway::from_str("{ client_auth: { username: exporter, password: '' } }")
                .unwrap();
        assert_eq!(
            config.problems(),
            Some(("client_auth.password", "is empty".to_owned()))
        );
    }

    #[test]
    fn unsupported_hashes_and_bad_lines_are_named() {
        for inline in ["alice:$apr1$x$y", "no-colon"] {
            let config = BasicAuthConfig {
                htpasswd: Some(HtpasswdConfig {
                    file: None,
                    inline: Some(inline.to_string()),
                }),
                client_auth: None,
            };
            assert!(basic_auth(&config).unwrap_err().contains("line 1"));
        }
    }
}
