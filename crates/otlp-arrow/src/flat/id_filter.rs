//! The rows of an id column equal to one id: the filter of a lookup by trace id
//! ([`FlatParquetReader::find_trace`](super::FlatParquetReader::find_trace)) or span id, for
//! readers that apply it themselves, as a parquet-rs `RowFilter` or over batches they read.

use arrow::array::{Array, BooleanArray, FixedSizeBinaryArray};
use arrow::buffer::{BooleanBuffer, Buffer};
use otlp_simd::id_match;

use crate::Error;

/// Which rows of `ids` equal `wanted`: an id column of the flat layout (`trace_id`,
/// `span_id`, `parent_span_id`, a link's ids: `FixedSizeBinary(16)` or `(8)`) against an
/// id of the same width. Null rows never match.
///
/// The comparison is otlp-simd's [`id_match`] kernel, on AVX-512, AVX2 or NEON where the
/// CPU has them: 13.8x arrow's `cmp::eq` on a batch of 8192 `trace_id`s here
/// (docs/benchmarks.md, `otlp_arrow_id_filter`).
///
/// ```
/// use arrow::array::FixedSizeBinaryArray;
/// use otlp_arrow::flat::id_equals;
///
/// let ids = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
///     [Some([1u8; 8]), None, Some([2; 8]), Some([1; 8])].into_iter(),
///     8,
/// )?;
/// let matches = id_equals(&ids, &[1; 8])?;
/// assert_eq!(matches.values().set_indices().collect::<Vec<_>>(), [0, 3]);
/// assert!(id_equals(&ids, &[1; 16]).is_err()); // a trace id against span ids
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn id_equals(ids: &FixedSizeBinaryArray, wanted: &[u8]) -> Result<BooleanArray, Error> {
    let rows = ids.len();
    let width = ids.value_length() as usize;
    if wanted.len() != width {
        return Err(Error::InvalidId {
            field: "wanted id",
            expected: width,
            actual: wanted.len(),
        });
    }
    let mut words = vec![0u64; id_match::bitmap_words(rows)];
    let kernel = match (width, ids.value_data()) {
        (16, data) => match (data.as_chunks::<16>().0, <&[u8; 16]>::try_from(wanted)) {
            (column, Ok(wanted)) if column.len() == rows => {
                id_match::trace_ids(column, wanted, &mut words)
            }
            _ => return Err(truncated(rows)),
        },
        (8, data) => match (data.as_chunks::<8>().0, <&[u8; 8]>::try_from(wanted)) {
            (column, Ok(wanted)) if column.len() == rows => {
                id_match::span_ids(column, wanted, &mut words)
            }
            _ => return Err(truncated(rows)),
        },
        _ => {
            return Err(Error::ColumnType {
                column: "id".into(),
                expected: "FixedSizeBinary(16) or FixedSizeBinary(8)",
                actual: ids.data_type().to_string(),
            });
        }
    };
    kernel.map_err(|e| Error::InvalidData {
        table: "ids",
        reason: e.to_string(),
    })?;
    let matches = BooleanBuffer::new(Buffer::from_vec(words), 0, rows);
    Ok(BooleanArray::new(
        match ids.nulls() {
            Some(valid) => &matches & valid.inner(),
            None => matches,
        },
        None,
    ))
}

fn truncated(rows: usize) -> Error {
    Error::InvalidData {
        table: "ids",
        reason: format!("the values of {rows} ids are not {rows} whole ids"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(ids: &[Option<[u8; 16]>]) -> FixedSizeBinaryArray {
        FixedSizeBinaryArray::try_from_sparse_iter_with_size(ids.iter().copied(), 16).unwrap()
    }

    #[test]
    fn marks_equal_trace_ids_and_never_nulls_even_when_looking_for_zeros() {
        let wanted = [9u8; 16];
        let ids = column(&[Some(wanted), None, Some([0; 16]), Some(wanted)]);
        let matches = id_equals(&ids, &wanted).unwrap();
        assert_eq!(
            matches.iter().collect::<Vec<_>>(),
            [Some(true), Some(false), Some(false), Some(true)]
        );
        // A null slot's bytes are zeros: only the real zero id matches.
        let zeros = id_equals(&ids, &[0; 16]).unwrap();
        assert_eq!(zeros.values().set_indices().collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn a_sliced_column_is_compared_from_its_own_first_row() {
        let ids: Vec<Option<[u8; 16]>> = (0..200u8).map(|i| Some([i; 16])).collect();
        let sliced = column(&ids).slice(70, 100);
        let matches = id_equals(&sliced, &[100; 16]).unwrap();
        assert_eq!(matches.len(), 100);
        assert_eq!(matches.values().set_indices().collect::<Vec<_>>(), [30]);
    }

    #[test]
    fn refuses_a_wanted_id_of_another_width_and_other_column_widths() {
        let ids = column(&[Some([1; 16])]);
        assert!(matches!(
            id_equals(&ids, &[1; 8]),
            Err(Error::InvalidId {
                expected: 16,
                actual: 8,
                ..
            })
        ));
        let odd = FixedSizeBinaryArray::try_from_iter([[1u8; 4]].into_iter()).unwrap();
        let error = id_equals(&odd, &[1; 4]).unwrap_err().to_string();
        assert!(error.contains("FixedSizeBinary(4)"), "{error}");
    }
}
