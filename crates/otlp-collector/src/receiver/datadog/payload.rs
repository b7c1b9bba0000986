//! Datadog tracers' trace payloads, decoded: `/v0.3` and `/v0.4` (a list of traces, each a list of spans as maps,
//! in MessagePack or JSON) and `/v0.5` (a table of strings, then spans as 12-element arrays whose strings are
//! indexes into it). Field names and types are the trace agent's (`pkg/proto/datadog/trace/span.proto`); a field
//! of the wrong type refuses the payload, naming the trace, the span and the field, and fields this receiver does
//! not know are skipped, as the agent skips them.

use crate::receiver::msgpack::{self, Incomplete, Value};

/// A span as a Datadog tracer sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct DdSpan {
    pub(super) service: String,
    /// The operation (`web.request`, `postgres.query`).
    pub(super) name: String,
    /// What was operated on (`GET /cart`, the SQL).
    pub(super) resource: String,
    /// `web`, `http`, `sql`, `cache`, ….
    pub(super) kind: String,
    pub(super) trace_id: u64,
    pub(super) span_id: u64,
    /// 0 for a root span.
    pub(super) parent_id: u64,
    /// Nanoseconds since the Unix epoch.
    pub(super) start: i64,
    /// Nanoseconds.
    pub(super) duration: i64,
    pub(super) error: bool,
    /// String tags, in the order sent.
    pub(super) meta: Vec<(String, String)>,
    /// Numeric tags, in the order sent.
    pub(super) metrics: Vec<(String, f64)>,
    /// `span_links` of a `/v0.4` span (a `/v0.5` span carries its links in `meta`).
    pub(super) links: Vec<DdLink>,
}

/// A link of a `/v0.4` span.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct DdLink {
    pub(super) trace_id_high: u64,
    pub(super) trace_id: u64,
    pub(super) span_id: u64,
    pub(super) attributes: Vec<(String, String)>,
    pub(super) tracestate: String,
    /// The W3C trace flags, with bit 31 set when the tracer set them at all.
    pub(super) flags: u32,
}

/// Why a payload cannot be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BadTraces {
    /// Not MessagePack.
    #[error("body is not MessagePack: {0}")]
    MessagePack(String),
    /// Not JSON.
    #[error("body is not JSON: {0}")]
    Json(String),
    /// Not laid out as the endpoint's version lays traces out.
    #[error("{0}")]
    Layout(String),
    /// A span whose field cannot be read.
    #[error("trace {trace}, span {span}: `{field}` {problem}")]
    Field {
        /// The trace's place in the payload, from 0.
        trace: usize,
        /// The span's place in its trace, from 0.
        span: usize,
        /// The field, as the tracers name it.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The traces of a `/v0.3` or `/v0.4` body, MessagePack or JSON.
pub(super) fn v04(body: &[u8], json: bool) -> Result<Vec<Vec<DdSpan>>, BadTraces> {
    let value = if json { from_json(body)? } else { whole(body)? };
    let Value::Array(traces) = value else {
        return Err(BadTraces::Layout(format!(
            "the payload is {}, not a list of traces",
            kind(&value)
        )));
    };
    each_span(traces, span_of_map)
}

/// Each trace of `traces` (a list of spans each), read span by span with `read`.
fn each_span(
    traces: Vec<Value>,
    read: impl Fn(Value, &At) -> Result<DdSpan, BadTraces>,
) -> Result<Vec<Vec<DdSpan>>, BadTraces> {
    traces
        .into_iter()
        .enumerate()
        .map(|(t, trace)| {
            let Value::Array(spans) = trace else {
                return Err(BadTraces::Layout(format!(
                    "trace {t} is {}, not a list of spans",
                    kind(&trace)
                )));
            };
            spans
                .into_iter()
                .enumerate()
                .map(|(s, span)| read(span, &At { trace: t, span: s }))
                .collect()
        })
        .collect()
}

/// The traces of a `/v0.5` body.
pub(super) fn v05(body: &[u8]) -> Result<Vec<Vec<DdSpan>>, BadTraces> {
    let layout = || BadTraces::Layout("a v0.5 payload is [strings, traces]".to_owned());
    let Value::Array(mut parts) = whole(body)? else {
        return Err(layout());
    };
    if parts.len() != 2 {
        return Err(layout());
    }
    let (Value::Array(traces), Value::Array(strings)) = (parts.remove(1), parts.remove(0)) else {
        return Err(layout());
    };
    let strings: Vec<String> = strings
        .into_iter()
        .enumerate()
        .map(|(i, s)| match s {
            Value::Str(s) => Ok(s),
            other => Err(BadTraces::Layout(format!(
                "string {i} of the table is {}",
                kind(&other)
            ))),
        })
        .collect::<Result<_, _>>()?;
    each_span(traces, |span, at| span_of_array(span, &strings, at))
}

/// Where a span is, for errors.
struct At {
    trace: usize,
    span: usize,
}

impl At {
    fn bad(&self, field: &str, problem: impl Into<String>) -> BadTraces {
        BadTraces::Field {
            trace: self.trace,
            span: self.span,
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

fn whole(body: &[u8]) -> Result<Value, BadTraces> {
    let (value, used) = msgpack::decode(body).map_err(|e| match e {
        Incomplete::More => BadTraces::MessagePack("it ends inside a value".to_owned()),
        Incomplete::Invalid(why) => BadTraces::MessagePack(why),
    })?;
    if used != body.len() {
        return Err(BadTraces::MessagePack(format!(
            "{} bytes follow the payload",
            body.len() - used
        )));
    }
    Ok(value)
}

/// A JSON body as the values MessagePack would have given: the same decoding serves both.
fn from_json(body: &[u8]) -> Result<Value, BadTraces> {
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| BadTraces::Json(e.to_string()))?;
    Ok(json_to_value(json))
}

fn json_to_value(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(items) => {
            Value::Array(items.into_iter().map(json_to_value).collect())
        }
        serde_json::Value::Object(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::Str(k), json_to_value(v)))
                .collect(),
        ),
    }
}

