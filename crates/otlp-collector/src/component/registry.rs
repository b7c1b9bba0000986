//! [`Components`]: the registry of component types a config is parsed and built with, and the type-erased
//! factories it holds.

use super::{
    Component, ComponentConfig, ExporterContext, ExporterFactory, ExtensionContext,
    ExtensionFactory, ProcessorContext, ProcessorFactory, ReceiverContext, ReceiverFactory,
    RunningExtension, StorageDirectory,
};
use crate::de::typed;
use crate::exporter::Exporter;
use crate::pipeline::{BoxFuture, Consumer};
use crate::receiver::RunningReceiver;
use crate::{ConfigProblem, Error, Signal};
use serde_norway::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// What the registry needs of any component type, whatever its kind.
pub(crate) trait DynComponent: Send + Sync {
    /// Deserializes settings; errors name the key path under `path`.
    fn parse(&self, path: &str, value: Value) -> Result<ComponentConfig, Error>;

    /// Every problem of parsed settings ([`Component::validate`]), with full paths.
    fn validate(&self, path: &str, config: &ComponentConfig) -> Vec<ConfigProblem>;
}

pub(crate) trait DynReceiver: DynComponent {
    fn start<'a>(
        &'a self,
        config: &'a ComponentConfig,
        context: ReceiverContext,
    ) -> BoxFuture<'a, Result<RunningReceiver, Error>>;
}

pub(crate) trait DynProcessor: DynComponent {
    fn signals(&self) -> &'static [Signal];
    /// Every problem of the settings for a pipeline of `signal` ([`ProcessorFactory::validate_for`]).
    fn validate_for(
        &self,
        path: &str,
        config: &ComponentConfig,
        signal: Signal,
    ) -> Vec<ConfigProblem>;
    fn build(
        &self,
        config: &ComponentConfig,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String>;
}

pub(crate) trait DynExporter: DynComponent {
    fn build(
        &self,
        config: &ComponentConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String>;
}

pub(crate) trait DynExtension: DynComponent {
    fn start<'a>(
        &'a self,
        config: &'a ComponentConfig,
        context: ExtensionContext,
    ) -> BoxFuture<'a, Result<Box<dyn RunningExtension>, Error>>;
    fn storage(&self, config: &ComponentConfig) -> Option<StorageDirectory>;
    fn authenticator(
        &self,
        config: &ComponentConfig,
    ) -> Option<Result<Arc<dyn crate::auth::Authenticator>, String>>;
}

/// A typed factory behind the erased traits.
struct Erased<F>(F);

impl<F: Component> Erased<F> {
    fn settings<'a>(&self, config: &'a ComponentConfig) -> Result<&'a F::Config, String> {
        // Configs are parsed by the factory that builds them, so this only fails if a program hands a config
        // parsed for one type to another.
        config.get::<F::Config>().ok_or_else(|| {
            format!(
                "settings of a `{}` component given to the `{}` factory",
                config.type_name(),
                F::TYPE
            )
        })
    }
}

impl<F: Component> DynComponent for Erased<F> {
    fn parse(&self, path: &str, value: Value) -> Result<ComponentConfig, Error> {
        let settings: F::Config = typed(path, value)?;
        Ok(ComponentConfig::new(F::TYPE, settings))
    }

    fn validate(&self, path: &str, config: &ComponentConfig) -> Vec<ConfigProblem> {
        let problems = match self.settings(config) {
            Ok(settings) => match self.0.validate(settings) {
                Ok(()) => Vec::new(),
                Err(invalid) => invalid.at_path(path),
            },
            Err(message) => vec![(path.to_string(), message)],
        };
        problems
            .into_iter()
            .map(|(path, message)| ConfigProblem { path, message })
            .collect()
    }
}

impl<F: ReceiverFactory> DynReceiver for Erased<F> {
    fn start<'a>(
        &'a self,
        config: &'a ComponentConfig,
        context: ReceiverContext,
    ) -> BoxFuture<'a, Result<RunningReceiver, Error>> {
        Box::pin(async move {
            let component = format!("receivers.{}", context.id);
            let settings = self
                .settings(config)
                .map_err(|message| Error::Start { component, message })?;
            self.0.start(settings, context).await
        })
    }
}

impl<F: ProcessorFactory> DynProcessor for Erased<F> {
    fn signals(&self) -> &'static [Signal] {
        F::SIGNALS
    }

    fn validate_for(
        &self,
        path: &str,
        config: &ComponentConfig,
        signal: Signal,
    ) -> Vec<ConfigProblem> {
        // A settings type mismatch is reported by `validate`.
        let Ok(settings) = self.settings(config) else {
            return Vec::new();
        };
        match self.0.validate_for(settings, signal) {
            Ok(()) => Vec::new(),
            Err(invalid) => invalid
                .at_path(path)
                .into_iter()
                .map(|(path, message)| ConfigProblem { path, message })
                .collect(),
        }
    }

    fn build(
        &self,
        config: &ComponentConfig,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        self.0.build(self.settings(config)?, context, next)
    }
}

impl<F: ExporterFactory> DynExporter for Erased<F> {
    fn build(
        &self,
        config: &ComponentConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        self.0.build(self.settings(config)?, context)
    }
}

