//! The `resource`, `attributes`, `filter` and `transform` processors in a production-style pipeline, fed by the
//! real `opentelemetry-otlp` exporter: the same spans also go through a pipeline without processors, and what the
//! processed pipeline wrote is compared exactly against that input with the edits applied by hand.

mod common;

use common::{TestCollector, grpc_tracer_provider, read_traces, spans};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_collector::{Config, Error};
use prost::Message;
use std::collections::BTreeMap;
use std::time::Duration;

/// Processors as production configs write them (otelcol's documentation examples), and a second pipeline that
/// writes what was received, untouched.
const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
      http: { endpoint: "127.0.0.1:0" }
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 15
  batch:
    send_batch_size: 64
    timeout: 20ms
  resource:
    attributes:
      - key: deployment.environment
        value: production
        action: upsert
  attributes/strip-auth:
    actions:
      - key: http.request.header.authorization
        action: delete
  filter/health:
    error_mode: ignore
    traces:
      span:
        - 'attributes["http.route"] == "/health"'
  transform:
    error_mode: ignore
    trace_statements:
      - context: span
        statements:
          - set(attributes["whose_fault"], "ours") where attributes["http.response.status_code"] >= 500
exporters:
  file/raw: { path: "{dir}/raw", format: proto }
  file/processed: { path: "{dir}/processed", format: proto }
service:
  pipelines:
    traces/raw:
      receivers: [otlp]
      exporters: [file/raw]
    traces:
      receivers: [otlp]
      processors: [memory_limiter, resource, attributes/strip-auth, filter/health, transform, batch]
      exporters: [file/processed]
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

const HEALTH_CHECKS: usize = 40;
const API_CALLS: usize = 120;

/// An instrumented service behind a load balancer: health checks, API calls with an authorization header (some
/// failing with 5xx), and internal spans.
fn run_application(endpoint: String) {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("cart")
        .with_attribute(KeyValue::new("deployment.environment", "staging"))
        .build();
    let provider = grpc_tracer_provider(endpoint, resource);
    let tracer = provider.tracer("cart-http");
    for i in 0..HEALTH_CHECKS {
        let mut span = tracer.start("GET /health");
        span.set_attribute(KeyValue::new("http.route", "/health"));
        span.set_attribute(KeyValue::new("http.response.status_code", 200));
        span.set_attribute(KeyValue::new("probe", i as i64));
        span.end();
    }
    for i in 0..API_CALLS {
        let mut span = tracer.start("GET /api/cart");
        span.set_attribute(KeyValue::new("http.route", "/api/cart"));
        span.set_attribute(KeyValue::new(
            "http.request.header.authorization",
            format!("Bearer token-{i}"),
        ));
        let status = if i % 5 == 0 { 503 } else { 200 };
        span.set_attribute(KeyValue::new("http.response.status_code", status));
        span.set_attribute(KeyValue::new("app.cart.items", i as i64));
        span.end();
        let mut child = tracer.start("SELECT cart");
        child.set_attribute(KeyValue::new("db.system", "postgresql"));
        child.end();
    }
    provider.shutdown().unwrap();
}

fn string(value: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(value.to_string())),
    })
}

