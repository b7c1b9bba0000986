//! The `degradation` extension end to end over gRPC from a real client: a collector over its memory limit goes to
//! Emergency and lets only error spans in; a hot reload with other limits and thresholds puts it at the level they
//! say; a reload without the extension stops shedding.

mod common;

use common::{is_error, read_traces, send_with_errors, span_id, spans};
use otlp_collector::extension::degradation::LEVEL_METRIC;
use otlp_collector::{Collector, Config, ReloadOutcome, RunningCollector};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

fn config(file: &Path, degradation: Option<&str>) -> Config {
    let (extension, used) = match degradation {
        Some(settings) => (
            format!("extensions:\n  degradation: {settings}\n"),
            "extensions: [degradation]",
        ),
        None => (String::new(), ""),
    };
    Config::from_yaml(&format!(
        r#"
{extension}
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:0" }} }} }}
exporters:
  file: {{ path: "{}", format: json }}
service:
  {used}
  pipelines:
    traces: {{ receivers: [otlp], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        file.display()
    ))
    .unwrap()
}

/// A limit of 1 MiB of memory puts any process over it.
const OVER_MEMORY: &str = "{ check_interval: 50ms, limits: { max_memory_mib: 1 } }";

/// 1 TiB of memory makes the memory pressure about 1e-4, which these thresholds call Heavy; CPU (at most 1.0 of
/// `max_cpu: 1.0`) stays below Emergency's 10.
const HEAVY_BY_THRESHOLDS: &str = "{ check_interval: 50ms, \
     limits: { max_cpu: 1.0, max_memory_mib: 1048576 }, \
     thresholds: { enter: [1.0e-7, 2.0e-7, 1.0e-6, 10.0], leave: [0.5e-7, 1.5e-7, 0.5e-6, 5.0], min_dwell: 0s } }";

/// Waits until the level gauge reads `level`; panics with the last reading after 20 s.
async fn wait_for_level(collector: &RunningCollector, level: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = collector.telemetry().value(LEVEL_METRIC, &[]);
        if now == Some(level) {
            return;
        }
        assert!(Instant::now() < deadline, "level {now:?}, expected {level}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn reload(collector: RunningCollector, next: Config, previous: Config) -> RunningCollector {
    let reloaded = collector
        .reload(next, previous, Duration::from_secs(10))
        .await;
    assert!(reloaded.drained.is_clean(), "{:?}", reloaded.drained);
    match reloaded.outcome {
        ReloadOutcome::Applied(collector) => collector,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_follow_the_load_and_hot_reloaded_limits_and_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.jsonl");
    let first = config(&file, Some(OVER_MEMORY));
    let collector = Collector::new(first.clone()).start().await.unwrap();

    // Over the memory limit: Emergency, so only error spans get in.
    wait_for_level(&collector, 4).await;
    let grpc = collector.grpc_addr("otlp").unwrap().to_string();
    let sent = send_with_errors(&grpc, 1, 10).await;
    assert!(collector.flush(Duration::from_secs(10)).await);
    let written: BTreeSet<_> = spans(&read_traces(&file, true))
        .iter()
        .map(span_id)
        .collect();
    let errors: BTreeSet<_> = sent.iter().filter(|s| is_error(s)).map(span_id).collect();
    assert!(!errors.is_empty());
    assert_eq!(written, errors);
    assert_eq!(
        collector.telemetry().total_with_label(
            "otelcol_processor_dropped_spans",
            "reason",
            "degraded"
        ),
        (sent.len() - errors.len()) as u64
    );

    // Other limits and thresholds, hot-reloaded: the level is the one they give for the same load.
    let second = config(&file, Some(HEAVY_BY_THRESHOLDS));
    let collector = reload(collector, second.clone(), first).await;
    wait_for_level(&collector, 3).await;

    // Without the extension nothing steers admission any more: everything gets in.
    let collector = reload(collector, config(&file, None), second).await;
    assert_eq!(collector.shedding().current(), None);
    assert_eq!(collector.telemetry().value(LEVEL_METRIC, &[]), Some(0));
    let grpc = collector.grpc_addr("otlp").unwrap().to_string();
    let sent = send_with_errors(&grpc, 2, 5).await;
    assert!(collector.flush(Duration::from_secs(10)).await);
    assert_eq!(
        spans(&read_traces(&file, true)).len(),
        written.len() + sent.len()
    );
    assert!(collector.shutdown(Duration::from_secs(10)).await.is_clean());
}

#[test]
fn bad_settings_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.jsonl");
    let yaml = |settings: &str| {
        format!(
            "extensions:\n  degradation: {settings}\nreceivers:\n  otlp: {{ protocols: {{ grpc: {{ endpoint: '127.0.0.1:0' }} }} }}\n\
             exporters:\n  file: {{ path: '{}' }}\nservice:\n  extensions: [degradation]\n  pipelines:\n    traces: {{ receivers: [otlp], exporters: [file] }}\n",
            file.display()
        )
    };
    for (settings, expected) in [
        (
            "{ thresholds: { enter: [0.7, 0.8, 0.9, 0.97], leave: [0.6, 0.85, 0.8, 0.9] } }",
            "extensions.degradation.thresholds",
        ),
        (
            "{ limits: { max_memory_mib: 0 } }",
            "extensions.degradation.limits.max_memory_mib",
        ),
        (
            "{ limits: { max_cpu: 1.5 } }",
            "extensions.degradation.limits",
        ),
        (
            "{ check_interval: 0s }",
            "extensions.degradation.check_interval",
        ),
        ("{ limit: { max_cpu: 0.5 } }", "limit"),
    ] {
        let error = Config::from_yaml(&yaml(settings)).unwrap_err().to_string();
        assert!(error.contains(expected), "{settings}: {error}");
    }
}
