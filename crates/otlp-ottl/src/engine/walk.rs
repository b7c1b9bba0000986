//! Walking an OTLP request item by item for one context, with the borrows split so a statement
//! can change the item and the resource and scope above it at once.

use std::mem;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::context::{ContextKind, DataPointMut, ResourceParts, ScopeParts, TransformContext};
use crate::error::Result;

/// Calls `f` on every item of `context` in the request; the cache is emptied before each item.
/// Spans for which `skip` holds are not visited.
pub(crate) fn traces(
    request: &mut ExportTraceServiceRequest,
    context: ContextKind,
    cache: &mut Vec<KeyValue>,
    skip: impl Fn(&Span) -> bool,
    mut f: impl FnMut(&mut TransformContext<'_>) -> Result<()>,
) -> Result<()> {
    for rs in &mut request.resource_spans {
        let mut resource = ResourceParts {
            resource: &mut rs.resource,
            schema_url: &mut rs.schema_url,
        };
        if context == ContextKind::Resource {
            cache.clear();
            f(&mut TransformContext::for_resource(resource, cache))?;
            continue;
        }
        for ss in &mut rs.scope_spans {
            let mut scope = ScopeParts {
                scope: &mut ss.scope,
                schema_url: &mut ss.schema_url,
            };
            if context == ContextKind::Scope {
                cache.clear();
                f(&mut TransformContext::for_scope(
                    resource.reborrow(),
                    scope,
                    cache,
                ))?;
                continue;
            }
            for span in &mut ss.spans {
                if context == ContextKind::SpanEvent {
                    // The events leave the span while they are visited, so the span and one event
                    // can be borrowed mutably together.
                    let mut events = mem::take(&mut span.events);
                    let mut outcome = Ok(());
                    for (index, event) in events.iter_mut().enumerate() {
                        cache.clear();
                        outcome = f(&mut TransformContext::for_span_event(
                            resource.reborrow(),
                            scope.reborrow(),
                            span,
                            event,
                            index,
                            cache,
                        ));
                        if outcome.is_err() {
                            break;
                        }
                    }
                    span.events = events;
                    outcome?;
                    continue;
                }
                if skip(span) {
                    continue;
                }
                cache.clear();
                f(&mut TransformContext::for_span(
                    resource.reborrow(),
                    scope.reborrow(),
                    span,
                    cache,
                ))?;
            }
        }
    }
    Ok(())
}

/// Calls `f` on every item of `context` in the request.
pub(crate) fn metrics(
    request: &mut ExportMetricsServiceRequest,
    context: ContextKind,
    cache: &mut Vec<KeyValue>,
    mut f: impl FnMut(&mut TransformContext<'_>) -> Result<()>,
) -> Result<()> {
    for rm in &mut request.resource_metrics {
        let mut resource = ResourceParts {
            resource: &mut rm.resource,
            schema_url: &mut rm.schema_url,
        };
        if context == ContextKind::Resource {
            cache.clear();
            f(&mut TransformContext::for_resource(resource, cache))?;
            continue;
        }
        for sm in &mut rm.scope_metrics {
            let mut scope = ScopeParts {
                scope: &mut sm.scope,
                schema_url: &mut sm.schema_url,
            };
            if context == ContextKind::Scope {
                cache.clear();
                f(&mut TransformContext::for_scope(
                    resource.reborrow(),
                    scope,
                    cache,
                ))?;
                continue;
            }
            for metric in &mut sm.metrics {
                if context == ContextKind::DataPoint {
                    for_each_point(metric, |metric, point| {
                        cache.clear();
                        f(&mut TransformContext::for_data_point(
                            resource.reborrow(),
                            scope.reborrow(),
                            metric,
                            point,
                            cache,
                        ))
                    })?;
                    continue;
                }
                cache.clear();
                f(&mut TransformContext::for_metric(
                    resource.reborrow(),
                    scope.reborrow(),
                    metric,
                    cache,
                ))?;
            }
        }
    }
    Ok(())
}

/// Visits the data points of `metric` with the metric alongside: the points leave the metric
/// while they are visited and are put back afterwards (also on error).
pub(crate) fn for_each_point(
    metric: &mut Metric,
    mut f: impl FnMut(&mut Metric, DataPointMut<'_>) -> Result<()>,
) -> Result<()> {
    macro_rules! visit {
        ($variant:ident, $wrap:ident) => {{
            let mut points = match &mut metric.data {
                Some(Data::$variant(d)) => mem::take(&mut d.data_points),
                _ => Vec::new(),
            };
            let mut outcome = Ok(());
            for point in &mut points {
                outcome = f(metric, DataPointMut::$wrap(point));
                if outcome.is_err() {
                    break;
                }
            }
            if let Some(Data::$variant(d)) = &mut metric.data {
                d.data_points = points;
            }
            outcome
        }};
    }
    match &metric.data {
        Some(Data::Gauge(_)) => visit!(Gauge, Number),
        Some(Data::Sum(_)) => visit!(Sum, Number),
        Some(Data::Histogram(_)) => visit!(Histogram, Histogram),
        Some(Data::ExponentialHistogram(_)) => visit!(ExponentialHistogram, ExponentialHistogram),
        Some(Data::Summary(_)) => visit!(Summary, Summary),
        None => Ok(()),
    }
}

/// Calls `f` on every item of `context` in the request.
/// Log records for which `skip` holds are not visited.
pub(crate) fn logs(
    request: &mut ExportLogsServiceRequest,
    context: ContextKind,
    cache: &mut Vec<KeyValue>,
    skip: impl Fn(&LogRecord) -> bool,
    mut f: impl FnMut(&mut TransformContext<'_>) -> Result<()>,
) -> Result<()> {
    for rl in &mut request.resource_logs {
        let mut resource = ResourceParts {
            resource: &mut rl.resource,
            schema_url: &mut rl.schema_url,
        };
        if context == ContextKind::Resource {
            cache.clear();
            f(&mut TransformContext::for_resource(resource, cache))?;
            continue;
        }
        for sl in &mut rl.scope_logs {
            let mut scope = ScopeParts {
                scope: &mut sl.scope,
                schema_url: &mut sl.schema_url,
            };
            if context == ContextKind::Scope {
                cache.clear();
                f(&mut TransformContext::for_scope(
                    resource.reborrow(),
                    scope,
                    cache,
                ))?;
                continue;
            }
            for log in &mut sl.log_records {
                if skip(log) {
                    continue;
                }
                cache.clear();
                f(&mut TransformContext::for_log(
                    resource.reborrow(),
                    scope.reborrow(),
                    log,
                    cache,
                ))?;
            }
        }
    }
    Ok(())
}
