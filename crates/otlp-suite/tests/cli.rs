//! The `otlp-suite` binary as an operator uses it: `validate` explains a bad config, `collect` serves until SIGTERM
//! and then drains, and `loadgen` against `collect` delivers every span it reports as sent.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_otlp-suite");

fn free_port() -> u16 {
    otlp_testkit::net::free_port().unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// Waits until the collector accepts connections on `port`.
fn wait_until_listening(port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the collector did not start listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `otlp-suite collect` on `yaml`, written to `dir/collector.yaml`, once it listens on `grpc`; its log goes to
/// `stderr`.
fn collect(dir: &Path, yaml: &str, grpc: u16, stderr: Stdio) -> std::process::Child {
    let config = dir.join("collector.yaml");
    std::fs::write(&config, yaml).unwrap();
    let collector = otlp_testkit::process::command(BINARY)
        .args(["collect", "--config"])
        .arg(&config)
        .stderr(stderr)
        .spawn()
        .unwrap();
    wait_until_listening(grpc);
    collector
}

/// `otlp-suite loadgen` with `args` against `endpoint`, which must succeed.
fn loadgen(endpoint: String, args: &[&str]) {
    let output = otlp_testkit::process::command(BINARY)
        .args(["loadgen", "--no-progress", "--endpoint", &endpoint])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Sends the collector SIGTERM, as an operator's `kill` or a container runtime does, and waits for it to drain and
/// exit: its exit status and its log (stderr, piped).
fn terminate(collector: &mut std::process::Child) -> (std::process::ExitStatus, String) {
    let status = Command::new("kill")
        .args(["-TERM", &collector.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = collector.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the collector did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    collector
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (exit, stderr)
}

#[test]
fn validate_names_the_bad_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "receivers: { otlp: { protocols: { grpc: } } }\nexporters: { debug: { verbosty: basic } }\n\
         service: { pipelines: { traces: { receivers: [otlp], exporters: [debug] } } }\n",
    )
    .unwrap();
    let output = otlp_testkit::process::command(BINARY)
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("exporters.debug.verbosty"), "{stderr}");
    assert!(stderr.contains("unknown field `verbosty`"), "{stderr}");

    let output = otlp_testkit::process::command(BINARY)
        .args(["validate", "--config", "/does/not/exist.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read config file"));
}

#[test]
fn validate_accepts_a_production_pipeline_with_the_ottl_processors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("production.yaml");
    std::fs::write(
        &path,
        r#"
receivers: { otlp: { protocols: { grpc: {}, http: {} } } }
processors:
  memory_limiter: { check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 15 }
  batch: {}
  resource:
    attributes:
      - { key: deployment.environment, value: production, action: upsert }
  attributes:
    actions:
      - { key: http.request.header.authorization, action: delete }
  filter:
    error_mode: ignore
    traces:
      span:
        - 'attributes["http.route"] == "/health"'
  transform:
    error_mode: ignore
    trace_statements:
      - context: span
        statements:
          - set(attributes["whose_fault"], "ours") where attributes["http.response.status_code"] >= 500
exporters: { debug: }
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, resource, attributes, filter, transform, batch]
      exporters: [debug]
"#,
    )
    .unwrap();
    let output = otlp_testkit::process::command(BINARY)
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("6 processors"));
}

#[test]
fn validate_reports_every_problem_at_once_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("three.yaml");
    std::fs::write(
        &path,
        r#"
receivers: { otlp: { protocols: { grpc: } } }
processors:
  k8sattributes: { auth_type: serviceAccount }
  batchh: {}
  transform:
    trace_statements:
      - set(span.attributes["whose_fault"], "ours") where span.attributes["http.response.status_code"] >= 500
      - set(span.attributes["team"], "cart") whre span.name == "GET /api/cart"
exporters: { debug: }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [k8sattributes, transform, batchh], exporters: [debug] }
"#,
    )
    .unwrap();
    let output = otlp_testkit::process::command(BINARY)
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("3 problems"), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": "))
        .skip(1)
        .collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    // In the order of the file.
    assert!(
        lines[0].contains(
            "at `processors.k8sattributes`: unknown processor type `k8sattributes`: an OpenTelemetry Collector \
             processor that otlp-suite does not have; there is no similar one here"
        ),
        "{stderr}"
    );
    assert!(
        lines[1].contains(
            "at `processors.batchh`: unknown processor type `batchh`; did you mean `batch`?"
        ),
        "{stderr}"
    );
    assert!(
        lines[2].contains("at `processors.transform.trace_statements[1]`: syntax error at column 38: expected `where`"),
        "{stderr}"
    );
}

