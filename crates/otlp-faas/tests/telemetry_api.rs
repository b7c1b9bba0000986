//! The Telemetry API listener over real HTTP: Lambda's event batches in, `platform.runtimeDone` out.

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use otlp_faas::telemetry_api::TelemetryListener;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

async fn post(address: SocketAddr, body: &str) -> u16 {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(format!("http://{address}/"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    client.request(request).await.unwrap().status().as_u16()
}

async fn listener() -> (TelemetryListener, SocketAddr) {
    let listener = TelemetryListener::bind_to(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let address = listener.address();
    (listener, address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_done_wakes_a_waiter_and_forgets_stale_ids() {
    let (listener, address) = listener().await;
    let listener = Arc::new(listener);
    let stale = r#"[{"type": "platform.runtimeDone", "record": {"requestId": "stale"}}]"#;
    assert_eq!(post(address, stale).await, 200);
    let waiter = tokio::spawn({
        let listener = listener.clone();
        async move {
            let far = Instant::now() + Duration::from_secs(60);
            listener.wait_for_runtime_done("current", far).await
        }
    });
    // Give the waiter a chance to park first, though recording before it parks must work too.
    tokio::task::yield_now().await;
    let current = r#"[{"type": "platform.runtimeDone", "record": {"requestId": "current"}}]"#;
    assert_eq!(post(address, current).await, 200);
    assert!(waiter.await.unwrap());
    // Both IDs were consumed: a later wait for the stale one times out.
    assert!(
        !listener
            .wait_for_runtime_done("stale", Instant::now())
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_records_only_runtime_done() {
    let (listener, address) = listener().await;
    let body = serde_json::json!([
        {"time": "2026-11-21T09:00:00Z", "type": "platform.start", "record": {"requestId": "a"}},
        {"time": "2026-11-21T09:00:01Z", "type": "platform.runtimeDone", "record": {"requestId": "b", "status": "success"}},
    ]);
    assert_eq!(post(address, &body.to_string()).await, 200);
    assert!(!listener.wait_for_runtime_done("a", Instant::now()).await);
    assert_eq!(post(address, &body.to_string()).await, 200);
    assert!(listener.wait_for_runtime_done("b", Instant::now()).await);
    assert_eq!(post(address, "{not json").await, 400);
}
