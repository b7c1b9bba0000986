//! What otelcol's scraping receivers share (its `scraperhelper` and `mdatagen`): the metrics a scraper may emit and
//! the `metrics:` toggles that enable them ([`metric`]), and the loop that scrapes every `collection_interval` and
//! hands each scrape to the pipelines ([`start`]); for the receivers that read a server over its own protocol,
//! reaching it ([`dial`]) and when its counters started ([`server_start`]); for those that read a status page over
//! HTTP, the page ([`page`]).

pub(crate) mod dial;
pub(crate) mod metric;
pub(crate) mod page;
pub(crate) mod server_start;

use super::{Ingest, RunningReceiver, shutdown_signal};
use crate::Batch;
use crate::component::ReceiverContext;
use crate::telemetry::ReceiverCounters;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A source of metrics, read on a schedule.
pub(crate) trait Scrape: Send + 'static {
    /// One scrape as a request, or `None` when it has nothing to send (every metric disabled). A scraper that
    /// cannot reach what it measures logs why and reports what it can: otelcol's scrapers report their errors
    /// as log lines, not as data.
    fn scrape(&mut self) -> impl Future<Output = Option<ExportMetricsServiceRequest>> + Send;
}

/// Runs `scraper` `initial_delay` after now and then every `interval`, handing each scrape to the receiver's
/// pipelines, until the receiver stops. A scrape that runs late delays the next instead of bunching them up.
pub(crate) fn start(
    context: ReceiverContext,
    interval: Duration,
    initial_delay: Duration,
    mut scraper: impl Scrape,
) -> RunningReceiver {
    let (shutdown, watch) = tokio::sync::watch::channel(false);
    let mut running = RunningReceiver::new(shutdown);
    let counters = ReceiverCounters::new(&context.telemetry, &context.id, "scrape");
    let (ingest, id) = (context.ingest, context.id);
    running.spawn(async move {
        let stopped = shutdown_signal(watch);
        tokio::pin!(stopped);
        let mut ticks =
            tokio::time::interval_at(tokio::time::Instant::now() + initial_delay, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopped => return Ok(()),
                _ = ticks.tick() => {}
            }
            let request = tokio::select! {
                _ = &mut stopped => return Ok(()),
                request = scraper.scrape() => request,
            };
            if let Some(request) = request {
                submit(&ingest, &counters, &id, request).await;
            }
        }
    });
    running
}

async fn submit(
    ingest: &Arc<Ingest>,
    counters: &ReceiverCounters,
    id: &str,
    request: ExportMetricsServiceRequest,
) {
    if let Err(refusal) = ingest.submit(Batch::new(request), counters).await {
        // A scrape is not sent again: the next one measures anew.
        tracing::warn!(receiver = %id, error = %refusal, "the pipelines refused a scrape");
    }
}

/// `metrics` of `resource` under otelcol's scope name for the receiver (`…/receiver/redisreceiver`).
pub(crate) fn resource_metrics(
    resource: Resource,
    scope: &str,
    metrics: Vec<Metric>,
) -> ResourceMetrics {
    ResourceMetrics {
        resource: Some(resource),
        scope_metrics: vec![ScopeMetrics {
            scope: Some(InstrumentationScope {
                name: format!("github.com/open-telemetry/opentelemetry-collector-contrib/{scope}"),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                ..Default::default()
            }),
            metrics,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}
