//! The config follows otelcol's YAML layout, and every mistake is an error that names where it is and what is
//! supported.

use otlp_collector::config::ComponentId;
use otlp_collector::{BatchConfig, FileExporterConfig, OtlpGrpcExporterConfig, OtlpReceiverConfig};
use otlp_collector::{Config, Error, FileFormat, Signal};
use otlp_collector::{DebugExporterConfig, OtlpHttpExporterConfig};
use std::time::Duration;

/// The first problem of a config that has some (every problem is reported, in the order of the file's sections
/// and checks; the snippets here may have others besides the one a test is about).
fn error(yaml: &str) -> (String, String) {
    match Config::from_yaml(yaml) {
        Err(error @ (Error::Config { .. } | Error::Problems(_))) => {
            let first = error.config_problems().remove(0);
            (first.path, first.message)
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

const MINIMAL_SERVICE: &str = r#"
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
"#;

#[test]
fn the_embedded_default_is_valid_and_writes_under_otlp_data() {
    let config = Config::embedded_default().unwrap();
    assert_eq!(config.service.pipelines.len(), 3);
    let Some(otlp) = config
        .receivers
        .get(&ComponentId::parse("otlp").unwrap())
        .and_then(|c| c.get::<OtlpReceiverConfig>())
    else {
        panic!("no otlp receiver");
    };
    assert_eq!(
        otlp.protocols.grpc.as_ref().unwrap().endpoint,
        "127.0.0.1:4317"
    );
    assert_eq!(
        otlp.protocols.http.as_ref().unwrap().endpoint,
        "127.0.0.1:4318"
    );
    for exporter in config.exporters.values() {
        let Some(file) = exporter.get::<FileExporterConfig>() else {
            panic!("{exporter:?}")
        };
        assert!(file.path.starts_with("./otlp-data"));
    }
}

#[test]
fn a_full_otelcol_config_parses_with_named_instances_and_defaults() {
    let config = Config::from_yaml(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
      http:
        endpoint: 0.0.0.0:4318
  otlp/internal:
    protocols:
      grpc: { endpoint: "localhost:14317", max_recv_msg_size_mib: 16 }
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 4000
    spike_limit_mib: 800
  batch:
  batch/big:
    send_batch_size: 10000
    send_batch_max_size: 11000
    timeout: 1m30s
exporters:
  otlp/backend:
    endpoint: backend.example.com:4317
    compression: zstd
    headers: { x-api-key: secret }
    sending_queue: { num_consumers: 4, queue_size: 5000 }
    retry_on_failure: { initial_interval: 1s, max_elapsed_time: 0s }
  otlphttp:
    endpoint: http://backend:4318
    encoding: json
  file/json: { path: /tmp/out.jsonl }
  debug: { verbosity: detailed }
extensions:
  health_check:
service:
  extensions: [health_check]
  pipelines:
    traces: { receivers: [otlp, otlp/internal], processors: [memory_limiter, batch], exporters: [otlp/backend, debug] }
    traces/archive: { receivers: [otlp], processors: [batch/big], exporters: [file/json] }
    metrics: { receivers: [otlp], processors: [batch], exporters: [otlphttp] }
  telemetry:
    logs: { level: debug }
    metrics:
      readers:
        - pull: { exporter: { prometheus: { host: 0.0.0.0, port: 9999 } } }
"#,
    )
    .unwrap();
    assert_eq!(config.service.pipelines.len(), 3);
    assert!(
        config
            .service
            .pipelines
            .keys()
            .any(|id| id.signal == Signal::Traces && id.name.as_deref() == Some("archive"))
    );
    let Some(otlp) = config
        .receivers
        .get(&ComponentId::parse("otlp").unwrap())
        .and_then(|c| c.get::<OtlpReceiverConfig>())
    else {
        panic!()
    };
    // `grpc:` with no value means "enabled, with defaults", as in otelcol.
    assert_eq!(
        otlp.protocols.grpc.as_ref().unwrap().endpoint,
        "localhost:4317"
    );
    assert_eq!(
        otlp.protocols.grpc.as_ref().unwrap().max_recv_msg_size_mib,
        4
    );
    let Some(big) = config
        .processors
        .get(&ComponentId::parse("batch/big").unwrap())
        .and_then(|c| c.get::<BatchConfig>())
    else {
        panic!()
    };
    assert_eq!(big.timeout, Duration::from_secs(90));
    let Some(default_batch) = config
        .processors
        .get(&ComponentId::parse("batch").unwrap())
        .and_then(|c| c.get::<BatchConfig>())
    else {
        panic!()
    };
    assert_eq!(default_batch.send_batch_size, 8192);
    assert_eq!(default_batch.timeout, Duration::from_millis(200));
    let Some(backend) = config
        .exporters
        .get(&ComponentId::parse("otlp/backend").unwrap())
        .and_then(|c| c.get::<OtlpGrpcExporterConfig>())
    else {
        panic!()
    };
    assert_eq!(backend.sending_queue.queue_size, 5000);
    assert_eq!(backend.retry_on_failure.max_elapsed_time, Duration::ZERO);
    assert_eq!(backend.retry_on_failure.multiplier, 1.5);
    assert_eq!(backend.timeout, Duration::from_secs(5));
    let Some(file) = config
        .exporters
        .get(&ComponentId::parse("file/json").unwrap())
        .and_then(|c| c.get::<FileExporterConfig>())
    else {
        panic!()
    };
    assert_eq!(file.format, FileFormat::Json);
    assert_eq!(
        config.service.telemetry.metrics_address.as_deref(),
        Some("0.0.0.0:9999")
    );
    assert_eq!(config.service.telemetry.log_level, "debug");
}

#[test]
fn an_unknown_component_type_names_it_and_what_is_supported() {
    let (path, message) = error(&format!(
        "receivers: {{ kafka: {{}} }}\nexporters: {{ debug: }}{MINIMAL_SERVICE}"
    ));
    assert_eq!(path, "receivers.kafka");
    assert!(
        message.contains("unknown receiver type `kafka`"),
        "{message}"
    );
    assert!(
        message.contains(
            "supported: apache, arrow_flight, awsxray, carbon, chrony, collectd, datadog, filelog, filestats, fluentforward, haproxy, hostmetrics, httpcheck, influxdb, jaeger, journald, loki, memcached, mysql, namedpipe, nginx, nop, ntp, otlp"
        ),
        "{message}"
    );

    let (path, message) = error(&format!(
        "receivers: {{ otlp: }}\nexporters: {{ debug: , kafka/2: {{}} }}{MINIMAL_SERVICE}"
    ));
    assert_eq!(path, "exporters.kafka/2");
    assert!(
        message.contains(
            "supported: arrow_flight, carbon, debug, file, influxdb, loadbalancing, nop, otlp, otlphttp"
        ),
        "{message}"
    );
}

#[test]
fn otelcols_current_type_names_are_aliases_and_keep_their_ids() {
    let config = Config::from_yaml(
        r#"
receivers: { otlp: { protocols: { grpc: } } }
processors: { resource_detection/env: { detectors: [env] } }
exporters:
  otlp_grpc/2: { endpoint: "backend:4317" }
  otlp_http: { endpoint: "https://backend:4318" }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [resource_detection/env], exporters: [otlp_grpc/2, otlp_http] }
"#,
    )
    .unwrap();
    let grpc = ComponentId::parse("otlp_grpc/2").unwrap();
    let Some(settings) = config.exporters.get(&grpc) else {
        panic!("{:?}", config.exporters.keys().collect::<Vec<_>>());
    };
    assert_eq!(settings.type_name(), "otlp");
    assert!(settings.get::<OtlpGrpcExporterConfig>().is_some());
    let http = &config.exporters[&ComponentId::parse("otlp_http").unwrap()];
    assert!(http.get::<OtlpHttpExporterConfig>().is_some());
    let detection = ComponentId::parse("resource_detection/env").unwrap();
    assert_eq!(
        config.processors[&detection].type_name(),
        "resourcedetection"
    );
    let traces = config.service.pipelines.values().next().unwrap();
    assert_eq!(traces.exporters[0].to_string(), "otlp_grpc/2");

    // An alias's settings are checked, and their problems named, under the alias.
    let (path, message) = error(&format!(
        "receivers: {{ otlp: }}\nexporters: {{ debug: , otlp_grpc/2: {{ endpoint: \"backend:4317\", timeoutt: 5s }} }}{MINIMAL_SERVICE}"
    ));
    assert_eq!(path, "exporters.otlp_grpc/2.timeoutt");
    assert!(message.contains("did you mean `timeout`?"), "{message}");
}

#[test]
fn an_unknown_key_names_its_path_and_the_keys_that_exist() {
    let (path, message) = error(&format!(
        r#"
receivers: {{ otlp: }}
exporters:
  debug:
  otlp/2:
    endpoint: backend:4317
    sending_queue: {{ queue_sise: 10 }}
{MINIMAL_SERVICE}"#
    ));
    assert_eq!(path, "exporters.otlp/2.sending_queue.queue_sise");
    assert!(message.contains("unknown field `queue_sise`"), "{message}");
    assert!(message.contains("queue_size"), "{message}");

    let (path, message) = error(&format!(
        "receivers: {{ otlp: {{ protocols: {{ grpc: {{ endpont: x }} }} }} }}\nexporters: {{ debug: }}{MINIMAL_SERVICE}"
    ));
    assert_eq!(path, "receivers.otlp.protocols.grpc.endpont");
    assert!(message.contains("unknown field `endpont`"), "{message}");

    let (path, message) = error(
        "receivers: { otlp: }\nexporters: { debug: }\nservice: { pipelines: { traces: { receivers: [otlp], exporters: [debug], procesors: [] } } }",
    );
    assert_eq!(path, "service.pipelines.traces.procesors");
    assert!(message.contains("unknown field `procesors`"), "{message}");

    let (path, message) = error("recievers: {}");
    assert_eq!(path, "recievers");
    assert!(message.contains("unknown section"), "{message}");
}

#[test]
fn bad_values_and_references_are_errors() {
    let (path, message) = error(&format!(
        "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nprocessors: {{ batch: {{ timeout: 5 seconds }} }}\nexporters: {{ debug: }}{MINIMAL_SERVICE}"
    ));
    assert_eq!(path, "processors.batch.timeout");
    assert!(message.contains("not a duration"), "{message}");

    let (path, message) = error(
        "receivers: { otlp: }\nexporters: { debug: }\nservice: { pipelines: { traces: { receivers: [otlp], exporters: [otlp] } } }",
    );
    assert_eq!(path, "service.pipelines.traces.exporters");
    assert!(message.contains("`otlp` is not defined"), "{message}");
    assert!(message.contains("defined: debug"), "{message}");

    // A component present but unreadable is named among the defined ones, not hidden behind "none are defined".
    let yaml = "receivers: { otlp: }\nexporters: { otlp: { endpoint: 4317, queue_sise: 1 } }\nservice: { pipelines: { traces: { receivers: [otlp], exporters: [otlp/missing] } } }";
    let problems = match Config::from_yaml(yaml) {
        Err(error) => error.config_problems(),
        Ok(_) => panic!("a config with a misspelt key and a dangling reference was taken"),
    };
    let dangling = problems
        .iter()
        .find(|p| p.path == "service.pipelines.traces.exporters")
        .unwrap_or_else(|| panic!("{problems:?}"));
    assert!(
        dangling
            .message
            .contains("(defined: otlp (whose settings have problems))"),
        "{}",
        dangling.message
    );

    let (path, message) = error(
        "receivers: { otlp: }\nexporters: { debug: }\nservice: { pipelines: { spans: { receivers: [otlp], exporters: [debug] } } }",
    );
    assert_eq!(path, "service.pipelines.spans");
    assert!(
        message.contains("supported: traces, metrics, logs"),
        "{message}"
    );

    let (path, message) = error(&format!(
        "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nprocessors: {{ memory_limiter: {{ limit_mib: 100 }} }}\nexporters: {{ debug: }}{MINIMAL_SERVICE}"
    ));
    assert_eq!(path, "processors.memory_limiter");
    assert!(message.contains("check_interval"), "{message}");

    let (_, message) = error(&format!(
        "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nexporters: {{ debug: , otlphttp: {{ endpoint: \"ftp://x\" }} }}{MINIMAL_SERVICE}"
    ));
    assert!(
        message.contains("must be an http:// or https:// URL"),
        "{message}"
    );
    // Without a scheme, as an `otlp` (gRPC) endpoint may be written: the same answer, not `http::Uri`'s "invalid
    // format".
    let (_, message) = error(&format!(
        "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nexporters: {{ debug: , otlphttp: {{ endpoint: \"backend:4318\" }} }}{MINIMAL_SERVICE}"
    ));
    assert!(
        message.contains(
            "endpoint `backend:4318/v1/traces`: must be an http:// or https:// URL with a host, such as \
             `https://backend:4318`"
        ),
        "{message}"
    );
    let (_, message) = error(&format!(
        "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nexporters: {{ debug: , otlphttp: {{ endpoint: \"https://backend:4318/v1/traces\" }} }}{MINIMAL_SERVICE}"
    ));
    assert!(
        message.contains(
            "endpoint `https://backend:4318/v1/traces`: `/v1/traces` and the other signals' paths are added to \
             it, so it is the base URL `https://backend:4318`; a whole URL goes in `traces_endpoint`"
        ),
        "{message}"
    );

    let (path, message) = error(&format!(
        "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nexporters: {{ debug: , arrow_flight: {{ endpoint: \"http://x:1\", compression: gzip }} }}{MINIMAL_SERVICE}"
    ));
    assert_eq!(path, "exporters.arrow_flight");
    assert!(message.contains("zstd or none"), "{message}");

    assert!(matches!(
        Config::from_yaml("receivers: [unclosed"),
        Err(Error::Yaml(_))
    ));
    let (path, _) = error("service: { pipelines: {} }");
    assert_eq!(path, "service.pipelines");
    let (path, message) = error(&format!(
        "receivers: {{ otlp: }}\nexporters: {{ debug: }}{MINIMAL_SERVICE}"
    ));
    assert_eq!(path, "receivers.otlp.protocols");
    assert!(message.contains("grpc or http"), "{message}");
}

#[test]
fn cors_settings_are_checked() {
    let cors = |settings: &str| {
        error(&format!(
            "receivers: {{ otlp: {{ protocols: {{ http: {{ cors: {settings} }} }} }} }}\nexporters: {{ debug: }}{MINIMAL_SERVICE}"
        ))
    };
    let (path, message) = cors("{ allowed_origins: [\"https://*.*.example.com\"] }");
    assert_eq!(path, "receivers.otlp.protocols");
    assert!(
        message.contains("http.cors.allowed_origins[0]") && message.contains("more than one `*`"),
        "{message}"
    );
    let (_, message) = cors("{ allowed_origins: [\"*\"], allowed_headers: [\"X Tenant\"] }");
    assert!(
        message
            .contains("http.cors.allowed_headers[0]: `X Tenant` is not a valid HTTP header name"),
        "{message}"
    );
    let (path, message) = cors("{ allowed_origin: [\"*\"] }");
    assert_eq!(path, "receivers.otlp.protocols.http.cors.allowed_origin");
    assert!(message.contains("allowed_origins"), "{message}");
}

#[test]
fn grpc_keepalive_keys_tonic_lacks_are_refused_with_the_reason() {
    let keepalive = |settings: &str| {
        error(&format!(
            "receivers: {{ otlp: {{ protocols: {{ grpc: {{ keepalive: {settings} }} }} }} }}\nexporters: {{ debug: }}{MINIMAL_SERVICE}"
        ))
    };
    let (path, message) = keepalive("{ server_parameters: { max_connection_idle: 1m } }");
    assert_eq!(
        path,
        "receivers.otlp.protocols.grpc.keepalive.server_parameters.max_connection_idle"
    );
    assert!(
        message.starts_with(
            "not supported: tonic's gRPC server cannot close a connection for being idle"
        ),
        "{message}"
    );
    assert!(!message.contains("did you mean"), "{message}");
    let (path, message) = keepalive("{ enforcement_policy: { min_time: 5s } }");
    assert_eq!(
        path,
        "receivers.otlp.protocols.grpc.keepalive.enforcement_policy"
    );
    assert!(
        message.contains("has no policy on how often clients may send them"),
        "{message}"
    );
    assert!(!message.contains("did you mean"), "{message}");
}

#[test]
fn compression_names_are_otelcols_and_errors_list_only_real_ones() {
    let exporter = |compression: &str| {
        format!(
            "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nexporters: {{ debug: , otlphttp: {{ endpoint: \"http://backend:4318\", compression: {compression} }} }}{MINIMAL_SERVICE}"
        )
    };
    let (path, message) = error(&exporter("snappy"));
    assert_eq!(path, "exporters.otlphttp.compression");
    assert_eq!(
        message,
        "`snappy` is an otelcol compression otlp-suite does not have; supported: none, gzip, zstd, deflate, zlib"
    );
    let (_, message) = error(&exporter("gzp"));
    assert_eq!(
        message,
        "unknown variant `gzp`, expected one of `none`, `gzip`, `zstd`, `deflate`, `zlib`; did you mean `gzip`?"
    );
    for accepted in ["\"\"", "none", "zlib", "deflate"] {
        Config::from_yaml(&exporter(accepted)).unwrap();
    }
}

#[test]
fn the_debug_exporter_takes_otelcols_use_internal_logger() {
    let config = Config::from_yaml(&format!(
        "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nexporters: {{ debug: {{ verbosity: detailed, use_internal_logger: false }} }}{MINIMAL_SERVICE}"
    ))
    .unwrap();
    let debug = &config.exporters[&ComponentId::parse("debug").unwrap()];
    let Some(debug) = debug.get::<DebugExporterConfig>() else {
        panic!("{debug:?}");
    };
    assert!(!debug.use_internal_logger);
    let (path, message) = error(&format!(
        "receivers: {{ otlp: }}\nexporters: {{ debug: {{ use_internal_logger: maybe }} }}{MINIMAL_SERVICE}"
    ));
    assert_eq!(path, "exporters.debug.use_internal_logger");
    assert!(message.contains("expected a boolean"), "{message}");
}

#[test]
fn only_otlphttp_may_skip_certificate_verification() {
    let exporter = |settings: &str| {
        format!(
            "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nexporters: {{ debug: , {settings} }}{MINIMAL_SERVICE}"
        )
    };
    let (path, message) = error(&exporter(
        "otlp: { endpoint: \"backend:4317\", tls: { insecure_skip_verify: true } }",
    ));
    assert_eq!(path, "exporters.otlp");
    assert!(
        message.contains("tls.insecure_skip_verify") && message.contains("tls.ca_file"),
        "{message}"
    );
    let config = Config::from_yaml(&exporter(
        "otlphttp: { endpoint: \"https://backend:4318\", tls: { insecure_skip_verify: true } }",
    ))
    .unwrap();
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());

    // `insecure` is taken, as otelcol takes it, but verifies all the same: the operator is told which key skips.
    let config = Config::from_yaml(&exporter(
        "otlp_http/2: { endpoint: \"https://backend:4318\", tls: { insecure: true } }",
    ))
    .unwrap();
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .starts_with("at `exporters.otlp_http/2.tls.insecure`: has no effect on otlphttp")
            && warnings[0].ends_with("to skip verification set `tls.insecure_skip_verify: true`"),
        "{warnings:?}"
    );
}

