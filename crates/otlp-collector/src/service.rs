//! Building the pipeline graph from a config, running it, and shutting it down without losing track of anything.

use crate::admin::AdminServer;
use crate::auth::Authenticators;
use crate::component::{
    ConnectorContext, ExporterContext, ExtensionContext, ProcessorContext, ReceiverContext,
    RunningExtension, SharedState, StorageDirectory,
};
use crate::config::{ComponentId, Config, PipelineConfig, PipelineId, connectors};
use crate::connector::{ConnectorsThenExporters, Targets};
use crate::exporter::{Exporter, ExporterFanout, ExporterHandle};
use crate::pipeline::{Consumer, Refusal};
use crate::receiver::{Ingest, RunningReceiver};
use crate::reload::{KeptReceiver, reusable_source};
use crate::telemetry::periodic::PeriodicReaders;
use crate::telemetry::{ReceiverCounters, Telemetry};
use crate::{Batch, Error, LoadShedding, Signal};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// A collector built from a [`Config`], ready to start.
#[derive(Debug)]
pub struct Collector {
    config: Config,
    telemetry: Telemetry,
    shedding: LoadShedding,
}

/// A started collector: its listeners are bound and data flows.
pub struct RunningCollector {
    telemetry: Telemetry,
    /// What the receivers drop at admission while overloaded; carried across reloads.
    shedding: LoadShedding,
    /// Every pipeline by signal, for data handed in by the embedding program rather than a receiver.
    embedded: Arc<Ingest>,
    embedded_counters: OnceLock<ReceiverCounters>,
    receivers: Vec<ServingReceiver>,
    /// In the order data flows: a pipeline after a connector comes after the pipelines feeding it.
    pipelines: Vec<(PipelineId, Arc<dyn Consumer>)>,
    /// How many pipelines the longest chain of connectors puts before each pipeline.
    depths: BTreeMap<PipelineId, usize>,
    exporters: Vec<Arc<ExporterHandle>>,
    extensions: Vec<(ComponentId, Box<dyn RunningExtension>)>,
    telemetry_server: Option<AdminServer>,
    /// `service.telemetry.metrics.readers[].periodic`: the self-metrics pushed over OTLP.
    periodic_readers: PeriodicReaders,
}

