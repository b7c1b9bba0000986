//! The `oidc` authenticator on a receiver and the `oauth2client` one on an exporter, against an identity provider
//! that serves an OpenID discovery document, an RSA key set and a client-credentials token endpoint, and issues
//! RS256 ID tokens with PyJWT and `cryptography` (an independent JWT implementation; no IdP server runs on this
//! machine): the real `opentelemetry-otlp` exporter sending with a valid token delivers; tokens for another
//! audience, expired ones and none are refused (`UNAUTHENTICATED`, 401); an unreachable provider keeps the
//! collector from starting; an agent whose exporters get their tokens from the provider delivers to a gateway
//! that checks them, asking for one token for many requests.
//!
//! Python comes from `$OTLP_SUITE_PYTHON` (the venv `cargo xtask setup` makes), else `python3`.

mod common;

use common::{TestCollector, attribute, free_port, python, read_traces, spans};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use otlp_collector::{Collector, Config};
use otlp_testkit::Generator;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use tonic::Code;
use tonic::metadata::MetadataValue;

/// The provider: discovery at `/realms/telemetry/.well-known/openid-configuration`, keys at the `jwks_uri`; prints
/// a valid token, one for another audience and an expired one, then serves until killed.
const PROVIDER: &str = r#"
import base64, http.server, json, sys, time, urllib.parse, jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
port = int(sys.argv[1])
issuer = f"http://127.0.0.1:{port}/realms/telemetry"
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
jwk.update(kid="rsa-1", use="sig", alg="RS256")
documents = {
    "/realms/telemetry/.well-known/openid-configuration": {
        "issuer": issuer, "jwks_uri": issuer + "/protocol/openid-connect/certs",
        "id_token_signing_alg_values_supported": ["RS256"]},
    "/realms/telemetry/protocol/openid-connect/certs": {"keys": [jwk]},
}
tokens_issued = 0
class Provider(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global tokens_issued
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
        basic = self.headers.get("authorization", "")
        client = base64.b64decode(basic[6:]).decode() if basic.startswith("Basic ") else ""
        granted = (self.path == "/realms/telemetry/protocol/openid-connect/token"
                   and form.get("grant_type") == ["client_credentials"] and client == "agent:s3cret%2F1"
                   and form.get("scope") == ["telemetry.write"])
        if granted:
            tokens_issued += 1
            body = {"access_token": token(sub="agent"), "token_type": "bearer", "expires_in": 600}
        else:
            body = {"error": "invalid_client"}
        body = json.dumps(body).encode()
        self.send_response(200 if granted else 401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/tokens-issued":
            documents[self.path] = {"count": tokens_issued}
        document = documents.get(self.path)
        if document is None:
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Provider)
now = int(time.time())
def token(**changes):
    claims = {"iss": issuer, "aud": "otel-collector", "sub": "checkout", "exp": now + 600, "iat": now,
              "groups": ["shop", "payments"]}
    claims.update(changes)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "rsa-1"})
print(token(), token(aud="grafana"), token(exp=now - 60), flush=True)
server.serve_forever()
"#;

