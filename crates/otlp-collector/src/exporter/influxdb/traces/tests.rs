use super::*;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn written(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| {
            let mut out = String::new();
            line.write(&mut out).then(|| out.trim_end().to_owned())
        })
        .collect()
}

#[test]
fn a_span_is_tagged_by_its_ids_and_dimensions_and_its_events_and_links_follow() {
    let span = Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        parent_span_id: vec![3; 8],
        name: "checkout".to_owned(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 1_500,
        attributes: vec![
            kv("http.route", any_value::Value::StringValue("/cart".into())),
            kv("items", any_value::Value::IntValue(3)),
        ],
        events: vec![Event {
            time_unix_nano: 1_200,
            name: "retry".to_owned(),
            ..Default::default()
        }],
        links: vec![
            Link {
                trace_id: vec![4; 16],
                span_id: vec![5; 8],
                trace_state: "k=v".to_owned(),
                ..Default::default()
            },
            Link::default(),
        ],
        status: Some(Status {
            code: StatusCode::Error as i32,
            message: "boom".to_owned(),
        }),
        dropped_events_count: 2,
        ..Default::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", any_value::Value::StringValue("cart".into())),
                    kv("host.cpus", any_value::Value::IntValue(8)),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "tracer".to_owned(),
                    ..Default::default()
                }),
                spans: vec![span, Span::default()],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let dimensions = [
        "service.name".to_owned(),
        "span.name".to_owned(),
        "http.route".to_owned(),
    ];
    let (lines, refused) = lines(&request, &dimensions);
    let (trace, span) = ("01".repeat(16), "02".repeat(8));
    assert_eq!(
        written(&lines),
        [
            format!(
                "spans,http.route=/cart,service.name=cart,span.name=checkout,span_id={span},trace_id={trace} \
                 attributes=\"{{\\\"items\\\":3}}\",dropped_events_count=2i,duration_nano=500i,\
                 end_time_unix_nano=1500i,host.cpus=8i,otel.library.name=\"tracer\",\
                 otel.status_code=\"Error\",otel.status_description=\"boom\",\
                 parent_span_id=\"{}\",span.kind=\"Server\" 1000",
                "03".repeat(8)
            ),
            format!("logs,span_id={span},trace_id={trace} event.name=\"retry\" 1200"),
            format!(
                "span-links,linked_span_id={},linked_trace_id={},span_id={span},trace_id={trace} trace_state=\"k=v\" 1000",
                "05".repeat(8),
                "04".repeat(16)
            ),
        ]
    );
    assert_eq!(refused, 1, "the span without ids");
}
