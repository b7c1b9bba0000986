//! The tower layer without TLS: span naming, status handling, which format supplied the parent,
//! injection on the client side, and the resource detector.

use std::convert::Infallible;

use http::{HeaderValue, Method, Request, Response, StatusCode};
use opentelemetry::trace::{
    SpanKind, Status, TraceContextExt, TraceId, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::resource::ResourceDetector;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData};
use otlp_mesh::{MeshPropagator, MeshResourceDetector, MeshRoute, MeshTraceLayer};
use tower::{Layer, ServiceExt, service_fn};

fn tracing() -> (SdkTracerProvider, SdkTracer, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("layer-test");
    (provider, tracer, exporter)
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn only_span(exporter: &InMemorySpanExporter) -> SpanData {
    let mut spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    spans.remove(0)
}

async fn serve(tracer: SdkTracer, request: Request<()>, status: StatusCode) -> Response<()> {
    let inner = service_fn(move |_request: Request<()>| async move {
        let mut response = Response::new(());
        *response.status_mut() = status;
        response.headers_mut().insert(
            "l5d-server-id",
            HeaderValue::from_static("web.shop.serviceaccount.identity.linkerd.cluster.local"),
        );
        Ok::<_, Infallible>(response)
    });
    MeshTraceLayer::server(tracer, MeshPropagator::default())
        .layer(inner)
        .oneshot(request)
        .await
        .unwrap()
}

#[tokio::test]
async fn server_span_names_status_and_b3_parent() {
    let (_provider, tracer, exporter) = tracing();
    let mut request = Request::builder()
        .method(Method::GET)
        .uri("/orders/7")
        .header("host", "[::1]:8443")
        .header("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124")
        .header("x-b3-spanid", "a2fb4a1d1a96d312")
        .header("x-b3-sampled", "1")
        .header("x-envoy-attempt-count", "not a number")
        .body(())
        .unwrap();
    request
        .extensions_mut()
        .insert(MeshRoute("/orders/{id}".to_owned()));
    serve(tracer, request, StatusCode::SERVICE_UNAVAILABLE).await;

    let span = only_span(&exporter);
    assert_eq!(span.name, "GET /orders/{id}");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(
        span.span_context.trace_id(),
        TraceId::from_hex("463ac35c9f6413ad48485a3953bb6124").unwrap()
    );
    assert_eq!(span.parent_span_id.to_string(), "a2fb4a1d1a96d312");
    assert_eq!(
        attribute(&span, "mesh.propagation.format"),
        Some(&Value::from("b3"))
    );
    assert_eq!(
        attribute(&span, "http.response.status_code"),
        Some(&Value::I64(503))
    );
    assert_eq!(attribute(&span, "error.type"), Some(&Value::from("503")));
    assert!(matches!(span.status, Status::Error { .. }));
    assert_eq!(
        attribute(&span, "linkerd.server_id"),
        Some(&Value::from(
            "web.shop.serviceaccount.identity.linkerd.cluster.local"
        ))
    );
    // A value that is not a number is left out rather than recorded wrongly.
    assert_eq!(attribute(&span, "envoy.attempt_count"), None);
}

#[tokio::test]
async fn unknown_methods_and_client_errors_on_the_server() {
    let (_provider, tracer, exporter) = tracing();
    let request = Request::builder()
        .method(Method::from_bytes(b"PURGE").unwrap())
        .uri("/cache")
        .body(())
        .unwrap();
    serve(tracer, request, StatusCode::NOT_FOUND).await;
    let span = only_span(&exporter);
    assert_eq!(span.name, "HTTP");
    assert_eq!(
        attribute(&span, "http.request.method"),
        Some(&Value::from("_OTHER"))
    );
    assert_eq!(
        attribute(&span, "http.request.method_original"),
        Some(&Value::from("PURGE"))
    );
    // 4xx is the caller's problem, not the server's.
    assert_eq!(span.status, Status::Unset);
    assert!(!span.parent_span_id.to_string().is_empty());
}

#[tokio::test]
async fn client_injects_the_client_span_and_fails_on_4xx() {
    let (_provider, tracer, exporter) = tracing();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen_by_inner = std::sync::Arc::clone(&seen);
    let inner = service_fn(move |request: Request<()>| {
        *seen_by_inner.lock().unwrap() = Some(request.headers().clone());
        async {
            let mut response = Response::new(());
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            Ok::<_, Infallible>(response)
        }
    });
    let client = MeshTraceLayer::client(tracer, MeshPropagator::default()).layer(inner);
    let request = Request::post("http://inventory.shop.svc:8080/reserve")
        .body(())
        .unwrap();
    client.oneshot(request).await.unwrap();

    let span = only_span(&exporter);
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.name, "POST");
    assert_eq!(
        attribute(&span, "server.address"),
        Some(&Value::from("inventory.shop.svc"))
    );
    assert_eq!(attribute(&span, "server.port"), Some(&Value::I64(8080)));
    assert!(matches!(span.status, Status::Error { .. }));
    let headers = seen.lock().unwrap().clone().unwrap();
    let traceparent = headers["traceparent"].to_str().unwrap();
    assert!(traceparent.contains(&format!(
        "{:032x}-{:016x}",
        span.span_context.trace_id(),
        span.span_context.span_id()
    )));
    assert_eq!(
        headers["x-b3-spanid"].to_str().unwrap(),
        format!("{:016x}", span.span_context.span_id())
    );
}

