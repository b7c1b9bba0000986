//! A per-batch bump arena: everything a batch needs is bump-allocated, and the whole batch is
//! freed at once when its scope ends, keeping the memory for the next batch.

use bumpalo::Bump;

/// A bump arena reused batch after batch.
#[derive(Debug, Default)]
pub struct BatchArena {
    bump: Bump,
    batches: u64,
}

impl BatchArena {
    /// An empty arena; its first batch allocates its chunks.
    pub fn new() -> Self {
        Self::default()
    }

    /// An arena with `bytes` allocated up front, enough for a typical batch.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            bump: Bump::with_capacity(bytes),
            batches: 0,
        }
    }

    /// A scope for one batch: allocate through it, and everything is freed (the memory kept)
    /// when it drops. Allocations borrow the scope, so none can outlive the reset.
    pub fn batch(&mut self) -> BatchScope<'_> {
        self.batches += 1;
        BatchScope {
            bump: &mut self.bump,
        }
    }

    /// Bytes of chunks the arena holds (what the next batch can use without allocating).
    pub fn capacity(&self) -> usize {
        self.bump.allocated_bytes()
    }

    /// Number of batch scopes opened so far.
    pub fn batches(&self) -> u64 {
        self.batches
    }
}

/// One batch's allocations; resets the arena when dropped.
#[derive(Debug)]
pub struct BatchScope<'a> {
    bump: &'a mut Bump,
}

impl BatchScope<'_> {
    /// The bump allocator, for `bumpalo::collections` types and the other `Bump` methods.
    pub fn bump(&self) -> &Bump {
        self.bump
    }

    /// Moves `value` into the arena.
    pub fn alloc<T>(&self, value: T) -> &mut T {
        self.bump.alloc(value)
    }

    /// Copies `text` into the arena.
    pub fn alloc_str(&self, text: &str) -> &mut str {
        self.bump.alloc_str(text)
    }

    /// Copies `bytes` into the arena.
    pub fn alloc_bytes(&self, bytes: &[u8]) -> &mut [u8] {
        self.bump.alloc_slice_copy(bytes)
    }

    /// Bytes handed out in this batch so far.
    pub fn used(&self) -> usize {
        self.bump.allocated_bytes() - self.bump.chunk_capacity()
    }
}

impl Drop for BatchScope<'_> {
    fn drop(&mut self) {
        self.bump.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_scope_resets_the_arena_and_keeps_its_memory() {
        let mut arena = BatchArena::with_capacity(1 << 16);
        {
            let batch = arena.batch();
            let name = batch.alloc_str("GET /checkout");
            let id = batch.alloc_bytes(&[7; 16]);
            let count = batch.alloc(41u64);
            *count += 1;
            assert_eq!(
                (&*name, &*id, *count),
                ("GET /checkout", &[7u8; 16][..], 42)
            );
            assert!(batch.used() >= 13 + 16 + 8);
        }
        let kept = arena.capacity();
        assert!(kept >= 1 << 16);
        for _ in 0..100 {
            let batch = arena.batch();
            for i in 0..100u64 {
                batch.alloc(i);
            }
            assert!(batch.used() >= 800 && batch.used() < 1 << 16);
        }
        assert_eq!(arena.capacity(), kept, "steady state: no new chunks");
        assert_eq!(arena.batches(), 101);
    }
}
