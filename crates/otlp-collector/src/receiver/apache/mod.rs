//! The `apache` receiver (otelcol-contrib's): an Apache HTTP Server's `mod_status` page (`server-status?auto`)
//! every `collection_interval`, as otelcol's metrics, so its dashboards keep working.
//!
//! ```yaml
//! receivers:
//!   apache:
//!     endpoint: "http://localhost:8080/server-status?auto"
//!     collection_interval: 10s
//! ```
//!
//! The page is `mod_status`'s (`<Location "/server-status"> SetHandler server-status </Location>`); the request
//! counts, traffic and CPU need `ExtendedStatus On`, Apache 2.4's default once the module is loaded. A page that
//! cannot be read is logged and reports nothing for that scrape (a server that does not answer has no metrics,
//! rather than zeros). Cumulative sums start when the server did (now less its `ServerUptimeSeconds`), and again
//! when it restarts (another `RestartTime`, its uptime or request count went back). The resource carries `apache.server.name`
//! and `apache.server.port`, the endpoint's host and port (80 or 443 when it names none), as otelcol's.

mod config;
mod status;

pub use config::ApacheConfig;

use super::RunningReceiver;
use super::scraper::metric::{Builder, Clock, Enabled};
use super::scraper::page::Page;
use super::scraper::server_start::ServerStart;
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};

/// The `apache` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = ApacheConfig;
    const TYPE: &'static str = "apache";

    fn validate(&self, config: &ApacheConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &ApacheConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let page = Page::new(
            &config.endpoint,
            &config.tls,
            &config.headers,
            config.timeout,
        )
        .map_err(|message| context.start_error(message))?;
        let port = page.url.port_u16().unwrap_or(match page.url.scheme_str() {
            Some("https") => 443,
            _ => 80,
        });
        let host = page.url.host().unwrap_or_default().to_owned();
        let resource = Resource {
            attributes: [
                ("apache.server.name", host),
                ("apache.server.port", port.to_string()),
            ]
            .into_iter()
            .filter(|(name, _)| config.resource_attribute(name))
            .map(|(name, value)| key_value(name, string_value(value)))
            .collect(),
            ..Default::default()
        };
        let scraper = ApacheScraper {
            page,
            enabled: Enabled::new(status::SPECS, &config.metrics),
            server: ServerStart::default(),
            accesses: None,
            resource,
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

struct ApacheScraper {
    page: Page,
    enabled: Enabled,
    server: ServerStart,
    /// `Total Accesses` at the last reading that had it.
    accesses: Option<u64>,
    resource: Resource,
    id: String,
}

impl ApacheScraper {
    fn request(&mut self, page: &str, now: u64) -> Option<ExportMetricsServiceRequest> {
        let fields = status::parse(page);
        match fields.get("ServerUptimeSeconds").map(|u| u.parse::<u64>()) {
            Some(Ok(uptime)) => {
                // `RestartTime` has whole seconds: a restart within the second of the last is told by the
                // request count going back.
                let accesses = fields
                    .get("Total Accesses")
                    .and_then(|a| a.parse::<u64>().ok());
                let went_back =
                    matches!((self.accesses, accesses), (Some(last), Some(now)) if now < last);
                self.accesses = accesses.or(self.accesses);
                if went_back {
                    self.server.restarted(uptime, now);
                } else {
                    let run = fields.get("RestartTime").unwrap_or(&"");
                    self.server.saw(run, uptime, now);
                }
            }
            _ => {
                tracing::warn!(receiver = %self.id, endpoint = %self.page.url, "the page has no ServerUptimeSeconds: not mod_status's `?auto` page");
                return None;
            }
        }
        let clock = Clock {
            now,
            start: self.server.nanos(),
        };
        let mut out = Builder::new(status::SPECS, &self.enabled, clock);
        let unreadable = status::record(&fields, &mut out);
        scraper::request(
            out,
            &unreadable,
            &self.id,
            "receiver/apachereceiver",
            self.resource.clone(),
        )
    }
}

impl Scrape for ApacheScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let page = scraper::read_or_log(
            self.page.read().await,
            &self.id,
            &self.page.url,
            "reading Apache's server-status page failed",
        )?;
        self.request(&page, crate::clock::now_nanos())
    }
}

#[cfg(test)]
mod tests;
