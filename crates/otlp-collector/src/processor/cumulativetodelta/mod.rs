//! The `cumulativetodelta` processor (otelcol-contrib's, metrics only): monotonic cumulative sums and cumulative
//! histograms turned into deltas, for backends that take only deltas. It remembers the last point of every stream
//! (`tracker.rs`), so a stream must keep reaching the same collector: behind a load balancer, route metrics by
//! stream (the `loadbalancing` exporter's `routing_key: streamID`).

mod tracker;

use super::in_place::{InPlace, in_place_stage};
use crate::component::{Component, Invalid, ProcessorContext, ProcessorFactory};
use crate::de;
use crate::pipeline::Consumer;
use crate::processor::stream_key;
use crate::telemetry::Counter;
use crate::{AnyRequest, Batch, Signal};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, Metric, metric::Data};
use otlp_ottl::actions::{MatchType, RegexpSettings};
use regex::Regex;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tracker::{Outcome, Tracker};

pub use tracker::InitialValue;

/// The `cumulativetodelta` processor's settings, with otelcol's keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CumulativeToDeltaConfig {
    /// Forget a stream after this long without a point; 0 keeps every stream for as long as the collector runs.
    #[serde(default, deserialize_with = "de::duration")]
    pub max_staleness: Duration,
    /// What is sent of a stream's first point.
    #[serde(default)]
    pub initial_value: InitialValue,
    /// Only these metrics are converted (all, when absent).
    #[serde(default)]
    pub include: MetricsMatch,
    /// These metrics are not converted, whatever `include` says.
    #[serde(default)]
    pub exclude: MetricsMatch,
}

/// `include` / `exclude`: metric names and types.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsMatch {
    /// How `metrics` are compared: `strict` or `regexp` (unanchored); required with `metrics`.
    #[serde(default)]
    pub match_type: Option<MatchType>,
    /// Metric names or patterns.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// `sum` and/or `histogram`.
    #[serde(default)]
    pub metric_types: Vec<String>,
    /// Accepted for otelcol configs; regexes need no result cache here.
    #[serde(default)]
    pub regexp: Option<RegexpSettings>,
}

const METRIC_TYPES: [&str; 2] = ["sum", "histogram"];

/// A compiled `include` or `exclude`.
#[derive(Debug, Clone, Default)]
struct Selector {
    names: Option<Names>,
    sums: bool,
    histograms: bool,
}

#[derive(Debug, Clone)]
enum Names {
    Strict(Vec<String>),
    Regexp(Vec<Regex>),
}

impl Selector {
    /// `None` when `side` selects nothing (is not given).
    fn new(side: &MetricsMatch, key: &str) -> Result<Option<Self>, Invalid> {
        let mut problems = Vec::new();
        match (&side.match_type, side.metrics.is_empty()) {
            (None, false) => problems.push(Invalid::at(
                format!("{key}.match_type"),
                "set `strict` or `regexp`: `metrics` are compared by it",
            )),
            (Some(_), true) => problems.push(Invalid::at(
                format!("{key}.metrics"),
                "`match_type` is set but there are no metric names to match",
            )),
            _ => {}
        }
        for (i, kind) in side.metric_types.iter().enumerate() {
            if !METRIC_TYPES.contains(&kind.as_str()) {
                problems.push(Invalid::at(
                    format!("{key}.metric_types[{i}]"),
                    format!("\"{kind}\" is not converted; one of sum, histogram"),
                ));
            }
        }
        let names = match side.match_type {
            _ if side.metrics.is_empty() => None,
            Some(MatchType::Regexp) => {
                let mut regexes = Vec::new();
                for (i, pattern) in side.metrics.iter().enumerate() {
                    match Regex::new(pattern) {
                        Ok(regex) => regexes.push(regex),
                        Err(error) => problems.push(Invalid::at(
                            format!("{key}.metrics[{i}]"),
                            format!("invalid regex \"{pattern}\": {error}"),
                        )),
                    }
                }
                Some(Names::Regexp(regexes))
            }
            _ => Some(Names::Strict(side.metrics.clone())),
        };
        Invalid::all(problems)?;
        if names.is_none() && side.metric_types.is_empty() {
            return Ok(None);
        }
        let typed = |kind: &str| {
            side.metric_types.is_empty() || side.metric_types.iter().any(|t| t == kind)
        };
        Ok(Some(Selector {
            names,
            sums: typed("sum"),
            histograms: typed("histogram"),
        }))
    }

    fn matches(&self, metric: &Metric) -> bool {
        let typed = match metric.data {
            Some(Data::Sum(_)) => self.sums,
            Some(Data::Histogram(_)) => self.histograms,
            _ => false,
        };
        typed
            && match &self.names {
                None => true,
                Some(Names::Strict(names)) => names.contains(&metric.name),
                Some(Names::Regexp(regexes)) => regexes.iter().any(|r| r.is_match(&metric.name)),
            }
    }
}

/// The compiled settings.
#[derive(Debug, Clone)]
struct Settings {
    include: Option<Selector>,
    exclude: Option<Selector>,
}

