//! The `prometheus` receiver (otelcol-contrib's, static and file targets): scrapes Prometheus text endpoints on a
//! schedule and hands what they expose to the metrics pipelines, as otelcol does for the collector's own
//! `:8888/metrics` or an application's exporter.
//!
//! ```yaml
//! receivers:
//!   prometheus:
//!     config:
//!       scrape_configs:
//!         - job_name: otel-collector
//!           scrape_interval: 10s
//!           static_configs: [{ targets: ["localhost:8888"] }]
//! ```
//!
//! Each target is scraped by a task of its own. The answer is read as the text format (`text.rs`) and converted
//! (`convert.rs`): the job is the resource's `service.name`, the target (`host:port`) its `service.instance.id`,
//! `server.address` and `server.port`; counters become cumulative sums that start when first seen and again after
//! a reset. Every scrape also reports `up` (1, or 0 when the target could not be scraped or read, which is logged).
//! Targets come from `static_configs` and from files (`file_sd.rs`, followed by each job's task in `job.rs`);
//! `relabel_configs` make the targets (`targets.rs`) and `metric_relabel_configs` rewrite the scraped series
//! (`metric_relabel.rs`), with Prometheus's rules (`relabel.rs`). Other service discovery is refused with what to
//! use instead.

mod config;
mod convert;
mod file_sd;
mod job;
mod metric_relabel;
mod relabel;
mod scrape_auth;
mod targets;
mod text;

pub use config::TlsConfig;
pub use config::{
    FileSdConfig, Global, PrometheusConfig, PrometheusReceiverConfig, ScrapeConfig, StaticConfig,
};
pub use relabel::{Action, RelabelConfig};
pub use scrape_auth::{Authorization, BasicAuth};

use super::{Ingest, RunningReceiver, shutdown_signal};
use crate::component::{Component, Invalid, ReceiverContext, ReceiverFactory};
use crate::exporter::otlphttp::client::HttpClient;
use crate::telemetry::ReceiverCounters;
use crate::{Batch, Error, Signal};
use convert::{Starts, TargetLabels};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `prometheus` receiver type.
pub struct Factory;

impl Component for Factory {
    type Config = PrometheusReceiverConfig;
    const TYPE: &'static str = "prometheus";

