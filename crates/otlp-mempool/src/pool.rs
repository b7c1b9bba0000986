//! A bounded object pool: a guard hands an object out and puts it back (reset) when dropped.
//!
//! A `get` on an empty pool creates a fresh object (a *miss*) instead of waiting, and an object
//! returned when the pool already owns `capacity` objects is dropped (a *discard*): the pool
//! bounds what it keeps, never what callers may use at once.
//!
//! # Per-thread caches
//!
//! Even an uncontended lock-free queue costs a locked instruction per pop and per push, which
//! dominates a get+put. So each thread keeps a small stack of this pool's objects in front of the
//! shared crossbeam `ArrayQueue` (the design of tcmalloc's and mimalloc's thread caches): a `get`
//! pops from the calling thread's stack and a drop pushes onto the dropping thread's stack, with
//! plain loads and stores. Only when a stack is empty does a `get` refill it from the queue, and
//! only when it is full does a put spill half of it there, both in batches.
//!
//! # What `capacity` bounds
//!
//! The pool *owns* at most `capacity` objects: the `capacity` it makes up front. An owned object
//! is always somewhere: on loan, in the shared queue, or in some thread's cache, so the queue and
//! all the caches together never hold more than `capacity` (the caches are part of the capacity,
//! not on top of it). An object created on a miss is not owned: when it comes back it is kept only
//! if the pool owns fewer than `capacity` objects (one was [`detach`](Pooled::detach)ed), and
//! dropped otherwise, which is a discard.
//!
//! Objects a thread returned stay in its cache, up to [`Pool::thread_cache_size`] of them, until
//! that thread takes them again or fills its cache; a thread that exits leaves its cache to the
//! next thread that gets its slot (thread slots are reused), or to the pool's drop. Another
//! thread finding the queue empty meanwhile misses: that is the price of not sharing the caches.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_queue::ArrayQueue;
use thread_local::ThreadLocal;

type Create<T> = Box<dyn Fn() -> T + Send + Sync>;
type Reset<T> = Box<dyn Fn(&mut T) + Send + Sync>;

/// The most objects one thread's cache holds; the cache of a pool is an eighth of its capacity up
/// to this, so that what idle threads hold back stays a small share of the pool.
pub const MAX_THREAD_CACHE: usize = 16;

/// One thread's cache of a pool's objects, and that thread's hit count.
struct Cache<T> {
    /// Touched only by the thread this entry belongs to (see the `Sync` impl below).
    stack: UnsafeCell<Vec<T>>,
    /// `stack.len()`, for [`Pool::stats`] on other threads; only the owner writes it.
    len: AtomicUsize,
    /// `get`s of this thread served by the pool; only the owner writes it (a load and a store,
    /// not a locked add: exact, because there is one writer).
    hits: AtomicU64,
}

// SAFETY: `stack` is only accessed by `Cache::take` and `Cache::give`, which `Pool` calls only on
// the entry `ThreadLocal::get_or` returns to the calling thread, so one thread at a time uses the
// stack (a thread that exits hands its entry to the next one given its id, with a mutex between
// them). Other threads reach an entry only through `ThreadLocal::iter` in `Pool::stats`, and read
// only its atomics. `T: Send` because the objects of an exited thread's stack are used by the
// next owner, or dropped by whichever thread drops the pool.
unsafe impl<T: Send> Sync for Cache<T> {}

impl<T> Cache<T> {
    fn new(size: usize) -> Self {
        Self {
            stack: UnsafeCell::new(Vec::with_capacity(size)),
            len: AtomicUsize::new(0),
            hits: AtomicU64::new(0),
        }
    }

