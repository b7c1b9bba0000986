//! The `otlp` exporter's settings: otelcol's endpoint forms, TLS, compression, headers and helper settings.

use crate::ClientTlsSettings;
use crate::auth::AuthSettings;
use crate::compression::Compression;
use crate::de;
use crate::exporter::{CircuitBreakerConfig, HelperSettings, QueueConfig, RetryConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

/// The `otlp` exporter's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpGrpcExporterConfig {
    /// `host:port` (TLS unless `tls.insecure`), `http://host:port` (plain) or `https://host:port` (TLS).
    pub endpoint: String,
    /// TLS settings.
    #[serde(default)]
    pub tls: ClientTlsSettings,
    /// Request compression: `gzip` (default), `zstd` or `none`.
    #[serde(default = "de::gzip")]
    pub compression: Compression,
    /// Extra gRPC metadata sent with every request (e.g. an API key).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The authenticator extension whose credentials every request carries.
    #[serde(default)]
    pub auth: Option<AuthSettings>,
    /// Time allowed for one export attempt.
    #[serde(default = "de::five_seconds", deserialize_with = "de::duration")]
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
    /// Pings that find a dead connection (otelcol's `keepalive`).
    #[serde(default)]
    pub keepalive: GrpcClientKeepalive,
}

/// `keepalive` of a gRPC client: HTTP/2 pings on the connection, so that one whose peer vanished without a word
/// (a node gone, a firewall that dropped the flow) is found dead and replaced, instead of holding exports until
/// they time out one after another.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcClientKeepalive {
    /// How often the connection is pinged; absent or zero: no pings.
    #[serde(deserialize_with = "de::optional_duration")]
    pub time: Option<Duration>,
    /// A ping not answered within this long closes the connection (20 s when `time` is set and this is not).
    #[serde(deserialize_with = "de::optional_duration")]
    pub timeout: Option<Duration>,
    /// Ping also while no export is in flight.
    pub permit_without_stream: bool,
}

