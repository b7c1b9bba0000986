//! Typed, bounds-checked access to the columns of a decoded table. Everything here
//! treats the batch as untrusted input: a wrong type, a key out of range or an
//! inconsistent parent id is an [`Error`], never a panic.

use std::ops::Range;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, DictionaryArray, FixedSizeBinaryArray,
    ListArray, PrimitiveArray, StringArray, StructArray,
};
use arrow::datatypes::{ArrowPrimitiveType, DataType, UInt8Type, UInt16Type, UInt32Type};
use arrow::record_batch::RecordBatch;

use crate::Error;

/// The tables of one envelope row.
pub(crate) fn tables(
    batch: &RecordBatch,
    row: usize,
    names: &[&'static str],
) -> Result<Vec<StructArray>, Error> {
    let mut out = Vec::with_capacity(names.len());
    for &name in names {
        let column = batch
            .column_by_name(name)
            .ok_or_else(|| Error::MissingColumn(name.to_string()))?;
        let list: &ListArray = column.as_list_opt().ok_or_else(|| Error::ColumnType {
            column: name.to_string(),
            expected: "List<Struct>",
            actual: column.data_type().to_string(),
        })?;
        if row >= list.len() {
            return Err(Error::InvalidData {
                table: name,
                reason: format!("row {row} out of range"),
            });
        }
        let rows: ArrayRef = list.value(row);
        let rows = rows
            .as_struct_opt()
            .ok_or_else(|| Error::ColumnType {
                column: name.to_string(),
                expected: "List<Struct>",
                actual: column.data_type().to_string(),
            })?
            .clone();
        out.push(rows);
    }
    Ok(out)
}

fn column<'a>(t: &'a StructArray, table: &'static str, name: &str) -> Result<&'a ArrayRef, Error> {
    let c = t
        .column_by_name(name)
        .ok_or_else(|| Error::MissingColumn(format!("{table}.{name}")))?;
    if c.len() != t.len() {
        return Err(Error::InvalidData {
            table,
            reason: format!("column {name} has {} rows, table has {}", c.len(), t.len()),
        });
    }
    Ok(c)
}

fn type_error(table: &'static str, name: &str, expected: &'static str, actual: &DataType) -> Error {
    Error::ColumnType {
        column: format!("{table}.{name}"),
        expected,
        actual: actual.to_string(),
    }
}

/// A primitive column; reads of null slots give `None`.
pub(crate) struct Prim<'a, T: ArrowPrimitiveType>(&'a PrimitiveArray<T>);

impl<'a, T: ArrowPrimitiveType> Prim<'a, T> {
    pub(crate) fn new(t: &'a StructArray, table: &'static str, name: &str) -> Result<Self, Error> {
        let c = column(t, table, name)?;
        c.as_primitive_opt::<T>()
            .map(Prim)
            .ok_or_else(|| type_error(table, name, "a primitive type", c.data_type()))
    }
    #[inline]
    pub(crate) fn opt(&self, i: usize) -> Option<T::Native> {
        if i >= self.0.len() || self.0.is_null(i) {
            None
        } else {
            Some(self.0.value(i))
        }
    }
    #[inline]
    pub(crate) fn get(&self, i: usize) -> T::Native {
        self.opt(i).unwrap_or_default()
    }
}

/// A boolean column.
pub(crate) struct Bools<'a>(&'a BooleanArray);

impl<'a> Bools<'a> {
    pub(crate) fn new(t: &'a StructArray, table: &'static str, name: &str) -> Result<Self, Error> {
        let c = column(t, table, name)?;
        c.as_boolean_opt()
            .map(Bools)
            .ok_or_else(|| type_error(table, name, "Boolean", c.data_type()))
    }
    #[inline]
    pub(crate) fn opt(&self, i: usize) -> Option<bool> {
        if i >= self.0.len() || self.0.is_null(i) {
            None
        } else {
            Some(self.0.value(i))
        }
    }
}

/// A fixed-size id column (null means the OTLP field was empty).
pub(crate) struct Ids<'a>(&'a FixedSizeBinaryArray);

