use super::*;
use crate::receiver::awsxray::segment::from_datagram;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;

/// The segment the Python SDK sent for a request with a failed remote call and a query.
const DATAGRAM: &str = r#"{"format":"json","version":1}
{"id": "743b7825f256dec5", "name": "checkout", "start_time": 1796677468.301027, "in_progress": false,
 "http": {"request": {"method": "GET", "url": "http://shop/cart", "client_ip": "10.0.0.7"}, "response": {"status": 500, "content_length": "42"}},
 "annotations": {"customer": "ada", "items": 3, "ratio": 0.5, "vip": true, "list": [1]},
 "metadata": {"app": {"debug": {"cart": [1, 2]}}},
 "aws": {"xray": {"sdk": "X-Ray for Python", "sdk_version": "2.15.0"}, "ec2": {"instance_id": "i-0abc", "availability_zone": "eu-west-1a"}},
 "subsegments": [
   {"id": "8e04a48b83d07f44", "name": "query", "start_time": 1796677468.3011053, "parent_id": "743b7825f256dec5",
    "namespace": "remote", "fault": true, "end_time": 1796677468.3013039,
    "cause": {"working_directory": "/tmp", "exceptions": [{"id": "068bea7256fba64f", "message": "no rows", "type": "ValueError",
      "remote": false, "stack": [{"path": "app.py", "line": 14, "label": "<module>"}]}]},
    "subsegments": [{"id": "0000000000000abc", "name": "carts", "start_time": 1796677468.302, "end_time": 1796677468.303,
      "namespace": "aws", "aws": {"operation": "GetItem", "region": "eu-west-1", "table_name": "carts", "retries": 1}}]},
   {"id": "1111111111111111", "name": "orders-db", "start_time": 1796677468.3, "end_time": 1796677468.31,
    "namespace": "remote", "sql": {"url": "postgresql://db:5432/orders?ssl=true", "database_type": "PostgreSQL",
      "sanitized_query": "SELECT * FROM orders WHERE id = ?", "user": "app"}}],
 "trace_id": "1-6b171f5c-d671acd87465ebb2dea1ffee", "service": {"runtime": "CPython", "runtime_version": "3.11.7"},
 "fault": true, "end_time": 1796677468.30132}"#;

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Any> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn text(attributes: &[KeyValue], key: &str) -> String {
    match find(attributes, key) {
        Some(Any::StringValue(s)) => s.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

#[test]
fn a_segment_and_its_nested_subsegments_become_a_resource_and_parented_spans() {
    let segment = from_datagram(DATAGRAM.as_bytes()).unwrap();
    assert_eq!(segment.count(), 4);
    let request = to_otlp(segment).unwrap();
    let resource_spans = &request.resource_spans[0];
    let resource = &resource_spans.resource.as_ref().unwrap().attributes;
    assert_eq!(text(resource, "service.name"), "checkout");
    assert_eq!(text(resource, "cloud.provider"), "aws");
    assert_eq!(text(resource, "host.id"), "i-0abc");
    assert_eq!(text(resource, "cloud.availability_zone"), "eu-west-1a");
    assert_eq!(text(resource, "telemetry.sdk.name"), "X-Ray for Python");
    assert_eq!(text(resource, "telemetry.sdk.language"), "python");
    assert_eq!(text(resource, "process.runtime.version"), "3.11.7");

    let spans = &resource_spans.scope_spans[0].spans;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["checkout", "query", "carts", "orders-db"]);
    let trace_id = hex::decode("6b171f5cd671acd87465ebb2dea1ffee").unwrap();
    assert!(spans.iter().all(|s| s.trace_id == trace_id));

    let root = &spans[0];
    assert_eq!(root.kind, SpanKind::Server as i32);
    assert!(root.parent_span_id.is_empty());
    assert_eq!(root.start_time_unix_nano, 1_796_677_468_301_027_000);
    assert_eq!(root.end_time_unix_nano, 1_796_677_468_301_320_000);
    assert_eq!(root.status.as_ref().unwrap().code, StatusCode::Error as i32);
    assert_eq!(
        find(&root.attributes, "http.status_code"),
        Some(&Any::IntValue(500))
    );
    assert_eq!(
        find(&root.attributes, "http.response_content_length"),
        Some(&Any::IntValue(42))
    );
    assert_eq!(text(&root.attributes, "http.client_ip"), "10.0.0.7");
    assert_eq!(find(&root.attributes, "items"), Some(&Any::IntValue(3)));
    assert_eq!(
        find(&root.attributes, "ratio"),
        Some(&Any::DoubleValue(0.5))
    );
    assert_eq!(find(&root.attributes, "vip"), Some(&Any::BoolValue(true)));
    assert_eq!(find(&root.attributes, "list"), None);
    assert_eq!(
        text(&root.attributes, "aws.xray.metadata.app"),
        r#"{"debug":{"cart":[1,2]}}"#
    );
    assert_eq!(
        find(&root.attributes, "aws.xray.inprogress"),
        Some(&Any::BoolValue(false))
    );

    let query = &spans[1];
    assert_eq!(query.parent_span_id, root.span_id);
    assert_eq!(query.kind, SpanKind::Client as i32);
    let status = query.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "no rows")
    );
    let event = &query.events[0];
    assert_eq!(event.name, "exception");
    assert_eq!(text(&event.attributes, "exception.type"), "ValueError");
    assert_eq!(
        text(&event.attributes, "aws.xray.exception.id"),
        "068bea7256fba64f"
    );
    assert_eq!(
        text(&event.attributes, "exception.stacktrace"),
        "ValueError: no rows\n\tat <module>(app.py: 14)\n"
    );

    let carts = &spans[2];
    assert_eq!(carts.parent_span_id, query.span_id);
    assert_eq!(text(&carts.attributes, "aws.service"), "carts");
    assert_eq!(text(&carts.attributes, "aws.operation"), "GetItem");
    assert_eq!(
        find(&carts.attributes, "aws.xray.retries"),
        Some(&Any::IntValue(1))
    );
    assert_eq!(carts.status, None);

    let database = &spans[3];
    assert_eq!(database.parent_span_id, root.span_id);
    assert_eq!(
        text(&database.attributes, "db.connection_string"),
        "postgresql://db:5432"
    );
    assert_eq!(text(&database.attributes, "db.name"), "orders");
    assert_eq!(text(&database.attributes, "db.system"), "PostgreSQL");
    assert_eq!(text(&database.attributes, "db.user"), "app");
}

