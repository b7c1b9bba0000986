//! Replays the W3C Trace Context test suite (`w3c/trace-context`, `test/test.py`) against the
//! `w3c_test_service` example, run in-process on a free port: two services (the harness's caller and
//! the example), a client span in between, real HTTP/1.1 both ways.
//!
//! Like the Python harness, each case sends raw HTTP/1.1 to the service (so header-name casing and
//! repeated headers reach it exactly as written), asks it to call back a harness server, and reads
//! the `traceparent`/`tracestate` the callback carried.
//!
//! Provenance of the cases. `TraceContextTest` and `AdvancedTest` follow the revision of `test.py`
//! available here (it predates `SPEC_LEVEL`), transcribed case by case; the function names below
//! carry the suite's test names. The suite's current revision (commit `acab820`, run with
//! `SPEC_LEVEL=2 STRICT_LEVEL=2`) could not be obtained; what it changed is taken from third-party
//! transcriptions of it and from the Level 2 specification: the `TraceContext2Test` class
//! (`test_propagates_random_flag`), keys of the Level 2 grammar that are now passed on
//! (`foo@=1`, `foo@@bar=1`, `foo@bar@baz=1`, `t…t@v` with a 242-character tenant, `t@` with 15
//! characters after `@`), and duplicated keys passed on with one value kept. Cases gated on
//! `STRICT_LEVEL >= 2` in the suite run against the service as the example configures it at that
//! level ([`TraceStatePolicy::WholeList`]); the same inputs under the default
//! [`TraceStatePolicy::PerMember`] are checked against this crate's documented choices.

#[allow(dead_code)]
#[path = "../examples/w3c_test_service.rs"]
mod w3c_test_service;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use otlp_mesh::TraceStatePolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Headers = Vec<(String, String)>;

struct Harness {
    service: SocketAddr,
    callback: SocketAddr,
    received: Arc<Mutex<HashMap<String, Headers>>>,
    next_scope: AtomicUsize,
}

impl Harness {
    /// The example service as it configures itself for the suite's `STRICT_LEVEL`.
    async fn at_strict_level(strict_level: u32) -> Self {
        Self::start(w3c_test_service::policy_for_strict_level(strict_level)).await
    }

    async fn start(policy: TraceStatePolicy) -> Self {
        let service_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let service = service_listener.local_addr().unwrap();
        tokio::spawn(w3c_test_service::serve(service_listener, policy));

        let callback_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let callback = callback_listener.local_addr().unwrap();
        let received: Arc<Mutex<HashMap<String, Headers>>> = Arc::default();
        let store = Arc::clone(&received);
        tokio::spawn(async move {
            loop {
                let (stream, _) = callback_listener.accept().await.unwrap();
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let record = service_fn(move |request: Request<Incoming>| {
                        let headers = request
                            .headers()
                            .iter()
                            .map(|(name, value)| {
                                (name.as_str().to_owned(), value.to_str().unwrap().to_owned())
                            })
                            .collect();
                        store
                            .lock()
                            .unwrap()
                            .insert(request.uri().path().to_owned(), headers);
                        async {
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), record)
                        .await;
                });
            }
        });
        Harness {
            service,
            callback,
            received,
            next_scope: AtomicUsize::new(0),
        }
    }

    /// Sends `headers` to the service asking for `count` callbacks; returns each callback's headers.
    async fn make_request(&self, headers: &[(&str, &str)], count: usize) -> Vec<Headers> {
        let scope = self.next_scope.fetch_add(1, Ordering::Relaxed);
        let urls: Vec<String> = (0..count)
            .map(|index| format!("http://{}/{scope}/{index}", self.callback))
            .collect();
        let body = serde_json::to_string(
            &urls
                .iter()
                .map(|url| serde_json::json!({"url": url, "arguments": []}))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let mut raw = format!("POST /test HTTP/1.1\r\nHost: {}\r\n", self.service);
        for (name, value) in headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        let mut stream = TcpStream::connect(self.service).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "service answered {response:?} to {headers:?}"
        );
        let received = self.received.lock().unwrap();
        (0..count)
            .map(|index| {
                received
                    .get(&format!("/{scope}/{index}"))
                    .unwrap_or_else(|| {
                        panic!("the service made no callback {index} for {headers:?}")
                    })
                    .clone()
            })
            .collect()
    }

    async fn single(&self, headers: &[(&str, &str)]) -> (Traceparent, Vec<(String, String)>) {
        let callback = self.make_request(headers, 1).await.remove(0);
        (traceparent(&callback), tracestate(&callback))
    }

    /// The callback's tracestate for `traceparent: TP` and the given `tracestate` fields.
    async fn state_for(&self, fields: &[&str]) -> Vec<(String, String)> {
        let mut headers = vec![("traceparent", TP)];
        headers.extend(fields.iter().map(|field| ("tracestate", *field)));
        assert_continued(self, &headers).await
    }
}

