//! The protobuf wire format, read in place: varints, keys and fields, with the same checks and limits as prost.

use std::fmt;

/// Why bytes are not a valid encoding; prost refuses the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// A varint longer than 10 bytes, or one that overflows 64 bits, or cut short.
    InvalidVarint,
    /// A key above `u32::MAX`, a field number 0, or a wire type above 5.
    InvalidKey,
    /// A length-delimited value or a fixed-width value longer than what is left.
    Truncated,
    /// A known field sent with another wire type than its declared one.
    WrongWireType {
        /// The field number.
        field: u32,
    },
    /// A string field that is not UTF-8.
    InvalidUtf8 {
        /// The field number.
        field: u32,
    },
    /// An end-group key without its start, or a group closed by another field number.
    UnexpectedEndGroup,
    /// Messages nested deeper than prost's recursion limit (100).
    TooDeep,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::InvalidVarint => f.write_str("invalid varint"),
            WireError::InvalidKey => f.write_str("invalid key"),
            WireError::Truncated => f.write_str("a value runs past the end of its message"),
            WireError::WrongWireType { field } => {
                write!(f, "field {field} has the wrong wire type")
            }
            WireError::InvalidUtf8 { field } => write!(f, "string field {field} is not UTF-8"),
            WireError::UnexpectedEndGroup => f.write_str("unexpected end group tag"),
            WireError::TooDeep => f.write_str("messages nested too deeply"),
        }
    }
}

impl std::error::Error for WireError {}

/// prost's recursion limit: messages may nest this many levels below the request.
pub const RECURSION_LIMIT: u32 = 100;

/// The wire types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    Len,
    StartGroup,
    EndGroup,
    Fixed32,
}

/// One field's value, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A varint (`int32`, `uint64`, `bool`, enums, ...), as read.
    Varint(u64),
    /// A 64-bit little-endian value (`fixed64`, `double`, ...).
    Fixed64(u64),
    /// A 32-bit little-endian value (`fixed32`).
    Fixed32(u32),
    /// A length-delimited value (a string, bytes, a message, a packed list).
    Len(&'a [u8]),
    /// A group (only ever skipped: OTLP declares none).
    Group,
}

impl<'a> Value<'a> {
    /// The bytes of a length-delimited value; empty for any other.
    #[inline]
    pub fn bytes(self) -> &'a [u8] {
        match self {
            Value::Len(bytes) => bytes,
            _ => &[],
        }
    }

    /// A varint or fixed value as a number; 0 for a length-delimited value.
    #[inline]
    pub fn number(self) -> u64 {
        match self {
            Value::Varint(n) | Value::Fixed64(n) => n,
            Value::Fixed32(n) => u64::from(n),
            Value::Len(_) | Value::Group => 0,
        }
    }

    /// A string value, checked to be UTF-8 (it is, in bytes [`scan`](super::scan) accepted). Checked again
    /// because a `&str` needs the proof, but ASCII first (`otlp_simd::utf8`): most OTLP strings are short ASCII,
    /// which `std::str::from_utf8` checks byte by byte up to its first aligned word.
    #[inline]
    pub fn str(self) -> Result<&'a str, WireError> {
        otlp_simd::utf8::from_utf8(self.bytes()).map_err(|_| WireError::InvalidUtf8 { field: 0 })
    }
}

/// Reads a varint at `*at`, as prost does: at most 10 bytes, the 10th at most 1.
#[inline(always)]
pub fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, WireError> {
    // Nearly every key and most lengths fit one byte: that case stays inline, the rest is a call.
    match bytes.get(*at) {
        Some(&byte) if byte < 0x80 => {
            *at += 1;
            Ok(u64::from(byte))
        }
        _ => varint_long(bytes, at),
    }
}

#[inline(never)]
fn varint_long(bytes: &[u8], at: &mut usize) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *bytes.get(*at).ok_or(WireError::InvalidVarint)?;
        *at += 1;
        if i == 9 && byte > 1 {
            return Err(WireError::InvalidVarint);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError::InvalidVarint)
}

/// The fields of one message, in order: each field's number and value. A malformed field ends the iteration
/// with an error. Groups (which OTLP never uses) are skipped whole, as prost skips unknown ones.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Nesting left for groups skipped inside this message.
    depth: u32,
}

impl<'a> Fields<'a> {
    /// The fields of the message encoded in `bytes`, read at nesting `depth` (what is left of
    /// [`RECURSION_LIMIT`]; only groups use it).
    pub fn new(bytes: &'a [u8], depth: u32) -> Self {
        Fields {
            bytes,
            at: 0,
            depth,
        }
    }

    /// Where the next field's key starts: after the fields read so far (the whole message after an error). A
    /// caller that copies fields as they are takes each one's bytes between two offsets.
    pub fn offset(&self) -> usize {
        self.at
    }

