//! Helpers shared by the conformance tests: small hand-built items and one-statement runners.

#![allow(dead_code)]

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_ottl::{
    ContextKind, DataPointMut, ResourceParts, ScopeParts, TransformContext, Value, key_value,
    parse_condition, parse_expression, parse_statement,
};

pub fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(v.to_owned())),
    }
}

pub fn i(v: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(v)),
    }
}

pub fn d(v: f64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::DoubleValue(v)),
    }
}

pub fn b(v: bool) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::BoolValue(v)),
    }
}

pub fn bytes(v: &[u8]) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::BytesValue(v.to_vec())),
    }
}

pub fn list(items: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue { values: items })),
    }
}

pub fn map(entries: Vec<(&str, AnyValue)>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList {
            values: kvs(entries),
        })),
    }
}

pub fn kvs(entries: Vec<(&str, AnyValue)>) -> Vec<KeyValue> {
    entries.into_iter().map(|(k, v)| key_value(k, v)).collect()
}

/// The attribute `key` of a map, or `None`.
pub fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// One telemetry tree: a resource with `service.name`, a scope, and one item of each kind.
pub struct Fixture {
    pub resource: Option<Resource>,
    pub resource_schema: String,
    pub scope: Option<InstrumentationScope>,
    pub scope_schema: String,
    pub span: Span,
    pub log: LogRecord,
    pub metric: Metric,
    pub point: NumberDataPoint,
    pub cache: Vec<KeyValue>,
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture {
            resource: Some(Resource {
                attributes: kvs(vec![
                    ("service.name", s("checkout")),
                    ("host.name", s("pod-1234")),
                ]),
                ..Default::default()
            }),
            resource_schema: String::new(),
            scope: Some(InstrumentationScope {
                name: "otelhttp".to_owned(),
                version: "0.60.0".to_owned(),
                ..Default::default()
            }),
            scope_schema: String::new(),
            span: Span {
                trace_id: (1..=16).collect(),
                span_id: (1..=8).collect(),
                name: "GET /health".to_owned(),
                kind: 2,
                start_time_unix_nano: 1_675_468_800_000_000_000,
                end_time_unix_nano: 1_675_468_800_250_000_000,
                attributes: kvs(vec![
                    ("http.method", s("GET")),
                    ("http.status_code", i(200)),
                ]),
                ..Default::default()
            },
            log: LogRecord {
                body: Some(s("request failed")),
                severity_number: 17,
                severity_text: "ERROR".to_owned(),
                ..Default::default()
            },
            metric: Metric {
                name: "http.server.duration".to_owned(),
                ..Default::default()
            },
            point: NumberDataPoint::default(),
            cache: Vec::new(),
        }
    }
}

impl Fixture {
    /// A context for `kind` over the fixture's items.
    pub fn ctx(&mut self, kind: ContextKind) -> TransformContext<'_> {
        let resource = ResourceParts {
            resource: &mut self.resource,
            schema_url: &mut self.resource_schema,
        };
        let scope = ScopeParts {
            scope: &mut self.scope,
            schema_url: &mut self.scope_schema,
        };
        match kind {
            ContextKind::Resource => TransformContext::for_resource(resource, &mut self.cache),
            ContextKind::Scope => TransformContext::for_scope(resource, scope, &mut self.cache),
            ContextKind::Span => {
                TransformContext::for_span(resource, scope, &mut self.span, &mut self.cache)
            }
            ContextKind::Log => {
                TransformContext::for_log(resource, scope, &mut self.log, &mut self.cache)
            }
            ContextKind::Metric => {
                TransformContext::for_metric(resource, scope, &mut self.metric, &mut self.cache)
            }
            ContextKind::DataPoint => TransformContext::for_data_point(
                resource,
                scope,
                &mut self.metric,
                DataPointMut::Number(&mut self.point),
                &mut self.cache,
            ),
            ContextKind::SpanEvent => panic!("span events have their own fixture"),
        }
    }

    /// Runs one statement; returns whether its editor ran.
    pub fn run(&mut self, kind: ContextKind, statement: &str) -> bool {
        let compiled = parse_statement(kind, statement)
            .unwrap_or_else(|e| panic!("`{statement}` does not compile: {e}"));
        compiled
            .execute(&mut self.ctx(kind))
            .unwrap_or_else(|e| panic!("`{statement}` failed: {e}"))
    }

    /// Runs one statement that must fail on this item; returns the message.
    pub fn run_err(&mut self, kind: ContextKind, statement: &str) -> String {
        let compiled = parse_statement(kind, statement)
            .unwrap_or_else(|e| panic!("`{statement}` does not compile: {e}"));
        match compiled.execute(&mut self.ctx(kind)) {
            Ok(_) => panic!("`{statement}` succeeded"),
            Err(error) => error.to_string(),
        }
    }

    /// Evaluates a condition.
    pub fn cond(&mut self, kind: ContextKind, condition: &str) -> bool {
        let compiled = parse_condition(kind, condition)
            .unwrap_or_else(|e| panic!("`{condition}` does not compile: {e}"));
        compiled
            .eval(&self.ctx(kind))
            .unwrap_or_else(|e| panic!("`{condition}` failed: {e}"))
    }

    /// Evaluates a value expression.
    pub fn value(&mut self, kind: ContextKind, expression: &str) -> Value<'static> {
        let compiled = parse_expression(kind, expression)
            .unwrap_or_else(|e| panic!("`{expression}` does not compile: {e}"));
        let ctx = self.ctx(kind);
        compiled
            .eval(&ctx)
            .map(Value::into_owned)
            .unwrap_or_else(|e| panic!("`{expression}` failed: {e}"))
    }

    /// Evaluates a value expression that must fail; returns the message.
    pub fn value_err(&mut self, kind: ContextKind, expression: &str) -> String {
        let compiled = parse_expression(kind, expression)
            .unwrap_or_else(|e| panic!("`{expression}` does not compile: {e}"));
        let ctx = self.ctx(kind);
        match compiled.eval(&ctx) {
            Ok(v) => panic!("`{expression}` evaluated to {v:?}"),
            Err(error) => error.to_string(),
        }
    }

    pub fn span_attr(&self, key: &str) -> Option<&AnyValue> {
        attr(&self.span.attributes, key)
    }
}

/// A string value.
pub fn vs(text: &str) -> Value<'static> {
    Value::string(text)
}

/// A list value of attribute values.
pub fn vlist(items: Vec<AnyValue>) -> Value<'static> {
    Value::List(items.into())
}

/// A map value.
pub fn vmap(entries: Vec<(&str, AnyValue)>) -> Value<'static> {
    Value::Map(kvs(entries).into())
}
