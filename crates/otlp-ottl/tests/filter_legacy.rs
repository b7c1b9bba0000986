//! otelcol's legacy `filter` settings (`spans`, `logs`, `metrics` `include`/`exclude`), through
//! the real `Filter` built from the YAML an otelcol user writes: an item is dropped when `include`
//! is given and it does not match, or `exclude` is given and it matches; empty scopes and
//! resources go too. Expected results are written by hand from otelcol's README and tests.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric::Data,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_ottl::validate::{ProcessorKind, validate_serialized};
use otlp_ottl::{Error, Filter, FilterConfig, FilterStats, Signal};
use otlp_testkit::{Generator, data_point_count, span_count};

fn config(yaml: &str) -> FilterConfig {
    serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn filter(yaml: &str) -> Filter {
    Filter::new(&config(yaml)).unwrap_or_else(|e| panic!("{e}"))
}

/// The problems `Filter::new` refuses `yaml` with, as (path, message).
fn refused(yaml: &str) -> Vec<(String, String)> {
    match Filter::new(&config(yaml)) {
        Err(Error::InvalidConfig(problems)) => {
            problems.into_iter().map(|p| (p.path, p.message)).collect()
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

fn resource(attributes: Vec<(&str, &str)>) -> Option<Resource> {
    Some(Resource {
        attributes: kvs(attributes.into_iter().map(|(k, v)| (k, s(v))).collect()),
        ..Default::default()
    })
}

fn scope(name: &str, version: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.to_owned(),
        version: version.to_owned(),
        ..Default::default()
    })
}

fn span(name: &str, kind: i32, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: name.to_owned(),
        kind,
        attributes,
        ..Default::default()
    }
}

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const INTERNAL: i32 = 1;

/// Two services: the frontend (production, HTTP instrumentation 1.2.0) with a health check, a
/// page and a database call; the cart (staging, an unversioned app scope) with its own work and
/// a health check.
fn shop_traces() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: resource(vec![
                    ("service.name", "frontend"),
                    ("deployment.environment", "production"),
                ]),
                scope_spans: vec![ScopeSpans {
                    scope: scope("io.opentelemetry.http", "1.2.0"),
                    spans: vec![
                        span(
                            "GET /healthz",
                            SERVER,
                            kvs(vec![("http.route", s("/healthz"))]),
                        ),
                        span(
                            "GET /cart",
                            SERVER,
                            kvs(vec![
                                ("http.route", s("/cart")),
                                ("http.response.status_code", i(200)),
                            ]),
                        ),
                        span(
                            "SELECT cart",
                            CLIENT,
                            kvs(vec![("db.system", s("postgresql"))]),
                        ),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            },
            ResourceSpans {
                resource: resource(vec![
                    ("service.name", "cart"),
                    ("deployment.environment", "staging"),
                ]),
                scope_spans: vec![ScopeSpans {
                    scope: scope("app", ""),
                    spans: vec![
                        span("AddItem", INTERNAL, kvs(vec![("app.cart.items", i(3))])),
                        span(
                            "GET /healthz",
                            SERVER,
                            kvs(vec![("http.route", s("/healthz"))]),
                        ),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    }
}

/// `service/span name` of every span left, in order.
fn span_names(request: &ExportTraceServiceRequest) -> Vec<String> {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| attr(&r.attributes, "service.name"))
                .map(|v| format!("{v:?}"))
                .unwrap_or_default();
            let service = if service.contains("frontend") {
                "frontend"
            } else {
                "cart"
            };
            rs.scope_spans
                .iter()
                .flat_map(|ss| &ss.spans)
                .map(move |span| format!("{service}/{}", span.name))
        })
        .collect()
}

fn run_traces(yaml: &str) -> (Vec<String>, FilterStats) {
    let mut request = shop_traces();
    let stats = filter(yaml).filter_traces(&mut request).unwrap();
    (span_names(&request), stats)
}

#[test]
fn spans_exclude_strict_span_names() {
    let (left, stats) = run_traces(
        r#"
spans:
  exclude:
    match_type: strict
    span_names: ["GET /healthz"]
"#,
    );
    assert_eq!(
        left,
        ["frontend/GET /cart", "frontend/SELECT cart", "cart/AddItem"]
    );
    assert_eq!(stats.spans, 2);
    assert_eq!(stats.dropped_items(Signal::Traces), 2);
}

#[test]
fn spans_include_regexp_services_drops_other_services_whole() {
    let mut request = shop_traces();
    let stats = filter(
        r#"
spans:
  include:
    match_type: regexp
    services: ["^front"]
"#,
    )
    .filter_traces(&mut request)
    .unwrap();
    assert_eq!(
        span_names(&request),
        [
            "frontend/GET /healthz",
            "frontend/GET /cart",
            "frontend/SELECT cart"
        ]
    );
    assert_eq!(stats.spans, 2);
    assert_eq!(request.resource_spans.len(), 1, "the emptied resource goes");
}

#[test]
fn spans_include_and_exclude_together() {
    // otelcol's README: include first, then exclude.
    let (left, stats) = run_traces(
        r#"
spans:
  include:
    match_type: strict
    services: [frontend]
  exclude:
    match_type: regexp
    span_names: ["health"]
"#,
    );
    assert_eq!(left, ["frontend/GET /cart", "frontend/SELECT cart"]);
    assert_eq!(stats.spans, 3);
}

#[test]
fn spans_attributes_must_all_match() {
    // A strict int value matches the int attribute.
    let (left, _) = run_traces(
        r#"
spans:
  exclude:
    match_type: strict
    attributes:
      - key: http.response.status_code
        value: 200
"#,
    );
    assert_eq!(
        left,
        [
            "frontend/GET /healthz",
            "frontend/SELECT cart",
            "cart/AddItem",
            "cart/GET /healthz"
        ]
    );
    // Both attributes must be there: no span has `http.route` and `db.system`.
    let (left, stats) = run_traces(
        r#"
spans:
  exclude:
    match_type: strict
    attributes:
      - {key: http.route, value: /healthz}
      - {key: db.system}
"#,
    );
    assert_eq!(left.len(), 5);
    assert_eq!(stats, FilterStats::default());
    // Key only: present with any value.
    let (left, _) = run_traces(
        r#"
spans:
  include:
    match_type: regexp
    attributes:
      - {key: http.route, value: "^/(cart|healthz)$"}
"#,
    );
    assert_eq!(
        left,
        [
            "frontend/GET /healthz",
            "frontend/GET /cart",
            "cart/GET /healthz"
        ]
    );
}

#[test]
fn spans_resources_and_libraries() {
    let (left, stats) = run_traces(
        r#"
spans:
  exclude:
    match_type: strict
    resources:
      - {key: deployment.environment, value: staging}
"#,
    );
    assert_eq!(
        left,
        [
            "frontend/GET /healthz",
            "frontend/GET /cart",
            "frontend/SELECT cart"
        ]
    );
    assert_eq!(stats.spans, 2);

    let (left, _) = run_traces(
        r#"
spans:
  include:
    match_type: strict
    libraries:
      - {name: io.opentelemetry.http, version: "1.2.0"}
"#,
    );
    assert_eq!(left.len(), 3);
    assert!(left.iter().all(|l| l.starts_with("frontend/")), "{left:?}");

    // filterconfig: a blank version matches only a blank version; no version matches any.
    let (left, _) = run_traces(
        r#"
spans:
  exclude:
    match_type: strict
    libraries:
      - {name: io.opentelemetry.http, version: ""}
"#,
    );
    assert_eq!(left.len(), 5);
    let (left, _) = run_traces(
        r#"
spans:
  exclude:
    match_type: strict
    libraries:
      - {name: app, version: ""}
"#,
    );
    assert_eq!(
        left,
        [
            "frontend/GET /healthz",
            "frontend/GET /cart",
            "frontend/SELECT cart"
        ]
    );
}

#[test]
fn spans_kinds_strict_and_unknown_kind_refused() {
    let (left, _) = run_traces(
        r#"
spans:
  include:
    match_type: strict
    span_kinds: [SPAN_KIND_SERVER]
"#,
    );
    assert_eq!(
        left,
        [
            "frontend/GET /healthz",
            "frontend/GET /cart",
            "cart/GET /healthz"
        ]
    );
    let problems = refused(
        r#"
spans:
  include:
    match_type: strict
    span_kinds: [SERVER]
"#,
    );
    assert_eq!(problems[0].0, "spans.include");
    assert!(problems[0].1.contains("SPAN_KIND_SERVER"), "{problems:?}");
}

#[test]
fn spans_exclude_services_over_generated_traces() {
    let mut request = Generator::new(11).traces(2_000);
    let before = span_count(&request);
    let service_of = |rs: &ResourceSpans| {
        rs.resource
            .as_ref()
            .and_then(|r| attr(&r.attributes, "service.name"))
            .cloned()
    };
    let excluded = [s("cart"), s("checkout")];
    let in_excluded: usize = request
        .resource_spans
        .iter()
        .filter(|rs| service_of(rs).is_some_and(|v| excluded.contains(&v)))
        .map(|rs| {
            rs.scope_spans
                .iter()
                .map(|ss| ss.spans.len())
                .sum::<usize>()
        })
        .sum();
    assert!(in_excluded > 0);
    let mut expected = request.clone();
    expected
        .resource_spans
        .retain(|rs| !service_of(rs).is_some_and(|v| excluded.contains(&v)));
    let stats = filter(
        r#"
spans:
  exclude:
    match_type: strict
    services: [cart, checkout]
"#,
    )
    .filter_traces(&mut request)
    .unwrap();
    assert_eq!(stats.spans, in_excluded);
    assert_eq!(span_count(&request), before - in_excluded);
    assert_eq!(request, expected, "every other span is unchanged");
}

fn log(severity: i32, text: &str, body: &str, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_767_225_600_000_000_000,
        severity_number: severity,
        severity_text: text.to_owned(),
        body: Some(s(body)),
        attributes,
        ..Default::default()
    }
}

/// checkout (production): INFO order placed, DEBUG cache miss, ERROR payment failed, a record
/// without severity; frontend (staging): WARN slow request.
fn shop_logs() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![
            ResourceLogs {
                resource: resource(vec![
                    ("service.name", "checkout"),
                    ("deployment.environment", "production"),
                ]),
                scope_logs: vec![ScopeLogs {
                    scope: scope("checkout.logger", ""),
                    log_records: vec![
                        log(
                            9,
                            "INFO",
                            "order placed",
                            kvs(vec![("app.order.id", s("o-1"))]),
                        ),
                        log(5, "DEBUG", "cache miss", vec![]),
                        log(
                            17,
                            "ERROR",
                            "payment failed: card declined",
                            kvs(vec![("exception.type", s("CardDeclinedError"))]),
                        ),
                        log(0, "", "raw line", vec![]),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            },
            ResourceLogs {
                resource: resource(vec![
                    ("service.name", "frontend"),
                    ("deployment.environment", "staging"),
                ]),
                scope_logs: vec![ScopeLogs {
                    scope: scope("frontend.logger", ""),
                    log_records: vec![log(13, "WARN", "slow request", vec![])],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    }
}

fn run_logs(yaml: &str) -> (Vec<String>, FilterStats) {
    let mut request = shop_logs();
    let stats = filter(yaml).filter_logs(&mut request).unwrap();
    let bodies = request
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
        .map(|l| match l.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s)) => {
                s.clone()
            }
            _ => String::new(),
        })
        .collect();
    (bodies, stats)
}

#[test]
fn logs_severity_number() {
    // otelcol's README example: drop everything INFO and above.
    let (left, stats) = run_logs(
        r#"
logs:
  exclude:
    match_type: strict
    severity_number:
      min: INFO
"#,
    );
    assert_eq!(left, ["cache miss", "raw line"]);
    assert_eq!(stats.log_records, 3);
    let (left, _) = run_logs(
        r#"
logs:
  include:
    match_type: strict
    severity_number:
      min: warn
      match_undefined: true
"#,
    );
    assert_eq!(
        left,
        ["payment failed: card declined", "raw line", "slow request"]
    );
}

#[test]
fn logs_bodies_and_severity_texts() {
    let (left, _) = run_logs(
        r#"
logs:
  exclude:
    match_type: regexp
    bodies: ["^cache", "declined$"]
"#,
    );
    assert_eq!(left, ["order placed", "raw line", "slow request"]);
    let (left, _) = run_logs(
        r#"
logs:
  exclude:
    match_type: strict
    bodies: ["order placed"]
"#,
    );
    assert_eq!(left.len(), 4);
    assert!(!left.contains(&"order placed".to_owned()));
    let (left, stats) = run_logs(
        r#"
logs:
  include:
    match_type: strict
    severity_texts: [ERROR, WARN]
"#,
    );
    assert_eq!(left, ["payment failed: card declined", "slow request"]);
    assert_eq!(stats.log_records, 3);
}

#[test]
fn logs_record_and_resource_attributes() {
    let (left, _) = run_logs(
        r#"
logs:
  exclude:
    match_type: regexp
    record_attributes:
      - {key: exception.type, value: "^CardDeclined"}
"#,
    );
    assert_eq!(
        left,
        ["order placed", "cache miss", "raw line", "slow request"]
    );
    let mut request = shop_logs();
    let stats = filter(
        r#"
logs:
  include:
    match_type: strict
    resource_attributes:
      - {key: service.name, value: checkout}
"#,
    )
    .filter_logs(&mut request)
    .unwrap();
    assert_eq!(stats.log_records, 1);
    assert_eq!(request.resource_logs.len(), 1, "frontend's resource goes");
}

#[test]
fn logs_include_and_exclude_together() {
    let (left, stats) = run_logs(
        r#"
logs:
  include:
    match_type: strict
    resource_attributes:
      - {key: deployment.environment, value: production}
  exclude:
    match_type: strict
    severity_number: {min: ERROR}
"#,
    );
    assert_eq!(left, ["order placed", "cache miss", "raw line"]);
    assert_eq!(stats.log_records, 2);
}

#[test]
fn logs_empty_properties_are_ignored_as_otelcol_does() {
    let f = filter("logs: {include: {match_type: strict}}");
    assert!(!f.handles(Signal::Logs));
    let mut request = shop_logs();
    let before = request.clone();
    assert_eq!(f.filter_logs(&mut request).unwrap(), FilterStats::default());
    assert_eq!(request, before);
}

fn number_points(n: usize) -> Vec<NumberDataPoint> {
    (0..n)
        .map(|k| NumberDataPoint {
            time_unix_nano: 1_767_225_600_000_000_000 + k as u64,
            ..Default::default()
        })
        .collect()
}

fn gauge(name: &str, points: usize) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Gauge(Gauge {
            data_points: number_points(points),
        })),
        ..Default::default()
    }
}

