//! Arrow Flight transport for OTLP (feature `flight`).
//!
//! A client `do_put`s one Flight stream per signal: the schema, then per OTLP request
//! its (delta) dictionaries and one record batch of this crate's layout. The server also
//! takes batches of the [`flat`](crate::flat) layout, one row per item, as the collector's
//! Parquet and Arrow files hold them: any Arrow client (pyarrow's `flight.FlightClient`, say)
//! can send a table read from those files. The server
//! checks the bearer token, decodes each batch back into an OTLP request, hands it to a
//! [`TelemetrySink`] and only then answers with a [`PutResult`] whose `app_metadata` is
//! the 1-based sequence number of the batch (u64, little endian). The server reads the
//! next message only after the sink accepted the previous one, so a slow sink slows the
//! client through HTTP/2 flow control; a sink that refuses ends the call with
//! `RESOURCE_EXHAUSTED` (overloaded, retry later) or `INVALID_ARGUMENT` (rejected).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use otlp_arrow::flight::{FlightClient, FlightServer, Refusal, TelemetrySink};
//! use otlp_arrow::AnyRequest;
//! use futures::future::BoxFuture;
//!
//! struct Print;
//! impl TelemetrySink for Print {
//!     fn consume(&self, request: AnyRequest) -> BoxFuture<'static, Result<(), Refusal>> {
//!         Box::pin(async move {
//!             println!("got a {} request", request.signal());
//!             Ok(())
//!         })
//!     }
//! }
//!
//! let service = FlightServer::new(Print, Some("s3cret".into())).into_service();
//! tokio::spawn(
//!     tonic::transport::Server::builder()
//!         .add_service(service)
//!         .serve("127.0.0.1:4319".parse()?),
//! );
//! let mut client = FlightClient::connect("http://127.0.0.1:4319", Some("s3cret".into())).await?;
//! let acked = client
//!     .send(&[AnyRequest::Traces(Default::default())])
//!     .await?;
//! assert_eq!(acked, 1);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use arrow::ipc::reader::StreamDecoder;
use arrow::ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteContext};
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status, Streaming};

use crate::ipc::{ReaderOptions, WriterOptions, decode_guarded, frame_message};
use crate::request::persistent_encoder;
use crate::{AnyRequest, Compression, Error, IpcFormat, Signal};

/// Why a [`TelemetrySink`] did not take a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Temporarily out of capacity: the client should retry later.
    Overloaded {
        /// A hint for the client, sent as the `retry-after` header (seconds).
        retry_after: Option<Duration>,
    },
    /// The request will never be accepted.
    Rejected(String),
}

impl Refusal {
    fn into_status(self) -> Status {
        match self {
            Refusal::Overloaded { retry_after } => {
                let mut status = Status::resource_exhausted("receiver overloaded, retry later");
                if let Some(after) = retry_after
                    && let Ok(value) = after.as_secs().max(1).to_string().parse()
                {
                    status.metadata_mut().insert("retry-after", value);
                }
                status
            }
            Refusal::Rejected(reason) => Status::invalid_argument(reason),
        }
    }
}

/// Where a [`FlightServer`] delivers decoded requests.
pub trait TelemetrySink: Send + Sync + 'static {
    /// Takes one request. The server acknowledges the batch once this resolves `Ok`,
    /// and reads nothing more from the client while it is pending.
    fn consume(&self, request: AnyRequest) -> BoxFuture<'static, Result<(), Refusal>>;
}

/// An Arrow Flight service whose `do_put` receives OTLP as Arrow. Every other Flight
/// method answers `UNIMPLEMENTED`.
pub struct FlightServer<S> {
    sink: Arc<S>,
    token: Option<Arc<str>>,
    limits: ReaderOptions,
}

