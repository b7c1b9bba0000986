//! Time converters: `Now`, `Time`, `Unix`, `UnixNano`, `UnixMicro`, `UnixMilli`,
//! `UnixSeconds`, `Duration`, and the formatting of times and durations as strings.
//!
//! `Time` parses with the ctime-style directives otelcol documents (`%Y-%m-%d %H:%M:%S`, `%b`,
//! `%z`, ...); a `location` names an IANA zone (system tz database, or jiff's bundled copy).

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::tz::{Offset, TimeZone};

use super::{
    Args, Build, ConverterFn, FunctionDef, ParamKind, expect_string, optional, required, unary,
    unary_def,
};
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::program::expr::Expr;
use crate::value::Value;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

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
        build_time,
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
];

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

/// `Time(target, format, location?, locale?)`.
struct ParseTime {
    target: Expr,
    format: Vec<Directive>,
    location: Option<TimeZone>,
}

fn build_time(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let format_text = args.str(1)?;
    let format = compile_format(&format_text).map_err(|e| args.error(1, e))?;
    let location = match args.opt_str(2) {
        None => None,
        Some(name) if name.is_empty() => None,
        Some(name) => Some(
            TimeZone::get(&name)
                .map_err(|e| args.error(2, format!("unknown time zone \"{name}\": {e}")))?,
        ),
    };
    if let Some(locale) = args.opt_str(3)
        && !locale.is_empty()
        && !locale.eq_ignore_ascii_case("en")
        && !locale.to_ascii_lowercase().starts_with("en-")
    {
        return Err(args.error(
            3,
            format!("locale \"{locale}\" is not supported; only English month and day names are"),
        ));
    }
    Ok(Box::new(ParseTime {
        target,
        format,
        location,
    }))
}

impl ConverterFn for ParseTime {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let text = expect_string(self.target.eval(ctx)?, "Time", "target")?;
        let fields = parse(&self.format, &text)
            .map_err(|e| Error::eval(format!("Time: cannot parse \"{text}\": {e}")))?;
        Ok(Value::Time(fields.to_nanos(self.location.as_ref())?))
    }
}

/// One element of a compiled format.
#[derive(Debug, Clone, PartialEq)]
enum Directive {
    Literal(char),
    Year4,
    Year2,
    /// Month number; `true` when exactly two digits are required.
    Month(bool),
    MonthAbbrev,
    MonthFull,
    Day(bool),
    /// Day of the month, optionally space padded.
    DaySpacePadded,
    WeekdayAbbrev,
    WeekdayFull,
    Hour24,
    Hour12(bool),
    AmPm,
    Minute,
    Second,
    /// Fractional digits: 3 (ms), 6 (µs) or 9 (ns).
    Fraction(usize),
    /// `±hhmm`, `±hh`, `±hh:mm`, `±hh:mm:ss`, `±hhmmss`.
    Offset(OffsetStyle),
    ZoneName,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum OffsetStyle {
    HhMm,
    Hh,
    HhColonMm,
    HhColonMmColonSs,
    HhMmSs,
}

fn compile_format(format: &str) -> std::result::Result<Vec<Directive>, String> {
    let mut out = Vec::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(Directive::Literal(c));
            continue;
        }
        let Some(d) = chars.next() else {
            return Err("the format ends with a lone `%`".to_owned());
        };
        let expand = |text: &str| compile_format(text);
        match d {
            'Y' => out.push(Directive::Year4),
            'y' => out.push(Directive::Year2),
            'm' => out.push(Directive::Month(true)),
            'o' | 'q' => out.push(Directive::Month(false)),
            'b' | 'h' => out.push(Directive::MonthAbbrev),
            'B' => out.push(Directive::MonthFull),
            'd' => out.push(Directive::Day(true)),
            'e' => out.push(Directive::DaySpacePadded),
            'g' => out.push(Directive::Day(false)),
            'a' => out.push(Directive::WeekdayAbbrev),
            'A' => out.push(Directive::WeekdayFull),
            'H' => out.push(Directive::Hour24),
            'I' => out.push(Directive::Hour12(true)),
            'l' => out.push(Directive::Hour12(false)),
            'p' | 'P' => out.push(Directive::AmPm),
            'M' => out.push(Directive::Minute),
            'S' => out.push(Directive::Second),
            'L' => out.push(Directive::Fraction(3)),
            'f' => out.push(Directive::Fraction(6)),
            's' => out.push(Directive::Fraction(9)),
            'z' => out.push(Directive::Offset(OffsetStyle::HhMm)),
            'i' => out.push(Directive::Offset(OffsetStyle::Hh)),
            'j' => out.push(Directive::Offset(OffsetStyle::HhColonMm)),
            'k' => out.push(Directive::Offset(OffsetStyle::HhColonMmColonSs)),
            'w' => out.push(Directive::Offset(OffsetStyle::HhMmSs)),
            'Z' => out.push(Directive::ZoneName),
            'D' | 'x' => out.extend(expand("%m/%d/%y")?),
            'F' => out.extend(expand("%Y-%m-%d")?),
            'T' | 'X' => out.extend(expand("%H:%M:%S")?),
            'r' => out.extend(expand("%I:%M:%S %p")?),
            'R' => out.extend(expand("%H:%M")?),
            'c' => out.extend(expand("%a %b %e %H:%M:%S %Y")?),
            'n' => out.push(Directive::Literal('\n')),
            't' => out.push(Directive::Literal('\t')),
            '%' => out.push(Directive::Literal('%')),
            other => return Err(format!("unknown directive `%{other}`")),
        }
    }
    Ok(out)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The fields read from a time string.
