//! `convert_exponential_histogram_to_histogram(distribution, [ExplicitBounds])`: for consumers
//! that cannot read exponential histograms. The algorithms are otelcol's, including its
//! choices (see each).

use std::mem;

use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, Histogram, HistogramDataPoint,
};

use super::convert::METRIC_ONLY;
use crate::context::{Field, TransformContext};
use crate::error::Result;
use crate::funcs::{Args, Build, EditorFn, FunctionDef, ParamKind, required};
use crate::value::Value;

pub(super) const CONVERT_EXPONENTIAL_HISTOGRAM_TO_HISTOGRAM: FunctionDef = FunctionDef {
    name: "convert_exponential_histogram_to_histogram",
    // otelcol's argument struct fields `DistributionFn` and `ExplicitBounds`.
    params: &[
        required("distribution_fn", ParamKind::Str),
        required("explicit_bounds", ParamKind::GetterList),
    ],
    build: Build::Editor(build_convert),
    contexts: METRIC_ONLY,
    string_fn: None,
};

/// How the count of an exponential bucket that straddles explicit bounds is placed.
#[derive(Clone, Copy)]
enum Distribution {
    Upper,
    Midpoint,
    Uniform,
    Random,
}

struct ConvertExponential {
    distribution: Distribution,
    bounds: Vec<f64>,
}

fn build_convert(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let distribution = match args.str(0)?.as_str() {
        "upper" => Distribution::Upper,
        "midpoint" => Distribution::Midpoint,
        "uniform" => Distribution::Uniform,
        // otelcol takes an empty name for its default.
        "random" | "" => Distribution::Random,
        other => {
            return Err(args.error(
                0,
                format!(
                    "invalid conversion function: {other}, must be one of [upper, midpoint, random, uniform]"
                ),
            ));
        }
    };
    let items = args.getter_list(1)?;
    let mut bounds = Vec::with_capacity(items.len());
    for item in &items {
        match item.as_literal() {
            Some(Value::Double(d)) => bounds.push(*d),
            Some(Value::Int(i)) => bounds.push(*i as f64),
            _ => return Err(args.error(1, "must be a list of number literals")),
        }
    }
    if bounds.is_empty() {
        return Err(args.error(1, "explicit bounds cannot be empty"));
    }
    Ok(Box::new(ConvertExponential {
        distribution,
        bounds,
    }))
}

impl EditorFn for ConvertExponential {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let metric = ctx.metric_mut(Field::MetricType)?;
        let Some(Data::ExponentialHistogram(exponential)) = &mut metric.data else {
            return Ok(());
        };
        let points = mem::take(&mut exponential.data_points)
            .into_iter()
            .map(|point| self.convert(point))
            .collect();
        let histogram = Histogram {
            data_points: points,
            aggregation_temporality: exponential.aggregation_temporality,
        };
        // otelcol builds a new metric from the name, description and unit: the metadata goes.
        metric.metadata.clear();
        metric.data = Some(Data::Histogram(histogram));
        Ok(())
    }
}

impl ConvertExponential {
    /// One point. As otelcol does: sum, min and max are always set (0 when they were not), the
    /// flags are not carried over, and there are as many bucket counts as bounds (the last
    /// bucket takes the overflow), not one more.
    fn convert(&self, point: ExponentialHistogramDataPoint) -> HistogramDataPoint {
        let bucket_counts = self.bucket_counts(&point);
        HistogramDataPoint {
            attributes: point.attributes,
            start_time_unix_nano: point.start_time_unix_nano,
            time_unix_nano: point.time_unix_nano,
            count: point.count,
            sum: Some(point.sum.unwrap_or(0.0)),
            bucket_counts,
            explicit_bounds: self.bounds.clone(),
            exemplars: point.exemplars,
            flags: 0,
            min: Some(point.min.unwrap_or(0.0)),
            max: Some(point.max.unwrap_or(0.0)),
        }
    }

