//! Receiver rate limits (ours): a token bucket per receiver over both transports and one per tenant attribute.
//! Over the limit, gRPC clients get `RESOURCE_EXHAUSTED` with `RetryInfo` and HTTP clients 429 with `Retry-After`,
//! one tenant over its share does not stop another, and a request larger than the burst is refused for good.
//! Rates here are one item per second, so no refill happens within a test's run.

mod common;

use common::TestCollector;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use otlp_collector::Config;
use otlp_testkit::Generator;
use prost::Message;
use std::time::Duration;
use tonic_types::StatusExt;

fn config(rate_limit: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }}, http: {{ endpoint: "127.0.0.1:0" }} }}
    rate_limit: {rate_limit}
exporters:
  debug: {{ verbosity: basic }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

/// `spans` spans, every resource tagged `tenant.id = tenant` when given.
fn request(
    generator: &mut Generator,
    spans: usize,
    tenant: Option<&str>,
) -> ExportTraceServiceRequest {
    let mut request = generator.traces(spans);
    if let Some(tenant) = tenant {
        for rs in &mut request.resource_spans {
            rs.resource
                .get_or_insert_with(Default::default)
                .attributes
                .push(KeyValue {
                    key: "tenant.id".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(tenant.into())),
                    }),
                    ..Default::default()
                });
        }
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_receivers_rate_both_transports_are_told_to_come_back_later() {
    let harness = TestCollector::start(&config("{ items_per_second: 1, burst: 100 }")).await;
    let mut generator = Generator::new(1);
    let mut client = TraceServiceClient::connect(harness.grpc_endpoint())
        .await
        .unwrap();
    client
        .export(request(&mut generator, 60, None))
        .await
        .unwrap();

    let status = client
        .export(request(&mut generator, 60, None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("rate limit"),
        "{}",
        status.message()
    );
    let wait = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .unwrap();
    // 60 items at one per second, less the ~40 left in the bucket: about 20 s, far from the default second.
    assert!(wait > Duration::from_secs(5), "{wait:?}");

    // The same bucket serves HTTP.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/traces", harness.http_endpoint()))
        .header("content-type", "application/x-protobuf")
        .body(request(&mut generator, 60, None).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 5, "{retry_after}");
    let telemetry = harness.collector.telemetry();
    assert_eq!(telemetry.total("otelcol_receiver_accepted_spans"), 60);
    assert_eq!(telemetry.total("otelcol_receiver_refused_spans"), 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_over_its_share_does_not_stop_another() {
    let harness = TestCollector::start(&config(
        "{ items_per_second: 1, burst: 10000, per_tenant: { attribute: tenant.id, items_per_second: 1, burst: 50 } }",
    ))
    .await;
    let mut generator = Generator::new(2);
    let mut client = TraceServiceClient::connect(harness.grpc_endpoint())
        .await
        .unwrap();
    client
        .export(request(&mut generator, 40, Some("shop")))
        .await
        .unwrap();
    let status = client
        .export(request(&mut generator, 40, Some("shop")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(
        status.message().contains("tenant `shop`"),
        "{}",
        status.message()
    );
    client
        .export(request(&mut generator, 40, Some("bank")))
        .await
        .unwrap();
    // Without the attribute only the receiver's bucket applies.
    client
        .export(request(&mut generator, 200, None))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_larger_than_the_burst_is_refused_for_good_and_bad_settings_are_named() {
    let harness = TestCollector::start(&config("{ items_per_second: 10, burst: 20 }")).await;
    let mut client = TraceServiceClient::connect(harness.grpc_endpoint())
        .await
        .unwrap();
    let status = client
        .export(request(&mut Generator::new(3), 50, None))
        .await
        .unwrap_err();
    assert_ne!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("smaller batches"),
        "{}",
        status.message()
    );

    let error = Config::from_yaml(&config("{ items_per_second: 0 }")).unwrap_err();
    assert!(error.to_string().contains("items_per_second"), "{error}");
    let error = Config::from_yaml(&config(
        "{ items_per_second: 5, per_tenant: { attribute: '', items_per_second: 1 } }",
    ))
    .unwrap_err();
    assert!(
        error.to_string().contains("per_tenant.attribute"),
        "{error}"
    );
    let error = Config::from_yaml(&config("{ items_per_secnd: 5 }")).unwrap_err();
    assert!(error.to_string().contains("items_per_secnd"), "{error}");
}
