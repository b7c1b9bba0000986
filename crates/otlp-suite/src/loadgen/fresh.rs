//! Fresh ids and current timestamps for every request, patched into pre-encoded bytes.
//!
//! Replaying a fixed pool of requests would send the same trace and span ids again and again, which flatters
//! everything downstream that keys on them (dictionaries, tail sampling, trace-id load balancing). Generating and
//! encoding every request would make the generator the bottleneck. So each pooled request is encoded once with the
//! byte offsets of its ids and timestamps, and every send copies it and patches those: ids are XORed with a key
//! that changes per connection and per pass over the pool (so a span's parent, a link and the spans of one trace
//! keep pointing at each other, and no two passes repeat an id), and timestamps move by the time elapsed since the
//! pool was generated.

use bytes::{Bytes, BytesMut};

/// Where the ids and timestamps of one encoded `ExportTraceServiceRequest` are.
#[derive(Debug, Clone, Default)]
pub(super) struct Template {
    bytes: Bytes,
    /// Offsets of 16-byte trace ids (spans' and links').
    trace_ids: Vec<usize>,
    /// Offsets of 8-byte span ids (spans', parents' and links').
    span_ids: Vec<usize>,
    /// Offsets of fixed64 nanosecond timestamps (span start and end, event times).
    times: Vec<usize>,
}

/// The per-pass keys ids are XORed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IdKeys {
    trace: [u8; 16],
    span: [u8; 8],
}

