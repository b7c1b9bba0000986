//! The log records of the `exceptions` connector: one per exception event, under a copy of the span's resource and
//! scope, at the event's time, with severity `ERROR`, the span's trace and span ids, and as attributes the span's
//! own, then `service.name`, `span.name`, `span.kind`, `status.code`, the configured dimensions and the event's
//! `exception.type`, `exception.message` and `exception.stacktrace` (each replacing a span attribute of its
//! name). The body is the exception's message.

use super::super::from_spans::{FromSpans, unix_nanos};
use super::super::spanmetrics::encoded::{self, EncodedRequest};
use super::super::spanmetrics::facts::{EventFacts, Lookup, SpanFacts};
use super::super::spanmetrics::{
    DimensionConfig, SERVICE_NAME, SPAN_KIND, SPAN_NAME, STATUS_CODE, kind_name, status_name, text,
};
use super::EXCEPTION_EVENT;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_model::wire::WireError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const EXCEPTION_TYPE: &str = "exception.type";
const EXCEPTION_MESSAGE: &str = "exception.message";
const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";

/// The log records made since they were last sent.
pub(super) struct Records {
    id: String,
    dimensions: Vec<DimensionConfig>,
    made: parking_lot::Mutex<Vec<ResourceLogs>>,
    warned_unnamed: AtomicBool,
}

impl Records {
    pub(super) fn new(id: &str, dimensions: Vec<DimensionConfig>) -> Self {
        Records {
            id: id.to_string(),
            dimensions,
            made: parking_lot::Mutex::new(Vec::new()),
            warned_unnamed: AtomicBool::new(false),
        }
    }

    /// The records of one resource's exceptions, if it has a `service.name` and any exception.
    fn resource<'a, S>(
        &self,
        resource: &Resource,
        scopes: impl Iterator<Item = (Option<&'a InstrumentationScope>, S)>,
        reading: &mut Reading,
    ) where
        S: Iterator<Item = SpanFacts<'a>>,
    {
        let Some(service) = resource
            .attributes
            .iter()
            .find(|kv| kv.key == SERVICE_NAME)
            .map(|kv| text(kv.value.as_ref()))
        else {
            reading.unnamed += scopes.map(|(_, spans)| spans.count()).sum::<usize>();
            return;
        };
        let mut scope_logs = Vec::new();
        for (scope, spans) in scopes {
            let mut log_records = Vec::new();
            for span in spans {
                span.events.each(|event| {
                    if event.name == EXCEPTION_EVENT {
                        log_records.push(self.record(
                            &span,
                            event,
                            &service,
                            resource,
                            reading.now,
                        ));
                    }
                });
            }
            if !log_records.is_empty() {
                scope_logs.push(ScopeLogs {
                    scope: scope.cloned(),
                    log_records,
                    schema_url: String::new(),
                });
            }
        }
        if !scope_logs.is_empty() {
            reading.made.push(ResourceLogs {
                resource: Some(resource.clone()),
                scope_logs,
                schema_url: String::new(),
            });
        }
    }

    fn record(
        &self,
        span: &SpanFacts<'_>,
        event: EventFacts<'_>,
        service: &str,
        resource: &Resource,
        now: u64,
    ) -> LogRecord {
        let mut attributes = span.attributes.to_vec();
        let string = |value: &str| otlp_ottl::string_value(value);
        put(&mut attributes, SERVICE_NAME, string(service));
        put(&mut attributes, SPAN_NAME, string(span.name));
        put(&mut attributes, SPAN_KIND, string(kind_name(span.kind)));
        put(
            &mut attributes,
            STATUS_CODE,
            string(status_name(span.status)),
        );
        let lookup = Lookup {
            span: span.attributes,
            event: Some(event.attributes),
            resource: &resource.attributes,
        };
        for dimension in &self.dimensions {
            let value = match (lookup.find(&dimension.name), &dimension.default) {
                (Some(found), _) => found.to_any(),
                (None, Some(default)) => string(default),
                (None, None) => continue,
            };
            put(&mut attributes, &dimension.name, value);
        }
        let mut body = None;
        for key in [EXCEPTION_TYPE, EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE] {
            if let Some(found) = event.attributes.find(key) {
                let value = found.to_any();
                if key == EXCEPTION_MESSAGE {
                    body = Some(value.clone());
                }
                put(&mut attributes, key, value);
            }
        }
        LogRecord {
            time_unix_nano: event.time,
            observed_time_unix_nano: now,
            severity_number: SeverityNumber::Error as i32,
            severity_text: "ERROR".to_string(),
            body,
            attributes,
            dropped_attributes_count: 0,
            flags: 0,
            trace_id: span.trace_id.to_vec(),
            span_id: span.span_id.to_vec(),
            event_name: String::new(),
        }
    }
}

