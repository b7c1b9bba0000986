//! Growable column buffers the flat builders append to.
//!
//! Each buffer is a plain `Vec` that turns into an Arrow array without a copy at
//! [`finish`](StrCol::finish) and is then re-reserved at the size it reached, so a builder
//! that is fed batch after batch stops allocating once it has seen its largest batch.
//! Every buffer can also append a whole other buffer of its kind in one go: that is how
//! a resource's or a scope's columns, built once, are repeated onto each of its rows.

use std::sync::Arc;

use arrow::array::BooleanBufferBuilder;
use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, FixedSizeBinaryArray, ListArray, PrimitiveArray,
    StringArray,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer};
use arrow::datatypes::{ArrowPrimitiveType, FieldRef};

use crate::Error;

/// A validity bitmap that stays unallocated while every slot is valid.
#[derive(Debug, Default)]
pub(crate) struct Validity {
    bits: Option<BooleanBufferBuilder>,
    len: usize,
}

impl Validity {
    #[inline]
    pub(crate) fn push(&mut self, valid: bool) {
        if let Some(bits) = &mut self.bits {
            bits.append(valid);
        } else if !valid {
            self.materialize().append(false);
        }
        self.len += 1;
    }

    /// Appends `n` slots, all valid or all null.
    pub(crate) fn push_n(&mut self, valid: bool, n: usize) {
        if let Some(bits) = &mut self.bits {
            bits.append_n(n, valid);
        } else if !valid {
            self.materialize().append_n(n, false);
        }
        self.len += n;
    }

    fn materialize(&mut self) -> &mut BooleanBufferBuilder {
        let len = self.len;
        self.bits.get_or_insert_with(|| {
            let mut bits = BooleanBufferBuilder::new(len.max(64));
            bits.append_n(len, true);
            bits
        })
    }

    /// Appends `other` `n` times.
    pub(crate) fn extend_n(&mut self, other: &Validity, n: usize) {
        match &other.bits {
            None => {
                if let Some(bits) = &mut self.bits {
                    bits.append_n(other.len * n, true);
                }
            }
            Some(theirs) => {
                let mine = self.materialize();
                for _ in 0..n {
                    mine.append_packed_range(0..other.len, theirs.as_slice());
                }
            }
        }
        self.len += other.len * n;
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        if let Some(bits) = &mut self.bits {
            bits.truncate(len);
        }
        self.len = self.len.min(len);
    }

    pub(crate) fn finish(&mut self) -> Option<NullBuffer> {
        self.len = 0;
        let bits = self.bits.as_mut()?;
        let buffer = NullBuffer::new(finish_reserved(bits));
        // Keep the builder (empty): the next batch will likely have nulls again.
        Some(buffer).filter(|b| b.null_count() > 0)
    }
}

/// Nulls pushed onto a column since its last value and not yet written. Most of an
/// attribute's six value columns take a null for each entry (an entry has one kind of
/// value): counted, they cost an addition each, and are written in one go (offsets,
/// values and validity bits filled in bulk) before the next value, or when the column is
/// read, cut or finished.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Nulls(usize);

impl Nulls {
    #[inline]
    fn take(&mut self) -> Option<usize> {
        (self.0 > 0).then(|| std::mem::take(&mut self.0))
    }
}

/// A column whose last nulls may be counted but not yet written ([`Nulls`]).
trait CountsNulls {
    fn nulls(&mut self) -> &mut Nulls;
    fn pending_nulls(&self) -> usize;
    fn write_nulls(&mut self);
    /// Appends `other`'s written rows (not its counted nulls) `n` times.
    fn extend_n_written(&mut self, other: &Self, n: usize);
}

/// Appends `other` `n` times to `column`: each copy is `other`'s written rows, then the
/// nulls it has counted since.
fn extend_counting_nulls<C: CountsNulls>(column: &mut C, other: &C, n: usize) {
    column.write_nulls();
    let pending = other.pending_nulls();
    if pending == 0 {
        return column.extend_n_written(other, n);
    }
    for _ in 0..n {
        column.extend_n_written(other, 1);
        column.nulls().0 = pending;
        column.write_nulls();
    }
}

/// Takes a vector's contents and leaves an empty one with the same capacity behind, so
/// the next batch does not grow it again from nothing.
pub(crate) fn take_reserved<T>(vec: &mut Vec<T>) -> Vec<T> {
    let capacity = vec.capacity();
    std::mem::replace(vec, Vec::with_capacity(capacity))
}

