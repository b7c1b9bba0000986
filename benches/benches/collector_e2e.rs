//! The collector as operators run it: the release `otlp-suite` binary on loopback, driven by `otlp-suite loadgen`
//! (a separate process), with the collector's CPU time and peak memory read from /proc. Four configs: the
//! embedded default (files), OTLP→OTLP forwarding (to a discarding gRPC sink in this process), tail sampling
//! with 10 policies, and a trace-aware front (the `loadbalancing` exporter splitting every batch by trace id
//! between two such sinks); each at full speed (`--max`) and at a fixed rate, every row in each of [`ROUNDS`] rounds. The
//! peer is the floor: prost's decode of the same kind of requests, measured in this process in the same run; beside
//! it, what receiving alone costs (the sink driven by the same load, its thread's CPU) and what sending alone costs
//! (`send_floor.rs`), both in every round. Last, tail sampling's memory: a `decision_wait` of 30 s at a rate that
//! fills it with about 100,000 spans, the collector's RSS read while it holds them.
//!
//! `cargo xtask bench collector_e2e` builds the release binary and passes it as `OTLP_SUITE_BIN`; run alone,
//! this builds it with the cargo that built the bench. `OTLP_LOADGEN_BIN` picks another binary for the load
//! generator (to measure an older collector under today's load), `OTLP_E2E_ROUNDS` the rounds. Figures go to
//! `$OTLP_BENCH_NOTES/collector-e2e.md`.

#[path = "collector_e2e/send_floor.rs"]
mod send_floor;

use bytes::Buf;
use otlp_benches::{encoded_trace_requests, process_cpu_time};
use prost::Message;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// The collector binary's allocator, so that the floor (prost's decode, in this process) is measured as the
// collector would decode: glibc's malloc made the floor half again as slow and the ratios against it look better.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Seconds of load per run.
const SECONDS: u64 = 10;
/// Rounds of every row: the host drifts by about 10% from minute to minute, more than most changes this bench is
/// run to see, so each row is run this many times, interleaved with the others, and reported as the median and
/// range of its rounds.
const ROUNDS: usize = 3;
/// The fixed rate, in spans per second: well below what the slowest config sustains on two cores.
const FIXED_RATE: u64 = 50_000;
const SPANS_PER_REQUEST: usize = 100;
/// What tokio's multi-threaded runtime reads for its worker count when the code sets none.
const WORKERS_ENV: &str = "TOKIO_WORKER_THREADS";
/// The memory scenario: spans per second and seconds of sending, so that `decision_wait` (30 s) holds about
/// 100,000 spans when the send ends and the first decisions are due.
const HOLD_RATE: u64 = 3_400;
const HOLD_SECONDS: u64 = 30;
/// Clock ticks per second of /proc's CPU counters (`CLK_TCK`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// `OTLP_BENCH_QUICK=1` (`cargo xtask bench --quick`): shorter loads, to see the bench run end to end.
fn quick() -> bool {
    std::env::var_os("OTLP_BENCH_QUICK").is_some_and(|value| value == "1")
}

/// Seconds of load per run: [`SECONDS`], 3 in a quick run.
fn seconds() -> u64 {
    if quick() { 3 } else { SECONDS }
}

