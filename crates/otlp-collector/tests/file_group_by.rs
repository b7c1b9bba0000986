//! The `file` exporter's `group_by`, as otelcol's: each resource's spans go to the file its
//! `fileexporter.path_segment` names, sent by the real `opentelemetry-otlp` exporter from three services; a
//! resource without the attribute, or whose value would lead out of the directory, is refused and counted.

mod common;

use common::{TestCollector, config_problems, grpc_tracer_provider, read_traces, spans};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use std::time::Duration;

const GROUPED: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
exporters:
  file:
    path: "{dir}/tenants/*/spans.jsonl"
    group_by: { enabled: true, max_open_files: 1 }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
  telemetry:
    metrics: { level: none }
"#;

/// `count` spans from a service whose resource has `segment` as its path segment, if any.
fn send(endpoint: String, service: &'static str, segment: Option<&'static str>, count: usize) {
    let mut resource = opentelemetry_sdk::Resource::builder_empty()
        .with_attribute(KeyValue::new("service.name", service));
    if let Some(segment) = segment {
        resource = resource.with_attribute(KeyValue::new("fileexporter.path_segment", segment));
    }
    let provider = grpc_tracer_provider(endpoint, resource.build());
    let tracer = provider.tracer("group-by");
    for _ in 0..count {
        tracer.in_span("work", |_| {});
    }
    provider.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_resource_goes_to_the_file_its_attribute_names() {
    let collector = TestCollector::start(GROUPED).await;
    let endpoint = collector.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        // Turns of two tenants, with one file open at a time: each write reopens its tenant's file.
        for round in 0..3 {
            send(endpoint.clone(), "cart", Some("acme"), 5 + round);
            send(endpoint.clone(), "billing", Some("globex"), 2);
        }
        send(endpoint.clone(), "untenanted", None, 4);
        send(endpoint.clone(), "sneaky", Some(".."), 3);
    })
    .await
    .unwrap();
    assert!(collector.collector.flush(Duration::from_secs(10)).await);
    let refused = collector.collector.telemetry().total_with_label(
        "otelcol_exporter_send_failed_spans",
        "exporter",
        "file",
    );
    let dir = collector.shut_down_cleanly().await;

    let services = |tenant: &str| -> Vec<(String, usize)> {
        let requests = read_traces(
            &dir.path().join(format!("tenants/{tenant}/spans.jsonl")),
            true,
        );
        let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
        for resource_spans in requests.iter().flat_map(|r| &r.resource_spans) {
            let service = common::attribute(
                &resource_spans.resource.as_ref().unwrap().attributes,
                "service.name",
            )
            .cloned();
            let count = resource_spans
                .scope_spans
                .iter()
                .map(|s| s.spans.len())
                .sum::<usize>();
            *seen.entry(format!("{service:?}")).or_default() += count;
        }
        seen.into_iter().collect()
    };
    let acme = services("acme");
    assert_eq!(acme.len(), 1, "{acme:?}");
    assert!(acme[0].0.contains("cart"), "{acme:?}");
    assert_eq!(acme[0].1, 5 + 6 + 7);
    let globex = services("globex");
    assert_eq!(globex.len(), 1, "{globex:?}");
    assert!(globex[0].0.contains("billing"), "{globex:?}");
    assert_eq!(globex[0].1, 6);

    assert_eq!(refused, 4 + 3, "the untenanted and the sneaky spans");
    let mut tenants: Vec<String> = std::fs::read_dir(dir.path().join("tenants"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    tenants.sort();
    assert_eq!(tenants, ["acme", "globex"]);
    assert!(
        !dir.path().join("spans.jsonl").exists(),
        "nothing was written outside the tenants' directory"
    );
    let all = spans(&read_traces(
        &dir.path().join("tenants/acme/spans.jsonl"),
        true,
    ))
    .len();
    assert_eq!(all, 18);
}

#[test]
fn group_by_needs_one_star_in_the_path_and_a_line_format() {
    let problem = |exporter: &str| {
        config_problems(&format!(
            "receivers: {{ otlp: {{ protocols: {{ grpc: }} }} }}\nexporters:\n  file: {exporter}\n\
             service:\n  pipelines:\n    traces: {{ receivers: [otlp], exporters: [file] }}\n"
        ))
    };
    assert_eq!(
        problem("{ path: ./out/*.jsonl, group_by: { enabled: true } }"),
        Vec::new()
    );
    let no_star = problem("{ path: ./out.jsonl, group_by: { enabled: true } }");
    assert!(no_star[0].1.contains("one `*`"), "{no_star:?}");
    let parquet = problem("{ path: ./out/*, format: parquet, group_by: { enabled: true } }");
    assert!(parquet[0].1.contains("json and proto"), "{parquet:?}");
}
