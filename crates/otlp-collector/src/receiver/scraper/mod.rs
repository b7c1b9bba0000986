//! What otelcol's scraping receivers share (its `scraperhelper` and `mdatagen`): the metrics a scraper may emit and
//! the `metrics:` toggles that enable them ([`metric`]), and the loop that scrapes every `collection_interval` and
//! hands each scrape to the pipelines ([`start`]); for the receivers that read a server over its own protocol,
//! reaching it ([`dial`]) and when its counters started ([`server_start`]); for those that read a status page over
//! HTTP, the page ([`page`]); for those that check TLS certificates, what a certificate says ([`certificate`]).

pub(crate) mod certificate;
pub(crate) mod dial;
pub(crate) mod metric;
pub(crate) mod page;
pub(crate) mod server_start;

use super::{Ingest, RunningReceiver, shutdown_signal};
use crate::Batch;
use crate::component::ReceiverContext;
use crate::telemetry::ReceiverCounters;
use metric::Builder;
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
    scraper: impl Scrape,
) -> RunningReceiver {
    let id = context.id.clone();
    every(context, interval, initial_delay, Scraped(scraper, id))
}

/// Work a receiver does on a schedule: read (a stop cuts this short), then hand what was read to the pipelines
/// (which a stop waits for, so that what was read and taken is not lost half-way).
pub(crate) trait Round: Send + 'static {
    /// What one round read.
    type Read: Send;

    /// One round's reading.
    fn read(&mut self) -> impl Future<Output = Self::Read> + Send;

    /// Hands `read` to the pipelines through `ingest`, counted in `counters`.
    fn deliver(
        &mut self,
        read: Self::Read,
        ingest: &Arc<Ingest>,
        counters: &ReceiverCounters,
    ) -> impl Future<Output = ()> + Send;
}

/// Runs `round` `initial_delay` after now and then every `interval`, until the receiver stops. A round that runs
/// late delays the next instead of bunching them up.
pub(crate) fn every(
    context: ReceiverContext,
    interval: Duration,
    initial_delay: Duration,
    mut round: impl Round,
) -> RunningReceiver {
    let (shutdown, watch) = tokio::sync::watch::channel(false);
    let mut running = RunningReceiver::new(shutdown);
    let counters = ReceiverCounters::new(&context.telemetry, &context.id, "scrape");
    let ingest = context.ingest;
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
            let read = tokio::select! {
                _ = &mut stopped => return Ok(()),
                read = round.read() => read,
            };
            round.deliver(read, &ingest, &counters).await;
        }
    });
    running
}

/// A [`Scrape`] of receiver `.1` as a round: its request, when it made one, handed to the pipelines.
struct Scraped<S>(S, String);

impl<S: Scrape> Round for Scraped<S> {
    type Read = Option<ExportMetricsServiceRequest>;

    fn read(&mut self) -> impl Future<Output = Self::Read> + Send {
        self.0.scrape()
    }

    async fn deliver(
        &mut self,
        request: Self::Read,
        ingest: &Arc<Ingest>,
        counters: &ReceiverCounters,
    ) {
        let Some(request) = request else { return };
        if let Err(refusal) = ingest.submit(Batch::new(request), counters).await {
            // A scrape is not sent again: the next one measures anew.
            tracing::warn!(receiver = %self.1, error = %refusal, "the pipelines refused a scrape");
        }
    }
}

/// What a scrape read, or `None` after logging why it read nothing (`failed`: `reading the Redis server
/// failed`), as otelcol's scrapers report their errors: as log lines, not as data.
pub(crate) fn read_or_log<T>(
    read: Result<T, String>,
    receiver: &str,
    endpoint: &dyn std::fmt::Display,
    failed: &str,
) -> Option<T> {
    match read {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(receiver = %receiver, endpoint = %endpoint, %error, "{failed}");
            None
        }
    }
}

/// A scrape's request: the metrics `out` has points of, under `resource` and otelcol's scope for the receiver
/// (`receiver/redisreceiver`); `None` when none has (every metric disabled). The fields the scrape could not read
/// (`unreadable`) are logged.
pub(crate) fn request(
    out: Builder<'_>,
    unreadable: &[String],
    receiver: &str,
    scope: &str,
    resource: Resource,
) -> Option<ExportMetricsServiceRequest> {
    if !unreadable.is_empty() {
        tracing::warn!(receiver = %receiver, fields = ?unreadable, "fields that are not numbers were left out");
    }
    let metrics = out.finish();
    if metrics.is_empty() {
        return None;
    }
    Some(ExportMetricsServiceRequest {
        resource_metrics: vec![resource_metrics(resource, scope, metrics)],
    })
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
