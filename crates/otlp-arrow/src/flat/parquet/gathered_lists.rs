//! List columns (a span's events and links, a metric point's buckets and exemplars)
//! gathered over several writes before parquet-rs computes their levels.
//!
//! parquet-rs's `compute_leaves` builds each leaf's repetition and definition levels and
//! its non-null indices in vectors that start empty on every call and grow by doubling. A
//! list of structs with an attribute map inside has a dozen leaves, so every write costs
//! hundreds of allocations whatever its rows: at the 1024 rows a collector's file exporter
//! handed over at a time, 0.55 heap allocations per span, more than the rest of the file's
//! work together. Gathered over [`GATHER_ROWS`] rows they cost 0.17 (0.12 of it the levels,
//! 0.05 the copy of the gathered arrays into one), heaptrack on otlp-testkit spans.
//!
//! The price is memory, and it bounds the gather: the arrays are held a little longer
//! (about 120 KB per 1000 otlp-testkit spans, never more than [`GATHER_BYTES`]), and while
//! they are written there is a copy of them and their levels. otlp-suite's file exporter,
//! whose memory under load is the scarcer resource, gathers nothing
//! ([`ParquetOptions::list_gather_rows`](super::ParquetOptions::list_gather_rows) 0).

use arrow::array::{Array, ArrayRef};
use arrow::compute::concat;

use crate::Error;

/// Rows of list columns gathered before their levels are computed, unless the options say
/// otherwise.
pub(super) const GATHER_ROWS: usize = 8192;

/// Memory of the gathered arrays after which their levels are computed, whatever their
/// rows: spans with many or large events reach it first.
pub(super) const GATHER_BYTES: usize = 4 << 20;

/// The arrays written to each gathered column since its levels were last computed.
pub(super) struct GatheredLists {
    columns: Vec<Vec<ArrayRef>>,
    /// Rows gathered after which the levels are computed; 0 computes them on every write.
    limit: usize,
    rows: usize,
    /// Memory of the gathered arrays' buffers (all of a buffer, where an array is a slice).
    bytes: usize,
}

impl GatheredLists {
    /// Gathers up to `limit` rows.
    pub(super) fn new(limit: usize) -> Self {
        GatheredLists {
            columns: Vec::new(),
            limit,
            rows: 0,
            bytes: 0,
        }
    }

    /// Room for one more column; its slot.
    pub(super) fn add_column(&mut self) -> usize {
        self.columns.push(Vec::new());
        self.columns.len() - 1
    }

    pub(super) fn push(&mut self, slot: usize, array: &ArrayRef) {
        if let Some(column) = self.columns.get_mut(slot) {
            self.bytes += array.get_array_memory_size();
            column.push(array.clone());
        }
    }

    /// Counts the rows of a write, once all its columns are pushed.
    pub(super) fn add_rows(&mut self, rows: usize) {
        self.rows += rows;
    }

    pub(super) fn full(&self) -> bool {
        self.rows >= self.limit || self.bytes >= GATHER_BYTES
    }