/// [`take_reserved`] for bits: arrow's `finish` leaves a builder with no capacity, which the
/// next batch would regrow a doubling (a reallocation) at a time.
fn finish_reserved(bits: &mut BooleanBufferBuilder) -> BooleanBuffer {
    let capacity = bits.capacity();
    let finished = bits.finish();
    bits.reserve(capacity);
    finished
}

/// Offsets of a variable-length column (strings, binaries, lists); the first offset is 0.
#[derive(Debug)]
pub(crate) struct Offsets {
    offsets: Vec<i32>,
    /// Where the last offset would be if it did not have to fit an `i32`; checked at
    /// `finish`, so an overflow is an error instead of a wrapped offset.
    end: usize,
}

impl Default for Offsets {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            end: 0,
        }
    }
}

impl Offsets {
    #[inline]
    pub(crate) fn push_end(&mut self, end: usize) {
        self.end = end;
        self.offsets.push(end as i32);
    }

    /// Ends `n` empty rows at the current end.
    pub(crate) fn push_empty(&mut self, n: usize) {
        self.offsets.extend(std::iter::repeat_n(self.end as i32, n));
    }

    /// Rows so far.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The child length at the end of the last row.
    #[inline]
    pub(crate) fn last(&self) -> usize {
        self.end
    }

    /// Appends `other`'s rows `n` times, shifted to start at this column's current end.
    pub(crate) fn extend_n(&mut self, other: &Offsets, n: usize) {
        for _ in 0..n {
            let base = self.end;
            self.offsets.extend(
                other.offsets[1..]
                    .iter()
                    .map(|&o| (base + o as usize) as i32),
            );
            self.end = base + other.end;
        }
    }

    pub(crate) fn truncate(&mut self, rows: usize) {
        self.offsets.truncate(rows + 1);
        self.end = self.offsets.last().map_or(0, |&o| o as usize);
    }

    pub(crate) fn finish(&mut self, column: &'static str) -> Result<OffsetBuffer<i32>, Error> {
        if self.end > i32::MAX as usize {
            self.truncate(0);
            return Err(Error::DictionaryOverflow {
                column,
                limit: i32::MAX as usize,
            });
        }
        let mut offsets = take_reserved(&mut self.offsets);
        self.offsets.push(0);
        self.end = 0;
        if offsets.is_empty() {
            offsets.push(0);
        }
        Ok(OffsetBuffer::new(offsets.into()))
    }
}

/// A `Utf8` (or, with `BinCol`, `Binary`) column.
#[derive(Debug, Default)]
pub(crate) struct BytesCol {
    offsets: Offsets,
    data: Vec<u8>,
    valid: Validity,
    /// Nulls pushed since the last value, written in one go before the next one (see
    /// [`Nulls`]).
    nulls: Nulls,
}

impl CountsNulls for BytesCol {
    fn nulls(&mut self) -> &mut Nulls {
        &mut self.nulls
    }

    fn pending_nulls(&self) -> usize {
        self.nulls.0
    }

    #[inline]
    fn write_nulls(&mut self) {
        if let Some(n) = self.nulls.take() {
            self.offsets.push_empty(n);
            self.valid.push_n(false, n);
        }
    }

    fn extend_n_written(&mut self, other: &BytesCol, n: usize) {
        for _ in 0..n {
            self.data.extend_from_slice(&other.data);
        }
        self.offsets.extend_n(&other.offsets, n);
        self.valid.extend_n(&other.valid, n);
    }
}

impl BytesCol {
    #[inline]
    pub(crate) fn push(&mut self, value: &[u8]) {
        self.write_nulls();
        self.data.extend_from_slice(value);
        self.offsets.push_end(self.data.len());
        self.valid.push(true);
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
        self.nulls.0 += 1;
    }

