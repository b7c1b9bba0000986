//! The latest point of each stream since the last send, in a request built as points arrive: each resource, scope
//! and metric once, in the order they first came.

use crate::processor::stream_key;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, Gauge, Histogram, Metric, ResourceMetrics, ScopeMetrics, Sum, Summary,
    metric::Data,
};
use std::collections::HashMap;

/// What is held until the next send.
#[derive(Default)]
pub(super) struct Held {
    request: ExportMetricsServiceRequest,
    resources: HashMap<Vec<u8>, usize>,
    scopes: HashMap<Vec<u8>, usize>,
    metrics: HashMap<Vec<u8>, usize>,
    /// A stream's key, the index of its point in its metric, and the point's time.
    points: HashMap<Vec<u8>, (usize, u64)>,
}

/// Where a metric's points go, found or made.
struct Place {
    at: (usize, usize, usize),
    key: Vec<u8>,
}

impl Held {
    /// How many streams are held.
    pub(super) fn streams(&self) -> usize {
        self.points.len()
    }

    /// Everything held, leaving nothing.
    pub(super) fn take(&mut self) -> ExportMetricsServiceRequest {
        let request = std::mem::take(&mut self.request);
        *self = Held::default();
        request
    }

    /// Keeps `metric`'s points where they are newer than the held point of their stream (or the first of it).
    pub(super) fn add(&mut self, resource: &ResourceMetrics, scope: &ScopeMetrics, metric: Metric) {
        let place = self.place(resource, scope, &metric);
        let (r, s, m) = place.at;
        let held = &mut self.request.resource_metrics[r].scope_metrics[s].metrics[m].data;
        let points = &mut self.points;
        match (metric.data, held) {
            (Some(Data::Gauge(new)), Some(Data::Gauge(held))) => merge(
                points,
                &place.key,
                new.data_points,
                &mut held.data_points,
                |p| (&p.attributes, p.time_unix_nano),
            ),
            (Some(Data::Sum(new)), Some(Data::Sum(held))) => merge(
                points,
                &place.key,
                new.data_points,
                &mut held.data_points,
                |p| (&p.attributes, p.time_unix_nano),
            ),
            (Some(Data::Histogram(new)), Some(Data::Histogram(held))) => merge(
                points,
                &place.key,
                new.data_points,
                &mut held.data_points,
                |p| (&p.attributes, p.time_unix_nano),
            ),
            (Some(Data::ExponentialHistogram(new)), Some(Data::ExponentialHistogram(held))) => {
                merge(
                    points,
                    &place.key,
                    new.data_points,
                    &mut held.data_points,
                    |p| (&p.attributes, p.time_unix_nano),
                )
            }
            (Some(Data::Summary(new)), Some(Data::Summary(held))) => merge(
                points,
                &place.key,
                new.data_points,
                &mut held.data_points,
                |p| (&p.attributes, p.time_unix_nano),
            ),
            // `place` keys metrics by kind, so a held metric always has the new one's kind.
            _ => {}
        }
    }

    /// The held metric `metric` belongs to, made (without points) if it is the first of its identity.
    fn place(
        &mut self,
        resource: &ResourceMetrics,
        scope: &ScopeMetrics,
        metric: &Metric,
    ) -> Place {
        let mut resource_key = Vec::new();
        stream_key::resource_and_scope(
            &mut resource_key,
            (resource.resource.as_ref(), &resource.schema_url),
            (None, ""),
        );
        let r = *self.resources.entry(resource_key).or_insert_with(|| {
            self.request.resource_metrics.push(ResourceMetrics {
                resource: resource.resource.clone(),
                scope_metrics: Vec::new(),
                schema_url: resource.schema_url.clone(),
            });
            self.request.resource_metrics.len() - 1
        });
        let mut key = Vec::new();
        stream_key::resource_and_scope(
            &mut key,
            (resource.resource.as_ref(), &resource.schema_url),
            (scope.scope.as_ref(), &scope.schema_url),
        );
        let s = *self.scopes.entry(key.clone()).or_insert_with(|| {
            let scopes = &mut self.request.resource_metrics[r].scope_metrics;
            scopes.push(ScopeMetrics {
                scope: scope.scope.clone(),
                metrics: Vec::new(),
                schema_url: scope.schema_url.clone(),
            });
            scopes.len() - 1
        });
        let (kind, temporality, monotonic) = shape(metric);
        stream_key::metric(&mut key, &metric.name, &metric.unit, kind);
        key.push(temporality);
        key.push(u8::from(monotonic));
        let m = *self.metrics.entry(key.clone()).or_insert_with(|| {
            let metrics = &mut self.request.resource_metrics[r].scope_metrics[s].metrics;
            metrics.push(Metric {
                name: metric.name.clone(),
                description: metric.description.clone(),
                unit: metric.unit.clone(),
                metadata: metric.metadata.clone(),
                data: metric.data.as_ref().map(without_points),
            });
            metrics.len() - 1
        });
        Place { at: (r, s, m), key }
    }
}

/// A metric's kind, temporality and monotonicity, which with its name and unit tell it apart.
fn shape(metric: &Metric) -> (u8, u8, bool) {
    let temporality = |t: i32| u8::try_from(t).unwrap_or(u8::MAX);
    match &metric.data {
        Some(Data::Gauge(_)) => (b'g', 0, false),
        Some(Data::Sum(sum)) => (
            b's',
            temporality(sum.aggregation_temporality),
            sum.is_monotonic,
        ),
        Some(Data::Histogram(h)) => (b'h', temporality(h.aggregation_temporality), false),
        Some(Data::ExponentialHistogram(h)) => {
            (b'e', temporality(h.aggregation_temporality), false)
        }
        Some(Data::Summary(_)) => (b'm', 0, false),
        None => (0, 0, false),
    }
}

fn without_points(data: &Data) -> Data {
    match data {
        Data::Gauge(_) => Data::Gauge(Gauge::default()),
        Data::Sum(sum) => Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: sum.aggregation_temporality,
            is_monotonic: sum.is_monotonic,
        }),
        Data::Histogram(h) => Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: h.aggregation_temporality,
        }),
        Data::ExponentialHistogram(h) => Data::ExponentialHistogram(ExponentialHistogram {
            data_points: Vec::new(),
            aggregation_temporality: h.aggregation_temporality,
        }),
        Data::Summary(_) => Data::Summary(Summary::default()),
    }
}

/// Puts each of `new` in `held`: as a stream's first point, or over its held point when newer (a point no newer
/// than the held one is dropped, as otelcol drops it).
fn merge<P>(
    streams: &mut HashMap<Vec<u8>, (usize, u64)>,
    metric_key: &[u8],
    new: Vec<P>,
    held: &mut Vec<P>,
    identity: impl Fn(&P) -> (&Vec<opentelemetry_proto::tonic::common::v1::KeyValue>, u64),
) {
    for point in new {
        let (attributes, time) = identity(&point);
        let mut key = metric_key.to_vec();
        stream_key::attributes(&mut key, attributes);
        match streams.get_mut(&key) {
            Some((at, held_time)) => {
                if time > *held_time {
                    *held_time = time;
                    held[*at] = point;
                }
            }
            None => {
                streams.insert(key, (held.len(), time));
                held.push(point);
            }
        }
    }
}

#[cfg(test)]
mod tests;
