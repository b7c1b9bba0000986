//! Converters and editors over lists and maps: `Keys`, `Values`, `Sort`, `SliceToMap`, `Index`,
//! `ContainsValue`, `Coalesce`, `delete_index`, `stringify_all`.

use std::borrow::Cow;
use std::cmp::Ordering;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

use super::{
    Args, ConverterFn, EditorFn, FunctionDef, ParamKind, TARGET, editor_def, optional, required,
    unary, unary_def,
};
use crate::ast::CmpOp;
use crate::compare::compare;
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::program::expr::{Expr, PathExpr};
use crate::value::{Value, put, string_value};

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    unary_def("Keys", TARGET, |a| unary(a, keys)),
    unary_def("Values", TARGET, |a| unary(a, values)),
    unary_def(
        "Coalesce",
        &[required("values", ParamKind::GetterList)],
        build_coalesce,
    ),
    unary_def(
        "ContainsValue",
        &[
            required("target", ParamKind::Getter),
            required("item", ParamKind::Getter),
        ],
        build_contains_value,
    ),
    // otelcol's argument struct names the first field `Source`, so that is its named form.
    unary_def(
        "Index",
        &[
            required("source", ParamKind::Getter),
            required("value", ParamKind::Getter),
        ],
        build_index,
    ),
    unary_def(
        "Sort",
        &[
            required("target", ParamKind::Getter),
            optional("order", ParamKind::Str),
        ],
        build_sort,
    ),
    unary_def(
        "SliceToMap",
        &[
            required("target", ParamKind::Getter),
            optional("key_path", ParamKind::StrList),
            optional("value_path", ParamKind::StrList),
        ],
        build_slice_to_map,
    ),
    editor_def(
        "delete_index",
        &[
            required("target", ParamKind::Setter),
            required("start_index", ParamKind::Getter),
            optional("end_index", ParamKind::Getter),
        ],
        build_delete_index,
    ),
    editor_def(
        "stringify_all",
        &[required("target", ParamKind::Setter)],
        build_stringify_all,
    ),
];

/// The entries of a map argument; otelcol's map getters reject every other type (nil too).
fn expect_map<'c>(value: Value<'c>, function: &str) -> Result<Cow<'c, [KeyValue]>> {
    match value {
        Value::Map(map) => Ok(map),
        other => Err(Error::eval(format!(
            "{function}: expected a map, got {}",
            other.type_name()
        ))),
    }
}

/// The items of a list argument; otelcol's slice getters reject every other type (nil too).
fn expect_list<'c>(
    value: Value<'c>,
    function: &str,
    argument: &str,
) -> Result<Cow<'c, [AnyValue]>> {
    match value {
        Value::List(list) => Ok(list),
        other => Err(Error::eval(format!(
            "{function}: `{argument}` must be a list, got {}",
            other.type_name()
        ))),
    }
}

/// An int argument, as otelcol's `IntGetter` takes it (no conversion from other types).
fn expect_int(value: &Value<'_>, function: &str, argument: &str) -> Result<i64> {
    match value {
        Value::Int(i) => Ok(*i),
        other => Err(Error::eval(format!(
            "{function}: `{argument}` must be an int, got {}",
            other.type_name()
        ))),
    }
}

