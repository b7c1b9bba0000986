//! Turning criterion's saved results into `docs/benchmarks.md`: parsing, tables, and merging with
//! the existing document. Everything here is pure (strings in, strings out) so it is tested
//! without running a benchmark.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The prefix that marks a function as the peer implementation its group compares against.
pub const PEER_PREFIX: &str = "peer_";

/// One benchmark's result: a `new/benchmark.json` with its `new/estimates.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Criterion group (`benchmark_group` name, or the `bench_function` name without a group).
    pub group: String,
    /// Function name inside the group, when it has one.
    pub function: Option<String>,
    /// Parameter (`BenchmarkId`'s value), when it has one.
    pub parameter: Option<String>,
    /// Work done per iteration, when the group set `Throughput`.
    pub throughput: Option<Throughput>,
    /// Mean time per iteration.
    pub mean: Estimate,
}

/// Criterion's `Throughput`: what one iteration processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throughput {
    /// Items (spans, requests, ...) per iteration.
    Elements(u64),
    /// Bytes per iteration.
    Bytes(u64),
    /// Bits per iteration.
    Bits(u64),
    /// Items and the bytes they occupy per iteration.
    ElementsAndBytes {
        /// Items per iteration.
        elements: u64,
        /// Bytes per iteration.
        bytes: u64,
    },
}

/// A point estimate in nanoseconds with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The estimate, in ns.
    pub point_ns: f64,
    /// Lower confidence bound, in ns.
    pub lower_ns: f64,
    /// Upper confidence bound, in ns.
    pub upper_ns: f64,
    /// Confidence level of the interval, e.g. 0.95.
    pub confidence_level: f64,
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct EstimatesJson {
    mean: EstimateJson,
}

#[derive(Deserialize)]
struct EstimateJson {
    confidence_interval: ConfidenceIntervalJson,
    point_estimate: f64,
}

#[derive(Deserialize)]
struct ConfidenceIntervalJson {
    confidence_level: f64,
    lower_bound: f64,
    upper_bound: f64,
}

/// Parses criterion's `benchmark.json` and `estimates.json` of one benchmark.
pub fn parse_measurement(benchmark_json: &str, estimates_json: &str) -> Result<Measurement> {
    let benchmark: BenchmarkJson =
        serde_json::from_str(benchmark_json).context("benchmark.json is not criterion's format")?;
    let estimates: EstimatesJson =
        serde_json::from_str(estimates_json).context("estimates.json is not criterion's format")?;
    let mean = Estimate {
        point_ns: estimates.mean.point_estimate,
        lower_ns: estimates.mean.confidence_interval.lower_bound,
        upper_ns: estimates.mean.confidence_interval.upper_bound,
        confidence_level: estimates.mean.confidence_interval.confidence_level,
    };
    if !(mean.point_ns.is_finite() && mean.point_ns > 0.0) {
        bail!(
            "estimates.json of {} has mean {} ns; expected a positive time",
            benchmark.group_id,
            mean.point_ns
        );
    }
    let throughput = benchmark
        .throughput
        .as_ref()
        .map(parse_throughput)
        .transpose()
        .with_context(|| format!("benchmark.json of {}", benchmark.group_id))?;
    Ok(Measurement {
        group: benchmark.group_id,
        function: benchmark.function_id,
        parameter: benchmark.value_str,
        throughput,
        mean,
    })
}

fn parse_throughput(value: &serde_json::Value) -> Result<Throughput> {
    let count = |key: &str| value.get(key).and_then(serde_json::Value::as_u64);
    if let Some(n) = count("Elements") {
        return Ok(Throughput::Elements(n));
    }
    if let Some(n) = count("Bytes").or_else(|| count("BytesDecimal")) {
        return Ok(Throughput::Bytes(n));
    }
    if let Some(n) = count("Bits") {
        return Ok(Throughput::Bits(n));
    }
    if let Some(both) = value.get("ElementsAndBytes") {
        let field = |key: &str| both.get(key).and_then(serde_json::Value::as_u64);
        if let (Some(elements), Some(bytes)) = (field("elements"), field("bytes")) {
            return Ok(Throughput::ElementsAndBytes { elements, bytes });
        }
    }
    bail!("unknown throughput {value}")
}

