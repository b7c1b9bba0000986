use super::*;
use prost::Message as _;

fn snappy_proto(request: &proto::PushRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap()
}

fn entry(seconds: i64, nanos: i32, line: &str) -> proto::EntryAdapter {
    proto::EntryAdapter {
        timestamp: Some(proto::Timestamp { seconds, nanos }),
        line: line.to_owned(),
        structured_metadata: vec![proto::LabelPairAdapter {
            name: "trace_id".into(),
            value: "abc".into(),
        }],
    }
}

#[test]
fn protobuf_pushes_read_labels_times_and_metadata() {
    let request = proto::PushRequest {
        streams: vec![proto::StreamAdapter {
            labels: r#"{job="app", level="error"}"#.into(),
            entries: vec![entry(1_765_130_000, 123_456_789, "boom")],
            hash: 0,
        }],
    };
    assert_eq!(
        from_snappy_proto(&snappy_proto(&request), 1 << 20),
        Ok(vec![Stream {
            labels: vec![
                ("job".into(), "app".into()),
                ("level".into(), "error".into())
            ],
            entries: vec![Entry {
                time_unix_nano: 1_765_130_000_123_456_789,
                line: "boom".into(),
                metadata: vec![("trace_id".into(), "abc".into())],
            }],
        }])
    );
}

#[test]
fn json_pushes_with_and_without_metadata() {
    let body = br#"{"streams": [{"stream": {"job": "app"}, "values": [
        ["1765130000123456789", "one"], ["1765130001000000000", "two", {"user": "ada"}]]}]}"#;
    let streams = from_json(body).unwrap();
    assert_eq!(streams[0].labels, [("job".to_owned(), "app".to_owned())]);
    assert_eq!(
        streams[0].entries[0].time_unix_nano,
        1_765_130_000_123_456_789
    );
    assert_eq!(
        streams[0].entries[1].metadata,
        [("user".to_owned(), "ada".to_owned())]
    );
}

#[test]
fn what_cannot_be_read_is_named_with_its_place() {
    assert!(matches!(
        from_snappy_proto(b"not snappy", 1 << 20),
        Err(BadPush::Snappy(_))
    ));
    // Five bytes saying they decompress to a gigabyte: refused before anything is allocated for them.
    let claim = from_snappy_proto(&[0x80, 0x80, 0x80, 0x80, 0x04], 1 << 20);
    assert!(
        matches!(&claim, Err(BadPush::Snappy(problem)) if problem.contains("over the limit")),
        "{claim:?}"
    );
    let request = proto::PushRequest {
        streams: vec![
            proto::StreamAdapter {
                labels: "{}".into(),
                ..Default::default()
            },
            proto::StreamAdapter {
                labels: "{job=app}".into(),
                ..Default::default()
            },
        ],
    };
    assert_eq!(
        from_snappy_proto(&snappy_proto(&request), 1 << 20)
            .unwrap_err()
            .to_string(),
        "stream 1: labels `{job=app}`: expected `\"` at 5, found `a`"
    );
    let request = proto::PushRequest {
        streams: vec![proto::StreamAdapter {
            labels: "{}".into(),
            entries: vec![entry(-5, 0, "before 1970")],
            hash: 0,
        }],
    };
    assert_eq!(
        from_snappy_proto(&snappy_proto(&request), 1 << 20)
            .unwrap_err()
            .to_string(),
        "stream 0, entry 0: timestamp -5s 0ns is not a time after 1970 that fits in 64 bits"
    );
    assert_eq!(
        from_json(br#"{"streams": [{"stream": {}, "values": [["yesterday", "x"]]}]}"#)
            .unwrap_err()
            .to_string(),
        "stream 0, entry 0: time `yesterday` is not nanoseconds since 1970"
    );
    assert!(matches!(
        from_json(br#"{"streams": [{"labels": "{a=\"b\"}", "entries": []}]}"#),
        Err(BadPush::Json(_))
    ));
}
