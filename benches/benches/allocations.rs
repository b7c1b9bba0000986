//! Heap allocations per span through the collector's pipelines, counted on the collector's own threads only.
//!
//! The collector runs in this process on a runtime whose threads (workers and blocking pool) are marked; a
//! counting wrapper around mimalloc (the binary's allocator) counts allocations made on marked threads. The client
//! sends realistic requests over loopback OTLP/gRPC from unmarked threads, so its encoding is not counted; the
//! tonic server, the receivers, processors, exporters and the file writes are. The peer is prost's decode of the
//! same requests: the allocations a collector that decodes cannot avoid.
//!
//! A second table splits the file exporter's share: the flat builder and Parquet writer alone, on the same requests,
//! at the rows the exporter hands over per write and at larger writes, with the memory the rows of one write take
//! as Arrow arrays: the trade the exporter's `PARQUET_ROWS_PER_WRITE` makes.
//!
//! Figures go to `$OTLP_BENCH_NOTES/collector-allocations.md`.
// A global allocator is an `unsafe impl`; this one only forwards to mimalloc and counts.
#![allow(unsafe_code)]

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_benches::encoded_trace_requests;
use otlp_collector::{Collector, Config};
use prost::Message;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // Const-initialised with no destructor, so reading it inside the allocator never allocates.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count(bytes: usize) {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to mimalloc with the caller's arguments unchanged; counting touches only atomics
// and a const thread-local, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: `ptr` and `layout` come from this allocator, as the caller guarantees.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `realloc`.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const REQUESTS: usize = 200;
const SPANS_PER_REQUEST: usize = 100;
/// Rounds over the request set; the first is a warm-up (connections, buffers, file creation).
const ROUNDS: usize = 6;

/// Allocations and bytes allocated per span, on marked threads, while `work` runs.
fn per_span(spans: usize, work: impl FnOnce()) -> (f64, f64) {
    let (allocations, bytes) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        ALLOCATED_BYTES.load(Ordering::Relaxed),
    );
    work();
    (
        (ALLOCATIONS.load(Ordering::Relaxed) - allocations) as f64 / spans as f64,
        (ALLOCATED_BYTES.load(Ordering::Relaxed) - bytes) as f64 / spans as f64,
    )
}

fn config(dir: &std::path::Path, decoding: &str, exporter: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    decoding: {decoding}
    protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }}
processors:
  memory_limiter: {{ check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 25 }}
  batch: {{}}
exporters:
  file: {{ path: "{dir}/otlp-data", format: parquet }}
  debug: {{ verbosity: basic }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [memory_limiter, batch], exporters: [{exporter}] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        dir = dir.display()
    )
}

