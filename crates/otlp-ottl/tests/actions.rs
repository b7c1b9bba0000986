//! Attribute actions and the `attributes`/`resource` processors, from otelcol-contrib's
//! `processor/attributesprocessor/README.md` and `internal/coreinternal/attraction`: each action's
//! behaviour, include/exclude matching, and unchanged items elsewhere.

mod common;

use std::collections::BTreeMap;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_ottl::actions::{
    ActionConfig, Actions, AttributesConfig, AttributesProcessor, ClientInfo, ResourceConfig,
    ResourceProcessor,
};
use otlp_ottl::{Error, Signal, key_value};
use otlp_testkit::Generator;

fn actions(yaml: &str) -> Actions {
    let config: Vec<ActionConfig> = serde_norway::from_str(yaml).unwrap();
    Actions::new(&config).unwrap_or_else(|e| panic!("{e}"))
}

fn apply(
    yaml: &str,
    attributes: Vec<(&str, opentelemetry_proto::tonic::common::v1::AnyValue)>,
) -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    let mut attributes = kvs(attributes);
    actions(yaml).apply(&mut attributes, &ClientInfo::default());
    attributes
}

fn spans(request: &ExportTraceServiceRequest) -> Vec<Span> {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| ss.spans.clone())
        .collect()
}

// README: insert adds where missing, update changes where present, upsert does both; the
// value's YAML type is kept.
#[test]
fn insert_update_upsert() {
    let yaml = r#"
- {key: redacted_span, value: true, action: upsert}
- {key: account_id, value: 2245, action: insert}
- {key: existing, value: "new", action: insert}
- {key: copy_key, from_attribute: key_original, action: update}
- {key: absent, value: 1.5, action: update}
- {key: region, from_attribute: cloud.region, default_value: us-east-1, action: insert}
"#;
    let out = apply(
        yaml,
        vec![
            ("existing", s("old")),
            ("copy_key", s("x")),
            ("key_original", s("orig")),
        ],
    );
    assert_eq!(
        out,
        kvs(vec![
            ("existing", s("old")),
            ("copy_key", s("orig")),
            ("key_original", s("orig")),
            ("redacted_span", b(true)),
            ("account_id", i(2245)),
            ("region", s("us-east-1")),
        ])
    );
}

// README: from_context reads request metadata (`metadata.` prefix), auth attributes and the
// client address; several values are joined with `;`; missing means no action.
#[test]
fn from_context() {
    let config: Vec<ActionConfig> = serde_norway::from_str(
        r#"
- {key: tenant, from_context: metadata.X-Tenant, action: upsert}
- {key: user, from_context: auth.subject, action: insert}
- {key: peer, from_context: client.address, action: insert}
- {key: missing, from_context: metadata.nope, action: insert}
- {key: fallback, from_context: metadata.nope, default_value: default-tenant, action: upsert}
"#,
    )
    .unwrap();
    let client = ClientInfo {
        address: Some("10.1.2.3".to_owned()),
        metadata: BTreeMap::from([("x-tenant".to_owned(), vec!["a".to_owned(), "b".to_owned()])]),
        auth: BTreeMap::from([("subject".to_owned(), vec!["alice".to_owned()])]),
    };
    let mut attributes = Vec::new();
    Actions::new(&config)
        .unwrap()
        .apply(&mut attributes, &client);
    assert_eq!(
        attributes,
        kvs(vec![
            ("tenant", s("a;b")),
            ("user", s("alice")),
            ("peer", s("10.1.2.3")),
            ("fallback", s("default-tenant")),
        ])
    );
}

// README: delete removes the key and/or the keys matching the pattern; hash replaces values
// with their SHA-256 (attraction: strings as bytes, ints as 8 little-endian bytes).
#[test]
fn delete_and_hash() {
    let out = apply(
        r#"
- {key: db.table, action: delete}
- {pattern: ^secret\., action: delete}
- {key: account_email, action: hash}
- {pattern: ^id\., action: hash}
"#,
        vec![
            ("db.table", s("users")),
            ("secret.a", s("1")),
            ("secret.b", s("2")),
            ("account_email", s("alice@example.com")),
            ("id.n", i(1)),
            ("keep", s("k")),
        ],
    );
    let sha = |text: &str| {
        otlp_ottl::evaluate(&format!("SHA256(\"{text}\")"))
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        out,
        kvs(vec![
            ("account_email", s(&sha("alice@example.com"))),
            (
                "id.n",
                s(&hex::encode(sha2::Sha256::digest(1i64.to_le_bytes())))
            ),
            ("keep", s("k")),
        ])
    );
}

use sha2::Digest as _;

