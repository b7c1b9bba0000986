//! `cargo xtask bench [filter...]`: run the criterion benches and write `docs/benchmarks.md`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use crate::benchdoc::{
    Measurement, RunInfo, build_document, cpu_model, notes_key, parse_measurement,
};
use crate::workspace::{Workspace, run};

/// The environment variable benches write their non-timing markdown fragments under.
pub const NOTES_ENV: &str = "OTLP_BENCH_NOTES";

/// Runs `cargo bench` over the workspace and updates `docs/benchmarks.md` with what ran.
pub fn run_bench(
    workspace: &Workspace,
    packages: &[String],
    benches: &[String],
    filters: &[String],
) -> Result<()> {
    let target = workspace.target_dir()?;
    let notes_dir = target.join("bench-notes");
    if notes_dir.exists() {
        fs::remove_dir_all(&notes_dir)
            .with_context(|| format!("could not empty {}", notes_dir.display()))?;
    }
    fs::create_dir_all(&notes_dir)
        .with_context(|| format!("could not create {}", notes_dir.display()))?;

    // The end-to-end benches run the release binary as operators do. Built here, before `cargo bench` takes the
    // build directory's lock for the whole run, so a bench never waits on a nested cargo.
    let runs_e2e = benches.is_empty() || benches.iter().any(|b| b == "collector_e2e");
    if runs_e2e && (packages.is_empty() || packages.iter().any(|p| p == "otlp-benches")) {
        run(workspace
            .cargo()
            .args(["build", "--release", "-p", "otlp-suite"]))?;
    }
    let started = whole_second_floor(SystemTime::now());
    let mut bench = workspace.cargo();
    bench.env("OTLP_SUITE_BIN", target.join("release").join("otlp-suite"));
    bench.arg("bench");
    if packages.is_empty() {
        bench.arg("--workspace");
    }
    for package in packages {
        bench.args(["--package", package]);
    }
    for target in benches {
        bench.args(["--bench", target]);
    }
    bench.arg("--all-features").env(NOTES_ENV, &notes_dir);
    if !filters.is_empty() {
        // Criterion takes one filter, a regex: several words select the union of their matches.
        bench.arg("--").arg(filters.join("|"));
    }
    run(&mut bench)?;

    let measurements = collect_measurements(&target.join("criterion"), started)?;
    let notes = collect_notes(&notes_dir)?;
    if measurements.is_empty() && notes.is_empty() {
        println!(
            "xtask bench: no benchmark ran (does the filter match any?); docs/benchmarks.md unchanged"
        );
        return Ok(());
    }

    let command = std::iter::once("cargo xtask bench".to_owned())
        .chain(packages.iter().map(|p| format!("-p {p}")))
        .chain(benches.iter().map(|b| format!("--bench {b}")))
        .chain(filters.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let info = RunInfo {
        command,
        date: utc_now()?,
        cpu: fs::read_to_string("/proc/cpuinfo")
            .ok()
            .as_deref()
            .and_then(cpu_model)
            .unwrap_or_else(|| "unknown CPU".to_owned()),
        cores: std::thread::available_parallelism().map_or(1, |cores| cores.get()),
        rustc: rustc_version(workspace),
    };
    let docs = workspace.root.join("docs");
    fs::create_dir_all(&docs).with_context(|| format!("could not create {}", docs.display()))?;
    let path = docs.join("benchmarks.md");
    let existing = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => {
            return Err(error).with_context(|| format!("could not read {}", path.display()));
        }
    };
    let document = build_document(&existing, &info, &measurements, notes)
        .with_context(|| format!("{} has broken section markers", path.display()))?;
    fs::write(&path, document).with_context(|| format!("could not write {}", path.display()))?;
    println!(
        "xtask bench: wrote {} ({} benchmarks)",
        workspace.display(&path),
        measurements.len()
    );
    Ok(())
}

/// `time` rounded down to a whole second, because some file systems keep coarse mtimes and a
/// result written in the run's first second must still count as fresh.
fn whole_second_floor(time: SystemTime) -> SystemTime {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|since| SystemTime::UNIX_EPOCH + Duration::from_secs(since.as_secs()))
        .unwrap_or(time)
}