/// Rounds of every row: `OTLP_E2E_ROUNDS`, else [`ROUNDS`], or one in a quick run.
fn rounds() -> usize {
    std::env::var("OTLP_E2E_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .filter(|rounds| *rounds > 0)
        .unwrap_or(if quick() { 1 } else { ROUNDS })
}

/// The memory scenario's rate and seconds: [`HOLD_RATE`] for [`HOLD_SECONDS`], or in a quick run three times the
/// rate for a third of the time, so that about as many spans are held.
fn hold_load() -> (u64, u64) {
    if quick() {
        (HOLD_RATE * 3, HOLD_SECONDS / 3)
    } else {
        (HOLD_RATE, HOLD_SECONDS)
    }
}

fn free_port() -> u16 {
    otlp_testkit::net::free_port().unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// The release binary: from `cargo xtask bench`, or built here.
fn suite_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("OTLP_SUITE_BIN") {
        return PathBuf::from(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "otlp-suite"])
        .current_dir(&workspace)
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(status.success(), "building the release binary failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    target.join("release").join("otlp-suite")
}

/// User + system CPU of a process so far, and its peak resident memory, from /proc.
fn process_usage(pid: u32) -> Option<(f64, u64)> {
    Some((
        cpu_seconds(Path::new(&format!("/proc/{pid}/stat")))?,
        memory_kib(pid, "VmHWM:")? * 1024,
    ))
}

/// User + system CPU seconds so far of the process or thread whose /proc `stat` file this is.
fn cpu_seconds(stat: &Path) -> Option<f64> {
    let stat = std::fs::read_to_string(stat).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / TICKS_PER_SECOND)
}

/// A memory figure of /proc/<pid>/status, in KiB.
fn memory_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The first sample of the metric `name` on the collector's Prometheus endpoint.
fn scrape_gauge(metrics: u16, name: &str) -> Option<f64> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", metrics)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    body.lines()
        .find(|line| line.starts_with(name))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

/// A collector process with its config in a temporary directory.
struct Running {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `otlp-suite collect` on `yaml`, with `workers` runtime worker threads (tokio's
/// `TOKIO_WORKER_THREADS`), or one per core when `None`.
fn start_collector(binary: &Path, yaml: &str, grpc: u16, workers: Option<usize>) -> Running {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}"));
    let yaml = yaml.replace("{dir}", &dir.path().display().to_string());
    let config = dir.path().join("collector.yaml");
    std::fs::write(&config, yaml).unwrap_or_else(|e| panic!("cannot write the config: {e}"));
    let log = std::fs::File::create(dir.path().join("collector.log"))
        .unwrap_or_else(|e| panic!("cannot create the log: {e}"));
    let mut command = Command::new(binary);
    match workers {
        Some(workers) => command.env(WORKERS_ENV, workers.to_string()),
        None => command.env_remove(WORKERS_ENV),
    };
    let child = command
        .args(["collect", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let running = Running { child, dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the collector did not listen; its log: {}",
            std::fs::read_to_string(running.dir.path().join("collector.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    running
}

/// Waits until the process has used no CPU for a second: what it accepted has been processed.
fn settle(pid: u32) -> (f64, u64) {
    let mut last = process_usage(pid).unwrap_or((0.0, 0));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = process_usage(pid).unwrap_or(last);
        if now.0 - last.0 < 0.02 || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

struct Outcome {
    spans_per_second: f64,
    p99_ms: f64,
    cpu_per_million: f64,
    peak_rss: u64,
    /// The highest RSS sampled while the load was being sent.
    sending_rss: u64,
    /// The tail sampler's buffered spans the moment the send ended, when asked for.
    held_when_sent: Option<f64>,
    refused: u64,
}

/// Where a pipeline config sends what it exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Destination {
    /// The `otlp` exporter, to the first sink.
    Sink,
    /// The `loadbalancing` exporter, routing by trace id between both sinks.
    TwoSinksByTraceId,
    /// The `otlp` exporter, to the first sink, and the `spanmetrics` connector, whose metrics a `debug` exporter
    /// takes (at the default flush interval, once at shutdown: the row measures the counting).
    SinkAndSpanMetrics,
    /// The same with the `servicegraph` connector, its store large enough for the requests waiting under this
    /// load (otelcol's default, 1000, would pair few of them).
    SinkAndServiceGraph,
    /// The same with the `count` connector, otelcol's default counts of spans and span events.
    SinkAndCount,
    /// The same with the `exceptions` connector, feeding a metrics and a logs pipeline.
    SinkAndExceptions,
}

impl Destination {
    /// The connectors section, the connectors the traces pipeline exports to besides `exporter`, and the
    /// pipelines they feed.
    fn connectors(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Destination::SinkAndSpanMetrics => (
                "connectors: { spanmetrics: }",
                ", spanmetrics",
                "    metrics: { receivers: [spanmetrics], exporters: [debug] }",
            ),
            Destination::SinkAndServiceGraph => (
                "connectors: { servicegraph: { store: { max_items: 100000 } } }",
                ", servicegraph",
                "    metrics: { receivers: [servicegraph], exporters: [debug] }",
            ),
            Destination::SinkAndCount => (
                "connectors: { count: }",
                ", count",
                "    metrics: { receivers: [count], exporters: [debug] }",
            ),
            Destination::SinkAndExceptions => (
                "connectors: { exceptions: }",
                ", exceptions",
                "    metrics: { receivers: [exceptions], exporters: [debug] }\n    logs: { receivers: [exceptions], exporters: [debug] }",
            ),
            Destination::Sink | Destination::TwoSinksByTraceId => ("", "", ""),
        }
    }

    /// The exporter's name and its config, for `sinks`' ports.
    fn exporter(self, sinks: [u16; 2]) -> (&'static str, String) {
        let [first, second] = sinks;
        match self {
            Destination::Sink => (
                "otlp",
                format!(r#"otlp: {{ endpoint: "http://127.0.0.1:{first}", compression: none }}"#),
            ),
            Destination::SinkAndSpanMetrics
            | Destination::SinkAndServiceGraph
            | Destination::SinkAndCount
            | Destination::SinkAndExceptions => (
                "otlp",
                format!(
                    r#"otlp: {{ endpoint: "http://127.0.0.1:{first}", compression: none }}
  debug: {{ verbosity: basic }}"#
                ),
            ),
            Destination::TwoSinksByTraceId => (
                "loadbalancing",
                format!(
                    r#"loadbalancing:
    protocol: {{ otlp: {{ tls: {{ insecure: true }}, compression: none }} }}
    resolver: {{ static: {{ hostnames: ["127.0.0.1:{first}", "127.0.0.1:{second}"] }} }}"#
                ),
            ),
        }
    }
}

/// One config under one load, and what each round measured of it.
struct Row {
    name: &'static str,
    /// The pipeline's processors, exporting to `destination`; `None` for the embedded default.
    processors: Option<&'static str>,
    destination: Destination,
    /// Spans per second, or `None` for `--max`.
    rate: Option<u64>,
    /// Runtime worker threads, or `None` for one per core.
    workers: Option<usize>,
    outcomes: Vec<Outcome>,
}

impl Row {
    fn load(&self) -> String {
        match (self.rate, self.workers) {
            (Some(rate), _) => format!("{rate}/s"),
            (None, None) => "max".to_owned(),
            (None, Some(workers)) => format!("max, {workers} runtime worker"),
        }
    }
}

/// The median of `values` (0 for none).
fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    Spread::of(values).median
}

/// The median and range of one figure over the rounds.
#[derive(Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut values: Vec<f64> = values.into_iter().collect();
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        let median = match values.len() {
            0 => 0.0,
            n if n % 2 == 1 => values[middle],
            _ => (values[middle - 1] + values[middle]) / 2.0,
        };
        Spread {
            median,
            min: values.first().copied().unwrap_or(0.0),
            max: values.last().copied().unwrap_or(0.0),
        }
    }
}

/// `median (min–max)` to hundredths, or the median alone when the rounds agree to them (one round).
impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if hundredths(self.min) == hundredths(self.max) {
            write!(f, "{:.2}", self.median)
        } else {
            write!(f, "{:.2} ({:.2}–{:.2})", self.median, self.min, self.max)
        }
    }
}

/// Where to read the tail sampler's buffered spans when the send ends.
#[derive(Clone, Copy)]
enum Held {
    NotAsked,
    At { metrics: u16 },
}

/// Runs `loadgen` against `port` (`--max` without a rate) and returns its JSON report.
fn loadgen(
    loadgen_binary: &Path,
    port: u16,
    (rate, seconds): (Option<u64>, u64),
) -> serde_json::Value {
    let mut loadgen = Command::new(loadgen_binary);
    loadgen
        .args(["loadgen", "--json", "--no-progress", "--endpoint"])
        .arg(format!("http://127.0.0.1:{port}"))
        .args(["--duration", &format!("{seconds}s")])
        .args(["--spans-per-request", &SPANS_PER_REQUEST.to_string()]);
    match rate {
        Some(rate) => loadgen.args(["--rate", &rate.to_string()]),
        None => loadgen.arg("--max"),
    };
    let output = loadgen
        .output()
        .unwrap_or_else(|e| panic!("cannot run loadgen: {e}"));
    assert!(
        output.status.success(),
        "loadgen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("loadgen printed no JSON ({e})"))
}

fn run_load(
    loadgen_binary: &Path,
    grpc: u16,
    pid: u32,
    (rate, seconds): (Option<u64>, u64),
    held: Held,
) -> Outcome {
    let (cpu_before, _) = process_usage(pid).unwrap_or((0.0, 0));
    let sending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sending = sending.clone();
        std::thread::spawn(move || {
            let mut highest = 0;
            while sending.load(std::sync::atomic::Ordering::Relaxed) {
                highest = highest.max(memory_kib(pid, "VmRSS:").unwrap_or(0) * 1024);
                std::thread::sleep(Duration::from_millis(100));
            }
            highest
        })
    };
    let report = loadgen(loadgen_binary, grpc, (rate, seconds));
    sending.store(false, std::sync::atomic::Ordering::Relaxed);
    let held_when_sent = match held {
        Held::NotAsked => None,
        Held::At { metrics } => {
            scrape_gauge(metrics, "otelcol_processor_tail_sampling_buffered_spans")
        }
    };
    let sending_rss = sampler.join().unwrap_or(0);
    let (cpu_after, peak_rss) = settle(pid);
    let spans = report["spans_sent"].as_u64().unwrap_or(0);
    Outcome {
        spans_per_second: report["spans_per_second"].as_f64().unwrap_or(0.0),
        p99_ms: report["latency_p99_seconds"].as_f64().unwrap_or(0.0) * 1e3,
        cpu_per_million: (cpu_after - cpu_before) * 1e6 / spans.max(1) as f64,
        peak_rss,
        sending_rss,
        held_when_sent,
        refused: report["requests_refused"].as_u64().unwrap_or(0),
    }
}

/// A gRPC server that takes every `TraceService/Export` and discards it without decoding: the forwarding
/// target, as cheap as a backend can be so the bench measures the collector.
mod sink {
    use super::Buf;
    use std::convert::Infallible;
    use std::sync::OnceLock;
    use std::task::{Context, Poll};
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
    use tonic::codegen::BoxFuture;

    #[derive(Default)]
    struct Discard;
    struct Skip;
    struct Empty;

    impl Codec for Discard {
        type Encode = ();
        type Decode = ();
        type Encoder = Empty;
        type Decoder = Skip;
        fn encoder(&mut self) -> Empty {
            Empty
        }
        fn decoder(&mut self) -> Skip {
            Skip
        }
    }

    impl Encoder for Empty {
        type Item = ();
        type Error = tonic::Status;
        fn encode(&mut self, _: (), _: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
            Ok(())
        }
    }

    /// Requests this long are a batch of the forwarding config's exporter, not a request of the load generator.
    const BATCH_BYTES: usize = 1 << 20;

    /// The first batch the sink took, as the collector sent it: what the sending floor sends again.
    pub(super) static FIRST_BATCH: OnceLock<Vec<u8>> = OnceLock::new();

    impl Decoder for Skip {
        type Item = ();
        type Error = tonic::Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
            let remaining = src.remaining();
            if remaining >= BATCH_BYTES && FIRST_BATCH.get().is_none() {
                let _ = FIRST_BATCH.set(src.copy_to_bytes(remaining).to_vec());
            } else {
                src.advance(remaining);
            }
            Ok(Some(()))
        }
    }

    struct Accept;

    impl tonic::server::UnaryService<()> for Accept {
        type Response = ();
        type Future = BoxFuture<tonic::Response<()>, tonic::Status>;
        fn call(&mut self, _: tonic::Request<()>) -> Self::Future {
            Box::pin(async { Ok(tonic::Response::new(())) })
        }
    }

    #[derive(Clone)]
    pub(super) struct Sink;

    impl tonic::server::NamedService for Sink {
        const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    }

    impl tower::Service<http::Request<tonic::body::Body>> for Sink {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = BoxFuture<Self::Response, Infallible>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
            Box::pin(async move {
                // Batches of 8192 loadgen spans come out near 4 MiB, about a sixth of them over tonic's default
                // limit, which it refuses with OUT_OF_RANGE; the OTLP exporter retries that code, so with the limit
                // the bench measured a retry loop (and its queue, 644 MB of RSS) instead of forwarding.
                let mut grpc =
                    tonic::server::Grpc::new(Discard).max_decoding_message_size(usize::MAX);
                Ok(grpc.unary(Accept, request).await)
            })
        }
    }
}

