//! Datadog spans as OTLP, as otelcol-contrib's datadog receiver translates them:
//!
//! - A resource per service (`service.name`), with `telemetry.sdk.name` `Datadog`, the tracer's language and
//!   version (`telemetry.sdk.language`, `telemetry.sdk.version` as `Datadog-<version>`), the runtime's version and
//!   the container from the request's `Datadog-Meta-*` headers. Unlike otelcol, a span's unified service tags and
//!   container, cloud and Kubernetes tags (`env`, `version`, `kube_namespace`, …) and its `process_id` go to its
//!   resource too (`deployment.environment`, `service.version`, …), where OpenTelemetry keeps them, instead of
//!   onto the span.
//! - The scope is `Datadog` at the tracer's version.
//! - The span's name is the operation (`web.request`); the resource (`GET /cart`) is `dd.span.Resource`, the ids
//!   in decimal `datadog.span.id` and `datadog.trace.id`, the sampling priority `sampling.priority` (`1.000000`).
//!   The upper half of a 128-bit trace id comes from `_dd.p.tid`, which tracers put on the first span of a trace
//!   they flush; later spans of the trace take it from the [`TraceIdHighs`] of the receiver.
//! - `meta` are string attributes and `metrics` double ones, the error tags as `exception.*`; `span.kind` (else
//!   the span type: `web` is a server, `http` a client) is the kind; `error` makes the status an error, with the
//!   error message as its message.
//! - Links (`span_links`, or `_dd.span_links` in `meta`) and events (`events` in `meta`, JSON) become OTLP links
//!   and events; the tags are then left out of the attributes. Tags that cannot be read as links or events stay
//!   as they came.

use super::payload::{DdLink, DdSpan};
use super::tags;
use crate::receiver::spans::Gathered;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, status::StatusCode};
use otlp_ottl::{key_value, string_value};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// The tracer that sent a payload, from its `Datadog-Meta-*` headers.
#[derive(Debug, Default)]
pub(super) struct Tracer {
    pub(super) language: Option<String>,
    pub(super) language_version: Option<String>,
    pub(super) version: Option<String>,
    pub(super) container_id: Option<String>,
}

/// The upper halves of the most recent traces' 128-bit ids, by their lower half.
pub(super) struct TraceIdHighs {
    capacity: usize,
    known: Mutex<(HashMap<u64, u64>, VecDeque<u64>)>,
}

impl TraceIdHighs {
    pub(super) fn new(capacity: usize) -> Self {
        TraceIdHighs {
            capacity,
            known: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// The upper half of each span's trace id: from `_dd.p.tid` on a span of the payload, else remembered.
    fn of(&self, traces: &[Vec<DdSpan>]) -> HashMap<u64, u64> {
        let mut found = HashMap::new();
        for span in traces.iter().flatten() {
            if let Some(high) = span
                .meta
                .iter()
                .find(|(key, _)| key == "_dd.p.tid")
                .and_then(|(_, hex)| u64::from_str_radix(hex, 16).ok())
            {
                found.insert(span.trace_id, high);
            }
        }
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let (highs, order) = &mut *known;
        for (&low, &high) in &found {
            if self.capacity > 0 && highs.insert(low, high).is_none() {
                order.push_back(low);
                if order.len() > self.capacity
                    && let Some(oldest) = order.pop_front()
                {
                    highs.remove(&oldest);
                }
            }
        }
        for span in traces.iter().flatten() {
            if !found.contains_key(&span.trace_id)
                && let Some(&high) = highs.get(&span.trace_id)
            {
                found.insert(span.trace_id, high);
            }
        }
        found
    }
}

/// The payload's spans as one request.
pub(super) fn to_otlp(
    traces: Vec<Vec<DdSpan>>,
    tracer: &Tracer,
    highs: &TraceIdHighs,
) -> ExportTraceServiceRequest {
    let high_halves = highs.of(&traces);
    let scope = InstrumentationScope {
        name: "Datadog".to_owned(),
        version: tracer.version.clone().unwrap_or_default(),
        ..Default::default()
    };
    let mut gathered = Gathered::default();
    for span in traces.into_iter().flatten() {
        let high = high_halves.get(&span.trace_id).copied().unwrap_or(0);
        let (resource, span) = translate(span, high, tracer);
        gathered.push(resource, scope.clone(), span);
    }
    gathered.into_request()
}

fn int_value(value: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(value)),
    }
}

