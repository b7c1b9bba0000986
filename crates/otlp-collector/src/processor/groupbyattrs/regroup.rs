//! Moving records under the resource their grouping attributes name: each span, log record or data point loses
//! the attributes whose keys are configured, and goes under a resource made of its old resource's attributes and
//! those. Records whose resources end up equal share one; within a resource, records of equal scopes share one.
//!
//! otelcol compares resources by their attributes alone and scopes by name and version, so records of resources
//! or scopes that differ otherwise (a schema URL, a dropped-attributes count, scope attributes) would be merged and
//! lose that. Here those take part in the comparison too, and nothing a record was sent with is lost.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    metric::Data,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message;
use std::collections::HashMap;

/// How many records were moved and how many resources came out, for the processor's self-metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Regrouped {
    /// Records that had at least one of the keys.
    pub grouped: u64,
    /// Records that had none.
    pub not_grouped: u64,
    /// Resources of the request after regrouping.
    pub resources: usize,
}

/// The configured keys, in order, empty keys and repeats left out.
#[derive(Debug, Clone)]
pub(super) struct Keys(Vec<String>);

impl Keys {
    pub(super) fn new(keys: &[String]) -> Self {
        let mut kept: Vec<String> = Vec::with_capacity(keys.len());
        for key in keys {
            if !key.is_empty() && !kept.contains(key) {
                kept.push(key.clone());
            }
        }
        Keys(kept)
    }

    /// Removes the keys from `attributes` (every occurrence of each) and returns them with the first value of
    /// each, in the configured order.
    fn take(&self, attributes: &mut Vec<KeyValue>) -> Vec<KeyValue> {
        let mut moved = Vec::new();
        for key in &self.0 {
            if let Some(at) = attributes.iter().position(|kv| kv.key == *key) {
                moved.push(attributes.remove(at));
            }
        }
        if !moved.is_empty() {
            attributes.retain(|kv| !self.0.contains(&kv.key));
        }
        moved
    }
}

/// The resources of a regrouped request of one signal: `R` is its `Resource*` message.
struct Resources<R> {
    out: Vec<R>,
    /// Output resource by its identity ([`identity`]).
    by_identity: HashMap<Vec<u8>, usize>,
}

impl<R> Resources<R> {
    fn new() -> Self {
        Resources {
            out: Vec::new(),
            by_identity: HashMap::new(),
        }
    }

    /// The index of the output resource for records of `resource` that carried `moved`, made by `make` when it
    /// is new.
    fn find_or_add(
        &mut self,
        resource: Option<&Resource>,
        schema_url: &str,
        moved: &[KeyValue],
        make: impl FnOnce(Option<Resource>, String) -> R,
    ) -> usize {
        let merged = merge(resource, moved);
        let identity = identity(merged.as_ref(), schema_url);
        if let Some(&index) = self.by_identity.get(&identity) {
            return index;
        }
        self.out.push(make(merged, schema_url.to_owned()));
        self.by_identity.insert(identity, self.out.len() - 1);
        self.out.len() - 1
    }
}

/// Output resources by the input resource they come from and the attributes moved to it, so that merging and
/// comparing resources is done once per distinct pair in a request, not once per record.
struct Shortcuts {
    /// Input resources' identities, numbered.
    inputs: HashMap<Vec<u8>, u32>,
    /// Output resource by input resource number and encoded moved attributes.
    outputs: HashMap<Vec<u8>, usize>,
    key: Vec<u8>,
}

impl Shortcuts {
    fn new() -> Self {
        Shortcuts {
            inputs: HashMap::new(),
            outputs: HashMap::new(),
            key: Vec::new(),
        }
    }

    /// The number of an input resource, the same for equal resources.
    fn input(&mut self, resource: Option<&Resource>, schema_url: &str) -> u32 {
        let next = self.inputs.len() as u32;
        *self
            .inputs
            .entry(identity(resource, schema_url))
            .or_insert(next)
    }

