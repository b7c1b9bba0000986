//! Attribute maps and `AnyValue`s in flat rows: `Map<Utf8, Struct<typed value>>`.
//!
//! A value is a struct with one nullable field per `AnyValue` kind: `str`, `int`,
//! `double`, `bool`, `bytes`, and `json` for what has no column of its own (arrays,
//! key-value lists, the empty value, `string_value_strindex`) as OTLP/JSON text. At most
//! one field is set; none set means the `KeyValue` had no value at all. The rare
//! attribute with a `key_strindex` (a profiles string table reference) keeps it in
//! `json` too, as the OTLP/JSON of the `KeyValue` less its key
//! (`{"keyStrindex":3,"value":{"stringValue":"GET"}}`), so no column is spent on it. The
//! map keeps every entry in the order sent, duplicates included (DuckDB's
//! `attributes['k']` then answers the first).

use std::sync::{Arc, OnceLock};

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Float64Array, Int64Array, MapArray,
    StringArray, StructArray,
};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, Int64Type};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};

use super::columns::{BoolCol, BytesCol, ListCol, PrimCol, Validity};
use super::json;
use crate::Error;

/// Field names of a flat value struct.
pub(crate) mod field {
    pub(crate) const STR: &str = "str";
    pub(crate) const INT: &str = "int";
    pub(crate) const DOUBLE: &str = "double";
    pub(crate) const BOOL: &str = "bool";
    pub(crate) const BYTES: &str = "bytes";
    pub(crate) const JSON: &str = "json";
    pub(crate) const KEY: &str = "key";
    pub(crate) const VALUE: &str = "value";
    pub(crate) const ENTRIES: &str = "key_value";
}

/// One `AnyValue` (or its absence) as a builder takes it, borrowed from wherever the
/// caller decoded it: a prost message, or protobuf bytes walked in place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// `KeyValue.value` (or a log record's `body`) not set at all.
    Absent,
    /// An `AnyValue` with none of its fields set (OTLP's empty value).
    Empty,
    /// `string_value`.
    Str(&'a str),
    /// `bool_value`.
    Bool(bool),
    /// `int_value`.
    Int(i64),
    /// `double_value`.
    Double(f64),
    /// `bytes_value`.
    Bytes(&'a [u8]),
    /// `string_value_strindex` (profiles' string table).
    StrIndex(i32),
    /// `array_value`, stored as OTLP/JSON text.
    Array(&'a ArrayValue),
    /// `kvlist_value`, stored as OTLP/JSON text.
    Kvlist(&'a KeyValueList),
    /// `array_value` or `kvlist_value` already written as OTLP/JSON text, by the reader of encoded requests.
    Json(NestedJson<'a>),
}

/// The OTLP/JSON text of an array or key-value list value, as this crate writes it. Only this crate makes one,
/// so a value column's `json` holds only text its readers parse back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NestedJson<'a>(&'a str);

impl<'a> NestedJson<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        NestedJson(text)
    }

    /// The text.
    pub fn text(&self) -> &'a str {
        self.0
    }
}

impl<'a> ValueRef<'a> {
    /// The value of an optional `AnyValue`, as prost decodes it.
    pub fn of(value: Option<&'a AnyValue>) -> Self {
        let Some(value) = value else {
            return ValueRef::Absent;
        };
        match &value.value {
            None => ValueRef::Empty,
            Some(Value::StringValue(s)) => ValueRef::Str(s),
            Some(Value::BoolValue(b)) => ValueRef::Bool(*b),
            Some(Value::IntValue(i)) => ValueRef::Int(*i),
            Some(Value::DoubleValue(d)) => ValueRef::Double(*d),
            Some(Value::BytesValue(b)) => ValueRef::Bytes(b),
            Some(Value::StringValueStrindex(i)) => ValueRef::StrIndex(*i),
            Some(Value::ArrayValue(a)) => ValueRef::Array(a),
            Some(Value::KvlistValue(l)) => ValueRef::Kvlist(l),
        }
    }
}

/// The fields of a value struct. Built once and shared (`Fields` is reference-counted): every batch's finish
/// needs them for each attribute column, and building them is a dozen small allocations each time.
pub(crate) fn value_fields() -> Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS
        .get_or_init(|| {
            Fields::from(vec![
                Field::new(field::STR, DataType::Utf8, true),
                Field::new(field::INT, DataType::Int64, true),
                Field::new(field::DOUBLE, DataType::Float64, true),
                Field::new(field::BOOL, DataType::Boolean, true),
                Field::new(field::BYTES, DataType::Binary, true),
                Field::new(field::JSON, DataType::Utf8, true),
            ])
        })
        .clone()
}

