//! Time converters: `Now`, `Time`, `Unix`, `UnixNano`, `UnixMicro`, `UnixMilli`,
//! `UnixSeconds`, `Duration`, the parts of times (`Year` ... `Nanosecond`) and of durations
//! (`Hours` ... `Nanoseconds`), `TruncateTime`, `FormatTime`, and the formatting of times and
//! durations as strings; also `Log`.
//!
//! Our `Value::Time` is an instant without a zone, where Go's `time.Time` carries a location.
//! Every calendar view of it here (the parts, `FormatTime`) is in UTC: that is what otelcol
//! gives for telemetry timestamps (pdata's `AsTime` is UTC) and for `Now()` on a collector
//! whose host or container runs in UTC.

mod format;
mod parse;

pub use parse::TimeLayout;
mod parts;
mod strptime;

use std::time::{SystemTime, UNIX_EPOCH};

use super::{
    Args, Build, ConverterFn, FunctionDef, ParamKind, expect_string, optional, required, unary,
    unary_def,
};
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::program::expr::Expr;
use crate::value::Value;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// otelcol names the argument of the time parts `time` (`Year(time = span.start_time)`).
const TIME: &[super::Param] = &[required("time", ParamKind::Getter)];
/// And that of the duration parts `duration`.
const DURATION: &[super::Param] = &[required("duration", ParamKind::Getter)];

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "Now",
        params: &[],
        build: Build::Converter(build_now),
        contexts: None,
        string_fn: None,
    },
    unary_def(
        "Time",
        &[
            required("target", ParamKind::Getter),
            required("format", ParamKind::Str),
            optional("location", ParamKind::Str),
            optional("locale", ParamKind::Str),
        ],
        parse::build_time,
    ),
    unary_def(
        "FormatTime",
        &[
            required("time", ParamKind::Getter),
            required("format", ParamKind::Str),
        ],
        format::build_format_time,
    ),
    unary_def(
        "TruncateTime",
        &[
            required("time", ParamKind::Getter),
            required("duration", ParamKind::Getter),
        ],
        parts::build_truncate_time,
    ),
    unary_def(
        "Unix",
        &[
            required("seconds", ParamKind::Getter),
            optional("nanoseconds", ParamKind::Getter),
        ],
        build_unix,
    ),
    unary_def("UnixNano", super::VALUE, |a| {
        unary(a, |v| unix_in(v, "UnixNano", 1))
    }),
    unary_def("UnixMicro", super::VALUE, |a| {
        unary(a, |v| unix_in(v, "UnixMicro", 1_000))
    }),
    unary_def("UnixMilli", super::VALUE, |a| {
        unary(a, |v| unix_in(v, "UnixMilli", 1_000_000))
    }),
    unary_def("UnixSeconds", super::VALUE, |a| {
        unary(a, |v| unix_in(v, "UnixSeconds", 1_000_000_000))
    }),
    unary_def(
        "Duration",
        &[required("duration", ParamKind::Getter)],
        |a| unary(a, duration),
    ),
    unary_def("Year", TIME, |a| unary(a, parts::year)),
    unary_def("Month", TIME, |a| unary(a, parts::month)),
    unary_def("Day", TIME, |a| unary(a, parts::day)),
    unary_def("Weekday", TIME, |a| unary(a, parts::weekday)),
    unary_def("Hour", TIME, |a| unary(a, parts::hour)),
    unary_def("Minute", TIME, |a| unary(a, parts::minute)),
    unary_def("Second", TIME, |a| unary(a, parts::second)),
    unary_def("Nanosecond", TIME, |a| unary(a, parts::nanosecond)),
    unary_def("Hours", DURATION, |a| unary(a, parts::hours)),
    unary_def("Minutes", DURATION, |a| unary(a, parts::minutes)),
    unary_def("Seconds", DURATION, |a| unary(a, parts::seconds)),
    unary_def("Milliseconds", DURATION, |a| unary(a, parts::milliseconds)),
    unary_def("Microseconds", DURATION, |a| unary(a, parts::microseconds)),
    unary_def("Nanoseconds", DURATION, |a| unary(a, parts::nanoseconds)),
];

/// The time a converter was given, or the error otelcol's time getter gives for anything else.
fn expect_time(value: &Value<'_>, function: &str) -> Result<i128> {
    match value {
        Value::Time(nanos) => Ok(*nanos),
        other => Err(Error::eval(format!(
            "{function}: expected a time, got {}",
            other.type_name()
        ))),
    }
}

/// The duration a converter was given, or the error otelcol's duration getter gives for
/// anything else.
fn expect_duration(value: &Value<'_>, function: &str) -> Result<i64> {
    match value {
        Value::Duration(nanos) => Ok(*nanos),
        other => Err(Error::eval(format!(
            "{function}: expected a duration, got {}",
            other.type_name()
        ))),
    }
}

