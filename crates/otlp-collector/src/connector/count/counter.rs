//! Counting the items of a request, resource by resource, into the `count` connector's metrics, or summing an
//! attribute of theirs into the `sum` connector's.

use crate::clock::now_nanos;
use crate::{AnyRequest, Batch};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{
    Condition, DataPointMut, ResourceParts, ScopeParts, TransformContext, for_each_point,
};
use std::borrow::Cow;
use std::collections::BTreeMap;

mod in_place;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::connector) enum Kind {
    Spans,
    SpanEvents,
    Metrics,
    DataPoints,
    Logs,
}

/// One count, compiled.
pub(in crate::connector) struct Definition {
    pub(super) name: String,
    pub(super) description: String,
    /// Any may hold; none means every item counts.
    pub(super) conditions: Vec<Condition>,
    /// (key, value for items without it).
    pub(super) attributes: Vec<(String, Option<AnyValue>)>,
    /// The attribute whose numeric value is summed (the `sum` connector); `None` counts the items.
    pub(super) source: Option<String>,
}

/// What one item adds to a definition: the attribute values it is split by, and its amount (its source
/// attribute's value, for a sum).
struct Measure {
    dimensions: Vec<Dimension>,
    amount: f64,
}

/// A count and a sum, per set of attribute values.
#[derive(Debug, Clone, Copy, Default)]
struct Total {
    count: u64,
    sum: f64,
}

