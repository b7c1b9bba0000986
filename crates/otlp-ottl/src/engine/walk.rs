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

use crate::context::{
    ContextKind, DataPointMut, NewMetrics, ResourceParts, ScopeParts, SummarySiblings,
    TransformContext,
};
use crate::error::{Error, Result};

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
            // An index loop re-reading the length, as otelcol's `for k := 0; k < metrics.Len();
            // k++`: metrics the statements add (`copy_metric`, ...) go to the end of the list
            // and are visited by the same group in turn.
            let bound = sm.metrics.len().saturating_mul(GROWTH_FACTOR) + GROWTH_SLACK;
            let mut added = NewMetrics::default();
            let mut k = 0;
            while k < sm.metrics.len() {
                let metric = &mut sm.metrics[k];
                if context == ContextKind::DataPoint {
                    for_each_point_with_siblings(metric, |metric, point, siblings| {
                        cache.clear();
                        f(&mut TransformContext::for_data_point_adding(
                            resource.reborrow(),
                            scope.reborrow(),
                            metric,
                            point,
                            cache,
                            &mut added,
                            siblings,
                        ))
                    })?;
                } else {
                    cache.clear();
                    f(&mut TransformContext::for_metric_adding(
                        resource.reborrow(),
                        scope.reborrow(),
                        metric,
                        cache,
                        &mut added,
                    ))?;
                }
                k += 1;
                if !added.metrics.is_empty() {
                    sm.metrics.append(&mut added.metrics);
                    if sm.metrics.len() > bound {
                        let function = added.added_by.unwrap_or("a statement");
                        return Err(Error::eval(format!(
                            "{function}: the metrics of one scope grew past {bound} \
                             ({GROWTH_FACTOR}x their number at the start plus {GROWTH_SLACK}); \
                             a statement adding metrics needs a `where` that the new metrics \
                             do not match, as they are visited by the same group"
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// How far a scope's metric list may grow in one group's walk (times its starting length, plus
/// [`GROWTH_SLACK`]) before the walk stops with an error. A `copy_metric()` without a `where`
/// copies its own copies forever (in otelcol too, which hangs); no sane config comes near this.
const GROWTH_FACTOR: usize = 10;
const GROWTH_SLACK: usize = 1000;

/// As [`for_each_point`], and a summary's points before and after the visited one are handed
/// along, so `convert_summary_*_val_to_sum` can copy them all.
fn for_each_point_with_siblings(
    metric: &mut Metric,
    mut f: impl FnMut(&mut Metric, DataPointMut<'_>, Option<SummarySiblings<'_>>) -> Result<()>,
) -> Result<()> {
    let Some(Data::Summary(summary)) = &mut metric.data else {
        return for_each_point(metric, |metric, point| f(metric, point, None));
    };
    let mut points = mem::take(&mut summary.data_points);
    let mut outcome = Ok(());
    for i in 0..points.len() {
        let (before, rest) = points.split_at_mut(i);
        let Some((point, after)) = rest.split_first_mut() else {
            break;
        };
        let siblings = SummarySiblings {
            before: &*before,
            after: &*after,
        };
        outcome = f(metric, DataPointMut::Summary(point), Some(siblings));
        if outcome.is_err() {
            break;
        }
    }
    if let Some(Data::Summary(summary)) = &mut metric.data {
        summary.data_points = points;
    }
    outcome
}

/// The number of data points of a metric, of whichever kind.
///
/// ```
/// use opentelemetry_proto::tonic::metrics::v1::{Gauge, Metric, NumberDataPoint, metric::Data};
/// use otlp_ottl::point_count;
///
/// let metric = Metric {
///     data: Some(Data::Gauge(Gauge { data_points: vec![NumberDataPoint::default(); 2] })),
///     ..Default::default()
/// };
/// assert_eq!(point_count(&metric), 2);
/// assert_eq!(point_count(&Metric::default()), 0);
/// ```
pub fn point_count(metric: &Metric) -> usize {
    match &metric.data {
        Some(Data::Gauge(d)) => d.data_points.len(),
        Some(Data::Sum(d)) => d.data_points.len(),
        Some(Data::Histogram(d)) => d.data_points.len(),
        Some(Data::ExponentialHistogram(d)) => d.data_points.len(),
        Some(Data::Summary(d)) => d.data_points.len(),
        None => 0,
    }
}

/// Visits the data points of `metric` with the metric alongside, as a data point context
/// ([`TransformContext::for_data_point`](crate::TransformContext::for_data_point)) needs them: the points leave the metric while they are
/// visited and are put back afterwards (also on error).
///
/// ```
/// use otlp_ottl::opentelemetry_proto::tonic::metrics::v1::{Gauge, Metric, NumberDataPoint, metric::Data};
/// use otlp_ottl::{DataPointMut, for_each_point};
///
/// let mut metric = Metric {
///     data: Some(Data::Gauge(Gauge { data_points: vec![NumberDataPoint::default(); 3] })),
///     ..Default::default()
/// };
/// let mut seen = 0;
/// for_each_point(&mut metric, |_, point| {
///     assert!(matches!(point, DataPointMut::Number(_)));
///     seen += 1;
///     Ok(())
/// })?;
/// assert_eq!(seen, 3);
/// # Ok::<(), otlp_ottl::Error>(())
/// ```
pub fn for_each_point(
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
