//! Connectors as otelcol configs use them: the `forward` connector sharing one receiving pipeline between
//! pipelines with different processors, joining pipelines into one, and chaining pipelines whose batch
//! processors hold data until shutdown; `roundrobin` sharing batches out between pipelines. Fed by the real
//! `opentelemetry-otlp` exporter and by the embedding program; what each file exporter wrote is compared with
//! what was sent.

mod common;

use common::{
    TestCollector, config_problems, grpc_tracer_provider, is_error, read_logs, read_traces,
    span_id, spans,
};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
use otlp_collector::{Batch, Config, Error};
use otlp_testkit::Generator;
use std::collections::BTreeSet;

/// One receiving pipeline that keeps a raw copy and forwards everything; after the connector, one pipeline keeps
/// only the errors and another batches everything.
const FAN_OUT: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  memory_limiter: { check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 15 }
  batch: { send_batch_size: 50, timeout: 20ms }
  filter/errors-only:
    error_mode: ignore
    traces:
      span:
        - 'status.code != STATUS_CODE_ERROR'
connectors:
  forward:
exporters:
  file/raw: { path: "{dir}/raw.jsonl", format: json }
  file/errors: { path: "{dir}/errors.jsonl", format: json }
  file/all: { path: "{dir}/all.jsonl", format: json }
service:
  pipelines:
    traces/in:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [forward, file/raw]
    traces/errors:
      receivers: [forward]
      processors: [filter/errors-only]
      exporters: [file/errors]
    traces/all:
      receivers: [forward]
      processors: [batch]
      exporters: [file/all]
  telemetry:
    metrics: { level: none }
"#;

const SPANS: usize = 90;

/// A service that fails every third request.
fn run_application(endpoint: String) {
    let provider = grpc_tracer_provider(endpoint, opentelemetry_sdk::Resource::builder().build());
    let tracer = provider.tracer("checkout");
    for i in 0..SPANS {
        let mut span = tracer.start("POST /checkout");
        span.set_attribute(KeyValue::new("attempt", i as i64));
        if i % 3 == 0 {
            span.set_status(Status::error("payment declined"));
        }
        span.end();
    }
    provider.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_shares_what_one_pipeline_receives_between_pipelines_with_their_own_processors() {
    let collector = TestCollector::start(FAN_OUT).await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || run_application(endpoint))
        .await
        .unwrap();
    let dir = collector.shut_down_cleanly().await;
    let read = |file: &str| spans(&read_traces(&dir.path().join(file), true));
    let (raw, all, errors) = (read("raw.jsonl"), read("all.jsonl"), read("errors.jsonl"));
    assert_eq!(raw.len(), SPANS);
    let ids = |spans: &[opentelemetry_proto::tonic::trace::v1::Span]| {
        spans.iter().map(span_id).collect::<BTreeSet<_>>()
    };
    // Every span reaches the pipeline after the connector once, as received.
    assert_eq!(all.len(), SPANS);
    assert_eq!(ids(&all), ids(&raw));
    let expected_errors: BTreeSet<_> = raw.iter().filter(|s| is_error(s)).map(span_id).collect();
    assert_eq!(expected_errors.len(), SPANS / 3);
    assert_eq!(ids(&errors), expected_errors);
    assert!(errors.iter().all(is_error));
}

/// Two pipelines of logs, one per source, joined into one that writes them; three pipelines deep for traces,
/// each stage's batch processor holding what it has for a minute, so only a shutdown that drains the stages in
/// the order data flows delivers it all.
const JOIN_AND_CHAIN: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
  otlp/2:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  batch/hold: { send_batch_size: 100000, timeout: 60s }
connectors:
  forward/join:
  forward/first:
  forward/second:
exporters:
  file/logs: { path: "{dir}/logs.jsonl", format: json }
  file/traces: { path: "{dir}/traces.jsonl", format: json }
