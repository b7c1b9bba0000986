//! `otlp-suite loadgen`: sends realistic OTLP trace traffic to a collector at a fixed rate or
//! as fast as it answers, and reports throughput, refusals and latency.
//!
//! The requests come from [`otlp_testkit::Generator`]: a pool of distinct requests is
//! generated and protobuf-encoded once before the clock starts, so neither generation nor
//! encoding limits the throughput being measured; every send patches fresh trace and span ids
//! and current timestamps into a copy of the pooled bytes ([`fresh`]), so no two requests repeat
//! an id. Each connection is served by its own task;
//! with `--rate` all tasks share one absolute schedule (request *k* is due at
//! `start + k × interval`), so the rate does not drift however the server's latency varies.
//! A retryable refusal (gRPC `UNAVAILABLE`/`RESOURCE_EXHAUSTED`, HTTP 429/503) is counted and
//! honoured by pausing that connection for the server's hint (`RetryInfo` or `Retry-After`,
//! at most one second); the refused request is not sent again.
//!
//! gRPC requests go through tonic's generic client with a pass-through codec, so the
//! pre-encoded bytes are sent as they are: the same bytes on the wire as `TraceServiceClient`
//! would produce, without a clone and an encode per request. Compression (`--compression`)
//! is tonic's per-message compression for gRPC; HTTP bodies are compressed once, up front.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod args;
mod fresh;
mod report;

use crate::error::Error;
pub use args::{Compression, LoadgenArgs, Protocol};
use args::{Pace, validate};
use bytes::{BufMut, Bytes};
use fresh::{IdKeys, Template};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use otlp_testkit::{Generator, span_count};
use prost::Message;
pub use report::LoadgenReport;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A request that takes longer than this counts as failed, so a stuck server cannot stop
/// the run from ending.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest pause a server's retry hint can impose on a connection.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// The pause after a refusal that came without a hint.
const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);
/// The pause after a failed request, so a dead or broken server is not hammered in a tight loop.
const FAILURE_BACKOFF: Duration = Duration::from_millis(50);
/// Distinct requests in the pool, unless that would hold more than `MAX_POOLED_SPANS`.
const POOL_REQUESTS: usize = 64;
const MAX_POOLED_SPANS: usize = 2_000_000;

/// One pooled request: its protobuf bytes with the places of its ids and timestamps, and its span count.
struct Payload {
    template: Template,
    spans: u64,
}

/// How every send turns a pooled request into fresh bytes.
struct Freshness {
    /// Mixed into every id key, so two runs do not repeat ids either.
    nonce: u64,
    /// When the pool's timestamps were generated (nanoseconds since the Unix epoch).
    generated_at: u64,
    /// HTTP bodies are compressed after patching; gRPC compresses inside tonic.
    compression: Option<Compression>,
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Freshness {
    /// The body of pooled request `payload` for pass `pass` of connection `connection`.
    fn body(&self, payload: &Payload, connection: u64, pass: u64) -> Result<Bytes, Error> {
        let shift = unix_nanos(SystemTime::now()).saturating_sub(self.generated_at);
        let encoded = payload
            .template
            .render(IdKeys::new(self.nonce, connection, pass), shift);
        let compressed = match self.compression {
            None | Some(Compression::None) => return Ok(encoded),
            Some(Compression::Gzip) => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder
                    .write_all(&encoded)
                    .and_then(|()| encoder.finish())
                    .map_err(|e| Error::Worker(format!("gzip of a request body failed: {e}")))?
            }
            Some(Compression::Zstd) => zstd::bulk::compress(&encoded, 1)
                .map_err(|e| Error::Worker(format!("zstd of a request body failed: {e}")))?,
        };
        Ok(Bytes::from(compressed))
    }
}

/// The answer to one request.
enum Outcome {
    Accepted {
        rejected_spans: u64,
    },
    Refused {
        retry_after: Option<Duration>,
    },
    /// Why, for the report: a count of failures alone does not say whether the port or the protocol is wrong.
    Failed(String),
}

/// A tonic codec that sends bytes already encoded as `ExportTraceServiceRequest`, so the
/// pool is encoded once instead of on every send; the bytes on the wire are the same.
#[derive(Debug, Clone, Copy, Default)]
struct PreEncodedCodec;

