//! Bad input gets a clear error, and the collector keeps serving the next good request.

mod common;

use common::{TestCollector, read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_testkit::Generator;
use prost::Message;
use std::time::Duration;

const CONFIG: &str = r#"
receivers:
  otlp:
    decoding: in_place
    protocols:
      grpc: { endpoint: "127.0.0.1:0", max_recv_msg_size_mib: 1 }
      http: { endpoint: "127.0.0.1:0", max_request_body_size: 1048576 }
processors:
  batch: { timeout: 10ms }
exporters:
  file: { path: "{dir}/traces.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

fn good_request(spans: usize) -> ExportTraceServiceRequest {
    Generator::new(7).traces(spans)
}

async fn post(
    url: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    request.send().await.unwrap()
}

/// POSTs `chunks` chunks of `size` zero bytes with chunked transfer encoding over a raw connection; returns the
/// response's status line.
async fn chunked_post(address: &str, chunks: usize, size: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-protobuf\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = [
        format!("{size:x}\r\n").into_bytes(),
        vec![0; size],
        b"\r\n".to_vec(),
    ]
    .concat();
    for _ in 0..chunks {
        tcp.write_all(&chunk).await.unwrap();
    }
    tcp.write_all(b"0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// The `google.rpc.Status` message of a protobuf error answer.
async fn status_message(response: reqwest::Response) -> String {
    let body = response.bytes().await.unwrap();
    tonic_types::Status::decode(body.as_ref()).unwrap().message
}

/// The `message` of a JSON answer (a request sent as JSON, or of a content type the receiver does not take).
async fn json_message(response: reqwest::Response) -> String {
    assert_eq!(response.headers()["content-type"], "application/json");
    let json: serde_json::Value = response.json().await.unwrap();
    json["message"].as_str().unwrap_or_default().to_owned()
}

async fn assert_good_http_request_works(url: &str, sent: &mut usize) {
    let response = post(
        url,
        "application/x-protobuf",
        None,
        good_request(5).encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    let answer = ExportTraceServiceResponse::decode(body.as_ref()).unwrap();
    assert_eq!(answer.partial_success, None);
    *sent += 5;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_bad_requests_get_clear_errors_and_the_next_request_succeeds() {
    let harness = TestCollector::start(CONFIG).await;
    let url = format!("{}/v1/traces", harness.http_endpoint());
    let mut sent = 0;
    assert_good_http_request_works(&url, &mut sent).await;

    let garbage = post(
        &url,
        "application/x-protobuf",
        None,
        b"\xff\xff\xff\xff not protobuf".to_vec(),
    )
    .await;
    assert_eq!(garbage.status(), 400);
    let message = status_message(garbage).await;
    assert!(
        message.contains("not a valid protobuf ExportTraceServiceRequest"),
        "{message}"
    );
    assert_good_http_request_works(&url, &mut sent).await;

    let invalid_json = post(
        &url,
        "application/json",
        None,
        b"{\"resourceSpans\": [ {".to_vec(),
    )
    .await;
    assert_eq!(invalid_json.status(), 400);
    let message = json_message(invalid_json).await;
    assert!(message.contains("not a valid OTLP/JSON"), "{message}");
    assert_good_http_request_works(&url, &mut sent).await;

    // Well-formed JSON with a bad value: the answer says where it is.
    let bad_trace_id = post(
        &url,
        "application/json",
        None,
        br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"eee19b7ec3c1b174"}]}]}]}"#
            .to_vec(),
    )
    .await;
    assert_eq!(bad_trace_id.status(), 400);
    let message = json_message(bad_trace_id).await;
    assert!(
        message.contains(
            "not a valid OTLP/JSON ExportTraceServiceRequest: at \
             `resourceSpans[0].scopeSpans[0].spans[0].traceId`: "
        ),
        "{message}"
    );
    let trailing = post(&url, "application/json", None, b"{} {}".to_vec()).await;
    assert_eq!(trailing.status(), 400);
    let message = json_message(trailing).await;
    assert!(message.contains("trailing characters"), "{message}");
    assert_good_http_request_works(&url, &mut sent).await;

    let wrong_type = post(&url, "text/plain", None, b"hello".to_vec()).await;
    assert_eq!(wrong_type.status(), 415);
    let message = json_message(wrong_type).await;
    assert!(message.contains("application/x-protobuf"), "{message}");
    assert_good_http_request_works(&url, &mut sent).await;

    let oversized = post(
        &url,
        "application/x-protobuf",
        None,
        vec![0u8; 2 * 1024 * 1024],
    )
    .await;
    assert_eq!(oversized.status(), 413);
    assert!(
        status_message(oversized)
            .await
            .contains("exceeds the limit")
    );
    assert_good_http_request_works(&url, &mut sent).await;

    // 30 MB, far more than the socket buffers hold while the server answers: the client still reads a 413, not a
    // reset connection, whether it declared the length or sent chunks.
    let huge = post(
        &url,
        "application/x-protobuf",
        None,
        vec![0u8; 30 * 1024 * 1024],
    )
    .await;
    assert_eq!(huge.status(), 413);
    assert_eq!(huge.headers()["connection"], "close");
    let address = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let answer = chunked_post(&address, 30, 1024 * 1024).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_good_http_request_works(&url, &mut sent).await;

    // A small gzip body that inflates past the limit is refused without inflating it all.
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut bomb, &vec![0u8; 64 * 1024 * 1024]).unwrap();
    let bomb = bomb.finish().unwrap();
    let bombed = post(&url, "application/x-protobuf", Some("gzip"), bomb).await;
    assert_eq!(bombed.status(), 413);
    assert_good_http_request_works(&url, &mut sent).await;

    let corrupt_gzip = post(
        &url,
        "application/x-protobuf",
        Some("gzip"),
        b"not gzip".to_vec(),
    )
    .await;
    assert_eq!(corrupt_gzip.status(), 400);
    let unknown_encoding = post(&url, "application/x-protobuf", Some("br"), vec![1, 2, 3]).await;
    assert_eq!(unknown_encoding.status(), 415);

    let wrong_path = post(
        &format!("{}/v1/profiles", harness.http_endpoint()),
        "application/x-protobuf",
        None,
        vec![],
    )
    .await;
    assert_eq!(wrong_path.status(), 404);
    assert_eq!(
        json_message(wrong_path).await,
        "no OTLP endpoint at `/v1/profiles`; this receiver takes POST /v1/traces (a signal without a pipeline \
         has none)"
    );
    let get = reqwest::get(&url).await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    assert_eq!(
        json_message(get).await,
        "OTLP/HTTP takes POST requests only"
    );
    assert_good_http_request_works(&url, &mut sent).await;

    let TestCollector { collector, dir } = harness;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(5)).await.is_clean());
    let written = spans(&read_traces(&dir.path().join("traces.jsonl"), true));
    assert_eq!(
        written.len(),
        sent,
        "exactly the good requests' spans were written"
    );
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), sent as u64);
}

