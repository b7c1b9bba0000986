//! The `jaeger` receiver (otelcol-contrib's, traces only): what Jaeger clients and agents send, so that an
//! installation moves to OpenTelemetry without touching its instrumented services. Four protocols, each on its own
//! port when its key is present:
//!
//! - `grpc`: `jaeger.api_v2.CollectorService/PostSpans` (what `jaeger-agent` and OpenTelemetry's gRPC Jaeger
//!   exporters send; `localhost:14250`);
//! - `thrift_http`: a Thrift binary `jaeger.Batch` posted to `/api/traces` (clients' collector endpoint;
//!   `localhost:14268`), answered `202 Accepted`;
//! - `thrift_compact` and `thrift_binary`: agents' `emitBatch` datagrams (`localhost:6831`, `localhost:6832`).
//!
//! ```yaml
//! receivers:
//!   jaeger:
//!     protocols:
//!       grpc:
//!       thrift_http:
//!       thrift_compact:
//! ```
//!
//! A datagram or body that is not a Jaeger batch is dropped (UDP) or answered `400` with why (HTTP, gRPC
//! `INVALID_ARGUMENT`), and counted as refused; nothing else of the receiver is affected. Spans are translated as
//! otelcol does (`translate.rs`).

mod config;
mod model;
mod thrift;
mod translate;

pub use config::{JaegerProtocols, JaegerReceiverConfig, ThriftHttpConfig, UdpConfig};
pub use model::BadSpan;
pub use thrift::ThriftError;

use super::otlp::grpc::{caller, serve_routes};
use super::otlp::http::{Encoding, Failure, serve_app};
use super::otlp::{Bound, acceptor, authenticator};
use super::stanza::Emitter;
use super::{Ingest, RunningReceiver, bind, bind_udp, shutdown_signal};
use crate::auth::{Authenticator, check_http};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::pipeline::RefusalKind;
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error, Signal};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use otlp_model::OtlpRequest as _;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::Status;
use tonic::codegen::BoxFuture;

/// The `jaeger` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = JaegerReceiverConfig;
    const TYPE: &'static str = "jaeger";

    fn validate(&self, config: &JaegerReceiverConfig) -> Result<(), Invalid> {
        config
            .validate()
            .map_err(|message| Invalid::at("protocols", message))
    }

    fn warnings(&self, config: &JaegerReceiverConfig) -> Vec<(String, String)> {
        config.warnings()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Traces];

    async fn start(
        &self,
        config: &JaegerReceiverConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let ReceiverContext {
            id,
            ingest,
            telemetry,
            authenticators,
            ..
        } = context;
        let component = format!("receivers.{id}");
        let protocols = &config.protocols;
        // Every port is bound before anything serves, so a port in use leaves nothing running.
        let grpc = match &protocols.grpc {
            Some(grpc) => Some((
                grpc,
                acceptor(&component, "grpc", grpc.tls.as_ref(), &[b"h2"])?,
                authenticator(&component, "grpc", grpc.auth.as_ref(), &authenticators)?,
                bind(&component, &grpc.endpoint).await?,
            )),
            None => None,
        };
        let http = match &protocols.thrift_http {
            Some(http) => Some((
                http,
                acceptor(&component, "thrift_http", http.tls.as_ref(), &[b"http/1.1"])?,
                authenticator(
                    &component,
                    "thrift_http",
                    http.auth.as_ref(),
                    &authenticators,
                )?,
                bind(&component, &http.endpoint).await?,
            )),
            None => None,
        };
        let mut udp = Vec::new();
        for (transport, settings, compact) in [
            ("thrift_compact", &protocols.thrift_compact, true),
            ("thrift_binary", &protocols.thrift_binary, false),
        ] {
            if let Some(settings) = settings {
                let socket = bind_udp(&component, &settings.endpoint).await?;
                udp.push((transport, settings.max_packet_size, compact, socket));
            }
        }
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        if let Some((settings, tls, auth, listener)) = grpc {
            running.listening("grpc", &listener);
            let service = CollectorService {
                receiver: Arc::new(Receiver {
                    include_metadata: settings.include_metadata,
                    ..Receiver::new(&ingest, &telemetry, &id, "grpc")
                }),
                max_decoding_message_size: settings
                    .max_recv_msg_size_mib
                    .saturating_mul(1024 * 1024),
            };
            let routes = tonic::service::Routes::new(service);
            let bound = Bound {
                listener,
                tls,
                auth,
            };
            let settings = settings.clone();
            let component = component.clone();
            let watch = watch.clone();
            running.spawn(
                async move { serve_routes(component, bound, &settings, routes, watch).await },
            );
        }
        if let Some((settings, tls, auth, listener)) = http {
            running.listening("thrift_http", &listener);
            let state = Arc::new(HttpState {
                receiver: Receiver::new(&ingest, &telemetry, &id, "thrift_http"),
                auth,
                component: component.clone(),
                max_body: settings.max_request_body_size,
            });
            let mut app = axum::Router::new()
                .route("/api/traces", axum::routing::post(thrift_http))
                .with_state(state);
            if let Some(cors) = settings
                .cors
                .as_ref()
                .and_then(|cors| cors.layer(&component))
            {
                app = app.layer(cors);
            }
            let component = component.clone();
            let watch = watch.clone();
            running.spawn(async move { serve_app(&component, listener, tls, app, watch).await });
        }
        for (transport, max_packet_size, compact, socket) in udp {
            let local = socket.local_addr().map_err(|e| Error::Start {
                component: format!("{component} ({transport})"),
                message: e.to_string(),
            })?;
            running.listening_at(transport, local);
            let counters = ReceiverCounters::new(&telemetry, &id, transport);
            let emitter = Emitter::new(id.clone(), ingest.clone(), counters.clone(), watch.clone());
            let id = id.clone();
            let stopping = watch.clone();
            running.spawn(async move {
                serve_udp(
                    &id,
                    socket,
                    max_packet_size,
                    compact,
                    emitter,
                    counters,
                    stopping,
                )
                .await;
                Ok(())
            });
        }
        Ok(running)
    }
}

