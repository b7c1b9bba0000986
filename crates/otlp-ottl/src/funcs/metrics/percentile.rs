//! `extract_percentile_metric`: a gauge beside a histogram or exponential histogram holding one
//! estimated percentile per data point, as otelcol's transform processor computes it
//! (`func_extract_percentile_metric.go`).

use std::f64::consts::LN_2;

use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, Gauge, HistogramDataPoint, Metric, NumberDataPoint,
};

use super::convert::METRIC_ONLY;
use super::literal_number;
use super::siblings::add_metric;
use crate::context::{Field, TransformContext};
use crate::error::{Error, Result};
use crate::funcs::{Args, EditorFn, FunctionDef, ParamKind, editor_def, optional, required};

const NAME: &str = "extract_percentile_metric";

pub(super) const EXTRACT_PERCENTILE_METRIC: FunctionDef = FunctionDef {
    contexts: METRIC_ONLY,
    // otelcol's argument struct fields `Percentile` (a float64) and `Suffix`.
    ..editor_def(
        NAME,
        &[
            required("percentile", ParamKind::Getter),
            optional("suffix", ParamKind::Str),
        ],
        build,
    )
};

/// `extract_percentile_metric(percentile, Optional[suffix])`: adds a gauge named after the
/// metric with `suffix` (default `_p{percentile}`), one double point per source point that has
/// data to interpolate from (attributes and timestamps copied). Other metric types, and metrics
/// without points, are left alone; no metric is added when every point was skipped.
struct ExtractPercentile {
    percentile: f64,
    suffix: String,
}

fn build(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let percentile = literal_number(args, 0)?;
    // otelcol refuses 0 and 100 too: the estimate there would only repeat a bound.
    if !(percentile > 0.0 && percentile < 100.0) {
        return Err(args.error(
            0,
            format!(
                "percentile must be greater than 0 and less than 100, got {}",
                go_f(percentile)
            ),
        ));
    }
    // An empty suffix would give the gauge the source's name, so otelcol falls back to the
    // default then.
    let suffix = args
        .opt_str(1)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("_p{}", go_g(percentile)));
    Ok(Box::new(ExtractPercentile { percentile, suffix }))
}

/// What a source point yields: a value, or nothing to interpolate from (otelcol's
/// `errSkipDataPoint`, which leaves the point out without failing).
type Estimate = Result<Option<f64>>;

impl EditorFn for ExtractPercentile {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let metric = ctx.metric(Field::MetricType)?;
        let p = self.percentile;
        let mut data_points = Vec::new();
        match &metric.data {
            Some(Data::Histogram(h)) => {
                for point in &h.data_points {
                    if let Some(value) = histogram_percentile(point, p)? {
                        data_points.push(gauge_point(
                            point.attributes.clone(),
                            point.start_time_unix_nano,
                            point.time_unix_nano,
                            value,
                        ));
                    }
                }
            }
            Some(Data::ExponentialHistogram(h)) => {
                for point in &h.data_points {
                    if let Some(value) = exponential_percentile(point, p)? {
                        data_points.push(gauge_point(
                            point.attributes.clone(),
                            point.start_time_unix_nano,
                            point.time_unix_nano,
                            value,
                        ));
                    }
                }
            }
            _ => return Ok(()),
        }
        if data_points.is_empty() {
            return Ok(());
        }
        let description = if metric.description.is_empty() {
            format!("p{}", go_g(p))
        } else {
            format!("{} (p{})", metric.description, go_g(p))
        };
        let new = Metric {
            name: format!("{}{}", metric.name, self.suffix),
            description,
            unit: metric.unit.clone(),
            metadata: Vec::new(),
            data: Some(Data::Gauge(Gauge { data_points })),
        };
        add_metric(ctx, NAME, new)
    }
}

fn gauge_point(
    attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
    start: u64,
    time: u64,
    value: f64,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        exemplars: Vec::new(),
        flags: 0,
        value: Some(NumberValue::AsDouble(value)),
    }
}

