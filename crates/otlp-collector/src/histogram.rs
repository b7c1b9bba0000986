//! Histograms the collector builds itself: the duration histograms of the connectors that make metrics from spans
//! (`spanmetrics`, `servicegraph`) and the `statsd` receiver's. Explicit bucket bounds, or base-2 exponential
//! buckets that start at the finest scale and halve their resolution whenever the values seen would need more than
//! `max_size` buckets, as the OpenTelemetry SDKs' exponential histogram aggregation does.

use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, exponential_histogram_data_point,
};
use std::sync::Arc;

/// The finest scale an exponential histogram starts at (2^20 buckets per power of two), as in the SDKs.
const MAX_SCALE: i32 = 20;

/// How a histogram buckets its values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Buckets {
    /// Upper bounds, increasing; a value equal to a bound falls in that bound's bucket.
    Explicit(Arc<[f64]>),
    /// Base-2 exponential buckets, at most `max_size` of them.
    Exponential { max_size: usize },
}

/// Count, sum, min and max of the values recorded.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Summary {
    /// `value` seen `count` times.
    fn record_count(&mut self, value: f64, count: u64) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += count;
        self.sum += value * count as f64;
    }
}

/// One series' histogram.
#[derive(Debug, Clone)]
pub(crate) enum Histogram {
    Explicit {
        bounds: Arc<[f64]>,
        /// One more than the bounds: the last counts values above every bound.
        counts: Vec<u64>,
        summary: Summary,
    },
    Exponential(Exponential),
}

impl Histogram {
    pub(crate) fn new(buckets: &Buckets) -> Self {
        match buckets {
            Buckets::Explicit(bounds) => Histogram::Explicit {
                counts: vec![0; bounds.len() + 1],
                bounds: Arc::clone(bounds),
                summary: Summary::default(),
            },
            Buckets::Exponential { max_size } => {
                Histogram::Exponential(Exponential::with_max_size(*max_size))
            }
        }
    }

    /// Records a value (a duration: never negative).
    pub(crate) fn record(&mut self, value: f64) {
        self.record_count(value, 1);
    }

    /// Records `value` seen `count` times.
    pub(crate) fn record_count(&mut self, value: f64, count: u64) {
        match self {
            Histogram::Explicit {
                bounds,
                counts,
                summary,
            } => {
                let bucket = bounds.partition_point(|bound| *bound < value);
                counts[bucket] += count;
                summary.record_count(value, count);
            }
            Histogram::Exponential(histogram) => histogram.record_count(value, count),
        }
    }

    /// The explicit-bucket point, or `None` for an exponential histogram.
    pub(crate) fn explicit_point(
        &self,
        times: (u64, u64),
        attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
        exemplars: Vec<Exemplar>,
    ) -> Option<HistogramDataPoint> {
        let Histogram::Explicit {
            bounds,
            counts,
            summary,
        } = self
        else {
            return None;
        };
        Some(HistogramDataPoint {
            attributes,
            start_time_unix_nano: times.0,
            time_unix_nano: times.1,
            count: summary.count,
            sum: Some(summary.sum),
            bucket_counts: counts.clone(),
            explicit_bounds: bounds.to_vec(),
            exemplars,
            flags: 0,
            min: (summary.count > 0).then_some(summary.min),
            max: (summary.count > 0).then_some(summary.max),
        })
    }

    /// The exponential point, or `None` for an explicit-bucket histogram.
    pub(crate) fn exponential_point(
        &self,
        times: (u64, u64),
        attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
        exemplars: Vec<Exemplar>,
    ) -> Option<ExponentialHistogramDataPoint> {
        let Histogram::Exponential(histogram) = self else {
            return None;
        };
        let mut point = histogram.point(times, attributes);
        point.exemplars = exemplars;
        Some(point)
    }
}

/// Base-2 exponential buckets: at scale `s`, bucket `i` of a sign holds the magnitudes in
/// `(2^(i / 2^s), 2^((i + 1) / 2^s)]`; zeros (and NaN) are counted apart. Both signs share the scale.
#[derive(Debug, Clone)]
pub(crate) struct Exponential {
    max_size: usize,
    scale: i32,
    zero_count: u64,
    positive: Range,
    negative: Range,
    summary: Summary,
}

/// The buckets of one sign.
#[derive(Debug, Clone, Default)]
struct Range {
    /// The index of `counts[0]`.
    offset: i64,
    counts: Vec<u64>,
}

