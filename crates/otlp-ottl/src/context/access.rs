//! Reading and writing each [`Field`] of the OTLP wire types, with the types otelcol's contexts
//! use: integers as int64, IDs as trace/span IDs (or hex strings with `.string`), timestamps as
//! int64 nanoseconds (`*_unix_nano`) or times (`start_time`, `time`, ...).

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};

use super::fields::field_label;
use super::{Field, TransformContext};
use crate::error::{Error, Result};
use crate::value::{Object, Value};

/// The item a context runs on.
pub(crate) enum Item<'a> {
    /// Resource and scope contexts have no item below the scope.
    None,
    Span(&'a mut Span),
    SpanEvent {
        span: &'a mut Span,
        event: &'a mut Event,
        index: usize,
    },
    Metric(&'a mut Metric),
    DataPoint {
        metric: &'a mut Metric,
        point: DataPointMut<'a>,
    },
    Log(&'a mut LogRecord),
}

/// A data point of any of the four kinds.
pub enum DataPointMut<'a> {
    /// A gauge or sum point.
    Number(&'a mut NumberDataPoint),
    /// A histogram point.
    Histogram(&'a mut HistogramDataPoint),
    /// An exponential histogram point.
    ExponentialHistogram(&'a mut ExponentialHistogramDataPoint),
    /// A summary point.
    Summary(&'a mut SummaryDataPoint),
}

macro_rules! each_point {
    ($point:expr, $p:ident => $body:expr) => {
        match $point {
            DataPointMut::Number($p) => $body,
            DataPointMut::Histogram($p) => $body,
            DataPointMut::ExponentialHistogram($p) => $body,
            DataPointMut::Summary($p) => $body,
        }
    };
}

impl DataPointMut<'_> {
    pub(crate) fn attributes_slice(&self) -> &[KeyValue] {
        self.attributes()
    }
    fn attributes(&self) -> &Vec<KeyValue> {
        each_point!(self, p => &p.attributes)
    }
    fn attributes_mut(&mut self) -> &mut Vec<KeyValue> {
        each_point!(self, p => &mut p.attributes)
    }
    fn start_time(&self) -> u64 {
        each_point!(self, p => p.start_time_unix_nano)
    }
    fn set_start_time(&mut self, nanos: u64) {
        each_point!(self, p => p.start_time_unix_nano = nanos)
    }
    fn time(&self) -> u64 {
        each_point!(self, p => p.time_unix_nano)
    }
    fn set_time(&mut self, nanos: u64) {
        each_point!(self, p => p.time_unix_nano = nanos)
    }
    fn flags(&self) -> u32 {
        each_point!(self, p => p.flags)
    }
    fn set_flags(&mut self, flags: u32) {
        each_point!(self, p => p.flags = flags)
    }
    fn exemplars(&self) -> Option<&Vec<Exemplar>> {
        match self {
            DataPointMut::Number(p) => Some(&p.exemplars),
            DataPointMut::Histogram(p) => Some(&p.exemplars),
            DataPointMut::ExponentialHistogram(p) => Some(&p.exemplars),
            DataPointMut::Summary(_) => None,
        }
    }
    fn exemplars_mut(&mut self) -> Option<&mut Vec<Exemplar>> {
        match self {
            DataPointMut::Number(p) => Some(&mut p.exemplars),
            DataPointMut::Histogram(p) => Some(&mut p.exemplars),
            DataPointMut::ExponentialHistogram(p) => Some(&mut p.exemplars),
            DataPointMut::Summary(_) => None,
        }
    }
}

fn unavailable(field: Field) -> Error {
    Error::eval(format!(
        "internal: {field:?} is not available on this item (the path was resolved for another context)"
    ))
}

fn expect_str(value: Value<'_>, what: &str) -> Result<String> {
    match value {
        Value::Str(s) => Ok(s.into_owned()),
        other => Err(Error::eval(format!(
            "{what} must be set to a string, got {}",
            other.type_name()
        ))),
    }
}

fn expect_int(value: &Value<'_>, what: &str) -> Result<i64> {
    match value {
        Value::Int(i) => Ok(*i),
        other => Err(Error::eval(format!(
            "{what} must be set to an int, got {}",
            other.type_name()
        ))),
    }
}

fn expect_u32(value: &Value<'_>, what: &str) -> Result<u32> {
    let i = expect_int(value, what)?;
    u32::try_from(i)
        .map_err(|_| Error::eval(format!("{what} must be between 0 and 4294967295, got {i}")))
}

fn expect_i32(value: &Value<'_>, what: &str) -> Result<i32> {
    let i = expect_int(value, what)?;
    i32::try_from(i).map_err(|_| Error::eval(format!("{what} does not fit in 32 bits: {i}")))
}

fn expect_u64(value: &Value<'_>, what: &str) -> Result<u64> {
    let i = expect_int(value, what)?;
    u64::try_from(i).map_err(|_| Error::eval(format!("{what} cannot be negative, got {i}")))
}

fn expect_time(value: &Value<'_>, what: &str) -> Result<u64> {
    match value {
        Value::Time(t) => u64::try_from(*t).map_err(|_| {
            Error::eval(format!(
                "{what} must be a time after 1970-01-01, got {t} ns"
            ))
        }),
        other => Err(Error::eval(format!(
            "{what} must be set to a time, got {}",
            other.type_name()
        ))),
    }
}

fn time_value(nanos: u64) -> Value<'static> {
    Value::Time(i128::from(nanos))
}

fn nanos_value(nanos: u64) -> Value<'static> {
    // Go reads the uint64 timestamp as int64, as otelcol does.
    Value::Int(nanos as i64)
}

/// A 16-byte trace ID from the wire (empty or malformed IDs read as all zeros).
pub(crate) fn trace_id_of(bytes: &[u8]) -> [u8; 16] {
    <[u8; 16]>::try_from(bytes).unwrap_or([0; 16])
}

/// An 8-byte span ID from the wire (empty or malformed IDs read as all zeros).
pub(crate) fn span_id_of(bytes: &[u8]) -> [u8; 8] {
    <[u8; 8]>::try_from(bytes).unwrap_or([0; 8])
}

/// An ID as the wire carries it: all zeros is the empty (invalid) ID, sent as no bytes.
fn id_bytes(id: &[u8]) -> Vec<u8> {
    if id.iter().all(|b| *b == 0) {
        Vec::new()
    } else {
        id.to_vec()
    }
}

fn expect_trace_id(value: &Value<'_>, what: &str) -> Result<Vec<u8>> {
    match value {
        Value::TraceId(id) => Ok(id_bytes(id)),
        other => Err(Error::eval(format!(
            "{what} must be set to a trace ID (use TraceID(...)), got {}",
            other.type_name()
        ))),
    }
}

fn expect_span_id(value: &Value<'_>, what: &str) -> Result<Vec<u8>> {
    match value {
        Value::SpanId(id) => Ok(id_bytes(id)),
        other => Err(Error::eval(format!(
            "{what} must be set to a span ID (use SpanID(...)), got {}",
            other.type_name()
        ))),
    }
}

fn parse_hex_id<const N: usize>(value: Value<'_>, what: &str) -> Result<Vec<u8>> {
    let text = expect_str(value, what)?;
    let bytes = hex::decode(&text)
        .ok()
        .filter(|b| b.len() == N)
        .ok_or_else(|| {
            Error::eval(format!(
                "{what} must be {} hex characters, got \"{text}\"",
                N * 2
            ))
        })?;
    Ok(id_bytes(&bytes))
}

/// `SpanKind.String()` in pdata.
fn kind_string(kind: i32) -> &'static str {
    match kind {
        1 => "Internal",
        2 => "Server",
        3 => "Client",
        4 => "Producer",
        5 => "Consumer",
        _ => "Unspecified",
    }
}

fn kind_deprecated_string(kind: i32) -> &'static str {
    match kind {
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_UNSPECIFIED",
    }
}

