//! The transform engine over realistic requests from otlp-testkit, configured with the YAML an
//! otelcol user writes (processor/transformprocessor/README.md): statements change what they
//! target, error modes behave as documented, and everything else comes out unchanged.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_ottl::{Error, Transform, TransformConfig};
use otlp_testkit::Generator;

fn transform(yaml: &str) -> Transform {
    let config: TransformConfig = serde_norway::from_str(yaml).unwrap();
    Transform::new(&config).unwrap_or_else(|e| panic!("{e}"))
}

fn spans(request: &ExportTraceServiceRequest) -> Vec<&Span> {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect()
}

#[test]
fn set_with_where_changes_only_matching_spans() {
    let t = transform(
        r#"
error_mode: ignore
trace_statements:
  - set(span.attributes["whose_fault"], "ours") where span.attributes["http.response.status_code"] >= 500
  - set(span.attributes["route.kind"], "cart") where span.name == "GET /api/cart"
"#,
    );
    let original = Generator::new(11)
        .with_error_rate(0.3)
        .unwrap()
        .traces(2_000);
    let mut request = original.clone();
    let stats = t.apply_traces(&mut request).unwrap();
    assert_eq!(stats.errors, 0);
    let (mut faults, mut carts) = (0, 0);
    for (before, after) in spans(&original).into_iter().zip(spans(&request)) {
        let server_error = attr(&before.attributes, "http.response.status_code")
            .and_then(|v| match v.value {
                Some(opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(code)) => {
                    Some(code >= 500)
                }
                _ => None,
            })
            .unwrap_or(false);
        let cart = before.name == "GET /api/cart";
        let mut expected = before.clone();
        if server_error {
            faults += 1;
            expected
                .attributes
                .push(otlp_ottl::key_value("whose_fault", s("ours")));
        }
        if cart {
            carts += 1;
            expected
                .attributes
                .push(otlp_ottl::key_value("route.kind", s("cart")));
        }
        assert_eq!(after, &expected, "span {}", before.name);
    }
    assert!(faults > 0, "the data has server errors");
    assert!(carts > 0, "the data has cart requests");
}

#[test]
fn flat_statements_infer_the_resource_context_once_per_resource() {
    let t = transform(
        r#"
trace_statements:
  - set(resource.attributes["deployment.environment"], "production")
  - delete_key(resource.attributes, "host.name")
"#,
    );
    let mut request = Generator::new(3).traces(300);
    let before_spans: Vec<Span> = spans(&request).into_iter().cloned().collect();
    t.apply_traces(&mut request).unwrap();
    for rs in &request.resource_spans {
        let attributes = &rs.resource.as_ref().unwrap().attributes;
        assert_eq!(
            attr(attributes, "deployment.environment"),
            Some(&s("production"))
        );
        assert!(attr(attributes, "host.name").is_none());
    }
    let after_spans: Vec<Span> = spans(&request).into_iter().cloned().collect();
    assert_eq!(
        before_spans, after_spans,
        "spans are untouched by resource statements"
    );
}

#[test]
fn groups_with_context_and_conditions() {
    // Conditions are ORed; statements run where any holds, each with its own `where` too.
    let t = transform(
        r#"
trace_statements:
  - context: span
    conditions:
      - kind == SPAN_KIND_SERVER
      - kind == SPAN_KIND_CONSUMER
    statements:
      - set(attributes["edge"], true)
      - set(attributes["root"], true) where IsRootSpan()
  - context: resource
    statements:
      - set(attributes["processed"], true)
"#,
    );
    let mut request = Generator::new(5).traces(500);
    t.apply_traces(&mut request).unwrap();
    for span in spans(&request) {
        let edge = span.kind == 2 || span.kind == 5;
        assert_eq!(
            attr(&span.attributes, "edge").is_some(),
            edge,
            "{}",
            span.name
        );
        let root = span.parent_span_id.is_empty();
        assert_eq!(attr(&span.attributes, "root").is_some(), edge && root);
    }
    assert!(
        request
            .resource_spans
            .iter()
            .all(
                |rs| attr(&rs.resource.as_ref().unwrap().attributes, "processed") == Some(&b(true))
            )
    );
}

#[test]
fn span_event_context() {
    let t = transform(
        r#"
trace_statements:
  - set(spanevent.attributes["seen.by"], span.name) where spanevent.name == "exception"
"#,
    );
    let mut request = Generator::new(9).with_error_rate(1.0).unwrap().traces(400);
    t.apply_traces(&mut request).unwrap();
    let mut seen = 0;
    for span in spans(&request) {
        for event in &span.events {
            if event.name == "exception" {
                seen += 1;
                assert_eq!(attr(&event.attributes, "seen.by"), Some(&s(&span.name)));
            } else {
                assert!(attr(&event.attributes, "seen.by").is_none());
            }
        }
    }
    assert!(seen > 0, "failed traces carry exception events");
}

