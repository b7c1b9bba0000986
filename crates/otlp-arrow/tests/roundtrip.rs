//! OTLP → Arrow → OTLP on realistic otlp-testkit data: standalone batches and IPC
//! streams/files with every compression, across many batches (delta dictionaries).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_arrow::{
    AnyRequest, ArrowIpcReader, ArrowIpcWriter, Compression, IpcFormat, Signal, TracesEncoder,
    WriterOptions, arrow_to_logs, arrow_to_metrics, arrow_to_traces, logs_to_arrow,
    metrics_to_arrow, traces_to_arrow,
};
use otlp_testkit::Generator;

#[test]
fn standalone_batches_round_trip_all_signals() {
    let mut generator = Generator::new(7);
    for n in [1, 10, 1000] {
        let traces = generator.traces(n);
        assert_eq!(
            arrow_to_traces(&traces_to_arrow(&traces).unwrap()).unwrap(),
            traces
        );
        let metrics = generator.metrics(n);
        assert_eq!(
            arrow_to_metrics(&metrics_to_arrow(&metrics).unwrap()).unwrap(),
            metrics
        );
        let logs = generator.logs(n);
        assert_eq!(arrow_to_logs(&logs_to_arrow(&logs).unwrap()).unwrap(), logs);
    }
}

#[test]
fn one_encoder_follows_dictionary_widths_from_batch_to_batch() {
    let mut generator = Generator::new(3);
    let small = generator.traces(20);
    // Over 256 distinct span names: the name column needs u16 keys in this batch only.
    let mut wide = generator.traces(600);
    let mut n = 0;
    for rs in &mut wide.resource_spans {
        for ss in &mut rs.scope_spans {
            for span in &mut ss.spans {
                span.name = format!("operation-{n}");
                n += 1;
            }
        }
    }
    assert!(n > 256, "{n} spans");
    let mut encoder = TracesEncoder::new();
    let first = encoder.encode(&small).unwrap();
    let second = encoder.encode(&wide).unwrap();
    let second_again = encoder.encode(&wide).unwrap();
    let third = encoder.encode(&small).unwrap();
    assert_ne!(first.schema(), second.schema());
    assert!(
        std::sync::Arc::ptr_eq(&second.schema(), &second_again.schema()),
        "an unchanged layout reuses the previous batch's schema"
    );
    assert_eq!(first.schema(), third.schema());
    assert_eq!(arrow_to_traces(&first).unwrap(), small);
    assert_eq!(arrow_to_traces(&second).unwrap(), wide);
    assert_eq!(arrow_to_traces(&third).unwrap(), small);
}

#[test]
fn empty_requests_round_trip() {
    let empty = ExportTraceServiceRequest::default();
    let batch = traces_to_arrow(&empty).unwrap();
    assert_eq!(batch.num_rows(), 1);
    assert_eq!(arrow_to_traces(&batch).unwrap(), empty);
}

fn ipc_round_trip(format: IpcFormat, compression: Compression) {
    let mut generator = Generator::new(42);
    let requests: Vec<AnyRequest> = (0..5)
        .flat_map(|i| {
            [
                AnyRequest::Traces(generator.traces(50 + i * 100)),
                AnyRequest::Metrics(generator.metrics(40 + i * 10)),
                AnyRequest::Logs(generator.logs(30 + i * 20)),
            ]
        })
        .collect();
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        let expected: Vec<&AnyRequest> = requests.iter().filter(|r| r.signal() == signal).collect();
        let options = WriterOptions::new(format).with_compression(compression);
        let mut writer = ArrowIpcWriter::new(Vec::new(), signal, options).unwrap();
        for r in &expected {
            writer.write_any(r).unwrap();
        }
        assert_eq!(writer.batches_written(), expected.len() as u64);
        let bytes = writer.finish().unwrap();

        let reader = ArrowIpcReader::new(bytes.as_slice(), format).unwrap();
        assert_eq!(reader.signal(), signal);
        let back: Vec<AnyRequest> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(
            back.len(),
            expected.len(),
            "{signal} {format:?} {compression:?}"
        );
        for (b, e) in back.iter().zip(expected) {
            assert_eq!(b, e);
        }
    }
}

#[test]
fn ipc_stream_zstd() {
    ipc_round_trip(IpcFormat::Stream, Compression::Zstd(3));
}

#[test]
fn ipc_stream_lz4() {
    ipc_round_trip(IpcFormat::Stream, Compression::Lz4);
}

#[test]
fn ipc_file_zstd() {
    ipc_round_trip(IpcFormat::File, Compression::Zstd(3));
}

#[test]
fn ipc_file_uncompressed() {
    ipc_round_trip(IpcFormat::File, Compression::None);
}

#[test]
fn writing_the_wrong_signal_is_an_error() {
    let mut writer = ArrowIpcWriter::new(
        Vec::new(),
        Signal::Metrics,
        WriterOptions::new(IpcFormat::Stream),
    )
    .unwrap();
    let err = writer.write(&Generator::new(1).traces(3)).unwrap_err();
    assert!(
        matches!(err, otlp_arrow::Error::WrongSignal { .. }),
        "{err}"
    );
}

