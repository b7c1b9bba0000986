//! Metrics: `metrics`, `metric_metadata`, one table per data point kind, `point_attrs`,
//! `exemplars` and `exemplar_attrs`.

use arrow::array::StructArray;
use arrow::datatypes::SchemaRef;
use arrow::datatypes::{Float64Type, Int32Type, Int64Type, UInt8Type, UInt32Type, UInt64Type};
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point, metric, number_data_point,
    summary_data_point,
};

use crate::columns::{
    BoolCol, DictMode, IdCol, ListCol, ParentCol, PrimCol, StrCol, Table, envelope,
};
use crate::common::{
    AttrReader, AttrTable, COMMON_TABLES, CommonTables, Nested, NestedReader, decode_common,
};
use crate::read::{Bools, Groups, Ids, Prim, PrimList, Strs, row_id, tables};
use crate::{Error, Signal};

const METRIC_TABLES: [&str; 15] = [
    COMMON_TABLES[0],
    COMMON_TABLES[1],
    COMMON_TABLES[2],
    COMMON_TABLES[3],
    COMMON_TABLES[4],
    COMMON_TABLES[5],
    "metrics",
    "metric_metadata",
    "number_points",
    "histogram_points",
    "exp_histogram_points",
    "summary_points",
    "point_attrs",
    "exemplars",
    "exemplar_attrs",
];

mod data_type {
    pub const NONE: u8 = 0;
    pub const GAUGE: u8 = 1;
    pub const SUM: u8 = 2;
    pub const HISTOGRAM: u8 = 3;
    pub const EXP_HISTOGRAM: u8 = 4;
    pub const SUMMARY: u8 = 5;
}

mod value_type {
    pub const NONE: u8 = 0;
    pub const DOUBLE: u8 = 1;
    pub const INT: u8 = 2;
}

/// Columns every point table starts with.
struct PointBase {
    parent: ParentCol,
    point_id: PrimCol<UInt32Type>,
    last_point: u32,
    start: PrimCol<UInt64Type>,
    time: PrimCol<UInt64Type>,
    flags: PrimCol<UInt32Type>,
}

impl PointBase {
    fn new() -> Self {
        Self {
            parent: ParentCol::new(),
            point_id: PrimCol::new("point_id", false),
            last_point: 0,
            start: PrimCol::new("start_time_unix_nano", false),
            time: PrimCol::new("time_unix_nano", false),
            flags: PrimCol::new("flags", false),
        }
    }
    fn push(&mut self, metric: u32, point: u32, start: u64, time: u64, flags: u32) {
        self.parent.push(metric);
        self.point_id.push(point.wrapping_sub(self.last_point));
        self.last_point = point;
        self.start.push(start);
        self.time.push(time);
        self.flags.push(flags);
    }
    fn discard_rows(&mut self) {
        self.parent.discard_rows();
        self.point_id.discard_rows();
        self.last_point = 0;
        self.start.discard_rows();
        self.time.discard_rows();
        self.flags.discard_rows();
    }
    fn finish(&mut self, t: &mut Table) {
        self.parent.finish(t);
        self.point_id.finish(t);
        self.last_point = 0;
        self.start.finish(t);
        self.time.finish(t);
        self.flags.finish(t);
    }
}

