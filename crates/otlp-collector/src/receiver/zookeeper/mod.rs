//! The `zookeeper` receiver (otelcol-contrib's): a ZooKeeper server's `mntr` and `ruok` four-letter commands every
//! `collection_interval`, as otelcol's metrics, so its dashboards keep working.
//!
//! ```yaml
//! receivers:
//!   zookeeper:
//!     endpoint: "zookeeper:2181"      # zoo.cfg: 4lw.commands.whitelist=mntr,ruok
//!     collection_interval: 10s
//! ```
//!
//! Each command is a connection of its own, as ZooKeeper closes it after answering. A server that cannot be
//! reached, or whose `mntr` is not allowed, is logged and reports nothing for that scrape; a `ruok` that is not
//! allowed leaves `zookeeper.ruok` out. The resource carries `server.state` and `zk.version`. The packet and fsync
//! counters start when the server did (now less its `zk_uptime`, ZooKeeper 3.6 and later), else when the receiver
//! did.

mod config;
mod mntr;

pub use config::ZookeeperConfig;

use super::RunningReceiver;
use super::scraper::dial::Address;
use super::scraper::metric::{Builder, Clock, Enabled};
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use mntr::{Mntr, SPECS};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The `zookeeper` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = ZookeeperConfig;
    const TYPE: &'static str = "zookeeper";

    fn validate(&self, config: &ZookeeperConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &ZookeeperConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let address = Address::new(&config.endpoint, "tcp", &Default::default(), false)
            .map_err(|message| context.start_error(message))?;
        let scraper = ZookeeperScraper {
            address,
            timeout: config.timeout,
            enabled: Enabled::new(SPECS, &config.metrics),
            attributes: [
                config.resource_attribute("server.state"),
                config.resource_attribute("zk.version"),
            ],
            started: crate::clock::now_nanos(),
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

struct ZookeeperScraper {
    address: Address,
    timeout: Duration,
    enabled: Enabled,
    /// Whether `server.state` and `zk.version` are set on the resource.
    attributes: [bool; 2],
    /// When the receiver started: the counters' start when the server does not say its uptime.
    started: u64,
    id: String,
}

/// The answers longer than this are cut: `mntr` of ZooKeeper 3.8 is about 20 KiB.
const MAX_ANSWER: u64 = 1 << 20;

impl ZookeeperScraper {
    /// `command`'s answer, on a connection of its own, within the timeout.
    async fn ask(&self, command: &str) -> Result<String, String> {
        let exchange = async {
            let mut stream = self.address.connect().await?;
            stream
                .write_all(command.as_bytes())
                .await
                .map_err(|e| format!("sending `{command}`: {e}"))?;
            let mut answer = Vec::new();
            (&mut stream)
                .take(MAX_ANSWER)
                .read_to_end(&mut answer)
                .await
                .map_err(|e| format!("reading the answer to `{command}`: {e}"))?;
            Ok(String::from_utf8_lossy(&answer).into_owned())
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no answer to `{command}` within {:?}", self.timeout))?
    }

    /// The request of `mntr`'s and `ruok`'s answers, read `now`.
    fn request(
        &self,
        mntr: &str,
        ruok: Option<&str>,
        now: u64,
    ) -> Option<ExportMetricsServiceRequest> {
        let mut unreadable = Vec::new();
        let mntr = Mntr::parse(mntr, &mut unreadable);
        let start = mntr.uptime_ms().map_or(self.started, |uptime| {
            now.saturating_sub(uptime.saturating_mul(1_000_000))
        });
        let mut out = Builder::new(SPECS, &self.enabled, Clock { now, start });
        mntr.record(&mut out, &mut unreadable);
        match ruok.map(str::trim) {
            Some("imok") => out.int("zookeeper.ruok", 1, &[]),
            Some(other) => tracing::warn!(receiver = %self.id, answer = %other,
                "ruok's answer is not imok (is ruok in 4lw.commands.whitelist?)"),
            None => {}
        }
        let mut attributes = Vec::new();
        for ((key, value), on) in [
            ("server.state", mntr.server_state()),
            ("zk.version", mntr.version()),
        ]
        .into_iter()
        .zip(self.attributes)
        {
            if let (Some(value), true) = (value, on) {
                attributes.push(key_value(key, string_value(value)));
            }
        }
        scraper::request(
            out,
            &unreadable,
            &self.id,
            "receiver/zookeeperreceiver",
            Resource {
                attributes,
                ..Default::default()
            },
        )
    }
}

impl Scrape for ZookeeperScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let mntr = scraper::read_or_log(
            self.ask("mntr").await.and_then(|answer| {
                if answer.contains("zk_") {
                    Ok(answer)
                } else {
                    // Not allowed: `mntr is not executed because it is not in the whitelist.`
                    Err(format!("mntr answered `{}`", answer.trim()))
                }
            }),
            &self.id,
            &self.address.endpoint,
            "reading ZooKeeper's mntr failed",
        )?;
        let ruok = scraper::read_or_log(
            self.ask("ruok").await,
            &self.id,
            &self.address.endpoint,
            "asking ZooKeeper ruok failed",
        );
        self.request(&mntr, ruok.as_deref(), crate::clock::now_nanos())
    }
}

#[cfg(test)]
mod tests;
