//! Operators bring otelcol configs over: every example config of otelcol-contrib's transform processor README
//! (`processor/transformprocessor/README.md`: "Basic Config", "Advanced Config", "Context inference" and
//! "Examples"), with its statements as written there, is a valid config here; the one the README says cannot be
//! parsed is refused with the reason.

mod common;

use common::config_problems;

/// A config whose pipelines run the processors `transform/<name>` of `processors` (indented as under
/// `processors:`), one pipeline per signal.
fn config(processors: &str, traces: &[&str], metrics: &[&str], logs: &[&str]) -> String {
    let pipeline = |signal: &str, names: &[&str]| {
        if names.is_empty() {
            String::new()
        } else {
            format!(
                "    {signal}: {{ receivers: [otlp], processors: [{}], exporters: [debug] }}\n",
                names.join(", ")
            )
        }
    };
    format!(
        "receivers:\n  otlp: {{ protocols: {{ grpc: }} }}\nprocessors:\n{processors}\nexporters:\n  debug:\n\
         service:\n  pipelines:\n{}{}{}",
        pipeline("traces", traces),
        pipeline("metrics", metrics),
        pipeline("logs", logs)
    )
}

const BASIC_AND_ADVANCED: &str = r#"
  transform/basic:
    error_mode: ignore
    trace_statements:
      - keep_keys(span.attributes, ["service.name", "service.namespace", "cloud.region", "process.command_line"])
      - replace_pattern(span.attributes["process.command_line"], "password\\=[^\\s]*(\\s?)", "password=***")
      - limit(span.attributes, 100, [])
      - truncate_all(span.attributes, 4096)
    metric_statements:
      - keep_keys(resource.attributes, ["host.name"])
      - truncate_all(resource.attributes, 4096)
      - set(metric.description, "Sum") where metric.type == "Sum"
      - convert_sum_to_gauge() where metric.name == "system.processes.count"
      - convert_gauge_to_sum("cumulative", false) where metric.name == "prometheus_metric"
    log_statements:
      - set(log.severity_text, "FAIL") where log.body == "request failed"
      - replace_all_matches(log.attributes, "/user/*/list/*", "/user/{userId}/list/{listId}")
      - replace_all_patterns(log.attributes, "value", "/account/\\d{4}", "/account/{accountId}")
      - set(log.body, log.attributes["http.route"])
  transform/advanced:
    error_mode: ignore
    metric_statements:
      - error_mode: propagate
        conditions:
          - metric.type == METRIC_DATA_TYPE_SUM
        statements:
          - set(metric.description, "Sum")
    log_statements:
      - conditions:
          - IsMap(log.body) and log.body["object"] != nil
        statements:
          - set(log.body, log.attributes["http.route"])
  transform/datapoint:
    metric_statements:
      - set(metric.description, "test passed") where datapoint.attributes["test"] == "pass"
  transform/metric:
    metric_statements:
      - set(resource.attributes["test"], "passed")
      - set(metric.description, "test passed")
  transform/split:
    metric_statements:
      - statements:
        - convert_sum_to_gauge() where metric.name == "system.processes.count"
      - statements:
          - limit(datapoint.attributes, 100, ["host.name"])
"#;

const EXAMPLES: &str = r#"
  transform/if_missing:
    error_mode: ignore
    trace_statements:
      # accessing a map with a key that does not exist will return nil.
      - set(span.attributes["test"], "pass") where span.attributes["test"] == nil
  transform/rename:
    error_mode: ignore
    trace_statements:
      - set(resource.attributes["namespace"], resource.attributes["k8s.namespace.name"])
      - delete_key(resource.attributes, "k8s.namespace.name")
  transform/rename_by_regex:
    error_mode: ignore
    trace_statements:
      - replace_all_patterns(resource.attributes, "key", "k8s\\.namespace\\.name", "namespace")
  transform/combine:
    error_mode: ignore
    trace_statements:
      - set(resource.attributes["test"], Concat([resource.attributes["foo"], resource.attributes["bar"]], " "))
  transform/copy_matching:
    error_mode: ignore
    trace_statements:
      - statements:
          - set(resource.cache["attrs"], resource.attributes)
          - keep_matching_keys(resource.cache["attrs"], "pod_labels_.*")
          - set(resource.attributes["kubernetes.labels"], resource.cache["attrs"])
  transform/move_body:
    error_mode: ignore
    log_statements:
      - set(log.attributes["body"], log.body)
  transform/json:
    log_statements:
      - statements:
          - merge_maps(log.cache, ParseJSON(log.body), "upsert") where IsMatch(log.body, "^\\{")
          - set(log.attributes["attr1"], log.cache["attr1"])
          - set(log.attributes["attr2"], log.cache["attr2"])
          - set(log.attributes["nested.attr3"], log.cache["nested"]["attr3"])
  transform/error_mode_override:
    error_mode: propagate
    log_statements:
      - error_mode: ignore
        statements:
          - merge_maps(log.cache, ParseJSON(log.body), "upsert") where IsMatch(log.body, "^\\{")
          - set(log.attributes["attr1"], log.cache["attr1"])
      - statements:
          - set(log.attributes["namespace"], log.attributes["k8s.namespace.name"])
  transform/severity:
    error_mode: ignore
    log_statements:
      - set(log.severity_number, SEVERITY_NUMBER_INFO) where IsString(log.body) and IsMatch(log.body, "\\sINFO\\s")
      - set(log.severity_number, SEVERITY_NUMBER_WARN) where IsString(log.body) and IsMatch(log.body, "\\sWARN\\s")
      - set(log.severity_number, SEVERITY_NUMBER_ERROR) where IsString(log.body) and IsMatch(log.body, "\\sERROR\\s")
"#;

#[test]
fn the_basic_and_advanced_configs_and_inference_examples_are_valid() {
    let yaml = config(
        BASIC_AND_ADVANCED,
        &["transform/basic"],
        &[
            "transform/basic",
            "transform/advanced",
            "transform/datapoint",
            "transform/metric",
            "transform/split",
        ],
        &["transform/basic", "transform/advanced"],
    );
    assert_eq!(config_problems(&yaml), vec![]);
}

#[test]
fn every_example_of_the_examples_section_is_valid() {
    let yaml = config(
        EXAMPLES,
        &[
            "transform/if_missing",
            "transform/rename",
            "transform/rename_by_regex",
            "transform/combine",
            "transform/copy_matching",
        ],
        &[],
        &[
            "transform/move_body",
            "transform/json",
            "transform/error_mode_override",
            "transform/severity",
        ],
    );
    assert_eq!(config_problems(&yaml), vec![]);
}

// README "Context inference": a metric-only function beside a `datapoint` path "cannot be parsed"; the fix
// is two groups (`transform/split` above).
#[test]
fn the_example_the_readme_says_cannot_be_parsed_is_refused_with_the_reason() {
    let yaml = config(
        r#"
  transform/mixed:
    metric_statements:
      - convert_sum_to_gauge() where metric.name == "system.processes.count"
      - limit(datapoint.attributes, 100, ["host.name"])
"#,
        &[],
        &["transform/mixed"],
        &[],
    );
    let found = config_problems(&yaml);
    assert_eq!(found.len(), 1, "{found:?}");
    let (path, message) = &found[0];
    assert!(
        path.starts_with("processors.transform/mixed.metric_statements"),
        "{path}"
    );
    assert!(message.contains("convert_sum_to_gauge"), "{message}");
}
