//! The `health_check` extension: otelcol's, answering 200 while the collector serves and 503 while it starts or
//! drains.

use crate::Error;
use crate::admin::AdminServer;
use crate::component::{Component, ExtensionContext, ExtensionFactory, RunningExtension};
use serde::Deserialize;

/// The `health_check` extension's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    /// `host:port` to listen on.
    pub endpoint: String,
    /// The path that answers.
    pub path: String,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            endpoint: "localhost:13133".to_string(),
            path: "/".to_string(),
        }
    }
}

/// The `health_check` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = HealthCheckConfig;
    const TYPE: &'static str = "health_check";
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        config: &HealthCheckConfig,
        context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        let server = AdminServer::health_check(
            &context.id,
            &config.endpoint,
            &config.path,
            context.telemetry,
        )
        .await?;
        tracing::info!(extension = %context.id, addr = %server.addr, "health check listening");
        Ok(Box::new(server))
    }
}
