//! The `otlp` receiver: OTLP over gRPC and over HTTP (protobuf and JSON), as the OTLP specification describes.

pub(crate) mod compression;
mod grpc;
mod http;

use super::{Ingest, RunningReceiver, bind};
use crate::Error;
use crate::config::de;
use crate::telemetry::{ReceiverCounters, Telemetry};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::Deserialize;
use std::sync::Arc;

/// The `otlp` receiver's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpReceiverConfig {
    /// Which transports to serve.
    #[serde(default)]
    pub protocols: Protocols,
}

/// `protocols`: each present key enables that transport (`grpc:` alone means "with defaults").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocols {
    /// OTLP/gRPC.
    #[serde(default, deserialize_with = "de::present")]
    pub grpc: Option<GrpcServerConfig>,
    /// OTLP/HTTP.
    #[serde(default, deserialize_with = "de::present")]
    pub http: Option<HttpServerConfig>,
}

/// OTLP/gRPC server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcServerConfig {
    /// `host:port` to listen on; port 0 picks a free one.
    pub endpoint: String,
    /// Largest request accepted, after decompression, in MiB.
    pub max_recv_msg_size_mib: usize,
    /// Concurrent streams allowed per HTTP/2 connection.
    pub max_concurrent_streams: Option<u32>,
}

impl Default for GrpcServerConfig {
    fn default() -> Self {
        GrpcServerConfig {
            endpoint: "localhost:4317".to_string(),
            max_recv_msg_size_mib: 4,
            max_concurrent_streams: None,
        }
    }
}

/// OTLP/HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpServerConfig {
    /// `host:port` to listen on; port 0 picks a free one.
    pub endpoint: String,
    /// Largest request body accepted, compressed or not, in bytes.
    pub max_request_body_size: usize,
    /// Path for traces.
    pub traces_url_path: String,
    /// Path for metrics.
    pub metrics_url_path: String,
    /// Path for logs.
    pub logs_url_path: String,
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        HttpServerConfig {
            endpoint: "localhost:4318".to_string(),
            max_request_body_size: 20 * 1024 * 1024,
            traces_url_path: "/v1/traces".to_string(),
            metrics_url_path: "/v1/metrics".to_string(),
            logs_url_path: "/v1/logs".to_string(),
        }
    }
}

/// Removes spans whose ids are malformed, so one bad span cannot make a backend reject a whole batch. Returns how
/// many were removed and why, for the OTLP partial-success answer.
pub(crate) fn reject_invalid_spans(
    request: &mut ExportTraceServiceRequest,
) -> Option<(usize, String)> {
    let mut rejected = 0;
    let mut first_reason = None;
    for scope in request
        .resource_spans
        .iter_mut()
        .flat_map(|r| &mut r.scope_spans)
    {
        scope.spans.retain(|span| {
            let reason = if span.trace_id.len() != 16 || span.trace_id.iter().all(|b| *b == 0) {
                Some("trace_id must be 16 bytes and not all zero")
            } else if span.span_id.len() != 8 || span.span_id.iter().all(|b| *b == 0) {
                Some("span_id must be 8 bytes and not all zero")
            } else if !(span.parent_span_id.is_empty() || span.parent_span_id.len() == 8) {
                Some("parent_span_id must be empty or 8 bytes")
            } else {
                None
            };
            if let Some(reason) = reason {
                rejected += 1;
                first_reason.get_or_insert(reason);
                false
            } else {
                true
            }
        });
    }
    first_reason.map(|reason| (rejected, format!("{rejected} span(s) rejected: {reason}")))
}

/// Removes log records whose trace context ids are malformed.
pub(crate) fn reject_invalid_log_records(
    request: &mut ExportLogsServiceRequest,
) -> Option<(usize, String)> {
    let mut rejected = 0;
    for scope in request
        .resource_logs
        .iter_mut()
        .flat_map(|r| &mut r.scope_logs)
    {
        scope.log_records.retain(|record| {
            let valid = (record.trace_id.is_empty() || record.trace_id.len() == 16)
                && (record.span_id.is_empty() || record.span_id.len() == 8);
            if !valid {
                rejected += 1;
            }
            valid
        });
    }
    (rejected > 0).then(|| {
        (
            rejected,
            format!("{rejected} log record(s) rejected: trace_id must be empty or 16 bytes, span_id empty or 8 bytes"),
        )
    })
}

/// Binds the enabled transports of an `otlp` receiver and starts serving them.
pub(crate) async fn start(
    id: &str,
    config: &OtlpReceiverConfig,
    ingest: Arc<Ingest>,
    telemetry: &Telemetry,
) -> Result<RunningReceiver, Error> {
    let component = format!("receivers.{id}");
    let (shutdown, watch) = tokio::sync::watch::channel(false);
    let mut running = RunningReceiver::new(shutdown);
    if let Some(grpc) = &config.protocols.grpc {
        let listener = bind(&component, &grpc.endpoint).await?;
        running.listening("grpc", &listener);
        let counters = ReceiverCounters::new(telemetry, id, "grpc");
        running.spawn(grpc::serve(
            component.clone(),
            listener,
            grpc.clone(),
            ingest.clone(),
            counters,
            watch.clone(),
        ));
    }
    if let Some(http) = &config.protocols.http {
        let listener = bind(&component, &http.endpoint).await?;
        running.listening("http", &listener);
        let counters = ReceiverCounters::new(telemetry, id, "http");
        running.spawn(http::serve(
            component.clone(),
            listener,
            http.clone(),
            ingest,
            counters,
            watch,
        ));
    }
    Ok(running)
}
