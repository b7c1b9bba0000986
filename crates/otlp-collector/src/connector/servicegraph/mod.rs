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

use super::Targets;
use super::from_spans::{self, FromSpans, Schedule, unix_nanos};
use super::spanmetrics::encoded;
use crate::Signal;
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::Consumer;
use crate::telemetry::Counter;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_model::wire::WireError;
use sides::{Pairing, Uncounted};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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
        let schedule = Schedule {
            send_every: settings.flush_interval,
            housekeeping: Some(settings.expiration_loop),
        };
        let labels = [("connector", context.id)];
        let graphing = Graphing {
            id: context.id.to_string(),
            timestamp_offset: settings.timestamp_offset,
            pairing: parking_lot::Mutex::new(Pairing::new(
                settings,
                unix_nanos(Duration::ZERO),
                Instant::now(),
            )),
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
            warned: Warned::default(),
        };
        Ok(from_spans::connector(
            graphing,
            context.id,
            context.telemetry,
            targets,
            schedule,
        ))
    }
}

/// What has been logged once already.
#[derive(Default)]
struct Warned {
    unnamed: AtomicBool,
    store_full: AtomicBool,
}

/// The requests being paired, and the graph of those that were.
struct Graphing {
    id: String,
    pairing: parking_lot::Mutex<Pairing>,
    dropped_spans: Counter,
    expired_edges: Counter,
    timestamp_offset: Duration,
    warned: Warned,
}

/// A batch's time, and what of it could not be paired.
struct Reading {
    now: Instant,
    uncounted: Uncounted,
}

impl FromSpans for Graphing {
    type Reading = Reading;
    type Output = ExportMetricsServiceRequest;

    fn begin(&self) -> Reading {
        Reading {
            now: Instant::now(),
            uncounted: Uncounted::default(),
        }
    }

    fn read_encoded(&self, bytes: &[u8], reading: &mut Reading) -> Result<(), WireError> {
        // Read in place before taking the pairing, which the pipeline's other tasks share.
        let request = encoded::parse(bytes)?;
        self.pairing
            .lock()
            .encoded(&request, reading.now, &mut reading.uncounted);
        Ok(())
    }

    fn read_decoded(&self, request: &ExportTraceServiceRequest, reading: &mut Reading) {
        self.pairing
            .lock()
            .decoded(request, reading.now, &mut reading.uncounted);
    }

    fn end(&self, reading: Reading) {
        let uncounted = reading.uncounted;
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

    fn output(&self) -> Option<ExportMetricsServiceRequest> {
        self.pairing
            .lock()
            .graph
            .metrics(unix_nanos(self.timestamp_offset))
    }

    fn housekeep(&self) {
        let expired = self.pairing.lock().housekeep(Instant::now());
        self.expired_edges.add(expired as u64);
    }
}
