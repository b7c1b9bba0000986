//! OTLP's `*_unix_nano` (u64, 0 = unset) as Arrow timestamps (i64 ns, null = unset).

use arrow::array::{Array, TimestampNanosecondArray};

/// 0 (unset) is null; anything else is kept bit for bit (times past 2262 wrap negative,
/// and come back unchanged).
#[inline]
pub(crate) fn to_timestamp(unix_nano: u64) -> Option<i64> {
    (unix_nano != 0).then_some(unix_nano as i64)
}

/// The inverse of [`to_timestamp`].
#[inline]
pub(crate) fn from_timestamp(array: &TimestampNanosecondArray, i: usize) -> u64 {
    if array.is_null(i) {
        0
    } else {
        array.value(i) as u64
    }
}
