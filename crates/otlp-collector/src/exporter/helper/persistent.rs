//! The on-disk part of a persistent sending queue: segment files of records ([`segment`](super::segment)), an
//! acknowledgement file, a bound in bytes, and recovery on start.
//!
//! Every batch accepted into the queue is appended to the active segment before the client is answered;
//! segments roll at a fixed size and a closed segment is deleted once every record in it is acknowledged
//! (delivered, or rejected for good). The acknowledgement state is the lowest unacknowledged sequence number and
//! the acknowledged ones above it (consumers finish out of order), written on each acknowledgement in place into
//! one of two slot files, `acked.0` and `acked.1`, in turn, with a generation number and a checksum: a crash
//! mid-write tears only the slot being written, and the other one still holds the state before. (A new file
//! renamed over the old one per acknowledgement, the usual atomic replace, spent over a third of the queue's
//! time creating, flushing and evicting inodes: ext4 writes a file renamed over another out at once.) On start
//! every unacknowledged record is replayed (at least once); a segment whose tail is cut or corrupt is truncated
//! back to its last good record.
//!
//! Writes are small appends to files the kernel buffers, made on the caller's task: a `kill -9` loses nothing
//! written, only a machine crash can, which `fsync: true` (a sync per write) guards against.

use super::segment::{self, Cut, Record};
use crate::Error;
use crate::wait::Changed;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The acknowledgement slot files in a queue's directory, written in turn.
const ACKED_SLOTS: [&str; 2] = ["acked.0", "acked.1"];
/// The single acknowledgement file of earlier versions, still read when no slot is there.
const ACKED_LEGACY: &str = "acked";
/// Bytes of an acknowledgement slot before its list: checksum, generation, lowest unacknowledged, count.
const ACKED_HEADER: usize = 4 + 8 + 8 + 4;
/// The largest segment; smaller queues use an eighth of their bound, so that acknowledged data is freed in steps.
const MAX_SEGMENT_BYTES: u64 = 16 << 20;
const MIN_SEGMENT_BYTES: u64 = 4 << 10;

/// Where a persistent queue lives and how it writes.
#[derive(Debug, Clone)]
pub(crate) struct StoreSettings {
    /// The queue's own directory (one per exporter and signal).
    pub(crate) dir: PathBuf,
    /// The bound on the segment files' total size.
    pub(crate) max_bytes: u64,
    /// Sync each write to the device.
    pub(crate) fsync: bool,
}

/// A segment cut back to its last good record on start.
#[derive(Debug, Clone)]
pub(crate) struct Truncation {
    pub(crate) file: PathBuf,
    pub(crate) cut: Cut,
}

/// What a queue found on disk when it opened.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    /// Every unacknowledged record, in the order they were written.
    pub(crate) records: Vec<Record>,
    /// Segments whose tail was cut.
    pub(crate) truncations: Vec<Truncation>,
    /// The acknowledgement file was unreadable, so acknowledged records are replayed too.
    pub(crate) acked_unreadable: bool,
}

struct Inner {
    dir: PathBuf,
    fsync: bool,
    segment_bytes: u64,
    /// Every segment on disk by first sequence number, with its length; the last one is the active one.
    segments: BTreeMap<u64, u64>,
    active: File,
    next_sequence: u64,
    /// Records written and not yet acknowledged.
    live: BTreeSet<u64>,
    /// Records acknowledged above the lowest live one (consumers finish out of order).
    acked_above: BTreeSet<u64>,
    /// The two acknowledgement slots, open for rewriting in place.
    acked_slots: [File; 2],
    /// The generation of the last acknowledgement state written; the next goes to slot `(generation + 1) % 2`.
    acked_generation: u64,
}

/// The files of one persistent queue.
pub(crate) struct Store {
    inner: parking_lot::Mutex<Inner>,
    max_bytes: u64,
    /// Bytes of the segment files plus reservations not yet written.
    used: AtomicU64,
    /// The size of the last reservation refused for lack of room: [`room`](Self::room) waits until it would fit.
    wanted: AtomicU64,
    freed: Changed,
}

