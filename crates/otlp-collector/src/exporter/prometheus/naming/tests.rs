use super::*;

fn name(strategy: Strategy, namespace: &str, metric: &str, unit: &str, kind: NameKind) -> String {
    Namer::new(strategy, namespace)
        .metric(metric, unit, kind)
        .unwrap_or_default()
}

/// The cases of Prometheus's `otlptranslator` tests that otelcol's exporter names by.
#[test]
fn metric_names_follow_prometheus_s_otlp_translation() {
    use NameKind::{Counter, Gauge, Other};
    use Strategy::*;
    let cases = [
        (
            UnderscoreEscapingWithoutSuffixes,
            "",
            "metric@with#special$chars",
            "",
            Gauge,
            "metric_with_special_chars",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "",
            "123metric",
            "",
            Gauge,
            "_123metric",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "test_namespace",
            "simple_metric",
            "",
            Gauge,
            "test_namespace_simple_metric",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "",
            "metric@@##$$name",
            "",
            Gauge,
            "metric_name",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "test@namespace!!??",
            "metric",
            "",
            Gauge,
            "test_namespace_metric",
        ),
        (UnderscoreEscapingWithoutSuffixes, "", "@#$%", "", Gauge, ""),
        (
            UnderscoreEscapingWithoutSuffixes,
            "",
            "http.server.duration",
            "s",
            Other,
            "http_server_duration",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "requests",
            "",
            Counter,
            "requests_total",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "cpu_usage",
            "1",
            Gauge,
            "cpu_usage_ratio",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "items",
            "1",
            Counter,
            "items_total",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "response_time",
            "ms",
            Gauge,
            "response_time_milliseconds",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "memory_usage",
            "By",
            Gauge,
            "memory_usage_bytes",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "requests",
            "1/s",
            Gauge,
            "requests_per_second",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "throughput",
            "By/s",
            Gauge,
            "throughput_bytes_per_second",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "custom_metric",
            "custom_unit",
            Gauge,
            "custom_metric_custom_unit",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "custom_metric",
            "{custom}",
            Gauge,
            "custom_metric",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "custom_metric",
            "By/{custom}",
            Gauge,
            "custom_metric_bytes",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "requests_total",
            "",
            Counter,
            "requests_total",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "cpu_usage_ratio",
            "1",
            Gauge,
            "cpu_usage_ratio",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "response_time_seconds",
            "s",
            Gauge,
            "response_time_seconds",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "app",
            "requests",
            "1/s",
            Counter,
            "app_requests_per_second_total",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "app",
            "123_requests",
            "",
            Counter,
            "app_123_requests_total",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "metric__with__multiple__underscores",
            "unit__multiple__underscores",
            Gauge,
            "metric_with_multiple_underscores_unit_multiple_underscores",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "custom_metric",
            "unit@with#special/chars",
            Gauge,
            "custom_metric_unit_with_special_per_chars",
        ),
        (UnderscoreEscapingWithSuffixes, "", "@#$%", "", Gauge, ""),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "http.server.request.duration",
            "s",
            Other,
            "http_server_request_duration_seconds",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "active_connections",
            "",
            Other,
            "active_connections",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "",
            "uptime",
            "d",
            Gauge,
            "uptime_days",
        ),
        (
            NoTranslation,
            "",
            "métric_with_ñ_chars",
            "",
            Gauge,
            "métric_with_ñ_chars",
        ),
        (
            NoTranslation,
            "test_namespace",
            "métric_with_ñ_chars",
            "",
            Gauge,
            "test_namespace_métric_with_ñ_chars",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "",
            "requêsts",
            "",
            Counter,
            "requêsts_total",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "",
            "cpu_usagé",
            "1",
            Gauge,
            "cpu_usagé_ratio",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "",
            "respønse_time",
            "ms",
            Gauge,
            "respønse_time_milliseconds",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "",
            "requêsts",
            "1/s",
            Gauge,
            "requêsts_per_second",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "ñamespace",
            "requêsts",
            "1/s",
            Counter,
            "ñamespace_requêsts_per_second_total",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "",
            "@#$%",
            "",
            Counter,
            "@#$%_total",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "",
            "requests_total",
            "",
            Counter,
            "requests_total",
        ),
        (
            NoUtf8EscapingWithSuffixes,
            "",
            "cpu_seconds_total",
            "s",
            Counter,
            "cpu_seconds_total",
        ),
    ];
    for (strategy, namespace, metric, unit, kind, want) in cases {
        assert_eq!(
            name(strategy, namespace, metric, unit, kind),
            want,
            "{strategy:?} {namespace:?} {metric:?} {unit:?} {kind:?}"
        );
    }
}

#[test]
fn label_names_are_escaped_and_never_start_with_a_digit_or_one_underscore() {
    let namer = Namer::new(Strategy::UnderscoreEscapingWithSuffixes, "");
    let cases = [
        ("http.method", Some("http_method")),
        ("123invalid", Some("key_123invalid")),
        ("_private", Some("key_private")),
        ("__reserved__", Some("__reserved__")),
        ("ключ", None),
        ("ключ.a", Some("_____a")),
        ("", None),
    ];
    for (key, want) in cases {
        assert_eq!(namer.label(key).as_deref(), want, "{key:?}");
    }
    let utf8 = Namer::new(Strategy::NoTranslation, "");
    assert_eq!(utf8.label("http.method").as_deref(), Some("http.method"));
}

#[test]
fn target_info_takes_the_namespace() {
    assert_eq!(
        Namer::new(Strategy::UnderscoreEscapingWithSuffixes, "shop-eu").target_info(),
        "shop_eu_target_info"
    );
    assert_eq!(
        Namer::new(Strategy::UnderscoreEscapingWithSuffixes, "").target_info(),
        "target_info"
    );
}

#[test]
fn strategies_parse_by_otelcol_s_names() {
    for (text, want) in [
        (
            "UnderscoreEscapingWithSuffixes",
            Strategy::UnderscoreEscapingWithSuffixes,
        ),
        (
            "UnderscoreEscapingWithoutSuffixes",
            Strategy::UnderscoreEscapingWithoutSuffixes,
        ),
        (
            "NoUTF8EscapingWithSuffixes",
            Strategy::NoUtf8EscapingWithSuffixes,
        ),
        ("NoTranslation", Strategy::NoTranslation),
    ] {
        let parsed: Strategy = serde_norway::from_str(text).unwrap();
        assert_eq!(parsed, want);
    }
}
