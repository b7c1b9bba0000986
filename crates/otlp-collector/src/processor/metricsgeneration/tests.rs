use super::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, ScopeMetrics};

fn point(attributes: &[(&str, &str)], value: number_data_point::Value) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes
            .iter()
            .map(|(k, v)| otlp_ottl::key_value(*k, otlp_ottl::string_value(*v)))
            .collect(),
        time_unix_nano: 42,
        value: Some(value),
        ..Default::default()
    }
}

fn gauge(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    }
}

fn run(yaml: &str, metrics: Vec<Metric>) -> Vec<Metric> {
    let config: MetricsGenerationConfig = serde_norway::from_str(yaml).unwrap();
    let generate = Generate {
        rules: config.checked().unwrap(),
        match_attributes: config.match_attributes,
    };
    let mut batch = Batch::new(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    generate.apply(&mut batch);
    let request = batch.get::<ExportMetricsServiceRequest>().unwrap();
    request.resource_metrics[0].scope_metrics[0].metrics.clone()
}

/// (attributes `k=v` joined, value) of a metric's points.
fn values(metric: &Metric) -> Vec<(String, f64)> {
    points(metric)
        .unwrap()
        .iter()
        .map(|p| {
            let labels: Vec<String> = p
                .attributes
                .iter()
                .map(
                    |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(
                            opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                                s,
                            ),
                        ) => {
                            format!("{}={s}", kv.key)
                        }
                        other => panic!("{other:?}"),
                    },
                )
                .collect();
            (labels.join(","), value(p))
        })
        .collect()
}

use number_data_point::Value::{AsDouble, AsInt};

#[test]
fn calculate_uses_metric2_s_first_point_against_every_point_of_metric1() {
    let metrics = run(
        "rules: [{ name: pod.memory.utilization, unit: '%', type: calculate, metric1: usage, metric2: limit, operation: percent }]",
        vec![
            gauge(
                "usage",
                vec![
                    point(&[("pod", "a")], AsInt(50)),
                    point(&[("pod", "b")], AsDouble(25.0)),
                ],
            ),
            gauge(
                "limit",
                vec![
                    point(&[("node", "n1")], AsInt(200)),
                    point(&[("node", "n2")], AsInt(1)),
                ],
            ),
        ],
    );
    assert_eq!(metrics.len(), 3);
    let made = &metrics[2];
    assert_eq!(
        (made.name.as_str(), made.unit.as_str()),
        ("pod.memory.utilization", "%")
    );
    assert_eq!(
        values(made),
        [("pod=a".to_owned(), 25.0), ("pod=b".to_owned(), 12.5)]
    );
    assert_eq!(points(made).unwrap()[0].time_unix_nano, 42);
}

#[test]
fn with_match_attributes_each_matching_pair_is_a_point_with_both_attribute_sets() {
    let metrics = run(
        "{ match_attributes: true, rules: [{ name: ratio, type: calculate, metric1: used, metric2: total, operation: divide }] }",
        vec![
            gauge(
                "used",
                vec![
                    point(&[("disk", "sda")], AsInt(30)),
                    point(&[("disk", "sdb")], AsInt(10)),
                ],
            ),
            gauge(
                "total",
                vec![
                    point(&[("disk", "sda"), ("host", "h")], AsInt(60)),
                    point(&[("disk", "sdb"), ("host", "h")], AsInt(0)),
                ],
            ),
        ],
    );
    assert_eq!(
        values(&metrics[2]),
        [("disk=sda,host=h".to_owned(), 0.5)],
        "sdb's division by zero is left out"
    );
}

#[test]
fn scale_keeps_metric1_s_kind_and_rules_see_what_earlier_rules_made() {
    let sum = Metric {
        name: "megabytes".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![point(&[], AsInt(3))],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    let metrics = run(
        "rules:
  - { name: bytes, unit: By, type: scale, metric1: megabytes, operation: multiply, scale_by: 1048576 }
  - { name: kilobytes, type: scale, metric1: bytes, operation: divide, scale_by: 1024 }",
        vec![sum],
    );
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["megabytes", "bytes", "kilobytes"]);
    let Some(Data::Sum(bytes)) = &metrics[1].data else {
        panic!("a sum")
    };
    assert_eq!(
        bytes.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    assert!(!bytes.is_monotonic);
    assert_eq!(values(&metrics[2]), [(String::new(), 3072.0)]);
}

#[test]
fn missing_operands_add_nothing() {
    let metrics = run(
        "rules: [{ name: x, type: calculate, metric1: a, metric2: absent, operation: add }, { name: y, type: scale, metric1: absent, operation: add, scale_by: 1 }]",
        vec![gauge("a", vec![point(&[], AsInt(1))])],
    );
    assert_eq!(metrics.len(), 1);
}

#[test]
fn every_bad_rule_is_named_with_its_key() {
    let config: MetricsGenerationConfig = serde_norway::from_str(
        "rules:
  - { type: calculate, metric1: a, operation: add }
  - { name: b, type: scale, metric1: a, operation: modulo }
  - { name: c, type: ratio, metric1: a, operation: add }",
    )
    .unwrap();
    let problems = Factory.validate(&config).unwrap_err().lines();
    for expected in [
        "rules[0].name",
        "rules[0].metric2: is required by `calculate`",
        "rules[1].operation: `modulo` is not",
        "rules[1].scale_by",
        "rules[2].type: `ratio` is not calculate or scale",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected} in {problems:?}"
        );
    }
}
