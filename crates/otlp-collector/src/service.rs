//! Building the pipeline graph from a config, running it, and shutting it down without losing track of anything.

use crate::config::{
    ComponentId, Config, ExporterConfig, ExtensionConfig, PipelineId, ProcessorConfig,
    ReceiverConfig,
};
use crate::exporter::debug::DebugExporter;
use crate::exporter::file::FileExporter;
use crate::exporter::otlp::{OtlpGrpcExporter, OtlpHttpExporter};
use crate::exporter::{
    Export, ExporterFanout, ExporterHandle, HelperSettings, QueueConfig, RetryConfig,
};
use crate::extension::AdminServer;
use crate::pipeline::Consumer;
use crate::pipeline::Refusal;
use crate::processor::batch::BatchProcessor;
use crate::processor::memory_limiter::{MemoryLimiter, MemoryState};
use crate::processor::probabilistic_sampler::ProbabilisticSamplerProcessor;
use crate::processor::tail_sampling::TailSamplingProcessor;
use crate::receiver::{Ingest, RunningReceiver};
use crate::telemetry::{ReceiverCounters, Telemetry};
use crate::{Batch, Error, Signal};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A collector built from a [`Config`], ready to start.
#[derive(Debug)]
pub struct Collector {
    config: Config,
    telemetry: Telemetry,
}

/// A started collector: its listeners are bound and data flows.
pub struct RunningCollector {
    telemetry: Telemetry,
    /// Every pipeline by signal, for data handed in by the embedding program rather than a receiver.
    embedded: Arc<Ingest>,
    embedded_counters: ReceiverCounters,
    receivers: Vec<(ComponentId, RunningReceiver)>,
    pipelines: Vec<(PipelineId, Arc<dyn Consumer>)>,
    exporters: Vec<Arc<ExporterHandle>>,
    admin: Vec<(String, AdminServer)>,
}

