use super::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

fn processor(config: serde_json::Value) -> SpanProcessor {
    let config: SpanConfig = serde_json::from_value(config).unwrap();
    SpanProcessor::new(&config).unwrap()
}

fn problems(config: serde_json::Value) -> Vec<String> {
    let config: SpanConfig = serde_json::from_value(config).unwrap();
    match SpanProcessor::new(&config) {
        Err(error) => error
            .into_problems("")
            .iter()
            .map(ToString::to_string)
            .collect(),
        Ok(_) => panic!("the config was accepted"),
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    key_value(
        key,
        AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        },
    )
}

fn double(key: &str, value: f64) -> KeyValue {
    key_value(
        key,
        AnyValue {
            value: Some(any_value::Value::DoubleValue(value)),
        },
    )
}

fn boolean(key: &str, value: bool) -> KeyValue {
    key_value(
        key,
        AnyValue {
            value: Some(any_value::Value::BoolValue(value)),
        },
    )
}

fn string(key: &str, value: &str) -> KeyValue {
    key_value(key, string_value(value))
}

fn span(name: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        name: name.into(),
        attributes,
        ..Default::default()
    }
}

/// `span` processed alone, under a resource of `service`.
fn run(processor: &SpanProcessor, service: &str, span: Span) -> Span {
    let mut request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    processor.process_traces(&mut request);
    request
        .resource_spans
        .remove(0)
        .scope_spans
        .remove(0)
        .spans
        .remove(0)
}

#[test]
fn a_name_from_attributes_writes_each_scalar_as_otelcol_does_between_separators() {
    let p = processor(serde_json::json!({
        "name": {"from_attributes": ["key1", "key2", "key3", "key4"], "separator": "::"}
    }));
    let attributes = vec![
        string("key1", "bob"),
        int("key2", 123),
        double("key3", 234.129312),
        boolean("key4", true),
    ];
    let out = run(&p, "svc", span("old", attributes.clone()));
    assert_eq!(out.name, "bob::123::234.129312::true");
    assert_eq!(out.attributes, attributes, "the attributes are only read");
}

#[test]
fn a_span_missing_one_of_the_attributes_keeps_its_name() {
    let p = processor(serde_json::json!({"name": {"from_attributes": ["a", "b"]}}));
    assert_eq!(
        run(&p, "svc", span("old", vec![string("a", "x")])).name,
        "old"
    );
    assert_eq!(run(&p, "svc", span("old", vec![])).name, "old");
    let both = run(
        &p,
        "svc",
        span("", vec![string("b", "y"), string("a", "x")]),
    );
    assert_eq!(
        both.name, "xy",
        "no separator given, none written; a nameless span named too"
    );
}

#[test]
fn one_attribute_takes_no_separator_and_odd_values_are_spelled_out() {
    let p = processor(serde_json::json!({"name": {"from_attributes": ["k"], "separator": "::"}}));
    assert_eq!(
        run(&p, "svc", span("x", vec![string("k", "bob")])).name,
        "bob"
    );
    let list = key_value(
        "k",
        AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue::default())),
        },
    );
    assert_eq!(
        run(&p, "svc", span("x", vec![list])).name,
        "<unknown-attribute-type>"
    );
    assert_eq!(
        run(&p, "svc", span("x", vec![double("k", f64::INFINITY)])).name,
        "+Inf"
    );
    assert_eq!(
        run(&p, "svc", span("x", vec![double("k", 1e21)])).name,
        "1000000000000000000000"
    );
    assert_eq!(
        run(&p, "svc", span("x", vec![double("k", -0.5)])).name,
        "-0.5"
    );
}

#[test]
fn named_groups_become_attributes_and_placeholders_in_the_name() {
    let p = processor(serde_json::json!({"name": {"to_attributes": {"rules": [
        r"^/api/(?P<version>.*)/document/(?P<documentId>.*)/update$"
    ]}}}));
    let out = run(&p, "svc", span("/api/v1/document/321083210/update", vec![]));
    assert_eq!(out.name, "/api/{version}/document/{documentId}/update");
    assert_eq!(
        out.attributes,
        vec![string("version", "v1"), string("documentId", "321083210")]
    );
}

