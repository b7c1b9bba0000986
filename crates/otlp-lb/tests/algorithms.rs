//! Each algorithm's behaviour through the `Balancer`, and membership changes under
//! concurrent picks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use otlp_lb::policy::{
    ConsistentHash, LeastConnections, LeastLatency, Maglev, PeakEwma, RoundRobin,
    SmoothWeightedRoundRobin, WeightedRandom,
};
use otlp_lb::{Balancer, Endpoint, EndpointId, Error, Key, ManualClock, Outcome, PickRequest};

fn three() -> Vec<Endpoint> {
    vec![Endpoint::new("a"), Endpoint::new("b"), Endpoint::new("c")]
}

fn counts<P: otlp_lb::policy::Policy>(
    balancer: &Balancer<P>,
    picks: usize,
) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for _ in 0..picks {
        let pick = balancer.pick().unwrap();
        *counts.entry(pick.endpoint().id().to_string()).or_default() += 1;
    }
    counts
}

#[test]
fn round_robin_takes_turns_and_skips_unhealthy_endpoints() {
    let balancer = Balancer::new(RoundRobin::new());
    balancer.set_endpoints(three()).unwrap();
    let order: String = (0..6)
        .map(|_| balancer.pick().unwrap().endpoint().to_string())
        .collect();
    assert_eq!(order, "abcabc");
    assert!(balancer.set_healthy("b", false));
    let order: String = (0..4)
        .map(|_| balancer.pick().unwrap().endpoint().to_string())
        .collect();
    assert!(!order.contains('b'), "{order}");
}

#[test]
fn weighted_random_follows_weights() {
    let balancer = Balancer::builder(WeightedRandom::new())
        .seed(7)
        .endpoints(vec![
            Endpoint::new("a").with_weight(1),
            Endpoint::new("b").with_weight(4),
        ])
        .build()
        .unwrap();
    let counts = counts(&balancer, 50_000);
    let share = counts["b"] as f64 / 50_000.0;
    assert!((share - 0.8).abs() < 0.01, "{counts:?}");
}

#[test]
fn least_connections_prefers_the_idle_endpoint_relative_to_weight() {
    let balancer = Balancer::new(LeastConnections::new());
    balancer
        .set_endpoints(vec![Endpoint::new("a").with_weight(2), Endpoint::new("b")])
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..30 {
        held.push(balancer.pick().unwrap());
    }
    let on_a = held.iter().filter(|p| p.endpoint().id() == "a").count();
    assert_eq!(on_a, 20, "twice the weight, twice the requests in flight");
    held.clear();
    assert!(balancer.stats().iter().all(|s| s.in_flight == 0));
}

#[test]
fn p2c_peak_ewma_moves_traffic_away_from_a_slow_endpoint() {
    let clock = Arc::new(ManualClock::new());
    let balancer = Balancer::builder(PeakEwma::new())
        .clock(clock.clone())
        .seed(1)
        .endpoints((0..4).map(|i| Endpoint::new(format!("e{i}"))))
        .build()
        .unwrap();
    let mut slow_picks = 0;
    for round in 0..4_000 {
        let pick = balancer.pick().unwrap();
        let slow = pick.endpoint().id() == "e0";
        slow_picks += usize::from(slow && round >= 1_000);
        let latency = if slow { 200 } else { 10 };
        pick.record(Outcome::Success, Some(Duration::from_millis(latency)));
        clock.advance(Duration::from_millis(1));
    }
    // Uniform would be a quarter (750 of 3000); the peak sticks, so e0 is only re-probed.
    assert!(slow_picks < 150, "{slow_picks}");
    let stats = balancer.stats();
    assert!(stats[0].peak_ewma.unwrap() > stats[1].peak_ewma.unwrap());
}

#[test]
fn least_latency_picks_the_fastest_known_endpoint() {
    let balancer = Balancer::new(LeastLatency::new());
    balancer.set_endpoints(three()).unwrap();
    // Unknown endpoints first: each gets tried once.
    let mut seen = Vec::new();
    for latency in [30, 5, 50] {
        let pick = balancer.pick().unwrap();
        seen.push(pick.endpoint().to_string());
        pick.record(Outcome::Success, Some(Duration::from_millis(latency)));
    }
    seen.sort();
    assert_eq!(seen, ["a", "b", "c"]);
    let fastest = balancer
        .stats()
        .into_iter()
        .min_by_key(|s| s.ewma.unwrap())
        .unwrap()
        .endpoint;
    for _ in 0..10 {
        assert_eq!(balancer.pick().unwrap().endpoint(), &fastest);
    }
}