/// `Keys(target)`: the keys in map order, which is insertion order as in pdata.
fn keys(value: Value<'_>) -> Result<Value<'_>> {
    let map = expect_map(value, "Keys")?;
    Ok(Value::List(Cow::Owned(
        map.iter().map(|kv| string_value(kv.key.as_str())).collect(),
    )))
}

/// `Values(target)`: the values in map order, each keeping its type.
fn values(value: Value<'_>) -> Result<Value<'_>> {
    let map = expect_map(value, "Values")?;
    Ok(Value::List(Cow::Owned(
        map.iter()
            .map(|kv| kv.value.clone().unwrap_or_default())
            .collect(),
    )))
}

/// `Coalesce(values[])`: the first value that is not nil, or nil; later values are not
/// evaluated once one is found, as in otelcol.
struct Coalesce {
    values: Vec<Expr>,
}

fn build_coalesce(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let values = args.getter_list(0)?;
    if values.is_empty() {
        return Err(args.error(0, "Coalesce requires at least one argument"));
    }
    Ok(Box::new(Coalesce { values }))
}

impl ConverterFn for Coalesce {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        for expr in &self.values {
            let value = expr.eval(ctx)?;
            if !value.is_nil() {
                return Ok(value);
            }
        }
        Ok(Value::Nil)
    }
}

/// The position of the first list item equal to `item` under OTTL's comparison rules (an int
/// equals the double of the same value, other types only equal their own).
fn position(list: &[AnyValue], item: &Value<'_>) -> Option<usize> {
    list.iter()
        .position(|v| compare(&Value::from_any(v), CmpOp::Eq, item))
}

/// `ContainsValue(target, item)`.
struct ContainsValue {
    target: Expr,
    item: Expr,
}

fn build_contains_value(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(ContainsValue {
        target: args.getter(0)?,
        item: args.getter(1)?,
    }))
}

impl ConverterFn for ContainsValue {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let list = expect_list(self.target.eval(ctx)?, "ContainsValue", "target")?;
        let item = self.item.eval(ctx)?;
        Ok(Value::Bool(position(&list, &item).is_some()))
    }
}

/// `Index(source, value)`: the byte offset of `value` in a string, or the position of the first
/// equal item in a list; -1 when absent.
struct Index {
    source: Expr,
    value: Expr,
}

fn build_index(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Index {
        source: args.getter(0)?,
        value: args.getter(1)?,
    }))
}

impl ConverterFn for Index {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let source = self.source.eval(ctx)?;
        let value = self.value.eval(ctx)?;
        let found = match (&source, &value) {
            (Value::Str(haystack), Value::Str(needle)) => haystack.find(needle.as_ref()),
            (Value::Str(_), other) => {
                return Err(Error::eval(format!(
                    "Index: when source is string, value must also be string, got {}",
                    other.type_name()
                )));
            }
            (Value::List(list), item) => position(list, item),
            (other, _) => {
                return Err(Error::eval(format!(
                    "Index: source must be of type string or slice, got {}",
                    other.type_name()
                )));
            }
        };
        Ok(Value::Int(
            found.map_or(-1, |i| i64::try_from(i).unwrap_or(i64::MAX)),
        ))
    }
}

/// `Sort(target, order?)`.
struct Sort {
    target: Expr,
    descending: bool,
}

fn build_sort(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let descending = match args.opt_str(1).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(args.error(
                1,
                format!("invalid arguments: {other}. Order should be either \"asc\" or \"desc\""),
            ));
        }
    };
    Ok(Box::new(Sort { target, descending }))
}

/// What a list is sorted by, as otelcol's `findCommonValueType` decides: ints alone as ints,
/// ints and doubles as doubles, and as soon as a string, bool or empty value is present every
/// item by its string form.
enum SortKeys {
    Ints(Vec<i64>),
    Doubles(Vec<f64>),
    Strings(Vec<String>),
}

fn sort_keys(list: &[AnyValue]) -> Option<SortKeys> {
    let (mut ints, mut doubles, mut strings) = (false, false, false);
    for item in list {
        match &item.value {
            Some(any_value::Value::IntValue(_)) => ints = true,
            Some(any_value::Value::DoubleValue(_)) => doubles = true,
            Some(any_value::Value::StringValue(_) | any_value::Value::BoolValue(_)) | None => {
                strings = true;
            }
            // Bytes, maps and lists cannot be sorted: otelcol returns the list unchanged.
            _ => return None,
        }
    }
    Some(if strings {
        SortKeys::Strings(
            list.iter()
                .map(|v| Value::from_any(v).as_string().into_owned())
                .collect(),
        )
    } else if ints && !doubles {
        SortKeys::Ints(
            list.iter()
                .map(|v| match v.value {
                    Some(any_value::Value::IntValue(i)) => i,
                    _ => 0,
                })
                .collect(),
        )
    } else {
        SortKeys::Doubles(
            list.iter()
                .map(|v| match v.value {
                    Some(any_value::Value::IntValue(i)) => i as f64,
                    Some(any_value::Value::DoubleValue(d)) => d,
                    _ => 0.0,
                })
                .collect(),
        )
    })
}

