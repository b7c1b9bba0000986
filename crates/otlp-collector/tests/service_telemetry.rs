//! `service.telemetry` as otelcol configs write it: the logs' destinations, fields, sampling and caller; the
//! resource; and periodic readers that push the self-metrics over OTLP to a real collector, beside a pull reader.

mod common;

use common::{TestCollector, read_metrics, scrape};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};
use otlp_collector::telemetry::logs::{LogOutput, LogSampling};
use otlp_collector::telemetry::periodic::OtlpProtocol;
use otlp_collector::telemetry::resource::ResourceValue;
use otlp_collector::{Config, Error};
use std::time::Duration;

const PIPELINE: &str = r#"
receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } } }
exporters: { debug: }
service:
  pipelines: { traces: { receivers: [otlp], exporters: [debug] } }
"#;

fn config(telemetry: &str) -> Config {
    Config::from_yaml(&format!("{PIPELINE}  telemetry:\n{telemetry}"))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn error(telemetry: &str) -> (String, String) {
    match Config::from_yaml(&format!("{PIPELINE}  telemetry:\n{telemetry}")) {
        Err(Error::Config { path, message }) => (path, message),
        other => panic!("expected one config error, got {other:?}"),
    }
}

#[test]
fn an_otelcol_logs_section_is_taken_whole() {
    let config = config(
        r#"
    logs:
      level: WARN
      encoding: json
      development: false
      disable_caller: false
      disable_stacktrace: true
      disable_zap_resource: true
      output_paths: [stdout, /var/log/otelcol.log, "file:///var/log/copy.log"]
      error_output_paths: [stderr, errors.log]
      initial_fields: { service: edge, shard: 2, tags: [a, b] }
      sampling: { enabled: true, tick: 5s, initial: 2, thereafter: 50 }
"#,
    );
    let telemetry = &config.service.telemetry;
    assert_eq!(telemetry.log_level, "warn");
    let logs = &telemetry.logs;
    assert_eq!(
        logs.output_paths,
        [
            LogOutput::Stdout,
            LogOutput::File("/var/log/otelcol.log".into()),
            LogOutput::File("/var/log/copy.log".into())
        ]
    );
    assert_eq!(
        logs.error_output_paths,
        [LogOutput::Stderr, LogOutput::File("errors.log".into())]
    );
    assert_eq!(logs.initial_fields["service"], "edge");
    assert_eq!(logs.initial_fields["shard"], 2);
    assert_eq!(logs.initial_fields["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(
        logs.sampling,
        Some(LogSampling {
            tick: Duration::from_secs(5),
            initial: 2,
            thereafter: 50
        })
    );
    assert!(logs.show_caller);
    assert!(telemetry.warnings.is_empty());
}

#[test]
fn log_defaults_differ_from_otelcol_only_where_documented() {
    let plain = config("    logs: { level: info }\n");
    let logs = &plain.service.telemetry.logs;
    assert_eq!(logs.output_paths, [LogOutput::Stderr]);
    assert_eq!(logs.error_output_paths, [LogOutput::Stderr]);
    assert!(logs.initial_fields.is_empty());
    // otelcol samples unless told not to; this collector does not sample unless told to.
    assert_eq!(logs.sampling, None);
    // otelcol shows the caller unless told not to; this log shows it only when `disable_caller: false` is written.
    assert!(!logs.show_caller);
    assert!(
        !config("    logs: { disable_caller: true }\n")
            .service
            .telemetry
            .logs
            .show_caller
    );

    // A `sampling` block, even empty, is zap's sampler with otelcol's defaults; `enabled: false` turns it off.
    for block in ["sampling:", "sampling: {}", "sampling: { enabled: true }"] {
        let logs = config(&format!("    logs:\n      {block}\n"))
            .service
            .telemetry
            .logs;
        assert_eq!(logs.sampling, Some(LogSampling::default()), "{block}");
    }
    assert_eq!(LogSampling::default().tick, Duration::from_secs(10));
    assert_eq!(
        (
            LogSampling::default().initial,
            LogSampling::default().thereafter
        ),
        (10, 100)
    );
    let off = config("    logs: { sampling: { enabled: false, initial: 1 } }\n");
    assert_eq!(off.service.telemetry.logs.sampling, None);
}

#[test]
fn development_is_taken_with_a_warning_that_it_does_nothing() {
    let config = config("    logs: { development: true }\n");
    let warnings = &config.service.telemetry.warnings;
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].path, "service.telemetry.logs.development");
    assert!(
        warnings[0].message.contains("changes nothing here"),
        "{}",
        warnings[0]
    );
}

