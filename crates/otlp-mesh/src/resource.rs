//! Static mesh resource attributes, computed once.

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::{Resource, ResourceDetector};

/// Environment variables that Istio's sidecar injector and the Kubernetes downward API commonly
/// set, and the resource attribute each becomes.
const ENV_ATTRIBUTES: &[(&str, &str)] = &[
    ("ISTIO_META_MESH_ID", "mesh.id"),
    ("ISTIO_META_CLUSTER_ID", "mesh.cluster_id"),
    ("ISTIO_META_WORKLOAD_NAME", "mesh.workload.name"),
    ("ISTIO_META_NETWORK", "mesh.network"),
    ("LINKERD2_PROXY_IDENTITY_LOCAL_NAME", "linkerd.identity"),
    ("POD_NAMESPACE", "k8s.namespace.name"),
    ("POD_NAME", "k8s.pod.name"),
    ("NODE_NAME", "k8s.node.name"),
];

/// A [`ResourceDetector`] for mesh facts that do not change while the process runs. The attributes
/// are read once, when the detector is created; [`ResourceDetector::detect`] only clones them, so
/// building several providers does not re-read the environment.
#[derive(Clone, Debug, Default)]
pub struct MeshResourceDetector {
    attributes: Vec<KeyValue>,
}

impl MeshResourceDetector {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup` (a variable name to its value), for tests and for platforms that
    /// expose the same facts elsewhere.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut attributes = Vec::new();
        let mut mesh = None;
        for &(variable, key) in ENV_ATTRIBUTES {
            if let Some(value) = lookup(variable).filter(|value| !value.is_empty()) {
                if variable.starts_with("ISTIO_") {
                    mesh = Some("istio");
                } else if variable.starts_with("LINKERD") {
                    mesh = Some("linkerd");
                }
                attributes.push(KeyValue::new(key, value));
            }
        }
        if let Some(mesh) = mesh {
            attributes.push(KeyValue::new("mesh.name", mesh));
        }
        Self { attributes }
    }

    /// The attributes that [`ResourceDetector::detect`] returns.
    pub fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}

impl ResourceDetector for MeshResourceDetector {
    fn detect(&self) -> Resource {
        Resource::builder_empty()
            .with_attributes(self.attributes.iter().cloned())
            .build()
    }
}