#[derive(Debug)]
struct Traceparent {
    trace_id: String,
    parent_id: String,
    flags: u8,
}

impl Traceparent {
    fn random(&self) -> bool {
        self.flags & 0x02 != 0
    }
}

/// Exactly one `traceparent` in the strict `00` format, as the harness demands.
fn traceparent(headers: &Headers) -> Traceparent {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("traceparent"))
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(values.len(), 1, "expected one traceparent, got {values:?}");
    let parts: Vec<&str> = values[0].split('-').collect();
    let lower_hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    assert!(
        parts.len() == 4
            && parts[0] == "00"
            && lower_hex(parts[1], 32)
            && lower_hex(parts[2], 16)
            && lower_hex(parts[3], 2),
        "malformed outgoing traceparent {:?}",
        values[0]
    );
    assert_ne!(parts[1], "0".repeat(32));
    assert_ne!(parts[2], "0".repeat(16));
    let flags = u8::from_str_radix(parts[3], 16).unwrap();
    assert_eq!(flags & !0x03, 0, "only defined flags may be sent");
    Traceparent {
        trace_id: parts[1].to_owned(),
        parent_id: parts[2].to_owned(),
        flags,
    }
}

/// Every `tracestate` list member the callback carried, in order.
fn tracestate(headers: &Headers) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("tracestate"))
        .flat_map(|(_, value)| value.split(','))
        .map(|member| member.trim_matches([' ', '\t']))
        .filter(|member| !member.is_empty())
        .map(|member| {
            let (key, value) = member.split_once('=').unwrap();
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

fn get<'a>(state: &'a [(String, String)], key: &str) -> Option<&'a str> {
    state
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn keys(state: &[(String, String)]) -> Vec<&str> {
    state.iter().map(|(key, _)| key.as_str()).collect()
}

const TRACE_ID: &str = "12345678901234567890123456789012";
const TP_SAMPLED: &str = "00-12345678901234567890123456789012-1234567890123456-01";
const TP: &str = "00-12345678901234567890123456789012-1234567890123456-00";
const POLICIES: [TraceStatePolicy; 2] = [TraceStatePolicy::PerMember, TraceStatePolicy::WholeList];

async fn assert_restarted(harness: &Harness, traceparent: &str) {
    let (parent, _) = harness.single(&[("traceparent", traceparent)]).await;
    assert_ne!(
        parent.trace_id, TRACE_ID,
        "{traceparent:?} must not be continued"
    );
}

async fn assert_continued(harness: &Harness, headers: &[(&str, &str)]) -> Vec<(String, String)> {
    let (parent, state) = harness.single(headers).await;
    assert_eq!(parent.trace_id, TRACE_ID, "{headers:?} must be continued");
    state
}

/// `test_both_traceparent_and_tracestate_missing`, `test_traceparent_included_tracestate_missing`,
/// `test_traceparent_duplicated`, `test_traceparent_header_name`,
/// `test_traceparent_header_name_valid_casing` ("Header Name": "Vendors MUST expect the header name
/// in any case").
#[tokio::test]
async fn traceparent_basics_and_header_names() {
    for policy in POLICIES {
        let harness = Harness::start(policy).await;
        harness.single(&[]).await;
        let (parent, _) = harness.single(&[("traceparent", TP_SAMPLED)]).await;
        assert_eq!(parent.trace_id, TRACE_ID);
        assert_ne!(parent.parent_id, "1234567890123456");

        let (parent, _) = harness
            .single(&[
                (
                    "traceparent",
                    "00-12345678901234567890123456789011-1234567890123456-01",
                ),
                ("traceparent", TP_SAMPLED),
            ])
            .await;
        assert_ne!(parent.trace_id, "12345678901234567890123456789011");
        assert_ne!(parent.trace_id, TRACE_ID);

        for wrong in ["trace-parent", "trace.parent"] {
            let (parent, _) = harness.single(&[(wrong, TP_SAMPLED)]).await;
            assert_ne!(parent.trace_id, TRACE_ID);
        }
        for casing in ["TraceParent", "TrAcEpArEnT", "TRACEPARENT"] {
            assert_continued(&harness, &[(casing, TP_SAMPLED)]).await;
        }
    }
}

/// `test_traceparent_version_0x00`, `_0xcc`, `_0xff`, `_illegal_characters`, `_too_long`,
/// `_too_short` ("Versioning of traceparent").
#[tokio::test]
async fn traceparent_versions() {
    let harness = Harness::at_strict_level(2).await;
    let id = "12345678901234567890123456789012-1234567890123456";
    for invalid in [
        format!("00-{id}-01."),
        format!("00-{id}-01-what-the-future-will-be-like"),
        format!("cc-{id}-01.what-the-future-will-be-like"),
        format!("ff-{id}-01"),
        format!(".0-{id}-01"),
        format!("0.-{id}-01"),
        format!("000-{id}-01"),
        format!("0000-{id}-01"),
        format!("0-{id}-01"),
    ] {
        assert_restarted(&harness, &invalid).await;
    }
    for future in [
        format!("cc-{id}-01"),
        format!("cc-{id}-01-what-the-future-will-be-like"),
    ] {
        assert_continued(&harness, &[("traceparent", &future)]).await;
    }
}

/// `test_traceparent_trace_id_*`, `test_traceparent_parent_id_*`, `test_traceparent_trace_flags_*`
/// ("trace-id", "parent-id", "trace-flags": lower-case hex of exact length, not all zeros).
#[tokio::test]
async fn traceparent_fields() {
    let harness = Harness::at_strict_level(2).await;
    let (parent, _) = harness
        .single(&[(
            "traceparent",
            "00-00000000000000000000000000000000-1234567890123456-01",
        )])
        .await;
    assert_ne!(parent.trace_id, "0".repeat(32));
    for invalid in [
        "00-.2345678901234567890123456789012-1234567890123456-01",
        "00-1234567890123456789012345678901.-1234567890123456-01",
        "00-123456789012345678901234567890123-1234567890123456-01",
        "00-1234567890123456789012345678901-1234567890123456-01",
        "00-12345678901234567890123456789012-0000000000000000-01",
        "00-12345678901234567890123456789012-.234567890123456-01",
        "00-12345678901234567890123456789012-123456789012345.-01",
        "00-12345678901234567890123456789012-12345678901234567-01",
        "00-12345678901234567890123456789012-123456789012345-01",
        "00-12345678901234567890123456789012-1234567890123456-.0",
        "00-12345678901234567890123456789012-1234567890123456-0.",
        "00-12345678901234567890123456789012-1234567890123456-001",
        "00-12345678901234567890123456789012-1234567890123456-1",
        "00-ABCDEF78901234567890123456789012-1234567890123456-01",
        "00-12345678901234567890123456789012-ABCDEF7890123456-01",
    ] {
        assert_restarted(&harness, invalid).await;
    }
    let (parent, _) = harness
        .single(&[(
            "traceparent",
            "00-123456789012345678901234567890123-1234567890123456-01",
        )])
        .await;
    assert_ne!(parent.trace_id, "23456789012345678901234567890123");
}

/// `test_traceparent_ows_handling`.
#[tokio::test]
async fn traceparent_ows() {
    let harness = Harness::at_strict_level(2).await;
    for padded in [
        format!(" {TP_SAMPLED}"),
        format!("\t{TP_SAMPLED}"),
        format!("{TP_SAMPLED} "),
        format!("{TP_SAMPLED}\t"),
        format!("\t {TP_SAMPLED} \t"),
    ] {
        assert_continued(&harness, &[("traceparent", &padded)]).await;
    }
}

/// `test_tracestate_included_traceparent_missing` ("If the vendor failed to parse traceparent, it
/// MUST NOT attempt to parse tracestate"), `test_tracestate_included_traceparent_included`,
/// `test_tracestate_header_name`, `test_tracestate_header_name_valid_casing`,
/// `test_tracestate_empty_header` ("Vendors MUST accept empty `tracestate` headers").
#[tokio::test]
async fn tracestate_inheritance_names_and_empty() {
    for policy in POLICIES {
        let harness = Harness::start(policy).await;
        let (_, alone_one) = harness.single(&[("tracestate", "foo=1")]).await;
        let (_, alone_two) = harness.single(&[("tracestate", "foo=1,bar=2")]).await;
        assert_eq!(alone_one.len(), alone_two.len());
        assert!(
            alone_one.is_empty(),
            "tracestate without traceparent must be discarded"
        );

        let state = harness.state_for(&["foo=1,bar=2"]).await;
        assert_eq!(get(&state, "foo"), Some("1"));
        assert_eq!(get(&state, "bar"), Some("2"));

        for wrong in ["trace-state", "trace.state"] {
            let (_, state) = harness
                .single(&[("traceparent", TP), (wrong, "foo=1")])
                .await;
            assert_eq!(get(&state, "foo"), None);
        }
        for casing in ["TraceState", "TrAcEsTaTe", "TRACESTATE"] {
            let (_, state) = harness
                .single(&[("traceparent", TP), (casing, "foo=1")])
                .await;
            assert_eq!(get(&state, "foo"), Some("1"));
        }

        assert!(harness.state_for(&[""]).await.is_empty());
        for fields in [["foo=1", ""], ["", "foo=1"]] {
            let state = harness.state_for(&fields).await;
            assert_eq!(get(&state, "foo"), Some("1"));
        }
    }
}

/// `test_tracestate_multiple_headers_different_keys` ("they MUST be combined into a single
/// header"), `test_tracestate_duplicated_keys` ("Combined Header Value": one entry per key; passed
/// on with the first, left-most member kept).
#[tokio::test]
async fn tracestate_multiple_headers_and_duplicates() {
    for policy in POLICIES {
        let harness = Harness::start(policy).await;
        let state = harness
            .state_for(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"])
            .await;
        assert_eq!(keys(&state), ["foo", "bar", "rojo", "congo", "baz"]);

        for fields in [
            &["foo=1,foo=1"][..],
            &["foo=1,foo=2"],
            &["foo=1", "foo=1"],
            &["foo=1", "foo=2"],
        ] {
            let state = harness.state_for(fields).await;
            assert_eq!(state, [("foo".to_owned(), "1".to_owned())], "{fields:?}");
        }
        let state = harness.state_for(&["rojo=1,congo=2,rojo=3,bar=4"]).await;
        assert_eq!(keys(&state), ["rojo", "congo", "bar"], "{policy:?}");
        assert_eq!(get(&state, "rojo"), Some("1"));
    }
}

/// `test_tracestate_all_allowed_characters` (Level 2 "Key" and "Value"), `test_tracestate_ows_handling`
/// ("Spaces and horizontal tabs surrounding `list-member`s are ignored").
#[tokio::test]
async fn tracestate_characters_and_ows() {
    for policy in POLICIES {
        let harness = Harness::start(policy).await;
        let key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
        let key_with_vendor = format!("{key}@a-z0-9_-*/");
        let value: String = (0x20u8..=0x7e)
            .filter(|&b| b != b',' && b != b'=')
            .map(char::from)
            .collect();
        for key in [key.to_owned(), key_with_vendor] {
            let state = harness.state_for(&[&format!("{key}={value}")]).await;
            assert_eq!(get(&state, &key), Some(value.as_str()));
        }

        for padded in [
            "foo=1 \t , \t bar=2, \t baz=3",
            "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
        ] {
            let state = harness.state_for(&[padded]).await;
            assert_eq!(keys(&state), ["foo", "bar", "baz"]);
            assert_eq!(get(&state, "baz"), Some("3"));
        }
        for padded in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
            let state = harness.state_for(&[padded]).await;
            assert_eq!(get(&state, "foo"), Some("1"));
        }
    }
}

/// The suite's `STRICT_LEVEL >= 2` cases, at that level: `test_tracestate_key_illegal_characters`,
/// `test_tracestate_key_illegal_vendor_format`, `test_tracestate_value_illegal_characters`,
/// `test_tracestate_member_count_limit`, `test_tracestate_key_length_limit`, with the Level 2 key
/// grammar ("Key"). An invalid member discards the list (§4.3: "the vendor MAY discard the entire
/// header").
#[tokio::test]
async fn strict_level_2_discards_invalid_lists() {
    let harness = Harness::at_strict_level(2).await;
    for (member, key) in [
        ("foo =1", "foo "),
        ("FOO=1", "FOO"),
        ("foo.bar=1", "foo.bar"),
    ] {
        let state = harness.state_for(&[member]).await;
        assert_eq!(get(&state, key), None);
        assert!(state.is_empty(), "{member}");
    }
    // Level 2 keys: `@` is an ordinary key character after the first.
    for vendor in ["foo@=1,bar=2", "foo@@bar=1,bar=2", "foo@bar@baz=1,bar=2"] {
        let state = harness.state_for(&[vendor]).await;
        assert_eq!(get(&state, "bar"), Some("2"), "{vendor}");
        assert_eq!(state.len(), 2, "{vendor}");
    }
    assert_eq!(harness.state_for(&["@foo=1,bar=2"]).await, []);
    for bad_value in ["foo=bar=baz", "foo=,bar=3"] {
        assert_eq!(harness.state_for(&[bad_value]).await, [], "{bad_value}");
    }

    let members = |range: std::ops::RangeInclusive<u32>| {
        range
            .map(|n| format!("bar{n:02}={n:02}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let (first, second, third) = (members(1..=10), members(11..=20), members(21..=30));
    let state = harness
        .state_for(&[&first, &second, &third, &members(31..=32)])
        .await;
    assert_eq!(get(&state, "bar01"), Some("01"));
    assert_eq!(state.len(), 32);
    let state = harness
        .state_for(&[&first, &second, &third, &members(31..=33)])
        .await;
    assert_eq!(get(&state, "bar01"), None, "33 members must be discarded");

    for (long_key, kept) in [
        (format!("{}=1", "z".repeat(256)), true),
        (format!("{}=1", "z".repeat(257)), false),
        (format!("{}@{}=1", "t".repeat(241), "v".repeat(14)), true),
        (format!("{}@v=1", "t".repeat(242)), true),
        (format!("t@{}=1", "v".repeat(15)), true),
    ] {
        let state = harness.state_for(&["foo=1", &long_key]).await;
        assert_eq!(get(&state, "foo").is_some(), kept, "{}", &long_key[..20]);
        assert_eq!(state.len(), if kept { 2 } else { 0 });
    }
}

/// The same inputs under the default [`TraceStatePolicy::PerMember`] (the suite skips these cases
/// below `STRICT_LEVEL=2`): §4.3 "Invalid tracestate entries MAY also be discarded", so only the
/// invalid member goes; "tracestate Limits" truncation for more than 32 members.
#[tokio::test]
async fn per_member_policy_keeps_every_valid_member() {
    let harness = Harness::at_strict_level(1).await;
    assert_eq!(harness.state_for(&["foo =1"]).await, []);
    let state = harness.state_for(&["@foo=1,bar=2"]).await;
    assert_eq!(state, [("bar".to_owned(), "2".to_owned())]);
    let state = harness.state_for(&["foo=,bar=3"]).await;
    assert_eq!(state, [("bar".to_owned(), "3".to_owned())]);
    let state = harness.state_for(&["a=1,FOO=2,b=3,foo.bar=4,c=5"]).await;
    assert_eq!(keys(&state), ["a", "b", "c"]);

    let state = harness
        .state_for(&["foo=1", &format!("{}=1", "z".repeat(257))])
        .await;
    assert_eq!(keys(&state), ["foo"]);

    let over: String = (1..=33)
        .map(|n| format!("bar{n:02}={n:02}"))
        .collect::<Vec<_>>()
        .join(",");
    let state = harness.state_for(&[&over]).await;
    assert_eq!(state.len(), 32);
    assert_eq!(get(&state, "bar01"), Some("01"));
    assert_eq!(get(&state, "bar33"), None, "removed from the end");

    let long = format!("long={}", "x".repeat(200));
    let with_long: Vec<String> = (1..=32)
        .map(|n| format!("bar{n:02}={n:02}"))
        .chain([long])
        .collect();
    let mut fields: Vec<&str> = with_long.iter().map(String::as_str).collect();
    fields.swap(0, 32);
    let state = harness.state_for(&fields).await;
    assert_eq!(state.len(), 32);
    assert_eq!(
        get(&state, "long"),
        None,
        "entries over 128 characters go first"
    );
    assert_eq!(get(&state, "bar32"), Some("32"));
}

/// `TraceContext2Test.test_propagates_random_flag` ("Random Trace ID Flag": a participant that
/// continues a trace MUST send the flag it received), for unsampled and sampled parents, and the
/// flag's absence kept as well.
#[tokio::test]
async fn level_2_random_flag_is_propagated() {
    for policy in POLICIES {
        let harness = Harness::start(policy).await;
        for (flags, sampled) in [("02", false), ("03", true)] {
            let incoming = format!("00-{TRACE_ID}-1234567890123456-{flags}");
            let (parent, _) = harness.single(&[("traceparent", &incoming)]).await;
            assert_eq!(parent.trace_id, TRACE_ID);
            assert!(parent.random(), "{incoming}");
            assert_eq!(parent.flags & 0x01 != 0, sampled, "{incoming}");
        }
        for flags in ["00", "01"] {
            let incoming = format!("00-{TRACE_ID}-1234567890123456-{flags}");
            let (parent, _) = harness.single(&[("traceparent", &incoming)]).await;
            assert!(
                !parent.random(),
                "{incoming}: the flag must not be invented"
            );
        }
        // A higher version's flags: only sampled and random are read, and version 00 is sent.
        let (parent, _) = harness
            .single(&[(
                "traceparent",
                "cc-12345678901234567890123456789012-1234567890123456-ff-future",
            )])
            .await;
        assert_eq!(parent.flags, 0x03);
    }
}

/// Level 2 "Random Trace ID Flag" for traces this service starts: the SDK's default ID generator is
/// random, so new root spans (no or an invalid `traceparent`) carry the flag.
#[tokio::test]
async fn level_2_new_traces_are_marked_random() {
    let harness = Harness::at_strict_level(2).await;
    for headers in [
        vec![],
        vec![(
            "traceparent",
            "00-00000000000000000000000000000000-1234567890123456-01",
        )],
    ] {
        let (parent, _) = harness.single(&headers).await;
        assert!(parent.random(), "{headers:?}");
    }
}

/// `AdvancedTest`: `test_multiple_requests_with_valid_traceparent`,
/// `test_multiple_requests_without_traceparent`, `test_multiple_requests_with_illegal_traceparent`.
#[tokio::test]
async fn advanced_multiple_callbacks() {
    let harness = Harness::at_strict_level(2).await;
    let continued = harness
        .make_request(&[("traceparent", TP_SAMPLED)], 3)
        .await;
    let parents: Vec<Traceparent> = continued.iter().map(traceparent).collect();
    assert!(parents.iter().all(|parent| parent.trace_id == TRACE_ID));
    let mut parent_ids: Vec<&str> = parents.iter().map(|p| p.parent_id.as_str()).collect();
    parent_ids.sort_unstable();
    parent_ids.dedup();
    assert_eq!(parent_ids.len(), 3, "each callback needs its own parent id");

    for headers in [
        vec![],
        vec![(
            "traceparent",
            "00-00000000000000000000000000000000-1234567890123456-01",
        )],
    ] {
        let callbacks = harness.make_request(&headers, 3).await;
        let parents: Vec<Traceparent> = callbacks.iter().map(traceparent).collect();
        assert!(
            parents
                .iter()
                .all(|parent| parent.trace_id != "0".repeat(32))
        );
        let mut parent_ids: Vec<&str> = parents.iter().map(|p| p.parent_id.as_str()).collect();
        parent_ids.sort_unstable();
        parent_ids.dedup();
        assert_eq!(parent_ids.len(), 3);
    }
}
