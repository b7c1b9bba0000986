//! The component types this crate ships: one registration line each.

use super::{Component, Components};
use crate::{connector, exporter, extension, processor, receiver};

impl Components {
    /// Every component type this crate ships, under otelcol's current names too: otelcol renamed some types and
    /// keeps the old names as deprecated aliases, so configs use both.
    pub fn builtin() -> Self {
        Components::new()
            .with_receiver(receiver::otlp::Factory)
            .with_receiver(receiver::arrow_flight::Factory)
            .with_receiver(receiver::apache::Factory)
            .with_receiver(receiver::hostmetrics::Factory)
            .with_receiver(receiver::httpcheck::Factory)
            .with_receiver(receiver::filelog::Factory)
            .with_receiver(receiver::fluentforward::Factory)
            .with_receiver(receiver::memcached::Factory)
            .with_receiver(receiver::nginx::Factory)
            .with_receiver(receiver::otlpjsonfile::Factory)
            .with_receiver(receiver::prometheus::Factory)
            .with_receiver(receiver::redis::Factory)
            .with_receiver(receiver::statsd::Factory)
            .with_receiver(receiver::zipkin::Factory)
            .with_receiver(receiver::jaeger::Factory)
            .with_receiver(receiver::syslog::Factory)
            .with_receiver(receiver::tcplog::Factory)
            .with_receiver(receiver::udplog::Factory)
            .with_processor(processor::memory_limiter::Factory)
            .with_processor(processor::batch::Factory)
            .with_processor(processor::tail_sampling::Factory)
            .with_processor(processor::probabilistic_sampler::Factory)
            .with_processor(processor::resource::Factory)
            .with_processor(processor::resource_detection::Factory)
            .with_processor(processor::attributes::Factory)
            .with_processor(processor::span::Factory)
            .with_processor(processor::groupbyattrs::Factory)
            .with_processor(processor::cumulativetodelta::Factory)
            .with_processor(processor::deltatocumulative::Factory)
            .with_processor(processor::redaction::Factory)
            .with_processor(processor::filter::Factory)
            .with_processor(processor::transform::Factory)
            .with_processor(processor::metricstransform::Factory)
            .with_exporter(exporter::otlp::Factory)
            .with_exporter(exporter::otlphttp::Factory)
            .with_exporter(exporter::file::Factory)
            .with_exporter(exporter::debug::Factory)
            .with_exporter(exporter::arrow_flight::Factory)
            .with_exporter(exporter::loadbalancing::Factory)
            .with_exporter(exporter::prometheus::Factory)
            .with_exporter(exporter::prometheusremotewrite::Factory)
            .with_connector(connector::count::Factory)
            .with_connector(connector::exceptions::Factory)
            .with_connector(connector::failover::Factory)
            .with_connector(connector::forward::Factory)
            .with_connector(connector::roundrobin::Factory)
            .with_connector(connector::routing::Factory)
            .with_connector(connector::spanmetrics::Factory)
            .with_connector(connector::servicegraph::Factory)
            .with_extension(extension::health_check::Factory)
            .with_extension(extension::degradation::Factory)
            .with_extension(extension::bearertokenauth::Factory)
            .with_extension(extension::basicauth::Factory)
            .with_extension(extension::file_storage::Factory)
            .with_extension(extension::pprof::Factory)
            .with_extension(extension::zpages::Factory)
            .with_processor_alias(
                "resource_detection",
                processor::resource_detection::Factory::TYPE,
            )
            .with_exporter_alias("otlp_grpc", exporter::otlp::Factory::TYPE)
            .with_exporter_alias("otlp_http", exporter::otlphttp::Factory::TYPE)
    }
}