/// A source attribute's value as a number: an integer, a double, or text that reads as one, as otelcol's `sum`
/// takes it; anything else is no amount.
fn amount(value: &AnyValue) -> Option<f64> {
    match &value.value {
        Some(any_value::Value::IntValue(i)) => Some(*i as f64),
        Some(any_value::Value::DoubleValue(d)) => Some(*d),
        Some(any_value::Value::StringValue(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An attribute value a count is split by, ordered so that counts come out in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Dimension {
    Int(i64),
    /// The bits of an `f64`.
    Double(u64),
    Str(String),
}

impl Dimension {
    /// As otelcol keeps it: ints and doubles as they are, anything else as a string.
    fn of(value: &AnyValue) -> Self {
        match &value.value {
            Some(any_value::Value::IntValue(i)) => Dimension::Int(*i),
            Some(any_value::Value::DoubleValue(d)) => Dimension::Double(d.to_bits()),
            _ => Dimension::Str(otlp_ottl::Value::from_any(value).as_string().into_owned()),
        }
    }

    fn value(&self) -> any_value::Value {
        match self {
            Dimension::Int(i) => any_value::Value::IntValue(*i),
            Dimension::Double(bits) => any_value::Value::DoubleValue(f64::from_bits(*bits)),
            Dimension::Str(s) => any_value::Value::StringValue(s.clone()),
        }
    }
}

/// The counts of one kind under one resource.
#[derive(Default)]
struct Tally {
    /// Per definition, the total of each set of attribute values.
    counts: Vec<BTreeMap<Vec<Dimension>, Total>>,
    /// The earliest and latest non-zero timestamps of the items seen, counted or not.
    first: u64,
    last: u64,
}

impl Tally {
    fn new(definitions: usize) -> Self {
        Tally {
            counts: vec![BTreeMap::new(); definitions],
            first: 0,
            last: 0,
        }
    }

    fn saw(&mut self, timestamp: u64) {
        if timestamp == 0 {
            return;
        }
        if self.first == 0 || timestamp < self.first {
            self.first = timestamp;
        }
        self.last = self.last.max(timestamp);
    }

    fn is_empty(&self) -> bool {
        self.counts.iter().all(BTreeMap::is_empty)
    }
}

/// The counts of every kind a signal has, and how many conditions failed on an item (not counted).
pub(in crate::connector) struct Counts {
    kinds: Vec<(Kind, Vec<Definition>)>,
    /// otelcol-contrib's scope of the connector's metrics, so that queries written against its output find ours.
    scope: &'static str,
}

/// Where the attributes a count is split by are looked up for one item.
trait AttributeLookup {
    /// The value of the first attribute named `key` on the item, then its scope, then its resource; `None` when
    /// none has the key, or the first that has it has no value.
    fn find(&self, key: &str) -> Option<Cow<'_, AnyValue>>;
}

/// The attributes of a decoded item, its scope and its resource.
struct Scopes<'a> {
    item: &'a [KeyValue],
    scope: &'a [KeyValue],
    resource: &'a [KeyValue],
}

impl AttributeLookup for Scopes<'_> {
    fn find(&self, key: &str) -> Option<Cow<'_, AnyValue>> {
        [self.item, self.scope, self.resource]
            .into_iter()
            .flat_map(|attributes| attributes.iter())
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .map(Cow::Borrowed)
    }
}

impl Counts {
    pub(in crate::connector) fn new(
        kinds: Vec<(Kind, Vec<Definition>)>,
        scope: &'static str,
    ) -> Self {
        Counts { kinds, scope }
    }

    fn definitions(&self, kind: Kind) -> &[Definition] {
        self.kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(&[], |(_, definitions)| definitions.as_slice())
    }

    /// Per definition of `kind`, what the item adds: `None` when it lacks an attribute the definition splits by
    /// and has no default for, or the number a sum adds (the item is not counted there).
    fn dimensions(&self, kind: Kind, lookup: &impl AttributeLookup) -> Vec<Option<Measure>> {
        self.definitions(kind)
            .iter()
            .map(|definition| {
                let amount = match &definition.source {
                    None => 1.0,
                    Some(source) => amount(lookup.find(source)?.as_ref())?,
                };
                let dimensions = definition
                    .attributes
                    .iter()
                    .map(|(key, default)| {
                        lookup
                            .find(key)
                            .or_else(|| default.as_ref().map(Cow::Borrowed))
                            .map(|value| Dimension::of(&value))
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(Measure { dimensions, amount })
            })
            .collect()
    }

    /// A fresh tally for every kind the signal's counts have.
    fn new_tallies(&self) -> Vec<(Kind, Tally)> {
        self.kinds
            .iter()
            .map(|(kind, definitions)| (*kind, Tally::new(definitions.len())))
            .collect()
    }

    /// Whether a definition of `kind` has conditions to run on an item with `dimensions`.
    fn needs_context(&self, kind: Kind, dimensions: &[Option<Measure>]) -> bool {
        self.definitions(kind)
            .iter()
            .zip(dimensions)
            .any(|(definition, dims)| dims.is_some() && !definition.conditions.is_empty())
    }

    /// Counts one item into `tally` for every definition of its kind whose conditions hold on `context` (a
    /// condition that fails counts as not holding, and in `errors`).
    fn tally(
        &self,
        kind: Kind,
        tally: &mut Tally,
        dimensions: Vec<Option<Measure>>,
        context: Option<&TransformContext<'_>>,
        errors: &mut usize,
    ) {
        let definitions = self.definitions(kind);
        for ((definition, dims), counts) in
            definitions.iter().zip(dimensions).zip(&mut tally.counts)
        {
            let Some(measure) = dims else { continue };
            let holds = definition.conditions.is_empty()
                || context.is_some_and(|ctx| {
                    definition
                        .conditions
                        .iter()
                        .any(|condition| match condition.eval(ctx) {
                            Ok(holds) => holds,
                            Err(_) => {
                                *errors += 1;
                                false
                            }
                        })
                });
            if holds {
                let total = counts.entry(measure.dimensions).or_default();
                total.count += 1;
                total.sum += measure.amount;
            }
        }
    }

    /// The counts of `request` as a metrics batch (empty when nothing was counted).
    pub(super) fn count(&self, request: AnyRequest, id: &str) -> Batch {
        let mut errors = 0;
        let mut out = ExportMetricsServiceRequest::default();
        let mut cache = Vec::new();
        match request {
            AnyRequest::Traces(mut request) => {
                for rs in &mut request.resource_spans {
                    let mut tallies = self.new_tallies();
                    let resource_attributes = attributes_of(&rs.resource);
                    let mut resource = ResourceParts {
                        resource: &mut rs.resource,
                        schema_url: &mut rs.schema_url,
                    };
                    for ss in &mut rs.scope_spans {
                        let scope_attributes = ss
                            .scope
                            .as_ref()
                            .map(|s| s.attributes.clone())
                            .unwrap_or_default();
                        let mut scope = ScopeParts {
                            scope: &mut ss.scope,
                            schema_url: &mut ss.schema_url,
                        };
                        for span in &mut ss.spans {
                            let mut events = std::mem::take(&mut span.events);
                            if let Some(tally) = tally_of(&mut tallies, Kind::Spans) {
                                tally.saw(span.start_time_unix_nano);
                                tally.saw(span.end_time_unix_nano);
                                let dims = self.dimensions(
                                    Kind::Spans,
                                    &Scopes {
                                        item: &span.attributes,
                                        scope: &scope_attributes,
                                        resource: &resource_attributes,
                                    },
                                );
                                let ctx = self.needs_context(Kind::Spans, &dims).then(|| {
                                    cache.clear();
                                    TransformContext::for_span(
                                        resource.reborrow(),
                                        scope.reborrow(),
                                        span,
                                        &mut cache,
                                    )
                                });
                                self.tally(Kind::Spans, tally, dims, ctx.as_ref(), &mut errors);
                            }
                            if let Some(tally) = tally_of(&mut tallies, Kind::SpanEvents) {
                                for (index, event) in events.iter_mut().enumerate() {
                                    tally.saw(event.time_unix_nano);
                                    let dims = self.dimensions(
                                        Kind::SpanEvents,
                                        &Scopes {
                                            item: &event.attributes,
                                            scope: &scope_attributes,
                                            resource: &resource_attributes,
                                        },
                                    );
                                    let ctx =
                                        self.needs_context(Kind::SpanEvents, &dims).then(|| {
                                            cache.clear();
                                            TransformContext::for_span_event(
                                                resource.reborrow(),
                                                scope.reborrow(),
                                                span,
                                                event,
                                                index,
                                                &mut cache,
                                            )
                                        });
                                    self.tally(
                                        Kind::SpanEvents,
                                        tally,
                                        dims,
                                        ctx.as_ref(),
                                        &mut errors,
                                    );
                                }
                            }
                            span.events = events;
                        }
                    }
                    push_resource(&mut out, resource_attributes, tallies, self);
                }
            }
            AnyRequest::Metrics(mut request) => {
                for rm in &mut request.resource_metrics {
                    let mut tallies = self.new_tallies();
                    let resource_attributes = attributes_of(&rm.resource);
                    let mut resource = ResourceParts {
                        resource: &mut rm.resource,
                        schema_url: &mut rm.schema_url,
                    };
                    for sm in &mut rm.scope_metrics {
                        let scope_attributes = sm
                            .scope
                            .as_ref()
                            .map(|s| s.attributes.clone())
                            .unwrap_or_default();
                        let mut scope = ScopeParts {
                            scope: &mut sm.scope,
                            schema_url: &mut sm.schema_url,
                        };
                        for metric in &mut sm.metrics {
                            if let Some(tally) = tally_of(&mut tallies, Kind::Metrics) {
                                let dims = self.dimensions(
                                    Kind::Metrics,
                                    &Scopes {
                                        item: &[],
                                        scope: &scope_attributes,
                                        resource: &resource_attributes,
                                    },
                                );
                                let ctx = self.needs_context(Kind::Metrics, &dims).then(|| {
                                    cache.clear();
                                    TransformContext::for_metric(
                                        resource.reborrow(),
                                        scope.reborrow(),
                                        metric,
                                        &mut cache,
                                    )
                                });
                                self.tally(Kind::Metrics, tally, dims, ctx.as_ref(), &mut errors);
                            }
                            if let Some(tally) = tally_of(&mut tallies, Kind::DataPoints) {
                                // The visit never fails, so neither does the walk.
                                let _ = for_each_point(metric, |metric, point| {
                                    let (attributes, time) = point_attributes(&point);
                                    tally.saw(time);
                                    let dims = self.dimensions(
                                        Kind::DataPoints,
                                        &Scopes {
                                            item: attributes,
                                            scope: &scope_attributes,
                                            resource: &resource_attributes,
                                        },
                                    );
                                    let ctx =
                                        self.needs_context(Kind::DataPoints, &dims).then(|| {
                                            cache.clear();
                                            TransformContext::for_data_point(
                                                resource.reborrow(),
                                                scope.reborrow(),
                                                metric,
                                                point,
                                                &mut cache,
                                            )
                                        });
                                    self.tally(
                                        Kind::DataPoints,
                                        tally,
                                        dims,
                                        ctx.as_ref(),
                                        &mut errors,
                                    );
                                    Ok(())
                                });
                            }
                        }
                    }
                    push_resource(&mut out, resource_attributes, tallies, self);
                }
            }
            AnyRequest::Logs(mut request) => {
                for rl in &mut request.resource_logs {
                    let mut tallies = self.new_tallies();
                    let resource_attributes = attributes_of(&rl.resource);
                    let mut resource = ResourceParts {
                        resource: &mut rl.resource,
                        schema_url: &mut rl.schema_url,
                    };
                    for sl in &mut rl.scope_logs {
                        let scope_attributes = sl
                            .scope
                            .as_ref()
                            .map(|s| s.attributes.clone())
                            .unwrap_or_default();
                        let mut scope = ScopeParts {
                            scope: &mut sl.scope,
                            schema_url: &mut sl.schema_url,
                        };
                        for record in &mut sl.log_records {
                            if let Some(tally) = tally_of(&mut tallies, Kind::Logs) {
                                tally.saw(record.time_unix_nano);
                                let dims = self.dimensions(
                                    Kind::Logs,
                                    &Scopes {
                                        item: &record.attributes,
                                        scope: &scope_attributes,
                                        resource: &resource_attributes,
                                    },
                                );
                                let ctx = self.needs_context(Kind::Logs, &dims).then(|| {
                                    cache.clear();
                                    TransformContext::for_log(
                                        resource.reborrow(),
                                        scope.reborrow(),
                                        record,
                                        &mut cache,
                                    )
                                });
                                self.tally(Kind::Logs, tally, dims, ctx.as_ref(), &mut errors);
                            }
                        }
                    }
                    push_resource(&mut out, resource_attributes, tallies, self);
                }
            }
        }
        if errors > 0 {
            tracing::warn!(connector = %id, items = errors, "a condition failed on these items; they were not counted");
        }
        Batch::new(out)
    }
}

/// A copy of the resource's attributes (none for a missing resource).
pub(in crate::connector) fn attributes_of(resource: &Option<Resource>) -> Vec<KeyValue> {
    resource
        .as_ref()
        .map(|r| r.attributes.clone())
        .unwrap_or_default()
}

/// A data point's attributes and time.
pub(in crate::connector) fn point_attributes<'a>(
    point: &'a DataPointMut<'_>,
) -> (&'a [KeyValue], u64) {
    match point {
        DataPointMut::Number(p) => (&p.attributes, p.time_unix_nano),
        DataPointMut::Histogram(p) => (&p.attributes, p.time_unix_nano),
        DataPointMut::ExponentialHistogram(p) => (&p.attributes, p.time_unix_nano),
        DataPointMut::Summary(p) => (&p.attributes, p.time_unix_nano),
    }
}

/// The tally of `kind`, when the signal's counts include it.
fn tally_of(tallies: &mut [(Kind, Tally)], kind: Kind) -> Option<&mut Tally> {
    tallies
        .iter_mut()
        .find(|(k, _)| *k == kind)
        .map(|(_, tally)| tally)
}

/// The counts of one resource as its `ResourceMetrics`, unless nothing was counted.
fn push_resource(
    out: &mut ExportMetricsServiceRequest,
    resource_attributes: Vec<KeyValue>,
    tallies: Vec<(Kind, Tally)>,
    counts: &Counts,
) {
    if tallies.iter().all(|(_, tally)| tally.is_empty()) {
        return;
    }
    let mut metrics = Vec::new();
    for (kind, tally) in tallies {
        let (start, time) = match tally.first {
            0 => {
                let now = now_nanos();
                (now, now)
            }
            first => (first, tally.last),
        };
        for (definition, counted) in counts.definitions(kind).iter().zip(tally.counts) {
            if counted.is_empty() {
                continue;
            }
            let data_points = counted
                .into_iter()
                .map(|(dims, total)| NumberDataPoint {
                    attributes: definition
                        .attributes
                        .iter()
                        .zip(dims)
                        .map(|((key, _), dim)| KeyValue {
                            key: key.clone(),
                            value: Some(AnyValue {
                                value: Some(dim.value()),
                            }),
                            ..Default::default()
                        })
                        .collect(),
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    value: Some(match definition.source {
                        None => number_data_point::Value::AsInt(
                            i64::try_from(total.count).unwrap_or(i64::MAX),
                        ),
                        Some(_) => number_data_point::Value::AsDouble(total.sum),
                    }),
                    ..Default::default()
                })
                .collect();
            metrics.push(Metric {
                name: definition.name.clone(),
                description: definition.description.clone(),
                data: Some(metric::Data::Sum(Sum {
                    data_points,
                    aggregation_temporality: AggregationTemporality::Delta as i32,
                    // Counts only grow, so what a consumer accumulates from these deltas is monotonic; otelcol's
                    // `sum` says the same of its sums (a negative amount makes a decreasing "counter" there too).
                    is_monotonic: true,
                })),
                ..Default::default()
            });
        }
    }
    out.resource_metrics.push(super::super::resource_metrics(
        resource_attributes,
        counts.scope,
        metrics,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Histogram, HistogramDataPoint, ResourceMetrics, ScopeMetrics,
    };
    use otlp_ottl::{ContextKind, parse_condition};

    fn point(env: &str, time: u64) -> NumberDataPoint {
        NumberDataPoint {
            attributes: vec![KeyValue {
                key: "env".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(env.into())),
                }),
                ..Default::default()
            }],
            time_unix_nano: time,
            ..Default::default()
        }
    }

    #[test]
    fn metrics_and_their_data_points_are_counted_by_condition_and_attribute_over_every_kind_of_point()
     {
        let counts = Counts::new(
            vec![
                (
                    Kind::Metrics,
                    vec![Definition {
                        name: "gauges".into(),
                        description: String::new(),
                        conditions: vec![
                            parse_condition(ContextKind::Metric, "type == METRIC_DATA_TYPE_GAUGE")
                                .unwrap(),
                        ],
                        attributes: Vec::new(),
                        source: None,
                    }],
                ),
                (
                    Kind::DataPoints,
                    vec![Definition {
                        name: "points".into(),
                        description: String::new(),
                        conditions: vec![
                            parse_condition(
                                ContextKind::DataPoint,
                                r#"attributes["env"] != "test""#,
                            )
                            .unwrap(),
                        ],
                        attributes: vec![("env".into(), None)],
                        source: None,
                    }],
                ),
            ],
            "test",
        );
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![
                        Metric {
                            name: "queue.depth".into(),
                            data: Some(metric::Data::Gauge(Gauge {
                                data_points: vec![
                                    point("prod", 30),
                                    point("test", 10),
                                    point("prod", 20),
                                ],
                            })),
                            ..Default::default()
                        },
                        Metric {
                            name: "latency".into(),
                            data: Some(metric::Data::Histogram(Histogram {
                                data_points: vec![HistogramDataPoint {
                                    attributes: point("dev", 0).attributes,
                                    time_unix_nano: 40,
                                    ..Default::default()
                                }],
                                ..Default::default()
                            })),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let batch = counts.count(AnyRequest::Metrics(request), "count");
        let Some(out) = batch.get::<ExportMetricsServiceRequest>() else {
            panic!("not metrics");
        };
        let metrics = &out.resource_metrics[0].scope_metrics[0].metrics;
        let values = |index: usize| -> Vec<(String, i64, u64, u64)> {
            let Some(metric::Data::Sum(sum)) = &metrics[index].data else {
                panic!("not a sum");
            };
            sum.data_points
                .iter()
                .map(|p| {
                    let env = p
                        .attributes
                        .first()
                        .map(|kv| format!("{:?}", kv.value))
                        .unwrap_or_default();
                    let Some(number_data_point::Value::AsInt(n)) = p.value else {
                        panic!()
                    };
                    (env, n, p.start_time_unix_nano, p.time_unix_nano)
                })
                .collect()
        };
        assert_eq!(metrics[0].name, "gauges");
        let gauges = values(0);
        assert_eq!(gauges.len(), 1);
        assert_eq!(gauges[0].1, 1);
        assert_eq!(metrics[1].name, "points");
        let points: Vec<(String, i64)> = values(1)
            .into_iter()
            .map(|(env, n, start, time)| {
                // Every point seen spans the interval, counted or not.
                assert_eq!((start, time), (10, 40));
                (env, n)
            })
            .collect();
        assert_eq!(points.len(), 2);
        assert!(
            points[0].0.contains("dev") && points[0].1 == 1,
            "{points:?}"
        );
        assert!(
            points[1].0.contains("prod") && points[1].1 == 2,
            "{points:?}"
        );
    }
}
