use super::*;

/// MessagePack bytes of `value`, as a tracer's encoder writes them (the smallest form of each).
fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Nil => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Int(i) if (0..128).contains(i) => out.push(*i as u8),
        Value::Int(i) if *i < 0 => {
            out.push(0xd3);
            out.extend(i.to_be_bytes());
        }
        Value::Int(i) => {
            out.push(0xcf);
            out.extend((*i as u64).to_be_bytes());
        }
        Value::UInt(u) => {
            out.push(0xcf);
            out.extend(u.to_be_bytes());
        }
        Value::Float(f) => {
            out.push(0xcb);
            out.extend(f.to_bits().to_be_bytes());
        }
        Value::Str(s) => {
            out.push(0xd9);
            out.push(s.len() as u8);
            out.extend(s.as_bytes());
        }
        Value::Bin(b) => {
            out.push(0xc4);
            out.push(b.len() as u8);
            out.extend(b);
        }
        Value::Array(items) => {
            out.push(0xdc);
            out.extend((items.len() as u16).to_be_bytes());
            items.iter().for_each(|item| encode(item, out));
        }
        Value::Map(entries) => {
            out.push(0xde);
            out.extend((entries.len() as u16).to_be_bytes());
            for (k, v) in entries {
                encode(k, out);
                encode(v, out);
            }
        }
        Value::Ext(..) => unreachable!("tracers do not send extension values"),
    }
}

fn bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(value, &mut out);
    out
}

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (s(k), v)).collect())
}

fn v04_span() -> Value {
    map(vec![
        ("service", s("shop")),
        ("name", s("web.request")),
        ("resource", s("GET /cart")),
        ("trace_id", Value::UInt(12_985_366_849_401_460_197)),
        ("span_id", Value::Int(42)),
        ("parent_id", Value::Int(0)),
        ("start", Value::Int(1_796_676_045_788_638_107)),
        ("duration", Value::Int(432_884)),
        ("error", Value::Int(1)),
        (
            "meta",
            map(vec![("http.method", s("GET")), ("absent", Value::Nil)]),
        ),
        (
            "metrics",
            map(vec![("items", Value::Float(3.0)), ("count", Value::Int(2))]),
        ),
        ("type", s("web")),
        ("meta_struct", map(vec![])),
        (
            "span_links",
            Value::Array(vec![map(vec![
                ("trace_id", Value::Int(7)),
                ("trace_id_high", Value::Int(1)),
                ("span_id", Value::Int(9)),
                ("attributes", map(vec![("link.kind", s("follows"))])),
                ("tracestate", s("rojo=1")),
                ("flags", Value::UInt(0x8000_0001)),
            ])]),
        ),
    ])
}

fn expected_span() -> DdSpan {
    DdSpan {
        service: "shop".into(),
        name: "web.request".into(),
        resource: "GET /cart".into(),
        kind: "web".into(),
        trace_id: 12_985_366_849_401_460_197,
        span_id: 42,
        parent_id: 0,
        start: 1_796_676_045_788_638_107,
        duration: 432_884,
        error: true,
        meta: vec![("http.method".into(), "GET".into())],
        metrics: vec![("items".into(), 3.0), ("count".into(), 2.0)],
        links: vec![DdLink {
            trace_id_high: 1,
            trace_id: 7,
            span_id: 9,
            attributes: vec![("link.kind".into(), "follows".into())],
            tracestate: "rojo=1".into(),
            flags: 0x8000_0001,
        }],
    }
}

#[test]
fn v04_msgpack_spans_are_read_field_by_field() {
    let body = bytes(&Value::Array(vec![Value::Array(vec![v04_span()])]));
    assert_eq!(v04(&body, false), Ok(vec![vec![expected_span()]]));
}

