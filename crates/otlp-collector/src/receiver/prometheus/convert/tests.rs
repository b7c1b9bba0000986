use super::*;
use crate::receiver::prometheus::text::parse;
use opentelemetry_proto::tonic::common::v1::any_value;

fn target(honor: bool) -> TargetLabels {
    TargetLabels {
        labels: vec![("env".into(), "prod".into())],
        honor,
    }
}

fn attribute(point_attributes: &[KeyValue], key: &str) -> Option<String> {
    point_attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value.as_ref()?.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
}

#[test]
fn counters_start_when_first_seen_and_again_after_a_reset() {
    let mut starts = Starts::default();
    let scrape = |value: u32, starts: &mut Starts, now: u64| {
        let families = parse(&format!("# TYPE jobs_total counter\njobs_total {value}\n")).unwrap();
        let metrics = convert(&families, &target(false), starts, now);
        let Some(Data::Sum(sum)) = &metrics[0].data else {
            panic!()
        };
        assert!(sum.is_monotonic);
        (
            sum.data_points[0].start_time_unix_nano,
            sum.data_points[0].time_unix_nano,
        )
    };
    assert_eq!(scrape(5, &mut starts, 100), (100, 100));
    assert_eq!(scrape(9, &mut starts, 200), (100, 200));
    assert_eq!(
        scrape(2, &mut starts, 300),
        (200, 300),
        "reset after the scrape at 200"
    );
    assert_eq!(scrape(4, &mut starts, 400), (200, 400));
}

#[test]
fn histograms_become_otlp_buckets_and_summaries_quantiles() {
    let families = parse(
        "# TYPE latency histogram\nlatency_bucket{le=\"0.25\",route=\"/\"} 3\nlatency_bucket{le=\"1\",route=\"/\"} 5\n\
         latency_bucket{le=\"+Inf\",route=\"/\"} 6\nlatency_sum{route=\"/\"} 4.5\nlatency_count{route=\"/\"} 6\n\
         # TYPE rpc summary\nrpc{quantile=\"0.5\"} 0.02\nrpc{quantile=\"0.9\"} 0.3\nrpc_sum 1.5\nrpc_count 9\n",
    )
    .unwrap();
    let metrics = convert(&families, &target(false), &mut Starts::default(), 10);
    let Some(Data::Histogram(histogram)) = &metrics[0].data else {
        panic!()
    };
    let point = &histogram.data_points[0];
    assert_eq!(point.explicit_bounds, [0.25, 1.0]);
    assert_eq!(point.bucket_counts, [3, 2, 1]);
    assert_eq!((point.count, point.sum), (6, Some(4.5)));
    assert_eq!(attribute(&point.attributes, "route").as_deref(), Some("/"));
    assert_eq!(attribute(&point.attributes, "le"), None);
    let Some(Data::Summary(summary)) = &metrics[1].data else {
        panic!()
    };
    let point = &summary.data_points[0];
    assert_eq!((point.count, point.sum), (9, 1.5));
    assert_eq!(
        point
            .quantile_values
            .iter()
            .map(|q| (q.quantile, q.value))
            .collect::<Vec<_>>(),
        [(0.5, 0.02), (0.9, 0.3)]
    );
}

#[test]
fn target_labels_clash_as_honor_labels_says() {
    let families = parse("temperature{env=\"dev\",job=\"other\",room=\"a\"} 21\n").unwrap();
    for (honor, env, exported_env) in [(false, "prod", Some("dev")), (true, "dev", None)] {
        let metrics = convert(&families, &target(honor), &mut Starts::default(), 1);
        let Some(Data::Gauge(gauge)) = &metrics[0].data else {
            panic!()
        };
        let attributes = &gauge.data_points[0].attributes;
        assert_eq!(
            attribute(attributes, "env").as_deref(),
            Some(env),
            "honor {honor}"
        );
        assert_eq!(
            attribute(attributes, "exported_env").as_deref(),
            exported_env
        );
        assert_eq!(attribute(attributes, "room").as_deref(), Some("a"));
        assert_eq!(
            attribute(attributes, "job"),
            None,
            "the job is the resource's"
        );
    }
}
