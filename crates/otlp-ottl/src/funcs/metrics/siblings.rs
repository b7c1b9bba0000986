//! Functions that add a new metric beside the current one: `copy_metric`, `extract_count_metric`,
//! `extract_sum_metric`, `convert_summary_count_val_to_sum`, `convert_summary_sum_val_to_sum`,
//! `convert_summary_quantile_val_to_gauge`. The new metric goes through the context's
//! `new_metrics` to the end of the scope's metric list, where the same group visits it later, as
//! in otelcol.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, Sum, SummaryDataPoint,
};

use super::convert::{METRIC_ONLY, temporality};
use crate::context::{ContextKind, DataPointMut, Field, TransformContext};
use crate::error::{Error, Result};
use crate::funcs::{
    Args, EditorFn, FunctionDef, ParamKind, editor_def, expect_string, optional, required,
};
use crate::program::expr::Expr;

/// The data point context only: otelcol registers the summary count and sum conversions there.
const DATAPOINT_ONLY: Option<&[ContextKind]> = Some(&[ContextKind::DataPoint]);

pub(super) const COPY_METRIC: FunctionDef = FunctionDef {
    contexts: METRIC_ONLY,
    ..editor_def(
        "copy_metric",
        &[
            optional("name", ParamKind::Getter),
            optional("description", ParamKind::Getter),
            optional("unit", ParamKind::Getter),
        ],
        build_copy_metric,
    )
};

pub(super) const EXTRACT_COUNT_METRIC: FunctionDef = FunctionDef {
    contexts: METRIC_ONLY,
    // otelcol's argument struct fields `Monotonic` and `Suffix`.
    ..editor_def(
        "extract_count_metric",
        &[
            required("monotonic", ParamKind::Bool),
            optional("suffix", ParamKind::Str),
        ],
        build_extract_count,
    )
};

pub(super) const EXTRACT_SUM_METRIC: FunctionDef = FunctionDef {
    contexts: METRIC_ONLY,
    ..editor_def(
        "extract_sum_metric",
        &[
            required("monotonic", ParamKind::Bool),
            optional("suffix", ParamKind::Str),
        ],
        build_extract_sum,
    )
};

pub(super) const CONVERT_SUMMARY_COUNT_VAL_TO_SUM: FunctionDef = FunctionDef {
    contexts: DATAPOINT_ONLY,
    ..editor_def(
        "convert_summary_count_val_to_sum",
        &[
            required("string_agg_temp", ParamKind::Str),
            required("monotonic", ParamKind::Bool),
            optional("suffix", ParamKind::Str),
        ],
        build_summary_count,
    )
};

pub(super) const CONVERT_SUMMARY_SUM_VAL_TO_SUM: FunctionDef = FunctionDef {
    contexts: DATAPOINT_ONLY,
    ..editor_def(
        "convert_summary_sum_val_to_sum",
        &[
            required("string_agg_temp", ParamKind::Str),
            required("monotonic", ParamKind::Bool),
            optional("suffix", ParamKind::Str),
        ],
        build_summary_sum,
    )
};

pub(super) const CONVERT_SUMMARY_QUANTILE_VAL_TO_GAUGE: FunctionDef = FunctionDef {
    contexts: METRIC_ONLY,
    ..editor_def(
        "convert_summary_quantile_val_to_gauge",
        &[
            optional("attribute_key", ParamKind::Str),
            optional("suffix", ParamKind::Str),
        ],
        build_summary_quantiles,
    )
};

/// Hands `metric` to the walk, or fails when the context was not built by the metric walk
/// (a statement run by hand on a context of its own has no list to add to).
pub(super) fn add_metric(
    ctx: &mut TransformContext<'_>,
    function: &'static str,
    metric: Metric,
) -> Result<()> {
    match ctx.new_metrics.as_deref_mut() {
        Some(new_metrics) => {
            new_metrics.push(function, metric);
            Ok(())
        }
        None => Err(Error::eval(format!(
            "{function}: this context cannot add metrics (only the transform's metric walk can)"
        ))),
    }
}

