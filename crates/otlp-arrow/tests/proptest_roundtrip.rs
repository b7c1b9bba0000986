//! Property tests: for arbitrary OTLP messages of all three signals, OTLP → Arrow → OTLP
//! is the identity, standalone and through an IPC stream/file with persistent dictionaries.

mod strategies;

use otlp_arrow::{
    AnyRequest, ArrowIpcReader, ArrowIpcWriter, Compression, IpcFormat, WriterOptions,
    arrow_to_logs, arrow_to_metrics, arrow_to_traces, logs_to_arrow, metrics_to_arrow,
    traces_to_arrow,
};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::{logs, metrics, traces};

/// Writes `requests` through an IPC writer and reads them back.
fn through_ipc(requests: &[AnyRequest], format: IpcFormat) -> Vec<AnyRequest> {
    let Some(signal) = requests.first().map(AnyRequest::signal) else {
        return Vec::new();
    };
    let options = WriterOptions::new(format).with_compression(Compression::Lz4);
    let mut writer = ArrowIpcWriter::new(Vec::new(), signal, options).unwrap();
    for r in requests {
        writer.write_any(r).unwrap();
    }
    let bytes = writer.finish().unwrap();
    ArrowIpcReader::new(bytes.as_slice(), format)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn traces_round_trip(request in traces()) {
        let batch = traces_to_arrow(&request).unwrap();
        prop_assert_eq!(arrow_to_traces(&batch).unwrap(), request);
    }

    #[test]
    fn metrics_round_trip(request in metrics()) {
        let batch = metrics_to_arrow(&request).unwrap();
        prop_assert_eq!(arrow_to_metrics(&batch).unwrap(), request);
    }

    #[test]
    fn logs_round_trip(request in logs()) {
        let batch = logs_to_arrow(&request).unwrap();
        prop_assert_eq!(arrow_to_logs(&batch).unwrap(), request);
    }

    #[test]
    fn traces_round_trip_through_ipc_stream(requests in vec(traces(), 1..4)) {
        let sent: Vec<AnyRequest> = requests.into_iter().map(AnyRequest::Traces).collect();
        prop_assert_eq!(through_ipc(&sent, IpcFormat::Stream), sent);
    }

    #[test]
    fn metrics_round_trip_through_ipc_file(requests in vec(metrics(), 1..4)) {
        let sent: Vec<AnyRequest> = requests.into_iter().map(AnyRequest::Metrics).collect();
        prop_assert_eq!(through_ipc(&sent, IpcFormat::File), sent);
    }

    #[test]
    fn logs_round_trip_through_ipc_file(requests in vec(logs(), 1..4)) {
        let sent: Vec<AnyRequest> = requests.into_iter().map(AnyRequest::Logs).collect();
        prop_assert_eq!(through_ipc(&sent, IpcFormat::File), sent);
    }
}
