//! Data points from decoded requests: [`MetricsBuilder`] driven by a prost
//! `ExportMetricsServiceRequest` tree. Encoded requests are read in place (`wire.rs`).

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, Sum, Summary, SummaryDataPoint, exemplar,
    exponential_histogram_data_point, metric, number_data_point,
};

use super::{
    ExemplarInfo, MetricData, MetricInfo, MetricsBuilder, NumberValue, PointData, PointTimes,
};
use crate::Error;
use crate::flat::value::ValueRef;

impl MetricsBuilder {
    /// Appends every data point of `request`. On error nothing of the request is kept.
    pub fn append_request(&mut self, request: &ExportMetricsServiceRequest) -> Result<(), Error> {
        let rows = self.len();
        let result = self.append_all(request);
        if result.is_err() {
            self.truncate(rows);
        }
        result
    }

    fn append_all(&mut self, request: &ExportMetricsServiceRequest) -> Result<(), Error> {
        for rm in &request.resource_metrics {
            self.ctx
                .append_resource(rm.resource.as_ref(), &rm.schema_url)?;
            for sm in &rm.scope_metrics {
                self.ctx.append_scope(sm.scope.as_ref(), &sm.schema_url)?;
                for m in &sm.metrics {
                    self.append_metric(m)?;
                }
            }
        }
        Ok(())
    }

    fn append_metric(&mut self, m: &Metric) -> Result<(), Error> {
        let data = match &m.data {
            None => return Ok(()),
            Some(metric::Data::Gauge(_)) => MetricData::Gauge,
            Some(metric::Data::Sum(s)) => MetricData::Sum {
                aggregation_temporality: s.aggregation_temporality,
                is_monotonic: s.is_monotonic,
            },
            Some(metric::Data::Histogram(h)) => MetricData::Histogram {
                aggregation_temporality: h.aggregation_temporality,
            },
            Some(metric::Data::ExponentialHistogram(h)) => MetricData::ExponentialHistogram {
                aggregation_temporality: h.aggregation_temporality,
            },
            Some(metric::Data::Summary(_)) => MetricData::Summary,
        };
        self.begin_metric();
        for kv in &m.metadata {
            self.metric_metadata(&kv.key, ValueRef::of(kv.value.as_ref()), kv.key_strindex)?;
        }
        self.end_metric(&MetricInfo {
            name: &m.name,
            description: &m.description,
            unit: &m.unit,
            data,
        });
        let mut scratch: Vec<(f64, f64)> = Vec::new();
        match &m.data {
            Some(metric::Data::Gauge(Gauge { data_points }))
            | Some(metric::Data::Sum(Sum { data_points, .. })) => {
                for p in data_points {
                    self.append_number_point(p)?;
                }
            }
            Some(metric::Data::Histogram(Histogram { data_points, .. })) => {
                for p in data_points {
                    self.append_histogram_point(p)?;
                }
            }
            Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points, ..
            })) => {
                for p in data_points {
                    self.append_exp_point(p)?;
                }
            }
            Some(metric::Data::Summary(Summary { data_points })) => {
                for p in data_points {
                    self.append_summary_point(p, &mut scratch)?;
                }
            }
            None => {}
        }
        Ok(())
    }

    fn point_children(
        &mut self,
        attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue],
        exemplars: &[Exemplar],
    ) -> Result<(), Error> {
        let result = (|| {
            for kv in attributes {
                self.point_attribute(&kv.key, ValueRef::of(kv.value.as_ref()), kv.key_strindex)?;
            }
            for e in exemplars {
                for kv in &e.filtered_attributes {
                    self.exemplar_attribute(
                        &kv.key,
                        ValueRef::of(kv.value.as_ref()),
                        kv.key_strindex,
                    )?;
                }
                self.end_exemplar(&ExemplarInfo {
                    time_unix_nano: e.time_unix_nano,
                    value: e.value.map(|v| match v {
                        exemplar::Value::AsDouble(d) => NumberValue::Double(d),
                        exemplar::Value::AsInt(i) => NumberValue::Int(i),
                    }),
                    span_id: &e.span_id,
                    trace_id: &e.trace_id,
                })?;
            }
            Ok(())
        })();
        if result.is_err() {
            self.discard_open_point();
        }
        result
    }

    fn append_number_point(&mut self, p: &NumberDataPoint) -> Result<(), Error> {
        self.point_children(&p.attributes, &p.exemplars)?;
        self.end_point(
            &PointTimes {
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                flags: p.flags,
            },
            &PointData::Number(p.value.map(|v| match v {
                number_data_point::Value::AsDouble(d) => NumberValue::Double(d),
                number_data_point::Value::AsInt(i) => NumberValue::Int(i),
            })),
        )
    }

    fn append_histogram_point(&mut self, p: &HistogramDataPoint) -> Result<(), Error> {
        self.point_children(&p.attributes, &p.exemplars)?;
        self.end_point(
            &PointTimes {
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                flags: p.flags,
            },
            &PointData::Histogram {
                count: p.count,
                sum: p.sum,
                bucket_counts: &p.bucket_counts,
                explicit_bounds: &p.explicit_bounds,
                min: p.min,
                max: p.max,
            },
        )
    }

    fn append_exp_point(&mut self, p: &ExponentialHistogramDataPoint) -> Result<(), Error> {
        self.point_children(&p.attributes, &p.exemplars)?;
        fn buckets(b: &Option<exponential_histogram_data_point::Buckets>) -> Option<(i32, &[u64])> {
            b.as_ref().map(|b| (b.offset, b.bucket_counts.as_slice()))
        }
        self.end_point(
            &PointTimes {
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                flags: p.flags,
            },
            &PointData::ExponentialHistogram {
                count: p.count,
                sum: p.sum,
                scale: p.scale,
                zero_count: p.zero_count,
                positive: buckets(&p.positive),
                negative: buckets(&p.negative),
                min: p.min,
                max: p.max,
                zero_threshold: p.zero_threshold,
            },
        )
    }

    fn append_summary_point(
        &mut self,
        p: &SummaryDataPoint,
        scratch: &mut Vec<(f64, f64)>,
    ) -> Result<(), Error> {
        self.point_children(&p.attributes, &[])?;
        scratch.clear();
        scratch.extend(p.quantile_values.iter().map(|q| (q.quantile, q.value)));
        self.end_point(
            &PointTimes {
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                flags: p.flags,
            },
            &PointData::Summary {
                count: p.count,
                sum: p.sum,
                quantile_values: scratch,
            },
        )
    }
}