#[test]
fn keyed_algorithms_need_a_key_and_fail_over_along_the_ring() {
    for keyed in [true, false] {
        let ring = Balancer::new(ConsistentHash::new());
        let maglev = Balancer::new(Maglev::new());
        let endpoints: Vec<Endpoint> = (0..5).map(|i| Endpoint::new(format!("back-{i}"))).collect();
        ring.set_endpoints(endpoints.clone()).unwrap();
        maglev.set_endpoints(endpoints).unwrap();
        assert_eq!(
            ring.pick().unwrap_err(),
            Error::KeyRequired("consistent_hash")
        );
        assert_eq!(maglev.pick().unwrap_err(), Error::KeyRequired("maglev"));
        let key = [9_u8; 16];
        let request = if keyed {
            Key::from(&key)
        } else {
            Key::Hash(otlp_lb::hash_key(&key))
        };
        // The candidate order is the failover order: excluding the first gives the second...
        for order in [
            ring.router().candidates(request, 5),
            maglev.router().candidates(request, 5),
        ] {
            assert_eq!(order.len(), 5);
            let mut sorted: Vec<_> = order.iter().map(|e| e.id().clone()).collect();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 5, "distinct");
        }
        let order: Vec<EndpointId> = ring
            .router()
            .candidates(request, 5)
            .iter()
            .map(|e| e.id().clone())
            .collect();
        for tried in 0..5 {
            let pick = ring
                .pick_with(&PickRequest::new().key(request).excluding(&order[..tried]))
                .unwrap();
            assert_eq!(pick.endpoint().id(), &order[tried]);
        }
        assert_eq!(
            ring.pick_with(&PickRequest::new().key(request).excluding(&order))
                .unwrap_err(),
            Error::AllExcluded(5)
        );
        // ...and so is an unhealthy owner.
        ring.set_healthy(order[0].as_str(), false);
        assert_eq!(ring.pick_key(request).unwrap().endpoint().id(), &order[1]);
    }
}

#[test]
fn smooth_weighted_round_robin_spreads_heavy_endpoints() {
    let balancer = Balancer::new(SmoothWeightedRoundRobin::new());
    balancer
        .set_endpoints(vec![
            Endpoint::new("a").with_weight(3),
            Endpoint::new("b").with_weight(2),
        ])
        .unwrap();
    let order: String = (0..5)
        .map(|_| balancer.pick().unwrap().endpoint().to_string())
        .collect();
    assert_eq!(order, "ababa");
}

#[test]
fn membership_updates_validate_and_keep_the_previous_set_on_error() {
    let balancer = Balancer::new(RoundRobin::new());
    assert_eq!(balancer.pick().unwrap_err(), Error::NoEndpoints);
    balancer.set_endpoints(three()).unwrap();
    let version = balancer.version();
    assert_eq!(
        balancer.set_endpoints(vec![Endpoint::new("x"), Endpoint::new("x")]),
        Err(Error::DuplicateEndpoint("x".into()))
    );
    assert_eq!(
        balancer.add(Endpoint::new("a")),
        Err(Error::AlreadyPresent("a".into()))
    );
    assert_eq!(
        balancer.remove("zz"),
        Err(Error::UnknownEndpoint("zz".into()))
    );
    assert_eq!(
        balancer.add(Endpoint::new("d").with_weight(0)),
        Err(Error::ZeroWeight("d".into()))
    );
    assert_eq!(balancer.version(), version);
    assert_eq!(balancer.len(), 3);

    balancer.add(Endpoint::new("d")).unwrap();
    assert_eq!(balancer.remove("a").unwrap().id(), "a");
    let replaced = balancer.upsert(Endpoint::new("b").with_weight(5)).unwrap();
    assert_eq!(replaced.map(|e| e.weight()), Some(1));
    let ids: Vec<String> = balancer.endpoints().iter().map(|e| e.to_string()).collect();
    assert_eq!(ids, ["b", "c", "d"]);
    assert_eq!(balancer.version(), version + 3);
}

#[test]
fn endpoint_state_survives_membership_changes() {
    let balancer = Balancer::builder(RoundRobin::new())
        .outlier_detection(otlp_lb::health::OutlierDetection {
            consecutive_failures: 1,
            ..Default::default()
        })
        .endpoints(three())
        .build()
        .unwrap();
    let pick = balancer.pick().unwrap();
    let failed = pick.endpoint().id().clone();
    pick.failure();
    assert!(balancer.ejected_for(failed.as_str()).is_some());
    balancer.add(Endpoint::new("d")).unwrap();
    assert!(
        balancer.ejected_for(failed.as_str()).is_some(),
        "still ejected after a change"
    );
    assert!(!balancer.is_eligible(failed.as_str()));
}

#[test]
fn picks_run_concurrently_with_membership_changes() {
    let balancer = Arc::new(Balancer::new(ConsistentHash::new().vnodes(64).unwrap()));
    let first: Vec<Endpoint> = (0..8).map(|i| Endpoint::new(format!("old-{i}"))).collect();
    let second: Vec<Endpoint> = (0..8).map(|i| Endpoint::new(format!("new-{i}"))).collect();
    balancer.set_endpoints(first.clone()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let pickers: Vec<_> = (0..3_u64)
        .map(|thread| {
            let balancer = Arc::clone(&balancer);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut picks = 0_u64;
                while !stop.load(Ordering::Relaxed) || picks < 1_000 {
                    let key = [thread.to_le_bytes(), picks.to_le_bytes()].concat();
                    let pick = balancer.pick_key(key.as_slice()).unwrap();
                    let id = pick.endpoint().id().as_str();
                    assert!(id.starts_with("old-") || id.starts_with("new-"));
                    pick.success();
                    picks += 1;
                }
                picks
            })
        })
        .collect();
    for round in 0..200 {
        let set = if round % 2 == 0 {
            second.clone()
        } else {
            first.clone()
        };
        balancer.set_endpoints(set).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for picker in pickers {
        assert!(picker.join().unwrap() >= 1_000);
    }
    assert!(balancer.stats().iter().all(|s| s.in_flight == 0));
}