/// The map entries field of an attributes column, built once as [`value_fields`] is.
pub(crate) fn entries_field() -> FieldRef {
    static FIELD: OnceLock<FieldRef> = OnceLock::new();
    FIELD
        .get_or_init(|| {
            Arc::new(Field::new(
                field::ENTRIES,
                DataType::Struct(Fields::from(vec![
                    Field::new(field::KEY, DataType::Utf8, false),
                    Field::new(field::VALUE, DataType::Struct(value_fields()), false),
                ])),
                false,
            ))
        })
        .clone()
}

/// `Map<Utf8, Struct<str, int, double, bool, bytes, json>>`.
pub(crate) fn attributes_type() -> DataType {
    DataType::Map(entries_field(), false)
}

/// The typed fields of values being built.
#[derive(Debug, Default)]
pub(crate) struct ValueCols {
    keyed: bool,
    str: BytesCol,
    int: PrimCol<Int64Type>,
    double: PrimCol<Float64Type>,
    bool: BoolCol,
    bytes: BytesCol,
    json: BytesCol,
    /// The struct's own validity: null for an absent log body.
    valid: Validity,
    scratch: String,
}

/// Which typed field a value goes to.
enum Slot<'a> {
    None,
    Str(&'a [u8]),
    Int(i64),
    Double(f64),
    Bool(bool),
    Bytes(&'a [u8]),
    Json,
}

impl ValueCols {
    pub(crate) fn new(keyed: bool) -> Self {
        Self {
            keyed,
            ..Self::default()
        }
    }

    /// Appends a value; nothing is appended when it fails (a value nested too deep).
    pub(crate) fn push(&mut self, value: ValueRef<'_>, key_strindex: i32) -> Result<(), Error> {
        let slot = if self.keyed && key_strindex != 0 {
            self.scratch.clear();
            json::write_keyed(&mut self.scratch, value, key_strindex)?;
            Slot::Json
        } else {
            self.slot(value)?
        };
        self.push_slot(slot);
        Ok(())
    }

    fn slot<'v>(&mut self, value: ValueRef<'v>) -> Result<Slot<'v>, Error> {
        Ok(match value {
            ValueRef::Absent => Slot::None,
            ValueRef::Str(s) => Slot::Str(s.as_bytes()),
            ValueRef::Int(i) => Slot::Int(i),
            ValueRef::Double(d) => Slot::Double(d),
            ValueRef::Bool(b) => Slot::Bool(b),
            ValueRef::Bytes(b) => Slot::Bytes(b),
            ValueRef::Empty => {
                self.scratch.clear();
                self.scratch.push_str("{}");
                Slot::Json
            }
            ValueRef::StrIndex(i) => {
                self.scratch.clear();
                self.scratch.push_str("{\"stringValueStrindex\":");
                self.scratch.push_str(&i.to_string());
                self.scratch.push('}');
                Slot::Json
            }
            ValueRef::Array(a) => {
                self.scratch.clear();
                json::write_array(&mut self.scratch, a, 0)?;
                Slot::Json
            }
            ValueRef::Kvlist(l) => {
                self.scratch.clear();
                json::write_kvlist(&mut self.scratch, l, 0)?;
                Slot::Json
            }
            ValueRef::Json(json) => {
                self.scratch.clear();
                self.scratch.push_str(json.text());
                Slot::Json
            }
        })
    }

    #[inline]
    fn push_slot(&mut self, slot: Slot<'_>) {
        match slot {
            Slot::Str(s) => self.str.push(s),
            _ => self.str.push_null(),
        }
        match slot {
            Slot::Int(i) => self.int.push(i),
            _ => self.int.push_null(),
        }
        match slot {
            Slot::Double(d) => self.double.push(d),
            _ => self.double.push_null(),
        }
        match slot {
            Slot::Bool(b) => self.bool.push(b),
            _ => self.bool.push_null(),
        }
        match slot {
            Slot::Bytes(b) => self.bytes.push(b),
            _ => self.bytes.push_null(),
        }
        match slot {
            Slot::Json => self.json.push(self.scratch.as_bytes()),
            _ => self.json.push_null(),
        }
        self.valid.push(true);
    }

    /// Appends a null struct (an absent log body).
    pub(crate) fn push_null(&mut self) {
        self.str.push_null();
        self.int.push_null();
        self.double.push_null();
        self.bool.push_null();
        self.bytes.push_null();
        self.json.push_null();
        self.valid.push(false);
    }

    /// Appends `other` `n` times.
    pub(crate) fn extend_n(&mut self, other: &Self, n: usize) {
        self.str.extend_n(&other.str, n);
        self.int.extend_n(&other.int, n);
        self.double.extend_n(&other.double, n);
        self.bool.extend_n(&other.bool, n);
        self.bytes.extend_n(&other.bytes, n);
        self.json.extend_n(&other.json, n);
        self.valid.extend_n(&other.valid, n);
    }

    pub(crate) fn truncate(&mut self, rows: usize) {
        self.str.truncate(rows);
        self.int.truncate(rows);
        self.double.truncate(rows);
        self.bool.truncate(rows);
        self.bytes.truncate(rows);
        self.json.truncate(rows);
        self.valid.truncate(rows);
    }

    pub(crate) fn finish(&mut self) -> Result<StructArray, Error> {
        let columns: Vec<ArrayRef> = vec![
            self.str.finish_utf8("value.str")?,
            self.int.finish()?,
            self.double.finish()?,
            self.bool.finish()?,
            self.bytes.finish_binary("value.bytes")?,
            self.json.finish_utf8("value.json")?,
        ];
        let nulls = self.valid.finish();
        Ok(StructArray::try_new(value_fields(), columns, nulls)?)
    }
}

