//! A log entry as stanza's operators see it (a body, attributes and resource attributes that may nest, a
//! timestamp and a severity), the fields operators name (`body.level`, `attributes["log.file.name"]`), and the
//! OTLP records entries become.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// One entry on its way through the operators.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) body: Value,
    /// Always a map.
    pub(crate) attributes: Value,
    /// Always a map.
    pub(crate) resource: Value,
    /// Nanoseconds since the Unix epoch, once a parser read it.
    pub(crate) timestamp: Option<i128>,
    /// The OTLP severity number and the text it was read from.
    pub(crate) severity: Option<(i32, String)>,
}

impl Entry {
    /// An entry of `body` alone.
    pub(crate) fn new(body: String) -> Self {
        Entry {
            body: Value::String(body),
            attributes: Value::Object(Map::new()),
            resource: Value::Object(Map::new()),
            timestamp: None,
            severity: None,
        }
    }
}

/// Which part of an entry a field is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Body,
    Attributes,
    Resource,
}

/// A place in an entry: a root and the keys of nested maps under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    root: Root,
    keys: Vec<String>,
}

impl Field {
    pub(crate) fn body() -> Self {
        Field {
            root: Root::Body,
            keys: Vec::new(),
        }
    }

    pub(crate) fn resource() -> Self {
        Field {
            root: Root::Resource,
            keys: Vec::new(),
        }
    }

    pub(crate) fn attributes() -> Self {
        Field {
            root: Root::Attributes,
            keys: Vec::new(),
        }
    }

    /// Reads stanza's field syntax: `body`, `attributes`, `resource`, then `.key` or `["key.with.dots"]` parts.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "`{text}` is not a field: {why} (write e.g. body.message, attributes.level or \
                 resource[\"service.name\"])"
            )
        };
        let root_end = text.find(['.', '[']).unwrap_or(text.len());
        let root = match &text[..root_end] {
            "body" => Root::Body,
            "attributes" => Root::Attributes,
            "resource" => Root::Resource,
            _ => return Err(bad("it must start with body, attributes or resource")),
        };
        let mut keys = Vec::new();
        let mut rest = &text[root_end..];
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"").or_else(|| rest.strip_prefix("['")) {
                let quote = if rest.starts_with("[\"") { "\"]" } else { "']" };
                let end = after
                    .find(quote)
                    .ok_or_else(|| bad("a bracket is not closed"))?;
                keys.push(after[..end].to_owned());
                rest = &after[end + 2..];
            } else if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(bad("a key is empty"));
                }
                keys.push(after[..end].to_owned());
                rest = &after[end..];
            } else {
                return Err(bad("keys follow a `.` or sit in `[\"...\"]`"));
            }
        }
        Ok(Field { root, keys })
    }

    fn root<'e>(&self, entry: &'e Entry) -> &'e Value {
        match self.root {
            Root::Body => &entry.body,
            Root::Attributes => &entry.attributes,
            Root::Resource => &entry.resource,
        }
    }

    fn root_mut<'e>(&self, entry: &'e mut Entry) -> &'e mut Value {
        match self.root {
            Root::Body => &mut entry.body,
            Root::Attributes => &mut entry.attributes,
            Root::Resource => &mut entry.resource,
        }
    }

    /// The value at the field, if there is one.
    pub(crate) fn get<'e>(&self, entry: &'e Entry) -> Option<&'e Value> {
        self.keys
            .iter()
            .try_fold(self.root(entry), |value, key| value.as_object()?.get(key))
    }

    /// Puts `value` at the field, making the maps above it. A map put under attributes or resource (or into the
    /// body below its root) is merged into what is there, as stanza does; the body's root is replaced.
    pub(crate) fn set(&self, entry: &mut Entry, value: Value) -> Result<(), String> {
        let merges = self.root != Root::Body || !self.keys.is_empty();
        if self.root != Root::Body && self.keys.is_empty() && !value.is_object() {
            return Err(format!(
                "only a map can be put at {} itself",
                self.root_name()
            ));
        }
        let mut at = self.root_mut(entry);
        for key in &self.keys {
            if !at.is_object() {
                *at = Value::Object(Map::new());
            }
            at = match at {
                Value::Object(map) => map.entry(key.clone()).or_insert(Value::Null),
                other => other,
            };
        }
        match (value, merges) {
            (Value::Object(new), true) => {
                if !at.is_object() {
                    *at = Value::Object(Map::new());
                }
                if let Value::Object(map) = at {
                    map.extend(new);
                }
            }
            (value, _) => *at = value,
        }
        Ok(())
    }

    /// Takes the value out of the field.
    pub(crate) fn delete(&self, entry: &mut Entry) -> Option<Value> {
        let root = self.root_mut(entry);
        let Some((last, above)) = self.keys.split_last() else {
            let empty = if self.root == Root::Body {
                Value::Null
            } else {
                Value::Object(Map::new())
            };
            return Some(std::mem::replace(root, empty));
        };
        let parent = above
            .iter()
            .try_fold(root, |value, key| value.as_object_mut()?.get_mut(key))?;
        parent.as_object_mut()?.remove(last)
    }

    fn root_name(&self) -> &'static str {
        match self.root {
            Root::Body => "body",
            Root::Attributes => "attributes",
            Root::Resource => "resource",
        }
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Field::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A JSON-like value as OTLP: whole numbers stay integers, maps become key-value lists.
pub(crate) fn any_value(value: Value) -> AnyValue {
    let value = match value {
        Value::Null => None,
        Value::Bool(b) => Some(Any::BoolValue(b)),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => Any::IntValue(i),
            None => Any::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        }),
        Value::String(s) => Some(Any::StringValue(s)),
        Value::Array(items) => Some(Any::ArrayValue(ArrayValue {
            values: items.into_iter().map(any_value).collect(),
        })),
        Value::Object(map) => Some(Any::KvlistValue(KeyValueList {
            values: key_values(map),
        })),
    };
    AnyValue { value }
}