fn sum(name: &str, points: usize) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Sum(Sum {
            data_points: number_points(points),
            aggregation_temporality: 2,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

fn histogram(name: &str, points: usize) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(Data::Histogram(Histogram {
            data_points: (0..points).map(|_| HistogramDataPoint::default()).collect(),
            aggregation_temporality: 2,
        })),
        ..Default::default()
    }
}

/// cart (production): request duration (2 points), cart items (3), CPU time (1); frontend
/// (staging): request duration (1), JVM memory (2).
fn shop_metrics() -> ExportMetricsServiceRequest {
    let rm = |service: &str, env: &str, metrics: Vec<Metric>| ResourceMetrics {
        resource: resource(vec![
            ("service.name", service),
            ("deployment.environment", env),
        ]),
        scope_metrics: vec![ScopeMetrics {
            scope: scope("io.opentelemetry.runtime", "2.0.0"),
            metrics,
            ..Default::default()
        }],
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![
            rm(
                "cart",
                "production",
                vec![
                    histogram("http.server.request.duration", 2),
                    sum("app.cart.items", 3),
                    gauge("process.cpu.time", 1),
                ],
            ),
            rm(
                "frontend",
                "staging",
                vec![
                    histogram("http.server.request.duration", 1),
                    gauge("jvm.memory.used", 2),
                ],
            ),
        ],
    }
}

