use super::*;

const SCOPE: &[u8] = b"resource+scope";
const METRIC: &[u8] = b"requests";
/// The processor's start, in Unix nanoseconds.
const STARTED: u64 = 1_000_000;

fn int_point(start: u64, time: u64, value: i64) -> NumberDataPoint {
    NumberDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

fn double_point(start: u64, time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        value: Some(number_data_point::Value::AsDouble(value)),
        ..int_point(start, time, 0)
    }
}

/// The outcome and what the point became.
fn run(
    tracker: &mut Tracker,
    mut point: NumberDataPoint,
) -> (Outcome, u64, Option<number_data_point::Value>) {
    let outcome = tracker.sum_point(SCOPE, METRIC, &mut point, Instant::now());
    (outcome, point.start_time_unix_nano, point.value)
}

fn int(value: i64) -> Option<number_data_point::Value> {
    Some(number_data_point::Value::AsInt(value))
}

#[test]
fn later_points_become_the_difference_from_the_last_starting_when_it_was_observed() {
    let mut tracker = Tracker::new(InitialValue::Auto, STARTED, None);
    // The counter started before the collector: its first value covers time the collector did not see.
    assert_eq!(
        run(&mut tracker, int_point(10, 2_000_000, 100)).0,
        Outcome::Dropped
    );
    assert_eq!(
        run(&mut tracker, int_point(10, 3_000_000, 130)),
        (Outcome::Converted, 2_000_000, int(30))
    );
    assert_eq!(
        run(&mut tracker, int_point(10, 4_000_000, 130)),
        (Outcome::Converted, 3_000_000, int(0))
    );
    // Lower than the last: a reset without a new start time. Nothing is sent, the next delta counts from it.
    assert_eq!(
        run(&mut tracker, int_point(10, 5_000_000, 5)).0,
        Outcome::Dropped
    );
    assert_eq!(
        run(&mut tracker, int_point(10, 6_000_000, 12)),
        (Outcome::Converted, 5_000_000, int(7))
    );
    assert_eq!(tracker.streams(), 1);
}

#[test]
fn a_point_not_newer_than_the_last_is_dropped_and_counts_nothing_twice() {
    let mut tracker = Tracker::new(InitialValue::Keep, STARTED, None);
    run(&mut tracker, int_point(10, 2_000, 10));
    assert_eq!(run(&mut tracker, int_point(10, 4_000, 40)).2, int(30));
    // A retried delivery of an earlier point.
    assert_eq!(
        run(&mut tracker, int_point(10, 3_000, 20)).0,
        Outcome::Dropped
    );
    assert_eq!(
        run(&mut tracker, int_point(10, 4_000, 40)).0,
        Outcome::Dropped
    );
    assert_eq!(
        run(&mut tracker, int_point(10, 5_000, 50)),
        (Outcome::Converted, 4_000, int(10)),
        "the stream still counts from 40: 10, 30, 10 add up to the 50 it reached"
    );
}

#[test]
fn initial_value_decides_the_first_point_of_each_stream() {
    let started_later = int_point(STARTED + 5, STARTED + 100, 7);
    let started_before = int_point(STARTED - 5, STARTED + 100, 7);
    let no_start = int_point(0, STARTED + 100, 7);
    let start_is_time = int_point(STARTED + 100, STARTED + 100, 7);
    let first = |initial, point| run(&mut Tracker::new(initial, STARTED, None), point).0;
    use Outcome::{Converted, Dropped};
    assert_eq!(first(InitialValue::Auto, started_later.clone()), Converted);
    assert_eq!(first(InitialValue::Auto, started_before.clone()), Dropped);
    assert_eq!(first(InitialValue::Auto, no_start.clone()), Dropped);
    assert_eq!(first(InitialValue::Auto, start_is_time.clone()), Dropped);
    for point in [&started_later, &started_before, &no_start] {
        assert_eq!(first(InitialValue::Keep, point.clone()), Converted);
        assert_eq!(first(InitialValue::Drop, point.clone()), Dropped);
    }
    let mut tracker = Tracker::new(InitialValue::Keep, STARTED, None);
    assert_eq!(
        run(&mut tracker, started_before),
        (Outcome::Converted, STARTED - 5, int(7)),
        "sent whole keeps its own start"
    );
}

#[test]
fn streams_differ_by_start_time_attributes_and_value_type() {
    let mut tracker = Tracker::new(InitialValue::Keep, STARTED, None);
    run(&mut tracker, int_point(10, 2_000, 10));
    let mut other = int_point(10, 2_000, 10);
    other.attributes = vec![otlp_ottl::key_value("route", otlp_ottl::string_value("/a"))];
    run(&mut tracker, other);
    run(&mut tracker, int_point(20, 2_000, 10));
    run(&mut tracker, double_point(10, 2_000, 10.0));
    assert_eq!(tracker.streams(), 4);
    // Another scope or metric is another stream too.
    tracker.sum_point(
        b"other",
        METRIC,
        &mut int_point(10, 2_000, 1),
        Instant::now(),
    );
    tracker.sum_point(
        SCOPE,
        b"other",
        &mut int_point(10, 2_000, 1),
        Instant::now(),
    );
    assert_eq!(tracker.streams(), 6);
}

