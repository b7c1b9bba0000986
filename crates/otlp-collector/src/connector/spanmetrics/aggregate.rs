//! What `spanmetrics` keeps between flushes: per resource, the series of its `calls`, `duration` and `events`
//! metrics; how spans are counted into them (a series' attributes are built once, when it is new), and how the
//! series are written out as OTLP metrics.

use super::config::{
    Dimension, SERVICE_NAME, SPAN_KIND, SPAN_NAME, STATUS_CODE, Settings, Temporality,
};
use super::encoded::EncodedRequest;
use super::facts::{Lookup, SpanFacts};
use super::key::{Key, resource_key, write_common, write_dimensions};
use crate::histogram::{Buckets, Histogram};
use foldhash::fast::RandomState;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, Histogram as HistogramData, Metric, NumberDataPoint, Sum,
    exemplar, metric, number_data_point,
};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode};
use std::collections::{BTreeMap, HashMap};

const SCOPE_NAME_KEY: &str = "span.instrumentation.scope.name";
const SCOPE_VERSION_KEY: &str = "span.instrumentation.scope.version";
/// The attribute of the series that takes what a full metric has no room for, as the OpenTelemetry SDKs name it.
const OVERFLOW_KEY: &str = "otel.metric.overflow";

struct Series<V> {
    attributes: Vec<KeyValue>,
    /// When the series was created: its cumulative points start here.
    start: u64,
    value: V,
    exemplars: Vec<Exemplar>,
}

/// The series of one metric under one resource.
struct Family<V> {
    series: hashbrown::HashMap<Key, Series<V>, RandomState>,
    /// Where new series go once the metric holds its cardinality limit.
    overflow: Option<Series<V>>,
}

impl<V> Default for Family<V> {
    fn default() -> Self {
        Family {
            series: hashbrown::HashMap::default(),
            overflow: None,
        }
    }
}

impl<V> Family<V> {
    /// The series of `key`, created with `attributes()` and `value()` if new, or the overflow series when the
    /// metric already holds `limit` series.
    fn series(
        &mut self,
        key: &[u8],
        limit: Option<usize>,
        now: u64,
        attributes: impl FnOnce() -> Vec<KeyValue>,
        value: impl FnOnce() -> V,
    ) -> &mut Series<V> {
        let full = limit.is_some_and(|limit| self.series.len() >= limit);
        if full && !self.series.contains_key(key) {
            return self.overflow.get_or_insert_with(|| Series {
                attributes: vec![otlp_ottl::key_value(
                    OVERFLOW_KEY,
                    AnyValue {
                        value: Some(any_value::Value::BoolValue(true)),
                    },
                )],
                start: now,
                value: value(),
                exemplars: Vec::new(),
            });
        }
        self.series.entry_ref(key).or_insert_with(|| Series {
            attributes: attributes(),
            start: now,
            value: value(),
            exemplars: Vec::new(),
        })
    }

    fn is_empty(&self) -> bool {
        self.series.is_empty() && self.overflow.is_none()
    }

    /// Every series in the order of their keys (so that a flush writes the same series in the same order,
    /// whatever the map's), the overflow one last, with its key (`None` for the overflow one).
    fn each(&mut self) -> impl Iterator<Item = (Option<&Key>, &mut Series<V>)> {
        let mut series: Vec<(&Key, &mut Series<V>)> = self.series.iter_mut().collect();
        series.sort_unstable_by(|a, b| a.0.cmp(b.0));
        series
            .into_iter()
            .map(|(key, series)| (Some(key), series))
            .chain(self.overflow.as_mut().map(|series| (None, series)))
    }
}

/// One resource's series.
struct ResourceSeries {
    attributes: Vec<KeyValue>,
    /// When a span of this resource was last counted.
    last_seen: u64,
    calls: Family<u64>,
    durations: Family<Histogram>,
    events: Family<u64>,
}

/// What a span's series are told apart by, besides the configured dimensions.
pub(super) struct SpanParts<'a> {
    pub(super) service: &'a str,
    pub(super) span: SpanFacts<'a>,
    /// The span's scope, when its name and version are dimensions.
    pub(super) scope: Option<&'a InstrumentationScope>,
}

