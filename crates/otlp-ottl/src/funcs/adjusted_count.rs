//! `AdjustedCount()`, a span-context converter (otelcol's `signaltometrics` connector adds it to its OTTL): how
//! many spans a sampled span stands for, from the sampling threshold in its trace state (`ot=th:<hex>`, the
//! OpenTelemetry consistent-probability sampling of OTEP 235): `2^56 / (2^56 - threshold)`. A span without a
//! threshold stands for itself (1); a trace state that does not parse is an error, as in otelcol.

use super::{Args, Build, ConverterFn, FunctionDef};
use crate::context::{ContextKind, Field, TransformContext};
use crate::error::{Error, Result};
use crate::program::trace_state;
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[FunctionDef {
    name: "AdjustedCount",
    params: &[],
    build: Build::Converter(build),
    contexts: Some(&[ContextKind::Span]),
    string_fn: None,
}];

/// Thresholds are 56-bit: 14 hex digits, trailing zeros omitted.
const THRESHOLD_DIGITS: usize = 14;
const MAX_ADJUSTED_COUNT: u64 = 1 << 56;

struct AdjustedCount;

fn build(_: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    Ok(Box::new(AdjustedCount))
}

impl ConverterFn for AdjustedCount {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let state = &ctx.span(Field::SpanTraceState)?.trace_state;
        adjusted_count(state).map(Value::Double)
    }
}

fn adjusted_count(state: &str) -> Result<f64> {
    let ot = match trace_state::get(state, "ot") {
        Value::Str(ot) => ot,
        _ => {
            return Err(Error::eval(format!(
                "AdjustedCount: the trace state `{state}` is not a W3C tracestate"
            )));
        }
    };
    let Some(threshold) = ot.split(';').find_map(|part| part.strip_prefix("th:")) else {
        return Ok(1.0);
    };
    let valid = !threshold.is_empty()
        && threshold.len() <= THRESHOLD_DIGITS
        && threshold
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let digits = u64::from_str_radix(threshold, 16)
        .ok()
        .filter(|_| valid)
        .ok_or_else(|| {
            Error::eval(format!(
                "AdjustedCount: `th:{threshold}` is not 1 to 14 lowercase hex digits"
            ))
        })?;
    let threshold = digits << (4 * (THRESHOLD_DIGITS - threshold.len()));
    Ok(MAX_ADJUSTED_COUNT as f64 / (MAX_ADJUSTED_COUNT - threshold) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_sampling_threshold() {
        assert_eq!(adjusted_count("").unwrap(), 1.0);
        assert_eq!(adjusted_count("vendor=x").unwrap(), 1.0);
        assert_eq!(adjusted_count("ot=rv:abcdefabcdefab").unwrap(), 1.0);
        assert_eq!(adjusted_count("ot=th:0").unwrap(), 1.0);
        // th:8 keeps half (p = 1/2), th:c a quarter, th:e an eighth.
        assert_eq!(adjusted_count("ot=th:8").unwrap(), 2.0);
        assert_eq!(
            adjusted_count("vendor=x,ot=th:c;rv:ffffffffffffff").unwrap(),
            4.0
        );
        assert_eq!(adjusted_count("ot=th:e").unwrap(), 8.0);
        assert!(adjusted_count("ot=th:XYZ").is_err());
        assert!(adjusted_count("ot=th:123456789abcdef0").is_err());
        assert!(adjusted_count("not a trace state").is_err());
    }
}