impl<S> std::fmt::Debug for FlightServer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlightServer")
            .field("auth", &self.token.is_some())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<S: TelemetrySink> FlightServer<S> {
    /// A server delivering to `sink`. With a `token`, every call must carry
    /// `authorization: Bearer <token>`.
    pub fn new(sink: S, token: Option<String>) -> Self {
        Self {
            sink: Arc::new(sink),
            token: token.map(Arc::from),
            limits: ReaderOptions::default(),
        }
    }

    /// Replaces the per-message size limit.
    pub fn with_limits(mut self, limits: ReaderOptions) -> Self {
        self.limits = limits;
        self
    }

    /// The tonic service, with gRPC message limits matching the IPC limits.
    pub fn into_service(self) -> FlightServiceServer<Self> {
        let limit = usize::try_from(self.limits.max_message_bytes)
            .unwrap_or(usize::MAX)
            .saturating_mul(2);
        FlightServiceServer::new(self)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit)
            .accept_compressed(CompressionEncoding::Zstd)
            .accept_compressed(CompressionEncoding::Gzip)
    }

    fn authenticate(&self, metadata: &MetadataMap) -> Result<(), Status> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Status::unauthenticated("missing bearer token"))?;
        if constant_time_eq(presented.as_bytes(), token.as_bytes()) {
            Ok(())
        } else {
            Err(Status::unauthenticated("invalid bearer token"))
        }
    }
}

/// Compares without an early exit, so the time taken does not reveal how much of a
/// guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Turns the `FlightData` messages of one `do_put`, in order, into requests: what the server does with each
/// message before handing a request to the sink.
struct FlightDecoder {
    decoder: StreamDecoder,
    limits: ReaderOptions,
}

impl FlightDecoder {
    fn new(limits: ReaderOptions) -> Self {
        Self {
            decoder: StreamDecoder::new(),
            limits,
        }
    }

    /// The request completed by `data`, `None` for a message that completes none (the schema, a dictionary).
    fn decode(&mut self, data: &FlightData) -> Result<Option<AnyRequest>, Error> {
        let mut framed = frame_message(&data.data_header, &data.data_body, &self.limits)?;
        match decode_guarded(&mut self.decoder, &mut framed)? {
            Some(batch) => crate::decode_batch(&batch).map(Some),
            None => Ok(None),
        }
    }
}

struct PutState<S> {
    input: Streaming<FlightData>,
    decoder: FlightDecoder,
    sink: Arc<S>,
    acked: u64,
    done: bool,
}

impl<S: TelemetrySink> PutState<S> {
    /// Reads until the next batch is decoded and consumed; `None` at the end.
    async fn next_ack(&mut self) -> Option<Result<PutResult, Status>> {
        if self.done {
            return None;
        }
        let result = self.next_batch().await;
        if !matches!(result, Some(Ok(_))) {
            self.done = true;
        }
        result
    }

    async fn next_batch(&mut self) -> Option<Result<PutResult, Status>> {
        loop {
            let data = match self.input.message().await {
                Ok(Some(data)) => data,
                Ok(None) => return None,
                Err(status) => return Some(Err(status)),
            };
            let telemetry = match self.decoder.decode(&data) {
                Ok(Some(telemetry)) => telemetry,
                Ok(None) => continue,
                Err(e) => return Some(Err(Status::invalid_argument(e.to_string()))),
            };
            if let Err(refusal) = self.sink.consume(telemetry).await {
                return Some(Err(refusal.into_status()));
            }
            self.acked += 1;
            return Some(Ok(PutResult {
                app_metadata: Bytes::copy_from_slice(&self.acked.to_le_bytes()),
            }));
        }
    }
}

type FlightStream<T> = BoxStream<'static, Result<T, Status>>;

fn unimplemented<T>(method: &str) -> Result<T, Status> {
    Err(Status::unimplemented(format!(
        "{method} is not supported: this server only receives OTLP through do_put"
    )))
}

