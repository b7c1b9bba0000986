//! The `rabbitmq` receiver reading a real RabbitMQ broker (Debian's, started by the test on free loopback ports
//! with the management plugin), compared with what the test did to it through the management API.
//!
//! `rabbitmq-server` comes from Debian's package of that name (`cargo xtask setup` installs it); the broker runs
//! from `/usr/lib/rabbitmq/bin` as the user running the test, with its own data, logs, Erlang cookie and `epmd`.

mod common;

use common::{TestCollector, free_port, named_numbers, read_metrics, sum_times, wait_for_metrics};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const USER: &str = "otel";
const PASSWORD: &str = "otel's secret";

/// A broker of its own, stopped (with its `epmd`) when dropped.
struct Broker {
    child: Child,
    management: u16,
    epmd: u16,
}

impl Broker {
    fn start(dir: &Path) -> Broker {
        let (amqp, management, dist, epmd) = (free_port(), free_port(), free_port(), free_port());
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!(
                "listeners.tcp.default = 127.0.0.1:{amqp}\n\
                 management.tcp.ip = 127.0.0.1\n\
                 management.tcp.port = {management}\n\
                 default_user = {USER}\n\
                 default_pass = {PASSWORD}\n\
                 loopback_users = none\n\
                 collect_statistics_interval = 500\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.join("enabled_plugins"), "[rabbitmq_management].\n").unwrap();
        let child = Command::new("/usr/lib/rabbitmq/bin/rabbitmq-server")
            .env("HOME", dir)
            .env("RABBITMQ_HOME", "/usr/lib/rabbitmq")
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env(
                "RABBITMQ_NODENAME",
                format!("otel-test-{management}@localhost"),
            )
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", dir.join("pid"))
            .env("RABBITMQ_DIST_PORT", dist.to_string())
            .env("ERL_EPMD_PORT", epmd.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run rabbitmq-server: {e}; run `cargo xtask setup`"));
        let mut broker = Broker {
            child,
            management,
            epmd,
        };
        for _ in 0..600 {
            if let Ok(Some(status)) = broker.child.try_wait() {
                panic!("rabbitmq-server exited before it was ready: {status}");
            }
            if broker
                .api("GET", "/api/overview", "")
                .is_ok_and(|a| a.starts_with("HTTP/1.1 200"))
            {
                return broker;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the management API does not answer after 60 s");
    }

    /// One request to the management API as the test's account; the whole answer, head included.
    fn api(&self, method: &str, path: &str, body: &str) -> std::io::Result<String> {
        use base64::Engine as _;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.management))?;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {credentials}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    fn must(&self, method: &str, path: &str, body: &str) -> String {
        let answer = self.api(method, path, body).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 2"),
            "{method} {path}: {answer}"
        );
        answer
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // The broker's Erlang VM and the epmd it started run in the process group the test made.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        // epmd refuses to stop while it still lists the node, until it notices the node's connection closed.
        for _ in 0..50 {
            let stopped = Command::new("epmd")
                .args(["-port", &self.epmd.to_string(), "-kill"])
                .stderr(Stdio::null())
                .output()
                .map_or(true, |out| {
                    String::from_utf8_lossy(&out.stdout).contains("Killed")
                });
            if stopped {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_broker_is_read_as_its_management_api_says() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    broker.must("PUT", "/api/vhosts/shop", "");
    broker.must(
        "PUT",
        &format!("/api/permissions/shop/{USER}"),
        r#"{"configure":".*","write":".*","read":".*"}"#,
    );
    broker.must("PUT", "/api/queues/shop/orders", r#"{"durable":true}"#);
    for n in 0..3 {
        broker.must(
            "POST",
            "/api/exchanges/shop/amq.default/publish",
            &format!(
                r#"{{"properties":{{}},"routing_key":"orders","payload":"order {n}","payload_encoding":"string"}}"#
            ),
        );
    }
    broker.must(
        "POST",
        "/api/queues/shop/orders/get",
        r#"{"count":1,"ackmode":"ack_requeue_false","encoding":"auto"}"#,
    );
    let endpoint = format!("http://127.0.0.1:{}", broker.management);
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  rabbitmq:
    endpoint: "{endpoint}"
    username: {USER}
    password: "{PASSWORD}"
    collection_interval: 200ms
    initial_delay: 0s
    metrics: {{ rabbitmq.node.uptime: {{ enabled: true }}, rabbitmq.node.mem_used: {{ enabled: true }},
               rabbitmq.node.mem_alarm: {{ enabled: true }}, rabbitmq.node.fd_used_details.rate: {{ enabled: true }} }}
  rabbitmq/wrong:
    endpoint: "{endpoint}"
    username: {USER}
    password: nope
    collection_interval: 200ms
    initial_delay: 0s
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
  file/wrong: {{ path: "{{dir}}/wrong.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [rabbitmq], exporters: [file] }}
    metrics/wrong: {{ receivers: [rabbitmq/wrong], exporters: [file/wrong] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#
    ))
    .await;
    let file = collector.path("metrics.jsonl");
    // The broker refreshes its statistics every 500 ms here: wait until the publishes show.
    wait_for_metrics(&file, |requests| {
        named_numbers(
            &requests[requests.len().saturating_sub(1)..],
            "rabbitmq.message.published",
        ) == [(String::new(), 3.0)]
    })
    .await;
    let requests = read_metrics(&file, true);
    let last = &requests[requests.len() - 1..];
    let queue = &last[0].resource_metrics[0];
    let resource: Vec<String> = queue
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|kv| {
            format!(
                "{}={:?}",
                kv.key,
                kv.value.as_ref().and_then(|v| v.value.as_ref())
            )
        })
        .collect();
    assert_eq!(resource.len(), 3, "{resource:?}");
    assert!(resource[0].contains("rabbitmq.queue.name") && resource[0].contains("orders"));
    assert!(resource[1].contains(&format!("otel-test-{}@localhost", broker.management)));
    assert!(resource[2].contains("rabbitmq.vhost.name") && resource[2].contains("shop"));
    assert_eq!(
        named_numbers(last, "rabbitmq.message.published"),
        [(String::new(), 3.0)]
    );
    let mut current = named_numbers(last, "rabbitmq.message.current");
    current.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        current,
        [
            ("state=ready".to_owned(), 2.0),
            ("state=unacknowledged".to_owned(), 0.0)
        ],
        "three published, one taken"
    );
    assert_eq!(
        named_numbers(last, "rabbitmq.consumer.count"),
        [(String::new(), 0.0)]
    );
    let mem_used = named_numbers(last, "rabbitmq.node.mem_used");
    assert!(mem_used.len() == 1 && mem_used[0].1 > 1e6, "{mem_used:?}");
    assert_eq!(
        named_numbers(last, "rabbitmq.node.mem_alarm"),
        [(String::new(), 0.0)]
    );
    assert_eq!(
        named_numbers(last, "rabbitmq.node.fd_used_details.rate").len(),
        1
    );
    let uptime_ms = named_numbers(last, "rabbitmq.node.uptime")[0].1;
    let (start, time) = sum_times(last, "rabbitmq.node.uptime")[0];
    assert!(
        ((time - start) as f64 / 1e6 - uptime_ms).abs() < 1.0,
        "a node's figures start when it did: {start} {time} {uptime_ms}"
    );
    assert!(
        !collector.path("wrong.jsonl").exists()
            || read_metrics(&collector.path("wrong.jsonl"), true).is_empty(),
        "a refused login reports nothing"
    );
    collector.shut_down_cleanly().await;
}
