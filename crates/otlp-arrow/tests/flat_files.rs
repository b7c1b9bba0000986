//! Flat Parquet and Arrow files as an exporter and `inspect` use them: the numbers a
//! rotating writer needs, what a killed writer leaves, the trace lookup that skips row
//! groups by bloom filter, projections, and hostile files.

use std::collections::HashSet;

use arrow::array::AsArray;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_arrow::flat::{
    FlatIpcReader, FlatIpcWriter, FlatParquetReader, FlatParquetWriter, ParquetOptions, col,
};
use otlp_arrow::{AnyRequest, Compression, Error, Signal};
use otlp_testkit::Generator;

/// The spans of `requests`, in order.
fn spans_of<'a>(
    requests: impl IntoIterator<Item = &'a ExportTraceServiceRequest>,
) -> Vec<&'a Span> {
    requests
        .into_iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect()
}

fn traces(seed: u64, requests: usize, spans: usize) -> Vec<ExportTraceServiceRequest> {
    let mut generator = Generator::new(seed);
    (0..requests).map(|_| generator.traces(spans)).collect()
}

fn parquet_of(requests: &[ExportTraceServiceRequest], rows_per_group: usize) -> bytes::Bytes {
    let options = ParquetOptions::default().with_max_row_group_rows(rows_per_group);
    let mut writer = FlatParquetWriter::new(Vec::new(), Signal::Traces, options).unwrap();
    for r in requests {
        writer.write(&AnyRequest::Traces(r.clone())).unwrap();
    }
    bytes::Bytes::from(writer.finish().unwrap())
}

#[test]
fn the_writer_reports_rows_and_bytes_for_rotation() {
    let requests = traces(1, 5, 1000);
    let options = ParquetOptions::default().with_max_row_group_rows(2000);
    let mut writer = FlatParquetWriter::new(Vec::new(), Signal::Traces, options).unwrap();
    writer
        .write(&AnyRequest::Traces(requests[0].clone()))
        .unwrap();
    // The first row group is still open: nothing but the magic has reached the sink.
    assert_eq!(writer.rows_written(), 1000);
    assert!(writer.bytes_written() <= 4, "{}", writer.bytes_written());
    assert!(writer.in_progress_bytes() > 0);
    for r in &requests[1..] {
        writer.write(&AnyRequest::Traces(r.clone())).unwrap();
    }
    assert_eq!(writer.rows_written(), 5000);
    let flushed = writer.bytes_written();
    assert!(flushed > 4, "two full row groups reached the sink");
    assert!(
        writer.in_progress_bytes() > 0,
        "1000 rows wait in the third"
    );
    writer.flush().unwrap();
    assert!(writer.bytes_written() > flushed);
    assert_eq!(writer.in_progress_bytes(), 0);
    let file = bytes::Bytes::from(writer.finish().unwrap());
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader as _;
    assert_eq!(reader.metadata().file_metadata().num_rows(), 5000);
    assert_eq!(reader.metadata().num_row_groups(), 3);
}

#[test]
fn a_file_without_its_footer_is_refused_and_finished_files_stay_readable() {
    let requests = traces(2, 3, 500);
    let options = ParquetOptions::default().with_max_row_group_rows(500);
    let mut writer = FlatParquetWriter::new(Vec::new(), Signal::Traces, options).unwrap();
    for r in &requests {
        writer.write(&AnyRequest::Traces(r.clone())).unwrap();
    }
    // What a killed process leaves: the row groups written so far, no footer.
    let partial = bytes::Bytes::copy_from_slice(writer.get_ref());
    assert!(partial.len() > 1000, "two row groups were written");
    assert!(FlatParquetReader::new(partial).is_err());
    let complete = writer.finish().unwrap();
    for cut in [complete.len() / 2, complete.len() - 1, 3] {
        let truncated = bytes::Bytes::copy_from_slice(&complete[..cut]);
        assert!(
            FlatParquetReader::new(truncated).is_err(),
            "a file cut at {cut} bytes must not read"
        );
    }
    let back = FlatParquetReader::read_all(bytes::Bytes::from(complete)).unwrap();
    let AnyRequest::Traces(back) = back else {
        panic!("not traces")
    };
    assert_eq!(otlp_testkit::span_count(&back), 1500);
}

