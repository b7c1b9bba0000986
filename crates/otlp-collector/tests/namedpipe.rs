//! The `namedpipe` receiver making its pipe and reading what shell writers (`sh -c 'echo … > pipe'`) put in it,
//! writers coming and going, and refusing a path that is no pipe.

mod common;

use common::{TestCollector, log_records, read_logs};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use otlp_collector::Config;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_written_by_writers_that_come_and_go_are_records() {
    let pipes = tempfile::tempdir().unwrap();
    let pipe = pipes.path().join("app.pipe");
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  namedpipe:
    path: "{pipe}"
    mode: 0620
    attributes: {{ source: pipe }}
exporters:
  file: {{ path: "{{dir}}/logs.jsonl", format: json }}
service:
  pipelines:
    logs: {{ receivers: [namedpipe], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        pipe = pipe.display()
    ))
    .await;
    let made = std::fs::metadata(&pipe).unwrap();
    assert!(made.file_type().is_fifo());
    assert_eq!(
        made.permissions().mode() & 0o7777,
        0o620,
        "the mode, whatever the umask"
    );

    // Three writers, one after the other, each opening and closing the pipe.
    for script in [
        "echo 'first line' > \"$0\"",
        "printf 'second line\\nthird line\\n' > \"$0\"",
        "printf 'fourth' > \"$0\"; printf ' line\\n' > \"$0\"",
    ] {
        let status = Command::new("sh")
            .args(["-c", script])
            .arg(&pipe)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let path = collector.path("logs.jsonl");
    let mut bodies = Vec::new();
    for _ in 0..100 {
        if path.exists() {
            let requests = read_logs(&path, true);
            bodies = log_records(&requests)
                .iter()
                .map(
                    |record| match record.body.as_ref().and_then(|b| b.value.as_ref()) {
                        Some(Value::StringValue(s)) => s.clone(),
                        other => format!("{other:?}"),
                    },
                )
                .collect();
            if bodies.len() >= 4 {
                assert_eq!(log_records(&requests)[0].attributes[0].key, "source");
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        bodies,
        ["first line", "second line", "third line", "fourth line"]
    );
    collector.shut_down_cleanly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_that_is_no_pipe_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("regular.log");
    std::fs::write(&file, "").unwrap();
    let config = Config::from_yaml(&format!(
        r#"
receivers:
  namedpipe: {{ path: "{}" }}
exporters:
  debug:
service:
  pipelines:
    logs: {{ receivers: [namedpipe], exporters: [debug] }}
  telemetry:
    metrics: {{ level: none }}
"#,
        file.display()
    ))
    .unwrap();
    let Err(error) = otlp_collector::Collector::new(config).start().await else {
        panic!("the start does not fail");
    };
    assert!(
        error.to_string().contains("exists and is not a named pipe"),
        "{error}"
    );
}