/// `value` rounded to three significant digits, so that unit choice and printing agree
/// (999.96 becomes 1000, which then prints as "1.00 K" rather than "1000").
fn round_to_three_digits(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let exponent = value.abs().log10().floor() as i32;
    let scale = 10f64.powi(2 - exponent);
    (value * scale).round() / scale
}

/// `value` with three significant digits (fewer decimals as it grows), for table cells.
fn three_digits(value: f64) -> String {
    let value = round_to_three_digits(value);
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// The unit a time of `ns` nanoseconds reads best in: (divisor, unit).
fn time_unit(ns: f64) -> (f64, &'static str) {
    let magnitude = round_to_three_digits(ns).abs();
    if magnitude >= 1e9 {
        (1e9, "s")
    } else if magnitude >= 1e6 {
        (1e6, "ms")
    } else if magnitude >= 1e3 {
        (1e3, "µs")
    } else {
        (1.0, "ns")
    }
}

/// A time in nanoseconds as e.g. "813 ns", "1.23 µs", "45.6 ms".
pub fn format_time(ns: f64) -> String {
    let (divisor, unit) = time_unit(ns);
    format!("{} {unit}", three_digits(ns / divisor))
}

/// A rate per second with an SI prefix, e.g. `format_rate(1.23e6, "")` = "1.23 M/s".
pub fn format_rate(per_second: f64, unit: &str) -> String {
    const PREFIXES: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")];
    let (divisor, prefix) = PREFIXES
        .iter()
        .find(|(divisor, _)| round_to_three_digits(per_second).abs() >= *divisor)
        .copied()
        .unwrap_or((1.0, ""));
    let unit = format!("{prefix}{unit}");
    let space = if unit.is_empty() { "" } else { " " };
    format!("{}{space}{unit}/s", three_digits(per_second / divisor))
}

/// The mean with its confidence interval, bounds in the mean's unit: "1.23 µs (1.20–1.27)".
pub fn format_mean(estimate: &Estimate) -> String {
    let (divisor, unit) = time_unit(estimate.point_ns);
    let level = if (estimate.confidence_level - 0.95).abs() < 1e-9 {
        String::new()
    } else {
        format!("{:.0}% CI ", estimate.confidence_level * 100.0)
    };
    format!(
        "{} {unit} ({level}{}–{})",
        three_digits(estimate.point_ns / divisor),
        three_digits(estimate.lower_ns / divisor),
        three_digits(estimate.upper_ns / divisor)
    )
}

/// Throughput as a rate plus the time per element: "1.23 M/s (813 ns/elem)".
pub fn format_throughput(throughput: Option<Throughput>, mean_ns: f64) -> String {
    let per_second = |count: u64| count as f64 * 1e9 / mean_ns;
    let per_item = |count: u64, item: &str| {
        if count == 0 {
            String::new()
        } else {
            format!(" ({}/{item})", format_time(mean_ns / count as f64))
        }
    };
    match throughput {
        None => "—".to_owned(),
        Some(Throughput::Elements(n)) => {
            format!("{}{}", format_rate(per_second(n), ""), per_item(n, "elem"))
        }
        Some(Throughput::Bytes(n)) => {
            format!("{}{}", format_rate(per_second(n), "B"), per_item(n, "B"))
        }
        Some(Throughput::Bits(n)) => format_rate(per_second(n), "bit"),
        Some(Throughput::ElementsAndBytes { elements, bytes }) => format!(
            "{}, {}{}",
            format_rate(per_second(elements), ""),
            format_rate(per_second(bytes), "B"),
            per_item(elements, "elem")
        ),
    }
}

/// "3.1x faster" when ours is faster than the peer, "0.8x (slower)" when not; ratio = peer / ours.
pub fn format_ratio(peer_ns: f64, ours_ns: f64) -> String {
    let ratio = peer_ns / ours_ns;
    let shown = format!("{ratio:.1}");
    if shown == "1.0" {
        "1.0x (on par)".to_owned()
    } else if ratio > 1.0 {
        format!("{shown}x faster")
    } else {
        format!("{shown}x (slower)")
    }
}

fn is_peer(measurement: &Measurement) -> bool {
    measurement
        .function
        .as_deref()
        .is_some_and(|function| function.starts_with(PEER_PREFIX))
}

/// Orders parameters numerically when both are numbers ("10" < "100"), else as text.
fn compare_parameters(a: Option<&str>, b: Option<&str>) -> Ordering {
    let number = |text: Option<&str>| text.and_then(|text| text.parse::<f64>().ok());
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(&b),
    }
}

