//! Column builders that write straight into `Vec`s (handed to Arrow without a copy) and
//! the string dictionary interner behind every dictionary-encoded column.

use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow::array::builder::{BooleanBufferBuilder, NullBufferBuilder};
use arrow::array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, FixedSizeBinaryArray, ListArray,
    PrimitiveArray, StringArray, StructArray,
};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Field, FieldRef, Fields, SchemaRef, UInt8Type, UInt16Type,
};

use crate::Error;

/// How string columns are dictionary-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DictMode {
    /// Fresh dictionaries per batch; key width chosen from the batch's cardinality
    /// (u8, then u16, then a plain `Utf8` column).
    Adaptive,
    /// Dictionaries persist across batches and only grow, so an IPC writer sends each
    /// string once and later batches as delta dictionaries. Keys are always u16 so the
    /// schema stays fixed for the whole stream.
    Persistent,
}

/// FxHash: string keys here are short and attacker-controlled strings only cost us
/// time proportional to their own length, so DoS-resistant SipHash buys nothing.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ (rest.len() as u64) << 56);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// Distinct strings of one column, in first-seen order (so a persistent dictionary only
/// ever grows at its end, which is what an IPC delta dictionary is).
///
/// The hash table holds only ids: a string's bytes live once, in the dictionary buffer
/// that becomes the Arrow values array, so interning a new string allocates nothing
/// beyond that buffer's growth.
#[derive(Default)]
pub(crate) struct Interner {
    table: hashbrown::HashTable<(u64, u32)>,
    /// Starts with 0 once the first string is in; `offsets[id]..offsets[id + 1]`.
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    too_large: bool,
    /// The array [`values`](Self::values) last made, while no string was added since:
    /// handing arrow-ipc the very same buffers lets its dictionary tracker see "unchanged"
    /// by pointer instead of copying and comparing the whole dictionary every batch.
    published: Option<StringArray>,
}

#[inline]
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(bytes);
    // The multiply leaves its best-mixed bits at the top; hashbrown picks buckets with
    // the low bits, so bring them down (as rustc-hash 2 does).
    hasher.finish().rotate_left(26)
}

impl Interner {
    #[inline]
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        let hash = hash_bytes(s.as_bytes());
        let (offsets, bytes) = (&self.offsets, &self.bytes);
        let found = self.table.find(hash, |&(stored, id)| {
            stored == hash && slice_of(offsets, bytes, id) == s.as_bytes()
        });
        if let Some(&(_, id)) = found {
            return id;
        }
        self.insert_new(hash, s)
    }

    /// [`intern`](Self::intern) that first tries `predicted`, the id this string had the last
    /// time it was met in the same place; a hit costs one comparison and no hashing.
    #[inline]
    pub(crate) fn intern_predicted(&mut self, s: &str, predicted: u32) -> u32 {
        if (predicted as usize) < self.len() && self.value(predicted) == s.as_bytes() {
            return predicted;
        }
        self.intern(s)
    }

    #[cold]
    fn insert_new(&mut self, hash: u64, s: &str) -> u32 {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        let id = u32::try_from(self.table.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(s.as_bytes());
        match i32::try_from(self.bytes.len()) {
            Ok(end) => self.offsets.push(end),
            Err(_) => {
                self.too_large = true;
                self.offsets.push(i32::MAX);
            }
        }
        self.table
            .insert_unique(hash, (hash, id), |&(stored, _)| stored);
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    fn clear(&mut self) {
        self.table.clear();
        self.offsets.clear();
        self.bytes.clear();
        self.too_large = false;
        self.published = None;
    }

    fn check_size(&self, column: &'static str) -> Result<(), Error> {
        if self.too_large {
            return Err(Error::DictionaryOverflow {
                column,
                limit: i32::MAX as usize,
            });
        }
        Ok(())
    }

    /// The dictionary as an Arrow array, keeping it for the batches that follow.
    fn values(&mut self, column: &'static str) -> Result<StringArray, Error> {
        self.check_size(column)?;
        if let Some(published) = self.published.as_ref().filter(|p| p.len() == self.len()) {
            return Ok(published.clone());
        }
        let offsets = if self.offsets.is_empty() {
            vec![0]
        } else {
            self.offsets.clone()
        };
        let values = StringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from_slice_ref(&self.bytes),
            None,
        )?;
        self.published = Some(values.clone());
        Ok(values)
    }

    /// The dictionary as an Arrow array without a copy; the interner starts empty again.
    fn take_values(&mut self, column: &'static str) -> Result<StringArray, Error> {
        self.check_size(column)?;
        let mut offsets = std::mem::take(&mut self.offsets);
        if offsets.is_empty() {
            offsets.push(0);
        }
        let bytes = std::mem::take(&mut self.bytes);
        // Size the next batch's buffers like this one's instead of growing them again.
        self.offsets.reserve(offsets.len());
        self.bytes.reserve(bytes.len());
        self.table.clear();
        self.published = None;
        Ok(StringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from_vec(bytes),
            None,
        )?)
    }

    fn value(&self, id: u32) -> &[u8] {
        slice_of(&self.offsets, &self.bytes, id)
    }
}

