//! Components and their factories: what a receiver, processor, exporter, connector or extension type provides to
//! plug into the collector, and the registry that knows them.
//!
//! A component type is a value implementing [`Component`] (its type name, its config type and how that config
//! is validated) and one of [`ReceiverFactory`], [`ProcessorFactory`], [`ExporterFactory`],
//! [`ConnectorFactory`] or [`ExtensionFactory`] (how it is built). [`Components`] is the registry a config is parsed with:
//! [`Components::builtin`] holds every type this crate ships, and a program embedding the collector adds its own
//! with one call, without touching this crate:
//!
//! ```
//! use otlp_collector::component::{Component, Components, ExporterContext, ExporterFactory};
//! use otlp_collector::exporter::{Delivered, Export, ExportError, Exporter, HelperSettings};
//! use otlp_collector::{Batch, Config};
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! /// An exporter that only counts what it is given.
//! #[derive(Default)]
//! struct Count(Arc<AtomicUsize>);
//!
//! #[derive(Debug, Clone, Default, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct CountConfig {}
//!
//! impl Component for Count {
//!     type Config = CountConfig;
//!     const TYPE: &'static str = "count";
//! }
//!
//! impl ExporterFactory for Count {
//!     fn build(&self, _: &CountConfig, _: ExporterContext<'_>) -> Result<Exporter, String> {
//!         Ok(Exporter::new(CountExport(self.0.clone()), HelperSettings::local()))
//!     }
//! }
//!
//! struct CountExport(Arc<AtomicUsize>);
//!
//! impl Export for CountExport {
//!     type Payload = usize;
//!     fn prepare(&self, batch: &Arc<Batch>) -> Result<usize, ExportError> {
//!         Ok(batch.item_count())
//!     }
//!     async fn send(&self, items: &usize) -> Result<Delivered, ExportError> {
//!         self.0.fetch_add(*items, Ordering::Relaxed);
//!         Ok(Delivered::default())
//!     }
//! }
//!
//! let components = Components::builtin().with_exporter(Count::default());
//! let config = Config::from_yaml_with(
//!     "receivers: { otlp: { protocols: { grpc: } } }\n\
//!      exporters: { count: }\n\
//!      service: { pipelines: { traces: { receivers: [otlp], exporters: [count] } } }",
//!     &components,
//!     &|_| None,
//! )?;
//! assert_eq!(config.exporters.len(), 1);
//! # Ok::<(), otlp_collector::Error>(())
//! ```

mod builtin;
mod registry;
mod settings;

pub use registry::Components;
pub use settings::ComponentConfig;

use crate::auth::{Authenticator, Authenticators};
use crate::exporter::Exporter;
use crate::id::PipelineId;
use crate::pipeline::{BoxFuture, Consumer};
use crate::receiver::{Ingest, RunningReceiver};
use crate::telemetry::Telemetry;
use crate::{Error, Signal};
use serde::de::DeserializeOwned;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// What every component type declares: the name it is configured by and its config.
pub trait Component: Send + Sync + 'static {
    /// The component's settings, deserialized from its section of the config file. Use
    /// `#[serde(deny_unknown_fields)]` so that a misspelt key is an error naming it.
    type Config: DeserializeOwned + Clone + Debug + Send + Sync + 'static;

    /// The type name configs use (`otlp` in `otlp/2`).
    const TYPE: &'static str;

    /// Checks settings that deserialized but cannot work together; the error is shown with the component's
    /// path in the config (`exporters.otlp/2: ...`), or a key under it ([`Invalid::at`]).
    fn validate(&self, config: &Self::Config) -> Result<(), Invalid> {
        let _ = config;
        Ok(())
    }

    /// Settings that are valid but likely not to do what the operator meant (a key otelcol also accepts and
    /// ignores), as `(key under the component, message)`: the config is taken, and the collector logs each as
    /// it starts and `otlp-suite validate` prints it ([`Config::warnings`](crate::Config::warnings)).
    fn warnings(&self, config: &Self::Config) -> Vec<(String, String)> {
        let _ = config;
        Vec::new()
    }
}

