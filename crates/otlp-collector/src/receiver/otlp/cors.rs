//! Cross-origin requests on OTLP/HTTP (`protocols.http.cors`), as otelcol's `confighttp` answers them: a browser
//! SDK on a page from an allowed origin may send its telemetry straight to the receiver.
//!
//! otelcol hands these settings to `rs/cors` with credentials allowed, and this keeps its answers: the request's
//! origin is echoed (never `*`, which browsers refuse beside credentials), an origin pattern may hold one `*` standing
//! for any run of characters, origins compare without regard to case, the CORS-safelisted request headers are always
//! allowed, and `*` among the headers allows whatever the preflight asks for.

use http::{HeaderName, HeaderValue, Method};
use serde::Deserialize;
use std::time::Duration;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// `protocols.http.cors`: which web origins may send telemetry from a browser.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSettings {
    /// Values of the `Origin` header accepted: exact (`https://shop.example.com`), with one `*` for any run of
    /// characters (`https://*.example.com`), or `*` for every origin. Empty leaves CORS off.
    pub allowed_origins: Vec<String>,
    /// Request headers a cross-origin request may carry besides the CORS-safelisted ones (`Accept`,
    /// `Accept-Language`, `Content-Language`, `Content-Type`); `X-Requested-With` too when this is empty; `*` for
    /// any header.
    pub allowed_headers: Vec<String>,
    /// Seconds a browser may cache a preflight answer (`Access-Control-Max-Age`); 0 sends no such header.
    pub max_age: u64,
}

/// Headers every cross-origin request may carry, as `rs/cors` allows them.
const SAFELISTED_HEADERS: [HeaderName; 4] = [
    http::header::ACCEPT,
    http::header::ACCEPT_LANGUAGE,
    http::header::CONTENT_LANGUAGE,
    http::header::CONTENT_TYPE,
];

/// One entry of `allowed_origins`, lower-cased.
#[derive(Debug, Clone)]
enum OriginPattern {
    Any,
    Exact(String),
    Wildcard { prefix: String, suffix: String },
}

impl OriginPattern {
    fn parse(origin: &str) -> Result<Self, String> {
        let origin = origin.trim().to_ascii_lowercase();
        if origin == "*" {
            return Ok(OriginPattern::Any);
        }
        if origin.is_empty() {
            return Err("an empty origin matches nothing".into());
        }
        match origin.split_once('*') {
            None => Ok(OriginPattern::Exact(origin)),
            Some((_, suffix)) if suffix.contains('*') => Err(format!(
                "`{origin}` has more than one `*`; an origin pattern takes one"
            )),
            Some((prefix, suffix)) => Ok(OriginPattern::Wildcard {
                prefix: prefix.to_owned(),
                suffix: suffix.to_owned(),
            }),
        }
    }

    fn matches(&self, origin: &str) -> bool {
        match self {
            OriginPattern::Any => true,
            OriginPattern::Exact(exact) => origin == exact,
            OriginPattern::Wildcard { prefix, suffix } => {
                origin.len() >= prefix.len() + suffix.len()
                    && origin.starts_with(prefix.as_str())
                    && origin.ends_with(suffix.as_str())
            }
        }
    }
}