/// Go's `cmp.Compare` for floats: NaN sorts before every number and equals itself.
fn go_float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

impl ConverterFn for Sort {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let list = match self.target.eval(ctx)? {
            Value::List(list) => list,
            other => {
                return Err(Error::eval(format!(
                    "Sort: sort with unsupported type: '{}'. Target is not a list",
                    other.type_name()
                )));
            }
        };
        let Some(keys) = sort_keys(&list) else {
            return Ok(Value::List(list));
        };
        let mut order: Vec<usize> = (0..list.len()).collect();
        let ascending = |a: &usize, b: &usize| match &keys {
            SortKeys::Ints(k) => k[*a].cmp(&k[*b]),
            SortKeys::Doubles(k) => go_float_cmp(k[*a], k[*b]),
            SortKeys::Strings(k) => k[*a].cmp(&k[*b]),
        };
        if self.descending {
            order.sort_by(|a, b| ascending(b, a));
        } else {
            order.sort_by(ascending);
        }
        // The items keep their types; only their order changes.
        Ok(Value::List(Cow::Owned(
            order.into_iter().map(|i| list[i].clone()).collect(),
        )))
    }
}

/// `SliceToMap(target, key_path?, value_path?)`.
struct SliceToMap {
    target: Expr,
    key_path: Option<Vec<String>>,
    value_path: Option<Vec<String>>,
}

fn build_slice_to_map(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let mut path = |index: usize| -> Result<Option<Vec<String>>> {
        if !args.has(index) {
            return Ok(None);
        }
        let path = args.str_list(index)?;
        if path.is_empty() {
            return Err(args.error(index, "must provide at least one path item"));
        }
        Ok(Some(path))
    };
    let key_path = path(1)?;
    let value_path = path(2)?;
    Ok(Box::new(SliceToMap {
        target,
        key_path,
        value_path,
    }))
}

/// The value at `path` inside `map`, following nested maps.
fn extract<'m>(map: &'m [KeyValue], path: &[String]) -> Result<&'m AnyValue> {
    let missing = || {
        Error::eval(format!(
            "provided object does not contain the path [{}]",
            path.join(" ")
        ))
    };
    let mut current = map;
    let mut found = None;
    for (depth, key) in path.iter().enumerate() {
        if depth > 0 {
            match found.and_then(|v: &AnyValue| v.value.as_ref()) {
                Some(any_value::Value::KvlistValue(inner)) => current = &inner.values,
                _ => return Err(missing()),
            }
        }
        // pdata keeps the first of repeated keys.
        let entry = current
            .iter()
            .find(|kv| kv.key == *key)
            .ok_or_else(missing)?;
        found = Some(entry.value.as_ref().unwrap_or(&EMPTY));
    }
    found.ok_or_else(missing)
}

static EMPTY: AnyValue = AnyValue { value: None };

