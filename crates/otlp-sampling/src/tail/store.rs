//! Where the span records of pending traces live: appended in arrival order to blocks, each block
//! compressed with zstd once full and freed when its last record is released.
//!
//! A tail sampler holds `decision_wait` of traffic, tens of seconds of it. Spans kept one buffer per
//! trace cost their encoded size plus an allocation each; neighbouring spans share names, attribute
//! keys and most values, so a block of a few hundred of them compresses several times over where
//! one trace's spans alone would not.
//!
//! Traces are decided in the order their first spans arrived, so blocks are read back roughly in
//! the order they were written: a few decompressed blocks kept at hand mean each block is
//! decompressed about once, not once per trace.

use std::collections::VecDeque;

use super::hashing::FastMap;
use std::fmt;
use std::io;

/// Uncompressed bytes gathered before a block is compressed: big enough for zstd to find the
/// repetition between spans, small enough that reading one trace back decompresses little.
const BLOCK_BYTES: usize = 256 * 1024;

/// Decompressed blocks kept for reads. Decisions walk the blocks in order, with late spans of a
/// trace a few blocks further on.
const CACHED_BLOCKS: usize = 4;

/// One of zstd's fast levels, below the standard ones. Compressing the blocks was 11% of the
/// collector's CPU in the tail-sampling config under `loadgen --max` at level 1. Measured on the
/// release binary (two alternating runs each): CPU per million spans 2.82-3.07 at level 1,
/// 2.74-2.81 at -4, 2.72-2.74 at -8; resident memory holding 102,000 spans 29, 31 and 33 MB.
const LEVEL: i32 = -4;

/// Where one piece's records are: a range of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Records {
    block: u64,
    offset: u32,
    len: u32,
}

impl Records {
    /// Bytes of the records, uncompressed.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }
}

/// A reading could not get a block back: a defect (the store only reads blocks it wrote), so
/// the caller counts the records' spans as lost rather than failing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("span block {block} is not held by the store")]
    Missing { block: u64 },
    #[error("span block {block} does not decompress: {source}")]
    Corrupt { block: u64, source: io::Error },
}

enum Block {
    Sealed {
        bytes: Box<[u8]>,
        /// The uncompressed length, or `None` for a block kept uncompressed.
        raw_len: Option<usize>,
        live: u32,
    },
    Freed,
}

/// Blocks of span records, the newest one open for appending.
pub(crate) struct SpanStore {
    /// Sealed blocks; the one at index `i` has id `first_id + i`, and the open block comes after.
    sealed: VecDeque<Block>,
    first_id: u64,
    open: Vec<u8>,
    /// Records of the open block not yet released.
    open_live: u32,
    /// Bytes of sealed blocks still held, compressed.
    sealed_bytes: usize,
    cache: VecDeque<(u64, Vec<u8>)>,
    /// Blocks decompressed so far: about one per sealed block when reads follow the blocks' order.
    decompressions: u64,
    compressor: zstd::bulk::Compressor<'static>,
    decompressor: zstd::bulk::Decompressor<'static>,
}

impl fmt::Debug for SpanStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanStore")
            .field("sealed_blocks", &self.sealed.len())
            .field("first_id", &self.first_id)
            .field("open_bytes", &self.open.len())
            .field("open_live", &self.open_live)
            .field("sealed_bytes", &self.sealed_bytes)
            .finish_non_exhaustive()
    }
}

