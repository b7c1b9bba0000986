//! The caches of recently decided trace IDs, so late spans follow their trace's decision
//! after the trace itself is evicted.

use std::collections::VecDeque;
use std::mem::size_of;

use super::engine::TraceKey;
use super::hashing::FastSet;

/// A FIFO-bounded set of trace IDs.
#[derive(Debug)]
pub(super) struct DecisionCache {
    capacity: usize,
    members: FastSet<TraceKey>,
    order: VecDeque<TraceKey>,
}

impl DecisionCache {
    pub(super) fn new(capacity: usize) -> Self {
        DecisionCache {
            capacity,
            members: FastSet::default(),
            order: VecDeque::new(),
        }
    }

    pub(super) fn insert(&mut self, key: TraceKey) {
        if self.capacity == 0 || !self.members.insert(key) {
            return;
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.members.remove(&oldest);
            }
        }
    }

    pub(super) fn contains(&self, key: &TraceKey) -> bool {
        self.members.contains(key)
    }

    /// Heap bytes the cache holds (a hashbrown slot is the key plus one control byte).
    pub(super) fn heap_bytes(&self) -> usize {
        self.members.capacity() * (size_of::<TraceKey>() + 1)
            + self.order.capacity() * size_of::<TraceKey>()
    }
}
