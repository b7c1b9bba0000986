//! OTLP/HTTP: `POST /v1/{traces,metrics,logs}` with protobuf or JSON bodies, optionally compressed.

use super::{Bound, Decoding, HttpServerConfig, accept_encoded};
use crate::auth::{Authenticator, check_http};
use crate::client::ClientInfo;
use crate::compression::{Compression, DecompressError, decompress};
use crate::pipeline::RefusalKind;
use crate::receiver::{Ingest, shutdown_signal};
use crate::telemetry::ReceiverCounters;
use crate::tls::{TlsConnections, accept_tls};
use crate::{Batch, Error, Signal, client};
use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use otlp_model::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, OtlpRequest,
    OtlpResponse,
};
use prost::Message;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A request body's encoding, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::receiver) enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// What a request handler needs: where batches go, who may send, how much.
pub(in crate::receiver) struct HttpState {
    pub(in crate::receiver) ingest: Arc<Ingest>,
    pub(in crate::receiver) auth: Option<Arc<dyn Authenticator>>,
    pub(in crate::receiver) component: String,
    pub(in crate::receiver) counters: ReceiverCounters,
    pub(in crate::receiver) max_body: usize,
    pub(in crate::receiver) decoding: Decoding,
    /// Keep the request's headers and the client's address with its batches (`include_metadata`).
    pub(in crate::receiver) include_metadata: bool,
}

impl HttpState {
    /// Whether the request's headers satisfy the authenticator, checked before the body is read (an
    /// unauthenticated client costs no decompression or decoding); the client, as the request's batches keep it,
    /// with the address of the connection the request came on.
    pub(in crate::receiver) fn authenticate(&self, headers: &HeaderMap) -> Answer<Caller> {
        let auth = check_http(self.auth.as_ref(), headers).map_err(|reason| {
            tracing::debug!(receiver = %self.component, %reason, "refused a request: not authenticated");
            Failure::new(
                Encoding::Json,
                StatusCode::UNAUTHORIZED,
                tonic::Code::Unauthenticated,
                "not authenticated".into(),
            )
        })?;
        if !self.include_metadata && auth.is_empty() {
            return Ok(Caller(None));
        }
        let headers = self.include_metadata.then_some(headers);
        Ok(Caller(Some(client::of_request(
            headers,
            serving_peer(),
            auth,
        ))))
    }
}

/// A request's client as its receiver keeps it, for the batches made of the request: what the authenticator
/// learnt of it, and with `include_metadata` its headers and address; nothing otherwise.
#[derive(Debug, Clone)]
pub(in crate::receiver) struct Caller(Option<Arc<ClientInfo>>);

/// A request that is not taken, and how to answer it.
pub(in crate::receiver) struct Failure {
    status: StatusCode,
    code: tonic::Code,
    message: String,
    retry_after: Option<Duration>,
    /// Close the connection after answering (the body was not read whole, so the connection cannot be reused).
    close: bool,
    /// The encoding of the answer: the request's, or JSON when the request's is not known.
    encoding: Encoding,
}

impl Failure {
    pub(in crate::receiver) fn new(
        encoding: Encoding,
        status: StatusCode,
        code: tonic::Code,
        message: String,
    ) -> Box<Self> {
        Box::new(Failure {
            status,
            code,
            message,
            retry_after: None,
            close: false,
            encoding,
        })
    }

    pub(in crate::receiver) fn bad_request(encoding: Encoding, message: String) -> Box<Self> {
        Failure::new(
            encoding,
            StatusCode::BAD_REQUEST,
            tonic::Code::InvalidArgument,
            message,
        )
    }

    /// The HTTP status the failure is answered with.
    pub(in crate::receiver) fn status(&self) -> StatusCode {
        self.status
    }

    /// A `google.rpc.Status` in the request's encoding, as the OTLP specification asks.
    pub(in crate::receiver) fn into_response(self) -> Response {
        let body = match self.encoding {
            Encoding::Protobuf => tonic_types::Status {
                code: self.code as i32,
                message: self.message.clone(),
                details: Vec::new(),
            }
            .encode_to_vec(),
            Encoding::Json => {
                serde_json::json!({ "code": self.code as i32, "message": self.message })
                    .to_string()
                    .into_bytes()
            }
        };
        let content_type = self.encoding.content_type();
        self.respond(content_type, body)
    }

    /// The answer with a JSON body of a protocol's own shape, made from the message (InfluxDB's `{"error": …}`).
    pub(in crate::receiver) fn into_json_response(
        self,
        body: impl FnOnce(&str) -> serde_json::Value,
    ) -> Response {
        let body = body(&self.message).to_string().into_bytes();
        self.respond("application/json", body)
    }