/// Every benchmark under `criterion_dir` whose `new/benchmark.json` was written at or after
/// `since`: only what this run measured, never a stale result of an earlier run.
pub fn collect_measurements(criterion_dir: &Path, since: SystemTime) -> Result<Vec<Measurement>> {
    let mut files = Vec::new();
    find_benchmark_files(criterion_dir, &mut files)?;
    files.sort();
    let mut measurements = Vec::new();
    for benchmark_file in files {
        let modified = fs::metadata(&benchmark_file)
            .and_then(|metadata| metadata.modified())
            .with_context(|| format!("could not stat {}", benchmark_file.display()))?;
        if modified < since {
            continue;
        }
        let estimates_file = benchmark_file.with_file_name("estimates.json");
        let read = |path: &Path| {
            fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))
        };
        let measurement = parse_measurement(&read(&benchmark_file)?, &read(&estimates_file)?)
            .with_context(|| format!("in {}", benchmark_file.display()))?;
        measurements.push(measurement);
    }
    Ok(measurements)
}

/// Collects `…/new/benchmark.json` paths (criterion's latest result; `base/` and other baselines
/// hold copies of older ones).
fn find_benchmark_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(error).with_context(|| format!("could not list {}", dir.display()));
        }
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("could not list {}", dir.display()))?;
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            find_benchmark_files(&path, found)?;
        } else if file_type.is_file()
            && entry.file_name() == "benchmark.json"
            && dir.file_name().is_some_and(|name| name == "new")
        {
            found.push(path);
        }
    }
    Ok(())
}

/// The `*.md` fragments benches wrote to the notes directory, as (section key, markdown), by name.
pub fn collect_notes(notes_dir: &Path) -> Result<Vec<(String, String)>> {
    let mut fragments = Vec::new();
    let entries = match fs::read_dir(notes_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(fragments),
        Err(error) => {
            return Err(error).with_context(|| format!("could not list {}", notes_dir.display()));
        }
    };
    for entry in entries {
        let path = entry
            .with_context(|| format!("could not list {}", notes_dir.display()))?
            .path();
        if path.extension().is_none_or(|extension| extension != "md") || !path.is_file() {
            continue;
        }
        let Some(stem) = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
        else {
            continue;
        };
        let text = fs::read_to_string(&path)
            .with_context(|| format!("could not read {}", path.display()))?;
        if !text.trim().is_empty() {
            fragments.push((notes_key(&stem), text));
        }
    }
    fragments.sort();
    Ok(fragments)
}

fn utc_now() -> Result<String> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .context("could not format the current date")
}

