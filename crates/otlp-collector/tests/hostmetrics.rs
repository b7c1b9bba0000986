//! The `hostmetrics` receiver on this machine: what it reports is checked against the kernel's own tables read
//! here after the collector stopped, and against `df` for the root filesystem.

mod common;

use common::{TestCollector, read_metrics};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    Metric, NumberDataPoint, metric::Data, number_data_point,
};
use std::collections::BTreeMap;
use std::time::Duration;

const CONFIG: &str = r#"
receivers:
  hostmetrics:
    collection_interval: 100ms
    initial_delay: 0s
    scrapers:
      cpu: { metrics: { system.cpu.utilization: { enabled: true }, system.cpu.logical.count: { enabled: true } } }
      memory:
      load:
      network:
      disk:
      filesystem:
      paging:
      processes:
      system:
      process:
        include: { names: ["{test_binary}"] }
        metrics: { process.threads: { enabled: true } }
exporters:
  file: { path: "{dir}/metrics.jsonl", format: json }
service:
  pipelines:
    metrics: { receivers: [hostmetrics], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:0" }
"#;

/// Every point of `name` across the scrapes, with its attributes as a map, and the scope of the first.
fn points(
    requests: &[ExportMetricsServiceRequest],
    name: &str,
) -> Vec<(BTreeMap<String, String>, f64)> {
    let attributes = |point: &NumberDataPoint| {
        point
            .attributes
            .iter()
            .map(|kv| {
                let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(
                        opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s),
                    ) => s.clone(),
                    other => format!("{other:?}"),
                };
                (kv.key.clone(), value)
            })
            .collect()
    };
    let value = |point: &NumberDataPoint| match point.value {
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        Some(number_data_point::Value::AsDouble(v)) => v,
        None => f64::NAN,
    };
    metrics(requests)
        .filter(|metric| metric.name == name)
        .flat_map(|metric| match &metric.data {
            Some(Data::Sum(sum)) => sum.data_points.clone(),
            Some(Data::Gauge(gauge)) => gauge.data_points.clone(),
            _ => Vec::new(),
        })
        .map(|point| (attributes(&point), value(&point)))
        .collect()
}

