//! `extract_percentile_metric`, `aggregate_on_attributes` and `aggregate_on_attribute_value`,
//! run through the real `Transform` over hand-built requests. Expected values are written by
//! hand from otelcol's transform processor README and `func_*_test.go`.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    number_data_point,
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

/// One metric-context statement, errors propagated.
fn statement(statement: &str) -> Transform {
    transform(&format!(
        "error_mode: propagate\nmetric_statements:\n  - context: metric\n    statements:\n      - '{statement}'\n"
    ))
}

fn statement_error(statement: &str) -> String {
    transform_error(&format!(
        "metric_statements:\n  - context: metric\n    statements:\n      - '{statement}'\n"
    ))
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

/// Runs `t` over one metric and returns the scope's metrics afterwards.
fn run(t: &Transform, metric: Metric) -> Vec<Metric> {
    let mut req = request(vec![metric]);
    let stats = t.apply_metrics(&mut req).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.errors, 0);
    metrics(&req).to_vec()
}

fn run_error(t: &Transform, metric: Metric) -> String {
    let mut req = request(vec![metric]);
    t.apply_metrics(&mut req).unwrap_err().to_string()
}

fn metric(name: &str, description: &str, data: Data) -> Metric {
    Metric {
        name: name.to_owned(),
        description: description.to_owned(),
        unit: "ms".to_owned(),
        metadata: Vec::new(),
        data: Some(data),
    }
}

fn histogram(point: HistogramDataPoint) -> Data {
    Data::Histogram(Histogram {
        data_points: vec![point],
        aggregation_temporality: CUMULATIVE,
    })
}

fn hist_point(count: u64, counts: &[u64], bounds: &[f64]) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: kvs(vec![("route", s("/a"))]),
        start_time_unix_nano: 1_000_000_000,
        time_unix_nano: 2_000_000_000,
        count,
        bucket_counts: counts.to_vec(),
        explicit_bounds: bounds.to_vec(),
        ..Default::default()
    }
}

fn exponential(point: ExponentialHistogramDataPoint) -> Data {
    Data::ExponentialHistogram(ExponentialHistogram {
        data_points: vec![point],
        aggregation_temporality: CUMULATIVE,
    })
}

fn exp_point(
    scale: i32,
    count: u64,
    zero_count: u64,
    negative: &[u64],
    positive: &[u64],
) -> ExponentialHistogramDataPoint {
    let buckets = |counts: &[u64]| {
        (!counts.is_empty()).then(|| Buckets {
            offset: 0,
            bucket_counts: counts.to_vec(),
        })
    };
    ExponentialHistogramDataPoint {
        attributes: kvs(vec![("route", s("/a"))]),
        start_time_unix_nano: 1_500_000_000,
        time_unix_nano: 2_500_000_000,
        count,
        scale,
        zero_count,
        negative: buckets(negative),
        positive: buckets(positive),
        ..Default::default()
    }
}

/// The one gauge point of the metric the statement added, after checking its shape.
fn added_value(out: &[Metric], name: &str) -> f64 {
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(out[1].name, name);
    let Some(Data::Gauge(gauge)) = &out[1].data else {
        panic!("not a gauge: {:?}", out[1].data);
    };
    assert_eq!(gauge.data_points.len(), 1);
    match gauge.data_points[0].value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        ref other => panic!("not a double: {other:?}"),
    }
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "expected {expected}, got {actual}"
    );
}

// --- extract_percentile_metric ---------------------------------------------------------------

#[test]
fn percentile_in_the_first_bucket_interpolates_from_zero() {
    let t = statement("extract_percentile_metric(50.0)");
    let source = metric(
        "response_time",
        "latency",
        histogram(hist_point(100, &[60, 40], &[1.0])),
    );
    let out = run(&t, source.clone());
    assert_eq!(out[0], source, "the source is unchanged");
    // Target 50th observation of 60 in [0, 1].
    assert_close(added_value(&out, "response_time_p50"), 0.8333333333333334);
    assert_eq!(out[1].description, "latency (p50)");
    assert_eq!(out[1].unit, "ms");
    let Some(Data::Gauge(gauge)) = &out[1].data else {
        unreachable!()
    };
    let point = &gauge.data_points[0];
    assert_eq!(point.attributes, kvs(vec![("route", s("/a"))]));
    assert_eq!(point.start_time_unix_nano, 1_000_000_000);
    assert_eq!(point.time_unix_nano, 2_000_000_000);
}