service:
  pipelines:
    logs/a: { receivers: [otlp], exporters: [forward/join] }
    logs/b: { receivers: [otlp/2], exporters: [forward/join] }
    logs: { receivers: [forward/join], processors: [batch/hold], exporters: [file/logs] }
    traces/in: { receivers: [otlp], processors: [batch/hold], exporters: [forward/first] }
    traces/middle: { receivers: [forward/first], processors: [batch/hold], exporters: [forward/second] }
    traces/out: { receivers: [forward/second], processors: [batch/hold], exporters: [file/traces] }
  telemetry:
    metrics: { level: none }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_joins_pipelines_and_a_shutdown_drains_a_chain_of_them_in_order() {
    let collector = TestCollector::start(JOIN_AND_CHAIN).await;
    let mut generator = Generator::new(3);
    let mut sent_traces = 0;
    for _ in 0..5 {
        // In-process data enters where receivers' data does: once, not again into the pipelines after the
        // connectors.
        let request = generator.traces(37);
        sent_traces += otlp_testkit::span_count(&request);
        collector.submit_retrying(Batch::new(request)).await;
    }
    let logs_a = generator.logs(20);
    let logs_b = generator.logs(30);
    let mut clients = Vec::new();
    for (receiver, request) in [("otlp", logs_a), ("otlp/2", logs_b)] {
        use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
        let addr = collector.collector.grpc_addr(receiver).unwrap();
        let mut client = LogsServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        client.export(request).await.unwrap();
        clients.push(client);
    }
    let dir = collector.shut_down_cleanly().await;
    let traces = spans(&read_traces(&dir.path().join("traces.jsonl"), true));
    assert_eq!(traces.len(), sent_traces);
    let records: usize = read_logs(&dir.path().join("logs.jsonl"), true)
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum();
    assert_eq!(records, 50);
}

/// otelcol-contrib's `roundrobin` example: one pipeline prepares the data, three export it in turn.
const ROUND_ROBIN: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0" }
processors:
  batch: { send_batch_size: 10, timeout: 10ms }
connectors:
  roundrobin:
exporters:
  file/1: { path: "{dir}/1.jsonl", format: json }
  file/2: { path: "{dir}/2.jsonl", format: json }
  file/3: { path: "{dir}/3.jsonl", format: json }
service:
  pipelines:
    traces:   { receivers: [otlp], processors: [batch], exporters: [roundrobin] }
    traces/1: { receivers: [roundrobin], exporters: [file/1] }
    traces/2: { receivers: [roundrobin], exporters: [file/2] }
    traces/3: { receivers: [roundrobin], exporters: [file/3] }
  telemetry:
    metrics: { level: none }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundrobin_spreads_batches_over_its_pipelines_each_span_to_one() {
    let collector = TestCollector::start(ROUND_ROBIN).await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        let provider =
            grpc_tracer_provider(endpoint, opentelemetry_sdk::Resource::builder().build());
        let tracer = provider.tracer("checkout");
        // Nine exports of ten spans: nine batches to share out.
        for _ in 0..SPANS / 10 {
            for _ in 0..10 {
                tracer.start("POST /checkout").end();
            }
            provider.force_flush().unwrap();
        }
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let dir = collector.shut_down_cleanly().await;
    let mut seen = BTreeSet::new();
    for file in ["1.jsonl", "2.jsonl", "3.jsonl"] {
        let written = spans(&read_traces(&dir.path().join(file), true));
        // Each pipeline had three turns of ten spans.
        assert_eq!(written.len(), 30, "{file}");
        for span in &written {
            assert!(seen.insert(span_id(span)), "a span went to two pipelines");
        }
    }
    assert_eq!(seen.len(), SPANS);
}

fn config_with(connectors: &str, pipelines: &str) -> String {
    format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
connectors:
{connectors}
exporters:
  debug:
service:
  pipelines:
{pipelines}
"#
    )
}

