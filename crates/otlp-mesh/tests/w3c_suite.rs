//! Reproduces the checks of the W3C Trace Context test suite (`test/test.py`, strict level 2)
//! against the `w3c_test_service` example, run in-process on a free port.
//!
//! Like the Python harness, each case sends raw HTTP/1.1 to the service (so header-name casing and
//! repeated headers reach it exactly as written), asks it to call back a harness server, and reads
//! the `traceparent`/`tracestate` the callback carried.

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
    async fn start() -> Self {
        let service_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let service = service_listener.local_addr().unwrap();
        tokio::spawn(w3c_test_service::serve(service_listener));

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
}

#[derive(Debug)]
struct Traceparent {
    trace_id: String,
    parent_id: String,
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
            && lower_hex(parts[0], 2)
            && lower_hex(parts[1], 32)
            && lower_hex(parts[2], 16)
            && lower_hex(parts[3], 2),
        "malformed outgoing traceparent {:?}",
        values[0]
    );
    assert_ne!(parts[1], "0".repeat(32));
    assert_ne!(parts[2], "0".repeat(16));
    Traceparent {
        trace_id: parts[1].to_owned(),
        parent_id: parts[2].to_owned(),
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

const TRACE_ID: &str = "12345678901234567890123456789012";
const TP_SAMPLED: &str = "00-12345678901234567890123456789012-1234567890123456-01";
const TP: &str = "00-12345678901234567890123456789012-1234567890123456-00";

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

#[tokio::test]
async fn traceparent_basics_and_header_names() {
    let harness = Harness::start().await;
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

#[tokio::test]
async fn traceparent_versions() {
    let harness = Harness::start().await;
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

#[tokio::test]
async fn traceparent_fields() {
    let harness = Harness::start().await;
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

#[tokio::test]
async fn traceparent_ows() {
    let harness = Harness::start().await;
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

#[tokio::test]
async fn tracestate_inheritance_names_and_empty() {
    let harness = Harness::start().await;
    let (_, alone_one) = harness.single(&[("tracestate", "foo=1")]).await;
    let (_, alone_two) = harness.single(&[("tracestate", "foo=1,bar=2")]).await;
    assert_eq!(alone_one.len(), alone_two.len());
    assert!(
        alone_one.is_empty(),
        "tracestate without traceparent must be discarded"
    );

    let state = assert_continued(
        &harness,
        &[("traceparent", TP), ("tracestate", "foo=1,bar=2")],
    )
    .await;
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

    assert_continued(&harness, &[("traceparent", TP), ("tracestate", "")]).await;
    for headers in [
        [
            ("traceparent", TP),
            ("tracestate", "foo=1"),
            ("tracestate", ""),
        ],
        [
            ("traceparent", TP),
            ("tracestate", ""),
            ("tracestate", "foo=1"),
        ],
    ] {
        let state = assert_continued(&harness, &headers).await;
        assert_eq!(get(&state, "foo"), Some("1"));
    }
}

#[tokio::test]
async fn tracestate_multiple_headers_and_duplicates() {
    let harness = Harness::start().await;
    let state = assert_continued(
        &harness,
        &[
            ("traceparent", TP),
            ("tracestate", "foo=1,bar=2"),
            ("tracestate", "rojo=1,congo=2"),
            ("tracestate", "baz=3"),
        ],
    )
    .await;
    let keys: Vec<&str> = state.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["foo", "bar", "rojo", "congo", "baz"]);

    for duplicated in [
        vec![("tracestate", "foo=1,foo=1")],
        vec![("tracestate", "foo=1,foo=2")],
        vec![("tracestate", "foo=1"), ("tracestate", "foo=1")],
        vec![("tracestate", "foo=1"), ("tracestate", "foo=2")],
    ] {
        let mut headers = vec![("traceparent", TP)];
        headers.extend(duplicated);
        let state = assert_continued(&harness, &headers).await;
        assert_eq!(get(&state, "foo"), None, "{headers:?}");
    }
}

#[tokio::test]
async fn tracestate_characters_and_ows() {
    let harness = Harness::start().await;
    let key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    let key_with_vendor = format!("{key}@a-z0-9_-*/");
    let value: String = (0x20u8..=0x7e)
        .filter(|&b| b != b',' && b != b'=')
        .map(char::from)
        .collect();
    for key in [key.to_owned(), key_with_vendor] {
        let member = format!("{key}={value}");
        let state =
            assert_continued(&harness, &[("traceparent", TP), ("tracestate", &member)]).await;
        assert_eq!(get(&state, &key), Some(value.as_str()));
    }

    for padded in [
        "foo=1 \t , \t bar=2, \t baz=3",
        "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
    ] {
        let state =
            assert_continued(&harness, &[("traceparent", TP), ("tracestate", padded)]).await;
        assert_eq!(get(&state, "foo"), Some("1"));
        assert_eq!(get(&state, "bar"), Some("2"));
        assert_eq!(get(&state, "baz"), Some("3"));
    }
    for padded in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
        let state =
            assert_continued(&harness, &[("traceparent", TP), ("tracestate", padded)]).await;
        assert_eq!(get(&state, "foo"), Some("1"));
    }
}

#[tokio::test]
async fn tracestate_invalid_keys_and_values() {
    let harness = Harness::start().await;
    for (member, key) in [
        ("foo =1", "foo "),
        ("FOO=1", "FOO"),
        ("foo.bar=1", "foo.bar"),
    ] {
        let (_, state) = harness
            .single(&[("traceparent", TP), ("tracestate", member)])
            .await;
        assert_eq!(get(&state, key), None);
    }
    for vendor in [
        "foo@=1,bar=2",
        "@foo=1,bar=2",
        "foo@@bar=1,bar=2",
        "foo@bar@baz=1,bar=2",
    ] {
        let (_, state) = harness
            .single(&[("traceparent", TP), ("tracestate", vendor)])
            .await;
        assert_eq!(get(&state, "bar"), None, "{vendor}");
    }
    for bad_value in ["foo=bar=baz,bar=2", "foo=,bar=2"] {
        let (_, state) = harness
            .single(&[("traceparent", TP), ("tracestate", bad_value)])
            .await;
        assert_eq!(get(&state, "bar"), None, "{bad_value}");
    }
}

#[tokio::test]
async fn tracestate_limits() {
    let harness = Harness::start().await;
    let members = |range: std::ops::RangeInclusive<u32>| {
        range
            .map(|n| format!("bar{n:02}={n:02}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let (first, second, third) = (members(1..=10), members(11..=20), members(21..=30));
    let last_ok = members(31..=32);
    let last_over = members(31..=33);
    let state = assert_continued(
        &harness,
        &[
            ("traceparent", TP),
            ("tracestate", &first),
            ("tracestate", &second),
            ("tracestate", &third),
            ("tracestate", &last_ok),
        ],
    )
    .await;
    assert_eq!(get(&state, "bar01"), Some("01"));
    assert_eq!(state.len(), 32);
    let state = assert_continued(
        &harness,
        &[
            ("traceparent", TP),
            ("tracestate", &first),
            ("tracestate", &second),
            ("tracestate", &third),
            ("tracestate", &last_over),
        ],
    )
    .await;
    assert_eq!(get(&state, "bar01"), None, "33 members must be discarded");

    let cases = [
        (format!("{}=1", "z".repeat(256)), true),
        (format!("{}=1", "z".repeat(257)), false),
        (format!("{}@{}=1", "t".repeat(241), "v".repeat(14)), true),
        (format!("{}@v=1", "t".repeat(242)), false),
        (format!("t@{}=1", "v".repeat(15)), false),
    ];
    for (long_key, kept) in cases {
        let (_, state) = harness
            .single(&[
                ("traceparent", TP),
                ("tracestate", "foo=1"),
                ("tracestate", &long_key),
            ])
            .await;
        assert_eq!(get(&state, "foo").is_some(), kept, "{}", &long_key[..20]);
    }
}

#[tokio::test]
async fn advanced_multiple_callbacks() {
    let harness = Harness::start().await;
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
        let mut parent_ids: Vec<&str> = parents.iter().map(|p| p.parent_id.as_str()).collect();
        parent_ids.sort_unstable();
        parent_ids.dedup();
        assert_eq!(parent_ids.len(), 3);
    }
}
