//! Reading a syslog message (RFC 5424, or BSD syslog after RFC 3164) into what otelcol's syslog parser makes of
//! it: the header's fields as attributes (`priority`, `facility`, `hostname`, `appname`, `proc_id`, `msg_id`,
//! `message`, and for RFC 5424 `version` and `structured_data`), its time as the record's, its severity as the
//! record's severity; the body stays the message as received.

use super::config::Protocol;
use crate::receiver::stanza::entry::Entry;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

/// syslog severities 0 (emerg) to 7 (debug) as OTLP severity numbers, as otelcol maps them.
const SEVERITY_NUMBERS: [i32; 8] = [21, 19, 18, 17, 13, 10, 9, 5];
const SEVERITY_TEXTS: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A message's parts, as they go onto its record.
#[derive(Debug, Default, PartialEq)]
struct Parsed {
    attributes: Map<String, Value>,
    timestamp: Option<i128>,
    /// The syslog severity, 0 to 7.
    severity: Option<u8>,
}

/// Reads messages of one protocol.
pub(super) struct Parser {
    protocol: Protocol,
    zone: TimeZone,
    allow_skip_pri_header: bool,
}

impl Parser {
    pub(super) fn new(protocol: Protocol, zone: TimeZone, allow_skip_pri_header: bool) -> Self {
        Parser {
            protocol,
            zone,
            allow_skip_pri_header,
        }
    }

    /// Reads the entry's body (the message) onto the entry.
    pub(super) fn apply(&self, entry: &mut Entry) -> Result<(), String> {
        let Some(text) = entry.body.as_str() else {
            return Err("the message is not text".to_owned());
        };
        let parsed = self.parse(text)?;
        if let Value::Object(attributes) = &mut entry.attributes {
            attributes.extend(parsed.attributes);
        }
        entry.timestamp = parsed.timestamp.or(entry.timestamp);
        if let Some(severity) = parsed.severity {
            let i = usize::from(severity);
            entry.severity = Some((SEVERITY_NUMBERS[i], SEVERITY_TEXTS[i].to_owned()));
        }
        Ok(())
    }

    fn parse(&self, text: &str) -> Result<Parsed, String> {
        let mut parsed = Parsed::default();
        let rest = match text.strip_prefix('<') {
            Some(after) => {
                let end = after
                    .find('>')
                    .filter(|end| (1..=3).contains(end))
                    .ok_or("the <PRI> header is not closed")?;
                let priority: u8 = after[..end]
                    .parse()
                    .ok()
                    .filter(|p| *p <= 191)
                    .ok_or_else(|| format!("`{}` is not a priority (0 to 191)", &after[..end]))?;
                parsed.attributes.insert("priority".into(), priority.into());
                parsed
                    .attributes
                    .insert("facility".into(), (priority / 8).into());
                parsed.severity = Some(priority % 8);
                &after[end + 1..]
            }
            None if self.allow_skip_pri_header => text,
            None => return Err("the message does not start with its <PRI> header".to_owned()),
        };
        match self.protocol {
            Protocol::Rfc5424 => rfc5424(rest, &mut parsed)?,
            Protocol::Rfc3164 => self.rfc3164(rest, &mut parsed)?,
        }
        Ok(parsed)
    }