#[test]
fn a_worker_count_that_is_not_a_number_above_0_is_refused_before_anything_starts() {
    for value in ["abc", "0", "-1"] {
        let output = otlp_testkit::process::command(BINARY)
            .env("TOKIO_WORKER_THREADS", value)
            .args(["validate", "--config", "/does/not/exist.yaml"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "TOKIO_WORKER_THREADS must be a number of worker threads above 0, not \"{value}\""
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stderr.contains("cannot read config file"), "{stderr}");
    }
}

#[test]
fn collect_logs_json_lines_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "exporters: { file: { path: \"\" } }\n").unwrap();
    let output = otlp_testkit::process::command(BINARY)
        .args(["--log-format", "json", "collect", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the config error is logged");
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert_eq!(event["level"], "ERROR", "{line}");
        assert!(
            event["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("invalid config")),
            "{line}"
        );
    }
}

#[test]
fn validate_accepts_the_default_config() {
    let dir = tempfile::tempdir().unwrap();
    let output = otlp_testkit::process::command(BINARY)
        .arg("default-config")
        .output()
        .unwrap();
    assert!(output.status.success());
    let path = dir.path().join("default.yaml");
    std::fs::write(&path, &output.stdout).unwrap();
    let output = otlp_testkit::process::command(BINARY)
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("3 pipelines"));
}

/// An unset `${env:VAR}` becomes an empty string, as in otelcol, and the operator is told so: by `validate`, and in
/// the collector's log, which is set up from the config and so only after the config was read.
#[test]
fn an_unset_variable_is_a_warning_from_validate_and_from_collect() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, metrics) = (free_port(), free_port());
    let path = dir.path().join("unset.yaml");
    std::fs::write(
        &path,
        format!(
            r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
processors:
  attributes:
    actions:
      - {{ key: deployment.environment, value: "${{env:OTLP_SUITE_TEST_NEVER_SET}}", action: insert }}
exporters: {{ debug: }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [attributes], exporters: [debug] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:{metrics}" }}
"#
        ),
    )
    .unwrap();
    let warning =
        "environment variable `OTLP_SUITE_TEST_NEVER_SET` is not set; using an empty string";

    let output = otlp_testkit::process::command(BINARY)
        .env_remove("OTLP_SUITE_TEST_NEVER_SET")
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: at `processors.attributes.actions[0].value`: {warning}"
        )),
        "{stderr}"
    );

    let mut collector = otlp_testkit::process::command(BINARY)
        .env_remove("OTLP_SUITE_TEST_NEVER_SET")
        .args(["collect", "--config"])
        .arg(&path)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_listening(grpc);
    let (exit, stderr) = terminate(&mut collector);
    assert!(exit.success(), "{stderr}");
    assert!(
        stderr.contains("environment variable is not set; using an empty string")
            && stderr.contains("variable=OTLP_SUITE_TEST_NEVER_SET")
            && stderr.contains("at=processors.attributes.actions[0].value"),
        "{stderr}"
    );
}

/// `otlp-suite default-config | head -1`: the reader goes away before the output ends. The command stops quietly and
/// succeeds, as `cat` would, instead of panicking on the closed pipe.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = otlp_testkit::process::command(BINARY)
        .arg("default-config")
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