/// Allocations per span of one collector config: the whole run after a warm-up round, shutdown included (it
/// completes the files).
fn collector_allocations(requests: &[ExportTraceServiceRequest], yaml: &str) -> (f64, f64) {
    let collector_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(|| COUNTED.with(|counted| counted.set(true)))
        .enable_all()
        .build()
        .unwrap();
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config::from_yaml(yaml).unwrap();
    let collector = collector_runtime
        .block_on(async { tokio::spawn(Collector::new(config).start()).await })
        .unwrap()
        .unwrap();
    let endpoint = format!("http://{}", collector.grpc_addr("otlp").unwrap());
    let mut client = client_runtime
        .block_on(TraceServiceClient::connect(endpoint))
        .unwrap();
    let mut send_all = || {
        client_runtime.block_on(async {
            for request in requests {
                // As an OTLP client does: a refusal under backpressure (the machine busy with something else,
                // say) is retried, not fatal.
                loop {
                    match client.export(request.clone()).await {
                        Ok(_) => break,
                        Err(status)
                            if matches!(
                                status.code(),
                                tonic::Code::ResourceExhausted | tonic::Code::Unavailable
                            ) =>
                        {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        Err(status) => panic!("export refused: {status}"),
                    }
                }
            }
        })
    };
    send_all();
    let spans = (ROUNDS - 1) * requests.len() * SPANS_PER_REQUEST;
    per_span(spans, || {
        for _ in 1..ROUNDS {
            send_all();
        }
        collector_runtime.block_on(async {
            tokio::spawn(async move { collector.shutdown(Duration::from_secs(30)).await })
                .await
                .unwrap()
        });
    })
}

/// What the flat Parquet path allocates, per span, with `rows_per_write` rows handed over at a time.
struct FileWrites {
    rows_per_write: usize,
    /// `ParquetOptions::list_gather_rows` of the writer.
    list_gather_rows: usize,
    append: f64,
    finish: f64,
    write: f64,
    /// The largest write's rows as Arrow arrays, in bytes: what the builder keeps reserved for the next write.
    array_bytes: usize,
}

/// The file exporter's work without the collector around it: append each request's bytes to a flat builder and hand
/// the rows to a Parquet writer every `rows_per_write` rows, as `exporter/file/columnar.rs` does. Counted on this
/// thread over the rounds after a warm-up one.
fn file_writes(encoded: &[Vec<u8>], rows_per_write: usize, list_gather_rows: usize) -> FileWrites {
    use otlp_arrow::Signal;
    use otlp_arrow::flat::{FlatBuilder, FlatParquetWriter, ParquetOptions};
    // Run-end encoded resource and scope attributes, as the exporter builds them for Parquet.
    let mut builder = FlatBuilder::run_encoded(Signal::Traces);
    let options = ParquetOptions {
        list_gather_rows,
        ..ParquetOptions::default()
    };
    let mut writer = FlatParquetWriter::new(std::io::sink(), Signal::Traces, options).unwrap();
    let (mut append, mut finish, mut write) = (0.0, 0.0, 0.0);
    let mut array_bytes = 0;
    let spans = encoded.len() * SPANS_PER_REQUEST;
    COUNTED.with(|counted| counted.set(true));
    for round in 0..ROUNDS {
        let counted = round > 0;
        for bytes in encoded {
            let part = per_span(spans, || builder.append_encoded(bytes).unwrap());
            if counted {
                append += part.0;
            }
            if builder.len() >= rows_per_write {
                let mut rows = None;
                let part = per_span(spans, || rows = Some(builder.finish().unwrap()));
                let rows = rows.unwrap();
                array_bytes = array_bytes.max(rows.get_array_memory_size());
                if counted {
                    finish += part.0;
                }
                let part = per_span(spans, || {
                    writer.write_batch(&rows).unwrap();
                    drop(rows);
                });
                if counted {
                    write += part.0;
                }
            }
        }
    }
    COUNTED.with(|counted| counted.set(false));
    let rounds = (ROUNDS - 1) as f64;
    FileWrites {
        rows_per_write,
        list_gather_rows,
        append: append / rounds,
        finish: finish / rounds,
        write: write / rounds,
        array_bytes,
    }
}

fn main() {
    let encoded = encoded_trace_requests(7, REQUESTS, SPANS_PER_REQUEST);
    let requests: Vec<ExportTraceServiceRequest> = encoded
        .iter()
        .map(|bytes| ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap())
        .collect();
    let bytes_per_span =
        encoded.iter().map(Vec::len).sum::<usize>() as f64 / (REQUESTS * SPANS_PER_REQUEST) as f64;

    let mut rows = Vec::new();
    for (name, decoding, exporter) in [
        ("default (batch → flat Parquet file)", "in_place", "file"),
        ("default, `decoding: prost`", "prost", "file"),
        ("batch → debug (discards)", "in_place", "debug"),
        ("batch → debug, `decoding: prost`", "prost", "debug"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let figures = collector_allocations(&requests, &config(dir.path(), decoding, exporter));
        println!(
            "{name}: {:.3} allocations/span, {:.0} bytes/span",
            figures.0, figures.1
        );
        rows.push((name, figures));
    }
    COUNTED.with(|counted| counted.set(true));
    let floor = per_span(REQUESTS * SPANS_PER_REQUEST, || {
        for bytes in &encoded {
            std::hint::black_box(ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap());
        }
    });
    COUNTED.with(|counted| counted.set(false));
    println!(
        "prost decode alone: {:.2} allocations/span, {:.0} bytes/span",
        floor.0, floor.1
    );

    // The first is the exporter's: PARQUET_ROWS_PER_WRITE, and no gathering. 8192 is the library's gathering.
    let writes: Vec<FileWrites> = [
        (1024, 0),
        (2048, 0),
        (8192, 0),
        (1024, 8192),
        (2048, 8192),
        (8192, 8192),
    ]
    .into_iter()
    .map(|(rows, gathered)| file_writes(&encoded, rows, gathered))
    .collect();
    for w in &writes {
        println!(
            "flat Parquet, {} rows per write, list columns gathered over {}: {:.2} append + {:.2} finish + {:.2} write allocations/span, {:.1} MB of arrays",
            w.rows_per_write,
            w.list_gather_rows,
            w.append,
            w.finish,
            w.write,
            w.array_bytes as f64 / 1e6
        );
    }

    let Some(dir) = std::env::var_os("OTLP_BENCH_NOTES") else {
        return;
    };
    let mut note = format!(
        "### Collector: heap allocations per span\n\n\
         The collector in-process on its own runtime, fed over loopback OTLP/gRPC by a client on another thread \
         ({REQUESTS} realistic requests of {SPANS_PER_REQUEST} spans, {bytes_per_span:.0} bytes/span encoded, \
         sent {} times after a warm-up round); allocations counted on the collector's threads only (tonic \
         server, receiver, processors, exporter, file writes and the shutdown that completes the files), \
         mimalloc underneath. The peer is prost's decode of the same requests.\n\n\
         | pipeline | allocations per span | bytes allocated per span | allocations vs the decode |\n\
         |---|---|---|---|\n",
        ROUNDS - 1
    );
    for (name, (allocations, bytes)) in rows
        .iter()
        .chain(std::iter::once(&("prost decode alone (peer)", floor)))
    {
        let _ = writeln!(
            note,
            "| {name} | {allocations:.3} | {bytes:.0} | {:.2}x |",
            allocations / floor.0
        );
    }
    let _ = write!(
        note,
        "\nThe file exporter's share, alone: the same requests appended to a flat builder (the resource's and \
         scope's columns run-end encoded) whose rows go to a Parquet writer every N rows, as the exporter does \
         with N = 1024 and no gathering (the first row). Turning rows into arrays (`finish`: a buffer, its `Arc` and a fresh reservation per \
         column, and for a run-end encoded column its run array besides) costs the same allocations per write \
         whatever its size, so larger writes allocate less per span; the price is the arrays of a write, which the \
         builder keeps reserved. The Parquet writer's largest fixed cost per call is parquet-rs computing the levels of \
         the list columns (events, links); the library gathers them over 8192 rows by default \
         (`ParquetOptions::list_gather_rows`), which the exporter turns off for memory \
         (docs/operations.md, \"Memory\").\n\n\
         | rows per write | list columns gathered over | append | finish | Parquet write | allocations per span | arrays of one write |\n\
         |---|---|---|---|---|---|---|\n"
    );
    for w in &writes {
        let _ = writeln!(
            note,
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} MB |",
            w.rows_per_write,
            match w.list_gather_rows {
                0 => "none".to_owned(),
                rows => format!("{rows} rows"),
            },
            w.append,
            w.finish,
            w.write,
            w.append + w.finish + w.write,
            w.array_bytes as f64 / 1e6
        );
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        std::path::Path::new(&dir).join("collector-allocations.md"),
        note,
    )
    .unwrap();
}
