//! `set_semconv_span_name(semconv_version, original_span_name_attribute?)`, a span-context
//! editor of otelcol's transform processor ("Traces only functions"): renames a span after the
//! semantic conventions for HTTP, RPC, messaging and database spans, so that span names stay
//! low-cardinality for span metrics (`GET /api/v1/users/{id}` rather than
//! `GET /api/v1/users/123`). Spans those conventions do not name keep their name.

use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

use super::{Args, EditorFn, FunctionDef, ParamKind, editor_def, optional, required};
use crate::context::{ContextKind, Field, TransformContext};
use crate::error::Result;
use crate::value::{Value, put, string_value};

pub(crate) const FUNCTIONS: &[FunctionDef] = &[FunctionDef {
    contexts: Some(&[ContextKind::Span]),
    ..editor_def(
        "set_semconv_span_name",
        &[
            required("semconv_version", ParamKind::Str),
            optional("original_span_name_attribute", ParamKind::Str),
        ],
        build,
    )
}];

/// The semantic-convention versions whose naming rules this follows (otelcol's range).
const MIN_VERSION: (u64, u64, u64) = (1, 37, 0);
const MAX_VERSION: (u64, u64, u64) = (1, 43, 0);

struct SetSemconvSpanName {
    original_span_name_attribute: Option<String>,
}

fn build(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let version = args.str(0)?;
    let Some((number, prerelease)) = parse_semver(&version) else {
        return Err(args.error(0, format!("failed to parse semconv version {version:?}")));
    };
    // A pre-release sorts before its release, so `1.37.0-rc.1` is older than 1.37.0.
    let too_old = number < MIN_VERSION || (number == MIN_VERSION && prerelease);
    if too_old || number > MAX_VERSION {
        let (a, b, c) = MIN_VERSION;
        let (x, y, z) = MAX_VERSION;
        return Err(args.error(
            0,
            format!(
                "unsupported semconv version {version:?}: must be between {a}.{b}.{c} and {x}.{y}.{z}"
            ),
        ));
    }
    let original_span_name_attribute = args.opt_str(1);
    if original_span_name_attribute
        .as_deref()
        .is_some_and(str::is_empty)
    {
        return Err(args.error(1, "originalSpanNameAttribute cannot be an empty string"));
    }
    Ok(Box::new(SetSemconvSpanName {
        original_span_name_attribute,
    }))
}

/// A semantic version as Masterminds/semver's `NewVersion` reads it: an optional `v`, one to
/// three numbers (missing ones are 0), an optional `-pre.release` and `+build`. Returns the
/// numbers and whether there is a pre-release.
fn parse_semver(text: &str) -> Option<((u64, u64, u64), bool)> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let (text, build) = match text.split_once('+') {
        Some((t, b)) => (t, Some(b)),
        None => (text, None),
    };
    let (core, pre) = match text.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (text, None),
    };
    let identifiers_ok = |s: &str| {
        s.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    if !pre.is_none_or(identifiers_ok) || !build.is_none_or(identifiers_ok) {
        return None;
    }
    let mut numbers = [0u64; 3];
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    Some(((numbers[0], numbers[1], numbers[2]), pre.is_some()))
}

impl EditorFn for SetSemconvSpanName {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let span = ctx.span_mut(Field::SpanName)?;
        let Some(name) = semconv_span_name(span) else {
            return Ok(());
        };
        if name == span.name {
            return Ok(());
        }
        let original = std::mem::replace(&mut span.name, name);
        if let Some(key) = &self.original_span_name_attribute {
            put(&mut span.attributes, key, string_value(original));
        }
        Ok(())
    }
}

/// An attribute's value, `None` when the key is absent (a key with an empty value is present).
fn attribute<'s>(span: &'s Span, key: &str) -> Option<Value<'s>> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| Value::from_opt_any(kv.value.as_ref()))
}

/// An attribute as pdata's `AsString` writes it.
fn text(span: &Span, key: &str) -> Option<String> {
    attribute(span, key).map(|v| v.as_string().into_owned())
}

/// The current attribute, or the deprecated one it replaced (the README's table).
fn text_or(span: &Span, key: &str, deprecated: &str) -> Option<String> {
    text(span, key).or_else(|| text(span, deprecated))
}

/// pdata's `Value.Bool()`: false for anything that is not a true bool.
fn is_true(span: &Span, key: &str) -> bool {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .is_some_and(|v: &AnyValue| {
            matches!(
                v.value,
                Some(opentelemetry_proto::tonic::common::v1::any_value::Value::BoolValue(true))
            )
        })
}

