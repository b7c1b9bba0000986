//! OTLP/gRPC: one generic tonic service per signal on one server, all answered by the same handler.

use super::{Bound, Decoding, GrpcServerConfig, accept_encoded};
use crate::Error;
use crate::auth::{AuthenticateLayer, Authenticated};
use crate::client::{self, ClientInfo};
use crate::pipeline::{Refusal, RefusalKind};
use crate::receiver::{HTTP2_MAX_FRAME, Ingest, shutdown_signal};
use crate::telemetry::ReceiverCounters;
use crate::tls::accept_tls;
use bytes::{Buf, Bytes};
use otlp_mempool::BufferPool;
use otlp_model::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, OtlpRequest,
    OtlpResponse,
};
use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, CompressionEncoding, DecodeBuf, Decoder};
use tonic::codegen::{BoxFuture, EnabledCompressionEncodings, StdError};
use tonic::transport::server::TcpIncoming;
use tonic_prost::ProstEncoder;
use tonic_types::{ErrorDetails, StatusExt};

struct GrpcReceiver {
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
    decoding: Decoding,
    messages: MessageBuffers,
    /// Keep the request's metadata and the client's address with its batches (`include_metadata`).
    include_metadata: bool,
}

impl GrpcReceiver {
    /// What every signal's `Export` does: check the request in place, drop malformed items, hand the rest to
    /// the pipelines, answer with partial success.
    async fn export<R: OtlpRequest>(
        &self,
        request: Bytes,
        client: Option<Arc<ClientInfo>>,
    ) -> Result<R::Response, Status> {
        // tonic's prost codec answers undecodable bytes with INTERNAL and prost's message: so do we.
        let (batch, rejected) = accept_encoded::<R>(request, self.decoding)
            .map_err(|e| Status::internal(e.to_string()))?;
        let batch = batch.with_client(client);
        if let Some(rejected) = &rejected {
            self.counters.refused(
                R::SIGNAL,
                usize::try_from(rejected.items).unwrap_or(usize::MAX),
            );
        }
        self.ingest
            .submit(batch, &self.counters)
            .await
            .map_err(|refusal| refusal_status(&refusal))?;
        Ok(R::Response::with_rejected(rejected))
    }
}

/// Takes a request's bytes as they arrived (checked and counted later, in place) and encodes the response.
struct RequestBytes<R> {
    messages: MessageBuffers,
    request: PhantomData<fn() -> R>,
}

impl<R: OtlpRequest> Codec for RequestBytes<R> {
    type Encode = R::Response;
    type Decode = Bytes;
    type Encoder = ProstEncoder<R::Response>;
    type Decoder = BytesDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesDecoder {
            messages: self.messages.clone(),
        }
    }
}

/// The message's bytes, copied once into a buffer of [`MESSAGE_BUFFERS`] that goes back to it when the request is
/// done with (exported, written or refused).
///
/// Taking them out of tonic's buffer without a copy would keep that whole buffer alive for as long as the request
/// waits in a batch or an exporter queue, and tonic's buffer is larger than the message: it starts at 8 KiB, and
/// once the first DATA frame is in, tonic reserves the whole message length on top of it. A 51 KB request sent in
/// 16 KiB frames then pinned 67 KB, a 500-byte one 8 KiB; under `loadgen --max` that was 54 MB of the embedded
/// default's heap at its peak (heaptrack). The copy is one memcpy of the message, which the scan reads next anyway.
struct BytesDecoder {
    messages: MessageBuffers,
}

/// Request buffers the receiver keeps. A fresh allocation per request faulted its pages in on every copy, as the
/// allocator handed them back to the kernel between requests: 4% of the collector's CPU in the forwarding config
/// under `loadgen --max`, in `perf`. A batch of 8192 spans holds about 80 requests of that load until exported.
const MESSAGE_BUFFERS: usize = 128;

/// A buffer that grew past this (for a rare large request) is not kept: the pool would pin it under requests of
/// any size.
const MESSAGE_BUFFER_RETAINED: usize = 256 * 1024;

/// A receiver's request buffers, and the size of the last request, which sizes tonic's buffer for the next.
#[derive(Clone)]
struct MessageBuffers {
    pool: BufferPool,
    last_len: Arc<AtomicUsize>,
}