    /// `Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`, leniently, as syslog daemons write it; the time may also be
    /// RFC 3339.
    fn rfc3164(&self, text: &str, parsed: &mut Parsed) -> Result<(), String> {
        let (timestamp, rest) = match bsd_time(text, &self.zone) {
            Some(found) => found,
            None => {
                let (token, rest) = text.split_once(' ').unwrap_or((text, ""));
                let t = rfc3339(token).ok_or_else(|| format!("`{token}` is not a syslog time"))?;
                (t, rest)
            }
        };
        parsed.timestamp = Some(timestamp);
        let (hostname, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        insert(&mut parsed.attributes, "hostname", hostname);
        // A tag ends at its `:`; without one the rest is all message.
        let tag_end = rest.find([':', ' ', '[']);
        let message = match tag_end {
            Some(end) if rest[end..].starts_with(['[', ':']) && end > 0 => {
                let appname = &rest[..end];
                let mut after = &rest[end..];
                if let Some(pid) = after.strip_prefix('[').and_then(|a| a.split_once(']')) {
                    insert(&mut parsed.attributes, "proc_id", pid.0);
                    after = pid.1;
                }
                match after.strip_prefix(':') {
                    Some(message) => {
                        insert(&mut parsed.attributes, "appname", appname);
                        message.strip_prefix(' ').unwrap_or(message)
                    }
                    None => {
                        parsed.attributes.remove("proc_id");
                        rest
                    }
                }
            }
            _ => rest,
        };
        insert(&mut parsed.attributes, "message", message);
        Ok(())
    }
}

/// `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]`.
fn rfc5424(text: &str, parsed: &mut Parsed) -> Result<(), String> {
    let mut fields = text.splitn(7, ' ');
    let mut next = |what: &str| {
        fields
            .next()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| format!("the RFC 5424 header ends before its {what}"))
    };
    let version: u8 = next("version")?
        .parse()
        .map_err(|_| "the RFC 5424 version is not a number (is this RFC 3164?)".to_owned())?;
    parsed.attributes.insert("version".into(), version.into());
    let timestamp = next("timestamp")?;
    if timestamp != "-" {
        parsed.timestamp = Some(
            rfc3339(timestamp).ok_or_else(|| format!("`{timestamp}` is not an RFC 3339 time"))?,
        );
    }
    for key in ["hostname", "appname", "proc_id", "msg_id"] {
        let value = next(key)?;
        if value != "-" {
            insert(&mut parsed.attributes, key, value);
        }
    }
    let rest = fields
        .next()
        .ok_or("the RFC 5424 header ends before its structured data")?;
    let (structured, message) = structured_data(rest)?;
    if !structured.is_empty() {
        parsed
            .attributes
            .insert("structured_data".into(), Value::Object(structured));
    }
    if let Some(message) = message {
        let message = message.strip_prefix('\u{feff}').unwrap_or(message);
        insert(&mut parsed.attributes, "message", message);
    }
    Ok(())
}

/// `-` or `[id name="value" ...]...`, then the message after a space, if any.
fn structured_data(text: &str) -> Result<(Map<String, Value>, Option<&str>), String> {
    let mut elements = Map::new();
    if let Some(rest) = text.strip_prefix('-') {
        return Ok((elements, rest.strip_prefix(' ')));
    }
    let mut rest = text;
    while let Some(inside) = rest.strip_prefix('[') {
        let id_end = inside
            .find([' ', ']'])
            .ok_or("a structured data element is not closed")?;
        let id = &inside[..id_end];
        let mut params = Map::new();
        let mut at = &inside[id_end..];
        loop {
            if let Some(after) = at.strip_prefix(']') {
                rest = after;
                break;
            }
            let param = at
                .strip_prefix(' ')
                .ok_or("a structured data parameter is malformed")?;
            let (name, value) = param
                .split_once("=\"")
                .ok_or("a structured data parameter has no =\"value\"")?;
            let mut unescaped = String::new();
            let mut chars = value.char_indices();
            let close = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c @ ('"' | '\\' | ']'))) => unescaped.push(c),
                        Some((_, c)) => {
                            unescaped.push('\\');
                            unescaped.push(c);
                        }
                        None => return Err("a structured data value is not closed".to_owned()),
                    },
                    Some((i, '"')) => break i,
                    Some((_, c)) => unescaped.push(c),
                    None => return Err("a structured data value is not closed".to_owned()),
                }
            };
            params.insert(name.to_owned(), Value::String(unescaped));
            at = &value[close + 1..];
        }
        elements.insert(id.to_owned(), Value::Object(params));
    }
    if elements.is_empty() {
        return Err("the structured data is neither `-` nor `[...]`".to_owned());
    }
    Ok((elements, rest.strip_prefix(' ')))
}

fn insert(attributes: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        attributes.insert(key.to_owned(), Value::String(value.to_owned()));
    }
}

fn rfc3339(text: &str) -> Option<i128> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_nanosecond())
}

