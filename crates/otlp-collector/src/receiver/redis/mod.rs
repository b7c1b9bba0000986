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
//! when the server did (now less its uptime), and again when its uptime goes back (a restart). The resource
//! carries `redis.version`, and with `resource_attributes` `server.address` and `server.port`.

mod client;
mod config;
mod info;

pub use config::RedisConfig;

use super::RunningReceiver;
use super::scraper::metric::{Builder, Clock, Enabled};
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use client::{Address, Connection};
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
        .map_err(|message| Error::Start {
            component: format!("receivers.{}", context.id),
            message,
        })?;
        let (host, port) = match config.endpoint.rsplit_once(':') {
            Some((host, port)) if config.transport == "tcp" => (host.to_owned(), port.to_owned()),
            _ => (config.endpoint.clone(), String::new()),
        };
        let scraper = RedisScraper {
            address,
            username: config.username.clone(),
            password: config.password.clone(),
            timeout: config.timeout(),
            connection: None,
            enabled: Enabled::new(info::SPECS, &config.metrics),
            server: Server::default(),
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

/// What is known of the server between scrapes.
#[derive(Default)]
struct Server {
    /// When it started, in nanoseconds since the epoch: the start of its cumulative sums.
    started: u64,
    /// Its uptime at the last scrape, seconds.
    uptime: Option<u64>,
}

impl Server {
    /// Notes `uptime` read `now`; a first reading or one lower than the last (a restart) sets the start anew.
    fn saw(&mut self, uptime: u64, now: u64) {
        if self.uptime.is_none_or(|last| uptime < last) {
            self.started = now.saturating_sub(uptime.saturating_mul(1_000_000_000));
        }
        self.uptime = Some(uptime);
    }
}

struct RedisScraper {
    address: Address,
    username: String,
    password: String,
    timeout: Duration,
    connection: Option<Connection>,
    enabled: Enabled,
    server: Server,
    /// The resource's attributes other than `redis.version`.
    resource: Resource,
    /// Whether `redis.version` is set.
    version: bool,
    id: String,
}

impl RedisScraper {
    /// `INFO all`, on the open connection or a new one; a failed connection is dropped.
    async fn info(&mut self) -> Result<String, String> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self
                .connection
                .insert(Connection::open(&self.address, &self.username, &self.password).await?),
        };
        let text = connection.info().await;
        if text.is_err() {
            self.connection = None;
        }
        text
    }

    fn request(&mut self, text: &str) -> Option<ExportMetricsServiceRequest> {
        let now = crate::clock::now_nanos();
        let fields = info::parse(text);
        match fields.get("uptime_in_seconds").map(|u| u.parse::<u64>()) {
            Some(Ok(uptime)) => self.server.saw(uptime, now),
            _ => {
                tracing::warn!(receiver = %self.id, "INFO has no uptime_in_seconds: not a Redis server's answer");
                return None;
            }
        }
        let clock = Clock {
            now,
            start: self.server.started,
        };
        let mut out = Builder::new(info::SPECS, &self.enabled, clock);
        let unreadable = info::record(&fields, &mut out);
        if !unreadable.is_empty() {
            tracing::warn!(receiver = %self.id, fields = ?unreadable, "INFO fields that are not numbers were left out");
        }
        let metrics = out.finish();
        if metrics.is_empty() {
            return None;
        }
        let mut resource = self.resource.clone();
        if self.version {
            let version = fields.get("redis_version").copied().unwrap_or("unknown");
            resource
                .attributes
                .insert(0, key_value("redis.version", string_value(version)));
        }
        Some(ExportMetricsServiceRequest {
            resource_metrics: vec![scraper::resource_metrics(
                resource,
                "receiver/redisreceiver",
                metrics,
            )],
        })
    }
}

impl Scrape for RedisScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let timeout = self.timeout;
        let text = match tokio::time::timeout(timeout, self.info()).await {
            Ok(Ok(text)) => text,
            Ok(Err(error)) => {
                tracing::warn!(receiver = %self.id, endpoint = %self.address.endpoint, %error, "reading the Redis server failed");
                return None;
            }
            Err(_) => {
                // A connection that did not answer in time may still answer late, out of step.
                self.connection = None;
                tracing::warn!(receiver = %self.id, endpoint = %self.address.endpoint, "the Redis server did not answer within {timeout:?}");
                return None;
            }
        };
        self.request(&text)
    }
}

#[cfg(test)]
mod tests;