impl MessageBuffers {
    fn new() -> Self {
        Self {
            pool: BufferPool::new(MESSAGE_BUFFERS, 0, MESSAGE_BUFFER_RETAINED),
            last_len: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The capacity tonic's buffer for the next request starts with: room for a request a quarter larger than
    /// the last one, so that it is made once. tonic starts from 8 KiB and grows as the message arrives, and once
    /// the first DATA frame is in it reserves the whole message length on top of that frame: a 51 KB request in
    /// 16 KiB frames was three allocations (8 KiB, then the frame, then 67 KB), and in one frame it needs twice its
    /// length. Requests of one client vary in size, and one a little larger than the room still grows the buffer,
    /// to twice its size: hence the quarter. (After a compressed request the room is for its decompressed length,
    /// more than tonic will buffer of the next.)
    fn decode_buffer_size(&self) -> usize {
        let last = self.last_len.load(Ordering::Relaxed);
        let message = last + last / 4;
        let first_frame = (GRPC_MESSAGE_HEADER + message).min(H2_DATA_FRAME);
        (first_frame + GRPC_MESSAGE_HEADER + message)
            .clamp(TONIC_DECODE_BUFFER, TONIC_BUFFER_LARGEST)
    }
}

/// What tonic starts a request's decode buffer with by default, enough for any request of a few KB.
const TONIC_DECODE_BUFFER: usize = 8 * 1024;

/// gRPC's message prefix: a compression flag and a 4-byte length.
const GRPC_MESSAGE_HEADER: usize = 5;

/// The most tonic's buffer starts with: room for the largest request whose copy is pooled, after a first frame.
/// A larger request is rare; the buffer grows for it alone.
const TONIC_BUFFER_LARGEST: usize = H2_DATA_FRAME + GRPC_MESSAGE_HEADER + MESSAGE_BUFFER_RETAINED;

/// The largest DATA frame a client sends, what tonic has buffered when it reserves the message length.
const H2_DATA_FRAME: usize = HTTP2_MAX_FRAME as usize;

/// tonic's default; only encoding yields on it, and this codec's decoder never encodes.
const ENCODE_YIELD_THRESHOLD: usize = 32 * 1024;

impl Decoder for BytesDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let length = src.remaining();
        self.messages.last_len.store(length, Ordering::Relaxed);
        if length > MESSAGE_BUFFER_RETAINED {
            // Kept only while the request lives, in an allocation of its own size.
            let mut message = Vec::with_capacity(length);
            drain_into(src, &mut message);
            return Ok(Some(Bytes::from(message)));
        }
        let mut message = self.messages.pool.get_owned();
        if message.capacity() < length {
            // Replaced rather than reserved: realloc knows no length, so growing even an empty buffer copies all
            // it had.
            *message = Vec::with_capacity(length);
        }
        drain_into(src, &mut message);
        Ok(Some(Bytes::from_owner(message)))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::new(self.messages.decode_buffer_size(), ENCODE_YIELD_THRESHOLD)
    }
}

/// Copies what is left of `src` to the end of `out` (`Buf::copy_to_bytes` would split tonic's buffer instead).
fn drain_into(src: &mut DecodeBuf<'_>, out: &mut Vec<u8>) {
    while src.has_remaining() {
        let chunk = src.chunk();
        out.extend_from_slice(chunk);
        let read = chunk.len();
        src.advance(read);
    }
}

/// What a gRPC receiver keeps of a call's client, for the batches made of the call: what the authenticating layer
/// learnt of it and, with `include_metadata`, its metadata; its address with either. Nothing without both.
pub(in crate::receiver) fn caller<T>(
    request: &tonic::Request<T>,
    include_metadata: bool,
) -> Option<Arc<ClientInfo>> {
    let auth = request.extensions().get::<Authenticated>();
    if !include_metadata && auth.is_none() {
        return None;
    }
    let headers = include_metadata.then(|| request.metadata().clone().into_headers());
    let auth = auth.map(|auth| (*auth.0).clone()).unwrap_or_default();
    Some(client::of_request(
        headers.as_ref(),
        request.remote_addr(),
        auth,
    ))
}

/// The answer the OTLP specification asks for: retryable refusals carry `RetryInfo`; data that can never be
/// taken is `INVALID_ARGUMENT`, which clients do not retry.
pub(crate) fn refusal_status(refusal: &Refusal) -> Status {
    let code = match refusal.kind {
        RefusalKind::Backpressure => tonic::Code::ResourceExhausted,
        RefusalKind::Unavailable => tonic::Code::Unavailable,
        RefusalKind::Permanent => return Status::invalid_argument(refusal.message.clone()),
    };
    Status::with_error_details(
        code,
        refusal.message.clone(),
        ErrorDetails::with_retry_info(Some(refusal.retry_after)),
    )
}

/// The OTLP collector service of `R`'s signal (`TraceService`, ...), as tonic's generated servers are built,
/// with one handler for all three.
struct OtlpService<R> {
    receiver: Arc<GrpcReceiver>,
    max_decoding_message_size: usize,
    request: PhantomData<fn() -> R>,
}

impl<R> Clone for OtlpService<R> {
    fn clone(&self) -> Self {
        OtlpService {
            receiver: self.receiver.clone(),
            max_decoding_message_size: self.max_decoding_message_size,
            request: PhantomData,
        }
    }
}

impl<R: OtlpRequest> tonic::server::NamedService for OtlpService<R> {
    const NAME: &'static str = R::GRPC_SERVICE;
}

/// The unary `Export` method of one signal.
struct ExportMethod<R> {
    receiver: Arc<GrpcReceiver>,
    request: PhantomData<fn() -> R>,
}

impl<R: OtlpRequest> tonic::server::UnaryService<Bytes> for ExportMethod<R> {
    type Response = R::Response;
    type Future = BoxFuture<tonic::Response<R::Response>, Status>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let receiver = self.receiver.clone();
        let client = caller(&request, receiver.include_metadata);
        Box::pin(async move {
            let response = receiver.export::<R>(request.into_inner(), client).await?;
            Ok(tonic::Response::new(response))
        })
    }
}

