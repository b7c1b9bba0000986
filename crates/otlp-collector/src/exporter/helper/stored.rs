//! What a persistent queue writes of a batch: its requests as OTLP protobuf, then, when the batch has a client
//! (`include_metadata`), that client under a field number OTLP does not use, so that a batch sent again after a
//! restart goes out with its client's headers (`headers_setter`), as otelcol's persistent queue keeps them.
//!
//! The client is a protobuf field of the request, not a frame around it: files written before clients were kept
//! read as they did, and a reader that does not know the field skips it as protobuf readers skip unknown fields.

use crate::Batch;
use crate::client::ClientInfo;
use bytes::Bytes;
use otlp_model::wire::{Fields, RECURSION_LIMIT};
use prost::encoding::{WireType, encode_key, encode_varint};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The largest field number protobuf allows, which no OTLP request will use.
const CLIENT_FIELD: u32 = (1 << 29) - 1;

/// A client as written: its address and its metadata.
type StoredClient = (Option<String>, BTreeMap<String, Vec<String>>);

/// The record of `batch`: its requests, then its client if it has one.
pub(crate) fn encode(batch: &Batch) -> Bytes {
    let requests = batch.to_protobuf();
    let Some(client) = batch.client() else {
        return requests;
    };
    let Ok(json) = serde_json::to_vec(&(&client.address, &client.metadata)) else {
        return requests;
    };
    let mut record = Vec::with_capacity(requests.len() + json.len() + 16);
    record.extend_from_slice(&requests);
    encode_key(CLIENT_FIELD, WireType::LengthDelimited, &mut record);
    encode_varint(json.len() as u64, &mut record);
    record.extend_from_slice(&json);
    Bytes::from(record)
}

/// A record read back: its requests, and its client when one was written (and reads).
pub(crate) fn decode(record: Bytes) -> (Bytes, Option<Arc<ClientInfo>>) {
    let mut fields = Fields::new(&record, RECURSION_LIMIT);
    let mut start = fields.offset();
    while let Some(Ok((number, value))) = fields.next() {
        if number == CLIENT_FIELD {
            let client = serde_json::from_slice::<StoredClient>(value.bytes())
                .ok()
                .map(|(address, metadata)| {
                    Arc::new(ClientInfo {
                        address,
                        metadata,
                        auth: BTreeMap::new(),
                    })
                });
            return (record.slice(..start), client);
        }
        start = fields.offset();
    }
    (record, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use otlp_model::Signal;

    fn traces() -> Batch {
        Batch::new(otlp_testkit::Generator::new(4).traces(7))
    }

    #[test]
    fn a_batch_and_its_client_read_back_as_they_were() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-scope-orgid", "acme".parse().unwrap());
        let client = crate::client::from_headers(&headers, Some("10.1.2.3:5000".parse().unwrap()));
        let batch = traces().with_client(Some(client.clone()));
        let (requests, read) = decode(encode(&batch));
        assert_eq!(requests, batch.to_protobuf());
        assert_eq!(read.as_deref(), Some(&*client));
        let scan = otlp_model::wire::scan(Signal::Traces, &requests).unwrap();
        assert_eq!(scan.items, 7);
    }

    #[test]
    fn a_record_without_a_client_is_the_requests_alone_and_reads_as_before() {
        let batch = traces();
        let record = encode(&batch);
        assert_eq!(record, batch.to_protobuf());
        assert_eq!(decode(record.clone()), (record, None));
    }

    #[test]
    fn readers_that_do_not_know_the_field_read_the_request_whole() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-scope-orgid", "acme".parse().unwrap());
        let batch = traces().with_client(Some(crate::client::from_headers(&headers, None)));
        let record = encode(&batch);
        let scan = otlp_model::wire::scan(Signal::Traces, &record).unwrap();
        assert_eq!((scan.items, scan.invalid), (7, 0));
        let decoded = otlp_model::AnyRequest::decode(Signal::Traces, &record).unwrap();
        assert_eq!(&decoded, batch.request());
    }
}
