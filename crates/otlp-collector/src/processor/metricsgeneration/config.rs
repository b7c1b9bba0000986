//! The `metricsgeneration` processor's settings, with otelcol-contrib's keys and checks.

use crate::component::Invalid;
use serde::Deserialize;

/// The `metricsgeneration` processor's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsGenerationConfig {
    /// The metrics to make, each from one or two existing ones.
    pub rules: Vec<Rule>,
    /// Calculations between points whose shared attributes match, instead of against `metric2`'s first point
    /// (otelcol's `metricsgeneration.MatchAttributes` feature gate; a key here, as otlp-suite has no gates).
    pub match_attributes: bool,
}

/// One rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rule {
    /// The new metric's name; required.
    pub name: String,
    /// The new metric's unit.
    pub unit: String,
    /// `calculate` (from `metric1` and `metric2`) or `scale` (`metric1` by `scale_by`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The first operand, a gauge or sum; required.
    pub metric1: String,
    /// The second operand, a gauge or sum; required by `calculate`.
    pub metric2: String,
    /// `add`, `subtract`, `multiply`, `divide` or `percent`.
    pub operation: String,
    /// The constant `scale` applies; required by it, and more than 0.
    pub scale_by: f64,
}

/// An arithmetic operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operation {
    Add,
    Subtract,
    Multiply,
    Divide,
    Percent,
}

impl Operation {
    fn parse(text: &str) -> Option<Operation> {
        Some(match text {
            "add" => Operation::Add,
            "subtract" => Operation::Subtract,
            "multiply" => Operation::Multiply,
            "divide" => Operation::Divide,
            "percent" => Operation::Percent,
            _ => return None,
        })
    }

    /// `a <op> b`; none for a division by zero.
    pub(super) fn apply(self, a: f64, b: f64) -> Option<f64> {
        match self {
            Operation::Add => Some(a + b),
            Operation::Subtract => Some(a - b),
            Operation::Multiply => Some(a * b),
            Operation::Divide => (b != 0.0).then(|| a / b),
            Operation::Percent => (b != 0.0).then(|| a / b * 100.0),
        }
    }
}

/// A checked rule.
#[derive(Debug, Clone)]
pub(super) struct Checked {
    pub(super) name: String,
    pub(super) unit: String,
    pub(super) metric1: String,
    /// The second operand: another metric's points, or a constant.
    pub(super) operand: Operand,
    pub(super) operation: Operation,
}

#[derive(Debug, Clone)]
pub(super) enum Operand {
    Metric(String),
    Constant(f64),
}

impl MetricsGenerationConfig {
    /// The rules checked, or every problem at its key.
    pub(super) fn checked(&self) -> Result<Vec<Checked>, Invalid> {
        let mut problems = Vec::new();
        let mut checked = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let at = |key: &str| format!("rules[{i}].{key}");
            let before = problems.len();
            if rule.name.is_empty() {
                problems.push(Invalid::at(at("name"), "must name the new metric"));
            }
            if rule.metric1.is_empty() {
                problems.push(Invalid::at(at("metric1"), "must name the first operand"));
            }
            let operation = Operation::parse(&rule.operation);
            if operation.is_none() {
                problems.push(Invalid::at(
                    at("operation"),
                    format!(
                        "`{}` is not add, subtract, multiply, divide or percent",
                        rule.operation
                    ),
                ));
            }
            let operand = match rule.kind.as_str() {
                "calculate" if rule.metric2.is_empty() => {
                    problems.push(Invalid::at(at("metric2"), "is required by `calculate`"));
                    None
                }
                "calculate" => Some(Operand::Metric(rule.metric2.clone())),
                "scale" if rule.scale_by <= 0.0 || !rule.scale_by.is_finite() => {
                    problems.push(Invalid::at(
                        at("scale_by"),
                        "is required by `scale`, and must be more than 0",
                    ));
                    None
                }
                "scale" => Some(Operand::Constant(rule.scale_by)),
                other => {
                    problems.push(Invalid::at(
                        at("type"),
                        format!("`{other}` is not calculate or scale"),
                    ));
                    None
                }
            };
            if let (Some(operand), Some(operation), true) =
                (operand, operation, problems.len() == before)
            {
                checked.push(Checked {
                    name: rule.name.clone(),
                    unit: rule.unit.clone(),
                    metric1: rule.metric1.clone(),
                    operand,
                    operation,
                });
            }
        }
        Invalid::all(problems).map(|()| checked)
    }
}