impl<R, B> tower::Service<http::Request<B>> for OtlpService<R>
where
    R: OtlpRequest,
    B: http_body::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != R::GRPC_METHOD {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let method = ExportMethod::<R> {
            receiver: self.receiver.clone(),
            request: PhantomData,
        };
        let max_decoding_message_size = self.max_decoding_message_size;
        let messages = self.receiver.messages.clone();
        Box::pin(async move {
            let mut accept = EnabledCompressionEncodings::default();
            accept.enable(CompressionEncoding::Gzip);
            accept.enable(CompressionEncoding::Zstd);
            let codec = RequestBytes::<R> {
                messages,
                request: PhantomData,
            };
            let mut grpc = tonic::server::Grpc::new(codec)
                .apply_compression_config(accept, EnabledCompressionEncodings::default())
                .apply_max_message_size_config(Some(max_decoding_message_size), None);
            Ok(grpc.unary(method, request).await)
        })
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
    bound: Bound,
    config: GrpcServerConfig,
    ingest: Arc<Ingest>,
    counters: ReceiverCounters,
    decoding: Decoding,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    let receiver = Arc::new(GrpcReceiver {
        ingest,
        counters,
        decoding,
        messages: MessageBuffers::new(),
        include_metadata: config.include_metadata,
    });
    let max_decoding_message_size = config.max_recv_msg_size_mib.saturating_mul(1024 * 1024);
    fn service<R>(
        receiver: &Arc<GrpcReceiver>,
        max_decoding_message_size: usize,
    ) -> OtlpService<R> {
        OtlpService {
            receiver: receiver.clone(),
            max_decoding_message_size,
            request: PhantomData,
        }
    }
    let routes = tonic::service::Routes::new(service::<ExportTraceServiceRequest>(
        &receiver,
        max_decoding_message_size,
    ))
    .add_service(service::<ExportMetricsServiceRequest>(
        &receiver,
        max_decoding_message_size,
    ))
    .add_service(service::<ExportLogsServiceRequest>(
        &receiver,
        max_decoding_message_size,
    ));
    serve_routes(component, bound, &config, routes, shutdown).await
}

/// Serves gRPC `routes` on `bound` with `config`'s connection settings (keepalive, streams, frame size) and
/// authenticator, until `shutdown`: the `otlp` receiver's services, or another receiver's (`jaeger`).
pub(in crate::receiver) async fn serve_routes(
    component: String,
    bound: Bound,
    config: &GrpcServerConfig,
    routes: tonic::service::Routes,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    let Bound {
        listener,
        tls,
        auth,
    } = bound;
    let router = config
        .keepalive
        .apply(tonic::transport::Server::builder())
        .max_concurrent_streams(config.max_concurrent_streams)
        .max_frame_size(HTTP2_MAX_FRAME)
        .layer(
            tower::ServiceBuilder::new()
                .layer(tower::util::MapResponseLayer::new(rewrite_oversized))
                .layer(AuthenticateLayer::new(auth, component.clone())),
        )
        .add_routes(routes);
    let served = match tls {
        None => {
            router
                .serve_with_incoming_shutdown(
                    TcpIncoming::from(listener).with_nodelay(Some(true)),
                    shutdown_signal(shutdown),
                )
                .await
        }
        Some(acceptor) => {
            let (connections, accepting) = accept_tls(listener, acceptor, component.clone())
                .map_err(|e| Error::Serve {
                    component: format!("{component} (grpc)"),
                    message: e.to_string(),
                })?;
            let served = router
                .serve_with_incoming_shutdown(connections.into_stream(), shutdown_signal(shutdown))
                .await;
            accepting.stop().await;
            served
        }
    };
    served.map_err(|e| Error::Serve {
        component: format!("{component} (grpc)"),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tonics_buffer_has_room_for_a_request_a_little_larger_than_the_last() {
        let messages = MessageBuffers::new();
        assert_eq!(messages.decode_buffer_size(), TONIC_DECODE_BUFFER);
        messages.last_len.store(500, Ordering::Relaxed);
        assert_eq!(messages.decode_buffer_size(), TONIC_DECODE_BUFFER);
        messages.last_len.store(51_000, Ordering::Relaxed);
        let larger = 51_000 + 51_000 / 5;
        let first_frame = (GRPC_MESSAGE_HEADER + larger).min(H2_DATA_FRAME);
        assert!(messages.decode_buffer_size() >= first_frame + GRPC_MESSAGE_HEADER + larger);
        // Sent in one frame, an SDK's batch of a few hundred spans needs twice its length.
        messages.last_len.store(200_000, Ordering::Relaxed);
        assert!(messages.decode_buffer_size() >= 2 * (GRPC_MESSAGE_HEADER + 200_000));
        messages.last_len.store(10 << 20, Ordering::Relaxed);
        assert_eq!(messages.decode_buffer_size(), TONIC_BUFFER_LARGEST);
    }
}
