//! Indexing into maps and lists with `["key"]` and `[0]`, for reading (missing keys are `nil`)
//! and for writing (missing map keys are created, an empty value becomes a map or a list), the
//! way otelcol's `ctxutil` does.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
};

use crate::error::{Error, Result};
use crate::value::Value;

/// A key after evaluation: a map key or a list index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResolvedKey<'k> {
    Str(Cow<'k, str>),
    Int(i64),
}

impl ResolvedKey<'_> {
    pub(crate) fn into_owned(self) -> ResolvedKey<'static> {
        match self {
            ResolvedKey::Str(s) => ResolvedKey::Str(Cow::Owned(s.into_owned())),
            ResolvedKey::Int(i) => ResolvedKey::Int(i),
        }
    }
}

/// `value[key]` for reading.
pub(crate) fn index_value<'c>(value: Value<'c>, key: &ResolvedKey<'_>) -> Result<Value<'c>> {
    match (value, key) {
        // A missing level reads as nil all the way down.
        (Value::Nil, _) => Ok(Value::Nil),
        (Value::Map(map), ResolvedKey::Str(k)) => Ok(match map {
            Cow::Borrowed(entries) => entries
                .iter()
                .find(|kv| kv.key == k.as_ref())
                .map_or(Value::Nil, |kv| Value::from_opt_any(kv.value.as_ref())),
            Cow::Owned(entries) => entries
                .into_iter()
                .find(|kv| kv.key == k.as_ref())
                .and_then(|kv| kv.value)
                .map_or(Value::Nil, Value::from_any_owned),
        }),
        (Value::Map(_), ResolvedKey::Int(i)) => Err(Error::eval(format!(
            "a map is indexed by a string key, not by the integer {i}"
        ))),
        (Value::List(list), ResolvedKey::Int(i)) => {
            let len = list.len();
            let index = usize::try_from(*i)
                .ok()
                .filter(|index| *index < len)
                .ok_or_else(|| {
                    Error::eval(format!(
                        "index {i} is out of bounds of a slice of length {len}"
                    ))
                })?;
            Ok(match list {
                Cow::Borrowed(items) => items.get(index).map_or(Value::Nil, Value::from_any),
                Cow::Owned(mut items) => Value::from_any_owned(items.swap_remove(index)),
            })
        }
        (Value::List(_), ResolvedKey::Str(k)) => Err(Error::eval(format!(
            "a slice is indexed by an integer, not by the string \"{k}\""
        ))),
        (other, ResolvedKey::Str(k)) => Err(Error::eval(format!(
            "type {} does not support string indexing (key \"{k}\")",
            other.type_name()
        ))),
        (other, ResolvedKey::Int(i)) => Err(Error::eval(format!(
            "type {} does not support int indexing (index {i})",
            other.type_name()
        ))),
    }
}

/// Sets `map[k1][k2]... = value`, creating what is missing.
pub(crate) fn set_in_map<'k>(
    map: &mut Vec<KeyValue>,
    keys: impl IntoIterator<Item = ResolvedKey<'k>>,
    value: AnyValue,
) -> Result<()> {
    let mut keys = keys.into_iter();
    let Some(first) = keys.next() else {
        return Err(Error::eval("cannot set a map value without a key"));
    };
    let ResolvedKey::Str(first) = first else {
        return Err(Error::eval("a map is indexed by a string key"));
    };
    let slot = entry(map, &first);
    set_in_value(slot, keys, value)
}

/// The value of `key`, inserting an empty one when missing.
fn entry<'m>(map: &'m mut Vec<KeyValue>, key: &str) -> &'m mut AnyValue {
    let index = match map.iter().position(|kv| kv.key == key) {
        Some(index) => index,
        None => {
            map.push(KeyValue {
                key: key.to_owned(),
                value: None,
                ..Default::default()
            });
            map.len() - 1
        }
    };
    // In bounds: found above, or just pushed.
    map[index].value.get_or_insert_with(AnyValue::default)
}

/// Sets `target[k1][k2]... = value` (or `target = value` with no keys).
pub(crate) fn set_in_value<'k>(
    target: &mut AnyValue,
    keys: impl IntoIterator<Item = ResolvedKey<'k>>,
    value: AnyValue,
) -> Result<()> {
    let mut current = target;
    for key in keys {
        current = step_mut(current, &key, true)?
            .ok_or_else(|| Error::eval("internal: a created key was not found"))?;
    }
    *current = value;
    Ok(())
}

