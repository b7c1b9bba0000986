//! The `spanmetrics` connector's settings, otelcol-contrib's keys and defaults, and what they compile to.

use crate::component::Invalid;
use crate::histogram::Buckets;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The dimensions every series has unless excluded, in the order they are written.
pub(in crate::connector) const SERVICE_NAME: &str = "service.name";
pub(in crate::connector) const SPAN_NAME: &str = "span.name";
pub(in crate::connector) const SPAN_KIND: &str = "span.kind";
pub(in crate::connector) const STATUS_CODE: &str = "status.code";

/// otelcol-contrib's default explicit buckets, in milliseconds.
const DEFAULT_BUCKETS_MS: [f64; 16] = [
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0,
    10_000.0, 15_000.0,
];

/// The `spanmetrics` connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpanMetricsConfig {
    /// Dimensions added to every metric's series, looked up on the span, then its resource.
    pub dimensions: Vec<DimensionConfig>,
    /// Dimensions added to the `calls` series only.
    pub calls_dimensions: Vec<DimensionConfig>,
    /// Of `service.name`, `span.name`, `span.kind` and `status.code`, the ones the series leave out.
    pub exclude_dimensions: Vec<String>,
    /// Deprecated in otelcol (a cache of its own); accepted, and without effect here.
    pub dimensions_cache_size: Option<u64>,
    /// How many resources keep their series; beyond it the least recently seen are dropped at the next flush.
    pub resource_metrics_cache_size: usize,
    /// The resource attributes that tell resources apart (all of them when empty).
    pub resource_metrics_key_attributes: Vec<String>,
    /// `AGGREGATION_TEMPORALITY_CUMULATIVE` (the default) or `AGGREGATION_TEMPORALITY_DELTA`.
    pub aggregation_temporality: String,
    /// The duration histogram.
    pub histogram: HistogramConfig,
    /// How often the metrics are sent.
    #[serde(deserialize_with = "crate::de::duration")]
    pub metrics_flush_interval: Duration,
    /// How long a resource's series are kept without new spans (forever when zero).
    #[serde(deserialize_with = "crate::de::duration")]
    pub metrics_expiration: Duration,
    /// With delta temporality, how many series remember when they were last sent, so that the next point
    /// starts there.
    pub metric_timestamp_cache_size: Option<usize>,
    /// Prefixed to the metric names, with a dot.
    pub namespace: String,
    /// Spans attached to the points as exemplars.
    pub exemplars: ExemplarsConfig,
    /// A count of span events.
    pub events: EventsConfig,
    /// Scopes whose name and version become dimensions.
    pub include_instrumentation_scope: Vec<String>,
    /// The most series a metric keeps per resource; later ones go to one overflow series (no limit when zero).
    pub aggregation_cardinality_limit: usize,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        SpanMetricsConfig {
            dimensions: Vec::new(),
            calls_dimensions: Vec::new(),
            exclude_dimensions: Vec::new(),
            dimensions_cache_size: None,
            resource_metrics_cache_size: 1000,
            resource_metrics_key_attributes: Vec::new(),
            aggregation_temporality: CUMULATIVE.to_string(),
            histogram: HistogramConfig::default(),
            metrics_flush_interval: Duration::from_secs(60),
            metrics_expiration: Duration::ZERO,
            metric_timestamp_cache_size: None,
            namespace: "traces.span.metrics".to_string(),
            exemplars: ExemplarsConfig::default(),
            events: EventsConfig::default(),
            include_instrumentation_scope: Vec::new(),
            aggregation_cardinality_limit: 0,
        }
    }
}

const CUMULATIVE: &str = "AGGREGATION_TEMPORALITY_CUMULATIVE";
const DELTA: &str = "AGGREGATION_TEMPORALITY_DELTA";

/// A dimension: an attribute name, and the value for spans without it (without one, such spans' series leave
/// the dimension out).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionConfig {
    /// The attribute's key, and the dimension's name.
    pub name: String,
    /// The value when the attribute is missing.
    #[serde(default)]
    pub default: Option<String>,
}

/// The duration histogram's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistogramConfig {
    /// No duration histogram at all.
    pub disable: bool,
    /// `ms` (the default) or `s`.
    pub unit: Option<String>,
    /// Explicit bucket bounds (the default, with otelcol's bounds).
    pub explicit: Option<ExplicitConfig>,
    /// Base-2 exponential buckets instead.
    pub exponential: Option<ExponentialConfig>,
    /// Dimensions added to the histogram's series only.
    pub dimensions: Vec<DimensionConfig>,
}

/// Explicit bucket bounds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExplicitConfig {
    /// Upper bounds as durations (`2ms`, `1s`), increasing.
    #[serde(deserialize_with = "crate::de::optional_durations")]
    pub buckets: Option<Vec<Duration>>,
}

/// Exponential buckets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExponentialConfig {
    /// The most buckets a point holds (160 when zero or absent, as in otelcol).
    pub max_size: usize,
}

