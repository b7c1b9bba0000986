//! Tables every signal shares: resources, entity refs, scopes, attributes and the
//! `values` table holding the elements of nested arrays and maps.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::{Array, BinaryArray, BooleanArray, StructArray};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{Float64Type, Int32Type, Int64Type, UInt8Type, UInt32Type};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::Error;
use crate::columns::{
    BoolCol, DictMode, ParentCol, PrimCol, StrCol, StrListCol, Table, parent_deltas, take_sized,
};
use crate::read::{Bins, Bools, Groups, Prim, StrList, Strs, row_id};

/// `type` column codes of a value.
pub(crate) mod kind {
    /// `KeyValue.value` (or a log body) is absent.
    pub const ABSENT: u8 = 0;
    /// An `AnyValue` with no value set.
    pub const EMPTY: u8 = 1;
    pub const STRING: u8 = 2;
    pub const BOOL: u8 = 3;
    pub const INT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const BYTES: u8 = 6;
    pub const ARRAY: u8 = 7;
    pub const KVLIST: u8 = 8;
    /// `string_value_strindex` (profiles dictionary reference), stored in `int`.
    pub const STRINDEX: u8 = 9;
}

/// Per-kind value columns, in schema order after `type`.
mod column {
    pub const STR: usize = 0;
    /// Ints and string indexes.
    pub const INT: usize = 1;
    pub const DOUBLE: usize = 2;
    pub const BOOL: usize = 3;
    pub const BYTES: usize = 4;
    /// Arrays and maps.
    pub const CONTAINER: usize = 5;
}
const KINDS: usize = 6;

/// Per type code, the per-kind column that holds its value; [`KINDS`] (no column) for
/// absent and empty values. A table, because `finish` looks it up for every row of
/// every column, and a `match` there cost more than the rest of `finish`.
const KIND_COLUMN: [u8; 256] = {
    let mut table = [KINDS as u8; 256];
    table[kind::STRING as usize] = column::STR as u8;
    table[kind::INT as usize] = column::INT as u8;
    table[kind::STRINDEX as usize] = column::INT as u8;
    table[kind::DOUBLE as usize] = column::DOUBLE as u8;
    table[kind::BOOL as usize] = column::BOOL as u8;
    table[kind::BYTES as usize] = column::BYTES as u8;
    table[kind::ARRAY as usize] = column::CONTAINER as u8;
    table[kind::KVLIST as usize] = column::CONTAINER as u8;
    table
};

/// Deepest nesting of arrays/maps accepted when decoding (protobuf decoders stop at 100).
pub const MAX_NESTING: usize = 100;

