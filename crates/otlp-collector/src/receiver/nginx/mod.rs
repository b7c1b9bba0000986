//! The `nginx` receiver (otelcol-contrib's): an nginx server's `stub_status` page every `collection_interval`, as
//! otelcol's metrics, so its dashboards keep working.
//!
//! ```yaml
//! receivers:
//!   nginx:
//!     endpoint: "http://localhost:80/status"
//!     collection_interval: 10s
//! ```
//!
//! The page is nginx's `stub_status` (`location = /status { stub_status; }`), over `http` or `https` (`tls`), with
//! `headers` if the location asks for them. A page that cannot be read is logged and reports nothing for that
//! scrape (a server that does not answer has no metrics, rather than zeros). The page has no uptime, so the sums
//! start when the receiver did, and again after a restart, seen as a counter that went back: they start then at
//! the reading before, the last moment the old server was known to run. As otelcol's, the metrics carry no
//! resource attributes: a `resource` processor names the server when several are read.

mod config;
mod stub_status;

pub use config::NginxConfig;

use super::RunningReceiver;
use super::scraper::metric::{Builder, Clock, Enabled};
use super::scraper::page::Page;
use super::scraper::server_start::CountersSince;
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use stub_status::StubStatus;

/// The `nginx` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = NginxConfig;
    const TYPE: &'static str = "nginx";

    fn validate(&self, config: &NginxConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &NginxConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let page = Page::new(
            &config.endpoint,
            &config.tls,
            &config.headers,
            config.timeout,
        )
        .map_err(|message| context.start_error(message))?;
        let scraper = NginxScraper {
            page,
            enabled: Enabled::new(stub_status::SPECS, &config.metrics),
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

struct NginxScraper {
    page: Page,
    enabled: Enabled,
    since: CountersSince,
    last: Option<StubStatus>,
    id: String,
}

impl NginxScraper {
    /// The request for `status` read `now`, noting it as the last reading.
    fn request(&mut self, status: StubStatus, now: u64) -> Option<ExportMetricsServiceRequest> {
        let went_back = self.last.is_some_and(|last| status.restarted_since(&last));
        let start = self.since.start(went_back, now);
        self.last = Some(status);
        let mut out = Builder::new(stub_status::SPECS, &self.enabled, Clock { now, start });
        status.record(&mut out);
        scraper::request(
            out,
            &[],
            &self.id,
            "receiver/nginxreceiver",
            Resource::default(),
        )
    }
}

impl Scrape for NginxScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let status = self
            .page
            .read()
            .await
            .and_then(|page| StubStatus::parse(&page));
        let status = scraper::read_or_log(
            status,
            &self.id,
            &self.page.url,
            "reading nginx's stub_status page failed",
        )?;
        self.request(status, crate::clock::now_nanos())
    }
}

#[cfg(test)]
mod tests;
