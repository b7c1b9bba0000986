use super::*;
use crate::exporter::prometheus::config::PrometheusExporterConfig;
use crate::exporter::prometheus::series::Family;
use std::collections::BTreeMap;
use tokio::time::Instant;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A family as the tests write it: name, type, help, and each series' labels, sample and time.
type FamilySpec<'a> = (&'a str, Type, &'a str, Vec<(Labels, Sample, u64)>);

fn registry(families: Vec<FamilySpec<'_>>) -> Registry {
    let settings: PrometheusExporterConfig = serde_norway::from_str("endpoint: x").unwrap();
    let mut registry = Registry::new(&settings);
    for (name, kind, help, series) in families {
        let series = series
            .into_iter()
            .map(|(labels, sample, time)| (labels, Series::new(sample, time, Instant::now())))
            .collect();
        registry.families.insert(
            name.to_owned(),
            Family {
                kind,
                help: help.to_owned(),
                series,
            },
        );
    }
    registry
}

fn exemplar(value: f64) -> Exemplar {
    Exemplar {
        labels: labels(&[("trace_id", "0af7651916cd43dd8448eb211c80319c")]),
        value,
        time_unix_nano: 1_700_000_000_500_000_000,
    }
}

fn example() -> Registry {
    let mut registry = registry(vec![
        (
            "http_requests_total",
            Type::Counter,
            "Requests \"served\"\nby route",
            vec![(
                labels(&[("job", "cart"), ("route", "/a\"b")]),
                Sample::Number(1027.0, Some(exemplar(1.0))),
                1_700_000_000_123_000_000,
            )],
        ),
        (
            "latency_seconds",
            Type::Histogram,
            "",
            vec![(
                labels(&[("job", "cart")]),
                Sample::Histogram {
                    buckets: vec![(0.25, 3), (1.0, 5)],
                    count: 6,
                    sum: Some(4.5),
                    exemplars: BTreeMap::from([(1, exemplar(0.7))]),
                },
                1_700_000_000_123_000_000,
            )],
        ),
        (
            "rpc_duration_seconds",
            Type::Summary,
            "",
            vec![(
                Vec::new(),
                Sample::Summary {
                    quantiles: vec![(0.5, 0.02), (0.99, f64::INFINITY)],
                    count: 9,
                    sum: 1.5,
                },
                1_700_000_000_000_000_000,
            )],
        ),
    ]);
    registry.targets.insert(
        labels(&[
            ("host_name", "node-7"),
            ("instance", "i-1"),
            ("job", "cart"),
        ]),
        Instant::now(),
    );
    registry
}

#[test]
fn the_text_format_is_prometheus_s_0_0_4() {
    assert_eq!(
        render(&example(), Format::Text, false),
        r#"# HELP target_info Target metadata
# TYPE target_info gauge
target_info{host_name="node-7",instance="i-1",job="cart"} 1
# HELP http_requests_total Requests "served"\nby route
# TYPE http_requests_total counter
http_requests_total{job="cart",route="/a\"b"} 1027
# TYPE latency_seconds histogram
latency_seconds_bucket{job="cart",le="0.25"} 3
latency_seconds_bucket{job="cart",le="1"} 5
latency_seconds_bucket{job="cart",le="+Inf"} 6
latency_seconds_sum{job="cart"} 4.5
latency_seconds_count{job="cart"} 6
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 0.02
rpc_duration_seconds{quantile="0.99"} +Inf
rpc_duration_seconds_sum 1.5
rpc_duration_seconds_count 9
"#
    );
}

#[test]
fn open_metrics_names_counter_families_without_total_and_carries_exemplars() {
    let text = render(&example(), Format::OpenMetrics, false);
    assert!(text.contains(
        "# HELP http_requests Requests \\\"served\\\"\\nby route\n# TYPE http_requests counter\n\
         http_requests_total{job=\"cart\",route=\"/a\\\"b\"} 1027 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\"} 1 1700000000.5\n"
    ), "{text}");
    assert!(text.contains(
        "latency_seconds_bucket{job=\"cart\",le=\"0.25\"} 3\n\
         latency_seconds_bucket{job=\"cart\",le=\"1.0\"} 5 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\"} 0.7 1700000000.5\n\
         latency_seconds_bucket{job=\"cart\",le=\"+Inf\"} 6\n"
    ), "{text}");
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn timestamps_are_milliseconds_in_text_and_seconds_in_open_metrics() {
    let text = render(&example(), Format::Text, true);
    assert!(
        text.contains("http_requests_total{job=\"cart\",route=\"/a\\\"b\"} 1027 1700000000123\n"),
        "{text}"
    );
    assert!(
        text.contains("rpc_duration_seconds_count 9 1700000000000\n"),
        "{text}"
    );
    let open_metrics = render(&example(), Format::OpenMetrics, true);
    assert!(
        open_metrics.contains("latency_seconds_sum{job=\"cart\"} 4.5 1700000000.123\n"),
        "{open_metrics}"
    );
}

#[test]
fn names_outside_the_classic_characters_are_quoted() {
    let registry = registry(vec![(
        "http.server.duration",
        Type::Gauge,
        "",
        vec![(
            labels(&[("http.route", "/"), ("job", "x")]),
            Sample::Number(0.5, None),
            0,
        )],
    )]);
    assert_eq!(
        render(&registry, Format::Text, false),
        "# TYPE \"http.server.duration\" gauge\n{\"http.server.duration\",\"http.route\"=\"/\",job=\"x\"} 0.5\n"
    );
}

#[test]
fn floats_are_written_as_prometheus_reads_them() {
    for (value, text) in [
        (0.0, "0"),
        (-0.0, "0"),
        (3.0, "3"),
        (0.1, "0.1"),
        (1e-7, "1e-7"),
        (2.5e20, "2.5e20"),
        (f64::NAN, "NaN"),
        (f64::NEG_INFINITY, "-Inf"),
    ] {
        assert_eq!(float(value), text);
    }
    assert_eq!(seconds(1_000_000_000), "1");
    assert_eq!(seconds(1_250_000_000), "1.25");
}
