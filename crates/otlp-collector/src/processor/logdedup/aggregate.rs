//! Identical log records gathered over an interval, by resource and scope, each kept once with how many came and
//! when the first and the last were seen.

use super::fields::FieldPath;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::HashMap;

/// Added to each record sent on: when the first and the last of its copies were seen, as RFC 3339 text.
pub(super) const FIRST_OBSERVED: &str = "first_observed_timestamp";
pub(super) const LAST_OBSERVED: &str = "last_observed_timestamp";

/// Items in arrival order, found by a key: what is sent on keeps the order records came in.
struct Keyed<T> {
    index: HashMap<Vec<u8>, usize>,
    items: Vec<T>,
}

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Keyed {
            index: HashMap::new(),
            items: Vec::new(),
        }
    }
}

impl<T> Keyed<T> {
    /// The item of `key`, made by `new` when there is none yet; also whether it is new.
    fn entry(&mut self, key: Vec<u8>, new: impl FnOnce() -> T) -> (&mut T, bool) {
        let next = self.items.len();
        let at = *self.index.entry(key).or_insert(next);
        let fresh = at == next;
        if fresh {
            self.items.push(new());
        }
        (&mut self.items[at], fresh)
    }
}

struct ResourceGroup {
    resource: Option<Resource>,
    schema_url: String,
    scopes: Keyed<ScopeGroup>,
}

struct ScopeGroup {
    scope: Option<InstrumentationScope>,
    schema_url: String,
    records: Keyed<Gathered>,
}

struct Gathered {
    /// The first copy, as it came (less the excluded fields).
    record: LogRecord,
    count: u64,
    first_seen: u64,
    last_seen: u64,
}

/// What makes two records identical.
pub(super) enum Identity {
    /// Attributes, body and severity (number and text), as otelcol compares them; map keys in any order.
    Whole,
    /// The values of these fields only; a record with none of them is compared whole.
    Fields(Vec<FieldPath>),
}

/// The records gathered since the last [`Aggregator::take`].
#[derive(Default)]
pub(super) struct Aggregator {
    resources: Keyed<ResourceGroup>,
    /// Distinct records held.
    distinct: usize,
    /// Records taken in.
    records: u64,
}

impl Aggregator {
    /// Distinct records held, each to become one record sent on.
    pub(super) fn distinct(&self) -> usize {
        self.distinct
    }

    /// Takes in every record of `request`, seen at `now` (ns since the epoch).
    pub(super) fn add(&mut self, request: ExportLogsServiceRequest, identity: &Identity, now: u64) {
        for rl in request.resource_logs {
            let ResourceLogs {
                resource,
                scope_logs,
                schema_url,
            } = rl;
            let key = resource_key(resource.as_ref());
            let (group, _) = self.resources.entry(key, || ResourceGroup {
                resource,
                schema_url,
                scopes: Keyed::default(),
            });
            for sl in scope_logs {
                let ScopeLogs {
                    scope,
                    log_records,
                    schema_url,
                } = sl;
                let key = scope_key(scope.as_ref());
                let (scope_group, _) = group.scopes.entry(key, || ScopeGroup {
                    scope,
                    schema_url,
                    records: Keyed::default(),
                });
                for record in log_records {
                    self.records += 1;
                    let key = record_key(&record, identity);
                    let (gathered, fresh) = scope_group.records.entry(key, || Gathered {
                        record,
                        count: 0,
                        first_seen: now,
                        last_seen: now,
                    });
                    gathered.count += 1;
                    gathered.last_seen = now;
                    self.distinct += usize::from(fresh);
                }
            }
        }
    }

