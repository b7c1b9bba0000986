//! Writing and reading back flat Parquet in the writer's tests.

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::compute::concat_batches;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Encoding;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::{FlatParquetWriter, ParquetOptions};
use crate::{AnyRequest, Signal};

/// `requests` as one file, with our chunk writers or (`our_chunks: false`) as arrow-rs's
/// `ArrowWriter` writes them.
pub(super) fn write(requests: &[AnyRequest], options: ParquetOptions, our_chunks: bool) -> Bytes {
    let signal = requests[0].signal();
    let mut writer =
        FlatParquetWriter::with_our_chunks(Vec::new(), signal, options, our_chunks).unwrap();
    for request in requests {
        writer.write(request).unwrap();
    }
    Bytes::from(writer.finish().unwrap())
}

pub(super) fn read(file: Bytes) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let schema = reader.schema();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    concat_batches(&schema, &batches).unwrap()
}

/// Writes `requests` both ways and checks that every reader sees the same rows; gives
/// both files' sizes.
pub(super) fn same_as_arrow_writer(
    requests: &[AnyRequest],
    options: ParquetOptions,
) -> (usize, usize) {
    let ours = write(requests, options, true);
    let arrow = write(requests, options, false);
    let (ours_rows, arrow_rows) = (read(ours.clone()), read(arrow.clone()));
    assert_eq!(ours_rows.num_rows(), arrow_rows.num_rows());
    for (i, field) in ours_rows.schema().fields().iter().enumerate() {
        let (a, b) = (ours_rows.column(i), arrow_rows.column(i));
        if let Some(row) = (0..a.len()).find(|&r| a.slice(r, 1) != b.slice(r, 1)) {
            panic!(
                "column {} row {row}: {:?} against {:?}",
                field.name(),
                a.slice(row, 1),
                b.slice(row, 1)
            );
        }
    }
    (ours.len(), arrow.len())
}

pub(super) fn testkit(signal: Signal, requests: usize, items: usize) -> Vec<AnyRequest> {
    let mut generator = otlp_testkit::Generator::new(7);
    (0..requests)
        .map(|_| match signal {
            Signal::Traces => AnyRequest::Traces(generator.traces(items)),
            Signal::Logs => AnyRequest::Logs(generator.logs(items)),
            Signal::Metrics => AnyRequest::Metrics(generator.metrics(items)),
        })
        .collect()
}

/// Asserts that `column` of the first row group of `file` starts dictionary-encoded and
/// falls back to plain values.
pub(super) fn assert_falls_back_to_plain(file: Bytes, column: &str) {
    let reader = SerializedFileReader::new(file).unwrap();
    let encodings = reader
        .metadata()
        .row_group(0)
        .columns()
        .iter()
        .find(|c| c.column_path().string() == column)
        .and_then(|c| c.page_encoding_stats_mask())
        .copied()
        .unwrap();
    assert!(
        encodings.is_set(Encoding::RLE_DICTIONARY) && encodings.is_set(Encoding::PLAIN),
        "{column} did not fall back to plain: {:?}",
        encodings.encodings().collect::<Vec<_>>()
    );
}
