//! Go duration strings (`200ms`, `1m30s`, `1.5h`), the format every otelcol config writes durations in, with a
//! serde adapter that also takes an integer number of nanoseconds (what otelcol's YAML decoder accepts too).
//!
//! ```
//! use std::time::Duration;
//! use otlp_model::duration;
//!
//! assert_eq!(duration::parse("1m30s")?, Duration::from_secs(90));
//! assert_eq!(duration::format(Duration::from_millis(1500)), "1500ms");
//!
//! #[derive(serde::Deserialize)]
//! struct Settings {
//!     #[serde(with = "otlp_model::duration::serde")]
//!     timeout: Duration,
//! }
//! let settings: Settings = serde_json::from_str(r#"{"timeout": "250ms"}"#).unwrap();
//! assert_eq!(settings.timeout, Duration::from_millis(250));
//! # Ok::<(), otlp_model::Error>(())
//! ```

use std::time::Duration;

use crate::{Error, Result};

/// Parses a Go duration: one or more `<decimal><unit>` groups with units `ns`, `us` (`µs`), `ms`, `s`, `m`, `h`,
/// or a bare `0`. Negative and overflowing durations are refused.
pub fn parse(text: &str) -> Result<Duration> {
    let invalid = || Error::Duration(text.to_owned());
    let trimmed = text.trim();
    let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if unsigned == "0" {
        return Ok(Duration::ZERO);
    }
    if unsigned.is_empty() {
        return Err(invalid());
    }
    let mut rest = unsigned;
    let mut nanos = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        if number_len == 0 {
            return Err(invalid());
        }
        let (number, after) = rest.split_at(number_len);
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let nanos_per_unit = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(invalid()),
        };
        nanos += value * nanos_per_unit;
        rest = next;
    }
    // u64::MAX as f64 rounds up to 2^64, which does not fit: compare strictly below it.
    if !nanos.is_finite() || nanos >= u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// Formats a duration so that [`parse`] (and Go) reads it back exactly: `0s`, `10s`, `1500ms`, `7ns`.
pub fn format(duration: Duration) -> String {
    if duration.is_zero() {
        "0s".to_owned()
    } else if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}ns", duration.as_nanos())
    }
}

/// `#[serde(with = "otlp_model::duration::serde")]`: a Go duration string, or an integer number of nanoseconds.
pub mod serde {
    use std::time::Duration;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Nanos(u64),
    }

    /// Writes the duration as a Go duration string.
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format(*value))
    }

    /// Reads a Go duration string or an integer number of nanoseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        match Repr::deserialize(deserializer)? {
            Repr::Nanos(nanos) => Ok(Duration::from_nanos(nanos)),
            Repr::Text(text) => super::parse(&text).map_err(D::Error::custom),
        }
    }

    /// The same for an optional duration (`#[serde(default, with = "otlp_model::duration::serde::option")]`).
    pub mod option {
        use std::time::Duration;

        use serde::{Deserializer, Serializer};

        /// Writes the duration, if any, as a Go duration string.
        pub fn serialize<S: Serializer>(
            value: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(duration) => super::serialize(duration, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Reads a present value as a duration.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            super::deserialize(deserializer).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_forms() {
        assert_eq!(parse("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("10us").unwrap(), Duration::from_micros(10));
        assert_eq!(parse("10µs").unwrap(), Duration::from_micros(10));
        assert_eq!(parse("+5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse(" 3s ").unwrap(), Duration::from_secs(3));
        for bad in [
            "",
            "5",
            "s",
            "5 s",
            "-1s",
            "1d",
            "1.2.3s",
            "10x",
            ".s",
            "99999999999999h",
        ] {
            assert_eq!(parse(bad), Err(Error::Duration(bad.to_owned())), "{bad:?}");
        }
    }

    #[test]
    fn format_round_trips() {
        for duration in [
            Duration::ZERO,
            Duration::from_secs(30),
            Duration::from_millis(1500),
            Duration::from_nanos(7),
        ] {
            assert_eq!(parse(&format(duration)).unwrap(), duration);
        }
    }

    #[test]
    fn the_error_says_how_to_write_one() {
        let message = parse("5 seconds").unwrap_err().to_string();
        assert!(message.contains("not a duration"), "{message}");
        assert!(message.contains("1m30s"), "{message}");
    }
}
