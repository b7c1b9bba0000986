//! The metric functions of otelcol's transform processor (processor/transformprocessor/README.md,
//! "Metrics only functions") and the filter processor's `HasAttrKeyOnDatapoint` /
//! `HasAttrOnDatapoint` (processor/filterprocessor README, "OTTL Functions"), run through the
//! real engines over hand-built requests. Every expected value is written out by hand from the
//! README or the Go test cases.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, number_data_point,
};
use otlp_ottl::{Filter, FilterConfig, Transform, TransformConfig};

const DELTA: i32 = 1;
const CUMULATIVE: i32 = 2;

fn transform(yaml: &str) -> Transform {
    let config: TransformConfig = serde_norway::from_str(yaml).unwrap();
    Transform::new(&config).unwrap_or_else(|e| panic!("{e}"))
}

/// The error `Transform::new` reports for this configuration.
fn transform_error(yaml: &str) -> String {
    let config: TransformConfig = serde_norway::from_str(yaml).unwrap();
    match Transform::new(&config) {
        Ok(_) => panic!("the configuration compiled:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

fn filter(yaml: &str) -> Filter {
    let config: FilterConfig = serde_norway::from_str(yaml).unwrap();
    Filter::new(&config).unwrap_or_else(|e| panic!("{e}"))
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

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.to_owned(),
        description: format!("{name} description"),
        unit: "1".to_owned(),
        metadata: kvs(vec![("origin", s("receiver"))]),
        data: Some(data),
    }
}

fn int_point(value: i64, attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: 1_000,
        time_unix_nano: 2_000,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

fn double_point(value: f64, attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: 1_000,
        time_unix_nano: 2_000,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

/// The points of `Test_convertSumToGauge`: an int 10 and a double 14.5.
fn go_test_points() -> Vec<NumberDataPoint> {
    vec![
        int_point(10, kvs(vec![("host.name", s("a"))])),
        double_point(14.5, Vec::new()),
    ]
}

fn sum(points: Vec<NumberDataPoint>, temporality: i32, monotonic: bool) -> Data {
    Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality,
        is_monotonic: monotonic,
    })
}

fn gauge(points: Vec<NumberDataPoint>) -> Data {
    Data::Gauge(Gauge {
        data_points: points,
    })
}

fn summary_point(attributes: Vec<KeyValue>) -> SummaryDataPoint {
    SummaryDataPoint {
        attributes,
        count: 4,
        sum: 10.0,
        quantile_values: vec![
            ValueAtQuantile {
                quantile: 0.5,
                value: 2.0,
            },
            ValueAtQuantile {
                quantile: 0.99,
                value: 8.0,
            },
        ],
        ..Default::default()
    }
}

fn histogram_point(attributes: Vec<KeyValue>) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes,
        count: 17,
        sum: Some(12.0),
        bucket_counts: vec![5, 8, 3, 1],
        explicit_bounds: vec![1.0, 2.0, 4.0],
        exemplars: vec![
            Exemplar {
                value: Some(exemplar::Value::AsInt(4)),
                ..Default::default()
            },
            Exemplar {
                value: Some(exemplar::Value::AsDouble(3.0)),
                ..Default::default()
            },
        ],
        min: None,
        max: Some(8.0),
        ..Default::default()
    }
}

fn exponential_point(attributes: Vec<KeyValue>) -> ExponentialHistogramDataPoint {
    ExponentialHistogramDataPoint {
        attributes,
        count: 3,
        sum: Some(6.0),
        scale: 0,
        positive: Some(Buckets {
            offset: 0,
            bucket_counts: vec![1, 2],
        }),
        ..Default::default()
    }
}

// --- convert_sum_to_gauge ------------------------------------------------------------------