impl Range {
    /// The scale change (halvings) that fits `index` into `max_size` buckets with those held.
    fn change_for(&self, index: i64, max_size: usize) -> u32 {
        if self.counts.is_empty() {
            return 0;
        }
        let low = self.offset.min(index);
        let high = (self.offset + self.counts.len() as i64 - 1).max(index);
        let mut change = 0;
        while span(low >> change, high >> change) > max_size {
            change += 1;
        }
        change
    }

    fn add(&mut self, index: i64, count: u64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(count);
            return;
        }
        if index < self.offset {
            let grow = usize::try_from(self.offset - index).unwrap_or(0);
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        }
        let at = usize::try_from(index - self.offset).unwrap_or(0);
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += count;
    }

    /// Halves the resolution `change` times: bucket `i` becomes bucket `i >> change`.
    fn downscale(&mut self, change: u32) {
        if self.counts.is_empty() {
            return;
        }
        let offset = self.offset >> change;
        let mut counts = Vec::with_capacity(self.counts.len());
        for (i, count) in self.counts.iter().enumerate() {
            let at = usize::try_from(((self.offset + i as i64) >> change) - offset).unwrap_or(0);
            if at >= counts.len() {
                counts.resize(at + 1, 0);
            }
            counts[at] += count;
        }
        self.offset = offset;
        self.counts = counts;
    }

    fn buckets(&self) -> exponential_histogram_data_point::Buckets {
        exponential_histogram_data_point::Buckets {
            offset: i32::try_from(self.offset).unwrap_or(i32::MIN),
            bucket_counts: self.counts.clone(),
        }
    }
}

impl Exponential {
    /// An empty histogram of at most `max_size` buckets per sign (at least 2), at the finest scale.
    pub(crate) fn with_max_size(max_size: usize) -> Self {
        Exponential {
            max_size: max_size.max(2),
            scale: MAX_SCALE,
            zero_count: 0,
            positive: Range::default(),
            negative: Range::default(),
            summary: Summary::default(),
        }
    }

    /// `value` seen `count` times (a sampled measurement stands for several).
    pub(crate) fn record_count(&mut self, value: f64, count: u64) {
        if count == 0 {
            return;
        }
        self.summary.record_count(value, count);
        if value == 0.0 || value.is_nan() {
            self.zero_count += count;
            return;
        }
        let index = bucket_index(value.abs(), self.scale);
        let range = if value > 0.0 {
            &self.positive
        } else {
            &self.negative
        };
        let change = range.change_for(index, self.max_size);
        if change > 0 {
            self.positive.downscale(change);
            self.negative.downscale(change);
            self.scale -= change as i32;
        }
        let range = if value > 0.0 {
            &mut self.positive
        } else {
            &mut self.negative
        };
        range.add(index >> change, count);
    }

    /// The histogram as a point of `times` (start, end) with `attributes`.
    pub(crate) fn point(
        &self,
        times: (u64, u64),
        attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
    ) -> ExponentialHistogramDataPoint {
        let summary = self.summary;
        ExponentialHistogramDataPoint {
            attributes,
            start_time_unix_nano: times.0,
            time_unix_nano: times.1,
            count: summary.count,
            sum: Some(summary.sum),
            scale: self.scale,
            zero_count: self.zero_count,
            positive: Some(self.positive.buckets()),
            negative: Some(self.negative.buckets()),
            flags: 0,
            exemplars: Vec::new(),
            min: (summary.count > 0).then_some(summary.min),
            max: (summary.count > 0).then_some(summary.max),
            zero_threshold: 0.0,
        }
    }
}

fn span(low: i64, high: i64) -> usize {
    usize::try_from(high - low + 1).unwrap_or(usize::MAX)
}

