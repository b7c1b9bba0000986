//! W3C Trace Context Level 2 end to end through the tower layer: a caller sends raw HTTP/1.1 to
//! service A (`MeshTraceLayer::server`), whose handler calls service B over real sockets through
//! `MeshTraceLayer::client` (the client span in between), and B (`MeshTraceLayer::server`)
//! answers with the headers it received and the ones it would send on. Spans are exported to
//! in-memory exporters. Section names are those of <https://www.w3.org/TR/trace-context-2/>.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanKind, TraceFlags, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, ShouldSample, SpanData};
use otlp_mesh::{MeshTraceLayer, RANDOM_TRACE_ID, TraceStatePolicy, W3cTraceContextPropagator};
use otlp_sampling::head::ConsistentProbabilitySampler;
use otlp_sampling::randomness::presumed_trace_id_randomness;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, ServiceExt, service_fn};

struct Tracing {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
}

impl Tracing {
    fn new(sampler: Option<Box<dyn ShouldSample>>) -> Self {
        let exporter = InMemorySpanExporter::default();
        let mut builder = SdkTracerProvider::builder().with_simple_exporter(exporter.clone());
        if let Some(sampler) = sampler {
            builder = builder.with_sampler(sampler);
        }
        Tracing {
            provider: builder.build(),
            exporter,
        }
    }

    fn spans(&self) -> Vec<SpanData> {
        self.provider.force_flush().unwrap();
        self.exporter.get_finished_spans().unwrap()
    }

    fn span(&self, kind: SpanKind) -> SpanData {
        let mut spans: Vec<SpanData> = self
            .spans()
            .into_iter()
            .filter(|span| span.span_kind == kind)
            .collect();
        assert_eq!(spans.len(), 1, "{spans:?}");
        spans.remove(0)
    }
}

fn header(request: &Request<Incoming>, name: &str) -> Value {
    let values: Vec<&str> = request
        .headers()
        .get_all(name)
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    match values.as_slice() {
        [] => Value::Null,
        [one] => Value::from(*one),
        several => Value::from(several.join(",")),
    }
}

/// Service B: reports what reached it and what its server span's context would send on.
async fn start_b(tracing: &Tracing, propagator: W3cTraceContextPropagator) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let layer = MeshTraceLayer::server(tracing.provider.tracer("service-b"), propagator);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = layer.layer(service_fn(move |request: Request<Incoming>| {
                let cx = request.extensions().get::<Context>().cloned().unwrap();
                let mut outgoing = HashMap::new();
                propagator.inject_context(&cx, &mut outgoing);
                let body = serde_json::json!({
                    "received": {
                        "traceparent": header(&request, "traceparent"),
                        "tracestate": header(&request, "tracestate"),
                    },
                    "outgoing": outgoing,
                });
                async move {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body.to_string()))))
                }
            }));
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                    .await;
            });
        }
    });
    address
}

/// Service A: calls B through the client layer and answers with B's report.
async fn start_a(
    tracing: &Tracing,
    propagator: W3cTraceContextPropagator,
    random_trace_ids: bool,
    b: SocketAddr,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let tracer = tracing.provider.tracer("service-a");
    let client = MeshTraceLayer::client(tracer.clone(), propagator)
        .layer(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());
    let server = MeshTraceLayer::server(tracer, propagator).with_random_trace_ids(random_trace_ids);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let client = client.clone();
            let service = server.layer(service_fn(move |request: Request<Incoming>| {
                let client = client.clone();
                async move {
                    let cx = request.extensions().get::<Context>().cloned().unwrap();
                    let mut call = Request::get(format!("http://{b}/"))
                        .body(Full::new(Bytes::new()))
                        .unwrap();
                    call.extensions_mut().insert(cx);
                    let response = client.oneshot(call).await.unwrap();
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    Ok::<_, Infallible>(Response::new(Full::new(body)))
                }
            }));
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                    .await;
            });
        }
    });
    address
}