/// The series of every metric, per resource, since the last flush (cumulative: since each series began).
pub(in crate::connector) struct Aggregator {
    settings: Settings,
    resources: BTreeMap<Key, ResourceSeries>,
    /// Delta temporality: when each series was last written, so that its next point starts there.
    delta_starts: HashMap<Key, u64, RandomState>,
    key: Key,
}

impl Aggregator {
    pub(super) fn new(settings: Settings) -> Self {
        Aggregator {
            settings,
            resources: BTreeMap::new(),
            delta_starts: HashMap::default(),
            key: Key::new(),
        }
    }

    /// Counts every span of `request` at time `now` (ns since the epoch); returns how many were not counted
    /// because their resource has no `service.name`.
    pub(in crate::connector) fn aggregate(
        &mut self,
        request: &ExportTraceServiceRequest,
        now: u64,
    ) -> usize {
        request
            .resource_spans
            .iter()
            .map(|rs| {
                let resource = rs
                    .resource
                    .as_ref()
                    .map_or(&[][..], |r| r.attributes.as_slice());
                let scopes = rs
                    .scope_spans
                    .iter()
                    .map(|ss| (ss.scope.as_ref(), ss.spans.iter().map(SpanFacts::decoded)));
                self.count_resource(resource, scopes, now)
            })
            .sum()
    }

    /// [`aggregate`](Self::aggregate) on an encoded request read in place ([`super::encoded::parse`], which callers
    /// sharing the aggregator run before taking it).
    pub(in crate::connector) fn aggregate_encoded(
        &mut self,
        request: &EncodedRequest<'_>,
        now: u64,
    ) -> usize {
        request
            .resources
            .iter()
            .map(|resource| {
                let scopes = resource
                    .scopes
                    .iter()
                    .map(|scope| (scope.scope.as_ref(), scope.spans.iter().copied()));
                self.count_resource(&resource.resource.attributes, scopes, now)
            })
            .sum()
    }

    /// Counts the spans of one resource, scope by scope; returns how many were not counted for want of a
    /// `service.name`.
    fn count_resource<'a, S>(
        &mut self,
        resource_attributes: &'a [KeyValue],
        scopes: impl Iterator<Item = (Option<&'a InstrumentationScope>, S)>,
        now: u64,
    ) -> usize
    where
        S: Iterator<Item = SpanFacts<'a>>,
    {
        let Aggregator {
            settings,
            resources,
            key,
            ..
        } = self;
        let Some(service) = resource_attributes
            .iter()
            .find(|kv| kv.key == SERVICE_NAME)
            .map(|kv| text(kv.value.as_ref()))
        else {
            return scopes.map(|(_, spans)| spans.count()).sum();
        };
        let resource_key = resource_key(resource_attributes, &settings.resource_key_attributes);
        let resource = resources
            .entry(resource_key)
            .or_insert_with(|| ResourceSeries {
                attributes: resource_attributes.to_vec(),
                last_seen: now,
                calls: Family::default(),
                durations: Family::default(),
                events: Family::default(),
            });
        resource.last_seen = now;
        for (scope, spans) in scopes {
            let scope = scope.filter(|scope| {
                !scope.name.is_empty() && settings.include_scopes.contains(&scope.name)
            });
            for span in spans {
                let parts = SpanParts {
                    service: &service,
                    span,
                    scope,
                };
                count_span(settings, resource, key, &parts, resource_attributes, now);
            }
        }
        0
    }

