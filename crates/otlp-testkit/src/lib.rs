//! Deterministic, realistic synthetic OpenTelemetry data for tests, benchmarks and load
//! generation.
//!
//! ```
//! use otlp_testkit::{Generator, data_point_count, log_record_count, span_count};
//!
//! let mut generator = Generator::new(42);
//! let traces = generator.traces(100);
//! assert_eq!(span_count(&traces), 100);
//!
//! // The same seed always yields the same data.
//! assert_eq!(Generator::new(42).traces(100), traces);
//!
//! assert_eq!(data_point_count(&generator.metrics(50)), 50);
//! assert_eq!(log_record_count(&generator.logs(20)), 20);
//! ```
//!
//! The data describes a microservice shop modelled on the OpenTelemetry demo: twelve
//! services (frontend, api-gateway, cart, checkout, payment, shipping, currency,
//! product-catalog, recommendation, email, ad, fraud-detection) written in eight languages,
//! each with its own [`Resource`](opentelemetry_proto::tonic::resource::v1::Resource) carrying
//! the semantic-convention resource attributes and one instrumentation scope per
//! instrumentation library. Postgres, Valkey (Redis) and Kafka appear as client, producer and
//! consumer spans.
//!
//! * **Traces** are trees that follow six request flows (product page, cart, add to cart,
//!   checkout with a Kafka hop to fraud detection, mobile API through the gateway, home
//!   page): a root `SERVER` span at the edge, `CLIENT`/`SERVER` pairs across services,
//!   `INTERNAL` work, database and cache `CLIENT` spans, `PRODUCER`/`CONSUMER` with a link.
//!   Attributes follow the current semantic conventions for HTTP, RPC, database and
//!   messaging spans, plus a few application attributes (`app.user.id`, `app.cart.items`,
//!   `app.order.amount`, `app.feature_flags`, `app.cache.hit`). Durations are log-normal and
//!   every child lies inside its parent. A configurable share of traces fails: one leaf gets
//!   an `exception` event and the error propagates to its synchronous callers.
//! * **Metrics** cover every point type: explicit-bucket and exponential histograms,
//!   cumulative and delta sums (int and double, monotonic and not), gauges and a legacy
//!   summary, with exemplars on some histogram points. Cumulative series only grow.
//! * **Logs** mix severities (mostly INFO), string and structured bodies, event names and
//!   trace correlation.
//!
//! Every request has exactly the number of items asked for. [`Generator::traces`] produces
//! whole traces and cuts the last one, keeping its rest for the next call, so a sequence of
//! calls yields complete traces the way a batching exporter would send them.
//!
//! With the `etcd` feature, `etcd::EtcdServer` starts a real etcd (Debian's `etcd-server`)
//! on free loopback ports for tests that need one, over TLS if asked; with the `pki` feature,
//! `pki::write_pki` writes the certificates such tests use. [`net::free_port`] names a loopback port for a
//! server that is started later without the race of binding port 0 and dropping it.
//!
//! Output depends only on the seed and the start time: randomness comes from
//! [`rand_chacha::ChaCha8Rng`], whose stream is fixed forever, and the default start time is
//! fixed at 2026-01-01T00:00:00Z.
// docs.rs (`--cfg docsrs`, nightly) marks each item with the features it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod catalog;
#[cfg(feature = "etcd")]
pub mod etcd;
mod logs;
mod metrics;
pub mod net;
#[cfg(feature = "pki")]
pub mod pki;
pub mod process;
mod trace;
mod util;

use catalog::Catalog;
use logs::LogState;
use metrics::MetricState;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_model::OtlpRequest;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trace::TraceState;

/// 2026-01-01T00:00:00Z, the default start time, in seconds since the Unix epoch.
const DEFAULT_START_SECS: u64 = 1_767_225_600;

/// The share of traces that fail unless [`Generator::with_error_rate`] says otherwise.
pub const DEFAULT_ERROR_RATE: f64 = 0.02;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The error rate is not a probability.
    #[error("error rate must be a probability between 0.0 and 1.0, got {0}")]
    InvalidErrorRate(f64),
}

