//! Helpers shared by the integration tests: a collector on free ports writing to a temporary directory, and readers
//! for what its file exporters wrote.
#![allow(dead_code)]

pub mod chronyd;
pub mod collectd;
pub mod json_recording;
pub mod mariadb;
pub mod pki;
pub mod postgres;
pub mod prometheus;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use otlp_collector::{Batch, Collector, Config, RefusalKind, RunningCollector};
use prost::Message;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A collector started from `yaml`, in which `{dir}` stands for a fresh temporary directory.
pub struct TestCollector {
    pub collector: RunningCollector,
    pub dir: tempfile::TempDir,
}

/// A loopback port for a server the test starts later (a child process, a backend that is down at first). Not a
/// port-0 bind dropped at once: another server of the same test binary could be handed the same number before
/// ours binds it (see `otlp_testkit::net`).
pub fn free_port() -> u16 {
    otlp_testkit::net::free_port().unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// The interpreter of the tests' Python programs: `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else
/// `python3`.
pub fn python() -> String {
    std::env::var("OTLP_SUITE_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

impl TestCollector {
    pub async fn start(yaml: &str) -> TestCollector {
        let dir = tempfile::tempdir().unwrap();
        let yaml = yaml.replace("{dir}", &dir.path().display().to_string());
        let config = Config::from_yaml(&yaml).unwrap();
        let collector = Collector::new(config).start().await.unwrap();
        TestCollector { collector, dir }
    }

    /// Submits `batch` as an OTLP client would: a full queue answers backpressure, which is waited out (a bounded
    /// time), because a test that hands over batches faster than a debug build writes them must not fail on the
    /// bounded queue doing its job. Any other refusal fails the test.
    pub async fn submit_retrying(&self, batch: Batch) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match self.collector.submit(batch.clone()).await {
                Ok(()) => return,
                Err(refusal)
                    if refusal.kind == RefusalKind::Backpressure
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(refusal) => panic!("{refusal}"),
            }
        }
    }

    /// Shuts the collector down and asserts that everything it accepted was delivered; the directory outlives it.
    pub async fn shut_down_cleanly(self) -> tempfile::TempDir {
        let TestCollector { collector, dir } = self;
        assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
        dir
    }

    /// [`shut_down_cleanly`](Self::shut_down_cleanly), then the spans its `file` exporter wrote as OTLP/JSON lines
    /// to `{dir}/{file}`.
    pub async fn drain_and_count_spans(self, file: &str) -> usize {
        let dir = self.shut_down_cleanly().await;
        spans(&read_traces(&dir.path().join(file), true)).len()
    }

    /// Waits (at most a minute) until the `file` exporter's OTLP/JSON lines in `{dir}/{file}` hold `count` log
    /// records, and a little longer, so that anything sent twice would show; then shuts down cleanly and reads
    /// them.
    pub async fn drain_log_records(
        self,
        file: &str,
        count: usize,
    ) -> Vec<ExportLogsServiceRequest> {
        let path = self.path(file);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            let written = std::fs::read_to_string(&path)
                .map(|text| text.matches("observedTimeUnixNano").count())
                .unwrap_or(0);
            if written >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let dir = self.shut_down_cleanly().await;
        read_logs(&dir.path().join(file), true)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.collector.grpc_addr("otlp").unwrap())
    }

    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.collector.http_addr("otlp").unwrap())
    }
}

