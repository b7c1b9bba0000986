use super::*;

fn point(name: &str, cumulative: bool, value: Number) -> Point {
    Point {
        name: name.to_owned(),
        attributes: vec![("host".to_owned(), "a".to_owned())],
        cumulative,
        value,
        time_unix_nano: 7,
    }
}

#[test]
fn points_of_a_name_share_a_metric_in_the_order_names_first_came() {
    let request = request(vec![
        point("load", false, Number::Double(1.5)),
        point("requests", true, Number::Int(10)),
        point("load", false, Number::Int(2)),
        point("load", true, Number::Int(3)),
    ]);
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    let shapes: Vec<(&str, usize, bool)> = metrics
        .iter()
        .map(|m| match &m.data {
            Some(metric::Data::Gauge(g)) => (m.name.as_str(), g.data_points.len(), false),
            Some(metric::Data::Sum(s)) => {
                assert!(s.is_monotonic);
                assert_eq!(
                    s.aggregation_temporality,
                    AggregationTemporality::Cumulative as i32
                );
                (m.name.as_str(), s.data_points.len(), true)
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        shapes,
        [("load", 2, false), ("requests", 1, true), ("load", 1, true)]
    );
    let Some(metric::Data::Gauge(load)) = &metrics[0].data else {
        panic!("a gauge")
    };
    assert_eq!(
        load.data_points[0].value,
        Some(number_data_point::Value::AsDouble(1.5))
    );
    assert_eq!(
        load.data_points[1].value,
        Some(number_data_point::Value::AsInt(2))
    );
    assert_eq!(load.data_points[0].time_unix_nano, 7);
    assert_eq!(load.data_points[0].attributes[0].key, "host");
}