fn count_spans_in(path: &Path) -> usize {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    let bytes = std::fs::read(path).unwrap();
    let mut rest = bytes.as_slice();
    let mut spans = 0;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let request = ExportTraceServiceRequest::decode(&rest[4..4 + len]).unwrap();
        spans += otlp_testkit::span_count(&request);
        rest = &rest[4 + len..];
    }
    spans
}

#[test]
fn loadgen_against_collect_delivers_every_span_and_sigterm_drains() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, http, metrics) = (free_port(), free_port(), free_port());
    let config = dir.path().join("collector.yaml");
    std::fs::write(
        &config,
        format!(
            r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}" }}
      http: {{ endpoint: "127.0.0.1:{http}" }}
processors:
  memory_limiter: {{ check_interval: 1s, limit_percentage: 90, spike_limit_percentage: 10 }}
  batch: {{}}
exporters:
  file: {{ path: "{}/traces.binpb", format: proto }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [memory_limiter, batch], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:{metrics}" }}
"#,
            dir.path().display()
        ),
    )
    .unwrap();
    // One runtime worker, as docs/operations.md suggests for small shared hosts: everything below holds on it too.
    let mut collector = otlp_testkit::process::command(BINARY)
        .env("TOKIO_WORKER_THREADS", "1")
        .args(["collect", "--config"])
        .arg(&config)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_listening(grpc);

    let mut sent = 0;
    for protocol in ["grpc", "http"] {
        let port = if protocol == "grpc" { grpc } else { http };
        let output = otlp_testkit::process::command(BINARY)
            .args(["loadgen", "--protocol", protocol, "--endpoint"])
            .arg(format!("http://127.0.0.1:{port}"))
            .args([
                "--rate",
                "20000",
                "--duration",
                "1s",
                "--spans-per-request",
                "100",
                "--no-progress",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = String::from_utf8_lossy(&output.stdout);
        let spans: usize = report
            .split_whitespace()
            .skip_while(|w| *w != "sent")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no span count in {report}"));
        assert!(spans > 0, "{report}");
        sent += spans;
    }

    // Sent where no OTLP path is, every request fails, and the report says why, not only how many.
    let output = otlp_testkit::process::command(BINARY)
        .args(["loadgen", "--protocol", "http", "--endpoint"])
        .arg(format!("http://127.0.0.1:{metrics}"))
        .args(["--duration", "200ms", "--no-progress"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("; first failure: HTTP 404 Not Found"),
        "{report}"
    );

    let scraped = reqwest::blocking::get(format!("http://127.0.0.1:{metrics}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        scraped.contains("otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"}")
    );

    let (exit, stderr) = terminate(&mut collector);
    assert!(exit.success(), "{stderr}");
    assert!(stderr.contains("shut down cleanly"), "{stderr}");
    assert!(
        stderr.contains("workers=1"),
        "the startup line gives the worker count: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "stderr is a pipe, so the log has no colour codes: {stderr:?}"
    );
    assert_eq!(count_spans_in(&dir.path().join("traces.binpb")), sent);
}

#[test]
fn inspect_summarises_flat_files_prints_a_trace_and_reports_a_corrupt_file() {
    use otlp_arrow::flat::{FlatParquetWriter, ParquetOptions};
    use otlp_arrow::{AnyRequest, Signal};
    let dir = tempfile::tempdir().unwrap();
    let partition = dir.path().join("traces/date=2026-12-01/hour=16");
    std::fs::create_dir_all(&partition).unwrap();
    let mut generator = otlp_testkit::Generator::new(99)
        .with_error_rate(0.3)
        .unwrap();
    let requests: Vec<_> = (0..3).map(|_| generator.whole_traces(400)).collect();
    let file = std::fs::File::create(partition.join("part-1.parquet")).unwrap();
    // Small row groups, so the trace lookup has groups to skip.
    let options = ParquetOptions::default().with_max_row_group_rows(256);
    let mut writer = FlatParquetWriter::new(file, Signal::Traces, options).unwrap();
    for request in &requests {
        writer.write(&AnyRequest::Traces(request.clone())).unwrap();
    }
    writer.finish().unwrap();
    let spans: Vec<_> = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    let errors = spans
        .iter()
        .filter(|s| s.status.as_ref().is_some_and(|st| st.code == 2))
        .count();

    let output = otlp_testkit::process::command(BINARY)
        .arg("inspect")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("1 files: {} spans", spans.len())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("({errors} with status ERROR)")),
        "{stdout}"
    );
    assert!(stdout.contains("frontend"), "services are listed: {stdout}");

    // One trace as a tree: its root first, every span once.
    let root = spans.iter().find(|s| s.parent_span_id.is_empty()).unwrap();
    let trace_id: String = root.trace_id.iter().map(|b| format!("{b:02x}")).collect();
    let in_trace = spans.iter().filter(|s| s.trace_id == root.trace_id).count();
    let output = otlp_testkit::process::command(BINARY)
        .arg("inspect")
        .arg(dir.path())
        .args(["--trace-id", &trace_id])
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{tree}");
    let lines: Vec<&str> = tree.lines().collect();
    assert_eq!(lines[0], format!("trace {trace_id}: {in_trace} spans"));
    assert_eq!(lines.len(), in_trace + 1);
    assert!(
        lines[1].starts_with(&root.name),
        "the root comes first, unindented: {tree}"
    );
    assert!(
        lines[2..].iter().all(|l| l.starts_with("  ")),
        "children are indented: {tree}"
    );

    // A typo in the id names the bad character, and reads no file.
    let typo = format!("{}g{}", &trace_id[..5], &trace_id[6..]);
    let output = otlp_testkit::process::command(BINARY)
        .arg("inspect")
        .arg(dir.path())
        .args(["--trace-id", &typo])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!(
            "`{typo}` is not 32 hex digits: invalid hex digit 0x67 at index 5"
        )),
        "{stderr}"
    );

    // A truncated file is reported with its path (what precedes the cut is still counted); the good one is still
    // summarised, and the exit code says something was wrong.
    let good = std::fs::read(partition.join("part-1.parquet")).unwrap();
    std::fs::write(partition.join("part-2.parquet"), &good[..good.len() / 2]).unwrap();
    let output = otlp_testkit::process::command(BINARY)
        .arg("inspect")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout.starts_with(&format!("1 files: {} spans", spans.len())),
        "{stdout}"
    );
    let unreadable = stdout
        .lines()
        .find(|l| l.starts_with("unreadable: "))
        .unwrap_or_default();
    assert!(unreadable.contains("part-2.parquet"), "{stdout}");
}

