use arrow::array::{Array, AsArray, RecordBatch};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue};

use super::super::test_support::{
    assert_falls_back_to_plain, read, same_as_arrow_writer, testkit, write,
};
use super::super::{FlatParquetWriter, ParquetOptions};
use super::MapView;
use crate::flat::FlatBuilder;
use crate::flat::schema::col;
use crate::{AnyRequest, Signal};

#[test]
fn every_signal_reads_back_as_parquet_rs_wrote_it_at_every_group_size() {
    for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
        let requests = testkit(signal, 3, 3000);
        for rows in [1000, 10_000, 50_000] {
            let options = ParquetOptions::default().with_max_row_group_rows(rows);
            let (ours, arrow) = same_as_arrow_writer(&requests, options);
            // The same encodings: within a few bytes a page of each other.
            let ratio = ours as f64 / arrow as f64;
            assert!(
                (0.97..1.03).contains(&ratio),
                "{signal} {rows}: {ours} vs {arrow}"
            );
        }
    }
}

fn string(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

/// Null and empty maps, every value kind, duplicate keys, and a dictionary that
/// outgrows its limit mid-chunk.
#[test]
fn unusual_maps_and_a_dictionary_fallback_read_back_the_same() {
    let mut requests: Vec<ExportTraceServiceRequest> = (0..4)
        .map(|i| otlp_testkit::Generator::new(i).traces(3000))
        .collect();
    let kinds = [
        Value::BoolValue(true),
        Value::IntValue(-3),
        Value::DoubleValue(f64::NAN),
        Value::BytesValue(vec![0, 255]),
        Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(Value::IntValue(1)),
            }],
        }),
    ];
    let mut n = 0usize;
    for request in &mut requests {
        for (r, resource_spans) in request.resource_spans.iter_mut().enumerate() {
            match r % 4 {
                0 => resource_spans.resource = None,
                1 => {
                    if let Some(resource) = resource_spans.resource.as_mut() {
                        resource.attributes.clear();
                    }
                }
                _ => {}
            }
            for span in resource_spans
                .scope_spans
                .iter_mut()
                .flat_map(|s| s.spans.iter_mut())
            {
                n += 1;
                match n % 5 {
                    0 => span.attributes.clear(),
                    1 => span.attributes.push(KeyValue {
                        key: "kind".into(),
                        value: Some(AnyValue {
                            value: Some(kinds[n % kinds.len()].clone()),
                        }),
                        ..Default::default()
                    }),
                    2 => span.attributes.push(KeyValue {
                        key: "absent".into(),
                        value: None,
                        ..Default::default()
                    }),
                    _ => {}
                }
                // 12 000 distinct 120-byte values: past the 1 MiB dictionary limit.
                span.attributes.push(string("unique", format!("{n:0>120}")));
                span.attributes
                    .push(string("unique", "duplicate key".into()));
            }
        }
    }
    let requests: Vec<_> = requests.into_iter().map(AnyRequest::Traces).collect();
    for rows in [5000, 50_000] {
        let options = ParquetOptions::default().with_max_row_group_rows(rows);
        same_as_arrow_writer(&requests, options);
    }
    let file = write(
        &requests,
        ParquetOptions::default().with_max_row_group_rows(50_000),
        true,
    );
    assert_falls_back_to_plain(file, "attributes.key_value.value.str");
}

/// Row comparison says "equal" exactly where Arrow's own equality does, on every
/// attribute column of realistic rows (a row whose nulls hide different bytes may be
/// called different; the builder writes none).
#[test]
fn rows_compare_as_arrow_compares_them() {
    let AnyRequest::Traces(request) = testkit(Signal::Traces, 1, 3000).remove(0) else {
        unreachable!()
    };
    let mut builder = crate::flat::TracesBuilder::new();
    builder.append_request(&request).unwrap();
    let batch = builder.finish().unwrap();
    let mut resource_runs = 0;
    for name in ["attributes", "resource_attributes", "scope_attributes"] {
        let map = batch.column_by_name(name).unwrap().as_map();
        let view = MapView::new(map, name).unwrap();
        for row in 1..map.len() {
            let same = view.same_rows(row - 1, row);
            assert_eq!(
                same,
                map.slice(row - 1, 1) == map.slice(row, 1),
                "{name} {row}"
            );
            if name == "resource_attributes" && !same {
                resource_runs += 1;
            }
        }
    }
    // A resource's spans are one run of equal rows: written from the columns once.
    assert_eq!(resource_runs + 1, request.resource_spans.len());
}