fn ratio_cell(row: &Measurement, group: &[&Measurement]) -> String {
    if is_peer(row) {
        return "(peer)".to_owned();
    }
    let peers: Vec<&&Measurement> = group
        .iter()
        .filter(|other| is_peer(other) && other.parameter == row.parameter)
        .collect();
    match peers.as_slice() {
        [] => "—".to_owned(),
        [peer] => format_ratio(peer.mean.point_ns, row.mean.point_ns),
        several => several
            .iter()
            .map(|peer| {
                format!(
                    "{} than `{}`",
                    format_ratio(peer.mean.point_ns, row.mean.point_ns),
                    peer.function.as_deref().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Markdown table cells must not contain a bare `|` or a line break.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The markdown section of one criterion group: heading, when it was measured, and the table.
pub fn render_group(group: &str, measurements: &[Measurement], measured_at: &str) -> String {
    let mut rows: Vec<&Measurement> = measurements
        .iter()
        .filter(|measurement| measurement.group == group)
        .collect();
    rows.sort_by(|a, b| {
        compare_parameters(a.parameter.as_deref(), b.parameter.as_deref())
            .then_with(|| is_peer(a).cmp(&is_peer(b)))
            .then_with(|| a.function.cmp(&b.function))
    });
    let mut out = format!("## {}\n\n", cell(group));
    out.push_str(&format!("Measured {measured_at}.\n\n"));
    out.push_str(
        "| function | parameter | time per iteration, mean (95% CI) | throughput (time per element) | ratio vs peer |\n",
    );
    out.push_str("|---|---|---|---|---|\n");
    for row in &rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            row.function
                .as_deref()
                .map_or_else(|| "—".to_owned(), |f| format!("`{}`", cell(f))),
            row.parameter
                .as_deref()
                .map_or_else(|| "—".to_owned(), cell),
            format_mean(&row.mean),
            format_throughput(row.throughput, row.mean.point_ns),
            ratio_cell(row, &rows),
        ));
    }
    out
}

/// What the header says about the machine and the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The command line that produced the run, e.g. "cargo xtask bench sampling".
    pub command: String,
    /// When it ran, e.g. "2026-11-21 08:30 UTC".
    pub date: String,
    /// CPU model name.
    pub cpu: String,
    /// Cores available to the benchmarks.
    pub cores: usize,
    /// `rustc -V`.
    pub rustc: String,
    /// A quick run (`cargo xtask bench --quick`): short measurements, said so in every section it writes.
    pub quick: bool,
}

impl RunInfo {
    /// What a group section says about when (and how) it was measured.
    pub fn measured_at(&self) -> String {
        if self.quick {
            format!(
                "{} in a quick run (`--quick`: 0.5 s warm-up, 10 samples over 1 s; noisier than a full run)",
                self.date
            )
        } else {
            self.date.clone()
        }
    }
}

/// The document header; it describes the most recent run.
pub fn render_header(info: &RunInfo) -> String {
    let quick = if info.quick {
        " (quick: 0.5 s warm-up and 10 samples over 1 s per benchmark, shortened loads in the other harnesses)"
    } else {
        ""
    };
    format!(
        "# Benchmarks\n\n\
         Generated by `cargo xtask bench` from criterion's results; do not edit by hand. Each section \
         below is replaced when its benchmarks run again and kept otherwise, so each says when it was \
         measured.\n\n\
         - Latest run: `{}` on {}{quick}\n\
         - CPU: {}, {} cores available\n\
         - Compiler: {}\n\n\
         All figures in a table are measured in one run, with the peer implementation (functions \
         named `peer_*`) measured in the same group and run as ours, so the ratio compares like with \
         like; absolute times depend on the machine. Ratio = peer mean time / our mean time for the \
         same parameter: above 1 we are faster. Time per iteration is criterion's mean with its 95% \
         confidence interval.\n",
        info.command, info.date, info.cpu, info.cores, info.rustc
    )
}

/// The CPU model in `/proc/cpuinfo` text (x86 `model name`; ARM `Model`, `Hardware` or the part).
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Hardware", "CPU part"]
        .iter()
        .find_map(|wanted| {
            cpuinfo.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == *wanted && !value.trim().is_empty()).then(|| value.trim().to_owned())
            })
        })
}