/// A mistyped path, and a directory whose files are all still being written (a newcomer running `inspect` right
/// after sending), each get an error that says so instead of an empty summary.
#[test]
fn inspect_explains_a_missing_path_and_a_directory_with_nothing_completed() {
    let dir = tempfile::tempdir().unwrap();
    let inspect = |path: &Path| {
        let output = otlp_testkit::process::command(BINARY)
            .arg("inspect")
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert!(output.stdout.is_empty(), "no summary of nothing");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let missing = dir.path().join("otlp-dat");
    let stderr = inspect(&missing);
    assert!(
        stderr.contains(&format!("{}: No such file or directory", missing.display())),
        "{stderr}"
    );
    let partition = dir.path().join("traces/date=2026-12-05/hour=23");
    std::fs::create_dir_all(&partition).unwrap();
    let stderr = inspect(dir.path());
    assert!(
        stderr.contains("no Parquet or Arrow files in this directory or below it"),
        "{stderr}"
    );
    std::fs::write(partition.join(".part-1.parquet.partial"), b"PAR1").unwrap();
    let stderr = inspect(dir.path());
    assert!(
        stderr.contains("no completed Parquet or Arrow files yet, 1 still being written"),
        "{stderr}"
    );
}

/// Completed Parquet files under `dir`, and partial ones, recursively.
fn parquet_files(dir: &Path) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    let (mut complete, mut partial) = (Vec::new(), Vec::new());
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".parquet") {
                complete.push(path);
            } else if name.ends_with(".partial") {
                partial.push(path);
            }
        }
    }
    (complete, partial)
}

