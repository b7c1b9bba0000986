//! Entry points for `otlp-fuzz` only, not part of this crate's API: the persistent queue's segment reader,
//! which the fuzz targets feed hostile files, and its record encoder, to make seed inputs and check that what
//! was read is exactly what the file holds.

use bytes::Bytes;

use crate::exporter::helper::segment;

/// What [`read_segment`] found: the good records, in file order, as `(sequence, batch)`, and where the file was
/// cut (`(offset, bytes from there to the end)`), if it does not end with a good record.
pub type SegmentRead = (Vec<(u64, Bytes)>, Option<(u64, u64)>);

/// Reads a segment file whose first record must have sequence number `first`, as the queue does when it opens.
pub fn read_segment(bytes: &Bytes, first: u64) -> SegmentRead {
    let read = segment::read(bytes, first);
    (
        read.records
            .into_iter()
            .map(|record| (record.sequence, record.batch))
            .collect(),
        read.cut.map(|cut| (cut.offset, cut.bytes)),
    )
}

/// The bytes of the record holding `batch` with sequence number `sequence`, as the queue appends it.
pub fn encode_segment_record(sequence: u64, batch: &[u8]) -> Vec<u8> {
    segment::encode(sequence, batch)
}
