use super::*;
use crate::zipkin::from_json;

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn text(value: &str) -> Value {
    Value::StringValue(value.to_owned())
}

/// What an OpenTelemetry SDK's Zipkin exporter writes for a span with a resource, a scope, an error and an event.
const FROM_AN_OTEL_EXPORTER: &str = r#"[{
  "traceId": "463ac35c9f6413ad48485a3953bb6124",
  "id": "a2fb4a1d1a96d312",
  "parentId": "0020000000000001",
  "name": "charge",
  "timestamp": 1700000000000001,
  "duration": 2500,
  "localEndpoint": { "serviceName": "payments", "ipv4": "10.0.0.7" },
  "remoteEndpoint": { "serviceName": "bank", "ipv6": "::1", "port": 443 },
  "annotations": [
    { "timestamp": 1700000000000500, "value": "{\"exception\": {\"exception.type\": \"Timeout\", \"attempt\": 2}}" },
    { "timestamp": 1700000000000600, "value": "retrying" }
  ],
  "tags": {
    "service.name": "payments", "telemetry.sdk.language": "python", "host.name": "node-7",
    "otel.library.name": "payments.lib", "otel.library.version": "1.0",
    "otel.scope.name": "payments.lib", "otel.scope.version": "1.0",
    "otel.status_code": "ERROR", "error": "card declined",
    "w3c.tracestate": "vendor=1", "span.kind": "internal",
    "otel.dropped_attributes_count": "3",
    "amount": "12.5", "attempts": "2", "approved": "false", "card": "visa"
  }
}]"#;

#[test]
fn an_opentelemetry_exporter_s_span_comes_back_as_it_was() {
    let request = to_otlp(from_json(FROM_AN_OTEL_EXPORTER.as_bytes()).unwrap(), false);
    assert_eq!(request.resource_spans.len(), 1);
    let resource = &request.resource_spans[0];
    let resource_attributes = &resource.resource.as_ref().unwrap().attributes;
    assert_eq!(
        attribute(resource_attributes, "service.name"),
        Some(&text("payments"))
    );
    assert_eq!(
        attribute(resource_attributes, "telemetry.sdk.language"),
        Some(&text("python"))
    );
    assert_eq!(
        attribute(resource_attributes, "host.name"),
        Some(&text("node-7"))
    );
    assert_eq!(resource_attributes.len(), 3);
    let scope = &resource.scope_spans[0];
    assert_eq!(scope.scope.as_ref().unwrap().name, "payments.lib");
    assert_eq!(scope.scope.as_ref().unwrap().version, "1.0");
    let span = &scope.spans[0];
    assert_eq!(span.trace_id[..2], [0x46, 0x3a]);
    assert_eq!(span.parent_span_id, vec![0, 0x20, 0, 0, 0, 0, 0, 1]);
    assert_eq!(span.start_time_unix_nano, 1_700_000_000_000_001_000);
    assert_eq!(span.end_time_unix_nano, 1_700_000_000_002_501_000);
    let status = span.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "card declined");
    assert_eq!(span.trace_state, "vendor=1");
    assert_eq!(span.kind, SpanKind::Internal as i32);
    assert_eq!(span.dropped_attributes_count, 3);
    let attributes = &span.attributes;
    assert_eq!(attribute(attributes, "amount"), Some(&text("12.5")));
    assert_eq!(
        attribute(attributes, "net.host.ip"),
        Some(&text("10.0.0.7"))
    );
    assert_eq!(attribute(attributes, "peer.service"), Some(&text("bank")));
    assert_eq!(attribute(attributes, "net.peer.ip"), Some(&text("::1")));
    assert_eq!(
        attribute(attributes, "net.peer.port"),
        Some(&Value::IntValue(443))
    );
    for gone in [
        "error",
        "otel.status_code",
        "otel.library.name",
        "w3c.tracestate",
        "span.kind",
        "host.name",
    ] {
        assert_eq!(attribute(attributes, gone), None, "{gone}");
    }
    assert_eq!(span.events.len(), 2);
    assert_eq!(span.events[0].name, "exception");
    assert_eq!(span.events[0].time_unix_nano, 1_700_000_000_000_500_000);
    assert_eq!(
        attribute(&span.events[0].attributes, "exception.type"),
        Some(&text("Timeout"))
    );
    assert_eq!(
        attribute(&span.events[0].attributes, "attempt"),
        Some(&Value::IntValue(2))
    );
    assert_eq!(span.events[1].name, "retrying");
    assert!(span.events[1].attributes.is_empty());
}

#[test]
fn parse_string_tags_types_what_reads_as_a_number_or_boolean() {
    let request = to_otlp(from_json(FROM_AN_OTEL_EXPORTER.as_bytes()).unwrap(), true);
    let attributes = &request.resource_spans[0].scope_spans[0].spans[0].attributes;
    assert_eq!(
        attribute(attributes, "amount"),
        Some(&Value::DoubleValue(12.5))
    );
    assert_eq!(attribute(attributes, "attempts"), Some(&Value::IntValue(2)));
    assert_eq!(
        attribute(attributes, "approved"),
        Some(&Value::BoolValue(false))
    );
    assert_eq!(attribute(attributes, "card"), Some(&text("visa")));
}

