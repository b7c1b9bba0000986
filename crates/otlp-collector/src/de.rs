//! Serde helpers for otelcol's value formats, shared by every component's config.

use crate::Error;
use crate::compression::Compression;
use crate::id::join;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_norway::{Mapping, Value};
use std::time::Duration;

/// otelcol's default exporter compression.
pub(crate) fn gzip() -> Compression {
    Compression::Gzip
}

/// The default timeout of exporters that wait for a whole answer (HTTP, Flight).
pub(crate) fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

/// The `otlp` exporter's default timeout, as otelcol's.
pub(crate) fn five_seconds() -> Duration {
    Duration::from_secs(5)
}

/// A Go duration (`200ms`, `1m30s`, `1.5h`) or an integer number of nanoseconds.
pub fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    otlp_model::duration::serde::deserialize(deserializer)
}

/// A present Go duration, for an `Option<Duration>` field with `#[serde(default)]`.
pub fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}

/// A key that is present with no value (`grpc:`) means "enabled with defaults".
pub fn present<'de, D: Deserializer<'de>, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de> + Default,
{
    Ok(Some(
        Option::<T>::deserialize(deserializer)?.unwrap_or_default(),
    ))
}

/// Deserializes a component's settings, reporting the exact key path of any error. An empty value (`batch:`)
/// means "all defaults".
pub(crate) fn typed<T: DeserializeOwned>(path: &str, value: Value) -> Result<T, Error> {
    let value = if value.is_null() {
        Value::Mapping(Mapping::new())
    } else {
        value
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let full = if inner == "." || inner.is_empty() {
            path.to_string()
        } else {
            join(path, &inner)
        };
        Error::config(full, e.into_inner().to_string())
    })
}
