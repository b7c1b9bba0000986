//! Property tests of the guarantees the algorithms make.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use otlp_lb::health::OutlierDetection;
use otlp_lb::policy::{ConsistentHash, Maglev, Ring, RoundRobin, SmoothWeightedRoundRobin};
use otlp_lb::{
    Balancer, Endpoint, EndpointId, Key, ManualClock, Pick, PickRequest, ring_moved_share,
};
use proptest::prelude::*;

fn ids(min: usize, max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[a-z0-9]{1,12}(:[0-9]{2,5})?", min..=max)
        .prop_map(|set| set.into_iter().collect())
}

fn endpoints(ids: &[String]) -> Vec<Endpoint> {
    ids.iter().map(Endpoint::new).collect()
}

fn trace_ids(count: usize) -> impl Strategy<Value = Vec<[u8; 16]>> {
    prop::collection::vec(any::<[u8; 16]>(), count)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_key_keeps_its_endpoint_until_membership_changes(
        ids in ids(1, 30),
        keys in trace_ids(200),
    ) {
        let ring = Balancer::new(ConsistentHash::new());
        let maglev = Balancer::new(Maglev::new());
        ring.set_endpoints(endpoints(&ids)).unwrap();
        maglev.set_endpoints(endpoints(&ids)).unwrap();
        let owners = |keys: &[[u8; 16]]| -> Vec<(EndpointId, EndpointId)> {
            keys.iter()
                .map(|key| {
                    let a = ring.pick_key(key).unwrap();
                    let b = maglev.pick_key(key).unwrap();
                    assert_eq!(ring.router().owner(key), Some(a.endpoint()));
                    assert_eq!(maglev.router().owner(key), Some(b.endpoint()));
                    (a.endpoint().id().clone(), b.endpoint().id().clone())
                })
                .collect()
        };
        let first = owners(&keys);
        prop_assert_eq!(&first, &owners(&keys));
        // The same membership published again, in another order: a new version, same owners.
        let mut reversed = endpoints(&ids);
        reversed.reverse();
        ring.set_endpoints(reversed.clone()).unwrap();
        maglev.set_endpoints(reversed).unwrap();
        prop_assert_eq!(&first, &owners(&keys));
    }

    #[test]
    fn adding_one_endpoint_moves_at_most_1_1_over_n_plus_1_of_the_keys(
        ids in ids(1, 40),
        added in "[A-Z]{1,12}",
        keys in trace_ids(2_000),
    ) {
        let n = ids.len();
        let before = endpoints(&ids);
        let mut after = before.clone();
        after.push(Endpoint::new(added.clone()));
        after.sort_by(|a, b| a.id().cmp(b.id()));
        let vnodes = ConsistentHash::DEFAULT_VNODES;
        let (old, new) = (Ring::new(&before, vnodes).unwrap(), Ring::new(&after, vnodes).unwrap());
        let old_ids: Vec<EndpointId> = before.iter().map(|e| e.id().clone()).collect();
        let new_ids: Vec<EndpointId> = after.iter().map(|e| e.id().clone()).collect();
        // Exact, over the whole hash space.
        let moved = ring_moved_share(&old, &old_ids, &new, &new_ids);
        prop_assert!(moved <= 1.1 / (n + 1) as f64, "moved {moved} with n = {n}");
        prop_assert!(moved > 0.0);
        // And every key that moved went to the new endpoint.
        for key in &keys {
            let hash = Key::from(key).hash();
            let (was, is) = (&old_ids[old.owner(hash).unwrap()], &new_ids[new.owner(hash).unwrap()]);
            prop_assert!(was == is || is.as_str() == added);
        }
    }

    #[test]
    fn bounded_load_keeps_max_over_mean_within_its_factor(
        ids in ids(2, 30),
        factor in 1.1_f64..2.0,
        per_endpoint in 5_usize..40,
        seed in any::<u64>(),
    ) {
        let n = ids.len();
        let balancer = Balancer::new(ConsistentHash::new().bounded(factor).unwrap());
        balancer.set_endpoints(endpoints(&ids)).unwrap();
        let keys = n * per_endpoint;
        let mut held: Vec<Pick> = Vec::with_capacity(keys);
        for i in 0..keys as u64 {
            held.push(balancer.pick_key(Key::Hash(otlp_lb::hash_key(&(seed ^ i).to_le_bytes()))).unwrap());
        }
        let loads: Vec<u64> = balancer.stats().iter().map(|s| s.in_flight).collect();
        let max = *loads.iter().max().unwrap();
        prop_assert_eq!(loads.iter().sum::<u64>(), keys as u64);
        // Each pick saw a capacity of ceil(c × (m + 1) / n) with m < keys in flight.
        let bound = (factor * keys as f64 / n as f64).ceil() as u64;
        prop_assert!(max <= bound, "max {max} > {bound}: loads {loads:?}");
        drop(held);
        prop_assert!(balancer.stats().iter().all(|s| s.in_flight == 0));
    }

    #[test]
    fn priority_routing_never_skips_a_group_with_a_healthy_endpoint(
        groups in prop::collection::vec(1_usize..5, 1..5),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 1..40),
        key in any::<[u8; 16]>(),
    ) {
        let mut all = Vec::new();
        for (priority, size) in groups.iter().enumerate() {
            for i in 0..*size {
                all.push(Endpoint::new(format!("p{priority}-{i}")).with_priority(priority as u32));
            }
        }
        let round_robin = Balancer::new(RoundRobin::new());
        let ring = Balancer::new(ConsistentHash::new().vnodes(16).unwrap());
        round_robin.set_endpoints(all.clone()).unwrap();
        ring.set_endpoints(all.clone()).unwrap();
        let mut healthy: Vec<bool> = vec![true; all.len()];
        for (index, verdict) in flips {
            let i = index.index(all.len());
            healthy[i] = verdict;
            round_robin.set_healthy(all[i].id().as_str(), verdict);
            ring.set_healthy(all[i].id().as_str(), verdict);
            let best = all
                .iter()
                .zip(&healthy)
                .filter(|(_, up)| **up)
                .map(|(e, _)| e.priority())
                .min();
            for _ in 0..4 {
                for pick in [round_robin.pick().unwrap(), ring.pick_key(&key).unwrap()] {
                    let endpoint = pick.endpoint();
                    match best {
                        Some(priority) => {
                            prop_assert_eq!(endpoint.priority(), priority);
                            let index = all.iter().position(|e| e == endpoint).unwrap();
                            prop_assert!(healthy[index], "picked unhealthy {endpoint}");
                        }
                        // Nothing healthy anywhere: panic mode picks from the first group.
                        None => prop_assert_eq!(endpoint.priority(), 0),
                    }
                }
            }
        }
    }

    #[test]
    fn smooth_weighted_round_robin_follows_nginx(weights in prop::collection::vec(1_u32..8, 1..6)) {
        let balancer = Balancer::new(SmoothWeightedRoundRobin::new());
        let list: Vec<Endpoint> = weights
            .iter()
            .enumerate()
            .map(|(i, &w)| Endpoint::new(format!("e{i}")).with_weight(w))
            .collect();
        balancer.set_endpoints(list).unwrap();
        // nginx's loop, written out: every step add weights, take the largest (first on ties),
        // subtract the total from it.
        let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
        let mut current = vec![0_i64; weights.len()];
        for _ in 0..3 * total {
            for (c, &w) in current.iter_mut().zip(&weights) {
                *c += i64::from(w);
            }
            let best = (0..weights.len()).fold(0, |b, i| if current[i] > current[b] { i } else { b });
            current[best] -= total;
            let pick = balancer.pick().unwrap();
            prop_assert_eq!(pick.endpoint().id().as_str(), format!("e{best}"));
        }
    }

    #[test]
    fn ejection_keeps_one_eligible_and_respects_the_max_percent(
        n in 1_usize..12,
        max_percent in 0_u8..=100,
        consecutive in 1_u32..4,
        ops in prop::collection::vec((0_usize..12, 0_u8..4), 1..120),
    ) {
        let clock = Arc::new(ManualClock::new());
        let config = OutlierDetection {
            consecutive_failures: consecutive,
            base_ejection_time: Duration::from_secs(10),
            max_ejection_time: Duration::from_secs(60),
            max_ejection_percent: max_percent,
        };
        let balancer = Balancer::builder(RoundRobin::new())
            .clock(clock.clone())
            .outlier_detection(config)
            .endpoints((0..n).map(|i| Endpoint::new(format!("e{i}"))))
            .build()
            .unwrap();
        let ids: Vec<EndpointId> = balancer.endpoints().iter().map(|e| e.id().clone()).collect();
        let limit = usize::from(max_percent) * n / 100;
        for (target, op) in ops {
            let target = target % n;
            match op {
                // Mostly failures of one endpoint (the others excluded), some successes,
                // and time passing.
                0..=2 => {
                    let others: Vec<EndpointId> =
                        ids.iter().filter(|id| **id != ids[target]).cloned().collect();
                    if let Ok(pick) = balancer.pick_with(&PickRequest::new().excluding(&others)) {
                        if op == 2 { pick.success() } else { pick.failure() }
                    }
                }
                _ => clock.advance(Duration::from_secs(7)),
            }
            let stats = balancer.stats();
            let ejected = stats.iter().filter(|s| s.ejected_for.is_some()).count();
            let eligible = ids.iter().filter(|id| balancer.is_eligible(id.as_str())).count();
            prop_assert!(ejected <= limit, "{ejected} ejected, limit {limit}");
            prop_assert!(eligible >= 1);
            prop_assert_eq!(eligible + ejected, n);
        }
    }
}