impl OtlpGrpcExporterConfig {
    /// The settings a config with only `endpoint` gets: the same defaults as the fields' serde defaults.
    pub(crate) fn with_endpoint(endpoint: &str) -> Self {
        OtlpGrpcExporterConfig {
            endpoint: endpoint.to_owned(),
            tls: ClientTlsSettings::default(),
            compression: de::gzip(),
            headers: BTreeMap::new(),
            auth: None,
            timeout: de::five_seconds(),
            sending_queue: QueueConfig::default(),
            retry_on_failure: RetryConfig::default(),
            circuit_breaker: CircuitBreakerConfig::default(),
            keepalive: GrpcClientKeepalive::default(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        self.sending_queue.validate()?;
        self.retry_on_failure.validate()?;
        self.circuit_breaker.validate()?;
        grpc_endpoint(&self.endpoint, &self.tls)?;
        if self.tls.insecure_skip_verify {
            // tonic's TLS has no way to take an unverified certificate.
            return Err(
                "tls.insecure_skip_verify: the otlp (gRPC) exporter verifies every server certificate; put the \
                 server's CA in tls.ca_file (or use otlphttp, which can skip the check)"
                    .into(),
            );
        }
        metadata(&self.headers)?;
        if self.compression == Compression::Deflate {
            return Err("compression: gRPC supports gzip, zstd or none".into());
        }
        Ok(())
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

/// Resolves otelcol's endpoint forms to a URI and whether it uses TLS.
pub(crate) fn grpc_endpoint(
    endpoint: &str,
    tls: &ClientTlsSettings,
) -> Result<(String, bool), String> {
    let (uri, secure) = if let Some(rest) = endpoint.strip_prefix("http://") {
        (format!("http://{rest}"), false)
    } else if let Some(rest) = endpoint.strip_prefix("https://") {
        (format!("https://{rest}"), !tls.insecure)
    } else if let Some(meant) = misspelt_scheme(endpoint) {
        // Else `http//backend:4317` would be taken for host `http` with a path.
        return Err(format!("endpoint `{endpoint}`: did you mean `{meant}`?"));
    } else if endpoint.contains("://") {
        return Err(format!(
            "endpoint `{endpoint}`: use host:port, http://host:port or https://host:port"
        ));
    } else if tls.insecure {
        (format!("http://{endpoint}"), false)
    } else {
        (format!("https://{endpoint}"), true)
    };
    let parsed: http::Uri = uri
        .parse()
        .map_err(|e| format!("endpoint `{endpoint}` is not a valid address: {e}"))?;
    if parsed.host().is_none() {
        return Err(format!("endpoint `{endpoint}` has no host"));
    }
    // A path would only fail at the first export, as a connection error that names neither the
    // endpoint nor the mistake.
    if parsed
        .path_and_query()
        .is_some_and(|path| path.as_str() != "/")
    {
        return Err(format!(
            "endpoint `{endpoint}`: a gRPC endpoint has no path; use host:port, \
             http://host:port or https://host:port"
        ));
    }
    let uri = if secure {
        uri
    } else {
        uri.replacen("https://", "http://", 1)
    };
    Ok((uri, secure))
}

/// `http//host` or `http:/host` as the `http://host` it was meant to be.
fn misspelt_scheme(endpoint: &str) -> Option<String> {
    ["https", "http"].into_iter().find_map(|scheme| {
        let rest = endpoint.strip_prefix(scheme)?;
        let host = rest.trim_start_matches([':', '/']);
        let slashed = rest.trim_start_matches(':').starts_with('/');
        (slashed && !rest.starts_with("://") && !host.is_empty())
            .then(|| format!("{scheme}://{host}"))
    })
}

pub(super) fn metadata(headers: &BTreeMap<String, String>) -> Result<MetadataMap, String> {
    let mut map = MetadataMap::new();
    for (key, value) in headers {
        let key = MetadataKey::from_bytes(key.to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("headers: `{key}` is not a valid header name"))?;
        let value = MetadataValue::try_from(value.as_str())
            .map_err(|_| format!("headers: the value of `{key}` is not a valid header value"))?;
        map.insert(key, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_in_code_match_the_serde_defaults() {
        let parsed: OtlpGrpcExporterConfig = crate::de::typed(
            "exporters.otlp",
            serde_norway::from_str("endpoint: backend:4317").unwrap(),
        )
        .unwrap();
        assert_eq!(
            format!("{parsed:?}"),
            format!(
                "{:?}",
                OtlpGrpcExporterConfig::with_endpoint("backend:4317")
            )
        );
    }

    #[test]
    fn endpoint_forms_follow_otelcol() {
        let secure = ClientTlsSettings::default();
        let insecure = ClientTlsSettings {
            insecure: true,
            ..Default::default()
        };
        assert_eq!(
            grpc_endpoint("backend:4317", &secure).unwrap(),
            ("https://backend:4317".into(), true)
        );
        assert_eq!(
            grpc_endpoint("backend:4317", &insecure).unwrap(),
            ("http://backend:4317".into(), false)
        );
        assert_eq!(
            grpc_endpoint("http://backend:4317", &secure).unwrap(),
            ("http://backend:4317".into(), false)
        );
        assert!(grpc_endpoint("ftp://backend", &secure).is_err());
        assert_eq!(
            grpc_endpoint("https://backend:4317/", &secure).unwrap(),
            ("https://backend:4317/".to_owned(), true)
        );
    }

    #[test]
    fn a_misspelt_scheme_is_named_instead_of_taken_for_a_host() {
        let secure = ClientTlsSettings::default();
        for (typo, meant) in [
            ("http//backend:4317", "http://backend:4317"),
            ("http:/backend:4317", "http://backend:4317"),
            ("https//backend:4317", "https://backend:4317"),
        ] {
            let error = grpc_endpoint(typo, &secure).unwrap_err();
            assert_eq!(error, format!("endpoint `{typo}`: did you mean `{meant}`?"));
        }
        let error = grpc_endpoint("backend:4317/v1/traces", &secure).unwrap_err();
        assert!(error.contains("a gRPC endpoint has no path"), "{error}");
    }
}
