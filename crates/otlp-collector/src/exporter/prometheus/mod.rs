//! The `prometheus` exporter (otelcol-contrib's, metrics only): serves the last value of every series on
//! `http://<endpoint>/metrics` for a Prometheus server to scrape.
//!
//! ```yaml
//! exporters:
//!   prometheus:
//!     endpoint: "0.0.0.0:8889"
//!     namespace: shop
//!     const_labels: { cluster: eu-1 }
//!     enable_open_metrics: true
//! ```
//!
//! Names follow Prometheus's OTLP translation (`naming.rs`): `http.server.request.duration` of unit `s` is
//! `http_server_request_duration_seconds`, a monotonic sum ends in `_total`. Each series is labelled with its
//! point's attributes, its scope (`otel_scope_name`, `otel_scope_version`, …) and `job` and `instance` from the
//! resource's `service.*` attributes; the rest of the resource is the `target_info` metric's, unless
//! `resource_constant_labels` (or `resource_to_telemetry_conversion`) copies it onto every series
//! (`series.rs`). Deltas are summed into running totals, and a series is dropped `metric_expiration` after its
//! last point.
//!
//! Exponential histograms are served as classic histograms, one `le` bucket per populated exponential bucket at
//! scale 3 or coarser (bounds `2^(k/8)`, the same for every series, so that `sum by (le)` adds instances up): the
//! text formats cannot carry native histograms, and otelcol's exporter gives them only `_count` and `_sum` there,
//! where these buckets keep `histogram_quantile` working. Answers are gzipped for scrapers that accept it.

mod config;
mod exposition;
pub(in crate::exporter) mod labels;
pub(in crate::exporter) mod naming;
pub(in crate::exporter) mod series;

pub use config::{PrometheusExporterConfig, ResourceConstantLabels, ResourceToTelemetry};
pub use naming::Strategy;

use super::{Delivered, Export, ExportError, Exporter, HelperSettings};
use crate::admin::AdminServer;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::compression::{Compression, compress};
use crate::{AnyRequest, Batch, Signal};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use exposition::Format;
use parking_lot::Mutex;
use series::Registry;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// The `prometheus` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = PrometheusExporterConfig;
    const TYPE: &'static str = "prometheus";

    fn validate(&self, config: &PrometheusExporterConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ExporterFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    fn build(
        &self,
        config: &PrometheusExporterConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        // Bound now, so that a port in use fails the start (and a reload, which then restores the last config).
        let tls = config
            .tls
            .as_ref()
            .map(|tls| tls.acceptor(&[b"http/1.1"]))
            .transpose()
            .map_err(|message| format!("tls: {message}"))?;
        let listener = TcpListener::bind(&config.endpoint)
            .and_then(|listener| {
                listener.set_nonblocking(true)?;
                Ok(listener)
            })
            .map_err(|e| format!("cannot listen on {}: {e}", config.endpoint))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {}: {e}", config.endpoint))?;
        let mut settings = HelperSettings::local();
        if let Some(queue) = &config.sending_queue {
            settings.queue = queue.clone();
        }
        let export = PrometheusExport {
            id: context.id.to_owned(),
            endpoint: config.endpoint.clone(),
            addr,
            registry: Arc::new(Mutex::new(Registry::new(config))),
            open_metrics: config.enable_open_metrics,
            timestamps: config.send_timestamps,
            pending: Mutex::new(Some((listener, tls))),
            server: Mutex::new(None),
        };
        Ok(Exporter::new(export, settings))
    }
}

struct PrometheusExport {
    id: String,
    endpoint: String,
    addr: SocketAddr,
    registry: Arc<Mutex<Registry>>,
    open_metrics: bool,
    timestamps: bool,
    /// The bound listener until [`start`](Export::start) serves it.
    pending: Mutex<Option<(TcpListener, Option<TlsAcceptor>)>>,
    server: Mutex<Option<AdminServer>>,
}

impl Export for PrometheusExport {
    type Payload = Arc<Batch>;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Arc<Batch>, ExportError> {
        Ok(Arc::clone(batch))
    }

    async fn send(&self, batch: &Arc<Batch>) -> Result<Delivered, ExportError> {
        let AnyRequest::Metrics(request) = batch.request() else {
            return Ok(Delivered::default());
        };
        let refused = self.registry.lock().accumulate(request, Instant::now());
        Ok(Delivered {
            rejected: refused.points,
            message: refused.message(),
        })
    }

    fn start(&self) {
        let Some((listener, tls)) = self.pending.lock().take() else {
            return;
        };
        let component = format!("exporters.{}", self.id);
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => {
                tracing::error!(%component, error = %e, "cannot serve /metrics");
                return;
            }
        };
        let registry = Arc::clone(&self.registry);
        let (open_metrics, timestamps) = (self.open_metrics, self.timestamps);
        let router = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move |headers: HeaderMap| async move {
                scrape(&registry, &headers, open_metrics, timestamps)
            }),
        );
        match AdminServer::serve(&component, &self.endpoint, listener, tls, router) {
            Ok(server) => {
                tracing::info!(exporter = %self.id, addr = %server.addr, "serving /metrics");
                *self.server.lock() = Some(server);
            }
            Err(e) => tracing::error!(%component, error = %e, "cannot serve /metrics"),
        }
    }

    async fn shutdown(&self) {
        let server = self.server.lock().take();
        if let Some(server) = server {
            server.shutdown().await;
        }
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        Some(self.addr)
    }
}

/// One scrape: the current series in the format the scraper asks for, gzipped when it accepts that.
fn scrape(
    registry: &Mutex<Registry>,
    headers: &HeaderMap,
    open_metrics: bool,
    timestamps: bool,
) -> Response {
    let accepts = |name: header::HeaderName, what: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.contains(what))
    };
    let format = if open_metrics && accepts(header::ACCEPT, "application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::Text
    };
    let body = {
        let mut registry = registry.lock();
        registry.expire(Instant::now());
        exposition::render(&registry, format, timestamps)
    };
    let content_type = HeaderValue::from_static(format.content_type());
    if accepts(header::ACCEPT_ENCODING, "gzip")
        && let Ok(gzipped) = compress(Compression::Gzip, body.as_bytes())
    {
        return (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            ],
            gzipped,
        )
            .into_response();
    }
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
