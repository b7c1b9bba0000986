//! The `health_check` extension's settings: otelcol-contrib's healthcheckextension (its "legacy" settings, which
//! every otelcol config in use has) over confighttp's server settings.
//!
//! confighttp keys that this server cannot honour are spelt out and refused with the reason, rather than left to
//! serde's "unknown field": the operator bringing an otelcol config over learns why, not only that.

use crate::component::Invalid;
use crate::de;
use crate::tls::ServerTlsSettings;
use http::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::time::Duration;

/// The `health_check` extension's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    /// `host:port` to listen on.
    pub endpoint: String,
    /// The path that answers; as in otelcol (Go's `ServeMux`), one ending in `/` answers every path under it too.
    pub path: String,
    /// TLS (mutual with `client_ca_file`): the same settings and server as the `otlp` receiver's; plaintext without.
    pub tls: Option<ServerTlsSettings>,
    /// Fixed bodies instead of the JSON status.
    pub response_body: Option<ResponseBody>,
    /// Unhealthy while exporters fail more than a threshold within an interval.
    #[serde(deserialize_with = "or_default")]
    pub check_collector_pipeline: CheckCollectorPipeline,
    /// Headers added to every answer (otelcol's `response_headers`: a map, or a list of `{name, value}`).
    pub response_headers: ResponseHeaders,
    /// Largest request body accepted: kept for otelcol compatibility; the health check reads no body.
    pub max_request_body_size: Option<u64>,
    /// Request `Content-Encoding`s accepted: kept for otelcol compatibility; the health check reads no body.
    pub compression_algorithms: Option<Vec<String>>,
    /// Client metadata passed downstream: kept for otelcol compatibility; nothing is downstream of a health check.
    pub include_metadata: bool,
    /// `false` closes each connection after its answer (`Connection: close`), as Go's server does.
    pub keep_alives_enabled: bool,
    /// otelcol's switch to its v2 health check; only `false` (the settings above) is supported.
    pub use_v2: bool,
    #[serde(deserialize_with = "refuse_cors")]
    cors: de::Refused,
    #[serde(deserialize_with = "refuse_auth")]
    auth: de::Refused,
    #[serde(deserialize_with = "refuse_middlewares")]
    middlewares: de::Refused,
    #[serde(deserialize_with = "refuse_timeout")]
    read_timeout: de::Refused,
    #[serde(deserialize_with = "refuse_timeout")]
    read_header_timeout: de::Refused,
    #[serde(deserialize_with = "refuse_timeout")]
    write_timeout: de::Refused,
    #[serde(deserialize_with = "refuse_timeout")]
    idle_timeout: de::Refused,
    #[serde(deserialize_with = "refuse_v2")]
    http: de::Refused,
    #[serde(deserialize_with = "refuse_v2")]
    grpc: de::Refused,
    #[serde(deserialize_with = "refuse_v2")]
    component_health: de::Refused,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            endpoint: "localhost:13133".to_string(),
            path: "/".to_string(),
            tls: None,
            response_body: None,
            check_collector_pipeline: CheckCollectorPipeline::default(),
            response_headers: ResponseHeaders::default(),
            max_request_body_size: None,
            compression_algorithms: None,
            include_metadata: false,
            keep_alives_enabled: true,
            use_v2: false,
            cors: de::Refused,
            auth: de::Refused,
            middlewares: de::Refused,
            read_timeout: de::Refused,
            read_header_timeout: de::Refused,
            write_timeout: de::Refused,
            idle_timeout: de::Refused,
            http: de::Refused,
            grpc: de::Refused,
            component_health: de::Refused,
        }
    }
}

/// `response_body`: what the health check answers instead of its JSON status (otelcol's legacy custom responder).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseBody {
    /// The body of a 200.
    pub healthy: String,
    /// The body of a 503 (a 500 with `check_collector_pipeline`).
    pub unhealthy: String,
}

/// `check_collector_pipeline`: the health check also fails while exporters are failing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckCollectorPipeline {
    /// Off by default, as in otelcol.
    pub enabled: bool,
    /// How far back failures count.
    #[serde(deserialize_with = "de::duration")]
    pub interval: Duration,
    /// More failures than this within `interval` is unhealthy. Signed so that otelcol's "expects a positive
    /// number" can be said of a negative one, rather than serde's type error.
    pub exporter_failure_threshold: i64,
}

impl Default for CheckCollectorPipeline {
    fn default() -> Self {
        CheckCollectorPipeline {
            enabled: false,
            interval: Duration::from_secs(5 * 60),
            exporter_failure_threshold: 5,
        }
    }
}

/// `response_headers`, in the order written (a map's keys sorted, as otelcol's `MapList` has them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeaders(pub Vec<(String, String)>);