    /// An object from this cache, else from `shared` along with up to `refill` more for the
    /// cache; counts a hit when there is one.
    #[inline]
    fn take(&self, shared: &ArrayQueue<T>, refill: usize) -> Option<T> {
        // SAFETY: only the owning thread calls this (see the `Sync` impl), and no user code (no
        // `T` drop, no closure, no allocation: the stack never grows past its reserved
        // capacity) runs while the reference lives, so nothing can re-enter and alias it.
        let stack = unsafe { &mut *self.stack.get() };
        let value = match stack.pop() {
            Some(value) => value,
            None => Self::refill(stack, shared, refill)?,
        };
        self.len.store(stack.len(), Ordering::Relaxed);
        self.hits
            .store(self.hits.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        Some(value)
    }

    #[cold]
    fn refill(stack: &mut Vec<T>, shared: &ArrayQueue<T>, refill: usize) -> Option<T> {
        let value = shared.pop()?;
        while stack.len() < refill {
            match shared.pop() {
                Some(more) => stack.push(more),
                None => break,
            }
        }
        Some(value)
    }

    /// Keeps `value` in this cache, first moving `spill` objects to `shared` if it holds `size`;
    /// hands `value` back if neither has room.
    #[inline]
    fn give(&self, value: T, shared: &ArrayQueue<T>, size: usize, spill: usize) -> Result<(), T> {
        // SAFETY: as in `take`: the owning thread only, and no user code while it lives.
        let stack = unsafe { &mut *self.stack.get() };
        let kept = if stack.len() < size {
            stack.push(value);
            Ok(())
        } else {
            Self::spill(stack, value, shared, size, spill)
        };
        self.len.store(stack.len(), Ordering::Relaxed);
        kept
    }

    #[cold]
    fn spill(
        stack: &mut Vec<T>,
        value: T,
        shared: &ArrayQueue<T>,
        size: usize,
        spill: usize,
    ) -> Result<(), T> {
        for _ in 0..spill {
            let Some(cold) = stack.pop() else { break };
            if let Err(cold) = shared.push(cold) {
                stack.push(cold);
                break;
            }
        }
        if stack.len() < size {
            stack.push(value);
            Ok(())
        } else {
            shared.push(value)
        }
    }
}

/// A pool of up to `capacity` reusable `T`s.
pub struct Pool<T: Send> {
    shared: ArrayQueue<T>,
    caches: ThreadLocal<Cache<T>>,
    cache_size: usize,
    create: Create<T>,
    reset: Option<Reset<T>>,
    /// `capacity` minus the objects the pool owns (grows when an owned object is detached).
    vacancies: AtomicUsize,
    misses: AtomicU64,
    discards: AtomicU64,
}

/// Counters of a [`Pool`] since it was built.
///
/// Each counter is exact; read while other threads use the pool, they are read one after the
/// other, not as one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// `get`s served from the pool (from a thread's cache or the shared queue).
    pub hits: u64,
    /// `get`s that found the pool empty and created an object.
    pub misses: u64,
    /// Objects dropped on return because the pool already owned `capacity` objects.
    pub discards: u64,
    /// Objects in the pool now, in the shared queue and in every thread's cache (including
    /// caches that other threads cannot take from).
    pub available: usize,
    /// How many objects the pool keeps at most, caches included.
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

impl<T: Send> Pool<T> {
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
        let capacity = capacity.max(1);
        let shared = ArrayQueue::new(capacity);
        while shared.push(create()).is_ok() {}
        Self {
            shared,
            caches: ThreadLocal::new(),
            cache_size: (capacity / 8).min(MAX_THREAD_CACHE),
            create,
            reset,
            vacancies: AtomicUsize::new(0),
            misses: AtomicU64::new(0),
            discards: AtomicU64::new(0),
        }
    }