#[test]
fn v04_json_reads_as_msgpack_does_with_ids_above_2_to_the_53() {
    let body = serde_json::json!([[{
        "service": "shop", "name": "web.request", "resource": "GET /cart",
        "trace_id": 12_985_366_849_401_460_197_u64, "span_id": 42, "parent_id": 0,
        "start": 1_796_676_045_788_638_107_i64, "duration": 432_884, "error": 1,
        "meta": {"http.method": "GET", "absent": null}, "metrics": {"items": 3.0, "count": 2},
        "type": "web",
        "span_links": [{"trace_id": 7, "trace_id_high": 1, "span_id": 9,
                        "attributes": {"link.kind": "follows"}, "tracestate": "rojo=1",
                        "flags": 0x8000_0001_u32}]
    }]]);
    let body = serde_json::to_vec(&body).unwrap();
    // JSON objects come in key order.
    let mut expected = expected_span();
    expected.metrics.reverse();
    assert_eq!(v04(&body, true), Ok(vec![vec![expected]]));
}

#[test]
fn v05_spans_take_their_strings_from_the_table() {
    let strings = [
        "",
        "shop",
        "web.request",
        "GET /cart",
        "http.method",
        "GET",
        "items",
        "web",
    ];
    let span = Value::Array(vec![
        Value::Int(1),
        Value::Int(2),
        Value::Int(3),
        Value::UInt(12_985_366_849_401_460_197),
        Value::Int(42),
        Value::Int(0),
        Value::Int(1_796_676_045_788_638_107),
        Value::Int(432_884),
        Value::Int(1),
        Value::Map(vec![(Value::Int(4), Value::Int(5))]),
        Value::Map(vec![(Value::Int(6), Value::Float(3.0))]),
        Value::Int(7),
    ]);
    let body = bytes(&Value::Array(vec![
        Value::Array(strings.iter().map(|t| s(t)).collect()),
        Value::Array(vec![Value::Array(vec![span.clone()])]),
    ]));
    let mut expected = expected_span();
    expected.metrics.truncate(1);
    expected.links.clear();
    assert_eq!(v05(&body), Ok(vec![vec![expected]]));

    // An index past the table names the span and the field.
    let Value::Array(mut fields) = span else {
        unreachable!()
    };
    fields[2] = Value::Int(99);
    let body = bytes(&Value::Array(vec![
        Value::Array(strings.iter().map(|t| s(t)).collect()),
        Value::Array(vec![Value::Array(vec![Value::Nil]), Value::Array(vec![])]),
    ]));
    assert_eq!(
        v05(&body).unwrap_err().to_string(),
        "trace 0, span 0: `` the span is nil, not a list"
    );
    let body = bytes(&Value::Array(vec![
        Value::Array(strings.iter().map(|t| s(t)).collect()),
        Value::Array(vec![
            Value::Array(vec![]),
            Value::Array(vec![Value::Array(fields)]),
        ]),
    ]));
    assert_eq!(
        v05(&body).unwrap_err().to_string(),
        "trace 1, span 0: `resource` is beyond the 8 strings"
    );
}

#[test]
fn wrong_fields_are_named_with_their_place() {
    let Value::Map(mut fields) = v04_span() else {
        unreachable!()
    };
    fields[3].1 = s("12985366849401460197");
    let body = bytes(&Value::Array(vec![Value::Array(vec![
        v04_span(),
        Value::Map(fields),
    ])]));
    assert_eq!(
        v04(&body, false).unwrap_err().to_string(),
        "trace 0, span 1: `trace_id` is a string, not an integer"
    );
    let body = serde_json::to_vec(&serde_json::json!([[{"meta": {"k": 1}}]])).unwrap();
    assert_eq!(
        v04(&body, true).unwrap_err().to_string(),
        "trace 0, span 0: `meta.k` is an integer, not a string"
    );
    assert_eq!(
        v04(b"{}", true).unwrap_err().to_string(),
        "the payload is a map, not a list of traces"
    );
}

#[test]
fn truncated_or_padded_bodies_are_refused() {
    let body = bytes(&Value::Array(vec![Value::Array(vec![v04_span()])]));
    assert_eq!(
        v04(&body[..body.len() - 3], false),
        Err(BadTraces::MessagePack("it ends inside a value".into()))
    );
    let mut padded = body.clone();
    padded.push(0xc0);
    assert_eq!(
        v04(&padded, false),
        Err(BadTraces::MessagePack("1 bytes follow the payload".into()))
    );
    assert!(matches!(v04(b"[[{", true), Err(BadTraces::Json(_))));
    assert!(matches!(
        v05(&bytes(&Value::Array(vec![]))),
        Err(BadTraces::Layout(_))
    ));
}
