//! The `bearertokenauth` extension, otelcol-contrib's: receivers that name it accept requests whose `header`
//! (default `Authorization`) is `<scheme> <token>` for one of its tokens; exporters that name it send the first.

use crate::Error;
use crate::auth::{AuthAttributes, Authenticator, same_secret};
use crate::component::{Component, ExtensionContext, ExtensionFactory, Invalid, RunningExtension};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// The `bearertokenauth` extension's settings: exactly one of `token`, `tokens` and `filename`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BearerTokenAuthConfig {
    /// The scheme written before the token (default `Bearer`; empty: the header is the token alone).
    pub scheme: String,
    /// The header carrying the credentials (default `Authorization`).
    pub header: String,
    /// The token (use `${env:VAR}` rather than writing it in the file).
    pub token: Option<String>,
    /// Several tokens a receiver accepts (an exporter sends the first), for rotating them.
    pub tokens: Vec<String>,
    /// A file holding the token (surrounding whitespace ignored), read when the collector starts.
    pub filename: Option<PathBuf>,
}

impl Default for BearerTokenAuthConfig {
    fn default() -> Self {
        BearerTokenAuthConfig {
            scheme: "Bearer".to_string(),
            header: "Authorization".to_string(),
            token: None,
            tokens: Vec::new(),
            filename: None,
        }
    }
}

impl BearerTokenAuthConfig {
    fn problems(&self) -> Option<(&'static str, String)> {
        let given = usize::from(self.token.is_some())
            + usize::from(!self.tokens.is_empty())
            + usize::from(self.filename.is_some());
        if given != 1 {
            return Some((
                "token",
                "set exactly one of token, tokens and filename".into(),
            ));
        }
        // Usually a `${env:VAR}` that is not set: refused by `validate`, not only when the collector starts.
        if self.token.as_deref() == Some("") {
            return Some(("token", "is empty".into()));
        }
        if self.tokens.iter().any(String::is_empty) {
            return Some(("tokens", "one of them is empty".into()));
        }
        if http::HeaderName::try_from(self.header.as_str()).is_err() {
            return Some((
                "header",
                format!("`{}` is not a valid header name", self.header),
            ));
        }
        None
    }

    /// The tokens, reading `filename` now.
    fn load_tokens(&self) -> Result<Vec<String>, String> {
        let tokens = match (&self.token, &self.filename) {
            (Some(token), _) => vec![token.clone()],
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("filename {}: {e}", path.display()))?;
                vec![text.trim().to_string()]
            }
            (None, None) => self.tokens.clone(),
        };
        if tokens.iter().any(String::is_empty) {
            return Err("a token is empty".into());
        }
        Ok(tokens)
    }
}

/// The tokens of a started `bearertokenauth`, as the header values they make.
#[derive(Debug)]
struct BearerToken {
    header: http::HeaderName,
    accepted: Vec<http::HeaderValue>,
}

impl Authenticator for BearerToken {
    fn authenticate(&self, headers: &http::HeaderMap) -> Result<AuthAttributes, String> {
        let presented = headers
            .get(&self.header)
            .ok_or_else(|| format!("no {} header", self.header))?;
        if self
            .accepted
            .iter()
            .any(|accepted| same_secret(accepted.as_bytes(), presented.as_bytes()))
        {
            // A shared secret says nothing of who presented it.
            Ok(AuthAttributes::new())
        } else {
            Err(format!(
                "the {} header holds no accepted token",
                self.header
            ))
        }
    }

    fn client_header(&self) -> Option<(http::HeaderName, http::HeaderValue)> {
        self.accepted
            .first()
            .map(|value| (self.header.clone(), value.clone()))
    }
}

/// The `bearertokenauth` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = BearerTokenAuthConfig;
    const TYPE: &'static str = "bearertokenauth";

    fn validate(&self, config: &BearerTokenAuthConfig) -> Result<(), Invalid> {
        Invalid::check(config.problems())
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        _config: &BearerTokenAuthConfig,
        _context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        // Nothing runs: the receivers and exporters that name it hold its authenticator.
        Ok(Box::new(super::Idle))
    }

    fn authenticator(
        &self,
        config: &BearerTokenAuthConfig,
    ) -> Option<Result<Arc<dyn Authenticator>, String>> {
        Some(bearer_token(config))
    }
}

fn bearer_token(config: &BearerTokenAuthConfig) -> Result<Arc<dyn Authenticator>, String> {
    let header =
        http::HeaderName::try_from(config.header.as_str()).map_err(|e| format!("header: {e}"))?;
    let accepted = config
        .load_tokens()?
        .into_iter()
        .map(|token| {
            let value = if config.scheme.is_empty() {
                token
            } else {
                format!("{} {token}", config.scheme)
            };
            let mut value = http::HeaderValue::try_from(value)
                .map_err(|_| "a token holds characters a header cannot".to_string())?;
            value.set_sensitive(true);
            Ok(value)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Arc::new(BearerToken { header, accepted }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> BearerTokenAuthConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    fn headers(value: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", value.parse().unwrap());
        headers
    }

    #[test]
    fn accepts_each_token_with_its_scheme_and_nothing_else() {
        let auth = bearer_token(&config("{ tokens: [old, new] }")).unwrap();
        assert!(auth.authenticate(&headers("Bearer old")).is_ok());
        assert!(auth.authenticate(&headers("Bearer new")).is_ok());
        assert!(auth.authenticate(&headers("Bearer other")).is_err());
        assert!(auth.authenticate(&headers("new")).is_err());
        assert!(auth.authenticate(&http::HeaderMap::new()).is_err());
        let (name, value) = auth.client_header().unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("authorization", "Bearer old")
        );
    }

    #[test]
    fn reads_the_token_file_and_checks_its_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let auth = bearer_token(&config(&format!(
            "{{ filename: '{}', scheme: '', header: X-Token }}",
            path.display()
        )))
        .unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("x-token", "s3cret".parse().unwrap());
        assert!(auth.authenticate(&headers).is_ok());
        assert!(config("{}").problems().is_some());
        assert!(config("{ token: a, tokens: [b] }").problems().is_some());
        assert_eq!(
            config("{ token: '' }").problems(),
            Some(("token", "is empty".to_owned()))
        );
        assert!(config("{ tokens: [a, ''] }").problems().is_some());
        assert!(bearer_token(&config("{ filename: /nonexistent/token }")).is_err());
    }
}