/// An attributes column (`Map<Utf8, value>`) being built, row by row.
#[derive(Debug)]
pub(crate) struct MapCol {
    rows: ListCol,
    keys: BytesCol,
    values: ValueCols,
}

impl Default for MapCol {
    fn default() -> Self {
        Self {
            rows: ListCol::default(),
            keys: BytesCol::default(),
            values: ValueCols::new(true),
        }
    }
}

impl MapCol {
    /// Adds an entry to the row being built.
    #[inline]
    pub(crate) fn push_entry(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.values.push(value, key_strindex)?;
        self.keys.push(key.as_bytes());
        Ok(())
    }

    /// Ends the row being built.
    #[inline]
    pub(crate) fn close_row(&mut self) {
        self.rows.close(self.keys.len());
    }

    /// Ends the row being built as null (no resource, no scope); it must have no entries.
    pub(crate) fn close_null_row(&mut self) {
        self.discard_open();
        self.rows.close_null();
    }

    /// Drops the entries of the row being built.
    pub(crate) fn discard_open(&mut self) {
        let start = self.rows.open_start();
        self.keys.truncate(start);
        self.values.truncate(start);
    }

    /// Appends all of `other`'s (closed) rows, `n` times.
    pub(crate) fn extend_n(&mut self, other: &Self, n: usize) {
        self.rows.extend_n(&other.rows, n);
        self.keys.extend_n(&other.keys, n);
        self.values.extend_n(&other.values, n);
    }

