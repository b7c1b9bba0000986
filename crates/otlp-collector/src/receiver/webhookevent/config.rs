//! The `webhookevent` receiver's settings, with otelcol-contrib's keys (its own and `confighttp`'s server keys).

use crate::auth::AuthSettings;
use crate::component::Invalid;
use crate::de;
use crate::receiver::otlp::CorsSettings;
use crate::tls::ServerTlsSettings;
use serde::Deserialize;
use std::time::Duration;

/// The `webhookevent` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookEventConfig {
    /// `host:port` to listen on (required); port 0 picks a free one.
    pub endpoint: String,
    /// Where events are posted.
    pub path: String,
    /// Where a `GET` answers that the receiver runs.
    pub health_path: String,
    /// How long reading a request may take (10s at most, as otelcol allows).
    #[serde(deserialize_with = "de::duration")]
    pub read_timeout: Duration,
    /// How long writing the answer may take (10s at most); kept for otelcol's configs, the answers are short.
    #[serde(deserialize_with = "de::duration")]
    pub write_timeout: Duration,
    /// A header every request must carry, with this value (401 otherwise): a shared secret of the webhook.
    pub required_header: Option<RequiredHeader>,
    /// A log record per line of the body, instead of one for the whole body.
    pub split_logs_at_newline: bool,
    /// A log record per JSON value of the body (`{…}{…}`, `{…}\n{…}`, one across lines).
    pub split_logs_at_json_boundary: bool,
    /// Every header (but `required_header`) as an attribute `header.<Name>`.
    pub convert_headers_to_attributes: bool,
    /// The headers whose names match this regular expression as attributes `header.<Name>`.
    pub header_attribute_regex: String,
    /// Largest request body accepted, compressed or not, in bytes.
    pub max_request_body_size: usize,
    /// Keep each request's headers with its data, for the components that read a client's metadata, as the
    /// `otlp` receiver's `include_metadata`.
    pub include_metadata: bool,
    /// TLS (mutual with `client_ca_file`); plaintext without it.
    pub tls: Option<ServerTlsSettings>,
    /// The authenticator extension requests must satisfy (401 otherwise).
    pub auth: Option<AuthSettings>,
    /// Which web origins may send from a browser; none when absent.
    pub cors: Option<CorsSettings>,
}

/// `required_header`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequiredHeader {
    /// The header's name.
    pub key: String,
    /// The value it must have.
    pub value: String,
}

impl Default for WebhookEventConfig {
    fn default() -> Self {
        WebhookEventConfig {
            endpoint: String::new(),
            path: "/events".to_owned(),
            health_path: "/health_check".to_owned(),
            read_timeout: Duration::from_millis(500),
            write_timeout: Duration::from_millis(500),
            required_header: None,
            split_logs_at_newline: false,
            split_logs_at_json_boundary: false,
            convert_headers_to_attributes: false,
            header_attribute_regex: String::new(),
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            tls: None,
            auth: None,
            cors: None,
        }
    }
}

/// otelcol's ceiling on both timeouts.
const MOST: Duration = Duration::from_secs(10);

impl WebhookEventConfig {
    /// What otelcol takes but settles without saying.
    pub(super) fn warnings(&self) -> Vec<(String, String)> {
        if self.split_logs_at_newline && self.split_logs_at_json_boundary {
            return vec![(
                "split_logs_at_json_boundary".to_owned(),
                "ignored: split_logs_at_newline is set too and wins, as in otelcol".to_owned(),
            )];
        }
        Vec::new()
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.endpoint.is_empty() {
            problems.push(Invalid::at(
                "endpoint",
                "required: the host:port webhooks post to",
            ));
        }
        for (key, path) in [("path", &self.path), ("health_path", &self.health_path)] {
            if !path.starts_with('/') {
                problems.push(Invalid::at(
                    key,
                    format!("`{path}` is not a path: start it with `/`"),
                ));
            }
        }
        if self.path == self.health_path {
            problems.push(Invalid::at("health_path", "must differ from `path`"));
        }
        for (key, timeout) in [
            ("read_timeout", self.read_timeout),
            ("write_timeout", self.write_timeout),
        ] {
            if timeout.is_zero() || timeout > MOST {
                problems.push(Invalid::at(
                    key,
                    format!("{timeout:?} is not between 0 and the 10s otelcol allows"),
                ));
            }
        }
        if let Some(header) = &self.required_header
            && (header.key.is_empty() || header.value.is_empty())
        {
            problems.push(Invalid::at(
                "required_header",
                "both key and value are required",
            ));
        }
        if let Err(e) = regex::Regex::new(&self.header_attribute_regex) {
            problems.push(Invalid::at("header_attribute_regex", e.to_string()));
        }
        if let Some((key, message)) = self.tls.as_ref().and_then(ServerTlsSettings::problems) {
            problems.push(Invalid::at(format!("tls.{key}"), message));
        }
        Invalid::all(problems)
    }
}