fn kind_from_string(s: &str, deprecated: bool) -> Result<i32> {
    (0..=5)
        .find(|k| {
            if deprecated {
                kind_deprecated_string(*k) == s
            } else {
                kind_string(*k) == s
            }
        })
        .ok_or_else(|| {
            Error::eval(format!(
                "unknown span kind {}string \"{s}\"",
                if deprecated { "deprecated " } else { "" }
            ))
        })
}

/// pdata's `Metric.Type()` numbering (`METRIC_DATA_TYPE_*`).
fn metric_type(metric: &Metric) -> i64 {
    match metric.data {
        None => 0,
        Some(Data::Gauge(_)) => 1,
        Some(Data::Sum(_)) => 2,
        Some(Data::Histogram(_)) => 3,
        Some(Data::ExponentialHistogram(_)) => 4,
        Some(Data::Summary(_)) => 5,
    }
}

fn u64_list(values: &[u64]) -> Value<'static> {
    Value::List(Cow::Owned(
        values
            .iter()
            .map(|v| AnyValue {
                value: Some(
                    opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(*v as i64),
                ),
            })
            .collect(),
    ))
}

fn f64_list(values: &[f64]) -> Value<'static> {
    Value::List(Cow::Owned(
        values
            .iter()
            .map(|v| AnyValue {
                value: Some(
                    opentelemetry_proto::tonic::common::v1::any_value::Value::DoubleValue(*v),
                ),
            })
            .collect(),
    ))
}

