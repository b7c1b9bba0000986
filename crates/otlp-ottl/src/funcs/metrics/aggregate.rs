//! `aggregate_on_attributes` and `aggregate_on_attribute_value`: merging a metric's data points
//! that end up with the same attributes, as otelcol's transform processor does through
//! `internal/coreinternal/aggregateutil`.

use std::collections::BTreeMap;
use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, Sum, Summary,
};

use super::convert::METRIC_ONLY;
use crate::context::{Field, TransformContext};
use crate::error::{Error, Result};
use crate::funcs::{Args, EditorFn, FunctionDef, ParamKind, editor_def, optional, required};

pub(super) const AGGREGATE_ON_ATTRIBUTES: FunctionDef = FunctionDef {
    contexts: METRIC_ONLY,
    // otelcol's argument struct fields `AggregationFunction` and `Attributes`; the README
    // writes them `function, attributes`.
    ..editor_def(
        "aggregate_on_attributes",
        &[
            required("aggregation_function", ParamKind::Str),
            optional("attributes", ParamKind::StrList),
        ],
        build_on_attributes,
    )
};

pub(super) const AGGREGATE_ON_ATTRIBUTE_VALUE: FunctionDef = FunctionDef {
    contexts: METRIC_ONLY,
    // otelcol's fields `AggregationFunction`, `Attribute`, `Values` and `NewValue`.
    ..editor_def(
        "aggregate_on_attribute_value",
        &[
            required("aggregation_function", ParamKind::Str),
            required("attribute", ParamKind::Str),
            required("values", ParamKind::StrList),
            required("new_value", ParamKind::Str),
        ],
        build_on_attribute_value,
    )
};

/// How the data points of a group are merged into one: otelcol's aggregation types
/// (`internal/coreinternal/aggregateutil`), shared by its transform and metricstransform
/// processors. Histograms and exponential histograms are always summed, bucket by bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// The values added up.
    Sum,
    /// Their arithmetic mean (integer division for int points, as otelcol).
    Mean,
    /// The smallest.
    Min,
    /// The largest.
    Max,
    /// The middle value, or the mean of the two middle ones.
    Median,
    /// How many points the group had.
    Count,
}

impl Aggregation {
    /// The aggregation otelcol names `name` (case-sensitive: `sum`, `mean`, `min`, `max`,
    /// `median`, `count`).
    pub fn from_name(name: &str) -> Option<Self> {
        AGGREGATIONS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, aggregation)| *aggregation)
    }

    /// Every name [`from_name`](Self::from_name) takes, in otelcol's order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        AGGREGATIONS.iter().map(|(name, _)| *name)
    }
}

const AGGREGATIONS: &[(&str, Aggregation)] = &[
    ("sum", Aggregation::Sum),
    ("mean", Aggregation::Mean),
    ("min", Aggregation::Min),
    ("max", Aggregation::Max),
    ("median", Aggregation::Median),
    ("count", Aggregation::Count),
];

/// The aggregation a literal names (case-sensitive, like otelcol), or a compile error worded
/// as otelcol's.
fn aggregation(args: &mut Args<'_>, index: usize) -> Result<Aggregation> {
    let name = args.str(index)?;
    match Aggregation::from_name(&name) {
        Some(aggregation) => Ok(aggregation),
        None => {
            let valid: Vec<&str> = AGGREGATIONS.iter().map(|(n, _)| *n).collect();
            Err(args.error(
                index,
                format!(
                    "invalid aggregation function: 'unsupported function: '{name}'', valid \
                     options: {}",
                    valid.join(", ")
                ),
            ))
        }
    }
}

/// `aggregate_on_attributes(function, Optional[attributes])`: keeps only the listed point
/// attributes (all when the list is omitted, none for `[]`), then merges the points left with
/// the same attributes and timestamp. Summaries are refused, as in otelcol.
struct OnAttributes {
    aggregation: Aggregation,
    keep: Option<Vec<String>>,
}

fn build_on_attributes(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let aggregation = aggregation(args, 0)?;
    let keep = if args.has(1) {
        Some(args.str_list(1)?)
    } else {
        None
    };
    Ok(Box::new(OnAttributes { aggregation, keep }))
}

impl EditorFn for OnAttributes {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let metric = ctx.metric_mut(Field::MetricType)?;
        if matches!(metric.data, Some(Data::Summary(_))) {
            return Err(Error::eval(
                "aggregate_on_attributes does not support aggregating Summary metrics",
            ));
        }
        if let Some(keep) = &self.keep {
            for_each_attributes(metric, |attributes| {
                attributes.retain(|kv| keep.contains(&kv.key));
            });
        }
        aggregate_metric(metric, self.aggregation);
        Ok(())
    }
}