#[test]
fn doubles_subtract_nan_passes_unchanged_and_no_value_is_dropped() {
    let mut tracker = Tracker::new(InitialValue::Keep, STARTED, None);
    run(&mut tracker, double_point(10, 2_000, 1.5));
    assert_eq!(
        run(&mut tracker, double_point(10, 3_000, 4.0)),
        (
            Outcome::Converted,
            2_000,
            Some(number_data_point::Value::AsDouble(2.5))
        )
    );
    let (outcome, start, value) = run(&mut tracker, double_point(10, 4_000, f64::NAN));
    assert_eq!((outcome, start), (Outcome::Unchanged, 10));
    assert!(matches!(value, Some(number_data_point::Value::AsDouble(v)) if v.is_nan()));
    let mut stale = double_point(10, 5_000, 9.0);
    stale.flags = NO_RECORDED_VALUE;
    assert_eq!(run(&mut tracker, stale).0, Outcome::Dropped);
    assert_eq!(
        run(&mut tracker, double_point(10, 6_000, 5.0)).2,
        Some(number_data_point::Value::AsDouble(1.0)),
        "neither the NaN nor the point without a value became the last"
    );
}

fn histogram(time: u64, count: u64, sum: f64, buckets: [u64; 3]) -> HistogramDataPoint {
    HistogramDataPoint {
        start_time_unix_nano: 10,
        time_unix_nano: time,
        count,
        sum: Some(sum),
        bucket_counts: buckets.to_vec(),
        explicit_bounds: vec![0.1, 1.0],
        min: Some(0.01),
        max: Some(9.0),
        ..Default::default()
    }
}

#[test]
fn histograms_subtract_count_sum_and_buckets_and_lose_their_extremes() {
    let mut tracker = Tracker::new(InitialValue::Keep, STARTED, None);
    let now = Instant::now();
    let mut first = histogram(2_000, 10, 5.0, [4, 5, 1]);
    assert_eq!(
        tracker.histogram_point(SCOPE, METRIC, &mut first, now),
        Outcome::Converted
    );
    assert_eq!(
        first,
        histogram(2_000, 10, 5.0, [4, 5, 1]),
        "a first point sent whole keeps its extremes"
    );

    let mut second = histogram(3_000, 16, 8.5, [5, 9, 2]);
    assert_eq!(
        tracker.histogram_point(SCOPE, METRIC, &mut second, now),
        Outcome::Converted
    );
    assert_eq!(
        (
            second.start_time_unix_nano,
            second.count,
            second.sum,
            second.bucket_counts.clone()
        ),
        (2_000, 6, Some(3.5), vec![1, 4, 1])
    );
    assert_eq!((second.min, second.max), (None, None));

    // New bounds: not comparable with the last point. Dropped, and the next compares with it.
    let mut rebucketed = histogram(4_000, 20, 10.0, [6, 10, 4]);
    rebucketed.explicit_bounds = vec![0.5, 1.0];
    assert_eq!(
        tracker.histogram_point(SCOPE, METRIC, &mut rebucketed, now),
        Outcome::Dropped
    );

    // A reset: what was counted since is sent, starting at the last point.
    let mut reset = histogram(5_000, 3, 1.0, [1, 1, 1]);
    reset.explicit_bounds = vec![0.5, 1.0];
    assert_eq!(
        tracker.histogram_point(SCOPE, METRIC, &mut reset, now),
        Outcome::Converted
    );
    assert_eq!((reset.start_time_unix_nano, reset.count), (4_000, 3));
}

#[test]
fn streams_without_points_for_max_staleness_are_forgotten() {
    let start = Instant::now();
    let mut tracker = Tracker::new(InitialValue::Keep, STARTED, Some(Duration::from_secs(60)));
    tracker.sum_point(SCOPE, METRIC, &mut int_point(10, 2_000, 1), start);
    tracker.sum_point(
        b"other",
        METRIC,
        &mut int_point(10, 2_000, 1),
        start + Duration::from_secs(50),
    );
    tracker.sweep(start + Duration::from_secs(59));
    assert_eq!(
        tracker.streams(),
        2,
        "no sweep before max_staleness has passed"
    );
    tracker.sweep(start + Duration::from_secs(70));
    assert_eq!(
        tracker.streams(),
        1,
        "the first stream is 70 s old, the other 20 s"
    );
    // Forgotten: its next point is a first point again.
    let mut again = int_point(10, 3_000, 5);
    let outcome = tracker.sum_point(SCOPE, METRIC, &mut again, start + Duration::from_secs(71));
    assert_eq!((outcome, again.value), (Outcome::Converted, int(5)));

    let mut forever = Tracker::new(InitialValue::Keep, STARTED, None);
    forever.sum_point(SCOPE, METRIC, &mut int_point(10, 2_000, 1), start);
    forever.sweep(start + Duration::from_secs(1_000_000));
    assert_eq!(forever.streams(), 1);
}