impl<'a> Ids<'a> {
    pub(crate) fn new(
        t: &'a StructArray,
        table: &'static str,
        name: &str,
        width: i32,
    ) -> Result<Self, Error> {
        let c = column(t, table, name)?;
        match c.as_fixed_size_binary_opt() {
            Some(a) if a.value_length() == width => Ok(Ids(a)),
            _ => Err(type_error(table, name, "FixedSizeBinary", c.data_type())),
        }
    }
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Vec<u8> {
        if i >= self.0.len() || self.0.is_null(i) {
            Vec::new()
        } else {
            self.0.value(i).to_vec()
        }
    }
}

/// A binary column.
pub(crate) struct Bins<'a>(&'a BinaryArray);

impl<'a> Bins<'a> {
    pub(crate) fn new(t: &'a StructArray, table: &'static str, name: &str) -> Result<Self, Error> {
        let c = column(t, table, name)?;
        c.as_binary_opt::<i32>()
            .map(Bins)
            .ok_or_else(|| type_error(table, name, "Binary", c.data_type()))
    }
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Vec<u8> {
        if i >= self.0.len() || self.0.is_null(i) {
            Vec::new()
        } else {
            self.0.value(i).to_vec()
        }
    }
}

/// A `List<primitive>` column.
pub(crate) struct PrimList<'a, T: ArrowPrimitiveType> {
    list: &'a ListArray,
    values: &'a PrimitiveArray<T>,
}

impl<'a, T: ArrowPrimitiveType> PrimList<'a, T> {
    pub(crate) fn new(t: &'a StructArray, table: &'static str, name: &str) -> Result<Self, Error> {
        let c = column(t, table, name)?;
        let list = c
            .as_list_opt::<i32>()
            .ok_or_else(|| type_error(table, name, "List", c.data_type()))?;
        let values = list
            .values()
            .as_primitive_opt::<T>()
            .ok_or_else(|| type_error(table, name, "List<primitive>", c.data_type()))?;
        Ok(Self { list, values })
    }
    pub(crate) fn get(&self, i: usize) -> Vec<T::Native> {
        if i >= self.list.len() {
            return Vec::new();
        }
        let offsets = self.list.value_offsets();
        let (Some(&start), Some(&end)) = (offsets.get(i), offsets.get(i + 1)) else {
            return Vec::new();
        };
        let (start, end) = (start.max(0) as usize, end.max(0) as usize);
        self.values
            .values()
            .get(start..end)
            .map(<[T::Native]>::to_vec)
            .unwrap_or_default()
    }
}

/// A string column: plain `Utf8` or a dictionary with u8/u16/u32 keys.
pub(crate) enum Strs<'a> {
    Plain(&'a StringArray),
    Dict8(&'a PrimitiveArray<UInt8Type>, &'a StringArray),
    Dict16(&'a PrimitiveArray<UInt16Type>, &'a StringArray),
    Dict32(&'a PrimitiveArray<UInt32Type>, &'a StringArray),
}

fn dict_parts<K: arrow::datatypes::ArrowDictionaryKeyType>(
    d: &DictionaryArray<K>,
) -> Option<(&PrimitiveArray<K>, &StringArray)> {
    Some((d.keys(), d.values().as_string_opt::<i32>()?))
}

impl<'a> Strs<'a> {
    pub(crate) fn new(t: &'a StructArray, table: &'static str, name: &str) -> Result<Self, Error> {
        let c = column(t, table, name)?;
        Self::of(c)
            .ok_or_else(|| type_error(table, name, "Utf8 or Dictionary<_, Utf8>", c.data_type()))
    }

