//! `cargo xtask bench [--quick] [filter...]`: run the benches and write `docs/benchmarks.md`.
//!
//! Most bench targets are criterion's; a few are harnesses of their own (`harness = false` without criterion,
//! e.g. otlp-benches' `collector_e2e`) that write notes and read their arguments as filters. A normal run gives
//! every target the same arguments (the filters). `--quick` runs the two kinds apart: the criterion targets with
//! criterion's flags for a short measurement, the others with `OTLP_BENCH_QUICK=1`, which they read to shorten
//! their loads (criterion's flags would read as filters there).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

use crate::benchdoc::{
    Measurement, RunInfo, build_document, cpu_model, notes_key, parse_measurement,
};
use crate::check::PYTHON_ENV;
use crate::setup::run_setup;
use crate::workspace::{Workspace, run};

/// The environment variable benches write their non-timing markdown fragments under.
pub const NOTES_ENV: &str = "OTLP_BENCH_NOTES";

/// Set to `1` for a quick run (`cargo xtask bench --quick`): the custom harnesses shorten their loads, and any
/// bench may shrink work that criterion's flags do not reach (set up data, notes).
pub const QUICK_ENV: &str = "OTLP_BENCH_QUICK";

/// Criterion's flags for a quick run: a short warm-up and the smallest sample criterion takes.
pub const QUICK_CRITERION_ARGS: &[&str] = &[
    "--warm-up-time",
    "0.5",
    "--measurement-time",
    "1",
    "--sample-size",
    "10",
];

/// What `cargo xtask bench` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    /// A short run of every selected bench.
    pub quick: bool,
    /// Only these packages' benches (empty: every package).
    pub packages: Vec<String>,
    /// Only these bench targets (empty: all of them).
    pub benches: Vec<String>,
    /// Criterion filters; several select the union of their matches.
    pub filters: Vec<String>,
}

/// How a bench target measures, which decides the arguments it understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchKind {
    /// Criterion's harness (`criterion_group!`): takes criterion's flags and a filter.
    Criterion,
    /// A `main` of its own: takes filters only, and reads [`QUICK_ENV`].
    Custom,
}

/// One `[[bench]]` target of a workspace package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchTarget {
    /// The package it belongs to.
    pub package: String,
    /// The target's name (`cargo bench --bench NAME`).
    pub name: String,
    /// Criterion's or a harness of its own.
    pub kind: BenchKind,
}

/// The kind of a bench target from its source: criterion's when it declares a criterion group or hands its
/// arguments to criterion (`configure_from_args`) in a `main` of its own.
pub fn bench_kind(source: &str) -> BenchKind {
    if ["criterion_group!", "criterion_main!", "configure_from_args"]
        .iter()
        .any(|mark| source.contains(mark))
    {
        BenchKind::Criterion
    } else {
        BenchKind::Custom
    }
}

/// Every bench target of the workspace's packages (`cargo metadata`), with its kind read from its source.
pub fn bench_targets(metadata: &serde_json::Value) -> Result<Vec<BenchTarget>> {
    let packages = metadata
        .get("packages")
        .and_then(serde_json::Value::as_array)
        .context("`cargo metadata` output has no `packages` list")?;
    let mut targets = Vec::new();
    for package in packages {
        let package_name = package
            .get("name")
            .and_then(serde_json::Value::as_str)
            .context("a package without a name")?;
        for target in package
            .get("targets")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            let is_bench = target
                .get("kind")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bench"));
            if !is_bench {
                continue;
            }
            let name = target
                .get("name")
                .and_then(serde_json::Value::as_str)
                .with_context(|| format!("a bench target of {package_name} without a name"))?;
            let source_path = target
                .get("src_path")
                .and_then(serde_json::Value::as_str)
                .with_context(|| format!("bench {name} of {package_name} has no src_path"))?;
            let source = fs::read_to_string(source_path)
                .with_context(|| format!("could not read {source_path}"))?;
            targets.push(BenchTarget {
                package: package_name.to_owned(),
                name: name.to_owned(),
                kind: bench_kind(&source),
            });
        }
    }
    targets.sort_by(|a, b| (&a.package, &a.name).cmp(&(&b.package, &b.name)));
    Ok(targets)
}

