//! HEC's event JSON, as Splunk reads it: a body of JSON objects one after another (`{…}{…}` or one per line), each
//! with the event itself and its metadata. Every event of a request is checked before any is taken, and the first
//! that cannot be is answered with HEC's code for the reason and its number (from 0), as Splunk answers.

use serde_json::{Map, Value};

/// One event of a request.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Event {
    /// Seconds since the epoch, with a fraction (`1765130000.125`), as the decimal the client wrote (a number or a
    /// string of one, checked to be a number), so that its digits are read as they are.
    pub(super) time: Option<String>,
    pub(super) host: String,
    pub(super) source: String,
    pub(super) sourcetype: String,
    pub(super) index: String,
    /// The event: text, or any JSON value; `"metric"` for a metric event.
    pub(super) event: Value,
    /// Indexed fields: a log record's attributes, a metric event's values (`metric_name:<name>`) and dimensions.
    pub(super) fields: Map<String, Value>,
}

impl Event {
    /// Whether this is a metric event (`"event": "metric"`), which goes to the metrics pipelines.
    pub(super) fn is_metric(&self) -> bool {
        self.event.as_str() == Some("metric")
    }
}

/// HEC's error codes the receiver answers with.
pub(super) mod code {
    pub(in crate::receiver::splunk_hec) const SUCCESS: u16 = 0;
    pub(in crate::receiver::splunk_hec) const INVALID_AUTHORIZATION: u16 = 3;
    pub(in crate::receiver::splunk_hec) const NO_DATA: u16 = 5;
    pub(in crate::receiver::splunk_hec) const INVALID_DATA_FORMAT: u16 = 6;
    pub(in crate::receiver::splunk_hec) const INTERNAL_ERROR: u16 = 8;
    pub(in crate::receiver::splunk_hec) const SERVER_BUSY: u16 = 9;
    pub(in crate::receiver::splunk_hec) const EVENT_REQUIRED: u16 = 12;
    pub(in crate::receiver::splunk_hec) const EVENT_BLANK: u16 = 13;
    pub(in crate::receiver::splunk_hec) const INDEXED_FIELDS: u16 = 15;
    pub(in crate::receiver::splunk_hec) const HEALTHY: u16 = 17;
}

/// Why a request's events are refused: HEC's code and text, the event at fault, and what exactly is wrong.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Refused {
    pub(super) code: u16,
    pub(super) text: &'static str,
    pub(super) event: Option<usize>,
    pub(super) detail: String,
}

impl Refused {
    pub(super) fn invalid(event: usize, detail: impl Into<String>) -> Self {
        Refused {
            code: code::INVALID_DATA_FORMAT,
            text: "Invalid data format",
            event: Some(event),
            detail: detail.into(),
        }
    }
}

/// The events of a body, or the first reason one of them cannot be taken.
pub(super) fn parse(body: &[u8]) -> Result<Vec<Event>, Refused> {
    let mut events = Vec::new();
    for value in serde_json::Deserializer::from_slice(body).into_iter::<Value>() {
        let number = events.len();
        let value =
            value.map_err(|e| Refused::invalid(number, format!("not JSON from here on: {e}")))?;
        events.push(event(number, value)?);
    }
    if events.is_empty() {
        return Err(Refused {
            code: code::NO_DATA,
            text: "No data",
            event: None,
            detail: "the body holds no event".to_owned(),
        });
    }
    Ok(events)
}

