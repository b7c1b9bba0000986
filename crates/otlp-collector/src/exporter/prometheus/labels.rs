//! The labels of a Prometheus series built from an OTLP point, shared by the `prometheus` exporter (whose
//! scrapes serve them) and the `prometheusremotewrite` exporter (which pushes them): the point's attributes, then
//! the scope's (`otel_scope_*`), `job` and `instance` from the resource's `service.*` attributes, the resource
//! attributes the settings select and the constant labels. A label a point's attribute sets is not overwritten by
//! the later ones, and attributes that become the same label name are joined with `;`.

use super::config::{ResourceConstantLabels, ResourceToTelemetry};
use super::naming::Namer;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::ScopeMetrics;
use std::collections::BTreeMap;

/// The resource attributes that become `job` and `instance`.
pub(in crate::exporter) const SERVICE_KEYS: [&str; 3] =
    ["service.name", "service.namespace", "service.instance.id"];

/// A series' labels, sorted by name.
pub(in crate::exporter) type Labels = Vec<(String, String)>;

/// How one exporter's settings turn OTLP attributes into labels.
#[derive(Debug, Clone)]
pub(in crate::exporter) struct Labeler {
    pub(in crate::exporter) namer: Namer,
    /// The `otel_scope_*` labels.
    pub(in crate::exporter) scope_info: bool,
    pub(in crate::exporter) resource_constant_labels: Option<ResourceConstantLabels>,
    pub(in crate::exporter) resource_to_telemetry: ResourceToTelemetry,
}

impl Labeler {
    /// Whether resource attribute `key` is copied onto every series of its resource:
    /// `resource_constant_labels` when set, else `resource_to_telemetry_conversion`.
    pub(in crate::exporter) fn resource_label(&self, key: &str) -> bool {
        if let Some(constant) = &self.resource_constant_labels {
            return constant.selects(key);
        }
        self.resource_to_telemetry.selects(key)
    }

    /// Attributes as labels, sorted, those that become the same name joined with `;` in their keys' order.
    pub(in crate::exporter) fn attributes<'a>(
        &self,
        attributes: impl IntoIterator<Item = &'a KeyValue>,
    ) -> Labels {
        let mut sorted: Vec<&KeyValue> = attributes.into_iter().collect();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        let mut labels: BTreeMap<String, String> = BTreeMap::new();
        for kv in sorted {
            let Some(name) = self.namer.label(&kv.key) else {
                continue;
            };
            let value = text(kv.value.as_ref());
            labels
                .entry(name)
                .and_modify(|joined| {
                    joined.push(';');
                    joined.push_str(&value);
                })
                .or_insert(value);
        }
        labels.into_iter().collect()
    }

    /// The selected resource attributes, as labels.
    pub(in crate::exporter) fn resource(&self, resource: &[KeyValue]) -> Labels {
        self.attributes(resource.iter().filter(|kv| self.resource_label(&kv.key)))
    }

    /// `job` (`service.namespace/service.name`) and `instance` (`service.instance.id`), as otelcol derives them.
    pub(in crate::exporter) fn service(&self, resource: &[KeyValue]) -> Labels {
        let value = |key: &str| {
            resource
                .iter()
                .find(|kv| kv.key == key)
                .map(|kv| text(kv.value.as_ref()))
        };
        let mut labels = Vec::new();
        if let Some(name) = value("service.name") {
            let job = match value("service.namespace") {
                Some(namespace) => format!("{namespace}/{name}"),
                None => name,
            };
            labels.push(("job".to_owned(), job));
        }
        if let Some(instance) = value("service.instance.id") {
            labels.push(("instance".to_owned(), instance));
        }
        labels
    }

    /// `target_info`'s labels for a resource: its attributes but the `service.*` ones, and `service`'s `job` and
    /// `instance`.
    pub(in crate::exporter) fn target(&self, resource: &[KeyValue], service: &Labels) -> Labels {
        let attributes = resource
            .iter()
            .filter(|kv| !SERVICE_KEYS.contains(&kv.key.as_str()));
        let mut labels = self.attributes(attributes);
        merge(&mut labels, service.iter().cloned());
        labels
    }

    /// The scope's labels (`otel_scope_name`, `otel_scope_version`, its attributes as `otel_scope_<key>`,
    /// `otel_scope_schema_url`), none when `scope_info` is off.
    pub(in crate::exporter) fn scope(&self, sm: &ScopeMetrics) -> Labels {
        if !self.scope_info {
            return Vec::new();
        }
        let mut labels = Vec::new();
        if let Some(scope) = &sm.scope {
            for kv in &scope.attributes {
                if let Some(name) = self.namer.label(&format!("otel_scope_{}", kv.key)) {
                    labels.push((name, text(kv.value.as_ref())));
                }
            }
            labels.push(("otel_scope_name".to_owned(), scope.name.clone()));
            labels.push(("otel_scope_version".to_owned(), scope.version.clone()));
        }
        labels.push(("otel_scope_schema_url".to_owned(), sm.schema_url.clone()));
        labels
    }
}

/// Adds `later` labels whose names `labels` lacks, keeping `labels` sorted.
pub(in crate::exporter) fn merge(
    labels: &mut Labels,
    later: impl IntoIterator<Item = (String, String)>,
) {
    for (name, value) in later {
        if let Err(at) = labels.binary_search_by(|(n, _)| n.as_str().cmp(&name)) {
            labels.insert(at, (name, value));
        }
    }
}

/// An attribute's value as a label value: strings as they are, the other types as OTTL prints them.
pub(in crate::exporter) fn text(value: Option<&AnyValue>) -> String {
    value.map_or_else(String::new, |value| {
        otlp_ottl::Value::from_any(value).as_string().into_owned()
    })
}
