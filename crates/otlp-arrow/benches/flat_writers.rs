//! The same flat trace rows written as one Parquet file by [`FlatParquetWriter`] and by the Parquet writers
//! analysts already have: parquet-rs's `ArrowWriter` with our settings, Arrow C++ (pyarrow) and DuckDB. Each
//! write is timed by the CPU time of its process over the whole file (rows in memory as Arrow to a closed file on
//! disk), best of three, beside the file's size.
//!
//! The Python peers run in `$OTLP_SUITE_PYTHON`, the venv `cargo xtask setup` makes (pyarrow and duckdb pinned in
//! `xtask/requirements.txt`); without it they are left out and said to be. Writes
//! `$OTLP_BENCH_NOTES/otlp-arrow-flat-writers.md` (`cargo xtask bench -p otlp-arrow --bench flat_writers`).
//! `OTLP_FLAT_WRITERS_ROWS=<file.parquet>` writes the rows of a file the file exporter wrote instead.

use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::ipc::writer::FileWriter;
use otlp_arrow::Signal;
use otlp_arrow::flat::{FlatBuilder, FlatParquetReader, FlatParquetWriter, ParquetOptions};
use otlp_testkit::Generator;
use parquet::arrow::ArrowWriter;
use prost::Message;
use rustix::time::{ClockId, clock_gettime};

/// A flat Parquet file (as the file exporter writes them, of any signal) whose rows to write instead of
/// otlp-testkit's traces, to measure the writers on one's own data.
const ROWS_ENV: &str = "OTLP_FLAT_WRITERS_ROWS";
/// Spans per request, as the collector receives them from SDKs and `loadgen`.
const SPANS_PER_REQUEST: usize = 100;
/// Rows per Arrow batch handed to a writer: what a `batch` processor's 8192-span batches come to, rounded.
const BATCH_ROWS: usize = 10_000;
/// Each writer writes the file this many times; its cheapest write counts.
const REPEATS: usize = 3;

/// The Python side: reads the rows from the Arrow IPC file (untimed), then times each peer's write with
/// `time.process_time()`. One JSON object per writer on stdout.
const PEERS: &str = r#"
import json, os, sys, time
import pyarrow as pa, pyarrow.ipc, pyarrow.parquet as pq, duckdb

rows_path, out_dir, repeats, group_rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pa.set_cpu_count(1)
pa.set_io_thread_count(1)
table = pa.ipc.open_file(rows_path).read_all()

def timed(name, settings, write):
    path = os.path.join(out_dir, name.replace(" ", "_") + ".parquet")
    best = None
    for _ in range(repeats):
        start = time.process_time()
        write(path)
        spent = time.process_time() - start
        best = spent if best is None else min(best, spent)
    print(json.dumps({"writer": name, "settings": settings, "cpu_seconds": best,
                      "bytes": os.path.getsize(path), "rows": table.num_rows}), flush=True)

timed("Arrow C++ (pyarrow " + pa.__version__ + ")",
      "zstd 3, its defaults otherwise (dictionaries, statistics)",
      lambda path: pq.write_table(table, path, compression="zstd", compression_level=3,
                                  row_group_size=group_rows))
timed("Arrow C++ (pyarrow " + pa.__version__ + "), plain",
      "zstd 3, no dictionaries, no statistics",
      lambda path: pq.write_table(table, path, compression="zstd", compression_level=3,
                                  row_group_size=group_rows, use_dictionary=False,
                                  write_statistics=False))
con = duckdb.connect()
con.execute("SET threads = 1")
con.execute("SET enable_progress_bar = false")
con.register("arrow_rows", table)
# From a table of DuckDB's own, so that the time is its writer's, not its scan of Arrow's nested types.
con.execute("CREATE TABLE rows AS SELECT * FROM arrow_rows")
timed("DuckDB " + duckdb.__version__,
      "zstd 3, one thread, its defaults otherwise",
      lambda path: con.execute(
          f"COPY rows TO '{path}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 3, "
          f"ROW_GROUP_SIZE {group_rows})"))
"#;

/// One writer's cheapest write.
struct Outcome {
    writer: String,
    settings: String,
    cpu_seconds: f64,
    bytes: u64,
}

