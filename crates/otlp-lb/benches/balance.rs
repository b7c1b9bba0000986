//! Non-timing results, written as notes for `docs/benchmarks.md`: how evenly the keyed
//! algorithms spread keys and how many move on a membership change, and the discrete-event
//! simulation of one slow backend.

#[path = "../tests/support/simulation.rs"]
mod simulation;

use std::fmt::Write as _;

use otlp_lb::policy::{
    ConsistentHash, KeyedPolicy, LeastConnections, LeastLatency, Maglev, PeakEwma, RoundRobin,
};
use otlp_lb::{Balancer, Endpoint, EndpointId, Key, Pick, hash_key};
use simulation::{Scenario, simulate};

const KEYS: u64 = 1_000_000;
const SIZES: [usize; 3] = [10, 100, 1000];

fn endpoints(n: usize) -> Vec<Endpoint> {
    (0..n)
        .map(|i| {
            Endpoint::new(format!(
                "10.{}.{}.{}:4317",
                i / 65_536,
                i / 256 % 256,
                i % 256
            ))
        })
        .collect()
}

fn keys() -> Vec<u64> {
    (0..KEYS)
        .map(|i| hash_key(&(i ^ 0x5eed).to_le_bytes()))
        .collect()
}

/// Owner id of every key under `endpoints` with a keyed policy (membership only).
fn owners<P: KeyedPolicy>(policy: P, endpoints: &[Endpoint], keys: &[u64]) -> Vec<EndpointId> {
    let balancer = Balancer::new(policy);
    balancer.set_endpoints(endpoints.to_vec()).expect("valid");
    let router = balancer.router();
    keys.iter()
        .map(|&k| router.owner(Key::Hash(k)).expect("endpoints").id().clone())
        .collect()
}

/// Owner id of every key assigned in order with bounded loads, every assignment held.
fn bounded_owners(factor: f64, endpoints: &[Endpoint], keys: &[u64]) -> Vec<EndpointId> {
    let balancer = Balancer::new(ConsistentHash::new().bounded(factor).expect("valid"));
    balancer.set_endpoints(endpoints.to_vec()).expect("valid");
    let picks: Vec<Pick> = keys
        .iter()
        .map(|&k| balancer.pick_key(Key::Hash(k)).expect("endpoints"))
        .collect();
    picks.iter().map(|p| p.endpoint().id().clone()).collect()
}

fn modulo_owners(endpoints: &[Endpoint], keys: &[u64]) -> Vec<EndpointId> {
    keys.iter()
        .map(|&k| {
            endpoints[(k % endpoints.len() as u64) as usize]
                .id()
                .clone()
        })
        .collect()
}

fn max_over_mean(owners: &[EndpointId], n: usize) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for owner in owners {
        *counts.entry(owner).or_insert(0_u64) += 1;
    }
    let max = counts.values().copied().max().unwrap_or(0) as f64;
    max / (owners.len() as f64 / n as f64)
}

fn moved(a: &[EndpointId], b: &[EndpointId]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as f64 / a.len() as f64
}

fn balance_notes() -> String {
    let keys = keys();
    let mut md = String::from(
        "### otlp-lb: key balance and keys moved on a membership change\n\n\
         1M uniformly hashed keys over n endpoints (ids `10.x.y.z:4317`). *max/mean* is the \
         most-loaded endpoint's keys over the mean. *moved +1* is the share of keys whose owner \
         changes when one endpoint is added to n (ideal: 1/(n+1), all to the new one); \
         *moved −1* when the last of n is removed (ideal: 1/n). The ring has 2048 virtual \
         nodes per endpoint by default (160, Ketama's count, shown for comparison), its answers \
         taken at the starts of 2^20 slots of the key space; the \
         bounded ring (factor 1.25) assigns the keys in order with every assignment still \
         held, as in-flight requests would be, so its moves include keys displaced by load; \
         Maglev's table is 65537 slots up to 655 endpoints, 131071 at 1000. Modulo is \
         `hash % n`. At 1000 endpoints the keys are only 1000 per endpoint, so sampling noise \
         alone puts max/mean near 1.1 (modulo's row shows that floor).\n\n\
         | n | algorithm | max/mean | moved +1 | ideal +1 | moved −1 | ideal −1 |\n\
         |---:|---|---:|---:|---:|---:|---:|\n",
    );
    for n in SIZES {
        let base = endpoints(n);
        let plus = endpoints(n + 1);
        let minus = endpoints(n - 1);
        type Owners<'k> = Box<dyn Fn(&[Endpoint]) -> Vec<EndpointId> + 'k>;
        let algorithms: Vec<(&str, Owners<'_>)> = vec![
            (
                "ring (2048 vnodes)",
                Box::new(|e: &[Endpoint]| owners(ConsistentHash::new(), e, &keys)),
            ),
            (
                "ring (160 vnodes)",
                Box::new(|e: &[Endpoint]| {
                    owners(ConsistentHash::new().vnodes(160).expect("valid"), e, &keys)
                }),
            ),
            (
                "bounded ring (c = 1.25)",
                Box::new(|e: &[Endpoint]| bounded_owners(1.25, e, &keys)),
            ),
            (
                "Maglev",
                Box::new(|e: &[Endpoint]| owners(Maglev::new(), e, &keys)),
            ),
            ("modulo", Box::new(|e: &[Endpoint]| modulo_owners(e, &keys))),
        ];
        for (name, owners_of) in algorithms {
            let now = owners_of(&base);
            let _ = writeln!(
                md,
                "| {n} | {name} | {:.3} | {:.4} | {:.4} | {:.4} | {:.4} |",
                max_over_mean(&now, n),
                moved(&now, &owners_of(&plus)),
                1.0 / (n + 1) as f64,
                moved(&now, &owners_of(&minus)),
                1.0 / n as f64,
            );
        }
    }
    md
}

