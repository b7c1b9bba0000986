//! Go-style duration strings (`"10s"`, `"1m30s"`, `"250ms"`), as otelcol configs write them.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses a Go duration: one or more `<decimal><unit>` groups with units `ns`, `us`, `µs`,
/// `ms`, `s`, `m`, `h`; a bare `0` is allowed. Negative durations are rejected.
pub fn parse_go_duration(input: &str) -> Result<Duration> {
    let invalid = || Error::Duration(input.to_owned());
    let text = input.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let mut rest = text;
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
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
        total_nanos += value * nanos_per_unit;
        rest = next;
    }
    if !total_nanos.is_finite() || total_nanos > u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// Formats a duration the way Go would accept it back (`"10s"`, `"1.5s"`, `"250ms"`).
pub fn format_go_duration(duration: Duration) -> String {
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

/// `#[serde(with = "...")]` adapter for Go duration strings.
pub(crate) mod serde_go {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_go_duration(*value))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_go_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_forms() {
        assert_eq!(parse_go_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("1.5h").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "10", "s", "10x", "-5s", "1..2s"] {
            assert!(
                parse_go_duration(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn format_round_trips() {
        for d in [
            Duration::from_secs(30),
            Duration::from_millis(1500),
            Duration::from_nanos(7),
        ] {
            assert_eq!(parse_go_duration(&format_go_duration(d)).unwrap(), d);
        }
    }
}
