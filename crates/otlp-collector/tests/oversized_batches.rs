//! A batch larger than the next collector takes in one request (its receivers' `max_recv_msg_size_mib` and
//! `max_request_body_size`, 4 MiB and 20 MiB by default; a `batch` of 8192 spans exceeds the first) is sent again
//! in halves until each half is taken, over gRPC (`RESOURCE_EXHAUSTED`) and HTTP (413), instead of being dropped.

mod common;

use common::{TestCollector, read_traces, spans};
use otlp_collector::Batch;
use otlp_testkit::Generator;

/// The gateway: takes requests of at most 1 MiB on both transports.
const GATEWAY: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0", max_recv_msg_size_mib: 1 }
      http: { endpoint: "127.0.0.1:0", max_request_body_size: 1048576 }
exporters:
  file: { path: "{dir}/out.jsonl", format: proto }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

/// An agent sending everything submitted to it on through exporter `id`, configured by `settings`.
fn agent(id: &str, settings: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
exporters:
  {id}: {settings}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [{id}] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_the_gateways_limit_arrives_in_halves() {
    let gateway = TestCollector::start(GATEWAY).await;
    let request = Generator::new(7).traces(8000);
    let sent = spans(std::slice::from_ref(&request)).len();
    assert!(
        prost::Message::encoded_len(&request) > 2 * 1024 * 1024,
        "the batch must be over the gateway's limit at least twice"
    );
    for (id, settings) in [
        (
            "otlp",
            format!(
                "{{ endpoint: \"{}\", compression: none, tls: {{ insecure: true }} }}",
                gateway.grpc_endpoint()
            ),
        ),
        (
            "otlphttp",
            format!(
                "{{ endpoint: \"{}\", compression: none }}",
                gateway.http_endpoint()
            ),
        ),
    ] {
        let agent = TestCollector::start(&agent(id, &settings)).await;
        agent.submit_retrying(Batch::new(request.clone())).await;
        agent.shut_down_cleanly().await;
    }
    let dir = gateway.shut_down_cleanly().await;
    let received = spans(&read_traces(&dir.path().join("out.jsonl"), false));
    assert_eq!(received.len(), 2 * sent, "every span over both transports");
}
