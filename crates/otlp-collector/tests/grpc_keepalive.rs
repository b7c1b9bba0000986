//! `protocols.grpc.keepalive.server_parameters`: a connection older than `max_connection_age` is closed by the
//! server, an OTel-style gRPC client reconnects and keeps exporting without losing anything, and the grpc-go keys we
//! do not have are errors that say which ones exist.

mod common;

use common::{TestCollector, read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_collector::config::ComponentId;
use otlp_collector::{Config, OtlpReceiverConfig};
use otlp_testkit::Generator;
use std::time::Duration;

const AGED: &str = r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: "127.0.0.1:0"
        keepalive:
          server_parameters:
            max_connection_age: 1s
            max_connection_age_grace: 1s
            time: 30s
            timeout: 5s
exporters:
  file: { path: "{dir}/out.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_their_age_are_closed_and_clients_reconnect() {
    let collector = TestCollector::start(AGED).await;
    let address = collector.collector.grpc_addr("otlp").unwrap();

    // An idle HTTP/2 connection: the server ends it once it is a second old (the bound only keeps a broken
    // build from hanging the suite).
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let (_client, connection) = h2::client::handshake(tcp).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(30), connection).await;
    assert!(
        closed.is_ok(),
        "the server kept a connection past max_connection_age"
    );

    // A client exporting across the age: its channel reconnects, and every span arrives.
    let mut client = TraceServiceClient::connect(collector.grpc_endpoint())
        .await
        .unwrap();
    let mut sent = 0;
    for round in 0..3u64 {
        client
            .export(Generator::new(round).traces(5))
            .await
            .unwrap();
        sent += 5;
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    let TestCollector { collector, dir } = collector;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(
        spans(&read_traces(&dir.path().join("out.jsonl"), true)).len(),
        sent
    );
}

#[test]
fn keepalive_keys_follow_otelcol_and_the_missing_ones_say_so() {
    let parsed = Config::from_yaml(&AGED.replace("{dir}", "/tmp")).unwrap();
    let receiver = parsed
        .receivers
        .get(&ComponentId::parse("otlp").unwrap())
        .and_then(|c| c.get::<OtlpReceiverConfig>())
        .unwrap();
    let parameters = &receiver
        .protocols
        .grpc
        .as_ref()
        .unwrap()
        .keepalive
        .server_parameters;
    assert_eq!(parameters.max_connection_age, Some(Duration::from_secs(1)));
    assert_eq!(parameters.timeout, Some(Duration::from_secs(5)));

    let unsupported = AGED.replace(
        "        keepalive:\n",
        "        keepalive:\n          enforcement_policy: { min_time: 5s }\n",
    );
    let error = Config::from_yaml(&unsupported).unwrap_err().to_string();
    assert!(
        error.contains("receivers.otlp.protocols.grpc.keepalive.enforcement_policy")
            && error.contains("server_parameters"),
        "{error}"
    );
}
