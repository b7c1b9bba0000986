//! The engine behind otelcol's `filter` processor: OTTL conditions per context; an item that
//! matches any condition of its context is dropped, and scopes and resources left empty go too.
//! otelcol's legacy `include`/`exclude` settings are read too ([`legacy`]), one way or the other
//! per signal, as otelcol allows.

mod legacy;

pub use legacy::{LogMatchProperties, MetricMatchProperties, MetricMatchType, SpanMatchConfig};
pub(crate) use legacy::{compile_logs, compile_metrics, compile_spans, mixed};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use serde::Deserialize;

use crate::actions::RegexpSettings;
use crate::context::{
    ContextKind, DataPointMut, ResourceParts, ScopeParts, Signal, TransformContext,
};
use crate::engine::walk::point_count;
use crate::engine::{AnyOf, ErrorMode};
use crate::error::{Error, Result};
use crate::parse::compile_condition;

/// The `filter` processor's configuration, with otelcol's keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// How condition errors are handled (default `ignore`: an error counts as "no match").
    #[serde(default)]
    pub error_mode: ErrorMode,
    /// Conditions for traces.
    #[serde(default)]
    pub traces: TraceConditions,
    /// Legacy span matching (otelcol keeps it under `spans`, apart from the OTTL `traces`).
    #[serde(default)]
    pub spans: SpanMatchConfig,
    /// Conditions for metrics.
    #[serde(default)]
    pub metrics: MetricConditions,
    /// Conditions for logs.
    #[serde(default)]
    pub logs: LogConditions,
}

/// `traces:` conditions.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceConditions {
    /// Drops whole resources (with their spans).
    #[serde(default)]
    pub resource: Vec<String>,
    /// Drops spans.
    #[serde(default)]
    pub span: Vec<String>,
    /// Drops span events.
    #[serde(default)]
    pub spanevent: Vec<String>,
}

/// `metrics:` conditions.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricConditions {
    /// Drops whole resources.
    #[serde(default)]
    pub resource: Vec<String>,
    /// Drops metrics.
    #[serde(default)]
    pub metric: Vec<String>,
    /// Drops data points; a metric left without points is dropped too.
    #[serde(default)]
    pub datapoint: Vec<String>,
    /// Legacy: metrics that do not match are dropped.
    #[serde(default)]
    pub include: Option<MetricMatchProperties>,
    /// Legacy: metrics that match are dropped.
    #[serde(default)]
    pub exclude: Option<MetricMatchProperties>,
    /// Legacy `regexp` settings of the section: accepted and ignored, as compiled regexes need no
    /// result cache.
    #[serde(default)]
    pub regexp: Option<RegexpSettings>,
}

/// `logs:` conditions.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConditions {
    /// Drops whole resources.
    #[serde(default)]
    pub resource: Vec<String>,
    /// Drops log records.
    #[serde(default)]
    pub log_record: Vec<String>,
    /// Legacy: log records that do not match are dropped.
    #[serde(default)]
    pub include: Option<LogMatchProperties>,
    /// Legacy: log records that match are dropped.
    #[serde(default)]
    pub exclude: Option<LogMatchProperties>,
}

/// What one filtering pass dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterStats {
    /// Resources dropped by `resource` conditions.
    pub resources: usize,
    /// Spans dropped (by `span` conditions or with their resource).
    pub spans: usize,
    /// Span events dropped.
    pub span_events: usize,
    /// Metrics dropped (by `metric` conditions, with their resource, or left without points).
    pub metrics: usize,
    /// Data points dropped (with their metric or resource, or by `datapoint` conditions).
    pub data_points: usize,
    /// Log records dropped.
    pub log_records: usize,
    /// Condition errors that `ignore`/`silent` let pass (each counted as "no match").
    pub errors: usize,
}

impl FilterStats {
    /// Dropped items in the signal's unit: spans, data points or log records.
    pub fn dropped_items(&self, signal: Signal) -> usize {
        match signal {
            Signal::Traces => self.spans,
            Signal::Metrics => self.data_points,
            Signal::Logs => self.log_records,
        }
    }
}

/// Compiled `filter` conditions.
#[derive(Debug, Default)]
pub struct Filter {
    error_mode: ErrorMode,
    trace_resource: AnyOf,
    span: AnyOf,
    spanevent: AnyOf,
    metric_resource: AnyOf,
    metric: AnyOf,
    datapoint: AnyOf,
    log_resource: AnyOf,
    log_record: AnyOf,
    legacy: legacy::Legacy,
}