/// README "Context inference" / "convert_sum_to_gauge": the README's own first example,
/// `convert_sum_to_gauge() where metric.name == "system.processes.count"`, turns that sum into
/// a gauge with the same points and metadata; the sum of another name stays as it was.
#[test]
fn convert_sum_to_gauge_keeps_points_and_metadata() {
    let t = transform(
        r#"
metric_statements:
  - convert_sum_to_gauge() where metric.name == "system.processes.count"
"#,
    );
    let mut req = request(vec![
        metric(
            "system.processes.count",
            sum(go_test_points(), CUMULATIVE, true),
        ),
        metric("other", sum(go_test_points(), DELTA, false)),
    ]);
    let stats = t.apply_metrics(&mut req).unwrap();
    assert_eq!(stats.errors, 0);
    let expected = vec![
        Metric {
            name: "system.processes.count".to_owned(),
            description: "system.processes.count description".to_owned(),
            unit: "1".to_owned(),
            metadata: kvs(vec![("origin", s("receiver"))]),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![
                    int_point(10, kvs(vec![("host.name", s("a"))])),
                    double_point(14.5, Vec::new()),
                ],
            })),
        },
        metric("other", sum(go_test_points(), DELTA, false)),
    ];
    assert_eq!(metrics(&req), expected.as_slice());
}

/// README "convert_sum_to_gauge": "Noop for metrics that are not of type Sum" (the Go test's
/// gauge, histogram, exponential histogram and summary cases).
#[test]
fn convert_sum_to_gauge_leaves_other_types_alone() {
    let t = transform("metric_statements:\n  - convert_sum_to_gauge() where metric.name != \"\"\n");
    let others = vec![
        metric("g", gauge(go_test_points())),
        metric(
            "h",
            Data::Histogram(Histogram {
                data_points: vec![histogram_point(Vec::new())],
                aggregation_temporality: CUMULATIVE,
            }),
        ),
        metric(
            "e",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![exponential_point(Vec::new())],
                aggregation_temporality: DELTA,
            }),
        ),
        metric(
            "s",
            Data::Summary(Summary {
                data_points: vec![summary_point(Vec::new())],
            }),
        ),
    ];
    let mut req = request(others.clone());
    let stats = t.apply_metrics(&mut req).unwrap();
    assert_eq!(stats.errors, 0);
    assert_eq!(metrics(&req), others.as_slice());
}

// --- convert_gauge_to_sum ------------------------------------------------------------------

/// README "convert_gauge_to_sum": both examples, `("cumulative", false)` and `("delta", true)`,
/// set the temporality and monotonicity and keep the points; a sum is left alone.
#[test]
fn convert_gauge_to_sum_sets_temporality_and_monotonicity() {
    let t = transform(
        r#"
metric_statements:
  - convert_gauge_to_sum("cumulative", false) where metric.name == "a"
  - convert_gauge_to_sum("delta", true) where metric.name == "b"
  - convert_gauge_to_sum("delta", true) where metric.name == "c"
"#,
    );
    let mut req = request(vec![
        metric("a", gauge(go_test_points())),
        metric("b", gauge(go_test_points())),
        metric("c", sum(go_test_points(), CUMULATIVE, false)),
    ]);
    let stats = t.apply_metrics(&mut req).unwrap();
    assert_eq!(stats.errors, 0);
    let points = || {
        vec![
            int_point(10, kvs(vec![("host.name", s("a"))])),
            double_point(14.5, Vec::new()),
        ]
    };
    let got = metrics(&req);
    assert_eq!(
        got[0].data,
        Some(Data::Sum(Sum {
            data_points: points(),
            aggregation_temporality: 2,
            is_monotonic: false,
        }))
    );
    assert_eq!(
        got[1].data,
        Some(Data::Sum(Sum {
            data_points: points(),
            aggregation_temporality: 1,
            is_monotonic: true,
        }))
    );
    assert_eq!(
        got[2].data,
        Some(Data::Sum(Sum {
            data_points: points(),
            aggregation_temporality: 2,
            is_monotonic: false,
        }))
    );
    assert_eq!(got[0].name, "a");
    assert_eq!(got[0].unit, "1");
    assert_eq!(got[0].metadata, kvs(vec![("origin", s("receiver"))]));
}