/// Converts [`ExportMetricsServiceRequest`]s to record batches of the normalized layout
/// (see [`TracesEncoder`](crate::TracesEncoder) for the dictionary behaviour).
pub struct MetricsEncoder {
    mode: DictMode,
    /// The last batch's schema, reused while the columns' types stay the same.
    schema: Option<SchemaRef>,
    common: CommonTables,
    m_parent: ParentCol,
    m_name: StrCol,
    m_description: StrCol,
    m_unit: StrCol,
    m_type: PrimCol<UInt8Type>,
    m_temporality: PrimCol<Int32Type>,
    m_monotonic: BoolCol,
    metadata: AttrTable,
    num: PointBase,
    num_type: PrimCol<UInt8Type>,
    num_double: PrimCol<Float64Type>,
    num_int: PrimCol<Int64Type>,
    hist: PointBase,
    hist_count: PrimCol<UInt64Type>,
    hist_sum: PrimCol<Float64Type>,
    hist_buckets: ListCol<UInt64Type>,
    hist_bounds: ListCol<Float64Type>,
    hist_min: PrimCol<Float64Type>,
    hist_max: PrimCol<Float64Type>,
    exp: PointBase,
    exp_count: PrimCol<UInt64Type>,
    exp_sum: PrimCol<Float64Type>,
    exp_scale: PrimCol<Int32Type>,
    exp_zero_count: PrimCol<UInt64Type>,
    exp_zero_threshold: PrimCol<Float64Type>,
    exp_pos_present: BoolCol,
    exp_pos_offset: PrimCol<Int32Type>,
    exp_pos_counts: ListCol<UInt64Type>,
    exp_neg_present: BoolCol,
    exp_neg_offset: PrimCol<Int32Type>,
    exp_neg_counts: ListCol<UInt64Type>,
    exp_min: PrimCol<Float64Type>,
    exp_max: PrimCol<Float64Type>,
    sum: PointBase,
    sum_count: PrimCol<UInt64Type>,
    sum_sum: PrimCol<Float64Type>,
    sum_quantiles: ListCol<Float64Type>,
    sum_values: ListCol<Float64Type>,
    point_attrs: AttrTable,
    ex_parent: ParentCol,
    ex_time: PrimCol<UInt64Type>,
    ex_type: PrimCol<UInt8Type>,
    ex_double: PrimCol<Float64Type>,
    ex_int: PrimCol<Int64Type>,
    ex_span_id: IdCol,
    ex_trace_id: IdCol,
    exemplar_attrs: AttrTable,
}

impl Default for MetricsEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MetricsEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEncoder")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Row counters while encoding one request.
#[derive(Default)]
struct Rows {
    metric: u32,
    point: u32,
    exemplar: u32,
}

impl MetricsEncoder {
    /// An encoder whose batches each carry their own, narrowest dictionaries.
    pub fn new() -> Self {
        Self::with_mode(DictMode::Adaptive)
    }

    pub(crate) fn with_mode(mode: DictMode) -> Self {
        Self {
            mode,
            schema: None,
            common: CommonTables::new(),
            m_parent: ParentCol::new(),
            m_name: StrCol::new("name", false),
            m_description: StrCol::new("description", false),
            m_unit: StrCol::new("unit", false),
            m_type: PrimCol::new("data_type", false),
            m_temporality: PrimCol::new("aggregation_temporality", false),
            m_monotonic: BoolCol::new("is_monotonic", false),
            metadata: AttrTable::new(),
            num: PointBase::new(),
            num_type: PrimCol::new("value_type", false),
            num_double: PrimCol::new("double", true),
            num_int: PrimCol::new("int", true),
            hist: PointBase::new(),
            hist_count: PrimCol::new("count", false),
            hist_sum: PrimCol::new("sum", true),
            hist_buckets: ListCol::new("bucket_counts"),
            hist_bounds: ListCol::new("explicit_bounds"),
            hist_min: PrimCol::new("min", true),
            hist_max: PrimCol::new("max", true),
            exp: PointBase::new(),
            exp_count: PrimCol::new("count", false),
            exp_sum: PrimCol::new("sum", true),
            exp_scale: PrimCol::new("scale", false),
            exp_zero_count: PrimCol::new("zero_count", false),
            exp_zero_threshold: PrimCol::new("zero_threshold", false),
            exp_pos_present: BoolCol::new("positive_present", false),
            exp_pos_offset: PrimCol::new("positive_offset", false),
            exp_pos_counts: ListCol::new("positive_bucket_counts"),
            exp_neg_present: BoolCol::new("negative_present", false),
            exp_neg_offset: PrimCol::new("negative_offset", false),
            exp_neg_counts: ListCol::new("negative_bucket_counts"),
            exp_min: PrimCol::new("min", true),
            exp_max: PrimCol::new("max", true),
            sum: PointBase::new(),
            sum_count: PrimCol::new("count", false),
            sum_sum: PrimCol::new("sum", false),
            sum_quantiles: ListCol::new("quantiles"),
            sum_values: ListCol::new("quantile_values"),
            point_attrs: AttrTable::new(),
            ex_parent: ParentCol::new(),
            ex_time: PrimCol::new("time_unix_nano", false),
            ex_type: PrimCol::new("value_type", false),
            ex_double: PrimCol::new("double", true),
            ex_int: PrimCol::new("int", true),
            ex_span_id: IdCol::new("span_id", 8),
            ex_trace_id: IdCol::new("trace_id", 16),
            exemplar_attrs: AttrTable::new(),
        }
    }

    /// Converts one request to one record batch (one envelope row).
    pub fn encode(&mut self, request: &ExportMetricsServiceRequest) -> Result<RecordBatch, Error> {
        let result = self.push_request(request).and_then(|()| self.finish());
        if result.is_err() {
            self.discard_rows();
        }
        result
    }

