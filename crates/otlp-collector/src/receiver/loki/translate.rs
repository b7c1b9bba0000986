//! Loki streams as OTLP logs, as otelcol-contrib's translator makes them: one resource and scope for the request,
//! a record per entry with the line as its body and the stream's labels as attributes (labels starting with `__`
//! are Loki's own and left out). Unlike otelcol, an entry's structured metadata is kept too, as attributes (a
//! stream label of the same name wins, as in LogQL).
//!
//! A record's time is when it was received, or the entry's own time with `use_incoming_timestamp` (an entry
//! without one keeps the time it was received).

use super::push::Stream;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};

/// The streams' entries as one request; `now` is when they were received.
pub(super) fn to_otlp(
    streams: Vec<Stream>,
    use_incoming_timestamp: bool,
    now: u64,
) -> ExportLogsServiceRequest {
    let mut records = Vec::new();
    for stream in streams {
        let labels: Vec<_> = stream
            .labels
            .into_iter()
            .filter(|(name, _)| !name.starts_with("__"))
            .collect();
        for entry in stream.entries {
            let mut attributes: Vec<_> = labels
                .iter()
                .map(|(name, value)| key_value(name.clone(), string_value(value.clone())))
                .collect();
            for (name, value) in entry.metadata {
                if !attributes.iter().any(|kv| kv.key == name) {
                    attributes.push(key_value(name, string_value(value)));
                }
            }
            let time_unix_nano = if use_incoming_timestamp && entry.time_unix_nano > 0 {
                entry.time_unix_nano
            } else {
                now
            };
            records.push(LogRecord {
                time_unix_nano,
                observed_time_unix_nano: now,
                body: Some(string_value(entry.line)),
                attributes,
                ..Default::default()
            });
        }
    }
    if records.is_empty() {
        return ExportLogsServiceRequest::default();
    }
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource::default()),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