enum Container<'a> {
    Array(&'a [AnyValue]),
    Map(&'a [KeyValue]),
}

/// Arrays and maps met while encoding, written to the `values` table breadth-first so
/// that each container's elements are contiguous and container ids ascend.
#[derive(Default)]
pub(crate) struct Nested<'a> {
    next: u32,
    queue: VecDeque<(u32, Container<'a>)>,
}

impl<'a> Nested<'a> {
    fn push(&mut self, c: Container<'a>) -> u32 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.queue.push_back((id, c));
        id
    }
}

/// The columns of one `AnyValue`: a type code and one column per kind.
///
/// Only the column of a row's type holds a value, the others are null. Rows are
/// collected as (type, 64-bit payload) and the per-kind columns with their validity are
/// made in bulk at `finish`: pushing a null into six columns for every value cost more
/// than the rest of the conversion.
pub(crate) struct ValueCols {
    names: [&'static str; 7],
    ty: Vec<u8>,
    /// By type: the string's dictionary id, the int (as bits), the double's bits, the
    /// bool, the index into `byte_values`, or the container id.
    payload: Vec<u64>,
    str: StrCol,
    /// `byte_values` holds `BytesValue`s back to back; the payload of a bytes row is its
    /// index in `byte_ends`.
    byte_values: Vec<u8>,
    byte_ends: Vec<usize>,
    /// Per attribute key id: the dictionary id of the string value the key had last,
    /// which is the value again more often than not (`http.request.method = GET`).
    last_string_of_key: Vec<u32>,
}

impl ValueCols {
    pub(crate) fn new(names: [&'static str; 7]) -> Self {
        Self {
            names,
            ty: Vec::new(),
            payload: Vec::new(),
            str: StrCol::new(names[1], true),
            byte_values: Vec::new(),
            byte_ends: Vec::new(),
            last_string_of_key: Vec::new(),
        }
    }

    pub(crate) fn plain() -> Self {
        Self::new(["type", "str", "int", "double", "bool", "bytes", "container"])
    }

    pub(crate) fn reserve(&mut self, n: usize) {
        self.ty.reserve(n);
        self.payload.reserve(n);
    }

    #[inline]
    pub(crate) fn push<'a>(&mut self, v: Option<&'a AnyValue>, nested: &mut Nested<'a>) {
        self.push_keyed(v, nested, None);
    }

    /// [`push`](Self::push) for the value of attribute key `key` (a dictionary id of the
    /// key column), which lets a repeated string value skip the hash lookup.
    #[inline]
    pub(crate) fn push_keyed<'a>(
        &mut self,
        v: Option<&'a AnyValue>,
        nested: &mut Nested<'a>,
        key: Option<u32>,
    ) {
        use any_value::Value;
        let (ty, payload) = match v {
            None => (kind::ABSENT, 0),
            Some(AnyValue { value: None }) => (kind::EMPTY, 0),
            Some(AnyValue { value: Some(v) }) => match v {
                Value::StringValue(s) => (kind::STRING, u64::from(self.intern_value(s, key))),
                Value::BoolValue(b) => (kind::BOOL, u64::from(*b)),
                Value::IntValue(i) => (kind::INT, *i as u64),
                Value::DoubleValue(d) => (kind::DOUBLE, d.to_bits()),
                Value::BytesValue(b) => {
                    self.byte_values.extend_from_slice(b);
                    self.byte_ends.push(self.byte_values.len());
                    (kind::BYTES, (self.byte_ends.len() - 1) as u64)
                }
                Value::StringValueStrindex(i) => (kind::STRINDEX, i64::from(*i) as u64),
                Value::ArrayValue(a) => (
                    kind::ARRAY,
                    u64::from(nested.push(Container::Array(&a.values))),
                ),
                Value::KvlistValue(m) => (
                    kind::KVLIST,
                    u64::from(nested.push(Container::Map(&m.values))),
                ),
            },
        };
        self.ty.push(ty);
        self.payload.push(payload);
    }

    #[inline]
    fn intern_value(&mut self, s: &str, key: Option<u32>) -> u32 {
        let Some(key) = key else {
            return self.str.intern(s);
        };
        let slot = key as usize;
        if slot >= self.last_string_of_key.len() {
            self.last_string_of_key.resize(slot + 1, u32::MAX);
        }
        let predicted = self
            .last_string_of_key
            .get(slot)
            .copied()
            .unwrap_or(u32::MAX);
        let id = self.str.intern_predicted(s, predicted);
        if let Some(last) = self.last_string_of_key.get_mut(slot) {
            *last = id;
        }
        id
    }

    /// Reorders the rows: row `i` becomes the old row `perm[i]`.
    fn permute(&mut self, perm: &[u32]) {
        let (ty, payload) = perm
            .iter()
            .map(|&r| {
                let r = r as usize;
                (
                    self.ty.get(r).copied().unwrap_or_default(),
                    self.payload.get(r).copied().unwrap_or_default(),
                )
            })
            .unzip();
        self.ty = ty;
        self.payload = payload;
    }

    /// What sorts equal values together: type code, then a 64-bit image of the value
    /// (dictionary id for strings).
    fn sort_key(&self, row: usize) -> (u8, u64) {
        (
            self.ty.get(row).copied().unwrap_or_default(),
            self.payload.get(row).copied().unwrap_or_default(),
        )
    }

    pub(crate) fn discard_rows(&mut self) {
        self.ty.clear();
        self.payload.clear();
        self.byte_values.clear();
        self.byte_ends.clear();
    }

    pub(crate) fn reset(&mut self) {
        self.discard_rows();
        self.str.reset();
        self.last_string_of_key.clear();
    }

    /// The validity of each per-kind column (the order of [`column`]), from one pass over
    /// the type codes; `None` where every row is of that kind.
    fn validities(&self) -> [Option<NullBuffer>; KINDS] {
        let rows = self.ty.len();
        let mut words: [Vec<u64>; KINDS] = std::array::from_fn(|_| vec![0u64; rows.div_ceil(64)]);
        for (w, chunk) in self.ty.chunks(64).enumerate() {
            // One slot more than there are columns, for the rows that have none.
            let mut masks = [0u64; KINDS + 1];
            for (bit, &t) in chunk.iter().enumerate() {
                masks[usize::from(KIND_COLUMN[usize::from(t)])] |= 1 << bit;
            }
            for (column, mask) in masks.into_iter().take(KINDS).enumerate() {
                if let Some(word) = words[column].get_mut(w) {
                    *word = mask;
                }
            }
        }
        words.map(|words| {
            let valid = BooleanBuffer::new(Buffer::from_vec(words), 0, rows);
            Some(NullBuffer::new(valid)).filter(|nulls| nulls.null_count() > 0)
        })
    }

    /// The payloads of the rows whose kind goes to per-kind column `column`, 0 elsewhere.
    fn payloads(&self, column: usize) -> impl Iterator<Item = u64> + '_ {
        self.ty.iter().zip(&self.payload).map(move |(&t, &p)| {
            // Branch-free, so that the loop vectorizes.
            let keep = u64::from(usize::from(KIND_COLUMN[usize::from(t)]) == column);
            p & keep.wrapping_neg()
        })
    }

    pub(crate) fn finish(&mut self, mode: DictMode, out: &mut Table) -> Result<(), Error> {
        let [
            ty_name,
            _,
            int_name,
            double_name,
            bool_name,
            bytes_name,
            container_name,
        ] = self.names;

        let keys: Vec<u32> = self.payloads(column::STR).map(|p| p as u32).collect();
        let [
            str_nulls,
            int_nulls,
            double_nulls,
            bool_nulls,
            bytes_nulls,
            container_nulls,
        ] = self.validities();

        let ints: Vec<i64> = self.payloads(column::INT).map(|p| p as i64).collect();
        let doubles: Vec<f64> = self.payloads(column::DOUBLE).map(f64::from_bits).collect();
        let containers: Vec<u32> = self.payloads(column::CONTAINER).map(|p| p as u32).collect();
        let bools = {
            let (ty, payload) = (&self.ty, &self.payload);
            BooleanBuffer::collect_bool(ty.len(), |i| {
                ty.get(i).is_some_and(|&t| t == kind::BOOL)
                    && payload.get(i).is_some_and(|&p| p != 0)
            })
        };

        let mut bytes = Vec::new();
        let offsets = if self.byte_ends.is_empty() {
            vec![0i32; self.ty.len() + 1]
        } else {
            let mut offsets = Vec::with_capacity(self.ty.len() + 1);
            offsets.push(0i32);
            for (&t, &p) in self.ty.iter().zip(&self.payload) {
                if t == kind::BYTES {
                    let i = p as usize;
                    let start = i
                        .checked_sub(1)
                        .and_then(|j| self.byte_ends.get(j))
                        .copied();
                    let range = start.unwrap_or(0)..self.byte_ends.get(i).copied().unwrap_or(0);
                    bytes.extend_from_slice(self.byte_values.get(range).unwrap_or(&[]));
                }
                let end = i32::try_from(bytes.len()).map_err(|_| Error::DictionaryOverflow {
                    column: bytes_name,
                    limit: i32::MAX as usize,
                })?;
                offsets.push(end);
            }
            offsets
        };

        let ty = take_sized(&mut self.ty);
        out.add_primitive::<UInt8Type>(ty_name, false, ty, None);
        self.str.finish_keys(mode, keys, str_nulls, out)?;
        out.add_primitive::<Int64Type>(int_name, true, ints, int_nulls);
        out.add_primitive::<Float64Type>(double_name, true, doubles, double_nulls);
        out.add(
            bool_name,
            true,
            Arc::new(BooleanArray::new(bools, bool_nulls)),
        );
        out.add(
            bytes_name,
            true,
            Arc::new(BinaryArray::try_new(
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                Buffer::from_vec(bytes),
                bytes_nulls,
            )?),
        );
        out.add_primitive::<UInt32Type>(container_name, true, containers, container_nulls);
        self.payload.clear();
        self.byte_values.clear();
        self.byte_ends.clear();
        Ok(())
    }
}