fn run_metrics(yaml: &str) -> (Vec<String>, FilterStats) {
    let mut request = shop_metrics();
    let stats = filter(yaml).filter_metrics(&mut request).unwrap();
    let names = request
        .resource_metrics
        .iter()
        .flat_map(|rm| {
            let service = if format!("{:?}", rm.resource).contains("frontend") {
                "frontend"
            } else {
                "cart"
            };
            rm.scope_metrics
                .iter()
                .flat_map(|sm| &sm.metrics)
                .map(move |m| format!("{service}/{}", m.name))
        })
        .collect();
    (names, stats)
}

#[test]
fn metrics_include_strict_names() {
    let (left, stats) = run_metrics(
        r#"
metrics:
  include:
    match_type: strict
    metric_names: [http.server.request.duration]
"#,
    );
    assert_eq!(
        left,
        [
            "cart/http.server.request.duration",
            "frontend/http.server.request.duration"
        ]
    );
    assert_eq!(stats.metrics, 3);
    assert_eq!(stats.data_points, 6);
    assert_eq!(stats.dropped_items(Signal::Metrics), 6);
}

#[test]
fn metrics_exclude_regexp_names() {
    let (left, stats) = run_metrics(
        r#"
metrics:
  exclude:
    match_type: regexp
    regexp: {cacheenabled: true}
    metric_names: ["^process\\.", "^jvm\\."]
"#,
    );
    assert_eq!(
        left,
        [
            "cart/http.server.request.duration",
            "cart/app.cart.items",
            "frontend/http.server.request.duration"
        ]
    );
    assert_eq!((stats.metrics, stats.data_points), (2, 3));
}

