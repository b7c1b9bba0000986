use super::*;
use prost::Message as _;

/// The example span of Zipkin's API documentation (zipkin2-api.yaml), as a tracer sends it.
const ZIPKIN_EXAMPLE: &str = r#"[{
  "id": "352bff9a74ca9ad2",
  "traceId": "5af7183fb1d4cf5f",
  "parentId": "6b221d5bc9e6496c",
  "name": "get /api",
  "timestamp": 1556604172355737,
  "duration": 1431,
  "kind": "SERVER",
  "localEndpoint": { "serviceName": "backend", "ipv4": "192.168.99.1", "port": 3306 },
  "remoteEndpoint": { "ipv4": "172.19.0.2", "port": 58648 },
  "tags": { "http.method": "GET", "http.path": "/api" }
}]"#;

#[test]
fn zipkin_s_documented_example_is_read() {
    let spans = from_json(ZIPKIN_EXAMPLE.as_bytes()).unwrap();
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(
        span.trace_id,
        [
            0, 0, 0, 0, 0, 0, 0, 0, 0x5a, 0xf7, 0x18, 0x3f, 0xb1, 0xd4, 0xcf, 0x5f
        ]
    );
    assert_eq!(span.id, [0x35, 0x2b, 0xff, 0x9a, 0x74, 0xca, 0x9a, 0xd2]);
    assert_eq!(
        span.parent_id,
        Some([0x6b, 0x22, 0x1d, 0x5b, 0xc9, 0xe6, 0x49, 0x6c])
    );
    assert_eq!(span.kind, Kind::Server);
    assert_eq!(span.timestamp, Some(1_556_604_172_355_737));
    assert_eq!(span.duration, 1431);
    let local = span.local_endpoint.as_ref().unwrap();
    assert_eq!(local.service_name, "backend");
    assert_eq!(local.ipv4, Some(Ipv4Addr::new(192, 168, 99, 1)));
    assert_eq!(local.port, 3306);
    assert_eq!(span.tags["http.method"], "GET");
}

#[test]
fn short_ids_are_left_padded_and_bad_ones_are_named() {
    let spans = from_json(br#"[{"traceId": "1", "id": "a2"}]"#).unwrap();
    assert_eq!(spans[0].trace_id[15], 1);
    assert_eq!(spans[0].id, [0, 0, 0, 0, 0, 0, 0, 0xa2]);
    let wide = from_json(
        br#"[{"traceId": "463ac35c9f6413ad48485a3953bb6124", "id": "a2fb4a1d1a96d312"}]"#,
    )
    .unwrap();
    assert_eq!(wide[0].trace_id[0], 0x46);

    let error = |body: &str| from_json(body.as_bytes()).unwrap_err().to_string();
    assert_eq!(
        error(r#"[{"traceId": "1", "id": "2"}, {"traceId": "xyz", "id": "2"}]"#),
        "span 1: `traceId` `xyz` is not hexadecimal"
    );
    assert_eq!(error(r#"[{"id": "2"}]"#), "span 0: `traceId` is missing");
    assert_eq!(
        error(r#"[{"traceId": "0", "id": "2"}]"#),
        "span 0: `traceId` is all zeros"
    );
    assert_eq!(
        error(r#"[{"traceId": "1", "id": "2", "kind": "INTERNAL"}]"#),
        "span 0: `kind` `INTERNAL` is none of CLIENT, SERVER, PRODUCER, CONSUMER"
    );
    assert!(error(r#"{"traceId": "1"}"#).starts_with("body is not a JSON list of Zipkin v2 spans"));
}

#[test]
fn tags_that_are_not_strings_are_kept_as_their_text() {
    let spans =
        from_json(br#"[{"traceId": "1", "id": "2", "tags": {"retries": 3, "cached": false}}]"#)
            .unwrap();
    assert_eq!(spans[0].tags["retries"], "3");
    assert_eq!(spans[0].tags["cached"], "false");
}

#[test]
fn protobuf_spans_are_read_as_json_ones_are() {
    let list = proto::ListOfSpans {
        spans: vec![proto::Span {
            trace_id: vec![7; 16],
            id: vec![8; 8],
            kind: 1,
            name: "get".to_owned(),
            timestamp: 1_000_000,
            duration: 25,
            local_endpoint: Some(proto::Endpoint {
                service_name: "frontend".to_owned(),
                ipv6: vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                port: 8080,
                ..Default::default()
            }),
            annotations: vec![proto::Annotation {
                timestamp: 1_000_010,
                value: "ws".to_owned(),
            }],
            tags: BTreeMap::from([("http.method".to_owned(), "GET".to_owned())]),
            ..Default::default()
        }],
    };
    let spans = from_proto(&list.encode_to_vec()).unwrap();
    let span = &spans[0];
    assert_eq!(span.trace_id, [7; 16]);
    assert_eq!(span.kind, Kind::Client);
    let local = span.local_endpoint.as_ref().unwrap();
    assert_eq!(local.ipv6, Some(Ipv6Addr::LOCALHOST));
    assert_eq!(local.port, 8080);
    assert_eq!(span.annotations, vec![(1_000_010, "ws".to_owned())]);
    assert!(from_proto(b"\x0a\x03abc").is_err());
    let short = proto::ListOfSpans {
        spans: vec![proto::Span {
            trace_id: vec![7; 12],
            id: vec![8; 8],
            ..Default::default()
        }],
    };
    assert_eq!(
        from_proto(&short.encode_to_vec()).unwrap_err().to_string(),
        "span 0: `traceId` has 12 bytes; Zipkin's are 8 or 16"
    );
}