/// README "convert_gauge_to_sum": `aggregation_temporality` is "cumulative" or "delta";
/// anything else is refused when the configuration is loaded (Go: "unknown aggregation
/// temporality").
#[test]
fn convert_gauge_to_sum_refuses_an_unknown_temporality() {
    let error = transform_error(
        "metric_statements:\n  - convert_gauge_to_sum(\"monthly\", false) where metric.name == \"a\"\n",
    );
    assert!(
        error.contains("unknown aggregation temporality `monthly`"),
        "{error}"
    );
    let error = transform_error(
        "metric_statements:\n  - convert_gauge_to_sum(\"delta\", \"yes\") where metric.name == \"a\"\n",
    );
    assert!(error.contains("`monotonic`"), "{error}");
}

// --- contexts ------------------------------------------------------------------------------

/// README "Context inference": `convert_sum_to_gauge` with a `datapoint` path in the same
/// group "cannot be parsed"; in separate groups both work.
#[test]
fn metric_only_functions_cannot_share_a_group_with_datapoint_paths() {
    let error = transform_error(
        r#"
metric_statements:
  - convert_sum_to_gauge() where metric.name == "system.processes.count"
  - limit(datapoint.attributes, 100, ["host.name"])
"#,
    );
    assert!(error.contains("`convert_sum_to_gauge`"), "{error}");

    let t = transform(
        r#"
metric_statements:
  - statements:
    - convert_sum_to_gauge() where metric.name == "system.processes.count"
  - statements:
      - limit(datapoint.attributes, 100, ["host.name"])
"#,
    );
    let mut req = request(vec![metric(
        "system.processes.count",
        sum(vec![int_point(3, Vec::new())], CUMULATIVE, true),
    )]);
    t.apply_metrics(&mut req).unwrap();
    assert_eq!(
        metrics(&req)[0].data,
        Some(gauge(vec![int_point(3, Vec::new())]))
    );
}

/// README "Metrics only functions": an explicit `datapoint` group, or trace statements, cannot
/// use them.
#[test]
fn metric_only_functions_are_refused_in_other_contexts() {
    let error = transform_error(
        r#"
metric_statements:
  - context: datapoint
    statements:
      - convert_sum_to_gauge()
"#,
    );
    assert!(
        error.contains("`convert_sum_to_gauge` is not available in the datapoint context"),
        "{error}"
    );
    let error =
        transform_error("trace_statements:\n  - scale_metric(2.0) where span.name == \"x\"\n");
    assert!(error.contains("`scale_metric`"), "{error}");
    let error = transform_error(
        r#"
trace_statements:
  - context: span
    statements:
      - set(span.attributes["x"], "y") where HasAttrKeyOnDatapoint("k")
"#,
    );
    assert!(
        error.contains("`HasAttrKeyOnDatapoint` is not available in the span context"),
        "{error}"
    );
}

// --- scale_metric --------------------------------------------------------------------------

/// README "scale_metric": `scale_metric(10.0, "kWh")` scales gauge and sum points and sets the
/// unit; integers stay integers (Go's `int64(float64(v) * factor)` truncates toward zero).
#[test]
fn scale_metric_scales_numbers_and_sets_the_unit() {
    let t = transform(
        r#"
metric_statements:
  - scale_metric(10.0, "kWh") where metric.name == "energy"
  - scale_metric(0.5) where metric.name == "half"
"#,
    );
    let mut req = request(vec![
        metric("energy", gauge(go_test_points())),
        metric(
            "half",
            sum(
                vec![int_point(5, Vec::new()), int_point(-5, Vec::new())],
                DELTA,
                false,
            ),
        ),
    ]);
    let stats = t.apply_metrics(&mut req).unwrap();
    assert_eq!(stats.errors, 0);
    let got = metrics(&req);
    assert_eq!(got[0].unit, "kWh");
    assert_eq!(
        got[0].data,
        Some(gauge(vec![
            int_point(100, kvs(vec![("host.name", s("a"))])),
            double_point(145.0, Vec::new()),
        ]))
    );
    assert_eq!(got[1].unit, "1", "no unit given: unchanged");
    assert_eq!(
        got[1].data,
        Some(sum(
            vec![int_point(2, Vec::new()), int_point(-2, Vec::new())],
            DELTA,
            false
        ))
    );
}

