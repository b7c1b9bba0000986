//! The `routing` connector with otelcol-contrib's configs: spans routed by their own attributes and by their
//! resource's, from real `opentelemetry-otlp` exporters of two tenants; log records and metrics routed by item
//! conditions, with failing conditions under each `error_mode`; a metric's data points routed apart; and the
//! config mistakes it reports.

mod common;

use common::{
    TestCollector, config_problems, grpc_tracer_provider, int_attribute, read_logs, read_metrics,
    read_traces, scrape,
};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

/// otelcol-contrib's README example, on traces: health checks of any tenant to one pipeline, the rest by the
/// tenant of their resource, what no route takes to the default pipeline.
const BY_TENANT: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  batch: { send_batch_size: 16, timeout: 20ms }
connectors:
  routing:
    default_pipelines: [traces/other]
    table:
      - context: span
        condition: attributes["http.route"] == "/health"
        pipelines: [traces/health]
      - statement: route() where attributes["tenant"] == "acme"
        pipelines: [traces/acme]
exporters:
  file/health: { path: "{dir}/health.jsonl", format: json }
  file/acme: { path: "{dir}/acme.jsonl", format: json }
  file/other: { path: "{dir}/other.jsonl", format: json }
service:
  pipelines:
    traces/in: { receivers: [otlp], exporters: [routing] }
    traces/health: { receivers: [routing], exporters: [file/health] }
    traces/acme: { receivers: [routing], processors: [batch], exporters: [file/acme] }
    traces/other: { receivers: [routing], exporters: [file/other] }
  telemetry:
    metrics: { level: none }
"#;

const PROBES: usize = 8;
const CALLS: usize = 15;

/// One tenant's service: health probes and API calls.
fn run_tenant(endpoint: String, tenant: &'static str) {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("cart")
        .with_attribute(KeyValue::new("tenant", tenant))
        .build();
    let provider = grpc_tracer_provider(endpoint, resource);
    let tracer = provider.tracer("cart-http");
    for _ in 0..PROBES {
        let mut span = tracer.start("GET /health");
        span.set_attribute(KeyValue::new("http.route", "/health"));
        span.end();
    }
    for i in 0..CALLS {
        let mut span = tracer.start("GET /api/cart");
        span.set_attribute(KeyValue::new("http.route", "/api/cart"));
        span.set_attribute(KeyValue::new("call", i as i64));
        span.end();
    }
    provider.shutdown().unwrap();
}

