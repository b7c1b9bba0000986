//! The `logdedup` processor (otelcol-contrib's, also under its new name `log_dedup`): identical log records
//! gathered over `interval` and sent on as one, with `log_count` saying how many came and
//! `first_observed_timestamp`/`last_observed_timestamp` when, so that a service repeating an error a thousand
//! times a second costs one record every ten seconds.
//!
//! ```yaml
//! processors:
//!   logdedup:
//!     interval: 60s
//!     conditions: ['severity_number >= SEVERITY_NUMBER_WARN']   # only these are gathered
//!     exclude_fields: [body.timestamp, attributes.request\.id]  # compared without these, sent on without them
//! ```
//!
//! Records are identical when their resource attributes, scope, attributes, body and severity are (with
//! `include_fields`, the values of those fields alone). The record sent on is the first copy, stamped with the
//! time it is sent and observed when the first copy was, as otelcol's. Records no condition holds for pass on at
//! once; a condition that fails on a record is logged and the record passes on.
//!
//! Two differences: a map body or attribute compares by content whatever the order of its keys, and ints never
//! equal strings (otelcol compares values as text); and at most [`MOST_DISTINCT`] distinct records are held,
//! sending them on before `interval` when more come, so that a stream of records that never repeat cannot
//! fill the memory. The copies merged into one are counted as dropped with reason `deduplicated`.

mod aggregate;
mod config;
mod fields;

pub use config::LogDedupConfig;

use super::holding::{Hold, holding_stage};
use crate::clock::now_nanos;
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::pipeline::Consumer;
use crate::telemetry::DropCounter;
use crate::{AnyRequest, Batch, Signal};
use aggregate::{Aggregator, Identity};
use fields::FieldPath;
use jiff::tz::TimeZone;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use otlp_ottl::{Condition, ContextKind, ResourceParts, ScopeParts, TransformContext};
use std::sync::Arc;
use tokio::time::Instant;

/// The most distinct records held before they are sent on ahead of `interval`.
pub const MOST_DISTINCT: usize = 100_000;

/// The `logdedup` processor type.
pub struct Factory;

impl Component for Factory {
    type Config = LogDedupConfig;
    const TYPE: &'static str = "logdedup";

    fn validate(&self, config: &LogDedupConfig) -> Result<(), Invalid> {
        config.validate()
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Logs];

