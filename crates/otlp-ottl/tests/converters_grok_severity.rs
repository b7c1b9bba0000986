//! `ParseSeverity` and `ExtractGrokPatterns`, with cases from otelcol-contrib's
//! `pkg/ottl/ottlfuncs/README.md`, `func_parse_severity_test.go`,
//! `func_extract_grok_patterns_test.go` and the e2e test; every expectation is written by hand.

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

// ---------------------------------------------------------------------------------------------
// ParseSeverity

/// `getTestSeverityMapping` of func_parse_severity_test.go.
const HTTP_MAPPING: &str = r#"{
    "error": [{"range": {"min": 400, "max": 499}}],
    "debug": [{"range": {"min": 100, "max": 199}}],
    "info": [{"equals": ["inf", "info"]}, {"range": "2xx"}],
    "warn": [{"range": {"min": 300, "max": 399}}],
    "fatal": [{"range": {"min": 500, "max": 599}}]
}"#;

fn severity(target: &str, mapping: &str) -> Value<'static> {
    eval(&format!("ParseSeverity({target}, {mapping})"))
}

// func_parse_severity_test.go: status codes through ranges, strings through `equals`, the
// `2xx` shorthand.
#[test]
fn parse_severity_maps_codes_and_strings() {
    assert_eq!(severity("400", HTTP_MAPPING), vs("error"));
    assert_eq!(severity("499", HTTP_MAPPING), vs("error"));
    assert_eq!(severity("100", HTTP_MAPPING), vs("debug"));
    assert_eq!(severity("200", HTTP_MAPPING), vs("info"));
    assert_eq!(severity("\"inf\"", HTTP_MAPPING), vs("info"));
    assert_eq!(severity("\"info\"", HTTP_MAPPING), vs("info"));
    assert_eq!(severity("302", HTTP_MAPPING), vs("warn"));
    assert_eq!(severity("503", HTTP_MAPPING), vs("fatal"));
    // "map from status code based on value range"
    assert_eq!(
        severity("200", r#"{"info": [{"range": "2xx"}]}"#),
        vs("info")
    );
    for (code, placeholder) in [(300, "3xx"), (404, "4xx"), (599, "5xx")] {
        assert_eq!(
            severity(
                &code.to_string(),
                &format!(r#"{{"hit": [{{"range": "{placeholder}"}}]}}"#)
            ),
            vs("hit")
        );
    }
    // "multiple criteria of mixed types": `min`/`max` outside `range` match nothing, and a
    // string is only compared with `equals`.
    let mixed = r#"{"error": [{"min": 400, "max": 599}], "info": [{"equals": ["info", "inf"]}]}"#;
    assert_eq!(severity("\"inf\"", mixed), vs("info"));
    assert_contains(
        &eval_err(&format!("ParseSeverity(450, {mixed})")),
        "no matching log level found for value '450'",
    );
    // Matching is exact: case and surrounding text matter.
    assert_contains(
        &eval_err(&format!("ParseSeverity(\"INFO\", {HTTP_MAPPING})")),
        "ParseSeverity: could not map log level: no matching log level found for value 'INFO'",
    );
    assert_contains(
        &eval_err(&format!("ParseSeverity(600, {HTTP_MAPPING})")),
        "no matching log level found for value '600'",
    );
}

// The e2e case of otelcol's transform tests: the log's severity_number through a mapping with
// both kinds of criteria.
#[test]
fn parse_severity_on_a_log() {
    let mapping = r#"{
        "error": [{"equals": ["err"]}, {"range": {"min": 3, "max": 4}}],
        "info": [{"range": {"min": 1, "max": 2}}]
    }"#;
    let mut f = Fixture::default();
    f.log.severity_number = 2;
    f.run(
        LOG,
        &format!(r#"set(attributes["test"], ParseSeverity(severity_number, {mapping}))"#),
    );
    assert_eq!(attr(&f.log.attributes, "test"), Some(&s("info")));
    f.log.severity_number = 4;
    assert_eq!(
        f.value(LOG, &format!("ParseSeverity(severity_number, {mapping})")),
        vs("error")
    );
    f.log.severity_text = "err".to_owned();
    assert_eq!(
        f.value(LOG, &format!("ParseSeverity(severity_text, {mapping})")),
        vs("error")
    );
    // The named argument is the Go field `Mapping`.
    assert_eq!(
        f.value(
            LOG,
            &format!("ParseSeverity(target = severity_text, mapping = {mapping})")
        ),
        vs("error")
    );
}

// func_parse_severity_test.go: a target that is neither a string nor an int.
#[test]
fn parse_severity_rejects_other_targets() {
    let warn = r#"{"warn": [{"range": {"min": 400, "max": 499}}]}"#;
    let message = eval_err(&format!(r#"ParseSeverity({{"foo": "bar"}}, {warn})"#));
    assert_contains(
        &message,
        "could not map log level: could not evaluate log level of value",
    );
    assert_contains(&message, "unsupported value type");
    assert_contains(
        &eval_err(&format!("ParseSeverity(1.5, {warn})")),
        "unsupported value type",
    );
    assert_contains(
        &eval_err(&format!("ParseSeverity(nil, {warn})")),
        "unsupported value type",
    );
}

// func_parse_severity_test.go's invalid mappings, reported at startup here.
#[test]
fn parse_severity_bad_mappings_fail_at_compile_time() {
    let cases = [
        (
            r#"{"info": ["info", "inf"]}"#,
            "severity mapping criteria items must be maps",
        ),
        (
            r#"{"error": "invalid"}"#,
            "severity mapping criteria must be a list",
        ),
        (
            r#"{"error": [{"range": {"min": "foo", "max": 599}}]}"#,
            "invalid severity mapping criteria: min must be an int64",
        ),
        (
            r#"{"error": [{"range": {"min": 400, "max": "foo"}}]}"#,
            "invalid severity mapping criteria: max must be an int64",
        ),
        (
            r#"{"error": [{"range": {"max": 599}}]}"#,
            "invalid severity mapping criteria: range must have a min value",
        ),
        (
            r#"{"error": [{"range": {"min": 400}}]}"#,
            "invalid severity mapping criteria: range must have a max value",
        ),
        (
            r#"{"error": [{"range": {"min": 400.0, "max": 499}}]}"#,
            "min must be an int64",
        ),
        (
            r#"{"error": [{"range": "6xx"}]}"#,
            "unknown range placeholder: 6xx",
        ),
        (
            r#"{"error": [{"range": 4}]}"#,
            "range must be a map or a known placeholder string",
        ),
        (r#"{"error": [{"equals": "err"}]}"#, "equals must be a list"),
        (
            r#"{"error": [{"equals": [1]}]}"#,
            "equals values must be strings",
        ),
    ];
    for (mapping, expected) in cases {
        let message = compile_err(&format!("ParseSeverity(severity_text, {mapping})"));
        assert_contains(&message, "argument `mapping` of `ParseSeverity`");
        assert_contains(&message, expected);
    }
    // otelcol only accepts a literal mapping.
    assert_contains(
        &compile_err(r#"ParseSeverity(severity_text, attributes["mapping"])"#),
        "severity mapping must be a literal map",
    );
    assert_contains(
        &compile_err(r#"ParseSeverity(severity_text, "info")"#),
        "severity mapping must be a literal map",
    );
}

// ---------------------------------------------------------------------------------------------
// ExtractGrokPatterns

const URL: &str = "http://user:password@example.com:80/path?query=string";

// func_extract_grok_patterns_test.go "regex - extract patterns" / "no pattern found", and the
// README's regex examples: plain named groups are captured as by ExtractPatterns.
#[test]
fn grok_plain_regex() {
    assert_eq!(
        eval(r#"ExtractGrokPatterns("a=b c=d", "^a=(?P<a>\\w+)\\s+c=(?P<c>\\w+)$")"#),
        vmap(vec![("a", s("b")), ("c", s("d"))])
    );
    assert_eq!(
        eval(r#"ExtractGrokPatterns("a=b c=d", "^a=(?P<a>\\w+)$")"#),
        vmap(vec![])
    );
    assert_eq!(
        eval(r#"ExtractGrokPatterns("deploy GIT_SHA=3f2a9c1 by ci", "GIT_SHA=(?P<git.sha>\\w+)")"#),
        vmap(vec![("git.sha", s("3f2a9c1"))])
    );
    let mut f = Fixture::default();
    f.log.body = Some(s("Jan 5 10:00:01 web-1 sshd[42]: accepted"));
    assert_eq!(
        f.value(
            LOG,
            r#"ExtractGrokPatterns(body, "^(?P<timestamp>\\w+ \\w+ [0-9]+:[0-9]+:[0-9]+) (?P<hostname>([A-Za-z0-9-_]+)) (?P<process>\\w+)(\\[(?P<pid>\\d+)\\])?: (?P<message>.*)$")"#
        ),
        vmap(vec![
            ("timestamp", s("Jan 5 10:00:01")),
            ("hostname", s("web-1")),
            ("process", s("sshd")),
            ("pid", s("42")),
            ("message", s("accepted")),
        ])
    );
    // "no named capture group" without namedCapturesOnly: fine, and nothing to return.
    assert_eq!(
        eval(r#"ExtractGrokPatterns("foobar", "(.*)")"#),
        vmap(vec![])
    );
}

// "grok - URI default pattern": without namedCapturesOnly every `%{NAME}` is captured under its
// own name, the outer `URI` and the nested ones included; groups that did not take part (IP) are left out.
#[test]
fn grok_uri_with_unnamed_captures() {
    assert_eq!(
        eval(&format!(r#"ExtractGrokPatterns("{URL}", "%{{URI}}")"#)),
        vmap(vec![
            ("URI", s(URL)),
            ("URIPROTO", s("http")),
            ("USER", s("user")),
            ("USERNAME", s("user")),
            ("URIHOST", s("example.com:80")),
            ("IPORHOST", s("example.com")),
            ("HOSTNAME", s("example.com")),
            ("POSINT", s("80")),
            ("URIPATH", s("/path")),
            ("URIQUERY", s("query=string")),
        ])
    );
    // The README's `%{URI}` with namedCapturesOnly: no names, so a startup error.
    assert_contains(
        &compile_err(r#"ExtractGrokPatterns(body, "%{URI}", true)"#),
        "at least 1 named capture group must be supplied in the given regex",
    );
}

// "grok - URI AWS pattern with captures": ELB_URI names its parts, and `url.port` is `:int`.
#[test]
fn grok_elb_uri_with_types() {
    assert_eq!(
        eval(&format!(
            r#"ExtractGrokPatterns("{URL}", "%{{ELB_URI}}", true)"#
        )),
        vmap(vec![
            ("url.scheme", s("http")),
            ("url.username", s("user")),
            ("url.domain", s("example.com")),
            ("url.port", i(80)),
            ("url.path", s("/path")),
            ("url.query", s("query=string")),
        ])
    );
}

const POSTGRES: &str = "%{DATESTAMP:timestamp} %{TZ:event.timezone} %{DATA:user.name} %{GREEDYDATA:postgresql.log.connection_id} %{POSINT:process.pid:int}";

// "grok - POSTGRES log sample" and the README's example of it, then the same through a custom
// LOGLINE definition, and "grok - custom patterns".
#[test]
fn grok_postgres_and_custom_definitions() {
    let expected = vmap(vec![
        // DATE tries DATE_US then DATE_EU at each position; the first match starts at "24".
        ("timestamp", s("24-06-18 12:34:56")),
        ("event.timezone", s("UTC")),
        ("user.name", s("johndoe")),
        ("postgresql.log.connection_id", s("12345")),
        ("process.pid", i(67890)),
    ]);
    let line = "2024-06-18 12:34:56 UTC johndoe 12345 67890";
    assert_eq!(
        eval(&format!(
            r#"ExtractGrokPatterns("{line}", "{POSTGRES}", true)"#
        )),
        expected
    );
    assert_eq!(
        eval(&format!(
            r#"ExtractGrokPatterns("{line}", "%{{LOGLINE}}", true, ["LOGLINE={POSTGRES}"])"#
        )),
        expected
    );
    // Named arguments bind to the Go fields' snake_case.
    assert_eq!(
        eval(&format!(
            r#"ExtractGrokPatterns(target = "{line}", pattern = "%{{LOGLINE}}", named_captures_only = true, pattern_definitions = ["LOGLINE={POSTGRES}"])"#
        )),
        expected
    );
    assert_eq!(
        eval(
            r#"ExtractGrokPatterns("2024-06-18 12:34:56 otel", "%{MYPATTERN}", true, ["MYPATTERN=%{MYDATEPATTERN:timestamp} otel", "MYDATEPATTERN=%{DATE}[- ]%{TIME}"])"#
        ),
        vmap(vec![("timestamp", s("24-06-18 12:34:56"))])
    );
    // A custom definition replaces a built-in one of the same name.
    assert_eq!(
        eval(r#"ExtractGrokPatterns("abc 123", "%{WORD:w}", true, ["WORD=[0-9]+"])"#),
        vmap(vec![("w", s("123"))])
    );
}

// The README's /etc/passwd example.
#[test]
fn grok_readme_passwd() {
    let mut f = Fixture::default();
    f.log.body = Some(s(
        "smith:pass123:1001:1000:J Smith,1234,(234)567-8910,(234)567-1098,email:/home/smith:/bin/sh",
    ));
    assert_eq!(
        f.value(
            LOG,
            r#"ExtractGrokPatterns(body, "%{USERNAME:user.name}:%{PASSWORD:user.password}:%{USERINFO}", true, ["PASSWORD=%{WORD}", "USERINFO=%{GREEDYDATA}"])"#
        ),
        vmap(vec![("user.name", s("smith")), ("user.password", s("pass123"))])
    );
    // Used the way log pipelines use it.
    f.run(
        LOG,
        r#"merge_maps(attributes, ExtractGrokPatterns(body, "%{USERNAME:user.name}:%{PASSWORD:user.password}:", true, ["PASSWORD=%{WORD}"]), "upsert")"#,
    );
    assert_eq!(attr(&f.log.attributes, "user.name"), Some(&s("smith")));
    assert_eq!(
        attr(&f.log.attributes, "user.password"),
        Some(&s("pass123"))
    );
}

// go-grok's Apache patterns.
#[test]
fn grok_apache_logs() {
    let common = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326"#;
    let common_fields = vec![
        ("source.address", s("127.0.0.1")),
        ("user.name", s("frank")),
        ("timestamp", s("10/Oct/2000:13:55:36 -0700")),
        ("http.request.method", s("GET")),
        ("url.original", s("/apache_pb.gif")),
        ("http.version", s("1.0")),
        ("http.response.status_code", i(200)),
        ("http.response.body.bytes", i(2326)),
    ];
    assert_eq!(
        eval(&format!(
            r#"ExtractGrokPatterns("{common}", "%{{COMMONAPACHELOG}}", true)"#
        )),
        vmap(common_fields.clone())
    );
    let combined = format!(
        r#"{common} \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\""#
    );
    let mut combined_fields = common_fields;
    combined_fields.push((
        "http.request.referrer",
        s("http://www.example.com/start.html"),
    ));
    combined_fields.push((
        "user_agent.original",
        s("Mozilla/4.08 [en] (Win98; I ;Nav)"),
    ));
    assert_eq!(
        eval(&format!(
            r#"ExtractGrokPatterns("{combined}", "%{{COMBINEDAPACHELOG}}", true)"#
        )),
        vmap(combined_fields)
    );
}

/// The expected entries of a result map.
type Fields = Vec<(
    &'static str,
    opentelemetry_proto::tonic::common::v1::AnyValue,
)>;

// A sample of the default set, each expectation worked out from go-grok's definitions.
#[test]
fn grok_default_patterns() {
    let cases: &[(&str, &str, Fields)] = &[
        (
            "host=10.0.0.7 level=WARN",
            "host=%{IP:ip} level=%{LOGLEVEL:level}",
            vec![("ip", s("10.0.0.7")), ("level", s("WARN"))],
        ),
        (
            "from fe80::1:2 to db-1.internal:5432",
            "from %{IPV6:src} to %{HOSTPORT:dst}",
            vec![("src", s("fe80::1:2")), ("dst", s("db-1.internal:5432"))],
        ),
        (
            "mail jane.doe@example.org now",
            "%{EMAILADDRESS:email}",
            vec![("email", s("jane.doe@example.org"))],
        ),
        (
            "id=123e4567-e89b-12d3-a456-426614174000 mac=00:1A:2b:3C:4d:5E",
            "id=%{UUID:id} mac=%{MAC:mac}",
            vec![
                ("id", s("123e4567-e89b-12d3-a456-426614174000")),
                ("mac", s("00:1A:2b:3C:4d:5E")),
            ],
        ),
        (
            r#"say \"hello \\\"you\\\"\" and 'bye'"#,
            "say %{QS:first} and %{QUOTEDSTRING:second}",
            vec![("first", s(r#""hello \"you\"""#)), ("second", s("'bye'"))],
        ),
        (
            "2024-06-18T12:34:56.789Z GET /a/b?c=d",
            "%{TIMESTAMP_ISO8601:ts} %{WORD:m} %{URIPATH:p}%{URIPARAM:q}",
            vec![
                ("ts", s("2024-06-18T12:34:56.789Z")),
                ("m", s("GET")),
                ("p", s("/a/b")),
                ("q", s("?c=d")),
            ],
        ),
        (
            "Jun  3 04:05:06 web-1 sshd[42]: accepted",
            "%{SYSLOGBASE} %{GREEDYDATA:message}",
            vec![
                ("timestamp", s("Jun  3 04:05:06")),
                ("host.hostname", s("web-1")),
                ("message", s("accepted")),
            ],
        ),
        (
            "-12 +7 3.5 0 .5",
            "%{INT:a:int} %{INT:b:long} %{NUMBER:c:float} %{NONNEGINT:d:int} %{BASE10NUM:e:double}",
            vec![
                ("a", i(-12)),
                ("b", i(7)),
                ("c", d(3.5)),
                ("d", i(0)),
                ("e", d(0.5)),
            ],
        ),
        (
            "/var/log/syslog C:\\\\Windows",
            "%{PATH:unix} %{PATH:win}",
            vec![("unix", s("/var/log/syslog")), ("win", s("C:\\Windows"))],
        ),
    ];
    for (text, pattern, expected) in cases {
        assert_eq!(
            eval(&format!(
                r#"ExtractGrokPatterns("{text}", "{pattern}", true)"#
            )),
            vmap(expected.clone()),
            "{pattern}"
        );
    }
}

// go-grok's capture rules: types, empty and unmatched groups, repeated names, ASCII classes.
#[test]
fn grok_capture_rules() {
    assert_eq!(
        eval(
            r#"ExtractGrokPatterns("took 1.5s ok=true flag=F", "took %{NUMBER:d:float}s ok=%{WORD:ok:bool} flag=%{WORD:f:boolean}", true)"#
        ),
        vmap(vec![("d", d(1.5)), ("ok", b(true)), ("f", b(false))])
    );
    // Without namedCapturesOnly an unnamed reference is captured under its pattern's name.
    assert_eq!(
        eval(r#"ExtractGrokPatterns("hello world", "%{WORD} %{WORD:second}")"#),
        vmap(vec![("WORD", s("hello")), ("second", s("world"))])
    );
    // Two captures of one name: the later one wins, as Go's map assignment does.
    assert_eq!(
        eval(r#"ExtractGrokPatterns("a b", "%{WORD} %{WORD}")"#),
        vmap(vec![("WORD", s("b"))])
    );
    // A capture that matched "" or did not take part is left out.
    assert_eq!(
        eval(r#"ExtractGrokPatterns("ab", "%{WORD:w}%{SPACE:s}(?P<opt>x)?", true)"#),
        vmap(vec![("w", s("ab"))])
    );
    // Go's \w and \b are ASCII: the word stops before "é".
    assert_eq!(
        eval(r#"ExtractGrokPatterns("café au lait", "%{WORD:w}", true)"#),
        vmap(vec![("w", s("caf"))])
    );
    // A non-string pattern read from the item is compiled when evaluated.
    let mut f = Fixture::default();
    f.log
        .attributes
        .push(key_value("p", s("%{WORD:x} %{INT:n:int}")));
    f.log.body = Some(s("abc 42"));
    assert_eq!(
        f.value(LOG, r#"ExtractGrokPatterns(body, attributes["p"], true)"#),
        vmap(vec![("x", s("abc")), ("n", i(42))])
    );
    f.log.attributes[0].value = Some(s("%{NOPE}"));
    assert_contains(
        &f.value_err(LOG, r#"ExtractGrokPatterns(body, attributes["p"], true)"#),
        r#"pattern definition "NOPE" unknown"#,
    );
}

// Conversions that fail, and a type go-grok does not know, fail when the field captures.
#[test]
fn grok_conversion_errors() {
    assert_contains(
        &eval_err(r#"ExtractGrokPatterns("abc", "%{WORD:n:int}", true)"#),
        "ExtractGrokPatterns: cannot convert \"abc\" captured as `n` to int",
    );
    assert_contains(
        &eval_err(r#"ExtractGrokPatterns("abc", "%{WORD:n:bool}", true)"#),
        "to bool",
    );
    assert_contains(
        &eval_err(r#"ExtractGrokPatterns("abc", "%{WORD:n:date}", true)"#),
        "invalid type \"date\" for `n`",
    );
    // No match, no conversion, no error.
    assert_eq!(
        eval(r#"ExtractGrokPatterns("   ", "%{WORD:n:date}", true)"#),
        vmap(vec![])
    );
}

// Test_extractGrokPatterns_bad_input: a non-string or nil target.
#[test]
fn grok_bad_targets() {
    for pattern in ["(?P<line>.*)", "%{URI}"] {
        assert_contains(
            &eval_err(&format!(r#"ExtractGrokPatterns(123, "{pattern}")"#)),
            "ExtractGrokPatterns: `target` must be a string, got int",
        );
        assert_contains(
            &eval_err(&format!(r#"ExtractGrokPatterns(nil, "{pattern}")"#)),
            "`target` must be a string",
        );
    }
}

// Test_extractGrokPatterns_validation and the other startup errors.
#[test]
fn grok_compile_errors() {
    let message = compile_err(r#"ExtractGrokPatterns(body, "(")"#);
    assert_contains(&message, "argument `pattern` of `ExtractGrokPatterns`");
    assert_contains(
        &message,
        r#"the regex pattern supplied to ExtractGrokPatterns "(" is not a valid pattern"#,
    );
    assert_contains(
        &compile_err(r#"ExtractGrokPatterns(body, "%{NOTAPATTERN:x}")"#),
        r#"pattern definition "NOTAPATTERN" unknown"#,
    );
    // Unknown inside a custom definition, found when it is expanded.
    assert_contains(
        &compile_err(r#"ExtractGrokPatterns(body, "%{A:x}", false, ["A=%{B}"])"#),
        r#"pattern definition "B" unknown"#,
    );
    assert_contains(
        &compile_err(r#"ExtractGrokPatterns(body, "%{A:x}", false, ["A=%{B}", "B=x%{A}"])"#),
        r#"pattern definition "A" refers to itself"#,
    );
    let message =
        compile_err(r#"ExtractGrokPatterns(body, "%{URI}", false, ["PAT:TERN=invalid"])"#);
    assert_contains(
        &message,
        "argument `pattern_definitions` of `ExtractGrokPatterns`",
    );
    assert_contains(&message, r#"pattern ID "PAT:TERN" should not contain ':'"#);
    assert_contains(
        &compile_err(
            r#"ExtractGrokPatterns(body, "%{URI}", false, ["A=x", "NO_EQUALS_SIGN_IN_THIS_ONE"])"#,
        ),
        r#"pattern "NO_EQUALS_SIGN_IN..." supplied to ExtractGrokPatterns at index 1 has incorrect format, expecting PATTERNNAME=pattern definition"#,
    );
    assert_contains(
        &compile_err(r#"ExtractGrokPatterns(body, "(.*)", true)"#),
        "at least 1 named capture group must be supplied in the given regex",
    );
    assert_contains(
        &compile_err(r#"ExtractGrokPatterns(body, "(?P<a b>x)")"#),
        "invalid capture group name",
    );
    // Unused bad definitions are not looked at, as in go-grok.
    assert_eq!(
        eval(r#"ExtractGrokPatterns("x", "(?P<v>x)", true, ["BAD=("])"#),
        vmap(vec![("v", s("x"))])
    );
}
