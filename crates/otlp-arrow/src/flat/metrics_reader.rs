//! Metric data points read back from flat rows: [`decode_metrics`], the way back to OTLP of what
//! [`MetricsBuilder`](super::MetricsBuilder) writes.

use arrow::array::{
    Array, BooleanArray, FixedSizeBinaryArray, Float64Array, Int32Array, Int64Array, ListArray,
    StringArray, StructArray, TimestampNanosecondArray, UInt32Array, UInt64Array,
};
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point, metric, number_data_point,
    summary_data_point,
};

use super::context_reader::{ContextReader, Step, column, id_vec, regroup, struct_child};
use super::metrics::{NumberValue, metric_col as mc};
use super::schema::col;
use super::time::from_timestamp;
use super::value::AttrsReader;
use crate::Error;

fn number_of(
    double: &Float64Array,
    int: &Int64Array,
    i: usize,
) -> Result<Option<NumberValue>, Error> {
    match (double.is_valid(i), int.is_valid(i)) {
        (false, false) => Ok(None),
        (true, false) => Ok(Some(NumberValue::Double(double.value(i)))),
        (false, true) => Ok(Some(NumberValue::Int(int.value(i)))),
        (true, true) => Err(Error::InvalidData {
            table: "metrics",
            reason: "a value has both its double and its int set".into(),
        }),
    }
}

fn opt_f64(array: &Float64Array, i: usize) -> Option<f64> {
    array.is_valid(i).then(|| array.value(i))
}

fn list_values<'a, T: 'static>(
    list: &'a ListArray,
    name: &str,
    expected: &'static str,
) -> Result<&'a T, Error> {
    list.values()
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| Error::ColumnType {
            column: name.to_owned(),
            expected,
            actual: list.data_type().to_string(),
        })
}

fn range(list: &ListArray, i: usize) -> std::ops::Range<usize> {
    let offsets = list.value_offsets();
    offsets[i] as usize..offsets[i + 1] as usize
}

fn missing_value(column: &'static str, row: usize) -> Error {
    Error::InvalidData {
        table: "metrics",
        reason: format!("`{column}` is null in row {row}, where the metric type needs it"),
    }
}