/// The discarding sink, serving on one runtime thread of this process.
struct Sink {
    port: u16,
    /// `/proc/self/task/<tid>/stat` of the thread that serves it, for its CPU time.
    thread_stat: PathBuf,
}

/// Starts the discarding sink on its own runtime thread.
fn start_sink() -> Sink {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    listener.set_nonblocking(true).ok();
    let (thread_tx, thread_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // `/proc/thread-self` names this thread as `<pid>/task/<tid>`.
        let _ = thread_tx.send(std::fs::read_link("/proc/thread-self"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)
                .unwrap_or_else(|e| panic!("listener: {e}"));
            // As gRPC servers do, so that Nagle's algorithm does not hold back the sink's small frames.
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            let _ = tonic::transport::Server::builder()
                .add_service(sink::Sink)
                .serve_with_incoming(incoming)
                .await;
        });
    });
    let thread = thread_rx
        .recv()
        .unwrap_or_else(|e| panic!("the sink thread did not start: {e}"))
        .unwrap_or_else(|e| panic!("/proc/thread-self: {e}"));
    Sink {
        port,
        thread_stat: Path::new("/proc").join(thread).join("stat"),
    }
}

/// What receiving alone costs: `loadgen --max` straight at the sink, which takes each request off HTTP/2 through
/// tonic and discards it without decoding. CPU per million spans of the sink's one thread, and the load's report:
/// the part of every gRPC receiver's cost that is tonic, hyper, h2 and the kernel, before any OTLP work.
fn receive_floor(loadgen_binary: &Path, sink: &Sink) -> Outcome {
    let before = cpu_seconds(&sink.thread_stat).unwrap_or(0.0);
    let report = loadgen(loadgen_binary, sink.port, (None, seconds()));
    std::thread::sleep(Duration::from_secs(1));
    let after = cpu_seconds(&sink.thread_stat).unwrap_or(before);
    let spans = report["spans_sent"].as_u64().unwrap_or(0);
    Outcome {
        spans_per_second: report["spans_per_second"].as_f64().unwrap_or(0.0),
        p99_ms: report["latency_p99_seconds"].as_f64().unwrap_or(0.0) * 1e3,
        cpu_per_million: (after - before) * 1e6 / spans.max(1) as f64,
        peak_rss: 0,
        sending_rss: 0,
        held_when_sent: None,
        refused: report["requests_refused"].as_u64().unwrap_or(0),
    }
}