impl std::fmt::Debug for RunningCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningCollector")
            .field(
                "receivers",
                &self
                    .receivers
                    .iter()
                    .map(|receiver| receiver.id.to_string())
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

/// A receiver serving, with what a [reload](RunningCollector::reload) needs to keep it serving.
pub(crate) struct ServingReceiver {
    pub(crate) id: ComponentId,
    pub(crate) running: RunningReceiver,
    /// Where its requests go, replaceable while it serves.
    pub(crate) ingest: Arc<Ingest>,
    /// The YAML it was started from, when a reload to the same YAML may keep it (see `reusable_source`).
    pub(crate) source: Option<serde_norway::Value>,
}

/// What a shutdown could not finish, and what the exporters had given up on before it.
#[derive(Debug, Default)]
pub struct ShutdownReport {
    /// Items dropped because the deadline came first, by component and signal.
    pub undelivered: BTreeMap<(String, Signal), u64>,
    /// Items the exporters gave up on while the collector ran (a permanent error, retries run out), by signal:
    /// accepted from a client, never delivered (`otelcol_exporter_send_failed_*`).
    pub failed_while_running: BTreeMap<Signal, u64>,
    /// Components that failed while stopping.
    pub errors: Vec<Error>,
}

impl ShutdownReport {
    /// True when the shutdown delivered everything the pipelines held and every component stopped cleanly.
    pub fn is_clean(&self) -> bool {
        self.undelivered.values().all(|n| *n == 0) && self.errors.is_empty()
    }

    /// True when, besides a clean shutdown, no exporter gave up on anything while the collector ran: everything
    /// accepted was delivered.
    pub fn delivered_everything(&self) -> bool {
        self.is_clean() && self.failed_while_running.values().all(|n| *n == 0)
    }
}

/// A component that could not be built, reported with its place in the config.
fn start_error(section: &str, id: &ComponentId, message: String) -> Error {
    Error::Start {
        component: format!("{section}.{id}"),
        message,
    }
}

/// A component whose type the config's registry does not know: only possible for a config changed by a program
/// after parsing, since parsing checks every type.
fn unknown_type(section: &str, id: &ComponentId) -> Error {
    start_error(
        section,
        id,
        format!("no factory for component type `{}`", id.kind()),
    )
}

/// The storage extension an exporter's persistent queue uses, if it has one. Parsing checked the reference; this
/// catches a config a program changed afterwards.
fn storage_of(
    config: &Config,
    id: &ComponentId,
    exporter: &Exporter,
) -> Result<Option<StorageDirectory>, Error> {
    let queue = &exporter.settings.queue;
    let Some(name) = queue.storage.as_deref().filter(|_| queue.enabled) else {
        return Ok(None);
    };
    let fail =
        |message: String| start_error("exporters", id, format!("sending_queue.storage: {message}"));
    let extension = ComponentId::parse(name).map_err(fail)?;
    let settings = config
        .extensions
        .get(&extension)
        .filter(|_| config.service.extensions.contains(&extension))
        .ok_or_else(|| {
            fail(format!(
                "extension `{extension}` is not defined and enabled in service.extensions"
            ))
        })?;
    config
        .components()
        .extension(extension.kind())
        .and_then(|factory| factory.storage(settings))
        .map(Some)
        .ok_or_else(|| fail(format!("`{extension}` is not a storage extension")))
}

/// The directories of the enabled extensions that are storage extensions, by id.
fn storages_of(config: &Config) -> BTreeMap<String, StorageDirectory> {
    config
        .service
        .extensions
        .iter()
        .filter_map(|id| {
            let settings = config.extensions.get(id)?;
            let storage = config
                .components()
                .extension(id.kind())?
                .storage(settings)?;
            Some((id.to_string(), storage))
        })
        .collect()
}

/// The authenticators of the enabled extensions that are authenticators, made now (a token file is read here).
fn authenticators_of(config: &Config) -> Result<Authenticators, Error> {
    let mut authenticators = Authenticators::default();
    for id in &config.service.extensions {
        let (Some(settings), Some(factory)) = (
            config.extensions.get(id),
            config.components().extension(id.kind()),
        ) else {
            continue;
        };
        match factory.authenticator(settings) {
            Some(Ok(authenticator)) => authenticators.insert(id.to_string(), authenticator),
            Some(Err(message)) => return Err(start_error("extensions", id, message)),
            None => {}
        }
    }
    Ok(authenticators)
}

/// The connectors `pipeline` exports to, each joined to the pipelines it hands to (already built, in `built`);
/// one connector per id and pair of signals, shared by every pipeline feeding it, as in otelcol.
fn connectors_of(
    config: &Config,
    (pipeline_id, pipeline): (&PipelineId, &PipelineConfig),
    links: &[connectors::Link],
    built: &[(PipelineId, Arc<dyn Consumer>)],
    telemetry: &Telemetry,
    connectors: &mut BTreeMap<(ComponentId, Signal, Signal), Arc<dyn Consumer>>,
) -> Result<Vec<Arc<dyn Consumer>>, Error> {
    let mut out = Vec::new();
    for id in &pipeline.exporters {
        let Some(settings) = config.connectors.get(id) else {
            continue;
        };
        let factory = config
            .components()
            .connector(id.kind())
            .ok_or_else(|| unknown_type("connectors", id))?;
        for &(from, to) in factory.pairs() {
            if from != pipeline_id.signal {
                continue;
            }
            let key = (id.clone(), from, to);
            if let Some(connector) = connectors.get(&key) {
                out.push(Arc::clone(connector));
                continue;
            }
            let targets: Vec<(PipelineId, Arc<dyn Consumer>)> = links
                .iter()
                .filter(|link| {
                    &link.from == pipeline_id && &link.connector == id && link.to.signal == to
                })
                .filter_map(|link| {
                    built
                        .iter()
                        .find(|(built_id, _)| built_id == &link.to)
                        .cloned()
                })
                .collect();
            if targets.is_empty() {
                continue;
            }
            let name = id.to_string();
            let collector = config.service.telemetry.resource.attributes();
            let context = ConnectorContext {
                id: &name,
                from,
                to,
                telemetry,
                collector: &collector,
            };
            let connector = factory
                .build(settings, context, Targets::new(targets))
                .map_err(|message| start_error("connectors", id, message))?;
            connectors.insert(key, Arc::clone(&connector));
            out.push(connector);
        }
    }
    Ok(out)
}

/// `pipelines` grouped by their depth (see [`RunningCollector::stages`]).
fn stages<'a>(
    pipelines: &'a [(PipelineId, Arc<dyn Consumer>)],
    depths: &BTreeMap<PipelineId, usize>,
) -> Vec<Vec<&'a Arc<dyn Consumer>>> {
    let mut stages: Vec<Vec<&Arc<dyn Consumer>>> = Vec::new();
    for (id, pipeline) in pipelines {
        let depth = depths.get(id).copied().unwrap_or(0);
        if stages.len() <= depth {
            stages.resize_with(depth + 1, Vec::new);
        }
        if let Some(stage) = stages.get_mut(depth) {
            stage.push(pipeline);
        }
    }
    stages
}

