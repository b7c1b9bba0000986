//! The log-format parsers and `set_semconv_span_name` of otelcol's transform processor, with
//! cases from its README ("Logs only functions", "Traces only functions") and the Go tests
//! beside each function (`internal/logparsingfuncs/func_parse_*_test.go`,
//! `internal/traces/func_set_semconv_span_name_test.go`); every expectation is written by hand.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_ottl::{ContextKind, Transform, TransformConfig, Value, parse_expression};

const LOG: ContextKind = ContextKind::Log;
const SPAN: ContextKind = ContextKind::Span;

/// Runs `function(log.body, extra)` on a log whose body is `body`.
fn parse(function: &str, body: &str, extra: &str) -> Value<'static> {
    let mut f = Fixture::default();
    f.log.body = Some(s(body));
    f.value(LOG, &format!("{function}(log.body{extra})"))
}

fn parse_err(function: &str, body: &str, extra: &str) -> String {
    let mut f = Fixture::default();
    f.log.body = Some(s(body));
    f.value_err(LOG, &format!("{function}(log.body{extra})"))
}

fn compile_err(kind: ContextKind, text: &str) -> String {
    match parse_expression(kind, text) {
        Ok(_) => panic!("`{text}` compiled"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(message: &str, part: &str) {
    assert!(message.contains(part), "`{message}` lacks `{part}`");
}

/// The CLF fields every case has, then `rest`.
fn clf(
    host: &str,
    rfc931: &str,
    user: &str,
    time: &str,
    request: &str,
    rest: Vec<(
        &'static str,
        opentelemetry_proto::tonic::common::v1::AnyValue,
    )>,
) -> Value<'static> {
    let mut entries = vec![
        ("clf.remote_host", s(host)),
        ("clf.rfc931", s(rfc931)),
        ("clf.auth_user", s(user)),
        ("clf.timestamp", s(time)),
        ("clf.request", s(request)),
    ];
    entries.extend(rest);
    vmap(entries)
}

const T: &str = "10/Oct/2000:13:55:36 -0700";

// README "ParseCLF" and func_parse_clf_test.go.
#[test]
fn parse_clf() {
    assert_eq!(
        parse(
            "ParseCLF",
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
            ""
        ),
        clf(
            "127.0.0.1",
            "-",
            "frank",
            T,
            "GET /apache_pb.gif HTTP/1.0",
            vec![
                ("clf.method", s("GET")),
                ("clf.request_uri", s("/apache_pb.gif")),
                ("clf.protocol", s("HTTP/1.0")),
                ("clf.status", i(200)),
                ("clf.bytes", i(2326)),
            ]
        )
    );
    // `-` bytes leave the key out; surrounding whitespace is tolerated.
    assert_eq!(
        parse(
            "ParseCLF",
            "   192.168.1.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /redirect HTTP/1.1\" 304 -  ",
            ""
        ),
        clf(
            "192.168.1.1",
            "-",
            "-",
            T,
            "GET /redirect HTTP/1.1",
            vec![
                ("clf.method", s("GET")),
                ("clf.request_uri", s("/redirect")),
                ("clf.protocol", s("HTTP/1.1")),
                ("clf.status", i(304)),
            ]
        )
    );
    // A request line that is not three words is kept but not split.
    assert_eq!(
        parse(
            "ParseCLF",
            r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "MALFORMED" 400 0"#,
            ""
        ),
        clf(
            "127.0.0.1",
            "-",
            "-",
            T,
            "MALFORMED",
            vec![("clf.status", i(400)), ("clf.bytes", i(0))]
        )
    );
    // Escapes: `\\`, `\x22`, and unknown ones kept.
    assert_eq!(
        parse(
            "ParseCLF",
            r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /path\\to\x22file\x22 HTTP/1.1" 200 7"#,
            ""
        ),
        clf(
            "127.0.0.1",
            "-",
            "-",
            T,
            r#"GET /path\to"file" HTTP/1.1"#,
            vec![
                ("clf.method", s("GET")),
                ("clf.request_uri", s(r#"/path\to"file""#)),
                ("clf.protocol", s("HTTP/1.1")),
                ("clf.status", i(200)),
                ("clf.bytes", i(7)),
            ]
        )
    );
    assert_eq!(
        parse(
            "ParseCLF",
            r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a\q/b\xZZ HTTP/1.1" 200 5"#,
            ""
        ),
        clf(
            "127.0.0.1",
            "-",
            "-",
            T,
            r"GET /a\q/b\xZZ HTTP/1.1",
            vec![
                ("clf.method", s("GET")),
                ("clf.request_uri", s(r"/a\q/b\xZZ")),
                ("clf.protocol", s("HTTP/1.1")),
                ("clf.status", i(200)),
                ("clf.bytes", i(5)),
            ]
        )
    );
}

#[test]
fn parse_clf_combined() {
    assert_eq!(
        parse(
            "ParseCLF",
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
            r#", "combined""#
        ),
        clf(
            "127.0.0.1",
            "-",
            "frank",
            T,
            "GET /apache_pb.gif HTTP/1.0",
            vec![
                ("clf.method", s("GET")),
                ("clf.request_uri", s("/apache_pb.gif")),
                ("clf.protocol", s("HTTP/1.0")),
                ("clf.status", i(200)),
                ("clf.bytes", i(2326)),
                ("clf.referer", s("http://www.example.com/start.html")),
                ("clf.user_agent", s("Mozilla/4.08 [en] (Win98; I ;Nav)")),
            ]
        )
    );
    // Escaped quotes cannot end a field early (the injection case), named argument `format`.
    assert_eq!(
        parse(
            "ParseCLF",
            r#"203.0.113.7 - - [12/Jun/2026:09:15:02 +0000] "GET /products?id=1\" OR \"1\"=\"1 HTTP/1.1" 500 412 "-" "sqlmap/1.7""#,
            r#", format = "combined""#
        ),
        clf(
            "203.0.113.7",
            "-",
            "-",
            "12/Jun/2026:09:15:02 +0000",
            r#"GET /products?id=1" OR "1"="1 HTTP/1.1"#,
            vec![
                ("clf.method", s("GET")),
                ("clf.request_uri", s(r#"/products?id=1""#)),
                ("clf.protocol", s(r#"OR "1"="1 HTTP/1.1"#)),
                ("clf.status", i(500)),
                ("clf.bytes", i(412)),
                ("clf.referer", s("-")),
                ("clf.user_agent", s("sqlmap/1.7")),
            ]
        )
    );
    let agent = parse(
        "ParseCLF",
        r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 304 - "http://example.com/a\\b" "Mozilla/5.0 \"compatible\"\tagent""#,
        r#", "combined""#,
    );
    let Value::Map(entries) = agent else {
        panic!("not a map: {agent:?}")
    };
    assert_eq!(
        attr(&entries, "clf.referer"),
        Some(&s(r"http://example.com/a\b"))
    );
    assert_eq!(
        attr(&entries, "clf.user_agent"),
        Some(&s("Mozilla/5.0 \"compatible\"\tagent"))
    );
    assert_eq!(attr(&entries, "clf.bytes"), None);
}

#[test]
fn parse_clf_errors() {
    let line = r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1""#;
    for (body, part) in [
        (
            "this is not a CLF message",
            "does not match expected \"clf\" format",
        ),
        (
            r#"127.0.0.1 - - 10/Oct/2000:13:55:36 -0700 "GET / HTTP/1.1" 200 42"#,
            "does not match",
        ),
        (
            r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] GET / HTTP/1.1 200 42"#,
            "does not match",
        ),
        (&format!("{line} 200"), "does not match"),
        (&format!("{line} OK 42"), "invalid status code \"OK\""),
        (&format!("{line} 200 lots"), "invalid bytes value \"lots\""),
        (
            &format!("{line} 200 42 \"-\" \"curl/8.0\""),
            "does not match",
        ),
        ("", "ParseCLF: cannot parse empty CLF message"),
    ] {
        assert_contains(&parse_err("ParseCLF", body, ""), part);
    }
    assert_contains(
        &parse_err("ParseCLF", &format!("{line} 200 42"), r#", "combined""#),
        "does not match expected \"combined\" format",
    );
    assert_contains(
        &compile_err(LOG, r#"ParseCLF(log.body, "nginx")"#),
        "invalid format \"nginx\": must be \"clf\" or \"combined\"",
    );
    assert_contains(
        &parse_err("ParseCLF", "x", "").to_owned(),
        "ParseCLF: invalid CLF message",
    );
    let mut f = Fixture::default();
    f.log.body = Some(i(1));
    assert_contains(&f.value_err(LOG, "ParseCLF(log.body)"), "must be a string");
    // Log context only, as in otelcol.
    assert_contains(&compile_err(SPAN, r#"ParseCLF("x")"#), "ParseCLF");
}

fn cef(
    header: [&str; 7],
    extensions: Vec<(&str, opentelemetry_proto::tonic::common::v1::AnyValue)>,
) -> Value<'static> {
    vmap(vec![
        ("cef.version", s(header[0])),
        ("cef.device_vendor", s(header[1])),
        ("cef.device_product", s(header[2])),
        ("cef.device_version", s(header[3])),
        ("cef.device_event_class_id", s(header[4])),
        ("cef.name", s(header[5])),
        ("cef.severity", s(header[6])),
        ("cef.extensions", map(extensions)),
    ])
}

// README "ParseCEF" and func_parse_cef_test.go.
#[test]
fn parse_cef() {
    let worm = [
        "0",
        "Security",
        "threatmanager",
        "1.0",
        "100",
        "worm successfully stopped",
        "10",
    ];
    assert_eq!(
        parse(
            "ParseCEF",
            "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
            ""
        ),
        cef(
            worm,
            vec![
                ("src", s("10.0.0.1")),
                ("dst", s("2.1.2.2")),
                ("spt", s("1232"))
            ]
        )
    );
    // A syslog header before `CEF:` is skipped.
    assert_eq!(
        parse(
            "ParseCEF",
            "<134>Sep 19 08:26:10 host CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2",
            ""
        ),
        cef(worm, vec![("src", s("10.0.0.1")), ("dst", s("2.1.2.2"))])
    );
    let plain = ["0", "Vendor", "Product", "1.0", "EventID", "EventName", "5"];
    assert_eq!(
        parse(
            "ParseCEF",
            "CEF:0|Vendor|Product|1.0|EventID|EventName|5",
            ""
        ),
        cef(plain, vec![])
    );
    assert_eq!(
        parse(
            "ParseCEF",
            "CEF:0|Vendor|Product|1.0|EventID|EventName|5|",
            ""
        ),
        cef(plain, vec![])
    );
    // Header escapes.
    assert_eq!(
        parse(
            "ParseCEF",
            r"CEF:0|Vendor\\Co|Product\|X|1.0|100|Event|5|src=10.0.0.1",
            ""
        ),
        cef(
            ["0", r"Vendor\Co", "Product|X", "1.0", "100", "Event", "5"],
            vec![("src", s("10.0.0.1"))]
        )
    );
    let event = ["0", "Vendor", "Product", "1.0", "100", "Event", "5"];
    // Values run to the next `key=`, with spaces, embedded `=` and escapes.
    assert_eq!(
        parse(
            "ParseCEF",
            r"CEF:0|Vendor|Product|1.0|100|Event|5|src=10.0.0.1 msg=this is a message with spaces cs1=value with \= equals request=http://example.com?foo=bar&baz=qux fname=C:\\Windows\\cmd.exe note=line one\nline two\rend",
            ""
        ),
        cef(
            event,
            vec![
                ("src", s("10.0.0.1")),
                ("msg", s("this is a message with spaces")),
                ("cs1", s("value with = equals")),
                ("request", s("http://example.com?foo=bar&baz=qux")),
                ("fname", s(r"C:\Windows\cmd.exe")),
                ("note", s("line one\nline two\rend")),
            ]
        )
    );
}

#[test]
fn parse_cef_errors() {
    for (body, part) in [
        ("", "ParseCEF: cannot parse empty CEF message"),
        (
            "LEEF:1.0|Vendor|Product|1.0|EventID|src=1.2.3.4",
            "'CEF:' not found",
        ),
        (
            "CEF:0|Vendor|Product",
            "expected at least 7 pipe-delimited fields",
        ),
        ("CEF:|Vendor|Product|1.0|100|Event|5|", "missing version"),
    ] {
        assert_contains(&parse_err("ParseCEF", body, ""), part);
    }
}

fn leef(
    header: [&str; 5],
    attributes: Vec<(&str, opentelemetry_proto::tonic::common::v1::AnyValue)>,
) -> Value<'static> {
    vmap(vec![
        ("leef.version", s(header[0])),
        ("leef.vendor", s(header[1])),
        ("leef.product.name", s(header[2])),
        ("leef.product.version", s(header[3])),
        ("leef.event.id", s(header[4])),
        ("leef.attributes", map(attributes)),
    ])
}

// README "ParseLEEF" and func_parse_leef_test.go.
#[test]
fn parse_leef() {
    assert_eq!(
        parse(
            "ParseLEEF",
            "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tsev=5",
            ""
        ),
        leef(
            ["1.0", "Microsoft", "MSExchange", "4.0 SP1", "15345"],
            vec![
                ("src", s("10.50.1.1")),
                ("dst", s("2.10.20.20")),
                ("sev", s("5"))
            ]
        )
    );
    let lancope = ["2.0", "Lancope", "StealthWatch", "1.0", "41"];
    assert_eq!(
        parse(
            "ParseLEEF",
            "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5",
            ""
        ),
        leef(
            lancope,
            vec![
                ("src", s("10.0.1.8")),
                ("dst", s("10.0.0.5")),
                ("sev", s("5"))
            ]
        )
    );
    let v2 = ["2.0", "Vendor", "Product", "1.0", "100"];
    let two = || vec![("key1", s("val1")), ("key2", s("val2"))];
    for body in [
        "LEEF:2.0|Vendor|Product|1.0|100|0x09|key1=val1\tkey2=val2",
        "LEEF:2.0|Vendor|Product|1.0|100|0x5e|key1=val1^key2=val2",
        "LEEF:2.0|Vendor|Product|1.0|100|0X5E|key1=val1^key2=val2",
        "LEEF:2.0|Vendor|Product|1.0|100||key1=val1\tkey2=val2",
        "LEEF:2.0|Vendor|Product|1.0|100|^|key1=val1^^key2=val2",
        // The delimiter field left out: the fifth field is the first attribute.
        "LEEF:2.0|Vendor|Product|1.0|100|key1=val1\tkey2=val2",
    ] {
        assert_eq!(parse("ParseLEEF", body, ""), leef(v2, two()), "{body}");
    }
    // A left-out delimiter keeps pipes inside the attributes.
    assert_eq!(
        parse(
            "ParseLEEF",
            "LEEF:2.0|Vendor|Product|1.0|100|a=x|y\tb=2",
            ""
        ),
        leef(v2, vec![("a", s("x|y")), ("b", s("2"))])
    );
    let v1 = ["1.0", "Vendor", "Product", "1.0", "Event"];
    for body in [
        "LEEF:1.0|Vendor|Product|1.0|Event",
        "LEEF:1.0|Vendor|Product|1.0|Event|",
    ] {
        assert_eq!(parse("ParseLEEF", body, ""), leef(v1, vec![]), "{body}");
    }
    assert_eq!(
        parse("ParseLEEF", "LEEF:2.0|Vendor|Product|1.0|100|^", ""),
        leef(v2, vec![])
    );
    // Lenient attributes: empty values kept, pairs without `=` or key skipped, the last of a
    // repeated key wins, whitespace kept; a syslog header is skipped.
    assert_eq!(
        parse(
            "ParseLEEF",
            "<30>Aug 19 12:33:31 host guard_sender[4486]: LEEF:1.0|Vendor|Product|1.0|Event|\tkey1=\tnoequals\t=v\tmsg= a b \tkey1=last\t",
            ""
        ),
        leef(v1, vec![("key1", s("last")), ("msg", s(" a b "))])
    );
}

#[test]
fn parse_leef_errors() {
    for (body, part) in [
        ("", "ParseLEEF: cannot parse empty LEEF message"),
        ("CEF:0|a|b|c|d|e|f|", "'LEEF:' not found"),
        ("LEEF:1.0", "missing pipe delimiter in header"),
        (
            "LEEF:3.0|Vendor|Product|1.0|Event|",
            "unsupported LEEF version: 3.0 (supported: 1.0, 2.0)",
        ),
        (
            "LEEF:1.0|Vendor|Product",
            "invalid LEEF 1.0 header: expected at least 4 fields",
        ),
        ("LEEF:2.0|Vendor|Product", "invalid LEEF 2.0 header"),
        (
            "LEEF:2.0|Vendor|Product|1.0|100|ab|k=v",
            "invalid LEEF 2.0 delimiter: delimiter must be a single character",
        ),
        ("LEEF:2.0|Vendor|Product|1.0|100|0x|k=v", "empty hex value"),
        (
            "LEEF:2.0|Vendor|Product|1.0|100|0xZZ|k=v",
            "invalid hex delimiter \"0xZZ\"",
        ),
        (
            "LEEF:2.0|Vendor|Product|1.0|100|0x0909|k=v",
            "hex delimiter must decode to a single byte, got 2 bytes",
        ),
    ] {
        assert_contains(&parse_err("ParseLEEF", body, ""), part);
    }
}

// README "ParseELF" and func_parse_elf_test.go.
#[test]
fn parse_elf() {
    assert_eq!(
        parse(
            "ParseELF",
            "#Version: 1.0\n#Fields: time cs-method cs-uri\n00:34:23 GET /foo/bar.html",
            ""
        ),
        vmap(vec![
            (
                "elf.entries",
                list(vec![map(vec![
                    ("time", s("00:34:23")),
                    ("cs-method", s("GET")),
                    ("cs-uri", s("/foo/bar.html")),
                ])])
            ),
            ("elf.version", s("1.0")),
            (
                "elf.fields",
                list(vec![s("time"), s("cs-method"), s("cs-uri")])
            ),
        ])
    );
    // IIS quoting with `""`, CRLF lines, a second #Fields, missing values as `-`, other
    // directives, a bare #Remark skipped.
    assert_eq!(
        parse(
            "ParseELF",
            "#Software: IIS\r\n#version: 1.0\r\n#Date: 2024-01-01 00:00:00\r\n#Remark\r\n#Fields: a b\r\n\"x \"\"y\"\"\"\t1\r\n\r\n#Fields: c d e\r\n2 3",
            ""
        ),
        vmap(vec![
            (
                "elf.entries",
                list(vec![
                    map(vec![("a", s("x \"y\"")), ("b", s("1"))]),
                    map(vec![("c", s("2")), ("d", s("3")), ("e", s("-"))]),
                ])
            ),
            ("elf.software", s("IIS")),
            ("elf.version", s("1.0")),
            ("elf.date", s("2024-01-01 00:00:00")),
            ("elf.fields", list(vec![s("c"), s("d"), s("e")])),
        ])
    );
    for (body, part) in [
        ("", "ParseELF: cannot parse empty ELF message"),
        ("#Fields: a\nx", "missing #Version directive"),
        (
            "#Version: 1.0\nx",
            "data entry found before #Fields directive",
        ),
        (
            "#Version: 1.0\n#Fields a b\nx",
            "malformed #Fields directive",
        ),
        (
            "#Version: 1.0\n#Fields: a\n\"open",
            "unterminated quoted value",
        ),
    ] {
        assert_contains(&parse_err("ParseELF", body, ""), part);
    }
}

/// Runs `statement` on a server span with `attributes`, named `name`; returns the span.
fn rename(
    kind: i32,
    name: &str,
    attributes: Vec<(&str, opentelemetry_proto::tonic::common::v1::AnyValue)>,
    statement: &str,
) -> Span {
    let mut f = Fixture::default();
    f.span.kind = kind;
    f.span.name = name.to_owned();
    f.span.attributes = kvs(attributes);
    f.run(SPAN, statement);
    f.span
}

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;
const INTERNAL: i32 = 1;

fn renamed(
    kind: i32,
    attributes: Vec<(&str, opentelemetry_proto::tonic::common::v1::AnyValue)>,
) -> String {
    rename(
        kind,
        "original",
        attributes,
        r#"set_semconv_span_name("1.43.0")"#,
    )
    .name
}

// README "set_semconv_span_name": the three sanitization examples, and the original name kept
// in an attribute only when it changes.
#[test]
fn set_semconv_span_name_readme() {
    let span = rename(
        SERVER,
        "GET /api/v1/users/123",
        vec![
            ("http.request.method", s("GET")),
            ("http.route", s("/api/v1/users/{id}")),
            ("url.path", s("/api/v1/users/123")),
        ],
        r#"set_semconv_span_name("1.43.0", "original_span_name")"#,
    );
    assert_eq!(span.name, "GET /api/v1/users/{id}");
    assert_eq!(
        attr(&span.attributes, "original_span_name"),
        Some(&s("GET /api/v1/users/123"))
    );
    let span = rename(
        SERVER,
        "GET /api/v1/users/123",
        vec![
            ("http.request.method", s("GET")),
            ("url.path", s("/api/v1/users/123")),
        ],
        r#"set_semconv_span_name("1.43.0")"#,
    );
    assert_eq!(span.name, "GET");
    let span = rename(
        SERVER,
        "GET /api/v1/users/{id}",
        vec![
            ("http.request.method", s("GET")),
            ("http.route", s("/api/v1/users/{id}")),
        ],
        r#"set_semconv_span_name(semconv_version = "1.37.0", original_span_name_attribute = "original_span_name")"#,
    );
    assert_eq!(span.name, "GET /api/v1/users/{id}");
    assert_eq!(attr(&span.attributes, "original_span_name"), None);
}

#[test]
fn set_semconv_span_name_rules() {
    // HTTP: the client's subject is url.template; deprecated http.method.
    assert_eq!(
        renamed(
            CLIENT,
            vec![
                ("http.method", s("POST")),
                ("url.template", s("/users/{id}"))
            ]
        ),
        "POST /users/{id}"
    );
    // RPC, with the deprecated rpc.system / rpc.grpc.* attributes.
    assert_eq!(
        renamed(
            SERVER,
            vec![
                ("rpc.system", s("grpc")),
                ("rpc.grpc.service", s("a.B")),
                ("rpc.grpc.method", s("Get"))
            ]
        ),
        "a.B/Get"
    );
    assert_eq!(
        renamed(
            CLIENT,
            vec![("rpc.system.name", s("grpc")), ("rpc.service", s("a.B"))]
        ),
        "a.B/*"
    );
    assert_eq!(
        renamed(
            CLIENT,
            vec![("rpc.system.name", s("grpc")), ("rpc.method", s("Get"))]
        ),
        "Get"
    );
    assert_eq!(
        renamed(SERVER, vec![("rpc.system.name", s("grpc"))]),
        "grpc"
    );
    // Databases (client spans only).
    assert_eq!(
        renamed(
            CLIENT,
            vec![
                ("db.system.name", s("postgresql")),
                ("db.query.summary", s("SELECT users")),
                ("db.operation.name", s("SELECT"))
            ]
        ),
        "SELECT users"
    );
    assert_eq!(
        renamed(
            CLIENT,
            vec![
                ("db.system", s("postgresql")),
                ("db.operation", s("SELECT")),
                ("db.name", s("shop")),
                ("db.collection.name", s("users"))
            ]
        ),
        "SELECT shop.users"
    );
    assert_eq!(
        renamed(
            CLIENT,
            vec![
                ("db.system.name", s("mssql")),
                ("db.stored_procedure.name", s("GetUser"))
            ]
        ),
        "GetUser"
    );
    assert_eq!(
        renamed(
            CLIENT,
            vec![
                ("db.system.name", s("redis")),
                ("server.address", s("cache")),
                ("server.port", i(6379))
            ]
        ),
        "cache:6379"
    );
    assert_eq!(
        renamed(CLIENT, vec![("db.system.name", s("redis"))]),
        "redis"
    );
    assert_eq!(
        renamed(
            SERVER,
            vec![
                ("db.system.name", s("redis")),
                ("db.operation.name", s("GET"))
            ]
        ),
        "original"
    );
    // Messaging.
    assert_eq!(
        renamed(
            PRODUCER,
            vec![
                ("messaging.system", s("kafka")),
                ("messaging.operation", s("send")),
                ("messaging.destination", s("orders"))
            ]
        ),
        "send orders"
    );
    assert_eq!(
        renamed(
            CONSUMER,
            vec![
                ("messaging.system", s("rabbitmq")),
                ("messaging.operation.name", s("process")),
                ("messaging.destination.temporary", b(true)),
                ("messaging.destination.name", s("amq.gen-1"))
            ]
        ),
        "process (temporary)"
    );
    assert_eq!(
        renamed(
            CONSUMER,
            vec![
                ("messaging.system", s("rabbitmq")),
                ("messaging.destination.anonymous", b(true))
            ]
        ),
        "(anonymous)"
    );
    assert_eq!(
        renamed(
            CONSUMER,
            vec![
                ("messaging.system", s("kafka")),
                ("messaging.destination.template", s("/orders/{id}")),
                ("messaging.destination.name", s("/orders/1"))
            ]
        ),
        "/orders/{id}"
    );
    assert_eq!(
        renamed(
            SERVER,
            vec![
                ("messaging.system", s("kafka")),
                ("server.address", s("broker"))
            ]
        ),
        "broker"
    );
    assert_eq!(
        renamed(
            PRODUCER,
            vec![
                ("messaging.system", s("kafka")),
                ("messaging.operation.name", s("publish"))
            ]
        ),
        "publish"
    );
    assert_eq!(
        renamed(PRODUCER, vec![("messaging.system", s("kafka"))]),
        "kafka"
    );
    // Internal spans, and spans no convention names, keep their name.
    assert_eq!(
        renamed(INTERNAL, vec![("http.request.method", s("GET"))]),
        "original"
    );
    assert_eq!(renamed(SERVER, vec![("app.x", s("y"))]), "original");
}

#[test]
fn set_semconv_span_name_checks_its_arguments() {
    for (statement, part) in [
        (
            r#"set_semconv_span_name("1.36.0")"#,
            "unsupported semconv version \"1.36.0\": must be between 1.37.0 and 1.43.0",
        ),
        (
            r#"set_semconv_span_name("1.44.0")"#,
            "unsupported semconv version",
        ),
        (
            r#"set_semconv_span_name("1.37.0-rc.1")"#,
            "unsupported semconv version",
        ),
        (
            r#"set_semconv_span_name("latest")"#,
            "failed to parse semconv version \"latest\"",
        ),
        (
            r#"set_semconv_span_name("1.43.0", "")"#,
            "cannot be an empty string",
        ),
    ] {
        match otlp_ottl::parse_statement(SPAN, statement) {
            Ok(_) => panic!("`{statement}` compiled"),
            Err(e) => assert_contains(&e.to_string(), part),
        }
    }
    assert!(otlp_ottl::parse_statement(SPAN, r#"set_semconv_span_name("v1.40")"#).is_ok());
    assert!(otlp_ottl::parse_statement(LOG, r#"set_semconv_span_name("1.43.0")"#).is_err());
}

// The README's configuration, through the transform engine.
#[test]
fn set_semconv_span_name_in_a_transform() {
    let config: TransformConfig = serde_norway::from_str(
        r#"
error_mode: ignore
trace_statements:
  - context: span
    statements:
      - set_semconv_span_name("1.43.0", "original_span_name")
"#,
    )
    .unwrap();
    let transform = Transform::new(&config).unwrap_or_else(|e| panic!("{e}"));
    let span = |name: &str, kind: i32, attributes| Span {
        name: name.to_owned(),
        kind,
        attributes: kvs(attributes),
        ..Default::default()
    };
    let mut request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span(
                        "GET /api/v1/users/123",
                        SERVER,
                        vec![
                            ("http.request.method", s("GET")),
                            ("http.route", s("/api/v1/users/{id}")),
                        ],
                    ),
                    span("work", INTERNAL, vec![]),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    transform.apply_traces(&mut request).unwrap();
    let spans = &request.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans[0].name, "GET /api/v1/users/{id}");
    assert_eq!(
        attr(&spans[0].attributes, "original_span_name"),
        Some(&s("GET /api/v1/users/123"))
    );
    assert_eq!(spans[1].name, "work");
    assert!(spans[1].attributes.is_empty());
}
