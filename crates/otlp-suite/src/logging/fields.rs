//! `initial_fields`: the same fields on every line, after the event's own. A JSON line gets them as top-level
//! keys of its object, a text line as ` key=value` pairs at its end.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// An event formatter that appends the fixed fields to what `inner` writes.
pub(crate) struct InitialFields<E> {
    inner: E,
    /// What is spliced into each line, written once: `,"k":v,...` for JSON, ` k=v ...` for text.
    suffix: String,
    json: bool,
}

impl<E> InitialFields<E> {
    pub(crate) fn new(inner: E, fields: &BTreeMap<String, Value>, json: bool) -> Self {
        let mut suffix = String::new();
        for (key, value) in fields {
            if json {
                let _ = write!(suffix, ",{}:{value}", Value::String(key.clone()));
            } else {
                let _ = write!(suffix, " {key}={}", text_value(value));
            }
        }
        InitialFields {
            inner,
            suffix,
            json,
        }
    }
}

/// A string that needs no quotes as itself (as `receiver=otlp` reads in the log), anything else as JSON text.
fn text_value(value: &Value) -> String {
    match value {
        Value::String(s)
            if !s.is_empty()
                && s.chars()
                    .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '=') =>
        {
            s.clone()
        }
        other => other.to_string(),
    }
}

impl<S, N, E> FormatEvent<S, N> for InitialFields<E>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    E: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if self.suffix.is_empty() {
            return self.inner.format_event(ctx, writer, event);
        }
        // The line is formatted aside so that the fields can go before its end; the inner formatter was told
        // itself whether to write colour codes, which this buffer's writer does not carry.
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        match line.strip_suffix('}') {
            Some(object) if self.json => writeln!(writer, "{object}{}}}", self.suffix),
            _ => writeln!(writer, "{line}{}", self.suffix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_bare_when_they_can_be() {
        assert_eq!(text_value(&Value::from("prod")), "prod");
        assert_eq!(text_value(&Value::from("eu west")), "\"eu west\"");
        assert_eq!(text_value(&Value::from("")), "\"\"");
        assert_eq!(text_value(&Value::from(3)), "3");
        assert_eq!(
            text_value(&serde_json::json!({"a": [1, true]})),
            r#"{"a":[1,true]}"#
        );
    }

    #[test]
    fn the_suffix_is_written_once() {
        let fields = BTreeMap::from([
            ("region".to_string(), Value::from("eu")),
            ("shard".to_string(), Value::from(2)),
        ]);
        assert_eq!(
            InitialFields::new((), &fields, true).suffix,
            r#","region":"eu","shard":2"#
        );
        assert_eq!(
            InitialFields::new((), &fields, false).suffix,
            " region=eu shard=2"
        );
    }
}
