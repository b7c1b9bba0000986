//! The `unroll` processor (otelcol-contrib's): a log record whose body is a list becomes a record per element,
//! each keeping the original's times, severity, attributes and trace context. With the `transform` processor
//! splitting a body first (`set(body, Split(body, ","))`, `set(body, ParseJSON(body))` of a JSON array), one line
//! holding many events becomes many records.
//!
//! ```yaml
//! processors:
//!   unroll:
//!     recursive: false
//! ```
//!
//! An element that is itself a list stays one record with that list as its body, unless `recursive` unrolls it
//! too, to any depth. A record with an empty list goes away. Records keep their order, each unrolled record's
//! elements where it stood (otelcol appends them after the scope's other records).

use super::in_place::{InPlace, in_place_stage};
use crate::component::{Component, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::{AnyRequest, Batch, Signal};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde::Deserialize;
use std::sync::Arc;

/// The `unroll` processor's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnrollConfig {
    /// Unroll lists within lists too.
    pub recursive: bool,
}

/// The `unroll` processor type (logs).
pub struct Factory;

impl Component for Factory {
    type Config = UnrollConfig;
    const TYPE: &'static str = "unroll";
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    fn build(
        &self,
        config: &UnrollConfig,
        _context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        Ok(in_place_stage(
            Unroll {
                recursive: config.recursive,
            },
            next,
        ))
    }
}

struct Unroll {
    recursive: bool,
}

fn is_list(record: &LogRecord) -> bool {
    matches!(
        record.body.as_ref().and_then(|body| body.value.as_ref()),
        Some(Value::ArrayValue(_))
    )
}

impl Unroll {
    /// `record` as the records it unrolls into, appended to `out`.
    fn unroll(&self, mut record: LogRecord, out: &mut Vec<LogRecord>) {
        let elements = match record.body.take().and_then(|body| body.value) {
            Some(Value::ArrayValue(list)) => list.values,
            other => {
                record.body = other.map(|value| AnyValue { value: Some(value) });
                out.push(record);
                return;
            }
        };
        for element in elements {
            let unrolled = LogRecord {
                body: Some(element),
                ..record.clone()
            };
            if self.recursive && is_list(&unrolled) {
                self.unroll(unrolled, out);
            } else {
                out.push(unrolled);
            }
        }
    }
}

impl InPlace for Unroll {
    fn apply(&self, batch: &mut Batch) {
        let wanted = batch
            .get::<ExportLogsServiceRequest>()
            .is_some_and(|request| {
                request
                    .resource_logs
                    .iter()
                    .flat_map(|rl| &rl.scope_logs)
                    .flat_map(|sl| &sl.log_records)
                    .any(is_list)
            });
        // Batches without a list body are only read: their received bytes go on as they came, not re-encoded.
        if !wanted {
            return;
        }
        batch.edit(|request| {
            let AnyRequest::Logs(request) = request else {
                return;
            };
            for scope in request
                .resource_logs
                .iter_mut()
                .flat_map(|rl| &mut rl.scope_logs)
            {
                let records = std::mem::take(&mut scope.log_records);
                for record in records {
                    self.unroll(record, &mut scope.log_records);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::ArrayValue;
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};

    fn list(values: Vec<AnyValue>) -> AnyValue {
        AnyValue {
            value: Some(Value::ArrayValue(ArrayValue { values })),
        }
    }

    fn text(s: &str) -> AnyValue {
        otlp_ottl::string_value(s)
    }

    fn bodies(batch: &Batch) -> Vec<String> {
        let request = batch.get::<ExportLogsServiceRequest>().unwrap();
        request.resource_logs[0].scope_logs[0]
            .log_records
            .iter()
            .map(|r| match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::ArrayValue(list)) => format!("list of {}", list.values.len()),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn batch(records: Vec<AnyValue>) -> Batch {
        Batch::new(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: records
                        .into_iter()
                        .map(|body| LogRecord {
                            body: Some(body),
                            severity_number: 13,
                            time_unix_nano: 7,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    #[test]
    fn list_bodies_become_a_record_per_element_where_they_stood() {
        let records = || {
            vec![
                list(vec![text("a"), list(vec![text("b1"), text("b2")])]),
                text("plain"),
                list(Vec::new()),
                list(vec![text("c")]),
            ]
        };
        let mut flat = batch(records());
        Unroll { recursive: false }.apply(&mut flat);
        assert_eq!(bodies(&flat), ["a", "list of 2", "plain", "c"]);
        assert_eq!(flat.item_count(), 4);
        let request = flat.get::<ExportLogsServiceRequest>().unwrap();
        assert!(
            request.resource_logs[0].scope_logs[0]
                .log_records
                .iter()
                .all(|r| r.severity_number == 13 && r.time_unix_nano == 7)
        );

        let mut deep = batch(records());
        Unroll { recursive: true }.apply(&mut deep);
        assert_eq!(bodies(&deep), ["a", "b1", "b2", "plain", "c"]);
    }
}
