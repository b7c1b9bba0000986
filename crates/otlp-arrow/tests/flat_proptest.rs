//! Property tests of the flat layout: for arbitrary requests of all three signals (every
//! `AnyValue` kind, ids, flags, dropped counts, absent resources and scopes),
//! OTLP → flat Parquet → OTLP and OTLP → flat Arrow IPC → OTLP give back exactly the
//! requests, less the containers that hold no item ([`otlp_arrow::flat::prune_traces`]).

mod strategies;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_arrow::flat::{
    FlatBuilder, FlatIpcReader, FlatIpcWriter, FlatParquetReader, FlatParquetWriter,
    ParquetOptions, decode, prune_logs, prune_metrics, prune_traces,
};
use otlp_arrow::{AnyRequest, Compression, Signal};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::{logs, metrics, traces};

/// What a flat file of `requests` reads back as: one request holding every container
/// that has items, in order.
fn expected(requests: &[AnyRequest]) -> AnyRequest {
    match requests.first() {
        Some(AnyRequest::Traces(_)) | None => {
            let mut all = ExportTraceServiceRequest::default();
            for r in requests {
                if let AnyRequest::Traces(r) = r {
                    all.resource_spans.extend(r.resource_spans.iter().cloned());
                }
            }
            prune_traces(&mut all);
            AnyRequest::Traces(all)
        }
        Some(AnyRequest::Metrics(_)) => {
            let mut all = ExportMetricsServiceRequest::default();
            for r in requests {
                if let AnyRequest::Metrics(r) = r {
                    all.resource_metrics
                        .extend(r.resource_metrics.iter().cloned());
                }
            }
            prune_metrics(&mut all);
            AnyRequest::Metrics(all)
        }
        Some(AnyRequest::Logs(_)) => {
            let mut all = ExportLogsServiceRequest::default();
            for r in requests {
                if let AnyRequest::Logs(r) = r {
                    all.resource_logs.extend(r.resource_logs.iter().cloned());
                }
            }
            prune_logs(&mut all);
            AnyRequest::Logs(all)
        }
    }
}

fn through_parquet(signal: Signal, requests: &[AnyRequest]) -> AnyRequest {
    // Tiny row groups, so containers straddle row group and batch boundaries.
    let options = ParquetOptions::default().with_max_row_group_rows(3);
    let mut writer = FlatParquetWriter::new(Vec::new(), signal, options).unwrap();
    for r in requests {
        writer.write(r).unwrap();
    }
    let bytes = bytes::Bytes::from(writer.finish().unwrap());
    FlatParquetReader::read_all(bytes).unwrap()
}

fn through_ipc(signal: Signal, requests: &[AnyRequest]) -> AnyRequest {
    let mut writer = FlatIpcWriter::new(Vec::new(), signal, Compression::Zstd(1)).unwrap();
    for r in requests {
        writer.write(r).unwrap();
    }
    let bytes = writer.finish().unwrap();
    FlatIpcReader::read_all(std::io::Cursor::new(bytes)).unwrap()
}

fn through_builder(signal: Signal, requests: &[AnyRequest]) -> AnyRequest {
    let mut builder = FlatBuilder::new(signal);
    for r in requests {
        builder.append(r).unwrap();
    }
    decode(&builder.finish().unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn traces_round_trip_through_flat_files(requests in vec(traces(), 1..4)) {
        let sent: Vec<AnyRequest> = requests.into_iter().map(AnyRequest::Traces).collect();
        let want = expected(&sent);
        prop_assert_eq!(&through_builder(Signal::Traces, &sent), &want);
        prop_assert_eq!(&through_parquet(Signal::Traces, &sent), &want);
        prop_assert_eq!(&through_ipc(Signal::Traces, &sent), &want);
    }

    #[test]
    fn metrics_round_trip_through_flat_files(requests in vec(metrics(), 1..4)) {
        let sent: Vec<AnyRequest> = requests.into_iter().map(AnyRequest::Metrics).collect();
        let want = expected(&sent);
        prop_assert_eq!(&through_builder(Signal::Metrics, &sent), &want);
        prop_assert_eq!(&through_parquet(Signal::Metrics, &sent), &want);
        prop_assert_eq!(&through_ipc(Signal::Metrics, &sent), &want);
    }

    #[test]
    fn logs_round_trip_through_flat_files(requests in vec(logs(), 1..4)) {
        let sent: Vec<AnyRequest> = requests.into_iter().map(AnyRequest::Logs).collect();
        let want = expected(&sent);
        prop_assert_eq!(&through_builder(Signal::Logs, &sent), &want);
        prop_assert_eq!(&through_parquet(Signal::Logs, &sent), &want);
        prop_assert_eq!(&through_ipc(Signal::Logs, &sent), &want);
    }
}
