//! The paths of each context, from the tables of otelcol-contrib's
//! `pkg/ottl/contexts/*/README.md` (and the `ctx*` path lists behind them), read and written on
//! hand-built items; and context inference from path prefixes (transformprocessor README,
//! "Context inference").

mod common;

use common::*;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{Gauge, Sum, number_data_point};
use opentelemetry_proto::tonic::trace::v1::Status;
use otlp_ottl::{
    ContextKind, Signal, Value, infer_conditions_context, infer_statements_context, parse_statement,
};

const SPAN: ContextKind = ContextKind::Span;
const LOG: ContextKind = ContextKind::Log;

// ottlspan README: trace_id / span_id / parent_span_id as IDs, `.string` as hex strings.
#[test]
fn span_ids() {
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, "trace_id.string"),
        vs("0102030405060708090a0b0c0d0e0f10")
    );
    assert_eq!(f.value(SPAN, "span_id.string"), vs("0102030405060708"));
    assert!(f.cond(
        SPAN,
        "trace_id == TraceID(0x0102030405060708090a0b0c0d0e0f10)"
    ));
    assert!(f.cond(SPAN, "span_id == SpanID(0x0102030405060708)"));
    // "When checking for nil, instead check against an empty byte slice".
    assert!(f.cond(SPAN, "parent_span_id == SpanID(0x0000000000000000)"));
    f.run(SPAN, r#"set(span_id.string, "1112131415161718")"#);
    assert_eq!(
        f.span.span_id,
        vec![0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]
    );
    f.run(SPAN, "set(parent_span_id, SpanID(0x0000000000000001))");
    assert_eq!(f.span.parent_span_id, vec![0, 0, 0, 0, 0, 0, 0, 1]);
    // README "Update a spans ID": set(span_id, SpanID(0x0000000000000000)) empties it.
    f.run(SPAN, "set(span_id, SpanID(0x0000000000000000))");
    assert!(f.span.span_id.is_empty());
    let err = f.run_err(SPAN, r#"set(trace_id.string, "xyz")"#);
    assert!(err.contains("32 hex characters"), "{err}");
}

// ottlspan README: name, kind (int, `.string`, `.deprecated_string`), times, status.
#[test]
fn span_fields() {
    let mut f = Fixture::default();
    assert_eq!(f.value(SPAN, "span.name"), vs("GET /health"));
    assert_eq!(f.value(SPAN, "kind"), Value::Int(2));
    assert_eq!(f.value(SPAN, "kind.string"), vs("Server"));
    assert_eq!(
        f.value(SPAN, "kind.deprecated_string"),
        vs("SPAN_KIND_SERVER")
    );
    f.run(SPAN, r#"set(kind.string, "Client")"#);
    assert_eq!(f.span.kind, 3);
    f.run(
        SPAN,
        r#"set(span.kind.deprecated_string, "SPAN_KIND_CONSUMER")"#,
    );
    assert_eq!(f.span.kind, 5);
    assert_eq!(
        f.value(SPAN, "start_time_unix_nano"),
        Value::Int(1_675_468_800_000_000_000)
    );
    assert_eq!(
        f.value(SPAN, "start_time"),
        Value::Time(1_675_468_800_000_000_000)
    );
    f.run(SPAN, "set(end_time_unix_nano, start_time_unix_nano + 1000)");
    assert_eq!(f.span.end_time_unix_nano, 1_675_468_800_000_001_000);
    f.run(SPAN, "set(end_time, start_time)");
    assert_eq!(f.span.end_time_unix_nano, f.span.start_time_unix_nano);
    assert_eq!(f.value(SPAN, "status.code"), Value::Int(0));
    f.run(
        SPAN,
        r#"set(status.code, STATUS_CODE_ERROR) where attributes["http.status_code"] >= 200"#,
    );
    f.run(SPAN, r#"set(status.message, "boom")"#);
    assert_eq!(
        f.span.status,
        Some(Status {
            code: 2,
            message: "boom".to_owned()
        })
    );
    assert_eq!(f.value(SPAN, "dropped_attributes_count"), Value::Int(0));
    f.run(SPAN, "set(dropped_events_count, 3)");
    assert_eq!(f.span.dropped_events_count, 3);
    let err = f.run_err(SPAN, "set(dropped_events_count, -1)");
    assert!(err.contains("between 0 and 4294967295"), "{err}");
    let err = f.run_err(SPAN, "set(name, 5)");
    assert!(
        err.contains("span.name must be set to a string, got int"),
        "{err}"
    );
}

// ottlspan README: trace_state and trace_state["key"] (set moves the entry first).
#[test]
fn span_trace_state() {
    let mut f = Fixture::default();
    f.span.trace_state = "a=1,b=2".to_owned();
    assert_eq!(f.value(SPAN, r#"trace_state["b"]"#), vs("2"));
    f.run(SPAN, r#"set(span.trace_state["svc"], "example")"#);
    assert_eq!(f.span.trace_state, "svc=example,a=1,b=2");
    // ottlfuncs README, set: `set(span.attributes["source"], span.trace_state["source"])`.
    f.span.trace_state = "source=edge".to_owned();
    f.run(
        SPAN,
        r#"set(span.attributes["source"], span.trace_state["source"])"#,
    );
    assert_eq!(f.span_attr("source"), Some(&s("edge")));
}

// ottlspan README: events and links are lists; Len counts them.
#[test]
fn span_events_and_links_as_values() {
    let mut f = Fixture::default();
    f.span.events.push(Default::default());
    f.span.events.push(Default::default());
    assert_eq!(f.value(SPAN, "Len(events)"), Value::Int(2));
    assert!(f.cond(SPAN, "Len(span.links) == 0"));
}

// Upper-context paths: `resource.attributes`, `instrumentation_scope.name` (and `scope.*`)
// from a span, reading and writing.
#[test]
fn upper_context_paths() {
    let mut f = Fixture::default();
    assert_eq!(
        f.value(SPAN, r#"resource.attributes["service.name"]"#),
        vs("checkout")
    );
    assert_eq!(f.value(SPAN, "instrumentation_scope.name"), vs("otelhttp"));
    assert_eq!(f.value(SPAN, "scope.version"), vs("0.60.0"));
    f.run(
        SPAN,
        r#"set(resource.attributes["deployment.environment"], "prod")"#,
    );
    assert_eq!(
        attr(
            &f.resource.as_ref().unwrap().attributes,
            "deployment.environment"
        ),
        Some(&s("prod"))
    );
    f.run(SPAN, r#"set(scope.name, "renamed")"#);
    assert_eq!(f.scope.as_ref().unwrap().name, "renamed");
    f.run(
        SPAN,
        r#"set(resource.schema_url, "https://opentelemetry.io/schemas/1.30.0")"#,
    );
    assert_eq!(f.resource_schema, "https://opentelemetry.io/schemas/1.30.0");
    // A resource context cannot reach spans.
    let err = parse_statement(ContextKind::Resource, r#"set(span.name, "x")"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("not reachable from the resource context"),
        "{err}"
    );
}

// "cache": a temporary map per item, readable and writable with nested keys.
#[test]
fn cache() {
    let mut f = Fixture::default();
    f.run(SPAN, r#"set(cache["a"]["b"], 1)"#);
    assert_eq!(f.value(SPAN, r#"span.cache["a"]["b"]"#), Value::Int(1));
    f.run(SPAN, r#"set(attributes["from_cache"], cache["a"])"#);
    assert_eq!(f.span_attr("from_cache"), Some(&map(vec![("b", i(1))])));
    let err = parse_statement(SPAN, r#"set(resource.cache["x"], 1)"#).unwrap_err();
    assert!(
        err.to_string().contains("each context has its own cache"),
        "{err}"
    );
}

// ottllog README: body (any value, indexed when a map or slice, `.string`), severity, times,
// trace and span IDs, flags, event_name.
#[test]
fn log_paths() {
    let mut f = Fixture::default();
    assert_eq!(f.value(LOG, "body"), vs("request failed"));
    assert!(f.cond(LOG, r#"log.body == "request failed""#));
    assert!(f.cond(LOG, "severity_number == SEVERITY_NUMBER_ERROR"));
    assert!(f.cond(LOG, "severity_number >= SEVERITY_NUMBER_WARN"));
    assert_eq!(f.value(LOG, "severity_text"), vs("ERROR"));
    f.run(
        LOG,
        r#"set(severity_text, "FAIL") where body == "request failed""#,
    );
    assert_eq!(f.log.severity_text, "FAIL");
    f.run(
        LOG,
        r#"set(body, {"object": {"id": 7}, "tags": ["a", "b"]})"#,
    );
    assert_eq!(f.value(LOG, r#"body["object"]["id"]"#), Value::Int(7));
    assert_eq!(f.value(LOG, r#"body["tags"][0]"#), vs("a"));
    assert_eq!(
        f.value(LOG, "body.string"),
        vs(r#"{"object":{"id":7},"tags":["a","b"]}"#)
    );
    f.run(LOG, r#"set(body["object"]["id"], 8)"#);
    assert_eq!(f.value(LOG, r#"body["object"]["id"]"#), Value::Int(8));
    f.run(LOG, r#"set(body.string, "plain")"#);
    let err = f.run_err(LOG, r#"set(body["x"], 1)"#);
    assert!(
        err.contains("log bodies of type string cannot be indexed"),
        "{err}"
    );
    f.run(LOG, "set(time_unix_nano, 1000)");
    assert_eq!(f.log.time_unix_nano, 1000);
    assert_eq!(f.value(LOG, "time"), Value::Time(1000));
    f.run(LOG, r#"set(observed_time, Time("2023-02-04", "%Y-%m-%d"))"#);
    assert_eq!(f.log.observed_time_unix_nano, 1_675_468_800_000_000_000);
    f.run(
        LOG,
        "set(trace_id, TraceID(0x0102030405060708090a0b0c0d0e0f10))",
    );
    assert_eq!(
        f.value(LOG, "trace_id.string"),
        vs("0102030405060708090a0b0c0d0e0f10")
    );
    f.run(LOG, r#"set(span_id.string, "0102030405060708")"#);
    assert_eq!(f.log.span_id, (1..=8).collect::<Vec<u8>>());
    f.run(LOG, "set(flags, 1)");
    assert_eq!(f.log.flags, 1);
    f.run(LOG, r#"set(event_name, "user.login")"#);
    assert_eq!(f.value(LOG, "log.event_name"), vs("user.login"));
}

// ottlmetric README: name, description, unit, type (METRIC_DATA_TYPE_*), aggregation
// temporality, monotonicity, metadata.
#[test]
fn metric_paths() {
    let mut f = Fixture::default();
    f.metric.data = Some(Data::Sum(Sum {
        aggregation_temporality: 2,
        is_monotonic: true,
        ..Default::default()
    }));
    let metric = ContextKind::Metric;
    assert!(f.cond(metric, "type == METRIC_DATA_TYPE_SUM"));
    assert!(f.cond(
        metric,
        "aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE"
    ));
    assert_eq!(f.value(metric, "is_monotonic"), Value::Bool(true));
    // README: `set(metric.description, "Sum") where metric.type == METRIC_DATA_TYPE_SUM`.
    f.run(
        metric,
        r#"set(metric.description, "Sum") where metric.type == METRIC_DATA_TYPE_SUM"#,
    );
    assert_eq!(f.metric.description, "Sum");
    f.run(metric, r#"set(unit, "ms")"#);
    assert_eq!(f.metric.unit, "ms");
    f.run(
        metric,
        "set(aggregation_temporality, AGGREGATION_TEMPORALITY_DELTA)",
    );
    assert!(matches!(&f.metric.data, Some(Data::Sum(s)) if s.aggregation_temporality == 1));
    f.run(metric, r#"set(metadata["source"], "prometheus")"#);
    assert_eq!(attr(&f.metric.metadata, "source"), Some(&s("prometheus")));
    // README "Convert metric name to snake case".
    f.metric.name = "HttpServerDuration".to_owned();
    f.run(
        metric,
        r#"set(metric.name, ConvertCase(metric.name, "snake"))"#,
    );
    assert_eq!(f.metric.name, "http_server_duration");
}

// ottldatapoint README: attributes, times, values, flags, and the metric above it.
#[test]
fn datapoint_paths() {
    let mut f = Fixture::default();
    f.metric.data = Some(Data::Gauge(Gauge::default()));
    f.point.value = Some(number_data_point::Value::AsDouble(0.5));
    let dp = ContextKind::DataPoint;
    assert_eq!(f.value(dp, "value_double"), Value::Double(0.5));
    assert!(f.cond(dp, r#"metric.name == "http.server.duration""#));
    assert!(f.cond(dp, "metric.type == METRIC_DATA_TYPE_GAUGE"));
    f.run(
        dp,
        r#"set(attributes["test"], "pass") where metric.name == "http.server.duration""#,
    );
    assert_eq!(attr(&f.point.attributes, "test"), Some(&s("pass")));
    f.run(dp, "set(value_int, 42)");
    assert_eq!(f.point.value, Some(number_data_point::Value::AsInt(42)));
    f.run(dp, "set(time_unix_nano, 5)");
    assert_eq!(f.point.time_unix_nano, 5);
    f.run(dp, "set(flags, FLAG_NO_RECORDED_VALUE)");
    assert_eq!(f.point.flags, 1);
    // Fields a number point does not have read as nil and ignore writes, as otelcol does.
    assert_eq!(f.value(dp, "count"), Value::Nil);
    f.run(dp, "set(count, 3)");
    // The metric's data points are not reachable while one of them is visited.
    let err = parse_statement(dp, "set(attributes[\"n\"], Len(metric.data_points))").unwrap_err();
    assert!(
        err.to_string()
            .contains("not reachable from the datapoint context"),
        "{err}"
    );
}

// ottlresource and ottlscope READMEs.
#[test]
fn resource_and_scope_paths() {
    let mut f = Fixture::default();
    let resource = ContextKind::Resource;
    assert_eq!(
        f.value(resource, r#"attributes["service.name"]"#),
        vs("checkout")
    );
    f.run(resource, "set(dropped_attributes_count, 2)");
    assert_eq!(f.resource.as_ref().unwrap().dropped_attributes_count, 2);
    let scope = ContextKind::Scope;
    assert_eq!(f.value(scope, "name"), vs("otelhttp"));
    f.run(scope, r#"set(version, "1.0.0")"#);
    f.run(scope, r#"set(attributes["k"], "v")"#);
    assert_eq!(f.scope.as_ref().unwrap().version, "1.0.0");
    assert_eq!(
        attr(&f.scope.as_ref().unwrap().attributes, "k"),
        Some(&s("v"))
    );
    assert_eq!(
        f.value(scope, r#"resource.attributes["host.name"]"#),
        vs("pod-1234")
    );
    f.run(scope, r#"set(schema_url, "https://example.com/s")"#);
    assert_eq!(f.scope_schema, "https://example.com/s");
}

// transformprocessor README, "Context inference": the most specific context a path prefix names
// wins; `metric` + `datapoint` paths infer `datapoint`, `resource` + `metric` infer `metric`.
#[test]
fn context_inference() {
    assert_eq!(
        infer_statements_context(
            Signal::Metrics,
            &[r#"set(metric.description, "test passed") where datapoint.attributes["test"] == "pass""#]
        )
        .unwrap(),
        ContextKind::DataPoint
    );
    assert_eq!(
        infer_statements_context(
            Signal::Metrics,
            &[
                r#"set(resource.attributes["test"], "passed")"#,
                r#"set(metric.description, "test passed")"#
            ]
        )
        .unwrap(),
        ContextKind::Metric
    );
    assert_eq!(
        infer_statements_context(
            Signal::Traces,
            &[r#"set(span.attributes["x"], resource.attributes["y"])"#]
        )
        .unwrap(),
        ContextKind::Span
    );
    assert_eq!(
        infer_statements_context(Signal::Traces, &[r#"set(resource.attributes["x"], "y")"#])
            .unwrap(),
        ContextKind::Resource
    );
    // An enum the resource context lacks moves the statements to a lower context that has it.
    assert_eq!(
        infer_statements_context(
            Signal::Traces,
            &[r#"set(resource.attributes["kind"], SPAN_KIND_SERVER)"#]
        )
        .unwrap(),
        ContextKind::SpanEvent
    );
    // So does a function only a lower context offers.
    assert_eq!(
        infer_conditions_context(
            Signal::Traces,
            &[r#"resource.attributes["a"] == "b" and IsRootSpan()"#]
        )
        .unwrap(),
        ContextKind::Span
    );
    let err = infer_statements_context(Signal::Logs, &[r#"set(span.name, "x")"#]).unwrap_err();
    assert!(
        err.to_string()
            .contains("`span` paths cannot be used in logs statements"),
        "{err}"
    );
    let err =
        infer_statements_context(Signal::Traces, &[r#"set(attributes["x"], "y")"#]).unwrap_err();
    assert!(
        err.to_string()
            .contains("no path starts with a context name"),
        "{err}"
    );
}
