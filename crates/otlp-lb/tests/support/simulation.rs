//! A deterministic discrete-event simulation of a balancer in front of backends, one of them
//! slow: Poisson arrivals, each backend a FIFO queue in front of a few workers with
//! exponential service times. Drives the real `Balancer` on a `ManualClock`, so the
//! latency-aware algorithms learn from simulated responses exactly as from real ones.
//! Shared by `tests/simulation.rs` (asserts) and `benches/balance.rs` (the notes table).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use otlp_lb::policy::Policy;
use otlp_lb::{Balancer, Endpoint, ManualClock, Pick};

/// The simulated system. The default: ten backends with four workers each and 10 ms mean
/// service time, backend 0 five times slower, 600 requests per second — the fast backends
/// 15% busy, the slow one 75% busy under round robin (loaded, but stable).
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Backends.
    pub backends: usize,
    /// Workers per backend (requests served at once; the rest wait in FIFO order).
    pub workers: usize,
    /// Mean service time of a normal backend.
    pub service_mean: Duration,
    /// How many times slower backend 0 is.
    pub slowdown: f64,
    /// Mean arrivals per second.
    pub arrivals_per_second: f64,
    /// Requests simulated.
    pub requests: usize,
    /// Seed for arrivals, service times and the balancer.
    pub seed: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            backends: 10,
            workers: 4,
            service_mean: Duration::from_millis(10),
            slowdown: 5.0,
            arrivals_per_second: 600.0,
            requests: 200_000,
            seed: 42,
        }
    }
}

/// Latency percentiles and where requests went.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Median latency (queueing + service).
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// 99.9th percentile latency.
    pub p999: Duration,
    /// Share of requests sent to the slow backend.
    pub slow_share: f64,
}

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// An exponential draw with the given mean, in ns.
    fn exponential(&mut self, mean_nanos: f64) -> u64 {
        let uniform = ((self.next() >> 11) as f64 + 0.5) / (1_u64 << 53) as f64;
        (-uniform.ln() * mean_nanos) as u64
    }
}

enum Event {
    Arrival,
    Completion { backend: usize, request: usize },
}

struct Request {
    arrived: u64,
    service: u64,
    pick: Option<Pick>,
}

/// Runs `scenario` with `policy` and returns the latency percentiles.
pub fn simulate<P: Policy>(policy: P, scenario: &Scenario) -> Outcome {
    let clock = Arc::new(ManualClock::new());
    let balancer = Balancer::builder(policy)
        .clock(clock.clone())
        .seed(scenario.seed)
        .endpoints((0..scenario.backends).map(|i| Endpoint::new(format!("backend-{i:03}"))))
        .build()
        .expect("valid scenario");
    let backend_of = |pick: &Pick| -> usize {
        pick.endpoint().id().as_str()[8..]
            .parse()
            .expect("backend-NNN ids")
    };
    let mut random = Random(scenario.seed);
    let service_mean = scenario.service_mean.as_nanos() as f64;
    let interarrival_mean = 1e9 / scenario.arrivals_per_second;

    let mut events: BinaryHeap<Reverse<(u64, u64, usize, usize)>> = BinaryHeap::new();
    // (time, sequence, kind 0 = arrival / 1 = completion, payload)
    let mut sequence = 0_u64;
    let mut push = |events: &mut BinaryHeap<_>, time: u64, event: Event| {
        sequence += 1;
        let (kind, payload) = match event {
            Event::Arrival => (0, 0),
            Event::Completion { backend, request } => (1, backend << 32 | request),
        };
        events.push(Reverse((time, sequence, kind, payload)));
    };
    push(&mut events, 0, Event::Arrival);

    let mut requests: Vec<Request> = Vec::with_capacity(scenario.requests);
    let mut busy = vec![0_usize; scenario.backends];
    let mut queues: Vec<VecDeque<usize>> = vec![VecDeque::new(); scenario.backends];
    let mut latencies: Vec<u64> = Vec::with_capacity(scenario.requests);
    let mut to_slow = 0_usize;

    while let Some(Reverse((now, _, kind, payload))) = events.pop() {
        clock.set_nanos(now);
        if kind == 0 {
            if requests.len() < scenario.requests {
                let pick = balancer.pick().expect("endpoints present");
                let backend = backend_of(&pick);
                to_slow += usize::from(backend == 0);
                let mean = if backend == 0 {
                    service_mean * scenario.slowdown
                } else {
                    service_mean
                };
                let request = requests.len();
                requests.push(Request {
                    arrived: now,
                    service: random.exponential(mean),
                    pick: Some(pick),
                });
                if busy[backend] < scenario.workers {
                    busy[backend] += 1;
                    let done = now + requests[request].service;
                    push(&mut events, done, Event::Completion { backend, request });
                } else {
                    queues[backend].push_back(request);
                }
                let next = now + random.exponential(interarrival_mean);
                push(&mut events, next, Event::Arrival);
            }
        } else {
            let (backend, request) = (payload >> 32, payload & 0xffff_ffff);
            latencies.push(now - requests[request].arrived);
            if let Some(pick) = requests[request].pick.take() {
                pick.success();
            }
            match queues[backend].pop_front() {
                Some(next) => {
                    let done = now + requests[next].service;
                    push(
                        &mut events,
                        done,
                        Event::Completion {
                            backend,
                            request: next,
                        },
                    );
                }
                None => busy[backend] -= 1,
            }
        }
    }
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        Duration::from_nanos(latencies[index])
    };
    Outcome {
        p50: percentile(0.50),
        p99: percentile(0.99),
        p999: percentile(0.999),
        slow_share: to_slow as f64 / scenario.requests as f64,
    }
}
