//! The duration histograms of the connectors that make metrics from spans (`spanmetrics`, `servicegraph`): explicit bucket bounds, or base-2 exponential buckets that start at
//! the finest scale and halve their resolution whenever the values seen would need more than `max_size` buckets,
//! as the OpenTelemetry SDKs' exponential histogram aggregation does.

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
    fn record(&mut self, value: f64) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        self.sum += value;
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
                Histogram::Exponential(Exponential::new(*max_size))
            }
        }
    }

    /// Records a value (a duration: never negative).
    pub(crate) fn record(&mut self, value: f64) {
        match self {
            Histogram::Explicit {
                bounds,
                counts,
                summary,
            } => {
                let bucket = bounds.partition_point(|bound| *bound < value);
                counts[bucket] += 1;
                summary.record(value);
            }
            Histogram::Exponential(histogram) => histogram.record(value),
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
        let summary = histogram.summary;
        Some(ExponentialHistogramDataPoint {
            attributes,
            start_time_unix_nano: times.0,
            time_unix_nano: times.1,
            count: summary.count,
            sum: Some(summary.sum),
            scale: histogram.scale,
            zero_count: histogram.zero_count,
            positive: Some(exponential_histogram_data_point::Buckets {
                offset: i32::try_from(histogram.offset).unwrap_or(i32::MIN),
                bucket_counts: histogram.counts.clone(),
            }),
            negative: Some(exponential_histogram_data_point::Buckets::default()),
            flags: 0,
            exemplars,
            min: (summary.count > 0).then_some(summary.min),
            max: (summary.count > 0).then_some(summary.max),
            zero_threshold: 0.0,
        })
    }
}

/// Base-2 exponential buckets over positive values: at scale `s`, bucket `i` holds the values in
/// `(2^(i / 2^s), 2^((i + 1) / 2^s)]`; zeros are counted apart.
#[derive(Debug, Clone)]
pub(crate) struct Exponential {
    max_size: usize,
    scale: i32,
    zero_count: u64,
    /// The index of `counts[0]`.
    offset: i64,
    counts: Vec<u64>,
    summary: Summary,
}

impl Exponential {
    fn new(max_size: usize) -> Self {
        Exponential {
            max_size: max_size.max(2),
            scale: MAX_SCALE,
            zero_count: 0,
            offset: 0,
            counts: Vec::new(),
            summary: Summary::default(),
        }
    }

    fn record(&mut self, value: f64) {
        self.summary.record(value);
        if value <= 0.0 || value.is_nan() {
            self.zero_count += 1;
            return;
        }
        let mut index = bucket_index(value, self.scale);
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(1);
            return;
        }
        let low = self.offset.min(index);
        let high = (self.offset + self.counts.len() as i64 - 1).max(index);
        let mut change = 0;
        while span(low >> change, high >> change) > self.max_size {
            change += 1;
        }
        if change > 0 {
            self.downscale(change);
            index >>= change;
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
        self.counts[at] += 1;
    }

    /// Halves the resolution `change` times: bucket `i` becomes bucket `i >> change`.
    fn downscale(&mut self, change: u32) {
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
        self.scale -= change as i32;
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
