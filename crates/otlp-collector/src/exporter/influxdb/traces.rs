//! Spans as otel2influx writes them: measurement `spans`, tagged `trace_id`, `span_id` and the configured
//! `span_dimensions` (looked up among `span.name`, `span.kind`, the span's attributes and its resource's); the
//! rest as fields: the resource's attributes, `otel.library.name`/`version`, `span.name`, `span.kind`,
//! `parent_span_id`, `trace_state`, `end_time_unix_nano`, `duration_nano`, `otel.status_code`,
//! `otel.status_description`, the span's other attributes as one JSON object in `attributes`, and the dropped
//! counts; at the span's start. Each event is a line of measurement `logs` (tags `trace_id`, `span_id`; fields
//! `event.name`, `attributes`) at its time, each link a line of `span-links` (tags `linked_trace_id`,
//! `linked_span_id` too; fields `trace_state`, `attributes`). A span without ids or a start is refused.

use super::line::{Field, Line, hex, text};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, KeyValueList, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};

/// The lines of `request`, and how many spans could not be written.
pub(super) fn lines(
    request: &ExportTraceServiceRequest,
    dimensions: &[String],
) -> (Vec<Line>, usize) {
    let mut lines = Vec::new();
    let mut refused = 0;
    for resource_spans in &request.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map_or(&[][..], |r| &r.attributes);
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                let (Ok(trace_id), Ok(span_id)) = (id(&span.trace_id, 16), id(&span.span_id, 8))
                else {
                    refused += 1;
                    continue;
                };
                if span.start_time_unix_nano == 0 {
                    refused += 1;
                    continue;
                }
                let mut line = Line::new("spans", span.start_time_unix_nano);
                line.tag("trace_id", trace_id.clone());
                line.tag("span_id", span_id.clone());
                let own = own_fields(span);
                let mut attributes = Vec::new();
                for kv in &span.attributes {
                    if dimensions.contains(&kv.key) {
                        line.tag(&kv.key, text(kv.value.as_ref()));
                    } else {
                        attributes.push(kv.clone());
                    }
                }
                for (key, value) in &own {
                    if dimensions.iter().any(|d| d == key) {
                        if let Some(Field::Str(value)) = value {
                            line.tag(key, value.clone());
                        }
                    } else {
                        line.field(key, value.clone());
                    }
                }
                for kv in resource {
                    if dimensions.contains(&kv.key) {
                        line.tag(&kv.key, text(kv.value.as_ref()));
                    } else {
                        line.field(&kv.key, Field::from_any(kv.value.as_ref()));
                    }
                }
                if let Some(scope) = &scope_spans.scope {
                    line.field("otel.library.name", non_empty(&scope.name));
                    line.field("otel.library.version", non_empty(&scope.version));
                }
                line.field("attributes", json(attributes));
                line.field(
                    "dropped_attributes_count",
                    positive(span.dropped_attributes_count),
                );
                line.field("dropped_events_count", positive(span.dropped_events_count));
                line.field("dropped_links_count", positive(span.dropped_links_count));
                lines.push(line);
                for event in &span.events {
                    let mut line = Line::new("logs", event.time_unix_nano);
                    line.tag("trace_id", trace_id.clone());
                    line.tag("span_id", span_id.clone());
                    line.field("event.name", non_empty(&event.name));
                    line.field("attributes", json(event.attributes.clone()));
                    line.field(
                        "dropped_attributes_count",
                        positive(event.dropped_attributes_count),
                    );
                    lines.push(line);
                }
                for link in &span.links {
                    let (Ok(linked_trace), Ok(linked_span)) =
                        (id(&link.trace_id, 16), id(&link.span_id, 8))
                    else {
                        continue;
                    };
                    let mut line = Line::new("span-links", span.start_time_unix_nano);
                    line.tag("trace_id", trace_id.clone());
                    line.tag("span_id", span_id.clone());
                    line.tag("linked_trace_id", linked_trace);
                    line.tag("linked_span_id", linked_span);
                    line.field("trace_state", non_empty(&link.trace_state));
                    line.field("attributes", json(link.attributes.clone()));
                    line.field(
                        "dropped_attributes_count",
                        positive(link.dropped_attributes_count),
                    );
                    lines.push(line);
                }
            }
        }
    }
    (lines, refused)
}

/// The span's own fields, any of which may be a dimension.
fn own_fields(span: &Span) -> Vec<(&'static str, Option<Field>)> {
    let kind = match SpanKind::try_from(span.kind) {
        Ok(SpanKind::Unspecified) | Err(_) => None,
        // pdata's names, which otel2influx writes (`SpanKind.String()`).
        Ok(SpanKind::Internal) => Some(Field::Str("Internal".to_owned())),
        Ok(SpanKind::Server) => Some(Field::Str("Server".to_owned())),
        Ok(SpanKind::Client) => Some(Field::Str("Client".to_owned())),
        Ok(SpanKind::Producer) => Some(Field::Str("Producer".to_owned())),
        Ok(SpanKind::Consumer) => Some(Field::Str("Consumer".to_owned())),
    };
    let status = span.status.as_ref();
    let code = match status.map(|s| StatusCode::try_from(s.code)) {
        Some(Ok(StatusCode::Ok)) => Some(Field::Str("Ok".to_owned())),
        Some(Ok(StatusCode::Error)) => Some(Field::Str("Error".to_owned())),
        _ => None,
    };
    let end = span.end_time_unix_nano;
    vec![
        ("span.name", non_empty(&span.name)),
        ("span.kind", kind),
        (
            "parent_span_id",
            id(&span.parent_span_id, 8).ok().map(Field::Str),
        ),
        ("trace_state", non_empty(&span.trace_state)),
        ("end_time_unix_nano", (end != 0).then(|| Field::count(end))),
        (
            "duration_nano",
            (end != 0).then(|| Field::Int(end as i64 - span.start_time_unix_nano as i64)),
        ),
        ("otel.status_code", code),
        (
            "otel.status_description",
            status.and_then(|s| non_empty(&s.message)),
        ),
    ]
}

/// An id as hex, if it has its length and is not all zeros.
fn id(bytes: &[u8], length: usize) -> Result<String, ()> {
    if bytes.len() == length && bytes.iter().any(|b| *b != 0) {
        Ok(hex(bytes))
    } else {
        Err(())
    }
}

fn non_empty(text: &str) -> Option<Field> {
    (!text.is_empty()).then(|| Field::Str(text.to_owned()))
}

fn positive(count: u32) -> Option<Field> {
    (count > 0).then(|| Field::Int(i64::from(count)))
}

/// Attributes as one JSON object (keys sorted), as otel2influx stores them; none when there are none.
pub(super) fn json(attributes: Vec<KeyValue>) -> Option<Field> {
    if attributes.is_empty() {
        return None;
    }
    let object = AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList {
            values: attributes,
        })),
    };
    Some(Field::Str(text(Some(&object))))
}

#[cfg(test)]
mod tests;