/// What a value is, for errors.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::UInt(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Str(_) => "a string",
        Value::Bin(_) => "binary",
        Value::Array(_) => "a list",
        Value::Map(_) => "a map",
        Value::Ext(..) => "an extension value",
    }
}

fn text(value: Value, at: &At, field: &str) -> Result<String, BadTraces> {
    match value {
        Value::Nil => Ok(String::new()),
        Value::Str(s) => Ok(s),
        Value::Bin(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        other => Err(at.bad(field, format!("is {}, not a string", kind(&other)))),
    }
}

/// An id: an unsigned 64-bit integer (some tracers write those above `i64::MAX` as negative signed integers).
fn id(value: Value, at: &At, field: &str) -> Result<u64, BadTraces> {
    match value {
        Value::Nil => Ok(0),
        Value::UInt(u) => Ok(u),
        Value::Int(i) => Ok(i as u64),
        other => Err(at.bad(field, format!("is {}, not an integer", kind(&other)))),
    }
}

/// A time or duration in nanoseconds (JavaScript tracers may write whole numbers as floats).
fn nanos(value: Value, at: &At, field: &str) -> Result<i64, BadTraces> {
    match value {
        Value::Nil => Ok(0),
        Value::Int(i) => Ok(i),
        Value::UInt(u) => i64::try_from(u).map_err(|_| at.bad(field, format!("{u} is too large"))),
        Value::Float(f) if f.is_finite() => Ok(f as i64),
        other => Err(at.bad(field, format!("is {}, not an integer", kind(&other)))),
    }
}

fn number(value: Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(i as f64),
        Value::UInt(u) => Some(u as f64),
        Value::Float(f) => Some(f),
        Value::Bool(b) => Some(f64::from(u8::from(b))),
        _ => None,
    }
}

fn error_flag(value: Value, at: &At) -> Result<bool, BadTraces> {
    match value {
        Value::Nil => Ok(false),
        Value::Bool(b) => Ok(b),
        Value::Int(i) => Ok(i != 0),
        Value::UInt(u) => Ok(u != 0),
        other => Err(at.bad("error", format!("is {}, not an integer", kind(&other)))),
    }
}

fn entries(value: Value, at: &At, field: &str) -> Result<Vec<(Value, Value)>, BadTraces> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Map(entries) => Ok(entries),
        other => Err(at.bad(field, format!("is {}, not a map", kind(&other)))),
    }
}

/// `meta`: string to string; a nil value is left out, as the agent leaves it out.
fn meta(value: Value, at: &At) -> Result<Vec<(String, String)>, BadTraces> {
    let mut meta = Vec::new();
    for (key, value) in entries(value, at, "meta")? {
        let key = text(key, at, "meta")?;
        if value == Value::Nil {
            continue;
        }
        let value = text(value, at, &format!("meta.{key}"))?;
        meta.push((key, value));
    }
    Ok(meta)
}

fn metrics(value: Value, at: &At) -> Result<Vec<(String, f64)>, BadTraces> {
    let mut metrics = Vec::new();
    for (key, value) in entries(value, at, "metrics")? {
        let key = text(key, at, "metrics")?;
        let number =
            number(value).ok_or_else(|| at.bad(&format!("metrics.{key}"), "is not a number"))?;
        metrics.push((key, number));
    }
    Ok(metrics)
}

