//! Whether a row of an attribute map column equals the row before it, compared in place
//! in the Arrow arrays.

use std::ops::Range;

use arrow::array::{Array, AsArray, GenericByteArray, MapArray, StringArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::ByteArrayType;
use arrow::util::bit_chunk_iterator::BitChunks;

use crate::Error;
use crate::flat::value::ValueReader;

/// The map array, its entries' arrays downcast once.
pub(super) struct MapView<'a> {
    map: &'a MapArray,
    offsets: &'a [i32],
    pub(super) keys: &'a StringArray,
    pub(super) values: ValueReader<'a>,
}

impl<'a> MapView<'a> {
    pub(super) fn new(map: &'a MapArray, column: &'a str) -> Result<Self, Error> {
        let entries = map.entries();
        let keys = entries
            .column(0)
            .as_string_opt::<i32>()
            .ok_or_else(|| Error::NotOtlpArrow(format!("the keys of {column} are not strings")))?;
        Ok(Self {
            map,
            offsets: map.value_offsets(),
            keys,
            values: ValueReader::new(entries.column(1).as_ref(), column)?,
        })
    }

    pub(super) fn entries(&self, row: usize) -> Option<Range<usize>> {
        if self.map.is_null(row) {
            return None;
        }
        Some(self.offsets[row] as usize..self.offsets[row + 1] as usize)
    }

    /// Whether two rows hold the same entries. May say no for equal rows whose nulls hide
    /// different bytes; that only costs a row written from its columns.
    pub(super) fn same_rows(&self, a: usize, b: usize) -> bool {
        let (a, b) = match (self.entries(a), self.entries(b)) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.len() == b.len() => (a, b),
            _ => return false,
        };
        let v = &self.values;
        same_bytes(self.keys, &a, &b)
            && same_bytes(v.str, &a, &b)
            && same_nulls(v.int.nulls(), &a, &b)
            && same_slices(&v.int.values()[a.clone()], &v.int.values()[b.clone()])
            && same_nulls(v.double.nulls(), &a, &b)
            && v.double.values()[a.clone()]
                .iter()
                .zip(&v.double.values()[b.clone()])
                .all(|(x, y)| x.to_bits() == y.to_bits())
            && same_nulls(v.bool.nulls(), &a, &b)
            && same_bits(v.bool.values(), &a, &b)
            && same_bytes(v.bytes, &a, &b)
            && same_bytes(v.json, &a, &b)
    }
}

fn same_nulls(nulls: Option<&NullBuffer>, a: &Range<usize>, b: &Range<usize>) -> bool {
    nulls.is_none_or(|nulls| same_bits(nulls.inner(), a, b))
}

/// Compares 64 bits at a time, where a bit-by-bit loop would cost a shift and a branch
/// per entry.
fn same_bits(bits: &BooleanBuffer, a: &Range<usize>, b: &Range<usize>) -> bool {
    let chunks = |range: &Range<usize>| {
        BitChunks::new(bits.values(), bits.offset() + range.start, range.len())
    };
    chunks(a).iter_padded().eq(chunks(b).iter_padded())
}

fn same_bytes<T: ByteArrayType<Offset = i32>>(
    array: &GenericByteArray<T>,
    a: &Range<usize>,
    b: &Range<usize>,
) -> bool {
    let offsets = array.value_offsets();
    let (oa, ob) = (&offsets[a.start..=a.end], &offsets[b.start..=b.end]);
    let (base_a, base_b) = (oa[0], ob[0]);
    let data = array.value_data();
    same_nulls(array.nulls(), a, b)
        && oa.iter().zip(ob).all(|(x, y)| x - base_a == y - base_b)
        && same_slices(
            &data[base_a as usize..oa[oa.len() - 1] as usize],
            &data[base_b as usize..ob[ob.len() - 1] as usize],
        )
}

/// Slice equality that does not call `memcmp` for empty slices. An empty Arrow buffer's
/// pointer is dangling, and glibc's AVX-512 `memcmp` reads through it with a masked load
/// that the CPU takes hundreds of cycles to suppress: measured, 200 ns per comparison
/// of a column of nulls, more than all the other comparisons of a 20-entry row.
fn same_slices<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}