/// The name the conventions give a span of its kind, trying the families in otelcol's order;
/// `None` keeps the span's name.
fn semconv_span_name(span: &Span) -> Option<String> {
    let kind = SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified);
    match kind {
        SpanKind::Server => http_span_name(span, "http.route")
            .or_else(|| rpc_span_name(span))
            .or_else(|| messaging_span_name(span)),
        SpanKind::Client => http_span_name(span, "url.template")
            .or_else(|| rpc_span_name(span))
            .or_else(|| db_span_name(span))
            .or_else(|| messaging_span_name(span)),
        SpanKind::Consumer | SpanKind::Producer => messaging_span_name(span),
        SpanKind::Unspecified | SpanKind::Internal => None,
    }
}

/// `{method} {target}` where target is `http.route` (server) or `url.template` (client), or
/// only `{method}` without it.
fn http_span_name(span: &Span, subject: &str) -> Option<String> {
    let method = text_or(span, "http.request.method", "http.method")?;
    Some(match text(span, subject) {
        Some(target) => format!("{method} {target}"),
        None => method,
    })
}

/// `{service}/{method}`, `{method}`, `{service}/*`, or the RPC system.
fn rpc_span_name(span: &Span) -> Option<String> {
    let system = text_or(span, "rpc.system.name", "rpc.system")?;
    let method = text_or(span, "rpc.method", "rpc.grpc.method");
    let service = text_or(span, "rpc.service", "rpc.grpc.service");
    Some(match (service, method) {
        (Some(service), Some(method)) => format!("{service}/{method}"),
        (None, Some(method)) => method,
        (Some(service), None) => format!("{service}/*"),
        (None, None) => system,
    })
}

/// `db.query.summary`, else `{operation} {target}`, `{operation}`, `{target}`, or the system.
fn db_span_name(span: &Span) -> Option<String> {
    let system = text_or(span, "db.system.name", "db.system")?;
    if let Some(summary) = text(span, "db.query.summary") {
        return Some(summary);
    }
    let operation = text_or(span, "db.operation.name", "db.operation").unwrap_or_default();
    let target = database_target(span);
    Some(match (operation.is_empty(), target.is_empty()) {
        (false, false) => format!("{operation} {target}"),
        (false, true) => operation,
        (true, false) => target,
        (true, true) => system,
    })
}

/// `{namespace}.{collection}` or `{namespace}.{stored procedure}` (each part alone when the
/// other is missing), else the namespace, else `{server.address}:{server.port}`.
fn database_target(span: &Span) -> String {
    let namespace = text_or(span, "db.namespace", "db.name").unwrap_or_default();
    let qualified = |name: String| {
        if namespace.is_empty() {
            name
        } else {
            format!("{namespace}.{name}")
        }
    };
    if let Some(collection) = text(span, "db.collection.name") {
        return qualified(collection);
    }
    if let Some(procedure) = text(span, "db.stored_procedure.name") {
        return qualified(procedure);
    }
    if !namespace.is_empty() {
        return namespace;
    }
    server_address(span).unwrap_or_default()
}

/// `{server.address}:{server.port}`, or the address alone.
fn server_address(span: &Span) -> Option<String> {
    let address = text(span, "server.address")?;
    Some(match text(span, "server.port") {
        Some(port) => format!("{address}:{port}"),
        None => address,
    })
}

/// `{operation} {destination}`, `{destination}`, `{operation}`, or the messaging system.
fn messaging_span_name(span: &Span) -> Option<String> {
    let system = text(span, "messaging.system")?;
    let operation = text_or(span, "messaging.operation.name", "messaging.operation");
    let destination = messaging_destination(span);
    Some(match (operation, destination.is_empty()) {
        (Some(operation), false) => format!("{operation} {destination}"),
        (None, false) => destination,
        (Some(operation), true) => operation,
        (None, true) => system,
    })
}

/// `(temporary)`, `(anonymous)`, the destination template, the destination name, or the
/// server address; empty when there is none.
fn messaging_destination(span: &Span) -> String {
    if is_true(span, "messaging.destination.temporary") {
        return "(temporary)".to_owned();
    }
    // Anonymous destinations should also be marked temporary; this catches instrumentation
    // that forgot to.
    if is_true(span, "messaging.destination.anonymous") {
        return "(anonymous)".to_owned();
    }
    text(span, "messaging.destination.template")
        .or_else(|| text_or(span, "messaging.destination.name", "messaging.destination"))
        .or_else(|| server_address(span))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_masterminds_semver_does() {
        assert_eq!(parse_semver("1.43.0"), Some(((1, 43, 0), false)));
        assert_eq!(parse_semver("v1.40"), Some(((1, 40, 0), false)));
        assert_eq!(parse_semver("1.38.0-rc.1+b5"), Some(((1, 38, 0), true)));
        assert_eq!(parse_semver("1.x"), None);
        assert_eq!(parse_semver(""), None);
        assert_eq!(parse_semver("1.2.3.4"), None);
    }
}
