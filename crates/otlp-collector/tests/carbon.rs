//! The `carbon` receiver and exporter against real Graphite software: collectd's `write_graphite` plugin sending
//! its load averages to the receiver (plaintext and regex parsers), and the exporter sending the OpenTelemetry
//! SDK's metrics to Graphite's own `carbon-cache`, read back from its whisper files with `whisper-fetch`.
//!
//! collectd (`collectd-core`), carbon-cache (`graphite-carbon`) and whisper-fetch (`python3-whisper`) come from
//! Debian; `cargo xtask setup` installs them.

mod common;

use common::collectd::Collectd;
use common::{
    TestCollector, free_port, meter_provider, named_numbers, read_metrics, wait_for_metrics,
};
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_sdk::metrics::Temporality;
use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const RECEIVERS: &str = r#"
receivers:
  carbon:
    endpoint: "127.0.0.1:0"
  carbon/udp:
    endpoint: "127.0.0.1:0"
    transport: udp
  carbon/idle:
    endpoint: "127.0.0.1:0"
    tcp_idle_timeout: 300ms
  carbon/regex:
    endpoint: "127.0.0.1:0"
    parser:
      type: regex
      config:
        rules:
          - regexp: "^collectd\\.(?P<key_host>[^.]+)\\.load\\.load\\.(?P<name_term>[^.]+)$"
            name_prefix: system.load
            labels: { source: collectd }
        name_separator: "."
exporters:
  file: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    metrics: { receivers: [carbon, carbon/udp, carbon/idle, carbon/regex], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collectd_s_lines_and_tagged_datagrams_become_gauges() {
    let harness = TestCollector::start(RECEIVERS).await;
    let port = |id: &str, transport: &str| {
        harness
            .collector
            .receiver_addr(id, transport)
            .unwrap_or_else(|| panic!("{id} listens on {transport}"))
            .port()
    };
    let (plain, regex, udp) = (
        port("carbon", "tcp"),
        port("carbon/regex", "tcp"),
        port("carbon/udp", "udp"),
    );

    // A client that goes quiet is let go after `tcp_idle_timeout`.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port("carbon/idle", "tcp"))).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let closed_after = std::time::Instant::now();
    assert_eq!(
        idle.read(&mut [0; 8]).unwrap_or(0),
        0,
        "the server closes it"
    );
    assert!(closed_after.elapsed() < Duration::from_secs(5));

    let datagrams = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    datagrams
        .send_to(
            b"jobs.queued;dc=eu;queue=mail 5 -1\nnot carbon at all\nfixed.time 2.5 1700000000.25\n",
            ("127.0.0.1", udp),
        )
        .unwrap();

    let dir = harness.path("");
    let sent_from = unix_seconds();
    let nodes: String = [plain, regex]
        .iter()
        .map(|port| {
            format!(
                "  <Node \"n{port}\">\n    Host \"127.0.0.1\"\n    Port \"{port}\"\n    Protocol \"tcp\"\n    Prefix \"collectd.\"\n  </Node>\n"
            )
        })
        .collect();
    let _collectd = Collectd::start(
        &dir,
        &format!("LoadPlugin write_graphite\n<Plugin write_graphite>\n{nodes}</Plugin>\n"),
    );
    let path = harness.path("metrics.jsonl");
    wait_for_metrics(&path, |requests| {
        named_numbers(requests, "collectd.testhost.load.load.shortterm").len() >= 2
            && named_numbers(requests, "system.load.shortterm").len() >= 2
            && !named_numbers(requests, "fixed.time").is_empty()
    })
    .await;
    let sent_to = unix_seconds();
    let dir = harness.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);

    // The plaintext parser: collectd's path as the name, a gauge of the load average.
    let loads = named_numbers(&requests, "collectd.testhost.load.load.shortterm");
    assert!(loads.len() >= 2, "{loads:?}");
    for (labels, load) in &loads {
        assert_eq!(labels, "");
        assert!(*load >= 0.0, "{load}");
    }
    // The regex parser: the name from the rule, the host and the rule's label as attributes.
    for term in ["shortterm", "midterm", "longterm"] {
        let points = named_numbers(&requests, &format!("system.load.{term}"));
        assert!(!points.is_empty(), "system.load.{term}");
        assert!(
            points
                .iter()
                .all(|(labels, _)| labels == "host=testhost,source=collectd"),
            "{points:?}"
        );
    }
    // collectd stamps its points with whole seconds of their reading.
    let metric = common::metrics_named(&requests, "system.load.midterm")
        .next()
        .unwrap();
    let Some(Data::Gauge(gauge)) = &metric.data else {
        panic!("a gauge: {metric:?}")
    };
    let seconds = gauge.data_points[0].time_unix_nano / 1_000_000_000;
    assert!(
        sent_from - 1 <= seconds && seconds <= sent_to + 1,
        "{seconds} not in {sent_from}..={sent_to}"
    );

    // The datagram: tags as attributes, `-1` as the time it came, fractional seconds kept, and the line that
    // is not Carbon dropped alone.
    assert_eq!(
        named_numbers(&requests, "jobs.queued"),
        [("dc=eu,queue=mail".to_owned(), 5.0)]
    );
    let queued = common::metrics_named(&requests, "jobs.queued")
        .next()
        .unwrap();
    let Some(Data::Gauge(gauge)) = &queued.data else {
        panic!("a gauge: {queued:?}")
    };
    let came = gauge.data_points[0].time_unix_nano / 1_000_000_000;
    assert!(sent_from - 1 <= came && came <= sent_to, "{came}");
    let fixed = common::metrics_named(&requests, "fixed.time")
        .next()
        .unwrap();
    let Some(Data::Gauge(gauge)) = &fixed.data else {
        panic!("a gauge: {fixed:?}")
    };
    assert_eq!(
        gauge.data_points[0].time_unix_nano,
        1_700_000_000_250_000_000
    );
}