/// Writes `requests` through `write_batch` in writes of 1024 rows, as the file
/// exporter does, from a builder that repeats the attribute maps or one that runs them.
fn write_in_batches(requests: &[AnyRequest], options: ParquetOptions, runs: bool) -> Bytes {
    let signal = requests[0].signal();
    let mut builder = if runs {
        FlatBuilder::run_encoded(signal)
    } else {
        FlatBuilder::new(signal)
    };
    let mut writer = FlatParquetWriter::new(Vec::new(), signal, options).unwrap();
    for request in requests {
        builder.append(request).unwrap();
        // A refused request leaves no row behind, in the middle of a run of rows too.
        let mut refused = request.clone();
        if let AnyRequest::Traces(traces) = &mut refused {
            let spans = &mut traces.resource_spans[0].scope_spans[0].spans;
            let last = spans.len() - 1;
            spans[last].span_id = vec![1; 3];
        }
        if let AnyRequest::Logs(logs) = &mut refused {
            let records = &mut logs.resource_logs[0].scope_logs[0].log_records;
            let last = records.len() - 1;
            records[last].trace_id = vec![1; 3];
        }
        if signal != Signal::Metrics {
            assert!(builder.append(&refused).is_err());
        }
        while builder.len() >= 1024 {
            let batch = builder.finish().unwrap();
            writer.write_batch(&batch.slice(0, 1024)).unwrap();
            let rest = batch.slice(1024, batch.num_rows() - 1024);
            writer.write_batch(&rest).unwrap();
        }
    }
    writer.write_batch(&builder.finish().unwrap()).unwrap();
    Bytes::from(writer.finish().unwrap())
}

#[test]
fn run_encoded_batches_write_the_same_file_as_repeated_maps() {
    for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
        let requests = testkit(signal, 4, 1500);
        for rows in [1000, 10_000] {
            let options = ParquetOptions::default().with_max_row_group_rows(rows);
            let runs = write_in_batches(&requests, options, true);
            let repeated = write_in_batches(&requests, options, false);
            assert!(runs == repeated, "{signal} at {rows} rows per group");
            // The refused requests took container ids, so only those differ.
            let without_ids = |batch: RecordBatch| {
                let mut batch = batch;
                for id in [col::RESOURCE_ID, col::SCOPE_ID] {
                    let index = batch.schema().index_of(id).unwrap();
                    batch.remove_column(index);
                }
                batch
            };
            let expected = without_ids(read(write(&requests, options, false)));
            assert_eq!(
                without_ids(read(runs)),
                expected,
                "{signal} at {rows} rows per group"
            );
        }
    }
}

#[test]
fn a_run_encoded_batch_of_another_shape_is_refused() {
    let requests = testkit(Signal::Traces, 1, 10);
    let mut builder = FlatBuilder::run_encoded(Signal::Traces);
    builder.append(&requests[0]).unwrap();
    let batch = builder.finish().unwrap();
    let mut writer =
        FlatParquetWriter::new(Vec::new(), Signal::Logs, ParquetOptions::default()).unwrap();
    assert!(matches!(
        writer.write_batch(&batch),
        Err(crate::Error::NotOtlpArrow(_))
    ));
}

#[test]
fn a_batch_of_another_shape_is_refused_after_one_of_the_right_shape_was_taken() {
    let finish = |signal: Signal| {
        let mut builder = FlatBuilder::run_encoded(signal);
        builder.append(&testkit(signal, 1, 10)[0]).unwrap();
        builder.finish().unwrap()
    };
    let (traces, logs) = (finish(Signal::Traces), finish(Signal::Logs));
    let mut writer =
        FlatParquetWriter::new(Vec::new(), Signal::Traces, ParquetOptions::default()).unwrap();
    writer.write_batch(&traces).unwrap();
    assert!(matches!(
        writer.write_batch(&logs),
        Err(crate::Error::NotOtlpArrow(_))
    ));
    writer.write_batch(&traces).unwrap();
}