#[test]
fn find_trace_reads_only_the_row_groups_that_may_hold_it() {
    // Whole traces, so every trace lives in one request and one row group.
    let mut generator = Generator::new(3);
    let requests: Vec<_> = (0..12).map(|_| generator.whole_traces(400)).collect();
    let file = parquet_of(&requests, 400);
    let target = &requests[7].resource_spans[0].scope_spans[0].spans[0];
    let id: [u8; 16] = target.trace_id.as_slice().try_into().unwrap();
    let (found, search) = FlatParquetReader::find_trace(file.clone(), &id).unwrap();
    assert!(search.row_groups >= 12, "{search:?}");
    assert!(
        search.read <= 2,
        "the bloom filters leave at most a false positive: {search:?}"
    );
    assert_eq!(
        search.read + search.skipped_by_bloom_filter + search.skipped_by_statistics,
        search.row_groups
    );
    // Exactly the spans of that trace, with everything they carry.
    let mut expected = spans_of(&requests);
    expected.retain(|s| s.trace_id == id);
    let got = spans_of([&found]);
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    for rs in &found.resource_spans {
        assert!(rs.resource.is_some(), "spans come with their resource");
    }

    let (none, search) = FlatParquetReader::find_trace(file, &[0xAB; 16]).unwrap();
    assert!(none.resource_spans.is_empty());
    assert!(search.skipped_by_bloom_filter + search.skipped_by_statistics >= search.row_groups - 1);
}

#[test]
fn find_trace_in_row_groups_of_several_pages_reads_the_trace_whole() {
    // Above 10 000 rows per group the file has a page index (pages of 10 000 rows), which find_trace loads to
    // skip the pages of the other columns that hold none of the trace's rows. Requests of 7 000 spans put page
    // boundaries inside requests, so some traces straddle two pages.
    let mut generator = Generator::new(4);
    let requests: Vec<_> = (0..4).map(|_| generator.whole_traces(7000)).collect();
    let file = parquet_of(&requests, 50_000);
    let metadata = parquet::file::serialized_reader::SerializedFileReader::new(file.clone())
        .map(|reader| parquet::file::reader::FileReader::metadata(&reader).clone())
        .unwrap();
    assert_eq!(metadata.num_row_groups(), 1);
    assert!(metadata.row_group(0).num_rows() > 20_000);
    let spans = spans_of(&requests);
    for row in [0, 9_999, 10_000, 14_000, 20_001, spans.len() - 1] {
        let id: [u8; 16] = spans[row].trace_id.as_slice().try_into().unwrap();
        let (found, search) = FlatParquetReader::find_trace(file.clone(), &id).unwrap();
        assert_eq!(search.read, 1);
        let mut expected = spans.clone();
        expected.retain(|s| s.trace_id == id);
        assert_eq!(spans_of([&found]), expected, "the trace of row {row}");
    }
}

#[test]
fn scan_reads_only_the_columns_asked_for() {
    let requests = traces(4, 2, 3000);
    let file = parquet_of(&requests, 2500);
    let columns = [
        col::SERVICE_NAME,
        col::NAME,
        col::DURATION_NS,
        col::STATUS_CODE,
    ];
    let mut rows = 0;
    let mut services = HashSet::new();
    for batch in FlatParquetReader::scan(file.clone(), &columns).unwrap() {
        let batch = batch.unwrap();
        assert_eq!(batch.num_columns(), 4);
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, columns);
        let service = batch.column(0).as_string::<i32>();
        services.extend(service.iter().flatten().map(str::to_owned));
        rows += batch.num_rows();
    }
    assert_eq!(rows, 6000);
    assert!(services.len() > 3, "{services:?}");
    assert!(matches!(
        FlatParquetReader::scan(file, &["no_such_column"]).err(),
        Some(Error::MissingColumn(_))
    ));
}