/// `aggregate_on_attribute_value(function, attribute, values, new_value)`: renames the listed
/// values of `attribute` to `new_value`, then merges the points with the same attributes and
/// timestamp.
struct OnAttributeValue {
    aggregation: Aggregation,
    attribute: String,
    values: Vec<String>,
    new_value: String,
}

fn build_on_attribute_value(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(OnAttributeValue {
        aggregation: aggregation(args, 0)?,
        attribute: args.str(1)?,
        values: args.str_list(2)?,
        new_value: args.str(3)?,
    }))
}

impl EditorFn for OnAttributeValue {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let metric = ctx.metric_mut(Field::MetricType)?;
        for_each_attributes(metric, |attributes| {
            for kv in attributes.iter_mut().filter(|kv| kv.key == self.attribute) {
                // otelcol compares the value's `Str()`, which is "" for a non-string value.
                let current = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => s.as_str(),
                    _ => "",
                };
                if self.values.iter().any(|v| v == current) {
                    kv.value = Some(AnyValue {
                        value: Some(any_value::Value::StringValue(self.new_value.clone())),
                    });
                }
            }
        });
        aggregate_metric(metric, self.aggregation);
        Ok(())
    }
}

/// Runs `f` on the attributes of every data point of the metric, summaries included.
fn for_each_attributes(metric: &mut Metric, mut f: impl FnMut(&mut Vec<KeyValue>)) {
    match &mut metric.data {
        Some(Data::Gauge(g)) => g.data_points.iter_mut().for_each(|p| f(&mut p.attributes)),
        Some(Data::Sum(s)) => s.data_points.iter_mut().for_each(|p| f(&mut p.attributes)),
        Some(Data::Histogram(h)) => h.data_points.iter_mut().for_each(|p| f(&mut p.attributes)),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter_mut().for_each(|p| f(&mut p.attributes))
        }
        Some(Data::Summary(s)) => s.data_points.iter_mut().for_each(|p| f(&mut p.attributes)),
        None => {}
    }
}

/// Merges the metric's data points that have the same attributes and timestamp (and, for delta
/// sums and histograms, start time; for histograms, bounds) with `aggregation`, as otelcol's
/// `aggregateutil` does: name, unit, description, type, temporality and monotonicity kept
/// (metadata is not, as otelcol's `CopyMetricDetails` does not copy it). otelcol has no grouping
/// for summaries, so a summary comes out with no points, as in otelcol.
///
/// ```
/// use otlp_ottl::Aggregation;
/// use otlp_ottl::opentelemetry_proto::tonic::metrics::v1::{Gauge, Metric, NumberDataPoint, metric::Data, number_data_point::Value};
///
/// let point = |v: i64| NumberDataPoint { value: Some(Value::AsInt(v)), time_unix_nano: 7, ..Default::default() };
/// let mut metric = Metric {
///     data: Some(Data::Gauge(Gauge { data_points: vec![point(2), point(5)] })),
///     ..Default::default()
/// };
/// otlp_ottl::aggregate_metric(&mut metric, Aggregation::Sum);
/// let Some(Data::Gauge(gauge)) = &metric.data else { unreachable!() };
/// assert_eq!(gauge.data_points.len(), 1);
/// assert_eq!(gauge.data_points[0].value, Some(Value::AsInt(7)));
/// ```
pub fn aggregate_metric(metric: &mut Metric, aggregation: Aggregation) {
    metric.metadata.clear();
    metric.data = match metric.data.take() {
        Some(Data::Gauge(g)) => Some(Data::Gauge(Gauge {
            data_points: group(g.data_points, |p| number_key(p, false))
                .into_iter()
                .map(|points| merge_numbers(points, aggregation))
                .collect(),
        })),
        Some(Data::Sum(s)) => {
            let delta = s.aggregation_temporality == AggregationTemporality::Delta as i32;
            Some(Data::Sum(Sum {
                data_points: group(s.data_points, |p| number_key(p, delta))
                    .into_iter()
                    .map(|points| merge_numbers(points, aggregation))
                    .collect(),
                aggregation_temporality: s.aggregation_temporality,
                is_monotonic: s.is_monotonic,
            }))
        }
        Some(Data::Histogram(h)) => {
            let delta = h.aggregation_temporality == AggregationTemporality::Delta as i32;
            Some(Data::Histogram(Histogram {
                data_points: group(h.data_points, |p| histogram_key(p, delta))
                    .into_iter()
                    .map(merge_histograms)
                    .collect(),
                aggregation_temporality: h.aggregation_temporality,
            }))
        }
        Some(Data::ExponentialHistogram(h)) => {
            let delta = h.aggregation_temporality == AggregationTemporality::Delta as i32;
            Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: group(h.data_points, |p| exponential_key(p, delta))
                    .into_iter()
                    .map(merge_exponential)
                    .collect(),
                aggregation_temporality: h.aggregation_temporality,
            }))
        }
        Some(Data::Summary(_)) => Some(Data::Summary(Summary::default())),
        None => None,
    };
}