    /// Each slot's arrays as one array (`None` where nothing was gathered), every slot
    /// emptied.
    pub(super) fn take_all(&mut self) -> Result<Vec<Option<ArrayRef>>, Error> {
        self.rows = 0;
        self.bytes = 0;
        self.columns
            .iter_mut()
            .map(|column| {
                let array = match column.as_slice() {
                    [] => None,
                    [one] => Some(one.clone()),
                    many => {
                        let parts: Vec<&dyn Array> = many.iter().map(AsRef::as_ref).collect();
                        Some(concat(&parts)?)
                    }
                };
                column.clear();
                Ok(array)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, AsArray, ListArray, StringArray};
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::Field;
    use opentelemetry_proto::tonic::trace::v1::span::Event;

    use super::super::ParquetOptions;
    use super::super::test_support::{same_as_arrow_writer, testkit};
    use super::{GATHER_BYTES, GATHER_ROWS, GatheredLists};
    use crate::{AnyRequest, Signal};

    #[test]
    fn small_writes_gathered_across_row_groups_read_back_as_parquet_rs_wrote_them() {
        // 97 rows a write: gathers end at a row group's end (7000 rows) and at
        // GATHER_ROWS, neither on a write's boundary.
        for signal in [Signal::Traces, Signal::Metrics] {
            let requests = testkit(signal, 200, 97);
            let options = ParquetOptions::default().with_max_row_group_rows(7000);
            same_as_arrow_writer(&requests, options);
        }
    }

    #[test]
    fn lists_handed_over_on_every_write_read_back_as_parquet_rs_wrote_them() {
        for signal in [Signal::Traces, Signal::Metrics] {
            let requests = testkit(signal, 200, 97);
            let options = ParquetOptions {
                list_gather_rows: 0,
                ..ParquetOptions::default().with_max_row_group_rows(7000)
            };
            same_as_arrow_writer(&requests, options);
        }
    }

    #[test]
    fn a_gather_of_no_rows_is_full_after_every_write() {
        let mut gathered = GatheredLists::new(0);
        let slot = gathered.add_column();
        gathered.push(slot, &names(2, 0));
        gathered.add_rows(2);
        assert!(gathered.full());
        let taken = gathered.take_all().expect("one array");
        assert_eq!(taken[slot].as_ref().map(|array| array.len()), Some(2));
    }

    #[test]
    fn spans_with_large_events_are_gathered_by_bytes_and_read_back_whole() {
        let mut requests = testkit(Signal::Traces, 6, 500);
        for request in &mut requests {
            let AnyRequest::Traces(traces) = request else {
                continue;
            };
            let spans = traces
                .resource_spans
                .iter_mut()
                .flat_map(|r| r.scope_spans.iter_mut().flat_map(|s| s.spans.iter_mut()));
            for (i, span) in spans.enumerate() {
                span.events.push(Event {
                    time_unix_nano: span.start_time_unix_nano,
                    name: format!("{i:0>4096}"),
                    ..Default::default()
                });
            }
        }
        same_as_arrow_writer(&requests, ParquetOptions::default());
    }

    /// A list array of `rows` one-name lists: each row's number, then `padding` bytes.
    fn names(rows: usize, padding: usize) -> ArrayRef {
        let pad = "x".repeat(padding);
        let values = StringArray::from_iter_values((0..rows).map(|i| format!("{i:08}{pad}")));
        let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(1, rows));
        let field = Arc::new(Field::new("item", values.data_type().clone(), false));
        Arc::new(ListArray::new(field, offsets, Arc::new(values), None))
    }

    #[test]
    fn a_gather_is_full_at_its_rows_or_its_bytes_and_comes_back_as_one_array() {
        let mut gathered = GatheredLists::new(GATHER_ROWS);
        let (first, second) = (gathered.add_column(), gathered.add_column());
        let small = names(GATHER_ROWS / 2, 0);
        gathered.push(first, &small);
        gathered.add_rows(small.len());
        assert!(!gathered.full());
        gathered.push(first, &small.slice(1, 3));
        gathered.add_rows(GATHER_ROWS / 2);
        assert!(gathered.full());

        let arrays = gathered.take_all().expect("concat");
        let whole = arrays[first].as_ref().expect("the first column's arrays");
        assert_eq!(whole.len(), GATHER_ROWS / 2 + 3);
        let last = whole.as_list::<i32>().value(whole.len() - 1);
        assert_eq!(last.as_string::<i32>().value(0), "00000003");
        assert!(arrays[second].is_none());
        assert!(!gathered.full());

        let large = names(2, GATHER_BYTES);
        gathered.push(second, &large);
        gathered.add_rows(large.len());
        assert!(gathered.full());
        let arrays = gathered.take_all().expect("one array, no concat");
        assert!(arrays[first].is_none());
        assert_eq!(arrays[second].as_ref().map(|a| a.len()), Some(2));
    }
}