#[test]
fn bad_log_settings_are_refused_naming_the_key() {
    for (telemetry, path, message) in [
        (
            "    logs: { output_paths: [stderr, \"kafka://broker/topic\"] }\n",
            "service.telemetry.logs.output_paths[1]",
            "unsupported scheme `kafka`; supported: stdout, stderr, a file path or a file:// URL",
        ),
        (
            "    logs: { error_output_paths: [\"file://relative.log\"] }\n",
            "service.telemetry.logs.error_output_paths[0]",
            "a file URL needs an absolute path",
        ),
        (
            "    logs: { initial_fields: { timestamp: now } }\n",
            "service.telemetry.logs.initial_fields.timestamp",
            "`timestamp` is a key every JSON log line already has",
        ),
        (
            "    logs: { sampling: { tick: 0s } }\n",
            "service.telemetry.logs.sampling.tick",
            "must be above 0",
        ),
        (
            "    logs: { encoding: logfmt }\n",
            "service.telemetry.logs.encoding",
            "unknown encoding `logfmt`; supported: console, json",
        ),
        (
            "    logs:\n      processors: [{ batch: { exporter: { otlp: { protocol: grpc, endpoint: backend:4317 } } } }]\n",
            "service.telemetry.logs.processors",
            "not supported: the collector's own log is not exported over OTLP",
        ),
    ] {
        let (at, said) = error(telemetry);
        assert_eq!(at, path, "{telemetry}");
        assert!(said.contains(message), "{telemetry}: {said}");
    }
}

#[test]
fn the_resource_takes_scalars_and_null_leaves_a_default_out() {
    let config = config(
        r#"
    resource:
      service.name: edge
      service.instance.id: null
      host.cpus: 4
      sampling.ratio: 0.25
      canary: true
"#,
    );
    let resource = &config.service.telemetry.resource;
    assert_eq!(
        resource.attributes["service.name"],
        Some(ResourceValue::String("edge".into()))
    );
    assert_eq!(resource.attributes["service.instance.id"], None);
    assert_eq!(
        resource.attributes["host.cpus"],
        Some(ResourceValue::Int(4))
    );
    assert_eq!(
        resource.attributes["sampling.ratio"],
        Some(ResourceValue::Double(0.25))
    );
    assert_eq!(
        resource.attributes["canary"],
        Some(ResourceValue::Bool(true))
    );
    let keys: Vec<String> = resource.attributes().into_iter().map(|kv| kv.key).collect();
    assert_eq!(
        keys,
        [
            "canary",
            "host.cpus",
            "sampling.ratio",
            "service.name",
            "service.version"
        ]
    );
    let (path, message) = error("    resource: { tags: [a, b] }\n");
    assert_eq!(path, "service.telemetry.resource.tags");
    assert!(
        message.contains("a string, a number or a boolean"),
        "{message}"
    );
    let (path, message) =
        error("    resource:\n      attributes: [{ name: service.name, value: edge }]\n");
    assert_eq!(path, "service.telemetry.resource.attributes");
    assert!(
        message.contains("declarative resource form") && message.contains("is not supported"),
        "{message}"
    );
}

#[test]
fn periodic_readers_follow_otelcols_schema_and_endpoint_rules() {
    let parsed = config(
        r#"
    metrics:
      readers:
        - periodic:
            exporter:
              otlp:
                protocol: http/protobuf
                endpoint: backend:4318
                headers: [{ name: api-key, value: secret }]
                headers_list: "api-key=ignored,tenant=a"
        - pull: { exporter: { prometheus: { host: "::1", port: 9090 } } }
        - periodic:
            interval: 5000
            timeout: 0
            exporter:
              otlp: { protocol: grpc, endpoint: "gateway:4317", insecure: true, compression: none, timeout: 2000 }
        - periodic:
            timeout: 1000
            exporter:
              otlp: { protocol: http/protobuf, endpoint: "http://gateway:4318/custom/path", timeout: 0 }
"#,
    );
    let telemetry = &parsed.service.telemetry;
    assert_eq!(telemetry.metrics_address.as_deref(), Some("[::1]:9090"));
    let readers = &telemetry.periodic_readers;
    assert_eq!(readers.len(), 3);

    assert_eq!(
        readers[0].key,
        "service.telemetry.metrics.readers[0].periodic.exporter.otlp"
    );
    assert_eq!(readers[0].protocol, OtlpProtocol::HttpProtobuf);
    // Without a scheme: TLS unless `insecure`, as otelcol; OTLP/HTTP's metrics path when the URL has none.
    assert_eq!(readers[0].endpoint, "https://backend:4318/v1/metrics");
    assert_eq!(readers[0].interval, Duration::from_secs(60));
    assert_eq!(
        readers[0].timeout,
        Some(Duration::from_secs(10)),
        "the exporter's 10 s within the reader's 30 s"
    );
    assert_eq!(
        readers[0].headers["api-key"], "secret",
        "headers win over headers_list"
    );
    assert_eq!(readers[0].headers["tenant"], "a");
    assert!(!readers[0].tls.insecure);

    assert_eq!(readers[1].protocol, OtlpProtocol::Grpc);
    assert_eq!(readers[1].endpoint, "http://gateway:4317");
    assert_eq!(readers[1].interval, Duration::from_secs(5));
    assert_eq!(readers[1].timeout, Some(Duration::from_secs(2)));
    assert_eq!(readers[1].compression, otlp_collector::Compression::None);

    assert_eq!(readers[2].endpoint, "http://gateway:4318/custom/path");
    assert_eq!(readers[2].timeout, Some(Duration::from_secs(1)));

    // `readers` lists every reader: without a pull reader nothing serves /metrics, as in otelcol.
    let push_only = config(
        "    metrics: { readers: [{ periodic: { exporter: { otlp: { protocol: grpc, endpoint: \"http://gateway:4317\" } } } }] }\n",
    );
    assert_eq!(push_only.service.telemetry.metrics_address, None);
    assert_eq!(push_only.service.telemetry.periodic_readers.len(), 1);
    let none = config(
        "    metrics:\n      level: none\n      readers: [{ periodic: { exporter: { otlp: { protocol: grpc, endpoint: \"http://gateway:4317\" } } } }]\n",
    );
    assert!(none.service.telemetry.periodic_readers.is_empty());
}

