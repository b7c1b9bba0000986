//! The gRPC receiver lets clients send HTTP/2 frames of 256 KiB, not the protocol's 16 KiB: a request of a few
//! hundred spans arrives in one frame instead of a dozen, each written and read with a syscall of its own.

mod common;

use common::{TestCollector, otlp_to_jsonl};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_testkit::Generator;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SETTINGS: u8 = 0x4;
const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;

/// The settings a server sends first on a new HTTP/2 connection, as (identifier, value) pairs.
async fn server_settings(tcp: &mut TcpStream) -> Vec<(u16, u32)> {
    // The client's connection preface: the magic string, then an empty SETTINGS frame.
    let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    preface.extend_from_slice(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]);
    tcp.write_all(&preface).await.unwrap();
    let mut header = [0u8; 9];
    tcp.read_exact(&mut header).await.unwrap();
    assert_eq!(
        header[3], SETTINGS,
        "the server's preface is not a SETTINGS frame"
    );
    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0; len];
    tcp.read_exact(&mut payload).await.unwrap();
    payload
        .chunks_exact(6)
        .map(|setting| {
            let (id, value) = setting.split_at(2);
            (
                u16::from_be_bytes([id[0], id[1]]),
                u32::from_be_bytes([value[0], value[1], value[2], value[3]]),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_may_send_a_request_of_a_few_hundred_spans_in_one_frame() {
    let collector = TestCollector::start(&otlp_to_jsonl(
        "      grpc:\n        endpoint: \"127.0.0.1:0\"\n",
    ))
    .await;
    let mut tcp = TcpStream::connect(collector.collector.grpc_addr("otlp").unwrap())
        .await
        .unwrap();
    let settings = server_settings(&mut tcp).await;
    assert!(
        settings.contains(&(SETTINGS_MAX_FRAME_SIZE, 256 * 1024)),
        "{settings:?}"
    );
    // Closed now: an open connection would hold up the collector's graceful shutdown.
    drop(tcp);

    // tonic's client sends in the frames the server allows: such a request arrives whole in its first frame, and
    // the receiver's buffer sizing must hold it and its length again (what tonic reserves once the header is in).
    let mut client = TraceServiceClient::connect(collector.grpc_endpoint())
        .await
        .unwrap();
    let mut sent = 0;
    for seed in 0..3 {
        let request = Generator::new(seed).traces(400);
        let len = request.encoded_len();
        assert!(
            (16 * 1024..256 * 1024).contains(&len),
            "{len} bytes: not between the two frame sizes"
        );
        sent += otlp_testkit::span_count(&request);
        client.export(request).await.unwrap();
    }
    assert_eq!(collector.drain_and_count_spans("out.jsonl").await, sent);
}
