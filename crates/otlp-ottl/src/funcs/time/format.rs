//! `FormatTime(time, format)`: a time written with the ctime-style directives `Time` reads.
//!
//! otelcol turns the directives into a Go layout (`%Y` into `2006`, `%L` into `999`, ...) and
//! hands it to `time.Format`, so Go's layout rules show through: the format may not contain
//! digits, `%L`/`%f`/`%s` print like Go's `.999` (trailing zeros dropped), and words of the
//! literal text that are Go layout elements (`Jan`, `Mon`, `MST`, `PM`, ...) are replaced too.
//! The compiled pieces reproduce those rules over the shared directive table.

use std::borrow::Cow;

use super::strptime::{Directive, MONTHS, OffsetStyle, Use, WEEKDAYS, compile_format};
use super::{civil_utc, expect_time};
use crate::context::TransformContext;
use crate::error::Result;
use crate::funcs::{Args, ConverterFn};
use crate::program::expr::Expr;
use crate::value::Value;

/// The zone every time is written in (see the module docs of `time`) and its abbreviation,
/// which `%Z` writes.
const ZONE_OFFSET_SECONDS: i32 = 0;
const ZONE_ABBREVIATION: &str = "UTC";

/// One compiled element of a `FormatTime` format.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Directive(Directive),
    /// `.%L`, `,%f`, `.%s`: Go's `.999`: the fraction of the second truncated to `digits`,
    /// trailing zeros dropped, and the separator too when no digit is left.
    Fraction {
        separator: char,
        digits: usize,
    },
    Text(String),
}

/// `FormatTime(time, format)`.
struct FormatTime {
    time: Expr,
    pieces: Vec<Piece>,
}

/// otelcol validates the format when the function is built, so a bad one is a compile error.
pub(super) fn build_format_time(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let time = args.getter(0)?;
    let format = args.str(1)?;
    let pieces = compile(&format).map_err(|e| args.error(1, e))?;
    Ok(Box::new(FormatTime { time, pieces }))
}

impl ConverterFn for FormatTime {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let nanos = expect_time(&self.time.eval(ctx)?, "FormatTime")?;
        let datetime = civil_utc(nanos, "FormatTime")?;
        let mut out = String::new();
        for piece in &self.pieces {
            write_piece(&mut out, piece, datetime);
        }
        Ok(Value::Str(Cow::Owned(out)))
    }
}

/// otelcol's checks (`ctimefmt.Validate`), then the directives as Go's layout would read them.
fn compile(format: &str) -> std::result::Result<Vec<Piece>, String> {
    if format.is_empty() {
        return Err("the format is empty".to_owned());
    }
    if format.chars().any(|c| c.is_ascii_digit()) {
        return Err(
            "the format must not contain digits (Go would read them as layout elements)".to_owned(),
        );
    }
    let directives = compile_format(format, Use::Format)?;
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut index = 0;
    while let Some(directive) = directives.get(index) {
        index += 1;
        match directive {
            Directive::Literal(separator @ ('.' | ','))
                if matches!(directives.get(index), Some(Directive::Fraction(_))) =>
            {
                let Some(Directive::Fraction(digits)) = directives.get(index) else {
                    continue;
                };
                index += 1;
                // Go takes `.999` for a fraction only when no digit follows it in the layout.
                if directives.get(index).is_some_and(writes_digit_first) {
                    text.push(*separator);
                    text.push_str(&"9".repeat(*digits));
                } else {
                    flush(&mut pieces, &mut text);
                    pieces.push(Piece::Fraction {
                        separator: *separator,
                        digits: *digits,
                    });
                }
            }
            Directive::Literal(c) => text.push(*c),
            // otelcol's check looks at the character before the directive, so a format that
            // starts with one passes it, and Go then writes the bare layout `999` as text.
            Directive::Fraction(digits) if index == 1 => text.push_str(&"9".repeat(*digits)),
            Directive::Fraction(digits) => {
                let name = match digits {
                    3 => "%L",
                    6 => "%f",
                    _ => "%s",
                };
                return Err(format!(
                    "invalid fractional seconds directive `{name}`: it must follow `.` or `,`"
                ));
            }
            other => {
                flush(&mut pieces, &mut text);
                pieces.push(Piece::Directive(other.clone()));
            }
        }
    }
    flush(&mut pieces, &mut text);
    Ok(pieces)
}

