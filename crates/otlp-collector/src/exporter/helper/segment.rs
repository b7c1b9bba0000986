//! The persistent queue's record format, and the reader that recovers a segment file up to its last good record.
//!
//! A segment file is a sequence of records `[len u32 LE][crc32 u32 LE][payload]`, where `len` is the payload's
//! length and the CRC-32 (IEEE) covers the payload. The payload is `[sequence u64 LE][batch]`, the batch being
//! one OTLP protobuf `Export*ServiceRequest` of the queue's signal. A file is named after the sequence number of
//! its first record, so the files of a queue sort in the order they were written.
//!
//! A record is only ever appended, so a crash can leave at most one cut record at the end of the file being
//! written; a flipped bit anywhere shows up as a checksum mismatch. Either way the reader keeps what comes before
//! the first bad record and says what it cut: nothing after it can be trusted to be framed correctly.

use bytes::Bytes;
use std::fmt;

/// Bytes before the payload: its length and its checksum.
pub(crate) const HEADER_LEN: usize = 8;
/// Bytes of the payload before the batch: its sequence number.
const SEQUENCE_LEN: usize = 8;
/// A record longer than this is taken for a corrupt length rather than allocated (a batch is far smaller).
const MAX_PAYLOAD_LEN: usize = 1 << 30;
/// Segment files end with this.
const SUFFIX: &str = ".seg";

/// The size on disk of a record holding a batch of `batch_len` encoded bytes.
pub(crate) fn record_len(batch_len: usize) -> usize {
    HEADER_LEN + SEQUENCE_LEN + batch_len
}

/// Frames `batch` as the record with sequence number `sequence`.
pub(crate) fn encode(sequence: u64, batch: &[u8]) -> Vec<u8> {
    let payload_len = SEQUENCE_LEN + batch.len();
    let mut record = Vec::with_capacity(HEADER_LEN + payload_len);
    // A payload over 4 GiB cannot be framed; the queue's byte bound and the receivers' size limit keep batches far
    // below it, and the reader treats anything over `MAX_PAYLOAD_LEN` as corrupt.
    record.extend_from_slice(&u32::try_from(payload_len).unwrap_or(u32::MAX).to_le_bytes());
    record.extend_from_slice(&[0; 4]);
    record.extend_from_slice(&sequence.to_le_bytes());
    record.extend_from_slice(batch);
    let crc = crc32fast::hash(&record[HEADER_LEN..]);
    record[4..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    record
}

/// One good record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Its sequence number in the queue.
    pub(crate) sequence: u64,
    /// The encoded batch.
    pub(crate) batch: Bytes,
}

/// Why the reader stopped before the end of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CutReason {
    /// The file ends inside a record (a write cut short).
    Truncated,
    /// The payload does not match its checksum.
    Checksum,
    /// The length field is impossible (too short for a sequence number, or absurdly long).
    Length,
    /// The sequence number is not after the previous record's (or before the file's first).
    Sequence,
}

impl fmt::Display for CutReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CutReason::Truncated => "the file ends inside a record",
            CutReason::Checksum => "checksum mismatch",
            CutReason::Length => "impossible record length",
            CutReason::Sequence => "sequence number out of order",
        })
    }
}

/// What was cut from the end of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    /// Where the first bad record starts: the length the file is cut back to.
    pub(crate) offset: u64,
    /// Bytes from there to the end of the file.
    pub(crate) bytes: u64,
    /// Why the record at `offset` is bad.
    pub(crate) reason: CutReason,
}

/// A segment read back: its good records and, if the file does not end with one, what follows them.
#[derive(Debug, Default)]
pub(crate) struct ReadSegment {
    pub(crate) records: Vec<Record>,
    pub(crate) cut: Option<Cut>,
}

/// Reads the records of a segment whose first record has sequence number `first`, up to the first bad one.
pub(crate) fn read(bytes: &Bytes, first: u64) -> ReadSegment {
    let mut out = ReadSegment::default();
    let mut offset = 0;
    let mut expected = first;
    while offset < bytes.len() {
        match record_at(bytes, offset, expected) {
            Ok((record, next)) => {
                expected = record.sequence.saturating_add(1);
                out.records.push(record);
                offset = next;
            }
            Err(reason) => {
                out.cut = Some(Cut {
                    offset: offset as u64,
                    bytes: (bytes.len() - offset) as u64,
                    reason,
                });
                break;
            }
        }
    }
    out
}

