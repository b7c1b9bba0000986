//! Body compression for OTLP/HTTP, both directions, with a bound on what decompression may produce.

use serde::Deserialize;
use std::io::{Read, Write};

/// A body compression, as named in otelcol configs and `Content-Encoding` headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// No compression (`none`, or `""` as otelcol also takes).
    #[default]
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
    /// zlib deflate (`deflate`, or otelcol's `zlib`, which is the same zlib stream).
    Deflate,
}

/// The config names of [`Compression`], as listed in errors.
const NAMES: &[&str] = &["none", "gzip", "zstd", "deflate", "zlib"];

/// otelcol compressions otlp-suite cannot write.
const LACKED: &[&str] = &["snappy", "lz4"];

impl<'de> Deserialize<'de> for Compression {
    /// By hand rather than derived: serde lists an alias as a variant, so `""` (otelcol's "none") would show up
    /// in the error for an unknown name as an empty choice.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let name = String::deserialize(deserializer)?;
        Ok(match name.as_str() {
            "" | "none" => Compression::None,
            "gzip" => Compression::Gzip,
            "zstd" => Compression::Zstd,
            // otelcol writes both with Go's zlib writer: the same bytes, only the header names it differently.
            "deflate" | "zlib" => Compression::Deflate,
            lacked if LACKED.contains(&lacked) => {
                return Err(D::Error::custom(format!(
                    "`{lacked}` is an otelcol compression otlp-suite does not have; supported: {}",
                    NAMES.join(", ")
                )));
            }
            // serde's own wording, so that the config's "did you mean" is added.
            other => return Err(D::Error::unknown_variant(other, NAMES)),
        })
    }
}

impl Compression {
    /// Reads a `Content-Encoding` header value; `None` for an encoding we cannot decode.
    pub(crate) fn from_content_encoding(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Some(Compression::None),
            "gzip" | "x-gzip" => Some(Compression::Gzip),
            "zstd" => Some(Compression::Zstd),
            // otelcol's exporters send `zlib` for their `zlib` setting, a zlib stream like `deflate`.
            "deflate" | "zlib" => Some(Compression::Deflate),
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

/// Decompresses `body` from snappy's block format (the whole-body snappy of Prometheus remote write and Loki
/// pushes), refusing one that says it holds more than `limit` bytes before allocating for it: the length comes
/// first, and a few bytes can claim gigabytes. The error completes "the body is …".
pub(crate) fn decompress_snappy_block(body: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let length =
        snap::raw::decompress_len(body).map_err(|e| format!("not snappy-compressed: {e}"))?;
    if length > limit {
        return Err(format!(
            "said to decompress to {length} bytes, over the limit of {limit} (max_request_body_size)"
        ));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("not snappy-compressed: {e}"))
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

    fn named(name: &str) -> Result<Compression, String> {
        serde_norway::from_str::<Compression>(name).map_err(|e| e.to_string())
    }

    #[test]
    fn otelcol_names_are_read_and_errors_list_only_real_ones() {
        assert_eq!(named("\"\""), Ok(Compression::None));
        assert_eq!(named("none"), Ok(Compression::None));
        assert_eq!(named("gzip"), Ok(Compression::Gzip));
        assert_eq!(named("zstd"), Ok(Compression::Zstd));
        assert_eq!(named("deflate"), Ok(Compression::Deflate));
        assert_eq!(named("zlib"), Ok(Compression::Deflate));
        let Err(message) = named("snappy") else {
            panic!("snappy accepted");
        };
        assert!(
            message.starts_with(
                "`snappy` is an otelcol compression otlp-suite does not have; supported: none, gzip, zstd, \
                 deflate, zlib"
            ),
            "{message}"
        );
        let Err(message) = named("gzipp") else {
            panic!("gzipp accepted");
        };
        assert!(
            message.starts_with(
                "unknown variant `gzipp`, expected one of `none`, `gzip`, `zstd`, `deflate`, `zlib`"
            ),
            "{message}"
        );
        assert_eq!(
            Compression::from_content_encoding("zlib"),
            Some(Compression::Deflate)
        );
    }

    #[test]
    fn refuses_bombs_and_garbage() {
        let bomb = compress(Compression::Gzip, &vec![0; 10 << 20]).unwrap();
        // A bomb: it inflates at least 50 times (about 100 times at level 1 with zlib-rs).
        assert!(bomb.len() * 50 < 10 << 20, "{} bytes", bomb.len());
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