#[derive(Debug, Clone, Copy, Default)]
struct PreEncodedEncoder;

#[derive(Debug, Clone, Copy, Default)]
struct ResponseDecoder;

impl Codec for PreEncodedCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = PreEncodedEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncodedEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

impl Encoder for PreEncodedEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| {
                tonic::Status::internal(format!("invalid ExportTraceServiceResponse: {e}"))
            })
    }
}

/// One connection's client.
enum Sender {
    Grpc {
        grpc: tonic::client::Grpc<Channel>,
        /// `--header`s, sent with every call.
        metadata: tonic::metadata::MetadataMap,
    },
    Http {
        client: reqwest::Client,
        url: reqwest::Url,
        content_encoding: Option<&'static str>,
    },
}

fn rejected_spans(response: &ExportTraceServiceResponse) -> u64 {
    response
        .partial_success
        .as_ref()
        .map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0))
}

/// `Retry-After` in its delay-seconds form; an HTTP date falls back to the default pause.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl Sender {
    async fn send(&mut self, body: Bytes) -> Outcome {
        match self {
            Sender::Grpc { grpc, metadata } => {
                if let Err(error) = grpc.ready().await {
                    return Outcome::Failed(describe(&error));
                }
                let mut request = tonic::Request::new(body);
                if !metadata.is_empty() {
                    *request.metadata_mut() = metadata.clone();
                }
                let path = PathAndQuery::from_static(EXPORT_PATH);
                match grpc.unary(request, path, PreEncodedCodec).await {
                    Ok(response) => Outcome::Accepted {
                        rejected_spans: rejected_spans(response.get_ref()),
                    },
                    Err(status) => {
                        let refusal = matches!(
                            status.code(),
                            tonic::Code::Unavailable | tonic::Code::ResourceExhausted
                        );
                        // tonic also reports a broken connection as UNAVAILABLE, with the
                        // transport error as its source; only the server's own answer is a refusal.
                        let from_server = std::error::Error::source(&status).is_none();
                        if refusal && from_server {
                            let retry_after = status
                                .get_details_retry_info()
                                .and_then(|info| info.retry_delay);
                            Outcome::Refused { retry_after }
                        } else {
                            let reason = format!("{:?}: {}", status.code(), status.message());
                            match std::error::Error::source(&status) {
                                Some(cause) => {
                                    Outcome::Failed(format!("{reason}: {}", describe(cause)))
                                }
                                None => Outcome::Failed(reason),
                            }
                        }
                    }
                }
            }
            Sender::Http {
                client,
                url,
                content_encoding,
            } => {
                let mut request = client
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
                    .body(body);
                if let Some(encoding) = content_encoding {
                    request = request.header(reqwest::header::CONTENT_ENCODING, *encoding);
                }
                let response = match request.send().await {
                    Ok(response) => response,
                    Err(error) => return Outcome::Failed(describe(&error)),
                };
                let status = response.status();
                if status.is_success() {
                    let rejected_spans = match response.bytes().await {
                        Ok(body) => ExportTraceServiceResponse::decode(body)
                            .map_or(0, |r| rejected_spans(&r)),
                        Err(error) => return Outcome::Failed(describe(&error)),
                    };
                    Outcome::Accepted { rejected_spans }
                } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || status == reqwest::StatusCode::SERVICE_UNAVAILABLE
                {
                    Outcome::Refused {
                        retry_after: retry_after(response.headers()),
                    }
                } else {
                    Outcome::Failed(http_failure(response).await)
                }
            }
        }
    }
}