#[test]
fn bad_periodic_readers_are_refused_naming_the_key() {
    let reader =
        |periodic: &str| format!("    metrics:\n      readers:\n        - periodic: {periodic}\n");
    for (periodic, path, message) in [
        (
            "{ exporter: { otlp: { protocol: http/json, endpoint: \"http://b:4318\" } } }",
            "service.telemetry.metrics.readers[0].periodic.exporter.otlp.protocol",
            "`http/json` is not supported; supported: http/protobuf, grpc",
        ),
        (
            "{ exporter: { otlp: { protocol: thrift, endpoint: \"http://b:4318\" } } }",
            "service.telemetry.metrics.readers[0].periodic.exporter.otlp.protocol",
            "unknown protocol `thrift`; supported: http/protobuf, grpc",
        ),
        (
            "{ interval: 0, exporter: { otlp: { protocol: grpc, endpoint: \"http://b:4317\" } } }",
            "service.telemetry.metrics.readers[0].periodic.interval",
            "must be above 0",
        ),
        (
            "{ exporter: { otlp: { protocol: grpc, endpoint: \"http://b:4317/v1/metrics\" } } }",
            "service.telemetry.metrics.readers[0].periodic.exporter.otlp.endpoint",
            "a gRPC endpoint is `scheme://host:port`, without a path",
        ),
        (
            "{ exporter: { otlp: { protocol: grpc, endpoint: \"http://b:4317\", compression: zstd } } }",
            "service.telemetry.metrics.readers[0].periodic.exporter.otlp.compression",
            "unknown compression `zstd`; supported: gzip, none",
        ),
        (
            "{ exporter: { otlp: { protocol: grpc, endpoint: \"http://b:4317\", temporality_preference: delta } } }",
            "service.telemetry.metrics.readers[0].periodic.exporter.otlp.temporality_preference",
            "`delta` is not supported",
        ),
        (
            "{ exporter: { console: {} } }",
            "service.telemetry.metrics.readers[0].periodic.exporter.console",
            "not supported",
        ),
        (
            "{ exporter: {} }",
            "service.telemetry.metrics.readers[0].periodic.exporter",
            "an exporter is required",
        ),
    ] {
        let (at, said) = error(&reader(periodic));
        assert_eq!(at, path, "{periodic}");
        assert!(said.contains(message), "{periodic}: {said}");
    }
    let (at, said) = error("    metrics: { readers: [{}] }\n");
    assert_eq!(at, "service.telemetry.metrics.readers[0]");
    assert!(said.contains("either `pull`"), "{said}");
    let (at, said) = error(
        "    metrics: { readers: [{ pull: { exporter: { prometheus: {} } } }, { pull: { exporter: { prometheus: { port: 1 } } } }] }\n",
    );
    assert_eq!(at, "service.telemetry.metrics.readers[1]");
    assert!(said.contains("only one `pull` reader"), "{said}");
}

/// A collector receiving OTLP metrics on gRPC (`otlp/grpc`) and HTTP (`otlp/http`), each written to its own file.
const RECEIVER: &str = r#"
receivers:
  otlp/grpc: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
  otlp/http: { protocols: { http: { endpoint: "127.0.0.1:0" } } }
