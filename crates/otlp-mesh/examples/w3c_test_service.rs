//! The service that the W3C Trace Context test suite
//! (<https://github.com/w3c/trace-context/tree/main/test>) drives.
//!
//! ```text
//! cargo run -p otlp-mesh --example w3c_test_service -- 5000
//! # from a checkout of w3c/trace-context, in test/ (the harness listens on 127.0.0.1:7777):
//! STRICT_LEVEL=2 SPEC_LEVEL=2 python test.py http://127.0.0.1:5000/test
//! ```
//!
//! Contract: `POST /test` with a JSON array of `{"url": ..., "arguments": ...}`. For each element the
//! service POSTs `arguments` as JSON to `url`, carrying the propagated `traceparent`/`tracestate`,
//! and only then responds. The server side is [`otlp_mesh::MeshTraceLayer::server`] (extract + server
//! span), each callback goes through [`otlp_mesh::MeshTraceLayer::client`] (client span + inject), so
//! every callback gets its own parent ID, as the suite's `AdvancedTest` requires.
//!
//! `STRICT_LEVEL` is read as the harness reads it (default 2). At 2 the suite asserts that an
//! invalid `tracestate` list is discarded whole, so the service uses
//! [`otlp_mesh::TraceStatePolicy::WholeList`]; below 2 those tests are skipped and the service uses
//! the propagator's default, [`otlp_mesh::TraceStatePolicy::PerMember`]. The specification allows
//! both (see `otlp_mesh`'s W3C module docs).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use opentelemetry::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use otlp_mesh::{MeshTraceLayer, MeshTraceService, TraceStatePolicy, W3cTraceContextPropagator};
use serde::Deserialize;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt, service_fn};

/// One element of the suite's request body.
#[derive(Debug, Deserialize)]
struct TestCase {
    url: String,
    #[serde(default)]
    arguments: serde_json::Value,
}

type CallbackClient = MeshTraceService<Client<HttpConnector, Full<Bytes>>, SdkTracer>;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

async fn handle(request: Request<Incoming>, client: CallbackClient) -> Response<Full<Bytes>> {
    if request.method() != Method::POST || request.uri().path() != "/test" {
        return text(StatusCode::NOT_FOUND, "only POST /test is served");
    }
    let cx = request
        .extensions()
        .get::<Context>()
        .cloned()
        .unwrap_or_default();
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("could not read the body: {error}"),
            );
        }
    };
    let cases: Vec<TestCase> = match serde_json::from_slice(&body) {
        Ok(cases) => cases,
        Err(error) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("expected a JSON array of {{\"url\", \"arguments\"}}: {error}"),
            );
        }
    };
    for case in cases {
        let arguments = serde_json::to_vec(&case.arguments).unwrap_or_else(|_| b"[]".to_vec());
        let callback = Request::post(case.url.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(arguments)));
        let mut callback = match callback {
            Ok(callback) => callback,
            Err(error) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("bad url {}: {error}", case.url),
                );
            }
        };
        callback.extensions_mut().insert(cx.clone());
        match client.clone().oneshot(callback).await {
            Ok(response) => {
                // Drain so the connection can be reused; the body itself does not matter.
                let _ = response.into_body().collect().await;
            }
            Err(error) => {
                return text(
                    StatusCode::BAD_GATEWAY,
                    format!("callback to {} failed: {error}", case.url),
                );
            }
        }
    }
    text(StatusCode::OK, "ok")
}

/// The `tracestate` policy the suite expects at a `STRICT_LEVEL`.
pub fn policy_for_strict_level(strict_level: u32) -> TraceStatePolicy {
    if strict_level >= 2 {
        TraceStatePolicy::WholeList
    } else {
        TraceStatePolicy::PerMember
    }
}

/// Serves the test contract on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, policy: TraceStatePolicy) -> std::io::Result<()> {
    // No exporter: the suite only looks at the propagated headers.
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer("w3c_test_service");
    let connector_client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let propagator = W3cTraceContextPropagator::with_tracestate_policy(policy);
    let client = MeshTraceLayer::client(tracer.clone(), propagator).layer(connector_client);
    let server_layer = MeshTraceLayer::server(tracer, propagator);
    loop {
        let (stream, _) = listener.accept().await?;
        let client = client.clone();
        let service = server_layer.layer(service_fn(move |request: Request<Incoming>| {
            let client = client.clone();
            async move { Ok::<_, Infallible>(handle(request, client).await) }
        }));
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1).map(|arg| arg.parse()) {
        None => 5000,
        Some(Ok(port)) => port,
        Some(Err(error)) => {
            eprintln!("usage: w3c_test_service [PORT]  ({error})");
            std::process::exit(2);
        }
    };
    let strict_level = match std::env::var("STRICT_LEVEL") {
        Err(_) => 2,
        Ok(level) => match level.parse::<u32>() {
            Ok(level) => level,
            Err(error) => {
                eprintln!("STRICT_LEVEL must be a number like the harness's ({error})");
                std::process::exit(2);
            }
        },
    };
    let policy = policy_for_strict_level(strict_level);
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!(
        "W3C trace-context test service on http://{}/test (STRICT_LEVEL {strict_level}: tracestate policy {policy:?})",
        listener.local_addr()?
    );
    serve(listener, policy).await
}
