//! The `servicegraph` connector with otelcol-contrib's config: the requests between three services and a database,
//! as real `opentelemetry-otlp` exporters of each service send their spans, and the mistakes its settings can hold.

mod common;

use common::{TestCollector, config_problems, grpc_tracer_provider, read_metrics};
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// otelcol-contrib's README example, with a flush interval long enough that the shutdown sends the metrics.
const GRAPH: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  servicegraph:
    latency_histogram_buckets: [10ms, 50ms, 100ms, 1s]
    dimensions: [http.route]
    store:
      ttl: 10s
      max_items: 1000
    metrics_flush_interval: 1h
exporters:
  file/metrics: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [servicegraph] }
    metrics/servicegraph: { receivers: [servicegraph], exporters: [file/metrics] }
  telemetry:
    metrics: { level: none }
"#;

fn provider(endpoint: &str, service: &'static str) -> opentelemetry_sdk::trace::SdkTracerProvider {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service)
        .build();
    grpc_tracer_provider(endpoint.to_string(), resource)
}

/// `frontend` calls `checkout` ten times (one fails on the server side); each call makes `checkout` query the
/// `orders` database and publish a message that `mailer` consumes. Each service exports with its own SDK.
fn send(endpoint: String) {
    let (frontend, checkout, mailer) = (
        provider(&endpoint, "frontend"),
        provider(&endpoint, "checkout"),
        provider(&endpoint, "mailer"),
    );
    let (frontend_tracer, checkout_tracer, mailer_tracer) = (
        frontend.tracer("http-client"),
        checkout.tracer("http-server"),
        mailer.tracer("queue"),
    );
    let start = SystemTime::now();
    let ms = Duration::from_millis;
    for i in 0..10 {
        let mut call = frontend_tracer
            .span_builder("POST /checkout")
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .start(&frontend_tracer);
        let parent = Context::new().with_remote_span_context(call.span_context().clone());
        let mut served = checkout_tracer
            .span_builder("POST /checkout")
            .with_kind(SpanKind::Server)
            .with_start_time(start + ms(1))
            .with_attributes([KeyValue::new("http.route", "/checkout")])
            .start_with_context(&checkout_tracer, &parent);
        if i == 9 {
            served.set_status(Status::error("out of stock"));
        }
        let inside = Context::new().with_remote_span_context(served.span_context().clone());
        checkout_tracer
            .span_builder("SELECT orders")
            .with_kind(SpanKind::Client)
            .with_start_time(start + ms(2))
            .with_attributes([KeyValue::new("db.name", "orders")])
            .start_with_context(&checkout_tracer, &inside)
            .end_with_timestamp(start + ms(7));
        let publish = checkout_tracer
            .span_builder("publish receipt")
            .with_kind(SpanKind::Producer)
            .with_start_time(start + ms(8))
            .start_with_context(&checkout_tracer, &inside);
        let message = Context::new().with_remote_span_context(publish.span_context().clone());
        mailer_tracer
            .span_builder("send receipt")
            .with_kind(SpanKind::Consumer)
            .with_start_time(start + ms(20))
            .start_with_context(&mailer_tracer, &message)
            .end_with_timestamp(start + ms(60));
        drop(publish);
        served.end_with_timestamp(start + ms(30));
        call.end_with_timestamp(start + ms(40));
    }
    for provider in [frontend, checkout, mailer] {
        provider.shutdown().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_between_services_a_database_and_a_queue_with_each_sides_latency() {
    let collector = TestCollector::start(GRAPH).await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || send(endpoint))
        .await
        .unwrap();
    let dir = collector.shut_down_cleanly().await;

    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);
    // (metric, edge) → requests counted, or the histogram's count and sum.
    let mut found = BTreeMap::new();
    for request in &requests {
        for rm in &request.resource_metrics {
            for sm in &rm.scope_metrics {
                assert_eq!(sm.scope.as_ref().unwrap().name, "traces_service_graph");
                for m in &sm.metrics {
                    let points: Vec<(String, String)> = match m.data.as_ref().unwrap() {
                        metric::Data::Sum(sum) => {
                            assert_eq!(
                                sum.aggregation_temporality,
                                AggregationTemporality::Cumulative as i32
                            );
                            assert!(sum.is_monotonic);
                            sum.data_points
                                .iter()
                                .map(|p| {
                                    let Some(number_data_point::Value::AsInt(n)) = p.value else {
                                        panic!("{p:?}")
                                    };
                                    (edge(&p.attributes), n.to_string())
                                })
                                .collect()
                        }
                        metric::Data::Histogram(histogram) => {
                            assert_eq!(m.unit, "s");
                            histogram
                                .data_points
                                .iter()
                                .map(|p| {
                                    assert_eq!(p.explicit_bounds, [0.01, 0.05, 0.1, 1.0]);
                                    let sum = p.sum.unwrap();
                                    (edge(&p.attributes), format!("{} in {sum:.3}s", p.count))
                                })
                                .collect()
                        }
                        other => panic!("{other:?}"),
                    };
                    for (edge, value) in points {
                        found.insert((m.name.clone(), edge), value);
                    }
                }
            }
        }
    }
    let expected: BTreeMap<(String, String), String> = [
        (
            "request_total",
            "frontend→checkout failed=false server_http.route=/checkout",
            "9",
        ),
        (
            "request_total",
            "frontend→checkout failed=true server_http.route=/checkout",
            "1",
        ),
        (
            "request_total",
            "checkout→orders database failed=false",
            "10",
        ),
        (
            "request_total",
            "checkout→mailer messaging_system failed=false",
            "10",
        ),
        (
            "request_failed_total",
            "frontend→checkout failed=true server_http.route=/checkout",
            "1",
        ),
        (
            "request_server",
            "frontend→checkout failed=false server_http.route=/checkout",
            "9 in 0.261s",
        ),
        (
            "request_client",
            "frontend→checkout failed=false server_http.route=/checkout",
            "9 in 0.360s",
        ),
        (
            "request_server",
            "frontend→checkout failed=true server_http.route=/checkout",
            "1 in 0.029s",
        ),
        (
            "request_client",
            "frontend→checkout failed=true server_http.route=/checkout",
            "1 in 0.040s",
        ),
        // A database sends no span: both sides are the client's.
        (
            "request_server",
            "checkout→orders database failed=false",
            "10 in 0.050s",
        ),
        (
            "request_client",
            "checkout→orders database failed=false",
            "10 in 0.050s",
        ),
        (
            "request_server",
            "checkout→mailer messaging_system failed=false",
            "10 in 0.400s",
        ),
    ]
    .into_iter()
    .map(|(metric, edge, value)| {
        (
            (format!("traces_service_graph_{metric}"), edge.to_string()),
            value.to_string(),
        )
    })
    .collect();
    // The producer span ended when it was dropped, at a time the test does not set.
    found.remove(&(
        "traces_service_graph_request_client".to_string(),
        "checkout→mailer messaging_system failed=false".to_string(),
    ));
    assert_eq!(found, expected);
}