impl ConverterFn for SliceToMap {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let list = expect_list(self.target.eval(ctx)?, "SliceToMap", "target")?;
        let mut out: Vec<KeyValue> = Vec::with_capacity(list.len());
        let by_path = self.key_path.is_some() || self.value_path.is_some();
        for (index, item) in list.iter().enumerate() {
            let map = match &item.value {
                Some(any_value::Value::KvlistValue(map)) => Some(&map.values),
                _ if by_path => {
                    return Err(Error::eval(format!(
                        "SliceToMap: slice elements must be maps when using `key_path` or `value_path`, but could not cast element '{}' to a map",
                        Value::from_any(item).as_string()
                    )));
                }
                _ => None,
            };
            let key = match (&self.key_path, map) {
                (Some(path), Some(map)) => match extract(map, path).map_err(|e| {
                    Error::eval(format!(
                        "SliceToMap: element {index}: could not extract key from element: {e}"
                    ))
                })? {
                    AnyValue {
                        value: Some(any_value::Value::StringValue(key)),
                    } => key.clone(),
                    _ => {
                        return Err(Error::eval(format!(
                            "SliceToMap: element {index}: extracted key attribute is not of type string"
                        )));
                    }
                },
                _ => index.to_string(),
            };
            let value = match (&self.value_path, map) {
                (Some(path), Some(map)) => extract(map, path)
                    .map_err(|e| {
                        Error::eval(format!(
                            "SliceToMap: could not extract value from element: {e}"
                        ))
                    })?
                    .clone(),
                _ => item.clone(),
            };
            // A repeated key keeps its first position and its last value, as `Map.Put` does.
            put(&mut out, &key, value);
        }
        Ok(Value::Map(Cow::Owned(out)))
    }
}

/// `delete_index(target, start_index, end_index?)`: removes the items in
/// `[start_index, end_index)` (just `start_index` without an end) and writes the list back.
struct DeleteIndex {
    target: PathExpr,
    start: Expr,
    end: Option<Expr>,
}

fn build_delete_index(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(DeleteIndex {
        target: args.setter(0)?,
        start: args.getter(1)?,
        end: args.opt_getter(2),
    }))
}

impl EditorFn for DeleteIndex {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let (mut items, start, end) = {
            let shared: &TransformContext<'_> = ctx;
            let items = expect_list(self.target.get(shared)?, "delete_index", "target")?;
            let start = expect_int(&self.start.eval(shared)?, "delete_index", "start_index")?;
            let end = match &self.end {
                Some(expr) => expect_int(&expr.eval(shared)?, "delete_index", "end_index")?,
                None => start.saturating_add(1),
            };
            (items.into_owned(), start, end)
        };
        let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
        if start == 0 && end == len {
            items.clear();
        } else {
            if start < 0 || start >= len {
                return Err(Error::eval(format!(
                    "delete_index: startIndex {start} out of bounds for slice of length {len}"
                )));
            }
            if end < start {
                return Err(Error::eval(format!(
                    "delete_index: endIndex {end} cannot be less than startIndex {start}"
                )));
            }
            if end > len {
                return Err(Error::eval(format!(
                    "delete_index: deletion range [{start}:{end}] out of bounds for slice of length {len}"
                )));
            }
            // Both bounds are now within `0..=len`, so they fit in a usize.
            let (start, end) = (
                usize::try_from(start).unwrap_or(0),
                usize::try_from(end).unwrap_or(0),
            );
            items.drain(start..end);
        }
        self.target.set(ctx, Value::List(Cow::Owned(items)))
    }
}

/// `stringify_all(target)`: every value of the map that is not a string becomes its string
/// form (pdata's `AsString`: JSON for maps and lists, base64 for bytes, "" for empty values).
struct StringifyAll {
    target: PathExpr,
}

fn build_stringify_all(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(StringifyAll {
        target: args.setter(0)?,
    }))
}

impl EditorFn for StringifyAll {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let map = self.target.map_mut(ctx)?;
        for kv in map.iter_mut() {
            if let Some(AnyValue {
                value: Some(any_value::Value::StringValue(_)),
            }) = &kv.value
            {
                continue;
            }
            let text = Value::from_opt_any(kv.value.as_ref())
                .as_string()
                .into_owned();
            kv.value = Some(string_value(text));
        }
        Ok(())
    }
}
