//! Routing keys: what each item of a request is routed by, as a 64-bit hash.
//!
//! Keys are made of the same parts as otelcol's (a trace id, `service.name`, a resource's attributes, a metric
//! name, a metric stream's identity, `name=value|` pairs of the routing attributes), then hashed with xxh3, the
//! hash otlp-lb places keys with. Items with equal keys always land together; which backend that is depends on the
//! hash and the ring, which are ours, so an otlp-suite front and an otelcol front do not pick the same backend for
//! a key.

use super::config::RoutingKey;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otlp_lb::hash_key;
use otlp_model::{
    AnyRequest, ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
    Signal,
};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The pseudo attributes otelcol offers besides real ones.
const SPAN_KIND: &str = "span.kind";
const SPAN_NAME: &str = "span.name";
const LOG_SEVERITY: &str = "log.severity";
const LOG_BODY: &str = "log.body";

/// How one exporter computes keys: its routing key and attributes, and a counter that spreads log records that
/// have no trace id to route by.
#[derive(Debug)]
pub(super) struct Keys {
    key: Option<RoutingKey>,
    attributes: Vec<String>,
    spread: AtomicU64,
}

impl Keys {
    pub(super) fn new(key: Option<RoutingKey>, attributes: Vec<String>) -> Self {
        Keys {
            key,
            attributes,
            spread: AtomicU64::new(0),
        }
    }

    /// The key `signal` is routed by: the configured one, or otelcol's default (`traceID` for traces and logs,
    /// `service` for metrics); an error naming what works when the configured key means nothing for the signal.
    pub(super) fn for_signal(&self, signal: Signal) -> Result<RoutingKey, String> {
        let key = self.key.unwrap_or(match signal {
            Signal::Metrics => RoutingKey::Service,
            Signal::Traces | Signal::Logs => RoutingKey::TraceId,
        });
        let fits = match signal {
            Signal::Traces | Signal::Logs => {
                !matches!(key, RoutingKey::Metric | RoutingKey::StreamId)
            }
            Signal::Metrics => key != RoutingKey::TraceId,
        };
        if fits {
            Ok(key)
        } else {
            let usable = match signal {
                Signal::Metrics => "service, resource, metric, streamID or attributes",
                Signal::Traces | Signal::Logs => "traceID, service, resource or attributes",
            };
            Err(format!(
                "routing_key `{}` cannot route {signal}: use {usable}",
                key.as_str()
            ))
        }
    }

    /// Appends the key hash of each item of `request` to `out`, in item order. The key must suit the signal
    /// ([`for_signal`](Self::for_signal)).
    pub(super) fn hashes(&self, request: &AnyRequest, key: RoutingKey, out: &mut Vec<u64>) {
        match request {
            AnyRequest::Traces(request) => self.trace_hashes(request, key, out),
            AnyRequest::Metrics(request) => self.metric_hashes(request, key, out),
            AnyRequest::Logs(request) => self.log_hashes(request, key, out),
        }
    }