    pub(crate) fn of(c: &'a ArrayRef) -> Option<Self> {
        match c.data_type() {
            DataType::Utf8 => c.as_string_opt::<i32>().map(Strs::Plain),
            DataType::Dictionary(k, _) => match k.as_ref() {
                DataType::UInt8 => {
                    dict_parts(c.as_dictionary_opt::<UInt8Type>()?).map(|(k, v)| Strs::Dict8(k, v))
                }
                DataType::UInt16 => dict_parts(c.as_dictionary_opt::<UInt16Type>()?)
                    .map(|(k, v)| Strs::Dict16(k, v)),
                DataType::UInt32 => dict_parts(c.as_dictionary_opt::<UInt32Type>()?)
                    .map(|(k, v)| Strs::Dict32(k, v)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The string at row `i`; `None` for a null slot.
    pub(crate) fn opt(&self, i: usize) -> Result<Option<&'a str>, Error> {
        fn lookup<'a, K: ArrowPrimitiveType>(
            keys: &PrimitiveArray<K>,
            values: &'a StringArray,
            i: usize,
        ) -> Result<Option<&'a str>, Error>
        where
            K::Native: TryInto<usize>,
        {
            if i >= keys.len() || keys.is_null(i) {
                return Ok(None);
            }
            let key: usize = keys.value(i).try_into().unwrap_or(usize::MAX);
            if key >= values.len() {
                return Err(Error::InvalidData {
                    table: "dictionary",
                    reason: format!("key {key} out of range for {} values", values.len()),
                });
            }
            Ok(Some(values.value(key)))
        }
        match self {
            Strs::Plain(a) => Ok((i < a.len() && !a.is_null(i)).then(|| a.value(i))),
            Strs::Dict8(k, v) => lookup(k, v, i),
            Strs::Dict16(k, v) => lookup(k, v, i),
            Strs::Dict32(k, v) => lookup(k, v, i),
        }
    }

    /// The string at row `i`, `""` for null.
    pub(crate) fn get(&self, i: usize) -> Result<String, Error> {
        Ok(self.opt(i)?.unwrap_or_default().to_owned())
    }
}

/// A `List<Utf8>` column.
pub(crate) struct StrList<'a> {
    list: &'a ListArray,
    items: Strs<'a>,
}

impl<'a> StrList<'a> {
    pub(crate) fn new(t: &'a StructArray, table: &'static str, name: &str) -> Result<Self, Error> {
        let c = column(t, table, name)?;
        let list = c
            .as_list_opt::<i32>()
            .ok_or_else(|| type_error(table, name, "List<Utf8>", c.data_type()))?;
        let items = Strs::of(list.values())
            .ok_or_else(|| type_error(table, name, "List<Utf8>", c.data_type()))?;
        Ok(Self { list, items })
    }
    pub(crate) fn get(&self, i: usize) -> Result<Vec<String>, Error> {
        let offsets = self.list.value_offsets();
        let (Some(&start), Some(&end)) = (offsets.get(i), offsets.get(i + 1)) else {
            return Ok(Vec::new());
        };
        (start.max(0) as usize..end.max(0) as usize)
            .map(|j| self.items.get(j))
            .collect()
    }
}

/// Rows of a child table grouped by their (delta-encoded) parent id. Parents are
/// visited in ascending order and each takes the run of rows that points at it.
pub(crate) struct Groups {
    table: &'static str,
    parents: Vec<u32>,
    pos: usize,
}

impl Groups {
    pub(crate) fn new(t: &StructArray, table: &'static str) -> Result<Self, Error> {
        let deltas = Prim::<UInt32Type>::new(t, table, "parent_id")?;
        let mut parents = Vec::with_capacity(t.len());
        let mut current: u32 = 0;
        for i in 0..t.len() {
            current = current
                .checked_add(deltas.get(i))
                .ok_or_else(|| Error::InvalidData {
                    table,
                    reason: format!("parent id overflows at row {i}"),
                })?;
            parents.push(current);
        }
        Ok(Self {
            table,
            parents,
            pos: 0,
        })
    }

    /// The rows of `parent`. Parents must be asked for in ascending order.
    pub(crate) fn take(&mut self, parent: u32) -> Range<usize> {
        let start = self.pos;
        while self.parents.get(self.pos) == Some(&parent) {
            self.pos += 1;
        }
        start..self.pos
    }

    /// Fails if some rows point at a parent that does not exist.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.pos == self.parents.len() {
            Ok(())
        } else {
            Err(Error::InvalidData {
                table: self.table,
                reason: format!(
                    "{} rows reference a missing or out-of-order parent (first: parent id {})",
                    self.parents.len() - self.pos,
                    self.parents.get(self.pos).copied().unwrap_or_default()
                ),
            })
        }
    }
}

/// Converts a row count to the u32 ids used in the layout.
pub(crate) fn row_id(i: usize, table: &'static str) -> Result<u32, Error> {
    u32::try_from(i).map_err(|_| Error::InvalidData {
        table,
        reason: "more than u32::MAX rows".into(),
    })
}
