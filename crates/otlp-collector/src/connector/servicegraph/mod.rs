//! The `servicegraph` connector: otelcol-contrib's, turning the spans a traces pipeline exports into the metrics
//! of a service graph (the requests between services, as Grafana and Tempo draw them) for metrics pipelines.
//!
//! A request between two services leaves a span on each side: a client (or producer) span in the caller, and a
//! server (or consumer) span in the callee whose parent it is. Each side waits in a store under the trace and the
//! client span's id until the other arrives (`store.ttl`, 2s, at most `store.max_items` waiting); the request is
//! then counted in `traces_service_graph_request_total` (and `_failed_total` when either side failed), and each
//! side's duration in the `traces_service_graph_request_server` and `_client` histograms, in seconds, per
//! `client`, `server`, `connection_type`, `failed` and the configured `dimensions`. A client span with a
//! database name attribute (`db.name`) is a request to that database on its own. A side whose pair never came
//! becomes a request to or from a virtual node (`virtual_node_peer_attributes`). The series are cumulative, sent
//! every `metrics_flush_interval` (60s), and once more when the feeding pipeline flushes or shuts down.
//!
//! Both sides of a request must reach the same collector: behind a fleet, route traces by trace id (the
//! `loadbalancing` exporter) to the collectors running this connector.

mod config;
mod edges;
mod series;
mod sides;

pub use config::{ServiceGraphConfig, StoreConfig};

use super::spanmetrics::encoded;
use super::{Handoff, Targets};
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::{BoxFuture, Consumer, Refusal, Refused, deliver};
use crate::telemetry::{Counter, DropCounter};
use crate::wait::{Deadline, Driver};
use crate::{Batch, Signal};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use sides::{Pairing, Uncounted};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How many requests of a batch are read before the task lets others run.
const REQUESTS_BETWEEN_YIELDS: usize = 8;

/// The `servicegraph` connector type.
pub struct Factory;

impl Component for Factory {
    type Config = ServiceGraphConfig;
    const TYPE: &'static str = "servicegraph";

    fn validate(&self, config: &ServiceGraphConfig) -> Result<(), Invalid> {
        match config.compile() {
            Ok(_) => Ok(()),
            Err(problems) => Invalid::all(problems),
        }
    }
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = &[(Signal::Traces, Signal::Metrics)];

    fn build(
        &self,
        config: &ServiceGraphConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let settings = config.compile().map_err(super::settings_error)?;
        let loops = Loops {
            flush: settings.flush_interval,
            expire: settings.expiration_loop,
            drop_stale: settings.cache_loop,
        };
        let timestamp_offset = settings.timestamp_offset;
        let labels = [("connector", context.id)];
        let shared = Arc::new(Shared {
            id: context.id.to_string(),
            pairing: parking_lot::Mutex::new(Pairing::new(settings, unix_nanos(Duration::ZERO))),
            targets: Handoff(targets),
            dropped: DropCounter::new(
                context.telemetry,
                "otelcol_connector_dropped",
                "connector",
                context.id,
            ),
            dropped_spans: context.telemetry.counter(
                "otelcol_connector_servicegraph_dropped_spans",
                "Spans not paired because the store of requests waiting for their other side was full.",
                &labels,
            ),
            expired_edges: context.telemetry.counter(
                "otelcol_connector_servicegraph_expired_edges",
                "Requests whose other side did not arrive within the store's ttl.",
                &labels,
            ),
            timestamp_offset,
            stopping: Notify::new(),
            warned: Warned::default(),
        });
        Ok(Arc::new(ServiceGraph {
            flush_every_batch: loops.flush.is_none(),
            ticker: Driver::spawn(tick(shared.clone(), loops)),
            shared,
        }))
    }
}

/// How often the ticker does each of its jobs.
struct Loops {
    /// `None`: the metrics go after every batch instead.
    flush: Option<Duration>,
    expire: Duration,
    drop_stale: Duration,
}

/// What has been logged once already.
#[derive(Default)]
struct Warned {
    unnamed: AtomicBool,
    store_full: AtomicBool,
}

struct Shared {
    id: String,
    pairing: parking_lot::Mutex<Pairing>,
    targets: Handoff,
    dropped: DropCounter,
    dropped_spans: Counter,
    expired_edges: Counter,
    timestamp_offset: Duration,
    /// Told once when shutdown begins: the ticker stops.
    stopping: Notify,
    warned: Warned,
}

impl Shared {
    /// Applies every span of an encoded request, read in place before taking the pairing (which the pipeline's
    /// other tasks share).
    fn pair_encoded(&self, bytes: &[u8], now: std::time::Instant, uncounted: &mut Uncounted) {
        match encoded::parse(bytes) {
            Ok(request) => self.pairing.lock().encoded(&request, now, uncounted),
            // Not for a request the receiver accepted; prost decides, and names what is wrong.
            Err(_) => match ExportTraceServiceRequest::decode(bytes) {
                Ok(request) => self.pair_decoded(&request, now, uncounted),
                Err(error) => {
                    tracing::warn!(connector = %self.id, %error,
                        "a request that does not decode was not read for the service graph");
                }
            },
        }
    }

