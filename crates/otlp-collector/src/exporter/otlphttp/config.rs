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
    /// How long an idle pooled connection is kept (otelcol's `confighttp`, as the keys below; Go's default 90s).
    #[serde(default, deserialize_with = "de::optional_duration")]
    pub idle_conn_timeout: Option<Duration>,
    /// Idle connections kept per backend host; `0` keeps none.
    #[serde(default)]
    pub max_idle_conns_per_host: Option<usize>,
    /// Go's bound on idle connections over all hosts (`0`: none); one exporter talks to one host per signal, so it
    /// bounds the same pool as `max_idle_conns_per_host`, and the smaller applies.
    #[serde(default)]
    pub max_idle_conns: Option<usize>,
    /// No connection reuse: every request opens its own.
    #[serde(default)]
    pub disable_keep_alives: bool,
    /// An HTTP/2 connection that has received nothing for this long is pinged.
    #[serde(default, deserialize_with = "de::optional_duration")]
    pub http2_read_idle_timeout: Option<Duration>,
    /// How long such a ping may go unanswered before the connection is closed (hyper's default: 20s).
    #[serde(default, deserialize_with = "de::optional_duration")]
    pub http2_ping_timeout: Option<Duration>,
    /// Go's socket buffer sizes: taken, with no effect (hyper sizes its own buffers).
    #[serde(default)]
    pub read_buffer_size: Option<usize>,
    /// See `read_buffer_size`.
    #[serde(default)]
    pub write_buffer_size: Option<usize>,
    /// Go's forward proxy, refused with the reason.
    #[allow(dead_code, reason = "never read: present, the key fails to parse")]
    #[serde(default, deserialize_with = "refuse_proxy_url")]
    proxy_url: de::Refused,
}

// Named with its reason, so that an operator does not take the key for a misspelling.
fn refuse_proxy_url<'de, D: serde::Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not supported: the exporter connects to the endpoint directly and cannot go through an HTTP proxy; \
         point `endpoint` at a reachable backend (or at a collector that forwards)",
    )
}

/// How the client keeps its connections, from the config's `confighttp` keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HttpConnections {
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_idle_per_host: Option<usize>,
    pub(crate) http2_ping_interval: Option<Duration>,
    pub(crate) http2_ping_timeout: Option<Duration>,
}

impl OtlpHttpExporterConfig {
    /// The connection pool and HTTP/2 pings the settings ask for.
    pub(super) fn connections(&self) -> HttpConnections {
        let max_idle_per_host = if self.disable_keep_alives {
            Some(0)
        } else {
            match (self.max_idle_conns_per_host, self.max_idle_conns) {
                (per_host, Some(0) | None) => per_host,
                (None, total) => total,
                (Some(per_host), Some(total)) => Some(per_host.min(total)),
            }
        };
        HttpConnections {
            idle_timeout: self.idle_conn_timeout,
            max_idle_per_host,
            http2_ping_interval: self.http2_read_idle_timeout,
            http2_ping_timeout: self.http2_ping_timeout,
        }
    }

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
    fn go_connection_keys_become_the_pools_settings() {
        let base = "endpoint: \"http://backend:4318\"";
        assert_eq!(
            config(&format!("{{ {base} }}")).connections(),
            HttpConnections::default()
        );
        let tuned = config(&format!(
            "{{ {base}, idle_conn_timeout: 30s, max_idle_conns: 100, max_idle_conns_per_host: 10, \
             http2_read_idle_timeout: 10s, http2_ping_timeout: 5s, read_buffer_size: 1024, write_buffer_size: 1024 }}"
        ))
        .connections();
        assert_eq!(
            tuned,
            HttpConnections {
                idle_timeout: Some(Duration::from_secs(30)),
                max_idle_per_host: Some(10),
                http2_ping_interval: Some(Duration::from_secs(10)),
                http2_ping_timeout: Some(Duration::from_secs(5)),
            }
        );
        let bound = |keys: &str| {
            config(&format!("{{ {base}, {keys} }}"))
                .connections()
                .max_idle_per_host
        };
        assert_eq!(
            bound("max_idle_conns: 4"),
            Some(4),
            "one host: the total bounds it"
        );
        assert_eq!(
            bound("max_idle_conns: 0, max_idle_conns_per_host: 3"),
            Some(3),
            "0 is no limit in Go"
        );
        assert_eq!(
            bound("max_idle_conns: 50, disable_keep_alives: true"),
            Some(0)
        );
    }

    #[test]
    fn proxy_url_is_refused_with_the_reason() {
        let value = serde_norway::from_str(
            "{ endpoint: \"http://backend:4318\", proxy_url: \"http://proxy:3128\" }",
        )
        .unwrap();
        let problems = crate::de::typed::<OtlpHttpExporterConfig>("exporters.otlphttp", value)
            .unwrap_err()
            .config_problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "exporters.otlphttp.proxy_url");
        assert!(
            problems[0]
                .message
                .contains("cannot go through an HTTP proxy"),
            "{problems:?}"
        );
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
