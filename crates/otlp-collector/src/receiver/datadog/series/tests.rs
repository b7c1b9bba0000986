use super::*;
use opentelemetry_proto::tonic::common::v1::any_value::Value;

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

fn points(metric: &Metric) -> &[NumberDataPoint] {
    match &metric.data {
        Some(metric::Data::Gauge(g)) => &g.data_points,
        Some(metric::Data::Sum(s)) => &s.data_points,
        _ => &[],
    }
}

#[test]
fn v1_series_as_datadogpy_sends_them() {
    let body = br#"{"series": [
        {"metric": "shop.orders", "points": [[1765130000, 5]], "type": "count", "interval": 10,
         "tags": ["env:prod", "team:a", "canary"], "host": "web-1"},
        {"metric": "shop.temp", "points": [[1765130000.25, 21.5], [1765130010, null], [1765130020, 22]], "host": "web-1"},
        {"metric": "shop.rate", "points": [[1796676073.013139, 2.5]], "type": "rate", "interval": 10, "tags": ["x"], "host": "vm"}
    ]}"#;
    let request = v1(body).unwrap();
    assert_eq!(request.resource_metrics.len(), 3);
    let orders_resource = request.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(
        text(&orders_resource.attributes, "host.name").as_deref(),
        Some("web-1")
    );
    assert_eq!(
        text(&orders_resource.attributes, "deployment.environment").as_deref(),
        Some("prod")
    );
    let scope = &request.resource_metrics[0].scope_metrics[0];
    assert_eq!(scope.scope.as_ref().unwrap().name, SCOPE);
    let orders = &scope.metrics[0];
    let Some(metric::Data::Sum(sum)) = &orders.data else {
        panic!()
    };
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Delta as i32
    );
    assert!(!sum.is_monotonic);
    let point = &sum.data_points[0];
    assert_eq!(point.value, Some(number_data_point::Value::AsDouble(5.0)));
    assert_eq!(
        (point.start_time_unix_nano, point.time_unix_nano),
        (1_765_129_990_000_000_000, 1_765_130_000_000_000_000)
    );
    assert_eq!(text(&point.attributes, "team").as_deref(), Some("a"));
    assert_eq!(
        text(&point.attributes, "unnamed_canary").as_deref(),
        Some("canary")
    );

    // No type is a gauge; a point without its value is left out.
    let temp = &request.resource_metrics[1].scope_metrics[0].metrics[0];
    assert!(matches!(temp.data, Some(metric::Data::Gauge(_))));
    let times: Vec<u64> = points(temp).iter().map(|p| p.time_unix_nano).collect();
    assert_eq!(
        times,
        [1_765_130_000_250_000_000, 1_765_130_020_000_000_000]
    );

    // A rate is what was counted in its interval.
    let rate = &request.resource_metrics[2].scope_metrics[0].metrics[0];
    assert_eq!(
        points(rate)[0].value,
        Some(number_data_point::Value::AsDouble(25.0))
    );
    assert_eq!(points(rate)[0].time_unix_nano, 1_796_676_073_013_139_000);
}

#[test]
fn v2_series_keep_their_resources_and_unit() {
    let body = br#"{"series": [{"resources": [{"name": "web-1", "type": "host"}, {"name": "eu-1", "type": "cluster"}],
        "tags": ["env:prod", "queue:orders"], "type": 3, "unit": "item", "metric": "shop.queue",
        "source_type_name": "app", "points": [{"timestamp": 1765130000, "value": 7.5}]}]}"#;
    let request = v2(body).unwrap();
    let resource = &request.resource_metrics[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    let keys: Vec<&str> = resource.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        ["cluster", "deployment.environment", "host.name", "source"]
    );
    let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
    assert_eq!(
        (metric.name.as_str(), metric.unit.as_str()),
        ("shop.queue", "item")
    );
    assert_eq!(
        points(metric)[0].value,
        Some(number_data_point::Value::AsDouble(7.5))
    );
    assert_eq!(
        text(&points(metric)[0].attributes, "queue").as_deref(),
        Some("orders")
    );

    let unknown = v2(br#"{"series": [{"metric": "m", "type": 9}]}"#).unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "series 0 (`m`): type 9 is not 0 (unspecified), 1 (count), 2 (rate) or 3 (gauge)"
    );
}

#[test]
fn service_checks_one_or_many() {
    let one = checks(br#"{"check": "shop.up", "host_name": "web-1", "status": 2, "tags": ["env:prod"], "message": "down"}"#, 99).unwrap();
    let metric = &one.resource_metrics[0].scope_metrics[0].metrics[0];
    assert_eq!(metric.name, "shop.up");
    assert_eq!(
        points(metric)[0].value,
        Some(number_data_point::Value::AsInt(2))
    );
    assert_eq!(points(metric)[0].time_unix_nano, 99);
    let many = checks(
        br#"[{"check": "a", "status": 0, "timestamp": 1765130000}, {"check": "b", "status": 1}]"#,
        5,
    )
    .unwrap();
    let metrics = &many.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(metrics.len(), 2);
    assert_eq!(
        points(&metrics[0])[0].time_unix_nano,
        1_765_130_000_000_000_000
    );
    assert!(
        checks(br#"{"status": 0}"#, 0)
            .unwrap_err()
            .to_string()
            .starts_with("body is not service checks")
    );
}

#[test]
fn unknown_v1_types_are_named() {
    let error =
        v1(br#"{"series": [{"metric": "m", "type": "histogram", "points": []}]}"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "series 0 (`m`): type `histogram` is not `gauge`, `count` or `rate`"
    );
}
