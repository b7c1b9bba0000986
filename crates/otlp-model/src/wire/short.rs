//! Short messages read by their shape, without the field loop.
//!
//! Most attributes are a `KeyValue` of two fields whose `AnyValue` holds one, each with a one-byte key and
//! length. For fields that short, [`Fields`](super::Fields)' general step (a varint key, a wire type, a varint
//! length, a bounds check, a result) costs more than what the caller then does with the field. These functions
//! recognise that shape in a few comparisons and return `None` for anything else, valid or not, which the
//! caller then reads with [`Fields`](super::Fields): so they need no error cases of their own, and a caller that
//! handles the field they return as its loop would gets the loop's answer.

use super::reader::{Fields, Value, WireError, varint};

/// The only field of a message encoded as exactly one field with a one-byte key (field numbers 1 to 15) and,
/// when length-delimited, a one-byte length (under 128 bytes). `None` for any other encoding.
///
/// ```
/// use otlp_model::wire::{Value, single_field};
///
/// assert_eq!(single_field(&[0x0a, 0x02, b'o', b'k']), Some((1, Value::Len(b"ok"))));
/// assert_eq!(single_field(&[0x18, 0x96, 0x01]), Some((3, Value::Varint(150))));
/// assert_eq!(single_field(&[0x18, 0x01, 0x18, 0x02]), None); // two fields
/// ```
#[inline(always)]
pub fn single_field(bytes: &[u8]) -> Option<(u32, Value<'_>)> {
    let (&key, rest) = bytes.split_first()?;
    let field = u32::from(key >> 3);
    if key >= 0x80 || field == 0 {
        return None;
    }
    let value = match key & 7 {
        0 => {
            let mut at = 0;
            let number = varint(rest, &mut at).ok()?;
            (at == rest.len()).then_some(Value::Varint(number))?
        }
        1 => Value::Fixed64(u64::from_le_bytes(rest.try_into().ok()?)),
        2 => {
            let (&len, data) = rest.split_first()?;
            (usize::from(len) == data.len()).then_some(Value::Len(data))?
        }
        5 => Value::Fixed32(u32::from_le_bytes(rest.try_into().ok()?)),
        _ => return None,
    };
    Some((field, value))
}

/// A message's first field when it is length-delimited with a one-byte key and a one-byte length: its
/// number, its bytes, and the bytes of the fields after it. `None` for any other encoding.
///
/// ```
/// use otlp_model::wire::leading_len_field;
///
/// // A `KeyValue`: key "k", then its value.
/// let bytes = [0x0a, 0x01, b'k', 0x12, 0x03, 0x0a, 0x01, b'v'];
/// assert_eq!(leading_len_field(&bytes), Some((1, &b"k"[..], &bytes[3..])));
/// ```
#[inline(always)]
pub fn leading_len_field(bytes: &[u8]) -> Option<(u32, &[u8], &[u8])> {
    let [key, len, rest @ ..] = bytes else {
        return None;
    };
    let field = u32::from(key >> 3);
    if *key >= 0x80 || key & 7 != 2 || field == 0 || *len >= 0x80 {
        return None;
    }
    let (data, after) = rest.split_at_checked(usize::from(*len))?;
    Some((field, data, after))
}

/// A `KeyValue` encoded as its key and then its value, both length-delimited with one-byte keys and lengths, as
/// SDKs encode nearly every attribute: the key's bytes and the `AnyValue`'s. `None` for any other encoding (a
/// `key_strindex`, a field sent twice, a long value), which the caller reads with [`Fields`](super::Fields).
///
/// ```
/// use otlp_model::wire::key_then_value;
///
/// // Key "k", then an AnyValue holding the string "v".
/// let bytes = [0x0a, 0x01, b'k', 0x12, 0x03, 0x0a, 0x01, b'v'];
/// assert_eq!(key_then_value(&bytes), Some((&b"k"[..], &bytes[5..])));
/// assert_eq!(key_then_value(&bytes[..3]), None); // a key alone
/// ```
#[inline(always)]
pub fn key_then_value(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (1, key, rest) = leading_len_field(bytes)? else {
        return None;
    };
    let (2, Value::Len(value)) = single_field(rest)? else {
        return None;
    };
    Some((key, value))
}

/// Hands each field of a message to `read`, in order, as [`Fields`] reads them (its first error is the last
/// field): by shape when the message is a length-delimited field and then one more, the encoding of nearly every
/// `KeyValue` ([`leading_len_field`], [`single_field`]), else with [`Fields`] at `depth`.
///
/// ```
/// use otlp_model::wire::{Value, for_each_field};
///
/// let mut seen = Vec::new();
/// for_each_field(&[0x0a, 0x01, b'k', 0x18, 0x07], 100, |field| {
///     seen.push(field?);
///     Ok::<(), otlp_model::wire::WireError>(())
/// })?;
/// assert_eq!(seen, [(1, Value::Len(b"k")), (3, Value::Varint(7))]);
/// # Ok::<(), otlp_model::wire::WireError>(())
/// ```
#[inline(always)]
pub fn for_each_field<'a, E>(
    bytes: &'a [u8],
    depth: u32,
    mut read: impl FnMut(Result<(u32, Value<'a>), WireError>) -> Result<(), E>,
) -> Result<(), E> {
    if let Some((number, first, rest)) = leading_len_field(bytes)
        && let Some(second) = single_field(rest)
    {
        read(Ok((number, Value::Len(first))))?;
        return read(Ok(second));
    }
    for field in Fields::new(bytes, depth) {
        read(field)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Fields, RECURSION_LIMIT};
    use proptest::prelude::*;

    proptest! {
        /// Whatever they return is what the field loop reads from the same bytes.
        #[test]
        fn shapes_agree_with_the_field_loop(bytes in prop::collection::vec(any::<u8>(), 0..24)) {
            let fields: Vec<_> = Fields::new(&bytes, RECURSION_LIMIT).collect();
            if let Some((number, value)) = single_field(&bytes) {
                prop_assert_eq!(&fields, &vec![Ok((number, value))]);
            }
            if let Some((key, value)) = key_then_value(&bytes) {
                prop_assert_eq!(&fields, &vec![Ok((1, Value::Len(key))), Ok((2, Value::Len(value)))]);
            }
            if let Some((number, data, after)) = leading_len_field(&bytes) {
                prop_assert_eq!(&fields[0], &Ok((number, Value::Len(data))));
                let rest: Vec<_> = Fields::new(after, RECURSION_LIMIT).collect();
                prop_assert_eq!(&fields[1..], &rest[..]);
            }
        }
    }

    #[test]
    fn common_attribute_shapes_are_recognised() {
        assert_eq!(
            single_field(&[0x21, 1, 2, 3, 4, 5, 6, 7, 8]),
            Some((4, Value::Fixed64(0x0807060504030201)))
        );
        assert_eq!(single_field(&[0x10, 0x01]), Some((2, Value::Varint(1))));
        assert_eq!(single_field(&[0x0a, 0x00]), Some((1, Value::Len(&[]))));
        // A two-byte length, a two-byte key, a group, a bad varint: left to the loop.
        let long = [&[0x0a, 0x80, 0x01][..], &[b'a'; 128]].concat();
        for bytes in [
            &long[..],
            &[0x80, 0x01, 0x00],
            &[0x0b, 0x0c],
            &[0x18, 0x80],
            &[],
        ] {
            assert_eq!(single_field(bytes), None, "{bytes:02x?}");
        }
    }
}
