//! Flat files answer analysts' questions with no code of ours: DuckDB, Polars and pyarrow
//! (in a subprocess) read a Hive-style directory of flat Parquet files this crate wrote,
//! and their answers match what the Rust side computes from the requests it wrote.
//!
//! The interpreter is `$OTLP_SUITE_PYTHON`, else `python3`; it needs duckdb, polars and
//! pyarrow (`cargo xtask setup` installs them into the project venv).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use otlp_arrow::flat::{FlatIpcWriter, FlatParquetWriter, ParquetOptions};
use otlp_arrow::{AnyRequest, Compression, Signal};
use otlp_testkit::Generator;
use serde_json::Value as Json;

/// 2026-01-01T00:00:00Z.
const DAY_START: u64 = 1_767_225_600;
const HOURS: u64 = 3;

const QUERIES: &str = r#"
import json, sys
try:
    import duckdb
    import polars as pl
    import pyarrow.dataset as ds
    import pyarrow.ipc as ipc
except ImportError as e:
    print(f"duckdb, polars or pyarrow missing: run `cargo xtask setup` ({e})")
    sys.exit(3)

root = sys.argv[1]
con = duckdb.connect()
def src(signal):
    return f"read_parquet('{root}/{signal}/**/*.parquet', hive_partitioning = true)"
def rows(sql):
    return [list(r) for r in con.sql(sql).fetchall()]

out = {}
# Spans and error spans per service, in one statement.
out["per_service"] = rows(f"""
    SELECT service_name, count(*) AS spans, count(*) FILTER (WHERE status_code = 2) AS errors
    FROM {src('traces')} GROUP BY service_name ORDER BY service_name""")
# p99 duration per operation, in one statement.
out["p99"] = rows(f"""
    SELECT service_name, name, quantile_cont(duration_ns, 0.99) AS p99
    FROM {src('traces')} GROUP BY service_name, name ORDER BY service_name, name""")
# An attribute filter by key in plain SQL.
out["get_spans"] = rows(f"""
    SELECT count(*) FROM {src('traces')}
    WHERE attributes['http.request.method'].str = 'GET'""")[0][0]
out["status_200"] = rows(f"""
    SELECT count(*) FROM {src('traces')}
    WHERE attributes['http.response.status_code'].int = 200""")[0][0]
out["hours"] = rows(f"SELECT hour, count(*) FROM {src('traces')} GROUP BY hour ORDER BY hour")
out["start_type"] = rows(f"SELECT typeof(start_time) FROM {src('traces')} LIMIT 1")[0][0]
out["pyarrow_rows"] = ds.dataset(f"{root}/traces", format="parquet", partitioning="hive").count_rows()
out["polars_rows"] = pl.scan_parquet(
    f"{root}/traces/**/*.parquet", hive_partitioning=True).select(pl.len()).collect().item()

out["logs_by_severity"] = rows(f"""
    SELECT severity_text, count(*) FROM {src('logs')} GROUP BY 1 ORDER BY 1""")
out["logs_string_bodies"] = rows(f"SELECT count(*) FROM {src('logs')} WHERE body.str IS NOT NULL")[0][0]
out["logs_polars_rows"] = pl.scan_parquet(
    f"{root}/logs/**/*.parquet", hive_partitioning=True).select(pl.len()).collect().item()

out["metrics_by_type"] = rows(f"""
    SELECT metric_type, count(*), sum(count) FROM {src('metrics')} GROUP BY 1 ORDER BY 1""")
out["metrics_pyarrow_rows"] = ds.dataset(f"{root}/metrics", format="parquet", partitioning="hive").count_rows()

spans_table = ipc.open_file(f"{root}/spans.arrow").read_all()
out["ipc_pyarrow_rows"] = spans_table.num_rows
out["ipc_polars_rows"] = pl.read_ipc(f"{root}/spans.arrow").height
out["ipc_duckdb_get_spans"] = con.sql(
    "SELECT count(*) FROM spans_table WHERE attributes['http.request.method'].str = 'GET'").fetchall()[0][0]
print(json.dumps(out))
"#;

