//! In-process fleet tests against a real etcd started by otlp-testkit.

mod common;

use std::time::Duration;

use common::{Proxy, etcd, fleet, member, within};
use etcd_client::{CompactionOptions, GetOptions};
use otlp_control::Error;
use otlp_control::etcd::{LeaderOptions, RolloutChange, RolloutRequest};
use otlp_control::fleet::{HealthGate, PickRequest, PickStrategy, RolloutPhase, RolloutStrategy};

const TTL: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_register_and_see_each_other() {
    let etcd = etcd();
    let endpoint = etcd.endpoint();
    let mut members = Vec::new();
    let mut watches = Vec::new();
    for (id, region) in [("c1", "eu"), ("c2", "eu"), ("c3", "us")] {
        let fleet = fleet(&endpoint, "/t").await;
        watches.push(fleet.watch_members().await.unwrap());
        members.push(member(&fleet, id, region, TTL).await);
    }
    for watch in &watches {
        let seen = within("three members", watch.wait_for(|m| m.len() == 3)).await;
        let ids: Vec<&str> = seen.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["c1", "c2", "c3"]);
    }
    // A load update of one member reaches the others.
    members[0]
        .registration
        .record()
        .update(|m| m.load.spans_per_sec = 1234.0);
    within(
        "the load update",
        watches[2].wait_for(|m| m.iter().any(|m| m.load.spans_per_sec == 1234.0)),
    )
    .await;
    // A member that leaves is gone for the others.
    let leaving = members.pop().unwrap();
    leaving.registration.deregister().await.unwrap();
    within("c3 to leave", watches[0].wait_for(|m| m.len() == 2)).await;

    // Picking: same region first, least loaded.
    members[0]
        .registration
        .record()
        .update(|m| m.load.cpu = 0.9);
    let fleet = fleet(&endpoint, "/t").await;
    within("c1's cpu", watches[1].wait_for(|m| m[0].load.cpu == 0.9)).await;
    let request = PickRequest {
        region: Some("eu".into()),
        strategy: PickStrategy::LeastLoaded,
        ..PickRequest::default()
    };
    assert_eq!(fleet.pick(&request).await.unwrap().unwrap().id, "c2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_restart_is_survived() {
    let mut etcd = etcd();
    let endpoint = etcd.endpoint();
    let observer = fleet(&endpoint, "/t").await;
    let watch = observer.watch_members().await.unwrap();
    let mut members = Vec::new();
    for id in ["c1", "c2", "c3"] {
        members.push(member(&fleet(&endpoint, "/t").await, id, "eu", TTL).await);
    }
    within("three members", watch.wait_for(|m| m.len() == 3)).await;

    etcd.stop().unwrap();
    // With etcd down, no keep-alive lands: each member's lease runs out of time.
    for member in &members {
        within(
            "the lease to be lost",
            member.registration.wait_status(|s| !s.registered),
        )
        .await;
    }
    etcd.restart().unwrap();
    for member in &members {
        let status = within("re-registration", member.registration.wait_registrations(2)).await;
        assert!(status.registrations >= 2);
    }
    // The watch resumed: it sees updates made after the restart.
    for (i, member) in members.iter().enumerate() {
        member
            .registration
            .record()
            .update(|m| m.load.queue_depth = 100 + i as u64);
    }
    let seen = within(
        "post-restart updates",
        watch.wait_for(|m| m.len() == 3 && m.iter().all(|m| m.load.queue_depth >= 100)),
    )
    .await;
    assert_eq!(seen.len(), 3);
    assert!(watch.stats().resumes >= 1, "{:?}", watch.stats());
    assert_eq!(observer.members().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_reregisters_after_its_lease_is_revoked() {
    let etcd = etcd();
    let fleet = fleet(&etcd.endpoint(), "/t").await;
    let member = member(&fleet, "c1", "eu", TTL).await;
    let mut client = fleet.client();
    let key = fleet.keys().member("c1");
    let lease = client.get(key.as_str(), None).await.unwrap().kvs()[0].lease();
    client.lease_revoke(lease).await.unwrap();
    within("re-registration", member.registration.wait_registrations(2)).await;
    let kvs = client.get(key.as_str(), None).await.unwrap();
    assert_eq!(kvs.kvs().len(), 1);
    assert_ne!(kvs.kvs()[0].lease(), lease, "registered under a new lease");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resyncs_after_compaction() {
    let etcd = etcd();
    let admin = fleet(&etcd.endpoint(), "/t").await;
    let proxy = Proxy::start(etcd.client_addr()).await;
    let behind_proxy = fleet(&proxy.endpoint, "/t").await;
    let watch = behind_proxy.watch_members().await.unwrap();
    let first = member(&admin, "c1", "eu", TTL).await;
    within("c1", watch.wait_for(|m| m.len() == 1)).await;

    // Partition the watcher; meanwhile membership changes and etcd compacts its history.
    proxy.partition(true);
    first.registration.deregister().await.unwrap();
    let _second = member(&admin, "c2", "eu", TTL).await;
    let mut client = admin.client();
    for i in 0..10 {
        client
            .put(format!("/t/noise/{i}"), "x", None)
            .await
            .unwrap();
    }
    let revision = client
        .get("/t/noise/", Some(GetOptions::new().with_prefix()))
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    client
        .compact(revision, Some(CompactionOptions::new().with_physical()))
        .await
        .unwrap();
    proxy.partition(false);

    let seen = within(
        "the resynced member set",
        watch.wait_for(|m| m.len() == 1 && m[0].id == "c2"),
    )
    .await;
    assert_eq!(seen[0].region, "eu");
    let stats = watch.stats();
    assert!(stats.resyncs >= 1, "{stats:?}");
    assert!(stats.revision >= revision, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_config_is_rejected_and_the_last_good_one_kept() {
    let etcd = etcd();
    let fleet = fleet(&etcd.endpoint(), "/t").await;
    let watch = fleet.watch_members().await.unwrap();
    let member = member(&fleet, "c1", "eu", TTL).await;

    let good = fleet.put_config(b"batch:\n  size: 512\n").await.unwrap();
    within(
        "v1 applied",
        watch.wait_for(|m| m[0].config.version == Some(good)),
    )
    .await;

    let bad = fleet.put_config(b"batch: [unclosed\n").await.unwrap();
    let seen = within(
        "v2 rejected",
        watch.wait_for(|m| {
            m[0].config
                .rejected
                .as_ref()
                .is_some_and(|r| r.version == bad)
        }),
    )
    .await;
    assert_eq!(
        seen[0].config.version,
        Some(good),
        "still runs the last good one"
    );
    let reason = &seen[0].config.rejected.as_ref().unwrap().reason;
    assert!(reason.contains("invalid YAML"), "{reason}");
    let running = member.follower.current().unwrap();
    assert_eq!(running.config.version, good);
    assert_eq!(running.value["batch"]["size"], 512);
    let status = fleet.status().await.unwrap();
    assert!(
        status
            .to_string()
            .contains(&format!("rejected config v{bad}"))
    );

    let fixed = fleet.put_config(b"batch:\n  size: 1024\n").await.unwrap();
    let seen = within(
        "v3 applied",
        watch.wait_for(|m| m[0].config.version == Some(fixed)),
    )
    .await;
    assert_eq!(
        seen[0].config.rejected, None,
        "the older rejection is cleared"
    );
    assert_eq!(fleet.config().await.unwrap().unwrap().version, fixed);
    assert_eq!(
        fleet.config_version(good).await.unwrap().unwrap().text(),
        Some("batch:\n  size: 512\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_is_fenced_and_locks_exclude() {
    let etcd = etcd();
    let a = fleet(&etcd.endpoint(), "/t").await;
    let b = fleet(&etcd.endpoint(), "/t").await;
    let observer = a.observe_leader().await.unwrap();
    assert_eq!(observer.current(), None);
    let first = a.campaign("a", TTL).await.unwrap();
    let waiting = tokio::spawn(async move { b.campaign("b", TTL).await });
    let mut leaders = observer.receiver();
    within(
        "a to lead",
        leaders.wait_for(|l| l.as_ref().is_some_and(|l| l.id == "a")),
    )
    .await;
    assert!(!waiting.is_finished(), "b waits while a leads");
    let first_token = first.token();
    let fence = first.fence();
    first.resign().await.unwrap();
    let second = within("b to be elected", waiting).await.unwrap();
    assert!(second.token() > first_token);
    assert_eq!(a.leader().await.unwrap().unwrap().id, "b");
    // The deposed leader's fenced write fails.
    let txn = etcd_client::Txn::new()
        .when([fence])
        .and_then([etcd_client::TxnOp::put("/t/x", "stale", None)]);
    assert!(!a.client().txn(txn).await.unwrap().succeeded());

    let held = a.lock("compaction", TTL).await.unwrap();
    let other = a.clone();
    let contender = tokio::spawn(async move { other.lock("compaction", TTL).await });
    tokio::task::yield_now().await;
    assert!(!contender.is_finished());
    let held_token = held.token();
    held.unlock().await.unwrap();
    let next = within("the lock", contender).await.unwrap();
    assert!(next.token() > held_token);
    next.unlock().await.unwrap();
}

fn quick_gate() -> HealthGate {
    HealthGate {
        bake: Duration::from_millis(300),
        apply_timeout: Duration::from_secs(20),
        ..HealthGate::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_config_rollout_completes_and_an_aborted_one_reverts() {
    let etcd = etcd();
    let fleet = fleet(&etcd.endpoint(), "/t").await;
    let watch = fleet.watch_members().await.unwrap();
    let mut members = Vec::new();
    for id in ["c1", "c2", "c3"] {
        members.push(member(&fleet, id, "eu", TTL).await);
    }
    let stable = fleet.put_config(b"sampling: 1.0\n").await.unwrap();
    within(
        "the stable config",
        watch.wait_for(|m| m.len() == 3 && m.iter().all(|m| m.config.version == Some(stable))),
    )
    .await;
    let leadership = fleet.campaign("c1", TTL).await.unwrap();
    let leader_fleet = fleet.clone();
    let leader = tokio::spawn(async move {
        let result = leadership.lead(LeaderOptions::default()).await;
        drop(leader_fleet);
        result
    });

    let rollout = fleet
        .start_rollout(RolloutRequest {
            change: RolloutChange::Config(b"sampling: 0.5\n".to_vec()),
            strategy: RolloutStrategy::Rolling { batch_size: 1 },
            gate: quick_gate(),
        })
        .await
        .unwrap();
    assert_eq!(rollout.plan, ["c2", "c3", "c1"], "the leader goes last");
    let target = match rollout.target {
        otlp_control::fleet::RolloutTarget::Config { version } => version,
        other => panic!("{other:?}"),
    };
    within(
        "all members on the new version",
        watch.wait_for(|m| m.iter().all(|m| m.config.version == Some(target))),
    )
    .await;
    let rollouts = fleet.watch_rollout().await.unwrap();
    let done = within(
        "the rollout to finish",
        rollouts.wait_for(|r| r.is_some_and(|r| !r.phase.is_active())),
    )
    .await
    .unwrap();
    assert_eq!(done.phase, RolloutPhase::Succeeded, "{:#?}", done.events);
    assert_eq!(fleet.config().await.unwrap().unwrap().version, target);

    // A second rollout, aborted while baking, sends its members back to the stable version.
    let second = fleet
        .start_rollout(RolloutRequest {
            change: RolloutChange::Config(b"sampling: 0.1\n".to_vec()),
            strategy: RolloutStrategy::Rolling { batch_size: 1 },
            gate: HealthGate {
                bake: Duration::from_secs(3600),
                ..quick_gate()
            },
        })
        .await
        .unwrap();
    assert!(matches!(
        fleet
            .start_rollout(RolloutRequest {
                change: RolloutChange::Binary("9".into()),
                strategy: RolloutStrategy::canary(),
                gate: quick_gate(),
            })
            .await,
        Err(Error::Rollout(_))
    ));
    let canary_version = target + 1;
    within(
        "the first batch on the new version",
        watch.wait_for(|m| m.iter().any(|m| m.config.version == Some(canary_version))),
    )
    .await;
    let aborted = fleet
        .abort_rollout("operator changed their mind")
        .await
        .unwrap();
    assert_eq!(aborted.id, second.id);
    within(
        "everyone back on the stable version",
        watch.wait_for(|m| m.iter().all(|m| m.config.version == Some(target))),
    )
    .await;
    assert!(matches!(
        fleet.rollout_status().await.unwrap().unwrap().phase,
        RolloutPhase::Aborted { .. }
    ));
    assert_eq!(fleet.config().await.unwrap().unwrap().version, target);
    let status = fleet.status().await.unwrap();
    assert_eq!(status.leader.unwrap().id, "c1");
    assert_eq!(status.view.fleet.members, 3);
    leader.abort();
}