/// Read side of [`ValueCols`].
pub(crate) struct ValueReader<'a> {
    ty: Prim<'a, UInt8Type>,
    str: Strs<'a>,
    int: Prim<'a, Int64Type>,
    double: Prim<'a, Float64Type>,
    bool: Bools<'a>,
    bytes: Bins<'a>,
    container: Prim<'a, UInt32Type>,
}

impl<'a> ValueReader<'a> {
    pub(crate) fn new(
        t: &'a StructArray,
        table: &'static str,
        names: [&'static str; 7],
    ) -> Result<Self, Error> {
        Ok(Self {
            ty: Prim::new(t, table, names[0])?,
            str: Strs::new(t, table, names[1])?,
            int: Prim::new(t, table, names[2])?,
            double: Prim::new(t, table, names[3])?,
            bool: Bools::new(t, table, names[4])?,
            bytes: Bins::new(t, table, names[5])?,
            container: Prim::new(t, table, names[6])?,
        })
    }

    pub(crate) fn plain(t: &'a StructArray, table: &'static str) -> Result<Self, Error> {
        Self::new(
            t,
            table,
            ["type", "str", "int", "double", "bool", "bytes", "container"],
        )
    }

    /// The value at row `i`. `parent_container` is the container this row belongs to
    /// (None for top-level values): a nested container must have a larger id, which
    /// rules out cycles in hostile input.
    pub(crate) fn get(
        &self,
        i: usize,
        values: &NestedReader<'_>,
        parent_container: Option<u32>,
        depth: usize,
    ) -> Result<Option<AnyValue>, Error> {
        use any_value::Value;
        let value = match self.ty.get(i) {
            kind::ABSENT => return Ok(None),
            kind::EMPTY => None,
            kind::STRING => Some(Value::StringValue(self.str.get(i)?)),
            kind::BOOL => Some(Value::BoolValue(self.bool.opt(i).unwrap_or_default())),
            kind::INT => Some(Value::IntValue(self.int.get(i))),
            kind::DOUBLE => Some(Value::DoubleValue(self.double.get(i))),
            kind::BYTES => Some(Value::BytesValue(self.bytes.get(i))),
            kind::STRINDEX => Some(Value::StringValueStrindex(
                i32::try_from(self.int.get(i)).map_err(|_| Error::InvalidData {
                    table: "values",
                    reason: format!("string index {} out of i32 range", self.int.get(i)),
                })?,
            )),
            k @ (kind::ARRAY | kind::KVLIST) => {
                let Some(id) = self.container.opt(i) else {
                    return Err(Error::InvalidData {
                        table: "values",
                        reason: format!("row {i} is an array/map without a container id"),
                    });
                };
                if parent_container.is_some_and(|p| id <= p) {
                    return Err(Error::InvalidData {
                        table: "values",
                        reason: format!("container {id} is nested in itself or a later container"),
                    });
                }
                if depth >= MAX_NESTING {
                    return Err(Error::NestingTooDeep(MAX_NESTING));
                }
                if k == kind::ARRAY {
                    Some(Value::ArrayValue(ArrayValue {
                        values: values.array(id, depth + 1)?,
                    }))
                } else {
                    Some(Value::KvlistValue(KeyValueList {
                        values: values.map(id, depth + 1)?,
                    }))
                }
            }
            other => {
                return Err(Error::InvalidData {
                    table: "values",
                    reason: format!("unknown value type code {other} at row {i}"),
                });
            }
        };
        Ok(Some(AnyValue { value }))
    }
}

/// An attribute table: `parent_id`, `index`, `key`, `key_strindex` and the value
/// columns.
///
/// With persistent dictionaries (IPC writer, Flight client) rows are sorted by key,
/// then value, then parent, so each column holds long runs of one key and of equal
/// values, and `parent_id` (delta-encoded in that order) small steps. `index` keeps each
/// attribute's position within its parent, which restores the original order; SDKs
/// emit a key at the same position every time, so it is a run too.
pub(crate) struct AttrTable {
    parents: Vec<u32>,
    key: StrCol,
    /// `next_key[k + 1]`: the key id that followed key id `k` last time (`next_key[0]`:
    /// the first key of a list). SDKs write a span kind's attributes in the same order
    /// every time, so this guesses most keys without hashing them.
    next_key: Vec<u32>,
    /// (row, value) of the rows whose `key_strindex` is not 0: only profiles set it.
    key_strindexes: Vec<(u32, i32)>,
    value: ValueCols,
}

impl AttrTable {
    pub(crate) fn new() -> Self {
        Self {
            parents: Vec::new(),
            key: StrCol::new("key", false),
            next_key: Vec::new(),
            key_strindexes: Vec::new(),
            value: ValueCols::plain(),
        }
    }