/// The rank of the wanted observation, counted from 1, as otelcol computes it.
fn target_count(count: u64, percentile: f64) -> u64 {
    (count as f64 * (percentile / 100.0)).ceil() as u64
}

/// Linear interpolation within an explicit bucket, assuming observations spread evenly in it.
fn histogram_percentile(point: &HistogramDataPoint, percentile: f64) -> Estimate {
    let counts = &point.bucket_counts;
    let bounds = &point.explicit_bounds;
    if point.count == 0 || counts.is_empty() {
        return Ok(None);
    }
    let target = target_count(point.count, percentile);
    if counts.len() != bounds.len() + 1 {
        return Err(Error::eval(format!(
            "{NAME}: calculating histogram percentile: malformed data: bucketCounts length ({}) \
             != explicitBounds length ({}) + 1",
            counts.len(),
            bounds.len()
        )));
    }
    // One bucket spanning (-Inf, +Inf): only Min and Max give it an extent.
    if bounds.is_empty() {
        let (Some(min), Some(max)) = (point.min, point.max) else {
            return Ok(None);
        };
        return linear(min, max, target as f64 / counts[0] as f64).map(Some);
    }
    let mut cumulative: u64 = 0;
    for (index, &count) in counts.iter().enumerate() {
        let previous = cumulative;
        cumulative = cumulative.saturating_add(count);
        if cumulative < target {
            continue;
        }
        let (lower, upper) = if index == 0 {
            // The first bucket is open below: Min closes it when it lies below the bound, else
            // 0 does, unless the bound is negative, where the bound is the best estimate.
            let upper = bounds[0];
            match point.min {
                Some(min) if min < upper => (min, upper),
                _ if upper < 0.0 => return Ok(Some(upper)),
                _ => (0.0, upper),
            }
        } else if let Some(&upper) = bounds.get(index) {
            (bounds[index - 1], upper)
        } else {
            // The last bucket is open above: Max closes it, else its lower bound is the
            // estimate (the spec's bucket inclusivity).
            let lower = bounds[index - 1];
            match point.max {
                Some(max) if max > lower => (lower, max),
                _ => return Ok(Some(lower)),
            }
        };
        let ratio = (target - previous) as f64 / count as f64;
        return linear(lower, upper, ratio).map(Some);
    }
    Err(Error::eval(format!(
        "{NAME}: calculating histogram percentile: malformed data: cumulative count doesn't \
         reach target count corresponding to percentile. targetCount={target}, total \
         count={cumulative}"
    )))
}

