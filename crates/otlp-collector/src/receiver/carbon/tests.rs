use super::*;
use crate::component::Component;

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

#[test]
fn otelcol_configs_are_read_with_its_defaults() {
    let config: CarbonConfig = serde_norway::from_str(
        r#"
endpoint: localhost:8080
transport: udp
parser:
  type: regex
  config:
    rules:
      - regexp: "(?P<key_base>test)\\.env(?P<key_env>[^.]*)\\.(?P<key_host>[^.]*)"
        name_prefix: "name-prefix"
        labels:
          dot.key: dot.value
          key: value
        type: cumulative
      - regexp: "(?P<key_just>test)\\.(?P<key_match>.*)"
    name_separator: "_"
"#,
    )
    .expect("otelcol's example");
    assert!(Factory.validate(&config).is_ok());
    assert_eq!(config.tcp_idle_timeout, Duration::from_secs(30));
    let defaults: CarbonConfig = serde_norway::from_str("{}").expect("empty");
    assert_eq!(defaults.endpoint, "localhost:2003");
    assert_eq!(defaults.transport, "tcp");
    assert!(Factory.validate(&defaults).is_ok());
}

#[test]
fn bad_settings_are_each_reported_at_their_key() {
    let config: CarbonConfig = serde_norway::from_str(
        "{ transport: quic, parser: { type: plaintext, config: { rules: [] } } }",
    )
    .expect("well-formed");
    let problems = Factory.validate(&config).expect_err("invalid").lines();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("transport") && problems[0].contains("`quic` is not tcp or udp"));
    assert!(problems[1].contains("parser.config") && problems[1].contains("takes no settings"));
    let config: CarbonConfig =
        serde_norway::from_str("{ parser: { type: delimiter } }").expect("well-formed");
    let problems = Factory.validate(&config).expect_err("invalid").lines();
    assert!(
        problems[0].contains("`delimiter` is not plaintext or regex"),
        "{problems:?}"
    );
    assert!(serde_norway::from_str::<CarbonConfig>("{ tcp_idle_timout: 1s }").is_err());
}
