//! `Time(target, format, location?, locale?)`: a string read with the ctime-style directives
//! otelcol documents (`%Y-%m-%d %H:%M:%S`, `%b`, `%z`, ...); a `location` names an IANA zone
//! (system tz database, or jiff's bundled copy).

use jiff::tz::{Offset, TimeZone};

use super::strptime::{Directive, MONTHS, OffsetStyle, Use, WEEKDAYS, compile_format};
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::Value;

/// `Time(target, format, location?, locale?)`.
struct ParseTime {
    target: Expr,
    format: Vec<Directive>,
    location: Option<TimeZone>,
}

/// The format and location are literals, so both are checked once, when the statement compiles.
pub(super) fn build_time(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let format_text = args.str(1)?;
    let format = compile_format(&format_text, Use::Parse).map_err(|e| args.error(1, e))?;
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

/// A ctime-style layout (`%Y-%m-%d %H:%M:%S`, `%b`, `%z`, ...) compiled once, for reading timestamps outside a
/// statement with exactly the directives `Time` reads: otelcol's log parsers (stanza's `strptime` layouts) use the
/// same table.
///
/// ```
/// let layout = otlp_ottl::TimeLayout::new("%Y-%m-%d %H:%M:%S", Some("Europe/Paris")).unwrap();
/// assert_eq!(layout.parse("2026-01-02 03:04:05").unwrap(), 1_767_319_445_000_000_000);
/// assert!(layout.parse("yesterday").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct TimeLayout {
    format: Vec<Directive>,
    location: Option<TimeZone>,
}

impl TimeLayout {
    /// Compiles `layout`; a time without an offset of its own is read in `location` (an IANA zone name), or in
    /// UTC without one.
    pub fn new(layout: &str, location: Option<&str>) -> std::result::Result<Self, String> {
        let format = compile_format(layout, Use::Parse)?;
        let location = match location {
            None | Some("") => None,
            Some(name) => Some(
                TimeZone::get(name).map_err(|e| format!("unknown time zone \"{name}\": {e}"))?,
            ),
        };
        Ok(TimeLayout { format, location })
    }

    /// `text` as nanoseconds since the Unix epoch; the whole text must match the layout.
    pub fn parse(&self, text: &str) -> std::result::Result<i128, String> {
        let fields = parse(&self.format, text)?;
        fields
            .to_nanos(self.location.as_ref())
            .map_err(|e| e.to_string())
    }
}

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
            Directive::AmPm(_) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    const NANOS_PER_SECOND: i128 = 1_000_000_000;

    fn parse_utc(text: &str, format: &str) -> i128 {
        parse(&compile_format(format, Use::Parse).unwrap(), text)
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
        assert!(parse(&compile_format("%Y", Use::Parse).unwrap(), "20x3").is_err());
    }
}