#[test]
fn resource_detection_names_what_it_can_detect() {
    let detection = |settings: &str| {
        error(&format!(
            "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nprocessors: {{ resourcedetection: {settings} }}\nexporters: {{ debug: }}{MINIMAL_SERVICE}"
        ))
    };
    let (path, message) = detection("{ detectors: [env, ec2] }");
    assert_eq!(path, "processors.resourcedetection.detectors[1]");
    assert!(
        message.contains("`ec2`") && message.contains("supported: env, system"),
        "{message}"
    );
    let (path, message) =
        detection("{ detectors: [system], system: { hostname_sources: [dns, os] } }");
    assert_eq!(
        path,
        "processors.resourcedetection.system.hostname_sources[0]"
    );
    assert!(message.contains("`os` only"), "{message}");
    let (path, message) = detection(
        "{ detectors: [system], system: { resource_attributes: { host.id: { enabled: true } } } }",
    );
    assert_eq!(
        path,
        "processors.resourcedetection.system.resource_attributes.host.id"
    );
    assert!(
        message.contains("host.name, os.type, host.arch"),
        "{message}"
    );
    // otelcol's keys for metadata services, which env and system do not call: taken, and still checked.
    let taken = "receivers: { otlp: { protocols: { grpc: } } }\nprocessors: { resourcedetection: { detectors: [env, system], refresh_interval: 5m, fail_on_missing_metadata: true, retry: { initial_interval: 1s, max_elapsed_time: 10s } } }\nexporters: { debug: }";
    Config::from_yaml(&format!("{taken}{MINIMAL_SERVICE}")).unwrap();
    let (path, message) = detection("{ detectors: [env], refresh_interval: 5 minutes }");
    assert_eq!(path, "processors.resourcedetection.refresh_interval");
    assert!(message.contains("not a duration"), "{message}");
    let (path, _) =
        detection("{ detectors: [env], retry: { initial_interval: 1s, multiplyer: 2 } }");
    assert_eq!(path, "processors.resourcedetection.retry.multiplyer");
}