    fn respond(self, content_type: &'static str, body: Vec<u8>) -> Response {
        let mut response =
            (self.status, [(header::CONTENT_TYPE, content_type)], body).into_response();
        if self.close {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(after) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&after.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub(in crate::receiver) type Answer<T> = Result<T, Box<Failure>>;

/// An answer in proto3 JSON, which leaves unset message fields out: a full success is
/// `{}`, where serde's derive would write `{"partialSuccess":null}`.
fn json_body<T: OtlpResponse>(response: &T) -> Vec<u8> {
    let Ok(mut value) = serde_json::to_value(response) else {
        return b"{}".to_vec();
    };
    if let serde_json::Value::Object(fields) = &mut value {
        fields.retain(|_, field| !field.is_null());
    }
    serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec())
}

fn success<T: OtlpResponse>(encoding: Encoding, response: &T) -> Response {
    let body = match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => json_body(response),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}

/// The body as a batch: protobuf is checked in place (decoded only to remove invalid items), JSON is decoded.
fn decode<R: OtlpRequest>(
    encoding: Encoding,
    body: Vec<u8>,
    decoding: Decoding,
) -> Answer<(Batch, Option<otlp_model::Rejected>)> {
    let what = R::MESSAGE_NAME;
    match encoding {
        Encoding::Protobuf => accept_encoded::<R>(Bytes::from(body), decoding).map_err(|e| {
            Failure::bad_request(
                encoding,
                format!("body is not a valid protobuf {what}: {e}"),
            )
        }),
        Encoding::Json => {
            let mut request: R = serde_json::from_slice(&body).map_err(|_| {
                Failure::bad_request(encoding, format!("body is {}", json_problem::<R>(&body)))
            })?;
            let rejected = request.remove_invalid();
            Ok((Batch::new(request), rejected))
        }
    }
}

/// Why `body` is not an OTLP/JSON `R` ("not a valid OTLP/JSON …"), with where in the request: "odd number of
/// digits" alone does not say that it was a span's `traceId`. The body is read again to track the path, so a
/// valid one does not pay for it.
pub(crate) fn json_problem<R: OtlpRequest>(body: &[u8]) -> String {
    let what = R::MESSAGE_NAME;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, R>(&mut deserializer) {
        Err(error) => {
            let path = error.path().to_string();
            if path == "." || path.is_empty() {
                format!("not a valid OTLP/JSON {what}: {}", error.inner())
            } else {
                format!(
                    "not a valid OTLP/JSON {what}: at `{path}`: {}",
                    error.inner()
                )
            }
        }
        // The request itself was whole: what follows it is not (`serde_json::from_slice` checks that too).
        Ok(_) => match deserializer.end() {
            Err(error) => format!("not a valid OTLP/JSON {what}: {error}"),
            Ok(()) => format!("not a valid OTLP/JSON {what}"),
        },
    }
}

/// The most of an oversized body read and thrown away so that the client, still sending, gets the 413 instead of
/// a reset connection (Linux resets a socket closed with unread data, and the client loses the answer).
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
/// How long draining may take.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads and discards `body`, up to [`DRAIN_LIMIT`] bytes and [`DRAIN_TIMEOUT`]; past either, the connection is
/// closed with whatever is left (a client sending that much past the limit is not waited for).
async fn drain(body: Body) {
    let limited = Limited::new(body, DRAIN_LIMIT);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        let mut limited = std::pin::pin!(limited);
        while let Some(Ok(_)) = limited.frame().await {}
    })
    .await;
}

/// Checks the headers and reads the whole body, decompressed, within the size limit.
pub(in crate::receiver) async fn read_body(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
) -> Answer<(Encoding, Vec<u8>)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let encoding = match media_type.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        _ => {
            return Err(Failure::new(
                Encoding::Json,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                tonic::Code::InvalidArgument,
                format!(
                    "unsupported content type `{content_type}`: send application/x-protobuf or application/json"
                ),
            ));
        }
    };
    Ok((
        encoding,
        read_any_body(state, headers, body, encoding).await?,
    ))
}

