//! Zipkin v2 spans as OTLP, by otelcol-contrib's `zipkinv2` translator and the OpenTelemetry specification's
//! Zipkin mapping, read backwards: what an OpenTelemetry SDK's Zipkin exporter wrote comes back as it was.
//!
//! - The local endpoint's service name is the resource's `service.name`; tags that are resource attributes (an
//!   OpenTelemetry exporter writes the resource onto every span: `telemetry.sdk.*`, `host.*`, `k8s.*`, …) go back
//!   to the resource, and spans are grouped by resource, then by scope (`otel.scope.name`/`otel.library.name`,
//!   `otel.scope.version`/`otel.library.version`).
//! - `otel.status_code` and `otel.status_description` are the status; an `error` tag makes it an error whose
//!   message is the tag's value (Brave's convention and the specification's). `w3c.tracestate` is the trace state,
//!   `span.kind` the kind of a span Zipkin gives none, `otel.dropped_*_count` the dropped counts.
//! - The endpoints become `net.host.ip`, `net.host.port`, `peer.service`, `net.peer.ip` and `net.peer.port`, the
//!   attribute names otelcol's translator gives them.
//! - An annotation is an event: named by its value, or, written by an OpenTelemetry exporter as
//!   `{"<name>":{<attributes>}}` or by otelcol's `zipkin` exporter as `<name>|{<attributes>}|<dropped>`, with that
//!   name and those attributes. otelcol's exporter's `otlp.link.<n>` tags are the span's links again.
//! - A span without a timestamp starts at 0 and is marked `otel.zipkin.absentField.startTime`, as in otelcol.

use crate::receiver::spans::{Gathered, is_resource_key};
use crate::zipkin::{Endpoint, Kind, Span};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::trace::v1::{
    Span as OtlpSpan, Status, span::Event, span::Link, span::SpanKind, status::StatusCode,
};
use std::collections::BTreeMap;

/// The tags otelcol's `zipkin` exporter writes a span's links in, numbered from 0.
const LINK_TAG: &str = "otlp.link.";

/// Marks a span that Zipkin sent without a start.
const START_TIME_ABSENT: &str = "otel.zipkin.absentField.startTime";

/// The spans as one OTLP request.
pub(super) fn to_otlp(spans: Vec<Span>, parse_string_tags: bool) -> ExportTraceServiceRequest {
    let mut gathered = Gathered::default();
    for span in spans {
        let (resource, scope, span) = translate(span, parse_string_tags);
        let attributes = resource
            .into_iter()
            .map(|(key, value)| string(key, value))
            .collect();
        gathered.push(attributes, scope, span);
    }
    gathered.into_request()
}

/// A resource's attributes, all strings as Zipkin's tags are, sorted.
type ResourceTags = Vec<(String, String)>;

