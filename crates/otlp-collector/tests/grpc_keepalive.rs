//! gRPC keepalive on both ends. The receiver's `keepalive.server_parameters`: a connection older than
//! `max_connection_age` is closed by the server, a gRPC client reconnects and keeps exporting without losing
//! anything, and the grpc-go keys we do not have are errors that say which ones exist. The `otlp` exporter's
//! `keepalive`: a connection whose peer stops answering (a frozen network path, not a closed socket) is found dead
//! by its pings and replaced, and the queued batch gets through.

mod common;

use common::{TestCollector, otlp_to_jsonl};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_collector::config::ComponentId;
use otlp_collector::{Config, OtlpReceiverConfig};
use otlp_testkit::Generator;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A collector whose gRPC receiver has `keepalive` (YAML at the receiver's indentation) and whose traces go to
/// `{dir}/out.jsonl`.
fn writing_traces(keepalive: &str) -> String {
    otlp_to_jsonl(&format!(
        "      grpc:\n        endpoint: \"127.0.0.1:0\"\n{keepalive}"
    ))
}

const AGED: &str = "        keepalive:
          server_parameters:
            max_connection_age: 1s
            max_connection_age_grace: 1s
            time: 30s
            timeout: 5s";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_their_age_are_closed_and_clients_reconnect() {
    let collector = TestCollector::start(&writing_traces(AGED)).await;
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
    assert_eq!(collector.drain_and_count_spans("out.jsonl").await, sent);
}

#[test]
fn keepalive_keys_follow_otelcol_and_the_missing_ones_say_so() {
    let parsed = Config::from_yaml(&writing_traces(AGED).replace("{dir}", "/tmp")).unwrap();
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

    let unsupported = writing_traces(AGED).replace(
        "        keepalive:\n",
        "        keepalive:\n          enforcement_policy: { min_time: 5s }\n",
    );
    let error = Config::from_yaml(&unsupported).unwrap_err().to_string();
    assert!(
        error.contains("receivers.otlp.protocols.grpc.keepalive.enforcement_policy")
            && error.contains("not supported: tonic's gRPC server")
            && !error.contains("did you mean"),
        "{error}"
    );
}

/// A TCP relay to `backend` whose connections can be frozen: after [`freeze`](Self::freeze), the connections open
/// until then stop carrying bytes either way while their sockets stay open, as when a path through a firewall or a
/// vanished node goes silent; connections opened later relay normally.
struct FreezingRelay {
    address: std::net::SocketAddr,
    epoch: Arc<AtomicUsize>,
}

impl FreezingRelay {
    async fn start(backend: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let epoch = Arc::new(AtomicUsize::new(0));
        let relay_epoch = epoch.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(backend).await else {
                    continue;
                };
                let born = relay_epoch.load(Ordering::SeqCst);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(relay(client_read, server_write, born, relay_epoch.clone()));
                tokio::spawn(relay(server_read, client_write, born, relay_epoch.clone()));
            }
        });
        FreezingRelay { address, epoch }
    }

    fn freeze(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    born: usize,
    epoch: Arc<AtomicUsize>,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if epoch.load(Ordering::SeqCst) != born {
            // Frozen: hold both sockets open and carry nothing more.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exporter_replaces_a_connection_that_stopped_answering_its_pings() {
    let backend = TestCollector::start(&writing_traces("")).await;
    let relay = FreezingRelay::start(backend.collector.grpc_addr("otlp").unwrap()).await;
    let forwarder = TestCollector::start(&format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:
  otlp:
    endpoint: http://{}
    timeout: 2s
    keepalive: {{ time: 1s, timeout: 1s, permit_without_stream: true }}
    retry_on_failure: {{ initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 60s }}
service:
  pipelines:
    traces: {{ receivers: [otlp], exporters: [otlp] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        relay.address
    ))
    .await;
    let batch = |seed: u64| otlp_collector::Batch::new(Generator::new(seed).traces(6));
    forwarder.submit_retrying(batch(1)).await;
    // Let the first batch through on the connection that is about to go silent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.freeze();
    forwarder.submit_retrying(batch(2)).await;
    let TestCollector { collector, .. } = forwarder;
    // Draining waits for the second batch: without pings every attempt would time out on the silent connection.
    assert!(collector.shutdown(Duration::from_secs(30)).await.is_clean());
    assert_eq!(backend.drain_and_count_spans("out.jsonl").await, 12);
}