#[tokio::test]
async fn client_span_is_a_child_of_the_context_in_the_extensions() {
    let (provider, tracer, exporter) = tracing();
    let parent_span = provider
        .tracer("caller")
        .start_with_context("caller", &Context::new());
    let parent = Context::new().with_span(parent_span);
    let parent_ids = parent.span().span_context().clone();
    let inner =
        service_fn(|_request: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    let mut request = Request::get("http://a/").body(()).unwrap();
    request.extensions_mut().insert(parent.clone());
    MeshTraceLayer::client(tracer, MeshPropagator::default())
        .layer(inner)
        .oneshot(request)
        .await
        .unwrap();
    let span = only_span(&exporter);
    assert_eq!(span.span_context.trace_id(), parent_ids.trace_id());
    assert_eq!(span.parent_span_id, parent_ids.span_id());
}

#[tokio::test]
async fn inner_service_errors_end_the_span_as_an_error() {
    let (_provider, tracer, exporter) = tracing();
    let inner = service_fn(|_request: Request<()>| async {
        Err::<Response<()>, std::io::Error>(std::io::Error::other("reset"))
    });
    let result = MeshTraceLayer::server(tracer, MeshPropagator::default())
        .layer(inner)
        .oneshot(Request::get("/").body(()).unwrap())
        .await;
    assert!(result.is_err());
    let span = only_span(&exporter);
    assert_eq!(
        attribute(&span, "error.type"),
        Some(&Value::from("std::io::error::Error"))
    );
    assert!(matches!(span.status, Status::Error { .. }));
}

#[test]
fn resource_detector_reads_mesh_environment_once() {
    let reads = std::cell::Cell::new(0);
    let detector = MeshResourceDetector::from_lookup(|name| {
        reads.set(reads.get() + 1);
        match name {
            "ISTIO_META_MESH_ID" => Some("mesh1".to_owned()),
            "POD_NAMESPACE" => Some("shop".to_owned()),
            "ISTIO_META_CLUSTER_ID" => Some(String::new()),
            _ => None,
        }
    });
    let after_construction = reads.get();
    let resource = detector.detect();
    let _ = detector.detect();
    assert_eq!(
        reads.get(),
        after_construction,
        "detect() must not read the environment again"
    );
    assert_eq!(
        resource.get(&opentelemetry::Key::new("mesh.id")),
        Some(Value::from("mesh1"))
    );
    assert_eq!(
        resource.get(&opentelemetry::Key::new("k8s.namespace.name")),
        Some(Value::from("shop"))
    );
    assert_eq!(
        resource.get(&opentelemetry::Key::new("mesh.name")),
        Some(Value::from("istio"))
    );
    assert_eq!(
        resource.get(&opentelemetry::Key::new("mesh.cluster_id")),
        None,
        "empty values are skipped"
    );
    assert!(
        detector
            .attributes()
            .contains(&KeyValue::new("mesh.id", "mesh1"))
    );
}

#[tokio::test]
async fn grpc_calls_are_named_by_service_and_method() {
    let (_provider, tracer, exporter) = tracing();
    let inner = service_fn(|_request: Request<()>| async {
        let mut response = Response::new(());
        // A trailers-only error response carries grpc-status as a header.
        response
            .headers_mut()
            .insert("grpc-status", HeaderValue::from_static("14"));
        Ok::<_, Infallible>(response)
    });
    let request = Request::post("/shop.cart.v1.CartService/AddItem")
        .header("content-type", "application/grpc+proto")
        .body(())
        .unwrap();
    MeshTraceLayer::server(tracer, MeshPropagator::default())
        .layer(inner)
        .oneshot(request)
        .await
        .unwrap();
    let span = only_span(&exporter);
    assert_eq!(span.name, "shop.cart.v1.CartService/AddItem");
    assert_eq!(attribute(&span, "rpc.system"), Some(&Value::from("grpc")));
    assert_eq!(
        attribute(&span, "rpc.service"),
        Some(&Value::from("shop.cart.v1.CartService"))
    );
    assert_eq!(
        attribute(&span, "rpc.method"),
        Some(&Value::from("AddItem"))
    );
    assert_eq!(
        attribute(&span, "rpc.grpc.status_code"),
        Some(&Value::I64(14))
    );
    assert!(
        matches!(span.status, Status::Error { .. }),
        "UNAVAILABLE is a server error"
    );
}
