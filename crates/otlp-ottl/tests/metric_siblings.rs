//! The transform processor's functions that add a metric beside the current one (`copy_metric`,
//! `extract_count_metric`, `extract_sum_metric`, `convert_summary_*`), run through the real
//! `Transform` over hand-built requests. Expected values are written out by hand from otelcol's
//! transform processor README and `func_*_test.go`.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, Summary, SummaryDataPoint, number_data_point,
};
use otlp_ottl::{Transform, TransformConfig};

const DELTA: i32 = 1;
const CUMULATIVE: i32 = 2;

fn transform(yaml: &str) -> Transform {
    let config: TransformConfig = serde_norway::from_str(yaml).unwrap();
    Transform::new(&config).unwrap_or_else(|e| panic!("{e}"))
}

fn transform_error(yaml: &str) -> String {
    let config: TransformConfig = serde_norway::from_str(yaml).unwrap();
    match Transform::new(&config) {
        Ok(_) => panic!("the configuration compiled:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics(request: &ExportMetricsServiceRequest) -> &[Metric] {
    &request.resource_metrics[0].scope_metrics[0].metrics
}

fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.to_owned(),
        description: format!("{name} description"),
        unit: unit.to_owned(),
        metadata: Vec::new(),
        data: Some(data),
    }
}

fn number(
    value: number_data_point::Value,
    attributes: Vec<KeyValue>,
    start: u64,
    time: u64,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(value),
        ..Default::default()
    }
}

fn int(v: i64) -> number_data_point::Value {
    number_data_point::Value::AsInt(v)
}

fn double(v: f64) -> number_data_point::Value {
    number_data_point::Value::AsDouble(v)
}

fn histogram(temporality: i32) -> Data {
    Data::Histogram(Histogram {
        aggregation_temporality: temporality,
        data_points: vec![
            HistogramDataPoint {
                attributes: kvs(vec![("route", s("/a"))]),
                start_time_unix_nano: 10,
                time_unix_nano: 20,
                count: 7,
                sum: Some(12.5),
                bucket_counts: vec![3, 4],
                explicit_bounds: vec![1.0],
                ..Default::default()
            },
            // No sum: extract_sum_metric skips it, extract_count_metric does not.
            HistogramDataPoint {
                attributes: kvs(vec![("route", s("/b"))]),
                start_time_unix_nano: 11,
                time_unix_nano: 21,
                count: 2,
                sum: None,
                bucket_counts: vec![2, 0],
                explicit_bounds: vec![1.0],
                ..Default::default()
            },
        ],
    })
}

fn summary() -> Data {
    Data::Summary(Summary {
        data_points: vec![
            SummaryDataPoint {
                attributes: kvs(vec![("attr", s("one"))]),
                start_time_unix_nano: 100,
                time_unix_nano: 200,
                count: 1000,
                sum: 12.34,
                quantile_values: vec![
                    ValueAtQuantile {
                        quantile: 0.99,
                        value: 1.0,
                    },
                    ValueAtQuantile {
                        quantile: 0.5,
                        value: 0.1,
                    },
                ],
                flags: 0,
            },
            SummaryDataPoint {
                attributes: kvs(vec![("attr", s("two"))]),
                start_time_unix_nano: 101,
                time_unix_nano: 201,
                count: 5,
                sum: 2.0,
                quantile_values: vec![ValueAtQuantile {
                    quantile: 1.0,
                    value: 9.0,
                }],
                flags: 0,
            },
        ],
    })
}

fn sum_data(metric: &Metric) -> &Sum {
    match &metric.data {
        Some(Data::Sum(sum)) => sum,
        other => panic!("not a sum: {other:?}"),
    }
}

#[test]
fn copy_metric_adds_a_renamed_copy_that_later_statements_see() {
    let t = transform(
        r#"
metric_statements:
  - context: metric
    statements:
      - copy_metric(name = "http.latency.copy", unit = "ms") where metric.name == "http.latency"
      - set(metric.description, "seen") where metric.name == "http.latency.copy"
"#,
    );
    let original = metric("http.latency", "s", histogram(DELTA));
    let mut req = request(vec![original.clone()]);
    let stats = t.apply_metrics(&mut req).unwrap();
    assert_eq!(stats.errors, 0);
    let out = metrics(&req);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0], original, "the source is unchanged");
    let mut expected = original.clone();
    expected.name = "http.latency.copy".to_owned();
    expected.unit = "ms".to_owned();
    expected.description = "seen".to_owned();
    assert_eq!(out[1], expected);
}

