//! Writing each [`Field`]: type mismatches are errors, except where otelcol ignores them (a
//! data point field the point's kind does not have, a non-map for a whole map field).

use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use opentelemetry_proto::tonic::trace::v1::Status;

use super::access::{DataPointMut, unavailable};
use super::convert::*;
use super::fields::field_label;
use super::{Field, TransformContext};
use crate::error::{Error, Result};
use crate::value::{Object, Value};

impl TransformContext<'_> {
    /// Writes `value` to `field`. Type mismatches are errors, except where otelcol ignores them
    /// (a data point field the point's kind does not have, a non-map for a whole map field).
    pub(crate) fn set_field(&mut self, field: Field, value: Value<'_>) -> Result<()> {
        let what = field_label(field);
        match field {
            Field::Cache
            | Field::ResourceAttributes
            | Field::ScopeAttributes
            | Field::SpanAttributes
            | Field::EventAttributes
            | Field::MetricMetadata
            | Field::PointAttributes
            | Field::LogAttributes => {
                // otelcol's SetMap ignores values that are not maps.
                if let Value::Map(map) = value {
                    let map = map.into_owned();
                    if let Some(target) = self.map_field_mut(field)? {
                        *target = map;
                    }
                }
            }
            Field::Resource => match value {
                Value::Object(o) => match *o {
                    Object::Resource(r) => *self.resource.resource = Some(r.into_owned()),
                    other => return Err(wrong_object(what, "resource", &other)),
                },
                other => return Err(wrong_type(what, "resource", &other)),
            },
            Field::ResourceDroppedAttributesCount => {
                self.resource_mut().dropped_attributes_count = expect_u32(&value, what)?;
            }
            Field::ResourceSchemaUrl => *self.resource.schema_url = expect_str(value, what)?,
            Field::Scope => match value {
                Value::Object(o) => match *o {
                    Object::Scope(s) => {
                        let scope = s.into_owned();
                        *self.scope_mut(field)? = scope;
                    }
                    other => return Err(wrong_object(what, "instrumentation scope", &other)),
                },
                other => return Err(wrong_type(what, "instrumentation scope", &other)),
            },
            Field::ScopeName => self.scope_mut(field)?.name = expect_str(value, what)?,
            Field::ScopeVersion => self.scope_mut(field)?.version = expect_str(value, what)?,
            Field::ScopeDroppedAttributesCount => {
                self.scope_mut(field)?.dropped_attributes_count = expect_u32(&value, what)?;
            }
            Field::ScopeSchemaUrl => {
                let url = expect_str(value, what)?;
                match self.scope.as_mut() {
                    Some(scope) => *scope.schema_url = url,
                    None => return Err(unavailable(field)),
                }
            }
            Field::SpanTraceId => self.span_mut(field)?.trace_id = expect_trace_id(&value, what)?,
            Field::SpanTraceIdString => {
                self.span_mut(field)?.trace_id = parse_hex_id::<16>(value, what)?;
            }
            Field::SpanSpanId => self.span_mut(field)?.span_id = expect_span_id(&value, what)?,
            Field::SpanSpanIdString => {
                self.span_mut(field)?.span_id = parse_hex_id::<8>(value, what)?;
            }
            Field::SpanParentSpanId => {
                self.span_mut(field)?.parent_span_id = expect_span_id(&value, what)?;
            }
            Field::SpanParentSpanIdString => {
                self.span_mut(field)?.parent_span_id = parse_hex_id::<8>(value, what)?;
            }
            Field::SpanTraceState => self.span_mut(field)?.trace_state = expect_str(value, what)?,
            Field::SpanName => self.span_mut(field)?.name = expect_str(value, what)?,
            Field::SpanKind => self.span_mut(field)?.kind = expect_i32(&value, what)?,
            Field::SpanKindString | Field::SpanKindDeprecatedString => {
                let text = expect_str(value, what)?;
                let kind = kind_from_string(&text, field == Field::SpanKindDeprecatedString)?;
                self.span_mut(field)?.kind = kind;
            }
            Field::SpanStartTimeUnixNano => {
                self.span_mut(field)?.start_time_unix_nano = expect_u64(&value, what)?;
            }
            Field::SpanEndTimeUnixNano => {
                self.span_mut(field)?.end_time_unix_nano = expect_u64(&value, what)?;
            }
            Field::SpanStartTime => {
                self.span_mut(field)?.start_time_unix_nano = expect_time(&value, what)?;
            }
            Field::SpanEndTime => {
                self.span_mut(field)?.end_time_unix_nano = expect_time(&value, what)?;
            }
            Field::SpanDroppedAttributesCount => {
                self.span_mut(field)?.dropped_attributes_count = expect_u32(&value, what)?;
            }
            Field::SpanEvents => match value {
                Value::Object(o) => match *o {
                    Object::Events(events) => self.span_mut(field)?.events = events.into_owned(),
                    other => return Err(wrong_object(what, "span event list", &other)),
                },
                other => return Err(wrong_type(what, "span event list", &other)),
            },
            Field::SpanDroppedEventsCount => {
                self.span_mut(field)?.dropped_events_count = expect_u32(&value, what)?;
            }
            Field::SpanLinks => match value {
                Value::Object(o) => match *o {
                    Object::Links(links) => self.span_mut(field)?.links = links.into_owned(),
                    other => return Err(wrong_object(what, "span link list", &other)),
                },
                other => return Err(wrong_type(what, "span link list", &other)),
            },
            Field::SpanDroppedLinksCount => {
                self.span_mut(field)?.dropped_links_count = expect_u32(&value, what)?;
            }
            Field::SpanStatus => match value {
                Value::Object(o) => match *o {
                    Object::Status(status) => {
                        self.span_mut(field)?.status = Some(status.into_owned());
                    }
                    other => return Err(wrong_object(what, "status", &other)),
                },
                other => return Err(wrong_type(what, "status", &other)),
            },
            Field::SpanStatusCode => {
                let code = expect_i32(&value, what)?;
                self.span_mut(field)?
                    .status
                    .get_or_insert_with(Status::default)
                    .code = code;
            }
            Field::SpanStatusMessage => {
                let message = expect_str(value, what)?;
                self.span_mut(field)?
                    .status
                    .get_or_insert_with(Status::default)
                    .message = message;
            }
            Field::SpanFlags => self.span_mut(field)?.flags = expect_u32(&value, what)?,
            Field::EventName => self.event_mut(field)?.name = expect_str(value, what)?,
            Field::EventTimeUnixNano => {
                self.event_mut(field)?.time_unix_nano = expect_u64(&value, what)?;
            }
            Field::EventTime => self.event_mut(field)?.time_unix_nano = expect_time(&value, what)?,
            Field::EventDroppedAttributesCount => {
                self.event_mut(field)?.dropped_attributes_count = expect_u32(&value, what)?;
            }
            Field::EventIndex => {
                return Err(Error::eval("spanevent.event_index cannot be set"));
            }
            Field::MetricName => self.metric_mut(field)?.name = expect_str(value, what)?,
            Field::MetricDescription => {
                self.metric_mut(field)?.description = expect_str(value, what)?;
            }
            Field::MetricUnit => self.metric_mut(field)?.unit = expect_str(value, what)?,
            // otelcol accepts and ignores it: changing a metric's type needs a dedicated function.
            Field::MetricType => {}
            Field::MetricAggregationTemporality => {
                let temporality = expect_i32(&value, what)?;
                match &mut self.metric_mut(field)?.data {
                    Some(Data::Sum(s)) => s.aggregation_temporality = temporality,
                    Some(Data::Histogram(h)) => h.aggregation_temporality = temporality,
                    Some(Data::ExponentialHistogram(h)) => h.aggregation_temporality = temporality,
                    _ => {}
                }
            }
            Field::MetricIsMonotonic => {
                let Value::Bool(monotonic) = value else {
                    return Err(wrong_type(what, "bool", &value));
                };
                if let Some(Data::Sum(s)) = &mut self.metric_mut(field)?.data {
                    s.is_monotonic = monotonic;
                }
            }
            Field::MetricDataPoints => {
                let Value::Object(o) = value else {
                    return Err(wrong_type(what, "data point list", &value));
                };
                let metric = self.metric_mut(field)?;
                match (&mut metric.data, *o) {
                    (Some(Data::Gauge(g)), Object::NumberDataPoints(p)) => {
                        g.data_points = p.into_owned();
                    }
                    (Some(Data::Sum(s)), Object::NumberDataPoints(p)) => {
                        s.data_points = p.into_owned();
                    }
                    (Some(Data::Histogram(h)), Object::HistogramDataPoints(p)) => {
                        h.data_points = p.into_owned();
                    }
                    (
                        Some(Data::ExponentialHistogram(h)),
                        Object::ExponentialHistogramDataPoints(p),
                    ) => h.data_points = p.into_owned(),
                    (Some(Data::Summary(s)), Object::SummaryDataPoints(p)) => {
                        s.data_points = p.into_owned();
                    }
                    (_, other) => {
                        return Err(Error::eval(format!(
                            "{what}: cannot set {} on a metric of another type",
                            other.type_name()
                        )));
                    }
                }
            }
            Field::PointStartTimeUnixNano => {
                if let Value::Int(_) = value {
                    let nanos = expect_u64(&value, what)?;
                    self.point_mut(field)?.set_start_time(nanos);
                }
            }
            Field::PointTimeUnixNano => {
                if let Value::Int(_) = value {
                    let nanos = expect_u64(&value, what)?;
                    self.point_mut(field)?.set_time(nanos);
                }
            }
            Field::PointStartTime => {
                if let Value::Time(_) = value {
                    let nanos = expect_time(&value, what)?;
                    self.point_mut(field)?.set_start_time(nanos);
                }
            }
            Field::PointTime => {
                if let Value::Time(_) = value {
                    let nanos = expect_time(&value, what)?;
                    self.point_mut(field)?.set_time(nanos);
                }
            }
            Field::PointValueDouble => {
                if let (Value::Double(d), DataPointMut::Number(p)) =
                    (&value, self.point_mut(field)?)
                {
                    p.value = Some(number_data_point::Value::AsDouble(*d));
                }
            }
            Field::PointValueInt => {
                if let (Value::Int(i), DataPointMut::Number(p)) = (&value, self.point_mut(field)?) {
                    p.value = Some(number_data_point::Value::AsInt(*i));
                }
            }
            Field::PointExemplars => {
                if let Value::Object(o) = value
                    && let Object::Exemplars(e) = *o
                    && let Some(target) = self.point_mut(field)?.exemplars_mut()
                {
                    *target = e.into_owned();
                }
            }
            Field::PointFlags => {
                if let Value::Int(_) = value {
                    let flags = expect_u32(&value, what)?;
                    self.point_mut(field)?.set_flags(flags);
                }
            }
            Field::PointCount => {
                if let Value::Int(_) = value {
                    let count = expect_u64(&value, what)?;
                    match self.point_mut(field)? {
                        DataPointMut::Histogram(p) => p.count = count,
                        DataPointMut::ExponentialHistogram(p) => p.count = count,
                        DataPointMut::Summary(p) => p.count = count,
                        DataPointMut::Number(_) => {}
                    }
                }
            }
            Field::PointSum => {
                if let Value::Double(sum) = value {
                    match self.point_mut(field)? {
                        DataPointMut::Histogram(p) => p.sum = Some(sum),
                        DataPointMut::ExponentialHistogram(p) => p.sum = Some(sum),
                        DataPointMut::Summary(p) => p.sum = sum,
                        DataPointMut::Number(_) => {}
                    }
                }
            }
            Field::PointBucketCounts => {
                let counts = list_of(&value, what, |v| match v {
                    Value::Int(i) => u64::try_from(*i).ok(),
                    _ => None,
                })?;
                if let DataPointMut::Histogram(p) = self.point_mut(field)? {
                    p.bucket_counts = counts;
                }
            }
            Field::PointExplicitBounds => {
                let bounds = list_of(&value, what, |v| match v {
                    Value::Double(d) => Some(*d),
                    Value::Int(i) => Some(*i as f64),
                    _ => None,
                })?;
                if let DataPointMut::Histogram(p) = self.point_mut(field)? {
                    p.explicit_bounds = bounds;
                }
            }
            Field::PointScale => {
                if let Value::Int(_) = value {
                    let scale = expect_i32(&value, what)?;
                    if let DataPointMut::ExponentialHistogram(p) = self.point_mut(field)? {
                        p.scale = scale;
                    }
                }
            }
            Field::PointZeroCount => {
                if let Value::Int(_) = value {
                    let count = expect_u64(&value, what)?;
                    if let DataPointMut::ExponentialHistogram(p) = self.point_mut(field)? {
                        p.zero_count = count;
                    }
                }
            }
            Field::PointPositive | Field::PointNegative => {
                if let Value::Object(o) = value
                    && let Object::Buckets(b) = *o
                    && let DataPointMut::ExponentialHistogram(p) = self.point_mut(field)?
                {
                    let target = if field == Field::PointPositive {
                        &mut p.positive
                    } else {
                        &mut p.negative
                    };
                    *target = Some(b.into_owned());
                }
            }
            Field::PointPositiveOffset | Field::PointNegativeOffset => {
                if let Value::Int(_) = value {
                    let offset = expect_i32(&value, what)?;
                    if let DataPointMut::ExponentialHistogram(p) = self.point_mut(field)? {
                        let target = if field == Field::PointPositiveOffset {
                            &mut p.positive
                        } else {
                            &mut p.negative
                        };
                        target.get_or_insert_with(Buckets::default).offset = offset;
                    }
                }
            }
            Field::PointPositiveBucketCounts | Field::PointNegativeBucketCounts => {
                let counts = list_of(&value, what, |v| match v {
                    Value::Int(i) => u64::try_from(*i).ok(),
                    _ => None,
                })?;
                if let DataPointMut::ExponentialHistogram(p) = self.point_mut(field)? {
                    let target = if field == Field::PointPositiveBucketCounts {
                        &mut p.positive
                    } else {
                        &mut p.negative
                    };
                    target.get_or_insert_with(Buckets::default).bucket_counts = counts;
                }
            }
            Field::PointQuantileValues => {
                if let Value::Object(o) = value
                    && let Object::QuantileValues(q) = *o
                    && let DataPointMut::Summary(p) = self.point_mut(field)?
                {
                    p.quantile_values = q.into_owned();
                }
            }
            Field::LogTimeUnixNano => {
                self.log_mut(field)?.time_unix_nano = expect_u64(&value, what)?
            }
            Field::LogObservedTimeUnixNano => {
                self.log_mut(field)?.observed_time_unix_nano = expect_u64(&value, what)?;
            }
            Field::LogTime => self.log_mut(field)?.time_unix_nano = expect_time(&value, what)?,
            Field::LogObservedTime => {
                self.log_mut(field)?.observed_time_unix_nano = expect_time(&value, what)?;
            }
            Field::LogSeverityNumber => {
                self.log_mut(field)?.severity_number = expect_i32(&value, what)?;
            }
            Field::LogSeverityText => self.log_mut(field)?.severity_text = expect_str(value, what)?,
            Field::LogBody => {
                let body = value.into_any_value()?;
                self.log_mut(field)?.body = Some(body);
            }
            Field::LogBodyString => {
                let text = expect_str(value, what)?;
                self.log_mut(field)?.body = Some(crate::value::string_value(text));
            }
            Field::LogDroppedAttributesCount => {
                self.log_mut(field)?.dropped_attributes_count = expect_u32(&value, what)?;
            }
            Field::LogFlags => self.log_mut(field)?.flags = expect_u32(&value, what)?,
            Field::LogTraceId => self.log_mut(field)?.trace_id = expect_trace_id(&value, what)?,
            Field::LogTraceIdString => {
                self.log_mut(field)?.trace_id = parse_hex_id::<16>(value, what)?;
            }
            Field::LogSpanId => self.log_mut(field)?.span_id = expect_span_id(&value, what)?,
            Field::LogSpanIdString => {
                self.log_mut(field)?.span_id = parse_hex_id::<8>(value, what)?;
            }
            Field::LogEventName => self.log_mut(field)?.event_name = expect_str(value, what)?,
        }
        Ok(())
    }
}