    /// The metrics of every series, with points ending at `now`, and the series reset as the temporality asks:
    /// delta series start over empty, cumulative ones lose their exemplars, and resources expire or are evicted.
    /// `None` when there are no series.
    pub(in crate::connector) fn take_metrics(
        &mut self,
        now: u64,
    ) -> Option<ExportMetricsServiceRequest> {
        let Aggregator {
            settings,
            resources,
            delta_starts,
            ..
        } = self;
        let mut out = ExportMetricsServiceRequest::default();
        for (resource_key, resource) in resources.iter_mut() {
            let mut times = Times {
                temporality: settings.temporality,
                delta_starts,
                resource_key,
                now,
            };
            let mut metrics = Vec::new();
            if let Some(calls) = sum_of(settings, &mut resource.calls, "calls", |key, start| {
                times.of(b'c', key, start)
            }) {
                metrics.push(calls);
            }
            if let Some(buckets) = &settings.histogram
                && !resource.durations.is_empty()
            {
                let data = match buckets {
                    Buckets::Explicit(_) => metric::Data::Histogram(HistogramData {
                        data_points: resource
                            .durations
                            .each()
                            .filter_map(|(key, series)| {
                                let times = times.of(b'd', key, series.start);
                                series.value.explicit_point(
                                    times,
                                    series.attributes.clone(),
                                    std::mem::take(&mut series.exemplars),
                                )
                            })
                            .collect(),
                        aggregation_temporality: settings.temporality.proto(),
                    }),
                    Buckets::Exponential { .. } => {
                        metric::Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: resource
                                .durations
                                .each()
                                .filter_map(|(key, series)| {
                                    let times = times.of(b'd', key, series.start);
                                    series.value.exponential_point(
                                        times,
                                        series.attributes.clone(),
                                        std::mem::take(&mut series.exemplars),
                                    )
                                })
                                .collect(),
                            aggregation_temporality: settings.temporality.proto(),
                        })
                    }
                };
                metrics.push(metric_of(settings, "duration", settings.unit.name(), data));
            }
            if let Some(events) = sum_of(
                settings,
                &mut resource.events,
                settings.events_metric,
                |key, start| times.of(b'e', key, start),
            ) {
                metrics.push(events);
            }
            if metrics.is_empty() {
                continue;
            }
            out.resource_metrics
                .push(crate::connector::resource_metrics(
                    resource.attributes.clone(),
                    settings.scope_name,
                    metrics,
                ));
        }
        self.reset(now);
        (!out.resource_metrics.is_empty()).then_some(out)
    }

    /// After a flush at `now`: delta series start over; cumulative resources not seen for `metrics_expiration`
    /// go, then the least recently seen ones beyond `resource_metrics_cache_size`.
    fn reset(&mut self, now: u64) {
        let settings = &self.settings;
        match settings.temporality {
            Temporality::Delta => {
                self.resources.clear();
                let excess = self
                    .delta_starts
                    .len()
                    .saturating_sub(settings.delta_start_cache_size);
                if excess > 0 {
                    // Those written longest ago go first; their next point starts when it begins, which tells
                    // a reader the series restarted.
                    let mut oldest: Vec<(u64, Key)> = self
                        .delta_starts
                        .iter()
                        .map(|(key, at)| (*at, key.clone()))
                        .collect();
                    oldest.sort_unstable();
                    for (_, key) in oldest.into_iter().take(excess) {
                        self.delta_starts.remove(&key);
                    }
                }
            }
            Temporality::Cumulative => {
                if let Some(expiration) = settings.expiration {
                    let expiration = u64::try_from(expiration.as_nanos()).unwrap_or(u64::MAX);
                    self.resources
                        .retain(|_, resource| now.saturating_sub(resource.last_seen) < expiration);
                }
                let excess = self
                    .resources
                    .len()
                    .saturating_sub(settings.resource_cache_size);
                if excess > 0 {
                    let mut oldest: Vec<(u64, Key)> = self
                        .resources
                        .iter()
                        .map(|(key, resource)| (resource.last_seen, key.clone()))
                        .collect();
                    oldest.sort_unstable();
                    for (_, key) in oldest.into_iter().take(excess) {
                        self.resources.remove(&key);
                    }
                }
            }
        }
    }
}

/// A point's start and end: cumulative points start when their series began; delta points where the series'
/// previous point ended, when it is remembered.
struct Times<'a> {
    temporality: Temporality,
    delta_starts: &'a mut HashMap<Key, u64, RandomState>,
    resource_key: &'a [u8],
    now: u64,
}

