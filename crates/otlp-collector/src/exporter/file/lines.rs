//! `format: json` and `format: proto`, as otelcol's `file` exporter writes them: one OTLP/JSON
//! `Export*ServiceRequest` per line, or each request as protobuf behind a 4-byte big-endian length. With
//! `compression: zstd`, each request (JSON or protobuf) is one zstd frame behind a 4-byte big-endian length, as
//! otelcol's marshaller compresses it per export and its writer frames every compressed record.

use super::rotation::{OpenFile, open_append, rotate};
use super::{FileCompression, FileExporterConfig, FileFormat};
use crate::Batch;
use crate::exporter::{Delivered, Export, ExportError};
use bytes::Bytes;
use std::io::Write;
use std::sync::Arc;

/// Appends encoded requests to one file, rotating it by size.
pub(super) struct LinesExport {
    config: FileExporterConfig,
    state: Arc<parking_lot::Mutex<Option<OpenFile>>>,
}

impl LinesExport {
    pub(super) fn open(config: FileExporterConfig) -> std::io::Result<Self> {
        let file = open_append(&config.path)?;
        let size = file.metadata()?.len();
        Ok(LinesExport {
            config,
            state: Arc::new(parking_lot::Mutex::new(Some(OpenFile { file, size }))),
        })
    }
}

/// The bytes one batch appends to the file.
pub(super) fn encode(
    batch: &Batch,
    format: FileFormat,
    compression: FileCompression,
) -> Result<Vec<u8>, ExportError> {
    if format == FileFormat::Json {
        let mut out = Vec::with_capacity(batch.encoded_len() * 2 + 1);
        batch
            .write_json(&mut out)
            .map_err(|e| ExportError::permanent(format!("cannot encode as JSON: {e}")))?;
        if compression == FileCompression::None {
            out.push(b'\n');
            return Ok(out);
        }
        // Compressed JSON is binary: otelcol frames it by length, not by line.
        return length_prefixed(&compress(&out, compression)?);
    }
    let body = batch.to_protobuf();
    match compression {
        FileCompression::None => length_prefixed(&body),
        FileCompression::Zstd => length_prefixed(&compress(&body, compression)?),
    }
}

/// Appends `bytes` to the file at `path` (`open`, opened if it is not), rotating it first if they would take it
/// past `rotation`'s size.
pub(super) fn append(
    path: &std::path::Path,
    rotation: Option<&super::RotationConfig>,
    open: &mut Option<OpenFile>,
    bytes: &[u8],
) -> std::io::Result<()> {
    if let Some(rotation) = rotation {
        let limit = rotation.max_megabytes * 1024 * 1024;
        let size = open.as_ref().map_or(0, |o| o.size);
        if size > 0 && size + bytes.len() as u64 > limit {
            rotate(path, rotation, open)?;
        }
    }
    if open.is_none() {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        *open = Some(OpenFile { file, size });
    }
    if let Some(open) = open.as_mut() {
        open.file.write_all(bytes)?;
        open.size += bytes.len() as u64;
    }
    Ok(())
}

/// Level 3, zstd's default, close to the Go encoder's default (`SpeedDefault`) that otelcol uses.
const ZSTD_LEVEL: i32 = 3;

fn compress(body: &[u8], compression: FileCompression) -> Result<Vec<u8>, ExportError> {
    match compression {
        FileCompression::None => Ok(body.to_vec()),
        // One frame per request, with its content size, as Go's `EncodeAll` writes it.
        FileCompression::Zstd => zstd::bulk::compress(body, ZSTD_LEVEL)
            .map_err(|e| ExportError::permanent(format!("cannot compress with zstd: {e}"))),
    }
}

/// `body` behind its length as a 4-byte big-endian integer.
fn length_prefixed(body: &[u8]) -> Result<Vec<u8>, ExportError> {
    let len = u32::try_from(body.len())
        .map_err(|_| ExportError::permanent("batch larger than 4 GiB cannot be length-prefixed"))?;
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

impl Export for LinesExport {
    /// The batch as the bytes appended to the file.
    type Payload = Bytes;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Bytes, ExportError> {
        encode(batch, self.config.format, self.config.compression).map(Bytes::from)
    }

    async fn send(&self, bytes: &Bytes) -> Result<Delivered, ExportError> {
        let bytes = bytes.clone();
        let state = self.state.clone();
        let path = self.config.path.clone();
        let rotation = self.config.rotation.clone();
        tokio::task::spawn_blocking(move || {
            append(&path, rotation.as_ref(), &mut state.lock(), &bytes)
        })
        .await
        .map_err(|e| ExportError::retryable(format!("file writer task failed: {e}")))?
        .map_err(|e| {
            ExportError::retryable(format!("cannot write {}: {e}", self.config.path.display()))
        })?;
        Ok(Delivered::default())
    }

    async fn flush(&self) -> Result<(), ExportError> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || match state.lock().as_mut() {
            Some(open) => open.file.sync_all(),
            None => Ok(()),
        })
        .await
        .map_err(|e| ExportError::retryable(format!("file sync task failed: {e}")))?
        .map_err(|e| {
            ExportError::retryable(format!("cannot sync {}: {e}", self.config.path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use prost::Message;

    fn request() -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: (0..50)
                        .map(|i| LogRecord {
                            time_unix_nano: 1_700_000_000_000_000_000 + i,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// Splits a file into its records as otelcol's writer frames them: a 4-byte big-endian length, then the record.
    fn records(mut file: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        while !file.is_empty() {
            let len = u32::from_be_bytes(file[..4].try_into().unwrap()) as usize;
            out.push(&file[4..4 + len]);
            file = &file[4 + len..];
        }
        out
    }

    #[test]
    fn zstd_records_are_length_prefixed_frames_of_the_request_for_proto_and_json() {
        let batch = Batch::new(request());
        for format in [FileFormat::Proto, FileFormat::Json] {
            let mut file = encode(&batch, format, FileCompression::Zstd).unwrap();
            file.extend(encode(&batch, format, FileCompression::Zstd).unwrap());
            let records = records(&file);
            assert_eq!(records.len(), 2, "{format:?}");
            for record in records {
                // A whole zstd frame (magic number first) per record, as Go's EncodeAll writes it.
                assert_eq!(record[..4], [0x28, 0xb5, 0x2f, 0xfd]);
                let plain = zstd::stream::decode_all(record).unwrap();
                let back = match format {
                    FileFormat::Json => {
                        assert_ne!(plain.last(), Some(&b'\n'), "no line end inside the frame");
                        let mut json = Vec::new();
                        batch.write_json(&mut json).unwrap();
                        assert_eq!(plain, json);
                        continue;
                    }
                    _ => ExportLogsServiceRequest::decode(plain.as_slice()).unwrap(),
                };
                assert_eq!(back, request());
            }
        }
    }

    #[test]
    fn without_compression_json_is_one_line_and_proto_is_length_prefixed() {
        let batch = Batch::new(request());
        let json = encode(&batch, FileFormat::Json, FileCompression::None).unwrap();
        assert_eq!(json.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(json.last(), Some(&b'\n'));
        let proto = encode(&batch, FileFormat::Proto, FileCompression::None).unwrap();
        let back = ExportLogsServiceRequest::decode(records(&proto)[0]).unwrap();
        assert_eq!(back, request());
    }
}