fn list_of<T>(
    value: &Value<'_>,
    what: &str,
    each: impl Fn(&Value<'_>) -> Option<T>,
) -> Result<Vec<T>> {
    let Value::List(items) = value else {
        return Err(Error::eval(format!(
            "{what} must be set to a slice, got {}",
            value.type_name()
        )));
    };
    items
        .iter()
        .map(|item| {
            let v = Value::from_any(item);
            each(&v).ok_or_else(|| Error::eval(format!("{what} cannot hold a {}", v.type_name())))
        })
        .collect()
}

fn object(o: Object<'_>) -> Value<'_> {
    Value::Object(Box::new(o))
}

impl<'a> TransformContext<'a> {
    fn resource_ref(&self) -> Option<&Resource> {
        self.resource.resource.as_ref()
    }

    fn resource_mut(&mut self) -> &mut Resource {
        self.resource.resource.get_or_insert_with(Resource::default)
    }

    fn scope_ref(&self, field: Field) -> Result<Option<&InstrumentationScope>> {
        self.scope
            .as_ref()
            .map(|s| s.scope.as_ref())
            .ok_or_else(|| unavailable(field))
    }

    fn scope_mut(&mut self, field: Field) -> Result<&mut InstrumentationScope> {
        self.scope
            .as_mut()
            .map(|s| s.scope.get_or_insert_with(InstrumentationScope::default))
            .ok_or_else(|| unavailable(field))
    }

    pub(crate) fn span(&self, field: Field) -> Result<&Span> {
        match &self.item {
            Item::Span(span) | Item::SpanEvent { span, .. } => Ok(span),
            _ => Err(unavailable(field)),
        }
    }

    pub(crate) fn span_mut(&mut self, field: Field) -> Result<&mut Span> {
        match &mut self.item {
            Item::Span(span) | Item::SpanEvent { span, .. } => Ok(span),
            _ => Err(unavailable(field)),
        }
    }

    fn event(&self, field: Field) -> Result<(&Event, usize)> {
        match &self.item {
            Item::SpanEvent { event, index, .. } => Ok((event, *index)),
            _ => Err(unavailable(field)),
        }
    }

    fn event_mut(&mut self, field: Field) -> Result<&mut Event> {
        match &mut self.item {
            Item::SpanEvent { event, .. } => Ok(event),
            _ => Err(unavailable(field)),
        }
    }

    fn metric(&self, field: Field) -> Result<&Metric> {
        match &self.item {
            Item::Metric(metric) | Item::DataPoint { metric, .. } => Ok(metric),
            _ => Err(unavailable(field)),
        }
    }

    fn metric_mut(&mut self, field: Field) -> Result<&mut Metric> {
        match &mut self.item {
            Item::Metric(metric) | Item::DataPoint { metric, .. } => Ok(metric),
            _ => Err(unavailable(field)),
        }
    }

    fn point(&self, field: Field) -> Result<&DataPointMut<'a>> {
        match &self.item {
            Item::DataPoint { point, .. } => Ok(point),
            _ => Err(unavailable(field)),
        }
    }

    fn point_mut(&mut self, field: Field) -> Result<&mut DataPointMut<'a>> {
        match &mut self.item {
            Item::DataPoint { point, .. } => Ok(point),
            _ => Err(unavailable(field)),
        }
    }

    pub(crate) fn log(&self, field: Field) -> Result<&LogRecord> {
        match &self.item {
            Item::Log(log) => Ok(log),
            _ => Err(unavailable(field)),
        }
    }

    fn log_mut(&mut self, field: Field) -> Result<&mut LogRecord> {
        match &mut self.item {
            Item::Log(log) => Ok(log),
            _ => Err(unavailable(field)),
        }
    }

    /// The attribute-like map behind `field`, for in-place edits (`delete_key(attributes, ...)`).
    /// `None` for fields that are not maps.
    pub(crate) fn map_field_mut(&mut self, field: Field) -> Result<Option<&mut Vec<KeyValue>>> {
        Ok(Some(match field {
            Field::Cache => self.cache,
            Field::ResourceAttributes => &mut self.resource_mut().attributes,
            Field::ScopeAttributes => &mut self.scope_mut(field)?.attributes,
            Field::SpanAttributes => &mut self.span_mut(field)?.attributes,
            Field::EventAttributes => &mut self.event_mut(field)?.attributes,
            Field::MetricMetadata => &mut self.metric_mut(field)?.metadata,
            Field::PointAttributes => self.point_mut(field)?.attributes_mut(),
            Field::LogAttributes => &mut self.log_mut(field)?.attributes,
            _ => return Ok(None),
        }))
    }

    /// The log body, for in-place edits and indexed writes.
    pub(crate) fn body_mut(&mut self) -> Result<&mut Option<AnyValue>> {
        Ok(&mut self.log_mut(Field::LogBody)?.body)
    }

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

fn wrong_type(what: &str, expected: &str, found: &Value<'_>) -> Error {
    Error::eval(format!(
        "{what} must be set to a {expected}, got {}",
        found.type_name()
    ))
}

fn wrong_object(what: &str, expected: &str, found: &Object<'_>) -> Error {
    Error::eval(format!(
        "{what} must be set to a {expected}, got {}",
        found.type_name()
    ))
}
