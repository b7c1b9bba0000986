//! The `signaltometrics` connector in a running collector: spans from the real `opentelemetry-otlp` exporter made
//! into a duration histogram per route (server spans only) and a count, under a resource that keeps the service
//! and names the collector that made them (`service.telemetry.resource`); and its settings' mistakes named.

mod common;

use common::{TestCollector, config_problems, grpc_tracer_provider, read_metrics};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use std::collections::BTreeMap;

const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
connectors:
  signaltometrics:
    spans:
      - name: http.server.request.duration
        unit: s
        conditions: ['kind == SPAN_KIND_SERVER']
        attributes:
          - key: http.route
            default_value: other
        include_resource_attributes:
          - key: service.name
        histogram:
          buckets: [0.01, 1]
          value: Double(end_time_unix_nano - start_time_unix_nano) / 1000000000.0
      - name: span.count
        sum:
          value: "1"
exporters:
  file: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [signaltometrics] }
    metrics: { receivers: [signaltometrics], exporters: [file] }
  telemetry:
    metrics: { level: none }
    resource: { service.name: edge-collector, service.instance.id: edge-1 }
"#;

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_from_an_sdk_become_a_histogram_per_route_and_a_count() {
    let collector = TestCollector::start(CONFIG).await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("checkout")
            .with_attribute(KeyValue::new("host.name", "web-1"))
            .build();
        let provider = grpc_tracer_provider(endpoint, resource);
        let tracer = provider.tracer("checkout-http");
        for (route, kind) in [
            (Some("/cart"), SpanKind::Server),
            (Some("/cart"), SpanKind::Server),
            (None, SpanKind::Server),
            (Some("/pay"), SpanKind::Client),
        ] {
            let mut span = tracer
                .span_builder("request")
                .with_kind(kind)
                .with_attributes(route.map(|r| KeyValue::new("http.route", r)))
                .start(&tracer);
            span.end();
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let dir = collector.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);

    let mut histogram_counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut span_count = 0;
    for rm in requests.iter().flat_map(|r| &r.resource_metrics) {
        let resource = &rm.resource.as_ref().unwrap().attributes;
        let value = |key: &str| {
            text(
                resource
                    .iter()
                    .find(|kv| kv.key == key)
                    .and_then(|kv| kv.value.as_ref()?.value.as_ref()),
            )
        };
        assert_eq!(value("service.name"), "checkout");
        assert_eq!(value("signaltometrics.service.name"), "edge-collector");
        assert_eq!(value("signaltometrics.service.instance.id"), "edge-1");
        for metric in rm.scope_metrics.iter().flat_map(|sm| &sm.metrics) {
            match &metric.data {
                Some(metric::Data::Histogram(h)) => {
                    // Only the service is kept on the histogram's resource.
                    assert!(resource.iter().all(|kv| kv.key != "host.name"));
                    assert_eq!(metric.unit, "s");
                    for point in &h.data_points {
                        let route =
                            text(point.attributes[0].value.as_ref().unwrap().value.as_ref());
                        *histogram_counts.entry(route).or_default() += point.count;
                        assert_eq!(point.explicit_bounds, [0.01, 1.0]);
                    }
                }
                Some(metric::Data::Sum(sum)) => {
                    assert_eq!(metric.name, "span.count");
                    assert_eq!(value("host.name"), "web-1");
                    for point in &sum.data_points {
                        let Some(number_data_point::Value::AsInt(n)) = point.value else {
                            panic!("{point:?}")
                        };
                        span_count += n;
                    }
                }
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(
        histogram_counts,
        BTreeMap::from([("/cart".to_owned(), 2), ("other".to_owned(), 1)]),
        "server spans only, the one without a route under the default"
    );
    assert_eq!(span_count, 4);
}

#[test]
fn mistakes_in_the_settings_are_named_where_they_are() {
    let problems = config_problems(
        r#"
receivers:
  otlp:
    protocols: { grpc: }
connectors:
  signaltometrics:
    spans:
      - name: both
        sum: { value: "1" }
        gauge: { value: "1" }
      - name: bad.value
        histogram: { value: 'end_time - ' }
exporters:
  debug:
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [signaltometrics] }
    metrics: { receivers: [signaltometrics], exporters: [debug] }
"#,
    );
    assert!(
        problems.iter().any(
            |(path, message)| path == "connectors.signaltometrics.spans[0]"
                && message.contains("exactly one")
        ),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|(path, _)| path == "connectors.signaltometrics.spans[1].histogram.value"),
        "{problems:?}"
    );
}
