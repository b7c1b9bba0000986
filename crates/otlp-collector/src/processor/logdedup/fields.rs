//! Fields of a log record named as otelcol's `logdedup` names them: `body.key` or `attributes.key`, nested maps
//! joined by `.`, a `.` inside a key written `\.` (`attributes.host\.name`).

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;

/// Where a field starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    /// The body, when it is a map.
    Body,
    Attributes,
}

/// A field of a log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldPath {
    root: Root,
    /// Never empty: the whole body or all attributes are not a field.
    keys: Vec<String>,
}

impl FieldPath {
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut part = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('.') => part.push('.'),
                    Some(other) => {
                        part.push('\\');
                        part.push(other);
                    }
                    None => part.push('\\'),
                },
                '.' => parts.push(std::mem::take(&mut part)),
                other => part.push(other),
            }
        }
        parts.push(part);
        let root = match parts.first().map(String::as_str) {
            Some("body") => Root::Body,
            Some("attributes") => Root::Attributes,
            _ => {
                return Err(format!("`{text}` must start with `body.` or `attributes.`"));
            }
        };
        let keys = parts.split_off(1);
        if keys.is_empty() {
            return Err(match root {
                Root::Body => "name a field of a map body (`body.key`), not the whole body",
                Root::Attributes => "name an attribute (`attributes.key`), not all of them",
            }
            .to_owned());
        }
        if keys.iter().any(String::is_empty) {
            return Err(format!("`{text}` has an empty key"));
        }
        Ok(FieldPath { root, keys })
    }

    /// The field's value in `record`, if it has one.
    pub(super) fn get<'r>(&self, record: &'r LogRecord) -> Option<&'r AnyValue> {
        let (first, rest) = self.keys.split_first()?;
        let mut value = match self.root {
            Root::Attributes => find(&record.attributes, first)?,
            Root::Body => find(map(record.body.as_ref()?)?, first)?,
        };
        for key in rest {
            value = find(map(value)?, key)?;
        }
        Some(value)
    }

    /// Removes the field from `record`; nothing happens when it has none.
    pub(super) fn remove(&self, record: &mut LogRecord) {
        let Some((last, parents)) = self.keys.split_last() else {
            return;
        };
        let mut list = match self.root {
            Root::Attributes => &mut record.attributes,
            Root::Body => match record.body.as_mut().and_then(map_mut) {
                Some(list) => list,
                None => return,
            },
        };
        for key in parents {
            let Some(next) = list
                .iter_mut()
                .find(|kv| kv.key == *key)
                .and_then(|kv| kv.value.as_mut())
                .and_then(map_mut)
            else {
                return;
            };
            list = next;
        }
        list.retain(|kv| kv.key != *last);
    }
}

fn find<'v>(list: &'v [KeyValue], key: &str) -> Option<&'v AnyValue> {
    list.iter().find(|kv| kv.key == key)?.value.as_ref()
}

fn map(value: &AnyValue) -> Option<&[KeyValue]> {
    match &value.value {
        Some(any_value::Value::KvlistValue(list)) => Some(&list.values),
        _ => None,
    }
}

fn map_mut(value: &mut AnyValue) -> Option<&mut Vec<KeyValue>> {
    match &mut value.value {
        Some(any_value::Value::KvlistValue(list)) => Some(&mut list.values),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::KeyValueList;

    fn text(value: &str) -> AnyValue {
        otlp_ottl::string_value(value)
    }

    fn kv(key: &str, value: AnyValue) -> KeyValue {
        otlp_ottl::key_value(key, value)
    }

    fn map_of(pairs: Vec<KeyValue>) -> AnyValue {
        AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: pairs,
            })),
        }
    }

    fn record() -> LogRecord {
        LogRecord {
            body: Some(map_of(vec![
                kv("timestamp", text("12:00:01")),
                kv("src", map_of(vec![kv("ip", text("10.0.0.7"))])),
            ])),
            attributes: vec![kv("host.name", text("node-7")), kv("id", text("42"))],
            ..LogRecord::default()
        }
    }

    #[test]
    fn paths_are_read_as_otelcol_writes_them() {
        let host = FieldPath::parse(r"attributes.host\.name").unwrap();
        assert_eq!(host.get(&record()), Some(&text("node-7")));
        let ip = FieldPath::parse("body.src.ip").unwrap();
        assert_eq!(ip.get(&record()), Some(&text("10.0.0.7")));
        assert_eq!(
            FieldPath::parse("body.missing").unwrap().get(&record()),
            None
        );
        assert!(
            FieldPath::parse("resource.x")
                .unwrap_err()
                .contains("must start with")
        );
        assert!(FieldPath::parse("attributes").is_err());
        assert!(
            FieldPath::parse("body")
                .unwrap_err()
                .contains("not the whole body")
        );
        assert!(
            FieldPath::parse("attributes..x")
                .unwrap_err()
                .contains("empty key")
        );
    }

    #[test]
    fn removing_a_field_leaves_the_others() {
        let mut record = record();
        FieldPath::parse("body.src.ip").unwrap().remove(&mut record);
        FieldPath::parse(r"attributes.host\.name")
            .unwrap()
            .remove(&mut record);
        FieldPath::parse("body.not.there")
            .unwrap()
            .remove(&mut record);
        assert_eq!(record.attributes, vec![kv("id", text("42"))]);
        assert_eq!(
            record.body,
            Some(map_of(vec![
                kv("timestamp", text("12:00:01")),
                kv("src", map_of(vec![])),
            ]))
        );
    }
}
