//! The `influxdb` exporter writing what the OpenTelemetry SDK sends (a trace with an event, metrics, logs) to a real
//! InfluxDB (Debian's 1.6, through `v1_compatibility`), read back with InfluxQL over its HTTP API: spans, events,
//! metrics in both Telegraf Prometheus schemas, and logs.
//!
//! `influxd` comes from Debian's `influxdb` package; `cargo xtask setup` installs it.

mod common;

use common::{TestCollector, free_port, grpc_tracer_provider, meter_provider};
use opentelemetry::KeyValue;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{LogExporter, WithExportConfig as _};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An InfluxDB 1.x of its own on a free loopback port, its data in `dir`; stopped when dropped.
struct Influxd {
    child: Child,
    port: u16,
}

impl Influxd {
    fn start(dir: &Path) -> Influxd {
        let (port, rpc) = (free_port(), free_port());
        let config = dir.join("influxdb.conf");
        std::fs::write(
            &config,
            format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n[meta]\n  dir = \"{dir}/meta\"\n\
                 [data]\n  dir = \"{dir}/data\"\n  wal-dir = \"{dir}/wal\"\n  query-log-enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n\
                 [monitor]\n  store-enabled = false\n[continuous_queries]\n  enabled = false\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new(common::server_program("influxd"))
            .arg("-config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run influxd: {e}; run `cargo xtask setup`"));
        let mut server = Influxd { child, port };
        for _ in 0..300 {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("influxd exited before it answered: {status}");
            }
            if common::http_get(port, "/ping").is_ok_and(|answer| answer.contains(" 204 ")) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("influxd does not answer after 30 s");
    }

