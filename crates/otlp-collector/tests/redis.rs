//! The `redis` receiver reading a real Redis server (the Debian package's, started by the test on free loopback
//! ports with a password, an ACL user, a Unix socket and TLS with the test PKI), compared with what `redis-cli`
//! did to it and what the server says of itself.
//!
//! `redis-server` and `redis-cli` come from PATH (`cargo xtask setup` installs them).

mod common;

use common::{
    TestCollector, attribute, free_port, labelled_numbers, read_metrics, wait_for_metrics,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "default-s3cret";

/// A Redis server of its own, stopped when dropped.
struct Redis {
    child: Child,
    port: u16,
    socket: String,
}

impl Redis {
    /// Starts Redis on `port` with TLS on `tls_port` (the test PKI in `pki`) and a socket in `dir`, and waits
    /// until it answers.
    fn start(port: u16, tls_port: u16, pki: &Path, dir: &Path) -> Redis {
        let socket = dir.join("redis.sock").display().to_string();
        let pki = pki.display();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--unixsocket", &socket, "--unixsocketperm", "700"])
            .args(["--requirepass", PASSWORD])
            .args([
                "--user",
                "valkey",
                "on",
                ">valkey-s3cret",
                "~*",
                "&*",
                "+@all",
            ])
            .args(["--tls-port", &tls_port.to_string()])
            .args(["--tls-cert-file", &format!("{pki}/server.pem")])
            .args(["--tls-key-file", &format!("{pki}/server-key.pem")])
            .args(["--tls-ca-cert-file", &format!("{pki}/ca.pem")])
            .args(["--tls-auth-clients", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run redis-server: {e}; run `cargo xtask setup`"));
        let redis = Redis {
            child,
            port,
            socket,
        };
        for _ in 0..300 {
            if redis.cli(&["PING"]).is_ok_and(|answer| answer == "PONG") {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server does not answer after 15 s");
    }

    /// `redis-cli` running `arguments` as the default user, its answer trimmed.
    fn cli(&self, arguments: &[&str]) -> Result<String, String> {
        let output = Command::new("redis-cli")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "--no-auth-warning",
            ])
            .args(["-a", PASSWORD])
            .args(arguments)
            .output()
            .map_err(|e| format!("cannot run redis-cli: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The value of `field` in the server's `INFO`.
    fn info(&self, field: &str) -> String {
        let info = self.cli(&["INFO", "all"]).unwrap();
        info.lines()
            .find_map(|line| {
                line.trim_end()
                    .strip_prefix(&format!("{field}:"))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no {field} in INFO"))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The points of `name` from the receiver whose resource's `server.port` is `port` (each receiver of the test
/// sets it), as (attributes `key=value` joined by `,`, value).
fn points(requests: &[ExportMetricsServiceRequest], port: &str, name: &str) -> Vec<(String, f64)> {
    requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .filter(|rm| {
            rm.resource.as_ref().is_some_and(|resource| {
                matches!(attribute(&resource.attributes, "server.port"), Some(Value::StringValue(p)) if p == port)
            })
        })
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == name)
        .flat_map(labelled_numbers)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_is_read_over_tcp_tls_and_a_socket_and_again_after_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    common::pki::write_pki(dir.path());
    let (port, tls_port) = (free_port(), free_port());
    let redis = Redis::start(port, tls_port, dir.path(), dir.path());
    for i in 0..7 {
        redis
            .cli(&["-n", "5", "SET", &format!("key{i}"), "v"])
            .unwrap();
    }
    redis
        .cli(&["-n", "5", "SET", "short-lived", "v", "EX", "3600"])
        .unwrap();
    redis.cli(&["GET", "missing"]).unwrap();
    let version = redis.info("redis_version");

    let p = dir.path().display();
    let collector = TestCollector::start(&format!(
        r#"
receivers:
  redis:
    endpoint: "127.0.0.1:{port}"
    username: valkey
    password: valkey-s3cret
    collection_interval: 100ms
    initial_delay: 0s
    metrics: {{ redis.cmd.calls: {{ enabled: true }}, redis.role: {{ enabled: true }} }}
    resource_attributes: {{ server.address: {{ enabled: true }}, server.port: {{ enabled: true }} }}
  redis/tls:
    endpoint: "localhost:{tls_port}"
    password: {PASSWORD}
    tls: {{ insecure: false, ca_file: "{p}/ca.pem" }}
    collection_interval: 100ms
    initial_delay: 0s
    resource_attributes: {{ server.port: {{ enabled: true }} }}
  redis/socket:
    endpoint: "{socket}"
    transport: unix
    password: {PASSWORD}
    collection_interval: 100ms
    initial_delay: 0s
  redis/wrong-password:
    endpoint: "127.0.0.1:{port}"
    password: not-it
    collection_interval: 100ms
    initial_delay: 0s
    resource_attributes: {{ server.port: {{ enabled: true }} }}
exporters:
  file: {{ path: "{{dir}}/metrics.jsonl", format: json }}
service:
  pipelines:
    metrics: {{ receivers: [redis, redis/tls, redis/socket, redis/wrong-password], exporters: [file] }}
  telemetry:
    metrics: {{ address: "127.0.0.1:0" }}
"#,
        socket = redis.socket,
    ))
    .await;
    let path = collector.path("metrics.jsonl");
    let (port_text, tls_text) = (port.to_string(), tls_port.to_string());
    wait_for_metrics(&path, |requests| {
        points(requests, &port_text, "redis.uptime").len() >= 2
            && !points(requests, &tls_text, "redis.uptime").is_empty()
            && requests.iter().any(|r| {
                r.resource_metrics[0]
                    .resource
                    .as_ref()
                    .is_some_and(|res| res.attributes.len() == 1)
            })
    })
    .await;

    // The server stops and starts again on the same ports, empty: the receiver connects again and reads the new
    // server's keys.
    drop(redis);
    let redis = Redis::start(port, tls_port, dir.path(), dir.path());
    redis
        .cli(&["-n", "9", "SET", "after-restart", "v"])
        .unwrap();
    wait_for_metrics(&path, |requests| {
        points(requests, &port_text, "redis.db.keys")
            .iter()
            .any(|(db, _)| db == "db=9")
    })
    .await;
    let processed_after = redis.info("total_commands_processed");
    let dir_out = collector.shut_down_cleanly().await;
    let requests = read_metrics(&dir_out.path().join("metrics.jsonl"), true);

    // Over TCP as the ACL user: the resource, and what redis-cli did.
    let first = requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .find(|rm| {
            rm.resource.as_ref().is_some_and(|res| {
                matches!(attribute(&res.attributes, "server.port"), Some(Value::StringValue(p)) if *p == port_text)
                    && attribute(&res.attributes, "server.address").is_some()
            })
        })
        .expect("a scrape over TCP");
    let resource = first.resource.as_ref().unwrap();
    assert_eq!(
        attribute(&resource.attributes, "redis.version"),
        Some(&Value::StringValue(version))
    );
    assert_eq!(
        attribute(&resource.attributes, "server.address"),
        Some(&Value::StringValue("127.0.0.1".into()))
    );
    assert!(
        first.scope_metrics[0]
            .scope
            .as_ref()
            .unwrap()
            .name
            .ends_with("/receiver/redisreceiver")
    );
    let keys = points(&requests, &port_text, "redis.db.keys");
    assert!(keys.contains(&("db=5".into(), 8.0)), "{keys:?}");
    assert!(
        keys.contains(&("db=9".into(), 1.0)),
        "after the restart: {keys:?}"
    );
    let expires = points(&requests, &port_text, "redis.db.expires");
    assert!(expires.contains(&("db=5".into(), 1.0)), "{expires:?}");
    let misses = points(&requests, &port_text, "redis.keyspace.misses");
    assert!(misses.iter().any(|(_, v)| *v >= 1.0), "{misses:?}");
    let sets = points(&requests, &port_text, "redis.cmd.calls");
    assert!(sets.contains(&("cmd=set".into(), 8.0)), "{sets:?}");
    assert!(
        points(&requests, &port_text, "redis.role")
            .iter()
            .all(|p| *p == ("role=primary".into(), 1.0))
    );
    let cpu = points(&requests, &port_text, "redis.cpu.time");
    for state in [
        "sys",
        "user",
        "sys_children",
        "user_children",
        "sys_main_thread",
        "user_main_thread",
    ] {
        assert!(
            cpu.iter().any(|(a, _)| *a == format!("state={state}")),
            "{state}: {cpu:?}"
        );
    }
    let processed = points(&requests, &port_text, "redis.commands.processed");
    let last = processed.last().unwrap().1;
    assert!(
        last > 0.0 && last <= processed_after.parse::<f64>().unwrap(),
        "{processed:?}"
    );
    let connected = points(&requests, &port_text, "redis.clients.connected");
    assert!(
        connected.iter().all(|(_, v)| *v >= 1.0),
        "its own connection at least: {connected:?}"
    );

    // Over TLS, verified with the test CA.
    assert!(!points(&requests, &tls_text, "redis.memory.used").is_empty());
    // Over the socket (no server attributes: the default resource is `redis.version` alone).
    let socket_scrapes = requests
        .iter()
        .filter(|r| {
            r.resource_metrics[0]
                .resource
                .as_ref()
                .is_some_and(|res| res.attributes.len() == 1)
        })
        .count();
    assert!(socket_scrapes >= 1);
    // With the wrong password: nothing, rather than zeros. Every scrape with `server.port` = the TCP port came
    // from the ACL user's receiver, which also sets `server.address`.
    let tcp_scrapes: Vec<_> = requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .filter(|rm| {
            matches!(rm.resource.as_ref().and_then(|res| attribute(&res.attributes, "server.port")), Some(Value::StringValue(p)) if *p == port_text)
        })
        .collect();
    assert!(tcp_scrapes.iter().all(|rm| {
        attribute(&rm.resource.as_ref().unwrap().attributes, "server.address").is_some()
    }));
    drop(redis);
}
