//! [`Components`]: the registry of component types a config is parsed and built with, and the type-erased
//! factories it holds.

use super::{
    Component, ComponentConfig, ConnectorContext, ConnectorFactory, ExporterContext,
    ExporterFactory, ExtensionContext, ExtensionFactory, Invalid, ProcessorContext,
    ProcessorFactory, ReceiverContext, ReceiverFactory, RunningExtension, StorageDirectory,
};
use crate::config::ConfigWarning;
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

    /// The warnings about parsed settings ([`Component::warnings`]), with full paths.
    fn warnings(&self, path: &str, config: &ComponentConfig) -> Vec<ConfigWarning>;
}

pub(crate) trait DynReceiver: DynComponent {
    fn signals(&self) -> &'static [Signal];
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
    fn signals(&self) -> &'static [Signal];
    fn build(
        &self,
        config: &ComponentConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String>;
}

pub(crate) trait DynConnector: DynComponent {
    fn pairs(&self) -> &'static [(Signal, Signal)];
    fn validate_for(
        &self,
        path: &str,
        config: &ComponentConfig,
        from: Signal,
    ) -> Vec<ConfigProblem>;
    fn named_pipelines(&self, config: &ComponentConfig) -> Vec<(String, String)>;
    fn build(
        &self,
        config: &ComponentConfig,
        context: ConnectorContext<'_>,
        targets: crate::connector::Targets,
    ) -> Result<Arc<dyn Consumer>, String>;
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

/// A factory's verdict on settings, as problems at their paths under the component's `path`.
fn problems_at(path: &str, verdict: Result<(), Invalid>) -> Vec<ConfigProblem> {
    match verdict {
        Ok(()) => Vec::new(),
        Err(invalid) => invalid
            .at_path(path)
            .into_iter()
            .map(|(path, message)| ConfigProblem { path, message })
            .collect(),
    }
}

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
        match self.settings(config) {
            Ok(settings) => problems_at(path, self.0.validate(settings)),
            Err(message) => vec![ConfigProblem {
                path: path.to_string(),
                message,
            }],
        }
    }

    fn warnings(&self, path: &str, config: &ComponentConfig) -> Vec<ConfigWarning> {
        // A settings type mismatch is reported by `validate`.
        let Ok(settings) = self.settings(config) else {
            return Vec::new();
        };
        self.0
            .warnings(settings)
            .into_iter()
            .map(|(key, message)| ConfigWarning {
                path: crate::id::join(path, &key),
                message,
            })
            .collect()
    }
}

impl<F: ReceiverFactory> DynReceiver for Erased<F> {
    fn signals(&self) -> &'static [Signal] {
        F::SIGNALS
    }

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
        problems_at(path, self.0.validate_for(settings, signal))
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
    fn signals(&self) -> &'static [Signal] {
        F::SIGNALS
    }

    fn build(
        &self,
        config: &ComponentConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        self.0.build(self.settings(config)?, context)
    }
}

impl<F: ConnectorFactory> DynConnector for Erased<F> {
    fn pairs(&self) -> &'static [(Signal, Signal)] {
        F::PAIRS
    }

    fn validate_for(
        &self,
        path: &str,
        config: &ComponentConfig,
        from: Signal,
    ) -> Vec<ConfigProblem> {
        let Ok(settings) = self.settings(config) else {
            return Vec::new();
        };
        problems_at(path, self.0.validate_for(settings, from))
    }

    fn named_pipelines(&self, config: &ComponentConfig) -> Vec<(String, String)> {
        self.settings(config)
            .map(|settings| self.0.named_pipelines(settings))
            .unwrap_or_default()
    }

    fn build(
        &self,
        config: &ComponentConfig,
        context: ConnectorContext<'_>,
        targets: crate::connector::Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        self.0.build(self.settings(config)?, context, targets)
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
    connectors: BTreeMap<&'static str, Arc<dyn DynConnector>>,
    extensions: BTreeMap<&'static str, Arc<dyn DynExtension>>,
    /// Other names of registered types, by section and name: otelcol renames components (`otlp` became
    /// `otlp_grpc`) and keeps the old name working, so configs written for either release must parse here.
    aliases: BTreeMap<(&'static str, &'static str), &'static str>,
}

impl fmt::Debug for Components {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Components")
            .field("receivers", &self.receivers.keys().collect::<Vec<_>>())
            .field("processors", &self.processors.keys().collect::<Vec<_>>())
            .field("exporters", &self.exporters.keys().collect::<Vec<_>>())
            .field("connectors", &self.connectors.keys().collect::<Vec<_>>())
            .field("extensions", &self.extensions.keys().collect::<Vec<_>>())
            .field("aliases", &self.aliases)
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

    /// Adds a connector type.
    pub fn with_connector<F: ConnectorFactory>(mut self, factory: F) -> Self {
        self.connectors.insert(F::TYPE, Arc::new(Erased(factory)));
        self
    }

    /// Adds an extension type.
    pub fn with_extension<F: ExtensionFactory>(mut self, factory: F) -> Self {
        self.extensions.insert(F::TYPE, Arc::new(Erased(factory)));
        self
    }

    /// Lets receivers of type `of` be written `alias` too; the component keeps the id it is written with.
    pub fn with_receiver_alias(self, alias: &'static str, of: &'static str) -> Self {
        self.with_alias("receivers", alias, of)
    }

