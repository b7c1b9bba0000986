//! The `spanmetrics` connector: otelcol-contrib's, turning the spans a traces pipeline exports into request,
//! error and duration (R.E.D.) metrics for metrics pipelines.
//!
//! Every span is counted in a `calls` sum and its duration recorded in a `duration` histogram (explicit buckets
//! by default, exponential ones on request), per series of `service.name`, `span.name`, `span.kind`,
//! `status.code` and the configured dimensions, under the span's resource; span events can be counted too
//! (`events`). The series are kept between flushes and sent every `metrics_flush_interval` (60s), cumulative by
//! default, and once more when the feeding pipeline flushes or shuts down. Metric names are prefixed with
//! `namespace` (`traces.span.metrics`), as in otelcol.

mod aggregate;
mod config;
pub(super) mod encoded;
pub(super) mod facts;
mod key;

pub use config::{
    DimensionConfig, EventsConfig, ExemplarsConfig, ExplicitConfig, ExponentialConfig,
    HistogramConfig, SpanMetricsConfig,
};

use super::Targets;
use super::from_spans::{self, FromSpans, Schedule};
use crate::Signal;
use crate::component::{Component, ConnectorContext, ConnectorFactory, Invalid};
use crate::pipeline::Consumer;
pub(super) use aggregate::{Aggregator, kind_name, status_name, text};
pub(super) use config::{SERVICE_NAME, SPAN_KIND, SPAN_NAME, STATUS_CODE};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_model::wire::WireError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The `spanmetrics` connector type.
pub struct Factory;

impl Component for Factory {
    type Config = SpanMetricsConfig;
    const TYPE: &'static str = "spanmetrics";

    fn validate(&self, config: &SpanMetricsConfig) -> Result<(), Invalid> {
        match config.compile() {
            Ok(_) => Ok(()),
            Err(problems) => Invalid::all(problems),
        }
    }
}

impl ConnectorFactory for Factory {
    const PAIRS: &'static [(Signal, Signal)] = &[(Signal::Traces, Signal::Metrics)];

    fn build(
        &self,
        config: &SpanMetricsConfig,
        context: ConnectorContext<'_>,
        targets: Targets,
    ) -> Result<Arc<dyn Consumer>, String> {
        let settings = config.compile().map_err(super::settings_error)?;
        let schedule = Schedule {
            send_every: Some(settings.flush_interval),
            housekeeping: None,
        };
        let counting = Counting::new(context.id, Aggregator::new(settings));
        Ok(from_spans::connector(
            counting,
            context.id,
            context.telemetry,
            targets,
            schedule,
        ))
    }
}

/// The series, counted from the spans of every batch.
pub(super) struct Counting {
    id: String,
    aggregator: parking_lot::Mutex<Aggregator>,
    /// Spans without `service.name` are logged once.
    warned_unnamed: AtomicBool,
}

impl Counting {
    /// Counts with `aggregator` for connector `id`.
    pub(super) fn new(id: &str, aggregator: Aggregator) -> Self {
        Counting {
            id: id.to_string(),
            aggregator: parking_lot::Mutex::new(aggregator),
            warned_unnamed: AtomicBool::new(false),
        }
    }
}

/// A batch's time, and how many of its spans had no `service.name`.
pub(super) struct Reading {
    now: u64,
    unnamed: usize,
}

impl FromSpans for Counting {
    type Reading = Reading;
    type Output = ExportMetricsServiceRequest;

    fn begin(&self) -> Reading {
        Reading {
            now: now(),
            unnamed: 0,
        }
    }

    fn read_encoded(&self, bytes: &[u8], reading: &mut Reading) -> Result<(), WireError> {
        // Read in place before taking the aggregator, which the pipeline's other tasks share.
        let request = encoded::parse(bytes)?;
        reading.unnamed += self
            .aggregator
            .lock()
            .aggregate_encoded(&request, reading.now);
        Ok(())
    }

    fn read_decoded(&self, request: &ExportTraceServiceRequest, reading: &mut Reading) {
        reading.unnamed += self.aggregator.lock().aggregate(request, reading.now);
    }

    fn end(&self, reading: Reading) {
        if reading.unnamed > 0 && !self.warned_unnamed.swap(true, Ordering::Relaxed) {
            tracing::warn!(connector = %self.id, spans = reading.unnamed,
                "spans whose resource has no service.name are not counted, as in otelcol (logged once)");
        }
    }

    fn output(&self) -> Option<ExportMetricsServiceRequest> {
        self.aggregator.lock().take_metrics(now())
    }
}

/// The `exceptions` connector's count: the span events named `exception`, in a monotonic sum named `exceptions`
/// under otelcol-contrib's scope `exceptionsconnector`, per `service.name`, `span.name`, `span.kind`,
/// `status.code`, `exception.type`, `exception.message` and `dimensions`, each series under its resource as
/// `spanmetrics` keeps its `events` series; exemplars (the span's ids and duration in ms) on request.
pub(super) fn exception_counter(
    dimensions: &[DimensionConfig],
    exemplars: bool,
) -> Result<Aggregator, Vec<Invalid>> {
    let event_dimension = |name: &str| DimensionConfig {
        name: name.to_string(),
        default: None,
    };
    let config = SpanMetricsConfig {
        dimensions: dimensions.to_vec(),
        namespace: String::new(),
        histogram: HistogramConfig {
            disable: true,
            ..HistogramConfig::default()
        },
        events: EventsConfig {
            enabled: true,
            dimensions: vec![
                event_dimension("exception.type"),
                event_dimension("exception.message"),
            ],
        },
        exemplars: ExemplarsConfig {
            enabled: exemplars,
            max_per_data_point: None,
        },
        ..SpanMetricsConfig::default()
    };
    let mut settings = config.compile()?;
    settings.spans = false;
    settings.event_name = Some("exception");
    settings.events_metric = "exceptions";
    settings.scope_name = "exceptionsconnector";
    Ok(Aggregator::new(settings))
}

fn now() -> u64 {
    from_spans::unix_nanos(Duration::ZERO)
}
