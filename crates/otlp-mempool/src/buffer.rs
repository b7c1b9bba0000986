//! Pooled byte buffers for decoding and encoding requests: a buffer comes back cleared, and one
//! that grew past a limit (a rare huge request) is replaced by a fresh one, so that the pool
//! does not pin the memory of its largest request forever.

use std::sync::Arc;

use crate::pool::{OwnedPooled, Pool, PoolStats, Pooled};

/// A pool of `Vec<u8>` buffers.
#[derive(Debug, Clone)]
pub struct BufferPool {
    pool: Arc<Pool<Vec<u8>>>,
}

/// A buffer on loan from a [`BufferPool`] to the current scope.
pub type PooledBuffer<'a> = Pooled<'a, Vec<u8>>;
/// A buffer on loan from a [`BufferPool`] that can move across tasks.
pub type OwnedBuffer = OwnedPooled<Vec<u8>>;

impl BufferPool {
    /// `count` buffers of `initial_capacity` bytes made now; a returned buffer whose capacity
    /// exceeds `max_retained_capacity` is replaced by a fresh `initial_capacity` one.
    pub fn new(count: usize, initial_capacity: usize, max_retained_capacity: usize) -> Self {
        let pool = Pool::with_reset(
            count,
            move || Vec::with_capacity(initial_capacity),
            move |buffer: &mut Vec<u8>| {
                if buffer.capacity() > max_retained_capacity {
                    *buffer = Vec::with_capacity(initial_capacity);
                } else {
                    buffer.clear();
                }
            },
        );
        Self {
            pool: Arc::new(pool),
        }
    }

    /// An empty buffer, borrowed for the current scope.
    #[inline]
    pub fn get(&self) -> PooledBuffer<'_> {
        self.pool.get()
    }

    /// An empty buffer that can be sent to another task or thread.
    #[inline]
    pub fn get_owned(&self) -> OwnedBuffer {
        self.pool.get_owned()
    }

    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_oversized_ones_are_replaced() {
        let buffers = BufferPool::new(1, 1024, 64 * 1024);
        {
            let mut buffer = buffers.get();
            assert!(buffer.is_empty() && buffer.capacity() >= 1024);
            buffer.extend_from_slice(&[1; 2000]);
        }
        {
            let buffer = buffers.get();
            assert!(buffer.is_empty());
            assert!(buffer.capacity() >= 2000, "kept: under the limit");
        }
        {
            let mut buffer = buffers.get_owned();
            buffer.resize(100 * 1024, 0);
        }
        let buffer = buffers.get();
        assert!(buffer.is_empty());
        assert!(buffer.capacity() < 64 * 1024, "replaced: over the limit");
        assert_eq!(buffers.stats().misses, 0);
    }
}
