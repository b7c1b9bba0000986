//! The last point of every cumulative stream, and the delta of each new point from it.
//!
//! A stream is what otelcol's `cumulativetodelta` tells apart: the resource, the scope, the metric's name, unit,
//! type and value type, and the point's start time and attributes. Its first point has nothing to be a delta of:
//! `initial_value` says whether it is sent whole or only remembered. A later point becomes the difference from the
//! last one, starting when that one was observed.
//!
//! Where this differs from otelcol, it is to count nothing twice: a point not newer than the stream's last one (a
//! retried or reordered delivery) is dropped and leaves the stream as it was, where otelcol would take it as the
//! last point and count the span between it and the next again; and a histogram whose bucket bounds changed is
//! compared by its bounds, not only by how many there are.

use crate::processor::stream_key;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    HistogramDataPoint, NumberDataPoint, number_data_point,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// OTLP's `DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK`: a point that only says there is no value (a stale series).
const NO_RECORDED_VALUE: u32 = 1;

/// What is sent of a stream's first point (otelcol's `initial_value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitialValue {
    /// Sent whole when the stream started after the collector did (its start time is later, and differs from its
    /// time): a counter that began while the collector ran has no earlier value to be missing. Else remembered
    /// only, as with `drop`.
    #[default]
    Auto,
    /// Sent whole: for a collector that sees its sources from their start (a sidecar).
    Keep,
    /// Remembered only: no delta sent covers time the collector did not see.
    Drop,
}

/// The last point of a stream.
#[derive(Debug, Clone)]
enum Last {
    Int(i64),
    Double(f64),
    Histogram {
        count: u64,
        sum: Option<f64>,
        bounds: Vec<f64>,
        buckets: Vec<u64>,
    },
}

#[derive(Debug)]
struct Stream {
    /// When the last point was observed (its `time_unix_nano`): the next delta's start.
    time: u64,
    last: Last,
    /// When the stream last had a point, for `max_staleness`.
    seen: Instant,
}

/// What became of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// It is now a delta (or a first point sent whole).
    Converted,
    /// It is dropped: a first point remembered only, a reset, a point not newer than the last, or one without a
    /// recorded value.
    Dropped,
    /// It is left as it was: a NaN, which marks a stale series.
    Unchanged,
}

/// The streams of one processor.
#[derive(Debug)]
pub(super) struct Tracker {
    initial: InitialValue,
    /// When the processor started, in Unix nanoseconds: `auto` sends first points of streams that started later.
    started: u64,
    max_staleness: Option<Duration>,
    /// Streams by their resource and scope, then by the rest of their identity: a resource's attributes are held
    /// once, not once per stream.
    streams: HashMap<Vec<u8>, HashMap<Vec<u8>, Stream>>,
    count: usize,
    last_sweep: Instant,
    key: Vec<u8>,
}

impl Tracker {
    pub(super) fn new(
        initial: InitialValue,
        started: u64,
        max_staleness: Option<Duration>,
    ) -> Self {
        Tracker {
            initial,
            started,
            max_staleness,
            streams: HashMap::new(),
            count: 0,
            last_sweep: Instant::now(),
            key: Vec::new(),
        }
    }

    /// Streams held.
    pub(super) fn streams(&self) -> usize {
        self.count
    }

    /// Forgets streams without a point for `max_staleness`, at most once per `max_staleness`.
    pub(super) fn sweep(&mut self, now: Instant) {
        let Some(max) = self.max_staleness else {
            return;
        };
        if now.duration_since(self.last_sweep) < max {
            return;
        }
        self.last_sweep = now;
        self.streams.retain(|_, streams| {
            streams.retain(|_, stream| now.duration_since(stream.seen) < max);
            !streams.is_empty()
        });
        self.count = self.streams.values().map(HashMap::len).sum();
    }

    /// The stream of `identity` within the streams of `scope`, and whether it is new.
    fn stream(&mut self, scope: &[u8], now: Instant) -> Option<&mut Stream> {
        let streams = self.streams.get_mut(scope)?;
        let stream = streams.get_mut(self.key.as_slice())?;
        stream.seen = now;
        Some(stream)
    }

    fn remember(&mut self, scope: &[u8], time: u64, last: Last, now: Instant) {
        let streams = match self.streams.get_mut(scope) {
            Some(streams) => streams,
            None => self.streams.entry(scope.to_vec()).or_default(),
        };
        streams.insert(
            self.key.clone(),
            Stream {
                time,
                last,
                seen: now,
            },
        );
        self.count += 1;
    }