#[inline]
fn slice_of<'a>(offsets: &[i32], bytes: &'a [u8], id: u32) -> &'a [u8] {
    let i = id as usize;
    match (offsets.get(i), offsets.get(i + 1)) {
        (Some(&start), Some(&end)) => bytes.get(start as usize..end as usize).unwrap_or(&[]),
        _ => &[],
    }
}

/// Hands `vec`'s rows over (to become an Arrow buffer without a copy) and leaves it empty
/// with the same capacity, so the next batch of a similar size does not grow it again
/// step by step.
pub(crate) fn take_sized<T>(vec: &mut Vec<T>) -> Vec<T> {
    let len = vec.len();
    std::mem::replace(vec, Vec::with_capacity(len))
}

/// The validity of `nulls` reordered by `perm`.
fn permute_nulls(nulls: &NullBufferBuilder, perm: &[u32]) -> NullBufferBuilder {
    let mut out = NullBufferBuilder::new(perm.len());
    for &row in perm {
        out.append(nulls.is_valid(row as usize));
    }
    out
}

/// A string column, dictionary-encoded according to [`DictMode`].
pub(crate) struct StrCol {
    name: &'static str,
    nullable: bool,
    interner: Interner,
    keys: Vec<u32>,
    nulls: NullBufferBuilder,
}

impl StrCol {
    pub(crate) fn new(name: &'static str, nullable: bool) -> Self {
        Self {
            name,
            nullable,
            interner: Interner::default(),
            keys: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.keys.reserve(additional);
    }

    #[inline]
    pub(crate) fn push(&mut self, s: &str) {
        let id = self.interner.intern(s);
        self.keys.push(id);
        self.nulls.append_non_null();
    }

    /// Adds a row of `s`, trying `predicted` before the hash lookup (see
    /// [`Interner::intern_predicted`]); returns its dictionary id.
    #[inline]
    pub(crate) fn push_predicted(&mut self, s: &str, predicted: u32) -> u32 {
        let id = self.interner.intern_predicted(s, predicted);
        self.keys.push(id);
        self.nulls.append_non_null();
        id
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
        self.keys.push(0);
        self.nulls.append_null();
    }

    /// Forget rows pushed since the last finish (after a failed encode).
    pub(crate) fn discard_rows(&mut self) {
        self.keys.clear();
        self.nulls = NullBufferBuilder::new(0);
    }

    /// The dictionary id of each row (0 for null rows).
    pub(crate) fn ids(&self) -> &[u32] {
        &self.keys
    }

    /// Reorders the rows: row `i` becomes the old row `perm[i]`.
    pub(crate) fn permute(&mut self, perm: &[u32]) {
        self.keys = perm
            .iter()
            .map(|&r| self.keys.get(r as usize).copied().unwrap_or(0))
            .collect();
        self.nulls = permute_nulls(&self.nulls, perm);
    }

    /// Forget the dictionary too (start of a new IPC stream).
    pub(crate) fn reset(&mut self) {
        self.discard_rows();
        self.interner.clear();
    }

    pub(crate) fn finish(&mut self, mode: DictMode, out: &mut Table) -> Result<(), Error> {
        let keys = take_sized(&mut self.keys);
        let nulls = self.nulls.finish();
        self.finish_keys(mode, keys, nulls, out)
    }

    /// The dictionary id of `s`, without adding a row (for columns whose rows are
    /// assembled at [`finish_keys`](Self::finish_keys)).
    #[inline]
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        self.interner.intern(s)
    }

