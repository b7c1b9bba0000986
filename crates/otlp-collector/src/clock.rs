//! The wall clock as OTLP writes time: nanoseconds since the Unix epoch.

use jiff::tz::TimeZone;
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in nanoseconds since the epoch (0 on a clock set before 1970, `u64::MAX` after 2554).
pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The zone `name` names: an IANA name (`Europe/Paris`), `UTC`, or `Local` (the host's).
pub(crate) fn zone(name: &str) -> Result<TimeZone, String> {
    match name {
        "" | "UTC" => Ok(TimeZone::UTC),
        "Local" => Ok(TimeZone::system()),
        _ => TimeZone::get(name).map_err(|e| format!("unknown time zone `{name}`: {e}")),
    }
}
