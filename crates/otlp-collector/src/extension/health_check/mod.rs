//! The `health_check` extension: otelcol's, answering 200 while the collector serves and 503 while it starts or
//! drains; over TLS with `tls`, with fixed bodies with `response_body`, and failing while exporters fail with
//! `check_collector_pipeline` (see [`HealthCheckConfig`] and `docs/configuration.md`).
//!
//! ```yaml
//! extensions:
//!   health_check:
//!     endpoint: 0.0.0.0:13133
//!     path: /health/status
//!     tls: { cert_file: /etc/otel/tls.crt, key_file: /etc/otel/tls.key }
//!     response_body: { healthy: OK, unhealthy: NOT OK }
//!     check_collector_pipeline: { enabled: true, interval: 5m, exporter_failure_threshold: 5 }
//! ```

mod answer;
mod config;
mod failures;

pub use config::{CheckCollectorPipeline, HealthCheckConfig, ResponseBody, ResponseHeaders};

use crate::Error;
use crate::admin::AdminServer;
use crate::component::{Component, ExtensionContext, ExtensionFactory, Invalid, RunningExtension};
use crate::pipeline::BoxFuture;
use answer::{Answers, PipelineCheck};
use std::net::SocketAddr;
use std::time::Instant;
use tokio::task::JoinHandle;

/// The `health_check` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = HealthCheckConfig;
    const TYPE: &'static str = "health_check";

    fn validate(&self, config: &HealthCheckConfig) -> Result<(), Invalid> {
        config.validate()
    }

    fn warnings(&self, config: &HealthCheckConfig) -> Vec<(String, String)> {
        config.warnings()
    }
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        config: &HealthCheckConfig,
        context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        let component = format!("extensions.{}", context.id);
        // Before binding, so that a certificate that cannot be read fails the start rather than every probe.
        // axum serves HTTP/1.1 only here.
        let tls = config
            .tls
            .as_ref()
            .map(|tls| tls.acceptor(&[b"http/1.1"]))
            .transpose()
            .map_err(|message| Error::Start {
                component: format!("{component} (tls)"),
                message,
            })?;
        let headers = config
            .response_headers
            .parsed()
            .map_err(|(name, message)| Error::Start {
                component: format!("{component}.response_headers.{name}"),
                message,
            })?;
        let settings = &config.check_collector_pipeline;
        let pipeline = settings.enabled.then(|| {
            PipelineCheck::new(
                failures::exporter_send_failures(context.telemetry.clone()),
                settings.interval,
                // `validate` refused a threshold below 1.
                u64::try_from(settings.exporter_failure_threshold).unwrap_or(0),
            )
        });
        let answers = Answers {
            path: config.path.clone(),
            started: Instant::now(),
            telemetry: context.telemetry,
            body: config.response_body.clone(),
            pipeline: pipeline.clone(),
            headers,
            close: !config.keep_alives_enabled,
        };
        let server =
            AdminServer::listen(&component, &config.endpoint, tls, answers.router()).await?;
        let sampler = pipeline.as_ref().map(PipelineCheck::sample);
        tracing::info!(extension = %context.id, addr = %server.addr, tls = config.tls.is_some(),
            check_collector_pipeline = settings.enabled, "health check listening");
        Ok(Box::new(RunningHealthCheck { server, sampler }))
    }
}

/// A started `health_check`: its server, and the task sampling exporter failures when the pipeline is checked.
struct RunningHealthCheck {
    server: AdminServer,
    sampler: Option<JoinHandle<()>>,
}

impl RunningExtension for RunningHealthCheck {
    fn addr(&self) -> Option<SocketAddr> {
        Some(self.server.addr)
    }

    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()> {
        let RunningHealthCheck { server, sampler } = *self;
        if let Some(sampler) = sampler {
            sampler.abort();
        }
        Box::pin(server.shutdown())
    }
}