/// Reads agents' datagrams until the receiver stops, each one `emitBatch` call.
async fn serve_udp(
    id: &str,
    socket: tokio::net::UdpSocket,
    max_packet_size: usize,
    compact: bool,
    emitter: Emitter,
    counters: ReceiverCounters,
    stopping: tokio::sync::watch::Receiver<bool>,
) {
    let stopped = shutdown_signal(stopping);
    tokio::pin!(stopped);
    // One byte more than allowed, to tell a datagram at the limit from a longer one cut short.
    let mut buffer = vec![0u8; max_packet_size + 1];
    loop {
        let length = tokio::select! {
            _ = &mut stopped => return,
            received = socket.recv_from(&mut buffer) => match received {
                Ok((length, _)) => length,
                Err(error) => {
                    tracing::debug!(receiver = %id, %error, "receiving a datagram failed");
                    continue;
                }
            },
        };
        let datagram = &buffer[..length];
        let decoded = if length > max_packet_size {
            Err(ThriftError::Malformed(format!(
                "a datagram longer than max_packet_size ({max_packet_size})"
            )))
        } else if compact {
            model::from_thrift(&mut thrift::Compact::new(datagram), true)
        } else {
            model::from_thrift(&mut thrift::Binary::new(datagram), true)
        };
        match decoded {
            Ok(batch) => {
                let Some(batch) = otlp_batch(batch, &counters) else {
                    continue;
                };
                if !emitter.submit_waiting(batch).await {
                    return;
                }
            }
            Err(error) => {
                counters.refused(Signal::Traces, 1);
                tracing::warn!(receiver = %id, %error, "dropped a datagram that is not a Jaeger batch");
            }
        }
    }
}

/// The batch as an OTLP batch, its invalid spans (all-zero ids) removed and counted; `None` when nothing is left.
fn otlp_batch(batch: model::Batch, counters: &ReceiverCounters) -> Option<Batch> {
    let mut request = translate::to_otlp(batch);
    if let Some(rejected) = request.remove_invalid() {
        counters.refused(
            Signal::Traces,
            usize::try_from(rejected.items).unwrap_or(usize::MAX),
        );
    }
    (!request.resource_spans.is_empty()).then(|| Batch::new(request))
}

/// What a gRPC or HTTP handler hands batches to.
struct Receiver {
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
    /// Keep each call's metadata with its batch (gRPC's `include_metadata`).
    include_metadata: bool,
}

impl Receiver {
    fn new(
        ingest: &Arc<Ingest>,
        telemetry: &crate::telemetry::Telemetry,
        id: &str,
        transport: &str,
    ) -> Self {
        Receiver {
            ingest: ingest.clone(),
            counters: ReceiverCounters::new(telemetry, id, transport),
            include_metadata: false,
        }
    }
}

struct HttpState {
    receiver: Receiver,
    auth: Option<Arc<dyn Authenticator>>,
    component: String,
    max_body: usize,
}