/// A carbon-cache of its own, listening for plaintext on `port`, storing whisper files under `dir/whisper`
/// (one point per second); stopped when dropped.
struct CarbonCache {
    child: Child,
    dir: PathBuf,
}

impl CarbonCache {
    fn start(dir: &Path, port: u16) -> CarbonCache {
        let conf = dir.join("conf");
        std::fs::create_dir_all(&conf).unwrap();
        let (pickle, query) = (free_port(), free_port());
        std::fs::write(
            conf.join("carbon.conf"),
            format!(
                "[cache]\nSTORAGE_DIR = {dir}\nLOCAL_DATA_DIR = {dir}/whisper\nWHITELISTS_DIR = {dir}/lists\n\
                 CONF_DIR = {conf}\nLOG_DIR = {dir}/log\nPID_DIR = {dir}\nENABLE_LOGROTATION = False\nUSER =\n\
                 MAX_CACHE_SIZE = inf\nMAX_UPDATES_PER_SECOND = inf\nMAX_CREATES_PER_MINUTE = inf\n\
                 LINE_RECEIVER_INTERFACE = 127.0.0.1\nLINE_RECEIVER_PORT = {port}\nENABLE_UDP_LISTENER = False\n\
                 PICKLE_RECEIVER_INTERFACE = 127.0.0.1\nPICKLE_RECEIVER_PORT = {pickle}\n\
                 CACHE_QUERY_INTERFACE = 127.0.0.1\nCACHE_QUERY_PORT = {query}\n\
                 LOG_LISTENER_CONN_SUCCESS = False\nENABLE_TAGS = False\nCARBON_METRIC_INTERVAL = 0\n",
                dir = dir.display(),
                conf = conf.display(),
            ),
        )
        .unwrap();
        std::fs::write(
            conf.join("storage-schemas.conf"),
            "[everything]\npattern = .*\nretentions = 1s:1d\n",
        )
        .unwrap();
        let child = Command::new("carbon-cache")
            .arg(format!("--config={}", conf.join("carbon.conf").display()))
            .args(["--nodaemon", "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that stopping it stops twistd's children too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run carbon-cache: {e}; run `cargo xtask setup`"));
        let mut cache = CarbonCache {
            child,
            dir: dir.to_owned(),
        };
        for _ in 0..300 {
            if let Ok(Some(status)) = cache.child.try_wait() {
                panic!("carbon-cache exited before it listened: {status}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return cache;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("carbon-cache does not listen after 30 s");
    }

    /// The whisper file of metric `name`: its path's dots as folders, or for a tagged name (Carbon sorts its
    /// tags), a folder of the hash of the name, as carbon-cache stores it.
    fn file(&self, name: &str) -> PathBuf {
        let whisper = self.dir.join("whisper");
        if !name.contains(';') {
            return whisper.join(format!("{}.wsp", name.replace('.', "/")));
        }
        let hash = Command::new("python3")
            .args([
                "-c",
                "import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())",
                name,
            ])
            .output()
            .unwrap();
        let hash = String::from_utf8(hash.stdout).unwrap().trim().to_owned();
        whisper
            .join("_tagged")
            .join(&hash[..3])
            .join(&hash[3..6])
            .join(format!("{hash}.wsp"))
    }

    /// The values stored for `name` (whisper-fetch's points with a value), waiting up to 30 s for at least one.
    async fn values(&self, name: &str) -> Vec<(u64, f64)> {
        let file = self.file(name);
        for _ in 0..300 {
            if file.exists() {
                let output = Command::new("whisper-fetch")
                    .arg(format!("--from={}", unix_seconds() - 3600))
                    .arg(&file)
                    .output()
                    .unwrap_or_else(|e| panic!("cannot run whisper-fetch: {e}"));
                let points: Vec<(u64, f64)> = String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .filter_map(|line| {
                        let (time, value) = line.split_once('\t')?;
                        Some((time.parse().ok()?, value.parse().ok()?))
                    })
                    .collect();
                if !points.is_empty() {
                    return points;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "carbon-cache stored nothing for {name} ({})",
            file.display()
        );
    }

    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // twistd and what it started run in the process group the test made.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for CarbonCache {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_s_metrics_are_stored_by_carbon_cache_and_a_restart_loses_nothing() {
    let port = free_port();
    let harness = TestCollector::start(&format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:0" }}
exporters:
  carbon:
    endpoint: "127.0.0.1:{port}"
service:
  pipelines:
    metrics: {{ receivers: [otlp], exporters: [carbon] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let storage = tempfile::tempdir().unwrap();
    let mut cache = CarbonCache::start(storage.path(), port);
    let endpoint = harness.grpc_endpoint();
    let sent_from = unix_seconds();
    let send = |endpoint: String, round: &'static str, temporality| {
        tokio::task::spawn_blocking(move || {
            use opentelemetry::metrics::MeterProvider as _;
            let provider = meter_provider(&endpoint, "cart", temporality);
            let meter = provider.meter("cart-meter");
            let orders = meter.u64_counter(format!("{round}.orders")).build();
            orders.add(3, &[KeyValue::new("region", "eu")]);
            orders.add(4, &[KeyValue::new("region", "eu")]);
            let latency = meter
                .f64_histogram(format!("{round}.latency"))
                .with_boundaries(vec![0.1, 1.0])
                .build();
            for seconds in [0.05, 0.5, 3.0] {
                latency.record(seconds, &[]);
            }
            meter
                .i64_gauge(format!("{round}.queue.depth"))
                .build()
                .record(-5, &[]);
            provider.force_flush().unwrap();
            provider.shutdown().unwrap();
        })
    };
    send(endpoint.clone(), "first", Temporality::Cumulative)
        .await
        .unwrap();
    let last = |points: Vec<(u64, f64)>| points.last().map(|(_, v)| *v);
    assert_eq!(
        last(cache.values("first.orders;region=eu").await),
        Some(7.0)
    );
    assert_eq!(last(cache.values("first.queue.depth").await), Some(-5.0));
    assert_eq!(last(cache.values("first.latency.count").await), Some(3.0));
    assert_eq!(last(cache.values("first.latency").await), Some(3.55));
    for (bound, count) in [("0.1", 1.0), ("1", 1.0), ("inf", 1.0)] {
        let name = format!("first.latency.bucket;upper_bound={bound}");
        assert_eq!(last(cache.values(&name).await), Some(count), "{name}");
    }
    let (time, _) = cache.values("first.queue.depth").await[0];
    assert!(sent_from <= time && time <= unix_seconds(), "{time}");

    // The exporter keeps its connection; a new carbon-cache on the same port has not got it, and what is sent
    // next must reach the new one rather than vanish into the old connection.
    // Delta temporality: the provider's export at shutdown has nothing new, so the points go out once only and
    // a batch written into the old connection would be lost for good.
    cache.stop();
    let cache = CarbonCache::start(storage.path(), port);
    send(endpoint, "second", Temporality::Delta).await.unwrap();
    assert_eq!(
        last(cache.values("second.orders;region=eu").await),
        Some(7.0)
    );
    harness.shut_down_cleanly().await;
}