/// Splits points into groups of equal keys, in the order each group first appears (otelcol
/// emits its groups in Go map order, which is random).
fn group<P>(points: Vec<P>, key: impl Fn(&P) -> String) -> Vec<Vec<P>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<P>> = Vec::new();
    for point in points {
        let k = key(&point);
        match index.get(&k) {
            Some(&i) => groups[i].push(point),
            None => {
                index.insert(k, groups.len());
                groups.push(vec![point]);
            }
        }
    }
    groups
}

/// The attributes as a map (order-insensitive, the last of duplicate keys winning, like
/// otelcol's `AsRaw`) and the timestamp, which every group key starts with.
fn base_key(attributes: &[KeyValue], time: u64) -> String {
    let map: BTreeMap<&str, Option<&AnyValue>> = attributes
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_ref()))
        .collect();
    format!("{map:?}|{time}")
}

/// Delta points are also grouped by start time, so separate intervals are never summed.
fn number_key(p: &NumberDataPoint, delta: bool) -> String {
    let mut key = base_key(&p.attributes, p.time_unix_nano);
    if delta {
        key.push_str(&format!("|{}", p.start_time_unix_nano));
    }
    key
}

/// Histograms merge only with the same bounds, Min/Max presence and flags.
fn histogram_key(p: &HistogramDataPoint, delta: bool) -> String {
    let mut key = base_key(&p.attributes, p.time_unix_nano);
    key.push_str(&format!("|{:?}", p.explicit_bounds));
    if delta {
        key.push_str(&format!("|{}", p.start_time_unix_nano));
    }
    key.push_str(&format!(
        "|{}|{}|{}",
        p.min.is_some(),
        p.max.is_some(),
        p.flags
    ));
    key
}

/// Exponential histograms merge only with the same scale, Min/Max presence, flags and
/// offsets, so their buckets line up.
fn exponential_key(p: &ExponentialHistogramDataPoint, delta: bool) -> String {
    let offset = |b: &Option<Buckets>| b.as_ref().map_or(0, |b| b.offset);
    let mut key = base_key(&p.attributes, p.time_unix_nano);
    key.push_str(&format!(
        "|{}|{}|{}|{}|{}|{}",
        p.scale,
        p.min.is_some(),
        p.max.is_some(),
        p.flags,
        offset(&p.negative),
        offset(&p.positive)
    ));
    if delta {
        key.push_str(&format!("|{}", p.start_time_unix_nano));
    }
    key
}

/// Go's `math.Max`: NaN wins.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN wins.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// A point's value as a double (otelcol's `doubleVal`).
fn as_double(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(NumberValue::AsDouble(d)) => d,
        Some(NumberValue::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

/// A point's value as an int, truncating a double (otelcol's `intVal`).
fn as_int(p: &NumberDataPoint) -> i64 {
    match p.value {
        Some(NumberValue::AsDouble(d)) => d as i64,
        Some(NumberValue::AsInt(i)) => i,
        None => 0,
    }
}

/// Merges a group into its first point, whose value type decides the result's, with otelcol's
/// quirks kept: `count` only rewrites the value when the group has more than one point, and
/// `sum`/`mean` of an int point add 0 for double points (pdata's `IntValue` of a double).
fn merge_numbers(points: Vec<NumberDataPoint>, aggregation: Aggregation) -> NumberDataPoint {
    let mut points = points.into_iter();
    let Some(mut first) = points.next() else {
        return NumberDataPoint::default();
    };
    let rest: Vec<NumberDataPoint> = points.collect();
    let len = rest.len() + 1;
    let earliest = rest
        .iter()
        .map(|p| p.start_time_unix_nano)
        .fold(first.start_time_unix_nano, u64::min);
    match first.value {
        Some(NumberValue::AsDouble(mut value)) => {
            let mut median = vec![value];
            for p in &rest {
                match aggregation {
                    Aggregation::Sum | Aggregation::Mean => value += as_double(p),
                    Aggregation::Max => value = go_max(value, as_double(p)),
                    Aggregation::Min => value = go_min(value, as_double(p)),
                    Aggregation::Median => median.push(as_double(p)),
                    Aggregation::Count => value = len as f64,
                }
            }
            match aggregation {
                Aggregation::Mean => value /= len as f64,
                Aggregation::Median if median.len() > 1 => {
                    // Go's sort.Float64s puts NaN first.
                    median.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Less,
                        (false, true) => std::cmp::Ordering::Greater,
                        _ => a.total_cmp(b),
                    });
                    let middle = median.len() / 2;
                    value = if median.len() % 2 == 1 {
                        median[middle]
                    } else {
                        (median[middle - 1] + median[middle]) / 2.0
                    };
                }
                _ => {}
            }
            first.value = Some(NumberValue::AsDouble(value));
            first.start_time_unix_nano = earliest;
        }
        Some(NumberValue::AsInt(mut value)) => {
            let mut median = vec![value];
            for p in &rest {
                match aggregation {
                    Aggregation::Sum | Aggregation::Mean => {
                        let add = match p.value {
                            Some(NumberValue::AsInt(i)) => i,
                            _ => 0,
                        };
                        value = value.wrapping_add(add);
                    }
                    Aggregation::Max => value = value.max(as_int(p)),
                    Aggregation::Min => value = value.min(as_int(p)),
                    Aggregation::Median => median.push(as_int(p)),
                    Aggregation::Count => value = len as i64,
                }
            }
            if aggregation == Aggregation::Median && median.len() > 1 {
                median.sort_unstable();
                let middle = median.len() / 2;
                value = if median.len() % 2 == 1 {
                    median[middle]
                } else {
                    median[middle - 1].wrapping_add(median[middle]) / 2
                };
            }
            if aggregation == Aggregation::Mean {
                value /= len as i64;
            }
            first.value = Some(NumberValue::AsInt(value));
            first.start_time_unix_nano = earliest;
        }
        // A point without a value: otelcol keeps the first point as it is.
        None => {}
    }
    first
}

