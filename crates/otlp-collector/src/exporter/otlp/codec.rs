//! A gRPC codec that sends an already encoded request and decodes the typed response, so a retry sends the same
//! bytes instead of encoding the batch again. The request comes in parts (the requests a batch was made of, as
//! received), written one after the other into the gRPC frame: their concatenation is the request. This encoder
//! copies them once, into the frame tonic compresses; an uncompressed request is not copied at all
//! (`parts_body.rs`), and this codec then encodes an empty message that is never sent.

use bytes::{Buf, BufMut, Bytes};
use std::marker::PhantomData;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Sends the concatenation of `Bytes` parts as the message and decodes a `Response`.
pub(super) struct EncodedCodec<Response>(PhantomData<Response>);

impl<Response> Default for EncodedCodec<Response> {
    fn default() -> Self {
        EncodedCodec(PhantomData)
    }
}

impl<Response: prost::Message + Default + Send + 'static> Codec for EncodedCodec<Response> {
    type Encode = Vec<Bytes>;
    type Decode = Response;
    type Encoder = BytesEncoder;
    type Decoder = MessageDecoder<Response>;

    fn encoder(&mut self) -> BytesEncoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> MessageDecoder<Response> {
        MessageDecoder(PhantomData)
    }
}

pub(super) struct BytesEncoder;

impl Encoder for BytesEncoder {
    type Item = Vec<Bytes>;
    type Error = Status;

    fn encode(&mut self, parts: Vec<Bytes>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(parts.iter().map(Bytes::len).sum());
        for part in parts {
            dst.put(part);
        }
        Ok(())
    }
}

pub(super) struct MessageDecoder<Response>(PhantomData<Response>);

impl<Response: prost::Message + Default> Decoder for MessageDecoder<Response> {
    type Item = Response;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Response>, Status> {
        let response = Response::decode(src.copy_to_bytes(src.remaining()))
            .map_err(|e| Status::internal(format!("cannot decode the response: {e}")))?;
        Ok(Some(response))
    }
}