impl Times<'_> {
    fn of(&mut self, metric: u8, key: Option<&Key>, began: u64) -> (u64, u64) {
        if self.temporality == Temporality::Cumulative {
            return (began, self.now);
        }
        let mut id = Vec::with_capacity(self.resource_key.len() + 2 + key.map_or(0, Vec::len));
        id.extend_from_slice(self.resource_key);
        id.push(metric);
        match key {
            Some(key) => {
                id.push(1);
                id.extend_from_slice(key);
            }
            None => id.push(0),
        }
        let start = self.delta_starts.insert(id, self.now).unwrap_or(began);
        (start, self.now)
    }
}

/// A count's series as a monotonic sum named `name`, their points' times from `times`; `None` without series.
fn sum_of(
    settings: &Settings,
    family: &mut Family<u64>,
    name: &str,
    mut times: impl FnMut(Option<&Key>, u64) -> (u64, u64),
) -> Option<Metric> {
    if family.is_empty() {
        return None;
    }
    let data_points = family
        .each()
        .map(|(key, series)| {
            let (start, end) = times(key, series.start);
            NumberDataPoint {
                attributes: series.attributes.clone(),
                start_time_unix_nano: start,
                time_unix_nano: end,
                exemplars: std::mem::take(&mut series.exemplars),
                flags: 0,
                value: Some(number_data_point::Value::AsInt(
                    i64::try_from(series.value).unwrap_or(i64::MAX),
                )),
            }
        })
        .collect();
    Some(metric_of(
        settings,
        name,
        "",
        metric::Data::Sum(Sum {
            data_points,
            aggregation_temporality: settings.temporality.proto(),
            is_monotonic: true,
        }),
    ))
}

fn metric_of(settings: &Settings, name: &str, unit: &str, data: metric::Data) -> Metric {
    Metric {
        name: if settings.namespace.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", settings.namespace)
        },
        description: String::new(),
        unit: unit.to_string(),
        metadata: Vec::new(),
        data: Some(data),
    }
}

/// Counts one span into its resource's series.
fn count_span(
    settings: &Settings,
    resource: &mut ResourceSeries,
    key: &mut Key,
    parts: &SpanParts<'_>,
    resource_attributes: &[KeyValue],
    now: u64,
) {
    let span = &parts.span;
    let duration = settings.unit.of_nanos(span.end.saturating_sub(span.start));
    let lookup = Lookup {
        span: span.attributes,
        event: None,
        resource: resource_attributes,
    };
    let limit = settings.cardinality_limit;

    if settings.spans {
        count_calls_and_duration(settings, resource, key, parts, &lookup, duration, now);
    }

    if let Some(event_dimensions) = &settings.events {
        span.events.each(|event| {
            if settings
                .event_name
                .is_some_and(|counted| event.name != counted)
            {
                return;
            }
            // An event's attribute stands in for a missing span attribute before the resource's does.
            let lookup = Lookup {
                span: span.attributes,
                event: Some(event.attributes),
                resource: resource_attributes,
            };
            key.clear();
            write_common(key, settings, parts, &lookup, &settings.dimensions);
            write_dimensions(key, &lookup, event_dimensions);
            let events = resource.events.series(
                key,
                limit,
                now,
                || attributes(settings, parts, &lookup, &[event_dimensions]),
                || 0,
            );
            events.value += 1;
            keep_exemplar(&mut events.exemplars, settings.exemplars, span, duration);
        });
    }
}

/// Counts one span in its `calls` series and records its duration in its `duration` series.
fn count_calls_and_duration(
    settings: &Settings,
    resource: &mut ResourceSeries,
    key: &mut Key,
    parts: &SpanParts<'_>,
    lookup: &Lookup<'_>,
    duration: f64,
    now: u64,
) {
    let span = &parts.span;
    let limit = settings.cardinality_limit;
    key.clear();
    write_common(key, settings, parts, lookup, &settings.dimensions);
    let common = key.len();
    write_dimensions(key, lookup, &settings.calls_dimensions);
    let calls = resource.calls.series(
        key,
        limit,
        now,
        || attributes(settings, parts, lookup, &[&settings.calls_dimensions]),
        || 0,
    );
    calls.value += 1;
    keep_exemplar(&mut calls.exemplars, settings.exemplars, span, duration);

    if let Some(buckets) = &settings.histogram {
        key.truncate(common);
        write_dimensions(key, lookup, &settings.histogram_dimensions);
        let durations = resource.durations.series(
            key,
            limit,
            now,
            || attributes(settings, parts, lookup, &[&settings.histogram_dimensions]),
            || Histogram::new(buckets),
        );
        durations.value.record(duration);
        keep_exemplar(&mut durations.exemplars, settings.exemplars, span, duration);
    }
}