/// Exemplars.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExemplarsConfig {
    /// Attach spans to the points they were counted in.
    pub enabled: bool,
    /// The most exemplars a point carries per flush (5 when absent).
    pub max_per_data_point: Option<usize>,
}

/// The span events metric.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Count span events.
    pub enabled: bool,
    /// Event attributes the count is split by (besides the common dimensions); required when enabled.
    pub dimensions: Vec<DimensionConfig>,
}

/// Cumulative or delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Temporality {
    Cumulative,
    Delta,
}

impl Temporality {
    pub(super) fn proto(self) -> i32 {
        use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality as Proto;
        match self {
            Temporality::Cumulative => Proto::Cumulative as i32,
            Temporality::Delta => Proto::Delta as i32,
        }
    }
}

/// The unit durations are recorded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Milliseconds,
    Seconds,
}

impl Unit {
    pub(super) fn name(self) -> &'static str {
        match self {
            Unit::Milliseconds => "ms",
            Unit::Seconds => "s",
        }
    }

    pub(super) fn of_nanos(self, nanos: u64) -> f64 {
        match self {
            Unit::Milliseconds => nanos as f64 / 1e6,
            Unit::Seconds => nanos as f64 / 1e9,
        }
    }
}

/// A dimension, compiled.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Dimension {
    pub(super) name: String,
    pub(super) default: Option<String>,
}

/// otelcol-contrib's scope name for these metrics, so that queries written against its output find ours.
pub(super) const SCOPE_NAME: &str = "spanmetricsconnector";

/// Which of the four common dimensions the series have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Common {
    pub(super) service: bool,
    pub(super) span_name: bool,
    pub(super) kind: bool,
    pub(super) status: bool,
}

/// The settings, checked and in the form the aggregation uses.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) namespace: String,
    pub(super) temporality: Temporality,
    pub(super) unit: Unit,
    /// `None` when the histogram is disabled.
    pub(super) histogram: Option<Buckets>,
    pub(super) common: Common,
    pub(super) dimensions: Vec<Dimension>,
    pub(super) calls_dimensions: Vec<Dimension>,
    pub(super) histogram_dimensions: Vec<Dimension>,
    /// The events metric's own dimensions, when it is enabled.
    pub(super) events: Option<Vec<Dimension>>,
    pub(super) include_scopes: Vec<String>,
    pub(super) resource_key_attributes: Vec<String>,
    pub(super) resource_cache_size: usize,
    pub(super) expiration: Option<Duration>,
    /// The most exemplars per point, when exemplars are enabled.
    pub(super) exemplars: Option<usize>,
    pub(super) cardinality_limit: Option<usize>,
    pub(super) delta_start_cache_size: usize,
    pub(super) flush_interval: Duration,
    /// Whether spans are counted in `calls` and `duration` (`exceptions` counts only events).
    pub(super) spans: bool,
    /// Only events of this name are counted in the events metric (`exceptions`: `exception`).
    pub(super) event_name: Option<&'static str>,
    /// The events metric's name, before the namespace.
    pub(super) events_metric: &'static str,
    /// The scope of the metrics, as otelcol-contrib names its connector's.
    pub(super) scope_name: &'static str,
}

