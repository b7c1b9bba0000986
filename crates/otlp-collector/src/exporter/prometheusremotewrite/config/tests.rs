use super::*;

fn config(yaml: &str) -> RemoteWriteExporterConfig {
    serde_norway::from_str(yaml).unwrap()
}

/// Each problem of a config `validate` would print: its path under the exporter and its message.
fn problems(yaml: &str) -> Vec<(String, String)> {
    crate::component::problems(
        &crate::exporter::prometheusremotewrite::Factory,
        "exporters.prometheusremotewrite",
        yaml,
    )
}

#[test]
fn otelcol_s_own_example_config_is_taken_as_written() {
    // otelcol-contrib's testdata, with a scheme on the endpoint (Go's client refuses one without, at run time).
    let config = config(
        r#"
namespace: "test-space"
max_batch_request_parallelism: 10
retry_on_failure:
  enabled: true
  initial_interval: 10s
  max_interval: 60s
  max_elapsed_time: 10m
endpoint: "http://localhost:8888"
tls:
  ca_file: "/var/lib/mycert.pem"
write_buffer_size: 524288
add_metric_suffixes: false
headers:
  Prometheus-Remote-Write-Version: "0.1.0"
  X-Scope-OrgID: "234"
external_labels:
  key1: value1
  key2: value2
resource_to_telemetry_conversion:
  enabled: true
remote_write_queue:
  queue_size: 2000
  num_consumers: 10
"#,
    );
    assert!(config.validate().is_ok());
    assert_eq!(config.parallelism(), 10);
    let helper = config.helper();
    assert_eq!(helper.queue.num_consumers, 1, "batches stay in order");
    assert_eq!(helper.queue.queue_size, 2000);
    assert_eq!(helper.retry.initial_interval, Duration::from_secs(10));
    assert_eq!(helper.retry.max_elapsed_time, Duration::from_secs(600));
    assert_eq!(helper.timeout, Duration::from_secs(5));
}

#[test]
fn keys_left_out_take_otelcol_s_defaults_for_this_exporter() {
    let config = config("{ endpoint: \"http://prometheus:9090/api/v1/write\" }");
    assert!(config.target_info.enabled);
    assert!(config.add_metric_suffixes);
    assert!(!config.send_metadata);
    assert_eq!(config.max_batch_size_bytes, 3_000_000);
    assert_eq!(config.parallelism(), 5);
    let helper = config.helper();
    assert_eq!(helper.queue.queue_size, 10_000);
    assert_eq!(helper.retry.initial_interval, Duration::from_millis(50));
    assert_eq!(helper.retry.max_interval, Duration::from_millis(200));
    assert_eq!(helper.retry.max_elapsed_time, Duration::from_secs(60));
    // Setting one retry key keeps this exporter's defaults for the others, not every exporter's.
    let retry =
        self::config("{ endpoint: \"http://p/w\", retry_on_failure: { max_elapsed_time: 5m } }")
            .retry_on_failure;
    assert_eq!(retry.initial_interval, Duration::from_millis(50));
    assert_eq!(retry.max_elapsed_time, Duration::from_secs(300));
}

#[test]
fn mistakes_are_named_with_their_path() {
    let found = problems("{ endpoint: \"localhost:8888\" }");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "exporters.prometheusremotewrite.endpoint");
    assert!(found[0].1.contains("http:// or https://"), "{found:?}");

    let found = problems("{ endpoint: \"http://p/w\", wal: { directory: ./prom_rw } }");
    assert_eq!(
        found[0].0, "exporters.prometheusremotewrite.wal",
        "{found:?}"
    );
    assert!(found[0].1.contains("batches wait in memory"), "{found:?}");

    let found = problems("{ endpoint: \"http://p/w\", max_batch_request_parallelism: 0 }");
    assert_eq!(
        found[0].0,
        "exporters.prometheusremotewrite.remote_write_queue.num_consumers"
    );

    let found = problems("{ endpoint: \"http://p/w\", remote_write_queue: { queue_size: -1 } }");
    assert!(
        found[0]
            .0
            .starts_with("exporters.prometheusremotewrite.remote_write_queue"),
        "{found:?}"
    );

    let found = problems("{ endpoint: \"http://p/w\", external_labels: { \"k8s.cluster\": eu } }");
    assert_eq!(
        found[0].0,
        "exporters.prometheusremotewrite.external_labels"
    );
    assert!(found[0].1.contains("`k8s.cluster`"), "{found:?}");

    let found = problems("{ endpoint: \"\" }");
    assert!(found[0].1.contains("is required"), "{found:?}");
}
