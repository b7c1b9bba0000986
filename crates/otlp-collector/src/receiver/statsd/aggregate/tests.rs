use super::*;
use crate::receiver::statsd::parse::{Options, parse};

fn settings() -> Settings {
    Settings {
        monotonic_counter: false,
        timing: Observer::Gauge,
        histogram: Observer::Summary(vec![0.0, 50.0, 90.0, 100.0]),
        distribution: Observer::Histogram(160),
    }
}

fn add(aggregator: &mut Aggregator, line: &str, client: &str, now: u64) {
    aggregator.add(parse(line, Options::default()).unwrap(), client, now);
}

fn metric<'a>(request: &'a ExportMetricsServiceRequest, client: usize, name: &str) -> &'a Metric {
    request.resource_metrics[client].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn counters_sum_with_their_rates_and_gauges_keep_or_change_their_value() {
    let mut aggregator = Aggregator::new(settings(), 1000);
    add(&mut aggregator, "hits:1|c", "a", 1100);
    add(&mut aggregator, "hits:2|c|@0.5", "a", 1200);
    add(&mut aggregator, "depth:10|g", "a", 1300);
    add(&mut aggregator, "depth:+5|g", "a", 1400);
    add(&mut aggregator, "depth:-3|g", "a", 1500);
    add(&mut aggregator, "level:7|g", "a", 1600);
    add(&mut aggregator, "level:2|g", "a", 1700);
    let request = aggregator.flush(2000).unwrap();
    let Some(Data::Sum(hits)) = &metric(&request, 0, "hits").data else {
        panic!()
    };
    assert_eq!(
        hits.data_points[0].value,
        Some(number_data_point::Value::AsInt(5))
    );
    assert_eq!(
        (
            hits.data_points[0].start_time_unix_nano,
            hits.data_points[0].time_unix_nano
        ),
        (1000, 2000)
    );
    assert_eq!(
        hits.aggregation_temporality,
        AggregationTemporality::Delta as i32
    );
    assert!(!hits.is_monotonic);
    let Some(Data::Gauge(depth)) = &metric(&request, 0, "depth").data else {
        panic!()
    };
    assert_eq!(
        depth.data_points[0].value,
        Some(number_data_point::Value::AsDouble(12.0))
    );
    assert_eq!(depth.data_points[0].time_unix_nano, 1500);
    let Some(Data::Gauge(level)) = &metric(&request, 0, "level").data else {
        panic!()
    };
    assert_eq!(
        level.data_points[0].value,
        Some(number_data_point::Value::AsDouble(2.0))
    );
    // The next interval starts empty, at the flush.
    assert!(aggregator.flush(3000).is_none());
    add(&mut aggregator, "hits:1|c", "a", 3100);
    let next = aggregator.flush(4000).unwrap();
    let Some(Data::Sum(hits)) = &metric(&next, 0, "hits").data else {
        panic!()
    };
    assert_eq!(hits.data_points[0].start_time_unix_nano, 3000);
}

#[test]
fn clients_and_tags_are_series_of_their_own() {
    let mut aggregator = Aggregator::new(settings(), 0);
    add(&mut aggregator, "hits:1|c|#env:prod", "10.0.0.1:5000", 1);
    add(&mut aggregator, "hits:1|c|#env:dev", "10.0.0.1:5000", 1);
    add(&mut aggregator, "hits:1|c|#env:prod", "10.0.0.2:5000", 1);
    let request = aggregator.flush(2).unwrap();
    assert_eq!(request.resource_metrics.len(), 2);
    assert_eq!(
        request.resource_metrics[0].scope_metrics[0].metrics.len(),
        2
    );
    assert_eq!(
        request.resource_metrics[0].scope_metrics[0]
            .scope
            .as_ref()
            .unwrap()
            .name,
        "otelcol/statsdreceiver"
    );
}

#[test]
fn timings_histograms_and_distributions_are_observed_as_mapped() {
    let mut aggregator = Aggregator::new(settings(), 0);
    for (i, ms) in [12.0, 30.0, 7.0].iter().enumerate() {
        add(
            &mut aggregator,
            &format!("latency:{ms}|ms"),
            "a",
            i as u64 + 1,
        );
    }
    for value in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] {
        add(&mut aggregator, &format!("size:{value}|h"), "a", 5);
    }
    add(&mut aggregator, "size:100|h|@0.1", "a", 5);
    for value in [0.5, 1.0, -2.0, 4.0] {
        add(&mut aggregator, &format!("dist:{value}|d"), "a", 6);
    }
    let request = aggregator.flush(10).unwrap();

    let Some(Data::Gauge(latency)) = &metric(&request, 0, "latency").data else {
        panic!()
    };
    let values: Vec<_> = latency
        .data_points
        .iter()
        .map(|p| (p.value, p.time_unix_nano))
        .collect();
    assert_eq!(values.len(), 3, "each sample a point");
    assert_eq!(
        values[1],
        (Some(number_data_point::Value::AsDouble(30.0)), 2)
    );

    let Some(Data::Summary(size)) = &metric(&request, 0, "size").data else {
        panic!()
    };
    let point = &size.data_points[0];
    // Ten samples of weight 1 and one of weight 10.
    assert_eq!(point.count, 20);
    assert_eq!(point.sum, 55.0 + 1000.0);
    let quantiles: Vec<(f64, f64)> = point
        .quantile_values
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    assert_eq!(
        quantiles,
        [(0.0, 1.0), (0.5, 10.0), (0.9, 100.0), (1.0, 100.0)]
    );

    let Some(Data::ExponentialHistogram(dist)) = &metric(&request, 0, "dist").data else {
        panic!()
    };
    let point = &dist.data_points[0];
    assert_eq!(point.count, 4);
    assert_eq!(point.sum, Some(3.5));
    assert_eq!((point.min, point.max), (Some(-2.0), Some(4.0)));
    let positive: u64 = point.positive.as_ref().unwrap().bucket_counts.iter().sum();
    let negative: u64 = point.negative.as_ref().unwrap().bucket_counts.iter().sum();
    assert_eq!((positive, negative, point.zero_count), (3, 1, 0));
    assert_eq!(
        dist.aggregation_temporality,
        AggregationTemporality::Delta as i32
    );
}

#[test]
fn a_disabled_observer_drops_its_samples() {
    let mut aggregator = Aggregator::new(
        Settings {
            timing: Observer::Disabled,
            ..settings()
        },
        0,
    );
    add(&mut aggregator, "latency:5|ms", "a", 1);
    assert!(aggregator.flush(2).is_none());
}