impl Filter {
    /// Compiles every condition and the legacy `include`/`exclude` settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem with its key path
    /// (`traces.span[1]`, `spans.include`), including a signal configured both with OTTL
    /// conditions and legacy settings.
    pub fn new(config: &FilterConfig) -> Result<Self> {
        let mut problems = Vec::new();
        let legacy = legacy::Legacy::new(config, &mut problems);
        let mut compile = |key: &str, context: ContextKind, texts: &[String]| {
            AnyOf::new(
                texts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, text)| {
                        compile_condition(context, text, true)
                            .map_err(|e| problems.extend(e.into_problems(&format!("{key}[{i}]"))))
                            .ok()
                    })
                    .collect(),
            )
        };
        let filter = Filter {
            error_mode: config.error_mode,
            trace_resource: compile(
                "traces.resource",
                ContextKind::Resource,
                &config.traces.resource,
            ),
            span: compile("traces.span", ContextKind::Span, &config.traces.span),
            spanevent: compile(
                "traces.spanevent",
                ContextKind::SpanEvent,
                &config.traces.spanevent,
            ),
            metric_resource: compile(
                "metrics.resource",
                ContextKind::Resource,
                &config.metrics.resource,
            ),
            metric: compile(
                "metrics.metric",
                ContextKind::Metric,
                &config.metrics.metric,
            ),
            datapoint: compile(
                "metrics.datapoint",
                ContextKind::DataPoint,
                &config.metrics.datapoint,
            ),
            log_resource: compile(
                "logs.resource",
                ContextKind::Resource,
                &config.logs.resource,
            ),
            log_record: compile("logs.log_record", ContextKind::Log, &config.logs.log_record),
            legacy,
        };
        if problems.is_empty() {
            Ok(filter)
        } else {
            Err(Error::InvalidConfig(problems))
        }
    }

    /// Whether there are conditions for `signal`.
    pub fn handles(&self, signal: Signal) -> bool {
        match signal {
            Signal::Traces if self.legacy.spans.is_some() => true,
            Signal::Metrics if self.legacy.metrics.is_some() => true,
            Signal::Logs if self.legacy.logs.is_some() => true,
            Signal::Traces => {
                !(self.trace_resource.is_empty()
                    && self.span.is_empty()
                    && self.spanevent.is_empty())
            }
            Signal::Metrics => {
                !(self.metric_resource.is_empty()
                    && self.metric.is_empty()
                    && self.datapoint.is_empty())
            }
            Signal::Logs => !(self.log_resource.is_empty() && self.log_record.is_empty()),
        }
    }

    /// Drops the matching spans and span events (and resources), then empty scopes and
    /// resources.
    ///
    /// # Errors
    ///
    /// The first condition error in `propagate` mode; items not yet visited are kept.
    pub fn filter_traces(&self, request: &mut ExportTraceServiceRequest) -> Result<FilterStats> {
        // A signal is filtered one way or the other: `Filter::new` refuses the mix.
        if let Some(legacy) = &self.legacy.spans {
            let mut stats = FilterStats::default();
            legacy.filter(request, &mut stats);
            return Ok(stats);
        }
        let mut pass = Pass::new(self.error_mode);
        if !self.handles(Signal::Traces) {
            return pass.finish();
        }
        let mut cache = Vec::new();
        request.resource_spans.retain_mut(|rs| {
            if pass.failed() {
                return true;
            }
            let mut resource = ResourceParts {
                resource: &mut rs.resource,
                schema_url: &mut rs.schema_url,
            };
            if pass.drops_resource(&self.trace_resource, resource.reborrow(), &mut cache) {
                pass.stats.spans += rs
                    .scope_spans
                    .iter()
                    .map(|ss| ss.spans.len())
                    .sum::<usize>();
                return false;
            }
            if pass.failed() {
                return true;
            }
            rs.scope_spans.retain_mut(|ss| {
                let mut scope = ScopeParts {
                    scope: &mut ss.scope,
                    schema_url: &mut ss.schema_url,
                };
                ss.spans.retain_mut(|span| {
                    if pass.failed() {
                        return true;
                    }
                    if !self.span.is_empty() {
                        let drop = match self.span.decide_span(span) {
                            Some(drop) => drop,
                            None => {
                                cache.clear();
                                let ctx = TransformContext::for_span(
                                    resource.reborrow(),
                                    scope.reborrow(),
                                    span,
                                    &mut cache,
                                );
                                pass.drops(&self.span, &ctx)
                            }
                        };
                        if drop {
                            pass.stats.spans += 1;
                            return false;
                        }
                        if pass.failed() {
                            return true;
                        }
                    }
                    if !self.spanevent.is_empty() {
                        let mut events = std::mem::take(&mut span.events);
                        let mut index = 0;
                        events.retain_mut(|event| {
                            index += 1;
                            if pass.failed() {
                                return true;
                            }
                            cache.clear();
                            let ctx = TransformContext::for_span_event(
                                resource.reborrow(),
                                scope.reborrow(),
                                span,
                                event,
                                index - 1,
                                &mut cache,
                            );
                            let drop = pass.drops(&self.spanevent, &ctx);
                            pass.stats.span_events += usize::from(drop);
                            !drop
                        });
                        span.events = events;
                    }
                    true
                });
                !ss.spans.is_empty()
            });
            !rs.scope_spans.is_empty()
        });
        pass.finish()
    }

    /// Drops the matching metrics and data points (and resources), then metrics left without
    /// points and empty scopes and resources.
    ///
    /// # Errors
    ///
    /// As [`filter_traces`](Self::filter_traces).
    pub fn filter_metrics(&self, request: &mut ExportMetricsServiceRequest) -> Result<FilterStats> {
        // A signal is filtered one way or the other: `Filter::new` refuses the mix.
        if let Some(legacy) = &self.legacy.metrics {
            let mut stats = FilterStats::default();
            legacy.filter(request, &mut stats);
            return Ok(stats);
        }
        let mut pass = Pass::new(self.error_mode);
        if !self.handles(Signal::Metrics) {
            return pass.finish();
        }
        let mut cache = Vec::new();
        request.resource_metrics.retain_mut(|rm| {
            if pass.failed() {
                return true;
            }
            let mut resource = ResourceParts {
                resource: &mut rm.resource,
                schema_url: &mut rm.schema_url,
            };
            if pass.drops_resource(&self.metric_resource, resource.reborrow(), &mut cache) {
                for sm in &rm.scope_metrics {
                    pass.stats.metrics += sm.metrics.len();
                    pass.stats.data_points += sm.metrics.iter().map(point_count).sum::<usize>();
                }
                return false;
            }
            if pass.failed() {
                return true;
            }
            rm.scope_metrics.retain_mut(|sm| {
                let mut scope = ScopeParts {
                    scope: &mut sm.scope,
                    schema_url: &mut sm.schema_url,
                };
                sm.metrics.retain_mut(|metric| {
                    if pass.failed() {
                        return true;
                    }
                    if !self.metric.is_empty() {
                        cache.clear();
                        let ctx = TransformContext::for_metric(
                            resource.reborrow(),
                            scope.reborrow(),
                            metric,
                            &mut cache,
                        );
                        if pass.drops(&self.metric, &ctx) {
                            pass.stats.metrics += 1;
                            pass.stats.data_points += point_count(metric);
                            return false;
                        }
                        if pass.failed() {
                            return true;
                        }
                    }
                    if self.datapoint.is_empty() {
                        return true;
                    }
                    retain_points(metric, |metric, point| {
                        if pass.failed() {
                            return true;
                        }
                        cache.clear();
                        let ctx = TransformContext::for_data_point(
                            resource.reborrow(),
                            scope.reborrow(),
                            metric,
                            point,
                            &mut cache,
                        );
                        let drop = pass.drops(&self.datapoint, &ctx);
                        pass.stats.data_points += usize::from(drop);
                        !drop
                    });
                    if point_count(metric) == 0 {
                        pass.stats.metrics += 1;
                        return false;
                    }
                    true
                });
                !sm.metrics.is_empty()
            });
            !rm.scope_metrics.is_empty()
        });
        pass.finish()
    }

    /// Drops the matching log records (and resources), then empty scopes and resources.
    ///
    /// # Errors
    ///
    /// As [`filter_traces`](Self::filter_traces).
    pub fn filter_logs(&self, request: &mut ExportLogsServiceRequest) -> Result<FilterStats> {
        // A signal is filtered one way or the other: `Filter::new` refuses the mix.
        if let Some(legacy) = &self.legacy.logs {
            let mut stats = FilterStats::default();
            legacy.filter(request, &mut stats);
            return Ok(stats);
        }
        let mut pass = Pass::new(self.error_mode);
        if !self.handles(Signal::Logs) {
            return pass.finish();
        }
        let mut cache = Vec::new();
        request.resource_logs.retain_mut(|rl| {
            if pass.failed() {
                return true;
            }
            let mut resource = ResourceParts {
                resource: &mut rl.resource,
                schema_url: &mut rl.schema_url,
            };
            if pass.drops_resource(&self.log_resource, resource.reborrow(), &mut cache) {
                pass.stats.log_records += rl
                    .scope_logs
                    .iter()
                    .map(|sl| sl.log_records.len())
                    .sum::<usize>();
                return false;
            }
            if pass.failed() {
                return true;
            }
            rl.scope_logs.retain_mut(|sl| {
                let mut scope = ScopeParts {
                    scope: &mut sl.scope,
                    schema_url: &mut sl.schema_url,
                };
                if !self.log_record.is_empty() {
                    sl.log_records.retain_mut(|log| {
                        if pass.failed() {
                            return true;
                        }
                        let drop = match self.log_record.decide_log(log) {
                            Some(drop) => drop,
                            None => {
                                cache.clear();
                                let ctx = TransformContext::for_log(
                                    resource.reborrow(),
                                    scope.reborrow(),
                                    log,
                                    &mut cache,
                                );
                                pass.drops(&self.log_record, &ctx)
                            }
                        };
                        pass.stats.log_records += usize::from(drop);
                        !drop
                    });
                }
                !sl.log_records.is_empty()
            });
            !rl.scope_logs.is_empty()
        });
        pass.finish()
    }
}

