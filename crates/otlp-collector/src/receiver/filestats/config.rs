//! The `filestats` receiver's settings, with otelcol-contrib's keys.

use crate::component::Invalid;
use crate::de;
use crate::receiver::filelog::finder::Finder;
use crate::receiver::scraper::metric::{
    ResourceAttribute, Spec, Toggle, resource_attribute_on, unknown_resource_toggles,
    unknown_toggles,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `filestats` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileStatsConfig {
    /// A doublestar glob of the files and folders measured (`/var/log/**/*.log`); required.
    pub include: String,
    /// How often they are measured.
    #[serde(deserialize_with = "de::duration")]
    pub collection_interval: Duration,
    /// How long after the start the first measurement runs.
    #[serde(deserialize_with = "de::duration")]
    pub initial_delay: Duration,
    /// `<metric name>: { enabled: bool }`.
    pub metrics: BTreeMap<String, Toggle>,
    /// `<resource attribute>: { enabled: bool }`: `file.name` (on), `file.path` (off).
    pub resource_attributes: BTreeMap<String, Toggle>,
}

impl Default for FileStatsConfig {
    fn default() -> Self {
        FileStatsConfig {
            include: String::new(),
            collection_interval: Duration::from_secs(60),
            initial_delay: Duration::from_secs(1),
            metrics: BTreeMap::new(),
            resource_attributes: BTreeMap::new(),
        }
    }
}

/// The resource attributes otelcol's receiver sets, and whether each is on by default.
pub(super) const RESOURCE_ATTRIBUTES: &[ResourceAttribute] =
    &[("file.name", true), ("file.path", false)];

impl FileStatsConfig {
    /// Whether resource attribute `name` is set.
    pub(super) fn resource_attribute(&self, name: &str) -> bool {
        resource_attribute_on(RESOURCE_ATTRIBUTES, &self.resource_attributes, name)
    }

    /// The compiled `include` pattern.
    pub(super) fn finder(&self) -> Result<Finder, String> {
        Finder::new(std::slice::from_ref(&self.include), &[])
    }

    pub(super) fn validate(&self, specs: &[Spec]) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.include.is_empty() {
            problems.push(Invalid::at(
                "include",
                "must name the files to measure, as a glob (`/var/log/**/*.log`)",
            ));
        } else if let Err(e) = self.finder() {
            problems.push(Invalid::at("include", e));
        }
        if self.collection_interval.is_zero() {
            problems.push(Invalid::at("collection_interval", "must be more than 0"));
        }
        problems.extend(unknown_toggles("metrics", specs, &self.metrics));
        problems.extend(unknown_resource_toggles(
            RESOURCE_ATTRIBUTES,
            &self.resource_attributes,
        ));
        Invalid::all(problems)
    }
}
