use super::*;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};

fn sum_metric(
    name: &str,
    temporality: AggregationTemporality,
    points: Vec<(u64, u64, i64, &str)>,
) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Sum(Sum {
            data_points: points
                .into_iter()
                .map(|(start, time, value, route)| NumberDataPoint {
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    value: Some(number_data_point::Value::AsInt(value)),
                    attributes: vec![otlp_ottl::key_value(
                        "route",
                        otlp_ottl::string_value(route),
                    )],
                    ..Default::default()
                })
                .collect(),
            aggregation_temporality: temporality as i32,
            is_monotonic: true,
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

/// A sum's name, temporality, and (start, value) of each point.
type SumPoints = (String, i32, Vec<(u64, i64)>);

fn values(request: &ExportMetricsServiceRequest) -> Vec<SumPoints> {
    request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| match &m.data {
            Some(Data::Sum(s)) => (
                m.name.clone(),
                s.aggregation_temporality,
                s.data_points
                    .iter()
                    .map(|p| match p.value {
                        Some(number_data_point::Value::AsInt(v)) => (p.start_time_unix_nano, v),
                        _ => (0, 0),
                    })
                    .collect(),
            ),
            _ => (m.name.clone(), 0, Vec::new()),
        })
        .collect()
}

#[test]
fn delta_metrics_become_cumulative_per_stream_and_others_pass() {
    let mut streams = Streams::new(None, 0);
    let now = Instant::now();
    let cumulative = AggregationTemporality::Cumulative as i32;
    let mut first = request(vec![
        sum_metric(
            "requests",
            AggregationTemporality::Delta,
            vec![(10, 20, 3, "/a"), (10, 20, 4, "/b")],
        ),
        sum_metric(
            "total",
            AggregationTemporality::Cumulative,
            vec![(1, 20, 100, "/a")],
        ),
        Metric {
            name: "temperature".into(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint::default()],
            })),
            ..Default::default()
        },
    ]);
    let counts = convert(&mut first, &mut streams, now);
    assert_eq!(counts, [2, 0, 0, 0, 0]);
    assert_eq!(
        values(&first)[..2],
        [
            ("requests".into(), cumulative, vec![(10, 3), (10, 4)]),
            ("total".into(), cumulative, vec![(1, 100)]),
        ]
    );
    let mut second = request(vec![sum_metric(
        "requests",
        AggregationTemporality::Delta,
        vec![(20, 30, 2, "/a"), (10, 20, 4, "/b")],
    )]);
    let counts = convert(&mut second, &mut streams, now);
    assert_eq!(
        counts,
        [1, 0, 1, 0, 0],
        "the repeated /b point is out of order"
    );
    assert_eq!(
        values(&second),
        [("requests".into(), cumulative, vec![(10, 5)])]
    );
    assert_eq!(streams.len(), 2);
}