    /// otelcol's `calculateBucketCounts`: the zero count goes to the first bucket only when the
    /// first bound is 0; negative buckets are ignored; a positive bucket wholly inside one
    /// explicit bucket goes there, above the last bound into the last bucket, and otherwise the
    /// distribution decides.
    fn bucket_counts(&self, point: &ExponentialHistogramDataPoint) -> Vec<u64> {
        let bounds = &self.bounds;
        let last = bounds.len() - 1;
        let mut counts = vec![0u64; bounds.len()];
        if point.zero_count > 0 && bounds[0] == 0.0 {
            counts[0] += point.zero_count;
        }
        let factor = std::f64::consts::LN_2 * 2f64.powi(-point.scale);
        let Some(positive) = &point.positive else {
            return counts;
        };
        let mut rng = Rng::new();
        for (pos, &count) in positive.bucket_counts.iter().enumerate() {
            let index = f64::from(positive.offset) + pos as f64;
            let upper = ((index + 1.0) * factor).exp();
            let lower = (index * factor).exp();
            if lower > bounds[last] {
                counts[last] += count;
                continue;
            }
            if let Some(i) =
                (1..bounds.len()).find(|&i| lower > bounds[i - 1] && upper <= bounds[i])
            {
                counts[i - 1] += count;
                continue;
            }
            match self.distribution {
                Distribution::Upper => upper_fit(count, upper, bounds, &mut counts),
                Distribution::Midpoint => midpoint_fit(count, upper, lower, bounds, &mut counts),
                Distribution::Uniform => uniform(count, upper, lower, bounds, &mut counts),
                Distribution::Random => random(count, upper, lower, bounds, &mut counts, &mut rng),
            }
        }
        counts
    }
}

/// The first bucket whose bound is at or above the exponential bucket's upper end.
fn upper_fit(count: u64, upper: f64, bounds: &[f64], counts: &mut [u64]) {
    let j = bounds
        .iter()
        .position(|b| upper <= *b)
        .unwrap_or(bounds.len() - 1);
    counts[j] += count;
}

/// The bucket before the first bound at or above the midpoint (otelcol's choice; the first
/// bucket when that is the first bound).
fn midpoint_fit(count: u64, upper: f64, lower: f64, bounds: &[f64], counts: &mut [u64]) {
    let midpoint = (upper + lower) / 2.0;
    let j = match bounds.iter().position(|b| midpoint <= *b) {
        Some(j) => j.saturating_sub(1),
        None => bounds.len() - 1,
    };
    counts[j] += count;
}

/// Evenly over the bounds the exponential bucket spans, the remainder one by one from the
/// lowest.
fn uniform(count: u64, upper: f64, lower: f64, bounds: &[f64], counts: &mut [u64]) {
    let last = bounds.len() - 1;
    let start = bounds
        .iter()
        .position(|b| lower <= *b)
        .unwrap_or(bounds.len());
    let end = (start..bounds.len())
        .find(|&j| upper <= bounds[j])
        .unwrap_or(bounds.len())
        .min(last);
    if end > start {
        let n = (end - start + 1) as u64;
        let (each, mut remainder) = (count / n, count % n);
        for slot in &mut counts[start..=end] {
            *slot += each;
            if remainder > 0 {
                *slot += 1;
                remainder -= 1;
            }
        }
    } else {
        // `start` is within the bounds here: a bucket above the last bound was handled
        // before the distribution is asked.
        counts[start.min(last)] += count;
    }
}

/// A random share of each spanned bucket's proportional count, the rest one by one to random
/// spanned buckets (so the total is kept).
fn random(count: u64, upper: f64, lower: f64, bounds: &[f64], counts: &mut [u64], rng: &mut Rng) {
    let last = bounds.len() - 1;
    let start = bounds
        .iter()
        .position(|b| *b >= lower)
        .unwrap_or(bounds.len());
    let end = (start..bounds.len())
        .find(|&j| bounds[j] >= upper)
        .unwrap_or(bounds.len())
        .min(last);
    if end <= start {
        counts[start.min(last)] += count;
        return;
    }
    let width = upper - lower;
    let mut allocated = 0u64;
    for (j, slot) in counts.iter_mut().enumerate().take(end + 1).skip(start) {
        let low = if j == 0 { lower } else { bounds[j - 1] };
        let high = bounds[j];
        let overlap = high.min(upper) - low.max(lower);
        let share = (count as f64 * (overlap / width)) as u64;
        let given = ((rng.next_f64() * share as f64) as u64).min(count - allocated);
        *slot += given;
        allocated += given;
    }
    let spanned = (end - start + 1) as u64;
    for _ in allocated..count {
        let j = start + (rng.next_u64() % spanned) as usize;
        counts[j] += 1;
    }
}

/// A small xorshift generator seeded from the system's randomness (through `uuid`, which the
/// crate already uses): the random distribution needs no more than that.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = uuid::Uuid::new_v4().as_u128();
        Rng((seed as u64 ^ (seed >> 64) as u64) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A float in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
