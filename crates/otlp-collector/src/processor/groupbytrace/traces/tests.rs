use super::*;
use opentelemetry_proto::tonic::resource::v1::Resource;

fn span(trace: u8, name: &str) -> Span {
    Span {
        trace_id: if trace == 0 {
            Vec::new()
        } else {
            vec![trace; 16]
        },
        span_id: vec![1; 8],
        name: name.to_owned(),
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource::default()),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn names(request: &ExportTraceServiceRequest) -> Vec<String> {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| s.name.clone())
        .collect()
}

#[test]
fn spans_are_split_by_trace_and_those_without_an_id_stay() {
    let mut incoming = request(vec![
        span(1, "a1"),
        span(2, "b1"),
        span(0, "none"),
        span(1, "a2"),
    ]);
    let parts = split(&mut incoming);
    let by_trace: Vec<(u8, Vec<String>)> = parts
        .iter()
        .map(|(id, _, _, spans)| (id[0], spans.iter().map(|s| s.name.clone()).collect()))
        .collect();
    assert_eq!(
        by_trace,
        [
            (1, vec!["a1".to_owned(), "a2".to_owned()]),
            (2, vec!["b1".to_owned()])
        ]
    );
    assert_eq!(names(&incoming), ["none"]);
}

#[test]
fn traces_fall_due_in_the_order_they_came_and_a_released_trace_waits_anew() {
    let start = Instant::now();
    let at = |seconds| start + std::time::Duration::from_secs(seconds);
    let mut traces = Traces::default();
    let add = |traces: &mut Traces, trace: u8, name: &str, due| {
        let mut incoming = request(vec![span(trace, name)]);
        for (id, resource, scope, spans) in split(&mut incoming) {
            traces.add(id, &resource, &scope, spans, due);
        }
    };
    add(&mut traces, 1, "a1", at(10));
    add(&mut traces, 2, "b1", at(11));
    add(&mut traces, 1, "a2", at(12));
    assert_eq!(traces.next_due(), Some(at(10)));
    let (due, count) = traces.take_due(Some(at(10)));
    assert_eq!(
        (names(&due), count),
        (vec!["a1".to_owned(), "a2".to_owned()], 1)
    );
    add(&mut traces, 1, "a3", at(13));
    assert_eq!(traces.len(), 2);
    let oldest = traces.take_oldest().expect("trace 2");
    assert_eq!(names(&oldest), ["b1"]);
    assert_eq!(traces.next_due(), Some(at(13)));
    let (rest, count) = traces.take_due(None);
    assert_eq!((names(&rest), count), (vec!["a3".to_owned()], 1));
    assert_eq!(traces.len(), 0);
    assert_eq!(traces.next_due(), None);
}