    pub(crate) fn truncate(&mut self, rows: usize) {
        self.rows.truncate(rows);
        self.discard_open();
    }

    pub(crate) fn clear(&mut self) {
        self.truncate(0);
    }

    pub(crate) fn finish(&mut self, column: &'static str) -> Result<ArrayRef, Error> {
        let keys = self.keys.finish_utf8(column)?;
        let values: ArrayRef = Arc::new(self.values.finish()?);
        let (offsets, nulls) = self.rows.finish_parts(column)?;
        let DataType::Struct(entry_fields) = entries_field().data_type().clone() else {
            return Err(Error::InvalidData {
                table: "attributes",
                reason: "map entries are not a struct".into(),
            });
        };
        let entries = StructArray::try_new(entry_fields, vec![keys, values], None)?;
        Ok(Arc::new(MapArray::try_new(
            entries_field(),
            offsets,
            entries,
            nulls,
            false,
        )?))
    }
}

fn type_error(column: &str, expected: &'static str, actual: &DataType) -> Error {
    Error::ColumnType {
        column: column.to_owned(),
        expected,
        actual: actual.to_string(),
    }
}

/// Reads the values of a value struct back into `AnyValue`s.
pub(crate) struct ValueReader<'a> {
    column: &'a str,
    array: &'a StructArray,
    pub(crate) str: &'a StringArray,
    pub(crate) int: &'a Int64Array,
    pub(crate) double: &'a Float64Array,
    pub(crate) bool: &'a BooleanArray,
    pub(crate) bytes: &'a BinaryArray,
    pub(crate) json: &'a StringArray,
}

fn child<'a, T: 'static>(
    array: &'a StructArray,
    column: &str,
    name: &str,
    expected: &'static str,
) -> Result<&'a T, Error> {
    let child = array
        .column_by_name(name)
        .ok_or_else(|| Error::MissingColumn(format!("{column}.{name}")))?;
    child
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| type_error(&format!("{column}.{name}"), expected, child.data_type()))
}

impl<'a> ValueReader<'a> {
    pub(crate) fn new(array: &'a dyn Array, column: &'a str) -> Result<Self, Error> {
        let array = array
            .as_struct_opt()
            .ok_or_else(|| type_error(column, "Struct", array.data_type()))?;
        Ok(Self {
            column,
            array,
            str: child(array, column, field::STR, "Utf8")?,
            int: child(array, column, field::INT, "Int64")?,
            double: child(array, column, field::DOUBLE, "Float64")?,
            bool: child(array, column, field::BOOL, "Boolean")?,
            bytes: child(array, column, field::BYTES, "Binary")?,
            json: child(array, column, field::JSON, "Utf8")?,
        })
    }

    /// The value at `i`: `None` when the struct is null or none of its fields is set.
    pub(crate) fn get(&self, i: usize) -> Result<Option<AnyValue>, Error> {
        self.get_keyed(i, false).map(|(value, _)| value)
    }

    /// The value at `i` and its `key_strindex` (attribute values may carry one in `json`).
    pub(crate) fn get_keyed(
        &self,
        i: usize,
        keyed: bool,
    ) -> Result<(Option<AnyValue>, i32), Error> {
        if self.array.is_null(i) {
            return Ok((None, 0));
        }
        let mut key_strindex = 0;
        let mut found: Option<AnyValue> = None;
        let mut set = 0;
        let mut put = |value: Value| {
            set += 1;
            found = Some(AnyValue { value: Some(value) });
        };
        if self.str.is_valid(i) {
            put(Value::StringValue(self.str.value(i).to_owned()));
        }
        if self.int.is_valid(i) {
            put(Value::IntValue(self.int.value(i)));
        }
        if self.double.is_valid(i) {
            put(Value::DoubleValue(self.double.value(i)));
        }
        if self.bool.is_valid(i) {
            put(Value::BoolValue(self.bool.value(i)));
        }
        if self.bytes.is_valid(i) {
            put(Value::BytesValue(self.bytes.value(i).to_vec()));
        }
        if self.json.is_valid(i) {
            set += 1;
            let text = self.json.value(i);
            found = if keyed {
                let (value, index) = json::parse_attribute_value(text)?;
                key_strindex = index;
                value
            } else {
                Some(json::parse_any_value(text)?)
            };
        }
        if set > 1 {
            return Err(Error::InvalidData {
                table: "attributes",
                reason: format!(
                    "{}: a value has {set} fields set, at most one is allowed",
                    self.column
                ),
            });
        }
        Ok((found, key_strindex))
    }