#[test]
fn environment_variables_are_substituted_with_types_and_defaults() {
    let env = |name: &str| match name {
        "OTLP_PORT" => Some("4999".to_string()),
        "BACKEND" => Some("collector.internal".to_string()),
        "QUEUE" => Some("77".to_string()),
        _ => None,
    };
    let config = Config::from_yaml_with_env(
        r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:${env:OTLP_PORT}" } } }
exporters:
  otlp:
    endpoint: "${env:BACKEND}:4317"
    sending_queue: { queue_size: "${env:QUEUE}" }
    headers: { x-region: "${env:REGION:-eu-west-1}", x-cost: "$$5" }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp] }
"#,
        &env,
    )
    .unwrap();
    let Some(otlp) = config
        .exporters
        .get(&ComponentId::parse("otlp").unwrap())
        .and_then(|c| c.get::<OtlpGrpcExporterConfig>())
    else {
        panic!()
    };
    assert_eq!(otlp.endpoint, "collector.internal:4317");
    assert_eq!(
        otlp.sending_queue.queue_size, 77,
        "a whole-value reference is typed like YAML"
    );
    assert_eq!(otlp.headers["x-region"], "eu-west-1");
    assert_eq!(otlp.headers["x-cost"], "$5");

    let (path, message) =
        error("receivers: { otlp: { protocols: { grpc: { endpoint: \"${VAR}\" } } } }");
    assert_eq!(path, "receivers.otlp.protocols.grpc.endpoint");
    assert!(message.contains("env:VAR"), "{message}");
}

