//! The `servicegraph` connector's settings, otelcol-contrib's keys and defaults, and what they compile to.

use crate::component::Invalid;
use crate::histogram::Buckets;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// otelcol-contrib's default latency buckets, in seconds.
const DEFAULT_BUCKETS_SECONDS: [f64; 16] = [
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.4, 2.0, 5.0, 10.0, 15.0,
];

/// The `servicegraph` connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceGraphConfig {
    /// Deprecated in otelcol, where the metrics pipeline chooses the exporter; accepted, and without effect.
    pub metrics_exporter: Option<String>,
    /// Upper bounds of the latency histograms' buckets, as durations (`2ms`, `1s`), increasing.
    #[serde(deserialize_with = "crate::de::optional_durations")]
    pub latency_histogram_buckets: Option<Vec<Duration>>,
    /// Base-2 exponential latency histograms of at most this many buckets, instead of explicit ones (0: explicit).
    pub exponential_histogram_max_size: usize,
    /// Attributes of the client and server spans (or their resources) that become dimensions, written
    /// `client_<name>` and `server_<name>`.
    pub dimensions: Vec<String>,
    /// Where spans wait for the other side of their request.
    pub store: StoreConfig,
    /// How often series that have not changed for 15 minutes are dropped.
    #[serde(deserialize_with = "crate::de::duration")]
    pub cache_loop: Duration,
    /// How often spans that waited `store.ttl` without their pair are given up on.
    #[serde(deserialize_with = "crate::de::duration")]
    pub store_expiration_loop: Duration,
    /// Attributes of a client span that name its server when no server span arrives (a virtual node), the
    /// first found winning; empty turns virtual nodes off.
    pub virtual_node_peer_attributes: Vec<String>,
    /// Adds a `virtual_node` dimension (`client` or `server`) saying which side of an edge is virtual.
    pub virtual_node_extra_label: bool,
    /// How often the metrics are sent; zero sends them after every batch of spans.
    #[serde(deserialize_with = "crate::de::duration")]
    pub metrics_flush_interval: Duration,
    /// Deprecated in otelcol for `database_name_attributes`; used when that list is not given.
    pub database_name_attribute: Option<String>,
    /// Attributes of a client span that make it a request to a database of that name, the first found winning:
    /// the edge is complete without a server span.
    pub database_name_attributes: Vec<String>,
    /// Subtracted from the points' timestamps, for backends that refuse points too close to now.
    #[serde(deserialize_with = "crate::de::duration")]
    pub metrics_timestamp_offset: Duration,
}

impl Default for ServiceGraphConfig {
    fn default() -> Self {
        ServiceGraphConfig {
            metrics_exporter: None,
            latency_histogram_buckets: None,
            exponential_histogram_max_size: 0,
            dimensions: Vec::new(),
            store: StoreConfig::default(),
            cache_loop: Duration::from_secs(60),
            store_expiration_loop: Duration::from_secs(2),
            virtual_node_peer_attributes: ["peer.service", "db.name", "db.system"]
                .map(String::from)
                .to_vec(),
            virtual_node_extra_label: false,
            metrics_flush_interval: Duration::from_secs(60),
            database_name_attribute: None,
            database_name_attributes: Vec::new(),
            metrics_timestamp_offset: Duration::ZERO,
        }
    }
}

/// The store of spans waiting for their pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// How many requests may wait at once; spans of new requests beyond it are dropped (counted, not paired).
    pub max_items: usize,
    /// How long a span waits for the other side of its request.
    #[serde(deserialize_with = "crate::de::duration")]
    pub ttl: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_items: 1000,
            ttl: Duration::from_secs(2),
        }
    }
}

/// The settings, checked and in the form the connector uses.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) buckets: Buckets,
    pub(super) dimensions: Vec<String>,
    pub(super) max_items: usize,
    pub(super) ttl: Duration,
    pub(super) cache_loop: Duration,
    pub(super) expiration_loop: Duration,
    pub(super) peer_attributes: Vec<String>,
    pub(super) virtual_node_label: bool,
    /// `None`: after every batch.
    pub(super) flush_interval: Option<Duration>,
    pub(super) database_name_attributes: Vec<String>,
    pub(super) timestamp_offset: Duration,
}

impl ServiceGraphConfig {
    /// The settings, or every problem at its key.
    pub(super) fn compile(&self) -> Result<Settings, Vec<Invalid>> {
        let mut problems = Vec::new();
        let buckets = match (
            &self.latency_histogram_buckets,
            self.exponential_histogram_max_size,
        ) {
            (Some(_), 1..) => {
                problems.push(Invalid::at(
                    "exponential_histogram_max_size",
                    "use either `latency_histogram_buckets` or `exponential_histogram_max_size`, not both",
                ));
                Buckets::Explicit(Arc::from(DEFAULT_BUCKETS_SECONDS.as_slice()))
            }
            (None, max_size @ 1..) => Buckets::Exponential { max_size },
            (bounds, _) => {
                let bounds: Vec<f64> = bounds.as_ref().map_or_else(
                    || DEFAULT_BUCKETS_SECONDS.to_vec(),
                    |durations| durations.iter().map(Duration::as_secs_f64).collect(),
                );
                if bounds.windows(2).any(|pair| pair[0] >= pair[1]) {
                    problems.push(Invalid::at(
                        "latency_histogram_buckets",
                        "the bounds must increase, each larger than the one before",
                    ));
                }
                Buckets::Explicit(Arc::from(bounds))
            }
        };
        for (i, name) in self.dimensions.iter().enumerate() {
            if name.is_empty() {
                problems.push(Invalid::at(
                    format!("dimensions[{i}]"),
                    "a dimension needs an attribute name",
                ));
            } else if self.dimensions[..i].contains(name) {
                problems.push(Invalid::at(
                    format!("dimensions[{i}]"),
                    format!("duplicate dimension `{name}`"),
                ));
            }
        }
        if self.store.max_items == 0 {
            problems.push(Invalid::at(
                "store.max_items",
                "must be more than zero: with no room, no span could wait for the other side of its request",
            ));
        }
        if self.store.ttl.is_zero() {
            problems.push(Invalid::at(
                "store.ttl",
                "must be more than zero: a span must wait some time for the other side of its request",
            ));
        }
        let database_name_attributes = match (
            self.database_name_attributes.is_empty(),
            &self.database_name_attribute,
        ) {
            (false, _) => self.database_name_attributes.clone(),
            (true, Some(one)) => vec![one.clone()],
            (true, None) => vec!["db.name".to_string()],
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Settings {
            buckets,
            dimensions: self.dimensions.clone(),
            max_items: self.store.max_items,
            ttl: self.store.ttl,
            // As in otelcol, zero means the default.
            cache_loop: nonzero_or(self.cache_loop, Duration::from_secs(60)),
            expiration_loop: nonzero_or(self.store_expiration_loop, Duration::from_secs(2)),
            peer_attributes: self.virtual_node_peer_attributes.clone(),
            virtual_node_label: self.virtual_node_extra_label,
            flush_interval: (!self.metrics_flush_interval.is_zero())
                .then_some(self.metrics_flush_interval),
            database_name_attributes,
            timestamp_offset: self.metrics_timestamp_offset,
        })
    }
}

fn nonzero_or(duration: Duration, default: Duration) -> Duration {
    if duration.is_zero() {
        default
    } else {
        duration
    }
}