#[test]
fn percentile_inside_and_past_the_last_bound() {
    // p95 of 115: the 110th observation, 25th of 50 in (3, 5].
    let t = statement("extract_percentile_metric(95)");
    let out = run(
        &t,
        metric(
            "latency",
            "",
            histogram(hist_point(115, &[50, 35, 50, 15], &[1.0, 3.0, 5.0])),
        ),
    );
    assert_close(added_value(&out, "latency_p95"), 4.0);
    assert_eq!(out[1].description, "p95", "no source description");

    // In the open last bucket with Max 750: (500, 750], 24th of 25.
    let t = statement("extract_percentile_metric(99.0)");
    let mut point = hist_point(100, &[25, 50, 25], &[100.0, 500.0]);
    point.max = Some(750.0);
    let out = run(&t, metric("response_size", "", histogram(point)));
    assert_close(added_value(&out, "response_size_p99"), 740.0);

    // Without Max, the last bucket's lower bound; the default suffix keeps the decimal.
    let t = statement("extract_percentile_metric(99.9)");
    let out = run(
        &t,
        metric(
            "request_duration",
            "d",
            histogram(hist_point(
                1000,
                &[100, 400, 400, 95, 5],
                &[0.1, 0.5, 1.0, 5.0],
            )),
        ),
    );
    assert_close(added_value(&out, "request_duration_p99.9"), 5.0);
    assert_eq!(out[1].description, "d (p99.9)");
}

#[test]
fn percentile_uses_min_for_the_first_bucket_and_min_max_for_a_single_bucket() {
    let t = statement(r#"extract_percentile_metric(50.0, "_median")"#);
    let mut point = hist_point(100, &[100, 0], &[-5.0]);
    point.min = Some(-10.0);
    let out = run(&t, metric("negative_with_min", "", histogram(point)));
    assert_close(added_value(&out, "negative_with_min_median"), -7.5);

    // A negative first bound without Min: the bound itself.
    let out = run(
        &t,
        metric(
            "all_negative",
            "",
            histogram(hist_point(100, &[100, 0], &[-5.0])),
        ),
    );
    assert_close(added_value(&out, "all_negative_median"), -5.0);

    let mut point = hist_point(100, &[100], &[]);
    point.min = Some(5.0);
    point.max = Some(25.0);
    let out = run(&t, metric("no_bounds", "", histogram(point)));
    assert_close(added_value(&out, "no_bounds_median"), 15.0);
}

#[test]
fn percentile_skips_points_without_data_and_other_types() {
    let t = statement("extract_percentile_metric(50.0)");
    for data in [
        histogram(hist_point(0, &[0, 0], &[1.0])),
        histogram(hist_point(10, &[], &[])),
        // One unbounded bucket without Min and Max.
        histogram(hist_point(100, &[100], &[])),
        exponential(exp_point(0, 0, 0, &[], &[])),
        exponential(exp_point(0, 10, 0, &[], &[])),
        Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                value: Some(number_data_point::Value::AsDouble(42.0)),
                ..Default::default()
            }],
        }),
    ] {
        let source = metric("m", "", data);
        assert_eq!(run(&t, source.clone()), vec![source]);
    }
}

