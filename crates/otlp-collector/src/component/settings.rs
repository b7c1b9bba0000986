//! [`ComponentConfig`]: one component's parsed settings, whatever their type.

use std::any::Any;
use std::fmt;

/// Settings of any type that can be cloned, printed and sent between threads.
trait Settings: Any + fmt::Debug + Send + Sync {
    fn clone_box(&self) -> Box<dyn Settings>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + fmt::Debug + Clone + Send + Sync> Settings for T {
    fn clone_box(&self) -> Box<dyn Settings> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// One component's parsed and validated settings, and the type they belong to. Read them with
/// [`get`](Self::get) and the component's config type:
///
/// ```
/// use otlp_collector::Config;
/// use otlp_collector::config::ComponentId;
/// use otlp_collector::receiver::otlp::OtlpReceiverConfig;
///
/// let config = Config::embedded_default()?;
/// let otlp = &config.receivers[&ComponentId::parse("otlp").unwrap()];
/// assert_eq!(otlp.type_name(), "otlp");
/// let settings = otlp.get::<OtlpReceiverConfig>().unwrap();
/// assert_eq!(settings.protocols.grpc.as_ref().unwrap().endpoint, "127.0.0.1:4317");
/// # Ok::<(), otlp_collector::Error>(())
/// ```
pub struct ComponentConfig {
    type_name: &'static str,
    settings: Box<dyn Settings>,
    /// The YAML the settings were read from (environment expanded), while nothing has changed them since: a
    /// reload keeps a receiver whose YAML is the same.
    source: Option<serde_norway::Value>,
}

impl ComponentConfig {
    pub(crate) fn new<T: Any + fmt::Debug + Clone + Send + Sync>(
        type_name: &'static str,
        settings: T,
    ) -> Self {
        ComponentConfig {
            type_name,
            settings: Box::new(settings),
            source: None,
        }
    }

    /// The same settings, read from `source`.
    pub(crate) fn with_source(mut self, source: serde_norway::Value) -> Self {
        self.source = Some(source);
        self
    }

    /// The YAML the settings were read from, unless they were changed since.
    pub(crate) fn source(&self) -> Option<&serde_norway::Value> {
        self.source.as_ref()
    }

    /// The component type (`otlp`).
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The settings, when they are a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.settings.as_any().downcast_ref()
    }

    /// The settings, mutably, when they are a `T` (a program adjusting a parsed config before it starts).
    pub fn get_mut<T: Any>(&mut self) -> Option<&mut T> {
        // Changed settings no longer match their YAML.
        self.source = None;
        self.settings.as_any_mut().downcast_mut()
    }
}

impl Clone for ComponentConfig {
    fn clone(&self) -> Self {
        ComponentConfig {
            type_name: self.type_name,
            settings: self.settings.clone_box(),
            source: self.source.clone(),
        }
    }
}

impl fmt::Debug for ComponentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.settings, f)
    }
}