const TEN_POLICIES: &str = r#"
        - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
        - {name: slow, type: latency, latency: {threshold_ms: 500}}
        - {name: server-errors, type: numeric_attribute, numeric_attribute: {key: http.response.status_code, min_value: 500, max_value: 599}}
        - {name: admin, type: string_attribute, string_attribute: {key: http.route, values: ['^/admin/'], enabled_regex_matching: true}}
        - {name: debug, type: boolean_attribute, boolean_attribute: {key: debug, value: true}}
        - {name: tenth, type: probabilistic, probabilistic: {sampling_percentage: 10}}
        - {name: big, type: span_count, span_count: {min_spans: 50}}
        - {name: premium, type: trace_state, trace_state: {key: vendor, values: [premium]}}
        - {name: cap, type: rate_limiting, rate_limiting: {spans_per_second: 1000000}}
        - {name: slow-errors, type: and, and: {and_sub_policy: [{name: slow2, type: latency, latency: {threshold_ms: 100}}, {name: errors2, type: status_code, status_code: {status_codes: [ERROR]}}]}}
"#;

fn default_config(binary: &Path, grpc: u16, http: u16, health: u16, metrics: u16) -> String {
    let default = Command::new(binary)
        .arg("default-config")
        .output()
        .unwrap_or_else(|e| panic!("default-config: {e}"));
    String::from_utf8_lossy(&default.stdout)
        .replace("127.0.0.1:4317", &format!("127.0.0.1:{grpc}"))
        .replace("127.0.0.1:4318", &format!("127.0.0.1:{http}"))
        .replace("127.0.0.1:13133", &format!("127.0.0.1:{health}"))
        .replace("127.0.0.1:8888", &format!("127.0.0.1:{metrics}"))
        .replace("./otlp-data", "{dir}/otlp-data")
}

