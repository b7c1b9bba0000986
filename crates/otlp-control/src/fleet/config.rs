//! A versioned config document, opaque to this crate (the collector's YAML).

use std::sync::Arc;

#[cfg(feature = "etcd")]
use base64::Engine;
#[cfg(feature = "etcd")]
use serde::{Deserialize, Serialize};

/// One version of the fleet's config document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigVersion {
    /// Increasing version number.
    pub version: u64,
    /// The document as written by the operator.
    pub document: Arc<[u8]>,
}

impl ConfigVersion {
    /// The document as UTF-8 text, when it is.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.document).ok()
    }
}

/// How a version is stored: the document is base64 so that any bytes round-trip through JSON.
#[cfg(feature = "etcd")]
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredConfig {
    pub(crate) version: u64,
    pub(crate) document: String,
}

#[cfg(feature = "etcd")]
impl From<&ConfigVersion> for StoredConfig {
    fn from(config: &ConfigVersion) -> Self {
        Self {
            version: config.version,
            document: base64::engine::general_purpose::STANDARD.encode(&config.document),
        }
    }
}

#[cfg(feature = "etcd")]
impl StoredConfig {
    pub(crate) fn decode(self) -> Option<ConfigVersion> {
        let document = base64::engine::general_purpose::STANDARD
            .decode(self.document)
            .ok()?;
        Some(ConfigVersion {
            version: self.version,
            document: document.into(),
        })
    }
}

/// What a member should run, as the coordination store says: the config version assigned to
/// it (by a rollout) or the fleet's stable one, and likewise the binary version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The config to run.
    pub config: Option<ConfigVersion>,
    /// The binary version to run, when one is set; swapping binaries is the operator hook's job.
    pub binary_version: Option<String>,
}
