//! ```
//! use otlp_mempool::{BatchArena, BufferPool, Pool, SpanBuilder, Value};
//!
//! // Objects reused across requests: pre-allocated, returned (and reset) when the guard drops.
//! let pool = Pool::with_reset(4, Vec::<u64>::new, Vec::clear);
//! {
//!     let mut scratch = pool.get();
//!     scratch.extend([1, 2, 3]);
//! } // back in the pool, cleared
//! assert_eq!((pool.stats().hits, pool.stats().misses), (1, 0));
//!
//! // Encode and decode buffers that come back empty.
//! let buffers = BufferPool::new(8, 64 * 1024, 4 << 20);
//! let mut request = buffers.get();
//! request.extend_from_slice(b"\x0a\x00");
//!
//! // One arena per batch: every allocation of the batch is freed at once, the memory kept.
//! let mut arena = BatchArena::with_capacity(1 << 20);
//! {
//!     let batch = arena.batch();
//!     let name = batch.alloc_str("GET /checkout");
//!     let span = SpanBuilder::new([1; 16], [2; 8], name)
//!         .attribute("http.request.method", Value::Str("GET"))
//!         .attribute("http.response.status_code", Value::Int(200));
//!     assert!(!span.spilled()); // up to 16 attributes live inline
//! } // the arena is reset here
//! ```
//!
//! Allocation-free building blocks for the collector's hot path:
//!
//! * [`Pool`] — a bounded object pool, pre-allocated, with a small per-thread cache of objects in
//!   front of a shared lock-free crossbeam `ArrayQueue` (a get and a put touch only the calling
//!   thread's cache in the common case), RAII guards ([`Pooled`], [`OwnedPooled`]) that return
//!   objects on drop on whichever thread, and exact hit, miss and discard counters
//!   ([`PoolStats`]). The caches count toward the capacity: the pool never keeps more.
//! * [`BatchArena`] — a bumpalo arena per batch; its [`BatchScope`] guard resets it on drop.
//! * [`SpanBuilder`], [`Attributes`], [`FixedAttributes`] — span and attribute builders with 16
//!   attributes inline (`SmallVec` spills beyond, `ArrayVec` refuses).
//! * [`BufferPool`] — pooled `Vec<u8>` buffers for decoding and encoding.
//! * `allocator` (feature `mimalloc`) — mimalloc's purge delay set from the program, for a
//!   process whose resident memory should follow what it holds.
//!
//! `unsafe` is limited to the pool: its guards (moving the object out of a `ManuallyDrop` exactly
//! once) and its per-thread caches (a stack only its own thread touches), and to the one call
//! into mimalloc's C API; each block with its `SAFETY` argument.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(feature = "mimalloc")]
pub mod allocator;
mod arena;
mod buffer;
mod builder;
mod error;
mod pool;

pub use arena::{BatchArena, BatchScope};
pub use buffer::{BufferPool, OwnedBuffer, PooledBuffer};
pub use builder::{
    Attribute, Attributes, FixedAttributes, INLINE_ATTRIBUTES, SpanBuilder, SpanKind, Value,
};
pub use error::{Error, Result};
pub use pool::{MAX_THREAD_CACHE, OwnedPooled, Pool, PoolStats, Pooled};

/// The README's examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