    /// Forgets all dictionaries (the next batch starts a new IPC stream).
    pub fn reset(&mut self) {
        self.discard_rows();
        self.common.reset();
        self.m_name.reset();
        self.m_description.reset();
        self.m_unit.reset();
        self.metadata.reset();
        self.point_attrs.reset();
        self.exemplar_attrs.reset();
    }

    fn push_request(&mut self, request: &ExportMetricsServiceRequest) -> Result<(), Error> {
        let mut nested = Nested::default();
        let mut rows = Rows::default();
        for rm in &request.resource_metrics {
            let resource =
                self.common
                    .push_resource(rm.resource.as_ref(), &rm.schema_url, &mut nested);
            for sm in &rm.scope_metrics {
                let scope = self.common.push_scope(
                    resource,
                    sm.scope.as_ref(),
                    &sm.schema_url,
                    &mut nested,
                );
                for m in &sm.metrics {
                    self.push_metric(scope, m, &mut rows, &mut nested)?;
                }
            }
        }
        self.common.values.drain(&mut nested);
        Ok(())
    }

    fn push_metric<'a>(
        &mut self,
        scope: u32,
        m: &'a Metric,
        rows: &mut Rows,
        nested: &mut Nested<'a>,
    ) -> Result<(), Error> {
        let metric = rows.metric;
        rows.metric += 1;
        self.m_parent.push(scope);
        self.m_name.push(&m.name);
        self.m_description.push(&m.description);
        self.m_unit.push(&m.unit);
        self.metadata.push(metric, &m.metadata, nested);
        let (ty, temporality, monotonic) = match &m.data {
            None => (data_type::NONE, 0, false),
            Some(metric::Data::Gauge(g)) => {
                for p in &g.data_points {
                    self.push_number(metric, p, rows, nested)?;
                }
                (data_type::GAUGE, 0, false)
            }
            Some(metric::Data::Sum(s)) => {
                for p in &s.data_points {
                    self.push_number(metric, p, rows, nested)?;
                }
                (data_type::SUM, s.aggregation_temporality, s.is_monotonic)
            }
            Some(metric::Data::Histogram(h)) => {
                for p in &h.data_points {
                    let point = rows.point;
                    self.hist.push(
                        metric,
                        point,
                        p.start_time_unix_nano,
                        p.time_unix_nano,
                        p.flags,
                    );
                    self.hist_count.push(p.count);
                    self.hist_sum.push_opt(p.sum);
                    self.hist_buckets.push(p.bucket_counts.iter().copied());
                    self.hist_bounds.push(p.explicit_bounds.iter().copied());
                    self.hist_min.push_opt(p.min);
                    self.hist_max.push_opt(p.max);
                    self.push_point_children(point, &p.attributes, &p.exemplars, rows, nested)?;
                }
                (data_type::HISTOGRAM, h.aggregation_temporality, false)
            }
            Some(metric::Data::ExponentialHistogram(h)) => {
                for p in &h.data_points {
                    let point = rows.point;
                    self.exp.push(
                        metric,
                        point,
                        p.start_time_unix_nano,
                        p.time_unix_nano,
                        p.flags,
                    );
                    self.exp_count.push(p.count);
                    self.exp_sum.push_opt(p.sum);
                    self.exp_scale.push(p.scale);
                    self.exp_zero_count.push(p.zero_count);
                    self.exp_zero_threshold.push(p.zero_threshold);
                    self.exp_pos_present.push(p.positive.is_some());
                    self.exp_pos_offset
                        .push(p.positive.as_ref().map_or(0, |b| b.offset));
                    self.exp_pos_counts.push(
                        p.positive
                            .iter()
                            .flat_map(|b| b.bucket_counts.iter().copied()),
                    );
                    self.exp_neg_present.push(p.negative.is_some());
                    self.exp_neg_offset
                        .push(p.negative.as_ref().map_or(0, |b| b.offset));
                    self.exp_neg_counts.push(
                        p.negative
                            .iter()
                            .flat_map(|b| b.bucket_counts.iter().copied()),
                    );
                    self.exp_min.push_opt(p.min);
                    self.exp_max.push_opt(p.max);
                    self.push_point_children(point, &p.attributes, &p.exemplars, rows, nested)?;
                }
                (data_type::EXP_HISTOGRAM, h.aggregation_temporality, false)
            }
            Some(metric::Data::Summary(s)) => {
                for p in &s.data_points {
                    let point = rows.point;
                    self.sum.push(
                        metric,
                        point,
                        p.start_time_unix_nano,
                        p.time_unix_nano,
                        p.flags,
                    );
                    self.sum_count.push(p.count);
                    self.sum_sum.push(p.sum);
                    self.sum_quantiles
                        .push(p.quantile_values.iter().map(|q| q.quantile));
                    self.sum_values
                        .push(p.quantile_values.iter().map(|q| q.value));
                    self.push_point_children(point, &p.attributes, &[], rows, nested)?;
                }
                (data_type::SUMMARY, 0, false)
            }
        };
        self.m_type.push(ty);
        self.m_temporality.push(temporality);
        self.m_monotonic.push(monotonic);
        Ok(())
    }

    fn push_number<'a>(
        &mut self,
        metric: u32,
        p: &'a NumberDataPoint,
        rows: &mut Rows,
        nested: &mut Nested<'a>,
    ) -> Result<(), Error> {
        let point = rows.point;
        self.num.push(
            metric,
            point,
            p.start_time_unix_nano,
            p.time_unix_nano,
            p.flags,
        );
        let (ty, d, i) = match p.value {
            None => (value_type::NONE, None, None),
            Some(number_data_point::Value::AsDouble(d)) => (value_type::DOUBLE, Some(d), None),
            Some(number_data_point::Value::AsInt(i)) => (value_type::INT, None, Some(i)),
        };
        self.num_type.push(ty);
        self.num_double.push_opt(d);
        self.num_int.push_opt(i);
        self.push_point_children(point, &p.attributes, &p.exemplars, rows, nested)
    }

    fn push_point_children<'a>(
        &mut self,
        point: u32,
        attributes: &'a [KeyValue],
        exemplars: &'a [Exemplar],
        rows: &mut Rows,
        nested: &mut Nested<'a>,
    ) -> Result<(), Error> {
        self.point_attrs.push(point, attributes, nested);
        for e in exemplars {
            self.ex_parent.push(point);
            self.ex_time.push(e.time_unix_nano);
            let (ty, d, i) = match e.value {
                None => (value_type::NONE, None, None),
                Some(exemplar::Value::AsDouble(d)) => (value_type::DOUBLE, Some(d), None),
                Some(exemplar::Value::AsInt(i)) => (value_type::INT, None, Some(i)),
            };
            self.ex_type.push(ty);
            self.ex_double.push_opt(d);
            self.ex_int.push_opt(i);
            self.ex_span_id.push(&e.span_id)?;
            self.ex_trace_id.push(&e.trace_id)?;
            self.exemplar_attrs
                .push(rows.exemplar, &e.filtered_attributes, nested);
            rows.exemplar += 1;
        }
        rows.point += 1;
        Ok(())
    }

    fn discard_rows(&mut self) {
        self.common.discard_rows();
        self.m_parent.discard_rows();
        self.m_name.discard_rows();
        self.m_description.discard_rows();
        self.m_unit.discard_rows();
        self.m_type.discard_rows();
        self.m_temporality.discard_rows();
        self.m_monotonic.discard_rows();
        self.metadata.discard_rows();
        self.num.discard_rows();
        self.num_type.discard_rows();
        self.num_double.discard_rows();
        self.num_int.discard_rows();
        self.hist.discard_rows();
        self.hist_count.discard_rows();
        self.hist_sum.discard_rows();
        self.hist_buckets.discard_rows();
        self.hist_bounds.discard_rows();
        self.hist_min.discard_rows();
        self.hist_max.discard_rows();
        self.exp.discard_rows();
        self.exp_count.discard_rows();
        self.exp_sum.discard_rows();
        self.exp_scale.discard_rows();
        self.exp_zero_count.discard_rows();
        self.exp_zero_threshold.discard_rows();
        self.exp_pos_present.discard_rows();
        self.exp_pos_offset.discard_rows();
        self.exp_pos_counts.discard_rows();
        self.exp_neg_present.discard_rows();
        self.exp_neg_offset.discard_rows();
        self.exp_neg_counts.discard_rows();
        self.exp_min.discard_rows();
        self.exp_max.discard_rows();
        self.sum.discard_rows();
        self.sum_count.discard_rows();
        self.sum_sum.discard_rows();
        self.sum_quantiles.discard_rows();
        self.sum_values.discard_rows();
        self.point_attrs.discard_rows();
        self.ex_parent.discard_rows();
        self.ex_time.discard_rows();
        self.ex_type.discard_rows();
        self.ex_double.discard_rows();
        self.ex_int.discard_rows();
        self.ex_span_id.discard_rows();
        self.ex_trace_id.discard_rows();
        self.exemplar_attrs.discard_rows();
    }

    fn finish(&mut self) -> Result<RecordBatch, Error> {
        let mode = self.mode;
        let mut tables = self.common.finish(mode)?;

        let mut metrics = Table::default();
        self.m_parent.finish(&mut metrics);
        self.m_name.finish(mode, &mut metrics)?;
        self.m_description.finish(mode, &mut metrics)?;
        self.m_unit.finish(mode, &mut metrics)?;
        self.m_type.finish(&mut metrics);
        self.m_temporality.finish(&mut metrics);
        self.m_monotonic.finish(&mut metrics);
        tables.push(("metrics", metrics));
        tables.push(("metric_metadata", self.metadata.finish(mode)?));

        let mut num = Table::default();
        self.num.finish(&mut num);
        self.num_type.finish(&mut num);
        self.num_double.finish(&mut num);
        self.num_int.finish(&mut num);
        tables.push(("number_points", num));

        let mut hist = Table::default();
        self.hist.finish(&mut hist);
        self.hist_count.finish(&mut hist);
        self.hist_sum.finish(&mut hist);
        self.hist_buckets.finish(&mut hist)?;
        self.hist_bounds.finish(&mut hist)?;
        self.hist_min.finish(&mut hist);
        self.hist_max.finish(&mut hist);
        tables.push(("histogram_points", hist));

        let mut exp = Table::default();
        self.exp.finish(&mut exp);
        self.exp_count.finish(&mut exp);
        self.exp_sum.finish(&mut exp);
        self.exp_scale.finish(&mut exp);
        self.exp_zero_count.finish(&mut exp);
        self.exp_zero_threshold.finish(&mut exp);
        self.exp_pos_present.finish(&mut exp);
        self.exp_pos_offset.finish(&mut exp);
        self.exp_pos_counts.finish(&mut exp)?;
        self.exp_neg_present.finish(&mut exp);
        self.exp_neg_offset.finish(&mut exp);
        self.exp_neg_counts.finish(&mut exp)?;
        self.exp_min.finish(&mut exp);
        self.exp_max.finish(&mut exp);
        tables.push(("exp_histogram_points", exp));

        let mut summary = Table::default();
        self.sum.finish(&mut summary);
        self.sum_count.finish(&mut summary);
        self.sum_sum.finish(&mut summary);
        self.sum_quantiles.finish(&mut summary)?;
        self.sum_values.finish(&mut summary)?;
        tables.push(("summary_points", summary));

        tables.push(("point_attrs", self.point_attrs.finish(mode)?));

        let mut exemplars = Table::default();
        self.ex_parent.finish(&mut exemplars);
        self.ex_time.finish(&mut exemplars);
        self.ex_type.finish(&mut exemplars);
        self.ex_double.finish(&mut exemplars);
        self.ex_int.finish(&mut exemplars);
        self.ex_span_id.finish(&mut exemplars)?;
        self.ex_trace_id.finish(&mut exemplars)?;
        tables.push(("exemplars", exemplars));
        tables.push(("exemplar_attrs", self.exemplar_attrs.finish(mode)?));

        envelope(Signal::Metrics, tables, &mut self.schema)
    }
}

