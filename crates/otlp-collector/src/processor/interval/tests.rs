use super::*;
use crate::processor::capture::{Capture, with_context};
use crate::telemetry::Telemetry;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, NumberDataPoint, Sum, Summary, SummaryDataPoint,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::sync::atomic::Ordering;
use tokio::time::Instant;

fn build(yaml: &str, telemetry: &Telemetry) -> (Arc<dyn Consumer>, Arc<Capture>) {
    let config: IntervalConfig = serde_norway::from_str(yaml).unwrap();
    Factory.validate(&config).unwrap();
    let capture = Arc::new(Capture::default());
    let next: Arc<dyn Consumer> = capture.clone();
    let stage = with_context("interval", Signal::Metrics, telemetry, |context| {
        Factory.build(&config, context, next).unwrap()
    });
    (stage, capture)
}

fn number(labels: &str, time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![otlp_ottl::key_value(
            "labelA",
            otlp_ottl::string_value(labels),
        )],
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn sum(
    name: &str,
    temporality: AggregationTemporality,
    monotonic: bool,
    points: Vec<NumberDataPoint>,
) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality as i32,
            is_monotonic: monotonic,
        })),
        ..Default::default()
    }
}

fn batch(metrics: Vec<Metric>) -> Batch {
    Batch::new(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![otlp_ottl::key_value(
                    "service.name",
                    otlp_ottl::string_value("shop"),
                )],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// (metric, labelA, time, value) of every number point the next stage got, batch by batch.
fn sent(capture: &Capture) -> Vec<Vec<(String, String, u64, f64)>> {
    capture
        .batches
        .lock()
        .iter()
        .map(|batch| {
            let request = batch.get::<ExportMetricsServiceRequest>().unwrap();
            let mut points = Vec::new();
            for metric in request
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
            {
                let data_points = match &metric.data {
                    Some(Data::Sum(s)) => &s.data_points,
                    Some(Data::Gauge(g)) => &g.data_points,
                    _ => continue,
                };
                for p in data_points {
                    let label = match p.attributes[0]
                        .value
                        .as_ref()
                        .and_then(|v| v.value.as_ref())
                    {
                        Some(
                            opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                                s,
                            ),
                        ) => s.clone(),
                        other => panic!("{other:?}"),
                    };
                    let Some(number_data_point::Value::AsDouble(v)) = p.value else {
                        panic!("a double")
                    };
                    points.push((metric.name.clone(), label, p.time_unix_nano, v));
                }
            }
            points
        })
        .collect()
}

fn dropped(telemetry: &Telemetry) -> Option<u64> {
    telemetry.value(
        "otelcol_processor_dropped_metric_points",
        &[("processor", "interval"), ("reason", "aggregated")],
    )
}

#[tokio::test(start_paused = true)]
async fn the_latest_point_of_each_cumulative_stream_is_sent_each_interval_and_deltas_at_once() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("interval: 15s", &telemetry);
    let cumulative = AggregationTemporality::Cumulative;
    // otelcol's README example.
    for (time, label, value) in [(0, "foo", 4.0), (2, "bar", 3.1)] {
        stage
            .consume(batch(vec![sum(
                "test_metric",
                cumulative,
                true,
                vec![number(label, time, value)],
            )]))
            .await
            .unwrap();
    }
    stage
        .consume(batch(vec![sum(
            "other_metric",
            AggregationTemporality::Delta,
            true,
            vec![number("orange", 4, 77.4)],
        )]))
        .await
        .unwrap();
    for (time, label, value) in [
        (6, "foo", 8.2),
        (8, "foo", 12.8),
        (10, "bar", 6.4),
        (5, "foo", 1.0),
    ] {
        stage
            .consume(batch(vec![sum(
                "test_metric",
                cumulative,
                true,
                vec![number(label, time, value)],
            )]))
            .await
            .unwrap();
    }
    assert_eq!(
        sent(&capture),
        [vec![("other_metric".into(), "orange".into(), 4, 77.4)]]
    );
    tokio::time::sleep(Duration::from_secs(16)).await;
    assert_eq!(
        sent(&capture)[1],
        [
            ("test_metric".into(), "foo".into(), 8, 12.8),
            ("test_metric".into(), "bar".into(), 10, 6.4)
        ]
    );
    assert_eq!(dropped(&telemetry), Some(4), "six points held, two sent");
    // The next interval starts empty, and sends nothing.
    tokio::time::sleep(Duration::from_secs(16)).await;
    assert_eq!(sent(&capture).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn gauges_and_summaries_are_held_unless_passed_through_and_non_monotonic_sums_pass() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build(
        "{ interval: 10s, pass_through: { gauge: true } }",
        &telemetry,
    );
    let gauge = Metric {
        name: "temperature".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![number("a", 1, 20.0)],
        })),
        ..Default::default()
    };
    let summary = Metric {
        name: "rpc".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                time_unix_nano: 1,
                count: 3,
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let histogram = Metric {
        name: "latency".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                time_unix_nano: 1,
                count: 5,
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    };
    stage
        .consume(batch(vec![
            gauge,
            summary,
            histogram,
            sum(
                "queue",
                AggregationTemporality::Cumulative,
                false,
                vec![number("q", 1, 3.0)],
            ),
        ]))
        .await
        .unwrap();
    let passed: Vec<String> = sent(&capture)[0].iter().map(|p| p.0.clone()).collect();
    assert_eq!(passed, ["temperature", "queue"]);
    tokio::time::sleep(Duration::from_secs(11)).await;
    let batches = capture.batches.lock();
    let request = batches[1].get::<ExportMetricsServiceRequest>().unwrap();
    let names: Vec<&str> = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["rpc", "latency"]);
}

#[tokio::test]
async fn a_refusal_of_what_passes_on_hands_the_batch_back_and_holds_nothing() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("interval: 1h", &telemetry);
    capture.full_for.store(1, Ordering::Relaxed);
    let both = batch(vec![
        sum(
            "held",
            AggregationTemporality::Cumulative,
            true,
            vec![number("a", 1, 1.0)],
        ),
        sum(
            "passed",
            AggregationTemporality::Delta,
            true,
            vec![number("a", 1, 1.0)],
        ),
    ]);
    let refused = stage.consume(both).await.expect_err("full");
    assert_eq!(refused.batch.expect("handed back").item_count(), 2);
    stage.flush(Instant::now()).await;
    assert!(sent(&capture).is_empty(), "nothing was held");
}

#[tokio::test]
async fn what_is_held_is_sent_when_the_collector_stops() {
    let telemetry = Telemetry::new();
    let (stage, capture) = build("interval: 1h", &telemetry);
    stage
        .consume(batch(vec![sum(
            "held",
            AggregationTemporality::Cumulative,
            true,
            vec![number("a", 1, 1.0)],
        )]))
        .await
        .unwrap();
    stage
        .shutdown(Instant::now() + Duration::from_secs(5))
        .await;
    assert_eq!(sent(&capture), [vec![("held".into(), "a".into(), 1, 1.0)]]);
    assert!(
        Factory
            .validate(&serde_norway::from_str("interval: 0s").unwrap())
            .is_err()
    );
}
