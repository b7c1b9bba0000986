use super::*;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    number_data_point,
};

fn config(yaml: &str) -> CumulativeToDeltaConfig {
    serde_norway::from_str(yaml).unwrap()
}

fn problems(yaml: &str) -> Vec<(Option<String>, String)> {
    match Settings::new(&config(yaml)) {
        Ok(_) => Vec::new(),
        Err(invalid) => invalid
            .problems()
            .map(|(key, message)| (key.map(str::to_owned), message.to_owned()))
            .collect(),
    }
}

fn sum(name: &str, monotonic: bool, temporality: AggregationTemporality, value: i64) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                start_time_unix_nano: 1,
                time_unix_nano: 2_000,
                value: Some(number_data_point::Value::AsInt(value)),
                ..Default::default()
            }],
            aggregation_temporality: temporality as i32,
            is_monotonic: monotonic,
        })),
        ..Default::default()
    }
}

fn histogram(name: &str, count: u64) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                start_time_unix_nano: 1,
                time_unix_nano: 2_000,
                count,
                bucket_counts: vec![count],
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    }
}

fn gauge(name: &str) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint::default()],
        })),
        ..Default::default()
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

fn build(yaml: &str) -> CumulativeToDelta {
    let config = config(yaml);
    CumulativeToDelta {
        settings: Settings::new(&config).unwrap(),
        tracker: Arc::new(parking_lot::Mutex::new(Tracker::new(
            config.initial_value,
            0,
            None,
        ))),
        converted: Counter::default(),
        dropped: Counter::default(),
    }
}

fn temporalities(request: &ExportMetricsServiceRequest) -> Vec<(String, i32)> {
    request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| {
            let temporality = match &m.data {
                Some(Data::Sum(s)) => s.aggregation_temporality,
                Some(Data::Histogram(h)) => h.aggregation_temporality,
                _ => 0,
            };
            (m.name.clone(), temporality)
        })
        .collect()
}

const DELTA: i32 = AggregationTemporality::Delta as i32;
const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;

#[test]
fn monotonic_cumulative_sums_and_cumulative_histograms_are_converted_and_nothing_else() {
    let processor = build("initial_value: keep");
    let mut tracker = processor.tracker.lock();
    let mut metrics = request(vec![
        sum("requests", true, AggregationTemporality::Cumulative, 5),
        sum("queue.depth", false, AggregationTemporality::Cumulative, 5),
        sum("already.delta", true, AggregationTemporality::Delta, 5),
        histogram("latency", 3),
        gauge("temperature"),
    ]);
    let tally = processor.convert(&mut metrics, &mut tracker, Instant::now());
    assert_eq!((tally.converted, tally.dropped), (2, 0));
    assert_eq!(
        temporalities(&metrics),
        [
            ("requests".into(), DELTA),
            ("queue.depth".into(), CUMULATIVE),
            ("already.delta".into(), DELTA),
            ("latency".into(), DELTA),
            ("temperature".into(), 0),
        ]
    );
}

#[test]
fn metrics_left_without_points_go_and_so_do_their_scope_and_resource() {
    let processor = build("initial_value: drop");
    let mut tracker = processor.tracker.lock();
    let mut metrics = request(vec![sum(
        "requests",
        true,
        AggregationTemporality::Cumulative,
        5,
    )]);
    let tally = processor.convert(&mut metrics, &mut tracker, Instant::now());
    assert_eq!((tally.converted, tally.dropped), (0, 1));
    assert!(metrics.resource_metrics.is_empty());
}

#[test]
fn include_and_exclude_select_by_name_and_type() {
    let yaml = r#"
initial_value: keep
include: { match_type: regexp, metrics: ["^http\\."] }
exclude: { match_type: strict, metrics: [http.server.active_requests], metric_types: [sum] }
"#;
    let processor = build(yaml);
    let mut tracker = processor.tracker.lock();
    let mut metrics = request(vec![
        sum(
            "http.server.requests",
            true,
            AggregationTemporality::Cumulative,
            1,
        ),
        sum(
            "http.server.active_requests",
            true,
            AggregationTemporality::Cumulative,
            1,
        ),
        histogram("http.server.duration", 1),
        sum("db.calls", true, AggregationTemporality::Cumulative, 1),
    ]);
    processor.convert(&mut metrics, &mut tracker, Instant::now());
    assert_eq!(
        temporalities(&metrics),
        [
            ("http.server.requests".into(), DELTA),
            ("http.server.active_requests".into(), CUMULATIVE),
            ("http.server.duration".into(), DELTA),
            ("db.calls".into(), CUMULATIVE),
        ]
    );

    let processor = build("initial_value: keep\ninclude: { metric_types: [histogram] }");
    let mut tracker = processor.tracker.lock();
    let mut metrics = request(vec![
        sum("a", true, AggregationTemporality::Cumulative, 1),
        histogram("b", 1),
    ]);
    processor.convert(&mut metrics, &mut tracker, Instant::now());
    assert_eq!(
        temporalities(&metrics),
        [("a".into(), CUMULATIVE), ("b".into(), DELTA)]
    );
}

#[test]
fn every_problem_of_include_and_exclude_is_named_at_its_key() {
    assert_eq!(problems("{}"), []);
    assert_eq!(
        problems(
            r#"
include: { metrics: [a] }
exclude: { match_type: regexp, metrics: ["(b"], metric_types: [gauge] }
"#
        ),
        [
            (
                Some("include.match_type".into()),
                "set `strict` or `regexp`: `metrics` are compared by it".into()
            ),
            (
                Some("exclude.metric_types[0]".into()),
                "\"gauge\" is not converted; one of sum, histogram".into()
            ),
            (
                Some("exclude.metrics[0]".into()),
                "invalid regex \"(b\": regex parse error:\n    (b\n    ^\nerror: unclosed group"
                    .into()
            ),
        ]
    );
    assert_eq!(
        problems("include: { match_type: strict }"),
        [(
            Some("include.metrics".into()),
            "`match_type` is set but there are no metric names to match".into()
        )]
    );
}
