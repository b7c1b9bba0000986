//! The `chrony` receiver (otelcol-contrib's): chronyd's view of the host's clock every `collection_interval`, what
//! `chronyc tracking` prints, asked over chronyd's command socket (`tracking.rs`).
//!
//! ```yaml
//! receivers:
//!   chrony:
//!     endpoint: unix:///var/run/chrony/chronyd.sock   # or udp://127.0.0.1:323
//!     timeout: 10s
//!     metrics:
//!       ntp.stratum: { enabled: true }
//! ```
//!
//! The metrics are otelcol's, with its defaults: `ntp.skew`, `ntp.time.correction` and `ntp.time.last_offset` on,
//! `ntp.frequency.offset`, `ntp.stratum`, `ntp.time.rms_offset` and `ntp.time.root_delay` off; all but the skew
//! and the stratum carry `leap.status`. A chronyd that does not answer within `timeout`, or refuses (a UDP client
//! its `cmdallow` does not let in), is logged and reports nothing. Over the unix socket the receiver binds its own
//! socket beside chronyd's, as `chronyc` does, for the reply: the collector needs write access to that directory
//! (chronyd's user or root); otherwise ask over UDP.

mod config;
mod tracking;

pub use config::ChronyConfig;

use super::RunningReceiver;
use super::scraper::metric::{Builder, Clock, Enabled, Kind, Spec};
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use config::Endpoint;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::time::Duration;

/// The metrics, as otelcol's generated `documentation.md` lists them.
const SPECS: &[Spec] = &[
    Spec::new(
        "ntp.frequency.offset",
        "The frequency is the rate by which the system s clock would be wrong if chronyd was not correcting it.",
        "ppm",
        Kind::Gauge,
        false,
    ),
    Spec::on(
        "ntp.skew",
        "This is the estimated error bound on the frequency.",
        "ppm",
        Kind::Gauge,
    ),
    Spec::new(
        "ntp.stratum",
        "The number of hops away from the reference system keeping the reference time",
        "{count}",
        Kind::Gauge,
        false,
    ),
    Spec::on(
        "ntp.time.correction",
        "The number of seconds difference between the system's clock and the reference clock",
        "seconds",
        Kind::Gauge,
    ),
    Spec::on(
        "ntp.time.last_offset",
        "The estimated local offset on the last clock update",
        "seconds",
        Kind::Gauge,
    ),
    Spec::new(
        "ntp.time.rms_offset",
        "the long term average of the offset value",
        "seconds",
        Kind::Gauge,
        false,
    ),
    Spec::new(
        "ntp.time.root_delay",
        "This is the total of the network path delays to the stratum-1 system from which the system is ultimately synchronised.",
        "seconds",
        Kind::Gauge,
        false,
    ),
];

/// The `chrony` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = ChronyConfig;
    const TYPE: &'static str = "chrony";

    fn validate(&self, config: &ChronyConfig) -> Result<(), Invalid> {
        config.validate(SPECS)
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &ChronyConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let endpoint = config
            .endpoint()
            .map_err(|problem| context.start_error(format!("endpoint: {problem}")))?;
        let scraper = ChronyScraper {
            endpoint,
            timeout: config.timeout,
            enabled: Enabled::new(SPECS, &config.metrics),
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

struct ChronyScraper {
    endpoint: Endpoint,
    timeout: Duration,
    enabled: Enabled,
    id: String,
}

impl Scrape for ChronyScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let answer = tokio::time::timeout(self.timeout, tracking::ask(&self.endpoint))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", self.timeout)));
        let tracking = scraper::read_or_log(
            answer,
            &self.id,
            &self.endpoint,
            "asking chronyd for its tracking report failed",
        )?;
        let now = crate::clock::now_nanos();
        let mut out = Builder::new(SPECS, &self.enabled, Clock { now, start: 0 });
        let leap = [("leap.status", tracking.leap.as_str())];
        out.int("ntp.stratum", i64::from(tracking.stratum), &[]);
        out.double("ntp.time.correction", tracking.current_correction, &leap);
        out.double("ntp.time.last_offset", tracking.last_offset, &leap);
        out.double("ntp.time.rms_offset", tracking.rms_offset, &leap);
        out.double("ntp.frequency.offset", tracking.frequency_ppm, &leap);
        out.double("ntp.skew", tracking.skew_ppm, &[]);
        out.double("ntp.time.root_delay", tracking.root_delay, &leap);
        scraper::request(
            out,
            &[],
            &self.id,
            "receiver/chronyreceiver",
            Resource::default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<String> {
        let config: ChronyConfig = serde_norway::from_str(yaml).unwrap();
        Factory
            .validate(&config)
            .err()
            .map(|invalid| invalid.lines())
            .unwrap_or_default()
    }

    #[test]
    fn endpoints_name_their_network() {
        assert!(problems("{}").is_empty(), "the default is valid");
        assert!(problems("endpoint: udp://127.0.0.1:323").is_empty());
        assert!(problems("endpoint: \"udp://[::1]:323\"").is_empty());
        let missing = problems("endpoint: 127.0.0.1:323");
        assert!(missing[0].contains("is not `unix:///path"), "{missing:?}");
        let relative = problems("endpoint: unix://run/chrony/chronyd.sock");
        assert!(relative[0].contains("three slashes"), "{relative:?}");
        let tcp = problems("endpoint: tcp://127.0.0.1:323");
        assert!(tcp[0].contains("`tcp` is not a network"), "{tcp:?}");
        let port = problems("endpoint: udp://localhost");
        assert!(port[0].contains("not `host:port`"), "{port:?}");
        let typo = problems("timeout: 0s\nmetrics: { ntp.stratums: { enabled: true } }");
        assert_eq!(typo.len(), 2, "{typo:?}");
        assert!(typo[1].contains("ntp.stratums"), "{typo:?}");
    }
}