    pub(crate) fn reserve(&mut self, n: usize) {
        self.parents.reserve(n);
        self.key.reserve(n);
        self.value.reserve(n);
    }

    #[inline]
    pub(crate) fn push<'a>(&mut self, parent: u32, kvs: &'a [KeyValue], nested: &mut Nested<'a>) {
        let mut slot = 0usize;
        for kv in kvs {
            if kv.key_strindex != 0 {
                let row = u32::try_from(self.parents.len()).unwrap_or(u32::MAX);
                self.key_strindexes.push((row, kv.key_strindex));
            }
            self.parents.push(parent);
            let predicted = self.next_key.get(slot).copied().unwrap_or(u32::MAX);
            let key = self.key.push_predicted(&kv.key, predicted);
            if predicted != key {
                if slot >= self.next_key.len() {
                    self.next_key.resize(slot + 1, u32::MAX);
                }
                if let Some(next) = self.next_key.get_mut(slot) {
                    *next = key;
                }
            }
            slot = key as usize + 1;
            self.value.push_keyed(kv.value.as_ref(), nested, Some(key));
        }
    }

    pub(crate) fn discard_rows(&mut self) {
        self.parents.clear();
        self.key.discard_rows();
        self.key_strindexes.clear();
        self.value.discard_rows();
    }

    pub(crate) fn reset(&mut self) {
        self.discard_rows();
        self.key.reset();
        self.next_key.clear();
        self.value.reset();
    }

