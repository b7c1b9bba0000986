//! The `count` connector with otelcol-contrib's configs: its default counts of what a real `opentelemetry-otlp`
//! exporter sends, custom counts with conditions and attributes (looked up on the item, its scope, then its
//! resource, with defaults), and the mistakes its settings can hold.

mod common;

use common::{
    TestCollector, config_problems, grpc_tracer_provider, int_attribute, read_metrics, read_traces,
    spans, string_attribute,
};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::BTreeMap;
use std::path::Path;

/// (metric, attributes as `key=value` joined by `,`) → the sum of its delta counts; every count is checked to be
/// a delta, monotonic sum of integers under the connector's scope.
fn counts(path: &Path) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for request in read_metrics(path, true) {
        for rm in request.resource_metrics {
            for sm in rm.scope_metrics {
                let scope = sm.scope.map(|s| s.name).unwrap_or_default();
                assert!(scope.ends_with("connector/countconnector"), "{scope}");
                for m in sm.metrics {
                    let Some(metric::Data::Sum(sum)) = m.data else {
                        panic!("{} is not a sum", m.name);
                    };
                    assert_eq!(
                        sum.aggregation_temporality,
                        AggregationTemporality::Delta as i32
                    );
                    assert!(sum.is_monotonic);
                    for point in sum.data_points {
                        assert!(
                            point.start_time_unix_nano > 0
                                && point.time_unix_nano >= point.start_time_unix_nano
                        );
                        let attributes: Vec<String> = point
                            .attributes
                            .iter()
                            .map(|kv| format!("{}={}", kv.key, text(kv.value.as_ref())))
                            .collect();
                        let Some(number_data_point::Value::AsInt(n)) = point.value else {
                            panic!("{} is not an integer count", m.name);
                        };
                        *out.entry((m.name.clone(), attributes.join(",")))
                            .or_default() += n;
                    }
                }
            }
        }
    }
    out
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => format!("{i}i"),
        other => format!("{other:?}"),
    }
}