/// One filtering pass: what it dropped, and the condition error that stopped it in `propagate`
/// mode. Once stopped, every item not yet visited is kept.
struct Pass {
    mode: ErrorMode,
    stats: FilterStats,
    failure: Option<Error>,
}

impl Pass {
    fn new(mode: ErrorMode) -> Self {
        Pass {
            mode,
            stats: FilterStats::default(),
            failure: None,
        }
    }

    fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Whether `conditions` drop the item of `ctx`. An error that propagates stops the pass and
    /// keeps the item.
    fn drops(&mut self, conditions: &AnyOf, ctx: &TransformContext<'_>) -> bool {
        match conditions.matches(ctx, self.mode, &mut self.stats.errors) {
            Ok(drop) => drop,
            Err(error) => {
                self.failure = Some(error);
                false
            }
        }
    }

    /// Whether `conditions` drop the whole resource, counted as a dropped resource; its items
    /// are the caller's to count.
    fn drops_resource(
        &mut self,
        conditions: &AnyOf,
        resource: ResourceParts<'_>,
        cache: &mut Vec<KeyValue>,
    ) -> bool {
        if conditions.is_empty() {
            return false;
        }
        cache.clear();
        let drop = self.drops(conditions, &TransformContext::for_resource(resource, cache));
        self.stats.resources += usize::from(drop);
        drop
    }