/// The targets of `targets` in `packages` (all when empty) named in `benches` (all when empty); an error names
/// a package or bench that selects nothing.
pub fn select_targets(
    targets: &[BenchTarget],
    packages: &[String],
    benches: &[String],
) -> Result<Vec<BenchTarget>> {
    for package in packages {
        if !targets.iter().any(|target| &target.package == package) {
            bail!("package {package} has no bench target");
        }
    }
    let selected: Vec<BenchTarget> = targets
        .iter()
        .filter(|target| packages.is_empty() || packages.contains(&target.package))
        .filter(|target| benches.is_empty() || benches.contains(&target.name))
        .cloned()
        .collect();
    for bench in benches {
        if !selected.iter().any(|target| &target.name == bench) {
            bail!("no bench target named {bench} in the selected packages");
        }
    }
    Ok(selected)
}

/// The arguments after `--` for the bench binaries of one kind: criterion's quick flags for criterion's
/// harness in a quick run, then the filters (criterion takes one regex: several words are its alternatives).
pub fn harness_args(kind: BenchKind, quick: bool, filters: &[String]) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    if quick && kind == BenchKind::Criterion {
        args.extend(QUICK_CRITERION_ARGS.iter().map(|arg| (*arg).to_owned()));
    }
    if !filters.is_empty() {
        args.push(filters.join("|"));
    }
    args
}

/// A notes fragment of a quick run, marked as such under its heading.
pub fn mark_quick(note: &str) -> String {
    const MARK: &str = "*Written by a quick run (`cargo xtask bench --quick`), whose harnesses may shorten \
                        their loads: rerun without `--quick` on a quiet machine before quoting these figures.*\n";
    match note.split_once('\n') {
        Some((heading, rest)) if heading.starts_with('#') => {
            format!("{heading}\n\n{MARK}{rest}")
        }
        _ => format!("{MARK}\n{note}"),
    }
}

