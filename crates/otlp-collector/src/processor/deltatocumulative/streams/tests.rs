use super::*;

const KEY: &[u8] = b"stream";

fn point(start: u64, time: u64, value: i64) -> NumberDataPoint {
    NumberDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

fn run(
    streams: &mut Streams,
    mut p: NumberDataPoint,
) -> (Outcome, u64, Option<number_data_point::Value>) {
    let outcome = streams.sum(KEY, &mut p, Instant::now());
    (outcome, p.start_time_unix_nano, p.value)
}

fn int(v: i64) -> Option<number_data_point::Value> {
    Some(number_data_point::Value::AsInt(v))
}

#[test]
fn each_delta_becomes_the_running_total_since_the_stream_started() {
    let mut streams = Streams::new(None, 0);
    assert_eq!(
        run(&mut streams, point(100, 200, 5)),
        (Outcome::Accumulated, 100, int(5))
    );
    assert_eq!(
        run(&mut streams, point(200, 300, 7)),
        (Outcome::Accumulated, 100, int(12))
    );
    // A gap between deltas is no reason to drop one.
    assert_eq!(
        run(&mut streams, point(350, 400, 1)),
        (Outcome::Accumulated, 100, int(13))
    );
}

#[test]
fn older_starts_and_points_not_newer_than_the_last_are_dropped_and_change_nothing() {
    let mut streams = Streams::new(None, 0);
    run(&mut streams, point(100, 200, 5));
    assert_eq!(run(&mut streams, point(50, 250, 1)).0, Outcome::OlderStart);
    assert_eq!(run(&mut streams, point(150, 200, 1)).0, Outcome::OutOfOrder);
    assert_eq!(
        run(&mut streams, point(200, 300, 2)),
        (Outcome::Accumulated, 100, int(7))
    );
    let mut stale = point(300, 400, 9);
    stale.flags = NO_RECORDED_VALUE;
    assert_eq!(run(&mut streams, stale).0, Outcome::NoValue);
}

#[test]
fn new_streams_past_max_streams_are_dropped_and_stale_ones_forgotten() {
    let start = Instant::now();
    let mut streams = Streams::new(Some(Duration::from_secs(300)), 1);
    assert_eq!(
        streams.sum(b"a", &mut point(1, 2, 1), start),
        Outcome::Accumulated
    );
    assert_eq!(
        streams.sum(b"b", &mut point(1, 2, 1), start),
        Outcome::Limit
    );
    assert_eq!(
        streams.sum(b"a", &mut point(2, 3, 1), start + Duration::from_secs(100)),
        Outcome::Accumulated
    );
    streams.sweep(start + Duration::from_secs(350));
    assert_eq!(streams.len(), 1, "seen 250 s before");
    streams.sweep(start + Duration::from_secs(700));
    assert_eq!(streams.len(), 0);
    assert_eq!(
        streams.sum(b"b", &mut point(1, 2, 1), start),
        Outcome::Accumulated,
        "room again"
    );
}

#[test]
fn histograms_add_counts_sums_buckets_and_keep_the_extremes_and_restart_on_new_bounds() {
    let histogram = |start, time, counts: [u64; 3], min: f64, max: f64| HistogramDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: counts.iter().sum(),
        sum: Some(counts.iter().sum::<u64>() as f64),
        bucket_counts: counts.to_vec(),
        explicit_bounds: vec![1.0, 10.0],
        min: Some(min),
        max: Some(max),
        ..Default::default()
    };
    let mut streams = Streams::new(None, 0);
    let now = Instant::now();
    let mut first = histogram(100, 200, [1, 2, 0], 0.5, 5.0);
    assert_eq!(
        streams.histogram(KEY, &mut first, now),
        Outcome::Accumulated
    );
    let mut second = histogram(200, 300, [0, 1, 3], 2.0, 40.0);
    assert_eq!(
        streams.histogram(KEY, &mut second, now),
        Outcome::Accumulated
    );
    assert_eq!(
        (
            second.start_time_unix_nano,
            second.count,
            second.sum,
            second.bucket_counts.clone()
        ),
        (100, 7, Some(7.0), vec![1, 3, 3])
    );
    assert_eq!((second.min, second.max), (Some(0.5), Some(40.0)));

    let mut rebucketed = histogram(300, 400, [1, 1, 1], 1.0, 2.0);
    rebucketed.explicit_bounds = vec![5.0, 50.0];
    assert_eq!(
        streams.histogram(KEY, &mut rebucketed, now),
        Outcome::Accumulated
    );
    assert_eq!(
        (rebucketed.start_time_unix_nano, rebucketed.count),
        (300, 3),
        "a new cumulative from here"
    );
    let mut next = histogram(400, 500, [1, 0, 0], 1.0, 2.0);
    next.explicit_bounds = vec![5.0, 50.0];
    streams.histogram(KEY, &mut next, now);
    assert_eq!((next.start_time_unix_nano, next.count), (300, 4));
}

fn buckets(offset: i32, counts: &[u64]) -> Option<Buckets> {
    Some(Buckets {
        offset,
        bucket_counts: counts.to_vec(),
    })
}

#[test]
fn exponential_histograms_merge_at_the_lower_scale() {
    let mut streams = Streams::new(None, 0);
    let now = Instant::now();
    let mut first = ExponentialHistogramDataPoint {
        start_time_unix_nano: 100,
        time_unix_nano: 200,
        scale: 1,
        count: 6,
        zero_count: 1,
        sum: Some(10.0),
        // Indexes 2..=5 at scale 1.
        positive: buckets(2, &[1, 1, 1, 1]),
        negative: buckets(0, &[1]),
        ..Default::default()
    };
    assert_eq!(
        streams.exponential(KEY, &mut first, now),
        Outcome::Accumulated
    );
    let mut second = ExponentialHistogramDataPoint {
        start_time_unix_nano: 200,
        time_unix_nano: 300,
        scale: 0,
        count: 3,
        zero_count: 0,
        sum: Some(5.0),
        // Index 3 at scale 0: indexes 6 and 7 at scale 1.
        positive: buckets(3, &[2]),
        negative: buckets(-1, &[1]),
        ..Default::default()
    };
    assert_eq!(
        streams.exponential(KEY, &mut second, now),
        Outcome::Accumulated
    );
    assert_eq!(second.scale, 0);
    assert_eq!(
        (second.count, second.zero_count, second.sum),
        (9, 1, Some(15.0))
    );
    // Scale 1 indexes 2..=5 are scale 0 indexes 1, 1, 2, 2; plus 2 at index 3.
    assert_eq!(second.positive, buckets(1, &[2, 2, 2]));
    assert_eq!(second.negative, buckets(-1, &[1, 1]));
    assert_eq!(second.start_time_unix_nano, 100);
}

#[test]
fn downscaling_floors_negative_indexes_too() {
    let mut b = Buckets {
        offset: -3,
        bucket_counts: vec![1, 1, 1, 1],
    };
    // Indexes -3, -2, -1, 0 halve to -2, -1, -1, 0.
    downscale(&mut b, 1);
    assert_eq!(
        b,
        Buckets {
            offset: -2,
            bucket_counts: vec![1, 2, 1]
        }
    );
}
