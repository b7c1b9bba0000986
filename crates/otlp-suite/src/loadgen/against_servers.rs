//! `otlp-suite loadgen` against real OTLP servers started in the test: a tonic gRPC
//! `TraceService` and an axum OTLP/HTTP endpoint, both counting the spans they receive.

use super::{Compression, LoadgenArgs, LoadgenReport, Protocol, run};
use crate::error::Error;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tonic::codec::CompressionEncoding;
use tonic_types::{ErrorDetails, StatusExt};

/// What a test server counted and how it misbehaves on purpose.
#[derive(Debug, Default)]
struct Counter {
    requests: AtomicU64,
    spans: AtomicU64,
    /// The first this-many requests are refused as "busy".
    refuse_first: u64,
    /// The first this-many requests are answered with a non-retryable error.
    fail_first: u64,
    /// Reported as rejected in a partial success on every accepted request.
    reject_per_request: i64,
}

impl Counter {
    /// Counts a request and decides how to answer it.
    fn accept(&self, request: &ExportTraceServiceRequest) -> Answer {
        let number = self.requests.fetch_add(1, Ordering::SeqCst);
        if number < self.refuse_first {
            return Answer::Refuse;
        }
        if number < self.fail_first {
            return Answer::Fail;
        }
        self.spans
            .fetch_add(otlp_testkit::span_count(request) as u64, Ordering::SeqCst);
        Answer::Accept
    }

    fn response(&self) -> ExportTraceServiceResponse {
        ExportTraceServiceResponse {
            partial_success: (self.reject_per_request > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: self.reject_per_request,
                error_message: "span too old".to_owned(),
            }),
        }
    }

    fn spans(&self) -> u64 {
        self.spans.load(Ordering::SeqCst)
    }
}

enum Answer {
    Accept,
    Refuse,
    Fail,
}

#[derive(Clone)]
struct GrpcServer(Arc<Counter>);

#[tonic::async_trait]
impl TraceService for GrpcServer {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match self.0.accept(request.get_ref()) {
            Answer::Accept => Ok(tonic::Response::new(self.0.response())),
            Answer::Refuse => Err(tonic::Status::with_error_details(
                tonic::Code::ResourceExhausted,
                "memory limit reached",
                ErrorDetails::with_retry_info(Some(Duration::from_millis(20))),
            )),
            Answer::Fail => Err(tonic::Status::invalid_argument("span without trace id")),
        }
    }
}

async fn start_grpc(counter: Arc<Counter>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("local address");
    let service = TraceServiceServer::new(GrpcServer(counter))
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    address
}

async fn http_export(
    State(counter): State<Arc<Counter>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
    {
        None => body.to_vec(),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body.as_ref())
                .read_to_end(&mut out)
                .expect("valid gzip");
            out
        }
        Some("zstd") => zstd::decode_all(body.as_ref()).expect("valid zstd"),
        Some(other) => {
            return (StatusCode::UNSUPPORTED_MEDIA_TYPE, other.to_owned()).into_response();
        }
    };
    assert_eq!(
        headers.get(header::CONTENT_TYPE).expect("content type"),
        "application/x-protobuf"
    );
    let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("valid protobuf");
    match counter.accept(&request) {
        Answer::Accept => (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            counter.response().encode_to_vec(),
        )
            .into_response(),
        Answer::Refuse => {
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "0")]).into_response()
        }
        Answer::Fail => (StatusCode::BAD_REQUEST, "span without trace id").into_response(),
    }
}