    /// The rows in (key, value, parent) order: row `i` of the sorted table is the old
    /// row `sorted_rows()[i]`.
    ///
    /// Rows arrive with their parents ascending, so a *stable* sort by key and value
    /// leaves each run of equal values in parent order. A counting sort by key id (ids
    /// are dense and few) followed by a stable sort of each key's rows by value does that
    /// in a fraction of a comparison sort over the whole table.
    fn sorted_rows(&self) -> Vec<u32> {
        let keys = self.key.ids();
        let key_count = keys.iter().max().map_or(0, |&max| max as usize + 1);
        let mut starts = vec![0usize; key_count + 1];
        for &key in keys {
            if let Some(count) = starts.get_mut(key as usize + 1) {
                *count += 1;
            }
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut order = vec![(0u128, 0u32); keys.len()];
        for (row, &key) in keys.iter().enumerate() {
            let (ty, payload) = self.value.sort_key(row);
            if let Some(slot) = next.get_mut(key as usize)
                && let Some(entry) = order.get_mut(*slot)
            {
                *entry = ((u128::from(ty) << 64) | u128::from(payload), row as u32);
                *slot += 1;
            }
        }
        for bounds in starts.windows(2) {
            if let Some(group) = order.get_mut(bounds[0]..bounds[1]) {
                group.sort_by_key(|&(value, _)| value);
            }
        }
        order.into_iter().map(|(_, row)| row).collect()
    }

    pub(crate) fn finish(&mut self, mode: DictMode) -> Result<Table, Error> {
        let rows = self.parents.len();
        // A row's position within its parent's list: rows come parent by parent.
        let mut index = Vec::with_capacity(rows);
        let mut previous = None;
        let mut next = 0u32;
        for &parent in &self.parents {
            if previous != Some(parent) {
                previous = Some(parent);
                next = 0;
            }
            index.push(next);
            next = next.wrapping_add(1);
        }
        let mut key_strindex = vec![0i32; rows];
        for &(row, value) in &self.key_strindexes {
            if let Some(slot) = key_strindex.get_mut(row as usize) {
                *slot = value;
            }
        }
        self.key_strindexes.clear();

        // Sorting costs more than the rest of the conversion, so only the IPC writer
        // and the Flight client (persistent dictionaries: data at rest or on the
        // wire) pay it; a standalone conversion keeps the request's order.
        let parents = if mode == DictMode::Persistent {
            let perm = self.sorted_rows();
            index = permuted(&index, &perm);
            key_strindex = permuted(&key_strindex, &perm);
            self.key.permute(&perm);
            self.value.permute(&perm);
            let parents = permuted(&self.parents, &perm);
            self.parents.clear();
            parents
        } else {
            take_sized(&mut self.parents)
        };

        let mut t = Table::default();
        t.add_primitive::<UInt32Type>("parent_id", false, parent_deltas(&parents), None);
        t.add_primitive::<UInt32Type>("index", false, index, None);
        self.key.finish(mode, &mut t)?;
        t.add_primitive::<Int32Type>("key_strindex", false, key_strindex, None);
        self.value.finish(mode, &mut t)?;
        Ok(t)
    }
}

/// `values` reordered so that row `i` is the old row `perm[i]`.
fn permuted<T: Copy + Default>(values: &[T], perm: &[u32]) -> Vec<T> {
    perm.iter()
        .map(|&row| values.get(row as usize).copied().unwrap_or_default())
        .collect()
}

/// Read side of [`AttrTable`]: rows regrouped by parent and put back in order.
pub(crate) struct AttrReader<'a> {
    table: &'static str,
    /// (parent, index, row), sorted.
    order: Vec<(u32, u32, u32)>,
    pos: usize,
    key: Strs<'a>,
    key_strindex: Prim<'a, Int32Type>,
    value: ValueReader<'a>,
}

impl<'a> AttrReader<'a> {
    pub(crate) fn new(t: &'a StructArray, table: &'static str) -> Result<Self, Error> {
        let deltas = Prim::<UInt32Type>::new(t, table, "parent_id")?;
        let index = Prim::<UInt32Type>::new(t, table, "index")?;
        let mut parent: u32 = 0;
        let mut order = Vec::with_capacity(t.len());
        for row in 0..t.len() {
            // Sorted by key first, so parents go down at each new key: wrapping deltas.
            parent = parent.wrapping_add(deltas.get(row));
            order.push((parent, index.get(row), row_id(row, table)?));
        }
        order.sort_unstable();
        Ok(Self {
            table,
            order,
            pos: 0,
            key: Strs::new(t, table, "key")?,
            key_strindex: Prim::new(t, table, "key_strindex")?,
            value: ValueReader::plain(t, table)?,
        })
    }

    /// Attributes of `parent` (parents asked in ascending order).
    pub(crate) fn take(
        &mut self,
        parent: u32,
        values: &NestedReader<'_>,
    ) -> Result<Vec<KeyValue>, Error> {
        let start = self.pos;
        while self.order.get(self.pos).is_some_and(|o| o.0 == parent) {
            self.pos += 1;
        }
        let rows = self.order.get(start..self.pos).unwrap_or_default();
        let mut out = Vec::with_capacity(rows.len());
        for &(_, _, row) in rows {
            let i = row as usize;
            out.push(KeyValue {
                key: self.key.get(i)?,
                value: self.value.get(i, values, None, 0)?,
                key_strindex: self.key_strindex.get(i),
            });
        }
        Ok(out)
    }

    pub(crate) fn finish(&self) -> Result<(), Error> {
        match self.order.get(self.pos) {
            None => Ok(()),
            Some(&(parent, _, _)) => Err(Error::InvalidData {
                table: self.table,
                reason: format!(
                    "{} rows reference a missing parent (first: parent id {parent})",
                    self.order.len() - self.pos
                ),
            }),
        }
    }
}

/// The `values` table: elements of arrays and maps, keyed by container id.
pub(crate) struct NestedTable {
    parent: ParentCol,
    key: StrCol,
    key_strindex: PrimCol<Int32Type>,
    value: ValueCols,
}