fn pipeline_config(
    grpc: u16,
    metrics: u16,
    processors: &str,
    (destination, sinks): (Destination, [u16; 2]),
    decision_wait: Duration,
) -> String {
    let decision_wait = decision_wait.as_secs();
    let (exporter, exporter_config) = destination.exporter(sinks);
    let (connectors, connector, connector_pipelines) = destination.connectors();
    format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:{grpc}" }} }} }}
processors:
  memory_limiter: {{ check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 25 }}
  batch: {{ send_batch_size: 8192, timeout: 200ms }}
  tail_sampling:
    decision_wait: {decision_wait}s
    num_traces: 200000
    policies: {TEN_POLICIES}
exporters:
  {exporter_config}
{connectors}
service:
  pipelines:
    traces: {{ receivers: [otlp], processors: [{processors}], exporters: [{exporter}{connector}] }}
{connector_pipelines}
  telemetry:
    metrics: {{ address: "127.0.0.1:{metrics}" }}
"#
    )
}

/// `value` rounded to hundredths, as `{:.2}` prints it.
fn hundredths(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// [`send_floor::send_floor`] of the first batch the forwarding config sent to the sink, and that batch's spans.
fn sending_floor(sink: &Sink) -> Result<(usize, send_floor::Sent), String> {
    let batch = sink::FIRST_BATCH
        .get()
        .ok_or("no batch reached the sink from the forwarding config")?;
    let spans = otlp_model::wire::scan(otlp_model::Signal::Traces, batch)
        .map_err(|e| format!("the batch the sink took does not decode: {e}"))?
        .items;
    let sent = send_floor::send_floor(sink.port, batch, spans, Duration::from_secs(seconds()))?;
    eprintln!(
        "collector_e2e: sending alone ({spans}-span batches over HTTP/2), one thread: {:.0} spans/s, {:.2} CPU s per million spans",
        sent.spans_per_second, sent.cpu_per_million
    );
    Ok((spans, sent))
}

/// CPU seconds per million spans to prost-decode realistic requests of the loadgen's size: the floor.
fn prost_decode_floor() -> f64 {
    let requests = encoded_trace_requests(1, 64, SPANS_PER_REQUEST);
    let rounds = 300;
    let before = process_cpu_time().unwrap_or_default();
    let mut decoded = 0usize;
    for _ in 0..rounds {
        for bytes in &requests {
            let request = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(
                bytes.as_slice(),
            )
            .unwrap_or_else(|e| panic!("decode: {e}"));
            decoded += request.resource_spans.len();
        }
    }
    std::hint::black_box(decoded);
    let cpu = process_cpu_time()
        .unwrap_or_default()
        .saturating_sub(before)
        .as_secs_f64();
    cpu * 1e6 / (rounds * requests.len() * SPANS_PER_REQUEST) as f64
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not match this bench skips it.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !filter.is_empty()
        && !filter
            .iter()
            .any(|f| "collector_e2e".contains(f.as_str()) || f.contains("collector_e2e"))
    {
        return;
    }
    let binary = suite_binary();
    let loadgen =
        std::env::var_os("OTLP_LOADGEN_BIN").map_or_else(|| binary.clone(), PathBuf::from);
    let sink = start_sink();
    let sinks = [sink.port, start_sink().port];
    let mut rows: Vec<Row> = Vec::new();
    for (name, processors, destination) in [
        ("embedded default (Parquet files)", None, Destination::Sink),
        (
            "OTLP→OTLP forwarding",
            Some("memory_limiter, batch"),
            Destination::Sink,
        ),
        (
            "tail sampling, 10 policies → OTLP",
            Some("memory_limiter, tail_sampling, batch"),
            Destination::Sink,
        ),
        (
            "trace-aware front: loadbalancing by trace id → 2 backends",
            Some("memory_limiter, batch"),
            Destination::TwoSinksByTraceId,
        ),
        (
            "OTLP→OTLP forwarding + `spanmetrics` (R.E.D. metrics of every span)",
            Some("memory_limiter, batch"),
            Destination::SinkAndSpanMetrics,
        ),
        (
            "OTLP→OTLP forwarding + `servicegraph` (requests between services)",
            Some("memory_limiter, batch"),
            Destination::SinkAndServiceGraph,
        ),
        (
            "OTLP→OTLP forwarding + `count` (spans and span events counted)",
            Some("memory_limiter, batch"),
            Destination::SinkAndCount,
        ),
        (
            "OTLP→OTLP forwarding + `exceptions` (metrics and logs of exceptions)",
            Some("memory_limiter, batch"),
            Destination::SinkAndExceptions,
        ),
    ] {
        // One worker as well as one per core: on two cores shared with the load generator, the
        // runtime's second worker costs CPU in wake-ups and stealing (docs/operations.md).
        for (rate, workers) in [(None, None), (Some(FIXED_RATE), None), (None, Some(1))] {
            rows.push(Row {
                name,
                processors,
                destination,
                rate,
                workers,
                outcomes: Vec::new(),
            });
        }
    }
    let rounds = rounds();
    let (mut receiving, mut sending) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        for row in &mut rows {
            let (grpc, http, health, metrics) =
                (free_port(), free_port(), free_port(), free_port());
            let yaml = match row.processors {
                None => default_config(&binary, grpc, http, health, metrics),
                Some(processors) => pipeline_config(
                    grpc,
                    metrics,
                    processors,
                    (row.destination, sinks),
                    Duration::from_secs(2),
                ),
            };
            let running = start_collector(&binary, &yaml, grpc, row.workers);
            let outcome = run_load(
                &loadgen,
                grpc,
                running.child.id(),
                (row.rate, seconds()),
                Held::NotAsked,
            );
            eprintln!(
                "collector_e2e: round {round}/{rounds}, {}, {}: {:.0} spans/s, {:.2} CPU s per million spans, p99 {:.1} ms, peak RSS {:.0} MB",
                row.name,
                row.load(),
                outcome.spans_per_second,
                outcome.cpu_per_million,
                outcome.p99_ms,
                outcome.peak_rss as f64 / 1e6
            );
            row.outcomes.push(outcome);
        }
        let received = receive_floor(&loadgen, &sink);
        eprintln!(
            "collector_e2e: round {round}/{rounds}, receiving alone (tonic, discarding), --max: {:.0} spans/s, {:.2} CPU s per million spans",
            received.spans_per_second, received.cpu_per_million
        );
        receiving.push(received);
        sending.push(sending_floor(&sink));
    }
    let floor = prost_decode_floor();
    eprintln!("collector_e2e: prost decode floor {floor:.2} CPU s per million spans");
    let holding = hold_spans(&binary, &loadgen, sinks);

    let Some(dir) = std::env::var_os("OTLP_BENCH_NOTES") else {
        return;
    };
    let mut note = String::from(
        "### Collector end to end: CPU per million spans, the release binary under loadgen\n\n",
    );
    let rounds_said = if rounds == 1 {
        "in one round".to_owned()
    } else {
        format!(
            "in {rounds} rounds, each running every row once in this order; a row's figures are the medians of its \
             rounds, its CPU with their range, its peak RSS the highest of them, its refused requests their sum. The \
             host drifts by about 10% from minute to minute, so one round alone can miss by that much"
        )
    };
    let _ = writeln!(
        note,
        "`otlp-suite collect` (release, mimalloc) on loopback, driven by `otlp-suite loadgen` ({SPANS_PER_REQUEST} \
         spans per request, 4 gRPC connections, fresh ids, uncompressed) for {} s per row, on the same two \
         cores, {rounds_said}. CPU is the collector's user + system time from /proc/<pid>/stat, until it is idle \
         again; peak RSS is VmHWM. The forwarding and tail-sampling configs export OTLP/gRPC to a sink that discards \
         without decoding; the trace-aware front splits every batch by trace id between two such sinks (the \
         `loadbalancing` exporter, static resolver); the `spanmetrics` row is the forwarding config whose pipeline also \
         exports to the connector, counting every span in place (its metrics go to a `debug` exporter); the \
         `servicegraph` row, the same with that connector pairing client and server spans (`store.max_items: \
         100000`); the `count` row, with otelcol's default counts of spans and span events; the `exceptions` row, \
         with that connector feeding a metrics and a logs pipeline (`debug` exporters; about 0.1% of loadgen's \
         spans record an exception). A load of `max, 1 runtime worker` runs the collector with `TOKIO_WORKER_THREADS=1` \
         (docs/operations.md, \"CPU and threads\"); the other rows, one worker per core. \
         The floor is prost decoding the same kind of requests in one thread, measured in the same run. The last \
         two rows are what every gRPC collector pays before any OTLP work, measured in every round. Receiving: the \
         sink itself under the same `--max` load, HTTP/2 and tonic taking the requests and discarding them \
         undecoded, on one thread. Sending: the first batch the forwarding config sent to the sink, sent to it again \
         and again over HTTP/2 (`h2`, one request at a time, one thread, its own CPU time).\n",
        seconds()
    );
    note.push_str("| config | load | spans/s | CPU s per million spans | vs prost-decode floor | p99 latency | peak RSS | refused requests |\n|---|---|---|---|---|---|---|---|\n");
    for row in &rows {
        let cpu = Spread::of(row.outcomes.iter().map(|o| o.cpu_per_million));
        let _ = writeln!(
            note,
            "| {} | {} | {:.0} | {cpu} | {:.1}x | {:.1} ms | {:.0} MB | {} |",
            row.name,
            row.load(),
            median(row.outcomes.iter().map(|o| o.spans_per_second)),
            cpu.median / floor.max(1e-9),
            median(row.outcomes.iter().map(|o| o.p99_ms)),
            row.outcomes.iter().map(|o| o.peak_rss).max().unwrap_or(0) as f64 / 1e6,
            row.outcomes.iter().map(|o| o.refused).sum::<u64>(),
        );
    }
    let _ = writeln!(
        note,
        "| prost decode only (floor) | — | — | {floor:.2} | 1.0x | — | — | — |"
    );
    let received = Spread::of(receiving.iter().map(|o| o.cpu_per_million));
    let _ = writeln!(
        note,
        "| receiving only: tonic, discarding undecoded (sink thread) | max | {:.0} | {received} | {:.1}x | {:.1} ms | — | {} |",
        median(receiving.iter().map(|o| o.spans_per_second)),
        received.median / floor.max(1e-9),
        median(receiving.iter().map(|o| o.p99_ms)),
        receiving.iter().map(|o| o.refused).sum::<u64>(),
    );
    match sending.into_iter().collect::<Result<Vec<_>, String>>() {
        Ok(sent) => {
            let spans = sent.first().map_or(0, |(spans, _)| *spans);
            let cost = Spread::of(sent.iter().map(|(_, s)| s.cpu_per_million));
            let _ = writeln!(
                note,
                "| sending only: HTTP/2, the forwarding config's batch of {spans} spans sent again as it was sent (one thread) | max | {:.0} | {cost} | {:.1}x | — | — | 0 |",
                median(sent.iter().map(|(_, s)| s.spans_per_second)),
                cost.median / floor.max(1e-9),
            );
            let _ = writeln!(
                note,
                "\nOTLP→OTLP forwarding receives every span and sends it again, so it costs at least receiving only plus \
                 sending only: {:.2} + {:.2} = {:.2} CPU-seconds per million spans on this machine{}, before any \
                 OTLP work (checking the requests, batching, queueing).",
                received.median,
                cost.median,
                // The sum of the figures as printed, so that the sentence adds up for its reader.
                hundredths(received.median) + hundredths(cost.median),
                if rounds == 1 { "" } else { " (medians)" },
            );
        }
        Err(why) => {
            let _ = writeln!(note, "\nSending only was not measured: {why}");
        }
    }
    note.push_str(&holding);
    std::fs::create_dir_all(&dir).ok();
    std::fs::write(Path::new(&dir).join("collector-e2e.md"), note)
        .unwrap_or_else(|e| panic!("cannot write the notes: {e}"));
}

