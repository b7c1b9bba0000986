//! Collectors as real `otlp-suite` processes on loopback: start one from a config, signal it, scrape its
//! self-metrics, wait for a condition on them, and read what its `file` exporter wrote.
#![allow(dead_code)]

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;
use tonic_types::StatusExt;

pub const BINARY: &str = env!("CARGO_BIN_EXE_otlp-suite");

/// How long a condition may take before a test fails: generous, the machine is shared.
pub const PATIENCE: Duration = Duration::from_secs(90);

pub fn free_port() -> u16 {
    otlp_testkit::net::free_port().unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// One `otlp-suite collect` process with an OTLP/gRPC receiver and a metrics endpoint on free ports. Killed if the
/// test ends without stopping it.
pub struct Collector {
    pub name: String,
    pub grpc: u16,
    pub metrics: u16,
    /// Its own directory: config, log, and the files it writes.
    pub dir: PathBuf,
    child: Child,
}

impl Collector {
    /// Starts a collector from `config`, in which `{grpc}`, `{metrics}` and `{dir}` stand for its gRPC port,
    /// metrics port and directory; returns once it accepts connections.
    pub async fn start(name: &str, parent: &Path, config: &str) -> Collector {
        Collector::start_on(name, parent, config, free_port()).await
    }

    /// Like [`start`](Self::start), with the gRPC port given: a destination others were told about before it
    /// started.
    pub async fn start_on(name: &str, parent: &Path, config: &str, grpc: u16) -> Collector {
        Collector::launch(name, parent, config, grpc, &[]).await
    }

    /// Like [`start`](Self::start), with `env` added to the process's environment.
    pub async fn start_with_env(
        name: &str,
        parent: &Path,
        config: &str,
        env: &[(&str, &str)],
    ) -> Collector {
        Collector::launch(name, parent, config, free_port(), env).await
    }

    async fn launch(
        name: &str,
        parent: &Path,
        config: &str,
        grpc: u16,
        env: &[(&str, &str)],
    ) -> Collector {
        let dir = parent.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let metrics = free_port();
        let serves_metrics = config.contains("{metrics}");
        let config = config
            .replace("{grpc}", &grpc.to_string())
            .replace("{metrics}", &metrics.to_string())
            .replace("{dir}", &dir.display().to_string());
        let config_path = dir.join("config.yaml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.join("collector.log")).unwrap();
        // A config shared by several collectors (a fleet's document) finds their ports and directory here.
        let child = Command::from(otlp_testkit::process::command(BINARY))
            .args(["collect", "--config"])
            .arg(&config_path)
            .env("COLLECTOR_GRPC", grpc.to_string())
            .env("COLLECTOR_METRICS", metrics.to_string())
            .env("COLLECTOR_DIR", &dir)
            .envs(env.iter().copied())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let collector = Collector {
            name: name.to_owned(),
            grpc,
            metrics,
            dir,
            child,
        };
        // The self-metrics listener binds after the receivers: a test that scrapes right after the start (a
        // restart under emulation, say) would otherwise find nothing there yet.
        let ports = if serves_metrics {
            vec![grpc, metrics]
        } else {
            vec![grpc]
        };
        let started = Instant::now();
        for port in ports {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                assert!(
                    started.elapsed() < PATIENCE,
                    "{name} did not start listening on {port}:\n{}",
                    collector.log()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        collector
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.grpc)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("collector.log")).unwrap_or_default()
    }

    /// Its resident memory now (VmRSS from /proc), `None` once it has exited.
    pub fn resident_bytes(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`, `TERM`).
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the process is running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// SIGKILL, and waits until the process is gone.
    pub async fn kill(&mut self) {
        self.signal("KILL");
        self.child.wait().await.unwrap();
    }

    /// SIGTERM, and waits until the collector has drained and exited cleanly.
    pub async fn stop(mut self) {
        self.signal("TERM");
        let exit = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not stop:\n{}", self.name, self.log()))
            .unwrap();
        assert!(
            exit.success(),
            "{} exited with {exit}:\n{}",
            self.name,
            self.log()
        );
    }

    /// Its self-metrics now.
    pub async fn scrape(&self) -> Metrics {
        let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", self.metrics))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Metrics::parse(&text)
    }

    /// Scrapes until `condition` holds, and returns the metrics it held on.
    pub async fn wait_for(&self, what: &str, condition: impl Fn(&Metrics) -> bool) -> Metrics {
        let started = Instant::now();
        loop {
            let metrics = self.scrape().await;
            if condition(&metrics) {
                return metrics;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{}: {what} did not happen; metrics:\n{metrics:?}\nlog:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every span the collector's `file` exporter wrote to `traces.binpb` (length-prefixed protobuf). A collector
    /// killed while writing may have left its last record cut short: with `killed`, that record is skipped (its
    /// request was never answered, so its sender retried it elsewhere).
    pub fn written_spans(&self, killed: bool) -> Vec<Span> {
        read_spans(&self.dir.join("traces.binpb"), killed)
    }
}

/// Prometheus text as `series → value`, where a series is `name{labels}` exactly as rendered.
#[derive(Debug, Default)]
pub struct Metrics(BTreeMap<String, f64>);

impl Metrics {
    fn parse(text: &str) -> Metrics {
        Metrics(
            text.lines()
                .filter(|line| !line.starts_with('#') && !line.is_empty())
                .filter_map(|line| {
                    let (series, value) = line.rsplit_once(' ')?;
                    Some((series.to_owned(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    /// The value of one series, 0 when absent.
    pub fn get(&self, series: &str) -> u64 {
        self.0.get(series).copied().unwrap_or(0.0) as u64
    }

    /// The sum of every series of metric `name`.
    pub fn total(&self, name: &str) -> u64 {
        self.0
            .iter()
            .filter(|(series, _)| {
                series
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('{'))
            })
            .map(|(_, value)| *value as u64)
            .sum()
    }
}

pub fn read_spans(path: &Path, tolerate_cut_tail: bool) -> Vec<Span> {
    read_requests(path, tolerate_cut_tail)
        .into_iter()
        .flat_map(|request| request.resource_spans)
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect()
}

/// The requests a `file` exporter with `format: proto` wrote to `path` (each prefixed by its big-endian u32 length).
pub fn read_requests(path: &Path, tolerate_cut_tail: bool) -> Vec<ExportTraceServiceRequest> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut rest = bytes.as_slice();
    let mut requests = Vec::new();
    while !rest.is_empty() {
        let complete = rest.len() >= 4 && {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            rest.len() >= 4 + len
        };
        if !complete {
            assert!(
                tolerate_cut_tail,
                "{} ends with a cut record",
                path.display()
            );
            break;
        }
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        requests.push(ExportTraceServiceRequest::decode(&rest[4..4 + len]).unwrap());
        rest = &rest[4 + len..];
    }
    requests
}

/// An OTLP/gRPC client that resends a refused request after the collector's `RetryInfo`, as OTLP exporters do.
pub struct Client(TraceServiceClient<tonic::transport::Channel>);

impl Client {
    pub async fn connect(port: u16) -> Client {
        Client(
            TraceServiceClient::connect(format!("http://127.0.0.1:{port}"))
                .await
                .unwrap(),
        )
    }

    /// Sends `request` until the collector accepts it.
    pub async fn send(&mut self, request: &ExportTraceServiceRequest) {
        let started = Instant::now();
        loop {
            match self.0.export(request.clone()).await {
                Ok(_) => return,
                Err(status) => {
                    let retryable = matches!(
                        status.code(),
                        tonic::Code::ResourceExhausted | tonic::Code::Unavailable
                    );
                    assert!(
                        retryable && started.elapsed() < PATIENCE,
                        "the collector refused a request: {status:?}"
                    );
                    let wait = status
                        .get_details_retry_info()
                        .and_then(|info| info.retry_delay)
                        .unwrap_or(Duration::from_millis(100))
                        .min(Duration::from_secs(1));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

impl Client {
    /// Like [`send`](Self::send), and also resends a request whose connection failed before the collector answered
    /// (a GOAWAY or reset while the collector restarts its receivers): such a request was not processed, so
    /// resending it cannot duplicate data — which the tests using this check by counting what was written.
    pub async fn send_across_restarts(&mut self, request: &ExportTraceServiceRequest) {
        let started = Instant::now();
        loop {
            match self.0.export(request.clone()).await {
                Ok(_) => return,
                Err(status) => {
                    let transport = std::error::Error::source(&status)
                        .is_some_and(|source| source.is::<tonic::transport::Error>());
                    let retryable = transport
                        || matches!(
                            status.code(),
                            tonic::Code::ResourceExhausted | tonic::Code::Unavailable
                        );
                    assert!(
                        retryable && started.elapsed() < PATIENCE,
                        "the collector refused a request: {status:?}"
                    );
                    let wait = status
                        .get_details_retry_info()
                        .and_then(|info| info.retry_delay)
                        .unwrap_or(Duration::from_millis(50))
                        .min(Duration::from_secs(1));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// `(trace id, span id)` of a span.
pub fn span_key(span: &Span) -> (Vec<u8>, Vec<u8>) {
    (span.trace_id.clone(), span.span_id.clone())
}
