//! `ParseSeverity`: maps a log level value (a string such as `"inf"`, or a number such as an HTTP
//! status code) to a severity level through a mapping of level → criteria, as otelcol's
//! `func_parse_severity.go` does.
//!
//! The mapping is a map literal whose keys are the levels returned and whose values are lists of
//! criteria maps: `{"equals": ["inf", "info"]}` matches those strings exactly, `{"range": {"min":
//! 400, "max": 499}}` matches integers in that inclusive range, and `{"range": "4xx"}` is the
//! HTTP shorthand for 400..=499 (`2xx` to `5xx`). otelcol also requires the mapping to be a
//! literal; its structure is checked once, here at build time, so a bad mapping fails at startup.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::funcs::{Args, ConverterFn};
use crate::program::expr::Expr;
use crate::value::Value;

/// One criteria map of a level: exact strings, and an inclusive integer range.
#[derive(Debug, Default)]
struct Criterion {
    equals: Vec<String>,
    range: Option<(i64, i64)>,
}

/// `ParseSeverity(target, mapping)`.
struct ParseSeverity {
    target: Expr,
    /// The levels in the order the mapping lists them.
    levels: Vec<(String, Vec<Criterion>)>,
}

pub(super) fn build_parse_severity(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let mapping = args.getter(1)?;
    let levels = match mapping.as_literal() {
        Some(Value::Map(entries)) => parse_mapping(entries).map_err(|e| args.error(1, e))?,
        _ => return Err(args.error(1, "severity mapping must be a literal map")),
    };
    Ok(Box::new(ParseSeverity { target, levels }))
}

/// Checks the mapping's structure, with otelcol's messages.
fn parse_mapping(
    entries: &[KeyValue],
) -> std::result::Result<Vec<(String, Vec<Criterion>)>, String> {
    let mut levels = Vec::with_capacity(entries.len());
    for entry in entries {
        let Some(any_value::Value::ArrayValue(list)) = inner(entry.value.as_ref()) else {
            return Err(format!(
                "severity mapping criteria must be a list (level {:?})",
                entry.key
            ));
        };
        let mut criteria = Vec::with_capacity(list.values.len());
        for item in &list.values {
            let Some(any_value::Value::KvlistValue(map)) = item.value.as_ref() else {
                return Err(format!(
                    "severity mapping criteria items must be maps (level {:?})",
                    entry.key
                ));
            };
            let criterion = parse_criterion(&map.values).map_err(|e| {
                format!(
                    "invalid severity mapping criteria: {e} (level {:?})",
                    entry.key
                )
            })?;
            criteria.push(criterion);
        }
        levels.push((entry.key.clone(), criteria));
    }
    Ok(levels)
}

fn inner(value: Option<&AnyValue>) -> Option<&any_value::Value> {
    value.and_then(|v| v.value.as_ref())
}

fn field<'a>(map: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    map.iter().find(|kv| kv.key == key)
}

/// One criteria map. Keys other than `equals` and `range` are ignored, as otelcol ignores them
/// (so `{"min": 1, "max": 2}` without `range` is a criterion that matches nothing).
fn parse_criterion(map: &[KeyValue]) -> std::result::Result<Criterion, String> {
    let mut criterion = Criterion::default();
    if let Some(equals) = field(map, "equals") {
        let Some(any_value::Value::ArrayValue(list)) = inner(equals.value.as_ref()) else {
            return Err("equals must be a list".to_owned());
        };
        for item in &list.values {
            let Some(any_value::Value::StringValue(s)) = item.value.as_ref() else {
                return Err("equals values must be strings".to_owned());
            };
            criterion.equals.push(s.clone());
        }
    }
    if let Some(range) = field(map, "range") {
        criterion.range = Some(match inner(range.value.as_ref()) {
            Some(any_value::Value::KvlistValue(bounds)) => {
                let min = field(&bounds.values, "min").ok_or("range must have a min value")?;
                let max = field(&bounds.values, "max").ok_or("range must have a max value")?;
                let Some(any_value::Value::IntValue(min)) = inner(min.value.as_ref()) else {
                    return Err("min must be an int64".to_owned());
                };
                let Some(any_value::Value::IntValue(max)) = inner(max.value.as_ref()) else {
                    return Err("max must be an int64".to_owned());
                };
                (*min, *max)
            }
            Some(any_value::Value::StringValue(placeholder)) => match placeholder.as_str() {
                "2xx" => (200, 299),
                "3xx" => (300, 399),
                "4xx" => (400, 499),
                "5xx" => (500, 599),
                other => return Err(format!("unknown range placeholder: {other}")),
            },
            _ => return Err("range must be a map or a known placeholder string".to_owned()),
        });
    }
    Ok(criterion)
}

impl ConverterFn for ParseSeverity {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let value = self.target.eval(ctx)?;
        for (level, criteria) in &self.levels {
            for criterion in criteria {
                let matched = match &value {
                    Value::Str(s) => criterion.equals.iter().any(|e| e == s),
                    Value::Int(i) => criterion
                        .range
                        .is_some_and(|(min, max)| (min..=max).contains(i)),
                    // Only strings and ints are log levels; otelcol fails on the first criterion
                    // it evaluates against anything else.
                    other => {
                        return Err(Error::eval(format!(
                            "ParseSeverity: could not map log level: could not evaluate log level of value '{}': unsupported value type: {}",
                            other.as_string(),
                            other.type_name()
                        )));
                    }
                };
                if matched {
                    return Ok(Value::Str(Cow::Borrowed(level.as_str())));
                }
            }
        }
        Err(Error::eval(format!(
            "ParseSeverity: could not map log level: no matching log level found for value '{}'",
            value.as_string()
        )))
    }
}
