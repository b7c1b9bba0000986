//! The item a context runs on, and access to the parts of it (and of the resource and scope
//! above it) that paths name.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::Event;

use super::{Field, TransformContext};
use crate::error::{Error, Result};

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
    /// The same point, borrowed for a shorter while: one context per condition asked about it.
    pub fn reborrow(&mut self) -> DataPointMut<'_> {
        match self {
            DataPointMut::Number(p) => DataPointMut::Number(p),
            DataPointMut::Histogram(p) => DataPointMut::Histogram(p),
            DataPointMut::ExponentialHistogram(p) => DataPointMut::ExponentialHistogram(p),
            DataPointMut::Summary(p) => DataPointMut::Summary(p),
        }
    }

    pub(crate) fn attributes_slice(&self) -> &[KeyValue] {
        self.attributes()
    }
    pub(super) fn attributes(&self) -> &Vec<KeyValue> {
        each_point!(self, p => &p.attributes)
    }
    pub(super) fn attributes_mut(&mut self) -> &mut Vec<KeyValue> {
        each_point!(self, p => &mut p.attributes)
    }
    pub(super) fn start_time(&self) -> u64 {
        each_point!(self, p => p.start_time_unix_nano)
    }
    pub(super) fn set_start_time(&mut self, nanos: u64) {
        each_point!(self, p => p.start_time_unix_nano = nanos)
    }
    pub(super) fn time(&self) -> u64 {
        each_point!(self, p => p.time_unix_nano)
    }
    pub(super) fn set_time(&mut self, nanos: u64) {
        each_point!(self, p => p.time_unix_nano = nanos)
    }
    pub(super) fn flags(&self) -> u32 {
        each_point!(self, p => p.flags)
    }
    pub(super) fn set_flags(&mut self, flags: u32) {
        each_point!(self, p => p.flags = flags)
    }
    pub(super) fn exemplars(&self) -> Option<&Vec<Exemplar>> {
        match self {
            DataPointMut::Number(p) => Some(&p.exemplars),
            DataPointMut::Histogram(p) => Some(&p.exemplars),
            DataPointMut::ExponentialHistogram(p) => Some(&p.exemplars),
            DataPointMut::Summary(_) => None,
        }
    }
    pub(super) fn exemplars_mut(&mut self) -> Option<&mut Vec<Exemplar>> {
        match self {
            DataPointMut::Number(p) => Some(&mut p.exemplars),
            DataPointMut::Histogram(p) => Some(&mut p.exemplars),
            DataPointMut::ExponentialHistogram(p) => Some(&mut p.exemplars),
            DataPointMut::Summary(_) => None,
        }
    }
}

pub(crate) fn unavailable(field: Field) -> Error {
    Error::eval(format!(
        "internal: {field:?} is not available on this item (the path was resolved for another context)"
    ))
}

impl<'a> TransformContext<'a> {
    pub(super) fn resource_ref(&self) -> Option<&Resource> {
        self.resource.resource.as_ref()
    }

    pub(super) fn resource_mut(&mut self) -> &mut Resource {
        self.resource.resource.get_or_insert_with(Resource::default)
    }

    pub(super) fn scope_ref(&self, field: Field) -> Result<Option<&InstrumentationScope>> {
        self.scope
            .as_ref()
            .map(|s| s.scope.as_ref())
            .ok_or_else(|| unavailable(field))
    }

    pub(super) fn scope_mut(&mut self, field: Field) -> Result<&mut InstrumentationScope> {
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

    pub(super) fn event(&self, field: Field) -> Result<(&Event, usize)> {
        match &self.item {
            Item::SpanEvent { event, index, .. } => Ok((event, *index)),
            _ => Err(unavailable(field)),
        }
    }

    pub(super) fn event_mut(&mut self, field: Field) -> Result<&mut Event> {
        match &mut self.item {
            Item::SpanEvent { event, .. } => Ok(event),
            _ => Err(unavailable(field)),
        }
    }

    pub(crate) fn metric(&self, field: Field) -> Result<&Metric> {
        match &self.item {
            Item::Metric(metric) | Item::DataPoint { metric, .. } => Ok(metric),
            _ => Err(unavailable(field)),
        }
    }

    pub(crate) fn metric_mut(&mut self, field: Field) -> Result<&mut Metric> {
        match &mut self.item {
            Item::Metric(metric) | Item::DataPoint { metric, .. } => Ok(metric),
            _ => Err(unavailable(field)),
        }
    }

    pub(super) fn point(&self, field: Field) -> Result<&DataPointMut<'a>> {
        match &self.item {
            Item::DataPoint { point, .. } => Ok(point),
            _ => Err(unavailable(field)),
        }
    }

    pub(crate) fn point_mut(&mut self, field: Field) -> Result<&mut DataPointMut<'a>> {
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

    pub(super) fn log_mut(&mut self, field: Field) -> Result<&mut LogRecord> {
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
}