/// README "scale_metric": histograms (sum, min, max when set, bounds, exemplars) and
/// summaries (sum, quantile values) are scaled; counts are not (Go `scaleHistogram`,
/// `scaleSummarySlice`).
#[test]
fn scale_metric_scales_histograms_and_summaries() {
    let t = transform("metric_statements:\n  - scale_metric(0.5) where metric.name != \"\"\n");
    let mut req = request(vec![
        metric(
            "h",
            Data::Histogram(Histogram {
                data_points: vec![histogram_point(Vec::new())],
                aggregation_temporality: CUMULATIVE,
            }),
        ),
        metric(
            "s",
            Data::Summary(Summary {
                data_points: vec![summary_point(Vec::new())],
            }),
        ),
    ]);
    let stats = t.apply_metrics(&mut req).unwrap();
    assert_eq!(stats.errors, 0);
    let got = metrics(&req);
    let Some(Data::Histogram(h)) = &got[0].data else {
        panic!("{:?}", got[0].data)
    };
    let p = &h.data_points[0];
    assert_eq!(p.count, 17);
    assert_eq!(p.sum, Some(6.0));
    assert_eq!(p.min, None, "an unset min stays unset");
    assert_eq!(p.max, Some(4.0));
    assert_eq!(p.explicit_bounds, vec![0.5, 1.0, 2.0]);
    assert_eq!(p.bucket_counts, vec![5, 8, 3, 1]);
    assert_eq!(p.exemplars[0].value, Some(exemplar::Value::AsInt(2)));
    assert_eq!(p.exemplars[1].value, Some(exemplar::Value::AsDouble(1.5)));
    let Some(Data::Summary(summary)) = &got[1].data else {
        panic!("{:?}", got[1].data)
    };
    let p = &summary.data_points[0];
    assert_eq!(p.count, 4);
    assert_eq!(p.sum, 5.0);
    assert_eq!(
        p.quantile_values,
        vec![
            ValueAtQuantile {
                quantile: 0.5,
                value: 1.0
            },
            ValueAtQuantile {
                quantile: 0.99,
                value: 4.0
            },
        ]
    );
}

/// README "scale_metric": "Supported metric types are Gauge, Sum, Histogram, and Summary";
/// an exponential histogram is an error (Go: "exponential histograms are not supported by the
/// 'scale_metric' function") and keeps its unit. A factor must be a number literal.
#[test]
fn scale_metric_refuses_exponential_histograms_and_non_literal_factors() {
    let t = transform(
        r#"
error_mode: propagate
metric_statements:
  - scale_metric(2.0, "ms") where metric.name == "e"
"#,
    );
    let original = metric(
        "e",
        Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![exponential_point(Vec::new())],
            aggregation_temporality: DELTA,
        }),
    );
    let mut req = request(vec![original.clone()]);
    let error = t.apply_metrics(&mut req).unwrap_err().to_string();
    assert!(
        error.contains("exponential histograms are not supported"),
        "{error}"
    );
    assert_eq!(metrics(&req), &[original]);

    let error = transform_error(
        "metric_statements:\n  - scale_metric(metric.name) where metric.name == \"e\"\n",
    );
    assert!(error.contains("must be a number literal"), "{error}");
}

// --- HasAttrKeyOnDatapoint / HasAttrOnDatapoint --------------------------------------------

