//! A bounded, lock-free object pool: objects live in a crossbeam `ArrayQueue`, a guard hands
//! one out and puts it back (reset) when dropped.
//!
//! A `get` on an empty pool creates a fresh object (a *miss*) instead of waiting, and a guard
//! dropped into a full pool drops its object (a *discard*): the pool bounds what it keeps, never
//! what callers may use at once.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;

use std::cell::Cell;
use std::sync::atomic::AtomicUsize;

type Create<T> = Box<dyn Fn() -> T + Send + Sync>;

/// Hit counters per thread: a locked add (`fetch_add`) costs as much as a queue operation, and a
/// hit is the common case, so each of the first [`HIT_SHARDS`] threads of the process counts its
/// hits in a slot of its own with a plain load and store (exact: the slot has one writer); later
/// threads share one atomic counter.
const HIT_SHARDS: usize = 16;

/// A counter on a cache line of its own, so that threads counting do not share a line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(AtomicU64);

static NEXT_THREAD_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's hit-counter slot, assigned on first use (`>= HIT_SHARDS`: the shared counter).
fn thread_slot() -> usize {
    THREAD_SLOT.with(|slot| {
        let mut index = slot.get();
        if index == usize::MAX {
            index = NEXT_THREAD_SLOT.fetch_add(1, Ordering::Relaxed);
            slot.set(index);
        }
        index
    })
}
type Reset<T> = Box<dyn Fn(&mut T) + Send + Sync>;

/// A pool of up to `capacity` reusable `T`s.
pub struct Pool<T> {
    queue: ArrayQueue<T>,
    create: Create<T>,
    reset: Option<Reset<T>>,
    misses: AtomicU64,
    hits: [Shard; HIT_SHARDS],
    shared_hits: AtomicU64,
    discards: AtomicU64,
}

/// Counters of a [`Pool`] since it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// `get`s served from the pool.
    pub hits: u64,
    /// `get`s that found the pool empty and created an object.
    pub misses: u64,
    /// Objects dropped on return because the pool was full.
    pub discards: u64,
    /// Objects in the pool now.
    pub available: usize,
    /// How many objects the pool keeps at most.
    pub capacity: usize,
}

impl PoolStats {
    /// Hits over all `get`s (1.0 before the first `get`).
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            1.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

impl<T> Pool<T> {
    /// A pool of `capacity` objects made by `create`, all made now so that the first `capacity`
    /// concurrent `get`s allocate nothing. A zero capacity is raised to 1.
    pub fn new(capacity: usize, create: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self::build(capacity, Box::new(create), None)
    }

    /// Like [`Pool::new`], with `reset` applied to every object as it comes back (to clear a
    /// buffer, say), so the next user finds it clean.
    pub fn with_reset(
        capacity: usize,
        create: impl Fn() -> T + Send + Sync + 'static,
        reset: impl Fn(&mut T) + Send + Sync + 'static,
    ) -> Self {
        Self::build(capacity, Box::new(create), Some(Box::new(reset)))
    }

    fn build(capacity: usize, create: Create<T>, reset: Option<Reset<T>>) -> Self {
        let queue = ArrayQueue::new(capacity.max(1));
        while queue.push(create()).is_ok() {}
        Self {
            queue,
            create,
            reset,
            misses: AtomicU64::new(0),
            hits: Default::default(),
            shared_hits: AtomicU64::new(0),
            discards: AtomicU64::new(0),
        }
    }

    /// An object from the pool, or a new one if it is empty; back into the pool when the guard
    /// drops.
    pub fn get(&self) -> Pooled<'_, T> {
        Pooled {
            value: ManuallyDrop::new(self.take()),
            pool: self,
        }
    }

    /// Like [`Pool::get`] with a guard that owns a handle on the pool, for objects that move
    /// across tasks or threads.
    pub fn get_owned(self: &Arc<Self>) -> OwnedPooled<T> {
        OwnedPooled {
            value: ManuallyDrop::new(self.take()),
            pool: Arc::clone(self),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            hits: self
                .hits
                .iter()
                .map(|shard| shard.0.load(Ordering::Relaxed))
                .sum::<u64>()
                + self.shared_hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            discards: self.discards.load(Ordering::Relaxed),
            available: self.queue.len(),
            capacity: self.queue.capacity(),
        }
    }