fn attribute<'a>(attributes: &'a [ProtoKeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

/// Every span by span id, with its resource and scope name.
fn by_span_id(
    requests: &[ExportTraceServiceRequest],
) -> BTreeMap<Vec<u8>, (Resource, String, Span)> {
    let mut out = BTreeMap::new();
    for rs in requests.iter().flat_map(|r| &r.resource_spans) {
        for ss in &rs.scope_spans {
            let scope = ss
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for span in &ss.spans {
                let resource = rs.resource.clone().unwrap_or_default();
                out.insert(
                    span.span_id.clone(),
                    (resource, scope.clone(), span.clone()),
                );
            }
        }
    }
    out
}

/// What the four processors must make of one received span, written out by hand; `None` for a dropped one.
fn expected(
    (resource, scope, span): &(Resource, String, Span),
) -> Option<(Resource, String, Span)> {
    if attribute(&span.attributes, "http.route")
        == Some(&any_value::Value::StringValue("/health".into()))
    {
        return None;
    }
    let mut resource = resource.clone();
    match resource
        .attributes
        .iter_mut()
        .find(|kv| kv.key == "deployment.environment")
    {
        Some(kv) => kv.value = string("production"),
        None => resource.attributes.push(ProtoKeyValue {
            key: "deployment.environment".into(),
            value: string("production"),
            ..Default::default()
        }),
    }
    let mut span = span.clone();
    span.attributes
        .retain(|kv| kv.key != "http.request.header.authorization");
    if let Some(any_value::Value::IntValue(status)) =
        attribute(&span.attributes, "http.response.status_code")
        && *status >= 500
    {
        span.attributes.push(ProtoKeyValue {
            key: "whose_fault".into(),
            value: string("ours"),
            ..Default::default()
        });
    }
    Some((resource, scope.clone(), span))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_pipeline_drops_health_checks_and_edits_only_what_it_should() {
    let harness = TestCollector::start(CONFIG).await;
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || run_application(endpoint))
        .await
        .unwrap();
    let TestCollector { collector, dir } = harness;
    let telemetry = collector.telemetry().clone();
    let report = collector.shutdown(Duration::from_secs(10)).await;
    assert!(report.is_clean(), "{report:?}");

    let raw = by_span_id(&read_traces(&dir.path().join("raw"), false));
    let processed = by_span_id(&read_traces(&dir.path().join("processed"), false));
    assert_eq!(
        raw.len(),
        HEALTH_CHECKS + 2 * API_CALLS,
        "every span was received"
    );

    // The input is what the application sent: the processors had something to do.
    let with_auth = raw
        .values()
        .filter(|(_, _, s)| attribute(&s.attributes, "http.request.header.authorization").is_some())
        .count();
    assert_eq!(with_auth, API_CALLS);
    assert!(raw.values().all(
        |(r, _, _)| attribute(&r.attributes, "deployment.environment")
            == Some(&any_value::Value::StringValue("staging".into()))
    ));

    let want: BTreeMap<_, _> = raw
        .iter()
        .filter_map(|(id, item)| Some((id.clone(), expected(item)?)))
        .collect();
    assert_eq!(
        want.len(),
        2 * API_CALLS,
        "health checks are the only spans dropped"
    );
    pretty_assertions::assert_eq!(processed, want);

    // Spelled out, beside the exact comparison.
    let out: Vec<&Span> = processed.values().map(|(_, _, s)| s).collect();
    assert!(out.iter().all(|s| s.name != "GET /health"));
    assert!(
        out.iter()
            .all(|s| attribute(&s.attributes, "http.request.header.authorization").is_none())
    );
    let faults = out
        .iter()
        .filter(|s| attribute(&s.attributes, "whose_fault").is_some())
        .count();
    assert_eq!(faults, API_CALLS / 5);
    assert!(processed.values().all(
        |(r, _, _)| attribute(&r.attributes, "deployment.environment")
            == Some(&any_value::Value::StringValue("production".into()))
    ));

    assert_eq!(
        telemetry.value(
            "otelcol_processor_dropped_spans",
            &[("processor", "filter/health"), ("reason", "filtered")]
        ),
        Some(HEALTH_CHECKS as u64)
    );
}

const PROPAGATE: &str = r#"
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
processors:
  transform:
    error_mode: propagate
    trace_statements:
      - set(span.attributes["items.doubled"], span.attributes["items"] * 2)
exporters:
  file: { path: "{dir}/traces", format: proto }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [transform], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

fn request(items: &[Option<i64>]) -> ExportTraceServiceRequest {
    let mut request = otlp_testkit::Generator::new(3).traces(items.len());
    let spans = request
        .resource_spans
        .iter_mut()
        .flat_map(|rs| &mut rs.scope_spans)
        .flat_map(|ss| &mut ss.spans);
    for (span, items) in spans.zip(items) {
        span.attributes.retain(|kv| kv.key != "items");
        if let Some(items) = items {
            span.attributes.push(ProtoKeyValue {
                key: "items".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::IntValue(*items)),
                }),
                ..Default::default()
            });
        }
    }
    request
}