/// The value at `keys` below `map`, for editors that change a map or string in place. A missing
/// key is `None`.
pub(crate) fn value_at_keys_mut<'m, 'k>(
    map: &'m mut [KeyValue],
    keys: impl IntoIterator<Item = ResolvedKey<'k>>,
) -> Result<Option<&'m mut AnyValue>> {
    let mut keys = keys.into_iter();
    let Some(ResolvedKey::Str(first)) = keys.next() else {
        return Err(Error::eval("a map is indexed by a string key"));
    };
    let Some(mut current) = map
        .iter_mut()
        .find(|kv| kv.key == first.as_ref())
        .map(|kv| kv.value.get_or_insert_with(AnyValue::default))
    else {
        return Ok(None);
    };
    for key in keys {
        match step_mut(current, &key, false)? {
            Some(next) => current = next,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// One level down. With `create`, a missing map key is inserted and an empty value becomes a
/// map (string key) or a list long enough for the index (int key).
fn step_mut<'v>(
    current: &'v mut AnyValue,
    key: &ResolvedKey<'_>,
    create: bool,
) -> Result<Option<&'v mut AnyValue>> {
    if create && current.value.is_none() {
        current.value = Some(match key {
            ResolvedKey::Str(_) => any_value::Value::KvlistValue(KeyValueList::default()),
            ResolvedKey::Int(i) => {
                let len = usize::try_from(*i)
                    .map_err(|_| Error::eval(format!("index {i} is out of bounds")))?
                    + 1;
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue::default(); len],
                })
            }
        });
    }
    match (&mut current.value, key) {
        (Some(any_value::Value::KvlistValue(map)), ResolvedKey::Str(k)) => {
            if create {
                Ok(Some(entry(&mut map.values, k)))
            } else {
                Ok(map
                    .values
                    .iter_mut()
                    .find(|kv| kv.key == k.as_ref())
                    .map(|kv| kv.value.get_or_insert_with(AnyValue::default)))
            }
        }
        (Some(any_value::Value::ArrayValue(list)), ResolvedKey::Int(i)) => {
            let len = list.values.len();
            let index = usize::try_from(*i)
                .ok()
                .filter(|index| *index < len)
                .ok_or_else(|| {
                    Error::eval(format!(
                        "index {i} is out of bounds of a slice of length {len}"
                    ))
                })?;
            Ok(list.values.get_mut(index))
        }
        (None, _) => Ok(None),
        (Some(other), key) => {
            let found = Value::from_any(&AnyValue {
                value: Some(other.clone()),
            })
            .type_name();
            Err(Error::eval(match key {
                ResolvedKey::Str(k) => {
                    format!("type {found} does not support string indexing (key \"{k}\")")
                }
                ResolvedKey::Int(i) => {
                    format!("type {found} does not support int indexing (index {i})")
                }
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{key_value, string_value};

    fn s(k: &str) -> ResolvedKey<'_> {
        ResolvedKey::Str(Cow::Borrowed(k))
    }

    #[test]
    fn nested_set_creates_maps_and_reads_back() {
        let mut map = Vec::new();
        set_in_map(&mut map, [s("a"), s("b")], string_value("x")).unwrap();
        let a = index_value(Value::Map(Cow::Borrowed(&map)), &s("a")).unwrap();
        assert_eq!(index_value(a, &s("b")).unwrap(), Value::str("x"));
    }

    #[test]
    fn int_key_on_empty_value_makes_a_padded_list() {
        let mut map = Vec::new();
        set_in_map(&mut map, [s("l"), ResolvedKey::Int(2)], string_value("z")).unwrap();
        let list = index_value(Value::Map(Cow::Borrowed(&map)), &s("l")).unwrap();
        let Value::List(items) = &list else {
            panic!("expected a list");
        };
        assert_eq!(items.len(), 3);
        assert_eq!(
            index_value(list.clone(), &ResolvedKey::Int(2)).unwrap(),
            Value::str("z")
        );
        assert!(index_value(list, &ResolvedKey::Int(3)).is_err());
    }

    #[test]
    fn indexing_a_string_is_an_error_and_missing_is_nil() {
        let map = vec![key_value("s", string_value("text"))];
        let v = index_value(Value::Map(Cow::Borrowed(&map)), &s("s")).unwrap();
        assert!(index_value(v, &s("x")).is_err());
        let missing = index_value(Value::Map(Cow::Borrowed(&map)), &s("nope")).unwrap();
        assert_eq!(index_value(missing, &s("x")).unwrap(), Value::Nil);
    }
}
