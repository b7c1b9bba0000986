//! Splitting an encoded `ExportTraceServiceRequest` by trace without decoding its spans.
//!
//! A collector that receives OTLP as bytes would otherwise decode every span into a prost tree
//! only to encode it again for buffering. Here each span record is found in place, its trace ID
//! read, and the record copied as it is into its trace's buffer; only the resource and scope
//! headers, shared by many traces, are decoded. The result is what [`split_by_trace`] followed by
//! [`TracePiece::store`] gives for the decoded request: the same traces, pieces, order and counts.
//!
//! [`split_by_trace`]: super::trace::split_by_trace
//! [`TracePiece::store`]: super::trace::TracePiece

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_model::wire::{Fields, RECURSION_LIMIT, Value, WireError};
use prost::Message;

use crate::error::Result;

use super::trace::{
    ResourceHeader, SCOPE_SPANS_SPANS_FIELD, ScopeHeader, StoredPiece, StoredScope,
};

/// Field numbers of the OTLP trace messages read here.
const REQUEST_RESOURCE_SPANS: u32 = 1;
const RESOURCE_SPANS_RESOURCE: u32 = 1;
const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;
const RESOURCE_SPANS_SCHEMA_URL: u32 = 3;
const SCOPE_SPANS_SCOPE: u32 = 1;
const SCOPE_SPANS_SCHEMA_URL: u32 = 3;
const SPAN_TRACE_ID: u32 = 1;

/// A trace ID and that trace's spans from one `ResourceSpans`.
type KeyedPiece = ([u8; 16], StoredPiece);

/// Nesting used by the request, `ResourceSpans`, `ScopeSpans` and the span around its fields.
const SPAN_DEPTH: u32 = RECURSION_LIMIT - 3;

/// The `ResourceSpans` of an encoded request, each split into one stored piece per trace ID in
/// first-seen order, and the number of spans whose trace ID is not 16 bytes or is all zeros.
///
/// The request must be one prost decodes (check it with `otlp_model::wire::scan` first): a
/// malformed message is reported, but the spans of an accepted request are copied unchecked.
pub(crate) fn split_encoded(request: &[u8]) -> Result<(Vec<KeyedPiece>, u64)> {
    let mut pieces = Vec::new();
    let mut invalid = 0;
    for field in Fields::new(request, RECURSION_LIMIT) {
        match field? {
            (REQUEST_RESOURCE_SPANS, Value::Len(resource_spans)) => {
                invalid += split_resource_spans(resource_spans, &mut pieces)?;
            }
            (REQUEST_RESOURCE_SPANS, _) => {
                return Err(WireError::WrongWireType {
                    field: REQUEST_RESOURCE_SPANS,
                }
                .into());
            }
            _ => {}
        }
    }
    Ok((pieces, invalid))
}

/// One encoded `ScopeSpans`: its header and its span records.
struct ScopeRecords<'a> {
    header: Arc<ScopeHeader>,
    spans: Vec<&'a [u8]>,
}

