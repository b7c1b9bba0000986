//! The flat metrics schema: one row per data point, and the names of its metric columns.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, FieldRef, Fields, SchemaRef};

use crate::Signal;
use crate::flat::schema::{
    attributes_field, col, ids, list_item, list_of, timestamp_type, with_context,
};

/// Metric column names (beyond the shared ones in [`col`]).
pub mod metric_col {
    /// `Metric.name`.
    pub const METRIC_NAME: &str = "metric_name";
    /// `Metric.description`.
    pub const METRIC_DESCRIPTION: &str = "metric_description";
    /// `Metric.unit`.
    pub const METRIC_UNIT: &str = "metric_unit";
    /// `Metric.metadata`.
    pub const METRIC_METADATA: &str = "metric_metadata";
    /// `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary`.
    pub const METRIC_TYPE: &str = "metric_type";
    /// Numbers the metrics of a file; a new value starts a new `Metric`.
    pub const METRIC_ID: &str = "metric_id";
    /// Sums and histograms: `aggregation_temporality` (1 delta, 2 cumulative).
    pub const AGGREGATION_TEMPORALITY: &str = "aggregation_temporality";
    /// Sums: `is_monotonic`.
    pub const IS_MONOTONIC: &str = "is_monotonic";
    /// Gauges and sums: a double value.
    pub const VALUE_DOUBLE: &str = "value_double";
    /// Gauges and sums: an integer value.
    pub const VALUE_INT: &str = "value_int";
    /// Histograms and summaries: `count`.
    pub const COUNT: &str = "count";
    /// Histograms and summaries: `sum` (null when a histogram has none).
    pub const SUM: &str = "sum";
    /// Histograms: `min`.
    pub const MIN: &str = "min";
    /// Histograms: `max`.
    pub const MAX: &str = "max";
    /// Histograms: `bucket_counts`.
    pub const BUCKET_COUNTS: &str = "bucket_counts";
    /// Histograms: `explicit_bounds`.
    pub const EXPLICIT_BOUNDS: &str = "explicit_bounds";
    /// Exponential histograms: `scale`.
    pub const SCALE: &str = "scale";
    /// Exponential histograms: `zero_count`.
    pub const ZERO_COUNT: &str = "zero_count";
    /// Exponential histograms: `zero_threshold`.
    pub const ZERO_THRESHOLD: &str = "zero_threshold";
    /// Exponential histograms: `positive.offset`.
    pub const POSITIVE_OFFSET: &str = "positive_offset";
    /// Exponential histograms: `positive.bucket_counts` (null when `positive` is absent).
    pub const POSITIVE_BUCKET_COUNTS: &str = "positive_bucket_counts";
    /// Exponential histograms: `negative.offset`.
    pub const NEGATIVE_OFFSET: &str = "negative_offset";
    /// Exponential histograms: `negative.bucket_counts` (null when `negative` is absent).
    pub const NEGATIVE_BUCKET_COUNTS: &str = "negative_bucket_counts";
    /// Summaries: `quantile_values` as `List<Struct<quantile, value>>`.
    pub const QUANTILE_VALUES: &str = "quantile_values";
    /// Exemplars of the point.
    pub const EXEMPLARS: &str = "exemplars";
    /// Exemplars: `filtered_attributes`.
    pub const FILTERED_ATTRIBUTES: &str = "filtered_attributes";
}
use metric_col as mc;

// The fields below are built once and shared, as the schema is: every batch's finish needs them, and building
// them is a few small allocations each.

/// The item field of the bucket count lists.
pub(super) fn u64_item() -> FieldRef {
    static ITEM: OnceLock<FieldRef> = OnceLock::new();
    ITEM.get_or_init(|| Arc::new(Field::new("item", DataType::UInt64, false)))
        .clone()
}

/// The item field of the explicit bounds list.
pub(super) fn f64_item() -> FieldRef {
    static ITEM: OnceLock<FieldRef> = OnceLock::new();
    ITEM.get_or_init(|| Arc::new(Field::new("item", DataType::Float64, false)))
        .clone()
}