/// `Mmm dd hh:mm:ss` (the day padded with a space) at the start of `text`, in `zone`, in the current year; and
/// what follows its space.
fn bsd_time<'t>(text: &'t str, zone: &TimeZone) -> Option<(i128, &'t str)> {
    let stamp = text.get(..15)?;
    let month = MONTHS.iter().position(|m| stamp.starts_with(m))? as i8 + 1;
    let day: i8 = stamp.get(4..6)?.trim_start().parse().ok()?;
    let clock: Vec<i8> = stamp
        .get(7..15)?
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [hour, minute, second] = clock[..] else {
        return None;
    };
    let year = zone.to_datetime(jiff::Timestamp::now()).year();
    let nanos = DateTime::new(year, month, day, hour, minute, second, 0)
        .ok()?
        .to_zoned_datetime(zone.clone())
        .ok()?
        .timestamp()
        .as_nanosecond();
    Some((nanos, text.get(16..).unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::zone;
    use serde_json::json;

    fn parse(protocol: Protocol, text: &str) -> Result<Parsed, String> {
        Parser::new(protocol, TimeZone::UTC, false).parse(text)
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let parsed = parse(
            Protocol::Rfc5424,
            r#"<165>1 2026-12-06T10:00:00.123Z mymachine.example.com evntslog 42 ID47 [exampleSDID@32473 iut="3" eventSource="App\"lication\]"][meta x="y"] An application event"#,
        )
        .unwrap();
        assert_eq!(parsed.timestamp, Some(1_796_551_200_123_000_000));
        assert_eq!(parsed.severity, Some(5));
        assert_eq!(
            Value::Object(parsed.attributes),
            json!({
                "priority": 165, "facility": 20, "version": 1,
                "hostname": "mymachine.example.com", "appname": "evntslog", "proc_id": "42", "msg_id": "ID47",
                "structured_data": {
                    "exampleSDID@32473": {"iut": "3", "eventSource": "App\"lication]"},
                    "meta": {"x": "y"}
                },
                "message": "An application event"
            })
        );
    }

    #[test]
    fn rfc5424_nil_values_are_left_out() {
        let parsed = parse(Protocol::Rfc5424, "<14>1 - - - - - -").unwrap();
        assert_eq!(parsed.timestamp, None);
        assert_eq!(
            Value::Object(parsed.attributes),
            json!({"priority": 14, "facility": 1, "version": 1})
        );
        let bom = parse(Protocol::Rfc5424, "<14>1 - host app - - - \u{feff}hello").unwrap();
        assert_eq!(bom.attributes["message"], json!("hello"));
    }

    #[test]
    fn rfc3164_as_syslog_daemons_write_it() {
        let parsed = parse(
            Protocol::Rfc3164,
            "<34>Oct  1 22:14:15 mymachine su[230]: 'su root' failed",
        )
        .unwrap();
        assert_eq!(parsed.severity, Some(2));
        assert_eq!(
            Value::Object(parsed.attributes),
            json!({
                "priority": 34, "facility": 4, "hostname": "mymachine", "appname": "su", "proc_id": "230",
                "message": "'su root' failed"
            })
        );
        let year = TimeZone::UTC.to_datetime(jiff::Timestamp::now()).year();
        let expected = DateTime::new(year, 10, 1, 22, 14, 15, 0)
            .unwrap()
            .to_zoned_datetime(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_nanosecond();
        assert_eq!(parsed.timestamp, Some(expected));
        let untagged = parse(
            Protocol::Rfc3164,
            "<13>Dec 25 01:02:03 host just words here",
        )
        .unwrap();
        assert_eq!(untagged.attributes["message"], json!("just words here"));
        assert!(!untagged.attributes.contains_key("appname"));
    }

    #[test]
    fn a_zone_reads_bsd_times() {
        let paris = Parser::new(Protocol::Rfc3164, zone("Europe/Paris").unwrap(), false);
        let utc = Parser::new(Protocol::Rfc3164, TimeZone::UTC, false);
        let text = "<13>Jan 15 12:00:00 host app: x";
        let difference = utc.parse(text).unwrap().timestamp.unwrap()
            - paris.parse(text).unwrap().timestamp.unwrap();
        assert_eq!(difference, 3600 * 1_000_000_000);
    }

    #[test]
    fn bad_messages_say_why() {
        assert!(
            parse(Protocol::Rfc5424, "no header")
                .unwrap_err()
                .contains("<PRI>")
        );
        assert!(
            parse(Protocol::Rfc5424, "<999>1 - - - - - -")
                .unwrap_err()
                .contains("not a priority")
        );
        assert!(
            parse(Protocol::Rfc5424, "<13>Oct  1 22:14:15 host x")
                .unwrap_err()
                .contains("is this RFC 3164")
        );
        assert!(
            parse(Protocol::Rfc5424, "<13>1 - - - - - [unclosed")
                .unwrap_err()
                .contains("not closed")
        );
        let skipped = Parser::new(Protocol::Rfc5424, TimeZone::UTC, true)
            .parse("1 - h a - - - m")
            .unwrap();
        assert!(!skipped.attributes.contains_key("priority"));
        assert_eq!(skipped.severity, None);
        assert!(zone("Mars/Olympus").is_err());
    }
}
