//! The `metricstransform` processor's settings, with otelcol-contrib's keys and checks.

use crate::component::Invalid;
pub use otlp_ottl::actions::MatchType;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `metricstransform` processor's settings: transforms applied in order, each to the metrics it selects.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsTransformConfig {
    /// The transforms, in order: a later one sees what the earlier ones made.
    pub transforms: Vec<TransformSettings>,
}

/// What to do with `new_name` and the operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Change the selected metrics in place.
    #[default]
    Update,
    /// Change a copy of each selected metric, added after the others.
    Insert,
    /// Merge the selected metrics into one new metric, their names' regexp submatches becoming labels.
    Combine,
    /// Move the selected metrics to a resource of their own (`group_resource_labels` added to a copy of theirs).
    Group,
}

/// How `combine` writes the labels it takes from the names' submatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubmatchCase {
    /// `GET` becomes `get`.
    Lower,
    /// `get` becomes `GET`.
    Upper,
}

/// One transform.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformSettings {
    /// The metric name, or a regular expression with `match_type: regexp`.
    pub include: String,
    /// otelcol's old name for `include`.
    pub metric_name: String,
    /// `strict` (the default) or `regexp`: a regular expression found anywhere in the name (anchor it with
    /// `^…$`), whose groups can be used in `new_name` (`$${1}`, `$${name}`) and become labels with `combine`.
    pub match_type: MatchType,
    /// Only the data points whose labels match these (exactly, or by regular expression with `regexp`; an empty
    /// value matches a label that is absent).
    pub experimental_match_labels: BTreeMap<String, String>,
    /// `update` (the default), `insert`, `combine` or `group`.
    pub action: Action,
    /// The new name (required for `insert` and `combine`).
    pub new_name: String,
    /// Resource attributes of the group's resource (required for `group`).
    pub group_resource_labels: Option<BTreeMap<String, String>>,
    /// How `combine` merges points that end up with the same labels; without it they are kept as they are.
    pub aggregation_type: Option<String>,
    /// The case of `combine`'s labels taken from submatches.
    pub submatch_case: Option<SubmatchCase>,
    /// The operations, in order.
    pub operations: Vec<OperationSettings>,
}

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationAction {
    /// Adds `new_label: new_value` to every point that lacks the label.
    AddLabel,
    /// Renames `label` to `new_label`, and/or its values per `value_actions`.
    UpdateLabel,
    /// Deletes the points whose `label` is `label_value`.
    DeleteLabelValue,
    /// Turns int values into doubles and doubles into ints (truncated).
    ToggleScalarDataType,
    /// Multiplies values (and histograms' sums, bounds, min, max and exemplars) by `experimental_scale`.
    ExperimentalScaleValue,
    /// Keeps only the labels of `label_set`, merging the points that then have the same labels.
    AggregateLabels,
    /// Renames the `aggregated_values` of `label` to `new_value`, merging the points that then have the same
    /// labels.
    AggregateLabelValues,
}

/// One operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationSettings {
    /// What to do.
    pub action: OperationAction,
    /// The label operated on.
    #[serde(default)]
    pub label: String,
    /// The label's new name, or the label to add.
    #[serde(default)]
    pub new_label: String,
    /// The values `aggregate_label_values` merges.
    #[serde(default)]
    pub aggregated_values: Vec<String>,
    /// The value to add, or the merged values' new value; `{{version}}` stands for the collector's version.
    #[serde(default)]
    pub new_value: String,
    /// The value whose points `delete_label_value` deletes.
    #[serde(default)]
    pub label_value: String,
    /// The labels `aggregate_labels` keeps.
    #[serde(default)]
    pub label_set: Vec<String>,
    /// How merged points are aggregated: `sum`, `mean`, `min`, `max`, `median`, `count`.
    #[serde(default)]
    pub aggregation_type: Option<String>,
    /// The factor of `experimental_scale_value`.
    #[serde(default)]
    pub experimental_scale: f64,
    /// Value renames of `update_label`.
    #[serde(default)]
    pub value_actions: Vec<ValueAction>,
}

/// `{ value, new_value }` of `update_label`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueAction {
    /// The value to rename.
    pub value: String,
    /// Its new name; `{{version}}` stands for the collector's version.
    pub new_value: String,
}

/// `name` as an aggregation, or the problem at `at`.
pub(super) fn aggregation(at: &str, name: &str) -> Result<otlp_ottl::Aggregation, Invalid> {
    otlp_ottl::Aggregation::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = otlp_ottl::Aggregation::names().collect();
        Invalid::at(
            at,
            format!(
                "`{name}` is not an aggregation type; use one of {}",
                names.join(", ")
            ),
        )
    })
}

