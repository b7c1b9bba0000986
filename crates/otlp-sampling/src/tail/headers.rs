//! One copy of each resource and scope header, however many requests carry it.
//!
//! An SDK sends the same resource (often 20+ attributes) and scopes with every export, and a tail
//! sampler holds tens of seconds of exports: kept per request, the decoded headers cost more than
//! the compressed spans they describe (about 230 bytes per span on the generator's traffic, against
//! about 60 for the spans). Here a header is keyed by its encoding, so a repeated one is found by
//! hashing the bytes as received, without decoding them again.
//!
//! The key is the header's `ResourceSpans` / `ScopeSpans` fields other than the spans: the
//! `resource` (or `scope`) message and the `schema_url`, framed as protobuf. For a header encoded as
//! prost encodes (every SDK), the bytes as received are that key; any other encoding of the same
//! values (fields repeated for prost to merge, an empty `schema_url` written out) is decoded once,
//! re-encoded, and found under the same key, so equal headers are one header whichever path and
//! whichever encoding brought them.

use std::sync::{Arc, Weak};

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint};

use super::hashing::FastMap;
use super::trace::{HeaderBytes, ResourceHeader, ScopeHeader};

/// `ResourceSpans.resource` and `ScopeSpans.scope`: the header message.
const HEADER_FIELD: u32 = 1;
/// `ResourceSpans.schema_url` and `ScopeSpans.schema_url`.
const SCHEMA_URL_FIELD: u32 = 3;

/// Appends one length-delimited field as prost frames it.
pub(crate) fn frame(field: u32, bytes: &[u8], key: &mut Vec<u8>) {
    encode_key(field, WireType::LengthDelimited, key);
    encode_varint(bytes.len() as u64, key);
    key.extend_from_slice(bytes);
}

/// The canonical key of a decoded header, and where its `schema_url` field starts in it.
fn canonical_key<M: Message>(message: Option<&M>, schema_url: &str) -> (Vec<u8>, usize) {
    let mut key = Vec::new();
    if let Some(message) = message {
        prost::encoding::message::encode(HEADER_FIELD, message, &mut key);
    }
    let message_end = key.len();
    if !schema_url.is_empty() {
        frame(SCHEMA_URL_FIELD, schema_url.as_bytes(), &mut key);
    }
    (key, message_end)
}

/// Headers of one kind by key, held weakly: a header lives as long as a buffered piece (or a
/// release under way) holds it.
struct Interner<T> {
    by_key: FastMap<Box<[u8]>, Weak<T>>,
    /// Past this many keys, dead ones are swept out.
    sweep_at: usize,
}

impl<T> Interner<T> {
    fn new() -> Self {
        Interner {
            by_key: FastMap::default(),
            sweep_at: 64,
        }
    }

    fn get(&self, key: &[u8]) -> Option<Arc<T>> {
        self.by_key.get(key).and_then(Weak::upgrade)
    }

    fn insert(&mut self, key: &[u8], header: &Arc<T>) {
        if self.by_key.len() >= self.sweep_at {
            self.by_key.retain(|_, header| header.strong_count() > 0);
            // Sweeping again only after the table has doubled keeps the sweeps' cost per insert constant.
            self.sweep_at = (self.by_key.len() * 2).max(64);
        }
        self.by_key.insert(key.into(), Arc::downgrade(header));
    }

    /// The header for `raw_key`, decoding and interning it if it is new; `true` with a header
    /// created by this call.
    fn intern<E>(
        &mut self,
        raw_key: &[u8],
        decode: impl FnOnce() -> Result<(T, Vec<u8>), E>,
    ) -> Result<(Arc<T>, bool), E> {
        if let Some(header) = self.get(raw_key) {
            return Ok((header, false));
        }
        let (header, canonical) = decode()?;
        if canonical != raw_key
            && let Some(header) = self.get(&canonical)
        {
            self.insert(raw_key, &header);
            return Ok((header, false));
        }
        let header = Arc::new(header);
        self.insert(&canonical, &header);
        if canonical != raw_key {
            self.insert(raw_key, &header);
        }
        Ok((header, true))
    }

    fn heap_bytes(&self) -> usize {
        self.by_key.capacity() * (size_of::<(Box<[u8]>, Weak<T>)>() + 1)
            + self.by_key.keys().map(|key| key.len()).sum::<usize>()
    }
}

/// A resource or scope header: its message and its schema URL.
trait Header: Sized {
    type Message: Message + Default;
    fn from_parts(message: Option<Self::Message>, schema_url: String, bytes: HeaderBytes) -> Self;
    fn message(&self) -> Option<&Self::Message>;
    fn schema_url(&self) -> &str;
    fn set_bytes(&mut self, bytes: HeaderBytes);
}

impl Header for ResourceHeader {
    type Message = Resource;
    fn from_parts(resource: Option<Resource>, schema_url: String, bytes: HeaderBytes) -> Self {
        ResourceHeader {
            resource,
            schema_url,
            bytes,
        }
    }
    fn message(&self) -> Option<&Resource> {
        self.resource.as_ref()
    }
    fn schema_url(&self) -> &str {
        &self.schema_url
    }
    fn set_bytes(&mut self, bytes: HeaderBytes) {
        self.bytes = bytes;
    }
}

