//! The persistent sending queue's segment files, as the queue reads them back on start (after a crash, a cut
//! write or a flipped bit).

use bytes::Bytes;
use otlp_collector::fuzzing::{encode_segment_record, read_segment};
use otlp_model::Signal;

/// The input's first 8 bytes (little endian) are the sequence number the file is named after, the rest is the
/// file; shorter inputs are a file named 0.
///
/// The reader must never panic, and what it keeps must be exactly what the file holds: its good records
/// encoded again are the file's bytes up to the cut, the cut runs to the end of the file, and sequence numbers
/// start at the file's and only go up. Each batch kept is then checked as the queue replays it: as a protobuf
/// request of each signal ([`otlp_protobuf`](crate::otlp_protobuf)'s checks).
pub fn queue_segment(data: &[u8]) {
    let (first, file) = match data.split_first_chunk::<8>() {
        Some((first, file)) => (u64::from_le_bytes(*first), file),
        None => (0, data),
    };
    let file = Bytes::copy_from_slice(file);
    let (records, cut) = read_segment(&file, first);

    let mut expected = first;
    let mut again = Vec::with_capacity(file.len());
    for (sequence, batch) in &records {
        assert!(
            *sequence >= expected,
            "record {sequence} kept after a record that needs at least {expected}"
        );
        expected = sequence.saturating_add(1);
        again.extend_from_slice(&encode_segment_record(*sequence, batch));
    }
    let kept = match cut {
        Some((offset, bytes)) => {
            assert_eq!(
                offset.checked_add(bytes),
                Some(file.len() as u64),
                "the cut does not run to the end of the file"
            );
            offset as usize
        }
        None => file.len(),
    };
    assert!(
        cut.is_none_or(|(_, bytes)| bytes > 0),
        "an empty cut was reported"
    );
    assert_eq!(
        again.as_slice(),
        &file[..kept],
        "the records kept are not the bytes before the cut"
    );

    for (_, batch) in &records {
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            crate::otlp::check_signal(signal, batch);
        }
    }
}
