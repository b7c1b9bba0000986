//! `ParseCLF(target, format?)`: an HTTP access-log line in the Common Log Format or, with
//! `format = "combined"`, the NCSA Combined Log Format.
//!
//! otelcol matches the line with a regular expression; the fields are simple enough (tokens
//! without whitespace, a bracketed date, quoted strings with backslash escapes) that scanning
//! them by hand accepts exactly the same lines without compiling a regex per statement.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

use super::parse_with;
use crate::context::TransformContext;
use crate::error::Result;
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::{Value, put, string_value};

/// `ParseCLF(target, format?)`.
struct ParseClf {
    target: Expr,
    combined: bool,
}

pub(super) fn build_parse_clf(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let combined = match args.opt_str(1).as_deref() {
        None | Some("clf") => false,
        Some("combined") => true,
        Some(other) => {
            return Err(args.error(
                1,
                format!("invalid format {other:?}: must be \"clf\" or \"combined\""),
            ));
        }
    };
    Ok(Box::new(ParseClf { target, combined }))
}

impl ConverterFn for ParseClf {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let source = expect_string(self.target.eval(ctx)?, "ParseCLF", "target")?;
        parse_with(&source, "ParseCLF", "CLF", |s| parse(s, self.combined))
    }
}

/// The fields of one line, still escaped.
struct Line<'a> {
    remote_host: &'a str,
    rfc931: &'a str,
    auth_user: &'a str,
    timestamp: &'a str,
    request: &'a str,
    status: &'a str,
    bytes: &'a str,
    referer_and_agent: Option<(&'a str, &'a str)>,
}

/// Go's `\s`, which the Go regex's `\S` excludes: ASCII whitespace without `\v`.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// A non-empty run of non-space characters (the regex's `(\S+)`) and what follows it.
fn token(s: &str) -> Option<(&str, &str)> {
    let end = s.find(is_go_space).unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

/// A double-quoted field whose content may hold backslash escapes (`"((?:[^"\\]|\\.)*)"`):
/// the raw content and what follows the closing quote.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((&body[..i], &body[i + 1..])),
            // The regex's `.` matches any character but a newline. The escaped character may
            // be several bytes long; its continuation bytes are neither `"` nor `\`, so
            // stepping over its first byte only is the same.
            b'\\' if bytes.get(i + 1).is_some_and(|b| *b != b'\n') => i += 2,
            b'\\' => return None,
            _ => i += 1,
        }
    }
    None
}

fn split_line(line: &str, combined: bool) -> Option<Line<'_>> {
    let (remote_host, rest) = token(line)?;
    let (rfc931, rest) = token(rest.strip_prefix(' ')?)?;
    let (auth_user, rest) = token(rest.strip_prefix(' ')?)?;
    let rest = rest.strip_prefix(" [")?;
    let close = rest.find(']')?;
    if close == 0 {
        return None;
    }
    let (timestamp, rest) = (&rest[..close], &rest[close + 1..]);
    let (request, rest) = quoted(rest.strip_prefix(' ')?)?;
    let (status, rest) = token(rest.strip_prefix(' ')?)?;
    let (bytes, rest) = token(rest.strip_prefix(' ')?)?;
    let referer_and_agent = if combined {
        let (referer, rest) = quoted(rest.strip_prefix(' ')?)?;
        let (agent, rest) = quoted(rest.strip_prefix(' ')?)?;
        if !rest.is_empty() {
            return None;
        }
        Some((referer, agent))
    } else {
        if !rest.is_empty() {
            return None;
        }
        None
    };
    Some(Line {
        remote_host,
        rfc931,
        auth_user,
        timestamp,
        request,
        status,
        bytes,
        referer_and_agent,
    })
}

fn int_value(i: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(i)),
    }
}

fn parse(message: &str, combined: bool) -> std::result::Result<Vec<KeyValue>, String> {
    let format = if combined { "combined" } else { "clf" };
    let line = split_line(message.trim(), combined)
        .ok_or_else(|| format!("invalid CLF message: does not match expected {format:?} format"))?;
    let mut out = Vec::new();
    put(&mut out, "clf.remote_host", string_value(line.remote_host));
    put(&mut out, "clf.rfc931", string_value(line.rfc931));
    put(&mut out, "clf.auth_user", string_value(line.auth_user));
    put(&mut out, "clf.timestamp", string_value(line.timestamp));
    let request = unescape(line.request);
    let parts: Vec<&str> = request.splitn(3, ' ').collect();
    if let [method, uri, protocol] = parts[..] {
        let (method, uri, protocol) = (method.to_owned(), uri.to_owned(), protocol.to_owned());
        put(&mut out, "clf.request", string_value(request));
        put(&mut out, "clf.method", string_value(method));
        put(&mut out, "clf.request_uri", string_value(uri));
        put(&mut out, "clf.protocol", string_value(protocol));
    } else {
        put(&mut out, "clf.request", string_value(request));
    }
    let status: i64 = line
        .status
        .parse()
        .map_err(|e| format!("invalid status code {:?}: {e}", line.status))?;
    put(&mut out, "clf.status", int_value(status));
    // `-` is how CLF says no body was sent (a 304, say): the key is left out.
    if line.bytes != "-" {
        let bytes: i64 = line
            .bytes
            .parse()
            .map_err(|e| format!("invalid bytes value {:?}: {e}", line.bytes))?;
        put(&mut out, "clf.bytes", int_value(bytes));
    }
    if let Some((referer, agent)) = line.referer_and_agent {
        put(&mut out, "clf.referer", string_value(unescape(referer)));
        put(&mut out, "clf.user_agent", string_value(unescape(agent)));
    }
    Ok(out)
}

/// Reverses the escaping of Apache's mod_log_config (`\"`, `\\`, `\n`, `\t`, `\r`, `\b`, `\f`,
/// `\v`, `\xhh`) and nginx (`\xhh`); anything else, a malformed `\x` included, stays as
/// written. A `\xhh` may spell a byte that is not UTF-8 on its own; such bytes become U+FFFD
/// since strings here are UTF-8.
pub(super) fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c != b'\\' || i + 1 == bytes.len() {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let next = bytes[i];
        match next {
            b'\\' | b'"' => out.push(next),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'x' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    // `from_str_radix` takes a leading `+`; Go's ParseUint does not.
                    .filter(|_| bytes[i + 1] != b'+');
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            _ => {
                out.push(b'\\');
                out.push(next);
            }
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// func_parse_clf_test.go, Test_unescapeCLF.
    #[test]
    fn unescapes_as_apache_writes() {
        assert_eq!(unescape("GET / HTTP/1.1"), "GET / HTTP/1.1");
        assert_eq!(unescape(r#"a\"b"#), "a\"b");
        assert_eq!(unescape(r"a\\b"), r"a\b");
        assert_eq!(unescape(r"a\x22b"), "a\"b");
        assert_eq!(
            unescape(r"a\tb\nc\rd\be\ff\vg"),
            "a\tb\nc\rd\x08e\x0cf\x0bg"
        );
        assert_eq!(unescape(r"a\qb"), r"a\qb");
        assert_eq!(unescape(r"a\xZZb"), r"a\xZZb");
        assert_eq!(unescape(r"a\x+1"), r"a\x+1");
        assert_eq!(unescape(r"a\x2"), r"a\x2");
        assert_eq!(unescape(r"a\"), r"a\");
        assert_eq!(unescape(r#"\\\"\x41"#), r#"\"A"#);
    }
}