#[test]
fn later_batches_send_only_new_dictionary_entries() {
    // The same request written twice: the second batch's dictionaries are all known,
    // so it costs far less than the first.
    let request = Generator::new(3).traces(500);
    let options = WriterOptions::new(IpcFormat::Stream).with_compression(Compression::None);
    let mut writer = ArrowIpcWriter::new(Vec::new(), Signal::Traces, options).unwrap();
    let after_schema = writer.get_ref().len();
    writer.write(&request).unwrap();
    let first = writer.get_ref().len() - after_schema;
    writer.write(&request).unwrap();
    let second = writer.get_ref().len() - after_schema - first;
    assert!(
        second < first,
        "second batch {second} bytes, first {first} bytes"
    );
}

/// `n` spans named `op-{first}`, `op-{first + 1}`, …: one distinct name each.
fn distinct_names(first: usize, n: usize) -> ExportTraceServiceRequest {
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (first..first + n)
                    .map(|i| Span {
                        name: format!("op-{i}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn dictionary_key_width_follows_cardinality() {
    use arrow::array::AsArray;
    use arrow::datatypes::DataType;
    let name_type = |n: usize| {
        let batch = traces_to_arrow(&distinct_names(0, n)).unwrap();
        let spans = batch
            .column_by_name("spans")
            .unwrap()
            .as_list::<i32>()
            .value(0);
        let spans = spans.as_struct();
        assert_eq!(arrow_to_traces(&batch).unwrap(), distinct_names(0, n));
        spans.column_by_name("name").unwrap().data_type().clone()
    };
    let dict = |key| DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8));
    assert_eq!(name_type(256), dict(DataType::UInt8));
    assert_eq!(name_type(257), dict(DataType::UInt16));
    assert_eq!(name_type(65_536), dict(DataType::UInt16));
    assert_eq!(name_type(65_537), DataType::Utf8);
}

#[test]
fn a_stream_replaces_overflowing_dictionaries_and_a_file_refuses() {
    let first = distinct_names(0, 40_000);
    let second = distinct_names(40_000, 40_000);

    let options = WriterOptions::new(IpcFormat::Stream).with_compression(Compression::Lz4);
    let mut writer = ArrowIpcWriter::new(Vec::new(), Signal::Traces, options).unwrap();
    writer.write(&first).unwrap();
    writer.write(&second).unwrap();
    let bytes = writer.finish().unwrap();
    let back: Vec<AnyRequest> = ArrowIpcReader::new(bytes.as_slice(), IpcFormat::Stream)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        back,
        vec![
            AnyRequest::Traces(first.clone()),
            AnyRequest::Traces(second.clone())
        ]
    );

    let options = WriterOptions::new(IpcFormat::File).with_compression(Compression::Lz4);
    let mut writer = ArrowIpcWriter::new(Vec::new(), Signal::Traces, options).unwrap();
    writer.write(&first).unwrap();
    let err = writer.write(&second).unwrap_err();
    assert!(
        matches!(
            err,
            otlp_arrow::Error::DictionaryOverflow { column: "name", .. }
        ),
        "{err}"
    );
    // What was written before stays a valid file.
    let bytes = writer.finish().unwrap();
    let back: Vec<AnyRequest> = ArrowIpcReader::new(bytes.as_slice(), IpcFormat::File)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, vec![AnyRequest::Traces(first)]);
}

#[test]
fn ipc_batches_group_attribute_rows_by_key() {
    use arrow::array::{AsArray, DictionaryArray};
    use arrow::datatypes::UInt16Type;
    let request = Generator::new(8).traces(300);
    let options = WriterOptions::new(IpcFormat::Stream);
    let mut writer = ArrowIpcWriter::new(Vec::new(), Signal::Traces, options).unwrap();
    writer.write(&request).unwrap();
    let bytes = writer.finish().unwrap();
    let mut reader = ArrowIpcReader::new(bytes.as_slice(), IpcFormat::Stream).unwrap();
    let batch = reader.next_batch().unwrap().unwrap();
    let attrs = batch
        .column_by_name("span_attrs")
        .unwrap()
        .as_list::<i32>()
        .value(0);
    let keys: &DictionaryArray<UInt16Type> = attrs
        .as_struct()
        .column_by_name("key")
        .unwrap()
        .as_dictionary();
    let keys: Vec<u16> = keys.keys().values().to_vec();
    assert!(keys.len() > 300);
    // Each key forms one run: it never reappears once another key has started.
    let mut seen = std::collections::HashSet::new();
    for run in keys.chunk_by(|a, b| a == b) {
        assert!(seen.insert(run[0]), "key {} appears in two runs", run[0]);
    }
    assert_eq!(arrow_to_traces(&batch).unwrap(), request);
}
