//! ```
//! use otlp_lb::{Balancer, Endpoint, Key, policy::ConsistentHash, policy::PeakEwma};
//!
//! // Route each trace to one collector: consistent hashing on the trace id.
//! let ring = Balancer::new(ConsistentHash::new());
//! ring.set_endpoints((1..=3).map(|i| Endpoint::new(format!("collector-{i}:4317"))))?;
//! let trace_id = [0x4b_u8; 16];
//! let owner = ring.router().owner(&trace_id).cloned();
//! let pick = ring.pick_key(&trace_id)?;
//! assert_eq!(Some(pick.endpoint()), owner.as_ref());
//! pick.success();
//!
//! // Spread requests by latency: power of two choices over peak-EWMA.
//! let p2c = Balancer::new(PeakEwma::new());
//! p2c.set_endpoints(vec![Endpoint::new("a:80"), Endpoint::new("b:80").with_weight(2)])?;
//! let pick = p2c.pick()?;
//! println!("sending to {}", pick.endpoint().address());
//! pick.success(); // the time since the pick is the latency sample
//! # Ok::<(), otlp_lb::Error>(())
//! ```
//!
//! Load balancing for OpenTelemetry pipelines, usable on its own.
//!
//! * [`Balancer`] — an endpoint set that changes at runtime (add, remove, replace, set) while
//!   picks run concurrently through `&self` without a lock, over any [`policy::Policy`]:
//!   [round robin](policy::RoundRobin), [smooth weighted round
//!   robin](policy::SmoothWeightedRoundRobin) (nginx), [least
//!   connections](policy::LeastConnections), [weighted random](policy::WeightedRandom),
//!   [consistent hashing](policy::ConsistentHash) with virtual nodes and optional bounded
//!   loads, [Maglev](policy::Maglev), [P2C peak-EWMA](policy::PeakEwma) and [least
//!   latency](policy::LeastLatency). Endpoints carry a weight, a priority group and labels.
//! * [`Pick`] — the chosen endpoint, counted in flight until dropped; its reported outcome
//!   and latency feed the learning algorithms and [outlier
//!   ejection](health::OutlierDetection).
//! * [`KeyRouter`] — who owns a key under one membership, how to split a batch by owner and
//!   what moves when membership changes: the base of a trace-routing exporter that loses and
//!   duplicates nothing.
//! * [`retry`] — exponential backoff with full jitter, a retry budget, and failover that
//!   retries on the next candidate.
//! * With the `tokio` feature (default): the `resolver` module, whose resolvers publish whole
//!   endpoint sets (static, DNS), and active health checks (`health::HealthChecker`); with
//!   `tower` (default): `service::BalanceLayer`, a tower layer balancing over per-endpoint
//!   services.
// docs.rs (`--cfg docsrs`, nightly) marks each item with the features it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod balancer;
mod clock;
mod endpoint;
mod error;
pub mod health;
mod key;
mod pick;
pub mod policy;
#[cfg(feature = "tokio")]
pub mod resolver;
pub mod retry;
mod rng;
mod router;
#[cfg(feature = "tower")]
pub mod service;
mod state;

pub use balancer::{Balance, Balancer, BalancerBuilder, PickRequest};
pub use clock::{Clock, ManualClock, SystemClock};
pub use endpoint::{Endpoint, EndpointId};
pub use error::{Error, Result};
pub use key::{Key, hash_key};
pub use pick::{Outcome, Pick};
pub use router::{KeyRouter, MembershipChange, Rerouted, Routed, ring_moved_share};
pub use state::EndpointStats;

/// The README's example, compiled and run as a doctest so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
