//! Criterion benchmarks: OTTL statement execution per span beside a hand-written Rust closure
//! doing the same edit (`peer_closure`, the floor), for `set` with a `where`,
//! `replace_pattern`, and a `filter` condition; and the parse+compile time of a typical
//! configuration beside loading its YAML (`peer_yaml_load`).
//!
//! One element is one span. Each iteration runs on a fresh copy of an otlp-testkit request
//! (the copy is made outside the timed part).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use otlp_ottl::{Filter, FilterConfig, Transform, TransformConfig, key_value, string_value};
use otlp_testkit::Generator;
use regex::Regex;

const SPANS: usize = 1_000;

fn request() -> ExportTraceServiceRequest {
    Generator::new(1).traces(SPANS)
}

fn transform(yaml: &str) -> Transform {
    let config: TransformConfig = serde_norway::from_str(yaml).expect("valid config");
    Transform::new(&config).expect("statements compile")
}

fn string_attr<'a>(
    attributes: &'a [opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<&'a str> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value {
            Some(AnyValue {
                value: Some(any_value::Value::StringValue(s)),
            }) => Some(s.as_str()),
            _ => None,
        })
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(SPANS as u64));
    group
}

/// `set(span.attributes["x"], "y") where span.name == "GET /api/cart"`.
fn set_where(c: &mut Criterion) {
    let ottl = transform(
        r#"
trace_statements:
  - set(span.attributes["x"], "y") where span.name == "GET /api/cart"
"#,
    );
    let peer = |request: &mut ExportTraceServiceRequest| {
        for rs in &mut request.resource_spans {
            for ss in &mut rs.scope_spans {
                for span in &mut ss.spans {
                    if span.name == "GET /api/cart" {
                        match span.attributes.iter_mut().find(|kv| kv.key == "x") {
                            Some(kv) => kv.value = Some(string_value("y")),
                            None => span.attributes.push(key_value("x", string_value("y"))),
                        }
                    }
                }
            }
        }
    };
    let input = request();
    // Both must do the same edit, or the comparison is meaningless.
    let (mut a, mut b) = (input.clone(), input.clone());
    ottl.apply_traces(&mut a).expect("applies");
    peer(&mut b);
    assert_eq!(a, b);
    assert_ne!(a, input, "some spans are cart requests");

    let mut group = group(c, "ottl_set_where");
    group.bench_with_input(BenchmarkId::new("ottl", SPANS), &input, |bench, input| {
        bench.iter_batched_ref(
            || input.clone(),
            |r| ottl.apply_traces(black_box(r)),
            BatchSize::LargeInput,
        );
    });
    group.bench_with_input(
        BenchmarkId::new("peer_closure", SPANS),
        &input,
        |bench, input| {
            bench.iter_batched_ref(
                || input.clone(),
                |r| peer(black_box(r)),
                BatchSize::LargeInput,
            );
        },
    );
    group.finish();
}

/// `replace_pattern(span.attributes["url.path"], "/api/products/[0-9A-Z]+", "/api/products/{id}")`.
fn replace_pattern(c: &mut Criterion) {
    let ottl = transform(
        r#"
trace_statements:
  - replace_pattern(span.attributes["url.path"], "/api/products/[0-9A-Z]+", "/api/products/{id}")
"#,
    );
    let regex = Regex::new("/api/products/[0-9A-Z]+").expect("valid regex");
    let peer = |request: &mut ExportTraceServiceRequest| {
        for rs in &mut request.resource_spans {
            for ss in &mut rs.scope_spans {
                for span in &mut ss.spans {
                    let Some(kv) = span.attributes.iter_mut().find(|kv| kv.key == "url.path")
                    else {
                        continue;
                    };
                    if let Some(AnyValue {
                        value: Some(any_value::Value::StringValue(path)),
                    }) = &mut kv.value
                        && regex.is_match(path)
                    {
                        *path = regex.replace_all(path, "/api/products/{id}").into_owned();
                    }
                }
            }
        }
    };
    let input = request();
    let (mut a, mut b) = (input.clone(), input.clone());
    ottl.apply_traces(&mut a).expect("applies");
    peer(&mut b);
    assert_eq!(a, b);
    assert_ne!(a, input, "some spans carry product paths");

    let mut group = group(c, "ottl_replace_pattern");
    group.bench_with_input(BenchmarkId::new("ottl", SPANS), &input, |bench, input| {
        bench.iter_batched_ref(
            || input.clone(),
            |r| ottl.apply_traces(black_box(r)),
            BatchSize::LargeInput,
        );
    });
    group.bench_with_input(
        BenchmarkId::new("peer_closure", SPANS),
        &input,
        |bench, input| {
            bench.iter_batched_ref(
                || input.clone(),
                |r| peer(black_box(r)),
                BatchSize::LargeInput,
            );
        },
    );
    group.finish();
}

