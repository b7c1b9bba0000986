use super::super::line::points;
use super::*;

/// The request `body`'s points make, stamped 7 where a line has no time; panics on a line that does not convert.
fn convert(body: &str) -> ExportMetricsServiceRequest {
    let mut metrics = Metrics::default();
    for (line, point) in points(body) {
        let point = point.unwrap_or_else(|e| panic!("line {line}: {e}"));
        let time = point.time.map_or(7, |t| t as u64);
        metrics
            .add(point, time)
            .unwrap_or_else(|e| panic!("line {line}: {e}"));
    }
    metrics.finish().0
}

fn all_metrics(request: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect()
}

fn named<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    all_metrics(request)
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no `{name}`"))
}

fn attributes(pairs: &[KeyValue]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                otlp_ottl::Value::from_any(kv.value.as_ref().unwrap())
                    .as_string()
                    .into_owned(),
            )
        })
        .collect()
}

#[test]
fn telegrafs_own_plugins_make_a_gauge_per_numeric_field() {
    let request = convert(
        "cpu,cpu=cpu0,host=web1 usage_idle=99.5,usage_user=0.25,busy=true,state=\"ok\" 1000\n\
         mem,host=web1 used=42i,free=7u 1000",
    );
    let names: Vec<&str> = all_metrics(&request)
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["cpu_usage_idle", "cpu_usage_user", "mem_used", "mem_free"]
    );
    let Some(metric::Data::Gauge(gauge)) = &named(&request, "cpu_usage_idle").data else {
        panic!()
    };
    let point = &gauge.data_points[0];
    assert_eq!(point.value, Some(number_data_point::Value::AsDouble(99.5)));
    assert_eq!(point.time_unix_nano, 1000);
    // `host` is not a semantic-convention name (`host.name` is): an attribute.
    assert_eq!(
        attributes(&point.attributes),
        [
            ("cpu".into(), "cpu0".into()),
            ("host".into(), "web1".into())
        ]
    );
    let Some(metric::Data::Gauge(used)) = &named(&request, "mem_used").data else {
        panic!()
    };
    assert_eq!(
        used.data_points[0].value,
        Some(number_data_point::Value::AsInt(42))
    );
}

#[test]
fn v1_gauges_counters_and_histograms_are_named_after_the_measurement() {
    let request = convert(
        "cpu_temp,foo=bar gauge=87.332 1\n\
         http_requests_total,method=post,code=200 counter=1027 1\n\
         http_requests_total,method=post,code=400,temporality=delta counter=3 1\n\
         http_request_duration_seconds 0.05=24054,0.1=33444,0.2=100392,0.5=129389,1=133988,sum=53423,count=144320 1\n\
         with_inf 1=2,+Inf=5,count=5,sum=9,min=0.5,max=30 1",
    );
    let Some(metric::Data::Gauge(gauge)) = &named(&request, "cpu_temp").data else {
        panic!()
    };
    assert_eq!(
        gauge.data_points[0].value,
        Some(number_data_point::Value::AsDouble(87.332))
    );
    let Some(metric::Data::Sum(sum)) = &named(&request, "http_requests_total").data else {
        panic!()
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.data_points.len(),
        2,
        "one metric, as a name is one metric"
    );
    let Some(metric::Data::Histogram(histogram)) =
        &named(&request, "http_request_duration_seconds").data
    else {
        panic!()
    };
    let point = &histogram.data_points[0];
    assert_eq!(point.explicit_bounds, [0.05, 0.1, 0.2, 0.5, 1.0]);
    // Counts per bucket, the last one's above the last bound.
    assert_eq!(
        point.bucket_counts,
        [24054, 9390, 66948, 28997, 4599, 10332]
    );
    assert_eq!((point.count, point.sum), (144320, Some(53423.0)));
    let Some(metric::Data::Histogram(inf)) = &named(&request, "with_inf").data else {
        panic!()
    };
    let point = &inf.data_points[0];
    assert_eq!(
        (
            point.explicit_bounds.as_slice(),
            point.bucket_counts.as_slice()
        ),
        (&[1.0][..], &[2, 3][..])
    );
    assert_eq!((point.min, point.max), (Some(0.5), Some(30.0)));
}

