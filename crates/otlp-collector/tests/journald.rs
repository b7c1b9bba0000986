//! The `journald` receiver reading real journal files with Debian's journalctl: the files are written by
//! `systemd-journal-remote` from journal export text (`cargo xtask setup` installs both), into a directory the
//! receiver follows. Filters, new files while it runs, and a restart that resumes after the saved cursor.

mod common;

use common::{TestCollector, log_records, read_logs};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Writes `entries` (message, priority, syslog identifier, unit) as journal file `name` in `dir`, stamped now.
fn write_journal(dir: &Path, name: &str, entries: &[(&str, u8, &str, &str)]) {
    let program = [
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
    ]
    .into_iter()
    .find(|path| Path::new(path).is_file())
    .expect("systemd-journal-remote is not installed; run `cargo xtask setup`");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let mut export = String::new();
    for (i, (message, priority, identifier, unit)) in entries.iter().enumerate() {
        export.push_str(&format!(
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n\
             MESSAGE={message}\nPRIORITY={priority}\nSYSLOG_IDENTIFIER={identifier}\n_SYSTEMD_UNIT={unit}\n\n",
            now + i as u128,
            now + i as u128,
        ));
    }
    let mut child = Command::new(program)
        .arg(format!("--output={}", dir.join(name).display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(export.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn messages(requests: &[ExportLogsServiceRequest]) -> Vec<String> {
    log_records(requests)
        .iter()
        .map(
            |record| match record.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(Value::KvlistValue(fields)) => fields
                    .values
                    .iter()
                    .find(|kv| kv.key == "MESSAGE")
                    .and_then(|kv| kv.value.as_ref())
                    .and_then(|v| v.value.as_ref())
                    .map(|v| match v {
                        Value::StringValue(s) => s.clone(),
                        other => format!("{other:?}"),
                    })
                    .unwrap_or_default(),
                other => panic!("a body that is not the entry's fields: {other:?}"),
            },
        )
        .collect()
}

async fn wait_for(path: &Path, count: usize) -> Vec<ExportLogsServiceRequest> {
    for _ in 0..300 {
        if path.exists() {
            let requests = read_logs(path, true);
            if log_records(&requests).len() >= count {
                return requests;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let found = if path.exists() {
        messages(&read_logs(path, true))
    } else {
        Vec::new()
    };
    panic!(
        "fewer than {count} records in {}: {found:?}",
        path.display()
    );
}

fn config(journal: &Path, storage: &Path) -> String {
    format!(
        r#"
extensions:
  file_storage: {{ directory: "{storage}" }}
receivers:
  journald:
    directory: "{journal}"
    start_at: beginning
    priority: info
    storage: file_storage
  journald/app:
    directory: "{journal}"
    start_at: beginning
    units: [app.service]
    matches: [{{ SYSLOG_IDENTIFIER: app }}]
    priority: debug
  journald/new:
    directory: "{journal}"
exporters:
  file: {{ path: "{{dir}}/logs.jsonl", format: json }}
  file/app: {{ path: "{{dir}}/app.jsonl", format: json }}
  file/new: {{ path: "{{dir}}/new.jsonl", format: json }}
service:
  extensions: [file_storage]
  pipelines:
    logs: {{ receivers: [journald], exporters: [file] }}
    logs/app: {{ receivers: [journald/app], exporters: [file/app] }}
    logs/new: {{ receivers: [journald/new], exporters: [file/new] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        journal = journal.display(),
        storage = storage.display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_entries_are_followed_filtered_and_resumed_after_a_restart() {
    let journal = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    write_journal(
        journal.path(),
        "first.journal",
        &[
            ("app started", 6, "app", "app.service"),
            ("app details", 7, "app", "app.service"),
            ("db down", 3, "db", "db.service"),
        ],
    );
    let collector = TestCollector::start(&config(journal.path(), storage.path())).await;
    let requests = wait_for(&collector.path("logs.jsonl"), 2).await;
    assert_eq!(
        messages(&requests),
        ["app started", "db down"],
        "debug is below `info`"
    );
    let record = log_records(&requests)[0];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(record.time_unix_nano > now - 60_000_000_000 && record.time_unix_nano <= now);
    assert_eq!(
        messages(&wait_for(&collector.path("app.jsonl"), 2).await),
        ["app started", "app details"],
        "one unit and identifier, every priority"
    );

    // A journal file that appears while the receiver runs.
    write_journal(
        journal.path(),
        "second.journal",
        &[("cache warm", 5, "cache", "cache.service")],
    );
    let requests = wait_for(&collector.path("logs.jsonl"), 3).await;
    assert_eq!(messages(&requests)[2], "cache warm");
    assert_eq!(
        messages(&wait_for(&collector.path("new.jsonl"), 1).await),
        ["cache warm"],
        "`start_at: end` reads what is written after the start alone"
    );
    collector.shut_down_cleanly().await;

    // Written while the collector is down: the restart reads it, and nothing it had handed over already.
    write_journal(
        journal.path(),
        "third.journal",
        &[("while down", 4, "app", "app.service")],
    );
    let restarted = TestCollector::start(&config(journal.path(), storage.path())).await;
    wait_for(&restarted.path("logs.jsonl"), 1).await;
    // Time for anything read twice to arrive too.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        messages(&read_logs(&restarted.path("logs.jsonl"), true)),
        ["while down"]
    );
    restarted.shut_down_cleanly().await;
}