fn process_cpu() -> Duration {
    let time = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

/// Flat rows of otlp-testkit traces, built from encoded requests as the collector builds them.
fn rows(spans: usize) -> Vec<RecordBatch> {
    let mut generator = Generator::new(5);
    let mut builder = FlatBuilder::new(Signal::Traces);
    (0..spans.div_ceil(BATCH_ROWS))
        .map(|_| {
            for _ in 0..BATCH_ROWS / SPANS_PER_REQUEST {
                builder
                    .append_encoded(&generator.traces(SPANS_PER_REQUEST).encode_to_vec())
                    .expect("testkit requests build");
            }
            builder.finish().expect("rows finish")
        })
        .collect()
}

/// The flat rows of a Parquet file the file exporter wrote, as otlp-arrow reads them back (its flat schema and
/// signal restored).
fn rows_of_file(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader =
        FlatParquetReader::new(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The reader's batches leave out the schema's metadata, which says which signal's rows they are.
    let schema = reader.schema();
    std::iter::from_fn(|| {
        reader
            .next_batch()
            .and_then(|batch| {
                batch
                    .map(|b| b.with_schema(schema.clone()))
                    .transpose()
                    .map_err(Into::into)
            })
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
    .collect()
}

/// The cheapest of [`REPEATS`] writes of `batches` to `path` by `write`.
fn timed(path: &Path, mut write: impl FnMut(File)) -> (f64, u64) {
    let mut best = f64::INFINITY;
    for _ in 0..REPEATS {
        let start = process_cpu();
        write(File::create(path).expect("create the Parquet file"));
        best = best.min((process_cpu() - start).as_secs_f64());
    }
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    (best, bytes)
}

/// The signal whose flat schema `batches` have.
fn signal_of(batches: &[RecordBatch]) -> Signal {
    otlp_arrow::flat::flat_signal(&batches[0].schema()).expect("rows of a flat schema")
}

fn ours(batches: &[RecordBatch], dir: &Path, options: ParquetOptions) -> Outcome {
    let (cpu_seconds, bytes) = timed(&dir.join("ours.parquet"), |file| {
        let mut writer =
            FlatParquetWriter::new(file, signal_of(batches), options).expect("our writer opens");
        for batch in batches {
            writer.write_batch(batch).expect("our writer writes");
        }
        writer.finish().expect("our writer finishes");
    });
    Outcome {
        writer: format!("otlp-arrow `FlatParquetWriter` {}", env!("CARGO_PKG_VERSION")),
        settings: "the file exporter's (`ParquetOptions::default()`: zstd 3, dictionaries, statistics, page index, a `trace_id` bloom filter)"
            .into(),
        cpu_seconds,
        bytes,
    }
}

fn arrow_writer(batches: &[RecordBatch], dir: &Path, options: ParquetOptions) -> Outcome {
    let props = options
        .writer_properties(signal_of(batches))
        .expect("our writer properties");
    let (cpu_seconds, bytes) = timed(&dir.join("arrow_writer.parquet"), |file| {
        let mut writer = ArrowWriter::try_new(file, batches[0].schema(), Some(props.clone()))
            .expect("ArrowWriter opens");
        for batch in batches {
            writer.write(batch).expect("ArrowWriter writes");
        }
        writer.close().expect("ArrowWriter closes");
    });
    Outcome {
        writer: "parquet-rs `ArrowWriter`".into(),
        settings: "ours (`ParquetOptions::writer_properties`)".into(),
        cpu_seconds,
        bytes,
    }
}

/// The Python peers, or why they did not run.
fn python_peers(
    batches: &[RecordBatch],
    dir: &Path,
    group_rows: usize,
) -> Result<Vec<Outcome>, String> {
    let python = std::env::var_os("OTLP_SUITE_PYTHON")
        .ok_or("$OTLP_SUITE_PYTHON is not set (`cargo xtask bench` sets it)")?;
    let rows_path = dir.join("rows.arrow");
    let file = File::create(&rows_path).map_err(|e| e.to_string())?;
    let mut ipc = FileWriter::try_new(file, &batches[0].schema()).map_err(|e| e.to_string())?;
    for batch in batches {
        ipc.write(batch).map_err(|e| e.to_string())?;
    }
    ipc.finish().map_err(|e| e.to_string())?;
    let output = Command::new(&python)
        .arg("-c")
        .arg(PEERS)
        .arg(&rows_path)
        .arg(dir)
        .arg(REPEATS.to_string())
        .arg(group_rows.to_string())
        .output()
        .map_err(|e| format!("{}: {e}", Path::new(&python).display()))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| {
            let peer: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            Ok(Outcome {
                writer: peer["writer"].as_str().unwrap_or_default().to_owned(),
                settings: peer["settings"].as_str().unwrap_or_default().to_owned(),
                cpu_seconds: peer["cpu_seconds"].as_f64().unwrap_or(f64::NAN),
                bytes: peer["bytes"].as_u64().unwrap_or(0),
            })
        })
        .collect()
}

fn report(
    data: &str,
    signal: Signal,
    rows: usize,
    outcomes: &[Outcome],
    skipped: Option<&str>,
) -> String {
    let item = match signal {
        Signal::Traces => "span",
        Signal::Metrics => "data point",
        Signal::Logs => "log record",
    };
    let per_span = |o: &Outcome| o.cpu_seconds * 1e6 / rows as f64;
    let ours = per_span(&outcomes[0]);
    let mut md = format!(
        "### otlp-arrow: flat Parquet writers, CPU per {item}\n\n\
         The same {rows} {data}, written as one Parquet file in row groups of {} rows by each writer, in the \
         same run. CPU is the writing process's user + system time from the \
         first row in memory to the closed file, the cheapest of {REPEATS} writes; the Python writers run with \
         one thread. The collector's whole embedded default (receiving, checking, building the rows and \
         writing them) has a target of 1.5 CPU-µs per span (issue 12).\n\n\
         | writer | settings | CPU µs per {item} | bytes per {item} | ours is |\n\
         |---|---|---:|---:|---|\n",
        ParquetOptions::default().max_row_group_rows,
    );
    for (i, outcome) in outcomes.iter().enumerate() {
        let ratio = if i == 0 {
            "–".to_owned()
        } else {
            format!("{:.1}x faster", per_span(outcome) / ours)
        };
        md.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | {ratio} |\n",
            outcome.writer,
            outcome.settings,
            per_span(outcome),
            outcome.bytes as f64 / rows as f64,
        ));
    }
    if let Some(why) = skipped {
        md.push_str(&format!(
            "\nArrow C++ and DuckDB were not measured: {}\n",
            why.trim()
        ));
    }
    md
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not match this bench skips it.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| "flat_writers".contains(f.as_str())) {
        return;
    }
    let (data, batches) = match std::env::var_os(ROWS_ENV) {
        Some(path) => {
            let path = Path::new(&path);
            (format!("rows of `{}`", path.display()), rows_of_file(path))
        }
        None => {
            let quick = std::env::var_os("OTLP_BENCH_QUICK").is_some_and(|v| v == "1");
            let spans = if quick { 20_000 } else { 200_000 };
            (
                format!(
                    "otlp-testkit spans (requests of {SPANS_PER_REQUEST} built into flat rows as the collector \
                     builds them, in Arrow batches of {BATCH_ROWS} rows)"
                ),
                rows(spans),
            )
        }
    };
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = ParquetOptions::default();
    let mut outcomes = vec![
        ours(&batches, dir.path(), options),
        arrow_writer(&batches, dir.path(), options),
    ];
    let skipped = match python_peers(&batches, dir.path(), options.max_row_group_rows) {
        Ok(peers) => {
            outcomes.extend(peers);
            None
        }
        Err(why) => Some(why),
    };
    let md = report(
        &data,
        signal_of(&batches),
        rows,
        &outcomes,
        skipped.as_deref(),
    );
    println!("{md}");
    if let Some(notes) = std::env::var_os("OTLP_BENCH_NOTES") {
        let path = Path::new(&notes).join("otlp-arrow-flat-writers.md");
        std::fs::write(&path, &md).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