/// An HTTP error answer as a reason: its status and the message of the `google.rpc.Status` (protobuf or JSON)
/// an OTLP server sends with it, else the start of the body.
async fn http_failure(response: reqwest::Response) -> String {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let message = tonic_types::Status::decode(body.clone())
        .ok()
        .map(|status| status.message)
        .filter(|message| !message.is_empty())
        .or_else(|| {
            let json: serde_json::Value = serde_json::from_slice(&body).ok()?;
            Some(json.get("message")?.as_str()?.to_owned())
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {message}")
    }
}

/// A readable chain of an error and its causes ("transport error: tcp connect error: ...").
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Generates and encodes the request pool before the clock starts.
fn build_pool(args: &LoadgenArgs) -> Result<(Vec<Payload>, Freshness), Error> {
    let requests = (MAX_POOLED_SPANS / args.spans_per_request).clamp(1, POOL_REQUESTS);
    let generated = SystemTime::now();
    let mut generator = Generator::new(args.seed).with_start_time(generated);
    let mut pool = Vec::with_capacity(requests);
    for _ in 0..requests {
        let request = generator.traces(args.spans_per_request);
        let spans = span_count(&request) as u64;
        let template = Template::new(Bytes::from(request.encode_to_vec())).ok_or_else(|| {
            Error::Worker("a generated request does not walk as protobuf".to_owned())
        })?;
        pool.push(Payload { template, spans });
    }
    let freshness = Freshness {
        nonce: args.seed ^ unix_nanos(generated).rotate_left(17),
        generated_at: unix_nanos(generated),
        compression: (args.protocol == Protocol::Http).then_some(args.compression),
    };
    Ok((pool, freshness))
}

/// Opens one connection per worker, failing fast when the endpoint does not answer.
async fn connect(
    args: &LoadgenArgs,
    endpoint: &str,
    url: &reqwest::Url,
) -> Result<Vec<Sender>, Error> {
    let connect_error = |reason: String| Error::Connect {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let mut senders = Vec::with_capacity(args.connections);
    let headers: reqwest::header::HeaderMap = args.headers.iter().cloned().collect();
    match args.protocol {
        Protocol::Grpc => {
            let target = Endpoint::from_shared(endpoint.to_owned())
                .map_err(|e| connect_error(describe(&e)))?
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT);
            for _ in 0..args.connections {
                // Each `connect` opens its own HTTP/2 connection.
                let channel = target
                    .connect()
                    .await
                    .map_err(|e| connect_error(describe(&e)))?;
                let mut grpc = tonic::client::Grpc::new(channel);
                grpc = match args.compression {
                    Compression::None => grpc,
                    Compression::Gzip => {
                        grpc.send_compressed(tonic::codec::CompressionEncoding::Gzip)
                    }
                    Compression::Zstd => {
                        grpc.send_compressed(tonic::codec::CompressionEncoding::Zstd)
                    }
                };
                senders.push(Sender::Grpc {
                    grpc,
                    metadata: tonic::metadata::MetadataMap::from_headers(headers.clone()),
                });
            }
        }
        Protocol::Http => {
            // reqwest connects lazily; probe the port so a wrong endpoint fails now, clearly.
            let host = url.host_str().unwrap_or("127.0.0.1");
            let port = url.port_or_known_default().unwrap_or(80);
            match tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio::net::TcpStream::connect((host, port)),
            )
            .await
            {
                Ok(Ok(_probe)) => {}
                Ok(Err(e)) => return Err(connect_error(describe(&e))),
                Err(_) => {
                    return Err(connect_error(format!(
                        "no answer within {}s",
                        CONNECT_TIMEOUT.as_secs()
                    )));
                }
            }
            let mut traces_url = url.clone();
            let base = url.path().trim_end_matches('/');
            if !base.ends_with("/v1/traces") {
                traces_url.set_path(&[base, "/v1/traces"].concat());
            }
            let content_encoding = match args.compression {
                Compression::None => None,
                Compression::Gzip => Some("gzip"),
                Compression::Zstd => Some("zstd"),
            };
            for _ in 0..args.connections {
                // A client per worker keeps one keep-alive connection per worker.
                let client = reqwest::Client::builder()
                    .default_headers(headers.clone())
                    .connect_timeout(CONNECT_TIMEOUT)
                    .timeout(REQUEST_TIMEOUT)
                    .pool_max_idle_per_host(1)
                    .build()
                    .map_err(|e| connect_error(describe(&e)))?;
                senders.push(Sender::Http {
                    client,
                    url: traces_url.clone(),
                    content_encoding,
                });
            }
        }
    }
    Ok(senders)
}