/// Each problem `otlp-suite validate` would print for the settings `yaml` of `component` at `path`
/// (`receivers.redis`): the keys that do not deserialize, else what the component's `validate` refuses, each as
/// (path, message).
#[cfg(test)]
pub(crate) fn problems<C: Component>(
    component: &C,
    path: &str,
    yaml: &str,
) -> Vec<(String, String)> {
    let value = serde_norway::from_str(yaml).expect("the test's YAML parses");
    match crate::de::typed::<C::Config>(path, value) {
        Err(error) => error
            .config_problems()
            .into_iter()
            .map(|problem| (problem.path, problem.message))
            .collect(),
        Ok(config) => component
            .validate(&config)
            .err()
            .map(|invalid| invalid.at_path(path))
            .unwrap_or_default(),
    }
}

/// Why a component's settings cannot work: one problem or several, each a message and the key under the
/// component it is about, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Never empty.
    problems: Vec<(Option<String>, String)>,
}

impl Invalid {
    /// A problem with the key `key` (a dotted path under the component, `protocols.grpc`).
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            problems: vec![(Some(key.into()), message.into())],
        }
    }

    /// `Ok` without problems; each `(key, message)` as [`Invalid::at`] otherwise (what a config's list of its
    /// problems turns into).
    pub fn all_at(
        problems: impl IntoIterator<Item = (impl Into<String>, String)>,
    ) -> Result<(), Invalid> {
        Invalid::all(
            problems
                .into_iter()
                .map(|(key, message)| Invalid::at(key, message)),
        )
    }

    /// `Ok` without a problem; the problem `(key, message)` as [`Invalid::at`] otherwise (what a config type's
    /// own check returns).
    pub fn check(problem: Option<(&str, String)>) -> Result<(), Invalid> {
        match problem {
            Some((key, message)) => Err(Invalid::at(key, message)),
            None => Ok(()),
        }
    }

    /// Every problem of `problems` at once, so that a config is fixed in one go rather than one error per run;
    /// `Ok` when there is none.
    pub fn all(problems: impl IntoIterator<Item = Invalid>) -> Result<(), Invalid> {
        let problems: Vec<_> = problems.into_iter().flat_map(|i| i.problems).collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Invalid { problems })
        }
    }

    /// Each problem: where under the component (`None` for the component itself) and what is wrong.
    pub fn problems(&self) -> impl Iterator<Item = (Option<&str>, &str)> {
        self.problems
            .iter()
            .map(|(key, message)| (key.as_deref(), message.as_str()))
    }

    /// Each problem with its full path, under the component at `path`.
    pub(crate) fn at_path(&self, path: &str) -> Vec<(String, String)> {
        self.problems
            .iter()
            .map(|(key, message)| {
                let full = match key {
                    Some(key) if !key.is_empty() => crate::id::join(path, key),
                    _ => path.to_string(),
                };
                (full, message.clone())
            })
            .collect()
    }

    /// What the problem is (the first one, when there are several).
    pub fn message(&self) -> &str {
        self.problems.first().map_or("", |(_, message)| message)
    }

    /// Each problem as `key: message` (`: message` for the component itself): a test's view of them.
    #[cfg(test)]
    pub(crate) fn lines(&self) -> Vec<String> {
        self.problems()
            .map(|(key, message)| format!("{}: {message}", key.unwrap_or("")))
            .collect()
    }
}

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Invalid {
            problems: vec![(None, message)],
        }
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Self {
        Invalid::from(message.to_string())
    }
}

/// A receiver type: binds its listeners and hands what it receives to the pipelines through
/// [`ReceiverContext::ingest`].
pub trait ReceiverFactory: Component {
    /// The signals whose pipelines this receiver can be in.
    const SIGNALS: &'static [Signal] = &Signal::ALL;

    /// Binds and starts serving. Errors (a port in use) stop the collector from starting.
    fn start(
        &self,
        config: &Self::Config,
        context: ReceiverContext,
    ) -> impl Future<Output = Result<RunningReceiver, Error>> + Send;
}