/// Whether the Go layout of `directive` starts with a digit (`%Y` is `2006`, `%H` is `15`).
fn writes_digit_first(directive: &Directive) -> bool {
    matches!(
        directive,
        Directive::Year4
            | Directive::Year2
            | Directive::Month(_)
            | Directive::Day(_)
            | Directive::Hour24
            | Directive::Hour12(_)
            | Directive::Minute
            | Directive::Second
    )
}

/// Ends a run of literal text, splitting out the words Go's layout reads as elements.
fn flush(pieces: &mut Vec<Piece>, text: &mut String) {
    if text.is_empty() {
        return;
    }
    let mut rest = text.as_str();
    let mut plain = String::new();
    while let Some(c) = rest.chars().next() {
        match go_layout_word(rest) {
            Some((directive, len)) => {
                if !plain.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut plain)));
                }
                pieces.push(Piece::Directive(directive));
                rest = &rest[len..];
            }
            None => {
                plain.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !plain.is_empty() {
        pieces.push(Piece::Text(plain));
    }
    text.clear();
}

/// The Go layout element made of letters at the start of `text`, as Go's `nextStdChunk`
/// matches them (the others contain digits, which the format may not).
fn go_layout_word(text: &str) -> Option<(Directive, usize)> {
    let words: [(&str, Directive); 7] = [
        ("January", Directive::MonthFull),
        ("Jan", Directive::MonthAbbrev),
        ("Monday", Directive::WeekdayFull),
        ("Mon", Directive::WeekdayAbbrev),
        ("MST", Directive::ZoneName),
        ("PM", Directive::AmPm(false)),
        ("pm", Directive::AmPm(true)),
    ];
    words
        .into_iter()
        .find(|(word, _)| text.starts_with(word))
        .map(|(word, directive)| (directive, word.len()))
}

fn write_piece(out: &mut String, piece: &Piece, t: jiff::civil::DateTime) {
    match piece {
        Piece::Text(text) => out.push_str(text),
        Piece::Fraction { separator, digits } => {
            write_fraction(out, *separator, *digits, t.subsec_nanosecond())
        }
        Piece::Directive(directive) => write_directive(out, directive, t),
    }
}

fn write_directive(out: &mut String, directive: &Directive, t: jiff::civil::DateTime) {
    let hour = i64::from(t.hour());
    let month_name = MONTHS[usize::try_from(t.month() - 1).unwrap_or(0) % 12];
    let weekday_name =
        WEEKDAYS[usize::try_from(t.weekday().to_sunday_zero_offset()).unwrap_or(0) % 7];
    match directive {
        Directive::Literal(c) => out.push(*c),
        Directive::Year4 => append_int(out, i64::from(t.year()), 4),
        Directive::Year2 => append_int(out, i64::from(t.year()) % 100, 2),
        Directive::Month(padded) => append_int(out, i64::from(t.month()), width(*padded)),
        Directive::MonthAbbrev => out.push_str(&month_name[..3]),
        Directive::MonthFull => out.push_str(month_name),
        Directive::Day(padded) => append_int(out, i64::from(t.day()), width(*padded)),
        Directive::DaySpacePadded => {
            if t.day() < 10 {
                out.push(' ');
            }
            append_int(out, i64::from(t.day()), 1);
        }
        Directive::WeekdayAbbrev => out.push_str(&weekday_name[..3]),
        Directive::WeekdayFull => out.push_str(weekday_name),
        Directive::Hour24 => append_int(out, hour, 2),
        Directive::Hour12(padded) => {
            let twelve = if hour % 12 == 0 { 12 } else { hour % 12 };
            append_int(out, twelve, width(*padded));
        }
        Directive::AmPm(lowercase) => out.push_str(match (hour >= 12, lowercase) {
            (true, false) => "PM",
            (true, true) => "pm",
            (false, false) => "AM",
            (false, true) => "am",
        }),
        Directive::Minute => append_int(out, i64::from(t.minute()), 2),
        Directive::Second => append_int(out, i64::from(t.second()), 2),
        // `compile` turns every fraction into `Piece::Fraction` or text; a bare one would be
        // Go's layout `999`, which is text.
        Directive::Fraction(digits) => out.push_str(&"9".repeat(*digits)),
        Directive::Offset(style) => write_offset(out, *style, ZONE_OFFSET_SECONDS),
        Directive::ZoneName => out.push_str(ZONE_ABBREVIATION),
    }
}