    /// Everything gathered, one record for each set of identical ones, and how many records went into them;
    /// the aggregator is empty again. `observed` writes a time as the `*_observed_timestamp` attributes hold it.
    pub(super) fn take(
        &mut self,
        count_attribute: &str,
        now: u64,
        observed: impl Fn(u64) -> String,
    ) -> (ExportLogsServiceRequest, u64) {
        let taken = std::mem::take(self);
        let resource_logs = taken
            .resources
            .items
            .into_iter()
            .map(|group| ResourceLogs {
                resource: group.resource,
                schema_url: group.schema_url,
                scope_logs: group
                    .scopes
                    .items
                    .into_iter()
                    .map(|scope| ScopeLogs {
                        scope: scope.scope,
                        schema_url: scope.schema_url,
                        log_records: scope
                            .records
                            .items
                            .into_iter()
                            .map(|gathered| sent_on(gathered, count_attribute, now, &observed))
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        (ExportLogsServiceRequest { resource_logs }, taken.records)
    }
}

/// The record sent for `gathered`: stamped now, observed when the first copy was, with the count and times.
fn sent_on(
    gathered: Gathered,
    count_attribute: &str,
    now: u64,
    observed: &impl Fn(u64) -> String,
) -> LogRecord {
    let mut record = gathered.record;
    record.time_unix_nano = now;
    record.observed_time_unix_nano = gathered.first_seen;
    let count = i64::try_from(gathered.count).unwrap_or(i64::MAX);
    for (key, value) in [
        (count_attribute, int(count)),
        (
            FIRST_OBSERVED,
            otlp_ottl::string_value(observed(gathered.first_seen)),
        ),
        (
            LAST_OBSERVED,
            otlp_ottl::string_value(observed(gathered.last_seen)),
        ),
    ] {
        match record.attributes.iter_mut().find(|kv| kv.key == key) {
            Some(existing) => existing.value = Some(value),
            None => record.attributes.push(otlp_ottl::key_value(key, value)),
        }
    }
    record
}

fn int(value: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(value)),
    }
}

fn resource_key(resource: Option<&Resource>) -> Vec<u8> {
    let mut key = Vec::new();
    write_attributes(&mut key, resource.map_or(&[], |r| &r.attributes));
    key
}

fn scope_key(scope: Option<&InstrumentationScope>) -> Vec<u8> {
    let mut key = Vec::new();
    if let Some(scope) = scope {
        write_text(&mut key, &scope.name);
        write_text(&mut key, &scope.version);
        write_attributes(&mut key, &scope.attributes);
    }
    key
}

fn record_key(record: &LogRecord, identity: &Identity) -> Vec<u8> {
    let mut key = Vec::new();
    if let Identity::Fields(fields) = identity {
        let mut found = false;
        for field in fields {
            match field.get(record) {
                Some(value) => {
                    found = true;
                    key.push(1);
                    write_value(&mut key, value);
                }
                None => key.push(0),
            }
        }
        if found {
            return key;
        }
        key.clear();
    }
    write_attributes(&mut key, &record.attributes);
    match &record.body {
        Some(body) => write_value(&mut key, body),
        None => key.push(0),
    }
    key.extend_from_slice(&record.severity_number.to_le_bytes());
    write_text(&mut key, &record.severity_text);
    key
}

/// An unambiguous encoding of a value, map keys sorted so that their order does not matter.
fn write_value(out: &mut Vec<u8>, value: &AnyValue) {
    use any_value::Value;
    match &value.value {
        None => out.push(0),
        Some(Value::StringValue(text)) => {
            out.push(1);
            write_text(out, text);
        }
        Some(Value::BoolValue(flag)) => out.extend_from_slice(&[2, u8::from(*flag)]),
        Some(Value::IntValue(number)) => {
            out.push(3);
            out.extend_from_slice(&number.to_le_bytes());
        }
        Some(Value::DoubleValue(number)) => {
            out.push(4);
            out.extend_from_slice(&number.to_bits().to_le_bytes());
        }
        Some(Value::ArrayValue(array)) => {
            out.push(5);
            write_len(out, array.values.len());
            for item in &array.values {
                write_value(out, item);
            }
        }
        Some(Value::KvlistValue(list)) => {
            out.push(6);
            write_attributes(out, &list.values);
        }
        Some(Value::BytesValue(bytes)) => {
            out.push(7);
            write_len(out, bytes.len());
            out.extend_from_slice(bytes);
        }
        Some(Value::StringValueStrindex(index)) => {
            out.push(8);
            out.extend_from_slice(&index.to_le_bytes());
        }
    }
}

fn write_attributes(out: &mut Vec<u8>, attributes: &[KeyValue]) {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    write_len(out, sorted.len());
    for kv in sorted {
        write_text(out, &kv.key);
        match &kv.value {
            Some(value) => write_value(out, value),
            None => out.push(0),
        }
    }
}

fn write_text(out: &mut Vec<u8>, text: &str) {
    write_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn write_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::KeyValueList;

    fn record(body: &str, attributes: Vec<KeyValue>) -> LogRecord {
        LogRecord {
            body: Some(otlp_ottl::string_value(body)),
            attributes,
            severity_number: 13,
            severity_text: "WARN".into(),
            time_unix_nano: 5,
            ..LogRecord::default()
        }
    }

    fn request(service: &str, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![otlp_ottl::key_value(
                        "service.name",
                        otlp_ottl::string_value(service),
                    )],
                    ..Resource::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "app".into(),
                        ..InstrumentationScope::default()
                    }),
                    log_records: records,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    fn attribute<'r>(record: &'r LogRecord, key: &str) -> Option<&'r any_value::Value> {
        record
            .attributes
            .iter()
            .find(|kv| kv.key == key)?
            .value
            .as_ref()?
            .value
            .as_ref()
    }

    fn map(pairs: &[(&str, &str)]) -> AnyValue {
        AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: pairs
                    .iter()
                    .map(|&(k, v)| otlp_ottl::key_value(k, otlp_ottl::string_value(v)))
                    .collect(),
            })),
        }
    }

    #[test]
    fn identical_records_become_one_with_their_count_and_times() {
        let mut aggregator = Aggregator::default();
        let a = otlp_ottl::key_value("user", otlp_ottl::string_value("7"));
        let b = otlp_ottl::key_value("path", otlp_ottl::string_value("/cart"));
        aggregator.add(
            request("shop", vec![record("timeout", vec![a.clone(), b.clone()])]),
            &Identity::Whole,
            1_000,
        );
        // The same attributes in another order are the same record; another body or service is not.
        aggregator.add(
            request(
                "shop",
                vec![
                    record("timeout", vec![b.clone(), a.clone()]),
                    record("refused", vec![a.clone()]),
                ],
            ),
            &Identity::Whole,
            2_000_000_000,
        );
        aggregator.add(
            request("billing", vec![record("timeout", vec![a.clone(), b])]),
            &Identity::Whole,
            3_000,
        );
        assert_eq!(aggregator.distinct(), 3);
        let (sent, records) = aggregator.take("log_count", 9, |nanos| format!("t{nanos}"));
        assert_eq!(records, 4);
        assert_eq!(aggregator.distinct(), 0);
        let shop = &sent.resource_logs[0].scope_logs[0].log_records;
        assert_eq!(shop.len(), 2);
        assert_eq!(
            attribute(&shop[0], "log_count"),
            Some(&any_value::Value::IntValue(2))
        );
        assert_eq!(
            attribute(&shop[0], FIRST_OBSERVED),
            Some(&any_value::Value::StringValue("t1000".into()))
        );
        assert_eq!(
            attribute(&shop[0], LAST_OBSERVED),
            Some(&any_value::Value::StringValue("t2000000000".into()))
        );
        assert_eq!(
            (shop[0].time_unix_nano, shop[0].observed_time_unix_nano),
            (9, 1_000)
        );
        assert_eq!(
            attribute(&shop[1], "log_count"),
            Some(&any_value::Value::IntValue(1))
        );
        assert_eq!(sent.resource_logs.len(), 2);
    }

    #[test]
    fn map_bodies_compare_by_content_and_include_fields_by_those_fields_alone() {
        let mut aggregator = Aggregator::default();
        let first = LogRecord {
            body: Some(map(&[("msg", "slow"), ("ms", "120")])),
            ..LogRecord::default()
        };
        let reordered = LogRecord {
            body: Some(map(&[("ms", "120"), ("msg", "slow")])),
            ..LogRecord::default()
        };
        aggregator.add(request("shop", vec![first, reordered]), &Identity::Whole, 1);
        assert_eq!(aggregator.distinct(), 1);

        let by_message = Identity::Fields(vec![FieldPath::parse("body.msg").unwrap()]);
        let mut aggregator = Aggregator::default();
        let records = vec![
            LogRecord {
                body: Some(map(&[("msg", "slow"), ("ms", "120")])),
                ..LogRecord::default()
            },
            LogRecord {
                body: Some(map(&[("msg", "slow"), ("ms", "340")])),
                ..LogRecord::default()
            },
            // Without the field: compared whole.
            record("plain", vec![]),
            record("plain", vec![]),
            record("other", vec![]),
        ];
        aggregator.add(request("shop", records), &by_message, 1);
        assert_eq!(aggregator.distinct(), 3);
    }

    #[test]
    fn a_count_attribute_already_there_is_replaced() {
        let mut aggregator = Aggregator::default();
        let stale = otlp_ottl::key_value("log_count", otlp_ottl::string_value("old"));
        aggregator.add(
            request("shop", vec![record("x", vec![stale])]),
            &Identity::Whole,
            1,
        );
        let (sent, _) = aggregator.take("log_count", 2, |_| String::new());
        let record = &sent.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(
            record
                .attributes
                .iter()
                .filter(|kv| kv.key == "log_count")
                .count(),
            1
        );
        assert_eq!(
            attribute(record, "log_count"),
            Some(&any_value::Value::IntValue(1))
        );
    }
}
