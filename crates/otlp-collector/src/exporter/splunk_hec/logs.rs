//! Log records as HEC events, as otelcol's `mapLogRecordToSplunkEvent` writes them: the body as the event (a
//! string, or a map as a JSON object), the resource's and the record's attributes as fields (maps flattened into
//! dotted keys), the trace context as `trace_id` and `span_id`, the severity in the fields `otel_to_hec_fields`
//! names; `host`, `source`, `sourcetype` and `index` from the attributes `otel_attrs_to_hec_metadata` names. A
//! record without a time is stamped with its observed time.

use super::Settings;
use super::event::{Encoded, HecEvent, Metadata, raw};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde_json::{Map, Value};

/// Each record of `request` with its resource's metadata and fields, encoded by `encode`; a record it gives
/// nothing for (no body, which HEC refuses) is counted.
fn encoded(
    request: &ExportLogsServiceRequest,
    settings: &Settings,
    mut encode: impl FnMut(&Metadata, &Map<String, Value>, &LogRecord) -> Option<Encoded>,
) -> (Vec<Encoded>, usize) {
    let mut encoded = Vec::new();
    let mut refused = 0;
    for resource_logs in &request.resource_logs {
        let (metadata, fields) = settings.resource(
            resource_logs
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes),
        );
        for record in resource_logs
            .scope_logs
            .iter()
            .flat_map(|scope| &scope.log_records)
        {
            match encode(&metadata, &fields, record) {
                Some(event) => encoded.push(event),
                None => refused += 1,
            }
        }
    }
    (encoded, refused)
}

/// The request's records as events, each with the token it is sent with, and how many records have no body
/// (HEC refuses an event without one).
pub(super) fn events(
    request: &ExportLogsServiceRequest,
    settings: &Settings,
) -> (Vec<Encoded>, usize) {
    encoded(request, settings, |metadata, fields, record| {
        let body = raw(record.body.as_ref());
        if body.is_null() || body.as_str() == Some("") {
            return None;
        }
        let mut metadata = metadata.clone();
        let mut fields = fields.clone();
        if !record.span_id.is_empty() {
            fields.insert(
                "span_id".to_owned(),
                Value::String(hex::encode(&record.span_id)),
            );
        }
        if !record.trace_id.is_empty() {
            fields.insert(
                "trace_id".to_owned(),
                Value::String(hex::encode(&record.trace_id)),
            );
        }
        if !record.severity_text.is_empty() {
            fields.insert(
                settings.severity.severity_text.clone(),
                Value::String(record.severity_text.clone()),
            );
        }
        if record.severity_number != 0 {
            fields.insert(
                settings.severity.severity_number.clone(),
                Value::from(record.severity_number),
            );
        }
        for attribute in &record.attributes {
            settings.keys().sort(attribute, &mut metadata, &mut fields);
        }
        let event = HecEvent::new(
            &metadata,
            // The data model's rule for a record without its time (otelcol leaves `time` out, and HEC then
            // stamps the event when it indexes it, which can be much later).
            super::event::seconds(if record.time_unix_nano == 0 {
                record.observed_time_unix_nano
            } else {
                record.time_unix_nano
            }),
            body,
            fields,
        );
        Some((metadata.token.clone(), event.to_json()))
    })
}

/// `export_raw`: each record's body as text on a line of its own, for HEC's raw endpoint; records without a body
/// are counted.
pub(super) fn raw_lines(
    request: &ExportLogsServiceRequest,
    settings: &Settings,
) -> (Vec<Encoded>, usize) {
    encoded(request, settings, |metadata, _, record| {
        let text = record
            .body
            .as_ref()
            .map(|body| otlp_ottl::Value::from_any(body).as_string().into_owned())
            .unwrap_or_default();
        if text.is_empty() {
            return None;
        }
        let mut line = text.into_bytes();
        line.push(b'\n');
        Some((metadata.token.clone(), line))
    })
}