fn string_value_of(attributes: &[ProtoKeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .and_then(|value| match value {
            any_value::Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
}

/// (tenant, scope name, span name) of every span, as the resources and scopes around them say.
fn placed(
    requests: &[opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest],
) -> Vec<(String, String, String)> {
    requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs: &ResourceSpans| {
            let tenant = rs
                .resource
                .as_ref()
                .and_then(|r| string_value_of(&r.attributes, "tenant"))
                .unwrap_or_default();
            rs.scope_spans.iter().flat_map(move |ss| {
                let scope = ss
                    .scope
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                let tenant = tenant.clone();
                ss.spans
                    .iter()
                    .map(move |span| (tenant.clone(), scope.clone(), span.name.clone()))
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_to_the_first_route_they_match_with_their_resource_and_scope() {
    let collector = TestCollector::start(BY_TENANT).await;
    for tenant in ["acme", "ecorp"] {
        let endpoint = collector.grpc_endpoint();
        tokio::task::spawn_blocking(move || run_tenant(endpoint, tenant))
            .await
            .unwrap();
    }
    let dir = collector.shut_down_cleanly().await;
    let read = |file: &str| placed(&read_traces(&dir.path().join(file), true));
    let (health, acme, other) = (
        read("health.jsonl"),
        read("acme.jsonl"),
        read("other.jsonl"),
    );

    // The span route comes first: every tenant's probes, each under its own tenant's resource.
    assert_eq!(health.len(), 2 * PROBES, "{health:?}");
    assert!(
        health
            .iter()
            .all(|(_, scope, name)| scope == "cart-http" && name == "GET /health")
    );
    for tenant in ["acme", "ecorp"] {
        assert_eq!(
            health.iter().filter(|(t, _, _)| t == tenant).count(),
            PROBES
        );
    }
    // What is left of acme's resources goes to its route; the rest, matching no route, to the default.
    assert_eq!(acme.len(), CALLS, "{acme:?}");
    assert!(acme.iter().all(|(tenant, scope, name)| tenant == "acme"
        && scope == "cart-http"
        && name == "GET /api/cart"));
    assert_eq!(other.len(), CALLS, "{other:?}");
    assert!(
        other
            .iter()
            .all(|(tenant, _, name)| tenant == "ecorp" && name == "GET /api/cart")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_resource_routes_routes_whole_resources_as_they_were_received() {
    // Only resource routes: the requests are routed without being decoded, entry by entry.
    let yaml = BY_TENANT.replace(
        r#"      - context: span
        condition: attributes["http.route"] == "/health"
        pipelines: [traces/health]
"#,
        "",
    );
    let yaml = yaml.replace(
        "    traces/health: { receivers: [routing], exporters: [file/health] }\n",
        "",
    );
    assert!(!yaml.contains("traces/health"), "{yaml}");
    let collector = TestCollector::start(&yaml).await;
    for tenant in ["acme", "ecorp", "acme"] {
        let endpoint = collector.grpc_endpoint();
        tokio::task::spawn_blocking(move || run_tenant(endpoint, tenant))
            .await
            .unwrap();
    }
    let dir = collector.shut_down_cleanly().await;
    let read = |file: &str| placed(&read_traces(&dir.path().join(file), true));
    let (acme, other) = (read("acme.jsonl"), read("other.jsonl"));
    assert_eq!(acme.len(), 2 * (PROBES + CALLS));
    assert!(
        acme.iter()
            .all(|(tenant, scope, _)| tenant == "acme" && scope == "cart-http")
    );
    assert_eq!(other.len(), PROBES + CALLS);
    assert!(other.iter().all(|(tenant, _, _)| tenant == "ecorp"));
}

/// Log records routed by an attribute whose arithmetic fails where it is missing, and metrics by name with no
/// default pipeline.
const ITEMS: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  routing/logs:
    error_mode: ignore
    default_pipelines: [logs/rest]
    table:
      - context: log
        condition: attributes["bytes"] * 2 > 100
        pipelines: [logs/big]
  routing/metrics:
    table:
      - context: metric
        condition: name == "http.server.duration"
        pipelines: [metrics/http]
exporters:
  file/big: { path: "{dir}/big.jsonl", format: json }
  file/rest: { path: "{dir}/rest.jsonl", format: json }
  file/http: { path: "{dir}/http.jsonl", format: json }
service:
  pipelines:
    logs/in: { receivers: [otlp], exporters: [routing/logs] }
    logs/big: { receivers: [routing/logs], exporters: [file/big] }
    logs/rest: { receivers: [routing/logs], exporters: [file/rest] }
    metrics/in: { receivers: [otlp], exporters: [routing/metrics] }
    metrics/http: { receivers: [routing/metrics], exporters: [file/http] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

/// Log records with `bytes` set to each value, or missing where `None`; the body says which.
fn logs(bytes: &[Option<i64>]) -> ExportLogsServiceRequest {
    let records = bytes
        .iter()
        .enumerate()
        .map(|(i, bytes)| LogRecord {
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!("record {i}"))),
            }),
            attributes: bytes.iter().map(|b| int_attribute("bytes", *b)).collect(),
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource::default()),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics(names: &[&str]) -> ExportMetricsServiceRequest {
    let metrics = names
        .iter()
        .map(|name| Metric {
            name: (*name).into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint {
                    value: Some(number_data_point::Value::AsDouble(1.0)),
                    ..Default::default()
                }],
            })),
            ..Default::default()
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource::default()),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn bodies(requests: &[ExportLogsServiceRequest]) -> Vec<String> {
    requests
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .filter_map(|record| match record.body.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(body) => Some(body.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_are_routed_one_by_one_and_failing_or_unrouted_ones_are_accounted_for() {
    let collector = TestCollector::start(ITEMS).await;
    let addr = collector.collector.grpc_addr("otlp").unwrap();
    let mut logs_client = LogsServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    // `ignore`: the record without `bytes` fails its condition and goes to the default pipeline.
    logs_client
        .export(logs(&[Some(10), Some(80), None, Some(51), Some(50)]))
        .await
        .unwrap();
    let mut metrics_client = MetricsServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    metrics_client
        .export(metrics(&[
            "http.server.duration",
            "process.cpu.time",
            "http.server.duration",
        ]))
        .await
        .unwrap();
    let self_metrics = scrape(&collector.collector).await;
    let dropped = self_metrics
        .lines()
        .find(|line| {
            line.starts_with("otelcol_connector_dropped_metric_points")
                && line.contains(r#"connector="routing/metrics""#)
                && line.contains(r#"reason="no_route""#)
        })
        .unwrap_or_else(|| panic!("{self_metrics}"));
    assert!(dropped.ends_with(" 1"), "{dropped}");

    let dir = collector.shut_down_cleanly().await;
    assert_eq!(
        bodies(&read_logs(&dir.path().join("big.jsonl"), true)),
        ["record 1", "record 3"]
    );
    assert_eq!(
        bodies(&read_logs(&dir.path().join("rest.jsonl"), true)),
        ["record 0", "record 2", "record 4"]
    );
    let names: Vec<String> = read_metrics(&dir.path().join("http.jsonl"), true)
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.clone())
        .collect();
    assert_eq!(names, ["http.server.duration", "http.server.duration"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_propagate_a_failing_condition_refuses_the_request_and_routes_none_of_it() {
    let yaml = ITEMS.replace("    error_mode: ignore\n", "");
    let collector = TestCollector::start(&yaml).await;
    let addr = collector.collector.grpc_addr("otlp").unwrap();
    let mut client = LogsServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let refused = client.export(logs(&[Some(80), None])).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("routing/logs"),
        "{}",
        refused.message()
    );
    client.export(logs(&[Some(90), Some(1)])).await.unwrap();
    let dir = collector.shut_down_cleanly().await;
    assert_eq!(
        bodies(&read_logs(&dir.path().join("big.jsonl"), true)),
        ["record 0"]
    );
    assert_eq!(
        bodies(&read_logs(&dir.path().join("rest.jsonl"), true)),
        ["record 1"]
    );
}

#[test]
fn routing_mistakes_name_the_route_and_key() {
    let config = |routing: &str| {
        format!(
            r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
connectors:
  routing:
{routing}
exporters:
  debug:
service:
  pipelines:
    logs/in: {{ receivers: [otlp], exporters: [routing] }}
    logs/a: {{ receivers: [routing], exporters: [debug] }}
"#
        )
    };
    for (routing, path, message) in [
        (
            "    table: [{ condition: 'attributes[\"x\"] == 1', pipelines: [logs/b] }]",
            "connectors.routing.table[0].pipelines[0]",
            "pipeline `logs/b` does not receive from `routing` (those that do: `logs/a`)",
        ),
        (
            "    table: [{ context: span, condition: 'name == \"x\"', pipelines: [logs/a] }]",
            "connectors.routing.table[0].context",
            "the `span` context is for traces, and a logs pipeline exports to this connector",
        ),
        (
            "    table: [{ context: request, condition: 'request[\"X-Tenant\"] = \"acme\"', pipelines: [logs/a] }]",
            "connectors.routing.table[0].condition",
            "a `request` condition is `request[\"<key>\"] == \"<value>\"` (or `!=`); found no `==` or `!=`",
        ),
        (
            "    table: [{ statement: 'route() wher attributes[\"x\"] == 1', pipelines: [logs/a] }]",
            "connectors.routing.table[0].statement",
            "a routing statement is `route() where <condition>`",
        ),
        (
            "    table: [{ condition: 'atributes[\"x\"] == 1', pipelines: [logs/a] }]",
            "connectors.routing.table[0].condition",
            "unknown path `atributes` in the resource context",
        ),
        (
            "    match_once: true\n    table: [{ condition: 'true', pipelines: [logs/a] }]",
            "connectors.routing.match_once",
            "`match_once` was removed in otelcol v0.120.0",
        ),
        (
            "    table: []",
            "connectors.routing.table",
            "the routing table needs at least one route",
        ),
    ] {
        let found = config_problems(&config(routing));
        assert!(
            found
                .iter()
                .any(|(at, said)| at == path && said.contains(message)),
            "{routing}: {found:?}"
        );
    }
}

/// A `datapoint` route: the points of production are kept apart from the rest, each part under a copy of its
/// metric.
const POINTS: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  routing:
    default_pipelines: [metrics/rest]
    table:
      - context: datapoint
        condition: attributes["env"] == "prod"
        pipelines: [metrics/prod]
exporters:
  file/prod: { path: "{dir}/prod.jsonl", format: json }
  file/rest: { path: "{dir}/rest.jsonl", format: json }
service:
  pipelines:
    metrics/in: { receivers: [otlp], exporters: [routing] }
    metrics/prod: { receivers: [routing], exporters: [file/prod] }
    metrics/rest: { receivers: [routing], exporters: [file/rest] }
  telemetry:
    metrics: { level: none }
"#;

/// The `env` of every point of `requests`' metric `name`, with its value.
fn points_by_env(requests: &[ExportMetricsServiceRequest], name: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for metric in requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(|m| m.name == name)
    {
        let Some(metric::Data::Sum(sum)) = &metric.data else {
            panic!("{metric:?}");
        };
        assert!(sum.is_monotonic);
        for point in &sum.data_points {
            let env = point
                .attributes
                .iter()
                .find(|kv| kv.key == "env")
                .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                .map(|v| format!("{v:?}"))
                .unwrap_or_default();
            let Some(number_data_point::Value::AsInt(value)) = point.value else {
                panic!("{point:?}");
            };
            out.push((env, value));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_datapoint_route_splits_a_metric_by_its_points_for_an_sdk_exporter() {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;
    let collector = TestCollector::start(POINTS).await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .unwrap();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_periodic_exporter(exporter)
            .build();
        let orders = provider.meter("shop").u64_counter("orders").build();
        for (env, n) in [("prod", 3), ("test", 2), ("staging", 1)] {
            orders.add(n, &[KeyValue::new("env", env)]);
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let dir = collector.shut_down_cleanly().await;
    let prod = points_by_env(
        &read_metrics(&dir.path().join("prod.jsonl"), true),
        "orders",
    );
    let mut rest = points_by_env(
        &read_metrics(&dir.path().join("rest.jsonl"), true),
        "orders",
    );
    rest.sort();
    let text = |s: &str| format!("{:?}", any_value::Value::StringValue(s.to_string()));
    assert_eq!(prod, [(text("prod"), 3)]);
    assert_eq!(rest, [(text("staging"), 1), (text("test"), 2)]);
}
