//! The `otlpjson` connector (otelcol-contrib's): telemetry carried as OTLP/JSON in log records' bodies (a file of
//! export requests read by `filelog`, lines a serverless platform logged, a message queue's payloads) turned back
//! into the traces, metrics and logs it holds.
//!
//! ```yaml
//! receivers:
//!   filelog: { include: [/var/log/otel/*.jsonl] }
//! connectors:
//!   otlpjson:
//! service:
//!   pipelines:
//!     logs/raw: { receivers: [filelog], exporters: [otlpjson] }
//!     traces: { receivers: [otlpjson], exporters: [otlp] }
//!     metrics: { receivers: [otlpjson], exporters: [otlp] }
//!     logs: { receivers: [otlpjson], exporters: [otlp] }
//! ```
//!
//! A record whose body is text starting with an export request's key (`{"resourceSpans": [`, `{"resourceMetrics":
//! [`, `{"resourceLogs": [`, as otelcol matches them) is decoded for the pipelines of that signal; the requests of
//! one batch of records go on as one. Items left out of an export request as invalid (a span without its ids) are
//! left out here too. A body that is not such a request, or does not decode, is logged with the reason and
//! skipped, as in otelcol: it is not telemetry of this connector's.

use super::{Connect, Targets};
use crate::component::{Component, ConnectorContext, ConnectorFactory};
use crate::pipeline::{BoxFuture, Consumer, Refused};
use crate::receiver::otlpjsonfile::line;
use crate::{Batch, Signal};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use otlp_model::AnyRequest;
use serde::Deserialize;
use std::sync::Arc;

/// The `otlpjson` connector type.
pub struct Factory;

/// `otlpjson` takes no settings, as in otelcol.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpJsonConfig {}

impl Component for Factory {
    type Config = OtlpJsonConfig;
    const TYPE: &'static str = "otlpjson";
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = &[
        (Signal::Logs, Signal::Traces),
        (Signal::Logs, Signal::Metrics),
        (Signal::Logs, Signal::Logs),
    ];

    fn build(
        &self,
        _config: &OtlpJsonConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        Ok(super::stage(OtlpJson {
            signal: context.to,
            targets,
            id: context.id.to_owned(),
        }))
    }
}

struct OtlpJson {
    /// The signal this instance extracts.
    signal: Signal,
    targets: Targets,
    id: String,
}

/// The signal whose export request `body` is, by its first key, as otelcol's patterns match it.
fn signal_of(body: &str) -> Option<Signal> {
    let rest = body.strip_prefix('{')?.trim_start();
    let (signal, rest) = [
        ("\"resourceSpans\"", Signal::Traces),
        ("\"resourceMetrics\"", Signal::Metrics),
        ("\"resourceLogs\"", Signal::Logs),
    ]
    .into_iter()
    .find_map(|(key, signal)| Some((signal, rest.strip_prefix(key)?)))?;
    rest.trim_start()
        .strip_prefix(':')?
        .trim_start()
        .starts_with('[')
        .then_some(signal)
}

impl OtlpJson {
    /// The requests of this instance's signal that `logs` carry, merged into one, with why those that could not
    /// be read were not; `others` counts the bodies that are no export request at all.
    fn extract(
        &self,
        logs: &ExportLogsServiceRequest,
        others: &mut usize,
    ) -> (Option<Batch>, Vec<String>) {
        let mut merged: Option<AnyRequest> = None;
        let mut problems = Vec::new();
        let bodies = logs
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .map(
                |record| match record.body.as_ref().and_then(|b| b.value.as_ref()) {
                    Some(Value::StringValue(text)) => Some(text.as_str()),
                    _ => None,
                },
            );
        for body in bodies {
            match body.map(|text| (signal_of(text), text)) {
                Some((Some(signal), text)) if signal == self.signal => {
                    match line::decode(text, |wanted| wanted == signal) {
                        Ok(decoded) => {
                            for line::Decoded { batch, rejected } in decoded {
                                if let Some(rejected) = rejected {
                                    problems.push(rejected.message);
                                }
                                let request = batch.into_request();
                                match &mut merged {
                                    None => merged = Some(request),
                                    Some(into) => {
                                        if into.append(request).is_err() {
                                            problems.push("a request of another signal".to_owned());
                                        }
                                    }
                                }
                            }
                        }
                        Err(problem) => problems.push(problem),
                    }
                }
                // Another signal's request: another instance's to read.
                Some((Some(_), _)) => {}
                _ => *others += 1,
            }
        }
        let batch = merged
            .map(|request| otlp_model::with_request!(request, request => Batch::new(request)));
        (batch, problems)
    }
}

impl Connect for OtlpJson {
    fn consume(&self, batch: Batch) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            let Some(logs) = batch.get::<ExportLogsServiceRequest>() else {
                return Ok(());
            };
            let mut others = 0;
            let (extracted, problems) = self.extract(logs, &mut others);
            if let Some(first) = problems.first() {
                tracing::warn!(connector = %self.id, signal = %self.signal, count = problems.len(),
                    %first, "OTLP/JSON bodies that could not be read, left out");
            }
            if others > 0 {
                tracing::debug!(connector = %self.id, count = others, "log bodies that are no OTLP/JSON export request");
            }
            match extracted {
                Some(batch) if !batch.is_empty() => self.targets.consume(batch).await,
                _ => Ok(()),
            }
        })
    }

    fn ready(&self, items: usize) -> BoxFuture<'_, ()> {
        Box::pin(self.targets.ready(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_told_apart_by_their_first_key() {
        assert_eq!(signal_of(r#"{"resourceSpans":[]}"#), Some(Signal::Traces));
        assert_eq!(
            signal_of("{ \"resourceMetrics\" :\n [ {} ] }"),
            Some(Signal::Metrics)
        );
        assert_eq!(signal_of(r#"{"resourceLogs": [{}]}"#), Some(Signal::Logs));
        // otelcol's patterns: the key first, its value a list.
        assert_eq!(signal_of(r#" {"resourceLogs": []}"#), None);
        assert_eq!(signal_of(r#"{"x": 1, "resourceLogs": []}"#), None);
        assert_eq!(signal_of(r#"{"resourceLogs": {}}"#), None);
        assert_eq!(signal_of("GET /cart 200"), None);
    }
}
