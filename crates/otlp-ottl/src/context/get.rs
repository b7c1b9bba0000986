//! Reading each [`Field`].

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Status;

use super::access::{DataPointMut, unavailable};
use super::convert::*;
use super::{Field, TransformContext};
use crate::error::Result;
use crate::value::{Object, Value};

impl TransformContext<'_> {
    /// Reads `field`.
    pub(crate) fn get_field(&self, field: Field) -> Result<Value<'_>> {
        Ok(match field {
            Field::Cache => Value::Map(Cow::Borrowed(self.cache.as_slice())),
            Field::Resource => match self.resource_ref() {
                Some(r) => object(Object::Resource(Cow::Borrowed(r))),
                None => object(Object::Resource(Cow::Owned(Resource::default()))),
            },
            Field::ResourceAttributes => Value::Map(Cow::Borrowed(
                self.resource_ref()
                    .map_or(&[][..], |r| r.attributes.as_slice()),
            )),
            Field::ResourceDroppedAttributesCount => Value::Int(i64::from(
                self.resource_ref()
                    .map_or(0, |r| r.dropped_attributes_count),
            )),
            Field::ResourceSchemaUrl => Value::str(self.resource.schema_url),
            Field::Scope => match self.scope_ref(field)? {
                Some(s) => object(Object::Scope(Cow::Borrowed(s))),
                None => object(Object::Scope(Cow::Owned(InstrumentationScope::default()))),
            },
            Field::ScopeName => Value::str(self.scope_ref(field)?.map_or("", |s| s.name.as_str())),
            Field::ScopeVersion => {
                Value::str(self.scope_ref(field)?.map_or("", |s| s.version.as_str()))
            }
            Field::ScopeAttributes => Value::Map(Cow::Borrowed(
                self.scope_ref(field)?
                    .map_or(&[][..], |s| s.attributes.as_slice()),
            )),
            Field::ScopeDroppedAttributesCount => Value::Int(i64::from(
                self.scope_ref(field)?
                    .map_or(0, |s| s.dropped_attributes_count),
            )),
            Field::ScopeSchemaUrl => Value::str(
                self.scope
                    .as_ref()
                    .map(|s| s.schema_url.as_str())
                    .ok_or_else(|| unavailable(field))?,
            ),
            Field::SpanTraceId => Value::TraceId(trace_id_of(&self.span(field)?.trace_id)),
            Field::SpanTraceIdString => {
                Value::string(hex::encode(trace_id_of(&self.span(field)?.trace_id)))
            }
            Field::SpanSpanId => Value::SpanId(span_id_of(&self.span(field)?.span_id)),
            Field::SpanSpanIdString => {
                Value::string(hex::encode(span_id_of(&self.span(field)?.span_id)))
            }
            Field::SpanParentSpanId => Value::SpanId(span_id_of(&self.span(field)?.parent_span_id)),
            Field::SpanParentSpanIdString => {
                Value::string(hex::encode(span_id_of(&self.span(field)?.parent_span_id)))
            }
            Field::SpanTraceState => Value::str(&self.span(field)?.trace_state),
            Field::SpanName => Value::str(&self.span(field)?.name),
            Field::SpanKind => Value::Int(i64::from(self.span(field)?.kind)),
            Field::SpanKindString => Value::str(kind_string(self.span(field)?.kind)),
            Field::SpanKindDeprecatedString => {
                Value::str(kind_deprecated_string(self.span(field)?.kind))
            }
            Field::SpanStartTimeUnixNano => nanos_value(self.span(field)?.start_time_unix_nano),
            Field::SpanEndTimeUnixNano => nanos_value(self.span(field)?.end_time_unix_nano),
            Field::SpanStartTime => time_value(self.span(field)?.start_time_unix_nano),
            Field::SpanEndTime => time_value(self.span(field)?.end_time_unix_nano),
            Field::SpanAttributes => Value::Map(Cow::Borrowed(&self.span(field)?.attributes)),
            Field::SpanDroppedAttributesCount => {
                Value::Int(i64::from(self.span(field)?.dropped_attributes_count))
            }
            Field::SpanEvents => object(Object::Events(Cow::Borrowed(&self.span(field)?.events))),
            Field::SpanDroppedEventsCount => {
                Value::Int(i64::from(self.span(field)?.dropped_events_count))
            }
            Field::SpanLinks => object(Object::Links(Cow::Borrowed(&self.span(field)?.links))),
            Field::SpanDroppedLinksCount => {
                Value::Int(i64::from(self.span(field)?.dropped_links_count))
            }
            Field::SpanStatus => match &self.span(field)?.status {
                Some(status) => object(Object::Status(Cow::Borrowed(status))),
                None => object(Object::Status(Cow::Owned(Status::default()))),
            },
            Field::SpanStatusCode => Value::Int(i64::from(
                self.span(field)?.status.as_ref().map_or(0, |s| s.code),
            )),
            Field::SpanStatusMessage => Value::str(
                self.span(field)?
                    .status
                    .as_ref()
                    .map_or("", |s| s.message.as_str()),
            ),
            Field::SpanFlags => Value::Int(i64::from(self.span(field)?.flags)),
            Field::EventName => Value::str(&self.event(field)?.0.name),
            Field::EventTimeUnixNano => nanos_value(self.event(field)?.0.time_unix_nano),
            Field::EventTime => time_value(self.event(field)?.0.time_unix_nano),
            Field::EventAttributes => Value::Map(Cow::Borrowed(&self.event(field)?.0.attributes)),
            Field::EventDroppedAttributesCount => {
                Value::Int(i64::from(self.event(field)?.0.dropped_attributes_count))
            }
            Field::EventIndex => Value::Int(self.event(field)?.1 as i64),
            Field::MetricName => Value::str(&self.metric(field)?.name),
            Field::MetricDescription => Value::str(&self.metric(field)?.description),
            Field::MetricUnit => Value::str(&self.metric(field)?.unit),
            Field::MetricType => Value::Int(metric_type(self.metric(field)?)),
            Field::MetricAggregationTemporality => match &self.metric(field)?.data {
                Some(Data::Sum(s)) => Value::Int(i64::from(s.aggregation_temporality)),
                Some(Data::Histogram(h)) => Value::Int(i64::from(h.aggregation_temporality)),
                Some(Data::ExponentialHistogram(h)) => {
                    Value::Int(i64::from(h.aggregation_temporality))
                }
                _ => Value::Nil,
            },
            Field::MetricIsMonotonic => match &self.metric(field)?.data {
                Some(Data::Sum(s)) => Value::Bool(s.is_monotonic),
                _ => Value::Nil,
            },
            Field::MetricDataPoints => match &self.metric(field)?.data {
                Some(Data::Gauge(g)) => {
                    object(Object::NumberDataPoints(Cow::Borrowed(&g.data_points)))
                }
                Some(Data::Sum(s)) => {
                    object(Object::NumberDataPoints(Cow::Borrowed(&s.data_points)))
                }
                Some(Data::Histogram(h)) => {
                    object(Object::HistogramDataPoints(Cow::Borrowed(&h.data_points)))
                }
                Some(Data::ExponentialHistogram(h)) => object(
                    Object::ExponentialHistogramDataPoints(Cow::Borrowed(&h.data_points)),
                ),
                Some(Data::Summary(s)) => {
                    object(Object::SummaryDataPoints(Cow::Borrowed(&s.data_points)))
                }
                None => Value::Nil,
            },
            Field::MetricMetadata => Value::Map(Cow::Borrowed(&self.metric(field)?.metadata)),
            Field::PointAttributes => {
                Value::Map(Cow::Borrowed(self.point(field)?.attributes().as_slice()))
            }
            Field::PointStartTimeUnixNano => nanos_value(self.point(field)?.start_time()),
            Field::PointTimeUnixNano => nanos_value(self.point(field)?.time()),
            Field::PointStartTime => time_value(self.point(field)?.start_time()),
            Field::PointTime => time_value(self.point(field)?.time()),
            Field::PointValueDouble => match self.point(field)? {
                DataPointMut::Number(p) => Value::Double(match p.value {
                    Some(number_data_point::Value::AsDouble(d)) => d,
                    _ => 0.0,
                }),
                _ => Value::Nil,
            },
            Field::PointValueInt => match self.point(field)? {
                DataPointMut::Number(p) => Value::Int(match p.value {
                    Some(number_data_point::Value::AsInt(i)) => i,
                    _ => 0,
                }),
                _ => Value::Nil,
            },
            Field::PointExemplars => match self.point(field)?.exemplars() {
                Some(e) => object(Object::Exemplars(Cow::Borrowed(e))),
                None => Value::Nil,
            },
            Field::PointFlags => Value::Int(i64::from(self.point(field)?.flags())),
            Field::PointCount => match self.point(field)? {
                DataPointMut::Histogram(p) => Value::Int(p.count as i64),
                DataPointMut::ExponentialHistogram(p) => Value::Int(p.count as i64),
                DataPointMut::Summary(p) => Value::Int(p.count as i64),
                DataPointMut::Number(_) => Value::Nil,
            },
            Field::PointSum => match self.point(field)? {
                DataPointMut::Histogram(p) => Value::Double(p.sum.unwrap_or(0.0)),
                DataPointMut::ExponentialHistogram(p) => Value::Double(p.sum.unwrap_or(0.0)),
                DataPointMut::Summary(p) => Value::Double(p.sum),
                DataPointMut::Number(_) => Value::Nil,
            },
            Field::PointBucketCounts => match self.point(field)? {
                DataPointMut::Histogram(p) => u64_list(&p.bucket_counts),
                _ => Value::Nil,
            },
            Field::PointExplicitBounds => match self.point(field)? {
                DataPointMut::Histogram(p) => f64_list(&p.explicit_bounds),
                _ => Value::Nil,
            },
            Field::PointScale => match self.point(field)? {
                DataPointMut::ExponentialHistogram(p) => Value::Int(i64::from(p.scale)),
                _ => Value::Nil,
            },
            Field::PointZeroCount => match self.point(field)? {
                DataPointMut::ExponentialHistogram(p) => Value::Int(p.zero_count as i64),
                _ => Value::Nil,
            },
            Field::PointPositive | Field::PointNegative => match self.point(field)? {
                DataPointMut::ExponentialHistogram(p) => {
                    let buckets = if field == Field::PointPositive {
                        &p.positive
                    } else {
                        &p.negative
                    };
                    match buckets {
                        Some(b) => object(Object::Buckets(Cow::Borrowed(b))),
                        None => object(Object::Buckets(Cow::Owned(Buckets::default()))),
                    }
                }
                _ => Value::Nil,
            },
            Field::PointPositiveOffset | Field::PointNegativeOffset => match self.point(field)? {
                DataPointMut::ExponentialHistogram(p) => {
                    let buckets = if field == Field::PointPositiveOffset {
                        &p.positive
                    } else {
                        &p.negative
                    };
                    Value::Int(i64::from(buckets.as_ref().map_or(0, |b| b.offset)))
                }
                _ => Value::Nil,
            },
            Field::PointPositiveBucketCounts | Field::PointNegativeBucketCounts => {
                match self.point(field)? {
                    DataPointMut::ExponentialHistogram(p) => {
                        let buckets = if field == Field::PointPositiveBucketCounts {
                            &p.positive
                        } else {
                            &p.negative
                        };
                        u64_list(
                            buckets
                                .as_ref()
                                .map_or(&[][..], |b| b.bucket_counts.as_slice()),
                        )
                    }
                    _ => Value::Nil,
                }
            }
            Field::PointQuantileValues => match self.point(field)? {
                DataPointMut::Summary(p) => {
                    object(Object::QuantileValues(Cow::Borrowed(&p.quantile_values)))
                }
                _ => Value::Nil,
            },
            Field::LogTimeUnixNano => nanos_value(self.log(field)?.time_unix_nano),
            Field::LogObservedTimeUnixNano => nanos_value(self.log(field)?.observed_time_unix_nano),
            Field::LogTime => time_value(self.log(field)?.time_unix_nano),
            Field::LogObservedTime => time_value(self.log(field)?.observed_time_unix_nano),
            Field::LogSeverityNumber => Value::Int(i64::from(self.log(field)?.severity_number)),
            Field::LogSeverityText => Value::str(&self.log(field)?.severity_text),
            Field::LogBody => Value::from_opt_any(self.log(field)?.body.as_ref()),
            Field::LogBodyString => match Value::from_opt_any(self.log(field)?.body.as_ref()) {
                Value::Str(s) => Value::Str(s),
                other => Value::string(other.as_string().into_owned()),
            },
            Field::LogAttributes => Value::Map(Cow::Borrowed(&self.log(field)?.attributes)),
            Field::LogDroppedAttributesCount => {
                Value::Int(i64::from(self.log(field)?.dropped_attributes_count))
            }
            Field::LogFlags => Value::Int(i64::from(self.log(field)?.flags)),
            Field::LogTraceId => Value::TraceId(trace_id_of(&self.log(field)?.trace_id)),
            Field::LogTraceIdString => {
                Value::string(hex::encode(trace_id_of(&self.log(field)?.trace_id)))
            }
            Field::LogSpanId => Value::SpanId(span_id_of(&self.log(field)?.span_id)),
            Field::LogSpanIdString => {
                Value::string(hex::encode(span_id_of(&self.log(field)?.span_id)))
            }
            Field::LogEventName => Value::str(&self.log(field)?.event_name),
        })
    }
}