#[tonic::async_trait]
impl<S: TelemetrySink> FlightService for FlightServer<S> {
    type HandshakeStream = FlightStream<HandshakeResponse>;
    type ListFlightsStream = FlightStream<FlightInfo>;
    type DoGetStream = FlightStream<FlightData>;
    type DoPutStream = FlightStream<PutResult>;
    type DoExchangeStream = FlightStream<FlightData>;
    type DoActionStream = FlightStream<arrow_flight::Result>;
    type ListActionsStream = FlightStream<ActionType>;

    async fn handshake(
        &self,
        _request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        unimplemented("handshake (send the bearer token in `authorization`)")
    }

    async fn list_flights(
        &self,
        _request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        unimplemented("list_flights")
    }

    async fn get_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        unimplemented("get_flight_info")
    }

    async fn poll_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        unimplemented("poll_flight_info")
    }

    async fn get_schema(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        unimplemented("get_schema")
    }

    async fn do_get(
        &self,
        _request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        unimplemented("do_get")
    }

    async fn do_put(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        self.authenticate(request.metadata())?;
        let state = PutState {
            input: request.into_inner(),
            decoder: FlightDecoder::new(self.limits),
            sink: Arc::clone(&self.sink),
            acked: 0,
            done: false,
        };
        let acks = stream::unfold(state, |mut state| async move {
            let item = state.next_ack().await?;
            Some((item, state))
        });
        Ok(Response::new(acks.boxed()))
    }

    async fn do_exchange(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        unimplemented("do_exchange")
    }

    async fn do_action(
        &self,
        _request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        unimplemented("do_action")
    }

    async fn list_actions(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        unimplemented("list_actions")
    }
}

/// Sends OTLP requests to a [`FlightServer`] (or any Flight server that understands
/// this crate's layout) and waits for their acknowledgements.
///
/// By default each Flight message is compressed whole with gRPC's zstd encoding and the
/// Arrow buffers inside it are not: one zstd frame per message compresses the IPC
/// metadata too and skips the per-buffer frame overhead, which is smaller at every batch
/// size measured (docs/benchmarks.md, `otlp-arrow-sizes`). A server that does not accept
/// zstd needs [`with_transport_compression(false)`](Self::with_transport_compression)
/// and, to stay compact, [`with_options`](Self::with_options) with buffer compression.
#[derive(Debug, Clone)]
pub struct FlightClient {
    channel: Channel,
    token: Option<String>,
    options: WriterOptions,
    transport_zstd: bool,
}

