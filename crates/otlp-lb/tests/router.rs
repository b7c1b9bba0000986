//! The exporter's loop over `KeyRouter`: partition, send, re-partition only what failed,
//! reroute queues when membership changes — every item delivered once, to its owner.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use otlp_lb::health::OutlierDetection;
use otlp_lb::policy::{ConsistentHash, KeyedPolicy, Maglev};
use otlp_lb::{Balancer, Endpoint, EndpointId, Error, Key, KeyRouter, ManualClock};

#[derive(Debug, Clone, PartialEq)]
struct Span {
    trace_id: [u8; 16],
    seq: u32,
}

fn spans(count: u32) -> Vec<Span> {
    (0..count)
        .map(|seq| {
            let mut trace_id = [0_u8; 16];
            trace_id[..4].copy_from_slice(&(seq / 4).to_le_bytes()); // 4 spans per trace
            trace_id[8..12].copy_from_slice(&0xfeed_u32.to_le_bytes());
            Span { trace_id, seq }
        })
        .collect()
}

fn key(span: &Span) -> Key<'_> {
    Key::from(&span.trace_id)
}

#[test]
fn a_failed_part_is_repartitioned_alone_and_nothing_is_lost_or_duplicated() {
    let balancer = Balancer::new(ConsistentHash::new());
    balancer
        .set_endpoints((1..=3).map(|i| Endpoint::new(format!("back-{i}"))))
        .unwrap();
    let batch = spans(4_000);
    let mut delivered: HashMap<EndpointId, Vec<Span>> = HashMap::new();
    let mut pending = balancer.router().partition(batch.clone(), key);
    assert_eq!(pending.len(), 3);
    let mut rounds = 0;
    while let Some(part) = pending.pop() {
        rounds += 1;
        if part.endpoint.id() == "back-2" {
            // back-2 fails (say it was SIGKILLed) and leaves the membership; only its part is
            // routed again, against the membership of now.
            balancer.remove("back-2").unwrap();
            pending.extend(balancer.router().partition(part.items, key));
            continue;
        }
        delivered
            .entry(part.endpoint.id().clone())
            .or_default()
            .extend(part.items);
    }
    assert!(rounds >= 4);
    let mut seqs: Vec<u32> = delivered.values().flatten().map(|s| s.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..4_000).collect::<Vec<_>>(),
        "every span exactly once"
    );
    // Every trace whole on one endpoint: its owner under the final membership.
    let router = balancer.router();
    for (endpoint, spans) in &delivered {
        for span in spans {
            assert_eq!(router.owner(key(span)).unwrap().id(), endpoint);
        }
    }
}

/// Queues built under four endpoints, checked against five: returns (kept, moved) counts and
/// whether every moved item went to the newcomer.
fn reroute_after_join<P: KeyedPolicy>(policy: P) -> (usize, usize, bool) {
    let balancer = Balancer::new(policy);
    balancer
        .set_endpoints((1..=4).map(|i| Endpoint::new(format!("back-{i}"))))
        .unwrap();
    let old = balancer.router();
    let queues = old.partition(spans(8_000), key);
    balancer.add(Endpoint::new("back-5")).unwrap();
    let new = balancer.router();
    let change = old.diff(&new);
    assert_eq!(change.added.len(), 1);
    assert!(change.removed.is_empty());
    let (mut kept, mut moved, mut only_to_newcomer) = (0, 0, true);
    for queue in queues {
        let rerouted = new.reroute(queue.endpoint.id(), queue.items, key);
        for span in &rerouted.kept {
            assert_eq!(new.owner(key(span)), Some(&queue.endpoint));
        }
        kept += rerouted.kept.len();
        for part in rerouted.moved {
            only_to_newcomer &= part.endpoint.id() == "back-5";
            for span in &part.items {
                assert_eq!(new.owner(key(span)), Some(&part.endpoint));
            }
            moved += part.items.len();
        }
    }
    (kept, moved, only_to_newcomer)
}

#[test]
fn queues_are_rerouted_when_an_endpoint_joins() {
    let (kept, moved, only_to_newcomer) = reroute_after_join(ConsistentHash::new());
    assert_eq!(kept + moved, 8_000);
    assert!(
        only_to_newcomer,
        "on the ring, keys only ever move to the newcomer"
    );
    assert!(
        (1_000..2_400).contains(&moved),
        "about a fifth moves: {moved}"
    );
    let (kept, moved, _) = reroute_after_join(Maglev::new());
    assert_eq!(kept + moved, 8_000);
    assert!(moved > 0);
}

#[test]
fn with_no_endpoints_items_are_handed_back() {
    let balancer = Balancer::new(ConsistentHash::new());
    let router = balancer.router();
    let items = spans(10);
    assert_eq!(
        router.partition_or_keep(items.clone(), key),
        Err(items.clone())
    );
    let rerouted = router.reroute(&EndpointId::from("gone"), items.clone(), key);
    assert_eq!(rerouted.kept, items);
    assert!(router.owner(&[1_u8; 16]).is_none());
}

/// Owners of `items` as `(seq, endpoint id)`, sorted by seq.
fn placement(parts: Vec<otlp_lb::Routed<Span>>) -> Vec<(u32, EndpointId)> {
    let mut placed: Vec<(u32, EndpointId)> = parts
        .into_iter()
        .flat_map(|part| {
            let id = part.endpoint.id().clone();
            part.items
                .into_iter()
                .map(move |span| (span.seq, id.clone()))
        })
        .collect();
    placed.sort();
    placed
}

