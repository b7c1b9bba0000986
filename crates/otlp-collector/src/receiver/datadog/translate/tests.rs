use super::*;
use opentelemetry_proto::tonic::common::v1::any_value::Value;

fn meta(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn text(attributes: &[KeyValue], key: &str) -> String {
    match find(attributes, key) {
        Some(Value::StringValue(s)) => s.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

fn python_tracer() -> Tracer {
    Tracer {
        language: Some("python".into()),
        language_version: Some("3.11.7".into()),
        version: Some("4.16.0".into()),
        container_id: None,
    }
}

/// A request of ddtrace's: a server root span with the unified service tags, a database child of another
/// service, a failed child with an event and a link.
fn trace() -> Vec<DdSpan> {
    let root = DdSpan {
        service: "shop".into(),
        name: "web.request".into(),
        resource: "GET /cart".into(),
        kind: "web".into(),
        trace_id: 5_920_371_012_061_510_638,
        span_id: 15_116_543_958_852_972_665,
        start: 1_796_676_041_860_652_231,
        duration: 1_133_742,
        meta: meta(&[
            ("_dd.p.tid", "6b1719c900000000"),
            ("env", "prod"),
            ("version", "1.2.3"),
            ("http.method", "GET"),
            ("span.kind", "server"),
        ]),
        metrics: vec![
            ("_sampling_priority_v1".into(), 1.0),
            ("process_id".into(), 12732.0),
            ("items".into(), 3.0),
        ],
        ..DdSpan::default()
    };
    let query = DdSpan {
        service: "shop-db".into(),
        name: "db.query".into(),
        resource: "SELECT 1".into(),
        trace_id: root.trace_id,
        span_id: 3_060_467_476_277_035_270,
        parent_id: root.span_id,
        start: 1_796_676_041_860_985_636,
        duration: 38_186,
        meta: meta(&[("db.system", "postgresql"), ("env", "prod")]),
        ..DdSpan::default()
    };
    let failed = DdSpan {
        service: "shop".into(),
        name: "fail".into(),
        resource: "boom".into(),
        trace_id: root.trace_id,
        span_id: 16_101_204_468_318_535_788,
        parent_id: root.span_id,
        start: 1_796_676_041_861_073_800,
        duration: 625_778,
        error: true,
        meta: meta(&[
            ("env", "prod"),
            ("version", "1.2.3"),
            ("error.message", "no"),
            ("error.type", "builtins.ValueError"),
            (
                "events",
                r#"[{"name": "cache miss", "time_unix_nano": 1796676041861000000, "attributes": {"key": "cart:1", "n": 2, "ok": true, "r": [1, 2.5]}}]"#,
            ),
            (
                "_dd.span_links",
                r#"[{"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331", "attributes": {"link.kind": "follows"}, "tracestate": "rojo=00f067aa0ba902b7", "flags": 1}]"#,
            ),
        ]),
        metrics: vec![("process_id".into(), 12732.0)],
        ..DdSpan::default()
    };
    vec![root, query, failed]
}

#[test]
fn spans_become_otlp_as_otelcol_makes_them_with_resource_tags_on_the_resource() {
    let request = to_otlp(vec![trace()], &python_tracer(), &TraceIdHighs::new(100));
    assert_eq!(request.resource_spans.len(), 2);
    let shop = &request.resource_spans[0];
    let resource = &shop.resource.as_ref().unwrap().attributes;
    assert_eq!(
        resource
            .iter()
            .map(|kv| kv.key.as_str())
            .collect::<Vec<_>>(),
        [
            "deployment.environment",
            "process.pid",
            "process.runtime.version",
            "service.name",
            "service.version",
            "telemetry.sdk.language",
            "telemetry.sdk.name",
            "telemetry.sdk.version",
        ]
    );
    assert_eq!(text(resource, "service.name"), "shop");
    assert_eq!(text(resource, "deployment.environment"), "prod");
    assert_eq!(text(resource, "telemetry.sdk.version"), "Datadog-4.16.0");
    assert_eq!(find(resource, "process.pid"), Some(&Value::IntValue(12732)));
    let scope = &shop.scope_spans[0];
    assert_eq!(scope.scope.as_ref().unwrap().name, "Datadog");
    assert_eq!(scope.scope.as_ref().unwrap().version, "4.16.0");
    assert_eq!(scope.spans.len(), 2);

    let root = &scope.spans[0];
    let trace_id = [
        0x6b17_19c9_0000_0000_u64.to_be_bytes(),
        5_920_371_012_061_510_638_u64.to_be_bytes(),
    ]
    .concat();
    assert_eq!(root.trace_id, trace_id);
    assert_eq!(root.span_id, 15_116_543_958_852_972_665_u64.to_be_bytes());
    assert!(root.parent_span_id.is_empty());
    assert_eq!(root.name, "web.request");
    assert_eq!(root.kind, SpanKind::Server as i32);
    assert_eq!(root.start_time_unix_nano, 1_796_676_041_860_652_231);
    assert_eq!(root.end_time_unix_nano, 1_796_676_041_861_785_973);
    assert_eq!(root.status, None);
    assert_eq!(text(&root.attributes, "dd.span.Resource"), "GET /cart");
    assert_eq!(text(&root.attributes, "sampling.priority"), "1.000000");
    assert_eq!(
        text(&root.attributes, "datadog.span.id"),
        "15116543958852972665"
    );
    assert_eq!(
        text(&root.attributes, "datadog.trace.id"),
        "5920371012061510638"
    );
    assert_eq!(text(&root.attributes, "http.method"), "GET");
    assert_eq!(
        find(&root.attributes, "items"),
        Some(&Value::DoubleValue(3.0))
    );
    for moved in ["env", "version", "process_id", "deployment.environment"] {
        assert_eq!(find(&root.attributes, moved), None, "{moved}");
    }

    let failed = &scope.spans[1];
    assert_eq!(
        failed.trace_id, trace_id,
        "the trace's upper half, from its root"
    );
    assert_eq!(failed.parent_span_id, root.span_id);
    assert_eq!(failed.kind, SpanKind::Unspecified as i32);
    let status = failed.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "no")
    );
    assert_eq!(text(&failed.attributes, "exception.message"), "no");
    assert_eq!(
        text(&failed.attributes, "exception.type"),
        "builtins.ValueError"
    );
    assert_eq!(find(&failed.attributes, "events"), None);
    assert_eq!(find(&failed.attributes, "_dd.span_links"), None);
    let event = &failed.events[0];
    assert_eq!(
        (event.name.as_str(), event.time_unix_nano),
        ("cache miss", 1_796_676_041_861_000_000)
    );
    assert_eq!(find(&event.attributes, "n"), Some(&Value::IntValue(2)));
    assert_eq!(find(&event.attributes, "ok"), Some(&Value::BoolValue(true)));
    let Some(Value::ArrayValue(list)) = find(&event.attributes, "r") else {
        panic!()
    };
    assert_eq!(list.values[1].value, Some(Value::DoubleValue(2.5)));
    let link = &failed.links[0];
    assert_eq!(
        link.trace_id,
        0x0af7651916cd43dd8448eb211c80319c_u128.to_be_bytes()
    );
    assert_eq!(link.span_id, 0xb7ad6b7169203331_u64.to_be_bytes());
    assert_eq!(
        (link.trace_state.as_str(), link.flags),
        ("rojo=00f067aa0ba902b7", 1)
    );
    assert_eq!(text(&link.attributes, "link.kind"), "follows");

    let database = &request.resource_spans[1];
    let resource = &database.resource.as_ref().unwrap().attributes;
    assert_eq!(text(resource, "service.name"), "shop-db");
    assert_eq!(find(resource, "service.version"), None);
    assert_eq!(database.scope_spans[0].spans[0].trace_id, trace_id);
}

#[test]
fn a_trace_flushed_in_parts_keeps_its_upper_half_while_remembered() {
    let highs = TraceIdHighs::new(1);
    let mut first = trace();
    let later = first.split_off(1);
    let other = DdSpan {
        trace_id: 77,
        span_id: 1,
        meta: meta(&[("_dd.p.tid", "00000000000000ff")]),
        ..DdSpan::default()
    };
    let tracer = python_tracer();
    let id_of = |request: ExportTraceServiceRequest| {
        request.resource_spans[0].scope_spans[0].spans[0]
            .trace_id
            .clone()
    };
    let root_id = id_of(to_otlp(vec![first], &tracer, &highs));
    assert_eq!(
        id_of(to_otlp(vec![later.clone()], &tracer, &highs)),
        root_id
    );
    // Remembering one trace, another's root pushes it out: its later spans have only the lower half.
    to_otlp(vec![vec![other]], &tracer, &highs);
    let forgotten = id_of(to_otlp(vec![later], &tracer, &highs));
    assert_eq!(forgotten[..8], [0; 8]);
    assert_eq!(forgotten[8..], root_id[8..]);
}

#[test]
fn tags_that_are_not_links_or_events_stay_as_they_came() {
    let span = DdSpan {
        trace_id: 1,
        span_id: 2,
        kind: "http".into(),
        meta: meta(&[("events", "not json"), ("_dd.span_links", "[{}]")]),
        ..DdSpan::default()
    };
    let request = to_otlp(vec![vec![span]], &Tracer::default(), &TraceIdHighs::new(0));
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.kind, SpanKind::Client as i32);
    assert_eq!(text(&span.attributes, "events"), "not json");
    assert_eq!(text(&span.attributes, "_dd.span_links"), "[{}]");
    assert!(span.events.is_empty() && span.links.is_empty());
}
