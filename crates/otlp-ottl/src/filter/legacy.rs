//! otelcol's legacy (pre-OTTL) `filter` settings: `spans.include`/`spans.exclude`,
//! `logs.include`/`logs.exclude` and `metrics.include`/`metrics.exclude`.
//!
//! Operators bring these configurations over unchanged, so they are read with otelcol's keys and
//! matched with the `attributes` processor's [`Matcher`] (otelcol shares `filtermatcher` between
//! the two the same way): an item is dropped when `include` is given and it does not match, or
//! `exclude` is given and it matches. Logs' and metrics' own keys (`record_attributes`,
//! `resource_attributes`, `bodies`...) are mapped onto [`MatchProperties`] as otelcol maps them.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::Deserialize;

use super::{FilterConfig, FilterStats};
use crate::actions::matching::Matcher;
use crate::actions::{AttributeMatch, MatchProperties, MatchType, RegexpSettings, SeverityMatch};
use crate::context::Signal;
use crate::engine::walk::point_count;
use crate::error::ConfigProblem;

/// `spans:` (otelcol's `filterconfig.MatchConfig`): which spans to keep (`include`) and which to
/// drop (`exclude`), with the `attributes` processor's properties.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanMatchConfig {
    /// Spans that do not match are dropped.
    #[serde(default)]
    pub include: Option<MatchProperties>,
    /// Spans that match are dropped (checked after `include`).
    #[serde(default)]
    pub exclude: Option<MatchProperties>,
}

/// otelcol's `LogMatchProperties`, under `logs.include`/`logs.exclude`: every property given must
/// match; properties left out match every record, and giving none disables the side (as in
/// otelcol, which ignores empty properties instead of refusing them).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogMatchProperties {
    /// `strict` or `regexp`.
    pub match_type: MatchType,
    /// Every one of these must be a resource attribute (with the value, if given).
    #[serde(default)]
    pub resource_attributes: Vec<AttributeMatch>,
    /// Every one of these must be a log record attribute (with the value, if given).
    #[serde(default)]
    pub record_attributes: Vec<AttributeMatch>,
    /// The severity text must match one of these.
    #[serde(default)]
    pub severity_texts: Vec<String>,
    /// The severity number must be at least `min` (`match_undefined`: records without one match).
    #[serde(default)]
    pub severity_number: Option<SeverityMatch>,
    /// The body, as a string, must match one of these.
    #[serde(default)]
    pub bodies: Vec<String>,
}

/// How `metrics.include`/`metrics.exclude` compare; `expr` is accepted by the parser only to be
/// refused with the OTTL way to write it, instead of an "unknown variant" error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricMatchType {
    /// Exact equality.
    Strict,
    /// An (unanchored) regex match.
    Regexp,
    /// antonmedv/expr expressions: not supported.
    Expr,
}

/// otelcol's `MetricMatchProperties`, under `metrics.include`/`metrics.exclude`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricMatchProperties {
    /// `strict` or `regexp` (`expr` is refused).
    pub match_type: MetricMatchType,
    /// Settings of `regexp` matching (accepted and ignored, as for the attributes processor).
    #[serde(default)]
    pub regexp: Option<RegexpSettings>,
    /// The metric name must match one of these.
    #[serde(default)]
    pub metric_names: Vec<String>,
    /// antonmedv/expr expressions: refused, with the OTTL way instead.
    #[serde(default)]
    pub expressions: Vec<String>,
    /// Every one of these must be a resource attribute (with the value, if given); decided per
    /// resource, as otelcol does.
    #[serde(default)]
    pub resource_attributes: Vec<AttributeMatch>,
}

/// The problem of a signal configured both ways: otelcol refuses it at startup (its
/// `validateExplicitContextConfig`), as the legacy settings would otherwise be silently ignored.
pub(crate) fn mixed(legacy: &str, ottl: &[String]) -> ConfigProblem {
    let ottl: Vec<String> = ottl.iter().map(|k| format!("`{k}`")).collect();
    ConfigProblem::new(
        legacy,
        format!(
            "legacy `{legacy}` cannot be used together with the OTTL conditions {} (otelcol \
             refuses the mix too); write the legacy matching as OTTL conditions or drop the \
             conditions",
            ottl.join(", ")
        ),
    )
}