fn double_value(value: f64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::DoubleValue(value)),
    }
}

/// Sets `key` to `value`, replacing a value set before.
fn put(attributes: &mut Vec<KeyValue>, key: &str, value: AnyValue) {
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = Some(value),
        None => attributes.push(key_value(key, value)),
    }
}

/// The span's resource attributes (sorted, so that spans of one resource compare equal) and the span.
fn translate(dd: DdSpan, high: u64, tracer: &Tracer) -> (Vec<KeyValue>, Span) {
    let mut resource = vec![key_value("telemetry.sdk.name", string_value("Datadog"))];
    if !dd.service.is_empty() {
        resource.push(key_value("service.name", string_value(dd.service)));
    }
    if let Some(language) = &tracer.language {
        let language = if language == ".NET" {
            "dotnet"
        } else {
            language
        };
        resource.push(key_value("telemetry.sdk.language", string_value(language)));
    }
    if let Some(version) = &tracer.version {
        resource.push(key_value(
            "telemetry.sdk.version",
            string_value(format!("Datadog-{version}")),
        ));
    }
    if let Some(version) = &tracer.language_version {
        resource.push(key_value("process.runtime.version", string_value(version)));
    }
    if let Some(container) = &tracer.container_id {
        resource.push(key_value("container.id", string_value(container)));
    }

    let mut attributes = vec![key_value("dd.span.Resource", string_value(dd.resource))];
    if let Some((_, priority)) = dd
        .metrics
        .iter()
        .find(|(key, _)| key == "_sampling_priority_v1")
    {
        attributes.push(key_value(
            "sampling.priority",
            string_value(format!("{priority:.6}")),
        ));
    }
    attributes.push(key_value(
        "datadog.span.id",
        string_value(dd.span_id.to_string()),
    ));
    attributes.push(key_value(
        "datadog.trace.id",
        string_value(dd.trace_id.to_string()),
    ));

    let mut kind_tag = None;
    let mut message = None;
    let mut events = Vec::new();
    let mut links: Vec<Link> = dd.links.into_iter().map(link).collect();
    for (key, value) in dd.meta {
        if let Some(name) = tags::resource_attribute(&key) {
            put(&mut resource, name, string_value(value));
            continue;
        }
        match key.as_str() {
            "span.kind" => kind_tag = Some(value.clone()),
            "error.message" | "error.msg" => message = Some(value.clone()),
            "events" => {
                if let Some(read) = json_events(&value) {
                    events = read;
                    continue;
                }
            }
            "_dd.span_links" => {
                if let Some(read) = json_links(&value) {
                    links.extend(read);
                    continue;
                }
            }
            _ => {}
        }
        put(&mut attributes, tags::attribute(&key), string_value(value));
    }
    for (key, value) in dd.metrics {
        if tags::resource_attribute(&key) == Some("process.pid") && value.fract() == 0.0 {
            put(&mut resource, "process.pid", int_value(value as i64));
        } else {
            put(&mut attributes, tags::attribute(&key), double_value(value));
        }
    }
    resource.sort_by(|a, b| a.key.cmp(&b.key));

    let kind = match kind_tag.as_deref() {
        Some("server") => SpanKind::Server,
        Some("client") => SpanKind::Client,
        Some("producer") => SpanKind::Producer,
        Some("consumer") => SpanKind::Consumer,
        Some("internal") => SpanKind::Internal,
        _ => match dd.kind.as_str() {
            "web" => SpanKind::Server,
            "http" => SpanKind::Client,
            _ => SpanKind::Unspecified,
        },
    };
    let status = dd.error.then(|| Status {
        code: StatusCode::Error as i32,
        message: message.unwrap_or_default(),
    });
    let start = u64::try_from(dd.start).unwrap_or(0);
    let span = Span {
        trace_id: [high.to_be_bytes(), dd.trace_id.to_be_bytes()].concat(),
        span_id: dd.span_id.to_be_bytes().to_vec(),
        parent_span_id: if dd.parent_id == 0 {
            Vec::new()
        } else {
            dd.parent_id.to_be_bytes().to_vec()
        },
        name: dd.name,
        kind: kind as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start.saturating_add(u64::try_from(dd.duration).unwrap_or(0)),
        attributes,
        events,
        links,
        status,
        ..Default::default()
    };
    (resource, span)
}