impl ResponseHeaders {
    /// The headers as `http` types, or the first problem as `(key under response_headers, message)`.
    pub(crate) fn parsed(&self) -> Result<Vec<(HeaderName, HeaderValue)>, (String, String)> {
        let mut parsed: Vec<(HeaderName, HeaderValue)> = Vec::with_capacity(self.0.len());
        for (name, value) in &self.0 {
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                (
                    name.clone(),
                    format!("`{name}` is not a valid HTTP header name"),
                )
            })?;
            let framing = [
                http::header::CONTENT_LENGTH,
                http::header::TRANSFER_ENCODING,
                http::header::CONNECTION,
            ];
            if framing.contains(&header) {
                // These frame the answer on the connection: a fixed value would break it.
                return Err((
                    name.clone(),
                    format!(
                        "`{name}` is set by the server for each answer; leave it out \
                         (`keep_alives_enabled: false` sends `Connection: close`)"
                    ),
                ));
            }
            let value = HeaderValue::from_str(value).map_err(|_| {
                (
                    name.clone(),
                    "the value is not a valid HTTP header value (control characters or non-ASCII text)"
                        .to_string(),
                )
            })?;
            if parsed.iter().any(|(seen, _)| *seen == header) {
                return Err((
                    name.clone(),
                    format!("`{name}` is listed twice; give each header once"),
                ));
            }
            parsed.push((header, value));
        }
        Ok(parsed)
    }
}

impl<'de> Deserialize<'de> for ResponseHeaders {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(HeadersVisitor)
    }
}

/// One entry of the list form of `response_headers`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedHeader {
    name: String,
    value: String,
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = ResponseHeaders;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of header names to values, or a list of `{ name, value }`")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<ResponseHeaders, E> {
        Ok(ResponseHeaders::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResponseHeaders, A::Error> {
        let mut headers = Vec::new();
        while let Some((name, value)) = map.next_entry::<String, String>()? {
            headers.push((name, value));
        }
        headers.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ResponseHeaders(headers))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ResponseHeaders, A::Error> {
        let mut headers = Vec::new();
        while let Some(NamedHeader { name, value }) = seq.next_element()? {
            headers.push((name, value));
        }
        Ok(ResponseHeaders(headers))
    }
}

/// A section written with no value (`check_collector_pipeline:`) is its defaults.
fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// Each reason names what does the job instead, so the operator does not go looking for a spelling that works.
fn refuse_cors<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not supported on health_check: cross-origin grants are made by the otlp receiver \
         (`protocols.http.cors`) for browsers sending telemetry; a health check is read by probes, which need none; \
         leave it out",
    )
}

fn refuse_auth<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not supported on health_check: authenticator extensions are checked by receivers \
         (`protocols.{grpc,http}.auth`), not by extensions; keep the health check on an address only probes \
         reach, or require client certificates with `tls.client_ca_file`",
    )
}

fn refuse_middlewares<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>("not supported: there are no middleware extensions here; leave it out")
}

fn refuse_timeout<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not supported on health_check: its server has no per-connection timeouts (it answers at once and \
         reads no body); leave it out",
    )
}

fn refuse_v2<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not supported: this is otelcol's v2 health check (`use_v2` with `http`, `grpc`, `component_health`); \
         health_check answers as otelcol's original one: `endpoint`, `path`, `tls`, `response_body`, \
         `check_collector_pipeline`, `response_headers`",
    )
}