    /// An object from the pool, or a new one if it is empty; back into the pool when the guard
    /// drops.
    #[inline]
    pub fn get(&self) -> Pooled<'_, T> {
        let (value, owned) = self.take();
        Pooled {
            value: ManuallyDrop::new(value),
            pool: self,
            owned,
        }
    }

    /// Like [`Pool::get`] with a guard that owns a handle on the pool, for objects that move
    /// across tasks or threads.
    #[inline]
    pub fn get_owned(self: &Arc<Self>) -> OwnedPooled<T> {
        let (value, owned) = self.take();
        OwnedPooled {
            value: ManuallyDrop::new(value),
            pool: Arc::clone(self),
            owned,
        }
    }

    /// How many objects each thread's cache holds at most: an eighth of the capacity, at most
    /// [`MAX_THREAD_CACHE`]; 0 (no caches, every `get` and put goes to the shared queue) below a
    /// capacity of 8.
    pub fn thread_cache_size(&self) -> usize {
        self.cache_size
    }

    /// The counters so far.
    pub fn stats(&self) -> PoolStats {
        let (hits, cached) = self.caches.iter().fold((0, 0), |(hits, cached), cache| {
            (
                hits + cache.hits.load(Ordering::Relaxed),
                cached + cache.len.load(Ordering::Relaxed),
            )
        });
        PoolStats {
            hits,
            misses: self.misses.load(Ordering::Relaxed),
            discards: self.discards.load(Ordering::Relaxed),
            available: self.shared.len() + cached,
            capacity: self.shared.capacity(),
        }
    }

    #[inline]
    fn cache(&self) -> &Cache<T> {
        match self.caches.get() {
            Some(cache) => cache,
            None => self.first_cache(),
        }
    }

    #[cold]
    fn first_cache(&self) -> &Cache<T> {
        self.caches.get_or(|| Cache::new(self.cache_size))
    }

    /// An object and whether the pool owns it.
    #[inline]
    fn take(&self) -> (T, bool) {
        match self.cache().take(&self.shared, self.cache_size / 2) {
            Some(value) => (value, true),
            None => (self.miss(), false),
        }
    }

    #[cold]
    fn miss(&self) -> T {
        self.misses.fetch_add(1, Ordering::Relaxed);
        (self.create)()
    }

    #[inline]
    fn put(&self, mut value: T, owned: bool) {
        if let Some(reset) = &self.reset {
            reset(&mut value);
        }
        if !owned && !self.fill_vacancy() {
            self.discard(value);
            return;
        }
        let spill = self.cache_size.div_ceil(2);
        if let Err(value) = self
            .cache()
            .give(value, &self.shared, self.cache_size, spill)
        {
            // Unreachable while the pool owns at most `capacity` objects, the queue's capacity.
            self.discard(value);
        }
    }

    /// Drops a returned object the pool has no room for (outside any cache borrow, in case
    /// `T`'s drop uses the pool).
    #[cold]
    fn discard(&self, value: T) {
        self.discards.fetch_add(1, Ordering::Relaxed);
        drop(value);
    }

    /// Takes one vacancy for an object created on a miss, if the pool owns fewer than
    /// `capacity`; the common answer (no vacancy) costs a load, not a locked instruction.
    #[cold]
    fn fill_vacancy(&self) -> bool {
        self.vacancies
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |free| {
                free.checked_sub(1)
            })
            .is_ok()
    }

    /// An owned object leaves the pool for good: a later returned miss may take its place.
    fn release(&self, owned: bool) {
        if owned {
            self.vacancies.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<T: Send> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("stats", &self.stats())
            .field("thread_cache_size", &self.cache_size)
            .finish()
    }
}

/// An object on loan from a [`Pool`]; dereferences to it and returns it on drop, to the cache of
/// the thread that drops it.
pub struct Pooled<'a, T: Send> {
    value: ManuallyDrop<T>,
    pool: &'a Pool<T>,
    owned: bool,
}

impl<T: Send> Pooled<'_, T> {
    /// Keeps the object: it is not returned to the pool. If the pool owned it, the pool may
    /// keep an object created on a later miss in its place.
    pub fn detach(self) -> T {
        let mut this = ManuallyDrop::new(self);
        this.pool.release(this.owned);
        // SAFETY: `this` is never dropped, so `Drop::drop` will not take `value` a second
        // time, and `value` is not used after this read.
        unsafe { ManuallyDrop::take(&mut this.value) }
    }
}

impl<T: Send> Drop for Pooled<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and `value` is not touched after it is taken here.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        self.pool.put(value, self.owned);
    }
}

impl<T: Send> Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Send> DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: Send + fmt::Debug> fmt::Debug for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