/// Tail sampling holding a full `decision_wait` of spans: the collector's resident memory then, against its resident
/// memory idle, as a notes section.
fn hold_spans(binary: &Path, loadgen: &Path, sinks: [u16; 2]) -> String {
    let (hold_rate, hold_seconds) = hold_load();
    let (grpc, metrics) = (free_port(), free_port());
    let yaml = pipeline_config(
        grpc,
        metrics,
        "tail_sampling, batch",
        (Destination::Sink, sinks),
        Duration::from_secs(hold_seconds),
    );
    let running = start_collector(binary, &yaml, grpc, None);
    let pid = running.child.id();
    // Past start-up (the metrics endpoint answers), before any span.
    let deadline = Instant::now() + Duration::from_secs(30);
    while scrape_gauge(metrics, "otelcol_process_memory_rss").is_none() && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let idle_rss = memory_kib(pid, "VmRSS:").unwrap_or(0) * 1024;
    let outcome = run_load(
        loadgen,
        grpc,
        pid,
        (Some(hold_rate), hold_seconds),
        Held::At { metrics },
    );
    // The peak is read once every trace is decided and released, so that it covers the release too.
    let deadline = Instant::now() + Duration::from_secs(hold_seconds + 60);
    while scrape_gauge(metrics, "otelcol_processor_tail_sampling_buffered_spans").unwrap_or(0.0)
        > 0.0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    let (_, peak_rss) = settle(pid);
    let sent = hold_rate * hold_seconds;
    eprintln!(
        "collector_e2e: tail sampling holding ~{sent} spans: RSS {:.1} MB while sending (idle {:.1} MB), peak {:.1} MB",
        outcome.sending_rss as f64 / 1e6,
        idle_rss as f64 / 1e6,
        peak_rss as f64 / 1e6
    );
    let per_span = outcome.sending_rss.saturating_sub(idle_rss) as f64 / sent as f64;
    format!(
        "\n### Tail sampling: memory while holding spans\n\n\
         `tail_sampling` (the same 10 policies, `decision_wait: {hold_seconds}s`) then `batch`, exporting OTLP/gRPC to \
         the sink; `loadgen --rate {hold_rate}` for {hold_seconds} s, so that about {sent} spans are held when the send \
         ends and the first decisions fall due. RSS is sampled every 100 ms from /proc while sending; the peak (VmHWM) \
         includes the decisions and the release after it.\n\n\
         | spans sent | spans held when the send ended | RSS idle | highest RSS while sending | per span sent, above idle | peak RSS, release included |\n\
         |---|---|---|---|---|---|\n\
         | {sent} | {} | {:.1} MB | {:.1} MB | {per_span:.0} B | {:.1} MB |\n",
        outcome
            .held_when_sent
            .map_or("?".to_owned(), |h| format!("{h:.0}")),
        idle_rss as f64 / 1e6,
        outcome.sending_rss as f64 / 1e6,
        peak_rss as f64 / 1e6,
    )
}