fn key_values(map: Map<String, Value>) -> Vec<KeyValue> {
    map.into_iter()
        .map(|(key, value)| otlp_ottl::key_value(key, any_value(value)))
        .collect()
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The entries as one request: a resource per distinct resource attributes, in the order first seen, each with
/// one empty scope as otelcol's receiver makes.
pub(crate) fn request(entries: Vec<Entry>, observed: u64) -> ExportLogsServiceRequest {
    let mut resources: Vec<(Value, Vec<LogRecord>)> = Vec::new();
    for entry in entries {
        let record = LogRecord {
            time_unix_nano: entry.timestamp.map_or(0, |t| u64::try_from(t).unwrap_or(0)),
            observed_time_unix_nano: observed,
            severity_number: entry.severity.as_ref().map_or(0, |(n, _)| *n),
            severity_text: entry.severity.map(|(_, text)| text).unwrap_or_default(),
            body: (!entry.body.is_null()).then(|| any_value(entry.body)),
            attributes: key_values(into_map(entry.attributes)),
            ..Default::default()
        };
        match resources.iter_mut().find(|(r, _)| *r == entry.resource) {
            Some((_, records)) => records.push(record),
            None => resources.push((entry.resource, vec![record])),
        }
    }
    ExportLogsServiceRequest {
        resource_logs: resources
            .into_iter()
            .map(|(resource, log_records)| ResourceLogs {
                resource: Some(Resource {
                    attributes: key_values(into_map(resource)),
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope::default()),
                    log_records,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_in_stanza_syntax() {
        let field = Field::parse(r#"attributes["log.file.name"]"#).unwrap();
        assert_eq!(field.keys, ["log.file.name"]);
        let nested = Field::parse("body.request.method").unwrap();
        assert_eq!((nested.root, nested.keys.len()), (Root::Body, 2));
        assert_eq!(Field::parse("resource").unwrap().root, Root::Resource);
        for bad in ["record.x", "body..x", r#"body["x"#, "body x", "$body"] {
            assert!(Field::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_get_and_delete_follow_stanza() {
        let mut entry = Entry::new("line".into());
        Field::parse("attributes.http.status")
            .unwrap()
            .set(&mut entry, json!(200))
            .unwrap();
        assert_eq!(entry.attributes, json!({"http": {"status": 200}}));
        Field::attributes()
            .set(&mut entry, json!({"level": "info"}))
            .unwrap();
        assert_eq!(
            entry.attributes,
            json!({"http": {"status": 200}, "level": "info"})
        );
        assert!(Field::attributes().set(&mut entry, json!("x")).is_err());
        Field::body().set(&mut entry, json!({"msg": "hi"})).unwrap();
        assert_eq!(entry.body, json!({"msg": "hi"}));
        let msg = Field::parse("body.msg").unwrap();
        assert_eq!(msg.get(&entry), Some(&json!("hi")));
        assert_eq!(msg.delete(&mut entry), Some(json!("hi")));
        assert_eq!(msg.get(&entry), None);
        assert_eq!(
            Field::parse("attributes.nothing.here")
                .unwrap()
                .delete(&mut entry),
            None
        );
    }

    #[test]
    fn entries_become_records_grouped_by_resource() {
        let mut a = Entry::new("a".into());
        a.resource = json!({"k8s.pod.name": "p1"});
        a.severity = Some((9, "INFO".into()));
        a.timestamp = Some(5);
        let mut b = Entry::new("b".into());
        b.attributes = json!({"n": 1, "x": 1.5, "list": [true, null], "m": {"k": "v"}});
        let c = Entry {
            resource: json!({"k8s.pod.name": "p1"}),
            ..Entry::new("c".into())
        };
        let request = request(vec![a, b, c], 7);
        assert_eq!(request.resource_logs.len(), 2);
        let first = &request.resource_logs[0].scope_logs[0].log_records;
        assert_eq!(first.len(), 2);
        assert_eq!(
            (first[0].time_unix_nano, first[0].observed_time_unix_nano),
            (5, 7)
        );
        assert_eq!(
            (first[0].severity_number, first[0].severity_text.as_str()),
            (9, "INFO")
        );
        let attributes = &request.resource_logs[1].scope_logs[0].log_records[0].attributes;
        let kinds: Vec<_> = attributes
            .iter()
            .map(
                |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(Any::ArrayValue(_)) => "array",
                    Some(Any::KvlistValue(_)) => "map",
                    Some(Any::IntValue(_)) => "int",
                    Some(Any::DoubleValue(_)) => "double",
                    _ => "other",
                },
            )
            .collect();
        assert_eq!(kinds, ["array", "map", "int", "double"]);
    }
}