#[test]
fn percentile_of_exponential_histograms_interpolates_logarithmically() {
    // Scale 0, bucket 1 is (2, 4]: the 20th of 40, halfway in log space.
    let t = statement(r#"extract_percentile_metric(50.0, suffix = "_median")"#);
    let out = run(
        &t,
        metric(
            "latency_exp",
            "",
            exponential(exp_point(0, 100, 0, &[], &[30, 40, 30])),
        ),
    );
    assert_close(added_value(&out, "latency_exp_median"), 2.82842712474619);

    let t = statement("extract_percentile_metric(95.0)");
    let out = run(
        &t,
        metric(
            "response_time",
            "",
            exponential(exp_point(2, 210, 0, &[], &[20, 30, 40, 50, 30, 35, 5])),
        ),
    );
    assert_close(added_value(&out, "response_time_p95"), 2.7592682406908096);

    // Scale -1, bucket 4 is (256, 1024].
    let t = statement("extract_percentile_metric(99.0)");
    let out = run(
        &t,
        metric(
            "coarse",
            "",
            exponential(exp_point(-1, 500, 0, &[], &[100, 200, 150, 40, 10])),
        ),
    );
    assert_close(added_value(&out, "coarse_p99"), 512.0);
}

#[test]
fn percentile_of_exponential_histograms_in_negative_and_zero_buckets() {
    // The 25th observation from the most negative: bucket 2 is [-8, -4), 15th of 20.
    let t = statement("extract_percentile_metric(25.0)");
    let out = run(
        &t,
        metric(
            "mostly_negative",
            "",
            exponential(exp_point(0, 100, 5, &[15, 35, 20, 10], &[15])),
        ),
    );
    assert_close(added_value(&out, "mostly_negative_p25"), -4.756828460010884);

    // Zero bucket with only negative buckets: [-1, 0], 10th of 80.
    let t = statement("extract_percentile_metric(30.0)");
    let mut point = exp_point(0, 100, 80, &[20], &[]);
    point.zero_threshold = 1.0;
    let out = run(&t, metric("zero_negative", "", exponential(point)));
    assert_close(added_value(&out, "zero_negative_p30"), -0.875);

    // Zero bucket with only positive buckets: [0, 1], 60th of 80.
    let t = statement("extract_percentile_metric(60.0)");
    let mut point = exp_point(0, 100, 80, &[], &[20]);
    point.zero_threshold = 1.0;
    let out = run(&t, metric("zero_positive", "", exponential(point)));
    assert_close(added_value(&out, "zero_positive_p60"), 0.75);
}

#[test]
fn percentile_of_malformed_points_is_an_error() {
    let t = statement("extract_percentile_metric(50.0)");
    let error = run_error(
        &t,
        metric("bad", "", histogram(hist_point(10, &[5, 5], &[1.0, 2.0]))),
    );
    assert!(
        error.contains(
            "calculating histogram percentile: malformed data: bucketCounts length (2) != \
             explicitBounds length (2) + 1"
        ),
        "{error}"
    );
    let error = run_error(
        &t,
        metric("bad", "", histogram(hist_point(100, &[5, 5], &[1.0]))),
    );
    assert!(error.contains("targetCount=50, total count=10"), "{error}");
    let error = run_error(
        &t,
        metric("bad", "", exponential(exp_point(0, 100, 0, &[], &[5, 5]))),
    );
    assert!(
        error.contains("calculating exponential histogram percentile: malformed data"),
        "{error}"
    );
    assert!(error.contains("targetCount=50, total count=10"), "{error}");
}

#[test]
fn percentile_out_of_range_or_not_a_literal_does_not_compile() {
    for (arg, got) in [
        ("0.0", "0.000000"),
        ("100.0", "100.000000"),
        ("-1.0", "-1.000000"),
    ] {
        let error = statement_error(&format!("extract_percentile_metric({arg})"));
        assert!(
            error.contains(&format!(
                "percentile must be greater than 0 and less than 100, got {got}"
            )),
            "{error}"
        );
    }
    let error = statement_error("extract_percentile_metric(metric.name)");
    assert!(error.contains("number literal"), "{error}");
    let error = transform_error(
        "metric_statements:\n  - context: datapoint\n    statements:\n      - extract_percentile_metric(50.0)\n",
    );
    assert!(error.contains("extract_percentile_metric"), "{error}");
}

// --- aggregate_on_attributes -----------------------------------------------------------------

fn number(
    value: number_data_point::Value,
    attributes: Vec<KeyValue>,
    start: u64,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: 100,
        value: Some(value),
        ..Default::default()
    }
}

