//! Zipkin v2's JSON spans (`zipkin2-api.yaml`), read and written.

use super::{
    BadSpans, Endpoint as ParsedEndpoint, Kind, Span as ParsedSpan, field, span_id, trace_id,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Span {
    trace_id: Option<String>,
    id: Option<String>,
    parent_id: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    timestamp: Option<u64>,
    duration: Option<u64>,
    local_endpoint: Option<Endpoint>,
    remote_endpoint: Option<Endpoint>,
    #[serde(default)]
    annotations: Vec<Annotation>,
    /// Zipkin's tags are strings; other JSON scalars some clients send are kept as their text.
    #[serde(default)]
    tags: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    service_name: Option<String>,
    ipv4: Option<String>,
    ipv6: Option<String>,
    port: Option<u16>,
}

#[derive(Deserialize)]
struct Annotation {
    timestamp: u64,
    value: String,
}

/// An id's bytes: Zipkin writes them as 16 or 32 hex digits, and takes fewer as if left-padded with zeros.
fn hex(index: usize, name: &'static str, text: &str) -> Result<Vec<u8>, BadSpans> {
    let width = if text.len() <= 16 { 16 } else { 32 };
    if text.is_empty() || text.len() > width {
        return Err(field(
            index,
            name,
            format!("`{text}` is not 1 to 32 hex digits"),
        ));
    }
    let padded = format!("{text:0>width$}");
    (0..padded.len())
        .step_by(2)
        .map(|at| {
            padded
                .get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| field(index, name, format!("`{text}` is not hexadecimal")))
        })
        .collect()
}

impl Endpoint {
    fn into_endpoint(self) -> ParsedEndpoint {
        ParsedEndpoint {
            service_name: self.service_name.unwrap_or_default(),
            // An address that does not parse is left out, as Zipkin's own reader does.
            ipv4: self.ipv4.and_then(|ip| ip.parse().ok()),
            ipv6: self.ipv6.and_then(|ip| ip.parse().ok()),
            port: self.port.unwrap_or(0),
        }
    }
}

impl Span {
    pub(crate) fn into_span(self, index: usize) -> Result<ParsedSpan, BadSpans> {
        let trace = self
            .trace_id
            .ok_or_else(|| field(index, "traceId", "is missing"))?;
        let trace = hex(index, "traceId", &trace)?;
        let id = self.id.ok_or_else(|| field(index, "id", "is missing"))?;
        let id = hex(index, "id", &id)?;
        let parent_id = match self.parent_id.as_deref() {
            None | Some("") => None,
            Some(parent) => Some(span_id(
                index,
                "parentId",
                &hex(index, "parentId", parent)?,
            )?),
        };
        let kind = match self.kind.as_deref() {
            None => Kind::Unspecified,
            Some("CLIENT") => Kind::Client,
            Some("SERVER") => Kind::Server,
            Some("PRODUCER") => Kind::Producer,
            Some("CONSUMER") => Kind::Consumer,
            Some(other) => {
                return Err(field(
                    index,
                    "kind",
                    format!("`{other}` is none of CLIENT, SERVER, PRODUCER, CONSUMER"),
                ));
            }
        };
        Ok(ParsedSpan {
            trace_id: trace_id(index, &trace)?,
            id: span_id(index, "id", &id)?,
            parent_id,
            name: self.name.unwrap_or_default(),
            kind,
            timestamp: self.timestamp.filter(|t| *t > 0),
            duration: self.duration.unwrap_or(0),
            local_endpoint: self.local_endpoint.map(Endpoint::into_endpoint),
            remote_endpoint: self.remote_endpoint.map(Endpoint::into_endpoint),
            annotations: self
                .annotations
                .into_iter()
                .map(|a| (a.timestamp, a.value))
                .collect(),
            tags: self
                .tags
                .into_iter()
                .map(|(key, value)| match value {
                    serde_json::Value::String(text) => (key, text),
                    other => (key, other.to_string()),
                })
                .collect(),
        })
    }
}

/// The spans as a JSON list: ids in lowercase hex (a trace id whose high half is zero in 16 digits, as zipkin-go
/// writes it), empty and zero fields left out.
pub(super) fn write(spans: &[ParsedSpan]) -> Vec<u8> {
    let spans: Vec<Written<'_>> = spans.iter().map(Written::from).collect();
    // A list of plain structs and string maps: serializing it cannot fail.
    serde_json::to_vec(&spans).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Written<'a> {
    trace_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<String>,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<u64>,
    #[serde(skip_serializing_if = "is_zero")]
    duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_endpoint: Option<WrittenEndpoint<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_endpoint: Option<WrittenEndpoint<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<WrittenAnnotation<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WrittenEndpoint<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    service_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<String>,
    #[serde(skip_serializing_if = "is_zero_port")]
    port: u16,
}

#[derive(Serialize)]
struct WrittenAnnotation<'a> {
    timestamp: u64,
    value: &'a str,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn is_zero_port(port: &u16) -> bool {
    *port == 0
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl<'a> From<&'a ParsedEndpoint> for WrittenEndpoint<'a> {
    fn from(endpoint: &'a ParsedEndpoint) -> Self {
        WrittenEndpoint {
            service_name: &endpoint.service_name,
            ipv4: endpoint.ipv4.map(|ip| ip.to_string()),
            ipv6: endpoint.ipv6.map(|ip| ip.to_string()),
            port: endpoint.port,
        }
    }
}

impl<'a> From<&'a ParsedSpan> for Written<'a> {
    fn from(span: &'a ParsedSpan) -> Self {
        let trace_id = if span.trace_id[..8] == [0; 8] {
            lower_hex(&span.trace_id[8..])
        } else {
            lower_hex(&span.trace_id)
        };
        Written {
            trace_id,
            parent_id: span.parent_id.map(|id| lower_hex(&id)),
            id: lower_hex(&span.id),
            kind: match span.kind {
                Kind::Unspecified => None,
                Kind::Client => Some("CLIENT"),
                Kind::Server => Some("SERVER"),
                Kind::Producer => Some("PRODUCER"),
                Kind::Consumer => Some("CONSUMER"),
            },
            name: &span.name,
            timestamp: span.timestamp,
            duration: span.duration,
            local_endpoint: span.local_endpoint.as_ref().map(WrittenEndpoint::from),
            remote_endpoint: span.remote_endpoint.as_ref().map(WrittenEndpoint::from),
            annotations: span
                .annotations
                .iter()
                .map(|(timestamp, value)| WrittenAnnotation {
                    timestamp: *timestamp,
                    value,
                })
                .collect(),
            tags: &span.tags,
        }
    }
}
