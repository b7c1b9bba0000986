//! The `resourcedetection` processor in a real `otlp-suite collect` process: with `OTEL_RESOURCE_ATTRIBUTES` in its
//! environment and the `env` and `system` detectors, every resource it passes gains the variable's attributes and
//! the host's name, OS and architecture, and with `override: false` keeps the values it came with.

mod support;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use otlp_testkit::Generator;
use support::{Client, Collector, read_requests};

const DETECTING: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{grpc}" } } }
processors:
  resourcedetection:
    detectors: [env, system]
    override: false
    timeout: 2s
    system:
      hostname_sources: [os]
      resource_attributes:
        host.arch: { enabled: true }
exporters:
  file: { path: "{dir}/traces.binpb", format: proto, sending_queue: { enabled: false } }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [resourcedetection], exporters: [file] }
  # A port of its own: the default, 8888, may be a running collector's.
  telemetry: { metrics: { address: "127.0.0.1:{metrics}" } }
"#;

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detected_attributes_fill_every_resource_without_replacing_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start_with_env(
        "detecting",
        dir.path(),
        DETECTING,
        &[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=staging, team=checkout%2Cpayments",
        )],
    )
    .await;
    let written = collector.dir.join("traces.binpb");
    let sent = Generator::new(5).traces(40);
    let mut client = Client::connect(collector.grpc).await;
    client.send(&sent).await;
    collector.stop().await;

    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    // The `env` detector's attributes first, then the `system` detector's; each only where the resource lacks it.
    let detected = [
        string("deployment.environment.name", "staging"),
        string("team", "checkout,payments"),
        string("host.name", host.trim()),
        string("os.type", "linux"),
        string("host.arch", arch),
    ];
    let received: Vec<_> = read_requests(&written, false)
        .into_iter()
        .flat_map(|r| r.resource_spans)
        .collect();
    assert_eq!(received.len(), sent.resource_spans.len());
    for (received, sent) in received.iter().zip(&sent.resource_spans) {
        let mut expected = sent.resource.clone().unwrap_or_default().attributes;
        for attribute in &detected {
            if !expected.iter().any(|own| own.key == attribute.key) {
                expected.push(attribute.clone());
            }
        }
        let attributes = &received.resource.as_ref().unwrap().attributes;
        assert_eq!(attributes, &expected);
    }
    // The generator's resources say `production` themselves, and keep it.
    assert!(
        received
            .iter()
            .flat_map(|r| &r.resource.as_ref().unwrap().attributes)
            .any(|kv| kv == &string("deployment.environment.name", "production"))
    );
}
