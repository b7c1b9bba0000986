//! A gRPC codec that sends an already encoded request and decodes the typed response, so a retry sends the same
//! bytes instead of encoding the batch again.

use bytes::{Buf, BufMut, Bytes};
use std::marker::PhantomData;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Sends `Bytes` as the message and decodes a `Response`.
pub(super) struct EncodedCodec<Response>(PhantomData<Response>);

impl<Response> Default for EncodedCodec<Response> {
    fn default() -> Self {
        EncodedCodec(PhantomData)
    }
}

impl<Response: prost::Message + Default + Send + 'static> Codec for EncodedCodec<Response> {
    type Encode = Bytes;
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
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
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
