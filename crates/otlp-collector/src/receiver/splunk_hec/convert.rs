//! HEC events as OTLP, as otelcol-contrib's `splunk_hec` receiver makes them: events with the same `host`,
//! `source`, `sourcetype` and `index` share a resource that carries them (as `hec_metadata_to_otel_attrs` names
//! them); a log event's `event` is its record's body and its fields the record's attributes; a metric event's
//! `metric_name:<name>` fields are gauges (doubles, as JSON numbers are to otelcol), its other fields the points'
//! attributes as text. Splunk's single-metric layout (`metric_name` and `_value`) is read too.

use super::config::HecMetadataAttributes;
use super::event::{Event, Refused};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_ottl::{json_value, key_value, string_value};
use serde_json::Value;

/// A request's HEC metadata: what its resource is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Metadata {
    pub(super) host: String,
    pub(super) source: String,
    pub(super) sourcetype: String,
    pub(super) index: String,
}

impl Metadata {
    fn of(event: &Event) -> Self {
        Metadata {
            host: event.host.clone(),
            source: event.source.clone(),
            sourcetype: event.sourcetype.clone(),
            index: event.index.clone(),
        }
    }

    /// The resource: each field that is set, under its attribute; then the client's token, when passed through.
    pub(super) fn resource(&self, names: &HecMetadataAttributes, token: Option<&str>) -> Resource {
        let mut attributes: Vec<KeyValue> = [
            (&names.host, &self.host),
            (&names.source, &self.source),
            (&names.sourcetype, &self.sourcetype),
            (&names.index, &self.index),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| key_value(name.clone(), string_value(value.clone())))
        .collect();
        if let Some(token) = token {
            attributes.push(key_value(TOKEN_ATTRIBUTE, string_value(token)));
        }
        Resource {
            attributes,
            ..Default::default()
        }
    }
}

/// Where `access_token_passthrough` keeps the client's token.
pub(super) const TOKEN_ATTRIBUTE: &str = "com.splunk.hec.access_token";

/// Groups items by their events' metadata, in the order each group first appears.
fn grouped<T>(items: impl IntoIterator<Item = (Metadata, T)>) -> Vec<(Metadata, Vec<T>)> {
    let mut groups: Vec<(Metadata, Vec<T>)> = Vec::new();
    for (metadata, item) in items {
        match groups.iter_mut().find(|(seen, _)| *seen == metadata) {
            Some((_, group)) => group.push(item),
            None => groups.push((metadata, vec![item])),
        }
    }
    groups
}

/// `decimal` (a number, checked) times 10^`digits`, as an integer, 0 when it is not positive. The digits are read
/// as written: 1765130000.123456 seconds is 1765130000123456000 ns exactly, where f64 arithmetic (whose step is
/// 238 ns at today's seconds) gives 1765130000123456001.
fn scaled(decimal: &str, digits: u32) -> u64 {
    let value: f64 = decimal.parse().unwrap_or(0.0);
    if !value.is_finite() || value <= 0.0 {
        return 0;
    }
    let by_arithmetic = || (value * 10f64.powi(digits as i32)) as u64;
    if decimal.contains(['e', 'E']) {
        return by_arithmetic();
    }
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    let Ok(whole) = whole.trim_start_matches('+').parse::<u64>() else {
        return by_arithmetic();
    };
    let fraction = fraction.as_bytes();
    let part = (0..digits as usize).fold(0u64, |part, i| {
        part * 10
            + fraction
                .get(i)
                .map_or(0, |digit| u64::from(digit.wrapping_sub(b'0')))
    });
    whole.saturating_mul(10u64.pow(digits)).saturating_add(part)
}

/// A log event's time: seconds, as HEC defines it.
fn seconds_to_nanos(seconds: &str) -> u64 {
    scaled(seconds, 9)
}

/// A metric event's time: HEC clients send seconds, milliseconds, microseconds or nanoseconds, told apart by
/// size as otelcol tells them.
fn metric_time_to_nanos(time: &str) -> u64 {
    let value: f64 = time.parse().unwrap_or(0.0);
    let digits = if value >= 1e16 {
        0
    } else if value >= 1e13 {
        3
    } else if value >= 1e10 {
        6
    } else {
        9
    };
    scaled(time, digits)
}

