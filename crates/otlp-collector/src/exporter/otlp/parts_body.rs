//! Sending an encoded request without copying it.
//!
//! tonic encodes a message into one buffer of its own, so sending the requests a batch was made of
//! copied every byte of them once more, into memory freshly faulted in for each call: 8% of the
//! collector's CPU when forwarding under `loadgen --max`, 9% with tail sampling (`perf`). An
//! uncompressed gRPC message is a five-byte prefix and then the message's bytes, so the parts can
//! go to HTTP/2 as they are, each its own chunk of the body. tonic still makes the call (headers,
//! deadlines, the response and its status): the request it encodes carries an empty message and
//! the parts in its extensions, and [`SendParts`], the channel under tonic, swaps in the parts.

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::body::Body;

/// The message to send, in parts whose concatenation is the message, for [`SendParts`] to send
/// in place of the body tonic encoded.
#[derive(Debug, Clone)]
pub(super) struct EncodedParts {
    parts: Vec<Bytes>,
    len: u32,
}

impl EncodedParts {
    /// The parts back for a message longer than gRPC's prefix can say (4 GiB), which tonic's own encoding
    /// refuses.
    pub(super) fn new(parts: Vec<Bytes>) -> Result<Self, Vec<Bytes>> {
        match u32::try_from(parts.iter().map(Bytes::len).sum::<usize>()) {
            Ok(len) => Ok(EncodedParts { parts, len }),
            Err(_) => Err(parts),
        }
    }
}

/// A channel that sends a request's [`EncodedParts`], when it has them, as its gRPC message.
#[derive(Debug, Clone)]
pub(super) struct SendParts<S>(pub(super) S);

impl<S> tower::Service<http::Request<Body>> for SendParts<S>
where
    S: tower::Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> S::Future {
        if let Some(parts) = request.extensions_mut().remove::<EncodedParts>() {
            *request.body_mut() = Body::new(UncompressedMessage::new(parts));
        }
        self.0.call(request)
    }
}

/// One uncompressed gRPC message as a request body: the prefix, then the parts as they are.
#[derive(Debug)]
struct UncompressedMessage {
    chunks: VecDeque<Bytes>,
}

impl UncompressedMessage {
    fn new(EncodedParts { parts, len }: EncodedParts) -> Self {
        // gRPC's length-prefixed message: a compressed flag of 0, then the length, big-endian.
        let mut prefix = [0u8; 5];
        prefix[1..].copy_from_slice(&len.to_be_bytes());
        let mut chunks = VecDeque::with_capacity(parts.len() + 1);
        chunks.push_back(Bytes::copy_from_slice(&prefix));
        chunks.extend(parts.into_iter().filter(|part| !part.is_empty()));
        UncompressedMessage { chunks }
    }
}

impl HttpBody for UncompressedMessage {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.get_mut()
                .chunks
                .pop_front()
                .map(|chunk| Ok(Frame::data(chunk))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Unknown, as for the bodies tonic encodes, so that the request's headers are the same.
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn the_body_is_the_length_prefixed_concatenation_of_the_parts() {
        let parts = vec![
            Bytes::from_static(b"\x0a\x03abc"),
            Bytes::new(),
            Bytes::from_static(b"\x0a\x01z"),
        ];
        let body = UncompressedMessage::new(EncodedParts::new(parts).expect("a short message"));
        let sent = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&sent[..], b"\x00\x00\x00\x00\x08\x0a\x03abc\x0a\x01z");
    }

    #[tokio::test]
    async fn an_empty_message_is_its_prefix() {
        let body =
            UncompressedMessage::new(EncodedParts::new(Vec::new()).expect("a short message"));
        let sent = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&sent[..], b"\x00\x00\x00\x00\x00");
    }
}
