//! Writes an hour of synthetic traces, logs and metrics as flat Parquet files in a
//! Hive-style directory (the layout a file exporter uses), then answers two questions
//! from them the way `otlp-suite inspect` does: a per-service summary from four columns,
//! and one trace found through the row groups' bloom filters.
//!
//! `cargo run --release -p otlp-arrow --example flat_files [DIR]` (default: a temporary
//! directory). Then, with DuckDB:
//! `SELECT service_name, count(*) FROM read_parquet('DIR/traces/**/*.parquet', hive_partitioning = true) GROUP BY 1`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int32Type;
use otlp_arrow::flat::{FlatParquetReader, FlatParquetWriter, ParquetOptions, col};
use otlp_arrow::{AnyRequest, Signal};
use otlp_testkit::Generator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("otlp-flat-{}", std::process::id())),
    };
    let partition = "date=2026-01-01/hour=00";
    let mut generator = Generator::new(42);
    let mut sample_trace = None;
    for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
        let dir = root.join(signal.as_str()).join(partition);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("part-00000.parquet");
        // Written under a temporary name and renamed once complete: a reader never sees
        // a file without its footer.
        let temporary = dir.join(".part-00000.parquet.tmp");
        let options = ParquetOptions::default().with_max_row_group_rows(10_000);
        let mut writer =
            FlatParquetWriter::new(std::fs::File::create(&temporary)?, signal, options)?;
        for _ in 0..5 {
            let request = match signal {
                Signal::Traces => {
                    let r = generator.traces(10_000);
                    sample_trace.get_or_insert_with(|| {
                        r.resource_spans[0].scope_spans[0].spans[0].trace_id.clone()
                    });
                    AnyRequest::Traces(r)
                }
                Signal::Logs => AnyRequest::Logs(generator.logs(10_000)),
                Signal::Metrics => AnyRequest::Metrics(generator.metrics(10_000)),
            };
            writer.write(&request)?;
        }
        let rows = writer.rows_written();
        writer.finish()?.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        println!(
            "{:>8} rows, {:>9} bytes  {}",
            rows,
            std::fs::metadata(&path)?.len(),
            path.display()
        );
    }

    // A summary reads four columns of the traces file and nothing else.
    let traces = root
        .join("traces")
        .join(partition)
        .join("part-00000.parquet");
    let mut per_service: BTreeMap<String, (u64, u64, i64)> = BTreeMap::new();
    let columns = [col::SERVICE_NAME, col::STATUS_CODE, col::DURATION_NS];
    for batch in FlatParquetReader::scan(std::fs::File::open(&traces)?, &columns)? {
        let batch = batch?;
        let service = batch.column(0).as_string::<i32>();
        let status = batch.column(1).as_primitive::<Int32Type>();
        let duration = batch
            .column(2)
            .as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..batch.num_rows() {
            let entry = per_service.entry(service.value(i).to_owned()).or_default();
            entry.0 += 1;
            entry.1 += u64::from(status.is_valid(i) && status.value(i) == 2);
            entry.2 = entry.2.max(duration.value(i));
        }
    }
    println!(
        "\n{:<18} {:>7} {:>7} {:>12}",
        "service", "spans", "errors", "slowest ms"
    );
    for (service, (spans, errors, slowest)) in &per_service {
        println!(
            "{service:<18} {spans:>7} {errors:>7} {:>12.1}",
            *slowest as f64 / 1e6
        );
    }

    // One trace: only the row groups whose bloom filter may hold it are read.
    if let Some(id) = sample_trace.and_then(|id| <[u8; 16]>::try_from(id).ok()) {
        let (trace, search) = FlatParquetReader::find_trace(std::fs::File::open(&traces)?, &id)?;
        let spans: usize = otlp_testkit::span_count(&trace);
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        println!(
            "\ntrace {hex}: {spans} spans; read {} of {} row groups ({} skipped by bloom filter)",
            search.read, search.row_groups, search.skipped_by_bloom_filter
        );
    }
    println!(
        "\nduckdb -c \"SELECT service_name, count(*) AS spans, count(*) FILTER (WHERE status_code = 2) AS errors \
         FROM read_parquet('{}/traces/**/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1\"",
        root.display()
    );
    Ok(())
}