fn split_resource_spans(bytes: &[u8], pieces: &mut Vec<KeyedPiece>) -> Result<u64> {
    let mut resource: Option<Resource> = None;
    let mut schema_url = String::new();
    let mut scopes: Vec<ScopeRecords<'_>> = Vec::new();
    for field in Fields::new(bytes, RECURSION_LIMIT - 1) {
        match field? {
            // prost merges a repeated occurrence of a message field into the first.
            (RESOURCE_SPANS_RESOURCE, Value::Len(encoded)) => resource
                .get_or_insert_with(Resource::default)
                .merge(encoded)?,
            (RESOURCE_SPANS_SCOPE_SPANS, Value::Len(encoded)) => {
                scopes.push(scope_records(encoded)?);
            }
            (RESOURCE_SPANS_SCHEMA_URL, Value::Len(encoded)) => {
                schema_url = utf8(encoded, RESOURCE_SPANS_SCHEMA_URL)?;
            }
            (
                field @ (RESOURCE_SPANS_RESOURCE
                | RESOURCE_SPANS_SCOPE_SPANS
                | RESOURCE_SPANS_SCHEMA_URL),
                _,
            ) => return Err(WireError::WrongWireType { field }.into()),
            _ => {}
        }
    }
    let resource = Arc::new(ResourceHeader {
        resource,
        schema_url,
    });
    let first_piece = pieces.len();
    let mut index_of: HashMap<[u8; 16], usize> = HashMap::new();
    let mut invalid = 0;
    let mut scope_heap = 0;
    for scope in scopes {
        for record in scope.spans {
            let Some(key) = trace_key(record)? else {
                invalid += 1;
                continue;
            };
            let index = *index_of.entry(key).or_insert_with(|| {
                pieces.push((
                    key,
                    StoredPiece {
                        resource: Arc::clone(&resource),
                        scopes: Vec::new(),
                        span_count: 0,
                        heap_bytes: 0,
                        header_share: 0,
                    },
                ));
                pieces.len() - 1
            });
            let Some((_, piece)) = pieces.get_mut(index) else {
                continue;
            };
            piece.span_count += 1;
            let same_scope = piece
                .scopes
                .last()
                .is_some_and(|last| Arc::ptr_eq(&last.scope, &scope.header));
            if !same_scope {
                scope_heap += size_of::<StoredScope>() + scope.header.heap_size();
                piece.scopes.push(StoredScope {
                    scope: Arc::clone(&scope.header),
                    span_count: 0,
                    spans: Vec::new(),
                });
            }
            let Some(stored) = piece.scopes.last_mut() else {
                continue;
            };
            stored.span_count += 1;
            prost::encoding::encode_key(
                SCOPE_SPANS_SPANS_FIELD,
                prost::encoding::WireType::LengthDelimited,
                &mut stored.spans,
            );
            prost::encoding::encode_varint(record.len() as u64, &mut stored.spans);
            stored.spans.extend_from_slice(record);
        }
    }
    // Each piece carries an equal share of the headers it keeps alive, as in `split_by_trace`.
    let new_pieces = pieces.get_mut(first_piece..).unwrap_or_default();
    let share = ((resource.heap_size() + scope_heap) / new_pieces.len().max(1)) as u64;
    for (_, piece) in new_pieces {
        for scope in &mut piece.scopes {
            scope.spans.shrink_to_fit();
        }
        piece.header_share = share + size_of::<StoredPiece>() as u64;
        piece.heap_bytes = piece.header_share
            + piece
                .scopes
                .iter()
                .map(|scope| scope.spans.capacity() as u64)
                .sum::<u64>();
    }
    Ok(invalid)
}

fn scope_records(bytes: &[u8]) -> Result<ScopeRecords<'_>> {
    let mut scope: Option<InstrumentationScope> = None;
    let mut schema_url = String::new();
    let mut spans = Vec::new();
    for field in Fields::new(bytes, RECURSION_LIMIT - 2) {
        match field? {
            (SCOPE_SPANS_SCOPE, Value::Len(encoded)) => scope
                .get_or_insert_with(InstrumentationScope::default)
                .merge(encoded)?,
            (SCOPE_SPANS_SPANS_FIELD, Value::Len(span)) => spans.push(span),
            (SCOPE_SPANS_SCHEMA_URL, Value::Len(encoded)) => {
                schema_url = utf8(encoded, SCOPE_SPANS_SCHEMA_URL)?;
            }
            (field @ (SCOPE_SPANS_SCOPE | SCOPE_SPANS_SPANS_FIELD | SCOPE_SPANS_SCHEMA_URL), _) => {
                return Err(WireError::WrongWireType { field }.into());
            }
            _ => {}
        }
    }
    Ok(ScopeRecords {
        header: Arc::new(ScopeHeader { scope, schema_url }),
        spans,
    })
}

/// The span's trace ID as prost would decode it (the last occurrence wins), if it is a valid one.
fn trace_key(span: &[u8]) -> Result<Option<[u8; 16]>, WireError> {
    let mut trace_id: &[u8] = &[];
    for field in Fields::new(span, SPAN_DEPTH) {
        match field? {
            (SPAN_TRACE_ID, Value::Len(bytes)) => trace_id = bytes,
            (SPAN_TRACE_ID, _) => {
                return Err(WireError::WrongWireType {
                    field: SPAN_TRACE_ID,
                });
            }
            _ => {}
        }
    }
    Ok(<[u8; 16]>::try_from(trace_id)
        .ok()
        .filter(|key| *key != [0; 16]))
}

fn utf8(bytes: &[u8], field: u32) -> Result<String, WireError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| WireError::InvalidUtf8 { field })
}