fn simulation_notes() -> String {
    let mut md = String::from(
        "### otlp-lb: one slow backend, discrete-event simulation\n\n\
         Deterministic (seed 42) simulation driving the real balancers on a manual clock: 10 \
         backends with 4 workers each and exponential service times (mean 10 ms), backend 0 \
         *k* times slower, Poisson arrivals, 200 000 requests; latency = queueing + service. \
         The first scenario is the test's (`tests/simulation.rs`); the others show how the \
         gap depends on how slow the slow backend is. *ratio* = round robin's p99 / P2C's \
         (target ≥ 2). The *bound* row is no balancer: the p99 of a fast backend's service \
         time alone (mean × ln 100), which no algorithm can beat since every request is served \
         by some backend; its ratio is the most any algorithm could reach. At 2× and 3× that \
         is below 2 — round robin's p99 is less than twice the service time's own — so the \
         target is out of reach there for every algorithm, not only P2C.\n\n\
         | slow backend | arrivals/s | algorithm | p50 | p99 | p99.9 | share to slow | ratio |\n\
         |---|---:|---|---:|---:|---:|---:|---:|\n",
    );
    let ms = |d: std::time::Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    for (slowdown, rate) in [(5.0, 600.0), (2.0, 1500.0), (3.0, 1000.0), (10.0, 300.0)] {
        let scenario = Scenario {
            slowdown,
            arrivals_per_second: rate,
            ..Scenario::default()
        };
        let round_robin = simulate(RoundRobin::new(), &scenario);
        let rows = [
            ("round robin", round_robin.clone()),
            (
                "least connections",
                simulate(LeastConnections::new(), &scenario),
            ),
            ("P2C peak-EWMA", simulate(PeakEwma::new(), &scenario)),
            (
                "least latency (EWMA × in flight)",
                simulate(LeastLatency::new(), &scenario),
            ),
        ];
        let floor = scenario.service_mean.mul_f64(100_f64.ln());
        for (name, outcome) in rows {
            let _ = writeln!(
                md,
                "| {slowdown}× | {rate} | {name} | {} | {} | {} | {:.1}% | {:.2} |",
                ms(outcome.p50),
                ms(outcome.p99),
                ms(outcome.p999),
                outcome.slow_share * 100.0,
                round_robin.p99.as_secs_f64() / outcome.p99.as_secs_f64(),
            );
        }
        let _ = writeln!(
            md,
            "| {slowdown}× | {rate} | *bound: service time alone* | | {} | | | {:.2} |",
            ms(floor),
            round_robin.p99.as_secs_f64() / floor.as_secs_f64(),
        );
    }
    md
}

fn main() {
    // `cargo bench` passes criterion's flags; a filter that names neither table skips both.
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let wanted = |topic: &str| {
        filter
            .as_deref()
            .is_none_or(|f| topic.contains(f) || f.contains(topic))
    };
    let notes_dir = std::env::var_os("OTLP_BENCH_NOTES").map(std::path::PathBuf::from);
    for (topic, make) in [
        ("balance", balance_notes as fn() -> String),
        ("simulation", simulation_notes),
    ] {
        if !wanted(topic) {
            continue;
        }
        let md = make();
        println!("{md}");
        if let Some(dir) = &notes_dir {
            let path = dir.join(format!("otlp-lb-{topic}.md"));
            if let Err(error) = std::fs::write(&path, &md) {
                eprintln!("could not write {}: {error}", path.display());
                std::process::exit(1);
            }
        }
    }
}