    /// Whether a first point of a stream is sent.
    fn send_first(&self, start: u64, time: u64) -> bool {
        match self.initial {
            InitialValue::Keep => true,
            InitialValue::Drop => false,
            InitialValue::Auto => start != 0 && start >= self.started && time != start,
        }
    }

    /// Turns a point of a cumulative monotonic sum into a delta. `scope` identifies the resource and scope,
    /// `metric` the metric (name, unit, type).
    pub(super) fn sum_point(
        &mut self,
        scope: &[u8],
        metric: &[u8],
        point: &mut NumberDataPoint,
        now: Instant,
    ) -> Outcome {
        if point.flags & NO_RECORDED_VALUE != 0 {
            return Outcome::Dropped;
        }
        let value = match point.value {
            Some(number_data_point::Value::AsInt(v)) => Last::Int(v),
            Some(number_data_point::Value::AsDouble(v)) if v.is_nan() => return Outcome::Unchanged,
            Some(number_data_point::Value::AsDouble(v)) => Last::Double(v),
            None => return Outcome::Dropped,
        };
        self.identify(
            metric,
            matches!(value, Last::Int(_)),
            point.start_time_unix_nano,
            &point.attributes,
        );
        let time = point.time_unix_nano;
        let Some(stream) = self.stream(scope, now) else {
            let send = self.send_first(point.start_time_unix_nano, time);
            self.remember(scope, time, value, now);
            return if send {
                Outcome::Converted
            } else {
                Outcome::Dropped
            };
        };
        if time <= stream.time {
            return Outcome::Dropped;
        }
        let delta = match (&value, &stream.last) {
            (Last::Int(v), Last::Int(last)) if v >= last => {
                v.checked_sub(*last).map(number_data_point::Value::AsInt)
            }
            (Last::Double(v), Last::Double(last)) if v >= last => {
                Some(number_data_point::Value::AsDouble(v - last))
            }
            // Lower than the last: the counter was reset.
            _ => None,
        };
        let start = stream.time;
        stream.time = time;
        stream.last = value;
        match delta {
            Some(delta) => {
                point.value = Some(delta);
                point.start_time_unix_nano = start;
                Outcome::Converted
            }
            None => Outcome::Dropped,
        }
    }

    /// Turns a point of a cumulative histogram into a delta.
    pub(super) fn histogram_point(
        &mut self,
        scope: &[u8],
        metric: &[u8],
        point: &mut HistogramDataPoint,
        now: Instant,
    ) -> Outcome {
        if point.flags & NO_RECORDED_VALUE != 0 {
            return Outcome::Dropped;
        }
        self.identify(metric, true, point.start_time_unix_nano, &point.attributes);
        let time = point.time_unix_nano;
        let value = Last::Histogram {
            count: point.count,
            sum: point.sum,
            bounds: point.explicit_bounds.clone(),
            buckets: point.bucket_counts.clone(),
        };
        let Some(stream) = self.stream(scope, now) else {
            let send = self.send_first(point.start_time_unix_nano, time);
            self.remember(scope, time, value, now);
            return if send {
                Outcome::Converted
            } else {
                Outcome::Dropped
            };
        };
        if time <= stream.time {
            return Outcome::Dropped;
        }
        let start = stream.time;
        let outcome = match &stream.last {
            Last::Histogram { bounds, .. } if *bounds != point.explicit_bounds => Outcome::Dropped,
            // A lower count: the histogram was reset, and what it counted since is the delta (as otelcol sends it).
            Last::Histogram { count, .. } if point.count < *count => Outcome::Converted,
            Last::Histogram {
                count,
                sum,
                buckets,
                ..
            } => {
                point.count -= count;
                if let (Some(now_sum), Some(last_sum)) = (point.sum.as_mut(), sum)
                    && !now_sum.is_nan()
                    && !last_sum.is_nan()
                {
                    *now_sum -= last_sum;
                }
                for (bucket, last) in point.bucket_counts.iter_mut().zip(buckets) {
                    *bucket = bucket.saturating_sub(*last);
                }
                Outcome::Converted
            }
            _ => Outcome::Dropped,
        };
        stream.time = time;
        stream.last = value;
        if outcome == Outcome::Converted {
            point.start_time_unix_nano = start;
            // The cumulative extremes are not the delta's.
            point.min = None;
            point.max = None;
        }
        outcome
    }

    /// Sets `key` to the identity of a point within its scope's streams.
    fn identify(&mut self, metric: &[u8], integer: bool, start: u64, attributes: &[KeyValue]) {
        self.key.clear();
        self.key.extend_from_slice(metric);
        self.key.push(u8::from(integer));
        self.key.extend_from_slice(&start.to_le_bytes());
        stream_key::attributes(&mut self.key, attributes);
    }
}

#[cfg(test)]
mod tests;
