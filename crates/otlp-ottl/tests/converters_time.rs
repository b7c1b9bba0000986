//! The time and duration converters and `Log`, with cases from otelcol-contrib's
//! `pkg/ottl/ottlfuncs/README.md` ("Converters") and the Go tests of `pkg/ottl/ottlfuncs`; each
//! test cites its section, and every expectation is written by hand. Calendar parts are in UTC
//! (our times carry no zone; see `src/funcs/time/mod.rs`).

mod common;

use common::*;
use otlp_ottl::{ContextKind, Value, evaluate, parse_expression};

const SPAN: ContextKind = ContextKind::Span;

/// 2023-02-04T05:06:07.089Z, a Saturday.
const SATURDAY: &str = "Unix(1675487167, 89000000)";

fn eval(text: &str) -> Value<'static> {
    evaluate(text).unwrap_or_else(|e| panic!("`{text}`: {e}"))
}

fn eval_err(text: &str) -> String {
    match evaluate(text) {
        Ok(v) => panic!("`{text}` evaluated to {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn compile_err(text: &str) -> String {
    match parse_expression(SPAN, text) {
        Ok(_) => panic!("`{text}` compiled"),
        Err(e) => e.to_string(),
    }
}

fn on_saturday(function: &str) -> Value<'static> {
    eval(&format!("{function}({SATURDAY})"))
}

fn assert_close(actual: Value<'static>, expected: f64) {
    let Value::Double(actual) = actual else {
        panic!("{actual:?} is not a double");
    };
    assert!(
        (actual - expected).abs() <= expected.abs() * 1e-15,
        "{actual} != {expected}"
    );
}

// README "Year", "Month", "Day", "Weekday" ("0-6 (Sun-Sat)"), "Hour", "Minute", "Second",
// "Nanosecond": the components of a time, as int64.
#[test]
fn time_parts() {
    assert_eq!(on_saturday("Year"), Value::Int(2023));
    assert_eq!(on_saturday("Month"), Value::Int(2));
    assert_eq!(on_saturday("Day"), Value::Int(4));
    assert_eq!(on_saturday("Weekday"), Value::Int(6));
    assert_eq!(on_saturday("Hour"), Value::Int(5));
    assert_eq!(on_saturday("Minute"), Value::Int(6));
    assert_eq!(on_saturday("Second"), Value::Int(7));
    assert_eq!(on_saturday("Nanosecond"), Value::Int(89_000_000));
    // One second before the epoch: Wednesday 1969-12-31T23:59:59Z.
    assert_eq!(eval("Year(Unix(-1))"), Value::Int(1969));
    assert_eq!(eval("Month(Unix(-1))"), Value::Int(12));
    assert_eq!(eval("Day(Unix(-1))"), Value::Int(31));
    assert_eq!(eval("Weekday(Unix(-1))"), Value::Int(3));
    assert_eq!(eval("Hour(Unix(-1))"), Value::Int(23));
    assert_eq!(eval("Minute(Unix(-1))"), Value::Int(59));
    assert_eq!(eval("Second(Unix(-1))"), Value::Int(59));
    assert_eq!(eval("Nanosecond(Unix(-1))"), Value::Int(0));
    // otelcol names the argument `time`.
    assert_eq!(eval("Year(time = Unix(0))"), Value::Int(1970));
}

// README "Hour" ... on telemetry: `span.start_time` of the fixture is 2023-02-04T00:00:00Z and
// `end_time` 250 ms later; `Year(Now())` is a year.
#[test]
fn time_parts_of_paths_and_now() {
    let mut f = Fixture::default();
    assert_eq!(f.value(SPAN, "Hour(span.start_time)"), Value::Int(0));
    assert_eq!(f.value(SPAN, "Weekday(span.start_time)"), Value::Int(6));
    assert_eq!(
        f.value(SPAN, "Nanosecond(span.end_time)"),
        Value::Int(250_000_000)
    );
    let Value::Int(year) = eval("Year(Now())") else {
        panic!("Year(Now()) is not an int");
    };
    assert!(year >= 2024, "{year}");
}

// README "Year" ... "Nanosecond": "If `value` is another type, an error is returned."
#[test]
fn time_parts_reject_other_types() {
    for function in [
        "Year",
        "Month",
        "Day",
        "Weekday",
        "Hour",
        "Minute",
        "Second",
        "Nanosecond",
    ] {
        let err = eval_err(&format!(r#"{function}("2023-02-04")"#));
        assert!(
            err.contains(&format!("{function}: expected a time, got string")),
            "{err}"
        );
    }
    assert!(eval_err(r#"Hour(Duration("1h"))"#).contains("expected a time, got duration"));
    let mut f = Fixture::default();
    assert!(
        f.value_err(SPAN, r#"Day(attributes["missing"])"#)
            .contains("Day: expected a time")
    );
}

// README "Hours", "Minutes", "Seconds" (float64) and "Milliseconds", "Microseconds",
// "Nanoseconds" (int64), each with its example `X(Duration("1h"))`.
#[test]
fn duration_parts() {
    assert_eq!(eval(r#"Hours(Duration("1h"))"#), Value::Double(1.0));
    assert_eq!(eval(r#"Minutes(Duration("1h"))"#), Value::Double(60.0));
    assert_eq!(eval(r#"Seconds(Duration("1h"))"#), Value::Double(3600.0));
    assert_eq!(
        eval(r#"Milliseconds(Duration("1h"))"#),
        Value::Int(3_600_000)
    );
    assert_eq!(
        eval(r#"Microseconds(Duration("1h"))"#),
        Value::Int(3_600_000_000)
    );
    assert_eq!(
        eval(r#"Nanoseconds(Duration("1h"))"#),
        Value::Int(3_600_000_000_000)
    );
    // Fractions: Go's Hours of 100h10m is 100 + 10/60.
    assert_eq!(
        eval(r#"Hours(Duration("100h10m"))"#),
        Value::Double(100.16666666666667)
    );
    assert_eq!(eval(r#"Minutes(Duration("1m30s"))"#), Value::Double(1.5));
    assert_eq!(eval(r#"Seconds(Duration("-1.5s"))"#), Value::Double(-1.5));
    // The int64 units truncate toward zero, as Go's integer division does.
    assert_eq!(eval(r#"Milliseconds(Duration("-1.5ms"))"#), Value::Int(-1));
    assert_eq!(eval(r#"Microseconds(Duration("1999ns"))"#), Value::Int(1));
    assert_eq!(eval(r#"Nanoseconds(Duration("1us"))"#), Value::Int(1_000));
    // otelcol names the argument `duration`.
    assert_eq!(
        eval(r#"Seconds(duration = Duration("250ms"))"#),
        Value::Double(0.25)
    );
    // Durations from math on times.
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, "Milliseconds(span.end_time - span.start_time)"),
        Value::Int(250)
    );
}

// README "Hours" ...: "`value` is a `time.Duration`. If `value` is another type an error is
// returned."
#[test]
fn duration_parts_reject_other_types() {
    for function in [
        "Hours",
        "Minutes",
        "Seconds",
        "Milliseconds",
        "Microseconds",
        "Nanoseconds",
    ] {
        let err = eval_err(&format!(r#"{function}("1h")"#));
        assert!(
            err.contains(&format!("{function}: expected a duration, got string")),
            "{err}"
        );
    }
    assert!(eval_err("Seconds(3)").contains("expected a duration, got int"));
    assert!(eval_err("Hours(Now())").contains("expected a duration, got time"));
}

// README "TruncateTime": "the given time rounded down to a multiple of the given duration"
// (Go's `time.Truncate`); cases from func_truncate_time_test.go.
#[test]
fn truncate_time() {
    // 2022-01-01T01:01:01.999999999Z to 1s and to 1ms.
    assert_eq!(
        eval(r#"UnixNano(TruncateTime(Unix(1640998861, 999999999), Duration("1s")))"#),
        Value::Int(1_640_998_861_000_000_000)
    );
    assert_eq!(
        eval(r#"UnixNano(TruncateTime(Unix(1640998861, 999999999), Duration("1ms")))"#),
        Value::Int(1_640_998_861_999_000_000)
    );
    // "truncate old time": 1980-09-09T09:59:59.999999999Z to 1h is 09:00:00.
    assert_eq!(
        eval(r#"UnixNano(TruncateTime(Unix(337341599, 999999999), Duration("1h")))"#),
        Value::Int(337_338_000_000_000_000)
    );
    // Go counts multiples from January 1 of year 1, a Monday: a week truncates to Monday
    // 2023-01-30T00:00:00Z.
    assert_eq!(
        eval(&format!(
            r#"UnixSeconds(TruncateTime({SATURDAY}, Duration("168h")))"#
        )),
        Value::Int(1_675_036_800)
    );
    // Before the epoch, down means toward the past: -0.5s to 1s is -1s.
    assert_eq!(
        eval(r#"UnixNano(TruncateTime(Unix(0, -500000000), Duration("1s")))"#),
        Value::Int(-1_000_000_000)
    );
    // Go leaves the time as it is for a duration of zero or less.
    assert_eq!(
        eval(r#"UnixNano(TruncateTime(Unix(1, 5), Duration("0s")))"#),
        Value::Int(1_000_000_005)
    );
    assert_eq!(
        eval(r#"UnixNano(TruncateTime(Unix(1, 5), Duration("-1s")))"#),
        Value::Int(1_000_000_005)
    );
    // README example on a path: `TruncateTime(span.start_time, Duration("1s"))`.
    let mut f = Fixture::default();
    assert!(f.cond(
        SPAN,
        r#"TruncateTime(span.end_time, Duration("1s")) == span.start_time"#
    ));
    f.run(
        SPAN,
        r#"set(span.end_time, TruncateTime(span.end_time, Duration("1s")))"#,
    );
    assert_eq!(f.span.end_time_unix_nano, 1_675_468_800_000_000_000);
}

// README "TruncateTime": "If `time` is not a `time.Time` or if `duration` is not a
// `time.Duration`, an error will be returned." (Test_TruncateTimeError).
#[test]
fn truncate_time_errors() {
    let err = eval_err(r#"TruncateTime("11/11/11", Duration("1ms"))"#);
    assert!(
        err.contains("TruncateTime: expected a time, got string"),
        "{err}"
    );
    let err = eval_err(r#"TruncateTime(Now(), "string")"#);
    assert!(
        err.contains("TruncateTime: expected a duration, got string"),
        "{err}"
    );
    let err = compile_err("TruncateTime(Now())");
    assert!(err.contains("duration"), "{err}");
}

// README "FormatTime": the examples, `FormatTime(Time("02/04/2023", "%m/%d/%Y"), "%A %h %e %Y")`
// and `FormatTime(..., "%b %d %Y %H:%M:%S")`.
#[test]
fn format_time_readme_examples() {
    // `%e` is space padded.
    assert_eq!(
        eval(r#"FormatTime(Time("02/04/2023", "%m/%d/%Y"), "%A %h %e %Y")"#),
        vs("Saturday Feb  4 2023")
    );
    assert_eq!(
        eval(&format!(r#"FormatTime({SATURDAY}, "%b %d %Y %H:%M:%S")"#)),
        vs("Feb 04 2023 05:06:07")
    );
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, r#"FormatTime(span.start_time, "%Y-%m-%d %H:%M:%S")"#),
        vs("2023-02-04 00:00:00")
    );
    // Named arguments as otelcol names them.
    assert_eq!(
        eval(&format!(r#"FormatTime(format = "%F", time = {SATURDAY})"#)),
        vs("2023-02-04")
    );
}

// README "FormatTime", the table of substitutions, as otelcol's ctimefmt writes them (Go layout
// in brackets): the time is 2023-02-04T05:06:07.089Z.
#[test]
fn format_time_directives() {
    let cases = [
        ("%Y", "2023"),
        ("%y", "23"),
        ("%m", "02"),
        // `%o` is the Go layout `_1`: an underscore, then the month.
        ("%o", "_2"),
        ("%q", "2"),
        ("%b", "Feb"),
        ("%h", "Feb"),
        ("%B", "February"),
        ("%d", "04"),
        ("%e", " 4"),
        ("%g", "4"),
        ("%a", "Sat"),
        ("%A", "Saturday"),
        ("%H", "05"),
        ("%I", "05"),
        ("%l", "5"),
        ("%p", "AM"),
        ("%P", "am"),
        ("%M", "06"),
        ("%S", "07"),
        // UTC: `%z` is Go's `Z0700`, `Z` at offset zero.
        ("%z", "Z"),
        ("%Z", "UTC"),
        ("%i", "+00"),
        ("%j", "+00:00"),
        ("%k", "+00:00:00"),
        ("%w", "+000000"),
        // `%D` and `%x` write `01/02/2006`, a four-digit year.
        ("%D", "02/04/2023"),
        ("%x", "02/04/2023"),
        ("%F", "2023-02-04"),
        ("%T", "05:06:07"),
        ("%X", "05:06:07"),
        ("%r", "05:06:07 am"),
        ("%R", "05:06"),
        ("%c", "Sat Feb 04 05:06:07 2023"),
        ("%n", "\n"),
        ("%t", "\t"),
        ("%%", "%"),
    ];
    for (format, expected) in cases {
        assert_eq!(
            eval(&format!(r#"FormatTime({SATURDAY}, "{format}")"#)),
            vs(expected),
            "{format}"
        );
    }
}

// README "FormatTime": `%L`, `%f`, `%s` are Go's `.999` fractions: trailing zeros dropped, and
// the separator with them when the fraction is zero.
#[test]
fn format_time_fractions() {
    assert_eq!(
        eval(&format!(r#"FormatTime({SATURDAY}, "%H:%M:%S.%L")"#)),
        vs("05:06:07.089")
    );
    assert_eq!(
        eval(&format!(r#"FormatTime({SATURDAY}, "%S,%f")"#)),
        vs("07,089")
    );
    assert_eq!(
        eval(&format!(r#"FormatTime({SATURDAY}, "%S.%s")"#)),
        vs("07.089")
    );
    assert_eq!(
        eval(r#"FormatTime(Unix(1675487167, 123456789), "%S.%L|%S.%f|%S.%s")"#),
        vs("07.123|07.123456|07.123456789")
    );
    assert_eq!(
        eval(r#"FormatTime(Unix(1675487167), "%H:%M:%S.%L")"#),
        vs("05:06:07")
    );
    assert_eq!(
        eval(&format!(
            r#"FormatTime({SATURDAY}, "%Y-%m-%dT%H:%M:%S.%L%z")"#
        )),
        vs("2023-02-04T05:06:07.089Z")
    );
}

// README "FormatTime": 12-hour clock at noon-side and midnight.
#[test]
fn format_time_twelve_hour_clock() {
    // 2023-02-04T13:00:00Z and 2023-02-04T00:00:00Z.
    assert_eq!(
        eval(r#"FormatTime(Unix(1675515600), "%l %I %p %P")"#),
        vs("1 01 PM pm")
    );
    assert_eq!(
        eval(r#"FormatTime(Unix(1675468800), "%l %I %p")"#),
        vs("12 12 AM")
    );
}

// README "FormatTime": "It follows standard Go Layout formatting": literal words that are Go
// layout elements are replaced as in otelcol (`Mon` of `Month` is the weekday).
#[test]
fn format_time_go_layout_words() {
    assert_eq!(
        eval(&format!(r#"FormatTime({SATURDAY}, "Month: %m")"#)),
        vs("Satth: 02")
    );
    assert_eq!(
        eval(&format!(r#"FormatTime({SATURDAY}, "at %H (PM)")"#)),
        vs("at 05 (AM)")
    );
}

// README "FormatTime": "If `time` is another type an error is returned ... If `format` does not
// follow the parsing rules used by this parser, an error is returned" (at startup, as
// otelcol validates the format when the function is built).
#[test]
fn format_time_errors() {
    let err = eval_err(r#"FormatTime("2023-02-04", "%Y")"#);
    assert!(
        err.contains("FormatTime: expected a time, got string"),
        "{err}"
    );
    let err = compile_err(r#"FormatTime(Now(), "%Y-%Q")"#);
    assert!(err.contains("unknown directive `%Q`"), "{err}");
    let err = compile_err(r#"FormatTime(Now(), "%Y 1")"#);
    assert!(err.contains("must not contain digits"), "{err}");
    let err = compile_err(r#"FormatTime(Now(), "")"#);
    assert!(err.contains("empty"), "{err}");
    let err = compile_err(r#"FormatTime(Now(), "%S%L")"#);
    assert!(err.contains("must follow `.` or `,`"), "{err}");
    let err = compile_err(r#"FormatTime(Now(), "%Y%")"#);
    assert!(err.contains("lone `%`"), "{err}");
    // The format is a literal string, not a path.
    let mut f = Fixture::default();
    f.span.attributes.push(otlp_ottl::key_value("fmt", s("%Y")));
    assert!(parse_expression(SPAN, r#"FormatTime(Now(), attributes["fmt"])"#).is_err());
}

// README "Log": the natural logarithm as a float64; ints, strings and booleans are converted
// (func_log_test.go: "50", 333, 2.7, 55.0, true).
#[test]
fn log() {
    assert_close(eval(r#"Log("50")"#), 3.912023005428146);
    assert_close(eval("Log(333)"), 5.808142489980444);
    assert_close(eval("Log(2.7)"), 0.9932517730102834);
    assert_close(eval("Log(55.0)"), 4.007333185232471);
    assert_eq!(eval("Log(true)"), Value::Double(0.0));
    assert_eq!(eval("Log(target = 1)"), Value::Double(0.0));
    // README: `Int(Log(span.attributes["duration_ms"]))`; ln 200 is 5.298...
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, r#"Int(Log(span.attributes["http.status_code"]))"#),
        Value::Int(5)
    );
    f.span
        .attributes
        .push(otlp_ottl::key_value("duration_ms", d(1.0)));
    assert_eq!(
        f.value(SPAN, r#"Log(span.attributes["duration_ms"])"#),
        Value::Double(0.0)
    );
}

// README "Log": "returning an error if the target is less than or equal to zero", "passing
// `false` ... will cause an error", "If target is nil an error is returned"; other types are
// unsupported.
#[test]
fn log_errors() {
    let err = eval_err("Log(0.0)");
    assert!(
        err.contains("Log: invalid input: expected number greater than zero but got 0"),
        "{err}"
    );
    let err = eval_err("Log(-30.3)");
    assert!(err.contains("greater than zero but got -30.3"), "{err}");
    let err = eval_err("Log(false)");
    assert!(err.contains("greater than zero but got 0"), "{err}");
    let err = eval_err(r#"Log("test")"#);
    assert!(err.contains("invalid syntax"), "{err}");
    let err = eval_err("Log(nil)");
    assert!(err.contains("invalid input: <nil>"), "{err}");
    let err = eval_err(r#"Log({"a": 1})"#);
    assert!(err.contains("Log: unsupported type"), "{err}");
}
