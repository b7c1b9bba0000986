//! The `haproxy` receiver (otelcol-contrib's): HAProxy's statistics every `collection_interval`, one resource per
//! frontend, backend and server, as otelcol's metrics, so its dashboards keep working.
//!
//! ```yaml
//! receivers:
//!   haproxy:
//!     endpoint: /var/run/haproxy.sock           # or http://localhost:8404/stats, a stats page
//!     collection_interval: 10s
//!     metrics: { haproxy.sessions.total: { enabled: true } }
//! ```
//!
//! Over the stats socket (`stats socket` in HAProxy's `global` section) the receiver sends `show stat` and reads
//! the answer to its end; from a stats page (`stats uri`) it reads the page's CSV (`<endpoint>;csv`), over `http`
//! or `https`, with `headers` for `stats auth`. Statistics that cannot be read are logged and report nothing for
//! that scrape. Each row is a resource with `haproxy.addr` (the endpoint), `haproxy.proxy_name` and
//! `haproxy.service_name` (`FRONTEND`, `BACKEND` or the server's name), and `haproxy.server.state` when enabled.
//! The statistics carry no start time: the sums start when the receiver did, and after HAProxy restarts (a counter
//! went back) at the reading before.
//!
//! Three differences from otelcol: the socket's answer is read whole (otelcol's reads 4 KiB, about eight rows,
//! and loses the others); byte counts have the unit `By`, UCUM's bytes (otelcol writes `by`); and
//! `haproxy.requests.queued`, a current queue length, is a non-monotonic sum, which rate functions leave alone
//! (otelcol marks it monotonic).

mod config;
mod stats;

pub use config::HaproxyConfig;

use super::RunningReceiver;
use super::scraper::metric::{Builder, Clock, Enabled};
use super::scraper::page::Page;
use super::scraper::server_start::CountersSince;
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use stats::Stats;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The `haproxy` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = HaproxyConfig;
    const TYPE: &'static str = "haproxy";

    fn validate(&self, config: &HaproxyConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &HaproxyConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let source = if config.is_page() {
            let url = format!("{};csv", config.endpoint);
            Source::Page(Box::new(
                Page::new(&url, &config.tls, &config.headers, config.timeout)
                    .map_err(|message| context.start_error(message))?,
            ))
        } else {
            Source::Socket {
                path: config.endpoint.clone(),
                timeout: config.timeout,
            }
        };
        let attributes = [
            "haproxy.addr",
            "haproxy.proxy_name",
            "haproxy.service_name",
            "haproxy.server.state",
        ]
        .map(|name| config.resource_attribute(name));
        let scraper = HaproxyScraper {
            source,
            endpoint: config.endpoint.clone(),
            attributes,
            enabled: Enabled::new(stats::SPECS, &config.metrics),
            since: CountersSince::new(crate::clock::now_nanos()),
            last: None,
            id: context.id.clone(),
        };
        Ok(scraper::start(
            context,
            config.collection_interval,
            config.initial_delay,
            scraper,
        ))
    }
}

/// Where the statistics come from.
enum Source {
    Page(Box<Page>),
    Socket { path: String, timeout: Duration },
}

impl Source {
    async fn read(&self) -> Result<String, String> {
        match self {
            Source::Page(page) => page.read().await,
            Source::Socket { path, timeout } => tokio::time::timeout(*timeout, show_stat(path))
                .await
                .map_err(|_| format!("no answer from {path} within {timeout:?}"))?,
        }
    }
}

/// `show stat` on the socket at `path`: HAProxy answers and closes the connection.
async fn show_stat(path: &str) -> Result<String, String> {
    let mut socket = tokio::net::UnixStream::connect(path)
        .await
        .map_err(|e| format!("connecting to {path}: {e}"))?;
    socket
        .write_all(b"show stat\n")
        .await
        .map_err(|e| format!("asking {path}: {e}"))?;
    let mut answer = Vec::new();
    socket
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("reading {path}: {e}"))?;
    String::from_utf8(answer).map_err(|_| format!("{path} answered with text that is not UTF-8"))
}

struct HaproxyScraper {
    source: Source,
    endpoint: String,
    /// Whether each of `haproxy.addr`, `.proxy_name`, `.service_name` and `.server.state` is set.
    attributes: [bool; 4],
    enabled: Enabled,
    since: CountersSince,
    last: Option<Stats>,
    id: String,
}

impl HaproxyScraper {
    /// The request for `stats` read `now`, noting it as the last reading.
    fn request(&mut self, stats: Stats, now: u64) -> Option<ExportMetricsServiceRequest> {
        let went_back = self
            .last
            .as_ref()
            .is_some_and(|last| stats.restarted_since(last));
        let start = self.since.start(went_back, now);
        let mut unreadable = Vec::new();
        let mut request = ExportMetricsServiceRequest::default();
        for row in &stats.rows {
            let mut out = Builder::new(stats::SPECS, &self.enabled, Clock { now, start });
            stats::record(row, &mut out, &mut unreadable);
            let metrics = out.finish();
            if metrics.is_empty() {
                continue;
            }
            let (proxy, service) = row.key();
            let values = [
                Some(self.endpoint.as_str()),
                Some(proxy),
                Some(service),
                row.get("status"),
            ];
            let names = [
                "haproxy.addr",
                "haproxy.proxy_name",
                "haproxy.service_name",
                "haproxy.server.state",
            ];
            let resource = Resource {
                attributes: names
                    .iter()
                    .zip(values)
                    .zip(self.attributes)
                    .filter_map(|((name, value), on)| {
                        on.then_some(value)
                            .flatten()
                            .map(|value| key_value(*name, string_value(value)))
                    })
                    .collect(),
                ..Default::default()
            };
            request.resource_metrics.push(scraper::resource_metrics(
                resource,
                "receiver/haproxyreceiver",
                metrics,
            ));
        }
        if !unreadable.is_empty() {
            tracing::warn!(receiver = %self.id, fields = ?unreadable, "fields that are not numbers were left out");
        }
        self.last = Some(stats);
        (!request.resource_metrics.is_empty()).then_some(request)
    }
}

impl Scrape for HaproxyScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let stats = self
            .source
            .read()
            .await
            .and_then(|text| Stats::parse(&text));
        let stats = scraper::read_or_log(
            stats,
            &self.id,
            &self.endpoint,
            "reading HAProxy's statistics failed",
        )?;
        self.request(stats, crate::clock::now_nanos())
    }
}

#[cfg(test)]
mod tests;
