//! Corrupt, truncated and hostile input gets a clear error, never a panic or an
//! allocation sized by a length field.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, StructArray, UInt8Array, UInt32Array};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlp_arrow::{
    AnyRequest, ArrowIpcReader, ArrowIpcWriter, Error, IpcFormat, ReaderOptions, Signal,
    WriterOptions, arrow_to_logs, arrow_to_metrics, arrow_to_traces, logs_to_arrow,
    traces_to_arrow,
};
use otlp_testkit::Generator;

fn written(format: IpcFormat) -> (Vec<u8>, Vec<AnyRequest>) {
    let mut generator = Generator::new(11);
    let sent: Vec<AnyRequest> = (0..3)
        .map(|_| AnyRequest::Traces(generator.traces(3)))
        .collect();
    let mut writer =
        ArrowIpcWriter::new(Vec::new(), Signal::Traces, WriterOptions::new(format)).unwrap();
    for t in &sent {
        writer.write_any(t).unwrap();
    }
    (writer.finish().unwrap(), sent)
}

fn read_all(bytes: &[u8], format: IpcFormat) -> Result<Vec<AnyRequest>, Error> {
    ArrowIpcReader::new(bytes, format)?.collect()
}

#[test]
fn every_truncation_of_a_file_is_an_error() {
    let (bytes, sent) = written(IpcFormat::File);
    assert_eq!(read_all(&bytes, IpcFormat::File).unwrap(), sent);
    // Every cut in the first and last 600 bytes (headers, footer), every 13th between.
    let cuts = (0..bytes.len()).filter(|&i| i < 600 || i + 600 > bytes.len() || i % 13 == 0);
    for len in cuts {
        let result = read_all(&bytes[..len], IpcFormat::File);
        assert!(
            result.is_err(),
            "a file cut at {len} of {} bytes was accepted",
            bytes.len()
        );
    }
}

#[test]
fn a_truncated_stream_yields_a_prefix_or_an_error() {
    let (bytes, sent) = written(IpcFormat::Stream);
    let cuts = (0..bytes.len()).filter(|&i| i < 600 || i + 600 > bytes.len() || i % 13 == 0);
    for len in cuts {
        match read_all(&bytes[..len], IpcFormat::Stream) {
            Ok(got) => assert_eq!(got.as_slice(), &sent[..got.len()], "cut at {len}"),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn flipped_bytes_never_panic() {
    for format in [IpcFormat::Stream, IpcFormat::File] {
        let (bytes, _) = written(format);
        // Deterministic positions spread over the whole input, each with two patterns.
        for i in (0..bytes.len()).step_by(23) {
            for pattern in [0xff, 0x80] {
                let mut corrupt = bytes.clone();
                corrupt[i] ^= pattern;
                let _ = read_all(&corrupt, format);
            }
        }
    }
}

#[test]
fn a_huge_declared_length_is_refused_before_allocating() {
    let mut hostile = vec![0xff, 0xff, 0xff, 0xff];
    hostile.extend_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let err = read_all(&hostile, IpcFormat::Stream).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MessageTooLarge {
                declared: 0x7fff_fff0,
                ..
            }
        ),
        "{err}"
    );

    let (bytes, _) = written(IpcFormat::Stream);
    let small = ReaderOptions {
        max_message_bytes: 64,
    };
    let err = ArrowIpcReader::with_options(bytes.as_slice(), IpcFormat::Stream, small)
        .and_then(|r| r.collect::<Result<Vec<_>, _>>())
        .unwrap_err();
    assert!(
        matches!(err, Error::MessageTooLarge { limit: 64, .. }),
        "{err}"
    );
}

#[test]
fn garbage_and_foreign_arrow_are_refused() {
    let err = read_all(b"definitely not arrow", IpcFormat::File).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
    let err = read_all(b"", IpcFormat::Stream).unwrap_err();
    assert!(matches!(err, Error::Truncated(_)), "{err}");

    // A valid Arrow stream that is not ours.
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::UInt8, false)]));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(UInt8Array::from(vec![1u8]))]).unwrap();
    let mut foreign = Vec::new();
    let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut foreign, &schema).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    let err = read_all(&foreign, IpcFormat::Stream).unwrap_err();
    assert!(matches!(err, Error::NotOtlpArrow(_)), "{err}");
}

