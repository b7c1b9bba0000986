//! The flat layout on otlp-testkit traces at 1000 and 10000 spans per row group: write
//! time per span beside prost encode + zstd, and (with `$OTLP_BENCH_NOTES`) bytes per
//! item of every signal beside OTLP protobuf + zstd, the id-and-timestamp floor, the
//! columnar reference and the normalized Arrow Flight stream, with a per-column
//! breakdown of traces and metrics and the part of each side that is structure rather
//! than values (Parquet's repetition and definition levels and footer, the reference's
//! validity and list lengths), written to `$OTLP_BENCH_NOTES/otlp-arrow-flat-sizes.md`.
//! `otlp_arrow_flat_parquet_encode` splits a write into building the rows and encoding
//! them, beside parquet-rs's own floor for the same rows.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use otlp_arrow::flat::{FlatBuilder, FlatParquetWriter, ParquetOptions};
use otlp_arrow::{AnyRequest, ArrowIpcWriter, Compression, IpcFormat, Signal, WriterOptions};
use otlp_testkit::Generator;
use parquet::arrow::ArrowWriter;
use parquet::column::page::Page;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{FileReader, SerializedFileReader};
use prost::Message;

const GROUPS: [usize; 2] = [1000, 10_000];
/// Row groups (and Flight messages) per measured file or stream.
const BATCHES: usize = 10;

