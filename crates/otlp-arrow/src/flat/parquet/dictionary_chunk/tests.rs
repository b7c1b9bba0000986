use std::cmp::Ordering;
use std::ops::Range;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, UInt32Type};
use bytes::Bytes;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::trace::v1::ScopeSpans;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use parquet::file::page_index::column_index::ColumnIndexMetaData;

use super::super::ParquetOptions;
use super::super::test_support::{
    assert_falls_back_to_plain, read, same_as_arrow_writer, testkit, write,
};
use super::{Kind, lower_bound, upper_bound};
use crate::flat::resource::{RUN_COLUMNS, SERVICE_NAME_KEY};
use crate::{AnyRequest, Signal};

fn metadata(file: Bytes) -> std::sync::Arc<ParquetMetaData> {
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .unwrap()
        .metadata()
        .clone()
}

/// A page of a column index: null page, null count, min and max as bytes.
type IndexPage = (bool, Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>);

fn index_pages(index: &ColumnIndexMetaData) -> Vec<IndexPage> {
    let pages = index.num_pages() as usize;
    (0..pages)
        .map(|page| {
            let (min, max) = match index {
                ColumnIndexMetaData::BYTE_ARRAY(index) => (
                    index.min_value(page).map(<[u8]>::to_vec),
                    index.max_value(page).map(<[u8]>::to_vec),
                ),
                ColumnIndexMetaData::INT32(index) => (
                    index.min_value(page).map(|v| v.to_le_bytes().to_vec()),
                    index.max_value(page).map(|v| v.to_le_bytes().to_vec()),
                ),
                other => panic!("a column index of another type: {other:?}"),
            };
            (index.is_null_page(page), index.null_count(page), min, max)
        })
        .collect()
}

/// What a column index says of `rows` of `column`, as parquet-rs computes it (strings
/// truncated to the 64 bytes it keeps).
fn expected_page(column: &ArrayRef, rows: Range<usize>) -> IndexPage {
    let values = column.slice(rows.start, rows.len());
    let nulls = values.null_count();
    let bytes: Vec<Vec<u8>> = match values.data_type() {
        DataType::Utf8 => values
            .as_string::<i32>()
            .iter()
            .flatten()
            .map(|v| v.as_bytes().to_vec())
            .collect(),
        DataType::UInt32 => values
            .as_primitive::<UInt32Type>()
            .iter()
            .flatten()
            .map(|v| v.to_le_bytes().to_vec())
            .collect(),
        other => panic!("{other}"),
    };
    let kind = if values.data_type() == &DataType::Utf8 {
        Kind::Utf8
    } else {
        Kind::UInt32
    };
    let order = |a: &&Vec<u8>, b: &&Vec<u8>| {
        if kind.less(a, b) {
            Ordering::Less
        } else if kind.less(b, a) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    };
    let min = bytes
        .iter()
        .min_by(order)
        .map(|v| lower_bound(kind, v, Some(64)).0);
    let max = bytes
        .iter()
        .max_by(order)
        .map(|v| upper_bound(kind, v, Some(64)).0);
    (nulls == values.len(), Some(nulls as i64), min, max)
}