/// `include` and `exclude` of one signal, compiled.
#[derive(Debug, Clone, Default)]
struct IncludeExclude {
    include: Option<Matcher>,
    exclude: Option<Matcher>,
}

impl IncludeExclude {
    fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    /// otelcol's skip expression: `not include or exclude`, each side only when given.
    fn drops(&self, matches: impl Fn(&Matcher) -> bool) -> bool {
        self.include.as_ref().is_some_and(|m| !matches(m))
            || self.exclude.as_ref().is_some_and(&matches)
    }
}

/// Compiles one side, its problem reported at `path`.
fn side(
    props: Option<&MatchProperties>,
    signal: Signal,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Matcher> {
    Matcher::new(props?, signal)
        .map_err(|message| problems.push(ConfigProblem::new(path, message)))
        .ok()
}

/// `spans.include`/`spans.exclude` compiled, problems at `spans.include`...
pub(crate) fn compile_spans(
    config: &SpanMatchConfig,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SpanFilter> {
    let sides = IncludeExclude {
        include: side(
            config.include.as_ref(),
            Signal::Traces,
            "spans.include",
            problems,
        ),
        exclude: side(
            config.exclude.as_ref(),
            Signal::Traces,
            "spans.exclude",
            problems,
        ),
    };
    (!sides.is_empty()).then_some(SpanFilter(sides))
}

/// `logs.include` or `logs.exclude` as the [`MatchProperties`] otelcol turns it into, or `None`
/// when it sets nothing (otelcol's `isEmpty`: such a side is ignored).
fn log_properties(props: &LogMatchProperties) -> Option<MatchProperties> {
    let mut mapped = MatchProperties::empty(props.match_type);
    mapped.resources = props.resource_attributes.clone();
    mapped.attributes = props.record_attributes.clone();
    mapped.log_severity_texts = props.severity_texts.clone();
    mapped.log_severity_number = props.severity_number;
    mapped.log_bodies = props.bodies.clone();
    let empty = mapped.resources.is_empty()
        && mapped.attributes.is_empty()
        && mapped.log_severity_texts.is_empty()
        && mapped.log_severity_number.is_none()
        && mapped.log_bodies.is_empty();
    (!empty).then_some(mapped)
}

/// `logs.include`/`logs.exclude` compiled, problems at `logs.include`...
pub(crate) fn compile_logs(
    include: Option<&LogMatchProperties>,
    exclude: Option<&LogMatchProperties>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<LogFilter> {
    let mut compile = |props: Option<&LogMatchProperties>, path: &str| {
        let mapped = props.and_then(log_properties);
        side(mapped.as_ref(), Signal::Logs, path, problems)
    };
    let sides = IncludeExclude {
        include: compile(include, "logs.include"),
        exclude: compile(exclude, "logs.exclude"),
    };
    (!sides.is_empty()).then_some(LogFilter(sides))
}

/// `metrics.include`/`metrics.exclude` compiled, problems at `metrics.include`...
///
/// otelcol decides metric names per metric and resource attributes per resource, as two
/// independent skip expressions (`filtermetric.NewSkipExpr` and `newSkipResExpr`): so an
/// `exclude` with both drops a metric whose name matches *or* whose resource matches, unlike the
/// attributes processor's "every property must match". The names and the resource attributes are
/// therefore compiled as separate matchers.
pub(crate) fn compile_metrics(
    include: Option<&MetricMatchProperties>,
    exclude: Option<&MetricMatchProperties>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<MetricFilter> {
    let mut names = IncludeExclude::default();
    let mut resources = IncludeExclude::default();
    for (props, path, is_include) in [
        (include, "metrics.include", true),
        (exclude, "metrics.exclude", false),
    ] {
        let Some(props) = props else {
            continue;
        };
        let match_type = match props.match_type {
            MetricMatchType::Strict => MatchType::Strict,
            MetricMatchType::Regexp => MatchType::Regexp,
            MetricMatchType::Expr => {
                let key = if props.expressions.is_empty() {
                    "match_type"
                } else {
                    "expressions"
                };
                problems.push(ConfigProblem::new(
                    format!("{path}.{key}"),
                    "match_type `expr` (antonmedv/expr expressions) is not supported; write OTTL \
                     conditions instead, under `metrics.metric` for metrics (`name == \"a\" and \
                     type == METRIC_DATA_TYPE_SUM`) or `metrics.datapoint` for data points \
                     (`metric.name == \"a\" and attributes[\"k\"] == \"v\"`)",
                ));
                continue;
            }
        };
        if !props.expressions.is_empty() {
            problems.push(ConfigProblem::new(
                format!("{path}.expressions"),
                "`expressions` only apply with match_type `expr` (antonmedv/expr), which is not \
                 supported; write OTTL conditions under `metrics.metric` or `metrics.datapoint` \
                 instead",
            ));
        }
        let named = (!props.metric_names.is_empty()).then(|| {
            let mut mapped = MatchProperties::empty(match_type);
            mapped.metric_names = props.metric_names.clone();
            mapped
        });
        let resourced = (!props.resource_attributes.is_empty()).then(|| {
            let mut mapped = MatchProperties::empty(match_type);
            mapped.resources = props.resource_attributes.clone();
            mapped
        });
        let named = side(named.as_ref(), Signal::Metrics, path, problems);
        let resourced = side(resourced.as_ref(), Signal::Metrics, path, problems);
        if is_include {
            names.include = named;
            resources.include = resourced;
        } else {
            names.exclude = named;
            resources.exclude = resourced;
        }
    }
    (!(names.is_empty() && resources.is_empty())).then_some(MetricFilter { names, resources })
}

/// The legacy settings of every signal, compiled.
#[derive(Debug, Clone, Default)]
pub(super) struct Legacy {
    pub(super) spans: Option<SpanFilter>,
    pub(super) logs: Option<LogFilter>,
    pub(super) metrics: Option<MetricFilter>,
}

impl Legacy {
    /// Compiles the legacy settings of `config`, adding their problems (and those of a signal
    /// configured both ways) to `problems`.
    pub(super) fn new(config: &FilterConfig, problems: &mut Vec<ConfigProblem>) -> Self {
        let given = |keys: &[(&str, bool)]| -> Vec<String> {
            keys.iter()
                .filter(|(_, set)| *set)
                .map(|(key, _)| (*key).to_owned())
                .collect()
        };
        let checks = [
            (
                given(&[
                    ("spans.include", config.spans.include.is_some()),
                    ("spans.exclude", config.spans.exclude.is_some()),
                ]),
                given(&[
                    ("traces.resource", !config.traces.resource.is_empty()),
                    ("traces.span", !config.traces.span.is_empty()),
                    ("traces.spanevent", !config.traces.spanevent.is_empty()),
                ]),
            ),
            (
                given(&[
                    ("metrics.include", config.metrics.include.is_some()),
                    ("metrics.exclude", config.metrics.exclude.is_some()),
                ]),
                given(&[
                    ("metrics.resource", !config.metrics.resource.is_empty()),
                    ("metrics.metric", !config.metrics.metric.is_empty()),
                    ("metrics.datapoint", !config.metrics.datapoint.is_empty()),
                ]),
            ),
            (
                given(&[
                    ("logs.include", config.logs.include.is_some()),
                    ("logs.exclude", config.logs.exclude.is_some()),
                ]),
                given(&[
                    ("logs.resource", !config.logs.resource.is_empty()),
                    ("logs.log_record", !config.logs.log_record.is_empty()),
                ]),
            ),
        ];
        let mut usable = [true; 3];
        for (i, (legacy, ottl)) in checks.iter().enumerate() {
            if let Some(first) = legacy.first()
                && !ottl.is_empty()
            {
                problems.push(mixed(first, ottl));
                usable[i] = false;
            }
        }
        Legacy {
            spans: if usable[0] {
                compile_spans(&config.spans, problems)
            } else {
                None
            },
            metrics: if usable[1] {
                compile_metrics(
                    config.metrics.include.as_ref(),
                    config.metrics.exclude.as_ref(),
                    problems,
                )
            } else {
                None
            },
            logs: if usable[2] {
                compile_logs(
                    config.logs.include.as_ref(),
                    config.logs.exclude.as_ref(),
                    problems,
                )
            } else {
                None
            },
        }
    }
}

/// Compiled `spans.include`/`spans.exclude`.
#[derive(Debug, Clone)]
pub(crate) struct SpanFilter(IncludeExclude);

impl SpanFilter {
    /// Drops the spans `include` does not match or `exclude` matches, then the scopes and
    /// resources left empty (as otelcol's `processSkipExpression`).
    pub(super) fn filter(&self, request: &mut ExportTraceServiceRequest, stats: &mut FilterStats) {
        request.resource_spans.retain_mut(|rs| {
            let resource = rs.resource.as_ref();
            rs.scope_spans.retain_mut(|ss| {
                let scope = ss.scope.as_ref();
                ss.spans.retain(|span| {
                    let drop = self.0.drops(|m| m.matches_span(resource, scope, span));
                    stats.spans += usize::from(drop);
                    !drop
                });
                !ss.spans.is_empty()
            });
            !rs.scope_spans.is_empty()
        });
    }
}

/// Compiled `logs.include`/`logs.exclude`.
#[derive(Debug, Clone)]
pub(crate) struct LogFilter(IncludeExclude);

impl LogFilter {
    /// Drops the log records `include` does not match or `exclude` matches, then the scopes and
    /// resources left empty.
    pub(super) fn filter(&self, request: &mut ExportLogsServiceRequest, stats: &mut FilterStats) {
        request.resource_logs.retain_mut(|rl| {
            let resource = rl.resource.as_ref();
            rl.scope_logs.retain_mut(|sl| {
                let scope = sl.scope.as_ref();
                sl.log_records.retain(|log| {
                    let drop = self.0.drops(|m| m.matches_log(resource, scope, log));
                    stats.log_records += usize::from(drop);
                    !drop
                });
                !sl.log_records.is_empty()
            });
            !rl.scope_logs.is_empty()
        });
    }
}

/// Compiled `metrics.include`/`metrics.exclude`: names per metric, resource attributes per
/// resource.
#[derive(Debug, Clone)]
pub(crate) struct MetricFilter {
    names: IncludeExclude,
    resources: IncludeExclude,
}

impl MetricFilter {
    /// Drops the resources whose attributes `include` does not match or `exclude` matches (with
    /// their metrics), then the metrics selected the same way by name, then the scopes and
    /// resources left empty.
    pub(super) fn filter(
        &self,
        request: &mut ExportMetricsServiceRequest,
        stats: &mut FilterStats,
    ) {
        request.resource_metrics.retain_mut(|rm| {
            let resource = rm.resource.as_ref();
            if self.resources.drops(|m| m.matches_resource(resource)) {
                stats.resources += 1;
                for sm in &rm.scope_metrics {
                    stats.metrics += sm.metrics.len();
                    stats.data_points += sm.metrics.iter().map(point_count).sum::<usize>();
                }
                return false;
            }
            if !self.names.is_empty() {
                rm.scope_metrics.retain_mut(|sm| {
                    sm.metrics.retain(|metric| {
                        let drop = self.names.drops(|m| m.matches_metric(resource, metric));
                        if drop {
                            stats.metrics += 1;
                            stats.data_points += point_count(metric);
                        }
                        !drop
                    });
                    !sm.metrics.is_empty()
                });
            }
            !rm.scope_metrics.is_empty()
        });
    }
}