    /// The index of the output resource of the records of input `input` (`resource` under `schema_url`) that
    /// carried `moved`.
    fn output<R>(
        &mut self,
        resources: &mut Resources<R>,
        (input, resource, schema_url): (u32, Option<&Resource>, &str),
        moved: &[KeyValue],
        make: impl FnOnce(Option<Resource>, String) -> R,
    ) -> usize {
        self.key.clear();
        self.key.extend_from_slice(&input.to_le_bytes());
        for kv in moved {
            // Encoding into a Vec cannot fail.
            let _ = kv.encode_length_delimited(&mut self.key);
        }
        if let Some(&index) = self.outputs.get(self.key.as_slice()) {
            return index;
        }
        let index = resources.find_or_add(resource, schema_url, moved, make);
        self.outputs.insert(self.key.clone(), index);
        index
    }
}

/// `resource` with `moved` set on it (a moved value replaces the resource's own).
fn merge(resource: Option<&Resource>, moved: &[KeyValue]) -> Option<Resource> {
    if moved.is_empty() {
        return resource.cloned();
    }
    let mut merged = resource.cloned().unwrap_or_default();
    for kv in moved {
        match merged.attributes.iter_mut().find(|own| own.key == kv.key) {
            Some(own) => own.value = kv.value.clone(),
            None => merged.attributes.push(kv.clone()),
        }
    }
    Some(merged)
}

/// What makes two resources the same: their attributes in any order, everything else about them, and the schema
/// URL they were sent under. Every part is length-delimited and the resource's last, so that different resources
/// never encode alike.
fn identity(resource: Option<&Resource>, schema_url: &str) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_varint(schema_url.len() as u64, &mut out);
    out.extend_from_slice(schema_url.as_bytes());
    if let Some(resource) = resource {
        let mut attributes: Vec<&KeyValue> = resource.attributes.iter().collect();
        attributes.sort_by(|a, b| a.key.cmp(&b.key));
        out.push(1);
        // Encoding into a Vec cannot fail.
        for kv in attributes {
            let _ = kv.encode_length_delimited(&mut out);
        }
        let rest = Resource {
            attributes: Vec::new(),
            dropped_attributes_count: resource.dropped_attributes_count,
            entity_refs: resource.entity_refs.clone(),
        };
        let _ = rest.encode_length_delimited(&mut out);
    }
    out
}

/// The index of the scope in `scopes` equal to `scope` (and sent under the same schema URL), added with `make`
/// when there is none.
fn scope_index<S>(
    scopes: &mut Vec<S>,
    same: impl Fn(&S) -> bool,
    make: impl FnOnce() -> S,
) -> usize {
    match scopes.iter().position(same) {
        Some(index) => index,
        None => {
            scopes.push(make());
            scopes.len() - 1
        }
    }
}

/// The output scopes of the records of one input scope, by output resource: a scope's records go to a few
/// resources, so a short list beats comparing scopes again.
struct OutputScopes(Vec<(usize, usize)>);

impl OutputScopes {
    fn get<S>(
        &mut self,
        resource: usize,
        scopes: &mut Vec<S>,
        same: impl Fn(&S) -> bool,
        make: impl FnOnce() -> S,
    ) -> usize {
        if let Some(&(_, scope)) = self.0.iter().find(|(r, _)| *r == resource) {
            return scope;
        }
        let scope = scope_index(scopes, same, make);
        self.0.push((resource, scope));
        scope
    }
}

fn same_scope(
    a: &Option<InstrumentationScope>,
    a_url: &str,
    b: &Option<InstrumentationScope>,
    b_url: &str,
) -> bool {
    a == b && a_url == b_url
}

fn count(regrouped: &mut Regrouped, moved: &[KeyValue]) {
    if moved.is_empty() {
        regrouped.not_grouped += 1;
    } else {
        regrouped.grouped += 1;
    }
}

/// Regroups the spans of `request` by `keys`.
pub(super) fn traces(keys: &Keys, request: &mut ExportTraceServiceRequest) -> Regrouped {
    let mut stats = Regrouped::default();
    let mut resources = Resources::<ResourceSpans>::new();
    let mut shortcuts = Shortcuts::new();
    for rs in std::mem::take(&mut request.resource_spans) {
        let input = shortcuts.input(rs.resource.as_ref(), &rs.schema_url);
        for ss in rs.scope_spans {
            let mut scopes_of_input = OutputScopes(Vec::new());
            for mut span in ss.spans {
                let moved = keys.take(&mut span.attributes);
                count(&mut stats, &moved);
                let index = shortcuts.output(
                    &mut resources,
                    (input, rs.resource.as_ref(), &rs.schema_url),
                    &moved,
                    |resource, schema_url| ResourceSpans {
                        resource,
                        scope_spans: Vec::new(),
                        schema_url,
                    },
                );
                let scopes = &mut resources.out[index].scope_spans;
                let scope = scopes_of_input.get(
                    index,
                    scopes,
                    |s| same_scope(&s.scope, &s.schema_url, &ss.scope, &ss.schema_url),
                    || ScopeSpans {
                        scope: ss.scope.clone(),
                        spans: Vec::new(),
                        schema_url: ss.schema_url.clone(),
                    },
                );
                scopes[scope].spans.push(span);
            }
        }
    }
    stats.resources = resources.out.len();
    request.resource_spans = resources.out;
    stats
}