/// The record at `offset` whose sequence number is at least `at_least`, and where the next one starts.
fn record_at(bytes: &Bytes, offset: usize, at_least: u64) -> Result<(Record, usize), CutReason> {
    let rest = &bytes[offset..];
    let (Some(len), Some(crc)) = (le_u32(rest, 0), le_u32(rest, 4)) else {
        return Err(CutReason::Truncated);
    };
    let len = len as usize;
    if !(SEQUENCE_LEN..=MAX_PAYLOAD_LEN).contains(&len) {
        return Err(CutReason::Length);
    }
    let Some(payload) = rest.get(HEADER_LEN..HEADER_LEN + len) else {
        return Err(CutReason::Truncated);
    };
    if crc32fast::hash(payload) != crc {
        return Err(CutReason::Checksum);
    }
    let mut sequence = [0; SEQUENCE_LEN];
    sequence.copy_from_slice(&payload[..SEQUENCE_LEN]);
    let sequence = u64::from_le_bytes(sequence);
    if sequence < at_least {
        return Err(CutReason::Sequence);
    }
    let start = offset + HEADER_LEN + SEQUENCE_LEN;
    let end = offset + HEADER_LEN + len;
    Ok((
        Record {
            sequence,
            batch: bytes.slice(start..end),
        },
        end,
    ))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let field: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(field))
}

/// The file name of the segment whose first record has sequence number `first`.
pub(crate) fn file_name(first: u64) -> String {
    format!("{first:020}{SUFFIX}")
}

/// The first sequence number of a segment file named `name`, or `None` for a file that is not a segment.
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(records: &[(u64, &[u8])]) -> Vec<u8> {
        records
            .iter()
            .flat_map(|(sequence, batch)| encode(*sequence, batch))
            .collect()
    }

    #[test]
    fn reads_back_what_was_written() {
        let bytes = Bytes::from(segment(&[(7, b"one"), (8, b""), (10, b"three")]));
        let read = read(&bytes, 7);
        assert_eq!(read.cut, None);
        let got: Vec<(u64, &[u8])> = read
            .records
            .iter()
            .map(|r| (r.sequence, r.batch.as_ref()))
            .collect();
        assert_eq!(got, [(7, &b"one"[..]), (8, b""), (10, b"three")]);
        assert_eq!(bytes.len(), 3 * record_len(0) + 3 + 5);
    }

    #[test]
    fn a_cut_tail_is_reported_at_every_length() {
        let whole = segment(&[(1, b"first"), (2, b"second")]);
        let first_len = record_len(5);
        for len in first_len + 1..whole.len() {
            let bytes = Bytes::copy_from_slice(&whole[..len]);
            let read = read(&bytes, 1);
            assert_eq!(read.records.len(), 1, "cut at {len}");
            assert_eq!(
                read.cut,
                Some(Cut {
                    offset: first_len as u64,
                    bytes: (len - first_len) as u64,
                    reason: CutReason::Truncated
                }),
                "cut at {len}"
            );
        }
    }

    #[test]
    fn a_flipped_byte_anywhere_in_a_record_stops_the_reader_there() {
        let whole = segment(&[(1, b"first"), (2, b"second"), (3, b"third")]);
        let second = record_len(5)..record_len(5) + record_len(6);
        for at in second.clone() {
            let mut bytes = whole.clone();
            bytes[at] ^= 0x40;
            let read = read(&Bytes::from(bytes), 1);
            assert_eq!(read.records.len(), 1, "flip at {at}");
            let cut = read.cut.unwrap();
            assert_eq!(cut.offset, second.start as u64, "flip at {at}");
            assert_eq!(cut.bytes, (whole.len() - second.start) as u64);
            assert_ne!(cut.reason, CutReason::Sequence, "flip at {at}");
        }
    }

    #[test]
    fn sequence_numbers_must_grow_from_the_file_name() {
        let bytes = Bytes::from(segment(&[(5, b"a"), (5, b"b")]));
        let read = read(&bytes, 5);
        assert_eq!(read.records.len(), 1);
        assert_eq!(read.cut.unwrap().reason, CutReason::Sequence);
        assert_eq!(super::read(&bytes, 6).cut.unwrap().offset, 0);
    }

    #[test]
    fn file_names_sort_by_sequence_and_parse_back() {
        assert!(file_name(9) < file_name(10));
        assert_eq!(parse_file_name(&file_name(12345)), Some(12345));
        assert_eq!(parse_file_name("acked"), None);
        assert_eq!(parse_file_name(".seg"), None);
        assert_eq!(parse_file_name("-1.seg"), None);
    }
}