    fn pair_decoded(
        &self,
        request: &ExportTraceServiceRequest,
        now: std::time::Instant,
        uncounted: &mut Uncounted,
    ) {
        self.pairing.lock().decoded(request, now, uncounted);
    }

    fn report(&self, uncounted: Uncounted) {
        if uncounted.store_full > 0 {
            self.dropped_spans.add(uncounted.store_full as u64);
            if !self.warned.store_full.swap(true, Ordering::Relaxed) {
                tracing::warn!(connector = %self.id, spans = uncounted.store_full,
                    "the store of requests waiting for their other side is full; spans of new requests are not \
                     paired (otelcol_connector_servicegraph_dropped_spans); raise `store.max_items` (logged once)");
            }
        }
        if uncounted.unnamed > 0 && !self.warned.unnamed.swap(true, Ordering::Relaxed) {
            tracing::warn!(connector = %self.id, spans = uncounted.unnamed,
                "spans whose resource has no service.name are no side of any request, as in otelcol (logged once)");
        }
    }

    /// Gives up on the requests that waited their time.
    fn expire(&self) {
        let expired = self.pairing.lock().expire(std::time::Instant::now());
        self.expired_edges.add(expired as u64);
    }

    /// Sends the metrics of every series to the metrics pipelines, waiting while they are full until
    /// `deadline`, then counting them as dropped.
    async fn send(&self, deadline: Instant) {
        let Some(request) = self
            .pairing
            .lock()
            .graph
            .metrics(unix_nanos(self.timestamp_offset))
        else {
            return;
        };
        let until = Deadline::new();
        until.set(deadline);
        deliver(
            &self.targets,
            Batch::new(request),
            &until,
            &self.dropped,
            &self.id,
        )
        .await;
    }
}

/// Expires waiting requests, drops stale series and sends the metrics, each on its own interval, until shutdown
/// begins; a send still waiting on full pipelines when the next one is due gives up.
async fn tick(shared: Arc<Shared>, loops: Loops) {
    let start = Instant::now();
    let mut expire = start + loops.expire;
    let mut drop_stale = start + loops.drop_stale;
    // Without an interval the metrics go after every batch; the flush arm then never fires.
    let mut flush = start + loops.flush.unwrap_or(Duration::from_secs(u32::MAX.into()));
    loop {
        let next = expire.min(drop_stale).min(flush);
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = shared.stopping.notified() => return,
        }
        let now = Instant::now();
        if now >= expire {
            shared.expire();
            expire = now + loops.expire;
        }
        if now >= drop_stale {
            shared.pairing.lock().drop_stale(std::time::Instant::now());
            drop_stale = now + loops.drop_stale;
        }
        if let Some(interval) = loops.flush
            && now >= flush
        {
            flush = now + interval;
            shared.send(flush).await;
        }
    }
}

/// Unix nanoseconds, `offset` ago.
fn unix_nanos(offset: Duration) -> u64 {
    SystemTime::now()
        .checked_sub(offset)
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

struct ServiceGraph {
    shared: Arc<Shared>,
    ticker: Driver,
    flush_every_batch: bool,
}

impl Consumer for ServiceGraph {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        let shared = &self.shared;
        if batch.signal() != Signal::Traces {
            let refusal = Refusal::permanent(format!(
                "{}: {} data sent to a traces connector",
                shared.id,
                batch.signal()
            ));
            return Box::pin(async move { Err(Refused::returning(refusal, batch)) });
        }
        Box::pin(async move {
            let now = std::time::Instant::now();
            let mut uncounted = Uncounted::default();
            match batch.encoded() {
                Some(requests) => {
                    for (i, bytes) in requests.enumerate() {
                        // As in `spanmetrics`: the receivers' requests get their turn between requests of a batch.
                        if i > 0 && i % REQUESTS_BETWEEN_YIELDS == 0 {
                            tokio::task::yield_now().await;
                        }
                        shared.pair_encoded(bytes, now, &mut uncounted);
                    }
                }
                None => {
                    if let Some(request) = batch.get::<ExportTraceServiceRequest>() {
                        shared.pair_decoded(request, now, &mut uncounted);
                    }
                }
            }
            shared.report(uncounted);
            if self.flush_every_batch {
                shared.send(Instant::now() + FLUSH_EVERY_BATCH_WAIT).await;
            }
            Ok(())
        })
    }

    fn ready(&self, _items: usize) -> BoxFuture<'_, ()> {
        // Pairing never refuses.
        Box::pin(async {})
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        Box::pin(self.shared.send(deadline))
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        // As `spanmetrics`: each feeding pipeline's shutdown sends what was counted since, before the metrics
        // pipelines shut down.
        Box::pin(async move {
            self.shared.stopping.notify_one();
            self.ticker.stop(deadline).await;
            self.shared.send(deadline).await;
        })
    }
}

/// With `metrics_flush_interval: 0`, how long a batch waits for full metrics pipelines before its metrics are
/// counted as dropped: the traces pipeline must not stall behind them.
const FLUSH_EVERY_BATCH_WAIT: Duration = Duration::from_secs(1);
