//! `format: json` and `format: proto`, as otelcol's `file` exporter writes them: one OTLP/JSON
//! `Export*ServiceRequest` per line, or each request as protobuf behind a 4-byte big-endian length.

use super::rotation::{OpenFile, open_append, rotate};
use super::{FileExporterConfig, FileFormat};
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

impl Export for LinesExport {
    /// The batch as the bytes appended to the file.
    type Payload = Bytes;

    fn prepare(&self, batch: &Arc<Batch>) -> Result<Bytes, ExportError> {
        let encoded = if self.config.format == FileFormat::Json {
            let mut out = Vec::with_capacity(batch.encoded_len() * 2 + 1);
            batch
                .write_json(&mut out)
                .map_err(|e| ExportError::permanent(format!("cannot encode as JSON: {e}")))?;
            out.push(b'\n');
            out
        } else {
            let body = batch.to_protobuf();
            let len = u32::try_from(body.len()).map_err(|_| {
                ExportError::permanent("batch larger than 4 GiB cannot be length-prefixed")
            })?;
            let mut out = Vec::with_capacity(body.len() + 4);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&body);
            out
        };
        Ok(Bytes::from(encoded))
    }

    async fn send(&self, bytes: &Bytes) -> Result<Delivered, ExportError> {
        let bytes = bytes.clone();
        let state = self.state.clone();
        let path = self.config.path.clone();
        let rotation = self.config.rotation.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut state = state.lock();
            if let Some(rotation) = &rotation {
                let limit = rotation.max_megabytes * 1024 * 1024;
                let size = state.as_ref().map_or(0, |o| o.size);
                if size > 0 && size + bytes.len() as u64 > limit {
                    rotate(&path, rotation, &mut state)?;
                }
            }
            if state.is_none() {
                *state = Some(OpenFile {
                    file: open_append(&path)?,
                    size: 0,
                });
            }
            if let Some(open) = state.as_mut() {
                open.file.write_all(&bytes)?;
                open.size += bytes.len() as u64;
            }
            Ok(())
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