/// Adds `src` into `dst` bucket by bucket, growing `dst` when `src` has more buckets.
fn add_counts(dst: &mut Vec<u64>, src: &[u64]) {
    for (index, &count) in src.iter().enumerate() {
        match dst.get_mut(index) {
            Some(slot) => *slot = slot.wrapping_add(count),
            None => dst.push(count),
        }
    }
}

/// Histograms are always summed, whatever the aggregation function (README: "Only the `sum`
/// aggregation function is supported for histogram"); points with a zero count are dropped.
fn merge_histograms(points: Vec<HistogramDataPoint>) -> HistogramDataPoint {
    let mut points = points.into_iter();
    let Some(mut dp) = points.next() else {
        return HistogramDataPoint::default();
    };
    for p in points.filter(|p| p.count != 0) {
        dp.count = dp.count.wrapping_add(p.count);
        dp.sum = Some(dp.sum.unwrap_or(0.0) + p.sum.unwrap_or(0.0));
        if let (Some(min), Some(other)) = (dp.min, p.min) {
            dp.min = Some(min.min(other));
        }
        if let (Some(max), Some(other)) = (dp.max, p.max) {
            dp.max = Some(max.max(other));
        }
        add_counts(&mut dp.bucket_counts, &p.bucket_counts);
        dp.exemplars.extend(p.exemplars);
        dp.start_time_unix_nano = dp.start_time_unix_nano.min(p.start_time_unix_nano);
    }
    dp
}

/// Exponential histograms are summed like histograms; the grouping key keeps scale and
/// offsets equal, so buckets at the same position have the same bounds.
fn merge_exponential(points: Vec<ExponentialHistogramDataPoint>) -> ExponentialHistogramDataPoint {
    let mut points = points.into_iter();
    let Some(mut dp) = points.next() else {
        return ExponentialHistogramDataPoint::default();
    };
    for p in points.filter(|p| p.count != 0) {
        dp.count = dp.count.wrapping_add(p.count);
        dp.sum = Some(dp.sum.unwrap_or(0.0) + p.sum.unwrap_or(0.0));
        dp.zero_count = dp.zero_count.wrapping_add(p.zero_count);
        if let (Some(min), Some(other)) = (dp.min, p.min) {
            dp.min = Some(min.min(other));
        }
        if let (Some(max), Some(other)) = (dp.max, p.max) {
            dp.max = Some(max.max(other));
        }
        for (dst, src) in [
            (&mut dp.negative, &p.negative),
            (&mut dp.positive, &p.positive),
        ] {
            if let Some(src) = src {
                let dst = dst.get_or_insert_with(|| Buckets {
                    offset: src.offset,
                    bucket_counts: Vec::new(),
                });
                add_counts(&mut dst.bucket_counts, &src.bucket_counts);
            }
        }
        dp.exemplars.extend(p.exemplars);
        dp.start_time_unix_nano = dp.start_time_unix_nano.min(p.start_time_unix_nano);
    }
    dp
}