/// Reads a flat metrics batch back into one request: consecutive points with the same
/// `metric_id` form one `Metric` (see [`decode_traces`](super::decode_traces) for the
/// containers).
pub fn decode_metrics(batch: &RecordBatch) -> Result<ExportMetricsServiceRequest, Error> {
    let ctx = ContextReader::new(batch)?;
    let c = |name| {
        batch
            .column_by_name(name)
            .ok_or_else(|| Error::MissingColumn(name.to_owned()))
    };
    let start_time: &TimestampNanosecondArray = column(batch, col::START_TIME, "Timestamp(ns)")?;
    let time: &TimestampNanosecondArray = column(batch, col::TIME, "Timestamp(ns)")?;
    let name: &StringArray = column(batch, mc::METRIC_NAME, "Utf8")?;
    let kind: &StringArray = column(batch, mc::METRIC_TYPE, "Utf8")?;
    let unit: &StringArray = column(batch, mc::METRIC_UNIT, "Utf8")?;
    let description: &StringArray = column(batch, mc::METRIC_DESCRIPTION, "Utf8")?;
    let metadata = AttrsReader::new(c(mc::METRIC_METADATA)?.as_ref(), mc::METRIC_METADATA)?;
    let temporality: &Int32Array = column(batch, mc::AGGREGATION_TEMPORALITY, "Int32")?;
    let monotonic: &BooleanArray = column(batch, mc::IS_MONOTONIC, "Boolean")?;
    let attributes = AttrsReader::new(c(col::ATTRIBUTES)?.as_ref(), col::ATTRIBUTES)?;
    let flags: &UInt32Array = column(batch, col::FLAGS, "UInt32")?;
    let value_double: &Float64Array = column(batch, mc::VALUE_DOUBLE, "Float64")?;
    let value_int: &Int64Array = column(batch, mc::VALUE_INT, "Int64")?;
    let count: &UInt64Array = column(batch, mc::COUNT, "UInt64")?;
    let sum: &Float64Array = column(batch, mc::SUM, "Float64")?;
    let min: &Float64Array = column(batch, mc::MIN, "Float64")?;
    let max: &Float64Array = column(batch, mc::MAX, "Float64")?;
    let bucket_counts: &ListArray = column(batch, mc::BUCKET_COUNTS, "List<UInt64>")?;
    let bucket_items: &UInt64Array = list_values(bucket_counts, mc::BUCKET_COUNTS, "List<UInt64>")?;
    let bounds: &ListArray = column(batch, mc::EXPLICIT_BOUNDS, "List<Float64>")?;
    let bound_items: &Float64Array = list_values(bounds, mc::EXPLICIT_BOUNDS, "List<Float64>")?;
    let scale: &Int32Array = column(batch, mc::SCALE, "Int32")?;
    let zero_count: &UInt64Array = column(batch, mc::ZERO_COUNT, "UInt64")?;
    let zero_threshold: &Float64Array = column(batch, mc::ZERO_THRESHOLD, "Float64")?;
    let positive_offset: &Int32Array = column(batch, mc::POSITIVE_OFFSET, "Int32")?;
    let positive: &ListArray = column(batch, mc::POSITIVE_BUCKET_COUNTS, "List<UInt64>")?;
    let positive_items: &UInt64Array =
        list_values(positive, mc::POSITIVE_BUCKET_COUNTS, "List<UInt64>")?;
    let negative_offset: &Int32Array = column(batch, mc::NEGATIVE_OFFSET, "Int32")?;
    let negative: &ListArray = column(batch, mc::NEGATIVE_BUCKET_COUNTS, "List<UInt64>")?;
    let negative_items: &UInt64Array =
        list_values(negative, mc::NEGATIVE_BUCKET_COUNTS, "List<UInt64>")?;
    let quantiles: &ListArray = column(batch, mc::QUANTILE_VALUES, "List<Struct>")?;
    let quantile_items: &StructArray = list_values(quantiles, mc::QUANTILE_VALUES, "List<Struct>")?;
    let quantile: &Float64Array =
        struct_child(quantile_items, "quantile", "Float64", mc::QUANTILE_VALUES)?;
    let quantile_value: &Float64Array =
        struct_child(quantile_items, "value", "Float64", mc::QUANTILE_VALUES)?;
    let exemplars: &ListArray = column(batch, mc::EXEMPLARS, "List<Struct>")?;
    let ex: &StructArray = list_values(exemplars, mc::EXEMPLARS, "List<Struct>")?;
    let ex_time: &TimestampNanosecondArray =
        struct_child(ex, col::TIME, "Timestamp(ns)", mc::EXEMPLARS)?;
    let ex_double: &Float64Array = struct_child(ex, mc::VALUE_DOUBLE, "Float64", mc::EXEMPLARS)?;
    let ex_int: &Int64Array = struct_child(ex, mc::VALUE_INT, "Int64", mc::EXEMPLARS)?;
    let ex_span_id: &FixedSizeBinaryArray =
        struct_child(ex, col::SPAN_ID, "FixedSizeBinary(8)", mc::EXEMPLARS)?;
    let ex_trace_id: &FixedSizeBinaryArray =
        struct_child(ex, col::TRACE_ID, "FixedSizeBinary(16)", mc::EXEMPLARS)?;
    if ex_span_id.value_length() != 8 || ex_trace_id.value_length() != 16 {
        return Err(Error::ColumnType {
            column: mc::EXEMPLARS.to_owned(),
            expected: "span_id FixedSizeBinary(8), trace_id FixedSizeBinary(16)",
            actual: ex.data_type().to_string(),
        });
    }
    let ex_attributes = AttrsReader::new(
        ex.column_by_name(mc::FILTERED_ATTRIBUTES)
            .ok_or_else(|| Error::MissingColumn("exemplars.filtered_attributes".into()))?
            .as_ref(),
        "exemplars.filtered_attributes",
    )?;
    let metric_id: &UInt32Array = column(batch, mc::METRIC_ID, "UInt32")?;

    let mut out = ExportMetricsServiceRequest::default();
    let mut current_metric: Option<u32> = None;
    regroup(&ctx, batch.num_rows(), |step| {
        let row = match step {
            Step::Resource(resource, schema_url) => {
                out.resource_metrics.push(ResourceMetrics {
                    resource,
                    scope_metrics: Vec::new(),
                    schema_url,
                });
                current_metric = None;
                return Ok(());
            }
            Step::Scope(scope, schema_url) => {
                if let Some(rm) = out.resource_metrics.last_mut() {
                    rm.scope_metrics.push(ScopeMetrics {
                        scope,
                        metrics: Vec::new(),
                        schema_url,
                    });
                }
                current_metric = None;
                return Ok(());
            }
            Step::Item(row) => row,
        };
        let Some(sm) = out
            .resource_metrics
            .last_mut()
            .and_then(|rm| rm.scope_metrics.last_mut())
        else {
            return Ok(());
        };
        let id = metric_id.value(row);
        if current_metric != Some(id) || sm.metrics.is_empty() {
            current_metric = Some(id);
            let temporality_of = || {
                temporality
                    .is_valid(row)
                    .then(|| temporality.value(row))
                    .ok_or_else(|| missing_value(mc::AGGREGATION_TEMPORALITY, row))
            };
            let data = match kind.value(row) {
                "gauge" => metric::Data::Gauge(Gauge::default()),
                "sum" => metric::Data::Sum(Sum {
                    data_points: Vec::new(),
                    aggregation_temporality: temporality_of()?,
                    is_monotonic: monotonic
                        .is_valid(row)
                        .then(|| monotonic.value(row))
                        .ok_or_else(|| missing_value(mc::IS_MONOTONIC, row))?,
                }),
                "histogram" => metric::Data::Histogram(Histogram {
                    data_points: Vec::new(),
                    aggregation_temporality: temporality_of()?,
                }),
                "exponential_histogram" => {
                    metric::Data::ExponentialHistogram(ExponentialHistogram {
                        data_points: Vec::new(),
                        aggregation_temporality: temporality_of()?,
                    })
                }
                "summary" => metric::Data::Summary(Summary::default()),
                other => {
                    return Err(Error::InvalidData {
                        table: "metrics",
                        reason: format!("unknown metric_type {other:?} in row {row}"),
                    });
                }
            };
            sm.metrics.push(Metric {
                name: name.value(row).to_owned(),
                description: description.value(row).to_owned(),
                unit: unit.value(row).to_owned(),
                data: Some(data),
                metadata: metadata.get(row)?,
            });
        }
        let Some(Metric {
            data: Some(data), ..
        }) = sm.metrics.last_mut()
        else {
            return Ok(());
        };
        let mut point_exemplars = Vec::new();
        for e in range(exemplars, row) {
            point_exemplars.push(Exemplar {
                filtered_attributes: ex_attributes.get(e)?,
                time_unix_nano: from_timestamp(ex_time, e),
                value: number_of(ex_double, ex_int, e)?.map(|v| match v {
                    NumberValue::Double(d) => exemplar::Value::AsDouble(d),
                    NumberValue::Int(i) => exemplar::Value::AsInt(i),
                }),
                span_id: id_vec(ex_span_id, e),
                trace_id: id_vec(ex_trace_id, e),
            });
        }
        let start_time_unix_nano = from_timestamp(start_time, row);
        let time_unix_nano = from_timestamp(time, row);
        let point_attributes = attributes.get(row)?;
        let point_count = || {
            count
                .is_valid(row)
                .then(|| count.value(row))
                .ok_or_else(|| missing_value(mc::COUNT, row))
        };
        match data {
            metric::Data::Gauge(Gauge { data_points })
            | metric::Data::Sum(Sum { data_points, .. }) => {
                data_points.push(NumberDataPoint {
                    attributes: point_attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    exemplars: point_exemplars,
                    flags: flags.value(row),
                    value: number_of(value_double, value_int, row)?.map(|v| match v {
                        NumberValue::Double(d) => number_data_point::Value::AsDouble(d),
                        NumberValue::Int(i) => number_data_point::Value::AsInt(i),
                    }),
                });
            }
            metric::Data::Histogram(Histogram { data_points, .. }) => {
                data_points.push(HistogramDataPoint {
                    attributes: point_attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    count: point_count()?,
                    sum: opt_f64(sum, row),
                    bucket_counts: bucket_items.values()[range(bucket_counts, row)].to_vec(),
                    explicit_bounds: bound_items.values()[range(bounds, row)].to_vec(),
                    exemplars: point_exemplars,
                    flags: flags.value(row),
                    min: opt_f64(min, row),
                    max: opt_f64(max, row),
                });
            }
            metric::Data::ExponentialHistogram(ExponentialHistogram { data_points, .. }) => {
                let buckets = |offset: &Int32Array, list: &ListArray, items: &UInt64Array| {
                    (offset.is_valid(row) && list.is_valid(row)).then(|| {
                        exponential_histogram_data_point::Buckets {
                            offset: offset.value(row),
                            bucket_counts: items.values()[range(list, row)].to_vec(),
                        }
                    })
                };
                data_points.push(ExponentialHistogramDataPoint {
                    attributes: point_attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    count: point_count()?,
                    sum: opt_f64(sum, row),
                    scale: scale.value(row),
                    zero_count: zero_count.value(row),
                    positive: buckets(positive_offset, positive, positive_items),
                    negative: buckets(negative_offset, negative, negative_items),
                    flags: flags.value(row),
                    exemplars: point_exemplars,
                    min: opt_f64(min, row),
                    max: opt_f64(max, row),
                    zero_threshold: zero_threshold.value(row),
                });
            }
            metric::Data::Summary(Summary { data_points }) => {
                data_points.push(SummaryDataPoint {
                    attributes: point_attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    count: point_count()?,
                    sum: opt_f64(sum, row).ok_or_else(|| missing_value(mc::SUM, row))?,
                    quantile_values: range(quantiles, row)
                        .map(|q| summary_data_point::ValueAtQuantile {
                            quantile: quantile.value(q),
                            value: quantile_value.value(q),
                        })
                        .collect(),
                    flags: flags.value(row),
                });
            }
        }
        Ok(())
    })?;
    Ok(out)
}