/// An object on loan from an `Arc<Pool>`, so it can cross tasks and threads; returned on drop to
/// the cache of the thread that drops it.
pub struct OwnedPooled<T: Send> {
    value: ManuallyDrop<T>,
    pool: Arc<Pool<T>>,
    owned: bool,
}

impl<T: Send> OwnedPooled<T> {
    /// Keeps the object: it is not returned to the pool. If the pool owned it, the pool may
    /// keep an object created on a later miss in its place.
    pub fn detach(self) -> T {
        let mut this = ManuallyDrop::new(self);
        this.pool.release(this.owned);
        // SAFETY: `this` is never dropped, so `value` is taken exactly once; the pool handle is
        // dropped here, as the guard's drop would have.
        unsafe {
            let value = ManuallyDrop::take(&mut this.value);
            std::ptr::drop_in_place(&mut this.pool);
            value
        }
    }
}

impl<T: Send> Drop for OwnedPooled<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and `value` is not touched after it is taken here.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        self.pool.put(value, self.owned);
    }
}

impl<T: Send> Deref for OwnedPooled<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Send> DerefMut for OwnedPooled<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: Send + fmt::Debug> fmt::Debug for OwnedPooled<T> {
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

    #[test]
    fn a_thread_reuses_its_cache_without_touching_the_queue() {
        let pool = Pool::with_reset(64, Vec::<u8>::new, Vec::clear);
        assert_eq!(pool.thread_cache_size(), 8);
        drop(pool.get()); // fills this thread's cache from the queue
        let queued = pool.shared.len();
        assert!(queued < 64);
        for i in 0..1000 {
            let mut object = pool.get();
            assert!(object.is_empty(), "reset on the way back");
            object.push(i as u8);
        }
        assert_eq!(pool.shared.len(), queued, "served from the cache alone");
        let stats = pool.stats();
        assert_eq!((stats.hits, stats.misses, stats.discards), (1001, 0, 0));
        assert_eq!(stats.available, 64);
    }

    #[test]
    fn objects_taken_on_one_thread_come_back_on_another() {
        let pool = Arc::new(Pool::with_reset(16, Vec::<u32>::new, Vec::clear));
        let mut loans: Vec<_> = (0..16).map(|_| pool.get_owned()).collect();
        for (i, loan) in loans.iter_mut().enumerate() {
            loan.push(i as u32);
        }
        let other = std::thread::spawn(move || drop(loans));
        other.join().unwrap();
        let stats = pool.stats();
        assert_eq!((stats.hits, stats.misses, stats.discards), (16, 0, 0));
        assert_eq!(
            stats.available, 16,
            "kept: the other thread's cache, the rest queued"
        );
        std::thread::scope(|scope| {
            let borrowed = pool.get();
            scope.spawn(move || drop(borrowed));
        });
        let mut seen = 0;
        let again: Vec<_> = (0..16).map(|_| pool.get()).collect();
        for object in &again {
            assert!(object.is_empty(), "reset whichever thread returned it");
            seen += 1;
        }
        drop(again);
        let stats = pool.stats();
        assert_eq!(seen, 16);
        assert!(stats.available <= 16);
        assert_eq!(
            stats.available + stats.discards as usize,
            16 + stats.misses as usize
        );
    }

    #[test]
    fn a_returned_miss_takes_the_place_of_a_detached_object() {
        let pool = Pool::new(1, String::new);
        let owned = pool.get();
        let extra = pool.get(); // a miss: not the pool's
        drop(owned.detach()); // the pool now owns nothing
        drop(extra); // so it keeps the extra one
        let stats = pool.stats();
        assert_eq!((stats.misses, stats.discards, stats.available), (1, 0, 1));
        let (a, b) = (pool.get(), pool.get());
        drop((a, b)); // one owned, one miss: the miss is discarded
        let stats = pool.stats();
        assert_eq!((stats.misses, stats.discards, stats.available), (2, 1, 1));
    }