fn dbl(v: f64) -> number_data_point::Value {
    number_data_point::Value::AsDouble(v)
}

fn int(v: i64) -> number_data_point::Value {
    number_data_point::Value::AsInt(v)
}

fn gauge(points: Vec<NumberDataPoint>) -> Metric {
    metric(
        "system.memory.usage",
        "usage",
        Data::Gauge(Gauge {
            data_points: points,
        }),
    )
}

fn points(metric: &Metric) -> Vec<NumberDataPoint> {
    match &metric.data {
        Some(Data::Gauge(g)) => g.data_points.clone(),
        Some(Data::Sum(s)) => s.data_points.clone(),
        other => panic!("not a number metric: {other:?}"),
    }
}

#[test]
fn aggregate_on_attributes_keeps_the_listed_keys_and_sums_by_group() {
    let t = statement(r#"aggregate_on_attributes("sum", ["attr1"])"#);
    let out = run(
        &t,
        gauge(vec![
            number(
                dbl(1.0),
                kvs(vec![("attr1", s("a")), ("attr2", s("x"))]),
                50,
            ),
            number(
                dbl(2.5),
                kvs(vec![("attr2", s("y")), ("attr1", s("a"))]),
                40,
            ),
            number(dbl(4.0), kvs(vec![("attr1", s("b"))]), 60),
        ]),
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].name, "system.memory.usage");
    assert_eq!(out[0].description, "usage");
    assert_eq!(
        points(&out[0]),
        vec![
            // The earliest start time of the group.
            number(dbl(3.5), kvs(vec![("attr1", s("a"))]), 40),
            number(dbl(4.0), kvs(vec![("attr1", s("b"))]), 60),
        ]
    );
}