/// A sum metric named after `source` with `suffix`, its description, and `unit`.
fn sum_metric(
    source: &Metric,
    suffix: &str,
    unit: String,
    temporality: AggregationTemporality,
    monotonic: bool,
    data_points: Vec<NumberDataPoint>,
) -> Metric {
    Metric {
        name: format!("{}{suffix}", source.name),
        description: source.description.clone(),
        unit,
        metadata: Vec::new(),
        data: Some(Data::Sum(Sum {
            data_points,
            aggregation_temporality: temporality as i32,
            is_monotonic: monotonic,
        })),
    }
}

/// A number point with the attributes and timestamps of a source point.
fn number_point(
    attributes: &[KeyValue],
    start: u64,
    time: u64,
    value: NumberValue,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes.to_vec(),
        start_time_unix_nano: start,
        time_unix_nano: time,
        exemplars: Vec::new(),
        flags: 0,
        value: Some(value),
    }
}

/// `copy_metric(Optional[name], Optional[description], Optional[unit])`: a copy of the metric,
/// with the given fields replaced, is added to the scope.
struct CopyMetric {
    name: Option<Expr>,
    description: Option<Expr>,
    unit: Option<Expr>,
}

fn build_copy_metric(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(CopyMetric {
        name: args.opt_getter(0),
        description: args.opt_getter(1),
        unit: args.opt_getter(2),
    }))
}

impl CopyMetric {
    /// The string an optional argument evaluates to (against the current metric, as in
    /// otelcol), or `None` when it was not given.
    fn field(
        &self,
        expr: Option<&Expr>,
        ctx: &TransformContext<'_>,
        argument: &str,
    ) -> Result<Option<String>> {
        expr.map(|expr| {
            expect_string(expr.eval(ctx)?, "copy_metric", argument).map(|s| s.into_owned())
        })
        .transpose()
    }
}

impl EditorFn for CopyMetric {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let name = self.field(self.name.as_ref(), ctx, "name")?;
        let description = self.field(self.description.as_ref(), ctx, "description")?;
        let unit = self.field(self.unit.as_ref(), ctx, "unit")?;
        let mut copy = ctx.metric(Field::MetricType)?.clone();
        if let Some(name) = name {
            copy.name = name;
        }
        if let Some(description) = description {
            copy.description = description;
        }
        if let Some(unit) = unit {
            copy.unit = unit;
        }
        add_metric(ctx, "copy_metric", copy)
    }
}

/// Which field of a histogram or summary point becomes the new sum's value.
#[derive(Clone, Copy)]
enum Extract {
    Count,
    Sum,
}

impl Extract {
    fn function(self) -> &'static str {
        match self {
            Extract::Count => "extract_count_metric",
            Extract::Sum => "extract_sum_metric",
        }
    }
}

/// `extract_count_metric(is_monotonic, Optional[suffix])` and
/// `extract_sum_metric(is_monotonic, Optional[suffix])`: a sum of each point's count (an int,
/// unit `"1"`, default suffix `_count`) or sum (a double, the metric's unit, default suffix
/// `_sum`; histogram points without a sum are skipped) from a histogram, exponential histogram
/// or summary, with the source's temporality (cumulative for a summary, which has none). Other
/// types are an error; no metric is added when no point qualifies, as in otelcol.
struct ExtractMetric {
    what: Extract,
    monotonic: bool,
    suffix: String,
}

fn build_extract(
    args: &mut Args<'_>,
    what: Extract,
    default_suffix: &str,
) -> Result<Box<dyn EditorFn>> {
    let monotonic = args.opt_bool(0).ok_or_else(|| args.error(0, "missing"))?;
    let suffix = args.opt_str(1).unwrap_or_else(|| default_suffix.to_owned());
    Ok(Box::new(ExtractMetric {
        what,
        monotonic,
        suffix,
    }))
}

fn build_extract_count(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    build_extract(args, Extract::Count, "_count")
}

fn build_extract_sum(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    build_extract(args, Extract::Sum, "_sum")
}

/// The name otelcol gives a metric's type in its errors.
fn type_name(metric: &Metric) -> &'static str {
    match &metric.data {
        Some(Data::Gauge(_)) => "Gauge",
        Some(Data::Sum(_)) => "Sum",
        Some(Data::Histogram(_)) => "Histogram",
        Some(Data::ExponentialHistogram(_)) => "ExponentialHistogram",
        Some(Data::Summary(_)) => "Summary",
        None => "Empty",
    }
}