impl CorsSettings {
    /// The first problem of these settings, as (key, message), so the config error can name it.
    pub(super) fn problem(&self) -> Option<(String, String)> {
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            if let Err(message) = OriginPattern::parse(origin) {
                return Some((format!("allowed_origins[{i}]"), message));
            }
        }
        for (i, header) in self.allowed_headers.iter().enumerate() {
            if header != "*" && HeaderName::from_bytes(header.trim().as_bytes()).is_err() {
                return Some((
                    format!("allowed_headers[{i}]"),
                    format!("`{header}` is not a valid HTTP header name"),
                ));
            }
        }
        None
    }

    /// The layer answering preflights and marking responses, or `None` when no origin is allowed (CORS off, as in
    /// otelcol, which then ignores `allowed_headers` with a warning). Settings that [`problem`](Self::problem)
    /// refuses never get here; were one to, its bad entries are left out.
    pub(in crate::receiver) fn layer(&self, component: &str) -> Option<CorsLayer> {
        if self.allowed_origins.is_empty() {
            if !self.allowed_headers.is_empty() {
                tracing::warn!(
                    receiver = component,
                    "protocols.http.cors lists allowed_headers but no allowed_origins: CORS stays off"
                );
            }
            return None;
        }
        let patterns: Vec<OriginPattern> = self
            .allowed_origins
            .iter()
            .filter_map(|origin| OriginPattern::parse(origin).ok())
            .collect();
        let allow_origin = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin.to_str().is_ok_and(|origin| {
                let origin = origin.to_ascii_lowercase();
                patterns.iter().any(|pattern| pattern.matches(&origin))
            })
        });
        let allow_headers = if self.allowed_headers.iter().any(|h| h == "*") {
            AllowHeaders::mirror_request()
        } else {
            let mut headers = SAFELISTED_HEADERS.to_vec();
            if self.allowed_headers.is_empty() {
                headers.push(HeaderName::from_static("x-requested-with"));
            }
            headers.extend(
                self.allowed_headers
                    .iter()
                    .filter_map(|h| HeaderName::from_bytes(h.trim().as_bytes()).ok()),
            );
            AllowHeaders::list(headers)
        };
        let mut layer = CorsLayer::new()
            .allow_origin(allow_origin)
            // OTLP/HTTP has only POST; credentials as otelcol allows them, so a page may send cookies or
            // an `Authorization` header to a receiver behind an authenticator.
            .allow_methods([Method::POST])
            .allow_headers(allow_headers)
            .allow_credentials(true);
        if self.max_age > 0 {
            layer = layer.max_age(Duration::from_secs(self.max_age));
        }
        Some(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, origin: &str) -> bool {
        OriginPattern::parse(pattern)
            .unwrap()
            .matches(&origin.to_ascii_lowercase())
    }

    #[test]
    fn origin_patterns_match_as_rs_cors_does() {
        assert!(matches("*", "https://anything.example"));
        assert!(matches(
            "https://shop.example.com",
            "https://SHOP.example.com"
        ));
        assert!(!matches(
            "https://shop.example.com",
            "https://shop.example.com:8443"
        ));
        assert!(matches("https://*.example.com", "https://a.b.example.com"));
        assert!(!matches("https://*.example.com", "https://example.com"));
        assert!(!matches("https://*.example.com", "http://a.example.com"));
        // Prefix and suffix may not overlap: the `*` stands for a run of zero or more characters between them.
        assert!(!matches("https://a*a", "https://a"));
        assert!(matches("https://a*a", "https://aa"));
        assert!(matches("http://*", "http://localhost:8080"));
    }

    #[test]
    fn bad_entries_are_named() {
        let settings = CorsSettings {
            allowed_origins: vec!["https://ok.example".into(), "https://*.*.example".into()],
            ..CorsSettings::default()
        };
        let (key, message) = settings.problem().unwrap();
        assert_eq!(key, "allowed_origins[1]");
        assert!(message.contains("more than one `*`"), "{message}");
        let settings = CorsSettings {
            allowed_origins: vec!["*".into()],
            allowed_headers: vec!["X-Good".into(), "bad header".into()],
            ..CorsSettings::default()
        };
        let (key, message) = settings.problem().unwrap();
        assert_eq!(key, "allowed_headers[1]");
        assert!(message.contains("`bad header`"), "{message}");
    }

    #[test]
    fn no_origins_means_no_layer() {
        let settings = CorsSettings {
            allowed_headers: vec!["X-Tenant".into()],
            ..CorsSettings::default()
        };
        assert!(settings.layer("otlp").is_none());
    }
}