impl SpanStore {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(SpanStore {
            sealed: VecDeque::new(),
            first_id: 0,
            open: Vec::new(),
            open_live: 0,
            sealed_bytes: 0,
            cache: VecDeque::with_capacity(CACHED_BLOCKS),
            decompressions: 0,
            compressor: zstd::bulk::Compressor::new(LEVEL)?,
            decompressor: zstd::bulk::Decompressor::new()?,
        })
    }

    fn open_id(&self) -> u64 {
        self.first_id + self.sealed.len() as u64
    }

    /// Appends what `write` writes as one run of records.
    pub(crate) fn append_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Records {
        let offset = self.open.len();
        write(&mut self.open);
        let records = Records {
            block: self.open_id(),
            offset: offset as u32,
            len: (self.open.len() - offset) as u32,
        };
        self.open_live += 1;
        if self.open.len() >= BLOCK_BYTES {
            self.seal();
        }
        records
    }

    /// Compresses the open block. Should compression fail (zstd runs out of memory), the block is
    /// kept uncompressed: holding it costs memory, losing it would cost data.
    fn seal(&mut self) {
        let (bytes, raw_len) = match self.compressor.compress(&self.open) {
            Ok(compressed) => (compressed.into_boxed_slice(), Some(self.open.len())),
            Err(_) => (self.open.as_slice().into(), None),
        };
        self.sealed_bytes += bytes.len();
        self.sealed.push_back(Block::Sealed {
            bytes,
            raw_len,
            live: self.open_live,
        });
        self.open.clear();
        self.open_live = 0;
    }

    /// The records' bytes, decompressing their block if it is not at hand.
    pub(crate) fn read(&mut self, records: Records) -> Result<&[u8], StoreError> {
        let range = records.offset as usize..records.offset as usize + records.len as usize;
        let missing = StoreError::Missing {
            block: records.block,
        };
        if records.block == self.open_id() {
            return self.open.get(range).ok_or(missing);
        }
        let index = records
            .block
            .checked_sub(self.first_id)
            .ok_or(StoreError::Missing {
                block: records.block,
            })? as usize;
        let Some(Block::Sealed { bytes, raw_len, .. }) = self.sealed.get(index) else {
            return Err(missing);
        };
        let Some(raw_len) = *raw_len else {
            return bytes.get(range).ok_or(missing);
        };
        let cached = self.cache.iter().position(|(id, _)| *id == records.block);
        let position = match cached {
            Some(position) => position,
            None => {
                let mut raw = match self.cache.len() {
                    CACHED_BLOCKS => self
                        .cache
                        .pop_front()
                        .map(|(_, buffer)| buffer)
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                raw.clear();
                raw.reserve(raw_len);
                self.decompressor
                    .decompress_to_buffer(bytes, &mut raw)
                    .map_err(|source| StoreError::Corrupt {
                        block: records.block,
                        source,
                    })?;
                self.decompressions += 1;
                self.cache.push_back((records.block, raw));
                self.cache.len() - 1
            }
        };
        self.cache
            .get(position)
            .and_then(|(_, raw)| raw.get(range))
            .ok_or(missing)
    }

    /// Gives the records' room back; a block goes once all its records have.
    pub(crate) fn release(&mut self, records: Records) {
        if records.block == self.open_id() {
            self.open_live = self.open_live.saturating_sub(1);
            if self.open_live == 0 {
                self.open.clear();
                // One oversized piece must not keep its room for good.
                self.open.shrink_to(BLOCK_BYTES);
            }
            return;
        }
        let Some(index) = records.block.checked_sub(self.first_id) else {
            return;
        };
        let Some(block) = self.sealed.get_mut(index as usize) else {
            return;
        };
        if let Block::Sealed { live, bytes, .. } = block {
            *live = live.saturating_sub(1);
            if *live == 0 {
                self.sealed_bytes -= bytes.len();
                *block = Block::Freed;
                self.cache.retain(|(id, _)| *id != records.block);
            }
        }
        while matches!(self.sealed.front(), Some(Block::Freed)) {
            self.sealed.pop_front();
            self.first_id += 1;
        }
    }

    /// Heap bytes held for records: the sealed blocks compressed, the open block and the
    /// decompressed blocks at hand, by capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.sealed_bytes
            + self.open.capacity()
            + self
                .cache
                .iter()
                .map(|(_, raw)| raw.capacity())
                .sum::<usize>()
            + self.sealed.capacity() * std::mem::size_of::<Block>()
    }

    /// Blocks decompressed so far, and blocks sealed so far.
    #[cfg(test)]
    pub(crate) fn decompressions(&self) -> (u64, u64) {
        (
            self.decompressions,
            self.first_id + self.sealed.len() as u64,
        )
    }

    /// Records appended and not yet released.
    #[cfg(test)]
    pub(crate) fn live_records(&self) -> u64 {
        u64::from(self.open_live)
            + self
                .sealed
                .iter()
                .map(|block| match block {
                    Block::Sealed { live, .. } => u64::from(*live),
                    Block::Freed => 0,
                })
                .sum::<u64>()
    }
}

