//! The editors, with cases from otelcol-contrib's `pkg/ottl/ottlfuncs/README.md` ("Editors");
//! each group cites the section, and every expectation is written by hand from its text.

mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use otlp_ottl::{ContextKind, key_value, parse_statement};

const SPAN: ContextKind = ContextKind::Span;
const LOG: ContextKind = ContextKind::Log;

fn with_attributes(
    entries: Vec<(&str, opentelemetry_proto::tonic::common::v1::AnyValue)>,
) -> Fixture {
    let mut f = Fixture::default();
    f.span.attributes = kvs(entries);
    f
}

fn keys(attributes: &[KeyValue]) -> Vec<&str> {
    attributes.iter().map(|kv| kv.key.as_str()).collect()
}

// README "set": sets a field; "If value resolves to nil ... there will be no action".
#[test]
fn set() {
    let mut f = Fixture::default();
    f.run(SPAN, r#"set(resource.attributes["http.path"], "/foo")"#);
    assert_eq!(
        attr(&f.resource.as_ref().unwrap().attributes, "http.path"),
        Some(&s("/foo"))
    );
    f.run(
        SPAN,
        r#"set(attributes["copy"], resource.attributes["host.name"])"#,
    );
    assert_eq!(f.span_attr("copy"), Some(&s("pod-1234")));
    f.run(
        SPAN,
        r#"set(attributes["http.method"], attributes["missing"])"#,
    );
    assert_eq!(
        f.span_attr("http.method"),
        Some(&s("GET")),
        "nil leaves the target alone"
    );
    f.run(SPAN, r#"set(attributes["list"], [1, "two", 3.0])"#);
    assert_eq!(
        f.span_attr("list"),
        Some(&list(vec![i(1), s("two"), d(3.0)]))
    );
    // pkg/ottl README "Check if an attribute exists".
    f.run(
        SPAN,
        r#"set(attributes["test-passed"], true) where attributes["target-attribute"] != nil"#,
    );
    assert_eq!(f.span_attr("test-passed"), None);
    // pkg/ottl README "Decorate error spans with additional information".
    f.span.attributes.push(key_value("http.status", i(404)));
    f.run(SPAN, r#"set(attributes["whose_fault"], "theirs") where attributes["http.status"] == 400 or attributes["http.status"] == 404"#);
    f.run(
        SPAN,
        r#"set(attributes["whose_fault"], "ours") where attributes["http.status"] == 500"#,
    );
    assert_eq!(f.span_attr("whose_fault"), Some(&s("theirs")));
}

// README "delete_key": removes a key from a map.
#[test]
fn delete_key() {
    let mut f = with_attributes(vec![
        ("http.request.header.authorization", s("Bearer x")),
        ("keep", s("y")),
    ]);
    f.run(
        SPAN,
        r#"delete_key(attributes, "http.request.header.authorization")"#,
    );
    assert_eq!(keys(&f.span.attributes), ["keep"]);
    f.run(SPAN, r#"delete_key(resource.attributes, "host.name")"#);
    assert_eq!(
        keys(&f.resource.as_ref().unwrap().attributes),
        ["service.name"]
    );
    // A key that is not there: nothing happens.
    f.run(SPAN, r#"delete_key(attributes, "absent")"#);
    assert_eq!(keys(&f.span.attributes), ["keep"]);
}

// README "delete_matching_keys": removes keys matching a regex, e.g. `(?i).*password.*`.
#[test]
fn delete_matching_keys() {
    let mut f = with_attributes(vec![
        ("db.Password", s("hunter2")),
        ("password_hash", s("x")),
        ("user", s("bob")),
    ]);
    f.run(
        SPAN,
        r#"delete_matching_keys(attributes, "(?i).*password.*")"#,
    );
    assert_eq!(keys(&f.span.attributes), ["user"]);
    let err =
        parse_statement(SPAN, r#"delete_matching_keys(attributes, "(unclosed")"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("argument `pattern` of `delete_matching_keys`: invalid regex"),
        "{err}"
    );
}

// README "keep_matching_keys": keeps only keys matching the regex.
#[test]
fn keep_matching_keys() {
    let mut f = with_attributes(vec![
        ("service.version", s("1")),
        ("Version.minor", s("2")),
        ("other", s("3")),
    ]);
    f.run(SPAN, r#"keep_matching_keys(attributes, "(?i).*version.*")"#);
    assert_eq!(
        keys(&f.span.attributes),
        ["service.version", "Version.minor"]
    );
}

// README "keep_keys": only the listed keys remain.
#[test]
fn keep_keys() {
    let mut f = with_attributes(vec![
        ("http.method", s("GET")),
        ("http.route", s("/a")),
        ("http.url", s("http://x/a")),
        ("secret", s("s")),
    ]);
    f.run(
        SPAN,
        r#"keep_keys(attributes, ["http.method", "http.route", "http.url"])"#,
    );
    assert_eq!(
        keys(&f.span.attributes),
        ["http.method", "http.route", "http.url"]
    );
    f.run(SPAN, r#"keep_keys(attributes, ["http.method"])"#);
    assert_eq!(keys(&f.span.attributes), ["http.method"]);
    let err = parse_statement(SPAN, r#"keep_keys(attributes, "http.method")"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("must be a list of string literals"),
        "{err}"
    );
}

// README "limit": at most `limit` entries; priority keys are never dropped; the number of
// priority keys must fit in the limit.
#[test]
fn limit() {
    let mut f = with_attributes(vec![
        ("a", i(1)),
        ("b", i(2)),
        ("http.host", s("h")),
        ("c", i(3)),
        ("http.method", s("GET")),
    ]);
    f.run(
        SPAN,
        r#"limit(attributes, 3, ["http.host", "http.method"])"#,
    );
    assert_eq!(f.span.attributes.len(), 3);
    assert!(f.span_attr("http.host").is_some());
    assert!(f.span_attr("http.method").is_some());
    f.run(SPAN, "limit(attributes, 100, [])");
    assert_eq!(
        f.span.attributes.len(),
        3,
        "under the limit nothing changes"
    );
    f.run(SPAN, "limit(attributes, 0, [])");
    assert!(f.span.attributes.is_empty());
    let err = parse_statement(SPAN, r#"limit(attributes, 1, ["a", "b"])"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("2 priority keys cannot fit in a limit of 1"),
        "{err}"
    );
    let err = parse_statement(SPAN, "limit(attributes, -1, [])").unwrap_err();
    assert!(err.to_string().contains("-1 cannot be negative"), "{err}");
}

// README "truncate_all": string values cut to `limit` bytes, UTF-8 safe by default, the marker
// counted in the limit, non-strings untouched, a marker longer than the limit is an error.
#[test]
fn truncate_all() {
    let mut f = with_attributes(vec![
        ("short", s("abc")),
        ("long", s("abcdefghij")),
        ("utf8", s("ééé")),
        ("number", i(1234567890)),
    ]);
    f.run(SPAN, "truncate_all(attributes, 5)");
    assert_eq!(f.span_attr("short"), Some(&s("abc")));
    assert_eq!(f.span_attr("long"), Some(&s("abcde")));
    // "é" is two bytes: five bytes would split the third, so the cut comes one byte earlier.
    assert_eq!(f.span_attr("utf8"), Some(&s("éé")));
    assert_eq!(f.span_attr("number"), Some(&i(1234567890)));
    let mut f = with_attributes(vec![("long", s("abcdefghij"))]);
    f.run(SPAN, r#"truncate_all(attributes, 6, false, "(...)")"#);
    assert_eq!(f.span_attr("long"), Some(&s("a(...)")));
    let err = parse_statement(
        SPAN,
        r#"truncate_all(attributes, 3, truncation_marker = "(truncated)")"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("longer than the limit of 3"),
        "{err}"
    );
}

// README "merge_maps": insert, update and upsert strategies.
#[test]
fn merge_maps() {
    let base = || with_attributes(vec![("a", s("old")), ("b", s("keep"))]);
    let mut f = base();
    f.run(
        SPAN,
        r#"merge_maps(attributes, {"a": "new", "c": "added"}, "insert")"#,
    );
    assert_eq!(
        f.span.attributes,
        kvs(vec![("a", s("old")), ("b", s("keep")), ("c", s("added"))])
    );
    let mut f = base();
    f.run(
        SPAN,
        r#"merge_maps(attributes, {"a": "new", "c": "added"}, "update")"#,
    );
    assert_eq!(
        f.span.attributes,
        kvs(vec![("a", s("new")), ("b", s("keep"))])
    );
    let mut f = base();
    f.run(
        SPAN,
        r#"merge_maps(attributes, {"a": "new", "c": "added"}, "upsert")"#,
    );
    assert_eq!(
        f.span.attributes,
        kvs(vec![("a", s("new")), ("b", s("keep")), ("c", s("added"))])
    );
    // `merge_maps(log.attributes, ParseJSON(log.body), "upsert")`.
    let mut f = Fixture::default();
    f.log.body = Some(s(r#"{"user": "alice"}"#));
    f.run(
        LOG,
        r#"merge_maps(log.attributes, ParseJSON(log.body), "upsert")"#,
    );
    assert_eq!(attr(&f.log.attributes, "user"), Some(&s("alice")));
    let err = parse_statement(SPAN, r#"merge_maps(attributes, {}, "replace")"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("use \"insert\", \"update\" or \"upsert\""),
        "{err}"
    );
    let err = Fixture::default().run_err(SPAN, r#"merge_maps(attributes, name, "upsert")"#);
    assert!(err.contains("`source` must be a map, got string"), "{err}");
}

fn nested_example() -> Vec<(
    &'static str,
    opentelemetry_proto::tonic::common::v1::AnyValue,
)> {
    vec![
        ("name", s("test")),
        (
            "address",
            map(vec![("street", s("first")), ("house", i(1234))]),
        ),
        ("occupants", list(vec![s("user 1"), s("user 2")])),
    ]
}

// README "flatten": nested maps and lists move to dotted top-level keys; `prefix` namespaces
// them; `depth` stops at that depth; `resolveConflicts` numbers colliding keys.
#[test]
fn flatten() {
    let mut f = with_attributes(nested_example());
    f.run(SPAN, "flatten(attributes)");
    assert_eq!(
        f.span.attributes,
        kvs(vec![
            ("name", s("test")),
            ("address.street", s("first")),
            ("address.house", i(1234)),
            ("occupants.0", s("user 1")),
            ("occupants.1", s("user 2")),
        ])
    );
    let mut f = with_attributes(nested_example());
    f.run(SPAN, r#"flatten(attributes, "app")"#);
    assert_eq!(
        keys(&f.span.attributes),
        [
            "app.name",
            "app.address.street",
            "app.address.house",
            "app.occupants.0",
            "app.occupants.1"
        ]
    );
    let mut f = with_attributes(vec![(
        "0",
        map(vec![(
            "1",
            map(vec![("2", map(vec![("3", map(vec![("4", s("value"))]))]))]),
        )]),
    )]);
    f.run(SPAN, "flatten(attributes, depth = 2)");
    assert_eq!(
        f.span.attributes,
        kvs(vec![(
            "0.1.2",
            map(vec![("3", map(vec![("4", s("value"))]))])
        )])
    );
    let mut f = with_attributes(nested_example());
    let before = f.span.attributes.clone();
    f.run(SPAN, "flatten(attributes, depth = 0)");
    assert_eq!(f.span.attributes, before, "a depth of 0 flattens nothing");
    let mut f = with_attributes(vec![
        (
            "address",
            map(vec![
                ("street", map(vec![("number", s("first"))])),
                ("house", s("1234")),
            ]),
        ),
        (
            "address.street",
            map(vec![("number", list(vec![s("second"), s("third")]))]),
        ),
        ("address.street.number", s("fourth")),
        ("occupants", list(vec![s("user 1"), s("user 2")])),
    ]);
    f.run(SPAN, "flatten(attributes, resolveConflicts = true)");
    assert_eq!(
        f.span.attributes,
        kvs(vec![
            ("address.street.number", s("first")),
            ("address.house", s("1234")),
            ("address.street.number.0", s("second")),
            ("address.street.number.1", s("third")),
            ("address.street.number.2", s("fourth")),
            ("occupants", s("user 1")),
            ("occupants.0", s("user 2")),
        ])
    );
    // `flatten(log.body, depth=2)` on a map body.
    let mut f = Fixture::default();
    f.log.body = Some(map(vec![("a", map(vec![("b", s("c"))]))]));
    f.run(LOG, "flatten(log.body, depth = 2)");
    assert_eq!(f.log.body, Some(map(vec![("a.b", s("c"))])));
    let err = parse_statement(SPAN, "flatten(attributes, depth = -1)").unwrap_err();
    assert!(err.to_string().contains("-1 cannot be negative"), "{err}");
}

// README "replace_pattern": every match of the regex is replaced; `$1` refers to groups; an
// optional function (SHA256) and format apply to the replacement.
#[test]
fn replace_pattern() {
    let mut f = Fixture::default();
    f.resource.as_mut().unwrap().attributes.push(key_value(
        "process.command_line",
        s("java -jar app.jar --password=hunter2 --user=bob"),
    ));
    f.run(
        SPAN,
        r#"replace_pattern(resource.attributes["process.command_line"], "password\\=[^\\s]*(\\s?)", "password=***")"#,
    );
    assert_eq!(
        attr(
            &f.resource.as_ref().unwrap().attributes,
            "process.command_line"
        ),
        Some(&s("java -jar app.jar --password=***--user=bob"))
    );
    let mut m = Fixture::default();
    m.metric.name = "kube_pod_status".to_owned();
    m.run(
        ContextKind::Metric,
        r#"replace_pattern(metric.name, "^kube_([0-9A-Za-z]+_)", "k8s.$1.")"#,
    );
    assert_eq!(m.metric.name, "k8s.pod_.status");
    let mut m = Fixture::default();
    m.metric.name = "kube_pod_status".to_owned();
    m.run(
        ContextKind::Metric,
        r#"replace_pattern(metric.name, "^kube_([0-9A-Za-z]+_)", "$1.", SHA256, "k8s.%s")"#,
    );
    // SHA-256 of the expanded replacement "pod_.".
    assert_eq!(
        m.metric.name,
        format!(
            "k8s.{}status",
            otlp_ottl::evaluate(r#"SHA256("pod_.")"#)
                .unwrap()
                .as_str()
                .unwrap()
        )
    );
    // Non-string targets are left alone.
    let mut f = Fixture::default();
    f.run(
        SPAN,
        r#"replace_pattern(attributes["http.status_code"], "2", "5")"#,
    );
    assert_eq!(f.span_attr("http.status_code"), Some(&i(200)));
    let err = parse_statement(
        SPAN,
        r#"replace_pattern(name, "a", "b", SHA256, "no placeholder")"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("must contain `%s` exactly once"),
        "{err}"
    );
    let err = parse_statement(SPAN, r#"replace_pattern(name, "a", "b", Concat)"#).unwrap_err();
    assert!(err.to_string().contains("`Concat` is not"), "{err}");
}

// README "replace_all_patterns": mode `value` replaces in string values, mode `key` in keys.
#[test]
fn replace_all_patterns() {
    let mut f = with_attributes(vec![
        ("path", s("/account/1234/orders")),
        ("other", s("/account/5678")),
        ("number", i(1234)),
    ]);
    f.run(
        SPAN,
        r#"replace_all_patterns(attributes, "value", "/account/\\d{4}", "/account/{accountId}")"#,
    );
    assert_eq!(f.span_attr("path"), Some(&s("/account/{accountId}/orders")));
    assert_eq!(f.span_attr("other"), Some(&s("/account/{accountId}")));
    assert_eq!(f.span_attr("number"), Some(&i(1234)));
    let mut f = with_attributes(vec![
        ("kube_pod_name", s("p")),
        ("kube_node_name", s("n")),
        ("x", s("y")),
    ]);
    f.run(
        SPAN,
        r#"replace_all_patterns(attributes, "key", "^kube_([0-9A-Za-z]+_)", "k8s.$1.")"#,
    );
    assert_eq!(
        keys(&f.span.attributes),
        ["k8s.pod_.name", "k8s.node_.name", "x"]
    );
    // transformprocessor README "Rename attribute" by regex.
    let mut f = Fixture::default();
    f.resource
        .as_mut()
        .unwrap()
        .attributes
        .push(key_value("k8s.namespace.name", s("shop")));
    f.run(SPAN, r#"replace_all_patterns(resource.attributes, "key", "k8s\\.namespace\\.name", "namespace")"#);
    assert_eq!(
        attr(&f.resource.as_ref().unwrap().attributes, "namespace"),
        Some(&s("shop"))
    );
    let err = parse_statement(
        SPAN,
        r#"replace_all_patterns(attributes, "values", "a", "b")"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("use \"key\" or \"value\""),
        "{err}"
    );
}

// README "replace_match": the whole value is replaced when it matches the glob.
#[test]
fn replace_match() {
    let mut f = with_attributes(vec![("http.target", s("/user/123/list/456"))]);
    f.run(SPAN, r#"replace_match(attributes["http.target"], "/user/*/list/*", "/user/{userId}/list/{listId}")"#);
    assert_eq!(
        f.span_attr("http.target"),
        Some(&s("/user/{userId}/list/{listId}"))
    );
    // pkg/ottl README "Reduce cardinality of a span name".
    let mut f = Fixture::default();
    f.span.name = "GET /user/1/list/2".to_owned();
    f.run(
        SPAN,
        r#"replace_match(name, "GET /user/*/list/*", "GET /user/{userId}/list/{listId}")"#,
    );
    assert_eq!(f.span.name, "GET /user/{userId}/list/{listId}");
    let mut f = with_attributes(vec![("http.target", s("/other"))]);
    f.run(
        SPAN,
        r#"replace_match(attributes["http.target"], "/user/*/list/*", "x")"#,
    );
    assert_eq!(
        f.span_attr("http.target"),
        Some(&s("/other")),
        "no match, no change"
    );
    let mut f = with_attributes(vec![("http.target", s("/user/1/list/2"))]);
    f.run(SPAN, r#"replace_match(attributes["http.target"], "/user/*/list/*", "/user/{userId}/list/{listId}", SHA256, "/user/%s")"#);
    let hashed = otlp_ottl::evaluate(r#"SHA256("/user/{userId}/list/{listId}")"#).unwrap();
    assert_eq!(
        f.span_attr("http.target"),
        Some(&s(&format!("/user/{}", hashed.as_str().unwrap())))
    );
}

// README "replace_all_matches": every string value matching the glob is replaced.
#[test]
fn replace_all_matches() {
    let mut f = with_attributes(vec![
        ("a", s("/user/1/list/2")),
        ("b", s("/user/3/list/4")),
        ("c", s("/health")),
    ]);
    f.run(
        SPAN,
        r#"replace_all_matches(attributes, "/user/*/list/*", "/user/{userId}/list/{listId}")"#,
    );
    assert_eq!(f.span_attr("a"), Some(&s("/user/{userId}/list/{listId}")));
    assert_eq!(f.span_attr("b"), Some(&s("/user/{userId}/list/{listId}")));
    assert_eq!(f.span_attr("c"), Some(&s("/health")));
}

// README "append": scalars become lists, a missing field becomes a new list.
#[test]
fn append() {
    let mut f = with_attributes(vec![("tags", s("prod"))]);
    f.run(SPAN, r#"append(attributes["tags"], "east")"#);
    assert_eq!(f.span_attr("tags"), Some(&list(vec![s("prod"), s("east")])));
    f.run(
        SPAN,
        r#"append(attributes["new"], values = ["staging", "staging:east"])"#,
    );
    assert_eq!(
        f.span_attr("new"),
        Some(&list(vec![s("staging"), s("staging:east")]))
    );
}