/// Runs the benches and updates `docs/benchmarks.md` with what ran.
pub fn run_bench(workspace: &Workspace, options: &BenchOptions) -> Result<()> {
    let BenchOptions {
        quick,
        packages,
        benches,
        filters,
    } = options;
    let quick = *quick;
    // Every feature is on: otlp-control's `fleet` bench needs protoc to build and etcd to run. The venv's
    // pyarrow and DuckDB are peers of otlp-arrow's `flat_writers` bench, as they are readers in the tests.
    let environment = run_setup(workspace)?;
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
    let bench_command = || {
        let mut bench = workspace.cargo();
        bench
            .env("OTLP_SUITE_BIN", target.join("release").join("otlp-suite"))
            .env(NOTES_ENV, &notes_dir)
            .env(PYTHON_ENV, &environment.python)
            .arg("bench");
        if quick {
            bench.env(QUICK_ENV, "1");
        }
        bench
    };
    if quick {
        // One `cargo bench` per kind of harness, each naming its targets, so each gets the arguments it reads.
        let selected = select_targets(&bench_targets(&workspace.metadata()?)?, packages, benches)?;
        for kind in [BenchKind::Criterion, BenchKind::Custom] {
            let of_kind: Vec<&BenchTarget> = selected.iter().filter(|t| t.kind == kind).collect();
            if of_kind.is_empty() {
                continue;
            }
            let mut bench = bench_command();
            let mut named_packages: Vec<&str> =
                of_kind.iter().map(|t| t.package.as_str()).collect();
            named_packages.dedup();
            for package in named_packages {
                bench.args(["--package", package]);
            }
            for target in &of_kind {
                bench.args(["--bench", &target.name]);
            }
            bench.arg("--all-features");
            let args = harness_args(kind, true, filters);
            if !args.is_empty() {
                bench.arg("--").args(args);
            }
            run(&mut bench)?;
        }
    } else {
        let mut bench = bench_command();
        if packages.is_empty() {
            bench.arg("--workspace");
        }
        for package in packages {
            bench.args(["--package", package]);
        }
        for target in benches {
            bench.args(["--bench", target]);
        }
        bench.arg("--all-features");
        let args = harness_args(BenchKind::Criterion, false, filters);
        if !args.is_empty() {
            bench.arg("--").args(args);
        }
        run(&mut bench)?;
    }

    let measurements = collect_measurements(&target.join("criterion"), started)?;
    let mut notes = collect_notes(&notes_dir)?;
    if quick {
        for (_, note) in &mut notes {
            *note = mark_quick(note);
        }
    }
    if measurements.is_empty() && notes.is_empty() {
        println!(
            "xtask bench: no benchmark ran (does the filter match any?); docs/benchmarks.md unchanged"
        );
        return Ok(());
    }

    let command = std::iter::once("cargo xtask bench".to_owned())
        .chain(quick.then(|| "--quick".to_owned()))
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
        quick,
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
            quick: false,
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
    fn this_workspace_has_both_kinds_of_bench_and_says_which_is_which() {
        let workspace = Workspace::locate().unwrap();
        let targets = bench_targets(&workspace.metadata().unwrap()).unwrap();
        let kind = |package: &str, name: &str| {
            targets
                .iter()
                .find(|t| t.package == package && t.name == name)
                .map(|t| t.kind)
        };
        // Harnesses of their own, which read criterion's flags as filters.
        assert_eq!(
            kind("otlp-benches", "collector_e2e"),
            Some(BenchKind::Custom)
        );
        assert_eq!(kind("otlp-benches", "allocations"), Some(BenchKind::Custom));
        assert_eq!(kind("otlp-lb", "balance"), Some(BenchKind::Custom));
        // Criterion's, including one with a `main` of its own that hands its arguments to criterion.
        assert_eq!(kind("otlp-simd", "kernels"), Some(BenchKind::Criterion));
        assert_eq!(kind("otlp-control", "fleet"), Some(BenchKind::Criterion));
        assert_eq!(kind("otlp-benches", "pipeline"), Some(BenchKind::Criterion));
    }

    #[test]
    fn selects_targets_by_package_and_name() {
        let target = |package: &str, name: &str, kind| BenchTarget {
            package: package.into(),
            name: name.into(),
            kind,
        };
        let all = vec![
            target("a", "one", BenchKind::Criterion),
            target("a", "two", BenchKind::Custom),
            target("b", "three", BenchKind::Criterion),
        ];
        assert_eq!(select_targets(&all, &[], &[]).unwrap(), all);
        assert_eq!(
            select_targets(&all, &["a".into()], &[]).unwrap(),
            all[..2].to_vec()
        );
        assert_eq!(
            select_targets(&all, &[], &["three".into()]).unwrap(),
            all[2..].to_vec()
        );
        let error = select_targets(&all, &["b".into()], &["one".into()]).unwrap_err();
        assert!(
            error.to_string().contains("no bench target named one"),
            "{error}"
        );
        assert!(select_targets(&all, &["c".into()], &[]).is_err());
    }

    #[test]
    fn only_criterion_gets_criterion_flags() {
        let filters = vec!["sampling".to_owned(), "arrow".to_owned()];
        let criterion = harness_args(BenchKind::Criterion, true, &filters);
        assert_eq!(
            criterion[..QUICK_CRITERION_ARGS.len()],
            *QUICK_CRITERION_ARGS
        );
        assert_eq!(criterion.last().map(String::as_str), Some("sampling|arrow"));
        assert_eq!(
            harness_args(BenchKind::Custom, true, &filters),
            ["sampling|arrow"]
        );
        assert!(harness_args(BenchKind::Custom, true, &[]).is_empty());
        assert_eq!(
            harness_args(BenchKind::Criterion, false, &filters),
            ["sampling|arrow"]
        );
        assert_eq!(
            bench_kind("criterion_group!(benches, a);\ncriterion_main!(benches);"),
            BenchKind::Criterion
        );
        assert_eq!(bench_kind("fn main() {}"), BenchKind::Custom);
        assert_eq!(
            bench_kind("fn main() { Criterion::default().configure_from_args().final_summary() }"),
            BenchKind::Criterion
        );
    }

    #[test]
    fn quick_notes_are_marked_under_their_heading() {
        let marked = mark_quick("### Sizes\n\n| a |\n");
        assert!(
            marked
                .starts_with("### Sizes\n\n*Written by a quick run (`cargo xtask bench --quick`)"),
            "{marked}"
        );
        assert!(marked.ends_with(".*\n\n| a |\n"), "{marked}");
        assert!(mark_quick("no heading\n").starts_with("*Written by a quick run"));
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
