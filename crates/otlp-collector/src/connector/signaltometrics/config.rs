//! The `signaltometrics` connector's settings, with otelcol-contrib's keys, and their compiled form.

use crate::component::Invalid;
use crate::connector::count::DefaultValue;
use crate::histogram::Buckets;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use otlp_ottl::{Condition, ContextKind, Expression, parse_condition, parse_expression};
use serde::Deserialize;
use std::sync::Arc;

/// otelcol's buckets for a `histogram` without `buckets`.
const DEFAULT_BUCKETS: [f64; 16] = [
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0,
    10_000.0, 15_000.0,
];
/// otelcol's `max_size` of an exponential histogram: 1 ms to 100 s within 5%.
const DEFAULT_MAX_SIZE: usize = 160;

/// The `signaltometrics` connector's settings: the metrics to make from each kind of item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalToMetricsConfig {
    /// Metrics made from spans.
    pub spans: Vec<MetricInfo>,
    /// Metrics made from data points.
    pub datapoints: Vec<MetricInfo>,
    /// Metrics made from log records.
    pub logs: Vec<MetricInfo>,
    /// Metrics made from profiles: refused, as this collector takes no profiles.
    pub profiles: Option<serde_norway::Value>,
}

/// One metric to make.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricInfo {
    /// The metric's name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its unit.
    pub unit: String,
    /// The resource attributes the metric keeps (all of them when empty).
    pub include_resource_attributes: Vec<Attribute>,
    /// The item's attributes the metric is split by.
    pub attributes: Vec<Attribute>,
    /// OTTL conditions, any of which must hold for an item to count (every item counts without any).
    pub conditions: Vec<String>,
    /// A delta sum of an OTTL value.
    pub sum: Option<SumInfo>,
    /// A gauge of the last OTTL value seen.
    pub gauge: Option<SumInfo>,
    /// An explicit-bucket histogram.
    pub histogram: Option<HistogramInfo>,
    /// A base-2 exponential histogram.
    pub exponential_histogram: Option<ExponentialHistogramInfo>,
}

/// An attribute a metric keeps.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    /// The attribute's key.
    pub key: String,
    /// Items without the attribute still count, without it (for `attributes`; without `optional` or a default,
    /// an item lacking the attribute does not count).
    #[serde(default)]
    pub optional: bool,
    /// The value for items without the attribute.
    #[serde(default)]
    pub default_value: Option<DefaultValue>,
}

/// `sum` and `gauge`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SumInfo {
    /// An OTTL value expression (`"1"`, `Double(attributes["bytes"])`); an integer makes an integer metric.
    pub value: String,
}

/// `histogram`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramInfo {
    /// Upper bounds, increasing (otelcol's 2 to 15000 when absent).
    #[serde(default)]
    pub buckets: Vec<f64>,
    /// An OTTL value expression for how many times the value counts (once when absent).
    #[serde(default)]
    pub count: String,
    /// An OTTL value expression for the value recorded.
    pub value: String,
}

/// `exponential_histogram`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExponentialHistogramInfo {
    /// The most buckets per sign (160 when absent).
    #[serde(default)]
    pub max_size: usize,
    /// As the histogram's `count`.
    #[serde(default)]
    pub count: String,
    /// As the histogram's `value`.
    pub value: String,
}

/// What is made of a metric's values.
pub(super) enum Shape {
    Sum(Expression),
    Gauge(Expression),
    Histogram {
        buckets: Buckets,
        count: Option<Expression>,
        value: Expression,
    },
}

/// An attribute, compiled.
pub(super) struct Kept {
    pub(super) key: String,
    pub(super) optional: bool,
    pub(super) default: Option<AnyValue>,
}

/// One metric, compiled.
pub(super) struct Definition {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) unit: String,
    pub(super) resource_attributes: Vec<Kept>,
    pub(super) attributes: Vec<Kept>,
    pub(super) conditions: Vec<Condition>,
    pub(super) shape: Shape,
}

impl SignalToMetricsConfig {
    /// The metrics of `section` (`spans`, `datapoints`, `logs`), compiled for `context`, or every problem with
    /// them.
    pub(super) fn definitions(&self, section: &str) -> Result<Vec<Definition>, Vec<Invalid>> {
        let (infos, context) = match section {
            "spans" => (&self.spans, ContextKind::Span),
            "datapoints" => (&self.datapoints, ContextKind::DataPoint),
            _ => (&self.logs, ContextKind::Log),
        };
        let mut problems = Vec::new();
        let definitions: Vec<Definition> = infos
            .iter()
            .enumerate()
            .filter_map(|(i, info)| {
                info.compile(&format!("{section}[{i}]"), context, &mut problems)
            })
            .collect();
        if problems.is_empty() {
            Ok(definitions)
        } else {
            Err(problems)
        }
    }

    pub(super) fn problems(&self) -> Vec<Invalid> {
        let mut problems = Vec::new();
        if self.spans.is_empty() && self.datapoints.is_empty() && self.logs.is_empty() {
            problems.push(Invalid::at(
                "",
                "no metrics: configure at least one under `spans`, `datapoints` or `logs`",
            ));
        }
        if self.profiles.is_some() {
            problems.push(Invalid::at(
                "profiles",
                "this collector takes no profiles: remove `profiles`",
            ));
        }
        for section in ["spans", "datapoints", "logs"] {
            if let Err(more) = self.definitions(section) {
                problems.extend(more);
            }
        }
        problems
    }
}

