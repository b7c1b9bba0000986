//! The unit of data that moves through a pipeline.
//!
//! [`Batch`] is deliberately opaque: receivers build one, processors and exporters use its accessors. Its
//! representation is prost messages today; keeping it behind this type lets it move to columns later without
//! touching receivers and exporters.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::ScopeLogs;
use opentelemetry_proto::tonic::metrics::v1::{Metric, ScopeMetrics, metric::Data};
use opentelemetry_proto::tonic::trace::v1::ScopeSpans;
use prost::Message;
use std::fmt;

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metric data points.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// Every signal, in the order the collector reports them.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// The name used in config files (`service.pipelines.traces`).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// A dense index (0, 1, 2) for per-signal arrays.
    pub(crate) fn index(self) -> usize {
        match self {
            Signal::Traces => 0,
            Signal::Metrics => 1,
            Signal::Logs => 2,
        }
    }

    /// The item name otelcol uses in its self-metrics (`otelcol_receiver_accepted_spans`).
    pub fn item_unit(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "metric_points",
            Signal::Logs => "log_records",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Payload {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

/// Telemetry of one signal on its way through a pipeline, with its item count (spans, metric data points or log
/// records) computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    payload: Payload,
    items: usize,
}

impl Batch {
    /// A batch of spans.
    pub fn from_traces(request: ExportTraceServiceRequest) -> Self {
        let items = count_spans(&request);
        Batch {
            payload: Payload::Traces(request),
            items,
        }
    }

    /// A batch of metric data points.
    pub fn from_metrics(request: ExportMetricsServiceRequest) -> Self {
        let items = count_data_points(&request);
        Batch {
            payload: Payload::Metrics(request),
            items,
        }
    }

    /// A batch of log records.
    pub fn from_logs(request: ExportLogsServiceRequest) -> Self {
        let items = count_log_records(&request);
        Batch {
            payload: Payload::Logs(request),
            items,
        }
    }

    /// An empty batch of `signal`.
    pub fn empty(signal: Signal) -> Self {
        match signal {
            Signal::Traces => Batch::from_traces(ExportTraceServiceRequest::default()),
            Signal::Metrics => Batch::from_metrics(ExportMetricsServiceRequest::default()),
            Signal::Logs => Batch::from_logs(ExportLogsServiceRequest::default()),
        }
    }

    /// Which signal this batch carries.
    pub fn signal(&self) -> Signal {
        match self.payload {
            Payload::Traces(_) => Signal::Traces,
            Payload::Metrics(_) => Signal::Metrics,
            Payload::Logs(_) => Signal::Logs,
        }
    }

    /// Spans, metric data points or log records in the batch.
    pub fn item_count(&self) -> usize {
        self.items
    }

    /// True when the batch holds no items.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Size of the batch encoded as an OTLP protobuf request.
    pub fn encoded_len(&self) -> usize {
        match &self.payload {
            Payload::Traces(r) => r.encoded_len(),
            Payload::Metrics(r) => r.encoded_len(),
            Payload::Logs(r) => r.encoded_len(),
        }
    }

    /// The batch as an OTLP protobuf `Export*ServiceRequest`.
    pub fn to_protobuf(&self) -> Vec<u8> {
        match &self.payload {
            Payload::Traces(r) => r.encode_to_vec(),
            Payload::Metrics(r) => r.encode_to_vec(),
            Payload::Logs(r) => r.encode_to_vec(),
        }
    }

    /// Appends the batch as an OTLP/JSON `Export*ServiceRequest` document to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match &self.payload {
            Payload::Traces(r) => serde_json::to_writer(out, r),
            Payload::Metrics(r) => serde_json::to_writer(out, r),
            Payload::Logs(r) => serde_json::to_writer(out, r),
        }
    }

    /// The spans, when this is a traces batch.
    pub fn as_traces(&self) -> Option<&ExportTraceServiceRequest> {
        match &self.payload {
            Payload::Traces(r) => Some(r),
            _ => None,
        }
    }

    /// The metrics, when this is a metrics batch.
    pub fn as_metrics(&self) -> Option<&ExportMetricsServiceRequest> {
        match &self.payload {
            Payload::Metrics(r) => Some(r),
            _ => None,
        }
    }

    /// The logs, when this is a logs batch.
    pub fn as_logs(&self) -> Option<&ExportLogsServiceRequest> {
        match &self.payload {
            Payload::Logs(r) => Some(r),
            _ => None,
        }
    }

    /// Moves every item of `other` into `self`. Batches of different signals are not merged: `other` is handed
    /// back so that nothing is lost.
    pub fn append(&mut self, other: Batch) -> Result<(), Batch> {
        match (&mut self.payload, other.payload) {
            (Payload::Traces(a), Payload::Traces(b)) => a.resource_spans.extend(b.resource_spans),
            (Payload::Metrics(a), Payload::Metrics(b)) => {
                a.resource_metrics.extend(b.resource_metrics)
            }
            (Payload::Logs(a), Payload::Logs(b)) => a.resource_logs.extend(b.resource_logs),
            (_, payload) => {
                return Err(Batch {
                    payload,
                    items: other.items,
                });
            }
        }
        self.items += other.items;
        Ok(())
    }

    /// Removes the first `max_items` items (or all, if fewer) and returns them as a batch of their own, keeping
    /// each item's resource and scope. Splits inside a scope, and inside a metric's data points, when needed.
    pub fn split_front(&mut self, max_items: usize) -> Batch {
        if max_items >= self.items {
            let empty = Batch::empty(self.signal());
            return std::mem::replace(self, empty);
        }
        let head = match &mut self.payload {
            Payload::Traces(r) => Batch::from_traces(ExportTraceServiceRequest {
                resource_spans: split_resources(
                    &mut r.resource_spans,
                    max_items,
                    |rs| &mut rs.scope_spans,
                    |ss| ss.spans.len(),
                    split_scope_spans,
                ),
            }),
            Payload::Metrics(r) => Batch::from_metrics(ExportMetricsServiceRequest {
                resource_metrics: split_resources(
                    &mut r.resource_metrics,
                    max_items,
                    |rm| &mut rm.scope_metrics,
                    |sm| sm.metrics.iter().map(metric_data_points).sum(),
                    split_scope_metrics,
                ),
            }),
            Payload::Logs(r) => Batch::from_logs(ExportLogsServiceRequest {
                resource_logs: split_resources(
                    &mut r.resource_logs,
                    max_items,
                    |rl| &mut rl.scope_logs,
                    |sl| sl.log_records.len(),
                    split_scope_logs,
                ),
            }),
        };
        self.items -= head.items;
        head
    }

    /// Takes the traces out of the batch.
    pub fn into_traces(self) -> Option<ExportTraceServiceRequest> {
        match self.payload {
            Payload::Traces(r) => Some(r),
            _ => None,
        }
    }

    /// Takes the metrics out of the batch.
    pub fn into_metrics(self) -> Option<ExportMetricsServiceRequest> {
        match self.payload {
            Payload::Metrics(r) => Some(r),
            _ => None,
        }
    }

    /// Takes the logs out of the batch.
    pub fn into_logs(self) -> Option<ExportLogsServiceRequest> {
        match self.payload {
            Payload::Logs(r) => Some(r),
            _ => None,
        }
    }
}

