//! A bearer token as an OIDC ID token (a JWS in compact form, RFC 7515): its header, its claims, and what it is
//! signed over. Nothing here trusts it; [`super::provider`] checks its signature and claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A token taken apart.
pub(super) struct Token {
    pub(super) alg: String,
    pub(super) kid: Option<String>,
    pub(super) claims: Map<String, Value>,
    /// `header.payload`, as the signature covers it.
    pub(super) signed: Vec<u8>,
    pub(super) signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

fn part(text: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| format!("the token's {what} is not base64url"))
}

impl Token {
    /// The parts of `text`: `<header>.<payload>.<signature>`.
    pub(super) fn parse(text: &str) -> Result<Token, String> {
        let mut parts = text.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the token is not a JWS (header.payload.signature)".to_owned());
        };
        let parsed: Header = serde_json::from_slice(&part(header, "header")?)
            .map_err(|e| format!("the token's header is not a JOSE header: {e}"))?;
        let claims: Map<String, Value> = serde_json::from_slice(&part(payload, "payload")?)
            .map_err(|_| "the token's payload is not a JSON object of claims".to_owned())?;
        Ok(Token {
            alg: parsed.alg,
            kid: parsed.kid,
            claims,
            signed: format!("{header}.{payload}").into_bytes(),
            signature: part(signature, "signature")?,
        })
    }

    pub(super) fn string_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A time claim (`exp`, `nbf`), seconds since the epoch.
    pub(super) fn time_claim(&self, name: &str) -> Option<f64> {
        self.claims.get(name).and_then(Value::as_f64)
    }

    /// Whether `aud` (a string or a list of them) names `audience`.
    pub(super) fn for_audience(&self, audience: &str) -> bool {
        match self.claims.get("aud") {
            Some(Value::String(one)) => one == audience,
            Some(Value::Array(many)) => many.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        }
    }
}