/// Converts one request with a fresh [`MetricsEncoder`].
pub fn metrics_to_arrow(request: &ExportMetricsServiceRequest) -> Result<RecordBatch, Error> {
    MetricsEncoder::new().encode(request)
}

/// Converts a record batch of the metrics layout back to one request.
pub fn arrow_to_metrics(batch: &RecordBatch) -> Result<ExportMetricsServiceRequest, Error> {
    crate::check_schema(Signal::Metrics, batch.schema_ref())?;
    let mut resource_metrics = Vec::new();
    for row in 0..batch.num_rows() {
        let tables = tables(batch, row, &METRIC_TABLES)?;
        decode_row(&tables, &mut resource_metrics)?;
    }
    Ok(ExportMetricsServiceRequest { resource_metrics })
}

/// Read side of [`PointBase`].
struct BaseReader<'a> {
    groups: Groups,
    start: Prim<'a, UInt64Type>,
    time: Prim<'a, UInt64Type>,
    flags: Prim<'a, UInt32Type>,
}

impl<'a> BaseReader<'a> {
    fn new(t: &'a StructArray, table: &'static str) -> Result<Self, Error> {
        Ok(Self {
            groups: Groups::new(t, table)?,
            start: Prim::new(t, table, "start_time_unix_nano")?,
            time: Prim::new(t, table, "time_unix_nano")?,
            flags: Prim::new(t, table, "flags")?,
        })
    }
}