/// `read` (a body being read), or a `408` when it takes longer than `timeout`: a client that trickles a body
/// must not hold a handler for ever.
pub(in crate::receiver) async fn within<T>(
    timeout: Duration,
    read: impl std::future::Future<Output = Answer<T>>,
) -> Answer<T> {
    tokio::time::timeout(timeout, read).await.map_err(|_| {
        Failure::new(
            Encoding::Json,
            StatusCode::REQUEST_TIMEOUT,
            tonic::Code::DeadlineExceeded,
            format!("the request was not read within {timeout:?}"),
        )
    })?
}

/// Reads the whole body, whatever its content type, decompressed as `Content-Encoding` says, within the size
/// limit; failures are answered in `encoding`.
pub(in crate::receiver) async fn read_any_body(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
) -> Answer<Vec<u8>> {
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(compression) = Compression::from_content_encoding(content_encoding) else {
        return Err(Failure::new(
            encoding,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            tonic::Code::InvalidArgument,
            format!(
                "unsupported Content-Encoding `{content_encoding}`: send gzip, zstd, deflate or none"
            ),
        ));
    };
    let too_large = || {
        Failure::new(
            encoding,
            StatusCode::PAYLOAD_TOO_LARGE,
            tonic::Code::ResourceExhausted,
            format!("request body exceeds the limit of {} bytes", state.max_body),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.max_body as u64) {
        // A client waiting for `100 Continue` has sent nothing yet: answering now spares it the upload.
        let waits = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if !waits {
            drain(body).await;
        }
        let mut failure = too_large();
        failure.close = true;
        return Err(failure);
    }
    let mut body = body;
    let mut raw = Vec::with_capacity(declared.map_or(0, |length| length as usize));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            Failure::bad_request(encoding, format!("cannot read the request body: {e}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if raw.len() + data.len() > state.max_body {
            // A chunked body (or one whose length was not declared) outgrew the limit while the rest is on its way.
            drain(body).await;
            let mut failure = too_large();
            failure.close = true;
            return Err(failure);
        }
        raw.extend_from_slice(&data);
    }
    let body = decompress(compression, &raw, state.max_body).map_err(|e| match e {
        DecompressError::TooLarge => too_large(),
        DecompressError::Corrupt(e) => Failure::bad_request(
            encoding,
            format!("body is not valid {} data: {e}", content_encoding.trim()),
        ),
    })?;
    Ok(body)
}

pub(in crate::receiver) async fn submit(
    state: &HttpState,
    encoding: Encoding,
    batch: Batch,
    caller: Caller,
) -> Answer<()> {
    state
        .ingest
        .submit(batch.with_client(caller.0), &state.counters)
        .await
        .map_err(|refusal| {
            let (status, code, retry_after) = match refusal.kind {
                RefusalKind::Backpressure => (
                    StatusCode::TOO_MANY_REQUESTS,
                    tonic::Code::ResourceExhausted,
                    Some(refusal.retry_after),
                ),
                RefusalKind::Unavailable => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    tonic::Code::Unavailable,
                    Some(refusal.retry_after),
                ),
                RefusalKind::Permanent => {
                    (StatusCode::BAD_REQUEST, tonic::Code::InvalidArgument, None)
                }
            };
            let mut failure = Failure::new(encoding, status, code, refusal.message);
            failure.retry_after = retry_after;
            failure
        })
}

/// What every signal's endpoint does: read and decode the body, drop malformed items, hand the rest to the
/// pipelines, answer with partial success in the request's encoding.
async fn export<R: OtlpRequest>(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let caller = state.authenticate(&headers)?;
        let (encoding, body) = read_body(&state, &headers, body).await?;
        let (batch, rejected) = decode::<R>(encoding, body, state.decoding)?;
        if let Some(rejected) = &rejected {
            state.counters.refused(
                R::SIGNAL,
                usize::try_from(rejected.items).unwrap_or(usize::MAX),
            );
        }
        submit(&state, encoding, batch, caller).await?;
        Ok::<_, Box<Failure>>(success(encoding, &R::Response::with_rejected(rejected)))
    };
    result
        .await
        .unwrap_or_else(|failure| failure.into_response())
}

/// A path this receiver does not serve. An empty 404 leaves a client guessing between a typo (`/v1/trace`) and a
/// signal that has no pipeline here.
fn unknown_path(uri: &http::Uri, served: &str) -> Response {
    let message = if served.is_empty() {
        format!("no OTLP endpoint at `{}`", uri.path())
    } else {
        format!(
            "no OTLP endpoint at `{}`; this receiver takes POST {served} (a signal without a pipeline has none)",
            uri.path()
        )
    };
    Failure::new(
        Encoding::Json,
        StatusCode::NOT_FOUND,
        tonic::Code::Unimplemented,
        message,
    )
    .into_response()
}