    fn trace_hashes(
        &self,
        request: &ExportTraceServiceRequest,
        key: RoutingKey,
        out: &mut Vec<u64>,
    ) {
        let mut text = String::new();
        for resource_spans in &request.resource_spans {
            let resource = resource_spans.resource.as_ref();
            let shared = resource_hash(resource, key);
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    let hash = match (key, shared) {
                        (_, Some(hash)) => hash,
                        (RoutingKey::Attributes, None) => {
                            text.clear();
                            composite(
                                &mut text,
                                &self.attributes,
                                resource,
                                scope_spans.scope.as_ref(),
                                &span.attributes,
                                |name| match name {
                                    SPAN_KIND => Some(span_kind(span.kind)),
                                    SPAN_NAME => Some(span.name.clone()),
                                    _ => None,
                                },
                            );
                            hash_key(text.as_bytes())
                        }
                        _ => hash_key(&span.trace_id),
                    };
                    out.push(hash);
                }
            }
        }
    }

    fn log_hashes(&self, request: &ExportLogsServiceRequest, key: RoutingKey, out: &mut Vec<u64>) {
        let mut text = String::new();
        for resource_logs in &request.resource_logs {
            let resource = resource_logs.resource.as_ref();
            let shared = resource_hash(resource, key);
            for scope_logs in &resource_logs.scope_logs {
                for record in &scope_logs.log_records {
                    let hash = match (key, shared) {
                        (_, Some(hash)) => hash,
                        (RoutingKey::Attributes, None) => {
                            text.clear();
                            composite(
                                &mut text,
                                &self.attributes,
                                resource,
                                scope_logs.scope.as_ref(),
                                &record.attributes,
                                |name| match name {
                                    LOG_SEVERITY => Some(if record.severity_text.is_empty() {
                                        record.severity_number.to_string()
                                    } else {
                                        record.severity_text.clone()
                                    }),
                                    LOG_BODY => {
                                        let mut body = String::new();
                                        if let Some(value) = &record.body {
                                            stringify(&mut body, value);
                                        }
                                        Some(body)
                                    }
                                    _ => None,
                                },
                            );
                            hash_key(text.as_bytes())
                        }
                        _ if has_trace_id(&record.trace_id) => hash_key(&record.trace_id),
                        // No trace to keep together: spread evenly, as otelcol's random pick does.
                        _ => hash_key(&self.spread.fetch_add(1, Ordering::Relaxed).to_le_bytes()),
                    };
                    out.push(hash);
                }
            }
        }
    }

    fn metric_hashes(
        &self,
        request: &ExportMetricsServiceRequest,
        key: RoutingKey,
        out: &mut Vec<u64>,
    ) {
        let mut text = String::new();
        for resource_metrics in &request.resource_metrics {
            let resource = resource_metrics.resource.as_ref();
            let shared = resource_hash(resource, key);
            let mut resource_identity = String::new();
            if key == RoutingKey::StreamId {
                attributes_identity(
                    &mut resource_identity,
                    resource.map_or(&[], |r| &r.attributes),
                );
            }
            for scope_metrics in &resource_metrics.scope_metrics {
                let scope = scope_metrics.scope.as_ref();
                for metric in &scope_metrics.metrics {
                    let name_hash = hash_key(metric.name.as_bytes());
                    for_each_point(metric, |point_attributes| {
                        let hash = match (key, shared) {
                            (_, Some(hash)) => hash,
                            (RoutingKey::Metric, None) => name_hash,
                            (RoutingKey::StreamId, None) => {
                                text.clear();
                                stream_identity(
                                    &mut text,
                                    &resource_identity,
                                    scope,
                                    metric,
                                    point_attributes,
                                );
                                hash_key(text.as_bytes())
                            }
                            _ => {
                                text.clear();
                                composite(
                                    &mut text,
                                    &self.attributes,
                                    resource,
                                    scope,
                                    point_attributes,
                                    |_| None,
                                );
                                hash_key(text.as_bytes())
                            }
                        };
                        out.push(hash);
                    });
                }
            }
        }
    }
}

/// The hash every item of a resource shares, for the keys decided by the resource alone.
fn resource_hash(resource: Option<&Resource>, key: RoutingKey) -> Option<u64> {
    let attributes = resource.map_or(&[][..], |r| &r.attributes);
    let mut text = String::new();
    match key {
        RoutingKey::Service => {
            // A resource without `service.name` is routed as the empty name: kept together, not dropped.
            if let Some(value) = find(attributes, "service.name") {
                stringify(&mut text, value);
            }
        }
        RoutingKey::Resource => attributes_identity(&mut text, attributes),
        _ => return None,
    }
    Some(hash_key(text.as_bytes()))
}

/// A trace id worth routing by: present and not all zeros (the OTLP "no trace" value).
fn has_trace_id(trace_id: &[u8]) -> bool {
    trace_id.iter().any(|b| *b != 0)
}

/// otelcol's names for span kinds (`ptrace.SpanKind.String()`).
fn span_kind(kind: i32) -> String {
    match SpanKind::try_from(kind) {
        Ok(SpanKind::Internal) => "Internal",
        Ok(SpanKind::Server) => "Server",
        Ok(SpanKind::Client) => "Client",
        Ok(SpanKind::Producer) => "Producer",
        Ok(SpanKind::Consumer) => "Consumer",
        Ok(SpanKind::Unspecified) | Err(_) => "Unspecified",
    }
    .to_owned()
}

fn find<'a>(attributes: &'a [KeyValue], name: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == name)
        .and_then(|kv| kv.value.as_ref())
}

