use super::*;

const EXPOSITION: &str = r#"# HELP http_requests_total Requests "served"\nby route
# TYPE http_requests_total counter
http_requests_total{route="/a\"b",code="200"} 1027 1700000000123
http_requests_total{route="/c",code="500"} 3
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.25"} 3
latency_seconds_bucket{le="1"} 5
latency_seconds_bucket{le="+Inf"} 6
latency_seconds_sum 4.5
latency_seconds_count 6
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 0.02
rpc_duration_seconds_sum 1.5
rpc_duration_seconds_count 9
temperature{room="kitchen"} -Inf
"#;

#[test]
fn samples_are_grouped_into_their_declared_families() {
    let families = parse(EXPOSITION).unwrap();
    let summary: Vec<(&str, Kind, usize)> = families
        .iter()
        .map(|f| (f.name.as_str(), f.kind, f.samples.len()))
        .collect();
    assert_eq!(
        summary,
        [
            ("http_requests_total", Kind::Counter, 2),
            ("latency_seconds", Kind::Histogram, 5),
            ("rpc_duration_seconds", Kind::Summary, 3),
            ("temperature", Kind::Untyped, 1),
        ]
    );
    assert_eq!(families[0].help, "Requests \"served\"\nby route");
    assert_eq!(
        families[0].samples[0],
        Sample {
            name: "http_requests_total".into(),
            labels: vec![
                ("route".into(), "/a\"b".into()),
                ("code".into(), "200".into())
            ],
            value: 1027.0,
            timestamp_ms: Some(1_700_000_000_123),
        }
    );
    assert_eq!(families[3].samples[0].value, f64::NEG_INFINITY);
}

#[test]
fn what_is_not_the_format_names_its_line() {
    for (text, line, message) in [
        ("ok 1\nbroken{a=\"1\" 2\n", 2, "a label needs"),
        (
            "# TYPE x sometimes\nx 1\n",
            1,
            "unknown metric type `sometimes`",
        ),
        ("x{a=1} 2\n", 1, "label `a`'s value is not quoted"),
        ("x one\n", 1, "`one` is not a number"),
        ("x\n", 1, "a sample needs a value"),
    ] {
        let error = parse(text).unwrap_err();
        assert_eq!(error.line, line, "{text:?}: {error}");
        assert!(error.message.contains(message), "{text:?}: {error}");
    }
}