impl NestedTable {
    pub(crate) fn new() -> Self {
        Self {
            parent: ParentCol::new(),
            key: StrCol::new("key", true),
            key_strindex: PrimCol::new("key_strindex", false),
            value: ValueCols::plain(),
        }
    }

    /// Writes every queued container (and the containers they contain).
    pub(crate) fn drain<'a>(&mut self, nested: &mut Nested<'a>) {
        while let Some((id, container)) = nested.queue.pop_front() {
            match container {
                Container::Array(items) => {
                    for item in items {
                        self.parent.push(id);
                        self.key.push_null();
                        self.key_strindex.push(0);
                        self.value.push(Some(item), nested);
                    }
                }
                Container::Map(kvs) => {
                    for kv in kvs {
                        self.parent.push(id);
                        self.key.push(&kv.key);
                        self.key_strindex.push(kv.key_strindex);
                        self.value.push(kv.value.as_ref(), nested);
                    }
                }
            }
        }
        nested.next = 0;
    }

    pub(crate) fn discard_rows(&mut self) {
        self.parent.discard_rows();
        self.key.discard_rows();
        self.key_strindex.discard_rows();
        self.value.discard_rows();
    }

    pub(crate) fn reset(&mut self) {
        self.discard_rows();
        self.key.reset();
        self.value.reset();
    }

    pub(crate) fn finish(&mut self, mode: DictMode) -> Result<Table, Error> {
        let mut t = Table::default();
        self.parent.finish(&mut t);
        self.key.finish(mode, &mut t)?;
        self.key_strindex.finish(&mut t);
        self.value.finish(mode, &mut t)?;
        Ok(t)
    }
}

/// Read side of [`NestedTable`]: container id -> its rows.
pub(crate) struct NestedReader<'a> {
    /// (container id, first row, end row) for every non-empty container, ascending.
    ranges: Vec<(u32, usize, usize)>,
    /// Whether each range was already decoded: a container referenced twice would let
    /// hostile input blow up exponentially with nesting.
    used: Vec<std::cell::Cell<bool>>,
    key: Strs<'a>,
    key_strindex: Prim<'a, Int32Type>,
    value: ValueReader<'a>,
}

impl<'a> NestedReader<'a> {
    pub(crate) fn new(t: &'a StructArray) -> Result<Self, Error> {
        let table = "values";
        let deltas = Prim::<UInt32Type>::new(t, table, "parent_id")?;
        let mut ranges: Vec<(u32, usize, usize)> = Vec::new();
        let mut current: u32 = 0;
        for i in 0..t.len() {
            current = current
                .checked_add(deltas.get(i))
                .ok_or_else(|| Error::InvalidData {
                    table,
                    reason: format!("container id overflows at row {i}"),
                })?;
            match ranges.last_mut() {
                Some(last) if last.0 == current => last.2 = i + 1,
                _ => ranges.push((current, i, i + 1)),
            }
        }
        let used = vec![std::cell::Cell::new(false); ranges.len()];
        Ok(Self {
            ranges,
            used,
            key: Strs::new(t, table, "key")?,
            key_strindex: Prim::new(t, table, "key_strindex")?,
            value: ValueReader::plain(t, table)?,
        })
    }

    fn rows(&self, id: u32) -> Result<std::ops::Range<usize>, Error> {
        let Ok(pos) = self.ranges.binary_search_by_key(&id, |r| r.0) else {
            return Ok(0..0);
        };
        if let Some(used) = self.used.get(pos)
            && used.replace(true)
        {
            return Err(Error::InvalidData {
                table: "values",
                reason: format!("container {id} is referenced more than once"),
            });
        }
        Ok(self.ranges.get(pos).map_or(0..0, |r| r.1..r.2))
    }

    fn array(&self, id: u32, depth: usize) -> Result<Vec<AnyValue>, Error> {
        let rows = self.rows(id)?;
        let mut out = Vec::with_capacity(rows.len());
        for i in rows {
            out.push(
                self.value
                    .get(i, self, Some(id), depth)?
                    .unwrap_or(AnyValue { value: None }),
            );
        }
        Ok(out)
    }

    fn map(&self, id: u32, depth: usize) -> Result<Vec<KeyValue>, Error> {
        let rows = self.rows(id)?;
        let mut out = Vec::with_capacity(rows.len());
        for i in rows {
            out.push(KeyValue {
                key: self.key.get(i)?,
                value: self.value.get(i, self, Some(id), depth)?,
                key_strindex: self.key_strindex.get(i),
            });
        }
        Ok(out)
    }
}

/// Resources, their entity refs and attributes, scopes and their attributes.
pub(crate) struct CommonTables {
    res_present: BoolCol,
    res_schema_url: StrCol,
    res_dropped: PrimCol<UInt32Type>,
    entity_parent: ParentCol,
    entity_schema_url: StrCol,
    entity_type: StrCol,
    entity_id_keys: StrListCol,
    entity_description_keys: StrListCol,
    pub(crate) resource_attrs: AttrTable,
    scope_parent: ParentCol,
    scope_present: BoolCol,
    scope_name: StrCol,
    scope_version: StrCol,
    scope_dropped: PrimCol<UInt32Type>,
    scope_schema_url: StrCol,
    pub(crate) scope_attrs: AttrTable,
    pub(crate) values: NestedTable,
    resources: u32,
    scopes: u32,
}