fn configure(c: &mut Criterion) -> Criterion {
    std::mem::take(c)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

fn requests(signal: Signal, n: usize, count: usize) -> Vec<AnyRequest> {
    let mut generator = Generator::new(1);
    (0..count)
        .map(|_| match signal {
            Signal::Traces => AnyRequest::Traces(generator.traces(n)),
            Signal::Metrics => AnyRequest::Metrics(generator.metrics(n)),
            Signal::Logs => AnyRequest::Logs(generator.logs(n)),
        })
        .collect()
}

fn options(rows: usize) -> ParquetOptions {
    ParquetOptions::default().with_max_row_group_rows(rows)
}

fn proto(request: &AnyRequest) -> Vec<u8> {
    match request {
        AnyRequest::Traces(r) => r.encode_to_vec(),
        AnyRequest::Metrics(r) => r.encode_to_vec(),
        AnyRequest::Logs(r) => r.encode_to_vec(),
    }
}

/// OTLP → flat Parquet (one row group per request), against prost encode + zstd 3.
fn write_time(c: &mut Criterion) {
    let mut group = c.benchmark_group("otlp_arrow_flat_write");
    for n in GROUPS {
        let request = requests(Signal::Traces, n, 1).remove(0);
        group.throughput(Throughput::Elements(n as u64));
        let mut writer =
            FlatParquetWriter::new(std::io::sink(), Signal::Traces, options(n)).unwrap();
        group.bench_with_input(BenchmarkId::new("flat_parquet", n), &request, |b, r| {
            b.iter(|| writer.write(black_box(r)).unwrap());
        });
        let mut builder = FlatBuilder::new(Signal::Traces);
        group.bench_with_input(BenchmarkId::new("flat_batch", n), &request, |b, r| {
            b.iter(|| {
                builder.append(black_box(r)).unwrap();
                builder.finish().unwrap()
            });
        });
        // What the collector does: the received bytes walked in place, no prost tree.
        let encoded = proto(&request);
        group.bench_with_input(
            BenchmarkId::new("flat_batch_from_encoded", n),
            &encoded,
            |b, bytes| {
                b.iter(|| {
                    builder.append_encoded(black_box(bytes)).unwrap();
                    builder.finish().unwrap()
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("peer_prost_zstd", n), &request, |b, r| {
            b.iter(|| zstd::bulk::compress(&proto(black_box(r)), 3).unwrap());
        });
    }
    group.finish();
}

/// A leaf's path without the wrapper levels lists and maps add (`list`, `item`,
/// `element`, `key_value`), so Arrow's and Parquet's paths of one leaf compare equal.
fn normalized(path: &str) -> String {
    path.split('.')
        .filter(|p| !matches!(*p, "list" | "item" | "element" | "key_value"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Sums per-leaf bytes per top-level column.
fn by_root(leaves: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    let mut roots = BTreeMap::new();
    for (path, bytes) in leaves {
        let root = path.split('.').next().unwrap_or(path).to_owned();
        *roots.entry(root).or_default() += bytes;
    }
    roots
}

/// Compresses `bytes` alone at zstd's strongest level.
fn zstd19(bytes: &[u8]) -> usize {
    if bytes.is_empty() {
        0
    } else {
        zstd::bulk::compress(bytes, 19).unwrap().len()
    }
}

fn validity(array: &dyn Array) -> Vec<u8> {
    match array.nulls() {
        Some(nulls) if nulls.null_count() > 0 => nulls.iter().map(u8::from).collect(),
        _ => Vec::new(),
    }
}

/// What the columnar reference spends, per leaf (`leaves`), and of that on the data's
/// shape rather than its values (`structure`: each nullable node's validity, each list's
/// lengths).
#[derive(Default)]
struct Reference {
    leaves: BTreeMap<String, usize>,
    structure: BTreeMap<String, usize>,
}

impl Reference {
    fn add(&mut self, root: &str, bytes: usize) {
        *self.leaves.entry(root.to_owned()).or_default() += bytes;
    }

    fn add_structure(&mut self, root: &str, bytes: usize) {
        self.add(root, bytes);
        *self.structure.entry(root.to_owned()).or_default() += bytes;
    }
}

/// The columnar reference: every field of the flat schema as its own streams (each
/// leaf's values; each nullable node's validity; each list's lengths), each stream
/// compressed alone with zstd level 19 over the whole row group, bytes summed per
/// top-level column.
fn reference(array: &ArrayRef, path: &str, out: &mut Reference) {
    let root = normalized(path);
    out.add_structure(&root, zstd19(&validity(array.as_ref())));
    match array.data_type() {
        DataType::Struct(_) => {
            let s = array.as_struct();
            for (field, child) in s.fields().iter().zip(s.columns()) {
                reference(child, &format!("{path}.{}", field.name()), out);
            }
        }
        DataType::List(_) | DataType::Map(_, _) => {
            let (offsets, values): (Vec<i32>, ArrayRef) = match array.data_type() {
                DataType::List(_) => {
                    let l = array.as_list::<i32>();
                    (l.value_offsets().to_vec(), l.values().clone())
                }
                _ => {
                    let m = array.as_map();
                    (
                        m.value_offsets().to_vec(),
                        std::sync::Arc::new(m.entries().clone()),
                    )
                }
            };
            let lengths: Vec<u8> = offsets
                .windows(2)
                .flat_map(|w| ((w[1] - w[0]) as u32).to_le_bytes())
                .collect();
            out.add_structure(&root, zstd19(&lengths));
            reference(&values, &format!("{path}.item"), out);
        }
        DataType::Utf8 | DataType::Binary => {
            let (offsets, data): (Vec<i32>, Vec<u8>) = match array.data_type() {
                DataType::Utf8 => {
                    let s = array.as_string::<i32>();
                    (s.value_offsets().to_vec(), s.value_data().to_vec())
                }
                _ => {
                    let b = array.as_binary::<i32>();
                    (b.value_offsets().to_vec(), b.value_data().to_vec())
                }
            };
            let lengths: Vec<u8> = offsets
                .windows(2)
                .enumerate()
                .filter(|(i, _)| array.is_valid(*i))
                .flat_map(|(_, w)| ((w[1] - w[0]) as u32).to_le_bytes())
                .collect();
            out.add(&root, zstd19(&lengths) + zstd19(&data));
        }
        DataType::Boolean => {
            let b = array.as_boolean();
            let values: Vec<u8> = (0..b.len())
                .filter(|&i| b.is_valid(i))
                .map(|i| u8::from(b.value(i)))
                .collect();
            out.add(&root, zstd19(&values));
        }
        DataType::FixedSizeBinary(width) => {
            let f = array.as_fixed_size_binary();
            let values: Vec<u8> = (0..f.len())
                .filter(|&i| f.is_valid(i))
                .flat_map(|i| f.value(i).to_vec())
                .collect();
            debug_assert_eq!(values.len() % *width as usize, 0);
            out.add(&root, zstd19(&values));
        }
        t if t.is_primitive() => {
            let width = t.primitive_width().unwrap_or(8);
            let data = array.to_data();
            let buffer = &data.buffers()[0];
            let values: Vec<u8> = (0..array.len())
                .filter(|&i| array.is_valid(i))
                .flat_map(|i| buffer.as_slice()[(data.offset() + i) * width..][..width].to_vec())
                .collect();
            out.add(&root, zstd19(&values));
        }
        other => panic!("no reference for {other}"),
    }
}

fn flat_batches(signal: Signal, requests: &[AnyRequest]) -> Vec<RecordBatch> {
    let mut builder = FlatBuilder::new(signal);
    requests
        .iter()
        .map(|r| {
            builder.append(r).unwrap();
            builder.finish().unwrap()
        })
        .collect()
}

/// The Parquet file of `requests` (row group = request), measured.
struct ParquetSizes {
    /// The whole file.
    file: usize,
    /// Column chunk bytes (page headers and dictionary pages included) per leaf.
    leaves: BTreeMap<String, usize>,
    /// What the data pages spend on repetition and definition levels, per leaf
    /// ([`level_bytes`]).
    levels: BTreeMap<String, usize>,
    /// The bloom filters (`trace_id`'s), part of what is outside the column chunks.
    bloom_filters: usize,
}

fn parquet_file(signal: Signal, requests: &[AnyRequest], n: usize) -> ParquetSizes {
    parquet_file_with(signal, requests, options(n))
}

fn parquet_file_with(
    signal: Signal,
    requests: &[AnyRequest],
    options: ParquetOptions,
) -> ParquetSizes {
    let mut writer = FlatParquetWriter::new(Vec::new(), signal, options).unwrap();
    for r in requests {
        writer.write(r).unwrap();
    }
    let bytes = bytes::Bytes::from(writer.finish().unwrap());
    let reader = SerializedFileReader::new(bytes.clone()).unwrap();
    let mut leaves = BTreeMap::new();
    let mut bloom_filters = 0;
    for group in reader.metadata().row_groups() {
        for column in group.columns() {
            let path = normalized(&column.column_path().parts().join("."));
            *leaves.entry(path).or_default() += column.compressed_size() as usize;
            bloom_filters += column.bloom_filter_length().unwrap_or(0) as usize;
        }
    }
    // A measurement of something that does not read back would be worthless.
    let back = otlp_arrow::flat::FlatParquetReader::read_all(bytes.clone()).unwrap();
    let items: usize = item_count(&[back]);
    assert_eq!(items, item_count(requests));
    ParquetSizes {
        file: bytes.len(),
        leaves,
        levels: level_bytes(&reader, options.zstd_level),
        bloom_filters,
    }
}

/// What a file's data pages spend on repetition and definition levels: each page's size
/// compressed as the writer compresses it (version 1 pages: levels and values in one zstd
/// frame), less the size of its values compressed alone. A leaf under a list repeats the
/// list's lengths, and every ancestor's nulls, in its own levels, where the columnar
/// reference stores each list's lengths and each node's validity once.
fn level_bytes(
    reader: &SerializedFileReader<bytes::Bytes>,
    zstd_level: i32,
) -> BTreeMap<String, usize> {
    let compressed = |bytes: &[u8]| {
        if bytes.is_empty() {
            0
        } else {
            zstd::bulk::compress(bytes, zstd_level).unwrap().len()
        }
    };
    let mut per_leaf = BTreeMap::new();
    for (i, group) in reader.metadata().row_groups().iter().enumerate() {
        let row_group = reader.get_row_group(i).unwrap();
        for (j, column) in group.columns().iter().enumerate() {
            let descr = column.column_descr();
            let total: &mut usize = per_leaf
                .entry(normalized(&column.column_path().parts().join(".")))
                .or_default();
            let levels = [descr.max_rep_level(), descr.max_def_level()];
            for page in row_group.get_column_page_reader(j).unwrap() {
                let Page::DataPage { buf, .. } = page.unwrap() else {
                    continue;
                };
                // Version 1 pages: each level stream RLE encoded behind its 4-byte length.
                let mut values_at = 0;
                for _ in levels.iter().filter(|max| **max > 0) {
                    let length: [u8; 4] = buf[values_at..values_at + 4].try_into().unwrap();
                    values_at += 4 + u32::from_le_bytes(length) as usize;
                }
                *total += compressed(&buf).saturating_sub(compressed(&buf[values_at..]));
            }
        }
    }
    per_leaf
}

fn item_count(requests: &[AnyRequest]) -> usize {
    requests
        .iter()
        .map(|r| match r {
            AnyRequest::Traces(r) => otlp_testkit::span_count(r),
            AnyRequest::Metrics(r) => otlp_testkit::data_point_count(r),
            AnyRequest::Logs(r) => otlp_testkit::log_record_count(r),
        })
        .sum()
}

/// The normalized Arrow stream as Flight sends it: each request's messages compressed
/// whole with zstd 3 (gRPC compression), dictionaries once then as deltas.
fn flight_bytes(signal: Signal, requests: &[AnyRequest]) -> usize {
    let options = WriterOptions::new(IpcFormat::Stream).with_compression(Compression::None);
    let mut writer = ArrowIpcWriter::new(Vec::new(), signal, options).unwrap();
    let (mut total, mut written) = (0, 0);
    for r in requests {
        writer.write_any(r).unwrap();
        writer.flush().unwrap();
        let bytes = writer.get_ref();
        total += zstd::bulk::compress(&bytes[written..], 3).unwrap().len();
        written = bytes.len();
    }
    total
}

/// Span ids, trace ids, start times (as the difference to the previous span) and
/// durations, each compressed alone per request at zstd 19: what no encoding of
/// these spans avoids.
fn id_and_time_floor(requests: &[AnyRequest]) -> usize {
    let mut floor = 0;
    for r in requests {
        let AnyRequest::Traces(r) = r else { continue };
        let mut fields: [Vec<u8>; 4] = Default::default();
        let mut previous = 0u64;
        for s in r
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
        {
            fields[0].extend_from_slice(&s.span_id);
            fields[1].extend_from_slice(&s.trace_id);
            fields[2]
                .extend_from_slice(&s.start_time_unix_nano.wrapping_sub(previous).to_le_bytes());
            previous = s.start_time_unix_nano;
            fields[3].extend_from_slice(
                &s.end_time_unix_nano
                    .wrapping_sub(s.start_time_unix_nano)
                    .to_le_bytes(),
            );
        }
        floor += fields.iter().map(|f| zstd19(f)).sum::<usize>();
    }
    floor
}

fn size_notes() {
    let Some(dir) = std::env::var_os("OTLP_BENCH_NOTES") else {
        return;
    };
    let mut md = String::from(
        "### otlp-arrow: flat Parquet bytes per item\n\n\
         otlp-testkit data (seed 1), 10 requests of *batch* items; Parquet with one row group \
         per request (zstd 3; dictionaries for strings, byte-stream-split numbers, delta ids and \
         times; chunk statistics, a page index only above 20000 rows per group; trace_id \
         bloom filter; the whole file, footer included). *OTLP+zstd*: each request's protobuf \
         compressed alone at zstd 3. *Columnar reference*: every field of the flat schema as \
         its own streams (each leaf's values, each nullable node's validity, each list's \
         lengths), each stream compressed alone at zstd 19 over the whole row group, summed. \
         *Floor*: span id, trace id, start-time delta and duration alone at zstd 19 (traces). \
         *Flight*: the normalized Arrow stream, each request's messages zstd 3 (gRPC \
         compression).\n\n\
         | signal | batch | flat Parquet | columnar reference | Parquet / reference | OTLP+zstd | OTLP+zstd / Parquet | Flight stream | Flight / reference | OTLP+zstd / Flight | id+time floor |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut breakdown = String::new();
    let mut structure = String::from(
        "\n**Where Parquet and the reference differ: levels and footer against values** (bytes \
         per item). *Levels*: what the data pages spend on repetition and definition levels \
         (each page compressed as written, less its values compressed alone at the same \
         level). Parquet stores a list's lengths, and the nulls of every node above a leaf, \
         again in each leaf's levels; the reference stores each list's lengths and each \
         node's validity once (*structure*). *Values*: everything else, page headers and \
         dictionaries included for Parquet.\n\n\
         | signal | batch | flat Parquet | levels | footer and page index | `trace_id` bloom filters | values | columnar reference | structure | values | Parquet / reference | values / values |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        for n in GROUPS {
            let reqs = requests(signal, n, BATCHES);
            let items = item_count(&reqs) as f64;
            let per = |b: usize| b as f64 / items;
            let sizes = parquet_file(signal, &reqs, n);
            let (parquet, parquet_leaves) = (sizes.file, &sizes.leaves);
            let mut reference_sizes = Reference::default();
            for batch in flat_batches(signal, &reqs) {
                for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                    reference(column, field.name(), &mut reference_sizes);
                }
            }
            let reference_leaves = &reference_sizes.leaves;
            let per_column = by_root(parquet_leaves);
            let reference_columns = by_root(reference_leaves);
            let reference_total: usize = reference_columns.values().sum();
            let chunks: usize = per_column.values().sum();
            let footer = parquet - chunks;
            let levels: usize = sizes.levels.values().sum();
            let reference_structure: usize = reference_sizes.structure.values().sum();
            let footer_only = footer - sizes.bloom_filters;
            let parquet_values = parquet - footer - levels;
            let reference_values = reference_total - reference_structure;
            structure.push_str(&format!(
                "| {signal} | {n} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}x | {:.2}x |\n",
                per(parquet),
                per(levels),
                per(footer_only),
                per(sizes.bloom_filters),
                per(parquet_values),
                per(reference_total),
                per(reference_structure),
                per(reference_values),
                parquet as f64 / reference_total as f64,
                parquet_values as f64 / reference_values as f64,
            ));
            let otlp: usize = reqs
                .iter()
                .map(|r| zstd::bulk::compress(&proto(r), 3).unwrap().len())
                .sum();
            let flight = flight_bytes(signal, &reqs);
            let floor = if signal == Signal::Traces {
                format!("{:.2}", per(id_and_time_floor(&reqs)))
            } else {
                "–".into()
            };
            md.push_str(&format!(
                "| {signal} | {n} | {:.2} | {:.2} | {:.2}x | {:.2} | {:.2}x | {:.2} | {:.2}x | {:.2}x | {floor} |\n",
                per(parquet),
                per(reference_total),
                parquet as f64 / reference_total as f64,
                per(otlp),
                otlp as f64 / parquet as f64,
                per(flight),
                flight as f64 / reference_total as f64,
                otlp as f64 / flight as f64,
            ));
            if let Some((title, unit)) = match signal {
                Signal::Traces => Some(("Traces", "span")),
                Signal::Metrics => Some(("Metrics", "data point")),
                Signal::Logs => None,
            } {
                breakdown.push_str(&format!(
                    "\n**{title}, {n} {unit}s per row group, bytes per {unit} by column** \
                     (Parquet: column chunks with their page headers and dictionaries, and of \
                     that the levels; reference: all its streams, and of that the structure; \
                     the footer and bloom filters are the rest of the file):\n\n\
                     | column | flat Parquet | levels | columnar reference | structure | difference |\n\
                     |---|---:|---:|---:|---:|---:|\n"
                ));
                let column_levels = by_root(&sizes.levels);
                let column_structure = by_root(&reference_sizes.structure);
                let mut rows: Vec<(&String, usize, usize)> = reference_columns
                    .iter()
                    .map(|(name, r)| (name, per_column.get(name).copied().unwrap_or(0), *r))
                    .collect();
                rows.sort_by_key(|(_, p, r)| std::cmp::Reverse(*p.max(r)));
                for (name, p, r) in rows {
                    let levels = column_levels.get(name).copied().unwrap_or(0);
                    let structure = column_structure.get(name).copied().unwrap_or(0);
                    breakdown.push_str(&format!(
                        "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:+.2} |\n",
                        per(p),
                        per(levels),
                        per(r),
                        per(structure),
                        per(p) - per(r)
                    ));
                }
                breakdown.push_str(&format!(
                    "| *footer, bloom filters, page index* | {:.2} | | – | | |\n",
                    per(footer)
                ));
                breakdown.push_str(
                    "\nThe same by leaf, for the nested columns (a leaf's reference is its own \
                     values and validity; list lengths and the validity of the levels above are \
                     counted in the column's total only):\n\n\
                     | leaf | flat Parquet | columnar reference | difference |\n|---|---:|---:|---:|\n",
                );
                for (path, p) in parquet_leaves {
                    if !path.contains('.') {
                        continue;
                    }
                    let r = reference_leaves.get(path).copied().unwrap_or(0);
                    if per(*p).max(per(r)) >= 0.05 {
                        breakdown.push_str(&format!(
                            "| {path} | {:.2} | {:.2} | {:+.2} |\n",
                            per(*p),
                            per(r),
                            per(*p) - per(r)
                        ));
                    }
                }
            }
        }
    }
    md.push_str("\nBytes per span (traces), per data point (metrics), per log record (logs).\n");
    md.push_str(&structure);
    let reqs = requests(Signal::Traces, 10_000, BATCHES);
    let items = item_count(&reqs) as f64;
    md.push_str(
        "\n**Traces at 10000 spans per row group by the pages' zstd level** (bytes per span; \
         the default is 3):\n\n| zstd level | 1 | 3 | 6 | 9 | 19 |\n|---|---:|---:|---:|---:|---:|\n| flat Parquet |",
    );
    for level in [1, 3, 6, 9, 19] {
        let options = ParquetOptions {
            zstd_level: level,
            ..options(10_000)
        };
        let sizes = parquet_file_with(Signal::Traces, &reqs, options);
        md.push_str(&format!(" {:.2} |", sizes.file as f64 / items));
    }
    md.push('\n');
    md.push_str(&breakdown);
    let path = std::path::Path::new(&dir).join("otlp-arrow-flat-sizes.md");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&path, &md).unwrap();
    println!("{md}");
}

/// Where the time of a flat Parquet write goes, on what the collector writes (requests of 100 realistic spans, read
/// in place, 10 000 rows per row group): building the rows from the received bytes, then encoding them with our
/// writer, beside parquet-rs's `ArrowWriter` writing the same rows with the same settings (the writer ours replaces
/// for the attribute maps), at its cheapest (no dictionary, statistics or compression: its floor for this schema)
/// and with its default settings.
fn encode_time(c: &mut Criterion) {
    const ROWS: usize = 10_000;
    let mut group = c.benchmark_group("otlp_arrow_flat_parquet_encode");
    group.throughput(Throughput::Elements(ROWS as u64));
    let mut generator = Generator::new(3);
    let encoded: Vec<Vec<u8>> = (0..ROWS / 100)
        .map(|_| generator.traces(100).encode_to_vec())
        .collect();
    let mut builder = FlatBuilder::new(Signal::Traces);
    group.bench_function(BenchmarkId::new("build_rows_from_encoded", ROWS), |b| {
        b.iter(|| {
            for request in &encoded {
                builder.append_encoded(black_box(request)).unwrap();
            }
            builder.finish().unwrap()
        });
    });
    for request in &encoded {
        builder.append_encoded(request).unwrap();
    }
    let rows = builder.finish().unwrap();
    let mut ours = FlatParquetWriter::new(std::io::sink(), Signal::Traces, options(ROWS)).unwrap();
    group.bench_function(BenchmarkId::new("encode_rows", ROWS), |b| {
        b.iter(|| ours.write_batch(black_box(&rows)).unwrap());
    });
    let cheapest = WriterProperties::builder()
        .set_max_row_group_row_count(Some(ROWS))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_compression(parquet::basic::Compression::UNCOMPRESSED)
        .build();
    let defaults = WriterProperties::builder()
        .set_max_row_group_row_count(Some(ROWS))
        .build();
    let same = options(ROWS).writer_properties(Signal::Traces).unwrap();
    for (name, props) in [
        ("peer_arrow_writer_same_settings", same),
        ("peer_parquet_rs_cheapest", cheapest),
        ("peer_parquet_rs_defaults", defaults),
    ] {
        let mut writer = ArrowWriter::try_new(std::io::sink(), rows.schema(), Some(props)).unwrap();
        group.bench_function(BenchmarkId::new(name, ROWS), |b| {
            b.iter(|| writer.write(black_box(&rows)).unwrap());
        });
    }
    group.finish();
}

/// `find_trace`'s row filter: which rows of a batch's `trace_id` column hold the wanted trace, on the
/// `trace_id` column of otlp-testkit spans (a trace's spans side by side, as the collector writes them),
/// beside arrow's own comparison kernel (`cmp::eq` against a scalar) and the per-row iterator the filter
/// used before.
fn id_filter(c: &mut Criterion) {
    let rows = otlp_arrow::flat::READ_BATCH_ROWS;
    let batch = flat_batches(Signal::Traces, &requests(Signal::Traces, rows, 1)).remove(0);
    let ids = batch
        .column_by_name(otlp_arrow::flat::col::TRACE_ID)
        .unwrap()
        .as_fixed_size_binary()
        .clone();
    let wanted: [u8; 16] = ids.value(rows / 2).try_into().unwrap();
    let expected = ids
        .iter()
        .filter(|id| *id == Some(wanted.as_slice()))
        .count();
    let mut group = c.benchmark_group("otlp_arrow_id_filter");
    group.throughput(Throughput::Elements(ids.len() as u64));
    group.bench_function(BenchmarkId::new("otlp_arrow", "trace_id"), |b| {
        b.iter(|| otlp_arrow::flat::id_equals(black_box(&ids), &wanted).unwrap())
    });
    let scalar = arrow::array::Scalar::new(
        arrow::array::FixedSizeBinaryArray::try_from_iter([wanted].into_iter()).unwrap(),
    );
    assert_eq!(
        arrow::compute::kernels::cmp::eq(&ids, &scalar)
            .unwrap()
            .true_count(),
        expected
    );
    group.bench_function(BenchmarkId::new("peer_arrow_cmp_eq", "trace_id"), |b| {
        b.iter(|| arrow::compute::kernels::cmp::eq(black_box(&ids), &scalar).unwrap())
    });
    group.bench_function(BenchmarkId::new("peer_per_row_iterator", "trace_id"), |b| {
        b.iter(|| {
            black_box(&ids)
                .iter()
                .map(|id| Some(id == Some(wanted.as_slice())))
                .collect::<arrow::array::BooleanArray>()
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    size_notes();
    let mut c = configure(c);
    write_time(&mut c);
    encode_time(&mut c);
    id_filter(&mut c);
}

criterion_group!(flat, benches);
criterion_main!(flat);
