//! Serde helpers for otelcol's value formats, shared by every component's config.

use crate::Error;
use crate::compression::Compression;
use crate::error::ConfigProblem;
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

/// A present list of Go durations, for an `Option<Vec<Duration>>` field with `#[serde(default)]`.
pub fn optional_durations<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Duration>>, D::Error> {
    #[derive(Deserialize)]
    struct One(#[serde(deserialize_with = "duration")] Duration);
    let list = Vec::<One>::deserialize(deserializer)?;
    Ok(Some(list.into_iter().map(|One(d)| d).collect()))
}

/// The value of an otelcol key this crate knows and refuses for a stated reason, as the field that keeps the key
/// from being an unknown one. An unknown key would get serde's "unknown field, expected one of ...", and a "did you
/// mean" pointing at a neighbour that does something else; the key is spelt right, so the operator is told why
/// it cannot be honoured. Absent, the field is this (its default); present, its reader ([`refuse`]) fails with the
/// reason, which [`typed`] reports at the key's path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Refused;

/// The reader of a [`Refused`] field: fails with `why`, whatever the value.
pub(crate) fn refuse<'de, D: Deserializer<'de>>(why: &str) -> Result<Refused, D::Error> {
    Err(serde::de::Error::custom(why))
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

/// A present protocol key (`grpc:`), `null` meaning all defaults, with the protocol's own default `endpoint`: a
/// shared settings type (the `otlp` receiver's gRPC one) would otherwise listen on its own default port.
pub(crate) fn present_with_endpoint<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    deserializer: D,
    endpoint: &str,
) -> Result<Option<T>, D::Error> {
    use serde::de::Error as _;
    let mut keys = Option::<serde_norway::Mapping>::deserialize(deserializer)?.unwrap_or_default();
    keys.entry("endpoint".into())
        .or_insert_with(|| endpoint.into());
    T::deserialize(serde_norway::Value::Mapping(keys))
        .map(Some)
        .map_err(D::Error::custom)
}

/// Deserializes a component's settings, reporting the exact key path of every error. An empty value (`batch:`)
/// means "all defaults".
///
/// serde stops at the first error; a typo in one key would hide a second one, and an operator bringing a config
/// over would fix them one run at a time. So a refused key is taken out and the settings read again, up to
/// [`MOST_PROBLEMS`] times. That ends at a field the removals left missing: the operator's mistake there is the one
/// already named (a misspelt `queue_sise` leaves `queue_size` missing).
///
/// A whole number written with YAML 1.1's digit separators (`sampled_cache_size: 100_000`, as otelcol's own
/// examples have it) is read as the number where the field takes one: otelcol's YAML library reads it so, where
/// YAML 1.2 (and so serde) sees a string. Only a value a numeric field refused is converted, so a string that looks
/// like one (a version `2024_01`) stays a string everywhere else.
pub(crate) fn typed<T: DeserializeOwned>(path: &str, value: Value) -> Result<T, Error> {
    let mut value = if value.is_null() {
        Value::Mapping(Mapping::new())
    } else {
        value
    };
    let mut problems: Vec<ConfigProblem> = Vec::new();
    // Each retry turns one more string into a number or takes one more key out, so this ends.
    loop {
        let error = match serde_path_to_error::deserialize(value.clone()) {
            Ok(settings) if problems.is_empty() => return Ok(settings),
            Ok(_) => break,
            Err(error) => error,
        };
        let refused = value_at(&mut value, error.path());
        if let Some(number) = refused
            .as_deref()
            .and_then(Value::as_str)
            .and_then(separated_whole_number)
        {
            if let Some(slot) = refused {
                *slot = number;
            }
            continue;
        }
        let message = error.inner().to_string();
        if !problems.is_empty() && message.starts_with("missing field `") {
            break;
        }
        let inner = error.path().to_string();
        problems.push(ConfigProblem {
            path: if inner == "." || inner.is_empty() {
                path.to_string()
            } else {
                join(path, &inner)
            },
            message: with_suggestion(in_plain_words(message)),
        });
        if problems.len() == MOST_PROBLEMS || !take_out(&mut value, error.path()) {
            break;
        }
    }
    Err(match Error::from_problems(problems) {
        Some(error) => error,
        None => Error::config(path, "settings that do not decode"),
    })
}

/// The most problems reported for one component's settings: past a few, the rest are likely one mistake's echoes.
const MOST_PROBLEMS: usize = 16;

/// Takes the key serde refused (the last segment of `path`, an unknown key's own name included) out of `value`.
/// False when there is none to take, and reading again would fail the same way.
fn take_out(value: &mut Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((Segment::Map { key }, parents)) = segments.split_last() else {
        return false;
    };
    match descend(value, parents.iter().copied()) {
        Some(Value::Mapping(map)) => map.shift_remove(key.as_str()).is_some(),
        _ => false,
    }
}

/// The value at `path` inside `value`, as serde_path_to_error names it.
fn value_at<'v>(value: &'v mut Value, path: &serde_path_to_error::Path) -> Option<&'v mut Value> {
    descend(value, path.iter())
}

