//! The `loadbalancing` exporter as the `otlp-suite` binary registers it with the `fleet` feature: the collector's
//! own, plus the `fleet` resolver ([`FleetResolver`]).

use std::sync::Arc;

use otlp_collector::component::{Component, ExporterContext, ExporterFactory, Invalid};
use otlp_collector::exporter::Exporter;
use otlp_collector::exporter::loadbalancing::{
    Factory as Builtin, LoadBalancingExporterConfig, ResolverConfig, build_with_resolver,
};

use super::resolver::{FleetResolver, FleetResolverConfig};

/// The `loadbalancing` exporter type, with `resolver: { fleet: … }` understood.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadBalancingWithFleet;

impl Component for LoadBalancingWithFleet {
    type Config = LoadBalancingExporterConfig;
    const TYPE: &'static str = "loadbalancing";

    fn validate(&self, config: &LoadBalancingExporterConfig) -> Result<(), Invalid> {
        config
            .validate()
            .map_err(|(key, message)| Invalid::at(key, message))?;
        if let ResolverConfig::Fleet(settings) = &config.resolver {
            FleetResolverConfig::from_value(settings)
                .map_err(|message| Invalid::at("resolver.fleet", message))?;
        }
        Ok(())
    }
}

impl ExporterFactory for LoadBalancingWithFleet {
    fn build(
        &self,
        config: &LoadBalancingExporterConfig,
        context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        let ResolverConfig::Fleet(settings) = &config.resolver else {
            return Builtin.build(config, context);
        };
        let settings = FleetResolverConfig::from_value(settings)
            .map_err(|message| format!("resolver.fleet: {message}"))?;
        build_with_resolver(
            config,
            context,
            Arc::new(FleetResolver::spawn(settings)),
            "fleet",
        )
    }
}
