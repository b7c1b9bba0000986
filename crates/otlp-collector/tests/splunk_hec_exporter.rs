//! The `splunk_hec` exporter: traces, metrics and logs from the real `opentelemetry-otlp` exporters, sent on as HEC
//! events to a Python server that reads them as Splunk does (concatenated JSON objects, gzip'd or not, the token in
//! `Authorization: Splunk`), and to our `splunk_hec` receiver, whose OTLP must match what was sent.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else `python3`.

mod common;

use common::{
    TestCollector, attribute, free_port, log_records, meter_provider, python_server, read_logs,
    read_metrics,
};
use opentelemetry::KeyValue;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Span as _, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry_otlp::{LogExporter, WithExportConfig as _};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use serde_json::json;
use std::time::Duration;

const TOKEN: &str = "5e8c3f7a-0000-4000-8000-000000000001";

/// An HEC endpoint as Splunk reads requests: the body (gunzipped if it says so) as JSON objects one after another,
/// each kept with the request's token and path; all written to `argv[1]` as a JSON list after every request.
/// Prints its port.
const HEC_READER: &str = r#"
import gzip, json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
out, events = sys.argv[1], []
class Hec(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        text, at, decoder = body.decode("utf-8"), 0, json.JSONDecoder()
        while at < len(text):
            while at < len(text) and text[at].isspace():
                at += 1
            if at == len(text):
                break
            event, at = decoder.raw_decode(text, at)
            events.append({"token": self.headers["Authorization"], "path": self.path,
                           "gzip": self.headers.get("Content-Encoding") == "gzip", "event": event})
        with open(out + ".tmp", "w") as f:
            json.dump(events, f)
        os.replace(out + ".tmp", out)
        answer = b'{"text":"Success","code":0}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass
server = HTTPServer(("127.0.0.1", 0), Hec)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A span with an event and a failure, a counter and a histogram, and a warning logged inside the span. Returns
/// the span's trace id in hex.
fn send_cart(endpoint: String) -> String {
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "cart"),
            KeyValue::new("host.name", "node-7"),
            KeyValue::new("k8s.pod.labels", "team=checkout"),
        ])
        .build();
    let traces = common::grpc_tracer_provider(endpoint.clone(), resource.clone());
    let tracer = traces.tracer("cart-tracer");
    let mut span = tracer
        .span_builder("checkout")
        .with_kind(opentelemetry::trace::SpanKind::Server)
        .with_attributes([KeyValue::new("order.items", 3)])
        .start(&tracer);
    span.add_event("payment declined", vec![KeyValue::new("retry", true)]);
    span.set_status(Status::error("card expired"));
    let trace_id = span.span_context().trace_id().to_string();
    let context = opentelemetry::Context::current_with_span(span);

    let logs = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(
            LogExporter::builder()
                .with_tonic()
                .with_endpoint(&endpoint)
                .build()
                .unwrap(),
        )
        .build();
    let logger = logs.logger("cart-logger");
    {
        let _attached = context.clone().attach();
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_severity_text("WARN");
        record.set_body(AnyValue::from("stock low for sku 42"));
        record.add_attribute("sku", 42);
        logger.emit(record);
    }
    context.span().end();
    traces.shutdown().unwrap();
    logs.shutdown().unwrap();

    let meters = meter_provider(
        &endpoint,
        "cart",
        opentelemetry_sdk::metrics::Temporality::Cumulative,
    );
    let meter = meters.meter("cart-meter");
    let orders = meter.u64_counter("orders").build();
    orders.add(5, &[KeyValue::new("region", "eu")]);
    let latency = meter
        .f64_histogram("latency")
        .with_boundaries(vec![0.1, 1.0])
        .build();
    for seconds in [0.05, 0.5, 3.0] {
        latency.record(seconds, &[]);
    }
    meters.shutdown().unwrap();
    trace_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splunk_reads_the_events_as_otelcol_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.json");
    let (mut reader, port) = python_server(HEC_READER, &[out.to_str().unwrap()]);
    let config = format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:
  splunk_hec:
    endpoint: "http://127.0.0.1:{port}/services/collector"
    token: "{TOKEN}"
    index: otel
    sourcetype: otel:cart
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [splunk_hec] }}
    metrics: {{ receivers: [otlp], exporters: [splunk_hec] }}
    logs: {{ receivers: [otlp], exporters: [splunk_hec] }}
  telemetry:
    metrics: {{ level: none }}
