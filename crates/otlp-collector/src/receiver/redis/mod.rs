//! The `redis` receiver (otelcol-contrib's): a Redis (or Valkey) server's `INFO all` every
//! `collection_interval`, as otelcol's metrics, so its dashboards keep working.
//!
//! ```yaml
//! receivers:
//!   redis:
//!     endpoint: "valkey-cart:6379"
//!     username: "valkey"
//!     password: ${env:REDIS_PASSWORD}
//!     collection_interval: 10s
//!     metrics: { redis.cmd.calls: { enabled: true } }
//! ```
//!
//! One connection is kept open and opened again after a failure, which is logged and reports nothing for that
//! scrape (otelcol's way: a server that does not answer has no metrics, rather than zeros). Cumulative sums start
//! when the server did (now less its uptime), and again when it restarts (another `run_id`, or its uptime went
//! back). The resource carries `redis.version`, and with `resource_attributes` `server.address` and
//! `server.port`.

mod client;
mod config;
mod info;

pub use config::RedisConfig;

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
use otlp_ottl::{key_value, string_value};
use std::time::Duration;

/// The `redis` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = RedisConfig;
    const TYPE: &'static str = "redis";

    fn validate(&self, config: &RedisConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &RedisConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let address = Address::new(
            &config.endpoint,
            &config.transport,
            &config.tls,
            config.encrypted(),
        )
        .map_err(|message| context.start_error(message))?;
        let (host, port) = match config.endpoint.rsplit_once(':') {
            Some((host, port)) if config.transport == "tcp" => (host.to_owned(), port.to_owned()),
            _ => (config.endpoint.clone(), String::new()),
        };
        let scraper = RedisScraper {
            address,
            username: config.username.clone(),
            password: config.password.clone(),
            timeout: config.timeout(),
            connection: Kept::default(),
            enabled: Enabled::new(info::SPECS, &config.metrics),
            server: ServerStart::default(),
            resource: Resource {
                attributes: [("server.address", host), ("server.port", port)]
                    .into_iter()
                    .filter(|(name, _)| config.resource_attribute(name))
                    .map(|(name, value)| key_value(name, string_value(value)))
                    .collect(),
                ..Default::default()
            },
            version: config.resource_attribute("redis.version"),
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

struct RedisScraper {
    address: Address,
    username: String,
    password: String,
    timeout: Duration,
    connection: Kept<Connection>,
    enabled: Enabled,
    server: ServerStart,
    /// The resource's attributes other than `redis.version`.
    resource: Resource,
    /// Whether `redis.version` is set.
    version: bool,
    id: String,
}

impl RedisScraper {
    fn request(&mut self, text: &str) -> Option<ExportMetricsServiceRequest> {
        let now = crate::clock::now_nanos();
        let fields = info::parse(text);
        match fields.get("uptime_in_seconds").map(|u| u.parse::<u64>()) {
            Some(Ok(uptime)) => self
                .server
                .saw(fields.get("run_id").unwrap_or(&""), uptime, now),
            _ => {
                tracing::warn!(receiver = %self.id, "INFO has no uptime_in_seconds: not a Redis server's answer");
                return None;
            }
        }
        let clock = Clock {
            now,
            start: self.server.nanos(),
        };
        let mut out = Builder::new(info::SPECS, &self.enabled, clock);
        let unreadable = info::record(&fields, &mut out);
        let mut resource = self.resource.clone();
        if self.version {
            let version = fields.get("redis_version").copied().unwrap_or("unknown");
            resource
                .attributes
                .insert(0, key_value("redis.version", string_value(version)));
        }
        scraper::request(
            out,
            &unreadable,
            &self.id,
            "receiver/redisreceiver",
            resource,
        )
    }
}

impl Scrape for RedisScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let (address, username, password) = (&self.address, &self.username, &self.password);
        let answer = self
            .connection
            .ask(
                self.timeout,
                async || Connection::open(address, username, password).await,
                async |connection| connection.info().await,
            )
            .await;
        let text = scraper::read_or_log(
            answer,
            &self.id,
            &address.endpoint,
            "reading the Redis server failed",
        )?;
        self.request(&text)
    }
}

#[cfg(test)]
mod tests;
