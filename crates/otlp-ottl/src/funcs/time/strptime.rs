//! The ctime-style directives (`%Y`, `%b`, `%z`, ...) of otelcol's `ctimefmt`, shared by `Time`
//! (parsing) and `FormatTime` (formatting), so both accept exactly the same format strings.

/// One element of a compiled format.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Directive {
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
    /// `AM`/`PM`; `true` for the lowercase `am`/`pm` that `%P` and `%r` write (parsing ignores
    /// case either way).
    AmPm(bool),
    Minute,
    Second,
    /// Fractional digits: 3 (ms), 6 (µs) or 9 (ns).
    Fraction(usize),
    /// `±hhmm`, `±hh`, `±hh:mm`, `±hh:mm:ss`, `±hhmmss`.
    Offset(OffsetStyle),
    ZoneName,
}

/// The numeric zone layouts `%z`, `%i`, `%j`, `%k`, `%w` (Go's `-0700`, `-07`, `-07:00`, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum OffsetStyle {
    HhMm,
    Hh,
    HhColonMm,
    HhColonMmColonSs,
    HhMmSs,
}

/// Which of `ctimefmt`'s two tables the composite directives follow. Go writes with
/// `ctimeSubstitutes` (`%D` as `01/02/2006` with a four-digit year, `%c` with a zero-padded
/// day, `%o` as the layout `_1`, an underscore and the month) but reads with
/// `ctimeParseSubstitutes`, which also accepts what strptime(3) writes; keeping the difference
/// here keeps one table of directives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Use {
    Parse,
    Format,
}

/// Compiles once per statement so evaluation only walks the directives; an unknown directive
/// is an error for the caller to report at the argument.
pub(super) fn compile_format(format: &str, usage: Use) -> Result<Vec<Directive>, String> {
    let mut out = Vec::new();
    let mut chars = format.chars();
    let formatting = usage == Use::Format;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(Directive::Literal(c));
            continue;
        }
        let Some(d) = chars.next() else {
            return Err("the format ends with a lone `%`".to_owned());
        };
        let expand = |text: &str| compile_format(text, usage);
        match d {
            'Y' => out.push(Directive::Year4),
            'y' => out.push(Directive::Year2),
            'm' => out.push(Directive::Month(true)),
            'o' if formatting => {
                out.push(Directive::Literal('_'));
                out.push(Directive::Month(false));
            }
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
            'p' => out.push(Directive::AmPm(false)),
            'P' => out.push(Directive::AmPm(true)),
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
            'D' | 'x' if formatting => out.extend(expand("%m/%d/%Y")?),
            'D' | 'x' => out.extend(expand("%m/%d/%y")?),
            'F' => out.extend(expand("%Y-%m-%d")?),
            'T' | 'X' => out.extend(expand("%H:%M:%S")?),
            'r' => out.extend(expand("%I:%M:%S %P")?),
            'R' => out.extend(expand("%H:%M")?),
            'c' if formatting => out.extend(expand("%a %b %d %H:%M:%S %Y")?),
            'c' => out.extend(expand("%a %b %e %H:%M:%S %Y")?),
            'n' => out.push(Directive::Literal('\n')),
            't' => out.push(Directive::Literal('\t')),
            '%' => out.push(Directive::Literal('%')),
            other => return Err(format!("unknown directive `%{other}`")),
        }
    }
    Ok(out)
}

/// English names only: otelcol's `locale` is what would bring others, and we accept only `en`.
pub(super) const MONTHS: [&str; 12] = [
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

/// Sunday first, as Go's `time.Weekday` numbers them.
pub(super) const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
