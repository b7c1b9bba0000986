//! The exporter helper's sending queue kept on disk (`sending_queue.storage` naming a `file_storage` extension)
//! against the in-memory queue, in the same run: each iteration hands 64 batches of 128 realistic spans to a
//! collector whose exporter accepts everything at once, and waits until every batch was taken off the queue and
//! finished (for the persistent queue: encoded, appended to a segment file, and acknowledged). So the difference
//! is what the disk adds per batch: encode + append + acknowledgement file rewrite (no fsync: the default).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use otlp_benches::encoded_trace_requests;
use otlp_collector::component::{Component, Components, ExporterContext, ExporterFactory};
use otlp_collector::exporter::{Delivered, Export, ExportError, Exporter, HelperSettings};
use otlp_collector::{Batch, Collector, Config, QueueConfig, RunningCollector};
use std::sync::Arc;
use std::time::Duration;

// The same allocator as the otlp-suite binary, for both contenders.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCHES: usize = 64;
const SPANS_PER_BATCH: usize = 128;

/// An exporter that delivers instantly, so that only the queue is measured. (Its type is `discard`: `null` would
/// read as YAML's null.)
struct Null;

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NullConfig {
    #[serde(default)]
    sending_queue: QueueConfig,
}

impl Component for Null {
    type Config = NullConfig;
    const TYPE: &'static str = "discard";
}

impl ExporterFactory for Null {
    fn build(&self, config: &NullConfig, _: ExporterContext<'_>) -> Result<Exporter, String> {
        let mut settings = HelperSettings::local();
        settings.queue = config.sending_queue.clone();
        Ok(Exporter::new(NullExport, settings))
    }
}

struct NullExport;

impl Export for NullExport {
    type Payload = ();
    fn prepare(&self, _: &Arc<Batch>) -> Result<(), ExportError> {
        Ok(())
    }
    async fn send(&self, _: &()) -> Result<Delivered, ExportError> {
        Ok(Delivered::default())
    }
}

fn start(runtime: &tokio::runtime::Runtime, storage: Option<&std::path::Path>) -> RunningCollector {
    let (extensions, queue, enabled) = match storage {
        Some(dir) => (
            format!(
                "extensions: {{ file_storage: {{ directory: \"{}\" }} }}",
                dir.display()
            ),
            "{ storage: file_storage, num_consumers: 1, queue_size: 1000 }",
            "[file_storage]",
        ),
        None => (
            String::new(),
            "{ num_consumers: 1, queue_size: 1000 }",
            "[]",
        ),
    };
    let yaml = format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
{extensions}
exporters:
  discard: {{ sending_queue: {queue} }}
service:
  extensions: {enabled}
  pipelines:
    traces: {{ receivers: [otlp], exporters: [discard] }}
  telemetry:
    metrics: {{ level: none }}
"#
    );
    let components = Components::builtin().with_exporter(Null);
    let config = Config::from_yaml_with(&yaml, &components, &|_| None).unwrap();
    runtime.block_on(Collector::new(config).start()).unwrap()
}

/// Hands every batch to the collector and waits until the queue has finished them all.
async fn enqueue_and_ack(collector: &RunningCollector, batches: &[Batch]) {
    for batch in batches {
        collector.submit(batch.clone()).await.unwrap();
    }
    assert!(collector.flush(Duration::from_secs(60)).await);
}

fn persistent_queue(c: &mut Criterion) {
    let batches: Vec<Batch> = encoded_trace_requests(7, BATCHES, SPANS_PER_BATCH)
        .into_iter()
        .map(|bytes| {
            let scan = otlp_model::wire::scan(otlp_model::Signal::Traces, &bytes).unwrap();
            Batch::from_encoded(otlp_model::Signal::Traces, bytes.into(), scan.items)
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let persistent = start(&runtime, Some(dir.path()));
    let in_memory = start(&runtime, None);

    let mut group = c.benchmark_group("exporter_queue_enqueue_ack");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(BATCHES as u64));
    group.bench_function(BenchmarkId::new("persistent", BATCHES), |b| {
        b.iter(|| runtime.block_on(enqueue_and_ack(&persistent, &batches)))
    });
    group.bench_function(BenchmarkId::new("peer_in_memory", BATCHES), |b| {
        b.iter(|| runtime.block_on(enqueue_and_ack(&in_memory, &batches)))
    });
    group.finish();
    runtime.block_on(persistent.shutdown(Duration::from_secs(10)));
    runtime.block_on(in_memory.shutdown(Duration::from_secs(10)));
}

criterion_group!(benches, persistent_queue);
criterion_main!(benches);
