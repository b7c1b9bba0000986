//! A processor and an exporter written outside this crate, registered through the public factory API, run in a
//! pipeline fed by a real OTLP/gRPC client: a new component needs no edit of the collector.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use otlp_collector::component::{
    Component, Components, ExporterContext, ExporterFactory, Invalid, ProcessorContext,
    ProcessorFactory,
};
use otlp_collector::exporter::{Delivered, Export, ExportError, Exporter, HelperSettings};
use otlp_collector::pipeline::{BoxFuture, Consumer, Refused};
use otlp_collector::{AnyRequest, Batch, Collector, Config, Error, Signal};
use otlp_model::ExportTraceServiceRequest;
use otlp_testkit::Generator;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// `tag`: sets one attribute on every span.
struct Tag;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagConfig {
    key: String,
    value: String,
}

impl Component for Tag {
    type Config = TagConfig;
    const TYPE: &'static str = "tag";

    fn validate(&self, config: &TagConfig) -> Result<(), Invalid> {
        if config.key.is_empty() {
            return Err(Invalid::at("key", "must not be empty"));
        }
        Ok(())
    }
}

impl ProcessorFactory for Tag {
    const SIGNALS: &'static [Signal] = &[Signal::Traces];

    fn build(
        &self,
        config: &TagConfig,
        _context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        Ok(Arc::new(Tagger {
            attribute: KeyValue {
                key: config.key.clone(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(config.value.clone())),
                }),
                ..Default::default()
            },
            next,
        }))
    }
}

struct Tagger {
    attribute: KeyValue,
    next: Arc<dyn Consumer>,
}

impl Consumer for Tagger {
    fn consume(&self, mut batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        batch.edit(|request| {
            if let AnyRequest::Traces(traces) = request {
                for span in traces
                    .resource_spans
                    .iter_mut()
                    .flat_map(|r| &mut r.scope_spans)
                    .flat_map(|s| &mut s.spans)
                {
                    span.attributes.push(self.attribute.clone());
                }
            }
        });
        self.next.consume(batch)
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        self.next.ready(items)
    }

    fn flush(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        self.next.flush(deadline)
    }

    fn shutdown(&self, deadline: Instant) -> BoxFuture<'_, ()> {
        self.next.shutdown(deadline)
    }
}

/// `memory`: keeps every traces batch it is given.
#[derive(Clone, Default)]
struct Memory(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct MemoryConfig {
    capacity: usize,
}

impl Component for Memory {
    type Config = MemoryConfig;
    const TYPE: &'static str = "memory";
}

impl ExporterFactory for Memory {
    fn build(
        &self,
        _config: &MemoryConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        Ok(Exporter::new(self.clone(), HelperSettings::local()))
    }
}

impl Export for Memory {
    type Payload = Option<ExportTraceServiceRequest>;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Self::Payload, ExportError> {
        Ok(batch.get::<ExportTraceServiceRequest>().cloned())
    }

    async fn send(&self, payload: &Self::Payload) -> Result<Delivered, ExportError> {
        if let Some(request) = payload {
            self.0.lock().unwrap().push(request.clone());
        }
        Ok(Delivered::default())
    }
}

const CONFIG: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
processors:
  tag: { key: pipeline.owner, value: platform-team }
  batch: { timeout: 20ms }
exporters:
  memory: { capacity: 10 }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [tag, batch], exporters: [memory] }
  telemetry:
    metrics: { level: none }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exporter_and_a_processor_from_outside_run_in_a_pipeline() {
    let memory = Memory::default();
    let components = Components::builtin()
        .with_processor(Tag)
        .with_exporter(memory.clone());
    let config = Config::from_yaml_with(CONFIG, &components, &|_| None).unwrap();
    let collector = Collector::new(config).start().await.unwrap();
    let endpoint = format!("http://{}", collector.grpc_addr("otlp").unwrap());

    let mut client = TraceServiceClient::connect(endpoint).await.unwrap();
    let mut generator = Generator::new(7);
    let mut sent = 0;
    for _ in 0..10 {
        let request = generator.traces(40);
        sent += otlp_testkit::span_count(&request);
        client.export(request).await.unwrap();
    }
    let telemetry = collector.telemetry().clone();
    let report = collector.shutdown(Duration::from_secs(10)).await;
    assert!(report.is_clean(), "{report:?}");

    let received = memory.0.lock().unwrap();
    let spans: Vec<_> = received
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    assert_eq!(spans.len(), sent);
    assert!(
        spans
            .iter()
            .all(|span| span.attributes.iter().any(|kv| kv.key == "pipeline.owner"))
    );
    assert_eq!(
        telemetry.value("otelcol_exporter_sent_spans", &[("exporter", "memory")]),
        Some(sent as u64)
    );
}

#[test]
fn an_outside_component_s_config_errors_name_their_path() {
    let components = Components::builtin()
        .with_processor(Tag)
        .with_exporter(Memory::default());
    let typo = CONFIG.replace("capacity: 10", "capacty: 10");
    let Err(Error::Config { path, message }) =
        Config::from_yaml_with(&typo, &components, &|_| None)
    else {
        panic!("a misspelt key is an error");
    };
    assert_eq!(path, "exporters.memory.capacty");
    assert!(message.contains("capacity"), "{message}");

    let empty_key = CONFIG.replace("key: pipeline.owner", "key: \"\"");
    let Err(Error::Config { path, .. }) =
        Config::from_yaml_with(&empty_key, &components, &|_| None)
    else {
        panic!("an invalid setting is an error");
    };
    assert_eq!(path, "processors.tag.key");

    // Without the registration, the types are unknown (both reported), and the builtin types are listed.
    let Err(error) = Config::from_yaml(CONFIG) else {
        panic!("unregistered types are refused");
    };
    let problems = error.config_problems();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["processors.tag", "exporters.memory"], "{error}");
    assert!(
        problems[0].message.contains("unknown processor type `tag`"),
        "{error}"
    );
}