impl std::fmt::Debug for RunningCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningCollector")
            .field(
                "receivers",
                &self
                    .receivers
                    .iter()
                    .map(|(id, _)| id.to_string())
                    .collect::<Vec<_>>(),
            )
            .field(
                "pipelines",
                &self
                    .pipelines
                    .iter()
                    .map(|(id, _)| id.to_string())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What a shutdown could not finish.
#[derive(Debug, Default)]
pub struct ShutdownReport {
    /// Items dropped because the deadline came first, by component and signal.
    pub undelivered: BTreeMap<(String, Signal), u64>,
    /// Components that failed while stopping.
    pub errors: Vec<Error>,
}

impl ShutdownReport {
    /// True when everything accepted was delivered and every component stopped cleanly.
    pub fn is_clean(&self) -> bool {
        self.undelivered.values().all(|n| *n == 0) && self.errors.is_empty()
    }
}

fn build_export(
    id: &ComponentId,
    config: &ExporterConfig,
) -> Result<(Arc<dyn Export>, HelperSettings), Error> {
    let start_error = |message: String| Error::Start {
        component: format!("exporters.{id}"),
        message,
    };
    // Local exporters write synchronously from a small queue: there is no backend outage to absorb.
    let local = || HelperSettings {
        queue: QueueConfig {
            enabled: true,
            num_consumers: 1,
            queue_size: 64,
        },
        retry: RetryConfig {
            initial_interval: Duration::from_millis(100),
            max_interval: Duration::from_secs(5),
            max_elapsed_time: Duration::from_secs(60),
            ..RetryConfig::default()
        },
        timeout: Duration::from_secs(30),
    };
    Ok(match config {
        ExporterConfig::Otlp(c) => (
            Arc::new(OtlpGrpcExporter::new(c).map_err(start_error)?),
            c.helper(),
        ),
        ExporterConfig::OtlpHttp(c) => (
            Arc::new(OtlpHttpExporter::new(c).map_err(start_error)?),
            c.helper(),
        ),
        ExporterConfig::File(c) if c.format == crate::FileFormat::Arrow => (
            Arc::new(crate::exporter::arrow_file::ArrowFileExporter::open(c)),
            local(),
        ),
        ExporterConfig::File(c) => {
            let exporter = FileExporter::open(c.clone())
                .map_err(|e| start_error(format!("cannot open {}: {e}", c.path.display())))?;
            (Arc::new(exporter), local())
        }
        ExporterConfig::Debug(c) => (Arc::new(DebugExporter::new(c.clone())), local()),
        ExporterConfig::ArrowFlight(c) => (
            Arc::new(
                crate::exporter::arrow_flight::ArrowFlightExporter::new(c).map_err(start_error)?,
            ),
            c.helper(),
        ),
    })
}

fn start_error(processor: &str, message: String) -> Error {
    Error::Start {
        component: format!("processors.{processor}"),
        message,
    }
}

impl Collector {
    /// A collector for `config`.
    pub fn new(config: Config) -> Self {
        Collector {
            config,
            telemetry: Telemetry::new(),
        }
    }

    /// The self-metrics registry (also reachable from the running collector).
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Builds the pipelines, binds every listener and starts serving.
    pub async fn start(self) -> Result<RunningCollector, Error> {
        let Collector { config, telemetry } = self;

        // Exporters: one destination per id, one queue per (id, signal), as otelcol does.
        let mut destinations: BTreeMap<ComponentId, (Arc<dyn Export>, HelperSettings)> =
            BTreeMap::new();
        let mut handles: BTreeMap<(ComponentId, Signal), Arc<ExporterHandle>> = BTreeMap::new();
        for (pipeline_id, pipeline) in &config.service.pipelines {
            for id in &pipeline.exporters {
                let Some(exporter_config) = config.exporters.get(id) else {
                    continue;
                };
                if !destinations.contains_key(id) {
                    destinations.insert(id.clone(), build_export(id, exporter_config)?);
                }
                let key = (id.clone(), pipeline_id.signal);
                if !handles.contains_key(&key)
                    && let Some((export, settings)) = destinations.get(id)
                {
                    let handle = ExporterHandle::new(
                        &id.to_string(),
                        pipeline_id.signal,
                        export.clone(),
                        settings.clone(),
                        &telemetry,
                    );
                    handles.insert(key, handle);
                }
            }
        }
        // Pipelines, built back to front.
        let mut memory_states: BTreeMap<ComponentId, Arc<MemoryState>> = BTreeMap::new();
        let mut pipelines: Vec<(PipelineId, Arc<dyn Consumer>)> = Vec::new();
        for (pipeline_id, pipeline) in &config.service.pipelines {
            let signal = pipeline_id.signal;
            let fanout = pipeline
                .exporters
                .iter()
                .filter_map(|id| handles.get(&(id.clone(), signal)).cloned())
                .collect();
            let mut next: Arc<dyn Consumer> = Arc::new(ExporterFanout::new(fanout));
            for id in pipeline.processors.iter().rev() {
                let name = id.to_string();
                next = match config.processors.get(id) {
                    Some(ProcessorConfig::MemoryLimiter(c)) => {
                        let state = memory_states
                            .entry(id.clone())
                            .or_insert_with(|| MemoryState::start(&name, c, &telemetry))
                            .clone();
                        Arc::new(MemoryLimiter::new(&name, state, signal, &telemetry, next))
                    }
                    Some(ProcessorConfig::Batch(c)) => Arc::new(BatchProcessor::start(
                        &name,
                        &pipeline_id.to_string(),
                        signal,
                        c.clone(),
                        &telemetry,
                        next,
                    )),
                    Some(ProcessorConfig::TailSampling(c)) => Arc::new(
                        TailSamplingProcessor::start(&name, c.clone(), &telemetry, next)
                            .map_err(|message| start_error(&name, message))?,
                    ),
                    Some(ProcessorConfig::ProbabilisticSampler(c)) => Arc::new(
                        ProbabilisticSamplerProcessor::new(&name, c.clone(), &telemetry, next)
                            .map_err(|message| start_error(&name, message))?,
                    ),
                    None => next,
                };
            }
            pipelines.push((pipeline_id.clone(), next));
        }

        // Only now that nothing can fail to build do the exporters' consumers start.
        for handle in handles.values() {
            handle.start();
        }
        let mut by_signal: [Vec<Arc<dyn Consumer>>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for (pipeline_id, consumer) in &pipelines {
            by_signal[pipeline_id.signal.index()].push(consumer.clone());
        }
        let mut running = RunningCollector {
            embedded: Arc::new(Ingest::new(by_signal)),
            embedded_counters: ReceiverCounters::new(&telemetry, "embedded", "in_process"),
            telemetry: telemetry.clone(),
            receivers: Vec::new(),
            pipelines,
            exporters: handles.into_values().collect(),
            admin: Vec::new(),
        };
        if let Err(e) = running.start_listeners(&config).await {
            // Stop what already runs, so a failed start leaves no tasks or open ports behind.
            running.shutdown(Duration::ZERO).await;
            return Err(e);
        }
        telemetry.set_ready(true);
        Ok(running)
    }
}

impl RunningCollector {
    async fn start_listeners(&mut self, config: &Config) -> Result<(), Error> {
        for (id, receiver) in &config.receivers {
            let mut by_signal: [Vec<Arc<dyn Consumer>>; 3] = [Vec::new(), Vec::new(), Vec::new()];
            for (pipeline_id, consumer) in &self.pipelines {
                let uses = config
                    .service
                    .pipelines
                    .get(pipeline_id)
                    .is_some_and(|p| p.receivers.contains(id));
                if uses {
                    by_signal[pipeline_id.signal.index()].push(consumer.clone());
                }
            }
            if by_signal.iter().all(Vec::is_empty) {
                tracing::warn!(receiver = %id, "receiver is not used by any pipeline; not started");
                continue;
            }
            let ingest = Arc::new(Ingest::new(by_signal));
            let name = id.to_string();
            let started = match receiver {
                ReceiverConfig::Otlp(c) => {
                    crate::receiver::otlp::start(&name, c, ingest, &self.telemetry).await?
                }
                ReceiverConfig::ArrowFlight(c) => {
                    crate::receiver::arrow_flight::start(&name, c, ingest, &self.telemetry).await?
                }
            };
            tracing::info!(receiver = %id, listeners = ?started.listeners, "receiver listening");
            self.receivers.push((id.clone(), started));
        }
        for id in &config.service.extensions {
            match config.extensions.get(id) {
                Some(ExtensionConfig::HealthCheck(c)) => {
                    let server =
                        AdminServer::health_check(&id.to_string(), c, self.telemetry.clone())
                            .await?;
                    tracing::info!(extension = %id, addr = %server.addr, "health check listening");
                    self.admin.push((id.to_string(), server));
                }
                None => {}
            }
        }
        if let Some(address) = &config.service.telemetry.metrics_address {
            let server = AdminServer::telemetry(address, self.telemetry.clone()).await?;
            tracing::info!(addr = %server.addr, "self-metrics on /metrics");
            self.admin.push(("telemetry".to_string(), server));
        }
        Ok(())
    }

    /// The self-metrics registry.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Hands a batch to every pipeline of its signal from inside the process, as a receiver would (counted as
    /// receiver `embedded`). A refusal means nothing was taken: hold on to the data and try again later.
    pub async fn submit(&self, batch: Batch) -> Result<(), Refusal> {
        self.embedded.submit(batch, &self.embedded_counters).await
    }

    /// Where receiver `id` (`otlp`, `otlp/2`) serves OTLP/gRPC.
    pub fn grpc_addr(&self, id: &str) -> Option<SocketAddr> {
        self.receivers
            .iter()
            .find(|(rid, _)| rid.to_string() == id)
            .and_then(|(_, r)| r.addr("grpc"))
    }

    /// Where receiver `id` serves OTLP/HTTP.
    pub fn http_addr(&self, id: &str) -> Option<SocketAddr> {
        self.receivers
            .iter()
            .find(|(rid, _)| rid.to_string() == id)
            .and_then(|(_, r)| r.addr("http"))
    }

    /// Where receiver `id` (an `arrow_flight` receiver) serves Arrow Flight.
    pub fn flight_addr(&self, id: &str) -> Option<SocketAddr> {
        self.receivers
            .iter()
            .find(|(rid, _)| rid.to_string() == id)
            .and_then(|(_, r)| r.addr("flight"))
    }

    /// Where `/metrics`, `/health` and `/ready` are served.
    pub fn telemetry_addr(&self) -> Option<SocketAddr> {
        self.admin_addr("telemetry")
    }

    /// Where extension `id` (e.g. `health_check`) listens.
    pub fn extension_addr(&self, id: &str) -> Option<SocketAddr> {
        self.admin_addr(id)
    }

    fn admin_addr(&self, name: &str) -> Option<SocketAddr> {
        self.admin
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.addr)
    }

    /// Sends everything the pipelines hold (batch buffers, exporter queues) to its destination now, waiting at
    /// most `timeout`, while the collector keeps running; true when everything accepted so far was delivered.
    /// A serverless host calls this before the environment freezes. Traces the tail sampler has not decided yet
    /// stay where they are.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        futures::future::join_all(self.pipelines.iter().map(|(_, p)| p.flush(deadline))).await;
        crate::exporter::flush_all(&self.exporters, deadline).await
    }

    /// Stops accepting data, drains every pipeline and queue for at most `timeout`, and reports what could not be
    /// delivered (also counted in the self-metrics with reason `shutdown`).
    pub async fn shutdown(self, timeout: Duration) -> ShutdownReport {
        let deadline = Instant::now() + timeout;
        self.telemetry.set_ready(false);
        let mut report = ShutdownReport::default();
        for (id, receiver) in self.receivers {
            match tokio::time::timeout_at(deadline, receiver.shutdown()).await {
                Ok(errors) => report.errors.extend(errors),
                Err(_) => {
                    tracing::warn!(receiver = %id, "receiver did not stop before the deadline")
                }
            }
        }
        futures::future::join_all(self.pipelines.iter().map(|(_, p)| p.shutdown(deadline))).await;
        crate::exporter::shutdown_all(&self.exporters, deadline).await;
        for (_, server) in self.admin {
            server.shutdown().await;
        }
        for signal in Signal::ALL {
            for prefix in ["otelcol_processor_dropped", "otelcol_exporter_send_failed"] {
                let name = format!("{prefix}_{}", signal.item_unit());
                let n = self.telemetry.total_with_label(&name, "reason", "shutdown");
                if n > 0 {
                    *report
                        .undelivered
                        .entry((prefix.to_string(), signal))
                        .or_default() += n;
                }
            }
        }
        report
    }
}
