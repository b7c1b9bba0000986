//! The `datadog` receiver as Datadog's clients meet it: Datadog's Python tracer (`ddtrace`) sending traces to it as
//! to an Agent, in its default v0.5 payloads (with partial flushes) and in v0.4; Datadog's Python API clients
//! submitting v1 and v2 series and a service check; and bad payloads answered with what is wrong, losing nothing
//! else. Read back from the `file` exporter's OTLP/JSON.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else `python3`.

mod common;

use common::{
    TestCollector, attribute, hex, metrics_named, python, read_metrics, read_traces, spans,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode};
use std::process::Command;

const CONFIG: &str = r#"
receivers:
  datadog:
    endpoint: "127.0.0.1:0"
exporters:
  file/traces: { path: "{dir}/traces.jsonl", format: json }
  file/metrics: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [datadog], exporters: [file/traces] }
    metrics: { receivers: [datadog], exporters: [file/metrics] }
  telemetry:
    metrics: { level: none }
"#;

/// A web request traced with ddtrace: a server root span, a database child of another service, and a failed
/// call with its exception recorded as an event and a link to another trace. Prints the root's 128-bit trace id
/// and the three span ids.
const TRACE: &str = r#"
import sys
from ddtrace.trace import tracer
with tracer.trace("web.request", service="shop", resource="GET /cart", span_type="web") as root:
    root.set_tag("span.kind", "server")
    root.set_tag("http.method", "GET")
    root.set_metric("cart.items", 3)
    with tracer.trace("postgres.query", service="shop-db", resource="SELECT * FROM carts", span_type="sql") as query:
        query.set_tag("db.system", "postgresql")
    try:
        with tracer.trace("charge", resource="POST /charge", span_type="http") as charge:
            charge.set_link(trace_id=0x0af7651916cd43dd8448eb211c80319c, span_id=0xb7ad6b7169203331,
                            tracestate="rojo=00f067aa0ba902b7", flags=1, attributes={"link.kind": "follows"})
            try:
                raise ValueError("card declined")
            except ValueError as e:
                charge.record_exception(e, {"attempt": 2})
                raise
    except ValueError:
        pass
    print(format(root.trace_id, "032x"), root.span_id, query.span_id, charge.span_id)
tracer.shutdown()
"#;

/// The v1 series and a service check through datadogpy, and a v2 series through the v2 API client.
const METRICS: &str = r#"
import sys
from datadog import initialize, api
url = sys.argv[1]
initialize(api_key="key", app_key="app", api_host=url)
answers = [
    api.Metric.send(metrics=[
        {"metric": "shop.orders", "points": [(1765130000, 5)], "type": "count", "interval": 10,
         "tags": ["env:prod", "team:payments"], "host": "web-1"},
        {"metric": "shop.temperature", "points": [[1765130000, 21.5], [1765130010, 22]], "host": "web-1"},
    ]),
    api.ServiceCheck.check(check="shop.up", host_name="web-1", status=1, tags=["env:prod"], message="slow"),
]
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.v2.api.metrics_api import MetricsApi
from datadog_api_client.v2.model.metric_intake_type import MetricIntakeType
from datadog_api_client.v2.model.metric_payload import MetricPayload
from datadog_api_client.v2.model.metric_point import MetricPoint
from datadog_api_client.v2.model.metric_resource import MetricResource
from datadog_api_client.v2.model.metric_series import MetricSeries
configuration = Configuration(host=url)
configuration.api_key["apiKeyAuth"] = "key"
with ApiClient(configuration) as client:
    answers.append(MetricsApi(client).submit_metrics(body=MetricPayload(series=[MetricSeries(
        metric="shop.queue.depth", type=MetricIntakeType.GAUGE, unit="item",
        points=[MetricPoint(timestamp=1765130000, value=7.5)],
        resources=[MetricResource(name="web-2", type="host")], tags=["env:prod", "queue:orders"])])))
