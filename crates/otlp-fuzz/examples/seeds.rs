//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/`: small valid inputs (generated
//! requests in every encoding the targets read, the collector's default config and the documentation's config
//! examples, real trace-context headers, segment files), so that fuzzing starts from inputs that reach deep.
//!
//! `cargo run -p otlp-fuzz --example seeds`; the files are deterministic, so running it again changes nothing.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use otlp_arrow::flat::{FlatBuilder, FlatIpcWriter, FlatParquetWriter, ParquetOptions};
use otlp_arrow::{AnyRequest, ArrowIpcWriter, Compression, IpcFormat, Signal, WriterOptions};
use otlp_collector::config::DEFAULT_CONFIG_YAML;
use otlp_testkit::Generator;
use prost::Message;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let requests = requests();

    let mut protobuf = Seeds::new(&root, "otlp_protobuf")?;
    let mut json = Seeds::new(&root, "otlp_json")?;
    for (name, request) in &requests {
        protobuf.add(name, request.encode_to_vec())?;
        json.add(
            name,
            otlp_model::with_request!(request, r => serde_json::to_vec(r))?,
        )?;
    }

    let mut config = Seeds::new(&root, "config_yaml")?;
    config.add("default", DEFAULT_CONFIG_YAML.as_bytes().to_vec())?;
    for doc in ["configuration", "operations"] {
        let text = fs::read_to_string(root.join(format!("../../docs/{doc}.md")))?;
        for (index, block) in text.split("```yaml\n").skip(1).enumerate() {
            let yaml = block.split("```").next().unwrap_or_default();
            config.add(&format!("{doc}-{index}"), yaml.as_bytes().to_vec())?;
        }
    }

    for target in ["propagators", "propagator_mesh"] {
        let mut seeds = Seeds::new(&root, target)?;
        for (name, headers) in HEADERS {
            seeds.add(name, headers.as_bytes().to_vec())?;
        }
    }

    let mut ipc = Seeds::new(&root, "arrow_ipc")?;
    let mut flight = Seeds::new(&root, "arrow_flight")?;
    let mut flat = Seeds::new(&root, "arrow_flat")?;
    let mut queue = Seeds::new(&root, "queue_segment")?;
    // Every Arrow file carries its whole schema (several KB): one request of each signal is enough.
    let arrow_seeds = requests
        .iter()
        .filter(|(name, _)| name.ends_with("-1") || name == "traces-empty");
    for (name, request) in arrow_seeds {
        // The Arrow layouts have fixed-size id columns: a receiver removes invalid ids before anything converts.
        let mut request = request.clone();
        request.remove_invalid();
        let request = &request;
        let signal = request.signal();
        for (format, suffix) in [(IpcFormat::Stream, "stream"), (IpcFormat::File, "file")] {
            let options = WriterOptions::new(format).with_compression(Compression::None);
            let mut writer = ArrowIpcWriter::new(Vec::new(), signal, options)?;
            writer.write_any(request)?;
            writer.write_any(request)?;
            ipc.add(&format!("{name}-{suffix}"), writer.finish()?)?;
        }
        let options = WriterOptions::new(IpcFormat::Stream).with_compression(Compression::None);
        let messages = otlp_arrow::flight::fuzzing::encode_flight(
            signal,
            &[request.clone(), request.clone()],
            &options,
        )?;
        let mut framed = Vec::new();
        for message in messages {
            message.encode_length_delimited(&mut framed)?;
        }
        flight.add(name, framed)?;
        // The flat layout, as a client sends a table read from the collector's files (pyarrow, say).
        let mut builder = FlatBuilder::new(signal);
        builder.append(request)?;
        let batch = builder.finish()?;
        let mut framed = Vec::new();
        for message in arrow_flight::utils::batches_to_flight_data(&batch.schema(), [&batch])? {
            message.encode_length_delimited(&mut framed)?;
        }
        flight.add(&format!("{name}-flat"), framed)?;

        let mut writer = FlatParquetWriter::new(Vec::new(), signal, ParquetOptions::default())?;
        writer.write(request)?;
        flat.add(&format!("{name}-parquet"), writer.finish()?)?;
        let mut writer = FlatIpcWriter::new(Vec::new(), signal, Compression::None)?;
        writer.write(request)?;
        flat.add(&format!("{name}-arrow"), writer.finish()?)?;
    }
    for (name, request) in &requests {
        let first = 41u64;
        let mut segment = first.to_le_bytes().to_vec();
        let batch = request.encode_to_vec();
        for sequence in [first, first + 1, first + 5] {
            segment.extend(otlp_collector::fuzzing::encode_segment_record(
                sequence, &batch,
            ));
        }
        queue.add(name, segment.clone())?;
        // A write cut short, as a crash leaves it.
        segment.truncate(segment.len() - batch.len() / 2 - 1);
        queue.add(&format!("{name}-cut"), segment)?;
    }
    println!("seeds written under {}", root.display());
    Ok(())
}

