//! The metric functions of otelcol's transform processor (`convert_sum_to_gauge`,
//! `scale_metric`, ...) and the filter processor's `HasAttrOnDatapoint` family. They work on a
//! whole metric (its type and every data point), so they are declared for the metric context
//! only, except `merge_histogram_buckets`, which otelcol runs on one data point.

pub(crate) mod aggregate;
mod buckets;
mod convert;
mod datapoint_attrs;
mod exponential;
mod percentile;
mod scale;
mod siblings;

use super::{Args, FunctionDef};
use crate::error::Result;
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    convert::CONVERT_SUM_TO_GAUGE,
    convert::CONVERT_GAUGE_TO_SUM,
    scale::SCALE_METRIC,
    datapoint_attrs::HAS_ATTR_KEY_ON_DATAPOINT,
    datapoint_attrs::HAS_ATTR_ON_DATAPOINT,
    exponential::CONVERT_EXPONENTIAL_HISTOGRAM_TO_HISTOGRAM,
    buckets::MERGE_HISTOGRAM_BUCKETS,
    siblings::COPY_METRIC,
    siblings::EXTRACT_COUNT_METRIC,
    siblings::EXTRACT_SUM_METRIC,
    siblings::CONVERT_SUMMARY_COUNT_VAL_TO_SUM,
    siblings::CONVERT_SUMMARY_SUM_VAL_TO_SUM,
    siblings::CONVERT_SUMMARY_QUANTILE_VAL_TO_GAUGE,
    percentile::EXTRACT_PERCENTILE_METRIC,
    aggregate::AGGREGATE_ON_ATTRIBUTES,
    aggregate::AGGREGATE_ON_ATTRIBUTE_VALUE,
];

/// A number argument otelcol declares as a Go `float64`, which only a literal can fill: read
/// once at build time so a wrong argument is a compile error, as it is in otelcol. Integer
/// literals are taken too (otelcol wants `10.0`, not `10`; accepting both harms nobody).
fn literal_number(args: &mut Args<'_>, index: usize) -> Result<f64> {
    let expr = args.getter(index)?;
    match expr.as_literal() {
        Some(Value::Double(d)) => Ok(*d),
        Some(Value::Int(i)) => Ok(*i as f64),
        _ => Err(args.error(index, "must be a number literal")),
    }
}