/// Table names shared by all signals, in envelope order.
pub(crate) const COMMON_TABLES: [&str; 6] = [
    "resources",
    "entity_refs",
    "resource_attrs",
    "scopes",
    "scope_attrs",
    "values",
];

impl CommonTables {
    pub(crate) fn new() -> Self {
        Self {
            res_present: BoolCol::new("present", false),
            res_schema_url: StrCol::new("schema_url", false),
            res_dropped: PrimCol::new("dropped_attributes_count", false),
            entity_parent: ParentCol::new(),
            entity_schema_url: StrCol::new("schema_url", false),
            entity_type: StrCol::new("type", false),
            entity_id_keys: StrListCol::new("id_keys"),
            entity_description_keys: StrListCol::new("description_keys"),
            resource_attrs: AttrTable::new(),
            scope_parent: ParentCol::new(),
            scope_present: BoolCol::new("present", false),
            scope_name: StrCol::new("name", false),
            scope_version: StrCol::new("version", false),
            scope_dropped: PrimCol::new("dropped_attributes_count", false),
            scope_schema_url: StrCol::new("schema_url", false),
            scope_attrs: AttrTable::new(),
            values: NestedTable::new(),
            resources: 0,
            scopes: 0,
        }
    }

    /// Adds a resource; returns its id.
    pub(crate) fn push_resource<'a>(
        &mut self,
        resource: Option<&'a Resource>,
        schema_url: &str,
        nested: &mut Nested<'a>,
    ) -> u32 {
        let id = self.resources;
        self.resources += 1;
        self.res_present.push(resource.is_some());
        self.res_schema_url.push(schema_url);
        self.res_dropped
            .push(resource.map_or(0, |r| r.dropped_attributes_count));
        if let Some(r) = resource {
            self.resource_attrs.push(id, &r.attributes, nested);
            for e in &r.entity_refs {
                self.push_entity(id, e);
            }
        }
        id
    }

    fn push_entity(&mut self, parent: u32, e: &EntityRef) {
        self.entity_parent.push(parent);
        self.entity_schema_url.push(&e.schema_url);
        self.entity_type.push(&e.r#type);
        self.entity_id_keys.push(&e.id_keys);
        self.entity_description_keys.push(&e.description_keys);
    }

    /// Adds a scope of `resource`; returns its id.
    pub(crate) fn push_scope<'a>(
        &mut self,
        resource: u32,
        scope: Option<&'a InstrumentationScope>,
        schema_url: &str,
        nested: &mut Nested<'a>,
    ) -> u32 {
        let id = self.scopes;
        self.scopes += 1;
        self.scope_parent.push(resource);
        self.scope_present.push(scope.is_some());
        self.scope_name.push(scope.map_or("", |s| s.name.as_str()));
        self.scope_version
            .push(scope.map_or("", |s| s.version.as_str()));
        self.scope_dropped
            .push(scope.map_or(0, |s| s.dropped_attributes_count));
        self.scope_schema_url.push(schema_url);
        if let Some(s) = scope {
            self.scope_attrs.push(id, &s.attributes, nested);
        }
        id
    }

    pub(crate) fn discard_rows(&mut self) {
        self.res_present.discard_rows();
        self.res_schema_url.discard_rows();
        self.res_dropped.discard_rows();
        self.entity_parent.discard_rows();
        self.entity_schema_url.discard_rows();
        self.entity_type.discard_rows();
        self.entity_id_keys.discard_rows();
        self.entity_description_keys.discard_rows();
        self.resource_attrs.discard_rows();
        self.scope_parent.discard_rows();
        self.scope_present.discard_rows();
        self.scope_name.discard_rows();
        self.scope_version.discard_rows();
        self.scope_dropped.discard_rows();
        self.scope_schema_url.discard_rows();
        self.scope_attrs.discard_rows();
        self.values.discard_rows();
        self.resources = 0;
        self.scopes = 0;
    }

    pub(crate) fn reset(&mut self) {
        self.discard_rows();
        self.res_schema_url.reset();
        self.entity_schema_url.reset();
        self.entity_type.reset();
        self.entity_id_keys.reset();
        self.entity_description_keys.reset();
        self.resource_attrs.reset();
        self.scope_name.reset();
        self.scope_version.reset();
        self.scope_schema_url.reset();
        self.scope_attrs.reset();
        self.values.reset();
    }

    /// The six shared tables, in [`COMMON_TABLES`] order.
    pub(crate) fn finish(&mut self, mode: DictMode) -> Result<Vec<(&'static str, Table)>, Error> {
        let mut resources = Table::default();
        self.res_present.finish(&mut resources);
        self.res_schema_url.finish(mode, &mut resources)?;
        self.res_dropped.finish(&mut resources);

        let mut entities = Table::default();
        self.entity_parent.finish(&mut entities);
        self.entity_schema_url.finish(mode, &mut entities)?;
        self.entity_type.finish(mode, &mut entities)?;
        self.entity_id_keys.finish(mode, &mut entities)?;
        self.entity_description_keys.finish(mode, &mut entities)?;

        let mut scopes = Table::default();
        self.scope_parent.finish(&mut scopes);
        self.scope_present.finish(&mut scopes);
        self.scope_name.finish(mode, &mut scopes)?;
        self.scope_version.finish(mode, &mut scopes)?;
        self.scope_dropped.finish(&mut scopes);
        self.scope_schema_url.finish(mode, &mut scopes)?;

        self.resources = 0;
        self.scopes = 0;
        Ok(vec![
            ("resources", resources),
            ("entity_refs", entities),
            ("resource_attrs", self.resource_attrs.finish(mode)?),
            ("scopes", scopes),
            ("scope_attrs", self.scope_attrs.finish(mode)?),
            ("values", self.values.finish(mode)?),
        ])
    }
}

