//! Fleet coordination latencies against a real etcd (otlp-testkit), feature `etcd`.
//!
//! * Criterion, `fleet_config/propagation_3_members`: `put_config` until all three members'
//!   followers have validated and applied the version, beside
//!   `fleet_config/peer_etcd_put_to_3_watches`: a raw etcd put until three raw watches saw it,
//!   the floor any watch-based propagation sits on.
//! * Notes (`$OTLP_BENCH_NOTES/otlp-control-fleet.md`): the same two as percentiles over 200
//!   changes, discovery latency (a member registers until three watchers list it) over 50 joins,
//!   and leader failover after SIGKILL over 5 runs of three member processes (this bench binary
//!   re-executed as `examples/fleet_member.rs`).

#[path = "../examples/fleet_member.rs"]
#[allow(dead_code)]
mod fleet_member;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use etcd_client::{EventType, WatchOptions};
use otlp_control::ConfigFollower;
use otlp_control::etcd::{EtcdFleet, EtcdOptions, MembershipOptions};
use otlp_control::fleet::{ConfigVersion, Member};
use otlp_testkit::etcd::EtcdServer;
use tokio::runtime::Runtime;
use tokio::sync::watch;

/// Set in the environment of the member processes this binary starts.
const MEMBER_ENV: &str = "OTLP_CONTROL_BENCH_MEMBER";
const TTL_SECS: u64 = 2;
const CHANGES: usize = 200;
const JOINS: usize = 50;
const FAILOVERS: usize = 5;

fn validate(config: &ConfigVersion) -> Result<serde_norway::Value, String> {
    serde_norway::from_str(config.text().ok_or("not UTF-8")?).map_err(|e| e.to_string())
}

struct Members {
    fleet: EtcdFleet,
    _followers: Vec<ConfigFollower<serde_norway::Value>>,
    applied: Vec<watch::Receiver<Option<Arc<otlp_control::Applied<serde_norway::Value>>>>>,
    _registrations: Vec<otlp_control::Registration>,
}

async fn connect(etcd: &EtcdServer) -> EtcdFleet {
    EtcdFleet::connect(&EtcdOptions::new([etcd.endpoint()], "/bench"))
        .await
        .unwrap()
}

async fn members(etcd: &EtcdServer) -> Members {
    let mut followers = Vec::new();
    let mut applied = Vec::new();
    let mut registrations = Vec::new();
    for id in ["m1", "m2", "m3"] {
        let fleet = connect(etcd).await;
        let member = Member::new(id, "eu", "127.0.0.1:4317", "0.1.0").unwrap();
        let options = MembershipOptions {
            ttl: Duration::from_secs(TTL_SECS),
        };
        let registration = fleet.register_member(member, options).await.unwrap();
        let targets = fleet.watch_target(id).await.unwrap();
        let follower = ConfigFollower::spawn(targets, registration.record(), validate);
        applied.push(follower.applied());
        followers.push(follower);
        registrations.push(registration);
    }
    Members {
        fleet: connect(etcd).await,
        _followers: followers,
        applied,
        _registrations: registrations,
    }
}

/// One config change until every member applied it.
async fn propagate(members: &Members, n: usize) -> Duration {
    let document = format!("batch:\n  size: {n}\n");
    let start = Instant::now();
    let version = members.fleet.put_config(document.as_bytes()).await.unwrap();
    for applied in &members.applied {
        let mut applied = applied.clone();
        applied
            .wait_for(|a| a.as_ref().is_some_and(|a| a.config.version >= version))
            .await
            .unwrap();
    }
    start.elapsed()
}

struct RawWatchers {
    client: etcd_client::Client,
    streams: Vec<etcd_client::WatchStream>,
}

async fn raw_watchers(etcd: &EtcdServer) -> RawWatchers {
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut client = connect(etcd).await.client();
        let stream = client
            .watch("/bench/raw", Some(WatchOptions::new()))
            .await
            .unwrap();
        streams.push(stream);
    }
    RawWatchers {
        client: connect(etcd).await.client(),
        streams,
    }
}

/// One raw put until the three raw watches delivered it.
async fn raw_put_watch(raw: &mut RawWatchers, n: usize) -> Duration {
    let start = Instant::now();
    raw.client
        .put("/bench/raw", n.to_string(), None)
        .await
        .unwrap();
    for stream in &mut raw.streams {
        loop {
            let response = stream.message().await.unwrap().unwrap();
            if response
                .events()
                .iter()
                .any(|e| e.event_type() == EventType::Put)
            {
                break;
            }
        }
    }
    start.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn row(name: &str, samples: &mut [Duration]) -> String {
    samples.sort();
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3);
    format!(
        "| {name} | {} | {} | {} | {} | {} |\n",
        samples.len(),
        ms(percentile(samples, 0.5)),
        ms(percentile(samples, 0.9)),
        ms(percentile(samples, 0.99)),
        ms(*samples.last().unwrap())
    )
}

async fn discovery_latencies(etcd: &EtcdServer) -> Vec<Duration> {
    let mut watches = Vec::new();
    for _ in 0..3 {
        watches.push(connect(etcd).await.watch_members().await.unwrap());
    }
    let joiner = connect(etcd).await;
    let mut samples = Vec::new();
    for i in 0..JOINS {
        let id = format!("joiner-{i}");
        let member = Member::new(&id, "us", "127.0.0.1:4317", "0.1.0").unwrap();
        let start = Instant::now();
        let registration = joiner
            .register_member(member, MembershipOptions::default())
            .await
            .unwrap();
        for watch in &watches {
            watch
                .wait_for(|members| members.iter().any(|m| m.id == id))
                .await
                .unwrap();
        }
        samples.push(start.elapsed());
        registration.deregister().await.unwrap();
        for watch in &watches {
            watch
                .wait_for(|members| members.iter().all(|m| m.id != id))
                .await
                .unwrap();
        }
    }
    samples
}

