//! The `fleet` extension type: registered like every other component, it starts (or, across a reload, keeps)
//! the member agent of its [`FleetHost`].

use otlp_collector::Error;
use otlp_collector::component::{
    Component, ExtensionContext, ExtensionFactory, Invalid, RunningExtension,
};
use otlp_collector::pipeline::BoxFuture;

use super::{FleetConfig, FleetHost};

/// The `fleet` extension's type name.
pub const TYPE: &str = "fleet";

/// The `fleet` extension type.
#[derive(Debug, Clone)]
pub struct Factory {
    host: Option<FleetHost>,
}

impl Factory {
    /// A factory whose extensions join the fleet through `host`.
    pub fn new(host: FleetHost) -> Self {
        Factory { host: Some(host) }
    }

    /// A factory that parses and checks `fleet` settings but cannot start them (`otlp-suite validate`, and the
    /// validation of fleet documents).
    pub fn detached() -> Self {
        Factory { host: None }
    }
}

impl Component for Factory {
    type Config = FleetConfig;
    const TYPE: &'static str = TYPE;

    fn validate(&self, config: &FleetConfig) -> Result<(), Invalid> {
        Invalid::check(config.problems())
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        config: &FleetConfig,
        context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        let component = format!("extensions.{}", context.id);
        let Some(host) = &self.host else {
            return Err(Error::Start {
                component,
                message: "this fleet extension type was registered for validation only".into(),
            });
        };
        host.attach(&context.id, config, context.telemetry)
            .await
            .map_err(|error| Error::Start {
                component,
                message: error.to_string(),
            })?;
        Ok(Box::new(RunningFleet { host: host.clone() }))
    }
}

/// A started `fleet` extension.
struct RunningFleet {
    host: FleetHost,
}

impl RunningExtension for RunningFleet {
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.host.detach().await })
    }
}
