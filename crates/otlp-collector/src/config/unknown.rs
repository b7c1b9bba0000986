//! What to say about a component type this collector does not have: a type of the OpenTelemetry Collector (core
//! or contrib) is named as one we lack, a misspelling gets the nearest type we have.

/// Component types of otelcol and otelcol-contrib, by config section, for telling "an otelcol component we lack"
/// from a typo. Not exhaustive: the types real configs commonly use.
fn otelcol_types(section: &str) -> &'static [&'static str] {
    match section {
        "receivers" => &[
            "apache",
            "awscloudwatch",
            "awsecscontainermetrics",
            "awsfirehose",
            "awsxray",
            "azureeventhub",
            "carbon",
            "collectd",
            "datadog",
            "docker_stats",
            "elasticsearch",
            "filelog",
            "filestats",
            "fluentforward",
            "github",
            "googlecloudpubsub",
            "haproxy",
            "hostmetrics",
            "httpcheck",
            "iis",
            "influxdb",
            "jaeger",
            "jmx",
            "journald",
            "k8s_cluster",
            "k8s_events",
            "k8sobjects",
            "kafka",
            "kafkametrics",
            "kubeletstats",
            "loki",
            "memcached",
            "mongodb",
            "mysql",
            "nginx",
            "opencensus",
            "otlpjsonfile",
            "postgresql",
            "prometheus",
            "prometheus_simple",
            "rabbitmq",
            "receiver_creator",
            "redis",
            "sapm",
            "signalfx",
            "skywalking",
            "snmp",
            "splunk_hec",
            "sqlquery",
            "statsd",
            "syslog",
            "tcplog",
            "udplog",
            "windowseventlog",
            "windowsperfcounters",
            "zipkin",
            "zookeeper",
        ],
        "processors" => &[
            "attributes",
            "batch",
            "deltatorate",
            "filter",
            "geoip",
            "groupbytrace",
            "interval",
            "k8sattributes",
            "logdedup",
            "logstransform",
            "memory_limiter",
            "metricsgeneration",
            "metricstransform",
            "probabilistic_sampler",
            "remotetap",
            "resource",
            "resourcedetection",
            "routing",
            "schema",
            "spanmetrics",
            "sumologic",
            "tail_sampling",
            "transform",
            "unroll",
        ],
        "exporters" => &[
            "alertmanager",
            "awscloudwatchlogs",
            "awsemf",
            "awskinesis",
            "awss3",
            "awsxray",
            "azuredataexplorer",
            "azuremonitor",
            "carbon",
            "clickhouse",
            "coralogix",
            "datadog",
            "dataset",
            "debug",
            "elasticsearch",
            "file",
            "googlecloud",
            "googlecloudpubsub",
            "googlemanagedprometheus",
            "honeycombmarker",
            "influxdb",
            "kafka",
            "loadbalancing",
            "logging",
            "logzio",
            "loki",
            "mezmo",
            "nop",
            "opensearch",
            "otelarrow",
            "otlp",
            "otlphttp",
            "prometheus",
            "prometheusremotewrite",
            "pulsar",
            "rabbitmq",
            "sapm",
            "sentry",
            "signalfx",
            "splunk_hec",
            "sumologic",
            "syslog",
            "zipkin",
        ],
        "extensions" => &[
            "asapclient",
            "awsproxy",
            "basicauth",
            "bearertokenauth",
            "db_storage",
            "docker_observer",
            "ecs_observer",
            "file_storage",
            "googleclientauth",
            "headers_setter",
            "health_check",
            "healthcheckv2",
            "host_observer",
            "jaegerremotesampling",
            "k8s_observer",
            "memory_limiter",
            "oauth2client",
            "oidc",
            "opamp",
            "pprof",
            "sigv4auth",
            "zpages",
        ],
        "connectors" => &[
            "datadog",
            "grafanacloud",
            "otlpjson",
            "signaltometrics",
            "sum",
        ],
        _ => &[],
    }
}

/// Which of our components does the job of an otelcol component type we lack. A name alone says nothing about a
/// component's job (`k8sattributes` is not `attributes`), so only these get a suggestion.
fn in_its_place(section: &str, kind: &str) -> Option<&'static str> {
    Some(match (section, kind) {
        ("exporters", "logging") => "use `debug`, which replaced it in otelcol too",
        ("processors", "spanmetrics") => {
            "use the `spanmetrics` connector, which replaced it in otelcol: list it among the traces pipeline's \
             exporters and the metrics pipeline's receivers"
        }
        ("extensions", "healthcheckv2") => "use `health_check`",
        ("extensions", "memory_limiter") => "use the `memory_limiter` processor",
        ("processors", "groupbytrace") => {
            "use `tail_sampling` with an `always_sample` policy: it holds each trace's spans for its \
             `decision_wait`, then releases them all"
        }
        _ => return None,
    })
}