#[test]
fn v2_lines_of_one_histogram_or_summary_make_one_point() {
    let request = convert(
        "prometheus,foo=bar cpu_temp=87.332 5\n\
         prometheus,le=0.05 http_request_duration_seconds_bucket=24054 5\n\
         prometheus,le=0.1 http_request_duration_seconds_bucket=33444 5\n\
         prometheus,le=+Inf http_request_duration_seconds_bucket=144320 5\n\
         prometheus http_request_duration_seconds_count=144320,http_request_duration_seconds_sum=53423 5\n\
         prometheus,quantile=0.99 rpc_duration_seconds=76656 5\n\
         prometheus,quantile=0.01 rpc_duration_seconds=3102 5\n\
         prometheus rpc_duration_seconds_count=2693,rpc_duration_seconds_sum=17560473 5\n\
         prometheus,quantile=0.5 rpc_duration_seconds=10 6",
    );
    let Some(metric::Data::Gauge(gauge)) = &named(&request, "cpu_temp").data else {
        panic!()
    };
    assert_eq!(
        attributes(&gauge.data_points[0].attributes),
        [("foo".into(), "bar".into())]
    );
    let Some(metric::Data::Histogram(histogram)) =
        &named(&request, "http_request_duration_seconds").data
    else {
        panic!()
    };
    assert_eq!(histogram.data_points.len(), 1);
    let point = &histogram.data_points[0];
    assert_eq!(point.explicit_bounds, [0.05, 0.1]);
    assert_eq!(point.bucket_counts, [24054, 9390, 110876]);
    assert_eq!((point.count, point.sum), (144320, Some(53423.0)));
    assert!(point.attributes.is_empty(), "`le` is no attribute");
    let Some(metric::Data::Summary(summary)) = &named(&request, "rpc_duration_seconds").data else {
        panic!()
    };
    assert_eq!(summary.data_points.len(), 2, "another time, another point");
    let point = &summary.data_points[0];
    let quantiles: Vec<(f64, f64)> = point
        .quantile_values
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    assert_eq!(quantiles, [(0.01, 3102.0), (0.99, 76656.0)]);
    assert_eq!((point.count, point.sum), (2693, 17560473.0));
}

#[test]
fn resource_and_scope_tags_group_the_points() {
    let request = convert(
        "m,service.name=api,host.name=h1,otel.library.name=lib,otel.library.version=1.2,route=/a gauge=1 1\n\
         m,service.name=api,host.name=h1,otel.library.name=lib,otel.library.version=1.2,route=/b gauge=2 1\n\
         m,service.name=db,route=/a gauge=3 1",
    );
    assert_eq!(request.resource_metrics.len(), 2);
    let first = &request.resource_metrics[0];
    assert_eq!(
        attributes(&first.resource.as_ref().unwrap().attributes),
        [
            ("host.name".into(), "h1".into()),
            ("service.name".into(), "api".into())
        ]
    );
    let scope = first.scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("lib", "1.2")
    );
    let Some(metric::Data::Gauge(gauge)) = &first.scope_metrics[0].metrics[0].data else {
        panic!()
    };
    assert_eq!(gauge.data_points.len(), 2);
    assert_eq!(
        attributes(&gauge.data_points[1].attributes),
        [("route".into(), "/b".into())]
    );
}

#[test]
fn start_times_are_read_from_either_field() {
    let request = convert(
        "a,x=1 counter=5i,start_time_unix_nano=100i 200\n\
         b,metric_type=counter counter=5i,start_time=\"1970-01-01T00:00:01Z\" 2000000000",
    );
    let Some(metric::Data::Sum(a)) = &named(&request, "a").data else {
        panic!()
    };
    assert_eq!(a.data_points[0].start_time_unix_nano, 100);
    let Some(metric::Data::Sum(b)) = &named(&request, "b").data else {
        panic!()
    };
    assert_eq!(b.data_points[0].start_time_unix_nano, 1_000_000_000);
}

#[test]
fn a_line_that_contradicts_the_request_adds_nothing() {
    let mut metrics = Metrics::default();
    let mut add = |line: &str| {
        let (_, point) = points(line).next().unwrap();
        metrics.add(point.unwrap(), 1)
    };
    add("x gauge=1").unwrap();
    let error = add("x counter=2").unwrap_err();
    assert!(
        error.contains("metric `x` is a gauge in this request and a counter"),
        "{error}"
    );
    add("m a=1").unwrap();
    let error = add("prometheus,le=0.5 wrong=1").unwrap_err();
    assert!(error.contains("not `<name>_bucket`"), "{error}");
    assert!(
        add("prometheus,le=high a_bucket=1")
            .unwrap_err()
            .contains("not a bucket bound")
    );
    assert_eq!(metrics.finish().1, 2);
}