// README: extract copies named groups (the README's pattern, with its one unnamed group made
// non-capturing, since attraction refuses unnamed groups) of the pattern from a string value, overwriting existing
// targets; the source stays; non-strings and non-matches do nothing.
#[test]
fn extract() {
    let yaml = r#"
- key: http.url
  pattern: ^(?P<http_protocol>.*):\/\/(?P<http_domain>.*)\/(?P<http_path>.*)(?:\?|\&)(?P<http_query_params>.*)
  action: extract
"#;
    let out = apply(
        yaml,
        vec![
            (
                "http.url",
                s("http://example.com/path?queryParam1=value1,queryParam2=value2"),
            ),
            ("http_domain", s("old")),
        ],
    );
    assert_eq!(
        out,
        kvs(vec![
            (
                "http.url",
                s("http://example.com/path?queryParam1=value1,queryParam2=value2")
            ),
            ("http_domain", s("example.com")),
            ("http_protocol", s("http")),
            ("http_path", s("path")),
            (
                "http_query_params",
                s("queryParam1=value1,queryParam2=value2")
            ),
        ])
    );
    assert_eq!(
        apply(yaml, vec![("http.url", i(1))]),
        kvs(vec![("http.url", i(1))])
    );
    let config: Vec<ActionConfig> =
        serde_norway::from_str("- {key: a, pattern: '(\\d+)', action: extract}").unwrap();
    let error = Actions::new(&config).unwrap_err();
    assert!(error.to_string().contains("must be named"), "{error}");
}

// README / type_converter.go: convert to int, double or string; unconvertible values stay.
#[test]
fn convert() {
    let out = apply(
        r#"
- {key: code, action: convert, converted_type: int}
- {key: ratio, action: convert, converted_type: double}
- {key: flag, action: convert, converted_type: string}
- {key: bad, action: convert, converted_type: int}
- {key: float, action: convert, converted_type: int}
"#,
        vec![
            ("code", s("503")),
            ("ratio", s("0.25")),
            ("flag", b(true)),
            ("bad", s("n/a")),
            ("float", d(2.9)),
        ],
    );
    assert_eq!(
        out,
        kvs(vec![
            ("code", i(503)),
            ("ratio", d(0.25)),
            ("flag", s("true")),
            ("bad", s("n/a")),
            ("float", i(2)),
        ])
    );
}

// attraction.go's validation, one problem per bad action with its index.
#[test]
fn invalid_actions_are_all_reported() {
    let config: Vec<ActionConfig> = serde_norway::from_str(
        r#"
- {key: a, action: insert}
- {value: 1, action: upsert}
- {key: b, value: 1, from_attribute: c, action: insert}
- {key: d, action: convert, converted_type: float}
- {action: delete}
- {key: e, pattern: "(", action: hash}
- {key: ok, action: delete}
"#,
    )
    .unwrap();
    let Error::InvalidConfig(problems) = Actions::new(&config).unwrap_err() else {
        panic!("expected InvalidConfig");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["[0]", "[1]", "[2]", "[3]", "[4]", "[5]"]);
    let error =
        serde_norway::from_str::<Vec<ActionConfig>>("- {key: a, action: rename}").unwrap_err();
    assert!(
        error.to_string().contains("unknown action \"rename\""),
        "{error}"
    );
}

fn processor(yaml: &str, signal: Signal) -> AttributesProcessor {
    let config: AttributesConfig = serde_norway::from_str(yaml).unwrap();
    AttributesProcessor::new(&config, signal).unwrap_or_else(|e| panic!("{e}"))
}

// README "Include/Exclude Filtering": include is checked before exclude; every property given
// must match.
#[test]
fn include_and_exclude_select_spans() {
    let p = processor(
        r#"
actions:
  - {key: http.request.header.authorization, action: delete}
  - {key: selected, value: true, action: insert}
include:
  match_type: regexp
  services: ["^(checkout|cart)$"]
  span_kinds: [SPAN_KIND_SERVER]
exclude:
  match_type: strict
  span_names: ["GET /api/cart"]
"#,
        Signal::Traces,
    );
    let original = Generator::new(13).traces(1_000);
    let mut request = original.clone();
    p.process_traces(&mut request, &ClientInfo::default());
    let mut selected = 0;
    for (rs_before, rs_after) in original.resource_spans.iter().zip(&request.resource_spans) {
        let service = attr(
            &rs_before.resource.as_ref().unwrap().attributes,
            "service.name",
        )
        .cloned();
        for (ss_before, ss_after) in rs_before.scope_spans.iter().zip(&rs_after.scope_spans) {
            for (before, after) in ss_before.spans.iter().zip(&ss_after.spans) {
                let chosen = (service == Some(s("checkout")) || service == Some(s("cart")))
                    && before.kind == 2
                    && before.name != "GET /api/cart";
                if chosen {
                    selected += 1;
                    assert_eq!(attr(&after.attributes, "selected"), Some(&b(true)));
                } else {
                    assert_eq!(after, before, "unselected spans are unchanged");
                }
            }
        }
    }
    assert!(selected > 0);
}

