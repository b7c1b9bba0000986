//! The `otlp-suite` binary as an operator uses it: `validate` explains a bad config, `collect` serves until SIGTERM
//! and then drains, and `loadgen` against `collect` delivers every span it reports as sent.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_otlp-suite");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
    let output = Command::new(BINARY)
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("exporters.debug.verbosty"), "{stderr}");
    assert!(stderr.contains("unknown field `verbosty`"), "{stderr}");

    let output = Command::new(BINARY)
        .args(["validate", "--config", "/does/not/exist.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read config file"));
}

#[test]
fn validate_accepts_the_default_config() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BINARY).arg("default-config").output().unwrap();
    assert!(output.status.success());
    let path = dir.path().join("default.yaml");
    std::fs::write(&path, &output.stdout).unwrap();
    let output = Command::new(BINARY)
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
    let mut collector = Command::new(BINARY)
        .args(["collect", "--config"])
        .arg(&config)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the collector did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut sent = 0;
    for protocol in ["grpc", "http"] {
        let port = if protocol == "grpc" { grpc } else { http };
        let output = Command::new(BINARY)
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

    let scraped = reqwest::blocking::get(format!("http://127.0.0.1:{metrics}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        scraped.contains("otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"}")
    );

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
    assert!(exit.success(), "{stderr}");
    assert!(stderr.contains("shut down cleanly"), "{stderr}");
    assert_eq!(count_spans_in(&dir.path().join("traces.binpb")), sent);
}