    /// Lets processors of type `of` be written `alias` too; the component keeps the id it is written with.
    pub fn with_processor_alias(self, alias: &'static str, of: &'static str) -> Self {
        self.with_alias("processors", alias, of)
    }

    /// Lets exporters of type `of` be written `alias` too (`otlp_grpc/2` for an `otlp` exporter); the component
    /// keeps the id it is written with.
    pub fn with_exporter_alias(self, alias: &'static str, of: &'static str) -> Self {
        self.with_alias("exporters", alias, of)
    }

    /// Lets extensions of type `of` be written `alias` too; the component keeps the id it is written with.
    pub fn with_extension_alias(self, alias: &'static str, of: &'static str) -> Self {
        self.with_alias("extensions", alias, of)
    }

    fn with_alias(mut self, section: &'static str, alias: &'static str, of: &'static str) -> Self {
        self.aliases.insert((section, alias), of);
        self
    }

    /// The type `name` stands for in `section`: the type an alias names, else `name` itself. A type registered
    /// under the alias's own name wins, so a program's own component is never hidden by a built-in alias.
    fn resolve<'a>(&self, section: &'static str, name: &'a str) -> &'a str {
        let registered = match section {
            "receivers" => self.receivers.contains_key(name),
            "processors" => self.processors.contains_key(name),
            "exporters" => self.exporters.contains_key(name),
            "connectors" => self.connectors.contains_key(name),
            _ => self.extensions.contains_key(name),
        };
        if registered {
            return name;
        }
        self.aliases.get(&(section, name)).copied().unwrap_or(name)
    }

    /// The aliases of `section` (`receivers`, ...) with the type each stands for, sorted by alias.
    pub(crate) fn aliases(&self, section: &str) -> Vec<(&'static str, &'static str)> {
        self.aliases
            .iter()
            .filter(|((alias_section, _), _)| *alias_section == section)
            .map(|((_, alias), of)| (*alias, *of))
            .collect()
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

    /// The connector type names, sorted.
    pub fn connector_types(&self) -> Vec<&'static str> {
        self.connectors.keys().copied().collect()
    }

    /// The extension type names, sorted.
    pub fn extension_types(&self) -> Vec<&'static str> {
        self.extensions.keys().copied().collect()
    }

    pub(crate) fn receiver(&self, type_name: &str) -> Option<&Arc<dyn DynReceiver>> {
        self.receivers.get(self.resolve("receivers", type_name))
    }

    pub(crate) fn processor(&self, type_name: &str) -> Option<&Arc<dyn DynProcessor>> {
        self.processors.get(self.resolve("processors", type_name))
    }

    pub(crate) fn exporter(&self, type_name: &str) -> Option<&Arc<dyn DynExporter>> {
        self.exporters.get(self.resolve("exporters", type_name))
    }

    pub(crate) fn connector(&self, type_name: &str) -> Option<&Arc<dyn DynConnector>> {
        self.connectors.get(self.resolve("connectors", type_name))
    }

    pub(crate) fn extension(&self, type_name: &str) -> Option<&Arc<dyn DynExtension>> {
        self.extensions.get(self.resolve("extensions", type_name))
    }

    /// The factory that parses components of `section` (`receivers`, ...) named `type_name`.
    pub(crate) fn parser(&self, section: &str, type_name: &str) -> Option<&dyn DynComponent> {
        match section {
            "receivers" => self
                .receiver(type_name)
                .map(|f| f.as_ref() as &dyn DynComponent),
            "processors" => self
                .processor(type_name)
                .map(|f| f.as_ref() as &dyn DynComponent),
            "exporters" => self
                .exporter(type_name)
                .map(|f| f.as_ref() as &dyn DynComponent),
            "connectors" => self
                .connector(type_name)
                .map(|f| f.as_ref() as &dyn DynComponent),
            "extensions" => self
                .extension(type_name)
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
            "connectors" => self.connector_types(),
            "extensions" => self.extension_types(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_finds_the_type_it_stands_for_and_is_not_listed_as_one() {
        let components = Components::builtin();
        for (section, alias, of) in [
            ("exporters", "otlp_grpc", "otlp"),
            ("exporters", "otlp_http", "otlphttp"),
            ("processors", "resource_detection", "resourcedetection"),
        ] {
            assert!(components.parser(section, alias).is_some(), "{alias}");
            assert!(
                components.aliases(section).contains(&(alias, of)),
                "{alias}"
            );
            assert!(!components.types(section).contains(&alias), "{alias}");
        }
        assert!(components.exporter("otlp_grpc").is_some());
        assert!(components.processor("resource_detection").is_some());
        // Aliases belong to their section: no receiver is called `otlp_grpc`.
        assert!(components.receiver("otlp_grpc").is_none());
        let value: Value = serde_norway::from_str("endpoint: \"backend:4317\"").unwrap();
        let settings = components
            .parser("exporters", "otlp_grpc")
            .map(|factory| factory.parse("exporters.otlp_grpc/2", value));
        let Some(Ok(settings)) = settings else {
            panic!("{settings:?}");
        };
        assert_eq!(settings.type_name(), "otlp");
    }
}