fn attrs_request() -> ExportMetricsServiceRequest {
    request(vec![
        // Test_HasAttrKeyOnDatapoint "attribute present on sum datapoint".
        metric(
            "sum_pass",
            sum(
                vec![int_point(1, kvs(vec![("test", s("pass"))]))],
                DELTA,
                true,
            ),
        ),
        // "... on histogram datapoint".
        metric(
            "histogram_pass",
            Data::Histogram(Histogram {
                data_points: vec![histogram_point(kvs(vec![("test", s("pass"))]))],
                aggregation_temporality: DELTA,
            }),
        ),
        // "... on summary datapoint", with another value.
        metric(
            "summary_fail",
            Data::Summary(Summary {
                data_points: vec![summary_point(kvs(vec![("test", s("fail"))]))],
            }),
        ),
        // "attribute not present on gauge datapoint".
        metric("gauge_none", gauge(vec![int_point(1, Vec::new())])),
        // "attribute present on expo histogram datapoint not string".
        metric(
            "exponential_bool",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![exponential_point(kvs(vec![("test", b(true))]))],
                aggregation_temporality: DELTA,
            }),
        ),
    ])
}

fn names(request: &ExportMetricsServiceRequest) -> Vec<&str> {
    metrics(request).iter().map(|m| m.name.as_str()).collect()
}

/// filterprocessor README, "OTTL Functions": `HasAttrKeyOnDatapoint(key)` holds when any data
/// point of the metric has the key, whatever its value (Go `Test_HasAttrKeyOnDatapoint`).
#[test]
fn has_attr_key_on_datapoint_drops_metrics_with_the_key() {
    let f = filter(
        r#"
metrics:
  metric:
    - 'HasAttrKeyOnDatapoint("test")'
"#,
    );
    let mut req = attrs_request();
    let stats = f.filter_metrics(&mut req).unwrap();
    assert_eq!(names(&req), vec!["gauge_none"]);
    assert_eq!(stats.metrics, 4);
    assert_eq!(stats.data_points, 4);
}

/// filterprocessor README, "OTTL Functions": `HasAttrOnDatapoint(key, value)` compares the
/// value as a string; in Go a non-string value reads as "" (`Test_HasAttrOnDatapoint` "not
/// string" cases, whose expected value is the empty string).
#[test]
fn has_attr_on_datapoint_drops_metrics_with_the_value() {
    let f = filter(
        r#"
metrics:
  metric:
    - 'HasAttrOnDatapoint("test", "pass")'
"#,
    );
    let mut req = attrs_request();
    f.filter_metrics(&mut req).unwrap();
    assert_eq!(
        names(&req),
        vec!["summary_fail", "gauge_none", "exponential_bool"]
    );

    let f = filter(
        r#"
metrics:
  metric:
    - 'HasAttrOnDatapoint("test", "")'
"#,
    );
    let mut req = attrs_request();
    f.filter_metrics(&mut req).unwrap();
    assert_eq!(
        names(&req),
        vec!["sum_pass", "histogram_pass", "summary_fail", "gauge_none"]
    );
}

/// Go `checkNumberDataPointSlice`: the first data point carrying the key decides; a later
/// point with the expected value does not count.
#[test]
fn has_attr_on_datapoint_looks_at_the_first_point_with_the_key() {
    let f = filter(
        r#"
metrics:
  metric:
    - 'HasAttrOnDatapoint("test", "pass")'
"#,
    );
    let mut req = request(vec![
        metric(
            "first_fails",
            gauge(vec![
                int_point(1, Vec::new()),
                int_point(2, kvs(vec![("test", s("fail"))])),
                int_point(3, kvs(vec![("test", s("pass"))])),
            ]),
        ),
        metric(
            "first_passes",
            gauge(vec![
                int_point(1, Vec::new()),
                int_point(2, kvs(vec![("test", s("pass"))])),
                int_point(3, kvs(vec![("test", s("fail"))])),
            ]),
        ),
    ]);
    f.filter_metrics(&mut req).unwrap();
    assert_eq!(names(&req), vec!["first_fails"]);
}

/// filterprocessor README: the functions belong to the `metric` context; a `datapoint`
/// condition cannot use them.
#[test]
fn has_attr_functions_are_refused_in_the_datapoint_context() {
    let config: FilterConfig =
        serde_norway::from_str("metrics:\n  datapoint:\n    - 'HasAttrKeyOnDatapoint(\"test\")'\n")
            .unwrap();
    let error = match Filter::new(&config) {
        Ok(_) => panic!("compiled"),
        Err(e) => e.to_string(),
    };
    assert!(
        error.contains("`HasAttrKeyOnDatapoint` is not available in the datapoint context"),
        "{error}"
    );
}