/// Regroups the log records of `request` by `keys`.
pub(super) fn logs(keys: &Keys, request: &mut ExportLogsServiceRequest) -> Regrouped {
    let mut stats = Regrouped::default();
    let mut resources = Resources::<ResourceLogs>::new();
    let mut shortcuts = Shortcuts::new();
    for rl in std::mem::take(&mut request.resource_logs) {
        let input = shortcuts.input(rl.resource.as_ref(), &rl.schema_url);
        for sl in rl.scope_logs {
            let mut scopes_of_input = OutputScopes(Vec::new());
            for mut record in sl.log_records {
                let moved = keys.take(&mut record.attributes);
                count(&mut stats, &moved);
                let index = shortcuts.output(
                    &mut resources,
                    (input, rl.resource.as_ref(), &rl.schema_url),
                    &moved,
                    |resource, schema_url| ResourceLogs {
                        resource,
                        scope_logs: Vec::new(),
                        schema_url,
                    },
                );
                let scopes = &mut resources.out[index].scope_logs;
                let scope = scopes_of_input.get(
                    index,
                    scopes,
                    |s| same_scope(&s.scope, &s.schema_url, &sl.scope, &sl.schema_url),
                    || ScopeLogs {
                        scope: sl.scope.clone(),
                        log_records: Vec::new(),
                        schema_url: sl.schema_url.clone(),
                    },
                );
                scopes[scope].log_records.push(record);
            }
        }
    }
    stats.resources = resources.out.len();
    request.resource_logs = resources.out;
    stats
}

/// What kind of metric `data` makes and how its points aggregate: points of metrics that differ in this cannot be
/// one metric's.
fn shape(data: Option<&Data>) -> (u8, i32, bool) {
    match data {
        None => (0, 0, false),
        Some(Data::Gauge(_)) => (1, 0, false),
        Some(Data::Sum(sum)) => (2, sum.aggregation_temporality, sum.is_monotonic),
        Some(Data::Histogram(histogram)) => (3, histogram.aggregation_temporality, false),
        Some(Data::ExponentialHistogram(histogram)) => {
            (4, histogram.aggregation_temporality, false)
        }
        Some(Data::Summary(_)) => (5, 0, false),
    }
}

/// Whether the points of `a` and `b` can be one metric's: the same metric but for the points.
fn same_metric(a: &Metric, b: &Metric) -> bool {
    a.name == b.name
        && a.description == b.description
        && a.unit == b.unit
        && a.metadata == b.metadata
        && shape(a.data.as_ref()) == shape(b.data.as_ref())
}

/// A metric like `metric` without its data points: where its points go in another resource.
fn empty_like(metric: &Metric) -> Metric {
    let data = metric.data.as_ref().map(|data| match data {
        Data::Gauge(_) => Data::Gauge(Gauge::default()),
        Data::Sum(sum) => Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: sum.aggregation_temporality,
            is_monotonic: sum.is_monotonic,
        }),
        Data::Histogram(histogram) => Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: histogram.aggregation_temporality,
        }),
        Data::ExponentialHistogram(histogram) => Data::ExponentialHistogram(ExponentialHistogram {
            data_points: Vec::new(),
            aggregation_temporality: histogram.aggregation_temporality,
        }),
        Data::Summary(_) => Data::Summary(Summary::default()),
    });
    Metric {
        name: metric.name.clone(),
        description: metric.description.clone(),
        unit: metric.unit.clone(),
        metadata: metric.metadata.clone(),
        data,
    }
}

/// One data point, of any type.
enum Point {
    Number(NumberDataPoint),
    Histogram(HistogramDataPoint),
    ExponentialHistogram(ExponentialHistogramDataPoint),
    Summary(SummaryDataPoint),
}