/// What a receiver is started with.
pub struct ReceiverContext {
    /// The receiver's id in the config (`otlp/2`).
    pub id: String,
    /// The pipelines that use this receiver, by signal.
    pub ingest: Arc<Ingest>,
    /// The self-metrics registry.
    pub telemetry: Telemetry,
    /// The enabled authenticator extensions, for transports whose `auth.authenticator` names one.
    pub authenticators: Authenticators,
    /// The enabled storage extensions' directories by extension id, for a receiver whose `storage` names one
    /// (the `filelog` receiver's read offsets).
    pub storages: BTreeMap<String, StorageDirectory>,
}

impl ReceiverContext {
    /// The error of a receiver that cannot start, saying why: its settings cannot be put to use (a certificate
    /// that does not load, a port taken).
    pub fn start_error(&self, message: impl Into<String>) -> crate::Error {
        crate::Error::Start {
            component: format!("receivers.{}", self.id),
            message: message.into(),
        }
    }
}

/// A processor type: a stage of one pipeline.
pub trait ProcessorFactory: Component {
    /// The signals whose pipelines this processor can be in.
    const SIGNALS: &'static [Signal] = &Signal::ALL;

    /// Checks settings that can only be judged for the signal of a pipeline that uses the processor (an
    /// `attributes` processor's `services` selects spans); called for each pipeline it is in, before `build`.
    fn validate_for(&self, config: &Self::Config, signal: Signal) -> Result<(), Invalid> {
        let _ = (config, signal);
        Ok(())
    }

    /// Builds the stage for one pipeline, handing what it passes on to `next`.
    fn build(
        &self,
        config: &Self::Config,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String>;
}

/// What a processor is built with.
pub struct ProcessorContext<'a> {
    /// The processor's id in the config (`batch/big`).
    pub id: &'a str,
    /// The pipeline this instance serves.
    pub pipeline: &'a PipelineId,
    /// The self-metrics registry.
    pub telemetry: &'a Telemetry,
    pub(crate) shared: &'a SharedState,
}

impl ProcessorContext<'_> {
    /// The signal of the pipeline.
    pub fn signal(&self) -> Signal {
        self.pipeline.signal
    }

    /// State shared by every pipeline that uses this processor id (otelcol shares a `memory_limiter` this way):
    /// created by `init` for the first pipeline, handed out again to the others.
    pub fn shared<T: Send + Sync + 'static>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        self.shared.get_or_init(self.id, init)
    }
}

/// State shared between the instances of one component id, keyed by id and type.
#[derive(Default)]
pub(crate) struct SharedState {
    entries: parking_lot::Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>,
}

impl SharedState {
    fn get_or_init<T: Send + Sync + 'static>(&self, id: &str, init: impl FnOnce() -> T) -> Arc<T> {
        let mut entries = self.entries.lock();
        if let Some(existing) = entries.get(id)
            && let Ok(shared) = Arc::clone(existing).downcast::<T>()
        {
            return shared;
        }
        let shared = Arc::new(init());
        entries.insert(id.to_owned(), shared.clone());
        shared
    }
}

/// An exporter type: one destination per exporter id, serving every pipeline (and signal) that names it.
pub trait ExporterFactory: Component {
    /// The signals whose pipelines this exporter can be in.
    const SIGNALS: &'static [Signal] = &Signal::ALL;

    /// Builds the destination; it starts sending only once the whole collector is built.
    fn build(
        &self,
        config: &Self::Config,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String>;
}

/// What an exporter is built with.
pub struct ExporterContext<'a> {
    /// The exporter's id in the config (`otlp/backend`).
    pub id: &'a str,
    /// The self-metrics registry.
    pub telemetry: &'a Telemetry,
    /// The enabled authenticator extensions, for an exporter whose `auth.authenticator` names one.
    pub authenticators: &'a Authenticators,
}

/// A connector type: an exporter of some pipelines and a receiver of others, handing what the first export to
/// the second (otelcol's `connectors` section). The service builds one connector per id and pair of signals it
/// joins, after the pipelines it hands to, and orders shutdowns and flushes so that those drain after the
/// pipelines that feed them.
pub trait ConnectorFactory: Component {
    /// The (exported by, received by) signal pairs it can join: `forward` joins each signal to itself.
    const PAIRS: &'static [(Signal, Signal)];