    /// Runs InfluxQL `statement` (on database `db`, when given) and returns its first result's series.
    fn query(&self, db: &str, statement: &str) -> Vec<Value> {
        let path = format!(
            "/query?db={db}&epoch=ns&q={}",
            statement
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                })
                .collect::<String>()
        );
        let answer = common::http_get(self.port, &path).unwrap();
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        // A chunked answer: the JSON is the first chunk's.
        let json = body
            .lines()
            .find(|line| line.starts_with('{'))
            .unwrap_or("{}");
        let parsed: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {answer}"));
        parsed["results"][0]["series"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The rows of `statement` as maps of column to value, waiting up to 30 s for at least one.
    async fn rows(&self, db: &str, statement: &str) -> Vec<serde_json::Map<String, Value>> {
        for _ in 0..300 {
            let rows: Vec<_> = self
                .query(db, statement)
                .iter()
                .flat_map(|series| {
                    let columns: Vec<String> = series["columns"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| c.as_str().unwrap_or("").to_owned())
                        .collect();
                    series["values"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |values| {
                            columns
                                .iter()
                                .cloned()
                                .zip(values.as_array().cloned().unwrap_or_default())
                                .filter(|(_, v)| !v.is_null())
                                .collect()
                        })
                })
                .collect();
            if !rows.is_empty() {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("nothing for `{statement}` in {db}");
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_s_traces_metrics_and_logs_are_queryable_in_influxdb() {
    let data = tempfile::tempdir().unwrap();
    let influx = Influxd::start(data.path());
    for db in ["otel", "otel_v2"] {
        let created = influx.query("", &format!("CREATE DATABASE {db}"));
        assert!(created.is_empty(), "{created:?}");
    }
    let harness = TestCollector::start(&format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
exporters:
  influxdb:
    endpoint: http://127.0.0.1:{port}
    v1_compatibility: {{ enabled: true, db: otel, username: writer, password: secret }}
    payload_max_lines: 2
  influxdb/v2:
    endpoint: http://127.0.0.1:{port}/
    v1_compatibility: {{ enabled: true, db: otel_v2 }}
    metrics_schema: telegraf-prometheus-v2
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [influxdb] }}
    metrics: {{ receivers: [otlp], exporters: [influxdb, influxdb/v2] }}
    logs: {{ receivers: [otlp], exporters: [influxdb] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        port = influx.port
    ))
    .await;
    let endpoint = harness.grpc_endpoint();
    let (trace_id, span_id) = tokio::task::spawn_blocking(move || {
        let cart = opentelemetry_sdk::Resource::builder_empty()
            .with_attributes([KeyValue::new("service.name", "cart")])
            .build();
        let tracer_provider = grpc_tracer_provider(endpoint.clone(), cart.clone());
        let tracer = tracer_provider.tracer("cart-tracer");
        let mut span = tracer.start("checkout");
        span.set_attribute(KeyValue::new("order.items", 3));
        span.add_event("payment declined", vec![KeyValue::new("retry", true)]);
        span.set_status(Status::error("card expired"));
        let context = span.span_context().clone();
        span.end();
        tracer_provider.shutdown().unwrap();

        let meters = meter_provider(
            &endpoint,
            "cart",
            opentelemetry_sdk::metrics::Temporality::Cumulative,
        );
        let meter = meters.meter("cart-meter");
        let orders = meter.u64_counter("orders").build();
        orders.add(3, &[KeyValue::new("region", "eu")]);
        orders.add(4, &[KeyValue::new("region", "eu")]);
        let latency = meter
            .f64_histogram("latency")
            .with_boundaries(vec![0.1, 1.0])
            .build();
        for seconds in [0.05, 0.5, 3.0] {
            latency.record(seconds, &[]);
        }
        meters.shutdown().unwrap();

        let logs = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
            .with_resource(cart)
            .with_batch_exporter(
                LogExporter::builder()
                    .with_tonic()
                    .with_endpoint(&endpoint)
                    .build()
                    .unwrap(),
            )
            .build();
        let logger = logs.logger("cart-logger");
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_severity_text("WARN");
        record.set_body(AnyValue::from("stock low\nfor sku 42"));
        record.add_attribute("sku", 42);
        logger.emit(record);
        logs.shutdown().unwrap();
        (
            context.trace_id().to_string(),
            context.span_id().to_string(),
        )
    })
    .await
    .unwrap();

    // The span: its ids and dimensions as tags, the rest as fields.
    let spans = influx.rows("otel", "SELECT * FROM spans").await;
    let span = &spans[0];
    assert_eq!(span["trace_id"], trace_id.as_str());
    assert_eq!(span["span_id"], span_id.as_str());
    assert_eq!(span["service.name"], "cart");
    assert_eq!(span["span.name"], "checkout");
    assert_eq!(span["otel.status_code"], "Error");
    assert_eq!(span["otel.status_description"], "card expired");
    assert_eq!(span["attributes"], r#"{"order.items":3}"#);
    assert_eq!(span["otel.library.name"], "cart-tracer");
    assert!(
        span["duration_nano"].as_i64().is_some_and(|d| d >= 0),
        "{span:?}"
    );
    let tags = influx.rows("otel", "SHOW TAG KEYS FROM spans").await;
    let tag_keys: Vec<&str> = tags
        .iter()
        .filter_map(|row| row["tagKey"].as_str())
        .collect();
    assert_eq!(
        tag_keys,
        ["service.name", "span.name", "span_id", "trace_id"]
    );

    // Its event, a line of `logs` under the span's ids.
    let events = influx
        .rows(
            "otel",
            "SELECT * FROM logs WHERE \"event.name\" = 'payment declined'",
        )
        .await;
    assert_eq!(events[0]["span_id"], span_id.as_str());
    assert_eq!(events[0]["attributes"], r#"{"retry":true}"#);

    // Metrics, telegraf-prometheus-v1: a measurement per metric.
    let orders = influx.rows("otel", "SELECT * FROM orders").await;
    assert_eq!(orders[0]["counter"], 7);
    assert_eq!(orders[0]["region"], "eu");
    assert_eq!(orders[0]["service.name"], "cart");
    assert!(
        orders[0]["start_time_unix_nano"]
            .as_i64()
            .is_some_and(|t| t > 0)
    );
    let latency = influx.rows("otel", "SELECT * FROM latency").await;
    assert_eq!(latency[0]["count"], 3.0);
    assert_eq!(latency[0]["sum"], 3.55);
    assert_eq!(latency[0]["0.1"], 1.0);
    assert_eq!(latency[0]["1"], 2.0);
    assert_eq!(latency[0]["min"], 0.05);
    assert_eq!(latency[0]["max"], 3.0);

    // telegraf-prometheus-v2: all in `prometheus`, a line per bound.
    let counter = influx
        .rows("otel_v2", "SELECT orders FROM prometheus WHERE orders > 0")
        .await;
    assert_eq!(counter[0]["orders"], 7);
    let buckets = influx
        .rows(
            "otel_v2",
            "SELECT latency_bucket, le FROM prometheus WHERE le <> ''",
        )
        .await;
    let buckets: Vec<(String, f64)> = buckets
        .iter()
        .map(|row| {
            (
                row["le"].as_str().unwrap().to_owned(),
                row["latency_bucket"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(buckets, [("0.1".to_owned(), 1.0), ("1".to_owned(), 2.0)]);

    // The log record: `service.name` its dimension, its body across lines kept whole.
    let logs = influx
        .rows("otel", "SELECT * FROM logs WHERE severity_text = 'WARN'")
        .await;
    assert_eq!(logs[0]["service.name"], "cart");
    assert_eq!(logs[0]["body"], "stock low\nfor sku 42");
    assert_eq!(logs[0]["sku"], 42);
    assert_eq!(logs[0]["severity_number"], 13);
    harness.shut_down_cleanly().await;
}
