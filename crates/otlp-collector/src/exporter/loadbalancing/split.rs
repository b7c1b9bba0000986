//! Splitting a request into one request per backend, item by item: each part keeps the resource and scope (and,
//! for a metric split between backends, the metric's name, unit and aggregation) of its items, and the items keep
//! their order. Items are moved, not copied; only the metadata is cloned, once per part that needs it.

use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use otlp_model::{
    AnyRequest, ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

/// Splits `request` into `parts` requests: the `i`-th item (in the order [`OtlpRequest::item_count`] counts them)
/// goes to part `assign[i]`. `assign` holds one entry per item, each below `parts`; parts that get no item are
/// empty requests.
///
/// [`OtlpRequest::item_count`]: otlp_model::OtlpRequest::item_count
pub(super) fn split(request: AnyRequest, assign: &[u32], parts: usize) -> Vec<AnyRequest> {
    let mut assign = Assignment {
        parts: assign.iter(),
        last: parts.saturating_sub(1),
    };
    match request {
        AnyRequest::Traces(request) => {
            let mut out = vec![Vec::new(); parts];
            distribute(
                request.resource_spans,
                &mut out,
                |r: &mut ResourceSpans| &mut r.scope_spans,
                |s: &mut ScopeSpans| &mut s.spans,
                |spans, sink| {
                    for span in spans {
                        sink.items(assign.next()).push(span);
                    }
                },
            );
            out.into_iter()
                .map(|resource_spans| {
                    AnyRequest::Traces(ExportTraceServiceRequest { resource_spans })
                })
                .collect()
        }
        AnyRequest::Logs(request) => {
            let mut out = vec![Vec::new(); parts];
            distribute(
                request.resource_logs,
                &mut out,
                |r: &mut ResourceLogs| &mut r.scope_logs,
                |s: &mut ScopeLogs| &mut s.log_records,
                |records, sink| {
                    for record in records {
                        sink.items(assign.next()).push(record);
                    }
                },
            );
            out.into_iter()
                .map(|resource_logs| AnyRequest::Logs(ExportLogsServiceRequest { resource_logs }))
                .collect()
        }
        AnyRequest::Metrics(request) => {
            let mut out = vec![Vec::new(); parts];
            distribute(
                request.resource_metrics,
                &mut out,
                |r: &mut ResourceMetrics| &mut r.scope_metrics,
                |s: &mut ScopeMetrics| &mut s.metrics,
                |metrics, sink| {
                    for metric in metrics {
                        split_metric(metric, &mut assign, sink);
                    }
                },
            );
            out.into_iter()
                .map(|resource_metrics| {
                    AnyRequest::Metrics(ExportMetricsServiceRequest { resource_metrics })
                })
                .collect()
        }
    }
}

/// The part of each item in turn. Assignments are built with one entry per item and parts in range; if that ever
/// failed, items would go to the last part rather than disappear.
struct Assignment<'a> {
    parts: std::slice::Iter<'a, u32>,
    last: usize,
}

impl Assignment<'_> {
    fn next(&mut self) -> usize {
        self.parts
            .next()
            .map_or(self.last, |&part| (part as usize).min(self.last))
    }
}

/// Where the items of one scope go: the scope's copy in each part, made when the part gets its first item.
struct ScopeSink<'a, R, S> {
    parts: &'a mut [Vec<R>],
    resource: &'a R,
    scope: &'a S,
    scopes_of: fn(&mut R) -> &mut Vec<S>,
    /// Per part: the index of this resource's copy in it, once made (shared by the resource's scopes).
    resource_at: &'a mut [Option<usize>],
    /// Per part: the index of this scope's copy in the resource's copy.
    scope_at: Vec<Option<usize>>,
}

impl<R: Clone, S: Clone> ScopeSink<'_, R, S> {
    /// The scope's copy in `part`, made (with the resource's copy) if this is the part's first item from it.
    fn scope(&mut self, part: usize) -> &mut S {
        let part = part.min(self.parts.len().saturating_sub(1));
        let resources = &mut self.parts[part];
        let resource = *self.resource_at[part].get_or_insert_with(|| {
            resources.push(self.resource.clone());
            resources.len() - 1
        });
        let scopes = (self.scopes_of)(&mut resources[resource]);
        let scope = *self.scope_at[part].get_or_insert_with(|| {
            scopes.push(self.scope.clone());
            scopes.len() - 1
        });
        &mut scopes[scope]
    }
}