    fn take(&self) -> T {
        match self.queue.pop() {
            Some(value) => {
                match self.hits.get(thread_slot()) {
                    Some(Shard(own)) => {
                        own.store(own.load(Ordering::Relaxed) + 1, Ordering::Relaxed)
                    }
                    None => {
                        self.shared_hits.fetch_add(1, Ordering::Relaxed);
                    }
                }
                value
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                (self.create)()
            }
        }
    }

    fn put(&self, mut value: T) {
        if let Some(reset) = &self.reset {
            reset(&mut value);
        }
        if self.queue.push(value).is_err() {
            self.discards.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("stats", &self.stats())
            .finish()
    }
}

/// An object on loan from a [`Pool`]; dereferences to it and returns it on drop.
pub struct Pooled<'a, T> {
    value: ManuallyDrop<T>,
    pool: &'a Pool<T>,
}

impl<T> Pooled<'_, T> {
    /// Keeps the object: it is not returned to the pool.
    pub fn detach(self) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so `Drop::drop` will not take `value` a second
        // time, and `value` is not used after this read.
        unsafe { ManuallyDrop::take(&mut this.value) }
    }
}

impl<T> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and `value` is not touched after it is taken here.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        self.pool.put(value);
    }
}

impl<T> Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

/// An object on loan from an `Arc<Pool>`; `Send` when `T` is, so it can cross tasks.
pub struct OwnedPooled<T> {
    value: ManuallyDrop<T>,
    pool: Arc<Pool<T>>,
}

impl<T> OwnedPooled<T> {
    /// Keeps the object: it is not returned to the pool.
    pub fn detach(self) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so `value` is taken exactly once; the pool handle is
        // dropped here, as the guard's drop would have.
        unsafe {
            let value = ManuallyDrop::take(&mut this.value);
            std::ptr::drop_in_place(&mut this.pool);
            value
        }
    }
}

impl<T> Drop for OwnedPooled<T> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and `value` is not touched after it is taken here.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        self.pool.put(value);
    }
}

impl<T> Deref for OwnedPooled<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for OwnedPooled<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedPooled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preallocates_and_counts_hits_misses_and_discards() {
        let pool = Pool::new(2, || vec![0u8; 4]);
        assert_eq!(pool.stats().available, 2);
        let a = pool.get();
        let b = pool.get();
        let c = pool.get(); // empty: a miss, freshly created
        assert_eq!(*c, vec![0; 4]);
        let stats = pool.stats();
        assert_eq!((stats.hits, stats.misses, stats.available), (2, 1, 0));
        drop((a, b, c)); // the third finds the pool full
        let stats = pool.stats();
        assert_eq!((stats.discards, stats.available), (1, 2));
        assert!((stats.hit_ratio() - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn returned_objects_are_reset_and_reused() {
        let pool = Pool::with_reset(1, Vec::<u32>::new, Vec::clear);
        {
            let mut first = pool.get();
            first.extend([1, 2, 3]);
        }
        let second = pool.get();
        assert!(second.is_empty());
        assert!(second.capacity() >= 3, "the allocation came back");
        assert_eq!(pool.stats().misses, 0);
    }

    #[test]
    fn detached_objects_do_not_return() {
        let pool = Arc::new(Pool::new(1, String::new));
        let owned = pool.get_owned();
        let kept: String = owned.detach();
        assert_eq!(kept, "");
        assert_eq!(pool.stats().available, 0);
        assert_eq!(Arc::strong_count(&pool), 1);
        let borrowed = pool.get().detach();
        drop(borrowed);
        assert_eq!(pool.stats().available, 0);
    }

    #[test]
    fn threads_share_one_pool() {
        let pool = Arc::new(Pool::with_reset(8, Vec::<u64>::new, Vec::clear));
        let handles: Vec<_> = (0..4)
            .map(|thread| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    // Miri interprets every atomic step; a shorter run checks the same races.
                    for i in 0..if cfg!(miri) { 25 } else { 1000 } {
                        let mut buffer = pool.get_owned();
                        assert!(buffer.is_empty());
                        buffer.push(thread * 1000 + i);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let stats = pool.stats();
        assert_eq!(
            stats.hits + stats.misses,
            4 * if cfg!(miri) { 25 } else { 1000 }
        );
        assert_eq!(
            stats.available + stats.discards as usize,
            8 + stats.misses as usize
        );
    }
}