#[derive(Debug, Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    hour: i64,
    hour12: Option<i64>,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    nanos: i64,
    offset_seconds: Option<i32>,
}

impl Fields {
    fn to_nanos(&self, location: Option<&TimeZone>) -> Result<i128> {
        let hour = match (self.hour12, self.pm) {
            (Some(h), Some(true)) => h % 12 + 12,
            (Some(h), _) => h % 12,
            (None, _) => self.hour,
        };
        let narrow = |v: i64, what: &str| {
            i8::try_from(v).map_err(|_| Error::eval(format!("Time: {what} {v} is out of range")))
        };
        let year = i16::try_from(self.year.unwrap_or(0))
            .map_err(|_| Error::eval("Time: the year is out of range"))?;
        let datetime = jiff::civil::DateTime::new(
            year,
            narrow(self.month.unwrap_or(1), "month")?,
            narrow(self.day.unwrap_or(1), "day")?,
            narrow(hour, "hour")?,
            narrow(self.minute, "minute")?,
            narrow(self.second, "second")?,
            i32::try_from(self.nanos).unwrap_or(0),
        )
        .map_err(|e| Error::eval(format!("Time: {e}")))?;
        let zone = match (self.offset_seconds, location) {
            (Some(offset), _) => TimeZone::fixed(
                Offset::from_seconds(offset).map_err(|e| Error::eval(format!("Time: {e}")))?,
            ),
            (None, Some(zone)) => zone.clone(),
            (None, None) => TimeZone::UTC,
        };
        let zoned = datetime
            .to_zoned_datetime(zone)
            .map_err(|e| Error::eval(format!("Time: {e}")))?;
        Ok(zoned.timestamp().as_nanosecond())
    }
}

/// Reads `text` against the compiled format; the whole text must be consumed.
fn parse(format: &[Directive], text: &str) -> std::result::Result<Fields, String> {
    let mut fields = Fields::default();
    let mut rest = text;
    for directive in format {
        rest = match directive {
            Directive::Literal(c) => rest
                .strip_prefix(*c)
                .ok_or_else(|| format!("expected `{c}` at \"{rest}\""))?,
            Directive::Year4 => {
                let (v, r) = digits(rest, 4, 4, "year")?;
                fields.year = Some(v);
                r
            }
            Directive::Year2 => {
                let (v, r) = digits(rest, 2, 2, "year")?;
                fields.year = Some(if v >= 69 { 1900 + v } else { 2000 + v });
                r
            }
            Directive::Month(fixed) => {
                let (v, r) = digits(rest, if *fixed { 2 } else { 1 }, 2, "month")?;
                fields.month = Some(v);
                r
            }
            Directive::MonthAbbrev | Directive::MonthFull => {
                let full = *directive == Directive::MonthFull;
                let (index, r) = name(rest, &MONTHS, full, "month name")?;
                fields.month = Some(index as i64 + 1);
                r
            }
            Directive::Day(fixed) => {
                let (v, r) = digits(rest, if *fixed { 2 } else { 1 }, 2, "day")?;
                fields.day = Some(v);
                r
            }
            Directive::DaySpacePadded => {
                let trimmed = rest.strip_prefix(' ').unwrap_or(rest);
                let (v, r) = digits(trimmed, 1, 2, "day")?;
                fields.day = Some(v);
                r
            }
            Directive::WeekdayAbbrev | Directive::WeekdayFull => {
                let full = *directive == Directive::WeekdayFull;
                name(rest, &WEEKDAYS, full, "weekday name")?.1
            }
            Directive::Hour24 => {
                let (v, r) = digits(rest, 1, 2, "hour")?;
                fields.hour = v;
                r
            }
            Directive::Hour12(fixed) => {
                let (v, r) = digits(rest, if *fixed { 2 } else { 1 }, 2, "hour")?;
                fields.hour12 = Some(v);
                r
            }
            Directive::AmPm => {
                let head = rest.get(..2).unwrap_or_default().to_ascii_uppercase();
                fields.pm = Some(match head.as_str() {
                    "AM" => false,
                    "PM" => true,
                    _ => return Err(format!("expected AM or PM at \"{rest}\"")),
                });
                rest.get(2..).unwrap_or_default()
            }
            Directive::Minute => {
                let (v, r) = digits(rest, 2, 2, "minute")?;
                fields.minute = v;
                r
            }
            Directive::Second => {
                let (v, r) = digits(rest, 2, 2, "second")?;
                fields.second = v;
                r
            }
            Directive::Fraction(width) => {
                let (v, r) = digits(rest, *width, *width, "fraction of a second")?;
                fields.nanos = v * 10_i64.pow(9 - *width as u32);
                r
            }
            Directive::Offset(style) => {
                let (offset, r) = offset(rest, *style)?;
                fields.offset_seconds = Some(offset);
                r
            }
            Directive::ZoneName => {
                // A zone abbreviation (MST, UTC) reads as offset zero unless a numeric offset or
                // a location says otherwise, as Go's time parsing does on a UTC host.
                let end = rest
                    .char_indices()
                    .find(|(_, c)| !c.is_ascii_alphabetic())
                    .map_or(rest.len(), |(i, _)| i);
                if end < 1 {
                    return Err(format!("expected a time zone name at \"{rest}\""));
                }
                &rest[end..]
            }
        };
    }
    if !rest.is_empty() {
        return Err(format!("unexpected text \"{rest}\" after the format"));
    }
    Ok(fields)
}