impl Collector {
    /// A collector for `config`.
    pub fn new(config: Config) -> Self {
        Collector {
            config,
            telemetry: Telemetry::new(),
            shedding: LoadShedding::default(),
        }
    }

    /// A collector for `config` that counts into an existing registry, so self-metrics (and anything reading them,
    /// such as a fleet member's load report) carry on across a [reload](RunningCollector::reload).
    pub fn with_telemetry(config: Config, telemetry: Telemetry) -> Self {
        Collector {
            config,
            telemetry,
            shedding: LoadShedding::default(),
        }
    }

    /// The same collector shedding load at admission as `shedding` says (set by whoever holds a clone: a fleet
    /// member's degradation controller); by default nothing is shed. A reload keeps the setting.
    pub fn with_shedding(mut self, shedding: LoadShedding) -> Self {
        self.shedding = shedding;
        self
    }

    /// The self-metrics registry (also reachable from the running collector).
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Builds the pipelines, binds every listener and starts serving.
    pub async fn start(self) -> Result<RunningCollector, Error> {
        self.start_keeping(&mut Vec::new()).await
    }

    /// [`start`](Self::start), serving through the receivers of `kept` that this config has unchanged instead of
    /// starting them again; those it takes are removed from `kept`, and none is when the start fails.
    pub(crate) async fn start_keeping(
        self,
        kept: &mut Vec<KeptReceiver>,
    ) -> Result<RunningCollector, Error> {
        let Collector {
            config,
            telemetry,
            shedding,
        } = self;
        for unset in config.unset_variables() {
            tracing::warn!(
                variable = %unset.name,
                at = %unset.path,
                "environment variable is not set; using an empty string"
            );
        }
        for warning in config.warnings() {
            tracing::warn!(at = %warning.path, "{}", warning.message);
        }
        let components = config.components();
        let authenticators = authenticators_of(&config)?;
        authenticators
            .prepare()
            .await
            .map_err(|(id, message)| Error::Start {
                component: format!("extensions.{id}"),
                message,
            })?;

        // Exporters: one destination per id, one queue per (id, signal), as otelcol does.
        let mut destinations: BTreeMap<ComponentId, Exporter> = BTreeMap::new();
        let mut handles: BTreeMap<(ComponentId, Signal), Arc<ExporterHandle>> = BTreeMap::new();
        for (pipeline_id, pipeline) in &config.service.pipelines {
            for id in &pipeline.exporters {
                let Some(settings) = config.exporters.get(id) else {
                    continue;
                };
                if !destinations.contains_key(id) {
                    let factory = components
                        .exporter(id.kind())
                        .ok_or_else(|| unknown_type("exporters", id))?;
                    let name = id.to_string();
                    let context = ExporterContext {
                        id: &name,
                        telemetry: &telemetry,
                        authenticators: &authenticators,
                    };
                    let exporter = factory
                        .build(settings, context)
                        .map_err(|message| start_error("exporters", id, message))?;
                    destinations.insert(id.clone(), exporter);
                }
                let key = (id.clone(), pipeline_id.signal);
                if !handles.contains_key(&key)
                    && let Some(exporter) = destinations.get(id)
                {
                    let storage = storage_of(&config, id, exporter)?;
                    let handle = ExporterHandle::new(
                        &id.to_string(),
                        pipeline_id.signal,
                        exporter,
                        storage.as_ref(),
                        &telemetry,
                    )
                    .map_err(|e| start_error("exporters", id, e.to_string()))?;
                    handles.insert(key, handle);
                }
            }
        }
        // Pipelines, each built back to front, those after connectors before those that feed them.
        let links = connectors::links(&config);
        let depths = connectors::depths(&config, &links).ok_or_else(|| Error::Start {
            component: "service.pipelines".to_string(),
            message: "pipelines joined by connectors form a cycle".to_string(),
        })?;
        let mut order: Vec<(&PipelineId, &PipelineConfig)> =
            config.service.pipelines.iter().collect();
        order.sort_by_key(|(id, _)| std::cmp::Reverse(depths.get(*id).copied().unwrap_or(0)));
        let shared = SharedState::default();
        let mut built_connectors = BTreeMap::new();
        let mut pipelines: Vec<(PipelineId, Arc<dyn Consumer>)> = Vec::new();
        for (pipeline_id, pipeline) in order {
            let fanout = pipeline
                .exporters
                .iter()
                .filter_map(|id| handles.get(&(id.clone(), pipeline_id.signal)).cloned())
                .collect();
            let exporters: Arc<dyn Consumer> = Arc::new(ExporterFanout::new(fanout));
            let connectors = connectors_of(
                &config,
                (pipeline_id, pipeline),
                &links,
                &pipelines,
                &telemetry,
                &mut built_connectors,
            )?;
            let mut next: Arc<dyn Consumer> = if connectors.is_empty() {
                exporters
            } else {
                Arc::new(ConnectorsThenExporters {
                    connectors,
                    exporters,
                })
            };
            for id in pipeline.processors.iter().rev() {
                let Some(settings) = config.processors.get(id) else {
                    continue;
                };
                let factory = components
                    .processor(id.kind())
                    .ok_or_else(|| unknown_type("processors", id))?;
                let name = id.to_string();
                let context = ProcessorContext {
                    id: &name,
                    pipeline: pipeline_id,
                    telemetry: &telemetry,
                    shared: &shared,
                };
                next = factory
                    .build(settings, context, next)
                    .map_err(|message| start_error("processors", id, message))?;
            }
            pipelines.push((pipeline_id.clone(), next));
        }
        // From here on in the order data flows, for draining.
        pipelines.reverse();

        // Only now that nothing can fail to build do the exporters' consumers start.
        for handle in handles.values() {
            handle.start();
        }
        // Data handed in by the embedding program enters where a receiver's would: not into pipelines that only
        // connectors feed, which would take it twice.
        let mut by_signal: [Vec<Arc<dyn Consumer>>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for (pipeline_id, consumer) in &pipelines {
            let received = config.service.pipelines.get(pipeline_id).is_some_and(|p| {
                p.receivers
                    .iter()
                    .any(|id| !config.connectors.contains_key(id))
            });
            if received {
                by_signal[pipeline_id.signal.index()].push(consumer.clone());
            }
        }
        let mut running = RunningCollector {
            embedded: Arc::new(Ingest::new(by_signal).with_shedding(shedding.clone(), &telemetry)),
            embedded_counters: OnceLock::new(),
            telemetry: telemetry.clone(),
            shedding,
            receivers: Vec::new(),
            pipelines,
            depths,
            exporters: handles.into_values().collect(),
            extensions: Vec::new(),
            telemetry_server: None,
            periodic_readers: PeriodicReaders::default(),
        };
        if let Err(e) = running
            .start_listeners(&config, &authenticators, kept)
            .await
        {
            // Stop what already runs, so a failed start leaves no tasks or open ports behind.
            running.shutdown(Duration::ZERO).await;
            return Err(e);
        }
        telemetry.set_ready(true);
        Ok(running)
    }
}

impl RunningCollector {
    async fn start_listeners(
        &mut self,
        config: &Config,
        authenticators: &Authenticators,
        kept: &mut Vec<KeptReceiver>,
    ) -> Result<(), Error> {
        let mut keeping = Vec::new();
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
            let source = reusable_source(config, id);
            if kept
                .iter()
                .any(|receiver| receiver.fits(id, source.as_ref(), &by_signal))
            {
                keeping.push((id.clone(), by_signal));
                continue;
            }
            let factory = config
                .components()
                .receiver(id.kind())
                .ok_or_else(|| unknown_type("receivers", id))?;
            let ingest = Arc::new(
                Ingest::new(by_signal).with_shedding(self.shedding.clone(), &self.telemetry),
            );
            let context = ReceiverContext {
                id: id.to_string(),
                ingest: ingest.clone(),
                telemetry: self.telemetry.clone(),
                authenticators: authenticators.clone(),
                storages: storages_of(config),
            };
            let started = factory.start(receiver, context).await?;
            if started.listeners().is_empty() {
                // A receiver that gathers rather than listens (`hostmetrics`).
                tracing::info!(receiver = %id, "receiver started");
            } else {
                tracing::info!(receiver = %id, listeners = ?started.listeners(), "receiver listening");
            }
            self.receivers.push(ServingReceiver {
                id: id.clone(),
                running: started,
                ingest,
                source,
            });
        }
        for id in &config.service.extensions {
            let Some(settings) = config.extensions.get(id) else {
                continue;
            };
            let factory = config
                .components()
                .extension(id.kind())
                .ok_or_else(|| unknown_type("extensions", id))?;
            let context = ExtensionContext {
                id: id.to_string(),
                telemetry: self.telemetry.clone(),
                shedding: self.shedding.clone(),
                service: Arc::new(config.service.clone()),
            };
            let started = factory.start(settings, context).await?;
            self.extensions.push((id.clone(), started));
        }
        if let Some(address) = &config.service.telemetry.metrics_address {
            let server = AdminServer::telemetry(address, self.telemetry.clone()).await?;
            tracing::info!(addr = %server.addr, "self-metrics on /metrics");
            self.telemetry_server = Some(server);
        }
        self.periodic_readers = PeriodicReaders::start(&config.service.telemetry, &self.telemetry)?;
        // Everything else runs: the kept receivers hand what they held back to the new pipelines.
        for (id, pipelines) in keeping {
            if let Some(at) = kept.iter().position(|receiver| receiver.id() == &id) {
                let receiver = kept.swap_remove(at).resume(pipelines);
                tracing::info!(receiver = %id, listeners = ?receiver.running.listeners(), "receiver kept serving");
                self.receivers.push(receiver);
            }
        }
        Ok(())
    }

