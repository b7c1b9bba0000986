//! A log record as a syslog message, as otelcol's exporter writes it from the attributes the `syslog` receiver
//! (stanza's `syslog_parser`) sets: `priority`, `version`, `hostname`, `appname`, `proc_id`, `msg_id`,
//! `structured_data` and `message`, each left out (`-`) or defaulted when the record does not have it.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use std::fmt::Write as _;

/// `<165>`: facility local4, severity notice, otelcol's default priority.
const DEFAULT_PRIORITY: &str = "165";
/// RFC 5424's nil value, for a header field the record does not have.
const NIL: &str = "-";

/// Which syslog message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    /// RFC 5424, optionally framed by its length (RFC 6587 octet counting).
    Rfc5424 { octet_counting: bool },
    /// RFC 3164 (BSD syslog).
    Rfc3164,
}

/// `record`'s message in `protocol`, ending in a newline.
pub(super) fn message(record: &LogRecord, protocol: Protocol) -> String {
    match protocol {
        Protocol::Rfc5424 { octet_counting } => {
            let line = rfc5424(record);
            if octet_counting {
                format!("{} {line}", line.len())
            } else {
                line
            }
        }
        Protocol::Rfc3164 => rfc3164(record),
    }
}

fn rfc5424(record: &LogRecord) -> String {
    let field = |key: &str| attribute(record, key).unwrap_or_else(|| NIL.to_owned());
    let timestamp = time(record)
        .and_then(|nanos| jiff::Timestamp::from_nanosecond(i128::from(nanos)).ok())
        .map_or_else(|| NIL.to_owned(), |t| t.to_string());
    let mut line = format!(
        "<{}>{} {timestamp} {} {} {} {} {}",
        attribute(record, "priority").unwrap_or_else(|| DEFAULT_PRIORITY.to_owned()),
        attribute(record, "version").unwrap_or_else(|| "1".to_owned()),
        field("hostname"),
        field("appname"),
        field("proc_id"),
        field("msg_id"),
        structured_data(record),
    );
    let text = text(record);
    if !text.is_empty() {
        line.push(' ');
        line.push_str(&text);
    }
    line.push('\n');
    line
}

fn rfc3164(record: &LogRecord) -> String {
    // `Jan _2 15:04:05`: BSD syslog's timestamp, without year or zone (UTC here).
    let timestamp = time(record)
        .and_then(|nanos| jiff::Timestamp::from_nanosecond(i128::from(nanos)).ok())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .strftime("%b %e %H:%M:%S")
        .to_string();
    let app = attribute(record, "appname").map(|app| format!("{app}:"));
    let text = text(record);
    let delimiter = if app.is_some() && !text.is_empty() {
        " "
    } else {
        ""
    };
    format!(
        "<{}>{timestamp} {} {}{delimiter}{text}\n",
        attribute(record, "priority").unwrap_or_else(|| DEFAULT_PRIORITY.to_owned()),
        attribute(record, "hostname").unwrap_or_else(|| NIL.to_owned()),
        app.unwrap_or_default(),
    )
}

/// When it happened, else when it was seen; `None` when neither is known.
fn time(record: &LogRecord) -> Option<u64> {
    [record.time_unix_nano, record.observed_time_unix_nano]
        .into_iter()
        .find(|nanos| *nanos != 0)
}

/// The `message` attribute, else the body: a record that no syslog parser made still says what it says.
fn text(record: &LogRecord) -> String {
    attribute(record, "message")
        .or_else(|| record.body.as_ref().and_then(as_string))
        .unwrap_or_default()
}

fn attribute(record: &LogRecord, key: &str) -> Option<String> {
    record
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(as_string)
}

