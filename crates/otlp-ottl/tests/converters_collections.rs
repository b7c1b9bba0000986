//! The collection and network functions, with cases from otelcol-contrib's
//! `pkg/ottl/ottlfuncs/README.md` and the `func_*_test.go` files next to it; each test cites its
//! section, and every expectation is written by hand from that text.

mod common;

use common::*;
use otlp_ottl::{ContextKind, Value, evaluate, key_value};

const SPAN: ContextKind = ContextKind::Span;

fn eval(text: &str) -> Value<'static> {
    evaluate(text).unwrap_or_else(|e| panic!("`{text}`: {e}"))
}

fn eval_err(text: &str) -> String {
    match evaluate(text) {
        Ok(v) => panic!("`{text}` evaluated to {v:?}"),
        Err(e) => e.to_string(),
    }
}

/// A map value compared without regard to order (otelcol builds these from Go maps).
fn sorted_map(value: Value<'static>) -> Vec<(String, Value<'static>)> {
    let Value::Map(entries) = value else {
        panic!("expected a map, got {value:?}");
    };
    let mut out: Vec<(String, Value<'static>)> = entries
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                Value::from_opt_any(kv.value.as_ref()).into_owned(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn entries(items: Vec<(&str, Value<'static>)>) -> Vec<(String, Value<'static>)> {
    let mut out: Vec<(String, Value<'static>)> =
        items.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

// README "Keys": a slice of the map's keys; another type is an error.
#[test]
fn keys() {
    assert_eq!(
        eval(r#"Keys({"k1":"v1", "k2": "v2"})"#),
        vlist(vec![s("k1"), s("k2")])
    );
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, "Keys(attributes)"),
        vlist(vec![s("http.method"), s("http.status_code")])
    );
    assert_eq!(eval("Keys({})"), vlist(vec![]));
    assert!(eval_err(r#"Keys("not a map")"#).contains("Keys"));
    assert!(eval_err("Keys([1, 2])").contains("map"));
}

// README "Values": a slice of the map's values, each keeping its type.
#[test]
fn values() {
    assert_eq!(
        eval(r#"Values({"a": "x", "b": 2, "c": [true]})"#),
        vlist(vec![s("x"), i(2), list(vec![b(true)])])
    );
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, "Values(attributes)"),
        vlist(vec![s("GET"), i(200)])
    );
    assert!(eval_err("Values(1)").contains("Values"));
}

// README "Coalesce": the first non-nil value of the list, nil when all are nil; an empty list
// is a startup error (func_coalesce.go).
#[test]
fn coalesce() {
    let mut f = Fixture::default();
    assert_eq!(
        f.value(
            SPAN,
            r#"Coalesce([attributes["missing"], attributes["http.method"], "default"])"#
        ),
        vs("GET")
    );
    assert_eq!(
        f.value(SPAN, r#"Coalesce([attributes["missing"], "default"])"#),
        vs("default")
    );
    assert_eq!(
        f.value(SPAN, r#"Coalesce([attributes["missing"], nil])"#),
        Value::Nil
    );
    // Empty strings and zeros are values, not nil.
    assert_eq!(eval(r#"Coalesce(["", "x"])"#), vs(""));
    assert_eq!(eval("Coalesce([nil, 0])"), Value::Int(0));
    let err = eval_err("Coalesce([])");
    assert!(err.contains("at least one"), "{err}");
}

// README "ContainsValue": whether the item is in the slice, under OTTL's comparison rules.
#[test]
fn contains_value() {
    let mut f = Fixture::default();
    f.span.attributes.push(key_value(
        "tags",
        list(vec![s("staging"), s("eu"), i(3), d(1.5), b(false)]),
    ));
    assert_eq!(
        f.value(SPAN, r#"ContainsValue(attributes["tags"], "staging")"#),
        Value::Bool(true)
    );
    assert_eq!(
        f.value(SPAN, r#"ContainsValue(attributes["tags"], "prod")"#),
        Value::Bool(false)
    );
    // An int matches a double of the same value, and the other way round.
    assert_eq!(
        f.value(SPAN, r#"ContainsValue(attributes["tags"], 3.0)"#),
        Value::Bool(true)
    );
    assert_eq!(eval("ContainsValue([1.0, 2.0], 2)"), Value::Bool(true));
    // A string never equals a number.
    assert_eq!(eval(r#"ContainsValue([1, 2], "1")"#), Value::Bool(false));
    assert_eq!(
        f.value(SPAN, r#"ContainsValue(attributes["tags"], false)"#),
        Value::Bool(true)
    );
    assert_eq!(
        eval(r#"ContainsValue([{"a": 1}, [1, 2]], [1, 2])"#),
        Value::Bool(true)
    );
    assert!(eval_err(r#"ContainsValue("abc", "a")"#).contains("list"));
    assert!(
        f.value_err(SPAN, r#"ContainsValue(attributes["missing"], "a")"#)
            .contains("ContainsValue")
    );
}

// README "Index": the byte index of a substring, or the index of the first equal slice
// element; -1 when absent; other source types are an error (func_index.go).
#[test]
fn index() {
    assert_eq!(eval(r#"Index("hello world", "world")"#), Value::Int(6));
    assert_eq!(eval(r#"Index("hello world", "bye")"#), Value::Int(-1));
    assert_eq!(eval(r#"Index("hello", "")"#), Value::Int(0));
    // Byte offsets, as Go's strings.Index.
    assert_eq!(eval(r#"Index("héllo", "l")"#), Value::Int(3));
    assert_eq!(eval(r#"Index(["a", "b", "c", "b"], "b")"#), Value::Int(1));
    assert_eq!(eval(r#"Index([1, 2, 3], 4)"#), Value::Int(-1));
    assert_eq!(eval(r#"Index([1, 2, 3], 3.0)"#), Value::Int(2));
    assert_eq!(eval(r#"Index(source="abc", value="c")"#), Value::Int(2));
    assert!(eval_err(r#"Index("abc", 1)"#).contains("value must also be string"));
    assert!(eval_err(r#"Index(1, 1)"#).contains("string or slice"));
}

// README "Sort" and func_sort_test.go: ints as ints, doubles as doubles, ints and doubles as
// doubles, anything with a string, bool or empty value as strings; elements keep their types.
#[test]
fn sort() {
    assert_eq!(eval("Sort([9, 6, 3])"), vlist(vec![i(3), i(6), i(9)]));
    assert_eq!(
        eval(r#"Sort([3, 6, 9], "desc")"#),
        vlist(vec![i(9), i(6), i(3)])
    );
    assert_eq!(
        eval(r#"Sort(["i", "am", "awesome", "slice"])"#),
        vlist(vec![s("am"), s("awesome"), s("i"), s("slice")])
    );
    assert_eq!(
        eval("Sort([1.5, 10.2, 2.3, 0.5])"),
        vlist(vec![d(0.5), d(1.5), d(2.3), d(10.2)])
    );
    assert_eq!(eval("Sort([])"), vlist(vec![]));
    assert_eq!(
        eval("Sort([true, false, true, false])"),
        vlist(vec![b(false), b(false), b(true), b(true)])
    );
    assert_eq!(
        eval(r#"Sort([1, "two", 3.33, false])"#),
        vlist(vec![i(1), d(3.33), b(false), s("two")])
    );
    assert_eq!(
        eval(r#"Sort([1.5, "10.2", 2.3, 0.5])"#),
        vlist(vec![d(0.5), d(1.5), s("10.2"), d(2.3)])
    );
    assert_eq!(
        eval("Sort([0, 2, 3.33, 0])"),
        vlist(vec![i(0), i(0), i(2), d(3.33)])
    );
    assert_eq!(
        eval(r#"Sort([3.25, 2, 3.33, 0], "desc")"#),
        vlist(vec![d(3.33), d(3.25), i(2), i(0)])
    );
    // (func_sort_test.go uses 3.14; clippy rejects that literal as an approximate PI.)
    // Named order, and a list from a path.
    let mut f = Fixture::default();
    f.span
        .attributes
        .push(key_value("tags", list(vec![s("b"), s("a"), s("slice")])));
    assert_eq!(
        f.value(SPAN, r#"Sort(target=attributes["tags"], order="desc")"#),
        vlist(vec![s("slice"), s("b"), s("a")])
    );
    // Lists holding maps, lists or bytes are returned as they are.
    assert_eq!(
        eval(r#"Sort([{"k": "v"}, 1])"#),
        vlist(vec![map(vec![("k", s("v"))]), i(1)])
    );
    // Not a list: an error (a string, a map, nil).
    assert!(eval_err(r#"Sort("no change")"#).contains("not a list"));
    assert!(eval_err(r#"Sort({"k": "v"})"#).contains("not a list"));
    assert!(
        f.value_err(SPAN, r#"Sort(attributes["missing"])"#)
            .contains("Sort")
    );
    // An order other than asc or desc is a startup error.
    let err = eval_err(r#"Sort([1, 2], "up")"#);
    assert!(err.contains("argument `order` of `Sort`"), "{err}");
    assert!(err.contains("\"asc\" or \"desc\""), "{err}");
}

// README "SliceToMap": keys from `keyPath` (or the index), values from `valuePath` (or the
// whole element).
#[test]
fn slice_to_map() {
    let mut f = Fixture::default();
    let things = list(vec![
        map(vec![("name", s("foo")), ("value", i(2))]),
        map(vec![("name", s("bar")), ("value", i(5))]),
    ]);
    f.resource
        .as_mut()
        .unwrap()
        .attributes
        .push(key_value("things", things));
    assert_eq!(
        sorted_map(f.value(
            SPAN,
            r#"SliceToMap(resource.attributes["things"], ["name"])"#
        )),
        entries(vec![
            ("foo", vmap(vec![("name", s("foo")), ("value", i(2))])),
            ("bar", vmap(vec![("name", s("bar")), ("value", i(5))])),
        ])
    );
    assert_eq!(
        sorted_map(f.value(SPAN, r#"SliceToMap(resource.attributes["things"])"#)),
        entries(vec![
            ("0", vmap(vec![("name", s("foo")), ("value", i(2))])),
            ("1", vmap(vec![("name", s("bar")), ("value", i(5))])),
        ])
    );
    assert_eq!(
        sorted_map(f.value(
            SPAN,
            r#"SliceToMap(resource.attributes["things"], ["name"], ["value"])"#
        )),
        entries(vec![("foo", Value::Int(2)), ("bar", Value::Int(5))])
    );
    // The converted entries are addressable by their keys.
    f.run(
        SPAN,
        r#"set(resource.attributes["thingsMap"], SliceToMap(resource.attributes["things"], ["name"]))"#,
    );
    assert_eq!(
        f.value(SPAN, r#"resource.attributes["thingsMap"]["bar"]["value"]"#),
        Value::Int(5)
    );
    // Nested paths; a value path alone keeps the index keys.
    assert_eq!(
        sorted_map(eval(
            r#"SliceToMap([{"id": {"k": "x"}, "v": 1}], ["id", "k"], ["v"])"#
        )),
        entries(vec![("x", Value::Int(1))])
    );
    assert_eq!(
        sorted_map(eval(
            r#"SliceToMap([{"v": 1}, {"v": 2}], value_path=["v"])"#
        )),
        entries(vec![("0", Value::Int(1)), ("1", Value::Int(2))])
    );
    // Without paths any element goes in whole.
    assert_eq!(
        sorted_map(eval(r#"SliceToMap(["a", 1])"#)),
        entries(vec![("0", vs("a")), ("1", Value::Int(1))])
    );
    // Errors: an element that is not a map when a path is used, a missing path, a non-string
    // key, a target that is not a list, an empty path (at startup).
    assert!(eval_err(r#"SliceToMap(["a"], ["name"])"#).contains("must be maps"));
    assert!(eval_err(r#"SliceToMap([{"n": "a"}], ["name"])"#).contains("could not extract key"));
    assert!(eval_err(r#"SliceToMap([{"name": 1}], ["name"])"#).contains("not of type string"));
    assert!(
        eval_err(r#"SliceToMap([{"name": "a"}], ["name"], ["nothing"])"#)
            .contains("could not extract value")
    );
    assert!(eval_err(r#"SliceToMap({"a": 1})"#).contains("must be a list"));
    let err = eval_err(r#"SliceToMap([{"name": "a"}], [])"#);
    assert!(err.contains("argument `key_path` of `SliceToMap`"), "{err}");
}

// README "delete_index": removes the element at `startIndex`, or the range
// `[startIndex, endIndex)`; out-of-range indexes are errors (func_delete_index.go).
#[test]
fn delete_index() {
    let fresh = || {
        let mut f = Fixture::default();
        f.span
            .attributes
            .push(key_value("l", list(vec![i(1), i(2), i(3), i(4)])));
        f
    };
    let mut f = fresh();
    f.run(SPAN, r#"delete_index(attributes["l"], 1)"#);
    assert_eq!(f.span_attr("l"), Some(&list(vec![i(1), i(3), i(4)])));
    let mut f = fresh();
    f.run(SPAN, r#"delete_index(attributes["l"], 1, 3)"#);
    assert_eq!(f.span_attr("l"), Some(&list(vec![i(1), i(4)])));
    let mut f = fresh();
    f.run(SPAN, r#"delete_index(attributes["l"], 0, 4)"#);
    assert_eq!(f.span_attr("l"), Some(&list(vec![])));
    let mut f = fresh();
    f.run(SPAN, r#"delete_index(attributes["l"], 2, 2)"#);
    assert_eq!(f.span_attr("l"), Some(&list(vec![i(1), i(2), i(3), i(4)])));
    let mut f = fresh();
    f.run(
        SPAN,
        r#"delete_index(target=attributes["l"], start_index=Len(attributes["l"]) - 1)"#,
    );
    assert_eq!(f.span_attr("l"), Some(&list(vec![i(1), i(2), i(3)])));

    let mut f = fresh();
    let err = f.run_err(SPAN, r#"delete_index(attributes["l"], 4)"#);
    assert!(err.contains("startIndex 4 out of bounds"), "{err}");
    let err = f.run_err(SPAN, r#"delete_index(attributes["l"], -1)"#);
    assert!(err.contains("out of bounds"), "{err}");
    let err = f.run_err(SPAN, r#"delete_index(attributes["l"], 2, 1)"#);
    assert!(err.contains("cannot be less than startIndex"), "{err}");
    let err = f.run_err(SPAN, r#"delete_index(attributes["l"], 1, 5)"#);
    assert!(err.contains("deletion range [1:5]"), "{err}");
    let err = f.run_err(SPAN, r#"delete_index(attributes["l"], "1")"#);
    assert!(err.contains("must be an int"), "{err}");
    let err = f.run_err(SPAN, r#"delete_index(attributes["http.method"], 0)"#);
    assert!(err.contains("must be a list"), "{err}");
    // Failed calls leave the list as it was.
    assert_eq!(f.span_attr("l"), Some(&list(vec![i(1), i(2), i(3), i(4)])));
}

// README "stringify_all": every non-string value of the map becomes its string form.
#[test]
fn stringify_all() {
    let mut f = Fixture::default();
    f.span.attributes.push(key_value("ok", b(true)));
    f.span.attributes.push(key_value("ratio", d(1.5)));
    f.span
        .attributes
        .push(key_value("list", list(vec![i(1), s("a")])));
    f.span
        .attributes
        .push(key_value("nested", map(vec![("k", i(1))])));
    f.span.attributes.push(key_value("raw", bytes(&[1, 2])));
    f.run(SPAN, "stringify_all(attributes)");
    assert_eq!(f.span_attr("http.method"), Some(&s("GET")));
    assert_eq!(f.span_attr("http.status_code"), Some(&s("200")));
    assert_eq!(f.span_attr("ok"), Some(&s("true")));
    assert_eq!(f.span_attr("ratio"), Some(&s("1.5")));
    assert_eq!(f.span_attr("list"), Some(&s(r#"[1,"a"]"#)));
    assert_eq!(f.span_attr("nested"), Some(&s(r#"{"k":1}"#)));
    assert_eq!(f.span_attr("raw"), Some(&s("AQI=")));
    // A nested map is a target too.
    let mut f = Fixture::default();
    f.span
        .attributes
        .push(key_value("m", map(vec![("n", i(7))])));
    f.run(SPAN, r#"stringify_all(attributes["m"])"#);
    assert_eq!(f.span_attr("m"), Some(&map(vec![("n", s("7"))])));
    let err = f.run_err(SPAN, r#"stringify_all(attributes["http.method"])"#);
    assert!(err.contains("map"), "{err}");
}

// README "IsInCIDR": whether the IP address is in any of the networks.
#[test]
fn is_in_cidr() {
    let mut f = Fixture::default();
    f.resource
        .as_mut()
        .unwrap()
        .attributes
        .push(key_value("server.ip", s("192.168.4.20")));
    assert_eq!(
        f.value(
            SPAN,
            r#"IsInCIDR(resource.attributes["server.ip"], ["192.168.0.0/16"])"#
        ),
        Value::Bool(true)
    );
    assert_eq!(
        f.value(
            SPAN,
            r#"IsInCIDR(resource.attributes["server.ip"], ["10.0.0.0/8", "192.168.0.0/16"])"#
        ),
        Value::Bool(true)
    );
    assert_eq!(
        eval(r#"IsInCIDR("10.1.2.3", ["192.168.0.0/16"])"#),
        Value::Bool(false)
    );
    assert_eq!(
        eval(r#"IsInCIDR("2001:db8::1", ["2001:db8::/32"])"#),
        Value::Bool(true)
    );
    assert_eq!(
        eval(r#"IsInCIDR("2001:db9::1", ["2001:db8::/32"])"#),
        Value::Bool(false)
    );
    // Not an IP address: false, not an error.
    assert_eq!(
        eval(r#"IsInCIDR("not an ip", ["0.0.0.0/0"])"#),
        Value::Bool(false)
    );
    // A network from a path is parsed when evaluated.
    f.span
        .attributes
        .push(key_value("allowed", s("192.168.4.0/24")));
    assert_eq!(
        f.value(
            SPAN,
            r#"IsInCIDR(resource.attributes["server.ip"], [attributes["allowed"]])"#
        ),
        Value::Bool(true)
    );
    f.span
        .attributes
        .push(key_value("broken", s("300.0.0.0/8")));
    assert!(
        f.value_err(
            SPAN,
            r#"IsInCIDR(resource.attributes["server.ip"], [attributes["broken"]])"#
        )
        .contains("invalid CIDR address")
    );
    // A literal network that does not parse is a startup error.
    let err = eval_err(r#"IsInCIDR("10.0.0.1", ["10.0.0.0/33"])"#);
    assert!(err.contains("argument `networks` of `IsInCIDR`"), "{err}");
    assert!(eval_err(r#"IsInCIDR(1, ["10.0.0.0/8"])"#).contains("must be a string"));
}

// README "IsValidLuhn": a Luhn check of a string of digits or an int.
#[test]
fn is_valid_luhn() {
    assert_eq!(eval(r#"IsValidLuhn("17893729974")"#), Value::Bool(true));
    assert_eq!(eval("IsValidLuhn(17893729974)"), Value::Bool(true));
    assert_eq!(eval(r#"IsValidLuhn("17893729975")"#), Value::Bool(false));
    // Spaces are ignored (func_is_valid_luhn.go); the Visa test number is valid.
    assert_eq!(
        eval(r#"IsValidLuhn("4111 1111 1111 1111")"#),
        Value::Bool(true)
    );
    assert_eq!(eval(r#"IsValidLuhn("")"#), Value::Bool(false));
    assert!(eval_err(r#"IsValidLuhn("4111-1111")"#).contains("IsValidLuhn"));
    let mut f = Fixture::default();
    assert!(
        f.value_err(SPAN, r#"IsValidLuhn(attributes["missing"])"#)
            .contains("<nil>")
    );
}

// README "URL" and func_url_test.go: the semantic-convention keys set by otelcol's parser.
#[test]
fn url() {
    assert_eq!(
        sorted_map(eval(
            r#"URL("http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment")"#
        )),
        entries(vec![
            ("url.path", vs("/foo.gif")),
            ("url.fragment", vs("fragment")),
            ("url.extension", vs("gif")),
            ("url.password", vs("mypassword")),
            (
                "url.original",
                vs(
                    "http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment"
                )
            ),
            ("url.scheme", vs("http")),
            ("url.port", Value::Int(80)),
            ("url.user_info", vs("myusername:mypassword")),
            ("url.domain", vs("www.example.com")),
            ("url.query", vs("key1=val1&key2=val2")),
            ("url.username", vs("myusername")),
        ])
    );
    assert_eq!(
        sorted_map(eval(r#"URL("http://www.example.com")"#)),
        entries(vec![
            ("url.original", vs("http://www.example.com")),
            ("url.scheme", vs("http")),
            ("url.domain", vs("www.example.com")),
            ("url.path", vs("")),
        ])
    );
    assert_eq!(
        sorted_map(eval(r#"URL("https://user:@www.example.com:77/foo")"#)),
        entries(vec![
            ("url.original", vs("https://user:@www.example.com:77/foo")),
            ("url.scheme", vs("https")),
            ("url.domain", vs("www.example.com")),
            ("url.path", vs("/foo")),
            ("url.port", Value::Int(77)),
            ("url.user_info", vs("user:")),
            ("url.username", vs("user")),
            ("url.password", vs("")),
        ])
    );
    assert_eq!(
        sorted_map(eval(r#"URL("ftp://ftp.is.co.za/rfc/rfc1808.txt")"#)),
        entries(vec![
            ("url.original", vs("ftp://ftp.is.co.za/rfc/rfc1808.txt")),
            ("url.scheme", vs("ftp")),
            ("url.path", vs("/rfc/rfc1808.txt")),
            ("url.extension", vs("txt")),
            ("url.domain", vs("ftp.is.co.za")),
        ])
    );
    assert_eq!(
        sorted_map(eval(r#"URL("telnet://192.0.2.16:80/")"#)),
        entries(vec![
            ("url.original", vs("telnet://192.0.2.16:80/")),
            ("url.scheme", vs("telnet")),
            ("url.path", vs("/")),
            ("url.port", Value::Int(80)),
            ("url.domain", vs("192.0.2.16")),
        ])
    );
    // Go's net/url, not WHATWG: the scheme is lowercased but the host keeps its case, the
    // path is decoded, an IPv6 host loses its brackets.
    assert_eq!(
        sorted_map(eval(r#"URL("HTTP://Example.COM:8080/a%20b")"#)),
        entries(vec![
            ("url.original", vs("http://Example.COM:8080/a%20b")),
            ("url.scheme", vs("http")),
            ("url.domain", vs("Example.COM")),
            ("url.path", vs("/a b")),
            ("url.port", Value::Int(8080)),
        ])
    );
    assert_eq!(
        sorted_map(eval(r#"URL("http://[::1]:9000/x")"#)),
        entries(vec![
            ("url.original", vs("http://[::1]:9000/x")),
            ("url.scheme", vs("http")),
            ("url.domain", vs("::1")),
            ("url.path", vs("/x")),
            ("url.port", Value::Int(9000)),
        ])
    );
    // A bare query string becomes a map of parameters to their values.
    assert_eq!(
        eval(r#"URL("?a=1&b=2&a=3")"#),
        vmap(vec![(
            "query",
            map(vec![
                ("a", list(vec![s("1"), s("3")])),
                ("b", list(vec![s("2")])),
            ])
        )])
    );
    // Errors: empty, bad port, bad escape, not a string.
    assert!(eval_err(r#"URL("")"#).contains("url cannot be empty"));
    assert!(eval_err(r#"URL("http://host:port/")"#).contains("invalid port"));
    assert!(eval_err(r#"URL("http://host/%zz")"#).contains("invalid URL escape"));
    assert!(eval_err("URL(1)").contains("must be a string"));
}

// README "CommunityID" and func_community_id_test.go: `1:` and the base64 SHA-1 of the
// normalized flow tuple; both directions of a flow give the same ID.
#[test]
fn community_id() {
    let cases = [
        (
            r#""1.2.3.4", 12345, "5.6.7.8", 80, "TCP""#,
            "1:0by3b/tE95hcOzccyt6d4kjgbZc=",
        ),
        (
            r#""5.6.7.8", 80, "1.2.3.4", 12345, "TCP""#,
            "1:0by3b/tE95hcOzccyt6d4kjgbZc=",
        ),
        (
            r#""192.168.1.1", 53, "10.10.10.10", 53000, "UDP""#,
            "1:gQ05/45srnixHs8V/2ejpkxhBwg=",
        ),
        (
            r#""10.10.10.10", 53000, "192.168.1.1", 53, "ICMP""#,
            "1:9TGPWejPFuBlKrHuVcM3iaA8hf8=",
        ),
        (
            r#""10.10.10.10", 53, "192.168.1.1", 53000, "RSVP""#,
            "1:rkXhRghBvx2yf3zgDnSHuJ35XaY=",
        ),
        (
            r#""192.168.1.1", 53, "10.10.10.10", 53000, "ICMP6""#,
            "1:bchQ2SAoVf2Iq1XdGBXObLJ2i64=",
        ),
        (
            r#""192.168.1.1", 53, "10.10.10.10", 53000, "SCTP""#,
            "1:zo1kfEyhghMaeU7tQDCE2G+ITQc=",
        ),
        (
            r#""2001:db8::1", 8080, "2001:db8::2", 443, "TCP""#,
            "1:c5m26SNBLmvfaBQJNWKXZwUGGcM=",
        ),
        (
            r#""192.168.1.1", 12345, "192.168.1.2", 80, "TCP", 1234"#,
            "1:v1n8p4IZW9jXIJnFANLbRU2ahdU=",
        ),
        (
            r#""10.0.0.2", 80, "10.0.0.1", 12345, "TCP""#,
            "1:CpuULklTENbGdRpvp7gNcQd5ZqA=",
        ),
        (
            r#""127.0.0.1", 8080, "127.0.0.1", 8080, "TCP""#,
            "1:sG2vk7rcZ12ZxPg+nnwljgdVEGw=",
        ),
        (
            r#""2001:db8::1", 8080, "10.1.1.1", 443, "TCP""#,
            "1:T1e3va6jTSWaSKkG3k4dnZq5VM8=",
        ),
        (
            r#""10.1.1.1", 8080, "10.1.1.2", 8079, "TCP""#,
            "1:1fjNfFLjLTsO2WE9AY0TbTeSaBs=",
        ),
        (
            r#""10.1.1.2", 8079, "10.1.1.1", 8080, "TCP""#,
            "1:1fjNfFLjLTsO2WE9AY0TbTeSaBs=",
        ),
        (
            r#""10.1.1.2", 8081, "10.1.1.2", 8080, "TCP""#,
            "1:3byUvmBpOu8KHoTRr4eN5AjTQEU=",
        ),
        (
            r#""10.1.1.2", 8080, "10.1.1.2", 8081, "TCP""#,
            "1:3byUvmBpOu8KHoTRr4eN5AjTQEU=",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(
            eval(&format!("CommunityID({args})")),
            vs(expected),
            "{args}"
        );
    }
    // TCP and seed 0 are the defaults.
    assert_eq!(
        eval(r#"CommunityID("1.2.3.4", 12345, "5.6.7.8", 80)"#),
        vs("1:0by3b/tE95hcOzccyt6d4kjgbZc=")
    );
    assert_eq!(
        eval(
            r#"CommunityID(source_ip="192.168.1.1", source_port=12345, destination_ip="192.168.1.2", destination_port=80, seed=1234)"#
        ),
        vs("1:v1n8p4IZW9jXIJnFANLbRU2ahdU=")
    );
    // A protocol from a path is checked when evaluated.
    let mut f = Fixture::default();
    f.span.attributes.push(key_value("proto", s("UDP")));
    assert_eq!(
        f.value(
            SPAN,
            r#"CommunityID("192.168.1.1", 53, "10.10.10.10", 53000, attributes["proto"])"#
        ),
        vs("1:gQ05/45srnixHs8V/2ejpkxhBwg=")
    );
    f.span.attributes.push(key_value("bad", s("GRE")));
    assert!(
        f.value_err(
            SPAN,
            r#"CommunityID("1.2.3.4", 1, "5.6.7.8", 2, attributes["bad"])"#
        )
        .contains("unsupported protocol")
    );
    // Errors.
    assert!(
        eval_err(r#"CommunityID("invalid-ip", 80, "10.0.0.1", 12345)"#)
            .contains("invalid source IP")
    );
    assert!(
        eval_err(r#"CommunityID("10.0.0.1", 0, "10.0.0.2", 80)"#)
            .contains("source port must be between 1 and 65535")
    );
    assert!(
        eval_err(r#"CommunityID("10.0.0.1", 80, "10.0.0.2", 65536)"#)
            .contains("destination port must be between 1 and 65535")
    );
    assert!(
        eval_err(r#"CommunityID("10.0.0.1", 80, "10.0.0.2", 81, "TCP", -1)"#)
            .contains("seed must be between 0 and 65535")
    );
    assert!(
        eval_err(r#"CommunityID("10.0.0.1", "80", "10.0.0.2", 81)"#).contains("must be an int")
    );
    let err = eval_err(r#"CommunityID("10.0.0.1", 80, "10.0.0.2", 12345, "UNKNOWN")"#);
    assert!(
        err.contains("argument `protocol` of `CommunityID`"),
        "{err}"
    );
    assert!(err.contains("unsupported protocol"), "{err}");
}