fn expression(
    context: ContextKind,
    text: &str,
    at: String,
    problems: &mut Vec<Invalid>,
) -> Option<Expression> {
    if text.trim().is_empty() {
        problems.push(Invalid::at(at, "an OTTL value expression is required"));
        return None;
    }
    parse_expression(context, text)
        .map_err(|error| problems.push(Invalid::at(at, crate::processor::ottl::describe(error))))
        .ok()
}

fn kept(attributes: &[Attribute], at: &str, problems: &mut Vec<Invalid>) -> Vec<Kept> {
    let mut seen: Vec<&str> = Vec::new();
    for (i, attribute) in attributes.iter().enumerate() {
        if attribute.key.is_empty() {
            problems.push(Invalid::at(
                format!("{at}[{i}].key"),
                "an attribute needs a key",
            ));
        } else if seen.contains(&attribute.key.as_str()) {
            problems.push(Invalid::at(
                format!("{at}[{i}].key"),
                format!("`{}` is listed twice", attribute.key),
            ));
        }
        if attribute.optional && attribute.default_value.is_some() {
            problems.push(Invalid::at(
                format!("{at}[{i}]"),
                "set one of `default_value` and `optional`, not both",
            ));
        }
        seen.push(&attribute.key);
    }
    attributes
        .iter()
        .map(|a| Kept {
            key: a.key.clone(),
            optional: a.optional,
            default: a.default_value.as_ref().map(DefaultValue::any_value),
        })
        .collect()
}

impl MetricInfo {
    fn compile(
        &self,
        at: &str,
        context: ContextKind,
        problems: &mut Vec<Invalid>,
    ) -> Option<Definition> {
        let before = problems.len();
        if self.name.is_empty() {
            problems.push(Invalid::at(format!("{at}.name"), "a metric needs a name"));
        }
        let conditions: Vec<Condition> = self
            .conditions
            .iter()
            .enumerate()
            .filter_map(|(i, text)| {
                parse_condition(context, text)
                    .map_err(|error| {
                        problems.push(Invalid::at(
                            format!("{at}.conditions[{i}]"),
                            crate::processor::ottl::describe(error),
                        ))
                    })
                    .ok()
            })
            .collect();
        let resource_attributes = kept(
            &self.include_resource_attributes,
            &format!("{at}.include_resource_attributes"),
            problems,
        );
        let attributes = kept(&self.attributes, &format!("{at}.attributes"), problems);
        let defined = [
            self.sum.is_some(),
            self.gauge.is_some(),
            self.histogram.is_some(),
            self.exponential_histogram.is_some(),
        ]
        .into_iter()
        .filter(|d| *d)
        .count();
        if defined != 1 {
            problems.push(Invalid::at(
                at,
                format!(
                    "define exactly one of `sum`, `gauge`, `histogram` and `exponential_histogram` ({defined} \
                     defined)"
                ),
            ));
            return None;
        }
        let optional_count = |text: &str, key: String, problems: &mut Vec<Invalid>| {
            if text.trim().is_empty() {
                None
            } else {
                expression(context, text, key, problems)
            }
        };
        let shape = if let Some(sum) = &self.sum {
            Shape::Sum(expression(
                context,
                &sum.value,
                format!("{at}.sum.value"),
                problems,
            )?)
        } else if let Some(gauge) = &self.gauge {
            Shape::Gauge(expression(
                context,
                &gauge.value,
                format!("{at}.gauge.value"),
                problems,
            )?)
        } else if let Some(histogram) = &self.histogram {
            let bounds: Vec<f64> = if histogram.buckets.is_empty() {
                DEFAULT_BUCKETS.to_vec()
            } else {
                histogram.buckets.clone()
            };
            if !bounds.windows(2).all(|pair| pair[0] < pair[1]) {
                problems.push(Invalid::at(
                    format!("{at}.histogram.buckets"),
                    "bounds must increase",
                ));
            }
            Shape::Histogram {
                buckets: Buckets::Explicit(Arc::from(bounds)),
                count: optional_count(&histogram.count, format!("{at}.histogram.count"), problems),
                value: expression(
                    context,
                    &histogram.value,
                    format!("{at}.histogram.value"),
                    problems,
                )?,
            }
        } else {
            let exponential = self.exponential_histogram.as_ref()?;
            let max_size = match exponential.max_size {
                0 => DEFAULT_MAX_SIZE,
                size => size,
            };
            if max_size < 2 {
                problems.push(Invalid::at(
                    format!("{at}.exponential_histogram.max_size"),
                    "must be at least 2",
                ));
            }
            Shape::Histogram {
                buckets: Buckets::Exponential { max_size },
                count: optional_count(
                    &exponential.count,
                    format!("{at}.exponential_histogram.count"),
                    problems,
                ),
                value: expression(
                    context,
                    &exponential.value,
                    format!("{at}.exponential_histogram.value"),
                    problems,
                )?,
            }
        };
        (problems.len() == before).then(|| Definition {
            name: self.name.clone(),
            description: self.description.clone(),
            unit: self.unit.clone(),
            resource_attributes,
            attributes,
            conditions,
            shape,
        })
    }
}