fn event(number: usize, value: Value) -> Result<Event, Refused> {
    let Value::Object(mut object) = value else {
        return Err(Refused::invalid(
            number,
            format!("an event is a JSON object, not {}", kind(&value)),
        ));
    };
    let text = |object: &mut Map<String, Value>, key: &str| match object.remove(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(Refused::invalid(
            number,
            format!("`{key}` is text, not {}", kind(&other)),
        )),
    };
    let time = match object.remove("time") {
        None | Some(Value::Null) => None,
        Some(Value::Number(seconds)) => Some(seconds.to_string()),
        Some(Value::String(seconds)) => {
            let seconds = seconds.trim();
            if seconds.parse::<f64>().is_err() {
                return Err(Refused::invalid(
                    number,
                    format!("`time` \"{seconds}\" is not a number of seconds"),
                ));
            }
            Some(seconds.to_owned())
        }
        Some(other) => {
            return Err(Refused::invalid(
                number,
                format!("`time` is a number of seconds, not {}", kind(&other)),
            ));
        }
    };
    let (host, source) = (text(&mut object, "host")?, text(&mut object, "source")?);
    let (sourcetype, index) = (
        text(&mut object, "sourcetype")?,
        text(&mut object, "index")?,
    );
    let event = match object.remove("event") {
        None | Some(Value::Null) => {
            return Err(Refused {
                code: code::EVENT_REQUIRED,
                text: "Event field is required",
                event: Some(number),
                detail: "the event has no `event`".to_owned(),
            });
        }
        Some(Value::String(text)) if text.is_empty() => {
            return Err(Refused {
                code: code::EVENT_BLANK,
                text: "Event field cannot be blank",
                event: Some(number),
                detail: "`event` is empty".to_owned(),
            });
        }
        Some(event) => event,
    };
    let fields = match object.remove("fields") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(fields)) => fields,
        Some(other) => {
            return Err(Refused::invalid(
                number,
                format!("`fields` is an object, not {}", kind(&other)),
            ));
        }
    };
    // Splunk indexes a field as text or a list of texts: an object, or a list holding one, cannot be.
    if let Some((key, _)) = fields.iter().find(|(_, value)| !flat(value)) {
        return Err(Refused {
            code: code::INDEXED_FIELDS,
            text: "Error in handling indexed fields",
            event: Some(number),
            detail: format!("field `{key}` holds an object: indexed fields are flat"),
        });
    }
    Ok(Event {
        time,
        host,
        source,
        sourcetype,
        index,
        event,
        fields,
    })
}

fn flat(value: &Value) -> bool {
    match value {
        Value::Object(_) => false,
        Value::Array(items) => !items
            .iter()
            .any(|item| matches!(item, Value::Object(_) | Value::Array(_))),
        _ => true,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_one_after_another_with_their_metadata() {
        let events = parse(
            br#"{"time": 1765130000.25, "host": "web-1", "source": "app.log", "sourcetype": "json",
                "index": "main", "event": {"msg": "hi"}, "fields": {"region": "eu", "ids": ["a", "b"]}}
               {"time": "1765130001", "event": "plain"}{"event": "metric", "fields": {"metric_name:cpu": 1}}"#,
        )
        .unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].time.as_deref(), Some("1765130000.25"));
        assert_eq!(
            (
                events[0].host.as_str(),
                events[0].source.as_str(),
                events[0].sourcetype.as_str(),
                events[0].index.as_str()
            ),
            ("web-1", "app.log", "json", "main")
        );
        assert_eq!(events[0].fields["ids"], serde_json::json!(["a", "b"]));
        assert_eq!(events[1].time.as_deref(), Some("1765130001"));
        assert_eq!(events[1].event, "plain");
        assert!(!events[1].is_metric() && events[2].is_metric());
    }

    #[test]
    fn the_first_bad_event_is_named_with_splunks_code() {
        let refused = |body: &str| parse(body.as_bytes()).unwrap_err();
        assert_eq!(refused("").code, code::NO_DATA);
        assert_eq!(refused("  \n").code, code::NO_DATA);
        let missing = refused(r#"{"event": "a"} {"host": "h"}"#);
        assert_eq!(
            (missing.code, missing.event),
            (code::EVENT_REQUIRED, Some(1))
        );
        assert_eq!(refused(r#"{"event": null}"#).code, code::EVENT_REQUIRED);
        assert_eq!(refused(r#"{"event": ""}"#).code, code::EVENT_BLANK);
        let nested = refused(r#"{"event": "a", "fields": {"x": {"y": 1}}}"#);
        assert_eq!(nested.code, code::INDEXED_FIELDS);
        assert!(nested.detail.contains("`x`"), "{}", nested.detail);
        assert_eq!(
            refused(r#"{"event": "a", "fields": {"x": [[1]]}}"#).code,
            code::INDEXED_FIELDS
        );
        let broken = refused(r#"{"event": "a"}{"event": "#);
        assert_eq!(
            (broken.code, broken.event),
            (code::INVALID_DATA_FORMAT, Some(1))
        );
        assert!(refused(r#"[{"event": "a"}]"#).detail.contains("not a list"));
        assert!(
            refused(r#"{"event": "a", "host": 7}"#)
                .detail
                .contains("`host` is text")
        );
        assert!(
            refused(r#"{"event": "a", "time": "noon"}"#)
                .detail
                .contains("\"noon\"")
        );
    }
}