// --- merge_histogram_buckets ---------------------------------------------------------------

fn explicit(bounds: Vec<f64>, counts: Vec<u64>) -> Metric {
    metric(
        "http_request_duration",
        Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                count: counts.iter().sum(),
                sum: Some(3.5),
                bucket_counts: counts,
                explicit_bounds: bounds,
                ..Default::default()
            }],
            aggregation_temporality: CUMULATIVE,
        }),
    )
}

fn bounds_and_counts(request: &ExportMetricsServiceRequest) -> (Vec<f64>, Vec<u64>, u64) {
    let Some(Data::Histogram(h)) = &metrics(request)[0].data else {
        panic!("not a histogram")
    };
    let p = &h.data_points[0];
    (p.explicit_bounds.clone(), p.bucket_counts.clone(), p.count)
}

/// README "merge_histogram_buckets", first example: `merge_histogram_buckets(0.5) where
/// metric.name == "http_request_duration"` (its context is inferred as `datapoint`, where
/// otelcol registers the function) turns bounds [0.1, 0.5, 1.0] / counts [5, 8, 3, 1] into
/// [0.1, 1.0] / [5, 11, 1]; a bound that is not there changes nothing.
#[test]
fn merge_histogram_buckets_removes_a_bound() {
    let t = transform(
        r#"
metric_statements:
  - merge_histogram_buckets(0.5) where metric.name == "http_request_duration"
"#,
    );
    let mut req = request(vec![explicit(vec![0.1, 0.5, 1.0], vec![5, 8, 3, 1])]);
    let stats = t.apply_metrics(&mut req).unwrap();
    assert_eq!(stats.errors, 0);
    assert_eq!(
        bounds_and_counts(&req),
        (vec![0.1, 1.0], vec![5, 11, 1], 17)
    );

    let t = transform(
        "metric_statements:\n  - merge_histogram_buckets(0.7) where metric.name == \"http_request_duration\"\n",
    );
    let mut req = request(vec![explicit(vec![0.1, 0.5, 1.0], vec![5, 8, 3, 1])]);
    t.apply_metrics(&mut req).unwrap();
    assert_eq!(
        bounds_and_counts(&req),
        (vec![0.1, 0.5, 1.0], vec![5, 8, 3, 1], 17)
    );
}

/// README "merge_histogram_buckets", second example: `merge_histogram_buckets(5,
/// method="limit_buckets")` merges pairs: bounds [0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0] /
/// counts [80, 4, 6, 120, 3, 2, 40, 10, 1] become [0.2, 1.0, 5.0, 30.0] / [84, 126, 5, 50, 1].
#[test]
fn merge_histogram_buckets_limits_the_bucket_count() {
    let t = transform(
        r#"
metric_statements:
  - merge_histogram_buckets(5, method="limit_buckets") where metric.name == "http_request_duration"
"#,
    );
    let mut req = request(vec![explicit(
        vec![0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
        vec![80, 4, 6, 120, 3, 2, 40, 10, 1],
    )]);
    let stats = t.apply_metrics(&mut req).unwrap();
    assert_eq!(stats.errors, 0);
    assert_eq!(
        bounds_and_counts(&req),
        (vec![0.2, 1.0, 5.0, 30.0], vec![84, 126, 5, 50, 1], 266)
    );
}

/// README "merge_histogram_buckets": `limit_buckets` wants a positive integer and the method
/// is one of two; both are checked when the configuration loads. In an explicit `metric`
/// group the function is not available.
#[test]
fn merge_histogram_buckets_checks_its_arguments_and_context() {
    let error = transform_error(
        "metric_statements:\n  - merge_histogram_buckets(2.5, method=\"limit_buckets\") where metric.name == \"h\"\n",
    );
    assert!(error.contains("must be a positive integer"), "{error}");
    let error = transform_error(
        "metric_statements:\n  - merge_histogram_buckets(2, \"halve\") where metric.name == \"h\"\n",
    );
    assert!(error.contains("unsupported method \"halve\""), "{error}");
    let error = transform_error(
        "metric_statements:\n  - context: metric\n    statements:\n      - merge_histogram_buckets(0.5)\n",
    );
    assert!(
        error.contains("`merge_histogram_buckets` is not available in the metric context"),
        "{error}"
    );
}

// --- convert_exponential_histogram_to_histogram --------------------------------------------

/// The exponential histogram of the Go tests `TestMidpoint_...`/`TestUniform_...`: scale 0,
/// positive offset 5, bucket counts [10, 22, 12] (buckets [32, 64], [64, 128], [128, 256]),
/// count 44, sum 999, min 40, max 245.
fn go_exponential(zero_count: u64) -> Metric {
    metric(
        "test-metric",
        Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                attributes: kvs(vec![("metric_type", s("timing"))]),
                time_unix_nano: 5_000,
                count: 44,
                sum: Some(999.0),
                scale: 0,
                zero_count,
                positive: Some(Buckets {
                    offset: 5,
                    bucket_counts: vec![10, 22, 12],
                }),
                min: Some(40.0),
                max: Some(245.0),
                ..Default::default()
            }],
            aggregation_temporality: DELTA,
        }),
    )
}