    fn validate(&self, config: &PrometheusReceiverConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ReceiverFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    async fn start(
        &self,
        config: &PrometheusReceiverConfig,
        context: ReceiverContext,
    ) -> Result<RunningReceiver, Error> {
        let component = format!("receivers.{}", context.id);
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let mut running = RunningReceiver::new(shutdown);
        let counters = Arc::new(ReceiverCounters::new(
            &context.telemetry,
            &context.id,
            "scrape",
        ));
        let global = &config.config.global;
        for scrape_config in &config.config.scrape_configs {
            let tls = scrape_config
                .tls_config
                .as_ref()
                .map(config::TlsConfig::client)
                .unwrap_or_default();
            let client = HttpClient::new(&tls, &Default::default(), scrape_config.timeout(global))
                .map_err(|message| Error::Start {
                    component: component.clone(),
                    message,
                })?;
            let fail = |message: String| Error::Start {
                component: component.clone(),
                message: format!("job `{}`: {message}", scrape_config.job_name),
            };
            let compiled = |rules| {
                relabel::compile(rules)
                    .map_err(|(index, problem)| fail(format!("rule {index}: {problem}")))
            };
            let job = Arc::new(job::Job {
                config: scrape_config.clone(),
                global: global.clone(),
                target_rules: compiled(&scrape_config.relabel_configs)?,
                metric_rules: Arc::new(compiled(&scrape_config.metric_relabel_configs)?),
                client: Arc::new(client),
                ingest: context.ingest.clone(),
                counters: Arc::clone(&counters),
                id: context.id.clone(),
                watch: watch.clone(),
            });
            if scrape_config.file_sd_configs.is_empty() {
                for target in job.targets(&job.static_groups()) {
                    running.spawn(Arc::clone(&job).run(target));
                }
            } else {
                let discovery =
                    file_sd::FileDiscovery::new(&scrape_config.file_sd_configs).map_err(fail)?;
                running.spawn(Arc::clone(&job).discover(discovery));
            }
        }
        Ok(running)
    }
}

/// One target of a job.
struct Target {
    url: http::Uri,
    job: String,
    instance: String,
    scheme: String,
    /// The labels the conversion adds to every point.
    labels: TargetLabels,
    /// `metric_relabel_configs`, and the target's labels they see on every series.
    metric_relabel: Option<(Arc<Vec<relabel::Rule>>, TargetLabels)>,
    /// What the job's targets share: its client, credentials and settings.
    settings: Arc<job::Job>,
}

impl Target {
    async fn run(
        self,
        interval: Duration,
        ingest: &Arc<Ingest>,
        counters: &ReceiverCounters,
        id: &str,
        watch: tokio::sync::watch::Receiver<bool>,
    ) {
        let stopped = shutdown_signal(watch);
        tokio::pin!(stopped);
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut starts = Starts::default();
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                _ = ticks.tick() => {}
            }
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            let (mut metrics, up) = match self.scrape().await {
                Ok(families) => {
                    let families = match &self.metric_relabel {
                        None => families,
                        Some((rules, series)) => metric_relabel::relabel_families(
                            families,
                            rules,
                            series,
                            &self.job,
                            &self.instance,
                        ),
                    };
                    (
                        convert::convert(&families, &self.labels, &mut starts, now),
                        1.0,
                    )
                }
                Err(error) => {
                    tracing::warn!(receiver = %id, job = %self.job, target = %self.url, %error, "scrape failed");
                    (Vec::new(), 0.0)
                }
            };
            metrics.push(up_metric(up, now));
            if let Err(refusal) = ingest
                .submit(Batch::new(self.request(metrics)), counters)
                .await
            {
                // A scrape is not sent again: the next one measures anew.
                tracing::warn!(receiver = %id, job = %self.job, error = %refusal, "the pipelines refused a scrape");
            }
        }
    }

    /// The target's families, or why there are none.
    async fn scrape(&self) -> Result<Vec<text::Family>, String> {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("text/plain;version=0.0.4;q=1,*/*;q=0.1"),
        );
        let scrape = &self.settings.config;
        if let Some(value) =
            scrape_auth::header(scrape.basic_auth.as_ref(), scrape.authorization.as_ref())?
        {
            let value = http::HeaderValue::from_str(&value)
                .map_err(|_| "the credentials cannot be sent in a header".to_owned())?;
            headers.insert(http::header::AUTHORIZATION, value);
        }
        let answer = self.settings.client.get(&self.url, &headers).await?;
        if !answer.status.is_success() {
            return Err(format!("HTTP {}", answer.status));
        }
        let body = std::str::from_utf8(&answer.body)
            .map_err(|e| format!("the answer is not UTF-8: {e}"))?;
        text::parse(body).map_err(|e| format!("the answer is not Prometheus's text format: {e}"))
    }

    /// A request with the target's resource.
    fn request(&self, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        let (address, port) = self
            .instance
            .rsplit_once(':')
            .unwrap_or((&self.instance, ""));
        let mut attributes = vec![
            string("service.name", &self.job),
            string("service.instance.id", &self.instance),
            string("server.address", address),
            string("url.scheme", &self.scheme),
        ];
        if !port.is_empty() {
            attributes.push(string("server.port", port));
        }
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource { attributes, ..Default::default() }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
                            .to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

fn up_metric(value: f64, now: u64) -> Metric {
    Metric {
        name: "up".to_owned(),
        description: "The scraping was successful".to_owned(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                time_unix_nano: now,
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

fn string(key: &str, value: &str) -> KeyValue {
    otlp_ottl::key_value(key, otlp_ottl::string_value(value))
}
