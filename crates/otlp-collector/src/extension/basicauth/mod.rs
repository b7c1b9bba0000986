//! The `basicauth` extension, otelcol-contrib's: HTTP Basic credentials. As a server authenticator it accepts
//! the users of an htpasswd list (`htpasswd.file` and/or `htpasswd.inline`, bcrypt hashes as `htpasswd -B` writes
//! them, or plaintext); as a client authenticator it sends `client_auth`'s username and password, written in the
//! config or read from files when the collector starts.
//!
//! An htpasswd entry with an empty user name or an empty password is refused (at `validate` for `inline`, at start
//! for `file`), and so are requests presenting either empty: the upstream example
//! `inline: "${env:BASIC_AUTH_USERNAME}:${env:BASIC_AUTH_PASSWORD}"` with the variables unset becomes the line
//! `:`, which would otherwise let in anyone sending empty credentials.

use crate::Error;
use crate::auth::{AuthAttributes, Authenticator, same_secret};
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

/// `client_auth`: what an exporter sends. The user name comes from exactly one of `username` and `username_file`,
/// the password from exactly one of `password` and `password_file`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientAuthConfig {
    /// The user name (no `:` in it, as HTTP Basic requires).
    pub username: Option<String>,
    /// A file holding the user name, read when the collector starts (surrounding whitespace ignored, as upstream).
    pub username_file: Option<PathBuf>,
    /// The password.
    pub password: Option<String>,
    /// A file holding the password, read when the collector starts (surrounding whitespace ignored, as upstream).
    pub password_file: Option<PathBuf>,
    /// otelcol-contrib's credentials from AWS Secrets Manager: read only so that `validate` can say this collector
    /// lacks it, rather than calling it an unknown key.
    pub aws_secrets_manager: Option<serde_norway::Value>,
}

impl ClientAuthConfig {
    /// The user name and password, reading the files now.
    fn credentials(&self) -> Result<(String, String), String> {
        let username = value_or_file(
            "client_auth.username",
            self.username.as_deref(),
            self.username_file.as_deref(),
        )?;
        if username.contains(':') {
            return Err(match &self.username_file {
                Some(path) => format!(
                    "client_auth.username_file {}: the user name must not contain `:`",
                    path.display()
                ),
                None => "client_auth.username: must not contain `:`".into(),
            });
        }
        let password = value_or_file(
            "client_auth.password",
            self.password.as_deref(),
            self.password_file.as_deref(),
        )?;
        Ok((username, password))
    }
}

/// A credential written in the config (`key`) or held by a file (`key_file`), which must not be empty.
fn value_or_file(
    key: &str,
    value: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<String, String> {
    let value = match (value, file) {
        (Some(value), None) => value.to_string(),
        (None, Some(path)) => {
            // Trimmed as upstream's credentials files are (strings.TrimSpace): `echo secret > file` adds a newline.
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{key}_file {}: cannot read it: {e}", path.display()))?;
            let text = text.trim();
            if text.is_empty() {
                return Err(format!("{key}_file {}: the file is empty", path.display()));
            }
            text.to_string()
        }
        _ => {
            let name = key.trim_start_matches("client_auth.");
            return Err(format!("{key}: set exactly one of {name} and {name}_file"));
        }
    };
    if value.is_empty() {
        return Err(format!("{key}: is empty"));
    }
    Ok(value)
}

/// Why an htpasswd entry cannot be used, if it cannot: one with an empty user name or password would let in
/// whoever sends empty credentials (the line `:` is what an htpasswd of two unset `${env:VAR}` becomes).
fn empty_entry(user: &str, stored: &str) -> Option<&'static str> {
    match (user.is_empty(), stored.is_empty()) {
        (true, true) => Some(
            "the user name and the password are empty (unset ${env:VAR}s?); such an entry would accept empty \
             credentials",
        ),
        (true, false) => Some("the user name is empty"),
        (false, true) => Some("the password is empty"),
        (false, false) => None,
    }
}