/// Log events as a request; `now` is their observed time.
pub(super) fn logs(
    events: Vec<Event>,
    names: &HecMetadataAttributes,
    token: Option<&str>,
    now: u64,
) -> ExportLogsServiceRequest {
    let records = events.into_iter().map(|event| {
        let metadata = Metadata::of(&event);
        let mut fields: Vec<(String, Value)> = event.fields.into_iter().collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let record = LogRecord {
            time_unix_nano: event.time.as_deref().map_or(0, seconds_to_nanos),
            observed_time_unix_nano: now,
            body: Some(json_value(event.event)),
            attributes: fields
                .into_iter()
                .map(|(key, value)| key_value(key, json_value(value)))
                .collect(),
            ..Default::default()
        };
        (metadata, record)
    });
    ExportLogsServiceRequest {
        resource_logs: grouped(records)
            .into_iter()
            .map(|(metadata, log_records)| ResourceLogs {
                resource: Some(metadata.resource(names, token)),
                scope_logs: vec![ScopeLogs {
                    log_records,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}

/// Raw text as a request: a record per line (a final line break ends the last one), or the whole text, under the
/// metadata the query gave.
pub(super) fn raw(
    text: &str,
    by_line: bool,
    metadata: &Metadata,
    names: &HecMetadataAttributes,
    token: Option<&str>,
    now: u64,
) -> ExportLogsServiceRequest {
    let bodies: Vec<&str> = if by_line {
        text.strip_suffix('\n')
            .unwrap_or(text)
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .collect()
    } else {
        vec![text]
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(metadata.resource(names, token)),
            scope_logs: vec![ScopeLogs {
                log_records: bodies
                    .into_iter()
                    .map(|body| LogRecord {
                        observed_time_unix_nano: now,
                        body: Some(string_value(body)),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Metric events as a request, each numbered as in the request; a value that is not a number (nor text of one) is
/// refused, naming its event.
pub(super) fn metrics(
    events: Vec<(usize, Event)>,
    names: &HecMetadataAttributes,
    token: Option<&str>,
) -> Result<ExportMetricsServiceRequest, Refused> {
    let mut gauges = Vec::new();
    for (number, event) in events {
        let metadata = Metadata::of(&event);
        let time = event.time.as_deref().map_or(0, metric_time_to_nanos);
        let mut attributes: Vec<KeyValue> = event
            .fields
            .iter()
            .filter(|(key, value)| {
                !key.is_empty()
                    && !key.starts_with("metric_name")
                    && *key != "_value"
                    && !value.is_null()
            })
            .map(|(key, value)| key_value(key.clone(), string_value(go_text(value))))
            .collect();
        attributes.sort_by(|a, b| a.key.cmp(&b.key));
        let mut values: Vec<(&str, &Value)> = event
            .fields
            .iter()
            .filter_map(|(key, value)| Some((key.strip_prefix("metric_name:")?, value)))
            .collect();
        if let (Some(Value::String(name)), Some(value)) =
            (event.fields.get("metric_name"), event.fields.get("_value"))
        {
            values.push((name, value));
        }
        values.sort_by(|a, b| a.0.cmp(b.0));
        for (name, value) in values {
            let value = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(text) => text.trim().parse::<f64>().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                Refused::invalid(
                    number,
                    format!("metric `{name}` has {value}, which is not a number"),
                )
            })?;
            let point = NumberDataPoint {
                time_unix_nano: time,
                attributes: attributes.clone(),
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            };
            let gauge = Metric {
                name: name.to_owned(),
                data: Some(metric::Data::Gauge(Gauge {
                    data_points: vec![point],
                })),
                ..Default::default()
            };
            gauges.push((metadata.clone(), gauge));
        }
    }
    Ok(ExportMetricsServiceRequest {
        resource_metrics: grouped(gauges)
            .into_iter()
            .map(|(metadata, metrics)| ResourceMetrics {
                resource: Some(metadata.resource(names, token)),
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    })
}

/// A field as Go's `%v` prints what its JSON decoder made of it, which is how otelcol turns dimensions into text:
/// numbers as the shortest `%g` (`3`, `0.5`, `1e+21`), lists as `[a b]`.
fn go_text(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::String(text) => text.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), go_float),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_text).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(object) => format!(
            "map[{}]",
            object
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_text(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// Go's `%v` of a float64: shortest digits, with an exponent below 1e-4 and from 1e21.
fn go_float(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (1e-4..1e21).contains(&magnitude) {
        return format!("{value}");
    }
    let scientific = format!("{value:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

#[cfg(test)]
mod tests {
    use super::super::event::parse;
    use super::*;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;

    #[test]
    fn times_keep_a_clients_microseconds() {
        assert_eq!(
            seconds_to_nanos("1765130000.123456"),
            1_765_130_000_123_456_000
        );
        assert_eq!(
            seconds_to_nanos("1765130000.1234567891"),
            1_765_130_000_123_456_789
        );
        assert_eq!(seconds_to_nanos("1765130000"), 1_765_130_000_000_000_000);
        assert_eq!(seconds_to_nanos("1.76513e9"), 1_765_130_000_000_000_000);
        assert_eq!(seconds_to_nanos("-1"), 0);
        for millis_or_more in [
            "1765130000.5",
            "1765130000500",
            "1765130000500000",
            "1765130000500000000",
        ] {
            assert_eq!(
                metric_time_to_nanos(millis_or_more),
                1_765_130_000_500_000_000,
                "{millis_or_more}"
            );
        }
    }

    #[test]
    fn fields_print_as_go_prints_them() {
        for (json, text) in [
            ("3", "3"),
            ("0.5", "0.5"),
            ("1e21", "1e+21"),
            ("0.00001", "1e-05"),
            ("-2.5e-7", "-2.5e-07"),
            (r#"["a", 1, true]"#, "[a 1 true]"),
        ] {
            let value: Value = serde_json::from_str(json).unwrap();
            assert_eq!(go_text(&value), text, "{json}");
        }
    }

    #[test]
    fn log_events_grouped_by_metadata() {
        let events = parse(
            br#"{"host": "a", "event": "one", "time": 10, "fields": {"z": 1, "b": ["x"]}}
                {"host": "b", "event": {"k": true}}
                {"host": "a", "event": "three"}"#,
        )
        .unwrap();
        let request = logs(events, &HecMetadataAttributes::default(), Some("t0k"), 5);
        assert_eq!(request.resource_logs.len(), 2);
        let first = &request.resource_logs[0];
        let resource = first.resource.as_ref().unwrap();
        assert_eq!(resource.attributes[0].key, "host.name");
        assert_eq!(resource.attributes[1].key, TOKEN_ATTRIBUTE);
        let records = &first.scope_logs[0].log_records;
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].time_unix_nano, 10_000_000_000);
        assert_eq!(records[0].observed_time_unix_nano, 5);
        let keys: Vec<&str> = records[0]
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect();
        assert_eq!(keys, ["b", "z"]);
        assert_eq!(
            records[0].attributes[1].value.as_ref().unwrap().value,
            Some(Any::DoubleValue(1.0))
        );
        let map = &request.resource_logs[1].scope_logs[0].log_records[0].body;
        assert!(matches!(
            map.as_ref().and_then(|v| v.value.as_ref()),
            Some(Any::KvlistValue(_))
        ));
    }

    #[test]
    fn metric_events_become_gauges_with_text_dimensions() {
        let events = parse(
            br#"{"time": 1765130000, "host": "h", "event": "metric", "fields":
                   {"metric_name:cpu.idle": 99.5, "metric_name:cpu.user": "0.5", "region": "eu", "cores": 8}}
                {"event": "metric", "fields": {"metric_name": "mem.used", "_value": 12, "unit": "MB"}}"#,
        )
        .unwrap();
        let numbered = events.into_iter().enumerate().collect();
        let request = metrics(numbered, &HecMetadataAttributes::default(), None).unwrap();
        assert_eq!(request.resource_metrics.len(), 2);
        let gauges = &request.resource_metrics[0].scope_metrics[0].metrics;
        let names: Vec<&str> = gauges.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["cpu.idle", "cpu.user"]);
        let Some(metric::Data::Gauge(gauge)) = &gauges[1].data else {
            panic!("not a gauge")
        };
        let point = &gauge.data_points[0];
        assert_eq!(point.value, Some(number_data_point::Value::AsDouble(0.5)));
        assert_eq!(point.time_unix_nano, 1_765_130_000_000_000_000);
        let dimensions: Vec<(String, String)> = point
            .attributes
            .iter()
            .map(|kv| {
                let Some(Any::StringValue(text)) = kv.value.as_ref().and_then(|v| v.value.clone())
                else {
                    panic!("not text")
                };
                (kv.key.clone(), text)
            })
            .collect();
        assert_eq!(
            dimensions,
            [
                ("cores".to_owned(), "8".to_owned()),
                ("region".to_owned(), "eu".to_owned())
            ]
        );
        let single = &request.resource_metrics[1].scope_metrics[0].metrics[0];
        assert_eq!(single.name, "mem.used");

        let bad = parse(br#"{"event": "metric", "fields": {"metric_name:x": "high"}}"#).unwrap();
        let refused = metrics(
            bad.into_iter().enumerate().collect(),
            &HecMetadataAttributes::default(),
            None,
        )
        .unwrap_err();
        assert_eq!(refused.event, Some(0));
        assert!(refused.detail.contains("`x`"), "{}", refused.detail);
    }
}
