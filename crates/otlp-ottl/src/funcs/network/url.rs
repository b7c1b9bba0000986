//! `URL`: the parts of a URL, or the parameters of a bare query string, under the
//! semantic-convention keys otelcol uses.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
};

use super::go_url::{GoUrl, Part, unescape};
use crate::error::{Error, Result};
use crate::funcs::expect_string;
use crate::value::{Value, key_value, put, string_value};

fn str_any(s: impl Into<String>) -> AnyValue {
    string_value(s)
}

/// `url.ParseQuery`, for a URL that is only a query string (`?a=1&b=2`): each parameter with
/// the list of its values, in order of first appearance.
fn parse_query(query: &str) -> std::result::Result<Vec<KeyValue>, String> {
    let mut params: Vec<(String, Vec<AnyValue>)> = Vec::new();
    let mut first_error = None;
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        if pair.contains(';') {
            first_error.get_or_insert_with(|| "invalid semicolon separator in query".to_owned());
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = unescape(key, Part::QueryComponent)
            .and_then(|k| unescape(value, Part::QueryComponent).map(|v| (k, v)));
        match decoded {
            Ok((key, value)) => match params.iter_mut().find(|(k, _)| *k == key) {
                Some((_, values)) => values.push(str_any(value)),
                None => params.push((key, vec![str_any(value)])),
            },
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    Ok(params
        .into_iter()
        .map(|(key, values)| {
            key_value(
                key,
                AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue { values })),
                },
            )
        })
        .collect())
}

/// `URL(uri)`: the parts of a URL under the semantic-convention keys otelcol uses.
pub(super) fn parse_url(value: Value<'_>) -> Result<Value<'_>> {
    let text = expect_string(value, "URL", "uri")?;
    if text.is_empty() {
        return Err(Error::eval("URL: url cannot be empty"));
    }
    let fail = |e: String| Error::eval(format!("URL: parse {:?}: {e}", text.as_ref()));
    let mut out: Vec<KeyValue> = Vec::new();
    if let Some(query) = text.strip_prefix('?') {
        let params = parse_query(query).map_err(fail)?;
        if !params.is_empty() {
            out.push(key_value(
                "query",
                AnyValue {
                    value: Some(any_value::Value::KvlistValue(KeyValueList {
                        values: params,
                    })),
                },
            ));
        }
        return Ok(Value::Map(Cow::Owned(out)));
    }
    let url = GoUrl::parse(&text).map_err(fail)?;
    let (host, port) = url.host_port();
    put(&mut out, "url.original", str_any(url.to_go_string()));
    put(&mut out, "url.domain", str_any(host));
    put(&mut out, "url.scheme", str_any(url.scheme.as_str()));
    put(&mut out, "url.path", str_any(url.path.as_str()));
    if !port.is_empty() {
        // Go's `strconv.Atoi`: digits that overflow an int are an error.
        let port: i64 = port.parse().map_err(|_| {
            fail(format!(
                "strconv.Atoi: parsing {port:?}: value out of range"
            ))
        })?;
        put(
            &mut out,
            "url.port",
            AnyValue {
                value: Some(any_value::Value::IntValue(port)),
            },
        );
    }
    if !url.fragment.is_empty() {
        put(&mut out, "url.fragment", str_any(url.fragment.as_str()));
    }
    if let Some((name, password)) = &url.user {
        put(
            &mut out,
            "url.user_info",
            str_any(url.user_info().unwrap_or_default()),
        );
        if !name.is_empty() {
            put(&mut out, "url.username", str_any(name.as_str()));
        }
        if let Some(password) = password {
            put(&mut out, "url.password", str_any(password.as_str()));
        }
    }
    if !url.raw_query.is_empty() {
        put(&mut out, "url.query", str_any(url.raw_query.as_str()));
    }
    if let Some(dot) = url.path.rfind('.')
        && dot + 1 < url.path.len()
    {
        put(&mut out, "url.extension", str_any(&url.path[dot + 1..]));
    }
    Ok(Value::Map(Cow::Owned(out)))
}
