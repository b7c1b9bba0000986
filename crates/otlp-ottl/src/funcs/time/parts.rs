//! The parts of a time (`Year`, `Month`, `Day`, `Weekday`, `Hour`, `Minute`, `Second`,
//! `Nanosecond`, all `int64` in UTC), of a duration (`Hours`, `Minutes`, `Seconds` as Go's
//! `float64`, `Milliseconds`, `Microseconds`, `Nanoseconds` as `int64`), and `TruncateTime`.

use super::{civil_utc, expect_duration, expect_time};
use crate::context::TransformContext;
use crate::error::Result;
use crate::funcs::{Args, ConverterFn};
use crate::program::expr::Expr;
use crate::value::Value;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i64 = 60 * NANOS_PER_MINUTE;

/// Seconds from Go's zero time (January 1 of year 1, UTC) to the Unix epoch: Go's
/// `unixToInternal`. `time.Truncate` counts multiples of the duration from Go's zero time, which
/// matters for durations that do not divide a day (`Duration("168h")` lands on Mondays, as
/// January 1 of year 1 was one).
const GO_ZERO_TO_UNIX_SECONDS: i128 = 62_135_596_800;

fn time_part(
    value: Value<'_>,
    function: &str,
    part: fn(jiff::civil::DateTime) -> i64,
) -> Result<Value<'static>> {
    let nanos = expect_time(&value, function)?;
    Ok(Value::Int(part(civil_utc(nanos, function)?)))
}

/// The calendar parts are Go's `time.Time` methods of the same names, read in UTC.
pub(super) fn year(value: Value<'_>) -> Result<Value<'_>> {
    time_part(value, "Year", |t| i64::from(t.year()))
}

/// January is 1, as Go's `time.Month` counts.
pub(super) fn month(value: Value<'_>) -> Result<Value<'_>> {
    time_part(value, "Month", |t| i64::from(t.month()))
}

/// The day of the month, 1 to 31.
pub(super) fn day(value: Value<'_>) -> Result<Value<'_>> {
    time_part(value, "Day", |t| i64::from(t.day()))
}

/// Go's `time.Weekday`: 0 is Sunday, 6 Saturday.
pub(super) fn weekday(value: Value<'_>) -> Result<Value<'_>> {
    time_part(value, "Weekday", |t| {
        i64::from(t.weekday().to_sunday_zero_offset())
    })
}

/// The hour of a 24-hour clock, 0 to 23.
pub(super) fn hour(value: Value<'_>) -> Result<Value<'_>> {
    time_part(value, "Hour", |t| i64::from(t.hour()))
}

/// The minute within the hour, 0 to 59.
pub(super) fn minute(value: Value<'_>) -> Result<Value<'_>> {
    time_part(value, "Minute", |t| i64::from(t.minute()))
}

/// The second within the minute, 0 to 59 (jiff, like Go, has no leap second).
pub(super) fn second(value: Value<'_>) -> Result<Value<'_>> {
    time_part(value, "Second", |t| i64::from(t.second()))
}

/// Go's `time.Nanosecond`: the offset within the second, 0 to 999 999 999.
pub(super) fn nanosecond(value: Value<'_>) -> Result<Value<'_>> {
    time_part(value, "Nanosecond", |t| i64::from(t.subsec_nanosecond()))
}

/// Go's `Duration.Hours` and friends split whole units from the rest before converting, so
/// large durations keep their precision; this does the same, for the same floats.
fn fractional(nanos: i64, unit: i64) -> f64 {
    (nanos / unit) as f64 + (nanos % unit) as f64 / unit as f64
}

fn duration_part(
    value: Value<'_>,
    function: &str,
    part: fn(i64) -> Value<'static>,
) -> Result<Value<'static>> {
    Ok(part(expect_duration(&value, function)?))
}

/// A `float64`, as Go's `Duration.Hours` is.
pub(super) fn hours(value: Value<'_>) -> Result<Value<'_>> {
    duration_part(value, "Hours", |d| {
        Value::Double(fractional(d, NANOS_PER_HOUR))
    })
}

/// A `float64`, as Go's `Duration.Minutes` is.
pub(super) fn minutes(value: Value<'_>) -> Result<Value<'_>> {
    duration_part(value, "Minutes", |d| {
        Value::Double(fractional(d, NANOS_PER_MINUTE))
    })
}

/// A `float64`, as Go's `Duration.Seconds` is.
pub(super) fn seconds(value: Value<'_>) -> Result<Value<'_>> {
    duration_part(value, "Seconds", |d| {
        Value::Double(fractional(d, NANOS_PER_SECOND))
    })
}

/// Go's integer division truncates toward zero, as Rust's does: `-1.5ms` is `-1`.
pub(super) fn milliseconds(value: Value<'_>) -> Result<Value<'_>> {
    duration_part(value, "Milliseconds", |d| Value::Int(d / 1_000_000))
}

/// An `int64`, truncated toward zero, as Go's `Duration.Microseconds` is.
pub(super) fn microseconds(value: Value<'_>) -> Result<Value<'_>> {
    duration_part(value, "Microseconds", |d| Value::Int(d / 1_000))
}

/// The duration itself: Go's `Duration.Nanoseconds`.
pub(super) fn nanoseconds(value: Value<'_>) -> Result<Value<'_>> {
    duration_part(value, "Nanoseconds", Value::Int)
}

/// `TruncateTime(time, duration)`.
struct TruncateTime {
    time: Expr,
    duration: Expr,
}

/// Both arguments are values (`span.start_time`, `Duration("1s")`), read at each evaluation.
pub(super) fn build_truncate_time(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(TruncateTime {
        time: args.getter(0)?,
        duration: args.getter(1)?,
    }))
}

impl ConverterFn for TruncateTime {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let time = expect_time(&self.time.eval(ctx)?, "TruncateTime")?;
        let duration = expect_duration(&self.duration.eval(ctx)?, "TruncateTime")?;
        Ok(Value::Time(truncate(time, duration)))
    }
}

/// Go's `Time.Truncate`: rounded down (toward the past, also before the epoch) to a multiple
/// of `duration` since Go's zero time; a duration of zero or less leaves the time unchanged.
fn truncate(nanos: i128, duration: i64) -> i128 {
    if duration <= 0 {
        return nanos;
    }
    let since_go_zero = nanos + GO_ZERO_TO_UNIX_SECONDS * i128::from(NANOS_PER_SECOND);
    nanos - since_go_zero.rem_euclid(i128::from(duration))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_from_go_zero_time() {
        // 2023-02-04T05:06:07Z (a Saturday) truncated to a week lands on Monday 2023-01-30.
        let saturday = 1_675_487_167 * i128::from(NANOS_PER_SECOND);
        let monday = 1_675_036_800 * i128::from(NANOS_PER_SECOND);
        assert_eq!(truncate(saturday, 168 * NANOS_PER_HOUR), monday);
        // Before the epoch: 1969-12-31T23:59:59.5Z to the second is 23:59:59.
        assert_eq!(
            truncate(-500_000_000, NANOS_PER_SECOND),
            -NANOS_PER_SECOND as i128
        );
        assert_eq!(truncate(123, 0), 123);
        assert_eq!(truncate(123, -5), 123);
    }

    #[test]
    fn fractional_units_match_go() {
        // time.Duration(90 * time.Minute).Hours() == 1.5
        assert_eq!(fractional(90 * NANOS_PER_MINUTE, NANOS_PER_HOUR), 1.5);
        assert_eq!(fractional(-90 * NANOS_PER_SECOND, NANOS_PER_MINUTE), -1.5);
    }
}
