use super::*;
use crate::remote_write::{Histogram as NativeHistogram, Label, MetricMetadata, Sample};

fn series(labels: &[(&str, &str)], samples: &[(f64, i64)]) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(name, value)| Label {
                name: (*name).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|(value, timestamp)| Sample {
                value: *value,
                timestamp: *timestamp,
            })
            .collect(),
        ..Default::default()
    }
}

fn metadata(family: &str, kind: MetricType) -> MetricMetadata {
    MetricMetadata {
        r#type: kind as i32,
        metric_family_name: family.to_owned(),
        ..Default::default()
    }
}

fn convert(request: &WriteRequest) -> (ExportMetricsServiceRequest, usize) {
    let mut families = Families::default();
    families.learn(request);
    to_otlp(request, &families)
}

#[test]
fn the_job_and_instance_are_the_resource_and_a_stale_sample_is_flagged() {
    let request = WriteRequest {
        timeseries: vec![series(
            &[
                ("__name__", "queue_depth"),
                ("job", "shop/cart"),
                ("instance", "10.0.0.7:9100"),
                ("queue", "orders"),
            ],
            &[
                (3.0, 1_700_000_000_000),
                (f64::from_bits(STALE_NAN), 1_700_000_001_000),
            ],
        )],
        metadata: Vec::new(),
    };
    let (otlp, refused) = convert(&request);
    assert_eq!(refused, 0);
    let resource = &otlp.resource_metrics[0];
    let attributes: Vec<(String, String)> = resource
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                otlp_ottl::Value::from_any(kv.value.as_ref().unwrap())
                    .as_string()
                    .into_owned(),
            )
        })
        .collect();
    assert_eq!(
        attributes,
        [
            ("service.namespace".to_owned(), "shop".to_owned()),
            ("service.name".to_owned(), "cart".to_owned()),
            ("service.instance.id".to_owned(), "10.0.0.7:9100".to_owned()),
        ]
    );
    let metric = &resource.scope_metrics[0].metrics[0];
    let Some(Data::Gauge(gauge)) = &metric.data else {
        panic!("a family without metadata is a gauge: {metric:?}");
    };
    assert_eq!(
        gauge.data_points[0].time_unix_nano,
        1_700_000_000_000_000_000
    );
    assert_eq!(gauge.data_points[0].flags, 0);
    assert_eq!(
        gauge.data_points[1].flags,
        DataPointFlags::NoRecordedValueMask as u32
    );
    assert_eq!(gauge.data_points[0].attributes.len(), 1);
}

#[test]
fn series_without_a_name_and_native_histograms_are_refused() {
    let mut native = series(&[("__name__", "latency")], &[]);
    native.histograms = vec![NativeHistogram::default(); 2];
    let request = WriteRequest {
        timeseries: vec![series(&[("job", "x")], &[(1.0, 1), (2.0, 2)]), native],
        metadata: Vec::new(),
    };
    let (otlp, refused) = convert(&request);
    assert_eq!(refused, 4);
    assert!(
        otlp.resource_metrics
            .iter()
            .all(|r| r.scope_metrics.iter().all(|s| s.metrics.is_empty()))
    );
}

#[test]
fn a_histogram_without_its_inf_bucket_keeps_the_rest_of_its_count() {
    fn labels(le: &str) -> Vec<(&str, &str)> {
        vec![
            ("__name__", "rpc_seconds_bucket"),
            ("job", "api"),
            ("le", le),
        ]
    }
    let request = WriteRequest {
        timeseries: vec![
            series(&labels("0.5"), &[(4.0, 1000)]),
            series(&labels("0.1"), &[(1.0, 1000)]),
            series(
                &[("__name__", "rpc_seconds_count"), ("job", "api")],
                &[(9.0, 1000)],
            ),
            series(
                &[("__name__", "rpc_seconds_sum"), ("job", "api")],
                &[(2.5, 1000)],
            ),
        ],
        metadata: vec![metadata("rpc_seconds", MetricType::Histogram)],
    };
    let (otlp, _) = convert(&request);
    let metric = &otlp.resource_metrics[0].scope_metrics[0].metrics[0];
    assert_eq!(metric.name, "rpc_seconds");
    let Some(Data::Histogram(histogram)) = &metric.data else {
        panic!("{metric:?}");
    };
    let point = &histogram.data_points[0];
    assert_eq!(point.explicit_bounds, [0.1, 0.5]);
    assert_eq!(point.bucket_counts, [1, 3, 5]);
    assert_eq!((point.count, point.sum), (9, Some(2.5)));
    assert_eq!(point.time_unix_nano, 1_000_000_000);
}

#[test]
fn a_counter_is_known_by_its_family_with_or_without_total() {
    for family in ["jobs_total", "jobs"] {
        let request = WriteRequest {
            timeseries: vec![series(&[("__name__", "jobs_total")], &[(5.0, 1)])],
            metadata: vec![metadata(family, MetricType::Counter)],
        };
        let (otlp, _) = convert(&request);
        let metric = &otlp.resource_metrics[0].scope_metrics[0].metrics[0];
        assert!(
            matches!(&metric.data, Some(Data::Sum(sum)) if sum.is_monotonic),
            "{family}: {metric:?}"
        );
        assert!(
            otlp.resource_metrics[0]
                .resource
                .as_ref()
                .unwrap()
                .attributes
                .is_empty()
        );
    }
}
