//! HEC events as otelcol's `splunk.Event` writes them, and the request bodies they are sent in.

use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value as Any};
use serde::Serialize;
use serde_json::{Map, Value};

/// One event: a log record, a metric point's value, or a span.
#[derive(Debug, Serialize)]
pub(super) struct HecEvent {
    /// Seconds since the epoch to the millisecond; left out for 0, so that HEC stamps the event when it indexes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) time: Option<f64>,
    pub(super) host: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) sourcetype: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) index: String,
    pub(super) event: Value,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(super) fields: Map<String, Value>,
}

/// An encoded event (or a request body) with the token it is sent with, `None` for the configured one.
pub(super) type Encoded = (Option<String>, Vec<u8>);

/// What a resource says of the events made of it: their HEC metadata and the token to send them with.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Metadata {
    pub(super) host: String,
    pub(super) source: String,
    pub(super) sourcetype: String,
    pub(super) index: String,
    /// The client's own token, kept by the `splunk_hec` receiver's `access_token_passthrough`.
    pub(super) token: Option<String>,
}

/// The resource attribute the `splunk_hec` receiver keeps a client's token in.
pub(super) const TOKEN_ATTRIBUTE: &str = "com.splunk.hec.access_token";

/// HEC's name for a host no attribute names.
pub(super) const UNKNOWN_HOST: &str = "unknown";

/// Nanoseconds as HEC's seconds with milliseconds, rounded; `None` for 0.
pub(super) fn seconds(nanos: u64) -> Option<f64> {
    if nanos == 0 {
        return None;
    }
    let millis = nanos / 1_000_000 + u64::from(nanos % 1_000_000 >= 500_000);
    Some((millis / 1000) as f64 + (millis % 1000) as f64 / 1000.0)
}

/// A value as pdata's `AsRaw` marshals to JSON: bytes as base64; a float JSON cannot hold as its name (`NaN`,
/// `+Inf`, `-Inf`), where Go's encoder would fail the whole batch.
pub(super) fn raw(value: Option<&AnyValue>) -> Value {
    match value.and_then(|value| value.value.as_ref()) {
        None | Some(Any::StringValueStrindex(_)) => Value::Null,
        Some(Any::StringValue(s)) => Value::String(s.clone()),
        Some(Any::BoolValue(b)) => Value::Bool(*b),
        Some(Any::IntValue(i)) => Value::from(*i),
        Some(Any::DoubleValue(d)) => float(*d),
        Some(Any::BytesValue(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(Any::ArrayValue(array)) => {
            Value::Array(array.values.iter().map(|v| raw(Some(v))).collect())
        }
        Some(Any::KvlistValue(map)) => Value::Object(
            map.values
                .iter()
                .map(|kv| (kv.key.clone(), raw(kv.value.as_ref())))
                .collect(),
        ),
    }
}

/// A float as JSON, non-finite ones by name.
pub(super) fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or_else(
        || {
            Value::String(
                if value.is_nan() {
                    "NaN"
                } else if value > 0.0 {
                    "+Inf"
                } else {
                    "-Inf"
                }
                .to_owned(),
            )
        },
        Value::Number,
    )
}

/// An attribute as HEC fields, as otelcol's `mergeValue` writes it: a map flattened into `key.inner` fields, a list
/// of lists or maps as JSON text (HEC indexes only flat multi-values), anything else as it is.
pub(super) fn merge(fields: &mut Map<String, Value>, key: &str, value: Value) {
    match value {
        Value::Object(map) => {
            for (inner, value) in map {
                merge(fields, &format!("{key}.{inner}"), value);
            }
        }
        Value::Array(items) if items.iter().any(|v| v.is_array() || v.is_object()) => {
            fields.insert(
                key.to_owned(),
                Value::String(Value::Array(items).to_string()),
            );
        }
        other => {
            fields.insert(key.to_owned(), other);
        }
    }
}

/// Which attributes carry HEC metadata.
pub(super) struct MetadataKeys<'a> {
    pub(super) host: &'a str,
    pub(super) source: &'a str,
    pub(super) sourcetype: &'a str,
    pub(super) index: &'a str,
}

impl MetadataKeys<'_> {
    /// Takes `attribute` into `metadata` if it names a metadata field (or is the token), else into `fields`.
    pub(super) fn sort(
        &self,
        attribute: &KeyValue,
        metadata: &mut Metadata,
        fields: &mut Map<String, Value>,
    ) {
        let text = || {
            attribute
                .value
                .as_ref()
                .map(|v| otlp_ottl::Value::from_any(v).as_string().into_owned())
                .unwrap_or_default()
        };
        let key = attribute.key.as_str();
        if key == self.host {
            metadata.host = text();
        } else if key == self.source {
            metadata.source = text();
        } else if key == self.sourcetype {
            metadata.sourcetype = text();
        } else if key == self.index {
            metadata.index = text();
        } else if key == TOKEN_ATTRIBUTE {
            metadata.token = Some(text()).filter(|token| !token.is_empty());
        } else {
            merge(fields, key, raw(attribute.value.as_ref()));
        }
    }
}

/// Events as request bodies: grouped by the token they are sent with, each body at most `max_length` bytes (0: no
/// limit; a longer event alone); events over `max_event_size` left out and counted.
pub(super) fn bodies(
    events: Vec<Encoded>,
    max_length: usize,
    max_event_size: usize,
) -> (Vec<Encoded>, usize) {
    let mut by_token: Vec<(Option<String>, Vec<Vec<u8>>)> = Vec::new();
    let mut oversized = 0;
    for (token, event) in events {
        if event.len() > max_event_size {
            oversized += 1;
            continue;
        }
        match by_token.iter_mut().find(|(t, _)| *t == token) {
            Some((_, list)) => list.push(event),
            None => by_token.push((token, vec![event])),
        }
    }
    let mut bodies = Vec::new();
    for (token, events) in by_token {
        let mut body: Vec<u8> = Vec::new();
        for event in events {
            if !body.is_empty() && max_length > 0 && body.len() + event.len() > max_length {
                bodies.push((token.clone(), std::mem::take(&mut body)));
            }
            body.extend_from_slice(&event);
        }
        if !body.is_empty() {
            bodies.push((token, body));
        }
    }
    (bodies, oversized)
}

impl HecEvent {
    /// The event's JSON.
    pub(super) fn to_json(&self) -> Vec<u8> {
        // Plain structs, strings and finite numbers (non-finite ones are written as text): this cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// An event of `metadata`, with `fields`.
    pub(super) fn new(
        metadata: &Metadata,
        time: Option<f64>,
        event: Value,
        fields: Map<String, Value>,
    ) -> Self {
        HecEvent {
            time,
            host: if metadata.host.is_empty() {
                UNKNOWN_HOST.to_owned()
            } else {
                metadata.host.clone()
            },
            source: metadata.source.clone(),
            sourcetype: metadata.sourcetype.clone(),
            index: metadata.index.clone(),
            event,
            fields,
        }
    }
}