/// Stores a request's pieces trace by trace (each trace's pieces one after another, traces in the
/// order they first appear) and gives them back in their own order.
///
/// A request carries a trace's spans in each resource they came from, so stored in request order a
/// trace of ten services would be ten pieces a request's length apart, in blocks far apart:
/// deciding it would decompress each of them. Stored trace by trace, a trace's pieces from one
/// request sit together in one block, and decisions, made in the order traces first appeared, walk
/// the blocks in order.
pub(crate) fn store_by_trace<P, S>(
    pieces: Vec<([u8; 16], P)>,
    store: &mut SpanStore,
    mut put: impl FnMut(P, &mut SpanStore) -> S,
) -> Vec<([u8; 16], S)> {
    let mut rank: FastMap<[u8; 16], usize> =
        FastMap::with_capacity_and_hasher(pieces.len(), Default::default());
    for (key, _) in &pieces {
        let next = rank.len();
        rank.entry(*key).or_insert(next);
    }
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    // Stable: a trace's pieces keep their request order.
    order.sort_by_key(|&index| {
        pieces
            .get(index)
            .and_then(|(key, _)| rank.get(key))
            .copied()
    });
    let mut waiting: Vec<Option<([u8; 16], P)>> = pieces.into_iter().map(Some).collect();
    let mut stored: Vec<Option<([u8; 16], S)>> = (0..waiting.len()).map(|_| None).collect();
    for index in order {
        if let (Some((key, piece)), Some(slot)) = (
            waiting.get_mut(index).and_then(Option::take),
            stored.get_mut(index),
        ) {
            *slot = Some((key, put(piece, store)));
        }
    }
    stored.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize) -> Vec<u8> {
        format!("span {n} of service checkout, GET /api/orders/{{id}}, http.status_code 200;")
            .into_bytes()
    }

    #[test]
    fn records_read_back_from_open_and_sealed_blocks_and_blocks_go_when_released() {
        let mut store = SpanStore::new().unwrap();
        let written: Vec<(Records, Vec<u8>)> = (0..20_000)
            .map(|n| {
                let bytes = record(n);
                (
                    store.append_with(|open| open.extend_from_slice(&bytes)),
                    bytes,
                )
            })
            .collect();
        assert!(store.sealed.len() >= 5, "{store:?}");
        assert!(store.sealed_bytes * 4 < written.iter().map(|(r, _)| r.len()).sum::<usize>());
        for (records, bytes) in &written {
            assert_eq!(store.read(*records).unwrap(), bytes.as_slice());
        }
        assert_eq!(store.live_records(), 20_000);
        for (records, _) in &written {
            store.release(*records);
        }
        assert_eq!(store.live_records(), 0);
        assert_eq!(store.sealed_bytes, 0);
        assert!(store.sealed.is_empty() && store.cache.is_empty());
    }

    /// Pieces are stored trace by trace, traces in first-seen order and a trace's pieces in request
    /// order, and come back in request order, whether or not a trace recurs after another began.
    #[test]
    fn pieces_are_stored_by_trace_and_returned_in_request_order() {
        let mut store = SpanStore::new().unwrap();
        let trace = |n: u8| [n; 16];
        for (request, stored_order) in [
            (vec![1, 2, 1, 3, 2], vec![0, 2, 1, 4, 3]),
            (vec![1, 1, 2, 3, 3], vec![0, 1, 2, 3, 4]),
            (vec![], vec![]),
        ] {
            let pieces: Vec<([u8; 16], usize)> = request
                .iter()
                .enumerate()
                .map(|(index, n)| (trace(*n), index))
                .collect();
            let mut calls = Vec::new();
            let stored = store_by_trace(pieces.clone(), &mut store, |index, _| {
                calls.push(index);
                index * 10
            });
            assert_eq!(calls, stored_order);
            let expected: Vec<([u8; 16], usize)> = pieces
                .iter()
                .map(|(key, index)| (*key, index * 10))
                .collect();
            assert_eq!(stored, expected);
        }
    }

    #[test]
    fn released_records_out_of_order_free_a_block_only_when_it_is_empty() {
        let mut store = SpanStore::new().unwrap();
        let big = vec![7u8; BLOCK_BYTES / 2];
        let first = store.append_with(|open| open.extend_from_slice(&big));
        let second = store.append_with(|open| open.extend_from_slice(&big));
        let third = store.append_with(|open| open.extend_from_slice(b"open"));
        assert_eq!(store.sealed.len(), 1);
        store.release(second);
        assert_eq!(store.read(first).unwrap(), big.as_slice());
        assert!(store.sealed_bytes > 0);
        store.release(first);
        assert_eq!(store.sealed_bytes, 0);
        assert_eq!(store.read(third).unwrap(), b"open");
        store.release(third);
        assert_eq!(store.live_records(), 0);
        assert!(matches!(store.read(first), Err(StoreError::Missing { .. })));
    }
}