#[test]
fn copy_metric_without_where_stops_at_the_growth_bound() {
    let t = transform(
        r#"
error_mode: ignore
metric_statements:
  - context: metric
    statements:
      - copy_metric()
"#,
    );
    let mut req = request(vec![metric("m", "1", histogram(DELTA))]);
    let error = t.apply_metrics(&mut req).unwrap_err().to_string();
    assert!(error.contains("copy_metric"), "{error}");
    assert!(error.contains("1010"), "{error}");
    // The list stopped just past the bound (10 x 1 + 1000), not growing forever.
    assert_eq!(metrics(&req).len(), 1011);
}

#[test]
fn extract_count_metric_from_a_histogram() {
    let t = transform(
        r#"
metric_statements:
  - context: metric
    statements:
      - extract_count_metric(true) where metric.name == "h"
"#,
    );
    let mut req = request(vec![metric("h", "s", histogram(DELTA))]);
    t.apply_metrics(&mut req).unwrap();
    let out = metrics(&req);
    assert_eq!(out.len(), 2);
    let expected = Metric {
        name: "h_count".to_owned(),
        description: "h description".to_owned(),
        unit: "1".to_owned(),
        metadata: Vec::new(),
        data: Some(Data::Sum(Sum {
            aggregation_temporality: DELTA,
            is_monotonic: true,
            data_points: vec![
                number(int(7), kvs(vec![("route", s("/a"))]), 10, 20),
                number(int(2), kvs(vec![("route", s("/b"))]), 11, 21),
            ],
        })),
    };
    assert_eq!(out[1], expected);
}

#[test]
fn extract_sum_metric_skips_points_without_a_sum_and_takes_a_suffix() {
    let t = transform(
        r#"
metric_statements:
  - context: metric
    statements:
      - extract_sum_metric(false, ".total") where metric.name == "h"
      - extract_sum_metric(true) where metric.name == "sm"
"#,
    );
    let mut req = request(vec![
        metric("h", "s", histogram(CUMULATIVE)),
        metric("sm", "ms", summary()),
    ]);
    t.apply_metrics(&mut req).unwrap();
    let out = metrics(&req);
    assert_eq!(out.len(), 4);
    assert_eq!(out[2].name, "h.total");
    assert_eq!(out[2].unit, "s");
    let sum = sum_data(&out[2]);
    assert_eq!(sum.aggregation_temporality, CUMULATIVE);
    assert!(!sum.is_monotonic);
    assert_eq!(
        sum.data_points,
        vec![number(double(12.5), kvs(vec![("route", s("/a"))]), 10, 20)]
    );
    // A summary has no temporality: cumulative, as in otelcol.
    assert_eq!(out[3].name, "sm_sum");
    let sum = sum_data(&out[3]);
    assert_eq!(sum.aggregation_temporality, CUMULATIVE);
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.data_points,
        vec![
            number(double(12.34), kvs(vec![("attr", s("one"))]), 100, 200),
            number(double(2.0), kvs(vec![("attr", s("two"))]), 101, 201),
        ]
    );
}

#[test]
fn extract_count_metric_on_a_gauge_is_an_error() {
    let t = transform(
        r#"
error_mode: propagate
metric_statements:
  - context: metric
    statements:
      - extract_count_metric(true)
"#,
    );
    let gauge = Data::Gauge(Gauge {
        data_points: vec![number(int(1), Vec::new(), 1, 2)],
    });
    let mut req = request(vec![metric("g", "1", gauge)]);
    let error = t.apply_metrics(&mut req).unwrap_err().to_string();
    assert!(error.contains("extract_count_metric"), "{error}");
    assert!(error.contains("Gauge"), "{error}");
    assert_eq!(metrics(&req).len(), 1);
}

