//! Round robin: each endpoint in turn.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{PickContext, Policy};
use crate::endpoint::Endpoint;

/// Each endpoint in turn, skipping the ineligible ones; weights are ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobin {}

impl RoundRobin {
    /// Round robin.
    pub fn new() -> Self {
        Self {}
    }
}

/// Round robin's table: the turn counter (it restarts when membership changes).
#[derive(Debug, Default)]
pub struct RoundRobinTable {
    next: AtomicUsize,
}

impl Policy for RoundRobin {
    type Table = RoundRobinTable;

    fn name(&self) -> &'static str {
        "round_robin"
    }

    fn build(&self, _endpoints: &[Endpoint]) -> crate::Result<Self::Table> {
        Ok(RoundRobinTable::default())
    }

    #[inline]
    fn pick(&self, table: &Self::Table, ctx: &PickContext<'_>) -> Option<usize> {
        let start = table.next.fetch_add(1, Ordering::Relaxed) % ctx.len().max(1);
        if ctx.usable(start) {
            return Some(start);
        }
        ctx.first_usable_from(start)
    }
}