impl Header for ScopeHeader {
    type Message = InstrumentationScope;
    fn from_parts(
        scope: Option<InstrumentationScope>,
        schema_url: String,
        bytes: HeaderBytes,
    ) -> Self {
        ScopeHeader {
            scope,
            schema_url,
            bytes,
        }
    }
    fn message(&self) -> Option<&InstrumentationScope> {
        self.scope.as_ref()
    }
    fn schema_url(&self) -> &str {
        &self.schema_url
    }
    fn set_bytes(&mut self, bytes: HeaderBytes) {
        self.bytes = bytes;
    }
}

/// The header whose fields frame to `raw_key`, decoded from `parts` (each occurrence of its
/// message field, for prost to merge) only if it is not held already.
fn intern_encoded<H: Header>(
    interner: &mut Interner<H>,
    raw_key: &[u8],
    parts: &[&[u8]],
    schema_url: &str,
) -> Result<(Arc<H>, bool), prost::DecodeError> {
    interner.intern(raw_key, || {
        let mut decoded: Option<H::Message> = None;
        for part in parts {
            decoded
                .get_or_insert_with(H::Message::default)
                .merge(*part)?;
        }
        let (key, message_end) = canonical_key(decoded.as_ref(), schema_url);
        let bytes = HeaderBytes::new(&key, message_end);
        Ok((H::from_parts(decoded, schema_url.to_owned(), bytes), key))
    })
}

/// The held header equal to a decoded one, or that one, now held.
fn intern_decoded<H: Header>(interner: &mut Interner<H>, mut header: H) -> (Arc<H>, bool) {
    let (key, message_end) = canonical_key(header.message(), header.schema_url());
    header.set_bytes(HeaderBytes::new(&key, message_end));
    let Ok(interned) =
        interner.intern::<std::convert::Infallible>(&key, || Ok((header, key.clone())));
    interned
}

/// The resource and scope headers of the buffered spans.
pub(crate) struct HeaderTable {
    resources: Interner<ResourceHeader>,
    scopes: Interner<ScopeHeader>,
}

impl std::fmt::Debug for HeaderTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderTable")
            .field("resource_keys", &self.resources.by_key.len())
            .field("scope_keys", &self.scopes.by_key.len())
            .finish()
    }
}

impl HeaderTable {
    pub(crate) fn new() -> Self {
        HeaderTable {
            resources: Interner::new(),
            scopes: Interner::new(),
        }
    }

    /// The header of an encoded `ResourceSpans` whose non-span fields frame to `raw_key`:
    /// `resource` is each occurrence of its `resource` field, for prost to merge.
    pub(crate) fn resource_encoded(
        &mut self,
        raw_key: &[u8],
        resource: &[&[u8]],
        schema_url: &str,
    ) -> Result<(Arc<ResourceHeader>, bool), prost::DecodeError> {
        intern_encoded(&mut self.resources, raw_key, resource, schema_url)
    }

    /// The header of an encoded `ScopeSpans`, as [`Self::resource_encoded`].
    pub(crate) fn scope_encoded(
        &mut self,
        raw_key: &[u8],
        scope: &[&[u8]],
        schema_url: &str,
    ) -> Result<(Arc<ScopeHeader>, bool), prost::DecodeError> {
        intern_encoded(&mut self.scopes, raw_key, scope, schema_url)
    }

    /// The shared header equal to a decoded one.
    pub(crate) fn resource(&mut self, header: ResourceHeader) -> (Arc<ResourceHeader>, bool) {
        intern_decoded(&mut self.resources, header)
    }

    /// The shared header equal to a decoded one.
    pub(crate) fn scope(&mut self, header: ScopeHeader) -> (Arc<ScopeHeader>, bool) {
        intern_decoded(&mut self.scopes, header)
    }

    /// Heap bytes of the table itself (the headers are counted by the pieces that hold them).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.resources.heap_bytes() + self.scopes.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

    fn resource(attributes: usize) -> Resource {
        Resource {
            attributes: (0..attributes)
                .map(|i| KeyValue {
                    key: format!("key.{i}"),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("v".repeat(i))),
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The policies' trace size reads each header's length from its encoding: it must be what
    /// prost's `encoded_len` says, for one- and multi-byte lengths, and 0 without a message.
    #[test]
    fn a_header_knows_its_message_length_as_prost_counts_it() {
        let mut table = HeaderTable::new();
        for (resource, schema_url) in [
            (None, ""),
            (Some(resource(0)), ""),
            (Some(resource(2)), "https://opentelemetry.io/schemas/1.26.0"),
            (Some(resource(40)), ""),
        ] {
            let expected = resource.as_ref().map_or(0, Message::encoded_len);
            let (header, _) = table.resource(ResourceHeader {
                resource,
                schema_url: schema_url.to_owned(),
                bytes: HeaderBytes::default(),
            });
            assert_eq!(header.bytes.message_len(), expected);
        }
        assert!(
            resource(40).encoded_len() > 127,
            "a two-byte length is covered"
        );
    }
}
