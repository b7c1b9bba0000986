//! The `loadbalancing` exporter: otelcol's config and purpose — every span of a trace (or every item with the same
//! routing key) to the same backend, so that tail sampling or span metrics scale out — with the delivery rules
//! that fix what otelcol's users report losing and duplicating.
//!
//! - **Queue, then route.** The sending queue holds whole batches; a batch is split by backend only when a consumer
//!   sends it, against the membership of that moment. Nothing queued belongs to a backend, so nothing is stranded
//!   when one leaves (otelcol #35378, #36717).
//! - **Route per item.** With `routing_key: traceID` a batch is split at span level, every span going with its
//!   trace, each part keeping its resource and scope; the parts go out concurrently, one request per backend.
//!   Traces still as received are split in their bytes (`encoded.rs`): nothing is decoded, cloned or encoded
//!   again, and a front costs about one and a half times what forwarding does per span (docs/benchmarks.md).
//! - **Retry only what failed.** A part that fails stays pending; the next attempt (after the retry policy's
//!   backoff) routes it again against the membership and health of then, and sends it alone. Parts that were
//!   delivered are never sent again (otelcol #50437, #47600), and the helper counts them as sent even if it gives up
//!   on the rest (otelcol #45015).
//! - **Failing backends are left out.** Outlier detection ejects a backend that fails requests in a row; its keys
//!   go to their next owner on the ring (every span of a trace to the same one) and come back when it is readmitted.
//!   A trace keeps a single owner while membership and health are stable.
//! - **Resolvers never block sending.** Static, DNS (resolved on its own task with a timeout; a failed resolution
//!   keeps the last set, otelcol #1690), or any [`Resolver`] a program supplies ([`build_with_resolver`]) — the
//!   way the fleet membership plugs in.
//!
//! Self-metrics: otelcol's `otelcol_loadbalancer_num_backends`, `otelcol_loadbalancer_num_resolutions`,
//! `otelcol_loadbalancer_num_backend_updates`, `otelcol_loadbalancer_backend_outcome{success}` and
//! `otelcol_loadbalancer_backend_latency` (a histogram, ms), and ours: `otelcol_loadbalancer_backend_sent_<items>`
//! per backend, `otelcol_loadbalancer_retried_<items>` (items sent again after a failed attempt: the only way a
//! backend can receive an item twice) and `otelcol_loadbalancer_rerouted_<items>` (retried items that went to
//! another backend). The helper's `otelcol_exporter_sent_<items>` and `otelcol_exporter_send_failed_<items>` count
//! each item once.

mod backends;
mod config;
mod delivery;
mod encoded;
mod routing;
mod split;

pub use config::{
    DnsResolverConfig, LoadBalancingExporterConfig, OtlpProtocol, OutlierDetectionConfig,
    ProtocolConfig, ResolverConfig, RoutingKey, StaticResolverConfig,
};
pub use otlp_lb::resolver::{Resolver, StaticResolver};

use super::{Delivered, Export, ExportError, Exporter, Settled};
use crate::auth::client_auth;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};
use crate::{Batch, Signal};
use backends::{Backends, Membership};
use delivery::{Delivery, RetryCounters, Sender};
use routing::Keys;
use std::sync::Arc;
use std::time::Duration;

/// The `loadbalancing` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = LoadBalancingExporterConfig;
    const TYPE: &'static str = "loadbalancing";

    fn validate(&self, config: &LoadBalancingExporterConfig) -> Result<(), Invalid> {
        if let ResolverConfig::Fleet(_) = config.resolver {
            return Err(Invalid::at("resolver", backends::FLEET_NEEDS_THE_SUITE));
        }
        config
            .validate()
            .map_err(|(key, message)| Invalid::at(key, message))
    }
}

impl ExporterFactory for Factory {
    fn build(
        &self,
        config: &LoadBalancingExporterConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let resolver = backends::start_resolver(&config.resolver, context.id, context.telemetry)?;
        build_with_resolver(config, context, resolver, config.resolver.kind())
    }
}