"#
    );
    let collector = TestCollector::start(&config).await;
    let endpoint = collector.grpc_endpoint();
    let trace_id = tokio::task::spawn_blocking(move || send_cart(endpoint))
        .await
        .unwrap();
    assert!(collector.collector.flush(Duration::from_secs(10)).await);
    collector.shut_down_cleanly().await;
    let received: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = reader.kill();
    let _ = reader.wait();

    for event in &received {
        assert_eq!(event["token"], format!("Splunk {TOKEN}"));
        assert_eq!(event["path"], "/services/collector");
        assert_eq!(event["event"]["host"], "node-7", "{event}");
        assert_eq!(event["event"]["index"], "otel");
        assert_eq!(event["event"]["sourcetype"], "otel:cart");
        assert!(event["event"]["time"].as_f64().unwrap() > 1.7e9, "{event}");
    }
    let events: Vec<&serde_json::Value> = received.iter().map(|e| &e["event"]).collect();

    let span = events
        .iter()
        .find(|e| e["event"]["name"] == "checkout")
        .expect("the span's event");
    assert_eq!(span["event"]["trace_id"], trace_id.as_str());
    assert_eq!(span["event"]["kind"], "Server");
    assert_eq!(
        span["event"]["status"],
        json!({ "code": "Error", "message": "card expired" })
    );
    assert_eq!(span["event"]["attributes"], json!({ "order.items": 3 }));
    assert_eq!(span["event"]["events"][0]["name"], "payment declined");
    assert_eq!(
        span["event"]["events"][0]["attributes"],
        json!({ "retry": true })
    );
    assert_eq!(span["fields"]["service.name"], "cart");
    assert_eq!(
        span["fields"].get("host.name"),
        None,
        "it is the event's host"
    );

    let log = events
        .iter()
        .find(|e| e["event"] == "stock low for sku 42")
        .expect("the log record's event");
    assert_eq!(log["fields"]["sku"], 42);
    assert_eq!(log["fields"]["otel.log.severity.text"], "WARN");
    assert_eq!(log["fields"]["otel.log.severity.number"], 13);
    assert_eq!(log["fields"]["trace_id"], trace_id.as_str());
    assert_eq!(log["fields"]["k8s.pod.labels"], "team=checkout");

    let metric = |name: &str| -> Vec<&serde_json::Value> {
        events
            .iter()
            .copied()
            .filter(|e| {
                e["event"] == "metric" && e["fields"].get(format!("metric_name:{name}")).is_some()
            })
            .collect()
    };
    let orders = metric("orders");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["fields"]["metric_name:orders"], 5);
    assert_eq!(orders[0]["fields"]["metric_type"], "Sum");
    assert_eq!(orders[0]["fields"]["region"], "eu");
    assert_eq!(
        metric("latency_count")[0]["fields"]["metric_name:latency_count"],
        3
    );
    assert_eq!(
        metric("latency_sum")[0]["fields"]["metric_name:latency_sum"],
        3.55
    );
    let buckets: Vec<(String, u64)> = metric("latency_bucket")
        .iter()
        .map(|e| {
            (
                e["fields"]["le"].as_str().unwrap().to_owned(),
                e["fields"]["metric_name:latency_bucket"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        buckets,
        [("0.1".into(), 1), ("1".into(), 2), ("+Inf".into(), 3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_metrics_sent_to_a_splunk_hec_receiver_come_back() {
    let hec = free_port();
    let config = format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
  splunk_hec: {{ endpoint: "127.0.0.1:{hec}" }}
exporters:
  splunk_hec:
    endpoint: "http://127.0.0.1:{hec}/services/collector"
    token: "{TOKEN}"
    source: cart-service
  file/logs: {{ path: "{{dir}}/logs.jsonl", format: json }}
  file/metrics: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    logs: {{ receivers: [otlp], exporters: [splunk_hec] }}
    metrics: {{ receivers: [otlp], exporters: [splunk_hec] }}
    logs/back: {{ receivers: [splunk_hec], exporters: [file/logs] }}
    metrics/back: {{ receivers: [splunk_hec], exporters: [file/metrics] }}
  telemetry:
    metrics: {{ level: none }}
"#
    );
    let collector = TestCollector::start(&config).await;
    let endpoint = collector.grpc_endpoint();
    let trace_id = tokio::task::spawn_blocking(move || send_cart(endpoint))
        .await
        .unwrap();
    assert!(collector.collector.flush(Duration::from_secs(10)).await);
    assert!(collector.collector.flush(Duration::from_secs(10)).await);
    let dir = collector.shut_down_cleanly().await;

    let logs = read_logs(&dir.path().join("logs.jsonl"), true);
    let records = log_records(&logs);
    assert_eq!(records.len(), 1);
    let record = records[0];
    assert_eq!(
        record.body.as_ref().and_then(|b| b.value.as_ref()),
        Some(&Value::StringValue("stock low for sku 42".into()))
    );
    // The receiver reads a JSON number as a double, as otelcol's does.
    assert_eq!(
        attribute(&record.attributes, "sku"),
        Some(&Value::DoubleValue(42.0))
    );
    assert_eq!(
        attribute(&record.attributes, "trace_id"),
        Some(&Value::StringValue(trace_id.clone()))
    );
    let resource = &logs[0].resource_logs[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(
        attribute(resource, "host.name"),
        Some(&Value::StringValue("node-7".into()))
    );
    assert_eq!(
        attribute(resource, "com.splunk.source"),
        Some(&Value::StringValue("cart-service".into()))
    );

    let metrics = read_metrics(&dir.path().join("metrics.jsonl"), true);
    let orders = common::named_numbers(&metrics, "orders");
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].1, 5.0);
    assert!(orders[0].0.contains("region=eu"), "{orders:?}");
    let count = common::named_numbers(&metrics, "latency_count");
    assert_eq!(count.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [3.0]);
}

#[test]
fn the_endpoint_and_token_are_required() {
    let problems = common::config_problems(
        r#"
receivers: { otlp: { protocols: { grpc: } } }
exporters:
  splunk_hec:
service:
  pipelines:
    logs: { receivers: [otlp], exporters: [splunk_hec] }
"#,
    );
    let paths: Vec<&str> = problems.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "exporters.splunk_hec.endpoint",
            "exporters.splunk_hec.token"
        ],
        "{problems:?}"
    );
}
