//! The filter processor's `HasAttrKeyOnDatapoint(key)` and `HasAttrOnDatapoint(key,
//! expected_val)`: drop a whole metric by the attributes of its data points.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

use super::convert::METRIC_ONLY;
use crate::context::{Field, TransformContext};
use crate::error::{Error, Result};
use crate::funcs::{Args, Build, ConverterFn, FunctionDef, ParamKind, required};
use crate::value::Value;

pub(super) const HAS_ATTR_KEY_ON_DATAPOINT: FunctionDef = FunctionDef {
    name: "HasAttrKeyOnDatapoint",
    params: &[required("key", ParamKind::Str)],
    build: Build::Converter(build_has_key),
    contexts: METRIC_ONLY,
    string_fn: None,
};

pub(super) const HAS_ATTR_ON_DATAPOINT: FunctionDef = FunctionDef {
    name: "HasAttrOnDatapoint",
    params: &[
        required("key", ParamKind::Str),
        required("expected_val", ParamKind::Str),
    ],
    build: Build::Converter(build_has_attr),
    contexts: METRIC_ONLY,
    string_fn: None,
};

/// Whether a data point of the metric carries `key` (with the value `expected`, when set).
struct HasAttrOnDatapoint {
    function: &'static str,
    key: String,
    expected: Option<String>,
}

fn build_has_key(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(HasAttrOnDatapoint {
        function: "HasAttrKeyOnDatapoint",
        key: args.str(0)?,
        expected: None,
    }))
}

fn build_has_attr(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(HasAttrOnDatapoint {
        function: "HasAttrOnDatapoint",
        key: args.str(0)?,
        expected: Some(args.str(1)?),
    }))
}

impl ConverterFn for HasAttrOnDatapoint {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let metric = ctx.metric(Field::MetricDataPoints)?;
        let found = match &metric.data {
            Some(Data::Gauge(g)) => self.check(g.data_points.iter().map(|p| &p.attributes)),
            Some(Data::Sum(s)) => self.check(s.data_points.iter().map(|p| &p.attributes)),
            Some(Data::Histogram(h)) => self.check(h.data_points.iter().map(|p| &p.attributes)),
            Some(Data::ExponentialHistogram(h)) => {
                self.check(h.data_points.iter().map(|p| &p.attributes))
            }
            Some(Data::Summary(s)) => self.check(s.data_points.iter().map(|p| &p.attributes)),
            None => {
                return Err(Error::eval(format!(
                    "{}: unknown metric type",
                    self.function
                )));
            }
        };
        Ok(Value::Bool(found))
    }
}

impl HasAttrOnDatapoint {
    /// otelcol's rule, kept as it is: the FIRST point carrying the key decides. With an
    /// expected value, that point's value must be that string (a value of another type reads
    /// as the empty string, Go's `Value.Str()`); later points are not looked at.
    fn check<'a>(&self, points: impl Iterator<Item = &'a Vec<KeyValue>>) -> bool {
        for attributes in points {
            let Some(kv) = attributes.iter().find(|kv| kv.key == self.key) else {
                continue;
            };
            let Some(expected) = &self.expected else {
                return true;
            };
            let actual = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.as_str(),
                _ => "",
            };
            return actual == expected;
        }
        false
    }
}
