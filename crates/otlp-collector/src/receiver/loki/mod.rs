//! The `loki` receiver (otelcol-contrib's, logs only): Loki's push API, so that what pushes to Loki (Promtail,
//! Grafana Alloy's `loki.write`, Loki's Docker driver, Loki logging handlers) pushes to the collector instead,
//! unchanged but for the address. Two protocols, each on its own port when its key is present:
//!
//! - `http`: `POST /loki/api/v1/push`, snappy-compressed protobuf (`application/x-protobuf`, or no content type, as
//!   Loki takes it) or JSON (`application/json`), gzip or deflate compressed or not; answered `204`, as Loki does;
//! - `grpc`: `logproto.Pusher/Push`.
//!
//! ```yaml
//! receivers:
//!   loki:
//!     protocols:
//!       http:
//!       grpc:
//!     use_incoming_timestamp: true
//! ```
//!
//! A request that cannot be read (`push.rs`: not snappy, not a `PushRequest`, labels that are not a label set) is
//! answered `400` (gRPC `INVALID_ARGUMENT`) with what is wrong and where, and nothing of it is taken; a full
//! pipeline `429`/`503` with `Retry-After` (`RESOURCE_EXHAUSTED`/`UNAVAILABLE` with `RetryInfo`). Entries become
//! records as otelcol makes them (`translate.rs`).

mod config;
mod labels;
mod push;
mod translate;

pub use config::{LokiHttpConfig, LokiProtocols, LokiReceiverConfig};
pub use push::BadPush;

use super::otlp::grpc::{caller, refusal_status, serve_routes};
use super::otlp::http::{Answer, Encoding, Failure, HttpState, read_any_body, serve_app, submit};
use super::otlp::{Bound, Decoding, acceptor, authenticator};
use super::{Ingest, RunningReceiver, bind};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error, Signal};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::Status;
use tonic::codegen::BoxFuture;

/// The path of Loki's push API.
const PUSH_PATH: &str = "/loki/api/v1/push";
/// The gRPC method.
const PUSH_METHOD: &str = "/logproto.Pusher/Push";