#[test]
fn nginx_known_sequence_for_5_1_1() {
    let balancer = Balancer::new(SmoothWeightedRoundRobin::new());
    balancer
        .set_endpoints(vec![
            Endpoint::new("a").with_weight(5),
            Endpoint::new("b").with_weight(1),
            Endpoint::new("c").with_weight(1),
        ])
        .unwrap();
    let sequence: String = (0..14)
        .map(|_| balancer.pick().unwrap().endpoint().id().to_string())
        .collect();
    assert_eq!(sequence, "aabacaaaabacaa");
}

#[test]
fn removing_an_endpoint_moves_only_its_keys() {
    let ids: Vec<String> = (0..8).map(|i| format!("back-{i}")).collect();
    let before = endpoints(&ids);
    let after: Vec<Endpoint> = before
        .iter()
        .filter(|e| e.id() != "back-3")
        .cloned()
        .collect();
    let old = Ring::new(&before, 2048).unwrap();
    let new = Ring::new(&after, 2048).unwrap();
    let old_ids: Vec<EndpointId> = before.iter().map(|e| e.id().clone()).collect();
    let new_ids: Vec<EndpointId> = after.iter().map(|e| e.id().clone()).collect();
    let moved = ring_moved_share(&old, &old_ids, &new, &new_ids);
    let share_of_removed = old.shares()[3];
    assert!(
        (moved - share_of_removed).abs() < 1e-12,
        "{moved} vs {share_of_removed}"
    );
    let distinct: BTreeSet<_> = (0..1000_u64)
        .map(|k| old.owner(otlp_lb::hash_key(&k.to_le_bytes())).unwrap())
        .collect();
    assert_eq!(distinct.len(), 8);
}