    #[test]
    fn producers_and_consumers_on_different_threads() {
        let pool = Arc::new(Pool::with_reset(64, Vec::<u64>::new, Vec::clear));
        let rounds = if cfg!(miri) { 50 } else { 20_000 };
        let (send, receive) = std::sync::mpsc::sync_channel::<OwnedPooled<Vec<u64>>>(32);
        let producer = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                for i in 0..rounds {
                    let mut object = pool.get_owned();
                    assert!(object.is_empty());
                    object.push(i);
                    send.send(object).unwrap();
                }
            })
        };
        let consumer = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                for object in receive {
                    assert_eq!(object.len(), 1);
                    assert!(pool.stats().available <= 64);
                }
            })
        };
        producer.join().unwrap();
        consumer.join().unwrap();
        let stats = pool.stats();
        assert_eq!(stats.hits + stats.misses, rounds);
        assert!(stats.available <= 64);
        assert_eq!(
            stats.available + stats.discards as usize,
            64 + stats.misses as usize
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Get { owned: bool },
            Drop(usize),
            DropOnAnotherThread(usize),
            Detach(usize),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => any::<bool>().prop_map(|owned| Op::Get { owned }),
                2 => any::<usize>().prop_map(Op::Drop),
                2 => any::<usize>().prop_map(Op::DropOnAnotherThread),
                1 => any::<usize>().prop_map(Op::Detach),
            ]
        }

        enum Loan<'a> {
            Borrowed(Pooled<'a, Vec<u32>>),
            Owned(OwnedPooled<Vec<u32>>),
        }

        impl Loan<'_> {
            fn detach(self) -> Vec<u32> {
                match self {
                    Loan::Borrowed(loan) => loan.detach(),
                    Loan::Owned(loan) => loan.detach(),
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

            /// Whatever the order of gets, returns (here or on another thread) and detaches: the
            /// pool never holds more than its capacity, every object comes out reset, the hits
            /// and misses add up to the gets, and every object made is held, discarded or
            /// detached.
            #[test]
            fn the_counts_add_up_and_capacity_holds(
                capacity in 1usize..40,
                ops in proptest::collection::vec(op(), 0..120),
            ) {
                let pool = Arc::new(Pool::with_reset(capacity, Vec::<u32>::new, Vec::clear));
                let (mut gets, mut detached) = (0u64, 0usize);
                std::thread::scope(|scope| {
                    let (send, receive) = std::sync::mpsc::channel::<Loan<'_>>();
                    let (done, finished) = std::sync::mpsc::channel::<()>();
                    scope.spawn(move || {
                        for loan in receive {
                            drop(loan);
                            let _ = done.send(());
                        }
                    });
                    let mut loans = Vec::new();
                    for op in ops {
                        match op {
                            Op::Get { owned } => {
                                gets += 1;
                                let mut loan = if owned {
                                    Loan::Owned(pool.get_owned())
                                } else {
                                    Loan::Borrowed(pool.get())
                                };
                                let object = match &mut loan {
                                    Loan::Borrowed(loan) => &mut **loan,
                                    Loan::Owned(loan) => &mut **loan,
                                };
                                prop_assert!(object.is_empty(), "not reset");
                                object.push(7);
                                loans.push(loan);
                            }
                            Op::Drop(i) if !loans.is_empty() => {
                                drop(loans.swap_remove(i % loans.len()));
                            }
                            Op::DropOnAnotherThread(i) if !loans.is_empty() => {
                                send.send(loans.swap_remove(i % loans.len())).unwrap();
                                finished.recv().unwrap();
                            }
                            Op::Detach(i) if !loans.is_empty() => {
                                let object = loans.swap_remove(i % loans.len()).detach();
                                prop_assert_eq!(object, vec![7]);
                                detached += 1;
                            }
                            _ => {}
                        }
                        let stats = pool.stats();
                        prop_assert!(stats.available <= capacity);
                        prop_assert_eq!(stats.hits + stats.misses, gets);
                    }
                    drop(loans);
                    Ok(())
                })?;
                let stats = pool.stats();
                prop_assert!(stats.available <= capacity);
                prop_assert_eq!(
                    stats.available + stats.discards as usize + detached,
                    capacity + stats.misses as usize
                );
            }
        }
    }
}
