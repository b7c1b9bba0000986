//! A multi-tenant gateway as otelcol users build one: the `otlp` receiver keeps each client's request metadata
//! (`include_metadata`), the `batch` processor batches each tenant apart (`metadata_keys`), and the `otlp` and
//! `otlphttp` exporters send each batch with its tenant's `X-Scope-OrgID` (`headers_setter`). Tenants send with
//! the real `opentelemetry-otlp` exporters, one over gRPC metadata and one over HTTP headers; the backend, another
//! collector keeping its clients' metadata too, writes down with `from_context` actions which tenant, transport
//! and address each span came with.

mod common;

use common::{TestCollector, attribute, free_port, read_traces};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const BACKEND: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0", include_metadata: true }
      http: { endpoint: "127.0.0.1:0", include_metadata: true }
processors:
  attributes:
    actions:
      - { key: tenant, from_context: metadata.x-scope-orgid, action: insert }
      - { key: arrived.as, from_context: metadata.content-type, action: insert }
      - { key: sender, from_context: client.address, action: insert }
exporters:
  file: { path: "{dir}/out.jsonl", format: json }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [attributes], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

fn gateway(backend: &TestCollector) -> String {
    format!(
        r#"
extensions:
  headers_setter:
    headers:
      - {{ key: X-Scope-OrgID, from_context: x-scope-orgid, action: upsert }}
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0", include_metadata: true }}
      http: {{ endpoint: "127.0.0.1:0", include_metadata: true }}
processors:
  batch: {{ metadata_keys: [X-Scope-OrgID], timeout: 100ms }}
exporters:
  otlp:
    endpoint: "{grpc}"
    tls: {{ insecure: true }}
    auth: {{ authenticator: headers_setter }}
  otlphttp:
    endpoint: "{http}"
    auth: {{ authenticator: headers_setter }}
service:
  extensions: [headers_setter]
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [otlp, otlphttp] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        grpc = backend.grpc_endpoint(),
        http = backend.http_endpoint(),
    )
}

/// `spans` spans of `service`, sent by the SDK's batch exporter over gRPC with `tenant` as metadata, or over
/// HTTP/protobuf with it as a header; no tenant, no metadata.
fn send(endpoint: String, grpc: bool, service: &'static str, tenant: Option<&str>, spans: usize) {
    let headers: Vec<(&str, &str)> = tenant.map(|t| ("X-Scope-OrgID", t)).into_iter().collect();
    send_with(endpoint, grpc, service, &headers, spans);
}

/// As [`send`], with `headers` as the request's metadata or headers.
fn send_with(
    endpoint: String,
    grpc: bool,
    service: &'static str,
    headers: &[(&str, &str)],
    spans: usize,
) {
    use opentelemetry_otlp::{
        SpanExporter, WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _,
    };
    let exporter = if grpc {
        let mut metadata = tonic::metadata::MetadataMap::new();
        for (name, value) in headers {
            let name =
                tonic::metadata::MetadataKey::from_bytes(name.to_lowercase().as_bytes()).unwrap();
            metadata.insert(name, value.parse().unwrap());
        }
        SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_metadata(metadata)
            .build()
            .unwrap()
    } else {
        let headers = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{endpoint}/v1/traces"))
            .with_headers(headers)
            .build()
            .unwrap()
    };
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("shop");
    for i in 0..spans {
        let mut span = tracer.start("checkout");
        span.set_attribute(KeyValue::new("order", i as i64));
        span.end();
    }
    provider.shutdown().unwrap();
}

/// The spans the `file` exporter wrote to `path`, counted by their service and the text of each span attribute
/// of `keys` (`-` when a span has none).
fn tally(path: &Path, keys: &[&str]) -> BTreeMap<Vec<String>, usize> {
    let text = |value: Option<&Value>| match value {
        Some(Value::StringValue(text)) => text.clone(),
        _ => "-".to_string(),
    };
    let mut counts = BTreeMap::new();
    for resource_spans in read_traces(path, true)
        .iter()
        .flat_map(|request| &request.resource_spans)
    {
        let service = resource_spans
            .resource
            .as_ref()
            .map(|resource| text(attribute(&resource.attributes, "service.name")))
            .unwrap_or_default();
        for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            let row = std::iter::once(service.clone())
                .chain(
                    keys.iter()
                        .map(|key| text(attribute(&span.attributes, key))),
                )
                .collect();
            *counts.entry(row).or_default() += 1;
        }
    }
    counts
}

