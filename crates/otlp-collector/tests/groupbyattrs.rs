//! The `groupbyattrs` processor fed by the real `opentelemetry-otlp` exporters: a multi-tenant gateway's spans and
//! a host agent's metrics, whose per-record `tenant.id` / `host.name` become their resources' attributes.

mod common;

use common::{TestCollector, grpc_tracer_provider, read_metrics, read_traces};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::common::v1::{KeyValue as ProtoKeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use std::collections::BTreeMap;

const CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  groupbyattrs/tenant:
    keys: [tenant.id]
  groupbyattrs/host:
    keys: [host.name]
  batch: { send_batch_size: 1000, timeout: 20ms }
exporters:
  file/traces: { path: "{dir}/traces", format: proto }
  file/metrics: { path: "{dir}/metrics", format: proto }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch, groupbyattrs/tenant], exporters: [file/traces] }
    metrics: { receivers: [otlp], processors: [batch, groupbyattrs/host], exporters: [file/metrics] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

const TENANTS: [&str; 3] = ["acme", "globex", "initech"];
const REQUESTS: usize = 90;

fn string<'a>(attributes: &'a [ProtoKeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_and_host_becomes_a_resource_of_its_own() {
    let harness = TestCollector::start(CONFIG).await;
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("gateway")
            .build();
        let provider = grpc_tracer_provider(endpoint.clone(), resource);
        let tracer = provider.tracer("gateway");
        for i in 0..REQUESTS {
            let mut span = tracer.start("POST /v1/orders");
            // Every tenth request is anonymous: it stays with the gateway's own resource.
            if i % 10 != 0 {
                span.set_attribute(KeyValue::new("tenant.id", TENANTS[i % 3]));
            }
            span.set_attribute(KeyValue::new("http.route", "/v1/orders"));
            span.end();
        }
        provider.shutdown().unwrap();

        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .unwrap();
        let meters = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name("agent")
                    .build(),
            )
            .with_periodic_exporter(exporter)
            .build();
        let usage = meters
            .meter("hostmetrics")
            .u64_counter("system.network.io")
            .with_unit("By")
            .build();
        for (host, bytes) in [("node-1", 100), ("node-2", 250), ("node-1", 50)] {
            usage.add(
                bytes,
                &[
                    KeyValue::new("host.name", host),
                    KeyValue::new("direction", "receive"),
                ],
            );
        }
        meters.shutdown().unwrap();
    })
    .await
    .unwrap();
    let telemetry = harness.collector.telemetry().clone();
    let dir = harness.shut_down_cleanly().await;

    let mut spans_by_tenant: BTreeMap<String, usize> = BTreeMap::new();
    for request in read_traces(&dir.path().join("traces"), false) {
        for rs in &request.resource_spans {
            let resource = &rs.resource.as_ref().unwrap().attributes;
            assert_eq!(
                string(resource, "service.name"),
                Some("gateway"),
                "the resource is kept"
            );
            let tenant = string(resource, "tenant.id").unwrap_or("(none)").to_owned();
            for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
                assert_eq!(
                    string(&span.attributes, "tenant.id"),
                    None,
                    "moved, not copied"
                );
                assert_eq!(string(&span.attributes, "http.route"), Some("/v1/orders"));
                *spans_by_tenant.entry(tenant.clone()).or_default() += 1;
            }
        }
    }
    let anonymous = REQUESTS / 10;
    let per_tenant = (REQUESTS - anonymous) / 3;
    assert_eq!(
        spans_by_tenant,
        BTreeMap::from([
            ("(none)".to_owned(), anonymous),
            ("acme".to_owned(), per_tenant),
            ("globex".to_owned(), per_tenant),
            ("initech".to_owned(), per_tenant),
        ])
    );

    let mut bytes_by_host: BTreeMap<String, i64> = BTreeMap::new();
    for request in read_metrics(&dir.path().join("metrics"), false) {
        for rm in &request.resource_metrics {
            let resource = &rm.resource.as_ref().unwrap().attributes;
            assert_eq!(string(resource, "service.name"), Some("agent"));
            let host = string(resource, "host.name").unwrap().to_owned();
            for metric in rm.scope_metrics.iter().flat_map(|sm| &sm.metrics) {
                assert_eq!(
                    (metric.name.as_str(), metric.unit.as_str()),
                    ("system.network.io", "By")
                );
                let Some(Data::Sum(sum)) = &metric.data else {
                    panic!("a counter is a sum: {metric:?}");
                };
                assert!(sum.is_monotonic);
                for point in &sum.data_points {
                    assert_eq!(
                        point.attributes.len(),
                        1,
                        "only `direction` is left: {point:?}"
                    );
                    let Some(
                        opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(
                            value,
                        ),
                    ) = point.value
                    else {
                        panic!("{point:?}");
                    };
                    bytes_by_host.insert(host.clone(), value);
                }
            }
        }
    }
    assert_eq!(
        bytes_by_host,
        BTreeMap::from([("node-1".to_owned(), 150), ("node-2".to_owned(), 250)])
    );

    let grouped = |items: &str| {
        let processor = if items == "spans" {
            "groupbyattrs/tenant"
        } else {
            "groupbyattrs/host"
        };
        (
            telemetry.value(
                &format!("otelcol_processor_groupbyattrs_num_grouped_{items}"),
                &[("processor", processor)],
            ),
            telemetry.value(
                &format!("otelcol_processor_groupbyattrs_num_non_grouped_{items}"),
                &[("processor", processor)],
            ),
        )
    };
    assert_eq!(
        grouped("spans"),
        (Some((REQUESTS - anonymous) as u64), Some(anonymous as u64))
    );
    assert_eq!(grouped("metrics"), (Some(2), Some(0)));
}

#[test]
fn repeated_and_empty_keys_are_warned_about_and_ignored() {
    let yaml = CONFIG.replace("keys: [tenant.id]", "keys: [tenant.id, \"\", tenant.id]");
    let config = otlp_collector::Config::from_yaml(&yaml).unwrap();
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("processors.groupbyattrs/tenant.keys[1]"),
        "{warnings:?}"
    );
    assert!(
        warnings[0].contains("an empty key groups nothing"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("`tenant.id` is listed already"),
        "{warnings:?}"
    );
}