#[test]
fn metrics_resource_attributes_drop_whole_resources() {
    let (left, stats) = run_metrics(
        r#"
metrics:
  include:
    match_type: strict
    resource_attributes:
      - {key: deployment.environment, value: production}
"#,
    );
    assert_eq!(
        left,
        [
            "cart/http.server.request.duration",
            "cart/app.cart.items",
            "cart/process.cpu.time"
        ]
    );
    assert_eq!(
        (stats.resources, stats.metrics, stats.data_points),
        (1, 2, 3)
    );
}

#[test]
fn metrics_exclude_names_or_resource_as_otelcol_decides_them_apart() {
    // otelcol checks the resource attributes per resource and the names per metric: either drops.
    let (left, stats) = run_metrics(
        r#"
metrics:
  exclude:
    match_type: strict
    metric_names: [app.cart.items]
    resource_attributes:
      - {key: service.name, value: frontend}
"#,
    );
    assert_eq!(
        left,
        ["cart/http.server.request.duration", "cart/process.cpu.time"]
    );
    assert_eq!(
        (stats.resources, stats.metrics, stats.data_points),
        (1, 3, 6)
    );
}

#[test]
fn metrics_include_and_exclude_over_generated_metrics() {
    let mut request = Generator::new(5).metrics(3_000);
    let before = data_point_count(&request);
    let mut expected = request.clone();
    for rm in &mut expected.resource_metrics {
        for sm in &mut rm.scope_metrics {
            sm.metrics
                .retain(|m| m.name.starts_with("http.") && !m.name.ends_with(".body.size"));
        }
        rm.scope_metrics.retain(|sm| !sm.metrics.is_empty());
    }
    expected
        .resource_metrics
        .retain(|rm| !rm.scope_metrics.is_empty());
    let stats = filter(
        r#"
metrics:
  include:
    match_type: regexp
    metric_names: ['^http\.']
  exclude:
    match_type: regexp
    metric_names: ['\.body\.size$']
"#,
    )
    .filter_metrics(&mut request)
    .unwrap();
    assert!(data_point_count(&request) > 0);
    assert_eq!(request, expected);
    assert_eq!(stats.data_points, before - data_point_count(&request));
}