/// Point attributes and exemplars, shared by all point kinds.
struct PointChildren<'a> {
    attrs: AttrReader<'a>,
    ex_groups: Groups,
    ex_time: Prim<'a, UInt64Type>,
    ex_type: Prim<'a, UInt8Type>,
    ex_double: Prim<'a, Float64Type>,
    ex_int: Prim<'a, Int64Type>,
    ex_span_id: Ids<'a>,
    ex_trace_id: Ids<'a>,
    ex_attrs: AttrReader<'a>,
    next_point: u32,
}

impl PointChildren<'_> {
    /// Attributes and exemplars of the next point, in point id order.
    fn next(&mut self, values: &NestedReader<'_>) -> Result<(Vec<KeyValue>, Vec<Exemplar>), Error> {
        let point = self.next_point;
        self.next_point = point.checked_add(1).ok_or_else(|| Error::InvalidData {
            table: "point_attrs",
            reason: "more than u32::MAX points".into(),
        })?;
        let attributes = self.attrs.take(point, values)?;
        let mut exemplars = Vec::new();
        for e in self.ex_groups.take(point) {
            let value = match self.ex_type.get(e) {
                value_type::NONE => None,
                value_type::DOUBLE => Some(exemplar::Value::AsDouble(self.ex_double.get(e))),
                value_type::INT => Some(exemplar::Value::AsInt(self.ex_int.get(e))),
                other => {
                    return Err(Error::InvalidData {
                        table: "exemplars",
                        reason: format!("unknown value type {other}"),
                    });
                }
            };
            exemplars.push(Exemplar {
                filtered_attributes: self.ex_attrs.take(row_id(e, "exemplars")?, values)?,
                time_unix_nano: self.ex_time.get(e),
                span_id: self.ex_span_id.get(e),
                trace_id: self.ex_trace_id.get(e),
                value,
            });
        }
        Ok((attributes, exemplars))
    }
}

