//! The running total of every delta stream, and each new point's cumulative value from it.
//!
//! A stream is the resource, the scope, the metric's name, unit, type and value type, and the point's attributes.
//! Its first point is already a total (since its own start); each later one is added to the total and sent as it,
//! starting at the stream's start. A point that starts before the stream did (another process sending the same
//! series) or is not newer than the last one (a retried or reordered delivery) is dropped, as otelcol drops it,
//! so that nothing is counted twice. A histogram whose buckets changed (other bounds, or an exponential one's zero
//! threshold) restarts its stream from that point, its start time telling the backend so.

use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, number_data_point,
};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// OTLP's `DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK`.
const NO_RECORDED_VALUE: u32 = 1;

/// What became of a point, and the label it is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Sent as the stream's running total.
    Accumulated,
    /// Dropped: it starts before its stream did.
    OlderStart,
    /// Dropped: not newer than the stream's last point.
    OutOfOrder,
    /// Dropped: a new stream past `max_streams`.
    Limit,
    /// Dropped: it has no value.
    NoValue,
}

impl Outcome {
    pub(crate) const ALL: [Outcome; 5] = [
        Outcome::Accumulated,
        Outcome::OlderStart,
        Outcome::OutOfOrder,
        Outcome::Limit,
        Outcome::NoValue,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Outcome::Accumulated => "accumulated",
            Outcome::OlderStart => "older_start",
            Outcome::OutOfOrder => "out_of_order",
            Outcome::Limit => "limit",
            Outcome::NoValue => "no_value",
        }
    }
}

#[derive(Debug, Clone)]
enum Total {
    Int(i64),
    Double(f64),
    Histogram(HistogramDataPoint),
    Exponential(ExponentialHistogramDataPoint),
}

#[derive(Debug)]
struct Stream {
    start: u64,
    time: u64,
    total: Total,
    seen: Instant,
}

/// The streams of one processor.
#[derive(Debug)]
pub(crate) struct Streams {
    max_stale: Option<Duration>,
    /// 0: no limit.
    max_streams: usize,
    map: HashMap<Vec<u8>, Stream>,
    last_sweep: Instant,
}