/// Small requests of every signal, including one with invalid ids (which the receivers remove).
fn requests() -> Vec<(String, AnyRequest)> {
    let mut requests = Vec::new();
    for seed in 1..=2u64 {
        let mut generator = Generator::new(seed);
        requests.push((
            format!("traces-{seed}"),
            AnyRequest::from(generator.traces(2)),
        ));
        requests.push((
            format!("metrics-{seed}"),
            AnyRequest::from(generator.metrics(2)),
        ));
        requests.push((format!("logs-{seed}"), AnyRequest::from(generator.logs(2))));
    }
    let mut invalid = Generator::new(3).traces(2);
    for span in invalid
        .resource_spans
        .iter_mut()
        .flat_map(|r| &mut r.scope_spans)
        .flat_map(|s| &mut s.spans)
        .take(1)
    {
        span.trace_id = vec![0; 16];
        span.span_id = vec![1; 3];
    }
    requests.push(("traces-invalid-ids".into(), AnyRequest::from(invalid)));
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        requests.push((format!("{signal}-empty"), AnyRequest::empty(signal)));
    }
    requests
}

/// Headers as proxies and SDKs send them, in every format the propagators read.
const HEADERS: &[(&str, &str)] = &[
    (
        "w3c",
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n\
         tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE\n",
    ),
    (
        "w3c-random-flag",
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03\n\
         tracestate: vendor@tenant=opaque-value, other=1\n\
         tracestate: third=x\n",
    ),
    (
        "w3c-future-version",
        "traceparent: cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra\n",
    ),
    (
        "b3-single",
        "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90\n",
    ),
    (
        "b3-single-64bit-deferred",
        "b3: 64fe8b2a57d3eff7-e457b5a2e4d86bd1\n",
    ),
    ("b3-decision-only", "b3: d\n"),
    (
        "b3-multi",
        "X-B3-TraceId: 80f198ee56343ba864fe8b2a57d3eff7\n\
         X-B3-SpanId: e457b5a2e4d86bd1\n\
         X-B3-ParentSpanId: 05e3ac9a4f6e3b90\n\
         X-B3-Sampled: 1\n",
    ),
    (
        "b3-multi-debug",
        "x-b3-traceid: 64fe8b2a57d3eff7\nx-b3-spanid: e457b5a2e4d86bd1\nx-b3-flags: 1\n",
    ),
    (
        "jaeger",
        "uber-trace-id: 4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:3\n\
         uberctx-user: alice\n",
    ),
    (
        "jaeger-short",
        "uber-trace-id: 7b34da6a3ce929d:f067aa0ba902b7:0:1\n",
    ),
    (
        "xray",
        "X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\n",
    ),
    (
        "xray-lambda",
        "x-amzn-trace-id: Self=1-67891234-12456789abcdef012345678;Root=1-5759e988-bd862e3fe1be46a994272793;\
         Parent=53995c3f42cd8ad8;Sampled=?;Lineage=a87bd80c:1|68fd508a:5\n",
    ),
    (
        "mesh-envoy",
        "x-request-id: 9e8b1d4c-5f2a-9a3b-8c7d-1e2f3a4b5c6d\n\
         x-client-trace-id: client-42\n\
         x-envoy-force-trace: true\n\
         x-b3-traceid: 80f198ee56343ba864fe8b2a57d3eff7\n\
         x-b3-spanid: e457b5a2e4d86bd1\n\
         baggage: userId=alice,serverNode=DF%2028;region=eu\n",
    ),
    (
        "mesh-every-format",
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n\
         b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d\n\
         uber-trace-id: 4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1\n\
         x-amzn-trace-id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0\n\
         grpc-trace-bin: AABL+S81d7NNpqPOkp0ODkc2AQDwZ6oLqQK3AgE=\n\
         l5d-ctx-trace: AAAAAAAABNIAAAAAAAAWLgAAAAAAAAAEAAAAAAAAAAY=\n",
    ),
];

/// One target's seed directory.
struct Seeds {
    dir: PathBuf,
}

impl Seeds {
    fn new(root: &Path, target: &str) -> Result<Self> {
        let dir = root.join(target);
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn add(&mut self, name: &str, bytes: Vec<u8>) -> Result<()> {
        Ok(fs::write(self.dir.join(name), bytes)?)
    }
}