/// Walks the negative buckets from the most negative, then the zero bucket, then the positive
/// buckets, interpolating logarithmically within an exponential bucket (linearly in the zero
/// bucket).
fn exponential_percentile(point: &ExponentialHistogramDataPoint, percentile: f64) -> Estimate {
    let empty = Buckets::default();
    let negative = point.negative.as_ref().unwrap_or(&empty);
    let positive = point.positive.as_ref().unwrap_or(&empty);
    if point.count == 0
        || (negative.bucket_counts.is_empty()
            && positive.bucket_counts.is_empty()
            && point.zero_count == 0)
    {
        return Ok(None);
    }
    let target = target_count(point.count, percentile);
    let scale = point.scale;

    let mut cumulative: u64 = 0;
    for (index, &count) in negative.bucket_counts.iter().enumerate().rev() {
        let previous = cumulative;
        cumulative = cumulative.saturating_add(count);
        if cumulative >= target {
            let bucket = i64::from(negative.offset) + index as i64;
            let abs_lower = bucket_bound(bucket, scale);
            let abs_upper = bucket_bound(bucket + 1, scale);
            if abs_lower >= abs_upper {
                return Err(Error::eval(format!(
                    "{NAME}: calculating exponential histogram percentile: malformed negative \
                     bucket bounds: absLowerBound ({abs_lower:.6}) >= absUpperBound \
                     ({abs_upper:.6}) at histogramIndex={bucket}, scale={scale}"
                )));
            }
            // Ratio 0 is the most negative end (-abs_upper), 1 the least (-abs_lower).
            let ratio = (target - previous) as f64 / count as f64;
            return logarithmic(abs_lower, abs_upper, 1.0 - ratio).map(|v| Some(-v));
        }
    }

    let after_zero = cumulative.saturating_add(point.zero_count);
    if after_zero >= target {
        let has_negative = !negative.bucket_counts.is_empty();
        let has_positive = !positive.bucket_counts.is_empty();
        // With buckets on one side only, the zero bucket is taken to stop at 0 on the other.
        let (lower, upper) = match (has_negative, has_positive) {
            (false, true) => (0.0, point.zero_threshold),
            (true, false) => (-point.zero_threshold, 0.0),
            _ => (-point.zero_threshold, point.zero_threshold),
        };
        let ratio = (target - cumulative) as f64 / point.zero_count as f64;
        return linear(lower, upper, ratio).map(Some);
    }

    cumulative = after_zero;
    for (index, &count) in positive.bucket_counts.iter().enumerate() {
        let previous = cumulative;
        cumulative = cumulative.saturating_add(count);
        if cumulative >= target {
            let bucket = i64::from(positive.offset) + index as i64;
            let ratio = (target - previous) as f64 / count as f64;
            return logarithmic(
                bucket_bound(bucket, scale),
                bucket_bound(bucket + 1, scale),
                ratio,
            )
            .map(Some);
        }
    }
    Err(Error::eval(format!(
        "{NAME}: calculating exponential histogram percentile: malformed data: cumulative count \
         doesn't reach target count corresponding to percentile. targetCount={target}, total \
         count={cumulative}"
    )))
}

/// The lower bound of exponential bucket `index` at `scale` (the spec's formulas: exact powers
/// of two at scale 0 and below, `exp(index * ln2 / 2^scale)` above).
fn bucket_bound(index: i64, scale: i32) -> f64 {
    if scale <= 0 {
        // The shift is at most 10 for a valid scale; larger ones saturate to an infinite bound.
        let exponent = index.checked_shl(scale.unsigned_abs()).unwrap_or(i64::MAX);
        (exponent as f64).exp2()
    } else {
        let inverse_factor = LN_2 * (-f64::from(scale)).exp2();
        (index as f64 * inverse_factor).exp()
    }
}

fn linear(lower: f64, upper: f64, ratio: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&ratio) {
        return Err(Error::eval(format!(
            "{NAME}: linear interpolation: invalid ratio {ratio:.6}, must be between 0 and 1"
        )));
    }
    Ok(lower + ratio * (upper - lower))
}

fn logarithmic(lower: f64, upper: f64, ratio: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&ratio) {
        return Err(Error::eval(format!(
            "{NAME}: logarithmic interpolation: invalid ratio {ratio:.6}, must be between 0 and 1"
        )));
    }
    if lower <= 0.0 || upper <= 0.0 {
        return Err(Error::eval(format!(
            "{NAME}: logarithmic interpolation: bounds must be positive, got \
             lowerBound={lower:.6}, upperBound={upper:.6}"
        )));
    }
    let (log_lower, log_upper) = (lower.log2(), upper.log2());
    Ok((log_lower + (log_upper - log_lower) * ratio).exp2())
}

/// A number as Go's `%g` writes it, which otelcol uses for the default suffix and the
/// description: the shortest digits, in exponent form (`1e-05`) below 1e-4 or from 1e6.
fn go_g(value: f64) -> String {
    let scientific = format!("{value:e}");
    let Some((mantissa, exp)) = scientific.split_once('e') else {
        return format!("{value}");
    };
    let Ok(exponent) = exp.parse::<i32>() else {
        return format!("{value}");
    };
    if (-4..6).contains(&exponent) {
        return format!("{value}");
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

/// A number as Go's `%f` writes it (six decimals), for the range error.
fn go_f(value: f64) -> String {
    format!("{value:.6}")
}