#[test]
fn each_rule_works_on_the_name_the_one_before_left_unless_told_to_stop() {
    let rules = serde_json::json!([
        r"^/api/.*/document/(?P<documentId>.*)/update$",
        r"^/api/(?P<version>.*)/document/.*/update$"
    ]);
    let name = "/api/v1/document/321083210/update";
    let p = processor(serde_json::json!({"name": {"to_attributes": {"rules": rules}}}));
    let out = run(&p, "svc", span(name, vec![]));
    assert_eq!(out.name, "/api/{version}/document/{documentId}/update");
    assert_eq!(
        out.attributes,
        vec![string("documentId", "321083210"), string("version", "v1")]
    );

    let p = processor(serde_json::json!({"name": {"to_attributes": {
        "rules": rules, "break_after_match": true
    }}}));
    let out = run(&p, "svc", span(name, vec![]));
    assert_eq!(out.name, "/api/v1/document/{documentId}/update");
    assert_eq!(out.attributes, vec![string("documentId", "321083210")]);
}

#[test]
fn keep_original_name_extracts_and_leaves_the_name_for_every_rule() {
    let p = processor(serde_json::json!({"name": {"to_attributes": {
        "rules": [r"^/users/(?P<user>\d+)", r"/orders/(?P<order>\d+)$"],
        "keep_original_name": true
    }}}));
    let out = run(&p, "svc", span("/users/7/orders/42", vec![]));
    assert_eq!(out.name, "/users/7/orders/42");
    assert_eq!(
        out.attributes,
        vec![string("user", "7"), string("order", "42")]
    );
}

#[test]
fn an_extracted_attribute_replaces_one_the_span_had() {
    let p = processor(
        serde_json::json!({"name": {"to_attributes": {"rules": [r"^GET (?P<route>.+)$"]}}}),
    );
    let out = run(
        &p,
        "svc",
        span("GET /cart", vec![int("route", 1), string("other", "x")]),
    );
    assert_eq!(out.name, "GET {route}");
    assert_eq!(
        out.attributes,
        vec![string("route", "/cart"), string("other", "x")]
    );
}

#[test]
fn a_group_that_took_no_part_or_sits_inside_another_leaves_the_name_whole() {
    let p = processor(serde_json::json!({"name": {"to_attributes": {"rules": [
        r"^/items(?:/(?P<id>\d+))?(?P<tail>/x)?$"
    ]}}}));
    let out = run(&p, "svc", span("/items/5", vec![]));
    assert_eq!(out.name, "/items/{id}");
    assert_eq!(
        out.attributes,
        vec![string("id", "5")],
        "no attribute for `tail`"
    );

    let p = processor(serde_json::json!({"name": {"to_attributes": {"rules": [
        r"^/(?P<path>a/(?P<leaf>\w+))$"
    ]}}}));
    let out = run(&p, "svc", span("/a/b", vec![]));
    assert_eq!(out.name, "/{path}");
    assert_eq!(
        out.attributes,
        vec![string("path", "a/b"), string("leaf", "b")]
    );
}

#[test]
fn a_span_without_a_name_is_not_matched_by_rules() {
    let p = processor(serde_json::json!({"name": {"to_attributes": {"rules": ["(?P<all>.*)"]}}}));
    let out = run(&p, "svc", span("", vec![]));
    assert_eq!(out, span("", vec![]));
}