/// A seeded generator of realistic OTLP requests for traces, metrics and logs.
///
/// Each signal draws from its own random stream, so the traces of a seed do not change when
/// metrics or logs are generated in between. Cloning is cheap (the service catalogue is
/// shared) and a clone continues exactly where the original stands.
#[derive(Clone)]
pub struct Generator {
    seed: u64,
    error_rate: f64,
    catalog: Arc<Catalog>,
    traces: TraceState,
    metrics: MetricState,
    logs: LogState,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("seed", &self.seed)
            .field("error_rate", &self.error_rate)
            .field("services", &self.catalog.services.len())
            .field("carried_over_spans", &self.traces.carried_over())
            .finish_non_exhaustive()
    }
}

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Generator {
    /// A generator whose output is a pure function of `seed`; timestamps start at
    /// 2026-01-01T00:00:00Z.
    pub fn new(seed: u64) -> Self {
        let catalog = Arc::new(Catalog::new(&mut stream(seed, 0)));
        let start = unix_nanos(UNIX_EPOCH + Duration::from_secs(DEFAULT_START_SECS));
        let series = catalog.series.len();
        Self {
            seed,
            error_rate: DEFAULT_ERROR_RATE,
            traces: TraceState::new(stream(seed, 1), start, DEFAULT_ERROR_RATE),
            metrics: MetricState::new(stream(seed, 2), start, series),
            logs: LogState::new(stream(seed, 3), start),
            catalog,
        }
    }

    /// Moves the timeline so that the first trace, metric interval and log record start at
    /// `start` (a load generator passes `SystemTime::now()`). Call it before generating.
    pub fn with_start_time(mut self, start: SystemTime) -> Self {
        let start = unix_nanos(start);
        self.traces.set_start(start);
        self.metrics.set_start(start);
        self.logs.set_start(start);
        self
    }

    /// Sets the share of traces that contain a failure (default [`DEFAULT_ERROR_RATE`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidErrorRate`] unless `0.0 <= error_rate <= 1.0`.
    pub fn with_error_rate(mut self, error_rate: f64) -> Result<Self, Error> {
        if !(0.0..=1.0).contains(&error_rate) {
            return Err(Error::InvalidErrorRate(error_rate));
        }
        self.error_rate = error_rate;
        self.traces.set_error_rate(error_rate);
        Ok(self)
    }

    /// The seed this generator was created with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The share of traces that contain a failure.
    pub fn error_rate(&self) -> f64 {
        self.error_rate
    }

    /// A request with exactly `spans` spans.
    ///
    /// The spans of the previous call's cut trace come first, then whole traces; the last
    /// trace may be cut again. Over a sequence of calls every trace is complete.
    pub fn traces(&mut self, spans: usize) -> ExportTraceServiceRequest {
        self.traces.request(&self.catalog, spans)
    }

    /// A request with the spans carried over from the previous [`traces`](Self::traces) call
    /// plus whole traces until it holds at least `min_spans` spans; no trace is cut.
    pub fn whole_traces(&mut self, min_spans: usize) -> ExportTraceServiceRequest {
        self.traces.whole_traces(&self.catalog, min_spans)
    }

    /// How many spans of a cut trace wait for the next [`traces`](Self::traces) call.
    pub fn carried_over_spans(&self) -> usize {
        self.traces.carried_over()
    }

    /// A request with exactly `data_points` metric data points.
    ///
    /// The series of all services are visited in turn; each full round is one 10 s
    /// collection interval later than the previous one.
    pub fn metrics(&mut self, data_points: usize) -> ExportMetricsServiceRequest {
        self.metrics.request(&self.catalog, data_points)
    }

    /// A request with exactly `records` log records.
    pub fn logs(&mut self, records: usize) -> ExportLogsServiceRequest {
        self.logs.request(&self.catalog, records)
    }
}

/// The number of spans in a trace request.
pub fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request.item_count()
}

/// The number of data points in a metrics request, counted the way OTLP does: every point
/// of every metric type (gauge, sum, histogram, exponential histogram, summary).
pub fn data_point_count(request: &ExportMetricsServiceRequest) -> usize {
    request.item_count()
}

/// The number of log records in a logs request.
pub fn log_record_count(request: &ExportLogsServiceRequest) -> usize {
    request.item_count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_latency_of_the_catalogue_is_a_valid_distribution() {
        let catalog = Catalog::new(&mut stream(1, 0));
        assert!(catalog.latencies_are_valid());
    }

    #[test]
    fn error_rate_outside_zero_to_one_is_rejected() {
        assert!(
            matches!(Generator::new(1).with_error_rate(1.5), Err(Error::InvalidErrorRate(r)) if r == 1.5)
        );
        assert!(Generator::new(1).with_error_rate(f64::NAN).is_err());
        assert!(Generator::new(1).with_error_rate(0.0).is_ok());
    }
}
