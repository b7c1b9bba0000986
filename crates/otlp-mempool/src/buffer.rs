//! Pooled byte buffers for decoding and encoding requests: a buffer comes back cleared, and one
//! that grew past a limit (a rare huge request) is replaced by a fresh one, so that the pool
//! does not pin the memory of its largest request forever.
//!
//! The pool lends each `Vec<u8>` behind a box of its own, made once with the buffer. Moving a bare
//! `Vec` (three words) in and out of a guard and a thread's cache costs more than the pool's whole
//! bookkeeping: the compiler copies the three words in pieces of different widths, and on x86 a
//! 16-byte load of two 8-byte stores just made cannot be forwarded from the store buffer, a stall
//! on every get and every put, as `perf annotate` of the `pool_get_put` bench showed (a 4 KiB
//! buffer's get+put took 24.5 ns against 5.3 ns for a boxed object; 8.3 ns boxed, see the crate
//! README). A box moves as one word.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::pool::{OwnedPooled, Pool, PoolStats, Pooled};

/// The buffer in its box of its own (see the module docs for why the box).
#[allow(
    clippy::box_collection,
    reason = "the box is made once per pooled buffer, and moves as one word"
)]
type Boxed = Box<Vec<u8>>;

/// A pool of `Vec<u8>` buffers.
#[derive(Debug, Clone)]
pub struct BufferPool {
    pool: Arc<Pool<Boxed>>,
}

/// A buffer on loan from a [`BufferPool`] to the current scope; derefs to `Vec<u8>`.
pub struct PooledBuffer<'a>(Pooled<'a, Boxed>);

/// A buffer on loan from a [`BufferPool`] that can move across tasks and threads; derefs to
/// `Vec<u8>`.
pub struct OwnedBuffer(OwnedPooled<Boxed>);

impl BufferPool {
    /// `count` buffers of `initial_capacity` bytes made now; a returned buffer whose capacity
    /// exceeds `max_retained_capacity` is replaced by a fresh `initial_capacity` one.
    pub fn new(count: usize, initial_capacity: usize, max_retained_capacity: usize) -> Self {
        let pool = Pool::with_reset(
            count,
            move || Box::new(Vec::with_capacity(initial_capacity)),
            move |buffer: &mut Boxed| {
                if buffer.capacity() > max_retained_capacity {
                    **buffer = Vec::with_capacity(initial_capacity);
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
        PooledBuffer(self.pool.get())
    }

    /// An empty buffer that can be sent to another task or thread.
    #[inline]
    pub fn get_owned(&self) -> OwnedBuffer {
        OwnedBuffer(self.pool.get_owned())
    }

    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }
}

impl PooledBuffer<'_> {
    /// Keeps the buffer: it is not returned to the pool, which may keep a buffer created on a
    /// later miss in its place.
    pub fn detach(self) -> Vec<u8> {
        *self.0.detach()
    }
}

impl OwnedBuffer {
    /// Keeps the buffer: it is not returned to the pool, which may keep a buffer created on a
    /// later miss in its place.
    pub fn detach(self) -> Vec<u8> {
        *self.0.detach()
    }
}

macro_rules! buffer_guard {
    ($guard:ty) => {
        impl Deref for $guard {
            type Target = Vec<u8>;
            #[inline]
            fn deref(&self) -> &Vec<u8> {
                &self.0
            }
        }

        impl DerefMut for $guard {
            #[inline]
            fn deref_mut(&mut self) -> &mut Vec<u8> {
                &mut self.0
            }
        }

        impl AsRef<[u8]> for $guard {
            #[inline]
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl AsMut<[u8]> for $guard {
            #[inline]
            fn as_mut(&mut self) -> &mut [u8] {
                &mut self.0
            }
        }

        impl fmt::Debug for $guard {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
    };
}

buffer_guard!(PooledBuffer<'_>);
buffer_guard!(OwnedBuffer);

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

    #[test]
    fn a_detached_buffer_keeps_its_bytes_and_a_later_miss_takes_its_place() {
        let buffers = BufferPool::new(1, 16, 1024);
        let mut buffer = buffers.get_owned();
        buffer.extend_from_slice(b"request");
        assert_eq!(buffer.as_ref(), b"request");
        assert_eq!(buffer.detach(), b"request".to_vec());
        drop(buffers.get());
        let stats = buffers.stats();
        assert_eq!((stats.misses, stats.discards, stats.available), (1, 0, 1));
    }
}