#[test]
fn connector_mistakes_are_reported_as_otelcol_would_with_where_and_why() {
    // Exported to but never received from.
    let found = config_problems(&config_with(
        "  forward:",
        "    traces: { receivers: [otlp], exporters: [forward, debug] }",
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "connectors.forward");
    assert!(
        found[0]
            .1
            .contains("no pipeline lists it among its receivers"),
        "{found:?}"
    );

    // Received from but never exported to.
    let found = config_problems(&config_with(
        "  forward:",
        "    traces: { receivers: [otlp], exporters: [debug] }\n    traces/2: { receivers: [forward], exporters: [debug] }",
    ));
    assert_eq!(found[0].0, "connectors.forward", "{found:?}");
    assert!(
        found[0]
            .1
            .contains("no pipeline lists it among its exporters"),
        "{found:?}"
    );

    // A signal `forward` cannot change.
    let found = config_problems(&config_with(
        "  forward:",
        "    traces: { receivers: [otlp], exporters: [forward] }\n    metrics: { receivers: [forward], exporters: [debug] }",
    ));
    let paths: Vec<&str> = found.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "service.pipelines.traces.exporters",
            "service.pipelines.metrics.receivers"
        ],
        "{found:?}"
    );
    assert!(
        found[0]
            .1
            .contains("cannot hand traces to any pipeline that receives from it (`metrics`)")
            && found[1]
                .1
                .contains("joins traces to traces, metrics to metrics, logs to logs"),
        "{found:?}"
    );

    // A cycle.
    let found = config_problems(&config_with(
        "  forward/a:\n  forward/b:",
        "    traces/x: { receivers: [otlp, forward/b], exporters: [forward/a] }\n    traces/y: { receivers: [forward/a], exporters: [forward/b, debug] }",
    ));
    assert_eq!(
        found,
        [(
            "service.pipelines".to_string(),
            "pipelines joined by connectors form a cycle, so data would go round for ever: traces/x → forward/a \
             → traces/y → forward/b → traces/x"
                .to_string()
        )]
    );

    // A misspelt connector: the message lists what is defined in both sections it could come from.
    let found = config_problems(&config_with(
        "  forward:",
        "    traces: { receivers: [otlp], exporters: [forwrad] }\n    traces/2: { receivers: [forward], exporters: [debug] }",
    ));
    assert!(
        found.contains(&(
            "service.pipelines.traces.exporters".to_string(),
            "`forwrad` is not defined in the top-level `exporters` or `connectors` sections (defined: debug, forward)"
                .to_string()
        )),
        "{found:?}"
    );

    // A connector type that does not exist, and settings `forward` does not take.
    let found = config_problems(&config_with(
        "  signaltometrics:\n  forward: { routes: [] }",
        "    traces: { receivers: [otlp], exporters: [debug] }",
    ));
    let paths: Vec<&str> = found.iter().map(|(path, _)| path.as_str()).collect();
    assert!(paths.contains(&"connectors.signaltometrics"), "{found:?}");
    assert!(
        paths
            .iter()
            .any(|path| path.starts_with("connectors.forward")),
        "{found:?}"
    );
}

/// A connector type of an embedding program that happens to share its name with a receiver type.
struct OtlpConnector;

impl otlp_collector::component::Component for OtlpConnector {
    type Config = otlp_collector::connector::forward::ForwardConfig;
    const TYPE: &'static str = "otlp";
}

impl otlp_collector::component::ConnectorFactory for OtlpConnector {
    const PAIRS: &'static [(otlp_collector::Signal, otlp_collector::Signal)] = &[(
        otlp_collector::Signal::Traces,
        otlp_collector::Signal::Traces,
    )];

    fn build(
        &self,
        _: &Self::Config,
        _: otlp_collector::component::ConnectorContext<'_>,
        _: otlp_collector::connector::Targets,
    ) -> Result<std::sync::Arc<dyn otlp_collector::pipeline::Consumer>, String> {
        Err("not built by this test".to_string())
    }
}

#[test]
fn a_connector_and_a_receiver_may_not_share_an_id() {
    let components = otlp_collector::component::Components::builtin().with_connector(OtlpConnector);
    let yaml = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
connectors:
  otlp:
exporters:
  debug:
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
"#;
    let result = Config::from_yaml_with(yaml, &components, &|_| None);
    let Err(Error::Config { path, message }) = result else {
        panic!("{result:?}");
    };
    assert_eq!(path, "connectors.otlp");
    assert_eq!(
        message,
        "`otlp` is both a connector and a receiver: pipelines name them the same way, so the ids must differ \
         (e.g. `otlp/2`)"
    );
}