#[test]
fn a_collector_killed_mid_file_leaves_every_completed_file_readable() {
    let dir = tempfile::tempdir().unwrap();
    let grpc = free_port();
    let yaml = format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:{grpc}" }} }} }}
processors:
  batch: {{ timeout: 20ms }}
exporters:
  file: {{ path: "{}/otlp-data", format: parquet, rotation: {{ max_age: 300ms }} }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        dir.path().display()
    );
    let mut collector = collect(dir.path(), &yaml, grpc, Stdio::null());
    // Load long enough for files to complete by age while one is always open.
    loadgen(
        format!("http://127.0.0.1:{grpc}"),
        &["--rate", "20000", "--duration", "2s"],
    );
    collector.kill().unwrap();
    collector.wait().unwrap();

    let (complete, partial) = parquet_files(&dir.path().join("otlp-data"));
    assert!(!complete.is_empty(), "files completed while running");
    let mut rows = 0;
    for file in &complete {
        let read =
            otlp_arrow::flat::FlatParquetReader::read_all(std::fs::File::open(file).unwrap())
                .unwrap_or_else(|e| panic!("{} is not readable: {e}", file.display()));
        rows += otlp_model_items(&read);
    }
    assert!(rows > 0);
    // What was being written when the process died is a hidden partial file that no `*.parquet` glob matches.
    for file in partial {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with('.') && !name.ends_with(".parquet"),
            "{name}"
        );
    }
}

fn otlp_model_items(request: &otlp_arrow::AnyRequest) -> usize {
    match request {
        otlp_arrow::AnyRequest::Traces(r) => otlp_testkit::span_count(r),
        otlp_arrow::AnyRequest::Metrics(r) => otlp_testkit::data_point_count(r),
        otlp_arrow::AnyRequest::Logs(r) => otlp_testkit::log_record_count(r),
    }
}

#[test]
fn loadgen_headers_reach_a_collector_that_keeps_its_clients_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, http) = (free_port(), free_port());
    let yaml = format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}", include_metadata: true }}
      http: {{ endpoint: "127.0.0.1:{http}", include_metadata: true }}
processors:
  attributes:
    actions:
      - {{ key: tenant, from_context: metadata.x-scope-orgid, action: insert }}
exporters:
  file: {{ path: "{}/traces.jsonl", format: json }}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [attributes], exporters: [file] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        dir.path().display()
    );
    let mut collector = collect(dir.path(), &yaml, grpc, Stdio::piped());
    for (protocol, port, tenant) in [("grpc", grpc, "acme"), ("http", http, "globex")] {
        let header = format!("X-Scope-OrgID={tenant}");
        loadgen(
            format!("http://127.0.0.1:{port}"),
            &[
                "--protocol",
                protocol,
                "--rate",
                "2000",
                "--duration",
                "500ms",
                "--header",
                &header,
            ],
        );
    }
    let (exit, stderr) = terminate(&mut collector);
    assert!(exit.success(), "{stderr}");
    let written = std::fs::read_to_string(dir.path().join("traces.jsonl")).unwrap();
    let mut tenants = std::collections::BTreeMap::new();
    for line in written.lines() {
        let request: serde_json::Value = serde_json::from_str(line).unwrap();
        for span in request["resourceSpans"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["scopeSpans"].as_array().into_iter().flatten())
            .flat_map(|s| s["spans"].as_array().into_iter().flatten())
        {
            let tenant = span["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["key"] == "tenant")
                .and_then(|a| a["value"]["stringValue"].as_str())
                .unwrap_or("none")
                .to_owned();
            *tenants.entry(tenant).or_insert(0) += 1;
        }
    }
    let found: Vec<&String> = tenants.keys().collect();
    assert_eq!(found, ["acme", "globex"], "{tenants:?}");
}
