//! The `httpcheck` receiver against real servers: an HTTP server answering 200, 503 and a redirect and recording
//! the headers it was sent, a closed port, and the collector's own OTLP/HTTP receiver over TLS, checked with the
//! test CA and without it.

mod common;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use common::{TestCollector, attribute, read_metrics};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{NumberDataPoint, metric::Data, number_data_point};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every point of `name`, over all scrapes.
fn points(
    requests: &[opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest],
    name: &str,
) -> Vec<NumberDataPoint> {
    requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == name)
        .flat_map(|m| match &m.data {
            Some(Data::Sum(sum)) => sum.data_points.clone(),
            Some(Data::Gauge(gauge)) => gauge.data_points.clone(),
            _ => Vec::new(),
        })
        .collect()
}

fn string(point: &NumberDataPoint, key: &str) -> Option<String> {
    match attribute(&point.attributes, key) {
        Some(Value::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn int(point: &NumberDataPoint) -> i64 {
    match point.value {
        Some(number_data_point::Value::AsInt(v)) => v,
        other => panic!("{other:?}"),
    }
}

/// The value and status code of the `class` point of `url` in the last check.
fn status(points: &[NumberDataPoint], url: &str, class: &str) -> (i64, Option<i64>) {
    let point = points
        .iter()
        .rev()
        .find(|p| {
            string(p, "http.url").as_deref() == Some(url)
                && string(p, "http.status_class").as_deref() == Some(class)
        })
        .unwrap_or_else(|| panic!("no {class} point for {url}"));
    let code = match attribute(&point.attributes, "http.status_code") {
        Some(Value::IntValue(code)) => Some(*code),
        None => None,
        other => panic!("{other:?}"),
    };
    (int(point), code)
}

/// Each request the HTTP server answered: its path and `Authorization` header.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_are_checked_as_otelcol_reports_them() {
    // The servers.
    let seen: Seen = Arc::default();
    let record = |path: &'static str, seen: Seen| {
        move |headers: HeaderMap| async move {
            let authorization = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            seen.lock().unwrap().push((path.to_owned(), authorization));
        }
    };
    let app = Router::new()
        .route("/ok", get(record("/ok", Arc::clone(&seen))))
        .route(
            "/down",
            get({
                let record = record("/down", Arc::clone(&seen));
                move |headers: HeaderMap| async move {
                    record(headers).await;
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }),
        )
        .route(
            "/moved",
            get(|| async { (StatusCode::MOVED_PERMANENTLY, [("location", "/ok")]) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let pki = tempfile::tempdir().unwrap();
    common::pki::write_pki(pki.path());
    let p = pki.path().display();
    let tls_server = TestCollector::start(&format!(
        r#"
receivers:
  otlp:
    protocols:
      http: {{ endpoint: "127.0.0.1:0", tls: {{ cert_file: "{p}/server.pem", key_file: "{p}/server-key.pem" }} }}
exporters:
  debug:
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let tls_port = tls_server.collector.http_addr("otlp").unwrap().port();

    // The checks.
    let ok = format!("http://{web}/ok");
    let down = format!("http://{web}/down");
    let moved = format!("http://{web}/moved");
    let refused = format!("http://{closed}/");
    let https = format!("https://localhost:{tls_port}/v1/traces");
    let https_untrusted = format!("https://127.0.0.1:{tls_port}/v1/traces");
    let https_unverified = format!("https://127.0.0.1:{tls_port}/v1/logs");
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  httpcheck:
    collection_interval: 100ms
    initial_delay: 0s
    targets:
      - endpoints: ["{ok}", "{down}"]
        headers: {{ Authorization: "Bearer s3cret" }}
      - endpoint: "{moved}"
      - endpoint: "{refused}"
        timeout: 2s
      - endpoint: "{https}"
        tls: {{ ca_file: "{p}/ca.pem" }}
      - endpoint: "{https_untrusted}"
      - endpoint: "{https_unverified}"
        tls: {{ insecure_skip_verify: true }}
    metrics:
      httpcheck.tls.cert_remaining: {{ enabled: true }}
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [httpcheck], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let path = collector.path("metrics.jsonl");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let scrapes = std::fs::read_to_string(&path)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if scrapes >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dir = collector.shut_down_cleanly().await;
    tls_server.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);
    assert!(requests.len() >= 3, "{} scrapes", requests.len());
    let scope = requests[0].resource_metrics[0].scope_metrics[0]
        .scope
        .as_ref()
        .unwrap();
    assert!(
        scope.name.ends_with("/receiver/httpcheckreceiver"),
        "{}",
        scope.name
    );

    let status_points = points(&requests, "httpcheck.status");
    assert_eq!(status(&status_points, &ok, "2xx"), (1, Some(200)));
    assert_eq!(status(&status_points, &ok, "5xx"), (0, None));
    assert_eq!(status(&status_points, &down, "5xx"), (1, Some(503)));
    assert_eq!(status(&status_points, &down, "2xx"), (0, None));
    // Redirects are the answer, not followed.
    assert_eq!(status(&status_points, &moved, "3xx"), (1, Some(301)));
    // The TLS receiver, verified with the test CA, answers a GET on its OTLP path as otelcol's does.
    assert_eq!(status(&status_points, &https, "4xx"), (1, Some(405)));
    for class in ["1xx", "2xx", "3xx", "4xx", "5xx"] {
        assert_eq!(
            status(&status_points, &refused, class),
            (0, None),
            "{class}"
        );
        assert_eq!(
            status(&status_points, &https_untrusted, class),
            (0, None),
            "{class}"
        );
    }
    assert!(
        status_points
            .iter()
            .all(|p| string(p, "http.method").as_deref() == Some("GET"))
    );

    let errors = points(&requests, "httpcheck.error");
    let error_of = |url: &str| {
        errors
            .iter()
            .filter(|p| string(p, "http.url").as_deref() == Some(url))
            .map(|p| (int(p), string(p, "error.message").unwrap()))
            .next_back()
    };
    let (count, message) = error_of(&refused).expect("an error for the closed port");
    assert_eq!(count, 1);
    assert!(message.to_lowercase().contains("refused"), "{message}");
    let (_, message) =
        error_of(&https_untrusted).expect("an error for the certificate no root signs");
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    for url in [&ok, &down, &moved, &https] {
        assert_eq!(error_of(url), None, "{url}");
    }

    // The server certificate's time left, from each check whose server answered over TLS: verified with the
    // test CA, or taken unverified; none from the check whose verification failed, nor from plain http.
    let pem = std::fs::read(pki.path().join("server.pem")).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let not_after = pem.parse_x509().unwrap().validity().not_after.timestamp();
    let remaining = points(&requests, "httpcheck.tls.cert_remaining");
    for url in [&https, &https_unverified] {
        let of_url: Vec<_> = remaining
            .iter()
            .filter(|p| string(p, "http.url").as_deref() == Some(url.as_str()))
            .collect();
        assert_eq!(of_url.len(), requests.len(), "one per check of {url}");
        for point in of_url {
            let now = i64::try_from(point.time_unix_nano / 1_000_000_000).unwrap();
            assert_eq!(int(point), not_after - now);
            assert_eq!(
                string(point, "http.tls.issuer").as_deref(),
                Some("CN=otlp-testkit CA")
            );
            assert_eq!(
                string(point, "http.tls.cn").as_deref(),
                Some("rcgen self signed cert")
            );
            let san = point
                .attributes
                .iter()
                .find(|kv| kv.key == "http.tls.san")
                .and_then(|kv| kv.value.as_ref()?.value.as_ref());
            let Some(Value::ArrayValue(names)) = san else {
                panic!("http.tls.san is a list: {san:?}")
            };
            let names: Vec<_> = names
                .values
                .iter()
                .map(|v| match &v.value {
                    Some(Value::StringValue(s)) => s.as_str(),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(names, ["127.0.0.1", "localhost"], "IP addresses first");
        }
    }
    assert_eq!(
        remaining.len(),
        2 * requests.len(),
        "none for {https_untrusted} or plain http"
    );

    let durations = points(&requests, "httpcheck.duration");
    for url in [&ok, &down, &moved, &refused, &https, &https_untrusted] {
        let count = durations
            .iter()
            .filter(|p| string(p, "http.url").as_deref() == Some(url.as_str()))
            .count();
        assert_eq!(count, requests.len(), "a duration per check of {url}");
    }

    // The target's headers went with each of its URLs, and not with the others.
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|(path, _)| path == "/ok"));
    assert!(seen.iter().any(|(path, _)| path == "/down"));
    assert!(
        seen.iter()
            .all(|(_, authorization)| authorization.as_deref() == Some("Bearer s3cret"))
    );
}