/// The message for a component of `section` (`processors`) whose type `kind` is not among `ours` nor the
/// `aliases` (alias, type) of ours.
pub(super) fn unknown_type(
    section: &str,
    kind: &str,
    ours: &[&str],
    aliases: &[(&str, &str)],
) -> String {
    let singular = section.trim_end_matches('s');
    let mut supported = ours.join(", ");
    if !aliases.is_empty() {
        let aliases: Vec<String> = aliases
            .iter()
            .map(|(alias, of)| format!("{alias} (= {of})"))
            .collect();
        supported = format!("{supported}; also {}", aliases.join(", "));
    }
    // A misspelt alias (`otlp_grcp`) is nearer its alias than the type it stands for.
    let names: Vec<&str> = ours
        .iter()
        .copied()
        .chain(aliases.iter().map(|(alias, _)| *alias))
        .collect();
    if otelcol_types(section).contains(&kind) {
        let advice = in_its_place(section, kind).unwrap_or("there is no similar one here");
        format!(
            "unknown {singular} type `{kind}`: an OpenTelemetry Collector {singular} that otlp-suite does not \
             have; {advice}; supported: {supported}"
        )
    } else {
        match nearest(kind, &names) {
            Some(near) => {
                format!(
                    "unknown {singular} type `{kind}`; did you mean `{near}`? supported: {supported}"
                )
            }
            None => format!("unknown {singular} type `{kind}`; supported: {supported}"),
        }
    }
}

/// The name of `candidates` that `name` spells in another case or with other separators (`trace_id` for
/// `traceID`, `sendBatchSize` for `send_batch_size`), else the closest by edit distance if close enough to be what
/// was meant: at most a third of the name's length apart (two edits for short names).
pub(crate) fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let folded = fold(name);
    if let Some(same) = candidates
        .iter()
        .find(|candidate| fold(candidate) == folded)
    {
        return Some(same);
    }
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

/// `name` in lower case without `_`, `-` and `.`: what stays the same across the spellings of one name.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &[&str] = &[
        "attributes",
        "batch",
        "filter",
        "memory_limiter",
        "resource",
    ];

    #[test]
    fn distances() {
        assert_eq!(edit_distance("batchh", "batch"), 1);
        assert_eq!(edit_distance("k8sattributes", "attributes"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn an_otelcol_type_we_lack_is_named_so_with_what_does_its_job() {
        let message = unknown_type("exporters", "logging", &["debug", "otlp"], &[]);
        assert_eq!(
            message,
            "unknown exporter type `logging`: an OpenTelemetry Collector exporter that otlp-suite does not have; \
             use `debug`, which replaced it in otelcol too; supported: debug, otlp"
        );
        let message = unknown_type("processors", "groupbytrace", OURS, &[]);
        assert!(
            message.contains("use `tail_sampling` with an `always_sample` policy"),
            "{message}"
        );
    }

    #[test]
    fn an_otelcol_type_we_lack_is_not_matched_to_ours_by_its_name() {
        // Three edits from `attributes` by name, nothing like it by job: it adds Kubernetes metadata.
        let message = unknown_type("processors", "k8sattributes", OURS, &[]);
        assert!(
            message.contains(
                "an OpenTelemetry Collector processor that otlp-suite does not have; there is no similar one here"
            ),
            "{message}"
        );
        assert!(!message.contains("`attributes`"), "{message}");
    }

    #[test]
    fn every_suggested_replacement_is_an_otelcol_type_we_lack() {
        for (section, kind) in [
            ("exporters", "logging"),
            ("extensions", "healthcheckv2"),
            ("extensions", "memory_limiter"),
            ("processors", "groupbytrace"),
        ] {
            assert!(in_its_place(section, kind).is_some(), "{section}.{kind}");
            assert!(otelcol_types(section).contains(&kind), "{section}.{kind}");
        }
    }

    #[test]
    fn another_case_or_other_separators_get_the_name_they_spell() {
        let routing_keys = ["traceID", "service", "resource", "metric", "streamID"];
        assert_eq!(nearest("trace_id", &routing_keys), Some("traceID"));
        assert_eq!(nearest("stream-id", &routing_keys), Some("streamID"));
        let batch = ["send_batch_size", "send_batch_max_size", "timeout"];
        assert_eq!(nearest("sendBatchSize", &batch), Some("send_batch_size"));
        assert_eq!(
            nearest("SEND_BATCH_MAX_SIZE", &batch),
            Some("send_batch_max_size")
        );
        assert_eq!(nearest("size", &batch), None);
    }

    #[test]
    fn a_typo_gets_the_nearest_type() {
        let message = unknown_type("processors", "batchh", OURS, &[]);
        assert!(message.starts_with("unknown processor type `batchh`; did you mean `batch`?"));
        assert!(!message.contains("OpenTelemetry Collector"), "{message}");
        let message = unknown_type("processors", "zzz", OURS, &[]);
        assert!(!message.contains("did you mean"), "{message}");
    }

    #[test]
    fn a_misspelt_alias_gets_the_alias_and_aliases_are_listed() {
        let aliases = [("otlp_grpc", "otlp"), ("otlp_http", "otlphttp")];
        let message = unknown_type(
            "exporters",
            "otlp_grcp",
            &["debug", "otlp", "otlphttp"],
            &aliases,
        );
        assert_eq!(
            message,
            "unknown exporter type `otlp_grcp`; did you mean `otlp_grpc`? supported: debug, otlp, otlphttp; \
             also otlp_grpc (= otlp), otlp_http (= otlphttp)"
        );
    }
}