#[test]
fn attributes_resources_and_libraries_match_all() {
    let p = processor(
        r#"
actions: [{key: marked, value: 1, action: insert}]
include:
  match_type: strict
  attributes: [{key: http.request.method, value: GET}]
  resources: [{Key: service.name, Value: frontend}]
  libraries: [{name: "@opentelemetry/instrumentation-http"}]
"#,
        Signal::Traces,
    );
    let mut request = Generator::new(14).traces(1_000);
    p.process_traces(&mut request, &ClientInfo::default());
    let mut marked = 0;
    for rs in &request.resource_spans {
        let service = attr(&rs.resource.as_ref().unwrap().attributes, "service.name").cloned();
        for ss in &rs.scope_spans {
            let library = ss
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for span in &ss.spans {
                let expected = service == Some(s("frontend"))
                    && library == "@opentelemetry/instrumentation-http"
                    && attr(&span.attributes, "http.request.method") == Some(&s("GET"));
                assert_eq!(attr(&span.attributes, "marked").is_some(), expected);
                marked += usize::from(expected);
            }
        }
    }
    assert!(
        marked > 0,
        "some frontend GET spans come from the Node.js http instrumentation"
    );
}

#[test]
fn logs_and_metrics_matching() {
    let logs = processor(
        r#"
actions: [{key: loud, value: true, action: upsert}]
include:
  match_type: strict
  log_severity_number: {min: WARN, match_undefined: false}
"#,
        Signal::Logs,
    );
    let mut request = Generator::new(15).logs(500);
    logs.process_logs(&mut request, &ClientInfo::default());
    for log in request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
    {
        assert_eq!(
            attr(&log.attributes, "loud").is_some(),
            log.severity_number >= 13
        );
    }

    let metrics = processor(
        r#"
actions: [{key: unit.checked, value: true, action: insert}]
include:
  match_type: regexp
  metric_names: ["^http\\."]
"#,
        Signal::Metrics,
    );
    let mut request = Generator::new(16).metrics(500);
    metrics.process_metrics(&mut request, &ClientInfo::default());
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let mut checked = 0;
    for metric in request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
    {
        let expected = metric.name.starts_with("http.");
        if let Some(Data::Histogram(h)) = &metric.data {
            for p in &h.data_points {
                assert_eq!(attr(&p.attributes, "unit.checked").is_some(), expected);
                checked += usize::from(expected);
            }
        }
    }
    assert!(checked > 0);
}

#[test]
fn properties_must_fit_the_signal() {
    let config: AttributesConfig = serde_norway::from_str(
        r#"
actions: [{key: a, action: delete}]
include: {match_type: strict, services: [svc]}
exclude: {match_type: strict}
"#,
    )
    .unwrap();
    let Error::InvalidConfig(problems) =
        AttributesProcessor::new(&config, Signal::Logs).unwrap_err()
    else {
        panic!("expected InvalidConfig");
    };
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[0].path, "include");
    assert!(
        problems[0]
            .message
            .contains("`services` does not apply to logs")
    );
    assert_eq!(problems[1].path, "exclude");
    assert!(problems[1].message.contains("set at least one of"));
}

// The resource processor upserts and deletes on every resource, leaving spans alone.
#[test]
fn resource_processor() {
    let config: ResourceConfig = serde_norway::from_str(
        r#"
attributes:
  - {key: deployment.environment, value: production, action: upsert}
  - {key: host.name, action: delete}
"#,
    )
    .unwrap();
    let p = ResourceProcessor::new(&config).unwrap();
    let mut request = Generator::new(17).traces(300);
    let before = spans(&request);
    p.process_traces(&mut request, &ClientInfo::default());
    for rs in &request.resource_spans {
        let attributes = &rs.resource.as_ref().unwrap().attributes;
        assert_eq!(
            attr(attributes, "deployment.environment"),
            Some(&s("production"))
        );
        assert!(attr(attributes, "host.name").is_none());
    }
    assert_eq!(spans(&request), before);
    // A request whose resource is absent gets one.
    let mut bare = ExportTraceServiceRequest {
        resource_spans: vec![Default::default()],
    };
    p.process_traces(&mut bare, &ClientInfo::default());
    assert_eq!(
        bare.resource_spans[0].resource.as_ref().unwrap().attributes,
        vec![key_value("deployment.environment", s("production"))]
    );
}
