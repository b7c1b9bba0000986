//! The `webhookevent` receiver (otelcol-contrib's): webhooks (GitHub's, a CI system's, an alerting tool's) posted
//! to `path` become log records whose body is what was posted, for the `transform` processor to parse.
//!
//! ```yaml
//! receivers:
//!   webhookevent:
//!     endpoint: 0.0.0.0:8088
//!     path: /events
//!     required_header: { key: X-Webhook-Secret, value: "${env:WEBHOOK_SECRET}" }
//!     header_attribute_regex: "X-Github-.*"
//!     split_logs_at_json_boundary: true
//! ```
//!
//! A `POST` to `path` is one log record (the whole body), or one per line (`split_logs_at_newline`), or one per
//! JSON value (`split_logs_at_json_boundary`); each is stamped with the time it was observed. The request's query
//! parameters become the resource's attributes, and headers the records' (`header.<Name>`, a list of the
//! header's values, the name as Go writes it: `X-Github-Event`) when `convert_headers_to_attributes` or
//! `header_attribute_regex` asks. The scope is otelcol's, with `source` (the receiver's id) and `receiver`. A taken
//! request is answered `200`; a missing or wrong `required_header` `401`, an empty body `400`, a JSON body that
//! does not parse `400`, each with the reason as a JSON string, as otelcol answers; a full pipeline `429` or `503`
//! with `Retry-After`. `GET health_path` answers `200` while the receiver runs.

mod config;

pub use config::{RequiredHeader, WebhookEventConfig};

use super::RunningReceiver;
use super::http_server::{http_server_settings, serve_http};
use super::otlp::http::{Answer, Encoding, Failure, HttpState, read_any_body, submit, within};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Batch, Error, Signal};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use regex::Regex;
use std::sync::Arc;
use std::time::Duration;

/// The `webhookevent` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = WebhookEventConfig;
    const TYPE: &'static str = "webhookevent";

    fn validate(&self, config: &WebhookEventConfig) -> Result<(), Invalid> {
        config.validate()
    }

    fn warnings(&self, config: &WebhookEventConfig) -> Vec<(String, String)> {
        config.warnings()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    async fn start(
        &self,
        config: &WebhookEventConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let headers = if config.convert_headers_to_attributes {
            Some(Regex::new(".*").map_err(|e| context.start_error(e.to_string()))?)
        } else if config.header_attribute_regex.is_empty() {
            None
        } else {
            Some(
                Regex::new(&config.header_attribute_regex)
                    .map_err(|e| context.start_error(format!("header_attribute_regex: {e}")))?,
            )
        };
        let id = context.id.clone();
        let webhook = Webhook {
            id,
            timeout: config.read_timeout,
            required: config.required_header.clone(),
            split: if config.split_logs_at_newline {
                Split::Lines
            } else if config.split_logs_at_json_boundary {
                Split::JsonValues
            } else {
                Split::Whole
            },
            headers,
        };
        let (path, health) = (config.path.clone(), config.health_path.clone());
        serve_http(
            context,
            http_server_settings!(config),
            |http| WebhookState { http, webhook },
            |router| {
                router
                    .route(&path, post(event))
                    .route(&health, get(healthy))
            },
        )
        .await
    }
}

/// How a body becomes records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    Whole,
    Lines,
    JsonValues,
}

struct Webhook {
    id: String,
    timeout: Duration,
    required: Option<RequiredHeader>,
    split: Split,
    /// The headers made attributes, by name.
    headers: Option<Regex>,
}

struct WebhookState {
    http: HttpState,
    webhook: Webhook,
}

async fn healthy() -> Response {
    (
        StatusCode::OK,
        [(http::header::CONTENT_TYPE, "application/json")],
        r#"{"text": "Webhookevent receiver is healthy"}"#,
    )
        .into_response()
}

async fn event(
    State(state): State<Arc<WebhookState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match take(&state, query.as_deref(), &headers, body).await {
        Ok(()) => StatusCode::OK.into_response(),
        // otelcol answers with the reason as a JSON string.
        Err(failure) => failure.into_json_response(|message| serde_json::Value::from(message)),
    }
}