async fn post(url: &str, request: &ExportTraceServiceRequest) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    let message = tonic_types::Status::decode(body.as_ref())
        .map(|s| s.message)
        .unwrap_or_default();
    (status, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_propagate_a_failing_statement_refuses_its_request_and_only_that_one() {
    let harness = TestCollector::start(PROPAGATE).await;
    let url = format!("{}/v1/traces", harness.http_endpoint());

    let good = request(&[Some(1), Some(2), Some(3)]);
    assert_eq!(post(&url, &good).await.0, 200);
    // The second span has no `items`: the math fails on it, and the client is told which statement failed.
    let bad = request(&[Some(4), None, Some(6)]);
    let (status, message) = post(&url, &bad).await;
    assert_eq!(status, 400);
    assert!(message.contains("transform"), "{message}");
    assert!(
        message.contains(r#"span.attributes["items"] * 2"#),
        "{message}"
    );
    let again = request(&[Some(7)]);
    assert_eq!(post(&url, &again).await.0, 200);

    let TestCollector { collector, dir } = harness;
    let report = collector.shutdown(Duration::from_secs(10)).await;
    assert!(report.is_clean(), "{report:?}");
    let doubled: Vec<i64> = spans(&read_traces(&dir.path().join("traces"), false))
        .iter()
        .filter_map(|s| match attribute(&s.attributes, "items.doubled") {
            Some(any_value::Value::IntValue(v)) => Some(*v),
            _ => None,
        })
        .collect();
    // Nothing of the refused request was written, half-transformed or not.
    assert_eq!(doubled, [2, 4, 6, 14]);
}

#[test]
fn a_typo_in_a_statement_names_its_path_and_column() {
    let typo = CONFIG.replace(
        r#"- set(attributes["whose_fault"]"#,
        r#"- sett(attributes["whose_fault"]"#,
    );
    let Err(Error::Config { path, message }) = Config::from_yaml(&typo) else {
        panic!("a misspelt editor is an error");
    };
    assert_eq!(
        path,
        "processors.transform.trace_statements[0].statements[0]"
    );
    assert!(message.contains("column 1"), "{message}");
    assert!(
        message.contains("unknown editor `sett`; did you mean `set`?"),
        "{message}"
    );

    let typo = CONFIG.replace(
        r#"'attributes["http.route"] == "/health"'"#,
        r#"'attributes["http.route"] = "/health"'"#,
    );
    let error = Config::from_yaml(&typo).unwrap_err();
    let problems = error.config_problems();
    assert_eq!(problems.len(), 1, "{error}");
    assert_eq!(problems[0].path, "processors.filter/health.traces.span[0]");
    assert!(
        problems[0]
            .message
            .contains("column 26: expected a comparison operator"),
        "{}",
        problems[0].message
    );
}

#[test]
fn every_problem_of_a_config_is_reported_at_once() {
    let broken = CONFIG
        .replace(
            r#"- set(attributes["whose_fault"]"#,
            r#"- sett(attributes["whose_fault"]"#,
        )
        .replace("  batch:\n", "  batchh:\n")
        .replace(
            "        action: delete",
            "        action: delete\n        valeu: x",
        )
        .replace(
            "  transform:\n",
            "  k8sattributes:\n    auth_type: serviceAccount\n  transform:\n",
        )
        .replace("transform, batch]", "transform, batch, k8sattributes]");
    let error = Config::from_yaml(&broken).unwrap_err();
    let problems: Vec<(String, String)> = error
        .config_problems()
        .into_iter()
        .map(|p| (p.path, p.message))
        .collect();
    let paths: Vec<&str> = problems.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "processors.batchh",
            "processors.k8sattributes",
            "service.pipelines.traces.processors",
            "processors.attributes/strip-auth.actions[0].valeu",
            "processors.transform.trace_statements[0].statements[0]",
        ],
        "{error}"
    );
    assert!(
        problems[0].1.contains("did you mean `batch`?"),
        "{}",
        problems[0].1
    );
    assert!(
        problems[1]
            .1
            .contains("an OpenTelemetry Collector processor that otlp-suite does not have"),
        "{}",
        problems[1].1
    );
    assert!(
        problems[1].1.contains("there is no similar one here"),
        "{}",
        problems[1].1
    );
    // `batch` is referenced but only `batchh` is defined: that is a real dangling reference.
    assert!(
        problems[2].1.contains("`batch` is not defined"),
        "{}",
        problems[2].1
    );
    assert!(
        error.to_string().starts_with("invalid config, 5 problems:"),
        "{error}"
    );
}

