//! The scalar twins: a fold for `i64`; for `f64`, the same eight partial results and the same
//! combining order as the vector paths, so that the answers are bit-identical.

use super::{F64Summary, I64Summary, finish_f64, pick_max, pick_min};

/// Count, wrapping sum, min and max of a non-empty column.
pub fn summarize_i64(values: &[i64]) -> I64Summary {
    let (sum, min, max) = values
        .iter()
        .fold((0i64, i64::MAX, i64::MIN), |(sum, min, max), &value| {
            (sum.wrapping_add(value), min.min(value), max.max(value))
        });
    I64Summary {
        count: values.len() as u64,
        sum,
        min,
        max,
    }
}

/// Count, NaN count, sum, min and max of a non-empty column, in the fixed 8-lane order.
pub fn summarize_f64(values: &[f64]) -> F64Summary {
    let mut sum = [0.0f64; 8];
    let mut min = [f64::INFINITY; 8];
    let mut max = [f64::NEG_INFINITY; 8];
    let mut nan_count = 0u64;
    let (blocks, tail) = values.as_chunks::<8>();
    for block in blocks {
        for lane in 0..8 {
            let value = block[lane];
            sum[lane] += value;
            min[lane] = pick_min(value, min[lane]);
            max[lane] = pick_max(value, max[lane]);
            nan_count += u64::from(value.is_nan());
        }
    }
    combine_f64(values.len(), [sum, min, max], nan_count, tail)
}

/// The end every `f64` path shares: the eight lanes' sums, minimums and maximums combined in the
/// fixed order, then the values after the last whole block of eight added one at a time. One
/// order for all, so that every path's answer is bit-identical to this twin's.
pub(crate) fn combine_f64(
    count: usize,
    [sum, min, max]: [[f64; 8]; 3],
    mut nan_count: u64,
    tail: &[f64],
) -> F64Summary {
    let (mut total, mut low, mut high) = (
        reduce(sum, |a, b| a + b),
        reduce(min, pick_min),
        reduce(max, pick_max),
    );
    for &value in tail {
        total += value;
        low = pick_min(value, low);
        high = pick_max(value, high);
        nan_count += u64::from(value.is_nan());
    }
    finish_f64(count, nan_count, total, low, high)
}

/// Lanes `j` and `j + 4`, then `j` and `j + 2`, then 0 and 1: the order of the vector halvings.
pub(crate) fn reduce(lanes: [f64; 8], op: impl Fn(f64, f64) -> f64) -> f64 {
    let quarter = [
        op(lanes[0], lanes[4]),
        op(lanes[1], lanes[5]),
        op(lanes[2], lanes[6]),
        op(lanes[3], lanes[7]),
    ];
    let half = [op(quarter[0], quarter[2]), op(quarter[1], quarter[3])];
    op(half[0], half[1])
}