/// Spans in a traces request.
pub fn count_spans(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// Data points in a metrics request, counted as OTLP does (every point of every metric type).
pub fn count_data_points(request: &ExportMetricsServiceRequest) -> usize {
    request
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(metric_data_points)
        .sum()
}

/// Log records in a logs request.
pub fn count_log_records(request: &ExportLogsServiceRequest) -> usize {
    request
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum()
}

fn metric_data_points(metric: &Metric) -> usize {
    match &metric.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// Moves the first `max_items` items of `resources` into a new list, splitting the resource and scope at the
/// boundary so that both halves keep their resource and scope metadata.
fn split_resources<R: Clone, S>(
    resources: &mut Vec<R>,
    max_items: usize,
    scopes: fn(&mut R) -> &mut Vec<S>,
    scope_items: fn(&S) -> usize,
    split_scope: fn(&mut S, usize) -> S,
) -> Vec<R> {
    let mut head = Vec::new();
    let mut remaining = max_items;
    while remaining > 0 && !resources.is_empty() {
        let resource_items: usize = scopes(&mut resources[0]).iter().map(scope_items).sum();
        if resource_items <= remaining {
            head.push(resources.remove(0));
            remaining -= resource_items;
            continue;
        }
        // The boundary falls inside this resource: copy its metadata (without its scopes) for the head half.
        let all_scopes = std::mem::take(scopes(&mut resources[0]));
        let mut head_resource = resources[0].clone();
        let mut head_scopes = Vec::new();
        let mut tail_scopes = Vec::new();
        for mut scope in all_scopes {
            let n = scope_items(&scope);
            if remaining == 0 {
                tail_scopes.push(scope);
            } else if n <= remaining {
                remaining -= n;
                head_scopes.push(scope);
            } else {
                head_scopes.push(split_scope(&mut scope, remaining));
                remaining = 0;
                tail_scopes.push(scope);
            }
        }
        *scopes(&mut resources[0]) = tail_scopes;
        *scopes(&mut head_resource) = head_scopes;
        head.push(head_resource);
    }
    head
}

fn split_scope_spans(scope: &mut ScopeSpans, n: usize) -> ScopeSpans {
    let rest = scope.spans.split_off(n);
    let head = std::mem::replace(&mut scope.spans, rest);
    ScopeSpans {
        scope: scope.scope.clone(),
        spans: head,
        schema_url: scope.schema_url.clone(),
    }
}

fn split_scope_logs(scope: &mut ScopeLogs, n: usize) -> ScopeLogs {
    let rest = scope.log_records.split_off(n);
    let head = std::mem::replace(&mut scope.log_records, rest);
    ScopeLogs {
        scope: scope.scope.clone(),
        log_records: head,
        schema_url: scope.schema_url.clone(),
    }
}

fn split_scope_metrics(scope: &mut ScopeMetrics, mut n: usize) -> ScopeMetrics {
    let mut head = ScopeMetrics {
        scope: scope.scope.clone(),
        metrics: Vec::new(),
        schema_url: scope.schema_url.clone(),
    };
    while n > 0 && !scope.metrics.is_empty() {
        let points = metric_data_points(&scope.metrics[0]);
        if points <= n {
            head.metrics.push(scope.metrics.remove(0));
            n -= points;
        } else {
            head.metrics.push(split_metric(&mut scope.metrics[0], n));
            n = 0;
        }
    }
    head
}

/// Splits the first `n` data points off a metric; the returned metric keeps name, unit, description, metadata
/// and the aggregation settings.
fn split_metric(metric: &mut Metric, n: usize) -> Metric {
    fn take<T>(points: &mut Vec<T>, n: usize) -> Vec<T> {
        let rest = points.split_off(n.min(points.len()));
        std::mem::replace(points, rest)
    }
    let data = match &mut metric.data {
        Some(Data::Gauge(g)) => Some(Data::Gauge(
            opentelemetry_proto::tonic::metrics::v1::Gauge {
                data_points: take(&mut g.data_points, n),
            },
        )),
        Some(Data::Sum(s)) => Some(Data::Sum(opentelemetry_proto::tonic::metrics::v1::Sum {
            data_points: take(&mut s.data_points, n),
            aggregation_temporality: s.aggregation_temporality,
            is_monotonic: s.is_monotonic,
        })),
        Some(Data::Histogram(h)) => Some(Data::Histogram(
            opentelemetry_proto::tonic::metrics::v1::Histogram {
                data_points: take(&mut h.data_points, n),
                aggregation_temporality: h.aggregation_temporality,
            },
        )),
        Some(Data::ExponentialHistogram(h)) => Some(Data::ExponentialHistogram(
            opentelemetry_proto::tonic::metrics::v1::ExponentialHistogram {
                data_points: take(&mut h.data_points, n),
                aggregation_temporality: h.aggregation_temporality,
            },
        )),
        Some(Data::Summary(s)) => Some(Data::Summary(
            opentelemetry_proto::tonic::metrics::v1::Summary {
                data_points: take(&mut s.data_points, n),
            },
        )),
        None => None,
    };
    Metric {
        name: metric.name.clone(),
        description: metric.description.clone(),
        unit: metric.unit.clone(),
        metadata: metric.metadata.clone(),
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};

    fn traces(shape: &[&[usize]]) -> Batch {
        let mut id = 0u8;
        let resource_spans = shape
            .iter()
            .map(|scopes| ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: scopes
                    .iter()
                    .map(|&n| ScopeSpans {
                        spans: (0..n)
                            .map(|_| {
                                id += 1;
                                Span {
                                    span_id: vec![id; 8],
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect();
        Batch::from_traces(ExportTraceServiceRequest { resource_spans })
    }

    fn span_ids(batch: &Batch) -> Vec<u8> {
        batch
            .as_traces()
            .unwrap()
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|s| s.span_id[0])
            .collect()
    }

    #[test]
    fn split_front_keeps_order_and_counts_at_every_boundary() {
        for max in 0..=12 {
            let mut batch = traces(&[&[2, 3], &[], &[4], &[1, 0, 2]]);
            let all = span_ids(&batch);
            let head = batch.split_front(max);
            assert_eq!(head.item_count(), max.min(12));
            assert_eq!(count_spans(head.as_traces().unwrap()), head.item_count());
            assert_eq!(count_spans(batch.as_traces().unwrap()), batch.item_count());
            let mut rejoined = span_ids(&head);
            rejoined.extend(span_ids(&batch));
            assert_eq!(rejoined, all, "max {max}");
        }
    }

    #[test]
    fn append_refuses_another_signal_and_hands_it_back() {
        let mut traces_batch = traces(&[&[2]]);
        let logs = Batch::empty(Signal::Logs);
        let back = traces_batch.append(logs).unwrap_err();
        assert_eq!(back.signal(), Signal::Logs);
        assert_eq!(traces_batch.item_count(), 2);
        traces_batch.append(traces(&[&[3]])).unwrap();
        assert_eq!(traces_batch.item_count(), 5);
    }
}