exporters:
  file/grpc: { path: "{dir}/grpc.binpb", format: proto }
  file/http: { path: "{dir}/http.binpb", format: proto }
service:
  pipelines:
    metrics/grpc: { receivers: [otlp/grpc], exporters: [file/grpc] }
    metrics/http: { receivers: [otlp/http], exporters: [file/http] }
  telemetry:
    metrics: { level: none }
"#;

fn string_value<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

/// The value of `otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"}` in a pushed request, after
/// checking that it came as OTLP says a counter does, under the configured resource.
fn accepted_spans(request: &ExportMetricsServiceRequest) -> Option<i64> {
    let resource_metrics = request.resource_metrics.first()?;
    let resource = &resource_metrics.resource.as_ref()?.attributes;
    assert_eq!(string_value(resource, "service.name"), Some("edge"));
    assert_eq!(
        string_value(resource, "deployment.environment"),
        Some("test")
    );
    assert!(string_value(resource, "service.instance.id").is_some());
    let metric = resource_metrics
        .scope_metrics
        .iter()
        .flat_map(|scope| &scope.metrics)
        .find(|metric| metric.name == "otelcol_receiver_accepted_spans")?;
    let Some(metric::Data::Sum(sum)) = &metric.data else {
        panic!("a counter is pushed as a sum: {metric:?}");
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    let point = sum.data_points.iter().find(|point| {
        string_value(&point.attributes, "receiver") == Some("otlp")
            && string_value(&point.attributes, "transport") == Some("grpc")
    })?;
    assert!(point.start_time_unix_nano > 0 && point.time_unix_nano >= point.start_time_unix_nano);
    match point.value {
        Some(number_data_point::Value::AsInt(value)) => Some(value),
        other => panic!("a count is an integer: {other:?}"),
    }
}

#[tokio::test]
async fn periodic_readers_push_the_self_metrics_to_a_collector_over_grpc_and_http_beside_the_pull_reader()
 {
    let receiver = TestCollector::start(RECEIVER).await;
    let grpc = format!(
        "http://{}",
        receiver.collector.grpc_addr("otlp/grpc").unwrap()
    );
    let http = format!(
        "http://{}",
        receiver.collector.http_addr("otlp/http").unwrap()
    );
    let yaml = format!(
        r#"
receivers: {{ otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }} }}
exporters: {{ debug: }}
service:
  pipelines: {{ traces: {{ receivers: [otlp], exporters: [debug] }} }}
  telemetry:
    resource: {{ service.name: edge, deployment.environment: test }}
    metrics:
      readers:
        - periodic:
            interval: 100
            exporter: {{ otlp: {{ protocol: grpc, endpoint: "{grpc}" }} }}
        - pull: {{ exporter: {{ prometheus: {{ host: 127.0.0.1, port: 0 }} }} }}
        - periodic:
            interval: 100
            exporter: {{ otlp: {{ protocol: http/protobuf, endpoint: "{http}" }} }}
"#
    );
    let pushed = TestCollector::start(&yaml).await;

    // Pushes arrive on both protocols while the collector runs, not only at its end.
    let received = |transport: &str| {
        receiver.collector.telemetry().value(
            "otelcol_receiver_accepted_metric_points",
            &[
                ("receiver", &format!("otlp/{transport}")),
                ("transport", transport),
            ],
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while received("grpc").unwrap_or(0) == 0 || received("http").unwrap_or(0) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no push arrived: grpc {:?}, http {:?}",
            received("grpc"),
            received("http")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut client = TraceServiceClient::connect(pushed.grpc_endpoint())
        .await
        .unwrap();
    client
        .export(otlp_testkit::Generator::new(3).traces(5))
        .await
        .unwrap();
    // The pull reader still serves the same registry.
    assert!(
        scrape(&pushed.collector)
            .await
            .contains("otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"} 5\n")
    );
    // The last push, made as the collector stops, carries every count up to then.
    pushed.shut_down_cleanly().await;
    let dir = receiver.shut_down_cleanly().await;

    for transport in ["grpc", "http"] {
        let requests = read_metrics(&dir.path().join(format!("{transport}.binpb")), false);
        assert!(
            requests.len() >= 2,
            "{transport}: {} pushes",
            requests.len()
        );
        let counts: Vec<Option<i64>> = requests.iter().map(accepted_spans).collect();
        assert_eq!(
            counts.last(),
            Some(&Some(5)),
            "{transport}: the final push has the 5 spans: {counts:?}"
        );
        // Cumulative: a later push never reports less than an earlier one.
        let seen: Vec<i64> = counts.iter().map(|count| count.unwrap_or(0)).collect();
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "{transport}: {seen:?}"
        );
    }
}