#[test]
fn properties_that_do_not_apply_to_a_pipeline_s_signal_are_reported_for_that_pipeline() {
    let yaml = r#"
receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } } }
processors:
  attributes:
    actions: [{ key: user.email, action: hash }]
    include: { match_type: strict, services: [cart] }
exporters: { debug: }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [attributes], exporters: [debug] }
    logs: { receivers: [otlp], processors: [attributes], exporters: [debug] }
    logs/2: { receivers: [otlp], processors: [attributes], exporters: [debug] }
"#;
    let error = Config::from_yaml(yaml).unwrap_err();
    let problems = error.config_problems();
    assert_eq!(problems.len(), 1, "once, for both logs pipelines: {error}");
    assert_eq!(problems[0].path, "processors.attributes.include");
    assert!(
        problems[0].message.contains("in a logs pipeline"),
        "{}",
        problems[0].message
    );
    let traces_only = yaml
        .replace("    logs: { receivers", "    # ")
        .replace("    logs/2: {", "    # ");
    assert!(Config::from_yaml(&traces_only).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_metrics_are_filtered_and_transformed_too() {
    let mut generator = otlp_testkit::Generator::new(5);
    let logs = generator.logs(400);
    let metrics = generator.metrics(400);
    let dropped_metric = metrics.resource_metrics[0].scope_metrics[0].metrics[0]
        .name
        .clone();
    let yaml = r#"
receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } } }
processors:
  filter:
    logs:
      log_record:
        - severity_number < SEVERITY_NUMBER_INFO
    metrics:
      metric:
        - name == "DROPPED"
  transform:
    log_statements:
      - set(log.attributes["checked"], true)
    metric_statements:
      - context: metric
        statements:
          - set(metric.description, "checked")
exporters:
  file/logs: { path: "{dir}/logs", format: proto }
  file/metrics: { path: "{dir}/metrics", format: proto }
service:
  pipelines:
    logs: { receivers: [otlp], processors: [filter, transform], exporters: [file/logs] }
    metrics: { receivers: [otlp], processors: [filter, transform], exporters: [file/metrics] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#
    .replace("DROPPED", &dropped_metric);
    let harness = TestCollector::start(&yaml).await;
    harness
        .collector
        .submit(otlp_collector::Batch::new(logs.clone()))
        .await
        .unwrap();
    harness
        .collector
        .submit(otlp_collector::Batch::new(metrics.clone()))
        .await
        .unwrap();
    let TestCollector { collector, dir } = harness;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());

    // By hand: records below INFO go, the others get `checked = true` at the end of their attributes.
    let want_logs: Vec<_> = logs
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .filter(|record| record.severity_number >= 9)
        .map(|record| {
            let mut record = record.clone();
            record.attributes.push(ProtoKeyValue {
                key: "checked".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::BoolValue(true)),
                }),
                ..Default::default()
            });
            record
        })
        .collect();
    let got_logs: Vec<_> = common::read_logs(&dir.path().join("logs"), false)
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| s.log_records.clone())
        .collect();
    assert!(want_logs.len() < 400, "some records are below INFO");
    pretty_assertions::assert_eq!(got_logs, want_logs);

    let want_metrics: Vec<_> = metrics
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(|metric| metric.name != dropped_metric)
        .map(|metric| {
            let mut metric = metric.clone();
            metric.description = "checked".into();
            metric
        })
        .collect();
    let got_metrics: Vec<_> = common::read_metrics(&dir.path().join("metrics"), false)
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| s.metrics.clone())
        .collect();
    pretty_assertions::assert_eq!(got_metrics, want_metrics);

    let dropped_records = (400 - want_logs.len()) as u64;
    assert_eq!(
        telemetry.value(
            "otelcol_processor_dropped_log_records",
            &[("processor", "filter"), ("reason", "filtered")]
        ),
        Some(dropped_records)
    );
    let dropped_points = otlp_testkit::data_point_count(&metrics)
        - common::read_metrics(&dir.path().join("metrics"), false)
            .iter()
            .map(otlp_testkit::data_point_count)
            .sum::<usize>();
    assert!(dropped_points > 0);
    assert_eq!(
        telemetry.value(
            "otelcol_processor_dropped_metric_points",
            &[("processor", "filter"), ("reason", "filtered")]
        ),
        Some(dropped_points as u64)
    );
}