fn width(padded: bool) -> usize {
    if padded { 2 } else { 1 }
}

/// Go's `appendInt`: the sign, then the digits zero-padded to `width`.
fn append_int(out: &mut String, value: i64, width: usize) {
    if value < 0 {
        out.push('-');
    }
    let digits = value.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

/// Go's `formatNano` for `.999`-style layouts.
fn write_fraction(out: &mut String, separator: char, digits: usize, nanos: i32) {
    let all = format!("{:09}", nanos.max(0));
    let kept = all[..digits.min(9)].trim_end_matches('0');
    if !kept.is_empty() {
        out.push(separator);
        out.push_str(kept);
    }
}

/// Go's numeric zone layouts: `%z` is `Z0700`, which writes `Z` at offset zero; the others
/// (`-07`, `-07:00`, `-07:00:00`, `-070000`) always write the sign and the numbers.
fn write_offset(out: &mut String, style: OffsetStyle, offset_seconds: i32) {
    if style == OffsetStyle::HhMm && offset_seconds == 0 {
        out.push('Z');
        return;
    }
    out.push(if offset_seconds < 0 { '-' } else { '+' });
    let total = offset_seconds.unsigned_abs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let text = match style {
        OffsetStyle::Hh => format!("{h:02}"),
        OffsetStyle::HhMm => format!("{h:02}{m:02}"),
        OffsetStyle::HhColonMm => format!("{h:02}:{m:02}"),
        OffsetStyle::HhColonMmColonSs => format!("{h:02}:{m:02}:{s:02}"),
        OffsetStyle::HhMmSs => format!("{h:02}{m:02}{s:02}"),
    };
    out.push_str(&text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_follow_go_layout_rules() {
        assert_eq!(
            compile("%S.%L").unwrap(),
            vec![
                Piece::Directive(Directive::Second),
                Piece::Fraction {
                    separator: '.',
                    digits: 3
                }
            ]
        );
        // Followed by a digit element, `.999` is text in Go.
        assert_eq!(
            compile(".%L%H").unwrap(),
            vec![
                Piece::Text(".999".to_owned()),
                Piece::Directive(Directive::Hour24)
            ]
        );
        assert_eq!(compile("%L").unwrap(), vec![Piece::Text("999".to_owned())]);
        assert!(compile("%S%L").is_err());
        assert!(compile("%Y-1").is_err());
        assert!(compile("").is_err());
    }

    #[test]
    fn literal_words_become_layout_elements() {
        assert_eq!(
            compile("Month").unwrap(),
            vec![
                Piece::Directive(Directive::WeekdayAbbrev),
                Piece::Text("th".to_owned())
            ]
        );
    }

    #[test]
    fn fraction_digits_are_truncated_and_trimmed() {
        let mut out = String::new();
        write_fraction(&mut out, '.', 3, 789_900_000);
        assert_eq!(out, ".789");
        out.clear();
        write_fraction(&mut out, ',', 6, 120_000_000);
        assert_eq!(out, ",12");
        out.clear();
        write_fraction(&mut out, '.', 9, 0);
        assert_eq!(out, "");
    }
}