/// W3C trace flags; bit 31 of a Datadog link's flags only says that they were set.
fn trace_flags(flags: u32) -> u32 {
    flags & 0xff
}

fn link(dd: DdLink) -> Link {
    Link {
        trace_id: [dd.trace_id_high.to_be_bytes(), dd.trace_id.to_be_bytes()].concat(),
        span_id: dd.span_id.to_be_bytes().to_vec(),
        trace_state: dd.tracestate,
        attributes: dd
            .attributes
            .into_iter()
            .map(|(key, value)| key_value(key, string_value(value)))
            .collect(),
        flags: trace_flags(dd.flags),
        ..Default::default()
    }
}

/// A JSON value as an attribute value, whole numbers as integers (otelcol's JSON decoding makes every number a
/// double; the tracer wrote an integer).
fn any_value(json: serde_json::Value) -> AnyValue {
    let value = match json {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(b) => Some(any_value::Value::BoolValue(b)),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Some(any_value::Value::IntValue(i)),
            None => n.as_f64().map(any_value::Value::DoubleValue),
        },
        serde_json::Value::String(s) => Some(any_value::Value::StringValue(s)),
        serde_json::Value::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: items.into_iter().map(any_value).collect(),
        })),
        serde_json::Value::Object(entries) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: entries
                .into_iter()
                .map(|(k, v)| key_value(k, any_value(v)))
                .collect(),
        })),
    };
    AnyValue { value }
}

fn json_attributes(json: Option<serde_json::Value>) -> Vec<KeyValue> {
    match json {
        Some(serde_json::Value::Object(entries)) => entries
            .into_iter()
            .map(|(k, v)| key_value(k, any_value(v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// `events`: `[{"name", "time_unix_nano", "attributes"}]`.
fn json_events(text: &str) -> Option<Vec<Event>> {
    #[derive(serde::Deserialize)]
    struct JsonEvent {
        name: String,
        #[serde(default)]
        time_unix_nano: u64,
        #[serde(default)]
        attributes: Option<serde_json::Value>,
    }
    let events: Vec<JsonEvent> = serde_json::from_str(text).ok()?;
    Some(
        events
            .into_iter()
            .map(|event| Event {
                time_unix_nano: event.time_unix_nano,
                name: event.name,
                attributes: json_attributes(event.attributes),
                ..Default::default()
            })
            .collect(),
    )
}

/// `_dd.span_links`: `[{"trace_id": <32 hex>, "span_id": <16 hex>, "attributes", "tracestate", "flags"}]`.
fn json_links(text: &str) -> Option<Vec<Link>> {
    #[derive(serde::Deserialize)]
    struct JsonLink {
        trace_id: String,
        span_id: String,
        #[serde(default)]
        attributes: Option<serde_json::Value>,
        #[serde(default)]
        tracestate: String,
        #[serde(default)]
        flags: u32,
    }
    let links: Vec<JsonLink> = serde_json::from_str(text).ok()?;
    links
        .into_iter()
        .map(|link| {
            Some(Link {
                trace_id: u128::from_str_radix(&link.trace_id, 16)
                    .ok()?
                    .to_be_bytes()
                    .to_vec(),
                span_id: u64::from_str_radix(&link.span_id, 16)
                    .ok()?
                    .to_be_bytes()
                    .to_vec(),
                trace_state: link.tracestate,
                attributes: json_attributes(link.attributes),
                flags: trace_flags(link.flags),
                ..Default::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