fn rustc_version(workspace: &Workspace) -> String {
    Command::new("rustc")
        .arg("-V")
        .current_dir(&workspace.root)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "rustc (version unknown)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchdoc::{Throughput, render_group};
    use criterion::{BenchmarkId, Criterion};
    use std::hint::black_box;

    /// Runs a tiny criterion group into `output`, exactly as a bench target would.
    fn run_tiny_bench(output: &Path, functions: &[&str], sizes: &[u64]) {
        let mut criterion = Criterion::default()
            .output_directory(output)
            .without_plots()
            .sample_size(10)
            .warm_up_time(Duration::from_millis(10))
            .measurement_time(Duration::from_millis(20));
        let mut group = criterion.benchmark_group("xtask_tiny");
        for size in sizes {
            group.throughput(criterion::Throughput::Elements(*size));
            for function in functions {
                group.bench_with_input(BenchmarkId::new(*function, size), size, |b, size| {
                    b.iter(|| (0..black_box(*size)).sum::<u64>())
                });
            }
        }
        group.finish();
    }

    #[test]
    fn reads_what_criterion_really_writes_and_skips_stale_results() {
        let dir = tempfile::tempdir().unwrap();
        run_tiny_bench(dir.path(), &["sum", "peer_sum"], &[10, 100]);
        let all = collect_measurements(dir.path(), SystemTime::UNIX_EPOCH).unwrap();
        let mut seen: Vec<String> = all
            .iter()
            .map(|m| {
                format!(
                    "{}/{:?}/{:?}/{:?}",
                    m.group, m.function, m.parameter, m.throughput
                )
            })
            .collect();
        seen.sort();
        let expected = |function: &str, size: u64| {
            format!(
                "xtask_tiny/{:?}/{:?}/{:?}",
                Some(function),
                Some(size.to_string()),
                Some(Throughput::Elements(size))
            )
        };
        assert_eq!(
            seen,
            vec![
                expected("peer_sum", 10),
                expected("peer_sum", 100),
                expected("sum", 10),
                expected("sum", 100)
            ]
        );
        for measurement in &all {
            let mean = measurement.mean;
            assert!(
                mean.lower_ns <= mean.point_ns && mean.point_ns <= mean.upper_ns,
                "{mean:?}"
            );
            assert_eq!(mean.confidence_level, 0.95);
        }
        // Criterion also wrote `base/` copies and a second run keeps them: only `new/` counts.
        assert!(
            dir.path()
                .join("xtask_tiny/sum/10/base/benchmark.json")
                .is_file()
        );

        // Results from before a run started are stale: a later run of one size reports only it.
        let second_run = whole_second_floor(SystemTime::now()) + Duration::from_secs(1);
        while SystemTime::now() < second_run {
            std::thread::sleep(Duration::from_millis(50));
        }
        run_tiny_bench(dir.path(), &["sum"], &[100]);
        let fresh = collect_measurements(dir.path(), second_run).unwrap();
        assert_eq!(fresh.len(), 1, "{fresh:?}");
        assert_eq!(fresh[0].function.as_deref(), Some("sum"));
        assert_eq!(fresh[0].parameter.as_deref(), Some("100"));

        let table = render_group("xtask_tiny", &all, "now");
        assert_eq!(table.matches("(peer)").count(), 2, "{table}");
        assert_eq!(
            table.matches(" faster |").count()
                + table.matches(" (slower) |").count()
                + table.matches(" (on par) |").count(),
            2,
            "{table}"
        );
    }

    #[test]
    fn document_from_a_real_criterion_run_keeps_sections_it_did_not_touch() {
        let dir = tempfile::tempdir().unwrap();
        let criterion_dir = dir.path().join("criterion");
        run_tiny_bench(&criterion_dir, &["sum", "peer_sum"], &[1000]);
        let measurements = collect_measurements(&criterion_dir, SystemTime::UNIX_EPOCH).unwrap();
        let notes_dir = dir.path().join("bench-notes");
        fs::create_dir(&notes_dir).unwrap();
        fs::write(
            notes_dir.join("xtask-sizes.md"),
            "### Sizes\n\n| item | bytes |\n|---|---|\n| span | 490 |\n",
        )
        .unwrap();
        let info = RunInfo {
            command: "cargo xtask bench xtask_tiny".into(),
            date: "2026-11-21 08:30 UTC".into(),
            cpu: "test CPU".into(),
            cores: 2,
            rustc: "rustc test".into(),
        };
        let earlier = "<!-- xtask-bench begin header -->\n# old header\n<!-- xtask-bench end header -->\n\
                       <!-- xtask-bench begin group:arrow_decode -->\n## arrow_decode\nkept\n<!-- xtask-bench end group:arrow_decode -->\n";
        let document = crate::benchdoc::build_document(
            earlier,
            &info,
            &measurements,
            collect_notes(&notes_dir).unwrap(),
        )
        .unwrap();
        assert!(document.starts_with("<!-- xtask-bench begin header -->\n# Benchmarks\n"));
        assert!(!document.contains("# old header"));
        assert!(document.contains("## arrow_decode\nkept\n"));
        assert!(document.contains("<!-- xtask-bench begin group:xtask_tiny -->\n## xtask_tiny\n"));
        assert!(document.contains("| `sum` | 1000 | "), "{document}");
        assert!(document.contains("| `peer_sum` | 1000 | "), "{document}");
        assert!(document.contains(" M/s ("), "{document}");
        assert!(document.contains("<!-- xtask-bench begin notes:xtask-sizes -->\n### Sizes\n"));
        // Sections are in a stable order: header, groups by name, then notes.
        let position = |needle: &str| document.find(needle).unwrap();
        assert!(position("group:arrow_decode") < position("group:xtask_tiny"));
        assert!(position("group:xtask_tiny") < position("notes:xtask-sizes"));
    }

    #[test]
    fn missing_criterion_dir_means_no_results() {
        let dir = tempfile::tempdir().unwrap();
        let none = collect_measurements(&dir.path().join("criterion"), SystemTime::UNIX_EPOCH);
        assert!(none.unwrap().is_empty());
    }

    #[test]
    fn notes_are_markdown_fragments_sorted_by_name() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("otlp-arrow-bytes.md"),
            "### Bytes per span\n| a |\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("otlp-arrow-compression.md"),
            "### Compression\n",
        )
        .unwrap();
        fs::write(dir.path().join("empty.md"), "  \n").unwrap();
        fs::write(dir.path().join("raw.csv"), "a,b\n").unwrap();
        let notes = collect_notes(dir.path()).unwrap();
        assert_eq!(
            notes,
            vec![
                (
                    "notes:otlp-arrow-bytes".to_owned(),
                    "### Bytes per span\n| a |\n".to_owned()
                ),
                (
                    "notes:otlp-arrow-compression".to_owned(),
                    "### Compression\n".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn floors_to_whole_seconds() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(12_345);
        assert_eq!(
            whole_second_floor(time),
            SystemTime::UNIX_EPOCH + Duration::from_secs(12)
        );
    }
}
