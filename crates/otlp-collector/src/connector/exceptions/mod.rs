//! The `exceptions` connector: otelcol-contrib's, turning the exceptions spans recorded (span events named
//! `exception`, as the OpenTelemetry APIs' `record_exception` writes them) into metrics and logs.
//!
//! For a metrics pipeline, each exception is counted in `exceptions`, a cumulative monotonic sum per
//! `service.name`, `span.name`, `span.kind`, `status.code`, `exception.type`, `exception.message` and the
//! configured `dimensions`, under the span's resource; the series are sent after every batch of spans, as
//! otelcol does. For a logs pipeline, each exception becomes an `ERROR` log record at the event's time, carrying
//! the span's trace and span ids and attributes (`logs.rs`). Spans are read in place as received, and a request
//! without the word `exception` anywhere in its bytes is not read at all; spans whose resource has no
//! `service.name` are left out, as in otelcol.

mod logs;

use super::Targets;
use super::from_spans::{self, FromSpans, Schedule};
use super::spanmetrics::{self, Counting, DimensionConfig};
use crate::Signal;
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::Consumer;
use memchr::memmem::Finder;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_model::wire::WireError;
use serde::Deserialize;
use std::sync::{Arc, LazyLock};

/// The `exceptions` connector type.
pub struct Factory;

/// The `exceptions` connector's settings, otelcol-contrib's keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExceptionsConfig {
    /// More dimensions of the metric (and attributes of the log records): each looked up on the span, then the
    /// exception event, then the resource, then its `default`; without any, left out.
    pub dimensions: Vec<DimensionConfig>,
    /// Exemplars on the metric's points.
    pub exemplars: ExemplarsConfig,
}

/// Whether the metric's points carry exemplars.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExemplarsConfig {
    /// Attach, to each point, the spans whose exceptions were counted in it since it was last sent (at most 5):
    /// their trace and span ids, and their duration in milliseconds.
    pub enabled: bool,
}

impl Component for Factory {
    type Config = ExceptionsConfig;
    const TYPE: &'static str = "exceptions";

    fn validate(&self, config: &ExceptionsConfig) -> Result<(), Invalid> {
        match spanmetrics::exception_counter(&config.dimensions, config.exemplars.enabled) {
            Ok(_) => Ok(()),
            Err(problems) => Invalid::all(problems),
        }
    }
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = &[
        (Signal::Traces, Signal::Metrics),
        (Signal::Traces, Signal::Logs),
    ];

    fn build(
        &self,
        config: &ExceptionsConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let after_every_batch = Schedule {
            send_every: None,
            housekeeping: None,
        };
        Ok(match context.to {
            Signal::Metrics => {
                let counter =
                    spanmetrics::exception_counter(&config.dimensions, config.exemplars.enabled)
                        .map_err(super::settings_error)?;
                from_spans::connector(
                    OnlyWithExceptions(Counting::new(context.id, counter)),
                    context.id,
                    context.telemetry,
                    targets,
                    after_every_batch,
                )
            }
            Signal::Logs => from_spans::connector(
                OnlyWithExceptions(logs::Records::new(context.id, config.dimensions.clone())),
                context.id,
                context.telemetry,
                targets,
                after_every_batch,
            ),
            Signal::Traces => {
                return Err("exceptions makes metrics and logs, not traces".to_string());
            }
        })
    }
}

/// The name of the event an exception is recorded as.
pub(super) const EXCEPTION_EVENT: &str = "exception";

/// Reads a request as received only if its bytes hold the word `exception`: an event named so holds it, and
/// with a few percent of traces failing, most requests hold none and cost a search instead of a reading (a
/// request that holds the word elsewhere, in an attribute, is read and yields nothing).
struct OnlyWithExceptions<S>(S);

static EXCEPTION_WORD: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(EXCEPTION_EVENT.as_bytes()));

impl<S: FromSpans> FromSpans for OnlyWithExceptions<S> {
    type Reading = S::Reading;
    type Output = S::Output;

    fn begin(&self) -> S::Reading {
        self.0.begin()
    }

    fn read_encoded(&self, bytes: &[u8], reading: &mut S::Reading) -> Result<(), WireError> {
        if EXCEPTION_WORD.find(bytes).is_none() {
            return Ok(());
        }
        self.0.read_encoded(bytes, reading)
    }

    fn read_decoded(&self, request: &ExportTraceServiceRequest, reading: &mut S::Reading) {
        self.0.read_decoded(request, reading);
    }

    fn end(&self, reading: S::Reading) {
        self.0.end(reading);
    }

    fn output(&self) -> Option<S::Output> {
        self.0.output()
    }

    fn housekeep(&self) {
        self.0.housekeep();
    }
}
