//! `service.telemetry.resource`: the attributes that describe this collector in the telemetry it pushes about
//! itself, with otelcol's defaults (`service.name`, `service.version`, `service.instance.id`).

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One attribute value of `service.telemetry.resource`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceValue {
    /// A string.
    String(String),
    /// A whole number.
    Int(i64),
    /// A floating-point number.
    Double(f64),
    /// `true` or `false`.
    Bool(bool),
}

impl ResourceValue {
    fn to_any_value(&self) -> AnyValue {
        let value = match self {
            ResourceValue::String(s) => any_value::Value::StringValue(s.clone()),
            ResourceValue::Int(i) => any_value::Value::IntValue(*i),
            ResourceValue::Double(d) => any_value::Value::DoubleValue(*d),
            ResourceValue::Bool(b) => any_value::Value::BoolValue(*b),
        };
        AnyValue { value: Some(value) }
    }
}

/// `service.telemetry.resource` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceSettings {
    /// Attributes by key; `None` (`service.name: null`) leaves out a default attribute, as in otelcol.
    pub attributes: BTreeMap<String, Option<ResourceValue>>,
}

/// The `service.name` the collector reports unless the config says otherwise.
pub const DEFAULT_SERVICE_NAME: &str = "otlp-suite";

/// One id per process, as otelcol draws one per run: every reader of this process reports the same instance.
fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let mut bytes: [u8; 16] = rand::random();
        // A version 4 (random), variant 1 UUID.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    })
}

impl ResourceSettings {
    /// The resource's attributes, sorted by key: otelcol's three defaults (`service.name` = `otlp-suite`,
    /// `service.version` = this crate's version, `service.instance.id` = a random UUID drawn once per process),
    /// replaced or removed by the configured ones, and the configured others.
    pub fn attributes(&self) -> Vec<KeyValue> {
        let mut merged: BTreeMap<&str, AnyValue> = BTreeMap::new();
        for (key, value) in [
            ("service.name", DEFAULT_SERVICE_NAME),
            ("service.version", env!("CARGO_PKG_VERSION")),
            ("service.instance.id", instance_id()),
        ] {
            merged.insert(key, ResourceValue::String(value.to_string()).to_any_value());
        }
        for (key, value) in &self.attributes {
            match value {
                Some(value) => {
                    merged.insert(key, value.to_any_value());
                }
                None => {
                    merged.remove(key.as_str());
                }
            }
        }
        merged
            .into_iter()
            .map(|(key, value)| KeyValue {
                key: key.to_string(),
                value: Some(value),
                ..Default::default()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
        attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
            match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => Some(s.clone()),
                _ => None,
            }
        })
    }

    #[test]
    fn defaults_are_replaced_removed_and_extended_by_the_config() {
        let defaults = ResourceSettings::default().attributes();
        assert_eq!(
            string(&defaults, "service.name").as_deref(),
            Some("otlp-suite")
        );
        let id = string(&defaults, "service.instance.id").unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");

        let settings = ResourceSettings {
            attributes: BTreeMap::from([
                (
                    "service.name".to_string(),
                    Some(ResourceValue::String("edge".into())),
                ),
                ("service.instance.id".to_string(), None),
                ("k8s.pod.uid".to_string(), Some(ResourceValue::Int(7))),
            ]),
        };
        let attributes = settings.attributes();
        assert_eq!(string(&attributes, "service.name").as_deref(), Some("edge"));
        assert_eq!(string(&attributes, "service.instance.id"), None);
        assert!(attributes.iter().any(|kv| kv.key == "k8s.pod.uid"));
        assert_eq!(
            string(
                &ResourceSettings::default().attributes(),
                "service.instance.id"
            ),
            Some(id),
            "one instance id per process"
        );
    }
}
