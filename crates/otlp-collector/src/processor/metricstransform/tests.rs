use super::*;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, NumberDataPoint, Sum, Summary,
    SummaryDataPoint, number_data_point::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

fn labels(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(k, v)| otlp_ottl::key_value(*k, otlp_ottl::string_value(*v)))
        .collect()
}

fn point(pairs: &[(&str, &str)], value: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: labels(pairs),
        time_unix_nano: 100,
        start_time_unix_nano: 10,
        value: Some(Value::AsInt(value)),
        ..Default::default()
    }
}

fn sum(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_owned(),
        unit: "s".to_owned(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: labels(&[("host.name", "h1")]),
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

fn processor(yaml: &str) -> MetricsTransform {
    let config: MetricsTransformConfig = serde_norway::from_str(yaml).unwrap();
    config.validate().unwrap();
    MetricsTransform {
        transforms: config
            .transforms
            .iter()
            .map(|t| Transform::new(t).unwrap())
            .collect(),
        id: "metricstransform".into(),
    }
}

fn run(yaml: &str, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    let mut request = request(metrics);
    processor(yaml).process(&mut request);
    request
}

fn metrics(request: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect()
}

/// Each point of the metric as its labels (`k=v` joined by `,`, sorted) and value.
fn points(metric: &Metric) -> Vec<(String, f64)> {
    let numbers: Vec<&NumberDataPoint> = match &metric.data {
        Some(Data::Sum(s)) => s.data_points.iter().collect(),
        Some(Data::Gauge(g)) => g.data_points.iter().collect(),
        other => panic!("{other:?}"),
    };
    let mut out: Vec<(String, f64)> = numbers
        .iter()
        .map(|p| {
            let mut pairs: Vec<String> = p
                .attributes
                .iter()
                .map(|kv| match &kv.value.as_ref().unwrap().value {
                    Some(any_value::Value::StringValue(s)) => format!("{}={s}", kv.key),
                    other => format!("{}={other:?}", kv.key),
                })
                .collect();
            pairs.sort();
            let value = match p.value {
                Some(Value::AsInt(v)) => v as f64,
                Some(Value::AsDouble(v)) => v,
                None => f64::NAN,
            };
            (pairs.join(","), value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn cpu() -> Metric {
    sum(
        "system.cpu.time",
        vec![
            point(&[("cpu", "cpu0"), ("state", "user")], 10),
            point(&[("cpu", "cpu0"), ("state", "idle")], 100),
            point(&[("cpu", "cpu1"), ("state", "user")], 20),
            point(&[("cpu", "cpu1"), ("state", "idle")], 200),
        ],
    )
}

#[test]
fn otelcol_s_full_example_config_is_taken_as_written() {
    let yaml = r#"
transforms:
  - include: name1
    match_type: strict
    action: insert
    new_name: new_name
    operations:
      - action: add_label
        new_label: my_label
        new_value: my_value
  - include: new_name
    action: insert
    new_name: new_name_copy_2
    match_type: regexp
    experimental_match_labels: {"my_label": ".*label"}
  - include: name2
    action: update
    operations:
      - action: update_label
        label: label
        new_label: new_label_key
        value_actions:
          - value: label1
            new_value: new_label1
      - action: aggregate_labels
        label_set: [new_label1, label2]
        aggregation_type: sum
      - action: aggregate_label_values
        label: new_label1
        aggregated_values: [value1, value2]
        new_value: new_value
        aggregation_type: sum
  - include: name3
    match_type: strict
    action: update
    operations:
      - action: delete_label_value
        label: my_label
        label_value: delete_me
  - include: ^regexp (?P<my_label>.*)$
    match_type: regexp
    action: combine
    new_name: combined_metric_name
    submatch_case: lower
  - include: name2
    match_type: strict
    action: group
    group_resource_labels: {"metric_group": "2"}
"#;
    let config: MetricsTransformConfig = serde_norway::from_str(yaml).unwrap();
    if let Err(invalid) = config.validate() {
        panic!("{:?}", invalid.at_path("processors.metricstransform"));
    }
    processor(yaml);
}

#[test]
fn mistakes_are_named_with_the_reason() {
    let config: MetricsTransformConfig = serde_norway::from_str(
        r#"
transforms:
  - action: insert
  - include: "("
    match_type: regexp
    action: combine
    new_name: x
    aggregation_type: average
    operations:
      - action: add_label
        new_label: l
      - action: aggregate_labels
        label_set: [a]
      - action: experimental_scale_value
"#,
    )
    .unwrap();
    let problems = config
        .validate()
        .unwrap_err()
        .at_path("processors.metricstransform");
    let text: Vec<String> = problems.iter().map(|(p, m)| format!("{p}: {m}")).collect();
    let text = text.join("\n");
    for expected in [
        "transforms[0]: missing required field `include`",
        "transforms[0].new_name: required when `action` is insert",
        "transforms[1].include: not a regular expression",
        "transforms[1].aggregation_type: `average` is not an aggregation type; use one of sum, mean, min, max, \
         median, count",
        "transforms[1].operations[0].new_value: required when `action` is add_label",
        "transforms[1].operations[1].aggregation_type: required when `action` is aggregate_labels",
        "transforms[1].operations[2].experimental_scale: required when `action` is experimental_scale_value",
    ] {
        assert!(text.contains(expected), "{expected}\nin\n{text}");
    }
    let unknown: Result<MetricsTransformConfig, _> =
        serde_norway::from_str("transforms: [{include: a, operations: [{action: rename_label}]}]");
    assert!(unknown.unwrap_err().to_string().contains("rename_label"));
}

#[test]
fn update_renames_labels_and_values_then_aggregates_away_the_cpu() {
    let out = run(
        r#"
transforms:
  - include: system.cpu.time
    new_name: system.cpu.usage_time
    operations:
      - action: update_label
        label: state
        new_label: cpu_state
        value_actions: [{value: idle, new_value: "-"}]
      - action: aggregate_labels
        label_set: [cpu_state]
        aggregation_type: sum
"#,
        vec![cpu()],
    );
    let metrics = metrics(&out);
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0].name, "system.cpu.usage_time");
    assert_eq!(
        points(metrics[0]),
        [
            ("cpu_state=-".to_owned(), 300.0),
            ("cpu_state=user".to_owned(), 30.0)
        ]
    );
}

#[test]
fn insert_copies_a_metric_and_regexp_groups_fill_the_new_name() {
    let out = run(
        r#"
transforms:
  - include: ^system\.cpu\.(.*)$
    match_type: regexp
    action: insert
    new_name: host.processor.${1}.stat
    operations:
      - action: add_label
        new_label: version
        new_value: "collector {{version}}"
"#,
        vec![cpu()],
    );
    let metrics = metrics(&out);
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["system.cpu.time", "host.processor.time.stat"]);
    assert!(
        points(metrics[0])
            .iter()
            .all(|(l, _)| !l.contains("version")),
        "the original is untouched"
    );
    let version = format!("version=collector {}", env!("CARGO_PKG_VERSION"));
    assert!(
        points(metrics[1]).iter().all(|(l, _)| l.contains(&version)),
        "{:?}",
        points(metrics[1])
    );
}

#[test]
fn label_values_merge_delete_toggle_and_scale() {
    let out = run(
        r#"
transforms:
  - include: system.cpu.time
    operations:
      - action: aggregate_label_values
        label: cpu
        aggregated_values: [cpu0, cpu1]
        new_value: all
        aggregation_type: max
      - action: delete_label_value
        label: state
        label_value: idle
      - action: toggle_scalar_data_type
      - action: experimental_scale_value
        experimental_scale: 1000
"#,
        vec![cpu()],
    );
    let metrics = metrics(&out);
    assert_eq!(
        points(metrics[0]),
        [("cpu=all,state=user".to_owned(), 20000.0)]
    );
    let Some(Data::Sum(sum)) = &metrics[0].data else {
        panic!()
    };
    assert_eq!(
        sum.data_points[0].value,
        Some(Value::AsDouble(20000.0)),
        "toggled to a double, then scaled"
    );
}

#[test]
fn a_metric_left_without_points_is_dropped_and_its_scope_and_resource_with_it() {
    let out = run(
        r#"
transforms:
  - include: system.cpu.time
    operations:
      - action: delete_label_value
        label: cpu
        label_value: cpu0
      - action: delete_label_value
        label: cpu
        label_value: cpu1
"#,
        vec![cpu()],
    );
    assert!(out.resource_metrics.is_empty(), "{out:?}");
}

#[test]
fn matched_labels_limit_an_update_to_value_changes_of_the_matching_points() {
    let out = run(
        r#"
transforms:
  - include: system.cpu.time
    experimental_match_labels: {cpu: cpu0}
    new_name: renamed
    operations:
      - action: experimental_scale_value
        experimental_scale: 2
      - action: add_label
        new_label: added
        new_value: "yes"
"#,
        vec![cpu()],
    );
    let updated = metrics(&out);
    // Not every point matches: no rename, no added label; the matching points' values change.
    assert_eq!(updated[0].name, "system.cpu.time");
    assert_eq!(
        points(updated[0]),
        [
            ("cpu=cpu0,state=idle".to_owned(), 200.0),
            ("cpu=cpu0,state=user".to_owned(), 20.0),
            ("cpu=cpu1,state=idle".to_owned(), 200.0),
            ("cpu=cpu1,state=user".to_owned(), 20.0)
        ]
    );
    // An insert takes the matching points alone, and may change the copy as a whole.
    let out = run(
        "transforms: [{include: system.cpu.time, action: insert, new_name: cpu0.time, \
         experimental_match_labels: {cpu: cpu0}}]",
        vec![cpu()],
    );
    let inserted = metrics(&out);
    assert_eq!(inserted[1].name, "cpu0.time");
    assert_eq!(points(inserted[1]).len(), 2);
    assert_eq!(points(inserted[0]).len(), 4);
}

#[test]
fn combine_makes_one_metric_with_the_name_s_submatches_as_labels() {
    let requests = |method: &str, value| {
        let mut metric = sum(
            &format!("Web Service (*)/Total {method} Requests"),
            vec![point(&[("site", "a")], value)],
        );
        metric.unit = "{request}".into();
        metric
    };
    let out = run(
        r#"
transforms:
  - include: ^Web Service \(\*\)/Total (?P<http_method>.*) Requests$
    match_type: regexp
    action: combine
    new_name: iis.requests
    submatch_case: lower
    aggregation_type: sum
"#,
        vec![
            requests("Get", 5),
            requests("Post", 2),
            requests("Delete", 1),
            cpu(),
        ],
    );
    let metrics = metrics(&out);
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["system.cpu.time", "iis.requests"]);
    assert_eq!(metrics[1].unit, "{request}");
    assert_eq!(
        points(metrics[1]),
        [
            ("http_method=delete,site=a".to_owned(), 1.0),
            ("http_method=get,site=a".to_owned(), 5.0),
            ("http_method=post,site=a".to_owned(), 2.0)
        ]
    );
}

#[test]
fn metrics_of_different_kinds_are_not_combined() {
    let mut gauge = sum("req.b", vec![point(&[], 1)]);
    gauge.data = Some(Data::Gauge(Gauge {
        data_points: vec![point(&[], 1)],
    }));
    let summary = Metric {
        name: "req.c".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint::default()],
        })),
        ..Default::default()
    };
    for other in [gauge, summary] {
        let out = run(
            "transforms: [{include: '^req\\.(.*)$', match_type: regexp, action: combine, new_name: req, aggregation_type: sum}]",
            vec![sum("req.a", vec![point(&[], 1)]), other],
        );
        let names: Vec<&str> = metrics(&out).iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names.len(), 2, "left as they were: {names:?}");
        assert!(!names.contains(&"req"));
    }
}

#[test]
fn group_moves_metrics_to_a_resource_of_their_own() {
    let histogram = Metric {
        name: "k8s.pod.latency".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                count: 3,
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Delta as i32,
        })),
        ..Default::default()
    };
    let out = run(
        r#"
transforms:
  - include: ^k8s\.pod\.
    match_type: regexp
    action: group
    group_resource_labels: {resource.type: k8s.pod, source: kubelet}
"#,
        vec![cpu(), histogram],
    );
    assert_eq!(out.resource_metrics.len(), 2);
    let grouped = &out.resource_metrics[1];
    let resource = grouped.resource.as_ref().unwrap();
    let keys: Vec<&str> = resource
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["host.name", "resource.type", "source"],
        "the original resource's, and the group's"
    );
    assert_eq!(grouped.scope_metrics[0].metrics[0].name, "k8s.pod.latency");
    assert_eq!(metrics(&out)[0].name, "system.cpu.time");
    assert_eq!(out.resource_metrics[0].scope_metrics[0].metrics.len(), 1);
}
