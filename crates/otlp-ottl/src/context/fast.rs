//! Reads for the hot path: the fields conditions compare most (names, kinds, codes, severity)
//! and attribute lookups with a literal key, without the error plumbing of the general read.
//! `None` means "not one of these"; the caller then takes the general path.

use opentelemetry_proto::tonic::common::v1::KeyValue;

use super::access::Item;
use super::{Field, TransformContext};
use crate::program::scalar::Scalar;

impl TransformContext<'_> {
    /// The attribute-like map behind `field`.
    #[inline]
    pub(crate) fn map_field(&self, field: Field) -> Option<&[KeyValue]> {
        Some(match (field, &self.item) {
            (Field::SpanAttributes, Item::Span(span) | Item::SpanEvent { span, .. }) => {
                &span.attributes
            }
            (Field::EventAttributes, Item::SpanEvent { event, .. }) => &event.attributes,
            (Field::LogAttributes, Item::Log(log)) => &log.attributes,
            (Field::ResourceAttributes, _) => self
                .resource
                .resource
                .as_ref()
                .map_or(&[][..], |r| r.attributes.as_slice()),
            (Field::ScopeAttributes, _) => self
                .scope
                .as_ref()?
                .scope
                .as_ref()
                .map_or(&[][..], |s| s.attributes.as_slice()),
            (Field::Cache, _) => self.cache.as_slice(),
            (Field::MetricMetadata, Item::Metric(metric) | Item::DataPoint { metric, .. }) => {
                &metric.metadata
            }
            _ => return None,
        })
    }
}

/// A read chosen when the statement is compiled, so evaluating it dispatches on nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FastRead {
    /// A scalar field.
    Scalar(for<'c> fn(&'c TransformContext<'_>) -> Option<Scalar<'c>>),
    /// An attribute-like map, to look a literal key up in.
    Map(for<'c> fn(&'c TransformContext<'_>) -> Option<&'c [KeyValue]>),
}

macro_rules! readers {
    ($($name:ident => |$ctx:ident| $body:expr;)*) => {
        $(
            fn $name<'c>($ctx: &'c TransformContext<'_>) -> Option<Scalar<'c>> {
                $body
            }
        )*
    };
}

readers! {
    span_name => |ctx| match &ctx.item {
        Item::Span(span) | Item::SpanEvent { span, .. } => Some(Scalar::Str(&span.name)),
        _ => None,
    };
    span_kind => |ctx| match &ctx.item {
        Item::Span(span) | Item::SpanEvent { span, .. } => Some(Scalar::Int(i64::from(span.kind))),
        _ => None,
    };
    span_status_code => |ctx| match &ctx.item {
        Item::Span(span) | Item::SpanEvent { span, .. } => {
            Some(Scalar::Int(i64::from(span.status.as_ref().map_or(0, |s| s.code))))
        }
        _ => None,
    };
    event_name => |ctx| match &ctx.item {
        Item::SpanEvent { event, .. } => Some(Scalar::Str(&event.name)),
        _ => None,
    };
    log_severity_number => |ctx| match &ctx.item {
        Item::Log(log) => Some(Scalar::Int(i64::from(log.severity_number))),
        _ => None,
    };
    log_severity_text => |ctx| match &ctx.item {
        Item::Log(log) => Some(Scalar::Str(&log.severity_text)),
        _ => None,
    };
    metric_name => |ctx| match &ctx.item {
        Item::Metric(metric) | Item::DataPoint { metric, .. } => Some(Scalar::Str(&metric.name)),
        _ => None,
    };
}

fn span_attributes<'c>(ctx: &'c TransformContext<'_>) -> Option<&'c [KeyValue]> {
    match &ctx.item {
        Item::Span(span) | Item::SpanEvent { span, .. } => Some(&span.attributes),
        _ => None,
    }
}

fn log_attributes<'c>(ctx: &'c TransformContext<'_>) -> Option<&'c [KeyValue]> {
    match &ctx.item {
        Item::Log(log) => Some(&log.attributes),
        _ => None,
    }
}

fn resource_attributes<'c>(ctx: &'c TransformContext<'_>) -> Option<&'c [KeyValue]> {
    Some(
        ctx.resource
            .resource
            .as_ref()
            .map_or(&[][..], |r| r.attributes.as_slice()),
    )
}

fn any_map<'c>(ctx: &'c TransformContext<'_>, field: Field) -> Option<&'c [KeyValue]> {
    ctx.map_field(field)
}

fn event_attributes<'c>(ctx: &'c TransformContext<'_>) -> Option<&'c [KeyValue]> {
    any_map(ctx, Field::EventAttributes)
}

fn point_attributes<'c>(ctx: &'c TransformContext<'_>) -> Option<&'c [KeyValue]> {
    match &ctx.item {
        Item::DataPoint { point, .. } => Some(point.attributes_slice()),
        _ => None,
    }
}

/// The fast read for `field` (with one literal map key when `keyed`), if there is one.
pub(crate) fn fast_read(field: Field, keyed: bool) -> Option<FastRead> {
    Some(if keyed {
        FastRead::Map(match field {
            Field::SpanAttributes => span_attributes,
            Field::LogAttributes => log_attributes,
            Field::ResourceAttributes => resource_attributes,
            Field::EventAttributes => event_attributes,
            Field::PointAttributes => point_attributes,
            _ => return None,
        })
    } else {
        FastRead::Scalar(match field {
            Field::SpanName => span_name,
            Field::SpanKind => span_kind,
            Field::SpanStatusCode => span_status_code,
            Field::EventName => event_name,
            Field::LogSeverityNumber => log_severity_number,
            Field::LogSeverityText => log_severity_text,
            Field::MetricName => metric_name,
            _ => return None,
        })
    })
}
