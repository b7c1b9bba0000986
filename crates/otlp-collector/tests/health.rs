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
    harness.shut_down_cleanly().await;
    assert!(!telemetry.is_ready());
}

/// A collector whose `health_check` has `settings` (a YAML flow map's inner keys, endpoint excluded) and whose
/// traces go through `exporter` (an `exporters:` entry); `{dir}` is the test's directory.
fn health_config(settings: &str, exporter: &str) -> String {
    format!(
        r#"
receivers:
  otlp: {{ protocols: {{ http: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:
  {exporter}
extensions:
  health_check: {{ endpoint: "127.0.0.1:0", {settings} }}
service:
  extensions: [health_check]
  pipelines:
    traces: {{ receivers: [otlp], exporters: [{id}] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        id = exporter.split(':').next().unwrap_or_default().trim()
    )
}

/// What an HTTP answer came to: its status, content type and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn get(url: &str) -> Answer {
    let response = reqwest::get(url).await.unwrap();
    let headers = response.headers().clone();
    Answer {
        status: response.status().as_u16(),
        content_type: headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.text().await.unwrap(),
        headers,
    }
}

/// The port the `health_check` extension of `harness` listens on.
fn health_port(harness: &TestCollector) -> u16 {
    harness
        .collector
        .extension_addr("health_check")
        .unwrap()
        .port()
}

/// GETs `path` over HTTPS from the health check at `port`, trusting the test CA in `pki` and presenting the client
/// certificate `identity` (`client`, `stranger`) if given; an error when the connection or handshake fails.
async fn https_get(
    port: u16,
    path: &str,
    pki: &std::path::Path,
    identity: Option<&str>,
) -> Result<Answer, String> {
    use http_body_util::BodyExt;

    let client = common::pki::https_client(pki, identity);
    let response = client
        .get(format!("https://127.0.0.1:{port}{path}").parse().unwrap())
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{e:?}"))?
        .to_bytes();
    Ok(Answer {
        status,
        content_type,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_serves_https_with_the_receivers_tls_settings() {
    let pki = tempfile::tempdir().unwrap();
    common::pki::write_pki(pki.path());
    let dir = pki.path().display();
    let harness = TestCollector::start(&health_config(
        &format!(
            "path: /health/status, tls: {{ cert_file: \"{dir}/server.pem\", key_file: \"{dir}/server-key.pem\", \
             min_version: \"1.2\" }}"
        ),
        "debug:",
    ))
    .await;
    let port = health_port(&harness);

    let answer = https_get(port, "/health/status", pki.path(), None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["status"], "Server available");
    assert_eq!(
        https_get(port, "/elsewhere", pki.path(), None)
            .await
            .unwrap()
            .status,
        404
    );

    // A plaintext client gets no answer from the TLS port.
    let plaintext = reqwest::get(format!("http://127.0.0.1:{port}/health/status")).await;
    assert!(plaintext.is_err(), "{plaintext:?}");
    // The port still serves TLS clients afterwards.
    assert_eq!(
        https_get(port, "/health/status", pki.path(), None)
            .await
            .unwrap()
            .status,
        200
    );
    harness.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_with_client_ca_requires_a_client_certificate() {
    let pki = tempfile::tempdir().unwrap();
    common::pki::write_pki(pki.path());
    let dir = pki.path().display();
    let harness = TestCollector::start(&health_config(
        &format!(
            "tls: {{ cert_file: \"{dir}/server.pem\", key_file: \"{dir}/server-key.pem\", \
             client_ca_file: \"{dir}/ca.pem\" }}"
        ),
        "debug:",
    ))
    .await;
    let port = health_port(&harness);

    assert_eq!(
        https_get(port, "/", pki.path(), Some("client"))
            .await
            .unwrap()
            .status,
        200
    );
    assert!(https_get(port, "/", pki.path(), None).await.is_err());
    assert!(
        https_get(port, "/", pki.path(), Some("stranger"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_missing_certificate_fails_the_start_naming_the_extension_and_the_file() {
    let yaml = health_config(
        "tls: { cert_file: /nonexistent/health.pem, key_file: /nonexistent/health-key.pem }",
        "debug:",
    );
    // The files are read at start, as the receivers' are: the config itself is valid.
    let config = otlp_collector::Config::from_yaml(&yaml).unwrap();
    let error = match otlp_collector::Collector::new(config).start().await {
        Err(error) => error.to_string(),
        Ok(_) => panic!("started without its certificate"),
    };
    assert!(
        error.starts_with("extensions.health_check (tls): /nonexistent/health.pem"),
        "{error}"
    );

    let error = otlp_collector::Config::from_yaml(&health_config(
        "tls: { key_file: /etc/key.pem }",
        "debug:",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("extensions.health_check.tls.cert_file")
            && error.contains("needs both cert_file and key_file"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_body_replaces_the_json_and_response_headers_are_sent() {
    let harness = TestCollector::start(&health_config(
        "response_body: { healthy: \"I'm OK\", unhealthy: \"I'm not well\" }, \
         response_headers: { Cache-Control: no-store, X-Collector: otlp-suite }, keep_alives_enabled: false",
        "debug:",
    ))
    .await;
    let health = harness.collector.extension_addr("health_check").unwrap();

    let answer = get(&format!("http://{health}/")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "I'm OK");
    assert_eq!(
        answer.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert_eq!(answer.headers["x-collector"], "otlp-suite");
    assert_eq!(answer.headers["connection"], "close");
    // The default path `/` answers for every path under it, as otelcol's (Go's ServeMux) does.
    assert_eq!(
        get(&format!("http://{health}/healthz")).await.body,
        "I'm OK"
    );

    // What a probe reads while the collector drains (the collector marks itself not ready first).
    harness.collector.telemetry().set_ready(false);
    let answer = get(&format!("http://{health}/")).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body, "I'm not well");
    assert_eq!(answer.headers["x-collector"], "otlp-suite");
}

/// An `otlphttp` exporter whose backend refuses connections, without retries or queue: each batch fails while the
/// client waits, its spans counted in `otelcol_exporter_send_failed_spans`.
const FAILING_EXPORTER: &str = "otlphttp: { endpoint: \"http://127.0.0.1:1\", \
     retry_on_failure: { enabled: false }, sending_queue: { enabled: false } }";

async fn fail(harness: &TestCollector, spans: usize) {
    let refused = harness
        .collector
        .submit(Batch::new(Generator::new(spans as u64).traces(spans)))
        .await;
    assert!(refused.is_err(), "the backend took {spans} spans");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_collector_pipeline_fails_once_exporters_fail_more_than_the_threshold() {
    let harness = TestCollector::start(&health_config(
        "path: /health, check_collector_pipeline: { enabled: true, interval: 5m, exporter_failure_threshold: 5 }",
        FAILING_EXPORTER,
    ))
    .await;
    let url = format!(
        "http://{}/health",
        harness.collector.extension_addr("health_check").unwrap()
    );
    let failures = |answer: &Answer| {
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        (body["status"].clone(), body["exporter_failures"].clone())
    };

    let answer = get(&url).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(failures(&answer), ("Server available".into(), 0.into()));

    // Five failed spans are within the threshold; a sixth is one too many.
    fail(&harness, 5).await;
    let answer = get(&url).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(failures(&answer), ("Server available".into(), 5.into()));
    fail(&harness, 1).await;
    let answer = get(&url).await;
    assert_eq!(answer.status, 500, "{answer:?}");
    assert_eq!(failures(&answer), ("Server not available".into(), 6.into()));
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["exporter_failure_threshold"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_collector_pipeline_recovers_once_failures_leave_the_interval() {
    let harness = TestCollector::start(&health_config(
        "response_body: { healthy: up, unhealthy: down }, \
         check_collector_pipeline: { enabled: true, interval: 3s, exporter_failure_threshold: 1 }",
        FAILING_EXPORTER,
    ))
    .await;
    let url = format!(
        "http://{}/",
        harness.collector.extension_addr("health_check").unwrap()
    );
    let answer = get(&url).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "up"));

    fail(&harness, 2).await;
    // otelcol's status for a failing pipeline is 500, with `response_body.unhealthy`.
    let answer = get(&url).await;
    assert_eq!((answer.status, answer.body.as_str()), (500, "down"));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let answer = get(&url).await;
        if answer.status == 200 {
            assert_eq!(answer.body, "up");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still unhealthy: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn otelcol_keys_that_cannot_be_honoured_are_refused_with_the_reason() {
    for (settings, key, words) in [
        (
            "cors: { allowed_origins: [\"*\"] }",
            "extensions.health_check.cors",
            "protocols.http.cors",
        ),
        (
            "auth: { authenticator: basicauth }",
            "extensions.health_check.auth",
            "not by extensions",
        ),
        (
            "read_header_timeout: 10s",
            "extensions.health_check.read_header_timeout",
            "no per-connection timeouts",
        ),
        (
            "use_v2: true",
            "extensions.health_check.use_v2",
            "v2 health check is not supported",
        ),
        (
            "http: { endpoint: \"localhost:13133\" }",
            "extensions.health_check.http",
            "v2 health check",
        ),
        (
            "check_collector_pipeline: { exporter_failure_threshold: -1 }",
            "extensions.health_check.check_collector_pipeline.exporter_failure_threshold",
            "expects a positive number, got -1",
        ),
        (
            "check_collector_pipeline: { interval: soon }",
            "extensions.health_check.check_collector_pipeline.interval",
            "",
        ),
        (
            "path: health",
            "extensions.health_check.path",
            "must start with `/`",
        ),
        (
            "response_headers: { \"X Bad\": v }",
            "extensions.health_check.response_headers.X Bad",
            "not a valid HTTP header name",
        ),
        (
            "response_body: { healthy: ok, degraded: meh }",
            "extensions.health_check.response_body",
            "degraded",
        ),
    ] {
        let error = otlp_collector::Config::from_yaml(&health_config(settings, "debug:"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(key) && error.contains(words),
            "{settings}: {error}"
        );
    }
}

#[test]
fn otelcol_keys_without_effect_here_are_taken() {
    let config = otlp_collector::Config::from_yaml(&health_config(
        "max_request_body_size: 1024, compression_algorithms: [gzip], include_metadata: true, \
         keep_alives_enabled: true, use_v2: false",
        "debug:",
    ))
    .unwrap();
    let warnings: Vec<String> = config
        .warnings()
        .iter()
        .map(|warning| warning.to_string())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("extensions.health_check.include_metadata")),
        "{warnings:?}"
    );
}