/// The `loki` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = LokiReceiverConfig;
    const TYPE: &'static str = "loki";

    fn validate(&self, config: &LokiReceiverConfig) -> Result<(), Invalid> {
        config
            .validate()
            .map_err(|message| Invalid::at("protocols", message))
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    async fn start(
        &self,
        config: &LokiReceiverConfig,
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
        // Both ports are bound before anything serves, so a port in use leaves nothing running.
        let http = match &protocols.http {
            Some(http) => Some((
                http,
                acceptor(&component, "http", http.tls.as_ref(), &[b"http/1.1"])?,
                authenticator(&component, "http", http.auth.as_ref(), &authenticators)?,
                bind(&component, &http.endpoint).await?,
            )),
            None => None,
        };
        let grpc = match &protocols.grpc {
            Some(grpc) => Some((
                grpc,
                acceptor(&component, "grpc", grpc.tls.as_ref(), &[b"h2"])?,
                authenticator(&component, "grpc", grpc.auth.as_ref(), &authenticators)?,
                bind(&component, &grpc.endpoint).await?,
            )),
            None => None,
        };
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let use_incoming_timestamp = config.use_incoming_timestamp;
        if let Some((settings, tls, auth, listener)) = http {
            running.listening("http", &listener);
            let state = Arc::new(LokiState {
                http: HttpState {
                    ingest: ingest.clone(),
                    auth,
                    component: component.clone(),
                    counters: ReceiverCounters::new(&telemetry, &id, "http"),
                    max_body: settings.max_request_body_size,
                    decoding: Decoding::default(),
                    include_metadata: settings.include_metadata,
                },
                use_incoming_timestamp,
            });
            let mut app = axum::Router::new()
                .route(PUSH_PATH, axum::routing::post(push_http))
                .fallback(unknown_path)
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
        if let Some((settings, tls, auth, listener)) = grpc {
            running.listening("grpc", &listener);
            let service = PusherService {
                receiver: Arc::new(Receiver {
                    ingest: ingest.clone(),
                    counters: ReceiverCounters::new(&telemetry, &id, "grpc"),
                    use_incoming_timestamp,
                    include_metadata: settings.include_metadata,
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
            running.spawn(
                async move { serve_routes(component, bound, &settings, routes, watch).await },
            );
        }
        Ok(running)
    }
}

struct LokiState {
    http: HttpState,
    use_incoming_timestamp: bool,
}

/// The streams as a batch, `None` when they hold no entries.
fn batch(streams: Vec<push::Stream>, use_incoming_timestamp: bool) -> Option<Batch> {
    let request = translate::to_otlp(streams, use_incoming_timestamp, crate::clock::now_nanos());
    (!request.resource_logs.is_empty()).then(|| Batch::new(request))
}

async fn push_http(
    State(state): State<Arc<LokiState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let taken: Answer<()> = async {
let caller = state.http.authenticate(&headers)?;
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let json = match content_type.split(';').next().unwrap_or("").trim() {
            "application/json" => true,
            "application/x-protobuf" | "" => false,
            other => {
                return Err(Failure::new(
                    Encoding::Json,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    tonic::Code::InvalidArgument,
                    format!(
                        "unsupported content type `{other}`: send application/x-protobuf (snappy-compressed) \
                         or application/json"
                    ),
                ));
            }
        };
        // `Content-Encoding: snappy` names the compression every protobuf push has, not one more layer.
        let mut headers = headers;
        if headers
            .get(http::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"snappy"))
        {
            headers.remove(http::header::CONTENT_ENCODING);
        }
        let body = read_any_body(&state.http, &headers, body, Encoding::Json).await?;
        let streams = if json {
            push::from_json(&body)
        } else {
            push::from_snappy_proto(&body, state.http.max_body)
        }
        .map_err(|e| Failure::bad_request(Encoding::Json, e.to_string()))?;
        match batch(streams, state.use_incoming_timestamp) {
Some(batch) => submit(&state.http, Encoding::Json, batch, caller).await,
            None => Ok(()),
        }
    }
    .await;
    match taken {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(failure) => failure.into_response(),
    }
}

async fn unknown_path(uri: http::Uri) -> Response {
    Failure::new(
        Encoding::Json,
        StatusCode::NOT_FOUND,
        tonic::Code::Unimplemented,
        format!(
            "no Loki endpoint at `{}`; this receiver takes POST {PUSH_PATH}",
            uri.path()
        ),
    )
    .into_response()
}

/// What the gRPC service hands batches to.
struct Receiver {
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
    use_incoming_timestamp: bool,
    /// Keep each call's metadata with its batch.
    include_metadata: bool,
}

/// `logproto.Pusher`, built as tonic's generated servers are.
#[derive(Clone)]
struct PusherService {
    receiver: Arc<Receiver>,
    max_decoding_message_size: usize,
}

impl tonic::server::NamedService for PusherService {
    const NAME: &'static str = "logproto.Pusher";
}

struct Push(Arc<Receiver>);

impl tonic::server::UnaryService<push::proto::PushRequest> for Push {
    type Response = push::proto::PushResponse;
    type Future = BoxFuture<tonic::Response<Self::Response>, Status>;

    fn call(&mut self, request: tonic::Request<push::proto::PushRequest>) -> Self::Future {
        let receiver = self.0.clone();
        let client = caller(&request, receiver.include_metadata);
        Box::pin(async move {
            let streams = push::from_proto(request.into_inner())
                .map_err(|error| Status::invalid_argument(error.to_string()))?;
            if let Some(batch) = batch(streams, receiver.use_incoming_timestamp) {
                receiver
                    .ingest
                    .submit(batch.with_client(client), &receiver.counters)
                    .await
                    .map_err(|refusal| refusal_status(&refusal))?;
            }
            Ok(tonic::Response::new(push::proto::PushResponse {}))
        })
    }
}

impl<B> tower::Service<http::Request<B>> for PusherService
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
        if request.uri().path() != PUSH_METHOD {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let method = Push(self.receiver.clone());
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