/// A sink whose items are the scope's direct children (spans, log records, metrics).
struct ItemSink<'a, R, S, I> {
    scopes: ScopeSink<'a, R, S>,
    items_of: fn(&mut S) -> &mut Vec<I>,
}

impl<R: Clone, S: Clone, I> ItemSink<'_, R, S, I> {
    fn items(&mut self, part: usize) -> &mut Vec<I> {
        let items_of = self.items_of;
        items_of(self.scopes.scope(part))
    }
}

/// Walks resources and scopes, hands each scope's items to `place` with a sink that copies the resource and scope
/// into a part the first time the part gets one of their items.
fn distribute<R: Clone, S: Clone, I>(
    resources: Vec<R>,
    parts: &mut [Vec<R>],
    scopes_of: fn(&mut R) -> &mut Vec<S>,
    items_of: fn(&mut S) -> &mut Vec<I>,
    mut place: impl FnMut(Vec<I>, &mut ItemSink<'_, R, S, I>),
) {
    let mut resource_at = vec![None; parts.len()];
    for mut resource in resources {
        // The resource and scope left behind are the metadata shells that parts copy.
        let scopes = std::mem::take(scopes_of(&mut resource));
        resource_at.iter_mut().for_each(|at| *at = None);
        for mut scope in scopes {
            let items = std::mem::take(items_of(&mut scope));
            let scope_at = vec![None; parts.len()];
            let mut sink = ItemSink {
                scopes: ScopeSink {
                    parts,
                    resource: &resource,
                    scope: &scope,
                    scopes_of,
                    resource_at: &mut resource_at,
                    scope_at,
                },
                items_of,
            };
            place(items, &mut sink);
        }
    }
}

/// Splits one metric's data points over the parts; each part gets a copy of the metric (name, description, unit,
/// metadata, aggregation) holding its points.
fn split_metric<R: Clone>(
    mut metric: Metric,
    assign: &mut Assignment<'_>,
    sink: &mut ItemSink<'_, R, ScopeMetrics, Metric>,
) {
    // Per part: the index of this metric's copy in the part's scope.
    let mut metric_at: Vec<Option<usize>> = vec![None; sink.scopes.parts.len()];
    // Takes the points out (the metric left behind is the shell each part copies), then hands each point to its
    // part's copy.
    macro_rules! spread {
        ($variant:ident, $points:expr) => {{
            for point in $points {
                let part = assign.next();
                let metrics = sink.items(part);
                let slot = part.min(metric_at.len().saturating_sub(1));
                let index = *metric_at[slot].get_or_insert_with(|| {
                    metrics.push(metric.clone());
                    metrics.len() - 1
                });
                if let Some(Data::$variant(copy)) = metrics[index].data.as_mut() {
                    copy.data_points.push(point);
                }
            }
        }};
    }
    // A metric without data has no item to route (`item_count` counts none), so nothing goes anywhere.
    match metric.data.take() {
        Some(Data::Gauge(mut series)) => {
            let points = std::mem::take(&mut series.data_points);
            metric.data = Some(Data::Gauge(series));
            spread!(Gauge, points)
        }
        Some(Data::Sum(mut series)) => {
            let points = std::mem::take(&mut series.data_points);
            metric.data = Some(Data::Sum(series));
            spread!(Sum, points)
        }
        Some(Data::Histogram(mut series)) => {
            let points = std::mem::take(&mut series.data_points);
            metric.data = Some(Data::Histogram(series));
            spread!(Histogram, points)
        }
        Some(Data::ExponentialHistogram(mut series)) => {
            let points = std::mem::take(&mut series.data_points);
            metric.data = Some(Data::ExponentialHistogram(series));
            spread!(ExponentialHistogram, points)
        }
        Some(Data::Summary(mut series)) => {
            let points = std::mem::take(&mut series.data_points);
            metric.data = Some(Data::Summary(series));
            spread!(Summary, points)
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otlp_model::OtlpRequest;
    use otlp_testkit::Generator;

    /// Splitting by any assignment and appending the parts back, part by part, gives every item exactly once,
    /// each under its original resource and scope.
    fn round_trip(request: AnyRequest, parts: usize) {
        let items = request.item_count();
        let assign: Vec<u32> = (0..items)
            .map(|i| ((i * 7 + i / 3) % parts) as u32)
            .collect();
        let split = split(request.clone(), &assign, parts);
        assert_eq!(split.len(), parts);
        for (part, piece) in split.iter().enumerate() {
            let expected = assign.iter().filter(|&&p| p as usize == part).count();
            assert_eq!(piece.item_count(), expected, "part {part}");
        }
        // Each part alone, in item order, is the original with the other parts' items removed.
        for (part, piece) in split.into_iter().enumerate() {
            let keep: Vec<bool> = assign.iter().map(|&p| p as usize == part).collect();
            assert_eq!(piece, filtered(&request, &keep), "part {part}");
        }
    }

    /// `request` with only the items whose flag is set, empty scopes and resources removed.
    fn filtered(request: &AnyRequest, keep: &[bool]) -> AnyRequest {
        let mut keep = keep.iter().copied();
        let mut request = request.clone();
        match &mut request {
            AnyRequest::Traces(r) => {
                for rs in &mut r.resource_spans {
                    for ss in &mut rs.scope_spans {
                        ss.spans.retain(|_| keep.next().unwrap());
                    }
                    rs.scope_spans.retain(|ss| !ss.spans.is_empty());
                }
                r.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
            }
            AnyRequest::Logs(r) => {
                for rl in &mut r.resource_logs {
                    for sl in &mut rl.scope_logs {
                        sl.log_records.retain(|_| keep.next().unwrap());
                    }
                    rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
                }
                r.resource_logs.retain(|rl| !rl.scope_logs.is_empty());
            }
            AnyRequest::Metrics(r) => {
                for rm in &mut r.resource_metrics {
                    for sm in &mut rm.scope_metrics {
                        for metric in &mut sm.metrics {
                            match metric.data.as_mut() {
                                Some(Data::Gauge(g)) => {
                                    g.data_points.retain(|_| keep.next().unwrap())
                                }
                                Some(Data::Sum(s)) => {
                                    s.data_points.retain(|_| keep.next().unwrap())
                                }
                                Some(Data::Histogram(h)) => {
                                    h.data_points.retain(|_| keep.next().unwrap())
                                }
                                Some(Data::ExponentialHistogram(h)) => {
                                    h.data_points.retain(|_| keep.next().unwrap())
                                }
                                Some(Data::Summary(s)) => {
                                    s.data_points.retain(|_| keep.next().unwrap())
                                }
                                None => {}
                            }
                        }
                        sm.metrics.retain(|m| otlp_model::data_points(m) > 0);
                    }
                    rm.scope_metrics.retain(|sm| !sm.metrics.is_empty());
                }
                r.resource_metrics.retain(|rm| !rm.scope_metrics.is_empty());
            }
        }
        request
    }

    #[test]
    fn every_signal_splits_item_by_item_keeping_metadata_and_order() {
        let mut generator = Generator::new(7);
        for parts in [1, 2, 3, 5] {
            round_trip(generator.whole_traces(300).into_any(), parts);
            round_trip(generator.metrics(400).into_any(), parts);
            round_trip(generator.logs(250).into_any(), parts);
        }
    }

    #[test]
    fn a_metric_split_between_parts_keeps_its_aggregation_in_each() {
        use opentelemetry_proto::tonic::metrics::v1::{NumberDataPoint, Sum};
        let point = |v: i64| NumberDataPoint {
            value: Some(
                opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(v),
            ),
            ..Default::default()
        };
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "requests".into(),
                        unit: "1".into(),
                        data: Some(Data::Sum(Sum {
                            data_points: (0..4).map(point).collect(),
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let parts = split(request.into_any(), &[0, 1, 1, 0], 2);
        for part in parts {
            let AnyRequest::Metrics(part) = part else {
                panic!("metrics")
            };
            let metric = &part.resource_metrics[0].scope_metrics[0].metrics[0];
            assert_eq!(
                (metric.name.as_str(), metric.unit.as_str()),
                ("requests", "1")
            );
            let Some(Data::Sum(sum)) = &metric.data else {
                panic!("a sum")
            };
            assert_eq!((sum.aggregation_temporality, sum.is_monotonic), (2, true));
            assert_eq!(sum.data_points.len(), 2);
        }
    }
}
