//! Go-style duration strings (`"10s"`, `"1m30s"`, `"250ms"`), as otelcol configs write them: the workspace's one
//! parser, [`otlp_model::duration`], with this crate's error type.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses a Go duration: one or more `<decimal><unit>` groups with units `ns`, `us`, `µs`,
/// `ms`, `s`, `m`, `h`; a bare `0` is allowed. Negative durations are rejected.
pub fn parse_go_duration(input: &str) -> Result<Duration> {
    otlp_model::duration::parse(input).map_err(|_| Error::Duration(input.to_owned()))
}

/// Formats a duration the way Go would accept it back (`"10s"`, `"1.5s"`, `"250ms"`).
pub fn format_go_duration(duration: Duration) -> String {
    otlp_model::duration::format(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_this_crate_s() {
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(matches!(parse_go_duration("10x"), Err(Error::Duration(text)) if text == "10x"));
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1500ms");
    }
}
