//! `merge_histogram_buckets(target_value, Optional[method])`: coarser explicit histograms, one
//! data point at a time (otelcol registers it for the data point context).

use crate::context::{ContextKind, DataPointMut, Field, TransformContext};
use crate::error::{Error, Result};
use crate::funcs::{Args, Build, EditorFn, FunctionDef, ParamKind, optional, required};
use crate::program::expr::Expr;
use crate::value::Value;

pub(super) const MERGE_HISTOGRAM_BUCKETS: FunctionDef = FunctionDef {
    name: "merge_histogram_buckets",
    params: &[
        required("target_value", ParamKind::Getter),
        optional("method", ParamKind::Str),
    ],
    build: Build::Editor(build_merge),
    contexts: Some(&[ContextKind::DataPoint]),
    string_fn: None,
};

const NAME: &str = "merge_histogram_buckets";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    /// Merge the bucket ending at the bound `target_value` into the next one.
    RemoveExplicitBound,
    /// Merge neighbouring buckets uniformly until at most `target_value` remain.
    LimitBuckets,
}

/// The target, prepared at build time when it is a literal (so a bad one is a compile error).
enum Target {
    Bound(f64),
    MaxBuckets(usize),
    Dynamic(Expr),
}

struct MergeHistogramBuckets {
    method: Method,
    target: Target,
}

fn build_merge(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let method = match args.opt_str(1).as_deref() {
        None | Some("remove_explicit_bound") => Method::RemoveExplicitBound,
        Some("limit_buckets") => Method::LimitBuckets,
        Some(other) => {
            return Err(args.error(
                1,
                format!(
                    "unsupported method \"{other}\", expected \"remove_explicit_bound\" or \"limit_buckets\""
                ),
            ));
        }
    };
    let expr = args.getter(0)?;
    let target = match expr.as_literal() {
        None => Target::Dynamic(expr),
        Some(literal) => {
            let value = float_like(literal).map_err(|e| args.error(0, e))?;
            match method {
                Method::RemoveExplicitBound => Target::Bound(value),
                Method::LimitBuckets => {
                    Target::MaxBuckets(max_buckets(value).map_err(|e| args.error(0, e))?)
                }
            }
        }
    };
    Ok(Box::new(MergeHistogramBuckets { method, target }))
}

/// otelcol's `FloatLikeGetter`: numbers, numeric strings and booleans (1 or 0).
fn float_like(value: &Value<'_>) -> std::result::Result<f64, String> {
    match value {
        Value::Double(d) => Ok(*d),
        Value::Int(i) => Ok(*i as f64),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::Str(s) => s
            .parse()
            .map_err(|_| format!("target_value {s:?} is not a number")),
        Value::Nil => Err("target_value must not be nil".to_owned()),
        other => Err(format!(
            "target_value must be a number, got {}",
            other.type_name()
        )),
    }
}

/// `limit_buckets` wants a positive whole number of buckets.
fn max_buckets(value: f64) -> std::result::Result<usize, String> {
    if value < 1.0 || value.trunc() != value || value > i64::MAX as f64 {
        return Err(format!(
            "target_value must be a positive integer when method is \"limit_buckets\", got {value}"
        ));
    }
    Ok(value as usize)
}

impl EditorFn for MergeHistogramBuckets {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        if !matches!(
            ctx.point_mut(Field::PointBucketCounts)?,
            DataPointMut::Histogram(_)
        ) {
            return Ok(());
        }
        let (bound, limit) = match &self.target {
            Target::Bound(b) => (*b, None),
            Target::MaxBuckets(m) => (0.0, Some(*m)),
            Target::Dynamic(expr) => {
                let value = float_like(&expr.eval(ctx)?)
                    .map_err(|e| Error::eval(format!("{NAME}: {e}")))?;
                match self.method {
                    Method::RemoveExplicitBound => (value, None),
                    Method::LimitBuckets => (
                        0.0,
                        Some(max_buckets(value).map_err(|e| Error::eval(format!("{NAME}: {e}")))?),
                    ),
                }
            }
        };
        let DataPointMut::Histogram(point) = ctx.point_mut(Field::PointBucketCounts)? else {
            return Ok(());
        };
        let (bounds, counts) = (&mut point.explicit_bounds, &mut point.bucket_counts);
        // A malformed point (counts not one more than bounds) is left as it is.
        if bounds.len() + 1 != counts.len() || counts.len() <= 1 {
            return Ok(());
        }
        match limit {
            None => remove_bound(bounds, counts, bound),
            Some(max) => limit_buckets(bounds, counts, max),
        }
        Ok(())
    }
}

/// Merges the bucket ending at `bound` (within 1e-12, as otelcol matches it) into the next.
fn remove_bound(bounds: &mut Vec<f64>, counts: &mut Vec<u64>, bound: f64) {
    let Some(index) = bounds.iter().position(|b| (b - bound).abs() < 1e-12) else {
        return;
    };
    counts[index + 1] = counts[index + 1].wrapping_add(counts[index]);
    bounds.remove(index);
    counts.remove(index);
}

/// One uniform compaction pass: groups of `ceil(buckets / max)` neighbours, lowest first, the
/// last group possibly partial. Bounds that are not strictly increasing are left alone.
fn limit_buckets(bounds: &mut Vec<f64>, counts: &mut Vec<u64>, max: usize) {
    if counts.len() <= max
        || bounds
            .windows(2)
            .any(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
    {
        return;
    }
    let divisor = counts.len().div_ceil(max);
    *counts = counts
        .chunks(divisor)
        .map(|group| group.iter().fold(0u64, |a, c| a.wrapping_add(*c)))
        .collect();
    *bounds = bounds
        .iter()
        .skip(divisor - 1)
        .step_by(divisor)
        .copied()
        .collect();
}