fn u64_list() -> DataType {
    DataType::List(u64_item())
}

fn f64_list() -> DataType {
    DataType::List(f64_item())
}

pub(super) fn quantile_fields() -> Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS
        .get_or_init(|| {
            Fields::from(vec![
                Field::new("quantile", DataType::Float64, false),
                Field::new("value", DataType::Float64, false),
            ])
        })
        .clone()
}

pub(super) fn exemplar_fields() -> Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS
        .get_or_init(|| {
            let (trace_id, span_id) = ids();
            Fields::from(vec![
                Field::new(col::TIME, timestamp_type(), true),
                Field::new(mc::VALUE_DOUBLE, DataType::Float64, true),
                Field::new(mc::VALUE_INT, DataType::Int64, true),
                span_id,
                trace_id,
                attributes_field(mc::FILTERED_ATTRIBUTES),
            ])
        })
        .clone()
}

/// The item field of the quantile values column, built once: every batch's finish needs it.
pub(super) fn quantile_item() -> FieldRef {
    static ITEM: OnceLock<FieldRef> = OnceLock::new();
    ITEM.get_or_init(|| list_item(quantile_fields())).clone()
}

/// The item field of the exemplars column, built once: every batch's finish needs it.
pub(super) fn exemplar_item() -> FieldRef {
    static ITEM: OnceLock<FieldRef> = OnceLock::new();
    ITEM.get_or_init(|| list_item(exemplar_fields())).clone()
}

/// The flat metrics schema (one row per data point).
pub(crate) fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let f64n = |name| Field::new(name, DataType::Float64, true);
            with_context(
                Signal::Metrics,
                vec![
                    Field::new(col::START_TIME, timestamp_type(), true),
                    Field::new(col::TIME, timestamp_type(), true),
                    Field::new(mc::METRIC_NAME, DataType::Utf8, false),
                    Field::new(mc::METRIC_TYPE, DataType::Utf8, false),
                    Field::new(mc::METRIC_UNIT, DataType::Utf8, false),
                    Field::new(mc::METRIC_DESCRIPTION, DataType::Utf8, false),
                    attributes_field(mc::METRIC_METADATA),
                    Field::new(mc::AGGREGATION_TEMPORALITY, DataType::Int32, true),
                    Field::new(mc::IS_MONOTONIC, DataType::Boolean, true),
                    attributes_field(col::ATTRIBUTES),
                    Field::new(col::FLAGS, DataType::UInt32, false),
                    f64n(mc::VALUE_DOUBLE),
                    Field::new(mc::VALUE_INT, DataType::Int64, true),
                    Field::new(mc::COUNT, DataType::UInt64, true),
                    f64n(mc::SUM),
                    f64n(mc::MIN),
                    f64n(mc::MAX),
                    Field::new(mc::BUCKET_COUNTS, u64_list(), true),
                    Field::new(mc::EXPLICIT_BOUNDS, f64_list(), true),
                    Field::new(mc::SCALE, DataType::Int32, true),
                    Field::new(mc::ZERO_COUNT, DataType::UInt64, true),
                    f64n(mc::ZERO_THRESHOLD),
                    Field::new(mc::POSITIVE_OFFSET, DataType::Int32, true),
                    Field::new(mc::POSITIVE_BUCKET_COUNTS, u64_list(), true),
                    Field::new(mc::NEGATIVE_OFFSET, DataType::Int32, true),
                    Field::new(mc::NEGATIVE_BUCKET_COUNTS, u64_list(), true),
                    Field::new(mc::QUANTILE_VALUES, list_of(quantile_fields()), true),
                    Field::new(mc::EXEMPLARS, list_of(exemplar_fields()), false),
                    Field::new(mc::METRIC_ID, DataType::UInt32, false),
                ],
            )
        })
        .clone()
}
