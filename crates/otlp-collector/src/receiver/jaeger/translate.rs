//! Jaeger spans as OTLP, by otelcol-contrib's `jaeger` translator: the process is the resource (`service.name`
//! and its tags, with the resource attributes OpenTelemetry's Jaeger exporters copy onto every span, as the
//! `zipkin` receiver takes them back), the tags that OpenTelemetry's Jaeger exporters and Jaeger's own conventions use for OTLP's
//! fields become those fields, and the rest attributes of their Jaeger type.
//!
//! - `span.kind` is the kind; `otel.status_code`/`otel.status_description` the status, else an `error: true` tag
//!   an error, else an `http.status_code` outside 100–399 an error; `w3c.tracestate` the trace state;
//!   `otel.scope.name`/`otel.library.name` and their versions the scope.
//! - The parent is Thrift's `parentSpanId`, else the first `CHILD_OF` reference in the same trace; the other
//!   references are links.
//! - A log is an event named by its `event` field (else `message`), its other fields the event's attributes.

use super::model::{Batch, Log, Process, RefKind, Span, Tag, TagValue};
use crate::receiver::spans::{Gathered, is_resource_key};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::trace::v1::{
    Span as OtlpSpan, Status, span::Event, span::Link, span::SpanKind, status::StatusCode,
};

/// The batch as one OTLP request: a resource per process (with the resource attributes an OpenTelemetry exporter
/// copied onto its spans), a scope per instrumentation library, in arrival order.
pub(super) fn to_otlp(batch: Batch) -> ExportTraceServiceRequest {
    let mut gathered = Gathered::default();
    for mut span in batch.spans {
        let process = span.process.take().or_else(|| batch.process.clone());
        let mut resource = resource(process);
        let (copied, own): (Vec<Tag>, Vec<Tag>) = std::mem::take(&mut span.tags)
            .into_iter()
            .partition(|tag| is_resource_key(&tag.key));
        span.tags = own;
        for tag in copied {
            if !resource.iter().any(|kv| kv.key == tag.key) {
                resource.push(attribute(tag));
            }
        }
        let (scope, otlp) = translate(span);
        gathered.push(resource, scope, otlp);
    }
    gathered.into_request()
}

fn resource(process: Option<Process>) -> Vec<KeyValue> {
    let mut attributes = Vec::new();
    if let Some(process) = process {
        if !process.service_name.is_empty() {
            attributes.push(key_value(
                "service.name".to_owned(),
                Value::StringValue(process.service_name),
            ));
        }
        attributes.extend(process.tags.into_iter().map(attribute));
    }
    attributes
}

fn key_value(key: String, value: Value) -> KeyValue {
    KeyValue {
        key,
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn attribute(tag: Tag) -> KeyValue {
    let value = match tag.value {
        TagValue::Str(text) => Value::StringValue(text),
        TagValue::Double(double) => Value::DoubleValue(double),
        TagValue::Bool(boolean) => Value::BoolValue(boolean),
        TagValue::Long(long) => Value::IntValue(long),
        TagValue::Binary(bytes) => Value::BytesValue(bytes),
    };
    key_value(tag.key, value)
}

/// Takes the tag `key` out of `tags`.
fn take(tags: &mut Vec<Tag>, key: &str) -> Option<TagValue> {
    let at = tags.iter().position(|tag| tag.key == key)?;
    Some(tags.remove(at).value)
}

fn text(value: Option<TagValue>) -> Option<String> {
    match value? {
        TagValue::Str(text) => Some(text),
        TagValue::Bool(b) => Some(b.to_string()),
        TagValue::Long(l) => Some(l.to_string()),
        TagValue::Double(d) => Some(d.to_string()),
        TagValue::Binary(_) => None,
    }
}

fn translate(span: Span) -> (InstrumentationScope, OtlpSpan) {
    let mut tags = span.tags;
    let scope_name = text(take(&mut tags, "otel.scope.name"));
    let library_name = text(take(&mut tags, "otel.library.name"));
    let scope_version = text(take(&mut tags, "otel.scope.version"));
    let library_version = text(take(&mut tags, "otel.library.version"));
    let scope = InstrumentationScope {
        name: scope_name.or(library_name).unwrap_or_default(),
        version: scope_version.or(library_version).unwrap_or_default(),
        ..Default::default()
    };
    let kind = match text(take(&mut tags, "span.kind")).as_deref() {
        Some("client") => SpanKind::Client,
        Some("server") => SpanKind::Server,
        Some("producer") => SpanKind::Producer,
        Some("consumer") => SpanKind::Consumer,
        Some("internal") => SpanKind::Internal,
        _ => SpanKind::Unspecified,
    };
    let status = status(&mut tags);
    let trace_state = text(take(&mut tags, "w3c.tracestate")).unwrap_or_default();

    let parent = span.parent_span_id.or_else(|| {
        span.references
            .iter()
            .find(|r| r.kind == RefKind::ChildOf && r.trace_id == span.trace_id)
            .map(|r| r.span_id)
    });
    let links = span
        .references
        .iter()
        .filter(|r| !(r.trace_id == span.trace_id && Some(r.span_id) == parent))
        .map(|r| Link {
            trace_id: r.trace_id.to_vec(),
            span_id: r.span_id.to_vec(),
            ..Default::default()
        })
        .collect();
    let otlp = OtlpSpan {
        trace_id: span.trace_id.to_vec(),
        span_id: span.span_id.to_vec(),
        trace_state,
        parent_span_id: parent
            .filter(|parent| *parent != [0; 8])
            .map(|parent| parent.to_vec())
            .unwrap_or_default(),
        name: span.operation_name,
        kind: kind as i32,
        start_time_unix_nano: span.start_unix_nano,
        end_time_unix_nano: span.start_unix_nano.saturating_add(span.duration_nano),
        attributes: tags.into_iter().map(attribute).collect(),
        events: span.logs.into_iter().map(event).collect(),
        links,
        status: Some(status),
        ..Default::default()
    };
    (scope, otlp)
}

fn status(tags: &mut Vec<Tag>) -> Status {
    let code = text(take(tags, "otel.status_code"));
    let description = text(take(tags, "otel.status_description")).unwrap_or_default();
    let error = take(tags, "error");
    let code = match code.as_deref() {
        Some("OK") => StatusCode::Ok,
        Some("ERROR") => StatusCode::Error,
        _ if matches!(&error, Some(TagValue::Bool(true)))
            || matches!(&error, Some(TagValue::Str(e)) if e == "true") =>
        {
            StatusCode::Error
        }
        _ => match tags
            .iter()
            .find(|t| t.key == "http.status_code")
            .map(|t| &t.value)
        {
            Some(TagValue::Long(code)) if !(100..400).contains(code) => StatusCode::Error,
            Some(TagValue::Str(code))
                if code
                    .parse::<i64>()
                    .is_ok_and(|code| !(100..400).contains(&code)) =>
            {
                StatusCode::Error
            }
            _ => StatusCode::Unset,
        },
    };
    Status {
        code: code as i32,
        message: if code == StatusCode::Error {
            description
        } else {
            String::new()
        },
    }
}

fn event(log: Log) -> Event {
    let mut fields = log.fields;
    // OpenTracing's `event` names it; OpenTelemetry Python's Jaeger exporters write the name as `message`.
    let name = text(take(&mut fields, "event"))
        .or_else(|| text(take(&mut fields, "message")))
        .unwrap_or_default();
    Event {
        time_unix_nano: log.time_unix_nano,
        name,
        attributes: fields.into_iter().map(attribute).collect(),
        ..Default::default()
    }
}
