//! Splitting and appending keep every item, in order, with its own resource and scope, for all three signals.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_model::{
    AnyRequest, ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
    OtlpRequest, Signal,
};
use proptest::prelude::*;

/// A request's shape: resources, each a list of scopes, each a list of item counts (for metrics: a list of
/// metrics, each with its number of data points).
type Shape = Vec<Vec<Vec<usize>>>;

fn shape() -> impl Strategy<Value = Shape> {
    prop::collection::vec(
        prop::collection::vec(prop::collection::vec(0usize..4, 0..4), 0..4),
        0..5,
    )
}

fn resource(r: usize) -> Option<Resource> {
    Some(Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!("service-{r}"))),
            }),
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn scope(r: usize, s: usize) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: format!("scope-{r}-{s}"),
        ..Default::default()
    })
}

fn traces(shape: &Shape) -> ExportTraceServiceRequest {
    let mut id = 0u64;
    ExportTraceServiceRequest {
        resource_spans: shape
            .iter()
            .enumerate()
            .map(|(r, scopes)| ResourceSpans {
                resource: resource(r),
                scope_spans: scopes
                    .iter()
                    .enumerate()
                    .map(|(s, items)| ScopeSpans {
                        scope: scope(r, s),
                        spans: (0..items.iter().sum::<usize>())
                            .map(|_| {
                                id += 1;
                                Span {
                                    trace_id: [7; 16].to_vec(),
                                    span_id: id.to_be_bytes().to_vec(),
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        schema_url: format!("scope-schema-{s}"),
                    })
                    .collect(),
                schema_url: format!("resource-schema-{r}"),
            })
            .collect(),
    }
}

fn logs(shape: &Shape) -> ExportLogsServiceRequest {
    let mut id = 0u64;
    ExportLogsServiceRequest {
        resource_logs: shape
            .iter()
            .enumerate()
            .map(|(r, scopes)| ResourceLogs {
                resource: resource(r),
                scope_logs: scopes
                    .iter()
                    .enumerate()
                    .map(|(s, items)| ScopeLogs {
                        scope: scope(r, s),
                        log_records: (0..items.iter().sum::<usize>())
                            .map(|_| {
                                id += 1;
                                LogRecord {
                                    time_unix_nano: id,
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

fn metrics(shape: &Shape) -> ExportMetricsServiceRequest {
    let mut id = 0u64;
    let mut point = || {
        id += 1;
        id
    };
    ExportMetricsServiceRequest {
        resource_metrics: shape
            .iter()
            .enumerate()
            .map(|(r, scopes)| ResourceMetrics {
                resource: resource(r),
                scope_metrics: scopes
                    .iter()
                    .enumerate()
                    .map(|(s, metrics)| ScopeMetrics {
                        scope: scope(r, s),
                        metrics: metrics
                            .iter()
                            .enumerate()
                            .map(|(m, &points)| {
                                let number = |time| NumberDataPoint {
                                    time_unix_nano: time,
                                    ..Default::default()
                                };
                                let data = match m % 3 {
                                    0 => Data::Gauge(Gauge {
                                        data_points: (0..points).map(|_| number(point())).collect(),
                                    }),
                                    1 => Data::Sum(Sum {
                                        data_points: (0..points).map(|_| number(point())).collect(),
                                        aggregation_temporality: 2,
                                        is_monotonic: true,
                                    }),
                                    _ => Data::Histogram(Histogram {
                                        data_points: (0..points)
                                            .map(|_| HistogramDataPoint {
                                                time_unix_nano: point(),
                                                ..Default::default()
                                            })
                                            .collect(),
                                        aggregation_temporality: 1,
                                    }),
                                };
                                Metric {
                                    name: format!("metric-{m}"),
                                    unit: "ms".into(),
                                    data: Some(data),
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// Every item with the resource and scope it belongs to, in order: what a split must preserve.
fn flat_traces(request: &ExportTraceServiceRequest) -> Vec<(String, String, Vec<u8>)> {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| {
            rs.scope_spans.iter().flat_map(move |ss| {
                ss.spans.iter().map(move |span| {
                    (
                        format!("{:?}{}", rs.resource, rs.schema_url),
                        format!("{:?}{}", ss.scope, ss.schema_url),
                        span.span_id.clone(),
                    )
                })
            })
        })
        .collect()
}

fn flat_logs(request: &ExportLogsServiceRequest) -> Vec<(String, String, u64)> {
    request
        .resource_logs
        .iter()
        .flat_map(|rl| {
            rl.scope_logs.iter().flat_map(move |sl| {
                sl.log_records.iter().map(move |record| {
                    (
                        format!("{:?}", rl.resource),
                        format!("{:?}", sl.scope),
                        record.time_unix_nano,
                    )
                })
            })
        })
        .collect()
}

fn flat_metrics(request: &ExportMetricsServiceRequest) -> Vec<(String, String, String, u64)> {
    let mut out = Vec::new();
    for rm in &request.resource_metrics {
        for sm in &rm.scope_metrics {
            for metric in &sm.metrics {
                let times: Vec<u64> = match &metric.data {
                    Some(Data::Gauge(g)) => {
                        g.data_points.iter().map(|p| p.time_unix_nano).collect()
                    }
                    Some(Data::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
                    Some(Data::Histogram(h)) => {
                        h.data_points.iter().map(|p| p.time_unix_nano).collect()
                    }
                    _ => Vec::new(),
                };
                let kind = match &metric.data {
                    Some(Data::Sum(s)) => format!(
                        "{} sum {} {}",
                        metric.name, s.aggregation_temporality, s.is_monotonic
                    ),
                    Some(Data::Histogram(h)) => {
                        format!("{} histogram {}", metric.name, h.aggregation_temporality)
                    }
                    _ => format!("{} gauge", metric.name),
                };
                for time in times {
                    out.push((
                        format!("{:?}", rm.resource),
                        format!("{:?}", sm.scope),
                        kind.clone(),
                        time,
                    ));
                }
            }
        }
    }
    out
}

/// Splits `request` at `max` and checks the halves against the original, for one signal.
fn check_split<R: OtlpRequest, T: PartialEq + std::fmt::Debug>(
    request: R,
    max: usize,
    flatten: impl Fn(&R) -> Vec<T>,
) -> Result<(), TestCaseError> {
    let total = request.item_count();
    let original = flatten(&request);
    prop_assert_eq!(original.len(), total, "item_count counts every item");
    let mut tail = request;
    let head = tail.split_front(max);
    prop_assert_eq!(head.item_count(), max.min(total));
    prop_assert_eq!(tail.item_count(), total - max.min(total));
    let mut rejoined = flatten(&head);
    rejoined.extend(flatten(&tail));
    prop_assert_eq!(
        &rejoined,
        &original,
        "the halves hold every item, in order, with its resource and scope"
    );
    let mut appended = head;
    appended.append(tail);
    prop_assert_eq!(flatten(&appended), original, "append undoes split");
    Ok(())
}

proptest! {
    #[test]
    fn traces_split_at_every_boundary(shape in shape(), max in 0usize..40) {
        check_split(traces(&shape), max, flat_traces)?;
    }

    #[test]
    fn logs_split_at_every_boundary(shape in shape(), max in 0usize..40) {
        check_split(logs(&shape), max, flat_logs)?;
    }

    #[test]
    fn metrics_split_inside_a_metric_keep_its_aggregation(shape in shape(), max in 0usize..40) {
        check_split(metrics(&shape), max, flat_metrics)?;
    }

    #[test]
    fn any_request_agrees_with_the_typed_one(shape in shape(), max in 0usize..40) {
        let typed = traces(&shape);
        let mut any = AnyRequest::from(typed.clone());
        prop_assert_eq!(any.signal(), Signal::Traces);
        prop_assert_eq!(any.item_count(), typed.item_count());
        prop_assert_eq!(any.encoded_len(), prost::Message::encoded_len(&typed));
        let head = any.split_front(max);
        prop_assert_eq!(head.item_count(), max.min(typed.item_count()));
        let decoded = AnyRequest::decode(Signal::Traces, &head.encode_to_vec()).unwrap();
        prop_assert_eq!(decoded, head);
    }
}

#[test]
fn appending_another_signal_hands_it_back_untouched() {
    let mut any = AnyRequest::from(traces(&vec![vec![vec![2]]]));
    let other = AnyRequest::from(logs(&vec![vec![vec![3]]]));
    let back = any.append(other.clone()).unwrap_err();
    assert_eq!(back, other);
    assert_eq!(any.item_count(), 2);
    assert!(any.get::<ExportTraceServiceRequest>().is_some());
    assert!(any.get::<ExportLogsServiceRequest>().is_none());
    assert_eq!(
        any.clone().into_request::<ExportMetricsServiceRequest>(),
        Err(any)
    );
}