#[test]
fn aggregate_on_attributes_with_each_function() {
    let input = || {
        gauge(vec![
            number(int(2), kvs(vec![("k", s("1"))]), 10),
            number(int(10), kvs(vec![("k", s("2"))]), 10),
            number(int(1), kvs(vec![("k", s("3"))]), 10),
            number(int(3), kvs(vec![("k", s("4"))]), 10),
        ])
    };
    // `[]` removes every attribute, so all four points merge.
    for (function, expected) in [
        ("sum", 16),
        ("mean", 4),
        ("max", 10),
        ("min", 1),
        // Even count: the mean of 2 and 3, truncated for ints.
        ("median", 2),
        ("count", 4),
    ] {
        let t = statement(&format!(r#"aggregate_on_attributes("{function}", [])"#));
        let out = run(&t, input());
        assert_eq!(
            points(&out[0]),
            vec![number(int(expected), Vec::new(), 10)],
            "{function}"
        );
    }
    let t = statement(r#"aggregate_on_attributes("median", [])"#);
    let out = run(
        &t,
        gauge(vec![
            number(dbl(2.0), Vec::new(), 10),
            number(dbl(10.0), Vec::new(), 10),
            number(dbl(1.0), Vec::new(), 10),
            number(dbl(3.0), Vec::new(), 10),
        ]),
    );
    assert_eq!(points(&out[0]), vec![number(dbl(2.5), Vec::new(), 10)]);
    let t = statement(r#"aggregate_on_attributes("mean", [])"#);
    let out = run(
        &t,
        gauge(vec![
            number(dbl(1.0), Vec::new(), 10),
            number(int(2), Vec::new(), 10),
        ]),
    );
    assert_eq!(points(&out[0]), vec![number(dbl(1.5), Vec::new(), 10)]);
}

#[test]
fn aggregate_on_attributes_without_a_list_merges_only_equal_attribute_sets() {
    let t = statement(r#"aggregate_on_attributes("max")"#);
    let out = run(
        &t,
        gauge(vec![
            number(dbl(1.0), kvs(vec![("a", s("1")), ("b", s("2"))]), 10),
            number(dbl(7.0), kvs(vec![("b", s("2")), ("a", s("1"))]), 10),
            number(dbl(5.0), kvs(vec![("a", s("1"))]), 10),
        ]),
    );
    assert_eq!(
        points(&out[0]),
        vec![
            number(dbl(7.0), kvs(vec![("a", s("1")), ("b", s("2"))]), 10),
            number(dbl(5.0), kvs(vec![("a", s("1"))]), 10),
        ]
    );
    // Like otelcol, `count` of a lone point leaves its value alone.
    let t = statement(r#"aggregate_on_attributes("count")"#);
    let out = run(&t, gauge(vec![number(dbl(9.0), Vec::new(), 10)]));
    assert_eq!(points(&out[0]), vec![number(dbl(9.0), Vec::new(), 10)]);
}

#[test]
fn aggregate_on_attributes_keeps_delta_intervals_apart() {
    let sum = |temporality| {
        metric(
            "requests",
            "",
            Data::Sum(Sum {
                data_points: vec![
                    number(int(1), kvs(vec![("host", s("a"))]), 10),
                    number(int(2), kvs(vec![("host", s("b"))]), 20),
                    number(int(3), kvs(vec![("host", s("c"))]), 10),
                ],
                aggregation_temporality: temporality,
                is_monotonic: true,
            }),
        )
    };
    let t = statement(r#"aggregate_on_attributes("sum", [])"#);
    let out = run(&t, sum(DELTA));
    assert_eq!(
        points(&out[0]),
        vec![
            number(int(4), Vec::new(), 10),
            number(int(2), Vec::new(), 20)
        ]
    );
    let Some(Data::Sum(s)) = &out[0].data else {
        unreachable!()
    };
    assert_eq!((s.aggregation_temporality, s.is_monotonic), (DELTA, true));
    let out = run(&t, sum(CUMULATIVE));
    assert_eq!(points(&out[0]), vec![number(int(6), Vec::new(), 10)]);
}

#[test]
fn aggregate_on_attributes_sums_histograms_whatever_the_function() {
    let point = |host: &str, count, sum, counts: &[u64], min, max, start| HistogramDataPoint {
        attributes: kvs(vec![("host", s(host))]),
        start_time_unix_nano: start,
        time_unix_nano: 100,
        count,
        sum: Some(sum),
        bucket_counts: counts.to_vec(),
        explicit_bounds: vec![1.0, 5.0],
        min: Some(min),
        max: Some(max),
        ..Default::default()
    };
    let source = metric(
        "latency",
        "",
        Data::Histogram(Histogram {
            data_points: vec![
                point("a", 3, 6.0, &[1, 1, 1], 0.5, 7.0, 20),
                point("b", 5, 10.0, &[2, 2, 1], 0.2, 6.0, 10),
                // A zero count is left out of the merge.
                point("c", 0, 0.0, &[0, 0, 0], 0.0, 0.0, 1),
            ],
            aggregation_temporality: CUMULATIVE,
        }),
    );
    let t = statement(r#"aggregate_on_attributes("max", [])"#);
    let out = run(&t, source);
    let Some(Data::Histogram(h)) = &out[0].data else {
        panic!("{out:?}")
    };
    assert_eq!(h.data_points.len(), 1);
    let merged = &h.data_points[0];
    assert_eq!(merged.attributes, Vec::new());
    assert_eq!((merged.count, merged.sum), (8, Some(16.0)));
    assert_eq!(merged.bucket_counts, vec![3, 3, 2]);
    assert_eq!((merged.min, merged.max), (Some(0.2), Some(7.0)));
    assert_eq!(merged.start_time_unix_nano, 10);
    assert_eq!(h.aggregation_temporality, CUMULATIVE);
}

#[test]
fn aggregate_on_attributes_sums_exponential_histograms() {
    let point = |host: &str, zero, positive: &[u64], negative: &[u64]| {
        let mut p = exp_point(1, 0, zero, negative, positive);
        p.count = zero + positive.iter().sum::<u64>() + negative.iter().sum::<u64>();
        p.sum = Some(p.count as f64);
        p.attributes = kvs(vec![("host", s(host))]);
        p
    };
    let source = metric(
        "sizes",
        "",
        Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![point("a", 1, &[1, 2], &[1]), point("b", 2, &[3, 4, 5], &[])],
            aggregation_temporality: CUMULATIVE,
        }),
    );
    let t = statement(r#"aggregate_on_attributes("sum", [])"#);
    let out = run(&t, source);
    let Some(Data::ExponentialHistogram(h)) = &out[0].data else {
        panic!("{out:?}")
    };
    assert_eq!(h.data_points.len(), 1);
    let merged = &h.data_points[0];
    assert_eq!(
        (merged.count, merged.sum, merged.zero_count),
        (19, Some(19.0), 3)
    );
    assert_eq!(
        merged.positive.as_ref().map(|b| b.bucket_counts.clone()),
        Some(vec![4, 6, 5])
    );
    assert_eq!(
        merged.negative.as_ref().map(|b| b.bucket_counts.clone()),
        Some(vec![1])
    );
}

#[test]
fn aggregate_on_attributes_refuses_summaries() {
    let t = statement(r#"aggregate_on_attributes("sum")"#);
    let source = metric(
        "s",
        "",
        Data::Summary(Summary {
            data_points: vec![SummaryDataPoint::default()],
        }),
    );
    let error = run_error(&t, source);
    assert!(
        error.contains("aggregate_on_attributes does not support aggregating Summary metrics"),
        "{error}"
    );
}

#[test]
fn aggregate_functions_are_checked_at_compile_time() {
    let error = statement_error(r#"aggregate_on_attributes("avg")"#);
    assert!(
        error.contains(
            "invalid aggregation function: 'unsupported function: 'avg'', valid options: sum, \
             mean, min, max, median, count"
        ),
        "{error}"
    );
    let error = statement_error(r#"aggregate_on_attribute_value("Sum", "a", ["b"], "c")"#);
    assert!(error.contains("'Sum'"), "{error}");
    let error = transform_error(
        "metric_statements:\n  - context: datapoint\n    statements:\n      - aggregate_on_attributes(\"sum\")\n",
    );
    assert!(error.contains("aggregate_on_attributes"), "{error}");
}

// --- aggregate_on_attribute_value ------------------------------------------------------------

#[test]
fn aggregate_on_attribute_value_merges_the_listed_values() {
    let t =
        statement(r#"aggregate_on_attribute_value("sum", "attr1", ["val1", "val2"], "new_val")"#);
    let out = run(
        &t,
        gauge(vec![
            number(
                int(1),
                kvs(vec![("attr1", s("val1")), ("other", s("x"))]),
                10,
            ),
            number(
                int(2),
                kvs(vec![("attr1", s("val2")), ("other", s("x"))]),
                10,
            ),
            number(
                int(3),
                kvs(vec![("attr1", s("val3")), ("other", s("x"))]),
                10,
            ),
            number(
                int(4),
                kvs(vec![("attr1", s("val1")), ("other", s("y"))]),
                10,
            ),
        ]),
    );
    assert_eq!(
        points(&out[0]),
        vec![
            number(
                int(3),
                kvs(vec![("attr1", s("new_val")), ("other", s("x"))]),
                10
            ),
            number(
                int(3),
                kvs(vec![("attr1", s("val3")), ("other", s("x"))]),
                10
            ),
            number(
                int(4),
                kvs(vec![("attr1", s("new_val")), ("other", s("y"))]),
                10
            ),
        ]
    );

    // Named arguments bind to otelcol's field names.
    let t = statement(
        r#"aggregate_on_attribute_value(aggregation_function = "min", attribute = "attr1", values = ["a", "b"], new_value = "ab")"#,
    );
    let out = run(
        &t,
        gauge(vec![
            number(dbl(5.0), kvs(vec![("attr1", s("a"))]), 10),
            number(dbl(2.0), kvs(vec![("attr1", s("b"))]), 10),
        ]),
    );
    assert_eq!(
        points(&out[0]),
        vec![number(dbl(2.0), kvs(vec![("attr1", s("ab"))]), 10)]
    );
}
