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
        let resource = &mut rs.resource;
        let resource_schema = &mut rs.schema_url;
        if context == ContextKind::Resource {
            cache.clear();
            f(&mut TransformContext::for_resource(
                ResourceParts {
                    resource,
                    schema_url: resource_schema,
                },
                cache,
            ))?;
            continue;
        }
        for ss in &mut rs.scope_spans {
            let scope = &mut ss.scope;
            let scope_schema = &mut ss.schema_url;
            if context == ContextKind::Scope {
                cache.clear();
                f(&mut TransformContext::for_scope(
                    ResourceParts {
                        resource: &mut *resource,
                        schema_url: &mut *resource_schema,
                    },
                    ScopeParts {
                        scope,
                        schema_url: scope_schema,
                    },
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
                            ResourceParts {
                                resource: &mut *resource,
                                schema_url: &mut *resource_schema,
                            },
                            ScopeParts {
                                scope: &mut *scope,
                                schema_url: &mut *scope_schema,
                            },
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
                    ResourceParts {
                        resource: &mut *resource,
                        schema_url: &mut *resource_schema,
                    },
                    ScopeParts {
                        scope: &mut *scope,
                        schema_url: &mut *scope_schema,
                    },
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
        let resource = &mut rm.resource;
        let resource_schema = &mut rm.schema_url;
        if context == ContextKind::Resource {
            cache.clear();
            f(&mut TransformContext::for_resource(
                ResourceParts {
                    resource,
                    schema_url: resource_schema,
                },
                cache,
            ))?;
            continue;
        }
        for sm in &mut rm.scope_metrics {
            let scope = &mut sm.scope;
            let scope_schema = &mut sm.schema_url;
            if context == ContextKind::Scope {
                cache.clear();
                f(&mut TransformContext::for_scope(
                    ResourceParts {
                        resource: &mut *resource,
                        schema_url: &mut *resource_schema,
                    },
                    ScopeParts {
                        scope,
                        schema_url: scope_schema,
                    },
                    cache,
                ))?;
                continue;
            }
            for metric in &mut sm.metrics {
                if context == ContextKind::DataPoint {
                    for_each_point(metric, |metric, point| {
                        cache.clear();
                        f(&mut TransformContext::for_data_point(
                            ResourceParts {
                                resource: &mut *resource,
                                schema_url: &mut *resource_schema,
                            },
                            ScopeParts {
                                scope: &mut *scope,
                                schema_url: &mut *scope_schema,
                            },
                            metric,
                            point,
                            cache,
                        ))
                    })?;
                    continue;
                }
                cache.clear();
                f(&mut TransformContext::for_metric(
                    ResourceParts {
                        resource: &mut *resource,
                        schema_url: &mut *resource_schema,
                    },
                    ScopeParts {
                        scope: &mut *scope,
                        schema_url: &mut *scope_schema,
                    },
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
        let resource = &mut rl.resource;
        let resource_schema = &mut rl.schema_url;
        if context == ContextKind::Resource {
            cache.clear();
            f(&mut TransformContext::for_resource(
                ResourceParts {
                    resource,
                    schema_url: resource_schema,
                },
                cache,
            ))?;
            continue;
        }
        for sl in &mut rl.scope_logs {
            let scope = &mut sl.scope;
            let scope_schema = &mut sl.schema_url;
            if context == ContextKind::Scope {
                cache.clear();
                f(&mut TransformContext::for_scope(
                    ResourceParts {
                        resource: &mut *resource,
                        schema_url: &mut *resource_schema,
                    },
                    ScopeParts {
                        scope,
                        schema_url: scope_schema,
                    },
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
                    ResourceParts {
                        resource: &mut *resource,
                        schema_url: &mut *resource_schema,
                    },
                    ScopeParts {
                        scope: &mut *scope,
                        schema_url: &mut *scope_schema,
                    },
                    log,
                    cache,
                ))?;
            }
        }
    }
    Ok(())
}
