//! The converters, with cases from otelcol-contrib's `pkg/ottl/ottlfuncs/README.md`
//! ("Converters"); each group cites the section, and every expectation is written by hand from
//! its text.

mod common;

use common::*;
use otlp_ottl::{ContextKind, Value, evaluate, parse_expression, parse_statement};

const SPAN: ContextKind = ContextKind::Span;
const LOG: ContextKind = ContextKind::Log;

fn eval(text: &str) -> Value<'static> {
    evaluate(text).unwrap_or_else(|e| panic!("`{text}`: {e}"))
}

fn eval_err(text: &str) -> String {
    match evaluate(text) {
        Ok(v) => panic!("`{text}` evaluated to {v:?}"),
        Err(e) => e.to_string(),
    }
}

// README "Concat": string representations joined with the delimiter; paths, primitives and
// byte slices (IDs) are supported; lists and maps are left out.
#[test]
fn concat() {
    let mut f = Fixture::default();
    f.span
        .attributes
        .push(otlp_ottl::key_value("http.path", s("/health")));
    assert_eq!(
        f.value(
            SPAN,
            r#"Concat([attributes["http.method"], attributes["http.path"]], ": ")"#
        ),
        vs("GET: /health")
    );
    let mut m = Fixture::default();
    assert_eq!(
        m.value(ContextKind::Metric, r#"Concat([metric.name, 1], " ")"#),
        vs("http.server.duration 1")
    );
    assert_eq!(
        f.value(
            SPAN,
            r#"Concat(["HTTP method is: ", attributes["http.method"]], "")"#
        ),
        vs("HTTP method is: GET")
    );
    assert_eq!(
        eval(r#"Concat([1.5, true, 0x0a0b], "|")"#),
        vs("1.5|true|0a0b")
    );
    assert_eq!(
        f.value(SPAN, r#"Concat([span_id, "x"], "-")"#),
        vs("0102030405060708-x")
    );
    assert_eq!(
        eval(r#"Concat(["a", [1, 2], {"k": "v"}, "b"], "-")"#),
        vs("a-b")
    );
    // A missing value prints as Go prints nil.
    assert_eq!(
        f.value(SPAN, r#"Concat(["a", attributes["missing"]], "-")"#),
        vs("a-<nil>")
    );
}

// README "ConvertCase": lower, upper, snake, camel; another case is a startup error; a
// non-string target is an error.
#[test]
fn convert_case() {
    assert_eq!(
        eval(r#"ConvertCase("MY_METRIC", "lower")"#),
        vs("my_metric")
    );
    assert_eq!(
        eval(r#"ConvertCase("my_metric", "upper")"#),
        vs("MY_METRIC")
    );
    assert_eq!(eval(r#"ConvertCase("myMetric", "snake")"#), vs("my_metric"));
    assert_eq!(eval(r#"ConvertCase("my_metric", "camel")"#), vs("MyMetric"));
    let err = parse_expression(SPAN, r#"ConvertCase(name, "kebab")"#).unwrap_err();
    assert!(err.to_string().contains("\"kebab\" is not a case"), "{err}");
    let err = eval_err(r#"ConvertCase(1, "lower")"#);
    assert!(err.contains("`target` must be a string, got int"), "{err}");
}

// README "Int": floats truncate, strings parse (or nil), booleans are 1/0, ints unchanged,
// anything else nil.
#[test]
fn int() {
    assert_eq!(eval("Int(1.9)"), Value::Int(1));
    assert_eq!(eval("Int(-1.9)"), Value::Int(-1));
    assert_eq!(eval(r#"Int("42")"#), Value::Int(42));
    assert_eq!(eval(r#"Int("2.0")"#), Value::Nil);
    assert_eq!(eval("Int(true)"), Value::Int(1));
    assert_eq!(eval("Int(false)"), Value::Int(0));
    assert_eq!(eval("Int(7)"), Value::Int(7));
    assert_eq!(eval("Int([1])"), Value::Nil);
    assert_eq!(eval("Int(nil)"), Value::Nil);
    let mut f = Fixture::default();
    f.span
        .attributes
        .push(otlp_ottl::key_value("code", s("503")));
    assert_eq!(f.value(SPAN, r#"Int(attributes["code"])"#), Value::Int(503));
}

// README "Double": strings parse (or nil), booleans 1/0, ints convert.
#[test]
fn double() {
    assert_eq!(eval(r#"Double("2.0")"#), Value::Double(2.0));
    assert_eq!(eval(r#"Double("x")"#), Value::Nil);
    assert_eq!(eval("Double(true)"), Value::Double(1.0));
    assert_eq!(eval("Double(3)"), Value::Double(3.0));
    assert_eq!(eval("Double(1.25)"), Value::Double(1.25));
    assert_eq!(eval("Double({})"), Value::Nil);
}

// README "Bool": non-zero numbers are true, strings as strconv.ParseBool, nil stays nil.
#[test]
fn bool() {
    assert_eq!(eval(r#"Bool("true")"#), Value::Bool(true));
    assert_eq!(eval(r#"Bool("0")"#), Value::Bool(false));
    assert_eq!(eval(r#"Bool("T")"#), Value::Bool(true));
    assert_eq!(eval(r#"Bool("yes")"#), Value::Nil);
    assert_eq!(eval("Bool(2)"), Value::Bool(true));
    assert_eq!(eval("Bool(0.0)"), Value::Bool(false));
    assert_eq!(eval("Bool(nil)"), Value::Nil);
}

// README "String": strings unchanged, bytes as hex, maps and slices as JSON, others formatted,
// nil stays nil.
#[test]
fn string() {
    assert_eq!(eval(r#"String("test")"#), vs("test"));
    assert_eq!(eval("String(false)"), vs("false"));
    assert_eq!(eval("String([1,2,3])"), vs("[1,2,3]"));
    assert_eq!(
        eval(r#"String({"b": 1, "a": "x"})"#),
        vs(r#"{"a":"x","b":1}"#)
    );
    assert_eq!(eval("String(0x0a0b)"), vs("0a0b"));
    assert_eq!(eval("String(1.5)"), vs("1.5"));
    assert_eq!(eval("String(nil)"), Value::Nil);
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, r#"String(span.attributes["http.method"])"#),
        vs("GET")
    );
    assert_eq!(
        f.value(SPAN, "String(span.span_id)"),
        vs("0102030405060708")
    );
}

// README "IsMatch": regex search; non-strings are converted (numbers with strconv, bytes as
// base64, maps and slices as JSON); nil never matches; a bad pattern is a startup error.
#[test]
fn is_match() {
    assert_eq!(eval(r#"IsMatch("string", ".*ring")"#), Value::Bool(true));
    assert_eq!(eval(r#"IsMatch("string", "^ring")"#), Value::Bool(false));
    assert_eq!(eval(r#"IsMatch(123, "^12")"#), Value::Bool(true));
    assert_eq!(eval(r#"IsMatch(true, "true")"#), Value::Bool(true));
    assert_eq!(eval(r#"IsMatch(0x010203, "^AQID$")"#), Value::Bool(true));
    assert_eq!(eval(r#"IsMatch({"a": 1}, "\"a\":1")"#), Value::Bool(true));
    assert_eq!(eval(r#"IsMatch(nil, ".*")"#), Value::Bool(false));
    let mut f = Fixture::default();
    f.span
        .attributes
        .push(otlp_ottl::key_value("http.path", s("/foo/bar")));
    assert!(f.cond(SPAN, r#"IsMatch(span.attributes["http.path"], "foo")"#));
    let err = parse_expression(SPAN, r#"IsMatch(name, "[")"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("argument `pattern` of `IsMatch`: invalid regex"),
        "{err}"
    );
}

// README "IsString", "IsInt", "IsMap", "IsBool", "IsDouble", "IsList", "IsEmpty".
#[test]
fn type_predicates() {
    let mut f = Fixture::default();
    f.log.body = Some(map(vec![("object", map(vec![]))]));
    assert_eq!(f.value(LOG, "IsMap(log.body)"), Value::Bool(true));
    assert_eq!(f.value(LOG, "IsString(log.body)"), Value::Bool(false));
    assert_eq!(eval(r#"IsString("a")"#), Value::Bool(true));
    assert_eq!(eval("IsInt(1)"), Value::Bool(true));
    assert_eq!(eval("IsInt(1.0)"), Value::Bool(false));
    assert_eq!(eval("IsDouble(1.0)"), Value::Bool(true));
    assert_eq!(eval("IsBool(false)"), Value::Bool(true));
    assert_eq!(eval("IsBool(42)"), Value::Bool(false));
    assert_eq!(eval("IsList([1])"), Value::Bool(true));
    assert_eq!(eval("IsList({})"), Value::Bool(false));
    assert_eq!(eval("IsMap(nil)"), Value::Bool(false));
    assert_eq!(eval(r#"IsEmpty("")"#), Value::Bool(true));
    assert_eq!(eval("IsEmpty(nil)"), Value::Bool(true));
    assert_eq!(eval("IsEmpty(0)"), Value::Bool(true));
    assert_eq!(eval("IsEmpty([])"), Value::Bool(true));
    assert_eq!(eval("IsEmpty({})"), Value::Bool(true));
    assert_eq!(eval(r#"IsEmpty("x")"#), Value::Bool(false));
    assert_eq!(
        eval("IsEmpty(SpanID(0x0000000000000000))"),
        Value::Bool(true)
    );
    // transformprocessor README: `IsMap(log.body) and log.body["object"] != nil`.
    assert!(f.cond(LOG, r#"IsMap(log.body) and log.body["object"] != nil"#));
}

// README "IsRootSpan": true when the parent span ID is empty; span context only.
#[test]
fn is_root_span() {
    let mut f = Fixture::default();
    assert!(f.cond(SPAN, "IsRootSpan()"));
    f.span.parent_span_id = vec![1; 8];
    assert!(!f.cond(SPAN, "IsRootSpan()"));
    let err = parse_expression(LOG, "IsRootSpan()").unwrap_err();
    assert!(
        err.to_string().contains("not available in the log context"),
        "{err}"
    );
}

// README "Len": length of a string (bytes), slice or map; other types are an error.
#[test]
fn len() {
    assert_eq!(eval(r#"Len("hello")"#), Value::Int(5));
    assert_eq!(eval(r#"Len("é")"#), Value::Int(2));
    assert_eq!(eval("Len([1, 2, 3])"), Value::Int(3));
    assert_eq!(eval(r#"Len({"a": 1})"#), Value::Int(1));
    let mut f = Fixture::default();
    assert_eq!(f.value(LOG, "Len(log.body)"), Value::Int(14));
    let err = eval_err("Len(1)");
    assert!(
        err.contains("Len: expected a string, map or slice, got int"),
        "{err}"
    );
}

// README "Split": separates by the delimiter; a non-string target is an error.
#[test]
fn split() {
    assert_eq!(
        eval(r#"Split("A|B|C", "|")"#),
        vlist(vec![s("A"), s("B"), s("C")])
    );
    assert_eq!(eval(r#"Split("abc", ",")"#), vlist(vec![s("abc")]));
    assert_eq!(eval(r#"Split("", ",")"#), vlist(vec![s("")]));
    let err = eval_err(r#"Split(1, ",")"#);
    assert!(err.contains("`target` must be a string"), "{err}");
}

// README "Substring": byte offsets; negative start, non-positive length or a range past the end
// is an error; `utf8_safe` moves cuts to character boundaries.
#[test]
fn substring() {
    assert_eq!(eval(r#"Substring("123456789", 0, 3)"#), vs("123"));
    assert_eq!(eval(r#"Substring("123456789", 3, 3)"#), vs("456"));
    assert_eq!(eval(r#"Substring("一二三", 0, 4, true)"#), vs("一"));
    assert!(eval_err(r#"Substring("abc", -1, 1)"#).contains("cannot be negative"));
    assert!(eval_err(r#"Substring("abc", 0, 0)"#).contains("must be positive"));
    assert!(eval_err(r#"Substring("abc", 2, 5)"#).contains("beyond the end"));
    assert!(eval_err(r#"Substring("一二三", 0, 4)"#).contains("utf8_safe"));
    let mut f = Fixture::default();
    assert_eq!(f.value(SPAN, "Substring(name, 0, Len(\"GET\"))"), vs("GET"));
}

// README "SHA256": the SHA-256 digest in hex; a non-string is an error.
#[test]
fn sha256() {
    assert_eq!(
        eval(r#"SHA256("name")"#),
        vs("82a3537ff0dbce7eec35d69edc3a189ee6f17d82f353a553f9aa96cb0be3ce89")
    );
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, r#"SHA256(resource.attributes["service.name"])"#),
        eval(r#"SHA256("checkout")"#)
    );
    assert!(eval_err("SHA256(1)").contains("must be a string"));
}

// README "TraceID" / "SpanID": from 16/8 bytes or 32/16 hex characters.
#[test]
fn trace_and_span_ids() {
    assert_eq!(
        eval("TraceID(0x00000000000000000000000000000000)"),
        Value::TraceId([0; 16])
    );
    assert_eq!(
        eval(r#"TraceID("a389023abaa839283293ed323892389d")"#),
        Value::TraceId([
            0xa3, 0x89, 0x02, 0x3a, 0xba, 0xa8, 0x39, 0x28, 0x32, 0x93, 0xed, 0x32, 0x38, 0x92,
            0x38, 0x9d
        ])
    );
    assert_eq!(eval("SpanID(0x0000000000000000)"), Value::SpanId([0; 8]));
    assert_eq!(
        eval(r#"SpanID("0102030405060708")"#),
        Value::SpanId([1, 2, 3, 4, 5, 6, 7, 8])
    );
    assert!(eval_err("SpanID(0x0102)").contains("expected 8 bytes"));
    assert!(eval_err(r#"TraceID("zz")"#).contains("is not hex"));
}

// README "ParseJSON": objects become maps, arrays lists; JSON numbers are float64; invalid
// JSON is an error.
#[test]
fn parse_json() {
    assert_eq!(
        eval(r#"ParseJSON("{\"attr\":true}")"#),
        vmap(vec![("attr", b(true))])
    );
    assert_eq!(
        eval(r#"ParseJSON("[\"attr1\",\"attr2\"]")"#),
        vlist(vec![s("attr1"), s("attr2")])
    );
    assert_eq!(
        eval(r#"ParseJSON("{\"n\": 1, \"o\": {\"x\": null}}")"#),
        vmap(vec![
            ("n", d(1.0)),
            (
                "o",
                map(vec![(
                    "x",
                    opentelemetry_proto::tonic::common::v1::AnyValue::default()
                )])
            )
        ])
    );
    assert!(eval_err(r#"ParseJSON("{not json")"#).contains("invalid JSON"));
    assert!(eval_err("ParseJSON(1)").contains("must be a string"));
    // transformprocessor README "Parsing JSON logs": merge into the cache, copy out of it.
    let mut f = Fixture::default();
    f.log.body = Some(s(
        r#"{"name": "log", "attr1": "foo", "attr2": "bar", "nested": {"attr3": "example"}}"#,
    ));
    for statement in [
        r#"merge_maps(log.cache, ParseJSON(log.body), "upsert") where IsMatch(log.body, "^\\{")"#,
        r#"set(log.attributes["attr1"], log.cache["attr1"])"#,
        r#"set(log.attributes["attr2"], log.cache["attr2"])"#,
        r#"set(log.attributes["nested.attr3"], log.cache["nested"]["attr3"])"#,
    ] {
        f.run(LOG, statement);
    }
    assert_eq!(
        f.log.attributes,
        kvs(vec![
            ("attr1", s("foo")),
            ("attr2", s("bar")),
            ("nested.attr3", s("example"))
        ])
    );
}

// README "Now": the current time; `set(span.start_time, Now())`.
#[test]
fn now() {
    let Value::Time(now) = eval("Now()") else {
        panic!("Now() is not a time");
    };
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128;
    // Two readings of the same clock, taken in order.
    assert!(now <= wall);
    let mut f = Fixture::default();
    f.run(SPAN, "set(span.start_time, Now())");
    assert!(i128::from(f.span.start_time_unix_nano) >= now);
}

// README "Time": ctime-style directives, an optional IANA location.
#[test]
fn time() {
    assert_eq!(
        eval(r#"UnixNano(Time("02/04/2023", "%m/%d/%Y"))"#),
        Value::Int(1_675_468_800_000_000_000)
    );
    assert_eq!(
        eval(r#"UnixSeconds(Time("Feb 15, 2023", "%b %d, %Y"))"#),
        Value::Int(1_676_419_200)
    );
    // 2023-05-26 12:34:56 in HST: Go treats an unknown abbreviation as offset zero on a UTC
    // host, so the instant is 12:34:56Z.
    assert_eq!(
        eval(r#"UnixSeconds(Time("2023-05-26 12:34:56 HST", "%Y-%m-%d %H:%M:%S %Z"))"#),
        Value::Int(1_685_104_496)
    );
    assert_eq!(
        eval(r#"UnixSeconds(Time("2012-11-01T22:08:41+0000 EST", "%Y-%m-%dT%H:%M:%S%z %Z"))"#),
        Value::Int(1_351_807_721)
    );
    // With a location: 12:34:56 in New York (EDT, UTC-4) is 16:34:56Z.
    assert_eq!(
        eval(
            r#"UnixSeconds(Time("2023-05-26 12:34:56", "%Y-%m-%d %H:%M:%S", "America/New_York"))"#
        ),
        Value::Int(1_685_118_896)
    );
    assert_eq!(
        eval(r#"UnixMilli(Time("1986-10-01T00:17:33.123 -0700", "%Y-%m-%dT%H:%M:%S.%L %z"))"#),
        Value::Int(528_535_053_123)
    );
    assert!(eval_err(r#"Time("2023-13-01", "%Y-%m-%d")"#).contains("Time:"));
    let err = parse_expression(SPAN, r#"Time("x", "%Q")"#).unwrap_err();
    assert!(err.to_string().contains("unknown directive `%Q`"), "{err}");
    let err = parse_expression(SPAN, r#"Time("x", "%Y", "Mars/Olympus")"#).unwrap_err();
    assert!(err.to_string().contains("unknown time zone"), "{err}");
}

// README "UnixNano" (and UnixMicro/UnixMilli/UnixSeconds, Unix): a time as units since the
// epoch; another type is an error.
#[test]
fn unix() {
    assert_eq!(
        eval("UnixNano(Unix(1672527600))"),
        Value::Int(1_672_527_600_000_000_000)
    );
    assert_eq!(eval("UnixMicro(Unix(1, 5000))"), Value::Int(1_000_005));
    assert_eq!(eval("UnixMilli(Unix(1, 5000000))"), Value::Int(1_005));
    assert_eq!(eval("UnixSeconds(Unix(-1, 500))"), Value::Int(-1));
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, "UnixNano(span.start_time)"),
        Value::Int(1_675_468_800_000_000_000)
    );
    assert!(eval_err(r#"UnixNano("2023")"#).contains("expected a time, got string"));
}

// README "Duration": Go duration strings.
#[test]
fn duration() {
    assert_eq!(eval(r#"Duration("3s")"#), Value::Duration(3_000_000_000));
    assert_eq!(eval(r#"Duration("333ms")"#), Value::Duration(333_000_000));
    assert_eq!(
        eval(r#"Duration("1000000h")"#),
        Value::Duration(3_600_000_000_000_000_000)
    );
    assert!(eval_err(r#"Duration("3 parsecs")"#).contains("invalid duration"));
}

// README "HasPrefix", "HasSuffix", "ToLowerCase", "ToUpperCase".
#[test]
fn string_tests_and_case() {
    assert_eq!(
        eval(r#"HasPrefix("ingest_service", "ingest_")"#),
        Value::Bool(true)
    );
    assert_eq!(
        eval(r#"HasSuffix("ingest_service", "_service")"#),
        Value::Bool(true)
    );
    assert_eq!(
        eval(r#"HasSuffix("ingest_service", "ingest")"#),
        Value::Bool(false)
    );
    assert_eq!(eval(r#"ToLowerCase("MyMetricName")"#), vs("mymetricname"));
    assert_eq!(eval(r#"ToUpperCase("MyMetricName")"#), vs("MYMETRICNAME"));
    let err = parse_statement(SPAN, r#"set(name, HasPrefix(name, attributes["p"]))"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("argument `prefix` of `HasPrefix` must be a string literal"),
        "{err}"
    );
}
