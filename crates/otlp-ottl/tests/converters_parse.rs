//! The parsing and string converters, with cases from otelcol-contrib's
//! `pkg/ottl/ottlfuncs/README.md` and the Go tests beside each function (`func_<name>_test.go`);
//! each test cites its section, and every expectation is written by hand from that text.

mod common;

use common::*;
use otlp_ottl::{ContextKind, Value, evaluate, key_value, parse_expression};

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

/// The message of a compile (startup) error.
fn compile_err(text: &str) -> String {
    match parse_expression(LOG, text) {
        Ok(_) => panic!("`{text}` compiled"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(message: &str, part: &str) {
    assert!(message.contains(part), "`{message}` lacks `{part}`");
}

// README "ExtractPatterns" and func_extract_patterns_test.go: named groups into a map, an
// empty map when nothing matches, a startup error without named groups or for a bad regex, an
// error for a non-string or nil target.
#[test]
fn extract_patterns() {
    assert_eq!(
        eval(r#"ExtractPatterns("a=b c=d", "^a=(?P<a>\\w+)\\s+c=(?P<c>\\w+)$")"#),
        vmap(vec![("a", s("b")), ("c", s("d"))])
    );
    assert_eq!(
        eval(r#"ExtractPatterns("a=b c=d", "^a=(?P<a>\\w+)$")"#),
        vmap(vec![])
    );
    // The README's example: group names may contain dots.
    let mut f = Fixture::default();
    f.resource.as_mut().unwrap().attributes.push(key_value(
        "k8s.change_cause",
        s("deploy GIT_SHA=3f2a9c1 by ci"),
    ));
    assert_eq!(
        f.value(
            LOG,
            r#"ExtractPatterns(resource.attributes["k8s.change_cause"], "GIT_SHA=(?P<git.sha>\\w+)")"#
        ),
        vmap(vec![("git.sha", s("3f2a9c1"))])
    );
    // A group that took no part in the match is an empty string, as Go's submatch is.
    assert_eq!(
        eval(r#"ExtractPatterns("y", "(?P<a>x)?(?P<b>y)")"#),
        vmap(vec![("a", s("")), ("b", s("y"))])
    );
    // Used on a log body, as log pipelines do.
    let mut f = Fixture::default();
    f.log.body = Some(s("Jan 5 10:00:01 web-1 sshd[42]: accepted"));
    f.run(
        LOG,
        r#"merge_maps(attributes, ExtractPatterns(body, "^(?P<host>[\\w-]+) (?P<process>\\w+)\\[(?P<pid>\\d+)\\]"), "upsert")"#,
    );
    // `^` anchors at the start, which is the month, so nothing matched and nothing merged.
    assert!(attr(&f.log.attributes, "host").is_none());
    f.run(
        LOG,
        r#"merge_maps(attributes, ExtractPatterns(body, "(?P<host>[\\w-]+) (?P<process>\\w+)\\[(?P<pid>\\d+)\\]"), "upsert")"#,
    );
    assert_eq!(attr(&f.log.attributes, "host"), Some(&s("web-1")));
    assert_eq!(attr(&f.log.attributes, "process"), Some(&s("sshd")));
    assert_eq!(attr(&f.log.attributes, "pid"), Some(&s("42")));

    assert_contains(
        &compile_err(r#"ExtractPatterns(body, "(.*)")"#),
        "at least 1 named capture group must be supplied in the given regex",
    );
    assert_contains(
        &compile_err(r#"ExtractPatterns(body, "(")"#),
        "invalid regex",
    );
    assert_contains(
        &eval_err(r#"ExtractPatterns(123, "(?P<line>.*)")"#),
        "`target` must be a string, got int",
    );
    assert_contains(
        &eval_err(r#"ExtractPatterns(nil, "(?P<line>.*)")"#),
        "`target` must be a string, got nil",
    );
}

// README "ParseKeyValue": defaults `=` and a space; custom delimiters; an empty target is an
// error. parseutils.SplitString: quotes (single or double) keep delimiters inside a value and
// are dropped; leading, trailing and repeated pair delimiters are ignored; an unclosed quote is
// an error. Keys and values are trimmed; a pair without the delimiter is an error.
#[test]
fn parse_key_value() {
    assert_eq!(
        eval(r#"ParseKeyValue("k1=v1 k2=v2 k3=v3")"#),
        vmap(vec![("k1", s("v1")), ("k2", s("v2")), ("k3", s("v3"))])
    );
    assert_eq!(
        eval(r#"ParseKeyValue("k1!v1_k2!v2_k3!v3", "!", "_")"#),
        vmap(vec![("k1", s("v1")), ("k2", s("v2")), ("k3", s("v3"))])
    );
    assert_eq!(
        eval(r#"ParseKeyValue("k1=\"v 1\" k2='v=2'")"#),
        vmap(vec![("k1", s("v 1")), ("k2", s("v=2"))])
    );
    assert_eq!(
        eval(r#"ParseKeyValue("  k1=v1   k2=v2 ")"#),
        vmap(vec![("k1", s("v1")), ("k2", s("v2"))])
    );
    assert_eq!(
        eval(r#"ParseKeyValue("k1 = v1, k2 = v2", "=", ",")"#),
        vmap(vec![("k1", s("v1")), ("k2", s("v2"))])
    );
    // Named optional arguments; the value keeps everything after the first delimiter.
    assert_eq!(
        eval(r#"ParseKeyValue("a:b:c;d:e", pair_delimiter = ";", delimiter = ":")"#),
        vmap(vec![("a", s("b:c")), ("d", s("e"))])
    );
    // A repeated key keeps its last value (a Go map assignment).
    assert_eq!(
        eval(r#"ParseKeyValue("k=1 k=2")"#),
        vmap(vec![("k", s("2"))])
    );
    // Empty delimiters mean the defaults.
    assert_eq!(
        eval(r#"ParseKeyValue("a=1 b=2", "", "")"#),
        vmap(vec![("a", s("1")), ("b", s("2"))])
    );

    assert_contains(
        &eval_err(r#"ParseKeyValue("")"#),
        "cannot parse from empty target",
    );
    assert_contains(
        &eval_err(r#"ParseKeyValue("k1 k2=v2")"#),
        r#"cannot split "k1" into 2 items, got 1 item(s)"#,
    );
    assert_contains(
        &eval_err(r#"ParseKeyValue("k1=\"v1 k2=v2")"#),
        "never reached the end of a quoted value",
    );
    assert_contains(
        &eval_err(r#"ParseKeyValue(5)"#),
        "`target` must be a string, got int",
    );
    assert_contains(
        &compile_err(r#"ParseKeyValue(body, ":", ":")"#),
        r#"pair delimiter ":" cannot be equal to delimiter ":""#,
    );
}

// README "ToKeyValueString": defaults `=` and a space; nested values as JSON; keys or values
// holding a delimiter are double quoted and inner double quotes escaped; sort_output sorts by
// key. func_to_key_value_string.go: empty or equal delimiters are startup errors; a non-map
// target is an error.
#[test]
fn to_key_value_string() {
    assert_eq!(
        eval(r#"ToKeyValueString({"k1":"v1","k2":"v2","k3":"v3"})"#),
        vs("k1=v1 k2=v2 k3=v3")
    );
    assert_eq!(
        eval(r#"ToKeyValueString({"k1":"v1","k2":{"k3":"v3","k4":["v4","v5"]}})"#),
        vs(r#"k1=v1 k2={\"k3\":\"v3\",\"k4\":[\"v4\",\"v5\"]}"#)
    );
    assert_eq!(
        eval(r#"ToKeyValueString({"k1":"v1","k2":"v=2","k3":"\"v=3\""})"#),
        vs(r#"k1=v1 k2="v=2" k3="\"v=3\"""#)
    );
    assert_eq!(
        eval(r#"ToKeyValueString({"b":"2","a":"1","c":"3"}, ":", ",", true)"#),
        vs("a:1,b:2,c:3")
    );
    // Without sort_output the map's own order is kept (pcommon maps are ordered).
    assert_eq!(
        eval(r#"ToKeyValueString({"b":"2","a":"1"})"#),
        vs("b=2 a=1")
    );
    assert_eq!(
        eval(r#"ToKeyValueString({"n":1,"ok":true,"d":1.5,"sp":"a b"})"#),
        vs(r#"n=1 ok=true d=1.5 sp="a b""#)
    );
    // It reverses ParseKeyValue.
    assert_eq!(
        eval(r#"ParseKeyValue(ToKeyValueString({"a":"x y","b":"2"}))"#),
        vmap(vec![("a", s("x y")), ("b", s("2"))])
    );

    assert_contains(
        &compile_err(r#"ToKeyValueString(attributes, "")"#),
        "delimiter cannot be set to an empty string",
    );
    assert_contains(
        &compile_err(r#"ToKeyValueString(attributes, "=", "")"#),
        "pair delimiter cannot be set to an empty string",
    );
    assert_contains(
        &compile_err(r#"ToKeyValueString(attributes, "|", "|")"#),
        r#"pair delimiter "|" cannot be equal to delimiter "|""#,
    );
    assert_contains(
        &eval_err(r#"ToKeyValueString("k=v")"#),
        "`target` must be a map, got string",
    );
}

// README "Trim" (a cutset: the characters of `replacement`, a space by default),
// "TrimPrefix", "TrimSuffix", "ToCamelCase", "ToSnakeCase"; a non-string is an error.
#[test]
fn trims_and_cases() {
    assert_eq!(
        eval(r#"Trim(" this is a test ", " ")"#),
        vs("this is a test")
    );
    assert_eq!(
        eval(r#"Trim("!!this is a test!!", "!!")"#),
        vs("this is a test")
    );
    assert_eq!(eval(r#"Trim("  padded  ")"#), vs("padded"));
    assert_eq!(eval(r#"Trim("\tkeep tabs ")"#), vs("\tkeep tabs"));
    assert_eq!(eval(r#"Trim("abcxcba", "abc")"#), vs("x"));
    assert_eq!(
        eval(r#"TrimPrefix("ingest_service", "ingest_")"#),
        vs("service")
    );
    assert_eq!(eval(r#"TrimPrefix("service", "ingest_")"#), vs("service"));
    assert_eq!(eval(r#"TrimPrefix("aaab", "a")"#), vs("aab"));
    assert_eq!(
        eval(r#"TrimSuffix("ingest_service", "_service")"#),
        vs("ingest")
    );
    assert_eq!(eval(r#"TrimSuffix("ingest", "_service")"#), vs("ingest"));
    assert_eq!(eval(r#"ToCamelCase("my_metric_name")"#), vs("MyMetricName"));
    assert_eq!(eval(r#"ToSnakeCase("MyMetricName")"#), vs("my_metric_name"));
    let mut f = Fixture::default();
    f.resource
        .as_mut()
        .unwrap()
        .attributes
        .push(key_value("service.name", s("ingest_checkout")));
    f.run(
        LOG,
        r#"set(resource.attributes["service.name"], TrimPrefix(resource.attributes["service.name"], "ingest_"))"#,
    );
    assert_eq!(
        attr(&f.resource.as_ref().unwrap().attributes, "service.name"),
        Some(&s("checkout"))
    );

    assert_contains(
        &eval_err("Trim(1)"),
        "Trim: `target` must be a string, got int",
    );
    assert_contains(
        &eval_err(r#"TrimPrefix(nil, "x")"#),
        "TrimPrefix: `value` must be a string, got nil",
    );
    assert_contains(
        &eval_err(r#"TrimSuffix(1.5, "x")"#),
        "TrimSuffix: `value` must be a string, got double",
    );
    assert_contains(
        &eval_err("ToCamelCase(true)"),
        "ToCamelCase: `target` must be a string, got bool",
    );
    assert_contains(
        &eval_err("ToSnakeCase([1])"),
        "ToSnakeCase: `target` must be a string, got slice",
    );
    assert_contains(&compile_err(r#"TrimPrefix(body)"#), "missing");
}

// README "ParseInt": the README's examples for base 0 and the listed calls; an empty target and
// a negative base are errors; otherwise strconv.ParseInt's errors.
#[test]
fn parse_int() {
    assert_eq!(eval(r#"ParseInt("0b1111_0000", 0)"#), Value::Int(240));
    assert_eq!(eval(r#"ParseInt("0b10110", 0)"#), Value::Int(22));
    assert_eq!(eval(r#"ParseInt("0xFF", 0)"#), Value::Int(255));
    assert_eq!(eval(r#"ParseInt("-0xFF", 0)"#), Value::Int(-255));
    assert_eq!(eval(r#"ParseInt("-0o123", 0)"#), Value::Int(-83));
    assert_eq!(eval(r#"ParseInt("12345", 10)"#), Value::Int(12345));
    assert_eq!(eval(r#"ParseInt("0xAA", 0)"#), Value::Int(170));
    assert_eq!(eval(r#"ParseInt("AA", 16)"#), Value::Int(170));
    assert_eq!(eval(r#"ParseInt("-20", 8)"#), Value::Int(-16));
    assert_eq!(eval(r#"ParseInt("+7", 10)"#), Value::Int(7));
    assert_eq!(eval(r#"ParseInt("zz", 36)"#), Value::Int(1295));
    assert_eq!(
        eval(r#"ParseInt("-9223372036854775808", 10)"#),
        Value::Int(i64::MIN)
    );

    assert_contains(&eval_err(r#"ParseInt("", 10)"#), "target cannot be empty");
    assert_contains(
        &eval_err(r#"ParseInt("10", -1)"#),
        "invalid base value: -1 for ParseInt function, base cannot be negative",
    );
    assert_contains(
        &eval_err(r#"ParseInt("notANumber", 10)"#),
        r#"strconv.ParseInt: parsing "notANumber": invalid syntax"#,
    );
    assert_contains(&eval_err(r#"ParseInt("1_000", 10)"#), "invalid syntax");
    assert_contains(
        &eval_err(r#"ParseInt("9223372036854775808", 10)"#),
        "value out of range",
    );
    assert_contains(&eval_err(r#"ParseInt("10", 1)"#), "invalid base 1");
    assert_contains(
        &eval_err("ParseInt(10, 10)"),
        "`target` must be a string, got int",
    );
    assert_contains(
        &eval_err(r#"ParseInt("10", "10")"#),
        "`base` must be an int, got string",
    );
}

// README "Hex": doubles and ints as their 8 big-endian bytes, strings as their bytes, booleans
// as one byte, bytes unchanged (lowercase hex, as Go's hex.EncodeToString); another type is an
// error (func_hex_test.go) and nil gives "".
#[test]
fn hex() {
    assert_eq!(eval("Hex(1.1)"), vs("3ff199999999999a"));
    assert_eq!(eval(r#"Hex("1")"#), vs("31"));
    assert_eq!(eval("Hex(true)"), vs("01"));
    assert_eq!(eval("Hex(false)"), vs("00"));
    assert_eq!(eval("Hex(12)"), vs("000000000000000c"));
    assert_eq!(eval("Hex(0x02)"), vs("02"));
    assert_eq!(eval("Hex(2.0)"), vs("4000000000000000"));
    assert_eq!(eval("Hex(nil)"), vs(""));
    let mut f = Fixture::default();
    assert_eq!(
        f.value(
            ContextKind::Span,
            r#"Hex(span.attributes["http.status_code"])"#
        ),
        vs("00000000000000c8")
    );
    assert_contains(
        &eval_err(r#"Hex({"hi": "hi"})"#),
        "Hex: unsupported type: map",
    );
}

// README "Format": fmt.Sprintf over the arguments (its three examples, with literal values),
// and Go's fmt rules for the verbs configs use; wrong or missing arguments give Go's in-band
// error text rather than an error.
#[test]
fn format() {
    assert_eq!(eval(r#"Format("%02d", [7])"#), vs("07"));
    assert_eq!(
        eval(r#"Format("%04d-%02d-%02d", [2023, 2, 4])"#),
        vs("2023-02-04")
    );
    assert_eq!(
        eval(r#"Format("%s/%s/%04d-%02d-%02d.log", ["web-1", "nginx", 2023, 11, 30])"#),
        vs("web-1/nginx/2023-11-30.log")
    );
    assert_eq!(
        eval(r#"Format("%v|%v|%v", [1, 1.5, true])"#),
        vs("1|1.5|true")
    );
    assert_eq!(eval(r#"Format("%v", [1000000.0])"#), vs("1e+06"));
    assert_eq!(eval(r#"Format("%f", [1.5])"#), vs("1.500000"));
    assert_eq!(eval(r#"Format("%.2f", [3.14159])"#), vs("3.14"));
    assert_eq!(eval(r#"Format("%08.3f", [-3.14159])"#), vs("-003.142"));
    assert_eq!(eval(r#"Format("%e", [1234.5678])"#), vs("1.234568e+03"));
    assert_eq!(
        eval(r#"Format("%x %X %#x", [255, 255, 255])"#),
        vs("ff FF 0xff")
    );
    assert_eq!(eval(r#"Format("%x", ["hi"])"#), vs("6869"));
    assert_eq!(
        eval(r#"Format("%q", ["say \"hi\"\n"])"#),
        vs(r#""say \"hi\"\n""#)
    );
    assert_eq!(
        eval(r#"Format("[%5s|%-5s|%.2s]", ["ab", "cd", "xyz"])"#),
        vs("[   ab|cd   |xy]")
    );
    assert_eq!(
        eval(r#"Format("%+d %5d %-4d|", [5, 42, 7])"#),
        vs("+5    42 7   |")
    );
    assert_eq!(eval(r#"Format("%d%%", [50])"#), vs("50%"));
    assert_eq!(
        eval(r#"Format("%t %T %T", [false, 1, "s"])"#),
        vs("false int64 string")
    );
    assert_eq!(eval(r#"Format("no verbs", [])"#), vs("no verbs"));
    assert_eq!(eval(r#"Format("%v", [nil])"#), vs("<nil>"));
    // Go's in-band errors.
    assert_eq!(eval(r#"Format("%d", ["x"])"#), vs("%!d(string=x)"));
    assert_eq!(eval(r#"Format("%s", [3])"#), vs("%!s(int64=3)"));
    assert_eq!(eval(r#"Format("%s %s", ["a"])"#), vs("a %!s(MISSING)"));
    assert_eq!(eval(r#"Format("%s", ["a", 1])"#), vs("a%!(EXTRA int64=1)"));
    assert_eq!(eval(r#"Format("50%", [])"#), vs("50%!(NOVERB)"));
    assert_eq!(eval(r#"Format("%d", [nil])"#), vs("%!d(<nil>)"));
    // Paths as arguments.
    let mut f = Fixture::default();
    assert_eq!(
        f.value(LOG, r#"Format("%s:%d", [severity_text, severity_number])"#),
        vs("ERROR:17")
    );
    assert_contains(&compile_err(r#"Format(body, [1])"#), "format");
}

// func_base64encode_test.go: the four variants; an unknown variant and a non-string target are
// errors.
#[test]
fn base64_encode() {
    assert_eq!(
        eval(r#"Base64Encode("hello world")"#),
        vs("aGVsbG8gd29ybGQ=")
    );
    assert_eq!(
        eval(r#"Base64Encode("hello world", "base64-raw")"#),
        vs("aGVsbG8gd29ybGQ")
    );
    assert_eq!(
        eval(r#"Base64Encode("<<???>>", "base64")"#),
        vs("PDw/Pz8+Pg==")
    );
    assert_eq!(
        eval(r#"Base64Encode("<<???>>", "base64-url")"#),
        vs("PDw_Pz8-Pg==")
    );
    assert_eq!(
        eval(r#"Base64Encode("<<???>>", variant = "base64-raw-url")"#),
        vs("PDw_Pz8-Pg")
    );
    assert_contains(
        &compile_err(r#"Base64Encode(body, "base32")"#),
        "unsupported base64 variant",
    );
    let mut f = Fixture::default();
    f.log.attributes.push(key_value("variant", s("base65")));
    assert_contains(
        &f.value_err(LOG, r#"Base64Encode("x", attributes["variant"])"#),
        "Base64Encode: unsupported base64 variant: base65",
    );
    assert_contains(
        &eval_err("Base64Encode(10)"),
        "`target` must be a string, got int",
    );
}

// func_base64decode_test.go: decodes standard base64 with padding; invalid data and missing
// padding are errors naming the input byte; a non-string or nil is an error.
#[test]
fn base64_decode() {
    assert_eq!(
        eval(r#"Base64Decode("aGVsbG8gd29ybGQ=")"#),
        vs("hello world")
    );
    assert_eq!(eval(r#"Base64Decode("")"#), vs(""));
    assert_contains(
        &eval_err(r#"Base64Decode("!@#$%^&*()_+")"#),
        "illegal base64 data at input byte",
    );
    assert_contains(
        &eval_err(r#"Base64Decode("cmVtb3ZlZCBwYWRkaW5nCg")"#),
        "illegal base64 data at input byte",
    );
    assert_contains(&eval_err("Base64Decode(10)"), "must be a string, got int");
    assert_contains(&eval_err("Base64Decode(nil)"), "must be a string, got nil");
}

// README "Decode" / func_decode.go: the four base64 variants (surrounding whitespace trimmed)
// and text encodings by IANA name; bytes and strings both decode; an unknown literal encoding
// is a startup error, an unknown computed one a runtime error.
#[test]
fn decode() {
    assert_eq!(
        eval(r#"Decode("aGVsbG8gd29ybGQ=", "base64")"#),
        vs("hello world")
    );
    assert_eq!(
        eval(r#"Decode(" aGVsbG8gd29ybGQ=\n", "base64")"#),
        vs("hello world")
    );
    assert_eq!(
        eval(r#"Decode("aGVsbG8gd29ybGQ", "base64-raw")"#),
        vs("hello world")
    );
    assert_eq!(
        eval(r#"Decode("PDw_Pz8-Pg==", "base64-url")"#),
        vs("<<???>>")
    );
    assert_eq!(
        eval(r#"Decode("PDw_Pz8-Pg", "base64-raw-url")"#),
        vs("<<???>>")
    );
    assert_eq!(eval(r#"Decode(0x636166e9, "iso-8859-1")"#), vs("café"));
    assert_eq!(eval(r#"Decode(0x636166e9, "latin1")"#), vs("café"));
    assert_eq!(eval(r#"Decode(0x80, "windows-1252")"#), vs("€"));
    assert_eq!(eval(r#"Decode(0x68006900, "UTF-16LE")"#), vs("hi"));
    assert_eq!(eval(r#"Decode(0x00680069, "utf-16be")"#), vs("hi"));
    assert_eq!(eval(r#"Decode(0x61ff62, "utf-8")"#), vs("a\u{FFFD}b"));
    assert_eq!(eval(r#"Decode("plain", "us-ascii")"#), vs("plain"));
    let mut f = Fixture::default();
    f.log.body = Some(bytes(&[0x68, 0x00, 0x69, 0x00]));
    f.log.attributes.push(key_value("enc", s("utf-16le")));
    assert_eq!(f.value(LOG, r#"Decode(body, attributes["enc"])"#), vs("hi"));

    assert_contains(
        &compile_err(r#"Decode(body, "klingon-8")"#),
        "unsupported encoding 'klingon-8'",
    );
    f.log.attributes.push(key_value("bad", s("klingon-8")));
    assert_contains(
        &f.value_err(LOG, r#"Decode(body, attributes["bad"])"#),
        "Decode: unsupported encoding 'klingon-8'",
    );
    assert_contains(
        &eval_err(r#"Decode("!!!", "base64")"#),
        "could not decode: illegal base64 data at input byte",
    );
    assert_contains(
        &eval_err(r#"Decode(nil, "utf-8")"#),
        "unsupported type provided to Decode function: nil",
    );
}

// README "ParseCSV" (its four examples, delimiter and headerDelimiter, the three modes, leading
// and trailing newlines stripped, newlines kept inside the field they appear in) and
// parseutils/csv.go (field-count mismatch, empty headers); bad literal arguments are startup
// errors.
#[test]
fn parse_csv() {
    let person = || {
        vmap(vec![
            ("phone", s("999-999-9999")),
            ("name", s("Joe Smith")),
            ("email", s("joe.smith@example.com")),
        ])
    };
    assert_eq!(
        eval(r#"ParseCSV("999-999-9999,Joe Smith,joe.smith@example.com", "phone,name,email")"#),
        person()
    );
    let mut f = Fixture::default();
    f.log.body = Some(s("999-999-9999|Joe Smith|joe.smith@example.com"));
    assert_eq!(
        f.value(LOG, r#"ParseCSV(body, "phone|name|email", delimiter="|")"#),
        person()
    );
    f.log.attributes.push(key_value(
        "csv_line",
        s("999-999-9999|Joe Smith|joe.smith@example.com"),
    ));
    f.log
        .attributes
        .push(key_value("csv_headers", s("phone,name,email")));
    assert_eq!(
        f.value(
            LOG,
            r#"ParseCSV(attributes["csv_line"], attributes["csv_headers"], delimiter="|", header_delimiter=",", mode="lazyQuotes")"#
        ),
        person()
    );
    assert_eq!(
        eval(
            r#"ParseCSV("\"555-555-5556,Joe Smith\",joe.smith@example.com", "phone,name,email", mode="ignoreQuotes")"#
        ),
        vmap(vec![
            ("phone", s("\"555-555-5556")),
            ("name", s("Joe Smith\"")),
            ("email", s("joe.smith@example.com")),
        ])
    );
    // Strict mode honours quotes: a quoted field keeps its delimiter; `""` is a quote.
    assert_eq!(
        eval(r#"ParseCSV("\"555-555-5556,Joe Smith\",joe.smith@example.com", "phone,email")"#),
        vmap(vec![
            ("phone", s("555-555-5556,Joe Smith")),
            ("email", s("joe.smith@example.com")),
        ])
    );
    assert_eq!(
        eval(r#"ParseCSV("\"say \"\"hi\"\"\",x", "a,b")"#),
        vmap(vec![("a", s("say \"hi\"")), ("b", s("x"))])
    );
    // lazyQuotes lets a quote appear inside an unquoted field; strict does not.
    assert_eq!(
        eval(r#"ParseCSV("a\"b,c", "x,y", mode="lazyQuotes")"#),
        vmap(vec![("x", s("a\"b")), ("y", s("c"))])
    );
    assert_contains(
        &eval_err(r#"ParseCSV("a\"b,c", "x,y")"#),
        "parse error on line 1, column 2: bare \" in non-quoted-field",
    );
    assert_contains(
        &eval_err(r#"ParseCSV("\"abc,d", "x,y")"#),
        "extraneous or missing \" in quoted-field",
    );
    // Newlines: stripped around the row, kept inside the field they appear in.
    assert_eq!(
        eval(r#"ParseCSV("\na,b\n", "x,y")"#),
        vmap(vec![("x", s("a")), ("y", s("b"))])
    );
    assert_eq!(
        eval(r#"ParseCSV("a,b\nc,d", "w,x,y")"#),
        vmap(vec![("w", s("a")), ("x", s("b\nc")), ("y", s("d"))])
    );
    assert_eq!(
        eval(r#"ParseCSV("\"multi\nline\",z", "x,y")"#),
        vmap(vec![("x", s("multi\nline")), ("y", s("z"))])
    );

    assert_contains(
        &eval_err(r#"ParseCSV("a,b", "x,y,z")"#),
        "wrong number of fields: expected 3, found 2",
    );
    assert_contains(
        &eval_err(r#"ParseCSV("a,b", "")"#),
        "headers must not be an empty string",
    );
    assert_contains(&eval_err(r#"ParseCSV("", "x")"#), "no csv lines found");
    assert_contains(
        &eval_err(r#"ParseCSV(1, "x")"#),
        "`target` must be a string, got int",
    );
    assert_contains(
        &compile_err(r#"ParseCSV(body, "a,b", delimiter="||")"#),
        "delimiter must be a single character",
    );
    assert_contains(
        &compile_err(r#"ParseCSV(body, "a,b", header_delimiter="")"#),
        "header_delimiter must be a single character",
    );
    assert_contains(
        &compile_err(r#"ParseCSV(body, "a,b", mode="fast")"#),
        "unknown mode: fast",
    );
}