print(answers)
"#;

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn run_python(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new(python())
        .args(["-c", program])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("failed to send") && !stderr.contains("Error"),
        "{}{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddtraces_spans_arrive_as_otelcol_translates_them_in_both_payload_versions() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = harness.collector.receiver_addr("datadog", "http").unwrap();
    let url = format!("http://{addr}");
    let mut sent = Vec::new();
    for (version, env) in [
        // v0.5 is ddtrace's default; partial flushes send the finished children before their root.
        ("v0.5", "staging"),
        ("v0.4", "prod"),
    ] {
        let printed = tokio::task::spawn_blocking({
            let url = url.clone();
            move || {
                run_python(
                    TRACE,
                    &[],
                    &[
                        ("DD_TRACE_AGENT_URL", url.as_str()),
                        ("DD_TRACE_API_VERSION", version),
                        ("DD_ENV", env),
                        ("DD_SERVICE", "shop"),
                        ("DD_VERSION", "1.2.3"),
                        ("DD_TRACE_PARTIAL_FLUSH_ENABLED", "true"),
                        ("DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "1"),
                        ("DD_INSTRUMENTATION_TELEMETRY_ENABLED", "false"),
                        ("DD_REMOTE_CONFIGURATION_ENABLED", "false"),
                    ],
                )
            }
        })
        .await
        .unwrap();
        let fields: Vec<String> = printed.split_whitespace().map(str::to_owned).collect();
        assert_eq!(fields.len(), 4, "{printed}");
        sent.push((env, fields));
    }
    let dir = harness.shut_down_cleanly().await;
    let requests = read_traces(&dir.path().join("traces.jsonl"), true);
    assert_eq!(spans(&requests).len(), 6);

    for (env, fields) in sent {
        let id = |i: usize| fields[i].parse::<u64>().unwrap().to_be_bytes().to_vec();
        let (root_id, query_id, charge_id) = (id(1), id(2), id(3));
        let mut found = Vec::new();
        for resource_spans in requests.iter().flat_map(|r| &r.resource_spans) {
            let resource = &resource_spans.resource.as_ref().unwrap().attributes;
            for scope_spans in &resource_spans.scope_spans {
                let scope = scope_spans.scope.as_ref().unwrap();
                assert_eq!(scope.name, "Datadog");
                for span in &scope_spans.spans {
                    if hex(&span.trace_id) == fields[0] {
                        found.push((resource, span));
                    }
                }
            }
        }
        assert_eq!(
            found.len(),
            3,
            "{env}: every span keeps the 128-bit trace id"
        );
        for (resource, _) in &found {
            assert_eq!(text(attribute(resource, "deployment.environment")), env);
            assert_eq!(text(attribute(resource, "telemetry.sdk.name")), "Datadog");
            assert_eq!(
                text(attribute(resource, "telemetry.sdk.language")),
                "python"
            );
        }
        let (root_resource, root) = found.iter().find(|(_, s)| s.span_id == root_id).unwrap();
        assert_eq!(text(attribute(root_resource, "service.name")), "shop");
        assert_eq!(text(attribute(root_resource, "service.version")), "1.2.3");
        assert!(matches!(
            attribute(root_resource, "process.pid"),
            Some(Value::IntValue(pid)) if *pid > 0
        ));
        assert_eq!(root.name, "web.request");
        assert_eq!(root.kind, SpanKind::Server as i32);
        assert!(root.parent_span_id.is_empty());
        assert_eq!(
            text(attribute(&root.attributes, "dd.span.Resource")),
            "GET /cart"
        );
        assert_eq!(text(attribute(&root.attributes, "http.method")), "GET");
        assert_eq!(
            attribute(&root.attributes, "cart.items"),
            Some(&Value::DoubleValue(3.0))
        );
        assert_eq!(
            text(attribute(&root.attributes, "datadog.span.id")),
            fields[1]
        );

        let (query_resource, query) = found.iter().find(|(_, s)| s.span_id == query_id).unwrap();
        assert_eq!(text(attribute(query_resource, "service.name")), "shop-db");
        assert_eq!(query.parent_span_id, root_id);
        assert_eq!(
            text(attribute(&query.attributes, "db.system")),
            "postgresql"
        );
        assert!(query.start_time_unix_nano >= root.start_time_unix_nano);
        assert!(query.end_time_unix_nano <= root.end_time_unix_nano);

        let (_, charge) = found.iter().find(|(_, s)| s.span_id == charge_id).unwrap();
        assert_eq!(charge.kind, SpanKind::Client as i32, "span type `http`");
        let status = charge.status.as_ref().unwrap();
        assert_eq!(
            (status.code, status.message.as_str()),
            (StatusCode::Error as i32, "card declined"),
            "{env}"
        );
        assert_eq!(
            text(attribute(&charge.attributes, "exception.type")),
            "builtins.ValueError"
        );
        let event = &charge.events[0];
        assert_eq!(event.name, "exception");
        assert_eq!(
            text(attribute(&event.attributes, "exception.message")),
            "card declined"
        );
        assert_eq!(
            attribute(&event.attributes, "attempt"),
            Some(&Value::IntValue(2))
        );
        let link = &charge.links[0];
        assert_eq!(hex(&link.trace_id), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(hex(&link.span_id), "b7ad6b7169203331");
        assert_eq!(
            (link.trace_state.as_str(), link.flags),
            ("rojo=00f067aa0ba902b7", 1)
        );
        assert_eq!(text(attribute(&link.attributes, "link.kind")), "follows");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datadogs_api_clients_metrics_arrive_as_gauges_and_delta_sums() {
    let harness = TestCollector::start(CONFIG).await;
    let addr = harness.collector.receiver_addr("datadog", "http").unwrap();
    let url = format!("http://{addr}");
    let printed = tokio::task::spawn_blocking(move || run_python(METRICS, &[&url], &[]))
        .await
        .unwrap();
    assert!(printed.contains("'status': 'ok'"), "{printed}");
    let dir = harness.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);

    let resource_of = |name: &str| {
        requests
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .find(|rm| {
                rm.scope_metrics
                    .iter()
                    .any(|sm| sm.metrics.iter().any(|m| m.name == name))
            })
            .and_then(|rm| rm.resource.as_ref())
            .map(|r| r.attributes.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };

    let orders: Vec<_> = metrics_named(&requests, "shop.orders").collect();
    let Some(Data::Sum(sum)) = &orders[0].data else {
        panic!("{orders:?}")
    };
    assert!(!sum.is_monotonic);
    let point = &sum.data_points[0];
    assert_eq!(point.value, Some(number_data_point::Value::AsDouble(5.0)));
    assert_eq!(
        (point.start_time_unix_nano, point.time_unix_nano),
        (1_765_129_990_000_000_000, 1_765_130_000_000_000_000)
    );
    assert_eq!(text(attribute(&point.attributes, "team")), "payments");
    let resource = resource_of("shop.orders");
    assert_eq!(text(attribute(&resource, "host.name")), "web-1");
    assert_eq!(text(attribute(&resource, "deployment.environment")), "prod");

    let temperature: Vec<_> = metrics_named(&requests, "shop.temperature").collect();
    let Some(Data::Gauge(gauge)) = &temperature[0].data else {
        panic!("datadogpy sends no type for a gauge: {temperature:?}")
    };
    let values: Vec<_> = gauge.data_points.iter().map(|p| p.value).collect();
    assert_eq!(
        values,
        [
            Some(number_data_point::Value::AsDouble(21.5)),
            Some(number_data_point::Value::AsDouble(22.0))
        ]
    );

    let check: Vec<_> = metrics_named(&requests, "shop.up").collect();
    let Some(Data::Gauge(gauge)) = &check[0].data else {
        panic!("{check:?}")
    };
    assert_eq!(
        gauge.data_points[0].value,
        Some(number_data_point::Value::AsInt(1))
    );
    assert!(gauge.data_points[0].time_unix_nano > 1_765_130_000_000_000_000);

    let depth: Vec<_> = metrics_named(&requests, "shop.queue.depth").collect();
    assert_eq!(depth[0].unit, "item");
    let Some(Data::Gauge(gauge)) = &depth[0].data else {
        panic!("{depth:?}")
    };
    assert_eq!(
        gauge.data_points[0].value,
        Some(number_data_point::Value::AsDouble(7.5))
    );
    assert_eq!(
        text(attribute(&gauge.data_points[0].attributes, "queue")),
        "orders"
    );
    assert_eq!(
        text(attribute(&resource_of("shop.queue.depth"), "host.name")),
        "web-2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_payloads_are_answered_with_what_is_wrong_and_lose_nothing_else() {
    let harness = TestCollector::start(&CONFIG.replace(
        "    metrics: { receivers: [datadog], exporters: [file/metrics] }\n",
        "",
    ))
    .await;
    let addr = harness.collector.receiver_addr("datadog", "http").unwrap();
    let client = reqwest::Client::new();
    let put = |path: &str, content_type: &str, body: &[u8]| {
        client
            .put(format!("http://{addr}{path}"))
            .header("content-type", content_type)
            .body(body.to_vec())
            .send()
    };

    let good = r#"[[{"service": "shop", "name": "web.request", "resource": "GET /", "trace_id": 1,
        "span_id": 2, "start": 1765130000000000000, "duration": 1000}]]"#;
    let answer = put("/v0.4/traces", "application/json", good.as_bytes())
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "{}");
    let answer = put("/v0.3/traces", "application/json", good.as_bytes())
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "OK");

    let bad = r#"[[{"trace_id": 1, "span_id": 3}, {"trace_id": "one", "span_id": 4}]]"#;
    let answer = put("/v0.4/traces", "application/json", bad.as_bytes())
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let message = answer.text().await.unwrap();
    assert!(
        message.contains("trace 0, span 1: `trace_id` is a string, not an integer"),
        "{message}"
    );
    let answer = put("/v0.5/traces", "application/msgpack", &[0x93])
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.text().await.unwrap().contains("ends inside a value"));

    // Metrics are not taken where no metrics pipeline takes the receiver, and /info leaves them out.
    let answer = client
        .post(format!("http://{addr}/api/v1/series"))
        .body(r#"{"series": []}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    assert!(answer.text().await.unwrap().contains("no metrics pipeline"));
    let info: serde_json::Value = client
        .get(format!("http://{addr}/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        info["endpoints"],
        serde_json::json!(["/", "/info", "/v0.3/traces", "/v0.4/traces", "/v0.5/traces"])
    );
    let answer = put("/v0.7/traces", "application/msgpack", b"")
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);

    let dir = harness.shut_down_cleanly().await;
    let requests = read_traces(&dir.path().join("traces.jsonl"), true);
    let taken: Vec<_> = spans(&requests).iter().map(|s| s.span_id.clone()).collect();
    assert_eq!(
        taken,
        [2u64.to_be_bytes().to_vec(), 2u64.to_be_bytes().to_vec()]
    );
}