/// A value as text, as pdata's `AsString` writes it for the kinds a header field can be.
fn as_string(value: &AnyValue) -> Option<String> {
    Some(match value.value.as_ref()? {
        Value::StringValue(s) => s.clone(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        Value::BoolValue(b) => b.to_string(),
        Value::BytesValue(b) => String::from_utf8_lossy(b).into_owned(),
        _ => return None,
    })
}

/// `structured_data`, a map of SD-IDs to maps of parameters, as `[id name="value" …]…`, values escaped as RFC 5424
/// asks (`"`, `\` and `]` behind a backslash); `-` without it.
fn structured_data(record: &LogRecord) -> String {
    let elements = record
        .attributes
        .iter()
        .find(|kv| kv.key == "structured_data")
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::KvlistValue(list) => Some(&list.values),
            _ => None,
        });
    let Some(elements) = elements.filter(|e| !e.is_empty()) else {
        return NIL.to_owned();
    };
    let mut out = String::new();
    for element in elements {
        let params: &[KeyValue] = match element.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::KvlistValue(list)) => &list.values,
            _ => &[],
        };
        let _ = write!(out, "[{}", element.key);
        for param in params {
            let Some(value) = param.value.as_ref().and_then(as_string) else {
                continue;
            };
            let escaped: String = value
                .chars()
                .flat_map(|c| {
                    let escape = matches!(c, '"' | '\\' | ']').then_some('\\');
                    escape.into_iter().chain(std::iter::once(c))
                })
                .collect();
            let _ = write!(out, " {}=\"{escaped}\"", param.key);
        }
        out.push(']');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::KeyValueList;
    use otlp_ottl::{key_value, string_value};

    fn kvlist(pairs: Vec<KeyValue>) -> AnyValue {
        AnyValue {
            value: Some(Value::KvlistValue(KeyValueList { values: pairs })),
        }
    }

    /// What the `syslog` receiver makes of `<165>1 2024-01-02T03:04:05.123Z host app 42 ID7 [ex@1 a="x\"y"] hi`.
    fn parsed() -> LogRecord {
        LogRecord {
            time_unix_nano: 1_704_164_645_123_000_000,
            attributes: vec![
                key_value(
                    "priority",
                    AnyValue {
                        value: Some(Value::IntValue(165)),
                    },
                ),
                key_value(
                    "version",
                    AnyValue {
                        value: Some(Value::IntValue(1)),
                    },
                ),
                key_value("hostname", string_value("host")),
                key_value("appname", string_value("app")),
                key_value("proc_id", string_value("42")),
                key_value("msg_id", string_value("ID7")),
                key_value(
                    "structured_data",
                    kvlist(vec![key_value(
                        "ex@1",
                        kvlist(vec![key_value("a", string_value("x\"y]"))]),
                    )]),
                ),
                key_value("message", string_value("hi")),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn a_parsed_message_is_written_back_as_it_came() {
        let rfc5424 = Protocol::Rfc5424 {
            octet_counting: false,
        };
        assert_eq!(
            message(&parsed(), rfc5424),
            "<165>1 2024-01-02T03:04:05.123Z host app 42 ID7 [ex@1 a=\"x\\\"y\\]\"] hi\n"
        );
        let counted = message(
            &parsed(),
            Protocol::Rfc5424 {
                octet_counting: true,
            },
        );
        let (length, rest) = counted.split_once(' ').unwrap();
        assert_eq!(length.parse::<usize>().unwrap(), rest.len());
        assert_eq!(
            message(&parsed(), Protocol::Rfc3164),
            "<165>Jan  2 03:04:05 host app: hi\n"
        );
    }

    #[test]
    fn any_record_gets_defaults_and_its_body() {
        let record = LogRecord {
            observed_time_unix_nano: 1_000_000_000,
            body: Some(string_value("from a file")),
            ..Default::default()
        };
        assert_eq!(
            message(
                &record,
                Protocol::Rfc5424 {
                    octet_counting: false
                }
            ),
            "<165>1 1970-01-01T00:00:01Z - - - - - from a file\n"
        );
        assert_eq!(
            message(&LogRecord::default(), Protocol::Rfc3164),
            "<165>Jan  1 00:00:00 - \n"
        );
        assert_eq!(
            message(
                &LogRecord::default(),
                Protocol::Rfc5424 {
                    octet_counting: false
                }
            ),
            "<165>1 - - - - - -\n"
        );
    }
}