    /// Whether the value struct at `i` is null (an absent log body).
    pub(crate) fn is_null(&self, i: usize) -> bool {
        self.array.is_null(i)
    }
}

/// Reads an attributes column back into `KeyValue` lists.
pub(crate) struct AttrsReader<'a> {
    map: &'a MapArray,
    keys: &'a StringArray,
    values: ValueReader<'a>,
}

impl<'a> AttrsReader<'a> {
    pub(crate) fn new(array: &'a dyn Array, column: &'a str) -> Result<Self, Error> {
        let map = array
            .as_map_opt()
            .ok_or_else(|| type_error(column, "Map", array.data_type()))?;
        let keys = map
            .keys()
            .as_string_opt::<i32>()
            .ok_or_else(|| type_error(column, "Map<Utf8, ...>", map.data_type()))?;
        let values = ValueReader::new(map.values().as_ref(), column)?;
        Ok(Self { map, keys, values })
    }

    /// Whether the map at `row` is null (no resource or scope).
    pub(crate) fn is_null(&self, row: usize) -> bool {
        self.map.is_null(row)
    }

    /// The attributes of `row`, in their stored order.
    pub(crate) fn get(&self, row: usize) -> Result<Vec<KeyValue>, Error> {
        let offsets = self.map.value_offsets();
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        let mut out = Vec::with_capacity(end - start);
        for i in start..end {
            let (value, key_strindex) = self.values.get_keyed(i, true)?;
            out.push(KeyValue {
                key: self.keys.value(i).to_owned(),
                value,
                key_strindex,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(value: Value) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    #[test]
    fn every_kind_survives_a_map() {
        let attributes = vec![
            KeyValue {
                key: "s".into(),
                value: Some(any(Value::StringValue("GET".into()))),
                key_strindex: 0,
            },
            KeyValue {
                key: "s".into(),
                value: Some(any(Value::IntValue(-3))),
                key_strindex: 9,
            },
            KeyValue {
                key: String::new(),
                value: None,
                key_strindex: 0,
            },
            KeyValue {
                key: "e".into(),
                value: Some(AnyValue { value: None }),
                key_strindex: 0,
            },
            KeyValue {
                key: "a".into(),
                value: Some(any(Value::ArrayValue(ArrayValue {
                    values: vec![any(Value::BytesValue(vec![0, 255]))],
                }))),
                key_strindex: 0,
            },
            KeyValue {
                key: "d".into(),
                value: Some(any(Value::DoubleValue(2.5))),
                key_strindex: 0,
            },
            KeyValue {
                key: "b".into(),
                value: Some(any(Value::BoolValue(true))),
                key_strindex: 0,
            },
            KeyValue {
                key: "i".into(),
                value: Some(any(Value::StringValueStrindex(4))),
                key_strindex: 0,
            },
        ];
        let mut map = MapCol::default();
        for kv in &attributes {
            map.push_entry(&kv.key, ValueRef::of(kv.value.as_ref()), kv.key_strindex)
                .unwrap();
        }
        map.close_row();
        map.close_null_row();
        map.close_row();
        let array = map.finish("attributes").unwrap();
        let reader = AttrsReader::new(array.as_ref(), "attributes").unwrap();
        assert_eq!(reader.get(0).unwrap(), attributes);
        assert!(reader.is_null(1));
        assert!(reader.get(2).unwrap().is_empty());
    }
}