#[test]
fn metrics_expr_is_refused_with_the_ottl_way() {
    let problems = refused(
        r#"
metrics:
  exclude:
    match_type: expr
    expressions:
      - 'MetricName == "jvm.memory.used" && Label("area") == "heap"'
"#,
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "metrics.exclude.expressions");
    assert!(problems[0].1.contains("antonmedv/expr"), "{problems:?}");
    assert!(problems[0].1.contains("metrics.metric"), "{problems:?}");
}

#[test]
fn legacy_and_ottl_for_one_signal_are_refused() {
    let problems = refused(
        r#"
traces:
  span: ['name == "GET /healthz"']
spans:
  exclude: {match_type: strict, span_names: ["GET /readyz"]}
logs:
  include: {match_type: strict, severity_texts: [ERROR]}
  log_record: ['severity_number < 9']
metrics:
  exclude: {match_type: strict, metric_names: [a]}
"#,
    );
    let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["spans.exclude", "logs.include"]);
    assert!(problems[0].1.contains("`traces.span`"), "{problems:?}");
    assert!(problems[1].1.contains("`logs.log_record`"), "{problems:?}");
    // Different signals may use different ways.
    filter(
        r#"
traces:
  span: ['name == "GET /healthz"']
logs:
  exclude: {match_type: strict, severity_texts: [DEBUG]}
"#,
    );
}

