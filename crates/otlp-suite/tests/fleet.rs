//! A fleet of real `otlp-suite` processes coordinated through a real etcd (Debian's `etcd-server`, started on a
//! free loopback port by otlp-testkit; the test fails naming the package when it is missing):
//!
//! - three collectors with the `fleet` extension register and see each other in `fleet status --json`, and one
//!   of them leads;
//! - a config stored with `fleet config set` is applied by all of them by a hot reload (their reported version
//!   changes and their spans go to the new file), while clients keep sending: every span arrives exactly once;
//!   a member that joins afterwards runs that config from the start;
//! - `fleet config set` refuses an invalid document; one written to etcd anyway is rejected by every member,
//!   with the reason in its record, and the last good config keeps running;
//! - `fleet pick` prefers the client's region, and says so when the region has no member; stopped collectors leave
//!   the fleet;
//! - the leader's process killed with SIGKILL is replaced by another member with a larger fencing token while the
//!   others keep serving, and an etcd restart is survived (a config set afterwards reaches every member);
//! - a canary whose new config makes its exports fail (the injected regression) is rolled back by the leader on
//!   its own, and every member returns to the stable version;
//! - a front collector whose `loadbalancing` exporter uses the `fleet` resolver follows a member joining and one
//!   leaving mid-stream, and loses no span;
//! - with etcd serving TLS only, demanding client certificates and with authentication on, a member and the
//!   `fleet` CLI get in with the CA, a client certificate and the password, and are refused without them;
//! - `degradation` limits set in the fleet document put every member in Emergency, where spans are answered and
//!   shed and `fleet pick` says the collector it gives is in emergency; raised limits bring every member back;
//! - an etcd that is not running is named as the cause, by `fleet status` and by a member that cannot start.

mod support;

use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_suite::control::etcd::{EtcdFleet, EtcdOptions};
use otlp_testkit::Generator;
use otlp_testkit::etcd::{EtcdServer, EtcdTls};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::{BINARY, Client, Collector, PATIENCE, read_spans, span_key};
use tokio::time::Instant;

const PREFIX: &str = "/fleet-test";

/// A member's own file: what it runs before the fleet has a config, and its per-member `fleet` settings.
const MEMBER: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{grpc}" } } }
exporters:
  file: { path: "{dir}/local.binpb", format: proto, sending_queue: { enabled: false } }
extensions:
  fleet:
    endpoints: ["{etcd}"]
    prefix: /fleet-test
    member_id: "{id}"
    region: "{region}"
    lease_ttl: 2s
    advertise: "127.0.0.1:{grpc}"
    report_interval: 100ms
    drain_timeout: 10s
service:
  extensions: [fleet]
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:{metrics}" }
"#;

/// The fleet's document: the same for every member, which finds its own ports and directory in its environment.
/// Spans now go to `fleet.binpb`, so the new behaviour shows.
const FLEET: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:${env:COLLECTOR_GRPC:-4317}" } } }
exporters:
  file: { path: "${env:COLLECTOR_DIR:-.}/fleet.binpb", format: proto, sending_queue: { enabled: false } }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:${env:COLLECTOR_METRICS:-8888}" }
"#;

/// A document whose pipeline names an exporter it does not define.
const INVALID: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:${env:COLLECTOR_GRPC:-4317}" } } }
exporters:
  debug: {}
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp/nowhere] }
"#;

/// A front tier, not a member itself: routes by trace id over the fleet's members, found through etcd.
const FRONT: &str = r#"
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{grpc}" } } }
processors:
  batch: { send_batch_size: 400, timeout: 20ms }
exporters:
  loadbalancing:
    protocol: { otlp: { tls: { insecure: true }, timeout: 1s } }
    resolver: { fleet: { endpoints: ["{etcd}"], prefix: /fleet-test } }
    retry_on_failure: { initial_interval: 50ms, max_interval: 500ms, max_elapsed_time: 0 }
    outlier_detection: { consecutive_failures: 2 }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [loadbalancing] }
  telemetry:
    metrics: { address: "127.0.0.1:{metrics}" }
"#;

fn etcd() -> EtcdServer {
    EtcdServer::start().unwrap_or_else(|error| panic!("{error}"))
}