    #[inline]
    pub(crate) fn push_opt(&mut self, value: Option<&[u8]>) {
        match value {
            Some(v) => self.push(v),
            None => self.push_null(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() + self.nulls.0
    }

    /// Appends `other` `n` times.
    pub(crate) fn extend_n(&mut self, other: &BytesCol, n: usize) {
        extend_counting_nulls(self, other, n);
    }

    pub(crate) fn truncate(&mut self, rows: usize) {
        self.write_nulls();
        self.offsets.truncate(rows);
        self.data.truncate(self.offsets.last());
        self.valid.truncate(rows);
    }

    pub(crate) fn clear(&mut self) {
        self.truncate(0);
    }

    fn finish_parts(
        &mut self,
        column: &'static str,
    ) -> Result<(OffsetBuffer<i32>, Buffer, Option<NullBuffer>), Error> {
        self.write_nulls();
        let nulls = self.valid.finish();
        let offsets = self.offsets.finish(column);
        let data = Buffer::from_vec(take_reserved(&mut self.data));
        Ok((offsets?, data, nulls))
    }

    /// A `StringArray`. Every value was pushed from a `&str`, so the UTF-8 check
    /// arrow-rs makes cannot fail unless a caller broke that rule.
    pub(crate) fn finish_utf8(&mut self, column: &'static str) -> Result<ArrayRef, Error> {
        let (offsets, data, nulls) = self.finish_parts(column)?;
        Ok(Arc::new(StringArray::try_new(offsets, data, nulls)?))
    }

    pub(crate) fn finish_binary(&mut self, column: &'static str) -> Result<ArrayRef, Error> {
        let (offsets, data, nulls) = self.finish_parts(column)?;
        Ok(Arc::new(BinaryArray::try_new(offsets, data, nulls)?))
    }
}

/// A `FixedSizeBinary(W)` column of OTLP ids: empty ids are null, other lengths an error.
#[derive(Debug, Default)]
pub(crate) struct IdCol<const W: usize> {
    data: Vec<u8>,
    valid: Validity,
}

impl<const W: usize> IdCol<W> {
    /// Checks an id's length without appending it.
    #[inline]
    pub(crate) fn check(id: &[u8], field: &'static str) -> Result<(), Error> {
        if id.is_empty() || id.len() == W {
            Ok(())
        } else {
            Err(Error::InvalidId {
                field,
                expected: W,
                actual: id.len(),
            })
        }
    }

    /// Appends an id already [`check`](Self::check)ed.
    #[inline]
    pub(crate) fn push_checked(&mut self, id: &[u8]) {
        if id.len() == W {
            self.data.extend_from_slice(id);
            self.valid.push(true);
        } else {
            self.data.extend_from_slice(&[0; W]);
            self.valid.push(false);
        }
    }

    pub(crate) fn truncate(&mut self, rows: usize) {
        self.data.truncate(rows * W);
        self.valid.truncate(rows);
    }

    pub(crate) fn finish(&mut self) -> Result<ArrayRef, Error> {
        let nulls = self.valid.finish();
        let data = Buffer::from_vec(take_reserved(&mut self.data));
        Ok(Arc::new(FixedSizeBinaryArray::try_new(
            W as i32, data, nulls,
        )?))
    }
}

/// A primitive column (integers, floats, timestamps).
#[derive(Debug)]
pub(crate) struct PrimCol<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    valid: Validity,
    nulls: Nulls,
}

impl<T: ArrowPrimitiveType> Default for PrimCol<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            valid: Validity::default(),
            nulls: Nulls::default(),
        }
    }
}

impl<T: ArrowPrimitiveType> CountsNulls for PrimCol<T> {
    fn nulls(&mut self) -> &mut Nulls {
        &mut self.nulls
    }

    fn pending_nulls(&self) -> usize {
        self.nulls.0
    }

    #[inline]
    fn write_nulls(&mut self) {
        if let Some(n) = self.nulls.take() {
            self.values
                .resize(self.values.len() + n, T::Native::default());
            self.valid.push_n(false, n);
        }
    }

    fn extend_n_written(&mut self, other: &Self, n: usize) {
        if let [value] = other.values.as_slice() {
            self.values.extend(std::iter::repeat_n(*value, n));
        } else {
            for _ in 0..n {
                self.values.extend_from_slice(&other.values);
            }
        }
        self.valid.extend_n(&other.valid, n);
    }
}

impl<T: ArrowPrimitiveType> PrimCol<T> {
    #[inline]
    pub(crate) fn push(&mut self, value: T::Native) {
        self.write_nulls();
        self.values.push(value);
        self.valid.push(true);
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
        self.nulls.0 += 1;
    }