fn translate(
    span: Span,
    parse_string_tags: bool,
) -> (ResourceTags, InstrumentationScope, OtlpSpan) {
    let mut tags = span.tags;
    let mut resource: ResourceTags = Vec::new();
    let local_service = span
        .local_endpoint
        .as_ref()
        .map(|endpoint| endpoint.service_name.clone())
        .filter(|name| !name.is_empty());
    let tagged_service = tags.remove("service.name");
    if let Some(service) = local_service.or(tagged_service) {
        resource.push(("service.name".to_owned(), service));
    }
    let resource_keys: Vec<String> = tags
        .keys()
        .filter(|key| is_resource_key(key))
        .cloned()
        .collect();
    for key in resource_keys {
        if let Some(value) = tags.remove(&key) {
            resource.push((key, value));
        }
    }
    resource.sort();

    let scope_name = tags.remove("otel.scope.name");
    let library_name = tags.remove("otel.library.name");
    let scope_version = tags.remove("otel.scope.version");
    let library_version = tags.remove("otel.library.version");
    let scope = InstrumentationScope {
        name: scope_name.or(library_name).unwrap_or_default(),
        version: scope_version.or(library_version).unwrap_or_default(),
        ..Default::default()
    };

    let status = status(&mut tags);
    let trace_state = tags.remove("w3c.tracestate").unwrap_or_default();
    let kind = kind(span.kind, &mut tags);
    let dropped = |tags: &mut BTreeMap<String, String>, key: &str| {
        tags.remove(key)
            .and_then(|count| count.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let dropped_attributes_count = dropped(&mut tags, "otel.dropped_attributes_count");
    let dropped_events_count = dropped(&mut tags, "otel.dropped_events_count");
    let dropped_links_count = dropped(&mut tags, "otel.dropped_links_count");
    let links = links(&mut tags);

    let mut attributes: Vec<KeyValue> = tags
        .into_iter()
        .map(|(key, value)| {
            if parse_string_tags {
                typed(key, value)
            } else {
                string(key, value)
            }
        })
        .collect();
    if let Some(local) = &span.local_endpoint {
        endpoint_attributes(local, "net.host.ip", "net.host.port", None, &mut attributes);
    }
    if let Some(remote) = &span.remote_endpoint {
        endpoint_attributes(
            remote,
            "net.peer.ip",
            "net.peer.port",
            Some("peer.service"),
            &mut attributes,
        );
    }
    let (start, end) = match span.timestamp {
        Some(start) => (start, start.saturating_add(span.duration)),
        None => {
            attributes.push(KeyValue {
                key: START_TIME_ABSENT.to_owned(),
                value: Some(AnyValue {
                    value: Some(Value::BoolValue(true)),
                }),
                ..Default::default()
            });
            (0, span.duration)
        }
    };
    let otlp = OtlpSpan {
        trace_id: span.trace_id.to_vec(),
        span_id: span.id.to_vec(),
        trace_state,
        parent_span_id: span
            .parent_id
            .filter(|parent| *parent != span.id)
            .map(|parent| parent.to_vec())
            .unwrap_or_default(),
        name: span.name,
        kind: kind as i32,
        start_time_unix_nano: start.saturating_mul(1000),
        end_time_unix_nano: end.saturating_mul(1000),
        attributes,
        dropped_attributes_count,
        events: span
            .annotations
            .into_iter()
            .map(|(time, value)| event(time, value))
            .collect(),
        dropped_events_count,
        links,
        dropped_links_count,
        status: Some(status),
        ..Default::default()
    };
    (resource, scope, otlp)
}

fn status(tags: &mut BTreeMap<String, String>) -> Status {
    let mut status = Status::default();
    if let Some(code) = tags.remove("otel.status_code") {
        status.code = match code.to_ascii_uppercase().as_str() {
            // The specification's and the SDKs' names, otelcol's exporter's (`Ok`, `Error`) and pdata's.
            "OK" | "STATUS_CODE_OK" => StatusCode::Ok,
            "ERROR" | "STATUS_CODE_ERROR" => StatusCode::Error,
            _ => StatusCode::Unset,
        } as i32;
    }
    if let Some(description) = tags.remove("otel.status_description") {
        status.message = description;
    }
    if let Some(error) = tags.remove("error") {
        status.code = StatusCode::Error as i32;
        // Brave writes the message; OpenTelemetry's exporters the description, or nothing; old tracers `true`.
        if status.message.is_empty() && error != "true" {
            status.message = error;
        }
    }
    status
}

fn kind(kind: Kind, tags: &mut BTreeMap<String, String>) -> SpanKind {
    let tagged = tags.remove("span.kind");
    match kind {
        Kind::Client => SpanKind::Client,
        Kind::Server => SpanKind::Server,
        Kind::Producer => SpanKind::Producer,
        Kind::Consumer => SpanKind::Consumer,
        Kind::Unspecified => match tagged.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("internal") => SpanKind::Internal,
            Some("client") => SpanKind::Client,
            Some("server") => SpanKind::Server,
            Some("producer") => SpanKind::Producer,
            Some("consumer") => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        },
    }
}

fn endpoint_attributes(
    endpoint: &Endpoint,
    ip_key: &str,
    port_key: &str,
    service_key: Option<&str>,
    attributes: &mut Vec<KeyValue>,
) {
    if let Some(key) = service_key
        && !endpoint.service_name.is_empty()
    {
        attributes.push(string(key.to_owned(), endpoint.service_name.clone()));
    }
    let ip = endpoint
        .ipv6
        .map(|ip| ip.to_string())
        .or_else(|| endpoint.ipv4.map(|ip| ip.to_string()));
    if let Some(ip) = ip {
        attributes.push(string(ip_key.to_owned(), ip));
    }
    if endpoint.port > 0 {
        attributes.push(KeyValue {
            key: port_key.to_owned(),
            value: Some(AnyValue {
                value: Some(Value::IntValue(i64::from(endpoint.port))),
            }),
            ..Default::default()
        });
    }
}

/// An annotation as an event; `{"<name>":{<attributes>}}` is an OpenTelemetry exporter's event with attributes,
/// `<name>|{<attributes>}|<dropped attributes>` otelcol's `zipkin` exporter's (and ours).
fn event(time_micros: u64, value: String) -> Event {
    let mut event = Event {
        time_unix_nano: time_micros.saturating_mul(1000),
        ..Default::default()
    };
    if let Some((rest, dropped)) = value.rsplit_once('|')
        && let Ok(dropped) = dropped.parse::<u32>()
        && let Some((name, attributes)) = rest.split_once("|{")
        && let Ok(serde_json::Value::Object(attributes)) =
            serde_json::from_str(&format!("{{{attributes}"))
    {
        event.name = name.to_owned();
        event.attributes = json_attributes(attributes);
        event.dropped_attributes_count = dropped;
        return event;
    }
    if value.starts_with('{')
        && let Ok(serde_json::Value::Object(outer)) = serde_json::from_str(&value)
        && outer.len() == 1
        && let Some((name, serde_json::Value::Object(attributes))) = outer.into_iter().next()
    {
        event.name = name;
        event.attributes = json_attributes(attributes);
        return event;
    }
    event.name = value;
    event
}

/// The links otelcol's `zipkin` exporter (and ours) wrote as `otlp.link.<n>` tags, `trace id|span id|trace
/// state|{attributes}|dropped attributes`, in order, taken out of the tags; a tag that does not read so stays one.
fn links(tags: &mut BTreeMap<String, String>) -> Vec<Link> {
    let mut numbered: Vec<(usize, Link)> = Vec::new();
    let keys: Vec<String> = tags
        .keys()
        .filter(|key| key.starts_with(LINK_TAG))
        .cloned()
        .collect();
    for key in keys {
        let Ok(index) = key[LINK_TAG.len()..].parse::<usize>() else {
            continue;
        };
        if let Some(link) = tags.get(&key).and_then(|value| link(value)) {
            tags.remove(&key);
            numbered.push((index, link));
        }
    }
    numbered.sort_by_key(|(index, _)| *index);
    numbered.into_iter().map(|(_, link)| link).collect()
}

fn link(value: &str) -> Option<Link> {
    let (trace_id, rest) = value.split_once('|')?;
    let (span_id, rest) = rest.split_once('|')?;
    let (trace_state, rest) = rest.split_once('|')?;
    let (attributes, dropped) = rest.rsplit_once('|')?;
    let trace_id = hex::decode(trace_id).ok().filter(|id| id.len() == 16)?;
    let span_id = hex::decode(span_id).ok().filter(|id| id.len() == 8)?;
    let serde_json::Value::Object(attributes) = serde_json::from_str(attributes).ok()? else {
        return None;
    };
    Some(Link {
        trace_id,
        span_id,
        trace_state: trace_state.to_owned(),
        attributes: json_attributes(attributes),
        dropped_attributes_count: dropped.parse().ok()?,
        ..Default::default()
    })
}

fn json_attributes(attributes: serde_json::Map<String, serde_json::Value>) -> Vec<KeyValue> {
    attributes
        .into_iter()
        .map(|(key, value)| KeyValue {
            key,
            value: Some(AnyValue {
                value: Some(json_value(value)),
            }),
            ..Default::default()
        })
        .collect()
}

fn json_value(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::String(text) => Value::StringValue(text),
        serde_json::Value::Bool(b) => Value::BoolValue(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::IntValue(i),
            None => Value::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        },
        other => Value::StringValue(other.to_string()),
    }
}

fn string(key: String, value: String) -> KeyValue {
    KeyValue {
        key,
        value: Some(AnyValue {
            value: Some(Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

/// A tag as an integer, float or boolean attribute when it reads as one (`parse_string_tags`), as otelcol decides.
fn typed(key: String, value: String) -> KeyValue {
    let typed = if let Ok(i) = value.parse::<i64>() {
        Value::IntValue(i)
    } else if let Ok(f) = value.parse::<f64>() {
        Value::DoubleValue(f)
    } else {
        match value.as_str() {
            "true" | "True" | "TRUE" | "t" | "T" => Value::BoolValue(true),
            "false" | "False" | "FALSE" | "f" | "F" => Value::BoolValue(false),
            _ => Value::StringValue(value),
        }
    };
    KeyValue {
        key,
        value: Some(AnyValue { value: Some(typed) }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
