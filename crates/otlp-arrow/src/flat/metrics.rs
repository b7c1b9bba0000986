//! Metric data points as flat rows: the builder, driven by a prost request in `request.rs`. The
//! way back is in `metrics_reader.rs`.

mod request;
mod schema;

use std::sync::Arc;

use arrow::array::{ArrayRef, StructArray};
use arrow::datatypes::{
    FieldRef, Float64Type, Int32Type, Int64Type, SchemaRef, TimestampNanosecondType, UInt32Type,
    UInt64Type,
};
use arrow::record_batch::RecordBatch;

use super::columns::{BoolCol, BytesCol, IdCol, ListCol, PrimCol};
use super::resource::{Context, context_methods};
use super::schema::{col, timestamp_type};
use super::time::to_timestamp;
use super::value::{MapCol, ValueRef};
use crate::Error;

use metric_col as mc;
pub use schema::metric_col;
pub(crate) use schema::schema;
use schema::{exemplar_fields, exemplar_item, f64_item, quantile_fields, quantile_item, u64_item};

/// What kind of metric a `Metric` is, with the fields of its data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricData {
    /// `gauge`.
    Gauge,
    /// `sum`.
    Sum {
        /// `aggregation_temporality`.
        aggregation_temporality: i32,
        /// `is_monotonic`.
        is_monotonic: bool,
    },
    /// `histogram`.
    Histogram {
        /// `aggregation_temporality`.
        aggregation_temporality: i32,
    },
    /// `exponential_histogram`.
    ExponentialHistogram {
        /// `aggregation_temporality`.
        aggregation_temporality: i32,
    },
    /// `summary`.
    Summary,
}

impl MetricData {
    /// The `metric_type` column's value.
    pub fn type_name(self) -> &'static str {
        match self {
            MetricData::Gauge => "gauge",
            MetricData::Sum { .. } => "sum",
            MetricData::Histogram { .. } => "histogram",
            MetricData::ExponentialHistogram { .. } => "exponential_histogram",
            MetricData::Summary => "summary",
        }
    }
}

/// A metric's own fields; its metadata comes first through
/// [`MetricsBuilder::metric_metadata`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo<'a> {
    /// `name`.
    pub name: &'a str,
    /// `description`.
    pub description: &'a str,
    /// `unit`.
    pub unit: &'a str,
    /// The kind of data and its fields.
    pub data: MetricData,
}

/// A number value (`as_double` or `as_int`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumberValue {
    /// `as_double`.
    Double(f64),
    /// `as_int`.
    Int(i64),
}