/// Sends raw HTTP/1.1 (repeated headers arrive as written) and returns B's report.
async fn call(a: SocketAddr, headers: &[(&str, &str)]) -> Value {
    let mut raw = format!("GET / HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    let mut stream = TcpStream::connect(a).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

struct Pair {
    a: Tracing,
    b: Tracing,
    address: SocketAddr,
}

async fn pair(
    policy: TraceStatePolicy,
    random_trace_ids: bool,
    b_sampler: Option<Box<dyn ShouldSample>>,
) -> Pair {
    let propagator = W3cTraceContextPropagator::with_tracestate_policy(policy);
    let (a, b) = (Tracing::new(None), Tracing::new(b_sampler));
    let b_address = start_b(&b, propagator).await;
    let address = start_a(&a, propagator, random_trace_ids, b_address).await;
    Pair { a, b, address }
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn traceparent(flags: &str) -> String {
    format!("00-{TRACE_ID}-00f067aa0ba902b7-{flags}")
}

fn fields(value: &Value) -> (String, String, u8) {
    let parts: Vec<&str> = value.as_str().unwrap().split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    (
        parts[1].to_owned(),
        parts[2].to_owned(),
        u8::from_str_radix(parts[3], 16).unwrap(),
    )
}

/// "Random Trace ID Flag": A continues the caller's trace, so its client span MUST send the flag
/// it received, sampled or not, and B keeps it again. Sampled spans export it too.
#[tokio::test]
async fn random_flag_crosses_both_services() {
    for (flags, sampled) in [("02", false), ("03", true), ("00", false), ("01", true)] {
        let services = pair(TraceStatePolicy::PerMember, true, None).await;
        let report = call(services.address, &[("traceparent", &traceparent(flags))]).await;
        let (trace_id, parent_id, received) = fields(&report["received"]["traceparent"]);
        assert_eq!(trace_id, TRACE_ID);
        assert_eq!(format!("{received:02x}"), flags, "A sent what it received");
        let (_, _, outgoing) = fields(&report["outgoing"]["traceparent"]);
        assert_eq!(outgoing, received, "B would send it on");
        if sampled {
            let client = services.a.span(SpanKind::Client);
            assert_eq!(parent_id, client.span_context.span_id().to_string());
            let server = services.b.span(SpanKind::Server);
            assert_eq!(server.parent_span_id, client.span_context.span_id());
            for span in [services.a.span(SpanKind::Server), client, server] {
                assert_eq!(
                    span.span_context.trace_flags().to_u8(),
                    received,
                    "{}",
                    span.name
                );
            }
        } else {
            assert!(services.a.spans().is_empty() && services.b.spans().is_empty());
        }
    }
}

/// New traces: the SDK's default ID generator is random, so A's root marks the trace random
/// (OpenTelemetry trace SDK, "Random trace flag"); with `with_random_trace_ids(false)` it does not.
#[tokio::test]
async fn new_traces_are_marked_random_unless_told_otherwise() {
    for (random, invalid_parent) in [(true, false), (true, true), (false, false)] {
        let services = pair(TraceStatePolicy::PerMember, random, None).await;
        let headers: &[(&str, &str)] = if invalid_parent {
            &[(
                "traceparent",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-03",
            )]
        } else {
            &[]
        };
        let report = call(services.address, headers).await;
        let (trace_id, _, flags) = fields(&report["received"]["traceparent"]);
        let root = services.a.span(SpanKind::Server);
        assert_eq!(trace_id, root.span_context.trace_id().to_string());
        let expected = if random {
            TraceFlags::SAMPLED | RANDOM_TRACE_ID
        } else {
            TraceFlags::SAMPLED
        };
        assert_eq!(flags, expected.to_u8(), "random ids: {random}");
    }
}

/// `tracestate` through both services: fields combined, invalid members dropped (§4.3, default
/// policy) or the list discarded (whole-list policy), the left-most member of a repeated key kept
/// ("Combined Header Value"), Level 2 keys passed on in place, more than 32 truncated.
#[tokio::test]
async fn tracestate_rules_cross_both_services() {
    let long_vendor = format!("t@{}", "v".repeat(15));
    let received = [
        "rojo=1,@bad=2,congo=3".to_owned(),
        "rojo=9,foo@@bar=4".to_owned(),
        format!("{long_vendor}=5"),
    ];
    let tp = traceparent("01");
    let mut headers = vec![("traceparent", tp.as_str())];
    headers.extend(received.iter().map(|field| ("tracestate", field.as_str())));

    let services = pair(TraceStatePolicy::PerMember, true, None).await;
    let report = call(services.address, &headers).await;
    let expected = format!("rojo=1,congo=3,foo@@bar=4,{long_vendor}=5");
    assert_eq!(report["received"]["tracestate"], expected.as_str());
    assert_eq!(report["outgoing"]["tracestate"], expected.as_str());

    let services = pair(TraceStatePolicy::WholeList, true, None).await;
    let report = call(services.address, &headers).await;
    assert_eq!(report["received"]["tracestate"], Value::Null);
    let report = call(
        services.address,
        &[("traceparent", &tp), ("tracestate", "a=1,a=2,b@c@d=3")],
    )
    .await;
    assert_eq!(report["received"]["tracestate"], "a=1,b@c@d=3");

    let services = pair(TraceStatePolicy::PerMember, true, None).await;
    let over: String = (1..=34)
        .map(|n| format!("k{n:02}={n:02}"))
        .collect::<Vec<_>>()
        .join(",");
    let report = call(
        services.address,
        &[("traceparent", &tp), ("tracestate", &over)],
    )
    .await;
    let members: Vec<&str> = report["received"]["tracestate"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(members.len(), 32);
    assert_eq!(members.last(), Some(&"k32=32"));
}

/// OpenTelemetry consistent sampling behind the layer: B samples every span itself at 25% (no
/// parent-based wrapper). With the random flag B decides by the trace ID without presuming; from a
/// Level 1 caller (flag unset) the same trace ID decides and the decision is counted; a kept span's
/// `ot=th:c` goes left of the members B received, including those the SDK cannot hold.
#[tokio::test]
async fn consistent_sampling_uses_the_flag_end_to_end() {
    // Right-most 56 bits 0xce929d0e0e4736 >= 0xc0000000000000 (25%): kept.
    let kept = "4bf92f3577b34da6a3ce929d0e0e4736";
    // Right-most 56 bits 0x00000000000001 < threshold: dropped.
    let dropped = "4bf92f3577b34da6a300000000000001";
    let sampler = || -> Option<Box<dyn ShouldSample>> {
        Some(Box::new(ConsistentProbabilitySampler::new(0.25).unwrap()))
    };
    let before = presumed_trace_id_randomness();

    let services = pair(TraceStatePolicy::PerMember, true, sampler()).await;
    let incoming = format!("00-{kept}-00f067aa0ba902b7-03");
    let report = call(
        services.address,
        &[
            ("traceparent", &incoming),
            ("tracestate", "rojo=1,foo@@bar=2"),
        ],
    )
    .await;
    assert_eq!(
        report["outgoing"]["tracestate"], "ot=th:c,rojo=1,foo@@bar=2",
        "th goes left; the member the SDK cannot hold keeps its place"
    );
    let (_, _, flags) = fields(&report["outgoing"]["traceparent"]);
    assert_eq!(flags, 0x03);
    assert_eq!(services.b.spans().len(), 1);
    assert_eq!(
        presumed_trace_id_randomness(),
        before,
        "flagged: no presumption"
    );

    let services = pair(TraceStatePolicy::PerMember, true, sampler()).await;
    let incoming = format!("00-{dropped}-00f067aa0ba902b7-03");
    let report = call(services.address, &[("traceparent", &incoming)]).await;
    let (_, _, flags) = fields(&report["outgoing"]["traceparent"]);
    assert_eq!(flags, 0x02, "dropped by B, still random");
    assert!(services.b.spans().is_empty());
    assert_eq!(presumed_trace_id_randomness(), before);

    let services = pair(TraceStatePolicy::PerMember, true, sampler()).await;
    let incoming = format!("00-{kept}-00f067aa0ba902b7-01");
    let report = call(services.address, &[("traceparent", &incoming)]).await;
    assert_eq!(report["outgoing"]["tracestate"], "ot=th:c");
    assert_eq!(services.b.spans().len(), 1);
    assert_eq!(
        presumed_trace_id_randomness(),
        before + 1,
        "a Level 1 parent: the trace ID is presumed random, and counted"
    );
}