#[test]
fn the_arrow_file_reports_and_reads_back() {
    let requests = traces(5, 3, 700);
    let mut writer = FlatIpcWriter::new(Vec::new(), Signal::Traces, Compression::Zstd(3)).unwrap();
    for r in &requests {
        writer.write(&AnyRequest::Traces(r.clone())).unwrap();
    }
    assert_eq!(writer.rows_written(), 2100);
    assert!(writer.bytes_written() > 0);
    let file = writer.finish().unwrap();
    let reader = FlatIpcReader::new(std::io::Cursor::new(&file)).unwrap();
    assert_eq!(reader.num_batches(), 3);
    let back: Vec<AnyRequest> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(
        back,
        requests
            .into_iter()
            .map(AnyRequest::Traces)
            .collect::<Vec<_>>()
    );
}

#[test]
fn hostile_files_are_errors_not_panics() {
    let requests = traces(6, 1, 300);
    let parquet = parquet_of(&requests, 300);
    let mut ipc = FlatIpcWriter::new(Vec::new(), Signal::Traces, Compression::None).unwrap();
    ipc.write(&AnyRequest::Traces(requests[0].clone())).unwrap();
    let ipc = ipc.finish().unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..200 {
        let mut p = parquet.to_vec();
        let mut a = ipc.clone();
        for _ in 0..1 + round % 8 {
            let i = next() as usize % p.len();
            p[i] ^= (next() as u8) | 1;
            let j = next() as usize % a.len();
            a[j] ^= (next() as u8) | 1;
        }
        if let Ok(mut reader) = FlatParquetReader::new(bytes::Bytes::from(p)) {
            while let Ok(Some(_)) = reader.next_request() {}
        }
        if let Ok(mut reader) = FlatIpcReader::new(std::io::Cursor::new(a)) {
            while let Ok(Some(_)) = reader.next_request() {}
        }
    }
    assert!(FlatParquetReader::new(bytes::Bytes::from_static(b"PAR1garbagePAR1")).is_err());
    assert!(
        FlatIpcReader::new(std::io::Cursor::new(
            b"ARROW1\0\0garbage....ARROW1".to_vec()
        ))
        .is_err()
    );
    // A Parquet file that is not a flat one.
    let normalized = otlp_arrow::traces_to_arrow(&requests[0]).unwrap();
    let mut other =
        parquet::arrow::ArrowWriter::try_new(Vec::new(), normalized.schema(), None).unwrap();
    other.write(&normalized).unwrap();
    let other = bytes::Bytes::from(other.into_inner().unwrap());
    assert!(matches!(
        FlatParquetReader::new(other).err(),
        Some(Error::NotOtlpArrow(_))
    ));
}

#[test]
fn bad_options_and_requests_of_another_signal_are_refused() {
    let bad = [
        ParquetOptions::default().with_max_row_group_rows(0),
        ParquetOptions {
            zstd_level: 40,
            ..ParquetOptions::default()
        },
        ParquetOptions {
            trace_id_bloom_fpp: Some(1.5),
            ..ParquetOptions::default()
        },
        ParquetOptions {
            max_row_group_bytes: 0,
            ..ParquetOptions::default()
        },
    ];
    for options in bad {
        assert!(matches!(
            FlatParquetWriter::new(Vec::new(), Signal::Traces, options).err(),
            Some(Error::InvalidOptions(_))
        ));
    }
    let mut writer =
        FlatParquetWriter::new(Vec::new(), Signal::Logs, ParquetOptions::default()).unwrap();
    let traces = AnyRequest::Traces(traces(7, 1, 10).remove(0));
    assert!(matches!(
        writer.write(&traces),
        Err(Error::WrongSignal { .. })
    ));
    // A request with a bad id is refused whole; the file is unaffected.
    let mut bad = traces.clone();
    if let AnyRequest::Traces(r) = &mut bad {
        let span = r
            .resource_spans
            .iter_mut()
            .flat_map(|rs| &mut rs.scope_spans)
            .flat_map(|ss| &mut ss.spans)
            .nth(3)
            .unwrap();
        span.span_id = vec![1, 2, 3];
    }
    let mut writer =
        FlatParquetWriter::new(Vec::new(), Signal::Traces, ParquetOptions::default()).unwrap();
    assert!(matches!(
        writer.write(&bad),
        Err(Error::InvalidId { actual: 3, .. })
    ));
    assert_eq!(writer.rows_written(), 0);
    writer.write(&traces).unwrap();
    let back = FlatParquetReader::read_all(bytes::Bytes::from(writer.finish().unwrap())).unwrap();
    assert_eq!(back, traces);
}