impl HealthCheckConfig {
    /// Every problem, with the key under the extension it is about; files (`tls`) are read at start.
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.endpoint.trim().is_empty() {
            problems.push(Invalid::at(
                "endpoint",
                "must be set (`host:port`, e.g. `localhost:13133`)",
            ));
        }
        if !self.path.starts_with('/') {
            problems.push(Invalid::at(
                "path",
                format!("must start with `/` (`/{}`)", self.path),
            ));
        }
        if let Some((key, message)) = self.tls.as_ref().and_then(ServerTlsSettings::problems) {
            problems.push(Invalid::at(format!("tls.{key}"), message));
        }
        let pipeline = &self.check_collector_pipeline;
        if pipeline.exporter_failure_threshold <= 0 {
            problems.push(Invalid::at(
                "check_collector_pipeline.exporter_failure_threshold",
                format!(
                    "expects a positive number, got {}",
                    pipeline.exporter_failure_threshold
                ),
            ));
        }
        if pipeline.enabled && pipeline.interval.is_zero() {
            problems.push(Invalid::at(
                "check_collector_pipeline.interval",
                "must be longer than 0s: exporter failures are counted over it",
            ));
        }
        if let Err((name, message)) = self.response_headers.parsed() {
            problems.push(Invalid::at(format!("response_headers.{name}"), message));
        }
        if self.use_v2 {
            problems.push(Invalid::at(
                "use_v2",
                "otelcol's v2 health check is not supported: leave `use_v2` out (or `false`) and use \
                 `endpoint`, `path`, `tls`, `response_body`, `check_collector_pipeline`",
            ));
        }
        Invalid::all(problems)
    }

    /// Settings taken that cannot do anything here, as `(key, message)`.
    pub(crate) fn warnings(&self) -> Vec<(String, String)> {
        let mut warnings = Vec::new();
        if self.include_metadata {
            warnings.push((
                "include_metadata".to_string(),
                "has no effect on health_check: it hands nothing to pipelines, so there is no metadata to pass on"
                    .to_string(),
            ));
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> HealthCheckConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    fn problems(yaml: &str) -> Vec<(String, String)> {
        match parse(yaml).validate() {
            Ok(()) => Vec::new(),
            Err(invalid) => invalid
                .problems()
                .map(|(key, message)| (key.unwrap_or("").to_string(), message.to_string()))
                .collect(),
        }
    }

    #[test]
    fn defaults_are_otelcols() {
        let config = parse("{}");
        assert_eq!(config.endpoint, "localhost:13133");
        assert_eq!(config.path, "/");
        assert_eq!(config.response_body, None);
        assert_eq!(
            config.check_collector_pipeline,
            CheckCollectorPipeline {
                enabled: false,
                interval: Duration::from_secs(300),
                exporter_failure_threshold: 5,
            }
        );
        assert!(config.keep_alives_enabled);
        assert!(config.validate().is_ok());
        // A section written without a value is its defaults.
        let config = parse("check_collector_pipeline:\nresponse_headers:");
        assert_eq!(
            config.check_collector_pipeline,
            CheckCollectorPipeline::default()
        );
        assert!(config.response_headers.0.is_empty());
    }

    #[test]
    fn upstream_testdata_parses() {
        let config = parse(
            "endpoint: \"localhost:13\"\npath: \"/health\"\n\
             check_collector_pipeline: { enabled: false, interval: \"5m\", exporter_failure_threshold: 5 }",
        );
        assert_eq!(config.path, "/health");
        assert!(config.validate().is_ok());
        let config = parse("response_body: { healthy: I'm OK, unhealthy: I'm not well }");
        assert_eq!(
            config.response_body,
            Some(ResponseBody {
                healthy: "I'm OK".into(),
                unhealthy: "I'm not well".into()
            })
        );
    }

    #[test]
    fn bad_values_are_named_at_their_key() {
        let found = problems(
            "endpoint: \"\"\npath: health\n\
             check_collector_pipeline: { enabled: true, interval: 0s, exporter_failure_threshold: -1 }\n\
             tls: { cert_file: a.pem }\nuse_v2: true",
        );
        let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "endpoint",
                "path",
                "tls.cert_file",
                "check_collector_pipeline.exporter_failure_threshold",
                "check_collector_pipeline.interval",
                "use_v2",
            ]
        );
        assert!(found[3].1.contains("positive number, got -1"), "{found:?}");
        assert!(found[1].1.contains("`/health`"), "{found:?}");
    }

    #[test]
    fn response_headers_take_a_map_or_a_list() {
        let map = parse("response_headers: { X-Zone: eu, Cache-Control: no-store }");
        assert_eq!(
            map.response_headers.0,
            [
                ("Cache-Control".to_string(), "no-store".to_string()),
                ("X-Zone".to_string(), "eu".to_string()),
            ]
        );
        let list = parse(
            "response_headers: [{ name: X-Zone, value: eu }, { name: Cache-Control, value: no-store }]",
        );
        assert_eq!(list.response_headers.0.len(), 2);
        assert!(list.response_headers.parsed().is_ok());
        assert_eq!(
            problems("response_headers: { \"bad name\": x }"),
            [(
                "response_headers.bad name".to_string(),
                "`bad name` is not a valid HTTP header name".to_string()
            )]
        );
        let twice =
            problems("response_headers: [{ name: X-A, value: a }, { name: x-a, value: b }]");
        assert!(twice[0].1.contains("listed twice"), "{twice:?}");
        let framing = problems("response_headers: { Content-Length: \"0\" }");
        assert!(framing[0].1.contains("set by the server"), "{framing:?}");
    }

    #[test]
    fn refused_keys_say_why() {
        for (key, words) in [
            ("cors: { allowed_origins: [\"*\"] }", "protocols.http.cors"),
            ("auth: { authenticator: basicauth }", "tls.client_ca_file"),
            ("read_header_timeout: 10s", "no per-connection timeouts"),
            ("component_health: { include_permanent_errors: true }", "v2"),
            ("middlewares: []", "middleware"),
        ] {
            let error = serde_norway::from_str::<HealthCheckConfig>(key)
                .unwrap_err()
                .to_string();
            assert!(error.contains(words), "{key}: {error}");
        }
    }

    #[test]
    fn include_metadata_is_taken_with_a_warning() {
        assert!(parse("{}").warnings().is_empty());
        let warnings = parse("include_metadata: true").warnings();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].0, "include_metadata");
    }
}
