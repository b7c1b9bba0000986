//! The `otlphttp` exporter's settings.

use crate::ClientTlsSettings;
use crate::auth::AuthSettings;
use crate::compression::Compression;
use crate::de;
use crate::exporter::{CircuitBreakerConfig, HelperSettings, QueueConfig, RetryConfig};
use otlp_model::Signal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// How the `otlphttp` exporter encodes requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpEncoding {
    /// `application/x-protobuf`.
    #[default]
    Proto,
    /// `application/json`.
    Json,
}

/// The `otlphttp` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpHttpExporterConfig {
    /// Base URL; `/v1/traces`, `/v1/metrics` and `/v1/logs` are appended.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Full URL for traces, overriding `endpoint`.
    #[serde(default)]
    pub traces_endpoint: Option<String>,
    /// Full URL for metrics, overriding `endpoint`.
    #[serde(default)]
    pub metrics_endpoint: Option<String>,
    /// Full URL for logs, overriding `endpoint`.
    #[serde(default)]
    pub logs_endpoint: Option<String>,
    /// TLS for `https://` endpoints: `ca_file` (the system's roots without it), `cert_file` and `key_file` for
    /// mutual TLS, `server_name_override`, `insecure_skip_verify`. `insecure` changes nothing here (the scheme
    /// decides), as in otelcol; set, it is warned about, since it reads as "skip the certificate check".
    #[serde(default)]
    pub tls: ClientTlsSettings,
    /// `proto` (default) or `json`.
    #[serde(default)]
    pub encoding: HttpEncoding,
    /// Body compression: `gzip` (default), `zstd`, `deflate` or `none`.
    #[serde(default = "de::gzip")]
    pub compression: Compression,
    /// The authenticator extension whose credentials every request carries.
    #[serde(default)]
    pub auth: Option<AuthSettings>,
    /// Extra HTTP headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Time allowed for one export attempt.
    #[serde(default = "de::thirty_seconds", deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// The sending queue.
    #[serde(default)]
    pub sending_queue: QueueConfig,
    /// Retries.
    #[serde(default)]
    pub retry_on_failure: RetryConfig,
    /// Stop calling a failing backend for a while (not in otelcol).
    #[serde(default)]
    pub circuit_breaker: CircuitBreakerConfig,
}

impl OtlpHttpExporterConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        self.sending_queue.validate()?;
        self.retry_on_failure.validate()?;
        self.circuit_breaker.validate()?;
        if let Some(base) = &self.endpoint {
            let trimmed = base.trim_end_matches('/');
            // The full URL an SDK's OTEL_EXPORTER_OTLP_TRACES_ENDPOINT holds, given as the base: every request
            // would go to `.../v1/traces/v1/traces` and come back 404.
            if let Some((stripped, signal)) = Signal::ALL.into_iter().find_map(|signal| {
                let path = format!("/v1/{}", signal.as_str());
                Some((trimmed.strip_suffix(&path)?, signal.as_str()))
            }) {
                return Err(format!(
                    "endpoint `{base}`: `/v1/{signal}` and the other signals' paths are added to it, so it is the \
                     base URL `{stripped}`; a whole URL goes in `{signal}_endpoint`"
                ));
            }
        }
        for signal in Signal::ALL {
            let url = self.url(signal).ok_or_else(|| {
                format!("`endpoint` (or `{}_endpoint`) is required", signal.as_str())
            })?;
            // `http::Uri` says only "invalid format" for `backend:4318/v1/traces`, the common mistake.
            let parsed: Option<http::Uri> = url.parse().ok();
            match parsed
                .as_ref()
                .and_then(|uri| Some((uri.scheme_str()?, uri.host()?)))
            {
                Some(("http" | "https", _)) => {}
                _ => {
                    return Err(format!(
                        "endpoint `{url}`: must be an http:// or https:// URL with a host, such as \
                         `https://backend:4318`"
                    ));
                }
            }
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err("tls.cert_file and tls.key_file go together".into());
        }
        for (key, value) in &self.headers {
            http::HeaderName::try_from(key.as_str())
                .map_err(|_| format!("headers: `{key}` is not a valid header name"))?;
            http::HeaderValue::try_from(value.as_str()).map_err(|_| {
                format!("headers: the value of `{key}` is not a valid header value")
            })?;
        }
        Ok(())
    }

    /// `tls.insecure` with an `https://` endpoint: otelcol's HTTP client then uses Go's default TLS, which
    /// verifies the server, and so does this one. An operator who set it to reach a self-signed backend would
    /// otherwise learn only from failing exports that the certificate is still checked.
    pub(super) fn warnings(&self) -> Vec<(String, String)> {
        let https = Signal::ALL.into_iter().any(|signal| {
            self.url(signal)
                .is_some_and(|url| url.to_ascii_lowercase().starts_with("https://"))
        });
        if self.tls.insecure && https {
            vec![(
                "tls.insecure".to_string(),
                "has no effect on otlphttp: an `https://` endpoint's certificate is still verified (as in \
                 otelcol), an `http://` endpoint is plain text without it; to skip verification set \
                 `tls.insecure_skip_verify: true`"
                    .to_string(),
            )]
        } else {
            Vec::new()
        }
    }

    pub(super) fn url(&self, signal: Signal) -> Option<String> {
        let specific = match signal {
            Signal::Traces => &self.traces_endpoint,
            Signal::Metrics => &self.metrics_endpoint,
            Signal::Logs => &self.logs_endpoint,
        };
        specific.clone().or_else(|| {
            self.endpoint
                .as_ref()
                .map(|base| format!("{}/v1/{}", base.trim_end_matches('/'), signal.as_str()))
        })
    }

    pub(super) fn helper(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: self.timeout,
            circuit_breaker: self.circuit_breaker.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> OtlpHttpExporterConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn tls_insecure_is_warned_about_for_https_endpoints_only() {
        let warnings =
            config("{ endpoint: \"https://backend:4318\", tls: { insecure: true } }").warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].0, "tls.insecure");
        assert!(
            warnings[0].1.contains("`tls.insecure_skip_verify: true`"),
            "{warnings:?}"
        );
        // A per-signal https URL counts too.
        let warnings = config(
            "{ endpoint: \"http://backend:4318\", logs_endpoint: \"HTTPS://logs:443/v1/logs\", \
             tls: { insecure: true } }",
        )
        .warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // Plain text was asked for and is what happens.
        assert!(
            config("{ endpoint: \"http://backend:4318\", tls: { insecure: true } }")
                .warnings()
                .is_empty()
        );
        assert!(
            config("{ endpoint: \"https://backend:4318\" }")
                .warnings()
                .is_empty()
        );
    }
}
