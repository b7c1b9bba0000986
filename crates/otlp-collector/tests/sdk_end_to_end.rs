//! The real `opentelemetry-otlp` exporter (gRPC, HTTP protobuf, HTTP JSON) sends traces, metrics and logs to a
//! collector on free ports; the files the collector writes hold exactly what was sent.

mod common;

use common::{TestCollector, read_logs, read_metrics, read_traces, spans};
use opentelemetry::KeyValue;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Transport {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

const SPANS: usize = 250;
const LOGS: usize = 40;

fn config(format: &str, decoding: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    decoding: {decoding}
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
      http: {{ endpoint: "127.0.0.1:0" }}
processors:
  memory_limiter: {{ check_interval: 100ms, limit_mib: 100000 }}
  batch: {{ send_batch_size: 64, timeout: 20ms }}
exporters:
  file/traces: {{ path: "{{dir}}/traces", format: {format} }}
  file/metrics: {{ path: "{{dir}}/metrics", format: {format} }}
  file/logs: {{ path: "{{dir}}/logs", format: {format} }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [memory_limiter, batch], exporters: [file/traces] }}
    metrics: {{ receivers: [otlp], processors: [memory_limiter, batch], exporters: [file/metrics] }}
    logs: {{ receivers: [otlp], processors: [memory_limiter, batch], exporters: [file/logs] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    )
}

/// What the application emitted, as the collector must have written it.
#[derive(Debug, Default)]
struct Sent {
    spans: BTreeSet<(Vec<u8>, Vec<u8>, String, i64)>,
    counter_total: u64,
    log_bodies: BTreeSet<String>,
}

/// Runs an instrumented "application" with the OTLP exporters pointed at the collector. The SDK's batch processors
/// export from their own threads, so this runs on a blocking thread inside the runtime (tonic needs the runtime).
fn run_application(transport: Transport, grpc: String, http: String) -> Sent {
    let resource = Resource::builder().with_service_name("checkout").build();
    let (spans_exporter, metrics_exporter, logs_exporter) = match transport {
        Transport::Grpc => (
            SpanExporter::builder()
                .with_tonic()
                .with_endpoint(&grpc)
                .build()
                .unwrap(),
            MetricExporter::builder()
                .with_tonic()
                .with_endpoint(&grpc)
                .build()
                .unwrap(),
            LogExporter::builder()
                .with_tonic()
                .with_endpoint(&grpc)
                .build()
                .unwrap(),
        ),
        Transport::HttpProtobuf | Transport::HttpJson => {
            let protocol = if matches!(transport, Transport::HttpJson) {
                Protocol::HttpJson
            } else {
                Protocol::HttpBinary
            };
            (
                SpanExporter::builder()
                    .with_http()
                    .with_protocol(protocol)
                    .with_endpoint(format!("{http}/v1/traces"))
                    .build()
                    .unwrap(),
                MetricExporter::builder()
                    .with_http()
                    .with_protocol(protocol)
                    .with_endpoint(format!("{http}/v1/metrics"))
                    .build()
                    .unwrap(),
                LogExporter::builder()
                    .with_http()
                    .with_protocol(protocol)
                    .with_endpoint(format!("{http}/v1/logs"))
                    .build()
                    .unwrap(),
            )
        }
    };
    let tracer_provider = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_batch_exporter(spans_exporter)
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_resource(resource.clone())
        .with_periodic_exporter(metrics_exporter)
        .build();
    let logger_provider = SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(logs_exporter)
        .build();

    let mut sent = Sent::default();
    let tracer = tracer_provider.tracer("shop");
    for i in 0..SPANS {
        let mut span = tracer.start(format!("POST /api/checkout/{}", i % 7));
        span.set_attribute(KeyValue::new("app.order.items", i as i64));
        let context = span.span_context().clone();
        span.end();
        sent.spans.insert((
            context.trace_id().to_bytes().to_vec(),
            context.span_id().to_bytes().to_vec(),
            format!("POST /api/checkout/{}", i % 7),
            i as i64,
        ));
    }
    // A parent/child pair, so structure survives too.
    tracer.in_span("parent", |cx| {
        let parent = cx.span().span_context().clone();
        sent.spans.insert((
            parent.trace_id().to_bytes().to_vec(),
            parent.span_id().to_bytes().to_vec(),
            "parent".into(),
            -1,
        ));
    });

    let counter = meter_provider.meter("shop").u64_counter("orders").build();
    for i in 0..10u64 {
        counter.add(i, &[KeyValue::new("region", "eu")]);
        sent.counter_total += i;
    }

    let logger = logger_provider.logger("shop");
    for i in 0..LOGS {
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_body(AnyValue::from(format!("payment retry {i}")));
        logger.emit(record);
        sent.log_bodies.insert(format!("payment retry {i}"));
    }

    tracer_provider.shutdown().unwrap();
    meter_provider.shutdown().unwrap();
    logger_provider.shutdown().unwrap();
    sent
}

async fn round_trip(transport: Transport, format: &str, decoding: &str) {
    let harness = TestCollector::start(&config(format, decoding)).await;
    let (grpc, http) = (harness.grpc_endpoint(), harness.http_endpoint());
    let sent = tokio::task::spawn_blocking(move || run_application(transport, grpc, http))
        .await
        .unwrap();

    let TestCollector { collector, dir } = harness;
    let telemetry = collector.telemetry().clone();
    let report = collector.shutdown(Duration::from_secs(10)).await;
    assert!(report.is_clean(), "{report:?}");
    let json = format == "json";

    let written = spans(&read_traces(&dir.path().join("traces"), json));
    let received: BTreeSet<_> = written
        .iter()
        .map(|s| {
            let items = s
                .attributes
                .iter()
                .find(|kv| kv.key == "app.order.items")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    Value::IntValue(v) => Some(*v),
                    _ => None,
                })
                .unwrap_or(-1);
            (s.trace_id.clone(), s.span_id.clone(), s.name.clone(), items)
        })
        .collect();
    assert_eq!(
        written.len(),
        SPANS + 1,
        "{transport:?}: every span written once"
    );
    assert_eq!(
        received, sent.spans,
        "{transport:?}: the spans written are the spans sent"
    );
    let traces = read_traces(&dir.path().join("traces"), json);
    let service = traces[0].resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .unwrap();
    assert_eq!(
        service.value.as_ref().unwrap().value,
        Some(Value::StringValue("checkout".into()))
    );

    // Cumulative sums: the last point carries the total.
    let metrics = read_metrics(&dir.path().join("metrics"), json);
    let last_total = metrics
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(|m| m.name == "orders")
        .filter_map(|m| match &m.data {
            Some(Data::Sum(sum)) => sum.data_points.last().cloned(),
            _ => None,
        })
        .filter_map(|p| match p.value {
            Some(number_data_point::Value::AsInt(v)) => Some(v as u64),
            _ => None,
        })
        .next_back();
    assert_eq!(
        last_total,
        Some(sent.counter_total),
        "{transport:?}: counter total"
    );

    let logs = read_logs(&dir.path().join("logs"), json);
    let bodies: BTreeSet<String> = logs
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .filter_map(|l| match l.body.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, sent.log_bodies, "{transport:?}: log bodies");

    // The self-metrics agree with the files.
    assert_eq!(
        telemetry.total("otelcol_receiver_accepted_spans"),
        (SPANS + 1) as u64
    );
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_spans"),
        (SPANS + 1) as u64
    );
    assert_eq!(
        telemetry.total("otelcol_receiver_accepted_log_records"),
        LOGS as u64
    );
    assert_eq!(
        telemetry.total("otelcol_exporter_sent_log_records"),
        LOGS as u64
    );
    assert_eq!(
        telemetry.total("otelcol_receiver_accepted_metric_points"),
        telemetry.total("otelcol_exporter_sent_metric_points")
    );
    assert_eq!(telemetry.total("otelcol_receiver_refused_spans"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_exporter_to_json_files() {
    round_trip(Transport::Grpc, "json", "in_place").await;
}

/// The reference path: every request decoded by prost on arrival, the same files and counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_exporter_to_proto_files_decoded_by_prost() {
    round_trip(Transport::Grpc, "proto", "prost").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_exporter_to_proto_files() {
    round_trip(Transport::HttpProtobuf, "proto", "in_place").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_exporter_to_json_files_decoded_by_prost() {
    round_trip(Transport::HttpProtobuf, "json", "prost").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_json_exporter_to_json_files() {
    round_trip(Transport::HttpJson, "json", "in_place").await;
}

/// otelcol's `ottl_condition` policies on the SDK's spans: OTTL over span names and attributes, over span events
/// (and the span around them), and inside a `drop`. The file holds exactly the spans of the selected traces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_exporter_through_ottl_condition_policies_keeps_exactly_the_selected_traces() {
    const CONDITION_CONFIG: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
processors:
  tail_sampling:
    decision_wait: 200ms
    policies:
      - name: big-checkouts
        type: ottl_condition
        ottl_condition:
          error_mode: ignore
          span: ['name == "checkout" and attributes["cart.items"] > 10']
      - { name: exceptions, type: ottl_condition, ottl_condition: { spanevent: ['name == "exception"'] } }
      - name: no-health-checks
        type: drop
        drop:
          drop_sub_policy:
            - { name: health, type: ottl_condition, ottl_condition: { span: ['IsMatch(name, "^health")'] } }
exporters:
  file: { path: "{dir}/traces.jsonl" }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [tail_sampling], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;
    let harness = TestCollector::start(CONDITION_CONFIG).await;
    let expected = send_root_spans(&harness, "shop", |tracer, i| {
        let name = ["checkout", "browse", "health-check", "browse"][i as usize % 4];
        let mut span = tracer.start(name);
        span.set_attribute(KeyValue::new("cart.items", i % 20));
        let failed = i % 3 == 0;
        if failed {
            span.add_event(
                "exception",
                vec![KeyValue::new("exception.type", "Timeout")],
            );
        }
        let context = span.span_context().clone();
        span.end();
        let selected = (name == "checkout" && i % 20 > 10) || failed;
        (context, selected && name != "health-check")
    })
    .await;
    assert_written_exactly(harness, expected).await;
}

/// The SDK's spans through `tail_sampling`, whose policies read the buffered spans in place (a numeric span attribute,
/// the status code, a string attribute by regex, the resource's `service.name`) and release the sampled ones as bytes:
/// the file holds exactly the spans of the traces the policies select.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_exporter_through_tail_sampling_keeps_exactly_the_selected_traces() {
    const SAMPLED_CONFIG: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
processors:
  tail_sampling:
    decision_wait: 200ms
    policies:
      - { name: big-orders, type: numeric_attribute, numeric_attribute: { key: app.order.items, min_value: 100, max_value: 149 } }
      - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
      - { name: gold, type: string_attribute, string_attribute: { key: tier, values: ['^gold-'], enabled_regex_matching: true } }
      - { name: not-checkout, type: string_attribute, string_attribute: { key: service.name, values: [payments] } }
exporters:
  file: { path: "{dir}/traces.jsonl" }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [tail_sampling], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;
    use opentelemetry::trace::Status;
    let harness = TestCollector::start(SAMPLED_CONFIG).await;
    let expected = send_root_spans(&harness, "checkout", |tracer, i| {
        let mut span = tracer.start(format!("order {i}"));
        span.set_attribute(KeyValue::new("app.order.items", i));
        let gold = i % 25 == 7;
        span.set_attribute(KeyValue::new(
            "tier",
            if gold {
                format!("gold-{i}")
            } else {
                "silver".into()
            },
        ));
        let error = i % 50 == 0;
        if error {
            span.set_status(Status::error("payment declined"));
        }
        let context = span.span_context().clone();
        span.end();
        (context, (100..=149).contains(&i) || error || gold)
    })
    .await;
    assert_written_exactly(harness, expected).await;
}

/// A span by its trace and span ids.
type SpanKey = (Vec<u8>, Vec<u8>);

/// Sends `SPANS` root spans of `service` with the SDK's gRPC exporter; `make(tracer, i)` starts and ends span `i` and
/// says whether the collector should keep it. Returns the spans to be kept, once it is sure some are and some not.
async fn send_root_spans(
    harness: &TestCollector,
    service: &'static str,
    make: fn(
        &opentelemetry_sdk::trace::SdkTracer,
        i64,
    ) -> (opentelemetry::trace::SpanContext, bool),
) -> BTreeSet<SpanKey> {
    let grpc = harness.grpc_endpoint();
    let expected = tokio::task::spawn_blocking(move || {
        let exporter = SpanExporter::builder()
            .with_tonic()
            .with_endpoint(&grpc)
            .build()
            .unwrap();
        let provider = SdkTracerProvider::builder()
            .with_resource(Resource::builder().with_service_name(service).build())
            .with_batch_exporter(exporter)
            .build();
        let tracer = provider.tracer("shop");
        let mut expected = BTreeSet::new();
        for i in 0..SPANS as i64 {
            let (context, kept) = make(&tracer, i);
            if kept {
                expected.insert((
                    context.trace_id().to_bytes().to_vec(),
                    context.span_id().to_bytes().to_vec(),
                ));
            }
        }
        provider.shutdown().unwrap();
        expected
    })
    .await
    .unwrap();
    assert!(
        expected.len() > 50 && expected.len() < SPANS,
        "{} selected",
        expected.len()
    );
    expected
}

/// Shuts the collector down and checks that its file holds exactly the `expected` spans.
async fn assert_written_exactly(harness: TestCollector, expected: BTreeSet<SpanKey>) {
    let TestCollector { collector, dir } = harness;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    let written: BTreeSet<_> = spans(&read_traces(&dir.path().join("traces.jsonl"), true))
        .into_iter()
        .map(|span| (span.trace_id, span.span_id))
        .collect();
    assert_eq!(written, expected);
}
