//! The `pprof` extension as `go tool pprof` meets it: a CPU profile taken over HTTP while the process works, read
//! back as pprof's protobuf (with this file's own transcription of google/pprof's `profile.proto`), and the whole
//! run's profile saved at shutdown. One test, because a process has one CPU profiler.

mod common;

use common::TestCollector;
use prost::Message;
use std::io::Read as _;
use std::time::{Duration, Instant};

#[derive(Clone, PartialEq, Message)]
struct Profile {
    #[prost(message, repeated, tag = "1")]
    sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    sample: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    string_table: Vec<String>,
    #[prost(int64, tag = "12")]
    period: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ValueType {
    #[prost(int64, tag = "1")]
    r#type: i64,
    #[prost(int64, tag = "2")]
    unit: i64,
}

#[derive(Clone, PartialEq, Message)]
struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    value: Vec<i64>,
}

#[derive(Clone, PartialEq, Message)]
struct Location {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(message, repeated, tag = "4")]
    line: Vec<Line>,
}

#[derive(Clone, PartialEq, Message)]
struct Line {
    #[prost(uint64, tag = "1")]
    function_id: u64,
}

#[derive(Clone, PartialEq, Message)]
struct Function {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(int64, tag = "2")]
    name: i64,
}

impl Profile {
    fn read(gzipped: &[u8]) -> Profile {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(gzipped)
            .read_to_end(&mut bytes)
            .expect("a gzipped profile, as Go serves it");
        Profile::decode(bytes.as_slice()).expect("pprof's protobuf")
    }

    /// How many samples have a frame in a function whose name contains `part`.
    fn samples_in(&self, part: &str) -> i64 {
        let function_names: std::collections::HashMap<u64, &str> = self
            .function
            .iter()
            .map(|f| (f.id, self.string_table[f.name as usize].as_str()))
            .collect();
        let in_part = |location_id: &u64| {
            self.location
                .iter()
                .find(|l| l.id == *location_id)
                .is_some_and(|l| {
                    l.line
                        .iter()
                        .any(|line| function_names[&line.function_id].contains(part))
                })
        };
        self.sample
            .iter()
            .filter(|s| s.location_id.iter().any(in_part))
            .map(|s| s.value[0])
            .sum()
    }
}

/// Work the profile must find, by its name.
#[inline(never)]
fn spin_for_the_profiler(until: Instant) -> u64 {
    let mut x = 1u64;
    while Instant::now() < until {
        for _ in 0..10_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    x
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_profiles_are_served_as_go_tool_pprof_reads_them() {
    let harness = TestCollector::start(
        r#"
extensions:
  pprof: { endpoint: "127.0.0.1:0" }
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
exporters:
  debug: {}
service:
  extensions: [pprof]
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
  telemetry:
    metrics: { level: none }
"#,
    )
    .await;
    let addr = harness.collector.extension_addr("pprof").unwrap();
    let spinner =
        std::thread::spawn(|| spin_for_the_profiler(Instant::now() + Duration::from_secs(3)));
    let fetch = |seconds: u64| {
        tokio::spawn(async move {
            let answer = reqwest::get(format!(
                "http://{addr}/debug/pprof/profile?seconds={seconds}"
            ))
            .await
            .unwrap();
            let status = answer.status().as_u16();
            let content_type = answer.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            (status, content_type, answer.bytes().await.unwrap())
        })
    };
    // Two profiles asked for at once: one is taken, the other refused as Go refuses it, whichever came first.
    let first = fetch(2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = fetch(1);
    let mut answers = vec![first.await.unwrap(), second.await.unwrap()];
    answers.sort_by_key(|(status, _, _)| *status);
    let (refused, _, message) = answers.pop().unwrap();
    assert_eq!(refused, 500);
    assert!(String::from_utf8_lossy(&message).contains("could not enable CPU profiling"));
    let (status, content_type, body) = answers.pop().unwrap();
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/octet-stream");
    let profile = Profile::read(&body);
    spinner.join().unwrap();
    let units: Vec<(&str, &str)> = profile
        .sample_type
        .iter()
        .map(|t| {
            (
                profile.string_table[t.r#type as usize].as_str(),
                profile.string_table[t.unit as usize].as_str(),
            )
        })
        .collect();
    assert_eq!(units, [("samples", "count"), ("cpu", "nanoseconds")]);
    assert_eq!(profile.period, 10_000_000);
    let total: i64 = profile.sample.iter().map(|s| s.value[0]).sum();
    let spinning = profile.samples_in("spin_for_the_profiler");
    // A second or two of one busy thread at 100 Hz: 100 to 200 samples there (fewer on a loaded machine).
    assert!(
        spinning > 20,
        "{spinning} of {total} samples in the spinning function"
    );

    let heap = reqwest::get(format!("http://{addr}/debug/pprof/heap"))
        .await
        .unwrap();
    assert_eq!(heap.status(), 404);
    assert!(heap.text().await.unwrap().contains("the Go runtime's"));
    let bad = reqwest::get(format!("http://{addr}/debug/pprof/profile?seconds=x"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let index = reqwest::get(format!("http://{addr}/debug/pprof/"))
        .await
        .unwrap();
    assert!(index.text().await.unwrap().contains("profile?seconds=30"));
    harness.shut_down_cleanly().await;

    // The whole run, saved at shutdown.
    let saved = tempfile::tempdir().unwrap();
    let file = saved.path().join("run.pprof");
    let harness = TestCollector::start(&format!(
        r#"
extensions:
  pprof: {{ endpoint: "127.0.0.1:0", save_to_file: "{}" }}
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:
  debug: {{}}
service:
  extensions: [pprof]
  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        file.display()
    ))
    .await;
    tokio::task::spawn_blocking(|| spin_for_the_profiler(Instant::now() + Duration::from_secs(1)))
        .await
        .unwrap();
    harness.shut_down_cleanly().await;
    let run = Profile::read(&std::fs::read(&file).unwrap());
    assert!(run.samples_in("spin_for_the_profiler") > 10);
}
