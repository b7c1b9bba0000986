use super::*;
use opentelemetry_proto::tonic::metrics::v1::{
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data,
};

fn sum(name: &str, temporality: AggregationTemporality, points: &[(u64, u64, Value)]) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Sum(Sum {
            data_points: points
                .iter()
                .map(|(start, time, value)| NumberDataPoint {
                    start_time_unix_nano: *start,
                    time_unix_nano: *time,
                    value: Some(*value),
                    ..Default::default()
                })
                .collect(),
            aggregation_temporality: temporality as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

fn processor(metrics: &[&str], unit: &str) -> DeltaToRate {
    DeltaToRate {
        metrics: metrics.iter().map(|m| (*m).to_owned()).collect(),
        unit_nanos: UNITS.iter().find(|(u, _)| *u == unit).unwrap().1,
        warned: Mutex::default(),
        id: "deltatorate".into(),
    }
}

fn run(processor: &DeltaToRate, metrics: Vec<Metric>) -> Vec<Metric> {
    let mut batch = Batch::new(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    processor.apply(&mut batch);
    let request = batch.get::<ExportMetricsServiceRequest>().unwrap();
    request.resource_metrics[0].scope_metrics[0].metrics.clone()
}

fn gauge(metric: &Metric) -> Vec<f64> {
    let Some(Data::Gauge(gauge)) = &metric.data else {
        panic!("{metric:?}")
    };
    gauge
        .data_points
        .iter()
        .map(|p| match p.value {
            Some(Value::AsDouble(v)) => v,
            other => panic!("{other:?}"),
        })
        .collect()
}

const SECOND: u64 = 1_000_000_000;

#[test]
fn named_delta_sums_become_gauges_of_their_rate() {
    let out = run(
        &processor(&["requests", "bytes"], "s"),
        vec![
            sum(
                "requests",
                AggregationTemporality::Delta,
                &[
                    (10 * SECOND, 20 * SECOND, Value::AsInt(50)),
                    (20 * SECOND, 20 * SECOND, Value::AsInt(7)),
                ],
            ),
            sum(
                "bytes",
                AggregationTemporality::Delta,
                &[(0, SECOND / 2, Value::AsDouble(3.0))],
            ),
            sum(
                "other",
                AggregationTemporality::Delta,
                &[(0, SECOND, Value::AsInt(1))],
            ),
        ],
    );
    assert_eq!(
        gauge(&out[0]),
        [5.0, 0.0],
        "50 in 10 s; no time covered is 0"
    );
    assert_eq!(gauge(&out[1]), [6.0]);
    assert!(matches!(out[2].data, Some(Data::Sum(_))), "not named");
    let Some(Data::Gauge(g)) = &out[0].data else {
        panic!()
    };
    assert_eq!(
        (
            g.data_points[0].start_time_unix_nano,
            g.data_points[0].time_unix_nano
        ),
        (10 * SECOND, 20 * SECOND),
        "a point keeps its times"
    );
}

#[test]
fn the_time_unit_scales_the_rate_and_cumulative_sums_are_left_alone() {
    let per_minute = run(
        &processor(&["requests"], "m"),
        vec![sum(
            "requests",
            AggregationTemporality::Delta,
            &[(0, 30 * SECOND, Value::AsInt(5))],
        )],
    );
    assert_eq!(gauge(&per_minute[0]), [10.0]);
    let processor = processor(&["total"], "s");
    let cumulative = run(
        &processor,
        vec![sum(
            "total",
            AggregationTemporality::Cumulative,
            &[(0, SECOND, Value::AsInt(5))],
        )],
    );
    assert!(matches!(cumulative[0].data, Some(Data::Sum(_))));
    assert!(processor.warned.lock().unwrap().contains("total"));
}

#[test]
fn settings_are_checked() {
    let config: DeltaToRateConfig = serde_norway::from_str("time_unit: minutes").unwrap();
    let problems = Factory.validate(&config).unwrap_err().lines();
    assert_eq!(
        problems,
        [
            "metrics: must name at least one delta sum",
            "time_unit: `minutes` is not ns, us, ms, s, m or h"
        ]
    );
    let valid: DeltaToRateConfig = serde_norway::from_str("metrics: [a]").unwrap();
    assert!(Factory.validate(&valid).is_ok());
}