fn span_of_map(value: Value, at: &At) -> Result<DdSpan, BadTraces> {
    let Value::Map(fields) = value else {
        return Err(at.bad("", format!("the span is {}, not a map", kind(&value))));
    };
    let mut span = DdSpan::default();
    for (key, value) in fields {
        let Value::Str(key) = key else {
            return Err(at.bad("", "a field name is not a string"));
        };
        match key.as_str() {
            "service" => span.service = text(value, at, &key)?,
            "name" => span.name = text(value, at, &key)?,
            "resource" => span.resource = text(value, at, &key)?,
            "type" => span.kind = text(value, at, &key)?,
            "trace_id" => span.trace_id = id(value, at, &key)?,
            "span_id" => span.span_id = id(value, at, &key)?,
            "parent_id" => span.parent_id = id(value, at, &key)?,
            "start" => span.start = nanos(value, at, &key)?,
            "duration" => span.duration = nanos(value, at, &key)?,
            "error" => span.error = error_flag(value, at)?,
            "meta" => span.meta = meta(value, at)?,
            "metrics" => span.metrics = metrics(value, at)?,
            "span_links" => span.links = links(value, at)?,
            _ => {}
        }
    }
    Ok(span)
}

fn links(value: Value, at: &At) -> Result<Vec<DdLink>, BadTraces> {
    let items = match value {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(at.bad("span_links", format!("is {}, not a list", kind(&other)))),
    };
    let mut links = Vec::with_capacity(items.len());
    for item in items {
        let mut link = DdLink::default();
        for (key, value) in entries(item, at, "span_links")? {
            let key = text(key, at, "span_links")?;
            let field = format!("span_links.{key}");
            match key.as_str() {
                "trace_id" => link.trace_id = id(value, at, &field)?,
                "trace_id_high" => link.trace_id_high = id(value, at, &field)?,
                "span_id" => link.span_id = id(value, at, &field)?,
                "tracestate" => link.tracestate = text(value, at, &field)?,
                "flags" => link.flags = id(value, at, &field)? as u32,
                "attributes" => link.attributes = meta(value, at)?,
                _ => {}
            }
        }
        links.push(link);
    }
    Ok(links)
}

/// A `/v0.5` span: `[service, name, resource, trace_id, span_id, parent_id, start, duration, error, meta,
/// metrics, type]`, its strings as indexes into `strings`.
fn span_of_array(value: Value, strings: &[String], at: &At) -> Result<DdSpan, BadTraces> {
    let Value::Array(fields) = value else {
        return Err(at.bad("", format!("the span is {}, not a list", kind(&value))));
    };
    let Ok::<[Value; 12], _>(
        [
            service,
            name,
            resource,
            trace_id,
            span_id,
            parent_id,
            start,
            duration,
            error,
            meta,
            metrics,
            kind_field,
        ],
    ) = fields.try_into()
    else {
        return Err(at.bad("", "a v0.5 span is a list of 12 fields"));
    };
    let string = |value: Value, field: &str| -> Result<String, BadTraces> {
        let index = match value {
            Value::Int(i) => usize::try_from(i).ok(),
            Value::UInt(u) => usize::try_from(u).ok(),
            other => {
                return Err(at.bad(
                    field,
                    format!("is {}, not an index into the strings", kind(&other)),
                ));
            }
        };
        index
            .and_then(|i| strings.get(i))
            .cloned()
            .ok_or_else(|| at.bad(field, format!("is beyond the {} strings", strings.len())))
    };
    let mut span = DdSpan {
        service: string(service, "service")?,
        name: string(name, "name")?,
        resource: string(resource, "resource")?,
        trace_id: id(trace_id, at, "trace_id")?,
        span_id: id(span_id, at, "span_id")?,
        parent_id: id(parent_id, at, "parent_id")?,
        start: nanos(start, at, "start")?,
        duration: nanos(duration, at, "duration")?,
        error: error_flag(error, at)?,
        kind: string(kind_field, "type")?,
        ..DdSpan::default()
    };
    for (key, value) in entries(meta, at, "meta")? {
        span.meta
            .push((string(key, "meta")?, string(value, "meta")?));
    }
    for (key, value) in entries(metrics, at, "metrics")? {
        let key = string(key, "metrics")?;
        let number =
            number(value).ok_or_else(|| at.bad(&format!("metrics.{key}"), "is not a number"))?;
        span.metrics.push((key, number));
    }
    Ok(span)
}

#[cfg(test)]
mod tests;
