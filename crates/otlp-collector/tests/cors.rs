//! `protocols.http.cors`: a browser's preflight from an allowed origin is answered as otelcol answers it (the origin
//! echoed, credentials allowed, the configured headers and max age), one from any other origin gets no grant, the
//! export that follows carries the grant and is written, and a receiver without `cors` grants nothing.

mod common;

use common::{TestCollector, otlp_to_jsonl};
use otlp_testkit::Generator;
use prost::Message;
use reqwest::header::HeaderMap;
use std::time::Duration;

fn config(cors: &str) -> String {
    otlp_to_jsonl(&format!(
        "      http:\n        endpoint: \"127.0.0.1:0\"\n        {cors}"
    ))
}

/// What a browser sends before a cross-origin POST with a protobuf body and an `X-Tenant` header.
async fn preflight(endpoint: &str, origin: &str) -> (u16, HeaderMap) {
    let response = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{endpoint}/v1/traces"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-tenant")
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

/// The export itself, from a page of `origin`.
async fn export(endpoint: &str, origin: &str, spans: usize) -> (u16, HeaderMap) {
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/v1/traces"))
        .header("origin", origin)
        .header("content-type", "application/x-protobuf")
        .header("x-tenant", "shop")
        .body(Generator::new(spans as u64).traces(spans).encode_to_vec())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_origins_get_otelcols_grant_and_others_none() {
    let collector = TestCollector::start(&config(
        r#"cors: { allowed_origins: ["https://shop.example.com", "https://*.example.org"], allowed_headers: [X-Tenant], max_age: 600 }"#,
    ))
    .await;
    let endpoint = collector.http_endpoint();

    for origin in ["https://shop.example.com", "https://app.eu.example.org"] {
        let (status, headers) = preflight(&endpoint, origin).await;
        assert!((200..300).contains(&status), "{origin}: {status}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some(origin)
        );
        assert_eq!(
            header(&headers, "access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(
            header(&headers, "access-control-allow-methods"),
            Some("POST")
        );
        let allowed = header(&headers, "access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        for wanted in ["content-type", "x-tenant"] {
            assert!(allowed.contains(wanted), "{wanted} in {allowed}");
        }
        assert_eq!(header(&headers, "access-control-max-age"), Some("600"));
    }

    for stranger in [
        "https://evil.example",
        "https://example.org",
        "http://shop.example.com",
    ] {
        let (_, headers) = preflight(&endpoint, stranger).await;
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            None,
            "{stranger}"
        );
    }

    let (status, headers) = export(&endpoint, "https://SHOP.example.com", 4).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("https://SHOP.example.com")
    );
    // CORS is the browser's to enforce: a request from elsewhere (a script, curl) is still taken, only without
    // a grant a browser would honour.
    let (status, headers) = export(&endpoint, "https://evil.example", 3).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);

    assert_eq!(collector.drain_and_count_spans("out.jsonl").await, 4 + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wildcard_origin_and_header_allow_any_page_and_its_headers() {
    let collector = TestCollector::start(&config(
        r#"cors: { allowed_origins: ["*"], allowed_headers: ["*"] }"#,
    ))
    .await;
    let (_, headers) = preflight(&collector.http_endpoint(), "http://localhost:3000").await;
    // Echoed, not `*`: browsers refuse a wildcard beside credentials.
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(
        header(&headers, "access-control-allow-headers"),
        Some("content-type,x-tenant")
    );
    assert_eq!(header(&headers, "access-control-max-age"), None);
    collector.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cors_nothing_is_granted() {
    for cors in ["", "cors: { allowed_headers: [X-Tenant] }"] {
        let collector = TestCollector::start(&config(cors)).await;
        let endpoint = collector.http_endpoint();
        let (status, headers) = preflight(&endpoint, "https://shop.example.com").await;
        assert_eq!(status, 405, "{cors}");
        assert_eq!(header(&headers, "access-control-allow-origin"), None);
        let (status, headers) = export(&endpoint, "https://shop.example.com", 2).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "access-control-allow-origin"), None);
        assert!(
            collector
                .collector
                .shutdown(Duration::from_secs(10))
                .await
                .is_clean()
        );
    }
}
