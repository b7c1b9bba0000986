//! `zipkin.proto3`'s messages, with that file's field numbers.

use super::{
    BadSpans, Endpoint as ParsedEndpoint, Kind, Span as ParsedSpan, field, span_id, trace_id,
};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ListOfSpans {
    #[prost(message, repeated, tag = "1")]
    pub(crate) spans: Vec<Span>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Span {
    #[prost(bytes = "vec", tag = "1")]
    pub(crate) trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) parent_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub(crate) id: Vec<u8>,
    #[prost(int32, tag = "4")]
    pub(crate) kind: i32,
    #[prost(string, tag = "5")]
    pub(crate) name: String,
    #[prost(fixed64, tag = "6")]
    pub(crate) timestamp: u64,
    #[prost(uint64, tag = "7")]
    pub(crate) duration: u64,
    #[prost(message, optional, tag = "8")]
    pub(crate) local_endpoint: Option<Endpoint>,
    #[prost(message, optional, tag = "9")]
    pub(crate) remote_endpoint: Option<Endpoint>,
    #[prost(message, repeated, tag = "10")]
    pub(crate) annotations: Vec<Annotation>,
    #[prost(btree_map = "string, string", tag = "11")]
    pub(crate) tags: BTreeMap<String, String>,
    #[prost(bool, tag = "12")]
    pub(crate) debug: bool,
    #[prost(bool, tag = "13")]
    pub(crate) shared: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Endpoint {
    #[prost(string, tag = "1")]
    pub(crate) service_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) ipv4: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub(crate) ipv6: Vec<u8>,
    #[prost(int32, tag = "4")]
    pub(crate) port: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Annotation {
    #[prost(fixed64, tag = "1")]
    pub(crate) timestamp: u64,
    #[prost(string, tag = "2")]
    pub(crate) value: String,
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
    pub(crate) fn into_span(self, index: usize) -> Result<ParsedSpan, BadSpans> {
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

impl From<&ParsedEndpoint> for Endpoint {
    fn from(endpoint: &ParsedEndpoint) -> Self {
        Endpoint {
            service_name: endpoint.service_name.clone(),
            ipv4: endpoint
                .ipv4
                .map(|ip| ip.octets().to_vec())
                .unwrap_or_default(),
            ipv6: endpoint
                .ipv6
                .map(|ip| ip.octets().to_vec())
                .unwrap_or_default(),
            port: i32::from(endpoint.port),
        }
    }
}

impl From<&ParsedSpan> for Span {
    fn from(span: &ParsedSpan) -> Self {
        Span {
            trace_id: span.trace_id.to_vec(),
            parent_id: span.parent_id.map(|id| id.to_vec()).unwrap_or_default(),
            id: span.id.to_vec(),
            kind: match span.kind {
                Kind::Unspecified => 0,
                Kind::Client => 1,
                Kind::Server => 2,
                Kind::Producer => 3,
                Kind::Consumer => 4,
            },
            name: span.name.clone(),
            timestamp: span.timestamp.unwrap_or(0),
            duration: span.duration,
            local_endpoint: span.local_endpoint.as_ref().map(Endpoint::from),
            remote_endpoint: span.remote_endpoint.as_ref().map(Endpoint::from),
            annotations: span
                .annotations
                .iter()
                .map(|(timestamp, value)| Annotation {
                    timestamp: *timestamp,
                    value: value.clone(),
                })
                .collect(),
            tags: span.tags.clone(),
            debug: false,
            shared: false,
        }
    }
}