/// otelcol's composite key: `name=value|` for each routing attribute in order, the value looked up on the
/// resource, then the scope, then the pseudo attributes, then the item; `name=|` when missing.
fn composite(
    out: &mut String,
    names: &[String],
    resource: Option<&Resource>,
    scope: Option<&InstrumentationScope>,
    item: &[KeyValue],
    pseudo: impl Fn(&str) -> Option<String>,
) {
    for name in names {
        out.push_str(name);
        out.push('=');
        let found = find(resource.map_or(&[], |r| &r.attributes), name)
            .or_else(|| find(scope.map_or(&[], |s| &s.attributes), name));
        if let Some(value) = found {
            stringify(out, value);
        } else if let Some(value) = pseudo(name) {
            out.push_str(&value);
        } else if let Some(value) = find(item, name) {
            stringify(out, value);
        }
        out.push('|');
    }
}

/// An attribute set as text, independent of the attributes' order.
fn attributes_identity(out: &mut String, attributes: &[KeyValue]) {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for kv in sorted {
        out.push_str(&kv.key);
        out.push('=');
        if let Some(value) = &kv.value {
            stringify(out, value);
        }
        out.push('|');
    }
}

/// A metric stream's identity, as otelcol's `identity.OfStream`: resource, scope, the metric's name, unit, type
/// and aggregation, and the data point's attributes.
fn stream_identity(
    out: &mut String,
    resource_identity: &str,
    scope: Option<&InstrumentationScope>,
    metric: &Metric,
    point_attributes: &[KeyValue],
) {
    out.push_str(resource_identity);
    out.push('\u{1f}');
    if let Some(scope) = scope {
        let _ = write!(out, "{}\u{1f}{}\u{1f}", scope.name, scope.version);
        attributes_identity(out, &scope.attributes);
    }
    let _ = write!(out, "\u{1f}{}\u{1f}{}\u{1f}", metric.name, metric.unit);
    let _ = match &metric.data {
        Some(Data::Gauge(_)) => write!(out, "gauge"),
        Some(Data::Sum(sum)) => write!(
            out,
            "sum/{}/{}",
            sum.aggregation_temporality, sum.is_monotonic
        ),
        Some(Data::Histogram(h)) => write!(out, "histogram/{}", h.aggregation_temporality),
        Some(Data::ExponentialHistogram(h)) => {
            write!(out, "exponential_histogram/{}", h.aggregation_temporality)
        }
        Some(Data::Summary(_)) => write!(out, "summary"),
        None => Ok(()),
    };
    out.push('\u{1f}');
    attributes_identity(out, point_attributes);
}

/// Calls `visit` with the attributes of each data point of `metric`, in order.
fn for_each_point(metric: &Metric, mut visit: impl FnMut(&[KeyValue])) {
    match &metric.data {
        Some(Data::Gauge(gauge)) => gauge.data_points.iter().for_each(|p| visit(&p.attributes)),
        Some(Data::Sum(sum)) => sum.data_points.iter().for_each(|p| visit(&p.attributes)),
        Some(Data::Histogram(h)) => h.data_points.iter().for_each(|p| visit(&p.attributes)),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter().for_each(|p| visit(&p.attributes))
        }
        Some(Data::Summary(s)) => s.data_points.iter().for_each(|p| visit(&p.attributes)),
        None => {}
    }
}