impl FlightClient {
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:4319`).
    pub async fn connect(
        endpoint: impl Into<String>,
        token: Option<String>,
    ) -> Result<Self, Error> {
        let endpoint = Endpoint::from_shared(endpoint.into())
            .map_err(|e| Error::NotAcknowledged(format!("invalid endpoint: {e}")))?;
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| Error::NotAcknowledged(format!("cannot connect: {e}")))?;
        Ok(Self::new(channel, token))
    }

    /// A client on an existing channel.
    pub fn new(channel: Channel, token: Option<String>) -> Self {
        Self {
            channel,
            token,
            options: WriterOptions::new(IpcFormat::Stream).with_compression(Compression::None),
            transport_zstd: true,
        }
    }

    /// Replaces the IPC options (buffer compression, delta dictionaries).
    pub fn with_options(mut self, options: WriterOptions) -> Self {
        self.options = options;
        self
    }

    /// Whether Flight messages go out with gRPC zstd compression (the default).
    pub fn with_transport_compression(mut self, zstd: bool) -> Self {
        self.transport_zstd = zstd;
        self
    }

    /// Sends `requests` (all of one signal) as one Flight stream and returns how many
    /// batches the server acknowledged: all of them, or an error.
    pub async fn send(&mut self, requests: &[AnyRequest]) -> Result<u64, Error> {
        let Some(signal) = requests.first().map(AnyRequest::signal) else {
            return Ok(0);
        };
        let messages = encode_flight_data(signal, requests, &self.options)?;
        let mut request = Request::new(stream::iter(messages));
        if let Some(token) = &self.token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| Error::NotAcknowledged("token is not a valid header value".into()))?;
            request.metadata_mut().insert("authorization", value);
        }
        let mut client = FlightServiceClient::new(self.channel.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        if self.transport_zstd {
            client = client.send_compressed(CompressionEncoding::Zstd);
        }
        let mut acks = client
            .do_put(request)
            .await
            .map_err(|s| Error::Flight(Box::new(s)))?
            .into_inner();
        let mut acked = 0u64;
        while let Some(ack) = acks
            .message()
            .await
            .map_err(|s| Error::Flight(Box::new(s)))?
        {
            acked += 1;
            let sequence = <[u8; 8]>::try_from(ack.app_metadata.as_ref())
                .map(u64::from_le_bytes)
                .map_err(|_| {
                    Error::NotAcknowledged("acknowledgement without a sequence number".into())
                })?;
            if sequence != acked {
                return Err(Error::NotAcknowledged(format!(
                    "acknowledgement {sequence} arrived as number {acked}"
                )));
            }
        }
        let sent = requests.len() as u64;
        if acked != sent {
            return Err(Error::NotAcknowledged(format!(
                "{acked} of {sent} batches acknowledged"
            )));
        }
        Ok(acked)
    }
}

/// The Flight messages of one stream: schema, then dictionaries and a batch per request.
fn encode_flight_data(
    signal: Signal,
    requests: &[AnyRequest],
    options: &WriterOptions,
) -> Result<Vec<FlightData>, Error> {
    let mut encoder = persistent_encoder(signal);
    let ipc = options.ipc_options()?;
    let generator = IpcDataGenerator::default();
    // Replacement is allowed in a stream (after a dictionary overflow the encoder
    // starts afresh), so the tracker must not refuse it.
    let mut tracker = DictionaryTracker::new(false);
    let mut context = IpcWriteContext::default();
    let mut out = Vec::with_capacity(requests.len() * 4 + 1);
    let mut schema_sent = false;
    for request in requests {
        let batch = encoder.encode_for_stream(request)?;
        if !schema_sent {
            let schema = generator.schema_to_bytes_with_dictionary_tracker(
                batch.schema_ref(),
                &mut tracker,
                &ipc,
            );
            out.push(FlightData::from(schema));
            schema_sent = true;
        }
        let (dictionaries, batch) = generator.encode(&batch, &mut tracker, &ipc, &mut context)?;
        out.extend(dictionaries.into_iter().map(FlightData::from));
        out.push(FlightData::from(batch));
    }
    Ok(out)
}

/// Entry points for `otlp-fuzz` only, not part of this crate's API: the Flight server's decoding without a
/// gRPC server around it, and the client's encoding to make seed inputs and check round trips.
#[doc(hidden)]
pub mod fuzzing {
    use super::{FlightData, FlightDecoder, encode_flight_data};
    use crate::{AnyRequest, Error, ReaderOptions, Signal, WriterOptions};

    /// Decodes the messages of one `do_put` as [`FlightServer`](super::FlightServer) does: the requests up to
    /// the first message it refuses, and why it refused that one.
    pub fn decode_flight(
        messages: &[FlightData],
        limits: ReaderOptions,
    ) -> (Vec<AnyRequest>, Option<Error>) {
        let mut decoder = FlightDecoder::new(limits);
        let mut requests = Vec::new();
        for message in messages {
            match decoder.decode(message) {
                Ok(Some(request)) => requests.push(request),
                Ok(None) => {}
                Err(error) => return (requests, Some(error)),
            }
        }
        (requests, None)
    }

    /// The messages [`FlightClient::send`](super::FlightClient::send) sends for `requests`.
    pub fn encode_flight(
        signal: Signal,
        requests: &[AnyRequest],
        options: &WriterOptions,
    ) -> Result<Vec<FlightData>, Error> {
        encode_flight_data(signal, requests, options)
    }
}