fn spawn_member(endpoint: &str, id: &str) -> Child {
    let exe = std::env::current_exe().unwrap();
    Command::new(exe)
        .env(MEMBER_ENV, "1")
        .args(["--endpoint", endpoint, "--prefix", "/failover", "--id", id])
        .args(["--ttl", &TTL_SECS.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn failover_times(etcd: &EtcdServer) -> Vec<Duration> {
    let observer = EtcdFleet::connect(&EtcdOptions::new([etcd.endpoint()], "/failover"))
        .await
        .unwrap();
    let leaders = observer.observe_leader().await.unwrap();
    let mut leader_rx = leaders.receiver();
    let mut children: Vec<(String, Child)> = (1..=3)
        .map(|i| {
            let id = format!("f{i}");
            (id.clone(), spawn_member(&etcd.endpoint(), &id))
        })
        .collect();
    let mut samples = Vec::new();
    for run in 0..FAILOVERS {
        let leader = leader_rx
            .wait_for(Option::is_some)
            .await
            .unwrap()
            .clone()
            .unwrap();
        let position = children
            .iter()
            .position(|(id, _)| *id == leader.id)
            .unwrap();
        let (_, mut child) = children.remove(position);
        let start = Instant::now();
        child.kill().unwrap(); // SIGKILL
        leader_rx
            .wait_for(|l| l.as_ref().is_some_and(|l| l.id != leader.id))
            .await
            .unwrap();
        samples.push(start.elapsed());
        child.wait().unwrap();
        let id = format!("f{}", run + 4);
        children.push((id.clone(), spawn_member(&etcd.endpoint(), &id)));
    }
    for (_, mut child) in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    samples
}

fn notes(runtime: &Runtime, etcd: &EtcdServer) {
    let Some(dir) = std::env::var_os("OTLP_BENCH_NOTES") else {
        return;
    };
    let (mut propagation, mut floor, mut discovery, mut failover) = runtime.block_on(async {
        let members = members(etcd).await;
        let mut raw = raw_watchers(etcd).await;
        let mut propagation = Vec::new();
        let mut floor = Vec::new();
        for n in 0..CHANGES {
            propagation.push(propagate(&members, n).await);
            floor.push(raw_put_watch(&mut raw, n).await);
        }
        let discovery = discovery_latencies(etcd).await;
        let failover = failover_times(etcd).await;
        (propagation, floor, discovery, failover)
    });
    let mut md = String::from(
        "### otlp-control: fleet coordination latencies on etcd\n\n\
         One local etcd 3.4 (Debian's etcd-server) on the same machine as every member; members \
         are real etcd clients, each with its own connection. *Config propagation*: \
         `put_config` until all 3 members' followers validated (YAML) and applied it. The peer \
         is the floor under it: a raw etcd put until 3 raw watches delivered the event. \
         *Discovery*: a member registers (lease grant + put) until 3 watchers list it. \
         *Failover*: SIGKILL of the leader's process (`examples/fleet_member.rs`, lease TTL \
         2 s) until an observer sees another leader; etcd expires the lease, then the next \
         candidate's campaign returns.\n\n\
         | measurement | n | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n",
    );
    md.push_str(&row("config propagation, 3 members", &mut propagation));
    md.push_str(&row("peer: etcd put → 3 watches", &mut floor));
    md.push_str(&row("discovery, member joins → 3 watchers", &mut discovery));
    md.push_str(&row(
        "leader failover after SIGKILL (TTL 2 s)",
        &mut failover,
    ));
    let target_failover = Duration::from_secs(TTL_SECS + 1);
    md.push_str(&format!(
        "\nTargets: propagation p99 ≤ 50 ms — {:.2} ms ({}); failover ≤ TTL + 1 s = {} s — worst \
         of {} runs {:.2} s ({}). Failover runs: {}.\n",
        percentile(&propagation, 0.99).as_secs_f64() * 1e3,
        if percentile(&propagation, 0.99) <= Duration::from_millis(50) {
            "met"
        } else {
            "missed"
        },
        target_failover.as_secs(),
        failover.len(),
        failover.last().unwrap().as_secs_f64(),
        if *failover.last().unwrap() <= target_failover {
            "met"
        } else {
            "missed"
        },
        failover
            .iter()
            .map(|d| format!("{:.2} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    std::fs::write(Path::new(&dir).join("otlp-control-fleet.md"), md).unwrap();
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let etcd = EtcdServer::start().unwrap_or_else(|error| panic!("{error}"));
    notes(&runtime, &etcd);
    let (members, mut raw) =
        runtime.block_on(async { (members(&etcd).await, raw_watchers(&etcd).await) });
    let mut c = std::mem::take(c)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = c.benchmark_group("fleet_config");
    let mut n = 0;
    group.bench_function("propagation_3_members", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    n += 1;
                    total += propagate(&members, n).await;
                }
                total
            })
        });
    });
    group.bench_function("peer_etcd_put_to_3_watches", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    n += 1;
                    total += raw_put_watch(&mut raw, n).await;
                }
                total
            })
        });
    });
    group.finish();
}

criterion_group!(fleet, benches);

fn main() {
    if std::env::var_os(MEMBER_ENV).is_some() {
        // A child process of the failover measurement: be a fleet member.
        let args = std::iter::once(std::ffi::OsString::from("fleet_member"))
            .chain(std::env::args_os().skip(1));
        if let Err(error) = fleet_member::run(args) {
            eprintln!("fleet member: {error}");
            std::process::exit(1);
        }
        return;
    }
    fleet();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