/// What one worker counted.
struct WorkerStats {
    spans_sent: u64,
    spans_rejected: u64,
    requests_ok: u64,
    requests_refused: u64,
    requests_failed: u64,
    first_failure: Option<String>,
    latency_micros: Histogram<u64>,
}

/// Latencies from 1 µs to 1 minute with three significant digits; longer ones saturate (the
/// request timeout is shorter anyway). A fixed range, because `saturating_record` on an
/// auto-resizing histogram saturates at its initial, tiny maximum instead of growing.
fn new_histogram() -> Result<Histogram<u64>, Error> {
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .map_err(|e| Error::Worker(format!("cannot create the latency histogram: {e}")))
}

struct Schedule {
    start: Instant,
    deadline: Instant,
    pace: Pace,
    next_slot: AtomicU64,
    accepted_spans: AtomicU64,
}

impl Schedule {
    /// When this worker may send next, or `None` when the run is over.
    fn next_send(&self) -> Option<Instant> {
        match self.pace {
            Pace::Max => (Instant::now() < self.deadline).then(Instant::now),
            Pace::Every(interval_ns) => {
                let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
                let offset = Duration::from_nanos((slot as f64 * interval_ns) as u64);
                let due = self.start.checked_add(offset)?;
                (due < self.deadline).then_some(due)
            }
        }
    }
}

/// What a worker sends: the pool, how to freshen it, and where this worker starts in it.
struct Work {
    pool: Arc<Vec<Payload>>,
    freshness: Arc<Freshness>,
    connection: u64,
    first: usize,
}

async fn worker(
    mut sender: Sender,
    work: Work,
    schedule: Arc<Schedule>,
    mut stats: WorkerStats,
) -> Result<WorkerStats, Error> {
    let Work {
        pool,
        freshness,
        connection,
        first,
    } = work;
    let mut sent = 0usize;
    while let Some(due) = schedule.next_send() {
        tokio::time::sleep_until(due).await;
        let Some(payload) = pool.get((first + sent) % pool.len().max(1)) else {
            break;
        };
        let pass = (sent / pool.len().max(1)) as u64;
        sent = sent.wrapping_add(1);
        let body = freshness.body(payload, connection, pass)?;
        let sent_at = Instant::now();
        let outcome = sender.send(body).await;
        let latency = sent_at.elapsed();
        let pause = match outcome {
            Outcome::Accepted { rejected_spans } => {
                let accepted = payload.spans.saturating_sub(rejected_spans);
                stats.requests_ok += 1;
                stats.spans_sent += accepted;
                stats.spans_rejected += rejected_spans;
                schedule
                    .accepted_spans
                    .fetch_add(accepted, Ordering::Relaxed);
                stats
                    .latency_micros
                    .saturating_record(latency.as_micros() as u64);
                None
            }
            Outcome::Refused { retry_after } => {
                stats.requests_refused += 1;
                stats
                    .latency_micros
                    .saturating_record(latency.as_micros() as u64);
                Some(retry_after.unwrap_or(DEFAULT_BACKOFF).min(MAX_BACKOFF))
            }
            Outcome::Failed(reason) => {
                stats.requests_failed += 1;
                stats.first_failure.get_or_insert(reason);
                Some(FAILURE_BACKOFF)
            }
        };
        if let Some(pause) = pause {
            let until = (Instant::now() + pause).min(schedule.deadline);
            tokio::time::sleep_until(until).await;
        }
    }
    Ok(stats)
}