/// The index of the bucket holding `value` (positive and finite) at `scale`. An exact power of two is the upper,
/// inclusive end of its bucket, which the logarithm alone may miss by one, so those are found from the exponent.
fn bucket_index(value: f64, scale: i32) -> i64 {
    let value = value.max(f64::MIN_POSITIVE);
    let bits = value.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let power_of_two = bits & ((1 << 52) - 1) == 0;
    if scale <= 0 {
        let index = if power_of_two { exponent - 1 } else { exponent };
        return index >> -scale;
    }
    if power_of_two {
        return (exponent << scale) - 1;
    }
    let per_octave = f64::from(1u32 << scale);
    (value.log2() * per_octave).ceil() as i64 - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounds of bucket `index` at `scale`.
    fn bounds(index: i64, scale: i32) -> (f64, f64) {
        let base = 2f64.powf(2f64.powi(-scale));
        (base.powf(index as f64), base.powf((index + 1) as f64))
    }

    #[test]
    fn explicit_bounds_are_inclusive_above() {
        let mut histogram = Histogram::new(&Buckets::Explicit(Arc::from(vec![2.0, 4.0])));
        for value in [0.0, 2.0, 2.5, 4.0, 9.0] {
            histogram.record(value);
        }
        let point = histogram
            .explicit_point((1, 2), Vec::new(), Vec::new())
            .unwrap();
        assert_eq!(point.bucket_counts, vec![2, 2, 1]);
        assert_eq!((point.count, point.sum), (5, Some(17.5)));
        assert_eq!((point.min, point.max), (Some(0.0), Some(9.0)));
    }

    #[test]
    fn every_value_lands_in_a_bucket_whose_bounds_hold_it() {
        for scale in [-2, 0, 1, 3, 8, 20] {
            for value in [
                1e-6, 0.001, 0.3, 1.0, 1.5, 2.0, 3.0, 4.0, 1000.0, 1024.0, 12_345.678,
            ] {
                let index = bucket_index(value, scale);
                let (low, high) = bounds(index, scale);
                let slack = high * 1e-12;
                assert!(
                    low < value + slack && value <= high + slack,
                    "{value} at scale {scale}: bucket {index} is ({low}, {high}]"
                );
            }
        }
    }

    #[test]
    fn powers_of_two_close_their_bucket() {
        assert_eq!(bucket_index(1.0, 0), -1);
        assert_eq!(bucket_index(2.0, 0), 0);
        assert_eq!(bucket_index(4.0, 1), 3);
        assert_eq!(bucket_index(4.0, -1), 0);
    }

    #[test]
    fn negative_values_have_buckets_of_their_own_on_the_shared_scale() {
        let mut histogram = Exponential::with_max_size(4);
        histogram.record_count(-3.0, 2);
        histogram.record_count(5.0, 1);
        histogram.record_count(0.0, 1);
        histogram.record_count(1000.0, 1);
        histogram.record_count(7.0, 0);
        let point = histogram.point((0, 1), Vec::new());
        let (positive, negative) = (point.positive.unwrap(), point.negative.unwrap());
        assert_eq!(positive.bucket_counts.iter().sum::<u64>(), 2);
        assert_eq!(negative.bucket_counts.iter().sum::<u64>(), 2);
        assert_eq!((point.count, point.zero_count), (5, 1));
        assert_eq!(point.sum, Some(-6.0 + 5.0 + 1000.0));
        assert_eq!((point.min, point.max), (Some(-3.0), Some(1000.0)));
        assert!(positive.bucket_counts.len() <= 4);
        // -3 lies in its bucket at the scale both signs were brought down to.
        let (low, high) = bounds(i64::from(negative.offset), point.scale);
        assert!(low < 3.0 && 3.0 <= high * (1.0 + 1e-12), "({low}, {high}]");
    }

    #[test]
    fn an_exponential_histogram_rescales_to_stay_within_max_size() {
        let mut histogram = Histogram::new(&Buckets::Exponential { max_size: 20 });
        let values: Vec<f64> = (0..2000).map(|i| 0.01 * 1.01f64.powi(i)).collect();
        for value in &values {
            histogram.record(*value);
        }
        histogram.record(0.0);
        let point = histogram
            .exponential_point((1, 2), Vec::new(), Vec::new())
            .unwrap();
        let positive = point.positive.unwrap();
        assert!(
            positive.bucket_counts.len() <= 20,
            "{}",
            positive.bucket_counts.len()
        );
        assert_eq!(positive.bucket_counts.iter().sum::<u64>(), 2000);
        assert_eq!((point.count, point.zero_count), (2001, 1));
        // The smallest and the largest value are in the first and last buckets.
        let first = bounds(i64::from(positive.offset), point.scale);
        let last = bounds(
            i64::from(positive.offset) + positive.bucket_counts.len() as i64 - 1,
            point.scale,
        );
        assert!(first.0 < values[0] && values[0] <= first.1 * (1.0 + 1e-12));
        assert!(last.0 < values[1999] && values[1999] <= last.1 * (1.0 + 1e-12));
        // The finest scale that fits: one finer would need more than 20 buckets.
        let finer = point.scale + 1;
        assert!(
            span(
                bucket_index(values[0], finer),
                bucket_index(values[1999], finer)
            ) > 20
        );
    }
}
