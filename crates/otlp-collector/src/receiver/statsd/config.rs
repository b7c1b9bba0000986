//! The `statsd` receiver's settings, with otelcol-contrib's keys and checks.

use super::aggregate::{Observer, Settings};
use crate::component::Invalid;
use crate::de;
use serde::Deserialize;
use std::time::Duration;

/// The `statsd` receiver's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsdConfig {
    /// Where to listen (`localhost:8125`).
    pub endpoint: String,
    /// `udp` (the default) or `tcp` (lines separated by newlines).
    pub transport: String,
    /// How long lines are aggregated before their metrics are sent.
    #[serde(deserialize_with = "de::duration")]
    pub aggregation_interval: Duration,
    /// Adds a `metric_type` attribute (`counter`, `gauge`, `timing`, `histogram`, `distribution`).
    pub enable_metric_type: bool,
    /// Takes DogStatsD tags without a value (`#canary`) as attributes with an empty value.
    pub enable_simple_tags: bool,
    /// Aggregates the lines of a client's every port together (by IP alone).
    pub enable_ip_only_aggregation: bool,
    /// Counters become monotonic sums (otherwise non-monotonic, as otelcol's default).
    pub is_monotonic_counter: bool,
    /// How timings, histograms and distributions are observed; the types not listed are dropped.
    pub timer_histogram_mapping: Vec<Mapping>,
}

impl Default for StatsdConfig {
    fn default() -> Self {
        let gauge = |statsd_type: &str| Mapping {
            statsd_type: statsd_type.to_owned(),
            observer_type: "gauge".to_owned(),
            histogram: None,
            summary: None,
        };
        StatsdConfig {
            endpoint: "localhost:8125".to_owned(),
            transport: "udp".to_owned(),
            aggregation_interval: Duration::from_secs(60),
            enable_metric_type: false,
            enable_simple_tags: false,
            enable_ip_only_aggregation: false,
            is_monotonic_counter: false,
            timer_histogram_mapping: vec![gauge("timer"), gauge("histogram")],
        }
    }
}

/// One `timer_histogram_mapping` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// `timing` (or `timer`), `histogram` or `distribution`.
    pub statsd_type: String,
    /// `gauge` (each sample a point), `summary`, `histogram` (exponential) or `disabled`.
    pub observer_type: String,
    /// The exponential histogram's settings (`observer_type: histogram`).
    #[serde(default)]
    pub histogram: Option<HistogramSettings>,
    /// The summary's settings (`observer_type: summary`).
    #[serde(default)]
    pub summary: Option<SummarySettings>,
}

/// `histogram: { max_size }`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramSettings {
    /// The most buckets per sign (2 to 16384; 160 when 0).
    #[serde(default)]
    pub max_size: u32,
}

/// `summary: { percentiles }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummarySettings {
    /// Percentiles from 0 to 100.
    #[serde(default)]
    pub percentiles: Vec<f64>,
}

/// otelcol's default percentiles of a summary.
const PERCENTILES: [f64; 6] = [0.0, 10.0, 50.0, 90.0, 95.0, 100.0];

impl Mapping {
    fn observer(&self) -> Result<Observer, String> {
        let observer = match self.observer_type.as_str() {
            "gauge" => Observer::Gauge,
            "summary" => Observer::Summary(match &self.summary {
                Some(summary) if !summary.percentiles.is_empty() => {
                    if let Some(bad) = summary
                        .percentiles
                        .iter()
                        .find(|p| !(0.0..=100.0).contains(*p))
                    {
                        return Err(format!(
                            "summary.percentiles: {bad} is not between 0 and 100"
                        ));
                    }
                    summary.percentiles.clone()
                }
                _ => PERCENTILES.to_vec(),
            }),
            "histogram" => Observer::Histogram(match self.histogram.map(|h| h.max_size) {
                None | Some(0) => 160,
                Some(size @ 2..=16384) => size as usize,
                Some(size) => {
                    return Err(format!(
                        "histogram.max_size {size} is out of range (2 to 16384)"
                    ));
                }
            }),
            "disabled" => Observer::Disabled,
            other => {
                return Err(format!(
                    "observer_type `{other}` is not supported; use gauge, summary, histogram or disabled"
                ));
            }
        };
        if self.histogram.is_some() && !matches!(observer, Observer::Histogram(_)) {
            return Err("histogram settings need observer_type: histogram".into());
        }
        if self.summary.is_some() && !matches!(observer, Observer::Summary(_)) {
            return Err("summary settings need observer_type: summary".into());
        }
        Ok(observer)
    }
}

impl StatsdConfig {
    /// The aggregation settings, or the first problem of a mapping (with its index).
    pub(super) fn settings(&self) -> Result<Settings, (usize, String)> {
        let mut settings = Settings {
            monotonic_counter: self.is_monotonic_counter,
            timing: Observer::Disabled,
            histogram: Observer::Disabled,
            distribution: Observer::Disabled,
        };
        for (i, mapping) in self.timer_histogram_mapping.iter().enumerate() {
            let observer = mapping.observer().map_err(|e| (i, e))?;
            match mapping.statsd_type.as_str() {
                "timing" | "timer" => settings.timing = observer,
                "histogram" => settings.histogram = observer,
                "distribution" => settings.distribution = observer,
                other => {
                    return Err((
                        i,
                        format!(
                            "statsd_type `{other}` is not a supported mapping; use timing, timer, histogram or \
                             distribution"
                        ),
                    ));
                }
            }
        }
        Ok(settings)
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if self.aggregation_interval.is_zero() {
            problems.push(Invalid::at(
                "aggregation_interval",
                "must be a positive duration",
            ));
        }
        match self.transport.as_str() {
            "udp" | "tcp" => {}
            "unixgram" => problems.push(Invalid::at(
                "transport",
                "unixgram is not supported here; use udp or tcp",
            )),
            other => problems.push(Invalid::at(
                "transport",
                format!("`{other}` is not a transport here; use udp or tcp"),
            )),
        }
        if let Err((i, message)) = self.settings() {
            problems.push(Invalid::at(
                format!("timer_histogram_mapping[{i}]"),
                message,
            ));
        }
        Invalid::all(problems)
    }
}