#[test]
fn a_batch_of_another_signal_is_refused() {
    let batch = traces_to_arrow(&Generator::new(1).traces(3)).unwrap();
    let err = arrow_to_metrics(&batch).unwrap_err();
    assert!(matches!(err, Error::WrongSignal { .. }), "{err}");
}

/// `batch` with column `column` of table `table` replaced.
fn replace(batch: &RecordBatch, table: &str, column: &str, values: ArrayRef) -> RecordBatch {
    let index = batch.schema().index_of(table).unwrap();
    let list = batch.column(index).as_list::<i32>();
    let rows = list.value(0);
    let rows = rows.as_struct();
    let (fields, mut arrays, nulls) = rows.clone().into_parts();
    let at = fields.iter().position(|f| f.name() == column).unwrap();
    arrays[at] = values;
    let rows = StructArray::try_new(fields, arrays, nulls).unwrap();
    let DataType::List(item) = batch.schema().field(index).data_type().clone() else {
        unreachable!()
    };
    let list = ListArray::new(
        item,
        OffsetBuffer::from_lengths([rows.len()]),
        Arc::new(rows),
        None,
    );
    let mut columns = batch.columns().to_vec();
    columns[index] = Arc::new(list);
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

fn column_len(batch: &RecordBatch, table: &str) -> usize {
    batch
        .column_by_name(table)
        .unwrap()
        .as_list::<i32>()
        .value(0)
        .len()
}

#[test]
fn dangling_parent_ids_are_invalid_data() {
    let batch = traces_to_arrow(&Generator::new(4).traces(20)).unwrap();
    let n = column_len(&batch, "span_attrs");
    let huge = Arc::new(UInt32Array::from(vec![u32::MAX; n]));
    let err = arrow_to_traces(&replace(&batch, "span_attrs", "parent_id", huge)).unwrap_err();
    assert!(matches!(err, Error::InvalidData { .. }), "{err}");

    let mut beyond = vec![0u32; n];
    beyond[n - 1] = 1_000;
    let beyond = Arc::new(UInt32Array::from(beyond));
    let err = arrow_to_traces(&replace(&batch, "span_attrs", "parent_id", beyond)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidData {
                table: "span_attrs",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn unknown_type_codes_are_invalid_data() {
    let batch = traces_to_arrow(&Generator::new(4).traces(20)).unwrap();
    let n = column_len(&batch, "span_attrs");
    let codes = Arc::new(UInt8Array::from(vec![200u8; n]));
    let err = arrow_to_traces(&replace(&batch, "span_attrs", "type", codes)).unwrap_err();
    assert!(matches!(err, Error::InvalidData { .. }), "{err}");
}

/// A log whose body is `[[1]]`: one nested container inside another.
fn nested_log() -> RecordBatch {
    let int = AnyValue {
        value: Some(any_value::Value::IntValue(1)),
    };
    let inner = AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue {
            values: vec![int],
        })),
    };
    let body = AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue {
            values: vec![inner],
        })),
    };
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    body: Some(body),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let batch = logs_to_arrow(&request).unwrap();
    assert_eq!(arrow_to_logs(&batch).unwrap(), request);
    batch
}

#[test]
fn a_container_nested_in_itself_is_refused() {
    let batch = nested_log();
    // values rows: [container 0: array -> container 1], [container 1: int]. Point the
    // first row back at container 0: a cycle.
    let containers = Arc::new(UInt32Array::from(vec![Some(0), None]));
    let err = arrow_to_logs(&replace(&batch, "values", "container", containers)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidData {
                table: "values",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_container_referenced_twice_is_refused() {
    // Two records whose bodies are arrays: containers 0 and 1. Point both bodies at
    // container 0; decoding it twice would let nesting blow up exponentially.
    let array = AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(any_value::Value::IntValue(7)),
            }],
        })),
    };
    let record = LogRecord {
        body: Some(array),
        ..Default::default()
    };
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![record.clone(), record],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let batch = logs_to_arrow(&request).unwrap();
    assert_eq!(arrow_to_logs(&batch).unwrap(), request);
    let both = Arc::new(UInt32Array::from(vec![Some(0), Some(0)]));
    let err = arrow_to_logs(&replace(&batch, "logs", "body_container", both)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidData {
                table: "values",
                ..
            }
        ),
        "{err}"
    );
}
