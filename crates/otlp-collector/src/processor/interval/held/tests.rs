use super::*;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{NumberDataPoint, number_data_point};

fn point(label: &str, time: u64, value: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![otlp_ottl::key_value("k", otlp_ottl::string_value(label))],
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

fn gauge(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_owned(),
        unit: unit.to_owned(),
        data: Some(Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    }
}

fn scope(name: &str) -> ScopeMetrics {
    ScopeMetrics {
        scope: Some(InstrumentationScope {
            name: name.to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn streams_differ_by_scope_unit_and_attributes_and_keep_their_latest_point() {
    let mut held = Held::default();
    let resource = ResourceMetrics::default();
    let (a, b) = (scope("a"), scope("b"));
    held.add(
        &resource,
        &a,
        gauge("g", "1", vec![point("x", 5, 1), point("y", 5, 2)]),
    );
    held.add(
        &resource,
        &a,
        gauge("g", "1", vec![point("x", 7, 3), point("y", 4, 9)]),
    );
    held.add(&resource, &a, gauge("g", "By", vec![point("x", 1, 4)]));
    held.add(&resource, &b, gauge("g", "1", vec![point("x", 1, 5)]));
    held.add(&resource, &a, gauge("g", "1", vec![point("x", 7, 6)]));
    assert_eq!(held.streams(), 4);
    let request = held.take();
    assert_eq!(held.streams(), 0);
    let scopes = &request.resource_metrics[0].scope_metrics;
    assert_eq!(scopes.len(), 2);
    let values = |metric: &Metric| -> Vec<(u64, i64)> {
        let Some(Data::Gauge(g)) = &metric.data else {
            panic!("a gauge")
        };
        g.data_points
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(v)) => (p.time_unix_nano, v),
                _ => panic!("an int"),
            })
            .collect()
    };
    assert_eq!(
        values(&scopes[0].metrics[0]),
        [(7, 3), (5, 2)],
        "a later time wins, an equal or older one is dropped"
    );
    assert_eq!(scopes[0].metrics[1].unit, "By");
    assert_eq!(values(&scopes[1].metrics[0]), [(1, 5)]);
}