/// A config whose `otlp` receiver serves `protocols` (YAML lines indented for their place under `protocols:`) and
/// whose traces go to `{dir}/out.jsonl` as OTLP/JSON lines.
pub fn otlp_to_jsonl(protocols: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
{protocols}
exporters:
  file: {{ path: "{{dir}}/out.jsonl", format: json }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

/// An SDK tracer provider with `resource`, exporting in batches over OTLP/gRPC with the real `opentelemetry-otlp`
/// exporter to `endpoint` (`http://host:port`). Call from a blocking thread: the SDK runs its own.
pub fn grpc_tracer_provider(
    endpoint: String,
    resource: opentelemetry_sdk::Resource,
) -> opentelemetry_sdk::trace::SdkTracerProvider {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .unwrap();
    opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build()
}

/// An integer attribute, as OTLP carries it.
pub fn int_attribute(key: &str, value: i64) -> opentelemetry_proto::tonic::common::v1::KeyValue {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    otlp_ottl::key_value(
        key,
        AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        },
    )
}

/// A string attribute, as OTLP carries it.
pub fn string_attribute(
    key: &str,
    value: &str,
) -> opentelemetry_proto::tonic::common::v1::KeyValue {
    otlp_ottl::key_value(key, otlp_ottl::string_value(value))
}

/// The problems `Config::from_yaml` reports for `yaml`, as (path, message); none when it is valid.
pub fn config_problems(yaml: &str) -> Vec<(String, String)> {
    match Config::from_yaml(yaml) {
        Ok(_) => Vec::new(),
        Err(
            error @ (otlp_collector::Error::Config { .. } | otlp_collector::Error::Problems(_)),
        ) => error
            .config_problems()
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect(),
        Err(other) => panic!("expected a config or its problems, got {other:?}"),
    }
}

/// Reads a file exporter's output in either format: every request written whole. Read while the collector runs,
/// the file may end in a request still being written (a line without its newline, a frame shorter than its
/// length): that one is left for a later read, as a reader following the file would.
pub fn read_requests<T: Message + Default + DeserializeOwned>(path: &Path, json: bool) -> Vec<T> {
    let bytes = std::fs::read(path).unwrap_or_default();
    if json {
        let whole = match bytes.iter().rposition(|b| *b == b'\n') {
            Some(end) => &bytes[..=end],
            None => &[][..],
        };
        whole
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).unwrap())
            .collect()
    } else {
        let mut out = Vec::new();
        let mut rest = bytes.as_slice();
        while let Some(header) = rest.get(..4) {
            let len = u32::from_be_bytes(header.try_into().unwrap()) as usize;
            let Some(frame) = rest.get(4..4 + len) else {
                break;
            };
            out.push(T::decode(frame).unwrap());
            rest = &rest[4 + len..];
        }
        out
    }
}

pub fn read_traces(path: &Path, json: bool) -> Vec<ExportTraceServiceRequest> {
    read_requests(path, json)
}

pub fn read_metrics(path: &Path, json: bool) -> Vec<ExportMetricsServiceRequest> {
    read_requests(path, json)
}

pub fn read_logs(path: &Path, json: bool) -> Vec<ExportLogsServiceRequest> {
    read_requests(path, json)
}

/// Every span in the requests.
/// Every log record of `requests`, in order.
pub fn log_records(requests: &[ExportLogsServiceRequest]) -> Vec<&LogRecord> {
    requests
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
        .collect()
}

pub fn spans(
    requests: &[ExportTraceServiceRequest],
) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
    requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect()
}

/// The value of one series in the collector's Prometheus text, as a test would scrape it.
pub async fn scrape(collector: &RunningCollector) -> String {
    let addr = collector.telemetry_addr().unwrap();
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A collector that forwards everything it receives through exporter `id`, configured by `settings`.
pub fn forwarder_config(id: &str, settings: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
processors:
  batch: {{ send_batch_size: 100, timeout: 10ms }}
exporters:
  {id}: {settings}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [{id}] }}
    metrics: {{ receivers: [otlp], processors: [batch], exporters: [{id}] }}
    logs: {{ receivers: [otlp], processors: [batch], exporters: [{id}] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

/// Whether a span's status is an error.
pub fn is_error(span: &opentelemetry_proto::tonic::trace::v1::Span) -> bool {
    use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
    span.status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32)
}

/// A span's identity: trace id and span id.
pub fn span_id(span: &opentelemetry_proto::tonic::trace::v1::Span) -> (Vec<u8>, Vec<u8>) {
    (span.trace_id.clone(), span.span_id.clone())
}

/// Sends `requests` requests of 50 spans (a fifth of them errors) over gRPC to `grpc` (`host:port`); returns the
/// spans sent.
pub async fn send_with_errors(
    grpc: &str,
    seed: u64,
    requests: usize,
) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let mut client = TraceServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    let mut generator = otlp_testkit::Generator::new(seed)
        .with_error_rate(0.2)
        .unwrap();
    let mut sent = Vec::new();
    for _ in 0..requests {
        let request = generator.traces(50);
        sent.extend(spans(std::slice::from_ref(&request)));
        client.export(request).await.unwrap();
    }
    sent
}

/// The value of attribute `key`, if present.
pub fn attribute<'a>(
    attributes: &'a [opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<&'a opentelemetry_proto::tonic::common::v1::any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

/// An id as lower-case hex, as tracers print it.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An SDK meter provider of service `service` (namespace `shop`, instance `<service>-1`, host `node-7`), exporting
/// periodically over OTLP/gRPC to `endpoint` with `temporality`.
pub fn meter_provider(
    endpoint: &str,
    service: &str,
    temporality: opentelemetry_sdk::metrics::Temporality,
) -> opentelemetry_sdk::metrics::SdkMeterProvider {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_temporality(temporality)
        .build()
        .unwrap();
    opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_periodic_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder_empty()
                .with_attributes([
                    opentelemetry::KeyValue::new("service.name", service.to_owned()),
                    opentelemetry::KeyValue::new("service.namespace", "shop"),
                    opentelemetry::KeyValue::new("service.instance.id", format!("{service}-1")),
                    opentelemetry::KeyValue::new("host.name", "node-7"),
                ])
                .build(),
        )
        .build()
}