    /// [`Interner::intern_predicted`] of this column's dictionary.
    #[inline]
    pub(crate) fn intern_predicted(&mut self, s: &str, predicted: u32) -> u32 {
        self.interner.intern_predicted(s, predicted)
    }

    /// Finishes the column from keys the caller assembled (0 under null rows).
    pub(crate) fn finish_keys(
        &mut self,
        mode: DictMode,
        keys: Vec<u32>,
        nulls: Option<arrow::buffer::NullBuffer>,
        out: &mut Table,
    ) -> Result<(), Error> {
        let cardinality = self.interner.len();
        let array: ArrayRef = match mode {
            DictMode::Persistent => {
                if cardinality > usize::from(u16::MAX) + 1 {
                    return Err(Error::DictionaryOverflow {
                        column: self.name,
                        limit: usize::from(u16::MAX) + 1,
                    });
                }
                dict_array::<UInt16Type>(&keys, nulls, self.interner.values(self.name)?)?
            }
            DictMode::Adaptive => {
                if cardinality <= usize::from(u8::MAX) + 1 {
                    let values = self.interner.take_values(self.name)?;
                    dict_array::<UInt8Type>(&keys, nulls, values)?
                } else if cardinality <= usize::from(u16::MAX) + 1 {
                    let values = self.interner.take_values(self.name)?;
                    dict_array::<UInt16Type>(&keys, nulls, values)?
                } else {
                    let array = self.plain(&keys, nulls)?;
                    self.interner.clear();
                    array
                }
            }
        };
        out.add(self.name, self.nullable, array);
        Ok(())
    }

    fn plain(
        &self,
        keys: &[u32],
        nulls: Option<arrow::buffer::NullBuffer>,
    ) -> Result<ArrayRef, Error> {
        let mut offsets = Vec::with_capacity(keys.len() + 1);
        offsets.push(0i32);
        let mut bytes = Vec::new();
        for (row, &key) in keys.iter().enumerate() {
            if nulls.as_ref().is_none_or(|n| n.is_valid(row)) {
                bytes.extend_from_slice(self.interner.value(key));
            }
            let end = i32::try_from(bytes.len()).map_err(|_| Error::DictionaryOverflow {
                column: self.name,
                limit: i32::MAX as usize,
            })?;
            offsets.push(end);
        }
        Ok(Arc::new(StringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from_vec(bytes),
            nulls,
        )?))
    }
}

fn dict_array<K>(
    keys: &[u32],
    nulls: Option<arrow::buffer::NullBuffer>,
    values: StringArray,
) -> Result<ArrayRef, Error>
where
    K: arrow::datatypes::ArrowDictionaryKeyType,
    K::Native: TryFrom<u32> + Default,
{
    // Cardinality was checked by the caller, so the conversion cannot fail; a default
    // key would still be in range.
    let narrow: Vec<K::Native> = keys
        .iter()
        .map(|&k| K::Native::try_from(k).unwrap_or_default())
        .collect();
    let keys = PrimitiveArray::<K>::new(ScalarBuffer::from(narrow), nulls);
    Ok(Arc::new(DictionaryArray::<K>::try_new(
        keys,
        Arc::new(values),
    )?))
}

/// A primitive column backed by a `Vec`.
pub(crate) struct PrimCol<T: ArrowPrimitiveType> {
    name: &'static str,
    nullable: bool,
    values: Vec<T::Native>,
    nulls: NullBufferBuilder,
}