fn python() -> String {
    std::env::var("OTLP_SUITE_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn write_parquet(path: &Path, signal: Signal, requests: &[AnyRequest]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let options = ParquetOptions::default().with_max_row_group_rows(1500);
    let file = std::fs::File::create(path).unwrap();
    let mut writer = FlatParquetWriter::new(file, signal, options).unwrap();
    for r in requests {
        writer.write(r).unwrap();
    }
    writer.finish().unwrap();
}

fn spans(
    requests: &[ExportTraceServiceRequest],
) -> impl Iterator<Item = (&str, &opentelemetry_proto::tonic::trace::v1::Span)> {
    requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    Value::StringValue(s) => Some(s.as_str()),
                    _ => None,
                })
                .unwrap_or_default();
            rs.scope_spans
                .iter()
                .flat_map(|ss| &ss.spans)
                .map(move |s| (service, s))
        })
}

fn attribute<'a>(
    span: &'a opentelemetry_proto::tonic::trace::v1::Span,
    key: &str,
) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

/// DuckDB's `quantile_cont`: linear interpolation between the closest ranks.
fn quantile_cont(sorted: &[i64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
    let (a, b) = (sorted[lo] as f64, sorted[hi] as f64);
    a + (position - lo as f64) * (b - a)
}

#[test]
fn duckdb_polars_and_pyarrow_query_a_hive_directory_of_flat_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut traces = Vec::new();
    let mut logs = Vec::new();
    let mut metrics = Vec::new();
    for hour in 0..HOURS {
        let start = UNIX_EPOCH + Duration::from_secs(DAY_START + hour * 3600);
        let mut generator = Generator::new(hour).with_start_time(start);
        let hour_traces: Vec<ExportTraceServiceRequest> =
            (0..2).map(|_| generator.traces(2000)).collect();
        let hour_logs: Vec<ExportLogsServiceRequest> =
            (0..2).map(|_| generator.logs(700)).collect();
        let hour_metrics: Vec<ExportMetricsServiceRequest> =
            (0..2).map(|_| generator.metrics(600)).collect();
        let partition = format!("date=2026-01-01/hour={hour:02}");
        let as_telemetry = |v: &[ExportTraceServiceRequest]| {
            v.iter()
                .cloned()
                .map(AnyRequest::Traces)
                .collect::<Vec<_>>()
        };
        write_parquet(
            &root.join("traces").join(&partition).join("part-0.parquet"),
            Signal::Traces,
            &as_telemetry(&hour_traces[..1]),
        );
        write_parquet(
            &root.join("traces").join(&partition).join("part-1.parquet"),
            Signal::Traces,
            &as_telemetry(&hour_traces[1..]),
        );
        write_parquet(
            &root.join("logs").join(&partition).join("part-0.parquet"),
            Signal::Logs,
            &hour_logs
                .iter()
                .cloned()
                .map(AnyRequest::Logs)
                .collect::<Vec<_>>(),
        );
        write_parquet(
            &root.join("metrics").join(&partition).join("part-0.parquet"),
            Signal::Metrics,
            &hour_metrics
                .iter()
                .cloned()
                .map(AnyRequest::Metrics)
                .collect::<Vec<_>>(),
        );
        traces.extend(hour_traces);
        logs.extend(hour_logs);
        metrics.extend(hour_metrics);
    }
    let ipc = std::fs::File::create(root.join("spans.arrow")).unwrap();
    let mut writer = FlatIpcWriter::new(ipc, Signal::Traces, Compression::Zstd(3)).unwrap();
    for r in &traces {
        writer.write(&AnyRequest::Traces(r.clone())).unwrap();
    }
    writer.finish().unwrap();

    let output = Command::new(python())
        .arg("-c")
        .arg(QUERIES)
        .arg(root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `cargo xtask setup`", python()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let got: Json = serde_json::from_str(stdout.trim()).unwrap();

    // Spans and error spans per service.
    let mut per_service: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut durations: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
    let (mut get_spans, mut status_200, mut total) = (0u64, 0u64, 0u64);
    for (service, span) in spans(&traces) {
        let entry = per_service.entry(service).or_default();
        entry.0 += 1;
        if span.status.as_ref().is_some_and(|s| s.code == 2) {
            entry.1 += 1;
        }
        durations
            .entry((service, span.name.as_str()))
            .or_default()
            .push(
                span.end_time_unix_nano
                    .wrapping_sub(span.start_time_unix_nano) as i64,
            );
        if attribute(span, "http.request.method") == Some(&Value::StringValue("GET".into())) {
            get_spans += 1;
        }
        if attribute(span, "http.response.status_code") == Some(&Value::IntValue(200)) {
            status_200 += 1;
        }
        total += 1;
    }
    let want: Vec<Json> = per_service
        .iter()
        .map(|(s, (n, e))| serde_json::json!([s, n, e]))
        .collect();
    assert_eq!(got["per_service"], Json::Array(want));
    assert!(
        per_service.values().any(|(_, e)| *e > 0),
        "the data has error spans"
    );

    let p99 = got["p99"].as_array().unwrap();
    assert_eq!(p99.len(), durations.len());
    for (row, ((service, name), values)) in p99.iter().zip(&mut durations) {
        values.sort_unstable();
        assert_eq!(row[0], *service);
        assert_eq!(row[1], *name);
        let want = quantile_cont(values, 0.99);
        let duckdb = row[2].as_f64().unwrap();
        assert!(
            (duckdb - want).abs() <= want.abs() * 1e-9,
            "p99 of {service} {name}: DuckDB {duckdb}, Rust {want}"
        );
    }
    assert!(get_spans > 0 && status_200 > 0);
    assert_eq!(got["get_spans"], get_spans);
    assert_eq!(got["status_200"], status_200);
    assert_eq!(got["start_type"], "TIMESTAMPTZ_NS");
    let hours: Vec<Json> = got["hours"].as_array().unwrap().clone();
    assert_eq!(hours.len(), HOURS as usize, "{hours:?}");
    assert_eq!(got["pyarrow_rows"], total);
    assert_eq!(got["polars_rows"], total);

    let mut by_severity: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut string_bodies, mut log_total) = (0u64, 0u64);
    for record in logs
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
    {
        *by_severity.entry(&record.severity_text).or_default() += 1;
        if matches!(
            record.body.as_ref().and_then(|b| b.value.as_ref()),
            Some(Value::StringValue(_))
        ) {
            string_bodies += 1;
        }
        log_total += 1;
    }
    let want: Vec<Json> = by_severity
        .iter()
        .map(|(s, n)| serde_json::json!([s, n]))
        .collect();
    assert_eq!(got["logs_by_severity"], Json::Array(want));
    assert_eq!(got["logs_string_bodies"], string_bodies);
    assert_eq!(got["logs_polars_rows"], log_total);

    let mut by_type: BTreeMap<&str, (u64, Option<u64>)> = BTreeMap::new();
    for metric in metrics
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
    {
        let (kind, points, counts): (&str, u64, Option<u64>) = match &metric.data {
            Some(Data::Gauge(g)) => ("gauge", g.data_points.len() as u64, None),
            Some(Data::Sum(s)) => ("sum", s.data_points.len() as u64, None),
            Some(Data::Histogram(h)) => (
                "histogram",
                h.data_points.len() as u64,
                Some(h.data_points.iter().map(|p| p.count).sum()),
            ),
            Some(Data::ExponentialHistogram(h)) => (
                "exponential_histogram",
                h.data_points.len() as u64,
                Some(h.data_points.iter().map(|p| p.count).sum()),
            ),
            Some(Data::Summary(s)) => (
                "summary",
                s.data_points.len() as u64,
                Some(s.data_points.iter().map(|p| p.count).sum()),
            ),
            None => continue,
        };
        let entry = by_type.entry(kind).or_default();
        entry.0 += points;
        if let Some(c) = counts {
            *entry.1.get_or_insert(0) += c;
        }
    }
    let want: Vec<Json> = by_type
        .iter()
        .map(|(k, (n, c))| serde_json::json!([k, n, c]))
        .collect();
    assert_eq!(got["metrics_by_type"], Json::Array(want));
    let points: u64 = by_type.values().map(|(n, _)| n).sum();
    assert_eq!(got["metrics_pyarrow_rows"], points);

    assert_eq!(got["ipc_pyarrow_rows"], total);
    assert_eq!(got["ipc_polars_rows"], total);
    assert_eq!(got["ipc_duckdb_get_spans"], get_spans);
}