fn progress_bar(args: &LoadgenArgs) -> ProgressBar {
    if args.no_progress || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(args.duration.as_millis() as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// Runs the load generator and reports what the server accepted.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for unusable arguments, [`Error::Connect`] when the endpoint
/// does not accept connections (within three seconds), [`Error::Worker`] if a worker task
/// ends abnormally.
pub async fn run(args: LoadgenArgs) -> Result<LoadgenReport, Error> {
    let (endpoint, url, pace) = validate(&args)?;
    let (pool, freshness) = build_pool(&args)?;
    let (pool, freshness) = (Arc::new(pool), Arc::new(freshness));
    let senders = connect(&args, &endpoint, &url).await?;

    let start = Instant::now();
    let schedule = Arc::new(Schedule {
        start,
        deadline: start + args.duration,
        pace,
        next_slot: AtomicU64::new(0),
        accepted_spans: AtomicU64::new(0),
    });
    let mut workers = Vec::with_capacity(senders.len());
    for (number, sender) in senders.into_iter().enumerate() {
        let stats = WorkerStats {
            spans_sent: 0,
            spans_rejected: 0,
            requests_ok: 0,
            requests_refused: 0,
            requests_failed: 0,
            first_failure: None,
            latency_micros: new_histogram()?,
        };
        // Spread the workers over the pool so they do not send the same request at once.
        let first = number * pool.len() / args.connections.max(1);
        let work = Work {
            pool: Arc::clone(&pool),
            freshness: Arc::clone(&freshness),
            connection: number as u64,
            first,
        };
        workers.push(tokio::spawn(worker(
            sender,
            work,
            Arc::clone(&schedule),
            stats,
        )));
    }

    let bar = progress_bar(&args);
    let ticker = {
        let bar = bar.clone();
        let schedule = Arc::clone(&schedule);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let elapsed = schedule.start.elapsed();
                let spans = schedule.accepted_spans.load(Ordering::Relaxed);
                let rate = spans as f64 / elapsed.as_secs_f64().max(1e-3);
                bar.set_position(elapsed.as_millis() as u64);
                bar.set_message(format!("{spans} spans, {rate:.0} spans/s"));
            }
        })
    };

    let mut report = LoadgenReport {
        spans_sent: 0,
        spans_rejected: 0,
        requests_ok: 0,
        requests_refused: 0,
        requests_failed: 0,
        first_failure: None,
        elapsed: Duration::ZERO,
        latency_p50: Duration::ZERO,
        latency_p99: Duration::ZERO,
        latency_max: Duration::ZERO,
    };
    let mut latency = new_histogram()?;
    let mut worker_error = None;
    for handle in workers {
        match handle.await {
            Ok(Err(error)) => worker_error = Some(error),
            Ok(Ok(stats)) => {
                report.spans_sent += stats.spans_sent;
                report.spans_rejected += stats.spans_rejected;
                report.requests_ok += stats.requests_ok;
                report.requests_refused += stats.requests_refused;
                report.requests_failed += stats.requests_failed;
                if report.first_failure.is_none() {
                    report.first_failure = stats.first_failure;
                }
                if let Err(e) = latency.add(&stats.latency_micros) {
                    worker_error = Some(Error::Worker(format!(
                        "cannot merge latency histograms: {e}"
                    )));
                }
            }
            Err(e) => worker_error = Some(Error::Worker(describe(&e))),
        }
    }
    // A paced run whose last request is due before the end (100 spans/s in requests of 100) still lasted the
    // whole duration: from its last answer, its rate would be that of one request.
    report.elapsed = start.elapsed().max(args.duration);
    ticker.abort();
    bar.finish_and_clear();
    if let Some(error) = worker_error {
        return Err(error);
    }
    if !latency.is_empty() {
        report.latency_p50 = Duration::from_micros(latency.value_at_quantile(0.5));
        report.latency_p99 = Duration::from_micros(latency.value_at_quantile(0.99));
        report.latency_max = Duration::from_micros(latency.max());
    }
    Ok(report)
}

#[cfg(test)]
mod against_servers;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_histogram_keeps_values_up_to_a_minute() {
        let mut histogram = new_histogram().expect("valid bounds");
        for micros in [150, 2_500, 45_000_000] {
            histogram.saturating_record(micros);
        }
        histogram.saturating_record(3_600_000_000);
        assert_eq!(histogram.len(), 4);
        assert!(histogram.equivalent(histogram.value_at_quantile(0.5), 2_500));
        assert!(
            histogram.max() >= 59_000_000,
            "an hour saturates at the minute bound"
        );
        assert!(histogram.equivalent(histogram.value_at_quantile(0.25), 150));
    }

    #[test]
    fn retry_after_accepts_seconds_only() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(
            reqwest::header::RETRY_AFTER,
            reqwest::header::HeaderValue::from_static("2"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