/// Runs `otlp-suite fleet ARGS` against the test's fleet.
async fn fleet_cli(etcd: &str, args: &[&str]) -> std::process::Output {
    fleet_cli_as(etcd, &[], None, args).await
}

/// Runs `otlp-suite fleet ACCESS ARGS` (ACCESS: TLS and user flags) with `password` in its environment.
async fn fleet_cli_as(
    etcd: &str,
    access: &[&str],
    password: Option<&str>,
    args: &[&str],
) -> std::process::Output {
    let mut command = tokio::process::Command::from(otlp_testkit::process::command(BINARY));
    command
        .args(["fleet", "--endpoints", etcd, "--prefix", PREFIX])
        .args(access)
        .args(args);
    if let Some(password) = password {
        command.env("OTLP_FLEET_ETCD_PASSWORD", password);
    }
    command.output().await.unwrap()
}

async fn status(etcd: &str) -> Value {
    let output = fleet_cli(etcd, &["status", "--json"]).await;
    assert!(
        output.status.success(),
        "fleet status failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Reads `fleet status --json` until `condition` holds on it.
async fn wait_status(etcd: &str, what: &str, condition: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let status = status(etcd).await;
        if condition(&status) {
            return status;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "gave up waiting for {what}; last status: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn members(status: &Value) -> Vec<&Value> {
    status["members"]
        .as_array()
        .map(|members| members.iter().collect())
        .unwrap_or_default()
}

fn every_member(status: &Value, count: usize, condition: impl Fn(&Value) -> bool) -> bool {
    let members = members(status);
    members.len() == count && members.into_iter().all(condition)
}

/// Starts member `id` of the fleet on `etcd`, in `region`.
async fn start_member(etcd: &str, dir: &Path, id: &str, region: &str) -> Collector {
    let config = MEMBER
        .replace("{etcd}", etcd)
        .replace("{id}", id)
        .replace("{region}", region);
    Collector::start(id, dir, &config).await
}

/// Starts members `ids` (region `eu`) and waits until every one is registered and one of them leads.
async fn start_fleet(etcd: &str, dir: &Path, ids: &[&str]) -> Vec<Collector> {
    let mut collectors = Vec::new();
    for id in ids {
        collectors.push(start_member(etcd, dir, id, "eu").await);
    }
    wait_status(etcd, "every member registered and a leader", |status| {
        members(status).len() == ids.len() && !status["leader"].is_null()
    })
    .await;
    collectors
}

/// Stores FLEET as the stable config with `fleet config set` and waits until the `count` members run it as
/// version `version`.
async fn set_fleet_config(etcd: &str, dir: &Path, count: usize, version: u64) {
    set_fleet_document(etcd, dir, FLEET, count, version).await;
}

/// Stores `document` as the stable config with `fleet config set` and waits until the `count` members run it as
/// version `version`.
async fn set_fleet_document(etcd: &str, dir: &Path, document: &str, count: usize, version: u64) {
    let path = dir.join("fleet.yaml");
    std::fs::write(&path, document).unwrap();
    let output = fleet_cli(etcd, &["config", "set", path.to_str().unwrap()]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    wait_status(etcd, "every member on the stored config", |status| {
        every_member(status, count, |m| m["config"]["version"] == version)
    })
    .await;
}

/// Sends whole traces to `port` until `stop` is set (and at least `min` requests), resending what is refused
/// (as the OTLP SDKs do across a reload's short gap); returns every span sent.
async fn keep_sending(port: u16, seed: u64, stop: Arc<AtomicBool>, min: usize) -> Vec<Span> {
    let mut client = Client::connect(port).await;
    let mut generator = Generator::new(seed);
    let mut sent = Vec::new();
    let mut requests = 0;
    while requests < min || !stop.load(Ordering::Relaxed) {
        let request = generator.whole_traces(10);
        client.send_across_restarts(&request).await;
        sent.extend(
            request
                .resource_spans
                .into_iter()
                .flat_map(|r| r.scope_spans)
                .flat_map(|s| s.spans),
        );
        requests += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sent
}

/// Every span a collector wrote, from its local config's file and the fleet config's.
fn written(collector: &Collector) -> Vec<Span> {
    let mut spans = read_spans(&collector.dir.join("local.binpb"), false);
    spans.extend(read_spans(&collector.dir.join("fleet.binpb"), false));
    spans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_registers_applies_config_without_loss_and_rejects_invalid_config() {
    let etcd = etcd();
    let endpoint = etcd.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let mut collectors = Vec::new();
    for (id, region) in [("c1", "eu"), ("c2", "eu"), ("c3", "us")] {
        collectors.push(start_member(&endpoint, dir.path(), id, region).await);
    }

    // All three register and see each other; one leads.
    let seen = wait_status(&endpoint, "three members and a leader", |status| {
        members(status).len() == 3 && !status["leader"].is_null()
    })
    .await;
    let ids: BTreeSet<&str> = members(&seen)
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, BTreeSet::from(["c1", "c2", "c3"]));
    for (member, collector) in members(&seen).iter().zip(&collectors) {
        assert_eq!(member["address"], collector.address());
        assert!(member["config"]["version"].is_null(), "{member}");
    }

    // Clients keep sending while the fleet config is set and applied.
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = collectors
        .iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(keep_sending(c.grpc, i as u64 + 1, stop.clone(), 20)))
        .collect();
    let document = dir.path().join("fleet.yaml");
    std::fs::write(&document, FLEET).unwrap();
    let output = fleet_cli(&endpoint, &["config", "set", document.to_str().unwrap()]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "stored config version 1"
    );
    wait_status(&endpoint, "every member running version 1", |status| {
        every_member(status, 3, |m| m["config"]["version"] == 1)
    })
    .await;
    // A member that joins a fleet that has a config runs it from the start, not once the config next changes.
    let joined = start_member(&endpoint, dir.path(), "c4", "eu").await;
    wait_status(
        &endpoint,
        "the member that joined running version 1",
        |status| {
            members(status)
                .iter()
                .any(|m| m["id"] == "c4" && m["config"]["version"] == 1)
        },
    )
    .await;
    joined.stop().await;
    wait_status(&endpoint, "the member that joined gone", |status| {
        members(status).len() == 3
    })
    .await;
    // The new behaviour: spans land in the fleet config's file.
    for collector in &collectors {
        let started = Instant::now();
        while read_spans(&collector.dir.join("fleet.binpb"), false).is_empty() {
            assert!(
                started.elapsed() < PATIENCE,
                "{} never wrote with the fleet config:\n{}",
                collector.name,
                collector.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for (sender, collector) in senders.into_iter().zip(&collectors) {
        let sent = sender.await.unwrap();
        // Each request was answered only once its spans were in the file: all of them are there, once.
        let written = written(collector);
        let sent_keys: BTreeSet<_> = sent.iter().map(span_key).collect();
        let written_keys: BTreeSet<_> = written.iter().map(span_key).collect();
        assert_eq!(sent_keys.len(), sent.len(), "the generator repeated a span");
        assert_eq!(
            written.len(),
            written_keys.len(),
            "{} wrote a span twice",
            collector.name
        );
        assert_eq!(
            written_keys, sent_keys,
            "{} lost or invented spans across the reload",
            collector.name
        );
        assert!(collector.log().contains("fleet config applied"));
    }

    // The CLI refuses an invalid document before it reaches etcd...
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, INVALID).unwrap();
    let output = fleet_cli(&endpoint, &["config", "set", bad.to_str().unwrap()]).await;
    assert!(!output.status.success());
    let refusal = String::from_utf8_lossy(&output.stderr);
    assert!(refusal.contains("otlp/nowhere"), "{refusal}");
    // ...and members refuse one written anyway, keeping the last good config.
    let store = EtcdFleet::connect(&EtcdOptions::new([endpoint.as_str()], PREFIX))
        .await
        .unwrap();
    assert_eq!(store.put_config(INVALID.as_bytes()).await.unwrap(), 2);
    let rejected = wait_status(&endpoint, "every member rejecting version 2", |status| {
        every_member(status, 3, |m| m["config"]["rejected"]["version"] == 2)
    })
    .await;
    for member in members(&rejected) {
        assert_eq!(member["config"]["version"], 1, "{member}");
        let reason = member["config"]["rejected"]["reason"].as_str().unwrap();
        assert!(reason.contains("otlp/nowhere"), "{reason}");
    }
    let before = read_spans(&collectors[0].dir.join("fleet.binpb"), false).len();
    let more = keep_sending(collectors[0].grpc, 9, Arc::new(AtomicBool::new(true)), 3).await;
    let after = read_spans(&collectors[0].dir.join("fleet.binpb"), false).len();
    assert_eq!(
        after,
        before + more.len(),
        "the last good config no longer runs"
    );

    // Selection prefers the client's region.
    let output = fleet_cli(&endpoint, &["pick", "--region", "us"]).await;
    assert!(output.status.success());
    let picked = String::from_utf8_lossy(&output.stdout);
    assert!(
        picked.starts_with(&collectors[2].address()),
        "picked {picked}"
    );
    assert!(!picked.contains("no member"), "{picked}");
    // A region without members gets another's, and is told so.
    let output = fleet_cli(&endpoint, &["pick", "--region", "ap"]).await;
    assert!(output.status.success());
    let picked = String::from_utf8_lossy(&output.stdout);
    assert!(
        picked.trim_end().ends_with("; no member is in region ap"),
        "picked {picked}"
    );

    // Stopped collectors drain, exit cleanly and leave the fleet.
    for collector in collectors {
        collector.stop().await;
    }
    let left = status(&endpoint).await;
    assert!(members(&left).is_empty(), "{left:#}");
}

async fn rollout(etcd: &str) -> Value {
    let output = fleet_cli(etcd, &["rollout", "status", "--json"]).await;
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Reads `fleet rollout status --json` until the rollout is in `phase`.
async fn wait_rollout(etcd: &str, phase: &str) -> Value {
    let started = Instant::now();
    loop {
        let rollout = rollout(etcd).await;
        if rollout["phase"] == phase {
            return rollout;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "gave up waiting for the rollout to reach {phase}: {rollout:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the rollout to be rolled back with a reason containing `reason`, and for the `count` members to run
/// stable version 1 again; returns the status then.
async fn rolled_back_to_version_1(etcd: &str, reason: &str, count: usize) -> Value {
    let rolled_back = wait_rollout(etcd, "rolled_back").await;
    assert!(
        rolled_back["reason"]
            .as_str()
            .is_some_and(|why| why.contains(reason)),
        "{rolled_back:#}"
    );
    let status = wait_status(etcd, "every member back on version 1", |status| {
        every_member(status, count, |m| m["config"]["version"] == 1)
    })
    .await;
    assert_eq!(status["config_version"], 1);
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollouts_reach_every_member_and_one_that_cannot_start_rolls_back() {
    let etcd = etcd();
    let endpoint = etcd.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let collectors = start_fleet(&endpoint, dir.path(), &["r1", "r2"]).await;

    // A rolling rollout, one member per step, moves both to the document, which becomes the stable config.
    let document = dir.path().join("fleet.yaml");
    std::fs::write(&document, FLEET).unwrap();
    let start = |file: &std::path::Path| {
        let file = file.to_str().unwrap().to_owned();
        let endpoint = endpoint.clone();
        async move {
            fleet_cli(
                &endpoint,
                &[
                    "rollout",
                    "start",
                    "--file",
                    &file,
                    "--batch-size",
                    "1",
                    "--bake",
                    "200ms",
                    "--apply-timeout",
                    "60s",
                ],
            )
            .await
        }
    };
    let output = start(&document).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    wait_rollout(&endpoint, "succeeded").await;
    let status = wait_status(&endpoint, "both members on version 1", |status| {
        every_member(status, 2, |m| m["config"]["version"] == 1)
    })
    .await;
    assert_eq!(status["config_version"], 1);

    // A document that validates but cannot start (its metrics port comes from a variable no member has) is
    // rejected by the first member it reaches, which runs version 1 again and names the variable; the gate
    // fails and the rollout rolls back by itself.
    let unstartable = FLEET.replace(
        "${env:COLLECTOR_METRICS:-8888}",
        "${env:FLEET_TEST_METRICS_PORT}",
    );
    let document = dir.path().join("unstartable.yaml");
    std::fs::write(&document, unstartable).unwrap();
    let output = start(&document).await;
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    // The operator is told before any member fails.
    assert!(
        said.contains(
            "note: every member must set `FLEET_TEST_METRICS_PORT` (at \
             `service.telemetry.metrics.address`), which has no default"
        ),
        "{said}"
    );
    let status = rolled_back_to_version_1(&endpoint, "cannot start", 2).await;
    let rejected: Vec<_> = members(&status)
        .into_iter()
        .filter(|m| m["config"]["rejected"]["version"] == 2)
        .collect();
    assert_eq!(rejected.len(), 1, "{status:#}");
    let reason = rejected[0]["config"]["rejected"]["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("environment variable `FLEET_TEST_METRICS_PORT` is not set"),
        "{reason}"
    );

    // Both still serve with the last good config.
    for collector in &collectors {
        let before = read_spans(&collector.dir.join("fleet.binpb"), false).len();
        let sent = keep_sending(collector.grpc, 5, Arc::new(AtomicBool::new(true)), 2).await;
        let after = read_spans(&collector.dir.join("fleet.binpb"), false).len();
        assert_eq!(after, before + sent.len(), "{}", collector.log());
    }
    for collector in collectors {
        collector.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loadbalancing_front_follows_members_joining_and_leaving_without_losing_spans() {
    let etcd = etcd();
    let endpoint = etcd.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let mut fleet = start_fleet(&endpoint, dir.path(), &["m1", "m2"]).await;
    let second = fleet.pop().unwrap();
    let first = fleet.pop().unwrap();
    let front = Collector::start("front", dir.path(), &FRONT.replace("{etcd}", &endpoint)).await;
    let backends = |n: u64| {
        move |metrics: &support::Metrics| metrics.total("otelcol_loadbalancer_num_backends") == n
    };
    front.wait_for("two backends", backends(2)).await;

    let stop = Arc::new(AtomicBool::new(false));
    let sender = tokio::spawn(keep_sending(front.grpc, 11, stop.clone(), 50));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A member joins mid-stream and gets its share; another leaves (stopped cleanly, it deregisters) and its
    // share goes to the others.
    let third = start_member(&endpoint, dir.path(), "m3", "eu").await;
    front.wait_for("three backends", backends(3)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first_dir = first.dir.clone();
    first.stop().await;
    front.wait_for("two backends again", backends(2)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let sent = sender.await.unwrap();
    let metrics = front
        .wait_for("everything sent", |metrics| {
            metrics.total("otelcol_exporter_sent_spans") >= sent.len() as u64
        })
        .await;
    let retried = metrics.total("otelcol_loadbalancer_retried_spans");
    front.stop().await;

    let mut written = read_spans(&first_dir.join("local.binpb"), false);
    let joined = written_spans_of(&third);
    written.extend(written_spans_of(&second));
    written.extend(joined.iter().cloned());
    second.stop().await;
    third.stop().await;
    let landed: BTreeSet<_> = written.iter().map(span_key).collect();
    let expected: BTreeSet<_> = sent.iter().map(span_key).collect();
    assert_eq!(landed, expected, "every span sent landed");
    let duplicates = written.len() - landed.len();
    assert!(
        duplicates as u64 <= retried,
        "{duplicates} duplicates, {retried} spans retried"
    );
    assert!(!joined.is_empty(), "the member that joined got nothing");
}

/// What a member running its local config wrote so far.
fn written_spans_of(collector: &Collector) -> Vec<Span> {
    read_spans(&collector.dir.join("local.binpb"), false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_and_an_etcd_restart_is_survived_while_the_fleet_serves() {
    let mut etcd = etcd();
    let endpoint = etcd.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let mut collectors = start_fleet(&endpoint, dir.path(), &["k1", "k2", "k3"]).await;
    let status = status(&endpoint).await;
    let leader = status["leader"]["id"].as_str().unwrap().to_owned();
    let token = status["leader"]["token"].as_i64().unwrap();

    // SIGKILL the leader's process: no deregistration, no resignation; its lease (2s) expires.
    let position = collectors.iter().position(|c| c.name == leader).unwrap();
    let mut killed = collectors.remove(position);
    killed.kill().await;
    let status = wait_status(&endpoint, "a new leader among the two left", |status| {
        members(status).len() == 2
            && status["leader"]["id"]
                .as_str()
                .is_some_and(|id| id != leader)
    })
    .await;
    assert!(
        status["leader"]["token"].as_i64().unwrap() > token,
        "{status:#}"
    );
    for collector in &collectors {
        let before = written(collector).len();
        let sent = keep_sending(collector.grpc, 21, Arc::new(AtomicBool::new(true)), 3).await;
        assert_eq!(
            written(collector).len(),
            before + sent.len(),
            "{}",
            collector.log()
        );
    }

    // etcd restarts (same data, leases kept by etcd or re-granted by the members): both are members again, one
    // leads, and a config set afterwards reaches both.
    etcd.restart().unwrap();
    wait_status(
        &endpoint,
        "both members and a leader after the restart",
        |status| members(status).len() == 2 && !status["leader"].is_null(),
    )
    .await;
    set_fleet_config(&endpoint, dir.path(), 2, 1).await;
    for collector in &collectors {
        let before = read_spans(&collector.dir.join("fleet.binpb"), false).len();
        let sent = keep_sending(collector.grpc, 31, Arc::new(AtomicBool::new(true)), 3).await;
        let after = read_spans(&collector.dir.join("fleet.binpb"), false).len();
        assert_eq!(after, before + sent.len(), "{}", collector.log());
    }
    for collector in collectors {
        collector.stop().await;
    }
}

/// Sends to `port` until `stop`, whatever the answers: a member running a broken config refuses, and the test
/// only needs traffic for the members' error rates.
async fn keep_offering(port: u16, seed: u64, stop: Arc<AtomicBool>) -> usize {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let mut generator = Generator::new(seed);
    let mut refused = 0;
    while !stop.load(Ordering::Relaxed) {
        if let Ok(mut client) =
            TraceServiceClient::connect(format!("http://127.0.0.1:{port}")).await
        {
            while !stop.load(Ordering::Relaxed) {
                if client.export(generator.whole_traces(5)).await.is_err() {
                    refused += 1;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_whose_exports_fail_rolls_back_by_itself() {
    let etcd = etcd();
    let endpoint = etcd.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let collectors = start_fleet(&endpoint, dir.path(), &["q1", "q2", "q3"]).await;
    set_fleet_config(&endpoint, dir.path(), 3, 1).await;

    // The regression: the new version exports to a port nobody listens on, without queue or retries, so every
    // request the canary takes fails while the baseline's succeed.
    let closed = support::free_port();
    let broken = FLEET.replace(
        r#"file: { path: "${env:COLLECTOR_DIR:-.}/fleet.binpb", format: proto, sending_queue: { enabled: false } }"#,
        &format!(
            "otlp: {{ endpoint: \"127.0.0.1:{closed}\", tls: {{ insecure: true }}, timeout: 200ms, \
             sending_queue: {{ enabled: false }}, retry_on_failure: {{ enabled: false }} }}"
        ),
    )
    .replace("exporters: [file]", "exporters: [otlp]");
    assert_ne!(broken, FLEET);
    let document = dir.path().join("broken.yaml");
    std::fs::write(&document, broken).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = collectors
        .iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(keep_offering(c.grpc, 40 + i as u64, stop.clone())))
        .collect();
    let output = fleet_cli(
        &endpoint,
        &[
            "rollout",
            "start",
            "--file",
            document.to_str().unwrap(),
            "--canary",
            "--bake",
            "2s",
            "--apply-timeout",
            "60s",
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    rolled_back_to_version_1(&endpoint, "error rate", 3).await;
    stop.store(true, Ordering::Relaxed);
    let refused: usize = futures::future::join_all(senders)
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum();
    assert!(refused > 0, "the canary never refused a request");
    for collector in collectors {
        collector.stop().await;
    }
}

/// FLEET with a `degradation` extension whose memory limit is `mib`.
fn fleet_with_degradation(mib: u64) -> String {
    FLEET.replace(
        "service:\n",
        &format!(
            "extensions:\n  degradation: {{ check_interval: 100ms, limits: {{ max_memory_mib: {mib} }} }}\n\
             service:\n  extensions: [degradation]\n"
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn degradation_limits_in_the_fleet_document_hot_reload_on_every_member() {
    let etcd = etcd();
    let endpoint = etcd.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let collectors = start_fleet(&endpoint, dir.path(), &["d1", "d2"]).await;
    let level_everywhere = |level: &'static str| {
        move |status: &Value| every_member(status, 2, |m| m["load"]["level"] == level)
    };
    wait_status(
        &endpoint,
        "every member at normal",
        level_everywhere("normal"),
    )
    .await;

    // A limit every process is over: each member goes to Emergency and says so.
    set_fleet_document(&endpoint, dir.path(), &fleet_with_degradation(1), 2, 1).await;
    wait_status(
        &endpoint,
        "every member at emergency",
        level_everywhere("emergency"),
    )
    .await;
    // A client is still given a collector, and the operator is told what it will keep.
    let output = fleet_cli(&endpoint, &["pick"]).await;
    assert!(output.status.success());
    let picked = String::from_utf8_lossy(&output.stdout);
    assert!(
        picked
            .trim_end()
            .ends_with("; it is in emergency (keeping error spans only), as is every member"),
        "picked {picked}"
    );
    // Emergency keeps error spans only: a client's spans, none of them errors, are answered and shed.
    let before = read_spans(&collectors[0].dir.join("fleet.binpb"), false).len();
    let offered = keep_sending(collectors[0].grpc, 5, Arc::new(AtomicBool::new(true)), 3).await;
    assert!(!offered.is_empty());
    assert_eq!(
        read_spans(&collectors[0].dir.join("fleet.binpb"), false).len(),
        before
    );

    // The limit raised in the next version: every member is back at Normal, without a restart.
    set_fleet_document(
        &endpoint,
        dir.path(),
        &fleet_with_degradation(1 << 20),
        2,
        2,
    )
    .await;
    wait_status(
        &endpoint,
        "every member back at normal",
        level_everywhere("normal"),
    )
    .await;
    let more = keep_sending(collectors[0].grpc, 6, Arc::new(AtomicBool::new(true)), 3).await;
    assert_eq!(
        read_spans(&collectors[0].dir.join("fleet.binpb"), false).len(),
        before + more.len()
    );
    for collector in collectors {
        collector.stop().await;
    }
}

/// What a member adds to its `fleet` settings to reach an etcd with TLS, client certificates and a password.
fn secured_member(etcd: &str, pki: &Path, password: &str) -> String {
    let file = |name: &str| pki.join(name).display().to_string();
    MEMBER
        .replace("{etcd}", etcd)
        .replace("{id}", "secure")
        .replace("{region}", "eu")
        .replace(
        "    drain_timeout: 10s\n",
        &format!(
            "    drain_timeout: 10s\n    username: root\n    password: \"{password}\"\n    tls:\n      \
             ca_file: \"{}\"\n      cert_file: \"{}\"\n      key_file: \"{}\"\n",
            file("ca.pem"),
            file("client.pem"),
            file("client-key.pem"),
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secured_etcd_admits_members_and_operators_with_certificate_and_password_only() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    std::fs::create_dir(&pki).unwrap();
    otlp_testkit::pki::write_pki(&pki).unwrap();
    let etcd = EtcdServer::start_with_tls(EtcdTls {
        cert_file: pki.join("server.pem"),
        key_file: pki.join("server-key.pem"),
        client_ca_file: Some(pki.join("ca.pem")),
    })
    .unwrap_or_else(|error| panic!("{error}"));
    let endpoint = etcd.endpoint();
    assert!(endpoint.starts_with("https://"));

    // Authentication on, as an operator would turn it on: a root user with the root role.
    let tls = otlp_suite::fleet::EtcdTlsConfig {
        ca_file: Some(pki.join("ca.pem")),
        cert_file: Some(pki.join("client.pem")),
        key_file: Some(pki.join("client-key.pem")),
        server_name: None,
    };
    let admin =
        otlp_suite::fleet::connect(std::slice::from_ref(&endpoint), PREFIX, None, Some(&tls))
            .await
            .unwrap();
    let mut client = admin.client();
    client.user_add("root", "s3cret", None).await.unwrap();
    client.user_grant_role("root", "root").await.unwrap();
    client.auth_enable().await.unwrap();

    let collector = Collector::start(
        "secure",
        dir.path(),
        &secured_member(&endpoint, &pki, "s3cret"),
    )
    .await;

    let file = |name: &str| pki.join(name).display().to_string();
    let (ca, cert, key) = (file("ca.pem"), file("client.pem"), file("client-key.pem"));
    let operator = [
        "--cacert", &ca, "--cert", &cert, "--key", &key, "--user", "root",
    ];
    let started = Instant::now();
    loop {
        let output =
            fleet_cli_as(&endpoint, &operator, Some("s3cret"), &["status", "--json"]).await;
        assert!(
            output.status.success(),
            "fleet status with the certificate and the password failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let status: Value = serde_json::from_slice(&output.stdout).unwrap();
        if members(&status).len() == 1 && status["leader"]["id"] == "secure" {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the member never registered and led over TLS; last status: {status:#}\n{}",
            collector.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Each missing piece is refused, with etcd's reason in the message.
    let refused = |output: std::process::Output| {
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let wrong_password =
        refused(fleet_cli_as(&endpoint, &operator, Some("guess"), &["status"]).await);
    assert!(
        wrong_password.contains("authentication failed"),
        "{wrong_password}"
    );
    let (stranger, stranger_key) = (file("stranger.pem"), file("stranger-key.pem"));
    let foreign_certificate = [
        "--cacert",
        &ca,
        "--cert",
        &stranger,
        "--key",
        &stranger_key,
        "--user",
        "root",
    ];
    let untrusted =
        refused(fleet_cli_as(&endpoint, &foreign_certificate, Some("s3cret"), &["status"]).await);
    assert!(
        untrusted.contains("trusts the client certificate's CA"),
        "{untrusted}"
    );
    let no_certificate = refused(
        fleet_cli_as(
            &endpoint,
            &["--cacert", &ca, "--user", "root"],
            Some("s3cret"),
            &["status"],
        )
        .await,
    );
    assert!(
        no_certificate.contains("--cert and --key"),
        "{no_certificate}"
    );
    let plaintext = endpoint.replace("https://", "http://");
    let plaintext = refused(fleet_cli_as(&plaintext, &[], None, &["status"]).await);
    assert!(plaintext.contains("use https:// endpoints"), "{plaintext}");

    collector.stop().await;
}

/// A fleet whose etcd is not running (or runs on another port) is named as the cause, both to an operator and by a
/// member that cannot start, instead of a page of transport errors and a hint at TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etcd_that_is_not_running_is_named_as_the_cause() {
    let port = || otlp_testkit::net::free_port().unwrap_or_else(|e| panic!("no free port: {e}"));
    let nowhere = format!("http://127.0.0.1:{}", port());
    let expected = format!(
        "cannot talk to etcd at {nowhere}: connection refused; is etcd running, and listening there?"
    );

    let operator = fleet_cli(&nowhere, &["status"]).await;
    assert!(!operator.status.success());
    let message = String::from_utf8_lossy(&operator.stderr);
    assert!(message.contains(&expected), "{message}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("member.yaml");
    std::fs::write(
        &config,
        format!(
            "receivers:\n  otlp: {{ protocols: {{ grpc: {{ endpoint: \"127.0.0.1:{grpc}\" }} }} }}\n\
             exporters:\n  debug: {{}}\n\
             extensions:\n  fleet: {{ endpoints: [\"{nowhere}\"], member_id: lone, advertise: \"127.0.0.1:{grpc}\" }}\n\
             service:\n  extensions: [fleet]\n  telemetry: {{ metrics: {{ address: \"127.0.0.1:{metrics}\" }} }}\n  \
             pipelines:\n    traces: {{ receivers: [otlp], exporters: [debug] }}\n",
            grpc = port(),
            metrics = port(),
        ),
    )
    .unwrap();
    let member = tokio::time::timeout(
        PATIENCE,
        tokio::process::Command::from(otlp_testkit::process::command(BINARY))
            .arg("collect")
            .arg("--config")
            .arg(&config)
            .output(),
    )
    .await
    .expect("a member that cannot reach etcd did not exit")
    .unwrap();
    assert!(!member.status.success());
    let log = String::from_utf8_lossy(&member.stderr);
    assert!(
        log.contains(&format!("extensions.fleet: {expected}")),
        "{log}"
    );
}