impl Point {
    /// The points of a metric's data, taken out of it.
    fn take_all(data: &mut Option<Data>) -> Vec<Point> {
        match data {
            None => Vec::new(),
            Some(Data::Gauge(d)) => std::mem::take(&mut d.data_points)
                .into_iter()
                .map(Point::Number)
                .collect(),
            Some(Data::Sum(d)) => std::mem::take(&mut d.data_points)
                .into_iter()
                .map(Point::Number)
                .collect(),
            Some(Data::Histogram(d)) => std::mem::take(&mut d.data_points)
                .into_iter()
                .map(Point::Histogram)
                .collect(),
            Some(Data::ExponentialHistogram(d)) => std::mem::take(&mut d.data_points)
                .into_iter()
                .map(Point::ExponentialHistogram)
                .collect(),
            Some(Data::Summary(d)) => std::mem::take(&mut d.data_points)
                .into_iter()
                .map(Point::Summary)
                .collect(),
        }
    }

    fn attributes(&mut self) -> &mut Vec<KeyValue> {
        match self {
            Point::Number(p) => &mut p.attributes,
            Point::Histogram(p) => &mut p.attributes,
            Point::ExponentialHistogram(p) => &mut p.attributes,
            Point::Summary(p) => &mut p.attributes,
        }
    }

    /// Adds the point to `data`, which came from the point's own metric (the same type).
    fn push_into(self, data: &mut Option<Data>) {
        match (self, data) {
            (Point::Number(p), Some(Data::Gauge(d))) => d.data_points.push(p),
            (Point::Number(p), Some(Data::Sum(d))) => d.data_points.push(p),
            (Point::Histogram(p), Some(Data::Histogram(d))) => d.data_points.push(p),
            (Point::ExponentialHistogram(p), Some(Data::ExponentialHistogram(d))) => {
                d.data_points.push(p)
            }
            (Point::Summary(p), Some(Data::Summary(d))) => d.data_points.push(p),
            // The output metric was made by `empty_like` from the point's metric, or matched it by `shape`.
            _ => {}
        }
    }
}

/// Regroups the data points of `request` by `keys`, each metric split between the resources its points go to.
pub(super) fn metrics(keys: &Keys, request: &mut ExportMetricsServiceRequest) -> Regrouped {
    let mut stats = Regrouped::default();
    let mut resources = Resources::<ResourceMetrics>::new();
    let mut shortcuts = Shortcuts::new();
    for rm in std::mem::take(&mut request.resource_metrics) {
        let input = shortcuts.input(rm.resource.as_ref(), &rm.schema_url);
        for sm in rm.scope_metrics {
            let mut scopes_of_input = OutputScopes(Vec::new());
            for mut metric in sm.metrics {
                let points = Point::take_all(&mut metric.data);
                // (resource, scope, metric) of the previous point of this metric.
                let mut target: Option<(usize, usize, usize)> = None;
                for mut point in points {
                    let moved = keys.take(point.attributes());
                    count(&mut stats, &moved);
                    let index = shortcuts.output(
                        &mut resources,
                        (input, rm.resource.as_ref(), &rm.schema_url),
                        &moved,
                        |resource, schema_url| ResourceMetrics {
                            resource,
                            scope_metrics: Vec::new(),
                            schema_url,
                        },
                    );
                    let scopes = &mut resources.out[index].scope_metrics;
                    let (scope, at) = match target {
                        Some((resource, scope, at)) if resource == index => (scope, at),
                        _ => {
                            let scope = scopes_of_input.get(
                                index,
                                scopes,
                                |s| same_scope(&s.scope, &s.schema_url, &sm.scope, &sm.schema_url),
                                || ScopeMetrics {
                                    scope: sm.scope.clone(),
                                    metrics: Vec::new(),
                                    schema_url: sm.schema_url.clone(),
                                },
                            );
                            let metrics = &mut scopes[scope].metrics;
                            let at = scope_index(
                                metrics,
                                |m| same_metric(m, &metric),
                                || empty_like(&metric),
                            );
                            (scope, at)
                        }
                    };
                    target = Some((index, scope, at));
                    point.push_into(&mut scopes[scope].metrics[at].data);
                }
            }
        }
    }
    stats.resources = resources.out.len();
    request.resource_metrics = resources.out;
    stats
}

#[cfg(test)]
mod tests;
