//! OTLP spans as Zipkin v2 spans, by otelcol-contrib's `zipkinv2` translator (what the `zipkin` receiver reads
//! back) and the OpenTelemetry specification's Zipkin mapping:
//!
//! - The resource's `service.name` (else `faas.name`, `k8s.deployment.name` or `process.executable.name`, named in
//!   `otlp.service.name.source`; else `default_service_name`) is the local endpoint's service; the resource's other
//!   attributes, the scope (`otel.scope.name`, `otel.scope.version`) and the span's attributes are tags, each value
//!   as pdata's `AsString` writes it (JSON for maps and lists, base64 for bytes).
//! - `net.host.ip` and `net.host.port` make the local endpoint's address; `peer.service`, `net.peer.ip` and
//!   `net.peer.port` the remote endpoint; those tags are then left out.
//! - A status other than unset is `otel.status_code` (`OK`, `ERROR`, as the specification and the SDKs' Zipkin
//!   exporters write it) and `otel.status_description`; an error is also the `error` tag (its description, else
//!   `true`, as zipkin-go writes it). An `error` attribute on a span that is no error is left out: Zipkin reads any
//!   `error` tag as a failure.
//! - An internal span has no Zipkin kind and is tagged `span.kind: internal`; the trace state is `w3c.tracestate`;
//!   dropped counts other than zero are `otel.dropped_attributes_count` and the others.
//! - An event is an annotation: its name alone, or `name|{attributes as JSON}|dropped attributes`, as otelcol
//!   writes it. A link is the tag `otlp.link.<n>`: `trace id|span id|trace state|{attributes}|dropped attributes`.
//! - Times are microseconds, rounded; a span shorter than a microsecond lasts one, as zipkin-go writes it.

use crate::zipkin::{Endpoint, Kind, Span};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{Span as OtlpSpan, span::SpanKind, status::StatusCode};
use std::collections::BTreeMap;

/// Where a service name that is no `service.name` came from.
const SERVICE_NAME_SOURCE: &str = "otlp.service.name.source";

/// Resource attributes that name the service when `service.name` does not, in this order.
const SERVICE_NAME_FALLBACKS: [&str; 3] = [
    "faas.name",
    "k8s.deployment.name",
    "process.executable.name",
];

/// The request's spans as Zipkin's, and how many could not be (a span without a trace or span id).
pub(super) fn to_zipkin(
    request: &ExportTraceServiceRequest,
    default_service_name: &str,
) -> (Vec<Span>, usize) {
    let mut spans = Vec::new();
    let mut refused = 0;
    for resource_spans in &request.resource_spans {
        let mut resource_tags: BTreeMap<String, String> = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .map(|attribute| (attribute.key.clone(), text(attribute.value.as_ref())))
            .collect();
        let service = service_name(&mut resource_tags, default_service_name);
        for scope_spans in &resource_spans.scope_spans {
            let mut scope_tags = resource_tags.clone();
            if let Some(scope) = &scope_spans.scope {
                if !scope.name.is_empty() {
                    scope_tags.insert("otel.scope.name".to_owned(), scope.name.clone());
                }
                if !scope.version.is_empty() {
                    scope_tags.insert("otel.scope.version".to_owned(), scope.version.clone());
                }
            }
            for span in &scope_spans.spans {
                match translate(span, &service, &scope_tags) {
                    Some(span) => spans.push(span),
                    None => refused += 1,
                }
            }
        }
    }
    (spans, refused)
}

/// The local service's name, taken out of the resource's tags.
fn service_name(tags: &mut BTreeMap<String, String>, default: &str) -> String {
    if let Some(name) = tags.remove("service.name") {
        return name;
    }
    for key in SERVICE_NAME_FALLBACKS {
        if let Some(name) = tags.remove(key) {
            tags.insert(SERVICE_NAME_SOURCE.to_owned(), key.to_owned());
            return name;
        }
    }
    default.to_owned()
}