    /// The self-metrics registry.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    pub(crate) fn receivers_mut(&mut self) -> &mut Vec<ServingReceiver> {
        &mut self.receivers
    }

    /// The load-shedding setting the receivers apply.
    pub fn shedding(&self) -> &LoadShedding {
        &self.shedding
    }

    /// Hands a batch to every pipeline of its signal from inside the process, as a receiver would (counted as
    /// receiver `embedded`). A refusal means nothing was taken: hold on to the data and try again later.
    pub async fn submit(&self, batch: Batch) -> Result<(), Refusal> {
        // Registered on first use, so the metrics of a collector nobody embeds list no `embedded` receiver.
        let counters = self
            .embedded_counters
            .get_or_init(|| ReceiverCounters::new(&self.telemetry, "embedded", "in_process"));
        self.embedded.submit(batch, counters).await
    }

    /// Where receiver `id` (`otlp`, `otlp/2`) listens for `transport` (`grpc`, `http`, `flight`, `tcp`, `udp`).
    pub fn receiver_addr(&self, id: &str, transport: &str) -> Option<SocketAddr> {
        self.receivers
            .iter()
            .find(|receiver| receiver.id.to_string() == id)
            .and_then(|receiver| receiver.running.addr(transport))
    }

    /// Where receiver `id` (`otlp`, `otlp/2`) serves OTLP/gRPC.
    pub fn grpc_addr(&self, id: &str) -> Option<SocketAddr> {
        self.receiver_addr(id, "grpc")
    }

    /// Where receiver `id` serves OTLP/HTTP.
    pub fn http_addr(&self, id: &str) -> Option<SocketAddr> {
        self.receiver_addr(id, "http")
    }

    /// Where receiver `id` (an `arrow_flight` receiver) serves Arrow Flight.
    pub fn flight_addr(&self, id: &str) -> Option<SocketAddr> {
        self.receiver_addr(id, "flight")
    }

    /// Where `/metrics`, `/health` and `/ready` are served.
    pub fn telemetry_addr(&self) -> Option<SocketAddr> {
        self.telemetry_server.as_ref().map(|server| server.addr)
    }

    /// Where extension `id` (e.g. `health_check`) listens.
    pub fn extension_addr(&self, id: &str) -> Option<SocketAddr> {
        self.extensions
            .iter()
            .find(|(extension, _)| extension.to_string() == id)
            .and_then(|(_, running)| running.addr())
    }

    /// Where exporter `id` serves (the `prometheus` exporter's scrape endpoint).
    pub fn exporter_addr(&self, id: &str) -> Option<SocketAddr> {
        self.exporters
            .iter()
            .filter(|exporter| exporter.id == id)
            .find_map(|exporter| exporter.local_addr())
    }

    /// The pipelines grouped by how many connectors lie before them, first the ones no connector feeds: each
    /// group drains into the next while that still runs.
    fn stages(&self) -> Vec<Vec<&Arc<dyn Consumer>>> {
        stages(&self.pipelines, &self.depths)
    }

    /// Sends everything the pipelines hold (batch buffers, exporter queues) to its destination now, waiting at
    /// most `timeout`, while the collector keeps running; true when everything accepted so far was delivered.
    /// A serverless host calls this before the environment freezes. Traces the tail sampler has not decided yet
    /// stay where they are.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        for stage in self.stages() {
            futures::future::join_all(stage.iter().map(|p| p.flush(deadline))).await;
        }
        crate::exporter::flush_all(&self.exporters, deadline).await
    }

    /// Stops accepting data, drains every pipeline and queue for at most `timeout`, and reports what could not be
    /// delivered (also counted in the self-metrics with reason `shutdown`).
    pub async fn shutdown(self, timeout: Duration) -> ShutdownReport {
        let deadline = Instant::now() + timeout;
        self.telemetry.set_ready(false);
        let mut report = ShutdownReport::default();
        for receiver in self.receivers {
            report
                .errors
                .extend(receiver.running.shutdown(deadline).await);
        }
        for stage in stages(&self.pipelines, &self.depths) {
            futures::future::join_all(stage.iter().map(|p| p.shutdown(deadline))).await;
        }
        crate::exporter::shutdown_all(&self.exporters, deadline).await;
        // After the exporters, so that the last push carries what the drain sent.
        self.periodic_readers.shutdown().await;
        for (_, extension) in self.extensions {
            extension.shutdown().await;
        }
        if let Some(server) = self.telemetry_server {
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
            let failed = format!("otelcol_exporter_send_failed_{}", signal.item_unit());
            let while_running = self.telemetry.total(&failed).saturating_sub(
                self.telemetry
                    .total_with_label(&failed, "reason", "shutdown"),
            );
            if while_running > 0 {
                report.failed_while_running.insert(signal, while_running);
            }
        }
        report
    }
}