/// The filter condition `attributes["http.route"] == "/api/cart"` dropping spans, with empty
/// scopes and resources removed.
fn filter(c: &mut Criterion) {
    let config: FilterConfig = serde_norway::from_str(
        r#"
traces:
  span:
    - 'attributes["http.route"] == "/api/cart"'
"#,
    )
    .expect("valid config");
    let ottl = Filter::new(&config).expect("conditions compile");
    let peer = |request: &mut ExportTraceServiceRequest| {
        let mut dropped = 0;
        request.resource_spans.retain_mut(|rs| {
            rs.scope_spans.retain_mut(|ss| {
                ss.spans.retain(|span| {
                    let drop = string_attr(&span.attributes, "http.route") == Some("/api/cart");
                    dropped += usize::from(drop);
                    !drop
                });
                !ss.spans.is_empty()
            });
            !rs.scope_spans.is_empty()
        });
        dropped
    };
    let input = request();
    let (mut a, mut b) = (input.clone(), input.clone());
    let stats = ottl.filter_traces(&mut a).expect("filters");
    assert_eq!(stats.spans, peer(&mut b));
    assert_eq!(a, b);
    assert!(stats.spans > 0, "some spans are dropped");

    let mut group = group(c, "ottl_filter");
    group.bench_with_input(BenchmarkId::new("ottl", SPANS), &input, |bench, input| {
        bench.iter_batched_ref(
            || input.clone(),
            |r| ottl.filter_traces(black_box(r)),
            BatchSize::LargeInput,
        );
    });
    group.bench_with_input(
        BenchmarkId::new("peer_closure", SPANS),
        &input,
        |bench, input| {
            bench.iter_batched_ref(
                || input.clone(),
                |r| peer(black_box(r)),
                BatchSize::LargeInput,
            );
        },
    );
    group.finish();
}

/// A typical transform configuration: ten statements over the three signals.
const TYPICAL: &str = r#"
error_mode: ignore
trace_statements:
  - context: resource
    statements:
      - set(attributes["deployment.environment"], "production")
      - delete_key(attributes, "process.command_line")
  - context: span
    conditions:
      - kind == SPAN_KIND_SERVER
    statements:
      - set(attributes["whose_fault"], "ours") where attributes["http.response.status_code"] >= 500
      - replace_pattern(attributes["url.path"], "/api/products/[0-9A-Z]+", "/api/products/{id}")
      - delete_matching_keys(attributes, "(?i).*password.*")
      - truncate_all(attributes, 4096)
metric_statements:
  - set(metric.description, "Sum") where metric.type == METRIC_DATA_TYPE_SUM
  - limit(datapoint.attributes, 100, ["host.name"])
log_statements:
  - set(log.severity_text, "FAIL") where IsMatch(log.body, "request failed")
  - merge_maps(log.cache, ParseJSON(log.body), "upsert") where IsString(log.body) and IsMatch(log.body, "^\\{")
"#;

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("ottl_compile_config");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(10));
    group.bench_function(BenchmarkId::new("ottl", "10 statements"), |bench| {
        bench.iter(|| {
            let config: TransformConfig =
                serde_norway::from_str(black_box(TYPICAL)).expect("valid");
            Transform::new(&config).expect("compiles")
        });
    });
    group.bench_function(
        BenchmarkId::new("peer_yaml_load", "10 statements"),
        |bench| {
            bench.iter(|| {
                serde_norway::from_str::<TransformConfig>(black_box(TYPICAL)).expect("valid")
            });
        },
    );
    group.finish();
}

criterion_group!(benches, set_where, replace_pattern, filter, compile);
criterion_main!(benches);
