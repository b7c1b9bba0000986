//! The `ntp` receiver (otelcol-contrib's): how far the host's clock is from an NTP server's, asked every
//! `collection_interval` (30 minutes at least, as the NTP pool's terms ask), as otelcol's `ntp.offset`.
//!
//! ```yaml
//! receivers:
//!   ntp:
//!     endpoint: "time.example.com:123"
//!     collection_interval: 30m
//! ```
//!
//! One request, one answer (`query.rs`): the offset is the server's clock less the host's, in nanoseconds, the mean
//! of the two legs' differences as NTP computes it. An answer that is no time (a kiss-o'-death, an unsynchronized
//! server, the answer to another request) is logged and reports nothing, as is a server that does not answer within
//! `timeout`. The resource names the server (`ntp.host`: the endpoint), which otelcol's receiver builds but leaves
//! off its metrics.

mod config;
mod query;

pub use config::NtpConfig;

use super::RunningReceiver;
use super::scraper::metric::{Builder, Clock, Enabled, Kind, Spec};
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use std::time::Duration;

/// The metric, as otelcol's generated `documentation.md` lists it.
const SPECS: &[Spec] = &[Spec::on(
    "ntp.offset",
    "Time difference between local and NTP server clocks",
    "ns",
    Kind::Gauge,
)];

/// The `ntp` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = NtpConfig;
    const TYPE: &'static str = "ntp";

    fn validate(&self, config: &NtpConfig) -> Result<(), Invalid> {
        config.validate(SPECS)
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &NtpConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let scraper = NtpScraper {
            endpoint: config.endpoint.clone(),
            version: config.version,
            timeout: config.timeout,
            enabled: Enabled::new(SPECS, &config.metrics),
            resource: Resource {
                attributes: if config.resource_attribute("ntp.host") {
                    vec![key_value(
                        "ntp.host",
                        string_value(config.endpoint.as_str()),
                    )]
                } else {
                    Vec::new()
                },
                ..Default::default()
            },
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

struct NtpScraper {
    endpoint: String,
    version: u8,
    timeout: Duration,
    enabled: Enabled,
    resource: Resource,
    id: String,
}

impl Scrape for NtpScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let answer = tokio::time::timeout(self.timeout, query::ask(&self.endpoint, self.version))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", self.timeout)));
        let offset = scraper::read_or_log(
            answer,
            &self.id,
            &self.endpoint,
            "asking the NTP server failed",
        )?;
        let now = crate::clock::now_nanos();
        let mut out = Builder::new(SPECS, &self.enabled, Clock { now, start: 0 });
        out.int("ntp.offset", offset, &[]);
        scraper::request(
            out,
            &[],
            &self.id,
            "receiver/ntpreceiver",
            self.resource.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pools_terms_and_the_versions_are_checked() {
        let config: NtpConfig =
            serde_norway::from_str("endpoint: pool.ntp.org\nversion: 5\ncollection_interval: 1m")
                .unwrap();
        let problems: Vec<String> = Factory.validate(&config).unwrap_err().lines();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("endpoint: `pool.ntp.org` is not `host:port`"));
        assert!(problems[1].starts_with("version: 5 is not"));
        assert!(problems[2].contains("less than the 30m minimum"));
        assert!(Factory.validate(&NtpConfig::default()).is_ok());
    }
}