/// A value as otelcol stringifies it for routing keys (bytes as hex rather than base64: the text only has to be
/// the same for equal values).
fn stringify(out: &mut String, value: &AnyValue) {
    match &value.value {
        Some(any_value::Value::StringValue(text)) => out.push_str(text),
        Some(any_value::Value::BoolValue(b)) => {
            let _ = write!(out, "{b}");
        }
        Some(any_value::Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(any_value::Value::DoubleValue(d)) => {
            let _ = write!(out, "{d}");
        }
        Some(any_value::Value::BytesValue(bytes)) => {
            for byte in bytes {
                let _ = write!(out, "{byte:02x}");
            }
        }
        Some(any_value::Value::ArrayValue(array)) => {
            out.push('[');
            for (i, item) in array.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                stringify(out, item);
            }
            out.push(']');
        }
        Some(any_value::Value::KvlistValue(list)) => {
            let mut sorted: Vec<&KeyValue> = list.values.iter().collect();
            sorted.sort_by(|a, b| a.key.cmp(&b.key));
            out.push('{');
            for (i, kv) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&kv.key);
                out.push(':');
                if let Some(value) = &kv.value {
                    stringify(out, value);
                }
            }
            out.push('}');
        }
        Some(any_value::Value::StringValueStrindex(_)) | None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use otlp_model::OtlpRequest;
    use otlp_testkit::Generator;

    fn text(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    fn hashes(keys: &Keys, request: &AnyRequest) -> Vec<u64> {
        let key = keys.for_signal(request.signal()).unwrap();
        let mut out = Vec::new();
        keys.hashes(request, key, &mut out);
        assert_eq!(out.len(), request.item_count(), "one key per item");
        out
    }

    #[test]
    fn every_routing_key_gives_one_hash_per_item() {
        let mut generator = Generator::new(3);
        let traces = generator.whole_traces(200).into_any();
        let metrics = generator.metrics(300).into_any();
        let logs = generator.logs(150).into_any();
        for key in [
            RoutingKey::TraceId,
            RoutingKey::Service,
            RoutingKey::Resource,
            RoutingKey::Attributes,
        ] {
            let keys = Keys::new(Some(key), vec!["service.name".into(), "span.kind".into()]);
            hashes(&keys, &traces);
            hashes(&keys, &logs);
        }
        for key in [
            RoutingKey::Service,
            RoutingKey::Resource,
            RoutingKey::Metric,
            RoutingKey::StreamId,
            RoutingKey::Attributes,
        ] {
            hashes(&Keys::new(Some(key), vec!["host.name".into()]), &metrics);
        }
    }

    #[test]
    fn spans_of_a_trace_share_a_key_and_traces_differ() {
        let mut generator = Generator::new(11);
        let request = generator.whole_traces(500);
        let keys = Keys::new(None, Vec::new());
        let hashes = hashes(&keys, &request.clone().into_any());
        let trace_ids = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.trace_id.clone());
        let mut by_trace = std::collections::HashMap::new();
        for (trace_id, hash) in trace_ids.zip(hashes) {
            assert_eq!(*by_trace.entry(trace_id).or_insert(hash), hash);
        }
        let distinct: std::collections::HashSet<u64> = by_trace.values().copied().collect();
        assert_eq!(distinct.len(), by_trace.len());
    }

    #[test]
    fn attribute_keys_follow_otelcols_lookup_order() {
        let span = |kind: i32, attributes| Span {
            trace_id: vec![1; 16],
            kind,
            name: "GET /".into(),
            attributes,
            ..Default::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![text("tenant", "from-resource")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        span(2, vec![text("tenant", "from-span"), text("route", "/a")]),
                        span(2, vec![text("route", "/a")]),
                        span(3, vec![text("route", "/a")]),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let mut composite_text = String::new();
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        composite(
            &mut composite_text,
            &[
                "tenant".into(),
                "span.kind".into(),
                "route".into(),
                "missing".into(),
            ],
            request.resource_spans[0].resource.as_ref(),
            None,
            &spans[0].attributes,
            |name| (name == SPAN_KIND).then(|| span_kind(spans[0].kind)),
        );
        assert_eq!(
            composite_text,
            "tenant=from-resource|span.kind=Server|route=/a|missing=|"
        );
        let keys = Keys::new(
            Some(RoutingKey::Attributes),
            vec!["tenant".into(), "span.kind".into()],
        );
        let hashes = hashes(&keys, &request.into_any());
        assert_eq!(
            hashes[0], hashes[1],
            "the resource's value wins over the span's"
        );
        assert_ne!(hashes[1], hashes[2], "span kinds differ");
    }

    #[test]
    fn keys_that_mean_nothing_for_a_signal_are_refused_with_what_works() {
        let keys = Keys::new(Some(RoutingKey::TraceId), Vec::new());
        let error = keys.for_signal(Signal::Metrics).unwrap_err();
        assert!(error.contains("streamID"), "{error}");
        let keys = Keys::new(Some(RoutingKey::Metric), Vec::new());
        assert!(keys.for_signal(Signal::Traces).is_err());
        assert_eq!(
            Keys::new(None, Vec::new()).for_signal(Signal::Metrics),
            Ok(RoutingKey::Service)
        );
    }

    #[test]
    fn values_stringify_deterministically() {
        let list = AnyValue {
            value: Some(any_value::Value::KvlistValue(
                opentelemetry_proto::tonic::common::v1::KeyValueList {
                    values: vec![text("b", "2"), text("a", "1")],
                },
            )),
        };
        let mut out = String::new();
        stringify(&mut out, &list);
        assert_eq!(out, "{a:1,b:2}");
    }
}