impl IdKeys {
    /// Keys for pass `pass` of connection `connection` in a run started with `nonce`.
    pub(super) fn new(nonce: u64, connection: u64, pass: u64) -> Self {
        let mut state =
            nonce ^ connection.rotate_left(32) ^ pass.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = || splitmix64(&mut state).to_be_bytes();
        let (a, b, c) = (next(), next(), next());
        let mut trace = [0u8; 16];
        trace[..8].copy_from_slice(&a);
        trace[8..].copy_from_slice(&b);
        IdKeys { trace, span: c }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Template {
    /// Finds the ids and timestamps of an encoded `ExportTraceServiceRequest`; `None` if the bytes are not one.
    pub(super) fn new(bytes: Bytes) -> Option<Self> {
        let mut template = Template {
            bytes,
            ..Template::default()
        };
        let bytes = template.bytes.clone();
        for (field, start, end) in Fields::new(&bytes, 0, bytes.len()) {
            if field.number == 1 {
                template.resource_spans(&bytes, start, end?)?;
            }
        }
        Some(template)
    }

    fn resource_spans(&mut self, bytes: &[u8], start: usize, end: usize) -> Option<()> {
        for (field, from, to) in Fields::new(bytes, start, end) {
            if field.number == 2 {
                let to = to?;
                for (field, from, to) in Fields::new(bytes, from, to) {
                    if field.number == 2 {
                        self.span(bytes, from, to?)?;
                    }
                }
            }
        }
        Some(())
    }

    fn span(&mut self, bytes: &[u8], start: usize, end: usize) -> Option<()> {
        for (field, from, to) in Fields::new(bytes, start, end) {
            match (field.number, to) {
                (1, Some(to)) if to - from == 16 => self.trace_ids.push(from),
                (2 | 4, Some(to)) if to - from == 8 => self.span_ids.push(from),
                (7 | 8, _) if field.fixed64 => self.times.push(from),
                (11, Some(to)) => {
                    for (field, from, _) in Fields::new(bytes, from, to) {
                        if field.number == 1 && field.fixed64 {
                            self.times.push(from);
                        }
                    }
                }
                (13, Some(to)) => {
                    for (field, from, to) in Fields::new(bytes, from, to) {
                        match (field.number, to) {
                            (1, Some(to)) if to - from == 16 => self.trace_ids.push(from),
                            (2, Some(to)) if to - from == 8 => self.span_ids.push(from),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Some(())
    }

    /// The request with its ids XORed with `keys` and its timestamps moved by `shift_nanos`.
    pub(super) fn render(&self, keys: IdKeys, shift_nanos: u64) -> Bytes {
        let mut out = BytesMut::from(&self.bytes[..]);
        for &at in &self.trace_ids {
            xor(&mut out[at..at + 16], &keys.trace);
        }
        for &at in &self.span_ids {
            xor(&mut out[at..at + 8], &keys.span);
        }
        for &at in &self.times {
            let mut time = [0u8; 8];
            time.copy_from_slice(&out[at..at + 8]);
            let moved = u64::from_le_bytes(time).wrapping_add(shift_nanos);
            out[at..at + 8].copy_from_slice(&moved.to_le_bytes());
        }
        out.freeze()
    }
}

fn xor(id: &mut [u8], key: &[u8]) {
    for (byte, key) in id.iter_mut().zip(key) {
        *byte ^= key;
    }
    // A valid id is never all zeros; XOR could make one only if the key equalled the id.
    if id.iter().all(|b| *b == 0)
        && let Some(last) = id.last_mut()
    {
        *last = 1;
    }
}

/// A protobuf field's number and whether it is a fixed64.
struct Field {
    number: u64,
    fixed64: bool,
}

/// The fields of a message between `start` and `end`: the number, where the value starts, and where a
/// length-delimited value ends. Stops at the first malformed byte.
struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
    end: usize,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8], start: usize, end: usize) -> Self {
        Fields {
            bytes,
            at: start,
            end: end.min(bytes.len()),
        }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at).filter(|_| self.at < self.end)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
}

impl Iterator for Fields<'_> {
    type Item = (Field, usize, Option<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.end {
            return None;
        }
        let key = self.varint()?;
        let number = key >> 3;
        let start = self.at;
        let (end, fixed64) = match key & 7 {
            0 => {
                self.varint()?;
                (None, false)
            }
            1 => {
                self.at += 8;
                (None, true)
            }
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                let from = self.at;
                self.at = from.checked_add(len)?;
                return (self.at <= self.end).then_some((
                    Field {
                        number,
                        fixed64: false,
                    },
                    from,
                    Some(self.at),
                ));
            }
            5 => {
                self.at += 4;
                (None, false)
            }
            _ => return None,
        };
        (self.at <= self.end).then_some((Field { number, fixed64 }, start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    use std::collections::{HashMap, HashSet};

    fn spans(
        request: &ExportTraceServiceRequest,
    ) -> Vec<&opentelemetry_proto::tonic::trace::v1::Span> {
        request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect()
    }

    #[test]
    fn patched_requests_keep_every_reference_and_only_change_ids_and_times() {
        let original = otlp_testkit::Generator::new(5).traces(300);
        let template = Template::new(Bytes::from(original.encode_to_vec())).unwrap();
        let shift = 3_600_000_000_000;
        let keys = IdKeys::new(1, 0, 0);
        let patched = ExportTraceServiceRequest::decode(template.render(keys, shift)).unwrap();
        let (before, after) = (spans(&original), spans(&patched));
        assert_eq!(before.len(), after.len());
        let mut trace_map = HashMap::new();
        let mut span_map = HashMap::new();
        for (b, a) in before.iter().zip(&after) {
            assert_ne!(b.trace_id, a.trace_id);
            assert_ne!(b.span_id, a.span_id);
            // One old trace id maps to exactly one new one: traces stay whole.
            assert_eq!(
                *trace_map
                    .entry(b.trace_id.clone())
                    .or_insert(a.trace_id.clone()),
                a.trace_id
            );
            span_map.insert(b.span_id.clone(), a.span_id.clone());
            assert_eq!(a.start_time_unix_nano, b.start_time_unix_nano + shift);
            assert_eq!(a.end_time_unix_nano, b.end_time_unix_nano + shift);
            for (be, ae) in b.events.iter().zip(&a.events) {
                assert_eq!(ae.time_unix_nano, be.time_unix_nano + shift);
            }
            assert_eq!((&a.name, &a.attributes), (&b.name, &b.attributes));
        }
        // A child still names its parent.
        for (b, a) in before.iter().zip(&after) {
            if let Some(parent) = span_map.get(&b.parent_span_id) {
                assert_eq!(&a.parent_span_id, parent);
            }
        }
    }

    #[test]
    fn every_connection_and_pass_gets_other_ids() {
        let original = otlp_testkit::Generator::new(6).traces(50);
        let template = Template::new(Bytes::from(original.encode_to_vec())).unwrap();
        let mut seen = HashSet::new();
        for connection in 0..4 {
            for pass in 0..4 {
                let request = ExportTraceServiceRequest::decode(
                    template.render(IdKeys::new(9, connection, pass), 0),
                )
                .unwrap();
                for span in spans(&request) {
                    assert!(seen.insert(span.span_id.clone()), "a span id repeated");
                }
            }
        }
    }

    #[test]
    fn malformed_bytes_are_left_as_they_are() {
        for garbage in [&[0x0a, 0xff][..], &[0x0a, 0x05, 0x12], &[0x08, 0x01]] {
            let bytes = Bytes::copy_from_slice(garbage);
            if let Some(template) = Template::new(bytes.clone()) {
                assert!(template.trace_ids.is_empty() && template.times.is_empty());
                assert_eq!(template.render(IdKeys::new(1, 2, 3), 5), bytes);
            }
        }
    }
}