/// Attaches `span` to a point as an exemplar while the point has fewer than `max` (exemplars enabled) and the
/// span has a trace id.
fn keep_exemplar(
    kept: &mut Vec<Exemplar>,
    max: Option<usize>,
    span: &SpanFacts<'_>,
    duration: f64,
) {
    if max.is_some_and(|max| kept.len() < max) && !span.trace_id.is_empty() {
        kept.push(Exemplar {
            filtered_attributes: Vec::new(),
            time_unix_nano: span.end,
            span_id: span.span_id.to_vec(),
            trace_id: span.trace_id.to_vec(),
            value: Some(exemplar::Value::AsDouble(duration)),
        });
    }
}

/// A new series' attributes: the common dimensions, the span's scope, the configured dimensions and `extra`.
fn attributes(
    settings: &Settings,
    parts: &SpanParts<'_>,
    lookup: &Lookup<'_>,
    extra: &[&Vec<Dimension>],
) -> Vec<KeyValue> {
    let common = settings.common;
    let mut out = Vec::new();
    let string = |key: &str, value: &str| otlp_ottl::key_value(key, otlp_ottl::string_value(value));
    if common.service {
        out.push(string(SERVICE_NAME, parts.service));
    }
    if common.span_name {
        out.push(string(SPAN_NAME, parts.span.name));
    }
    if common.kind {
        out.push(string(SPAN_KIND, kind_name(parts.span.kind)));
    }
    if common.status {
        out.push(string(STATUS_CODE, status_name(parts.span.status)));
    }
    if let Some(scope) = parts.scope {
        out.push(string(SCOPE_NAME_KEY, &scope.name));
        if !scope.version.is_empty() {
            out.push(string(SCOPE_VERSION_KEY, &scope.version));
        }
    }
    for dimension in settings
        .dimensions
        .iter()
        .chain(extra.iter().flat_map(|dimensions| dimensions.iter()))
    {
        match (lookup.find(&dimension.name), &dimension.default) {
            (Some(value), _) => out.push(otlp_ottl::key_value(&dimension.name, value.to_any())),
            (None, Some(default)) => out.push(string(&dimension.name, default)),
            (None, None) => {}
        }
    }
    out
}

/// `span.kind` as otelcol writes it.
pub(in crate::connector) fn kind_name(kind: i32) -> &'static str {
    match SpanKind::try_from(kind) {
        Ok(SpanKind::Internal) => "SPAN_KIND_INTERNAL",
        Ok(SpanKind::Server) => "SPAN_KIND_SERVER",
        Ok(SpanKind::Client) => "SPAN_KIND_CLIENT",
        Ok(SpanKind::Producer) => "SPAN_KIND_PRODUCER",
        Ok(SpanKind::Consumer) => "SPAN_KIND_CONSUMER",
        Ok(SpanKind::Unspecified) | Err(_) => "SPAN_KIND_UNSPECIFIED",
    }
}

/// `status.code` as otelcol writes it.
pub(in crate::connector) fn status_name(code: i32) -> &'static str {
    match StatusCode::try_from(code) {
        Ok(StatusCode::Ok) => "STATUS_CODE_OK",
        Ok(StatusCode::Error) => "STATUS_CODE_ERROR",
        Ok(StatusCode::Unset) | Err(_) => "STATUS_CODE_UNSET",
    }
}

/// A value as text, as otelcol's `AsString` gives it.
pub(in crate::connector) fn text(value: Option<&AnyValue>) -> String {
    value.map_or_else(String::new, |value| {
        otlp_ottl::Value::from_any(value).as_string().into_owned()
    })
}

#[cfg(test)]
mod tests;