/// The UTC calendar date and time of an instant (see the module docs for why UTC); jiff covers
/// the years -9999 to 9999, Go's `time.Time` far more, so a time beyond is an error.
fn civil_utc(nanos: i128, function: &str) -> Result<jiff::civil::DateTime> {
    let timestamp = jiff::Timestamp::from_nanosecond(nanos).map_err(|_| {
        Error::eval(format!(
            "{function}: the time {nanos}ns since the Unix epoch is outside the years -9999 to 9999"
        ))
    })?;
    Ok(jiff::tz::Offset::UTC.to_datetime(timestamp))
}

struct Now;

fn build_now(_: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Now))
}

impl ConverterFn for Now {
    fn eval<'c>(&'c self, _: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| Error::eval(format!("Now: the clock is before 1970: {e}")))?;
        Ok(Value::Time(since_epoch.as_nanos() as i128))
    }
}

/// `UnixNano(time)` and friends: the time in `unit` nanoseconds since the epoch, floored.
fn unix_in(value: Value<'_>, function: &str, unit: i128) -> Result<Value<'static>> {
    match value {
        Value::Time(nanos) => Ok(Value::Int(
            i64::try_from(nanos.div_euclid(unit))
                .map_err(|_| Error::eval(format!("{function}: the time is out of range")))?,
        )),
        other => Err(Error::eval(format!(
            "{function}: expected a time, got {}",
            other.type_name()
        ))),
    }
}

/// `Unix(seconds, nanoseconds?)`.
struct Unix {
    seconds: Expr,
    nanoseconds: Option<Expr>,
}

fn build_unix(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(Unix {
        seconds: args.getter(0)?,
        nanoseconds: args.opt_getter(1),
    }))
}

impl ConverterFn for Unix {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let int = |expr: &Expr, name: &str| match expr.eval(ctx)? {
            Value::Int(i) => Ok(i),
            other => Err(Error::eval(format!(
                "Unix: `{name}` must be an int, got {}",
                other.type_name()
            ))),
        };
        let seconds = int(&self.seconds, "seconds")?;
        let nanos = match &self.nanoseconds {
            Some(expr) => int(expr, "nanoseconds")?,
            None => 0,
        };
        Ok(Value::Time(
            i128::from(seconds) * NANOS_PER_SECOND + i128::from(nanos),
        ))
    }
}

/// `Duration(duration)`: Go's `time.ParseDuration` (`"1h30m"`, `"-1.5s"`, `"300ms"`).
fn duration(value: Value<'_>) -> Result<Value<'static>> {
    let text = expect_string(value, "Duration", "duration")?;
    parse_go_duration(&text)
        .map(Value::Duration)
        .map_err(|e| Error::eval(format!("Duration: invalid duration \"{text}\": {e}")))
}

pub(crate) fn parse_go_duration(text: &str) -> std::result::Result<i64, String> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err("empty".to_owned());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err("expected a number".to_owned());
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("bad number \"{}\"", &rest[..number_len]))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err("missing unit".to_owned()),
            other => return Err(format!("unknown unit \"{other}\"")),
        };
        rest = &rest[unit_len..];
        total += number * unit;
    }
    if total > i64::MAX as f64 {
        return Err("out of range".to_owned());
    }
    let nanos = total.round() as i64;
    Ok(if negative { -nanos } else { nanos })
}

/// Go's `Duration.String()`: `1h30m0s`, `1.5s`, `300ms`, `0s`.
pub(crate) fn format_go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (value, unit) = if n < 1_000 {
            return format!("{sign}{n}ns");
        } else if n < 1_000_000 {
            (n as f64 / 1e3, "µs")
        } else {
            (n as f64 / 1e6, "ms")
        };
        return format!("{sign}{}{unit}", trim_float(value));
    }
    let hours = n / 3_600_000_000_000;
    let minutes = (n / 60_000_000_000) % 60;
    let seconds = (n % 60_000_000_000) as f64 / 1e9;
    let mut out = sign.to_owned();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", trim_float(seconds)));
    out
}

fn trim_float(v: f64) -> String {
    let text = format!("{v:.9}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// RFC 3339 with nanoseconds when present (`2023-02-04T00:00:00Z`).
pub(crate) fn format_rfc3339(nanos: i128) -> String {
    jiff::Timestamp::from_nanosecond(nanos)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{nanos}ns since the Unix epoch"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_go_formatting() {
        assert_eq!(parse_go_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_go_duration("-1.5s").unwrap(), -1_500_000_000);
        assert_eq!(parse_go_duration("333ms").unwrap(), 333_000_000);
        assert!(parse_go_duration("3").is_err());
        assert_eq!(format_go_duration(5_400_000_000_000), "1h30m0s");
        assert_eq!(format_go_duration(1_500_000_000), "1.5s");
        assert_eq!(format_go_duration(333_000_000), "333ms");
        assert_eq!(format_go_duration(0), "0s");
    }
}
