//! OTLP → Arrow → OTLP on realistic otlp-testkit data: standalone batches and IPC
//! streams/files with every compression, across many batches (delta dictionaries).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_arrow::{
    ArrowIpcReader, ArrowIpcWriter, Compression, IpcFormat, Signal, Telemetry, WriterOptions,
    arrow_to_logs, arrow_to_metrics, arrow_to_traces, logs_to_arrow, metrics_to_arrow,
    traces_to_arrow,
};
use otlp_testkit::Generator;

#[test]
fn standalone_batches_round_trip_all_signals() {
    let mut generator = Generator::new(7);
    for n in [1, 10, 1000] {
        let traces = generator.traces(n);
        assert_eq!(arrow_to_traces(&traces_to_arrow(&traces).unwrap()).unwrap(), traces);
        let metrics = generator.metrics(n);
        assert_eq!(arrow_to_metrics(&metrics_to_arrow(&metrics).unwrap()).unwrap(), metrics);
        let logs = generator.logs(n);
        assert_eq!(arrow_to_logs(&logs_to_arrow(&logs).unwrap()).unwrap(), logs);
    }
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
    let requests: Vec<Telemetry> = (0..5)
        .flat_map(|i| {
            [
                Telemetry::Traces(generator.traces(50 + i * 100)),
                Telemetry::Metrics(generator.metrics(40 + i * 10)),
                Telemetry::Logs(generator.logs(30 + i * 20)),
            ]
        })
        .collect();
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        let expected: Vec<&Telemetry> = requests.iter().filter(|r| r.signal() == signal).collect();
        let options = WriterOptions::new(format).with_compression(compression);
        let mut writer = ArrowIpcWriter::new(Vec::new(), signal, options).unwrap();
        for r in &expected {
            writer.write(r).unwrap();
        }
        assert_eq!(writer.batches_written(), expected.len() as u64);
        let bytes = writer.finish().unwrap();

        let reader = ArrowIpcReader::new(bytes.as_slice(), format).unwrap();
        assert_eq!(reader.signal(), signal);
        let back: Vec<Telemetry> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(back.len(), expected.len(), "{signal} {format:?} {compression:?}");
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
    let mut writer =
        ArrowIpcWriter::metrics(Vec::new(), WriterOptions::new(IpcFormat::Stream)).unwrap();
    let err = writer
        .write_traces(&Generator::new(1).traces(3))
        .unwrap_err();
    assert!(matches!(err, otlp_arrow::Error::WrongSignal { .. }), "{err}");
}

#[test]
fn later_batches_send_only_new_dictionary_entries() {
    // The same request written twice: the second batch's dictionaries are all known,
    // so it costs far less than the first.
    let request = Generator::new(3).traces(500);
    let options = WriterOptions::new(IpcFormat::Stream).with_compression(Compression::None);
    let mut writer = ArrowIpcWriter::traces(Vec::new(), options).unwrap();
    let after_schema = writer.get_ref().len();
    writer.write_traces(&request).unwrap();
    let first = writer.get_ref().len() - after_schema;
    writer.write_traces(&request).unwrap();
    let second = writer.get_ref().len() - after_schema - first;
    assert!(second < first, "second batch {second} bytes, first {first} bytes");
}
