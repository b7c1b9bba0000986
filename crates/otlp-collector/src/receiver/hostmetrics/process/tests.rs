use super::*;
use crate::receiver::scraper::metric::Toggle;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn settings(yaml: &str) -> ProcessSettings {
    serde_norway::from_str(yaml).unwrap()
}

fn attribute<'a>(resource: &'a Resource, key: &str) -> Option<&'a any_value::Value> {
    resource
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

/// This test's own process, read through the scraper from the real `/proc`.
#[test]
fn this_process_is_reported_with_its_identity() {
    let me = std::process::id();
    let exe = std::env::current_exe().unwrap();
    // The kernel cuts the test binary's name (`otlp_collector-<hash>`) at 15 bytes; the scraper completes it
    // from the command line, as gopsutil does.
    let name = exe.file_name().unwrap().to_str().unwrap().to_owned();
    let mut processes = Processes::new(&settings(&format!(
        "include: {{ names: [\"{name}\"] }}\nmetrics: {{ process.threads: {{ enabled: true }}, \
         process.cpu.utilization: {{ enabled: true }}, process.open_file_descriptors: {{ enabled: true }} }}"
    )))
    .unwrap();
    let toggles: BTreeMap<String, Toggle> = processes.settings.metrics.clone();
    let enabled = Enabled::new(SPECS, &toggles);
    let host = Host {
        root: PathBuf::from("/"),
    };
    let boot = super::super::cpu::boot_time(&std::fs::read_to_string("/proc/stat").unwrap())
        .unwrap()
        * 1_000_000_000;
    let now = crate::clock::now_nanos();
    let first = processes
        .scrape(&host, &enabled, Clock { now, start: boot })
        .unwrap();
    let mine = first
        .iter()
        .find(|(resource, _)| {
            attribute(resource, "process.pid") == Some(&any_value::Value::IntValue(i64::from(me)))
        })
        .expect("this process");
    let (resource, metrics) = mine;
    assert_eq!(
        attribute(resource, "process.executable.path"),
        Some(&any_value::Value::StringValue(exe.display().to_string()))
    );
    assert_eq!(
        attribute(resource, "process.executable.name"),
        Some(&any_value::Value::StringValue(name.clone()))
    );
    assert!(matches!(
        attribute(resource, "process.owner"),
        Some(any_value::Value::StringValue(_))
    ));
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "process.cpu.time",
            "process.disk.io",
            "process.memory.usage",
            "process.memory.virtual",
            "process.open_file_descriptors",
            "process.threads"
        ],
        "no utilization on the first scrape"
    );
    // The process started after boot and before now: its sums start then.
    let cpu = metrics
        .iter()
        .find(|m| m.name == "process.cpu.time")
        .unwrap();
    let Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) = &cpu.data else {
        panic!("{cpu:?}")
    };
    let start = sum.data_points[0].start_time_unix_nano;
    assert!(
        start > boot && start <= now,
        "{start} not within ({boot}, {now}]"
    );
    // Only processes of the included name.
    assert!(first.iter().all(
        |(resource, _)| attribute(resource, "process.executable.name")
            == Some(&any_value::Value::StringValue(name.clone()))
    ));

    let later = crate::clock::now_nanos() + 1;
    let second = processes
        .scrape(
            &host,
            &enabled,
            Clock {
                now: later,
                start: boot,
            },
        )
        .unwrap();
    let (_, metrics) = second
        .iter()
        .find(|(resource, _)| {
            attribute(resource, "process.pid") == Some(&any_value::Value::IntValue(i64::from(me)))
        })
        .unwrap();
    assert!(
        metrics.iter().any(|m| m.name == "process.cpu.utilization"),
        "the second scrape has it"
    );
}

#[test]
fn excluded_names_and_disabled_attributes_are_left_out() {
    let mut processes = Processes::new(&settings(
        "exclude: { names: [\".*\"], match_type: regexp }\n",
    ))
    .unwrap();
    let enabled = Enabled::new(SPECS, &BTreeMap::new());
    let host = Host {
        root: PathBuf::from("/"),
    };
    let found = processes
        .scrape(&host, &enabled, Clock { now: 1, start: 0 })
        .unwrap();
    assert!(found.is_empty(), "{} processes", found.len());

    let processes = Processes::new(&settings(
        "resource_attributes: { process.command_line: { enabled: false }, process.owner: { enabled: false } }",
    ))
    .unwrap();
    assert_eq!(
        processes.attributes,
        [
            "process.pid",
            "process.parent_pid",
            "process.executable.name",
            "process.executable.path",
            "process.command"
        ]
    );
    assert!(Processes::new(&settings("include: { names: [\"(\"], match_type: regexp }")).is_err());
}