/// Section key of the header.
pub const HEADER_KEY: &str = "header";

/// Section key of a criterion group.
pub fn group_key(group: &str) -> String {
    format!("group:{}", marker_safe(group))
}

/// Section key of a notes fragment (by its file stem).
pub fn notes_key(stem: &str) -> String {
    format!("notes:{}", marker_safe(stem))
}

/// A key that can sit in an HTML comment on one line: no `--`, no spaces or line breaks.
fn marker_safe(name: &str) -> String {
    let mut key: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "_./:+=@,-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    while key.contains("--") {
        key = key.replace("--", "-_");
    }
    key
}

fn begin_marker(key: &str) -> String {
    format!("<!-- xtask-bench begin {key} -->")
}

fn end_marker(key: &str) -> String {
    format!("<!-- xtask-bench end {key} -->")
}

/// The marked sections of an existing document, by key. Text outside markers is dropped (the
/// document is generated).
pub fn parse_sections(document: &str) -> Result<BTreeMap<String, String>> {
    let mut sections = BTreeMap::new();
    let mut open: Option<(String, usize, String)> = None;
    for (index, line) in document.lines().enumerate() {
        let line_number = index + 1;
        let trimmed = line.trim();
        if let Some(key) = trimmed
            .strip_prefix("<!-- xtask-bench begin ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        {
            if let Some((open_key, opened_at, _)) = &open {
                bail!(
                    "line {line_number} opens section `{key}` inside section `{open_key}` opened on \
                     line {opened_at}; delete the file to regenerate it"
                );
            }
            open = Some((key.to_owned(), line_number, String::new()));
        } else if let Some(key) = trimmed
            .strip_prefix("<!-- xtask-bench end ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        {
            match open.take() {
                Some((open_key, _, body)) if open_key == key => {
                    sections.insert(open_key, body);
                }
                _ => bail!(
                    "line {line_number} closes section `{key}`, which is not the open one; delete \
                     the file to regenerate it"
                ),
            }
        } else if let Some((_, _, body)) = &mut open {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some((key, opened_at, _)) = open {
        bail!(
            "section `{key}` opened on line {opened_at} is never closed; delete the file to \
             regenerate it"
        );
    }
    Ok(sections)
}

/// The new document: the existing sections, with `header` and every section in `updated`
/// replacing (or adding to) them. The header comes first, then the other sections by key
/// (groups, then notes, each alphabetically), so reruns produce stable diffs.
pub fn merge_document(
    existing: &str,
    header: &str,
    updated: impl IntoIterator<Item = (String, String)>,
) -> Result<String> {
    let mut sections = parse_sections(existing)?;
    sections.remove(HEADER_KEY);
    sections.extend(updated);
    let mut out = String::new();
    for (key, body) in std::iter::once((HEADER_KEY, header)).chain(
        sections
            .iter()
            .map(|(key, body)| (key.as_str(), body.as_str())),
    ) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&begin_marker(key));
        out.push('\n');
        out.push_str(body.trim_end());
        out.push('\n');
        out.push_str(&end_marker(key));
        out.push('\n');
    }
    Ok(out)
}