fn converted(distribution: &str, bounds: &str, input: Metric) -> Metric {
    let t = transform(&format!(
        "metric_statements:\n  - convert_exponential_histogram_to_histogram(\"{distribution}\", {bounds}) where metric.name != \"\"\n"
    ));
    let mut req = request(vec![input]);
    let stats = t.apply_metrics(&mut req).unwrap();
    assert_eq!(stats.errors, 0);
    metrics(&req)[0].clone()
}

/// The expected histogram of those Go tests, with the given bounds and counts. otelcol builds
/// a new metric from name, description and unit, so the metadata is gone.
fn go_expected(bounds: Vec<f64>, counts: Vec<u64>) -> Metric {
    Metric {
        name: "test-metric".to_owned(),
        description: "test-metric description".to_owned(),
        unit: "1".to_owned(),
        metadata: Vec::new(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: kvs(vec![("metric_type", s("timing"))]),
                time_unix_nano: 5_000,
                count: 44,
                sum: Some(999.0),
                bucket_counts: counts,
                explicit_bounds: bounds,
                min: Some(40.0),
                max: Some(245.0),
                ..Default::default()
            }],
            aggregation_temporality: DELTA,
        })),
    }
}

/// README "convert_exponential_histogram_to_histogram", `midpoint`; Go
/// `TestMidpoint_convert_exponential_hist_to_explicit_hist` "convert exponential histogram to
/// explicit hist" and "... with zero count" (the zero count goes to a leading 0 bound).
#[test]
fn exponential_to_histogram_midpoint() {
    assert_eq!(
        converted(
            "midpoint",
            "[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]",
            go_exponential(0)
        ),
        go_expected(
            vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
            vec![0, 0, 0, 10, 0, 0, 0, 0, 22, 12]
        )
    );
    assert_eq!(
        converted(
            "midpoint",
            "[0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]",
            go_exponential(5)
        ),
        go_expected(
            vec![
                0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0
            ],
            vec![5, 0, 0, 0, 10, 0, 0, 0, 0, 22, 12]
        )
    );
}

/// Go `TestUpper_...` "convert exponential histogram to explicit history": scale 7, offset
/// 944, one count in the first and one in the thirtieth bucket ([166.0, 166.9] and
/// [194.2, 195.3]) fall into the bounds 170 and 200.
#[test]
fn exponential_to_histogram_upper() {
    let mut bucket_counts = vec![0u64; 30];
    bucket_counts[0] = 1;
    bucket_counts[29] = 1;
    let input = metric(
        "response_time",
        Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                count: 2,
                sum: Some(361.0),
                scale: 7,
                positive: Some(Buckets {
                    offset: 944,
                    bucket_counts,
                }),
                min: Some(166.0),
                max: Some(195.0),
                ..Default::default()
            }],
            aggregation_temporality: DELTA,
        }),
    );
    let out = converted("upper", "[160.0, 170.0, 180.0, 190.0, 200.0]", input);
    let Some(Data::Histogram(h)) = &out.data else {
        panic!("{out:?}")
    };
    assert_eq!(h.data_points[0].bucket_counts, vec![1, 0, 0, 1, 0]);
    assert_eq!(h.data_points[0].count, 2);
}

