//! The `zookeeper` receiver reading a real ZooKeeper server (Debian's, started by the test on a free loopback port
//! with `mntr` and `ruok` allowed), compared with what the server's own `mntr` says.
//!
//! The server's jar and `zkCli.sh` come from Debian's `zookeeper` package (`cargo xtask setup` installs it), run
//! with the machine's `java`.

mod common;

use common::{TestCollector, free_port, named_numbers, read_metrics, sum_times, wait_for_metrics};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A standalone server of its own, stopped when dropped.
struct Zookeeper {
    child: Child,
    port: u16,
}

impl Zookeeper {
    fn start(dir: &Path) -> Zookeeper {
        let port = free_port();
        let config = dir.join("zoo.cfg");
        std::fs::create_dir(dir.join("data")).unwrap();
        std::fs::write(
            &config,
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 4lw.commands.whitelist=mntr,ruok\nadmin.enableServer=false\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("java")
            .args([
                "-cp",
                "/usr/share/java/zookeeper.jar",
                "org.apache.zookeeper.server.ZooKeeperServerMain",
            ])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run java: {e}; run `cargo xtask setup`"));
        let mut server = Zookeeper { child, port };
        for _ in 0..300 {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("ZooKeeper exited before it was ready: {status}");
            }
            if server.ask("ruok").is_ok_and(|answer| answer == "imok") {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("ZooKeeper does not answer after 30 s");
    }

    /// A four-letter command's answer.
    fn ask(&self, command: &str) -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        stream.write_all(command.as_bytes())?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    /// The value of `key` in `mntr`'s answer.
    fn mntr(&self, key: &str) -> String {
        let answer = self.ask("mntr").unwrap();
        answer
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('\t'))
            .unwrap_or_else(|| panic!("no {key} in {answer}"))
            .to_owned()
    }
}

impl Drop for Zookeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_is_read_as_its_mntr_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = Zookeeper::start(dir.path());
    // A server that answers `ruok` may not take sessions yet (zkCli then reports ConnectionLoss): asked again.
    let mut said = String::new();
    for _ in 0..10 {
        let created = Command::new("/usr/share/zookeeper/bin/zkCli.sh")
            .args(["-server", &format!("127.0.0.1:{}", server.port)])
            .args(["create", "/otel", "a znode of the test's"])
            .output()
            .expect("running zkCli.sh");
        said = format!(
            "{}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        if said.contains("Created /otel") || said.contains("Node already exists") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        said.contains("Created /otel") || said.contains("Node already exists"),
        "{said}"
    );
    let closed = free_port();
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  zookeeper:
    endpoint: "127.0.0.1:{port}"
    collection_interval: 200ms
    initial_delay: 0s
  zookeeper/down:
    endpoint: "127.0.0.1:{closed}"
    collection_interval: 200ms
    initial_delay: 0s
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
  file/down: {{ path: "{{dir}}/down.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [zookeeper], exporters: [file] }}
    metrics/down: {{ receivers: [zookeeper/down], exporters: [file/down] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        port = server.port
    ))
    .await;
    let file = collector.path("metrics.jsonl");
    wait_for_metrics(&file, |requests| requests.len() >= 2).await;
    let requests = read_metrics(&file, true);
    let last = &requests[requests.len() - 1..];
    let number = |key: &str| server.mntr(key).parse::<f64>().unwrap();
    for (metric, key) in [
        ("zookeeper.znode.count", "zk_znode_count"),
        ("zookeeper.data_tree.size", "zk_approximate_data_size"),
        (
            "zookeeper.file_descriptor.limit",
            "zk_max_file_descriptor_count",
        ),
        (
            "zookeeper.data_tree.ephemeral_node.count",
            "zk_ephemerals_count",
        ),
        ("zookeeper.watch.count", "zk_watch_count"),
    ] {
        assert_eq!(
            named_numbers(last, metric),
            [(String::new(), number(key))],
            "{metric}"
        );
    }
    assert!(
        number("zk_znode_count") >= 2.0,
        "the test's znode is counted"
    );
    assert_eq!(
        named_numbers(last, "zookeeper.ruok"),
        [(String::new(), 1.0)]
    );
    let packets = named_numbers(last, "zookeeper.packet.count");
    assert_eq!(packets.len(), 2, "{packets:?}");
    assert!(
        packets.iter().all(|(_, n)| *n >= 1.0),
        "zkCli's session: {packets:?}"
    );
    let (start, time) = sum_times(last, "zookeeper.packet.count")[0];
    let uptime_ms: f64 = number("zk_uptime");
    assert!(
        ((time - start) as f64 / 1e6) <= uptime_ms,
        "the counters start when the server did"
    );
    let resource = &last[0].resource_metrics[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    let text = |i: usize| match resource[i].value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s)) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (resource[0].key.as_str(), text(0).as_str()),
        ("server.state", "standalone")
    );
    assert_eq!(resource[1].key, "zk.version");
    assert!(
        server.mntr("zk_version").starts_with(&text(1)) && !text(1).contains("built on"),
        "{}",
        text(1)
    );
    assert!(
        !collector.path("down.jsonl").exists()
            || read_metrics(&collector.path("down.jsonl"), true).is_empty(),
        "a server that does not answer reports nothing"
    );
    collector.shut_down_cleanly().await;
}