#[test]
fn an_independent_subsegment_keeps_its_parent_and_is_not_an_entry_point() {
    let datagram = r#"{"format": "json", "version": 1}
{"id": "8e04a48b83d07f44", "name": "late", "start_time": 1.5, "in_progress": true, "type": "subsegment",
 "parent_id": "743b7825f256dec5", "trace_id": "1-6b171f5c-d671acd87465ebb2dea1ffee"}"#;
    let request = to_otlp(from_datagram(datagram.as_bytes()).unwrap()).unwrap();
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.kind, SpanKind::Internal as i32);
    assert_eq!(
        span.parent_span_id,
        hex::decode("743b7825f256dec5").unwrap()
    );
    assert_eq!(
        (span.start_time_unix_nano, span.end_time_unix_nano),
        (1_500_000_000, 0)
    );
    let resource = &request.resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(text(resource, "cloud.provider"), "unknown");
}

#[test]
fn what_is_not_a_segment_says_why() {
    let error = |datagram: &str| match from_datagram(datagram.as_bytes()) {
        Ok(segment) => to_otlp(segment).unwrap_err().to_string(),
        Err(error) => error.to_string(),
    };
    assert!(error(r#"{"id": "1"}"#).contains("there is no header line"));
    assert!(error("{\"format\": \"xml\"}\n{}").contains("the header is"));
    assert_eq!(
        error("{\"format\":\"json\",\"version\":1}\n{\"id\": \"1\"}"),
        "the segment has no `name`"
    );
    assert_eq!(
        error(
            "{\"format\":\"json\",\"version\":1}\n{\"id\": \"1\", \"name\": \"a\", \"start_time\": 1, \"trace_id\": \"6b171f5c\"}"
        ),
        "segment `1`: `trace_id` `6b171f5c` is not 1-<8 hex>-<24 hex>"
    );
    assert_eq!(
        error(
            "{\"format\":\"json\",\"version\":1}\n{\"id\": \"xyz\", \"name\": \"a\", \"start_time\": 1, \"trace_id\": \"1-6b171f5c-d671acd87465ebb2dea1ffee\"}"
        ),
        "segment `xyz`: `id` `xyz` is not 16 hex digits"
    );
    assert_eq!(
        error(
            r#"{"format":"json","version":1}
{"id": "743b7825f256dec5", "name": "a", "start_time": 1, "trace_id": "1-6b171f5c-d671acd87465ebb2dea1ffee",
 "subsegments": [{"id": "8e04a48b83d07f44", "name": "b", "start_time": 1, "namespace": "local"}]}"#
        ),
        "segment `8e04a48b83d07f44`: `namespace` `local` is neither `aws` nor `remote`"
    );
}