#[test]
fn spans_are_grouped_by_service_and_scope_in_the_order_they_came() {
    let body = r#"[
      {"traceId": "1", "id": "1", "localEndpoint": {"serviceName": "a"}, "timestamp": 5},
      {"traceId": "1", "id": "2", "localEndpoint": {"serviceName": "b"}, "timestamp": 5},
      {"traceId": "1", "id": "3", "localEndpoint": {"serviceName": "a"}, "timestamp": 5,
       "tags": {"otel.scope.name": "x"}},
      {"traceId": "1", "id": "4", "localEndpoint": {"serviceName": "a"}, "timestamp": 5}
    ]"#;
    let request = to_otlp(from_json(body.as_bytes()).unwrap(), false);
    let shape: Vec<(String, Vec<(String, usize)>)> = request
        .resource_spans
        .iter()
        .map(|rs| {
            let service = match attribute(&rs.resource.as_ref().unwrap().attributes, "service.name")
            {
                Some(Value::StringValue(name)) => name.clone(),
                _ => String::new(),
            };
            let scopes = rs
                .scope_spans
                .iter()
                .map(|ss| (ss.scope.as_ref().unwrap().name.clone(), ss.spans.len()))
                .collect();
            (service, scopes)
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                "a".to_owned(),
                vec![(String::new(), 2), ("x".to_owned(), 1)]
            ),
            ("b".to_owned(), vec![(String::new(), 1)]),
        ]
    );
}

#[test]
fn brave_s_error_tag_and_a_missing_start_are_kept() {
    let body = r#"[{"traceId": "1", "id": "1", "parentId": "1", "duration": 7, "tags": {"error": "true"}},
                   {"traceId": "1", "id": "2", "kind": "CLIENT", "timestamp": 9, "tags": {"error": "boom"}}]"#;
    let request = to_otlp(from_json(body.as_bytes()).unwrap(), false);
    let spans = &request.resource_spans[0].scope_spans[0].spans;
    let first = &spans[0];
    assert_eq!(
        first.status.as_ref().unwrap().code,
        StatusCode::Error as i32
    );
    assert_eq!(first.status.as_ref().unwrap().message, "");
    assert!(
        first.parent_span_id.is_empty(),
        "a span is not its own parent"
    );
    assert_eq!(
        (first.start_time_unix_nano, first.end_time_unix_nano),
        (0, 7000)
    );
    assert_eq!(
        attribute(&first.attributes, START_TIME_ABSENT),
        Some(&Value::BoolValue(true))
    );
    assert_eq!(first.kind, SpanKind::Unspecified as i32);
    let second = &spans[1];
    assert_eq!(second.status.as_ref().unwrap().message, "boom");
    assert_eq!(second.kind, SpanKind::Client as i32);
}

/// What otelcol's `zipkin` exporter writes: events as `name|{attributes}|dropped`, links as `otlp.link.<n>` tags,
/// the status code in pdata's spelling; and a link tag that does not read as one, which stays a tag.
const FROM_OTELCOL: &str = r#"[{
  "traceId": "463ac35c9f6413ad48485a3953bb6124",
  "id": "a2fb4a1d1a96d312",
  "name": "charge",
  "timestamp": 1700000000000001,
  "duration": 2500,
  "localEndpoint": { "serviceName": "payments" },
  "annotations": [
    { "timestamp": 1700000000000500, "value": "retry|{\"attempt\":2,\"why\":\"a|b\"}|1" },
    { "timestamp": 1700000000000600, "value": "a|b" }
  ],
  "tags": {
    "otel.status_code": "Error",
    "otlp.link.1": "07070707070707070707070707070707|0808080808080808||{}|0",
    "otlp.link.0": "09090909090909090909090909090909|0a0a0a0a0a0a0a0a|a=b|{\"reason\":\"retry-of\"}|2",
    "otlp.link.x": "not a link"
  }
}]"#;

#[test]
fn otelcol_s_events_links_and_status_spelling_come_back() {
    let request = to_otlp(from_json(FROM_OTELCOL.as_bytes()).unwrap(), false);
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.status.as_ref().unwrap().code, StatusCode::Error as i32);
    assert_eq!(span.events.len(), 2);
    assert_eq!(span.events[0].name, "retry");
    assert_eq!(span.events[0].dropped_attributes_count, 1);
    assert_eq!(
        attribute(&span.events[0].attributes, "attempt"),
        Some(&Value::IntValue(2))
    );
    assert_eq!(
        attribute(&span.events[0].attributes, "why"),
        Some(&text("a|b"))
    );
    assert_eq!(
        span.events[1].name, "a|b",
        "a plain name with a bar stays a name"
    );
    assert_eq!(span.links.len(), 2);
    assert_eq!(
        span.links[0].trace_id,
        vec![9; 16],
        "in the order of their numbers"
    );
    assert_eq!(span.links[0].span_id, vec![10; 8]);
    assert_eq!(span.links[0].trace_state, "a=b");
    assert_eq!(span.links[0].dropped_attributes_count, 2);
    assert_eq!(
        attribute(&span.links[0].attributes, "reason"),
        Some(&text("retry-of"))
    );
    assert_eq!(span.links[1].trace_id, vec![7; 16]);
    assert_eq!(
        attribute(&span.attributes, "otlp.link.x"),
        Some(&text("not a link"))
    );
    assert!(attribute(&span.attributes, "otlp.link.0").is_none());
}