impl Settings {
    fn new(config: &CumulativeToDeltaConfig) -> Result<Self, Invalid> {
        let include = Selector::new(&config.include, "include");
        let exclude = Selector::new(&config.exclude, "exclude");
        Invalid::all(
            [include.as_ref().err(), exclude.as_ref().err()]
                .into_iter()
                .flatten()
                .cloned(),
        )?;
        Ok(Settings {
            include: include.ok().flatten(),
            exclude: exclude.ok().flatten(),
        })
    }

    fn converts(&self, metric: &Metric) -> bool {
        self.include.as_ref().is_none_or(|s| s.matches(metric))
            && !self.exclude.as_ref().is_some_and(|s| s.matches(metric))
    }
}

/// The `cumulativetodelta` processor type.
pub struct Factory;

impl Component for Factory {
    type Config = CumulativeToDeltaConfig;
    const TYPE: &'static str = "cumulativetodelta";

    fn validate(&self, config: &Self::Config) -> Result<(), Invalid> {
        Settings::new(config).map(|_| ())
    }
}

impl ProcessorFactory for Factory {
    const SIGNALS: &'static [Signal] = &[Signal::Metrics];

    fn build(
        &self,
        config: &Self::Config,
        context: ProcessorContext<'_>,
        next: Arc<dyn Consumer>,
    ) -> Result<Arc<dyn Consumer>, String> {
        let settings = Settings::new(config).map_err(|invalid| invalid.message().to_owned())?;
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
            });
        let max_staleness = (!config.max_staleness.is_zero()).then_some(config.max_staleness);
        let tracker = Arc::new(parking_lot::Mutex::new(Tracker::new(
            config.initial_value,
            started,
            max_staleness,
        )));
        let labels = [("processor", context.id)];
        let telemetry = context.telemetry;
        let streams = Arc::downgrade(&tracker);
        telemetry.gauge(
            "otelcol_processor_cumulativetodelta_streams",
            "Cumulative streams whose last point the processor holds.",
            &labels,
            move || streams.upgrade().map_or(0, |t| t.lock().streams() as u64),
        );
        let stage = CumulativeToDelta {
            settings,
            tracker,
            converted: telemetry.counter(
                "otelcol_processor_cumulativetodelta_converted_points",
                "Cumulative points sent on as deltas (first points sent whole included).",
                &labels,
            ),
            dropped: telemetry.counter(
                "otelcol_processor_cumulativetodelta_dropped_points",
                "Cumulative points not sent: first points only remembered, resets, points not newer than their \
                 stream's last, points without a recorded value.",
                &labels,
            ),
        };
        Ok(in_place_stage(stage, next))
    }
}

struct CumulativeToDelta {
    settings: Settings,
    tracker: Arc<parking_lot::Mutex<Tracker>>,
    converted: Counter,
    dropped: Counter,
}

#[derive(Default)]
struct Tally {
    converted: u64,
    dropped: u64,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) -> bool {
        match outcome {
            Outcome::Converted => self.converted += 1,
            Outcome::Dropped => self.dropped += 1,
            Outcome::Unchanged => {}
        }
        outcome != Outcome::Dropped
    }
}

impl CumulativeToDelta {
    /// Converts the metrics of `request` the settings select, dropping what becomes empty.
    fn convert(
        &self,
        request: &mut ExportMetricsServiceRequest,
        tracker: &mut Tracker,
        now: Instant,
    ) -> Tally {
        let mut tally = Tally::default();
        let mut metric_key = Vec::new();
        stream_key::retain_metrics(request, |scope_key, metric| {
            if !self.settings.converts(metric) {
                return true;
            }
            metric_key.clear();
            match &mut metric.data {
                Some(Data::Sum(sum))
                    if sum.is_monotonic
                        && sum.aggregation_temporality
                            == AggregationTemporality::Cumulative as i32 =>
                {
                    stream_key::metric(&mut metric_key, &metric.name, &metric.unit, b's');
                    sum.data_points.retain_mut(|point| {
                        tally.add(tracker.sum_point(scope_key, &metric_key, point, now))
                    });
                    sum.aggregation_temporality = AggregationTemporality::Delta as i32;
                    !sum.data_points.is_empty()
                }
                Some(Data::Histogram(histogram))
                    if histogram.aggregation_temporality
                        == AggregationTemporality::Cumulative as i32 =>
                {
                    stream_key::metric(&mut metric_key, &metric.name, &metric.unit, b'h');
                    histogram.data_points.retain_mut(|point| {
                        tally.add(tracker.histogram_point(scope_key, &metric_key, point, now))
                    });
                    histogram.aggregation_temporality = AggregationTemporality::Delta as i32;
                    !histogram.data_points.is_empty()
                }
                _ => true,
            }
        });
        tally
    }
}

impl InPlace for CumulativeToDelta {
    fn apply(&self, batch: &mut Batch) {
        let now = Instant::now();
        let tally = batch.edit(|request| {
            let AnyRequest::Metrics(metrics) = request else {
                return Tally::default();
            };
            let mut tracker = self.tracker.lock();
            tracker.sweep(now);
            self.convert(metrics, &mut tracker, now)
        });
        self.converted.add(tally.converted);
        self.dropped.add(tally.dropped);
    }
}

#[cfg(test)]
mod tests;
