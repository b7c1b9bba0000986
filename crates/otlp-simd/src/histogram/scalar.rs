//! The scalar twin: a binary search per value.

/// Adds the bucket counts of `values` into `counts` (checked by the caller) and returns the
/// number of NaN values.
pub fn count(values: &[f64], bounds: &[f64], counts: &mut [u64]) -> u64 {
    let mut nan = 0;
    for &value in values {
        if value.is_nan() {
            nan += 1;
            continue;
        }
        counts[bounds.partition_point(|bound| *bound < value)] += 1;
    }
    nan
}
