//! The `file` exporter, compatible with otelcol's: `format: json` writes one OTLP/JSON request per line,
//! `format: proto` length-prefixed protobuf; `format: parquet` (the embedded default) and `format: arrow` write
//! one row per item, in Parquet or Arrow IPC files laid out by signal, date and hour, that DuckDB, Polars and
//! pyarrow query directly.

mod columnar;
mod config;
mod grouped;
mod leftovers;
mod lines;
mod rotation;
mod writer_thread;

pub use config::{FileCompression, FileExporterConfig, FileFormat, GroupByConfig, RotationConfig};

use super::Exporter;
use crate::component::{Component, ExporterContext, ExporterFactory, Invalid};

/// The `file` exporter type.
pub struct Factory;

impl Component for Factory {
    type Config = FileExporterConfig;
    const TYPE: &'static str = "file";

    fn validate(&self, config: &FileExporterConfig) -> Result<(), Invalid> {
        Ok(config.validate()?)
    }
}

impl ExporterFactory for Factory {
    fn build(
        &self,
        config: &FileExporterConfig,
        _context: ExporterContext<'_>,
    ) -> Result<Exporter, String> {
        // Files are written from a small queue (there is no backend outage to absorb), or while the client waits.
        let settings = config.helper();
        Ok(match config.format {
            FileFormat::Parquet | FileFormat::Arrow => {
                Exporter::new(columnar::ColumnarFileExport::open(config), settings)
            }
            FileFormat::Json | FileFormat::Proto if config.group_by.enabled => {
                Exporter::new(grouped::GroupedLinesExport::new(config.clone()), settings)
            }
            FileFormat::Json | FileFormat::Proto => {
                let export = lines::LinesExport::open(config.clone())
                    .map_err(|e| format!("cannot open {}: {e}", config.path.display()))?;
                Exporter::new(export, settings)
            }
        })
    }
}