#[test]
fn an_ejected_owners_keys_go_to_their_ring_successor_and_come_back() {
    let clock = Arc::new(ManualClock::new());
    let balancer = Balancer::builder(ConsistentHash::new())
        .clock(clock.clone())
        .outlier_detection(OutlierDetection {
            consecutive_failures: 1,
            base_ejection_time: Duration::from_secs(10),
            ..OutlierDetection::default()
        })
        .endpoints((1..=3).map(|i| Endpoint::new(format!("back-{i}"))))
        .build()
        .unwrap();
    let router = balancer.router();
    let healthy = placement(router.partition(spans(3_000), key));
    assert_eq!(
        placement(router.partition_routed(spans(3_000), key).unwrap()),
        healthy,
        "while every endpoint is eligible, routing is ownership"
    );

    balancer.pick_endpoint("back-2").unwrap().failure();
    assert!(!balancer.is_eligible("back-2"));
    // The router taken before the ejection sees it too: health is live, membership frozen.
    let ejected = placement(router.partition_routed(spans(3_000), key).unwrap());
    let without_back_2 = KeyRouter::new(
        ConsistentHash::new(),
        vec![Endpoint::new("back-1"), Endpoint::new("back-3")],
    )
    .unwrap();
    let all = spans(3_000);
    for ((seq, before), (_, after)) in healthy.iter().zip(&ejected) {
        let span = &all[*seq as usize];
        if before == "back-2" {
            assert_eq!(
                Some(after),
                without_back_2.owner(key(span)).map(Endpoint::id),
                "an ejected owner's key goes where a ring without it would put it"
            );
        } else {
            assert_eq!(before, after, "keys of eligible owners stay");
        }
        assert_eq!(router.route(key(span)).map(Endpoint::id), Some(after));
    }

    clock.advance(Duration::from_secs(11));
    assert_eq!(
        placement(router.partition_routed(spans(3_000), key).unwrap()),
        healthy,
        "readmitted, the endpoint gets its keys back"
    );
}

#[test]
fn a_pick_of_a_chosen_endpoint_counts_in_flight_and_unknown_ids_are_errors() {
    let balancer = Balancer::new(ConsistentHash::new());
    balancer
        .set_endpoints((1..=2).map(|i| Endpoint::new(format!("back-{i}"))))
        .unwrap();
    let pick = balancer.pick_endpoint("back-2").unwrap();
    assert_eq!(pick.endpoint().id(), "back-2");
    let in_flight = |id: &str| {
        balancer
            .stats()
            .into_iter()
            .find(|s| s.endpoint.id() == id)
            .unwrap()
            .in_flight
    };
    assert_eq!(in_flight("back-2"), 1);
    pick.success();
    assert_eq!(in_flight("back-2"), 0);
    assert_eq!(
        balancer.pick_endpoint("back-9").unwrap_err(),
        Error::UnknownEndpoint("back-9".into())
    );
    assert_eq!(
        balancer.router().partition_routed(Vec::<Span>::new(), key),
        Ok(Vec::new())
    );
}

#[test]
fn health_flags_survive_a_changed_definition_and_clear_with_readmission() {
    let clock = Arc::new(ManualClock::new());
    let balancer = Balancer::builder(ConsistentHash::new())
        .clock(clock.clone())
        .outlier_detection(OutlierDetection {
            consecutive_failures: 1,
            base_ejection_time: Duration::from_secs(10),
            ..OutlierDetection::default()
        })
        .endpoints((1..=3).map(|i| Endpoint::new(format!("back-{i}"))))
        .build()
        .unwrap();
    let lands_on_back_2 = |balancer: &Balancer<ConsistentHash>| {
        balancer
            .router()
            .partition_routed(spans(3_000), key)
            .unwrap()
            .iter()
            .any(|part| part.endpoint.id() == "back-2")
    };
    assert!(lands_on_back_2(&balancer));
    balancer.pick_endpoint("back-2").unwrap().failure();
    assert!(!lands_on_back_2(&balancer));
    // A new weight makes a new state for back-2: it is still ejected, and still skipped.
    balancer
        .upsert(Endpoint::new("back-2").with_weight(2))
        .unwrap();
    assert!(!lands_on_back_2(&balancer));
    clock.advance(Duration::from_secs(11));
    assert!(lands_on_back_2(&balancer), "readmitted");

    // Failing active checks leaves an endpoint out the same way, until it passes again.
    balancer.set_healthy("back-3", false);
    let parts = balancer
        .router()
        .partition_routed(spans(3_000), key)
        .unwrap();
    assert!(parts.iter().all(|part| part.endpoint.id() != "back-3"));
    balancer.set_healthy("back-3", true);
    assert_eq!(
        placement(
            balancer
                .router()
                .partition_routed(spans(3_000), key)
                .unwrap()
        ),
        placement(balancer.router().partition(spans(3_000), key)),
    );
    // An ejected endpoint that leaves takes its flag with it: everyone left is routed to as owner.
    balancer.pick_endpoint("back-1").unwrap().failure();
    balancer.remove("back-1").unwrap();
    assert_eq!(
        placement(
            balancer
                .router()
                .partition_routed(spans(3_000), key)
                .unwrap()
        ),
        placement(balancer.router().partition(spans(3_000), key)),
    );
}
