//! One line of `journalctl --output=json`: an entry's fields as a JSON object, every value a string, or a list
//! of byte values for a field that is not valid UTF-8 (`--all` aside), or a list of those for a field the entry
//! holds several times. It becomes a record whose body is the fields but `__REALTIME_TIMESTAMP`, which is the
//! record's time (microseconds since 1970), as otelcol makes it; `__CURSOR` stays in the body and is where a
//! restart resumes.

use crate::receiver::stanza::entry::Entry;
use serde_json::{Map, Value};

/// The record of `line`, and its cursor.
pub(super) fn entry(line: &str, convert_message_bytes: bool) -> Result<(Entry, String), String> {
    let mut fields: Map<String, Value> =
        serde_json::from_str(line).map_err(|e| format!("not a journal entry in JSON: {e}"))?;
    let micros = match fields.remove("__REALTIME_TIMESTAMP") {
        Some(Value::String(text)) => text
            .parse::<i128>()
            .map_err(|_| format!("__REALTIME_TIMESTAMP `{text}` is not a number"))?,
        _ => return Err("an entry without __REALTIME_TIMESTAMP".to_owned()),
    };
    let cursor = match fields.get("__CURSOR") {
        Some(Value::String(cursor)) => cursor.clone(),
        _ => return Err("an entry without __CURSOR".to_owned()),
    };
    if convert_message_bytes
        && let Some(Value::Array(bytes)) = fields.get("MESSAGE")
        && let Some(bytes) = bytes
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect::<Option<Vec<u8>>>()
    {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        fields.insert("MESSAGE".to_owned(), Value::String(text));
    }
    let mut entry = Entry::new(String::new());
    entry.body = Value::Object(fields);
    entry.timestamp = Some(micros * 1000);
    Ok((entry, cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_its_fields_at_its_time() {
        let line = r#"{"__REALTIME_TIMESTAMP":"1700000000123456","__CURSOR":"s=1;i=2","MESSAGE":"hi","PRIORITY":"6"}"#;
        let (entry, cursor) = entry(line, false).unwrap();
        assert_eq!(cursor, "s=1;i=2");
        assert_eq!(entry.timestamp, Some(1_700_000_000_123_456_000));
        let body = entry.body.as_object().unwrap();
        assert!(!body.contains_key("__REALTIME_TIMESTAMP"));
        assert_eq!(body["MESSAGE"], "hi");
        assert_eq!(body["__CURSOR"], "s=1;i=2");
    }

    #[test]
    fn a_message_of_bytes_becomes_text_when_asked() {
        let line = r#"{"__REALTIME_TIMESTAMP":"1","__CURSOR":"c","MESSAGE":[104,105,255]}"#;
        assert!(entry(line, false).unwrap().0.body["MESSAGE"].is_array());
        assert_eq!(entry(line, true).unwrap().0.body["MESSAGE"], "hi\u{fffd}");
    }

    #[test]
    fn lines_that_are_not_entries_are_named() {
        assert!(
            entry("Failed to open", false)
                .unwrap_err()
                .contains("not a journal entry")
        );
        assert!(
            entry(r#"{"__CURSOR":"c"}"#, false)
                .unwrap_err()
                .contains("__REALTIME_TIMESTAMP")
        );
        assert!(
            entry(r#"{"__REALTIME_TIMESTAMP":"1"}"#, false)
                .unwrap_err()
                .contains("__CURSOR")
        );
    }
}