/// `POST /api/traces`: a Thrift binary `jaeger.Batch`.
async fn thrift_http(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let failure = |status: StatusCode, code: tonic::Code, message: String| {
        Failure::new(Encoding::Json, status, code, message).into_response()
    };
    let auth = match check_http(state.auth.as_ref(), &headers) {
        Ok(auth) => auth,
        Err(reason) => {
            tracing::debug!(receiver = %state.component, %reason, "refused a request: not authenticated");
            return failure(
                StatusCode::UNAUTHORIZED,
                tonic::Code::Unauthenticated,
                "not authenticated".into(),
            );
        }
    };
    // What the authenticator learnt of the client; Jaeger's HTTP server keys have no `include_metadata`.
    let client = (!auth.is_empty())
        .then(|| crate::client::of_request(None, super::otlp::http::serving_peer(), auth));
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !matches!(
        content_type.split(';').next().unwrap_or("").trim(),
        "application/x-thrift" | "application/vnd.apache.thrift.binary"
    ) {
        return failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            tonic::Code::InvalidArgument,
            format!(
                "unsupported content type `{content_type}`: send application/x-thrift (Thrift binary)"
            ),
        );
    }
    let body = match axum::body::to_bytes(body, state.max_body).await {
        Ok(body) => body,
        Err(_) => {
            return failure(
                StatusCode::PAYLOAD_TOO_LARGE,
                tonic::Code::ResourceExhausted,
                format!("request body exceeds the limit of {} bytes", state.max_body),
            );
        }
    };
    let batch = match model::from_thrift(&mut thrift::Binary::new(&body), false) {
        Ok(batch) => batch,
        Err(error) => {
            state.receiver.counters.refused(Signal::Traces, 1);
            return failure(
                StatusCode::BAD_REQUEST,
                tonic::Code::InvalidArgument,
                format!("body is not a Thrift binary jaeger.Batch: {error}"),
            );
        }
    };
    let Some(batch) = otlp_batch(batch, &state.receiver.counters) else {
        return StatusCode::ACCEPTED.into_response();
    };
    match state
        .receiver
        .ingest
        .submit(batch.with_client(client), &state.receiver.counters)
        .await
    {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(refusal) => {
            let status = match refusal.kind {
                RefusalKind::Backpressure => StatusCode::TOO_MANY_REQUESTS,
                RefusalKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                RefusalKind::Permanent => StatusCode::BAD_REQUEST,
            };
            let mut response = failure(status, tonic::Code::Unavailable, refusal.message.clone());
            if refusal.kind != RefusalKind::Permanent
                && let Ok(value) =
                    http::HeaderValue::from_str(&refusal.retry_after.as_secs().max(1).to_string())
            {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// `jaeger.api_v2.CollectorService`, built as tonic's generated servers are.
#[derive(Clone)]
struct CollectorService {
    receiver: Arc<Receiver>,
    max_decoding_message_size: usize,
}

impl tonic::server::NamedService for CollectorService {
    const NAME: &'static str = "jaeger.api_v2.CollectorService";
}

struct PostSpans(Arc<Receiver>);

impl tonic::server::UnaryService<model::proto::PostSpansRequest> for PostSpans {
    type Response = model::proto::PostSpansResponse;
    type Future = BoxFuture<tonic::Response<Self::Response>, Status>;

    fn call(&mut self, request: tonic::Request<model::proto::PostSpansRequest>) -> Self::Future {
        let receiver = self.0.clone();
        let client = caller(&request, receiver.include_metadata);
        Box::pin(async move {
            let batch = request.into_inner().batch.unwrap_or_default();
            let batch = model::from_proto(batch).map_err(|error| {
                receiver.counters.refused(Signal::Traces, 1);
                Status::invalid_argument(error.to_string())
            })?;
            if let Some(batch) = otlp_batch(batch, &receiver.counters) {
                receiver
                    .ingest
                    .submit(batch.with_client(client), &receiver.counters)
                    .await
                    .map_err(|refusal| match refusal.kind {
                        RefusalKind::Permanent => Status::invalid_argument(refusal.message.clone()),
                        RefusalKind::Backpressure => {
                            Status::resource_exhausted(refusal.message.clone())
                        }
                        RefusalKind::Unavailable => Status::unavailable(refusal.message.clone()),
                    })?;
            }
            Ok(tonic::Response::new(model::proto::PostSpansResponse {}))
        })
    }
}

impl<B> tower::Service<http::Request<B>> for CollectorService
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != "/jaeger.api_v2.CollectorService/PostSpans" {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let method = PostSpans(self.receiver.clone());
        let max = self.max_decoding_message_size;
        Box::pin(async move {
            let mut accept = tonic::codec::EnabledCompressionEncodings::default();
            accept.enable(tonic::codec::CompressionEncoding::Gzip);
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default())
                .apply_compression_config(
                    accept,
                    tonic::codec::EnabledCompressionEncodings::default(),
                )
                .apply_max_message_size_config(Some(max), None);
            Ok(grpc.unary(method, request).await)
        })
    }
}

#[cfg(test)]
mod tests;