/// Room for one record, given back unless the record is written.
pub(crate) struct Reservation {
    store: Arc<Store>,
    len: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.store.release(self.len);
    }
}

fn storage_error(path: &Path, source: std::io::Error) -> Error {
    Error::Storage {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Opens the queue in `settings.dir` (creating it), cuts corrupt tails, and returns what is left to send.
    pub(crate) fn open(settings: &StoreSettings) -> Result<(Arc<Store>, Recovered), Error> {
        let dir = &settings.dir;
        std::fs::create_dir_all(dir).map_err(|e| storage_error(dir, e))?;
        let mut recovered = Recovered::default();
        let Acknowledged {
            generation,
            watermark,
            above: mut acked_above,
        } = match read_acked(dir) {
            Ok(acked) => acked,
            Err(()) => {
                recovered.acked_unreadable = true;
                Acknowledged::default()
            }
        };
        let mut firsts = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| storage_error(dir, e))? {
            let entry = entry.map_err(|e| storage_error(dir, e))?;
            if let Some(first) = entry
                .file_name()
                .to_str()
                .and_then(segment::parse_file_name)
            {
                firsts.push(first);
            }
        }
        firsts.sort_unstable();

        let mut segments = BTreeMap::new();
        let mut live = BTreeSet::new();
        let mut next_sequence = watermark;
        let mut at_least = 0;
        for first in firsts {
            let path = dir.join(segment::file_name(first));
            let bytes = Bytes::from(std::fs::read(&path).map_err(|e| storage_error(&path, e))?);
            // A record must come after every record of the earlier segments, as well as after the file's name.
            let read = segment::read(&bytes, first.max(at_least));
            let mut len = bytes.len() as u64;
            if let Some(cut) = read.cut {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| storage_error(&path, e))?;
                file.set_len(cut.offset)
                    .map_err(|e| storage_error(&path, e))?;
                len = cut.offset;
                recovered.truncations.push(Truncation {
                    file: path.clone(),
                    cut,
                });
            }
            next_sequence = next_sequence.max(first.saturating_add(1));
            let mut has_live = false;
            for record in read.records {
                next_sequence = next_sequence.max(record.sequence.saturating_add(1));
                at_least = record.sequence.saturating_add(1);
                if record.sequence < watermark || acked_above.contains(&record.sequence) {
                    continue;
                }
                has_live = true;
                live.insert(record.sequence);
                recovered.records.push(record);
            }
            if has_live {
                segments.insert(first, len);
            } else {
                std::fs::remove_file(&path).map_err(|e| storage_error(&path, e))?;
            }
        }
        // Acknowledgements of records that are gone are of no further use.
        acked_above.retain(|sequence| *sequence < next_sequence);

        let active_path = dir.join(segment::file_name(next_sequence));
        let active = create_segment(&active_path)?;
        segments.insert(next_sequence, 0);
        let used = segments.values().sum();
        let segment_bytes = (settings.max_bytes / 8).clamp(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES);
        let open_slot = |name: &str| {
            let path = dir.join(name);
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| storage_error(&path, e))
        };
        let acked_slots = [open_slot(ACKED_SLOTS[0])?, open_slot(ACKED_SLOTS[1])?];
        let mut inner = Inner {
            dir: dir.clone(),
            fsync: settings.fsync,
            segment_bytes,
            segments,
            active,
            next_sequence,
            live,
            acked_above,
            acked_slots,
            acked_generation: generation,
        };
        // Write down where the queue starts now, so that an unreadable file is not read again.
        inner.write_acked()?;
        match std::fs::remove_file(dir.join(ACKED_LEGACY)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(storage_error(&dir.join(ACKED_LEGACY), error));
            }
            _ => {}
        }
        let store = Arc::new(Store {
            inner: parking_lot::Mutex::new(inner),
            max_bytes: settings.max_bytes,
            used: AtomicU64::new(used),
            wanted: AtomicU64::new(0),
            freed: Changed::new(),
        });
        Ok((store, recovered))
    }

    /// Reserves room for a record of a batch of `batch_len` bytes, or `None` when the queue is full. A batch larger
    /// than the whole bound is taken only into an empty queue, so that it is not refused forever.
    pub(crate) fn try_reserve(self: &Arc<Self>, batch_len: usize) -> Option<Reservation> {
        let len = segment::record_len(batch_len) as u64;
        let taken = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                (used == 0 || used.saturating_add(len) <= self.max_bytes).then(|| used + len)
            });
        match taken {
            Ok(_) => Some(Reservation {
                store: Arc::clone(self),
                len,
            }),
            Err(_) => {
                self.wanted.store(len, Ordering::SeqCst);
                None
            }
        }
    }

    /// Resolves when the last refused reservation would fit.
    pub(crate) async fn room(&self) {
        self.freed
            .wait_until(|| {
                let used = self.used.load(Ordering::SeqCst);
                used == 0
                    || used.saturating_add(self.wanted.load(Ordering::SeqCst)) <= self.max_bytes
            })
            .await;
    }

    fn release(&self, len: u64) {
        self.used.fetch_sub(len, Ordering::SeqCst);
        self.freed.notify();
    }

    /// Appends `batch` in its reserved room; returns its sequence number.
    pub(crate) fn append(&self, reservation: Reservation, batch: &[u8]) -> Result<u64, Error> {
        let record_len = segment::record_len(batch.len()) as u64;
        let mut inner = self.inner.lock();
        let sequence = inner.next_sequence;
        let record = segment::encode(sequence, batch);
        let (mut active_first, mut active_len) = inner.active_segment();
        if active_len > 0 && active_len + record_len > inner.segment_bytes {
            inner.roll(sequence)?;
            (active_first, active_len) = (sequence, 0);
        }
        let path = inner.dir.join(segment::file_name(active_first));
        let written = inner
            .active
            .write_all(&record)
            .and_then(|()| {
                if inner.fsync {
                    inner.active.sync_data()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| storage_error(&path, e));
        if let Err(error) = written {
            // Whatever part of the record reached the file is cut on the next start; roll so that nothing is
            // appended after it now.
            inner.segments.insert(active_first, active_len + record_len);
            inner.next_sequence += 1;
            // The record's room is held by the partial file until the segment is deleted.
            std::mem::forget(reservation);
            if let Err(roll) = inner.roll(sequence + 1) {
                tracing::error!(error = %roll, "cannot start a new queue segment");
            }
            inner.delete_done_segments(self);
            return Err(error);
        }
        inner.segments.insert(active_first, active_len + record_len);
        inner.next_sequence += 1;
        inner.live.insert(sequence);
        // The room is now taken by the file itself.
        std::mem::forget(reservation);
        Ok(sequence)
    }

    /// The record `sequence` was delivered or given up on for good: it is not replayed after a restart.
    pub(crate) fn ack(&self, sequence: u64) -> Result<(), Error> {
        let mut inner = self.inner.lock();
        if !inner.live.remove(&sequence) {
            return Ok(());
        }
        let watermark = inner.watermark();
        if sequence > watermark {
            inner.acked_above.insert(sequence);
        }
        inner.acked_above = inner.acked_above.split_off(&watermark);
        let written = inner.write_acked();
        inner.delete_done_segments(self);
        written
    }

    /// Bytes the segment files take, with reservations not yet written.
    pub(crate) fn used_bytes(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }

    /// The bound on [`used_bytes`](Self::used_bytes).
    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }
}