    fn finish(self) -> Result<FilterStats> {
        match self.failure {
            Some(error) => Err(error),
            None => Ok(self.stats),
        }
    }
}

/// Keeps the data points for which `keep` holds; the points leave the metric while `keep` sees
/// them, so it gets the metric alongside.
fn retain_points(metric: &mut Metric, mut keep: impl FnMut(&mut Metric, DataPointMut<'_>) -> bool) {
    macro_rules! retain {
        ($variant:ident, $wrap:ident) => {{
            let mut points = match &mut metric.data {
                Some(Data::$variant(d)) => std::mem::take(&mut d.data_points),
                _ => Vec::new(),
            };
            points.retain_mut(|p| keep(metric, DataPointMut::$wrap(p)));
            if let Some(Data::$variant(d)) = &mut metric.data {
                d.data_points = points;
            }
        }};
    }
    match &metric.data {
        Some(Data::Gauge(_)) => retain!(Gauge, Number),
        Some(Data::Sum(_)) => retain!(Sum, Number),
        Some(Data::Histogram(_)) => retain!(Histogram, Histogram),
        Some(Data::ExponentialHistogram(_)) => retain!(ExponentialHistogram, ExponentialHistogram),
        Some(Data::Summary(_)) => retain!(Summary, Summary),
        None => {}
    }
}