/// Writes `requests` with our chunks and with parquet-rs's, checks that every reader sees
/// the same rows, that the resource and scope columns carry the same chunk statistics in
/// every row group, and that their column index says of each page what its rows hold.
/// (parquet-rs cuts pages a little differently, so page indexes are not compared.)
fn same_statistics_as_arrow_writer(requests: &[AnyRequest], options: ParquetOptions) {
    same_as_arrow_writer(requests, options);
    let file = write(requests, options, true);
    let rows = read(file.clone());
    let ours = metadata(file);
    let arrow = metadata(write(requests, options, false));
    assert_eq!(ours.num_row_groups(), arrow.num_row_groups());
    let schema = ours.file_metadata().schema_descr();
    let leaves: Vec<usize> = (0..schema.num_columns())
        .filter(|&i| RUN_COLUMNS.contains(&schema.column(i).path().string().as_str()))
        .collect();
    assert_eq!(leaves.len(), RUN_COLUMNS.len());
    let mut first_row = 0;
    for group in 0..ours.num_row_groups() {
        for &leaf in &leaves {
            let (a, b) = (
                ours.row_group(group).column(leaf),
                arrow.row_group(group).column(leaf),
            );
            let name = a.column_path().string();
            assert_eq!(a.statistics(), b.statistics(), "{name} in group {group}");
            assert_eq!(a.num_values(), b.num_values(), "{name} in group {group}");
            let page_index = ours.page_index_for_row_group(group);
            let (Some(index), Some(offsets)) =
                (page_index.column_index(leaf), page_index.offset_index(leaf))
            else {
                assert!(
                    arrow
                        .page_index_for_row_group(group)
                        .column_index(leaf)
                        .is_none(),
                    "{name} in group {group}: parquet-rs writes a column index"
                );
                continue;
            };
            let column = rows.column_by_name(&name).unwrap();
            let group_rows = ours.row_group(group).num_rows() as usize;
            let starts: Vec<usize> = offsets
                .page_locations()
                .iter()
                .map(|p| first_row + p.first_row_index as usize)
                .chain([first_row + group_rows])
                .collect();
            let expected: Vec<IndexPage> = starts
                .windows(2)
                .map(|w| expected_page(column, w[0]..w[1]))
                .collect();
            assert_eq!(index_pages(index), expected, "{name} in group {group}");
        }
        first_row += ours.row_group(group).num_rows() as usize;
    }
}

#[test]
fn every_signal_has_parquet_rs_statistics_and_page_index_on_its_resource_and_scope_columns() {
    for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
        // 24 000 rows: pages of 10 000 rows, so a 50 000-row group has three.
        let requests = testkit(signal, 4, 6000);
        for rows in [1000, 50_000] {
            let options = ParquetOptions::default().with_max_row_group_rows(rows);
            same_statistics_as_arrow_writer(&requests, options);
        }
    }
}

/// Null services, absent resources and scopes, empty and distinct scope names, and a
/// dictionary that outgrows its limit mid-chunk.
#[test]
fn nulls_and_a_dictionary_fallback_read_back_and_bound_as_parquet_rs_does() {
    let mut requests = testkit(Signal::Traces, 2, 6000);
    let mut scopes = 0usize;
    for request in &mut requests {
        let AnyRequest::Traces(request) = request else {
            unreachable!()
        };
        for (r, resource_spans) in request.resource_spans.iter_mut().enumerate() {
            match r % 3 {
                0 => resource_spans.resource = None,
                1 => {
                    if let Some(resource) = resource_spans.resource.as_mut() {
                        resource.attributes.retain(|kv| kv.key != SERVICE_NAME_KEY);
                    }
                }
                _ => {}
            }
            // A scope per span, each named apart (120 bytes, past the 64 that statistics
            // keep): about 10 000 names, past the 1 MiB dictionary limit.
            let spans: Vec<_> = resource_spans
                .scope_spans
                .drain(..)
                .flat_map(|scope| scope.spans)
                .collect();
            for span in spans {
                scopes += 1;
                let scope = match scopes % 7 {
                    0 => None,
                    1 => Some(InstrumentationScope::default()),
                    _ => Some(InstrumentationScope {
                        name: format!("{scopes:0>120}"),
                        version: format!("{}", scopes % 3),
                        ..Default::default()
                    }),
                };
                resource_spans.scope_spans.push(ScopeSpans {
                    scope,
                    spans: vec![span],
                    schema_url: if scopes.is_multiple_of(2) {
                        String::new()
                    } else {
                        "https://opentelemetry.io/schemas/1.30.0".into()
                    },
                });
            }
        }
    }
    for rows in [5000, 50_000] {
        let options = ParquetOptions::default().with_max_row_group_rows(rows);
        same_statistics_as_arrow_writer(&requests, options);
    }
    let file = write(
        &requests,
        ParquetOptions::default().with_max_row_group_rows(50_000),
        true,
    );
    assert_falls_back_to_plain(file, "scope_name");
}
