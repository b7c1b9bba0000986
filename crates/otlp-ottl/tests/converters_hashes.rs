//! The hash and identifier converters, with cases from otelcol-contrib's
//! `pkg/ottl/ottlfuncs/README.md` ("Converters": `FNV`, `MD5`, `Murmur3Hash`, `Murmur3Hash128`,
//! `SHA1`, `SHA512`, `UUID`, `UUIDv7`, `XXH3`, `XXH128`), the `func_*_test.go` files next to it,
//! and published reference vectors. Every expected digest is written by hand from those sources.

mod common;

use common::*;
use otlp_ottl::{ContextKind, Value, evaluate, key_value, parse_expression, parse_statement};

const SPAN: ContextKind = ContextKind::Span;
const METRIC: ContextKind = ContextKind::Metric;

fn eval(text: &str) -> Value<'static> {
    evaluate(text).unwrap_or_else(|e| panic!("`{text}`: {e}"))
}

fn eval_err(text: &str) -> String {
    match evaluate(text) {
        Ok(v) => panic!("`{text}` evaluated to {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn eval_str(text: &str) -> String {
    match eval(text) {
        Value::Str(s) => s.into_owned(),
        other => panic!("`{text}` evaluated to {other:?}, not a string"),
    }
}

/// Every way a non-string argument must fail: an int, a double, a bool, bytes, a list, a map and
/// nil (otelcol's `StringGetter`: "expected string but got ...").
fn assert_rejects_non_strings(function: &str) {
    for arg in [
        "1",
        "1.5",
        "true",
        "0x0a0b",
        "[\"a\"]",
        "{\"k\": \"v\"}",
        "nil",
    ] {
        let err = eval_err(&format!("{function}({arg})"));
        assert!(
            err.contains(function) && err.contains("must be a string"),
            "{function}({arg}): {err}"
        );
    }
}

// README "SHA1": the hex SHA-1 digest of a string; another type is an error. Go test cases
// ("hello world", the empty string) and the FIPS 180 example "abc".
#[test]
fn sha1() {
    assert_eq!(
        eval(r#"SHA1("hello world")"#),
        vs("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed")
    );
    assert_eq!(
        eval(r#"SHA1("")"#),
        vs("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        eval(r#"SHA1("abc")"#),
        vs("a9993e364706816aba3e25717850c26c9cd0d89d")
    );
    // The argument is named `target`, as otelcol's argument struct names it.
    assert_eq!(
        eval(r#"SHA1(target = "abc")"#),
        vs("a9993e364706816aba3e25717850c26c9cd0d89d")
    );
    let mut f = Fixture::default();
    f.span
        .attributes
        .push(key_value("device.name", s("hello world")));
    assert_eq!(
        f.value(SPAN, r#"SHA1(attributes["device.name"])"#),
        vs("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed")
    );
    assert_rejects_non_strings("SHA1");
    // A missing attribute is nil, which is not a string either.
    assert!(
        f.value_err(SPAN, r#"SHA1(attributes["missing"])"#)
            .contains("must be a string")
    );
}

// README "SHA256": unchanged, but now also reachable by otelcol's argument name `target`.
#[test]
fn sha256_named_target() {
    // FIPS 180 example "abc".
    assert_eq!(
        eval(r#"SHA256(target = "abc")"#),
        vs("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
}

// README "SHA512": the hex SHA-512 digest. Go test cases (empty string, "foo bar") and the
// FIPS 180 example "abc".
#[test]
fn sha512() {
    assert_eq!(
        eval(r#"SHA512("")"#),
        vs(
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        )
    );
    assert_eq!(
        eval(r#"SHA512("foo bar")"#),
        vs(
            "65019286222ace418f742556366f9b9da5aaf6797527d2f0cba5bfe6b2f8ed24746542a0f2be1da8d63c2477f688b608eb53628993afa624f378b03f10090ce7"
        )
    );
    assert_eq!(
        eval(r#"SHA512("abc")"#),
        vs(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    );
    assert_rejects_non_strings("SHA512");
}

// README "MD5": the hex MD5 digest. Go test cases and the RFC 1321 test suite.
#[test]
fn md5() {
    assert_eq!(
        eval(r#"MD5("hello world")"#),
        vs("5eb63bbbe01eeed093cb22bb8f5acdc3")
    );
    assert_eq!(eval(r#"MD5("")"#), vs("d41d8cd98f00b204e9800998ecf8427e"));
    assert_eq!(eval(r#"MD5("a")"#), vs("0cc175b9c0f1b6a831c399e269772661"));
    assert_eq!(
        eval(r#"MD5("abc")"#),
        vs("900150983cd24fb0d6963f7d28e17f72")
    );
    assert_eq!(
        eval(r#"MD5("message digest")"#),
        vs("f96b697d7cb7938d525a2f31aaf161d0")
    );
    assert_rejects_non_strings("MD5");
}

// README "FNV": the 64-bit FNV-1a hash as an int64 (Go's `int64(Sum64())`, so large digests are
// negative). Go test cases, and the FNV reference suite for "a" and "foobar".
#[test]
fn fnv() {
    assert_eq!(
        eval(r#"FNV("hello world")"#),
        Value::Int(8618312879776256743)
    );
    // The empty string hashes to the offset basis 0xcbf29ce484222325, as an int64.
    assert_eq!(eval(r#"FNV("")"#), Value::Int(-3750763034362895579));
    // 0xaf63dc4c8601ec8c and 0x85944171f73967e8, both above i64::MAX.
    assert_eq!(
        eval(r#"FNV("a")"#),
        Value::Int(0xaf63dc4c8601ec8c_u64 as i64)
    );
    assert_eq!(
        eval(r#"FNV("foobar")"#),
        Value::Int(0x85944171f73967e8_u64 as i64)
    );
    let mut f = Fixture::default();
    f.resource
        .as_mut()
        .unwrap()
        .attributes
        .push(key_value("device.name", s("hello world")));
    assert_eq!(
        f.value(SPAN, r#"FNV(resource.attributes["device.name"])"#),
        Value::Int(8618312879776256743)
    );
    assert_rejects_non_strings("FNV");
}

// README "XXH3": the 64-bit XXH3 digest as a hex string. Go test cases.
#[test]
fn xxh3() {
    assert_eq!(eval(r#"XXH3("hello world")"#), vs("d447b1ea40e6988b"));
    assert_eq!(eval(r#"XXH3("")"#), vs("2d06800538d394c2"));
    assert_rejects_non_strings("XXH3");
}

// README "XXH128": the 128-bit XXH3 digest as a hex string, high half first. Go test cases.
#[test]
fn xxh128() {
    assert_eq!(
        eval(r#"XXH128("hello world")"#),
        vs("df8d09e93f874900a99b8775cc15b6c7")
    );
    assert_eq!(
        eval(r#"XXH128("")"#),
        vs("99aa06d3014798d86001c324468d497f")
    );
    assert_rejects_non_strings("XXH128");
}

// README "Murmur3Hash": the 32-bit MurmurHash3 (x86_32, seed 0) as a little-endian hex string.
// Go test cases ("Hello World" is 427197390 = 0x197683ce), and the public x86_32 vector for
// "The quick brown fox jumps over the lazy dog" with seed 0, 0x2e4ff723.
#[test]
fn murmur3_hash() {
    assert_eq!(eval(r#"Murmur3Hash("Hello World")"#), vs("ce837619"));
    assert_eq!(eval(r#"Murmur3Hash("")"#), vs("00000000"));
    assert_eq!(
        eval(r#"Murmur3Hash("The quick brown fox jumps over the lazy dog")"#),
        vs("23f74f2e")
    );
    let mut f = Fixture::default();
    f.span
        .attributes
        .push(key_value("order.productId", s("Hello World")));
    assert_eq!(
        f.value(SPAN, r#"Murmur3Hash(attributes["order.productId"])"#),
        vs("ce837619")
    );
    assert_rejects_non_strings("Murmur3Hash");
}

// README "Murmur3Hash128": the 128-bit MurmurHash3 (x64_128, seed 0) as hex: h1 then h2, each
// little-endian. Go test cases, and the public x64_128 vector for "The quick brown fox jumps
// over the lazy dog" (h1 = 0xe34bbc7bbc071b6c, h2 = 0x7a433ca9c49a9347).
#[test]
fn murmur3_hash128() {
    assert_eq!(
        eval(r#"Murmur3Hash128("Hello World")"#),
        vs("dbc2a0c1ab26631a27b4c09fcf1fe683")
    );
    assert_eq!(
        eval(r#"Murmur3Hash128("")"#),
        vs("00000000000000000000000000000000")
    );
    assert_eq!(
        eval(r#"Murmur3Hash128("The quick brown fox jumps over the lazy dog")"#),
        vs("6c1b07bc7bbc4be347939ac4a93c437a")
    );
    assert_rejects_non_strings("Murmur3Hash128");
}

// Every hash takes exactly one argument: none, or two, is a compile error.
#[test]
fn hashes_take_one_argument() {
    for function in [
        "SHA1",
        "SHA512",
        "MD5",
        "FNV",
        "XXH3",
        "XXH128",
        "Murmur3Hash",
        "Murmur3Hash128",
    ] {
        let err = parse_expression(SPAN, &format!("{function}()"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing argument `target`"), "{err}");
        let err = parse_expression(SPAN, &format!(r#"{function}("a", "b")"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("too many arguments"), "{err}");
    }
}

// README "replace_pattern" / "replace_match" / "replace_all_matches" / "replace_all_patterns":
// `function` is "any Converter that accepts a (`replacement`) string and returns a string", so
// every string hash works there; the expected digests are the Go test vectors.
#[test]
fn string_hashes_as_replace_functions() {
    let cases = [
        (
            "SHA1",
            "hello world",
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed",
        ),
        ("MD5", "hello world", "5eb63bbbe01eeed093cb22bb8f5acdc3"),
        ("XXH3", "hello world", "d447b1ea40e6988b"),
        ("XXH128", "hello world", "df8d09e93f874900a99b8775cc15b6c7"),
        (
            "SHA512",
            "foo bar",
            "65019286222ace418f742556366f9b9da5aaf6797527d2f0cba5bfe6b2f8ed24746542a0f2be1da8d63c2477f688b608eb53628993afa624f378b03f10090ce7",
        ),
    ];
    for (function, replacement, digest) in cases {
        let mut m = Fixture::default();
        m.metric.name = "kube_pod_status".to_owned();
        m.run(
            METRIC,
            &format!(r#"replace_pattern(metric.name, "^kube_.*$", "{replacement}", {function})"#),
        );
        assert_eq!(m.metric.name, digest, "replace_pattern with {function}");

        let mut f = Fixture::default();
        f.run(
            SPAN,
            &format!(
                r#"replace_match(attributes["http.method"], "G*", "{replacement}", {function}, "h:%s")"#
            ),
        );
        assert_eq!(
            f.span_attr("http.method"),
            Some(&s(&format!("h:{digest}"))),
            "replace_match with {function}"
        );
    }

    // The murmur hashes, with their Go test vectors for "Hello World".
    let mut f = Fixture::default();
    f.run(
        SPAN,
        r#"replace_all_matches(attributes, "GET", "Hello World", Murmur3Hash)"#,
    );
    assert_eq!(f.span_attr("http.method"), Some(&s("ce837619")));
    let mut f = Fixture::default();
    f.run(
        SPAN,
        r#"replace_all_patterns(attributes, "value", "^GET$", "Hello World", Murmur3Hash128, "id-%s")"#,
    );
    assert_eq!(
        f.span_attr("http.method"),
        Some(&s("id-dbc2a0c1ab26631a27b4c09fcf1fe683"))
    );
}

// README "FNV": it returns an int64, not a string, so it is no `function` for the replace
// editors (otelcol fails at run time with "replacement value is not a string"; we refuse it
// when the statement is compiled).
#[test]
fn fnv_is_not_a_replace_function() {
    let err = parse_statement(SPAN, r#"replace_pattern(name, "GET", "hello world", FNV)"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a converter from one string to a string; `FNV` is not"),
        "{err}"
    );
}

/// Checks a UUID string's shape (8-4-4-4-12 lowercase hex), its version nibble and its RFC 9562
/// variant bits (`10xx`); returns its 16 bytes.
fn check_uuid(text: &str, version: char) -> [u8; 16] {
    assert_eq!(text.len(), 36, "{text}");
    for (index, c) in text.char_indices() {
        if [8, 13, 18, 23].contains(&index) {
            assert_eq!(c, '-', "{text}");
        } else {
            assert!(
                c.is_ascii_digit() || ('a'..='f').contains(&c),
                "{text}: {c:?} is not lowercase hex"
            );
        }
    }
    assert_eq!(text.as_bytes()[14] as char, version, "{text}: version");
    assert!(
        matches!(text.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
        "{text}: variant"
    );
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).unwrap();
    }
    bytes
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

// README "UUID": "generates a v4 uuid string": random, version 4, RFC variant, every call new.
#[test]
fn uuid_v4() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let text = eval_str("UUID()");
        check_uuid(&text, '4');
        assert!(seen.insert(text.clone()), "{text} repeated");
    }
    // One compiled expression makes a new UUID on each evaluation.
    let mut f = Fixture::default();
    let first = f.value(SPAN, "UUID()");
    let second = f.value(SPAN, "UUID()");
    assert_ne!(first, second);
    let err = parse_expression(SPAN, "UUID(1)").unwrap_err().to_string();
    assert!(err.contains("too many arguments"), "{err}");
}

// README "UUIDv7": "a version 7 UUID using the current Unix epoch timestamp": version 7, RFC
// variant, its first 48 bits the Unix time in milliseconds, and later ones sort after earlier
// ones.
#[test]
fn uuid_v7() {
    let before = now_millis();
    let texts: Vec<String> = (0..200).map(|_| eval_str("UUIDv7()")).collect();
    let after = now_millis();
    let mut previous: Option<&String> = None;
    for text in &texts {
        let bytes = check_uuid(text, '7');
        let millis = bytes[..6]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        assert!(
            (before..=after).contains(&millis),
            "{text}: {millis} not in {before}..={after}"
        );
        if let Some(previous) = previous {
            assert!(previous < text, "{previous} then {text}: not increasing");
        }
        previous = Some(text);
    }
    let err = parse_expression(SPAN, r#"UUIDv7("x")"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("too many arguments"), "{err}");
}
