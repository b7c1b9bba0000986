//! Conformance of the grammar with otelcol-contrib's `pkg/ottl/LANGUAGE.md`. Each group cites the
//! section of LANGUAGE.md its cases come from; every expected value is written by hand from that
//! description.

mod common;

use common::*;
use otlp_ottl::{ContextKind, Error, Value, evaluate, parse_condition, parse_statement};

const SPAN: ContextKind = ContextKind::Span;

// LANGUAGE.md "Literals": strings in double quotes, ints with optional sign, floats with an
// optional leading digit, `true`/`false`, `nil`, byte slices as `0x` hex.
#[test]
fn literals() {
    assert_eq!(evaluate(r#""a string""#).unwrap(), vs("a string"));
    assert_eq!(evaluate("1").unwrap(), Value::Int(1));
    assert_eq!(evaluate("-1").unwrap(), Value::Int(-1));
    assert_eq!(evaluate("+7").unwrap(), Value::Int(7));
    assert_eq!(evaluate("1.5").unwrap(), Value::Double(1.5));
    assert_eq!(evaluate("-.5").unwrap(), Value::Double(-0.5));
    assert_eq!(evaluate("true").unwrap(), Value::Bool(true));
    assert_eq!(evaluate("false").unwrap(), Value::Bool(false));
    assert_eq!(evaluate("nil").unwrap(), Value::Nil);
    assert_eq!(
        evaluate("0x0001").unwrap(),
        Value::Bytes(vec![0x00, 0x01].into())
    );
}

// LANGUAGE.md "Literals" (strings): escapes are resolved as Go's strconv.Unquote does.
#[test]
fn string_escapes() {
    assert_eq!(evaluate(r#""say \"hi\"""#).unwrap(), vs("say \"hi\""));
    assert_eq!(evaluate(r#""a\\b""#).unwrap(), vs("a\\b"));
    assert_eq!(evaluate(r#""tab\there""#).unwrap(), vs("tab\there"));
    assert_eq!(evaluate(r#""\u00e9\x41""#).unwrap(), vs("éA"));
}

// LANGUAGE.md "Lists": `[]`, `[1]`, `["1", "2", "3"]`, and lists mixing literals, paths and
// converters.
#[test]
fn lists() {
    assert_eq!(evaluate("[]").unwrap(), vlist(vec![]));
    assert_eq!(evaluate("[1]").unwrap(), vlist(vec![i(1)]));
    assert_eq!(
        evaluate(r#"["1", "2", "3"]"#).unwrap(),
        vlist(vec![s("1"), s("2"), s("3")])
    );
    let mut f = Fixture::default();
    f.span
        .attributes
        .push(otlp_ottl::key_value("key", s("value")));
    assert_eq!(
        f.value(SPAN, r#"["a", attributes["key"], Concat(["a", "b"], "-")]"#),
        vlist(vec![s("a"), s("value"), s("a-b")])
    );
}

// LANGUAGE.md "Maps": `{}`, `{"foo": "bar"}`, nested maps, values from paths.
#[test]
fn maps() {
    assert_eq!(evaluate("{}").unwrap(), vmap(vec![]));
    assert_eq!(
        evaluate(r#"{"foo": "bar"}"#).unwrap(),
        vmap(vec![("foo", s("bar"))])
    );
    assert_eq!(
        evaluate(r#"{"foo": {"a": 2}}"#).unwrap(),
        vmap(vec![("foo", map(vec![("a", i(2))]))])
    );
    let mut f = Fixture::default();
    f.span.attributes.push(otlp_ottl::key_value("key", s("v")));
    assert_eq!(
        f.value(SPAN, r#"{"foo": {"a": attributes["key"]}}"#),
        vmap(vec![("foo", map(vec![("a", s("v"))]))])
    );
}

// LANGUAGE.md "Math Expressions": `*` and `/` before `+` and `-`, same precedence left to
// right, parentheses group, integer division follows Go (truncation toward zero), mixing int
// and float is an error, dividing by zero is an error.
#[test]
fn math_expressions() {
    assert_eq!(evaluate("1 + 1").unwrap(), Value::Int(2));
    assert_eq!(evaluate("1 + 2 * 3").unwrap(), Value::Int(7));
    assert_eq!(evaluate("(1 + 2) * 3").unwrap(), Value::Int(9));
    assert_eq!(evaluate("10 - 2 - 3").unwrap(), Value::Int(5));
    assert_eq!(evaluate("8 / 2 / 2").unwrap(), Value::Int(2));
    assert_eq!(evaluate("7 / 2").unwrap(), Value::Int(3));
    assert_eq!(evaluate("-7 / 2").unwrap(), Value::Int(-3));
    assert_eq!(evaluate("1.5 * 2.0").unwrap(), Value::Double(3.0));
    let mixed = evaluate("1 + 1.5").unwrap_err();
    assert!(mixed.to_string().contains("int and a double"), "{mixed}");
    let zero = evaluate("1 / 0").unwrap_err();
    assert!(zero.to_string().contains("divide by zero"), "{zero}");
    // Paths work in math: `end_time_unix_nano - end_time_unix_nano`.
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, "end_time_unix_nano - end_time_unix_nano"),
        Value::Int(0)
    );
    assert_eq!(
        f.value(SPAN, "end_time_unix_nano - start_time_unix_nano"),
        Value::Int(250_000_000)
    );
    // Per item, a wrong operand type is an execution error, not a crash.
    let err = f.value_err(SPAN, "name + 1");
    assert!(err.contains("math expressions support"), "{err}");
}

// LANGUAGE.md "Math Expressions" with time.Time and time.Duration: time - time is a duration,
// time ± duration a time, duration ± duration a duration; `*` and `/` are not allowed.
#[test]
fn time_math() {
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, "end_time - start_time"),
        Value::Duration(250_000_000)
    );
    assert_eq!(
        f.value(SPAN, r#"start_time + Duration("250ms")"#),
        Value::Time(1_675_468_800_250_000_000)
    );
    assert!(f.cond(SPAN, r#"end_time - Duration("250ms") == start_time"#));
    assert!(f.cond(SPAN, r#"Duration("1s") + Duration("1s") == Duration("2s")"#));
    assert!(f.cond(
        SPAN,
        r#"Duration("1s") + start_time == start_time + Duration("1s")"#
    ));
    let err = parse_condition(SPAN, r#"Duration("1s") * 2 == 1"#)
        .unwrap()
        .eval(&f.ctx(SPAN))
        .unwrap_err();
    assert!(err.to_string().contains("does not apply"), "{err}");
}

// LANGUAGE.md "Boolean Expressions": `not` binds tightest, then `and`, then `or`; parentheses
// override.
#[test]
fn boolean_precedence() {
    let mut f = Fixture::default();
    assert!(f.cond(SPAN, "true or false and false"));
    assert!(!f.cond(SPAN, "(true or false) and false"));
    assert!(f.cond(SPAN, "not true or true"));
    assert!(!f.cond(SPAN, "not (true or true)"));
    assert!(!f.cond(SPAN, "not true"));
    assert!(!f.cond(SPAN, r#"not name == "GET /health""#));
    // `not (IsMatch(name, "http_.*") and kind > 0)`: the name is not http_..., so true.
    assert!(f.cond(SPAN, r#"not (IsMatch(name, "http_.*") and kind > 0)"#));
    assert!(f.cond(SPAN, "not not true"));
}

// LANGUAGE.md "Booleans": the six operators and the examples `name == "a name"`, `1 < 2`,
// `attributes["custom-attr"] != nil`, `IsMatch(resource.attributes["host.name"], "pod-*")`.
#[test]
fn comparison_operators_and_examples() {
    let mut f = Fixture::default();
    assert!(f.cond(SPAN, r#"name == "GET /health""#));
    assert!(!f.cond(SPAN, r#"name == "a name""#));
    assert!(f.cond(SPAN, "1 < 2"));
    assert!(f.cond(SPAN, "2 <= 2"));
    assert!(f.cond(SPAN, "3 > 2"));
    assert!(f.cond(SPAN, "3 >= 3"));
    assert!(f.cond(SPAN, "3 != 2"));
    assert!(!f.cond(SPAN, r#"attributes["custom-attr"] != nil"#));
    assert!(f.cond(SPAN, r#"attributes["http.method"] != nil"#));
    assert!(f.cond(
        SPAN,
        r#"IsMatch(resource.attributes["host.name"], "pod-*")"#
    ));
}

// LANGUAGE.md "Comparison Rules": the table, row by row.
#[test]
fn comparison_rules() {
    let mut f = Fixture::default();
    // bool: normal, T > F.
    assert!(f.cond(SPAN, "true > false"));
    // int vs float: compared as float64.
    assert!(f.cond(SPAN, "1 == 1.0"));
    assert!(f.cond(SPAN, "1 < 1.5"));
    // strings: compared as Go strings (bytewise).
    assert!(f.cond(SPAN, r#""a" < "b""#));
    assert!(f.cond(SPAN, r#""B" < "a""#));
    // Bytes: byte-for-byte.
    assert!(f.cond(SPAN, "0x0102 == 0x0102"));
    assert!(f.cond(SPAN, "0x0102 < 0x0103"));
    // nil: equal only to nil.
    assert!(f.cond(SPAN, "nil == nil"));
    assert!(!f.cond(SPAN, "nil < nil"));
    // Different types are "not equal": `!=` holds, every other operator does not.
    assert!(f.cond(SPAN, r#""1" != 1"#));
    assert!(!f.cond(SPAN, r#""1" == 1"#));
    assert!(!f.cond(SPAN, r#""1" < 1"#));
    assert!(!f.cond(SPAN, r#""1" >= 1"#));
    assert!(f.cond(SPAN, "true != 1"));
    assert!(f.cond(SPAN, "nil != 0"));
    // Maps and slices: equality only, deep.
    assert!(f.cond(SPAN, r#"{"a": 1, "b": [1, 2]} == {"b": [1, 2], "a": 1}"#));
    assert!(f.cond(SPAN, "[1, 2] != [2, 1]"));
    assert!(!f.cond(SPAN, "[1] < [2]"));
    // pcommon.Value against a literal: the attribute's value is extracted and compared.
    assert!(f.cond(SPAN, r#"attributes["http.status_code"] == 200"#));
    assert!(f.cond(SPAN, r#"attributes["http.status_code"] >= 200.0"#));
    assert!(f.cond(SPAN, r#"attributes["http.method"] == "GET""#));
}

// LANGUAGE.md "Paths": a missing map key is nil, keys chain into nested maps and slices, and
// keys can be expressions (paths or converters).
#[test]
fn paths_and_keys() {
    let mut f = Fixture::default();
    f.span.attributes.push(otlp_ottl::key_value(
        "nested",
        map(vec![("values", list(vec![s("x"), s("y")]))]),
    ));
    f.span
        .attributes
        .push(otlp_ottl::key_value("which", s("http.method")));
    assert_eq!(f.value(SPAN, r#"attributes["missing"]"#), Value::Nil);
    assert_eq!(
        f.value(SPAN, r#"attributes["missing"]["deeper"]"#),
        Value::Nil
    );
    assert_eq!(
        f.value(SPAN, r#"attributes["nested"]["values"][1]"#),
        vs("y")
    );
    assert_eq!(
        f.value(SPAN, r#"attributes[attributes["which"]]"#),
        vs("GET")
    );
    f.run(SPAN, r#"set(cache["slice"], ["a", "b"])"#);
    assert_eq!(f.value(SPAN, r#"cache["slice"][1]"#), vs("b"));
    let err = f.value_err(SPAN, r#"attributes["nested"]["values"][5]"#);
    assert!(err.contains("out of bounds"), "{err}");
    let err = f.value_err(SPAN, r#"attributes["http.method"]["x"]"#);
    assert!(err.contains("does not support string indexing"), "{err}");
}

// LANGUAGE.md "Converters": converters may be indexed, `Split(field, ",")[1]`.
#[test]
fn converter_keys() {
    assert_eq!(evaluate(r#"Split("a,b,c", ",")[1]"#).unwrap(), vs("b"));
    assert_eq!(
        evaluate(r#"ParseJSON("{\"a\": {\"b\": \"c\"}}")["a"]["b"]"#).unwrap(),
        vs("c")
    );
}

// LANGUAGE.md "Enums": uppercase identifiers interpreted while parsing as int64.
#[test]
fn enums() {
    let mut f = Fixture::default();
    assert!(f.cond(SPAN, "kind == SPAN_KIND_SERVER"));
    assert!(f.cond(SPAN, "SPAN_KIND_SERVER == 2"));
    f.run(SPAN, r#"set(attributes["k"], SPAN_KIND_CLIENT)"#);
    assert_eq!(f.span_attr("k"), Some(&i(3)));
    let err = parse_condition(SPAN, "kind == SPAN_KIND_SERVR").unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown enum `SPAN_KIND_SERVR`; did you mean `SPAN_KIND_SERVER`?"),
        "{err}"
    );
    let err = parse_condition(ContextKind::Log, "severity_number == SPAN_KIND_SERVER").unwrap_err();
    assert!(
        err.to_string().contains("not available in the log context"),
        "{err}"
    );
}

// LANGUAGE.md "Arguments in invocations": positional in order, named in any order after the
// positional ones, named arguments may skip earlier optional ones.
#[test]
fn named_arguments() {
    let mut f = Fixture::default();
    f.span
        .attributes
        .push(otlp_ottl::key_value("long", s("abcdefgh")));
    f.run(
        SPAN,
        r#"truncate_all(attributes, 5, truncation_marker = "..")"#,
    );
    assert_eq!(f.span_attr("long"), Some(&s("abc..")));
    let mut f = Fixture::default();
    f.run(SPAN, r#"set(value = "v", target = attributes["named"])"#);
    assert_eq!(f.span_attr("named"), Some(&s("v")));
    let err = parse_statement(SPAN, r#"set(target = attributes["x"], "v")"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("positional arguments must come before named"),
        "{err}"
    );
    let err = parse_statement(SPAN, r#"set(attributes["x"], "v", "extra")"#).unwrap_err();
    assert!(err.to_string().contains("too many arguments"), "{err}");
    let err = parse_statement(SPAN, r#"set(attributes["x"])"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("missing argument `value`: `set` takes set(target, value)"),
        "{err}"
    );
    let err = parse_statement(SPAN, r#"set(attributes["x"], valeu = "v")"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("no parameter named `valeu`; did you mean `value`?"),
        "{err}"
    );
}

// LANGUAGE.md "Editors"/"Converters": editors start lowercase, converters uppercase; an unknown
// function names the nearest known one.
#[test]
fn unknown_functions_name_the_nearest() {
    let err = parse_statement(SPAN, r#"sett(attributes["x"], "v")"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid OTTL at column 1: unknown editor `sett`; did you mean `set`? (in `sett(attributes["x"], "v")`)"#
    );
    let err = parse_statement(SPAN, r#"set(attributes["x"], Concatt(["a"], ""))"#).unwrap_err();
    let Error::Compile {
        position, message, ..
    } = err
    else {
        panic!("expected a compile error");
    };
    assert_eq!(position.column, 22);
    assert_eq!(
        message,
        "unknown converter `Concatt`; did you mean `Concat`?"
    );
    let err = parse_statement(SPAN, r#"Concat(["a"], "")"#).unwrap_err();
    assert!(err.to_string().contains("expected an editor"), "{err}");
    let err =
        parse_statement(SPAN, r#"set(attributes["x"], delete_key(attributes, "x"))"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("calls an editor, which cannot be used as a value"),
        "{err}"
    );
}

/// The column and message of a syntax error.
fn syntax(text: &str) -> (usize, String) {
    match parse_statement(SPAN, text) {
        Err(Error::Syntax {
            position, message, ..
        }) => (position.column, message),
        other => panic!("expected a syntax error for `{text}`, got {other:?}"),
    }
}

// Parse errors point at the column where the grammar could not continue and say what was
// expected there.
#[test]
fn syntax_errors_point_at_the_column() {
    assert_eq!(
        syntax(r#"set(attributes["x"] "y")"#),
        (
            21,
            "expected `,` or `)` after an argument of `set`, found string \"y\"".to_owned()
        )
    );
    assert_eq!(
        syntax(r#"set(name, "x") where"#),
        (
            21,
            "expected a condition, found the end of the text".to_owned()
        )
    );
    assert_eq!(
        syntax(r#"set(name, "x") when name == "a""#),
        (
            16,
            "expected `where` or the end of the statement, found `when`".to_owned()
        )
    );
    assert_eq!(
        syntax(r#"set(name, "x") where name = "a""#),
        (
            27,
            "expected a comparison operator, found `=`; compare with `==`".to_owned()
        )
    );
    assert_eq!(
        syntax(r#"set(attributes["x", "y")"#),
        (19, "expected `]` to close the key, found `,`".to_owned())
    );
    assert_eq!(
        syntax(r#"set(name, "unterminated)"#),
        (
            11,
            "unterminated string: a string starts here but has no closing `\"`".to_owned()
        )
    );
    assert_eq!(
        syntax(r#"set(name, 'x')"#),
        (
            11,
            "strings are written in double quotes (`\"...\"`), not single quotes".to_owned()
        )
    );
    assert_eq!(
        syntax(r#"set(name, "x") where name == "a" && kind == 2"#),
        (
            34,
            "unexpected operator: combine conditions with `and` / `or`".to_owned()
        )
    );
    assert_eq!(syntax("set(name, 0x123)").0, 11);
    assert_eq!(
        syntax(r#"set(name, "x") where (name == "a""#),
        (34, "expected `)`, found the end of the text".to_owned())
    );
    // On a second line, the line is reported too.
    let err = parse_statement(SPAN, "set(name, \"x\")\n  where name ==").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("syntax error at line 2, column 16:"),
        "{err}"
    );
}

// Compile errors (valid grammar, invalid meaning) point at the offending part too.
#[test]
fn compile_errors_point_at_the_part() {
    let err = parse_statement(SPAN, r#"set(attributes["x"], nmae)"#).unwrap_err();
    let Error::Compile {
        position, message, ..
    } = err
    else {
        panic!("expected a compile error");
    };
    assert_eq!(position.column, 22);
    assert_eq!(
        message,
        "unknown path `nmae` in the span context; did you mean `span.name`?"
    );
    let err = parse_statement(SPAN, r#"set(log.body, "x")"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("`log` paths are not reachable from the span context"),
        "{err}"
    );
    let err = parse_statement(SPAN, r#"set(name["x"], "y")"#).unwrap_err();
    assert!(err.to_string().contains("cannot be indexed"), "{err}");
    let err = parse_statement(SPAN, r#"set("literal", "y")"#).unwrap_err();
    assert!(
        err.to_string().contains("must be a path to a field"),
        "{err}"
    );
    let err = parse_statement(SPAN, r#"set(name, "y") where attributes["flag"]"#).unwrap_err();
    assert!(
        err.to_string().contains("a path alone is not a condition"),
        "{err}"
    );
}