fn digits<'t>(
    text: &'t str,
    min: usize,
    max: usize,
    what: &str,
) -> std::result::Result<(i64, &'t str), String> {
    let count = text
        .bytes()
        .take(max)
        .take_while(u8::is_ascii_digit)
        .count();
    if count < min {
        return Err(format!("expected a {min}-digit {what} at \"{text}\""));
    }
    let (number, rest) = text.split_at(count);
    number
        .parse::<i64>()
        .map(|v| (v, rest))
        .map_err(|_| format!("expected a {what} at \"{text}\""))
}

fn name<'t>(
    text: &'t str,
    names: &[&str],
    full: bool,
    what: &str,
) -> std::result::Result<(usize, &'t str), String> {
    for (index, candidate) in names.iter().enumerate() {
        let candidate = if full { candidate } else { &candidate[..3] };
        if text.len() >= candidate.len()
            && text.is_char_boundary(candidate.len())
            && text[..candidate.len()].eq_ignore_ascii_case(candidate)
        {
            return Ok((index, &text[candidate.len()..]));
        }
    }
    Err(format!("expected a {what} at \"{text}\""))
}

fn offset(text: &str, style: OffsetStyle) -> std::result::Result<(i32, &str), String> {
    let sign = match text.chars().next() {
        Some('+') => 1,
        Some('-') => -1,
        _ => return Err(format!("expected a UTC offset such as -0700 at \"{text}\"")),
    };
    let mut rest = &text[1..];
    let part = |rest: &mut &str, colon: bool| -> std::result::Result<i64, String> {
        if colon {
            *rest = rest
                .strip_prefix(':')
                .ok_or_else(|| format!("expected `:` in the UTC offset at \"{text}\""))?;
        }
        let (v, r) = digits(rest, 2, 2, "UTC offset")?;
        *rest = r;
        Ok(v)
    };
    let (h, m, s) = match style {
        OffsetStyle::Hh => (part(&mut rest, false)?, 0, 0),
        OffsetStyle::HhMm => (part(&mut rest, false)?, part(&mut rest, false)?, 0),
        OffsetStyle::HhColonMm => (part(&mut rest, false)?, part(&mut rest, true)?, 0),
        OffsetStyle::HhColonMmColonSs => (
            part(&mut rest, false)?,
            part(&mut rest, true)?,
            part(&mut rest, true)?,
        ),
        OffsetStyle::HhMmSs => (
            part(&mut rest, false)?,
            part(&mut rest, false)?,
            part(&mut rest, false)?,
        ),
    };
    let seconds = i32::try_from(sign * (h * 3600 + m * 60 + s))
        .map_err(|_| "the UTC offset is out of range".to_owned())?;
    Ok((seconds, rest))
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

    fn parse_utc(text: &str, format: &str) -> i128 {
        parse(&compile_format(format).unwrap(), text)
            .unwrap()
            .to_nanos(None)
            .unwrap()
    }

    #[test]
    fn ctime_directives() {
        // 2023-02-04T00:00:00Z
        assert_eq!(
            parse_utc("02/04/2023", "%m/%d/%Y"),
            1_675_468_800 * NANOS_PER_SECOND
        );
        assert_eq!(
            parse_utc("Feb 15, 2023", "%b %d, %Y"),
            1_676_419_200 * NANOS_PER_SECOND
        );
        // 2012-11-01T22:08:41+0000
        assert_eq!(
            parse_utc("2012-11-01T22:08:41+0000 EST", "%Y-%m-%dT%H:%M:%S%z %Z"),
            1_351_807_721 * NANOS_PER_SECOND
        );
        assert_eq!(
            parse_utc("2023-05-26 12:34:56.789", "%Y-%m-%d %H:%M:%S.%L"),
            1_685_104_496 * NANOS_PER_SECOND + 789_000_000
        );
        assert!(parse(&compile_format("%Y").unwrap(), "20x3").is_err());
    }

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