fn problems(yaml: &str) -> Vec<(String, String)> {
    let value: serde_norway::Value = serde_norway::from_str(yaml).unwrap();
    validate_serialized(ProcessorKind::Filter, &value, &[])
        .into_iter()
        .map(|p| (p.path, p.message))
        .collect()
}

#[test]
fn validate_accepts_legacy_settings() {
    let found = problems(
        r#"
error_mode: ignore
spans:
  include:
    match_type: regexp
    regexp: {cacheenabled: true, cachemaxnumentries: 100}
    services: ["^shop-"]
    attributes: [{key: http.route}]
  exclude:
    match_type: strict
    span_names: ["GET /healthz"]
logs:
  exclude:
    match_type: strict
    severity_number: {min: DEBUG4, match_undefined: true}
metrics:
  regexp: {cacheenabled: false}
  include:
    match_type: strict
    metric_names: [http.server.request.duration]
    resource_attributes: [{key: service.name, value: cart}]
"#,
    );
    assert_eq!(found, []);
}

#[test]
fn validate_reports_legacy_mistakes_with_their_paths() {
    let found = problems(
        r#"
traces:
  include: {match_type: strict, services: [a]}
spans:
  include:
    match_type: regexp
    span_names: ["GET (/healthz"]
  exclude:
    match_type: strict
    span_name: ["GET /readyz"]
logs:
  include:
    match_type: strict
    severity_text: [ERROR]
  exclude:
    match_type: glob
    bodies: [x]
metrics:
  exclude:
    match_type: expr
    expressions: ['MetricName == "a"']
  metric: ['name == "b"']
"#,
    );
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "logs.exclude",
            "logs.include.severity_text",
            "metrics.exclude",
            "spans.exclude.span_name",
            "spans.include",
            "traces.include",
        ],
        "{found:?}"
    );
    let message = |path: &str| &found.iter().find(|(p, _)| p == path).unwrap().1;
    assert!(message("logs.exclude").contains("glob"));
    assert!(message("logs.include.severity_text").contains("did you mean `severity_texts`?"));
    assert!(message("metrics.exclude").contains("`metrics.metric`"));
    assert!(message("spans.exclude.span_name").contains("did you mean `span_names`?"));
    assert!(message("spans.include").contains("invalid regex"));
    assert!(message("traces.include").contains("spans.include"));
    // Without the OTTL conditions, `expr` itself is the problem.
    let found = problems("metrics: {exclude: {match_type: expr, expressions: ['x']}}");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "metrics.exclude.expressions");
}