impl<T: ArrowPrimitiveType> PrimCol<T> {
    pub(crate) fn new(name: &'static str, nullable: bool) -> Self {
        Self {
            name,
            nullable,
            values: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional);
    }

    #[inline]
    pub(crate) fn push(&mut self, v: T::Native) {
        self.values.push(v);
        self.nulls.append_non_null();
    }

    #[inline]
    pub(crate) fn push_opt(&mut self, v: Option<T::Native>) {
        match v {
            Some(v) => self.push(v),
            None => {
                self.values.push(T::Native::default());
                self.nulls.append_null();
            }
        }
    }

    pub(crate) fn discard_rows(&mut self) {
        self.values.clear();
        self.nulls = NullBufferBuilder::new(0);
    }

    pub(crate) fn finish(&mut self, out: &mut Table) {
        let values = take_sized(&mut self.values);
        let array = PrimitiveArray::<T>::new(ScalarBuffer::from(values), self.nulls.finish());
        out.add(self.name, self.nullable, Arc::new(array));
    }
}

/// Parent ids stored as the difference to the previous row's parent id. Rows are
/// appended parent by parent, so the deltas are runs of 0 with a 1 at each new parent:
/// a column that compresses to almost nothing.
pub(crate) struct ParentCol {
    last: u32,
    col: PrimCol<arrow::datatypes::UInt32Type>,
}

impl ParentCol {
    pub(crate) fn new() -> Self {
        Self {
            last: 0,
            col: PrimCol::new("parent_id", false),
        }
    }
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.col.reserve(additional);
    }
    #[inline]
    pub(crate) fn push(&mut self, parent: u32) {
        // Parents are visited in ascending order by construction.
        self.col.push(parent.wrapping_sub(self.last));
        self.last = parent;
    }
    pub(crate) fn discard_rows(&mut self) {
        self.last = 0;
        self.col.discard_rows();
    }
    pub(crate) fn finish(&mut self, out: &mut Table) {
        self.last = 0;
        self.col.finish(out);
    }
}

/// The `parent_id` column of rows whose parents are `parents`: each the difference to
/// the previous row's parent (wrapping, the first row against 0), as [`ParentCol`] writes it.
pub(crate) fn parent_deltas(parents: &[u32]) -> Vec<u32> {
    let mut last = 0u32;
    parents
        .iter()
        .map(|&parent| {
            let delta = parent.wrapping_sub(last);
            last = parent;
            delta
        })
        .collect()
}

/// A boolean column.
pub(crate) struct BoolCol {
    name: &'static str,
    nullable: bool,
    values: BooleanBufferBuilder,
    nulls: NullBufferBuilder,
}

impl BoolCol {
    pub(crate) fn new(name: &'static str, nullable: bool) -> Self {
        Self {
            name,
            nullable,
            values: BooleanBufferBuilder::new(0),
            nulls: NullBufferBuilder::new(0),
        }
    }
    #[inline]
    pub(crate) fn push_opt(&mut self, v: Option<bool>) {
        self.values.append(v.unwrap_or(false));
        self.nulls.append(v.is_some());
    }
    #[inline]
    pub(crate) fn push(&mut self, v: bool) {
        self.push_opt(Some(v));
    }
    pub(crate) fn discard_rows(&mut self) {
        self.values = BooleanBufferBuilder::new(0);
        self.nulls = NullBufferBuilder::new(0);
    }
    pub(crate) fn finish(&mut self, out: &mut Table) {
        let array = BooleanArray::new(self.values.finish(), self.nulls.finish());
        out.add(self.name, self.nullable, Arc::new(array));
    }
}

/// Trace and span ids: fixed-size binary, null where the OTLP field is empty.
pub(crate) struct IdCol {
    name: &'static str,
    width: usize,
    bytes: Vec<u8>,
    nulls: NullBufferBuilder,
}

