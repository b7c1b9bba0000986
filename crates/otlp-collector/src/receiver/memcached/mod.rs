//! The `memcached` receiver (otelcol-contrib's): a memcached server's `stats` every `collection_interval`, as
//! otelcol's metrics, so its dashboards keep working.
//!
//! ```yaml
//! receivers:
//!   memcached:
//!     endpoint: "localhost:11211"
//!     collection_interval: 10s
//!     metrics: { memcached.threads: { enabled: false } }
//! ```
//!
//! One connection is kept open and opened again after a failure, which is logged and reports nothing for that
//! scrape (a server that does not answer has no metrics, rather than zeros). Cumulative sums start when the server
//! did (now less its `uptime`), and again when it restarts (another `pid`, or its uptime went back). As
//! otelcol's, the metrics carry no resource attributes: a `resource` processor names the server when several are
//! read.
//!
//! One difference: `memcached.operation_hit_ratio` is the hit ratio its description promises, where otelcol's
//! receiver reports the miss ratio under that name.

mod client;
mod config;
mod stats;

pub use config::MemcachedConfig;

use super::RunningReceiver;
use super::scraper::dial::{Address, Kept};
use super::scraper::metric::{Builder, Clock, Enabled};
use super::scraper::server_start::ServerStart;
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use client::Connection;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::time::Duration;

/// The `memcached` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = MemcachedConfig;
    const TYPE: &'static str = "memcached";

    fn validate(&self, config: &MemcachedConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &MemcachedConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let address = Address::new(
            &config.endpoint,
            &config.transport,
            &config.tls,
            config.encrypted(),
        )
        .map_err(|message| context.start_error(message))?;
        let scraper = MemcachedScraper {
            address,
            timeout: config.timeout(),
            connection: Kept::default(),
            enabled: Enabled::new(stats::SPECS, &config.metrics),
            server: ServerStart::default(),
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

struct MemcachedScraper {
    address: Address,
    timeout: Duration,
    connection: Kept<Connection>,
    enabled: Enabled,
    server: ServerStart,
    id: String,
}

impl MemcachedScraper {
    fn request(&mut self, lines: &[String]) -> Option<ExportMetricsServiceRequest> {
        let now = crate::clock::now_nanos();
        let stats = stats::parse(lines);
        match stats.get("uptime").map(|u| u.parse::<u64>()) {
            Some(Ok(uptime)) => self
                .server
                .saw(stats.get("pid").unwrap_or(&""), uptime, now),
            _ => {
                tracing::warn!(receiver = %self.id, "stats has no uptime: not a memcached server's answer");
                return None;
            }
        }
        let clock = Clock {
            now,
            start: self.server.nanos(),
        };
        let mut out = Builder::new(stats::SPECS, &self.enabled, clock);
        let unreadable = stats::record(&stats, &mut out);
        scraper::request(
            out,
            &unreadable,
            &self.id,
            "receiver/memcachedreceiver",
            Resource::default(),
        )
    }
}

impl Scrape for MemcachedScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let address = &self.address;
        let answer = self
            .connection
            .ask(
                self.timeout,
                async || Connection::open(address).await,
                async |connection| connection.stats().await,
            )
            .await;
        let lines = scraper::read_or_log(
            answer,
            &self.id,
            &address.endpoint,
            "reading the memcached server failed",
        )?;
        self.request(&lines)
    }
}

#[cfg(test)]
mod tests;