/// Sets attribute `key`, in place of one of that name.
fn put(attributes: &mut Vec<KeyValue>, key: &str, value: AnyValue) {
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = Some(value),
        None => attributes.push(otlp_ottl::key_value(key, value)),
    }
}

/// What one batch made, and how many of its spans had no `service.name`.
pub(super) struct Reading {
    now: u64,
    made: Vec<ResourceLogs>,
    unnamed: usize,
}

impl FromSpans for Records {
    type Reading = Reading;
    type Output = ExportLogsServiceRequest;

    fn begin(&self) -> Reading {
        Reading {
            now: unix_nanos(Duration::ZERO),
            made: Vec::new(),
            unnamed: 0,
        }
    }

    fn read_encoded(&self, bytes: &[u8], reading: &mut Reading) -> Result<(), WireError> {
        let EncodedRequest { resources } = encoded::parse(bytes)?;
        for resource in &resources {
            let scopes = resource
                .scopes
                .iter()
                .map(|scope| (scope.scope.as_ref(), scope.spans.iter().copied()));
            self.resource(&resource.resource, scopes, reading);
        }
        Ok(())
    }

    fn read_decoded(&self, request: &ExportTraceServiceRequest, reading: &mut Reading) {
        let no_resource = Resource::default();
        for resource_spans in &request.resource_spans {
            let scopes = resource_spans
                .scope_spans
                .iter()
                .map(|ss| (ss.scope.as_ref(), ss.spans.iter().map(SpanFacts::decoded)));
            let resource = resource_spans.resource.as_ref().unwrap_or(&no_resource);
            self.resource(resource, scopes, reading);
        }
    }

    fn end(&self, reading: Reading) {
        if reading.unnamed > 0 && !self.warned_unnamed.swap(true, Ordering::Relaxed) {
            tracing::warn!(connector = %self.id, spans = reading.unnamed,
                "spans whose resource has no service.name are not read for exceptions, as in otelcol (logged once)");
        }
        if !reading.made.is_empty() {
            self.made.lock().extend(reading.made);
        }
    }