async fn start_http(counter: Arc<Counter>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("local address");
    let router = axum::Router::new()
        .route("/v1/traces", axum::routing::post(http_export))
        .with_state(counter);
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

fn args(protocol: Protocol, address: SocketAddr) -> LoadgenArgs {
    LoadgenArgs {
        endpoint: Some(format!("http://{address}")),
        protocol,
        rate: None,
        max: false,
        duration: Duration::from_millis(800),
        spans_per_request: 50,
        connections: 2,
        seed: 1,
        compression: Compression::None,
        no_progress: true,
        json: false,
        headers: Vec::new(),
    }
}

fn requests(report: &LoadgenReport) -> u64 {
    report.requests_ok + report.requests_refused + report.requests_failed
}

/// At a fixed rate the shared schedule has exactly duration × rate / spans-per-request slots,
/// and every slot is sent once.
async fn check_rate(protocol: Protocol, compression: Compression) {
    let counter = Arc::new(Counter::default());
    let address = match protocol {
        Protocol::Grpc => start_grpc(Arc::clone(&counter)).await,
        Protocol::Http => start_http(Arc::clone(&counter)).await,
    };
    let report = run(LoadgenArgs {
        rate: Some(2_500),
        compression,
        ..args(protocol, address)
    })
    .await
    .expect("run");
    // 0.8 s × 2500 spans/s = 2000 spans = 40 requests of 50.
    assert_eq!(requests(&report), 40, "{report}");
    assert_eq!(report.requests_ok, 40, "{report}");
    assert_eq!(report.spans_sent, 2_000);
    assert_eq!(counter.spans(), report.spans_sent);
    assert!(report.latency_p50 <= report.latency_p99 && report.latency_p99 <= report.latency_max);
}

async fn check_max(protocol: Protocol, compression: Compression) {
    let counter = Arc::new(Counter::default());
    let address = match protocol {
        Protocol::Grpc => start_grpc(Arc::clone(&counter)).await,
        Protocol::Http => start_http(Arc::clone(&counter)).await,
    };
    let report = run(LoadgenArgs {
        max: true,
        compression,
        connections: 3,
        ..args(protocol, address)
    })
    .await
    .expect("run");
    assert!(report.spans_sent > 0);
    assert_eq!(report.requests_failed, 0, "{report}");
    assert_eq!(report.spans_sent, report.requests_ok * 50);
    assert_eq!(counter.spans(), report.spans_sent);
    assert_eq!(counter.requests.load(Ordering::SeqCst), report.requests_ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_at_a_fixed_rate_delivers_every_scheduled_span() {
    check_rate(Protocol::Grpc, Compression::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_at_a_fixed_rate_with_zstd() {
    check_rate(Protocol::Grpc, Compression::Zstd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_as_fast_as_possible_with_gzip() {
    check_max(Protocol::Grpc, Compression::Gzip).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_at_a_fixed_rate_with_gzip() {
    check_rate(Protocol::Http, Compression::Gzip).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_as_fast_as_possible() {
    check_max(Protocol::Http, Compression::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_as_fast_as_possible_with_zstd() {
    check_max(Protocol::Http, Compression::Zstd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_and_not_resent() {
    for protocol in [Protocol::Grpc, Protocol::Http] {
        let counter = Arc::new(Counter {
            refuse_first: 3,
            ..Counter::default()
        });
        let address = match protocol {
            Protocol::Grpc => start_grpc(Arc::clone(&counter)).await,
            Protocol::Http => start_http(Arc::clone(&counter)).await,
        };
        let report = run(LoadgenArgs {
            rate: Some(2_500),
            ..args(protocol, address)
        })
        .await
        .expect("run");
        assert_eq!(report.requests_refused, 3, "{protocol:?}: {report}");
        assert_eq!(report.requests_failed, 0, "{protocol:?}: {report}");
        assert_eq!(
            requests(&report),
            40,
            "{protocol:?}: every slot is sent once: {report}"
        );
        assert_eq!(report.spans_sent, 37 * 50);
        assert_eq!(counter.spans(), report.spans_sent);
        assert_eq!(counter.requests.load(Ordering::SeqCst), 40);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_retryable_errors_count_as_failures() {
    for protocol in [Protocol::Grpc, Protocol::Http] {
        let counter = Arc::new(Counter {
            fail_first: 2,
            ..Counter::default()
        });
        let address = match protocol {
            Protocol::Grpc => start_grpc(Arc::clone(&counter)).await,
            Protocol::Http => start_http(Arc::clone(&counter)).await,
        };
        let report = run(LoadgenArgs {
            rate: Some(2_500),
            ..args(protocol, address)
        })
        .await
        .expect("run");
        assert_eq!(report.requests_failed, 2, "{protocol:?}: {report}");
        assert_eq!(report.requests_refused, 0, "{protocol:?}: {report}");
        assert_eq!(requests(&report), 40, "{protocol:?}: {report}");
        assert_eq!(report.spans_sent, 38 * 50);
        assert_eq!(counter.spans(), report.spans_sent);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partially_rejected_spans_are_not_counted_as_sent() {
    for protocol in [Protocol::Grpc, Protocol::Http] {
        let counter = Arc::new(Counter {
            reject_per_request: 5,
            ..Counter::default()
        });
        let address = match protocol {
            Protocol::Grpc => start_grpc(Arc::clone(&counter)).await,
            Protocol::Http => start_http(Arc::clone(&counter)).await,
        };
        let report = run(LoadgenArgs {
            rate: Some(2_500),
            ..args(protocol, address)
        })
        .await
        .expect("run");
        assert_eq!(report.requests_ok, 40, "{protocol:?}: {report}");
        assert_eq!(report.spans_rejected, 40 * 5);
        assert_eq!(report.spans_sent, counter.spans() - report.spans_rejected);
        assert!(
            report.to_string().contains("spans rejected=200"),
            "{report}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoint_is_a_clear_error() {
    // A port that was just free: nothing listens there any more.
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local address")
    };
    for protocol in [Protocol::Grpc, Protocol::Http] {
        let error = run(args(protocol, address))
            .await
            .expect_err("nothing listens");
        assert!(matches!(error, Error::Connect { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("cannot connect to http://{address}: ")),
            "{message}"
        );
        assert!(
            message.to_lowercase().contains("refused"),
            "the cause is named: {message}"
        );
    }
}
