//! Zipkin v2 spans on the wire: the JSON list of `POST /api/v2/spans` (`application/json`) and the protobuf
//! `zipkin.proto3.ListOfSpans` (`application/x-protobuf`), both read into one [`Span`] (the `zipkin` receiver) and
//! written from it (the `zipkin` exporter).

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
pub(crate) enum Kind {
    Unspecified,
    Client,
    Server,
    Producer,
    Consumer,
}

/// Where a span happened, or whom it talked to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) service_name: String,
    pub(crate) ipv4: Option<Ipv4Addr>,
    pub(crate) ipv6: Option<Ipv6Addr>,
    pub(crate) port: u16,
}

/// One Zipkin v2 span, whatever it arrived as.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Span {
    /// 128 bits; a 64-bit id is the low half, the high half zero.
    pub(crate) trace_id: [u8; 16],
    pub(crate) id: [u8; 8],
    pub(crate) parent_id: Option<[u8; 8]>,
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// Microseconds since the epoch; Zipkin allows it to be missing.
    pub(crate) timestamp: Option<u64>,
    /// Microseconds.
    pub(crate) duration: u64,
    pub(crate) local_endpoint: Option<Endpoint>,
    pub(crate) remote_endpoint: Option<Endpoint>,
    /// (microseconds since the epoch, value).
    pub(crate) annotations: Vec<(u64, String)>,
    pub(crate) tags: BTreeMap<String, String>,
}

/// The spans of a JSON body.
pub(crate) fn from_json(body: &[u8]) -> Result<Vec<Span>, BadSpans> {
    let spans: Vec<json::Span> = serde_json::from_slice(body)?;
    spans
        .into_iter()
        .enumerate()
        .map(|(index, span)| span.into_span(index))
        .collect()
}

/// The spans of a protobuf body.
pub(crate) fn from_proto(body: &[u8]) -> Result<Vec<Span>, BadSpans> {
    use prost::Message as _;
    let list = proto::ListOfSpans::decode(body)?;
    list.spans
        .into_iter()
        .enumerate()
        .map(|(index, span)| span.into_span(index))
        .collect()
}

/// The spans as the JSON list `POST /api/v2/spans` takes, written as zipkin-go's reporter writes them.
pub(crate) fn to_json(spans: &[Span]) -> Vec<u8> {
    json::write(spans)
}

/// The spans as a protobuf `zipkin.proto3.ListOfSpans`.
pub(crate) fn to_proto(spans: &[Span]) -> Vec<u8> {
    use prost::Message as _;
    proto::ListOfSpans {
        spans: spans.iter().map(proto::Span::from).collect(),
    }
    .encode_to_vec()
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

mod json;

/// `zipkin.proto3`'s messages, with that file's field numbers.
mod proto;

#[cfg(test)]
mod tests;