/// Rows as [`tally`] counts them.
fn rows<const N: usize>(rows: &[([&str; N], usize)]) -> BTreeMap<Vec<String>, usize> {
    rows.iter()
        .map(|(row, spans)| (row.iter().map(|s| s.to_string()).collect(), *spans))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenants_spans_reach_the_backend_with_its_own_tenant_header() {
    let backend = TestCollector::start(BACKEND).await;
    let gateway = TestCollector::start(&gateway(&backend)).await;
    let (grpc, http) = (gateway.grpc_endpoint(), gateway.http_endpoint());
    // Sent at once, so that the gateway's batches would mix the tenants if it did not keep them apart.
    let senders = [
        (grpc.clone(), true, "acme-shop", Some("acme"), 300),
        (http.clone(), false, "globex-shop", Some("globex"), 200),
        (grpc, true, "anonymous-shop", None, 50),
    ]
    .map(|(endpoint, grpc, service, tenant, spans)| {
        let tenant = tenant.map(str::to_owned);
        tokio::task::spawn_blocking(move || send(endpoint, grpc, service, tenant.as_deref(), spans))
    });
    for sender in senders {
        sender.await.unwrap();
    }
    let _gateway_dir = gateway.shut_down_cleanly().await;
    let dir = backend.shut_down_cleanly().await;

    // Every span arrives twice, once per exporter, over gRPC and over HTTP.
    let (grpc, http) = ("application/grpc", "application/x-protobuf");
    assert_eq!(
        tally(
            &dir.path().join("out.jsonl"),
            &["tenant", "arrived.as", "sender"]
        ),
        rows(&[
            (["acme-shop", "acme", grpc, "127.0.0.1"], 300),
            (["acme-shop", "acme", http, "127.0.0.1"], 300),
            (["anonymous-shop", "-", grpc, "127.0.0.1"], 50),
            (["anonymous-shop", "-", http, "127.0.0.1"], 50),
            (["globex-shop", "globex", grpc, "127.0.0.1"], 200),
            (["globex-shop", "globex", http, "127.0.0.1"], 200),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_processor_without_metadata_keys_mixes_clients_and_keeps_none() {
    let backend = TestCollector::start(BACKEND).await;
    let config = gateway(&backend).replace(
        "batch: { metadata_keys: [X-Scope-OrgID], timeout: 100ms }",
        "batch: { timeout: 100ms }",
    );
    let gateway = TestCollector::start(&config).await;
    let endpoint = gateway.grpc_endpoint();
    tokio::task::spawn_blocking(move || send(endpoint, true, "acme-shop", Some("acme"), 20))
        .await
        .unwrap();
    let _gateway_dir = gateway.shut_down_cleanly().await;
    let dir = backend.shut_down_cleanly().await;
    let spans = common::spans(&read_traces(&dir.path().join("out.jsonl"), true));
    assert_eq!(spans.len(), 40);
    assert!(
        spans
            .iter()
            .all(|span| attribute(&span.attributes, "tenant").is_none()),
        "as otelcol's: only the keys in metadata_keys outlive the batch processor"
    );
}

const ROUTER: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:0", include_metadata: true }
connectors:
  routing:
    default_pipelines: [traces/others]
    table:
      - condition: resource.attributes["service.name"] == "audit"
        pipelines: [traces/audit]
      - context: request
        condition: request["X-Scope-OrgID"] == "acme"
        pipelines: [traces/acme]
exporters:
  file/audit: { path: "{dir}/audit.jsonl", format: json }
  file/acme: { path: "{dir}/acme.jsonl", format: json }
  file/others: { path: "{dir}/others.jsonl", format: json }
service:
  pipelines:
    traces/in: { receivers: [otlp], exporters: [routing] }
    traces/audit: { receivers: [routing], exporters: [file/audit] }
    traces/acme: { receivers: [routing], exporters: [file/acme] }
    traces/others: { receivers: [routing], exporters: [file/others] }
  telemetry:
    metrics: { level: none }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_route_takes_what_the_routes_before_it_left_of_its_tenants_data() {
    let router = TestCollector::start(ROUTER).await;
    let endpoint = router.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        send(endpoint.clone(), true, "shop", Some("acme"), 30);
        send(endpoint.clone(), true, "audit", Some("acme"), 5);
        send(endpoint.clone(), true, "shop", Some("globex"), 20);
        send(endpoint, true, "shop", None, 10);
    })
    .await
    .unwrap();
    let dir = router.shut_down_cleanly().await;
    let services = |file: &str| tally(&dir.path().join(file), &[]);
    assert_eq!(services("audit.jsonl"), rows(&[(["audit"], 5)]));
    assert_eq!(services("acme.jsonl"), rows(&[(["shop"], 30)]));
    assert_eq!(services("others.jsonl"), rows(&[(["shop"], 30)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_batches_kept_on_disk_go_out_with_its_header_after_a_restart() {
    let port = free_port();
    let storage = tempfile::tempdir().unwrap();
    let gateway_config = format!(
        r#"
extensions:
  headers_setter:
    headers:
      - {{ key: X-Scope-OrgID, from_context: x-scope-orgid }}
  file_storage: {{ directory: "{storage}", create_directory: true }}
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0", include_metadata: true }}
processors:
  batch: {{ metadata_keys: [X-Scope-OrgID], timeout: 100ms }}
exporters:
  otlp:
    endpoint: "http://127.0.0.1:{port}"
    auth: {{ authenticator: headers_setter }}
    retry_on_failure: {{ initial_interval: 50ms, max_interval: 200ms }}
    sending_queue: {{ storage: file_storage }}
service:
  extensions: [headers_setter, file_storage]
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [otlp] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        storage = storage.path().display()
    );

    // The backend is down: the gateway takes the spans and keeps them on disk as it stops.
    let gateway = TestCollector::start(&gateway_config).await;
    let endpoint = gateway.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        send(endpoint.clone(), true, "acme-shop", Some("acme"), 40);
        send(endpoint, true, "globex-shop", Some("globex"), 10);
    })
    .await
    .unwrap();
    let report = gateway.collector.shutdown(Duration::from_millis(500)).await;
    assert!(report.is_clean(), "kept on disk, not lost: {report:?}");

    let backend = TestCollector::start(&BACKEND.replace(
        r#"grpc: { endpoint: "127.0.0.1:0""#,
        &format!(r#"grpc: {{ endpoint: "127.0.0.1:{port}""#),
    ))
    .await;
    let gateway = TestCollector::start(&gateway_config).await;
    let written = backend.path("out.jsonl");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while common::spans(&read_traces(&written, true)).len() < 50
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _gateway_dir = gateway.shut_down_cleanly().await;
    let dir = backend.shut_down_cleanly().await;
    assert_eq!(
        tally(&dir.path().join("out.jsonl"), &["tenant"]),
        rows(&[(["acme-shop", "acme"], 40), (["globex-shop", "globex"], 10)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_authenticator_learnt_of_a_client_reaches_processors_and_exporters() {
    let backend = TestCollector::start(BACKEND).await;
    // bcrypt at cost 4 keeps the test quick.
    let users = ["alice", "bob"]
        .map(|user| format!("{user}:{}", bcrypt::hash(format!("{user}-pw"), 4).unwrap()))
        .join("\\n");
    let gateway = TestCollector::start(&format!(
        r#"
extensions:
  basicauth: {{ htpasswd: {{ inline: "{users}" }} }}
  headers_setter:
    headers:
      - {{ key: X-Scope-OrgID, from_attribute: username }}
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0", auth: {{ authenticator: basicauth }} }}
      http: {{ endpoint: "127.0.0.1:0", auth: {{ authenticator: basicauth }} }}
processors:
  attributes:
    actions:
      - {{ key: authenticated.as, from_context: auth.username, action: insert }}
exporters:
  otlp:
    endpoint: "{backend}"
    tls: {{ insecure: true }}
    auth: {{ authenticator: headers_setter }}
service:
  extensions: [basicauth, headers_setter]
  pipelines:
    traces: {{ receivers: [otlp], processors: [attributes], exporters: [otlp] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        backend = backend.grpc_endpoint(),
    ))
    .await;
    let basic = |user: &str| {
        use base64::Engine as _;
        let credentials = format!("{user}:{user}-pw");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    let (alice, bob) = (basic("alice"), basic("bob"));
    let (grpc, http) = (gateway.grpc_endpoint(), gateway.http_endpoint());
    tokio::task::spawn_blocking(move || {
        send_with(grpc, true, "alices-shop", &[("authorization", &alice)], 12);
        send_with(http, false, "bobs-shop", &[("Authorization", &bob)], 8);
    })
    .await
    .unwrap();
    let _gateway_dir = gateway.shut_down_cleanly().await;
    let dir = backend.shut_down_cleanly().await;
    assert_eq!(
        tally(
            &dir.path().join("out.jsonl"),
            &["authenticated.as", "tenant"]
        ),
        rows(&[
            (["alices-shop", "alice", "alice"], 12),
            (["bobs-shop", "bob", "bob"], 8),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_of_other_protocols_keep_their_clients_as_the_otlp_receiver_does() {
    let hash = bcrypt::hash("zipkin-pw", 4).unwrap();
    let collector = TestCollector::start(&format!(
        r#"
extensions:
  basicauth: {{ htpasswd: {{ inline: "shop:{hash}" }} }}
receivers:
  zipkin:
    endpoint: "127.0.0.1:0"
    include_metadata: true
    auth: {{ authenticator: basicauth }}
processors:
  attributes:
    actions:
      - {{ key: tenant, from_context: metadata.x-scope-orgid, action: insert }}
      - {{ key: authenticated.as, from_context: auth.username, action: insert }}
      - {{ key: sender, from_context: client.address, action: insert }}
exporters:
  file: {{ path: "{{dir}}/out.jsonl", format: json }}
service:
  extensions: [basicauth]
  pipelines:
    traces: {{ receivers: [zipkin], processors: [attributes], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#
    ))
    .await;
    let endpoint = collector.collector.http_addr("zipkin").unwrap();
    let span = r#"[{"traceId": "5af7183fb1d4cf5f5af7183fb1d4cf5f", "id": "6b221d5bc9e6496c", "name": "get /cart",
        "timestamp": 1700000000000000, "duration": 1200, "localEndpoint": {"serviceName": "cart"}}]"#;
    let answer = reqwest::Client::new()
        .post(format!("http://{endpoint}/api/v2/spans"))
        .header("content-type", "application/json")
        .header("x-scope-orgid", "acme")
        .basic_auth("shop", Some("zipkin-pw"))
        .body(span)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let dir = collector.shut_down_cleanly().await;
    assert_eq!(
        tally(
            &dir.path().join("out.jsonl"),
            &["tenant", "authenticated.as", "sender"]
        ),
        rows(&[(["cart", "acme", "shop", "127.0.0.1"], 1)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_two_tenants_is_given_up_at_once_not_retried() {
    let backend = TestCollector::start(BACKEND).await;
    let config = gateway(&backend).replace(
        "batch: { metadata_keys: [X-Scope-OrgID], timeout: 100ms }",
        "batch: { metadata_keys: [X-Scope-OrgID], timeout: 10ms }",
    );
    let gateway = TestCollector::start(&config).await;
    let request = prost::Message::encode_to_vec(&otlp_testkit::Generator::new(3).traces(5));
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/traces", gateway.http_endpoint()))
        .header("content-type", "application/x-protobuf")
        .header("x-scope-orgid", "acme")
        .header("x-scope-orgid", "globex")
        .body(request)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "taken: the exporter finds out");
    let telemetry = gateway.collector.telemetry().clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while telemetry.total("otelcol_exporter_send_failed_spans") < 10
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Both exporters gave the spans up on their first attempt: which tenant to send them as is not known, and
    // waiting would not tell.
    assert_eq!(telemetry.total("otelcol_exporter_send_failed_spans"), 10);
    assert_eq!(telemetry.total("otelcol_exporter_sent_spans"), 0);
    let _gateway_dir = gateway.shut_down_cleanly().await;
    let dir = backend.shut_down_cleanly().await;
    assert!(tally(&dir.path().join("out.jsonl"), &[]).is_empty());
}