    #[inline]
    pub(crate) fn push_opt(&mut self, value: Option<T::Native>) {
        match value {
            Some(v) => self.push(v),
            None => self.push_null(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len() + self.nulls.0
    }

    /// Appends `other` `n` times.
    pub(crate) fn extend_n(&mut self, other: &Self, n: usize) {
        extend_counting_nulls(self, other, n);
    }

    pub(crate) fn truncate(&mut self, rows: usize) {
        self.write_nulls();
        self.values.truncate(rows);
        self.valid.truncate(rows);
    }

    pub(crate) fn clear(&mut self) {
        self.truncate(0);
    }

    /// The array, with `data_type` (a timestamp's time zone) when given.
    pub(crate) fn finish_as(
        &mut self,
        data_type: Option<&arrow::datatypes::DataType>,
    ) -> Result<ArrayRef, Error> {
        self.write_nulls();
        let nulls = self.valid.finish();
        let values = take_reserved(&mut self.values);
        let array = PrimitiveArray::<T>::try_new(values.into(), nulls)?;
        Ok(match data_type {
            Some(t) => Arc::new(array.with_data_type(t.clone())),
            None => Arc::new(array),
        })
    }

    pub(crate) fn finish(&mut self) -> Result<ArrayRef, Error> {
        self.finish_as(None)
    }
}

/// A `Boolean` column.
#[derive(Debug)]
pub(crate) struct BoolCol {
    values: BooleanBufferBuilder,
    valid: Validity,
    nulls: Nulls,
}

impl Default for BoolCol {
    fn default() -> Self {
        Self {
            values: BooleanBufferBuilder::new(0),
            valid: Validity::default(),
            nulls: Nulls::default(),
        }
    }
}

impl CountsNulls for BoolCol {
    fn nulls(&mut self) -> &mut Nulls {
        &mut self.nulls
    }

    fn pending_nulls(&self) -> usize {
        self.nulls.0
    }

    #[inline]
    fn write_nulls(&mut self) {
        if let Some(n) = self.nulls.take() {
            self.values.append_n(n, false);
            self.valid.push_n(false, n);
        }
    }

    fn extend_n_written(&mut self, other: &Self, n: usize) {
        for _ in 0..n {
            self.values
                .append_packed_range(0..other.values.len(), other.values.as_slice());
        }
        self.valid.extend_n(&other.valid, n);
    }
}

impl BoolCol {
    #[inline]
    pub(crate) fn push(&mut self, value: bool) {
        self.write_nulls();
        self.values.append(value);
        self.valid.push(true);
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
        self.nulls.0 += 1;
    }

    /// Appends `other` `n` times.
    pub(crate) fn extend_n(&mut self, other: &Self, n: usize) {
        extend_counting_nulls(self, other, n);
    }

    pub(crate) fn truncate(&mut self, rows: usize) {
        self.write_nulls();
        self.values.truncate(rows);
        self.valid.truncate(rows);
    }

    pub(crate) fn finish(&mut self) -> Result<ArrayRef, Error> {
        self.write_nulls();
        let nulls = self.valid.finish();
        let values = finish_reserved(&mut self.values);
        Ok(Arc::new(BooleanArray::new(values, nulls)))
    }
}

/// The offsets and validity of a `List` column; its items live in another buffer.
#[derive(Debug, Default)]
pub(crate) struct ListCol {
    offsets: Offsets,
    valid: Validity,
}

impl ListCol {
    /// Closes a row whose items end at `items` (the child's length now).
    #[inline]
    pub(crate) fn close(&mut self, items: usize) {
        self.offsets.push_end(items);
        self.valid.push(true);
    }

    /// Appends a null row (it holds no items).
    #[inline]
    pub(crate) fn close_null(&mut self) {
        self.offsets.push_end(self.offsets.last());
        self.valid.push(false);
    }

    /// Where the items of the row being built start.
    #[inline]
    pub(crate) fn open_start(&self) -> usize {
        self.offsets.last()
    }

    /// Appends `other`'s rows `n` times (the items must be appended `n` times too).
    pub(crate) fn extend_n(&mut self, other: &Self, n: usize) {
        self.offsets.extend_n(&other.offsets, n);
        self.valid.extend_n(&other.valid, n);
    }

    pub(crate) fn truncate(&mut self, rows: usize) {
        self.offsets.truncate(rows);
        self.valid.truncate(rows);
    }

    pub(crate) fn clear(&mut self) {
        self.truncate(0);
    }

    pub(crate) fn finish(
        &mut self,
        column: &'static str,
        item: FieldRef,
        values: ArrayRef,
    ) -> Result<ArrayRef, Error> {
        let nulls = self.valid.finish();
        let offsets = self.offsets.finish(column)?;
        Ok(Arc::new(ListArray::try_new(item, offsets, values, nulls)?))
    }

    pub(crate) fn finish_parts(
        &mut self,
        column: &'static str,
    ) -> Result<(OffsetBuffer<i32>, Option<NullBuffer>), Error> {
        let nulls = self.valid.finish();
        Ok((self.offsets.finish(column)?, nulls))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    #[test]
    fn validity_materializes_on_first_null_and_extends() {
        let mut a = Validity::default();
        a.push(true);
        a.push(true);
        let mut b = Validity::default();
        b.push(false);
        b.push(true);
        a.extend_n(&b, 1);
        a.extend_n(&Validity { bits: None, len: 1 }, 3);
        let nulls = a.finish().unwrap();
        let bits: Vec<bool> = nulls.iter().collect();
        assert_eq!(bits, [true, true, false, true, true, true, true]);
    }

    #[test]
    fn bits_keep_their_capacity_after_finish() {
        let mut col = BoolCol::default();
        for i in 0..5000 {
            if i % 3 == 0 {
                col.push_null();
            } else {
                col.push(i % 2 == 0);
            }
        }
        let (values, nulls) = (
            col.values.capacity(),
            col.valid.bits.as_ref().map(|b| b.capacity()),
        );
        let array = col.finish().unwrap();
        assert_eq!((array.len(), array.null_count()), (5000, 1667));
        assert!(col.values.is_empty() && col.values.capacity() >= values);
        let kept = col.valid.bits.as_ref().map(|b| b.capacity());
        assert!(kept >= nulls && nulls.is_some());
    }

    #[test]
    fn all_valid_gives_no_null_buffer() {
        let mut col = PrimCol::<Int64Type>::default();
        col.push(1);
        col.push(2);
        let array = col.finish().unwrap();
        assert!(array.nulls().is_none());
        // The buffer is reusable after finish.
        col.push_null();
        assert_eq!(col.finish().unwrap().null_count(), 1);
    }

    #[test]
    fn strings_extend_and_truncate() {
        let mut a = BytesCol::default();
        a.push(b"ab");
        let mut template = BytesCol::default();
        template.push(b"x");
        template.push_null();
        a.extend_n(&template, 2);
        a.push(b"tail");
        a.truncate(4);
        let array = a.finish_utf8("t").unwrap();
        let strings = array.as_any().downcast_ref::<StringArray>().unwrap();
        let values: Vec<Option<&str>> = strings.iter().collect();
        assert_eq!(values, [Some("ab"), Some("x"), None, Some("x")]);
    }

    #[test]
    fn nulls_not_yet_written_count_and_copy_as_written_ones() {
        let mut numbers = PrimCol::<Int64Type>::default();
        let mut template = PrimCol::<Int64Type>::default();
        template.push(7);
        template.push_null();
        numbers.push_null();
        numbers.push_null();
        assert_eq!(numbers.len(), 2);
        numbers.extend_n(&template, 2);
        numbers.push_null();
        assert_eq!(numbers.len(), 7);
        let array = numbers.finish().unwrap();
        let values: Vec<Option<i64>> = array.as_primitive::<Int64Type>().iter().collect();
        assert_eq!(values, [None, None, Some(7), None, Some(7), None, None]);

        let mut flags = BoolCol::default();
        let mut template = BoolCol::default();
        template.push_null();
        flags.push(true);
        flags.extend_n(&template, 3);
        flags.push(false);
        flags.push_null();
        flags.truncate(5);
        let array = flags.finish().unwrap();
        let values: Vec<Option<bool>> = array.as_boolean().iter().collect();
        assert_eq!(values, [Some(true), None, None, None, Some(false)]);
    }

    #[test]
    fn ids_of_the_wrong_length_are_refused() {
        assert!(IdCol::<8>::check(&[1; 8], "span_id").is_ok());
        assert!(IdCol::<8>::check(&[], "span_id").is_ok());
        assert!(matches!(
            IdCol::<8>::check(&[1; 7], "span_id"),
            Err(Error::InvalidId { actual: 7, .. })
        ));
    }
}