impl Inner {
    fn active_segment(&self) -> (u64, u64) {
        self.segments
            .last_key_value()
            .map_or((self.next_sequence, 0), |(first, len)| (*first, *len))
    }

    /// The lowest sequence number not acknowledged.
    fn watermark(&self) -> u64 {
        self.live.first().copied().unwrap_or(self.next_sequence)
    }

    /// Closes the active segment and starts one whose first record will be `first`.
    fn roll(&mut self, first: u64) -> Result<(), Error> {
        let path = self.dir.join(segment::file_name(first));
        self.active = create_segment(&path)?;
        self.segments.insert(first, 0);
        Ok(())
    }

    /// Deletes every closed segment none of whose records is live.
    fn delete_done_segments(&mut self, store: &Store) {
        let firsts: Vec<u64> = self.segments.keys().copied().collect();
        for pair in firsts.windows(2) {
            let [first, next] = [pair[0], pair[1]];
            if self.live.range(first..next).next().is_some() {
                continue;
            }
            let path = self.dir.join(segment::file_name(first));
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    if let Some(len) = self.segments.remove(&first) {
                        store.release(len);
                    }
                }
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "cannot delete an acknowledged queue segment");
                }
            }
        }
    }

    /// Writes the acknowledgement state into the slot not holding the last one, in place.
    fn write_acked(&mut self) -> Result<(), Error> {
        let generation = self.acked_generation + 1;
        let watermark = self.watermark();
        let mut body = Vec::with_capacity(ACKED_HEADER + 8 * self.acked_above.len());
        body.extend_from_slice(&generation.to_le_bytes());
        body.extend_from_slice(&watermark.to_le_bytes());
        body.extend_from_slice(
            &u32::try_from(self.acked_above.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for sequence in self.acked_above.iter().take(u32::MAX as usize) {
            body.extend_from_slice(&sequence.to_le_bytes());
        }
        let mut content = crc32fast::hash(&body).to_le_bytes().to_vec();
        content.extend_from_slice(&body);
        let index = (generation % 2) as usize;
        let slot = &self.acked_slots[index];
        // Bytes past the content (from a longer earlier state) are ignored by the reader, which takes the length
        // from the count the checksum covers; trimming them keeps the file small and costs nothing when equal.
        let write = || -> std::io::Result<()> {
            slot.write_all_at(&content, 0)?;
            if slot.metadata()?.len() > content.len() as u64 {
                slot.set_len(content.len() as u64)?;
            }
            if self.fsync {
                slot.sync_data()?;
            }
            Ok(())
        };
        write().map_err(|e| storage_error(&self.dir.join(ACKED_SLOTS[index]), e))?;
        self.acked_generation = generation;
        Ok(())
    }
}

fn create_segment(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| storage_error(path, e))
}

