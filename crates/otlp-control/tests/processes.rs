//! Multi-process fleet tests: each member is an `examples/fleet_member.rs` process (built by
//! `cargo test` next to this test binary), killed with SIGKILL where the test says so, against
//! a real etcd started by otlp-testkit.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::{etcd, fleet, within};
use otlp_control::etcd::{EtcdFleet, RolloutChange, RolloutRequest};
use otlp_control::fleet::{HealthGate, RolloutPhase, RolloutStrategy, RolloutTarget};
use tokio::process::{Child, Command};

/// Membership and leadership leases. A member renews every third of this, so a process that
/// stalls for two thirds of it drops out of the fleet: at 2 s, a live member of a rolling
/// update was once skipped as gone while the 2-core CI machine ran the workspace's other
/// tests beside these. A dead member's lease still expires within the
/// tests' patience.
const TTL_SECS: &str = "5";

/// `target/<profile>/examples/fleet_member`, which `cargo test --features etcd` builds.
fn member_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join("examples").join("fleet_member");
    assert!(
        binary.is_file(),
        "{} is missing: run the tests with `cargo test -p otlp-control --all-features`, which \
         builds the fleet_member example",
        binary.display()
    );
    binary
}

fn spawn_member(endpoint: &str, id: &str, extra: &[&str]) -> Child {
    Command::from(otlp_testkit::process::command(member_binary()))
        .args([
            "--endpoint",
            endpoint,
            "--prefix",
            "/p",
            "--id",
            id,
            "--region",
            "eu",
        ])
        .args(["--ttl", TTL_SECS])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

struct Fleet {
    observer: EtcdFleet,
    children: Vec<(String, Child)>,
}

impl Fleet {
    async fn start(endpoint: &str, extra: &[&str]) -> Self {
        let observer = fleet(endpoint, "/p").await;
        let children = ["m1", "m2", "m3"]
            .into_iter()
            .map(|id| (id.to_owned(), spawn_member(endpoint, id, extra)))
            .collect();
        let fleet = Self { observer, children };
        let members = fleet.observer.watch_members().await.unwrap();
        within("three member processes", members.wait_for(|m| m.len() == 3)).await;
        fleet
    }

    async fn kill(&mut self, id: &str) {
        let (_, child) = self
            .children
            .iter_mut()
            .find(|(member, _)| member == id)
            .unwrap();
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
    }

    async fn put_stable_config(&self, document: &[u8]) -> u64 {
        let version = self.observer.put_config(document).await.unwrap();
        let members = self.observer.watch_members().await.unwrap();
        within(
            "every member on the stable config",
            members.wait_for(|m| m.iter().all(|m| m.config.version == Some(version))),
        )
        .await;
        version
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_process_elects_a_new_leader_with_a_larger_token() {
    let etcd = etcd();
    let mut fleet = Fleet::start(&etcd.endpoint(), &[]).await;
    let leaders = fleet.observer.observe_leader().await.unwrap();
    let mut leader_rx = leaders.receiver();
    let first = within("a leader", leader_rx.wait_for(Option::is_some))
        .await
        .clone()
        .unwrap();

    fleet.kill(&first.id).await;
    let second = within(
        "a new leader",
        leader_rx.wait_for(|l| l.as_ref().is_some_and(|l| l.id != first.id)),
    )
    .await
    .clone()
    .unwrap();
    assert!(
        second.token > first.token,
        "fencing tokens must grow: {first:?} then {second:?}"
    );
    // The dead member's record expires with its lease, and the fleet keeps serving: the
    // survivors apply a new config.
    let members = fleet.observer.watch_members().await.unwrap();
    within(
        "the dead member to expire",
        members.wait_for(|m| m.len() == 2 && m.iter().all(|m| m.id != first.id)),
    )
    .await;
    fleet.put_stable_config(b"after_failover: true\n").await;
    let status = fleet.observer.status().await.unwrap();
    assert_eq!(status.leader.unwrap().id, second.id);
}

fn gate(bake: Duration) -> HealthGate {
    HealthGate {
        bake,
        apply_timeout: Duration::from_secs(30),
        ..HealthGate::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_with_an_injected_regression_rolls_back_by_itself() {
    let etcd = etcd();
    let fleet = Fleet::start(&etcd.endpoint(), &["--fail-on", "regress"]).await;
    let stable = fleet.put_stable_config(b"sampling: 1.0\n").await;
    let rollouts = fleet.observer.watch_rollout().await.unwrap();
    let started = fleet
        .observer
        .start_rollout(RolloutRequest {
            change: RolloutChange::Config(b"sampling: 0.5\nregress: true\n".to_vec()),
            strategy: RolloutStrategy::canary(),
            // No absolute error limit: the comparison with the baseline must catch it.
            gate: HealthGate {
                max_error_rate: 1.0,
                ..gate(Duration::from_secs(2))
            },
        })
        .await
        .unwrap();
    let canary_version = match started.target {
        RolloutTarget::Config { version } => version,
        other => panic!("{other:?}"),
    };
    let finished = within(
        "the rollout to end",
        rollouts.wait_for(|r| r.is_some_and(|r| r.id == started.id && !r.phase.is_active())),
    )
    .await
    .unwrap();
    let RolloutPhase::RolledBack { reason } = &finished.phase else {
        panic!("expected a rollback: {:#?}", finished.events);
    };
    assert!(reason.contains("regressed from baseline"), "{reason}");
    assert_eq!(finished.step, 0, "stopped at the 1% stage");
    let members = fleet.observer.watch_members().await.unwrap();
    let back = within(
        "every member back on the stable config",
        members.wait_for(|m| m.iter().all(|m| m.config.version == Some(stable))),
    )
    .await;
    assert_eq!(back.len(), 3);
    assert_eq!(
        fleet.observer.config().await.unwrap().unwrap().version,
        stable,
        "the canary version {canary_version} never became stable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_continues_a_rollout_started_by_a_dead_one() {
    let etcd = etcd();
    let mut fleet = Fleet::start(&etcd.endpoint(), &[]).await;
    fleet.put_stable_config(b"batch: 1\n").await;
    let leaders = fleet.observer.observe_leader().await.unwrap();
    let mut leader_rx = leaders.receiver();
    let leader = within("a leader", leader_rx.wait_for(Option::is_some))
        .await
        .clone()
        .unwrap();
    let rollouts = fleet.observer.watch_rollout().await.unwrap();
    let started = fleet
        .observer
        .start_rollout(RolloutRequest {
            change: RolloutChange::Config(b"batch: 2\n".to_vec()),
            strategy: RolloutStrategy::Rolling { batch_size: 1 },
            gate: gate(Duration::from_secs(2)),
        })
        .await
        .unwrap();
    assert_eq!(
        started.plan.last(),
        Some(&leader.id),
        "the leader goes last"
    );
    within(
        "the leader to move the rollout to its second step",
        rollouts.wait_for(|r| r.is_some_and(|r| r.step >= 1)),
    )
    .await;

    fleet.kill(&leader.id).await;
    let finished = within(
        "the rollout to end under the new leader",
        rollouts.wait_for(|r| r.is_some_and(|r| !r.phase.is_active())),
    )
    .await
    .unwrap();
    assert_eq!(
        finished.phase,
        RolloutPhase::Succeeded,
        "{:#?}",
        finished.events
    );
    let tokens = finished.driver_tokens();
    assert!(tokens.len() >= 2, "driven by one leader only: {tokens:?}");
    assert_eq!(tokens[0], leader.token);
    assert!(
        tokens.windows(2).all(|pair| pair[0] < pair[1]),
        "{tokens:?}"
    );
    assert_eq!(finished.skipped, std::slice::from_ref(&leader.id));
    let RolloutTarget::Config { version } = finished.target else {
        panic!("{:?}", finished.target);
    };
    assert_eq!(
        fleet.observer.config().await.unwrap().unwrap().version,
        version
    );
    let members = fleet.observer.watch_members().await.unwrap();
    within(
        "the survivors on the new config",
        members.wait_for(|m| m.len() == 2 && m.iter().all(|m| m.config.version == Some(version))),
    )
    .await;
}
