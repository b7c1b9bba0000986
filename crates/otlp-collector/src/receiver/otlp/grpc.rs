//! OTLP/gRPC: the three collector services on one tonic server.

use super::{GrpcServerConfig, reject_invalid_log_records, reject_invalid_spans};
use crate::pipeline::{Refusal, RefusalKind};
use crate::receiver::{Ingest, shutdown_signal};
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::sync::Arc;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

struct GrpcReceiver {
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
}

/// The answer the OTLP specification asks for: retryable refusals carry `RetryInfo`.
pub(crate) fn refusal_status(refusal: &Refusal) -> Status {
    let code = match refusal.kind {
        RefusalKind::Backpressure => tonic::Code::ResourceExhausted,
        RefusalKind::Unavailable => tonic::Code::Unavailable,
        RefusalKind::Permanent => return Status::internal(refusal.message.clone()),
    };
    Status::with_error_details(
        code,
        refusal.message.clone(),
        ErrorDetails::with_retry_info(Some(refusal.retry_after)),
    )
}

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut request = request.into_inner();
        let rejected = reject_invalid_spans(&mut request);
        if let Some((n, _)) = &rejected {
            self.counters.refused(crate::Signal::Traces, *n);
        }
        self.ingest
            .submit(Batch::from_traces(request), &self.counters)
            .await
            .map_err(|r| refusal_status(&r))?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: rejected.map(|(n, message)| ExportTracePartialSuccess {
                rejected_spans: n as i64,
                error_message: message,
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.ingest
            .submit(Batch::from_metrics(request.into_inner()), &self.counters)
            .await
            .map_err(|r| refusal_status(&r))?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let mut request = request.into_inner();
        let rejected = reject_invalid_log_records(&mut request);
        if let Some((n, _)) = &rejected {
            self.counters.refused(crate::Signal::Logs, *n);
        }
        self.ingest
            .submit(Batch::from_logs(request), &self.counters)
            .await
            .map_err(|r| refusal_status(&r))?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: rejected.map(|(n, message)| ExportLogsPartialSuccess {
                rejected_log_records: n as i64,
                error_message: message,
            }),
        }))
    }
}

/// tonic answers an oversized message with OUT_OF_RANGE, which the OTLP specification makes retryable: a client
/// would resend the same oversized request forever. gRPC's own convention (and otelcol's answer) is
/// RESOURCE_EXHAUSTED without RetryInfo, which clients do not retry. tonic sends that status in the headers or in
/// the trailers, so both are rewritten.
fn oversized_is_resource_exhausted(headers: &mut http::HeaderMap) {
    let out_of_range = headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"11");
    let too_large = headers.get("grpc-message").is_some_and(|v| {
        v.to_str().is_ok_and(|m| {
            m.contains("message%20length%20too%20large") || m.contains("message length too large")
        })
    });
    if out_of_range && too_large {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
}

/// A response body whose trailers pass through [`oversized_is_resource_exhausted`].
struct RewriteTrailers<B> {
    inner: B,
}

impl<B: http_body::Body + Unpin> http_body::Body for RewriteTrailers<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        polled.map(|frame| {
            frame.map(|frame| {
                frame.map(|frame| match frame.into_trailers() {
                    Ok(mut trailers) => {
                        oversized_is_resource_exhausted(&mut trailers);
                        http_body::Frame::trailers(trailers)
                    }
                    Err(frame) => frame,
                })
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

fn rewrite_oversized<B>(response: http::Response<B>) -> http::Response<RewriteTrailers<B>> {
    let (mut parts, body) = response.into_parts();
    oversized_is_resource_exhausted(&mut parts.headers);
    http::Response::from_parts(parts, RewriteTrailers { inner: body })
}

pub(super) async fn serve(
    component: String,
    listener: TcpListener,
    config: GrpcServerConfig,
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    let limit = config.max_recv_msg_size_mib.saturating_mul(1024 * 1024);
    let receiver = Arc::new(GrpcReceiver { ingest, counters });
    let traces = TraceServiceServer::from_arc(receiver.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(limit);
    let metrics = MetricsServiceServer::from_arc(receiver.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(limit);
    let logs = LogsServiceServer::from_arc(receiver)
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(limit);
    let mut builder = tonic::transport::Server::builder()
        .max_concurrent_streams(config.max_concurrent_streams)
        .layer(tower::util::MapResponseLayer::new(rewrite_oversized));
    builder
        .add_service(traces)
        .add_service(metrics)
        .add_service(logs)
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown_signal(shutdown),
        )
        .await
        .map_err(|e| Error::Serve {
            component: format!("{component} (grpc)"),
            message: e.to_string(),
        })
}