fn translate(
    span: &OtlpSpan,
    service: &str,
    scope_tags: &BTreeMap<String, String>,
) -> Option<Span> {
    let trace_id: [u8; 16] = span.trace_id.as_slice().try_into().ok()?;
    let id: [u8; 8] = span.span_id.as_slice().try_into().ok()?;
    if trace_id == [0; 16] || id == [0; 8] {
        return None;
    }
    let parent_id = <[u8; 8]>::try_from(span.parent_span_id.as_slice())
        .ok()
        .filter(|parent| *parent != [0; 8]);

    let mut tags = scope_tags.clone();
    for attribute in &span.attributes {
        tags.insert(attribute.key.clone(), text(attribute.value.as_ref()));
    }
    if !span.trace_state.is_empty() {
        tags.insert("w3c.tracestate".to_owned(), span.trace_state.clone());
    }
    let kind = match SpanKind::try_from(span.kind) {
        Ok(SpanKind::Client) => Kind::Client,
        Ok(SpanKind::Server) => Kind::Server,
        Ok(SpanKind::Producer) => Kind::Producer,
        Ok(SpanKind::Consumer) => Kind::Consumer,
        Ok(SpanKind::Internal) => {
            tags.insert("span.kind".to_owned(), "internal".to_owned());
            Kind::Unspecified
        }
        Ok(SpanKind::Unspecified) | Err(_) => Kind::Unspecified,
    };
    let local_endpoint = endpoint(
        &mut tags,
        service.to_owned(),
        "net.host.ip",
        "net.host.port",
    );
    let remote_service = tags.remove("peer.service").unwrap_or_default();
    let remote_endpoint = endpoint(&mut tags, remote_service, "net.peer.ip", "net.peer.port");
    status(span, &mut tags);
    for (key, count) in [
        (
            "otel.dropped_attributes_count",
            span.dropped_attributes_count,
        ),
        ("otel.dropped_events_count", span.dropped_events_count),
        ("otel.dropped_links_count", span.dropped_links_count),
    ] {
        if count > 0 {
            tags.insert(key.to_owned(), count.to_string());
        }
    }
    for (index, link) in span.links.iter().enumerate() {
        tags.insert(
            format!("otlp.link.{index}"),
            format!(
                "{}|{}|{}|{}|{}",
                hex::encode(&link.trace_id),
                hex::encode(&link.span_id),
                link.trace_state,
                attributes_json(&link.attributes),
                link.dropped_attributes_count
            ),
        );
    }
    let annotations = span
        .events
        .iter()
        .map(|event| {
            let value = if event.attributes.is_empty() && event.dropped_attributes_count == 0 {
                event.name.clone()
            } else {
                format!(
                    "{}|{}|{}",
                    event.name,
                    attributes_json(&event.attributes),
                    event.dropped_attributes_count
                )
            };
            (round_micros(event.time_unix_nano), value)
        })
        .collect();

    Some(Span {
        trace_id,
        id,
        parent_id,
        name: span.name.clone(),
        kind,
        // As otelcol: a start within the epoch's first second is taken for one never set.
        timestamp: (span.start_time_unix_nano >= 1_000_000_000)
            .then(|| round_micros(span.start_time_unix_nano)),
        duration: if span.end_time_unix_nano == 0 {
            0
        } else {
            duration_micros(
                span.end_time_unix_nano
                    .saturating_sub(span.start_time_unix_nano),
            )
        },
        local_endpoint,
        remote_endpoint,
        annotations,
        tags,
    })
}

/// An endpoint of `service` and the address its two tags give, taking the tags out; none when it would be empty.
fn endpoint(
    tags: &mut BTreeMap<String, String>,
    service: String,
    ip_key: &str,
    port_key: &str,
) -> Option<Endpoint> {
    let ip = tags.remove(ip_key);
    let port = tags
        .remove(port_key)
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or(0);
    let ip: Option<std::net::IpAddr> = ip.and_then(|ip| ip.parse().ok());
    if service.is_empty() && ip.is_none() {
        return None;
    }
    let (ipv4, ipv6) = match ip {
        Some(std::net::IpAddr::V4(ip)) => (Some(ip), None),
        Some(std::net::IpAddr::V6(ip)) => (None, Some(ip)),
        None => (None, None),
    };
    Some(Endpoint {
        service_name: service,
        ipv4,
        ipv6,
        port,
    })
}

fn status(span: &OtlpSpan, tags: &mut BTreeMap<String, String>) {
    let Some(status) = &span.status else {
        tags.remove("error");
        return;
    };
    let code = StatusCode::try_from(status.code).unwrap_or(StatusCode::Unset);
    if code == StatusCode::Error {
        let error = if status.message.is_empty() {
            "true".to_owned()
        } else {
            status.message.clone()
        };
        tags.insert("error".to_owned(), error);
    } else {
        tags.remove("error");
    }
    let name = match code {
        StatusCode::Unset => return,
        StatusCode::Ok => "OK",
        StatusCode::Error => "ERROR",
    };
    tags.insert("otel.status_code".to_owned(), name.to_owned());
    if !status.message.is_empty() {
        tags.insert("otel.status_description".to_owned(), status.message.clone());
    }
}

/// An attribute's value as pdata's `AsString` writes it.
fn text(value: Option<&AnyValue>) -> String {
    value
        .map(|value| otlp_ottl::Value::from_any(value).as_string().into_owned())
        .unwrap_or_default()
}

/// Attributes as one JSON object, keys sorted, as Go marshals pdata's `AsRaw`.
fn attributes_json(attributes: &[KeyValue]) -> String {
    if attributes.is_empty() {
        return "{}".to_owned();
    }
    otlp_ottl::Value::Map(std::borrow::Cow::Borrowed(attributes))
        .as_string()
        .into_owned()
}

/// Nanoseconds as microseconds, rounded to the nearest.
fn round_micros(nanos: u64) -> u64 {
    nanos / 1000 + u64::from(nanos % 1000 >= 500)
}

/// A duration in microseconds, rounded, at least one for any time at all.
fn duration_micros(nanos: u64) -> u64 {
    if nanos == 0 {
        0
    } else {
        round_micros(nanos).max(1)
    }
}

#[cfg(test)]
mod tests;