#[test]
fn convert_summary_count_and_sum_val_to_sum_per_data_point() {
    let t = transform(
        r#"
metric_statements:
  - context: datapoint
    statements:
      - convert_summary_count_val_to_sum("delta", true) where metric.name == "sm"
      - convert_summary_sum_val_to_sum("cumulative", false, ".s") where metric.name == "sm"
"#,
    );
    let mut req = request(vec![metric("sm", "ms", summary())]);
    t.apply_metrics(&mut req).unwrap();
    let out = metrics(&req);
    // Each of the two points adds one count and one sum metric, each with every point.
    assert_eq!(out.len(), 5);
    let names: Vec<&str> = out.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["sm", "sm_count", "sm.s", "sm_count", "sm.s"]);
    let count = sum_data(&out[1]);
    assert_eq!(out[1].unit, "ms");
    assert_eq!(out[1].description, "sm description");
    assert_eq!(count.aggregation_temporality, DELTA);
    assert!(count.is_monotonic);
    assert_eq!(
        count.data_points,
        vec![
            number(int(1000), kvs(vec![("attr", s("one"))]), 100, 200),
            number(int(5), kvs(vec![("attr", s("two"))]), 101, 201),
        ]
    );
    let sum = sum_data(&out[2]);
    assert_eq!(sum.aggregation_temporality, CUMULATIVE);
    assert!(!sum.is_monotonic);
    assert_eq!(
        sum.data_points,
        vec![
            number(double(12.34), kvs(vec![("attr", s("one"))]), 100, 200),
            number(double(2.0), kvs(vec![("attr", s("two"))]), 101, 201),
        ]
    );
    assert_eq!(out[3], out[1]);
    assert_eq!(out[4], out[2]);
    // The summary keeps its points, in order.
    let Some(Data::Summary(s0)) = &out[0].data else {
        panic!()
    };
    assert_eq!(s0.data_points.len(), 2);
    assert_eq!(s0.data_points[0].count, 1000);
}

#[test]
fn convert_summary_quantile_val_to_gauge_one_point_per_quantile() {
    let t = transform(
        r#"
metric_statements:
  - context: metric
    statements:
      - convert_summary_quantile_val_to_gauge() where metric.name == "sm"
      - convert_summary_quantile_val_to_gauge("q", "_q") where metric.name == "sm"
"#,
    );
    let mut req = request(vec![metric("sm", "ms", summary())]);
    t.apply_metrics(&mut req).unwrap();
    let out = metrics(&req);
    assert_eq!(out.len(), 3);
    let expected = Metric {
        name: "sm.quantiles".to_owned(),
        description: "sm description".to_owned(),
        unit: "ms".to_owned(),
        metadata: Vec::new(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![
                number(
                    double(1.0),
                    kvs(vec![("attr", s("one")), ("quantile", s("0.99"))]),
                    100,
                    200,
                ),
                number(
                    double(0.1),
                    kvs(vec![("attr", s("one")), ("quantile", s("0.50"))]),
                    100,
                    200,
                ),
                number(
                    double(9.0),
                    kvs(vec![("attr", s("two")), ("quantile", s("1"))]),
                    101,
                    201,
                ),
            ],
        })),
    };
    assert_eq!(out[1], expected);
    assert_eq!(out[2].name, "sm_q");
    let Some(Data::Gauge(g)) = &out[2].data else {
        panic!()
    };
    assert_eq!(
        g.data_points[0].attributes,
        kvs(vec![("attr", s("one")), ("q", s("0.99"))])
    );
}

#[test]
fn bad_temporality_literal_is_a_compile_error() {
    let error = transform_error(
        r#"
metric_statements:
  - context: datapoint
    statements:
      - convert_summary_count_val_to_sum("sometimes", true)
"#,
    );
    assert!(error.contains("unknown aggregation temporality"), "{error}");
    let error = transform_error(
        r#"
metric_statements:
  - context: metric
    statements:
      - extract_sum_metric("yes")
"#,
    );
    assert!(error.contains("extract_sum_metric"), "{error}");
}