/// A decoded resource with its schema URL (which lives on the `Resource*` message).
pub(crate) struct DecodedResource {
    pub(crate) resource: Option<Resource>,
    pub(crate) schema_url: String,
}

/// A decoded scope, with its resource id and schema URL.
pub(crate) struct DecodedScope {
    pub(crate) resource: u32,
    pub(crate) scope: Option<InstrumentationScope>,
    pub(crate) schema_url: String,
}

/// Decodes the shared tables. `tables` holds them in [`COMMON_TABLES`] order.
pub(crate) fn decode_common<'a>(
    tables: &'a [StructArray],
) -> Result<(Vec<DecodedResource>, Vec<DecodedScope>, NestedReader<'a>), Error> {
    let [
        resources,
        entities,
        resource_attrs,
        scopes,
        scope_attrs,
        values,
    ] = tables
    else {
        return Err(Error::InvalidData {
            table: "envelope",
            reason: "missing shared tables".into(),
        });
    };
    let values = NestedReader::new(values)?;

    let present = Bools::new(resources, "resources", "present")?;
    let schema_url = Strs::new(resources, "resources", "schema_url")?;
    let dropped = Prim::<UInt32Type>::new(resources, "resources", "dropped_attributes_count")?;
    let mut attrs = AttrReader::new(resource_attrs, "resource_attrs")?;
    let mut entity_groups = Groups::new(entities, "entity_refs")?;
    let e_schema = Strs::new(entities, "entity_refs", "schema_url")?;
    let e_type = Strs::new(entities, "entity_refs", "type")?;
    let e_ids = StrList::new(entities, "entity_refs", "id_keys")?;
    let e_desc = StrList::new(entities, "entity_refs", "description_keys")?;
    let mut out_resources = Vec::with_capacity(resources.len());
    for i in 0..resources.len() {
        let id = row_id(i, "resources")?;
        let attributes = attrs.take(id, &values)?;
        let mut entity_refs = Vec::new();
        for e in entity_groups.take(id) {
            entity_refs.push(EntityRef {
                schema_url: e_schema.get(e)?,
                r#type: e_type.get(e)?,
                id_keys: e_ids.get(e)?,
                description_keys: e_desc.get(e)?,
            });
        }
        let resource = if present.opt(i).unwrap_or(false) {
            Some(Resource {
                attributes,
                dropped_attributes_count: dropped.get(i),
                entity_refs,
            })
        } else {
            None
        };
        out_resources.push(DecodedResource {
            resource,
            schema_url: schema_url.get(i)?,
        });
    }
    attrs.finish()?;
    entity_groups.finish()?;

    let mut parents = Groups::new(scopes, "scopes")?;
    let present = Bools::new(scopes, "scopes", "present")?;
    let name = Strs::new(scopes, "scopes", "name")?;
    let version = Strs::new(scopes, "scopes", "version")?;
    let dropped = Prim::<UInt32Type>::new(scopes, "scopes", "dropped_attributes_count")?;
    let schema_url = Strs::new(scopes, "scopes", "schema_url")?;
    let mut attrs = AttrReader::new(scope_attrs, "scope_attrs")?;
    let mut out_scopes = Vec::with_capacity(scopes.len());
    for r in 0..out_resources.len() {
        let resource = row_id(r, "resources")?;
        for i in parents.take(resource) {
            let id = row_id(i, "scopes")?;
            let attributes = attrs.take(id, &values)?;
            let scope = if present.opt(i).unwrap_or(false) {
                Some(InstrumentationScope {
                    name: name.get(i)?,
                    version: version.get(i)?,
                    attributes,
                    dropped_attributes_count: dropped.get(i),
                })
            } else {
                None
            };
            out_scopes.push(DecodedScope {
                resource,
                scope,
                schema_url: schema_url.get(i)?,
            });
        }
    }
    parents.finish()?;
    attrs.finish()?;
    Ok((out_resources, out_scopes, values))
}