/// The fields every data point has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PointTimes {
    /// `start_time_unix_nano`.
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`.
    pub time_unix_nano: u64,
    /// `flags`.
    pub flags: u32,
}

/// The kind-specific fields of a data point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointData<'a> {
    /// A gauge or sum point; `None` when neither value is set.
    Number(Option<NumberValue>),
    /// A histogram point.
    Histogram {
        /// `count`.
        count: u64,
        /// `sum`.
        sum: Option<f64>,
        /// `bucket_counts`.
        bucket_counts: &'a [u64],
        /// `explicit_bounds`.
        explicit_bounds: &'a [f64],
        /// `min`.
        min: Option<f64>,
        /// `max`.
        max: Option<f64>,
    },
    /// An exponential histogram point.
    ExponentialHistogram {
        /// `count`.
        count: u64,
        /// `sum`.
        sum: Option<f64>,
        /// `scale`.
        scale: i32,
        /// `zero_count`.
        zero_count: u64,
        /// `positive` as (offset, bucket counts).
        positive: Option<(i32, &'a [u64])>,
        /// `negative` as (offset, bucket counts).
        negative: Option<(i32, &'a [u64])>,
        /// `min`.
        min: Option<f64>,
        /// `max`.
        max: Option<f64>,
        /// `zero_threshold`.
        zero_threshold: f64,
    },
    /// A summary point.
    Summary {
        /// `count`.
        count: u64,
        /// `sum`.
        sum: f64,
        /// `quantile_values` as (quantile, value).
        quantile_values: &'a [(f64, f64)],
    },
}

/// An exemplar's own fields; its filtered attributes come first through
/// [`MetricsBuilder::exemplar_attribute`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExemplarInfo<'a> {
    /// `time_unix_nano`.
    pub time_unix_nano: u64,
    /// `value`.
    pub value: Option<NumberValue>,
    /// 8 bytes, or empty.
    pub span_id: &'a [u8],
    /// 16 bytes, or empty.
    pub trace_id: &'a [u8],
}

/// A metric's columns: rows, or (as a template) one metric.
#[derive(Debug, Default)]
struct MetricCols {
    id: PrimCol<UInt32Type>,
    name: BytesCol,
    kind: BytesCol,
    unit: BytesCol,
    description: BytesCol,
    metadata: MapCol,
    temporality: PrimCol<Int32Type>,
    monotonic: BoolCol,
}

impl MetricCols {
    fn extend_n(&mut self, other: &Self, n: usize) {
        self.id.extend_n(&other.id, n);
        self.name.extend_n(&other.name, n);
        self.kind.extend_n(&other.kind, n);
        self.unit.extend_n(&other.unit, n);
        self.description.extend_n(&other.description, n);
        self.metadata.extend_n(&other.metadata, n);
        self.temporality.extend_n(&other.temporality, n);
        self.monotonic.extend_n(&other.monotonic, n);
    }

    fn truncate(&mut self, rows: usize) {
        self.id.truncate(rows);
        self.name.truncate(rows);
        self.kind.truncate(rows);
        self.unit.truncate(rows);
        self.description.truncate(rows);
        self.metadata.truncate(rows);
        self.temporality.truncate(rows);
        self.monotonic.truncate(rows);
    }
}

/// A `List<Float64 or UInt64>` column.
#[derive(Debug)]
struct NumList<T: arrow::datatypes::ArrowPrimitiveType> {
    rows: ListCol,
    items: PrimCol<T>,
}

impl<T: arrow::datatypes::ArrowPrimitiveType> Default for NumList<T> {
    fn default() -> Self {
        Self {
            rows: ListCol::default(),
            items: PrimCol::default(),
        }
    }
}

impl<T: arrow::datatypes::ArrowPrimitiveType> NumList<T> {
    fn push(&mut self, values: &[T::Native]) {
        for v in values {
            self.items.push(*v);
        }
        self.rows.close(self.items.len());
    }

    fn push_null(&mut self) {
        self.rows.close_null();
    }

    fn truncate(&mut self, rows: usize) {
        self.rows.truncate(rows);
        self.items.truncate(self.rows.open_start());
    }

    fn finish(&mut self, name: &'static str, item: FieldRef) -> Result<ArrayRef, Error> {
        let items = self.items.finish()?;
        self.rows.finish(name, item, items)
    }
}

/// Builds flat data point rows; see [`TracesBuilder`](super::TracesBuilder) for the
/// calling pattern. Between the scope and its points come the metrics: for each,
/// [`begin_metric`](Self::begin_metric), its metadata, [`end_metric`](Self::end_metric);
/// then each point's attributes and exemplars, and [`end_point`](Self::end_point).
#[derive(Debug)]
pub struct MetricsBuilder {
    ctx: Context,
    metric: MetricCols,
    metric_data: Option<MetricData>,
    rows_metric: MetricCols,
    metric_run: usize,
    next_metric_id: u32,
    start_time: PrimCol<TimestampNanosecondType>,
    time: PrimCol<TimestampNanosecondType>,
    attributes: MapCol,
    flags: PrimCol<UInt32Type>,
    value_double: PrimCol<Float64Type>,
    value_int: PrimCol<Int64Type>,
    count: PrimCol<UInt64Type>,
    sum: PrimCol<Float64Type>,
    min: PrimCol<Float64Type>,
    max: PrimCol<Float64Type>,
    bucket_counts: NumList<UInt64Type>,
    explicit_bounds: NumList<Float64Type>,
    scale: PrimCol<Int32Type>,
    zero_count: PrimCol<UInt64Type>,
    zero_threshold: PrimCol<Float64Type>,
    positive_offset: PrimCol<Int32Type>,
    positive: NumList<UInt64Type>,
    negative_offset: PrimCol<Int32Type>,
    negative: NumList<UInt64Type>,
    quantiles: ListCol,
    quantile: PrimCol<Float64Type>,
    quantile_value: PrimCol<Float64Type>,
    exemplars: ListCol,
    ex_time: PrimCol<TimestampNanosecondType>,
    ex_double: PrimCol<Float64Type>,
    ex_int: PrimCol<Int64Type>,
    ex_span_id: IdCol<8>,
    ex_trace_id: IdCol<16>,
    ex_attributes: MapCol,
}

impl Default for MetricsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            ctx: Context::default(),
            metric: MetricCols::default(),
            metric_data: None,
            rows_metric: MetricCols::default(),
            metric_run: 0,
            next_metric_id: 0,
            start_time: PrimCol::default(),
            time: PrimCol::default(),
            attributes: MapCol::default(),
            flags: PrimCol::default(),
            value_double: PrimCol::default(),
            value_int: PrimCol::default(),
            count: PrimCol::default(),
            sum: PrimCol::default(),
            min: PrimCol::default(),
            max: PrimCol::default(),
            bucket_counts: NumList::default(),
            explicit_bounds: NumList::default(),
            scale: PrimCol::default(),
            zero_count: PrimCol::default(),
            zero_threshold: PrimCol::default(),
            positive_offset: PrimCol::default(),
            positive: NumList::default(),
            negative_offset: PrimCol::default(),
            negative: NumList::default(),
            quantiles: ListCol::default(),
            quantile: PrimCol::default(),
            quantile_value: PrimCol::default(),
            exemplars: ListCol::default(),
            ex_time: PrimCol::default(),
            ex_double: PrimCol::default(),
            ex_int: PrimCol::default(),
            ex_span_id: IdCol::default(),
            ex_trace_id: IdCol::default(),
            ex_attributes: MapCol::default(),
        }
    }

    /// An empty builder whose batches carry the resource and scope attribute maps run-end encoded (see
    /// [`FlatBuilder::run_encoded`](super::FlatBuilder::run_encoded)).
    pub(crate) fn run_encoded() -> Self {
        Self {
            ctx: Context::run_encoded(),
            ..Self::new()
        }
    }

    /// The schema of the batches this builder produces.
    pub fn schema(&self) -> SchemaRef {
        schema()
    }

    context_methods!("data point", "ResourceMetrics");

    fn flush_metric_run(&mut self) {
        if self.metric_run > 0 {
            self.rows_metric.extend_n(&self.metric, self.metric_run);
            self.metric_run = 0;
        }
    }

    /// Starts describing a metric of the current scope.
    pub fn begin_metric(&mut self) {
        self.flush_metric_run();
        self.metric.truncate(0);
        self.metric_data = None;
    }

    /// Adds a metadata entry to the metric being described.
    pub fn metric_metadata(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.flush_metric_run();
        self.metric.metadata.push_entry(key, value, key_strindex)
    }

    /// Ends the metric: the points appended from now on belong to it.
    pub fn end_metric(&mut self, info: &MetricInfo<'_>) {
        self.flush_metric_run();
        let m = &mut self.metric;
        if m.id.len() > 0 {
            m.truncate(0);
        }
        m.id.push(self.next_metric_id);
        self.next_metric_id = self.next_metric_id.wrapping_add(1);
        m.name.push(info.name.as_bytes());
        m.kind.push(info.data.type_name().as_bytes());
        m.unit.push(info.unit.as_bytes());
        m.description.push(info.description.as_bytes());
        m.metadata.close_row();
        match info.data {
            MetricData::Gauge | MetricData::Summary => {
                m.temporality.push_null();
                m.monotonic.push_null();
            }
            MetricData::Sum {
                aggregation_temporality,
                is_monotonic,
            } => {
                m.temporality.push(aggregation_temporality);
                m.monotonic.push(is_monotonic);
            }
            MetricData::Histogram {
                aggregation_temporality,
            }
            | MetricData::ExponentialHistogram {
                aggregation_temporality,
            } => {
                m.temporality.push(aggregation_temporality);
                m.monotonic.push_null();
            }
        }
        self.metric_data = Some(info.data);
    }

    /// Adds an attribute to the data point being built.
    #[inline]
    pub fn point_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.attributes.push_entry(key, value, key_strindex)
    }

    /// Adds a filtered attribute to the exemplar being built.
    pub fn exemplar_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.ex_attributes.push_entry(key, value, key_strindex)
    }

    /// Ends an exemplar of the point being built; an id of the wrong length drops it.
    pub fn end_exemplar(&mut self, exemplar: &ExemplarInfo<'_>) -> Result<(), Error> {
        let checked = IdCol::<8>::check(exemplar.span_id, "exemplars.span_id")
            .and_then(|()| IdCol::<16>::check(exemplar.trace_id, "exemplars.trace_id"));
        if let Err(e) = checked {
            self.ex_attributes.discard_open();
            return Err(e);
        }
        self.ex_time.push_opt(to_timestamp(exemplar.time_unix_nano));
        push_number(&mut self.ex_double, &mut self.ex_int, exemplar.value);
        self.ex_span_id.push_checked(exemplar.span_id);
        self.ex_trace_id.push_checked(exemplar.trace_id);
        self.ex_attributes.close_row();
        Ok(())
    }

    /// Ends the data point: one row with the attributes and exemplars appended since the
    /// previous point. A point of another kind than its metric's is an error and is
    /// dropped, as is a point before any metric.
    pub fn end_point(&mut self, times: &PointTimes, data: &PointData<'_>) -> Result<(), Error> {
        let fits = matches!(
            (self.metric_data, data),
            (
                Some(MetricData::Gauge | MetricData::Sum { .. }),
                PointData::Number(_)
            ) | (
                Some(MetricData::Histogram { .. }),
                PointData::Histogram { .. }
            ) | (
                Some(MetricData::ExponentialHistogram { .. }),
                PointData::ExponentialHistogram { .. }
            ) | (Some(MetricData::Summary), PointData::Summary { .. })
        );
        if !fits {
            self.discard_open_point();
            return Err(Error::InvalidData {
                table: "metrics",
                reason: format!(
                    "a {} point does not belong to a {} metric",
                    point_kind(data),
                    self.metric_data.map_or("missing", MetricData::type_name)
                ),
            });
        }
        self.ctx.item();
        self.metric_run += 1;
        self.start_time
            .push_opt(to_timestamp(times.start_time_unix_nano));
        self.time.push_opt(to_timestamp(times.time_unix_nano));
        self.attributes.close_row();
        self.flags.push(times.flags);
        self.exemplars.close(self.ex_time.len());
        let (mut number, mut count, mut sum, mut min, mut max) = (None, None, None, None, None);
        let (mut buckets, mut bounds, mut quantiles) = (None, None, None);
        let mut exponential = None;
        match *data {
            PointData::Number(value) => number = value,
            PointData::Histogram {
                count: c,
                sum: s,
                bucket_counts,
                explicit_bounds,
                min: lo,
                max: hi,
            } => {
                (count, sum, min, max) = (Some(c), s, lo, hi);
                (buckets, bounds) = (Some(bucket_counts), Some(explicit_bounds));
            }
            PointData::ExponentialHistogram {
                count: c,
                sum: s,
                scale,
                zero_count,
                positive,
                negative,
                min: lo,
                max: hi,
                zero_threshold,
            } => {
                (count, sum, min, max) = (Some(c), s, lo, hi);
                exponential = Some((scale, zero_count, zero_threshold, positive, negative));
            }
            PointData::Summary {
                count: c,
                sum: s,
                quantile_values,
            } => {
                (count, sum) = (Some(c), Some(s));
                quantiles = Some(quantile_values);
            }
        }
        push_number(&mut self.value_double, &mut self.value_int, number);
        self.count.push_opt(count);
        self.sum.push_opt(sum);
        self.min.push_opt(min);
        self.max.push_opt(max);
        match buckets {
            Some(b) => self.bucket_counts.push(b),
            None => self.bucket_counts.push_null(),
        }
        match bounds {
            Some(b) => self.explicit_bounds.push(b),
            None => self.explicit_bounds.push_null(),
        }
        match exponential {
            Some((scale, zero_count, zero_threshold, positive, negative)) => {
                self.scale.push(scale);
                self.zero_count.push(zero_count);
                self.zero_threshold.push(zero_threshold);
                push_buckets(&mut self.positive_offset, &mut self.positive, positive);
                push_buckets(&mut self.negative_offset, &mut self.negative, negative);
            }
            None => {
                self.scale.push_null();
                self.zero_count.push_null();
                self.zero_threshold.push_null();
                push_buckets(&mut self.positive_offset, &mut self.positive, None);
                push_buckets(&mut self.negative_offset, &mut self.negative, None);
            }
        }
        match quantiles {
            Some(q) => {
                for (quantile, value) in q {
                    self.quantile.push(*quantile);
                    self.quantile_value.push(*value);
                }
                self.quantiles.close(self.quantile.len());
            }
            None => self.quantiles.close_null(),
        }
        Ok(())
    }

    fn discard_open_point(&mut self) {
        self.attributes.discard_open();
        let exemplars = self.exemplars.open_start();
        self.ex_time.truncate(exemplars);
        self.ex_double.truncate(exemplars);
        self.ex_int.truncate(exemplars);
        self.ex_span_id.truncate(exemplars);
        self.ex_trace_id.truncate(exemplars);
        self.ex_attributes.truncate(exemplars);
    }

    fn truncate(&mut self, rows: usize) {
        self.discard_open_point();
        self.ctx.truncate_rows(rows);
        self.flush_metric_run();
        self.rows_metric.truncate(rows);
        self.start_time.truncate(rows);
        self.time.truncate(rows);
        self.attributes.truncate(rows);
        self.flags.truncate(rows);
        self.value_double.truncate(rows);
        self.value_int.truncate(rows);
        self.count.truncate(rows);
        self.sum.truncate(rows);
        self.min.truncate(rows);
        self.max.truncate(rows);
        self.bucket_counts.truncate(rows);
        self.explicit_bounds.truncate(rows);
        self.scale.truncate(rows);
        self.zero_count.truncate(rows);
        self.zero_threshold.truncate(rows);
        self.positive_offset.truncate(rows);
        self.positive.truncate(rows);
        self.negative_offset.truncate(rows);
        self.negative.truncate(rows);
        self.quantiles.truncate(rows);
        let q = self.quantiles.open_start();
        self.quantile.truncate(q);
        self.quantile_value.truncate(q);
        self.exemplars.truncate(rows);
        self.discard_open_point();
    }

    /// The data points appended so far as a record batch; see
    /// [`TracesBuilder::finish`](super::TracesBuilder::finish).
    pub fn finish(&mut self) -> Result<RecordBatch, Error> {
        let result = self.finish_columns();
        if result.is_err() {
            self.truncate(0);
            self.ctx.clear_rows();
        }
        result
    }

    fn finish_columns(&mut self) -> Result<RecordBatch, Error> {
        let ctx = self.ctx.finish()?;
        self.flush_metric_run();
        let m = &mut self.rows_metric;
        let ts = timestamp_type();
        let quantiles = StructArray::try_new(
            quantile_fields(),
            vec![self.quantile.finish()?, self.quantile_value.finish()?],
            None,
        )?;
        let exemplars = StructArray::try_new(
            exemplar_fields(),
            vec![
                self.ex_time.finish_as(Some(&ts))?,
                self.ex_double.finish()?,
                self.ex_int.finish()?,
                self.ex_span_id.finish()?,
                self.ex_trace_id.finish()?,
                self.ex_attributes.finish("exemplars.filtered_attributes")?,
            ],
            None,
        )?;
        let mut columns: Vec<ArrayRef> = vec![
            self.start_time.finish_as(Some(&ts))?,
            self.time.finish_as(Some(&ts))?,
        ];
        columns.extend(ctx.leading);
        columns.extend([
            m.name.finish_utf8(mc::METRIC_NAME)?,
            m.kind.finish_utf8(mc::METRIC_TYPE)?,
            m.unit.finish_utf8(mc::METRIC_UNIT)?,
            m.description.finish_utf8(mc::METRIC_DESCRIPTION)?,
            m.metadata.finish(mc::METRIC_METADATA)?,
            m.temporality.finish()?,
            m.monotonic.finish()?,
            self.attributes.finish(col::ATTRIBUTES)?,
            self.flags.finish()?,
            self.value_double.finish()?,
            self.value_int.finish()?,
            self.count.finish()?,
            self.sum.finish()?,
            self.min.finish()?,
            self.max.finish()?,
            self.bucket_counts.finish(mc::BUCKET_COUNTS, u64_item())?,
            self.explicit_bounds
                .finish(mc::EXPLICIT_BOUNDS, f64_item())?,
            self.scale.finish()?,
            self.zero_count.finish()?,
            self.zero_threshold.finish()?,
            self.positive_offset.finish()?,
            self.positive
                .finish(mc::POSITIVE_BUCKET_COUNTS, u64_item())?,
            self.negative_offset.finish()?,
            self.negative
                .finish(mc::NEGATIVE_BUCKET_COUNTS, u64_item())?,
            self.quantiles
                .finish(mc::QUANTILE_VALUES, quantile_item(), Arc::new(quantiles))?,
            self.exemplars
                .finish(mc::EXEMPLARS, exemplar_item(), Arc::new(exemplars))?,
            m.id.finish()?,
        ]);
        columns.extend(ctx.trailing);
        Ok(RecordBatch::try_new(
            self.ctx.batch_schema(schema()),
            columns,
        )?)
    }
}

fn point_kind(data: &PointData<'_>) -> &'static str {
    match data {
        PointData::Number(_) => "number",
        PointData::Histogram { .. } => "histogram",
        PointData::ExponentialHistogram { .. } => "exponential histogram",
        PointData::Summary { .. } => "summary",
    }
}

fn push_number(
    double: &mut PrimCol<Float64Type>,
    int: &mut PrimCol<Int64Type>,
    value: Option<NumberValue>,
) {
    match value {
        Some(NumberValue::Double(d)) => {
            double.push(d);
            int.push_null();
        }
        Some(NumberValue::Int(i)) => {
            double.push_null();
            int.push(i);
        }
        None => {
            double.push_null();
            int.push_null();
        }
    }
}

fn push_buckets(
    offset: &mut PrimCol<Int32Type>,
    counts: &mut NumList<UInt64Type>,
    buckets: Option<(i32, &[u64])>,
) {
    match buckets {
        Some((o, c)) => {
            offset.push(o);
            counts.push(c);
        }
        None => {
            offset.push_null();
            counts.push_null();
        }
    }
}