impl EditorFn for ExtractMetric {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let metric = ctx.metric(Field::MetricType)?;
        let count = |attrs: &[KeyValue], start, time, count: u64| {
            number_point(attrs, start, time, NumberValue::AsInt(count as i64))
        };
        let sum = |attrs: &[KeyValue], start, time, sum: f64| {
            number_point(attrs, start, time, NumberValue::AsDouble(sum))
        };
        let (temporality, points): (i32, Vec<NumberDataPoint>) = match (&metric.data, self.what) {
            (Some(Data::Histogram(h)), Extract::Count) => (
                h.aggregation_temporality,
                h.data_points
                    .iter()
                    .map(|p| {
                        count(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            p.count,
                        )
                    })
                    .collect(),
            ),
            (Some(Data::Histogram(h)), Extract::Sum) => (
                h.aggregation_temporality,
                h.data_points
                    .iter()
                    .filter_map(|p| {
                        p.sum.map(|s| {
                            sum(&p.attributes, p.start_time_unix_nano, p.time_unix_nano, s)
                        })
                    })
                    .collect(),
            ),
            (Some(Data::ExponentialHistogram(h)), Extract::Count) => (
                h.aggregation_temporality,
                h.data_points
                    .iter()
                    .map(|p| {
                        count(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            p.count,
                        )
                    })
                    .collect(),
            ),
            (Some(Data::ExponentialHistogram(h)), Extract::Sum) => (
                h.aggregation_temporality,
                h.data_points
                    .iter()
                    .filter_map(|p| {
                        p.sum.map(|s| {
                            sum(&p.attributes, p.start_time_unix_nano, p.time_unix_nano, s)
                        })
                    })
                    .collect(),
            ),
            // A summary has no temporality; otelcol takes it as cumulative, as OpenMetrics
            // summaries are.
            (Some(Data::Summary(s)), what) => (
                AggregationTemporality::Cumulative as i32,
                s.data_points
                    .iter()
                    .map(|p| match what {
                        Extract::Count => count(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            p.count,
                        ),
                        Extract::Sum => sum(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            p.sum,
                        ),
                    })
                    .collect(),
            ),
            _ => {
                return Err(Error::eval(format!(
                    "{}: requires an input metric of type Histogram, ExponentialHistogram or \
                     Summary, got {}",
                    self.what.function(),
                    type_name(metric)
                )));
            }
        };
        // otelcol reports an unspecified temporality on a histogram as the same type error.
        let Ok(temporality) = AggregationTemporality::try_from(temporality) else {
            return Err(Error::eval(format!(
                "{}: unknown aggregation temporality {temporality}",
                self.what.function()
            )));
        };
        if temporality == AggregationTemporality::Unspecified {
            return Err(Error::eval(format!(
                "{}: requires an input metric of type Histogram, ExponentialHistogram or \
                 Summary, got {} with unspecified temporality",
                self.what.function(),
                type_name(metric)
            )));
        }
        if points.is_empty() {
            return Ok(());
        }
        let unit = match self.what {
            // The source's unit does not apply to a count.
            Extract::Count => "1".to_owned(),
            Extract::Sum => metric.unit.clone(),
        };
        let new = sum_metric(
            metric,
            &self.suffix,
            unit,
            temporality,
            self.monotonic,
            points,
        );
        add_metric(ctx, self.what.function(), new)
    }
}

/// `convert_summary_count_val_to_sum(aggregation_temporality, is_monotonic, Optional[suffix])`
/// and `convert_summary_sum_val_to_sum(...)`: run on a summary's data point, as in otelcol, they
/// add a sum of every point's count (int, default suffix `_count`) or sum (double, default
/// suffix `_sum`) with the metric's unit. Like otelcol, each visited point of the summary adds
/// its own such metric. Other metric types are left alone.
struct SummaryToSum {
    what: Extract,
    temporality: AggregationTemporality,
    monotonic: bool,
    suffix: String,
}

impl SummaryToSum {
    fn function(&self) -> &'static str {
        match self.what {
            Extract::Count => "convert_summary_count_val_to_sum",
            Extract::Sum => "convert_summary_sum_val_to_sum",
        }
    }
}

