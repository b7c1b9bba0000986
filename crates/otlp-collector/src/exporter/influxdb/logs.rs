//! Log records as otel2influx writes them: measurement `logs`, tagged with the configured
//! `log_record_dimensions` (looked up among the record's attributes and its resource's), `trace_id` and `span_id`;
//! fields: the resource's other attributes, `otel.library.name`/`version`, `severity_number`, `severity_text`,
//! `body` and each other attribute (typed; maps and lists as JSON), and `dropped_attributes_count`. A record is at
//! its time, else when it was observed (otel2influx refuses one without a time); one with neither is refused.

use super::line::{Field, Line, hex, text};
use super::traces::json;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;

/// The lines of `request`, and how many records could not be written.
pub(super) fn lines(
    request: &ExportLogsServiceRequest,
    dimensions: &[String],
) -> (Vec<Line>, usize) {
    let mut lines = Vec::new();
    let mut refused = 0;
    for resource_logs in &request.resource_logs {
        let resource = resource_logs
            .resource
            .as_ref()
            .map_or(&[][..], |r| &r.attributes);
        for scope_logs in &resource_logs.scope_logs {
            for record in &scope_logs.log_records {
                let time = match (record.time_unix_nano, record.observed_time_unix_nano) {
                    (0, 0) => {
                        refused += 1;
                        continue;
                    }
                    (0, observed) => observed,
                    (time, _) => time,
                };
                let mut line = Line::new("logs", time);
                for kv in resource.iter().chain(&record.attributes) {
                    if dimensions.contains(&kv.key) {
                        line.tag(&kv.key, text(kv.value.as_ref()));
                    } else {
                        line.field(&kv.key, Field::from_any(kv.value.as_ref()));
                    }
                }
                if let Some(scope) = &scope_logs.scope {
                    line.text_field("otel.library.name", &scope.name);
                    line.text_field("otel.library.version", &scope.version);
                }
                if record.trace_id.iter().any(|b| *b != 0) {
                    line.tag("trace_id", hex(&record.trace_id));
                    if record.span_id.iter().any(|b| *b != 0) {
                        line.tag("span_id", hex(&record.span_id));
                    }
                }
                if record.severity_number != 0 {
                    line.field(
                        "severity_number",
                        Some(Field::Int(i64::from(record.severity_number))),
                    );
                }
                line.text_field("severity_text", &record.severity_text);
                let body = match record.body.as_ref().and_then(|b| b.value.as_ref()) {
                    Some(any_value::Value::KvlistValue(map)) => json(map.values.clone()),
                    _ => Field::from_any(record.body.as_ref()),
                };
                line.field("body", body);
                if record.dropped_attributes_count > 0 {
                    line.field(
                        "dropped_attributes_count",
                        Some(Field::Int(i64::from(record.dropped_attributes_count))),
                    );
                }
                lines.push(line);
            }
        }
    }
    (lines, refused)
}

#[cfg(test)]
mod tests;
