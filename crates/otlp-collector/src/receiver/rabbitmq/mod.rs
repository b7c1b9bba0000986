//! The `rabbitmq` receiver (otelcol-contrib's): a RabbitMQ broker's queues, and optionally its nodes, read from
//! the management plugin's HTTP API every `collection_interval`, as otelcol's metrics, so its dashboards keep
//! working.
//!
//! ```yaml
//! receivers:
//!   rabbitmq:
//!     endpoint: "http://rabbitmq:15672"
//!     username: otel
//!     password: ${env:RABBITMQ_PASSWORD}
//!     metrics: { rabbitmq.node.mem_used: { enabled: true } }
//! ```
//!
//! Each queue is a resource (`rabbitmq.queue.name`, `rabbitmq.node.name`, `rabbitmq.vhost.name`) with its
//! consumers, its messages by state and the counters of its `message_stats`; each node, when a node metric is
//! enabled, a resource (`rabbitmq.node.name`) with the figures `/api/nodes` reports (`api.rs`). A read that fails
//! is logged and reports nothing for that scrape (the queues still report when only the nodes could not be read).
//! The queues' counters start when the receiver did, as otelcol's; the nodes' figures when the node did (now less
//! its `uptime`).

mod api;
mod config;

pub use config::RabbitmqConfig;

use super::RunningReceiver;
use super::scraper::metric::{Builder, Clock, Enabled};
use super::scraper::page::Page;
use super::scraper::{self, Scrape};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::{Error, Signal};
use api::{Node, Queue, SPECS};
use base64::Engine as _;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{key_value, string_value};

/// The `rabbitmq` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = RabbitmqConfig;
    const TYPE: &'static str = "rabbitmq";

    fn validate(&self, config: &RabbitmqConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &RabbitmqConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let mut headers = config.headers.clone();
        let credentials = format!("{}:{}", config.username, config.password);
        headers.insert(
            "Authorization".to_owned(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            ),
        );
        let base = config.endpoint.trim_end_matches('/');
        let page = |path: &str| {
            Page::new(
                &format!("{base}{path}"),
                &config.tls,
                &headers,
                config.timeout,
            )
            .map_err(|message| context.start_error(message))
        };
        let enabled = Enabled::new(SPECS, &config.metrics);
        let scraper = RabbitmqScraper {
            queues: page("/api/queues")?,
            nodes: SPECS
                .iter()
                .any(|spec| spec.name.starts_with("rabbitmq.node.") && enabled.on(spec.name))
                .then(|| page("/api/nodes"))
                .transpose()?,
            enabled,
            attributes: [
                "rabbitmq.queue.name",
                "rabbitmq.node.name",
                "rabbitmq.vhost.name",
            ]
            .map(|name| config.resource_attribute(name)),
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

struct RabbitmqScraper {
    queues: Page,
    /// `/api/nodes`, read when a node metric is enabled.
    nodes: Option<Page>,
    enabled: Enabled,
    /// Whether the queue, node and vhost names are set on the resources.
    attributes: [bool; 3],
    /// When the receiver started: the start of the queues' counters.
    started: u64,
    id: String,
}

impl RabbitmqScraper {
    /// A resource of those of `names` (queue, node, vhost) that are enabled and given.
    fn resource(&self, names: [Option<&str>; 3]) -> Resource {
        let keys = [
            "rabbitmq.queue.name",
            "rabbitmq.node.name",
            "rabbitmq.vhost.name",
        ];
        Resource {
            attributes: keys
                .iter()
                .zip(names)
                .zip(self.attributes)
                .filter_map(|((key, name), on)| {
                    on.then_some(name)
                        .flatten()
                        .map(|name| key_value(*key, string_value(name)))
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The request of what was read `now`: a resource per queue, then one per node.
    fn request(
        &self,
        queues: &[Queue],
        nodes: &[Node],
        now: u64,
    ) -> Option<ExportMetricsServiceRequest> {
        let scope = "receiver/rabbitmqreceiver";
        let mut resource_metrics = Vec::new();
        for queue in queues {
            let clock = Clock {
                now,
                start: self.started,
            };
            let mut out = Builder::new(SPECS, &self.enabled, clock);
            queue.record(&mut out);
            let metrics = out.finish();
            if !metrics.is_empty() {
                let names = [
                    Some(queue.name.as_str()),
                    Some(queue.node.as_str()),
                    Some(queue.vhost.as_str()),
                ];
                resource_metrics.push(scraper::resource_metrics(
                    self.resource(names),
                    scope,
                    metrics,
                ));
            }
        }
        for node in nodes {
            let start = node.uptime_ms().map_or(self.started, |uptime| {
                now.saturating_sub(uptime.saturating_mul(1_000_000))
            });
            let mut out = Builder::new(SPECS, &self.enabled, Clock { now, start });
            node.record(&mut out);
            let metrics = out.finish();
            if !metrics.is_empty() {
                let names = [None, Some(node.name.as_str()), None];
                resource_metrics.push(scraper::resource_metrics(
                    self.resource(names),
                    scope,
                    metrics,
                ));
            }
        }
        (!resource_metrics.is_empty()).then_some(ExportMetricsServiceRequest { resource_metrics })
    }
}

/// `page` read as the JSON list it holds.
async fn list<T: serde::de::DeserializeOwned>(page: &Page) -> Result<Vec<T>, String> {
    let text = page.read().await?;
    serde_json::from_str(&text).map_err(|e| format!("the answer is not the API's list: {e}"))
}

impl Scrape for RabbitmqScraper {
    async fn scrape(&mut self) -> Option<ExportMetricsServiceRequest> {
        let queues = scraper::read_or_log(
            list::<Queue>(&self.queues).await,
            &self.id,
            &self.queues.url,
            "reading RabbitMQ's queues failed",
        )?;
        let nodes = match &self.nodes {
            Some(page) => scraper::read_or_log(
                list::<Node>(page).await,
                &self.id,
                &page.url,
                "reading RabbitMQ's nodes failed",
            )
            .unwrap_or_default(),
            None => Vec::new(),
        };
        self.request(&queues, &nodes, crate::clock::now_nanos())
    }
}

#[cfg(test)]
mod tests;