impl IdCol {
    pub(crate) fn new(name: &'static str, width: usize) -> Self {
        Self {
            name,
            width,
            bytes: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.bytes.reserve(additional * self.width);
    }
    #[inline]
    pub(crate) fn push(&mut self, id: &[u8]) -> Result<(), Error> {
        if id.is_empty() {
            self.bytes.resize(self.bytes.len() + self.width, 0);
            self.nulls.append_null();
        } else if id.len() == self.width {
            self.bytes.extend_from_slice(id);
            self.nulls.append_non_null();
        } else {
            return Err(Error::InvalidId {
                field: self.name,
                expected: self.width,
                actual: id.len(),
            });
        }
        Ok(())
    }
    /// The id at `row`, `None` if it was empty.
    pub(crate) fn get(&self, row: usize) -> Option<&[u8]> {
        if !self.nulls.is_valid(row) {
            return None;
        }
        self.bytes.get(row * self.width..(row + 1) * self.width)
    }
    pub(crate) fn len(&self) -> usize {
        self.nulls.len()
    }
    pub(crate) fn discard_rows(&mut self) {
        self.bytes.clear();
        self.nulls = NullBufferBuilder::new(0);
    }
    pub(crate) fn finish(&mut self, out: &mut Table) -> Result<(), Error> {
        let bytes = take_sized(&mut self.bytes);
        let width = i32::try_from(self.width).unwrap_or(i32::MAX);
        let array =
            FixedSizeBinaryArray::try_new(width, Buffer::from_vec(bytes), self.nulls.finish())?;
        out.add(self.name, true, Arc::new(array));
        Ok(())
    }
}

/// A `List<primitive>` column (histogram buckets and bounds, summary quantiles).
pub(crate) struct ListCol<T: ArrowPrimitiveType> {
    name: &'static str,
    offsets: Vec<i32>,
    values: Vec<T::Native>,
}

impl<T: ArrowPrimitiveType> ListCol<T> {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            offsets: vec![0],
            values: Vec::new(),
        }
    }
    pub(crate) fn push<I: IntoIterator<Item = T::Native>>(&mut self, items: I) {
        self.values.extend(items);
        self.offsets
            .push(i32::try_from(self.values.len()).unwrap_or(i32::MAX));
    }
    pub(crate) fn discard_rows(&mut self) {
        self.offsets.clear();
        self.offsets.push(0);
        self.values.clear();
    }
    pub(crate) fn finish(&mut self, out: &mut Table) -> Result<(), Error> {
        if self.values.len() > i32::MAX as usize {
            return Err(Error::DictionaryOverflow {
                column: self.name,
                limit: i32::MAX as usize,
            });
        }
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let values = take_sized(&mut self.values);
        let item = Arc::new(Field::new("item", T::DATA_TYPE, false));
        let array = ListArray::try_new(
            item,
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(values), None)),
            None,
        )?;
        out.add(self.name, false, Arc::new(array));
        Ok(())
    }
}

/// A `List<Utf8>` column (entity ref keys).
pub(crate) struct StrListCol {
    name: &'static str,
    offsets: Vec<i32>,
    items: StrCol,
}

impl StrListCol {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            offsets: vec![0],
            items: StrCol::new("item", false),
        }
    }
    pub(crate) fn push(&mut self, items: &[String]) {
        for item in items {
            self.items.push(item);
        }
        self.offsets
            .push(i32::try_from(self.items.keys.len()).unwrap_or(i32::MAX));
    }
    pub(crate) fn discard_rows(&mut self) {
        self.offsets.clear();
        self.offsets.push(0);
        self.items.discard_rows();
    }
    pub(crate) fn reset(&mut self) {
        self.discard_rows();
        self.items.reset();
    }
    pub(crate) fn finish(&mut self, mode: DictMode, out: &mut Table) -> Result<(), Error> {
        let mut inner = Table::default();
        self.items.finish(mode, &mut inner)?;
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let Some((name, nullable, values)) = inner.columns.pop() else {
            return Err(Error::InvalidData {
                table: "entity_refs",
                reason: "list item column missing".into(),
            });
        };
        let field = Field::new(name, values.data_type().clone(), nullable);
        let array = ListArray::try_new(
            Arc::new(field),
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            values,
            None,
        )?;
        out.add(self.name, false, Arc::new(array));
        Ok(())
    }
}

