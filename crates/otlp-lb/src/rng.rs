//! A lock-free random source for picks: SplitMix64 over one atomic counter, so concurrent
//! picks never block, and a seeded balancer is deterministic when driven from one thread.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::key::mix64;

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

#[derive(Debug)]
pub(crate) struct Rng {
    state: AtomicU64,
}

impl Rng {
    pub(crate) fn seeded(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }

    /// A seed that differs between balancers and processes (std's per-process random keys).
    pub(crate) fn entropy_seed() -> u64 {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(std::time::SystemTime::now())
    }

    #[inline]
    pub(crate) fn next_u64(&self) -> u64 {
        mix64(
            self.state
                .fetch_add(GAMMA, Ordering::Relaxed)
                .wrapping_add(GAMMA),
        )
    }
}