/// The number points (gauge or sum) of `metric`, each as its attributes (`key=value`, sorted, joined by `,`) and
/// its value as a double, in the metric's order.
pub fn labelled_numbers(
    metric: &opentelemetry_proto::tonic::metrics::v1::Metric,
) -> Vec<(String, f64)> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
    let points = match &metric.data {
        Some(Data::Sum(s)) => &s.data_points,
        Some(Data::Gauge(g)) => &g.data_points,
        other => panic!("{}: not a gauge or sum: {other:?}", metric.name),
    };
    points
        .iter()
        .map(|p| {
            let mut labels: Vec<String> = p
                .attributes
                .iter()
                .map(
                    |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(Value::StringValue(s)) => format!("{}={s}", kv.key),
                        other => format!("{}={other:?}", kv.key),
                    },
                )
                .collect();
            labels.sort();
            let value = match p.value {
                Some(number_data_point::Value::AsInt(v)) => v as f64,
                Some(number_data_point::Value::AsDouble(v)) => v,
                None => f64::NAN,
            };
            (labels.join(","), value)
        })
        .collect()
}

/// Every metric named `name` in `requests`, in order.
pub fn metrics_named<'a>(
    requests: &'a [ExportMetricsServiceRequest],
    name: &'a str,
) -> impl Iterator<Item = &'a opentelemetry_proto::tonic::metrics::v1::Metric> {
    requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(move |m| m.name == name)
}

/// The points of every metric named `name` in `requests`, as [`labelled_numbers`] gives them.
pub fn named_numbers(requests: &[ExportMetricsServiceRequest], name: &str) -> Vec<(String, f64)> {
    metrics_named(requests, name)
        .flat_map(labelled_numbers)
        .collect()
}

/// (start, time) of each point of the sums named `name` in `requests`, in order.
pub fn sum_times(requests: &[ExportMetricsServiceRequest], name: &str) -> Vec<(u64, u64)> {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    metrics_named(requests, name)
        .flat_map(|m| match &m.data {
            Some(Data::Sum(sum)) => sum
                .data_points
                .iter()
                .map(|p| (p.start_time_unix_nano, p.time_unix_nano)),
            other => panic!("{name} is not a sum: {other:?}"),
        })
        .collect()
}

/// The logs requests a `file` exporter wrote as JSON to `path`, once they hold `count` log records or more (a
/// panic after 30 s).
pub async fn wait_for_log_records(path: &Path, count: usize) -> Vec<ExportLogsServiceRequest> {
    for _ in 0..300 {
        if path.exists() {
            let requests = read_logs(path, true);
            if log_records(&requests).len() >= count {
                return requests;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {count} records in {}", path.display());
}

/// Waits (at most 30 s) until `done` holds of the metrics requests a `file` exporter wrote as JSON to `path`.
pub async fn wait_for_metrics(path: &Path, done: impl Fn(&[ExportMetricsServiceRequest]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        if path.exists() && done(&read_metrics(path, true)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GETs `path` from `127.0.0.1:port` over HTTP/1.1 and returns the whole answer, head included.
pub fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// A Python `program` (the tests' stand-in for a backend, reading what it is sent with the backend's own
/// libraries) started with `args`, and the port it prints on its first line once it listens. Kill it when done.
pub fn python_server(program: &str, args: &[&str]) -> (std::process::Child, u16) {
    use std::io::BufRead as _;
    let mut server = std::process::Command::new(python())
        .arg("-c")
        .arg(program)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
    let mut port = String::new();
    if let Some(stdout) = server.stdout.take() {
        std::io::BufReader::new(stdout)
            .read_line(&mut port)
            .unwrap_or_else(|e| panic!("the Python server printed no port: {e}"));
    }
    let port = port
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("the Python server printed `{port}`, not its port: {e}"));
    (server, port)
}

/// The server program `name` from PATH, else where Debian puts daemons (/usr/sbin, which a non-login shell's PATH
/// may lack).
pub fn server_program(name: &str) -> String {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()));
    if on_path {
        name.to_owned()
    } else {
        format!("/usr/sbin/{name}")
    }
}

/// The start of each point of the sums named `name` in `requests`, in order.
pub fn sum_starts(requests: &[ExportMetricsServiceRequest], name: &str) -> Vec<u64> {
    sum_times(requests, name)
        .into_iter()
        .map(|(start, _)| start)
        .collect()
}
