//! The `signaltometrics` connector (otelcol-contrib's): metrics made from spans, data points and log records with
//! OTTL, each batch's own (delta sums, gauges, explicit and exponential histograms), handed to metrics pipelines.
//!
//! ```yaml
//! connectors:
//!   signaltometrics:
//!     spans:
//!       - name: http.server.duration
//!         unit: ms
//!         conditions: ['kind == SPAN_KIND_SERVER']
//!         attributes:
//!           - key: http.route
//!           - key: http.response.status_code
//!             default_value: 0
//!         include_resource_attributes:
//!           - key: service.name
//!         exponential_histogram:
//!           value: Milliseconds(end_time - start_time)
//!     logs:
//!       - name: log.errors
//!         conditions: ['severity_number >= SEVERITY_NUMBER_ERROR']
//!         sum:
//!           value: "1"
//! ```
//!
//! Each metric (`config.rs`) has one of `sum` (a delta sum of an OTTL `value`, integer or double as the value
//! is), `gauge` (the last value), `histogram` (`buckets`, otelcol's 2 to 15000 by default) or
//! `exponential_histogram` (`max_size`, 160 by default), the latter two with an optional `count` expression (how
//! many times the value counts). An item counts when any of the `conditions` holds (or there are none) and it has
//! every listed `attributes` key (or its `default_value`, or the key is `optional`); the metric is split by those
//! attributes. Its resource keeps the `include_resource_attributes` (all of them when none are listed) and names
//! the collector that made it (`signaltometrics.service.name`, `.namespace`, `.instance.id`, from
//! `service.telemetry.resource`), so that two collectors write two streams (`aggregate.rs`).
//!
//! Metrics are made per batch, as otelcol makes them per call, at the span of times of the items they were made
//! from. An item on which a condition or value fails (or gives no number) adds nothing, and the batch's count of
//! them is logged. `AdjustedCount()` (otelcol's function of this connector) gives the spans a sampled span stands
//! for, from its `ot=th` sampling threshold: `sum: { value: Int(AdjustedCount()) }` counts the spans before
//! sampling.

mod aggregate;
mod config;

pub use config::{
    Attribute, ExponentialHistogramInfo, HistogramInfo, MetricInfo, SignalToMetricsConfig, SumInfo,
};

use super::count::counter::{attributes_of, point_attributes};
use super::{Connect, Targets};
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::{AnyRequest, Batch, Signal};
use aggregate::Made;
use config::Definition;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use otlp_ottl::{ResourceParts, ScopeParts, TransformContext, for_each_point};
use std::sync::Arc;

/// The `signaltometrics` connector type.
pub struct Factory;

impl Component for Factory {
    type Config = SignalToMetricsConfig;
    const TYPE: &'static str = "signaltometrics";

    fn validate(&self, config: &SignalToMetricsConfig) -> Result<(), Invalid> {
        Invalid::all(config.problems())
    }
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = &[
        (Signal::Traces, Signal::Metrics),
        (Signal::Metrics, Signal::Metrics),
        (Signal::Logs, Signal::Metrics),
    ];

    fn build(
        &self,
        config: &SignalToMetricsConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let section = match context.from {
            Signal::Traces => "spans",
            Signal::Metrics => "datapoints",
            Signal::Logs => "logs",
        };
        let definitions = config.definitions(section).map_err(super::settings_error)?;
        Ok(super::stage(SignalToMetrics {
            id: context.id.to_owned(),
            definitions,
            collector: context.collector.to_vec(),
            targets,
        }))
    }
}

struct SignalToMetrics {
    id: String,
    definitions: Vec<Definition>,
    collector: Vec<KeyValue>,
    targets: Targets,
}