impl TransformSettings {
    /// `include`, or otelcol's older `metric_name`.
    pub(super) fn selector(&self) -> &str {
        if self.include.is_empty() {
            &self.metric_name
        } else {
            &self.include
        }
    }
}

impl MetricsTransformConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        for (i, transform) in self.transforms.iter().enumerate() {
            let at = |key: &str| format!("transforms[{i}].{key}");
            match (transform.include.is_empty(), transform.metric_name.is_empty()) {
                (true, true) => problems.push(Invalid::at(
                    format!("transforms[{i}]"),
                    "missing required field `include` (the metric name, or a regular expression with \
                     `match_type: regexp`)",
                )),
                (false, false) => problems.push(Invalid::at(
                    at("metric_name"),
                    "`metric_name` is otelcol's old name for `include`; give only `include`",
                )),
                _ => {}
            }
            if transform.match_type == MatchType::Regexp
                && let Err(e) = regex::Regex::new(transform.selector())
            {
                problems.push(Invalid::at(
                    at("include"),
                    format!("not a regular expression: {e}"),
                ));
            }
            for (label, value) in &transform.experimental_match_labels {
                if transform.match_type == MatchType::Regexp
                    && let Err(e) = regex::Regex::new(value)
                {
                    problems.push(Invalid::at(
                        at(&format!("experimental_match_labels.{label}")),
                        format!("not a regular expression: {e}"),
                    ));
                }
            }
            match transform.action {
                Action::Insert | Action::Combine if transform.new_name.is_empty() => {
                    problems.push(Invalid::at(
                        at("new_name"),
                        format!("required when `action` is {:?}", transform.action).to_lowercase(),
                    ));
                }
                Action::Group if transform.group_resource_labels.is_none() => {
                    problems.push(Invalid::at(
                        at("group_resource_labels"),
                        "required when `action` is group",
                    ));
                }
                _ => {}
            }
            if let Some(name) = &transform.aggregation_type
                && let Err(invalid) = aggregation(&at("aggregation_type"), name)
            {
                problems.push(invalid);
            }
            if transform.submatch_case.is_some() && transform.match_type != MatchType::Regexp {
                problems.push(Invalid::at(
                    at("submatch_case"),
                    "has no effect without `match_type: regexp`, whose submatches it cases",
                ));
            }
            for (j, op) in transform.operations.iter().enumerate() {
                let at = |key: &str| format!("transforms[{i}].operations[{j}].{key}");
                let missing = |key: &str| {
                    Invalid::at(
                        at(key),
                        format!("required when `action` is {}", action_name(op.action)),
                    )
                };
                match op.action {
                    OperationAction::AddLabel => {
                        if op.new_label.is_empty() {
                            problems.push(missing("new_label"));
                        }
                        if op.new_value.is_empty() {
                            problems.push(missing("new_value"));
                        }
                    }
                    OperationAction::UpdateLabel | OperationAction::DeleteLabelValue
                        if op.label.is_empty() =>
                    {
                        problems.push(missing("label"));
                    }
                    OperationAction::ExperimentalScaleValue if op.experimental_scale == 0.0 => {
                        problems.push(missing("experimental_scale"));
                    }
                    OperationAction::AggregateLabelValues => {
                        if op.label.is_empty() {
                            problems.push(missing("label"));
                        }
                        if op.new_value.is_empty() {
                            problems.push(missing("new_value"));
                        }
                    }
                    _ => {}
                }
                match (&op.aggregation_type, op.action) {
                    (Some(name), _) => {
                        if let Err(invalid) = aggregation(&at("aggregation_type"), name) {
                            problems.push(invalid);
                        }
                    }
                    (
                        None,
                        OperationAction::AggregateLabels | OperationAction::AggregateLabelValues,
                    ) => {
                        problems.push(missing("aggregation_type"));
                    }
                    _ => {}
                }
            }
        }
        Invalid::all(problems)
    }
}

fn action_name(action: OperationAction) -> &'static str {
    match action {
        OperationAction::AddLabel => "add_label",
        OperationAction::UpdateLabel => "update_label",
        OperationAction::DeleteLabelValue => "delete_label_value",
        OperationAction::ToggleScalarDataType => "toggle_scalar_data_type",
        OperationAction::ExperimentalScaleValue => "experimental_scale_value",
        OperationAction::AggregateLabels => "aggregate_labels",
        OperationAction::AggregateLabelValues => "aggregate_label_values",
    }
}