fn decode_row(tables: &[StructArray], out: &mut Vec<ResourceMetrics>) -> Result<(), Error> {
    let (common, rest) = tables.split_at(COMMON_TABLES.len().min(tables.len()));
    let [
        metrics,
        metadata,
        num,
        hist,
        exp,
        summary,
        point_attrs,
        exemplars,
        exemplar_attrs,
    ] = rest
    else {
        return Err(Error::InvalidData {
            table: "envelope",
            reason: "missing metric tables".into(),
        });
    };
    let (resources, scopes, values) = decode_common(common)?;

    let t = "metrics";
    let mut metric_groups = Groups::new(metrics, t)?;
    let name = Strs::new(metrics, t, "name")?;
    let description = Strs::new(metrics, t, "description")?;
    let unit = Strs::new(metrics, t, "unit")?;
    let ty = Prim::<UInt8Type>::new(metrics, t, "data_type")?;
    let temporality = Prim::<Int32Type>::new(metrics, t, "aggregation_temporality")?;
    let monotonic = Bools::new(metrics, t, "is_monotonic")?;
    let mut metadata = AttrReader::new(metadata, "metric_metadata")?;

    let t = "number_points";
    let mut num_base = BaseReader::new(num, t)?;
    let num_type = Prim::<UInt8Type>::new(num, t, "value_type")?;
    let num_double = Prim::<Float64Type>::new(num, t, "double")?;
    let num_int = Prim::<Int64Type>::new(num, t, "int")?;

    let t = "histogram_points";
    let mut hist_base = BaseReader::new(hist, t)?;
    let hist_count = Prim::<UInt64Type>::new(hist, t, "count")?;
    let hist_sum = Prim::<Float64Type>::new(hist, t, "sum")?;
    let hist_buckets = PrimList::<UInt64Type>::new(hist, t, "bucket_counts")?;
    let hist_bounds = PrimList::<Float64Type>::new(hist, t, "explicit_bounds")?;
    let hist_min = Prim::<Float64Type>::new(hist, t, "min")?;
    let hist_max = Prim::<Float64Type>::new(hist, t, "max")?;

    let t = "exp_histogram_points";
    let mut exp_base = BaseReader::new(exp, t)?;
    let exp_count = Prim::<UInt64Type>::new(exp, t, "count")?;
    let exp_sum = Prim::<Float64Type>::new(exp, t, "sum")?;
    let exp_scale = Prim::<Int32Type>::new(exp, t, "scale")?;
    let exp_zero_count = Prim::<UInt64Type>::new(exp, t, "zero_count")?;
    let exp_zero_threshold = Prim::<Float64Type>::new(exp, t, "zero_threshold")?;
    let exp_pos_present = Bools::new(exp, t, "positive_present")?;
    let exp_pos_offset = Prim::<Int32Type>::new(exp, t, "positive_offset")?;
    let exp_pos_counts = PrimList::<UInt64Type>::new(exp, t, "positive_bucket_counts")?;
    let exp_neg_present = Bools::new(exp, t, "negative_present")?;
    let exp_neg_offset = Prim::<Int32Type>::new(exp, t, "negative_offset")?;
    let exp_neg_counts = PrimList::<UInt64Type>::new(exp, t, "negative_bucket_counts")?;
    let exp_min = Prim::<Float64Type>::new(exp, t, "min")?;
    let exp_max = Prim::<Float64Type>::new(exp, t, "max")?;

    let t = "summary_points";
    let mut sum_base = BaseReader::new(summary, t)?;
    let sum_count = Prim::<UInt64Type>::new(summary, t, "count")?;
    let sum_sum = Prim::<Float64Type>::new(summary, t, "sum")?;
    let sum_quantiles = PrimList::<Float64Type>::new(summary, t, "quantiles")?;
    let sum_values = PrimList::<Float64Type>::new(summary, t, "quantile_values")?;

    let t = "exemplars";
    let mut children = PointChildren {
        attrs: AttrReader::new(point_attrs, "point_attrs")?,
        ex_groups: Groups::new(exemplars, t)?,
        ex_time: Prim::new(exemplars, t, "time_unix_nano")?,
        ex_type: Prim::new(exemplars, t, "value_type")?,
        ex_double: Prim::new(exemplars, t, "double")?,
        ex_int: Prim::new(exemplars, t, "int")?,
        ex_span_id: Ids::new(exemplars, t, "span_id", 8)?,
        ex_trace_id: Ids::new(exemplars, t, "trace_id", 16)?,
        ex_attrs: AttrReader::new(exemplar_attrs, "exemplar_attrs")?,
        next_point: 0,
    };

    let first = out.len();
    out.extend(resources.into_iter().map(|r| ResourceMetrics {
        resource: r.resource,
        scope_metrics: Vec::new(),
        schema_url: r.schema_url,
    }));
    for (scope_row, scope) in scopes.into_iter().enumerate() {
        let rows = metric_groups.take(row_id(scope_row, "scopes")?);
        let mut out_metrics = Vec::with_capacity(rows.len());
        for i in rows {
            let id = row_id(i, "metrics")?;
            let md = metadata.take(id, &values)?;
            let data = match ty.get(i) {
                data_type::NONE => None,
                k @ (data_type::GAUGE | data_type::SUM) => {
                    let mut data_points = Vec::new();
                    for p in num_base.groups.take(id) {
                        let (attributes, exemplars) = children.next(&values)?;
                        let value = match num_type.get(p) {
                            value_type::NONE => None,
                            value_type::DOUBLE => {
                                Some(number_data_point::Value::AsDouble(num_double.get(p)))
                            }
                            value_type::INT => {
                                Some(number_data_point::Value::AsInt(num_int.get(p)))
                            }
                            other => {
                                return Err(Error::InvalidData {
                                    table: "number_points",
                                    reason: format!("unknown value type {other}"),
                                });
                            }
                        };
                        data_points.push(NumberDataPoint {
                            attributes,
                            start_time_unix_nano: num_base.start.get(p),
                            time_unix_nano: num_base.time.get(p),
                            exemplars,
                            flags: num_base.flags.get(p),
                            value,
                        });
                    }
                    if k == data_type::GAUGE {
                        Some(metric::Data::Gauge(Gauge { data_points }))
                    } else {
                        Some(metric::Data::Sum(Sum {
                            data_points,
                            aggregation_temporality: temporality.get(i),
                            is_monotonic: monotonic.opt(i).unwrap_or_default(),
                        }))
                    }
                }
                data_type::HISTOGRAM => {
                    let mut data_points = Vec::new();
                    for p in hist_base.groups.take(id) {
                        let (attributes, exemplars) = children.next(&values)?;
                        data_points.push(HistogramDataPoint {
                            attributes,
                            start_time_unix_nano: hist_base.start.get(p),
                            time_unix_nano: hist_base.time.get(p),
                            count: hist_count.get(p),
                            sum: hist_sum.opt(p),
                            bucket_counts: hist_buckets.get(p),
                            explicit_bounds: hist_bounds.get(p),
                            exemplars,
                            flags: hist_base.flags.get(p),
                            min: hist_min.opt(p),
                            max: hist_max.opt(p),
                        });
                    }
                    Some(metric::Data::Histogram(Histogram {
                        data_points,
                        aggregation_temporality: temporality.get(i),
                    }))
                }
                data_type::EXP_HISTOGRAM => {
                    let mut data_points = Vec::new();
                    for p in exp_base.groups.take(id) {
                        let (attributes, exemplars) = children.next(&values)?;
                        let buckets =
                            |present: &Bools<'_>,
                             offset: &Prim<'_, Int32Type>,
                             counts: &PrimList<'_, UInt64Type>| {
                                present.opt(p).unwrap_or_default().then(|| {
                                    exponential_histogram_data_point::Buckets {
                                        offset: offset.get(p),
                                        bucket_counts: counts.get(p),
                                    }
                                })
                            };
                        data_points.push(ExponentialHistogramDataPoint {
                            attributes,
                            start_time_unix_nano: exp_base.start.get(p),
                            time_unix_nano: exp_base.time.get(p),
                            count: exp_count.get(p),
                            sum: exp_sum.opt(p),
                            scale: exp_scale.get(p),
                            zero_count: exp_zero_count.get(p),
                            positive: buckets(&exp_pos_present, &exp_pos_offset, &exp_pos_counts),
                            negative: buckets(&exp_neg_present, &exp_neg_offset, &exp_neg_counts),
                            flags: exp_base.flags.get(p),
                            exemplars,
                            min: exp_min.opt(p),
                            max: exp_max.opt(p),
                            zero_threshold: exp_zero_threshold.get(p),
                        });
                    }
                    Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                        data_points,
                        aggregation_temporality: temporality.get(i),
                    }))
                }
                data_type::SUMMARY => {
                    let mut data_points = Vec::new();
                    for p in sum_base.groups.take(id) {
                        let (attributes, _) = children.next(&values)?;
                        let quantiles = sum_quantiles.get(p);
                        let qvalues = sum_values.get(p);
                        if quantiles.len() != qvalues.len() {
                            return Err(Error::InvalidData {
                                table: "summary_points",
                                reason: format!(
                                    "row {p} has {} quantiles but {} values",
                                    quantiles.len(),
                                    qvalues.len()
                                ),
                            });
                        }
                        data_points.push(SummaryDataPoint {
                            attributes,
                            start_time_unix_nano: sum_base.start.get(p),
                            time_unix_nano: sum_base.time.get(p),
                            count: sum_count.get(p),
                            sum: sum_sum.get(p),
                            quantile_values: quantiles
                                .into_iter()
                                .zip(qvalues)
                                .map(|(quantile, value)| summary_data_point::ValueAtQuantile {
                                    quantile,
                                    value,
                                })
                                .collect(),
                            flags: sum_base.flags.get(p),
                        });
                    }
                    Some(metric::Data::Summary(Summary { data_points }))
                }
                other => {
                    return Err(Error::InvalidData {
                        table: "metrics",
                        reason: format!("unknown data type {other} at row {i}"),
                    });
                }
            };
            out_metrics.push(Metric {
                name: name.get(i)?,
                description: description.get(i)?,
                unit: unit.get(i)?,
                metadata: md,
                data,
            });
        }
        let Some(rm) = out.get_mut(first + scope.resource as usize) else {
            return Err(Error::InvalidData {
                table: "scopes",
                reason: format!("scope {scope_row} references a missing resource"),
            });
        };
        rm.scope_metrics.push(ScopeMetrics {
            scope: scope.scope,
            metrics: out_metrics,
            schema_url: scope.schema_url,
        });
    }
    metric_groups.finish()?;
    metadata.finish()?;
    num_base.groups.finish()?;
    hist_base.groups.finish()?;
    exp_base.groups.finish()?;
    sum_base.groups.finish()?;
    children.attrs.finish()?;
    children.ex_groups.finish()?;
    children.ex_attrs.finish()?;
    Ok(())
}
