//! The `zpages` extension (otelcol's): pages that show a running collector from the inside, on otelcol's paths.
//! `/debug/servicez` (version, start, uptime), `/debug/pipelinez` (each pipeline's receivers, processors and
//! exporters, with what each has taken, refused, sent and failed to send so far, from the self-metrics),
//! `/debug/extensionz` and `/debug/featurez` (no feature gates here).
//!
//! ```yaml
//! extensions:
//!   zpages:
//!     endpoint: "localhost:55679"
//! ```
//!
//! otelcol's `/debug/tracez` and `/debug/rpcz` summarize the collector's own spans, which otlp-suite does not
//! record: they answer `404` saying so, and where its own telemetry is instead.

mod pages;

use crate::Error;
use crate::admin::AdminServer;
use crate::component::{Component, ExtensionContext, ExtensionFactory, RunningExtension};
use crate::tls::ServerTlsSettings;
use serde::Deserialize;
use std::sync::Arc;

/// The `zpages` extension's settings, with otelcol's keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZpagesConfig {
    /// `host:port` where the pages are served (otelcol's default: `localhost:55679`).
    pub endpoint: String,
    /// TLS; plaintext without it.
    pub tls: Option<ServerTlsSettings>,
}

impl Default for ZpagesConfig {
    fn default() -> Self {
        ZpagesConfig {
            endpoint: "localhost:55679".to_owned(),
            tls: None,
        }
    }
}

/// The `zpages` extension type.
pub struct Factory;

impl Component for Factory {
    type Config = ZpagesConfig;
    const TYPE: &'static str = "zpages";
}

impl ExtensionFactory for Factory {
    async fn start(
        &self,
        config: &ZpagesConfig,
        context: ExtensionContext,
    ) -> Result<Box<dyn RunningExtension>, Error> {
        let component = format!("extensions.{}", context.id);
        let tls = config
            .tls
            .as_ref()
            .map(|tls| tls.acceptor(&[b"http/1.1"]))
            .transpose()
            .map_err(|message| Error::Start {
                component: format!("{component} (tls)"),
                message,
            })?;
        let pages = Arc::new(pages::Pages::new(context.service, context.telemetry));
        let server = AdminServer::listen(&component, &config.endpoint, tls, pages.router()).await?;
        tracing::info!(extension = %context.id, addr = %server.addr, "zpages listening");
        Ok(Box::new(server))
    }
}
