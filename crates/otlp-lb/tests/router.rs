//! The exporter's loop over `KeyRouter`: partition, send, re-partition only what failed,
//! reroute queues when membership changes — every item delivered once, to its owner.

use std::collections::HashMap;

use otlp_lb::policy::{ConsistentHash, KeyedPolicy, Maglev};
use otlp_lb::{Balancer, Endpoint, EndpointId, Key};

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
