//! The wall clock as OTLP writes time: nanoseconds since the Unix epoch.

use jiff::tz::TimeZone;
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in nanoseconds since the epoch (0 on a clock set before 1970, `u64::MAX` after 2554).
pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Seconds since the epoch as Datadog's and X-Ray's JSON write them, as nanoseconds, to the microsecond: a double
/// holds today's seconds to about half a microsecond, so digits beyond the microsecond are the double's, not the
/// client's (`1765130000.25 * 1e9` is `...249999872`). 0 for a time before 1970 or not a number.
pub(crate) fn seconds_to_nanos(seconds: f64) -> u64 {
    if !(seconds.is_finite() && seconds > 0.0) {
        return 0;
    }
    let whole = seconds.trunc();
    let micros = ((seconds - whole) * 1e6).round() as u64;
    (whole as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(micros * 1000)
}

/// The zone `name` names: an IANA name (`Europe/Paris`), `UTC`, or `Local` (the host's).
pub(crate) fn zone(name: &str) -> Result<TimeZone, String> {
    match name {
        "" | "UTC" => Ok(TimeZone::UTC),
        "Local" => Ok(TimeZone::system()),
        _ => TimeZone::get(name).map_err(|e| format!("unknown time zone `{name}`: {e}")),
    }
}