impl SignalToMetrics {
    /// The metrics made from `request`.
    fn made(&self, request: AnyRequest) -> Batch {
        let mut made = Made::new(&self.definitions, &self.collector);
        let mut cache = Vec::new();
        match request {
            AnyRequest::Traces(mut request) => {
                for rs in &mut request.resource_spans {
                    let resource_attributes = attributes_of(&rs.resource);
                    let mut resource = ResourceParts {
                        resource: &mut rs.resource,
                        schema_url: &mut rs.schema_url,
                    };
                    for ss in &mut rs.scope_spans {
                        let mut scope = ScopeParts {
                            scope: &mut ss.scope,
                            schema_url: &mut ss.schema_url,
                        };
                        for span in &mut ss.spans {
                            if !made.wants(&span.attributes) {
                                continue;
                            }
                            let attributes = span.attributes.clone();
                            let times = (span.start_time_unix_nano, span.end_time_unix_nano);
                            cache.clear();
                            let context = TransformContext::for_span(
                                resource.reborrow(),
                                scope.reborrow(),
                                span,
                                &mut cache,
                            );
                            made.add(&resource_attributes, &attributes, times, &context);
                        }
                    }
                }
            }
            AnyRequest::Metrics(mut request) => {
                for rm in &mut request.resource_metrics {
                    let resource_attributes = attributes_of(&rm.resource);
                    let mut resource = ResourceParts {
                        resource: &mut rm.resource,
                        schema_url: &mut rm.schema_url,
                    };
                    for sm in &mut rm.scope_metrics {
                        let mut scope = ScopeParts {
                            scope: &mut sm.scope,
                            schema_url: &mut sm.schema_url,
                        };
                        for metric in &mut sm.metrics {
                            // The visit never fails, so neither does the walk.
                            let _ = for_each_point(metric, |metric, point| {
                                let (attributes, time) = point_attributes(&point);
                                if !made.wants(attributes) {
                                    return Ok(());
                                }
                                let attributes = attributes.to_vec();
                                cache.clear();
                                let context = TransformContext::for_data_point(
                                    resource.reborrow(),
                                    scope.reborrow(),
                                    metric,
                                    point,
                                    &mut cache,
                                );
                                made.add(&resource_attributes, &attributes, (time, time), &context);
                                Ok(())
                            });
                        }
                    }
                }
            }
            AnyRequest::Logs(mut request) => {
                for rl in &mut request.resource_logs {
                    let resource_attributes = attributes_of(&rl.resource);
                    let mut resource = ResourceParts {
                        resource: &mut rl.resource,
                        schema_url: &mut rl.schema_url,
                    };
                    for sl in &mut rl.scope_logs {
                        let mut scope = ScopeParts {
                            scope: &mut sl.scope,
                            schema_url: &mut sl.schema_url,
                        };
                        for record in &mut sl.log_records {
                            if !made.wants(&record.attributes) {
                                continue;
                            }
                            let attributes = record.attributes.clone();
                            let time = match record.time_unix_nano {
                                0 => record.observed_time_unix_nano,
                                time => time,
                            };
                            cache.clear();
                            let context = TransformContext::for_log(
                                resource.reborrow(),
                                scope.reborrow(),
                                record,
                                &mut cache,
                            );
                            made.add(&resource_attributes, &attributes, (time, time), &context);
                        }
                    }
                }
            }
        }
        let failures = &made.failures;
        if failures.evaluation > 0 || failures.not_a_number > 0 {
            tracing::warn!(
                connector = %self.id,
                failed = failures.evaluation,
                not_a_number = failures.not_a_number,
                "OTTL failed on some items, or gave a value that is not a number; they added nothing"
            );
        }
        Batch::new(made.into_request(crate::clock::now_nanos()))
    }
}

impl Connect for SignalToMetrics {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            // The contexts borrow items mutably, so the metrics are made from a copy; the batch itself stays as
            // it came, to hand back if the metrics pipelines refuse what was made of it.
            let made = self.made(batch.share().into_request());
            if made.is_empty() {
                return Ok(());
            }
            self.targets.consume_made_of(made, batch).await
        })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(self.targets.ready(items))
    }
}

#[cfg(test)]
mod tests;
