//! Changing a metric's type in place: `convert_sum_to_gauge`, `convert_gauge_to_sum`.

use std::mem;

use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, Gauge, Sum};

use crate::context::{ContextKind, Field, TransformContext};
use crate::error::Result;
use crate::funcs::{Args, Build, EditorFn, FunctionDef, ParamKind, required};

/// The metric context only: otelcol registers these on the metric, and a statement that also
/// names `datapoint` paths must go in another group (transform README, "Context inference").
pub(super) const METRIC_ONLY: Option<&[ContextKind]> = Some(&[ContextKind::Metric]);

pub(super) const CONVERT_SUM_TO_GAUGE: FunctionDef = FunctionDef {
    name: "convert_sum_to_gauge",
    params: &[],
    build: Build::Editor(build_sum_to_gauge),
    contexts: METRIC_ONLY,
    string_fn: None,
};

pub(super) const CONVERT_GAUGE_TO_SUM: FunctionDef = FunctionDef {
    name: "convert_gauge_to_sum",
    // otelcol's argument struct fields `StringAggTemp` and `Monotonic`, which name its
    // named arguments; the README writes them `aggregation_temporality, is_monotonic`.
    params: &[
        required("string_agg_temp", ParamKind::Str),
        required("monotonic", ParamKind::Bool),
    ],
    build: Build::Editor(build_gauge_to_sum),
    contexts: METRIC_ONLY,
    string_fn: None,
};

/// `convert_sum_to_gauge()`: a sum becomes a gauge with the same points; its temporality and
/// monotonicity go, as a gauge has neither. Other types are left alone.
struct SumToGauge;

fn build_sum_to_gauge(_: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(SumToGauge))
}

impl EditorFn for SumToGauge {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let metric = ctx.metric_mut(Field::MetricType)?;
        if let Some(Data::Sum(sum)) = &mut metric.data {
            let data_points = mem::take(&mut sum.data_points);
            metric.data = Some(Data::Gauge(Gauge { data_points }));
        }
        Ok(())
    }
}

/// `convert_gauge_to_sum(aggregation_temporality, is_monotonic)`: a gauge becomes a sum with
/// the same points and the given temporality and monotonicity. Other types are left alone.
struct GaugeToSum {
    temporality: AggregationTemporality,
    monotonic: bool,
}

/// The temporality named `"cumulative"` or `"delta"`, as otelcol's conversion functions
/// accept it (case-sensitive, like otelcol).
pub(super) fn temporality(args: &mut Args<'_>, index: usize) -> Result<AggregationTemporality> {
    let name = args.str(index)?;
    match name.as_str() {
        "cumulative" => Ok(AggregationTemporality::Cumulative),
        "delta" => Ok(AggregationTemporality::Delta),
        other => Err(args.error(
            index,
            format!(
                "unknown aggregation temporality `{other}`: expected \"cumulative\" or \"delta\""
            ),
        )),
    }
}

fn build_gauge_to_sum(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let temporality = temporality(args, 0)?;
    let monotonic = args.opt_bool(1).ok_or_else(|| args.error(1, "missing"))?;
    Ok(Box::new(GaugeToSum {
        temporality,
        monotonic,
    }))
}

impl EditorFn for GaugeToSum {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let metric = ctx.metric_mut(Field::MetricType)?;
        if let Some(Data::Gauge(gauge)) = &mut metric.data {
            let data_points = mem::take(&mut gauge.data_points);
            metric.data = Some(Data::Sum(Sum {
                data_points,
                aggregation_temporality: self.temporality as i32,
                is_monotonic: self.monotonic,
            }));
        }
        Ok(())
    }
}