/// Builds a `loadbalancing` exporter whose backends come from `resolver` instead of `config.resolver`: the way a
/// program plugs in its own membership (otlp-control's fleet, a test that adds a backend mid-stream). `kind`
/// labels the resolver's self-metrics (`resolver="fleet"`). Must be called inside a tokio runtime, as every
/// exporter's build is.
///
/// ```
/// use otlp_collector::component::{Component, Components, ExporterContext, ExporterFactory};
/// use otlp_collector::exporter::Exporter;
/// use otlp_collector::exporter::loadbalancing::{
///     LoadBalancingExporterConfig, Resolver, StaticResolver, build_with_resolver,
/// };
/// use otlp_lb::Endpoint;
/// use std::sync::Arc;
///
/// /// `loadbalancing` over a membership the program changes as it likes.
/// struct Managed(Arc<StaticResolver>);
///
/// impl Component for Managed {
///     type Config = LoadBalancingExporterConfig;
///     const TYPE: &'static str = "loadbalancing";
/// }
///
/// impl ExporterFactory for Managed {
///     fn build(&self, config: &Self::Config, context: ExporterContext<'_>) -> Result<Exporter, String> {
///         build_with_resolver(config, context, self.0.clone() as Arc<dyn Resolver>, "managed")
///     }
/// }
///
/// let members = Arc::new(StaticResolver::new(vec![Endpoint::new("10.0.0.1:4317")])?);
/// let components = Components::builtin().with_exporter(Managed(members.clone()));
/// // Later: members.set(vec![Endpoint::new("10.0.0.1:4317"), Endpoint::new("10.0.0.2:4317")])?;
/// # let _ = components;
/// # Ok::<(), otlp_lb::Error>(())
/// ```
pub fn build_with_resolver(
    config: &LoadBalancingExporterConfig,
    context: ExporterContext<'_>,
    resolver: Arc<dyn Resolver>,
    kind: &str,
) -> Result<Exporter, String> {
    let backends = Arc::new(Backends::new(
        context.id,
        config.protocol.otlp.clone(),
        client_auth(
            config.protocol.otlp.settings.auth.as_ref(),
            context.authenticators,
        )?,
        config.outlier_detection.detection(),
        context.telemetry,
    )?);
    let membership = Membership::follow(&backends, resolver, kind)?;
    let counter = |what: &str, help: &str, signal: Signal| {
        let unit = signal.item_unit();
        context.telemetry.counter(
            &format!("otelcol_loadbalancer_{what}_{unit}"),
            &format!("Number of {} {help}", unit.replace('_', " ")),
            &[("exporter", context.id)],
        )
    };
    let counters = RetryCounters {
        retried: Signal::ALL.map(|s| {
            counter(
                "retried",
                "sent again after an attempt at them failed (a backend may have received them twice).",
                s,
            )
        }),
        rerouted: Signal::ALL.map(|s| {
            counter(
                "rerouted",
                "sent again to another backend than the one an attempt at them failed on.",
                s,
            )
        }),
    };
    let export = LoadBalancingExport {
        keys: Keys::new(config.routing_key, config.routing_attributes.clone()),
        backends,
        request_timeout: config.request_timeout(),
        counters,
        _membership: membership,
    };
    Ok(Exporter::new(export, config.helper()))
}

struct LoadBalancingExport {
    keys: Keys,
    backends: Arc<Backends>,
    request_timeout: Duration,
    counters: RetryCounters,
    _membership: Membership,
}

impl Export for LoadBalancingExport {
    /// The batch, routed afresh at every attempt, and what earlier attempts delivered.
    type Payload = Delivery;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Delivery, ExportError> {
        let key = self
            .keys
            .for_signal(batch.signal())
            .map_err(ExportError::permanent)?;
        Ok(Delivery::new(Arc::clone(batch), key))
    }

    async fn send(&self, delivery: &Delivery) -> Result<Delivered, ExportError> {
        Sender {
            backends: &self.backends,
            keys: &self.keys,
            request_timeout: self.request_timeout,
            counters: &self.counters,
        }
        .attempt(delivery)
        .await
    }

    fn settled(&self, delivery: &Delivery) -> Settled {
        delivery.settled()
    }
}
