//! A consistent-hash ring over three endpoints: where trace ids go, what moves when a fourth
//! endpoint joins, and failover along the ring when one is ejected.
//!
//! `cargo run -p otlp-lb --example ring`

use otlp_lb::policy::ConsistentHash;
use otlp_lb::{Balancer, Endpoint, Key, PickRequest};

fn main() -> Result<(), otlp_lb::Error> {
    let balancer = Balancer::new(ConsistentHash::new());
    balancer.set_endpoints((1..=3).map(|i| Endpoint::new(format!("collector-{i}:4317"))))?;

    let trace_ids: Vec<[u8; 16]> = (0..10_000_u32)
        .map(|i| {
            let mut id = [0_u8; 16];
            id[..4].copy_from_slice(&i.to_be_bytes());
            id
        })
        .collect();
    let before = balancer.router();
    for part in before.partition(trace_ids.clone(), |id| Key::from(id)) {
        println!("{:>20}: {} traces", part.endpoint.id(), part.items.len());
    }

    balancer.add(Endpoint::new("collector-4:4317"))?;
    let after = balancer.router();
    let change = before.diff(&after);
    println!(
        "collector-4 joined: {:.1}% of the key space moved (ideal 25%), all of it to collector-4",
        change.moved_share * 100.0
    );

    let trace = Key::from(&trace_ids[0]);
    let order: Vec<_> = after
        .candidates(trace, 4)
        .iter()
        .map(|e| e.id().clone())
        .collect();
    println!("trace 0 fails over along the ring: {order:?}");
    let second = balancer.pick_with(&PickRequest::new().key(trace).excluding(&order[..1]))?;
    println!("with {} tried, it goes to {}", order[0], second.endpoint());
    second.success();
    Ok(())
}
