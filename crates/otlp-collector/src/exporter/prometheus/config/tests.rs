use super::*;

fn parse(yaml: &str) -> PrometheusExporterConfig {
    serde_norway::from_str(yaml).unwrap()
}

#[test]
fn otelcol_s_readme_example_parses() {
    let config = parse(
        r#"
endpoint: "1.2.3.4:1234"
namespace: test-space
const_labels:
  label1: value1
  "another label": spaced value
send_timestamps: true
metric_expiration: 180m
enable_open_metrics: true
add_metric_suffixes: false
translation_strategy: "UnderscoreEscapingWithoutSuffixes"
resource_to_telemetry_conversion:
  enabled: true
"#,
    );
    assert_eq!(config.metric_expiration, Duration::from_secs(180 * 60));
    assert_eq!(config.const_labels.len(), 2);
    assert_eq!(
        config.strategy(),
        Strategy::UnderscoreEscapingWithoutSuffixes
    );
    assert!(config.labeler().resource_label("k8s.pod.name"));
    assert!(config.validate().is_ok());
}

#[test]
fn the_defaults_are_otelcol_s() {
    let config = parse("endpoint: 0.0.0.0:8889");
    assert_eq!(config.metric_expiration, Duration::from_secs(300));
    assert_eq!(config.strategy(), Strategy::UnderscoreEscapingWithSuffixes);
    assert!(!config.send_timestamps && !config.enable_open_metrics);
    assert!(!config.labeler().resource_label("service.name"));
    let without = parse("{ endpoint: 0.0.0.0:8889, add_metric_suffixes: false }");
    assert_eq!(
        without.strategy(),
        Strategy::UnderscoreEscapingWithoutSuffixes
    );
}

#[test]
fn a_missing_endpoint_says_what_to_write() {
    let invalid = parse("namespace: shop").validate().unwrap_err();
    let problems: Vec<_> = invalid.problems().collect();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, Some("endpoint"));
    assert!(problems[0].1.contains("0.0.0.0:8889"), "{}", problems[0].1);
}

#[test]
fn an_unknown_strategy_is_refused_with_the_valid_ones() {
    let error = serde_norway::from_str::<PrometheusExporterConfig>(
        "{ endpoint: x, translation_strategy: UnderscoreEscaping }",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("NoUTF8EscapingWithSuffixes"), "{error}");
}

#[test]
fn resource_to_telemetry_can_leave_out_the_service_attributes() {
    let config = parse(
        "{ endpoint: x, resource_to_telemetry_conversion: { enabled: true, exclude_service_attributes: true } }",
    );
    assert!(config.labeler().resource_label("host.name"));
    for key in ["service.name", "service.namespace", "service.instance.id"] {
        assert!(!config.labeler().resource_label(key), "{key}");
    }
}

#[test]
fn resource_constant_labels_take_precedence_and_excluded_wins() {
    let config = parse(
        r#"
endpoint: x
resource_to_telemetry_conversion: { enabled: true }
resource_constant_labels:
  included: ["service*", "k8s.*.name"]
  excluded: ["service.instance.id"]
"#,
    );
    assert!(config.labeler().resource_label("service.name"));
    assert!(config.labeler().resource_label("k8s.pod.name"));
    assert!(!config.labeler().resource_label("k8s.pod.uid"));
    assert!(!config.labeler().resource_label("service.instance.id"));
    assert!(
        !config.labeler().resource_label("host.name"),
        "included replaces the conversion"
    );

    let all_but = parse("{ endpoint: x, resource_constant_labels: { excluded: [\"host.*\"] } }");
    assert!(all_but.labeler().resource_label("service.name"));
    assert!(!all_but.labeler().resource_label("host.name"));
    let nothing = parse("{ endpoint: x, resource_constant_labels: {} }");
    assert!(!nothing.labeler().resource_label("service.name"));
}

#[test]
fn wildcards_match_any_run_of_characters() {
    for (pattern, text, want) in [
        ("*", "", true),
        ("*", "anything", true),
        ("k8s.*", "k8s.pod.name", true),
        ("k8s.*", "k8s", false),
        ("*.name", "k8s.pod.name", true),
        ("a*b*c", "abc", true),
        ("a*b*c", "a-b-x", false),
        ("a*a", "a", false),
        ("exact", "exact", true),
        ("exact", "exactly", false),
    ] {
        assert_eq!(wildcard(pattern, text), want, "{pattern:?} {text:?}");
    }
}
