//! Operators' endpoints: the `health_check` extension, and `/metrics`, `/health`, `/ready` on the self-telemetry
//! address.

mod common;

use common::TestCollector;
use otlp_collector::Batch;
use otlp_testkit::Generator;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_and_admin_endpoints_answer_while_serving() {
    let harness = TestCollector::start(
        r#"
receivers:
  otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } }
exporters:
  debug:
extensions:
  health_check: { endpoint: "127.0.0.1:0", path: /healthz }
service:
  extensions: [health_check]
  pipelines:
    logs: { receivers: [otlp], exporters: [debug] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#,
    )
    .await;
    let health = harness.collector.extension_addr("health_check").unwrap();
    let admin = harness.collector.telemetry_addr().unwrap();

    let response = reqwest::get(format!("http://{health}/healthz"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "Server available");
    assert_eq!(
        reqwest::get(format!("http://{health}/other"))
            .await
            .unwrap()
            .status(),
        404
    );

    assert_eq!(
        reqwest::get(format!("http://{admin}/health"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("http://{admin}/ready"))
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            "otelcol_receiver_accepted_log_records{receiver=\"otlp\",transport=\"http\"} 0"
        ),
        "{text}"
    );
    // The in-process receiver is listed once a program embedding the collector uses it, not before.
    assert!(!text.contains("receiver=\"embedded\""), "{text}");
    harness
        .collector
        .submit(Batch::new(Generator::new(1).logs(3)))
        .await
        .unwrap();
    let text = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "otelcol_receiver_accepted_log_records{receiver=\"embedded\",transport=\"in_process\"} 3"
        ),
        "{text}"
    );

    // Readiness follows the collector: not ready once it starts draining.
    let telemetry = harness.collector.telemetry().clone();
    assert!(telemetry.is_ready());
    assert!(
        harness
            .collector
            .shutdown(Duration::from_secs(5))
            .await
            .is_clean()
    );
    assert!(!telemetry.is_ready());
}