    fn build(
        &self,
        config: &LogDedupConfig,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let parse_all = |fields: &[String]| -> Result<Vec<FieldPath>, String> {
            fields.iter().map(|field| FieldPath::parse(field)).collect()
        };
        let identity = if config.include_fields.is_empty() {
            Identity::Whole
        } else {
            Identity::Fields(parse_all(&config.include_fields)?)
        };
        let conditions = config
            .conditions
            .iter()
            .map(|text| otlp_ottl::parse_condition(ContextKind::Log, text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(crate::processor::ottl::describe)?;
        let dropped = DropCounter::new(
            context.telemetry,
            "otelcol_processor_dropped",
            "processor",
            context.id,
        );
        let hold = DedupHold {
            id: context.id.to_owned(),
            interval: config.interval,
            count_attribute: config.log_count_attribute.clone(),
            zone: crate::clock::zone(&config.timezone)?,
            conditions,
            identity,
            excluded: parse_all(&config.exclude_fields)?,
            state: parking_lot::Mutex::new((
                Aggregator::default(),
                Instant::now() + config.interval,
            )),
            dropped: dropped.clone(),
        };
        Ok(holding_stage(hold, context.id, dropped, next))
    }
}

struct DedupHold {
    id: String,
    interval: std::time::Duration,
    count_attribute: String,
    zone: TimeZone,
    conditions: Vec<Condition>,
    identity: Identity,
    excluded: Vec<FieldPath>,
    /// The records gathered, and when they go on.
    state: parking_lot::Mutex<(Aggregator, Instant)>,
    dropped: DropCounter,
}

impl DedupHold {
    /// Splits `request` into the records to gather (out of it, with their resource and scope) and the rest.
    fn gather(&self, request: &mut ExportLogsServiceRequest) -> ExportLogsServiceRequest {
        let mut gathered = ExportLogsServiceRequest::default();
        if self.conditions.is_empty() {
            std::mem::swap(&mut gathered, request);
        } else {
            let mut cache = Vec::new();
            for rl in &mut request.resource_logs {
                let mut taken_scopes = Vec::new();
                for sl in &mut rl.scope_logs {
                    let mut matched = Vec::new();
                    let mut kept = Vec::new();
                    let mut resource = ResourceParts {
                        resource: &mut rl.resource,
                        schema_url: &mut rl.schema_url,
                    };
                    let mut scope = ScopeParts {
                        scope: &mut sl.scope,
                        schema_url: &mut sl.schema_url,
                    };
                    for mut record in std::mem::take(&mut sl.log_records) {
                        cache.clear();
                        let context = TransformContext::for_log(
                            resource.reborrow(),
                            scope.reborrow(),
                            &mut record,
                            &mut cache,
                        );
                        if self.holds(&context) {
                            matched.push(record);
                        } else {
                            kept.push(record);
                        }
                    }
                    sl.log_records = kept;
                    if !matched.is_empty() {
                        taken_scopes.push(ScopeLogs {
                            scope: sl.scope.clone(),
                            log_records: matched,
                            schema_url: sl.schema_url.clone(),
                        });
                    }
                }
                rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
                if !taken_scopes.is_empty() {
                    gathered.resource_logs.push(ResourceLogs {
                        resource: rl.resource.clone(),
                        scope_logs: taken_scopes,
                        schema_url: rl.schema_url.clone(),
                    });
                }
            }
            request.resource_logs.retain(|rl| !rl.scope_logs.is_empty());
        }
        for record in gathered
            .resource_logs
            .iter_mut()
            .flat_map(|rl| &mut rl.scope_logs)
            .flat_map(|sl| &mut sl.log_records)
        {
            for field in &self.excluded {
                field.remove(record);
            }
        }
        gathered
    }

    /// Whether a condition holds for the record; one that fails is logged and counts as not holding, as
    /// otelcol's does.
    fn holds(&self, context: &TransformContext<'_>) -> bool {
        self.conditions
            .iter()
            .any(|condition| match condition.eval(context) {
                Ok(holds) => holds,
                Err(error) => {
                    tracing::warn!(processor = %self.id, %error, "a condition failed on a record; it passes on");
                    false
                }
            })
    }
}

/// A time as RFC 3339 text in `zone`, to the second, as Go writes it (`Z` for a zero offset).
fn observed(nanos: u64, zone: &TimeZone) -> String {
    let Ok(timestamp) = jiff::Timestamp::from_nanosecond(i128::from(nanos)) else {
        return String::new();
    };
    let zoned = timestamp.to_zoned_datetime(zone.clone());
    if zoned.offset().seconds() == 0 {
        zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

impl Hold for DedupHold {
    type Taken = ExportLogsServiceRequest;

    fn split(&self, batch: Batch) -> Result<(Batch, ExportLogsServiceRequest), Batch> {
        let mut rest = match batch.into_request() {
            AnyRequest::Logs(request) => request,
            // Only in a logs pipeline; anything else passes as it is.
            other => return Err(Batch::from(other)),
        };
        let gathered = self.gather(&mut rest);
        Ok((Batch::new(rest), gathered))
    }

    fn hold(&self, gathered: ExportLogsServiceRequest) -> Vec<Batch> {
        if !gathered.resource_logs.is_empty() {
            self.state
                .lock()
                .0
                .add(gathered, &self.identity, now_nanos());
        }
        Vec::new()
    }

    /// Everything gathered, when `interval` has passed since the last send or [`MOST_DISTINCT`] records are held;
    /// the copies merged away are counted as dropped.
    fn due(&self, now: Option<Instant>) -> Option<Batch> {
        let (request, records) = {
            let mut state = self.state.lock();
            let (aggregator, due) = &mut *state;
            if let Some(now) = now {
                if now < *due && aggregator.distinct() < MOST_DISTINCT {
                    return None;
                }
                *due = now + self.interval;
            }
            if aggregator.distinct() == 0 {
                return None;
            }
            let zone = &self.zone;
            aggregator.take(&self.count_attribute, now_nanos(), |nanos| {
                observed(nanos, zone)
            })
        };
        let batch = Batch::new(request);
        let merged = usize::try_from(records).unwrap_or(usize::MAX) - batch.item_count();
        self.dropped.add(Signal::Logs, merged, "deduplicated");
        Some(batch)
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.state.lock().1)
    }

    fn holds_everything(&self) -> bool {
        self.conditions.is_empty()
    }
}

#[cfg(test)]
mod tests;