/// An acknowledgement state as read back.
#[derive(Debug, Default, PartialEq, Eq)]
struct Acknowledged {
    /// Which write it was: the higher of two valid slots is the later.
    generation: u64,
    /// The lowest unacknowledged sequence number.
    watermark: u64,
    /// Acknowledged sequence numbers above the watermark.
    above: BTreeSet<u64>,
}

/// The latest acknowledgement state in `dir`: the valid slot with the higher generation, else the file of earlier
/// versions; nothing acknowledged when there is no file at all (a new queue), `Err` when there are files and none
/// is readable and intact.
fn read_acked(dir: &Path) -> Result<Acknowledged, ()> {
    let mut found_any = false;
    let mut latest: Option<Acknowledged> = None;
    for name in ACKED_SLOTS {
        let Some(bytes) = read_if_present(&dir.join(name))? else {
            continue;
        };
        // A slot created but never written (a crash right after opening) is empty, not corrupt.
        found_any |= !bytes.is_empty();
        if let Some(state) = parse_slot(&bytes)
            && latest
                .as_ref()
                .is_none_or(|l| state.generation > l.generation)
        {
            latest = Some(state);
        }
    }
    if let Some(state) = latest {
        return Ok(state);
    }
    match read_if_present(&dir.join(ACKED_LEGACY))? {
        Some(bytes) => parse_legacy(&bytes).ok_or(()),
        None if found_any => Err(()),
        None => Ok(Acknowledged::default()),
    }
}

fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>, ()> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(_) => Err(()),
    }
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// `[crc32 of the rest][generation][watermark][count u32][count × sequence]`, all little-endian; anything after
/// is a longer earlier state's tail and ignored.
fn parse_slot(bytes: &[u8]) -> Option<Acknowledged> {
    let count = u32_at(bytes, 20)? as usize;
    let end = ACKED_HEADER.checked_add(count.checked_mul(8)?)?;
    let body = bytes.get(4..end)?;
    if crc32fast::hash(body) != u32_at(bytes, 0)? {
        return None;
    }
    Some(Acknowledged {
        generation: u64_at(bytes, 4)?,
        watermark: u64_at(bytes, 12)?,
        above: (0..count)
            .map(|i| u64_at(bytes, ACKED_HEADER + 8 * i))
            .collect::<Option<_>>()?,
    })
}

/// The `acked` file of earlier versions: `[crc32][watermark][count u32][count × sequence]`, exactly.
fn parse_legacy(bytes: &[u8]) -> Option<Acknowledged> {
    const HEADER: usize = 4 + 8 + 4;
    if crc32fast::hash(bytes.get(4..)?) != u32_at(bytes, 0)? {
        return None;
    }
    let count = u32_at(bytes, 12)? as usize;
    if bytes.len() != HEADER.checked_add(count.checked_mul(8)?)? {
        return None;
    }
    Some(Acknowledged {
        generation: 0,
        watermark: u64_at(bytes, 4)?,
        above: (0..count)
            .map(|i| u64_at(bytes, HEADER + 8 * i))
            .collect::<Option<_>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path, max_bytes: u64) -> StoreSettings {
        StoreSettings {
            dir: dir.join("queue"),
            max_bytes,
            fsync: false,
        }
    }

    fn put(store: &Arc<Store>, batch: &[u8]) -> u64 {
        let reservation = store.try_reserve(batch.len()).unwrap();
        store.append(reservation, batch).unwrap()
    }

    fn batches(recovered: &Recovered) -> Vec<&[u8]> {
        recovered.records.iter().map(|r| r.batch.as_ref()).collect()
    }

    fn segment_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("queue"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn unacknowledged_records_are_replayed_in_order_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (store, recovered) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        assert!(recovered.records.is_empty());
        let a = put(&store, b"a");
        let b = put(&store, b"b");
        let c = put(&store, b"c");
        let d = put(&store, b"d");
        // Out of order, as concurrent consumers finish.
        store.ack(c).unwrap();
        store.ack(a).unwrap();
        drop(store);

        let (store, recovered) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        assert_eq!(batches(&recovered), [&b"b"[..], b"d"]);
        let sequences: Vec<u64> = recovered.records.iter().map(|r| r.sequence).collect();
        assert_eq!(sequences, [b, d]);
        let e = put(&store, b"e");
        assert!(e > d, "sequence numbers keep growing across restarts");
        store.ack(b).unwrap();
        store.ack(d).unwrap();
        drop(store);
        let (_, recovered) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        assert_eq!(batches(&recovered), [&b"e"[..]]);
    }

    #[tokio::test]
    async fn full_when_the_bound_is_reached_and_room_again_once_acknowledged_segments_go() {
        let dir = tempfile::tempdir().unwrap();
        // Segments of 4 KiB (the smallest), a bound of 40 KiB: records of 1 KiB fill it after about 40.
        let bound = 40 << 10;
        let (store, _) = Store::open(&settings(dir.path(), bound)).unwrap();
        let batch = vec![7u8; 1000];
        let mut written = Vec::new();
        while let Some(reservation) = store.try_reserve(batch.len()) {
            written.push(store.append(reservation, &batch).unwrap());
        }
        assert!(store.used_bytes() <= bound);
        assert_eq!(
            written.len() as u64,
            bound / segment::record_len(1000) as u64
        );
        assert!(segment_files(dir.path()).len() > 5, "segments roll");
        let refused_room = store.room();
        tokio::pin!(refused_room);
        assert!(futures::poll!(refused_room.as_mut()).is_pending());
        // Acknowledging the oldest records frees their segment, and with it room.
        for sequence in &written[..8] {
            store.ack(*sequence).unwrap();
        }
        // Resolves without anything else happening: the acknowledgements above freed the room.
        refused_room.await;
        assert!(store.try_reserve(batch.len()).is_some());
        for sequence in &written[8..] {
            store.ack(*sequence).unwrap();
        }
        let files = segment_files(dir.path());
        assert_eq!(files.len(), 1, "only the active segment is left");
        assert_eq!(
            store.used_bytes(),
            std::fs::metadata(&files[0]).unwrap().len(),
            "it is all that is counted"
        );
    }

    #[test]
    fn an_unwritten_reservation_gives_its_room_back() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&settings(dir.path(), 100)).unwrap();
        let reservation = store.try_reserve(50).unwrap();
        assert!(store.try_reserve(50).is_none(), "66 + 66 bytes exceed 100");
        drop(reservation);
        assert_eq!(store.used_bytes(), 0);
        // A batch larger than the bound fits into an empty queue only.
        let big = store.try_reserve(500).unwrap();
        assert!(store.try_reserve(1).is_none());
        drop(big);
    }

    fn flip_a_byte(path: &Path) {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[5] ^= 1;
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn corrupt_acknowledgement_slots_replay_everything() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        let a = put(&store, b"a");
        put(&store, b"b");
        store.ack(a).unwrap();
        drop(store);
        for slot in ACKED_SLOTS {
            flip_a_byte(&dir.path().join("queue").join(slot));
        }
        let (_, recovered) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        assert!(recovered.acked_unreadable);
        assert_eq!(batches(&recovered), [&b"a"[..], b"b"]);
    }

    #[test]
    fn a_torn_last_acknowledgement_falls_back_to_the_one_before() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        let a = put(&store, b"a");
        let b = put(&store, b"b");
        put(&store, b"c");
        store.ack(a).unwrap();
        store.ack(b).unwrap();
        let last = store.inner.lock().acked_generation;
        drop(store);
        // The write that acknowledged `b` is torn: the slot before it still says `a` was acknowledged.
        flip_a_byte(
            &dir.path()
                .join("queue")
                .join(ACKED_SLOTS[(last % 2) as usize]),
        );
        let (_, recovered) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        assert!(!recovered.acked_unreadable);
        assert_eq!(batches(&recovered), [&b"b"[..], b"c"]);
    }

    #[test]
    fn a_shorter_state_over_a_longer_one_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        let sequences: Vec<u64> = (0..6).map(|i| put(&store, &[i])).collect();
        // Out of order: the list above the watermark grows to four, then shrinks to nothing.
        for sequence in sequences[2..].iter().chain(&sequences[..1]) {
            store.ack(*sequence).unwrap();
        }
        drop(store);
        let (store, recovered) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        assert_eq!(batches(&recovered), [&[1u8][..]]);
        store.ack(sequences[1]).unwrap();
        drop(store);
        let (_, recovered) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        assert!(batches(&recovered).is_empty());
        assert!(!recovered.acked_unreadable);
    }

    #[test]
    fn the_acknowledgement_file_of_earlier_versions_is_read_once_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        put(&store, b"a");
        let b = put(&store, b"b");
        put(&store, b"c");
        drop(store);
        let queue = dir.path().join("queue");
        for slot in ACKED_SLOTS {
            std::fs::remove_file(queue.join(slot)).unwrap();
        }
        // An earlier version's file saying that everything below `b` (that is, `a`) was acknowledged.
        let mut body = b.to_le_bytes().to_vec();
        body.extend_from_slice(&0u32.to_le_bytes());
        let mut legacy = crc32fast::hash(&body).to_le_bytes().to_vec();
        legacy.extend_from_slice(&body);
        std::fs::write(queue.join(ACKED_LEGACY), legacy).unwrap();
        let (_, recovered) = Store::open(&settings(dir.path(), 1 << 20)).unwrap();
        assert!(!recovered.acked_unreadable);
        assert_eq!(batches(&recovered), [&b"b"[..], b"c"]);
        assert!(!queue.join(ACKED_LEGACY).exists());
    }
}
