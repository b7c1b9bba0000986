//! Authenticators on receivers and exporters, with real clients: `bearertokenauth` and `basicauth` refuse
//! requests without the right credentials (`UNAUTHENTICATED` over gRPC, 401 over HTTP) and take the right ones;
//! another collector's `otlp` and `otlphttp` exporters naming the client side deliver everything; references to
//! authenticators are checked when the config is read.

mod common;

use common::{TestCollector, forwarder_config, read_traces, spans};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_testkit::{Generator, span_count};
use prost::Message;
use std::time::Duration;
use tonic::Code;
use tonic::metadata::MetadataValue;

/// A collector whose `otlp` receiver demands `authenticator` (defined as `extension`) on both transports and
/// writes traces to `{dir}/out.jsonl`.
fn guarded(authenticator: &str, extension: &str) -> String {
    format!(
        r#"
extensions:
  {authenticator}: {extension}
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0", auth: {{ authenticator: {authenticator} }} }}
      http: {{ endpoint: "127.0.0.1:0", auth: {{ authenticator: {authenticator} }} }}
exporters:
  file: {{ path: "{{dir}}/out.jsonl", format: json }}
service:
  extensions: [{authenticator}]
  pipelines:
    traces: {{ receivers: [otlp], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#
    )
}

/// Exports `spans` spans over gRPC with `authorization` set to `credentials` (none when `None`).
async fn grpc_export(
    endpoint: String,
    credentials: Option<&str>,
    spans: usize,
) -> Result<(), Code> {
    let mut client = TraceServiceClient::connect(endpoint).await.unwrap();
    let mut request = tonic::Request::new(Generator::new(spans as u64).traces(spans));
    if let Some(credentials) = credentials {
        request.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(credentials).unwrap(),
        );
    }
    client
        .export(request)
        .await
        .map(|_| ())
        .map_err(|s| s.code())
}

/// POSTs `spans` spans as protobuf with `authorization` set to `credentials`; returns the status code.
async fn http_export(endpoint: String, credentials: Option<&str>, spans: usize) -> u16 {
    let body = Generator::new(spans as u64).traces(spans).encode_to_vec();
    let mut request = reqwest::Client::new()
        .post(format!("{endpoint}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(body);
    if let Some(credentials) = credentials {
        request = request.header("authorization", credentials);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_guard_both_transports() {
    let collector = TestCollector::start(&guarded(
        "bearertokenauth",
        "{ tokens: [\"${env:NO_SUCH_VARIABLE:-first}\", second] }",
    ))
    .await;
    for wrong in [
        None,
        Some("Bearer third"),
        Some("first"),
        Some("Basic Zmlyc3Q="),
    ] {
        assert_eq!(
            grpc_export(collector.grpc_endpoint(), wrong, 3).await,
            Err(Code::Unauthenticated),
            "{wrong:?}"
        );
        assert_eq!(
            http_export(collector.http_endpoint(), wrong, 3).await,
            401,
            "{wrong:?}"
        );
    }
    grpc_export(collector.grpc_endpoint(), Some("Bearer first"), 5)
        .await
        .unwrap();
    assert_eq!(
        http_export(collector.http_endpoint(), Some("Bearer second"), 7).await,
        200
    );
    assert_eq!(collector.drain_and_count_spans("out.jsonl").await, 5 + 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporters_send_their_authenticators_credentials() {
    // The receiving side: a bcrypt user (cost 4 keeps the test quick) for basic auth over HTTP and gRPC.
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let back = TestCollector::start(&guarded(
        "basicauth/server",
        &format!("{{ htpasswd: {{ inline: \"front:{hash}\" }} }}"),
    ))
    .await;
    assert_eq!(
        http_export(back.http_endpoint(), Some("Basic Zm9vOmJhcg=="), 2).await,
        401
    );

    let mut sent = 0;
    for (exporter, endpoint) in [
        ("otlp", back.grpc_endpoint()),
        ("otlphttp", back.http_endpoint()),
    ] {
        let settings =
            format!("{{ endpoint: \"{endpoint}\", auth: {{ authenticator: basicauth/client }} }}");
        // The otlphttp round reads the credentials from files, as Kubernetes secrets are mounted (with the
        // trailing newline `echo` writes).
        let secrets = tempfile::tempdir().unwrap();
        let client_auth = if exporter == "otlp" {
            "{ username: front, password: s3cret }".to_string()
        } else {
            std::fs::write(secrets.path().join("username"), "front\n").unwrap();
            std::fs::write(secrets.path().join("password"), "s3cret\n").unwrap();
            format!(
                "{{ username_file: \"{0}/username\", password_file: \"{0}/password\" }}",
                secrets.path().display()
            )
        };
        let front = forwarder_config(exporter, &settings).replace(
            "service:\n",
            &format!(
                "extensions:\n  basicauth/client: {{ client_auth: {client_auth} }}\n\
                 service:\n  extensions: [basicauth/client]\n"
            ),
        );
        let front = TestCollector::start(&front).await;
        let mut client = TraceServiceClient::connect(front.grpc_endpoint())
            .await
            .unwrap();
        let mut generator = Generator::new(9);
        for _ in 0..3 {
            let request = generator.traces(20);
            sent += span_count(&request);
            client.export(request).await.unwrap();
        }
        let TestCollector { collector, .. } = front;
        let telemetry = collector.telemetry().clone();
        assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
        assert_eq!(
            telemetry.total("otelcol_exporter_send_failed_spans"),
            0,
            "{exporter}"
        );
    }
    let TestCollector { collector, dir } = back;
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
    assert_eq!(
        spans(&read_traces(&dir.path().join("out.jsonl"), true)).len(),
        sent
    );
}

#[test]
fn authenticator_references_are_checked_when_the_config_is_read() {
    let yaml = |extensions: &str, enabled: &str, authenticator: &str| {
        format!(
            "extensions:\n{extensions}\nreceivers:\n  otlp: {{ protocols: {{ grpc: {{ endpoint: '127.0.0.1:0', \
             auth: {{ authenticator: {authenticator} }} }} }} }}\nexporters:\n  debug:\nservice:\n  \
             extensions: [{enabled}]\n  pipelines:\n    traces: {{ receivers: [otlp], exporters: [debug] }}\n"
        )
    };
    for (config, expected) in [
        (
            yaml("  health_check:", "health_check", "bearertokenauth"),
            "authenticator extension `bearertokenauth` is not defined in the top-level `extensions` section \
             (none is defined; add e.g. `extensions: { bearertokenauth: { token: ... } }`)",
        ),
        (
            yaml("  health_check:", "health_check", "health_check"),
            "`health_check` is not an authenticator extension (bearertokenauth and basicauth are)",
        ),
        (
            yaml(
                "  bearertokenauth: { token: t }\n  health_check:",
                "health_check",
                "bearertokenauth",
            ),
            "authenticator extension `bearertokenauth` must also be listed in service.extensions",
        ),
        (
            yaml(
                "  headers_setter: { headers: [{ key: X-Scope-OrgID, value: acme }] }",
                "headers_setter",
                "headers_setter",
            ),
            "`headers_setter` gives exporters what to send and checks no one's requests",
        ),
        (
            yaml(
                "  bearertokenauth: { token: t, tokens: [u] }",
                "bearertokenauth",
                "bearertokenauth",
            ),
            "set exactly one of token, tokens and filename",
        ),
        (
            // Settings that cannot be read are reported at the extension, and the reference is not called
            // undefined.
            yaml(
                "  bearertokenauth: { token: t, tokenz: [u] }",
                "bearertokenauth",
                "bearertokenauth",
            ),
            "tokenz",
        ),
    ] {
        let error = otlp_collector::Config::from_yaml(&config)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("receivers.otlp.protocols.grpc.auth.authenticator")
                || error.contains("extensions.bearertokenauth"),
            "{error}"
        );
        assert!(error.contains(expected), "{error}");
        if expected == "tokenz" {
            assert!(!error.contains("is not defined"), "{error}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_basic_credentials_never_authenticate() {
    // A user whose bcrypt hash is of the empty password is still refused with it.
    let empty = bcrypt::hash("", 4).unwrap();
    let collector = TestCollector::start(&guarded(
        "basicauth",
        &format!("{{ htpasswd: {{ inline: \"front:pw\\nblank:{empty}\" }} }}"),
    ))
    .await;
    // `curl -u ':'`, `-u 'front:'` and `-u 'blank:'`.
    for wrong in ["Basic Og==", "Basic ZnJvbnQ6", "Basic Ymxhbms6"] {
        assert_eq!(
            grpc_export(collector.grpc_endpoint(), Some(wrong), 3).await,
            Err(Code::Unauthenticated),
            "{wrong}"
        );
        assert_eq!(
            http_export(collector.http_endpoint(), Some(wrong), 3).await,
            401,
            "{wrong}"
        );
    }
    // front:pw
    assert_eq!(
        http_export(collector.http_endpoint(), Some("Basic ZnJvbnQ6cHc="), 4).await,
        200
    );
    assert_eq!(collector.drain_and_count_spans("out.jsonl").await, 4);
}

#[test]
fn an_htpasswd_entry_with_an_empty_user_or_password_is_a_config_error() {
    // otelcol-contrib's README example, with the variables unset: the line `:`.
    let yaml = guarded(
        "basicauth",
        "{ htpasswd: { inline: \"${env:BASIC_AUTH_USERNAME}:${env:BASIC_AUTH_PASSWORD}\" } }",
    )
    .replace("{dir}", "/tmp");
    let error = otlp_collector::Config::from_yaml_with_env(&yaml, &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("extensions.basicauth.htpasswd.inline")
            && error.contains("line 1: the user name and the password are empty"),
        "{error}"
    );
    // The receiver's reference to it is not reported as well.
    assert!(!error.contains("authenticator"), "{error}");
}

#[tokio::test]
async fn credentials_files_are_read_when_the_collector_starts() {
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = dir.path().join("htpasswd");
    std::fs::write(&htpasswd, "front:pw\n:\n").unwrap();
    let missing = dir.path().join("no-such-password");
    for (extension, expected) in [
        (
            format!("{{ htpasswd: {{ file: \"{}\" }} }}", htpasswd.display()),
            format!(
                "extensions.basicauth: htpasswd.file {} line 2: the user name and the password are empty",
                htpasswd.display()
            ),
        ),
        (
            format!(
                "{{ client_auth: {{ username: front, password_file: \"{}\" }} }}",
                missing.display()
            ),
            format!(
                "extensions.basicauth: client_auth.password_file {}: cannot read it",
                missing.display()
            ),
        ),
    ] {
        let yaml =
            guarded("basicauth", &extension).replace("{dir}", &dir.path().display().to_string());
        // Valid as a config: the files are only read when the collector starts.
        let config = otlp_collector::Config::from_yaml(&yaml).unwrap();
        let Err(error) = otlp_collector::Collector::new(config).start().await else {
            panic!("started with {extension}");
        };
        assert!(error.to_string().starts_with(&expected), "{error}");
    }
}