/// README "convert_exponential_histogram_to_histogram", `uniform`: the README's example, a
/// count of 10 over a bucket whose range spans the bounds 10, 15 and 20 of [5, 10, 15, 20, 25]
/// gives [0, 4, 3, 3, 0] (here the exponential bucket [8, 16], scale 0, index 3). Go
/// `TestUniform_...` "smaller bounds": everything lands in the last bucket.
#[test]
fn exponential_to_histogram_uniform() {
    let input = metric(
        "u",
        Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                count: 10,
                scale: 0,
                positive: Some(Buckets {
                    offset: 3,
                    bucket_counts: vec![10],
                }),
                ..Default::default()
            }],
            aggregation_temporality: CUMULATIVE,
        }),
    );
    let out = converted("uniform", "[5.0, 10.0, 15.0, 20.0, 25.0]", input);
    let Some(Data::Histogram(h)) = &out.data else {
        panic!("{out:?}")
    };
    assert_eq!(h.data_points[0].bucket_counts, vec![0, 4, 3, 3, 0]);
    assert_eq!(h.aggregation_temporality, CUMULATIVE);
    assert_eq!(
        h.data_points[0].sum,
        Some(0.0),
        "otelcol always sets the sum"
    );

    assert_eq!(
        converted("uniform", "[1.0, 2.0, 3.0, 4.0, 5.0]", go_exponential(0)),
        go_expected(vec![1.0, 2.0, 3.0, 4.0, 5.0], vec![0, 0, 0, 0, 44])
    );
}

/// README "convert_exponential_histogram_to_histogram", `random`: counts go randomly to the
/// spanned bounds, and none is lost; above the last bound everything goes to the last bucket
/// (Go `TestRandom_...` "smaller bounds").
#[test]
fn exponential_to_histogram_random_keeps_every_count() {
    assert_eq!(
        converted("random", "[1.0, 2.0, 3.0, 4.0, 5.0]", go_exponential(0)),
        go_expected(vec![1.0, 2.0, 3.0, 4.0, 5.0], vec![0, 0, 0, 0, 44])
    );
    let out = converted(
        "random",
        "[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]",
        go_exponential(0),
    );
    let Some(Data::Histogram(h)) = &out.data else {
        panic!("{out:?}")
    };
    let counts = &h.data_points[0].bucket_counts;
    assert_eq!(counts.iter().sum::<u64>(), 44);
    // [32, 64] spans the bounds 40..70, [64, 128] the bounds 70..100, [128, 256] is above
    // the last bound: nothing can land below 40, and the last bucket has at least 12.
    assert_eq!(&counts[..3], &[0, 0, 0]);
    assert!(counts[9] >= 12);
}

/// README "convert_exponential_histogram_to_histogram": the bounds "cannot be empty", the
/// distribution is one of four; other metric types are left alone (Go "non-exponential
/// histogram").
#[test]
fn exponential_to_histogram_checks_arguments_and_skips_other_types() {
    let error = transform_error(
        "metric_statements:\n  - convert_exponential_histogram_to_histogram(\"upper\", []) where metric.name == \"x\"\n",
    );
    assert!(error.contains("explicit bounds cannot be empty"), "{error}");
    let error = transform_error(
        "metric_statements:\n  - convert_exponential_histogram_to_histogram(\"linear\", [1.0]) where metric.name == \"x\"\n",
    );
    assert!(
        error.contains("invalid conversion function: linear"),
        "{error}"
    );
    let g = metric("g", gauge(go_test_points()));
    assert_eq!(converted("upper", "[0.0]", g.clone()), g);
}