/// Any method but POST on an OTLP path (a browser's or `curl`'s GET).
async fn only_post() -> Response {
    let mut response = Failure::new(
        Encoding::Json,
        StatusCode::METHOD_NOT_ALLOWED,
        tonic::Code::Unimplemented,
        "OTLP/HTTP takes POST requests only".into(),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

pub(super) async fn serve(
    component: String,
    bound: Bound,
    config: HttpServerConfig,
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
    decoding: Decoding,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    let Bound {
        listener,
        tls,
        auth,
    } = bound;
    let state = Arc::new(HttpState {
        auth,
        component: component.clone(),
        max_body: config.max_request_body_size,
        decoding,
        ingest: ingest.clone(),
        counters,
        include_metadata: config.include_metadata,
    });
    let mut router = axum::Router::new();
    let mut served = Vec::new();
    // Only the signals that have a pipeline get a route, so a client sending metrics to a traces-only collector
    // gets a 404 instead of a silent success.
    if ingest.serves(Signal::Traces) {
        let handler = axum::routing::post(export::<ExportTraceServiceRequest>);
        router = router.route(&config.traces_url_path, handler.fallback(only_post));
        served.push(config.traces_url_path.as_str());
    }
    if ingest.serves(Signal::Metrics) {
        let handler = axum::routing::post(export::<ExportMetricsServiceRequest>);
        router = router.route(&config.metrics_url_path, handler.fallback(only_post));
        served.push(config.metrics_url_path.as_str());
    }
    if ingest.serves(Signal::Logs) {
        let handler = axum::routing::post(export::<ExportLogsServiceRequest>);
        router = router.route(&config.logs_url_path, handler.fallback(only_post));
        served.push(config.logs_url_path.as_str());
    }
    let served: Arc<str> = served.join(", ").into();
    router = router.fallback(move |uri: http::Uri| std::future::ready(unknown_path(&uri, &served)));
    let mut app = router.with_state(state);
    if let Some(cors) = config.cors.as_ref().and_then(|cors| cors.layer(&component)) {
        app = app.layer(cors);
    }
    serve_app(&component, listener, tls, app, shutdown).await
}

/// The address of a request's client, as its handler is told it (`ConnectInfo<PeerAddress>`), over TCP or TLS.
#[derive(Debug, Clone, Copy)]
pub(in crate::receiver) struct PeerAddress(pub(in crate::receiver) SocketAddr);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for PeerAddress {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        PeerAddress(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsConnections>> for PeerAddress {
    fn connect_info(stream: IncomingStream<'_, TlsConnections>) -> Self {
        PeerAddress(*stream.remote_addr())
    }
}

tokio::task_local! {
    /// The peer address of the connection whose request is being served, for [`HttpState::authenticate`]: every
    /// HTTP receiver's handlers reach it without each taking it as an argument.
    static SERVING_PEER: SocketAddr;
}

/// The peer address of the connection whose request the calling handler serves.
pub(in crate::receiver) fn serving_peer() -> Option<SocketAddr> {
    SERVING_PEER.try_with(|address| *address).ok()
}

/// Serves `request` with its connection's peer address in [`SERVING_PEER`].
async fn remember_peer(
    ConnectInfo(PeerAddress(address)): ConnectInfo<PeerAddress>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    SERVING_PEER.scope(address, next.run(request)).await
}

/// `app`, its handlers told each connection's peer address, which `include_metadata` keeps.
fn with_address(
    app: axum::Router,
) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, PeerAddress> {
    app.layer(axum::middleware::from_fn(remember_peer))
        .into_make_service_with_connect_info::<PeerAddress>()
}

/// Serves `app` on `listener`, through TLS when `tls` is set, until `shutdown`.
pub(in crate::receiver) async fn serve_app(
    component: &str,
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: axum::Router,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    let served = match tls {
        None => {
            axum::serve(listener, with_address(app))
                .with_graceful_shutdown(shutdown_signal(shutdown))
                .await
        }
        Some(acceptor) => {
            let (connections, accepting) = accept_tls(listener, acceptor, component.to_owned())
                .map_err(|e| Error::Serve {
                    component: format!("{component} (http)"),
                    message: e.to_string(),
                })?;
            let served = axum::serve(connections, with_address(app))
                .with_graceful_shutdown(shutdown_signal(shutdown))
                .await;
            accepting.stop().await;
            served
        }
    };
    served.map_err(|e| Error::Serve {
        component: format!("{component} (http)"),
        message: e.to_string(),
    })
}
