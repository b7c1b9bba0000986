//! Spans as HEC events, as otelcol's `mapSpanToSplunkEvent` writes them: the span as the event (ids in hex, times
//! in nanoseconds, kind and status code in pdata's names, attributes, events and links), the resource's
//! attributes as fields, the start as the event's time.

use super::Settings;
use super::event::{Encoded, HecEvent, raw};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};
use serde_json::{Map, Value, json};

/// The request's spans as events, each with the token it is sent with.
pub(super) fn events(request: &ExportTraceServiceRequest, settings: &Settings) -> Vec<Encoded> {
    let mut events = Vec::new();
    for resource_spans in &request.resource_spans {
        let (metadata, fields) = settings.resource(
            resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes),
        );
        for span in resource_spans
            .scope_spans
            .iter()
            .flat_map(|scope| &scope.spans)
        {
            let event = HecEvent::new(
                &metadata,
                super::event::seconds(span.start_time_unix_nano),
                hec_span(span),
                fields.clone(),
            );
            events.push((metadata.token.clone(), event.to_json()));
        }
    }
    events
}

fn attributes(attributes: &[KeyValue]) -> Map<String, Value> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), raw(kv.value.as_ref())))
        .collect()
}

/// pdata's names of span kinds (`SpanKind.String()`).
fn kind_name(kind: i32) -> &'static str {
    match SpanKind::try_from(kind) {
        Ok(SpanKind::Internal) => "Internal",
        Ok(SpanKind::Server) => "Server",
        Ok(SpanKind::Client) => "Client",
        Ok(SpanKind::Producer) => "Producer",
        Ok(SpanKind::Consumer) => "Consumer",
        Ok(SpanKind::Unspecified) | Err(_) => "Unspecified",
    }
}

fn hec_span(span: &Span) -> Value {
    let status = span.status.as_ref();
    let code = match status.and_then(|s| StatusCode::try_from(s.code).ok()) {
        Some(StatusCode::Ok) => "Ok",
        Some(StatusCode::Error) => "Error",
        Some(StatusCode::Unset) | None => "Unset",
    };
    let mut event = json!({
        "trace_id": hex::encode(&span.trace_id),
        "span_id": hex::encode(&span.span_id),
        "parent_span_id": hex::encode(&span.parent_span_id),
        "name": span.name,
        "end_time": span.end_time_unix_nano,
        "kind": kind_name(span.kind),
        "status": { "message": status.map(|s| s.message.as_str()).unwrap_or(""), "code": code },
        "start_time": span.start_time_unix_nano,
    });
    if !span.attributes.is_empty() {
        event["attributes"] = Value::Object(attributes(&span.attributes));
    }
    if !span.events.is_empty() {
        event["events"] = span
            .events
            .iter()
            .map(|e| {
                let mut out = json!({ "name": e.name, "timestamp": e.time_unix_nano });
                if !e.attributes.is_empty() {
                    out["attributes"] = Value::Object(attributes(&e.attributes));
                }
                out
            })
            .collect();
    }
    if !span.links.is_empty() {
        event["links"] = span
            .links
            .iter()
            .map(|l| {
                let mut out = json!({
                    "trace_id": hex::encode(&l.trace_id),
                    "span_id": hex::encode(&l.span_id),
                    "trace_state": l.trace_state,
                });
                if !l.attributes.is_empty() {
                    out["attributes"] = Value::Object(attributes(&l.attributes));
                }
                out
            })
            .collect();
    }
    event
}