async fn take(
    state: &WebhookState,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Answer<()> {
    let webhook = &state.webhook;
    let bad = |message: String| Failure::bad_request(Encoding::Json, message);
    let caller = state.http.authenticate(headers)?;
    if let Some(required) = &webhook.required {
        let given = headers
            .get(required.key.as_str())
            .and_then(|v| v.to_str().ok());
        if given != Some(required.value.as_str()) {
            return Err(Failure::new(
                Encoding::Json,
                StatusCode::UNAUTHORIZED,
                tonic::Code::Unauthenticated,
                "request was missing required header or incorrect header value".into(),
            ));
        }
    }
    let resource = crate::percent::query_pairs(query.unwrap_or(""))
        .map_err(bad)?
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .fold(Vec::<KeyValue>::new(), |mut attributes, (key, value)| {
            // The first value of a repeated parameter, as Go's `Values.Get` reads it.
            if !attributes.iter().any(|kv| kv.key == key) {
                attributes.push(key_value(key, string_value(value)));
            }
            attributes
        });
    let body = within(
        webhook.timeout,
        read_any_body(&state.http, headers, body, Encoding::Json),
    )
    .await?;
    if body.is_empty() {
        return Err(bad("request body content length is zero".to_owned()));
    }
    let text = String::from_utf8_lossy(&body);
    let bodies = split(&text, webhook.split).map_err(bad)?;
    let attributes = header_attributes(headers, webhook);
    let now = crate::clock::now_nanos();
    let log_records = bodies
        .into_iter()
        .map(|body| LogRecord {
            observed_time_unix_nano: now,
            body: Some(string_value(body)),
            attributes: attributes.clone(),
            ..Default::default()
        })
        .collect();
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/webhookeventreceiver"
                        .to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    attributes: vec![
                        key_value("source", string_value(webhook.id.clone())),
                        key_value("receiver", string_value("webhookevent")),
                    ],
                    ..Default::default()
                }),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    submit(&state.http, Encoding::Json, Batch::new(request), caller).await
}

/// The records' bodies: the whole text, each line (as Go's `bufio.ScanLines` splits: a final `\r` dropped, no
/// empty record after a final newline), or the text of each JSON value.
fn split(text: &str, split: Split) -> Result<Vec<String>, String> {
    match split {
        Split::Whole => Ok(vec![text.to_owned()]),
        Split::Lines => Ok(text
            .strip_suffix('\n')
            .unwrap_or(text)
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned())
            .collect()),
        Split::JsonValues => {
            let mut values =
                serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
            let mut bodies = Vec::new();
            let mut start = 0;
            while let Some(value) = values.next() {
                value.map_err(|e| format!("the body is not a sequence of JSON values: {e}"))?;
                let end = values.byte_offset();
                bodies.push(text[start..end].trim().to_owned());
                start = end;
            }
            Ok(bodies)
        }
    }
}

/// A header name as Go's `net/http` writes it (`x-github-event` → `X-Github-Event`), which otelcol's attribute
/// keys and `header_attribute_regex` see.
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// `header.<Name>` = the list of the header's values, for each header the settings ask for; the required header
/// (a secret) never.
fn header_attributes(headers: &HeaderMap, webhook: &Webhook) -> Vec<KeyValue> {
    let Some(wanted) = &webhook.headers else {
        return Vec::new();
    };
    let secret = webhook
        .required
        .as_ref()
        .map(|h| h.key.to_ascii_lowercase());
    let mut attributes = Vec::new();
    for name in headers.keys() {
        if secret.as_deref() == Some(name.as_str()) {
            continue;
        }
        let name_text = canonical(name.as_str());
        if !wanted.is_match(&name_text) {
            continue;
        }
        let values = headers
            .get_all(name)
            .iter()
            .map(|value| string_value(String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        attributes.push(key_value(
            format!("header.{name_text}"),
            AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue { values })),
            },
        ));
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_split_by_line_or_json_value() {
        assert_eq!(
            split("a\r\nb\n\nc\n", Split::Lines).unwrap(),
            ["a", "b", "", "c"]
        );
        assert_eq!(split("a\nb", Split::Whole).unwrap(), ["a\nb"]);
        let values = split(
            "{\"a\":\n \"x\\ny\"}\n{\"b\": 1}{\"c\": [2]} 3",
            Split::JsonValues,
        )
        .unwrap();
        assert_eq!(
            values,
            ["{\"a\":\n \"x\\ny\"}", "{\"b\": 1}", "{\"c\": [2]}", "3"]
        );
        // A raw line break inside a string is not JSON, to Go's decoder either.
        assert!(split("{\"a\": \"x\ny\"}", Split::JsonValues).is_err());
        let broken = split("{\"a\": 1}{\"b\":", Split::JsonValues).unwrap_err();
        assert!(broken.contains("not a sequence of JSON values"), "{broken}");
    }

    #[test]
    fn header_names_are_written_as_go_writes_them() {
        assert_eq!(canonical("x-github-event"), "X-Github-Event");
        assert_eq!(canonical("content-type"), "Content-Type");
    }
}