#[test]
fn include_and_exclude_pick_the_spans_as_in_otelcol() {
    let p = processor(serde_json::json!({
        "include": {"match_type": "regexp", "services": ["^banks$"], "span_names": ["/"]},
        "exclude": {"match_type": "strict", "span_names": ["donot/change"]},
        "name": {"to_attributes": {"rules": ["(?P<operation_website>.*?)$"]}}
    }));
    let cases = [
        ("bankss", "url/url", "url/url"),
        ("banks", "noslasheshere", "noslasheshere"),
        ("banks", "www.test.com/code", "{operation_website}"),
        ("banks", "donot/", "{operation_website}"),
        ("banks", "donot/change", "donot/change"),
    ];
    for (service, name, want) in cases {
        let out = run(&p, service, span(name, vec![]));
        assert_eq!(out.name, want, "{service} {name}");
        let extracted = out.attributes.first().map(|kv| kv.key.as_str());
        assert_eq!(extracted.is_some(), want != name, "{service} {name}");
    }
}

#[test]
fn the_status_is_set_with_its_description_on_the_selected_spans() {
    let p = processor(serde_json::json!({
        "status": {"code": "Error", "description": "custom error message"},
        "include": {"match_type": "strict", "attributes": [{"key": "http.status_code", "value": 400}]}
    }));
    let mut ok = span("x", vec![]);
    ok.status = Some(Status {
        code: 1,
        message: String::new(),
    });
    assert_eq!(run(&p, "svc", ok.clone()), ok, "not selected");
    let bad = span("x", vec![int("http.status_code", 400)]);
    let out = run(&p, "svc", bad);
    assert_eq!(
        out.status,
        Some(Status {
            code: 2,
            message: "custom error message".into()
        })
    );

    let p = processor(serde_json::json!({"status": {"code": "Ok"}}));
    let mut failed = span("x", vec![]);
    failed.status = Some(Status {
        code: 2,
        message: "boom".into(),
    });
    assert_eq!(
        run(&p, "svc", failed).status,
        Some(Status {
            code: 1,
            message: String::new()
        }),
        "the old message goes with the old code"
    );
}

#[test]
fn every_problem_of_a_config_is_named_at_its_key() {
    assert_eq!(
        problems(serde_json::json!({})),
        ["nothing to do: set `name.from_attributes`, `name.to_attributes.rules` or `status`"]
    );
    assert_eq!(
        problems(serde_json::json!({
            "name": {"to_attributes": {"rules": ["(?P<ok>a)", "(b", "/users/(\\d+)"]}},
            "status": {"code": "ERROR"},
            "include": {"match_type": "strict", "metric_names": ["m"]}
        })),
        [
            "name.to_attributes.rules[1]: invalid regex \"(b\": regex parse error:\n    (b\n    ^\nerror: unclosed group",
            "name.to_attributes.rules[2]: \"/users/(\\d+)\" has a group without a name; name it, `(?P<key>...)`, to make it an attribute, or write `(?:...)`",
            "status.code: \"ERROR\" is not a status code; one of Ok, Error, Unset (write `Error`: otelcol reads it with this case only)",
            "include: `metric_names` does not apply to traces; use services, span_names, span_kinds, attributes, resources, libraries",
        ]
    );
    assert_eq!(
        problems(serde_json::json!({"status": {"code": "Ok", "description": "fine"}})),
        ["status.description: a description goes only with code Error, not Ok"]
    );
}

#[test]
fn validation_names_a_misspelt_key_at_any_depth_with_the_nearest_one() {
    use crate::validate::{ProcessorKind, validate};
    let config = serde_json::json!({
        "name": {"from_attribute": ["a"], "to_attributes": {"rules": ["x"], "break_aftr_match": true}},
        "stauts": {"code": "Ok"}
    });
    let found: Vec<String> = validate(ProcessorKind::Span, &config, &[Signal::Traces])
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        [
            "name.from_attribute: unknown key; did you mean `from_attributes`? known keys: from_attributes, separator, to_attributes",
            "name.to_attributes.break_aftr_match: unknown key; did you mean `break_after_match`? known keys: rules, break_after_match, keep_original_name",
            "stauts: unknown key; did you mean `status`? known keys: name, status, include, exclude",
        ]
    );
    let config = serde_json::json!({"status": {"code": "Eror"}});
    let found: Vec<String> = validate(ProcessorKind::Span, &config, &[Signal::Traces])
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        ["status.code: \"Eror\" is not a status code; one of Ok, Error, Unset"]
    );
}