impl Streams {
    pub(crate) fn new(max_stale: Option<Duration>, max_streams: usize) -> Self {
        Streams {
            max_stale,
            max_streams,
            map: HashMap::new(),
            last_sweep: Instant::now(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Forgets streams without a point for `max_stale`, at most once per `max_stale`.
    pub(crate) fn sweep(&mut self, now: Instant) {
        let Some(max) = self.max_stale else {
            return;
        };
        if now.duration_since(self.last_sweep) < max {
            return;
        }
        self.last_sweep = now;
        self.map
            .retain(|_, stream| now.duration_since(stream.seen) < max);
    }

    /// Adds `point` to its stream's total, `total` to make the stream's first total from it, `add` to add it to
    /// the total (or `None` when it cannot be added and restarts the stream), `write` to write the total into it.
    fn accumulate(
        &mut self,
        key: &[u8],
        (start, time): (u64, u64),
        now: Instant,
        first: impl FnOnce() -> Total,
        add: impl FnOnce(&mut Total) -> Option<()>,
        write: impl FnOnce(&Total),
    ) -> (Outcome, u64) {
        let Some(stream) = self.map.get_mut(key) else {
            if self.max_streams != 0 && self.map.len() >= self.max_streams {
                return (Outcome::Limit, start);
            }
            self.map.insert(
                key.to_vec(),
                Stream {
                    start,
                    time,
                    total: first(),
                    seen: now,
                },
            );
            return (Outcome::Accumulated, start);
        };
        if start < stream.start {
            return (Outcome::OlderStart, start);
        }
        if time <= stream.time {
            return (Outcome::OutOfOrder, start);
        }
        stream.seen = now;
        stream.time = time;
        if add(&mut stream.total).is_none() {
            stream.start = start;
            stream.total = first();
            return (Outcome::Accumulated, start);
        }
        write(&stream.total);
        (Outcome::Accumulated, stream.start)
    }

    /// A point of a delta sum, `key` its stream's identity: replaced by the running total.
    pub(crate) fn sum(&mut self, key: &[u8], point: &mut NumberDataPoint, now: Instant) -> Outcome {
        if point.flags & NO_RECORDED_VALUE != 0 {
            return Outcome::NoValue;
        }
        let Some(value) = point.value else {
            return Outcome::NoValue;
        };
        let first = || match value {
            number_data_point::Value::AsInt(v) => Total::Int(v),
            number_data_point::Value::AsDouble(v) => Total::Double(v),
        };
        let mut total = None;
        let (outcome, start) = self.accumulate(
            key,
            (point.start_time_unix_nano, point.time_unix_nano),
            now,
            first,
            |sum| {
                match (sum, value) {
                    (Total::Int(sum), number_data_point::Value::AsInt(v)) => {
                        *sum = sum.wrapping_add(v)
                    }
                    (Total::Double(sum), number_data_point::Value::AsDouble(v)) => *sum += v,
                    _ => return None,
                }
                Some(())
            },
            |sum| total = Some(sum.clone()),
        );
        point.start_time_unix_nano = start;
        match total {
            Some(Total::Int(v)) => point.value = Some(number_data_point::Value::AsInt(v)),
            Some(Total::Double(v)) => point.value = Some(number_data_point::Value::AsDouble(v)),
            _ => {}
        }
        outcome
    }

    /// A point of a delta histogram: replaced by the running total.
    pub(crate) fn histogram(
        &mut self,
        key: &[u8],
        point: &mut HistogramDataPoint,
        now: Instant,
    ) -> Outcome {
        if point.flags & NO_RECORDED_VALUE != 0 {
            return Outcome::NoValue;
        }
        let delta = point.clone();
        let mut total = None;
        let (outcome, start) = self.accumulate(
            key,
            (point.start_time_unix_nano, point.time_unix_nano),
            now,
            || Total::Histogram(delta.clone()),
            |sum| {
                let Total::Histogram(sum) = sum else {
                    return None;
                };
                if sum.explicit_bounds != delta.explicit_bounds
                    || sum.bucket_counts.len() != delta.bucket_counts.len()
                {
                    return None;
                }
                sum.count += delta.count;
                sum.sum = add_options(sum.sum, delta.sum);
                sum.min = extreme(sum.min, delta.min, f64::min);
                sum.max = extreme(sum.max, delta.max, f64::max);
                for (bucket, add) in sum.bucket_counts.iter_mut().zip(&delta.bucket_counts) {
                    *bucket += add;
                }
                Some(())
            },
            |sum| total = Some(sum.clone()),
        );
        if let Some(Total::Histogram(sum)) = total {
            point.count = sum.count;
            point.sum = sum.sum;
            point.min = sum.min;
            point.max = sum.max;
            point.bucket_counts = sum.bucket_counts;
        }
        point.start_time_unix_nano = start;
        outcome
    }

    /// A point of a delta exponential histogram: replaced by the running total, at the lower of the two scales.
    pub(crate) fn exponential(
        &mut self,
        key: &[u8],
        point: &mut ExponentialHistogramDataPoint,
        now: Instant,
    ) -> Outcome {
        if point.flags & NO_RECORDED_VALUE != 0 {
            return Outcome::NoValue;
        }
        let delta = point.clone();
        let mut total = None;
        let (outcome, start) = self.accumulate(
            key,
            (point.start_time_unix_nano, point.time_unix_nano),
            now,
            || Total::Exponential(delta.clone()),
            |sum| {
                let Total::Exponential(sum) = sum else {
                    return None;
                };
                if sum.zero_threshold != delta.zero_threshold {
                    return None;
                }
                merge_exponential(sum, &delta);
                Some(())
            },
            |sum| total = Some(sum.clone()),
        );
        if let Some(Total::Exponential(sum)) = total {
            *point = ExponentialHistogramDataPoint {
                attributes: std::mem::take(&mut point.attributes),
                exemplars: std::mem::take(&mut point.exemplars),
                start_time_unix_nano: start,
                time_unix_nano: point.time_unix_nano,
                flags: point.flags,
                ..sum
            };
        }
        point.start_time_unix_nano = start;
        outcome
    }
}

fn add_options(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        // A total without a sum stays without one: part of it is unknown.
        _ => None,
    }
}

fn extreme(a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        _ => None,
    }
}

/// Adds `delta` into `sum`, both brought to the lower of their scales first.
fn merge_exponential(
    sum: &mut ExponentialHistogramDataPoint,
    delta: &ExponentialHistogramDataPoint,
) {
    let scale = sum.scale.min(delta.scale);
    let mut positive = delta.positive.clone().unwrap_or_default();
    let mut negative = delta.negative.clone().unwrap_or_default();
    downscale(&mut positive, delta.scale - scale);
    downscale(&mut negative, delta.scale - scale);
    let own = sum.scale - scale;
    for (buckets, add) in [(&mut sum.positive, positive), (&mut sum.negative, negative)] {
        let buckets = buckets.get_or_insert_with(Buckets::default);
        downscale(buckets, own);
        add_buckets(buckets, &add);
    }
    sum.scale = scale;
    sum.count += delta.count;
    sum.zero_count += delta.zero_count;
    sum.sum = add_options(sum.sum, delta.sum);
    sum.min = extreme(sum.min, delta.min, f64::min);
    sum.max = extreme(sum.max, delta.max, f64::max);
}

/// Buckets at a scale `by` lower: bucket `i` goes into `i >> by` (each step down halves the resolution).
pub(crate) fn downscale(buckets: &mut Buckets, by: i32) {
    if by <= 0 || buckets.bucket_counts.is_empty() {
        return;
    }
    let by = by.min(63) as u32;
    let first = i64::from(buckets.offset) >> by;
    let last = (i64::from(buckets.offset) + buckets.bucket_counts.len() as i64 - 1) >> by;
    let mut counts = vec![0u64; (last - first + 1) as usize];
    for (i, count) in buckets.bucket_counts.iter().enumerate() {
        let index = (i64::from(buckets.offset) + i as i64) >> by;
        counts[(index - first) as usize] += count;
    }
    buckets.offset = first as i32;
    buckets.bucket_counts = counts;
}

/// Adds `add` into `buckets`, at the same scale.
fn add_buckets(buckets: &mut Buckets, add: &Buckets) {
    if add.bucket_counts.is_empty() {
        return;
    }
    if buckets.bucket_counts.is_empty() {
        *buckets = add.clone();
        return;
    }
    let first = buckets.offset.min(add.offset);
    let end = (buckets.offset as i64 + buckets.bucket_counts.len() as i64)
        .max(add.offset as i64 + add.bucket_counts.len() as i64);
    let mut counts = vec![0u64; (end - first as i64) as usize];
    for source in [&*buckets, add] {
        let shift = (source.offset - first) as usize;
        for (i, count) in source.bucket_counts.iter().enumerate() {
            counts[shift + i] += count;
        }
    }
    buckets.offset = first;
    buckets.bucket_counts = counts;
}

#[cfg(test)]
mod tests;
