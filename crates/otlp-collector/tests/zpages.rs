//! The `zpages` extension's pages, read as an operator reads them, after an OpenTelemetry SDK sent spans.

mod common;

use common::{TestCollector, grpc_tracer_provider};
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_show_the_pipelines_and_what_went_through_them() {
    let harness = TestCollector::start(
        r#"
extensions:
  zpages: { endpoint: "127.0.0.1:0" }
  health_check: { endpoint: "127.0.0.1:0" }
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
processors:
  batch: { timeout: 10ms }
exporters:
  file: { path: "{dir}/out.jsonl", format: json }
service:
  extensions: [zpages, health_check]
  pipelines:
    traces/in: { receivers: [otlp], processors: [batch], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#,
    )
    .await;
    let addr = harness.collector.extension_addr("zpages").unwrap();
    let endpoint = harness.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let provider =
            grpc_tracer_provider(endpoint, opentelemetry_sdk::Resource::builder().build());
        let tracer = provider.tracer("zpages-test");
        for _ in 0..7 {
            tracer.in_span("work", |_| {});
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let get = |path: &str| {
        let url = format!("http://{addr}{path}");
        async move {
            let answer = reqwest::get(url).await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let pipelines = loop {
        let (status, page) = get("/debug/pipelinez").await;
        assert_eq!(status, 200);
        if page.contains("<td>exporter</td><td>file</td><td></td><td></td><td>7</td><td>0</td>")
            || tokio::time::Instant::now() > deadline
        {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(pipelines.contains("<h2>traces/in</h2>"), "{pipelines}");
    assert!(
        pipelines.contains("<td>receiver</td><td>otlp</td><td>7</td><td>0</td>"),
        "{pipelines}"
    );
    assert!(
        pipelines.contains("<td>processor</td><td>batch</td>"),
        "{pipelines}"
    );
    assert!(
        pipelines.contains("<td>exporter</td><td>file</td><td></td><td></td><td>7</td><td>0</td>"),
        "{pipelines}"
    );
    let (status, service) = get("/debug/servicez").await;
    assert_eq!(status, 200);
    assert!(service.contains(env!("CARGO_PKG_VERSION")), "{service}");
    let (_, extensions) = get("/debug/extensionz").await;
    assert!(
        extensions.contains("<td>health_check</td><td>health_check</td>"),
        "{extensions}"
    );
    let (status, tracez) = get("/debug/tracez").await;
    assert_eq!(status, 404);
    assert!(tracez.contains("records no spans of its own"));
    harness.shut_down_cleanly().await;
}