    fn output(&self) -> Option<ExportLogsServiceRequest> {
        let resource_logs = std::mem::take(&mut *self.made.lock());
        (!resource_logs.is_empty()).then_some(ExportLogsServiceRequest { resource_logs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
    use prost::Message;

    fn kv(key: &str, value: &str) -> KeyValue {
        otlp_ottl::key_value(key, otlp_ottl::string_value(value))
    }

    fn event(name: &str, time: u64, attributes: Vec<KeyValue>) -> span::Event {
        span::Event {
            name: name.to_string(),
            time_unix_nano: time,
            attributes,
            ..Default::default()
        }
    }

    /// A checkout service whose payment span recorded an exception (and a retry, which is not one), and a
    /// resource without `service.name` whose exception is left out.
    fn request() -> ExportTraceServiceRequest {
        let payment = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "pay".to_string(),
            kind: span::SpanKind::Client as i32,
            attributes: vec![kv("http.route", "/pay"), kv("tenant", "acme")],
            events: vec![
                event("retry", 5, vec![kv("attempt", "2")]),
                event(
                    "exception",
                    7,
                    vec![
                        kv("exception.type", "Timeout"),
                        kv("exception.message", "card network timed out"),
                        kv("exception.stacktrace", "at pay()"),
                    ],
                ),
            ],
            status: Some(Status {
                code: 2,
                ..Default::default()
            }),
            ..Default::default()
        };
        let resource = |attributes| Resource {
            attributes,
            ..Default::default()
        };
        let scope = InstrumentationScope {
            name: "payments".to_string(),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    resource: Some(resource(vec![
                        kv("service.name", "checkout"),
                        kv("region", "eu"),
                    ])),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(scope.clone()),
                        spans: vec![payment.clone()],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                ResourceSpans {
                    resource: Some(resource(vec![])),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(scope),
                        spans: vec![payment],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ],
        }
    }

    fn records(read: impl FnOnce(&Records, &mut Reading)) -> (ExportLogsServiceRequest, usize) {
        let dimensions = vec![
            DimensionConfig {
                name: "region".to_string(),
                default: None,
            },
            DimensionConfig {
                name: "tier".to_string(),
                default: Some("free".to_string()),
            },
        ];
        let records = Records::new("exceptions", dimensions);
        let mut reading = records.begin();
        // One observation time for both readings.
        reading.now = 0;
        read(&records, &mut reading);
        let unnamed = reading.unnamed;
        records.end(reading);
        (records.output().unwrap_or_default(), unnamed)
    }

    #[test]
    fn a_request_without_the_word_exception_is_not_read_and_one_with_it_elsewhere_yields_nothing() {
        let filtered = super::super::OnlyWithExceptions(Records::new("exceptions", Vec::new()));
        let read = |request: &ExportTraceServiceRequest| {
            let mut reading = filtered.begin();
            filtered
                .read_encoded(&request.encode_to_vec(), &mut reading)
                .unwrap();
            let unnamed = reading.unnamed;
            filtered.end(reading);
            (
                filtered.output().map(|logs| logs.resource_logs.len()),
                unnamed,
            )
        };
        let mut request = request();
        assert_eq!(read(&request), (Some(1), 1));
        request
            .resource_spans
            .iter_mut()
            .flat_map(|rs| &mut rs.scope_spans)
            .flat_map(|ss| &mut ss.spans)
            .for_each(|span| span.events.retain(|event| event.name != "exception"));
        // Not read: the span of the resource without `service.name` was not even counted.
        assert_eq!(read(&request), (None, 0));
        request.resource_spans[0].scope_spans[0].spans[0]
            .attributes
            .push(kv("error.kind", "exception"));
        assert_eq!(read(&request), (None, 1));
    }

    #[test]
    fn each_exception_is_a_record_with_its_span_ids_whether_read_in_place_or_decoded() {
        let request = request();
        let bytes = request.encode_to_vec();
        let in_place = records(|records, reading| records.read_encoded(&bytes, reading).unwrap());
        let decoded = records(|records, reading| records.read_decoded(&request, reading));
        assert_eq!(in_place, decoded);
        let (logs, unnamed) = in_place;
        assert_eq!(unnamed, 1);
        assert_eq!(logs.resource_logs.len(), 1);
        let resource_logs = &logs.resource_logs[0];
        assert_eq!(resource_logs.resource, request.resource_spans[0].resource);
        let scope_logs = &resource_logs.scope_logs[0];
        assert_eq!(
            scope_logs.scope.as_ref().map(|s| s.name.as_str()),
            Some("payments")
        );
        let [record] = scope_logs.log_records.as_slice() else {
            panic!("{scope_logs:?}");
        };
        assert_eq!(
            (
                record.time_unix_nano,
                record.severity_number,
                record.severity_text.as_str()
            ),
            (7, SeverityNumber::Error as i32, "ERROR")
        );
        assert_eq!(
            (record.trace_id.as_slice(), record.span_id.as_slice()),
            (&[1; 16][..], &[2; 8][..])
        );
        assert_eq!(
            record.body,
            Some(otlp_ottl::string_value("card network timed out"))
        );
        let attributes: Vec<(&str, String)> = record
            .attributes
            .iter()
            .map(|kv| (kv.key.as_str(), text(kv.value.as_ref())))
            .collect();
        assert_eq!(
            attributes,
            [
                ("http.route", "/pay"),
                ("tenant", "acme"),
                ("service.name", "checkout"),
                ("span.name", "pay"),
                ("span.kind", "SPAN_KIND_CLIENT"),
                ("status.code", "STATUS_CODE_ERROR"),
                ("region", "eu"),
                ("tier", "free"),
                ("exception.type", "Timeout"),
                ("exception.message", "card network timed out"),
                ("exception.stacktrace", "at pay()"),
            ]
            .map(|(key, value)| (key, value.to_string()))
        );
    }
}