/// The columns of one table, in schema order.
#[derive(Default)]
pub(crate) struct Table {
    columns: Vec<(&'static str, bool, ArrayRef)>,
}

impl Table {
    /// Adds a primitive column (`nulls`: its validity, `None` when every row is valid).
    pub(crate) fn add_primitive<T: ArrowPrimitiveType>(
        &mut self,
        name: &'static str,
        nullable: bool,
        values: Vec<T::Native>,
        nulls: Option<arrow::buffer::NullBuffer>,
    ) {
        let array = PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls);
        self.add(name, nullable, Arc::new(array));
    }

    pub(crate) fn add(&mut self, name: &'static str, nullable: bool, array: ArrayRef) {
        self.columns.push((name, nullable, array));
    }

    pub(crate) fn append(&mut self, other: Table) {
        self.columns.extend(other.columns);
    }

    /// The table as a struct array. Its fields are `template`'s when they describe the
    /// same columns (the previous batch's, usually): a schema is hundreds of small
    /// allocations, which cost more than the data of a small batch.
    pub(crate) fn into_struct(self, template: Option<&Fields>) -> Result<StructArray, Error> {
        let same = |fields: &&Fields| {
            fields.len() == self.columns.len()
                && fields
                    .iter()
                    .zip(&self.columns)
                    .all(|(field, (name, nullable, array))| {
                        field.name() == name
                            && field.is_nullable() == *nullable
                            && field.data_type() == array.data_type()
                    })
        };
        let fields = match template.filter(same) {
            Some(fields) => fields.clone(),
            None => self
                .columns
                .iter()
                .map(|(name, nullable, array)| {
                    Field::new(*name, array.data_type().clone(), *nullable)
                })
                .collect(),
        };
        let arrays = self
            .columns
            .into_iter()
            .map(|(_, _, array)| array)
            .collect();
        Ok(StructArray::try_new(fields, arrays, None)?)
    }
}

/// One record batch row holding every table of one OTLP request as a `List<Struct>`.
/// `schema` is the previous batch's schema, reused where the columns did not change,
/// and becomes this batch's.
pub(crate) fn envelope(
    signal: crate::Signal,
    tables: Vec<(&'static str, Table)>,
    schema: &mut Option<SchemaRef>,
) -> Result<arrow::record_batch::RecordBatch, Error> {
    let previous = schema
        .take()
        .filter(|previous| previous.fields().len() == tables.len());
    let mut fields: Vec<FieldRef> = Vec::with_capacity(tables.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(tables.len());
    let mut reused_all = previous.is_some();
    for (i, (name, table)) in tables.into_iter().enumerate() {
        let old = previous
            .as_ref()
            .and_then(|p| p.fields().get(i))
            .filter(|field| field.name() == name);
        let old_item = old.and_then(|field| match field.data_type() {
            DataType::List(item) => Some(item),
            _ => None,
        });
        let old_fields = old_item.and_then(|item| match item.data_type() {
            DataType::Struct(fields) => Some(fields),
            _ => None,
        });
        let rows = table.into_struct(old_fields)?;
        let (item, field) = match (old, old_item) {
            (Some(field), Some(item)) if item.data_type() == rows.data_type() => {
                (item.clone(), field.clone())
            }
            _ => {
                reused_all = false;
                let item = Arc::new(Field::new("item", rows.data_type().clone(), false));
                let field = Arc::new(Field::new(name, DataType::List(item.clone()), false));
                (item, field)
            }
        };
        let list = ListArray::try_new(
            item,
            OffsetBuffer::from_lengths([rows.len()]),
            Arc::new(rows),
            None,
        )?;
        fields.push(field);
        columns.push(Arc::new(list));
    }
    let batch_schema = match previous {
        Some(previous) if reused_all => previous,
        _ => Arc::new(
            arrow::datatypes::Schema::new(fields).with_metadata(crate::schema_metadata(signal)),
        ),
    };
    let batch = arrow::record_batch::RecordBatch::try_new(batch_schema.clone(), columns)?;
    *schema = Some(batch_schema);
    Ok(batch)
}
