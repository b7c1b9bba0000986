//! Zipkin v2 spans as they arrive: the JSON list of `POST /api/v2/spans` (`application/json`) and the protobuf
//! `zipkin.proto3.ListOfSpans` (`application/x-protobuf`), both read into one [`Span`].

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a body holds no spans we can take.
#[derive(Debug, thiserror::Error)]
pub enum BadSpans {
    /// Not a JSON list of Zipkin v2 spans.
    #[error("body is not a JSON list of Zipkin v2 spans: {0}")]
    Json(#[from] serde_json::Error),
    /// Not a `zipkin.proto3.ListOfSpans`.
    #[error("body is not a protobuf zipkin.proto3.ListOfSpans: {0}")]
    Proto(#[from] prost::DecodeError),
    /// A span whose field cannot be read.
    #[error("span {index}: `{field}` {problem}")]
    Field {
        /// Its place in the list, from 0.
        index: usize,
        /// The field, as JSON names it.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// Zipkin's span kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Unspecified,
    Client,
    Server,
    Producer,
    Consumer,
}

/// Where a span happened, or whom it talked to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Endpoint {
    pub(super) service_name: String,
    pub(super) ipv4: Option<Ipv4Addr>,
    pub(super) ipv6: Option<Ipv6Addr>,
    pub(super) port: u16,
}

/// One Zipkin v2 span, whatever it arrived as.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Span {
    /// 128 bits; a 64-bit id is the low half, the high half zero.
    pub(super) trace_id: [u8; 16],
    pub(super) id: [u8; 8],
    pub(super) parent_id: Option<[u8; 8]>,
    pub(super) name: String,
    pub(super) kind: Kind,
    /// Microseconds since the epoch; Zipkin allows it to be missing.
    pub(super) timestamp: Option<u64>,
    /// Microseconds.
    pub(super) duration: u64,
    pub(super) local_endpoint: Option<Endpoint>,
    pub(super) remote_endpoint: Option<Endpoint>,
    /// (microseconds since the epoch, value).
    pub(super) annotations: Vec<(u64, String)>,
    pub(super) tags: BTreeMap<String, String>,
}

/// The spans of a JSON body.
pub(super) fn from_json(body: &[u8]) -> Result<Vec<Span>, BadSpans> {
    let spans: Vec<json::Span> = serde_json::from_slice(body)?;
    spans
        .into_iter()
        .enumerate()
        .map(|(index, span)| span.into_span(index))
        .collect()
}

/// The spans of a protobuf body.
pub(super) fn from_proto(body: &[u8]) -> Result<Vec<Span>, BadSpans> {
    use prost::Message as _;
    let list = proto::ListOfSpans::decode(body)?;
    list.spans
        .into_iter()
        .enumerate()
        .map(|(index, span)| span.into_span(index))
        .collect()
}

fn field(index: usize, field: &'static str, problem: impl Into<String>) -> BadSpans {
    BadSpans::Field {
        index,
        field,
        problem: problem.into(),
    }
}

/// A trace id of 8 or 16 bytes as 16, the shorter one in the low half.
fn trace_id(index: usize, bytes: &[u8]) -> Result<[u8; 16], BadSpans> {
    let mut id = [0u8; 16];
    match bytes.len() {
        16 => id.copy_from_slice(bytes),
        8 => id[8..].copy_from_slice(bytes),
        n => {
            return Err(field(
                index,
                "traceId",
                format!("has {n} bytes; Zipkin's are 8 or 16"),
            ));
        }
    }
    if id == [0; 16] {
        return Err(field(index, "traceId", "is all zeros"));
    }
    Ok(id)
}

fn span_id(index: usize, name: &'static str, bytes: &[u8]) -> Result<[u8; 8], BadSpans> {
    let id: [u8; 8] = bytes.try_into().map_err(|_| {
        field(
            index,
            name,
            format!("has {} bytes; Zipkin's are 8", bytes.len()),
        )
    })?;
    if id == [0; 8] {
        return Err(field(index, name, "is all zeros"));
    }
    Ok(id)
}

mod json {
    use super::{
        BadSpans, Endpoint as ParsedEndpoint, Kind, Span as ParsedSpan, field, span_id, trace_id,
    };
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Span {
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
        pub(super) fn into_span(self, index: usize) -> Result<ParsedSpan, BadSpans> {
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
}

/// `zipkin.proto3`'s messages, with that file's field numbers.
mod proto {
    use super::{
        BadSpans, Endpoint as ParsedEndpoint, Kind, Span as ParsedSpan, field, span_id, trace_id,
    };
    use std::collections::BTreeMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct ListOfSpans {
        #[prost(message, repeated, tag = "1")]
        pub(super) spans: Vec<Span>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Span {
        #[prost(bytes = "vec", tag = "1")]
        pub(super) trace_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub(super) parent_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "3")]
        pub(super) id: Vec<u8>,
        #[prost(int32, tag = "4")]
        pub(super) kind: i32,
        #[prost(string, tag = "5")]
        pub(super) name: String,
        #[prost(fixed64, tag = "6")]
        pub(super) timestamp: u64,
        #[prost(uint64, tag = "7")]
        pub(super) duration: u64,
        #[prost(message, optional, tag = "8")]
        pub(super) local_endpoint: Option<Endpoint>,
        #[prost(message, optional, tag = "9")]
        pub(super) remote_endpoint: Option<Endpoint>,
        #[prost(message, repeated, tag = "10")]
        pub(super) annotations: Vec<Annotation>,
        #[prost(btree_map = "string, string", tag = "11")]
        pub(super) tags: BTreeMap<String, String>,
        #[prost(bool, tag = "12")]
        pub(super) debug: bool,
        #[prost(bool, tag = "13")]
        pub(super) shared: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Endpoint {
        #[prost(string, tag = "1")]
        pub(super) service_name: String,
        #[prost(bytes = "vec", tag = "2")]
        pub(super) ipv4: Vec<u8>,
        #[prost(bytes = "vec", tag = "3")]
        pub(super) ipv6: Vec<u8>,
        #[prost(int32, tag = "4")]
        pub(super) port: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Annotation {
        #[prost(fixed64, tag = "1")]
        pub(super) timestamp: u64,
        #[prost(string, tag = "2")]
        pub(super) value: String,
    }

    impl Endpoint {
        fn into_endpoint(self) -> ParsedEndpoint {
            ParsedEndpoint {
                service_name: self.service_name,
                ipv4: <[u8; 4]>::try_from(self.ipv4.as_slice())
                    .ok()
                    .map(Ipv4Addr::from),
                ipv6: <[u8; 16]>::try_from(self.ipv6.as_slice())
                    .ok()
                    .map(Ipv6Addr::from),
                port: u16::try_from(self.port).unwrap_or(0),
            }
        }
    }

    impl Span {
        pub(super) fn into_span(self, index: usize) -> Result<ParsedSpan, BadSpans> {
            let kind = match self.kind {
                0 => Kind::Unspecified,
                1 => Kind::Client,
                2 => Kind::Server,
                3 => Kind::Producer,
                4 => Kind::Consumer,
                other => {
                    return Err(field(
                        index,
                        "kind",
                        format!("{other} is not a Zipkin span kind"),
                    ));
                }
            };
            Ok(ParsedSpan {
                trace_id: trace_id(index, &self.trace_id)?,
                id: span_id(index, "id", &self.id)?,
                parent_id: if self.parent_id.is_empty() {
                    None
                } else {
                    Some(span_id(index, "parentId", &self.parent_id)?)
                },
                name: self.name,
                kind,
                timestamp: (self.timestamp > 0).then_some(self.timestamp),
                duration: self.duration,
                local_endpoint: self.local_endpoint.map(Endpoint::into_endpoint),
                remote_endpoint: self.remote_endpoint.map(Endpoint::into_endpoint),
                annotations: self
                    .annotations
                    .into_iter()
                    .map(|a| (a.timestamp, a.value))
                    .collect(),
                tags: self.tags,
            })
        }
    }
}

#[cfg(test)]
mod tests;