impl SpanMetricsConfig {
    /// The settings, or every problem at its key.
    pub(super) fn compile(&self) -> Result<Settings, Vec<Invalid>> {
        let mut problems = Vec::new();
        let temporality = match self.aggregation_temporality.as_str() {
            CUMULATIVE => Temporality::Cumulative,
            DELTA => Temporality::Delta,
            other => {
                problems.push(Invalid::at(
                    "aggregation_temporality",
                    format!("`{other}` is neither `{CUMULATIVE}` nor `{DELTA}`"),
                ));
                Temporality::Cumulative
            }
        };
        let unit = match self.histogram.unit.as_deref() {
            None | Some("ms") => Unit::Milliseconds,
            Some("s") => Unit::Seconds,
            Some(other) => {
                problems.push(Invalid::at(
                    "histogram.unit",
                    format!("`{other}` is neither `ms` nor `s`"),
                ));
                Unit::Milliseconds
            }
        };
        let histogram = self.buckets(unit, &mut problems);
        let mut common = Common {
            service: true,
            span_name: true,
            kind: true,
            status: true,
        };
        for (i, name) in self.exclude_dimensions.iter().enumerate() {
            match name.as_str() {
                SERVICE_NAME => common.service = false,
                SPAN_NAME => common.span_name = false,
                SPAN_KIND => common.kind = false,
                STATUS_CODE => common.status = false,
                other => problems.push(Invalid::at(
                    format!("exclude_dimensions[{i}]"),
                    format!(
                        "`{other}` is not one of the default dimensions ({SERVICE_NAME}, {SPAN_NAME}, {SPAN_KIND}, \
                         {STATUS_CODE}); to leave out a configured one, remove it from `dimensions`"
                    ),
                )),
            }
        }
        let dimensions = compile_dimensions("dimensions", &self.dimensions, &[], &mut problems);
        let calls_dimensions = compile_dimensions(
            "calls_dimensions",
            &self.calls_dimensions,
            &dimensions,
            &mut problems,
        );
        let histogram_dimensions = compile_dimensions(
            "histogram.dimensions",
            &self.histogram.dimensions,
            &dimensions,
            &mut problems,
        );
        let events = if self.events.enabled {
            if self.events.dimensions.is_empty() {
                problems.push(Invalid::at(
                    "events.dimensions",
                    "the events metric needs at least one dimension (an event attribute such as `exception.type`)",
                ));
            }
            Some(compile_dimensions(
                "events.dimensions",
                &self.events.dimensions,
                &dimensions,
                &mut problems,
            ))
        } else {
            None
        };
        if self.metrics_flush_interval.is_zero() {
            problems.push(Invalid::at(
                "metrics_flush_interval",
                "must be more than zero",
            ));
        }
        if self.resource_metrics_cache_size == 0 {
            problems.push(Invalid::at(
                "resource_metrics_cache_size",
                "must be more than zero",
            ));
        }
        if self.metric_timestamp_cache_size == Some(0) {
            problems.push(Invalid::at(
                "metric_timestamp_cache_size",
                "must be more than zero",
            ));
        }
        let exemplars = self.exemplars.enabled.then(|| {
            let max = self.exemplars.max_per_data_point.unwrap_or(5);
            if max == 0 {
                problems.push(Invalid::at(
                    "exemplars.max_per_data_point",
                    "must be more than zero; to attach none, set `exemplars.enabled: false`",
                ));
            }
            max
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Settings {
            namespace: self.namespace.clone(),
            temporality,
            unit,
            histogram,
            common,
            dimensions,
            calls_dimensions,
            histogram_dimensions,
            events,
            include_scopes: self.include_instrumentation_scope.clone(),
            resource_key_attributes: self.resource_metrics_key_attributes.clone(),
            resource_cache_size: self.resource_metrics_cache_size,
            expiration: (!self.metrics_expiration.is_zero()).then_some(self.metrics_expiration),
            exemplars,
            cardinality_limit: (self.aggregation_cardinality_limit > 0)
                .then_some(self.aggregation_cardinality_limit),
            delta_start_cache_size: self.metric_timestamp_cache_size.unwrap_or(1000),
            flush_interval: self.metrics_flush_interval,
            spans: true,
            event_name: None,
            events_metric: "events",
            scope_name: SCOPE_NAME,
        })
    }

    fn buckets(&self, unit: Unit, problems: &mut Vec<Invalid>) -> Option<Buckets> {
        let histogram = &self.histogram;
        if histogram.disable {
            return None;
        }
        match (&histogram.explicit, &histogram.exponential) {
            (Some(_), Some(_)) => {
                problems.push(Invalid::at(
                    "histogram",
                    "use either `explicit` or `exponential` buckets, not both",
                ));
                None
            }
            (_, Some(exponential)) => Some(Buckets::Exponential {
                max_size: if exponential.max_size == 0 {
                    160
                } else {
                    exponential.max_size
                },
            }),
            (explicit, None) => {
                let bounds: Vec<f64> = match explicit.as_ref().and_then(|e| e.buckets.as_ref()) {
                    Some(durations) => durations
                        .iter()
                        .map(|d| unit.of_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
                        .collect(),
                    None => DEFAULT_BUCKETS_MS
                        .iter()
                        .map(|ms| match unit {
                            Unit::Milliseconds => *ms,
                            Unit::Seconds => ms / 1000.0,
                        })
                        .collect(),
                };
                if bounds.windows(2).any(|pair| pair[0] >= pair[1]) {
                    problems.push(Invalid::at(
                        "histogram.explicit.buckets",
                        "the bounds must increase, each larger than the one before",
                    ));
                }
                Some(Buckets::Explicit(Arc::from(bounds)))
            }
        }
    }
}

/// `configured` as dimensions; a name that is empty, one of the common four, listed twice, or already in
/// `before` (the dimensions every metric has) is a problem at its key.
fn compile_dimensions(
    key: &str,
    configured: &[DimensionConfig],
    before: &[Dimension],
    problems: &mut Vec<Invalid>,
) -> Vec<Dimension> {
    let mut out: Vec<Dimension> = Vec::new();
    for (i, dimension) in configured.iter().enumerate() {
        let at = format!("{key}[{i}].name");
        let name = dimension.name.as_str();
        if name.is_empty() {
            problems.push(Invalid::at(at, "a dimension needs a name"));
        } else if [SERVICE_NAME, SPAN_NAME, SPAN_KIND, STATUS_CODE].contains(&name) {
            problems.push(Invalid::at(
                at,
                format!("`{name}` is a default dimension already; list only additional ones"),
            ));
        } else if before.iter().chain(&out).any(|d| d.name == name) {
            problems.push(Invalid::at(at, format!("duplicate dimension `{name}`")));
        } else {
            out.push(Dimension {
                name: name.to_string(),
                default: dimension.default.clone(),
            });
        }
    }
    out
}