fn metrics(requests: &[ExportMetricsServiceRequest]) -> impl Iterator<Item = &Metric> {
    requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_s_metrics_match_the_kernel_s_tables() {
    // The collector runs in this test's process, which the `process` scraper reports on.
    let test_binary = std::env::current_exe().unwrap();
    let test_binary = test_binary.file_name().unwrap().to_str().unwrap();
    let harness = TestCollector::start(&CONFIG.replace("{test_binary}", test_binary)).await;
    let path = harness.path("metrics.jsonl");
    // At least three scrapes: utilization needs two.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        // One request per scrape, one line per request.
        let scrapes = std::fs::read_to_string(&path)
            .map(|text| text.lines().count())
            .unwrap_or(0);
        if scrapes >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dir = harness.shut_down_cleanly().await;
    let requests = read_metrics(&dir.path().join("metrics.jsonl"), true);
    assert!(requests.len() >= 3, "{} scrapes", requests.len());

    let scope = &requests[0].resource_metrics[0].scope_metrics[0];
    assert!(
        scope
            .scope
            .as_ref()
            .unwrap()
            .name
            .ends_with("/receiver/hostmetricsreceiver/internal/scraper/cpuscraper"),
        "{:?}",
        scope.scope
    );

    // CPU: every logical CPU of /proc/stat, in each of otelcol's eight states; no more time than the kernel
    // counted by now.
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let cpus: Vec<String> = stat
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .next()?
                .strip_prefix("cpu")
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
        })
        .collect();
    let times = points(&requests, "system.cpu.time");
    for cpu in &cpus {
        let states: Vec<&str> = times
            .iter()
            .filter(|(a, _)| a["cpu"] == *cpu)
            .map(|(a, _)| a["state"].as_str())
            .collect();
        for state in [
            "user",
            "nice",
            "system",
            "idle",
            "wait",
            "interrupt",
            "softirq",
            "steal",
        ] {
            assert!(
                states.contains(&state),
                "cpu{cpu} has no {state}: {states:?}"
            );
        }
        let user_now: f64 = stat
            .lines()
            .find(|l| l.starts_with(&format!("cpu{cpu} ")))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap()
            / 100.0;
        let reported = times
            .iter()
            .filter(|(a, _)| a["cpu"] == *cpu && a["state"] == "user")
            .map(|(_, v)| *v)
            .fold(0.0, f64::max);
        assert!(
            reported <= user_now,
            "cpu{cpu} user {reported} > {user_now}"
        );
    }
    let counts = points(&requests, "system.cpu.logical.count");
    assert!(
        counts.iter().all(|(_, n)| *n == cpus.len() as f64),
        "{counts:?}"
    );
    // Utilization: from the second scrape on, each CPU's states share out 1 (or nothing ran: 0).
    let utilization = points(&requests, "system.cpu.utilization");
    assert!(!utilization.is_empty());
    let scrapes = utilization.len() / (cpus.len() * 8);
    for i in 0..scrapes {
        let scrape = &utilization[i * cpus.len() * 8..(i + 1) * cpus.len() * 8];
        for cpu in scrape.chunks(8) {
            let total: f64 = cpu.iter().map(|(_, v)| v).sum();
            assert!((total - 1.0).abs() < 1e-9 || total == 0.0, "{cpu:?}");
        }
    }

    // Memory: the total is MemTotal exactly; the states other than total add up to it.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let mem_total: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap()
        * 1024.0;
    let usage = points(&requests, "system.memory.usage");
    let first: Vec<&(BTreeMap<String, String>, f64)> = usage.iter().take(7).collect();
    assert_eq!(first[0].0["state"], "total");
    assert_eq!(first[0].1, mem_total);
    let parts: f64 = first
        .iter()
        .filter(|(a, _)| ["used", "free", "buffered", "cached"].contains(&a["state"].as_str()))
        .map(|(_, v)| v)
        .sum();
    assert!(parts <= mem_total, "{parts} > {mem_total}");

    // Network: the loopback interface, both directions, and TCP connections by state.
    let io = points(&requests, "system.network.io");
    for direction in ["receive", "transmit"] {
        assert!(
            io.iter()
                .any(|(a, _)| a["device"] == "lo" && a["direction"] == direction),
            "{io:?}"
        );
    }
    let connections = points(&requests, "system.network.connections");
    assert!(
        connections
            .iter()
            .any(|(a, _)| a["state"] == "LISTEN" && a["protocol"] == "tcp")
    );

    // Load, disk, paging: present with otelcol's attributes.
    assert_eq!(
        points(&requests, "system.cpu.load_average.1m").len(),
        requests.len()
    );
    let faults = points(&requests, "system.paging.faults");
    assert!(
        faults.iter().any(|(a, _)| a["type"] == "minor"),
        "{faults:?}"
    );
    let disk_io = points(&requests, "system.disk.io");
    assert!(
        disk_io
            .iter()
            .all(|(a, _)| a.contains_key("device") && a.contains_key("direction"))
    );

    // Processes: otelcol's statuses only, this test's own process sleeping or running among them; no more
    // created than the kernel counted by now. Uptime: no more than the kernel's by now.
    let stat_after = std::fs::read_to_string("/proc/stat").unwrap();
    let created_after: f64 = stat_after
        .lines()
        .find_map(|l| l.strip_prefix("processes "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let created = points(&requests, "system.processes.created");
    assert_eq!(created.len(), requests.len());
    assert!(
        created.iter().all(|(_, v)| *v > 0.0 && *v <= created_after),
        "{created:?}"
    );
    let counts = points(&requests, "system.processes.count");
    let statuses = [
        "blocked", "daemon", "detached", "idle", "locked", "orphan", "paging", "running",
        "sleeping", "stopped", "system", "unknown", "zombies",
    ];
    assert!(
        counts
            .iter()
            .all(|(a, v)| statuses.contains(&a["status"].as_str()) && *v >= 0.0),
        "{counts:?}"
    );
    assert!(
        counts
            .iter()
            .any(|(a, v)| a["status"] == "sleeping" && *v >= 1.0),
        "{counts:?}"
    );
    let uptime_after: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap();
    let uptime = points(&requests, "system.uptime");
    assert_eq!(uptime.len(), requests.len());
    assert!(
        uptime.iter().all(|(_, v)| *v > 0.0 && *v <= uptime_after),
        "{uptime:?}"
    );

    // Process: this one, alone, with its pid and executable; as much resident memory as the kernel says it has
    // at most, and its threads (the collector's runtime and the test's among them).
    let me = i64::from(std::process::id());
    let mine: Vec<_> = requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .filter(|rm| {
            rm.scope_metrics[0]
                .scope
                .as_ref()
                .unwrap()
                .name
                .ends_with("/processscraper")
        })
        .collect();
    assert_eq!(mine.len(), requests.len(), "one resource per scrape");
    for rm in &mine {
        let resource = rm.resource.as_ref().unwrap();
        assert_eq!(
            common::attribute(&resource.attributes, "process.pid"),
            Some(&opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(me))
        );
        assert_eq!(
            common::attribute(&resource.attributes, "process.executable.name"),
            Some(
                &opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                    test_binary.to_owned()
                )
            )
        );
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap()
        * 1024.0;
    let rss = points(&requests, "process.memory.usage");
    assert!(
        rss.iter().all(|(_, v)| *v > 0.0 && *v <= peak),
        "{rss:?} vs peak {peak}"
    );
    let threads = points(&requests, "process.threads");
    assert!(threads.iter().all(|(_, v)| *v >= 2.0), "{threads:?}");
    let cpu_states: Vec<_> = points(&requests, "process.cpu.time")
        .into_iter()
        .map(|(a, _)| a["state"].clone())
        .take(3)
        .collect();
    assert_eq!(cpu_states, ["user", "system", "wait"]);

    // The root filesystem, when it has a device of its own here, as `df` sees it (within what a busy disk
    // changes between the two readings).
    let filesystem = points(&requests, "system.filesystem.usage");
    let root_used = filesystem
        .iter()
        .rev()
        .find(|(a, _)| a["mountpoint"] == "/" && a["state"] == "used");
    if let Some((attributes, used)) = root_used {
        assert!(["rw", "ro"].contains(&attributes["mode"].as_str()));
        let df = std::process::Command::new("df")
            .args(["-B1", "--output=used", "/"])
            .output()
            .unwrap();
        let df_used: f64 = String::from_utf8_lossy(&df.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap();
        assert!(
            (df_used - used).abs() < 256.0 * 1024.0 * 1024.0,
            "df {df_used} vs {used}"
        );
    }
}

#[test]
fn settings_otelcol_has_and_we_do_not_are_named() {
    let problems = common::config_problems(
        r#"
receivers:
  hostmetrics:
    scrapers:
      cpu: { metrics: { system.cpu.time: { enabled: true }, system.cpu.tme: { enabled: true } } }
      network: { include: { interfaces: ["("], match_type: regexp } }
      process: { mute_proces_io_error: true }
  hostmetrics/empty: { collection_interval: 0s }
exporters:
  debug:
service:
  pipelines:
    metrics: { receivers: [hostmetrics, hostmetrics/empty], exporters: [debug] }
    traces: { receivers: [hostmetrics/empty], exporters: [debug] }
"#,
    );
    let paths: Vec<&str> = problems.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "receivers.hostmetrics.scrapers.process.mute_proces_io_error",
            "service.pipelines.traces.receivers",
            "receivers.hostmetrics/empty.collection_interval",
            "receivers.hostmetrics/empty.scrapers",
        ],
        "{problems:?}"
    );
    assert!(
        problems[0]
            .1
            .contains("did you mean `mute_process_io_error`?"),
        "{problems:?}"
    );
    assert_eq!(problems[1].1, "`hostmetrics/empty` does not receive traces");

    let metric_and_filter = common::config_problems(
        r#"
receivers:
  hostmetrics:
    scrapers:
      cpu: { metrics: { system.cpu.tme: { enabled: true } } }
      network: { include: { interfaces: ["("], match_type: regexp } }
      process: { resource_attributes: { process.cgroup: { enabled: true } } }
exporters:
  debug:
service:
  pipelines:
    metrics: { receivers: [hostmetrics], exporters: [debug] }
"#,
    );
    assert_eq!(metric_and_filter.len(), 3, "{metric_and_filter:?}");
    assert_eq!(
        metric_and_filter[0].0,
        "receivers.hostmetrics.scrapers.cpu.metrics.system.cpu.tme"
    );
    assert!(
        metric_and_filter[0]
            .1
            .contains("there are: system.cpu.time,"),
        "{metric_and_filter:?}"
    );
    assert_eq!(
        metric_and_filter[1].0,
        "receivers.hostmetrics.scrapers.network"
    );
    assert!(
        metric_and_filter[1]
            .1
            .contains("is not a regular expression"),
        "{metric_and_filter:?}"
    );
    assert_eq!(
        metric_and_filter[2].0,
        "receivers.hostmetrics.scrapers.process.resource_attributes.process.cgroup"
    );
    assert!(
        metric_and_filter[2].1.contains("reads no cgroups"),
        "{metric_and_filter:?}"
    );
}