impl<F: ExtensionFactory> DynExtension for Erased<F> {
    fn start<'a>(
        &'a self,
        config: &'a ComponentConfig,
        context: ExtensionContext,
    ) -> BoxFuture<'a, Result<Box<dyn RunningExtension>, Error>> {
        Box::pin(async move {
            let component = format!("extensions.{}", context.id);
            let settings = self
                .settings(config)
                .map_err(|message| Error::Start { component, message })?;
            self.0.start(settings, context).await
        })
    }

    fn storage(&self, config: &ComponentConfig) -> Option<StorageDirectory> {
        self.0.storage(self.settings(config).ok()?)
    }

    fn authenticator(
        &self,
        config: &ComponentConfig,
    ) -> Option<Result<Arc<dyn crate::auth::Authenticator>, String>> {
        self.0.authenticator(self.settings(config).ok()?)
    }
}

/// The component types a config may use, by kind and type name.
///
/// [`Components::builtin`] holds every type this crate ships; `with_*` adds (or replaces) one, so a program can
/// plug in its own receivers, processors, exporters and extensions.
#[derive(Clone, Default)]
pub struct Components {
    receivers: BTreeMap<&'static str, Arc<dyn DynReceiver>>,
    processors: BTreeMap<&'static str, Arc<dyn DynProcessor>>,
    exporters: BTreeMap<&'static str, Arc<dyn DynExporter>>,
    extensions: BTreeMap<&'static str, Arc<dyn DynExtension>>,
}

impl fmt::Debug for Components {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Components")
            .field("receivers", &self.receivers.keys().collect::<Vec<_>>())
            .field("processors", &self.processors.keys().collect::<Vec<_>>())
            .field("exporters", &self.exporters.keys().collect::<Vec<_>>())
            .field("extensions", &self.extensions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Components {
    /// No component types at all.
    pub fn new() -> Self {
        Components::default()
    }

    /// Adds a receiver type.
    pub fn with_receiver<F: ReceiverFactory>(mut self, factory: F) -> Self {
        self.receivers.insert(F::TYPE, Arc::new(Erased(factory)));
        self
    }

    /// Adds a processor type.
    pub fn with_processor<F: ProcessorFactory>(mut self, factory: F) -> Self {
        self.processors.insert(F::TYPE, Arc::new(Erased(factory)));
        self
    }

    /// Adds an exporter type.
    pub fn with_exporter<F: ExporterFactory>(mut self, factory: F) -> Self {
        self.exporters.insert(F::TYPE, Arc::new(Erased(factory)));
        self
    }

    /// Adds an extension type.
    pub fn with_extension<F: ExtensionFactory>(mut self, factory: F) -> Self {
        self.extensions.insert(F::TYPE, Arc::new(Erased(factory)));
        self
    }

    /// The receiver type names, sorted.
    pub fn receiver_types(&self) -> Vec<&'static str> {
        self.receivers.keys().copied().collect()
    }

    /// The processor type names, sorted.
    pub fn processor_types(&self) -> Vec<&'static str> {
        self.processors.keys().copied().collect()
    }

    /// The exporter type names, sorted.
    pub fn exporter_types(&self) -> Vec<&'static str> {
        self.exporters.keys().copied().collect()
    }

    /// The extension type names, sorted.
    pub fn extension_types(&self) -> Vec<&'static str> {
        self.extensions.keys().copied().collect()
    }

    pub(crate) fn receiver(&self, type_name: &str) -> Option<&Arc<dyn DynReceiver>> {
        self.receivers.get(type_name)
    }

    pub(crate) fn processor(&self, type_name: &str) -> Option<&Arc<dyn DynProcessor>> {
        self.processors.get(type_name)
    }

    pub(crate) fn exporter(&self, type_name: &str) -> Option<&Arc<dyn DynExporter>> {
        self.exporters.get(type_name)
    }

    pub(crate) fn extension(&self, type_name: &str) -> Option<&Arc<dyn DynExtension>> {
        self.extensions.get(type_name)
    }

    /// The factory that parses components of `section` (`receivers`, ...) named `type_name`.
    pub(crate) fn parser(&self, section: &str, type_name: &str) -> Option<&dyn DynComponent> {
        match section {
            "receivers" => self
                .receivers
                .get(type_name)
                .map(|f| f.as_ref() as &dyn DynComponent),
            "processors" => self
                .processors
                .get(type_name)
                .map(|f| f.as_ref() as &dyn DynComponent),
            "exporters" => self
                .exporters
                .get(type_name)
                .map(|f| f.as_ref() as &dyn DynComponent),
            "extensions" => self
                .extensions
                .get(type_name)
                .map(|f| f.as_ref() as &dyn DynComponent),
            _ => None,
        }
    }

    /// The type names of `section`, sorted.
    pub(crate) fn types(&self, section: &str) -> Vec<&'static str> {
        match section {
            "receivers" => self.receiver_types(),
            "processors" => self.processor_types(),
            "exporters" => self.exporter_types(),
            "extensions" => self.extension_types(),
            _ => Vec::new(),
        }
    }
}