/// otelcol's persistent queue layout: a `file_storage` extension, enabled in `service.extensions`, named by an
/// exporter's `sending_queue.storage`.
const PERSISTENT: &str = r#"
receivers:
  otlp: { protocols: { grpc: } }
extensions:
  file_storage:
    directory: /var/lib/otelcol/file_storage
    timeout: 1s
    fsync: true
    create_directory: true
    compaction: { on_start: true, directory: /tmp/, max_transaction_size: 65_536 }
  file_storage/otlp: { directory: /var/lib/otelcol/otlp }
exporters:
  otlp:
    endpoint: backend:4317
    sending_queue: { storage: file_storage/otlp, queue_size: 500, storage_max_bytes: 1048576 }
  loadbalancing:
    protocol: { otlp: { sending_queue: { storage: file_storage } } }
    resolver: { static: { hostnames: [a:4317] } }
service:
  extensions: [file_storage, file_storage/otlp]
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp, loadbalancing] }
"#;

/// otelcol's YAML library reads `100_000` as a number (YAML 1.1), and otelcol's own examples write sizes so; where a
/// field takes a number, so does this config. A string field keeps such text as it is.
#[test]
fn numbers_with_digit_separators_are_numbers_where_a_number_is_expected() {
    let env = |name: &str| (name == "QUEUE").then(|| "5_000".to_string());
    let config = Config::from_yaml_with_env(
        r#"
receivers:
  otlp: { protocols: { grpc: } }
processors:
  batch: { send_batch_size: 8_192, send_batch_max_size: "10_000" }
exporters:
  otlp:
    endpoint: backend:4317
    sending_queue: { queue_size: "${env:QUEUE}" }
    headers: { x-release: 2024_01 }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [otlp] }
"#,
        &env,
    )
    .unwrap();
    let batch = config
        .processors
        .get(&ComponentId::parse("batch").unwrap())
        .and_then(|c| c.get::<BatchConfig>())
        .unwrap();
    assert_eq!(
        (batch.send_batch_size, batch.send_batch_max_size),
        (8192, 10_000)
    );
    let otlp = config
        .exporters
        .get(&ComponentId::parse("otlp").unwrap())
        .and_then(|c| c.get::<OtlpGrpcExporterConfig>())
        .unwrap();
    assert_eq!(otlp.sending_queue.queue_size, 5000);
    assert_eq!(otlp.headers["x-release"], "2024_01");

    // Malformed separators are not a number, and the error says what was written.
    let (path, message) = error(
        r#"
receivers: { otlp: { protocols: { grpc: } } }
processors: { batch: { send_batch_size: 8__192 } }
exporters: { debug: }
service: { pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [debug] } } }
"#,
    );
    assert_eq!(path, "processors.batch.send_batch_size");
    assert!(message.contains(r#"string "8__192""#), "{message}");
}

#[test]
fn a_persistent_queue_follows_otelcols_layout() {
    use otlp_collector::extension::file_storage::FileStorageConfig;
    let config = Config::from_yaml(PERSISTENT).unwrap();
    let storage = config.extensions[&ComponentId::parse("file_storage").unwrap()]
        .get::<FileStorageConfig>()
        .unwrap();
    assert_eq!(
        storage.directory,
        std::path::Path::new("/var/lib/otelcol/file_storage")
    );
    assert!(storage.fsync && storage.create_directory);
    let otlp = config.exporters[&ComponentId::parse("otlp").unwrap()]
        .get::<OtlpGrpcExporterConfig>()
        .unwrap();
    assert_eq!(
        otlp.sending_queue.storage.as_deref(),
        Some("file_storage/otlp")
    );
    assert_eq!(otlp.sending_queue.storage_max_bytes, 1 << 20);
    // Without storage the queue is in memory, as before.
    let plain = Config::from_yaml(&PERSISTENT.replace("storage: file_storage/otlp, ", "")).unwrap();
    let otlp = plain.exporters[&ComponentId::parse("otlp").unwrap()]
        .get::<OtlpGrpcExporterConfig>()
        .unwrap();
    assert_eq!(otlp.sending_queue.storage, None);
}

#[test]
fn a_storage_reference_must_name_an_enabled_storage_extension() {
    let (path, message) = error(&PERSISTENT.replace(
        "storage: file_storage/otlp,",
        "storage: file_storage/missing,",
    ));
    assert_eq!(path, "exporters.otlp.sending_queue.storage");
    assert!(
        message.contains("`file_storage/missing` is not defined")
            && message.contains("defined: file_storage, file_storage/otlp"),
        "{message}"
    );

    // The loadbalancing exporter's queue under protocol.otlp is checked too.
    let (path, message) = error(&PERSISTENT.replace(
        "sending_queue: { storage: file_storage } }",
        "sending_queue: { storage: nowhere } }",
    ));
    assert_eq!(
        path,
        "exporters.loadbalancing.protocol.otlp.sending_queue.storage"
    );
    assert!(message.contains("`nowhere` is not defined"), "{message}");

    let (path, message) = error(&PERSISTENT.replace(
        "extensions: [file_storage, file_storage/otlp]",
        "extensions: [file_storage]",
    ));
    assert_eq!(path, "exporters.otlp.sending_queue.storage");
    assert!(
        message.contains("must also be listed in service.extensions"),
        "{message}"
    );

    let (path, message) = error(
        &PERSISTENT
            .replace(
                "  file_storage/otlp: { directory: /var/lib/otelcol/otlp }",
                "  health_check/otlp: {}",
            )
            .replace("storage: file_storage/otlp,", "storage: health_check/otlp,")
            .replace(
                "extensions: [file_storage, file_storage/otlp]",
                "extensions: [file_storage, health_check/otlp]",
            ),
    );
    assert_eq!(path, "exporters.otlp.sending_queue.storage");
    assert!(
        message.contains("`health_check/otlp` is not a storage extension"),
        "{message}"
    );
}

#[test]
fn file_storage_and_sending_queue_keys_are_checked() {
    let (path, message) = error(&PERSISTENT.replace("fsync: true", "fsink: true"));
    assert!(path.starts_with("extensions.file_storage"), "{path}");
    assert!(message.contains("fsink"), "{message}");
    let (path, message) = error(&PERSISTENT.replace("on_start: true", "on_stop: true"));
    assert!(path.starts_with("extensions.file_storage"), "{path}");
    assert!(message.contains("on_stop"), "{message}");
    let (path, message) =
        error(&PERSISTENT.replace("storage_max_bytes: 1048576", "storage_max_bytes: 0"));
    assert!(path.starts_with("exporters.otlp"), "{path}");
    assert!(
        message.contains("storage_max_bytes must be positive"),
        "{message}"
    );
    let (_, message) = error(&PERSISTENT.replace("/var/lib/otelcol/otlp }", "\"\" }"));
    assert!(message.contains("must not be empty"), "{message}");
}

#[test]
fn the_otlp_receiver_takes_otelcols_network_and_metadata_keys() {
    let receiver = |grpc: &str| {
        format!(
            "receivers: {{ otlp: {{ protocols: {{ grpc: {grpc}, http: {{ include_metadata: true }} }} }} }}\nexporters: {{ debug: }}{MINIMAL_SERVICE}"
        )
    };
    let config = Config::from_yaml(&receiver(
        "{ transport: tcp, read_buffer_size: 524288, write_buffer_size: 524288, include_metadata: true }",
    ))
    .unwrap();
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert!(warnings.is_empty(), "{warnings:?}");

    let (path, message) = error(&receiver("{ transport: unix, endpoint: /run/otel.sock }"));
    assert_eq!(path, "receivers.otlp.protocols");
    assert!(
        message.contains("grpc.transport: `unix` is not supported; the receiver listens on TCP"),
        "{message}"
    );
}