    /// Checks settings that can only be judged for the signal of a pipeline that exports to it (a `routing`
    /// table's `span` context needs traces); called for each such pipeline.
    fn validate_for(&self, config: &Self::Config, from: Signal) -> Result<(), Invalid> {
        let _ = (config, from);
        Ok(())
    }

    /// The pipelines its settings name (a `routing` table's), each with the key that names it: the config
    /// checks that each receives from the connector.
    fn named_pipelines(&self, config: &Self::Config) -> Vec<(String, String)> {
        let _ = config;
        Vec::new()
    }

    /// Builds the connector that pipelines of signal `context.from` export to, handing on to `targets`: the
    /// pipelines of signal `context.to` that list it among their receivers.
    fn build(
        &self,
        config: &Self::Config,
        context: ConnectorContext<'_>,
        targets: crate::connector::Targets,
    ) -> Result<Arc<dyn Consumer>, String>;
}

/// What a connector is built with.
pub struct ConnectorContext<'a> {
    /// The connector's id in the config (`forward/sampled`).
    pub id: &'a str,
    /// The signal of the pipelines that export to it.
    pub from: Signal,
    /// The signal of the pipelines it hands to.
    pub to: Signal,
    /// The self-metrics registry.
    pub telemetry: &'a Telemetry,
    /// The collector's own resource (`service.telemetry.resource`, with otelcol's defaults), for a connector whose
    /// metrics name the collector that made them.
    pub collector: &'a [opentelemetry_proto::tonic::common::v1::KeyValue],
}

/// An extension type: something the collector runs beside its pipelines (health check, fleet membership).
pub trait ExtensionFactory: Component {
    /// Starts the extension.
    fn start(
        &self,
        config: &Self::Config,
        context: ExtensionContext,
    ) -> impl Future<Output = Result<Box<dyn RunningExtension>, Error>> + Send;

    /// For a storage extension (otelcol's `file_storage`): where the exporters whose `sending_queue.storage`
    /// names it keep their queues. `None` (the default) for other extensions, which a `storage` key then cannot
    /// name.
    fn storage(&self, config: &Self::Config) -> Option<StorageDirectory> {
        let _ = config;
        None
    }

    /// For an authenticator extension (`bearertokenauth`, `basicauth`): what receivers and exporters whose
    /// `auth.authenticator` names it check and send, or why it cannot be made (a token file that cannot be
    /// read). `None` (the default) for other extensions, which an `authenticator` key then cannot name.
    fn authenticator(
        &self,
        config: &Self::Config,
    ) -> Option<Result<Arc<dyn Authenticator>, String>> {
        let _ = config;
        None
    }
}

/// Where a storage extension keeps what components persist; each component uses a subdirectory of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageDirectory {
    /// The directory.
    pub directory: PathBuf,
    /// Sync every write to the device (survives a power cut, not only a crash of the collector).
    pub fsync: bool,
    /// Create `directory` when it does not exist; otherwise a missing directory stops the collector starting.
    pub create_directory: bool,
}

impl StorageDirectory {
    /// Where a component keeps its state under the directory, named as otelcol names the component's storage
    /// client: `exporter_otlp_backend_traces` for the `otlp/backend` exporter's traces (`kind` `exporter`,
    /// `suffix` `_traces`), `receiver_filelog_app` for the `filelog/app` receiver.
    pub(crate) fn client_path(&self, kind: &str, id: &str, suffix: &str) -> PathBuf {
        let id: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.directory.join(format!("{kind}_{id}{suffix}"))
    }
}

/// What an extension is started with.
pub struct ExtensionContext {
    /// The extension's id in the config.
    pub id: String,
    /// The self-metrics registry (and the collector's readiness).
    pub telemetry: Telemetry,
    /// The collector's load-shedding setting, for an extension that steers it under load.
    pub shedding: crate::LoadShedding,
    /// The running config's `service` section (its pipelines and extensions), for an extension that shows them.
    pub service: Arc<crate::config::ServiceConfig>,
}

/// A started extension.
pub trait RunningExtension: Send + Sync {
    /// Where it listens, if it does.
    fn addr(&self) -> Option<SocketAddr> {
        None
    }

    /// Stops it.
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()>;
}