/// The running provider, killed when dropped.
struct Provider {
    child: Child,
    port: u16,
    tokens: Vec<String>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider() -> Provider {
    let port = free_port();
    let mut child = Command::new(python())
        .args(["-c", PROVIDER, &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let tokens: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    assert_eq!(tokens.len(), 3, "the provider printed `{line}`");
    Provider {
        child,
        port,
        tokens,
    }
}

fn config(issuer: &str) -> String {
    format!(
        r#"
extensions:
  oidc:
    issuer_url: {issuer}
    audience: otel-collector
    groups_claim: groups
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0", auth: {{ authenticator: oidc }} }}
      http: {{ endpoint: "127.0.0.1:0", auth: {{ authenticator: oidc }} }}
processors:
  attributes:
    actions:
      - {{ key: token.subject, from_context: auth.subject, action: insert }}
      - {{ key: token.groups, from_context: auth.membership, action: insert }}
exporters:
  file: {{ path: "{{dir}}/out.jsonl", format: json }}
service:
  extensions: [oidc]
  pipelines:
    traces: {{ receivers: [otlp], processors: [attributes], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

async fn grpc_export(endpoint: String, token: Option<&str>) -> Result<(), Code> {
    let mut client = TraceServiceClient::connect(endpoint).await.unwrap();
    let mut request = tonic::Request::new(Generator::new(1).traces(3));
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
        );
    }
    client
        .export(request)
        .await
        .map(|_| ())
        .map_err(|s| s.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_of_the_provider_are_taken_and_the_others_refused() {
    let provider = provider();
    let issuer = format!("http://127.0.0.1:{}/realms/telemetry", provider.port);
    let collector = TestCollector::start(&config(&issuer)).await;
    let (good, other_audience, expired) = (
        provider.tokens[0].clone(),
        provider.tokens[1].clone(),
        provider.tokens[2].clone(),
    );

    // The SDK's exporter, sending the token as its `authorization` metadata.
    let endpoint = collector.grpc_endpoint();
    let bearer = format!("Bearer {good}");
    tokio::task::spawn_blocking(move || {
        use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert("authorization", bearer.parse().unwrap());
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_metadata(metadata)
            .build()
            .unwrap();
        let tracer_provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_simple_exporter(exporter)
            .build();
        let tracer = tracer_provider.tracer("checkout");
        for _ in 0..4 {
            tracer.start("charge").end();
        }
        tracer_provider.shutdown().unwrap();
    })
    .await
    .unwrap();

    for (token, why) in [
        (Some(other_audience.as_str()), "another audience"),
        (Some(expired.as_str()), "expired"),
        (Some("not-a-token"), "not a JWT"),
        (None, "no token"),
    ] {
        assert_eq!(
            grpc_export(collector.grpc_endpoint(), token).await,
            Err(Code::Unauthenticated),
            "{why}"
        );
    }
    let http = reqwest::Client::new();
    let post = |token: &str| {
        http.post(format!("{}/v1/traces", collector.http_endpoint()))
            .header("content-type", "application/x-protobuf")
            .header("authorization", format!("Bearer {token}"))
            .body(prost::Message::encode_to_vec(&Generator::new(2).traces(2)))
            .send()
    };
    assert_eq!(post(&good).await.unwrap().status(), 200);
    assert_eq!(post(&expired).await.unwrap().status(), 401);

    let dir = collector.shut_down_cleanly().await;
    let spans = spans(&read_traces(&dir.path().join("out.jsonl"), true));
    assert_eq!(spans.len(), 4 + 2);
    // What the token said of its holder reaches the processors, as otelcol's `oidc` hands it on.
    for span in &spans {
        let text = |key| match attribute(&span.attributes, key) {
            Some(Value::StringValue(text)) => text.as_str(),
            _ => "",
        };
        assert_eq!(
            (text("token.subject"), text("token.groups")),
            ("checkout", "shop;payments")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_keeps_the_collector_from_starting() {
    let issuer = format!("http://127.0.0.1:{}/realms/telemetry", free_port());
    let dir = tempfile::tempdir().unwrap();
    let yaml = config(&issuer).replace("{dir}", &dir.path().display().to_string());
    let error = match Collector::new(Config::from_yaml(&yaml).unwrap())
        .start()
        .await
    {
        Ok(_) => panic!("started without its identity provider"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("extensions.oidc") && error.contains(&issuer),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sends_with_tokens_from_the_provider_to_a_gateway_that_checks_them() {
    let provider = provider();
    let issuer = format!("http://127.0.0.1:{}/realms/telemetry", provider.port);
    let gateway = TestCollector::start(&config(&issuer)).await;
    for (exporter, endpoint) in [
        ("otlp", gateway.grpc_endpoint()),
        ("otlphttp", gateway.http_endpoint()),
    ] {
        let agent = TestCollector::start(&format!(
            r#"
extensions:
  oauth2client:
    client_id: agent
    client_secret: s3cret/1
    token_url: {issuer}/protocol/openid-connect/token
    scopes: [telemetry.write]
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
exporters:
  {exporter}:
    endpoint: "{endpoint}"
    tls: {{ insecure: true }}
    auth: {{ authenticator: oauth2client }}
service:
  extensions: [oauth2client]
  pipelines:
    traces: {{ receivers: [otlp], exporters: [{exporter}] }}
  telemetry:
    metrics: {{ level: none }}
"#
        ))
        .await;
        for seed in 0..5 {
            agent
                .submit_retrying(otlp_collector::Batch::new(Generator::new(seed).traces(2)))
                .await;
        }
        agent.shut_down_cleanly().await;
    }
    let issued: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{}/tokens-issued", provider.port))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        issued["count"], 2,
        "one token per agent, for all its requests"
    );
    let dir = gateway.shut_down_cleanly().await;
    assert_eq!(
        spans(&read_traces(&dir.path().join("out.jsonl"), true)).len(),
        2 * 5 * 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_the_token_endpoint_refuses_delivers_nothing_and_says_why() {
    let provider = provider();
    let issuer = format!("http://127.0.0.1:{}/realms/telemetry", provider.port);
    let gateway = TestCollector::start(&config(&issuer)).await;
    let agent = TestCollector::start(&format!(
        r#"
extensions:
  oauth2client:
    client_id: agent
    client_secret: wrong
    token_url: {issuer}/protocol/openid-connect/token
exporters:
  otlp:
    endpoint: "{}"
    tls: {{ insecure: true }}
    auth: {{ authenticator: oauth2client }}
    sending_queue: {{ enabled: false }}
    retry_on_failure: {{ enabled: false }}
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
service:
  extensions: [oauth2client]
  pipelines:
    traces: {{ receivers: [otlp], exporters: [otlp] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        gateway.grpc_endpoint()
    ))
    .await;
    let refusal = agent
        .collector
        .submit(otlp_collector::Batch::new(Generator::new(1).traces(2)))
        .await
        .expect_err("no token, no delivery");
    assert!(
        refusal.message.contains("401") && refusal.message.contains("invalid_client"),
        "{}",
        refusal.message
    );
    agent.shut_down_cleanly().await;
    let dir = gateway.shut_down_cleanly().await;
    assert!(spans(&read_traces(&dir.path().join("out.jsonl"), true)).is_empty());
}