/// `client→server connection_type failed=… dimensions…`, from a point's attributes.
fn edge(attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> String {
    let text = |key: &str| {
        attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|value| match value {
                any_value::Value::StringValue(s) => s.clone(),
                any_value::Value::BoolValue(b) => b.to_string(),
                other => format!("{other:?}"),
            })
    };
    let mut out = format!(
        "{}→{}",
        text("client").unwrap_or_default(),
        text("server").unwrap_or_default()
    );
    if let Some(connection) = text("connection_type").filter(|c| !c.is_empty()) {
        out.push_str(&format!(" {connection}"));
    }
    out.push_str(&format!(" failed={}", text("failed").unwrap_or_default()));
    for kv in attributes
        .iter()
        .filter(|kv| kv.key.starts_with("client_") || kv.key.starts_with("server_"))
    {
        out.push_str(&format!(
            " {}={}",
            kv.key,
            text(&kv.key).unwrap_or_default()
        ));
    }
    out
}

#[test]
fn settings_mistakes_are_named_at_their_keys() {
    let config = |settings: &str| {
        let start = GRAPH.find("    latency_histogram_buckets").unwrap();
        let end = GRAPH.find("exporters:").unwrap();
        format!("{}{settings}\n{}", &GRAPH[..start], &GRAPH[end..])
    };
    let cases = [
        (
            "    latency_histogram_buckets: [100ms, 10ms]",
            "connectors.servicegraph.latency_histogram_buckets",
            "the bounds must increase",
        ),
        (
            "    latency_histogram_buckets: [10ms]\n    exponential_histogram_max_size: 160",
            "connectors.servicegraph.exponential_histogram_max_size",
            "use either `latency_histogram_buckets` or `exponential_histogram_max_size`",
        ),
        (
            "    dimensions: [http.route, http.route]",
            "connectors.servicegraph.dimensions[1]",
            "duplicate dimension `http.route`",
        ),
        (
            "    store: {max_items: 0}",
            "connectors.servicegraph.store.max_items",
            "must be more than zero",
        ),
        (
            "    latency_histogram_buckets: [10 ms]",
            "connectors.servicegraph.latency_histogram_buckets[0]",
            "",
        ),
        (
            "    virtual_node_peer_atributes: [peer.service]",
            "connectors.servicegraph",
            "did you mean `virtual_node_peer_attributes`?",
        ),
    ];
    for (settings, path, message) in cases {
        let problems = config_problems(&config(settings));
        assert!(
            problems
                .iter()
                .any(|(at, said)| at.starts_with(path) && said.contains(message)),
            "{settings}: {problems:?}"
        );
    }
}