/// The same collector with every request decoded by prost on arrival: the reference path must answer alike.
fn prost_decoding() -> String {
    CONFIG.replace("decoding: in_place", "decoding: prost")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_span_ids_are_rejected_alone_with_partial_success() {
    malformed_span_ids_are_rejected_alone(CONFIG).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_span_ids_are_rejected_alone_when_prost_decodes() {
    malformed_span_ids_are_rejected_alone(&prost_decoding()).await;
}

async fn malformed_span_ids_are_rejected_alone(config: &str) {
    let harness = TestCollector::start(config).await;
    let mut request = good_request(10);
    let mut all_spans = request
        .resource_spans
        .iter_mut()
        .flat_map(|r| &mut r.scope_spans)
        .flat_map(|s| &mut s.spans);
    all_spans.next().unwrap().trace_id = vec![1, 2, 3];
    all_spans.next().unwrap().span_id = vec![0; 8];
    let valid = 8;

    let mut client = TraceServiceClient::connect(harness.grpc_endpoint())
        .await
        .unwrap();
    let answer = client.export(request.clone()).await.unwrap().into_inner();
    let partial = answer.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("trace_id must be 16 bytes"),
        "{}",
        partial.error_message
    );

    let response = post(
        &format!("{}/v1/traces", harness.http_endpoint()),
        "application/json",
        None,
        serde_json::to_vec(&request).unwrap(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        answer["partialSuccess"]["rejectedSpans"],
        serde_json::json!(2)
    );
    // Nothing refused: proto3 JSON leaves the unset partial success out.
    let response = post(
        &format!("{}/v1/traces", harness.http_endpoint()),
        "application/json",
        None,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "{}");

    let TestCollector { collector, dir } = harness;
    let telemetry = collector.telemetry().clone();
    assert!(collector.shutdown(Duration::from_secs(5)).await.is_clean());
    assert_eq!(
        spans(&read_traces(&dir.path().join("traces.jsonl"), true)).len(),
        2 * valid
    );
    assert_eq!(telemetry.total("otelcol_receiver_refused_spans"), 4);
    assert_eq!(
        telemetry.total("otelcol_receiver_accepted_spans"),
        2 * valid as u64
    );
}

/// A gRPC request framed by hand, so the body can be anything.
async fn raw_grpc(endpoint: &str, message: &[u8]) -> (Option<String>, Option<String>) {
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client
        .post(format!(
            "{endpoint}/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(frame)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    (header("grpc-status"), header("grpc-message"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_bad_requests_get_clear_errors_and_the_next_request_succeeds() {
    grpc_bad_requests_get_clear_errors(CONFIG).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_bad_requests_get_clear_errors_when_prost_decodes() {
    grpc_bad_requests_get_clear_errors(&prost_decoding()).await;
}

async fn grpc_bad_requests_get_clear_errors(config: &str) {
    let harness = TestCollector::start(config).await;
    let endpoint = harness.grpc_endpoint();
    let mut client = TraceServiceClient::connect(endpoint.clone()).await.unwrap();

    let (code, message) = raw_grpc(&endpoint, b"\xff\xff\xff\xff garbage").await;
    assert_eq!(
        code.as_deref(),
        Some("13"),
        "garbage is an INTERNAL decode error: {message:?}"
    );
    assert!(message.unwrap().contains("decode"));
    client.export(good_request(3)).await.unwrap();

    // 2 MiB of spans against a 1 MiB limit: RESOURCE_EXHAUSTED without RetryInfo, which clients do not retry.
    let big = good_request(5000);
    assert!(big.encoded_len() > 1024 * 1024);
    let status = client.export(big).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too large"));
    client.export(good_request(3)).await.unwrap();

    let TestCollector { collector, dir } = harness;
    assert!(collector.shutdown(Duration::from_secs(5)).await.is_clean());
    assert_eq!(
        spans(&read_traces(&dir.path().join("traces.jsonl"), true)).len(),
        6
    );
}