/// The value reached from `value` through `segments`.
fn descend<'v, 's>(
    value: &'v mut Value,
    mut segments: impl Iterator<Item = &'s serde_path_to_error::Segment>,
) -> Option<&'v mut Value> {
    use serde_path_to_error::Segment;
    segments.try_fold(value, |value, segment| match (segment, value) {
        (Segment::Map { key }, Value::Mapping(map)) => map.get_mut(key.as_str()),
        (Segment::Seq { index }, Value::Sequence(items)) => items.get_mut(*index),
        _ => None,
    })
}

/// `100_000` as the number YAML 1.1 reads: digits in groups joined by single underscores, optionally signed.
fn separated_whole_number(text: &str) -> Option<Value> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let well_formed = digits.contains('_')
        && digits
            .split('_')
            .all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return None;
    }
    let joined: String = text.chars().filter(|c| *c != '_').collect();
    match joined.parse::<u64>() {
        Ok(number) => Some(Value::Number(number.into())),
        Err(_) => joined.parse::<i64>().ok().map(|n| Value::Number(n.into())),
    }
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

    fn problems(yaml: &str) -> Vec<(String, String)> {
        let value: Value = serde_norway::from_str(yaml).unwrap();
        typed::<Queue>("exporters.otlp.sending_queue", value)
            .unwrap_err()
            .config_problems()
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect()
    }

    #[test]
    fn every_refused_key_is_named_not_only_the_first() {
        let found = problems("{queue_size: 1, colour: blue, port: 70000, size: 3}");
        let paths: Vec<&str> = found.iter().map(|(path, _)| path.as_str()).collect();
        // In the order of the file: a key taken out leaves the others where they were.
        assert_eq!(
            paths,
            [
                "exporters.otlp.sending_queue.colour",
                "exporters.otlp.sending_queue.port",
                "exporters.otlp.sending_queue.size",
            ],
            "{found:?}"
        );
        assert!(
            found[0].1.starts_with("unknown field `colour`"),
            "{found:?}"
        );
        assert!(
            found[1]
                .1
                .ends_with("expected a whole number from 0 to 65535"),
            "{found:?}"
        );
        assert!(found[2].1.starts_with("unknown field `size`"), "{found:?}");
    }

    #[test]
    fn a_misspelt_required_key_is_one_problem_not_two() {
        let found = problems("{queue_sise: 1}");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].1.contains("did you mean `queue_size`?"),
            "{found:?}"
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WithRefused {
        #[allow(dead_code)]
        #[serde(default)]
        max_connection_age: u32,
        #[allow(dead_code)]
        #[serde(default, deserialize_with = "refuse_idle")]
        max_connection_idle: Refused,
    }

    fn refuse_idle<'de, D: Deserializer<'de>>(_: D) -> Result<Refused, D::Error> {
        refuse::<D>("not supported: there is no idle limit")
    }

    #[test]
    fn a_refused_key_is_named_with_its_reason_and_no_suggestion() {
        let value: Value =
            serde_norway::from_str("{max_connection_idle: 5s, colour: blue}").unwrap();
        let found: Vec<(String, String)> = typed::<WithRefused>("keepalive", value)
            .unwrap_err()
            .config_problems()
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect();
        assert_eq!(
            found[0],
            (
                "keepalive.max_connection_idle".to_string(),
                "not supported: there is no idle limit".to_string()
            )
        );
        // Taken out like an unknown key, so the problems after it are reported too.
        assert_eq!(found.len(), 2, "{found:?}");
        let value: Value = serde_norway::from_str("{max_connection_age: 5}").unwrap();
        assert!(typed::<WithRefused>("keepalive", value).is_ok());
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