// README "error_mode": ignore logs and continues with the next statement, silent continues
// without logging, propagate returns the error; a group may override the top-level mode.
#[test]
fn error_modes() {
    // `app.cart.items` is an int on some spans only: the math fails on every other span.
    let statements = r#"
  - set(span.attributes["double.items"], span.attributes["app.cart.items"] * 2)
  - set(span.attributes["after"], true)
"#;
    let original = Generator::new(21).traces(1_000);
    let with_items = spans(&original)
        .iter()
        .filter(|s| attr(&s.attributes, "app.cart.items").is_some())
        .count();
    let total = spans(&original).len();
    assert!(with_items > 0 && with_items < total);

    for mode in ["ignore", "silent"] {
        let t = transform(&format!(
            "error_mode: {mode}\ntrace_statements:{statements}"
        ));
        let mut request = original.clone();
        let stats = t.apply_traces(&mut request).unwrap();
        assert_eq!(stats.errors, total - with_items, "{mode}");
        // The failing statement is skipped; the next one still runs on every span.
        assert!(
            spans(&request)
                .iter()
                .all(|s| attr(&s.attributes, "after").is_some())
        );
        assert_eq!(
            spans(&request)
                .iter()
                .filter(|s| attr(&s.attributes, "double.items").is_some())
                .count(),
            with_items
        );
    }

    let t = transform(&format!(
        "error_mode: propagate\ntrace_statements:{statements}"
    ));
    let mut request = original.clone();
    let error = t.apply_traces(&mut request).unwrap_err();
    let Error::Execution { text, message } = error else {
        panic!("expected an execution error");
    };
    assert!(text.contains("app.cart.items"), "{text}");
    assert!(message.contains("math expressions support"), "{message}");

    // A group's error_mode overrides the top-level one.
    let t = transform(
        r#"
error_mode: propagate
trace_statements:
  - error_mode: ignore
    statements:
      - set(span.attributes["double.items"], span.attributes["app.cart.items"] * 2)
"#,
    );
    let mut request = original.clone();
    assert_eq!(
        t.apply_traces(&mut request).unwrap().errors,
        total - with_items
    );
}

#[test]
fn metrics_and_logs() {
    let t = transform(
        r#"
metric_statements:
  - set(metric.description, "Sum") where metric.type == METRIC_DATA_TYPE_SUM
  - set(datapoint.attributes["env"], "prod") where metric.type == METRIC_DATA_TYPE_GAUGE
log_statements:
  - set(log.severity_text, "FAIL") where log.severity_number >= SEVERITY_NUMBER_ERROR
  - set(log.attributes["body.len"], Len(log.body)) where IsString(log.body)
"#,
    );
    let mut metrics = Generator::new(1).metrics(800);
    t.apply_metrics(&mut metrics).unwrap();
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let (mut sums, mut gauges) = (0, 0);
    for metric in metrics
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
    {
        match &metric.data {
            Some(Data::Sum(_)) => {
                sums += 1;
                assert_eq!(metric.description, "Sum");
            }
            Some(Data::Gauge(g)) => {
                gauges += 1;
                assert!(
                    g.data_points
                        .iter()
                        .all(|p| attr(&p.attributes, "env") == Some(&s("prod")))
                );
                assert_ne!(metric.description, "Sum");
            }
            _ => assert_ne!(metric.description, "Sum"),
        }
    }
    assert!(sums > 0 && gauges > 0);

    let mut logs = Generator::new(2).logs(500);
    let original = logs.clone();
    t.apply_logs(&mut logs).unwrap();
    let records =
        |r: &opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest| {
            r.resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .flat_map(|s| &s.log_records)
                .cloned()
                .collect::<Vec<_>>()
        };
    for (before, after) in records(&original).iter().zip(records(&logs)) {
        if before.severity_number >= 17 {
            assert_eq!(after.severity_text, "FAIL");
        } else {
            assert_eq!(after.severity_text, before.severity_text);
        }
        let is_string = matches!(
            before.body.as_ref().and_then(|b| b.value.as_ref()),
            Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(_))
        );
        assert_eq!(attr(&after.attributes, "body.len").is_some(), is_string);
    }
}

#[test]
fn configuration_errors_name_every_path() {
    let config: TransformConfig = serde_norway::from_str(
        r#"
trace_statements:
  - set(span.attributes["ok"], 1)
  - context: spam
    statements: ["set(name, 1)"]
  - context: span
    statements:
      - sett(name, "x")
      - set(name, "x") where
  - statements: ["set(log.body, 1)"]
log_statements:
  - set(span.name, "x")
"#,
    )
    .unwrap();
    let Error::InvalidConfig(problems) = Transform::new(&config).unwrap_err() else {
        panic!("expected InvalidConfig");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "trace_statements[1].context",
            "trace_statements[2].statements[0]",
            "trace_statements[2].statements[1]",
            "trace_statements[3]",
            "log_statements[0]",
        ]
    );
    assert!(
        problems[1].message.contains("unknown editor `sett`"),
        "{}",
        problems[1].message
    );
    assert!(
        problems[2].message.contains("expected a condition"),
        "{}",
        problems[2].message
    );
    assert!(
        problems[0]
            .message
            .contains("unknown context \"spam\" (did you mean \"span\"?)")
    );
    // Unknown keys are refused with their name by the typed configuration.
    let error = serde_norway::from_str::<TransformConfig>("trace_statement: []").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown field `trace_statement`"),
        "{error}"
    );
}

// The collector shares compiled engines across its worker tasks.
#[test]
fn engines_are_send_and_sync() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Transform>();
    shareable::<otlp_ottl::Filter>();
    shareable::<otlp_ottl::actions::AttributesProcessor>();
    shareable::<otlp_ottl::actions::ResourceProcessor>();
    shareable::<otlp_ottl::Statement>();
}