/// The `(user, password-or-hash)` entries of htpasswd text, with each line's number; blank and `#` lines skipped.
fn entries(text: &str) -> impl Iterator<Item = (usize, Result<(&str, &str), String>)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(number, line)| {
            let entry = line
                .split_once(':')
                .ok_or_else(|| "expected user:password".to_string())
                .and_then(|(user, stored)| match empty_entry(user, stored) {
                    Some(reason) => Err(reason.to_string()),
                    None => Ok((user, stored)),
                });
            (number, entry)
        })
}

impl BasicAuthConfig {
    fn problems(&self) -> Option<(&'static str, String)> {
        if self.htpasswd.is_none() && self.client_auth.is_none() {
            return Some((
                "htpasswd",
                "set htpasswd (receivers), client_auth (exporters) or both".into(),
            ));
        }
        if let Some(htpasswd) = &self.htpasswd {
            if htpasswd.file.is_none() && htpasswd.inline.is_none() {
                return Some(("htpasswd", "set file, inline or both".into()));
            }
            // The inline lines are checked here, so that `validate` refuses them; a file's, when it is read.
            if let Some(inline) = &htpasswd.inline
                && let Some((number, Err(reason))) =
                    entries(inline).find(|(_, entry)| entry.is_err())
            {
                return Some(("htpasswd.inline", format!("line {number}: {reason}")));
            }
        }
        if let Some(client) = &self.client_auth {
            if client.aws_secrets_manager.is_some() {
                return Some((
                    "client_auth.aws_secrets_manager",
                    "is an otelcol-contrib option this collector does not have; use username/password or \
                     username_file/password_file"
                        .into(),
                ));
            }
            for (key, value, file) in [
                (
                    "client_auth.username",
                    &client.username,
                    client.username_file.is_some(),
                ),
                (
                    "client_auth.password",
                    &client.password,
                    client.password_file.is_some(),
                ),
            ] {
                match (value, file) {
                    (Some(_), true) | (None, false) => {
                        let name = key.trim_start_matches("client_auth.");
                        return Some((key, format!("set exactly one of {name} and {name}_file")));
                    }
                    // Usually a `${env:VAR}` that is not set: every request would then be refused by the backend.
                    (Some(value), false) if value.is_empty() => {
                        return Some((key, "is empty".into()));
                    }
                    _ => {}
                }
            }
            if client.username.as_deref().is_some_and(|u| u.contains(':')) {
                return Some(("client_auth.username", "must not contain `:`".into()));
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
    fn authenticate(&self, headers: &http::HeaderMap) -> Result<AuthAttributes, String> {
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
        // No entry has an empty user name or password; refusing them here as well keeps empty credentials out
        // whatever the list holds (a bcrypt hash of the empty password, say).
        if user.is_empty() || password.is_empty() {
            return Err("empty user name or password in the Basic credentials".into());
        }
        match self.users.get(user) {
            Some(secret) if secret.matches(password) => Ok(AuthAttributes::from([(
                "username".to_owned(),
                vec![user.to_owned()],
            )])),
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
        let mut sources = Vec::new();
        if let Some(path) = &htpasswd.file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("htpasswd.file {}: {e}", path.display()))?;
            sources.push((format!("htpasswd.file {}", path.display()), text));
        }
        // Read after the file, so that an inline user overrides the file's, as upstream.
        if let Some(inline) = &htpasswd.inline {
            sources.push(("htpasswd.inline".to_string(), inline.clone()));
        }
        for (source, text) in &sources {
            for (number, entry) in entries(text) {
                let (user, stored) = entry.map_err(|e| format!("{source} line {number}: {e}"))?;
                let secret = Secret::parse(stored)
                    .map_err(|e| format!("{source} line {number} (user {user:?}): {e}"))?;
                users.insert(user.to_string(), secret);
            }
        }
    }
    let client = config
        .client_auth
        .as_ref()
        .map(|client| {
            let (username, password) = client.credentials()?;
            let credentials =
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
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

    fn inline(text: &str) -> BasicAuthConfig {
        BasicAuthConfig {
            htpasswd: Some(HtpasswdConfig {
                file: None,
                inline: Some(text.to_string()),
            }),
            client_auth: None,
        }
    }

    #[test]
    fn an_entry_with_an_empty_user_or_password_is_refused() {
        for (text, reason) in [
            (":", "the user name and the password are empty"),
            ("alice:pw\n:pw", "line 2: the user name is empty"),
            ("alice:", "line 1: the password is empty"),
        ] {
            let (key, message) = inline(text).problems().unwrap();
            assert_eq!(key, "htpasswd.inline");
            assert!(message.contains(reason), "{text:?}: {message}");
            // Refused when the authenticator is made as well (a config changed after validation, or a file).
            assert!(basic_auth(&inline(text)).unwrap_err().contains(reason));
        }
    }

    #[test]
    fn empty_credentials_are_refused_whatever_the_list_holds() {
        let empty_hash = bcrypt::hash("", 4).unwrap();
        let auth = basic_auth(&inline(&format!("alice:pw\nbob:{empty_hash}"))).unwrap();
        for (user, password) in [("", ""), ("alice", ""), ("bob", ""), ("", "pw")] {
            assert!(auth.authenticate(&basic(user, password)).is_err());
        }
        assert!(auth.authenticate(&basic("alice", "pw")).is_ok());
    }

    #[test]
    fn client_credentials_come_from_files_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("user"), "exporter\n").unwrap();
        std::fs::write(dir.path().join("password"), "  pw\r\n").unwrap();
        let config: BasicAuthConfig = serde_norway::from_str(&format!(
            "{{ htpasswd: {{ inline: 'exporter:pw' }}, client_auth: {{ username_file: '{0}/user', \
             password_file: '{0}/password' }} }}",
            dir.path().display()
        ))
        .unwrap();
        assert_eq!(config.problems(), None);
        let auth = basic_auth(&config).unwrap();
        let (name, value) = auth.client_header().unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert(name, value);
        assert!(auth.authenticate(&headers).is_ok());
    }

    #[test]
    fn a_missing_or_empty_credentials_file_is_a_start_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        for (file, reason) in [(&missing, "cannot read it"), (&empty, "the file is empty")] {
            let config = BasicAuthConfig {
                htpasswd: None,
                client_auth: Some(ClientAuthConfig {
                    username: Some("exporter".into()),
                    password_file: Some(file.clone()),
                    ..ClientAuthConfig::default()
                }),
            };
            assert_eq!(config.problems(), None);
            let error = basic_auth(&config).unwrap_err();
            assert!(
                error.starts_with(&format!(
                    "client_auth.password_file {}: {reason}",
                    file.display()
                )),
                "{error}"
            );
        }
    }

    #[test]
    fn client_settings_upstream_has_and_we_lack_or_that_conflict_are_named() {
        for (yaml, key, message) in [
            (
                "{ client_auth: { aws_secrets_manager: { secret_arn: x } } }",
                "client_auth.aws_secrets_manager",
                "otelcol-contrib option this collector does not have",
            ),
            (
                "{ client_auth: { username: a, username_file: /f, password: p } }",
                "client_auth.username",
                "set exactly one of username and username_file",
            ),
            (
                "{ client_auth: { username: a } }",
                "client_auth.password",
                "set exactly one of password and password_file",
            ),
            (
                "{ client_auth: { username: 'a:b', password: p } }",
                "client_auth.username",
                "must not contain `:`",
            ),
        ] {
            let config: BasicAuthConfig = serde_norway::from_str(yaml).unwrap();
            let (found_key, found) = config.problems().unwrap();
            assert_eq!(found_key, key, "{yaml}");
            assert!(found.contains(message), "{yaml}: {found}");
        }
    }
}