/// The whole new document for one run: `existing` with the header, a section per group in
/// `measurements` and every notes fragment (key, markdown) replaced or added.
pub fn build_document(
    existing: &str,
    info: &RunInfo,
    measurements: &[Measurement],
    notes: Vec<(String, String)>,
) -> Result<String> {
    let groups: BTreeSet<&str> = measurements
        .iter()
        .map(|measurement| measurement.group.as_str())
        .collect();
    let sections = groups
        .into_iter()
        .map(|group| {
            (
                group_key(group),
                render_group(group, measurements, &info.measured_at()),
            )
        })
        .chain(notes);
    merge_document(existing, &render_header(info), sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn benchmark_json(group: &str, function: &str, parameter: &str, throughput: &str) -> String {
        format!(
            r#"{{"group_id":"{group}","function_id":"{function}","value_str":"{parameter}","throughput":{throughput},"full_id":"{group}/{function}/{parameter}","directory_name":"{group}/{function}/{parameter}","title":"{group}/{function}/{parameter}"}}"#
        )
    }

    fn estimates_json(mean: f64, lower: f64, upper: f64) -> String {
        let estimate = |point: f64, lower: f64, upper: f64| {
            format!(
                r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{lower},"upper_bound":{upper}}},"point_estimate":{point},"standard_error":1.5}}"#
            )
        };
        format!(
            r#"{{"mean":{},"median":{},"median_abs_dev":{},"slope":{},"std_dev":{}}}"#,
            estimate(mean, lower, upper),
            estimate(mean * 0.99, lower, upper),
            estimate(3.0, 2.0, 4.0),
            estimate(mean * 1.01, lower, upper),
            estimate(9.0, 8.0, 10.0),
        )
    }

    fn measurement(
        group: &str,
        function: &str,
        parameter: &str,
        elements: u64,
        mean: f64,
    ) -> Measurement {
        parse_measurement(
            &benchmark_json(
                group,
                function,
                parameter,
                &format!(r#"{{"Elements":{elements}}}"#),
            ),
            &estimates_json(mean, mean * 0.98, mean * 1.02),
        )
        .unwrap()
    }

    #[test]
    fn parses_criterion_benchmark_and_estimates() {
        let parsed = parse_measurement(
            &benchmark_json("sampling", "ratio", "1000", r#"{"Elements":1000}"#),
            &estimates_json(81_300.0, 80_000.0, 82_500.0),
        )
        .unwrap();
        assert_eq!(
            parsed,
            Measurement {
                group: "sampling".into(),
                function: Some("ratio".into()),
                parameter: Some("1000".into()),
                throughput: Some(Throughput::Elements(1000)),
                mean: Estimate {
                    point_ns: 81_300.0,
                    lower_ns: 80_000.0,
                    upper_ns: 82_500.0,
                    confidence_level: 0.95
                },
            }
        );
    }

    #[test]
    fn parses_every_throughput_kind_and_none() {
        let kinds = [
            (r#"{"Bytes":4096}"#, Some(Throughput::Bytes(4096))),
            (r#"{"BytesDecimal":4000}"#, Some(Throughput::Bytes(4000))),
            (r#"{"Bits":64}"#, Some(Throughput::Bits(64))),
            (
                r#"{"ElementsAndBytes":{"elements":10,"bytes":4900}}"#,
                Some(Throughput::ElementsAndBytes {
                    elements: 10,
                    bytes: 4900,
                }),
            ),
            ("null", None),
        ];
        for (json, expected) in kinds {
            let parsed = parse_measurement(
                &benchmark_json("g", "f", "p", json),
                &estimates_json(10.0, 9.0, 11.0),
            )
            .unwrap();
            assert_eq!(parsed.throughput, expected, "{json}");
        }
    }

    #[test]
    fn benchmark_without_function_or_parameter_parses() {
        let parsed = parse_measurement(
            r#"{"group_id":"alone","function_id":null,"value_str":null,"throughput":null,"full_id":"alone","directory_name":"alone","title":"alone"}"#,
            &estimates_json(5.0, 4.0, 6.0),
        )
        .unwrap();
        assert_eq!((parsed.function, parsed.parameter), (None, None));
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        let bad_estimates =
            parse_measurement(&benchmark_json("g", "f", "p", "null"), r#"{"median":{}}"#)
                .unwrap_err();
        assert!(format!("{bad_estimates:#}").contains("estimates.json"));
        let zero = parse_measurement(
            &benchmark_json("g", "f", "p", "null"),
            &estimates_json(0.0, 0.0, 0.0),
        )
        .unwrap_err();
        assert!(zero.to_string().contains("positive"), "{zero}");
        let unknown = parse_measurement(
            &benchmark_json("g", "f", "p", r#"{"Furlongs":3}"#),
            &estimates_json(1.0, 1.0, 1.0),
        )
        .unwrap_err();
        assert!(
            format!("{unknown:#}").contains("unknown throughput"),
            "{unknown:#}"
        );
    }

    #[test]
    fn formats_times_rates_and_ratios() {
        assert_eq!(format_time(813.4), "813 ns");
        assert_eq!(format_time(0.412), "0.412 ns");
        assert_eq!(format_time(1_234.0), "1.23 µs");
        assert_eq!(format_time(45_600_000.0), "45.6 ms");
        assert_eq!(format_time(2.5e9), "2.50 s");
        assert_eq!(format_rate(1.23e6, ""), "1.23 M/s");
        assert_eq!(format_rate(456e6, "B"), "456 MB/s");
        assert_eq!(format_rate(12.0, ""), "12.0/s");
        assert_eq!(format_rate(999_960.0, ""), "1.00 M/s");
        assert_eq!(format_time(999.7), "1.00 µs");
        assert_eq!(format_time(99.996), "100 ns");
        assert_eq!(format_ratio(3.1, 1.0), "3.1x faster");
        assert_eq!(format_ratio(8.0, 10.0), "0.8x (slower)");
        assert_eq!(format_ratio(1.02, 1.0), "1.0x (on par)");
        assert_eq!(
            format_mean(&Estimate {
                point_ns: 1_234.0,
                lower_ns: 1_200.0,
                upper_ns: 1_270.0,
                confidence_level: 0.95
            }),
            "1.23 µs (1.20–1.27)"
        );
        assert_eq!(
            format_mean(&Estimate {
                point_ns: 50.0,
                lower_ns: 49.0,
                upper_ns: 51.0,
                confidence_level: 0.9
            }),
            "50.0 ns (90% CI 49.0–51.0)"
        );
    }

    #[test]
    fn throughput_cell_shows_rate_and_time_per_element() {
        // 1000 elements in 813 µs: 1.23 M elements/s, 813 ns each.
        assert_eq!(
            format_throughput(Some(Throughput::Elements(1000)), 813_000.0),
            "1.23 M/s (813 ns/elem)"
        );
        assert_eq!(
            format_throughput(Some(Throughput::Bytes(4096)), 1_000.0),
            "4.10 GB/s (0.244 ns/B)"
        );
        assert_eq!(
            format_throughput(
                Some(Throughput::ElementsAndBytes {
                    elements: 10,
                    bytes: 4900
                }),
                10_000.0
            ),
            "1.00 M/s, 490 MB/s (1.00 µs/elem)"
        );
        assert_eq!(format_throughput(None, 10.0), "—");
        assert_eq!(
            format_throughput(Some(Throughput::Elements(0)), 10.0),
            "0.000/s"
        );
    }

    #[test]
    fn group_table_compares_each_function_with_the_peer_of_the_same_parameter() {
        let measurements = vec![
            measurement(
                "ratio_sampler",
                "peer_sdk_trace_id_ratio",
                "1000",
                1000,
                30_000.0,
            ),
            measurement("ratio_sampler", "ours", "1000", 1000, 10_000.0),
            measurement("ratio_sampler", "ours", "100", 100, 1_250.0),
            measurement(
                "ratio_sampler",
                "peer_sdk_trace_id_ratio",
                "100",
                100,
                1_000.0,
            ),
            measurement("ratio_sampler", "no_peer_here", "7", 7, 700.0),
            measurement("other_group", "ours", "100", 100, 1.0),
        ];
        let table = render_group("ratio_sampler", &measurements, "2026-11-21 08:30 UTC");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "## ratio_sampler");
        assert_eq!(lines[2], "Measured 2026-11-21 08:30 UTC.");
        // Parameters in numeric order (7 < 100 < 1000), ours before the peer.
        assert_eq!(
            &lines[6..],
            &[
                "| `no_peer_here` | 7 | 700 ns (686–714) | 10.0 M/s (100 ns/elem) | — |",
                "| `ours` | 100 | 1.25 µs (1.23–1.27) | 80.0 M/s (12.5 ns/elem) | 0.8x (slower) |",
                "| `peer_sdk_trace_id_ratio` | 100 | 1.00 µs (0.980–1.02) | 100 M/s (10.0 ns/elem) | (peer) |",
                "| `ours` | 1000 | 10.0 µs (9.80–10.2) | 100 M/s (10.0 ns/elem) | 3.0x faster |",
                "| `peer_sdk_trace_id_ratio` | 1000 | 30.0 µs (29.4–30.6) | 33.3 M/s (30.0 ns/elem) | (peer) |",
            ]
        );
        assert!(!table.contains("other_group"));
    }

    #[test]
    fn several_peers_are_each_named() {
        let measurements = vec![
            measurement("g", "ours", "1", 1, 10.0),
            measurement("g", "peer_a", "1", 1, 20.0),
            measurement("g", "peer_b", "1", 1, 5.0),
        ];
        let table = render_group("g", &measurements, "now");
        assert!(
            table.contains("| 2.0x faster than `peer_a`; 0.5x (slower) than `peer_b` |"),
            "{table}"
        );
    }

    #[test]
    fn table_cells_escape_pipes() {
        let measurements = vec![measurement("g", "a|b", "x|y", 1, 10.0)];
        let table = render_group("g", &measurements, "now");
        assert!(table.contains("| `a\\|b` | x\\|y |"), "{table}");
    }

    #[test]
    fn cpu_model_reads_x86_and_arm_cpuinfo() {
        let x86 =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n";
        assert_eq!(
            cpu_model(x86).as_deref(),
            Some("Intel(R) Xeon(R) Processor")
        );
        let arm =
            "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n\nModel\t: Raspberry Pi 5\n";
        assert_eq!(cpu_model(arm).as_deref(), Some("Raspberry Pi 5"));
        assert_eq!(cpu_model("processor\t: 0\n"), None);
    }

    #[test]
    fn a_quick_run_says_so_in_the_header_and_in_each_group() {
        let info = RunInfo {
            command: "cargo xtask bench --quick".into(),
            date: "2026-11-21 08:30 UTC".into(),
            cpu: "test CPU".into(),
            cores: 2,
            rustc: "rustc test".into(),
            quick: true,
        };
        let header = render_header(&info);
        assert!(
            header.contains("`cargo xtask bench --quick` on 2026-11-21 08:30 UTC (quick: "),
            "{header}"
        );
        let measurement = parse_measurement(
            &benchmark_json("g", "f", "1", "null"),
            &estimates_json(100.0, 90.0, 110.0),
        )
        .unwrap();
        let document = build_document("", &info, &[measurement], Vec::new()).unwrap();
        assert!(
            document.contains("Measured 2026-11-21 08:30 UTC in a quick run (`--quick`"),
            "{document}"
        );
    }

    #[test]
    fn header_names_the_run_and_machine() {
        let header = render_header(&RunInfo {
            command: "cargo xtask bench sampling".into(),
            date: "2026-11-21 08:30 UTC".into(),
            cpu: "Intel(R) Xeon(R) Processor".into(),
            cores: 2,
            rustc: "rustc 1.95.0 (59807616e 2026-04-14)".into(),
            quick: false,
        });
        assert!(header.starts_with("# Benchmarks\n"));
        assert!(!header.contains("quick"), "{header}");
        for needle in [
            "`cargo xtask bench sampling` on 2026-11-21 08:30 UTC",
            "CPU: Intel(R) Xeon(R) Processor, 2 cores",
            "Compiler: rustc 1.95.0",
            "measured in one run",
        ] {
            assert!(header.contains(needle), "missing {needle:?} in {header}");
        }
    }

    #[test]
    fn merge_replaces_touched_sections_and_keeps_the_others() {
        let first = merge_document(
            "",
            "# Benchmarks v1\n",
            [
                (
                    group_key("sampling"),
                    "## sampling\nold sampling\n".to_owned(),
                ),
                (group_key("arrow"), "## arrow\nold arrow\n".to_owned()),
                (
                    notes_key("otlp-arrow-bytes"),
                    "### bytes per span\n| a |\n".to_owned(),
                ),
            ],
        )
        .unwrap();
        let second = merge_document(
            &first,
            "# Benchmarks v2\n",
            [(
                group_key("sampling"),
                "## sampling\nnew sampling\n".to_owned(),
            )],
        )
        .unwrap();
        assert_eq!(
            second,
            "<!-- xtask-bench begin header -->\n# Benchmarks v2\n<!-- xtask-bench end header -->\n\
             \n<!-- xtask-bench begin group:arrow -->\n## arrow\nold arrow\n<!-- xtask-bench end group:arrow -->\n\
             \n<!-- xtask-bench begin group:sampling -->\n## sampling\nnew sampling\n<!-- xtask-bench end group:sampling -->\n\
             \n<!-- xtask-bench begin notes:otlp-arrow-bytes -->\n### bytes per span\n| a |\n<!-- xtask-bench end notes:otlp-arrow-bytes -->\n"
        );
        // Merging nothing new is a fixed point apart from the header.
        assert_eq!(
            merge_document(&second, "# Benchmarks v2\n", []).unwrap(),
            second
        );
    }

    #[test]
    fn marker_keys_cannot_break_the_comment() {
        assert_eq!(group_key("a b-->c"), "group:a_b-__c");
        assert_eq!(
            notes_key("otlp-arrow-compression"),
            "notes:otlp-arrow-compression"
        );
    }

    #[test]
    fn broken_documents_are_reported_not_overwritten() {
        let unclosed = "<!-- xtask-bench begin group:a -->\nrows\n";
        let error = parse_sections(unclosed).unwrap_err();
        assert!(error.to_string().contains("never closed"), "{error}");
        let crossed = "<!-- xtask-bench begin group:a -->\n<!-- xtask-bench end group:b -->\n";
        let error = parse_sections(crossed).unwrap_err();
        assert!(
            error.to_string().contains("closes section `group:b`"),
            "{error}"
        );
        let nested = "<!-- xtask-bench begin group:a -->\n<!-- xtask-bench begin group:b -->\n";
        assert!(parse_sections(nested).is_err());
    }
}
