//! The validation entry point: every problem of a configuration at once, each with its path,
//! on YAML sections as an otelcol user writes them; and no problem for valid configurations.

use otlp_ottl::Signal;
use otlp_ottl::validate::{ProcessorKind, validate_serialized};

fn problems(kind: ProcessorKind, yaml: &str, signals: &[Signal]) -> Vec<(String, String)> {
    let value: serde_norway::Value = serde_norway::from_str(yaml).unwrap();
    validate_serialized(kind, &value, signals)
        .into_iter()
        .map(|p| (p.path, p.message))
        .collect()
}

fn paths(found: &[(String, String)]) -> Vec<&str> {
    found.iter().map(|(p, _)| p.as_str()).collect()
}

/// The processors of the production-style configuration of issue 17.
const PRODUCTION: &[(ProcessorKind, &str)] = &[
    (
        ProcessorKind::Resource,
        r#"
attributes:
  - key: deployment.environment
    value: production
    action: upsert
"#,
    ),
    (
        ProcessorKind::Attributes,
        r#"
actions:
  - key: http.request.header.authorization
    action: delete
"#,
    ),
    (
        ProcessorKind::Filter,
        r#"
error_mode: ignore
traces:
  span:
    - 'attributes["http.route"] == "/healthz"'
"#,
    ),
    (
        ProcessorKind::Transform,
        r#"
error_mode: ignore
trace_statements:
  - context: span
    statements:
      - set(attributes["processed.by"], "otlp-suite")
"#,
    ),
];

#[test]
fn production_configuration_has_no_problems() {
    for (kind, yaml) in PRODUCTION {
        assert_eq!(
            problems(*kind, yaml, &[Signal::Traces, Signal::Logs]),
            vec![],
            "{kind:?}"
        );
    }
    // An empty section is valid for transform and filter (nothing to do).
    assert!(problems(ProcessorKind::Transform, "", &[Signal::Traces]).is_empty());
    assert!(problems(ProcessorKind::Filter, "{}", &[Signal::Traces]).is_empty());
}

#[test]
fn transform_reports_every_problem() {
    let found = problems(
        ProcessorKind::Transform,
        r#"
error_mode: loud
trace_statement: []
trace_statements:
  - set(span.attributes["a"], 1)
  - context: spanevnt
    statements: ["set(name, 1)"]
  - context: span
    statements:
      - set(attributes["x"] "y")
      - sett(name, "x")
    colour: blue
  - 42
metric_statements:
  - statements: set(metric.name, "x")
log_statements:
  - set(log.body, 1) where log.severity_number == SEVERITY_NUMBER_EROR
"#,
        &[],
    );
    assert_eq!(
        paths(&found),
        [
            "error_mode",
            "log_statements[0]",
            "metric_statements[0].statements",
            "trace_statement",
            "trace_statements[1].context",
            "trace_statements[2].colour",
            "trace_statements[2].statements[0]",
            "trace_statements[2].statements[1]",
            "trace_statements[3]",
        ]
    );
    let message = |path: &str| &found.iter().find(|(p, _)| p == path).unwrap().1;
    assert!(message("error_mode").contains("unknown variant `loud`"));
    assert!(message("trace_statement").contains("did you mean `trace_statements`?"));
    assert!(message("trace_statements[1].context").contains("did you mean \"spanevent\"?"));
    assert!(message("trace_statements[2].statements[0]").contains("column 21"));
    assert!(message("log_statements[0]").contains("did you mean `SEVERITY_NUMBER_ERROR`?"));
}

#[test]
fn filter_reports_every_problem() {
    let found = problems(
        ProcessorKind::Filter,
        r#"
traces:
  span:
    - 'name == "a"'
    - 'nmae == "a"'
  spans: []
metrics:
  include:
    match_type: strict
    metric_names: [a]
  metric:
    - 'name =='
logs:
  log_record: 'severity_number < 9'
"#,
        &[],
    );
    assert_eq!(
        paths(&found),
        [
            "logs.log_record",
            "metrics.include",
            "metrics.metric[0]",
            "traces.span[1]",
            "traces.spans",
        ]
    );
    // Legacy settings are supported, but not together with OTTL conditions for the signal.
    assert!(found[1].1.contains("`metrics.metric`"), "{found:?}");
}

#[test]
fn attributes_and_resource_report_every_problem() {
    let found = problems(
        ProcessorKind::Attributes,
        r#"
actions:
  - key: a
    action: insert
  - key: b
    value: 1
    action: upsert
    valeu: 2
  - key: c
    action: explode
  - action: delete
include:
  match_type: strict
  log_bodies: ["x"]
"#,
        &[Signal::Traces],
    );
    assert_eq!(
        paths(&found),
        [
            "actions[0]",
            "actions[1].valeu",
            "actions[2]",
            "actions[3]",
            "include"
        ]
    );
    assert!(found[1].1.contains("did you mean `value`?"));
    assert!(found[2].1.contains("unknown action \"explode\""));
    assert!(
        found[4]
            .1
            .contains("in a traces pipeline: `log_bodies` does not apply to traces")
    );

    let found = problems(ProcessorKind::Resource, "attribute: []", &[]);
    assert_eq!(paths(&found), ["attribute", "attributes"]);
}

// The transform README's basic example carries `profile_statements`, and filter takes `profiles`:
// refused with the reason (no profiles signal here), not as a typo of another key.
#[test]
fn statements_for_profiles_are_refused_with_the_reason() {
    let transform = problems(
        ProcessorKind::Transform,
        r#"
trace_statements:
  - set(span.attributes["a"], "b")
profile_statements:
  - set(profile.attributes["tag"], "profile#23")
"#,
        &[Signal::Traces],
    );
    let filter = problems(
        ProcessorKind::Filter,
        r#"
profiles:
  profile:
    - 'duration_unix_nano > 3000'
"#,
        &[Signal::Traces],
    );
    for (found, key) in [(&transform, "profile_statements"), (&filter, "profiles")] {
        assert_eq!(paths(found), [key]);
        assert!(found[0].1.contains("no profiles signal"), "{}", found[0].1);
        assert!(!found[0].1.contains("did you mean"), "{}", found[0].1);
    }
}