fn build_summary_to_sum(
    args: &mut Args<'_>,
    what: Extract,
    default_suffix: &str,
) -> Result<Box<dyn EditorFn>> {
    let temporality = temporality(args, 0)?;
    let monotonic = args.opt_bool(1).ok_or_else(|| args.error(1, "missing"))?;
    let suffix = args.opt_str(2).unwrap_or_else(|| default_suffix.to_owned());
    Ok(Box::new(SummaryToSum {
        what,
        temporality,
        monotonic,
        suffix,
    }))
}

fn build_summary_count(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    build_summary_to_sum(args, Extract::Count, "_count")
}

fn build_summary_sum(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    build_summary_to_sum(args, Extract::Sum, "_sum")
}

impl EditorFn for SummaryToSum {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let metric = ctx.metric(Field::MetricType)?;
        if !matches!(metric.data, Some(Data::Summary(_))) {
            return Ok(());
        }
        let (before, after) = match ctx.summary_siblings {
            Some(siblings) => (siblings.before, siblings.after),
            None => (&[][..], &[][..]),
        };
        let DataPointMut::Summary(current) = ctx.point_mut(Field::PointAttributes)? else {
            return Ok(());
        };
        let current: &SummaryDataPoint = current;
        let points = before
            .iter()
            .chain(std::iter::once(current))
            .chain(after)
            .map(|p| {
                let value = match self.what {
                    Extract::Count => NumberValue::AsInt(p.count as i64),
                    Extract::Sum => NumberValue::AsDouble(p.sum),
                };
                number_point(
                    &p.attributes,
                    p.start_time_unix_nano,
                    p.time_unix_nano,
                    value,
                )
            })
            .collect();
        let metric = ctx.metric(Field::MetricType)?;
        let new = sum_metric(
            metric,
            &self.suffix,
            metric.unit.clone(),
            self.temporality,
            self.monotonic,
            points,
        );
        add_metric(ctx, self.function(), new)
    }
}

/// `convert_summary_quantile_val_to_gauge(Optional[attribute_key], Optional[suffix])`: a gauge
/// with one point per quantile of each summary point (the point's attributes plus
/// `attribute_key`, default `quantile`, set to the quantile as a string), named with the suffix
/// (default `.quantiles`). Other metric types are left alone.
struct SummaryQuantiles {
    attribute_key: String,
    suffix: String,
}

fn build_summary_quantiles(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(SummaryQuantiles {
        attribute_key: args.opt_str(0).unwrap_or_else(|| "quantile".to_owned()),
        suffix: args.opt_str(1).unwrap_or_else(|| ".quantiles".to_owned()),
    }))
}

/// The quantile as otelcol writes it: shortest form, padded with a `0` when shorter than four
/// characters (`0.5` becomes `0.50`), except `0` and `1`.
fn quantile_label(q: f64) -> String {
    let mut text = format!("{q}");
    if text.len() < 4 && text != "0" && text != "1" {
        text.push('0');
    }
    text
}

impl EditorFn for SummaryQuantiles {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let metric = ctx.metric(Field::MetricType)?;
        let Some(Data::Summary(summary)) = &metric.data else {
            return Ok(());
        };
        let mut data_points = Vec::new();
        for point in &summary.data_points {
            for q in &point.quantile_values {
                let mut attributes = point.attributes.clone();
                let label = AnyValue {
                    value: Some(any_value::Value::StringValue(quantile_label(q.quantile))),
                };
                match attributes
                    .iter_mut()
                    .find(|kv| kv.key == self.attribute_key)
                {
                    Some(kv) => kv.value = Some(label),
                    None => attributes.push(KeyValue {
                        key: self.attribute_key.clone(),
                        value: Some(label),
                        ..KeyValue::default()
                    }),
                }
                data_points.push(number_point(
                    &attributes,
                    point.start_time_unix_nano,
                    point.time_unix_nano,
                    NumberValue::AsDouble(q.value),
                ));
            }
        }
        let new = Metric {
            name: format!("{}{}", metric.name, self.suffix),
            description: metric.description.clone(),
            unit: metric.unit.clone(),
            metadata: Vec::new(),
            data: Some(Data::Gauge(Gauge { data_points })),
        };
        add_metric(ctx, "convert_summary_quantile_val_to_gauge", new)
    }
}