    fn key(&mut self) -> Result<(u32, WireType), WireError> {
        let key = varint(self.bytes, &mut self.at)?;
        let key = u32::try_from(key).map_err(|_| WireError::InvalidKey)?;
        let wire_type = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::Fixed32,
            _ => return Err(WireError::InvalidKey),
        };
        let field = key >> 3;
        if field == 0 {
            return Err(WireError::InvalidKey);
        }
        Ok((field, wire_type))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        let end = self.at.checked_add(len).ok_or(WireError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(WireError::Truncated)?;
        self.at = end;
        Ok(slice)
    }

    /// Skips a group's fields up to its end key, as prost's `skip_field` does.
    fn skip_group(&mut self, field: u32, depth: u32) -> Result<(), WireError> {
        if depth == 0 {
            return Err(WireError::TooDeep);
        }
        loop {
            let (inner, wire_type) = self.key()?;
            match wire_type {
                WireType::EndGroup if inner == field => return Ok(()),
                WireType::EndGroup => return Err(WireError::UnexpectedEndGroup),
                WireType::StartGroup => self.skip_group(inner, depth - 1)?,
                other => {
                    self.value(other)?;
                }
            }
        }
    }

    fn value(&mut self, wire_type: WireType) -> Result<Value<'a>, WireError> {
        Ok(match wire_type {
            WireType::Varint => Value::Varint(varint(self.bytes, &mut self.at)?),
            WireType::Fixed64 => {
                let bytes = self.take(8)?;
                let mut word = [0u8; 8];
                word.copy_from_slice(bytes);
                Value::Fixed64(u64::from_le_bytes(word))
            }
            WireType::Fixed32 => {
                let bytes = self.take(4)?;
                let mut word = [0u8; 4];
                word.copy_from_slice(bytes);
                Value::Fixed32(u32::from_le_bytes(word))
            }
            WireType::Len => {
                let len = varint(self.bytes, &mut self.at)?;
                let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
                Value::Len(self.take(len)?)
            }
            WireType::StartGroup | WireType::EndGroup => {
                return Err(WireError::UnexpectedEndGroup);
            }
        })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), WireError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.at..).filter(|rest| !rest.is_empty())?;
        // Most fields have a one-byte key (numbers 1 to 15) and are a string, a message or bytes under 16 KiB, a
        // one-byte varint or a fixed64 (a span's times): read in a few comparisons, before the general step below.
        if let [key, first, after @ ..] = rest
            && *key < 0x80
            && *key >= 0x08
        {
            let field = u32::from(key >> 3);
            match (key & 7, *first < 0x80, after) {
                (2, true, _) => {
                    if let Some(data) = after.get(..usize::from(*first)) {
                        self.at += 2 + data.len();
                        return Some(Ok((field, Value::Len(data))));
                    }
                }
                (2, false, [second, data @ ..]) if *second < 0x80 => {
                    let len = usize::from(first & 0x7f) | usize::from(*second) << 7;
                    if let Some(data) = data.get(..len) {
                        self.at += 3 + len;
                        return Some(Ok((field, Value::Len(data))));
                    }
                }
                (0, true, _) => {
                    self.at += 2;
                    return Some(Ok((field, Value::Varint(u64::from(*first)))));
                }
                (1, _, _) => {
                    if let Some(word) = rest
                        .get(1..9)
                        .and_then(|word| <[u8; 8]>::try_from(word).ok())
                    {
                        self.at += 9;
                        return Some(Ok((field, Value::Fixed64(u64::from_le_bytes(word)))));
                    }
                }
                _ => {}
            }
        }
        let item = self.key().and_then(|(field, wire_type)| match wire_type {
            WireType::StartGroup => {
                // prost checks the recursion limit before skipping a group.
                if self.depth == 0 {
                    return Err(WireError::TooDeep);
                }
                self.skip_group(field, self.depth - 1)?;
                Ok((field, Value::Group))
            }
            WireType::EndGroup => Err(WireError::UnexpectedEndGroup),
            other => Ok((field, self.value(other)?)),
        });
        if item.is_err() {
            // A malformed message has no further fields.
            self.at = self.bytes.len();
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::encoding::{DecodeContext, WireType as ProstWireType, decode_key, decode_varint};

    /// The next field as prost's own key, varint and length decoding read it; `None` where prost refuses.
    fn prost_field<'a>(buf: &mut &'a [u8]) -> Option<(u32, Value<'a>)> {
        let (field, wire_type) = decode_key(buf).ok()?;
        let value = match wire_type {
            ProstWireType::Varint => Value::Varint(decode_varint(buf).ok()?),
            ProstWireType::SixtyFourBit => {
                let (word, rest) = buf.split_first_chunk::<8>()?;
                *buf = rest;
                Value::Fixed64(u64::from_le_bytes(*word))
            }
            ProstWireType::ThirtyTwoBit => {
                let (word, rest) = buf.split_first_chunk::<4>()?;
                *buf = rest;
                Value::Fixed32(u32::from_le_bytes(*word))
            }
            ProstWireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(buf).ok()?).ok()?;
                let (data, rest) = buf.split_at_checked(len)?;
                *buf = rest;
                Value::Len(data)
            }
            ProstWireType::StartGroup => {
                prost::encoding::skip_field(wire_type, field, buf, DecodeContext::default())
                    .ok()?;
                Value::Group
            }
            ProstWireType::EndGroup => return None,
        };
        Some((field, value))
    }

    /// A field as an encoder writes it (one- or two-byte keys, one- or two-byte lengths, varints of up to three
    /// bytes), so that well-formed runs of fields, and not only noise, reach both the short-field steps and the
    /// general one.
    fn encoded_field() -> impl Strategy<Value = Vec<u8>> {
        (1u32..40, 0u8..4, prop::collection::vec(any::<u8>(), 0..300)).prop_map(
            |(field, kind, data)| {
                let mut out = Vec::new();
                let wire_type = [
                    ProstWireType::Varint,
                    ProstWireType::SixtyFourBit,
                    ProstWireType::LengthDelimited,
                    ProstWireType::ThirtyTwoBit,
                ][usize::from(kind)];
                prost::encoding::encode_key(field, wire_type, &mut out);
                match wire_type {
                    ProstWireType::Varint => {
                        prost::encoding::encode_varint((data.len() * data.len()) as u64, &mut out)
                    }
                    ProstWireType::SixtyFourBit => {
                        out.extend_from_slice(&(data.len() as u64 * 0x0101_0101_0101).to_le_bytes())
                    }
                    ProstWireType::LengthDelimited => {
                        prost::encoding::encode_varint(data.len() as u64, &mut out);
                        out.extend_from_slice(&data);
                    }
                    _ => out.extend_from_slice(&[9; 4]),
                }
                out
            },
        )
    }

    proptest! {
        /// Field by field, `Fields` reads what prost reads from the same bytes, and fails where prost fails.
        #[test]
        fn fields_are_read_as_prost_reads_them(
            fields in prop::collection::vec(encoded_field(), 0..6),
            noise in prop::collection::vec(any::<u8>(), 0..24),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = fields.concat();
            bytes.extend_from_slice(&noise);
            let cut = cut.index(bytes.len() + 1);
            for bytes in [&bytes[..], &bytes[..cut], &noise[..]] {
                let mut reference = bytes;
                for field in Fields::new(bytes, RECURSION_LIMIT) {
                    match (field, prost_field(&mut reference)) {
                        (Ok(ours), Some(theirs)) => prop_assert_eq!(ours, theirs),
                        (Err(_), None) => break,
                        (ours, theirs) => prop_assert!(false, "{:?} against prost's {:?}", ours, theirs),
                    }
                }
            }
        }
    }

    #[test]
    fn varints_follow_prost() {
        let mut at = 0;
        assert_eq!(varint(&[0x96, 0x01], &mut at), Ok(150));
        assert_eq!(at, 2);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint(&max, &mut 0), Ok(u64::MAX));
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(varint(&overflow, &mut 0), Err(WireError::InvalidVarint));
        assert_eq!(varint(&[0x80], &mut 0), Err(WireError::InvalidVarint));
        for bytes in [&max[..], &[0x96, 0x01][..], &[0x00][..]] {
            assert_eq!(
                varint(bytes, &mut 0).ok(),
                prost::encoding::decode_varint(&mut &bytes[..]).ok()
            );
        }
    }

    /// An encoder may pad a varint with continuation bytes; prost reads the value all the same, and so does the
    /// short step for two-byte lengths.
    #[test]
    fn padded_lengths_and_cut_words_follow_prost() {
        for bytes in [
            &[0x0a, 0x81, 0x00, 0x2a][..],
            &[0x0a, 0x80, 0x00],
            &[0x0a, 0x82, 0x00, 0x2a],
            &[0x09, 1, 2, 3, 4, 5, 6, 7],
            &[0x09, 1, 2, 3, 4, 5, 6, 7, 8],
        ] {
            let ours = Fields::new(bytes, RECURSION_LIMIT)
                .next()
                .and_then(Result::ok);
            assert_eq!(ours, prost_field(&mut &bytes[..]), "{bytes:?}");
        }
    }

    #[test]
    fn keys_and_groups_follow_prost() {
        // Field 0, wire type 6, and an end group without its start are refused.
        for bad in [&[0x00, 0x00][..], &[0x0e][..], &[0x0c][..]] {
            assert!(
                Fields::new(bad, RECURSION_LIMIT).next().unwrap().is_err(),
                "{bad:?}"
            );
        }
        // A group of field 1 holding a varint field 2, skipped whole.
        let group = [0x0b, 0x10, 0x05, 0x0c, 0x18, 0x07];
        let fields: Vec<_> = Fields::new(&group, RECURSION_LIMIT)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(fields, [(1, Value::Group), (3, Value::Varint(7))]);
        assert!(
            Fields::new(&[0x0b, 0x14], RECURSION_LIMIT)
                .next()
                .unwrap()
                .is_err()
        );
        assert_eq!(
            Fields::new(&[0x0a, 0x05, 0x01], RECURSION_LIMIT).next(),
            Some(Err(WireError::Truncated))
        );
    }
}
