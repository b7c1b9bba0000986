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
        Error::config(
            full,
            with_suggestion(in_plain_words(e.into_inner().to_string())),
        )
    })
}

/// serde lists what it expected after an unknown field or variant (`unknown field `queue_sise`, expected one of
/// `enabled`, `num_consumers`, `queue_size``); the one a typo meant is named at the end.
fn with_suggestion(message: String) -> String {
    let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    else {
        return message;
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message;
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match crate::config::nearest(unknown, &candidates) {
        Some(meant) => format!("{message}; did you mean `{meant}`?"),
        None => message,
    }
}

/// serde names Rust's types in its messages (`invalid value: integer `-5`, expected usize`); an operator is told
/// the range instead.
fn in_plain_words(message: String) -> String {
    const TYPES: [(&str, &str); 12] = [
        ("u8", "a whole number from 0 to 255"),
        ("u16", "a whole number from 0 to 65535"),
        ("u32", "a whole number from 0 to 4294967295"),
        ("u64", "a whole number, 0 or more"),
        ("usize", "a whole number, 0 or more"),
        ("i8", "a whole number from -128 to 127"),
        ("i16", "a whole number from -32768 to 32767"),
        ("i32", "a whole number from -2147483648 to 2147483647"),
        ("i64", "a whole number"),
        ("isize", "a whole number"),
        ("f32", "a number"),
        ("f64", "a number"),
    ];
    for (rust, plain) in TYPES {
        let named = format!("expected {rust}");
        let Some(at) = message.find(&named) else {
            continue;
        };
        let end = at + named.len();
        if !message[end..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return format!("{}expected {plain}{}", &message[..at], &message[end..]);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Queue {
        #[allow(dead_code)]
        queue_size: usize,
        #[allow(dead_code)]
        #[serde(default)]
        port: u16,
    }

    fn problem(yaml: &str) -> String {
        let value: Value = serde_norway::from_str(yaml).unwrap();
        typed::<Queue>("exporters.otlp.sending_queue", value)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn numbers_out_of_range_are_explained_without_rust_type_names() {
        let message = problem("queue_size: -5");
        assert!(
            message.ends_with(
                "at `exporters.otlp.sending_queue.queue_size`: invalid value: integer `-5`, expected a whole \
                 number, 0 or more"
            ),
            "{message}"
        );
        let message = problem("{queue_size: 1, port: 70000}");
        assert!(
            message.ends_with("expected a whole number from 0 to 65535"),
            "{message}"
        );
        let message = problem("{queue_size: many}");
        assert!(
            message.ends_with("invalid type: string \"many\", expected a whole number, 0 or more"),
            "{message}"
        );
    }

    #[test]
    fn a_misspelt_key_or_value_gets_the_one_it_meant() {
        let message = problem("{queue_sise: 1}");
        assert!(
            message.ends_with(
                "unknown field `queue_sise`, expected `queue_size` or `port`; did you mean `queue_size`?"
            ),
            "{message}"
        );
        let message = problem("{queue_size: 1, colour: blue}");
        assert!(!message.contains("did you mean"), "{message}");
        assert_eq!(
            with_suggestion(
                "unknown variant `parquett`, expected one of `json`, `proto`, `parquet`, `arrow`"
                    .to_string()
            ),
            "unknown variant `parquett`, expected one of `json`, `proto`, `parquet`, `arrow`; did you mean \
             `parquet`?"
        );
    }

    #[test]
    fn other_messages_are_left_as_they_are() {
        assert_eq!(
            in_plain_words("unknown field `queue_sise`, expected one of `queue_size`".to_string()),
            "unknown field `queue_sise`, expected one of `queue_size`"
        );
        assert_eq!(in_plain_words("expected u16s".to_string()), "expected u16s");
    }
}
