//! Body compression for OTLP/HTTP, both directions, with a bound on what decompression may produce.

use serde::Deserialize;
use std::io::{Read, Write};

/// A body compression, as named in otelcol configs and `Content-Encoding` headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression.
    #[default]
    #[serde(alias = "")]
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
    /// zlib deflate.
    Deflate,
}

impl Compression {
    /// Reads a `Content-Encoding` header value; `None` for an encoding we cannot decode.
    pub(crate) fn from_content_encoding(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Some(Compression::None),
            "gzip" | "x-gzip" => Some(Compression::Gzip),
            "zstd" => Some(Compression::Zstd),
            "deflate" => Some(Compression::Deflate),
            _ => None,
        }
    }

    /// The `Content-Encoding` header value, if any.
    pub(crate) fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
            Compression::Deflate => Some("deflate"),
        }
    }
}

/// Why a body could not be decompressed.
#[derive(Debug)]
pub(crate) enum DecompressError {
    /// The body would decompress to more than the limit: refuse it rather than allocate.
    TooLarge,
    /// The body is not valid data of its declared encoding.
    Corrupt(std::io::Error),
}

/// Decompresses `body`, refusing output larger than `limit` bytes (a zip bomb is refused after reading `limit`
/// bytes of it, not after filling memory).
pub(crate) fn decompress(
    encoding: Compression,
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    fn bounded(reader: impl Read, limit: usize, hint: usize) -> Result<Vec<u8>, DecompressError> {
        let mut out = Vec::with_capacity(hint.min(limit));
        reader
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(DecompressError::Corrupt)?;
        if out.len() > limit {
            return Err(DecompressError::TooLarge);
        }
        Ok(out)
    }
    let hint = body.len().saturating_mul(4);
    match encoding {
        Compression::None => {
            if body.len() > limit {
                return Err(DecompressError::TooLarge);
            }
            Ok(body.to_vec())
        }
        Compression::Gzip => bounded(flate2::read::MultiGzDecoder::new(body), limit, hint),
        Compression::Deflate => bounded(flate2::read::ZlibDecoder::new(body), limit, hint),
        Compression::Zstd => {
            let decoder =
                zstd::stream::read::Decoder::new(body).map_err(DecompressError::Corrupt)?;
            bounded(decoder, limit, hint)
        }
    }
}

/// Compresses a request body.
pub(crate) fn compress(encoding: Compression, body: &[u8]) -> std::io::Result<Vec<u8>> {
    match encoding {
        Compression::None => Ok(body.to_vec()),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::fast(),
            );
            encoder.write_all(body)?;
            encoder.finish()
        }
        Compression::Deflate => {
            let mut encoder = flate2::write::ZlibEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::fast(),
            );
            encoder.write_all(body)?;
            encoder.finish()
        }
        Compression::Zstd => zstd::bulk::compress(body, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_encoding() {
        let body = b"otlp ".repeat(1000);
        for encoding in [
            Compression::None,
            Compression::Gzip,
            Compression::Zstd,
            Compression::Deflate,
        ] {
            let packed = compress(encoding, &body).unwrap();
            assert_eq!(
                decompress(encoding, &packed, body.len()).unwrap(),
                body,
                "{encoding:?}"
            );
        }
    }

    #[test]
    fn refuses_bombs_and_garbage() {
        let bomb = compress(Compression::Gzip, &vec![0; 10 << 20]).unwrap();
        assert!(bomb.len() < 100_000);
        assert!(matches!(
            decompress(Compression::Gzip, &bomb, 1 << 20),
            Err(DecompressError::TooLarge)
        ));
        assert!(matches!(
            decompress(Compression::Gzip, b"not gzip at all", 1 << 20),
            Err(DecompressError::Corrupt(_))
        ));
        assert!(matches!(
            decompress(Compression::Zstd, b"not zstd at all", 1 << 20),
            Err(DecompressError::Corrupt(_))
        ));
    }
}