/// The default counts, with the traces also exported as they are.
const DEFAULTS: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  count:
exporters:
  file/traces: { path: "{dir}/traces.jsonl", format: json }
  file/counts: { path: "{dir}/counts.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file/traces, count] }
    metrics: { receivers: [count], exporters: [file/counts] }
  telemetry:
    metrics: { level: none }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_spans_and_span_events_are_counted_under_their_resource() {
    let collector = TestCollector::start(DEFAULTS).await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("checkout")
            .build();
        let provider = grpc_tracer_provider(endpoint, resource);
        let tracer = provider.tracer("checkout-http");
        for i in 0..30 {
            let mut span = tracer.start("POST /checkout");
            for _ in 0..(i % 3) {
                span.add_event("retry", vec![KeyValue::new("attempt", i as i64)]);
            }
            span.end();
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let dir = collector.shut_down_cleanly().await;
    assert_eq!(
        spans(&read_traces(&dir.path().join("traces.jsonl"), true)).len(),
        30
    );
    let counted = counts(&dir.path().join("counts.jsonl"));
    assert_eq!(
        counted,
        BTreeMap::from([
            (("trace.span.count".to_string(), String::new()), 30),
            (("trace.span.event.count".to_string(), String::new()), 30),
        ])
    );
    // Under a copy of the resource the spans came with.
    let requests = read_metrics(&dir.path().join("counts.jsonl"), true);
    let services: Vec<String> = requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.resource.as_ref().unwrap().attributes)
        .filter(|kv| kv.key == "service.name")
        .map(|kv| text(kv.value.as_ref()))
        .collect();
    assert!(
        !services.is_empty() && services.iter().all(|s| s == "checkout"),
        "{services:?}"
    );
}

/// otelcol-contrib's README example (error logs per environment), with the environment on the record, its
/// scope or its resource, and a default for none.
const ERROR_LOGS: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  count:
    logs:
      my.error.log.count:
        description: Error+ logs.
        conditions:
          - severity_number >= SEVERITY_NUMBER_ERROR
        attributes:
          - key: env
            default_value: unspecified_environment
      my.log.count.by.code:
        attributes:
          - key: code
exporters:
  file/counts: { path: "{dir}/counts.jsonl", format: json }
service:
  pipelines:
    logs: { receivers: [otlp], exporters: [count] }
    metrics: { receivers: [count], exporters: [file/counts] }
  telemetry:
    metrics: { level: none }
"#;

/// Records of severity number `severity` with `attributes`.
fn records(severity: &[(i32, Vec<ProtoKeyValue>)]) -> Vec<LogRecord> {
    severity
        .iter()
        .map(|(severity, attributes)| LogRecord {
            severity_number: *severity,
            attributes: attributes.clone(),
            ..Default::default()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_counts_follow_their_conditions_and_split_by_attributes_from_record_scope_or_resource()
 {
    const ERROR: i32 = 17;
    const INFO: i32 = 9;
    let collector = TestCollector::start(ERROR_LOGS).await;
    let addr = collector.collector.grpc_addr("otlp").unwrap();
    let mut client = LogsServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let request = ExportLogsServiceRequest {
        resource_logs: vec![
            // `env` on the resource; one record says otherwise on itself.
            ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![string_attribute("env", "prod")],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: records(&[
                        (ERROR, vec![int_attribute("code", 500)]),
                        (
                            ERROR,
                            vec![
                                string_attribute("env", "canary"),
                                int_attribute("code", 503),
                            ],
                        ),
                        (INFO, vec![int_attribute("code", 200)]),
                    ]),
                    ..Default::default()
                }],
                ..Default::default()
            },
            // No `env` anywhere: the default; no `code`: not in the second count.
            ResourceLogs {
                resource: Some(Resource::default()),
                scope_logs: vec![ScopeLogs {
                    log_records: records(&[(ERROR, vec![]), (ERROR, vec![]), (INFO, vec![])]),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    };
    client.export(request).await.unwrap();
    let dir = collector.shut_down_cleanly().await;
    let key = |name: &str, attributes: &str| (name.to_string(), attributes.to_string());
    assert_eq!(
        counts(&dir.path().join("counts.jsonl")),
        BTreeMap::from([
            (key("my.error.log.count", "env=canary"), 1),
            (key("my.error.log.count", "env=prod"), 1),
            (key("my.error.log.count", "env=unspecified_environment"), 2),
            (key("my.log.count.by.code", "code=200i"), 1),
            (key("my.log.count.by.code", "code=500i"), 1),
            (key("my.log.count.by.code", "code=503i"), 1),
        ])
    );
}

#[test]
fn count_mistakes_are_reported_with_their_keys() {
    let config = |count: &str, pipelines: &str| {
        format!(
            r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
connectors:
  count:
{count}
exporters:
  debug:
service:
  pipelines:
{pipelines}
"#
        )
    };
    let to_metrics = "    traces: { receivers: [otlp], exporters: [count] }\n    metrics: { receivers: [count], exporters: [debug] }";
    for (count, pipelines, path, message) in [
        (
            "    spans:\n      slow.span.count:\n        conditions: ['duraton > 1000']",
            to_metrics,
            "connectors.count.spans.slow.span.count.conditions[0]",
            "unknown path `duraton`",
        ),
        (
            "    metrics:\n      metric.count.by.env:\n        attributes: [{ key: env }]",
            to_metrics,
            "connectors.count.metrics.metric.count.by.env.attributes",
            "use `datapoints` instead",
        ),
        (
            "    logs:\n      x:\n        attributes: [{ key: '' }]",
            to_metrics,
            "connectors.count.logs.x.attributes[0].key",
            "an attribute needs a key",
        ),
        (
            "    spans: {}",
            "    traces: { receivers: [otlp], exporters: [count] }\n    traces/2: { receivers: [count], exporters: [debug] }",
            "service.pipelines.traces.exporters",
            "`count` joins traces to metrics, metrics to metrics, logs to metrics",
        ),
    ] {
        let found = config_problems(&config(count, pipelines));
        assert!(
            found
                .iter()
                .any(|(at, said)| at == path && said.contains(message)),
            "{count}: {found:?}"
        );
    }
}
